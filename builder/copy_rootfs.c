#include "builder/copy_rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

/* How often an openat2 that failed with EAGAIN is tried again. */
#define OPENAT2_ATTEMPTS 128

/* The number of symlinks a path may pass through, as the kernel allows. */
#define MAX_SYMLINKS 40

int
cb_inroot_open (int root_fd, const char *path, int flags)
{
  struct open_how how = { 0 };

  while (*path == '/')
    path++;
  how.flags = (uint64_t) (flags | O_CLOEXEC);
  /* RESOLVE_IN_ROOT confines absolute symlinks and ".." to root_fd; no magic
   * links, so that a /proc/self/... link in an image cannot reach the host. */
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  /* The kernel fails a RESOLVE_IN_ROOT lookup through ".." with EAGAIN
   * when a rename or mount happened meanwhile anywhere on the machine (as
   * other builds' overlay mounts do), and the caller is to try again. */
  for (int attempt = 0;; attempt++)
    {
      long fd = syscall (SYS_openat2, root_fd, *path ? path : ".", &how, sizeof how);
      if (fd >= 0 || errno != EAGAIN || attempt == OPENAT2_ATTEMPTS)
        return (int) fd;
    }
}

static int
open_error (int errnum, const char *path, cbuild_error *err)
{
  if (errnum == ENOENT)
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "'%s' not found in the image", path);
  if (errnum == ENOTDIR)
    return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' is not a directory in the image", path);
  return cb_error_sys (err, errnum, "open '%s' in the image", path);
}

/* Creates dir name under parent with owner's mode and ownership, and
 * returns it opened; -1 with errno when mkdirat or the setup fails. */
static int
make_dir (int parent, const char *name, const struct cb_inroot_owner *owner)
{
  cleanup_close int fd = -1;

  if (mkdirat (parent, name, 0700) < 0)
    return -1;
  fd = openat (parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 || fchown (fd, owner->uid, owner->gid) < 0 || fchmod (fd, owner->mode) < 0)
    return -1;
  return cb_steal_fd (&fd);
}

/* Replaces *path by the path that the dangling symlink name points to,
 * followed by rest. The link is in parent, which the first prefix_len bytes
 * of *path lead to; relative targets start there. */
static int
follow_dangling (int parent, const char *name, char **path, size_t prefix_len, const char *rest,
                 cbuild_error *err)
{
  char target[PATH_MAX];
  ssize_t n = readlinkat (parent, name, target, sizeof target - 1);
  char *next = NULL;

  if (n < 0)
    return cb_error_sys (err, errno == EINVAL ? EEXIST : errno, "create directory '%.*s%s' in the image",
                         (int) prefix_len, *path, name);
  target[n] = '\0';
  if (target[0] == '/')
    n = asprintf (&next, "%s%s", target, rest);
  else
    n = asprintf (&next, "%.*s%s%s", (int) prefix_len, *path, target, rest);
  if (n < 0)
    return cb_error_nomem (err);
  free (*path);
  *path = next;
  return 0;
}

/* Walks *path one component at a time from the root. Returns 0 with the
 * directory in *dir_fd, 1 after *path was replaced because of a dangling
 * symlink, or -1. */
static int
mkdir_walk (int root_fd, char **path, const struct cb_inroot_owner *owner, int *dir_fd, cbuild_error *err)
{
  cleanup_close int parent = cb_inroot_open (root_fd, "/", O_PATH | O_DIRECTORY);
  char *p = *path;
  size_t start = 0, end;

  if (parent < 0)
    return cb_error_sys (err, errno, "open the image's root directory");
  for (;; start = end)
    {
      char saved;
      int fd;

      while (p[start] == '/')
        start++;
      if (p[start] == '\0')
        break;
      for (end = start; p[end] && p[end] != '/'; end++)
        ;
      saved = p[end];
      p[end] = '\0';
      fd = cb_inroot_open (root_fd, p, O_PATH | O_DIRECTORY);
      if (fd < 0 && errno == ENOENT && owner)
        {
          fd = make_dir (parent, p + start, owner);
          if (fd < 0 && errno == EEXIST)
            {
              cleanup_free char *name = strdup (p + start);
              if (name == NULL)
                return cb_error_nomem (err);
              p[end] = saved;
              return follow_dangling (parent, name, path, start, p + end, err) < 0 ? -1 : 1;
            }
        }
      if (fd < 0)
        return open_error (errno, p, err);
      p[end] = saved;
      close (parent);
      parent = fd;
    }
  *dir_fd = cb_steal_fd (&parent);
  return 0;
}

int
cb_inroot_mkdir_p (int root_fd, const char *path, const struct cb_inroot_owner *owner, int *dir_fd,
                   cbuild_error *err)
{
  cleanup_free char *current = strdup (path);

  if (current == NULL)
    return cb_error_nomem (err);
  for (int links = 0; links <= MAX_SYMLINKS; links++)
    {
      int ret = mkdir_walk (root_fd, &current, owner, dir_fd, err);
      if (ret <= 0)
        return ret;
    }
  return cb_error_sys (err, ELOOP, "create directory '%s' in the image", path);
}

int
cb_inroot_open_parent (int root_fd, const char *path, const struct cb_inroot_owner *owner, int *dir_fd,
                       char **name, cbuild_error *err)
{
  cleanup_free char *copy = strdup (path);
  char *slash;
  size_t len;

  if (copy == NULL)
    return cb_error_nomem (err);
  for (len = strlen (copy); len > 0 && copy[len - 1] == '/'; len--)
    copy[len - 1] = '\0';
  slash = strrchr (copy, '/');
  if (len == 0 || (slash && slash[1] == '\0'))
    return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' has no parent directory", path);
  *name = strdup (slash ? slash + 1 : copy);
  if (*name == NULL)
    return cb_error_nomem (err);
  if (slash)
    *slash = '\0';
  if (cb_inroot_mkdir_p (root_fd, slash ? copy : "/", owner, dir_fd, err) == 0)
    return 0;
  free (*name);
  *name = NULL;
  return -1;
}
