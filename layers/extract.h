/* Internal to layers/: writing tar entries into a destination directory
 * without ever leaving it. */
#ifndef CBUILD_LAYERS_EXTRACT_H
#define CBUILD_LAYERS_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <archive.h>
#include <archive_entry.h>

#include <cbuild/cbuild.h>

/* A directory whose times are set after the last entry, because creating
 * entries inside it changes its mtime. */
struct cb_dir_time
{
  char *path; /* cleaned, relative to the destination */
  struct timespec times[2];
};

struct cb_extract
{
  int rootfd; /* the destination directory */
  struct archive *tar;
  struct cb_dir_time *dirs;
  size_t n_dirs;
  size_t cap_dirs;
  size_t *dir_slots; /* hash table of dirs: index + 1, or 0 for a free slot */
  size_t n_slots;    /* a power of two */
};

/* Turns a tar entry name into a path relative to the destination: leading
 * '/', empty and "." components are dropped, so absolute names land inside
 * the destination. A ".." component fails with CBUILD_ERR_INVALID. The
 * root itself becomes "". */
int cb_extract_clean_path (const char *name, char **out, cbuild_error *err);

/* Opens the directory rel (cleaned) with symlinks and ".." resolved as if
 * rootfd were "/", so no path can lead out of it. Missing directories are
 * created with mode 0755 when create is set. Returns the descriptor. */
int cb_extract_open_dir (int rootfd, const char *rel, bool create, cbuild_error *err);

/* Removes dirfd/name and, for a directory, everything below it, without
 * following symlinks. A missing name is not an error. */
int cb_extract_remove (int dirfd, const char *name, cbuild_error *err);

/* Writes one entry (and, for a regular file, its data from x->tar). */
int cb_extract_entry (struct cb_extract *x, struct archive_entry *entry, cbuild_error *err);

/* Records times for the directory path (cleaned), to be set by
 * cb_extract_finish_dirs. A path recorded before gets the new times. */
int cb_extract_defer_dir_times (struct cb_extract *x, const char *path, const struct timespec times[2],
                                cbuild_error *err);

/* Sets the times of the directories recorded by cb_extract_entry. */
int cb_extract_finish_dirs (struct cb_extract *x, cbuild_error *err);
void cb_extract_release (struct cb_extract *x);

#endif
