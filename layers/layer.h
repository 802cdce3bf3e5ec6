/* Layers: a directory in overlay upper-dir form to a compressed tar blob,
 * and a tar blob back to a directory that overlayfs can stack. */
#ifndef CBUILD_LAYERS_LAYER_H
#define CBUILD_LAYERS_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "layers/store.h"

#define CB_MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define CB_MEDIA_OCI_LAYER_TAR "application/vnd.oci.image.layer.v1.tar"
#define CB_MEDIA_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"

struct cb_layer_desc
{
  char digest[CB_DIGEST_SIZE];  /* of the compressed blob */
  char diff_id[CB_DIGEST_SIZE]; /* of the uncompressed tar */
  int64_t size;                 /* compressed bytes */
};

/* Writes the tree under dir as a gzip-compressed PAX tar blob into store.
 * dir is in overlay upper-dir form: a character device 0:0 becomes a
 * ".wh.NAME" whiteout, a directory with the trusted.overlay.opaque="y"
 * xattr gets a ".wh..wh..opq" entry, other trusted.overlay.* xattrs are
 * dropped. Entries are sorted by name so that the same tree always gives
 * the same digest. Tar, gzip and both digests are one streaming pass.
 * *empty is set when dir has no entries (the caller then adds no layer). */
int cb_layer_create_from_dir (struct cb_store *store, const char *dir,
                              struct cb_layer_desc *out, bool *empty, cbuild_error *err);

/* Extracts a layer blob (gzip-compressed or plain tar) into dest, which
 * must exist, converting whiteouts to overlay form (a ".wh.NAME" entry
 * becomes a 0:0 character device, ".wh..wh..opq" the opaque xattr).
 * Nothing is written outside dest: absolute names, ".." and symlinks in
 * the path of an entry are confined to dest. diff_id receives the digest
 * of the uncompressed tar. */
int cb_layer_extract (const char *blob_path, const char *dest,
                      char diff_id[CB_DIGEST_SIZE], cbuild_error *err);

/* Returns (malloc'd) the directory holding the layer's extracted content,
 * ROOT/snapshots/<diffID hex>, extracting the blob there first when it is
 * missing. The extraction goes to a temporary directory that is renamed
 * into place, so an interrupted one is never used. A diffID that does not
 * match the blob fails with CBUILD_ERR_DIGEST. */
char *cb_snapshot_ensure (struct cb_store *store, const char *blob_digest,
                          const char *diff_id, cbuild_error *err);

/* Moves a directory in overlay upper-dir form into the snapshots, under
 * diff_id, so that later steps can stack it without extracting the layer.
 * When that snapshot already exists dir is removed instead. */
int cb_snapshot_adopt (struct cb_store *store, const char *dir, const char *diff_id,
                       cbuild_error *err);

#endif
