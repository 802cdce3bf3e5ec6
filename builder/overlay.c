/* Overlay mounts. The new mount API (fsopen and fsconfig) appends lower
 * layers one at a time with "lowerdir+" (Linux 6.8 and later), so the number
 * of layers is not limited by the size of an option string. Older kernels get
 * mount(2) with one option string, which the kernel copies as one page. */
#include "builder/overlay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

/* The lower layer of an overlay without layers: a directory under the mount
 * point, hidden by the mount itself and removed by cb_overlay_unmount. */
#define EMPTY_LOWER ".cbuild-empty-lower"

/* fsconfig copies a string value of at most 256 bytes, NUL included. */
#define FSCONFIG_VALUE_MAX 256

/* These keep the upper directory free of redirect and metacopy xattrs and of
 * index links, which a layer tar cannot carry. A kernel rejects an option
 * it does not know. Such a kernel predates the feature the option turns off,
 * so dropping the option there is safe. Newest feature first. */
static const char *const upper_safety_options[] = { "metacopy", "index", "redirect_dir" };
#define N_SAFETY_OPTIONS (sizeof upper_safety_options / sizeof upper_safety_options[0])

/* A layer path as the kernel gets it: the path itself, or "/proc/self/fd/N"
 * for an O_PATH descriptor when the path is too long or contains characters
 * that the option syntax would split on. */
struct path_arg
{
  int fd;
  const char *value;
  char proc[32];
};

static void
path_arg_release (struct path_arg *arg)
{
  if (arg->fd >= 0)
    close (arg->fd);
  arg->fd = -1;
}

static int
path_arg_init (struct path_arg *arg, const char *path, bool use_fd, cbuild_error *err)
{
  arg->fd = -1;
  arg->value = path;
  if (!use_fd)
    return 0;
  arg->fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (arg->fd < 0)
    return cb_error_sys (err, errno, "open overlay layer '%s'", path);
  snprintf (arg->proc, sizeof arg->proc, "/proc/self/fd/%d", arg->fd);
  arg->value = arg->proc;
  return 0;
}

/* Appends the kernel's own messages about the failed fsconfig call, such as
 * "overlayfs: failed to resolve 'x'", which are more specific than errno. */
static void
append_fs_log (int fsfd, cbuild_error *err)
{
  char line[512];
  size_t len = strlen (err->message);

  for (int i = 0; i < 8; i++)
    {
      ssize_t n = read (fsfd, line, sizeof line - 1);
      if (n <= 0)
        break;
      line[n] = '\0';
      if (line[n - 1] == '\n')
        line[n - 1] = '\0';
      snprintf (err->message + len, sizeof err->message - len, " (%s)", line);
      len = strlen (err->message);
    }
}

/* Passes a layer path to fsconfig; label names it in errors. */
static int
fs_set_path (int fsfd, const char *key, const char *label, const char *path, cbuild_error *err)
{
  struct path_arg arg;
  int ret;

  if (path_arg_init (&arg, path, strlen (path) >= FSCONFIG_VALUE_MAX, err) < 0)
    return -1;
  ret = fsconfig (fsfd, FSCONFIG_SET_STRING, key, arg.value, 0);
  if (ret < 0)
    {
      cb_error_sys (err, errno, "use '%s' as overlay %s", path, label);
      append_fs_log (fsfd, err);
    }
  path_arg_release (&arg);
  return ret;
}

