#include "builder/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

char *
cb_path_clean_abs (const char *base, const char *path)
{
  cleanup_free char *joined = NULL;
  char *out, *saveptr = NULL;
  size_t len = 0;

  if (path[0] == '/')
    joined = strdup (path);
  else if (asprintf (&joined, "%s/%s", base ? base : "/", path) < 0)
    joined = NULL;
  if (joined == NULL)
    return NULL;
  out = malloc (strlen (joined) + 2);
  if (out == NULL)
    return NULL;
  out[0] = '\0';
  for (char *part = strtok_r (joined, "/", &saveptr); part; part = strtok_r (NULL, "/", &saveptr))
    {
      if (strcmp (part, ".") == 0)
        continue;
      if (strcmp (part, "..") == 0)
        {
          char *slash = strrchr (out, '/');
          len = slash ? (size_t) (slash - out) : 0;
          out[len] = '\0';
          continue;
        }
      out[len++] = '/';
      strcpy (out + len, part);
      len += strlen (part);
    }
  if (len == 0)
    strcpy (out, "/");
  return out;
}

/* Opens dir below the root fd; RESOLVE_IN_ROOT makes absolute symlinks and
 * ".." stop at rootfs, so an image cannot point a write outside it. */
static int
open_in_root (int root_fd, const char *path, int flags)
{
  struct open_how how = { 0 };

  how.flags = (uint64_t) (flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return (int) syscall (SYS_openat2, root_fd, path, &how, sizeof how);
}

int
cb_rootfs_mkdir_p (const char *rootfs, const char *path, mode_t mode, uid_t uid, gid_t gid,
                   cbuild_error *err)
{
  cleanup_close int root_fd = open (rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *clean = cb_path_clean_abs ("/", path);
  char *p;

  if (root_fd < 0)
    return cb_error_sys (err, errno, "open '%s'", rootfs);
  if (clean == NULL)
    return cb_error_nomem (err);
  for (p = clean + 1;; p++)
    {
      char saved = *p;
      int fd;

      if (saved != '/' && saved != '\0')
        continue;
      *p = '\0';
      fd = open_in_root (root_fd, clean, O_RDONLY | O_DIRECTORY);
      if (fd < 0 && errno == ENOENT)
        {
          cleanup_free char *parent_path = strdup (clean);
          char *slash = parent_path ? strrchr (parent_path, '/') : NULL;
          cleanup_close int parent = -1;

          if (slash == NULL)
            return cb_error_nomem (err);
          *slash = '\0';
          parent = open_in_root (root_fd, parent_path[0] ? parent_path : "/", O_RDONLY | O_DIRECTORY);
          if (parent < 0)
            return cb_error_sys (err, errno, "open '%s' in the image", parent_path[0] ? parent_path : "/");
          if (mkdirat (parent, slash + 1, mode) < 0 && errno != EEXIST)
            return cb_error_sys (err, errno, "create directory '%s' in the image", clean);
          if (fchownat (parent, slash + 1, uid, gid, AT_SYMLINK_NOFOLLOW) < 0
              || fchmodat (parent, slash + 1, mode, 0) < 0)
            return cb_error_sys (err, errno, "set owner of '%s' in the image", clean);
          fd = open_in_root (root_fd, clean, O_RDONLY | O_DIRECTORY);
        }
      if (fd < 0)
        return cb_error_sys (err, errno, "open directory '%s' in the image", clean);
      close (fd);
      *p = saved;
      if (saved == '\0')
        break;
    }
  return 0;
}
