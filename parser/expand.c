/* Variable substitution and word splitting as BuildKit's shell lexer
 * (frontend/dockerfile/shell/lex.go) does them. The lexer works on bytes:
 * every character it treats specially is ASCII, and multi-byte runes are
 * decoded only where Unicode spaces split words. */
#include "parser/expand.h"

#include <ctype.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/internal.h"

#define LEX_EOF (-1)

struct lex_words
{
  struct cb_buf word;
  bool in_word;
  struct cb_strv *out; /* NULL when the caller wants no words */
};

struct lexer
{
  const char *s;
  size_t len;
  size_t pos;
  struct cb_lex_opts opts; /* raw_escapes changes while lexing */
  const struct cb_strv *env;
  int depth;
  size_t budget; /* work left: bytes that ${...} may produce, pattern steps */
  cbuild_error *err;
};

static int lex_until (struct lexer *lx, int stop, bool raw_escapes, struct cb_buf *result,
                      struct lex_words *w);

static void
lex_buf_init (struct cb_buf *b)
{
  cb_buf_init (b, CB_EXPAND_MAX_SIZE);
}

static int
peek (const struct lexer *lx)
{
  return lx->pos < lx->len ? (unsigned char) lx->s[lx->pos] : LEX_EOF;
}

/* Length of the rune at the current position (at least 1). */
static size_t
rune_len (const struct lexer *lx)
{
  int32_t r;

  return cb_utf8_decode (lx->s + lx->pos, lx->len - lx->pos, &r);
}

static int
words_add_raw (struct lex_words *w, const char *s, size_t n, cbuild_error *err)
{
  if (w == NULL || w->out == NULL)
    return 0;
  w->in_word = true;
  return cb_buf_append (&w->word, s, n, err);
}

static int
words_flush (struct lex_words *w, cbuild_error *err)
{
  if (w->word.len == 0)
    return 0;
  w->in_word = false;
  if (cb_strv_push (w->out, cb_buf_str (&w->word), err) < 0)
    return -1;
  if (w->out->len > CB_DOCKERFILE_MAX_WORDS)
    return cb_error_set (err, CBUILD_ERR_INVALID, "too many words (maximum %d)",
                         CB_DOCKERFILE_MAX_WORDS);
  cb_buf_reset (&w->word);
  return 0;
}

/* Adds text whose unquoted spaces separate words, such as a variable's value. */
static int
words_add_string (struct lex_words *w, const char *s, size_t n, cbuild_error *err)
{
  size_t i = 0;

  if (w == NULL || w->out == NULL)
    return 0;
  while (i < n)
    {
      int32_t r;
      size_t k = cb_utf8_decode (s + i, n - i, &r);

      if (!cb_rune_is_space (r))
        {
          if (words_add_raw (w, s + i, k, err) < 0)
            return -1;
        }
      else if (w->in_word && words_flush (w, err) < 0)
        return -1;
      i += k;
    }
  return 0;
}

/* Looks name up. The last "NAME=value" wins, and "NAME" alone is empty. */
static const char *
env_lookup (const struct cb_strv *env, const char *name)
{
  size_t n = strlen (name);

  for (size_t i = env ? env->len : 0; i-- > 0;)
    {
      const char *item = env->items[i];
      if (strncmp (item, name, n) == 0 && (item[n] == '=' || item[n] == '\0'))
        return item[n] == '=' ? item + n + 1 : "";
    }
  return NULL;
}

/* env_lookup for the lexer, which also notes the name in the caller's
 * matched or unmatched list. */
static int
lex_getenv (struct lexer *lx, const char *name, const char **value)
{
  struct cb_strv *list;

  *value = env_lookup (lx->env, name);
  list = *value ? lx->opts.matched : lx->opts.unmatched;
  if (list == NULL || list->len >= CB_LEX_MAX_NAMES || cb_strv_contains (list, name))
    return 0;
  return cb_strv_push (list, name, lx->err);
}

static bool
is_special_param (int c)
{
  return c != LEX_EOF && strchr ("@*#?-$!0", c) != NULL;
}

/* Reads a variable name. NOTE: Go's unicode.IsLetter also accepts non-ASCII
 * letters in names; this lexer stops at the first non-ASCII byte. */
