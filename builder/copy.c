/* COPY and ADD from the build context, with BuildKit's rules for sources
 * and destinations. Sources are read through a descriptor of the context
 * with RESOLVE_IN_ROOT, so "/x" and "../x" name context files. A symlink in
 * the context resolves inside it and never reaches a host file. One that
 * points out finds nothing, or the context file of that name. */
#include "builder/copy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/copy_internal.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/error.h"

/* The number of symlinks a destination may pass through, as the kernel
 * allows for a path. */
#define MAX_SYMLINKS 40

struct copy_job
{
  const struct cb_copy_request *req;
  struct cb_copy_meta meta;
  struct cb_inroot_owner parent_owner;
  int context_fd;
  char *context_real; /* the context's real path, to map descriptors back to context paths */
  int root_fd;
  char *dest; /* absolute in the image, cleaned */
  bool dest_is_dir;
};

struct cb_inroot_owner
cb_copy_parent_owner (const struct cb_copy_meta *meta)
{
  struct cb_inroot_owner owner = { 0, 0, 0755 };

  /* BuildKit's MkdirAll chowns the directories it creates to the --chown
   * user, so "COPY --chown=1000 f /a/b/" gives /a and /a/b to 1000. */
  if (meta->chown_set)
    {
      owner.uid = meta->uid;
      owner.gid = meta->gid;
    }
  return owner;
}

static const char *
instruction (const struct cb_copy_request *req)
{
  return req->is_add ? "ADD" : "COPY";
}

static bool
is_url (const char *s)
{
  return strncmp (s, "http://", 7) == 0 || strncmp (s, "https://", 8) == 0;
}

