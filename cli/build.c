/* cbuild build: flags to build options, log lines to the terminal. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cbuild/cbuild.h>
#include <jansson.h>

#include "cli/cli.h"

enum
{
  OPT_BUILD_ARG = 256,
  OPT_TARGET,
  OPT_PUSH,
  OPT_OUTPUT,
  OPT_MIRROR,
  OPT_INSECURE,
  OPT_RUNTIME,
  OPT_ROOT,
  OPT_SECRET,
  OPT_SSH,
  OPT_PLATFORM,
  OPT_LABEL,
  OPT_NETWORK,
  OPT_IIDFILE,
  OPT_PROGRESS,
  OPT_METADATA_FILE,
  OPT_ADD_HOST,
  OPT_BUILD_CONTEXT,
  OPT_LEGACY_NOOP,
  OPT_JOBS,
  OPT_NO_CACHE,
  OPT_NO_CACHE_FILTER,
  OPT_CHECK,
  OPT_PULL,
  OPT_CACHE_TO,
  OPT_CACHE_FROM,
  OPT_HELP,
};

static const struct option build_options[] = {
  { "file", required_argument, NULL, 'f' },
  { "tag", required_argument, NULL, 't' },
  { "build-arg", required_argument, NULL, OPT_BUILD_ARG },
  { "target", required_argument, NULL, OPT_TARGET },
  { "push", no_argument, NULL, OPT_PUSH },
  { "output", required_argument, NULL, OPT_OUTPUT },
  { "registry-mirror", required_argument, NULL, OPT_MIRROR },
  { "insecure-registry", required_argument, NULL, OPT_INSECURE },
  { "runtime", required_argument, NULL, OPT_RUNTIME },
  { "root", required_argument, NULL, OPT_ROOT },
  { "secret", required_argument, NULL, OPT_SECRET },
  { "ssh", required_argument, NULL, OPT_SSH },
  { "platform", required_argument, NULL, OPT_PLATFORM },
  { "label", required_argument, NULL, OPT_LABEL },
  { "network", required_argument, NULL, OPT_NETWORK },
  { "iidfile", required_argument, NULL, OPT_IIDFILE },
  { "progress", required_argument, NULL, OPT_PROGRESS },
  { "metadata-file", required_argument, NULL, OPT_METADATA_FILE },
  { "add-host", required_argument, NULL, OPT_ADD_HOST },
  { "build-context", required_argument, NULL, OPT_BUILD_CONTEXT },
  /* The classic builder's intermediate containers; BuildKit accepts and
   * ignores these flags too. */
  { "rm", no_argument, NULL, OPT_LEGACY_NOOP },
  { "force-rm", no_argument, NULL, OPT_LEGACY_NOOP },
  { "jobs", required_argument, NULL, OPT_JOBS },
  { "no-cache", no_argument, NULL, OPT_NO_CACHE },
  { "no-cache-filter", required_argument, NULL, OPT_NO_CACHE_FILTER },
  { "check", no_argument, NULL, OPT_CHECK },
  { "pull", no_argument, NULL, OPT_PULL },
  { "cache-to", required_argument, NULL, OPT_CACHE_TO },
  { "cache-from", required_argument, NULL, OPT_CACHE_FROM },
  { "quiet", no_argument, NULL, 'q' },
  { "help", no_argument, NULL, 'h' },
  { NULL, 0, NULL, 0 },
};

static void
print_log (void *user_data, int level, const char *message)
{
  int quiet = *(int *) user_data;

  if (level == CBUILD_LOG_WARN)
    fprintf (stderr, "warning: %s\n", message);
  else if (!quiet && level != CBUILD_LOG_DEBUG)
    fprintf (stderr, "%s\n", message);
}

/* --jobs N: a number of stages, at least 1. */
static int
set_jobs (cbuild_build_options *opts, const char *arg, cbuild_error *err)
{
  char *end = NULL;
  long jobs;

  errno = 0;
  jobs = strtol (arg, &end, 10);
  if (errno != 0 || end == arg || *end != '\0' || jobs < 1 || jobs > INT_MAX)
    {
      err->code = CBUILD_ERR_INVALID;
      snprintf (err->message, sizeof err->message, "invalid --jobs '%s': expected a positive number", arg);
      return -1;
    }
  return cbuild_build_options_set_jobs (opts, (int) jobs, err);
}

