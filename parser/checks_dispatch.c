/* Build checks that BuildKit runs while it converts each instruction of a
 * stage: they need the variables in scope, so this walks the stages as a
 * build would, tracking ENV and ARG values without running anything.
 * Without --check, BuildKit converts only the stages the target needs. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/checks_internal.h"
#include "parser/dockerignore.h"
#include "parser/internal.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

struct dispatch
{
  struct check_run *run;
  struct stage_state *st;
};

/* ARGs of BuildKit's SBOM scanner, which never reach the environment. */
static bool
non_env_arg (const char *name)
{
  return strcmp (name, "BUILDKIT_SBOM_SCAN_CONTEXT") == 0 || strcmp (name, "BUILDKIT_SBOM_SCAN_STAGE") == 0;
}

static int
env_names (const struct stage_state *st, struct cb_strv *names, cbuild_error *err)
{
  for (size_t i = 0; i < st->env.len; i++)
    if (cb_strv_push_owned (names, strndup (st->env.items[i], strcspn (st->env.items[i], "=")), err) < 0)
      return -1;
  return 0;
}

/* UndefinedVar: names a word used that are neither set nor declared by an
 * ARG. The hint is the closest name that is set. */
static int
report_unmatched (struct dispatch *d, const struct cb_strv *unmatched, int line)
{
  cleanup_strv struct cb_strv names = CB_STRV_INIT;

  for (size_t i = 0; i < unmatched->len; i++)
    {
      const char *name = unmatched->items[i];
      const char *hint;

      if (cb_strv_contains (&d->st->args, name) || non_env_arg (name))
        continue;
      /* Listing the names counts towards the hints' work, so that many
       * unknown names against a long Env stay cheap. */
      if (names.len == 0 && d->run->suggest_budget >= d->st->env.len)
        {
          d->run->suggest_budget -= d->st->env.len;
          if (env_names (d->st, &names, d->run->err) < 0)
            return -1;
        }
      hint = cb_suggest_closest (name, (const char *const *) names.items, names.len, &d->run->suggest_budget);
      if (check_report (d->run, RULE_UNDEFINED_VAR, line, "Usage of undefined variable '$%s'%s%s%s", name,
                        hint ? " (did you mean $" : "", hint ? hint : "", hint ? "?)" : "")
          < 0)
        return -1;
    }
  return 0;
}

/* Expands one argument as the build will, and reports the variables it
 * uses that are not defined. Heredoc bodies (raw) keep their quotes and
 * take '\' as escape character. Returns 1, and stops the checks, when the
 * word does not expand. */
static int
expand (struct dispatch *d, const char *word, bool raw, int line, char **out)
{
  cleanup_strv struct cb_strv unmatched = CB_STRV_INIT;
  int ret = check_expand (d->run, word, raw ? '\\' : d->run->df->escape, raw, &d->st->env, out, &unmatched);

  if (ret < 0 || report_unmatched (d, &unmatched, line) < 0)
    return -1;
  if (ret > 0)
    d->run->stopped = true;
  return ret;
}

/* Expands into a list, for instructions that use the results. */
static int
expand_into (struct dispatch *d, const char *word, int line, struct cb_strv *out)
{
  char *value = NULL;
  int ret = expand (d, word, false, line, &value);

  if (ret != 0)
    return ret;
  return cb_strv_push_owned (out, value, d->run->err);
}

/* Expands a flag's value when the instruction has the flag. */
static int
expand_flag (struct dispatch *d, const struct cb_instruction *ins, const char *flag, int line)
{
  const char *value = cb_instruction_flag (ins, flag);
  cleanup_free char *expanded = NULL;

  return value ? expand (d, value, false, line, &expanded) : 0;
}

/* SecretsUsedInArgOrEnv: a name with a part, between '_', such as KEY or
 * TOKEN, unless another part is PUBLIC. */
