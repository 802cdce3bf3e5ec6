/* RUN --mount=type=cache: directories under ROOT/cache-mounts that outlive
 * the build, named after the cache id (by default the target as written).
 * Each has a lock file next to it. sharing=shared takes a shared lock,
 * locked an exclusive one for the whole step, and private an exclusive one
 * on the first instance that no other step uses, creating a new instance
 * when all are busy. So a private cache has no concurrent writer. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy.h"
#include "builder/rootfs.h"
#include "builder/run_mount_internal.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/store.h"

/* Instances of one private cache that steps may use at the same time. */
#define PRIVATE_INSTANCES_MAX 64
/* The readable part of a cache directory's name, before the hash. */
#define NAME_PREFIX_MAX 48

/* Writes a file name for id: its characters that are safe in a file name,
 * then a hash of the whole id, so that ids that differ only in other
 * characters ("a/b" and "a_b") get different directories. */
static int
cache_name (const char *id, char *out, size_t size, cbuild_error *err)
{
  char digest[CB_DIGEST_SIZE];
  char prefix[NAME_PREFIX_MAX + 1];
  size_t n = 0;

  if (cb_sha256_bytes (id, strlen (id), digest, err) < 0)
    return -1;
  for (const char *c = id; *c && n < NAME_PREFIX_MAX; c++)
    prefix[n++] = isalnum ((unsigned char) *c) || *c == '.' || *c == '-' || *c == '_' ? *c : '_';
  prefix[n] = '\0';
  /* A leading '.' would hide the entry and allow "." and "..". */
  if (prefix[0] == '.')
    prefix[0] = '_';
  snprintf (out, size, "%s-%.16s", prefix, digest + strlen ("sha256:"));
  return 0;
}

static int
instance_name (const char *name, unsigned instance, char *out, size_t size)
{
  if (instance == 0)
    return snprintf (out, size, "%s", name);
  return snprintf (out, size, "%s-private-%u", name, instance);
}

/* Opens the lock file of instance and applies op. Returns 1 when locked,
 * 0 when op has LOCK_NB and the instance is busy, -1 on failure. */
static int
lock_instance (const char *root, const char *instance, int op, int *fd_out, cbuild_error *err)
{
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;

  if (asprintf (&path, "%s/%s.lock", root, instance) < 0)
    return cb_error_nomem (err);
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    return cb_error_sys (err, errno, "open '%s'", path);
  while (flock (fd, op) < 0)
    {
      if (errno == EWOULDBLOCK)
        return 0;
      if (errno != EINTR)
        return cb_error_sys (err, errno, "lock '%s'", path);
    }
  *fd_out = cb_steal_fd (&fd);
  return 1;
}

static int
keep_lock (struct cb_run_mounts *out, int fd, cbuild_error *err)
{
  int *grown = realloc (out->lock_fds, (out->n_locks + 1) * sizeof *grown);

  if (grown == NULL)
    {
      close (fd);
      return cb_error_nomem (err);
    }
  out->lock_fds = grown;
  out->lock_fds[out->n_locks++] = fd;
  return 0;
}

/* Locks an instance of the cache as sharing= requests; *instance receives
 * its directory name. */
static int
lock_cache (const struct cb_mount_job *job, const char *root, const char *name, char *instance, size_t size,
            cbuild_error *err)
{
  const char *sharing = job->m->sharing ? job->m->sharing : "shared";
  bool locked = strcmp (sharing, "locked") == 0;
  int fd = -1, ret;

  if (strcmp (sharing, "private") == 0)
    {
      for (unsigned i = 0; i < PRIVATE_INSTANCES_MAX; i++)
        {
          instance_name (name, i, instance, size);
          ret = lock_instance (root, instance, LOCK_EX | LOCK_NB, &fd, err);
          if (ret != 0)
            return ret < 0 ? -1 : keep_lock (job->out, fd, err);
        }
      return cb_error_set (err, CBUILD_ERR_INVALID, "all %d instances of private cache '%s' are in use",
                           PRIVATE_INSTANCES_MAX, name);
    }
  instance_name (name, 0, instance, size);
  ret = lock_instance (root, instance, (locked ? LOCK_EX : LOCK_SH) | LOCK_NB, &fd, err);
  if (ret == 0)
    {
      cb_log (job->b->log, CBUILD_LOG_INFO, "waiting for cache mount '%s', which another step uses", job->target);
      ret = lock_instance (root, instance, locked ? LOCK_EX : LOCK_SH, &fd, err);
    }
  return ret < 0 ? -1 : keep_lock (job->out, fd, err);
}

/* The contents a new cache starts with: from='s stage, copied as COPY
 * copies. NOTE: files get owner 0:0 as COPY gives them, where BuildKit
 * keeps the stage's owners. */
