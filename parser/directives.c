/* Parser directives: "# name=value" comment lines at the very top of a
 * Dockerfile. BuildKit recognises syntax, escape and check, reads names case
 * insensitively, and stops looking at the first line that is not one. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/internal.h"

/* Go regexp's \s: no \v, unlike unicode.IsSpace. */
static bool
regexp_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* Matches ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$, the way BuildKit
 * does: the value loses surrounding spaces, but a value of spaces only
 * keeps its last one. */
static bool
match_directive (const char *s, size_t len, char *key, size_t key_size, const char **value,
                 size_t *value_len)
{
  size_t i = 0, k = 0, end;

  if (len == 0 || s[0] != '#')
    return false;
  s++, len--;
  cb_trim_left_space (&s, &len);
  if (len == 0 || !isalpha ((unsigned char) s[0]))
    return false;
  while (i < len && isalnum ((unsigned char) s[i]))
    {
      if (k + 1 < key_size)
        key[k++] = (char) tolower ((unsigned char) s[i]);
      i++;
    }
  key[k] = '\0';
  while (i < len && regexp_space (s[i]))
    i++;
  if (i >= len || s[i] != '=')
    return false;
  i++;
  end = len;
  while (end > i && regexp_space (s[end - 1]))
    end--;
  if (end == i)
    {
      if (i == len)
        return false;
      i = len - 1;
      end = len;
    }
  while (i < end && regexp_space (s[i]))
    i++;
  *value = s + i;
  *value_len = end - i;
  return true;
}

static bool
valid_tag (const char *tag)
{
  const char *p = tag;
  int parts = 0;

  if (strcmp (tag, "latest") == 0 || strcmp (tag, "labs") == 0)
    return true;
  if (*p != '1')
    return false;
  p++;
  while (*p == '.' && parts < 2 && isdigit ((unsigned char) p[1]))
    {
      p++;
      while (isdigit ((unsigned char) *p))
        p++;
      parts++;
    }
  return *p == '\0' || strcmp (p, "-labs") == 0;
}

/* True for docker/dockerfile references that the built-in frontend
 * implements: no tag, latest, labs, 1, 1.N, 1.N.M, each with -labs, and
 * optionally a registry prefix and an @sha256 digest. */
static bool
supported_syntax (const char *value)
{
  cleanup_free char *ref = strndup (value, strcspn (value, " \t"));
  char *at, *p;

  if (ref == NULL)
    return false;
  at = strchr (ref, '@');
  if (at)
    {
      if (strncmp (at + 1, "sha256:", 7) != 0)
        return false;
      *at = '\0';
    }
  p = ref;
  if (strncmp (p, "docker.io/", 10) == 0)
    p += 10;
  else if (strncmp (p, "index.docker.io/", 16) == 0)
    p += 16;
  if (strncmp (p, "docker/dockerfile", 17) != 0)
    return false;
  p += 17;
  if (*p == '\0')
    return true;
  return *p == ':' && valid_tag (p + 1);
}

static bool
go_parse_bool (const char *s)
{
  static const char *const values[] = { "1", "t", "T", "TRUE", "true", "True",
                                        "0", "f", "F", "FALSE", "false", "False" };

  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
    if (strcmp (s, values[i]) == 0)
      return true;
  return false;
}

static void
trim_ascii (char **s)
{
  char *end;

  while (isspace ((unsigned char) **s))
    (*s)++;
  end = *s + strlen (*s);
  while (end > *s && isspace ((unsigned char) end[-1]))
    *--end = '\0';
}

/* One "skip=...", "experimental=..." or "error=..." part of the check
 * directive. */
static int
check_option (char *part, cbuild_error *err)
{
  char *eq = strchr (part, '=');
  char *key = part, *value;

  if (eq == NULL)
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid check directive option '%s': want key=value", part);
  *eq = '\0';
  value = eq + 1;
  trim_ascii (&key);
  trim_ascii (&value);
  if (strcmp (key, "skip") == 0 || strcmp (key, "experimental") == 0)
    return 0;
  if (strcmp (key, "error") != 0)
    return cb_error_set (err, CBUILD_ERR_PARSE,
                         "invalid check directive option '%s': want skip, experimental or error", key);
  if (!go_parse_bool (value))
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid check directive value '%s' for error: want true or false",
                         value);
  return 0;
}

/* "skip=RuleA,RuleB;error=true", as BuildKit splits it: at most three
 * parts, the last one taking the rest. */
static int
validate_check (const char *value, cbuild_error *err)
{
  cleanup_free char *copy = strdup (value);
  char *part, *semi;

  if (copy == NULL)
    return cb_error_nomem (err);
  part = copy;
  for (int i = 0; i < 3; i++)
    {
      semi = i < 2 ? strchr (part, ';') : NULL;
      if (semi)
        *semi = '\0';
      if (check_option (part, err) < 0)
        return -1;
      if (semi == NULL)
        return 0;
      part = semi + 1;
    }
  return 0;
}

static int
set_once (char **slot, const char *name, const char *value, size_t len, cbuild_error *err)
{
  if (*slot)
    return cb_error_set (err, CBUILD_ERR_PARSE, "only one '%s' parser directive can be used", name);
  *slot = strndup (value, len);
  return *slot ? 0 : cb_error_nomem (err);
}

static int
apply_directive (struct cb_df_directives *d, const char *key, const char *value, size_t len,
                 cbuild_error *err)
{
  if (strcmp (key, "escape") == 0)
    {
      if (d->seen_escape)
        return cb_error_set (err, CBUILD_ERR_PARSE, "only one 'escape' parser directive can be used");
      d->seen_escape = true;
      if (len != 1 || (value[0] != '\\' && value[0] != '`'))
        return cb_error_set (err, CBUILD_ERR_PARSE, "invalid escape token '%.*s': want \\ or `", (int) len, value);
      d->escape = value[0];
      return 0;
    }
  if (strcmp (key, "syntax") == 0)
    {
      if (set_once (&d->syntax, "syntax", value, len, err) < 0)
        return -1;
      if (!supported_syntax (d->syntax))
        return cb_error_set (err, CBUILD_ERR_PARSE,
                             "unsupported syntax '%s': cbuild has a built-in frontend for "
                             "docker/dockerfile:1 and cannot load another one; remove the syntax "
                             "directive or name docker/dockerfile:1",
                             d->syntax);
      return 0;
    }
  if (set_once (&d->check, "check", value, len, err) < 0)
    return -1;
  return validate_check (d->check, err);
}

int
cb_df_directive_line (struct cb_df_directives *d, const char *line, size_t len, bool *is_directive,
                      cbuild_error *err)
{
  char key[16];
  const char *value;
  size_t value_len;

  *is_directive = false;
  if (d->done)
    return 0;
  if (!match_directive (line, len, key, sizeof key, &value, &value_len)
      || (strcmp (key, "syntax") != 0 && strcmp (key, "escape") != 0 && strcmp (key, "check") != 0))
    {
      d->done = true;
      return 0;
    }
  *is_directive = true;
  return apply_directive (d, key, value, value_len, err);
}
