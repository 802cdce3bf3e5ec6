/* Running the stages of a build. Each needed stage runs in a worker thread
 * of its own once the stages it depends on are done, at most jobs at a
 * time. A failed stage cancels the build: the other workers stop before
 * their next step, and the first failure is the one reported. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/build.h"
#include "builder/runtime.h"
#include "common/error.h"
#include "common/fs.h"

/* cb_log formats lines into 4096 bytes, so this leaves room for the label. */
#define STAGE_LINE_MAX (4096 + 256)

struct worker_start
{
  struct cb_build *b;
  struct cb_stage *st;
};

static void
locked_log (void *user_data, int level, const char *message)
{
  struct cb_build_shared *sh = user_data;

  pthread_mutex_lock (&sh->log_lock);
  if (sh->caller_log->fn)
    sh->caller_log->fn (sh->caller_log->user_data, level, message);
  pthread_mutex_unlock (&sh->log_lock);
}

/* The length of a leading "[N/M]", or 0 when message has none. */
static size_t
step_prefix_len (const char *message)
{
  size_t n = 1, digits;

  if (message[0] != '[')
    return 0;
  digits = strspn (message + n, "0123456789");
  if (digits == 0 || message[n + digits] != '/')
    return 0;
  n += digits + 1;
  digits = strspn (message + n, "0123456789");
  if (digits == 0 || message[n + digits] != ']')
    return 0;
  return n + digits + 1;
}

/* Step headers and RUN output arrive as "[N/M] text" from the step code.
 * In a multi-stage build the stage's label goes inside the brackets, as
 * BuildKit prints it ("[builder 2/5] RUN make"); other lines get
 * "[builder] " in front. */
static void
stage_log (void *user_data, int level, const char *message)
{
  const struct cb_build *b = user_data;
  char line[STAGE_LINE_MAX];

  if (b->n_stages < 2)
    {
      locked_log (b->shared, level, message);
      return;
    }
  if (step_prefix_len (message) > 0)
    snprintf (line, sizeof line, "[%s %s", b->stage->label, message + 1);
  else
    snprintf (line, sizeof line, "[%s] %s", b->stage->label, message);
  locked_log (b->shared, level, line);
}

/* The registry client's lines: "[builder] pulling ..." while a stage of a
 * multi-stage build pulls, unlabeled otherwise (during a push, say). */
static void
registry_log (void *user_data, int level, const char *message)
{
  struct cb_build_shared *sh = user_data;
  char line[STAGE_LINE_MAX];

  if (sh->pull_label == NULL)
    {
      locked_log (sh, level, message);
      return;
    }
  snprintf (line, sizeof line, "[%s] %s", sh->pull_label, message);
  locked_log (sh, level, line);
}

static int
online_cpus (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);

  if (n < 1)
    return 1;
  return n > INT_MAX ? INT_MAX : (int) n;
}

int
cb_build_shared_init (struct cb_build_shared *sh, const cbuild_build_options *opts, cbuild_error *err)
{
  memset (sh, 0, sizeof *sh);
  if (pthread_mutex_init (&sh->lock, NULL) != 0 || pthread_cond_init (&sh->changed, NULL) != 0
      || pthread_mutex_init (&sh->log_lock, NULL) != 0 || pthread_mutex_init (&sh->registry_lock, NULL) != 0
      || pthread_mutex_init (&sh->runtime_lock, NULL) != 0)
    return cb_error_set (err, CBUILD_ERR_SYSTEM, "cannot initialize the build's locks");
  atomic_init (&sh->cancelled, false);
  sh->jobs = opts->jobs > 0 ? opts->jobs : online_cpus ();
  sh->caller_log = &opts->log;
  sh->log.fn = locked_log;
  sh->log.user_data = sh;
  sh->registry_log.fn = registry_log;
  sh->registry_log.user_data = sh;
  return 0;
}

void
cb_build_shared_release (struct cb_build_shared *sh)
{
  cb_source_images_free (sh->source_images);
  cb_strv_release (&sh->used_args);
  free (sh->runtime);
  pthread_mutex_destroy (&sh->lock);
  pthread_cond_destroy (&sh->changed);
  pthread_mutex_destroy (&sh->log_lock);
  pthread_mutex_destroy (&sh->registry_lock);
  pthread_mutex_destroy (&sh->runtime_lock);
}

