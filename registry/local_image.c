/* An image already in the blob store, read back the way a pull returns it,
 * so that a build can start from a base image without asking the registry. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "registry/client.h"
#include "registry/manifest.h"

#define MANIFEST_MAX ((size_t) 4 << 20)
#define CONFIG_MAX ((size_t) 8 << 20)

static int
copy_layers (const struct cb_manifest *m, struct cb_store *store, struct cb_pulled_image *out, cbuild_error *err)
{
  out->layers = calloc (m->n_items ? m->n_items : 1, sizeof *out->layers);
  if (out->layers == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < m->n_items; i++)
    {
      if (!cb_store_has_blob (store, m->items[i].digest))
        return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "layer %s is not in the store", m->items[i].digest);
      memcpy (out->layers[i].digest, m->items[i].digest, CB_DIGEST_SIZE);
      out->layers[i].size = m->items[i].size;
      out->layers[i].media_type = strdup (m->items[i].media_type ? m->items[i].media_type : "");
      out->n_layers++;
      if (out->layers[i].media_type == NULL)
        return cb_error_nomem (err);
    }
  return 0;
}

int
cb_registry_load_local (struct cb_store *store, const char *manifest_digest, struct cb_pulled_image *out,
                        cbuild_error *err)
{
  cleanup_free char *body = NULL;
  struct cb_manifest m = { 0 };
  size_t len = 0;
  int ret;

  memset (out, 0, sizeof *out);
  if (cb_store_read_blob (store, manifest_digest, MANIFEST_MAX, &body, &len, err) < 0)
    return -1;
  if (cb_manifest_parse (body, len, NULL, &m, err) < 0)
    return -1;
  ret = 0;
  if (m.kind != CB_MANIFEST_IMAGE)
    ret = cb_error_set (err, CBUILD_ERR_INVALID, "%s is an index, not an image manifest", manifest_digest);
  if (ret == 0)
    {
      memcpy (out->manifest_digest, manifest_digest, CB_DIGEST_SIZE);
      memcpy (out->config_digest, m.config.digest, CB_DIGEST_SIZE);
      out->manifest_media_type = strdup (m.media_type);
      if (out->manifest_media_type == NULL)
        ret = cb_error_nomem (err);
    }
  if (ret == 0)
    ret = cb_store_read_blob (store, m.config.digest, CONFIG_MAX, &out->config_json, NULL, err);
  if (ret == 0)
    ret = copy_layers (&m, store, out, err);
  cb_manifest_release (&m);
  if (ret < 0)
    cb_pulled_image_release (out);
  return ret;
}
