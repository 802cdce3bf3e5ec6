/* RUN through the real runc on an overlay of a busybox root file system,
 * USER resolution, and runtime detection. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/overlay.h"
#include "builder/runtime.h"
#include "check.h"
#include "common/fs.h"
#include "common/strv.h"

static char *base_dir;
static char *runtime;

static char *
path_in (const char *dir, const char *name)
{
  char *p = NULL;

  if (asprintf (&p, "%s/%s", dir, name) < 0)
    abort ();
  return p;
}

static void
write_text (const char *dir, const char *name, const char *text)
{
  char *p = path_in (dir, name);
  FILE *f = fopen (p, "w");

  if (f == NULL)
    abort ();
  fputs (text, f);
  fclose (f);
  free (p);
}

static bool
exists (const char *dir, const char *name)
{
  struct stat st;
  char *p = path_in (dir, name);
  bool ok = lstat (p, &st) == 0;

  free (p);
  return ok;
}

/* A root file system holding busybox-static, its applets as symlinks, and
 * an app user (1000:1000) that is also in the staff group (50). */
static char *
make_busybox_rootfs (void)
{
  static const char *const applets[] = { "sh", "id", "cat", "readlink", "hostname", "ls", "sleep", "head",
                                         "tr", "mkdir", "touch", "echo", "grep", NULL };
  char *root = path_in (base_dir, "busybox-root");
  char *bin = path_in (root, "bin");
  char *etc = path_in (root, "etc");
  char cmd[512];

  mkdir (root, 0755);
  mkdir (bin, 0755);
  mkdir (etc, 0755);
  snprintf (cmd, sizeof cmd, "cp /bin/busybox '%s/busybox'", bin);
  if (system (cmd) != 0)
    abort ();
  for (size_t i = 0; applets[i]; i++)
    {
      char *link = path_in (bin, applets[i]);
      if (symlink ("busybox", link) < 0)
        abort ();
      free (link);
    }
  write_text (etc, "passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
  write_text (etc, "group", "root:x:0:\napp:x:1000:\nstaff:x:50:app,other\nwheel:x:10:other\n");
  free (bin);
  free (etc);
  return root;
}

struct step
{
  char *dir, *upper, *work, *merged, *bundle;
};

static int
step_mount (struct step *s, const char *name, const char *lower)
{
  cbuild_error err = { 0 };
  const char *lowers[1] = { lower };

  s->dir = path_in (base_dir, name);
  s->upper = path_in (s->dir, "upper");
  s->work = path_in (s->dir, "work");
  s->merged = path_in (s->dir, "merged");
  s->bundle = path_in (s->dir, "bundle");
  mkdir (s->dir, 0755);
  mkdir (s->upper, 0755);
  mkdir (s->work, 0700);
  mkdir (s->merged, 0755);
  mkdir (s->bundle, 0700);
  if (cb_overlay_mount (lowers, 1, s->upper, s->work, s->merged, &err) < 0)
    {
      fprintf (stderr, "mount: %s\n", err.message);
      return -1;
    }
  return 0;
}

static void
step_release (struct step *s)
{
  cbuild_error err = { 0 };

  cb_overlay_unmount (s->merged, &err);
  free (s->dir);
  free (s->upper);
  free (s->work);
  free (s->merged);
  free (s->bundle);
}

static void
collect_line (void *user_data, const char *line)
{
  cb_strv_push (user_data, line, NULL);
}

static const char *
line_at (const struct cb_strv *lines, size_t i)
{
  return i < lines->len ? lines->items[i] : "(missing)";
}

static long
owner_of (const char *dir, const char *name)
{
  struct stat st;
  char *p = path_in (dir, name);
  long uid = lstat (p, &st) == 0 ? (long) st.st_uid : -1;

  free (p);
  return uid;
}

static char *
host_net_namespace (void)
{
  char buf[128];
  ssize_t n = readlink ("/proc/self/ns/net", buf, sizeof buf - 1);

  buf[n > 0 ? n : 0] = '\0';
  return strdup (buf);
}

static void
test_runtime_detect_finds_runc (void)
{
  cbuild_error err = { 0 };

  CHECK_INT (cb_runtime_detect (NULL, &runtime, &err), 0);
  if (runtime == NULL)
    fprintf (stderr, "detect: %s\n", err.message);
  CHECK (runtime && strstr (runtime, "runc") != NULL);
}

static void
test_runtime_detect_bogus_path (void)
{
  cbuild_error err = { 0 };
  char *path = NULL;

  CHECK_INT (cb_runtime_detect ("/nonexistent/runc", &path, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_RUNTIME);
  CHECK (strstr (err.message, "no working OCI runtime: /nonexistent/runc: ") == err.message);
  CHECK (strstr (err.message, "(install runc, or pass --runtime PATH)") != NULL);
  CHECK (path == NULL);

  /* An executable that is no runtime: it exists, but starts no container. */
  memset (&err, 0, sizeof err);
  CHECK_INT (cb_runtime_detect ("/bin/false", &path, &err), -1);
  CHECK (strstr (err.message, "/bin/false") != NULL);
  CHECK (path == NULL);
}

static void
test_runtime_run_as_user (const char *lower)
{
  cleanup_strv struct cb_strv lines = CB_STRV_INIT;
  char *argv[] = { "/bin/sh", "-c",
                   "echo hi; id -u; id -G; pwd; echo $FOO; readlink /proc/self/ns/net; hostname; "
                   "grep -c buildkitsandbox /etc/hosts; test -s /etc/resolv.conf && echo resolv; exit 3",
                   NULL };
  char *env[] = { "PATH=/bin", "FOO=bar baz", NULL };
  gid_t groups[1] = { 50 };
  char *netns = host_net_namespace ();
  cbuild_error err = { 0 };
  struct step s;
  int code = -1;

  if (step_mount (&s, "step-user", lower) < 0)
    abort ();
  struct cb_run_request req = { .runtime = runtime, .rootfs = s.merged, .bundle_dir = s.bundle, .argv = argv,
                                .env = env, .cwd = "/work/sub", .uid = 1000, .gid = 1000,
                                .additional_gids = groups, .n_additional_gids = 1,
                                .output = collect_line, .output_user_data = &lines };
  CHECK_INT (cb_runtime_run (&req, &code, &err), 0);
  if (err.message[0])
    fprintf (stderr, "run: %s\n", err.message);
  CHECK_INT (code, 3);
  CHECK_STR (line_at (&lines, 0), "hi");
  CHECK_STR (line_at (&lines, 1), "1000");
  CHECK_STR (line_at (&lines, 2), "1000 50");
  CHECK_STR (line_at (&lines, 3), "/work/sub");
  CHECK_STR (line_at (&lines, 4), "bar baz");
  /* The host's network namespace: RUN has the host's network. */
  CHECK_STR (line_at (&lines, 5), netns);
  CHECK_STR (line_at (&lines, 6), "buildkitsandbox");
  CHECK_STR (line_at (&lines, 7), "1");
  if (access ("/etc/resolv.conf", R_OK) == 0)
    CHECK_STR (line_at (&lines, 8), "resolv");

  /* The working directory stays, owned by the user as in BuildKit; the
   * runtime's mount points do not. */
  CHECK_INT (cb_overlay_unmount (s.merged, &err), 0);
  CHECK (exists (s.upper, "work/sub"));
  CHECK_INT (owner_of (s.upper, "work"), 1000);
  CHECK_INT (owner_of (s.upper, "work/sub"), 1000);
  CHECK (!exists (s.upper, "proc"));
  CHECK (!exists (s.upper, "dev"));
  CHECK (!exists (s.upper, "sys"));
  CHECK (!exists (s.upper, "etc/hosts"));
  CHECK (!exists (s.upper, "etc/resolv.conf"));
  CHECK (!exists (s.merged, "proc"));
  free (netns);
  step_release (&s);
}

static void
test_runtime_run_long_line (const char *lower)
{
  cleanup_strv struct cb_strv lines = CB_STRV_INIT;
  char *argv[] = { "/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' a; echo; echo end; mkdir /made", NULL };
  char *env[] = { "PATH=/bin", NULL };
  cbuild_error err = { 0 };
  struct step s;
  int code = -1;

  if (step_mount (&s, "step-long", lower) < 0)
    abort ();
  struct cb_run_request req = { .runtime = runtime, .rootfs = s.merged, .bundle_dir = s.bundle, .argv = argv,
                                .env = env, .cwd = "/", .output = collect_line, .output_user_data = &lines };
  CHECK_INT (cb_runtime_run (&req, &code, &err), 0);
  CHECK_INT (code, 0);
  CHECK_INT (lines.len, 3);
  CHECK_INT (strlen (line_at (&lines, 0)), 65536);
  CHECK_INT (strlen (line_at (&lines, 1)), 100000 - 65536);
  CHECK_STR (line_at (&lines, 2), "end");
  CHECK_INT (cb_overlay_unmount (s.merged, &err), 0);
  CHECK (exists (s.upper, "made"));
  CHECK (!exists (s.upper, "dev"));
  step_release (&s);
}

static void
test_runtime_run_missing_command (const char *lower)
{
  char *argv[] = { "/no/such/command", NULL };
  char *env[] = { "PATH=/bin", NULL };
  cbuild_error err = { 0 };
  struct step s;
  int code = -1;

  if (step_mount (&s, "step-missing", lower) < 0)
    abort ();
  struct cb_run_request req = { .runtime = runtime, .rootfs = s.merged, .bundle_dir = s.bundle, .argv = argv,
                                .env = env, .cwd = "/" };
  CHECK_INT (cb_runtime_run (&req, &code, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_RUNTIME);
  CHECK (strstr (err.message, "/no/such/command") != NULL);
  CHECK_INT (cb_overlay_unmount (s.merged, &err), 0);
  CHECK (!exists (s.upper, "proc"));
  step_release (&s);
}

/* True when some process has the argument "31337"; the pattern is written
 * so that it does not match the grep command itself. */
static bool
sleeper_exists (void)
{
  return system ("grep -qsa -- '3133[7]' /proc/[0-9]*/cmdline") == 0;
}

/* A cbuild killed with SIGKILL while RUN runs must not leave the container
 * running: the runtime is pid 1 of a pid namespace that dies with cbuild. */
static void
test_runtime_killed_caller (const char *lower)
{
  char *argv[] = { "/bin/sleep", "31337", NULL };
  char *env[] = { "PATH=/bin", NULL };
  struct step s;
  pid_t child;

  if (step_mount (&s, "step-killed", lower) < 0)
    abort ();
  child = fork ();
  if (child == 0)
    {
      struct cb_run_request req = { .runtime = runtime, .rootfs = s.merged, .bundle_dir = s.bundle,
                                    .argv = argv, .env = env, .cwd = "/" };
      cbuild_error err = { 0 };
      int code;
      _exit (cb_runtime_run (&req, &code, &err) < 0 ? 1 : 0);
    }
  for (int i = 0; i < 100 && !sleeper_exists (); i++)
    usleep (50000);
  CHECK (sleeper_exists ());
  kill (child, SIGKILL);
  waitpid (child, NULL, 0);
  for (int i = 0; i < 100 && sleeper_exists (); i++)
    usleep (50000);
  CHECK (!sleeper_exists ());
  step_release (&s);
}

static void
check_user (const char *rootfs, const char *spec, int want_uid, int want_gid, size_t want_n, int want_first)
{
  cbuild_error err = { 0 };
  gid_t *groups = NULL;
  size_t n = 99;
  uid_t uid = 12345;
  gid_t gid = 12345;

  CHECK_INT (cb_resolve_user (rootfs, spec, &uid, &gid, &groups, &n, &err), 0);
  if (err.message[0])
    fprintf (stderr, "user '%s': %s\n", spec, err.message);
  CHECK_INT (uid, want_uid);
  CHECK_INT (gid, want_gid);
  CHECK_INT (n, want_n);
  if (want_n > 0 && n > 0)
    CHECK_INT (groups[0], want_first);
  free (groups);
}

static void
check_user_fails (const char *rootfs, const char *spec, const char *want)
{
  cbuild_error err = { 0 };
  gid_t *groups = NULL;
  size_t n = 0;
  uid_t uid;
  gid_t gid;

  CHECK_INT (cb_resolve_user (rootfs, spec, &uid, &gid, &groups, &n, &err), -1);
  CHECK_STR (err.message, want);
  CHECK (groups == NULL);
}

static void
test_resolve_user_cases (const char *rootfs)
{
  check_user (rootfs, "app", 1000, 1000, 1, 50);
  check_user (rootfs, "1000", 1000, 1000, 1, 50);
  check_user (rootfs, "app:staff", 1000, 50, 0, 0);
  check_user (rootfs, "app:10", 1000, 10, 0, 0);
  check_user (rootfs, "app:777", 1000, 777, 0, 0);
  check_user (rootfs, "5000", 5000, 0, 0, 0);
  check_user (rootfs, "0:5", 0, 5, 0, 0);
  check_user (rootfs, "", 0, 0, 0, 0);
  check_user_fails (rootfs, "nobody", "unable to find user nobody: no matching entries in passwd file");
  check_user_fails (rootfs, "app:nogroup", "unable to find group nogroup: no matching entries in group file");
  check_user_fails (rootfs, ":staff", "invalid user ':staff': the user part is empty");
}

/* An image whose /etc is a symlink to a directory outside it, which
 * contains a passwd file with the user: that file must not be read. An
 * /etc that loops counts as missing. */
static void
test_resolve_user_confined (void)
{
  char *root = path_in (base_dir, "hostile-root");
  char *outside = path_in (base_dir, "outside-etc");
  char *etc = path_in (root, "etc");
  char *target = NULL;

  mkdir (root, 0755);
  mkdir (outside, 0755);
  write_text (outside, "passwd", "intruder:x:0:0::/:/bin/sh\n");
  if (asprintf (&target, "../../../../../../../..%s", outside) < 0 || symlink (target, etc) < 0)
    abort ();
  check_user_fails (root, "intruder", "unable to find user intruder: no matching entries in passwd file");
  check_user (root, "0", 0, 0, 0, 0);

  unlink (etc);
  if (symlink ("../../etc", etc) < 0)
    abort ();
  check_user_fails (root, "root", "unable to find user root: no matching entries in passwd file");
  check_user (root, "0:7", 0, 7, 0, 0);
  free (target);
  free (etc);
  free (outside);
  free (root);
}

int
main (void)
{
  cbuild_error err = { 0 };
  char *lower;

  if (geteuid () != 0 || access ("/bin/busybox", X_OK) != 0)
    {
      printf ("skipped: needs root and /bin/busybox (busybox-static)\n");
      return 77;
    }
  base_dir = cb_make_temp_dir ("/var/tmp", "cbuild-test-runtime", &err);
  if (base_dir == NULL)
    return 1;
  lower = make_busybox_rootfs ();
  test_resolve_user_cases (lower);
  test_resolve_user_confined ();
  test_runtime_detect_finds_runc ();
  test_runtime_detect_bogus_path ();
  if (runtime)
    {
      test_runtime_run_as_user (lower);
      test_runtime_run_long_line (lower);
      test_runtime_run_missing_command (lower);
      test_runtime_killed_caller (lower);
    }
  cb_remove_tree (base_dir, &err);
  free (lower);
  free (base_dir);
  free (runtime);
  return check_report ();
}
