/* cbuild_build: reads the Dockerfile and context, builds the target stage
 * and the stages it needs, and hands the image to the outputs. */
#include "builder/build.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "builder/cache_remote.h"
#include "builder/export.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/store.h"

#define DOCKERFILE_MAX ((size_t) 4 << 20)
#define DOCKERIGNORE_MAX ((size_t) 4 << 20)

struct cbuild_build_result
{
  char digest[CB_DIGEST_SIZE];
  char config_digest[CB_DIGEST_SIZE];
};

const char *
cbuild_build_result_digest (const cbuild_build_result *result)
{
  return result->digest;
}

const char *
cbuild_build_result_config_digest (const cbuild_build_result *result)
{
  return result->config_digest;
}

void
cbuild_build_result_free (cbuild_build_result *result)
{
  free (result);
}

int
cb_build_error_at (struct cb_build *b, const struct cb_instruction *ins, cbuild_error *err)
{
  return cb_error_prefix (err, "%s:%d", b->dockerfile_name, ins->line);
}

char *
cb_build_timestamp (const struct cb_build *b)
{
  const char *epoch = cb_env_get (&b->opts->build_args, "SOURCE_DATE_EPOCH");
  struct timespec ts;
  struct tm tm;
  char *out = NULL;

  clock_gettime (CLOCK_REALTIME, &ts);
  /* SOURCE_DATE_EPOCH pins the times of new history entries, so that a
   * rebuild from scratch gives the same image (checked in setup). */
  if (epoch)
    {
      ts.tv_sec = (time_t) strtoll (epoch, NULL, 10);
      ts.tv_nsec = 0;
    }
  gmtime_r (&ts.tv_sec, &tm);
  if (epoch && asprintf (&out, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec) < 0)
    return NULL;
  if (!epoch && asprintf (&out, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
                          tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec) < 0)
    return NULL;
  return out;
}

static int
check_source_date_epoch (const struct cb_build *b, cbuild_error *err)
{
  const char *epoch = cb_env_get (&b->opts->build_args, "SOURCE_DATE_EPOCH");
  char *end = NULL;

  if (epoch == NULL)
    return 0;
  errno = 0;
  if (epoch[0] < '0' || epoch[0] > '9' || strtoll (epoch, &end, 10) < 0 || *end != '\0' || errno != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "invalid SOURCE_DATE_EPOCH '%s': expected a number of seconds since 1970-01-01", epoch);
  return 0;
}

static char *
default_root (cbuild_error *err)
{
  const char *xdg = getenv ("XDG_DATA_HOME");
  const char *home = getenv ("HOME");
  char *root = NULL;

  if (xdg && xdg[0] == '/')
    {
      if (asprintf (&root, "%s/cbuild", xdg) < 0)
        root = NULL;
    }
  else if (home && home[0] == '/')
    {
      if (asprintf (&root, "%s/.local/share/cbuild", home) < 0)
        root = NULL;
    }
  else
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "cannot choose a state directory: neither XDG_DATA_HOME nor HOME is set (pass --root DIR)");
      return NULL;
    }
  if (root == NULL)
    cb_error_nomem (err);
  return root;
}

static int
open_context (struct cb_build *b, cbuild_error *err)
{
  struct stat st;

  if (b->opts->context_dir == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "no build context given");
  if (stat (b->opts->context_dir, &st) < 0 || !S_ISDIR (st.st_mode))
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND,
                         "build context '%s' not found or not a directory", b->opts->context_dir);
  b->context_dir = realpath (b->opts->context_dir, NULL);
  if (b->context_dir == NULL)
    return cb_error_sys (err, errno, "resolve build context '%s'", b->opts->context_dir);
  return 0;
}

