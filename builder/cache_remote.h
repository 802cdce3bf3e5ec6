/* Sharing the build cache between machines through a registry or an OCI
 * layout directory, as docker buildx's --cache-to and --cache-from do.
 *
 * The exported cache is an OCI image manifest whose config blob (media
 * type CB_MEDIA_CACHE_CONFIG) lists step entries: a step's cache key and
 * the layer it produced (or null for a step that changed nothing). The
 * manifest's layers are those layers, each once. Importing reads only the
 * manifest and the config. A step whose key misses the local cache but
 * matches an imported entry fetches that one layer and counts as a hit.
 * Every step is looked up on its own, so a miss never stops the lookups
 * of other stages' steps. Steps after a miss in the same stage miss too,
 * because their keys chain on the key of the step that ran again. */
#ifndef CBUILD_BUILDER_CACHE_REMOTE_H
#define CBUILD_BUILDER_CACHE_REMOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "builder/build.h"
#include "builder/cache.h"

#define CB_MEDIA_CACHE_CONFIG "application/vnd.cbuild.cache.config.v1+json"

/* The cache config and the manifest are read whole, so they are bounded:
 * 16 MiB of entries is about 50,000 steps. */
#define CB_CACHE_CONFIG_MAX ((size_t) 16 << 20)
#define CB_CACHE_MANIFEST_MAX ((size_t) 4 << 20)

struct cb_cache_item
{
  char key[CB_DIGEST_SIZE];
  struct cb_cache_entry entry;
};

struct cb_cache_blob
{
  char digest[CB_DIGEST_SIZE];
  int64_t size;
};

/* A cache manifest as read: its config and its layers. */
struct cb_cache_manifest
{
  struct cb_cache_blob config;
  struct cb_cache_blob *layers;
  size_t n_layers;
};

void cb_cache_manifest_release (struct cb_cache_manifest *m);

/* Encoding (cache_format.c). Both outputs are malloc'd JSON. The config
 * lists items sorted by key, so the same entries give the same digest. */
int cb_cache_config_encode (struct cb_cache_item *items, size_t n, char **json, cbuild_error *err);
/* The manifest names the config and each distinct layer of items once. */
int cb_cache_manifest_encode (const struct cb_cache_blob *config, const struct cb_cache_item *items, size_t n,
                              char **json, cbuild_error *err);

/* Decoding. Fails with CBUILD_ERR_INVALID for a manifest that is not a
 * cbuild cache (another config media type) and CBUILD_ERR_REGISTRY for
 * one that is malformed. */
int cb_cache_manifest_decode (const char *body, size_t len, struct cb_cache_manifest *out, cbuild_error *err);
/* Parses the config's entries into *items (malloc'd, sorted by key). An
 * entry whose layer is not a layer of m, or has another size there, is
 * rejected: only blobs the manifest names are fetched. */
int cb_cache_config_decode (const char *body, size_t len, const struct cb_cache_manifest *m,
                            struct cb_cache_item **items, size_t *n, cbuild_error *err);

/* Import (cache_import.c). */
struct cb_remote_cache;

/* Reads the cache manifest and config of every --cache-from. A source that
 * cannot be read is logged as a warning and skipped. *out is NULL when no
 * source gave an entry. Fails only when out of memory. */
int cb_remote_cache_import (struct cb_build *b, struct cb_remote_cache **out, cbuild_error *err);
void cb_remote_cache_free (struct cb_remote_cache *rc);

/* Looks key up in the imported entries. On a match, fetches the layer into
 * the store (when missing), checks its digest and diffID, records the
 * entry in the local cache and sets *hit. A layer that cannot be fetched
 * is logged as a warning and the next source's entry is tried; with none
 * left the step misses. Safe to call from several stages at once. */
int cb_remote_cache_lookup (struct cb_build *b, const char *key, struct cb_cache_entry *out, bool *hit,
                            cbuild_error *err);

/* Export (cache_export.c): writes the entries of the steps this build ran
 * or reused to every --cache-to, after the image is built. target is the
 * stage of the final image, whose chain mode=min exports. */
int cb_remote_cache_export (struct cb_build *b, struct cb_stage *target, cbuild_error *err);

/* Layer blobs (cache_blob.c). */
/* Copies the blob digest of the OCI layout at dir into the store, checked
 * against digest and size. */
int cb_cache_blob_copy_from_dir (struct cb_store *store, const char *dir, const char *digest, int64_t size,
                                 cbuild_error *err);
/* Computes the diffID of a gzip-compressed layer blob in the store: the
 * digest of its uncompressed tar. Fails with CBUILD_ERR_DIGEST when the
 * blob is not valid gzip. */
int cb_cache_blob_diff_id (struct cb_store *store, const char *digest, char diff_id[CB_DIGEST_SIZE],
                           cbuild_error *err);

#endif
