/* The runtime creates the paths it mounts on (/proc, /dev, /sys, /etc/hosts,
 * the targets of RUN --mount and so on) in the rootfs when they are missing.
 * They are removed after the run so that they do not end up in the layer,
 * as BuildKit's executor removes its mount stubs.
 *
 * NOTE: a parent directory that came from a lower layer (say /etc when the
 * runtime created /etc/hosts) was copied up by overlayfs, and it stays in
 * the upper directory, so the layer carries that directory entry with its
 * original timestamps. BuildKit's layers show the same entry. */
#include "builder/runtime_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy_rootfs.h"
#include "builder/rootfs.h"
#include "common/cleanup.h"
#include "common/error.h"

struct mount_point
{
  const char *parent;
  const char *name;
  const char *path;
};

/* Parents before children, so that removal in reverse order empties a
 * directory before it is removed. */
static const struct mount_point mount_points[CB_N_MOUNT_POINTS] = {
  { "/", "proc", "/proc" },
  { "/", "dev", "/dev" },
  { "/", "sys", "/sys" },
  { "/", "etc", "/etc" },
  { "/etc", "resolv.conf", "/etc/resolv.conf" },
  { "/etc", "hosts", "/etc/hosts" },
};

static bool
resolves_to_file (int root_fd, const char *path)
{
  cleanup_close int fd = cb_inroot_open (root_fd, path, O_PATH);
  struct stat st;

  return fd >= 0 && fstat (fd, &st) == 0 && S_ISREG (st.st_mode);
}

