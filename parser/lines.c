/* Physical and logical lines of a Dockerfile, read as BuildKit's parser
 * reads them. The first line of an instruction loses its leading spaces, and
 * the escape character at the end of a line continues it. Comment lines and
 * blank lines inside a continuation are skipped. */
#include <string.h>

#include "common/error.h"
#include "parser/internal.h"

static const char utf8_bom[] = "\xEF\xBB\xBF";

/* Points the error in err at the given byte column of the current line,
 * or at its first word when column is 0. */
static int
fail_here (const struct cb_df_reader *r, size_t column, cbuild_error *err)
{
  struct cb_df_site site = { .line = r->line, .last_line = r->line, .column = column };

  return cb_df_error_at (r, &site, err);
}

/* Reads the next physical line, its line ending included in *len. */
static int
next_line (struct cb_df_reader *r, const char **line, size_t *len, bool *got, cbuild_error *err)
{
  const char *start = r->text + r->pos;
  const char *nl, *nul;
  size_t n, content;

  *got = false;
  if (r->pos >= r->len)
    return 0;
  nl = memchr (start, '\n', r->len - r->pos);
  n = nl ? (size_t) (nl - start) + 1 : r->len - r->pos;
  content = nl ? n - 1 : n;
  r->pos += n;
  r->line++;
  /* BuildKit's line scanner stops at 64 KiB, and so does this reader. */
  if (content > CB_DOCKERFILE_MAX_LINE)
    {
      cb_error_set (err, CBUILD_ERR_PARSE, "line longer than %d bytes", CB_DOCKERFILE_MAX_LINE);
      return fail_here (r, CB_DOCKERFILE_MAX_LINE + 1, err);
    }
  nul = memchr (start, '\0', n);
  if (nul != NULL)
    {
      cb_error_set (err, CBUILD_ERR_PARSE, "NUL character in the line");
      return fail_here (r, (size_t) (nul - start) + 1, err);
    }
  if (r->line == 1 && n >= 3 && memcmp (start, utf8_bom, 3) == 0)
    start += 3, n -= 3;
  *line = start;
  *len = n;
  *got = true;
  return 0;
}

/* Go's bytes.TrimRight(line, "\r\n"). */
static void
trim_newline (const char *line, size_t *len)
{
  while (*len > 0 && (line[*len - 1] == '\n' || line[*len - 1] == '\r'))
    (*len)--;
}

static bool
is_comment (const char *line, size_t len)
{
  cb_trim_left_space (&line, &len);
  return len > 0 && line[0] == '#';
}

/* Removes a trailing escape character and the blanks after it, unless it
 * is itself escaped. Returns true when the line continues. */
static bool
trim_continuation (const char *line, size_t *len, char escape)
{
  size_t n = *len;

  while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
    n--;
  if (n == 0 || line[n - 1] != escape)
    return false;
  if (n >= 2 && line[n - 2] == escape)
    return false;
  *len = n - 1;
  return true;
}

/* Trims the line ending, lets the directive parser see the line, and
 * empties comment lines. */
static int
process_line (struct cb_df_reader *r, const char **line, size_t *len, bool strip_left,
              cbuild_error *err)
{
  bool directive;

  trim_newline (*line, len);
  if (strip_left)
    cb_trim_left_space (line, len);
  if (cb_df_directive_line (&r->directives, *line, *len, &directive, err) < 0)
    return fail_here (r, 0, err);
  if (is_comment (*line, *len))
    *len = 0;
  return 0;
}

static int
append_part (struct cb_df_reader *r, struct cb_buf *out, const char *s, size_t n, cbuild_error *err)
{
  if (cb_buf_append (out, s, n, err) == 0)
    return 0;
  if (err && err->code == CBUILD_ERR_NOMEM)
    return -1;
  cb_error_set (err, CBUILD_ERR_PARSE, "instruction longer than %zu bytes", CB_DOCKERFILE_MAX_INSTRUCTION);
  return fail_here (r, 0, err);
}

/* Joins the lines that continue an instruction. A blank line among them
 * is skipped, and noted because BuildKit warns about it. */
static int
read_continuation (struct cb_df_reader *r, struct cb_buf *out, cbuild_error *err)
{
  for (;;)
    {
      const char *raw, *line;
      size_t raw_len, len;
      bool got, more;

      if (next_line (r, &raw, &raw_len, &got, err) < 0)
        return -1;
      if (!got)
        return 0;
      line = raw;
      len = raw_len;
      if (process_line (r, &line, &len, false, err) < 0)
        return -1;
      if (is_comment (raw, raw_len))
        continue;
      {
        const char *rest = line;
        size_t rest_len = len;
        cb_trim_left_space (&rest, &rest_len);
        if (rest_len == 0)
          {
            r->empty_continuation = true;
            continue;
          }
      }
      more = trim_continuation (line, &len, r->directives.escape);
      if (append_part (r, out, line, len, err) < 0)
        return -1;
      if (!more)
        return 0;
    }
}

int
cb_df_read_logical (struct cb_df_reader *r, struct cb_buf *out, int *start_line, bool *found,
                    cbuild_error *err)
{
  *found = false;
  r->empty_continuation = false;
  cb_buf_reset (out);
  for (;;)
    {
      const char *line;
      size_t len;
      bool got, more;

      if (next_line (r, &line, &len, &got, err) < 0)
        return -1;
      if (!got)
        return 0;
      if (process_line (r, &line, &len, true, err) < 0)
        return -1;
      more = trim_continuation (line, &len, r->directives.escape);
      if (!more && len == 0)
        continue;
      *start_line = r->line;
      *found = true;
      if (append_part (r, out, line, len, err) < 0)
        return -1;
      return more ? read_continuation (r, out, err) : 0;
    }
}

static void
skip_tabs (const char **s, size_t *len)
{
  while (*len > 0 && **s == '\t')
    (*s)++, (*len)--;
}

int
cb_df_read_heredoc (struct cb_df_reader *r, struct cb_heredoc *doc, const struct cb_df_site *opener,
                    cbuild_error *err)
{
  struct cb_buf body;

  cb_buf_init (&body, CB_DOCKERFILE_MAX_SIZE);
  for (;;)
    {
      const char *line, *term;
      size_t len, term_len;
      bool got;

      if (next_line (r, &line, &len, &got, err) < 0)
        break;
      if (!got)
        {
          cb_error_set (err, CBUILD_ERR_PARSE, "unterminated heredoc '%s': end its body with a line '%s'",
                        doc->name, doc->name);
          cb_df_error_at (r, opener, err);
          break;
        }
      term = line;
      term_len = len;
      trim_newline (term, &term_len);
      if (doc->chomp)
        skip_tabs (&term, &term_len);
      if (term_len == strlen (doc->name) && memcmp (term, doc->name, term_len) == 0)
        {
          doc->content = cb_buf_detach (&body);
          return doc->content ? 0 : cb_error_nomem (err);
        }
      /* <<- strips leading tabs from the body, as BuildKit does when it
       * uses the heredoc. */
      if (doc->chomp)
        skip_tabs (&line, &len);
      if (cb_buf_append (&body, line, len, err) < 0)
        break;
    }
  cb_buf_release (&body);
  return -1;
}
