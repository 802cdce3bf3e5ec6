/* --cache-from: the entries of exported caches, read at the start of the
 * build, and the layers of those that steps hit, fetched on demand. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/cache_remote.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/oci_layout.h"
#include "registry/reference.h"

#define INDEX_MAX ((size_t) 4 << 20)

struct cache_source
{
  const struct cb_cache_spec *spec;
  struct cb_reference ref; /* type=registry */
  const char *name;        /* the ref or the directory, for messages */
};

/* An imported entry and the source that has its layer. */
struct import_item
{
  struct cb_cache_item item;
  size_t source;
};

struct cb_remote_cache
{
  struct cache_source *sources;
  size_t n_sources;
  struct import_item *items; /* sorted by key, then by source */
  size_t n_items;
};

void
cb_remote_cache_free (struct cb_remote_cache *rc)
{
  if (rc == NULL)
    return;
  for (size_t i = 0; i < rc->n_sources; i++)
    cb_reference_release (&rc->sources[i].ref);
  free (rc->sources);
  free (rc->items);
  free (rc);
}

/* Reads DIR/blobs/sha256/<hex>, at most max bytes, and checks its digest. */
static int
read_layout_blob (const char *dir, const struct cb_cache_blob *blob, size_t max, char **out, size_t *len,
                  cbuild_error *err)
{
  cleanup_free char *path = NULL;
  char got[CB_DIGEST_SIZE];

  if ((size_t) blob->size > max)
    return cb_error_set (err, CBUILD_ERR_INVALID, "blob %s is larger than %zu bytes", blob->digest, max);
  if (asprintf (&path, "%s/blobs/sha256/%s", dir, blob->digest + strlen ("sha256:")) < 0)
    return cb_error_nomem (err);
  if (cb_read_file (path, max, out, len, err) < 0 || cb_sha256_bytes (*out, *len, got, err) < 0)
    return -1;
  if (strcmp (got, blob->digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "blob '%s' has digest %s", path, got);
  return 0;
}

/* Finds the manifest that index.json of the layout at dir names. */
static int
layout_manifest (const char *dir, struct cb_cache_blob *out, cbuild_error *err)
{
  cleanup_free char *path = cb_path_join (dir, "index.json");
  cleanup_free char *text = NULL;
  json_t *root, *desc;
  const char *digest;
  size_t len = 0;
  int ret = 0;

  if (path == NULL)
    return cb_error_nomem (err);
  if (cb_read_file (path, INDEX_MAX, &text, &len, err) < 0)
    return -1;
  root = json_loadb (text, len, 0, NULL);
  desc = json_array_get (json_object_get (root, "manifests"), 0);
  digest = json_string_value (json_object_get (desc, "digest"));
  if (!cb_digest_valid (digest) || !json_is_integer (json_object_get (desc, "size")))
    ret = cb_error_set (err, CBUILD_ERR_INVALID, "'%s' names no manifest", path);
  else
    {
      strcpy (out->digest, digest);
      out->size = json_integer_value (json_object_get (desc, "size"));
    }
  json_decref (root);
  return ret;
}

static int
import_local (struct cache_source *src, struct cb_cache_manifest *m, char **config, size_t *config_len,
              cbuild_error *err)
{
  cleanup_free char *body = NULL;
  struct cb_cache_blob manifest;
  size_t len = 0;

  if (layout_manifest (src->spec->dir, &manifest, err) < 0
      || read_layout_blob (src->spec->dir, &manifest, CB_CACHE_MANIFEST_MAX, &body, &len, err) < 0
      || cb_cache_manifest_decode (body, len, m, err) < 0)
    return -1;
  return read_layout_blob (src->spec->dir, &m->config, CB_CACHE_CONFIG_MAX, config, config_len, err);
}

static int
import_registry (struct cb_build *b, struct cache_source *src, struct cb_cache_manifest *m, char **config,
                 size_t *config_len, cbuild_error *err)
{
  cleanup_free char *body = NULL;
  char digest[CB_DIGEST_SIZE];
  size_t len = 0;

  if (cb_registry_fetch_manifest (b->registry, &src->ref, CB_MEDIA_OCI_MANIFEST, &body, &len, digest, err) < 0
      || cb_cache_manifest_decode (body, len, m, err) < 0)
    return -1;
  if (cb_registry_fetch_blob (b->registry, &src->ref, m->config.digest, m->config.size, b->store, err) < 0)
    return -1;
  return cb_store_read_blob (b->store, m->config.digest, CB_CACHE_CONFIG_MAX, config, config_len, err);
}

/* Appends the entries of source index to rc->items. */
static int
add_items (struct cb_remote_cache *rc, size_t index, const struct cb_cache_item *items, size_t n, cbuild_error *err)
{
  struct import_item *grown = realloc (rc->items, (rc->n_items + n + 1) * sizeof *grown);

  if (grown == NULL)
    return cb_error_nomem (err);
  rc->items = grown;
  for (size_t i = 0; i < n; i++)
    {
      rc->items[rc->n_items].item = items[i];
      rc->items[rc->n_items++].source = index;
    }
  return 0;
}

static int
import_source (struct cb_build *b, struct cb_remote_cache *rc, size_t index, cbuild_error *err)
{
  struct cache_source *src = &rc->sources[index];
  struct cb_cache_manifest m = { 0 };
  cleanup_free struct cb_cache_item *items = NULL;
  cleanup_free char *config = NULL;
  size_t config_len = 0, n = 0;
  int ret;

  if (src->spec->type == CB_CACHE_STORE_LOCAL)
    ret = import_local (src, &m, &config, &config_len, err);
  else
    ret = cb_reference_parse (src->spec->ref, &src->ref, err) < 0
              ? -1
              : import_registry (b, src, &m, &config, &config_len, err);
  if (ret == 0)
    ret = cb_cache_config_decode (config, config_len, &m, &items, &n, err);
  cb_cache_manifest_release (&m);
  if (ret < 0)
    return -1;
  cb_log (b->log, CBUILD_LOG_INFO, "imported %zu cache entr%s from '%s'", n, n == 1 ? "y" : "ies", src->name);
  return add_items (rc, index, items, n, err);
}

static int
compare_import_items (const void *a, const void *b)
{
  const struct import_item *x = a, *y = b;
  int c = strcmp (x->item.key, y->item.key);

  if (c != 0)
    return c;
  return x->source < y->source ? -1 : x->source > y->source;
}

int
cb_remote_cache_import (struct cb_build *b, struct cb_remote_cache **out, cbuild_error *err)
{
  const cbuild_build_options *opts = b->opts;
  struct cb_remote_cache *rc = calloc (1, sizeof *rc);

  *out = NULL;
  if (rc == NULL || (rc->sources = calloc (opts->n_cache_from + 1, sizeof *rc->sources)) == NULL)
    {
      free (rc);
      return cb_error_nomem (err);
    }
  rc->n_sources = opts->n_cache_from;
  for (size_t i = 0; i < rc->n_sources; i++)
    {
      struct cache_source *src = &rc->sources[i];
      cbuild_error source_err = { 0 };

      src->spec = &opts->cache_from[i];
      src->name = src->spec->type == CB_CACHE_STORE_LOCAL ? src->spec->dir : src->spec->ref;
      if (import_source (b, rc, i, &source_err) == 0)
        continue;
      if (source_err.code == CBUILD_ERR_NOMEM)
        {
          cb_remote_cache_free (rc);
          return cb_error_nomem (err);
        }
      /* As docker build does: a cache that cannot be read only costs the
       * steps it would have saved. */
      cb_log (b->log, CBUILD_LOG_WARN, "cache '%s' not imported: %s", src->name, source_err.message);
    }
  if (rc->n_items == 0)
    {
      cb_remote_cache_free (rc);
      return 0;
    }
  qsort (rc->items, rc->n_items, sizeof *rc->items, compare_import_items);
  *out = rc;
  return 0;
}

/* "1.3 kB": decimal units, as the pull and push lines print sizes. */
static void
human_size (int64_t size, char out[32])
{
  static const char *const units[] = { "kB", "MB", "GB", "TB" };
  double value = (double) size;
  size_t unit = 0;

  if (size < 1000)
    {
      snprintf (out, 32, "%lld B", (long long) size);
      return;
    }
  value /= 1000;
  while (value >= 1000 && unit + 1 < sizeof units / sizeof units[0])
    {
      value /= 1000;
      unit++;
    }
  snprintf (out, 32, "%.1f %s", value, units[unit]);
}

/* Fetches the layer of e from its source into the store. */
static int
fetch_layer (struct cb_build *b, const struct cache_source *src, const struct cb_cache_entry *e, cbuild_error *err)
{
  char size[32];
  int ret;

  human_size (e->size, size);
  cb_log (b->log, CBUILD_LOG_INFO, "fetching layer %.19s (%s) from cache '%s'", e->digest, size, src->name);
  if (src->spec->type == CB_CACHE_STORE_LOCAL)
    return cb_cache_blob_copy_from_dir (b->store, src->spec->dir, e->digest, e->size, err);

  /* The registry client has one connection and token cache for the build. */
  pthread_mutex_lock (&b->shared->registry_lock);
  b->shared->pull_label = b->n_stages > 1 && b->stage ? b->stage->label : NULL;
  ret = cb_registry_fetch_blob (b->registry, &src->ref, e->digest, e->size, b->store, err);
  b->shared->pull_label = NULL;
  pthread_mutex_unlock (&b->shared->registry_lock);
  return ret;
}

/* Makes the layer of e available in the store, checking it against what
 * the entry claims: the digest while it is stored, the diffID after. An
 * image whose diffIDs do not match its layers would fail to run. */
static int
ensure_layer (struct cb_build *b, const struct cache_source *src, const struct cb_cache_entry *e, cbuild_error *err)
{
  char diff_id[CB_DIGEST_SIZE];

  if (e->empty)
    return 0;
  if (!cb_store_has_blob (b->store, e->digest) && fetch_layer (b, src, e, err) < 0)
    return -1;
  if (cb_cache_blob_diff_id (b->store, e->digest, diff_id, err) < 0)
    return -1;
  if (strcmp (diff_id, e->diff_id) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "layer %s has diffID %s, the cache entry says %s", e->digest,
                         diff_id, e->diff_id);
  return 0;
}

static size_t
first_match (const struct cb_remote_cache *rc, const char *key)
{
  size_t lo = 0, hi = rc->n_items;

  while (lo < hi)
    {
      size_t mid = lo + (hi - lo) / 2;

      if (strcmp (rc->items[mid].item.key, key) < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

int
cb_remote_cache_lookup (struct cb_build *b, const char *key, struct cb_cache_entry *out, bool *hit,
                        cbuild_error *err)
{
  const struct cb_remote_cache *rc = b->remote_cache;
  cbuild_error ignored = { 0 };

  *hit = false;
  if (rc == NULL)
    return 0;
  for (size_t i = first_match (rc, key); i < rc->n_items && strcmp (rc->items[i].item.key, key) == 0; i++)
    {
      const struct import_item *it = &rc->items[i];
      const struct cache_source *src = &rc->sources[it->source];
      cbuild_error fetch_err = { 0 };

      if (ensure_layer (b, src, &it->item.entry, &fetch_err) < 0)
        {
          if (fetch_err.code == CBUILD_ERR_NOMEM)
            return cb_error_nomem (err);
          cb_log (b->log, CBUILD_LOG_WARN, "cache '%s': %s; trying without it", src->name, fetch_err.message);
          continue;
        }
      *out = it->item.entry;
      *hit = true;
      /* Recorded locally, the entry hits without the source next time.
       * The record only saves work, so failing to write it is no error. */
      cb_cache_record (b->store, key, out, &ignored);
      return 0;
    }
  return 0;
}
