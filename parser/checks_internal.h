/* Shared by the build check files (parser/checks*.c), not part of any
 * public interface. The files follow the phases of BuildKit's frontend,
 * which reports in this order: parser warnings and per-instruction parse
 * rules (checks_style.c), stage names and instruction casing
 * (checks_style.c), FROM lines (checks_from.c), then a simulated dispatch
 * of each stage (checks_dispatch.c). */
#ifndef CBUILD_PARSER_CHECKS_INTERNAL_H
#define CBUILD_PARSER_CHECKS_INTERNAL_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/strv.h"
#include "parser/checks.h"

enum check_rule
{
  RULE_CONSISTENT_INSTRUCTION_CASING,
  RULE_COPY_IGNORED_FILE,
  RULE_DUPLICATE_STAGE_NAME,
  RULE_EXPOSE_INVALID_FORMAT,
  RULE_EXPOSE_PROTO_CASING,
  RULE_FROM_AS_CASING,
  RULE_FROM_PLATFORM_FLAG_CONST_DISALLOWED,
  RULE_INVALID_DEFAULT_ARG_IN_FROM,
  RULE_JSON_ARGS_RECOMMENDED,
  RULE_LEGACY_KEY_VALUE_FORMAT,
  RULE_MAINTAINER_DEPRECATED,
  RULE_MULTIPLE_INSTRUCTIONS_DISALLOWED,
  RULE_NO_EMPTY_CONTINUATION,
  RULE_REDUNDANT_TARGET_PLATFORM,
  RULE_RESERVED_STAGE_NAME,
  RULE_SECRETS_USED_IN_ARG_OR_ENV,
  RULE_STAGE_NAME_CASING,
  RULE_UNDEFINED_ARG_IN_FROM,
  RULE_UNDEFINED_VAR,
  RULE_WORKDIR_RELATIVE_PATH,
  RULE_COUNT,
};

/* The check options: from the directive, or from the build arg. */
struct check_config
{
  bool skip_all;
  bool experimental_all;
  bool error;
  struct cb_strv skip;
  struct cb_strv experimental;
};

/* A stage as dispatch tracks it: the image config fields that rules read,
 * and the ARGs in scope. */
struct stage_state
{
  struct cb_strv env;  /* "NAME=value": the variables substitution uses */
  struct cb_strv args; /* names of the ARGs declared so far */
  bool shell_set;      /* a SHELL instruction ran */
  bool workdir_set;    /* a WORKDIR instruction ran */
  int cmd_line;        /* line of the last CMD in this stage, 0 for none */
  int entrypoint_line;
  int healthcheck_line;
};

struct check_stage
{
  const struct cb_instruction *from;
  size_t first; /* index of the FROM instruction */
  size_t end;   /* one past the stage's last instruction */
  char *name;   /* lower-case, NULL when the stage has none */
  char *base;   /* the FROM image after substitution, NULL until known */
  ssize_t parent; /* the earlier stage that FROM names, or -1 */
  bool reachable; /* the target needs it */
  bool dispatched;
  struct stage_state state; /* after the stage's last instruction */
};

struct check_run
{
  const struct cb_dockerfile *df;
  const struct cb_check_options *opts;
  struct check_config config;
  struct cb_check_result *out;
  size_t cap; /* warnings allocated in out */
  cbuild_error *err;
  bool stopped; /* the build would fail here, so checking ends */
  size_t first_from; /* index of the first FROM instruction */
  struct check_stage *stages;
  size_t n_stages;
  struct cb_strv global_args; /* "NAME=value": predefined and global ARGs */
  struct cb_strv global_names; /* names FROM may use: global and predefined ARGs */
  size_t suggest_budget; /* work left for "did you mean" hints */
};

/* Work for all "did you mean" hints of one run, in Levenshtein table
 * cells. It is far more than real Dockerfiles need and, as an estimate,
 * well under a second of CPU time. */
#define CHECK_SUGGEST_BUDGET ((size_t) 1 << 26)

/* Adds a warning unless the rule is skipped (or experimental and not
 * enabled). Returns -1 only when out of memory. */
int check_report (struct check_run *run, enum check_rule rule, int line, const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/* Returns s in Go's %q form, as BuildKit's messages quote values
 * (malloc'd, NULL when out of memory). */
char *check_quote (const char *s);

/* Expands word with env, as BuildKit's shell lexer, and adds the names it
 * found unset to unmatched (optional), also when it fails. Returns 1 when
 * the word does not expand, which fails the build, and -1 when out of
 * memory. */
int check_expand (struct check_run *run, const char *word, char escape, bool skip_quotes,
                  const struct cb_strv *env, char **result, struct cb_strv *unmatched);

/* Phases (checks_style.c, checks_from.c, checks_stages.c, checks_dispatch.c). */
int check_parse_rules (struct check_run *run);
int check_stage_names (struct check_run *run);
int check_instruction_casing (struct check_run *run);
int check_stages_init (struct check_run *run);
int check_from_rules (struct check_run *run);
int check_mark_reachable (struct check_run *run);
int check_dispatch (struct check_run *run);
void check_stages_release (struct check_run *run);

/* True when name parses as an image reference, as Docker's
 * reference.ParseNormalizedNamed checks it (parser/checks_reference.c). */
bool check_reference_valid (const char *name);

/* Splits an ARG word "NAME=value" and returns the name (malloc'd). *value
 * is NULL for a word without '='. */
char *check_arg_word (const char *word, const char **value);

/* The build arg given for name, or NULL. */
const char *check_build_arg (const struct check_run *run, const char *name);

#endif
