/* Build checks on FROM lines: the global ARGs they use, and their
 * --platform flag. They run on every stage, as in BuildKit, and they link
 * each stage to the earlier stage its FROM names. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/checks_internal.h"
#include "parser/internal.h"

#define PLATFORM_PART_MAX 32

struct platform
{
  char os[PLATFORM_PART_MAX];
  char arch[PLATFORM_PART_MAX];
  char variant[PLATFORM_PART_MAX];
};

static const char *const known_os[] = {
  "aix", "android", "darwin", "dragonfly", "freebsd", "hurd", "illumos", "ios", "js",
  "linux", "nacl", "netbsd", "openbsd", "plan9", "solaris", "windows", "zos", NULL,
};

static const char *const known_arch[] = {
  "386", "amd64", "amd64p32", "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64", "mips",
  "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le", "ppc", "riscv", "riscv64", "s390", "s390x",
  "sparc", "sparc64", "wasm", NULL,
};

static bool
in_list (const char *const *list, const char *s)
{
  for (; *list; list++)
    if (strcmp (*list, s) == 0)
      return true;
  return false;
}

static void
normalize_os (char *os)
{
  for (char *p = os; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  if (strcmp (os, "macos") == 0)
    strcpy (os, "darwin");
}

static void
normalize_arch (char *arch)
{
  static const char *const aliases[][2] = {
    { "i386", "386" },     { "x86_64", "amd64" }, { "x86-64", "amd64" },
    { "aarch64", "arm64" }, { "armhf", "arm" },   { "armel", "arm" },
  };

  for (char *p = arch; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp (arch, aliases[i][0]) == 0)
      strcpy (arch, aliases[i][1]);
}

/* Copies the part of s up to '/' into out. Parts match [A-Za-z0-9_-]+. */
static bool
platform_part (const char **s, char *out)
{
  size_t n = strcspn (*s, "/");

  if (n == 0 || n >= PLATFORM_PART_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) (*s)[i]) && (*s)[i] != '_' && (*s)[i] != '-')
      return false;
  memcpy (out, *s, n);
  out[n] = '\0';
  *s += n + ((*s)[n] == '/');
  return true;
}

/* containerd's platforms.Parse, enough for the os and architecture that
 * FromPlatformFlagConstDisallowed compares: "linux/arm64/v8", "linux",
 * "arm64". host fills in what a one-part value leaves out. */
static bool
platform_parse (const char *s, const struct platform *host, struct platform *p)
{
  char parts[3][PLATFORM_PART_MAX];
  int n = 0;

  memset (p, 0, sizeof *p);
  while (n < 3 && platform_part (&s, parts[n]))
    n++;
  if (n == 0 || *s != '\0' || s[-1] == '/')
    return false;
  if (n == 1)
    {
      strcpy (p->os, parts[0]);
      normalize_os (p->os);
      if (in_list (known_os, p->os))
        return strcpy (p->arch, host->arch), true;
      strcpy (p->arch, parts[0]);
      normalize_arch (p->arch);
      strcpy (p->os, host->os);
      return in_list (known_arch, p->arch);
    }
  strcpy (p->os, parts[0]);
  normalize_os (p->os);
  strcpy (p->arch, parts[1]);
  normalize_arch (p->arch);
  if (n == 3)
    strcpy (p->variant, parts[2]);
  return true;
}

/* The platform of the build, which cbuild also builds for. */
static void
build_platform (const struct check_run *run, struct platform *p)
{
  static const struct platform fallback = { "linux", "amd64", "" };

  if (run->opts->platform == NULL || !platform_parse (run->opts->platform, &fallback, p))
    *p = fallback;
}

/* The ARGs that BuildKit defines before the Dockerfile's own, each of
 * which a build arg of the same name replaces. */