static int
lex_name (struct lexer *lx, struct cb_buf *name)
{
  int c = peek (lx);

  if (c != LEX_EOF && isdigit (c))
    {
      while ((c = peek (lx)) != LEX_EOF && isdigit (c))
        {
          if (cb_buf_append_char (name, (char) c, lx->err) < 0)
            return -1;
          lx->pos++;
        }
      return 0;
    }
  if (is_special_param (c))
    {
      lx->pos++;
      return cb_buf_append_char (name, (char) c, lx->err);
    }
  while ((c = peek (lx)) != LEX_EOF && (isalnum (c) || c == '_'))
    {
      if (cb_buf_append_char (name, (char) c, lx->err) < 0)
        return -1;
      lx->pos++;
    }
  return 0;
}

static int
lex_single_quote (struct lexer *lx, struct cb_buf *out)
{
  lx->pos++;
  if (lx->opts.raw_quotes && cb_buf_append_char (out, '\'', lx->err) < 0)
    return -1;
  for (;;)
    {
      int c = peek (lx);

      if (c == LEX_EOF)
        return cb_error_set (lx->err, CBUILD_ERR_PARSE,
                             "unexpected end of statement while looking for matching single-quote");
      lx->pos++;
      if (c == '\'')
        return lx->opts.raw_quotes ? cb_buf_append_char (out, '\'', lx->err) : 0;
      if (cb_buf_append_char (out, (char) c, lx->err) < 0)
        return -1;
    }
}

static int lex_dollar (struct lexer *lx, struct cb_buf *out);

/* Inside double quotes the escape character escapes only '"', '$' and
 * itself. Before anything else it stays, and with raw escapes lex.go even
 * writes it twice. */
static int
lex_double_quote_char (struct lexer *lx, struct cb_buf *out)
{
  size_t start = lx->pos;
  size_t n = rune_len (lx);
  int c = peek (lx);

  lx->pos += n;
  if (c != lx->opts.escape)
    return cb_buf_append (out, lx->s + start, n, lx->err);
  if (lx->opts.raw_escapes && cb_buf_append_char (out, (char) c, lx->err) < 0)
    return -1;
  c = peek (lx);
  if (c == LEX_EOF)
    return 0;
  if (c == '"' || c == '$' || c == lx->opts.escape)
    {
      lx->pos++;
      return cb_buf_append_char (out, (char) c, lx->err);
    }
  return cb_buf_append_char (out, lx->opts.escape, lx->err);
}

static int
lex_double_quote (struct lexer *lx, struct cb_buf *out)
{
  lx->pos++;
  if (lx->opts.raw_quotes && cb_buf_append_char (out, '"', lx->err) < 0)
    return -1;
  for (;;)
    {
      int c = peek (lx);
      int ret;

      if (c == LEX_EOF)
        return cb_error_set (lx->err, CBUILD_ERR_PARSE,
                             "unexpected end of statement while looking for matching double-quote");
      if (c == '"')
        {
          lx->pos++;
          return lx->opts.raw_quotes ? cb_buf_append_char (out, '"', lx->err) : 0;
        }
      if (c == '$')
        ret = lex_dollar (lx, out);
      else
        ret = lex_double_quote_char (lx, out);
      if (ret < 0)
        return -1;
    }
}

/* $NAME, or "$" alone when no name follows. */
static int
lex_plain_var (struct lexer *lx, struct cb_buf *out)
{
  cleanup_buf struct cb_buf name = CB_BUF_INIT;
  const char *value;

  lex_buf_init (&name);
  if (lex_name (lx, &name) < 0)
    return -1;
  if (name.len == 0)
    return cb_buf_append_char (out, '$', lx->err);
  if (lex_getenv (lx, cb_buf_str (&name), &value) < 0)
    return -1;
  if (value == NULL && lx->opts.skip_unset)
    return cb_buf_printf (out, lx->err, "$%s", cb_buf_str (&name));
  return cb_buf_append_str (out, value ? value : "", lx->err);
}

/* Reads a modifier's word up to '}'. A failure at the end of the input
 * reads as a missing '}', as lex.go reports it. */
static int
lex_modifier_word (struct lexer *lx, int stop, bool raw, struct cb_buf *word)
{
  if (lex_until (lx, stop, raw, word, NULL) == 0)
    return 0;
  if (peek (lx) != LEX_EOF)
    return -1;
  if (stop == '/')
    return cb_error_set (lx->err, CBUILD_ERR_PARSE, "syntax error: missing '/' in ${}");
  return cb_error_set (lx->err, CBUILD_ERR_PARSE, "syntax error: missing '}'");
}

