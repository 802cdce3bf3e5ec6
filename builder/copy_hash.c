/* The content digest of exactly what a COPY or ADD would read from the
 * build context, for its cache key: computed before anything is copied. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy_hash.h"
#include "builder/copy_internal.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

struct hash_walk
{
  const struct cb_ignore *ig;
  const struct cb_ignore *exclude; /* COPY --exclude, relative to the source directory */
  struct cb_file_digests *rec;
  struct cb_sha256 *h;
  struct cb_buf rel; /* context path of the entry being hashed */
  size_t source_len; /* the length of the source directory's path in rel */
};

/* The entry's path relative to the source directory, as the copy matches
 * --exclude patterns against it. */
static const char *
path_in_source (const struct hash_walk *w)
{
  const char *p = cb_buf_str (&w->rel) + w->source_len;

  return *p == '/' ? p + 1 : p;
}

/* Each field is length-prefixed, so that no two different entry lists
 * feed the same bytes to the hash. */
static void
feed (struct cb_sha256 *h, const char *s)
{
  size_t len = strlen (s);

  cb_sha256_update (h, &len, sizeof len);
  cb_sha256_update (h, s, len);
}

static void
feed_number (struct cb_sha256 *h, long long n)
{
  char buf[32];

  snprintf (buf, sizeof buf, "%lld", n);
  feed (h, buf);
}

/* Reads the file that the record has no digest for. The file is stat'ed
 * again through the open descriptor, because it may have been replaced
 * since the directory walk stat'ed it, and the record must describe the
 * file that was read. */
