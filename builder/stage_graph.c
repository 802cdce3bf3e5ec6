/* The dependency graph of the stages: the stages each one names in FROM,
 * COPY --from and RUN --mount from=, and which of them the target needs.
 * Names are resolved as the steps resolve them, so that a stage runs only
 * after everything it copies from. */
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "parser/expand.h"

static int
add_dep (struct cb_stage *st, size_t dep, cbuild_error *err)
{
  size_t *grown;

  for (size_t i = 0; i < st->n_deps; i++)
    if (st->deps[i] == dep)
      return 0;
  grown = realloc (st->deps, (st->n_deps + 1) * sizeof *grown);
  if (grown == NULL)
    return cb_error_nomem (err);
  st->deps = grown;
  st->deps[st->n_deps++] = dep;
  return 0;
}

/* Adds the stage that word names, after expanding the global ARGs in it,
 * as BuildKit expands FROM and --from. A word that does not expand, or
 * names an image, adds nothing: the step reports what is wrong with it. */
static int
add_named_dep (struct cb_build *b, const struct cb_strv *env, struct cb_stage *st, const char *word,
               bool expand, cbuild_error *err)
{
  cleanup_free char *name = NULL;
  cbuild_error ignored = { 0 };
  struct cb_stage *dep;

  if (!expand)
    name = strdup (word);
  else if (cb_expand_word (word, b->df->escape, env, &name, &ignored) < 0)
    return 0;
  if (name == NULL)
    return cb_error_nomem (err);
  dep = cb_build_find_stage (b, name, st->first);
  if (dep == NULL || dep == st)
    return 0;
  return add_dep (st, (size_t) (dep - b->stages), err);
}

/* The from= field of a RUN --mount value (malloc'd), or NULL. The step
 * parses the whole value, and a quoted field is not taken as a stage name
 * here. */
static char *
mount_from (const char *spec)
{
  const char *p = spec;

  while (*p)
    {
      size_t n = strcspn (p, ",");

      if (n > 5 && strncmp (p, "from=", 5) == 0)
        return strndup (p + 5, n - 5);
      p += n;
      if (*p == ',')
        p++;
    }
  return NULL;
}

static int
add_mount_deps (struct cb_build *b, const struct cb_strv *env, struct cb_stage *st,
                const struct cb_instruction *ins, cbuild_error *err)
{
  for (size_t i = 0; i < ins->n_flags; i++)
    {
      cleanup_free char *from = NULL;

      if (strncmp (ins->flags[i], "--mount=", 8) != 0)
        continue;
      from = mount_from (ins->flags[i] + 8);
      /* BuildKit takes from= as written, without expanding variables. */
      if (from && add_named_dep (b, env, st, from, false, err) < 0)
        return -1;
    }
  return 0;
}

static int
find_deps (struct cb_build *b, const struct cb_strv *env, struct cb_stage *st, cbuild_error *err)
{
  for (size_t i = st->first; i < st->end; i++)
    {
      const struct cb_instruction *ins = &b->df->instructions[i];
      const char *from = NULL;

      if (strcmp (ins->cmd, "from") == 0 && ins->n_args > 0)
        from = ins->args[0];
      else if (strcmp (ins->cmd, "copy") == 0)
        from = cb_instruction_flag (ins, "from");
      else if (strcmp (ins->cmd, "run") == 0 && add_mount_deps (b, env, st, ins, err) < 0)
        return -1;
      if (from && add_named_dep (b, env, st, from, true, err) < 0)
        return -1;
    }
  return 0;
}

int
cb_graph_plan (struct cb_build *b, struct cb_stage *target, cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;
  size_t target_index = (size_t) (target - b->stages);

  if (cb_build_global_env (b, &env, err) < 0)
    return -1;
  for (size_t i = 0; i < b->n_stages; i++)
    if (find_deps (b, &env, &b->stages[i], err) < 0)
      return -1;

  /* Dependencies always come earlier in the file, so one pass from the
   * target back to the first stage reaches all of them. */
  target->needed = true;
  for (size_t i = target_index + 1; i-- > 0;)
    if (b->stages[i].needed)
      for (size_t k = 0; k < b->stages[i].n_deps; k++)
        b->stages[b->stages[i].deps[k]].needed = true;

  for (size_t i = 0; i < b->n_stages; i++)
    if (!b->stages[i].needed)
      cb_log (b->log, CBUILD_LOG_INFO, "skipping stage '%s': the target stage '%s' does not depend on it",
              b->stages[i].label, target->label);
  return 0;
}