int
cb_build_runtime (struct cb_build *b, cbuild_error *err)
{
  struct cb_build_shared *sh = b->shared;
  int ret = 0;

  pthread_mutex_lock (&sh->runtime_lock);
  if (!sh->runtime_tried)
    {
      sh->runtime_tried = true;
      if (cb_runtime_detect (b->opts->runtime, &sh->runtime, &sh->runtime_error) < 0)
        sh->runtime = NULL;
    }
  if (sh->runtime)
    b->runtime = sh->runtime;
  else
    {
      if (err)
        *err = sh->runtime_error;
      ret = -1;
    }
  pthread_mutex_unlock (&sh->runtime_lock);
  return ret;
}

int
cb_build_begin_step (struct cb_build *b, const struct cb_instruction *ins, cbuild_error *err)
{
  if (atomic_load (&b->shared->cancelled))
    return cb_error_set (err, CBUILD_ERR_RUN, "stopped because another stage failed");
  (void) ins;
  return 0;
}

/* Sets up view, the worker's copy of parent, to build st. */
static int
view_init (struct cb_build *view, const struct cb_build *parent, struct cb_stage *st, cbuild_error *err)
{
  size_t index = (size_t) (st - parent->stages);

  *view = *parent;
  view->stage = st;
  view->stage_log.fn = stage_log;
  view->stage_log.user_data = view;
  view->log = &view->stage_log;
  view->step = 0;
  view->total_steps = (int) (st->end - st->first);
  view->scratch_counter = 0;
  view->runtime = NULL;
  view->work_dir = NULL;
  if (asprintf (&view->work_dir, "%s/stage-%zu", parent->shared->work_dir, index) < 0)
    {
      view->work_dir = NULL;
      return cb_error_nomem (err);
    }
  if (mkdir (view->work_dir, 0700) < 0)
    return cb_error_sys (err, errno, "create '%s'", view->work_dir);
  return 0;
}

static void
view_release (struct cb_build *view)
{
  cbuild_error ignored = { 0 };

  if (view->work_dir)
    cb_remove_tree (view->work_dir, &ignored);
  free (view->work_dir);
  /* The step code detects a runtime of its own when the view has none. */
  if (view->runtime != view->shared->runtime)
    free (view->runtime);
}

static int
build_steps (struct cb_build *b, struct cb_stage *st, cbuild_error *err)
{
  const struct cb_instruction *ins = &b->df->instructions[st->first];

  if (cb_build_begin_step (b, ins, err) < 0 || cb_stage_from (b, st, ins, err) < 0)
    return -1;
  for (size_t i = st->first + 1; i < st->end; i++)
    {
      ins = &b->df->instructions[i];
      if (cb_build_begin_step (b, ins, err) < 0 || cb_dispatch_instruction (b, st, ins, err) < 0)
        return -1;
    }
  return 0;
}

/* Says which stage and step failed, unless the build has one stage. A RUN
 * failure names its step already. */
static void
label_failure (const struct cb_build *b, const struct cb_stage *st, cbuild_error *err)
{
  char step[64];

  if (err == NULL || b->n_stages < 2)
    return;
  snprintf (step, sizeof step, "step %d/%d", b->step, b->total_steps);
  if (b->step == 0 || strstr (err->message, step))
    cb_error_prefix (err, "stage '%s'", st->label);
  else
    cb_error_prefix (err, "stage '%s' %s", st->label, step);
}

/* Records how st ended. The first failure becomes the build's error and
 * cancels the other stages. */
static void
finish_stage (struct cb_build_shared *sh, struct cb_stage *st, int ret, const cbuild_error *err)
{
  pthread_mutex_lock (&sh->lock);
  st->state = ret < 0 ? CB_STAGE_FAILED : CB_STAGE_DONE;
  if (ret < 0 && !sh->failed)
    {
      sh->failed = true;
      if (err)
        sh->first_error = *err;
      else
        cb_error_set (&sh->first_error, CBUILD_ERR_RUN, "stage '%s' failed", st->label);
      atomic_store (&sh->cancelled, true);
    }
  pthread_cond_broadcast (&sh->changed);
  pthread_mutex_unlock (&sh->lock);
}

/* Builds st, which the caller marked CB_STAGE_RUNNING, in this thread. */
static int
run_stage (struct cb_build *parent, struct cb_stage *st, cbuild_error *err)
{
  struct cb_build view;
  int ret;

  ret = view_init (&view, parent, st, err);
  if (ret == 0)
    ret = build_steps (&view, st, err);
  if (ret < 0)
    label_failure (&view, st, err);
  finish_stage (parent->shared, st, ret, err);
  view_release (&view);
  return ret;
}

