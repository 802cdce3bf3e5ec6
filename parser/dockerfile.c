/* The Dockerfile parser's entry point: reads logical lines, parses each
 * into an instruction and reads the heredoc bodies that follow it. */
#include "parser/dockerfile.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/internal.h"

void
cb_dockerfile_free (struct cb_dockerfile *df)
{
  if (df == NULL)
    return;
  for (size_t i = 0; i < df->n_instructions; i++)
    cb_instruction_release (&df->instructions[i]);
  free (df->instructions);
  free (df->syntax);
  free (df->check);
  free (df);
}

static struct cb_instruction *
new_instruction (struct cb_dockerfile *df, size_t *cap, cbuild_error *err)
{
  if (df->n_instructions == *cap)
    {
      size_t grown = *cap ? *cap * 2 : 16;
      struct cb_instruction *p = realloc (df->instructions, grown * sizeof *p);
      if (p == NULL)
        {
          cb_error_nomem (err);
          return NULL;
        }
      df->instructions = p;
      *cap = grown;
    }
  memset (&df->instructions[df->n_instructions], 0, sizeof *df->instructions);
  return &df->instructions[df->n_instructions++];
}

/* BuildKit stores an ONBUILD trigger with its heredoc bodies after it. */
static int
append_to_trigger (struct cb_instruction *onbuild, const struct cb_heredoc *doc, cbuild_error *err)
{
  char *expr = NULL;

  if (asprintf (&expr, "%s\n%s%s", onbuild->args[0], doc->content, doc->name) < 0)
    return cb_error_nomem (err);
  free (onbuild->args[0]);
  onbuild->args[0] = expr;
  return 0;
}

static int
read_heredocs (struct cb_df_reader *r, struct cb_instruction *ins, const char *line, cbuild_error *err)
{
  struct cb_instruction *target = cb_df_heredoc_target (ins);
  struct cb_df_site opener = { .line = ins->line, .last_line = r->line, .subject = "<<" };

  if (target == NULL || strstr (line, "<<") == NULL)
    return 0;
  if (cb_heredocs_from_line (line, &target->heredocs, &target->n_heredocs, err) < 0)
    return cb_df_error_at (r, &opener, err);
  for (size_t i = 0; i < target->n_heredocs; i++)
    {
      if (cb_df_read_heredoc (r, &target->heredocs[i], &opener, err) < 0)
        return -1;
      if (target != ins && append_to_trigger (ins, &target->heredocs[i], err) < 0)
        return -1;
    }
  return 0;
}

static void
set_end_line (struct cb_instruction *ins, int end_line)
{
  for (; ins; ins = ins->next)
    ins->end_line = end_line;
}

/* Only ARG may come before the first FROM, as in BuildKit. */
static int
check_stage_order (const struct cb_df_reader *r, const struct cb_instruction *ins, bool *in_stage,
                   cbuild_error *err)
{
  struct cb_df_site site = { .line = ins->line, .last_line = ins->line };
  char upper_keyword[16];
  size_t i;

  if (strcmp (ins->cmd, "from") == 0)
    *in_stage = true;
  if (*in_stage || strcmp (ins->cmd, "arg") == 0)
    return 0;
  for (i = 0; ins->cmd[i] && i + 1 < sizeof upper_keyword; i++)
    upper_keyword[i] = (char) toupper ((unsigned char) ins->cmd[i]);
  upper_keyword[i] = '\0';
  cb_error_set (err, CBUILD_ERR_PARSE,
                "no build stage in current context: %s must come after FROM (only ARG may come before it)",
                upper_keyword);
  return cb_df_error_at (r, &site, err);
}

static int
parse_instructions (struct cb_df_reader *r, struct cb_dockerfile *df, cbuild_error *err)
{
  cleanup_buf struct cb_buf line = CB_BUF_INIT;
  size_t cap = 0;
  bool in_stage = false;

  cb_buf_init (&line, CB_DOCKERFILE_MAX_INSTRUCTION);
  for (;;)
    {
      struct cb_df_site site = { 0 };
      struct cb_df_line l = { .file = r->file, .site = &site };
      struct cb_instruction *ins;
      bool found;

      if (cb_df_read_logical (r, &line, &l.line, &found, err) < 0)
        return -1;
      if (!found)
        return 0;
      site.line = l.line;
      site.last_line = r->line;
      if (df->n_instructions >= CB_DOCKERFILE_MAX_INSTRUCTIONS)
        {
          cb_error_set (err, CBUILD_ERR_PARSE, "too many instructions (maximum %d)", CB_DOCKERFILE_MAX_INSTRUCTIONS);
          return cb_df_error_at (r, &site, err);
        }
      if ((ins = new_instruction (df, &cap, err)) == NULL)
        return -1;
      l.text = cb_buf_str (&line);
      l.end_line = r->line;
      l.escape = r->directives.escape;
      ins->empty_continuation = r->empty_continuation;
      if (cb_df_parse_instruction (&l, ins, err) < 0)
        return err && err->code == CBUILD_ERR_PARSE ? cb_df_error_at (r, &site, err) : -1;
      if (read_heredocs (r, ins, l.text, err) < 0)
        return -1;
      set_end_line (ins, r->line);
      if (check_stage_order (r, ins, &in_stage, err) < 0)
        return -1;
    }
}

static void
take_directives (struct cb_df_reader *r, struct cb_dockerfile *df)
{
  df->escape = r->directives.escape;
  df->syntax = r->directives.syntax;
  df->check = r->directives.check;
  r->directives.syntax = NULL;
  r->directives.check = NULL;
}

int
cb_dockerfile_parse (const char *text, size_t len, const char *name, struct cb_dockerfile **out,
                     cbuild_error *err)
{
  struct cb_df_reader r = { .file = name ? name : "Dockerfile", .text = text, .len = len };
  struct cb_dockerfile *df;

  *out = NULL;
  r.directives.escape = '\\';
  if (len > CB_DOCKERFILE_MAX_SIZE)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s: file too large (%zu bytes, maximum %zu)", r.file, len,
                         CB_DOCKERFILE_MAX_SIZE);
  df = calloc (1, sizeof *df);
  if (df == NULL)
    return cb_error_nomem (err);
  if (parse_instructions (&r, df, err) < 0)
    goto fail;
  if (df->n_instructions == 0)
    {
      cb_error_set (err, CBUILD_ERR_PARSE, "%s: file with no instructions", r.file);
      goto fail;
    }
  take_directives (&r, df);
  *out = df;
  return 0;

fail:
  free (r.directives.syntax);
  free (r.directives.check);
  cb_dockerfile_free (df);
  return -1;
}
