#include "builder/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy_rootfs.h"
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

int
cb_rootfs_mkdir_p (const char *rootfs, const char *path, mode_t mode, uid_t uid, gid_t gid,
                   cbuild_error *err)
{
  cleanup_close int root_fd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int dir_fd = -1;
  struct cb_inroot_owner owner = { uid, gid, mode };

  if (root_fd < 0)
    return cb_error_sys (err, errno, "open '%s'", rootfs);
  return cb_inroot_mkdir_p (root_fd, path, &owner, &dir_fd, err);
}