static bool
secret_name (const char *name)
{
  static const char *const secret[] = { "apikey", "auth", "credential", "credentials", "key", "password",
                                        "pword", "passwd", "secret", "token", NULL };
  bool found = false;

  for (const char *part = name;; part++)
    {
      size_t n = strcspn (part, "_");

      for (size_t i = 0; secret[i] && !found; i++)
        found = n == strlen (secret[i]) && strncasecmp (part, secret[i], n) == 0;
      if (n == 6 && strncasecmp (part, "public", 6) == 0)
        return false;
      part += n;
      if (*part == '\0')
        return found;
    }
}

static int
check_secret (struct dispatch *d, const char *instruction, const char *name, int line)
{
  cleanup_free char *quoted = NULL;

  if (!secret_name (name))
    return 0;
  quoted = check_quote (name);
  if (quoted == NULL)
    return cb_error_nomem (d->run->err);
  return check_report (d->run, RULE_SECRETS_USED_IN_ARG_OR_ENV, line,
                       "Do not use ARG or ENV instructions for sensitive data (%s %s)", instruction, quoted);
}

static int
report_legacy (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  if (!ins->legacy_kv)
    return 0;
  return check_report (d->run, RULE_LEGACY_KEY_VALUE_FORMAT, line,
                       "\"%s key=value\" should be used instead of legacy \"%s key value\" format", ins->keyword,
                       ins->keyword);
}

/* ENV and LABEL: every name and value expands before any is set. */
static int
dispatch_pairs (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  cleanup_strv struct cb_strv words = CB_STRV_INIT;
  bool env = strcmp (ins->cmd, "env") == 0;
  int ret = 0;

  for (size_t i = 0; ret == 0 && i < ins->n_args; i++)
    ret = expand_into (d, ins->args[i], line, &words);
  if (ret != 0)
    return ret;
  for (size_t i = 0; i + 1 < words.len; i += 2)
    {
      if (report_legacy (d, ins, line) < 0)
        return -1;
      if (env && (check_secret (d, "ENV", words.items[i], line) < 0
                  || cb_env_set (&d->st->env, words.items[i], words.items[i + 1], d->run->err) < 0))
        return -1;
    }
  return 0;
}

/* One ARG name: its value comes from a build arg, else from its default,
 * else from the global ARG of the same name. */
static int
dispatch_arg_word (struct dispatch *d, const char *word, int line)
{
  const char *value;
  cleanup_free char *name = check_arg_word (word, &value);
  cleanup_free char *expanded = NULL;
  const char *build_arg;
  int ret;

  if (name == NULL)
    return cb_error_nomem (d->run->err);
  if (check_secret (d, "ARG", name, line) < 0)
    return -1;
  build_arg = check_build_arg (d->run, name);
  if (build_arg)
    value = build_arg;
  else if (value)
    {
      ret = expand (d, value, false, line, &expanded);
      if (ret != 0)
        return ret;
      value = expanded;
    }
  else
    value = cb_env_get (&d->run->global_args, name);
  if (value && !non_env_arg (name) && cb_env_set (&d->st->env, name, value, d->run->err) < 0)
    return -1;
  return cb_strv_push (&d->st->args, name, d->run->err);
}

static int
dispatch_arg (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  for (size_t i = 0; i < ins->n_args; i++)
    {
      int ret = dispatch_arg_word (d, ins->args[i], line);
      if (ret != 0)
        return ret;
    }
  return 0;
}

static bool
remote_source (const char *src)
{
  static const char *const prefixes[] = { "http://", "https://", "git@", "git://", "ssh://", NULL };

  for (size_t i = 0; prefixes[i]; i++)
    if (strncmp (src, prefixes[i], strlen (prefixes[i])) == 0)
      return true;
  return false;
}

/* CopyIgnoredFile: a source from the build context that .dockerignore
 * excludes, matched as written, the way BuildKit matches it. */
