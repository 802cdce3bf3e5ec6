/* Writing one tar entry into the destination. Every entry is created by
 * name in a parent directory opened through cb_extract_open_dir, and the
 * last component is never followed, so no entry lands outside the
 * destination. */
#include "layers/extract.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "layers/archive_error.h"

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_META_PREFIX ".wh..wh."
#define OPAQUE_MARKER ".wh..wh..opq"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OPAQUE_XATTR "trusted.overlay.opaque"

/* The parent directory and last component of an entry's cleaned path. */
struct target
{
  const char *path; /* for messages */
  int dirfd;
  const char *base;
};

static void
entry_times (struct archive_entry *e, struct timespec times[2])
{
  times[1].tv_sec = archive_entry_mtime (e);
  times[1].tv_nsec = archive_entry_mtime_nsec (e);
  if (archive_entry_atime_is_set (e))
    {
      times[0].tv_sec = archive_entry_atime (e);
      times[0].tv_nsec = archive_entry_atime_nsec (e);
    }
  else
    times[0] = times[1];
}

static bool
xattr_ignorable (int errnum, bool is_link)
{
  /* A file system without the namespace, or user.* on a symlink, which
   * Linux does not allow, is not worth failing a whole layer for. */
  return errnum == ENOTSUP || errnum == EOPNOTSUPP || (is_link && errnum == EPERM);
}

/* Sets the entry's xattrs on path (through /proc when fd < 0). */
static int
set_xattrs (struct archive_entry *e, int fd, const char *proc_path, const struct target *t,
            cbuild_error *err)
{
  const char *name;
  const void *value;
  size_t size;
  bool is_link = archive_entry_filetype (e) == AE_IFLNK;

  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    {
      int r;
      /* trusted.overlay.* xattrs steer overlayfs (redirects, metacopy,
       * opaque directories). A layer could use them to expose other files,
       * so only the ".wh..wh..opq" marker may set one. */
      if (strncmp (name, OVERLAY_XATTR_PREFIX, strlen (OVERLAY_XATTR_PREFIX)) == 0)
        continue;
      r = fd >= 0 ? fsetxattr (fd, name, value, size, 0) : lsetxattr (proc_path, name, value, size, 0);
      if (r < 0 && !xattr_ignorable (errno, is_link))
        return cb_error_sys (err, errno, "set xattr '%s' on '%s'", name, t->path);
    }
  return 0;
}

/* Owner first, because chown clears the setuid bits and
 * security.capability; then the mode and the xattrs. */
static int
apply_metadata_fd (int fd, struct archive_entry *e, const struct target *t, cbuild_error *err)
{
  if (fchown (fd, archive_entry_uid (e), archive_entry_gid (e)) < 0)
    return cb_error_sys (err, errno, "change the owner of '%s'", t->path);
  if (fchmod (fd, archive_entry_perm (e) & 07777) < 0)
    return cb_error_sys (err, errno, "change the mode of '%s'", t->path);
  return set_xattrs (e, fd, NULL, t, err);
}

