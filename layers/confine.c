/* Path handling for extraction: every path a layer names is resolved
 * inside the destination directory. */
#include "layers/extract.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

#define OPENAT2_RETRIES 128

int
cb_extract_clean_path (const char *name, char **out, cbuild_error *err)
{
  cleanup_buf struct cb_buf path = CB_BUF_INIT;
  const char *p = name;

  if (name == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "tar entry without a name");
  if (cb_buf_append_str (&path, "", err) < 0)
    return -1;
  while (*p)
    {
      size_t len = strcspn (p, "/");
      /* ".." could climb out of the destination, so the entry is rejected
       * (as docker does) instead of guessing what it meant. */
      if (len == 2 && p[0] == '.' && p[1] == '.')
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid path '%s' in layer: '..' is not allowed",
                             name);
      if (len > 0 && !(len == 1 && p[0] == '.'))
        {
          if ((path.len > 0 && cb_buf_append_char (&path, '/', err) < 0)
              || cb_buf_append (&path, p, len, err) < 0)
            return -1;
        }
      p += len;
      if (*p == '/')
        p++;
    }
  /* The kernel resolves no path of PATH_MAX bytes or more, and an error
   * that quoted all of it would lose its reason to the message size limit. */
  if (path.len >= PATH_MAX)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid path '%.64s...' in layer: longer than %d bytes", name,
                         PATH_MAX);
  *out = cb_buf_detach (&path);
  return 0;
}

/* RESOLVE_IN_ROOT makes the kernel treat rootfd as "/" for the whole
 * lookup: absolute symlinks and ".." stop at the destination, so a layer's
 * "link -> /" followed by "link/etc/passwd" stays inside it. Magic links
 * (/proc/self/root and the like) could jump anywhere and are refused. */
static int
resolve_dir (int rootfd, const char *rel)
{
  struct open_how how = {
    .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd;

  /* EAGAIN reports a rename or mount anywhere on the machine during a
   * ".." lookup, such as other builds' overlay mounts. */
  for (int i = 0; i < OPENAT2_RETRIES; i++)
    {
      fd = syscall (SYS_openat2, rootfd, rel[0] ? rel : ".", &how, sizeof how);
      if (fd >= 0 || errno != EAGAIN)
        break;
    }
  return (int) fd;
}

static int
resolve_error (const char *rel, cbuild_error *err)
{
  if (errno == ENOSYS)
    return cb_error_set (err, CBUILD_ERR_SYSTEM,
                         "openat2 is not available: extracting layers safely needs Linux 5.6 or later");
  return cb_error_sys (err, errno, "open directory '%s'", rel[0] ? rel : ".");
}

/* Creates the missing directories of rel one by one. Each prefix is
 * resolved from the root again, so a symlink met on the way is followed
 * inside the destination only. */
static int
create_dirs (int rootfd, const char *rel, cbuild_error *err)
{
  cleanup_free char *prefix = strdup (rel);
  cleanup_close int parent = -1;
  char *component;

  if (prefix == NULL)
    return cb_error_nomem (err);
  parent = resolve_dir (rootfd, "");
  if (parent < 0)
    return resolve_error ("", err);
  for (component = prefix;;)
    {
      char *slash = strchr (component, '/');
      bool created = false;
      int fd;

      if (slash)
        *slash = '\0';
      fd = resolve_dir (rootfd, prefix);
      if (fd < 0 && errno == ENOENT)
        {
          if (mkdirat (parent, component, 0755) < 0 && errno != EEXIST)
            return cb_error_sys (err, errno, "create directory '%s'", prefix);
          created = true;
          fd = resolve_dir (rootfd, prefix);
        }
      if (fd < 0)
        return resolve_error (prefix, err);
      /* The mode must not depend on the umask: it ends up in images. */
      if (created)
        fchmod (fd, 0755);
      close (parent);
      parent = fd;
      if (slash == NULL)
        break;
      *slash = '/';
      component = slash + 1;
    }
  return cb_steal_fd (&parent);
}

int
cb_extract_open_dir (int rootfd, const char *rel, bool create, cbuild_error *err)
{
  int fd = resolve_dir (rootfd, rel);

  if (fd >= 0)
    return fd;
  if (errno == ENOENT && create && rel[0])
    return create_dirs (rootfd, rel, err);
  return resolve_error (rel, err);
}

static int
remove_children (int parentfd, const char *name, cbuild_error *err)
{
  int fd = openat (parentfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct dirent *de;
  DIR *dir;
  int ret = 0;

  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      return cb_error_sys (err, saved, "open directory '%s'", name);
    }
  for (errno = 0; ret == 0 && (de = readdir (dir)) != NULL; errno = 0)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      ret = cb_extract_remove (dirfd (dir), de->d_name, err);
    }
  if (ret == 0 && errno != 0)
    ret = cb_error_sys (err, errno, "read directory '%s'", name);
  closedir (dir);
  return ret;
}

int
cb_extract_remove (int dirfd, const char *name, cbuild_error *err)
{
  struct stat st;
  int flags = 0;

  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : cb_error_sys (err, errno, "stat '%s'", name);
  if (S_ISDIR (st.st_mode))
    {
      if (remove_children (dirfd, name, err) < 0)
        return -1;
      flags = AT_REMOVEDIR;
    }
  if (unlinkat (dirfd, name, flags) < 0 && errno != ENOENT)
    return cb_error_sys (err, errno, "remove '%s'", name);
  return 0;
}
