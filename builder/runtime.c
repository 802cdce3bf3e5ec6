/* RUN through an OCI runtime: `runc run` in the foreground, with its state
 * under the bundle directory so that nothing global is touched. */
#include "builder/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/copy_rootfs.h"
#include "builder/runtime_internal.h"
#include "builder/runtime_spec.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

/* Output lines longer than this are passed on in pieces of this size. */
#define OUTPUT_LINE_MAX ((size_t) 64 << 10)
/* The part of the output kept to explain a failure to start. */
#define LAST_LINE_MAX 512
#define HOSTS_MAX ((size_t) 1 << 20)

struct output_reader
{
  const struct cb_run_request *req;
  struct cb_buf line;
  char last[LAST_LINE_MAX];
};

static void
emit_line (struct output_reader *r)
{
  if (r->line.len > 0)
    snprintf (r->last, sizeof r->last, "%s", r->line.data);
  if (r->req->output)
    r->req->output (r->req->output_user_data, cb_buf_str (&r->line));
  cb_buf_reset (&r->line);
}

static void
feed_output (struct output_reader *r, const char *data, size_t len)
{
  while (len > 0)
    {
      const char *nl = memchr (data, '\n', len);
      size_t take = nl ? (size_t) (nl - data) : len;

      if (take > OUTPUT_LINE_MAX - r->line.len)
        take = OUTPUT_LINE_MAX - r->line.len;
      cb_buf_append (&r->line, data, take, NULL);
      data += take;
      len -= take;
      if (len > 0 && *data == '\n')
        {
          data++;
          len--;
          emit_line (r);
        }
      else if (r->line.len == OUTPUT_LINE_MAX)
        emit_line (r);
    }
}

