/* The block-parallel gzip writer: its output must decompress to the input
 * with zlib and with gzip(1), and must be the same bytes whatever the
 * number of threads and however the input is cut into writes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "check.h"
#include "common/buf.h"
#include "common/error.h"
#include "layers/gzip_writer.h"

#define BLOCK (128 * 1024)

static int
append_output (void *user, const void *data, size_t len, cbuild_error *err)
{
  return cb_buf_append (user, data, len, err);
}

/* Input that is partly text-like (compressible) and partly random, so
 * that blocks exercise both deflate's matches and its stored blocks. */
static unsigned char *
make_input (size_t len)
{
  unsigned char *p = malloc (len ? len : 1);
  uint32_t x = 2463534242u;

  if (p == NULL)
    abort ();
  for (size_t i = 0; i < len; i++)
    {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      p[i] = (i / 40000) % 2 ? (unsigned char) x : (unsigned char) ("layer text "[i % 11]);
    }
  return p;
}

/* Compresses data with threads workers, in writes of at most chunk bytes. */
static int
gzip_compress (const unsigned char *data, size_t len, size_t threads, size_t chunk, struct cb_buf *out)
{
  struct cb_gzip_writer *w = NULL;
  cbuild_error err = { 0 };
  int ret;

  ret = cb_gzip_writer_new (append_output, out, threads, &w, &err);
  for (size_t off = 0; ret == 0 && off < len; off += chunk)
    ret = cb_gzip_writer_write (w, data + off, len - off < chunk ? len - off : chunk, &err);
  if (ret == 0)
    ret = cb_gzip_writer_finish (w, &err);
  if (ret < 0)
    fprintf (stderr, "compress: %s\n", err.message);
  cb_gzip_writer_free (w);
  return ret;
}

/* Inflates a gzip stream with zlib, which also checks the CRC and length
 * in the trailer. Returns the length, or -1 when the stream is invalid. */
static long
inflate_all (const struct cb_buf *gz, unsigned char *out, size_t cap)
{
  z_stream z = { 0 };
  int zr;

  if (inflateInit2 (&z, 16 + MAX_WBITS) != Z_OK)
    return -1;
  z.next_in = (Bytef *) gz->data;
  z.avail_in = (uInt) gz->len;
  z.next_out = out;
  z.avail_out = (uInt) cap;
  zr = inflate (&z, Z_FINISH);
  inflateEnd (&z);
  return zr == Z_STREAM_END && z.avail_in == 0 ? (long) (cap - z.avail_out) : -1;
}

/* Decompresses with gzip(1) and compares with the input, byte for byte. */
static int
gunzip_matches (const struct cb_buf *gz, const unsigned char *data, size_t len)
{
  char gz_path[] = "/tmp/test_gzip_writer.XXXXXX";
  char cmd[256];
  int fd = mkstemp (gz_path);
  FILE *p;
  size_t got = 0, n;
  unsigned char buf[65536];
  int same = 1;

  if (fd < 0 || write (fd, gz->data, gz->len) != (ssize_t) gz->len)
    abort ();
  close (fd);
  snprintf (cmd, sizeof cmd, "gzip -dc < %s", gz_path);
  p = popen (cmd, "r");
  if (p == NULL)
    abort ();
  while ((n = fread (buf, 1, sizeof buf, p)) > 0)
    {
      if (got + n > len || memcmp (buf, data + got, n) != 0)
        same = 0;
      got += n;
    }
  same = pclose (p) == 0 && same && got == len;
  unlink (gz_path);
  return same;
}

static void
test_round_trip_sizes (void)
{
  static const size_t sizes[] = { 0, 1, 100, BLOCK - 1, BLOCK, BLOCK + 1, 5 * BLOCK + 7, 3 * 1024 * 1024 };

  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
      size_t len = sizes[i];
      unsigned char *data = make_input (len);
      unsigned char *back = malloc (len + 1);
      struct cb_buf gz = CB_BUF_INIT;

      CHECK_INT (gzip_compress (data, len, 4, 65536, &gz), 0);
      CHECK_INT (inflate_all (&gz, back, len + 1), (long) len);
      CHECK (len == 0 || memcmp (back, data, len) == 0);
      CHECK (gunzip_matches (&gz, data, len));
      if (check_failed)
        fprintf (stderr, "  (input of %zu bytes)\n", len);
      cb_buf_release (&gz);
      free (back);
      free (data);
    }
}

