/* The blob store on a real file system: layout files, blob writes checked
 * against sha256sum, digest verification, and that failed writes leave
 * nothing behind. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/store.h"

static char *base_dir;

static char *
path_in (const char *dir, const char *name)
{
  char *p = NULL;

  if (asprintf (&p, "%s/%s", dir, name) < 0)
    abort ();
  return p;
}

static char *
new_root (const char *name)
{
  return path_in (base_dir, name);
}

/* Counts the entries of dir other than "." and "..", or -1 if missing. */
static int
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  int n = 0;

  if (d == NULL)
    return -1;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

/* Returns "sha256:<hex>" of path as the sha256sum tool computes it. */
static void
sha256sum_file (const char *path, char out[CB_DIGEST_SIZE])
{
  char *cmd = NULL;
  char hex[65] = "";
  FILE *p;

  if (asprintf (&cmd, "sha256sum '%s'", path) < 0)
    abort ();
  p = popen (cmd, "r");
  if (p == NULL || fscanf (p, "%64s", hex) != 1)
    hex[0] = '\0';
  if (p)
    pclose (p);
  free (cmd);
  snprintf (out, CB_DIGEST_SIZE, "sha256:%s", hex);
}

static void
test_open_creates_layout (void)
{
  cleanup_free char *root = new_root ("open");
  struct cb_store *store = NULL;
  cbuild_error err = { 0 };
  json_t *index, *manifests;
  char *p;

  CHECK_INT (cb_store_open (root, &store, &err), 0);
  if (store == NULL)
    return;
  CHECK_INT (count_entries (store->blobs_dir), 0);
  CHECK_INT (count_entries (store->tmp_dir), 0);
  CHECK_INT (count_entries (store->snapshots_dir), 0);

  p = path_in (root, "oci-layout");
  index = json_load_file (p, 0, NULL);
  CHECK_STR (json_string_value (json_object_get (index, "imageLayoutVersion")), "1.0.0");
  json_decref (index);
  free (p);

  p = path_in (root, "index.json");
  index = json_load_file (p, 0, NULL);
  manifests = json_object_get (index, "manifests");
  CHECK_INT (json_integer_value (json_object_get (index, "schemaVersion")), 2);
  CHECK_STR (json_string_value (json_object_get (index, "mediaType")),
             "application/vnd.oci.image.index.v1+json");
  CHECK (json_is_array (manifests));
  CHECK_INT (json_array_size (manifests), 0);
  json_decref (index);
  free (p);
  cb_store_free (store);
}

static void
test_open_keeps_index (void)
{
  cleanup_free char *root = new_root ("reopen");
  cleanup_free char *index = path_in (root, "index.json");
  const char *custom = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"x\"}]}";
  struct cb_store *store = NULL;
  cbuild_error err = { 0 };
  char *data = NULL;

  CHECK_INT (cb_store_open (root, &store, &err), 0);
  cb_store_free (store);
  CHECK_INT (cb_write_file_atomic (index, custom, strlen (custom), 0644, &err), 0);
  store = NULL;
  CHECK_INT (cb_store_open (root, &store, &err), 0);
  CHECK_INT (cb_read_file (index, 4096, &data, NULL, &err), 0);
  CHECK_STR (data, custom);
  free (data);
  CHECK_INT (count_entries (root), 5); /* blobs, tmp, snapshots, oci-layout, index.json */
  cb_store_free (store);
}

