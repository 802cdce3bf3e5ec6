/* ADD of a local tar archive: extracted into the destination directory as
 * Docker does, keeping the owners, modes and times of the entries (owners
 * become the --chown user when given). Every entry is written relative to
 * the destination as if it were "/", like Docker's chrooted untar, so
 * neither a "../" name nor a symlink in the archive reaches outside it.
 * NOTE: --chmod does not apply to extracted entries; whether BuildKit
 * applies it there was not checked. */
#include "builder/copy_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

#define READ_BLOCK ((size_t) 64 << 10)

/* A directory whose times are set after extraction, because writing
 * entries into it changes its mtime. */
struct dir_times
{
  char *path;
  struct timespec times[2];
};

struct extraction
{
  struct archive *archive;
  const char *src_name;
  int dest_fd; /* the destination directory, the root for every entry */
  const char *dest_dir;
  const struct cb_copy_meta *meta;
  struct cb_inroot_owner parent_owner;
  struct dir_times *dirs;
  size_t n_dirs, cap_dirs;
};

static struct archive *
new_reader (void)
{
  struct archive *a = archive_read_new ();

  if (a == NULL)
    return NULL;
  archive_read_support_filter_gzip (a);
  archive_read_support_filter_bzip2 (a);
  archive_read_support_filter_xz (a);
  archive_read_support_filter_zstd (a);
  archive_read_support_format_tar (a);
  return a;
}

/* Cleans an entry name into a path relative to the destination. Returns -1
 * when ".." would leave it, which Docker rejects as a breakout. */
static int
entry_path (const char *name, struct cb_buf *out, cbuild_error *err)
{
  cleanup_free char *copy = strdup (name);
  char *saveptr = NULL;

  if (copy == NULL)
    return cb_error_nomem (err);
  cb_buf_reset (out);
  for (char *part = strtok_r (copy, "/", &saveptr); part; part = strtok_r (NULL, "/", &saveptr))
    {
      if (strcmp (part, ".") == 0)
        continue;
      if (strcmp (part, "..") == 0)
        {
          char *slash = out->len ? strrchr (out->data, '/') : NULL;
          if (out->len == 0)
            return -1;
          out->len = slash ? (size_t) (slash - out->data) : 0;
          out->data[out->len] = '\0';
          continue;
        }
      if ((out->len && cb_buf_append_char (out, '/', err) < 0) || cb_buf_append_str (out, part, err) < 0)
        return -1;
    }
  return cb_buf_append_str (out, "", err);
}

static uid_t
entry_uid (const struct extraction *x, struct archive_entry *e)
{
  return x->meta->chown_set ? x->meta->uid : (uid_t) archive_entry_uid (e);
}

static gid_t
entry_gid (const struct extraction *x, struct archive_entry *e)
{
  return x->meta->chown_set ? x->meta->gid : (gid_t) archive_entry_gid (e);
}

static void
entry_times (struct archive_entry *e, struct timespec times[2])
{
  times[1].tv_sec = archive_entry_mtime (e);
  times[1].tv_nsec = archive_entry_mtime_nsec (e);
  times[0] = times[1];
  if (archive_entry_atime_is_set (e))
    {
      times[0].tv_sec = archive_entry_atime (e);
      times[0].tv_nsec = archive_entry_atime_nsec (e);
    }
}

/* The xattrs that describe a file (user.* and file capabilities). */
static void
apply_xattrs (int fd, struct archive_entry *e)
{
  const char *name;
  const void *value;
  size_t size;

  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    if (strncmp (name, "user.", 5) == 0 || strcmp (name, "security.capability") == 0)
      fsetxattr (fd, name, value, size, 0);
}

static int
apply_fd_meta (const struct extraction *x, int fd, struct archive_entry *e, const char *path, cbuild_error *err)
{
  if (fchown (fd, entry_uid (x, e), entry_gid (x, e)) < 0 || fchmod (fd, archive_entry_perm (e)) < 0)
    return cb_error_sys (err, errno, "set the owner and mode of '%s'", path);
  apply_xattrs (fd, e);
  return 0;
}

static int
write_entry_data (struct extraction *x, int fd, const char *path, cbuild_error *err)
{
  cleanup_free char *buf = malloc (READ_BLOCK);

  if (buf == NULL)
    return cb_error_nomem (err);
  for (;;)
    {
      la_ssize_t n = archive_read_data (x->archive, buf, READ_BLOCK);
      if (n < 0)
        return cb_error_set (err, CBUILD_ERR_INVALID, "read '%s' from '%s': %s", path, x->src_name,
                             archive_error_string (x->archive));
      if (n == 0)
        return 0;
      for (la_ssize_t done = 0; done < n;)
        {
          ssize_t w = write (fd, buf + done, (size_t) (n - done));
          if (w < 0 && errno == EINTR)
            continue;
          if (w < 0)
            return cb_error_sys (err, errno, "write '%s'", path);
          done += w;
        }
    }
}

