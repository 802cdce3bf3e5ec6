/* Pulling an image: manifest (narrowed from an index to one platform),
 * config and layers into the blob store, each checked against its digest. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "layers/oci_layout.h"
#include "registry/internal.h"
#include "registry/manifest.h"

#define MANIFEST_ACCEPT                                                                          \
  CB_MEDIA_OCI_INDEX ", " CB_MEDIA_DOCKER_LIST ", " CB_MEDIA_OCI_MANIFEST ", " CB_MEDIA_DOCKER_MANIFEST
#define LAYER_ATTEMPTS 3

struct pull
{
  struct cb_registry *reg;
  struct cb_endpoint ep;
  const struct cb_reference *ref;
  const struct cb_platform *platform;
  struct cb_store *store;
  char *scope;
};

/* A fetched manifest: its bytes, their digest and the Content-Type. */
struct fetched
{
  struct cb_buf body;
  char digest[CB_DIGEST_SIZE];
  char content_type[256];
};

static int
check_header_digest (const struct pull *p, const struct cb_http_response *resp, const char *digest,
                     cbuild_error *err)
{
  const char *claimed = resp->docker_content_digest;

  /* The digest is always computed here. A registry that names another one
   * for the same bytes is broken or tampered with. */
  if (strncmp (claimed, "sha256:", 7) == 0 && strcmp (claimed, digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "registry %s sent a manifest with digest %s under Docker-Content-Digest %s",
                         p->ep.host, digest, claimed);
  return 0;
}

static int
fetch_manifest (struct pull *p, const char *reference, struct fetched *f, cbuild_error *err)
{
  cleanup_free char *url = cb_endpoint_url (&p->ep, p->ref->path, "manifests", reference, err);
  cleanup_free struct cb_http_response *resp = calloc (1, sizeof *resp);
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;

  if (url == NULL)
    return -1;
  if (resp == NULL)
    return cb_error_nomem (err);
  cb_buf_release (&f->body);
  cb_buf_init (&f->body, CB_MANIFEST_MAX);
  req.url = url;
  req.accept = MANIFEST_ACCEPT;
  req.out = &f->body;

  if (cb_registry_request (p->reg, &p->ep, p->scope, &req, resp, err) < 0)
    return -1;
  if (resp->status != 200)
    return cb_registry_status_error (&p->ep, resp, NULL, err);
  if (cb_sha256_bytes (cb_buf_str (&f->body), f->body.len, f->digest, err) < 0)
    return -1;
  snprintf (f->content_type, sizeof f->content_type, "%s", resp->content_type);
  return check_header_digest (p, resp, f->digest, err);
}

static int
fetch_by_digest (struct pull *p, const char *digest, struct fetched *f, cbuild_error *err)
{
  if (fetch_manifest (p, digest, f, err) < 0)
    return -1;
  if (strcmp (f->digest, digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "manifest %s from registry %s has digest %s", digest,
                         p->ep.host, f->digest);
  return 0;
}

static int
no_platform_error (const struct pull *p, const struct cb_manifest *index, cbuild_error *err)
{
  cleanup_buf struct cb_buf list = CB_BUF_INIT;
  char want[128];

  cb_buf_init (&list, 1024);
  cb_platform_format (p->platform, want, sizeof want);
  for (size_t i = 0; i < index->n_items; i++)
    {
      const struct cb_descriptor *d = &index->items[i];
      struct cb_platform has = { d->os, d->arch, d->variant };
      char name[128];

      cb_platform_format (&has, name, sizeof name);
      if (cb_buf_printf (&list, NULL, "%s%s", i ? ", " : "", name) < 0)
        break;
    }
  return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "no image for platform %s in the index (it has %s)", want,
                       list.len ? cb_buf_str (&list) : "no platforms");
}

/* Replaces the index in f by the image manifest for p->platform. */
static int
resolve_index (struct pull *p, struct fetched *f, struct cb_manifest *m, cbuild_error *err)
{
  char digest[CB_DIGEST_SIZE];
  char platform[128];
  size_t i;

  for (i = 0; i < m->n_items; i++)
    if (cb_platform_matches (p->platform, m->items[i].os, m->items[i].arch, m->items[i].variant))
      break;
  if (i == m->n_items)
    return no_platform_error (p, m, err);
  if (m->items[i].size > CB_MANIFEST_MAX)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "manifest %s is larger than %d bytes", m->items[i].digest,
                         CB_MANIFEST_MAX);
  strcpy (digest, m->items[i].digest);
  cb_platform_format (p->platform, platform, sizeof platform);
  cb_log (&p->reg->log, CBUILD_LOG_DEBUG, "platform %s: manifest %s", platform, digest);
  cb_manifest_release (m);

  if (fetch_by_digest (p, digest, f, err) < 0
      || cb_manifest_parse (cb_buf_str (&f->body), f->body.len, f->content_type, m, err) < 0)
    return -1;
  if (m->kind != CB_MANIFEST_IMAGE)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "manifest %s for platform %s is an index, not an image", digest,
                         platform);
  return 0;
}

