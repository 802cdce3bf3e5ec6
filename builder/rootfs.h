/* Paths inside a step's root file system, resolved without leaving it. */
#ifndef CBUILD_BUILDER_ROOTFS_H
#define CBUILD_BUILDER_ROOTFS_H

#include <sys/types.h>

#include <cbuild/cbuild.h>

/* Returns (malloc'd) path made absolute against base and cleaned like Go's
 * path.Clean: no "." or ".." components, no repeated or trailing '/'. */
char *cb_path_clean_abs (const char *base, const char *path);

/* Creates path (absolute, inside rootfs) and its missing parents with mode,
 * owned by uid:gid. Symlinks met on the way resolve inside rootfs, so a
 * link such as /app -> /etc stays within the image. */
int cb_rootfs_mkdir_p (const char *rootfs, const char *path, mode_t mode, uid_t uid, gid_t gid,
                       cbuild_error *err);

#endif