static int
check_request (const struct cb_copy_request *req, cbuild_error *err)
{
  if (req->context_dir == NULL || req->rootfs == NULL || req->dest == NULL || req->n_sources == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "%s: context, rootfs, sources and destination are required",
                         instruction (req));
  if (req->dest[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "%s: the destination is empty", instruction (req));
  for (size_t i = 0; i < req->n_sources; i++)
    {
      /* ADD downloads its URL sources itself (builder/add_url.c). */
      if (is_url (req->sources[i]) && req->is_add)
        return cb_error_set (err, CBUILD_ERR_INVALID, "ADD: download URL source '%s' before copying",
                             req->sources[i]);
      if (is_url (req->sources[i]))
        return cb_error_set (err, CBUILD_ERR_INVALID, "COPY does not take URLs, use ADD: '%s'", req->sources[i]);
    }
  return 0;
}

/* A destination ending in '/', "." or ".." names a directory. */
static bool
dest_names_dir (const char *dest)
{
  size_t len = strlen (dest);

  if (len > 0 && dest[len - 1] == '/')
    return true;
  if (strcmp (dest, ".") == 0 || strcmp (dest, "..") == 0)
    return true;
  return (len >= 2 && strcmp (dest + len - 2, "/.") == 0) || (len >= 3 && strcmp (dest + len - 3, "/..") == 0);
}

static bool
dest_is_existing_dir (const struct copy_job *job, const char *path)
{
  cleanup_close int fd = cb_inroot_open (job->root_fd, path, O_PATH | O_DIRECTORY);

  return fd >= 0;
}

static void
copy_job_release (struct copy_job *job)
{
  if (job->context_fd >= 0)
    close (job->context_fd);
  if (job->root_fd >= 0)
    close (job->root_fd);
  free (job->context_real);
  free (job->dest);
}

static int
copy_job_init (struct copy_job *job, const struct cb_copy_request *req, cbuild_error *err)
{
  job->req = req;
  job->meta = (struct cb_copy_meta) { req->chown_set, req->uid, req->gid, req->chmod_set, req->mode };
  job->parent_owner = cb_copy_parent_owner (&job->meta);
  job->context_fd = open (req->context_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (job->context_fd < 0)
    return cb_error_sys (err, errno, "open the build context '%s'", req->context_dir);
  job->context_real = realpath (req->context_dir, NULL);
  if (job->context_real == NULL)
    return cb_error_sys (err, errno, "resolve the build context '%s'", req->context_dir);
  job->root_fd = open (req->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (job->root_fd < 0)
    return cb_error_sys (err, errno, "open '%s'", req->rootfs);
  job->dest = cb_path_clean_abs (req->workdir ? req->workdir : "/", req->dest);
  if (job->dest == NULL)
    return cb_error_nomem (err);
  job->dest_is_dir = dest_names_dir (req->dest);
  return 0;
}

char *
cb_copy_context_path (const char *source)
{
  cleanup_free char *clean = cb_path_clean_abs ("/", source);

  if (clean == NULL)
    return NULL;
  return strdup (clean[1] ? clean + 1 : ".");
}

static const char *
source_name (const struct cb_copy_request *req)
{
  return req->source_name ? req->source_name : "the build context";
}

/* For COPY --parents: the part of each expanded source that is kept below
 * the destination, which is all of it, or what follows a "/./" pivot in
 * the source as written (with "src/./app/main.go", "app/main.go"). */
static int
push_kept_paths (const char *source, const struct cb_strv *sources, size_t from, struct cb_strv *kept_paths,
                 cbuild_error *err)
{
  const char *pivot = strstr (source, "/./");
  cleanup_free char *raw = pivot ? strndup (source, (size_t) (pivot - source)) : NULL;
  cleanup_free char *prefix = raw ? cb_copy_context_path (raw) : NULL;
  size_t len = prefix && strcmp (prefix, ".") != 0 ? strlen (prefix) : 0;

  if (pivot && prefix == NULL)
    return cb_error_nomem (err);
  for (size_t i = from; i < sources->len; i++)
    {
      const char *rel = sources->items[i];
      const char *rest = len && strncmp (rel, prefix, len) == 0 && rel[len] == '/' ? rel + len + 1 : rel;
      if (cb_strv_push (kept_paths, len && strcmp (rel, prefix) == 0 ? "." : rest, err) < 0)
        return -1;
    }
  return 0;
}

static int
expand_sources (const struct copy_job *job, struct cb_strv *sources, struct cb_strv *kept_paths, cbuild_error *err)
{
  for (size_t i = 0; i < job->req->n_sources; i++)
    {
      char *rel = cb_copy_context_path (job->req->sources[i]);
      size_t before = sources->len;
      int ret;

      if (rel == NULL)
        return cb_error_nomem (err);
      if (job->req->literal_sources || !cb_copy_has_wildcard (rel))
        ret = cb_strv_push_owned (sources, rel, err);
      else
        {
          ret = cb_copy_expand (job->context_fd, job->req->ignore, rel, sources, err);
          free (rel);
          if (ret == 0 && sources->len == before)
            return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "no files in %s match '%s'", source_name (job->req),
                                 job->req->sources[i]);
        }
      if (ret == 0 && job->req->parents)
        ret = push_kept_paths (job->req->sources[i], sources, before, kept_paths, err);
      if (ret < 0)
        return -1;
    }
  return 0;
}

char *
cb_copy_resolved_path (const char *context_real, int fd, const char *rel, cbuild_error *err)
{
  char link[64], real[PATH_MAX];
  size_t len = strlen (context_real);
  ssize_t n;
  char *out;

  snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
  n = readlink (link, real, sizeof real - 1);
  if (n < 0)
    {
      cb_error_sys (err, errno, "resolve '%s' in the build context", rel);
      return NULL;
    }
  real[n] = '\0';
  if (strcmp (context_real, "/") == 0)
    out = strdup (real + 1);
  else if (strncmp (real, context_real, len) == 0 && (real[len] == '/' || real[len] == '\0'))
    out = strdup (real[len] ? real + len + 1 : "");
  else
    {
      /* RESOLVE_IN_ROOT makes this unreachable; checked all the same. */
      cb_error_set (err, CBUILD_ERR_INVALID, "'%s' resolves outside the build context", rel);
      return NULL;
    }
  if (out == NULL)
    cb_error_nomem (err);
  return out;
}

static int
copy_dir_source (const struct copy_job *job, int src_path_fd, const char *resolved, cbuild_error *err)
{
  struct cb_copy_walk walk = { job->root_fd, job->req->ignore, job->req->exclude, &job->meta };
  cleanup_close int src = openat (src_path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int created_fd = -1;
  cleanup_close int dst = -1;

  if (src < 0)
    return cb_error_sys (err, errno, "open '%s' in the build context", resolved[0] ? resolved : ".");
  /* A missing destination is made like its parents (mode 0755, owned by
   * root or the --chown user), not with the source directory's metadata,
   * as BuildKit's fsutil copy does. */
  dst = cb_inroot_open (job->root_fd, job->dest, O_RDONLY | O_DIRECTORY);
  if (dst < 0 && errno == ENOENT)
    {
      if (cb_inroot_mkdir_p (job->root_fd, job->dest, &job->parent_owner, &created_fd, err) < 0)
        return -1;
      dst = openat (created_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
  if (dst < 0)
    return cb_error_sys (err, errno, "copy a directory to '%s'", job->dest);
  return cb_copy_dir_contents (&walk, src, resolved, dst, job->dest, err);
}

/* The length of path's parent directory part, its trailing '/' included. */
static int
parent_len (const char *path)
{
  size_t len = strlen (path);

  while (len > 0 && path[len - 1] == '/')
    len--;
  while (len > 0 && path[len - 1] != '/')
    len--;
  return (int) len;
}

/* Opens the parent of path (creating it) and returns the last component.
 * A symlink there is followed inside the rootfs, because BuildKit resolves
 * the destination that way: COPY writes the file the link points to. */
static int
open_file_target (const struct copy_job *job, char **path, int *parent, char **name, cbuild_error *err)
{
  for (int links = 0; links <= MAX_SYMLINKS; links++)
    {
      char target[PATH_MAX];
      char *next = NULL;
      int dir_len;
      ssize_t n;

      if (cb_inroot_open_parent (job->root_fd, *path, &job->parent_owner, parent, name, err) < 0)
        return -1;
      n = readlinkat (*parent, *name, target, sizeof target - 1);
      if (n < 0)
        return 0;
      target[n] = '\0';
      /* A relative target starts in the link's directory. */
      dir_len = target[0] == '/' ? 0 : parent_len (*path);
      if (asprintf (&next, "%.*s%s", dir_len, *path, target) < 0)
        return cb_error_nomem (err);
      close (*parent);
      *parent = -1;
      free (*name);
      *name = NULL;
      free (*path);
      *path = next;
    }
  return cb_error_sys (err, ELOOP, "copy to '%s'", *path);
}

static int
copy_file_source (const struct copy_job *job, const char *rel, const struct stat *st, cbuild_error *err)
{
  cleanup_close int src = cb_inroot_open (job->context_fd, rel, O_RDONLY | O_NONBLOCK);
  cleanup_close int parent = -1;
  cleanup_free char *path = NULL;
  cleanup_free char *name = NULL;
  const char *base = strrchr (rel, '/') ? strrchr (rel, '/') + 1 : rel;

  if (src < 0)
    return cb_error_sys (err, errno, "open '%s' in the build context", rel);
  if (job->req->is_add && !job->req->keep_archives)
    {
      int extracted = cb_copy_extract_archive (src, rel, job->root_fd, job->dest, &job->meta, err);
      if (extracted != 0)
        return extracted < 0 ? -1 : 0;
    }
  if (job->dest_is_dir || dest_is_existing_dir (job, job->dest))
    path = cb_path_clean_abs (job->dest, base);
  else
    path = strdup (job->dest);
  if (path == NULL)
    return cb_error_nomem (err);
  if (open_file_target (job, &path, &parent, &name, err) < 0)
    return -1;
  return cb_copy_regular (src, st, parent, name, path, &job->meta, err);
}

static int
copy_source (const struct copy_job *job, const char *rel, cbuild_error *err)
{
  cleanup_close int fd = cb_inroot_open (job->context_fd, rel, O_PATH);
  cleanup_free char *resolved = NULL;
  struct stat st;

  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "'%s' not found in %s", rel, source_name (job->req));
  if (fd < 0 || fstat (fd, &st) < 0)
    return cb_error_sys (err, errno, "open '%s' in the build context", rel);
  resolved = cb_copy_resolved_path (job->context_real, fd, rel, err);
  if (resolved == NULL)
    return -1;
  if (cb_copy_ignored (job->req->ignore, rel, S_ISDIR (st.st_mode))
      || cb_copy_ignored (job->req->ignore, resolved, S_ISDIR (st.st_mode)))
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "'%s' is excluded from the build context by .dockerignore", rel);
  if (S_ISDIR (st.st_mode))
    return copy_dir_source (job, fd, resolved, err);
  if (S_ISREG (st.st_mode))
    return copy_file_source (job, rel, &st, err);
  return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' in the build context is not a file or directory", rel);
}

static int
check_several_sources (const struct copy_job *job, size_t n_expanded, cbuild_error *err)
{
  if (job->dest_is_dir)
    return 0;
  /* Docker's rule for several sources as written; for one wildcard that
   * matched several files, an existing directory will do as well. */
  if (job->req->n_sources > 1 || (n_expanded > 1 && !dest_is_existing_dir (job, job->dest)))
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "%s with more than one source file needs a directory destination ending in '/': '%s'",
                         instruction (job->req), job->req->dest);
  return 0;
}

/* COPY --parents: each source goes to DEST/KEPT, where KEPT is its path
 * in the context (after a "/./" pivot when the source has one), so that
 * the directories above it are kept. */
static int
copy_source_with_parents (struct copy_job *job, const char *rel, const char *kept_path, cbuild_error *err)
{
  char *dest = job->dest;
  int ret;

  job->dest = cb_path_clean_abs (dest, kept_path);
  if (job->dest == NULL)
    {
      job->dest = dest;
      return cb_error_nomem (err);
    }
  job->dest_is_dir = false;
  ret = copy_source (job, rel, err);
  free (job->dest);
  job->dest = dest;
  return ret;
}

int
cb_copy_from_context (const struct cb_copy_request *req, cbuild_error *err)
{
  cleanup_strv struct cb_strv sources = CB_STRV_INIT;
  cleanup_strv struct cb_strv kept_paths = CB_STRV_INIT;
  struct copy_job job = { .context_fd = -1, .root_fd = -1 };
  int ret;

  ret = check_request (req, err);
  if (ret == 0)
    ret = copy_job_init (&job, req, err);
  if (ret == 0)
    ret = expand_sources (&job, &sources, &kept_paths, err);
  if (ret == 0 && !req->parents)
    ret = check_several_sources (&job, sources.len, err);
  if (ret == 0 && sources.len > 1)
    job.dest_is_dir = true;
  for (size_t i = 0; ret == 0 && i < sources.len; i++)
    ret = req->parents ? copy_source_with_parents (&job, sources.items[i], kept_paths.items[i], err)
                       : copy_source (&job, sources.items[i], err);
  copy_job_release (&job);
  return ret;
}
