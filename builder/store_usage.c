#include "builder/store_usage.h"

#include <dirent.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

#define JSON_MAX ((size_t) 8 << 20)

static __thread int64_t tree_total;

static int
add_size (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) path;
  (void) type;
  (void) ftw;
  tree_total += (int64_t) st->st_blocks * 512;
  return 0;
}

int64_t
cb_tree_size (const char *path)
{
  tree_total = 0;
  nftw (path, add_size, 32, FTW_PHYS | FTW_MOUNT);
  return tree_total;
}

static json_t *
load_blob_json (struct cb_store *store, const char *digest, cbuild_error *err)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  json_t *root;

  if (cb_store_read_blob (store, digest, JSON_MAX, &text, &len, err) < 0)
    return NULL;
  root = json_loadb (text, len, 0, NULL);
  if (root == NULL)
    cb_error_set (err, CBUILD_ERR_INVALID, "blob %s is not valid JSON", digest);
  return root;
}

static int
push_unique (struct cb_strv *v, const char *s, cbuild_error *err)
{
  if (s == NULL || cb_strv_contains (v, s))
    return 0;
  return cb_strv_push (v, s, err);
}

/* Adds the manifest, its config, its layers and their diffIDs. A
 * manifest or config missing from the store is skipped: there is nothing
 * of it to keep. */
static int
scan_manifest (struct cb_store *store, const char *digest, struct cb_usage_scan *scan, cbuild_error *err)
{
  cbuild_error ignored = { 0 };
  json_t *manifest = load_blob_json (store, digest, &ignored);
  const char *config_digest;
  json_t *config, *layer;
  size_t i;
  int ret = push_unique (&scan->image_blobs, digest, err);

  if (manifest == NULL || ret < 0)
    return ret;
  config_digest = json_string_value (json_object_get (json_object_get (manifest, "config"), "digest"));
  ret = push_unique (&scan->image_blobs, config_digest, err);
  json_array_foreach (json_object_get (manifest, "layers"), i, layer)
    if (ret == 0)
      ret = push_unique (&scan->image_blobs, json_string_value (json_object_get (layer, "digest")), err);
  config = ret == 0 && config_digest ? load_blob_json (store, config_digest, &ignored) : NULL;
  json_array_foreach (json_object_get (json_object_get (config, "rootfs"), "diff_ids"), i, layer)
    if (ret == 0)
      ret = push_unique (&scan->image_diff_ids, json_string_value (layer), err);
  json_decref (config);
  json_decref (manifest);
  return ret;
}

static int
scan_images (struct cb_store *store, struct cb_usage_scan *scan, cbuild_error *err)
{
  cleanup_free char *path = cb_path_join (store->root, "index.json");
  cleanup_free char *text = NULL;
  json_t *index, *desc;
  size_t i, len = 0;
  int ret = 0;

  if (path == NULL)
    return cb_error_nomem (err);
  if (cb_read_file (path, JSON_MAX, &text, &len, err) < 0)
    return -1;
  index = json_loadb (text, len, 0, NULL);
  if (index == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "'%s' is not valid JSON", path);
  json_array_foreach (json_object_get (index, "manifests"), i, desc)
    if (ret == 0)
      ret = scan_manifest (store, json_string_value (json_object_get (desc, "digest")), scan, err);
  json_decref (index);
  return ret;
}

static void
read_entry (struct cb_cache_ref *ref)
{
  cleanup_free char *text = NULL;
  cbuild_error ignored = { 0 };
  json_t *root, *layer;
  const char *digest, *diff_id;

  ref->digest[0] = ref->diff_id[0] = '\0';
  if (cb_read_file (ref->path, 4096, &text, NULL, &ignored) < 0)
    return;
  root = json_loads (text, 0, NULL);
  layer = json_object_get (root, "layer");
  digest = json_string_value (json_object_get (layer, "digest"));
  diff_id = json_string_value (json_object_get (layer, "diff_id"));
  if (cb_digest_valid (digest) && cb_digest_valid (diff_id))
    {
      strcpy (ref->digest, digest);
      strcpy (ref->diff_id, diff_id);
    }
  json_decref (root);
}

static int
compare_last_used (const void *a, const void *b)
{
  const struct cb_cache_ref *x = a, *y = b;

  return (x->last_used > y->last_used) - (x->last_used < y->last_used);
}

static int
scan_cache (struct cb_store *store, struct cb_usage_scan *scan, cbuild_error *err)
{
  cleanup_free char *dir_path = NULL;
  DIR *dir;
  struct dirent *de;
  size_t cap = 0;

  if (asprintf (&dir_path, "%s/cache/steps", store->root) < 0)
    return cb_error_nomem (err);
  dir = opendir (dir_path);
  if (dir == NULL)
    return 0;
  while ((de = readdir (dir)) != NULL)
    {
      struct cb_cache_ref *ref;
      struct stat st;

      if (de->d_name[0] == '.' || strstr (de->d_name, ".tmp-") != NULL)
        continue;
      if (scan->n_entries == cap)
        {
          struct cb_cache_ref *grown = realloc (scan->entries, (cap ? cap * 2 : 64) * sizeof *grown);
          if (grown == NULL)
            {
              closedir (dir);
              return cb_error_nomem (err);
            }
          scan->entries = grown;
          cap = cap ? cap * 2 : 64;
        }
      ref = &scan->entries[scan->n_entries];
      ref->path = cb_path_join (dir_path, de->d_name);
      if (ref->path == NULL || stat (ref->path, &st) < 0)
        {
          free (ref->path);
          continue;
        }
      ref->last_used = st.st_mtim.tv_sec;
      read_entry (ref);
      scan->n_entries++;
    }
  closedir (dir);
  if (scan->n_entries > 1)
    qsort (scan->entries, scan->n_entries, sizeof *scan->entries, compare_last_used);
  return 0;
}

int
cb_usage_scan (struct cb_store *store, struct cb_usage_scan *scan, cbuild_error *err)
{
  memset (scan, 0, sizeof *scan);
  if (scan_images (store, scan, err) < 0)
    return -1;
  return scan_cache (store, scan, err);
}

void
cb_usage_scan_release (struct cb_usage_scan *scan)
{
  cb_strv_release (&scan->image_blobs);
  cb_strv_release (&scan->image_diff_ids);
  for (size_t i = 0; i < scan->n_entries; i++)
    free (scan->entries[i].path);
  free (scan->entries);
  memset (scan, 0, sizeof *scan);
}
