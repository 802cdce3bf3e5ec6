/* Pushing an image from the blob store: every blob the registry lacks is
 * uploaded (POST for an upload location, then one PUT of the whole blob),
 * then the manifest goes up with its own media type. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "registry/internal.h"
#include "registry/manifest.h"

struct push
{
  struct cb_registry *reg;
  struct cb_endpoint ep;
  const struct cb_reference *ref;
  struct cb_store *store;
  char *scope;
};

static int
push_request (struct push *p, struct cb_http_request *req, struct cb_http_response **resp, cbuild_error *err)
{
  if ((*resp = calloc (1, sizeof **resp)) == NULL)
    return cb_error_nomem (err);
  return cb_registry_request (p->reg, &p->ep, p->scope, req, *resp, err);
}

static int
blob_exists (struct push *p, const struct cb_descriptor *d, bool *exists, cbuild_error *err)
{
  cleanup_free char *url = cb_endpoint_url (&p->ep, p->ref->path, "blobs", d->digest, err);
  cleanup_free struct cb_http_response *resp = NULL;
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  char what[96];

  if (url == NULL)
    return -1;
  req.method = "HEAD";
  req.url = url;
  /* A registry backed by object storage redirects HEAD there, too. */
  req.follow_redirects = true;
  if (push_request (p, &req, &resp, err) < 0)
    return -1;
  *exists = resp->status == 200;
  if (resp->status == 200 || resp->status == 404)
    return 0;
  snprintf (what, sizeof what, "check blob %s", d->digest);
  return cb_registry_status_error (&p->ep, resp, what, err);
}

/* Returns the absolute upload URL the registry assigned (malloc'd). */
static char *
start_upload (struct push *p, cbuild_error *err)
{
  cleanup_free char *url = cb_endpoint_url (&p->ep, p->ref->path, "blobs", "uploads/", err);
  cleanup_free struct cb_http_response *resp = NULL;
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  char *location;

  if (url == NULL)
    return NULL;
  req.method = "POST";
  req.url = url;
  if (push_request (p, &req, &resp, err) < 0)
    return NULL;
  if (resp->status != 202)
    {
      cb_registry_status_error (&p->ep, resp, "start a blob upload", err);
      return NULL;
    }
  if (resp->location[0] == '\0' || resp->header_truncated)
    {
      cb_error_set (err, CBUILD_ERR_REGISTRY, "registry %s started an upload without a usable Location",
                    p->ep.host);
      return NULL;
    }
  /* The Location may be relative ("/v2/...") and may carry a query of
   * its own, to which the digest is appended. */
  location = cb_http_resolve_url (url, resp->location, NULL, err);
  /* libcurl rejects other schemes (file:, ftp:) as well, but its message
   * names no registry. */
  if (location && strncmp (location, "http://", 7) != 0 && strncmp (location, "https://", 8) != 0)
    {
      cb_error_set (err, CBUILD_ERR_REGISTRY, "registry %s returned an upload location that is not http or https: '%s'",
                    p->ep.host, location);
      free (location);
      return NULL;
    }
  return location;
}

static int
open_blob (struct push *p, const struct cb_descriptor *d, int64_t *size, cbuild_error *err)
{
  cleanup_free char *path = cb_store_blob_path (p->store, d->digest);
  struct stat st;
  int fd;

  if (path == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid digest '%s'", d->digest);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT)
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "blob %s is not in the local store", d->digest);
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      return cb_error_sys (err, saved, "open blob '%s'", path);
    }
  *size = st.st_size;
  if (*size != d->size)
    {
      close (fd);
      return cb_error_set (err, CBUILD_ERR_DIGEST, "blob %s in the local store is %lld bytes, the manifest says %lld",
                           d->digest, (long long) *size, (long long) d->size);
    }
  return fd;
}

static int
upload_blob (struct push *p, const struct cb_descriptor *d, cbuild_error *err)
{
  cleanup_close int fd = -1;
  cleanup_free char *location = NULL;
  cleanup_free char *query = NULL;
  cleanup_free char *url = NULL;
  cleanup_free struct cb_http_response *resp = NULL;
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  char what[96];
  int64_t size = 0;

  if ((fd = open_blob (p, d, &size, err)) < 0)
    return -1;
  if ((location = start_upload (p, err)) == NULL)
    return -1;
  if (asprintf (&query, "digest=%s", d->digest) < 0)
    return cb_error_nomem (err);
  if ((url = cb_http_resolve_url (location, location, query, err)) == NULL)
    return -1;
  req.method = "PUT";
  req.url = url;
  req.content_type = "application/octet-stream";
  req.body_fd = fd;
  req.body_size = size;

  if (push_request (p, &req, &resp, err) < 0)
    return -1;
  if (resp->status != 201 && resp->status != 204)
    {
      snprintf (what, sizeof what, "upload blob %s", d->digest);
      return cb_registry_status_error (&p->ep, resp, what, err);
    }
  return 0;
}

