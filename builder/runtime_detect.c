/* Finding an OCI runtime that works on this host. Being installed is not
 * enough, because a runtime can fail on the host's cgroup setup, for one.
 * So each candidate starts a trivial container, with the configuration RUN
 * uses, before it is chosen. */
#include "builder/runtime.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/runtime_internal.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

#define WHY_MAX 768

/* Searched after $PATH, because runc lives in /usr/sbin, which is often
 * missing from the PATH of a user who is not root. */
#define FALLBACK_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The host directories bound read-only into the test container, so that it
 * can run the host's /bin/true without an image. */
static const char *const probe_dirs[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
#define N_PROBE_DIRS (sizeof probe_dirs / sizeof probe_dirs[0])

static bool
is_executable_file (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 && S_ISREG (st.st_mode) && access (path, X_OK) == 0;
}

static bool
is_dir (const char *path)
{
  struct stat st;

  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

static int __attribute__ ((format (printf, 3, 4)))
set_why (char *why, size_t why_size, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (why, why_size, fmt, ap);
  va_end (ap);
  return -1;
}

/* Returns (malloc'd) the first executable name in $PATH or the fallback
 * directories, or NULL. */
static char *
search_path (const char *name)
{
  const char *env = getenv ("PATH");
  cleanup_free char *dirs = NULL;
  char *saveptr = NULL;

  if (asprintf (&dirs, "%s:%s", env ? env : "", FALLBACK_PATH) < 0)
    return NULL;
  for (char *dir = strtok_r (dirs, ":", &saveptr); dir; dir = strtok_r (NULL, ":", &saveptr))
    {
      char *candidate = cb_path_join (dir, name);
      if (candidate && dir[0] == '/' && is_executable_file (candidate))
        return candidate;
      free (candidate);
    }
  return NULL;
}

/* Starts /bin/true in a container of runtime in a scratch directory. On
 * failure why receives the reason. */
static int
probe_in_dir (const char *runtime, const char *dir, char *why, size_t why_size)
{
  cleanup_free char *rootfs = cb_path_join (dir, "rootfs");
  cleanup_free char *bundle = cb_path_join (dir, "bundle");
  struct cb_spec_bind binds[N_PROBE_DIRS];
  char *argv[] = { is_executable_file ("/bin/true") ? "/bin/true" : "/usr/bin/true", NULL };
  char *env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
  struct cb_run_request req = { .runtime = runtime, .argv = argv, .env = env, .cwd = "/" };
  cbuild_error err = { 0 };
  char last[256] = "";
  size_t n = 0;
  int code = 0;

  if (rootfs == NULL || bundle == NULL || mkdir (rootfs, 0755) < 0 || mkdir (bundle, 0700) < 0)
    return set_why (why, why_size, "cannot prepare a test container in '%s'", dir);
  for (size_t i = 0; i < N_PROBE_DIRS; i++)
    if (is_dir (probe_dirs[i]))
      binds[n++] = (struct cb_spec_bind) { probe_dirs[i], probe_dirs[i] };
  req.rootfs = rootfs;
  req.bundle_dir = bundle;
  if (cb_runtime_run_with (&req, binds, n, &code, last, sizeof last, &err) < 0)
    return set_why (why, why_size, "%s", err.message);
  if (code != 0)
    return set_why (why, why_size, "a test container exited with code %d: %s", code, last[0] ? last : "no output");
  return 0;
}

static int
probe (const char *runtime, char *why, size_t why_size)
{
  const char *tmp = getenv ("TMPDIR");
  cleanup_free char *dir = NULL;
  cbuild_error err = { 0 };
  int ret;

  dir = cb_make_temp_dir (tmp && tmp[0] == '/' ? tmp : "/tmp", "cbuild-runtime-test", &err);
  if (dir == NULL)
    return set_why (why, why_size, "%s", err.message);
  ret = probe_in_dir (runtime, dir, why, why_size);
  cb_remove_tree (dir, &err);
  return ret;
}

/* Resolves a candidate and probes it: *path gets the runtime on success,
 * why the reason on failure. */
static int
try_runtime (const char *name, char **path, char *why, size_t why_size)
{
  cleanup_free char *resolved = strchr (name, '/') ? strdup (name) : search_path (name);

  if (resolved == NULL && strchr (name, '/') == NULL)
    return set_why (why, why_size, "not found in PATH");
  if (resolved == NULL)
    return set_why (why, why_size, "out of memory");
  if (!is_executable_file (resolved))
    return set_why (why, why_size, "'%s' is not an executable file", resolved);
  if (probe (resolved, why, why_size) < 0)
    return -1;
  *path = cb_steal_pointer (&resolved);
  return 0;
}

int
cb_runtime_detect (const char *requested, char **path, cbuild_error *err)
{
  char why_runc[WHY_MAX], why_crun[WHY_MAX];

  if (requested)
    {
      if (try_runtime (requested, path, why_runc, sizeof why_runc) == 0)
        return 0;
      return cb_error_set (err, CBUILD_ERR_RUNTIME,
                           "no working OCI runtime: %s: %s (install runc, or pass --runtime PATH)", requested,
                           why_runc);
    }
  if (try_runtime ("runc", path, why_runc, sizeof why_runc) == 0
      || try_runtime ("crun", path, why_crun, sizeof why_crun) == 0)
    return 0;
  return cb_error_set (err, CBUILD_ERR_RUNTIME,
                       "no working OCI runtime: runc: %s; crun: %s (install runc, or pass --runtime PATH)", why_runc,
                       why_crun);
}
