/* Paths inside a root directory, resolved as if that directory were "/":
 * absolute symlinks and ".." stop at the root (openat2 RESOLVE_IN_ROOT), so
 * an image or a build context cannot point a read or a write outside it.
 * Used by COPY and ADD, by the RUN mount point bookkeeping and by USER. */
#ifndef CBUILD_BUILDER_COPY_ROOTFS_H
#define CBUILD_BUILDER_COPY_ROOTFS_H

#include <stdbool.h>
#include <sys/types.h>

#include <cbuild/cbuild.h>

/* Opens path below root_fd with openat flags (O_CLOEXEC added). Returns the
 * fd, or -1 with errno set. */
int cb_inroot_open (int root_fd, const char *path, int flags);

/* The owner and mode of the directories cb_inroot_mkdir_p creates. */
struct cb_inroot_owner
{
  uid_t uid;
  gid_t gid;
  mode_t mode;
};

/* Opens (O_PATH) the directory at path, creating the missing ones with
 * owner when owner is not NULL. A symlink on the way is followed inside the
 * root; a dangling one gets its target created, as MkdirAll does in Go. An
 * existing non-directory fails with ENOTDIR, naming the path. */
int cb_inroot_mkdir_p (int root_fd, const char *path, const struct cb_inroot_owner *owner, int *dir_fd,
                       cbuild_error *err);

/* Opens (O_PATH) the directory holding path's last component, creating it
 * like cb_inroot_mkdir_p when owner is not NULL, and returns the component
 * (malloc'd) in *name. path must name something other than the root. */
int cb_inroot_open_parent (int root_fd, const char *path, const struct cb_inroot_owner *owner, int *dir_fd,
                           char **name, cbuild_error *err);

#endif