static int
push_blob (struct push *p, const struct cb_descriptor *d, cbuild_error *err)
{
  char short_digest[20], size[32];
  bool exists = false;

  cb_short_digest (d->digest, short_digest);
  cb_human_size (d->size, size);
  if (!cb_store_has_blob (p->store, d->digest))
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "blob %s is not in the local store", d->digest);
  if (blob_exists (p, d, &exists, err) < 0)
    return -1;
  if (exists)
    {
      cb_log (&p->reg->log, CBUILD_LOG_INFO, "blob %s exists", short_digest);
      return 0;
    }
  if (upload_blob (p, d, err) < 0)
    return -1;
  cb_log (&p->reg->log, CBUILD_LOG_INFO, "blob %s uploaded %s", short_digest, size);
  return 0;
}

static int
put_manifest (struct push *p, const char *reference, const char *body, size_t len, const char *media_type,
              const char *digest, cbuild_error *err)
{
  cleanup_free char *url = cb_endpoint_url (&p->ep, p->ref->path, "manifests", reference, err);
  cleanup_free struct cb_http_response *resp = NULL;
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  const char *stored;

  if (url == NULL)
    return -1;
  req.method = "PUT";
  req.url = url;
  req.content_type = media_type;
  req.body = body;
  req.body_len = len;
  if (push_request (p, &req, &resp, err) < 0)
    return -1;
  if (resp->status != 201 && resp->status != 200)
    return cb_registry_status_error (&p->ep, resp, "upload manifest", err);
  stored = resp->docker_content_digest;
  if (stored[0] && strcmp (stored, digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "registry %s stored manifest %s as %s", p->ep.host, digest,
                         stored);
  cb_log (&p->reg->log, CBUILD_LOG_INFO, "manifest %s pushed as %s", digest, reference);
  return 0;
}

static int
push_contents (struct push *p, const struct cb_manifest *m, int depth, cbuild_error *err);

/* Pushes the manifest stored under digest, and what it refers to, as
 * reference; depth 1 is an image of an index. */
static int
push_manifest (struct push *p, const char *digest, const char *reference, int depth, cbuild_error *err)
{
  cleanup_free char *body = NULL;
  struct cb_manifest m;
  size_t len = 0;
  int ret;

  if (cb_store_read_blob (p->store, digest, CB_MANIFEST_MAX, &body, &len, err) < 0)
    return -1;
  if (cb_manifest_parse (body, len, NULL, &m, err) < 0)
    return cb_error_prefix (err, "manifest %s", digest);
  ret = push_contents (p, &m, depth, err);
  if (ret == 0)
    ret = put_manifest (p, reference, body, len, m.media_type, digest, err);
  cb_manifest_release (&m);
  return ret;
}

static int
push_contents (struct push *p, const struct cb_manifest *m, int depth, cbuild_error *err)
{
  if (m->kind == CB_MANIFEST_INDEX)
    {
      if (depth > 0)
        return cb_error_set (err, CBUILD_ERR_INVALID, "an index inside an index is not supported");
      for (size_t i = 0; i < m->n_items; i++)
        if (push_manifest (p, m->items[i].digest, m->items[i].digest, depth + 1, err) < 0)
          return -1;
      return 0;
    }
  if (push_blob (p, &m->config, err) < 0)
    return -1;
  for (size_t i = 0; i < m->n_items; i++)
    if (push_blob (p, &m->items[i], err) < 0)
      return -1;
  return 0;
}

int
cb_registry_push (struct cb_registry *reg, const struct cb_reference *ref, struct cb_store *store,
                  const char *manifest_digest, cbuild_error *err)
{
  cleanup_free char *display = cb_reference_format (ref);
  struct push p = { .reg = reg, .ref = ref, .store = store };
  bool hub = strcmp (ref->domain, CB_DOCKER_HUB_DOMAIN) == 0;
  int ret;

  if (display == NULL)
    return cb_error_nomem (err);
  if (ref->tag == NULL && ref->digest && strcmp (ref->digest, manifest_digest) != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "push '%s': the image's manifest is %s", display,
                         manifest_digest);
  cb_log (&reg->log, CBUILD_LOG_INFO, "pushing %s", display);
  cb_registry_endpoint (reg, hub ? reg->hub_host : ref->domain, ref->domain, false, &p.ep);
  if (asprintf (&p.scope, "repository:%s:pull,push", ref->path) < 0)
    return cb_error_nomem (err);

  ret = push_manifest (&p, manifest_digest, ref->tag ? ref->tag : manifest_digest, 0, err);
  free (p.scope);
  if (ret < 0)
    return cb_error_prefix (err, "push '%s'", display);
  return 0;
}
