#include "registry/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "registry/curl_api.h"

/* One response's header block may not exceed this, so that a hostile
 * server cannot make the client buffer without end. */
#define HEADERS_MAX (64 * 1024)
/* Unread bodies (error pages, upload responses) are drained up to this
 * size, then the connection is dropped. */
#define DRAIN_MAX (1024 * 1024)
#define CONNECT_TIMEOUT_S 30L
/* A transfer slower than 1 byte/s for this long is given up. */
#define STALL_TIMEOUT_S 60L
#define MAX_REDIRECTS 10L

struct transfer
{
  const struct cb_http_request *req;
  struct cb_http_response *resp;
  cbuild_error *err;
  int64_t upload_offset;
  size_t header_bytes;
  int64_t drained;
  bool drain_stopped; /* stopped reading an unwanted body on purpose */
  bool failed;        /* a callback set err */
};

static void
response_clear_headers (struct cb_http_response *resp)
{
  resp->content_length = -1;
  resp->content_type[0] = '\0';
  resp->docker_content_digest[0] = '\0';
  resp->location[0] = '\0';
  resp->last_modified[0] = '\0';
  resp->etag[0] = '\0';
  resp->www_authenticate[0] = '\0';
  resp->header_truncated = false;
}

static void
copy_value (char *dst, size_t cap, const char *value, size_t len, bool *truncated)
{
  if (len >= cap)
    {
      *truncated = true;
      len = cap - 1;
    }
  memcpy (dst, value, len);
  dst[len] = '\0';
}

static void
keep_header (struct cb_http_response *resp, const char *name, size_t name_len,
             const char *value, size_t len)
{
  bool *cut = &resp->header_truncated;

#define HEADER_IS(s) (name_len == strlen (s) && strncasecmp (name, s, name_len) == 0)
  if (HEADER_IS ("content-type"))
    copy_value (resp->content_type, sizeof resp->content_type, value, len, cut);
  else if (HEADER_IS ("docker-content-digest"))
    copy_value (resp->docker_content_digest, sizeof resp->docker_content_digest, value, len, cut);
  else if (HEADER_IS ("etag"))
    copy_value (resp->etag, sizeof resp->etag, value, len, cut);
  else if (HEADER_IS ("last-modified"))
    copy_value (resp->last_modified, sizeof resp->last_modified, value, len, cut);
  else if (HEADER_IS ("location"))
    copy_value (resp->location, sizeof resp->location, value, len, cut);
  else if (HEADER_IS ("content-length"))
    resp->content_length = strtoll (value, NULL, 10);
  /* Of several challenges, keep the Bearer one because it works with and
   * without credentials, while Basic works only with them. */
  else if (HEADER_IS ("www-authenticate")
           && (resp->www_authenticate[0] == '\0'
               || (strncasecmp (resp->www_authenticate, "bearer", 6) != 0
                   && len >= 6 && strncasecmp (value, "bearer", 6) == 0)))
    copy_value (resp->www_authenticate, sizeof resp->www_authenticate, value, len, cut);
#undef HEADER_IS
}

static size_t
on_header (char *data, size_t size, size_t n, void *user)
{
  struct transfer *t = user;
  size_t len = size * n;
  const char *colon, *value, *end = data + len;

  /* A status line starts the header block of the next response: a
   * redirect, a 100 Continue or the final response. */
  if (len > 5 && strncasecmp (data, "HTTP/", 5) == 0)
    {
      const char *space = memchr (data, ' ', len);
      response_clear_headers (t->resp);
      t->header_bytes = 0;
      t->resp->status = space ? strtol (space + 1, NULL, 10) : 0;
      return len;
    }
  t->header_bytes += len;
  if (t->header_bytes > HEADERS_MAX)
    {
      t->failed = true;
      cb_error_set (t->err, CBUILD_ERR_REGISTRY, "response headers larger than %d bytes", HEADERS_MAX);
      return 0;
    }
  colon = memchr (data, ':', len);
  if (colon == NULL)
    return len;
  value = colon + 1;
  while (value < end && (*value == ' ' || *value == '\t'))
    value++;
  while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
    end--;
  keep_header (t->resp, data, (size_t) (colon - data), value, (size_t) (end - value));
  return len;
}

static size_t
drain (struct transfer *t, size_t len)
{
  t->drained += (int64_t) len;
  if (t->drained <= DRAIN_MAX)
    return len;
  t->drain_stopped = true;
  return 0;
}

