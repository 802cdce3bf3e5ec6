/* Directory times of an extraction. Creating entries inside a directory
 * changes its mtime, so the times a layer gives its directories are
 * recorded and set after the last entry. */
#include "layers/extract.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

/* FNV-1a, 64 bits. */
static uint64_t
path_hash (const char *path)
{
  uint64_t h = 14695981039346656037ULL;

  for (; *path; path++)
    h = (h ^ (unsigned char) *path) * 1099511628211ULL;
  return h;
}

/* Returns the slot of path in the table: the one holding it, or the empty
 * one where it belongs. The table is never full (see grow_slots). */
static size_t
find_slot (const struct cb_extract *x, const char *path)
{
  size_t mask = x->n_slots - 1;
  size_t i = (size_t) path_hash (path) & mask;

  while (x->dir_slots[i] != 0 && strcmp (x->dirs[x->dir_slots[i] - 1].path, path) != 0)
    i = (i + 1) & mask;
  return i;
}

/* Doubles the table once it is half full, so that probe runs stay short. */
static int
grow_slots (struct cb_extract *x, cbuild_error *err)
{
  size_t n = x->n_slots ? x->n_slots * 2 : 128;
  size_t *old = x->dir_slots;
  size_t old_n = x->n_slots;

  if (x->n_dirs * 2 < x->n_slots)
    return 0;
  x->dir_slots = calloc (n, sizeof *x->dir_slots);
  if (x->dir_slots == NULL)
    {
      x->dir_slots = old;
      return cb_error_nomem (err);
    }
  x->n_slots = n;
  for (size_t i = 0; i < old_n; i++)
    if (old[i] != 0)
      x->dir_slots[find_slot (x, x->dirs[old[i] - 1].path)] = old[i];
  free (old);
  return 0;
}

static int
append_dir (struct cb_extract *x, const char *path, const struct timespec times[2], cbuild_error *err)
{
  struct cb_dir_time *d;

  if (x->n_dirs == x->cap_dirs)
    {
      size_t cap = x->cap_dirs ? x->cap_dirs * 2 : 64;
      struct cb_dir_time *p = realloc (x->dirs, cap * sizeof *p);
      if (p == NULL)
        return cb_error_nomem (err);
      x->dirs = p;
      x->cap_dirs = cap;
    }
  d = &x->dirs[x->n_dirs];
  d->path = strdup (path);
  if (d->path == NULL)
    return cb_error_nomem (err);
  memcpy (d->times, times, sizeof d->times);
  x->n_dirs++;
  return 0;
}

/* A layer may repeat a directory entry any number of times, and a few MiB
 * of gzip expand to millions of identical headers. Each directory is
 * therefore recorded once, with the times of its last entry, which keeps
 * memory proportional to the directories on disk. */
int
cb_extract_defer_dir_times (struct cb_extract *x, const char *path, const struct timespec times[2],
                            cbuild_error *err)
{
  size_t slot;

  if (grow_slots (x, err) < 0)
    return -1;
  slot = find_slot (x, path);
  if (x->dir_slots[slot] != 0)
    {
      memcpy (x->dirs[x->dir_slots[slot] - 1].times, times, sizeof x->dirs[0].times);
      return 0;
    }
  if (append_dir (x, path, times, err) < 0)
    return -1;
  x->dir_slots[slot] = x->n_dirs;
  return 0;
}

/* Sets one recorded directory's times through its parent, without
 * following its name: a later entry may have replaced it by a symlink. */
static int
set_dir_times (struct cb_extract *x, struct cb_dir_time *d, cbuild_error *err)
{
  cleanup_close int dirfd = -1;
  cbuild_error open_err = { 0 };
  char *slash = strrchr (d->path, '/');
  const char *base = slash ? slash + 1 : d->path;

  if (d->path[0] == '\0')
    return futimens (x->rootfd, d->times) < 0 ? cb_error_sys (err, errno, "set the times of '.'") : 0;
  if (slash)
    *slash = '\0';
  dirfd = cb_extract_open_dir (x->rootfd, slash ? d->path : "", false, &open_err);
  if (slash)
    *slash = '/';
  /* A later entry of the layer may have removed or replaced a parent. */
  if (dirfd < 0 && (open_err.sys_errno == ENOENT || open_err.sys_errno == ENOTDIR))
    return 0;
  if (dirfd < 0)
    {
      if (err)
        *err = open_err;
      return -1;
    }
  if (utimensat (dirfd, base, d->times, AT_SYMLINK_NOFOLLOW) < 0 && errno != ENOENT)
    return cb_error_sys (err, errno, "set the times of '%s'", d->path);
  return 0;
}

int
cb_extract_finish_dirs (struct cb_extract *x, cbuild_error *err)
{
  for (size_t i = 0; i < x->n_dirs; i++)
    if (set_dir_times (x, &x->dirs[i], err) < 0)
      return -1;
  return 0;
}

void
cb_extract_release (struct cb_extract *x)
{
  for (size_t i = 0; i < x->n_dirs; i++)
    free (x->dirs[i].path);
  free (x->dirs);
  free (x->dir_slots);
  x->dirs = NULL;
  x->n_dirs = 0;
  x->cap_dirs = 0;
  x->dir_slots = NULL;
  x->n_slots = 0;
}