/* The largest Dockerfile read from standard input, as the library limits
 * one read from a file. */
#define STDIN_DOCKERFILE_MAX ((size_t) 4 << 20)

/* True for a tar archive, plain or compressed with gzip, bzip2, xz or
 * zstd, by their magic numbers, as the docker CLI distinguishes a context
 * on standard input from a Dockerfile. */
static bool
looks_like_archive (const char *text, size_t len)
{
  static const struct
  {
    const char *magic;
    size_t len;
  } magics[] = {
    { "\x1f\x8b", 2 }, { "BZh", 3 }, { "\xfd" "7zXZ\x00", 6 }, { "\x28\xb5\x2f\xfd", 4 },
  };

  for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
    if (len >= magics[i].len && memcmp (text, magics[i].magic, magics[i].len) == 0)
      return true;
  return len >= 262 && memcmp (text + 257, "ustar", 5) == 0;
}

/* Reads the Dockerfile that `-f -` or the context `-` names from standard
 * input into the options. A tar archive there would be a whole build
 * context, which docker build accepts and cbuild does not. */
static int
set_dockerfile_from_stdin (cbuild_build_options *opts, cbuild_error *err)
{
  char *text = malloc (STDIN_DOCKERFILE_MAX + 1);
  size_t len = 0, got;
  int ret;

  if (text == NULL)
    {
      snprintf (err->message, sizeof err->message, "out of memory");
      return -1;
    }
  while (len <= STDIN_DOCKERFILE_MAX && (got = fread (text + len, 1, STDIN_DOCKERFILE_MAX + 1 - len, stdin)) > 0)
    len += got;
  if (ferror (stdin) || len > STDIN_DOCKERFILE_MAX)
    {
      snprintf (err->message, sizeof err->message, "%s",
                ferror (stdin) ? "cannot read the Dockerfile from standard input"
                               : "the Dockerfile on standard input is larger than 4 MiB");
      free (text);
      return -1;
    }
  if (looks_like_archive (text, len))
    {
      snprintf (err->message, sizeof err->message,
                "standard input is an archive: a build context as a tar archive on standard input is not "
                "supported, pass a directory");
      free (text);
      return -1;
    }
  ret = cbuild_build_options_set_dockerfile_text (opts, text, len, err);
  free (text);
  return ret;
}

/* --progress as docker build takes it. cbuild always prints plain lines,
 * so only "quiet" changes anything. */
static int
set_progress (const char *mode, int *quiet, cbuild_error *err)
{
  static const char *const modes[] = { "auto", "plain", "tty", "rawjson", "quiet", "none", NULL };

  for (size_t i = 0; modes[i]; i++)
    if (strcmp (mode, modes[i]) == 0)
      {
        if (strcmp (mode, "quiet") == 0 || strcmp (mode, "none") == 0)
          *quiet = 1;
        return 0;
      }
  snprintf (err->message, sizeof err->message,
            "invalid --progress '%s': expected auto, plain, tty, rawjson, quiet or none", mode);
  return -1;
}

/* Writes text to path through a temporary file, so that a reader never
 * sees half of it. what names the option in the error message. */
