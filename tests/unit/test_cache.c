/* Cache keys, cache entries, the file digest record and COPY source
 * hashing, against real files in a temporary directory. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/cache.h"
#include "builder/copy_hash.h"
#include "check.h"
#include "common/fs.h"

static char tmp[] = "/var/tmp/cbuild-test-cache-XXXXXX";

static void
write_text (const char *rel, const char *text)
{
  char *path = cb_path_join (tmp, rel);
  FILE *f = fopen (path, "w");

  fputs (text, f);
  fclose (f);
  free (path);
}

static void
key_of (const char *parent, const char *a, const char *b, char out[CB_DIGEST_SIZE])
{
  struct cb_cache_key key;
  cbuild_error err = { 0 };

  cb_cache_key_begin (&key, parent, "RUN", &err);
  cb_cache_key_add (&key, a);
  cb_cache_key_add (&key, b);
  cb_cache_key_finish (&key, out);
}

static void
test_keys (void)
{
  char k1[CB_DIGEST_SIZE], k2[CB_DIGEST_SIZE], k3[CB_DIGEST_SIZE], k4[CB_DIGEST_SIZE];

  key_of ("sha256:parent", "echo", "hi", k1);
  key_of ("sha256:parent", "echo", "hi", k2);
  key_of ("sha256:parent", "echoh", "i", k3);
  key_of ("sha256:other", "echo", "hi", k4);
  CHECK (cb_digest_valid (k1));
  CHECK_STR (k1, k2);
  CHECK (strcmp (k1, k3) != 0);
  CHECK (strcmp (k1, k4) != 0);
}

static void
test_entries (struct cb_store *store)
{
  struct cb_cache_entry entry = { 0 }, got;
  cbuild_error err = { 0 };
  char key[CB_DIGEST_SIZE], blob[CB_DIGEST_SIZE];
  bool hit = true;
  char *path;

  key_of ("sha256:parent", "entry", "test", key);
  CHECK_INT (cb_cache_lookup (store, key, &got, &hit, &err), 0);
  CHECK (!hit);

  CHECK_INT (cb_store_put_blob (store, "layer", 5, blob, &err), 0);
  strcpy (entry.digest, blob);
  strcpy (entry.diff_id, blob);
  entry.size = 5;
  strcpy (entry.created, "2026-01-02T03:04:05Z");
  CHECK_INT (cb_cache_record (store, key, &entry, &err), 0);
  CHECK_INT (cb_cache_lookup (store, key, &got, &hit, &err), 0);
  CHECK (hit);
  CHECK_STR (got.digest, blob);
  CHECK_STR (got.created, "2026-01-02T03:04:05Z");
  CHECK_INT (got.size, 5);

  /* A layer that is gone from the store makes the entry useless. */
  path = cb_store_blob_path (store, blob);
  unlink (path);
  free (path);
  CHECK_INT (cb_cache_lookup (store, key, &got, &hit, &err), 0);
  CHECK (!hit);

  /* A damaged entry is a miss, never an error. */
  if (asprintf (&path, "%s/cache/steps/%s", store->root, key + 7) > 0)
    {
      FILE *f = fopen (path, "w");
      fputs ("{\"created\":", f);
      fclose (f);
      free (path);
    }
  CHECK_INT (cb_cache_lookup (store, key, &got, &hit, &err), 0);
  CHECK (!hit);

  entry.empty = true;
  CHECK_INT (cb_cache_record (store, key, &entry, &err), 0);
  CHECK_INT (cb_cache_lookup (store, key, &got, &hit, &err), 0);
  CHECK (hit);
  CHECK (got.empty);
}

static void
test_file_digests (void)
{
  struct cb_file_digests *rec = NULL;
  cbuild_error err = { 0 };
  char *record_path = cb_path_join (tmp, "record");
  char *file = cb_path_join (tmp, "ctx/app.py");
  char digest[CB_DIGEST_SIZE];
  struct stat st;
  int fd;


  CHECK_INT (cb_file_digests_load (record_path, &rec, &err), 0);
  fd = open (file, O_RDONLY);
  fstat (fd, &st);
  CHECK_INT (cb_file_digests_get (rec, fd, &st, "app.py", digest, &err), 0);
  close (fd);
  {
    char cmd[512], line[128] = "";
    FILE *p;
    snprintf (cmd, sizeof cmd, "sha256sum '%s'", file);
    p = popen (cmd, "r");
    if (p && fgets (line, sizeof line, p))
      line[64] = '\0';
    if (p)
      pclose (p);
    CHECK_STR (digest + 7, line);
  }

  /* Once recorded, the digest comes from the record: an O_PATH descriptor
   * cannot be read, so a second read would fail. */
  CHECK_INT (cb_file_digests_save (rec, &err), 0);
  cb_file_digests_free (rec);
  CHECK_INT (cb_file_digests_load (record_path, &rec, &err), 0);
  fd = open (file, O_PATH);
  char again[CB_DIGEST_SIZE];
  CHECK_INT (cb_file_digests_get (rec, fd, &st, "app.py", again, &err), 0);
  CHECK_STR (again, digest);
  close (fd);
  cb_file_digests_free (rec);
  free (record_path);
  free (file);
}

