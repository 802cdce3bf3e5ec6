/* State and helpers shared by the registry client's files. Private to
 * registry/. */
#ifndef CBUILD_REGISTRY_INTERNAL_H
#define CBUILD_REGISTRY_INTERNAL_H

#include <curl/curl.h>
#include <stdbool.h>
#include <time.h>

#include "common/log.h"
#include "common/strv.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/http.h"

#define CB_DOCKER_HUB_DOMAIN "docker.io"
/* The host that serves the distribution API for docker.io. */
#define CB_DOCKER_HUB_HOST "registry-1.docker.io"

/* Manifests, indexes and image configs are read whole into memory, so they
 * are refused past this size. */
#define CB_MANIFEST_MAX (4 * 1024 * 1024)
#define CB_CONFIG_MAX (8 * 1024 * 1024)

/* A host's challenge, remembered so that later requests send credentials
 * or a token up front instead of first collecting another 401. */
struct cb_host_auth
{
  struct cb_host_auth *next;
  char *host;
  struct cb_auth_challenge challenge;
};

struct cb_token
{
  struct cb_token *next;
  char *host;
  char *scope;
  char *value;
  struct timespec expires; /* CLOCK_MONOTONIC */
};

struct cb_registry
{
  CURL *curl;
  struct cb_strv mirrors;
  struct cb_strv insecure;
  char *hub_host;
  char *config_path; /* Docker's config.json, read when credentials are needed */
  struct cb_logger log;
  struct cb_host_auth *hosts;
  struct cb_token *tokens;
  size_t n_tokens;
};

/* The registry host that requests for one repository go to. */
struct cb_endpoint
{
  const char *host;      /* host[:port] in URLs */
  const char *cred_host; /* the name credentials are stored under */
  bool plain_http;
  bool mirror;
};

/* Returns the client's libcurl handle, loading libcurl and making the
 * handle on the first call. NULL with err set when libcurl cannot load. */
CURL *cb_registry_curl (struct cb_registry *reg, cbuild_error *err);

/* Fills ep for host; plain HTTP for insecure and loopback hosts. */
void cb_registry_endpoint (const struct cb_registry *reg, const char *host, const char *cred_host,
                           bool mirror, struct cb_endpoint *ep);

/* "http(s)://HOST/v2/NAME/KIND/REF" (malloc'd); NULL with err set. */
char *cb_endpoint_url (const struct cb_endpoint *ep, const char *name, const char *kind,
                       const char *ref, cbuild_error *err);

/* Sends req to ep, and after a 401 once more with basic credentials or a
 * Bearer token for scope ("repository:NAME:pull" or "...:pull,push"). Returns 0
 * when a response other than 401 arrived. A 401 that credentials do not
 * cure fails with CBUILD_ERR_AUTH. */
int cb_registry_request (struct cb_registry *reg, const struct cb_endpoint *ep, const char *scope,
                         struct cb_http_request *req, struct cb_http_response *resp, cbuild_error *err);

/* Sets err from a response with an unexpected status: the registry's own
 * error message when its body has one, CBUILD_ERR_NOT_FOUND for 404,
 * CBUILD_ERR_AUTH for 403. what names the request ("manifest", "blob
 * sha256:..."). Returns -1. */
int cb_registry_status_error (const struct cb_endpoint *ep, const struct cb_http_response *resp,
                              const char *what, cbuild_error *err);

void cb_auth_state_release (struct cb_registry *reg);

/* "sha256:0123456789ab": digests shortened for log lines. */
void cb_short_digest (const char *digest, char out[20]);
/* "30.1 MB": sizes for log lines, in decimal units as Docker prints them. */
void cb_human_size (int64_t size, char out[32]);

#endif
