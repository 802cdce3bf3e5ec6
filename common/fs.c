#include "common/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"

int
cb_mkdir_p (const char *dir, mode_t mode, cbuild_error *err)
{
  cleanup_free char *copy = strdup (dir);
  char *p;

  if (copy == NULL)
    return cb_error_nomem (err);
  for (p = copy + 1; *p; p++)
    {
      if (*p != '/')
        continue;
      *p = '\0';
      if (mkdir (copy, mode) < 0 && errno != EEXIST)
        return cb_error_sys (err, errno, "create directory '%s'", copy);
      *p = '/';
    }
  if (mkdir (copy, mode) < 0 && errno != EEXIST)
    return cb_error_sys (err, errno, "create directory '%s'", copy);
  return 0;
}

int
cb_write_all (int fd, const void *data, size_t len)
{
  const char *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

int
cb_write_file_atomic (const char *path, const void *data, size_t len, mode_t mode, cbuild_error *err)
{
  cleanup_free char *tmp = NULL;
  int fd;

  if (asprintf (&tmp, "%s.tmp-XXXXXX", path) < 0)
    return cb_error_nomem (err);
  fd = mkstemp (tmp);
  if (fd < 0)
    return cb_error_sys (err, errno, "create '%s'", tmp);
  if (cb_write_all (fd, data, len) < 0 || fchmod (fd, mode) < 0 || fsync (fd) < 0)
    {
      int saved = errno;
      close (fd);
      unlink (tmp);
      return cb_error_sys (err, saved, "write '%s'", path);
    }
  if (close (fd) < 0 || rename (tmp, path) < 0)
    {
      int saved = errno;
      unlink (tmp);
      return cb_error_sys (err, saved, "write '%s'", path);
    }
  return 0;
}

int
cb_read_file (const char *path, size_t max, char **out, size_t *len, cbuild_error *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  cleanup_free char *data = NULL;
  size_t used = 0, cap = 0;

  if (fd < 0)
    {
      if (errno == ENOENT)
        return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "'%s' not found", path);
      return cb_error_sys (err, errno, "open '%s'", path);
    }
  for (;;)
    {
      ssize_t n;
      if (used + 4096 + 1 > cap)
        {
          size_t ncap = cap ? cap * 2 : 8192;
          char *p = realloc (data, ncap);
          if (p == NULL)
            return cb_error_nomem (err);
          data = p;
          cap = ncap;
        }
      n = read (fd, data + used, cap - used - 1);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return cb_error_sys (err, errno, "read '%s'", path);
      if (n == 0)
        break;
      used += (size_t) n;
      if (used > max)
        return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' is larger than %zu bytes", path, max);
    }
  if (data == NULL && (data = malloc (1)) == NULL)
    return cb_error_nomem (err);
  data[used] = '\0';
  *out = cb_steal_pointer (&data);
  if (len)
    *len = used;
  return 0;
}

static int
remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  if (type == FTW_DP)
    return rmdir (path) < 0 && errno != ENOENT ? -1 : 0;
  return unlink (path) < 0 && errno != ENOENT ? -1 : 0;
}

int
cb_remove_tree (const char *path, cbuild_error *err)
{
  struct stat st;

  if (lstat (path, &st) < 0)
    return errno == ENOENT ? 0 : cb_error_sys (err, errno, "stat '%s'", path);
  if (!S_ISDIR (st.st_mode))
    return unlink (path) < 0 ? cb_error_sys (err, errno, "remove '%s'", path) : 0;
  /* FTW_PHYS: symlinks are removed, never followed out of the tree. */
  if (nftw (path, remove_entry, 64, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
    return cb_error_sys (err, errno, "remove '%s'", path);
  return 0;
}

char *
cb_path_join (const char *a, const char *b)
{
  char *out = NULL;
  size_t alen = strlen (a);

  while (*b == '/')
    b++;
  if (alen > 0 && a[alen - 1] == '/')
    alen--;
  if (asprintf (&out, "%.*s/%s", (int) alen, a, b) < 0)
    return NULL;
  return out;
}

char *
cb_make_temp_dir (const char *parent, const char *prefix, cbuild_error *err)
{
  char *path = NULL;

  if (asprintf (&path, "%s/%s-XXXXXX", parent, prefix) < 0)
    {
      cb_error_nomem (err);
      return NULL;
    }
  if (mkdtemp (path) == NULL)
    {
      cb_error_sys (err, errno, "create a directory in '%s'", parent);
      free (path);
      return NULL;
    }
  return path;
}
