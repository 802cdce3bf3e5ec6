/* Registry requests with authentication. After a 401, the request is sent
 * once more with the credentials or Bearer token that its challenge
 * requests. Challenges and tokens are kept, so that later requests
 * authenticate up front. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "registry/internal.h"

/* Bounds on the cached state, because a build uses a few hosts and scopes. */
#define MAX_HOSTS 32
#define MAX_TOKENS 64
/* A token is renewed this long before its stated expiry, so that it does
 * not run out between the check and the registry's. */
#define TOKEN_EXPIRY_MARGIN_S 10

static void
wipe_free (char *s)
{
  if (s)
    {
      explicit_bzero (s, strlen (s));
      free (s);
    }
}

static void
token_free (struct cb_token *t)
{
  free (t->host);
  free (t->scope);
  wipe_free (t->value);
  free (t);
}

void
cb_auth_state_release (struct cb_registry *reg)
{
  while (reg->hosts)
    {
      struct cb_host_auth *h = reg->hosts;
      reg->hosts = h->next;
      free (h->host);
      cb_auth_challenge_release (&h->challenge);
      free (h);
    }
  while (reg->tokens)
    {
      struct cb_token *t = reg->tokens;
      reg->tokens = t->next;
      token_free (t);
    }
  reg->n_tokens = 0;
}

static struct cb_host_auth *
host_auth_find (struct cb_registry *reg, const char *host)
{
  for (struct cb_host_auth *h = reg->hosts; h; h = h->next)
    if (strcmp (h->host, host) == 0)
      return h;
  return NULL;
}

/* Takes over ch. */
static int
host_auth_store (struct cb_registry *reg, const char *host, struct cb_auth_challenge *ch, cbuild_error *err)
{
  struct cb_host_auth *h = host_auth_find (reg, host);
  size_t n = 0;

  if (h == NULL)
    {
      struct cb_host_auth **last = &reg->hosts;
      for (; *last; last = &(*last)->next)
        n++;
      if (n >= MAX_HOSTS)
        {
          /* Forget the oldest host, which is last because new ones go first. */
          struct cb_host_auth *old, **slot = &reg->hosts;
          while ((*slot)->next)
            slot = &(*slot)->next;
          old = *slot;
          *slot = NULL;
          free (old->host);
          cb_auth_challenge_release (&old->challenge);
          free (old);
        }
      if ((h = calloc (1, sizeof *h)) == NULL || (h->host = strdup (host)) == NULL)
        {
          free (h);
          cb_auth_challenge_release (ch);
          return cb_error_nomem (err);
        }
      h->next = reg->hosts;
      reg->hosts = h;
    }
  cb_auth_challenge_release (&h->challenge);
  h->challenge = *ch;
  memset (ch, 0, sizeof *ch);
  return 0;
}

static bool
expired (const struct timespec *when)
{
  struct timespec now;

  clock_gettime (CLOCK_MONOTONIC, &now);
  return now.tv_sec >= when->tv_sec;
}

static struct cb_token **
token_slot (struct cb_registry *reg, const char *host, const char *scope)
{
  struct cb_token **slot;

  for (slot = &reg->tokens; *slot; slot = &(*slot)->next)
    if (strcmp ((*slot)->host, host) == 0 && strcmp ((*slot)->scope, scope) == 0)
      return slot;
  return slot;
}

static void
token_drop (struct cb_registry *reg, struct cb_token **slot)
{
  struct cb_token *t = *slot;

  *slot = t->next;
  token_free (t);
  reg->n_tokens--;
}

/* Takes over value. */
static int
token_store (struct cb_registry *reg, const char *host, const char *scope, char *value, long expires_in,
             cbuild_error *err)
{
  struct cb_token **slot = token_slot (reg, host, scope);
  struct cb_token *t;

  if (*slot)
    token_drop (reg, slot);
  if (reg->n_tokens >= MAX_TOKENS)
    {
      for (slot = &reg->tokens; (*slot)->next; slot = &(*slot)->next)
        ;
      token_drop (reg, slot);
    }
  t = calloc (1, sizeof *t);
  if (t == NULL || (t->host = strdup (host)) == NULL || (t->scope = strdup (scope)) == NULL)
    {
      if (t)
        free (t->host);
      free (t);
      wipe_free (value);
      return cb_error_nomem (err);
    }
  t->value = value;
  clock_gettime (CLOCK_MONOTONIC, &t->expires);
  t->expires.tv_sec += expires_in > TOKEN_EXPIRY_MARGIN_S * 2 ? expires_in - TOKEN_EXPIRY_MARGIN_S : expires_in;
  t->next = reg->tokens;
  reg->tokens = t;
  reg->n_tokens++;
  return 0;
}