/* The blob digest of a layer must not depend on the machine's CPUs. */
static void
test_same_bytes_any_threads (void)
{
  size_t len = 2 * 1024 * 1024 + 12345;
  unsigned char *data = make_input (len);
  struct cb_buf one = CB_BUF_INIT, two = CB_BUF_INIT, eight = CB_BUF_INIT, odd = CB_BUF_INIT;

  CHECK_INT (gzip_compress (data, len, 1, 65536, &one), 0);
  CHECK_INT (gzip_compress (data, len, 2, 65536, &two), 0);
  CHECK_INT (gzip_compress (data, len, 8, 65536, &eight), 0);
  CHECK_INT (gzip_compress (data, len, 3, 7777, &odd), 0);
  CHECK_INT (two.len, one.len);
  CHECK (two.len == one.len && memcmp (two.data, one.data, one.len) == 0);
  CHECK (eight.len == one.len && memcmp (eight.data, one.data, one.len) == 0);
  CHECK (odd.len == one.len && memcmp (odd.data, one.data, one.len) == 0);
  /* Compressible halves must shrink: the blocks are really deflated. */
  CHECK (one.len < len * 3 / 4);
  cb_buf_release (&one);
  cb_buf_release (&two);
  cb_buf_release (&eight);
  cb_buf_release (&odd);
  free (data);
}

/* Random bytes are stored, not deflated: the output is the input plus the
 * framing of stored blocks, and still decompresses to the input. */
static void
test_random_blocks_stored (void)
{
  size_t len = 8 * BLOCK;
  unsigned char *data = malloc (len);
  unsigned char *back = malloc (len + 1);
  struct cb_buf gz = CB_BUF_INIT;
  uint64_t x = 88172645463325252ull;

  if (data == NULL || back == NULL)
    abort ();
  for (size_t i = 0; i < len; i++)
    {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      data[i] = (unsigned char) (x >> 24);
    }
  CHECK_INT (gzip_compress (data, len, 2, 65536, &gz), 0);
  /* A stored block costs 5 bytes per 64 KiB, and each block's sync flush
   * adds an empty one: far below 1% of the input. */
  CHECK (gz.len > len && gz.len < len + len / 1000);
  CHECK_INT (inflate_all (&gz, back, len + 1), (long) len);
  CHECK (memcmp (back, data, len) == 0);
  /* zlib (1.2.13) at level 0 writes stored blocks of up to 64 KiB, while
   * at level 6 it ends a block every 16 Ki symbols, so a first stored
   * block longer than that shows the block was stored, not deflated. The
   * block header (3 bits, padded to a byte) follows the 10-byte gzip
   * header, then LEN in little-endian order. */
  CHECK_INT (((unsigned char) gz.data[10]) & 7, 0);
  CHECK ((((unsigned char) gz.data[11]) | ((unsigned char) gz.data[12]) << 8) > 32768);
  cb_buf_release (&gz);
  free (back);
  free (data);
}

static int
fail_after_header (void *user, const void *data, size_t len, cbuild_error *err)
{
  size_t *calls = user;

  (void) data;
  (void) len;
  if (++*calls > 1)
    return cb_error_set (err, CBUILD_ERR_SYSTEM, "disk full");
  return 0;
}

static void
test_output_failure_stops (void)
{
  size_t len = 4 * BLOCK, calls = 0;
  unsigned char *data = make_input (len);
  struct cb_gzip_writer *w = NULL;
  cbuild_error err = { 0 };
  int ret;

  CHECK_INT (cb_gzip_writer_new (fail_after_header, &calls, 2, &w, &err), 0);
  ret = cb_gzip_writer_write (w, data, len, &err);
  if (ret == 0)
    ret = cb_gzip_writer_finish (w, &err);
  CHECK_INT (ret, -1);
  CHECK_STR (err.message, "disk full");
  cb_gzip_writer_free (w);
  free (data);
}

int
main (void)
{
  test_round_trip_sizes ();
  test_same_bytes_any_threads ();
  test_random_blocks_stored ();
  test_output_failure_stops ();
  return check_report ();
}