static size_t
keep_error_body (struct transfer *t, const char *data, size_t len)
{
  char *body = t->resp->error_body;
  size_t used = strlen (body);
  size_t room = sizeof t->resp->error_body - 1 - used;
  size_t n = len < room ? len : room;

  memcpy (body + used, data, n);
  body[used + n] = '\0';
  return drain (t, len);
}

static size_t
fail_body (struct transfer *t)
{
  t->failed = true;
  return 0;
}

static size_t
on_body (char *data, size_t size, size_t n, void *user)
{
  struct transfer *t = user;
  const struct cb_http_request *req = t->req;
  size_t len = size * n;
  long status = t->resp->status;

  if (status >= 300 && status < 400)
    return drain (t, len);
  if (status < 200 || status >= 300)
    return keep_error_body (t, data, len);
  if (req->out)
    {
      size_t max = req->out->max ? req->out->max : CB_BUF_DEFAULT_MAX;
      if (req->out->len + len > max)
        {
          cb_error_set (t->err, CBUILD_ERR_REGISTRY, "response larger than %zu bytes", max);
          return fail_body (t);
        }
      if (cb_buf_append (req->out, data, len, t->err) < 0)
        return fail_body (t);
    }
  else if (req->blob)
    {
      if (t->resp->received + (int64_t) len > req->blob_max)
        {
          cb_error_set (t->err, CBUILD_ERR_DIGEST, "blob is larger than the %lld bytes of its descriptor",
                        (long long) req->blob_max);
          return fail_body (t);
        }
      if (cb_blob_writer_write (req->blob, data, len, t->err) < 0)
        return fail_body (t);
    }
  else
    return drain (t, len);
  t->resp->received += (int64_t) len;
  return len;
}

static ssize_t
read_file_at (int fd, char *buf, size_t len, int64_t offset)
{
  ssize_t r;

  do
    r = pread (fd, buf, len, (off_t) offset);
  while (r < 0 && errno == EINTR);
  return r;
}

static size_t
on_read (char *buf, size_t size, size_t n, void *user)
{
  struct transfer *t = user;
  const struct cb_http_request *req = t->req;
  int64_t total = req->body_fd >= 0 ? req->body_size : (int64_t) req->body_len;
  size_t want = size * n;
  ssize_t got;

  if (t->upload_offset >= total)
    return 0;
  if ((int64_t) want > total - t->upload_offset)
    want = (size_t) (total - t->upload_offset);
  if (req->body_fd < 0)
    {
      memcpy (buf, (const char *) req->body + t->upload_offset, want);
      got = (ssize_t) want;
    }
  else if ((got = read_file_at (req->body_fd, buf, want, t->upload_offset)) <= 0)
    {
      t->failed = true;
      if (got < 0)
        cb_error_sys (t->err, errno, "read the request body");
      else
        cb_error_set (t->err, CBUILD_ERR_SYSTEM, "read the request body: file shrank while uploading");
      return CURL_READFUNC_ABORT;
    }
  t->upload_offset += got;
  return (size_t) got;
}

/* libcurl rewinds the body when it must send it again (after a redirect
 * or an authentication round). */
static int
on_seek (void *user, curl_off_t offset, int origin)
{
  struct transfer *t = user;

  if (origin != SEEK_SET || offset < 0)
    return CURL_SEEKFUNC_CANTSEEK;
  t->upload_offset = offset;
  return CURL_SEEKFUNC_OK;
}

static void
set_method (const struct cb_curl_api *api, CURL *curl, const struct cb_http_request *req, struct transfer *t)
{
  if (strcmp (req->method, "HEAD") == 0)
    api->easy_setopt (curl, CURLOPT_NOBODY, 1L);
  else if (strcmp (req->method, "POST") == 0)
    {
      api->easy_setopt (curl, CURLOPT_POST, 1L);
      api->easy_setopt (curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
      api->easy_setopt (curl, CURLOPT_POSTFIELDS, req->body ? req->body : "");
    }
  else if (strcmp (req->method, "PUT") == 0)
    {
      int64_t size = req->body_fd >= 0 ? req->body_size : (int64_t) req->body_len;
      api->easy_setopt (curl, CURLOPT_UPLOAD, 1L);
      api->easy_setopt (curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t) size);
      api->easy_setopt (curl, CURLOPT_READFUNCTION, on_read);
      api->easy_setopt (curl, CURLOPT_READDATA, t);
      api->easy_setopt (curl, CURLOPT_SEEKFUNCTION, on_seek);
      api->easy_setopt (curl, CURLOPT_SEEKDATA, t);
    }
  else if (strcmp (req->method, "GET") != 0)
    api->easy_setopt (curl, CURLOPT_CUSTOMREQUEST, req->method);
}

