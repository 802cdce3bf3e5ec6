/* Layer blobs of an imported cache: copied from an OCI layout directory
 * into the store, and checked against the diffID their entry claims. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "builder/cache_remote.h"
#include "common/cleanup.h"
#include "common/error.h"

#define CHUNK (64 * 1024)

/* Opens DIR/blobs/sha256/<hex>. The hex part of a valid digest is a plain
 * file name, so a hostile digest cannot reach outside the layout. */
static int
open_layout_blob (const char *dir, const char *digest, int64_t size, cbuild_error *err)
{
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;
  struct stat st;

  if (!cb_digest_valid (digest))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid digest '%s'", digest);
  if (asprintf (&path, "%s/blobs/sha256/%s", dir, digest + strlen ("sha256:")) < 0)
    return cb_error_nomem (err);
  fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "blob %s not found in '%s'", digest, dir);
  if (fd < 0 || fstat (fd, &st) < 0)
    return cb_error_sys (err, errno, "open '%s'", path);
  if (!S_ISREG (st.st_mode))
    return cb_error_set (err, CBUILD_ERR_INVALID, "blob %s in '%s' is not a regular file", digest, dir);
  if (st.st_size != size)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "blob %s in '%s' is %lld bytes, the cache manifest says %lld",
                         digest, dir, (long long) st.st_size, (long long) size);
  return cb_steal_fd (&fd);
}

int
cb_cache_blob_copy_from_dir (struct cb_store *store, const char *dir, const char *digest, int64_t size,
                             cbuild_error *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *buf = malloc (CHUNK);
  struct cb_blob_writer *w = NULL;
  ssize_t n;

  if (cb_store_has_blob (store, digest))
    return 0;
  if (buf == NULL)
    return cb_error_nomem (err);
  if ((fd = open_layout_blob (dir, digest, size, err)) < 0 || cb_blob_writer_new (store, &w, err) < 0)
    return -1;
  while ((n = read (fd, buf, CHUNK)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          cb_blob_writer_abort (w);
          return cb_error_sys (err, errno, "read blob %s from '%s'", digest, dir);
        }
      if (cb_blob_writer_write (w, buf, (size_t) n, err) < 0)
        {
          cb_blob_writer_abort (w);
          return -1;
        }
    }
  /* The commit checks the digest, so a changed file stores nothing. */
  return cb_blob_writer_commit (w, digest, NULL, NULL, err);
}

/* Inflates what is buffered in zs and hashes the output, until zlib needs
 * more input. A blob may hold several gzip members one after the other,
 * as gzip itself allows. */
static int
inflate_chunk (z_stream *zs, struct cb_sha256 *hash, unsigned char *out, bool *ended, cbuild_error *err)
{
  for (;;)
    {
      int rc;

      if (*ended && zs->avail_in == 0)
        return 0;
      if (*ended && inflateReset (zs) != Z_OK)
        return cb_error_set (err, CBUILD_ERR_DIGEST, "layer is not valid gzip");
      zs->next_out = out;
      zs->avail_out = CHUNK;
      rc = inflate (zs, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        return cb_error_set (err, CBUILD_ERR_DIGEST, "layer is not valid gzip: %s", zs->msg ? zs->msg : "error");
      cb_sha256_update (hash, out, CHUNK - zs->avail_out);
      *ended = rc == Z_STREAM_END;
      /* Output room left means zlib used up the input. */
      if (!*ended && zs->avail_out != 0)
        return 0;
    }
}

static int
hash_gzip (int fd, struct cb_sha256 *hash, unsigned char *in, unsigned char *out, cbuild_error *err)
{
  z_stream zs = { 0 };
  bool ended = false;
  ssize_t n;
  int ret = 0;

  /* 16 + MAX_WBITS: a gzip stream, header and trailer checked by zlib. */
  if (inflateInit2 (&zs, 16 + MAX_WBITS) != Z_OK)
    return cb_error_nomem (err);
  while (ret == 0 && (n = read (fd, in, CHUNK)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        ret = cb_error_sys (err, errno, "read layer");
      zs.next_in = in;
      zs.avail_in = n > 0 ? (uInt) n : 0;
      if (ret == 0)
        ret = inflate_chunk (&zs, hash, out, &ended, err);
    }
  if (ret == 0 && !ended)
    ret = cb_error_set (err, CBUILD_ERR_DIGEST, "layer is truncated gzip");
  inflateEnd (&zs);
  return ret;
}

int
cb_cache_blob_diff_id (struct cb_store *store, const char *digest, char diff_id[CB_DIGEST_SIZE], cbuild_error *err)
{
  cleanup_free char *path = cb_store_blob_path (store, digest);
  cleanup_free unsigned char *in = malloc (CHUNK);
  cleanup_free unsigned char *out = malloc (CHUNK);
  cleanup_close int fd = -1;
  struct cb_sha256 *hash;

  if (path == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid digest '%s'", digest);
  if (in == NULL || out == NULL)
    return cb_error_nomem (err);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys (err, errno, "open blob '%s'", path);
  if ((hash = cb_sha256_new (err)) == NULL)
    return -1;
  if (hash_gzip (fd, hash, in, out, err) < 0)
    {
      cb_sha256_free (hash);
      return cb_error_prefix (err, "layer %s", digest);
    }
  cb_sha256_finish (hash, diff_id);
  return 0;
}
