/* Fuzz target: the Dockerfile parser, its JSON dump, its lookups and the
 * build checks. */
#include <stdint.h>
#include <stdlib.h>

#include "parser/checks.h"
#include "parser/dockerfile.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
visit (const struct cb_instruction *ins)
{
  struct cb_run_mount mount;

  for (size_t i = 0; i < ins->n_args; i++)
    (void) cb_instruction_heredoc_for_arg (ins, ins->args[i]);
  for (size_t i = 0; i < ins->n_flags; i++)
    {
      cbuild_error err = { 0 };
      (void) cb_instruction_flag (ins, ins->flags[i]);
      if (cb_run_mount_parse (ins->flags[i], &mount, &err) == 0)
        cb_run_mount_release (&mount);
    }
  if (ins->next)
    visit (ins->next);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };
  char *json;

  if (cb_dockerfile_parse ((const char *) data, size, "Dockerfile", &df, &err) < 0)
    return 0;
  for (size_t i = 0; i < df->n_instructions; i++)
    visit (&df->instructions[i]);
  json = cb_dockerfile_to_json (df);
  free (json);
  {
    struct cb_check_result res;
    if (cb_dockerfile_check (df, NULL, &res, &err) == 0)
      cb_check_result_release (&res);
  }
  cb_dockerfile_free (df);
  return 0;
}
