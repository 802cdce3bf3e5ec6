#include "layers/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/fs.h"

#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"
#define EMPTY_INDEX_JSON                                                      \
  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\"," \
  "\"manifests\":[]}"

struct cb_blob_writer
{
  struct cb_store *store;
  char *tmp_path;
  int fd;
  struct cb_sha256 *hash;
  int64_t size;
};

static int
fsync_dir (const char *dir, cbuild_error *err)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0 || fsync (fd) < 0)
    return cb_error_sys (err, errno, "sync directory '%s'", dir);
  return 0;
}

/* Creates path with data unless it exists. link() never replaces an
 * existing file, so a concurrent cb_layout_tag that already wrote
 * index.json is not overwritten with an empty index. */
static int
write_file_if_missing (const char *path, const char *data, cbuild_error *err)
{
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  int ret = 0;

  if (access (path, F_OK) == 0)
    return 0;
  if (asprintf (&tmp, "%s.tmp-XXXXXX", path) < 0)
    return cb_error_nomem (err);
  fd = mkstemp (tmp);
  if (fd < 0)
    return cb_error_sys (err, errno, "create '%s'", tmp);

  if (cb_write_all (fd, data, strlen (data)) < 0 || fchmod (fd, 0644) < 0 || fsync (fd) < 0)
    ret = cb_error_sys (err, errno, "write '%s'", path);
  else if (link (tmp, path) < 0 && errno != EEXIST)
    ret = cb_error_sys (err, errno, "create '%s'", path);
  unlink (tmp);
  return ret;
}

static int
store_init_dirs (struct cb_store *s, cbuild_error *err)
{
  cleanup_free char *oci_layout = cb_path_join (s->root, "oci-layout");
  cleanup_free char *index = cb_path_join (s->root, "index.json");

  if (oci_layout == NULL || index == NULL)
    return cb_error_nomem (err);
  if (cb_mkdir_p (s->blobs_dir, 0755, err) < 0 || cb_mkdir_p (s->tmp_dir, 0700, err) < 0
      || cb_mkdir_p (s->snapshots_dir, 0700, err) < 0)
    return -1;
  if (write_file_if_missing (oci_layout, OCI_LAYOUT_JSON, err) < 0
      || write_file_if_missing (index, EMPTY_INDEX_JSON, err) < 0)
    return -1;
  return 0;
}

int
cb_store_open (const char *root, struct cb_store **out, cbuild_error *err)
{
  struct cb_store *s = calloc (1, sizeof *s);

  if (s == NULL)
    return cb_error_nomem (err);
  s->root = strdup (root);
  s->blobs_dir = cb_path_join (root, "blobs/sha256");
  s->tmp_dir = cb_path_join (root, "tmp");
  s->snapshots_dir = cb_path_join (root, "snapshots");
  if (s->root == NULL || s->blobs_dir == NULL || s->tmp_dir == NULL || s->snapshots_dir == NULL)
    {
      cb_store_free (s);
      return cb_error_nomem (err);
    }

  if (store_init_dirs (s, err) < 0)
    {
      cb_store_free (s);
      return cb_error_prefix (err, "open store '%s'", root);
    }
  *out = s;
  return 0;
}

void
cb_store_free (struct cb_store *store)
{
  if (store == NULL)
    return;
  free (store->root);
  free (store->blobs_dir);
  free (store->tmp_dir);
  free (store->snapshots_dir);
  free (store);
}

char *
cb_store_blob_path (const struct cb_store *store, const char *digest)
{
  /* The hex part becomes a file name: a digest that is not exactly
   * "sha256:" and 64 hex digits could name "../x" or an absolute path. */
  if (!cb_digest_valid (digest))
    return NULL;
  return cb_path_join (store->blobs_dir, digest + strlen ("sha256:"));
}

bool
cb_store_has_blob (const struct cb_store *store, const char *digest)
{
  cleanup_free char *path = cb_store_blob_path (store, digest);
  struct stat st;

  return path != NULL && stat (path, &st) == 0 && S_ISREG (st.st_mode);
}

