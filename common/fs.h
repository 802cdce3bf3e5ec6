/* File helpers shared by every part: atomic writes, bounded reads, trees. */
#ifndef CBUILD_COMMON_FS_H
#define CBUILD_COMMON_FS_H

#include <stddef.h>
#include <sys/types.h>

#include <cbuild/cbuild.h>

/* Writes all of data, retrying short and interrupted writes. Returns -1
 * with errno set on failure. */
int cb_write_all (int fd, const void *data, size_t len);

/* Creates dir and its missing parents with mode. */
int cb_mkdir_p (const char *dir, mode_t mode, cbuild_error *err);

/* Writes data to path through a temporary file in the same directory that
 * is fsynced and renamed over path, so readers see the old or the new
 * content and never a part. */
int cb_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, cbuild_error *err);

/* Reads the whole of path into a NUL-terminated buffer (owned by the caller)
 * and fails with CBUILD_ERR_INVALID when it is larger than max bytes. */
int cb_read_file (const char *path, size_t max, char **out, size_t *len, cbuild_error *err);

/* Removes path and everything below it without following symlinks.
 * A missing path is not an error. */
int cb_remove_tree (const char *path, cbuild_error *err);

/* Returns "a/b" (malloc'd), or NULL when out of memory. */
char *cb_path_join (const char *a, const char *b);

/* Makes a new directory under parent from the template prefix; returns the
 * malloc'd path, or NULL with err set. */
char *cb_make_temp_dir (const char *parent, const char *prefix, cbuild_error *err);

#endif