static int
check_ignored (struct dispatch *d, const struct cb_instruction *ins, const struct cb_strv *sources, int line)
{
  const struct cb_ignore *ig = d->run->opts->ignore;
  const char *from = cb_instruction_flag (ins, "from");
  bool add = strcmp (ins->cmd, "add") == 0;

  if (ig == NULL || (!add && from && *from))
    return 0;
  for (size_t i = 0; i < sources->len; i++)
    {
      cleanup_free char *quoted = NULL;

      if (remote_source (sources->items[i]) || !cb_ignore_excluded (ig, sources->items[i]))
        continue;
      quoted = check_quote (sources->items[i]);
      if (quoted == NULL)
        return cb_error_nomem (d->run->err);
      if (check_report (d->run, RULE_COPY_IGNORED_FILE, line, "Attempting to %s file %s that is excluded by .dockerignore",
                        add ? "Add" : "Copy", quoted) < 0)
        return -1;
    }
  return 0;
}

/* COPY and ADD: --chown (and ADD's --checksum), the sources, the
 * destination, then the bodies of heredocs that expand. */
static int
dispatch_copy (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  cleanup_strv struct cb_strv sources = CB_STRV_INIT;
  cleanup_free char *dest = NULL;
  int ret = expand_flag (d, ins, "chown", line);

  if (ret == 0 && strcmp (ins->cmd, "add") == 0)
    ret = expand_flag (d, ins, "checksum", line);
  for (size_t i = 0; ret == 0 && i + 1 < ins->n_args; i++)
    if (cb_instruction_heredoc_for_arg (ins, ins->args[i]) == NULL)
      ret = expand_into (d, ins->args[i], line, &sources);
  if (ret == 0 && ins->n_args > 0)
    ret = expand (d, ins->args[ins->n_args - 1], false, line, &dest);
  for (size_t i = 0; ret == 0 && i + 1 < ins->n_args; i++)
    {
      const struct cb_heredoc *doc = cb_instruction_heredoc_for_arg (ins, ins->args[i]);
      cleanup_free char *body = NULL;

      if (doc && doc->expand)
        ret = expand (d, doc->content, true, line, &body);
    }
  if (ret != 0)
    return ret;
  return check_ignored (d, ins, &sources, line);
}

/* RUN: the values of each --mount, which BuildKit expands one by one.
 * NOTE: BuildKit reads a --mount value as CSV, so a quoted field with a
 * ',' in it splits differently here. */
static int
dispatch_run (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  for (size_t i = 0; i < ins->n_flags; i++)
    {
      cleanup_free char *spec = NULL;
      char *field, *save = NULL;

      if (strncmp (ins->flags[i], "--mount=", 8) != 0)
        continue;
      spec = strdup (ins->flags[i] + 8);
      if (spec == NULL)
        return cb_error_nomem (d->run->err);
      for (field = strtok_r (spec, ",", &save); field; field = strtok_r (NULL, ",", &save))
        {
          cleanup_free char *value = NULL;
          char *eq = strchr (field, '=');
          int ret = eq ? expand (d, eq + 1, false, line, &value) : 0;

          if (ret != 0)
            return ret;
        }
    }
  return 0;
}

static int
dispatch_workdir (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  cleanup_free char *path = NULL;
  cleanup_free char *quoted = NULL;
  int ret = expand (d, ins->args[0], false, line, &path);

  if (ret != 0)
    return ret;
  /* Only the first WORKDIR counts: fixing it fixes the ones after it. */
  if (!d->st->workdir_set && path[0] != '/')
    {
      quoted = check_quote (path);
      if (quoted == NULL)
        return cb_error_nomem (d->run->err);
      if (check_report (d->run, RULE_WORKDIR_RELATIVE_PATH, line,
                        "Relative workdir %s can have unexpected results if the base image changes", quoted) < 0)
        return -1;
    }
  d->st->workdir_set = true;
  return 0;
}

/* USER, STOPSIGNAL and VOLUME only expand their arguments. */
static int
dispatch_expand_args (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  for (size_t i = 0; i < ins->n_args; i++)
    {
      cleanup_free char *value = NULL;
      int ret = expand (d, ins->args[i], false, line, &value);

      if (ret != 0)
        return ret;
    }
  return 0;
}

/* MultipleInstructionsDisallowed points at the earlier instruction, the
 * one that has no effect. */
