/* Build checks: the rule table, the check options, the result list and
 * the order of the phases. Rule names, summaries, URLs and messages are
 * BuildKit's, from frontend/dockerfile/linter/ruleset.go and the rule
 * pages under docs.docker.com/go/dockerfile/rule/. */
#include "parser/checks.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "parser/checks_internal.h"
#include "parser/internal.h"

struct rule_info
{
  const char *name;
  const char *description;
  const char *url;
  bool experimental; /* runs only when the check options enable it */
};

#define RULE_URL(slug) "https://docs.docker.com/go/dockerfile/rule/" slug "/"

static const struct rule_info rules[RULE_COUNT] = {
  [RULE_CONSISTENT_INSTRUCTION_CASING]
  = { "ConsistentInstructionCasing",
      "All commands within the Dockerfile should use the same casing (either upper or lower)",
      RULE_URL ("consistent-instruction-casing"), false },
  [RULE_COPY_IGNORED_FILE] = { "CopyIgnoredFile", "Attempting to Copy file that is excluded by .dockerignore",
                               RULE_URL ("copy-ignored-file"), true },
  [RULE_DUPLICATE_STAGE_NAME] = { "DuplicateStageName", "Stage names should be unique", RULE_URL ("duplicate-stage-name"),
                                  false },
  [RULE_EXPOSE_INVALID_FORMAT]
  = { "ExposeInvalidFormat",
      "IP address and host-port mapping should not be used in EXPOSE instruction. This will become an error "
      "in a future release",
      RULE_URL ("expose-invalid-format"), false },
  [RULE_EXPOSE_PROTO_CASING] = { "ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase",
                                 RULE_URL ("expose-proto-casing"), false },
  [RULE_FROM_AS_CASING] = { "FromAsCasing", "The 'as' keyword should match the case of the 'from' keyword",
                            RULE_URL ("from-as-casing"), false },
  [RULE_FROM_PLATFORM_FLAG_CONST_DISALLOWED]
  = { "FromPlatformFlagConstDisallowed", "FROM --platform flag should not use a constant value",
      RULE_URL ("from-platform-flag-const-disallowed"), false },
  [RULE_INVALID_DEFAULT_ARG_IN_FROM]
  = { "InvalidDefaultArgInFrom", "Default value for global ARG results in an empty or invalid base image name",
      RULE_URL ("invalid-default-arg-in-from"), false },
  [RULE_JSON_ARGS_RECOMMENDED]
  = { "JSONArgsRecommended",
      "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals",
      RULE_URL ("json-args-recommended"), false },
  [RULE_LEGACY_KEY_VALUE_FORMAT] = { "LegacyKeyValueFormat",
                                     "Legacy key/value format with whitespace separator should not be used",
                                     RULE_URL ("legacy-key-value-format"), false },
  [RULE_MAINTAINER_DEPRECATED]
  = { "MaintainerDeprecated",
      "The MAINTAINER instruction is deprecated, use a label instead to define an image author",
      RULE_URL ("maintainer-deprecated"), false },
  [RULE_MULTIPLE_INSTRUCTIONS_DISALLOWED]
  = { "MultipleInstructionsDisallowed",
      "Multiple instructions of the same type should not be used in the same stage",
      RULE_URL ("multiple-instructions-disallowed"), false },
  [RULE_NO_EMPTY_CONTINUATION] = { "NoEmptyContinuation",
                                   "Empty continuation lines will become errors in a future release",
                                   RULE_URL ("no-empty-continuation"), false },
  [RULE_REDUNDANT_TARGET_PLATFORM]
  = { "RedundantTargetPlatform",
      "Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior",
      RULE_URL ("redundant-target-platform"), false },
  [RULE_RESERVED_STAGE_NAME] = { "ReservedStageName", "Reserved words should not be used as stage names",
                                 RULE_URL ("reserved-stage-name"), false },
  [RULE_SECRETS_USED_IN_ARG_OR_ENV]
  = { "SecretsUsedInArgOrEnv", "Sensitive data should not be used in the ARG or ENV commands",
      RULE_URL ("secrets-used-in-arg-or-env"), false },
  [RULE_STAGE_NAME_CASING] = { "StageNameCasing", "Stage names should be lowercase", RULE_URL ("stage-name-casing"),
                               false },
  [RULE_UNDEFINED_ARG_IN_FROM] = { "UndefinedArgInFrom", "FROM command must use declared ARGs",
                                   RULE_URL ("undefined-arg-in-from"), false },
  [RULE_UNDEFINED_VAR] = { "UndefinedVar", "Variables should be defined before their use", RULE_URL ("undefined-var"),
                           false },
  [RULE_WORKDIR_RELATIVE_PATH]
  = { "WorkdirRelativePath",
      "Relative workdir without an absolute workdir declared within the build can have unexpected results if "
      "the base image changes",
      RULE_URL ("workdir-relative-path"), false },
};

