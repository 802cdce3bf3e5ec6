/* Plain HTTP downloads for ADD <url>, over the registry client's handle. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "registry/internal.h"

int
cb_registry_download (struct cb_registry *reg, const char *url, struct cb_blob_writer *blob,
                      char last_modified[64], cbuild_error *err)
{
  cleanup_free struct cb_http_response *resp = calloc (1, sizeof *resp);
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  CURL *curl;

  last_modified[0] = '\0';
  if (resp == NULL)
    return cb_error_nomem (err);
  curl = cb_registry_curl (reg, err);
  if (curl == NULL)
    return -1;
  req.url = url;
  req.follow_redirects = true;
  req.blob = blob;
  req.blob_max = INT64_MAX;
  if (cb_http_perform (curl, &req, resp, err) < 0)
    return cb_error_prefix (err, "download '%s'", url);
  if (resp->status < 200 || resp->status > 299)
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "download '%s': the server returned HTTP status %ld", url,
                         resp->status);
  snprintf (last_modified, 64, "%s", resp->last_modified);
  return 0;
}
