/* Build checks: the linter rules of BuildKit's Dockerfile frontend
 * (docker/dockerfile:1), run over a parsed Dockerfile without building it.
 * docs/checks.md lists the rules, and where the results can differ from
 * BuildKit's because this code does not pull the base images. */
#ifndef CBUILD_PARSER_CHECKS_H
#define CBUILD_PARSER_CHECKS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/strv.h"
#include "parser/dockerfile.h"

struct cb_ignore;

/* Returns the Env of the image that stage `stage` (0-based, in FROM order)
 * starts from, as "NAME=value" or "NAME" items, or NULL when it is not
 * known. image is the FROM argument after global ARG substitution. The
 * list is borrowed and must stay valid until cb_dockerfile_check returns.
 * It is not called for "scratch" or for a stage that starts from another
 * stage of the Dockerfile. */
typedef const struct cb_strv *(*cb_check_base_env_fn) (void *data, size_t stage, const char *image);

struct cb_check_options
{
  /* --build-arg values as "NAME=value", or NULL. BUILDKIT_DOCKERFILE_CHECK
   * among them replaces the Dockerfile's check directive, as in BuildKit. */
  const struct cb_strv *build_args;
  const char *target; /* --target stage, or NULL for the last stage */
  /* Checks every stage, as "docker build --check" without --target does.
   * Otherwise the rules that BuildKit runs while it converts instructions
   * (see docs/checks.md) look only at the stages the target needs. */
  bool all_stages;
  /* The target platform, such as "linux/arm64/v8", for the predefined
   * TARGETPLATFORM and BUILDPLATFORM ARGs; NULL for "linux/amd64". */
  const char *platform;
  /* The .dockerignore matcher, for CopyIgnoredFile; NULL for none. */
  const struct cb_ignore *ignore;
  /* For UndefinedVar; NULL means every base image's Env is PATH alone. */
  cb_check_base_env_fn base_env;
  void *base_env_data;
};

struct cb_check_warning
{
  const char *rule;        /* rule name: "JSONArgsRecommended" */
  const char *description; /* the rule's summary, as BuildKit words it */
  const char *url;         /* the rule's documentation page */
  char *message;           /* BuildKit's message for this case */
  int line;                /* 1-based line that BuildKit reports */
};

struct cb_check_result
{
  struct cb_check_warning *warnings; /* in the order BuildKit reports them */
  size_t n_warnings;
  bool error; /* the check options set error=true: warnings fail the build */
};

/* Runs the build checks over df. The check directive (or the
 * BUILDKIT_DOCKERFILE_CHECK build arg) can skip rules (skip=A,B or
 * skip=all) and enable experimental ones (experimental=CopyIgnoredFile).
 * When the Dockerfile contains an error that the build reports, such as an
 * unknown target stage or a variable that does not expand, the checks stop
 * there and return the warnings found before it, as BuildKit does. out is
 * filled on success (release it with cb_check_result_release) and empty on
 * failure: CBUILD_ERR_INVALID for a BUILDKIT_DOCKERFILE_CHECK value that
 * does not parse, or CBUILD_ERR_NOMEM. */
int cb_dockerfile_check (const struct cb_dockerfile *df, const struct cb_check_options *opts,
                         struct cb_check_result *out, cbuild_error *err);
void cb_check_result_release (struct cb_check_result *res);

/* Returns 0 when the build may go on after the checks. With error=true and
 * at least one warning, sets err to CBUILD_ERR_INVALID "lint violation
 * found for rules: A, B" (each rule once, in report order) and returns -1. */
int cb_check_result_fail (const struct cb_check_result *res, cbuild_error *err);

/* Formats a warning as BuildKit prints it: "JSONArgsRecommended: JSON
 * arguments recommended for CMD to prevent unintended behavior related to
 * OS signals (line 3)". Returns a malloc'd string, NULL when out of memory. */
char *cb_check_warning_format (const struct cb_check_warning *w);

#endif
