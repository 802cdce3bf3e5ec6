/* Splitting an instruction's text into words, as BuildKit's parser does
 * before any variable substitution. */
#include <string.h>

#include "common/error.h"
#include "parser/internal.h"

enum word_phase
{
  IN_SPACES,
  IN_WORD,
  IN_QUOTE,
};

static int
push_word (struct cb_strv *out, const struct cb_buf *word, cbuild_error *err)
{
  if (out->len >= CB_DOCKERFILE_MAX_WORDS)
    return cb_error_set (err, CBUILD_ERR_PARSE, "too many words (maximum %d)", CB_DOCKERFILE_MAX_WORDS);
  return cb_strv_push (out, cb_buf_str (word), err);
}

struct word_state
{
  const char *s;
  size_t len;
  size_t pos;
  char escape;
  enum word_phase phase;
  int32_t quote;
  bool blank_ok; /* a quoted empty word still counts */
  struct cb_buf word;
};

/* Appends the rune at the position and moves past it. An escape character
 * is kept together with the rune after it, unless it ends the text. */
static int
take_rune (struct word_state *w, size_t n, bool escaped, cbuild_error *err)
{
  int32_t r;

  if (escaped)
    {
      if (w->pos + n == w->len)
        {
          w->pos += n;
          return 0;
        }
      if (cb_buf_append (&w->word, w->s + w->pos, n, err) < 0)
        return -1;
      w->pos += n;
      n = cb_utf8_decode (w->s + w->pos, w->len - w->pos, &r);
    }
  if (cb_buf_append (&w->word, w->s + w->pos, n, err) < 0)
    return -1;
  w->pos += n;
  return 0;
}

static int
word_end (struct word_state *w, struct cb_strv *out, cbuild_error *err)
{
  if ((w->blank_ok || w->word.len > 0) && push_word (out, &w->word, err) < 0)
    return -1;
  cb_buf_reset (&w->word);
  w->blank_ok = false;
  return 0;
}

static int
words_step (struct word_state *w, struct cb_strv *out, cbuild_error *err)
{
  int32_t ch;
  size_t n = cb_utf8_decode (w->s + w->pos, w->len - w->pos, &ch);

  if (w->phase == IN_SPACES)
    {
      if (cb_rune_is_space (ch))
        {
          w->pos += n;
          return 0;
        }
      w->phase = IN_WORD;
    }
  if (w->phase == IN_WORD)
    {
      if (cb_rune_is_space (ch))
        {
          w->phase = IN_SPACES;
          w->pos += n;
          return word_end (w, out, err);
        }
      if (ch == '\'' || ch == '"')
        {
          w->quote = ch;
          w->blank_ok = true;
          w->phase = IN_QUOTE;
        }
      return take_rune (w, n, ch == w->escape, err);
    }
  if (ch == w->quote)
    w->phase = IN_WORD;
  /* Single quotes escape nothing, as in sh. */
  if (ch == w->escape && w->quote != '\'' && w->pos + n == w->len)
    {
      w->phase = IN_WORD;
      w->pos += n;
      return 0;
    }
  return take_rune (w, n, ch == w->escape && w->quote != '\'', err);
}

int
cb_df_words (const char *text, char escape, struct cb_strv *out, cbuild_error *err)
{
  struct word_state w = { .s = text, .len = strlen (text), .escape = escape, .phase = IN_SPACES };
  int ret = 0;

  cb_buf_init (&w.word, CB_DOCKERFILE_MAX_INSTRUCTION);
  while (ret == 0 && w.pos < w.len)
    ret = words_step (&w, out, err);
  if (ret == 0 && w.phase != IN_SPACES)
    ret = word_end (&w, out, err);
  cb_buf_release (&w.word);
  return ret;
}

int
cb_df_split_blank (const char *text, size_t max_parts, struct cb_strv *out, cbuild_error *err)
{
  size_t len = strlen (text), start = 0, i = 0, parts = 0;

  while (i < len && (max_parts == 0 || parts + 1 < max_parts))
    {
      size_t j = i;

      if (!cb_is_blank (text[i]))
        {
          i++;
          continue;
        }
      while (j < len && cb_is_blank (text[j]))
        j++;
      if (parts >= CB_DOCKERFILE_MAX_WORDS)
        return cb_error_set (err, CBUILD_ERR_PARSE, "too many words (maximum %d)", CB_DOCKERFILE_MAX_WORDS);
      if (cb_strv_push_owned (out, strndup (text + start, i - start), err) < 0)
        return -1;
      parts++;
      start = i = j;
    }
  return cb_strv_push (out, text + start, err);
}

static bool
flag_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

struct flag_state
{
  const char *s;
  size_t len;
  enum word_phase phase;
  char quote;
  bool blank_ok;
  struct cb_buf word;
  struct cb_strv *flags;
};

/* Handles one character of a flag word. '\' escapes the next character,
 * quotes are removed. Returns 1 when "--" ends the flags. */
static int
flag_char (struct flag_state *f, size_t *pos, cbuild_error *err)
{
  char ch = f->s[*pos];

  if (f->phase == IN_WORD && flag_space (ch))
    {
      f->phase = IN_SPACES;
      if (strcmp (cb_buf_str (&f->word), "--") == 0)
        return 1;
      if ((f->blank_ok || f->word.len > 0) && push_word (f->flags, &f->word, err) < 0)
        return -1;
      cb_buf_reset (&f->word);
      f->blank_ok = false;
      return 0;
    }
  if (f->phase == IN_WORD && (ch == '\'' || ch == '"'))
    {
      f->quote = ch;
      f->blank_ok = true;
      f->phase = IN_QUOTE;
      return 0;
    }
  if (f->phase == IN_QUOTE && ch == f->quote)
    {
      f->phase = IN_WORD;
      return 0;
    }
  if (ch == '\\')
    {
      if (*pos + 1 == f->len)
        {
          f->phase = IN_WORD;
          return 0;
        }
      ch = f->s[++*pos];
    }
  return cb_buf_append_char (&f->word, ch, err);
}

/* NOTE: BuildKit reads flags byte by byte as Latin-1, so it splits UTF-8
 * text at bytes 0x85 and 0xA0 and re-encodes the rest; this reads bytes as
 * they are and splits only on ASCII spaces. */
int
cb_df_extract_flags (const char *text, struct cb_strv *flags, const char **rest, cbuild_error *err)
{
  struct flag_state f = { .s = text, .len = strlen (text), .phase = IN_SPACES, .flags = flags };
  int ret = 0;
  size_t pos;

  cb_buf_init (&f.word, CB_DOCKERFILE_MAX_INSTRUCTION);
  *rest = text + f.len;
  for (pos = 0; pos < f.len && ret == 0; pos++)
    {
      if (f.phase == IN_SPACES && flag_space (text[pos]))
        continue;
      if (f.phase == IN_SPACES && (text[pos] != '-' || text[pos + 1] != '-'))
        {
          *rest = text + pos;
          break;
        }
      if (f.phase == IN_SPACES)
        f.phase = IN_WORD;
      ret = flag_char (&f, &pos, err);
      if (ret == 1)
        *rest = text + pos;
    }
  if (ret == 0 && pos >= f.len && f.phase != IN_SPACES && strcmp (cb_buf_str (&f.word), "--") != 0
      && (f.blank_ok || f.word.len > 0))
    ret = push_word (flags, &f.word, err);
  cb_buf_release (&f.word);
  return ret < 0 ? -1 : 0;
}
