/* --cache-to and --cache-from: the option syntax, the cache manifest and
 * config, layer blob checks, and a round trip through OCI layout
 * directories between two real stores. The registry side runs in
 * tests/e2e/test_cache_remote.sh against a real registry. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/cache_remote.h"
#include "builder/options.h"
#include "check.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "layers/layer.h"

static char tmp[] = "/var/tmp/cbuild-test-cache-remote-XXXXXX";

static int warnings;
static char last_warning[1024];

static void
capture_log (void *user_data, int level, const char *message)
{
  (void) user_data;
  if (level != CBUILD_LOG_WARN)
    return;
  warnings++;
  snprintf (last_warning, sizeof last_warning, "%s", message);
}

static const struct cb_logger test_log = { capture_log, NULL };

static char *
path_in (const char *rel)
{
  return cb_path_join (tmp, rel);
}

static void
write_text (const char *path, const char *text)
{
  FILE *f = fopen (path, "w");

  fputs (text, f);
  fclose (f);
}

static int
add_to (cbuild_build_options *opts, const char *spec)
{
  cbuild_error err = { 0 };

  return cbuild_build_options_add_cache_to (opts, spec, &err);
}

static void
test_options_valid (void)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_error err = { 0 };

  CHECK_INT (add_to (opts, "type=registry,ref=localhost:5000/cache/app:bc,mode=max"), 0);
  CHECK_INT (add_to (opts, "type=local,dest=/tmp/cache"), 0);
  CHECK_INT (add_to (opts, "localhost:5000/cache/app:short"), 0);
  CHECK_INT (add_to (opts, "type=registry,ref=localhost:5000/a:b,ignore-error=true"), 0);
  CHECK_INT (opts->n_cache_to, 4);
  CHECK_INT (opts->cache_to[0].type, CB_CACHE_STORE_REGISTRY);
  CHECK_STR (opts->cache_to[0].ref, "localhost:5000/cache/app:bc");
  CHECK (opts->cache_to[0].all_stages);
  CHECK_INT (opts->cache_to[1].type, CB_CACHE_STORE_LOCAL);
  CHECK_STR (opts->cache_to[1].dir, "/tmp/cache");
  CHECK (!opts->cache_to[1].all_stages);
  CHECK_INT (opts->cache_to[2].type, CB_CACHE_STORE_REGISTRY);
  CHECK_STR (opts->cache_to[2].ref, "localhost:5000/cache/app:short");
  CHECK (opts->cache_to[3].ignore_error);

  CHECK_INT (cbuild_build_options_add_cache_from (opts, "type=local,src=/tmp/cache", &err), 0);
  CHECK_INT (cbuild_build_options_add_cache_from (opts, "type=registry,ref=localhost:5000/a@sha256:"
                                                  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                                                  &err), 0);
  CHECK_INT (opts->n_cache_from, 2);
  CHECK_STR (opts->cache_from[0].dir, "/tmp/cache");
  cbuild_build_options_free (opts);
}

static void
check_rejected (bool to, const char *spec, const char *message_part)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_error err = { 0 };
  int ret = to ? cbuild_build_options_add_cache_to (opts, spec, &err)
               : cbuild_build_options_add_cache_from (opts, spec, &err);

  CHECK_INT (ret, -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  if (strstr (err.message, message_part) == NULL)
    {
      fprintf (stderr, "spec '%s': message '%s' lacks '%s'\n", spec, err.message, message_part);
      CHECK (false);
    }
  CHECK_INT (to ? opts->n_cache_to : opts->n_cache_from, 0);
  cbuild_build_options_free (opts);
}

static void
test_options_invalid (void)
{
  check_rejected (true, "", "expected type=registry");
  check_rejected (true, "ref=a/b:c", "missing type=");
  check_rejected (true, "type=s3,ref=a/b:c", "type 's3' is not supported");
  check_rejected (true, "type=registry", "needs ref=REPO:TAG");
  check_rejected (true, "type=registry,ref=a/b:c,mode=all", "mode must be min or max");
  check_rejected (true, "type=registry,ref=a/b:c,ignore-error=yes", "ignore-error must be true or false");
  check_rejected (true, "type=registry,ref=a/b:c,dest=/x", "dest= belongs to type=local");
  check_rejected (true, "type=local", "needs dest=DIR");
  check_rejected (true, "type=local,src=/x", "takes dest=DIR, not src=");
  check_rejected (true, "type=local,dest=/x,ref=a/b:c", "ref= belongs to type=registry");
  check_rejected (true, "type=registry,ref=a/b:c,color=red", "unknown key 'color'");
  check_rejected (true, "type=registry,ref=a/B:c", "invalid cache");
  check_rejected (true, "type=registry,ref=a/b@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                  "cannot contain a digest");
  check_rejected (true, "type=registry,novalue", "is not KEY=VALUE");
  check_rejected (false, "type=local,dest=/x", "takes src=DIR, not dest=");
  check_rejected (false, "type=registry,ref=a/b:c,mode=max", "unknown key 'mode'");
}

static void
make_item (struct cb_cache_item *item, char k, const char *layer, int64_t size)
{
  memset (item, 0, sizeof *item);
  snprintf (item->key, sizeof item->key, "sha256:%064d", k);
  strcpy (item->entry.created, "2024-05-06T07:08:09Z");
  if (layer == NULL)
    {
      item->entry.empty = true;
      item->entry.created[0] = '\0';
      return;
    }
  snprintf (item->entry.digest, sizeof item->entry.digest, "sha256:%s", layer);
  snprintf (item->entry.diff_id, sizeof item->entry.diff_id, "sha256:%064d", k + 100);
  item->entry.size = size;
}

#define LAYER_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LAYER_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void
test_format_round_trip (void)
{
  struct cb_cache_item items[4];
  struct cb_cache_blob config = { "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", 10 };
  struct cb_cache_manifest m = { 0 };
  struct cb_cache_item *decoded = NULL;
  cleanup_free char *config_json = NULL;
  cleanup_free char *manifest_json = NULL;
  cbuild_error err = { 0 };
  size_t n = 0;

  make_item (&items[0], 3, LAYER_B, 200);
  make_item (&items[1], 1, LAYER_A, 100);
  make_item (&items[2], 2, NULL, 0);
  make_item (&items[3], 4, LAYER_A, 100); /* the same change as item 1 */

  CHECK_INT (cb_cache_config_encode (items, 4, &config_json, &err), 0);
  CHECK_INT (cb_cache_manifest_encode (&config, items, 4, &manifest_json, &err), 0);
  CHECK (strstr (manifest_json, CB_MEDIA_CACHE_CONFIG) != NULL);
  CHECK (strstr (manifest_json, "application/vnd.oci.image.manifest.v1+json") != NULL);

  CHECK_INT (cb_cache_manifest_decode (manifest_json, strlen (manifest_json), &m, &err), 0);
  CHECK_STR (m.config.digest, config.digest);
  CHECK_INT (m.config.size, 10);
  /* Shared layers are listed once. */
  CHECK_INT (m.n_layers, 2);
  CHECK_INT (cb_cache_config_decode (config_json, strlen (config_json), &m, &decoded, &n, &err), 0);
  CHECK_INT (n, 4);
  if (n == 4)
    {
      CHECK_STR (decoded[0].key, items[0].key); /* encode sorted items by key */
      CHECK_STR (decoded[0].entry.digest, "sha256:" LAYER_A);
      CHECK_INT (decoded[0].entry.size, 100);
      CHECK_STR (decoded[0].entry.created, "2024-05-06T07:08:09Z");
      CHECK (decoded[1].entry.empty);
      CHECK_STR (decoded[2].entry.digest, "sha256:" LAYER_B);
      CHECK_STR (decoded[2].entry.diff_id, items[2].entry.diff_id);
    }
  free (decoded);
  cb_cache_manifest_release (&m);
}