static int
lex_check_set (struct lexer *lx, const char *name, const char *value, bool null_is_unset,
               const char *word, struct cb_buf *out)
{
  if (value == NULL)
    return cb_error_set (lx->err, CBUILD_ERR_PARSE, "%s: %s", name,
                         *word ? word : "is not allowed to be unset");
  if (null_is_unset && *value == '\0')
    return cb_error_set (lx->err, CBUILD_ERR_PARSE, "%s: %s", name,
                         *word ? word : "is not allowed to be empty");
  return cb_buf_append_str (out, value, lx->err);
}

static int
lex_trim (struct lexer *lx, int op, const char *word, const char *value, struct cb_buf *out)
{
  struct cb_pattern *pattern = NULL;
  bool longest = word[0] == op;
  int ret;

  if (longest)
    word++;
  if (cb_pattern_compile (word, &pattern, lx->err) < 0)
    return cb_error_prefix (lx->err, "invalid pattern (%s) in substitution", word);
  ret = cb_pattern_trim (pattern, value ? value : "", op == '%', longest, &lx->budget, out, lx->err);
  cb_pattern_free (pattern);
  return ret;
}

/* ${NAME<op>word} for the operators - + ? # %, each optionally after ':'. */
static int
lex_modifier (struct lexer *lx, const char *name, int op, bool null_is_unset, struct cb_buf *out)
{
  cleanup_buf struct cb_buf word = CB_BUF_INIT;
  const char *value;
  bool unset_or_null;

  lex_buf_init (&word);
  if (lex_modifier_word (lx, '}', op == '#' || op == '%', &word) < 0)
    return -1;
  if (lex_getenv (lx, name, &value) < 0)
    return -1;
  if (value == NULL && lx->opts.skip_unset)
    return cb_buf_printf (out, lx->err, "${%s%s%c%s}", name, null_is_unset ? ":" : "", op,
                          cb_buf_str (&word));
  unset_or_null = value == NULL || (null_is_unset && *value == '\0');
  switch (op)
    {
    case '-':
      return cb_buf_append_str (out, unset_or_null ? cb_buf_str (&word) : value, lx->err);
    case '+':
      return cb_buf_append_str (out, unset_or_null ? "" : cb_buf_str (&word), lx->err);
    case '?':
      return lex_check_set (lx, name, value, null_is_unset, cb_buf_str (&word), out);
    case '#':
    case '%':
      return lex_trim (lx, op, cb_buf_str (&word), value, out);
    default:
      return cb_error_set (lx->err, CBUILD_ERR_PARSE, "unsupported modifier (%s%c) in substitution",
                           null_is_unset ? ":" : "", op);
    }
}

/* ${NAME/pattern/replacement} and ${NAME//pattern/replacement}. */
static int
lex_replace (struct lexer *lx, const char *name, struct cb_buf *out)
{
  cleanup_buf struct cb_buf pattern = CB_BUF_INIT;
  cleanup_buf struct cb_buf replacement = CB_BUF_INIT;
  struct cb_pattern *compiled = NULL;
  bool all = peek (lx) == '/';
  const char *value;
  int ret;

  lex_buf_init (&pattern);
  lex_buf_init (&replacement);
  if (all)
    lx->pos++;
  if (lex_modifier_word (lx, '/', true, &pattern) < 0
      || lex_modifier_word (lx, '}', true, &replacement) < 0)
    return -1;
  if (lex_getenv (lx, name, &value) < 0)
    return -1;
  if (value == NULL && lx->opts.skip_unset)
    return cb_buf_printf (out, lx->err, "${%s/%s/%s}", name, cb_buf_str (&pattern),
                          cb_buf_str (&replacement));
  if (cb_pattern_compile (cb_buf_str (&pattern), &compiled, lx->err) < 0)
    return cb_error_prefix (lx->err, "invalid pattern (%s) in substitution", cb_buf_str (&pattern));
  ret = cb_pattern_replace (compiled, value ? value : "", cb_buf_str (&replacement), all, &lx->budget, out,
                            lx->err);
  cb_pattern_free (compiled);
  return ret;
}

