/* Whether a FROM image is a valid reference, for InvalidDefaultArgInFrom.
 * The parser cannot call registry/reference.c (the parser builds alone for
 * the fuzz targets), so this is a validator of its own for the grammar of
 * Docker's distribution/reference package:
 *
 *   reference := [ domain "/" ] path [ ":" tag ] [ "@" digest ]
 *   domain    := host [ ":" port ], host being DNS labels or "[" IPv6 "]"
 *   path      := component ( "/" component )*, lower case
 *   component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
 *   tag       := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
 *   digest    := sha256, sha384 or sha512 ":" lower-case hex of its size
 *
 * A first part is the domain when it contains '.' or ':', is "localhost",
 * or has an upper-case letter. A name without a domain is on docker.io. */
#include <ctype.h>
#include <string.h>

#include "parser/checks_internal.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128

static bool
lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Length of the separator at s, or 0 when there is none. */
static size_t
separator (const char *s, size_t n)
{
  size_t k = 0;

  if (n >= 2 && s[0] == '_' && s[1] == '_')
    return 2;
  if (n >= 1 && (s[0] == '.' || s[0] == '_'))
    return 1;
  while (k < n && s[k] == '-')
    k++;
  return k;
}

static bool
component_valid (const char *s, size_t n)
{
  size_t i = 0;

  while (i < n)
    {
      size_t sep;

      if (!lower_alnum (s[i]))
        return false;
      while (i < n && lower_alnum (s[i]))
        i++;
      if (i == n)
        return true;
      sep = separator (s + i, n - i);
      if (sep == 0 || i + sep == n)
        return false;
      i += sep;
    }
  return false;
}

static bool
path_valid (const char *s, size_t n)
{
  size_t start = 0;

  for (size_t i = 0; i <= n; i++)
    if (i == n || s[i] == '/')
      {
        if (!component_valid (s + start, i - start))
          return false;
        start = i + 1;
      }
  return true;
}

static bool
label_valid (const char *s, size_t n)
{
  if (n == 0 || !isalnum ((unsigned char) s[0]) || !isalnum ((unsigned char) s[n - 1]))
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '-')
      return false;
  return true;
}

static bool
host_valid (const char *s, size_t n)
{
  size_t start = 0;

  if (n >= 2 && s[0] == '[')
    {
      if (s[n - 1] != ']' || n == 2)
        return false;
      for (size_t i = 1; i + 1 < n; i++)
        if (!isxdigit ((unsigned char) s[i]) && s[i] != ':')
          return false;
      return true;
    }
  for (size_t i = 0; i <= n; i++)
    if (i == n || s[i] == '.')
      {
        if (!label_valid (s + start, i - start))
          return false;
        start = i + 1;
      }
  return true;
}

static bool
domain_valid (const char *s, size_t n)
{
  const char *colon = NULL;

  /* The port is after the last ':' unless that is inside "[...]". */
  for (size_t i = n; i-- > 0 && s[i] != ']';)
    if (s[i] == ':')
      {
        colon = s + i;
        break;
      }
  if (colon == NULL)
    return host_valid (s, n);
  if (colon + 1 == s + n)
    return false;
  for (const char *p = colon + 1; p < s + n; p++)
    if (!isdigit ((unsigned char) *p))
      return false;
  return host_valid (s, (size_t) (colon - s));
}

static bool
tag_valid (const char *s, size_t n)
{
  if (n == 0 || n > TAG_MAX_LEN || !(isalnum ((unsigned char) s[0]) || s[0] == '_'))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && !strchr ("_.-", s[i]))
      return false;
  return true;
}

static bool
digest_valid (const char *s)
{
  static const struct
  {
    const char *algorithm;
    size_t hex;
  } known[] = { { "sha256:", 64 }, { "sha384:", 96 }, { "sha512:", 128 } };

  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    {
      size_t a = strlen (known[i].algorithm);

      if (strncmp (s, known[i].algorithm, a) != 0)
        continue;
      if (strlen (s + a) != known[i].hex)
        return false;
      for (const char *p = s + a; *p; p++)
        if (!isdigit ((unsigned char) *p) && !(*p >= 'a' && *p <= 'f'))
          return false;
      return true;
    }
  return false;
}

static bool
has_upper (const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (isupper ((unsigned char) s[i]))
      return true;
  return false;
}

/* path [ ":" tag ] [ "@" digest ], after the domain. */
static bool
remainder_valid (const char *s, size_t domain_len)
{
  const char *at = strchr (s, '@');
  size_t end = at ? (size_t) (at - s) : strlen (s);
  const char *colon = memchr (s, ':', end);
  size_t path_len = colon ? (size_t) (colon - s) : end;

  if (domain_len + 1 + path_len > NAME_MAX_LEN || !path_valid (s, path_len))
    return false;
  if (colon && !tag_valid (colon + 1, end - path_len - 1))
    return false;
  return at == NULL || digest_valid (at + 1);
}

bool
check_reference_valid (const char *name)
{
  const char *slash = strchr (name, '/');
  size_t first = slash ? (size_t) (slash - name) : 0;
  size_t hex = strspn (name, "0123456789abcdef");

  /* A bare 64-digit hex string would be read as an image ID. */
  if (hex == 64 && name[64] == '\0')
    return false;
  if (slash && (memchr (name, '.', first) || memchr (name, ':', first)
                || (first == 9 && strncmp (name, "localhost", 9) == 0) || has_upper (name, first)))
    return domain_valid (name, first) && !has_upper (slash + 1, strcspn (slash + 1, ":"))
           && remainder_valid (slash + 1, first);
  return !has_upper (name, strcspn (name, ":")) && remainder_valid (name, strlen ("docker.io"));
}
