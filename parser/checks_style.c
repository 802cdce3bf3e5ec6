/* Build checks that read the parse tree alone: empty continuation lines,
 * MAINTAINER, the casing of keywords and stage names, and stage names
 * that repeat or are reserved. BuildKit runs them on every stage. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/checks_internal.h"

static bool
all_lower (const char *s)
{
  for (; *s; s++)
    if (isupper ((unsigned char) *s))
      return false;
  return true;
}

static bool
all_upper (const char *s)
{
  for (; *s; s++)
    if (islower ((unsigned char) *s))
      return false;
  return true;
}

static size_t
count_lines (const char *s)
{
  size_t n = 0;

  for (; *s; s++)
    n += *s == '\n';
  return n;
}

/* The last line before the heredoc bodies, where BuildKit's parser puts
 * its warning. Every body line ends in a newline, and the delimiter line
 * follows the body. */
static int
continuation_end (const struct cb_instruction *ins)
{
  const struct cb_instruction *target = ins->next ? ins->next : ins;
  int line = ins->end_line;

  for (size_t i = 0; i < target->n_heredocs; i++)
    line -= (int) count_lines (target->heredocs[i].content) + 1;
  return line;
}

/* FROM image AS name: BuildKit checks "AS" only when FROM itself is all
 * lower or all upper case, because ConsistentInstructionCasing reports a
 * mixed-case FROM already. */
static int
check_from_casing (struct check_run *run, const struct cb_instruction *ins)
{
  const char *as, *name;

  if (ins->n_args != 3)
    return 0;
  as = ins->args[1];
  name = ins->args[2];
  if (!all_lower (name) && check_report (run, RULE_STAGE_NAME_CASING, ins->line, "Stage name '%s' should be lowercase",
                                         name) < 0)
    return -1;
  if (all_lower (ins->keyword) ? all_lower (as) : !all_upper (ins->keyword) || all_upper (as))
    return 0;
  return check_report (run, RULE_FROM_AS_CASING, ins->line, "'%s' and '%s' keywords' casing do not match", as,
                       ins->keyword);
}

int
check_parse_rules (struct check_run *run)
{
  const struct cb_dockerfile *df = run->df;

  /* BuildKit's parser reports these before anything else is checked. */
  for (size_t i = 0; i < df->n_instructions; i++)
    if (df->instructions[i].empty_continuation
        && check_report (run, RULE_NO_EMPTY_CONTINUATION, continuation_end (&df->instructions[i]),
                         "Empty continuation line") < 0)
      return -1;
  for (size_t i = 0; i < df->n_instructions; i++)
    {
      const struct cb_instruction *ins = &df->instructions[i];

      if (strcmp (ins->cmd, "maintainer") == 0
          && check_report (run, RULE_MAINTAINER_DEPRECATED, ins->line,
                           "Maintainer instruction is deprecated in favor of using label") < 0)
        return -1;
      if (strcmp (ins->cmd, "from") == 0 && check_from_casing (run, ins) < 0)
        return -1;
    }
  return 0;
}

int
check_stage_names (struct check_run *run)
{
  for (size_t i = 0; i < run->n_stages; i++)
    {
      const struct check_stage *st = &run->stages[i];
      cleanup_free char *quoted = NULL;
      bool duplicate = false;

      if (st->name == NULL)
        continue;
      quoted = check_quote (st->name);
      if (quoted == NULL)
        return cb_error_nomem (run->err);
      if ((strcmp (st->name, "context") == 0 || strcmp (st->name, "scratch") == 0)
          && check_report (run, RULE_RESERVED_STAGE_NAME, st->from->line,
                           "Stage name should not use the same name as reserved stage %s", quoted) < 0)
        return -1;
      for (size_t j = 0; j < i && !duplicate; j++)
        duplicate = run->stages[j].name && strcmp (run->stages[j].name, st->name) == 0;
      if (duplicate
          && check_report (run, RULE_DUPLICATE_STAGE_NAME, st->from->line,
                           "Duplicate stage name %s, stage names should be unique", quoted) < 0)
        return -1;
    }
  return 0;
}

/* Every keyword from the first FROM on counts towards the majority: the
 * ARGs before it do not, as BuildKit keeps them out of its stages. A tie
 * goes to upper case. */
int
check_instruction_casing (struct check_run *run)
{
  const struct cb_dockerfile *df = run->df;
  size_t lower = 0, upper = 0;
  bool majority_lower;

  for (size_t i = run->first_from; i < df->n_instructions; i++)
    {
      const char *kw = df->instructions[i].keyword;

      lower += all_lower (kw);
      upper += all_upper (kw);
    }
  majority_lower = lower > upper;
  for (size_t i = run->first_from; i < df->n_instructions; i++)
    {
      const struct cb_instruction *ins = &df->instructions[i];
      bool wrong = majority_lower ? !all_lower (ins->keyword) : !all_upper (ins->keyword);

      if (wrong
          && check_report (run, RULE_CONSISTENT_INSTRUCTION_CASING, ins->line,
                           "Command '%s' should match the case of the command majority (%s)", ins->keyword,
                           majority_lower ? "lowercase" : "uppercase") < 0)
        return -1;
    }
  return 0;
}