static int
predefined_args (struct check_run *run, struct cb_strv *env)
{
  struct platform p;
  char formatted[3 * PLATFORM_PART_MAX + 2];
  const char *target = run->opts->target && *run->opts->target ? run->opts->target
                                                                 : run->stages[run->n_stages - 1].name;
  const char *values[][2] = {
    { "BUILDPLATFORM", formatted }, { "BUILDOS", p.os },        { "BUILDOSVERSION", "" },
    { "BUILDARCH", p.arch },        { "BUILDVARIANT", p.variant }, { "TARGETPLATFORM", formatted },
    { "TARGETOS", p.os },           { "TARGETOSVERSION", "" },  { "TARGETARCH", p.arch },
    { "TARGETVARIANT", p.variant }, { "TARGETSTAGE", target ? target : "" },
  };

  build_platform (run, &p);
  snprintf (formatted, sizeof formatted, "%s/%s%s%s", p.os, p.arch, *p.variant ? "/" : "", p.variant);
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
    {
      const char *build_arg = check_build_arg (run, values[i][0]);

      if (cb_env_set (env, values[i][0], build_arg ? build_arg : values[i][1], run->err) < 0)
        return -1;
    }
  return 0;
}

/* One word of a global ARG, as BuildKit's buildMetaArgs reads it. Returns
 * 1 when its default does not expand. */
static int
global_arg (struct check_run *run, const char *word, bool use_build_args, struct cb_strv *env)
{
  const char *value;
  cleanup_free char *name = check_arg_word (word, &value);
  cleanup_free char *expanded = NULL;
  const char *build_arg;
  int ret;

  if (name == NULL)
    return cb_error_nomem (run->err);
  if (use_build_args && cb_strv_push (&run->global_names, name, run->err) < 0)
    return -1;
  build_arg = use_build_args ? check_build_arg (run, name) : NULL;
  if (build_arg)
    return cb_env_set (env, name, build_arg, run->err);
  if (value == NULL)
    return 0;
  ret = check_expand (run, value, run->df->escape, false, env, &expanded, NULL);
  if (ret != 0)
    return ret;
  return cb_env_set (env, name, expanded, run->err);
}

/* The ARGs that FROM lines see. Returns 1 when a default does not expand. */
static int
global_args (struct check_run *run, bool use_build_args, struct cb_strv *env)
{
  if (predefined_args (run, env) < 0)
    return -1;
  for (size_t i = 0; i < run->first_from; i++)
    {
      const struct cb_instruction *ins = &run->df->instructions[i];

      for (size_t k = 0; k < ins->n_args; k++)
        {
          int ret = global_arg (run, ins->args[k], use_build_args, env);
          if (ret != 0)
            return ret;
        }
    }
  return 0;
}

/* InvalidDefaultArgInFrom: with no build args, every FROM must still name
 * a valid image. BuildKit drops this check when a default or a FROM line
 * does not expand, and the build reports the error. */
static int
check_default_args (struct check_run *run)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;
  int ret = global_args (run, false, &env);

  if (ret != 0)
    return ret < 0 ? -1 : 0;
  for (size_t i = 0; i < run->n_stages; i++)
    {
      const char *base = run->stages[i].from->args[0];
      cleanup_free char *image = NULL;

      ret = check_expand (run, base, run->df->escape, false, &env, &image, NULL);
      if (ret != 0)
        return ret < 0 ? -1 : 0;
      if (!check_reference_valid (image)
          && check_report (run, RULE_INVALID_DEFAULT_ARG_IN_FROM, run->stages[i].from->line,
                           "Default value for ARG %s results in empty or invalid base image name", base) < 0)
        return -1;
    }
  return 0;
}

/* Adds the names of the predefined ARGs to the global ones, which makes
 * the list of names a FROM line may use. A name may be there twice. */
static int
add_predefined_names (struct check_run *run)
{
  for (size_t i = 0; i < run->global_args.len; i++)
    {
      const char *item = run->global_args.items[i];

      if (cb_strv_push_owned (&run->global_names, strndup (item, strcspn (item, "=")), run->err) < 0)
        return -1;
    }
  return 0;
}

static int
report_undeclared (struct check_run *run, const struct cb_strv *unmatched, int line)
{
  const struct cb_strv *names = &run->global_names;

  for (size_t i = 0; i < unmatched->len; i++)
    {
      const char *name = unmatched->items[i];
      const char *hint;

      if (cb_strv_contains (names, name))
        continue;
      hint = cb_suggest_closest (name, (const char *const *) names->items, names->len, &run->suggest_budget);
      if (check_report (run, RULE_UNDEFINED_ARG_IN_FROM, line, "FROM argument '%s' is not declared%s%s%s", name,
                        hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "")
          < 0)
        return -1;
    }
  return 0;
}

