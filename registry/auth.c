#include "registry/auth.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "registry/http.h"

#define CONFIG_MAX (1024 * 1024)
#define TOKEN_RESPONSE_MAX (1024 * 1024)
#define TOKEN_MAX (16 * 1024)
/* The token lifetime the distribution spec assumes when none is given. */
#define TOKEN_DEFAULT_EXPIRY_S 60

static void
wipe_free (char *s)
{
  if (s)
    {
      explicit_bzero (s, strlen (s));
      free (s);
    }
}

void
cb_credentials_release (struct cb_credentials *creds)
{
  wipe_free (creds->username);
  wipe_free (creds->password);
  creds->username = creds->password = NULL;
}

char *
cb_docker_config_path (const char *config_dir)
{
  const char *home = getenv ("HOME");
  char *path = NULL;

  if (config_dir == NULL)
    config_dir = getenv ("DOCKER_CONFIG");
  if (config_dir && *config_dir)
    return cb_path_join (config_dir, "config.json");
  if (asprintf (&path, "%s/.docker/config.json", home && *home ? home : "/root") < 0)
    return NULL;
  return path;
}

static int
base64_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

char *
cb_base64_decode (const char *s, size_t *len)
{
  size_t n = strlen (s), used = 0;
  unsigned int acc = 0, bits = 0;
  char *out;

  while (n > 0 && s[n - 1] == '=')
    n--;
  if ((out = malloc (n * 3 / 4 + 1)) == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      int v = base64_value (s[i]);
      if (v < 0)
        {
          free (out);
          return NULL;
        }
      acc = (acc << 6) | (unsigned int) v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          out[used++] = (char) ((acc >> bits) & 0xff);
        }
    }
  out[used] = '\0';
  if (len)
    *len = used;
  return out;
}

char *
cb_auth_basic_header (const struct cb_credentials *creds)
{
  cleanup_free char *plain = NULL;
  char *out;
  size_t len;
  int n;

  if (asprintf (&plain, "%s:%s", creds->username, creds->password) < 0)
    return NULL;
  len = strlen (plain);
  out = malloc (strlen ("Basic ") + 4 * ((len + 2) / 3) + 1);
  if (out)
    {
      strcpy (out, "Basic ");
      n = EVP_EncodeBlock ((unsigned char *) out + 6, (const unsigned char *) plain, (int) len);
      out[6 + n] = '\0';
    }
  explicit_bzero (plain, len);
  return out;
}

/* "https://index.docker.io/v1/" -> "index.docker.io" */
static bool
config_key_matches (const char *key, const char *host)
{
  size_t len;

  if (strncmp (key, "https://", 8) == 0)
    key += 8;
  else if (strncmp (key, "http://", 7) == 0)
    key += 7;
  len = strcspn (key, "/");
  return strlen (host) == len && strncasecmp (key, host, len) == 0;
}

static bool
key_matches_host (const char *key, const char *host)
{
  static const char *const docker_hub[] = { "docker.io", "index.docker.io", "registry-1.docker.io", NULL };

  for (size_t i = 0; docker_hub[i]; i++)
    if (strcmp (host, docker_hub[i]) == 0)
      {
        for (size_t j = 0; docker_hub[j]; j++)
          if (config_key_matches (key, docker_hub[j]))
            return true;
        return false;
      }
  return config_key_matches (key, host);
}

static int
entry_credentials (json_t *entry, const char *path, const char *key, struct cb_credentials *creds,
                   cbuild_error *err)
{
  const char *auth = json_string_value (json_object_get (entry, "auth"));
  const char *user = json_string_value (json_object_get (entry, "username"));
  const char *pass = json_string_value (json_object_get (entry, "password"));
  char *decoded, *colon;

  if (auth && *auth)
    {
      decoded = cb_base64_decode (auth, NULL);
      colon = decoded ? strchr (decoded, ':') : NULL;
      if (colon == NULL)
        {
          wipe_free (decoded);
          return cb_error_set (err, CBUILD_ERR_INVALID, "%s: invalid \"auth\" for '%s' (expected base64 of user:password)",
                               path, key);
        }
      *colon = '\0';
      creds->username = strdup (decoded);
      creds->password = strdup (colon + 1);
      *colon = ':';
      wipe_free (decoded);
    }
  else if (user && pass)
    {
      creds->username = strdup (user);
      creds->password = strdup (pass);
    }
  else
    return 0;
  if (creds->username == NULL || creds->password == NULL)
    {
      cb_credentials_release (creds);
      return cb_error_nomem (err);
    }
  return 0;
}