static int
fetch_image_manifest (struct pull *p, struct fetched *f, struct cb_manifest *m, cbuild_error *err)
{
  const struct cb_reference *ref = p->ref;

  if (ref->digest ? fetch_by_digest (p, ref->digest, f, err) < 0 : fetch_manifest (p, ref->tag, f, err) < 0)
    return -1;
  if (cb_manifest_parse (cb_buf_str (&f->body), f->body.len, f->content_type, m, err) < 0)
    return -1;
  if (m->kind == CB_MANIFEST_INDEX)
    return resolve_index (p, f, m, err);
  return 0;
}

static int
get_blob (struct pull *p, const struct cb_descriptor *d, struct cb_http_request *req,
          struct cb_http_response *resp, cbuild_error *err)
{
  cleanup_free char *url = cb_endpoint_url (&p->ep, p->ref->path, "blobs", d->digest, err);
  char what[96];
  int ret;

  if (url == NULL)
    return -1;
  req->url = url;
  req->follow_redirects = true;
  ret = cb_registry_request (p->reg, &p->ep, p->scope, req, resp, err);
  req->url = NULL;
  if (ret < 0)
    return -1;
  if (resp->status != 200)
    {
      snprintf (what, sizeof what, "blob %s", d->digest);
      return cb_registry_status_error (&p->ep, resp, what, err);
    }
  return 0;
}

static int
fetch_config (struct pull *p, const struct cb_descriptor *d, char **json, cbuild_error *err)
{
  cleanup_buf struct cb_buf body = CB_BUF_INIT;
  cleanup_free struct cb_http_response *resp = calloc (1, sizeof *resp);
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  char got[CB_DIGEST_SIZE];

  if (d->size > CB_CONFIG_MAX)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "image config %s is larger than %d bytes", d->digest,
                         CB_CONFIG_MAX);
  if (cb_store_has_blob (p->store, d->digest))
    return cb_store_read_blob (p->store, d->digest, CB_CONFIG_MAX, json, NULL, err);
  if (resp == NULL)
    return cb_error_nomem (err);
  /* A cb_buf maximum of 0 would mean the default, so an empty config gets 1. */
  cb_buf_init (&body, d->size > 0 ? (size_t) d->size : 1);
  req.out = &body;

  if (get_blob (p, d, &req, resp, err) < 0)
    return -1;
  if (cb_sha256_bytes (cb_buf_str (&body), body.len, got, err) < 0)
    return -1;
  if (strcmp (got, d->digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "image config %s from registry %s has digest %s", d->digest,
                         p->ep.host, got);
  if (cb_store_put_blob (p->store, cb_buf_str (&body), body.len, got, err) < 0)
    return -1;
  *json = cb_buf_detach (&body);
  return 0;
}

/* Downloads a layer once. *retry is set when another attempt may succeed. */
static int
download_once (struct pull *p, const struct cb_descriptor *d, bool *retry, cbuild_error *err)
{
  cleanup_free struct cb_http_response *resp = calloc (1, sizeof *resp);
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  struct cb_blob_writer *w = NULL;

  *retry = false;
  if (resp == NULL)
    return cb_error_nomem (err);
  if (cb_blob_writer_new (p->store, &w, err) < 0)
    return -1;
  req.blob = w;
  req.blob_max = d->size;

  if (get_blob (p, d, &req, resp, err) < 0)
    {
      *retry = resp->transport_error || resp->status >= 500;
      cb_blob_writer_abort (w);
      return -1;
    }
  if (resp->received != d->size)
    {
      cb_blob_writer_abort (w);
      return cb_error_set (err, CBUILD_ERR_DIGEST, "blob %s is %lld bytes, its descriptor says %lld", d->digest,
                           (long long) resp->received, (long long) d->size);
    }
  return cb_blob_writer_commit (w, d->digest, NULL, NULL, err);
}

static int
download_layer (struct pull *p, const struct cb_descriptor *d, cbuild_error *err)
{
  char short_digest[20], size[32];
  bool retry = false;

  cb_short_digest (d->digest, short_digest);
  cb_human_size (d->size, size);
  if (cb_store_has_blob (p->store, d->digest))
    {
      cb_log (&p->reg->log, CBUILD_LOG_DEBUG, "layer %s exists", short_digest);
      return 0;
    }
  for (int attempt = 1;; attempt++)
    {
      if (download_once (p, d, &retry, err) == 0)
        break;
      if (!retry || attempt == LAYER_ATTEMPTS)
        return -1;
      cb_log (&p->reg->log, CBUILD_LOG_WARN, "layer %s: %s; retrying", short_digest, err->message);
    }
  cb_log (&p->reg->log, CBUILD_LOG_INFO, "layer %s %s", short_digest, size);
  return 0;
}

