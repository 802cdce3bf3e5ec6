#include "builder/image.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "layers/layer.h"
#include "layers/oci_layout.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static int
json_failed (cbuild_error *err)
{
  return cb_error_nomem (err);
}

int
cb_image_init_scratch (struct cb_image *img, const struct cb_platform *platform, cbuild_error *err)
{
  memset (img, 0, sizeof *img);
  img->config = json_pack ("{s:s, s:s, s:{s:[s], s:s}, s:{s:s, s:[]}, s:[]}",
                           "architecture", platform->arch, "os", platform->os,
                           "config", "Env", "PATH=" DEFAULT_PATH, "WorkingDir", "/",
                           "rootfs", "type", "layers", "diff_ids", "history");
  if (img->config == NULL)
    return json_failed (err);
  if (platform->variant)
    json_object_set_new (img->config, "variant", json_string (platform->variant));
  return 0;
}

int
cb_image_init_pulled (struct cb_image *img, const struct cb_pulled_image *pulled, cbuild_error *err)
{
  json_error_t jerr;
  json_t *diff_ids, *rootfs;

  memset (img, 0, sizeof *img);
  img->config = json_loads (pulled->config_json, 0, &jerr);
  if (img->config == NULL || !json_is_object (img->config))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid image config %s: %s", pulled->config_digest, jerr.text);
  rootfs = json_object_get (img->config, "rootfs");
  diff_ids = rootfs ? json_object_get (rootfs, "diff_ids") : NULL;
  if (!json_is_array (diff_ids) || json_array_size (diff_ids) != pulled->n_layers)
    return cb_error_set (err, CBUILD_ERR_REGISTRY,
                         "image config %s lists %zu diff_ids for %zu layers",
                         pulled->config_digest, diff_ids ? json_array_size (diff_ids) : 0, pulled->n_layers);
  for (size_t i = 0; i < pulled->n_layers; i++)
    if (!cb_digest_valid (json_string_value (json_array_get (diff_ids, i))))
      return cb_error_set (err, CBUILD_ERR_REGISTRY, "image config %s has an invalid diff_id", pulled->config_digest);
  if (!json_is_array (json_object_get (img->config, "history")))
    json_object_set_new (img->config, "history", json_array ());
  /* The new image gets its own creation time and drops the base's
   * container-specific keys, as docker build does. */
  json_object_del (img->config, "container");
  json_object_del (img->config, "container_config");
  json_object_del (img->config, "docker_version");
  json_object_del (img->config, "id");
  json_object_del (img->config, "parent");
  img->layers = calloc (pulled->n_layers ? pulled->n_layers : 1, sizeof *img->layers);
  if (img->layers == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < pulled->n_layers; i++)
    {
      memcpy (img->layers[i].digest, pulled->layers[i].digest, CB_DIGEST_SIZE);
      img->layers[i].size = pulled->layers[i].size;
    }
  img->n_layers = pulled->n_layers;
  return 0;
}

int
cb_image_copy (struct cb_image *dst, const struct cb_image *src, cbuild_error *err)
{
  memset (dst, 0, sizeof *dst);
  dst->config = json_deep_copy (src->config);
  dst->layers = calloc (src->n_layers ? src->n_layers : 1, sizeof *dst->layers);
  if (dst->config == NULL || dst->layers == NULL)
    return cb_error_nomem (err);
  if (src->n_layers > 0)
    memcpy (dst->layers, src->layers, src->n_layers * sizeof *dst->layers);
  dst->n_layers = src->n_layers;
  if (src->epoch && (dst->epoch = strdup (src->epoch)) == NULL)
    return cb_error_nomem (err);
  return 0;
}

void
cb_image_release (struct cb_image *img)
{
  json_decref (img->config);
  free (img->layers);
  free (img->epoch);
  memset (img, 0, sizeof *img);
}

json_t *
cb_image_runconfig (struct cb_image *img)
{
  json_t *cfg = json_object_get (img->config, "config");

  if (!json_is_object (cfg))
    {
      cfg = json_object ();
      json_object_set_new (img->config, "config", cfg);
    }
  return cfg;
}

int
cb_image_env (struct cb_image *img, struct cb_strv *env, cbuild_error *err)
{
  json_t *list = json_object_get (cb_image_runconfig (img), "Env");
  size_t i;
  json_t *item;

  json_array_foreach (list, i, item)
    {
      const char *s = json_string_value (item);
      if (s && strchr (s, '=') && cb_strv_push (env, s, err) < 0)
        return -1;
    }
  return 0;
}

int
cb_image_set_env (struct cb_image *img, const char *name, const char *value, cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;

  if (cb_image_env (img, &env, err) < 0 || cb_env_set (&env, name, value, err) < 0)
    return -1;
  return cb_image_set_strings (img, "Env", env.items, env.len, err);
}

int
cb_image_set_strings (struct cb_image *img, const char *key, char *const *items, size_t n,
                      cbuild_error *err)
{
  json_t *cfg = cb_image_runconfig (img);
  json_t *arr;

  if (items == NULL)
    {
      json_object_del (cfg, key);
      return 0;
    }
  arr = json_array ();
  if (arr == NULL)
    return json_failed (err);
  for (size_t i = 0; i < n; i++)
    if (json_array_append_new (arr, json_string (items[i])) < 0)
      {
        json_decref (arr);
        return json_failed (err);
      }
  if (json_object_set_new (cfg, key, arr) < 0)
    return json_failed (err);
  return 0;
}

int
cb_image_set_string (struct cb_image *img, const char *key, const char *value, cbuild_error *err)
{
  json_t *cfg = cb_image_runconfig (img);

  if (value == NULL)
    {
      json_object_del (cfg, key);
      return 0;
    }
  if (json_object_set_new (cfg, key, json_string (value)) < 0)
    return json_failed (err);
  return 0;
}