static int
seed_cache (const struct cb_mount_job *job, const char *dir, cbuild_error *err)
{
  const char *sources[1] = { "." };
  struct cb_copy_request req = { 0 };

  req.context_dir = cb_image_mount_root (job->from);
  req.sources = sources;
  req.n_sources = 1;
  req.dest = "/";
  req.workdir = "/";
  req.rootfs = dir;
  return cb_copy_from_context (&req, err);
}

/* Creates the cache directory when missing. uid, gid and mode apply to it
 * when the mount has no source, as in BuildKit, where they set up the
 * directory that the mount shows. */
static int
create_cache (const struct cb_mount_job *job, const char *root, const char *dir, cbuild_error *err)
{
  const struct cb_run_mount *m = job->m;
  bool whole = m->source == NULL || strspn (m->source, "/") == strlen (m->source);
  cleanup_free char *tmp = NULL;
  cbuild_error ignored = { 0 };
  struct stat st;
  int ret = 0;

  if (stat (dir, &st) == 0)
    return S_ISDIR (st.st_mode) ? 0 : cb_error_set (err, CBUILD_ERR_INVALID, "'%s' is not a directory", dir);
  tmp = cb_make_temp_dir (root, ".new", err);
  if (tmp == NULL)
    return -1;
  if (job->from)
    ret = seed_cache (job, tmp, err);
  if (ret == 0 && whole && chown (tmp, m->uid >= 0 ? (uid_t) m->uid : 0, m->gid >= 0 ? (gid_t) m->gid : 0) < 0)
    ret = cb_error_sys (err, errno, "chown '%s'", tmp);
  if (ret == 0 && chmod (tmp, whole && m->mode >= 0 ? (mode_t) m->mode : 0755) < 0)
    ret = cb_error_sys (err, errno, "chmod '%s'", tmp);
  /* Steps with a shared lock may create the cache at the same time: the
   * first rename wins and the others drop their copy. */
  if (ret == 0 && rename (tmp, dir) < 0 && errno != EEXIST && errno != ENOTEMPTY)
    ret = cb_error_sys (err, errno, "rename '%s' to '%s'", tmp, dir);
  cb_remove_tree (tmp, &ignored);
  return ret;
}

static char *
cache_root (struct cb_build *b, cbuild_error *err)
{
  char *root = cb_path_join (b->store->root, CB_CACHE_MOUNTS_DIR);

  if (root == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  if (cb_mkdir_p (root, 0700, err) < 0)
    {
      free (root);
      return NULL;
    }
  return root;
}

/* Returns (malloc'd) the directory of the cache, locked for this step. A
 * cache that the step mounts twice is locked once, because a second lock
 * on it would wait for the first forever. */
static char *
open_cache (const struct cb_mount_job *job, const char *id, cbuild_error *err)
{
  cleanup_free char *root = cache_root (job->b, err);
  const char *known;
  char name[128], instance[160];
  char *dir;

  if (root == NULL || cache_name (id, name, sizeof name, err) < 0)
    return NULL;
  known = cb_env_get (&job->out->cache_names, name);
  if (known)
    {
      dir = strdup (known);
      if (dir == NULL)
        cb_error_nomem (err);
      return dir;
    }
  if (lock_cache (job, root, name, instance, sizeof instance, err) < 0)
    return NULL;
  dir = cb_path_join (root, instance);
  if (dir == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  if (create_cache (job, root, dir, err) < 0 || cb_env_set (&job->out->cache_names, name, dir, err) < 0)
    {
      free (dir);
      return NULL;
    }
  return dir;
}

int
cb_run_mount_cache (const struct cb_mount_job *job, cbuild_error *err)
{
  const struct cb_run_mount *m = job->m;
  struct cb_inroot_owner owner = { 0, 0, 0755 };
  cleanup_free char *id = m->id ? strdup (m->id) : cb_path_clean_abs ("/", m->target);
  cleanup_free char *dir = NULL;
  cleanup_free char *path = NULL;

  if (id == NULL)
    return cb_error_nomem (err);
  /* BuildKit's default id is the target as written, cleaned: "x" and "/x"
   * are different caches. */
  if (m->id == NULL && m->target[0] != '/')
    memmove (id, id + 1, strlen (id));
  dir = open_cache (job, id, err);
  if (dir == NULL)
    return cb_error_prefix (err, "cache '%s'", id);
  if (m->source && strspn (m->source, "/") != strlen (m->source))
    {
      path = cb_run_mount_resolve (dir, m->source, &owner, NULL, err);
      if (path == NULL)
        return cb_error_prefix (err, "cache '%s'", id);
    }
  return cb_run_mounts_add_bind (job->out, path ? path : dir, job->target, m->readonly, err);
}
