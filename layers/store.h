/* The content-addressed blob store. Its root is an OCI image layout
 * (oci-layout, index.json, blobs/sha256/<hex>), so that the local image
 * store can be read by skopeo and umoci as it is. */
#ifndef CBUILD_LAYERS_STORE_H
#define CBUILD_LAYERS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"

struct cb_store
{
  char *root;      /* the OCI layout directory */
  char *blobs_dir; /* ROOT/blobs/sha256 */
  char *tmp_dir;   /* ROOT/tmp: same file system, for atomic renames */
  char *snapshots_dir; /* ROOT/snapshots: extracted layers, by diffID hex */
};

/* Opens (creating when missing) the store at root. */
int cb_store_open (const char *root, struct cb_store **out, cbuild_error *err);
void cb_store_free (struct cb_store *store);

/* Returns the malloc'd path of the blob, or NULL for an invalid digest. */
char *cb_store_blob_path (const struct cb_store *store, const char *digest);
bool cb_store_has_blob (const struct cb_store *store, const char *digest);

/* Reads a blob of at most max bytes and checks it against its digest. */
int cb_store_read_blob (const struct cb_store *store, const char *digest, size_t max,
                        char **out, size_t *len, cbuild_error *err);
/* Stores data as a blob and writes its digest to out. */
int cb_store_put_blob (struct cb_store *store, const void *data, size_t len,
                       char out[CB_DIGEST_SIZE], cbuild_error *err);

/* A streaming blob write: data goes to a temporary file in ROOT/tmp while
 * its SHA-256 is computed. Commit fsyncs the file and renames it to its
 * digest, so a blob under its digest is always complete. */
struct cb_blob_writer;

int cb_blob_writer_new (struct cb_store *store, struct cb_blob_writer **out, cbuild_error *err);
int cb_blob_writer_write (struct cb_blob_writer *w, const void *data, size_t len, cbuild_error *err);
/* Finishes the blob and frees w, also on failure. When expected is not
 * NULL and the content does not match it, fails with CBUILD_ERR_DIGEST and
 * stores nothing. digest and size may be NULL. */
int cb_blob_writer_commit (struct cb_blob_writer *w, const char *expected,
                           char digest[CB_DIGEST_SIZE], int64_t *size, cbuild_error *err);
/* Drops the temporary file and frees w; accepts NULL. */
void cb_blob_writer_abort (struct cb_blob_writer *w);

#endif
