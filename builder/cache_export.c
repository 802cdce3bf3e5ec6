/* --cache-to: after a successful build, the entries of the steps it ran
 * or reused, with their layers, pushed to a registry or written as an OCI
 * layout directory. */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "builder/cache_remote.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/oci_layout.h"
#include "registry/reference.h"

/* The chain key a stage's steps start from: the base image's digest, or
 * the last key of the stage it was built FROM. */
static const char *
stage_origin (const struct cb_stage *st)
{
  return st->cache_keys.len > 0 ? st->cache_origin : st->cache_parent;
}

static int
add_stage_keys (const struct cb_stage *st, struct cb_strv *keys, cbuild_error *err)
{
  for (size_t i = 0; i < st->cache_keys.len; i++)
    if (!cb_strv_contains (keys, st->cache_keys.items[i]) && cb_strv_push (keys, st->cache_keys.items[i], err) < 0)
      return -1;
  return 0;
}

/* Returns the stage, not yet visited, that st was built FROM: the one
 * whose chain ends where st's begins. */
static struct cb_stage *
base_stage (struct cb_build *b, const struct cb_stage *st, bool *visited)
{
  const char *origin = stage_origin (st);

  for (size_t i = 0; i < b->n_stages; i++)
    if (!visited[i] && b->stages[i].needed && strcmp (b->stages[i].cache_parent, origin) == 0)
      {
        visited[i] = true;
        return &b->stages[i];
      }
  return NULL;
}

/* mode=max: the steps of every stage built. mode=min: the steps whose
 * layers the final image has, which are the target stage's and those of
 * the stages it is built FROM, in turn. */
static int
collect_keys (struct cb_build *b, struct cb_stage *target, bool all_stages, struct cb_strv *keys, cbuild_error *err)
{
  cleanup_free bool *visited = calloc (b->n_stages + 1, sizeof *visited);

  if (visited == NULL)
    return cb_error_nomem (err);
  if (all_stages)
    {
      for (size_t i = 0; i < b->n_stages; i++)
        if (add_stage_keys (&b->stages[i], keys, err) < 0)
          return -1;
      return 0;
    }
  visited[target - b->stages] = true;
  for (struct cb_stage *st = target; st; st = base_stage (b, st, visited))
    if (add_stage_keys (st, keys, err) < 0)
      return -1;
  return 0;
}

/* Reads the local entry of each key. A key without one is skipped: its
 * step failed to record, or its layer is gone from the store. */
static int
collect_items (struct cb_build *b, const struct cb_strv *keys, struct cb_cache_item **items, size_t *n,
               cbuild_error *err)
{
  *n = 0;
  *items = calloc (keys->len + 1, sizeof **items);
  if (*items == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < keys->len; i++)
    {
      struct cb_cache_item *item = &(*items)[*n];
      bool hit = false;

      if (cb_cache_lookup (b->store, keys->items[i], &item->entry, &hit, err) < 0)
        return -1;
      if (!hit)
        continue;
      strcpy (item->key, keys->items[i]);
      (*n)++;
    }
  return 0;
}

/* Puts the config and the manifest into the store, where the push and the
 * layout export read them like an image's. */
static int
store_cache_manifest (struct cb_build *b, struct cb_cache_item *items, size_t n, char digest[CB_DIGEST_SIZE],
                      cbuild_error *err)
{
  cleanup_free char *config = NULL;
  cleanup_free char *manifest = NULL;
  struct cb_cache_blob config_blob;

  if (cb_cache_config_encode (items, n, &config, err) < 0
      || cb_store_put_blob (b->store, config, strlen (config), config_blob.digest, err) < 0)
    return -1;
  config_blob.size = (int64_t) strlen (config);
  if (cb_cache_manifest_encode (&config_blob, items, n, &manifest, err) < 0)
    return -1;
  return cb_store_put_blob (b->store, manifest, strlen (manifest), digest, err);
}

static int
push_cache (struct cb_build *b, const char *ref_text, const char *digest, cbuild_error *err)
{
  struct cb_reference ref = { 0 };
  int ret;

  if (cb_reference_parse (ref_text, &ref, err) < 0)
    return -1;
  /* cb_registry_push uploads the config and every layer the registry
   * lacks before the manifest, so the tag never names a partial cache. */
  ret = cb_registry_push (b->registry, &ref, b->store, digest, err);
  cb_reference_release (&ref);
  return ret;
}

/* Writes the layout through a temporary directory that replaces dest in
 * one rename, so readers see the old cache or the new one.
 * NOTE: each export copies every layer again, also those that dest has. */
static int
write_cache_dir (struct cb_build *b, const char *dest, const char *digest, cbuild_error *err)
{
  cleanup_free char *copy = strdup (dest);

  if (copy == NULL)
    return cb_error_nomem (err);
  if (cb_mkdir_p (dirname (copy), 0755, err) < 0)
    return -1;
  return cb_layout_export (b->store, digest, NULL, dest, false, err);
}

static int
export_one (struct cb_build *b, struct cb_stage *target, const struct cb_cache_spec *spec, cbuild_error *err)
{
  cleanup_strv struct cb_strv keys = CB_STRV_INIT;
  cleanup_free struct cb_cache_item *items = NULL;
  const char *name = spec->type == CB_CACHE_STORE_LOCAL ? spec->dir : spec->ref;
  char digest[CB_DIGEST_SIZE];
  size_t n = 0;

  if (collect_keys (b, target, spec->all_stages, &keys, err) < 0 || collect_items (b, &keys, &items, &n, err) < 0
      || store_cache_manifest (b, items, n, digest, err) < 0)
    return -1;
  cb_log (b->log, CBUILD_LOG_INFO, "exporting %zu cache entr%s to '%s' (mode=%s)", n, n == 1 ? "y" : "ies", name,
          spec->all_stages ? "max" : "min");
  if (spec->type == CB_CACHE_STORE_LOCAL)
    return write_cache_dir (b, spec->dir, digest, err);
  return push_cache (b, spec->ref, digest, err);
}

int
cb_remote_cache_export (struct cb_build *b, struct cb_stage *target, cbuild_error *err)
{
  for (size_t i = 0; i < b->opts->n_cache_to; i++)
    {
      const struct cb_cache_spec *spec = &b->opts->cache_to[i];
      const char *name = spec->type == CB_CACHE_STORE_LOCAL ? spec->dir : spec->ref;
      cbuild_error spec_err = { 0 };

      if (export_one (b, target, spec, &spec_err) == 0)
        continue;
      if (!spec->ignore_error || spec_err.code == CBUILD_ERR_NOMEM)
        {
          if (err)
            *err = spec_err;
          return cb_error_prefix (err, "export cache to '%s'", name);
        }
      cb_log (b->log, CBUILD_LOG_WARN, "cache not exported to '%s': %s", name, spec_err.message);
    }
  return 0;
}
