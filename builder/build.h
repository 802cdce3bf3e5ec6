/* State of one cbuild_build call, shared by the instruction handlers. */
#ifndef CBUILD_BUILDER_BUILD_H
#define CBUILD_BUILDER_BUILD_H

#include <stdbool.h>

#include "builder/image.h"
#include "builder/options.h"
#include "parser/dockerfile.h"
#include "parser/dockerignore.h"
#include "registry/client.h"

struct cb_stage
{
  char *name;        /* lower-case "AS" name, or NULL */
  size_t first;      /* index of the stage's FROM instruction */
  size_t end;        /* one past its last instruction */
  bool built;
  struct cb_image image;
  struct cb_strv args; /* ARGs in scope with a value: "NAME=value" */
  bool cmd_set;        /* CMD was given in this stage, so ENTRYPOINT keeps it */
};

struct cb_build
{
  const cbuild_build_options *opts;
  const struct cb_logger *log;
  struct cb_store *store;
  struct cb_registry *registry;
  struct cb_platform platform;
  char *runtime; /* detected at the first RUN */
  struct cb_dockerfile *df;
  const char *dockerfile_name; /* for messages: "Dockerfile" */
  struct cb_ignore *ignore;
  char *context_dir; /* canonical path */
  char *work_dir;    /* ROOT/tmp/build-XXXXXX: mounts and bundles */
  int work_lock_fd;  /* flock on work_dir/.lock while the build runs */
  struct cb_strv global_args; /* ARGs before the first FROM: "NAME=value" */
  struct cb_strv used_args;   /* names of build args some ARG consumed */
  struct cb_stage *stages;
  size_t n_stages;
  int step;        /* the step being run, 1-based */
  int total_steps;
  unsigned scratch_counter; /* names of directories under work_dir */
};

/* The "Dockerfile:LINE" prefix of messages about ins. */
int cb_build_error_at (struct cb_build *b, const struct cb_instruction *ins, cbuild_error *err);

/* Fills env with what variable substitution sees in the stage: its ARGs,
 * overridden by the image's Env. */
int cb_stage_expand_env (struct cb_stage *st, struct cb_strv *env, cbuild_error *err);

/* Adds the proxy build args (HTTP_PROXY and the like), which reach RUN
 * without an ARG line, to env unless it sets them already. */
int cb_stage_proxy_env (struct cb_build *b, struct cb_strv *env, cbuild_error *err);

/* The creation time of a history entry (RFC 3339, UTC); malloc'd. */
char *cb_build_timestamp (void);

/* Instruction handlers (dispatch.c, step_fs.c, from.c). */
int cb_dispatch_instruction (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                             cbuild_error *err);
int cb_step_run (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err);
int cb_step_copy (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, bool is_add,
                  cbuild_error *err);
int cb_step_workdir (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                     cbuild_error *err);
int cb_stage_from (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err);
int cb_stage_arg (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err);
int cb_build_global_arg (struct cb_build *b, const struct cb_instruction *ins, cbuild_error *err);

/* The argument vector of a RUN, CMD or ENTRYPOINT: exec form as written,
 * shell form through the stage's SHELL (default /bin/sh -c). */
int cb_stage_command_args (struct cb_stage *st, const struct cb_instruction *ins, struct cb_strv *argv,
                           cbuild_error *err);
int cb_dispatch_healthcheck (struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err);

/* Builds the stage (once) that a FROM or --from names. */
int cb_build_stage (struct cb_build *b, struct cb_stage *st, cbuild_error *err);
/* Finds a stage by name or index that is defined before position limit. */
struct cb_stage *cb_build_find_stage (struct cb_build *b, const char *name, size_t limit);

#endif
