/* The extra mounts of a RUN container: how config.json gives them to the
 * runtime, and, through the real runc on an overlay of a busybox root file
 * system, that they work and leave no mount point in the upper directory. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/overlay.h"
#include "builder/runtime.h"
#include "builder/runtime_spec.h"
#include "check.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fs.h"
#include "common/strv.h"

static char *base_dir;

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
  cbuild_error err = { 0 };

  if (cb_write_file_atomic (p, text, strlen (text), 0644, &err) < 0)
    abort ();
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

static char *
read_text (const char *dir, const char *name)
{
  char *p = path_in (dir, name);
  cbuild_error err = { 0 };
  char *text = NULL;
  size_t len = 0;

  if (cb_read_file (p, 1 << 20, &text, &len, &err) < 0)
    text = NULL;
  free (p);
  return text;
}

/* The mount at destination in a config.json, or NULL. */
static json_t *
find_mount (json_t *spec, const char *destination)
{
  json_t *mounts = json_object_get (spec, "mounts");
  json_t *m;
  size_t i;

  json_array_foreach (mounts, i, m)
    if (strcmp (json_string_value (json_object_get (m, "destination")), destination) == 0)
      return m;
  return NULL;
}

static char *
options_of (json_t *m)
{
  cleanup_buf struct cb_buf out = CB_BUF_INIT;
  json_t *opt;
  size_t i;

  json_array_foreach (json_object_get (m, "options"), i, opt)
    cb_buf_printf (&out, NULL, "%s%s", i ? "," : "", json_string_value (opt));
  return cb_buf_detach (&out);
}

static void
check_mount (json_t *spec, const char *destination, const char *type, const char *source, const char *options)
{
  json_t *m = find_mount (spec, destination);
  char *got;

  CHECK (m != NULL);
  if (m == NULL)
    return;
  CHECK_STR (json_string_value (json_object_get (m, "type")), type);
  CHECK_STR (json_string_value (json_object_get (m, "source")), source);
  got = options_of (m);
  CHECK_STR (got, options);
  free (got);
}

static void
test_spec_extra_mounts (void)
{
  char *argv[] = { "/bin/true", NULL };
  char *env[] = { "PATH=/bin", NULL };
  struct cb_container_mount mounts[] = {
    { CB_CONTAINER_BIND, "/host/cache", "/root/.cache", false, false, 0 },
    { CB_CONTAINER_BIND, "/host/ctx", "/src", true, false, 0 },
    { CB_CONTAINER_TMPFS, NULL, "/scratch", false, false, 1048576 },
    { CB_CONTAINER_TMPFS, NULL, "/unbounded", false, false, -1 },
    { CB_CONTAINER_BIND, "/private/secret-0", "/run/secrets/token", true, true, 0 },
  };
  struct cb_run_request req = { .runtime = "runc", .argv = argv, .env = env, .cwd = "/", .mounts = mounts,
                                .n_mounts = 5 };
  struct cb_spec_mounts fixed = { 0 };
  char *config = path_in (base_dir, "config.json");
  cbuild_error err = { 0 };
  json_error_t jerr;
  json_t *spec, *all;

  CHECK_INT (cb_runtime_spec_write (&req, "/rootfs", &fixed, config, &err), 0);
  spec = json_load_file (config, 0, &jerr);
  CHECK (spec != NULL);
  check_mount (spec, "/root/.cache", "bind", "/host/cache", "rbind,rw");
  check_mount (spec, "/src", "bind", "/host/ctx", "rbind,ro");
  check_mount (spec, "/scratch", "tmpfs", "tmpfs", "rw,nosuid,size=1048576");
  check_mount (spec, "/unbounded", "tmpfs", "tmpfs", "rw,nosuid");
  check_mount (spec, "/run/secrets/token", "bind", "/private/secret-0", "rbind,ro,nosuid,nodev,noexec");
  /* After the standard mounts, in the request's order. */
  all = json_object_get (spec, "mounts");
  CHECK_STR (json_string_value (json_object_get (json_array_get (all, 0), "destination")), "/proc");
  CHECK_STR (json_string_value (json_object_get (json_array_get (all, json_array_size (all) - 5), "destination")),
             "/root/.cache");
  json_decref (spec);
  free (config);
}

