#include "builder/file_digests.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

#define RECORD_MAGIC "cbuild-file-digests-1\n"
/* Bounds the record's memory and file size (about 90 bytes an entry). */
#define RECORD_MAX_ENTRIES (1u << 20)

struct record_entry
{
  uint64_t dev, ino;
  int64_t size;
  int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
  unsigned char sha256[32];
};

struct cb_file_digests
{
  char *path;
  struct record_entry *slots; /* open addressing; ino == 0 marks a free slot */
  size_t n_slots;             /* a power of two */
  size_t n_used;
  bool dirty;
  pthread_mutex_t lock;
};

static size_t
slot_of (const struct cb_file_digests *rec, uint64_t dev, uint64_t ino)
{
  uint64_t h = (dev * 0x9e3779b97f4a7c15ULL) ^ (ino * 0xc2b2ae3d27d4eb4fULL);

  return (size_t) (h ^ (h >> 29)) & (rec->n_slots - 1);
}

static struct record_entry *
find_slot (struct cb_file_digests *rec, uint64_t dev, uint64_t ino)
{
  size_t i = slot_of (rec, dev, ino);

  while (rec->slots[i].ino != 0 && (rec->slots[i].dev != dev || rec->slots[i].ino != ino))
    i = (i + 1) & (rec->n_slots - 1);
  return &rec->slots[i];
}

static int
grow (struct cb_file_digests *rec)
{
  struct record_entry *old = rec->slots;
  size_t old_n = rec->n_slots;

  rec->n_slots = old_n ? old_n * 2 : 1024;
  rec->slots = calloc (rec->n_slots, sizeof *rec->slots);
  if (rec->slots == NULL)
    {
      rec->slots = old;
      rec->n_slots = old_n;
      return -1;
    }
  for (size_t i = 0; i < old_n; i++)
    if (old[i].ino != 0)
      *find_slot (rec, old[i].dev, old[i].ino) = old[i];
  free (old);
  return 0;
}

static void
insert (struct cb_file_digests *rec, const struct record_entry *e)
{
  struct record_entry *slot;

  if (e->ino == 0 || rec->n_used >= RECORD_MAX_ENTRIES)
    return;
  if ((rec->n_used + 1) * 2 > rec->n_slots && grow (rec) < 0)
    return;
  slot = find_slot (rec, e->dev, e->ino);
  if (slot->ino == 0)
    rec->n_used++;
  *slot = *e;
}

int
cb_file_digests_load (const char *path, struct cb_file_digests **out, cbuild_error *err)
{
  struct cb_file_digests *rec = calloc (1, sizeof *rec);
  cleanup_free char *data = NULL;
  size_t len = 0, magic = strlen (RECORD_MAGIC);
  cbuild_error ignored = { 0 };

  if (rec == NULL || (rec->path = strdup (path)) == NULL || grow (rec) < 0)
    {
      cb_file_digests_free (rec);
      return cb_error_nomem (err);
    }
  pthread_mutex_init (&rec->lock, NULL);
  if (cb_read_file (path, RECORD_MAX_ENTRIES * sizeof (struct record_entry) + magic, &data, &len, &ignored) == 0
      && len >= magic && memcmp (data, RECORD_MAGIC, magic) == 0 && (len - magic) % sizeof (struct record_entry) == 0)
    {
      /* Sizing the table once spares a rehash at every doubling. */
      size_t n = (len - magic) / sizeof (struct record_entry);
      while ((n + 1) * 2 > rec->n_slots)
        if (grow (rec) < 0)
          break;
      for (size_t off = magic; off < len; off += sizeof (struct record_entry))
        {
          struct record_entry e;
          memcpy (&e, data + off, sizeof e);
          insert (rec, &e);
        }
    }
  *out = rec;
  return 0;
}

void
cb_file_digests_free (struct cb_file_digests *rec)
{
  if (rec == NULL)
    return;
  if (rec->path)
    pthread_mutex_destroy (&rec->lock);
  free (rec->slots);
  free (rec->path);
  free (rec);
}

