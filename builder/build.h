/* State of one cbuild_build call, shared by the instruction handlers.
 *
 * Stages run in worker threads (builder/schedule.c). Each worker gets its
 * own struct cb_build: a shallow copy of the build's, whose per-worker
 * fields (marked below) are reset for the stage it runs. Every other field
 * is shared by all workers and must not change while stages run, unless it
 * points to state with its own lock, as shared does. */
#ifndef CBUILD_BUILDER_BUILD_H
#define CBUILD_BUILDER_BUILD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "builder/file_digests.h"
#include "builder/image.h"
#include "builder/options.h"
#include "parser/dockerfile.h"
#include "parser/dockerignore.h"
#include "registry/client.h"

enum cb_stage_state
{
  CB_STAGE_PENDING,
  CB_STAGE_RUNNING,
  CB_STAGE_DONE,
  CB_STAGE_FAILED,
};

struct cb_stage
{
  char *name;        /* lower-case "AS" name, or NULL */
  char *label;       /* the name, or "stage-N": the prefix of its log lines */
  size_t first;      /* index of the stage's FROM instruction */
  size_t end;        /* one past its last instruction */
  enum cb_stage_state state; /* under shared->lock */
  struct cb_image image;
  struct cb_strv args; /* ARGs in scope with a value: "NAME=value" */
  bool cmd_set;        /* CMD was given in this stage, so ENTRYPOINT keeps it */
  /* The build cache's chain key: set by FROM to the base image's manifest
   * digest ("scratch" for FROM scratch, the base stage's key for FROM a
   * stage), then to the key of each file-system step. */
  char cache_parent[CB_DIGEST_SIZE];
  /* The keys of the file-system steps built or taken from the cache, in
   * order, and the chain key before the first: what --cache-to exports. */
  struct cb_strv cache_keys;
  char cache_origin[CB_DIGEST_SIZE];
  struct cb_platform platform; /* FROM --platform, else the target's */
  char *platform_text;         /* owns the strings platform points to */
  size_t *deps;  /* indices of the stages FROM, COPY --from or RUN --mount from= name */
  size_t n_deps;
  bool needed;   /* the target stage depends on it (or is it) */
  bool has_run;  /* it has a RUN instruction, so its platform must be runnable */
  pthread_t thread;
  bool has_thread; /* thread was started and is joined at the end */
};

struct cb_source_image;
struct cb_remote_cache;

/* State that the workers of one build share. */
struct cb_build_shared
{
  pthread_mutex_t lock;    /* stage states, used_args, running, failed */
  pthread_cond_t changed;  /* broadcast when a stage ends or the build fails */
  pthread_mutex_t log_lock; /* one call of the caller's log callback at a time */
  /* The registry client has one CURL handle and an unlocked token cache,
   * so pulls take turns. Also guards source_images. */
  pthread_mutex_t registry_lock;
  pthread_mutex_t runtime_lock; /* the runtime is detected once, at the first RUN */
  atomic_bool cancelled;   /* a stage failed: the others stop before their next step */
  int jobs;                /* stages run at the same time, at most */
  int running;             /* worker threads started and not yet ended */
  bool failed;
  cbuild_error first_error; /* the failure reported for the build */
  const struct cb_logger *caller_log; /* the callback in the build options */
  struct cb_logger log;     /* passes lines to caller_log, one call at a time */
  struct cb_logger registry_log; /* the registry client's: adds pull_label */
  const char *pull_label;   /* the stage pulling, under registry_lock; or NULL */
  struct cb_strv used_args; /* names of build args some ARG consumed */
  const char *work_dir;     /* the build's work directory; each stage gets a subdirectory */
  char *runtime;            /* detected runtime, or NULL */
  bool runtime_tried;
  cbuild_error runtime_error; /* why detection failed, repeated to each stage */
  struct cb_source_image *source_images; /* images COPY --from pulled */
  struct cb_file_digests *file_digests; /* context file digests, for COPY keys */
  atomic_int steps_run;    /* file-system steps executed */
  atomic_int steps_cached; /* file-system steps taken from the cache */
};

struct cb_build
{
  const cbuild_build_options *opts;
  const struct cb_logger *log; /* per worker: adds the stage label */
  struct cb_store *store;
  struct cb_registry *registry; /* use under shared->registry_lock */
  struct cb_platform platform;  /* the target platform: --platform, else the host's */
  char *platform_text;          /* owns the strings platform points to */
  struct cb_strv platform_args; /* BUILDPLATFORM, TARGETARCH, ...: "NAME=value" */
  struct cb_dockerfile *df;
  char *dockerfile_name; /* for messages: "Dockerfile" */
  struct cb_ignore *ignore;
  char *context_dir; /* canonical path */
  int work_lock_fd;
  int state_lock_fd; /* shared flock on ROOT/.lock while the build runs */  /* flock on work_dir/.lock while the build runs */
  struct cb_strv global_args; /* ARGs before the first FROM: "NAME=value" */
  struct cb_stage *stages;
  size_t n_stages;
  struct cb_build_shared *shared;
  struct cb_remote_cache *remote_cache; /* entries of --cache-from, or NULL */

