/* Plain HTTP downloads for ADD <url>. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/remote_source.h"
#include "registry/client.h"
#include "registry/curl_api.h"
#include "registry/http.h"

int
cb_http_download (const char *url, const struct cb_download_validators *previous, struct cb_blob_writer *blob,
                  struct cb_download_validators *got, bool *not_modified, cbuild_error *err)
{
  cleanup_free struct cb_http_response *resp = calloc (1, sizeof *resp);
  cleanup_free char *redacted_url = cb_remote_redact (url);
  const struct cb_curl_api *api = cb_curl_api (err);
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  CURL *curl;
  int ret;

  memset (got, 0, sizeof *got);
  *not_modified = false;
  if (resp == NULL)
    return cb_error_nomem (err);
  if (api == NULL)
    return -1;
  /* A handle of its own, so that a slow download holds up no registry
   * request of the other stages. */
  curl = api->easy_init ();
  if (curl == NULL)
    return cb_error_set (err, CBUILD_ERR_SYSTEM, "cannot create a libcurl handle");
  req.url = url;
  req.peer = "server";
  req.follow_redirects = true;
  req.blob = blob;
  req.blob_max = INT64_MAX;
  if (previous && previous->etag[0])
    req.if_none_match = previous->etag;
  if (previous && previous->last_modified[0])
    req.if_modified_since = previous->last_modified;
  ret = cb_http_perform (curl, &req, resp, err);
  api->easy_cleanup (curl);
  if (ret < 0)
    return cb_error_prefix (err, "download '%s'", redacted_url ? redacted_url : url);
  if (resp->status == 304 && (req.if_none_match || req.if_modified_since))
    {
      *not_modified = true;
      *got = *previous;
      return 0;
    }
  if (resp->status < 200 || resp->status > 299)
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "download '%s': the server returned HTTP status %ld",
                         redacted_url ? redacted_url : url, resp->status);
  snprintf (got->etag, sizeof got->etag, "%s", resp->etag);
  snprintf (got->last_modified, sizeof got->last_modified, "%s", resp->last_modified);
  return 0;
}
