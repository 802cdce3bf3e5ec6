/* The registry client's handle and where its requests go. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "registry/curl_api.h"
#include "registry/internal.h"

/* Docker takes mirrors as URLs ("https://mirror.example"), the options
 * document host[:port]; both are accepted, and "http://" marks the host
 * insecure. */
static int
add_mirror (struct cb_registry *reg, const char *mirror, cbuild_error *err)
{
  const char *host = mirror;
  bool plain = false;
  size_t len;

  if (strncmp (host, "https://", 8) == 0)
    host += 8;
  else if (strncmp (host, "http://", 7) == 0)
    {
      host += 7;
      plain = true;
    }
  len = strlen (host);
  while (len > 0 && host[len - 1] == '/')
    len--;
  if (len == 0 || memchr (host, '/', len) || strcspn (host, " \t\r\n") < len)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid registry mirror '%s': expected host[:port]", mirror);
  if (cb_strv_push_owned (&reg->mirrors, strndup (host, len), err) < 0)
    return -1;
  if (plain && cb_strv_push_owned (&reg->insecure, strndup (host, len), err) < 0)
    return -1;
  return 0;
}

static int
copy_options (struct cb_registry *reg, const struct cb_registry_options *opts, cbuild_error *err)
{
  if (opts->insecure && cb_strv_copy (&reg->insecure, opts->insecure, err) < 0)
    return -1;
  for (size_t i = 0; opts->mirrors && i < opts->mirrors->len; i++)
    if (add_mirror (reg, opts->mirrors->items[i], err) < 0)
      return -1;
  reg->hub_host = strdup (opts->docker_hub_host ? opts->docker_hub_host : CB_DOCKER_HUB_HOST);
  reg->config_path = cb_docker_config_path (opts->docker_config_dir);
  if (reg->hub_host == NULL || reg->config_path == NULL)
    return cb_error_nomem (err);
  if (opts->log)
    reg->log = *opts->log;
  return 0;
}

int
cb_registry_new (const struct cb_registry_options *opts, struct cb_registry **out, cbuild_error *err)
{
  static const struct cb_registry_options no_options = { 0 };
  struct cb_registry *reg;

  reg = calloc (1, sizeof *reg);
  if (reg == NULL)
    return cb_error_nomem (err);
  if (copy_options (reg, opts ? opts : &no_options, err) < 0)
    {
      cb_registry_free (reg);
      return -1;
    }
  *out = reg;
  return 0;
}

/* The handle is made on the first request, so that a build served from
 * the local cache never loads libcurl. */
CURL *
cb_registry_curl (struct cb_registry *reg, cbuild_error *err)
{
  const struct cb_curl_api *curl;

  if (reg->curl)
    return reg->curl;
  curl = cb_curl_api (err);
  if (curl == NULL)
    return NULL;
  reg->curl = curl->easy_init ();
  if (reg->curl == NULL)
    cb_error_set (err, CBUILD_ERR_SYSTEM, "cannot create a libcurl handle");
  return reg->curl;
}

void
cb_registry_free (struct cb_registry *reg)
{
  if (reg == NULL)
    return;
  cb_auth_state_release (reg);
  /* A handle exists only after cb_curl_api() succeeded. */
  if (reg->curl)
    cb_curl_api (NULL)->easy_cleanup (reg->curl);
  cb_strv_release (&reg->mirrors);
  cb_strv_release (&reg->insecure);
  free (reg->hub_host);
  free (reg->config_path);
  free (reg);
}

/* localhost, 127.0.0.0/8 and ::1, with or without a port. */
static bool
host_is_loopback (const char *host)
{
  char name[256];
  struct in_addr v4;
  size_t len;

  if (strncmp (host, "[::1]", 5) == 0 && (host[5] == '\0' || host[5] == ':'))
    return true;
  if (strcmp (host, "::1") == 0)
    return true;
  len = strcspn (host, ":");
  if (len >= sizeof name)
    return false;
  memcpy (name, host, len);
  name[len] = '\0';
  if (strcmp (name, "localhost") == 0)
    return true;
  return inet_pton (AF_INET, name, &v4) == 1 && (ntohl (v4.s_addr) >> 24) == 127;
}

/* An insecure entry without a port covers every port of its host. */
static bool
host_is_insecure (const struct cb_registry *reg, const char *host)
{
  size_t name_len = host[0] == '[' ? strcspn (host, "]") + 1 : strcspn (host, ":");

  for (size_t i = 0; i < reg->insecure.len; i++)
    {
      const char *entry = reg->insecure.items[i];
      if (strcmp (entry, host) == 0 || (strlen (entry) == name_len && strncmp (entry, host, name_len) == 0))
        return true;
    }
  return false;
}

void
cb_registry_endpoint (const struct cb_registry *reg, const char *host, const char *cred_host, bool mirror,
                      struct cb_endpoint *ep)
{
  ep->host = host;
  ep->cred_host = cred_host;
  ep->mirror = mirror;
  /* Like Docker, use plain HTTP for loopback registries even when they are
   * not in the insecure list. */
  ep->plain_http = host_is_loopback (host) || host_is_insecure (reg, host);
}

char *
cb_endpoint_url (const struct cb_endpoint *ep, const char *name, const char *kind, const char *ref,
                 cbuild_error *err)
{
  char *url = NULL;

  if (asprintf (&url, "%s://%s/v2/%s/%s/%s", ep->plain_http ? "http" : "https", ep->host, name, kind, ref) < 0)
    {
      cb_error_nomem (err);
      return NULL;
    }
  return url;
}

void
cb_short_digest (const char *digest, char out[20])
{
  snprintf (out, 20, "%.19s", digest);
}

void
cb_human_size (int64_t size, char out[32])
{
  if (size < 1000)
    snprintf (out, 32, "%lld B", (long long) size);
  else if (size < 1000 * 1000)
    snprintf (out, 32, "%.1f kB", (double) size / 1e3);
  else if (size < 1000LL * 1000 * 1000)
    snprintf (out, 32, "%.1f MB", (double) size / 1e6);
  else
    snprintf (out, 32, "%.1f GB", (double) size / 1e9);
}
