#include "builder/cache.h"

#include <fcntl.h>
#include <jansson.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

#define ENTRY_MAX 4096

int
cb_cache_key_begin (struct cb_cache_key *key, const char *parent, const char *kind, cbuild_error *err)
{
  key->h = cb_sha256_new (err);
  if (key->h == NULL)
    return -1;
  cb_cache_key_add (key, CB_CACHE_KEY_VERSION);
  cb_cache_key_add (key, parent);
  cb_cache_key_add (key, kind);
  return 0;
}

void
cb_cache_key_add (struct cb_cache_key *key, const char *field)
{
  uint64_t len = strlen (field);

  cb_sha256_update (key->h, &len, sizeof len);
  cb_sha256_update (key->h, field, len);
}

void
cb_cache_key_add_strv (struct cb_cache_key *key, const struct cb_strv *fields)
{
  char count[32];

  snprintf (count, sizeof count, "%zu", fields->len);
  cb_cache_key_add (key, count);
  for (size_t i = 0; i < fields->len; i++)
    cb_cache_key_add (key, fields->items[i]);
}

void
cb_cache_key_finish (struct cb_cache_key *key, char out[CB_DIGEST_SIZE])
{
  cb_sha256_finish (key->h, out);
  key->h = NULL;
}

void
cb_cache_key_abort (struct cb_cache_key *key)
{
  cb_sha256_free (key->h);
  key->h = NULL;
}

static char *
entry_path (struct cb_store *store, const char *key)
{
  char *path = NULL;

  if (!cb_digest_valid (key))
    return NULL;
  if (asprintf (&path, "%s/cache/steps/%s", store->root, key + 7) < 0)
    return NULL;
  return path;
}

static bool
parse_entry (const char *text, struct cb_cache_entry *out)
{
  json_t *root = json_loads (text, 0, NULL);
  const char *created = json_string_value (json_object_get (root, "created"));
  json_t *layer = json_object_get (root, "layer");
  bool ok = created != NULL && strlen (created) < sizeof out->created;

  memset (out, 0, sizeof *out);
  if (ok)
    strcpy (out->created, created);
  if (ok && json_is_null (layer))
    out->empty = true;
  else if (ok)
    {
      const char *digest = json_string_value (json_object_get (layer, "digest"));
      const char *diff_id = json_string_value (json_object_get (layer, "diff_id"));
      json_t *size = json_object_get (layer, "size");
      ok = cb_digest_valid (digest) && cb_digest_valid (diff_id) && json_is_integer (size);
      if (ok)
        {
          strcpy (out->digest, digest);
          strcpy (out->diff_id, diff_id);
          out->size = json_integer_value (size);
        }
    }
  json_decref (root);
  return ok;
}

int
cb_cache_lookup (struct cb_store *store, const char *key, struct cb_cache_entry *out, bool *hit,
                 cbuild_error *err)
{
  cleanup_free char *path = entry_path (store, key);
  cleanup_free char *text = NULL;
  cbuild_error ignored = { 0 };

  *hit = false;
  if (path == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache key '%s'", key);
  /* An unreadable or damaged entry is a miss: the step just runs again. */
  if (cb_read_file (path, ENTRY_MAX, &text, NULL, &ignored) < 0 || !parse_entry (text, out))
    return 0;
  *hit = out->empty || cb_store_has_blob (store, out->digest);
  return 0;
}

void
cb_cache_touch (struct cb_store *store, const char *key)
{
  cleanup_free char *path = entry_path (store, key);

  if (path)
    utimensat (AT_FDCWD, path, NULL, 0);
}

int
cb_cache_record (struct cb_store *store, const char *key, const struct cb_cache_entry *entry,
                 cbuild_error *err)
{
  cleanup_free char *path = entry_path (store, key);
  cleanup_free char *dir = NULL;
  cleanup_free char *text = NULL;
  json_t *root;

  if (path == NULL || asprintf (&dir, "%s/cache/steps", store->root) < 0)
    return cb_error_nomem (err);
  if (entry->empty)
    root = json_pack ("{s:s, s:n}", "created", entry->created, "layer");
  else
    root = json_pack ("{s:s, s:{s:s, s:s, s:I}}", "created", entry->created, "layer", "digest", entry->digest,
                      "diff_id", entry->diff_id, "size", (json_int_t) entry->size);
  text = root ? json_dumps (root, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
  json_decref (root);
  if (text == NULL)
    return cb_error_nomem (err);
  if (cb_mkdir_p (dir, 0700, err) < 0)
    return -1;
  return cb_write_file_atomic (path, text, strlen (text), 0600, err);
}
