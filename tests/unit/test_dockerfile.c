/* Dockerfile parser: each case is a Dockerfile and either the parse tree,
 * dumped one instruction per "(...)" as BuildKit's parser tests dump it,
 * or the error message that docker build gives for it (in cbuild's
 * wording). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common/buf.h"
#include "parser/dockerfile.h"

struct parse_case
{
  const char *name;
  const char *text;
  const char *want; /* dump, or "error: message" */
};

static void
dump_quoted (struct cb_buf *b, const char *s)
{
  cb_buf_append_char (b, '"', NULL);
  for (; *s; s++)
    {
      if (*s == '"' || *s == '\\')
        cb_buf_printf (b, NULL, "\\%c", *s);
      else if (*s == '\n')
        cb_buf_append_str (b, "\\n", NULL);
      else if (*s == '\t')
        cb_buf_append_str (b, "\\t", NULL);
      else if (*s == '\r')
        cb_buf_append_str (b, "\\r", NULL);
      else
        cb_buf_append_char (b, *s, NULL);
    }
  cb_buf_append_char (b, '"', NULL);
}

static void
dump_instruction (struct cb_buf *b, const struct cb_instruction *ins)
{
  cb_buf_printf (b, NULL, "(%s", ins->cmd);
  if (ins->n_flags)
    {
      cb_buf_append_str (b, " [", NULL);
      for (size_t i = 0; i < ins->n_flags; i++)
        {
          if (i)
            cb_buf_append_char (b, ' ', NULL);
          dump_quoted (b, ins->flags[i]);
        }
      cb_buf_append_char (b, ']', NULL);
    }
  if (ins->json)
    cb_buf_append_str (b, " json", NULL);
  for (size_t i = 0; i < ins->n_args; i++)
    {
      cb_buf_append_char (b, ' ', NULL);
      dump_quoted (b, ins->args[i]);
    }
  for (size_t i = 0; i < ins->n_heredocs; i++)
    {
      const struct cb_heredoc *d = &ins->heredocs[i];
      cb_buf_printf (b, NULL, " <<%s%s%s=", d->name, d->expand ? "" : ",noexpand", d->chomp ? ",chomp" : "");
      dump_quoted (b, d->content);
    }
  if (ins->next)
    {
      cb_buf_append_char (b, ' ', NULL);
      dump_instruction (b, ins->next);
    }
  cb_buf_append_char (b, ')', NULL);
}

/* Returns the dump of text, or "error: " and the first line of the error
 * message (caller frees). test_error_caret checks the lines after it. */
static char *
parse_dump (const char *text, size_t len)
{
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };
  struct cb_buf b = CB_BUF_INIT;

  if (cb_dockerfile_parse (text, len, "Dockerfile", &df, &err) < 0)
    {
      cb_buf_printf (&b, NULL, "error: %.*s", (int) strcspn (err.message, "\n"), err.message);
      if (err.code != CBUILD_ERR_PARSE)
        cb_buf_printf (&b, NULL, " (code %d)", err.code);
      return cb_buf_detach (&b);
    }
  for (size_t i = 0; i < df->n_instructions; i++)
    dump_instruction (&b, &df->instructions[i]);
  cb_dockerfile_free (df);
  return cb_buf_detach (&b);
}

static void
run_cases (const struct parse_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      char *got = parse_dump (cases[i].text, strlen (cases[i].text));
      if (strcmp (got, cases[i].want) != 0)
        fprintf (stderr, "case '%s':\n", cases[i].name);
      CHECK_STR (got, cases[i].want);
      free (got);
    }
}

#define RUN_CASES(table) run_cases (table, sizeof table / sizeof table[0])

static const struct parse_case line_cases[] = {
  { "basic", "FROM alpine\nRUN echo hi\n", "(from \"alpine\")(run \"echo hi\")" },
  { "keywords any case", "from alpine\nrUn echo hi", "(from \"alpine\")(run \"echo hi\")" },
  { "crlf", "FROM alpine\r\nRUN echo hi\r\n", "(from \"alpine\")(run \"echo hi\")" },
  { "utf8 bom", "\xEF\xBB\xBF" "FROM alpine\n", "(from \"alpine\")" },
  { "leading whitespace", "   FROM alpine\n\t RUN echo hi", "(from \"alpine\")(run \"echo hi\")" },
  { "trailing whitespace", "FROM alpine   \nRUN echo hi \t", "(from \"alpine\")(run \"echo hi\")" },
  { "comments skipped", "# c\nFROM a\n  # indented comment\nRUN x # not a comment",
    "(from \"a\")(run \"x # not a comment\")" },
  { "continuation joins as written", "FROM a\nRUN echo \\\n  hello", "(from \"a\")(run \"echo   hello\")" },
  { "blanks after escape", "FROM a\nRUN echo \\  \t\n world", "(from \"a\")(run \"echo  world\")" },
  { "comment inside continuation", "FROM a\nRUN a \\\n# comment\n  # indented\n b", "(from \"a\")(run \"a  b\")" },
  { "empty line inside continuation", "FROM a\nRUN a \\\n\n b", "(from \"a\")(run \"a  b\")" },
  { "blank line inside continuation", "FROM a\nRUN a \\\n \t \n b", "(from \"a\")(run \"a  b\")" },
  { "continuation at eof", "FROM a\nRUN echo hi \\", "(from \"a\")(run \"echo hi\")" },
  { "continuation then eof after comment", "FROM a\nRUN echo hi \\\n# end", "(from \"a\")(run \"echo hi\")" },
  { "escaped escape ends line", "FROM a\nRUN echo a\\\\\nRUN b", "(from \"a\")(run \"echo a\\\\\\\\\")(run \"b\")" },
  { "escape alone on a line", "FROM a\n\\\nRUN x", "(from \"a\")(run \"x\")" },
  { "continuation keeps crlf out", "FROM a\r\nRUN a \\\r\n b\r\n", "(from \"a\")(run \"a  b\")" },
  { "continuation inside json", "FROM a\nCMD [\"a\", \\\n  \"b\"]", "(from \"a\")(cmd json \"a\" \"b\")" },
  { "backtick escape", "# escape=`\nFROM a\nRUN echo \\\nRUN dir `\n  c:\\",
    "(from \"a\")(run \"echo \\\\\")(run \"dir   c:\\\\\")" },
  { "backtick escape continuation", "# escape=`\nFROM a\nRUN a `\n b", "(from \"a\")(run \"a  b\")" },
  { "directive name any case", "# ESCAPE=`\nFROM a\nRUN a `\nb", "(from \"a\")(run \"a b\")" },
  { "directive spaces", "#  escape  =  `  \nFROM a\nRUN a `\nb", "(from \"a\")(run \"a b\")" },
  { "directive after comment is a comment", "# hello\n# escape=`\nFROM a\nRUN a \\\n b", "(from \"a\")(run \"a  b\")" },
  { "directive after blank line", "\n# escape=`\nFROM a\nRUN a \\\n b", "(from \"a\")(run \"a  b\")" },
  { "directive after instruction", "FROM a\n# escape=`\nRUN a \\\n b", "(from \"a\")(run \"a  b\")" },
  { "unknown directive ends directives", "# foo=bar\n# escape=`\nFROM a\nRUN a \\\n b", "(from \"a\")(run \"a  b\")" },
  { "bom then directive", "\xEF\xBB\xBF# escape=`\nFROM a\nRUN a `\n b", "(from \"a\")(run \"a  b\")" },
  { "repeated escape directive", "# escape=`\n# escape=\\\nFROM a",
    "error: Dockerfile:2:1: only one 'escape' parser directive can be used" },
  { "repeated syntax directive", "# syntax=docker/dockerfile:1\n# Syntax=docker/dockerfile:1\nFROM a",
    "error: Dockerfile:2:1: only one 'syntax' parser directive can be used" },
  { "invalid escape directive", "# escape=x\nFROM a", "error: Dockerfile:1:1: invalid escape token 'x': want \\ or `" },
  { "no instructions", "", "error: Dockerfile: file with no instructions" },
  { "only comments", "# syntax=docker/dockerfile:1\n# hello\n\n   \n", "error: Dockerfile: file with no instructions" },
};

