/* Writing files, links and directory trees from the context into the rootfs.
 * Contents are streamed in chunks; modes and timestamps come from the
 * source, owners are root or the --chown user. */
#include "builder/copy_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

#define COPY_CHUNK ((size_t) 128 << 10)
#define PATH_BUF_MAX ((size_t) 64 << 10)

static uid_t
owner_uid (const struct cb_copy_meta *meta)
{
  return meta->chown_set ? meta->uid : 0;
}

static gid_t
owner_gid (const struct cb_copy_meta *meta)
{
  return meta->chown_set ? meta->gid : 0;
}

static mode_t
entry_mode (const struct stat *st, const struct cb_copy_meta *meta)
{
  return meta->chmod_set ? meta->mode : st->st_mode & 07777;
}

static int
copy_with_buffer (int src, int dst, const char *dest_path, cbuild_error *err)
{
  cleanup_free char *buf = malloc (COPY_CHUNK);

  if (buf == NULL)
    return cb_error_nomem (err);
  for (;;)
    {
      ssize_t n = read (src, buf, COPY_CHUNK);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return cb_error_sys (err, errno, "read the source of '%s'", dest_path);
      if (n == 0)
        return 0;
      if (cb_write_all (dst, buf, (size_t) n) < 0)
        return cb_error_sys (err, errno, "write '%s'", dest_path);
    }
}

/* Streams src to dst: copy_file_range in the kernel where both file
 * systems allow it, a bounded buffer otherwise. */
static int
copy_data (int src, int dst, const char *dest_path, cbuild_error *err)
{
  for (;;)
    {
      ssize_t n = copy_file_range (src, NULL, dst, NULL, 8 * COPY_CHUNK, 0);
      if (n > 0)
        continue;
      if (n == 0)
        return 0;
      if (errno == EINTR)
        continue;
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF)
        return copy_with_buffer (src, dst, dest_path, err);
      return cb_error_sys (err, errno, "write '%s'", dest_path);
    }
}

/* Copies the xattrs that describe the file itself: user.* and file
 * capabilities. Others (security.selinux, trusted.*) belong to the host. */
static void
copy_xattrs (int src, int dst)
{
  char names[4096], value[4096];
  ssize_t len = flistxattr (src, names, sizeof names);

  for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t) strlen (names + off) + 1)
    {
      const char *name = names + off;
      ssize_t n;

      if (strncmp (name, "user.", 5) != 0 && strcmp (name, "security.capability") != 0)
        continue;
      n = fgetxattr (src, name, value, sizeof value);
      if (n >= 0)
        fsetxattr (dst, name, value, (size_t) n, 0);
    }
}

/* Sets owner, then mode (a chown clears set-id bits), then times. */
static int
apply_meta (int fd, const struct stat *st, const struct cb_copy_meta *meta, const char *dest_path,
            cbuild_error *err)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };

  if (fchown (fd, owner_uid (meta), owner_gid (meta)) < 0)
    return cb_error_sys (err, errno, "set the owner of '%s'", dest_path);
  if (fchmod (fd, entry_mode (st, meta)) < 0)
    return cb_error_sys (err, errno, "set the mode of '%s'", dest_path);
  if (futimens (fd, times) < 0)
    return cb_error_sys (err, errno, "set the timestamps of '%s'", dest_path);
  return 0;
}