static void
test_run_rejects_bad_mounts (void)
{
  char *argv[] = { "/bin/true", NULL };
  char *env[] = { NULL };
  struct cb_container_mount relative = { CB_CONTAINER_TMPFS, NULL, "scratch", false, false, 0 };
  struct cb_container_mount no_source = { CB_CONTAINER_BIND, NULL, "/src", true, false, 0 };
  struct cb_run_request req = { .runtime = "runc", .rootfs = base_dir, .bundle_dir = base_dir, .argv = argv,
                                .env = env, .cwd = "/", .mounts = &relative, .n_mounts = 1 };
  cbuild_error err = { 0 };
  int code = 0;

  CHECK_INT (cb_runtime_run (&req, &code, &err), -1);
  CHECK_STR (err.message, "run: the mount destination 'scratch' is not absolute");
  req.mounts = &no_source;
  CHECK_INT (cb_runtime_run (&req, &code, &err), -1);
  CHECK_STR (err.message, "run: the bind mount source '' is not absolute");
}

/* A root file system holding busybox-static and its applets as symlinks. */
static char *
make_busybox_rootfs (void)
{
  static const char *const applets[] = { "sh", "cat", "touch", "echo", "df", "grep", "test", "ls", NULL };
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
  write_text (etc, "passwd", "root:x:0:0:root:/root:/bin/sh\n");
  free (bin);
  free (etc);
  return root;
}

static void
collect_line (void *user_data, const char *line)
{
  cb_strv_push (user_data, line, NULL);
}

/* Binds (read-only and read-write), a tmpfs and a secret-like file at
 * paths missing from the image: the command sees them, writes land where
 * they should, and the upper directory keeps none of the mount points or
 * their parents. The image's /etc stays (copied up for /etc/hosts). */
static void
test_run_with_mounts (const char *lower, const char *runtime)
{
  cleanup_strv struct cb_strv lines = CB_STRV_INIT;
  char *step = path_in (base_dir, "step");
  char *upper = path_in (step, "upper"), *work = path_in (step, "work"), *merged = path_in (step, "merged");
  char *bundle = path_in (step, "bundle"), *ro = path_in (base_dir, "ro"), *rw = path_in (base_dir, "rw");
  char *secret = path_in (base_dir, "secret");
  const char *lowers[1] = { lower };
  char *argv[] = { "/bin/sh", "-c",
                   "cat /mnt/ro/in.txt; touch /mnt/ro/denied 2>/dev/null || echo ro-denied; "
                   "echo made >/cache/dir/out.txt; echo t >/var/tmp/t/f && df /var/tmp/t | grep -c tmpfs; "
                   "cat /run/secrets/s; echo; test -x /run/secrets/s || echo not-exec; touch /kept",
                   NULL };
  char *env[] = { "PATH=/bin", NULL };
  struct cb_container_mount mounts[] = {
    { CB_CONTAINER_BIND, ro, "/mnt/ro", true, false, 0 },
    { CB_CONTAINER_BIND, rw, "/cache/dir", false, false, 0 },
    { CB_CONTAINER_TMPFS, NULL, "/var/tmp/t", false, false, 65536 },
    { CB_CONTAINER_BIND, secret, "/run/secrets/s", true, true, 0 },
  };
  struct cb_run_request req = { .runtime = runtime, .rootfs = merged, .bundle_dir = bundle, .argv = argv,
                                .env = env, .cwd = "/", .mounts = mounts, .n_mounts = 4,
                                .output = collect_line, .output_user_data = &lines };
  cbuild_error err = { 0 };
  char *out;
  int code = -1;

  mkdir (step, 0755);
  mkdir (upper, 0755);
  mkdir (work, 0700);
  mkdir (merged, 0755);
  mkdir (bundle, 0700);
  mkdir (ro, 0755);
  mkdir (rw, 0755);
  write_text (ro, "in.txt", "from the ro bind\n");
  write_text (base_dir, "secret", "hunter2");
  chmod (secret, 0400);
  if (cb_overlay_mount (lowers, 1, upper, work, merged, &err) < 0)
    {
      fprintf (stderr, "mount: %s\n", err.message);
      abort ();
    }
  CHECK_INT (cb_runtime_run (&req, &code, &err), 0);
  if (err.message[0])
    fprintf (stderr, "run: %s\n", err.message);
  CHECK_INT (code, 0);
  CHECK_STR (lines.len > 0 ? lines.items[0] : "", "from the ro bind");
  CHECK_STR (lines.len > 1 ? lines.items[1] : "", "ro-denied");
  CHECK_STR (lines.len > 2 ? lines.items[2] : "", "1");
  CHECK_STR (lines.len > 3 ? lines.items[3] : "", "hunter2");
  CHECK_STR (lines.len > 4 ? lines.items[4] : "", "not-exec");

  out = read_text (rw, "out.txt");
  CHECK_STR (out, "made\n");
  free (out);
  CHECK (!exists (ro, "denied"));
  CHECK_INT (cb_overlay_unmount (merged, &err), 0);
  CHECK (exists (upper, "kept"));
  CHECK (!exists (upper, "mnt"));
  CHECK (!exists (upper, "cache"));
  CHECK (!exists (upper, "var"));
  CHECK (!exists (upper, "run"));
  CHECK (exists (upper, "etc"));
  CHECK (!exists (upper, "etc/hosts"));
  free (step);
  free (upper);
  free (work);
  free (merged);
  free (bundle);
  free (ro);
  free (rw);
  free (secret);
}

