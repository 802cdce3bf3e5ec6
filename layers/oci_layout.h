/* Naming images in the local OCI layout and exporting them. */
#ifndef CBUILD_LAYERS_OCI_LAYOUT_H
#define CBUILD_LAYERS_OCI_LAYOUT_H

#include <stdbool.h>
#include <stdint.h>

#include "layers/store.h"

#define CB_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define CB_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define CB_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define CB_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define CB_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define CB_MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

/* The index.json annotation that names an image in an OCI layout. */
#define CB_ANNOTATION_REF_NAME "org.opencontainers.image.ref.name"

/* Points name (the "org.opencontainers.image.ref.name" annotation, here a
 * full reference such as "docker.io/library/app:latest") at the manifest in
 * the store's index.json, replacing an older entry of that name. The update
 * holds a lock on the index and replaces it atomically. */
int cb_layout_tag (struct cb_store *store, const char *name, const char *manifest_digest,
                   int64_t manifest_size, const char *media_type, cbuild_error *err);

/* Looks name up in index.json; digest receives the manifest digest.
 * Fails with CBUILD_ERR_NOT_FOUND when there is no such name. */
int cb_layout_lookup (struct cb_store *store, const char *name, char digest[CB_DIGEST_SIZE],
                      cbuild_error *err);

/* Writes the image (its manifest, config and layers) as a new OCI layout:
 * a directory at dest, or, when as_tar, a tar archive of that layout. name
 * becomes the ref.name annotation when not NULL. The result appears at
 * dest only when complete. */
int cb_layout_export (struct cb_store *store, const char *manifest_digest, const char *name,
                      const char *dest, bool as_tar, cbuild_error *err);

#endif