static const struct parse_case syntax_cases[] = {
  { "syntax 1", "# syntax=docker/dockerfile:1\nFROM a", "(from \"a\")" },
  { "syntax docker.io", "# syntax=docker.io/docker/dockerfile:1\nFROM a", "(from \"a\")" },
  { "syntax labs", "# syntax=docker/dockerfile:1.7-labs\nFROM a", "(from \"a\")" },
  { "syntax patch", "# syntax=docker/dockerfile:1.4.3\nFROM a", "(from \"a\")" },
  { "syntax untagged", "# syntax=docker/dockerfile\nFROM a", "(from \"a\")" },
  { "syntax digest",
    "# syntax=docker/dockerfile:1@sha256:ac85f380a63b13dfcefa89046420e1781752bab202122f8f50032edf31be0021\nFROM a",
    "(from \"a\")" },
  { "syntax other frontend", "# syntax=foo/bar:1\nFROM a",
    "error: Dockerfile:1:1: unsupported syntax 'foo/bar:1': cbuild has a built-in frontend for docker/dockerfile:1 "
    "and cannot load another one; remove the syntax directive or name docker/dockerfile:1" },
  { "syntax old major", "# syntax=docker/dockerfile:0.9\nFROM a",
    "error: Dockerfile:1:1: unsupported syntax 'docker/dockerfile:0.9': cbuild has a built-in frontend for "
    "docker/dockerfile:1 and cannot load another one; remove the syntax directive or name docker/dockerfile:1" },
  { "syntax upstream", "# syntax=docker/dockerfile-upstream:master\nFROM a",
    "error: Dockerfile:1:1: unsupported syntax 'docker/dockerfile-upstream:master': cbuild has a built-in frontend "
    "for docker/dockerfile:1 and cannot load another one; remove the syntax directive or name docker/dockerfile:1" },
  { "check directive", "# check=skip=JSONArgsRecommended;error=true\nFROM a", "(from \"a\")" },
  { "check directive bad bool", "# check=error=maybe\nFROM a",
    "error: Dockerfile:1:1: invalid check directive value 'maybe' for error: want true or false" },
  { "check directive bad key", "# check=foo=1\nFROM a",
    "error: Dockerfile:1:1: invalid check directive option 'foo': want skip, experimental or error" },
  { "check directive three parts", "# check=skip=all;experimental=CopyIgnoredFile;error=false\nFROM a", "(from \"a\")" },
  { "check directive four parts", "# check=skip=a;error=true;error=false;x=1\nFROM a",
    "error: Dockerfile:1:1: invalid check directive value 'false;x=1' for error: want true or false" },
};