static const char *
config_display_path (const struct cb_registry *reg, char *buf, size_t size)
{
  const char *home = getenv ("HOME");
  size_t len = home ? strlen (home) : 0;

  if (len > 1 && strncmp (reg->config_path, home, len) == 0 && reg->config_path[len] == '/')
    {
      snprintf (buf, size, "~%s", reg->config_path + len);
      return buf;
    }
  return reg->config_path;
}

static int
auth_error (const struct cb_registry *reg, const struct cb_endpoint *ep, const char *reason,
            cbuild_error *err)
{
  char path[1024];

  return cb_error_set (err, CBUILD_ERR_AUTH, "%s: run 'docker login %s' or set credentials in %s", reason,
                       ep->cred_host, config_display_path (reg, path, sizeof path));
}

/* Fetches a token for scope, with the host's credentials when there are
 * any, and caches it. */
static int
fetch_token (struct cb_registry *reg, const struct cb_endpoint *ep, const struct cb_auth_challenge *ch,
             const char *scope, bool *have_creds, cbuild_error *err)
{
  struct cb_credentials creds = { NULL, NULL };
  char *value = NULL;
  long expires_in = 0;
  CURL *curl;
  int ret;

  if (cb_docker_config_credentials (reg->config_path, ep->cred_host, &creds, err) < 0)
    return -1;
  *have_creds = creds.username != NULL;
  curl = cb_registry_curl (reg, err);
  ret = curl ? cb_auth_fetch_token (curl, ch, scope, &creds, &value, &expires_in, err) : -1;
  cb_credentials_release (&creds);
  if (ret < 0)
    return -1;
  return token_store (reg, ep->host, scope, value, expires_in, err);
}

static int
bearer_header (struct cb_registry *reg, const struct cb_endpoint *ep, const struct cb_auth_challenge *ch,
               const char *scope, bool refresh, bool *have_creds, char **out, cbuild_error *err)
{
  struct cb_token **slot = token_slot (reg, ep->host, scope);

  if (*slot && (refresh || expired (&(*slot)->expires)))
    token_drop (reg, slot);
  slot = token_slot (reg, ep->host, scope);
  if (*slot == NULL)
    {
      if (fetch_token (reg, ep, ch, scope, have_creds, err) < 0)
        {
          char reason[CBUILD_ERROR_MAX + 32];
          if (err->code != CBUILD_ERR_AUTH)
            return -1;
          snprintf (reason, sizeof reason, "authentication failed: %s", err->message);
          return auth_error (reg, ep, reason, err);
        }
      slot = token_slot (reg, ep->host, scope);
    }
  if (asprintf (out, "Bearer %s", (*slot)->value) < 0)
    return cb_error_nomem (err);
  return 0;
}

/* Sets *out to the Authorization value for a request to ep, or to NULL
 * when the host has not requested any yet or no credentials exist for Basic. */
static int
authorization_for (struct cb_registry *reg, const struct cb_endpoint *ep, const char *scope, bool refresh,
                   char **out, bool *have_creds, cbuild_error *err)
{
  struct cb_host_auth *h = host_auth_find (reg, ep->host);
  struct cb_credentials creds = { NULL, NULL };
  int ret = 0;

  *out = NULL;
  if (h == NULL)
    return 0;
  if (h->challenge.scheme == CB_AUTH_BEARER)
    return bearer_header (reg, ep, &h->challenge, scope, refresh, have_creds, out, err);
  if (cb_docker_config_credentials (reg->config_path, ep->cred_host, &creds, err) < 0)
    return -1;
  *have_creds = creds.username != NULL;
  if (creds.username && (*out = cb_auth_basic_header (&creds)) == NULL)
    ret = cb_error_nomem (err);
  cb_credentials_release (&creds);
  return ret;
}