/* The same for entries that cannot be opened: symlinks and device nodes. */
static int
apply_metadata_at (struct archive_entry *e, const struct target *t, bool chmod_too, cbuild_error *err)
{
  char proc_path[64 + NAME_MAX];
  struct timespec times[2];

  if (fchownat (t->dirfd, t->base, archive_entry_uid (e), archive_entry_gid (e),
                AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "change the owner of '%s'", t->path);
  /* chmod_too is set only for nodes that mknodat has just created, so
   * following the name cannot reach a symlink. */
  if (chmod_too && fchmodat (t->dirfd, t->base, archive_entry_perm (e) & 07777, 0) < 0)
    return cb_error_sys (err, errno, "change the mode of '%s'", t->path);
  snprintf (proc_path, sizeof proc_path, "/proc/self/fd/%d/%s", t->dirfd, t->base);
  if (set_xattrs (e, -1, proc_path, t, err) < 0)
    return -1;
  entry_times (e, times);
  if (utimensat (t->dirfd, t->base, times, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "set the times of '%s'", t->path);
  return 0;
}

static int
write_all_at (int fd, const char *data, size_t len, off_t offset)
{
  while (len > 0)
    {
      ssize_t n = pwrite (fd, data, len, offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      data += n;
      len -= (size_t) n;
      offset += n;
    }
  return 0;
}

/* Copies the entry's data block by block; offsets leave holes of sparse
 * files unwritten. */
static int
copy_data (struct cb_extract *x, int fd, struct archive_entry *e, const struct target *t,
           cbuild_error *err)
{
  const void *buf;
  size_t size;
  la_int64_t offset;
  int r;

  while ((r = archive_read_data_block (x->tar, &buf, &size, &offset)) == ARCHIVE_OK
         || r == ARCHIVE_WARN)
    if (size > 0 && write_all_at (fd, buf, size, offset) < 0)
      return cb_error_sys (err, errno, "write '%s'", t->path);
  if (r != ARCHIVE_EOF)
    return cb_error_set (err, CBUILD_ERR_INVALID, "read '%s' from the layer: %s", t->path,
                         cb_archive_error (x->tar));
  if (archive_entry_size_is_set (e) && ftruncate (fd, archive_entry_size (e)) < 0)
    return cb_error_sys (err, errno, "write '%s'", t->path);
  return 0;
}

static int
extract_file (struct cb_extract *x, struct archive_entry *e, const struct target *t, cbuild_error *err)
{
  cleanup_close int fd = -1;
  struct timespec times[2];

  if (cb_extract_remove (t->dirfd, t->base, err) < 0)
    return -1;
  fd = openat (t->dirfd, t->base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return cb_error_sys (err, errno, "create '%s'", t->path);
  if (copy_data (x, fd, e, t, err) < 0 || apply_metadata_fd (fd, e, t, err) < 0)
    return -1;
  entry_times (e, times);
  if (futimens (fd, times) < 0)
    return cb_error_sys (err, errno, "set the times of '%s'", t->path);
  return 0;
}

/* A directory entry over an existing directory only updates its
 * metadata; over anything else it replaces it. */
static int
extract_dir (struct cb_extract *x, struct archive_entry *e, const struct target *t, cbuild_error *err)
{
  cleanup_close int fd = -1;
  struct timespec times[2];
  struct stat st;

  if (fstatat (t->dirfd, t->base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (st.st_mode)
      && cb_extract_remove (t->dirfd, t->base, err) < 0)
    return -1;
  if (mkdirat (t->dirfd, t->base, 0700) < 0 && errno != EEXIST)
    return cb_error_sys (err, errno, "create directory '%s'", t->path);
  fd = openat (t->dirfd, t->base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys (err, errno, "open directory '%s'", t->path);
  if (apply_metadata_fd (fd, e, t, err) < 0)
    return -1;
  entry_times (e, times);
  return cb_extract_defer_dir_times (x, t->path, times, err);
}

static int
extract_symlink (struct archive_entry *e, const struct target *t, cbuild_error *err)
{
  const char *target = archive_entry_symlink (e);

  if (target == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "symlink '%s' in layer has no target", t->path);
  if (cb_extract_remove (t->dirfd, t->base, err) < 0)
    return -1;
  /* The target is stored as it is: it is never followed here, and later
   * lookups resolve it inside the destination. */
  if (symlinkat (target, t->dirfd, t->base) < 0)
    return cb_error_sys (err, errno, "create symlink '%s'", t->path);
  return apply_metadata_at (e, t, false, err);
}

static int
extract_node (struct archive_entry *e, const struct target *t, cbuild_error *err)
{
  mode_t type = archive_entry_filetype (e);
  dev_t rdev = 0;

  if (type == AE_IFCHR || type == AE_IFBLK)
    rdev = makedev (archive_entry_rdevmajor (e), archive_entry_rdevminor (e));
  else if (type != AE_IFIFO)
    return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' in layer has an unsupported file type 0%o",
                         t->path, (unsigned) type);
  if (cb_extract_remove (t->dirfd, t->base, err) < 0)
    return -1;
  if (mknodat (t->dirfd, t->base, type | 0600, rdev) < 0)
    return cb_error_sys (err, errno, "create device node '%s'", t->path);
  return apply_metadata_at (e, t, true, err);
}

/* The link target is resolved like any entry path: "../../outside" is
 * rejected, and a target behind a symlink is looked up inside the
 * destination. linkat never follows the target's last component. */
static int
extract_hardlink (struct cb_extract *x, struct archive_entry *e, const struct target *t,
                  cbuild_error *err)
{
  cleanup_free char *target = NULL;
  cleanup_close int target_dirfd = -1;
  const char *slash, *target_base;

  if (cb_extract_clean_path (archive_entry_hardlink (e), &target, err) < 0)
    return cb_error_prefix (err, "hardlink '%s'", t->path);
  if (target[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "hardlink '%s' points to the root", t->path);
  if (strcmp (target, t->path) == 0)
    return 0;
  slash = strrchr (target, '/');
  target_base = slash ? slash + 1 : target;
  if (slash)
    target[slash - target] = '\0';
  target_dirfd = cb_extract_open_dir (x->rootfd, slash ? target : "", false, err);
  if (target_dirfd < 0)
    return cb_error_prefix (err, "hardlink '%s'", t->path);

  if (cb_extract_remove (t->dirfd, t->base, err) < 0)
    return -1;
  if (linkat (target_dirfd, target_base, t->dirfd, t->base, 0) < 0)
    return cb_error_sys (err, errno, "create hardlink '%s'", t->path);
  return 0;
}

/* ".wh.NAME" becomes the overlay form of a deleted file: a 0:0 character
 * device, in place of anything this layer had at NAME. */
static int
extract_whiteout (struct archive_entry *e, const struct target *t, cbuild_error *err)
{
  struct target hidden = *t;
  struct timespec times[2];

  hidden.base = t->base + strlen (WHITEOUT_PREFIX);
  /* ".wh.." would otherwise remove the parent directory. */
  if (hidden.base[0] == '\0' || strcmp (hidden.base, ".") == 0 || strcmp (hidden.base, "..") == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid whiteout '%s' in layer", t->path);
  if (cb_extract_remove (t->dirfd, hidden.base, err) < 0)
    return -1;
  if (mknodat (t->dirfd, hidden.base, S_IFCHR, makedev (0, 0)) < 0)
    return cb_error_sys (err, errno, "create whiteout for '%s'", t->path);
  if (fchownat (t->dirfd, hidden.base, archive_entry_uid (e), archive_entry_gid (e),
                AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "change the owner of '%s'", t->path);
  entry_times (e, times);
  if (utimensat (t->dirfd, hidden.base, times, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "set the times of '%s'", t->path);
  return 0;
}

static int
extract_opaque (const struct target *t, cbuild_error *err)
{
  if (fsetxattr (t->dirfd, OPAQUE_XATTR, "y", 1, 0) < 0)
    return cb_error_sys (err, errno, "mark '%s' opaque", t->path);
  return 0;
}

static int
extract_at (struct cb_extract *x, struct archive_entry *e, const struct target *t, cbuild_error *err)
{
  if (strcmp (t->base, OPAQUE_MARKER) == 0)
    return extract_opaque (t, err);
  /* Other ".wh..wh." names are aufs bookkeeping with no meaning here. */
  if (strncmp (t->base, WHITEOUT_META_PREFIX, strlen (WHITEOUT_META_PREFIX)) == 0)
    return 0;
  if (strncmp (t->base, WHITEOUT_PREFIX, strlen (WHITEOUT_PREFIX)) == 0)
    return extract_whiteout (e, t, err);
  if (archive_entry_hardlink (e) != NULL)
    return extract_hardlink (x, e, t, err);

  switch (archive_entry_filetype (e))
    {
    case AE_IFREG:
      return extract_file (x, e, t, err);
    case AE_IFDIR:
      return extract_dir (x, e, t, err);
    case AE_IFLNK:
      return extract_symlink (e, t, err);
    default:
      return extract_node (e, t, err);
    }
}

/* A "./" entry describes the destination itself: only its metadata applies. */
static int
extract_root (struct cb_extract *x, struct archive_entry *e, cbuild_error *err)
{
  struct target t = { ".", x->rootfd, "." };
  struct timespec times[2];

  if (archive_entry_filetype (e) != AE_IFDIR)
    return cb_error_set (err, CBUILD_ERR_INVALID, "the root entry of the layer is not a directory");
  if (apply_metadata_fd (x->rootfd, e, &t, err) < 0)
    return -1;
  entry_times (e, times);
  return cb_extract_defer_dir_times (x, "", times, err);
}

int
cb_extract_entry (struct cb_extract *x, struct archive_entry *e, cbuild_error *err)
{
  cleanup_free char *path = NULL;
  cleanup_close int dirfd = -1;
  struct target t;
  char *slash;

  if (cb_extract_clean_path (archive_entry_pathname (e), &path, err) < 0)
    return -1;
  if (path[0] == '\0')
    return extract_root (x, e, err);

  slash = strrchr (path, '/');
  if (slash)
    *slash = '\0';
  dirfd = cb_extract_open_dir (x->rootfd, slash ? path : "", true, err);
  if (slash)
    *slash = '/';
  if (dirfd < 0)
    return cb_error_prefix (err, "extract '%s'", path);
  t = (struct target) { path, dirfd, slash ? slash + 1 : path };
  return extract_at (x, e, &t, err);
}
