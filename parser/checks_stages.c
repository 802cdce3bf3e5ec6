/* The stages of a Dockerfile as BuildKit's frontend reads them: names, the
 * stage each one starts from, and which stages a target needs. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/checks_internal.h"

static char *
lower_copy (const char *s)
{
  char *copy = strdup (s);

  for (char *p = copy; p && *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  return copy;
}

int
check_stages_init (struct check_run *run)
{
  const struct cb_dockerfile *df = run->df;
  size_t n = 0;

  for (size_t i = 0; i < df->n_instructions; i++)
    n += strcmp (df->instructions[i].cmd, "from") == 0;
  run->first_from = df->n_instructions;
  if (n == 0)
    {
      /* "dockerfile contains no stages to build" in BuildKit. */
      run->stopped = true;
      return 0;
    }
  run->stages = calloc (n, sizeof *run->stages);
  if (run->stages == NULL)
    return cb_error_nomem (run->err);
  for (size_t i = 0; i < df->n_instructions; i++)
    {
      const struct cb_instruction *ins = &df->instructions[i];
      struct check_stage *st;

      if (strcmp (ins->cmd, "from") != 0)
        continue;
      if (run->n_stages == 0)
        run->first_from = i;
      else
        run->stages[run->n_stages - 1].end = i;
      st = &run->stages[run->n_stages++];
      st->from = ins;
      st->first = i;
      st->end = df->n_instructions;
      st->parent = -1;
      if (ins->n_args == 3 && (st->name = lower_copy (ins->args[2])) == NULL)
        return cb_error_nomem (run->err);
    }
  return 0;
}

static void
stage_state_release (struct stage_state *st)
{
  cb_strv_release (&st->env);
  cb_strv_release (&st->args);
}

void
check_stages_release (struct check_run *run)
{
  for (size_t i = 0; i < run->n_stages; i++)
    {
      free (run->stages[i].name);
      free (run->stages[i].base);
      stage_state_release (&run->stages[i].state);
    }
  free (run->stages);
  run->stages = NULL;
  run->n_stages = 0;
  cb_strv_release (&run->global_args);
  cb_strv_release (&run->global_names);
}

/* The stage named name (compared without regard to case), or -1. A later
 * stage of the same name hides an earlier one, as in BuildKit's map of
 * stage names. */
static ssize_t
find_stage (const struct check_run *run, const char *name)
{
  for (size_t i = run->n_stages; i-- > 0;)
    if (run->stages[i].name && strcasecmp (run->stages[i].name, name) == 0)
      return (ssize_t) i;
  return -1;
}

/* Go's strconv.Atoi, which decides whether COPY --from names an index. */
static bool
parse_index (const char *s, long *out)
{
  char *end;

  if (*s == '\0' || isspace ((unsigned char) *s))
    return false;
  errno = 0;
  *out = strtol (s, &end, 10);
  return *end == '\0' && errno == 0;
}

struct stage_stack
{
  size_t *items;
  size_t len;
};

static void
push_stage (struct check_run *run, struct stage_stack *stack, ssize_t i)
{
  if (i < 0 || run->stages[i].reachable)
    return;
  run->stages[i].reachable = true;
  stack->items[stack->len++] = (size_t) i;
}

/* The stage that COPY --from or RUN --mount from= names, or -1 for an
 * image. An index out of range stops the checks, as it fails the build. */
static ssize_t
source_stage (struct check_run *run, const char *from)
{
  long index;

  if (!parse_index (from, &index))
    return find_stage (run, from);
  if (index < 0 || (size_t) index >= run->n_stages)
    {
      run->stopped = true;
      return -1;
    }
  return index;
}

static void
push_sources (struct check_run *run, struct stage_stack *stack, const struct cb_instruction *ins)
{
  const char *from;

  if (strcmp (ins->cmd, "copy") == 0 && (from = cb_instruction_flag (ins, "from")) != NULL && *from)
    push_stage (run, stack, source_stage (run, from));
  if (strcmp (ins->cmd, "run") != 0)
    return;
  for (size_t i = 0; i < ins->n_flags; i++)
    {
      struct cb_run_mount mount;

      if (strncmp (ins->flags[i], "--mount=", 8) != 0 || cb_run_mount_parse (ins->flags[i] + 8, &mount, NULL) < 0)
        continue;
      /* BuildKit looks a mount without from= up as "scratch". */
      push_stage (run, stack, find_stage (run, mount.from ? mount.from : "scratch"));
      cb_run_mount_release (&mount);
    }
}

/* The stages a stage needs: the one it starts from, and the sources of
 * its instructions and of the ONBUILD triggers it inherits. */
static void
push_needs (struct check_run *run, struct stage_stack *stack, size_t i)
{
  const struct check_stage *st = &run->stages[i];
  const struct check_stage *parent = st->parent >= 0 ? &run->stages[st->parent] : NULL;

  push_stage (run, stack, st->parent);
  for (size_t k = st->first + 1; k < st->end; k++)
    push_sources (run, stack, &run->df->instructions[k]);
  for (size_t k = parent ? parent->first + 1 : 0; parent && k < parent->end; k++)
    if (run->df->instructions[k].next)
      push_sources (run, stack, run->df->instructions[k].next);
}

/* Marks the stages that the target needs. An unknown --target stops the
 * checks, as it fails the build. */
int
check_mark_reachable (struct check_run *run)
{
  struct stage_stack stack = { 0 };
  ssize_t target = (ssize_t) run->n_stages - 1;

  if (run->opts->target && *run->opts->target)
    target = find_stage (run, run->opts->target);
  if (target < 0)
    {
      run->stopped = true;
      return 0;
    }
  stack.items = calloc (run->n_stages, sizeof *stack.items);
  if (stack.items == NULL)
    return cb_error_nomem (run->err);
  push_stage (run, &stack, target);
  while (stack.len > 0)
    push_needs (run, &stack, stack.items[--stack.len]);
  free (stack.items);
  return 0;
}

char *
check_arg_word (const char *word, const char **value)
{
  const char *eq = strchr (word, '=');

  *value = eq ? eq + 1 : NULL;
  return strndup (word, eq ? (size_t) (eq - word) : strlen (word));
}

const char *
check_build_arg (const struct check_run *run, const char *name)
{
  return run->opts->build_args ? cb_env_get (run->opts->build_args, name) : NULL;
}
