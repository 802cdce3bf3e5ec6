/* One HTTP exchange over libcurl with bounded headers and bodies: a
 * response body goes to a size-limited buffer or streams into a blob
 * writer, and a request body comes from memory or from a file. Private to
 * registry/. */
#ifndef CBUILD_REGISTRY_HTTP_H
#define CBUILD_REGISTRY_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "layers/store.h"

/* Longest Location or WWW-Authenticate value kept; upload locations carry
 * a state token, challenges a realm URL and a scope. */
#define CB_HTTP_HEADER_VALUE_MAX 8192
/* Error bodies are read up to this size for the registry's message. */
#define CB_HTTP_ERROR_BODY_MAX 4096
/* Manifests, configs, tokens and upload sessions are small, so an exchange
 * of them that takes longer than this is a server that drips bytes just
 * above the stall limit. */
#define CB_HTTP_SMALL_TIMEOUT_S 300L

struct cb_http_request
{
  const char *method;        /* "GET", "HEAD", "POST" or "PUT" */
  const char *url;
  const char *accept;        /* NULL: no Accept header */
  const char *content_type;  /* NULL: no Content-Type header */
  const char *authorization; /* "Basic ..." or "Bearer ..."; never logged */
  bool follow_redirects;     /* registries redirect blob downloads to storage */

  /* The request body: body_len bytes at body, or body_size bytes read
   * from body_fd when it is not negative. */
  const void *body;
  size_t body_len;
  int body_fd;
  int64_t body_size;

  /* The destination of a 2xx body: out (bounded by its max), or blob (at
   * most blob_max bytes). With neither, a 2xx body is dropped. */
  struct cb_buf *out;
  struct cb_blob_writer *blob;
  int64_t blob_max;

  /* Limit on the whole exchange in seconds; 0 means the default of
   * cb_http_total_timeout. */
  long timeout_s;

  /* Names the other side in error messages; NULL means "registry". */
  const char *peer;

  /* Validators of an earlier response, for a conditional GET; NULL when
   * there is none. */
  const char *if_none_match;
  const char *if_modified_since;
};

#define CB_HTTP_REQUEST_INIT { .method = "GET", .body_fd = -1 }

struct cb_http_response
{
  long status;
  int64_t content_length; /* -1 when absent */
  int64_t received;       /* body bytes passed to out or blob */
  char content_type[256];
  char docker_content_digest[128];
  char last_modified[64];
  char etag[256];
  char location[CB_HTTP_HEADER_VALUE_MAX];
  char www_authenticate[CB_HTTP_HEADER_VALUE_MAX];
  char error_body[CB_HTTP_ERROR_BODY_MAX]; /* start of a non-2xx body */
  bool header_truncated; /* a kept header value was longer than its field */
  bool transport_error;  /* the exchange failed in the network, worth a retry */
};

/* Sends req on curl and fills resp. Returns 0 when a response arrived,
 * whatever its status, and -1 with CBUILD_ERR_REGISTRY when the host
 * cannot be reached or the exchange broke (resp->transport_error), or with
 * the error of the body's destination (a full buffer, a failed write). */
int cb_http_perform (CURL *curl, const struct cb_http_request *req,
                     struct cb_http_response *resp, cbuild_error *err);

/* Returns the limit in seconds on the whole exchange of req, 0 for none:
 * req->timeout_s when set, else CB_HTTP_SMALL_TIMEOUT_S unless a blob is
 * sent from a file or received into a blob writer. */
long cb_http_total_timeout (const struct cb_http_request *req);

/* Returns the "host[:port]" of url (malloc'd), or NULL when url does not
 * parse. */
char *cb_http_url_authority (const char *url);

/* Resolves location against base (an absolute or relative URL) and, when
 * query is not NULL, appends it to the query string ("a=b" is encoded).
 * Returns the malloc'd URL, or NULL with err set. */
char *cb_http_resolve_url (const char *base, const char *location, const char *query,
                           cbuild_error *err);

#endif