static int
add_header (const struct cb_curl_api *api, struct curl_slist **list, const char *name, const char *value, cbuild_error *err)
{
  cleanup_free char *line = NULL;
  struct curl_slist *next;

  /* "Name:" with no value makes libcurl drop a header it adds itself. */
  if (asprintf (&line, "%s:%s%s", name, value ? " " : "", value ? value : "") < 0)
    return cb_error_nomem (err);
  next = api->slist_append (*list, line);
  if (next == NULL)
    return cb_error_nomem (err);
  *list = next;
  return 0;
}

static int
build_headers (const struct cb_curl_api *api, const struct cb_http_request *req, struct curl_slist **list,
               cbuild_error *err)
{
  if (req->accept && add_header (api, list, "Accept", req->accept, err) < 0)
    return -1;
  if ((req->content_type || strcmp (req->method, "POST") == 0)
      && add_header (api, list, "Content-Type", req->content_type, err) < 0)
    return -1;
  if (req->authorization && add_header (api, list, "Authorization", req->authorization, err) < 0)
    return -1;
  if (req->if_none_match && add_header (api, list, "If-None-Match", req->if_none_match, err) < 0)
    return -1;
  if (req->if_modified_since && add_header (api, list, "If-Modified-Since", req->if_modified_since, err) < 0)
    return -1;
  return 0;
}

/* A server that sends 2 bytes a second never trips the stall limit, so
 * small exchanges also get a total limit. Blobs can be gigabytes on a
 * slow link, and only the stall limit bounds their transfers. */
long
cb_http_total_timeout (const struct cb_http_request *req)
{
  if (req->timeout_s > 0)
    return req->timeout_s;
  return req->blob == NULL && req->body_fd < 0 ? CB_HTTP_SMALL_TIMEOUT_S : 0L;
}

static void
set_options (const struct cb_curl_api *api, CURL *curl, struct transfer *t, char *errbuf,
             struct curl_slist *headers)
{
  const struct cb_http_request *req = t->req;

