/* The exported cache's two documents. The manifest is an OCI image
 * manifest, so registries and OCI layout tools store it like an image:
 *
 *   {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
 *    "config":{"mediaType":"application/vnd.cbuild.cache.config.v1+json",...},
 *    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip",...}]}
 *
 * The config lists the step entries, each as the local cache stores it:
 *
 *   {"entries":[{"key":"sha256:...","created":"2024-...Z",
 *                "layer":{"digest":"sha256:...","diff_id":"sha256:...","size":123}},
 *               {"key":"sha256:...","created":"","layer":null}]} */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "builder/cache_remote.h"
#include "common/error.h"
#include "layers/layer.h"
#include "layers/oci_layout.h"

/* More layers or entries than this is no real cache. The bound keeps a
 * hostile manifest from allocating without end. */
#define MAX_LAYERS 100000
#define MAX_ENTRIES 200000

void
cb_cache_manifest_release (struct cb_cache_manifest *m)
{
  free (m->layers);
  memset (m, 0, sizeof *m);
}

static int
compare_items (const void *a, const void *b)
{
  return strcmp (((const struct cb_cache_item *) a)->key, ((const struct cb_cache_item *) b)->key);
}

static int
compare_blobs (const void *a, const void *b)
{
  return strcmp (((const struct cb_cache_blob *) a)->digest, ((const struct cb_cache_blob *) b)->digest);
}

static json_t *
encode_item (const struct cb_cache_item *item)
{
  const struct cb_cache_entry *e = &item->entry;

  if (e->empty)
    return json_pack ("{s:s, s:s, s:n}", "key", item->key, "created", e->created, "layer");
  return json_pack ("{s:s, s:s, s:{s:s, s:s, s:I}}", "key", item->key, "created", e->created, "layer", "digest",
                    e->digest, "diff_id", e->diff_id, "size", (json_int_t) e->size);
}

static int
dump (json_t *root, char **json, cbuild_error *err)
{
  *json = root ? json_dumps (root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref (root);
  return *json ? 0 : cb_error_nomem (err);
}

int
cb_cache_config_encode (struct cb_cache_item *items, size_t n, char **json, cbuild_error *err)
{
  json_t *entries = json_array ();
  json_t *root = json_pack ("{s:o}", "entries", entries);

  *json = NULL;
  if (root == NULL)
    return cb_error_nomem (err);
  if (n > 0)
    qsort (items, n, sizeof *items, compare_items);
  for (size_t i = 0; i < n; i++)
    if (json_array_append_new (entries, encode_item (&items[i])) < 0)
      {
        json_decref (root);
        return cb_error_nomem (err);
      }
  return dump (root, json, err);
}

static json_t *
descriptor (const char *media_type, const char *digest, int64_t size)
{
  return json_pack ("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size", (json_int_t) size);
}

/* Returns the distinct layers of items, sorted by digest: steps that made
 * the same change share a layer, which the manifest lists once. */
static struct cb_cache_blob *
distinct_layers (const struct cb_cache_item *items, size_t n, size_t *n_out)
{
  struct cb_cache_blob *blobs = calloc (n + 1, sizeof *blobs);
  size_t count = 0, kept = 0;

  if (blobs == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (!items[i].entry.empty)
      {
        strcpy (blobs[count].digest, items[i].entry.digest);
        blobs[count++].size = items[i].entry.size;
      }
  if (count > 0)
    qsort (blobs, count, sizeof *blobs, compare_blobs);
  for (size_t i = 0; i < count; i++)
    if (kept == 0 || strcmp (blobs[kept - 1].digest, blobs[i].digest) != 0)
      blobs[kept++] = blobs[i];
  *n_out = kept;
  return blobs;
}

int
cb_cache_manifest_encode (const struct cb_cache_blob *config, const struct cb_cache_item *items, size_t n,
                          char **json, cbuild_error *err)
{
  json_t *layers = json_array ();
  json_t *root = json_pack ("{s:i, s:s, s:o, s:o}", "schemaVersion", 2, "mediaType", CB_MEDIA_OCI_MANIFEST,
                            "config", descriptor (CB_MEDIA_CACHE_CONFIG, config->digest, config->size), "layers",
                            layers);
  size_t n_blobs = 0;
  struct cb_cache_blob *blobs = distinct_layers (items, n, &n_blobs);

  *json = NULL;
  if (root == NULL || blobs == NULL)
    {
      json_decref (root);
      free (blobs);
      return cb_error_nomem (err);
    }
  for (size_t i = 0; i < n_blobs; i++)
    if (json_array_append_new (layers, descriptor (CB_MEDIA_OCI_LAYER_GZIP, blobs[i].digest, blobs[i].size)) < 0)
      {
        json_decref (root);
        free (blobs);
        return cb_error_nomem (err);
      }
  free (blobs);
  return dump (root, json, err);
}

static int
decode_blob (json_t *obj, struct cb_cache_blob *out, cbuild_error *err)
{
  const char *digest = json_string_value (json_object_get (obj, "digest"));
  json_t *size = json_object_get (obj, "size");

  if (!cb_digest_valid (digest))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache manifest: unsupported digest '%.100s'",
                         digest ? digest : "(none)");
  if (!json_is_integer (size) || json_integer_value (size) < 0)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache manifest: %s has no valid size", digest);
  strcpy (out->digest, digest);
  out->size = json_integer_value (size);
  return 0;
}

static int
decode_config_descriptor (json_t *root, struct cb_cache_manifest *out, cbuild_error *err)
{
  const char *media_type = json_string_value (json_object_get (root, "mediaType"));
  json_t *config = json_object_get (root, "config");
  const char *config_type = json_string_value (json_object_get (config, "mediaType"));

  if (json_integer_value (json_object_get (root, "schemaVersion")) != 2
      || (media_type && strcmp (media_type, CB_MEDIA_OCI_MANIFEST) != 0) || !json_is_object (config))
    return cb_error_set (err, CBUILD_ERR_INVALID, "not a cbuild cache: expected an OCI image manifest");
  if (config_type == NULL || strcmp (config_type, CB_MEDIA_CACHE_CONFIG) != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "not a cbuild cache: its config media type is '%.100s', not '%s'",
                         config_type ? config_type : "(none)", CB_MEDIA_CACHE_CONFIG);
  if (decode_blob (config, &out->config, err) < 0)
    return -1;
  if ((size_t) out->config.size > CB_CACHE_CONFIG_MAX)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "cache config %s is larger than %zu bytes", out->config.digest,
                         CB_CACHE_CONFIG_MAX);
  return 0;
}

