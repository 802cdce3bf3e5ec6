/* RUN --mount=type=secret: the value of a --secret, as a file bound
 * read-only at the target (by default /run/secrets/ID) or as an environment
 * variable of the command (env=), as BuildKit's secret mounts give it. The
 * file lives on a private tmpfs, so the value is not written to disk. It
 * does not reach the layer either, because only the empty mount point is
 * created in the root file system, and the runtime removes that. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/options.h"
#include "builder/rootfs.h"
#include "builder/run_mount_internal.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

#define SECRETS_DIR "/run/secrets"
/* Secret files default to this mode and to owner 0:0, as in BuildKit. */
#define SECRET_MODE 0400

/* The last component of path, as Go's path.Base returns it. */
static char *
base_name (const char *path)
{
  size_t end = strlen (path);
  size_t start;

  while (end > 1 && path[end - 1] == '/')
    end--;
  start = end;
  while (start > 0 && path[start - 1] != '/')
    start--;
  if (end == 0)
    return strdup (".");
  if (start == end)
    return strdup ("/");
  return strndup (path + start, end - start);
}

/* The secret's id: id=, else source=, else the base name of the target. */
static char *
secret_id (const struct cb_run_mount *m, cbuild_error *err)
{
  char *id;

  if (m->id && m->source)
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "a secret mount takes id or source, not both");
      return NULL;
    }
  if (m->id || m->source)
    id = strdup (m->id ? m->id : m->source);
  else if (m->target)
    id = base_name (m->target);
  else
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "a secret mount needs an id or a target");
      return NULL;
    }
  if (id == NULL)
    cb_error_nomem (err);
  return id;
}

/* Mounts the tmpfs for the step's secret files and its runtime bundle. */
static int
ensure_private_dir (const struct cb_mount_job *job, cbuild_error *err)
{
  struct cb_run_mounts *out = job->out;
  char *dir;

  if (out->private_dir)
    return 0;
  dir = cb_run_mounts_scratch (out, job->b, "private", err);
  if (dir == NULL)
    return -1;
  if (mount ("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700") < 0)
    {
      cb_error_sys (err, errno, "mount a tmpfs for secrets on '%s'", dir);
      free (dir);
      return -1;
    }
  out->private_dir = dir;
  return 0;
}

/* Writes the value to a new file on the private tmpfs with the mount's
 * owner and mode; *path receives the file. */
static int
write_secret_file (const struct cb_mount_job *job, const char *value, size_t len, char **path, cbuild_error *err)
{
  const struct cb_run_mount *m = job->m;
  cleanup_close int fd = -1;

  if (asprintf (path, "%s/secret-%zu", job->out->private_dir, job->out->n_mounts) < 0)
    {
      *path = NULL;
      return cb_error_nomem (err);
    }
  fd = open (*path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return cb_error_sys (err, errno, "create '%s'", *path);
  if (cb_write_all (fd, value, len) < 0)
    return cb_error_sys (err, errno, "write '%s'", *path);
  if (fchown (fd, m->uid >= 0 ? (uid_t) m->uid : 0, m->gid >= 0 ? (gid_t) m->gid : 0) < 0)
    return cb_error_sys (err, errno, "chown '%s'", *path);
  if (fchmod (fd, m->mode >= 0 ? (mode_t) m->mode : SECRET_MODE) < 0)
    return cb_error_sys (err, errno, "chmod '%s'", *path);
  return 0;
}

/* Binds the secret file at the target, or at /run/secrets/<base of id>. */
static int
mount_secret_file (const struct cb_mount_job *job, const char *id, const char *value, size_t len,
                   cbuild_error *err)
{
  struct cb_container_mount mount = { .type = CB_CONTAINER_BIND, .readonly = true, .noexec = true };
  cleanup_free char *file = NULL;
  cleanup_free char *base = NULL;
  cleanup_free char *target = NULL;

  if (job->target == NULL)
    {
      base = base_name (id);
      if (base == NULL || asprintf (&target, "%s/%s", SECRETS_DIR, base) < 0)
        return cb_error_nomem (err);
    }
  mount.destination = job->target ? job->target : target;
  if (strcmp (mount.destination, "/") == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid mount target '/'");
  if (write_secret_file (job, value, len, &file, err) < 0)
    return -1;
  mount.source = file;
  return cb_run_mounts_push (job->out, &mount, err);
}

static int
use_secret (const struct cb_mount_job *job, const char *id, const char *value, size_t len, cbuild_error *err)
{
  const struct cb_run_mount *m = job->m;

  /* The runtime bundle goes to the tmpfs too, because its config.json
   * contains the command's environment. */
  if (ensure_private_dir (job, err) < 0)
    return -1;
  if (m->env && cb_env_set (&job->out->secret_env, m->env, value, err) < 0)
    return -1;
  if (m->env && m->target == NULL)
    return 0;
  return mount_secret_file (job, id, value, len, err);
}

int
cb_run_mount_secret (const struct cb_mount_job *job, cbuild_error *err)
{
  cleanup_free char *id = secret_id (job->m, err);
  char *value = NULL;
  size_t len = 0;
  bool found = false;
  int ret;

  if (id == NULL)
    return -1;
  if (cb_options_read_secret (job->b->opts, id, &value, &len, &found, err) < 0)
    return -1;
  /* A secret that is not required and not given is left out, as BuildKit
   * leaves it out: the command gets neither the file nor the variable. */
  if (!found && job->m->required)
    return cb_error_set (err, CBUILD_ERR_INVALID, "secret '%s' is required but was not given (pass --secret id=%s,src=FILE)",
                         id, id);
  if (!found)
    return 0;
  ret = use_secret (job, id, value, len, err);
  explicit_bzero (value, len);
  free (value);
  return ret;
}