static int
lex_braced (struct lexer *lx, struct cb_buf *out)
{
  cleanup_buf struct cb_buf name = CB_BUF_INIT;
  const char *value;
  int c = peek (lx);

  if (c == LEX_EOF)
    return cb_error_set (lx->err, CBUILD_ERR_PARSE, "syntax error: missing '}'");
  if (c == '{' || c == '}' || c == ':')
    return cb_error_set (lx->err, CBUILD_ERR_PARSE, "syntax error: bad substitution");
  lex_buf_init (&name);
  if (lex_name (lx, &name) < 0)
    return -1;
  c = peek (lx);
  if (c != LEX_EOF)
    lx->pos++;
  switch (c)
    {
    case '}':
      if (lex_getenv (lx, cb_buf_str (&name), &value) < 0)
        return -1;
      if (value == NULL && lx->opts.skip_unset)
        return cb_buf_printf (out, lx->err, "${%s}", cb_buf_str (&name));
      return cb_buf_append_str (out, value ? value : "", lx->err);
    case ':':
      c = peek (lx);
      if (c != LEX_EOF)
        lx->pos++;
      return lex_modifier (lx, cb_buf_str (&name), c, true, out);
    case '+': case '-': case '?': case '#': case '%':
      return lex_modifier (lx, cb_buf_str (&name), c, false, out);
    case '/':
      return lex_replace (lx, cb_buf_str (&name), out);
    case LEX_EOF:
      return cb_error_set (lx->err, CBUILD_ERR_PARSE, "syntax error: missing '}'");
    default:
      return cb_error_set (lx->err, CBUILD_ERR_PARSE, "unsupported modifier (%c) in substitution", c);
    }
}

static int
lex_dollar (struct lexer *lx, struct cb_buf *out)
{
  size_t before;
  int ret;

  lx->pos++;
  if (peek (lx) != '{')
    return lex_plain_var (lx, out);
  lx->pos++;
  /* Each ${ may nest words that hold more ${, so recursion follows input. */
  if (lx->depth >= CB_EXPAND_MAX_DEPTH)
    return cb_error_set (lx->err, CBUILD_ERR_PARSE, "substitutions nested too deeply (maximum %d)",
                         CB_EXPAND_MAX_DEPTH);
  lx->depth++;
  before = out->len;
  ret = lex_braced (lx, out);
  lx->depth--;
  /* Nested ${...} words are built even when their value is dropped, so
   * their total size is bounded, not only the result's. */
  if (ret == 0 && out->len - before > lx->budget)
    return cb_error_set (lx->err, CBUILD_ERR_INVALID, "substitutions need too much work (over %d steps)",
                         CB_EXPAND_MAX_WORK);
  if (ret == 0)
    lx->budget -= out->len - before;
  return ret;
}

/* Handles the escape character outside quotes: it escapes any next rune,
 * and at the end of the input it is dropped. Returns 1 at the end. */
static int
lex_escape (struct lexer *lx, struct cb_buf *result, struct lex_words *w)
{
  char esc = lx->opts.escape;
  size_t n;

  lx->pos++;
  if (lx->opts.raw_escapes
      && (words_add_raw (w, &esc, 1, lx->err) < 0 || cb_buf_append_char (result, esc, lx->err) < 0))
    return -1;
  if (peek (lx) == LEX_EOF)
    return 1;
  n = rune_len (lx);
  if (words_add_raw (w, lx->s + lx->pos, n, lx->err) < 0
      || cb_buf_append (result, lx->s + lx->pos, n, lx->err) < 0)
    return -1;
  lx->pos += n;
  return 0;
}

/* "<<" keeps the blanks after it in its word, so that "<<  EOF" stays one
 * heredoc word, as BuildKit's lexer does since it accepts that form. */
static int
lex_angle (struct lexer *lx, struct cb_buf *out)
{
  size_t start = lx->pos;

  lx->pos++;
  if (peek (lx) == '<')
    {
      lx->pos++;
      while (peek (lx) == ' ' || peek (lx) == '\t' || peek (lx) == '\r')
        lx->pos++;
    }
  return cb_buf_append (out, lx->s + start, lx->pos - start, lx->err);
}

