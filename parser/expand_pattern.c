/* Shell patterns in ${V#p}, ${V%p} and ${V/p/r}. BuildKit turns a pattern
 * into a Go regexp ('*' to ".*", '?' to ".") and runs it leftmost-first;
 * for such patterns that finds the leftmost start and there the shortest
 * (non-greedy) or longest (greedy) end. This file gets the same result with
 * an automaton that runs in time linear in the value for a fixed pattern,
 * so a long value cannot make a substitution take quadratic time. */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/expand.h"
#include "parser/internal.h"

enum pattern_kind
{
  PATTERN_LITERAL,
  PATTERN_ONE,  /* '?': one rune other than newline */
  PATTERN_STAR, /* '*': runes other than newline */
};

struct pattern_token
{
  enum pattern_kind kind;
  int32_t rune;
};

struct cb_pattern
{
  struct pattern_token *tokens;
  size_t n;
};

void
cb_pattern_free (struct cb_pattern *p)
{
  if (p == NULL)
    return;
  free (p->tokens);
  free (p);
}

/* A '\' escapes '*', '?' and '\'. Before '}' or '/', which stay escaped
 * from the ${...} syntax, it is dropped, and before anything else it is an
 * error. */
static int
pattern_escape (const char *s, size_t len, size_t *i, struct pattern_token *t, cbuild_error *err)
{
  int32_t r;
  size_t n;

  if (*i >= len)
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid escape '\\' at the end");
  n = cb_utf8_decode (s + *i, len - *i, &r);
  if (r != '*' && r != '?' && r != '\\')
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid escape '\\%.*s'", (int) n, s + *i);
  *i += n;
  t->kind = PATTERN_LITERAL;
  t->rune = r;
  return 0;
}

static void
set_token (struct pattern_token *t, int32_t r)
{
  if (r == '*')
    t->kind = PATTERN_STAR;
  else if (r == '?')
    t->kind = PATTERN_ONE;
  else
    t->kind = PATTERN_LITERAL;
  t->rune = r;
}

int
cb_pattern_compile (const char *pattern, struct cb_pattern **out, cbuild_error *err)
{
  size_t len = strlen (pattern), i = 0;
  struct cb_pattern *p = calloc (1, sizeof *p);

  if (p == NULL || (p->tokens = calloc (len + 1, sizeof *p->tokens)) == NULL)
    {
      cb_pattern_free (p);
      return cb_error_nomem (err);
    }
  while (i < len)
    {
      struct pattern_token *t = &p->tokens[p->n];
      int32_t r;

      i += cb_utf8_decode (pattern + i, len - i, &r);
      if (r == '\\' && i < len && (pattern[i] == '}' || pattern[i] == '/'))
        continue;
      if (r != '\\')
        set_token (t, r);
      else if (pattern_escape (pattern, len, &i, t, err) < 0)
        {
          cb_pattern_free (p);
          return -1;
        }
      p->n++;
    }
  *out = p;
  return 0;
}

/* Activates state i for a match that started at start, and the states that
 * '*' tokens let it reach without input. States keep their leftmost start,
 * because two threads in one state behave alike from then on. */
static void
state_add (const struct pattern_token *t, size_t m, ssize_t *set, size_t i, ssize_t start)
{
  for (;;)
    {
      if (set[i] != -1 && set[i] <= start)
        return;
      set[i] = start;
      if (i == m || t[i].kind != PATTERN_STAR)
        return;
      i++;
    }
}

static bool
state_step (const struct pattern_token *t, size_t m, const ssize_t *cur, ssize_t *next, int32_t r,
            ssize_t max_start)
{
  bool any = false;

  for (size_t i = 0; i <= m; i++)
    next[i] = -1;
  for (size_t i = 0; i < m; i++)
    {
      if (cur[i] == -1 || (max_start >= 0 && cur[i] > max_start))
        continue;
      if (t[i].kind == PATTERN_STAR && r != '\n')
        state_add (t, m, next, i, cur[i]);
      else if ((t[i].kind == PATTERN_ONE && r != '\n') || (t[i].kind == PATTERN_LITERAL && r == t[i].rune))
        state_add (t, m, next, i + 1, cur[i]);
      else
        continue;
      any = true;
    }
  return any;
}

/* A search over a value, in bytes. A reversed search reads the value from
 * its end, and its positions count the bytes read from the end. */
struct search
{
  const struct pattern_token *t;
  size_t m;
  const char *s;
  size_t n;
  size_t from;   /* position where the match may start */
  bool reverse;
  bool anchored; /* the match must start at from */
  bool longest;  /* else the shortest, which only anchored searches use */
  size_t *budget;
};

static size_t
read_rune (const struct search *s, size_t pos, int32_t *r)
{
  if (s->reverse)
    return cb_utf8_decode_last (s->s, s->n - pos, r);
  return cb_utf8_decode (s->s + pos, s->n - pos, r);
}

