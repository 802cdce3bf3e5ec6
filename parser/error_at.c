/* Parse errors that point into the source: "FILE:LINE:COLUMN: message",
 * then the source line and a caret under the column, as compilers print
 * them. The error object has one message string, so the three lines go
 * into it, and they must fit in CBUILD_ERROR_MAX bytes. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/error.h"
#include "parser/internal.h"

/* A longer line shows as this many characters around the column. */
#define EXCERPT_MAX_RUNES 120
#define EXCERPT_BEFORE_COLUMN 60

struct source_line
{
  const char *text;
  size_t len; /* without the line ending */
};

/* Finds physical line n (1-based) of the reader's text. */
static bool
find_line (const struct cb_df_reader *r, int n, struct source_line *out)
{
  const char *p = r->text, *end = r->text + r->len, *nl;

  if (n < 1)
    return false;
  for (int i = 1; i < n; i++)
    {
      nl = memchr (p, '\n', (size_t) (end - p));
      if (nl == NULL)
        return false;
      p = nl + 1;
    }
  if (n == 1 && end - p >= 3 && memcmp (p, "\xEF\xBB\xBF", 3) == 0)
    p += 3;
  nl = memchr (p, '\n', (size_t) (end - p));
  out->text = p;
  out->len = nl ? (size_t) (nl - p) : (size_t) (end - p);
  while (out->len > 0 && out->text[out->len - 1] == '\r')
    out->len--;
  return true;
}

/* Byte offset of the first word of the line, and of its end. */
static size_t
first_word (const struct source_line *l, size_t *end)
{
  const char *s = l->text;
  size_t len = l->len, start;

  cb_trim_left_space (&s, &len);
  start = (size_t) (s - l->text);
  *end = start;
  while (*end < l->len && !cb_is_blank (l->text[*end]))
    (*end)++;
  return start;
}

static const char *
find_ignoring_case (const char *s, size_t len, const char *needle)
{
  size_t n = strlen (needle);

  for (size_t i = 0; n > 0 && i + n <= len; i++)
    if (strncasecmp (s + i, needle, n) == 0)
      return s + i;
  return NULL;
}

/* Resolves the site to a line and a 0-based byte offset in it. */
static bool
locate (const struct cb_df_reader *r, const struct cb_df_site *site, int *line_no, struct source_line *line,
        size_t *offset)
{
  size_t word_end;

  if (!find_line (r, site->line, line))
    return false;
  *line_no = site->line;
  *offset = first_word (line, &word_end);
  if (site->column > 0)
    {
      *offset = site->column - 1 < line->len ? site->column - 1 : line->len;
      return true;
    }
  if (site->subject[0] == '\0')
    return true;
  for (int n = site->line; n <= site->last_line; n++)
    {
      struct source_line l;
      size_t from = n == site->line ? word_end : 0;
      const char *hit;

      if (!find_line (r, n, &l))
        break;
      hit = find_ignoring_case (l.text + from, l.len - from, site->subject);
      if (hit)
        {
          *line_no = n;
          *line = l;
          *offset = (size_t) (hit - l.text);
          return true;
        }
    }
  return true;
}

struct rune_at
{
  size_t offset;
  size_t len;
  int32_t rune;
};

static struct rune_at
rune_at (const struct source_line *l, size_t offset)
{
  struct rune_at r = { .offset = offset };

  r.len = cb_utf8_decode (l->text + offset, l->len - offset, &r.rune);
  return r;
}

static size_t
count_runes (const struct source_line *l, size_t until)
{
  size_t n = 0;

  for (size_t i = 0; i < until && i < l->len; i += rune_at (l, i).len)
    n++;
  return n;
}

/* Appends one character of the source line as it is shown: a tab as one
 * space, so that the caret line lines up, and control characters and
 * invalid bytes as '?', which the error message never carries raw. */
static void
show_rune (const struct source_line *l, struct rune_at r, char **out)
{
  if (r.rune == '\t')
    *(*out)++ = ' ';
  else if (r.rune < 0x20 || r.rune == 0x7f || (r.rune >= 0x80 && r.rune < 0xa0)
           || (r.rune == CB_RUNE_ERROR && r.len == 1))
    *(*out)++ = '?';
  else
    {
      memcpy (*out, l->text + r.offset, r.len);
      *out += r.len;
    }
}

/* Writes the shown line and the caret line. Each buffer has room for
 * EXCERPT_MAX_RUNES * 4 + 8 bytes. */
static void
excerpt (const struct source_line *l, size_t column_runes, char *text, char *caret)
{
  size_t total = count_runes (l, l->len);
  size_t first = 0, i = 0, n = 0, pad;

  if (total > EXCERPT_MAX_RUNES && column_runes > EXCERPT_BEFORE_COLUMN)
    first = column_runes - EXCERPT_BEFORE_COLUMN;
  if (first > 0)
    text = stpcpy (text, "...");
  pad = column_runes - first + (first > 0 ? 3 : 0);
  for (; i < l->len; n++)
    {
      struct rune_at r = rune_at (l, i);

      if (n >= first + EXCERPT_MAX_RUNES)
        {
          text = stpcpy (text, "...");
          break;
        }
      if (n >= first)
        show_rune (l, r, &text);
      i += r.len;
    }
  *text = '\0';
  memset (caret, ' ', pad);
  strcpy (caret + pad, "^");
}

static void
replace_control_chars (char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      *s = '?';
}

int
cb_df_error_at (const struct cb_df_reader *r, const struct cb_df_site *site, cbuild_error *err)
{
  char message[CBUILD_ERROR_MAX], prefix[256];
  char text[EXCERPT_MAX_RUNES * 4 + 8], caret[EXCERPT_MAX_RUNES + 8];
  struct source_line line;
  size_t offset, column, room;
  int line_no;

  if (err == NULL)
    return -1;
  memcpy (message, err->message, sizeof message);
  if (!locate (r, site, &line_no, &line, &offset))
    return cb_error_prefix (err, "%s:%d", r->file, site->line);
  column = count_runes (&line, offset);
  excerpt (&line, column, text, caret);
  snprintf (prefix, sizeof prefix, "%s:%d:%zu: ", r->file, line_no, column + 1);
  replace_control_chars (prefix);
  /* The excerpt stays whole; a message too long for the rest is cut. */
  room = sizeof err->message - strlen (prefix) - strlen (text) - strlen (caret) - 3;
  snprintf (err->message, sizeof err->message, "%s%.*s\n%s\n%s", prefix, (int) room, message, text, caret);
  return -1;
}
