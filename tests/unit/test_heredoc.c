/* Heredocs as BuildKit executes them: the shell command of a RUN, and the
 * file content of a COPY heredoc. The expected values are those of
 * BuildKit's own heredoc integration tests (dockerfile_heredoc_test.go). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/heredoc.h"
#include "check.h"
#include "common/strv.h"
#include "parser/dockerfile.h"

static struct cb_dockerfile *
parse (const char *text)
{
  struct cb_dockerfile *df = NULL;
  cbuild_error err = { 0 };

  if (cb_dockerfile_parse (text, strlen (text), "Dockerfile", &df, &err) < 0)
    {
      fprintf (stderr, "parse: %s\n", err.message);
      return NULL;
    }
  return df;
}

/* The command of the RUN in "FROM scratch\n" + run, or NULL on failure
 * with err set. */
static char *
run_command (const char *run, const struct cb_heredoc **script, char *name, size_t name_size, cbuild_error *err)
{
  char *text = NULL;
  char *command = NULL;
  struct cb_dockerfile *df;

  if (asprintf (&text, "FROM scratch\n%s", run) < 0)
    abort ();
  df = parse (text);
  free (text);
  if (df == NULL || df->n_instructions < 2)
    abort ();
  if (cb_heredoc_run_command (&df->instructions[1], &command, script, err) < 0)
    command = NULL;
  if (*script)
    snprintf (name, name_size, "%s", (*script)->name);
  *script = NULL; /* it points into df */
  cb_dockerfile_free (df);
  return command;
}

static void
test_run_whole_heredoc_is_script (void)
{
  const struct cb_heredoc *script = NULL;
  cbuild_error err = { 0 };
  char name[64] = "";
  char *cmd = run_command ("RUN <<EOF\necho \"i am\" >> /dest\nwhoami >> /dest\nEOF\n", &script, name,
                           sizeof name, &err);

  CHECK_STR (cmd, "echo \"i am\" >> /dest\nwhoami >> /dest\n");
  CHECK_STR (name, "");
  free (cmd);
}

static void
test_run_shebang_heredoc_is_file (void)
{
  const struct cb_heredoc *script = NULL;
  cbuild_error err = { 0 };
  char name[64] = "";
  char *cmd = run_command ("RUN <<EOT\n#!/bin/awk -f\nBEGIN { print \"hello\" }\nEOT\n", &script, name,
                           sizeof name, &err);

  CHECK_STR (cmd, "/dev/pipes/EOT");
  CHECK_STR (name, "EOT");
  free (cmd);
}

static void
test_run_chomped_heredoc_is_stripped (void)
{
  const struct cb_heredoc *script = NULL;
  cbuild_error err = { 0 };
  char name[64] = "";
  char *cmd = run_command ("RUN <<-EOF\n\techo \"\n\tbar\" > /dest/bar-run\n\tEOF\n", &script, name, sizeof name,
                           &err);

  CHECK_STR (cmd, "echo \"\nbar\" > /dest/bar-run\n");
  free (cmd);
}

/* Anything around the heredoc word hands the heredocs to the shell, which
 * reads each body up to its delimiter line. */
static void
test_run_complex_heredocs_go_to_shell (void)
{
  const struct cb_heredoc *script = NULL;
  cbuild_error err = { 0 };
  char name[64] = "";
  char *cmd = run_command ("RUN cat <<EOF1 | tr a-z A-Z > ./out1; cat <<'EOF2' > ./out2\nhello $X\nEOF1\n"
                           "world $X\nEOF2\n",
                           &script, name, sizeof name, &err);

  CHECK_STR (cmd, "cat <<EOF1 | tr a-z A-Z > ./out1; cat <<'EOF2' > ./out2\nhello $X\nEOF1\nworld $X\nEOF2");
  CHECK_STR (name, "");
  free (cmd);

  cmd = run_command ("RUN <<EOF 3<<IN1 awk -f -\nBEGIN { }\nEOF\nhello\nIN1\n", &script, name, sizeof name, &err);
  CHECK_STR (cmd, "<<EOF 3<<IN1 awk -f -\nBEGIN { }\nEOF\nhello\nIN1");
  free (cmd);

  cmd = run_command ("RUN python3 <<EOF\nprint(1)\nEOF\n", &script, name, sizeof name, &err);
  CHECK_STR (cmd, "python3 <<EOF\nprint(1)\nEOF");
  free (cmd);
}