int
cb_docker_config_credentials (const char *path, const char *host, struct cb_credentials *creds,
                              cbuild_error *err)
{
  cleanup_free char *text = NULL;
  json_error_t jerr;
  json_t *root, *auths, *entry;
  const char *key;
  size_t len;
  int ret = 0;

  creds->username = creds->password = NULL;
  if (cb_read_file (path, CONFIG_MAX, &text, &len, err) < 0)
    return err->code == CBUILD_ERR_NOT_FOUND ? 0 : -1;
  root = json_loadb (text, len, 0, &jerr);
  explicit_bzero (text, len);
  if (root == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "%s:%d: invalid JSON: %s", path, jerr.line, jerr.text);
  auths = json_object_get (root, "auths");
  /* NOTE: credential helpers ("credsStore", "credHelpers") are not run;
   * only credentials written into the file itself are used. */
  json_object_foreach (auths, key, entry)
    if (key_matches_host (key, host) && json_is_object (entry))
      {
        ret = entry_credentials (entry, path, key, creds, err);
        if (ret < 0 || creds->username)
          break;
      }
  json_decref (root);
  return ret;
}

void
cb_auth_challenge_release (struct cb_auth_challenge *ch)
{
  free (ch->realm);
  free (ch->service);
  ch->realm = ch->service = NULL;
  ch->scheme = CB_AUTH_NONE;
}

/* Reads a token or a quoted-string (RFC 7230) at *p into a malloc'd string. */
static char *
read_param_value (const char **p)
{
  const char *s = *p;
  struct cb_buf b = CB_BUF_INIT;

  if (*s != '"')
    {
      size_t len = strcspn (s, ", \t");
      *p = s + len;
      return strndup (s, len);
    }
  for (s++; *s && *s != '"'; s++)
    {
      if (*s == '\\' && s[1])
        s++;
      if (cb_buf_append_char (&b, *s, NULL) < 0)
        {
          cb_buf_release (&b);
          return NULL;
        }
    }
  *p = *s == '"' ? s + 1 : s;
  return cb_buf_detach (&b);
}

static int
parse_params (const char *p, struct cb_auth_challenge *out, cbuild_error *err)
{
  for (;;)
    {
      const char *key;
      size_t key_len;
      char *value;

      p += strspn (p, ", \t");
      if (*p == '\0')
        return 0;
      key = p;
      key_len = strcspn (p, "=, \t");
      p += key_len;
      if (*p != '=')
        continue;
      p++;
      if ((value = read_param_value (&p)) == NULL)
        return cb_error_nomem (err);
      if (key_len == 5 && strncasecmp (key, "realm", 5) == 0 && out->realm == NULL)
        out->realm = value;
      else if (key_len == 7 && strncasecmp (key, "service", 7) == 0 && out->service == NULL)
        out->service = value;
      else
        free (value);
    }
}

int
cb_auth_challenge_parse (const char *header, struct cb_auth_challenge *out, cbuild_error *err)
{
  size_t len;

  memset (out, 0, sizeof *out);
  header += strspn (header, " \t");
  len = strcspn (header, " \t");
  if (len == 5 && strncasecmp (header, "basic", 5) == 0)
    out->scheme = CB_AUTH_BASIC;
  else if (len == 6 && strncasecmp (header, "bearer", 6) == 0)
    out->scheme = CB_AUTH_BEARER;
  else
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "unsupported authentication challenge '%.*s'",
                         (int) (len > 32 ? 32 : len), header);
  if (parse_params (header + len, out, err) < 0)
    {
      cb_auth_challenge_release (out);
      return -1;
    }
  if (out->scheme == CB_AUTH_BEARER
      && (out->realm == NULL
          || (strncmp (out->realm, "https://", 8) != 0 && strncmp (out->realm, "http://", 7) != 0)))
    {
      cb_auth_challenge_release (out);
      return cb_error_set (err, CBUILD_ERR_REGISTRY, "Bearer challenge without an http(s) realm");
    }
  return 0;
}

