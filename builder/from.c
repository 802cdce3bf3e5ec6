/* FROM and ARG: where a stage starts and which build arguments reach it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/build.h"
#include "builder/options.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "parser/expand.h"
#include "registry/reference.h"

/* Proxy variables that docker build passes to RUN without an ARG line and
 * keeps out of the image history. */
static const char *const proxy_args[] = {
  "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
  "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", NULL,
};

static bool
is_proxy_arg (const char *name)
{
  for (size_t i = 0; proxy_args[i]; i++)
    if (strcmp (proxy_args[i], name) == 0)
      return true;
  return false;
}

int
cb_stage_expand_env (struct cb_stage *st, struct cb_strv *env, cbuild_error *err)
{
  cleanup_strv struct cb_strv image_env = CB_STRV_INIT;

  if (cb_strv_copy (env, &st->args, err) < 0 || cb_image_env (&st->image, &image_env, err) < 0)
    return -1;
  for (size_t i = 0; i < image_env.len; i++)
    {
      size_t n = strcspn (image_env.items[i], "=");
      cleanup_free char *name = strndup (image_env.items[i], n);
      if (name == NULL || cb_env_set (env, name, image_env.items[i] + n + 1, err) < 0)
        return name ? -1 : cb_error_nomem (err);
    }
  return 0;
}

/* Parses one "NAME[=default]" of an ARG line into name and the default
 * expanded with env (NULL when there is none). */
