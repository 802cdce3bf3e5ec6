/* cb_layer_create_from_dir: the tar stream from layer_walk.c goes through
 * one pipeline, tar bytes -> SHA-256 (diffID) -> gzip (on worker threads)
 * -> blob writer (which computes the blob digest), so a layer is never
 * held in memory. */
#include "layers/layer.h"

#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "layers/archive_error.h"
#include "layers/gzip_writer.h"
#include "layers/layer_walk.h"

struct gzip_sink
{
  struct cb_sha256 *diff_hash; /* of the uncompressed tar */
  struct cb_gzip_writer *gzip;
  struct cb_blob_writer *blob;
  cbuild_error err; /* the failure inside a libarchive callback */
  bool failed;
};

static int
write_blob (void *user, const void *data, size_t len, cbuild_error *err)
{
  struct gzip_sink *s = user;

  return cb_blob_writer_write (s->blob, data, len, err);
}

static int
sink_init (struct gzip_sink *s, struct cb_store *store, cbuild_error *err)
{
  s->diff_hash = cb_sha256_new (err);
  if (s->diff_hash == NULL)
    return -1;
  if (cb_blob_writer_new (store, &s->blob, err) < 0)
    return -1;
  return cb_gzip_writer_new (write_blob, s, 0, &s->gzip, err);
}

static void
sink_release (struct gzip_sink *s)
{
  cb_sha256_free (s->diff_hash);
  s->diff_hash = NULL;
  cb_gzip_writer_free (s->gzip);
  s->gzip = NULL;
  cb_blob_writer_abort (s->blob);
  s->blob = NULL;
}

static la_ssize_t
sink_write (struct archive *a, void *user_data, const void *buf, size_t len)
{
  struct gzip_sink *s = user_data;

  cb_sha256_update (s->diff_hash, buf, len);
  if (cb_gzip_writer_write (s->gzip, buf, len, &s->err) < 0)
    {
      s->failed = true;
      archive_set_error (a, EIO, "%s", s->err.message);
      return -1;
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

  if (cb_gzip_writer_finish (s->gzip, err) < 0)
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
