/* --secret values as docker build takes them, and reading their values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/options.h"
#include "check.h"
#include "common/fs.h"

static char *base_dir;

static char *
write_file (const char *name, const char *data, size_t len)
{
  char *path = cb_path_join (base_dir, name);
  cbuild_error err = { 0 };

  if (path == NULL || cb_write_file_atomic (path, data, len, 0600, &err) < 0)
    abort ();
  return path;
}

/* The value of secret id, or NULL when it is not defined or not readable. */
static char *
read_secret (const cbuild_build_options *opts, const char *id)
{
  cbuild_error err = { 0 };
  char *value = NULL;
  size_t len = 0;
  bool found = false;

  if (cb_options_read_secret (opts, id, &value, &len, &found, &err) < 0)
    {
      fprintf (stderr, "read secret '%s': %s\n", id, err.message);
      return NULL;
    }
  if (found && strlen (value) != len)
    abort ();
  return value;
}

static void
check_secret (const cbuild_build_options *opts, const char *id, const char *want)
{
  char *value = read_secret (opts, id);

  CHECK_STR (value, want);
  free (value);
}

static void
check_rejected (const char *spec, const char *want)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_error err = { 0 };

  CHECK_INT (cbuild_build_options_add_secret (opts, spec, &err), -1);
  CHECK_STR (err.message, want);
  cbuild_build_options_free (opts);
}

static void
test_secret_from_file_and_env (void)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  char *file = write_file ("token", "file-value", 10);
  char *spec = NULL;
  cbuild_error err = { 0 };

  setenv ("CB_TEST_SECRET", "env-value", 1);
  setenv ("env_default", "from-env-default", 1);
  if (asprintf (&spec, "id=filetok,src=%s", file) < 0)
    abort ();
  CHECK_INT (cbuild_build_options_add_secret (opts, spec, &err), 0);
  CHECK_INT (cbuild_build_options_add_secret (opts, "id=envtok,env=CB_TEST_SECRET", &err), 0);
  CHECK_INT (cbuild_build_options_add_secret (opts, "type=env,id=typed,src=CB_TEST_SECRET", &err), 0);
  CHECK_INT (cbuild_build_options_add_secret (opts, "id=env_default", &err), 0);
  CHECK_INT (cbuild_build_options_add_secret (opts, "ID=upper,ENV=CB_TEST_SECRET", &err), 0);
  check_secret (opts, "filetok", "file-value");
  check_secret (opts, "envtok", "env-value");
  check_secret (opts, "typed", "env-value");
  check_secret (opts, "env_default", "from-env-default");
  check_secret (opts, "upper", "env-value");
  /* The value is read when a step needs it, not when it is added. */
  setenv ("CB_TEST_SECRET", "changed", 1);
  check_secret (opts, "envtok", "changed");
  unsetenv ("CB_TEST_SECRET");
  check_secret (opts, "envtok", "");
  free (spec);
  free (file);
  cbuild_build_options_free (opts);
}

static void
test_secret_undefined_not_found (void)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  cbuild_error err = { 0 };
  char *value = (char *) "sentinel";
  size_t len = 7;
  bool found = true;

  CHECK_INT (cb_options_read_secret (opts, "nothing", &value, &len, &found, &err), 0);
  CHECK (!found);
  CHECK (value == NULL);
  CHECK_INT (len, 0);
  cbuild_build_options_free (opts);
}

static void
test_secret_last_definition_wins (void)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  char *file = write_file ("first", "first", 5);
  char *spec = NULL;
  cbuild_error err = { 0 };

  setenv ("CB_TEST_SECOND", "second", 1);
  if (asprintf (&spec, "id=dup,src=%s", file) < 0)
    abort ();
  CHECK_INT (cbuild_build_options_add_secret (opts, spec, &err), 0);
  CHECK_INT (cbuild_build_options_add_secret (opts, "id=dup,env=CB_TEST_SECOND", &err), 0);
  check_secret (opts, "dup", "second");
  CHECK_INT (opts->n_secrets, 1);
  free (spec);
  free (file);
  cbuild_build_options_free (opts);
}

