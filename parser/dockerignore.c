/* .dockerignore files, read as moby/patternmatcher's ignorefile.ReadAll
 * reads them and matched as its MatchesOrParentMatches matches. */
#include "parser/dockerignore.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/ignore_pattern.h"
#include "parser/internal.h"

/* Bounds that keep a hostile .dockerignore from exhausting memory. */
#define IGNORE_MAX_SIZE ((size_t) 16 << 20)
#define IGNORE_MAX_LINE 65535

struct ignore_rule
{
  struct cb_glob glob;
  bool exclusion; /* a "!" pattern, which re-includes what it matches */
};

struct cb_ignore
{
  struct ignore_rule *rules;
  size_t n;
};

void
cb_ignore_free (struct cb_ignore *ig)
{
  if (ig == NULL)
    return;
  for (size_t i = 0; i < ig->n; i++)
    cb_glob_release (&ig->rules[i].glob);
  free (ig->rules);
  free (ig);
}

/* Go's filepath.Clean on Unix: one '/' between names, no "." names, ".."
 * resolved lexically, "." for an empty result. */
static char *
go_clean (const char *path)
{
  size_t n = strlen (path), r = 0, w = 0, dotdot = 0;
  bool rooted = path[0] == '/';
  char *out = malloc (n + 3);

  if (out == NULL)
    return NULL;
  if (rooted)
    out[w++] = '/', r = 1, dotdot = 1;
  while (r < n)
    {
      if (path[r] == '/')
        r++;
      else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
        r++;
      else if (path[r] == '.' && path[r + 1] == '.' && (r + 2 == n || path[r + 2] == '/'))
        {
          r += 2;
          if (w > dotdot)
            for (w--; w > dotdot && out[w] != '/'; w--)
              ;
          else if (!rooted)
            {
              if (w > 0)
                out[w++] = '/';
              out[w++] = '.';
              out[w++] = '.';
              dotdot = w;
            }
        }
      else
        {
          if ((rooted && w != 1) || (!rooted && w != 0))
            out[w++] = '/';
          for (; r < n && path[r] != '/'; r++)
            out[w++] = path[r];
        }
    }
  if (w == 0)
    out[w++] = '.';
  out[w] = '\0';
  return out;
}

/* Applies ReadAll's rules to one line. *out stays NULL when the line
 * contains no pattern, and only a '#' in the first column starts a comment. */
static int
line_pattern (const char *line, size_t len, bool comments, char **out, cbuild_error *err)
{
  cleanup_free char *body = NULL;
  cleanup_free char *cleaned = NULL;
  const char *p;
  bool invert;

  *out = NULL;
  if (comments && len > 0 && line[0] == '#')
    return 0;
  cb_trim_space (&line, &len);
  if (len == 0)
    return 0;
  invert = line[0] == '!';
  if (invert)
    {
      line++, len--;
      cb_trim_space (&line, &len);
    }
  if ((body = strndup (line, len)) == NULL)
    return cb_error_nomem (err);
  p = body;
  if (len > 0)
    {
      if ((cleaned = go_clean (body)) == NULL)
        return cb_error_nomem (err);
      p = cleaned[0] == '/' && cleaned[1] != '\0' ? cleaned + 1 : cleaned;
    }
  if (asprintf (out, "%s%s", invert ? "!" : "", p) < 0)
    {
      *out = NULL;
      return cb_error_nomem (err);
    }
  return 0;
}

/* patternmatcher.New's treatment of a pattern ReadAll returned. */
static int
add_rule (struct cb_ignore *ig, const char *pattern, int line, cbuild_error *err)
{
  cleanup_free char *p = go_clean (pattern);
  struct ignore_rule *grown;
  struct ignore_rule rule = { 0 };
  const char *text;

  if (p == NULL)
    return cb_error_nomem (err);
  rule.exclusion = p[0] == '!';
  if (rule.exclusion && p[1] == '\0')
    return cb_error_set (err, CBUILD_ERR_PARSE, ".dockerignore:%d: illegal exclusion pattern '!'", line);
  text = rule.exclusion ? p + 1 : p;
  if (!cb_glob_syntax_ok (text))
    return cb_error_set (err, CBUILD_ERR_PARSE, ".dockerignore:%d: invalid pattern '%s': syntax error in pattern",
                         line, text);
  if (cb_glob_compile (text, &rule.glob, err) < 0)
    return -1;
  grown = realloc (ig->rules, (ig->n + 1) * sizeof *grown);
  if (grown == NULL)
    {
      cb_glob_release (&rule.glob);
      return cb_error_nomem (err);
    }
  ig->rules = grown;
  ig->rules[ig->n++] = rule;
  return 0;
}