static void
test_put_blob_matches_sha256sum (void)
{
  cleanup_free char *root = new_root ("put");
  const char *data = "hello, blob\n";
  struct cb_store *store = NULL;
  cbuild_error err = { 0 };
  char digest[CB_DIGEST_SIZE] = "", want[CB_DIGEST_SIZE];
  char *path, *back = NULL;
  size_t len = 0;

  if (cb_store_open (root, &store, &err) < 0)
    abort ();
  CHECK_INT (cb_store_put_blob (store, data, strlen (data), digest, &err), 0);
  path = cb_store_blob_path (store, digest);
  CHECK (path != NULL);
  sha256sum_file (path, want);
  CHECK_STR (digest, want);
  CHECK (cb_store_has_blob (store, digest));

  CHECK_INT (cb_store_read_blob (store, digest, 1024, &back, &len, &err), 0);
  CHECK_INT (len, strlen (data));
  CHECK_STR (back, data);
  free (back);
  back = NULL;
  CHECK_INT (cb_store_read_blob (store, digest, 4, &back, &len, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  CHECK_INT (count_entries (store->tmp_dir), 0);
  free (path);
  cb_store_free (store);
}

static void
test_read_blob_detects_corruption (void)
{
  cleanup_free char *root = new_root ("corrupt");
  struct cb_store *store = NULL;
  cbuild_error err = { 0 };
  char digest[CB_DIGEST_SIZE];
  char *path, *back = NULL;
  FILE *f;

  if (cb_store_open (root, &store, &err) < 0 || cb_store_put_blob (store, "abc", 3, digest, &err) < 0)
    abort ();
  path = cb_store_blob_path (store, digest);
  f = fopen (path, "w");
  fputs ("abd", f);
  fclose (f);
  CHECK_INT (cb_store_read_blob (store, digest, 1024, &back, NULL, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_DIGEST);
  CHECK (back == NULL);
  free (path);
  cb_store_free (store);
}

static void
test_writer_streams_chunks (void)
{
  cleanup_free char *root = new_root ("stream");
  struct cb_store *store = NULL;
  struct cb_blob_writer *w = NULL;
  cbuild_error err = { 0 };
  char expected[CB_DIGEST_SIZE], digest[CB_DIGEST_SIZE] = "";
  char chunk[4096];
  int64_t size = 0;
  struct cb_sha256 *h;

  if (cb_store_open (root, &store, &err) < 0)
    abort ();
  memset (chunk, 'x', sizeof chunk);
  h = cb_sha256_new (&err);
  for (int i = 0; i < 100; i++)
    cb_sha256_update (h, chunk, sizeof chunk);
  cb_sha256_finish (h, expected);

  CHECK_INT (cb_blob_writer_new (store, &w, &err), 0);
  CHECK_INT (count_entries (store->tmp_dir), 1);
  for (int i = 0; i < 100; i++)
    CHECK_INT (cb_blob_writer_write (w, chunk, sizeof chunk, &err), 0);
  CHECK_INT (cb_blob_writer_commit (w, expected, digest, &size, &err), 0);
  CHECK_STR (digest, expected);
  CHECK_INT (size, 100 * sizeof chunk);
  CHECK (cb_store_has_blob (store, expected));
  CHECK_INT (count_entries (store->tmp_dir), 0);
  cb_store_free (store);
}

static void
test_commit_wrong_digest_stores_nothing (void)
{
  cleanup_free char *root = new_root ("wrong");
  const char *wrong = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
  struct cb_store *store = NULL;
  struct cb_blob_writer *w = NULL;
  cbuild_error err = { 0 };
  char digest[CB_DIGEST_SIZE] = "";

  if (cb_store_open (root, &store, &err) < 0 || cb_blob_writer_new (store, &w, &err) < 0)
    abort ();
  CHECK_INT (cb_blob_writer_write (w, "content", 7, &err), 0);
  CHECK_INT (cb_blob_writer_commit (w, wrong, digest, NULL, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_DIGEST);
  CHECK (strstr (err.message, wrong) != NULL);
  CHECK_INT (count_entries (store->blobs_dir), 0);
  CHECK_INT (count_entries (store->tmp_dir), 0);
  cb_store_free (store);
}

static void
test_abort_removes_temp (void)
{
  cleanup_free char *root = new_root ("abort");
  struct cb_store *store = NULL;
  struct cb_blob_writer *w = NULL;
  cbuild_error err = { 0 };

  if (cb_store_open (root, &store, &err) < 0 || cb_blob_writer_new (store, &w, &err) < 0)
    abort ();
  CHECK_INT (cb_blob_writer_write (w, "partial", 7, &err), 0);
  cb_blob_writer_abort (w);
  cb_blob_writer_abort (NULL);
  CHECK_INT (count_entries (store->blobs_dir), 0);
  CHECK_INT (count_entries (store->tmp_dir), 0);
  cb_store_free (store);
}

static void
test_invalid_digests_rejected (void)
{
  cleanup_free char *root = new_root ("invalid");
  const char *bad[] = {
    "sha256:../../../../etc/passwd",
    "sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000",
    "sha256:abc",
    "sha512:0000000000000000000000000000000000000000000000000000000000000000",
    "",
  };
  struct cb_store *store = NULL;
  cbuild_error err = { 0 };

  if (cb_store_open (root, &store, &err) < 0)
    abort ();
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      char *data = NULL;
      CHECK (cb_store_blob_path (store, bad[i]) == NULL);
      CHECK (!cb_store_has_blob (store, bad[i]));
      CHECK_INT (cb_store_read_blob (store, bad[i], 1024, &data, NULL, &err), -1);
      CHECK_INT (err.code, CBUILD_ERR_INVALID);
    }
  cb_store_free (store);
}

int
main (void)
{
  char tmpl[] = "/var/tmp/test_store.XXXXXX";

  base_dir = mkdtemp (tmpl);
  if (base_dir == NULL)
    return 1;
  test_open_creates_layout ();
  test_open_keeps_index ();
  test_put_blob_matches_sha256sum ();
  test_read_blob_detects_corruption ();
  test_writer_streams_chunks ();
  test_commit_wrong_digest_stores_nothing ();
  test_abort_removes_temp ();
  test_invalid_digests_rejected ();
  cb_remove_tree (base_dir, NULL);
  return check_report ();
}
