/* Running the Dockerfile build checks before a build, or instead of one. */
#include <stdio.h>
#include <string.h>

#include "builder/build.h"
#include "common/error.h"
#include "parser/checks.h"

int
cb_build_run_checks (struct cb_build *b, cbuild_error *err)
{
  char platform[64];
  struct cb_check_options copts = { 0 };
  struct cb_check_result res;
  int ret;

  cb_platform_format (&b->platform, platform, sizeof platform);
  copts.build_args = &b->opts->build_args;
  copts.target = b->opts->target;
  copts.all_stages = b->opts->check_only && b->opts->target == NULL;
  copts.platform = platform;
  copts.ignore = b->ignore;
  if (cb_dockerfile_check (b->df, &copts, &res, err) < 0)
    return -1;
  for (size_t i = 0; i < res.n_warnings; i++)
    cb_log (b->log, CBUILD_LOG_WARN, "%s:%d: %s: %s (%s)", b->dockerfile_name, res.warnings[i].line,
            res.warnings[i].rule, res.warnings[i].message, res.warnings[i].url);
  ret = cb_check_result_fail (&res, err);
  /* --check fails on any warning, as docker build --check does. */
  if (ret == 0 && b->opts->check_only && res.n_warnings > 0)
    ret = cb_error_set (err, CBUILD_ERR_INVALID, "%s: %zu build check warning%s found", b->dockerfile_name,
                        res.n_warnings, res.n_warnings == 1 ? "" : "s");
  cb_check_result_release (&res);
  return ret;
}
