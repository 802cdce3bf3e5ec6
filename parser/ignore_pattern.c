/* One .dockerignore pattern, compiled and matched as moby/patternmatcher
 * does: a pattern without wildcards compares exactly, "**" at the start or
 * the end compares a suffix or a prefix, anything else becomes a regexp in
 * which '*' and '?' do not match '/'. The regexp is run here as a small
 * automaton over runes, in time linear in the path. */
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "parser/ignore_pattern.h"
#include "parser/internal.h"

enum glob_kind
{
  GLOB_LITERAL,
  GLOB_ONE,   /* ?      [^/]     */
  GLOB_STAR,  /* *      [^/]*    */
  GLOB_ANY,   /* ** at the end: .*  */
  GLOB_DIRS,  /* ** elsewhere: (.*\/)? */
  GLOB_CLASS, /* [...] as a regexp class, which can match '/' */
};

struct glob_range
{
  int32_t lo, hi;
};

struct glob_token
{
  enum glob_kind kind;
  int32_t rune;
  bool negated;
  struct glob_range *ranges;
  size_t n_ranges;
};

/* filepath.Match's getEsc: one class item, optionally '\'-escaped. */
static bool
class_item (const char *p, size_t len, size_t *i, int32_t *rune)
{
  size_t n;

  if (*i >= len || p[*i] == '-' || p[*i] == ']')
    return false;
  if (p[*i] == '\\' && ++*i >= len)
    return false;
  n = cb_utf8_decode (p + *i, len - *i, rune);
  if (*rune == CB_RUNE_ERROR && n == 1)
    return false;
  *i += n;
  return *i < len;
}

/* Parses a class after its '['. With t NULL it only checks the syntax. */
static bool
parse_class (const char *p, size_t len, size_t *i, struct glob_token *t)
{
  size_t nrange = 0;

  if (*i < len && p[*i] == '^')
    {
      if (t)
        t->negated = true;
      (*i)++;
    }
  for (;;)
    {
      int32_t lo, hi;

      if (*i < len && p[*i] == ']' && nrange > 0)
        {
          (*i)++;
          return true;
        }
      if (!class_item (p, len, i, &lo))
        return false;
      hi = lo;
      if (p[*i] == '-' && (++*i, !class_item (p, len, i, &hi)))
        return false;
      if (t)
        t->ranges[t->n_ranges++] = (struct glob_range) { lo, hi };
      nrange++;
    }
}

/* filepath.Match(p, ".") fails exactly on these syntax errors: a trailing
 * '\', and a class that is empty, unclosed or has a bad item. */
bool
cb_glob_syntax_ok (const char *p)
{
  size_t len = strlen (p), i = 0;
  int32_t r;

  while (i < len)
    {
      if (p[i] == '\\')
        {
          if (++i >= len)
            return false;
          i += cb_utf8_decode (p + i, len - i, &r);
        }
      else if (p[i] == '[')
        {
          i++;
          if (!parse_class (p, len, &i, NULL))
            return false;
        }
      else
        i += cb_utf8_decode (p + i, len - i, &r);
    }
  return true;
}

static void
add_token (struct cb_glob *g, enum glob_kind kind, int32_t rune)
{
  g->tokens[g->n].kind = kind;
  g->tokens[g->n].rune = rune;
  g->n++;
}

/* "**", with a '/' after it eaten: ".*" at the end, "(.*\/)?" elsewhere. */
static void
compile_double_star (struct cb_glob *g, const char *p, size_t len, size_t *i, bool first)
{
  (*i)++;
  if (*i < len && p[*i] == '/')
    (*i)++;
  if (*i >= len && g->type == CB_GLOB_EXACT)
    g->type = CB_GLOB_PREFIX;
  else if (*i >= len)
    add_token (g, GLOB_ANY, 0), g->type = CB_GLOB_REGEXP;
  else
    add_token (g, GLOB_DIRS, 0), g->type = CB_GLOB_REGEXP;
  if (first)
    g->type = CB_GLOB_SUFFIX;
}

static int
compile_class (struct cb_glob *g, const char *p, size_t len, size_t *i, cbuild_error *err)
{
  struct glob_token *t = &g->tokens[g->n];

  t->kind = GLOB_CLASS;
  t->ranges = calloc (len, sizeof *t->ranges);
  if (t->ranges == NULL)
    return cb_error_nomem (err);
  g->n++;
  g->type = CB_GLOB_REGEXP;
  if (!parse_class (p, len, i, t))
    return cb_error_set (err, CBUILD_ERR_PARSE, "syntax error in pattern");
  return 0;
}