static const struct parse_case instruction_cases[] = {
  { "from platform and name", "FROM --platform=$BUILDPLATFORM golang:1.22 AS build",
    "(from [\"--platform=$BUILDPLATFORM\"] \"golang:1.22\" \"AS\" \"build\")" },
  { "from as any case", "FROM a as Build", "(from \"a\" \"as\" \"Build\")" },
  { "from no name", "FROM a AS", "error: Dockerfile:1:1: FROM requires either one or three arguments (FROM image AS name)" },
  { "from not as", "FROM a b c", "error: Dockerfile:1:1: FROM requires either one or three arguments (FROM image AS name)" },
  { "from empty", "FROM", "error: Dockerfile:1:1: FROM requires either one or three arguments (FROM image AS name)" },
  { "from bad stage name", "FROM a AS 1st",
    "error: Dockerfile:1:11: invalid stage name '1st': it must start with a letter and contain only letters, digits, "
    "'-', '_' and '.'" },
  { "from platform without value", "FROM --platform linux/amd64 alpine",
    "error: Dockerfile:1:6: missing value for flag '--platform' of FROM" },
  { "run exec form", "FROM a\nRUN [\"echo\", \"hi\"]", "(from \"a\")(run json \"echo\" \"hi\")" },
  { "run exec form spacing", "FROM a\nRUN   [ \"echo\" ,\"hi\"\t]  ", "(from \"a\")(run json \"echo\" \"hi\")" },
  { "json trailing comma is shell form", "FROM a\nRUN [\"echo\", \"hi\",]",
    "(from \"a\")(run \"[\\\"echo\\\", \\\"hi\\\",]\")" },
  { "json single quotes is shell form", "FROM a\nCMD ['a']", "(from \"a\")(cmd \"['a']\")" },
  { "json missing comma is shell form", "FROM a\nCMD [\"a\" \"b\"]", "(from \"a\")(cmd \"[\\\"a\\\" \\\"b\\\"]\")" },
  { "json trailing text is shell form", "FROM a\nCMD [\"a\"] x", "(from \"a\")(cmd \"[\\\"a\\\"] x\")" },
  { "json leading zero is shell form", "FROM a\nCMD [01]", "(from \"a\")(cmd \"[01]\")" },
  { "json unclosed is shell form", "FROM a\nCMD [\"a\"", "(from \"a\")(cmd \"[\\\"a\\\"\")" },
  { "json number is an error", "FROM a\nRUN [\"echo\", 1]",
    "error: Dockerfile:2:5: JSON arrays in exec form must contain only strings" },
  { "json object is an error", "FROM a\nCMD [{\"a\": [1, true, null]}]",
    "error: Dockerfile:2:5: JSON arrays in exec form must contain only strings" },
  { "json nested array is an error", "FROM a\nCMD [[]]",
    "error: Dockerfile:2:5: JSON arrays in exec form must contain only strings" },
  { "json null is an error", "FROM a\nENTRYPOINT [\"a\", null]",
    "error: Dockerfile:2:12: JSON arrays in exec form must contain only strings" },
  { "json escapes", "FROM a\nCMD [\"a\\u00e9\\n\", \"\\ud83d\\ude00\", \"\\ud83d\", \"\\/\\\\\"]",
    "(from \"a\")(cmd json \"a\xC3\xA9\\n\" \"\xF0\x9F\x98\x80\" \"\xEF\xBF\xBD\" \"/\\\\\")" },
  { "json invalid utf8 replaced", "FROM a\nCMD [\"a\xFF\"]", "(from \"a\")(cmd json \"a\xEF\xBF\xBD\")" },
  { "json control character is shell form", "FROM a\nCMD [\"a\tb\"]", "(from \"a\")(cmd \"[\\\"a\\tb\\\"]\")" },
  { "empty exec form", "FROM a\nCMD []\nENTRYPOINT []", "(from \"a\")(cmd json)(entrypoint json)" },
  { "empty cmd", "FROM a\nCMD", "(from \"a\")(cmd)" },
  { "run needs arguments", "FROM a\nRUN", "error: Dockerfile:2:1: RUN requires at least one argument" },
  { "shell json", "FROM a\nSHELL [\"/bin/bash\", \"-c\"]", "(from \"a\")(shell json \"/bin/bash\" \"-c\")" },
  { "shell not json", "FROM a\nSHELL /bin/bash -c",
    "error: Dockerfile:2:1: SHELL requires the arguments to be in JSON form, such as [\"/bin/sh\", \"-c\"]" },
  { "shell empty", "FROM a\nSHELL []", "error: Dockerfile:2:1: SHELL requires at least one argument" },
  { "label pairs", "FROM a\nLABEL a=b \"c d\"=\"e f\" g=",
    "(from \"a\")(label \"a\" \"b\" \"\\\"c d\\\"\" \"\\\"e f\\\"\" \"g\" \"\")" },
  { "label continuation", "FROM a\nLABEL a=1 \\\n      b=2", "(from \"a\")(label \"a\" \"1\" \"b\" \"2\")" },
  { "label legacy", "FROM a\nLABEL a b  c", "(from \"a\")(label \"a\" \"b  c\")" },
  { "label one word", "FROM a\nLABEL a", "error: Dockerfile:2:1: LABEL must have two arguments: use LABEL name=value" },
  { "label blank name", "FROM a\nLABEL =x", "error: Dockerfile:2:1: LABEL names can not be blank" },
  { "env pairs with quotes and escapes", "FROM a\nENV a=\"x y\" b=z\\ w c='q' d=\"x\\\"y\"",
    "(from \"a\")(env \"a\" \"\\\"x y\\\"\" \"b\" \"z\\\\ w\" \"c\" \"'q'\" \"d\" \"\\\"x\\\\\\\"y\\\"\")" },
  { "env legacy", "FROM a\nENV PATH /usr/local/bin:$PATH", "(from \"a\")(env \"PATH\" \"/usr/local/bin:$PATH\")" },
  { "env legacy quoted", "FROM a\nENV a 'x y'  z", "(from \"a\")(env \"a\" \"'x y'  z\")" },
  { "env missing equals", "FROM a\nENV a=1 b",
    "error: Dockerfile:2:1: can't find '=' in 'b': ENV arguments must be of the form name=value" },
  { "env no arguments", "FROM a\nENV", "error: Dockerfile:2:1: ENV requires at least one argument" },
  { "env empty value", "FROM a\nENV a=", "(from \"a\")(env \"a\" \"\")" },
  { "env quoted equals", "FROM a\nENV \"a=b\"=c", "(from \"a\")(env \"\\\"a\" \"b\\\"=c\")" },
  { "arg several", "ARG A\nARG B=2 C=\"x y\"\nFROM a:$B",
    "(arg \"A\")(arg \"B=2\" \"C=\\\"x y\\\"\")(from \"a:$B\")" },
  { "arg empty", "ARG", "error: Dockerfile:1:1: ARG requires at least one argument" },
  { "arg blank name", "ARG =1", "error: Dockerfile:1:1: ARG names can not be blank" },
  { "maintainer", "FROM a\nMAINTAINER John Doe <j@example.com>", "(from \"a\")(maintainer \"John Doe <j@example.com>\")" },
  { "expose", "FROM a\nEXPOSE 80 443/tcp\t53/udp", "(from \"a\")(expose \"80\" \"443/tcp\" \"53/udp\")" },
  { "expose empty", "FROM a\nEXPOSE", "error: Dockerfile:2:1: EXPOSE requires at least one argument" },
  { "volume words", "FROM a\nVOLUME /data /logs", "(from \"a\")(volume \"/data\" \"/logs\")" },
  { "volume json", "FROM a\nVOLUME [\"/data\", \"/my logs\"]", "(from \"a\")(volume json \"/data\" \"/my logs\")" },
  { "volume empty string", "FROM a\nVOLUME [\" \"]", "error: Dockerfile:2:1: VOLUME specified can not be an empty string" },
  { "user", "FROM a\nUSER app:app", "(from \"a\")(user \"app:app\")" },
  { "user empty", "FROM a\nUSER", "error: Dockerfile:2:1: USER requires exactly one argument" },
  { "workdir with space", "FROM a\nWORKDIR /my dir", "(from \"a\")(workdir \"/my dir\")" },
  { "stopsignal", "FROM a\nSTOPSIGNAL SIGTERM", "(from \"a\")(stopsignal \"SIGTERM\")" },
  { "onbuild", "FROM a\nONBUILD RUN echo hi", "(from \"a\")(onbuild \"RUN echo hi\" (run \"echo hi\"))" },
  { "onbuild with flags", "FROM a\nonbuild  COPY --from=b /x /y",
    "(from \"a\")(onbuild \"COPY --from=b /x /y\" (copy [\"--from=b\"] \"/x\" \"/y\"))" },
  { "onbuild onbuild", "FROM a\nONBUILD ONBUILD RUN x",
    "error: Dockerfile:2:1: chaining ONBUILD via 'ONBUILD ONBUILD' isn't allowed" },
  { "onbuild from", "FROM a\nONBUILD FROM b", "error: Dockerfile:2:1: FROM isn't allowed as an ONBUILD trigger" },
  { "onbuild maintainer", "FROM a\nONBUILD maintainer x", "error: Dockerfile:2:1: MAINTAINER isn't allowed as an ONBUILD trigger" },
  { "onbuild empty", "FROM a\nONBUILD", "error: Dockerfile:2:1: ONBUILD requires at least one argument" },
  { "onbuild unknown trigger", "FROM a\nONBUILD RUNN x", "error: Dockerfile:2:9: unknown instruction 'RUNN' (did you mean RUN?)" },
  { "onbuild bad trigger args", "FROM a\nONBUILD COPY x", "error: Dockerfile:2:9: COPY requires at least two arguments: one or more sources and a destination" },
  { "healthcheck none", "FROM a\nHEALTHCHECK NONE", "(from \"a\")(healthcheck \"NONE\")" },
  { "healthcheck none with args", "FROM a\nHEALTHCHECK NONE x", "error: Dockerfile:2:1: HEALTHCHECK NONE takes no arguments" },
  { "healthcheck shell", "FROM a\nHEALTHCHECK --interval=30s --timeout=3s --start-period=5s --start-interval=1s --retries=3 cmd curl -f http://x/ || exit 1",
    "(from \"a\")(healthcheck [\"--interval=30s\" \"--timeout=3s\" \"--start-period=5s\" \"--start-interval=1s\" "
    "\"--retries=3\"] \"CMD\" \"curl -f http://x/ || exit 1\")" },
  { "healthcheck exec", "FROM a\nHEALTHCHECK CMD [\"curl\", \"-f\", \"http://x/\"]",
    "(from \"a\")(healthcheck json \"CMD\" \"curl\" \"-f\" \"http://x/\")" },
  { "healthcheck missing command", "FROM a\nHEALTHCHECK CMD", "error: Dockerfile:2:13: missing command after HEALTHCHECK CMD" },
  { "healthcheck unknown type", "FROM a\nHEALTHCHECK FOO x", "error: Dockerfile:2:13: unknown type 'FOO' in HEALTHCHECK (try CMD)" },
  { "healthcheck empty", "FROM a\nHEALTHCHECK", "error: Dockerfile:2:1: HEALTHCHECK requires at least one argument" },
  { "healthcheck zero interval", "FROM a\nHEALTHCHECK --interval=0s --retries=0 CMD x",
    "(from \"a\")(healthcheck [\"--interval=0s\" \"--retries=0\"] \"CMD\" \"x\")" },
  { "healthcheck fractional interval", "FROM a\nHEALTHCHECK --interval=1.5m --timeout=.5s CMD x",
    "(from \"a\")(healthcheck [\"--interval=1.5m\" \"--timeout=.5s\"] \"CMD\" \"x\")" },
  { "healthcheck duration without unit", "FROM a\nHEALTHCHECK --interval=5 CMD x",
    "error: Dockerfile:2:13: invalid duration '5' for flag '--interval' of HEALTHCHECK: want a number and a unit, "
    "such as 30s or 1m30s" },
  { "healthcheck duration below 1ms", "FROM a\nHEALTHCHECK --timeout=500us CMD x",
    "error: Dockerfile:2:13: flag '--timeout' of HEALTHCHECK cannot be less than 1ms ('500us')" },
  { "healthcheck negative retries", "FROM a\nHEALTHCHECK --retries=-1 CMD x",
    "error: Dockerfile:2:13: flag '--retries' of HEALTHCHECK cannot be negative (-1)" },
  { "healthcheck bad retries", "FROM a\nHEALTHCHECK --retries=three CMD x",
    "error: Dockerfile:2:13: invalid value 'three' for flag '--retries' of HEALTHCHECK: want a number" },
  { "healthcheck unknown flag", "FROM a\nHEALTHCHECK --intervall=5s CMD x",
    "error: Dockerfile:2:13: unknown flag '--intervall' for HEALTHCHECK (did you mean --interval?)" },
};