  /* Per worker. */
  struct cb_stage *stage;   /* the stage this worker builds, or NULL */
  struct cb_logger stage_log;
  char *work_dir;    /* ROOT/tmp/build-XXXXXX[/stage-N]: mounts and bundles */
  int step;          /* the step being run, 1-based within the stage */
  int total_steps;   /* steps of the stage, ONBUILD triggers included */
  unsigned scratch_counter; /* names of directories under work_dir */
  char *runtime;     /* borrowed from shared->runtime */
};

/* Detects the OCI runtime at the first RUN that executes (a build whose
 * RUN steps all come from the cache never starts one). Later calls, from
 * any stage, get the same runtime or the same error. */
int cb_build_runtime (struct cb_build *b, cbuild_error *err);

/* Runs the build checks and logs their warnings. Fails when the check
 * directive sets error=true and a check fired, and in --check mode when
 * any check fired. */
int cb_build_run_checks (struct cb_build *b, cbuild_error *err);

/* The "Dockerfile:LINE" prefix of messages about ins. */
int cb_build_error_at (struct cb_build *b, const struct cb_instruction *ins, cbuild_error *err);

/* Fills env with the variables that substitution uses in the stage: its
 * ARGs, overridden by the image's Env. */
int cb_stage_expand_env (struct cb_stage *st, struct cb_strv *env, cbuild_error *err);

/* Adds the proxy build args (HTTP_PROXY and the like), which reach RUN
 * without an ARG line, to env unless it sets them already. */
int cb_stage_proxy_env (struct cb_build *b, struct cb_strv *env, cbuild_error *err);

/* The creation time of a history entry (RFC 3339, UTC); malloc'd. */
char *cb_build_timestamp (const struct cb_build *b);

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

/* Splits the instructions into the global ARGs and the stages, and checks
 * that stage names are unique. */
int cb_build_split_stages (struct cb_build *b, cbuild_error *err);
/* Finds a stage by name or index that is defined before position limit. */
struct cb_stage *cb_build_find_stage (struct cb_build *b, const char *name, size_t limit);

/* The variables FROM lines and --from values see: the platform ARGs,
 * overridden by the global ARGs. */
int cb_build_global_env (struct cb_build *b, struct cb_strv *env, cbuild_error *err);

/* Graph (stage_graph.c): fills each stage's deps, marks the stages that
 * target needs, and logs one line for each stage it skips. */
int cb_graph_plan (struct cb_build *b, struct cb_stage *target, cbuild_error *err);

/* Scheduler (schedule.c). */
int cb_build_shared_init (struct cb_build_shared *sh, const cbuild_build_options *opts, cbuild_error *err);
void cb_build_shared_release (struct cb_build_shared *sh);
/* Builds the needed stages, independent ones at the same time (up to
 * shared->jobs), until target is done or one fails. On failure err gets
 * the first failing stage's error, prefixed by the stage and step. */
int cb_build_run (struct cb_build *b, struct cb_stage *target, cbuild_error *err);
/* Returns once stage st is built: at once when it is done, after waiting
 * when another worker builds it, else by building it in this thread. */
int cb_build_stage (struct cb_build *b, struct cb_stage *st, cbuild_error *err);
/* Called before each step: fails once the build was cancelled, and makes
 * sure a RUN step has a runtime (detected once per build). */
int cb_build_begin_step (struct cb_build *b, const struct cb_instruction *ins, cbuild_error *err);

/* Platforms (platform_args.c). */
/* Sets b->platform from the --platform option, when given. */
int cb_build_set_target_platform (struct cb_build *b, cbuild_error *err);
/* Fills b->platform_args from b->platform and the host's platform. */
int cb_build_platform_args (struct cb_build *b, cbuild_error *err);
/* Sets st->platform from FROM's --platform flag (expanded with the global
 * environment), or to the target platform. */
int cb_stage_set_platform (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *from,
                           cbuild_error *err);
/* Fails, saying how to fix it, when commands for platform p cannot run
 * here: it differs from the host's and no binfmt_misc emulator is enabled
 * for it. binfmt_dir is normally /proc/sys/fs/binfmt_misc. */
int cb_platform_check_runnable (const struct cb_platform *p, const char *binfmt_dir, cbuild_error *err);

/* Sources of COPY --from (source_image.c). */
/* Returns the image that --from names in stage st: an earlier stage (built
 * first when needed) or an image reference (pulled for the stage's
 * platform, once per build). The image stays owned by the build. from is
 * expanded with the global environment first, as BuildKit does. When
 * cache_key is not NULL it receives what identifies the content for the
 * build cache: the stage's chain key, or the image's manifest digest. */
struct cb_image *cb_build_source_image (struct cb_build *b, struct cb_stage *st, const char *from,
                                        const char **cache_key, cbuild_error *err);
/* Returns the image name refers to, pulled for st's platform when this
 * build did not pull it yet. The image stays owned by the build;
 * manifest_digest (may be NULL) receives its manifest's digest. */
struct cb_image *cb_build_pull_image (struct cb_build *b, struct cb_stage *st, const char *name,
                                      const char **manifest_digest, cbuild_error *err);
/* Makes the mount at path read-only, so that a copy source stays as it is. */
int cb_mount_make_readonly (const char *path, cbuild_error *err);
void cb_source_images_free (struct cb_source_image *list);

#endif