static int
remember_challenge (struct cb_registry *reg, const struct cb_endpoint *ep, const struct cb_http_response *resp,
                    cbuild_error *err)
{
  struct cb_auth_challenge ch;

  if (resp->www_authenticate[0] == '\0' || resp->header_truncated)
    return cb_error_set (err, CBUILD_ERR_AUTH, "registry %s requires authentication but sent no usable challenge",
                         ep->host);
  if (cb_auth_challenge_parse (resp->www_authenticate, &ch, err) < 0)
    return -1;
  return host_auth_store (reg, ep->host, &ch, err);
}

/* Credentials go only to the registry itself, never to a storage or
 * upload host that a Location header names. */
static bool
url_on_endpoint (const struct cb_endpoint *ep, const char *url)
{
  const char *scheme = ep->plain_http ? "http://" : "https://";
  size_t slen = strlen (scheme), hlen = strlen (ep->host);

  return strncmp (url, scheme, slen) == 0 && strncmp (url + slen, ep->host, hlen) == 0
         && url[slen + hlen] == '/';
}

static int
perform_with (struct cb_registry *reg, struct cb_http_request *req, char *authorization,
              struct cb_http_response *resp, cbuild_error *err)
{
  CURL *curl = cb_registry_curl (reg, err);
  int ret;

  req->authorization = authorization;
  ret = curl ? cb_http_perform (curl, req, resp, err) : -1;
  req->authorization = NULL;
  wipe_free (authorization);
  return ret;
}

int
cb_registry_request (struct cb_registry *reg, const struct cb_endpoint *ep, const char *scope,
                     struct cb_http_request *req, struct cb_http_response *resp, cbuild_error *err)
{
  bool own_host = url_on_endpoint (ep, req->url);
  bool have_creds = false;
  char *authorization = NULL;

  if (own_host && authorization_for (reg, ep, scope, false, &authorization, &have_creds, err) < 0)
    return -1;
  if (perform_with (reg, req, authorization, resp, err) < 0)
    return -1;
  if (resp->status != 401 || !own_host)
    return 0;

  if (remember_challenge (reg, ep, resp, err) < 0
      || authorization_for (reg, ep, scope, true, &authorization, &have_creds, err) < 0)
    return -1;
  if (authorization == NULL)
    return auth_error (reg, ep, "authentication required", err);
  if (perform_with (reg, req, authorization, resp, err) < 0)
    return -1;
  if (resp->status == 401)
    return auth_error (reg, ep,
                       have_creds ? "authentication failed: the registry rejected the credentials or denied access"
                                  : "authentication required",
                       err);
  return 0;
}

static const char *
error_hint (const char *code)
{
  if (strcmp (code, "MANIFEST_UNKNOWN") == 0)
    return " (the image or tag does not exist)";
  if (strcmp (code, "NAME_UNKNOWN") == 0)
    return " (the repository does not exist)";
  if (strcmp (code, "TOOMANYREQUESTS") == 0)
    return " (rate limited; wait or log in)";
  return "";
}

int
cb_registry_status_error (const struct cb_endpoint *ep, const struct cb_http_response *resp,
                          const char *what, cbuild_error *err)
{
  json_t *root = json_loads (resp->error_body, 0, NULL);
  json_t *first = json_array_get (json_object_get (root, "errors"), 0);
  const char *code = json_string_value (json_object_get (first, "code"));
  const char *message = json_string_value (json_object_get (first, "message"));
  int category = CBUILD_ERR_REGISTRY;
  char detail[1024];

  if (resp->status == 404)
    category = CBUILD_ERR_NOT_FOUND;
  else if (resp->status == 401 || resp->status == 403)
    category = CBUILD_ERR_AUTH;
  if (code && message)
    snprintf (detail, sizeof detail, "%s%s", message, error_hint (code));
  else if (resp->status == 404)
    snprintf (detail, sizeof detail, "not found on registry %s", ep->host);
  else
    snprintf (detail, sizeof detail, "registry %s returned HTTP %ld", ep->host, resp->status);
  json_decref (root);
  if (what)
    return cb_error_set (err, category, "%s: %s", what, detail);
  return cb_error_set (err, category, "%s", detail);
}