static void
test_run_shebang_name_must_be_file_name (void)
{
  const struct cb_heredoc *script = NULL;
  cbuild_error err = { 0 };
  char name[64] = "";
  char *cmd = run_command ("RUN <<..\n#!/bin/sh\ntrue\n..\n", &script, name, sizeof name, &err);

  CHECK (cmd == NULL);
  CHECK_STR (err.message, "heredoc delimiter '..' cannot be a file name");
}

/* The content of "COPY <<DELIM dest" with NAME=world and GREETING=hello. */
static char *
copy_content (const char *delim, const char *body)
{
  struct cb_strv env = CB_STRV_INIT;
  struct cb_dockerfile *df;
  cbuild_error err = { 0 };
  char *text = NULL;
  char *out = NULL;
  const struct cb_heredoc *doc;
  char word[64];

  cb_env_set (&env, "name", "world", &err);
  cb_env_set (&env, "GREETING", "hello", &err);
  if (asprintf (&text, "FROM scratch\nCOPY <<%s /dest\n%s\n%s\n", delim, body, delim[0] == '\'' || delim[0] == '"'
                ? "EOF" : delim) < 0)
    abort ();
  df = parse (text);
  free (text);
  snprintf (word, sizeof word, "<<%s", delim);
  doc = df ? cb_instruction_heredoc_for_arg (&df->instructions[1], word) : NULL;
  if (doc == NULL || cb_heredoc_copy_content (doc, &env, &out, &err) < 0)
    fprintf (stderr, "copy content of <<%s: %s\n", delim, err.message);
  cb_dockerfile_free (df);
  cb_strv_release (&env);
  return out;
}

static void
check_copy (const char *delim, const char *body, const char *want)
{
  char *got = copy_content (delim, body);

  CHECK_STR (got, want);
  free (got);
}

static void
test_copy_content_expansion (void)
{
  check_copy ("EOF", "Hello ${name}!", "Hello world!\n");
  check_copy ("'EOF'", "Hello ${name}!", "Hello ${name}!\n");
  check_copy ("\"EOF\"", "Hello ${name}!", "Hello ${name}!\n");
  check_copy ("EOF", "Hello '${name}'!", "Hello 'world'!\n");
  check_copy ("EOF", "Hello \"${name}\"!", "Hello \"world\"!\n");
  check_copy ("'EOF'", "Hello '${name}'!", "Hello '${name}'!\n");
  check_copy ("\"EOF\"", "Hello \"${name}\"!", "Hello \"${name}\"!\n");
  check_copy ("EOF", "$GREETING, ${missing:-x y} \"a'b\"", "hello, x y \"a'b\"\n");
}

static void
test_copy_content_escapes (void)
{
  check_copy ("EOF", "\"quotes in file\"", "\"quotes in file\"\n");
  check_copy ("EOF", "\\", "\n");
  check_copy ("EOF", "\\\\", "\\\n");
  check_copy ("EOF", "\\$", "$\n");
  check_copy ("EOF", "\\\"x\\\"", "\"x\"\n");
  check_copy ("\"EOF\"", "\\", "\\\n");
  check_copy ("\"EOF\"", "\\\\", "\\\\\n");
  check_copy ("\"EOF\"", "\\$", "\\$\n");
}

static void
test_copy_content_bad_substitution_fails (void)
{
  char *got = copy_content ("EOF", "${name:?must be set} ${unset:?must be set}");

  CHECK (got == NULL);
  free (got);
}

int
main (void)
{
  test_run_whole_heredoc_is_script ();
  test_run_shebang_heredoc_is_file ();
  test_run_chomped_heredoc_is_stripped ();
  test_run_complex_heredocs_go_to_shell ();
  test_run_shebang_name_must_be_file_name ();
  test_copy_content_expansion ();
  test_copy_content_escapes ();
  test_copy_content_bad_substitution_fails ();
  return check_report ();
}