int
cb_store_read_blob (const struct cb_store *store, const char *digest, size_t max, char **out,
                    size_t *len, cbuild_error *err)
{
  cleanup_free char *path = cb_store_blob_path (store, digest);
  cleanup_free char *data = NULL;
  char got[CB_DIGEST_SIZE];
  size_t n = 0;

  if (path == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid digest '%s'", digest);
  if (cb_read_file (path, max, &data, &n, err) < 0)
    return cb_error_prefix (err, "read blob '%s'", digest);
  if (cb_sha256_bytes (data, n, got, err) < 0)
    return -1;
  if (strcmp (got, digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST,
                         "blob '%s' is corrupt: its content has digest '%s'", digest, got);
  *out = cb_steal_pointer (&data);
  if (len)
    *len = n;
  return 0;
}

int
cb_store_put_blob (struct cb_store *store, const void *data, size_t len, char out[CB_DIGEST_SIZE],
                   cbuild_error *err)
{
  struct cb_blob_writer *w = NULL;

  if (cb_blob_writer_new (store, &w, err) < 0)
    return -1;
  if (cb_blob_writer_write (w, data, len, err) < 0)
    {
      cb_blob_writer_abort (w);
      return -1;
    }
  return cb_blob_writer_commit (w, NULL, out, NULL, err);
}

int
cb_blob_writer_new (struct cb_store *store, struct cb_blob_writer **out, cbuild_error *err)
{
  struct cb_blob_writer *w = calloc (1, sizeof *w);

  if (w == NULL)
    return cb_error_nomem (err);
  w->store = store;
  w->fd = -1;
  if (asprintf (&w->tmp_path, "%s/blob-XXXXXX", store->tmp_dir) < 0)
    {
      w->tmp_path = NULL;
      cb_blob_writer_abort (w);
      return cb_error_nomem (err);
    }
  w->fd = mkostemp (w->tmp_path, O_CLOEXEC);
  if (w->fd < 0)
    {
      int saved = errno;
      free (w->tmp_path);
      w->tmp_path = NULL;
      cb_blob_writer_abort (w);
      return cb_error_sys (err, saved, "create a temporary blob in '%s'", store->tmp_dir);
    }
  w->hash = cb_sha256_new (err);
  if (w->hash == NULL)
    {
      cb_blob_writer_abort (w);
      return -1;
    }
  *out = w;
  return 0;
}

int
cb_blob_writer_write (struct cb_blob_writer *w, const void *data, size_t len, cbuild_error *err)
{
  if (cb_write_all (w->fd, data, len) < 0)
    return cb_error_sys (err, errno, "write '%s'", w->tmp_path);
  cb_sha256_update (w->hash, data, len);
  w->size += (int64_t) len;
  return 0;
}

/* Moves the finished temporary file to its digest. Renaming over an
 * existing blob is harmless: both have the same content. */
static int
blob_writer_publish (struct cb_blob_writer *w, const char *digest, cbuild_error *err)
{
  cleanup_free char *path = cb_store_blob_path (w->store, digest);

  if (path == NULL)
    return cb_error_nomem (err);
  if (fchmod (w->fd, 0644) < 0 || fsync (w->fd) < 0)
    return cb_error_sys (err, errno, "sync '%s'", w->tmp_path);
  if (close (w->fd) < 0)
    {
      w->fd = -1;
      return cb_error_sys (err, errno, "close '%s'", w->tmp_path);
    }
  w->fd = -1;
  if (rename (w->tmp_path, path) < 0)
    return cb_error_sys (err, errno, "rename '%s' to '%s'", w->tmp_path, path);
  free (w->tmp_path);
  w->tmp_path = NULL;
  return fsync_dir (w->store->blobs_dir, err);
}

int
cb_blob_writer_commit (struct cb_blob_writer *w, const char *expected, char digest[CB_DIGEST_SIZE],
                       int64_t *size, cbuild_error *err)
{
  char got[CB_DIGEST_SIZE];
  int ret;

  cb_sha256_finish (w->hash, got);
  w->hash = NULL;
  if (expected && strcmp (got, expected) != 0)
    {
      ret = cb_error_set (err, CBUILD_ERR_DIGEST,
                          "blob digest mismatch: expected '%s', got '%s'", expected, got);
      goto out;
    }

  ret = blob_writer_publish (w, got, err);
  if (ret < 0)
    goto out;
  if (digest)
    memcpy (digest, got, CB_DIGEST_SIZE);
  if (size)
    *size = w->size;

out:
  cb_blob_writer_abort (w);
  return ret;
}

void
cb_blob_writer_abort (struct cb_blob_writer *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    close (w->fd);
  if (w->tmp_path)
    unlink (w->tmp_path);
  free (w->tmp_path);
  cb_sha256_free (w->hash);
  free (w);
}