static cbuild_error decode_err;

static int
decode_both (const char *manifest, const char *config)
{
  struct cb_cache_manifest m = { 0 };
  struct cb_cache_item *items = NULL;
  size_t n = 0;
  int ret;

  memset (&decode_err, 0, sizeof decode_err);
  ret = cb_cache_manifest_decode (manifest, strlen (manifest), &m, &decode_err);
  if (ret == 0 && config)
    ret = cb_cache_config_decode (config, strlen (config), &m, &items, &n, &decode_err);
  free (items);
  cb_cache_manifest_release (&m);
  return ret;
}

#define DIGEST_C "\"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\""
#define MANIFEST_HEAD                                                                                            \
  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":" \
  "\"application/vnd.cbuild.cache.config.v1+json\",\"digest\":" DIGEST_C ",\"size\":3},"
#define ONE_LAYER "\"layers\":[{\"mediaType\":\"x\",\"digest\":\"sha256:" LAYER_A "\",\"size\":5}]}"
#define ENTRY(layer) "{\"entries\":[{\"key\":\"sha256:" LAYER_B "\",\"created\":\"\",\"layer\":" layer "}]}"

static void
test_format_rejects (void)
{
  CHECK_INT (decode_both (MANIFEST_HEAD ONE_LAYER, ENTRY ("null")), 0);
  CHECK_INT (decode_both (MANIFEST_HEAD ONE_LAYER,
                          ENTRY ("{\"digest\":\"sha256:" LAYER_A "\",\"diff_id\":\"sha256:" LAYER_B "\",\"size\":5}")),
             0);

  /* An image manifest: a config of another media type. */
  CHECK_INT (decode_both ("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                          "\"digest\":" DIGEST_C ",\"size\":3},\"layers\":[]}", NULL),
             -1);
  CHECK_INT (decode_err.code, CBUILD_ERR_INVALID);
  /* An index is no cache either. */
  CHECK_INT (decode_both ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\","
                          "\"manifests\":[]}", NULL),
             -1);
  CHECK_INT (decode_err.code, CBUILD_ERR_INVALID);
  CHECK_INT (decode_both ("not json", NULL), -1);
  CHECK_INT (decode_both (MANIFEST_HEAD "\"layers\":[{\"digest\":\"md5:abc\",\"size\":5}]}", NULL), -1);
  CHECK_INT (decode_both (MANIFEST_HEAD "\"layers\":[{\"digest\":\"sha256:" LAYER_A "\",\"size\":-1}]}", NULL), -1);

  /* A layer the manifest does not list, or lists with another size. */
  CHECK_INT (decode_both (MANIFEST_HEAD ONE_LAYER,
                          ENTRY ("{\"digest\":\"sha256:" LAYER_B "\",\"diff_id\":\"sha256:" LAYER_B "\",\"size\":5}")),
             -1);
  CHECK_INT (decode_both (MANIFEST_HEAD ONE_LAYER,
                          ENTRY ("{\"digest\":\"sha256:" LAYER_A "\",\"diff_id\":\"sha256:" LAYER_B "\",\"size\":6}")),
             -1);
  CHECK_INT (decode_both (MANIFEST_HEAD ONE_LAYER, ENTRY ("{\"digest\":\"sha256:" LAYER_A "\",\"size\":5}")), -1);
  CHECK_INT (decode_both (MANIFEST_HEAD ONE_LAYER, "{\"entries\":[{\"key\":\"k\",\"created\":\"\",\"layer\":null}]}"),
             -1);
  CHECK_INT (decode_both (MANIFEST_HEAD ONE_LAYER, "{\"entries\":{}}"), -1);
}

