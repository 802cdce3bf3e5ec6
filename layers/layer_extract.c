/* cb_layer_extract: two libarchive readers in a chain. The outer one only
 * decompresses (raw format, with the gzip, bzip2, xz and zstd filters).
 * Its output is hashed for the diffID and fed to the inner tar reader, so
 * the blob is read once and never held in memory. */
#include "layers/layer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "layers/archive_error.h"
#include "layers/extract.h"

#define INPUT_CHUNK (64 * 1024)

struct layer_input
{
  struct archive *raw; /* the blob, decompressed */
  bool empty;          /* the decompressed stream has no bytes */
  struct cb_sha256 *hash;
  char buf[INPUT_CHUNK];
};

static la_ssize_t
input_read (struct archive *tar, void *user_data, const void **buf)
{
  struct layer_input *in = user_data;
  la_ssize_t n = in->empty ? 0 : archive_read_data (in->raw, in->buf, sizeof in->buf);

  if (n < 0)
    {
      archive_set_error (tar, EIO, "%s", cb_archive_error (in->raw));
      return -1;
    }
  cb_sha256_update (in->hash, in->buf, (size_t) n);
  *buf = in->buf;
  return n;
}

/* Only these filters: archive_read_support_filter_all would also accept
 * formats that libarchive decodes by running external programs. */
static int
input_open (struct layer_input *in, const char *blob_path, cbuild_error *err)
{
  struct archive_entry *entry;
  int r;

  in->raw = archive_read_new ();
  if (in->raw == NULL)
    return cb_error_nomem (err);
  archive_read_support_filter_gzip (in->raw);
  archive_read_support_filter_bzip2 (in->raw);
  archive_read_support_filter_xz (in->raw);
  archive_read_support_filter_zstd (in->raw);
  archive_read_support_format_raw (in->raw);
  /* The raw format needs at least one byte, but an empty stream is an
   * empty tar, as Go's archive/tar (and so docker) reads it. */
  archive_read_support_format_empty (in->raw);
  r = archive_read_open_filename (in->raw, blob_path, INPUT_CHUNK);
  if (r == ARCHIVE_OK)
    r = archive_read_next_header (in->raw, &entry);
  if (r != ARCHIVE_OK && r != ARCHIVE_EOF)
    return cb_error_set (err, CBUILD_ERR_INVALID, "open layer '%s': %s", blob_path,
                         cb_archive_error (in->raw));
  in->empty = r == ARCHIVE_EOF;
  in->hash = cb_sha256_new (err);
  return in->hash ? 0 : -1;
}

static void
input_close (struct layer_input *in)
{
  if (in->raw)
    archive_read_free (in->raw);
  cb_sha256_free (in->hash);
}

/* Hashes what the tar reader left unread (the rest of the last record),
 * because the diffID covers every byte of the uncompressed stream. */
static int
input_drain (struct layer_input *in, const char *blob_path, cbuild_error *err)
{
  la_ssize_t n;

  if (in->empty)
    return 0;
  while ((n = archive_read_data (in->raw, in->buf, sizeof in->buf)) > 0)
    cb_sha256_update (in->hash, in->buf, (size_t) n);
  if (n < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "read layer '%s': %s", blob_path,
                         cb_archive_error (in->raw));
  return 0;
}

static int
extract_entries (struct cb_extract *x, const char *blob_path, cbuild_error *err)
{
  struct archive_entry *entry;
  int r;

  for (;;)
    {
      r = archive_read_next_header (x->tar, &entry);
      if (r == ARCHIVE_EOF)
        return 0;
      /* ARCHIVE_WARN reports names that are not valid in the locale's
       * character set. The entry is still usable with its raw bytes. */
      if (r < ARCHIVE_WARN)
        return cb_error_set (err, CBUILD_ERR_INVALID, "read layer '%s': %s", blob_path,
                             cb_archive_error (x->tar));
      if (cb_extract_entry (x, entry, err) < 0)
        return -1;
    }
}

static int
extract_stream (struct layer_input *in, int rootfd, const char *blob_path, cbuild_error *err)
{
  struct cb_extract x = { .rootfd = rootfd };
  int ret = -1;

  x.tar = archive_read_new ();
  if (x.tar == NULL)
    return cb_error_nomem (err);
  archive_read_support_format_tar (x.tar);
  archive_read_support_format_empty (x.tar);
  if (archive_read_open (x.tar, in, NULL, input_read, NULL) != ARCHIVE_OK)
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "read layer '%s': %s", blob_path,
                    cb_archive_error (x.tar));
      goto out;
    }

  if (extract_entries (&x, blob_path, err) < 0 || cb_extract_finish_dirs (&x, err) < 0)
    goto out;
  ret = input_drain (in, blob_path, err);

out:
  archive_read_free (x.tar);
  cb_extract_release (&x);
  return ret;
}

int
cb_layer_extract (const char *blob_path, const char *dest, char diff_id[CB_DIGEST_SIZE],
                  cbuild_error *err)
{
  cleanup_close int rootfd = open (dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct layer_input *in = NULL;
  int ret = -1;

  if (rootfd < 0)
    return cb_error_sys (err, errno, "extract layer: open '%s'", dest);
  in = calloc (1, sizeof *in);
  if (in == NULL)
    return cb_error_nomem (err);

  if (input_open (in, blob_path, err) < 0 || extract_stream (in, rootfd, blob_path, err) < 0)
    goto out;
  cb_sha256_finish (in->hash, diff_id);
  in->hash = NULL;
  ret = 0;

out:
  if (ret < 0)
    cb_error_prefix (err, "extract layer into '%s'", dest);
  input_close (in);
  free (in);
  return ret;
}