int
cb_image_set_member (struct cb_image *img, const char *field, const char *key, const char *value,
                     cbuild_error *err)
{
  json_t *cfg = cb_image_runconfig (img);
  json_t *obj = json_object_get (cfg, field);

  if (!json_is_object (obj))
    {
      obj = json_object ();
      if (obj == NULL || json_object_set_new (cfg, field, obj) < 0)
        return json_failed (err);
    }
  if (json_object_set_new (obj, key, value ? json_string (value) : json_object ()) < 0)
    return json_failed (err);
  return 0;
}

/* The creation time of the newest history entry, which a metadata-only
 * step reuses: a rebuild whose layers all come from the cache then gives
 * the same config digest, as BuildKit's does. */
static const char *
last_created (struct cb_image *img)
{
  json_t *history = json_object_get (img->config, "history");
  size_t n = json_array_size (history);
  const char *created = NULL;

  if (n > 0)
    created = json_string_value (json_object_get (json_array_get (history, n - 1), "created"));
  if (created == NULL)
    created = json_string_value (json_object_get (img->config, "created"));
  return created ? created : "1970-01-01T00:00:00Z";
}

static int
append_history (struct cb_image *img, const char *created_by, const char *created, bool empty,
                cbuild_error *err)
{
  json_t *history = json_object_get (img->config, "history");
  json_t *entry;

  if (created == NULL)
    created = img->epoch ? img->epoch : last_created (img);
  entry = json_pack ("{s:s, s:s, s:s}", "created", created, "created_by", created_by,
                             "comment", "buildkit.dockerfile.v0");

  if (entry == NULL)
    return json_failed (err);
  if (empty)
    json_object_set_new (entry, "empty_layer", json_true ());
  if (!json_is_array (history))
    {
      history = json_array ();
      json_object_set_new (img->config, "history", history);
    }
  if (json_array_append_new (history, entry) < 0)
    return json_failed (err);
  json_object_set_new (img->config, "created", json_string (created));
  return 0;
}

int
cb_image_add_history (struct cb_image *img, const char *created_by, const char *created, cbuild_error *err)
{
  return append_history (img, created_by, created, true, err);
}

int
cb_image_add_layer (struct cb_image *img, const char *digest, int64_t size, const char *diff_id,
                    const char *created_by, const char *created, cbuild_error *err)
{
  json_t *rootfs = json_object_get (img->config, "rootfs");
  json_t *diff_ids = rootfs ? json_object_get (rootfs, "diff_ids") : NULL;
  struct cb_image_layer *grown;

  if (!json_is_array (diff_ids))
    {
      rootfs = json_pack ("{s:s, s:[]}", "type", "layers", "diff_ids");
      if (rootfs == NULL)
        return json_failed (err);
      json_object_set_new (img->config, "rootfs", rootfs);
      diff_ids = json_object_get (rootfs, "diff_ids");
    }
  grown = realloc (img->layers, (img->n_layers + 1) * sizeof *grown);
  if (grown == NULL)
    return cb_error_nomem (err);
  img->layers = grown;
  memcpy (img->layers[img->n_layers].digest, digest, CB_DIGEST_SIZE);
  img->layers[img->n_layers].size = size;
  img->n_layers++;
  if (json_array_append_new (diff_ids, json_string (diff_id)) < 0)
    return json_failed (err);
  return append_history (img, created_by, created, false, err);
}

const char *
cb_image_diff_id (struct cb_image *img, size_t i)
{
  json_t *rootfs = json_object_get (img->config, "rootfs");

  return json_string_value (json_array_get (json_object_get (rootfs, "diff_ids"), i));
}

static json_t *
manifest_json (struct cb_image *img, const char *config_digest, size_t config_size)
{
  json_t *layers = json_array ();
  json_t *manifest;

  if (layers == NULL)
    return NULL;
  for (size_t i = 0; i < img->n_layers; i++)
    json_array_append_new (layers, json_pack ("{s:s, s:s, s:I}", "mediaType", CB_MEDIA_OCI_LAYER_GZIP,
                                              "digest", img->layers[i].digest,
                                              "size", (json_int_t) img->layers[i].size));
  manifest = json_pack ("{s:i, s:s, s:{s:s, s:s, s:I}, s:o}", "schemaVersion", 2,
                        "mediaType", CB_MEDIA_OCI_MANIFEST, "config",
                        "mediaType", CB_MEDIA_OCI_CONFIG, "digest", config_digest,
                        "size", (json_int_t) config_size, "layers", layers);
  return manifest;
}

int
cb_image_commit (struct cb_image *img, struct cb_store *store, char manifest_digest[CB_DIGEST_SIZE],
                 int64_t *manifest_size, char config_digest[CB_DIGEST_SIZE], cbuild_error *err)
{
  cleanup_free char *config = json_dumps (img->config, JSON_COMPACT | JSON_SORT_KEYS);
  cleanup_free char *manifest = NULL;
  json_t *m;

  if (config == NULL)
    return json_failed (err);
  if (cb_store_put_blob (store, config, strlen (config), config_digest, err) < 0)
    return cb_error_prefix (err, "store image config");
  m = manifest_json (img, config_digest, strlen (config));
  if (m == NULL)
    return json_failed (err);
  manifest = json_dumps (m, JSON_COMPACT);
  json_decref (m);
  if (manifest == NULL)
    return json_failed (err);
  if (cb_store_put_blob (store, manifest, strlen (manifest), manifest_digest, err) < 0)
    return cb_error_prefix (err, "store image manifest");
  *manifest_size = (int64_t) strlen (manifest);
  return 0;
}
