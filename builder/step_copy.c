/* COPY and ADD: sources from the build context, an earlier stage or an
 * image, heredocs, and files that ADD downloads, copied onto an overlay of
 * the stage's layers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/add_git.h"
#include "builder/add_url.h"
#include "builder/build.h"
#include "builder/copy.h"
#include "builder/heredoc.h"
#include "builder/options.h"
#include "builder/overlay.h"
#include "builder/step_cache.h"
#include "builder/step_fs.h"
#include "builder/runtime.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "parser/remote_source.h"
#include "parser/expand.h"

/* Resolves --chown's "user[:group]" in the step's root file system. A
 * missing group means the user's uid, as docker build does. */
static int
resolve_chown (const char *rootfs, const char *spec, struct cb_copy_request *req, cbuild_error *err)
{
  cleanup_free gid_t *groups = NULL;
  size_t n_groups = 0;

  if (cb_resolve_user (rootfs, spec, &req->uid, &req->gid, &groups, &n_groups, err) < 0)
    return cb_error_prefix (err, "--chown=%s", spec);
  if (strchr (spec, ':') == NULL)
    req->gid = (gid_t) req->uid;
  req->chown_set = true;
  return 0;
}

static int
parse_chmod (const char *spec, struct cb_copy_request *req, cbuild_error *err)
{
  char *end;
  unsigned long mode = strtoul (spec, &end, 8);

  if (spec[0] == '\0' || *end != '\0' || mode > 07777)
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid --chmod '%s': expected an octal mode such as 0755", spec);
  req->mode = (mode_t) mode;
  req->chmod_set = true;
  return 0;
}

/* Substitutes the stage's variables in the arguments of a COPY or ADD,
 * leaving out the heredoc words: their heredocs go to docs, in order. */
static int
expand_copy_args (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                  struct cb_strv *words, const struct cb_heredoc **docs, size_t *n_docs, cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;

  if (cb_stage_expand_env (st, &env, err) < 0)
    return -1;
  for (size_t i = 0; i < ins->n_args; i++)
    {
      const struct cb_heredoc *doc = i + 1 < ins->n_args ? cb_instruction_heredoc_for_arg (ins, ins->args[i]) : NULL;
      char *word = NULL;

      if (doc)
        {
          docs[(*n_docs)++] = doc;
          continue;
        }
      if (cb_expand_word (ins->args[i], b->df->escape, &env, &word, err) < 0)
        return -1;
      if (cb_strv_push_owned (words, word, err) < 0)
        return -1;
    }
  return 0;
}

/* A boolean flag: absent gives fallback, "--flag" true, and a value is
 * read as Go's strconv.ParseBool reads it, which BuildKit uses. */
static bool
bool_flag (const struct cb_instruction *ins, const char *name, bool fallback)
{
  static const char *const truths[] = { "", "1", "t", "T", "true", "TRUE", "True", NULL };
  const char *value = cb_instruction_flag (ins, name);

  if (value == NULL)
    return fallback;
  for (size_t i = 0; truths[i]; i++)
    if (strcmp (value, truths[i]) == 0)
      return true;
  return false;
}

static int
check_copy_flags (const struct cb_instruction *ins, bool is_add, cbuild_error *err)
{
  if (!is_add && cb_instruction_flag (ins, "checksum"))
    return cb_error_set (err, CBUILD_ERR_INVALID, "COPY does not take --checksum, use ADD with a URL");
  return 0;
}

#define EXCLUDE_FLAG "--exclude="

/* Collects the --exclude patterns after variable substitution into
 * patterns, and builds a matcher with the .dockerignore syntax, which
 * BuildKit also matches them with. *out stays NULL without --exclude. */
