/* Image references, parsed and normalized the way Docker's
 * distribution/reference package does (ParseNormalizedNamed):
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [ domain "/" ] path-component [ "/" path-component ]*
 *   domain     := host-component [ "." host-component ]* [ ":" port ]
 *               | "[" IPv6 address "]" [ ":" port ]
 *   path-comp  := [a-z0-9]+ ( separator [a-z0-9]+ )*
 *   separator  := "." | "_" | "__" | "-"+
 *   tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *
 * The first component is a domain when it contains '.' or ':', is
 * "localhost", or has an uppercase letter. Otherwise the name is on
 * docker.io, where a one-component path gets the "library/" prefix. */
#include "registry/reference.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"

#define DOCKER_DOMAIN "docker.io"
#define DOCKER_LEGACY_DOMAIN "index.docker.io"
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
/* Longer input cannot be a valid reference; the bound keeps messages short. */
#define REFERENCE_MAX_LEN 1024

static int
invalid (cbuild_error *err, const char *s, const char *what)
{
  return cb_error_set (err, CBUILD_ERR_INVALID, "invalid reference '%s': %s", s, what);
}

static bool
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_word_char (char c)
{
  return isalnum ((unsigned char) c) || c == '_';
}

static bool
tag_valid (const char *tag)
{
  size_t len = strlen (tag);

  if (len == 0 || len > TAG_MAX_LEN || !is_word_char (tag[0]))
    return false;
  for (size_t i = 1; i < len; i++)
    if (!is_word_char (tag[i]) && tag[i] != '.' && tag[i] != '-')
      return false;
  return true;
}

/* One path component: alphanumeric runs joined by ".", "_", "__" or "-"+. */
static bool
path_component_valid (const char *p, size_t len)
{
  size_t i = 0;

  while (i < len)
    {
      size_t run = 0, sep_start;

      while (i < len && is_lower_alnum (p[i]))
        i++, run++;
      if (run == 0)
        return false;
      if (i == len)
        return true;
      sep_start = i;
      if (p[i] == '.')
        i++;
      else if (p[i] == '_')
        i += (i + 1 < len && p[i + 1] == '_') ? 2 : 1;
      else if (p[i] == '-')
        while (i < len && p[i] == '-')
          i++;
      if (i == sep_start || i == len)
        return false;
    }
  return false;
}

static bool
path_valid (const char *path)
{
  const char *p = path;

  for (;;)
    {
      const char *slash = strchr (p, '/');
      size_t len = slash ? (size_t) (slash - p) : strlen (p);

      if (!path_component_valid (p, len))
        return false;
      if (slash == NULL)
        return true;
      p = slash + 1;
    }
}

static bool
port_valid (const char *port)
{
  size_t len = strspn (port, "0123456789");

  return len > 0 && len <= 5 && port[len] == '\0' && atoi (port) <= 65535;
}

/* host-component := [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9] */
static bool
host_valid (const char *host, size_t len)
{
  size_t start = 0;

  if (len == 0)
    return false;
  for (size_t i = 0; i <= len; i++)
    {
      if (i < len && host[i] != '.')
        {
          if (!isalnum ((unsigned char) host[i]) && host[i] != '-')
            return false;
          continue;
        }
      if (i == start || host[start] == '-' || host[i - 1] == '-')
        return false;
      start = i + 1;
    }
  return true;
}

static bool
domain_valid (const char *domain)
{
  const char *end, *colon;

  if (domain[0] == '[')
    {
      end = strchr (domain, ']');
      if (end == NULL || end == domain + 1
          || strspn (domain + 1, "0123456789abcdefABCDEF:.") != (size_t) (end - domain - 1))
        return false;
      end++;
      return *end == '\0' || (*end == ':' && port_valid (end + 1));
    }
  colon = strchr (domain, ':');
  if (colon && !port_valid (colon + 1))
    return false;
  return host_valid (domain, colon ? (size_t) (colon - domain) : strlen (domain));
}

/* Docker's splitDockerDomain: the first component names a registry only
 * when it cannot be a Docker Hub user or organization name. */
static bool
is_domain_component (const char *name, size_t len)
{
  if (memchr (name, '.', len) || memchr (name, ':', len))
    return true;
  if (len == strlen ("localhost") && strncmp (name, "localhost", len) == 0)
    return true;
  for (size_t i = 0; i < len; i++)
    if (isupper ((unsigned char) name[i]))
      return true;
  return false;
}

