/* Build checks: each case is a Dockerfile and the warnings that BuildKit's
 * frontend (docker/dockerfile:1) reports for it, one "Rule:line: message"
 * per line in BuildKit's order. Most cases come from BuildKit's own lint
 * tests and the examples of docs.docker.com/reference/build-checks/. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/buf.h"
#include "common/strv.h"
#include "parser/checks.h"
#include "parser/dockerignore.h"
#include "parser/internal.h"

struct check_case
{
  const char *name;
  const char *dockerfile;
  const char *want;       /* warnings, "" for none */
  const char *build_args; /* "NAME=value" lines, or NULL */
  const char *target;
  bool all_stages;
  const char *dockerignore; /* NULL for none */
};

/* A base_env callback: images named "python" define PYTHON_VERSION. */
static const struct cb_strv *
python_env (void *data, size_t stage, const char *image)
{
  return strncmp (image, "python", 6) == 0 ? data : NULL;
}

static void
split_lines (const char *text, struct cb_strv *out)
{
  char *copy = strdup (text), *save = NULL;

  for (char *line = strtok_r (copy, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    cb_strv_push (out, line, NULL);
  free (copy);
}

/* Runs the checks with the case's options and returns the warnings as
 * text, or "error: message" (caller frees). */
static char *
run_case (const struct check_case *c, cb_check_base_env_fn base_env, void *base_env_data)
{
  struct cb_strv args = CB_STRV_INIT;
  struct cb_dockerfile *df = NULL;
  struct cb_ignore *ignore = NULL;
  struct cb_check_result res;
  struct cb_buf out = CB_BUF_INIT;
  cbuild_error err = { 0 };
  struct cb_check_options opts = { .target = c->target, .all_stages = c->all_stages,
                                   .base_env = base_env, .base_env_data = base_env_data };

  cb_buf_init (&out, 0);
  if (cb_dockerfile_parse (c->dockerfile, strlen (c->dockerfile), "Dockerfile", &df, &err) < 0)
    {
      cb_buf_printf (&out, NULL, "parse error: %s", err.message);
      return cb_buf_detach (&out);
    }
  if (c->build_args)
    split_lines (c->build_args, &args);
  opts.build_args = c->build_args ? &args : NULL;
  if (c->dockerignore && cb_ignore_parse (c->dockerignore, strlen (c->dockerignore), &ignore, &err) == 0)
    opts.ignore = ignore;
  if (cb_dockerfile_check (df, &opts, &res, &err) < 0)
    cb_buf_printf (&out, NULL, "error: %s", err.message);
  else
    {
      for (size_t i = 0; i < res.n_warnings; i++)
        cb_buf_printf (&out, NULL, "%s%s:%d: %s", i ? "\n" : "", res.warnings[i].rule, res.warnings[i].line,
                       res.warnings[i].message);
      cb_check_result_release (&res);
    }
  cb_ignore_free (ignore);
  cb_strv_release (&args);
  cb_dockerfile_free (df);
  return cb_buf_detach (&out);
}

static void
run_cases (const struct check_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      char *got = run_case (&cases[i], NULL, NULL);

      if (strcmp (got, cases[i].want) != 0)
        fprintf (stderr, "case '%s':\n", cases[i].name);
      CHECK_STR (got, cases[i].want);
      free (got);
    }
}

#define RUN_CASES(table) run_cases (table, sizeof table / sizeof table[0])
#define CASE(name, text, want) { name, text, want, NULL, NULL, false, NULL }
#define CASE_WITH(name, text, want, build_args, target, all_stages, dockerignore) \
  { name, text, want, build_args, target, all_stages, dockerignore }

static const struct check_case casing_cases[] = {
  CASE ("mixed from",
        "From scratch as base\n"
        "FROM scratch AS base2",
        "ConsistentInstructionCasing:1: Command 'From' should match the case of the command majority (uppercase)"),
  CASE ("lower copy among upper",
        "FROM scratch\n"
        "copy Dockerfile /foo\n"
        "COPY Dockerfile /bar",
        "ConsistentInstructionCasing:2: Command 'copy' should match the case of the command majority (uppercase)"),
  CASE ("mixed from among lower",
        "frOM scratch as base\n"
        "from scratch as base2",
        "ConsistentInstructionCasing:1: Command 'frOM' should match the case of the command majority (lowercase)"),
  CASE ("upper copy among lower",
        "from scratch\n"
        "COPY Dockerfile /foo\n"
        "copy Dockerfile /bar",
        "ConsistentInstructionCasing:2: Command 'COPY' should match the case of the command majority (lowercase)"),
  CASE ("lower from among upper",
        "from scratch\n"
        "COPY a /foo\n"
        "COPY a /bar\n"
        "COPY a /baz",
        "ConsistentInstructionCasing:1: Command 'from' should match the case of the command majority (uppercase)"),
  CASE ("upper from among lower",
        "FROM scratch\n"
        "copy a /foo\n"
        "copy a /bar\n"
        "copy a /baz",
        "ConsistentInstructionCasing:1: Command 'FROM' should match the case of the command majority (lowercase)"),
  CASE ("tie goes to upper case",
        "FROM scratch as base\n"
        "copy Dockerfile .",
        "FromAsCasing:1: 'as' and 'FROM' keywords' casing do not match\n"
        "ConsistentInstructionCasing:2: Command 'copy' should match the case of the command majority (uppercase)"),
  CASE ("all lower",
        "from scratch\n"
        "copy Dockerfile /foo\n"
        "copy Dockerfile /bar",
        ""),
  CASE ("all upper",
        "FROM scratch\n"
        "COPY Dockerfile /foo\n"
        "COPY Dockerfile /bar",
        ""),
  CASE ("heredoc body is no instruction",
        "FROM alpine\n"
        "RUN <<'EOT'\n"
        "env\n"
        "EOT\n",
        ""),
  CASE ("global arg not counted",
        "arg V=1\n"
        "FROM scratch\n"
        "COPY a b",
        ""),
  CASE ("stage name upper",
        "FROM scratch AS BadStageName\n"
        "FROM scratch as base2\n"
        "FROM scratch AS base3",
        "StageNameCasing:1: Stage name 'BadStageName' should be lowercase\n"
        "FromAsCasing:2: 'as' and 'FROM' keywords' casing do not match"),
  CASE ("upper as after lower from",
        "from scratch AS base\n"
        "from scratch as base2",
        "FromAsCasing:1: 'AS' and 'from' keywords' casing do not match"),
  CASE ("as of mixed from not checked",
        "FROM scratch\n"
        "From scratch AS a",
        "ConsistentInstructionCasing:2: Command 'From' should match the case of the command majority (uppercase)"),
  CASE ("stage name lower",
        "FROM scratch AS base",
        ""),
};

static const struct check_case stage_name_cases[] = {
  CASE ("duplicate",
        "FROM scratch AS b\n"
        "FROM scratch AS b",
        "DuplicateStageName:2: Duplicate stage name \"b\", stage names should be unique"),
  CASE ("duplicate in other case",
        "FROM scratch AS b\n"
        "FROM scratch AS B",
        "StageNameCasing:2: Stage name 'B' should be lowercase\n"
        "DuplicateStageName:2: Duplicate stage name \"b\", stage names should be unique"),
  CASE ("unique",
        "FROM scratch AS b1\n"
        "FROM scratch AS b2",
        ""),
  CASE ("reserved",
        "FROM scratch AS scratch\n"
        "FROM scratch AS context",
        "ReservedStageName:1: Stage name should not use the same name as reserved stage \"scratch\"\n"
        "ReservedStageName:2: Stage name should not use the same name as reserved stage \"context\""),
  CASE ("reserved base without name",
        "FROM scratch\n"
        "FROM scratch AS a",
        ""),
};

static const struct check_case instruction_cases[] = {
  CASE ("maintainer",
        "FROM scratch\n"
        "MAINTAINER me@example.org",
        "MaintainerDeprecated:2: Maintainer instruction is deprecated in favor of using label"),
  CASE ("label for author",
        "FROM scratch\n"
        "LABEL org.opencontainers.image.authors=\"me@example.org\"",
        ""),
  CASE ("shell form cmd",
        "FROM scratch\n"
        "CMD mycommand",
        "JSONArgsRecommended:2: JSON arguments recommended for CMD to prevent unintended behavior related to OS "
        "signals"),
  CASE ("shell form entrypoint",
        "FROM scratch\n"
        "ENTRYPOINT mycommand",
        "JSONArgsRecommended:2: JSON arguments recommended for ENTRYPOINT to prevent unintended behavior related to "
        "OS signals"),
  CASE ("keyword as written",
        "from scratch\n"
        "cmd mycommand",
        "JSONArgsRecommended:2: JSON arguments recommended for cmd to prevent unintended behavior related to OS "
        "signals"),
  CASE ("exec form cmd",
        "FROM scratch\n"
        "CMD [\"mycommand\"]\n"
        "ENTRYPOINT [\"a\"]",
        ""),
  CASE ("shell set",
        "FROM scratch\n"
        "SHELL [\"/usr/bin/customshell\"]\n"
        "CMD mycommand",
        ""),
  CASE ("shell set for entrypoint",
        "FROM scratch\n"
        "SHELL [\"/usr/bin/customshell\"]\n"
        "ENTRYPOINT mycommand",
        ""),
  CASE ("shell set in parent stage",
        "FROM scratch AS base\n"
        "SHELL [\"/usr/bin/customshell\"]\n"
        "\n"
        "FROM base\n"
        "CMD mycommand",
        ""),
  CASE ("shell set in other stage",
        "FROM scratch AS base\n"
        "SHELL [\"/bin/bash\"]\n"
        "\n"
        "FROM scratch\n"
        "CMD mycommand",
        "JSONArgsRecommended:5: JSON arguments recommended for CMD to prevent unintended behavior related to OS "
        "signals"),
  CASE ("multiple",
        "FROM scratch\n"
        "ENTRYPOINT [\"/myapp\"]\n"
        "ENTRYPOINT [\"/myotherapp\"]\n"
        "CMD [\"/myapp\"]\n"
        "CMD [\"/myotherapp\"]\n"
        "HEALTHCHECK CMD [\"/myapp\"]\n"
        "HEALTHCHECK CMD [\"/myotherapp\"]",
        "MultipleInstructionsDisallowed:2: Multiple ENTRYPOINT instructions should not be used in the same stage "
        "because only the last one will be used\n"
        "MultipleInstructionsDisallowed:4: Multiple CMD instructions should not be used in the same stage because "
        "only the last one will be used\n"
        "MultipleInstructionsDisallowed:6: Multiple HEALTHCHECK instructions should not be used in the same stage "
        "because only the last one will be used"),
  CASE ("multiple apart",
        "FROM scratch\n"
        "ENTRYPOINT [\"/myapp\"]\n"
        "CMD [\"/myapp\"]\n"
        "HEALTHCHECK CMD [\"/myapp\"]\n"
        "COPY <<EOF /a.txt\n"
        "Hello, World!\n"
        "EOF\n"
        "ENTRYPOINT [\"/myotherapp\"]\n"
        "CMD [\"/myotherapp\"]\n"
        "HEALTHCHECK CMD [\"/myotherapp\"]",
        "MultipleInstructionsDisallowed:2: Multiple ENTRYPOINT instructions should not be used in the same stage "
        "because only the last one will be used\n"
        "MultipleInstructionsDisallowed:3: Multiple CMD instructions should not be used in the same stage because "
        "only the last one will be used\n"
        "MultipleInstructionsDisallowed:4: Multiple HEALTHCHECK instructions should not be used in the same stage "
        "because only the last one will be used"),
  CASE ("multiple in two stages",
        "FROM scratch AS a\n"
        "ENTRYPOINT [\"/myapp\"]\n"
        "CMD [\"/myapp\"]\n"
        "HEALTHCHECK CMD [\"/myapp\"]\n"
        "\n"
        "FROM a AS b\n"
        "ENTRYPOINT [\"/myotherapp\"]\n"
        "CMD [\"/myotherapp\"]\n"
        "HEALTHCHECK CMD [\"/myotherapp\"]",
        ""),
  CASE ("legacy key value",
        "FROM scratch\n"
        "ENV testkey value\n"
        "LABEL key value",
        "LegacyKeyValueFormat:2: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format\n"
        "LegacyKeyValueFormat:3: \"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format"),
  CASE ("key value with equals",
        "FROM scratch\n"
        "ENV testkey=value\n"
        "LABEL key=value",
        ""),
  CASE ("legacy in unneeded stage",
        "FROM scratch AS a\n"
        "\n"
        "FROM a AS b\n"
        "ENV testkey value\n"
        "LABEL key value\n"
        "\n"
        "FROM a AS c",
        ""),
  CASE_WITH ("legacy in unneeded stage with --check",
        "FROM scratch AS a\n"
        "\n"
        "FROM a AS b\n"
        "ENV testkey value\n"
        "LABEL key value\n"
        "\n"
        "FROM a AS c",
        "LegacyKeyValueFormat:4: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format\n"
        "LegacyKeyValueFormat:5: \"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format",
        NULL, NULL, true, NULL),
  CASE ("legacy in stage the target needs",
        "FROM scratch AS a\n"
        "ENV k v\n"
        "FROM scratch AS b\n"
        "COPY --from=a / /",
        "LegacyKeyValueFormat:2: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format"),
  CASE_WITH ("legacy in stage before the target",
        "FROM scratch AS a\n"
        "ENV k v\n"
        "FROM scratch AS b\n"
        "FROM scratch AS c",
        "LegacyKeyValueFormat:2: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format",
        NULL, "a", false, NULL),
  CASE ("stage a mount needs",
        "FROM scratch AS a\n"
        "ENV k v\n"
        "FROM alpine\n"
        "RUN --mount=from=a,target=/a true",
        "LegacyKeyValueFormat:2: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format"),
  CASE ("stage an onbuild trigger needs",
        "FROM scratch AS x\n"
        "ENV k v\n"
        "FROM scratch AS base\n"
        "ONBUILD COPY --from=x / /\n"
        "FROM base",
        "LegacyKeyValueFormat:2: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format"),
  CASE ("stage index out of range",
        "FROM scratch\n"
        "COPY --from=5 /a /b\n"
        "WORKDIR rel",
        ""),
  CASE ("stage by index",
        "FROM scratch\n"
        "ENV k v\n"
        "FROM scratch\n"
        "COPY --from=0 /a /b",
        "LegacyKeyValueFormat:2: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format"),
  CASE ("workdir relative",
        "FROM scratch\n"
        "WORKDIR app/",
        "WorkdirRelativePath:2: Relative workdir \"app/\" can have unexpected results if the base image changes"),
  CASE ("workdir relative after absolute in parent",
        "FROM scratch AS a\n"
        "WORKDIR /app\n"
        "\n"
        "FROM a AS b\n"
        "WORKDIR subdir/",
        ""),
  CASE ("workdir relative once",
        "FROM scratch\n"
        "WORKDIR a\n"
        "WORKDIR b",
        "WorkdirRelativePath:2: Relative workdir \"a\" can have unexpected results if the base image changes"),
  CASE ("workdir expanded",
        "FROM scratch\n"
        "ARG DIR=src\n"
        "WORKDIR $DIR",
        "WorkdirRelativePath:3: Relative workdir \"src\" can have unexpected results if the base image changes"),
  CASE ("workdir absolute",
        "FROM scratch\n"
        "WORKDIR /app\n"
        "WORKDIR sub",
        ""),
  CASE ("expose mapping",
        "FROM alpine\n"
        "EXPOSE 127.0.0.1:80:80",
        "ExposeInvalidFormat:2: EXPOSE instruction should not define an IP address or host-port mapping, found "
        "'127.0.0.1:80:80'"),
  CASE ("expose host port",
        "FROM alpine\n"
        "EXPOSE 80:80",
        "ExposeInvalidFormat:2: EXPOSE instruction should not define an IP address or host-port mapping, found "
        "'80:80'"),
  CASE ("expose mapping from arg",
        "FROM alpine\n"
        "ARG P=8080:80\n"
        "EXPOSE $P/udp",
        "ExposeInvalidFormat:3: EXPOSE instruction should not define an IP address or host-port mapping, found "
        "'8080:80/udp'"),
  CASE ("expose port",
        "FROM alpine\n"
        "EXPOSE 80 443/tcp 53/udp 8000-8010 :81",
        ""),
  CASE ("expose protocol upper",
        "FROM alpine\n"
        "EXPOSE 80/TCP 53/Udp",
        "ExposeProtoCasing:2: Defined protocol '80/TCP' in EXPOSE instruction should be lowercase\n"
        "ExposeProtoCasing:2: Defined protocol '53/Udp' in EXPOSE instruction should be lowercase"),
  CASE ("expose both",
        "FROM alpine\n"
        "EXPOSE 80:80/TCP",
        "ExposeProtoCasing:2: Defined protocol '80:80/TCP' in EXPOSE instruction should be lowercase\n"
        "ExposeInvalidFormat:2: EXPOSE instruction should not define an IP address or host-port mapping, found "
        "'80:80/TCP'"),
};

static const struct check_case continuation_cases[] = {
  CASE ("empty continuation line",
        "FROM scratch\n"
        "# warning: empty continuation line\n"
        "COPY Dockerfile \\\n"
        "\n"
        ".\n"
        "COPY Dockerfile \\\n"
        ".\n",
        "NoEmptyContinuation:5: Empty continuation line"),
  CASE ("comment in continuation",
        "FROM scratch\n"
        "RUN a \\\n"
        "# note\n"
        "  b\n",
        ""),
  CASE ("before heredoc body",
        "FROM scratch\n"
        "RUN cat \\\n"
        "\n"
        "  <<EOF\n"
        "body\n"
        "line\n"
        "EOF\n"
        "CMD [\"a\"]\n",
        "NoEmptyContinuation:4: Empty continuation line"),
  CASE ("reported first",
        "FROM scratch\n"
        "MAINTAINER x\n"
        "RUN a \\\n"
        "\n"
        " b\n",
        "NoEmptyContinuation:5: Empty continuation line\n"
        "MaintainerDeprecated:2: Maintainer instruction is deprecated in favor of using label"),
};

static const struct check_case from_cases[] = {
  CASE ("platform constant",
        "FROM --platform=linux/amd64 scratch",
        "FromPlatformFlagConstDisallowed:1: FROM --platform flag should not use constant value \"linux/amd64\""),
  CASE ("platform in stage name",
        "FROM --platform=linux/amd64 scratch AS my_amd64_stage",
        ""),
  CASE ("os in stage name",
        "FROM --platform=linux/amd64 scratch AS linux",
        ""),
  CASE ("platform alias",
        "FROM --platform=linux/x86_64 scratch AS build-amd64",
        ""),
  CASE ("platform variable",
        "FROM --platform=$BUILDPLATFORM scratch",
        ""),
  CASE ("target platform",
        "FROM --platform=$TARGETPLATFORM scratch",
        "RedundantTargetPlatform:1: Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is "
        "the default behavior"),
  CASE ("target platform braces",
        "FROM --platform=${TARGETPLATFORM} scratch",
        "RedundantTargetPlatform:1: Setting platform to predefined ${TARGETPLATFORM} in FROM is redundant as this "
        "is the default behavior"),
  CASE ("target platform with more",
        "FROM --platform=${TARGETPLATFORM}/v2 scratch",
        ""),
  CASE ("global arg",
        "ARG base=scratch\n"
        "FROM $base\n"
        "COPY Dockerfile .",
        ""),
  CASE ("predefined arg redeclared",
        "ARG BUILDPLATFORM=linux/amd64\n"
        "FROM --platform=$BUILDPLATFORM scratch",
        ""),
  CASE ("undeclared platform arg",
        "FROM --platform=$BULIDPLATFORM scratch\n"
        "COPY Dockerfile .",
        "UndefinedArgInFrom:1: FROM argument 'BULIDPLATFORM' is not declared (did you mean BUILDPLATFORM?)"),
  CASE ("undeclared arg hint",
        "ARG MY_OS=linux\n"
        "ARG MY_ARCH=amd64\n"
        "FROM --platform=linux/${MYARCH} busybox\n",
        "UndefinedArgInFrom:3: FROM argument 'MYARCH' is not declared (did you mean MY_ARCH?)"),
  CASE ("undeclared arg in image",
        "ARG tag=latest\n"
        "FROM busybox:${tag}${version} AS b\n"
        "COPY Dockerfile .",
        "UndefinedArgInFrom:2: FROM argument 'version' is not declared"),
  CASE ("declared without value",
        "ARG TAG\n"
        "FROM alpine:${TAG:-3.14}",
        ""),
  CASE_WITH ("build arg without arg",
        "FROM $IMG",
        "InvalidDefaultArgInFrom:1: Default value for ARG $IMG results in empty or invalid base image name\n"
        "UndefinedArgInFrom:1: FROM argument 'IMG' is not declared",
        "IMG=alpine", NULL, false, NULL),
  CASE_WITH ("default empty tag",
        "ARG VERSION\n"
        "FROM busybox:$VERSION",
        "InvalidDefaultArgInFrom:2: Default value for ARG busybox:$VERSION results in empty or invalid base image "
        "name",
        "VERSION=latest", NULL, false, NULL),
  CASE_WITH ("default empty image",
        "ARG IMAGE\n"
        "FROM $IMAGE",
        "InvalidDefaultArgInFrom:2: Default value for ARG $IMAGE results in empty or invalid base image name",
        "IMAGE=busybox:latest", NULL, false, NULL),
  CASE_WITH ("default bad tag",
        "ARG SFX=\"box:\"\n"
        "FROM busy${SFX}",
        "InvalidDefaultArgInFrom:2: Default value for ARG busy${SFX} results in empty or invalid base image name",
        "SFX=box:latest", NULL, false, NULL),
  CASE_WITH ("default valid",
        "ARG VERSION=\"latest\"\n"
        "FROM busybox:${VERSION}",
        "",
        "VERSION=latest", NULL, false, NULL),
  CASE_WITH ("default empty variant",
        "ARG BUSYBOX_VARIANT=\"\"\n"
        "FROM busybox:stable${BUSYBOX_VARIANT}",
        "",
        "BUSYBOX_VARIANT=-musl", NULL, false, NULL),
  CASE_WITH ("default no variant",
        "ARG BUSYBOX_VARIANT\n"
        "FROM busybox:stable${BUSYBOX_VARIANT}",
        "",
        "BUSYBOX_VARIANT=-musl", NULL, false, NULL),
  CASE ("default upper case image",
        "ARG IMG=Alpine\n"
        "FROM $IMG",
        "InvalidDefaultArgInFrom:2: Default value for ARG $IMG results in empty or invalid base image name"),
  CASE ("registry with port and digest",
        "FROM localhost:5000/a/b:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ""),
};

static const struct check_case secret_cases[] = {
  CASE ("secrets",
        "FROM scratch\n"
        "ARG SECRET_PASSPHRASE\n"
        "ENV SUPER_Secret=foo\n"
        "ENV password=bar secret=baz\n"
        "ARG super_duper_secret_token=foo auth=bar\n"
        "ENV apikey=bar sunflower=foo\n"
        "ENV git_key=\n",
        "SecretsUsedInArgOrEnv:2: Do not use ARG or ENV instructions for sensitive data (ARG \"SECRET_PASSPHRASE\")\n"
        "SecretsUsedInArgOrEnv:3: Do not use ARG or ENV instructions for sensitive data (ENV \"SUPER_Secret\")\n"
        "SecretsUsedInArgOrEnv:4: Do not use ARG or ENV instructions for sensitive data (ENV \"password\")\n"
        "SecretsUsedInArgOrEnv:4: Do not use ARG or ENV instructions for sensitive data (ENV \"secret\")\n"
        "SecretsUsedInArgOrEnv:5: Do not use ARG or ENV instructions for sensitive data (ARG "
        "\"super_duper_secret_token\")\n"
        "SecretsUsedInArgOrEnv:5: Do not use ARG or ENV instructions for sensitive data (ARG \"auth\")\n"
        "SecretsUsedInArgOrEnv:6: Do not use ARG or ENV instructions for sensitive data (ENV \"apikey\")\n"
        "SecretsUsedInArgOrEnv:7: Do not use ARG or ENV instructions for sensitive data (ENV \"git_key\")"),
  CASE ("not secrets",
        "FROM scratch\n"
        "ARG PUBLIC_KEY\n"
        "ENV MONKEY=1 KEYBOARD=2 AUTHOR=3 GPG_KEY_PUBLIC=4",
        ""),
  CASE ("global arg not checked",
        "ARG TOKEN\n"
        "FROM scratch",
        ""),
  CASE ("legacy env",
        "FROM scratch\n"
        "ENV AWS_SECRET_ACCESS_KEY abc",
        "LegacyKeyValueFormat:2: \"ENV key=value\" should be used instead of legacy \"ENV key value\" format\n"
        "SecretsUsedInArgOrEnv:2: Do not use ARG or ENV instructions for sensitive data (ENV "
        "\"AWS_SECRET_ACCESS_KEY\")"),
};

static const struct check_case undefined_var_cases[] = {
  CASE ("declared arg",
        "FROM scratch\n"
        "ARG foo\n"
        "COPY Dockerfile${foo} .",
        ""),
  CASE ("arg of parent stage",
        "FROM alpine AS base\n"
        "ARG foo=Dockerfile\n"
        "\n"
        "FROM base\n"
        "COPY $foo .",
        ""),
  CASE ("shell form run",
        "FROM alpine\n"
        "RUN echo $PATH $NOPE\n"
        "CMD echo $NOPE",
        "JSONArgsRecommended:3: JSON arguments recommended for CMD to prevent unintended behavior related to OS "
        "signals"),
  CASE ("used before arg",
        "FROM alpine\n"
        "COPY $foo .\n"
        "ARG foo=bar\n"
        "RUN echo $foo",
        "UndefinedVar:2: Usage of undefined variable '$foo'"),
  CASE ("typo of arg",
        "FROM alpine\n"
        "ARG DIR_BINARIES=binaries/\n"
        "ARG DIR_ASSETS=assets/\n"
        "ARG DIR_CONFIG=config/\n"
        "COPY $DIR_ASSET .\n",
        "UndefinedVar:5: Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)"),
  CASE ("typo of path",
        "FROM alpine\n"
        "ENV PATH=$PAHT:/tmp/bin",
        "UndefinedVar:2: Usage of undefined variable '$PAHT' (did you mean $PATH?)"),
  CASE ("unneeded stage",
        "FROM scratch AS first\n"
        "COPY $foo .\n"
        "\n"
        "FROM scratch AS second\n"
        "COPY $bar .",
        "UndefinedVar:5: Usage of undefined variable '$bar'"),
  CASE_WITH ("every stage with --check",
        "FROM scratch AS first\n"
        "COPY $foo .\n"
        "\n"
        "FROM scratch AS second\n"
        "COPY $bar .",
        "UndefinedVar:2: Usage of undefined variable '$foo'\n"
        "UndefinedVar:5: Usage of undefined variable '$bar'",
        NULL, NULL, true, NULL),
  CASE ("arg default",
        "FROM alpine AS base\n"
        "ARG VERSION=$foo",
        "UndefinedVar:2: Usage of undefined variable '$foo'"),
  CASE_WITH ("arg default with build arg",
        "FROM alpine AS base\n"
        "ARG VERSION=$foo",
        "",
        "VERSION=1", NULL, false, NULL),
  CASE ("env of same instruction",
        "FROM alpine\n"
        "ENV A=1 B=$A",
        "UndefinedVar:2: Usage of undefined variable '$A'"),
  CASE ("env of earlier instruction",
        "FROM alpine\n"
        "ENV A=1\n"
        "ENV B=$A",
        ""),
  CASE ("default value",
        "FROM alpine\n"
        "WORKDIR /${APP:-app}",
        "UndefinedVar:2: Usage of undefined variable '$APP'"),
  CASE ("global arg needs redeclaring",
        "ARG V=1\n"
        "FROM alpine\n"
        "LABEL v=$V",
        "UndefinedVar:3: Usage of undefined variable '$V'"),
  CASE ("global arg redeclared",
        "ARG V=1\n"
        "FROM alpine\n"
        "ARG V\n"
        "LABEL v=$V",
        ""),
  CASE ("predefined arg",
        "FROM alpine\n"
        "ARG TARGETARCH\n"
        "COPY bin/$TARGETARCH /bin",
        ""),
  CASE ("heredoc body",
        "FROM alpine\n"
        "COPY <<EOF /x\n"
        "$NOPE\n"
        "EOF\n",
        "UndefinedVar:2: Usage of undefined variable '$NOPE'"),
  CASE ("quoted heredoc body",
        "FROM alpine\n"
        "COPY <<'EOF' /x\n"
        "$NOPE\n"
        "EOF\n",
        ""),
  CASE ("mount value",
        "FROM alpine\n"
        "RUN --mount=type=cache,target=$CACHE true",
        "UndefinedVar:2: Usage of undefined variable '$CACHE'"),
  CASE ("user and volume",
        "FROM alpine\n"
        "USER $U\n"
        "VOLUME $V /data",
        "UndefinedVar:2: Usage of undefined variable '$U'\n"
        "UndefinedVar:3: Usage of undefined variable '$V'"),
  CASE ("onbuild trigger runs in child",
        "FROM alpine AS base\n"
        "ONBUILD COPY $X /\n"
        "FROM base",
        "UndefinedVar:3: Usage of undefined variable '$X'"),
  CASE ("stops where the build fails",
        "FROM alpine\n"
        "COPY ${A:?required} /\n"
        "WORKDIR rel",
        "UndefinedVar:2: Usage of undefined variable '$A'"),
  CASE ("sbom scan args",
        "FROM alpine\n"
        "LABEL a=$BUILDKIT_SBOM_SCAN_STAGE",
        ""),
};

static const struct check_case ignore_cases[] = {
  CASE_WITH ("experimental rule off",
        "FROM scratch\n"
        "COPY Dockerfile .\n"
        "ADD Dockerfile /windy",
        "",
        NULL, NULL, false, "Dockerfile\n"),
  CASE_WITH ("experimental rule on",
        "# check=experimental=CopyIgnoredFile\n"
        "FROM scratch\n"
        "COPY Dockerfile .\n"
        "ADD Dockerfile /windy",
        "CopyIgnoredFile:3: Attempting to Copy file \"Dockerfile\" that is excluded by .dockerignore\n"
        "CopyIgnoredFile:4: Attempting to Add file \"Dockerfile\" that is excluded by .dockerignore",
        NULL, NULL, false, "Dockerfile\n"),
  CASE_WITH ("skip all keeps experimental",
        "# check=skip=all;experimental=CopyIgnoredFile\n"
        "FROM scratch\n"
        "COPY Dockerfile .\n"
        "ADD Dockerfile /windy",
        "CopyIgnoredFile:3: Attempting to Copy file \"Dockerfile\" that is excluded by .dockerignore\n"
        "CopyIgnoredFile:4: Attempting to Add file \"Dockerfile\" that is excluded by .dockerignore",
        NULL, NULL, false, "Dockerfile\n"),
  CASE_WITH ("destination and other stage",
        "# check=experimental=all\n"
        "FROM scratch AS base\n"
        "COPY Dockerfile /foobar\n"
        "ADD Dockerfile /windy\n"
        "\n"
        "FROM base\n"
        "COPY --from=base /foobar /Dockerfile",
        "",
        NULL, NULL, false, "foobar\n"),
  CASE_WITH ("parent directory excluded",
        "# check=experimental=CopyIgnoredFile\n"
        "FROM scratch\n"
        "COPY ./tmp/helloworld.txt /h",
        "CopyIgnoredFile:3: Attempting to Copy file \"./tmp/helloworld.txt\" that is excluded by .dockerignore",
        NULL, NULL, false, "*/tmp/*\n"),
  CASE_WITH ("url source",
        "# check=experimental=CopyIgnoredFile\n"
        "FROM scratch\n"
        "ADD https://example.com/a.txt /",
        "",
        NULL, NULL, false, "*\n"),
};

static const struct check_case option_cases[] = {
  CASE ("skip all",
        "#check=skip=all\n"
        "FROM scratch as base\n"
        "copy Dockerfile .",
        ""),
  CASE ("skip two",
        "#check=skip=ConsistentInstructionCasing,FromAsCasing\n"
        "FROM scratch as base\n"
        "copy Dockerfile .",
        ""),
  CASE ("skip one",
        "#check=skip=ConsistentInstructionCasing\n"
        "FROM scratch as base\n"
        "copy Dockerfile .",
        "FromAsCasing:2: 'as' and 'FROM' keywords' casing do not match"),
  CASE ("skip with spaces",
        "#check= skip = FromAsCasing , ConsistentInstructionCasing ;error=false\n"
        "FROM scratch as base\n"
        "copy Dockerfile .",
        ""),
  CASE_WITH ("build arg replaces directive",
        "#check=skip=all\n"
        "FROM scratch as base\n"
        "copy Dockerfile .",
        "FromAsCasing:2: 'as' and 'FROM' keywords' casing do not match",
        "BUILDKIT_DOCKERFILE_CHECK=skip=ConsistentInstructionCasing;error=true", NULL, false, NULL),
  CASE_WITH ("build arg skips all",
        "#check=error=true\n"
        "FROM scratch as base\n"
        "copy Dockerfile .",
        "",
        "BUILDKIT_DOCKERFILE_CHECK=skip=all", NULL, false, NULL),
  CASE_WITH ("bad build arg",
        "FROM scratch",
        "error: invalid check option 'color' in build arg BUILDKIT_DOCKERFILE_CHECK: want skip, experimental or error",
        "BUILDKIT_DOCKERFILE_CHECK=color=red", NULL, false, NULL),
  CASE_WITH ("bad build arg bool",
        "FROM scratch",
        "error: invalid value 'maybe' for check option 'error' in build arg BUILDKIT_DOCKERFILE_CHECK: want true or "
        "false",
        "BUILDKIT_DOCKERFILE_CHECK=error=maybe", NULL, false, NULL),
  CASE_WITH ("unknown target",
        "FROM scratch AS a\n"
        "WORKDIR rel\n"
        "from scratch AS b",
        "FromAsCasing:3: 'AS' and 'from' keywords' casing do not match\n"
        "ConsistentInstructionCasing:3: Command 'from' should match the case of the command majority (uppercase)",
        NULL, "c", false, NULL),
  CASE ("only global args",
        "ARG A=1",
        ""),
};

/* error=true fails the build once a warning is left after skip=. */
static void
test_fail (void)
{
  static const struct
  {
    const char *dockerfile;
    const char *want; /* NULL when the build may go on */
  } cases[] = {
    { "#check=skip=ConsistentInstructionCasing;error=true\nFROM scratch as base\ncopy Dockerfile .",
      "lint violation found for rules: FromAsCasing" },
    { "#check=error=true\nFROM scratch as base\ncopy a .\nCMD x\nCMD y",
      "lint violation found for rules: FromAsCasing, ConsistentInstructionCasing, JSONArgsRecommended, "
      "MultipleInstructionsDisallowed" },
    { "#check=skip=all;error=true\nFROM scratch as base\ncopy Dockerfile .", NULL },
    { "#check=skip=ConsistentInstructionCasing,FromAsCasing;error=true\nFROM scratch as base\ncopy Dockerfile .",
      NULL },
    { "FROM scratch as base", NULL },
  };

  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      struct cb_dockerfile *df = NULL;
      struct cb_check_result res;
      cbuild_error err = { 0 };

      CHECK_INT (cb_dockerfile_parse (cases[i].dockerfile, strlen (cases[i].dockerfile), "Dockerfile", &df, &err), 0);
      CHECK_INT (cb_dockerfile_check (df, NULL, &res, &err), 0);
      CHECK_INT (cb_check_result_fail (&res, &err), cases[i].want ? -1 : 0);
      if (cases[i].want)
        {
          CHECK_STR (err.message, cases[i].want);
          CHECK_INT (err.code, CBUILD_ERR_INVALID);
        }
      cb_check_result_release (&res);
      cb_dockerfile_free (df);
    }
}

static void
test_warning_fields (void)
{
  const char *text = "FROM scratch\nCMD x\n";
  struct cb_dockerfile *df = NULL;
  struct cb_check_result res;
  cbuild_error err = { 0 };
  char *line;

  CHECK_INT (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &df, &err), 0);
  CHECK_INT (cb_dockerfile_check (df, NULL, &res, &err), 0);
  CHECK_INT (res.n_warnings, 1);
  if (res.n_warnings == 1)
    {
      CHECK_STR (res.warnings[0].rule, "JSONArgsRecommended");
      CHECK_STR (res.warnings[0].url, "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
      CHECK_STR (res.warnings[0].description,
                 "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended behavior related to OS signals");
      CHECK_INT (res.warnings[0].line, 2);
      line = cb_check_warning_format (&res.warnings[0]);
      CHECK_STR (line, "JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior "
                       "related to OS signals (line 2)");
      free (line);
    }
  CHECK (!res.error);
  cb_check_result_release (&res);
  cb_dockerfile_free (df);
}

/* UndefinedVar with the base image's Env from the builder. */
static void
test_base_env (void)
{
  static const struct check_case with_env = CASE ("base env",
                                                  "FROM python AS base\n"
                                                  "ARG VERSION=$PYTHON_VERSION\n"
                                                  "FROM base\n"
                                                  "ENV V=$PYTHON_VERSION",
                                                  "");
  static const struct check_case no_env = CASE ("unknown base env",
                                                "FROM python\n"
                                                "ARG VERSION=$PYTHON_VERSION",
                                                "UndefinedVar:2: Usage of undefined variable '$PYTHON_VERSION'");
  static const struct check_case other_image = CASE ("other image",
                                                     "FROM alpine\n"
                                                     "ARG VERSION=$PYTHON_VERSON",
                                                     "UndefinedVar:2: Usage of undefined variable '$PYTHON_VERSON'");
  static const struct check_case hint = CASE ("hint from base env",
                                              "FROM python\n"
                                              "ARG VERSION=$PYTHON_VERSON",
                                              "UndefinedVar:2: Usage of undefined variable '$PYTHON_VERSON' (did you "
                                              "mean $PYTHON_VERSION?)");
  struct cb_strv env = CB_STRV_INIT;
  char *got;

  cb_strv_push (&env, "PATH=/usr/local/bin:/usr/bin", NULL);
  cb_strv_push (&env, "PYTHON_VERSION=3.12.1", NULL);
  got = run_case (&with_env, python_env, &env);
  CHECK_STR (got, with_env.want);
  free (got);
  got = run_case (&no_env, NULL, NULL);
  CHECK_STR (got, no_env.want);
  free (got);
  got = run_case (&other_image, python_env, &env);
  CHECK_STR (got, other_image.want);
  free (got);
  got = run_case (&hint, python_env, &env);
  CHECK_STR (got, hint.want);
  free (got);
  cb_strv_release (&env);
}

/* The lexer names the variables it looks up, for UndefinedVar. */
static void
test_lexer_matches (void)
{
  struct cb_strv env = CB_STRV_INIT, matched = CB_STRV_INIT, unmatched = CB_STRV_INIT;
  struct cb_lex_opts opts = { .escape = '\\', .matched = &matched, .unmatched = &unmatched };
  const char *word = "$A ${B:-x} ${C} $A '$D' ${E/a/b}";
  char *result = NULL;

  cb_strv_push (&env, "A=1", NULL);
  cb_strv_push (&env, "C=", NULL);
  CHECK_INT (cb_lex_process (word, strlen (word), &opts, &env, &result, NULL, NULL), 0);
  CHECK_STR (result, "1 x  1 $D ");
  CHECK_INT (matched.len, 2);
  CHECK_INT (unmatched.len, 2);
  if (matched.len == 2 && unmatched.len == 2)
    {
      CHECK_STR (matched.items[0], "A");
      CHECK_STR (matched.items[1], "C");
      CHECK_STR (unmatched.items[0], "B");
      CHECK_STR (unmatched.items[1], "E");
    }
  free (result);

  /* Heredoc bodies keep quotes and still expand inside them. */
  opts.skip_quotes = true;
  CHECK_INT (cb_lex_process ("'$A' \"$A\"", 9, &opts, &env, &result, NULL, NULL), 0);
  CHECK_STR (result, "'1' \"1\"");
  free (result);
  cb_strv_release (&env);
  cb_strv_release (&matched);
  cb_strv_release (&unmatched);
}

/* Every Dockerfile of the fuzz corpus that parses goes through the checks
 * in both modes, so that a sanitizer build runs them on varied input. */
static void
test_corpus (void)
{
  const char *src = getenv ("CBUILD_SOURCE_DIR");
  struct cb_buf dir = CB_BUF_INIT;
  struct dirent *de;
  DIR *d;
  int files = 0;

  cb_buf_printf (&dir, NULL, "%s/tests/fuzz/corpus/dockerfile", src ? src : ".");
  d = opendir (cb_buf_str (&dir));
  CHECK (d != NULL);
  while (d && (de = readdir (d)) != NULL)
    {
      struct cb_buf path = CB_BUF_INIT;
      struct cb_dockerfile *df = NULL;
      cbuild_error err = { 0 };
      char text[65536];
      size_t len;
      FILE *f;

      if (de->d_name[0] == '.')
        continue;
      cb_buf_printf (&path, NULL, "%s/%s", cb_buf_str (&dir), de->d_name);
      f = fopen (cb_buf_str (&path), "rb");
      cb_buf_release (&path);
      if (f == NULL)
        continue;
      len = fread (text, 1, sizeof text, f);
      fclose (f);
      files++;
      if (cb_dockerfile_parse (text, len, "Dockerfile", &df, &err) < 0)
        continue;
      for (int all = 0; all < 2; all++)
        {
          struct cb_check_options opts = { .all_stages = all };
          struct cb_check_result res;

          CHECK_INT (cb_dockerfile_check (df, &opts, &res, &err), 0);
          cb_check_result_release (&res);
        }
      cb_dockerfile_free (df);
    }
  if (d)
    closedir (d);
  CHECK (files > 0);
  cb_buf_release (&dir);
}

int
main (void)
{
  RUN_CASES (casing_cases);
  RUN_CASES (stage_name_cases);
  RUN_CASES (instruction_cases);
  RUN_CASES (continuation_cases);
  RUN_CASES (from_cases);
  RUN_CASES (secret_cases);
  RUN_CASES (undefined_var_cases);
  RUN_CASES (ignore_cases);
  RUN_CASES (option_cases);
  test_fail ();
  test_warning_fields ();
  test_base_env ();
  test_lexer_matches ();
  test_corpus ();
  return check_report ();
}