static int
fs_configure (int fsfd, const char *const *lowers, size_t n, const char *upper, const char *work,
              cbuild_error *err)
{
  for (size_t i = 0; i < N_SAFETY_OPTIONS; i++)
    if (fsconfig (fsfd, FSCONFIG_SET_STRING, upper_safety_options[i], "off", 0) < 0 && errno != EINVAL)
      return cb_error_sys (err, errno, "set overlay option %s=off", upper_safety_options[i]);
  for (size_t i = 0; i < n; i++)
    if (fs_set_path (fsfd, "lowerdir+", "lower layer", lowers[i], err) < 0)
      return -1;
  if (fs_set_path (fsfd, "upperdir", "upper directory", upper, err) < 0
      || fs_set_path (fsfd, "workdir", "work directory", work, err) < 0)
    return -1;
  if (fsconfig (fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
    {
      cb_error_sys (err, errno, "create overlay");
      append_fs_log (fsfd, err);
      return -1;
    }
  return 0;
}

/* Mounts through fsopen. Returns 1 when the kernel lacks what this needs
 * (the API, or "lowerdir+" before Linux 6.8), so the caller falls back;
 * fallback_reason then receives the kernel's objection, if any. */
static int
mount_with_fsconfig (const char *const *lowers, size_t n, const char *upper, const char *work,
                     const char *target, cbuild_error *fallback_reason, cbuild_error *err)
{
  cleanup_close int fsfd = fsopen ("overlay", FSOPEN_CLOEXEC);
  cleanup_close int mfd = -1;

  if (fsfd < 0)
    return errno == ENOSYS || errno == EPERM ? 1 : cb_error_sys (err, errno, "open overlay file system");
  if (fs_configure (fsfd, lowers, n, upper, work, fallback_reason) < 0)
    {
      if (fallback_reason->sys_errno == EINVAL)
        return 1;
      if (err)
        *err = *fallback_reason;
      return -1;
    }
  mfd = fsmount (fsfd, FSMOUNT_CLOEXEC, 0);
  if (mfd < 0)
    return cb_error_sys (err, errno, "mount overlay");
  if (move_mount (mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
    return cb_error_sys (err, errno, "mount overlay at '%s'", target);
  return 0;
}

static bool
needs_fd_form (const char *path)
{
  /* ':' separates lower layers, ',' options, and '\' escapes either. */
  return strpbrk (path, ":,\\") != NULL || strlen (path) >= FSCONFIG_VALUE_MAX;
}

static int
legacy_options (const struct path_arg *args, size_t n, size_t n_safety, struct cb_buf *out, cbuild_error *err)
{
  cb_buf_reset (out);
  if (cb_buf_append_str (out, "lowerdir=", err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (cb_buf_printf (out, err, "%s%s", i ? ":" : "", args[i].value) < 0)
      return -1;
  if (cb_buf_printf (out, err, ",upperdir=%s,workdir=%s", args[n].value, args[n + 1].value) < 0)
    return -1;
  for (size_t i = N_SAFETY_OPTIONS - n_safety; i < N_SAFETY_OPTIONS; i++)
    if (cb_buf_printf (out, err, ",%s=off", upper_safety_options[i]) < 0)
      return -1;
  return 0;
}

/* Mounts with the option string in args (lowers, then upper and work),
 * dropping the safety options the kernel rejects, newest first. */
static int
legacy_mount (const struct path_arg *args, size_t n, const char *target, size_t max_len, cbuild_error *err)
{
  cleanup_buf struct cb_buf opts = CB_BUF_INIT;
  int first_errno = 0;

  for (size_t n_safety = N_SAFETY_OPTIONS;; n_safety--)
    {
      if (legacy_options (args, n, n_safety, &opts, err) < 0)
        return -1;
      if (opts.len > max_len)
        return cb_error_set (err, CBUILD_ERR_INVALID,
                             "mount overlay at '%s': %zu lower layers do not fit in the %zu-byte option "
                             "string of mount(2) (Linux 6.8 or later has no such limit)",
                             target, n, max_len);
      if (mount ("overlay", target, "overlay", 0, opts.data) == 0)
        return 0;
      if (first_errno == 0)
        first_errno = errno;
      if (errno != EINVAL || n_safety == 0)
        break;
    }
  return cb_error_sys (err, first_errno, "mount overlay at '%s' (%zu lower layers)", target, n);
}

static int
mount_with_legacy_api (const char *const *lowers, size_t n, const char *upper, const char *work,
                       const char *target, cbuild_error *err)
{
  size_t max_len = (size_t) sysconf (_SC_PAGESIZE) - 1;
  struct path_arg *args = calloc (n + 2, sizeof *args);
  size_t total = strlen (upper) + strlen (work) + 80;
  bool all_fds;
  int ret = 0;

  if (args == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < n + 2; i++)
    args[i].fd = -1;
  for (size_t i = 0; i < n; i++)
    total += strlen (lowers[i]) + 1;
  /* Short "/proc/self/fd/N" names let about 200 layers fit in one page. */
  all_fds = total > max_len;
  for (size_t i = 0; ret == 0 && i < n + 2; i++)
    {
      const char *path = work;

      if (i < n)
        path = lowers[i];
      else if (i == n)
        path = upper;
      ret = path_arg_init (&args[i], path, all_fds || needs_fd_form (path), err);
    }
  if (ret == 0)
    ret = legacy_mount (args, n, target, max_len, err);
  for (size_t i = 0; i < n + 2; i++)
    path_arg_release (&args[i]);
  free (args);
  return ret;
}

static int
make_empty_lower (const char *target, char **out, cbuild_error *err)
{
  if (asprintf (out, "%s/%s", target, EMPTY_LOWER) < 0)
    return cb_error_nomem (err);
  if (mkdir (*out, 0755) < 0 && errno != EEXIST)
    return cb_error_sys (err, errno, "create '%s'", *out);
  return 0;
}

int
cb_overlay_mount_with (const char *const *lowers, size_t n, const char *upper, const char *work,
                       const char *target, bool legacy_only, cbuild_error *err)
{
  cleanup_free char *empty = NULL;
  cbuild_error fallback_reason = { 0 };
  const char *only_empty[1];
  bool fell_back;
  int ret = 1;

  if (n == 0)
    {
      if (make_empty_lower (target, &empty, err) < 0)
        return -1;
      only_empty[0] = empty;
      lowers = only_empty;
      n = 1;
    }
  if (!legacy_only)
    ret = mount_with_fsconfig (lowers, n, upper, work, target, &fallback_reason, err);
  fell_back = ret > 0;
  if (fell_back)
    ret = mount_with_legacy_api (lowers, n, upper, work, target, err);
  /* When both fail, the fsconfig message may be the one that explains. */
  if (ret < 0 && fell_back && err && fallback_reason.message[0])
    {
      size_t len = strlen (err->message);
      snprintf (err->message + len, sizeof err->message - len, " (with fsconfig: %s)", fallback_reason.message);
    }
  return ret;
}

int
cb_overlay_mount (const char *const *lowers, size_t n, const char *upper, const char *work,
                  const char *target, cbuild_error *err)
{
  return cb_overlay_mount_with (lowers, n, upper, work, target, false, err);
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

  while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
    ;
}

int
cb_overlay_unmount (const char *target, cbuild_error *err)
{
  cleanup_free char *empty = NULL;
  int attempt;

  /* A process that has just exited may still use the mount for a moment.
   * After about two seconds the mount is detached instead, and the kernel
   * removes it once its last user is gone. */
  for (attempt = 0; umount2 (target, UMOUNT_NOFOLLOW) < 0; attempt++)
    {
      if (errno != EBUSY)
        return cb_error_sys (err, errno, "unmount '%s'", target);
      if (attempt == 20)
        {
          if (umount2 (target, UMOUNT_NOFOLLOW | MNT_DETACH) < 0)
            return cb_error_sys (err, errno, "detach mount '%s'", target);
          break;
        }
      sleep_ms (100);
    }
  if (asprintf (&empty, "%s/%s", target, EMPTY_LOWER) < 0)
    return cb_error_nomem (err);
  if (rmdir (empty) < 0 && errno != ENOENT)
    return cb_error_sys (err, errno, "remove '%s'", empty);
  return 0;
}