static const struct parse_case copy_cases[] = {
  { "copy from", "FROM a\nCOPY --from=build /a /b", "(from \"a\")(copy [\"--from=build\"] \"/a\" \"/b\")" },
  { "copy all flags", "FROM a\nCOPY --chown=1:1 --chmod=755 --link --parents --exclude=*.md --exclude=*.txt a b c/",
    "(from \"a\")(copy [\"--chown=1:1\" \"--chmod=755\" \"--link\" \"--parents\" \"--exclude=*.md\" \"--exclude=*.txt\"] "
    "\"a\" \"b\" \"c/\")" },
  { "copy quoted flag", "FROM a\nCOPY --chown=\"app user\":'g' a b", "(from \"a\")(copy [\"--chown=app user:g\"] \"a\" \"b\")" },
  { "copy escaped flag", "FROM a\nCOPY --chown=a\\ b a b", "(from \"a\")(copy [\"--chown=a b\"] \"a\" \"b\")" },
  { "copy link false", "FROM a\nCOPY --link=false a b", "(from \"a\")(copy [\"--link=false\"] \"a\" \"b\")" },
  { "copy link bad bool", "FROM a\nCOPY --link=maybe a b",
    "error: Dockerfile:2:6: invalid value 'maybe' for flag '--link' of COPY: want true or false" },
  { "copy link empty", "FROM a\nCOPY --link= a b", "error: Dockerfile:2:6: missing value for flag '--link' of COPY" },
  { "copy duplicate flag", "FROM a\nCOPY --link --link a b", "error: Dockerfile:2:6: duplicate flag '--link' for COPY" },
  { "copy unknown flag hint", "FROM a\nCOPY --chwon=1 a b",
    "error: Dockerfile:2:6: unknown flag '--chwon' for COPY (did you mean --chown?)" },
  { "copy unknown flag", "FROM a\nCOPY --zzzzzzzz a b", "error: Dockerfile:2:6: unknown flag '--zzzzzzzz' for COPY" },
  { "copy checksum not allowed", "FROM a\nCOPY --checksum=sha256:00 a b",
    "error: Dockerfile:2:6: unknown flag '--checksum' for COPY" },
  { "copy flag value missing", "FROM a\nCOPY --from a b", "error: Dockerfile:2:6: missing value for flag '--from' of COPY" },
  { "copy one argument", "FROM a\nCOPY a",
    "error: Dockerfile:2:1: COPY requires at least two arguments: one or more sources and a destination" },
  { "copy json", "FROM a\nCOPY [\"a b\", \"c\"]", "(from \"a\")(copy json \"a b\" \"c\")" },
  { "copy double dash ends flags", "FROM a\nCOPY -- --weird /dst", "(from \"a\")(copy \"--weird\" \"/dst\")" },
  { "add flags", "FROM a\nADD --checksum=sha256:24454f830cdd --keep-git-dir=true --unpack=false --link https://x/y.tgz /y",
    "(from \"a\")(add [\"--checksum=sha256:24454f830cdd\" \"--keep-git-dir=true\" \"--unpack=false\" \"--link\"] "
    "\"https://x/y.tgz\" \"/y\")" },
  { "add from not allowed", "FROM a\nADD --from=x a b", "error: Dockerfile:2:5: unknown flag '--from' for ADD" },
  { "cmd flag is a flag", "FROM a\nCMD --help", "error: Dockerfile:2:5: unknown flag '--help' for CMD" },
  { "workdir flag", "FROM a\nWORKDIR --foo /x", "error: Dockerfile:2:9: unknown flag '--foo' for WORKDIR" },
  { "run network", "FROM a\nRUN --network=none --security=insecure x",
    "(from \"a\")(run [\"--network=none\" \"--security=insecure\"] \"x\")" },
  { "run bad network", "FROM a\nRUN --network=bridge x",
    "error: Dockerfile:2:5: invalid value 'bridge' for flag '--network' of RUN: want default, none or host" },
  { "run bad security", "FROM a\nRUN --security=root x",
    "error: Dockerfile:2:5: invalid value 'root' for flag '--security' of RUN: want sandbox or insecure" },
  { "run mounts", "FROM a\nRUN --mount=type=cache,target=/root/.cache,sharing=locked --mount=type=secret,id=tok,required "
    "--mount=type=bind,source=.,target=/src,rw --mount=type=tmpfs,target=/t,size=64m --mount=type=ssh x",
    "(from \"a\")(run [\"--mount=type=cache,target=/root/.cache,sharing=locked\" \"--mount=type=secret,id=tok,required\" "
    "\"--mount=type=bind,source=.,target=/src,rw\" \"--mount=type=tmpfs,target=/t,size=64m\" \"--mount=type=ssh\"] \"x\")" },
  { "run mount variable deferred", "FROM a\nRUN --mount=type=cache,target=$DIR,uid=$UID x",
    "(from \"a\")(run [\"--mount=type=cache,target=$DIR,uid=$UID\"] \"x\")" },
  { "run mount bad type", "FROM a\nRUN --mount=type=volume,target=/x x",
    "error: Dockerfile:2:5: invalid value 'type=volume,target=/x' for flag '--mount' of RUN: unsupported mount type "
    "'volume': want bind, cache, tmpfs, secret or ssh" },
  { "run mount unknown key", "FROM a\nRUN --mount=target=/x,taget=/y x",
    "error: Dockerfile:2:5: invalid value 'target=/x,taget=/y' for flag '--mount' of RUN: unexpected key 'taget' in "
    "'taget=/y' (did you mean target?)" },
  { "run mount no target", "FROM a\nRUN --mount=type=cache x",
    "error: Dockerfile:2:5: invalid value 'type=cache' for flag '--mount' of RUN: 'cache' mount needs a target" },
  { "run mount mode on bind", "FROM a\nRUN --mount=type=bind,target=/x,mode=0755 x",
    "error: Dockerfile:2:5: invalid value 'type=bind,target=/x,mode=0755' for flag '--mount' of RUN: mode not allowed "
    "for 'bind' type mounts" },
  { "run mount bad uid", "FROM a\nRUN --mount=type=cache,target=/x,uid=abc x",
    "error: Dockerfile:2:5: invalid value 'type=cache,target=/x,uid=abc' for flag '--mount' of RUN: invalid value 'abc' "
    "for uid" },
  { "run mount from variable", "FROM a\nRUN --mount=from=$STAGE,target=/x x",
    "error: Dockerfile:2:5: invalid value 'from=$STAGE,target=/x' for flag '--mount' of RUN: 'from' does not support "
    "variable expansion: define an alias stage instead" },
  { "run mount required on bind", "FROM a\nRUN --mount=target=/x,required x",
    "error: Dockerfile:2:5: invalid value 'target=/x,required' for flag '--mount' of RUN: unexpected key 'required' for "
    "mount type 'bind'" },
  { "run mount sharing on bind", "FROM a\nRUN --mount=target=/x,sharing=shared x",
    "error: Dockerfile:2:5: invalid value 'target=/x,sharing=shared' for flag '--mount' of RUN: invalid cache sharing "
    "set for 'bind' mount" },
  { "run mount bare key", "FROM a\nRUN --mount=target=/x,cache x",
    "error: Dockerfile:2:5: invalid value 'target=/x,cache' for flag '--mount' of RUN: invalid field 'cache': want a "
    "key=value pair" },
  { "run mount without value", "FROM a\nRUN --mount x", "error: Dockerfile:2:5: missing value for flag '--mount' of RUN" },
  { "run unknown flag", "FROM a\nRUN --foo x", "error: Dockerfile:2:5: unknown flag '--foo' for RUN" },
};

