/* The build cache: for each step, a key computed before the step runs,
 * and the layer the step produced under that key. Entries live in
 * ROOT/cache/steps/<key hex>; the layers themselves are blobs in the store. */
#ifndef CBUILD_BUILDER_CACHE_H
#define CBUILD_BUILDER_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/strv.h"
#include "layers/store.h"

/* Bump when what a key covers changes, so old entries stop matching. */
#define CB_CACHE_KEY_VERSION "cbuild-cache-1"

struct cb_cache_key
{
  struct cb_sha256 *h;
};

/* Starts a key from the state before the step (parent: the previous
 * step's key, or the base image's manifest digest) and the step's kind. */
int cb_cache_key_begin (struct cb_cache_key *key, const char *parent, const char *kind, cbuild_error *err);
/* Adds a length-prefixed field, so different field lists never collide. */
void cb_cache_key_add (struct cb_cache_key *key, const char *field);
void cb_cache_key_add_strv (struct cb_cache_key *key, const struct cb_strv *fields);
/* Writes "sha256:<hex>" and releases the hash. */
void cb_cache_key_finish (struct cb_cache_key *key, char out[CB_DIGEST_SIZE]);
void cb_cache_key_abort (struct cb_cache_key *key);

struct cb_cache_entry
{
  bool empty;                   /* the step changed nothing */
  char digest[CB_DIGEST_SIZE];  /* the layer blob, unless empty */
  char diff_id[CB_DIGEST_SIZE];
  int64_t size;
  char created[64];             /* when the layer was made (RFC 3339) */
};

/* Looks key up. *hit is false when there is no entry, the entry is
 * unreadable, or its layer blob is missing from the store. */
int cb_cache_lookup (struct cb_store *store, const char *key, struct cb_cache_entry *out, bool *hit,
                     cbuild_error *err);

/* Marks the entry as used now, for pruning the least recently used. */
void cb_cache_touch (struct cb_store *store, const char *key);

/* Records entry under key with an atomic write. Call it only after the
 * layer blob is in the store, so an entry never points at a partial layer. */
int cb_cache_record (struct cb_store *store, const char *key, const struct cb_cache_entry *entry,
                     cbuild_error *err);

#endif