static int
compile_step (struct cb_glob *g, const char *p, size_t len, size_t *i, bool first, cbuild_error *err)
{
  int32_t r;

  *i += cb_utf8_decode (p + *i, len - *i, &r);
  if (r == '*' && *i < len && p[*i] == '*')
    compile_double_star (g, p, len, i, first);
  else if (r == '*')
    add_token (g, GLOB_STAR, 0), g->type = CB_GLOB_REGEXP;
  else if (r == '?')
    add_token (g, GLOB_ONE, 0), g->type = CB_GLOB_REGEXP;
  else if (r == '[')
    return compile_class (g, p, len, i, err);
  else if (r == '\\' && *i < len)
    {
      *i += cb_utf8_decode (p + *i, len - *i, &r);
      add_token (g, GLOB_LITERAL, r);
      g->type = CB_GLOB_REGEXP;
    }
  else
    {
      /* A lone ']' is a literal in a regexp, but still makes one. */
      if (r == ']')
        g->type = CB_GLOB_REGEXP;
      add_token (g, GLOB_LITERAL, r);
    }
  return 0;
}

int
cb_glob_compile (const char *pattern, struct cb_glob *g, cbuild_error *err)
{
  size_t len = strlen (pattern), i = 0;

  memset (g, 0, sizeof *g);
  g->type = CB_GLOB_EXACT;
  g->text = strdup (pattern);
  g->tokens = calloc (len + 1, sizeof *g->tokens);
  if (g->text == NULL || g->tokens == NULL)
    {
      cb_glob_release (g);
      return cb_error_nomem (err);
    }
  while (i < len)
    if (compile_step (g, pattern, len, &i, i == 0, err) < 0)
      {
        cb_glob_release (g);
        return -1;
      }
  return 0;
}

void
cb_glob_release (struct cb_glob *g)
{
  for (size_t i = 0; g->tokens && i < g->n; i++)
    free (g->tokens[i].ranges);
  free (g->tokens);
  free (g->text);
  memset (g, 0, sizeof *g);
}

static bool
class_matches (const struct glob_token *t, int32_t r)
{
  bool in = false;

  for (size_t i = 0; i < t->n_ranges && !in; i++)
    in = t->ranges[i].lo <= r && r <= t->ranges[i].hi;
  return in != t->negated;
}

/* States: 2*i is "before token i", 2*i+1 is "inside the (.*\/)? of token i". */
static void
state_enter (const struct cb_glob *g, bool *set, size_t i)
{
  for (; !set[2 * i]; i++)
    {
      set[2 * i] = true;
      if (i == g->n)
        return;
      if (g->tokens[i].kind != GLOB_STAR && g->tokens[i].kind != GLOB_ANY && g->tokens[i].kind != GLOB_DIRS)
        return;
    }
}

static void
state_step (const struct cb_glob *g, const bool *cur, bool *next, int32_t r)
{
  for (size_t i = 0; i < g->n; i++)
    {
      const struct glob_token *t = &g->tokens[i];

      if (cur[2 * i + 1] || (cur[2 * i] && t->kind == GLOB_DIRS))
        {
          if (r != '\n')
            next[2 * i + 1] = true;
          if (r == '/')
            state_enter (g, next, i + 1);
        }
      if (!cur[2 * i])
        continue;
      if ((t->kind == GLOB_LITERAL && r == t->rune) || (t->kind == GLOB_ONE && r != '/')
          || (t->kind == GLOB_CLASS && class_matches (t, r)))
        state_enter (g, next, i + 1);
      else if ((t->kind == GLOB_STAR && r != '/') || (t->kind == GLOB_ANY && r != '\n'))
        state_enter (g, next, i);
    }
}

static bool
regexp_match (const struct cb_glob *g, const char *path)
{
  size_t states = 2 * (g->n + 1), len = strlen (path), i = 0;
  bool *cur = calloc (states, sizeof *cur);
  bool *next = calloc (states, sizeof *next);
  bool result = false;

  if (cur == NULL || next == NULL)
    goto out;
  state_enter (g, cur, 0);
  while (i < len)
    {
      int32_t r;
      bool *swap;

      i += cb_utf8_decode (path + i, len - i, &r);
      memset (next, 0, states * sizeof *next);
      state_step (g, cur, next, r);
      swap = cur, cur = next, next = swap;
    }
  result = cur[2 * g->n];
out:
  free (cur);
  free (next);
  return result;
}

bool
cb_glob_match (const struct cb_glob *g, const char *path)
{
  size_t len = strlen (g->text), plen = strlen (path);
  const char *suffix;

  switch (g->type)
    {
    case CB_GLOB_EXACT:
      return strcmp (path, g->text) == 0;
    case CB_GLOB_PREFIX:
      return strncmp (path, g->text, len - 2) == 0;
    case CB_GLOB_SUFFIX:
      suffix = g->text + 2;
      if (plen >= len - 2 && strcmp (path + plen - (len - 2), suffix) == 0)
        return true;
      return suffix[0] == '/' && strcmp (path, suffix + 1) == 0;
    default:
      return regexp_match (g, path);
    }
}
