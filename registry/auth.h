/* Registry authentication: credentials from Docker's config.json, the
 * WWW-Authenticate challenge, and Bearer tokens from the challenge's
 * realm. Private to registry/. */
#ifndef CBUILD_REGISTRY_AUTH_H
#define CBUILD_REGISTRY_AUTH_H

#include <curl/curl.h>
#include <stdbool.h>

#include <cbuild/cbuild.h>

struct cb_credentials
{
  char *username; /* NULL when no credentials were found */
  char *password;
};

/* Wipes and frees the strings. */
void cb_credentials_release (struct cb_credentials *creds);

/* Returns the config.json path (malloc'd) in config_dir, or else in
 * $DOCKER_CONFIG, or else in ~/.docker. */
char *cb_docker_config_path (const char *config_dir);

/* Looks up host's entry under "auths" in the config file at path: its
 * "auth" (base64 of "user:password"), or its "username" and "password".
 * Keys may carry a scheme and a path ("https://index.docker.io/v1/"); for
 * docker.io the Docker Hub keys are tried. A missing file or entry leaves
 * creds empty and is not an error. */
int cb_docker_config_credentials (const char *path, const char *host, struct cb_credentials *creds,
                                  cbuild_error *err);

enum cb_auth_scheme
{
  CB_AUTH_NONE = 0,
  CB_AUTH_BASIC,
  CB_AUTH_BEARER,
};

struct cb_auth_challenge
{
  enum cb_auth_scheme scheme;
  char *realm;
  char *service; /* NULL when the challenge has none */
};

/* Parses a WWW-Authenticate value such as
 * `Bearer realm="https://auth.example/token",service="registry.example"`. */
int cb_auth_challenge_parse (const char *header, struct cb_auth_challenge *out, cbuild_error *err);
void cb_auth_challenge_release (struct cb_auth_challenge *ch);

/* "Basic <base64 of user:password>" (malloc'd), or NULL when out of memory. */
char *cb_auth_basic_header (const struct cb_credentials *creds);

/* Decodes standard base64 (with or without padding) into a malloc'd,
 * NUL-terminated buffer; NULL when s is not base64 or memory runs out. */
char *cb_base64_decode (const char *s, size_t *len);

/* Fetches a token for scope from the challenge's realm (GET with service
 * and scope in the query, with basic credentials when creds has them).
 * *token is malloc'd; *expires_in is in seconds. Fails with CBUILD_ERR_AUTH
 * when the realm rejects the credentials. */
int cb_auth_fetch_token (CURL *curl, const struct cb_auth_challenge *ch, const char *scope,
                         const struct cb_credentials *creds, char **token, long *expires_in,
                         cbuild_error *err);

#endif
