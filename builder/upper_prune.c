#include "builder/upper_prune.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

struct prune_walk
{
  char *const *lowers;
  size_t n_lowers;
  struct cb_buf rel; /* path below upper of the directory being walked */
};

/* True when the topmost lower that has rel has a directory there with the
 * mode and owner of st. */
static bool
same_as_lower (const struct prune_walk *w, const struct stat *st)
{
  for (size_t i = 0; i < w->n_lowers; i++)
    {
      cleanup_free char *path = NULL;
      struct stat lst;

      if (asprintf (&path, "%s/%s", w->lowers[i], cb_buf_str (&w->rel)) < 0)
        return false;
      if (lstat (path, &lst) < 0)
        continue;
      return S_ISDIR (lst.st_mode) && lst.st_mode == st->st_mode && lst.st_uid == st->st_uid
             && lst.st_gid == st->st_gid;
    }
  return false;
}

static bool
is_opaque (int dir_fd)
{
  char value[4];

  return fgetxattr (dir_fd, "trusted.overlay.opaque", value, sizeof value) > 0;
}

/* Walks dir_fd's subdirectories depth first; returns the number of
 * entries left in dir_fd, or -1. */
static long
prune_dir (struct prune_walk *w, int dir_fd, cbuild_error *err)
{
  DIR *dir = fdopendir (dup (dir_fd));
  struct dirent *de;
  long left = 0;

  if (dir == NULL)
    return cb_error_sys (err, errno, "read '%s' in a step's changes", cb_buf_str (&w->rel));
  while ((de = readdir (dir)) != NULL)
    {
      size_t old_len = w->rel.len;
      struct stat st;
      int sub;
      long sub_left;

      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      left++;
      if (de->d_type != DT_DIR)
        continue;
      sub = openat (dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        continue;
      if ((w->rel.len && cb_buf_append_char (&w->rel, '/', NULL) < 0) || cb_buf_append_str (&w->rel, de->d_name, NULL) < 0)
        {
          close (sub);
          closedir (dir);
          return cb_error_nomem (err);
        }
      sub_left = prune_dir (w, sub, err);
      if (sub_left == 0 && fstat (sub, &st) == 0 && !is_opaque (sub) && same_as_lower (w, &st)
          && unlinkat (dir_fd, de->d_name, AT_REMOVEDIR) == 0)
        left--;
      close (sub);
      w->rel.len = old_len;
      w->rel.data[old_len] = '\0';
      if (sub_left < 0)
        {
          closedir (dir);
          return -1;
        }
    }
  closedir (dir);
  return left;
}

int
cb_upper_drop_unchanged_dirs (const char *upper, char *const *lowers, size_t n_lowers, cbuild_error *err)
{
  cleanup_close int fd = open (upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct prune_walk w = { lowers, n_lowers, CB_BUF_INIT };
  long left;

  if (fd < 0)
    return cb_error_sys (err, errno, "open '%s'", upper);
  if (cb_buf_append_str (&w.rel, "", err) < 0)
    return -1;
  left = prune_dir (&w, fd, err);
  cb_buf_release (&w.rel);
  return left < 0 ? -1 : 0;
}