static int
split_domain (const char *name, struct cb_reference *out)
{
  const char *slash = strchr (name, '/');

  if (slash && is_domain_component (name, (size_t) (slash - name)))
    {
      out->domain = strndup (name, (size_t) (slash - name));
      out->path = strdup (slash + 1);
    }
  else
    {
      out->domain = strdup (DOCKER_DOMAIN);
      out->path = strdup (name);
    }
  if (out->domain == NULL || out->path == NULL)
    return -1;
  if (strcmp (out->domain, DOCKER_LEGACY_DOMAIN) == 0)
    strcpy (out->domain, DOCKER_DOMAIN);
  if (strcmp (out->domain, DOCKER_DOMAIN) == 0 && strchr (out->path, '/') == NULL)
    {
      char *prefixed = NULL;
      if (asprintf (&prefixed, "library/%s", out->path) < 0)
        return -1;
      free (out->path);
      out->path = prefixed;
    }
  return 0;
}

static bool
is_hex64 (const char *s)
{
  return strlen (s) == 64 && strspn (s, "0123456789abcdef") == 64;
}

static int
check_name (const char *s, const char *name, const struct cb_reference *ref, cbuild_error *err)
{
  if (is_hex64 (name))
    return invalid (err, s, "a repository name cannot be a 64-character hexadecimal string");
  if (!domain_valid (ref->domain))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid reference '%s': invalid registry host '%s'",
                         s, ref->domain);
  for (const char *p = ref->path; *p; p++)
    if (isupper ((unsigned char) *p))
      return invalid (err, s, "repository name must be lowercase");
  if (!path_valid (ref->path))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid reference '%s': invalid repository name '%s'",
                         s, ref->path);
  if (strlen (ref->domain) + 1 + strlen (ref->path) > NAME_MAX_LEN)
    return invalid (err, s, "repository name is longer than 255 characters");
  return 0;
}

/* Cuts "@digest" and then ":tag" off name (in place) into ref. */
static int
split_tag_digest (const char *s, char *name, struct cb_reference *ref, cbuild_error *err)
{
  char *at = strchr (name, '@');
  char *slash, *colon;

  if (at)
    {
      *at = '\0';
      if (!cb_digest_valid (at + 1))
        return cb_error_set (err, CBUILD_ERR_INVALID,
                             "invalid reference '%s': invalid digest '%s' (expected 'sha256:' and 64 lowercase hex digits)",
                             s, at + 1);
      if ((ref->digest = strdup (at + 1)) == NULL)
        return cb_error_nomem (err);
    }
  slash = strrchr (name, '/');
  colon = strrchr (slash ? slash : name, ':');
  if (colon)
    {
      *colon = '\0';
      if (!tag_valid (colon + 1))
        return cb_error_set (err, CBUILD_ERR_INVALID,
                             "invalid reference '%s': invalid tag '%s' (letters, digits, '_', '.' and '-', "
                             "at most 128, not starting with '.' or '-')",
                             s, colon + 1);
      if ((ref->tag = strdup (colon + 1)) == NULL)
        return cb_error_nomem (err);
    }
  return 0;
}

static int
parse_into (const char *s, struct cb_reference *ref, cbuild_error *err)
{
  cleanup_free char *name = NULL;

  if (*s == '\0')
    return invalid (err, s, "empty reference");
  if (strlen (s) > REFERENCE_MAX_LEN)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid reference '%.64s...': longer than %d characters",
                         s, REFERENCE_MAX_LEN);
  if ((name = strdup (s)) == NULL)
    return cb_error_nomem (err);
  if (split_tag_digest (s, name, ref, err) < 0)
    return -1;
  if (*name == '\0' || name[strlen (name) - 1] == '/')
    return invalid (err, s, "missing repository name");
  if (split_domain (name, ref) < 0)
    return cb_error_nomem (err);
  if (check_name (s, name, ref, err) < 0)
    return -1;
  if (ref->tag == NULL && ref->digest == NULL && (ref->tag = strdup ("latest")) == NULL)
    return cb_error_nomem (err);
  return 0;
}

int
cb_reference_parse (const char *s, struct cb_reference *out, cbuild_error *err)
{
  struct cb_reference ref = { NULL, NULL, NULL, NULL };

  if (parse_into (s, &ref, err) < 0)
    {
      cb_reference_release (&ref);
      return -1;
    }
  *out = ref;
  return 0;
}

void
cb_reference_release (struct cb_reference *ref)
{
  if (ref == NULL)
    return;
  free (ref->domain);
  free (ref->path);
  free (ref->tag);
  free (ref->digest);
  ref->domain = ref->path = ref->tag = ref->digest = NULL;
}

char *
cb_reference_format (const struct cb_reference *ref)
{
  char *out = NULL;

  if (asprintf (&out, "%s/%s%s%s%s%s", ref->domain, ref->path, ref->tag ? ":" : "",
                ref->tag ? ref->tag : "", ref->digest ? "@" : "", ref->digest ? ref->digest : "")
      < 0)
    return NULL;
  return out;
}

char *
cb_reference_repository (const struct cb_reference *ref)
{
  char *out = NULL;

  if (asprintf (&out, "%s/%s", ref->domain, ref->path) < 0)
    return NULL;
  return out;
}
