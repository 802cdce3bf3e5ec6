/* The runtime creates the paths it mounts on (/proc, /dev, /sys, /etc/hosts
 * and so on) in the rootfs when they are missing. They are removed after the
 * run so that they do not end up in the layer.
 *
 * NOTE: a parent directory that came from a lower layer (say /etc when the
 * runtime created /etc/hosts) was copied up by overlayfs, and it stays in
 * the upper directory, so the layer carries that directory entry with its
 * original timestamps. BuildKit's layers show the same entry. */
#include "builder/runtime_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy_rootfs.h"
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

int
cb_mount_points_record (int root_fd, struct cb_mount_points *points, cbuild_error *err)
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

int
cb_mount_points_remove (int root_fd, const struct cb_mount_points *points, cbuild_error *err)
{
  int ret = 0;

  for (size_t i = CB_N_MOUNT_POINTS; i-- > 0;)
    {
      const struct mount_point *mp = &mount_points[i];
      cleanup_close int parent = -1;
      int removed;

      if (points->existed[i])
        continue;
      parent = cb_inroot_open (root_fd, mp->parent, O_RDONLY | O_DIRECTORY);
      if (parent < 0)
        continue;
      removed = remove_if_empty (parent, mp->name, mp->path, ret == 0 ? err : NULL);
      if (removed < 0)
        ret = -1;
      /* Creating and removing the entry changed the parent's mtime. Putting
       * the old times back keeps a directory that only the runtime touched
       * as it was. It also undoes a change by the command to that mtime. */
      if (removed > 0 && points->parent_existed[i] && futimens (parent, points->parent_times[i]) < 0 && ret == 0)
        ret = cb_error_sys (err, errno, "restore the timestamps of '%s' in the image", mp->parent);
    }
  return ret;
}