static int
lex_special (struct lexer *lx, int c, struct cb_buf *result, struct lex_words *w)
{
  cleanup_buf struct cb_buf tmp = CB_BUF_INIT;
  int ret;

  lex_buf_init (&tmp);
  if (c == '$')
    ret = lex_dollar (lx, &tmp);
  else if (c == '<')
    ret = lex_angle (lx, &tmp);
  else if (c == '\'')
    ret = lex_single_quote (lx, &tmp);
  else
    ret = lex_double_quote (lx, &tmp);
  if (ret < 0 || cb_buf_append (result, tmp.data ? tmp.data : "", tmp.len, lx->err) < 0)
    return -1;
  if (c == '$')
    return words_add_string (w, cb_buf_str (&tmp), tmp.len, lx->err);
  return words_add_raw (w, cb_buf_str (&tmp), tmp.len, lx->err);
}

static int
lex_step (struct lexer *lx, struct cb_buf *result, struct lex_words *w)
{
  int c = peek (lx);
  size_t n;

  if (c == '$' || c == '<' || ((c == '\'' || c == '"') && !lx->opts.skip_quotes))
    return lex_special (lx, c, result, w);
  if (c == lx->opts.escape)
    return lex_escape (lx, result, w);
  n = rune_len (lx);
  if (words_add_string (w, lx->s + lx->pos, n, lx->err) < 0
      || cb_buf_append (result, lx->s + lx->pos, n, lx->err) < 0)
    return -1;
  lx->pos += n;
  return 0;
}

/* Lexes up to the stop character (consumed) or, for LEX_EOF, to the end. */
static int
lex_until (struct lexer *lx, int stop, bool raw_escapes, struct cb_buf *result, struct lex_words *w)
{
  bool saved = lx->opts.raw_escapes;
  int ret = 0;

  lx->opts.raw_escapes = raw_escapes;
  while (ret == 0 && peek (lx) != LEX_EOF)
    {
      if (stop != LEX_EOF && peek (lx) == stop)
        {
          lx->pos++;
          lx->opts.raw_escapes = saved;
          return 0;
        }
      ret = lex_step (lx, result, w);
    }
  lx->opts.raw_escapes = saved;
  if (ret < 0)
    return -1;
  if (stop != LEX_EOF)
    return cb_error_set (lx->err, CBUILD_ERR_PARSE,
                         "unexpected end of statement while looking for matching %c", stop);
  return 0;
}

int
cb_lex_process (const char *word, size_t len, const struct cb_lex_opts *opts,
                const struct cb_strv *env, char **result, struct cb_strv *words, cbuild_error *err)
{
  cleanup_buf struct cb_buf res = CB_BUF_INIT;
  cleanup_strv struct cb_strv list = CB_STRV_INIT;
  struct lexer lx = { .s = word, .len = len, .opts = *opts, .env = env, .budget = CB_EXPAND_MAX_WORK,
                      .err = err };
  struct lex_words w = { .out = words ? &list : NULL };
  int ret;

  lex_buf_init (&res);
  lex_buf_init (&w.word);
  ret = lex_until (&lx, LEX_EOF, opts->raw_escapes, &res, &w);
  if (ret == 0 && w.out)
    ret = words_flush (&w, err);
  cb_buf_release (&w.word);
  if (ret < 0)
    return -1;
  if (words)
    {
      for (size_t i = 0; i < list.len; i++)
        {
          if (cb_strv_push_owned (words, list.items[i], err) < 0)
            {
              list.items[i] = NULL;
              return -1;
            }
          list.items[i] = NULL;
        }
    }
  if (result)
    *result = cb_buf_detach (&res);
  return 0;
}

int
cb_expand_word (const char *word, char escape, const struct cb_strv *env, char **out,
                cbuild_error *err)
{
  struct cb_lex_opts opts = { .escape = escape };

  if (cb_lex_process (word, strlen (word), &opts, env, out, NULL, err) < 0)
    return cb_error_prefix (err, "failed to process '%s'", word);
  if (*out == NULL)
    return cb_error_nomem (err);
  return 0;
}

int
cb_expand_words (const char *text, char escape, const struct cb_strv *env, struct cb_strv *out,
                 cbuild_error *err)
{
  struct cb_lex_opts opts = { .escape = escape };

  if (cb_lex_process (text, strlen (text), &opts, env, NULL, out, err) < 0)
    return cb_error_prefix (err, "failed to process '%s'", text);
  return 0;
}