static int
hash_file (int dir_fd, const char *name, const char *shown, struct cb_file_digests *rec, char digest[CB_DIGEST_SIZE],
           cbuild_error *err)
{
  cleanup_close int fd = openat (dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  struct stat st;

  if (fd < 0 || fstat (fd, &st) < 0)
    return cb_error_sys (err, errno, "open '%s' in the build context", shown);
  if (!S_ISREG (st.st_mode))
    return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' in the build context changed while it was read", shown);
  return cb_file_digests_get (rec, fd, &st, shown, digest, err);
}

/* Only the mode bits and type matter: COPY sets the owner to root or the
 * --chown user (which is in the key already), and mtimes are ignored. */
static int
hash_entry (struct hash_walk *w, int dir_fd, const char *name, const char *shown, const struct stat *st,
            cbuild_error *err)
{
  char digest[CB_DIGEST_SIZE];

  feed (w->h, shown);
  feed_number (w->h, (long long) (st->st_mode & (S_IFMT | 07777)));
  if (S_ISLNK (st->st_mode))
    {
      char target[PATH_MAX];
      ssize_t n = readlinkat (dir_fd, name, target, sizeof target - 1);
      if (n < 0)
        return cb_error_sys (err, errno, "read link '%s' in the build context", shown);
      target[n] = '\0';
      feed (w->h, target);
    }
  else if (S_ISREG (st->st_mode))
    {
      if (!cb_file_digests_lookup (w->rec, st, digest) && hash_file (dir_fd, name, shown, w->rec, digest, err) < 0)
        return -1;
      feed (w->h, digest);
    }
  return 0;
}

static int hash_dir (struct hash_walk *w, int dir_fd, cbuild_error *err);

static int
hash_child (struct hash_walk *w, int dir_fd, const char *name, cbuild_error *err)
{
  size_t old_len = w->rel.len;
  struct stat st;
  int ret = 0;

  if (fstatat (dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return cb_error_sys (err, errno, "stat '%s/%s' in the build context", cb_buf_str (&w->rel), name);
  if (S_ISSOCK (st.st_mode))
    return 0;
  if ((w->rel.len > 0 && cb_buf_append_char (&w->rel, '/', err) < 0) || cb_buf_append_str (&w->rel, name, err) < 0)
    return -1;
  if (!cb_copy_ignored (w->ig, cb_buf_str (&w->rel), S_ISDIR (st.st_mode))
      && !cb_copy_ignored (w->exclude, path_in_source (w), S_ISDIR (st.st_mode)))
    {
      ret = hash_entry (w, dir_fd, name, cb_buf_str (&w->rel), &st, err);
      if (ret == 0 && S_ISDIR (st.st_mode))
        {
          cleanup_close int sub = openat (dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          ret = sub < 0 ? cb_error_sys (err, errno, "open '%s' in the build context", cb_buf_str (&w->rel))
                        : hash_dir (w, sub, err);
        }
    }
  w->rel.len = old_len;
  w->rel.data[old_len] = '\0';
  return ret;
}

static int
hash_dir (struct hash_walk *w, int dir_fd, cbuild_error *err)
{
  cleanup_strv struct cb_strv names = CB_STRV_INIT;

  if (cb_copy_read_dir (dir_fd, cb_buf_str (&w->rel), &names, err) < 0)
    return -1;
  for (size_t i = 0; i < names.len; i++)
    if (hash_child (w, dir_fd, names.items[i], err) < 0)
      return -1;
  return 0;
}

static int
hash_source (struct hash_walk *w, int context_fd, const char *context_real, const char *rel, cbuild_error *err)
{
  cleanup_close int fd = cb_inroot_open (context_fd, rel, O_PATH);
  cleanup_free char *resolved = NULL;
  struct stat st;

  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "'%s' not found in the build context", rel);
  if (fd < 0 || fstat (fd, &st) < 0)
    return cb_error_sys (err, errno, "open '%s' in the build context", rel);
  resolved = cb_copy_resolved_path (context_real, fd, rel, err);
  if (resolved == NULL)
    return -1;
  if (cb_copy_ignored (w->ig, rel, S_ISDIR (st.st_mode)) || cb_copy_ignored (w->ig, resolved, S_ISDIR (st.st_mode)))
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "'%s' is excluded from the build context by .dockerignore", rel);
  feed (w->h, "source");
  feed (w->h, rel);
  if (!S_ISDIR (st.st_mode))
    {
      cleanup_close int dir = -1;
      char *slash = strrchr (resolved, '/');
      const char *name = slash ? slash + 1 : resolved;
      if (slash)
        *slash = '\0';
      dir = cb_inroot_open (context_fd, slash ? resolved : ".", O_RDONLY | O_DIRECTORY);
      if (dir < 0)
        return cb_error_sys (err, errno, "open the directory of '%s' in the build context", rel);
      return hash_entry (w, dir, name, rel, &st, err);
    }
  {
    cleanup_close int dir = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
      return cb_error_sys (err, errno, "open '%s' in the build context", rel);
    cb_buf_reset (&w->rel);
    if (cb_buf_append_str (&w->rel, resolved, err) < 0)
      return -1;
    w->source_len = w->rel.len;
    return hash_dir (w, dir, err);
  }
}

int
cb_copy_hash_sources (const char *context_dir, const struct cb_ignore *ig, const struct cb_ignore *exclude,
                      const char *const *sources, size_t n_sources, struct cb_file_digests *rec, struct cb_sha256 *h,
                      cbuild_error *err)
{
  cleanup_close int context_fd = open (context_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *context_real = realpath (context_dir, NULL);
  struct hash_walk w = { ig, exclude, rec, h, CB_BUF_INIT, 0 };
  int ret = 0;

  if (context_fd < 0 || context_real == NULL)
    return cb_error_sys (err, errno, "open the build context '%s'", context_dir);
  for (size_t i = 0; ret == 0 && i < n_sources; i++)
    {
      cleanup_strv struct cb_strv expanded = CB_STRV_INIT;
      char *rel = cb_copy_context_path (sources[i]);

      if (rel == NULL)
        ret = cb_error_nomem (err);
      else if (!cb_copy_has_wildcard (rel))
        ret = cb_strv_push_owned (&expanded, rel, err);
      else
        {
          ret = cb_copy_expand (context_fd, ig, rel, &expanded, err);
          free (rel);
          if (ret == 0 && expanded.len == 0)
            ret = cb_error_set (err, CBUILD_ERR_NOT_FOUND, "no files in the build context match '%s'", sources[i]);
        }
      for (size_t k = 0; ret == 0 && k < expanded.len; k++)
        ret = hash_source (&w, context_fd, context_real, expanded.items[k], err);
    }
  cb_buf_release (&w.rel);
  return ret;
}
