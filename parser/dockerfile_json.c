/* The parse tree as JSON, for tests and for tools that inspect a
 * Dockerfile. docs/parse-json.md describes the shape. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "parser/dockerfile.h"
#include "parser/internal.h"

/* jansson takes only valid UTF-8. Like Go's encoder, this writes U+FFFD
 * for each byte that is not. */
static json_t *
json_text (const char *s)
{
  struct cb_buf b = CB_BUF_INIT;
  size_t len, i = 0;
  json_t *j;

  if (s == NULL)
    return json_null ();
  len = strlen (s);
  cb_buf_init (&b, 0);
  while (i < len)
    {
      int32_t r;
      size_t n = cb_utf8_decode (s + i, len - i, &r);
      int ret = r == CB_RUNE_ERROR && n == 1 ? cb_buf_append (&b, "\xEF\xBF\xBD", 3, NULL)
                                             : cb_buf_append (&b, s + i, n, NULL);
      if (ret < 0)
        {
          cb_buf_release (&b);
          return NULL;
        }
      i += n;
    }
  j = json_stringn (b.data ? b.data : "", b.len);
  cb_buf_release (&b);
  return j;
}

static json_t *
json_strings (char *const *items, size_t n)
{
  json_t *a = json_array ();

  for (size_t i = 0; a && i < n; i++)
    if (json_array_append_new (a, json_text (items[i])) < 0)
      {
        json_decref (a);
        return NULL;
      }
  return a;
}

static json_t *
heredoc_json (const struct cb_heredoc *doc)
{
  return json_pack ("{s:o, s:o, s:b, s:b}", "name", json_text (doc->name), "content",
                    json_text (doc->content ? doc->content : ""), "expand", doc->expand, "chomp",
                    doc->chomp);
}

static json_t *
heredocs_json (const struct cb_instruction *ins)
{
  json_t *a = json_array ();

  for (size_t i = 0; a && i < ins->n_heredocs; i++)
    if (json_array_append_new (a, heredoc_json (&ins->heredocs[i])) < 0)
      {
        json_decref (a);
        return NULL;
      }
  return a;
}

static json_t *
instruction_json (const struct cb_instruction *ins)
{
  json_t *next = ins->next ? instruction_json (ins->next) : json_null ();

  if (next == NULL)
    return NULL;
  return json_pack ("{s:o, s:i, s:i, s:o, s:b, s:o, s:o, s:o}", "cmd", json_text (ins->cmd), "line",
                    ins->line, "end_line", ins->end_line, "flags", json_strings (ins->flags, ins->n_flags),
                    "json", ins->json, "args", json_strings (ins->args, ins->n_args), "heredocs",
                    heredocs_json (ins), "next", next);
}

char *
cb_dockerfile_to_json (const struct cb_dockerfile *df)
{
  char escape[2] = { df->escape, '\0' };
  json_t *list = json_array ();
  json_t *root;
  char *text;

  for (size_t i = 0; list && i < df->n_instructions; i++)
    if (json_array_append_new (list, instruction_json (&df->instructions[i])) < 0)
      {
        json_decref (list);
        list = NULL;
      }
  if (list == NULL)
    return NULL;
  root = json_pack ("{s:{s:o, s:s, s:o}, s:o}", "directives", "syntax", json_text (df->syntax), "escape", escape,
                    "check", json_text (df->check), "instructions", list);
  if (root == NULL)
    return NULL;
  text = json_dumps (root, JSON_INDENT (2));
  json_decref (root);
  return text;
}
