/* Dropping directories that a step's upper directory holds only because
 * overlayfs copied them up, such as /etc when the runtime created the
 * /etc/hosts mount point and cbuild removed it again. */
#ifndef CBUILD_BUILDER_UPPER_PRUNE_H
#define CBUILD_BUILDER_UPPER_PRUNE_H

#include <stddef.h>

#include <cbuild/cbuild.h>

/* Removes from upper every empty, non-opaque directory whose topmost
 * counterpart in lowers (top first) is a directory with the same mode and
 * owner, so it adds nothing to the layer but a changed mtime. */
int cb_upper_drop_unchanged_dirs (const char *upper, char *const *lowers, size_t n_lowers, cbuild_error *err);

#endif