static const struct parse_case error_cases[] = {
  { "unknown instruction hint", "FROM a\nRUNN x", "error: Dockerfile:2:1: unknown instruction 'RUNN' (did you mean RUN?)" },
  { "unknown instruction hint from", "FRM a", "error: Dockerfile:1:1: unknown instruction 'FRM' (did you mean FROM?)" },
  { "unknown instruction hint lower", "FROM a\nexpse 80", "error: Dockerfile:2:1: unknown instruction 'expse' (did you mean EXPOSE?)" },
  { "unknown instruction no hint", "FROM a\nXYZZY a", "error: Dockerfile:2:1: unknown instruction 'XYZZY'" },
  { "unknown instruction after continuation", "FROM a\nRUN a \\\n b\nCOPPY a b",
    "error: Dockerfile:4:1: unknown instruction 'COPPY' (did you mean COPY?)" },
  { "instruction before from", "RUN x",
    "error: Dockerfile:1:1: no build stage in current context: RUN must come after FROM (only ARG may come before it)" },
  { "arg before from", "ARG V=1\nFROM a:$V", "(arg \"V=1\")(from \"a:$V\")" },
};

static const struct parse_case heredoc_cases[] = {
  { "run heredoc", "FROM a\nRUN <<EOF\necho hi\nEOF\nRUN b", "(from \"a\")(run \"<<EOF\" <<EOF=\"echo hi\\n\")(run \"b\")" },
  { "run heredoc chomp", "FROM a\nRUN <<-EOF\n\techo hi\n\t\tx\n\tEOF", "(from \"a\")(run \"<<-EOF\" <<EOF,chomp=\"echo hi\\nx\\n\")" },
  { "run heredoc double quoted", "FROM a\nRUN <<\"EOF\"\n$X\nEOF", "(from \"a\")(run \"<<\\\"EOF\\\"\" <<EOF,noexpand=\"$X\\n\")" },
  { "run heredoc single quoted", "FROM a\nRUN <<'EOF'\n$X\nEOF", "(from \"a\")(run \"<<'EOF'\" <<EOF,noexpand=\"$X\\n\")" },
  { "run heredoc partly quoted", "FROM a\nRUN <<E\"O\"F\nx\nEOF", "(from \"a\")(run \"<<E\\\"O\\\"F\" <<EOF,noexpand=\"x\\n\")" },
  { "two heredocs", "FROM a\nRUN cat <<EOF1 <<EOF2\na\nEOF1\nb\nEOF2\n",
    "(from \"a\")(run \"cat <<EOF1 <<EOF2\" <<EOF1=\"a\\n\" <<EOF2=\"b\\n\")" },
  { "heredoc with redirect", "FROM a\nRUN python3 <<EOF > /out\nprint(1)\nEOF",
    "(from \"a\")(run \"python3 <<EOF > /out\" <<EOF=\"print(1)\\n\")" },
  { "heredoc after blanks", "FROM a\nRUN <<  EOF  > foo\nx\nEOF", "(from \"a\")(run \"<<  EOF  > foo\" <<EOF=\"x\\n\")" },
  { "heredoc name with dash", "FROM a\nRUN << -EOF\nx\n-EOF", "(from \"a\")(run \"<< -EOF\" <<-EOF=\"x\\n\")" },
  { "chomp then blank is no heredoc", "FROM a\nRUN cat <<- EOF", "(from \"a\")(run \"cat <<- EOF\")" },
  { "heredoc with fd", "FROM a\nRUN cat 3<<EOF\nx\nEOF", "(from \"a\")(run \"cat 3<<EOF\" <<EOF=\"x\\n\")" },
  { "heredoc empty body", "FROM a\nRUN <<EOF\nEOF", "(from \"a\")(run \"<<EOF\" <<EOF=\"\")" },
  { "heredoc crlf", "FROM a\r\nRUN <<EOF\r\nhi\r\nEOF\r\n", "(from \"a\")(run \"<<EOF\" <<EOF=\"hi\\r\\n\")" },
  { "heredoc keeps comments and blanks", "FROM a\nRUN <<EOF\n# not a comment\n\n  indented \\\nEOF",
    "(from \"a\")(run \"<<EOF\" <<EOF=\"# not a comment\\n\\n  indented \\\\\\n\")" },
  { "copy heredoc", "FROM a\nCOPY --chmod=755 <<EOF /usr/local/bin/hello\n#!/bin/sh\necho hello\nEOF",
    "(from \"a\")(copy [\"--chmod=755\"] \"<<EOF\" \"/usr/local/bin/hello\" <<EOF=\"#!/bin/sh\\necho hello\\n\")" },
  { "copy two heredocs", "FROM a\nCOPY <<a <<b /dest/\n1\na\n2\nb",
    "(from \"a\")(copy \"<<a\" \"<<b\" \"/dest/\" <<a=\"1\\n\" <<b=\"2\\n\")" },
  { "add heredoc", "FROM a\nADD <<EOF /x\ny\nEOF", "(from \"a\")(add \"<<EOF\" \"/x\" <<EOF=\"y\\n\")" },
  { "copy heredoc destination", "FROM a\nCOPY a <<EOF\nx\nEOF",
    "error: Dockerfile:2:8: COPY cannot accept a heredoc as a destination" },
  { "exec form has no heredoc", "FROM a\nRUN [\"<<EOF\"]", "(from \"a\")(run json \"<<EOF\")" },
  { "quoted heredoc word is text", "FROM a\nRUN echo '<<EOF'", "(from \"a\")(run \"echo '<<EOF'\")" },
  { "heredoc needs a word start", "FROM a\nRUN cat<<EOF", "(from \"a\")(run \"cat<<EOF\")" },
  { "heredoc on a line that does not lex", "FROM a\nRUN echo \"x <<EOF", "(from \"a\")(run \"echo \\\"x <<EOF\")" },
  { "env is no heredoc instruction", "FROM a\nENV a=<<EOF", "(from \"a\")(env \"a\" \"<<EOF\")" },
  { "unterminated heredoc", "FROM a\nRUN <<EOF\nx\n", "error: Dockerfile:2:5: unterminated heredoc 'EOF': end its body with a line 'EOF'" },
  { "chomp needs tabs stripped to end", "FROM a\nRUN <<EOF\n\tEOF\nEOF", "(from \"a\")(run \"<<EOF\" <<EOF=\"\\tEOF\\n\")" },
  { "onbuild heredoc", "FROM a\nONBUILD RUN <<EOF\necho x\nEOF",
    "(from \"a\")(onbuild \"RUN <<EOF\\necho x\\nEOF\" (run \"<<EOF\" <<EOF=\"echo x\\n\"))" },
};