static void
test_secret_quoted_field (void)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  char *file = write_file ("a,b", "comma", 5);
  char *spec = NULL;
  cbuild_error err = { 0 };

  if (asprintf (&spec, "id=q,\"src=%s\"", file) < 0)
    abort ();
  CHECK_INT (cbuild_build_options_add_secret (opts, spec, &err), 0);
  check_secret (opts, "q", "comma");
  setenv ("CB_TEST_QUOTED", "quoted id", 1);
  CHECK_INT (cbuild_build_options_add_secret (opts, "\"id=say \"\"hi\"\"\",env=CB_TEST_QUOTED", &err), 0);
  check_secret (opts, "say \"hi\"", "quoted id");
  free (spec);
  free (file);
  cbuild_build_options_free (opts);
}

static void
test_secret_file_size_limit (void)
{
  cbuild_build_options *opts = cbuild_build_options_new ();
  char *big = calloc (1, CB_SECRET_MAX_SIZE + 1);
  char *file, *spec = NULL;
  cbuild_error err = { 0 };
  char *value;

  memset (big, 'x', CB_SECRET_MAX_SIZE);
  file = write_file ("max", big, CB_SECRET_MAX_SIZE);
  if (asprintf (&spec, "id=max,src=%s", file) < 0)
    abort ();
  CHECK_INT (cbuild_build_options_add_secret (opts, spec, &err), 0);
  value = read_secret (opts, "max");
  CHECK (value != NULL && strlen (value) == CB_SECRET_MAX_SIZE);
  free (value);
  free (spec);
  free (file);

  /* A file that grew past the limit after it was added is rejected too. */
  file = write_file ("max", big, CB_SECRET_MAX_SIZE + 1);
  CHECK (read_secret (opts, "max") == NULL);
  if (asprintf (&spec, "id=toobig,src=%s", file) < 0)
    abort ();
  CHECK_INT (cbuild_build_options_add_secret (opts, spec, &err), -1);
  CHECK (strstr (err.message, "is too large (512001 bytes, maximum 512000)") != NULL);
  free (spec);
  free (file);
  free (big);
  cbuild_build_options_free (opts);
}

static void
test_secret_invalid_specs (void)
{
  check_rejected ("src=/etc/hostname", "invalid secret 'src=/etc/hostname': missing id=ID");
  check_rejected ("id=a,mode=0400", "invalid secret 'id=a,mode=0400': unexpected key 'mode' (use id, src or env)");
  check_rejected ("id=a,type=ssh", "invalid secret 'id=a,type=ssh': unsupported type 'ssh' (use file or env)");
  check_rejected ("id", "invalid secret 'id': field 'id' must be a key=value pair");
  check_rejected ("\"id=a", "invalid secret '\"id=a': missing closing '\"'");
  check_rejected ("\"id=a\"x", "invalid secret '\"id=a\"x': text after a closing '\"'");
  check_rejected ("id=a,src=/nonexistent/file", "secret 'a': cannot read '/nonexistent/file': No such file or directory");
  check_rejected ("id=a,src=/", "secret 'a': '/' is not a regular file");
  unsetenv ("cb_no_such_secret");
  check_rejected ("id=cb_no_such_secret",
                  "secret 'cb_no_such_secret': cannot read 'cb_no_such_secret': No such file or directory");
}

int
main (void)
{
  cbuild_error err = { 0 };

  base_dir = cb_make_temp_dir ("/var/tmp", "cbuild-test-secrets", &err);
  if (base_dir == NULL || chdir (base_dir) < 0)
    return 1;
  test_secret_from_file_and_env ();
  test_secret_undefined_not_found ();
  test_secret_last_definition_wins ();
  test_secret_quoted_field ();
  test_secret_file_size_limit ();
  test_secret_invalid_specs ();
  cb_remove_tree (base_dir, &err);
  free (base_dir);
  return check_report ();
}