static int
parse_line (struct cb_ignore *ig, const char *line, size_t len, int lineno, cbuild_error *err)
{
  cleanup_free char *pattern = NULL;

  if (len > 0 && line[len - 1] == '\r')
    len--;
  if (len > IGNORE_MAX_LINE)
    return cb_error_set (err, CBUILD_ERR_PARSE, ".dockerignore:%d: line longer than %d bytes", lineno,
                         IGNORE_MAX_LINE);
  if (memchr (line, '\0', len))
    return cb_error_set (err, CBUILD_ERR_PARSE, ".dockerignore:%d: NUL character in the line", lineno);
  if (line_pattern (line, len, true, &pattern, err) < 0)
    return -1;
  return pattern ? add_rule (ig, pattern, lineno, err) : 0;
}

int
cb_ignore_parse (const char *text, size_t len, struct cb_ignore **out, cbuild_error *err)
{
  struct cb_ignore *ig;
  size_t pos = 0;
  int lineno = 0;

  *out = NULL;
  if (len > IGNORE_MAX_SIZE)
    return cb_error_set (err, CBUILD_ERR_PARSE, ".dockerignore: file too large (%zu bytes, maximum %zu)", len,
                         IGNORE_MAX_SIZE);
  if ((ig = calloc (1, sizeof *ig)) == NULL)
    return cb_error_nomem (err);
  if (len >= 3 && memcmp (text, "\xEF\xBB\xBF", 3) == 0)
    pos = 3;
  while (pos < len)
    {
      const char *nl = memchr (text + pos, '\n', len - pos);
      size_t n = nl ? (size_t) (nl - (text + pos)) : len - pos;

      if (parse_line (ig, text + pos, n, ++lineno, err) < 0)
        {
          cb_ignore_free (ig);
          return -1;
        }
      pos += n + 1;
    }
  *out = ig;
  return 0;
}

int
cb_ignore_from_patterns (const char *const *patterns, size_t n, struct cb_ignore **out, cbuild_error *err)
{
  struct cb_ignore *ig = calloc (1, sizeof *ig);

  *out = NULL;
  if (ig == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *pattern = NULL;
      int ret = line_pattern (patterns[i], strlen (patterns[i]), false, &pattern, err);

      if (ret == 0 && pattern && add_rule (ig, pattern, (int) i + 1, err) < 0)
        ret = cb_error_set (err, CBUILD_ERR_PARSE, "invalid --exclude pattern '%s'", patterns[i]);
      if (ret < 0)
        {
          cb_ignore_free (ig);
          return -1;
        }
    }
  *out = ig;
  return 0;
}

/* Matches path or, failing that, one of its parent directories. */
static bool
rule_matches (const struct ignore_rule *rule, const char *path, char *parent)
{
  if (cb_glob_match (&rule->glob, path))
    return true;
  if (parent == NULL)
    return false;
  for (char *p = parent;; p++)
    {
      char saved = *p;
      bool m;

      if (saved != '/' && saved != '\0')
        continue;
      *p = '\0';
      m = cb_glob_match (&rule->glob, parent);
      *p = saved;
      if (m)
        return true;
      if (saved == '\0')
        return false;
    }
}

bool
cb_ignore_excluded (const struct cb_ignore *ig, const char *path)
{
  cleanup_free char *parent = NULL;
  const char *slash;
  bool matched = false;

  if (ig == NULL || *path == '\0' || strcmp (path, ".") == 0)
    return false;
  slash = strrchr (path, '/');
  if (slash && slash != path)
    parent = strndup (path, (size_t) (slash - path));
  for (size_t i = 0; i < ig->n; i++)
    {
      /* An exclusion only matters once the path is excluded, and a pattern
       * only once it is not. */
      if (ig->rules[i].exclusion != matched)
        continue;
      if (rule_matches (&ig->rules[i], path, parent))
        matched = !ig->rules[i].exclusion;
    }
  return matched;
}

/* True when pattern component c could match name, for patterns that have
 * no "**", class or escape. */
static bool
component_matches (const char *c, size_t clen, const char *name, size_t nlen)
{
  cleanup_free char *pattern = strndup (c, clen);
  cleanup_free char *text = strndup (name, nlen);
  struct cb_glob g;
  bool m;

  if (pattern == NULL || text == NULL || cb_glob_compile (pattern, &g, NULL) < 0)
    return true;
  m = cb_glob_match (&g, text);
  cb_glob_release (&g);
  return m;
}

/* Compares the exception's leading components with dir's: when all that
 * both have agree, the exception can match dir, an ancestor or something
 * below dir. */
static bool
exception_may_reach (const struct cb_glob *g, const char *dir)
{
  const char *p = g->text, *d = dir;

  if (strstr (p, "**") || strpbrk (p, "[\\"))
    return true;
  while (*p && *d)
    {
      size_t pl = strcspn (p, "/"), dl = strcspn (d, "/");

      if (!component_matches (p, pl, d, dl))
        return false;
      p += pl + (p[pl] == '/');
      d += dl + (d[dl] == '/');
    }
  return true;
}

bool
cb_ignore_may_include_below (const struct cb_ignore *ig, const char *dir)
{
  if (ig == NULL)
    return false;
  for (size_t i = 0; i < ig->n; i++)
    if (ig->rules[i].exclusion && exception_may_reach (&ig->rules[i].glob, dir))
      return true;
  return false;
}