int
cb_cache_manifest_decode (const char *body, size_t len, struct cb_cache_manifest *out, cbuild_error *err)
{
  json_t *root = json_loadb (body, len, 0, NULL);
  json_t *layers = json_object_get (root, "layers");
  json_t *layer;
  size_t i;
  int ret = 0;

  memset (out, 0, sizeof *out);
  if (!json_is_object (root))
    ret = cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache manifest: not a JSON object");
  if (ret == 0)
    ret = decode_config_descriptor (root, out, err);
  if (ret == 0 && (!json_is_array (layers) || json_array_size (layers) > MAX_LAYERS))
    ret = cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache manifest: \"layers\" is not an array of at most %d",
                        MAX_LAYERS);
  if (ret == 0 && (out->layers = calloc (json_array_size (layers) + 1, sizeof *out->layers)) == NULL)
    ret = cb_error_nomem (err);
  json_array_foreach (layers, i, layer)
    {
      if (ret < 0 || (ret = decode_blob (layer, &out->layers[i], err)) < 0)
        break;
      out->n_layers = i + 1;
    }
  json_decref (root);
  if (ret < 0)
    cb_cache_manifest_release (out);
  else if (out->n_layers > 0)
    qsort (out->layers, out->n_layers, sizeof *out->layers, compare_blobs);
  return ret;
}

static int
decode_layer (json_t *layer, const struct cb_cache_manifest *m, struct cb_cache_entry *e, cbuild_error *err)
{
  const char *digest = json_string_value (json_object_get (layer, "digest"));
  const char *diff_id = json_string_value (json_object_get (layer, "diff_id"));
  json_t *size = json_object_get (layer, "size");
  struct cb_cache_blob probe = { { 0 }, 0 };
  const struct cb_cache_blob *listed;

  if (json_is_null (layer))
    {
      e->empty = true;
      return 0;
    }
  if (!cb_digest_valid (digest) || !cb_digest_valid (diff_id) || !json_is_integer (size))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache config: an entry's layer lacks a digest, diff_id or size");
  strcpy (probe.digest, digest);
  listed = m->n_layers ? bsearch (&probe, m->layers, m->n_layers, sizeof probe, compare_blobs) : NULL;
  if (listed == NULL || listed->size != json_integer_value (size))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache config: layer %s is not in the cache manifest",
                         digest);
  strcpy (e->digest, digest);
  strcpy (e->diff_id, diff_id);
  e->size = listed->size;
  return 0;
}

static int
decode_item (json_t *obj, const struct cb_cache_manifest *m, struct cb_cache_item *out, cbuild_error *err)
{
  const char *key = json_string_value (json_object_get (obj, "key"));
  const char *created = json_string_value (json_object_get (obj, "created"));

  memset (out, 0, sizeof *out);
  if (!cb_digest_valid (key))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache config: an entry has no valid key");
  if (created == NULL || strlen (created) >= sizeof out->entry.created)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache config: entry %s has no valid created time", key);
  strcpy (out->key, key);
  strcpy (out->entry.created, created);
  return decode_layer (json_object_get (obj, "layer"), m, &out->entry, err);
}

int
cb_cache_config_decode (const char *body, size_t len, const struct cb_cache_manifest *m,
                        struct cb_cache_item **items, size_t *n, cbuild_error *err)
{
  json_t *root = json_loadb (body, len, 0, NULL);
  json_t *entries = json_object_get (root, "entries");
  json_t *obj;
  size_t i;
  int ret = 0;

  *items = NULL;
  *n = 0;
  if (!json_is_array (entries) || json_array_size (entries) > MAX_ENTRIES)
    ret = cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid cache config: \"entries\" is not an array of at most %d",
                        MAX_ENTRIES);
  if (ret == 0 && (*items = calloc (json_array_size (entries) + 1, sizeof **items)) == NULL)
    ret = cb_error_nomem (err);
  json_array_foreach (entries, i, obj)
    {
      if (ret < 0 || (ret = decode_item (obj, m, &(*items)[i], err)) < 0)
        break;
      *n = i + 1;
    }
  json_decref (root);
  if (ret < 0)
    {
      free (*items);
      *items = NULL;
      *n = 0;
    }
  else if (*n > 0)
    qsort (*items, *n, sizeof **items, compare_items);
  return ret;
}