static int
parse_arg_word (struct cb_build *b, const char *word, const struct cb_strv *env, char **name,
                char **value, cbuild_error *err)
{
  const char *eq = strchr (word, '=');

  *value = NULL;
  *name = eq ? strndup (word, (size_t) (eq - word)) : strdup (word);
  if (*name == NULL)
    return cb_error_nomem (err);
  if ((*name)[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_PARSE, "ARG requires a name before '='");
  if (eq == NULL)
    return 0;
  return cb_expand_word (eq + 1, b->df->escape, env, value, err);
}

/* The value an ARG gets: --build-arg first, then its default, then (inside
 * a stage) the global ARG of the same name, then the automatic platform
 * ARG of that name (TARGETARCH and the like). */
static const char *
arg_value (struct cb_build *b, const char *name, const char *def, bool in_stage)
{
  const char *given = cb_env_get (&b->opts->build_args, name);

  if (given)
    return given;
  if (def)
    return def;
  if (in_stage && (given = cb_env_get (&b->global_args, name)) != NULL)
    return given;
  return cb_env_get (&b->platform_args, name);
}

/* Notes that a --build-arg was consumed, for the warning about unused
 * ones. Stages declare ARGs at the same time, so this takes the lock. */
static int
mark_used (struct cb_build *b, const char *name, cbuild_error *err)
{
  struct cb_build_shared *sh = b->shared;
  int ret = 0;

  if (cb_env_get (&b->opts->build_args, name) == NULL)
    return 0;
  pthread_mutex_lock (&sh->lock);
  if (!cb_strv_contains (&sh->used_args, name))
    ret = cb_strv_push (&sh->used_args, name, err);
  pthread_mutex_unlock (&sh->lock);
  return ret;
}

/* The history shows an ARG with its Dockerfile default only, never a
 * --build-arg value, which may be a secret. */
static int
history_word (struct cb_strv *history, const char *name, const char *def, cbuild_error *err)
{
  char *word = NULL;

  if (def == NULL)
    return cb_strv_push (history, name, err);
  if (asprintf (&word, "%s=%s", name, def) < 0)
    return cb_error_nomem (err);
  return cb_strv_push_owned (history, word, err);
}

static int
declare_args (struct cb_build *b, const struct cb_instruction *ins, struct cb_strv *scope,
              const struct cb_strv *env_base, bool in_stage, struct cb_strv *history, cbuild_error *err)
{
  for (size_t i = 0; i < ins->n_args; i++)
    {
      cleanup_strv struct cb_strv env = CB_STRV_INIT;
      cleanup_free char *name = NULL;
      cleanup_free char *def = NULL;
      const char *value;

      if (cb_strv_copy (&env, env_base, err) < 0 || cb_strv_copy (&env, scope, err) < 0)
        return -1;
      if (parse_arg_word (b, ins->args[i], &env, &name, &def, err) < 0)
        return cb_build_error_at (b, ins, err);
      if (mark_used (b, name, err) < 0)
        return -1;
      value = arg_value (b, name, def, in_stage);
      if (value && cb_env_set (scope, name, value, err) < 0)
        return -1;
      if (history && history_word (history, name, def, err) < 0)
        return -1;
    }
  return 0;
}

int
cb_build_global_arg (struct cb_build *b, const struct cb_instruction *ins, cbuild_error *err)
{
  /* Defaults of global ARGs may use the platform ARGs, as in BuildKit. */
  return declare_args (b, ins, &b->global_args, &b->platform_args, false, NULL, err);
}

int
cb_stage_arg (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_strv struct cb_strv image_env = CB_STRV_INIT;
  cleanup_strv struct cb_strv history = CB_STRV_INIT;
  struct cb_buf msg = CB_BUF_INIT;
  int ret;

  if (cb_image_env (&st->image, &image_env, err) < 0)
    return -1;
  if (declare_args (b, ins, &st->args, &image_env, true, &history, err) < 0)
    return -1;
  ret = cb_buf_append_str (&msg, "ARG", err);
  for (size_t i = 0; ret == 0 && i < history.len; i++)
    ret = cb_buf_printf (&msg, err, " %s", history.items[i]);
  if (ret == 0)
    ret = cb_image_add_history (&st->image, cb_buf_str (&msg), NULL, err);
  cb_buf_release (&msg);
  return ret;
}

int
cb_stage_proxy_env (struct cb_build *b, struct cb_strv *env, cbuild_error *err)
{
  const struct cb_strv *args = &b->opts->build_args;

  for (size_t i = 0; i < args->len; i++)
    {
      size_t n = strcspn (args->items[i], "=");
      cleanup_free char *name = strndup (args->items[i], n);
      if (name == NULL)
        return cb_error_nomem (err);
      if (is_proxy_arg (name) && !cb_env_get (env, name)
          && cb_env_set (env, name, args->items[i] + n + 1, err) < 0)
        return -1;
    }
  return 0;
}

/* Starts st from the image name refers to, pulled for the stage's
 * platform once per build. */
static int
pull_base (struct cb_build *b, struct cb_stage *st, const char *name, cbuild_error *err)
{
  const char *digest = NULL;
  struct cb_image *base = cb_build_pull_image (b, st, name, &digest, err);

  if (base == NULL)
    return -1;
  snprintf (st->cache_parent, sizeof st->cache_parent, "%s", digest);
  return cb_image_copy (&st->image, base, err);
}

/* Parses a trigger after a "FROM scratch" line, because the parser accepts
 * only ARG before the first FROM. *first receives the index of the
 * trigger's own first instruction. */
static int
parse_trigger (const char *text, struct cb_dockerfile **df, size_t *first, cbuild_error *err)
{
  cleanup_free char *doc = NULL;

  *first = 1;
  if (asprintf (&doc, "FROM scratch\n%s", text) < 0)
    return cb_error_nomem (err);
  return cb_dockerfile_parse (doc, strlen (doc), "ONBUILD", df, err);
}

/* Runs one trigger as steps of st. Its instructions get the line of the
 * FROM that brought it in, so that messages point there. */
static int
run_trigger (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *from, const char *text,
             cbuild_error *err)
{
  struct cb_dockerfile *df = NULL;
  size_t first = 0;
  int ret;

  if (parse_trigger (text, &df, &first, err) < 0)
    return cb_build_error_at (b, from, err);
  ret = 0;
  for (size_t k = first; ret == 0 && k < df->n_instructions; k++)
    {
      df->instructions[k].line = from->line;
      ret = cb_build_begin_step (b, &df->instructions[k], err);
      if (ret == 0)
        ret = cb_dispatch_instruction (b, st, &df->instructions[k], err);
    }
  cb_dockerfile_free (df);
  return ret;
}

/* Runs the ONBUILD triggers the base image carries, right after FROM, and
 * clears them so they do not fire again in images built from this one. */
static int
run_onbuild_triggers (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *from,
                      cbuild_error *err)
{
  json_t *triggers = json_incref (json_object_get (cb_image_runconfig (&st->image), "OnBuild"));
  size_t i;
  json_t *item;
  int ret = 0;

  json_object_del (cb_image_runconfig (&st->image), "OnBuild");
  /* Each trigger is a step of the stage. */
  b->total_steps += (int) json_array_size (triggers);
  json_array_foreach (triggers, i, item)
    {
      const char *text = json_string_value (item);

      if (text == NULL)
        continue;
      ret = run_trigger (b, st, from, text, err);
      if (ret < 0)
        break;
    }
  json_decref (triggers);
  return ret;
}

#define BINFMT_DIR "/proc/sys/fs/binfmt_misc"

/* Starts st from an earlier stage, from scratch or from an image. A stage
 * started from a stage keeps that stage's platform, because BuildKit
 * ignores --platform there. A stage that runs commands must be able to
 * run them on this host. */
static int
start_from (struct cb_build *b, struct cb_stage *st, const char *image, cbuild_error *err)
{
  struct cb_stage *base = cb_build_find_stage (b, image, st->first);

  if (base && cb_build_stage (b, base, err) < 0)
    return -1;
  if (base)
    st->platform = base->platform;
  if (st->has_run && cb_platform_check_runnable (&st->platform, BINFMT_DIR, err) < 0)
    return -1;
  if (base)
    {
      memcpy (st->cache_parent, base->cache_parent, CB_DIGEST_SIZE);
      return cb_image_copy (&st->image, &base->image, err);
    }
  if (strcasecmp (image, "scratch") == 0)
    {
      snprintf (st->cache_parent, sizeof st->cache_parent, "scratch");
      return cb_image_init_scratch (&st->image, &st->platform, err);
    }
  return pull_base (b, st, image, err);
}

/* A --build-context with the FROM name replaces it, before stages and
 * images of that name, as in BuildKit. */
static int
use_named_context (struct cb_build *b, char **image, cbuild_error *err)
{
  const char *named = cb_options_build_context (b->opts, *image);
  char *ref;

  if (named == NULL)
    return 0;
  if (strncmp (named, "docker-image://", 15) != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "FROM %s: the build context '%s' is a directory, and FROM a directory is not supported "
                         "yet (COPY --from=%s works)",
                         *image, *image, *image);
  ref = strdup (named + 15);
  if (ref == NULL)
    return cb_error_nomem (err);
  free (*image);
  *image = ref;
  return 0;
}

int
cb_stage_from (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;
  cleanup_free char *image = NULL;

  b->step++;
  cb_log (b->log, CBUILD_LOG_INFO, "[%d/%d] %s", b->step, b->total_steps, ins->original);
  if (ins->n_args < 1)
    return cb_build_error_at (b, ins, (cb_error_set (err, CBUILD_ERR_PARSE, "FROM requires an image"), err));
  if (cb_build_global_env (b, &env, err) < 0)
    return -1;
  if (cb_expand_word (ins->args[0], b->df->escape, &env, &image, err) < 0)
    return cb_build_error_at (b, ins, err);
  if (image[0] == '\0')
    return cb_build_error_at (b, ins, (cb_error_set (err, CBUILD_ERR_INVALID, "FROM '%s' expands to an empty image name (is a build argument missing?)", ins->args[0]), err));
  if (cb_stage_set_platform (b, st, ins, err) < 0)
    return cb_build_error_at (b, ins, err);
  if (use_named_context (b, &image, err) < 0)
    return cb_build_error_at (b, ins, err);

  if (start_from (b, st, image, err) < 0)
    return cb_build_error_at (b, ins, err);
  if (cb_env_get (&b->opts->build_args, "SOURCE_DATE_EPOCH"))
    {
      free (st->image.epoch);
      st->image.epoch = cb_build_timestamp (b);
      if (st->image.epoch == NULL)
        return cb_error_nomem (err);
    }
  return run_onbuild_triggers (b, st, ins, err);
}