static int
record_fixed (int root_fd, struct cb_mount_points *points, cbuild_error *err)
{
  for (size_t i = 0; i < CB_N_MOUNT_POINTS; i++)
    {
      const struct mount_point *mp = &mount_points[i];
      cleanup_close int parent = cb_inroot_open (root_fd, mp->parent, O_PATH | O_DIRECTORY);
      struct stat st;

      points->existed[i] = false;
      points->parent_existed[i] = false;
      points->bindable[i] = true;
      if (parent < 0)
        continue;
      if (fstat (parent, &st) < 0)
        return cb_error_sys (err, errno, "stat '%s' in the image", mp->parent);
      points->parent_existed[i] = true;
      points->parent_times[i][0] = st.st_atim;
      points->parent_times[i][1] = st.st_mtim;
      if (fstatat (parent, mp->name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      points->existed[i] = true;
      points->bindable[i] = resolves_to_file (root_fd, mp->path);
    }
  return 0;
}

static bool
stub_recorded (const struct cb_mount_points *points, const char *path)
{
  for (size_t i = 0; i < points->n_stubs; i++)
    if (strcmp (points->stubs[i].path, path) == 0)
      return true;
  return false;
}

/* Adds path (owned by the callee) with the times of its parent, when the
 * parent exists. */
static int
add_stub (int root_fd, struct cb_mount_points *points, char *path, cbuild_error *err)
{
  cleanup_free char *owned = path;
  cleanup_free char *parent_path = strdup (path);
  struct cb_mount_stub *grown, *stub;
  cleanup_close int parent = -1;
  struct stat st;

  if (parent_path == NULL)
    return cb_error_nomem (err);
  *strrchr (parent_path, '/') = '\0';
  grown = realloc (points->stubs, (points->n_stubs + 1) * sizeof *grown);
  if (grown == NULL)
    return cb_error_nomem (err);
  points->stubs = grown;
  stub = &points->stubs[points->n_stubs++];
  memset (stub, 0, sizeof *stub);
  stub->path = cb_steal_pointer (&owned);
  parent = cb_inroot_open (root_fd, parent_path[0] ? parent_path : "/", O_PATH | O_DIRECTORY);
  if (parent >= 0 && fstat (parent, &st) == 0)
    {
      stub->parent_existed = true;
      stub->parent_times[0] = st.st_atim;
      stub->parent_times[1] = st.st_mtim;
    }
  return 0;
}

/* Walks up from destination to the first path that exists, recording each
 * missing one. A symlink counts as existing: the runtime follows it inside
 * the rootfs and creates nothing for it. */
static int
record_destination (int root_fd, const char *destination, struct cb_mount_points *points, cbuild_error *err)
{
  cleanup_free char *path = cb_path_clean_abs ("/", destination);

  if (path == NULL)
    return cb_error_nomem (err);
  while (strcmp (path, "/") != 0)
    {
      cleanup_close int fd = cb_inroot_open (root_fd, path, O_PATH | O_NOFOLLOW);
      char *copy;

      if (fd >= 0 || (errno != ENOENT && errno != ENOTDIR))
        break;
      if (!stub_recorded (points, path))
        {
          copy = strdup (path);
          if (copy == NULL || add_stub (root_fd, points, copy, err) < 0)
            return copy ? -1 : cb_error_nomem (err);
        }
      *strrchr (path, '/') = '\0';
      if (path[0] == '\0')
        break;
    }
  return 0;
}

static size_t
path_depth (const char *path)
{
  size_t n = 0;

  for (; *path; path++)
    n += *path == '/';
  return n;
}

static int
compare_depth_desc (const void *a, const void *b)
{
  size_t da = path_depth (((const struct cb_mount_stub *) a)->path);
  size_t db = path_depth (((const struct cb_mount_stub *) b)->path);

  if (da == db)
    return 0;
  return da < db ? 1 : -1;
}

int
cb_mount_points_record (int root_fd, const struct cb_container_mount *mounts, size_t n_mounts,
                        struct cb_mount_points *points, cbuild_error *err)
{
  if (record_fixed (root_fd, points, err) < 0)
    return -1;
  for (size_t i = 0; i < n_mounts; i++)
    if (record_destination (root_fd, mounts[i].destination, points, err) < 0)
      return -1;
  /* Removing children before their parents lets an emptied parent go too. */
  if (points->n_stubs > 1)
    qsort (points->stubs, points->n_stubs, sizeof *points->stubs, compare_depth_desc);
  return 0;
}

void
cb_mount_points_release (struct cb_mount_points *points)
{
  for (size_t i = 0; i < points->n_stubs; i++)
    free (points->stubs[i].path);
  free (points->stubs);
  points->stubs = NULL;
  points->n_stubs = 0;
}

bool
cb_mount_points_can_bind (const struct cb_mount_points *points, const char *path)
{
  for (size_t i = 0; i < CB_N_MOUNT_POINTS; i++)
    if (strcmp (mount_points[i].path, path) == 0)
      return points->bindable[i];
  return false;
}

/* Removes name from parent when it is an empty directory or an empty
 * regular file; anything with content was made by the command and stays.
 * Returns 1 when it removed name. */
static int
remove_if_empty (int parent, const char *name, const char *path, cbuild_error *err)
{
  struct stat st;
  int flags;

  if (fstatat (parent, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return 0;
  if (S_ISDIR (st.st_mode))
    flags = AT_REMOVEDIR;
  else if (S_ISREG (st.st_mode) && st.st_size == 0)
    flags = 0;
  else
    return 0;
  if (unlinkat (parent, name, flags) == 0)
    return 1;
  if (errno == ENOTEMPTY || errno == EEXIST || errno == EBUSY)
    return 0;
  return cb_error_sys (err, errno, "remove the mount point '%s' from the image", path);
}

/* Removes the stub when empty; parent_times (when not NULL) go back to its
 * parent afterwards. Returns -1 on failure, else 0. */
static int
remove_stub (int root_fd, const char *parent_path, const char *name, const char *path,
             const struct timespec *parent_times, cbuild_error *err)
{
  cleanup_close int parent = cb_inroot_open (root_fd, parent_path, O_RDONLY | O_DIRECTORY);
  int removed;

  if (parent < 0)
    return 0;
  removed = remove_if_empty (parent, name, path, err);
  if (removed < 0)
    return -1;
  /* Creating and removing the entry changed the parent's mtime. Putting
   * the old times back keeps a directory that only the runtime touched
   * as it was. It also undoes a change by the command to that mtime. */
  if (removed > 0 && parent_times && futimens (parent, parent_times) < 0)
    return cb_error_sys (err, errno, "restore the timestamps of '%s' in the image", parent_path);
  return 0;
}

static int
remove_request_stubs (int root_fd, const struct cb_mount_points *points, cbuild_error *err)
{
  int ret = 0;

  for (size_t i = 0; i < points->n_stubs; i++)
    {
      const struct cb_mount_stub *stub = &points->stubs[i];
      cleanup_free char *parent_path = strdup (stub->path);
      char *slash;

      if (parent_path == NULL)
        return cb_error_nomem (err);
      slash = strrchr (parent_path, '/');
      *slash = '\0';
      if (remove_stub (root_fd, parent_path[0] ? parent_path : "/", slash + 1, stub->path,
                       stub->parent_existed ? stub->parent_times : NULL, ret == 0 ? err : NULL) < 0)
        ret = -1;
    }
  return ret;
}

int
cb_mount_points_remove (int root_fd, const struct cb_mount_points *points, cbuild_error *err)
{
  int ret = remove_request_stubs (root_fd, points, err);

  for (size_t i = CB_N_MOUNT_POINTS; i-- > 0;)
    {
      const struct mount_point *mp = &mount_points[i];

      if (points->existed[i])
        continue;
      if (remove_stub (root_fd, mp->parent, mp->name, mp->path,
                       points->parent_existed[i] ? points->parent_times[i] : NULL, ret == 0 ? err : NULL) < 0)
        ret = -1;
    }
  return ret;
}