static void
test_line_numbers (void)
{
  const char *text = "# syntax=docker/dockerfile:1\n\nFROM a\nRUN a \\\n\n  b\nCOPY <<EOF /x\n1\nEOF\nCMD x";
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };

  CHECK_INT (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &df, &err), 0);
  if (df == NULL)
    return;
  CHECK_INT (df->n_instructions, 4);
  CHECK_INT (df->instructions[0].line, 3);
  CHECK_INT (df->instructions[0].end_line, 3);
  CHECK_INT (df->instructions[1].line, 4);
  CHECK_INT (df->instructions[1].end_line, 6);
  CHECK_INT (df->instructions[2].line, 7);
  CHECK_INT (df->instructions[2].end_line, 9);
  CHECK_INT (df->instructions[3].line, 10);
  CHECK_STR (df->instructions[1].original, "RUN a   b");
  CHECK_STR (df->syntax, "docker/dockerfile:1");
  CHECK (df->check == NULL);
  CHECK_INT (df->escape, '\\');
  cb_dockerfile_free (df);
}

static void
test_directive_values (void)
{
  const char *text = "# escape=`\n# check = skip=all\nFROM a";
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };

  CHECK_INT (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &df, &err), 0);
  if (df == NULL)
    return;
  CHECK_INT (df->escape, '`');
  CHECK_STR (df->check, "skip=all");
  CHECK (df->syntax == NULL);
  cb_dockerfile_free (df);
}

static void
test_flag_lookup (void)
{
  const char *text = "FROM a\nRUN --mount=type=cache,target=/a --mount=type=cache,target=/b --network=none x\n"
                     "COPY --link --chown=1:2 a b";
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };

  CHECK_INT (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &df, &err), 0);
  if (df == NULL)
    return;
  CHECK_STR (cb_instruction_flag (&df->instructions[1], "mount"), "type=cache,target=/a");
  CHECK_STR (cb_instruction_flag (&df->instructions[1], "--network"), "none");
  CHECK (cb_instruction_flag (&df->instructions[1], "net") == NULL);
  CHECK (cb_instruction_flag (&df->instructions[1], "security") == NULL);
  CHECK_STR (cb_instruction_flag (&df->instructions[2], "link"), "");
  CHECK_STR (cb_instruction_flag (&df->instructions[2], "chown"), "1:2");
  CHECK (cb_instruction_flag (&df->instructions[2], "from") == NULL);
  cb_dockerfile_free (df);
}

static void
test_heredoc_for_arg (void)
{
  const char *text = "FROM a\nCOPY <<one <<-\"two\" /dst/\n1\none\n\t2\n\ttwo";
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };
  const struct cb_heredoc *doc;
  const struct cb_instruction *ins;

  CHECK_INT (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &df, &err), 0);
  if (df == NULL)
    return;
  ins = &df->instructions[1];
  doc = cb_instruction_heredoc_for_arg (ins, ins->args[0]);
  CHECK (doc != NULL && strcmp (doc->content, "1\n") == 0 && doc->expand);
  doc = cb_instruction_heredoc_for_arg (ins, ins->args[1]);
  CHECK (doc != NULL && strcmp (doc->content, "2\n") == 0 && !doc->expand && doc->chomp);
  CHECK (cb_instruction_heredoc_for_arg (ins, ins->args[2]) == NULL);
  CHECK (cb_instruction_heredoc_for_arg (ins, "<<three") == NULL);
  cb_dockerfile_free (df);
}

