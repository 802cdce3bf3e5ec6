/* The image being built: its OCI config (as jansson JSON) and its layers. */
#ifndef CBUILD_BUILDER_IMAGE_H
#define CBUILD_BUILDER_IMAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/digest.h"
#include "common/strv.h"
#include "layers/store.h"
#include "registry/client.h"

struct cb_image_layer
{
  char digest[CB_DIGEST_SIZE];
  int64_t size;
};

struct cb_image
{
  json_t *config;               /* the whole image config object */
  struct cb_image_layer *layers; /* base first, aligned with rootfs.diff_ids */
  size_t n_layers;
  char *epoch; /* SOURCE_DATE_EPOCH as RFC 3339: the time of every new history entry */
};

/* Starts from nothing, as FROM scratch does: BuildKit gives such an image a
 * default PATH and WorkingDir "/". */
int cb_image_init_scratch (struct cb_image *img, const struct cb_platform *platform, cbuild_error *err);
/* Starts from a pulled image's config and layers. */
int cb_image_init_pulled (struct cb_image *img, const struct cb_pulled_image *pulled, cbuild_error *err);
int cb_image_copy (struct cb_image *dst, const struct cb_image *src, cbuild_error *err);
void cb_image_release (struct cb_image *img);

/* The "config" object (Env, Cmd, ...), created when missing. */
json_t *cb_image_runconfig (struct cb_image *img);

/* The image's Env as a string list (copied into env). */
int cb_image_env (struct cb_image *img, struct cb_strv *env, cbuild_error *err);
int cb_image_set_env (struct cb_image *img, const char *name, const char *value, cbuild_error *err);

/* Sets config.KEY to a JSON array of strings, or removes it for NULL. */
int cb_image_set_strings (struct cb_image *img, const char *key, char *const *items, size_t n,
                          cbuild_error *err);
/* Sets config.KEY to a string, or removes it for NULL. */
int cb_image_set_string (struct cb_image *img, const char *key, const char *value, cbuild_error *err);
/* Adds KEY to the object config.FIELD (ExposedPorts, Volumes use {} values;
 * Labels use strings, value != NULL). */
int cb_image_set_member (struct cb_image *img, const char *field, const char *key, const char *value,
                         cbuild_error *err);

/* Appends a history entry; the layer, when there is one, is appended to
 * rootfs.diff_ids and to layers. created NULL takes the time of the
 * newest entry, so that metadata-only steps do not change the digest of
 * an otherwise identical image. */
int cb_image_add_history (struct cb_image *img, const char *created_by, const char *created,
                          cbuild_error *err);
int cb_image_add_layer (struct cb_image *img, const char *digest, int64_t size, const char *diff_id,
                        const char *created_by, const char *created, cbuild_error *err);

/* The diffIDs of the layers, base first. */
const char *cb_image_diff_id (struct cb_image *img, size_t i);

/* Stores the config and an OCI manifest for img in the store and fills
 * the manifest's digest and size. The config is serialized with sorted
 * keys, so that the same image always gives the same digests. */
int cb_image_commit (struct cb_image *img, struct cb_store *store, char manifest_digest[CB_DIGEST_SIZE],
                     int64_t *manifest_size, char config_digest[CB_DIGEST_SIZE], cbuild_error *err);

#endif
