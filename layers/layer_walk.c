#include "layers/layer_walk.h"

#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/strv.h"
#include "layers/archive_error.h"

#define COPY_CHUNK (64 * 1024)
#define PATH_BUF_MAX ((size_t) 1 << 20)
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define OPAQUE_XATTR "trusted.overlay.opaque"
#define WHITEOUT_PREFIX ".wh."
#define OPAQUE_MARKER ".wh..wh..opq"

/* The first path seen for an inode with several links. */
struct link_node
{
  dev_t dev;
  ino_t ino;
  char *path;
};

struct walk
{
  struct archive *ar;
  struct archive_entry *entry;
  struct cb_buf path; /* the current entry, relative; directories end with '/' */
  void *links;        /* tsearch tree of struct link_node */
  size_t n_entries;
  char *chunk;
  cbuild_error *err;
};

static int walk_dir (struct walk *w, int *dirfd);

static const char *
walk_display_path (const struct walk *w)
{
  return w->path.len ? w->path.data : ".";
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
compare_links (const void *a, const void *b)
{
  const struct link_node *x = a, *y = b;

  if (x->dev != y->dev)
    return x->dev < y->dev ? -1 : 1;
  if (x->ino != y->ino)
    return x->ino < y->ino ? -1 : 1;
  return 0;
}

static void
free_link (void *p)
{
  struct link_node *n = p;

  free (n->path);
  free (n);
}

static int
write_header (struct walk *w)
{
  /* ARCHIVE_WARN only reports a name that is not valid in the locale's
   * character set. The header is written with the raw bytes. */
  if (archive_write_header (w->ar, w->entry) < ARCHIVE_WARN)
    return cb_error_set (w->err, CBUILD_ERR_SYSTEM, "write tar header for '%s': %s",
                         archive_entry_pathname (w->entry), cb_archive_error (w->ar));
  w->n_entries++;
  return 0;
}

/* Sets the fields that every entry has. Times are whole seconds and
 * uname/gname stay empty, as in docker's layers, so the digest depends on
 * the tree only. */
static void
entry_init (struct walk *w, const char *path, mode_t mode, const struct stat *st)
{
  archive_entry_clear (w->entry);
  archive_entry_set_pathname (w->entry, path);
  archive_entry_set_mode (w->entry, mode);
  archive_entry_set_uid (w->entry, st->st_uid);
  archive_entry_set_gid (w->entry, st->st_gid);
  archive_entry_set_mtime (w->entry, st->st_mtim.tv_sec, 0);
}

/* Writes an empty regular file named marker in the directory of the
 * current path, for whiteouts and opaque markers. */
static int
write_marker (struct walk *w, const char *marker, mode_t perm, const struct stat *st)
{
  size_t base = w->path.len;
  int ret;

  if (cb_buf_append_str (&w->path, marker, w->err) < 0)
    return -1;
  entry_init (w, w->path.data, AE_IFREG | perm, st);
  archive_entry_set_size (w->entry, 0);
  ret = write_header (w);
  w->path.len = base;
  w->path.data[base] = '\0';
  return ret;
}

/* An overlay whiteout (a 0:0 character device) becomes the ".wh.NAME"
 * empty file of the OCI layer format, with mode 0600 as docker writes it. */
static int
write_whiteout (struct walk *w, const char *name, const struct stat *st)
{
  cleanup_free char *marker = NULL;

  if (asprintf (&marker, WHITEOUT_PREFIX "%s", name) < 0)
    return cb_error_nomem (w->err);
  return write_marker (w, marker, 0600, st);
}

/* Sets *first to the path stored for st's inode, or to NULL after
 * recording the current path as the inode's first one. */
static int
find_hardlink (struct walk *w, const struct stat *st, const char **first)
{
  struct link_node key = { st->st_dev, st->st_ino, NULL };
  struct link_node *node, **found = tfind (&key, &w->links, compare_links);

  *first = NULL;
  if (found)
    {
      *first = (*found)->path;
      return 0;
    }
  node = calloc (1, sizeof *node);
  if (node == NULL || (node->path = strdup (w->path.data)) == NULL)
    {
      free (node);
      return cb_error_nomem (w->err);
    }
  node->dev = st->st_dev;
  node->ino = st->st_ino;
  if (tsearch (node, &w->links, compare_links) == NULL)
    {
      free_link (node);
      return cb_error_nomem (w->err);
    }
  return 0;
}

static int
add_one_xattr (struct walk *w, const char *proc_path, const char *name)
{
  cleanup_free char *value = NULL;
  ssize_t n = lgetxattr (proc_path, name, NULL, 0);

  if (n >= 0)
    {
      value = malloc (n ? (size_t) n : 1);
      if (value == NULL)
        return cb_error_nomem (w->err);
      n = lgetxattr (proc_path, name, value, (size_t) n);
    }
  if (n < 0)
    return cb_error_sys (w->err, errno, "read xattr '%s' of '%s'", name, walk_display_path (w));
  archive_entry_xattr_add_entry (w->entry, name, value, (size_t) n);
  return 0;
}

/* Stores the xattr names of proc_path in *list (malloc'd, NUL-separated)
 * and its length in *len. *list stays NULL when there are none. */
static int
list_xattrs (struct walk *w, const char *proc_path, char **list, ssize_t *len)
{
  ssize_t n = llistxattr (proc_path, NULL, 0);

  *list = NULL;
  *len = 0;
  if (n < 0 && (errno == ENOTSUP || errno == EOPNOTSUPP))
    return 0;
  if (n > 0)
    {
      *list = malloc ((size_t) n);
      if (*list == NULL)
        return cb_error_nomem (w->err);
      n = llistxattr (proc_path, *list, (size_t) n);
    }
  if (n < 0)
    return cb_error_sys (w->err, errno, "list xattrs of '%s'", walk_display_path (w));
  *len = n;
  return 0;
}

/* Adds the xattrs of dirfd/name to the entry, sorted by name so that the
 * tar does not depend on the file system's order. trusted.overlay.* xattrs
 * are overlayfs's own bookkeeping and stay out of the layer, but *opaque
 * reports whether the directory is opaque. */
static int
add_xattrs (struct walk *w, int dirfd, const char *name, bool *opaque)
{
  char proc_path[64 + NAME_MAX];
  cleanup_free char *list = NULL;
  cleanup_free char **names = NULL;
  size_t count = 0;
  ssize_t len;

  *opaque = false;
  /* The /proc path reaches the entry through dirfd, so xattrs of symlinks
   * and devices can be read without a path that could be swapped. */
  snprintf (proc_path, sizeof proc_path, "/proc/self/fd/%d/%s", dirfd, name);
  if (list_xattrs (w, proc_path, &list, &len) < 0)
    return -1;
  if (len == 0)
    return 0;
  names = calloc ((size_t) len, sizeof *names);
  if (names == NULL)
    return cb_error_nomem (w->err);
  for (char *p = list; p < list + len; p += strlen (p) + 1)
    names[count++] = p;
  qsort (names, count, sizeof *names, compare_names);

  for (size_t i = 0; i < count; i++)
    {
      if (strncmp (names[i], OVERLAY_XATTR_PREFIX, strlen (OVERLAY_XATTR_PREFIX)) == 0)
        {
          char value[2];
          if (strcmp (names[i], OPAQUE_XATTR) == 0)
            *opaque = lgetxattr (proc_path, OPAQUE_XATTR, value, sizeof value) == 1
                      && value[0] == 'y';
          continue;
        }
      if (add_one_xattr (w, proc_path, names[i]) < 0)
        return -1;
    }
  return 0;
}

static int
write_file_data (struct walk *w, int fd, off_t size)
{
  off_t done = 0;

  while (done < size)
    {
      size_t want = size - done < COPY_CHUNK ? (size_t) (size - done) : COPY_CHUNK;
      ssize_t n = read (fd, w->chunk, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return cb_error_sys (w->err, errno, "read '%s'", w->path.data);
      if (n == 0)
        return cb_error_set (w->err, CBUILD_ERR_INVALID,
                             "'%s' shrank while the layer was written", w->path.data);
      if (archive_write_data (w->ar, w->chunk, (size_t) n) != n)
        return cb_error_set (w->err, CBUILD_ERR_SYSTEM, "write '%s' to the layer: %s",
                             w->path.data, cb_archive_error (w->ar));
      done += n;
    }
  return 0;
}

static int
write_regular (struct walk *w, int dirfd, const char *name, const struct stat *st)
{
  cleanup_close int fd = openat (dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

  if (fd < 0)
    return cb_error_sys (w->err, errno, "open '%s'", w->path.data);
  archive_entry_set_size (w->entry, st->st_size);
  if (write_header (w) < 0)
    return -1;
  return write_file_data (w, fd, st->st_size);
}

static int
write_symlink (struct walk *w, int dirfd, const char *name)
{
  char target[PATH_MAX];
  ssize_t n = readlinkat (dirfd, name, target, sizeof target - 1);

  if (n < 0)
    return cb_error_sys (w->err, errno, "read symlink '%s'", w->path.data);
  target[n] = '\0';
  archive_entry_set_symlink (w->entry, target);
  return write_header (w);
}

/* Writes the entry for dirfd/name, already in w->path. A later link to an
 * inode with several links becomes a hardlink entry to the first path. */
static int
write_node (struct walk *w, int dirfd, const char *name, const struct stat *st)
{
  const char *first = NULL;
  bool opaque = false;

  entry_init (w, w->path.data, st->st_mode, st);
  if (!S_ISDIR (st->st_mode) && st->st_nlink > 1 && find_hardlink (w, st, &first) < 0)
    return -1;
  if (first)
    {
      archive_entry_set_hardlink (w->entry, first);
      archive_entry_set_size (w->entry, 0);
      return write_header (w);
    }
  if (add_xattrs (w, dirfd, name, &opaque) < 0)
    return -1;

  if (S_ISREG (st->st_mode))
    return write_regular (w, dirfd, name, st);
  if (S_ISLNK (st->st_mode))
    return write_symlink (w, dirfd, name);
  if (S_ISCHR (st->st_mode) || S_ISBLK (st->st_mode))
    archive_entry_set_rdev (w->entry, st->st_rdev);
  if (write_header (w) < 0)
    return -1;
  /* The marker follows the directory entry, as in docker's layers, so
   * that an extractor has the directory before it marks it opaque. */
  if (S_ISDIR (st->st_mode) && opaque)
    return write_marker (w, OPAQUE_MARKER, st->st_mode & 0777, st);
  return 0;
}

/* Holding a descriptor per level would limit the depth of the tree to the
 * descriptor limit, so the parent is closed while a subdirectory is walked
 * and reopened through ".." afterwards, checking it is the same directory. */
static int
walk_subdir (struct walk *w, int *dirfd, const char *name)
{
  struct stat parent_st, st;
  int child, ret;

  if (fstat (*dirfd, &parent_st) < 0)
    return cb_error_sys (w->err, errno, "stat the parent of '%s'", w->path.data);
  child = openat (*dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (child < 0)
    return cb_error_sys (w->err, errno, "open directory '%s'", w->path.data);
  close (*dirfd);
  *dirfd = -1;

  ret = walk_dir (w, &child);
  if (child < 0)
    return ret;
  *dirfd = openat (child, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  close (child);
  if (ret < 0)
    return ret;
  if (*dirfd < 0 || fstat (*dirfd, &st) < 0 || st.st_dev != parent_st.st_dev
      || st.st_ino != parent_st.st_ino)
    return cb_error_set (w->err, CBUILD_ERR_INVALID,
                         "the parent of '%s' was moved while the layer was written", w->path.data);
  return 0;
}

static int
walk_entry (struct walk *w, int *dirfd, const char *name)
{
  size_t base = w->path.len;
  struct stat st;
  int ret;

  if (fstatat (*dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (w->err, errno, "stat '%s%s'", w->path.len ? w->path.data : "", name);
  /* Tar has no socket type; docker skips them too. */
  if (S_ISSOCK (st.st_mode))
    return 0;
  /* Checked before hardlinks: overlayfs may create all whiteouts as links
   * to one shared inode. */
  if (S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0))
    return write_whiteout (w, name, &st);

  if (cb_buf_append_str (&w->path, name, w->err) < 0
      || (S_ISDIR (st.st_mode) && cb_buf_append_char (&w->path, '/', w->err) < 0))
    return -1;
  ret = write_node (w, *dirfd, name, &st);
  if (ret == 0 && S_ISDIR (st.st_mode))
    ret = walk_subdir (w, dirfd, name);
  w->path.len = base;
  w->path.data[base] = '\0';
  return ret;
}

static int
read_sorted_names (struct walk *w, int dirfd, struct cb_strv *names)
{
  int fd = openat (dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct dirent *de;
  DIR *dir;
  int ret = 0;

  if (fd < 0 || (dir = fdopendir (fd)) == NULL)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      return cb_error_sys (w->err, saved, "open directory '%s'", walk_display_path (w));
    }
  for (errno = 0; (de = readdir (dir)) != NULL; errno = 0)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (cb_strv_push (names, de->d_name, w->err) < 0)
        {
          ret = -1;
          break;
        }
    }
  if (de == NULL && errno != 0)
    ret = cb_error_sys (w->err, errno, "read directory '%s'", walk_display_path (w));
  closedir (dir);
  if (ret < 0)
    return -1;
  if (names->len)
    qsort (names->items, names->len, sizeof *names->items, compare_names);
  return 0;
}

/* Children follow their directory, and names within a directory are in
 * byte order, as in docker's layers. */
static int
walk_dir (struct walk *w, int *dirfd)
{
  cleanup_strv struct cb_strv names = CB_STRV_INIT;

  if (read_sorted_names (w, *dirfd, &names) < 0)
    return -1;
  for (size_t i = 0; i < names.len; i++)
    if (walk_entry (w, dirfd, names.items[i]) < 0)
      return -1;
  return 0;
}

int
cb_layer_walk_tree (struct archive *ar, int rootfd, size_t *n_entries, cbuild_error *err)
{
  struct walk w = { .ar = ar, .err = err };
  int fd = fcntl (rootfd, F_DUPFD_CLOEXEC, 0);
  int ret = -1;

  cb_buf_init (&w.path, PATH_BUF_MAX);
  w.entry = archive_entry_new ();
  w.chunk = malloc (COPY_CHUNK);
  if (fd < 0)
    cb_error_sys (err, errno, "duplicate a directory descriptor");
  else if (w.entry == NULL || w.chunk == NULL || cb_buf_append_str (&w.path, "", err) < 0)
    cb_error_nomem (err);
  else
    ret = walk_dir (&w, &fd);

  *n_entries = w.n_entries;
  if (fd >= 0)
    close (fd);
  tdestroy (w.links, free_link);
  archive_entry_free (w.entry);
  free (w.chunk);
  cb_buf_release (&w.path);
  return ret;
}
