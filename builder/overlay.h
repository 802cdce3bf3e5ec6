/* Overlay mounts that assemble a step's root file system from snapshots. */
#ifndef CBUILD_BUILDER_OVERLAY_H
#define CBUILD_BUILDER_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>

#include <cbuild/cbuild.h>

/* Mounts an overlay at target: lowers[0] is the top layer, lowers[n-1] the
 * base. With n == 0 an empty directory serves as the lower layer. upper
 * and work must be empty directories on the same file system. Mounted with
 * redirect_dir, index and metacopy off, so that the upper directory always
 * contains whole files and plain whiteouts. */
int cb_overlay_mount (const char *const *lowers, size_t n, const char *upper, const char *work,
                      const char *target, cbuild_error *err);
/* Like cb_overlay_mount; with legacy_only it always uses mount(2) and one
 * option string, as on kernels before 6.8, so that tests reach that path. */
int cb_overlay_mount_with (const char *const *lowers, size_t n, const char *upper, const char *work,
                           const char *target, bool legacy_only, cbuild_error *err);

/* Unmounts target, retrying while it is busy for about two seconds and then
 * detaching it, and removes the empty lower layer a mount without layers
 * created under target. */
int cb_overlay_unmount (const char *target, cbuild_error *err);

#endif
