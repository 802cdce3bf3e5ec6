/* Sources that ADD fetches instead of reading them from the context: URLs
 * and git repositories. Pure string handling, so that it can be fuzzed. */
#include "parser/remote_source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "parser/internal.h"

#define UNNAMED "__unnamed__"

bool
cb_remote_is_url (const char *source)
{
  return strncmp (source, "http://", 7) == 0 || strncmp (source, "https://", 8) == 0;
}

bool
cb_remote_is_git (const char *source)
{
  size_t len;

  if (strncmp (source, "git@", 4) == 0 || strncmp (source, "git://", 6) == 0 || strncmp (source, "ssh://", 6) == 0)
    return true;
  if (!cb_remote_is_url (source))
    return false;
  len = strcspn (source, "?#");
  return len >= 4 && strncmp (source + len - 4, ".git", 4) == 0;
}

char *
cb_remote_file_name (const char *url)
{
  const char *start = strstr (url, "://");
  size_t len;
  char *path, *out = NULL, *base;
  size_t n = 0;

  /* The path starts after the authority, which ends at '/', '?' or '#'.
   * Without a '/' there, the path is empty. */
  start = start ? start + 3 + strcspn (start + 3, "/?#") : NULL;
  if (start == NULL || *start != '/')
    return strdup (UNNAMED);
  len = strcspn (start, "?#");
  path = malloc (len + 1);
  if (path == NULL)
    return NULL;
  for (size_t i = 0; i < len; i++)
    {
      int hi = i + 2 < len ? cb_hex_digit_value (start[i + 1]) : -1, lo = i + 2 < len ? cb_hex_digit_value (start[i + 2]) : -1;
      if (start[i] == '%' && hi >= 0 && lo >= 0 && (hi || lo))
        {
          path[n++] = (char) (hi * 16 + lo);
          i += 2;
        }
      else
        path[n++] = start[i];
    }
  path[n] = '\0';
  while (n > 0 && path[n - 1] == '/')
    path[--n] = '\0';
  base = strrchr (path, '/');
  base = base ? base + 1 : path;
  if (base[0] == '\0' || strcmp (base, ".") == 0 || strcmp (base, "..") == 0)
    out = strdup (UNNAMED);
  else
    out = strdup (base);
  free (path);
  return out;
}

char *
cb_remote_redact (const char *source)
{
  const char *scheme = strstr (source, "://");
  const char *authority = scheme ? scheme + 3 : NULL;
  size_t len = authority ? strcspn (authority, "/?#") : 0;
  const char *at = authority ? memchr (authority, '@', len) : NULL;
  const char *colon = at ? memchr (authority, ':', (size_t) (at - authority)) : NULL;
  char *out = NULL;

  if (colon == NULL)
    return strdup (source);
  if (asprintf (&out, "%.*sxxxxx%s", (int) (colon + 1 - source), source, at) < 0)
    return NULL;
  return out;
}

int
cb_remote_git_parse (const char *source, char **url, char **ref, char **subdir, cbuild_error *err)
{
  const char *hash = strchr (source, '#');
  const char *colon;

  *url = *ref = *subdir = NULL;
  *url = hash ? strndup (source, (size_t) (hash - source)) : strdup (source);
  if (*url == NULL)
    return cb_error_nomem (err);
  if ((*url)[0] == '-')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid git source '%s'", source);
  if (hash == NULL || hash[1] == '\0')
    return 0;
  colon = strchr (hash + 1, ':');
  *ref = colon ? strndup (hash + 1, (size_t) (colon - hash - 1)) : strdup (hash + 1);
  if (colon && colon[1])
    *subdir = strdup (colon + 1);
  if (*ref == NULL || (colon && colon[1] && *subdir == NULL))
    return cb_error_nomem (err);
  if ((*ref)[0] == '\0' || (*ref)[0] == '-')
    {
      free (*ref);
      *ref = NULL;
      if (hash[1] == '-')
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid git ref in '%s'", source);
    }
  return 0;
}