static int
write_file_atomically (const char *path, const char *text, const char *what)
{
  char real[PATH_MAX];
  char *tmp = NULL;
  struct stat st;
  FILE *f;
  int ok;

  /* Written through the path as docker writes it: a symlink's target gets
   * the text, and a device or pipe is written to, not replaced. */
  if (realpath (path, real) != NULL)
    path = real;
  if (lstat (path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      f = fopen (path, "w");
      ok = f && fputs (text, f) >= 0;
      if (f && fclose (f) != 0)
        ok = 0;
    }
  else
    {
      if (asprintf (&tmp, "%s.tmp-%ld", path, (long) getpid ()) < 0)
        return -1;
      f = fopen (tmp, "w");
      ok = f && fputs (text, f) >= 0;
      if (f && fclose (f) != 0)
        ok = 0;
      if (ok && rename (tmp, path) < 0)
        ok = 0;
      if (!ok)
        unlink (tmp);
    }
  if (!ok)
    fprintf (stderr, "cbuild: error: cannot write %s '%s': %s\n", what, path, strerror (errno));
  free (tmp);
  return ok ? 0 : -1;
}

/* Removes an earlier --iidfile before the build, as the docker CLI does, so
 * that a failed build leaves no stale image ID behind. Only a regular file
 * is removed. */
static void
remove_stale_file (const char *path)
{
  struct stat st;

  if (path && lstat (path, &st) == 0 && S_ISREG (st.st_mode))
    unlink (path);
}

/* Writes what `docker buildx build --metadata-file` writes about the
 * image: its manifest and config digests and its names. */
static int
write_metadata_file (const char *path, const cbuild_build_result *res, char **tags, int n_tags)
{
  json_t *doc;
  char *text;
  int ret;

  doc = json_pack ("{s:s, s:s}", "containerimage.digest", cbuild_build_result_digest (res),
                   "containerimage.config.digest", cbuild_build_result_config_digest (res));
  if (doc && n_tags > 0)
    {
      char *joined = NULL;
      size_t len = 0;
      FILE *f = open_memstream (&joined, &len);
      for (int i = 0; f && i < n_tags; i++)
        fprintf (f, "%s%s", i ? "," : "", tags[i]);
      if (f)
        fclose (f);
      if (joined)
        json_object_set_new (doc, "image.name", json_string (joined));
      free (joined);
    }
  text = doc ? json_dumps (doc, JSON_INDENT (2) | JSON_SORT_KEYS) : NULL;
  json_decref (doc);
  ret = text ? write_file_atomically (path, text, "--metadata-file") : -1;
  free (text);
  return ret;
}

/* Applies one flag to the options; returns 0, or the exit status. */
static int
apply_flag (cbuild_build_options *opts, int c, const char *arg, int *quiet, cbuild_error *err)
{
  int ret = 0;

  switch (c)
    {
    case 'f':
      ret = strcmp (arg, "-") == 0 ? set_dockerfile_from_stdin (opts, err)
                                   : cbuild_build_options_set_dockerfile (opts, arg, err);
      break;
    case 't': ret = cbuild_build_options_add_tag (opts, arg, err); break;
    case OPT_BUILD_ARG: ret = cbuild_build_options_add_build_arg (opts, arg, err); break;
    case OPT_TARGET: ret = cbuild_build_options_set_target (opts, arg, err); break;
    case OPT_NO_CACHE: cbuild_build_options_set_no_cache (opts, 1); break;
    case OPT_NO_CACHE_FILTER: ret = cbuild_build_options_add_no_cache_filter (opts, arg, err); break;
    case OPT_CHECK: cbuild_build_options_set_check_only (opts, 1); break;
    case OPT_PULL: cbuild_build_options_set_pull (opts, 1); break;
    case OPT_CACHE_TO: ret = cbuild_build_options_add_cache_to (opts, arg, err); break;
    case OPT_CACHE_FROM: ret = cbuild_build_options_add_cache_from (opts, arg, err); break;
    case OPT_PUSH: cbuild_build_options_set_push (opts, 1); break;
    case OPT_OUTPUT: ret = cbuild_build_options_add_output (opts, arg, err); break;
    case OPT_MIRROR: ret = cbuild_build_options_add_registry_mirror (opts, arg, err); break;
    case OPT_INSECURE: ret = cbuild_build_options_add_insecure_registry (opts, arg, err); break;
    case OPT_RUNTIME: ret = cbuild_build_options_set_runtime (opts, arg, err); break;
    case OPT_ROOT: ret = cbuild_build_options_set_root (opts, arg, err); break;
    case OPT_SECRET: ret = cbuild_build_options_add_secret (opts, arg, err); break;
    case OPT_SSH: ret = cbuild_build_options_add_ssh (opts, arg, err); break;
    case OPT_PLATFORM: ret = cbuild_build_options_set_platform (opts, arg, err); break;
    case OPT_LABEL: ret = cbuild_build_options_add_label (opts, arg, err); break;
    case OPT_NETWORK: ret = cbuild_build_options_set_network (opts, arg, err); break;
    case OPT_ADD_HOST: ret = cbuild_build_options_add_host (opts, arg, err); break;
    case OPT_BUILD_CONTEXT: ret = cbuild_build_options_add_build_context (opts, arg, err); break;
    case OPT_PROGRESS: ret = set_progress (arg, quiet, err); break;
    case OPT_IIDFILE:
    case OPT_METADATA_FILE:
    case OPT_LEGACY_NOOP:
      break; /* the files are written after the build */
    case OPT_JOBS: ret = set_jobs (opts, arg, err); break;
    case 'q': *quiet = 1; break;
    case 'h': fputs (cli_help_text (), stdout); return 1;
    default: return 2;
    }
  if (ret < 0)
    {
      fprintf (stderr, "cbuild: error: %s\n", err->message);
      return 2;
    }
  return 0;
}

/* Mounts made for RUN and COPY steps go into a private mount namespace, so
 * that they vanish with the process even when it is killed. Without the
 * privilege to do this, the build still runs in the caller's namespace. */
static void
enter_private_mount_namespace (void)
{
  if (unshare (CLONE_NEWNS) < 0)
    return;
  mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static void
print_result (const cbuild_build_result *res, char **tags, int n_tags)
{
  if (n_tags == 0)
    printf ("%s\n", cbuild_build_result_digest (res));
  for (int i = 0; i < n_tags; i++)
    printf ("%s@%s\n", tags[i], cbuild_build_result_digest (res));
}

/* Sets the build context. "-" reads the Dockerfile from standard input and
 * builds it with an empty context, as `docker build - < Dockerfile` does;
 * empty_context is the mkdtemp() template for that directory. */
static int
set_context (cbuild_build_options *opts, const char *context, bool stdin_read, char *empty_context,
             cbuild_error *err)
{
  if (strcmp (context, "-") != 0)
    return cbuild_build_options_set_context (opts, context, err);
  if (stdin_read)
    {
      snprintf (err->message, sizeof err->message,
                "the context '-' and -f - both read standard input: pass a context directory with -f -");
      return -1;
    }
  if (set_dockerfile_from_stdin (opts, err) < 0)
    return -1;
  if (mkdtemp (empty_context) == NULL)
    {
      snprintf (err->message, sizeof err->message, "cannot create an empty build context in /tmp: %s",
                strerror (errno));
      return -1;
    }
  return cbuild_build_options_set_context (opts, empty_context, err);
}

int
cli_build (int argc, char **argv)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_build_result *res = NULL;
  cbuild_error err = { 0 };
  char **tags = calloc ((size_t) argc, sizeof *tags);
  char empty_context[] = "/tmp/cbuild-context.XXXXXX";
  int n_tags = 0, quiet = 0, c, status;
  bool stdin_read = false;
  const char *iidfile = NULL, *metadata_file = NULL;

  if (opts == NULL || tags == NULL)
    return 1;
  optind = 1;
  while ((c = getopt_long (argc, argv, "+f:t:qh", build_options, NULL)) != -1)
    {
      if (c == 't')
        tags[n_tags++] = optarg;
      if (c == 'f' && strcmp (optarg, "-") == 0)
        stdin_read = true;
      if (c == OPT_IIDFILE)
        iidfile = optarg;
      if (c == OPT_METADATA_FILE)
        metadata_file = optarg;
      status = apply_flag (opts, c, optarg, &quiet, &err);
      if (status == 1)
        status = 0; /* --help was printed */
      if (status != 0 || c == 'h')
        goto done;
    }
  if (optind + 1 != argc)
    {
      status = cli_usage_error (optind >= argc ? "missing build context (such as '.')"
                                                     : "expected exactly one build context");
      goto done;
    }
  if (set_context (opts, argv[optind], stdin_read, empty_context, &err) < 0)
    {
      fprintf (stderr, "cbuild: error: %s\n", err.message);
      status = 2;
      goto done;
    }
  cbuild_build_options_set_log (opts, print_log, &quiet);
  remove_stale_file (iidfile);
  enter_private_mount_namespace ();
  if (cbuild_build (opts, &res, &err) < 0)
    {
      fprintf (stderr, "cbuild: error: %s\n", err.message);
      status = 1;
      goto done;
    }
  if ((iidfile && write_file_atomically (iidfile, cbuild_build_result_config_digest (res), "--iidfile") < 0)
      || (metadata_file && write_metadata_file (metadata_file, res, tags, n_tags) < 0))
    {
      status = 1;
      goto done;
    }
  print_result (res, tags, n_tags);
  status = 0;
done:
  if (empty_context[strlen (empty_context) - 1] != 'X')
    rmdir (empty_context);
  cbuild_build_result_free (res);
  cbuild_build_options_free (opts);
  free (tags);
  return status;
}
