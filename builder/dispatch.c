/* Instructions that change only the image config: ENV, LABEL, CMD, ... */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "parser/expand.h"

/* Expands word with the stage's variables. */
static int
expand (struct cb_build *b, struct cb_stage *st, const char *word, char **out, cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;

  if (cb_stage_expand_env (st, &env, err) < 0)
    return -1;
  return cb_expand_word (word, b->df->escape, &env, out, err);
}

static int
add_history (struct cb_stage *st, const char *created_by, cbuild_error *err)
{
  return cb_image_add_history (&st->image, created_by, NULL, err);
}

/* ENV and LABEL take alternating names and values. */
static int
dispatch_pairs (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, bool is_env,
                cbuild_error *err)
{
  cleanup_buf struct cb_buf msg = CB_BUF_INIT;

  if (ins->n_args == 0 || ins->n_args % 2 != 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s requires NAME=VALUE pairs", is_env ? "ENV" : "LABEL");
  if (cb_buf_append_str (&msg, is_env ? "ENV" : "LABEL", err) < 0)
    return -1;
  for (size_t i = 0; i + 1 < ins->n_args; i += 2)
    {
      cleanup_free char *name = NULL;
      cleanup_free char *value = NULL;
      int ret;

      if (expand (b, st, ins->args[i], &name, err) < 0 || expand (b, st, ins->args[i + 1], &value, err) < 0)
        return -1;
      if (name[0] == '\0')
        return cb_error_set (err, CBUILD_ERR_PARSE, "%s names must not be empty", is_env ? "ENV" : "LABEL");
      if (is_env)
        ret = cb_image_set_env (&st->image, name, value, err);
      else
        ret = cb_image_set_member (&st->image, "Labels", name, value, err);
      if (ret < 0 || cb_buf_printf (&msg, err, " %s=%s", name, value) < 0)
        return -1;
    }
  return add_history (st, cb_buf_str (&msg), err);
}

/* The stage's SHELL, or /bin/sh -c. */
static int
stage_shell (struct cb_stage *st, struct cb_strv *out, cbuild_error *err)
{
  json_t *shell = json_object_get (cb_image_runconfig (&st->image), "Shell");
  size_t i;
  json_t *item;

  if (json_is_array (shell) && json_array_size (shell) > 0)
    {
      json_array_foreach (shell, i, item)
        if (cb_strv_push (out, json_string_value (item) ? json_string_value (item) : "", err) < 0)
          return -1;
      return 0;
    }
  if (cb_strv_push (out, "/bin/sh", err) < 0)
    return -1;
  return cb_strv_push (out, "-c", err);
}

/* The argument vector of a RUN, CMD or ENTRYPOINT: exec form as written,
 * shell form through the stage's shell. */
int
cb_stage_command_args (struct cb_stage *st, const struct cb_instruction *ins, struct cb_strv *argv,
                       cbuild_error *err)
{
  if (ins->json)
    {
      for (size_t i = 0; i < ins->n_args; i++)
        if (cb_strv_push (argv, ins->args[i], err) < 0)
          return -1;
      return 0;
    }
  if (stage_shell (st, argv, err) < 0)
    return -1;
  return cb_strv_push (argv, ins->n_args > 0 ? ins->args[0] : "", err);
}

/* Formats a list as Go's %q does for a []string: ["a" "b"]. */
static int
format_quoted_list (struct cb_buf *msg, char *const *items, size_t n, cbuild_error *err)
{
  if (cb_buf_append_char (msg, '[', err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    {
      if (i > 0 && cb_buf_append_char (msg, ' ', err) < 0)
        return -1;
      if (cb_buf_append_char (msg, '"', err) < 0)
        return -1;
      for (const char *p = items[i]; *p; p++)
        {
          int ret;
          if (*p == '"' || *p == '\\')
            ret = cb_buf_printf (msg, err, "\\%c", *p);
          else if ((unsigned char) *p < 0x20)
            ret = cb_buf_printf (msg, err, "\\x%02x", (unsigned char) *p);
          else
            ret = cb_buf_append_char (msg, *p, err);
          if (ret < 0)
            return -1;
        }
      if (cb_buf_append_char (msg, '"', err) < 0)
        return -1;
    }
  return cb_buf_append_char (msg, ']', err);
}

static int
dispatch_cmd (struct cb_stage *st, const struct cb_instruction *ins, bool entrypoint, cbuild_error *err)
{
  cleanup_strv struct cb_strv argv = CB_STRV_INIT;
  cleanup_buf struct cb_buf msg = CB_BUF_INIT;
  const char *key = entrypoint ? "Entrypoint" : "Cmd";

  if (cb_stage_command_args (st, ins, &argv, err) < 0)
    return -1;
  if (cb_image_set_strings (&st->image, key, argv.items ? argv.items : (char *[]){ NULL }, argv.len, err) < 0)
    return -1;
  /* ENTRYPOINT drops a CMD inherited from the base image, but keeps one
   * set earlier in this stage. */
  if (entrypoint && !st->cmd_set && cb_image_set_strings (&st->image, "Cmd", NULL, 0, err) < 0)
    return -1;
  if (!entrypoint)
    st->cmd_set = true;
  if (cb_buf_printf (&msg, err, "%s ", entrypoint ? "ENTRYPOINT" : "CMD") < 0
      || format_quoted_list (&msg, argv.items, argv.len, err) < 0)
    return -1;
  return add_history (st, cb_buf_str (&msg), err);
}

/* Appends each port of "80", "80/udp" or "8000-8002/tcp" to ExposedPorts. */
static int
expose_port (struct cb_stage *st, const char *word, struct cb_strv *ports, cbuild_error *err)
{
  cleanup_free char *copy = strdup (word);
  char *proto, *dash, *end;
  unsigned long first, last;

  if (copy == NULL)
    return cb_error_nomem (err);
  proto = strchr (copy, '/');
  if (proto)
    *proto++ = '\0';
  for (char *p = proto; p && *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  if (proto && strcmp (proto, "tcp") != 0 && strcmp (proto, "udp") != 0 && strcmp (proto, "sctp") != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid protocol '%s' in EXPOSE '%s' (use tcp, udp or sctp)", proto, word);
  dash = strchr (copy, '-');
  if (dash)
    *dash = '\0';
  first = strtoul (copy, &end, 10);
  if (copy[0] == '\0' || *end != '\0' || first > 65535)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid port '%s' in EXPOSE", word);
  last = first;
  if (dash)
    {
      last = strtoul (dash + 1, &end, 10);
      if (dash[1] == '\0' || *end != '\0' || last > 65535 || last < first)
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid port range '%s' in EXPOSE", word);
    }
  for (unsigned long port = first; port <= last; port++)
    {
      char key[32];
      snprintf (key, sizeof key, "%lu/%s", port, proto ? proto : "tcp");
      if (cb_image_set_member (&st->image, "ExposedPorts", key, NULL, err) < 0)
        return -1;
      if (!cb_strv_contains (ports, key) && cb_strv_push (ports, key, err) < 0)
        return -1;
    }
  return 0;
}

/* EXPOSE and VOLUME: each word, after expansion, goes into an object. */
static int
compare_strings (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* "EXPOSE map[53/udp:{} 8080/tcp:{}]": BuildKit prints the ports as Go
 * prints a map, with sorted keys. */
static int
format_ports (struct cb_strv *ports, struct cb_buf *msg, cbuild_error *err)
{
  if (ports->len > 1)
    qsort (ports->items, ports->len, sizeof *ports->items, compare_strings);
  for (size_t i = 0; i < ports->len; i++)
    if (cb_buf_printf (msg, err, "%s%s:{}", i ? " " : "", ports->items[i]) < 0)
      return -1;
  return 0;
}

static int
dispatch_words (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, bool expose,
                cbuild_error *err)
{
  cleanup_buf struct cb_buf msg = CB_BUF_INIT;
  cleanup_strv struct cb_strv ports = CB_STRV_INIT;

  if (ins->n_args == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s requires at least one argument", expose ? "EXPOSE" : "VOLUME");
  if (cb_buf_append_str (&msg, expose ? "EXPOSE map[" : "VOLUME [", err) < 0)
    return -1;
  for (size_t i = 0; i < ins->n_args; i++)
    {
      cleanup_free char *word = NULL;
      if (expand (b, st, ins->args[i], &word, err) < 0)
        return -1;
      if (expose && expose_port (st, word, &ports, err) < 0)
        return -1;
      if (expose)
        continue;
      if (word[0] == '\0')
        return cb_error_set (err, CBUILD_ERR_INVALID, "VOLUME specified can not be an empty string");
      if (cb_image_set_member (&st->image, "Volumes", word, NULL, err) < 0
          || cb_buf_printf (&msg, err, "%s%s", i ? " " : "", word) < 0)
        return -1;
    }
  if (expose && format_ports (&ports, &msg, err) < 0)
    return -1;
  if (cb_buf_append_char (&msg, ']', err) < 0)
    return -1;
  return add_history (st, cb_buf_str (&msg), err);
}

/* USER and STOPSIGNAL set one expanded string. */
static int
dispatch_string (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                 const char *key, const char *keyword, cbuild_error *err)
{
  cleanup_free char *value = NULL;
  cleanup_free char *msg = NULL;

  if (ins->n_args != 1)
    return cb_error_set (err, CBUILD_ERR_PARSE, "%s requires exactly one argument", keyword);
  if (expand (b, st, ins->args[0], &value, err) < 0)
    return -1;
  if (cb_image_set_string (&st->image, key, value, err) < 0)
    return -1;
  if (asprintf (&msg, "%s %s", keyword, value) < 0)
    return cb_error_nomem (err);
  return add_history (st, msg, err);
}

static int
dispatch_shell (struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_buf struct cb_buf msg = CB_BUF_INIT;

  if (!ins->json || ins->n_args == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "SHELL requires the arguments to be in JSON form, such as [\"/bin/bash\", \"-c\"]");
  if (cb_image_set_strings (&st->image, "Shell", ins->args, ins->n_args, err) < 0)
    return -1;
  if (cb_buf_append_str (&msg, "SHELL [", err) < 0)
    return -1;
  for (size_t i = 0; i < ins->n_args; i++)
    if (cb_buf_printf (&msg, err, "%s%s", i ? " " : "", ins->args[i]) < 0)
      return -1;
  if (cb_buf_append_char (&msg, ']', err) < 0)
    return -1;
  return add_history (st, cb_buf_str (&msg), err);
}

static int
dispatch_onbuild (struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  json_t *cfg = cb_image_runconfig (&st->image);
  json_t *list = json_object_get (cfg, "OnBuild");
  const char *text = ins->original;
  cleanup_free char *msg = NULL;

  /* The trigger is stored as written after the ONBUILD keyword. */
  while (*text == ' ' || *text == '\t')
    text++;
  if (strncasecmp (text, "onbuild", 7) == 0)
    text += 7;
  while (*text == ' ' || *text == '\t')
    text++;
  if (!json_is_array (list))
    {
      list = json_array ();
      json_object_set_new (cfg, "OnBuild", list);
    }
  if (json_array_append_new (list, json_string (text)) < 0)
    return cb_error_nomem (err);
  if (asprintf (&msg, "ONBUILD %s", text) < 0)
    return cb_error_nomem (err);
  return add_history (st, msg, err);
}

static int
dispatch_maintainer (struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_buf struct cb_buf name = CB_BUF_INIT;
  cleanup_free char *msg = NULL;

  for (size_t i = 0; i < ins->n_args; i++)
    if (cb_buf_printf (&name, err, "%s%s", i ? " " : "", ins->args[i]) < 0)
      return -1;
  json_object_set_new (st->image.config, "author", json_string (cb_buf_str (&name)));
  if (asprintf (&msg, "MAINTAINER %s", cb_buf_str (&name)) < 0)
    return cb_error_nomem (err);
  return add_history (st, msg, err);
}

static int
dispatch (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  const char *cmd = ins->cmd;

  if (strcmp (cmd, "run") == 0)
    return cb_step_run (b, st, ins, err);
  if (strcmp (cmd, "copy") == 0 || strcmp (cmd, "add") == 0)
    return cb_step_copy (b, st, ins, strcmp (cmd, "add") == 0, err);
  if (strcmp (cmd, "workdir") == 0)
    return cb_step_workdir (b, st, ins, err);
  if (strcmp (cmd, "arg") == 0)
    return cb_stage_arg (b, st, ins, err);
  if (strcmp (cmd, "env") == 0 || strcmp (cmd, "label") == 0)
    return dispatch_pairs (b, st, ins, strcmp (cmd, "env") == 0, err);
  if (strcmp (cmd, "cmd") == 0 || strcmp (cmd, "entrypoint") == 0)
    return dispatch_cmd (st, ins, strcmp (cmd, "entrypoint") == 0, err);
  if (strcmp (cmd, "expose") == 0 || strcmp (cmd, "volume") == 0)
    return dispatch_words (b, st, ins, strcmp (cmd, "expose") == 0, err);
  if (strcmp (cmd, "user") == 0)
    return dispatch_string (b, st, ins, "User", "USER", err);
  if (strcmp (cmd, "stopsignal") == 0)
    return dispatch_string (b, st, ins, "StopSignal", "STOPSIGNAL", err);
  if (strcmp (cmd, "shell") == 0)
    return dispatch_shell (st, ins, err);
  if (strcmp (cmd, "onbuild") == 0)
    return dispatch_onbuild (st, ins, err);
  if (strcmp (cmd, "maintainer") == 0)
    return dispatch_maintainer (st, ins, err);
  if (strcmp (cmd, "healthcheck") == 0)
    return cb_dispatch_healthcheck (st, ins, err);
  if (strcmp (cmd, "from") == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "FROM is not allowed here");
  return cb_error_set (err, CBUILD_ERR_PARSE, "unknown instruction '%s'", cmd);
}

int
cb_dispatch_instruction (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                         cbuild_error *err)
{
  b->step++;
  cb_log (b->log, CBUILD_LOG_INFO, "[%d/%d] %s", b->step, b->total_steps, ins->original);
  if (dispatch (b, st, ins, err) < 0)
    {
      /* Step handlers that know the line already prefixed it. */
      char prefix[512];
      snprintf (prefix, sizeof prefix, "%s:%d", b->dockerfile_name, ins->line);
      if (err && strncmp (err->message, prefix, strlen (prefix)) != 0)
        cb_build_error_at (b, ins, err);
      return -1;
    }
  return 0;
}