/* Finds a match: its start and end positions go to *ms and *me. */
static int
pattern_search (const struct search *s, bool *found, size_t *ms, size_t *me, cbuild_error *err)
{
  cleanup_free ssize_t *cur = malloc ((s->m + 1) * sizeof *cur);
  cleanup_free ssize_t *next = malloc ((s->m + 1) * sizeof *next);
  ssize_t best = -1;

  if (cur == NULL || next == NULL)
    return cb_error_nomem (err);
  *found = false;
  for (size_t i = 0; i <= s->m; i++)
    cur[i] = -1;
  state_add (s->t, s->m, cur, 0, (ssize_t) s->from);
  for (size_t pos = s->from;;)
    {
      ssize_t *swap;
      int32_t r;
      size_t k;
      bool any;

      if (cur[s->m] != -1 && (best == -1 || cur[s->m] < best || (cur[s->m] == best && s->longest)))
        {
          best = cur[s->m];
          *found = true;
          *ms = (size_t) best;
          *me = pos;
          if (!s->longest)
            return 0;
        }
      if (pos == s->n)
        return 0;
      /* A long value and a long pattern multiply; the budget keeps a hostile
       * pair from taking minutes. */
      if (*s->budget < s->m + 1)
        return cb_error_set (err, CBUILD_ERR_INVALID, "pattern matching needs too much work (over %d steps)",
                             CB_EXPAND_MAX_WORK);
      *s->budget -= s->m + 1;
      k = read_rune (s, pos, &r);
      any = state_step (s->t, s->m, cur, next, r, best);
      swap = cur, cur = next, next = swap;
      pos += k;
      if (!s->anchored && best == -1)
        {
          state_add (s->t, s->m, cur, 0, (ssize_t) pos);
          any = true;
        }
      if (!any)
        return 0;
    }
}

/* A suffix search runs the reversed pattern over the reversed value, as
 * lex.go does. */
static int
reversed_tokens (const struct cb_pattern *p, struct pattern_token **out, cbuild_error *err)
{
  struct pattern_token *t = malloc ((p->n + 1) * sizeof *t);

  if (t == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < p->n; i++)
    t[i] = p->tokens[p->n - 1 - i];
  *out = t;
  return 0;
}

int
cb_pattern_trim (const struct cb_pattern *p, const char *value, bool suffix, bool longest,
                 size_t *budget, struct cb_buf *out, cbuild_error *err)
{
  cleanup_free struct pattern_token *rev = NULL;
  struct search s = { .t = p->tokens, .m = p->n, .s = value, .n = strlen (value),
                      .reverse = suffix, .anchored = true, .longest = longest, .budget = budget };
  size_t ms = 0, me = 0;
  bool found;

  if (suffix && reversed_tokens (p, &rev, err) < 0)
    return -1;
  if (suffix)
    s.t = rev;
  if (pattern_search (&s, &found, &ms, &me, err) < 0)
    return -1;
  if (!found)
    return cb_buf_append (out, value, s.n, err);
  if (suffix)
    return cb_buf_append (out, value, s.n - me, err);
  return cb_buf_append (out, value + me, s.n - me, err);
}

static bool
template_name_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Reads "$name", "${name}" or "$$" after the '$' at *i, as Go's
 * regexp.Expand does. The pattern has no groups, so only group 0 (the
 * whole match) expands to text; other names expand to nothing. */
static int
template_reference (const char *tpl, size_t *i, const char *match, size_t match_len,
                    struct cb_buf *out, cbuild_error *err)
{
  size_t j = *i + 1, start;
  bool brace = tpl[j] == '{';

  if (tpl[j] == '$')
    {
      *i = j + 1;
      return cb_buf_append_char (out, '$', err);
    }
  if (brace)
    j++;
  start = j;
  while (template_name_char (tpl[j]))
    j++;
  if (j == start || (brace && tpl[j] != '}'))
    {
      *i += 1;
      return cb_buf_append_char (out, '$', err);
    }
  *i = brace ? j + 1 : j;
  if (j - start == 1 && tpl[start] == '0')
    return cb_buf_append (out, match, match_len, err);
  return 0;
}

static int
append_replacement (const char *tpl, bool expand, const char *match, size_t match_len,
                    struct cb_buf *out, cbuild_error *err)
{
  size_t i = 0;

  if (!expand)
    return cb_buf_append_str (out, tpl, err);
  while (tpl[i])
    {
      const char *dollar = strchr (tpl + i, '$');
      size_t plain = dollar ? (size_t) (dollar - (tpl + i)) : strlen (tpl + i);

      if (cb_buf_append (out, tpl + i, plain, err) < 0)
        return -1;
      i += plain;
      if (dollar && template_reference (tpl, &i, match, match_len, out, err) < 0)
        return -1;
    }
  return 0;
}

/* Go's ReplaceAllString expands "$0" and "$$" in the replacement, while a
 * single replacement inserts it as written. */
static int
replace_loop (const struct search *base, const char *replacement, bool all, struct cb_buf *out,
              cbuild_error *err)
{
  const char *value = base->s;
  size_t last_end = 0, pos = 0;

  while (pos <= base->n)
    {
      struct search s = *base;
      size_t ms, me, width;
      bool found;
      int32_t r;

      s.from = pos;
      if (pattern_search (&s, &found, &ms, &me, err) < 0)
        return -1;
      if (!found)
        break;
      if (cb_buf_append (out, value + last_end, ms - last_end, err) < 0)
        return -1;
      /* An empty match right after the previous match is not replaced. */
      if ((me > last_end || ms == 0)
          && append_replacement (replacement, all, value + ms, me - ms, out, err) < 0)
        return -1;
      last_end = me;
      if (!all)
        break;
      width = pos < base->n ? cb_utf8_decode (value + pos, base->n - pos, &r) : 1;
      pos = pos + width > me ? pos + width : me;
    }
  return cb_buf_append (out, value + last_end, base->n - last_end, err);
}

int
cb_pattern_replace (const struct cb_pattern *p, const char *value, const char *replacement, bool all,
                    size_t *budget, struct cb_buf *out, cbuild_error *err)
{
  struct search s = { .t = p->tokens, .m = p->n, .s = value, .n = strlen (value),
                      .anchored = false, .longest = true, .budget = budget };

  return replace_loop (&s, replacement, all, out, err);
}
