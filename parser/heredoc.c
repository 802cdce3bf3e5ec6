/* Heredoc words ("<<EOF", "<<-'EOF'", "<< EOF") as BuildKit recognises
 * them. The line is lexed with quotes and escapes kept. Each word that reads
 * [digits]<<[-][blanks]rest, with no '<' in rest, opens a heredoc. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/internal.h"

void
cb_heredoc_release (struct cb_heredoc *doc)
{
  free (doc->name);
  free (doc->content);
  doc->name = NULL;
  doc->content = NULL;
}

static size_t
count_quotes (const char *s)
{
  size_t n = 0;

  for (; *s; s++)
    n += *s == '\'' || *s == '"';
  return n;
}

/* Lexes the delimiter twice, with and without quotes: when the counts of
 * quote characters differ, part of it was quoted and the body is taken
 * literally. The delimiter must lex to exactly one word. */
static int
heredoc_name (const char *rest, struct cb_heredoc *out, bool *found, cbuild_error *err)
{
  cleanup_strv struct cb_strv words = CB_STRV_INIT;
  cleanup_strv struct cb_strv raw = CB_STRV_INIT;
  struct cb_lex_opts opts = { .escape = '\\', .skip_unset = true };

  if (cb_lex_process (rest, strlen (rest), &opts, NULL, NULL, &words, err) < 0)
    return -1;
  if (words.len != 1)
    return 0;
  opts.raw_quotes = true;
  if (cb_lex_process (rest, strlen (rest), &opts, NULL, NULL, &raw, err) < 0)
    return -1;
  if (raw.len != 1)
    return cb_error_set (err, CBUILD_ERR_PARSE, "heredoc delimiter '%s' lexes inconsistently", rest);
  out->name = strdup (words.items[0]);
  if (out->name == NULL)
    return cb_error_nomem (err);
  out->expand = count_quotes (words.items[0]) == count_quotes (raw.items[0]);
  *found = true;
  return 0;
}

int
cb_heredoc_from_word (const char *word, struct cb_heredoc *out, bool *found, cbuild_error *err)
{
  const char *p = word;
  bool chomp;

  *found = false;
  memset (out, 0, sizeof *out);
  while (isdigit ((unsigned char) *p))
    p++;
  if (strncmp (p, "<<", 2) != 0)
    return 0;
  p += 2;
  chomp = *p == '-';
  if (chomp)
    p++;
  while (*p && strchr (" \t\n\f\r", *p))
    p++;
  if (*p == '\0' || strchr (p, '<') != NULL)
    return 0;
  out->chomp = chomp;
  return heredoc_name (p, out, found, err);
}

static int
append_heredoc (struct cb_heredoc **docs, size_t *n, struct cb_heredoc *doc, cbuild_error *err)
{
  struct cb_heredoc *grown;

  if (*n >= CB_DOCKERFILE_MAX_HEREDOCS)
    {
      cb_heredoc_release (doc);
      return cb_error_set (err, CBUILD_ERR_PARSE, "too many heredocs in one instruction (maximum %d)",
                           CB_DOCKERFILE_MAX_HEREDOCS);
    }
  grown = realloc (*docs, (*n + 1) * sizeof **docs);
  if (grown == NULL)
    {
      cb_heredoc_release (doc);
      return cb_error_nomem (err);
    }
  grown[(*n)++] = *doc;
  *docs = grown;
  return 0;
}

int
cb_heredocs_from_line (const char *line, struct cb_heredoc **docs, size_t *n, cbuild_error *err)
{
  cleanup_strv struct cb_strv words = CB_STRV_INIT;
  struct cb_lex_opts opts = { .escape = '\\', .raw_quotes = true, .raw_escapes = true, .skip_unset = true };
  cbuild_error ignored = { 0 };

  *docs = NULL;
  *n = 0;
  /* BuildKit ignores a line that does not lex (an open quote, say): it has
   * no heredocs then. */
  if (cb_lex_process (line, strlen (line), &opts, NULL, NULL, &words, &ignored) < 0)
    return 0;
  for (size_t i = 0; i < words.len; i++)
    {
      struct cb_heredoc doc;
      bool found;

      if (cb_heredoc_from_word (words.items[i], &doc, &found, err) < 0)
        goto fail;
      if (found && append_heredoc (docs, n, &doc, err) < 0)
        goto fail;
    }
  return 0;

fail:
  for (size_t i = 0; i < *n; i++)
    cb_heredoc_release (&(*docs)[i]);
  free (*docs);
  *docs = NULL;
  *n = 0;
  return -1;
}

const struct cb_heredoc *
cb_instruction_heredoc_for_arg (const struct cb_instruction *ins, const char *arg)
{
  struct cb_heredoc doc;
  const struct cb_heredoc *match = NULL;
  bool found;

  if (cb_heredoc_from_word (arg, &doc, &found, NULL) < 0 || !found)
    return NULL;
  /* With two heredocs of one name, BuildKit's lookup keeps the last. */
  for (size_t i = 0; i < ins->n_heredocs; i++)
    if (strcmp (ins->heredocs[i].name, doc.name) == 0)
      match = &ins->heredocs[i];
  cb_heredoc_release (&doc);
  return match;
}
