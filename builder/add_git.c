#include "builder/add_git.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "parser/remote_source.h"

extern char **environ;

/* git's output is kept up to this size, for error messages and ls-remote. */
#define OUTPUT_MAX ((size_t) 1 << 20)
#define MAX_ARGS 40

/* Only network transports: file:// and ext:: would let a Dockerfile read
 * the host's repositories or run commands on the host. */
static const char *const git_prefix[] = {
  "git", "-c", "protocol.allow=never", "-c", "protocol.https.allow=always", "-c", "protocol.http.allow=always",
  "-c", "protocol.ssh.allow=always", "-c", "protocol.git.allow=always",
  /* A server that stops sending for a minute fails the fetch, as a stalled
   * registry transfer does. */
  "-c", "http.lowSpeedLimit=1", "-c", "http.lowSpeedTime=60", NULL,
};

/* The caller's environment without GIT_* variables: GIT_DIR or
 * GIT_WORK_TREE (set when cbuild runs from a git hook) would point git at
 * the caller's own repository and let the fetch and checkout rewrite it. */
static char **
git_environment (void)
{
  static const char *const extra[] = { "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C", NULL };
  size_t n = 0, k = 0;
  char **env;

  while (environ[n])
    n++;
  env = calloc (n + 4, sizeof *env);
  if (env == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (strncmp (environ[i], "GIT_", 4) != 0 && strncmp (environ[i], "LC_ALL=", 7) != 0)
      env[k++] = environ[i];
  for (size_t i = 0; extra[i]; i++)
    env[k++] = (char *) extra[i];
  return env;
}

static int
read_all (int fd, struct cb_buf *out)
{
  char chunk[4096];

  for (;;)
    {
      ssize_t got = read (fd, chunk, sizeof chunk);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        return got < 0 ? -1 : 0;
      /* Past the limit the output is drained and dropped. */
      if (out->len + (size_t) got <= OUTPUT_MAX)
        cb_buf_append (out, chunk, (size_t) got, NULL);
    }
}

/* Runs git with args (NULL-terminated, after "git") with its output, both
 * streams, in out. Returns git's exit status, or -1 with err set. */
static int
run_git (const char *const *args, struct cb_buf *out, cbuild_error *err)
{
  const char *argv[MAX_ARGS];
  cleanup_free char **env = git_environment ();
  posix_spawn_file_actions_t actions;
  size_t n = 0;
  int fds[2], status, rc;
  pid_t pid;

  for (size_t i = 0; git_prefix[i] && n < MAX_ARGS - 1; i++)
    argv[n++] = git_prefix[i];
  for (size_t i = 0; args[i] && n < MAX_ARGS - 1; i++)
    argv[n++] = args[i];
  argv[n] = NULL;
  if (env == NULL)
    return cb_error_nomem (err);
  if (pipe2 (fds, O_CLOEXEC) < 0)
    return cb_error_sys (err, errno, "create a pipe for git");
  posix_spawn_file_actions_init (&actions);
  posix_spawn_file_actions_addopen (&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2 (&actions, fds[1], 1);
  posix_spawn_file_actions_adddup2 (&actions, fds[1], 2);
  rc = posix_spawnp (&pid, "git", &actions, NULL, (char *const *) argv, env);
  posix_spawn_file_actions_destroy (&actions);
  close (fds[1]);
  if (rc != 0)
    {
      close (fds[0]);
      return cb_error_sys (err, rc, "run git (is the git package installed?)");
    }
  read_all (fds[0], out);
  close (fds[0]);
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return cb_error_sys (err, errno, "wait for git");
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128;
}

/* Sets err from a failed git command, with the last lines it printed
 * joined by ';', because git prints the cause ("Connection refused")
 * before its closing hint ("and the repository exists."). */
static int
git_failed (const char *what, const char *url, struct cb_buf *out, cbuild_error *err)
{
  cleanup_free char *redacted_url = cb_remote_redact (url);
  char *text = out->data ? out->data : (char *) "";
  size_t len = out->len;
  const char *start = text;
  int lines = 0;

  while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    text[--len] = '\0';
  for (size_t i = len; i > 0 && lines < 3; i--)
    if (text[i - 1] == '\n' && ++lines == 3)
      start = text + i;
  for (char *p = (char *) start; *p; p++)
    if (*p == '\n' || *p == '\r')
      *p = ';';
  return cb_error_set (err, CBUILD_ERR_REGISTRY, "%s '%s' failed: %s", what, redacted_url ? redacted_url : url,
                       start[0] ? start : "no output from git");
}

static bool
is_commit_id (const char *s)
{
  size_t n = 0;

  for (; s && isxdigit ((unsigned char) s[n]); n++)
    ;
  return s && n == 40 && s[n] == '\0';
}

/* Picks the commit of ref from `git ls-remote` output: a peeled tag
 * ("refs/tags/v1^{}") names the commit an annotated tag points to, so it
 * wins over the tag object itself. */
static bool
pick_commit (const char *listing, char commit[41])
{
  bool found = false;
  const char *line = listing;

  while (*line)
    {
      size_t len = strcspn (line, "\n");
      const char *tab = memchr (line, '\t', len);
      bool peeled = len > 3 && strncmp (line + len - 3, "^{}", 3) == 0;

      if (tab && tab - line == 40 && (!found || peeled))
        {
          memcpy (commit, line, 40);
          commit[40] = '\0';
          found = true;
          if (peeled)
            break;
        }
      line += len + (line[len] == '\n');
    }
  return found;
}

int
cb_add_git_resolve (const char *source, struct cb_add_git *out, cbuild_error *err)
{
  cleanup_buf struct cb_buf listing = CB_BUF_INIT;
  const char *args[] = { "ls-remote", "--", NULL, NULL, NULL };
  int status;

  memset (out, 0, sizeof *out);
  if (cb_remote_git_parse (source, &out->url, &out->ref, &out->subdir, err) < 0)
    return -1;
  if (is_commit_id (out->ref))
    {
      /* One commit, one cache key, whatever the case of its hex digits. */
      for (size_t i = 0; i < 40; i++)
        out->commit[i] = (char) tolower ((unsigned char) out->ref[i]);
      out->commit[40] = '\0';
      return 0;
    }
  args[2] = out->url;
  args[3] = out->ref ? out->ref : "HEAD";
  status = run_git (args, &listing, err);
  if (status < 0)
    return -1;
  if (status != 0)
    return git_failed ("git ls-remote of", out->url, &listing, err);
  if (!pick_commit (listing.data ? listing.data : "", out->commit))
    {
      cleanup_free char *redacted = cb_remote_redact (out->url);
      return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "ref '%s' not found in git repository '%s'",
                         out->ref ? out->ref : "HEAD", redacted ? redacted : out->url);
    }
  return 0;
}

/* Checks out the submodules of the commit, recursively, as BuildKit does.
 * Their URLs get the same transports as the repository's. */
static int
update_submodules (struct cb_add_git *git, struct cb_buf *output, cbuild_error *err)
{
  cleanup_free char *modules = cb_path_join (git->dir, ".gitmodules");
  const char *update[] = { "-C", git->dir, "submodule", "update", "-q", "--init", "--recursive", NULL };
  int status;

  if (modules == NULL)
    return cb_error_nomem (err);
  if (access (modules, F_OK) != 0)
    return 0;
  cb_buf_reset (output);
  status = run_git (update, output, err);
  if (status > 0)
    return git_failed ("git submodule update of", git->url, output, err);
  return status < 0 ? -1 : 0;
}

int
cb_add_git_checkout (struct cb_build *b, struct cb_add_git *git, bool keep_git_dir, cbuild_error *err)
{
  cleanup_buf struct cb_buf output = CB_BUF_INIT;
  cleanup_free char *dot_git = NULL;
  const char *init[] = { "init", "-q", NULL, NULL };
  const char *shallow[] = { "-C", NULL, "fetch", "-q", "--depth", "1", "--", git->url, git->commit, NULL };
  /* Servers that refuse a fetch by commit id, and dumb HTTP servers that
   * cannot serve a shallow one, get all branches and tags fetched. */
  const char *full[] = { "-C", NULL, "fetch", "-q", "--", git->url, "+refs/heads/*:refs/remotes/origin/*",
                         "+refs/tags/*:refs/tags/*", NULL };
  const char *checkout[] = { "-C", NULL, "-c", "advice.detachedHead=false", "checkout", "-q", git->commit, NULL };
  /* The remote is named origin, as in a clone: relative submodule URLs
   * resolve against it, and --keep-git-dir keeps it. */
  const char *remote[] = { "-C", NULL, "remote", "add", "origin", git->url, NULL };
  int status;

  git->dir = cb_make_temp_dir (b->work_dir, "add-git", err);
  if (git->dir == NULL)
    return -1;
  init[2] = shallow[1] = full[1] = checkout[1] = remote[1] = git->dir;
  status = run_git (init, &output, err);
  if (status == 0)
    status = run_git (remote, &output, err);
  if (status == 0)
    status = run_git (shallow, &output, err);
  if (status > 0)
    {
      cb_buf_reset (&output);
      status = run_git (full, &output, err);
    }
  if (status > 0)
    return git_failed ("git fetch of", git->url, &output, err);
  if (status == 0)
    status = run_git (checkout, &output, err);
  if (status > 0)
    return git_failed ("git checkout of commit", git->commit, &output, err);
  if (status < 0 || update_submodules (git, &output, err) < 0)
    return -1;
  if (keep_git_dir)
    return 0;
  dot_git = cb_path_join (git->dir, ".git");
  if (dot_git == NULL)
    return cb_error_nomem (err);
  return cb_remove_tree (dot_git, err);
}

int
cb_add_git_copy (const struct cb_add_git *git, const struct cb_copy_request *like, cbuild_error *err)
{
  struct cb_copy_request req = *like;
  const char *sources[1] = { git->subdir ? git->subdir : "." };

  req.context_dir = git->dir;
  req.ignore = NULL;
  req.sources = sources;
  req.n_sources = 1;
  req.is_add = false;
  req.source_name = "the git repository";
  return cb_copy_from_context (&req, err);
}

void
cb_add_git_release (struct cb_add_git *git)
{
  cbuild_error ignored = { 0 };

  if (git->dir)
    cb_remove_tree (git->dir, &ignored);
  free (git->dir);
  free (git->url);
  free (git->ref);
  free (git->subdir);
  memset (git, 0, sizeof *git);
}
