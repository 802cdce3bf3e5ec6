/* Parts of the RUN machinery shared by runtime*.c. */
#ifndef CBUILD_BUILDER_RUNTIME_INTERNAL_H
#define CBUILD_BUILDER_RUNTIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "builder/runtime.h"
#include "builder/runtime_spec.h"

/* Like cb_runtime_run, with extra read-only bind mounts; last_line (when
 * not NULL) receives the last line of output, to explain a failure. */
int cb_runtime_run_with (const struct cb_run_request *req, const struct cb_spec_bind *binds, size_t n_binds,
                         int *exit_code, char *last_line, size_t last_line_size, cbuild_error *err);

#define CB_N_MOUNT_POINTS 6

/* A path below a request's mount destination, or the destination itself,
 * that was missing before the run. */
struct cb_mount_stub
{
  char *path;
  bool parent_existed;
  struct timespec parent_times[2]; /* atime, mtime */
};

/* The state before a run of the paths the runtime mounts on. The runtime
 * creates the missing ones, which must not reach the layer. */
struct cb_mount_points
{
  bool existed[CB_N_MOUNT_POINTS];
  bool bindable[CB_N_MOUNT_POINTS]; /* a file can be bind-mounted there */
  bool parent_existed[CB_N_MOUNT_POINTS];
  struct timespec parent_times[CB_N_MOUNT_POINTS][2]; /* atime, mtime */
  struct cb_mount_stub *stubs; /* deepest paths first */
  size_t n_stubs;
};

/* Records the standard mount points and, for each of the n_mounts
 * destinations, every missing path from the destination up to the first
 * one that exists. */
int cb_mount_points_record (int root_fd, const struct cb_container_mount *mounts, size_t n_mounts,
                            struct cb_mount_points *points, cbuild_error *err);
void cb_mount_points_release (struct cb_mount_points *points);

/* False when path ("/etc/hosts" or "/etc/resolv.conf") is a directory or a
 * symlink that resolves to nothing in the rootfs: binding a file there
 * would fail, or create the symlink's target. */
bool cb_mount_points_can_bind (const struct cb_mount_points *points, const char *path);

/* Removes the mount points that did not exist before and are still empty
 * (the request's first, deepest first), and gives their parents back their
 * timestamps. */
int cb_mount_points_remove (int root_fd, const struct cb_mount_points *points, cbuild_error *err);

#endif
