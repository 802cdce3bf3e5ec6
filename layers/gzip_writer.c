#include "layers/gzip_writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK_SIZE (128 * 1024)
#define DICT_SIZE (32 * 1024)
#define MAX_THREADS 8
#define SLOTS_PER_THREAD 2
/* The chi-squared score of a block's byte counts below which it is stored
 * without compression; see looks_incompressible(). */
#define INCOMPRESSIBLE_CHI2 1000

enum slot_state
{
  SLOT_FREE,   /* empty, or being filled by the caller */
  SLOT_QUEUED, /* full, waiting for a worker */
  SLOT_BUSY,   /* a worker is deflating it */
  SLOT_DONE,   /* deflated, waiting to be written out in order */
};

struct slot
{
  /* The dictionary (the end of the previous block), then the block. */
  unsigned char in[DICT_SIZE + BLOCK_SIZE];
  size_t dict_len;
  size_t data_len;
  bool last;
  unsigned char *out;
  size_t out_len;
  size_t out_cap;
  uLong crc;
  bool failed;
  enum slot_state state;
};

struct cb_gzip_writer
{
  cb_gzip_output_fn output;
  void *user;

  pthread_mutex_t lock;
  pthread_cond_t queued; /* a slot became QUEUED, or the writer stops */
  pthread_cond_t done;   /* a slot became DONE */
  pthread_t threads[MAX_THREADS];
  size_t n_threads;
  size_t max_threads;
  bool stopping;

  struct slot *slots;
  size_t n_slots;
  /* Blocks are numbered in input order; block n uses slots[n % n_slots]. */
  uint64_t next_fill;  /* the block the caller is filling */
  uint64_t next_take;  /* the next block a worker takes */
  uint64_t next_write; /* the oldest block not yet written out */

  z_stream z; /* for blocks deflated on the calling thread */
  bool z_ready;
  unsigned char tail[DICT_SIZE]; /* the end of the last block submitted */
  size_t tail_len;
  uLong crc;
  uint64_t total_in;
  bool header_written;
  bool finished;
};

