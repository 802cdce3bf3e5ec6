/* libcbuild through its public header only, as an embedding deploy tool
 * uses it: a build from scratch into an OCI layout, errors as codes and
 * messages, log lines through the callback, and nothing printed. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cbuild/cbuild.h>

#include "check.h"

static char tmp[] = "/var/tmp/cbuild-test-api-XXXXXX";

struct log_capture
{
  int lines;
  int saw_step;
};

static void
capture_log (void *user_data, int level, const char *message)
{
  struct log_capture *cap = user_data;

  (void) level;
  cap->lines++;
  if (strstr (message, "COPY hello.txt /") != NULL)
    cap->saw_step = 1;
}

static void
write_file (const char *dir, const char *name, const char *text)
{
  char path[512];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", dir, name);
  f = fopen (path, "w");
  fputs (text, f);
  fclose (f);
}

static char *
read_text (const char *path)
{
  static char buf[8192];
  FILE *f = fopen (path, "r");
  size_t n = 0;

  buf[0] = '\0';
  if (f)
    {
      n = fread (buf, 1, sizeof buf - 1, f);
      fclose (f);
    }
  buf[n] = '\0';
  return buf;
}

static void
test_build_into_layout (void)
{
  char context[512], root[512], out[512], index[600];
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_build_result *res = NULL;
  cbuild_error err = { 0 };
  struct log_capture cap = { 0, 0 };
  char spec[600];

  snprintf (context, sizeof context, "%s/context", tmp);
  snprintf (root, sizeof root, "%s/root", tmp);
  snprintf (out, sizeof out, "%s/layout", tmp);
  mkdir (context, 0755);
  write_file (context, "hello.txt", "hello from the library\n");
  write_file (context, "Dockerfile", "FROM scratch\nCOPY hello.txt /\nCMD [\"/hello\"]\n");
  snprintf (spec, sizeof spec, "type=oci,dest=%s,tar=false", out);

  CHECK_INT (cbuild_build_options_set_context (opts, context, &err), 0);
  CHECK_INT (cbuild_build_options_set_root (opts, root, &err), 0);
  CHECK_INT (cbuild_build_options_add_tag (opts, "example.com/api/hello:1", &err), 0);
  CHECK_INT (cbuild_build_options_add_output (opts, spec, &err), 0);
  cbuild_build_options_set_log (opts, capture_log, &cap);

  CHECK_INT (cbuild_build (opts, &res, &err), 0);
  if (res == NULL)
    {
      fprintf (stderr, "build failed: %s\n", err.message);
      cbuild_build_options_free (opts);
      return;
    }
  CHECK (strncmp (cbuild_build_result_digest (res), "sha256:", 7) == 0);
  CHECK (strlen (cbuild_build_result_digest (res)) == 71);
  CHECK (strcmp (cbuild_build_result_digest (res), cbuild_build_result_config_digest (res)) != 0);
  CHECK (cap.lines > 0);
  CHECK (cap.saw_step);

  /* The exported layout and the local store both name the same manifest. */
  snprintf (index, sizeof index, "%s/index.json", out);
  CHECK (strstr (read_text (index), cbuild_build_result_digest (res)) != NULL);
  snprintf (index, sizeof index, "%s/index.json", root);
  CHECK (strstr (read_text (index), "example.com/api/hello:1") != NULL);
  CHECK (strstr (read_text (index), cbuild_build_result_digest (res)) != NULL);
  cbuild_build_result_free (res);
  cbuild_build_options_free (opts);
}

static void
test_errors (void)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_build_result *res = NULL;
  cbuild_error err = { 0 };
  char root[512];

  snprintf (root, sizeof root, "%s/root", tmp);
  CHECK_INT (cbuild_build_options_set_context (opts, "/nonexistent/context", &err), 0);
  CHECK_INT (cbuild_build_options_set_root (opts, root, &err), 0);
  CHECK (cbuild_build (opts, &res, &err) < 0);
  CHECK (res == NULL);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);
  CHECK (strstr (err.message, "/nonexistent/context") != NULL);

  memset (&err, 0, sizeof err);
  CHECK (cbuild_build_options_add_output (opts, "type=docker,dest=x", &err) < 0);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  CHECK (strstr (err.message, "type=oci") != NULL);

  memset (&err, 0, sizeof err);
  CHECK (cbuild_build_options_add_build_arg (opts, "=value", &err) < 0);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  cbuild_build_options_free (opts);
  cbuild_build_options_free (NULL);
  cbuild_build_result_free (NULL);
}

int
main (void)
{
  char captured[600];
  int saved_out, saved_err, fd;
  struct stat st;

  if (getuid () != 0)
    {
      printf ("skipped: mounting overlays needs root\n");
      return 77;
    }
  if (mkdtemp (tmp) == NULL)
    return 1;

  /* The library never prints: everything it writes to stdout or stderr
   * during the calls would land in this file. */
  snprintf (captured, sizeof captured, "%s/printed", tmp);
  fflush (stdout);
  fflush (stderr);
  saved_out = dup (1);
  saved_err = dup (2);
  fd = open (captured, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  dup2 (fd, 1);
  dup2 (fd, 2);
  close (fd);
  test_build_into_layout ();
  test_errors ();
  fflush (stdout);
  fflush (stderr);
  dup2 (saved_out, 1);
  dup2 (saved_err, 2);
  close (saved_out);
  close (saved_err);

  CHECK (stat (captured, &st) == 0);
  CHECK_INT (st.st_size, 0);
  if (st.st_size > 0)
    fprintf (stderr, "printed during the calls:\n%s\n", read_text (captured));
  {
    char cmd[600];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system (cmd) != 0)
      fprintf (stderr, "could not remove %s\n", tmp);
  }
  return check_report ();
}