static int
fill_layers (struct cb_pulled_image *out, const struct cb_manifest *m, cbuild_error *err)
{
  out->layers = calloc (m->n_items ? m->n_items : 1, sizeof *out->layers);
  if (out->layers == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < m->n_items; i++)
    {
      strcpy (out->layers[i].digest, m->items[i].digest);
      out->layers[i].size = m->items[i].size;
      out->layers[i].media_type = strdup (m->items[i].media_type);
      out->n_layers = i + 1;
      if (out->layers[i].media_type == NULL)
        return cb_error_nomem (err);
    }
  return 0;
}

static int
pull_image (struct pull *p, struct fetched *f, struct cb_manifest *m, struct cb_pulled_image *out,
            cbuild_error *err)
{
  char stored[CB_DIGEST_SIZE];

  if (fetch_image_manifest (p, f, m, err) < 0)
    return -1;
  if (cb_store_put_blob (p->store, cb_buf_str (&f->body), f->body.len, stored, err) < 0)
    return -1;
  strcpy (out->manifest_digest, f->digest);
  strcpy (out->config_digest, m->config.digest);
  if ((out->manifest_media_type = strdup (m->media_type)) == NULL)
    return cb_error_nomem (err);
  if (fetch_config (p, &m->config, &out->config_json, err) < 0)
    return -1;
  for (size_t i = 0; i < m->n_items; i++)
    if (download_layer (p, &m->items[i], err) < 0)
      return -1;
  return fill_layers (out, m, err);
}

static int
pull_from (struct cb_registry *reg, const struct cb_endpoint *ep, const struct cb_reference *ref,
           const struct cb_platform *platform, struct cb_store *store, struct cb_pulled_image *out,
           cbuild_error *err)
{
  struct pull p = { .reg = reg, .ep = *ep, .ref = ref, .platform = platform, .store = store };
  struct fetched f = { .body = CB_BUF_INIT };
  struct cb_manifest m = { 0 };
  int ret;

  memset (out, 0, sizeof *out);
  if (asprintf (&p.scope, "repository:%s:pull", ref->path) < 0)
    return cb_error_nomem (err);
  ret = pull_image (&p, &f, &m, out, err);
  if (ret < 0)
    cb_pulled_image_release (out);
  cb_manifest_release (&m);
  cb_buf_release (&f.body);
  free (p.scope);
  return ret;
}

/* Another registry may serve what a mirror lacks or cannot deliver, but
 * local failures would only repeat. */
static bool
worth_next_registry (const cbuild_error *err)
{
  return err->code != CBUILD_ERR_SYSTEM && err->code != CBUILD_ERR_NOMEM && err->code != CBUILD_ERR_INVALID;
}

static int
pull_with_mirrors (struct cb_registry *reg, const struct cb_reference *ref, const struct cb_platform *platform,
                   struct cb_store *store, struct cb_pulled_image *out, cbuild_error *err)
{
  struct cb_endpoint ep;

  for (size_t i = 0; i < reg->mirrors.len; i++)
    {
      const char *mirror = reg->mirrors.items[i];

      cb_registry_endpoint (reg, mirror, mirror, true, &ep);
      if (pull_from (reg, &ep, ref, platform, store, out, err) == 0)
        return 0;
      if (!worth_next_registry (err))
        return -1;
      cb_log (&reg->log, CBUILD_LOG_WARN, "mirror %s: %s; trying the next registry", mirror, err->message);
    }
  cb_registry_endpoint (reg, reg->hub_host, CB_DOCKER_HUB_DOMAIN, false, &ep);
  return pull_from (reg, &ep, ref, platform, store, out, err);
}

int
cb_registry_pull (struct cb_registry *reg, const struct cb_reference *ref, const struct cb_platform *platform,
                  struct cb_store *store, struct cb_pulled_image *out, cbuild_error *err)
{
  cleanup_free char *display = cb_reference_format (ref);
  struct cb_platform host;
  struct cb_endpoint ep;
  int ret;

  if (display == NULL)
    return cb_error_nomem (err);
  if (platform == NULL)
    {
      cb_platform_host (&host);
      platform = &host;
    }
  cb_log (&reg->log, CBUILD_LOG_INFO, "pulling %s", display);
  if (strcmp (ref->domain, CB_DOCKER_HUB_DOMAIN) == 0)
    ret = pull_with_mirrors (reg, ref, platform, store, out, err);
  else
    {
      cb_registry_endpoint (reg, ref->domain, ref->domain, false, &ep);
      ret = pull_from (reg, &ep, ref, platform, store, out, err);
    }
  if (ret < 0)
    return cb_error_prefix (err, "pull '%s'", display);
  cb_log (&reg->log, CBUILD_LOG_INFO, "pulled %s: %s", display, out->manifest_digest);
  return 0;
}

void
cb_pulled_image_release (struct cb_pulled_image *img)
{
  if (img == NULL)
    return;
  free (img->manifest_media_type);
  free (img->config_json);
  for (size_t i = 0; i < img->n_layers; i++)
    free (img->layers[i].media_type);
  free (img->layers);
  memset (img, 0, sizeof *img);
}
