/* Tags in the store's index.json and OCI layout export, checked with the
 * real skopeo, umoci and tar. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/layer.h"
#include "layers/oci_layout.h"

static char *base_dir;

struct image
{
  struct cb_store *store;
  char manifest[CB_DIGEST_SIZE];
  int64_t manifest_size;
  char config[CB_DIGEST_SIZE];
  struct cb_layer_desc layer;
};

static char *
join (const char *a, const char *b)
{
  char *p = NULL;

  if (asprintf (&p, "%s/%s", a, b) < 0)
    abort ();
  return p;
}

static void
put_file (const char *dir, const char *name, const char *data)
{
  cleanup_free char *p = join (dir, name);
  FILE *f = fopen (p, "w");

  if (f == NULL)
    abort ();
  fputs (data, f);
  fclose (f);
}

/* Runs cmd through the shell; returns its exit status and, when out is
 * not NULL, its standard output. */
static int
run (const char *cmd, struct cb_buf *out)
{
  FILE *p = popen (cmd, "r");
  char line[1024];
  int status;

  if (p == NULL)
    return -1;
  while (fgets (line, sizeof line, p))
    if (out)
      cb_buf_append_str (out, line, NULL);
  status = pclose (p);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

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

static bool
exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

/* Builds a one-layer image (hello.txt, etc/os-release) in a new store
 * under base_dir/name. */
static void
make_image (const char *name, struct image *img)
{
  cleanup_free char *root = join (base_dir, name);
  cleanup_free char *tree = NULL;
  cleanup_free char *config = NULL;
  cleanup_free char *manifest = NULL;
  cbuild_error err = { 0 };
  bool empty;

  if (asprintf (&tree, "%s-tree", root) < 0 || mkdir (tree, 0755) < 0)
    abort ();
  put_file (tree, "hello.txt", "hello\n");
  cleanup_free char *etc = join (tree, "etc");
  mkdir (etc, 0755);
  put_file (etc, "os-release", "ID=test\n");
  if (cb_store_open (root, &img->store, &err) < 0
      || cb_layer_create_from_dir (img->store, tree, &img->layer, &empty, &err) < 0)
    {
      fprintf (stderr, "%s\n", err.message);
      abort ();
    }

  if (asprintf (&config,
                "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                img->layer.diff_id) < 0
      || cb_store_put_blob (img->store, config, strlen (config), img->config, &err) < 0)
    abort ();
  if (asprintf (&manifest,
                "{\"schemaVersion\":2,\"mediaType\":\"%s\","
                "\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
                "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%lld}]}",
                CB_MEDIA_OCI_MANIFEST, CB_MEDIA_OCI_CONFIG, img->config, strlen (config),
                CB_MEDIA_OCI_LAYER_GZIP, img->layer.digest, (long long) img->layer.size) < 0
      || cb_store_put_blob (img->store, manifest, strlen (manifest), img->manifest, &err) < 0)
    abort ();
  img->manifest_size = (int64_t) strlen (manifest);
}

static json_t *
load_index (const char *layout)
{
  cleanup_free char *path = join (layout, "index.json");

  return json_load_file (path, 0, NULL);
}

/* Returns the Digest that `skopeo inspect` reports for ref, or "". */
static char *
skopeo_digest (const char *ref)
{
  cleanup_buf struct cb_buf out = CB_BUF_INIT;
  cleanup_free char *cmd = NULL;
  json_t *j;
  char *digest;

  if (asprintf (&cmd, "skopeo inspect '%s' 2>&1", ref) < 0)
    abort ();
  if (run (cmd, &out) != 0)
    fprintf (stderr, "skopeo inspect '%s': %s\n", ref, cb_buf_str (&out));
  j = json_loads (cb_buf_str (&out), 0, NULL);
  digest = strdup (json_string_value (json_object_get (j, "Digest")) ?: "");
  json_decref (j);
  return digest;
}

static struct image img;

static void
test_tag_and_lookup (void)
{
  const char *name = "docker.io/library/app:latest";
  char digest[CB_DIGEST_SIZE] = "";
  cbuild_error err = { 0 };
  json_t *index, *desc;

  CHECK_INT (cb_layout_tag (img.store, name, img.manifest, img.manifest_size, CB_MEDIA_OCI_MANIFEST,
                            &err), 0);
  CHECK_INT (cb_layout_lookup (img.store, name, digest, &err), 0);
  CHECK_STR (digest, img.manifest);

  index = load_index (img.store->root);
  CHECK_INT (json_array_size (json_object_get (index, "manifests")), 1);
  desc = json_array_get (json_object_get (index, "manifests"), 0);
  CHECK_STR (json_string_value (json_object_get (desc, "mediaType")), CB_MEDIA_OCI_MANIFEST);
  CHECK_STR (json_string_value (json_object_get (desc, "digest")), img.manifest);
  CHECK_INT (json_integer_value (json_object_get (desc, "size")), img.manifest_size);
  CHECK_STR (json_string_value (json_object_get (json_object_get (desc, "annotations"),
                                                 CB_ANNOTATION_REF_NAME)), name);
  CHECK_INT (json_integer_value (json_object_get (index, "schemaVersion")), 2);
  json_decref (index);
}

static void
test_tag_replaces_same_name (void)
{
  const char *other = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
  char digest[CB_DIGEST_SIZE] = "";
  cbuild_error err = { 0 };
  json_t *index;

  CHECK_INT (cb_layout_tag (img.store, "app:old", other, 10, NULL, &err), 0);
  CHECK_INT (cb_layout_tag (img.store, "app:old", img.manifest, img.manifest_size, NULL, &err), 0);
  CHECK_INT (cb_layout_lookup (img.store, "app:old", digest, &err), 0);
  CHECK_STR (digest, img.manifest);
  index = load_index (img.store->root);
  CHECK_INT (json_array_size (json_object_get (index, "manifests")), 2);
  json_decref (index);
}

static void
test_tag_invalid_input (void)
{
  char digest[CB_DIGEST_SIZE];
  cbuild_error err = { 0 };
  json_t *index;

  CHECK_INT (cb_layout_tag (img.store, "bad", "sha256:../../x", 1, NULL, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  CHECK_INT (cb_layout_tag (img.store, "", img.manifest, img.manifest_size, NULL, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  CHECK_INT (cb_layout_lookup (img.store, "missing:tag", digest, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);
  index = load_index (img.store->root);
  CHECK_INT (json_array_size (json_object_get (index, "manifests")), 2);
  json_decref (index);
}

/* Children tag at once; the lock must keep every name. */
static void
test_tag_concurrent (void)
{
  enum { N = 8 };
  pid_t pids[N];
  json_t *index;
  int ok = 0;

  for (int i = 0; i < N; i++)
    {
      pids[i] = fork ();
      if (pids[i] == 0)
        {
          char name[32];
          cbuild_error err = { 0 };
          int r = 0;
          for (int k = 0; k < 10 && r == 0; k++)
            {
              snprintf (name, sizeof name, "race:%d-%d", i, k);
              r = cb_layout_tag (img.store, name, img.manifest, img.manifest_size, NULL, &err);
            }
          _exit (r == 0 ? 0 : 1);
        }
    }
  for (int i = 0; i < N; i++)
    {
      int status = 0;
      waitpid (pids[i], &status, 0);
      ok += WIFEXITED (status) && WEXITSTATUS (status) == 0;
    }
  CHECK_INT (ok, N);
  index = load_index (img.store->root);
  CHECK_INT (json_array_size (json_object_get (index, "manifests")), 2 + N * 10);
  json_decref (index);
}

static void
test_store_readable_by_skopeo (void)
{
  cleanup_free char *ref = NULL;
  cleanup_free char *digest = NULL;

  if (asprintf (&ref, "oci:%s:docker.io/library/app:latest", img.store->root) < 0)
    abort ();
  digest = skopeo_digest (ref);
  CHECK_STR (digest, img.manifest);
}

static void
test_export_dir_skopeo_umoci (void)
{
  cleanup_free char *dest = join (base_dir, "export-dir");
  cleanup_free char *bundle = join (base_dir, "bundle");
  cleanup_free char *ref = NULL;
  cleanup_free char *digest = NULL;
  cleanup_free char *cmd = NULL;
  cleanup_free char *hello = NULL;
  cleanup_free char *blobs = join (dest, "blobs/sha256");
  cleanup_buf struct cb_buf out = CB_BUF_INIT;
  cbuild_error err = { 0 };
  int entries = count_entries (base_dir);
  struct stat st;

  CHECK_INT (cb_layout_export (img.store, img.manifest, "app:v1", dest, false, &err), 0);
  CHECK_INT (count_entries (blobs), 3);
  CHECK_INT (count_entries (base_dir), entries + 1);
  CHECK (stat (dest, &st) == 0 && (st.st_mode & 0777) == 0755);

  if (asprintf (&ref, "oci:%s:app:v1", dest) < 0)
    abort ();
  digest = skopeo_digest (ref);
  CHECK_STR (digest, img.manifest);

  if (asprintf (&cmd, "umoci unpack --image '%s:app:v1' '%s' 2>&1", dest, bundle) < 0)
    abort ();
  CHECK_INT (run (cmd, &out), 0);
  hello = join (bundle, "rootfs/hello.txt");
  {
    cleanup_free char *data = NULL;
    CHECK_INT (cb_read_file (hello, 100, &data, NULL, &err), 0);
    CHECK_STR (data, "hello\n");
  }
  cb_remove_tree (bundle, NULL);
}

static void
test_export_without_name (void)
{
  cleanup_free char *dest = join (base_dir, "export-noname");
  cleanup_free char *ref = NULL;
  cleanup_free char *digest = NULL;
  cbuild_error err = { 0 };
  json_t *index, *desc;

  CHECK_INT (cb_layout_export (img.store, img.manifest, NULL, dest, false, &err), 0);
  index = load_index (dest);
  desc = json_array_get (json_object_get (index, "manifests"), 0);
  CHECK_INT (json_array_size (json_object_get (index, "manifests")), 1);
  CHECK (json_object_get (desc, "annotations") == NULL);
  CHECK_STR (json_string_value (json_object_get (index, "mediaType")), CB_MEDIA_OCI_INDEX);
  json_decref (index);

  if (asprintf (&ref, "oci:%s", dest) < 0)
    abort ();
  digest = skopeo_digest (ref);
  CHECK_STR (digest, img.manifest);
}

static void
test_export_tar (void)
{
  cleanup_free char *dest = join (base_dir, "image.tar");
  cleanup_free char *cmd = NULL;
  cleanup_free char *ref = NULL;
  cleanup_free char *digest = NULL;
  cleanup_buf struct cb_buf out = CB_BUF_INIT;
  cbuild_error err = { 0 };
  const char *blobs[] = { img.manifest, img.config, img.layer.digest };
  int entries = count_entries (base_dir);

  CHECK_INT (cb_layout_export (img.store, img.manifest, "app:v1", dest, true, &err), 0);
  CHECK_INT (count_entries (base_dir), entries + 1);
  if (asprintf (&cmd, "tar -tf '%s'", dest) < 0)
    abort ();
  CHECK_INT (run (cmd, &out), 0);
  CHECK (strncmp (cb_buf_str (&out), "oci-layout\nindex.json\nblobs/\nblobs/sha256/\n", 43) == 0);
  for (size_t i = 0; i < 3; i++)
    {
      char line[128];
      snprintf (line, sizeof line, "blobs/sha256/%s\n", blobs[i] + 7);
      CHECK (strstr (cb_buf_str (&out), line) != NULL);
    }

  if (asprintf (&ref, "oci-archive:%s:app:v1", dest) < 0)
    abort ();
  digest = skopeo_digest (ref);
  CHECK_STR (digest, img.manifest);
}

static void
test_export_replaces_layout (void)
{
  cleanup_free char *dest = join (base_dir, "export-again");
  cleanup_free char *ref = NULL;
  cleanup_free char *digest = NULL;
  cbuild_error err = { 0 };
  int entries;
  json_t *index;

  CHECK_INT (cb_layout_export (img.store, img.manifest, "first", dest, false, &err), 0);
  entries = count_entries (base_dir);
  CHECK_INT (cb_layout_export (img.store, img.manifest, "second", dest, false, &err), 0);
  CHECK_INT (count_entries (base_dir), entries);
  index = load_index (dest);
  CHECK_INT (json_array_size (json_object_get (index, "manifests")), 1);
  json_decref (index);
  if (asprintf (&ref, "oci:%s:second", dest) < 0)
    abort ();
  digest = skopeo_digest (ref);
  CHECK_STR (digest, img.manifest);
}

static void
test_export_keeps_other_dir (void)
{
  cleanup_free char *dest = join (base_dir, "precious");
  cleanup_free char *file = join (dest, "data.txt");
  cleanup_free char *data = NULL;
  cbuild_error err = { 0 };
  int entries;

  mkdir (dest, 0755);
  put_file (dest, "data.txt", "keep me");
  entries = count_entries (base_dir);
  CHECK_INT (cb_layout_export (img.store, img.manifest, "x", dest, false, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  CHECK (strstr (err.message, "not an OCI layout") != NULL);
  CHECK_INT (cb_read_file (file, 100, &data, NULL, NULL), 0);
  CHECK_STR (data, "keep me");
  CHECK_INT (count_entries (dest), 1);
  CHECK_INT (count_entries (base_dir), entries);
}

static void
test_export_missing_manifest (void)
{
  const char *missing = "sha256:4444444444444444444444444444444444444444444444444444444444444444";
  cleanup_free char *dest = join (base_dir, "export-missing");
  cbuild_error err = { 0 };

  CHECK_INT (cb_layout_export (img.store, missing, NULL, dest, false, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);
  CHECK (!exists (dest));
  CHECK_INT (cb_layout_export (img.store, "sha256:nope", NULL, dest, false, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
}

/* A layer blob whose content no longer matches its digest must not be
 * exported, in either form, and must leave nothing behind. */
static void
test_export_corrupt_blob (void)
{
  struct image bad = { 0 };
  cleanup_free char *blob = NULL;
  cleanup_free char *dir = join (base_dir, "corrupt-out");
  cleanup_free char *tar = join (base_dir, "corrupt-out.tar");
  cbuild_error err = { 0 };
  int entries;
  FILE *f;

  make_image ("corrupt-store", &bad);
  blob = cb_store_blob_path (bad.store, bad.layer.digest);
  f = fopen (blob, "r+");
  fputs ("XXXX", f);
  fclose (f);
  entries = count_entries (base_dir);

  CHECK_INT (cb_layout_export (bad.store, bad.manifest, "x", dir, false, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_DIGEST);
  CHECK_INT (cb_layout_export (bad.store, bad.manifest, "x", tar, true, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_DIGEST);
  CHECK (!exists (dir));
  CHECK (!exists (tar));
  CHECK_INT (count_entries (base_dir), entries);
  cb_store_free (bad.store);
}

int
main (void)
{
  char tmpl[] = "/var/tmp/test_oci_layout.XXXXXX";

  umask (022);
  base_dir = mkdtemp (tmpl);
  if (base_dir == NULL)
    return 1;
  make_image ("store", &img);

  test_tag_and_lookup ();
  test_tag_replaces_same_name ();
  test_tag_invalid_input ();
  test_tag_concurrent ();
  test_store_readable_by_skopeo ();
  test_export_dir_skopeo_umoci ();
  test_export_without_name ();
  test_export_tar ();
  test_export_replaces_layout ();
  test_export_keeps_other_dir ();
  test_export_missing_manifest ();
  test_export_corrupt_blob ();

  cb_store_free (img.store);
  cb_remove_tree (base_dir, NULL);
  return check_report ();
}