static int
load_excludes (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, struct cb_strv *patterns,
               struct cb_ignore **out, cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;

  *out = NULL;
  for (size_t i = 0; i < ins->n_flags; i++)
    {
      char *pattern = NULL;

      if (strncmp (ins->flags[i], EXCLUDE_FLAG, strlen (EXCLUDE_FLAG)) != 0)
        continue;
      if (patterns->len == 0 && cb_stage_expand_env (st, &env, err) < 0)
        return -1;
      if (cb_expand_word (ins->flags[i] + strlen (EXCLUDE_FLAG), b->df->escape, &env, &pattern, err) < 0
          || cb_strv_push_owned (patterns, pattern, err) < 0)
        return -1;
    }
  if (patterns->len == 0)
    return 0;
  return cb_ignore_from_patterns ((const char *const *) patterns->items, patterns->len, out, err);
}

static void
ignore_freep (struct cb_ignore **ig)
{
  cb_ignore_free (*ig);
}

static void
add_urls_releasep (struct cb_add_urls *urls)
{
  cb_add_urls_release (urls);
}

static void
add_git_releasep (struct cb_add_git *git)
{
  cb_add_git_release (git);
}

/* Resolves the git repository that an ADD names as its only source, and
 * records what the cache key needs of it in fields. */
static int
resolve_git_source (const struct cb_instruction *ins, const char *source, size_t n_sources, struct cb_add_git *git,
                    struct cb_strv *fields, cbuild_error *err)
{
  if (n_sources != 1)
    return cb_error_set (err, CBUILD_ERR_INVALID, "ADD of a git repository takes it as its only source: '%s'",
                         source);
  if (cb_instruction_flag (ins, "checksum"))
    return cb_error_set (err, CBUILD_ERR_INVALID, "ADD --checksum of a git repository is not supported yet");
  if (cb_add_git_resolve (source, git, err) < 0)
    return -1;
  if (cb_strv_push (fields, "git", err) < 0 || cb_strv_push (fields, git->url, err) < 0
      || cb_strv_push (fields, git->subdir ? git->subdir : "", err) < 0 || cb_strv_push (fields, git->commit, err) < 0
      || cb_strv_push (fields, bool_flag (ins, "keep-git-dir", false) ? "keep-git-dir" : "", err) < 0)
    return -1;
  return 0;
}

/* Downloads the URL sources of an ADD into urls (or resolves the git
 * repository it names) and leaves the other sources to req, in local (one
 * slot a source). */
static int
fetch_remote_sources (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, bool is_add,
                      const struct cb_strv *words, const char **local, struct cb_copy_request *req,
                      struct cb_add_urls *urls, struct cb_add_git *git, cbuild_error *err)
{
  size_t n_sources = words->len - 1, n_local = 0, n_remote = 0;
  cleanup_free const char **remote = calloc (n_sources + 1, sizeof *remote);
  cleanup_strv struct cb_strv env = CB_STRV_INIT;
  cleanup_free char *checksum = NULL;
  const char *flag = cb_instruction_flag (ins, "checksum");
  const char *dest = words->items[words->len - 1];

  if (remote == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < n_sources; i++)
    {
      const char *source = words->items[i];

      if (is_add && cb_remote_is_git (source))
        return resolve_git_source (ins, source, n_sources, git, &urls->fields, err);
      if (cb_remote_is_url (source) && !is_add)
        return cb_error_set (err, CBUILD_ERR_INVALID, "COPY does not take URLs, use ADD: '%s'", source);
      if (cb_remote_is_url (source))
        remote[n_remote++] = source;
      else
        local[n_local++] = source;
    }
  req->sources = local;
  req->n_sources = n_local;
  if (flag && n_remote == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "ADD --checksum applies to a URL source only");
  if (n_remote == 0)
    return 0;
  if (n_sources > 1 && (dest[0] == '\0' || dest[strlen (dest) - 1] != '/'))
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "ADD with more than one source file needs a directory destination ending in '/': '%s'",
                         dest);
  if (flag
      && (cb_stage_expand_env (st, &env, err) < 0 || cb_expand_word (flag, b->df->escape, &env, &checksum, err) < 0))
    return -1;
  return cb_add_urls_fetch (b, remote, n_remote, checksum, urls, err);
}

/* COPY --from=NAME where --build-context gave NAME a directory: the files
 * come from there, hashed for the key as context files are. Returns true
 * when that is so. */