int
cb_copy_clear_entry (int dest_dir_fd, const char *dest_name, const char *dest_path, cbuild_error *err)
{
  struct stat st;

  if (fstatat (dest_dir_fd, dest_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : cb_error_sys (err, errno, "stat '%s'", dest_path);
  if (S_ISDIR (st.st_mode))
    return cb_error_set (err, CBUILD_ERR_INVALID, "cannot replace directory '%s' with a non-directory", dest_path);
  if (unlinkat (dest_dir_fd, dest_name, 0) < 0)
    return cb_error_sys (err, errno, "replace '%s'", dest_path);
  return 0;
}

int
cb_copy_regular (int src_fd, const struct stat *st, int dest_dir_fd, const char *dest_name, const char *dest_path,
                 const struct cb_copy_meta *meta, cbuild_error *err)
{
  cleanup_close int dst = -1;

  if (cb_copy_clear_entry (dest_dir_fd, dest_name, dest_path, err) < 0)
    return -1;
  /* O_EXCL and O_NOFOLLOW: the new file is created here, never reached
   * through a symlink that the image put in its place. */
  dst = openat (dest_dir_fd, dest_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dst < 0)
    return cb_error_sys (err, errno, "create '%s'", dest_path);
  if (copy_data (src_fd, dst, dest_path, err) < 0 || apply_meta (dst, st, meta, dest_path, err) < 0)
    return -1;
  copy_xattrs (src_fd, dst);
  return 0;
}

static int
copy_symlink (int src_dir_fd, const char *name, const struct stat *st, int dest_dir_fd, const char *dest_path,
              const struct cb_copy_meta *meta, cbuild_error *err)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };
  char target[PATH_MAX];
  ssize_t n = readlinkat (src_dir_fd, name, target, sizeof target - 1);

  if (n < 0)
    return cb_error_sys (err, errno, "read the symlink copied to '%s'", dest_path);
  target[n] = '\0';
  if (cb_copy_clear_entry (dest_dir_fd, name, dest_path, err) < 0)
    return -1;
  if (symlinkat (target, dest_dir_fd, name) < 0)
    return cb_error_sys (err, errno, "create the symlink '%s'", dest_path);
  if (fchownat (dest_dir_fd, name, owner_uid (meta), owner_gid (meta), AT_SYMLINK_NOFOLLOW) < 0
      || utimensat (dest_dir_fd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "set the owner and timestamps of '%s'", dest_path);
  return 0;
}

/* Device nodes and FIFOs, which BuildKit copies as they are. */
static int
copy_special (const char *name, const struct stat *st, int dest_dir_fd, const char *dest_path,
              const struct cb_copy_meta *meta, cbuild_error *err)
{
  struct timespec times[2] = { st->st_atim, st->st_mtim };

  if (cb_copy_clear_entry (dest_dir_fd, name, dest_path, err) < 0)
    return -1;
  if (mknodat (dest_dir_fd, name, (st->st_mode & S_IFMT) | 0600, st->st_rdev) < 0)
    return cb_error_sys (err, errno, "create '%s'", dest_path);
  if (fchownat (dest_dir_fd, name, owner_uid (meta), owner_gid (meta), AT_SYMLINK_NOFOLLOW) < 0
      || fchmodat (dest_dir_fd, name, entry_mode (st, meta), 0) < 0
      || utimensat (dest_dir_fd, name, times, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "set the owner, mode and timestamps of '%s'", dest_path);
  return 0;
}

struct walk_state
{
  const struct cb_copy_walk *walk;
  struct cb_buf src_rel;   /* the entry's path in the context */
  struct cb_buf dest_path; /* the entry's path in the image */
  size_t source_len;       /* the length of the source directory's path in src_rel */
};

/* The entry's path relative to the source directory, which --exclude
 * patterns are matched against. */
static const char *
path_in_source (const struct walk_state *w)
{
  const char *p = w->src_rel.data + w->source_len;

  return *p == '/' ? p + 1 : p;
}

static int copy_contents (struct walk_state *w, int src_dir_fd, int dest_dir_fd, cbuild_error *err);

/* Opens the directory name in dest_dir_fd for a source directory, making it
 * when missing. A symlink there is followed inside the rootfs, so that a
 * tree can be copied onto /lib -> usr/lib as classic docker build allows
 * (BuildKit fails there with "cannot copy to non-directory"). */
static int
open_dest_dir (struct walk_state *w, int dest_dir_fd, const char *name, bool *created, bool *via_link,
               cbuild_error *err)
{
  const char *path = w->dest_path.data;
  struct stat st;
  int fd;

  *created = *via_link = false;
  if (fstatat (dest_dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      if (errno != ENOENT || mkdirat (dest_dir_fd, name, 0700) < 0)
        return cb_error_sys (err, errno, "create directory '%s'", path);
      *created = true;
    }
  else if (S_ISLNK (st.st_mode))
    {
      *via_link = true;
      fd = cb_inroot_open (w->walk->root_fd, path, O_RDONLY | O_DIRECTORY);
      if (fd < 0)
        return cb_error_sys (err, errno, "copy a directory to '%s', a symlink", path);
      return fd;
    }
  else if (!S_ISDIR (st.st_mode))
    return cb_error_set (err, CBUILD_ERR_INVALID, "cannot replace non-directory '%s' with a directory", path);
  fd = openat (dest_dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys (err, errno, "open directory '%s'", path);
  return fd;
}

static int
copy_subdir (struct walk_state *w, int src_dir_fd, const char *name, const struct stat *st, int dest_dir_fd,
             bool excluded, cbuild_error *err)
{
  cleanup_close int src = openat (src_dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  cleanup_close int dst = -1;
  bool created, via_link;

  if (src < 0)
    return cb_error_sys (err, errno, "open '%s' in the build context", w->src_rel.data);
  dst = open_dest_dir (w, dest_dir_fd, name, &created, &via_link, err);
  if (dst < 0 || copy_contents (w, src, dst, err) < 0)
    return -1;
  /* An excluded directory was entered only for what an exception pattern
   * re-includes; without such an entry it is not part of the context. */
  if (created && excluded && unlinkat (dest_dir_fd, name, AT_REMOVEDIR) == 0)
    return 0;
  /* Like BuildKit, an existing directory takes the source's metadata too,
   * but a directory reached through a symlink is not this entry's. */
  return via_link ? 0 : apply_meta (dst, st, w->walk->meta, w->dest_path.data, err);
}

static int
copy_entry (struct walk_state *w, int src_dir_fd, const char *name, int dest_dir_fd, cbuild_error *err)
{
  const char *path = w->dest_path.data;
  cleanup_close int src = -1;
  struct stat st;
  bool excluded;

  if (fstatat (src_dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "stat '%s' in the build context", w->src_rel.data);
  if (cb_copy_ignored (w->walk->ig, w->src_rel.data, S_ISDIR (st.st_mode))
      || cb_copy_ignored (w->walk->exclude, path_in_source (w), S_ISDIR (st.st_mode)))
    return 0;
  excluded = (w->walk->ig && cb_ignore_excluded (w->walk->ig, w->src_rel.data))
             || (w->walk->exclude && cb_ignore_excluded (w->walk->exclude, path_in_source (w)));
  switch (st.st_mode & S_IFMT)
    {
    case S_IFDIR:
      return copy_subdir (w, src_dir_fd, name, &st, dest_dir_fd, excluded, err);
    case S_IFREG:
      src = openat (src_dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (src < 0)
        return cb_error_sys (err, errno, "open '%s' in the build context", w->src_rel.data);
      return cb_copy_regular (src, &st, dest_dir_fd, name, path, w->walk->meta, err);
    case S_IFLNK:
      return copy_symlink (src_dir_fd, name, &st, dest_dir_fd, path, w->walk->meta, err);
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
      return copy_special (name, &st, dest_dir_fd, path, w->walk->meta, err);
    default:
      return 0; /* sockets are not copied */
    }
}

/* Appends "/name" to b (no '/' after an empty path or "/"), returning the
 * old length so that the caller can cut it back. */
static int
push_name (struct cb_buf *b, const char *name, size_t *old_len, cbuild_error *err)
{
  *old_len = b->len;
  if (b->len > 0 && b->data[b->len - 1] != '/' && cb_buf_append_char (b, '/', err) < 0)
    return -1;
  return cb_buf_append_str (b, name, err);
}

static void
cut (struct cb_buf *b, size_t len)
{
  b->len = len;
  if (b->data)
    b->data[len] = '\0';
}

static int
copy_contents (struct walk_state *w, int src_dir_fd, int dest_dir_fd, cbuild_error *err)
{
  cleanup_strv struct cb_strv names = CB_STRV_INIT;

  if (cb_copy_read_dir (src_dir_fd, w->src_rel.len ? w->src_rel.data : ".", &names, err) < 0)
    return -1;
  for (size_t i = 0; i < names.len; i++)
    {
      size_t src_len, dest_len;
      int ret;

      if (push_name (&w->src_rel, names.items[i], &src_len, err) < 0
          || push_name (&w->dest_path, names.items[i], &dest_len, err) < 0)
        return -1;
      ret = copy_entry (w, src_dir_fd, names.items[i], dest_dir_fd, err);
      cut (&w->src_rel, src_len);
      cut (&w->dest_path, dest_len);
      if (ret < 0)
        return -1;
    }
  return 0;
}

int
cb_copy_dir_contents (const struct cb_copy_walk *walk, int src_dir_fd, const char *src_rel, int dest_dir_fd,
                      const char *dest_path, cbuild_error *err)
{
  struct walk_state w = { walk, CB_BUF_INIT, CB_BUF_INIT, strlen (src_rel) };
  int ret;

  cb_buf_init (&w.src_rel, PATH_BUF_MAX);
  cb_buf_init (&w.dest_path, PATH_BUF_MAX);
  ret = cb_buf_append_str (&w.src_rel, src_rel, err) < 0 || cb_buf_append_str (&w.dest_path, dest_path, err) < 0
            ? -1
            : copy_contents (&w, src_dir_fd, dest_dir_fd, err);
  cb_buf_release (&w.src_rel);
  cb_buf_release (&w.dest_path);
  return ret;
}