static int
load_dockerfile (struct cb_build *b, const char *path, cbuild_error *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  const char *slash = strrchr (path, '/');

  /* Messages name a Dockerfile from standard input "Dockerfile". */
  if (b->opts->dockerfile_text)
    b->dockerfile_name = strdup ("Dockerfile");
  else
    b->dockerfile_name = strdup (slash ? slash + 1 : path);
  if (b->dockerfile_name == NULL)
    return cb_error_nomem (err);
  if (b->opts->dockerfile_text)
    {
      if (b->opts->dockerfile_len > DOCKERFILE_MAX)
        return cb_error_set (err, CBUILD_ERR_INVALID, "the Dockerfile is larger than %zu bytes", DOCKERFILE_MAX);
      return cb_dockerfile_parse (b->opts->dockerfile_text, b->opts->dockerfile_len, b->dockerfile_name, &b->df,
                                  err);
    }
  if (cb_read_file (path, DOCKERFILE_MAX, &text, &len, err) < 0)
    {
      if (err && err->code == CBUILD_ERR_NOT_FOUND)
        return cb_error_set (err, CBUILD_ERR_NOT_FOUND,
                             "Dockerfile '%s' not found (pass -f FILE to use another file)", path);
      return -1;
    }
  return cb_dockerfile_parse (text, len, b->dockerfile_name, &b->df, err);
}

/* A Dockerfile-specific ignore file (Dockerfile.dockerignore next to it)
 * wins over the context's .dockerignore, as BuildKit has it. */
static int
load_dockerignore (struct cb_build *b, const char *dockerfile_path, cbuild_error *err)
{
  cleanup_free char *specific = NULL;
  cleanup_free char *general = cb_path_join (b->context_dir, ".dockerignore");
  cleanup_free char *text = NULL;
  size_t len = 0;
  const char *path;

  if (general == NULL || asprintf (&specific, "%s.dockerignore", dockerfile_path) < 0)
    return cb_error_nomem (err);
  path = access (specific, F_OK) == 0 ? specific : general;
  if (cb_read_file (path, DOCKERIGNORE_MAX, &text, &len, err) < 0)
    {
      if (err && err->code != CBUILD_ERR_NOT_FOUND)
        return -1;
      text = strdup ("");
      len = 0;
      if (text == NULL)
        return cb_error_nomem (err);
    }
  if (cb_ignore_parse (text, len, &b->ignore, err) < 0)
    return cb_error_prefix (err, "%s", path);
  return 0;
}

/* Removes the work directories of builds that were killed: a live build
 * holds the lock on its directory's ".lock" file until it ends. */
static void
remove_stale_work_dirs (struct cb_build *b)
{
  DIR *dir = opendir (b->store->tmp_dir);
  struct dirent *de;

  if (dir == NULL)
    return;
  while ((de = readdir (dir)) != NULL)
    {
      cleanup_free char *path = NULL;
      cleanup_free char *lock = NULL;
      cleanup_close int fd = -1;
      cbuild_error ignored = { 0 };

      if (strncmp (de->d_name, "build-", 6) != 0)
        continue;
      path = cb_path_join (b->store->tmp_dir, de->d_name);
      lock = path ? cb_path_join (path, ".lock") : NULL;
      if (lock == NULL)
        break;
      fd = open (lock, O_RDWR | O_CLOEXEC);
      if (fd >= 0 && flock (fd, LOCK_EX | LOCK_NB) == 0)
        cb_remove_tree (path, &ignored);
    }
  closedir (dir);
}

static int
lock_work_dir (struct cb_build *b, cbuild_error *err)
{
  cleanup_free char *lock = cb_path_join (b->work_dir, ".lock");

  if (lock == NULL)
    return cb_error_nomem (err);
  b->work_lock_fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (b->work_lock_fd < 0 || flock (b->work_lock_fd, LOCK_EX) < 0)
    return cb_error_sys (err, errno, "lock '%s'", lock);
  return 0;
}

/* Takes a shared lock on ROOT/.lock for the whole build: cbuild prune
 * takes it exclusively, so it never removes what a running build uses. */