  api->easy_setopt (curl, CURLOPT_URL, req->url);
  api->easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
  api->easy_setopt (curl, CURLOPT_ERRORBUFFER, errbuf);
  api->easy_setopt (curl, CURLOPT_USERAGENT, "cbuild/0.1");
  api->easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
  api->easy_setopt (curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  api->easy_setopt (curl, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_S);
  api->easy_setopt (curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  api->easy_setopt (curl, CURLOPT_LOW_SPEED_TIME, STALL_TIMEOUT_S);
  api->easy_setopt (curl, CURLOPT_TIMEOUT, cb_http_total_timeout (req));
  /* libcurl (7.58 and later) sends a custom Authorization header only to
   * the host of the first request, so registry credentials do not leak to
   * the storage host a blob download is redirected to. */
  api->easy_setopt (curl, CURLOPT_FOLLOWLOCATION, req->follow_redirects ? 1L : 0L);
  api->easy_setopt (curl, CURLOPT_MAXREDIRS, MAX_REDIRECTS);
  api->easy_setopt (curl, CURLOPT_HEADERFUNCTION, on_header);
  api->easy_setopt (curl, CURLOPT_HEADERDATA, t);
  api->easy_setopt (curl, CURLOPT_WRITEFUNCTION, on_body);
  api->easy_setopt (curl, CURLOPT_WRITEDATA, t);
  api->easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
  set_method (api, curl, req, t);
}

static int
transport_error (const struct cb_curl_api *api, CURL *curl, CURLcode rc, const char *errbuf,
                 const struct cb_http_request *req, struct cb_http_response *resp, cbuild_error *err)
{
  const char *request_url = req->url;
  const char *peer = req->peer ? req->peer : "registry";
  const char *hint = req->peer ? "" : " (is the registry running?)";
  const char *url = NULL;
  cleanup_free char *host = NULL;
  const char *detail = errbuf[0] ? errbuf : api->easy_strerror (rc);
  long os_errno = 0;

  api->easy_getinfo (curl, CURLINFO_EFFECTIVE_URL, &url);
  api->easy_getinfo (curl, CURLINFO_OS_ERRNO, &os_errno);
  host = url ? cb_http_url_authority (url) : NULL;
  /* A redirect to a URL without a host (file:///etc/passwd) leaves the
   * registry that sent it as the one to name. */
  if (host == NULL)
    host = cb_http_url_authority (request_url);
  resp->transport_error = rc != CURLE_TOO_MANY_REDIRECTS && rc != CURLE_UNSUPPORTED_PROTOCOL;
  switch (rc)
    {
    case CURLE_COULDNT_CONNECT:
      return cb_error_set (err, CBUILD_ERR_REGISTRY, "cannot connect to %s %s: %s%s", peer, host ? host : "?",
                           os_errno ? strerror ((int) os_errno) : detail, hint);
    case CURLE_COULDNT_RESOLVE_HOST:
      return cb_error_set (err, CBUILD_ERR_REGISTRY, "cannot resolve %s host '%s': %s", peer, host ? host : "?",
                           detail);
    case CURLE_OPERATION_TIMEDOUT:
      return cb_error_set (err, CBUILD_ERR_REGISTRY, "request to %s %s timed out: %s", peer, host ? host : "?",
                           detail);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
      return cb_error_set (err, CBUILD_ERR_REGISTRY, "TLS connection to %s %s failed: %s", peer, host ? host : "?",
                           detail);
    default:
      return cb_error_set (err, CBUILD_ERR_REGISTRY, "request to %s %s failed: %s", peer, host ? host : "?",
                           detail);
    }
}

int
cb_http_perform (CURL *curl, const struct cb_http_request *req,
                 struct cb_http_response *resp, cbuild_error *err)
{
  const struct cb_curl_api *api = cb_curl_api (err);
  struct transfer t = { .req = req, .resp = resp, .err = err };
  struct curl_slist *headers = NULL;
  char errbuf[CURL_ERROR_SIZE] = "";
  CURLcode rc;
  int ret = 0;

  memset (resp, 0, sizeof *resp);
  if (api == NULL)
    return -1;
  response_clear_headers (resp);
  api->easy_reset (curl);
  if (build_headers (api, req, &headers, err) < 0)
    {
      api->slist_free_all (headers);
      return -1;
    }
  set_options (api, curl, &t, errbuf, headers);

  rc = api->easy_perform (curl);
  if (t.failed)
    ret = -1;
  else if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.drain_stopped))
    ret = transport_error (api, curl, rc, errbuf, req, resp, err);
  else
    api->easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &resp->status);

  /* The handle must not keep pointers to this frame's buffers. */
  api->easy_reset (curl);
  api->slist_free_all (headers);
  return ret;
}

char *
cb_http_url_authority (const char *url)
{
  const struct cb_curl_api *api = cb_curl_api (NULL);
  CURLU *u = api ? api->url () : NULL;
  char *host = NULL, *port = NULL, *out = NULL;

  if (u == NULL)
    return NULL;
  if (api->url_set (u, CURLUPART_URL, url, 0) == CURLUE_OK
      && api->url_get (u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    {
      if (api->url_get (u, CURLUPART_PORT, &port, 0) != CURLUE_OK)
        port = NULL;
      if (asprintf (&out, "%s%s%s", host, port ? ":" : "", port ? port : "") < 0)
        out = NULL;
    }
  api->free (host);
  api->free (port);
  api->url_cleanup (u);
  return out;
}

char *
cb_http_resolve_url (const char *base, const char *location, const char *query, cbuild_error *err)
{
  const struct cb_curl_api *api = cb_curl_api (err);
  CURLU *u;
  char *resolved = NULL, *out = NULL;

  if (api == NULL)
    return NULL;
  u = api->url ();
  if (u == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  /* Setting a URL on a handle that has one resolves it as a reference
   * relative to the old one (RFC 3986 section 5). */
  if (api->url_set (u, CURLUPART_URL, base, 0) != CURLUE_OK
      || api->url_set (u, CURLUPART_URL, location, 0) != CURLUE_OK
      || (query && api->url_set (u, CURLUPART_QUERY, query, CURLU_APPENDQUERY | CURLU_URLENCODE) != CURLUE_OK)
      || api->url_get (u, CURLUPART_URL, &resolved, 0) != CURLUE_OK)
    cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid location '%s' in the registry's response", location);
  else if ((out = strdup (resolved)) == NULL)
    cb_error_nomem (err);
  api->free (resolved);
  api->url_cleanup (u);
  return out;
}