static int
used_once (struct dispatch *d, const struct cb_instruction *ins, int *last_line, int line)
{
  int previous = *last_line;

  *last_line = line;
  if (previous == 0)
    return 0;
  return check_report (d->run, RULE_MULTIPLE_INSTRUCTIONS_DISALLOWED, previous,
                       "Multiple %s instructions should not be used in the same stage because only the last one will "
                       "be used",
                       ins->keyword);
}

static int
dispatch_command (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  bool cmd = strcmp (ins->cmd, "cmd") == 0;

  if (used_once (d, ins, cmd ? &d->st->cmd_line : &d->st->entrypoint_line, line) < 0)
    return -1;
  /* A SHELL instruction shows that the shell form is meant. NOTE: a Shell
   * set in the base image's config (Windows images) is not known here. */
  if (ins->json || d->st->shell_set)
    return 0;
  return check_report (d->run, RULE_JSON_ARGS_RECOMMENDED, line,
                       "JSON arguments recommended for %s to prevent unintended behavior related to OS signals",
                       ins->keyword);
}

static bool
has_upper (const char *s)
{
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z')
      return true;
  return false;
}

/* One EXPOSE port, "[[ip:]host-port:]port[/protocol]" after expansion. A
 * port or protocol that does not parse fails the build instead. */
static int
check_port (struct dispatch *d, const char *raw, int line)
{
  const char *last = strrchr (raw, ':');
  const char *container = last ? last + 1 : raw;
  const char *slash = strchr (container, '/');
  const char *proto = slash ? slash + 1 : "";
  const char *prev = last ? memrchr (raw, ':', (size_t) (last - raw)) : NULL;
  const char *host_port = prev ? prev + 1 : raw;
  /* BuildKit splits on ':' and takes the last part as the port, the one
   * before it as the host port and the rest as the IP address. */
  bool mapping = last && (last > host_port || (prev && prev > raw));

  if (container == slash || *container == '\0'
      || (*proto && strcasecmp (proto, "tcp") != 0 && strcasecmp (proto, "udp") != 0
          && strcasecmp (proto, "sctp") != 0))
    {
      d->run->stopped = true;
      return 0;
    }
  if (has_upper (proto)
      && check_report (d->run, RULE_EXPOSE_PROTO_CASING, line,
                       "Defined protocol '%s' in EXPOSE instruction should be lowercase", raw) < 0)
    return -1;
  if (!mapping)
    return 0;
  return check_report (d->run, RULE_EXPOSE_INVALID_FORMAT, line,
                       "EXPOSE instruction should not define an IP address or host-port mapping, found '%s'", raw);
}

/* EXPOSE splits each argument into ports after expansion, and reports no
 * undefined variables. */
static int
dispatch_expose (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  for (size_t i = 0; i < ins->n_args && !d->run->stopped; i++)
    {
      cleanup_strv struct cb_strv ports = CB_STRV_INIT;
      struct cb_lex_opts opts = { .escape = d->run->df->escape };
      cbuild_error lex_err = { 0 };

      if (cb_lex_process (ins->args[i], strlen (ins->args[i]), &opts, &d->st->env, NULL, &ports, &lex_err) < 0)
        {
          if (lex_err.code == CBUILD_ERR_NOMEM)
            return cb_error_nomem (d->run->err);
          d->run->stopped = true;
          return 1;
        }
      for (size_t k = 0; k < ports.len && !d->run->stopped; k++)
        if (check_port (d, ports.items[k], line) < 0)
          return -1;
    }
  return 0;
}