static void
test_json_output (void)
{
  const char *text = "# syntax=docker/dockerfile:1\nFROM a\nCOPY --chown=1:1 <<EOF /x\nhi \xFF\nEOF\n";
  const char *want =
    "{\n"
    "  \"directives\": {\n"
    "    \"syntax\": \"docker/dockerfile:1\",\n"
    "    \"escape\": \"\\\\\",\n"
    "    \"check\": null\n"
    "  },\n"
    "  \"instructions\": [\n"
    "    {\n"
    "      \"cmd\": \"from\",\n"
    "      \"line\": 2,\n"
    "      \"end_line\": 2,\n"
    "      \"flags\": [],\n"
    "      \"json\": false,\n"
    "      \"args\": [\n"
    "        \"a\"\n"
    "      ],\n"
    "      \"heredocs\": [],\n"
    "      \"next\": null\n"
    "    },\n"
    "    {\n"
    "      \"cmd\": \"copy\",\n"
    "      \"line\": 3,\n"
    "      \"end_line\": 5,\n"
    "      \"flags\": [\n"
    "        \"--chown=1:1\"\n"
    "      ],\n"
    "      \"json\": false,\n"
    "      \"args\": [\n"
    "        \"<<EOF\",\n"
    "        \"/x\"\n"
    "      ],\n"
    "      \"heredocs\": [\n"
    "        {\n"
    "          \"name\": \"EOF\",\n"
    "          \"content\": \"hi \xEF\xBF\xBD\\n\",\n"
    "          \"expand\": true,\n"
    "          \"chomp\": false\n"
    "        }\n"
    "      ],\n"
    "      \"next\": null\n"
    "    }\n"
    "  ]\n"
    "}";
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };
  char *json;

  CHECK_INT (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &df, &err), 0);
  if (df == NULL)
    return;
  json = cb_dockerfile_to_json (df);
  CHECK_STR (json, want);
  free (json);
  cb_dockerfile_free (df);
}

static void
test_mount_parse (void)
{
  struct cb_run_mount m;
  cbuild_error err = { 0 };

  CHECK_INT (cb_run_mount_parse ("type=cache,target=/root/.cache,sharing=locked,id=pip,uid=1000,mode=0755", &m, &err), 0);
  CHECK_STR (m.type, "cache");
  CHECK_STR (m.target, "/root/.cache");
  CHECK_STR (m.sharing, "locked");
  CHECK_STR (m.id, "pip");
  CHECK_INT (m.uid, 1000);
  CHECK_INT (m.gid, -1);
  CHECK_INT (m.mode, 0755);
  CHECK (!m.readonly);
  cb_run_mount_release (&m);

  CHECK_INT (cb_run_mount_parse ("Type=BIND,\"target=/a,b\",src=ctx,ro=false", &m, &err), 0);
  CHECK_STR (m.type, "bind");
  CHECK_STR (m.target, "/a,b");
  CHECK_STR (m.source, "ctx");
  CHECK (!m.readonly);
  cb_run_mount_release (&m);

  CHECK_INT (cb_run_mount_parse ("target=/x", &m, &err), 0);
  CHECK_STR (m.type, "bind");
  CHECK (m.readonly);
  cb_run_mount_release (&m);

  CHECK_INT (cb_run_mount_parse ("type=secret,id=tok,env=TOKEN,required=true", &m, &err), 0);
  CHECK (m.readonly && m.required);
  CHECK_STR (m.env, "TOKEN");
  CHECK (m.target == NULL);
  cb_run_mount_release (&m);

  CHECK_INT (cb_run_mount_parse ("type=tmpfs,target=/t,size=1.5g", &m, &err), 0);
  CHECK_INT (m.size, 1610612736LL);
  cb_run_mount_release (&m);

  CHECK_INT (cb_run_mount_parse ("type=bind,tar\"get=/x", &m, &err), -1);
  CHECK_STR (err.message, "bare '\"' in non-quoted field");
  CHECK_INT (cb_run_mount_parse ("type=secret", &m, &err), -1);
  CHECK_STR (err.message, "secret mount needs an id or a target");
  CHECK_INT (cb_run_mount_parse ("type=secret,id=a,from=b", &m, &err), -1);
  CHECK_STR (err.message, "secret mounts not supported with from");
  CHECK_INT (cb_run_mount_parse ("type=cache,target=/x,sharing=everyone", &m, &err), -1);
  CHECK_STR (err.message, "unsupported sharing value 'everyone': want shared, private or locked");
  CHECK_INT (cb_run_mount_parse ("type=cache,target=/x,mode=0999", &m, &err), -1);
  CHECK_STR (err.message, "invalid value '0999' for mode");
  CHECK_INT (cb_run_mount_parse ("type=cache,target=$X", &m, &err), 0);
  CHECK_STR (m.target, "$X");
  cb_run_mount_release (&m);
}

/* Generated inputs that cross each bound. */
static void
test_limits (void)
{
  struct cb_buf b = CB_BUF_INIT;
  char *got;

  cb_buf_append_str (&b, "FROM a\nRUN ", NULL);
  for (int i = 0; i < 70000; i++)
    cb_buf_append_char (&b, 'x', NULL);
  got = parse_dump (b.data, b.len);
  CHECK_STR (got, "error: Dockerfile:2:65536: line longer than 65535 bytes");
  free (got);

  cb_buf_reset (&b);
  cb_buf_append_str (&b, "FROM a\nARG", NULL);
  for (int i = 0; i < 17000; i++)
    cb_buf_append_str (&b, " a", NULL);
  got = parse_dump (b.data, b.len);
  CHECK_STR (got, "error: Dockerfile:2:1: too many words (maximum 16384)");
  free (got);

  cb_buf_reset (&b);
  cb_buf_append_str (&b, "FROM a\nRUN x", NULL);
  for (int i = 0; i < 20; i++)
    {
      cb_buf_append_str (&b, " \\\n", NULL);
      for (int j = 0; j < 60000; j++)
        cb_buf_append_char (&b, 'y', NULL);
    }
  got = parse_dump (b.data, b.len);
  CHECK_STR (got, "error: Dockerfile:20:1: instruction longer than 1048576 bytes");
  free (got);

  /* Go's JSON decoder stops at 10000 levels, so deeper input is shell form. */
  cb_buf_reset (&b);
  cb_buf_append_str (&b, "FROM a\nCMD ", NULL);
  for (int i = 0; i < 10001; i++)
    cb_buf_append_char (&b, '[', NULL);
  for (int i = 0; i < 10001; i++)
    cb_buf_append_char (&b, ']', NULL);
  got = parse_dump (b.data, b.len);
  CHECK (strncmp (got, "(from \"a\")(cmd \"[[[", 19) == 0);
  free (got);

  cb_buf_reset (&b);
  cb_buf_append_str (&b, "FROM a\nCMD ", NULL);
  for (int i = 0; i < 5000; i++)
    cb_buf_append_char (&b, '[', NULL);
  for (int i = 0; i < 5000; i++)
    cb_buf_append_char (&b, ']', NULL);
  got = parse_dump (b.data, b.len);
  CHECK_STR (got, "error: Dockerfile:2:5: JSON arrays in exec form must contain only strings");
  free (got);

  got = parse_dump ("FROM a\nRUN a\0b", 13);
  CHECK_STR (got, "error: Dockerfile:2:6: NUL character in the line");
  free (got);

  cb_buf_release (&b);
  {
    size_t big = CB_DOCKERFILE_MAX_SIZE + 1;
    char *text = calloc (1, big);
    cbuild_error err = { 0 };
    struct cb_dockerfile *df = NULL;

    CHECK_INT (cb_dockerfile_parse (text, big, "Dockerfile", &df, &err), -1);
    CHECK_STR (err.message, "Dockerfile: file too large (16777217 bytes, maximum 16777216)");
    CHECK (df == NULL);
    free (text);
  }
}