static void
format_digest (const unsigned char sha[32], char out[CB_DIGEST_SIZE])
{
  static const char hex[] = "0123456789abcdef";

  memcpy (out, "sha256:", 7);
  for (int i = 0; i < 32; i++)
    {
      out[7 + 2 * i] = hex[sha[i] >> 4];
      out[8 + 2 * i] = hex[sha[i] & 15];
    }
  out[CB_DIGEST_LEN] = '\0';
}

static void
parse_digest (const char *digest, unsigned char sha[32])
{
  for (int i = 0; i < 32; i++)
    {
      char byte[3] = { digest[7 + 2 * i], digest[8 + 2 * i], '\0' };
      sha[i] = (unsigned char) strtoul (byte, NULL, 16);
    }
}

static int
hash_file (int fd, const char *what, char out[CB_DIGEST_SIZE], cbuild_error *err)
{
  struct cb_sha256 *h = cb_sha256_new (err);
  char buf[65536];
  off_t offset = 0;

  if (h == NULL)
    return -1;
  for (;;)
    {
      ssize_t n = pread (fd, buf, sizeof buf, offset);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          cb_sha256_free (h);
          return cb_error_sys (err, errno, "read '%s' in the build context", what);
        }
      if (n == 0)
        break;
      cb_sha256_update (h, buf, (size_t) n);
      offset += n;
    }
  cb_sha256_finish (h, out);
  return 0;
}

static struct record_entry
entry_for (const struct stat *st)
{
  struct record_entry e = { 0 };

  e.dev = st->st_dev;
  e.ino = st->st_ino;
  e.size = st->st_size;
  e.mtime_sec = st->st_mtim.tv_sec;
  e.mtime_nsec = st->st_mtim.tv_nsec;
  e.ctime_sec = st->st_ctim.tv_sec;
  e.ctime_nsec = st->st_ctim.tv_nsec;
  return e;
}

static bool
same_file_state (const struct record_entry *a, const struct record_entry *b)
{
  return a->size == b->size && a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec
         && a->ctime_sec == b->ctime_sec && a->ctime_nsec == b->ctime_nsec;
}

bool
cb_file_digests_lookup (struct cb_file_digests *rec, const struct stat *st, char out[CB_DIGEST_SIZE])
{
  struct record_entry want = entry_for (st);
  struct record_entry *slot;
  bool found;

  pthread_mutex_lock (&rec->lock);
  slot = find_slot (rec, want.dev, want.ino);
  found = slot->ino != 0 && same_file_state (slot, &want);
  if (found)
    format_digest (slot->sha256, out);
  pthread_mutex_unlock (&rec->lock);
  return found;
}

int
cb_file_digests_get (struct cb_file_digests *rec, int fd, const struct stat *st, const char *name,
                     char out[CB_DIGEST_SIZE], cbuild_error *err)
{
  struct record_entry want = entry_for (st);

  if (cb_file_digests_lookup (rec, st, out))
    return 0;
  if (hash_file (fd, name, out, err) < 0)
    return -1;
  /* A file changed within the last second could change again without a
   * new timestamp, so its digest is not recorded yet (git's "racy" rule). */
  if (time (NULL) - st->st_mtim.tv_sec <= 1 || time (NULL) - st->st_ctim.tv_sec <= 1)
    return 0;
  parse_digest (out, want.sha256);
  pthread_mutex_lock (&rec->lock);
  insert (rec, &want);
  rec->dirty = true;
  pthread_mutex_unlock (&rec->lock);
  return 0;
}

int
cb_file_digests_save (struct cb_file_digests *rec, cbuild_error *err)
{
  size_t magic = strlen (RECORD_MAGIC);
  cleanup_free char *data = NULL;
  size_t len = magic;

  if (!rec->dirty)
    return 0;
  data = malloc (magic + rec->n_used * sizeof (struct record_entry));
  if (data == NULL)
    return cb_error_nomem (err);
  memcpy (data, RECORD_MAGIC, magic);
  for (size_t i = 0; i < rec->n_slots; i++)
    if (rec->slots[i].ino != 0)
      {
        memcpy (data + len, &rec->slots[i], sizeof rec->slots[i]);
        len += sizeof rec->slots[i];
      }
  if (cb_write_file_atomic (rec->path, data, len, 0600, err) < 0)
    return -1;
  rec->dirty = false;
  return 0;
}