static int
dispatch_instruction (struct dispatch *d, const struct cb_instruction *ins, int line)
{
  const char *c = ins->cmd;

  if (strcmp (c, "env") == 0 || strcmp (c, "label") == 0)
    return dispatch_pairs (d, ins, line);
  if (strcmp (c, "arg") == 0)
    return dispatch_arg (d, ins, line);
  if (strcmp (c, "copy") == 0 || strcmp (c, "add") == 0)
    return dispatch_copy (d, ins, line);
  if (strcmp (c, "run") == 0)
    return dispatch_run (d, ins, line);
  if (strcmp (c, "workdir") == 0)
    return dispatch_workdir (d, ins, line);
  if (strcmp (c, "user") == 0 || strcmp (c, "stopsignal") == 0 || strcmp (c, "volume") == 0)
    return dispatch_expand_args (d, ins, line);
  if (strcmp (c, "cmd") == 0 || strcmp (c, "entrypoint") == 0)
    return dispatch_command (d, ins, line);
  if (strcmp (c, "healthcheck") == 0)
    return used_once (d, ins, &d->st->healthcheck_line, line);
  if (strcmp (c, "expose") == 0)
    return dispatch_expose (d, ins, line);
  if (strcmp (c, "shell") == 0)
    d->st->shell_set = true;
  return 0;
}

/* The Env of the image a stage starts from. PATH is always set, as
 * BuildKit adds it when the image lacks it. NOTE: without the base_env
 * callback that is all, so UndefinedVar reports a variable that only the
 * base image sets, where BuildKit reads the pulled image's Env. */
static int
base_env (struct check_run *run, size_t i, struct cb_strv *env)
{
  const struct check_stage *s = &run->stages[i];
  const struct cb_strv *image_env = NULL;

  if (run->opts->base_env && strcmp (s->base, "scratch") != 0)
    image_env = run->opts->base_env (run->opts->base_env_data, i, s->base);
  for (size_t k = 0; image_env && k < image_env->len; k++)
    {
      const char *item = image_env->items[k];
      const char *eq = strchr (item, '=');
      cleanup_free char *name = strndup (item, eq ? (size_t) (eq - item) : strlen (item));

      if (name == NULL || cb_env_set (env, name, eq ? eq + 1 : "", run->err) < 0)
        return -1;
    }
  if (cb_env_get (env, "PATH") == NULL)
    return cb_env_set (env, "PATH", DEFAULT_PATH, run->err);
  return 0;
}

/* A stage starts from the state its parent stage ended in: its variables,
 * its ARGs, its SHELL and WORKDIR, but not which CMD ran. */
static int
stage_init (struct check_run *run, size_t i)
{
  struct check_stage *s = &run->stages[i];
  const struct check_stage *parent = s->parent >= 0 ? &run->stages[s->parent] : NULL;

  if (parent == NULL || !parent->dispatched)
    return base_env (run, i, &s->state.env);
  if (cb_strv_copy (&s->state.env, &parent->state.env, run->err) < 0
      || cb_strv_copy (&s->state.args, &parent->state.args, run->err) < 0)
    return -1;
  s->state.shell_set = parent->state.shell_set;
  s->state.workdir_set = parent->state.workdir_set;
  return 0;
}

/* ONBUILD triggers of the parent stage run first, at the FROM line. */
static int
dispatch_stage (struct check_run *run, size_t i)
{
  struct check_stage *s = &run->stages[i];
  struct dispatch d = { .run = run, .st = &s->state };
  const struct check_stage *parent = s->parent >= 0 ? &run->stages[s->parent] : NULL;

  if (stage_init (run, i) < 0)
    return -1;
  s->dispatched = true;
  for (size_t k = parent ? parent->first + 1 : 0; parent && s->reachable && k < parent->end; k++)
    {
      const struct cb_instruction *trigger = run->df->instructions[k].next;
      if (trigger && dispatch_instruction (&d, trigger, s->from->line) < 0)
        return -1;
      if (run->stopped)
        return 0;
    }
  for (size_t k = s->first + 1; k < s->end; k++)
    {
      const struct cb_instruction *ins = &run->df->instructions[k];
      if (dispatch_instruction (&d, ins, ins->line) < 0)
        return -1;
      if (run->stopped)
        return 0;
    }
  return 0;
}

int
check_dispatch (struct check_run *run)
{
  if (check_mark_reachable (run) < 0)
    return -1;
  for (size_t i = 0; i < run->n_stages && !run->stopped; i++)
    if ((run->opts->all_stages || run->stages[i].reachable) && dispatch_stage (run, i) < 0)
      return -1;
  return 0;
}
