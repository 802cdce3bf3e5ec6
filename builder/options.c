#include "builder/options.h"

#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"

cbuild_build_options *
cbuild_build_options_new (void)
{
  return calloc (1, sizeof (cbuild_build_options));
}

void
cbuild_build_options_free (cbuild_build_options *opts)
{
  if (opts == NULL)
    return;
  free (opts->context_dir);
  free (opts->dockerfile);
  cb_strv_release (&opts->tags);
  cb_strv_release (&opts->build_args);
  free (opts->target);
  cb_strv_release (&opts->mirrors);
  cb_strv_release (&opts->insecure);
  free (opts->runtime);
  for (size_t i = 0; i < opts->n_outputs; i++)
    free (opts->outputs[i].dest);
  free (opts->outputs);
  free (opts->root);
  free (opts);
}

static int
replace_string (char **slot, const char *value, cbuild_error *err)
{
  char *copy = strdup (value);

  if (copy == NULL)
    return cb_error_nomem (err);
  free (*slot);
  *slot = copy;
  return 0;
}

int
cbuild_build_options_set_context (cbuild_build_options *opts, const char *dir, cbuild_error *err)
{
  return replace_string (&opts->context_dir, dir, err);
}

int
cbuild_build_options_set_dockerfile (cbuild_build_options *opts, const char *path, cbuild_error *err)
{
  return replace_string (&opts->dockerfile, path, err);
}

int
cbuild_build_options_add_tag (cbuild_build_options *opts, const char *ref, cbuild_error *err)
{
  return cb_strv_push (&opts->tags, ref, err);
}

int
cbuild_build_options_add_build_arg (cbuild_build_options *opts, const char *arg, cbuild_error *err)
{
  const char *value;

  if (arg[0] == '\0' || arg[0] == '=')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid build argument '%s': expected NAME=VALUE", arg);
  if (strchr (arg, '=') != NULL)
    return cb_strv_push (&opts->build_args, arg, err);
  /* A bare name takes its value from the environment, as docker build
   * does; when the variable is unset the argument is ignored. */
  value = getenv (arg);
  if (value == NULL)
    return 0;
  return cb_env_set (&opts->build_args, arg, value, err);
}

int
cbuild_build_options_set_target (cbuild_build_options *opts, const char *stage, cbuild_error *err)
{
  return replace_string (&opts->target, stage, err);
}

int
cbuild_build_options_add_registry_mirror (cbuild_build_options *opts, const char *host, cbuild_error *err)
{
  return cb_strv_push (&opts->mirrors, host, err);
}

int
cbuild_build_options_add_insecure_registry (cbuild_build_options *opts, const char *host, cbuild_error *err)
{
  return cb_strv_push (&opts->insecure, host, err);
}

int
cbuild_build_options_set_runtime (cbuild_build_options *opts, const char *path, cbuild_error *err)
{
  return replace_string (&opts->runtime, path, err);
}

void
cbuild_build_options_set_push (cbuild_build_options *opts, int push)
{
  opts->push = push != 0;
}

/* Parses "type=oci,dest=PATH[,tar=true|false]". */
static int
parse_output_spec (const char *spec, struct cb_output_spec *out, cbuild_error *err)
{
  cleanup_free char *copy = strdup (spec);
  char *saveptr = NULL;
  bool have_type = false;

  if (copy == NULL)
    return cb_error_nomem (err);
  out->tar = true;
  for (char *kv = strtok_r (copy, ",", &saveptr); kv; kv = strtok_r (NULL, ",", &saveptr))
    {
      char *eq = strchr (kv, '=');
      if (eq == NULL)
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': '%s' is not KEY=VALUE", spec, kv);
      *eq = '\0';
      if (strcmp (kv, "type") == 0)
        {
          if (strcmp (eq + 1, "oci") != 0)
            return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': type '%s' is not supported (use type=oci)", spec, eq + 1);
          have_type = true;
        }
      else if (strcmp (kv, "dest") == 0)
        {
          free (out->dest);
          out->dest = strdup (eq + 1);
          if (out->dest == NULL)
            return cb_error_nomem (err);
        }
      else if (strcmp (kv, "tar") == 0)
        {
          if (strcmp (eq + 1, "true") != 0 && strcmp (eq + 1, "false") != 0)
            return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': tar must be true or false", spec);
          out->tar = strcmp (eq + 1, "true") == 0;
        }
      else
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': unknown key '%s'", spec, kv);
    }
  if (!have_type)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': missing type=oci", spec);
  if (out->dest == NULL || out->dest[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': missing dest=PATH", spec);
  return 0;
}

int
cbuild_build_options_add_output (cbuild_build_options *opts, const char *spec, cbuild_error *err)
{
  struct cb_output_spec out = { NULL, true };
  struct cb_output_spec *grown;

  if (parse_output_spec (spec, &out, err) < 0)
    {
      free (out.dest);
      return -1;
    }
  grown = realloc (opts->outputs, (opts->n_outputs + 1) * sizeof *grown);
  if (grown == NULL)
    {
      free (out.dest);
      return cb_error_nomem (err);
    }
  opts->outputs = grown;
  opts->outputs[opts->n_outputs++] = out;
  return 0;
}

int
cbuild_build_options_set_root (cbuild_build_options *opts, const char *dir, cbuild_error *err)
{
  return replace_string (&opts->root, dir, err);
}

void
cbuild_build_options_set_log (cbuild_build_options *opts, cbuild_log_fn fn, void *user_data)
{
  opts->log.fn = fn;
  opts->log.user_data = user_data;
}

const char *
cbuild_version (void)
{
  return "0.1.0";
}