/* RedundantTargetPlatform and FromPlatformFlagConstDisallowed. */
static int
check_platform_value (struct check_run *run, const struct check_stage *st, const char *raw, const char *value,
                      const struct cb_strv *matched, const struct cb_strv *unmatched)
{
  struct platform host, p;
  const char *target = cb_env_get (&run->global_args, "TARGETPLATFORM");
  cleanup_free char *quoted = NULL;

  if (matched->len == 1 && unmatched->len == 0 && strcmp (matched->items[0], "TARGETPLATFORM") == 0 && target
      && strcmp (value, target) == 0)
    return check_report (run, RULE_REDUNDANT_TARGET_PLATFORM, st->from->line,
                         "Setting platform to predefined %s in FROM is redundant as this is the default behavior",
                         raw);
  build_platform (run, &host);
  if (matched->len > 0 || unmatched->len > 0 || !platform_parse (value, &host, &p))
    return 0;
  /* A stage named for its platform, such as "build-arm64", is allowed. */
  if (st->name && (strstr (st->name, p.os) || strstr (st->name, p.arch)))
    return 0;
  quoted = check_quote (value);
  if (quoted == NULL)
    return cb_error_nomem (run->err);
  return check_report (run, RULE_FROM_PLATFORM_FLAG_CONST_DISALLOWED, st->from->line,
                       "FROM --platform flag should not use constant value %s", quoted);
}

static int
check_platform (struct check_run *run, struct check_stage *st)
{
  const char *raw = cb_instruction_flag (st->from, "platform");
  cleanup_strv struct cb_strv matched = CB_STRV_INIT;
  cleanup_strv struct cb_strv unmatched = CB_STRV_INIT;
  cleanup_free char *value = NULL;
  struct cb_lex_opts opts = { .escape = run->df->escape, .matched = &matched, .unmatched = &unmatched };
  cbuild_error lex_err = { 0 };
  struct platform host, p;
  int ret;

  if (raw == NULL || *raw == '\0')
    return 0;
  ret = cb_lex_process (raw, strlen (raw), &opts, &run->global_args, &value, NULL, &lex_err);
  if (ret < 0 && lex_err.code == CBUILD_ERR_NOMEM)
    return cb_error_nomem (run->err);
  if (report_undeclared (run, &unmatched, st->from->line) < 0)
    return -1;
  if (ret == 0 && check_platform_value (run, st, raw, value, &matched, &unmatched) < 0)
    return -1;
  build_platform (run, &host);
  /* An empty or invalid platform fails the build. */
  if (ret < 0 || *value == '\0' || !platform_parse (value, &host, &p))
    run->stopped = true;
  return 0;
}

/* UndefinedArgInFrom for the image, then the stage's link to the earlier
 * stage its FROM names, matched exactly against the lower-case names. */
static int
check_base (struct check_run *run, size_t i)
{
  struct check_stage *st = &run->stages[i];
  cleanup_strv struct cb_strv unmatched = CB_STRV_INIT;
  int ret = check_expand (run, st->from->args[0], run->df->escape, false, &run->global_args, &st->base, &unmatched);

  if (ret < 0 || report_undeclared (run, &unmatched, st->from->line) < 0)
    return -1;
  if (ret > 0 || *st->base == '\0')
    {
      run->stopped = true;
      return 0;
    }
  for (size_t k = i; k-- > 0;)
    if (run->stages[k].name && strcmp (run->stages[k].name, st->base) == 0)
      {
        st->parent = (ssize_t) k;
        break;
      }
  return 0;
}

int
check_from_rules (struct check_run *run)
{
  int ret;

  if (run->n_stages == 0)
    return 0;
  if (check_default_args (run) < 0)
    return -1;
  ret = global_args (run, true, &run->global_args);
  if (ret != 0)
    {
      run->stopped = true;
      return ret < 0 ? -1 : 0;
    }
  if (add_predefined_names (run) < 0)
    return -1;
  for (size_t i = 0; i < run->n_stages && !run->stopped; i++)
    if (check_base (run, i) < 0 || (!run->stopped && check_platform (run, &run->stages[i]) < 0))
      return -1;
  return 0;
}