static int
extract_regular (struct extraction *x, struct archive_entry *e, int parent, const char *base, const char *path,
                 cbuild_error *err)
{
  struct timespec times[2];
  cleanup_close int fd = -1;

  if (cb_copy_clear_entry (parent, base, path, err) < 0)
    return -1;
  fd = openat (parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return cb_error_sys (err, errno, "create '%s'", path);
  if (write_entry_data (x, fd, path, err) < 0 || apply_fd_meta (x, fd, e, path, err) < 0)
    return -1;
  entry_times (e, times);
  if (futimens (fd, times) < 0)
    return cb_error_sys (err, errno, "set the timestamps of '%s'", path);
  return 0;
}

static int
remember_dir (struct extraction *x, const char *rel, struct archive_entry *e, cbuild_error *err)
{
  if (x->n_dirs == x->cap_dirs)
    {
      size_t cap = x->cap_dirs ? x->cap_dirs * 2 : 64;
      struct dir_times *grown = realloc (x->dirs, cap * sizeof *grown);
      if (grown == NULL)
        return cb_error_nomem (err);
      x->dirs = grown;
      x->cap_dirs = cap;
    }
  x->dirs[x->n_dirs].path = strdup (rel);
  if (x->dirs[x->n_dirs].path == NULL)
    return cb_error_nomem (err);
  entry_times (e, x->dirs[x->n_dirs++].times);
  return 0;
}

/* A directory entry: an existing directory is kept (its metadata updated),
 * anything else in its place is replaced, as in Docker's untar. */
static int
extract_dir (struct extraction *x, struct archive_entry *e, int parent, const char *base, const char *rel,
             const char *path, cbuild_error *err)
{
  cleanup_close int fd = -1;
  struct stat st;

  if (fstatat (parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR (st.st_mode)
      && unlinkat (parent, base, 0) < 0)
    return cb_error_sys (err, errno, "replace '%s'", path);
  if (mkdirat (parent, base, 0700) < 0 && errno != EEXIST)
    return cb_error_sys (err, errno, "create directory '%s'", path);
  fd = openat (parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys (err, errno, "open directory '%s'", path);
  if (apply_fd_meta (x, fd, e, path, err) < 0)
    return -1;
  return remember_dir (x, rel, e, err);
}

static int
extract_symlink (struct extraction *x, struct archive_entry *e, int parent, const char *base, const char *path,
                 cbuild_error *err)
{
  const char *target = archive_entry_symlink (e);
  struct timespec times[2];

  /* NOTE: unlike Docker, a relative target that climbs above the
   * destination is accepted: nothing here follows it, and in the image it
   * is an ordinary symlink. */
  if (target == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' in '%s': symlink without a target", path, x->src_name);
  if (cb_copy_clear_entry (parent, base, path, err) < 0)
    return -1;
  entry_times (e, times);
  if (symlinkat (target, parent, base) < 0)
    return cb_error_sys (err, errno, "create the symlink '%s'", path);
  if (fchownat (parent, base, entry_uid (x, e), entry_gid (x, e), AT_SYMLINK_NOFOLLOW) < 0
      || utimensat (parent, base, times, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "set the owner and timestamps of '%s'", path);
  return 0;
}

/* A hard link to an entry extracted before; the target is looked up inside
 * the destination like every other name. */
static int
extract_hardlink (struct extraction *x, const char *target_name, int parent, const char *base, const char *path,
                  cbuild_error *err)
{
  cleanup_buf struct cb_buf target = CB_BUF_INIT;
  cleanup_free char *target_base = NULL;
  cleanup_close int target_parent = -1;

  if (entry_path (target_name, &target, err) < 0 || target.len == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' in '%s': hard link target '%s' is outside the destination",
                         path, x->src_name, target_name);
  if (cb_inroot_open_parent (x->dest_fd, target.data, NULL, &target_parent, &target_base, err) < 0)
    return cb_error_prefix (err, "hard link '%s' in '%s'", path, x->src_name);
  if (cb_copy_clear_entry (parent, base, path, err) < 0)
    return -1;
  if (linkat (target_parent, target_base, parent, base, 0) < 0)
    return cb_error_sys (err, errno, "link '%s' to '%s'", path, target_name);
  return 0;
}

static int
extract_special (struct extraction *x, struct archive_entry *e, int parent, const char *base, const char *path,
                 cbuild_error *err)
{
  mode_t type = archive_entry_filetype (e);
  struct timespec times[2];

  if (type != AE_IFCHR && type != AE_IFBLK && type != AE_IFIFO)
    return 0; /* sockets and unknown types are skipped */
  if (cb_copy_clear_entry (parent, base, path, err) < 0)
    return -1;
  if (mknodat (parent, base, type | 0600, archive_entry_rdev (e)) < 0)
    return cb_error_sys (err, errno, "create '%s'", path);
  entry_times (e, times);
  if (fchownat (parent, base, entry_uid (x, e), entry_gid (x, e), AT_SYMLINK_NOFOLLOW) < 0
      || fchmodat (parent, base, archive_entry_perm (e), 0) < 0
      || utimensat (parent, base, times, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "set the owner, mode and timestamps of '%s'", path);
  return 0;
}

static int
extract_entry (struct extraction *x, struct archive_entry *e, cbuild_error *err)
{
  cleanup_buf struct cb_buf rel = CB_BUF_INIT;
  cleanup_free char *path = NULL;
  cleanup_free char *base = NULL;
  cleanup_close int parent = -1;
  const char *name = archive_entry_pathname (e);

  if (name == NULL || entry_path (name, &rel, err) < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "'%s': entry '%s' is outside the destination", x->src_name,
                         name ? name : "");
  if (rel.len == 0)
    return 0; /* "./": the destination itself */
  if (asprintf (&path, "%s%s%s", x->dest_dir, strcmp (x->dest_dir, "/") ? "/" : "", rel.data) < 0)
    return cb_error_nomem (err);
  if (cb_inroot_open_parent (x->dest_fd, rel.data, &x->parent_owner, &parent, &base, err) < 0)
    return -1;
  if (archive_entry_hardlink (e))
    return extract_hardlink (x, archive_entry_hardlink (e), parent, base, path, err);
  switch (archive_entry_filetype (e))
    {
    case AE_IFDIR:
      return extract_dir (x, e, parent, base, rel.data, path, err);
    case AE_IFREG:
      return extract_regular (x, e, parent, base, path, err);
    case AE_IFLNK:
      return extract_symlink (x, e, parent, base, path, err);
    default:
      return extract_special (x, e, parent, base, path, err);
    }
}

static int
restore_dir_times (struct extraction *x, cbuild_error *err)
{
  int ret = 0;

  /* Every entry is in place now, so nothing changes these times again. */
  for (size_t i = 0; i < x->n_dirs; i++)
    {
      cleanup_close int fd = cb_inroot_open (x->dest_fd, x->dirs[i].path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (fd >= 0 && futimens (fd, x->dirs[i].times) < 0 && ret == 0)
        ret = cb_error_sys (err, errno, "set the timestamps of '%s' in '%s'", x->dirs[i].path, x->dest_dir);
    }
  return ret;
}

static int
extract_all (struct extraction *x, struct archive_entry *first, cbuild_error *err)
{
  struct archive_entry *e = first;

  for (;;)
    {
      int r;
      if (extract_entry (x, e, err) < 0)
        return -1;
      r = archive_read_next_header (x->archive, &e);
      if (r == ARCHIVE_EOF)
        return restore_dir_times (x, err);
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return cb_error_set (err, CBUILD_ERR_INVALID, "read '%s': %s", x->src_name,
                             archive_error_string (x->archive));
    }
}

int
cb_copy_extract_archive (int src_fd, const char *src_name, int root_fd, const char *dest_dir,
                         const struct cb_copy_meta *meta, cbuild_error *err)
{
  struct extraction x = { .src_name = src_name, .dest_dir = dest_dir, .meta = meta, .dest_fd = -1 };
  struct archive_entry *first = NULL;
  int r, ret;

  x.archive = new_reader ();
  if (x.archive == NULL)
    return cb_error_nomem (err);
  /* libarchive detects the compression and the format when it opens the
   * file, and reads the first header here. */
  r = archive_read_open_fd (x.archive, src_fd, READ_BLOCK);
  if (r == ARCHIVE_OK)
    r = archive_read_next_header (x.archive, &first);
  if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
    {
      /* Not a tar archive (or an empty one): ADD copies the file as it is. */
      archive_read_free (x.archive);
      if (lseek (src_fd, 0, SEEK_SET) < 0)
        return cb_error_sys (err, errno, "rewind '%s'", src_name);
      return 0;
    }
  x.parent_owner = cb_copy_parent_owner (meta);
  ret = cb_inroot_mkdir_p (root_fd, dest_dir, &x.parent_owner, &x.dest_fd, err);
  if (ret == 0)
    ret = extract_all (&x, first, err);
  if (ret < 0)
    cb_error_prefix (err, "extract '%s' to '%s'", src_name, dest_dir);
  archive_read_free (x.archive);
  for (size_t i = 0; i < x.n_dirs; i++)
    free (x.dirs[i].path);
  free (x.dirs);
  if (x.dest_fd >= 0)
    close (x.dest_fd);
  return ret < 0 ? -1 : 1;
}