static bool
use_context_directory (struct cb_build *b, const char *from, struct cb_copy_request *req, char **source_name)
{
  const char *named = cb_options_build_context (b->opts, from);

  if (named == NULL || strncmp (named, "docker-image://", 15) == 0)
    return false;
  if (asprintf (source_name, "the build context '%s'", from) < 0)
    *source_name = NULL;
  req->context_dir = named;
  req->ignore = NULL;
  req->source_name = *source_name;
  return true;
}

/* Resolves --from to an earlier stage (built first) or an image reference
 * (pulled), so that the image to copy from and its cache key are known. */
static int
resolve_from_stage (struct cb_build *b, struct cb_stage *st, const char *from, struct cb_image **image,
                    const char **from_key, cbuild_error *err)
{
  *image = cb_build_source_image (b, st, from, from_key, err);
  return *image ? 0 : -1;
}

/* "COPY [flags] SOURCES... <<HEREDOCS... DEST # buildkit": BuildKit lists
 * heredocs after the other sources. */
static int
copy_history (const struct cb_instruction *ins, bool is_add, const struct cb_strv *words,
              const struct cb_heredoc *const *docs, size_t n_docs, struct cb_buf *msg, cbuild_error *err)
{
  if (cb_buf_append_str (msg, is_add ? "ADD" : "COPY", err) < 0)
    return -1;
  for (size_t i = 0; i < ins->n_flags; i++)
    if (cb_buf_printf (msg, err, " %s", ins->flags[i]) < 0)
      return -1;
  for (size_t i = 0; i + 1 < words->len; i++)
    {
      /* The history goes out with the image, so a password in a URL
       * does not. */
      cleanup_free char *redacted = cb_remote_redact (words->items[i]);
      if (redacted == NULL)
        return cb_error_nomem (err);
      if (cb_buf_printf (msg, err, " %s", redacted) < 0)
        return -1;
    }
  for (size_t i = 0; i < n_docs; i++)
    if (cb_buf_printf (msg, err, " <<%s", docs[i]->name) < 0)
      return -1;
  if (cb_buf_printf (msg, err, " %s", words->items[words->len - 1]) < 0)
    return -1;
  return cb_buf_append_str (msg, " # buildkit", err);
}

/* Checks the number of arguments, and that several sources go to a
 * directory destination ending in '/', as Docker requires. Heredocs count
 * as sources. */
static int
check_copy_args (const struct cb_strv *words, size_t n_docs, bool is_add, cbuild_error *err)
{
  const char *name = is_add ? "ADD" : "COPY";
  const char *dest;

  if (words->len + n_docs < 2 || words->len < 1)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s requires at least two arguments: SOURCE... DEST", name);
  dest = words->items[words->len - 1];
  if (n_docs > 0 && words->len - 1 + n_docs > 1 && (dest[0] == '\0' || dest[strlen (dest) - 1] != '/'))
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "%s with more than one source file needs a directory destination ending in '/': '%s'", name,
                         dest);
  return 0;
}

/* Copies every kind of source into the mounted root file system req
 * names: context or stage files, downloads, a git checkout and heredocs,
 * with the owner and mode that --chown and --chmod give. */
static int
copy_all_sources (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                  struct cb_copy_request *req, struct cb_add_urls *urls, struct cb_add_git *git,
                  const struct cb_heredoc *const *docs, size_t n_docs, cbuild_error *err)
{
  const char *chown = cb_instruction_flag (ins, "chown");
  const char *chmod = cb_instruction_flag (ins, "chmod");

  if (chmod && parse_chmod (chmod, req, err) < 0)
    return -1;
  if (chown && resolve_chown (req->rootfs, chown, req, err) < 0)
    return -1;
  if (req->n_sources > 0 && cb_copy_from_context (req, err) < 0)
    return -1;
  if (cb_add_urls_copy (urls, req, bool_flag (ins, "unpack", false), err) < 0)
    return -1;
  if (git->url && cb_add_git_checkout (b, git, bool_flag (ins, "keep-git-dir", false), err) < 0)
    return -1;
  if (git->dir && cb_add_git_copy (git, req, err) < 0)
    return -1;
  if (n_docs > 0 && cb_heredoc_copy (b, st, req, docs, n_docs, err) < 0)
    return -1;
  return 0;
}