static int
deflate_init (z_stream *z)
{
  memset (z, 0, sizeof *z);
  /* Negative window bits: raw deflate, because the gzip header and
   * trailer are written here, once for all blocks. */
  return deflateInit2 (z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
}

/* Tells whether a block looks incompressible: its byte values are spread
 * as evenly as random bytes are, as in already compressed files (images,
 * archives, wheels). deflate finds next to nothing to shrink in such a
 * block but still spends most of its time searching, so the block is
 * stored instead. The test is a chi-squared statistic of the byte counts
 * (random data scores about 255, text thousands and more), computed in
 * integers so that every machine makes the same choice for the same
 * bytes and the output stays reproducible. */
static bool
looks_incompressible (const unsigned char *data, size_t len)
{
  uint32_t counts[256] = { 0 };
  uint64_t sum = 0;

  if (len < 4096)
    return false;
  for (size_t i = 0; i < len; i++)
    counts[data[i]]++;
  /* chi2 = sum((c - len/256)^2 / (len/256)) = sum((256c - len)^2) / (256 len) */
  for (size_t v = 0; v < 256; v++)
    {
      int64_t d = (int64_t) counts[v] * 256 - (int64_t) len;
      sum += (uint64_t) (d * d);
    }
  return sum < (uint64_t) INCOMPRESSIBLE_CHI2 * 256 * len;
}

static bool
grow_output (struct slot *s)
{
  size_t cap = s->out_cap ? s->out_cap * 2 : BLOCK_SIZE + BLOCK_SIZE / 8;
  unsigned char *grown = realloc (s->out, cap);

  if (grown == NULL)
    return false;
  s->out = grown;
  s->out_cap = cap;
  return true;
}

/* Deflates one block. A sync flush ends every block but the last, so the
 * next block starts on a byte boundary and the streams concatenate. */
static void
deflate_block (z_stream *z, struct slot *s)
{
  int flush = s->last ? Z_FINISH : Z_SYNC_FLUSH;
  int zr;

  int level = looks_incompressible (s->in + DICT_SIZE, s->data_len) ? 0 : Z_DEFAULT_COMPRESSION;

  s->out_len = 0;
  s->crc = crc32 (0L, s->in + DICT_SIZE, (uInt) s->data_len);
  /* deflateParams() right after a reset has no input to flush, so it only
   * sets the level for this block. */
  if (deflateReset (z) != Z_OK || deflateParams (z, level, Z_DEFAULT_STRATEGY) != Z_OK
      || (s->dict_len > 0 && deflateSetDictionary (z, s->in + DICT_SIZE - s->dict_len, (uInt) s->dict_len) != Z_OK))
    {
      s->failed = true;
      return;
    }
  z->next_in = s->in + DICT_SIZE;
  z->avail_in = (uInt) s->data_len;
  do
    {
      if (s->out_cap - s->out_len < 64 && !grow_output (s))
        {
          s->failed = true;
          return;
        }
      z->next_out = s->out + s->out_len;
      z->avail_out = (uInt) (s->out_cap - s->out_len);
      zr = deflate (z, flush);
      s->out_len = s->out_cap - z->avail_out;
      if (zr == Z_STREAM_ERROR)
        {
          s->failed = true;
          return;
        }
    }
  while (s->last ? zr != Z_STREAM_END : (z->avail_in > 0 || z->avail_out == 0));
}

static void *
worker_main (void *arg)
{
  struct cb_gzip_writer *w = arg;
  z_stream z;
  bool z_ready = deflate_init (&z) == Z_OK;

  pthread_mutex_lock (&w->lock);
  for (;;)
    {
      struct slot *s = &w->slots[w->next_take % w->n_slots];

      if (w->stopping)
        break;
      if (w->next_take >= w->next_fill || s->state != SLOT_QUEUED)
        {
          pthread_cond_wait (&w->queued, &w->lock);
          continue;
        }
      s->state = SLOT_BUSY;
      w->next_take++;
      pthread_mutex_unlock (&w->lock);

      if (z_ready)
        deflate_block (&z, s);
      else
        s->failed = true;

      pthread_mutex_lock (&w->lock);
      s->state = SLOT_DONE;
      pthread_cond_broadcast (&w->done);
    }
  pthread_mutex_unlock (&w->lock);
  if (z_ready)
    deflateEnd (&z);
  return NULL;
}

/* Starts the workers with the second block, so that a small layer never
 * pays for threads. A thread that cannot start leaves its work to the
 * others, or to the calling thread when none started. */
static void
start_workers (struct cb_gzip_writer *w)
{
  while (w->n_threads < w->max_threads)
    {
      if (pthread_create (&w->threads[w->n_threads], NULL, worker_main, w) != 0)
        break;
      w->n_threads++;
    }
}

static int
write_header (struct cb_gzip_writer *w, cbuild_error *err)
{
  /* The header has no name and mtime 0, so the blob depends on the input
   * alone. The flags and OS bytes are those zlib writes on Unix at level 6. */
  static const unsigned char header[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };

  w->header_written = true;
  return w->output (w->user, header, sizeof header, err);
}

/* Waits until the oldest block is deflated and writes it out. */
static int
write_oldest (struct cb_gzip_writer *w, cbuild_error *err)
{
  struct slot *s = &w->slots[w->next_write % w->n_slots];
  int ret = 0;

  pthread_mutex_lock (&w->lock);
  while (s->state != SLOT_DONE)
    pthread_cond_wait (&w->done, &w->lock);
  pthread_mutex_unlock (&w->lock);

  if (s->failed)
    ret = cb_error_set (err, CBUILD_ERR_NOMEM, "gzip compression failed: out of memory");
  if (ret == 0 && !w->header_written)
    ret = write_header (w, err);
  if (ret == 0 && s->out_len > 0)
    ret = w->output (w->user, s->out, s->out_len, err);
  w->crc = crc32_combine (w->crc, s->crc, (z_off_t) s->data_len);
  pthread_mutex_lock (&w->lock);
  s->state = SLOT_FREE;
  pthread_mutex_unlock (&w->lock);
  w->next_write++;
  return ret;
}

/* Hands the block being filled to a worker (or deflates it here when no
 * worker runs) and moves on to the next block. */
static void
submit_block (struct cb_gzip_writer *w, bool last)
{
  struct slot *s = &w->slots[w->next_fill % w->n_slots];

  s->last = last;
  s->failed = false;
  /* Every block but the last is full, so the next block's dictionary is
   * the end of this one. */
  if (!last)
    {
      memcpy (w->tail, s->in + DICT_SIZE + BLOCK_SIZE - DICT_SIZE, DICT_SIZE);
      w->tail_len = DICT_SIZE;
    }

  if (w->next_fill == 1 && !last)
    {
      /* Block 0 was deflated here; the workers start at this one. */
      w->next_take = w->next_fill;
      start_workers (w);
    }
  if (w->n_threads == 0)
    {
      deflate_block (&w->z, s);
      s->state = SLOT_DONE;
      w->next_fill++;
      return;
    }
  pthread_mutex_lock (&w->lock);
  s->state = SLOT_QUEUED;
  w->next_fill++;
  pthread_cond_signal (&w->queued);
  pthread_mutex_unlock (&w->lock);
}

/* Makes the slot of the block to fill free, writing out the block that
 * used it before, and gives it the dictionary. */
static int
begin_block (struct cb_gzip_writer *w, cbuild_error *err)
{
  struct slot *s = &w->slots[w->next_fill % w->n_slots];

  if (w->next_fill - w->next_write >= w->n_slots && write_oldest (w, err) < 0)
    return -1;
  memcpy (s->in + DICT_SIZE - w->tail_len, w->tail, w->tail_len);
  s->dict_len = w->tail_len;
  s->data_len = 0;
  return 0;
}

int
cb_gzip_writer_new (cb_gzip_output_fn output, void *user, size_t threads, struct cb_gzip_writer **out,
                    cbuild_error *err)
{
  struct cb_gzip_writer *w = calloc (1, sizeof *w);
  long cpus;

  *out = NULL;
  if (w == NULL)
    return cb_error_nomem (err);
  if (threads == 0)
    {
      cpus = sysconf (_SC_NPROCESSORS_ONLN);
      threads = cpus > 0 ? (size_t) cpus : 1;
    }
  /* One thread means the calling thread, so no worker is started. */
  if (threads == 1)
    w->max_threads = 0;
  else
    w->max_threads = threads > MAX_THREADS ? MAX_THREADS : threads;
  w->n_slots = w->max_threads ? w->max_threads * SLOTS_PER_THREAD : 1;
  w->output = output;
  w->user = user;
  w->crc = crc32 (0L, Z_NULL, 0);
  pthread_mutex_init (&w->lock, NULL);
  pthread_cond_init (&w->queued, NULL);
  pthread_cond_init (&w->done, NULL);
  w->slots = calloc (w->n_slots, sizeof *w->slots);
  if (w->slots == NULL)
    {
      cb_gzip_writer_free (w);
      return cb_error_nomem (err);
    }
  if (deflate_init (&w->z) != Z_OK)
    {
      cb_gzip_writer_free (w);
      return cb_error_set (err, CBUILD_ERR_NOMEM, "initialize gzip compression");
    }
  w->z_ready = true;
  *out = w;
  return begin_block (w, err);
}

int
cb_gzip_writer_write (struct cb_gzip_writer *w, const void *data, size_t len, cbuild_error *err)
{
  const unsigned char *p = data;

  if (w->finished)
    return cb_error_set (err, CBUILD_ERR_INVALID, "gzip writer: write after finish");
  while (len > 0)
    {
      struct slot *s = &w->slots[w->next_fill % w->n_slots];
      size_t part = BLOCK_SIZE - s->data_len;

      if (part > len)
        part = len;
      memcpy (s->in + DICT_SIZE + s->data_len, p, part);
      s->data_len += part;
      w->total_in += part;
      p += part;
      len -= part;
      if (s->data_len == BLOCK_SIZE)
        {
          submit_block (w, false);
          if (begin_block (w, err) < 0)
            return -1;
        }
    }
  return 0;
}

static void
put_le32 (unsigned char *p, uint32_t v)
{
  p[0] = (unsigned char) v;
  p[1] = (unsigned char) (v >> 8);
  p[2] = (unsigned char) (v >> 16);
  p[3] = (unsigned char) (v >> 24);
}

int
cb_gzip_writer_finish (struct cb_gzip_writer *w, cbuild_error *err)
{
  unsigned char trailer[8];

  if (w->finished)
    return cb_error_set (err, CBUILD_ERR_INVALID, "gzip writer: finished twice");
  w->finished = true;
  /* The last block may be empty; Z_FINISH still ends the stream with a
   * final block. */
  submit_block (w, true);
  while (w->next_write < w->next_fill)
    if (write_oldest (w, err) < 0)
      return -1;
  put_le32 (trailer, (uint32_t) w->crc);
  put_le32 (trailer + 4, (uint32_t) w->total_in); /* ISIZE is the length modulo 2^32 */
  return w->output (w->user, trailer, sizeof trailer, err);
}

void
cb_gzip_writer_free (struct cb_gzip_writer *w)
{
  if (w == NULL)
    return;
  pthread_mutex_lock (&w->lock);
  w->stopping = true;
  pthread_cond_broadcast (&w->queued);
  pthread_mutex_unlock (&w->lock);
  /* A worker finishes the block it holds before it checks stopping. */
  for (size_t i = 0; i < w->n_threads; i++)
    pthread_join (w->threads[i], NULL);
  for (size_t i = 0; w->slots && i < w->n_slots; i++)
    free (w->slots[i].out);
  free (w->slots);
  if (w->z_ready)
    deflateEnd (&w->z);
  pthread_cond_destroy (&w->done);
  pthread_cond_destroy (&w->queued);
  pthread_mutex_destroy (&w->lock);
  free (w);
}