/* Makes a layer blob in store from a directory holding one file. */
static void
make_layer (struct cb_store *store, const char *name, const char *content, struct cb_layer_desc *desc)
{
  cleanup_free char *dir = path_in (name);
  cleanup_free char *file = cb_path_join (dir, "file");
  cbuild_error err = { 0 };
  bool empty = false;

  mkdir (dir, 0755);
  write_text (file, content);
  CHECK_INT (cb_layer_create_from_dir (store, dir, desc, &empty, &err), 0);
  CHECK (!empty);
}

static void
test_blob_diff_id (struct cb_store *store)
{
  struct cb_layer_desc desc;
  char diff_id[CB_DIGEST_SIZE] = "";
  char digest[CB_DIGEST_SIZE];
  char expected[CB_DIGEST_SIZE];
  cbuild_error err = { 0 };
  unsigned char members[256];
  size_t len = 0;
  FILE *p;

  make_layer (store, "diff-id-layer", "content\n", &desc);
  CHECK_INT (cb_cache_blob_diff_id (store, desc.digest, diff_id, &err), 0);
  CHECK_STR (diff_id, desc.diff_id);

  /* Not gzip at all. */
  CHECK_INT (cb_store_put_blob (store, "plain text", 10, digest, &err), 0);
  CHECK_INT (cb_cache_blob_diff_id (store, digest, diff_id, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_DIGEST);

  /* Two gzip members count as one stream, as gzip -d reads them. */
  p = popen ("printf 'ab' | gzip -c; printf 'cd' | gzip -c", "r");
  if (p)
    {
      len = fread (members, 1, sizeof members, p);
      pclose (p);
    }
  CHECK (len > 30);
  CHECK_INT (cb_store_put_blob (store, members, len, digest, &err), 0);
  CHECK_INT (cb_cache_blob_diff_id (store, digest, diff_id, &err), 0);
  cb_sha256_bytes ("abcd", 4, expected, &err);
  CHECK_STR (diff_id, expected);

  /* Cut short: the second member's trailer is missing. */
  if (len > 30)
    {
      CHECK_INT (cb_store_put_blob (store, members, len - 4, digest, &err), 0);
      CHECK_INT (cb_cache_blob_diff_id (store, digest, diff_id, &err), -1);
    }
}

static void
test_blob_copy_from_dir (struct cb_store *store)
{
  cleanup_free char *dir = path_in ("layout");
  cleanup_free char *blobs = path_in ("layout/blobs/sha256");
  cleanup_free char *file = NULL;
  cbuild_error err = { 0 };
  char digest[CB_DIGEST_SIZE];
  const char *data = "a blob copied from a layout";

  cb_mkdir_p (blobs, 0755, &err);
  cb_sha256_bytes (data, strlen (data), digest, &err);
  file = cb_path_join (blobs, digest + 7);
  CHECK_INT (cb_cache_blob_copy_from_dir (store, dir, digest, (int64_t) strlen (data), &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);

  /* Other bytes under the digest's name store nothing. */
  write_text (file, "a blob copied from a layouT");
  CHECK_INT (cb_cache_blob_copy_from_dir (store, dir, digest, (int64_t) strlen (data), &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_DIGEST);
  CHECK (!cb_store_has_blob (store, digest));
  CHECK_INT (cb_cache_blob_copy_from_dir (store, dir, digest, 5, &err), -1);

  write_text (file, data);
  CHECK_INT (cb_cache_blob_copy_from_dir (store, dir, digest, (int64_t) strlen (data), &err), 0);
  CHECK (cb_store_has_blob (store, digest));
}

/* A build with three stages, as FROM, COPY --from and the scheduler would
 * leave them: "base" (two steps), "tools" (one) and the target, built
 * FROM base (an empty step, then a layer). */
struct fixture
{
  struct cb_build b;
  struct cb_stage stages[3];
  char keys[5][CB_DIGEST_SIZE];
  struct cb_layer_desc layers[4];
};

static void
stage_add (struct cb_stage *st, const char *origin, const char *key)
{
  cbuild_error err = { 0 };

  if (st->cache_keys.len == 0)
    snprintf (st->cache_origin, sizeof st->cache_origin, "%s", origin);
  cb_strv_push (&st->cache_keys, key, &err);
  snprintf (st->cache_parent, sizeof st->cache_parent, "%s", key);
  st->needed = true;
}

static void
record (struct cb_store *store, const char *key, const struct cb_layer_desc *desc)
{
  struct cb_cache_entry e = { 0 };
  cbuild_error err = { 0 };

  strcpy (e.created, "2024-01-01T00:00:00Z");
  if (desc == NULL)
    e.empty = true;
  else
    {
      strcpy (e.digest, desc->digest);
      strcpy (e.diff_id, desc->diff_id);
      e.size = desc->size;
    }
  CHECK_INT (cb_cache_record (store, key, &e, &err), 0);
}

static void
fixture_init (struct fixture *fx, struct cb_store *store, cbuild_build_options *opts)
{
  const char *base_image = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

  memset (fx, 0, sizeof *fx);
  for (int i = 0; i < 5; i++)
    snprintf (fx->keys[i], sizeof fx->keys[i], "sha256:%064d", 900 + i);
  make_layer (store, "layer-0", "base one", &fx->layers[0]);
  make_layer (store, "layer-1", "base two", &fx->layers[1]);
  make_layer (store, "layer-2", "tools", &fx->layers[2]);
  make_layer (store, "layer-4", "final", &fx->layers[3]);
  record (store, fx->keys[0], &fx->layers[0]);
  record (store, fx->keys[1], &fx->layers[1]);
  record (store, fx->keys[2], &fx->layers[2]);
  record (store, fx->keys[3], NULL);
  record (store, fx->keys[4], &fx->layers[3]);

  stage_add (&fx->stages[0], base_image, fx->keys[0]);
  stage_add (&fx->stages[0], base_image, fx->keys[1]);
  stage_add (&fx->stages[1], base_image, fx->keys[2]);
  stage_add (&fx->stages[2], fx->keys[1], fx->keys[3]);
  stage_add (&fx->stages[2], fx->keys[1], fx->keys[4]);
  fx->b.opts = opts;
  fx->b.store = store;
  fx->b.log = &test_log;
  fx->b.stages = fx->stages;
  fx->b.n_stages = 3;
}

static void
fixture_release (struct fixture *fx)
{
  for (int i = 0; i < 3; i++)
    cb_strv_release (&fx->stages[i].cache_keys);
}

/* Imports from dir into a new store and looks every fixture key up. */
static void
lookup_all (const struct fixture *fx, const char *dir, const char *store_name, bool expected[5])
{
  cleanup_free char *root = path_in (store_name);
  cleanup_free char *spec = NULL;
  cbuild_build_options *opts = cbuild_build_options_new ();
  struct cb_store *store = NULL;
  struct cb_build b = { 0 };
  cbuild_error err = { 0 };

  CHECK (asprintf (&spec, "type=local,src=%s", dir) > 0);
  CHECK_INT (cbuild_build_options_add_cache_from (opts, spec, &err), 0);
  CHECK_INT (cb_store_open (root, &store, &err), 0);
  b.opts = opts;
  b.store = store;
  b.log = &test_log;
  CHECK_INT (cb_remote_cache_import (&b, &b.remote_cache, &err), 0);
  CHECK (b.remote_cache != NULL);
  for (int i = 0; i < 5; i++)
    {
      struct cb_cache_entry got = { 0 };
      bool hit = !expected[i];

      CHECK_INT (cb_remote_cache_lookup (&b, fx->keys[i], &got, &hit, &err), 0);
      CHECK_INT (hit, expected[i]);
      if (hit && !got.empty)
        CHECK (cb_store_has_blob (store, got.digest));
      /* The hit was recorded locally. */
      hit = !expected[i];
      CHECK_INT (cb_cache_lookup (store, fx->keys[i], &got, &hit, &err), 0);
      CHECK_INT (hit, expected[i]);
    }
  cb_remote_cache_free (b.remote_cache);
  cb_store_free (store);
  cbuild_build_options_free (opts);
}

static void
test_local_round_trip (struct cb_store *store)
{
  cleanup_free char *min_dir = path_in ("cache-min");
  cleanup_free char *max_dir = path_in ("nested/cache-max");
  cleanup_free char *spec_min = NULL;
  cleanup_free char *spec_max = NULL;
  cbuild_build_options *opts = cbuild_build_options_new ();
  struct fixture fx;
  cbuild_error err = { 0 };
  bool min_hits[5] = { true, true, false, true, true };
  bool max_hits[5] = { true, true, true, true, true };

  CHECK (asprintf (&spec_min, "type=local,dest=%s", min_dir) > 0);
  CHECK (asprintf (&spec_max, "type=local,dest=%s,mode=max", max_dir) > 0);
  CHECK_INT (cbuild_build_options_add_cache_to (opts, spec_min, &err), 0);
  CHECK_INT (cbuild_build_options_add_cache_to (opts, spec_max, &err), 0);
  fixture_init (&fx, store, opts);

  CHECK_INT (cb_remote_cache_export (&fx.b, &fx.stages[2], &err), 0);
  /* mode=min: the target and base, which it is built FROM; not tools. */
  lookup_all (&fx, min_dir, "store-min", min_hits);
  lookup_all (&fx, max_dir, "store-max", max_hits);

  /* Exporting again replaces the layout. */
  CHECK_INT (cb_remote_cache_export (&fx.b, &fx.stages[2], &err), 0);
  lookup_all (&fx, min_dir, "store-min-again", min_hits);
  fixture_release (&fx);
  cbuild_build_options_free (opts);
}

/* Damaged caches cost hits, with a warning, never the build. */
static void
test_import_damaged (struct cb_store *store)
{
  cleanup_free char *dir = path_in ("cache-damaged");
  cleanup_free char *spec = NULL;
  cleanup_free char *blob = NULL;
  cleanup_free char *root = path_in ("store-damaged");
  cbuild_build_options *opts = cbuild_build_options_new ();
  struct cb_store *other = NULL;
  struct fixture fx;
  struct cb_build b = { 0 };
  struct cb_cache_entry got;
  cbuild_error err = { 0 };
  bool hit = true;

  CHECK (asprintf (&spec, "type=local,dest=%s,mode=max", dir) > 0);
  CHECK_INT (cbuild_build_options_add_cache_to (opts, spec, &err), 0);
  fixture_init (&fx, store, opts);
  /* An entry that claims another layer's diffID. */
  {
    struct cb_layer_desc lying = fx.layers[3];

    strcpy (lying.diff_id, fx.layers[0].diff_id);
    record (store, fx.keys[4], &lying);
  }
  CHECK_INT (cb_remote_cache_export (&fx.b, &fx.stages[2], &err), 0);
  cbuild_build_options_free (opts);

  /* A layer file with other bytes: the key misses and later keys hit. */
  CHECK (asprintf (&blob, "%s/blobs/sha256/%s", dir, fx.layers[0].digest + 7) > 0);
  chmod (blob, 0644);
  write_text (blob, "tampered");
  opts = cbuild_build_options_new ();
  free (spec);
  CHECK (asprintf (&spec, "type=local,src=%s", dir) > 0);
  CHECK_INT (cbuild_build_options_add_cache_from (opts, "type=local,src=/nonexistent/cache", &err), 0);
  CHECK_INT (cbuild_build_options_add_cache_from (opts, spec, &err), 0);
  CHECK_INT (cb_store_open (root, &other, &err), 0);
  b.opts = opts;
  b.store = other;
  b.log = &test_log;
  warnings = 0;
  CHECK_INT (cb_remote_cache_import (&b, &b.remote_cache, &err), 0);
  CHECK_INT (warnings, 1);
  CHECK (strstr (last_warning, "/nonexistent/cache") != NULL);
  CHECK_INT (cb_remote_cache_lookup (&b, fx.keys[0], &got, &hit, &err), 0);
  CHECK (!hit);
  CHECK_INT (warnings, 2);
  CHECK (strstr (last_warning, fx.layers[0].digest) != NULL);
  CHECK_INT (cb_remote_cache_lookup (&b, fx.keys[1], &got, &hit, &err), 0);
  CHECK (hit);
  CHECK_INT (cb_remote_cache_lookup (&b, fx.keys[3], &got, &hit, &err), 0);
  CHECK (hit);
  CHECK_INT (cb_remote_cache_lookup (&b, fx.keys[4], &got, &hit, &err), 0);
  CHECK (!hit);
  CHECK_INT (warnings, 3);
  CHECK (strstr (last_warning, "diffID") != NULL);

  cb_remote_cache_free (b.remote_cache);
  cb_store_free (other);
  cbuild_build_options_free (opts);
  fixture_release (&fx);
}

int
main (void)
{
  struct cb_store *store = NULL;
  cleanup_free char *root = NULL;
  cbuild_error err = { 0 };

  if (mkdtemp (tmp) == NULL)
    return 1;
  root = path_in ("store");
  if (cb_store_open (root, &store, &err) < 0)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
  test_options_valid ();
  test_options_invalid ();
  test_format_round_trip ();
  test_format_rejects ();
  test_blob_diff_id (store);
  test_blob_copy_from_dir (store);
  test_local_round_trip (store);
  test_import_damaged (store);
  cb_store_free (store);
  cb_remove_tree (tmp, &err);
  return check_report ();
}