/* A mount point inside a directory of the image keeps that directory, and
 * one the command filled stays in the layer. */
static void
test_run_mount_point_with_content_stays (const char *lower, const char *runtime)
{
  char *step = path_in (base_dir, "step2");
  char *upper = path_in (step, "upper"), *work = path_in (step, "work"), *merged = path_in (step, "merged");
  char *bundle = path_in (step, "bundle");
  const char *lowers[1] = { lower };
  char *argv[] = { "/bin/sh", "-c", "echo kept >/opt/own.txt; test -d /etc/conf.d/t", NULL };
  char *env[] = { "PATH=/bin", NULL };
  struct cb_container_mount mounts[] = {
    { CB_CONTAINER_TMPFS, NULL, "/opt/tmp", false, false, 0 },
    { CB_CONTAINER_TMPFS, NULL, "/etc/conf.d/t", false, false, 0 },
  };
  struct cb_run_request req = { .runtime = runtime, .rootfs = merged, .bundle_dir = bundle, .argv = argv,
                                .env = env, .cwd = "/", .mounts = mounts, .n_mounts = 2 };
  cbuild_error err = { 0 };
  int code = -1;

  mkdir (step, 0755);
  mkdir (upper, 0755);
  mkdir (work, 0700);
  mkdir (merged, 0755);
  mkdir (bundle, 0700);
  if (cb_overlay_mount (lowers, 1, upper, work, merged, &err) < 0)
    abort ();
  CHECK_INT (cb_runtime_run (&req, &code, &err), 0);
  CHECK_INT (code, 0);
  CHECK_INT (cb_overlay_unmount (merged, &err), 0);
  CHECK (exists (upper, "opt/own.txt"));
  CHECK (!exists (upper, "opt/tmp"));
  CHECK (!exists (upper, "etc/conf.d"));
  free (step);
  free (upper);
  free (work);
  free (merged);
  free (bundle);
}

int
main (void)
{
  cbuild_error err = { 0 };
  char *runtime = NULL;
  char *lower;

  base_dir = cb_make_temp_dir ("/var/tmp", "cbuild-test-runtime-mounts", &err);
  if (base_dir == NULL)
    return 1;
  test_spec_extra_mounts ();
  test_run_rejects_bad_mounts ();
  if (geteuid () == 0 && access ("/bin/busybox", X_OK) == 0 && cb_runtime_detect (NULL, &runtime, &err) == 0)
    {
      lower = make_busybox_rootfs ();
      test_run_with_mounts (lower, runtime);
      test_run_mount_point_with_content_stays (lower, runtime);
      free (lower);
    }
  else
    printf ("runtime cases skipped: they need root, /bin/busybox and runc\n");
  cb_remove_tree (base_dir, &err);
  free (base_dir);
  free (runtime);
  return check_report ();
}