static void
test_error_code (void)
{
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };

  CHECK_INT (cb_dockerfile_parse ("FROM a\nRUNN", 11, "build/Dockerfile.dev", &df, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_PARSE);
  CHECK_STR (err.message, "build/Dockerfile.dev:2:1: unknown instruction 'RUNN' (did you mean RUN?)\n"
                          "RUNN\n"
                          "^");
  CHECK (df == NULL);
}

struct caret_case
{
  const char *name;
  const char *text;
  const char *want; /* the whole error message */
};

/* Parse errors name line and column, show the line and put a caret under
 * the column. */
static const struct caret_case caret_cases[] = {
  { "keyword", "FROM a\nRUNN x", "Dockerfile:2:1: unknown instruction 'RUNN' (did you mean RUN?)\nRUNN x\n^" },
  { "indented keyword", "FROM a\n  COPPY a b",
    "Dockerfile:2:3: unknown instruction 'COPPY' (did you mean COPY?)\n  COPPY a b\n  ^" },
  { "flag", "FROM a\nCOPY --chwon=1:1 a b",
    "Dockerfile:2:6: unknown flag '--chwon' for COPY (did you mean --chown?)\nCOPY --chwon=1:1 a b\n     ^" },
  { "flag on continuation line", "FROM a\nCOPY \\\n  --link \\\n  --chwon=1 a b",
    "Dockerfile:4:3: unknown flag '--chwon' for COPY (did you mean --chown?)\n  --chwon=1 a b\n  ^" },
  { "flag value", "FROM a\nRUN --network=bridge x",
    "Dockerfile:2:5: invalid value 'bridge' for flag '--network' of RUN: want default, none or host\n"
    "RUN --network=bridge x\n    ^" },
  { "tab shown as space", "FROM a\nRUN\t--nework=none x",
    "Dockerfile:2:5: unknown flag '--nework' for RUN (did you mean --network?)\nRUN --nework=none x\n    ^" },
  { "columns count characters", "FROM \xc3\xb1 AS 1x",
    "Dockerfile:1:11: invalid stage name '1x': it must start with a letter and contain only letters, digits, "
    "'-', '_' and '.'\nFROM \xc3\xb1 AS 1x\n          ^" },
  { "onbuild trigger", "FROM a\nONBUILD COPPY a b",
    "Dockerfile:2:9: unknown instruction 'COPPY' (did you mean COPY?)\nONBUILD COPPY a b\n        ^" },
  { "json form", "FROM a\nCMD [\"a\", 1]",
    "Dockerfile:2:5: JSON arrays in exec form must contain only strings\nCMD [\"a\", 1]\n    ^" },
  { "directive", "# escape=x\nFROM a", "Dockerfile:1:1: invalid escape token 'x': want \\ or `\n# escape=x\n^" },
  { "crlf line", "FROM a\r\nRUNN x\r\n",
    "Dockerfile:2:1: unknown instruction 'RUNN' (did you mean RUN?)\nRUNN x\n^" },
  { "heredoc opener", "FROM a\nRUN cat <<EOF\nx\n",
    "Dockerfile:2:9: unterminated heredoc 'EOF': end its body with a line 'EOF'\nRUN cat <<EOF\n        ^" },
  { "no location", "", "Dockerfile: file with no instructions" },
};

static void
test_error_caret (void)
{
  for (size_t i = 0; i < sizeof caret_cases / sizeof caret_cases[0]; i++)
    {
      const struct caret_case *c = &caret_cases[i];
      struct cb_dockerfile *df = NULL;
      cbuild_error err = { 0 };

      CHECK_INT (cb_dockerfile_parse (c->text, strlen (c->text), "Dockerfile", &df, &err), -1);
      if (strcmp (err.message, c->want) != 0)
        fprintf (stderr, "caret case '%s':\n", c->name);
      CHECK_STR (err.message, c->want);
    }
}

/* Control characters of the source line show as '?', and a long line as
 * a window around the column. */
static void
test_error_caret_excerpt (void)
{
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };
  struct cb_buf text = CB_BUF_INIT;
  struct cb_buf want = CB_BUF_INIT;

  CHECK_INT (cb_dockerfile_parse ("FROM a\nRUN a\0b\x01", 15, "Dockerfile", &df, &err), -1);
  CHECK_STR (err.message, "Dockerfile:2:6: NUL character in the line\nRUN a?b?\n     ^");

  /* The heredoc word is at column 206 of a 210-character line. */
  cb_buf_append_str (&text, "FROM a\nCOPY", NULL);
  for (int i = 0; i < 100; i++)
    cb_buf_append_str (&text, " a", NULL);
  cb_buf_append_str (&text, " <<EOF", NULL);
  CHECK_INT (cb_dockerfile_parse (text.data, text.len, "Dockerfile", &df, &err), -1);
  cb_buf_append_str (&want, "Dockerfile:2:206: COPY cannot accept a heredoc as a destination\n...", NULL);
  for (int i = 0; i < 30; i++)
    cb_buf_append_str (&want, "a ", NULL);
  cb_buf_append_str (&want, "<<EOF\n", NULL);
  for (int i = 0; i < 63; i++)
    cb_buf_append_char (&want, ' ', NULL);
  cb_buf_append_char (&want, '^', NULL);
  CHECK_STR (err.message, cb_buf_str (&want));
  cb_buf_release (&text);
  cb_buf_release (&want);
}

/* Fields that the build checks read: the keyword as written, the legacy
 * ENV form, and blank lines inside continuation lines. */
static void
test_check_fields (void)
{
  const char *text = "from a\nEnv k v\nLABEL a=b\nRUN a \\\n\n  b\nRUN c \\\n# note\n  d\n";
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };

  CHECK_INT (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &df, &err), 0);
  if (df == NULL)
    return;
  CHECK_INT (df->n_instructions, 5);
  CHECK_STR (df->instructions[0].keyword, "from");
  CHECK_STR (df->instructions[1].keyword, "Env");
  CHECK_STR (df->instructions[1].cmd, "env");
  CHECK (df->instructions[1].legacy_kv);
  CHECK (!df->instructions[2].legacy_kv);
  CHECK (df->instructions[3].empty_continuation);
  CHECK_INT (df->instructions[3].end_line, 6);
  CHECK (!df->instructions[4].empty_continuation);
  cb_dockerfile_free (df);
}

int
main (void)
{
  RUN_CASES (line_cases);
  RUN_CASES (syntax_cases);
  RUN_CASES (instruction_cases);
  RUN_CASES (copy_cases);
  RUN_CASES (error_cases);
  RUN_CASES (heredoc_cases);
  test_line_numbers ();
  test_directive_values ();
  test_flag_lookup ();
  test_heredoc_for_arg ();
  test_json_output ();
  test_mount_parse ();
  test_limits ();
  test_error_code ();
  test_error_caret ();
  test_error_caret_excerpt ();
  test_check_fields ();
  return check_report ();
}