static void
config_release (struct check_config *c)
{
  cb_strv_release (&c->skip);
  cb_strv_release (&c->experimental);
}

/* Go's strings.TrimSpace for the ASCII spaces that the options use. */
static char *
trim (char *s)
{
  char *end;

  while (isspace ((unsigned char) *s))
    s++;
  end = s + strlen (s);
  while (end > s && isspace ((unsigned char) end[-1]))
    *--end = '\0';
  return s;
}

/* "all", or a comma-separated list of rule names. */
static int
parse_rule_list (char *value, bool *all, struct cb_strv *list, cbuild_error *err)
{
  char *name, *save = NULL;

  value = trim (value);
  if (strcmp (value, "all") == 0)
    {
      *all = true;
      return 0;
    }
  for (name = strtok_r (value, ",", &save); name; name = strtok_r (NULL, ",", &save))
    if (cb_strv_push (list, trim (name), err) < 0)
      return -1;
  return 0;
}

static int
parse_bool (const char *value, bool *out)
{
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    {
      if (strcmp (value, yes[i]) == 0)
        return *out = true, 0;
      if (strcmp (value, no[i]) == 0)
        return *out = false, 0;
    }
  return -1;
}

static int
parse_option (struct check_config *c, char *part, const char *source, cbuild_error *err)
{
  char *eq = strchr (part, '=');
  char *key;

  if (eq == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid check option '%s' in %s: want key=value", part, source);
  *eq = '\0';
  key = trim (part);
  if (strcmp (key, "skip") == 0)
    return parse_rule_list (eq + 1, &c->skip_all, &c->skip, err);
  if (strcmp (key, "experimental") == 0)
    return parse_rule_list (eq + 1, &c->experimental_all, &c->experimental, err);
  if (strcmp (key, "error") != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid check option '%s' in %s: want skip, experimental or error",
                         key, source);
  if (parse_bool (trim (eq + 1), &c->error) < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid value '%s' for check option 'error' in %s: want true or false",
                         trim (eq + 1), source);
  return 0;
}

/* Reads "skip=A,B;experimental=C;error=true" as BuildKit's
 * ParseLintOptions does: at most three parts, the last taking the rest. */
static int
load_config (struct check_run *run)
{
  const char *arg = check_build_arg (run, "BUILDKIT_DOCKERFILE_CHECK");
  const char *source = "build arg BUILDKIT_DOCKERFILE_CHECK";
  cleanup_free char *copy = NULL;
  char *part, *semi;

  if (arg == NULL)
    {
      arg = run->df->check ? run->df->check : "";
      source = "check directive";
    }
  copy = strdup (arg);
  if (copy == NULL)
    return cb_error_nomem (run->err);
  part = trim (copy);
  if (*part == '\0')
    return 0;
  for (int i = 0; i < 3; i++)
    {
      semi = i < 2 ? strchr (part, ';') : NULL;
      if (semi)
        *semi = '\0';
      if (parse_option (&run->config, part, source, run->err) < 0)
        return -1;
      if (semi == NULL)
        break;
      part = semi + 1;
    }
  return 0;
}

static bool
rule_enabled (const struct check_config *c, enum check_rule rule)
{
  const struct rule_info *info = &rules[rule];

  /* skip= does not turn off an experimental rule that was asked for. */
  if (info->experimental)
    return c->experimental_all || cb_strv_contains (&c->experimental, info->name);
  return !c->skip_all && !cb_strv_contains (&c->skip, info->name);
}

/* Messages quote Dockerfile text, and a terminal shows them. */
static void
replace_control_chars (char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      *s = '?';
}

static int
add_warning (struct check_run *run, enum check_rule rule, int line, char *message)
{
  struct cb_check_result *out = run->out;
  struct cb_check_warning *w;

  if (out->n_warnings == run->cap)
    {
      size_t cap = run->cap ? run->cap * 2 : 8;
      struct cb_check_warning *grown = realloc (out->warnings, cap * sizeof *grown);
      if (grown == NULL)
        {
          free (message);
          return cb_error_nomem (run->err);
        }
      out->warnings = grown;
      run->cap = cap;
    }
  w = &out->warnings[out->n_warnings++];
  w->rule = rules[rule].name;
  w->description = rules[rule].description;
  w->url = rules[rule].url;
  w->message = message;
  w->line = line;
  return 0;
}

int
check_report (struct check_run *run, enum check_rule rule, int line, const char *fmt, ...)
{
  char *message = NULL;
  va_list ap;
  int ret;

  if (!rule_enabled (&run->config, rule))
    return 0;
  va_start (ap, fmt);
  ret = vasprintf (&message, fmt, ap);
  va_end (ap);
  if (ret < 0)
    return cb_error_nomem (run->err);
  replace_control_chars (message);
  return add_warning (run, rule, line, message);
}

static void
quote_rune (struct cb_buf *b, const char *s, size_t n, int32_t r)
{
  static const char named[] = "\a\b\f\n\r\t\v";
  static const char letters[] = "abfnrtv";
  const char *e = r > 0 && r < 0x20 ? strchr (named, (int) r) : NULL;

  if (r == '"' || r == '\\')
    cb_buf_printf (b, NULL, "\\%c", (char) r);
  else if (e)
    cb_buf_printf (b, NULL, "\\%c", letters[e - named]);
  else if (r < 0x20 || r == 0x7f || (r == CB_RUNE_ERROR && n == 1))
    cb_buf_printf (b, NULL, "\\x%02x", (unsigned char) s[0]);
  else if (r >= 0x80 && r <= 0xa0)
    cb_buf_printf (b, NULL, "\\u%04x", (unsigned) r);
  else
    cb_buf_append (b, s, n, NULL);
}

char *
check_quote (const char *s)
{
  struct cb_buf b;
  size_t len = strlen (s);

  cb_buf_init (&b, 0);
  cb_buf_append_char (&b, '"', NULL);
  for (size_t i = 0; i < len;)
    {
      int32_t r;
      size_t n = cb_utf8_decode (s + i, len - i, &r);

      quote_rune (&b, s + i, n, r);
      i += n;
    }
  if (cb_buf_append_char (&b, '"', NULL) < 0)
    {
      cb_buf_release (&b);
      return NULL;
    }
  return cb_buf_detach (&b);
}

int
check_expand (struct check_run *run, const char *word, char escape, bool skip_quotes, const struct cb_strv *env,
              char **result, struct cb_strv *unmatched)
{
  struct cb_lex_opts opts = { .escape = escape, .skip_quotes = skip_quotes, .unmatched = unmatched };
  cbuild_error lex_err = { 0 };

  *result = NULL;
  if (cb_lex_process (word, strlen (word), &opts, env, result, NULL, &lex_err) == 0)
    return *result ? 0 : cb_error_nomem (run->err);
  if (lex_err.code == CBUILD_ERR_NOMEM)
    return cb_error_nomem (run->err);
  return 1;
}

static int
run_phases (struct check_run *run)
{
  if (check_parse_rules (run) < 0 || check_stages_init (run) < 0)
    return -1;
  if (check_stage_names (run) < 0 || check_instruction_casing (run) < 0)
    return -1;
  if (check_from_rules (run) < 0)
    return -1;
  if (!run->stopped && check_dispatch (run) < 0)
    return -1;
  return 0;
}

int
cb_dockerfile_check (const struct cb_dockerfile *df, const struct cb_check_options *opts,
                     struct cb_check_result *out, cbuild_error *err)
{
  static const struct cb_check_options no_options;
  struct check_run run = { .df = df, .opts = opts ? opts : &no_options, .out = out, .err = err,
                           .suggest_budget = CHECK_SUGGEST_BUDGET };
  int ret;

  memset (out, 0, sizeof *out);
  ret = load_config (&run);
  if (ret == 0)
    ret = run_phases (&run);
  out->error = run.config.error;
  config_release (&run.config);
  check_stages_release (&run);
  if (ret < 0)
    cb_check_result_release (out);
  return ret;
}

void
cb_check_result_release (struct cb_check_result *res)
{
  if (res == NULL)
    return;
  for (size_t i = 0; i < res->n_warnings; i++)
    free (res->warnings[i].message);
  free (res->warnings);
  memset (res, 0, sizeof *res);
}

int
cb_check_result_fail (const struct cb_check_result *res, cbuild_error *err)
{
  struct cb_buf names;
  int ret;

  if (!res->error || res->n_warnings == 0)
    return 0;
  cb_buf_init (&names, 0);
  for (size_t i = 0; i < res->n_warnings; i++)
    {
      bool seen = false;

      for (size_t j = 0; j < i && !seen; j++)
        seen = strcmp (res->warnings[j].rule, res->warnings[i].rule) == 0;
      if (!seen)
        cb_buf_printf (&names, NULL, "%s%s", names.len ? ", " : "", res->warnings[i].rule);
    }
  ret = cb_error_set (err, CBUILD_ERR_INVALID, "lint violation found for rules: %s", cb_buf_str (&names));
  cb_buf_release (&names);
  return ret;
}

char *
cb_check_warning_format (const struct cb_check_warning *w)
{
  char *s = NULL;
  int ret = w->line > 0 ? asprintf (&s, "%s: %s (line %d)", w->rule, w->message, w->line)
                        : asprintf (&s, "%s: %s", w->rule, w->message);

  return ret < 0 ? NULL : s;
}