static void
hash_context (const char *dockerignore, const char *source, char out[CB_DIGEST_SIZE])
{
  struct cb_file_digests *rec = NULL;
  struct cb_ignore *ig = NULL;
  cbuild_error err = { 0 };
  char *ctx = cb_path_join (tmp, "ctx");
  char *record = cb_path_join (tmp, "record2");
  struct cb_sha256 *h = cb_sha256_new (&err);
  const char *sources[] = { source };

  cb_ignore_parse (dockerignore, strlen (dockerignore), &ig, &err);
  cb_file_digests_load (record, &rec, &err);
  if (cb_copy_hash_sources (ctx, ig, NULL, sources, 1, rec, h, &err) < 0)
    {
      fprintf (stderr, "hash failed: %s\n", err.message);
      strcpy (out, "error");
      cb_sha256_free (h);
    }
  else
    cb_sha256_finish (h, out);
  cb_file_digests_save (rec, &err);
  cb_file_digests_free (rec);
  cb_ignore_free (ig);
  free (ctx);
  free (record);
}

static void
test_copy_hash (void)
{
  char base[CB_DIGEST_SIZE], now[CB_DIGEST_SIZE];
  char *file = cb_path_join (tmp, "ctx/app.py");
  struct timespec times[2] = { { 1000, 0 }, { 1000, 0 } };

  hash_context ("*.log\n", ".", base);
  CHECK (cb_digest_valid (base));

  /* A touched file (new mtime, same content) hits. */
  utimensat (AT_FDCWD, file, times, 0);
  hash_context ("*.log\n", ".", now);
  CHECK_STR (now, base);

  /* An ignored file changes nothing. */
  write_text ("ctx/debug.log", "more noise\n");
  hash_context ("*.log\n", ".", now);
  CHECK_STR (now, base);

  /* A permission change misses. */
  chmod (file, 0600);
  hash_context ("*.log\n", ".", now);
  CHECK (strcmp (now, base) != 0);
  chmod (file, 0644);
  hash_context ("*.log\n", ".", now);
  CHECK_STR (now, base);

  /* One changed byte misses. */
  write_text ("ctx/app.py", "print('ho')\n");
  hash_context ("*.log\n", ".", now);
  CHECK (strcmp (now, base) != 0);
  write_text ("ctx/app.py", "print('hi')\n");

  /* A file outside the selected source does not count. */
  hash_context ("*.log\n", "sub", base);
  write_text ("ctx/other.txt", "changed\n");
  hash_context ("*.log\n", "sub", now);
  CHECK_STR (now, base);

  /* Missing and excluded sources fail as COPY would. */
  hash_context ("*.log\n", "missing.txt", now);
  CHECK_STR (now, "error");
  hash_context ("*.log\n", "debug.log", now);
  CHECK_STR (now, "error");
  free (file);
}

int
main (void)
{
  struct cb_store *store = NULL;
  cbuild_error err = { 0 };
  char *ctx, *sub;

  if (mkdtemp (tmp) == NULL)
    return 1;
  ctx = cb_path_join (tmp, "ctx");
  sub = cb_path_join (tmp, "ctx/sub");
  mkdir (ctx, 0755);
  mkdir (sub, 0755);
  write_text ("ctx/app.py", "print('hi')\n");
  write_text ("ctx/sub/data.txt", "data\n");
  write_text ("ctx/other.txt", "other\n");
  chmod (ctx, 0755);
  {
    /* The record keeps only digests of files older than a second. */
    struct timespec t = { 2, 100000000 };
    nanosleep (&t, NULL);
  }

  CHECK_INT (cb_store_open (tmp, &store, &err), 0);
  test_keys ();
  test_entries (store);
  test_file_digests ();
  test_copy_hash ();
  cb_store_free (store);
  cb_remove_tree (tmp, &err);
  free (ctx);
  free (sub);
  return check_report ();
}
