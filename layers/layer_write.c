/* cb_layer_create_from_dir: the tar stream from layer_walk.c goes through
 * one pipeline, tar bytes -> SHA-256 (diffID) -> gzip -> blob writer (which
 * computes the blob digest), so a layer is never held in memory. */
#include "layers/layer.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "layers/archive_error.h"
#include "layers/layer_walk.h"

#define GZIP_CHUNK (64 * 1024)

struct gzip_sink
{
  struct cb_sha256 *diff_hash; /* of the uncompressed tar */
  z_stream z;
  bool z_ready;
  struct cb_blob_writer *blob;
  unsigned char out[GZIP_CHUNK];
  cbuild_error err; /* the failure inside a libarchive callback */
  bool failed;
};

static int
sink_init (struct gzip_sink *s, struct cb_store *store, cbuild_error *err)
{
  s->diff_hash = cb_sha256_new (err);
  if (s->diff_hash == NULL)
    return -1;
  /* 16 + MAX_WBITS selects the gzip wrapper; its header has no name and
   * mtime 0, so the blob depends on the tar only. */
  if (deflateInit2 (&s->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                    Z_DEFAULT_STRATEGY) != Z_OK)
    return cb_error_set (err, CBUILD_ERR_NOMEM, "initialize gzip compression");
  s->z_ready = true;
  return cb_blob_writer_new (store, &s->blob, err);
}

static void
sink_release (struct gzip_sink *s)
{
  cb_sha256_free (s->diff_hash);
  s->diff_hash = NULL;
  if (s->z_ready)
    deflateEnd (&s->z);
  s->z_ready = false;
  cb_blob_writer_abort (s->blob);
  s->blob = NULL;
}

/* Runs deflate on the pending input and writes what it produces. With
 * Z_NO_FLUSH it returns once all input is consumed, with Z_FINISH once the
 * gzip trailer is written. */
static int
sink_deflate (struct gzip_sink *s, int flush, cbuild_error *err)
{
  int zr;

  do
    {
      size_t have;
      s->z.next_out = s->out;
      s->z.avail_out = sizeof s->out;
      zr = deflate (&s->z, flush);
      if (zr == Z_STREAM_ERROR)
        return cb_error_set (err, CBUILD_ERR_SYSTEM, "gzip compression failed");
      have = sizeof s->out - s->z.avail_out;
      if (have > 0 && cb_blob_writer_write (s->blob, s->out, have, err) < 0)
        return -1;
    }
  while (s->z.avail_out == 0);
  if (flush == Z_FINISH && zr != Z_STREAM_END)
    return cb_error_set (err, CBUILD_ERR_SYSTEM, "gzip compression did not finish");
  return 0;
}

static la_ssize_t
sink_write (struct archive *a, void *user_data, const void *buf, size_t len)
{
  struct gzip_sink *s = user_data;
  const unsigned char *p = buf;
  size_t left = len;

  cb_sha256_update (s->diff_hash, buf, len);
  /* avail_in is a uInt, so larger writes go in parts. */
  while (left > 0)
    {
      uInt part = left > UINT_MAX ? UINT_MAX : (uInt) left;
      s->z.next_in = (Bytef *) p;
      s->z.avail_in = part;
      if (sink_deflate (s, Z_NO_FLUSH, &s->err) < 0)
        {
          s->failed = true;
          archive_set_error (a, EIO, "%s", s->err.message);
          return -1;
        }
      p += part;
      left -= part;
    }
  return (la_ssize_t) len;
}

static struct archive *
tar_writer_new (struct gzip_sink *sink, cbuild_error *err)
{
  struct archive *ar = archive_write_new ();

  if (ar == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  /* Restricted PAX writes plain ustar headers and adds a PAX header only
   * for what ustar cannot hold (long names, large ids, xattrs). Xattrs go
   * in SCHILY.xattr records only, the form docker and containerd read. */
  if (archive_write_set_format_pax_restricted (ar) != ARCHIVE_OK
      || archive_write_set_format_option (ar, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK
      || archive_write_add_filter_none (ar) != ARCHIVE_OK
      || archive_write_set_bytes_in_last_block (ar, 1) != ARCHIVE_OK
      || archive_write_open (ar, sink, NULL, sink_write, NULL) != ARCHIVE_OK)
    {
      cb_error_set (err, CBUILD_ERR_SYSTEM, "set up the tar writer: %s", cb_archive_error (ar));
      archive_write_free (ar);
      return NULL;
    }
  return ar;
}

/* Writes the tar of the tree at dirfd into the sink and closes it. */
static int
write_tar (struct gzip_sink *sink, int dirfd, size_t *n_entries, cbuild_error *err)
{
  struct archive *ar = tar_writer_new (sink, err);
  int ret;

  if (ar == NULL)
    return -1;
  ret = cb_layer_walk_tree (ar, dirfd, n_entries, err);
  if (ret == 0 && archive_write_close (ar) != ARCHIVE_OK)
    ret = cb_error_set (err, CBUILD_ERR_SYSTEM, "finish the tar stream: %s",
                        cb_archive_error (ar));
  archive_write_free (ar);
  /* The sink's own error is more specific than libarchive's copy of it. */
  if (ret < 0 && sink->failed && err)
    *err = sink->err;
  return ret;
}

static int
sink_finish (struct gzip_sink *s, struct cb_layer_desc *out, cbuild_error *err)
{
  struct cb_blob_writer *blob = s->blob;

  if (sink_deflate (s, Z_FINISH, err) < 0)
    return -1;
  cb_sha256_finish (s->diff_hash, out->diff_id);
  s->diff_hash = NULL;
  s->blob = NULL;
  return cb_blob_writer_commit (blob, NULL, out->digest, &out->size, err);
}

int
cb_layer_create_from_dir (struct cb_store *store, const char *dir, struct cb_layer_desc *out,
                          bool *empty, cbuild_error *err)
{
  cleanup_close int dirfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct gzip_sink *sink = NULL;
  size_t n_entries = 0;
  int ret = -1;

  *empty = false;
  memset (out, 0, sizeof *out);
  if (dirfd < 0)
    return cb_error_sys (err, errno, "create layer: open '%s'", dir);
  sink = calloc (1, sizeof *sink);
  if (sink == NULL)
    return cb_error_nomem (err);

  if (sink_init (sink, store, err) < 0 || write_tar (sink, dirfd, &n_entries, err) < 0)
    goto out;
  if (n_entries == 0)
    {
      *empty = true;
      ret = 0;
      goto out;
    }
  ret = sink_finish (sink, out, err);

out:
  if (ret < 0)
    cb_error_prefix (err, "create layer from '%s'", dir);
  sink_release (sink);
  free (sink);
  return ret;
}