int
cb_build_stage (struct cb_build *b, struct cb_stage *st, cbuild_error *err)
{
  struct cb_build_shared *sh = b->shared;
  enum cb_stage_state state;
  bool cancelled;

  pthread_mutex_lock (&sh->lock);
  while (st->state == CB_STAGE_RUNNING && !atomic_load (&sh->cancelled))
    pthread_cond_wait (&sh->changed, &sh->lock);
  state = st->state;
  cancelled = atomic_load (&sh->cancelled);
  /* A stage that no FROM or --from named statically (an ONBUILD trigger's
   * COPY --from, say) is built here, by the worker that needs it. */
  if (state == CB_STAGE_PENDING && !cancelled)
    st->state = CB_STAGE_RUNNING;
  pthread_mutex_unlock (&sh->lock);

  if (state == CB_STAGE_DONE)
    return 0;
  if (state == CB_STAGE_PENDING && !cancelled)
    return run_stage (b, st, err);
  return cb_error_set (err, CBUILD_ERR_RUN, "stage '%s' %s", st->label,
                       state == CB_STAGE_FAILED ? "failed" : "was stopped because another stage failed");
}

static void *
worker_main (void *arg)
{
  struct worker_start *w = arg;
  struct cb_build_shared *sh = w->b->shared;
  cbuild_error err = { 0 };

  run_stage (w->b, w->st, &err);
  pthread_mutex_lock (&sh->lock);
  sh->running--;
  pthread_cond_broadcast (&sh->changed);
  pthread_mutex_unlock (&sh->lock);
  free (w);
  return NULL;
}

/* Starts a worker for st. Called with shared->lock held. */
static int
start_worker (struct cb_build *b, struct cb_stage *st, cbuild_error *err)
{
  struct worker_start *w = malloc (sizeof *w);
  sigset_t all, old;
  int rc;

  if (w == NULL)
    return cb_error_nomem (err);
  w->b = b;
  w->st = st;
  /* Workers block every signal, so that signals meant for the program
   * reach its own threads; the runtime's child unblocks them again. */
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  rc = pthread_create (&st->thread, NULL, worker_main, w);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (rc != 0)
    {
      free (w);
      return cb_error_sys (err, rc, "start a thread for stage '%s'", st->label);
    }
  st->state = CB_STAGE_RUNNING;
  st->has_thread = true;
  b->shared->running++;
  return 0;
}

static bool
deps_done (const struct cb_build *b, const struct cb_stage *st)
{
  for (size_t i = 0; i < st->n_deps; i++)
    if (b->stages[st->deps[i]].state != CB_STAGE_DONE)
      return false;
  return true;
}

/* Starts the needed stages whose dependencies are done, while fewer than
 * jobs workers run. Called with shared->lock held. */
static int
start_ready_stages (struct cb_build *b, cbuild_error *err)
{
  struct cb_build_shared *sh = b->shared;

  for (size_t i = 0; i < b->n_stages && sh->running < sh->jobs; i++)
    {
      struct cb_stage *st = &b->stages[i];

      if (st->needed && st->state == CB_STAGE_PENDING && deps_done (b, st)
          && start_worker (b, st, err) < 0)
        return -1;
    }
  return 0;
}

static void
join_workers (struct cb_build *b)
{
  for (size_t i = 0; i < b->n_stages; i++)
    if (b->stages[i].has_thread)
      {
        pthread_join (b->stages[i].thread, NULL);
        b->stages[i].has_thread = false;
      }
}

/* Records a failure of the scheduler itself. Called with shared->lock held. */
static void
fail_locked (struct cb_build_shared *sh, const cbuild_error *err)
{
  if (!sh->failed)
    {
      sh->failed = true;
      sh->first_error = *err;
    }
  atomic_store (&sh->cancelled, true);
}

int
cb_build_run (struct cb_build *b, struct cb_stage *target, cbuild_error *err)
{
  struct cb_build_shared *sh = b->shared;
  cbuild_error start_err = { 0 };

  pthread_mutex_lock (&sh->lock);
  while (target->state != CB_STAGE_DONE && !sh->failed)
    {
      if (start_ready_stages (b, &start_err) < 0)
        {
          fail_locked (sh, &start_err);
          break;
        }
      if (sh->running == 0)
        {
          /* Unreachable while the graph only points to earlier stages. */
          cb_error_set (&start_err, CBUILD_ERR_INVALID, "no stage can run: stage '%s' waits for a stage that is not built",
                        target->label);
          fail_locked (sh, &start_err);
          break;
        }
      pthread_cond_wait (&sh->changed, &sh->lock);
    }
  if (sh->failed)
    atomic_store (&sh->cancelled, true);
  while (sh->running > 0)
    pthread_cond_wait (&sh->changed, &sh->lock);
  pthread_mutex_unlock (&sh->lock);

  join_workers (b);
  if (!sh->failed)
    return 0;
  if (err)
    *err = sh->first_error;
  return -1;
}