static int
read_output (int fd, struct output_reader *r, cbuild_error *err)
{
  char chunk[16384];

  for (;;)
    {
      ssize_t n = read (fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return cb_error_sys (err, errno, "read the output of '%s'", r->req->runtime);
      if (n == 0)
        break;
      feed_output (r, chunk, (size_t) n);
    }
  if (r->line.len > 0)
    emit_line (r);
  return 0;
}

/* The first fields of the kernel's struct clone_args, which every kernel
 * with clone3 accepts. */
struct clone_args_v0
{
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

/* Runs in the child of clone3, which must not return: it shares nothing
 * with the parent's threads, so only system calls are safe here. */
static void __attribute__ ((noreturn))
exec_runtime (char *const *argv, int in_fd, int out_fd)
{
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  sigset_t none;

  /* The child is pid 1 of a new pid namespace and the runtime and the
   * container live in it. When cbuild dies, the kernel kills this process,
   * and the death of a namespace's pid 1 kills everything in it, so no
   * container is left running. */
  if (prctl (PR_SET_PDEATHSIG, SIGKILL) < 0)
    _exit (125);
  /* The runtime needs a /proc of the new pid namespace. It is mounted in a
   * mount namespace of its own, and "/" becomes a slave first, so that the
   * mount does not propagate to the host. */
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0
      || mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
    _exit (125);
  /* The runtime and the command must not inherit ignored or blocked
   * signals from the program that uses the library. */
  for (int sig = 1; sig < NSIG; sig++)
    sigaction (sig, &dfl, NULL);
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  if (dup2 (in_fd, 0) < 0 || dup2 (out_fd, 1) < 0 || dup2 (out_fd, 2) < 0)
    _exit (125);
  execve (argv[0], argv, environ);
  _exit (127);
}

static pid_t
spawn_runtime (char *const *argv, int out_fd, cbuild_error *err)
{
  cleanup_close int null_fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  struct clone_args_v0 args = { 0 };
  pid_t pid;

  if (null_fd < 0)
    return cb_error_sys (err, errno, "open '/dev/null'");
  args.flags = CLONE_NEWPID | CLONE_NEWNS;
  args.exit_signal = SIGCHLD;
  pid = (pid_t) syscall (SYS_clone3, &args, sizeof args);
  /* Docker's default seccomp profile makes clone3 fail with ENOSYS, so that
   * callers fall back to clone. NOTE: the clone arguments below are in the
   * order of x86-64 and arm64, which s390 does not share. */
  if (pid < 0 && errno == ENOSYS)
    pid = (pid_t) syscall (SYS_clone, CLONE_NEWPID | CLONE_NEWNS | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0)
    return cb_error_sys (err, errno, "start '%s'", argv[0]);
  if (pid == 0)
    exec_runtime (argv, null_fd, out_fd);
  return pid;
}

static int
wait_exit_code (pid_t pid, const char *runtime, int *code, cbuild_error *err)
{
  int status;

  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return cb_error_sys (err, errno, "wait for '%s'", runtime);
  if (WIFSIGNALED (status))
    return cb_error_set (err, CBUILD_ERR_RUNTIME, "'%s' was killed by signal %d", runtime, WTERMSIG (status));
  *code = WEXITSTATUS (status);
  return 0;
}

/* Runs the runtime with argv, passing its output to reader; *code gets its
 * exit status. */
static int
run_runtime (char *const *argv, struct output_reader *reader, int *code, cbuild_error *err)
{
  cleanup_close int out_read = -1;
  cleanup_close int out_write = -1;
  int fds[2];
  pid_t pid;
  int ret;

  if (pipe2 (fds, O_CLOEXEC) < 0)
    return cb_error_sys (err, errno, "create a pipe");
  out_read = fds[0];
  out_write = fds[1];
  pid = spawn_runtime (argv, out_write, err);
  if (pid < 0)
    return -1;
  close (cb_steal_fd (&out_write));
  ret = read_output (out_read, reader, err);
  if (wait_exit_code (pid, argv[0], code, ret < 0 ? NULL : err) < 0)
    return -1;
  return ret;
}

static char *
make_container_id (void)
{
  uint64_t r = 0;
  char *id = NULL;

  if (getrandom (&r, sizeof r, 0) != sizeof r)
    r = (uint64_t) getpid () << 32 ^ (uint64_t) (uintptr_t) &r;
  if (asprintf (&id, "cbuild-%d-%016llx", (int) getpid (), (unsigned long long) r) < 0)
    return NULL;
  return id;
}

/* Removes what is left of the container when the runtime did not get to
 * delete it itself, for instance after it was killed. */
static void
delete_leftover (const char *runtime, const char *state_dir, const char *id)
{
  cleanup_free char *dir = cb_path_join (state_dir, id);
  char *argv[] = { (char *) runtime, "--root", (char *) state_dir, "delete", "-f", (char *) id, NULL };
  struct cb_run_request quiet = { .runtime = runtime };
  struct output_reader reader = { .req = &quiet };
  struct stat st;
  int code;

  if (dir == NULL || stat (dir, &st) < 0)
    return;
  cb_buf_init (&reader.line, OUTPUT_LINE_MAX);
  run_runtime (argv, &reader, &code, NULL);
  cb_buf_release (&reader.line);
}

/* The host's /etc/hosts plus a line for the container's hostname, which
 * would not resolve otherwise. */
static int
write_hosts (const char *path, const struct cb_strv *extra, cbuild_error *err)
{
  cleanup_free char *host = NULL;
  cleanup_buf struct cb_buf text = CB_BUF_INIT;
  cbuild_error ignored = { 0 };
  size_t len = 0;

  if (cb_read_file ("/etc/hosts", HOSTS_MAX, &host, &len, &ignored) < 0)
    host = NULL;
  if (host && cb_buf_append (&text, host, len, err) < 0)
    return -1;
  if (host == NULL && cb_buf_append_str (&text, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", err) < 0)
    return -1;
  if (cb_buf_printf (&text, err, "%s127.0.0.1\t%s\n", len && host[len - 1] != '\n' ? "\n" : "",
                     CB_RUN_HOSTNAME) < 0)
    return -1;
  for (size_t i = 0; extra && i < extra->len; i++)
    if (cb_buf_printf (&text, err, "%s\n", extra->items[i]) < 0)
      return -1;
  return cb_write_file_atomic (path, text.data, text.len, 0644, err);
}

static int
check_request (const struct cb_run_request *req, cbuild_error *err)
{
  if (req->runtime == NULL || req->rootfs == NULL || req->bundle_dir == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "run: runtime, rootfs and bundle directory are required");
  if (req->argv == NULL || req->argv[0] == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "run: the command is empty");
  if (req->cwd == NULL || req->cwd[0] != '/')
    return cb_error_set (err, CBUILD_ERR_INVALID, "run: the working directory '%s' is not absolute",
                         req->cwd ? req->cwd : "");
  for (size_t i = 0; i < req->n_mounts; i++)
    {
      const struct cb_container_mount *m = &req->mounts[i];
      if (m->destination == NULL || m->destination[0] != '/')
        return cb_error_set (err, CBUILD_ERR_INVALID, "run: the mount destination '%s' is not absolute",
                             m->destination ? m->destination : "");
      if (m->type == CB_CONTAINER_BIND && (m->source == NULL || m->source[0] != '/'))
        return cb_error_set (err, CBUILD_ERR_INVALID, "run: the bind mount source '%s' is not absolute",
                             m->source ? m->source : "");
    }
  return 0;
}

/* Creates the working directory when missing, as BuildKit's runc executor
 * does: every directory it makes has mode 0755 and belongs to the user the
 * command runs as, and it stays in the layer. */
static int
ensure_cwd (int root_fd, const struct cb_run_request *req, cbuild_error *err)
{
  struct cb_inroot_owner owner = { req->uid, req->gid, 0755 };
  int fd;

  if (cb_inroot_mkdir_p (root_fd, req->cwd, &owner, &fd, err) < 0)
    return cb_error_prefix (err, "create the working directory '%s'", req->cwd);
  close (fd);
  return 0;
}

struct run_paths
{
  char *rootfs; /* absolute */
  char *state;  /* the runtime's --root */
  char *config;
  char *hosts;
  char *pid_file;
  char *id;
};

static void
run_paths_release (struct run_paths *p)
{
  free (p->rootfs);
  free (p->state);
  free (p->config);
  free (p->hosts);
  free (p->pid_file);
  free (p->id);
}

static int
run_paths_init (struct run_paths *p, const struct cb_run_request *req, cbuild_error *err)
{
  p->rootfs = realpath (req->rootfs, NULL);
  if (p->rootfs == NULL)
    return cb_error_sys (err, errno, "resolve '%s'", req->rootfs);
  p->state = cb_path_join (req->bundle_dir, "state");
  p->config = cb_path_join (req->bundle_dir, "config.json");
  p->hosts = cb_path_join (req->bundle_dir, "hosts");
  p->pid_file = cb_path_join (req->bundle_dir, "pid");
  p->id = make_container_id ();
  if (!p->state || !p->config || !p->hosts || !p->pid_file || !p->id)
    return cb_error_nomem (err);
  return 0;
}

/* Runs the container and sets *started when the runtime got as far as
 * starting the command (it writes the pid file only then). */
static int
run_container (const struct cb_run_request *req, const struct run_paths *p, struct output_reader *reader,
               int *code, bool *started, cbuild_error *err)
{
  char *argv[] = { (char *) req->runtime, "--root", p->state, "run", "--bundle", (char *) req->bundle_dir,
                   "--pid-file", p->pid_file, p->id, NULL };
  struct stat st;
  int ret;

  ret = run_runtime (argv, reader, code, err);
  *started = stat (p->pid_file, &st) == 0;
  delete_leftover (req->runtime, p->state, p->id);
  return ret;
}

/* Writes what the runtime needs into the bundle: the working directory in
 * rootfs, the hosts file and config.json. points receives the state of the
 * mount points before the run. */
static int
prepare_bundle (const struct cb_run_request *req, const struct run_paths *paths, int root_fd,
                const struct cb_spec_bind *binds, size_t n_binds, struct cb_mount_points *points,
                cbuild_error *err)
{
  struct cb_spec_mounts mounts = { .binds = binds, .n_binds = n_binds };

  if (ensure_cwd (root_fd, req, err) < 0
      || cb_mount_points_record (root_fd, req->mounts, req->n_mounts, points, err) < 0)
    return -1;
  if (cb_mount_points_can_bind (points, "/etc/hosts"))
    mounts.hosts = paths->hosts;
  if (cb_mount_points_can_bind (points, "/etc/resolv.conf") && access ("/etc/resolv.conf", R_OK) == 0)
    mounts.resolv_conf = "/etc/resolv.conf";
  if (mounts.hosts && write_hosts (paths->hosts, req->extra_hosts, err) < 0)
    return -1;
  return cb_runtime_spec_write (req, paths->rootfs, &mounts, paths->config, err);
}

int
cb_runtime_run_with (const struct cb_run_request *req, const struct cb_spec_bind *binds, size_t n_binds,
                     int *exit_code, char *last_line, size_t last_line_size, cbuild_error *err)
{
  cleanup_close int root_fd = -1;
  struct run_paths paths = { 0 };
  struct output_reader reader = { .req = req };
  struct cb_mount_points points = { 0 };
  bool started = false;
  int code = 0, ret;

  cb_buf_init (&reader.line, OUTPUT_LINE_MAX);
  ret = check_request (req, err) < 0 || run_paths_init (&paths, req, err) < 0 ? -1 : 0;
  if (ret == 0 && (root_fd = open (paths.rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
    ret = cb_error_sys (err, errno, "open '%s'", paths.rootfs);
  if (ret == 0)
    ret = prepare_bundle (req, &paths, root_fd, binds, n_binds, &points, err);
  if (ret == 0)
    {
      ret = run_container (req, &paths, &reader, &code, &started, err);
      if (cb_mount_points_remove (root_fd, &points, ret == 0 ? err : NULL) < 0)
        ret = -1;
    }
  if (ret == 0 && !started)
    ret = cb_error_set (err, CBUILD_ERR_RUNTIME, "'%s' failed to start '%s': %s", req->runtime, req->argv[0],
                        reader.last[0] ? reader.last : "no error message");
  if (ret == 0)
    *exit_code = code;
  if (last_line)
    snprintf (last_line, last_line_size, "%s", reader.last);
  cb_buf_release (&reader.line);
  cb_mount_points_release (&points);
  run_paths_release (&paths);
  return ret;
}

int
cb_runtime_run (const struct cb_run_request *req, int *exit_code, cbuild_error *err)
{
  return cb_runtime_run_with (req, NULL, 0, exit_code, NULL, 0, err);
}