static int
lock_state (struct cb_build *b, const char *root, cbuild_error *err)
{
  cleanup_free char *lock = cb_path_join (root, ".lock");

  if (lock == NULL)
    return cb_error_nomem (err);
  b->state_lock_fd = open (lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (b->state_lock_fd < 0 || flock (b->state_lock_fd, LOCK_SH) < 0)
    return cb_error_sys (err, errno, "lock '%s'", lock);
  return 0;
}

/* Each build context has its own digest record, named by a hash of its
 * real path, so that a build loads only the entries of its own context
 * and not those of every context built with this state directory. */
static int
open_file_digests (struct cb_build *b, const char *root, cbuild_error *err)
{
  cleanup_free char *cache = cb_path_join (root, "cache");
  cleanup_free char *legacy = cache ? cb_path_join (cache, "file-digests") : NULL;
  cleanup_free char *dir = cache ? cb_path_join (cache, "context-digests") : NULL;
  cleanup_free char *path = NULL;
  char id[CB_DIGEST_SIZE];

  if (dir == NULL || legacy == NULL)
    return cb_error_nomem (err);
  if (cb_mkdir_p (dir, 0700, err) < 0 || cb_sha256_bytes (b->context_dir, strlen (b->context_dir), id, err) < 0)
    return -1;
  /* Older versions kept one record for all contexts there. */
  unlink (legacy);
  path = cb_path_join (dir, id + strlen ("sha256:"));
  if (path == NULL)
    return cb_error_nomem (err);
  return cb_file_digests_load (path, &b->shared->file_digests, err);
}

static int
open_state (struct cb_build *b, cbuild_error *err)
{
  cleanup_free char *root = b->opts->root ? strdup (b->opts->root) : default_root (err);
  struct cb_registry_options ropts = { 0 };

  if (root == NULL)
    return err && err->code ? -1 : cb_error_nomem (err);
  if (cb_mkdir_p (root, 0700, err) < 0)
    return cb_error_prefix (err, "open state directory '%s'", root);
  /* Mounts and runtime bundles need absolute paths: runc resolves a
   * relative one against the bundle, not against our directory. */
  if (root[0] != '/')
    {
      char *absolute = realpath (root, NULL);
      if (absolute == NULL)
        return cb_error_sys (err, errno, "resolve state directory '%s'", root);
      free (root);
      root = absolute;
    }
  if (lock_state (b, root, err) < 0 || cb_store_open (root, &b->store, err) < 0)
    return cb_error_prefix (err, "open state directory '%s'", root);
  remove_stale_work_dirs (b);
  b->work_dir = cb_make_temp_dir (b->store->tmp_dir, "build", err);
  if (b->work_dir == NULL || lock_work_dir (b, err) < 0)
    return -1;
  b->shared->work_dir = b->work_dir;
  if (open_file_digests (b, root, err) < 0)
    return -1;
  ropts.mirrors = &b->opts->mirrors;
  ropts.insecure = &b->opts->insecure;
  ropts.log = &b->shared->registry_log;
  return cb_registry_new (&ropts, &b->registry, err);
}

static int
setup (struct cb_build *b, const cbuild_build_options *opts, cbuild_error *err)
{
  cleanup_free char *dockerfile = NULL;

  b->opts = opts;
  b->log = &b->shared->log;
  b->work_lock_fd = -1;
  b->state_lock_fd = -1;
  cb_platform_host (&b->platform);
  if (check_source_date_epoch (b, err) < 0 || cb_build_set_target_platform (b, err) < 0
      || cb_build_platform_args (b, err) < 0 || open_context (b, err) < 0)
    return -1;
  dockerfile = opts->dockerfile ? strdup (opts->dockerfile) : cb_path_join (b->context_dir, "Dockerfile");
  if (dockerfile == NULL)
    return cb_error_nomem (err);
  if (load_dockerfile (b, dockerfile, err) < 0 || load_dockerignore (b, dockerfile, err) < 0)
    return -1;
  if (cb_build_run_checks (b, err) < 0)
    return -1;
  if (opts->check_only)
    return 1;
  if (open_state (b, err) < 0)
    return -1;
  /* With --no-cache no step looks entries up, so none are fetched. */
  if (opts->n_cache_from == 0 || opts->no_cache)
    return 0;
  return cb_remote_cache_import (b, &b->remote_cache, err);
}

static char *
stage_name (const struct cb_instruction *ins)
{
  char *name;

  if (ins->n_args < 3 || strcasecmp (ins->args[1], "as") != 0)
    return NULL;
  name = strdup (ins->args[2]);
  for (char *p = name; p && *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  return name;
}

/* Names the stage that starts at ins, and labels it for log lines. */
static int
start_stage (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  size_t index = (size_t) (st - b->stages);

  st->name = stage_name (ins);
  if (st->name == NULL && ins->n_args >= 3 && strcasecmp (ins->args[1], "as") == 0)
    return cb_error_nomem (err);
  for (size_t i = 0; st->name && i < index; i++)
    if (b->stages[i].name && strcmp (b->stages[i].name, st->name) == 0)
      {
        cb_error_set (err, CBUILD_ERR_PARSE, "duplicate stage name '%s': stage names must be unique", st->name);
        return cb_build_error_at (b, ins, err);
      }
  if (st->name)
    st->label = strdup (st->name);
  else if (asprintf (&st->label, "stage-%zu", index) < 0)
    st->label = NULL;
  return st->label ? 0 : cb_error_nomem (err);
}

int
cb_build_split_stages (struct cb_build *b, cbuild_error *err)
{
  struct cb_dockerfile *df = b->df;

  b->stages = calloc (df->n_instructions ? df->n_instructions : 1, sizeof *b->stages);
  if (b->stages == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < df->n_instructions; i++)
    {
      const struct cb_instruction *ins = &df->instructions[i];

      if (strcmp (ins->cmd, "from") == 0)
        {
          struct cb_stage *st = &b->stages[b->n_stages++];
          st->first = i;
          st->end = df->n_instructions;
          if (b->n_stages > 1)
            b->stages[b->n_stages - 2].end = i;
          if (start_stage (b, st, ins, err) < 0)
            return -1;
          continue;
        }
      if (b->n_stages > 0)
        {
          if (strcmp (ins->cmd, "run") == 0)
            b->stages[b->n_stages - 1].has_run = true;
          continue;
        }
      if (strcmp (ins->cmd, "arg") != 0)
        {
          cb_error_set (err, CBUILD_ERR_PARSE, "no build stage in current context: a Dockerfile must start with FROM (only ARG may come before it)");
          return cb_build_error_at (b, ins, err);
        }
      if (cb_build_global_arg (b, ins, err) < 0)
        return -1;
    }
  if (b->n_stages == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s: file contains no FROM instruction", b->dockerfile_name);
  return 0;
}

struct cb_stage *
cb_build_find_stage (struct cb_build *b, const char *name, size_t limit)
{
  char *end = NULL;
  unsigned long index;

  for (size_t i = 0; i < b->n_stages && b->stages[i].first < limit; i++)
    if (b->stages[i].name && strcasecmp (b->stages[i].name, name) == 0)
      return &b->stages[i];
  if (name[0] < '0' || name[0] > '9')
    return NULL;
  index = strtoul (name, &end, 10);
  if (*end != '\0' || index >= b->n_stages || b->stages[index].first >= limit)
    return NULL;
  return &b->stages[index];
}

static struct cb_stage *
select_target (struct cb_build *b, cbuild_error *err)
{
  struct cb_stage *st;

  if (b->opts->target == NULL)
    return &b->stages[b->n_stages - 1];
  st = cb_build_find_stage (b, b->opts->target, SIZE_MAX);
  if (st == NULL)
    cb_error_set (err, CBUILD_ERR_INVALID, "target stage '%s' could not be found in %s", b->opts->target,
                  b->dockerfile_name);
  return st;
}

static void
warn_unused_args (struct cb_build *b)
{
  const struct cb_strv *args = &b->opts->build_args;

  for (size_t i = 0; i < args->len; i++)
    {
      size_t n = strcspn (args->items[i], "=");
      cleanup_free char *name = strndup (args->items[i], n);
      /* SOURCE_DATE_EPOCH sets timestamps even when no ARG reads it. */
      if (name && strcmp (name, "SOURCE_DATE_EPOCH") != 0 && !cb_strv_contains (&b->shared->used_args, name))
        cb_log (b->log, CBUILD_LOG_WARN, "build argument '%s' was not consumed by any ARG in %s", name,
                b->dockerfile_name);
    }
}

static void
log_summary (struct cb_build *b, const struct timespec *started)
{
  struct timespec now;
  double seconds;

  clock_gettime (CLOCK_MONOTONIC, &now);
  seconds = (double) (now.tv_sec - started->tv_sec) + (double) (now.tv_nsec - started->tv_nsec) / 1e9;
  cb_log (b->log, CBUILD_LOG_INFO, "built in %.2fs: %d step%s run, %d cached", seconds,
          atomic_load (&b->shared->steps_run), atomic_load (&b->shared->steps_run) == 1 ? "" : "s",
          atomic_load (&b->shared->steps_cached));
}

static void
release (struct cb_build *b)
{
  cbuild_error ignored = { 0 };

  for (size_t i = 0; i < b->n_stages; i++)
    {
      free (b->stages[i].name);
      free (b->stages[i].label);
      free (b->stages[i].platform_text);
      free (b->stages[i].deps);
      cb_image_release (&b->stages[i].image);
      cb_strv_release (&b->stages[i].args);
      cb_strv_release (&b->stages[i].cache_keys);
    }
  free (b->stages);
  if (b->work_dir)
    cb_remove_tree (b->work_dir, &ignored);
  if (b->work_lock_fd >= 0)
    close (b->work_lock_fd);
  if (b->shared->file_digests)
    {
      /* The record only saves work, so failing to save it is no error. */
      cb_file_digests_save (b->shared->file_digests, &ignored);
      cb_file_digests_free (b->shared->file_digests);
      b->shared->file_digests = NULL;
    }
  if (b->state_lock_fd >= 0)
    close (b->state_lock_fd);
  free (b->work_dir);
  free (b->context_dir);
  free (b->dockerfile_name);
  free (b->platform_text);
  cb_strv_release (&b->global_args);
  cb_strv_release (&b->platform_args);
  cb_dockerfile_free (b->df);
  cb_ignore_free (b->ignore);
  cb_registry_free (b->registry);
  cb_remote_cache_free (b->remote_cache);
  cb_store_free (b->store);
}

/* Sets the --label options on the final image, over its LABELs. */
static int
apply_labels (struct cb_build *b, struct cb_image *image, cbuild_error *err)
{
  for (size_t i = 0; i < b->opts->labels.len; i++)
    {
      const char *label = b->opts->labels.items[i];
      cleanup_free char *key = strndup (label, strcspn (label, "="));

      if (key == NULL)
        return cb_error_nomem (err);
      if (cb_image_set_member (image, "Labels", key, label + strlen (key) + 1, err) < 0)
        return -1;
    }
  return 0;
}

int
cbuild_build (const cbuild_build_options *opts, cbuild_build_result **result, cbuild_error *err)
{
  struct cb_build b = { 0 };
  struct cb_build_shared shared;
  cbuild_build_result *res = calloc (1, sizeof *res);
  struct cb_stage *target;
  struct timespec started;
  int64_t manifest_size = 0;
  int ret = -1;

  if (res == NULL)
    return cb_error_nomem (err);
  if (cb_build_shared_init (&shared, opts, err) < 0)
    {
      free (res);
      return -1;
    }
  b.shared = &shared;
  clock_gettime (CLOCK_MONOTONIC, &started);
  ret = setup (&b, opts, err);
  if (ret == 1)
    {
      /* --check: the checks passed and nothing is built. */
      *result = res;
      res = NULL;
      ret = 0;
      goto out;
    }
  ret = -1;
  if (b.store == NULL || cb_build_split_stages (&b, err) < 0)
    goto out;
  target = select_target (&b, err);
  if (target == NULL || cb_graph_plan (&b, target, err) < 0)
    goto out;

  if (cb_build_run (&b, target, err) < 0)
    goto out;
  warn_unused_args (&b);

  if (apply_labels (&b, &target->image, err) < 0)
    goto out;
  if (cb_image_commit (&target->image, b.store, res->digest, &manifest_size, res->config_digest, err) < 0)
    goto out;
  if (cb_export_image (&b, res->digest, manifest_size, err) < 0)
    goto out;
  if (cb_remote_cache_export (&b, target, err) < 0)
    goto out;
  log_summary (&b, &started);
  *result = res;
  res = NULL;
  ret = 0;
out:
  free (res);
  release (&b);
  cb_build_shared_release (&shared);
  return ret;
}
