/* Fetching single objects: one manifest as it is, without following an
 * index or downloading what it refers to, and one blob by digest. The
 * build cache import uses them to read a cache manifest and to download
 * only the layers of the steps that hit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "registry/internal.h"

#define BLOB_ATTEMPTS 3

struct fetch
{
  struct cb_registry *reg;
  struct cb_endpoint ep;
  const struct cb_reference *ref;
  char *scope;
};

/* Pushes and pulls of docker.io go to the Docker Hub host, not to a
 * mirror: a mirror is a pull-through copy of images, and a cache written
 * to docker.io is only on Docker Hub. */
static int
fetch_init (struct fetch *f, struct cb_registry *reg, const struct cb_reference *ref, cbuild_error *err)
{
  bool hub = strcmp (ref->domain, CB_DOCKER_HUB_DOMAIN) == 0;

  f->reg = reg;
  f->ref = ref;
  cb_registry_endpoint (reg, hub ? reg->hub_host : ref->domain, ref->domain, false, &f->ep);
  if (asprintf (&f->scope, "repository:%s:pull", ref->path) < 0)
    {
      f->scope = NULL;
      return cb_error_nomem (err);
    }
  return 0;
}

static int
check_manifest_digest (const struct fetch *f, const struct cb_http_response *resp, const char *digest,
                       cbuild_error *err)
{
  const char *claimed = resp->docker_content_digest;

  /* The digest is computed here, so a registry that sends other bytes
   * under a digest reference, or names another digest for them, is
   * caught before anything trusts the manifest. */
  if (f->ref->digest && strcmp (f->ref->digest, digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "manifest %s from registry %s has digest %s", f->ref->digest,
                         f->ep.host, digest);
  if (strncmp (claimed, "sha256:", 7) == 0 && strcmp (claimed, digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST,
                         "registry %s sent a manifest with digest %s under Docker-Content-Digest %s", f->ep.host,
                         digest, claimed);
  return 0;
}

static int
get_manifest (struct fetch *f, const char *accept, struct cb_buf *body, char digest[CB_DIGEST_SIZE],
              cbuild_error *err)
{
  const char *reference = f->ref->digest ? f->ref->digest : f->ref->tag;
  cleanup_free char *url = cb_endpoint_url (&f->ep, f->ref->path, "manifests", reference, err);
  cleanup_free struct cb_http_response *resp = calloc (1, sizeof *resp);
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;

  if (url == NULL)
    return -1;
  if (resp == NULL)
    return cb_error_nomem (err);
  req.url = url;
  req.accept = accept;
  req.out = body;

  if (cb_registry_request (f->reg, &f->ep, f->scope, &req, resp, err) < 0)
    return -1;
  if (resp->status != 200)
    return cb_registry_status_error (&f->ep, resp, NULL, err);
  if (cb_sha256_bytes (cb_buf_str (body), body->len, digest, err) < 0)
    return -1;
  return check_manifest_digest (f, resp, digest, err);
}

int
cb_registry_fetch_manifest (struct cb_registry *reg, const struct cb_reference *ref, const char *accept,
                            char **body, size_t *len, char digest[CB_DIGEST_SIZE], cbuild_error *err)
{
  cleanup_buf struct cb_buf buf = CB_BUF_INIT;
  struct fetch f = { 0 };
  int ret;

  *body = NULL;
  *len = 0;
  cb_buf_init (&buf, CB_MANIFEST_MAX);
  if (fetch_init (&f, reg, ref, err) < 0)
    return -1;
  ret = get_manifest (&f, accept, &buf, digest, err);
  free (f.scope);
  if (ret < 0)
    return -1;
  *len = buf.len;
  *body = cb_buf_detach (&buf);
  return 0;
}

/* Downloads the blob once. *retry is set when another attempt may succeed. */
static int
download_once (struct fetch *f, struct cb_store *store, const char *digest, int64_t size, bool *retry,
               cbuild_error *err)
{
  cleanup_free char *url = cb_endpoint_url (&f->ep, f->ref->path, "blobs", digest, err);
  cleanup_free struct cb_http_response *resp = calloc (1, sizeof *resp);
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  struct cb_blob_writer *w = NULL;
  char what[96];

  *retry = false;
  if (url == NULL)
    return -1;
  if (resp == NULL)
    return cb_error_nomem (err);
  if (cb_blob_writer_new (store, &w, err) < 0)
    return -1;
  req.url = url;
  req.follow_redirects = true;
  req.blob = w;
  req.blob_max = size;

  if (cb_registry_request (f->reg, &f->ep, f->scope, &req, resp, err) < 0)
    {
      cb_blob_writer_abort (w);
      *retry = resp->transport_error;
      return -1;
    }
  if (resp->status != 200)
    {
      cb_blob_writer_abort (w);
      *retry = resp->status >= 500;
      snprintf (what, sizeof what, "blob %s", digest);
      return cb_registry_status_error (&f->ep, resp, what, err);
    }
  if (resp->received != size)
    {
      cb_blob_writer_abort (w);
      return cb_error_set (err, CBUILD_ERR_DIGEST, "blob %s is %lld bytes, its descriptor says %lld", digest,
                           (long long) resp->received, (long long) size);
    }
  return cb_blob_writer_commit (w, digest, NULL, NULL, err);
}

int
cb_registry_fetch_blob (struct cb_registry *reg, const struct cb_reference *ref, const char *digest, int64_t size,
                        struct cb_store *store, cbuild_error *err)
{
  struct fetch f = { 0 };
  bool retry = false;
  int ret = 0;

  if (!cb_digest_valid (digest) || size < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid blob descriptor '%s' of %lld bytes",
                         digest ? digest : "", (long long) size);
  if (cb_store_has_blob (store, digest))
    return 0;
  if (fetch_init (&f, reg, ref, err) < 0)
    return -1;
  for (int attempt = 1;; attempt++)
    {
      ret = download_once (&f, store, digest, size, &retry, err);
      if (ret == 0 || !retry || attempt == BLOB_ATTEMPTS)
        break;
      cb_log (&reg->log, CBUILD_LOG_WARN, "blob %s: %s; retrying", digest, err->message);
    }
  free (f.scope);
  return ret;
}