int
cb_step_copy (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, bool is_add,
              cbuild_error *err)
{
  cleanup_strv struct cb_strv words = CB_STRV_INIT;
  cleanup_buf struct cb_buf msg = CB_BUF_INIT;
  cleanup_free const struct cb_heredoc **docs = calloc (ins->n_args + 1, sizeof *docs);
  struct cb_copy_request req = { 0 };
  struct fs_step fs = { 0 }, src = { 0 };
  struct cb_image *from_image = NULL;
  const char *from_key = NULL;
  cleanup_free char *source_name = NULL;
  cleanup_strv struct cb_strv exclude_patterns = CB_STRV_INIT;
  __attribute__ ((cleanup (ignore_freep))) struct cb_ignore *exclude = NULL;
  __attribute__ ((cleanup (add_urls_releasep))) struct cb_add_urls urls = { 0 };
  __attribute__ ((cleanup (add_git_releasep))) struct cb_add_git git = { 0 };
  cleanup_free const char **local = calloc (ins->n_args + 1, sizeof *local);
  char key[CB_DIGEST_SIZE];
  bool hit = false;
  size_t n_docs = 0;
  const char *from = cb_instruction_flag (ins, "from");
  int ret;

  if (docs == NULL || local == NULL)
    return cb_error_nomem (err);
  if (check_copy_flags (ins, is_add, err) < 0 || expand_copy_args (b, st, ins, &words, docs, &n_docs, err) < 0)
    return -1;
  if (check_copy_args (&words, n_docs, is_add, err) < 0
      || copy_history (ins, is_add, &words, docs, n_docs, &msg, err) < 0
      || load_excludes (b, st, ins, &exclude_patterns, &exclude, err) < 0)
    return -1;
  req.context_dir = b->context_dir;
  req.ignore = b->ignore;
  req.dest = words.items[words.len - 1];
  req.workdir = cb_stage_workdir (st);
  req.is_add = is_add;
  req.parents = bool_flag (ins, "parents", false);
  req.keep_archives = !bool_flag (ins, "unpack", true);
  req.exclude = exclude;
  req.exclude_patterns = &exclude_patterns;

  ret = fetch_remote_sources (b, st, ins, is_add, &words, local, &req, &urls, &git, err);
  if (ret == 0 && from && use_context_directory (b, from, &req, &source_name))
    from = NULL;
  if (ret == 0 && from)
    ret = resolve_from_stage (b, st, from, &from_image, &from_key, err);
  if (ret == 0)
    ret = cb_step_key_copy (b, st, ins, &req, from_key, &urls.fields, docs, n_docs, key, err);
  if (ret == 0)
    ret = cb_step_cache_use (b, st, key, cb_buf_str (&msg), &hit, err);
  if (ret < 0 || hit)
    return ret;
  if (from_image)
    {
      if (asprintf (&source_name, "'%s' (COPY --from)", from) < 0)
        return cb_error_nomem (err);
      req.source_name = source_name;
      ret = cb_fs_step_mount (b, from_image, &src, err);
      if (ret == 0)
        ret = cb_mount_make_readonly (src.merged, err);
      req.context_dir = src.merged;
      req.ignore = NULL;
    }
  if (ret == 0)
    ret = cb_fs_step_mount (b, &st->image, &fs, err);
  req.rootfs = fs.merged;
  if (ret == 0)
    ret = copy_all_sources (b, st, ins, &req, &urls, &git, docs, n_docs, err);
  if (ret == 0)
    ret = cb_fs_step_commit (b, st, &fs, cb_buf_str (&msg), key, err);
  cb_fs_step_release (&fs);
  cb_fs_step_release (&src);
  return ret;
}