static char *
token_url (const struct cb_auth_challenge *ch, const char *scope, cbuild_error *err)
{
  cleanup_free char *with_service = NULL;
  cleanup_free char *query = NULL;

  if (ch->service)
    {
      if (asprintf (&query, "service=%s", ch->service) < 0)
        return cb_error_nomem (err), NULL;
      if ((with_service = cb_http_resolve_url (ch->realm, ch->realm, query, err)) == NULL)
        return NULL;
      free (query);
    }
  if (asprintf (&query, "scope=%s", scope) < 0)
    return cb_error_nomem (err), NULL;
  return cb_http_resolve_url (ch->realm, with_service ? with_service : ch->realm, query, err);
}

/* The token goes into a request header, so anything but printable ASCII
 * would let the token service inject header lines. */
static bool
token_printable (const char *s)
{
  for (; *s; s++)
    if (*s < 0x21 || *s > 0x7e)
      return false;
  return true;
}

static int
parse_token_response (const char *body, size_t len, const char *realm, char **token, long *expires_in,
                      cbuild_error *err)
{
  json_t *root = json_loadb (body, len, 0, NULL);
  const char *value = json_string_value (json_object_get (root, "token"));
  json_t *expiry = json_object_get (root, "expires_in");
  int ret = 0;

  if (value == NULL || *value == '\0')
    value = json_string_value (json_object_get (root, "access_token"));
  if (value == NULL || *value == '\0' || strlen (value) > TOKEN_MAX || !token_printable (value))
    ret = cb_error_set (err, CBUILD_ERR_REGISTRY, "the token service at %s returned no valid token", realm);
  else if ((*token = strdup (value)) == NULL)
    ret = cb_error_nomem (err);
  else
    *expires_in = json_is_integer (expiry) && json_integer_value (expiry) > 0
                      ? (long) json_integer_value (expiry) : TOKEN_DEFAULT_EXPIRY_S;
  json_decref (root);
  return ret;
}

int
cb_auth_fetch_token (CURL *curl, const struct cb_auth_challenge *ch, const char *scope,
                     const struct cb_credentials *creds, char **token, long *expires_in,
                     cbuild_error *err)
{
  cleanup_free char *url = token_url (ch, scope, err);
  cleanup_buf struct cb_buf body = CB_BUF_INIT;
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  cleanup_free struct cb_http_response *resp = calloc (1, sizeof *resp);
  char *basic = NULL;
  int ret;

  if (url == NULL)
    return -1;
  if (resp == NULL)
    return cb_error_nomem (err);
  cb_buf_init (&body, TOKEN_RESPONSE_MAX);
  if (creds->username && (basic = cb_auth_basic_header (creds)) == NULL)
    return cb_error_nomem (err);
  req.url = url;
  req.authorization = basic;
  req.follow_redirects = true;
  req.out = &body;

  ret = cb_http_perform (curl, &req, resp, err);
  wipe_free (basic);
  if (ret < 0)
    return cb_error_prefix (err, "request a token from %s", ch->realm);
  if (resp->status == 401 || resp->status == 403)
    return cb_error_set (err, CBUILD_ERR_AUTH, "the token service at %s rejected %s (HTTP %ld)", ch->realm,
                         creds->username ? "the credentials" : "an anonymous request", resp->status);
  if (resp->status != 200)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "the token service at %s returned HTTP %ld", ch->realm,
                         resp->status);
  return parse_token_response (cb_buf_str (&body), body.len, ch->realm, token, expires_in, err);
}
