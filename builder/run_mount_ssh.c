/* RUN --mount=type=ssh: the SSH agent that --ssh forwards, bound into the
 * step's container, with SSH_AUTH_SOCK pointing at it as BuildKit sets it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/options.h"
#include "builder/run_mount_internal.h"
#include "common/cleanup.h"
#include "common/error.h"

#define DEFAULT_ID "default"

int
cbuild_build_options_add_ssh (cbuild_build_options *opts, const char *spec, cbuild_error *err)
{
  const char *eq = strchr (spec, '=');
  cleanup_free char *id = eq ? strndup (spec, (size_t) (eq - spec)) : strdup (spec);
  cleanup_free char *entry = NULL;
  const char *path = eq ? eq + 1 : getenv ("SSH_AUTH_SOCK");
  char real[PATH_MAX];
  struct stat st;

  if (id == NULL)
    return cb_error_nomem (err);
  if (id[0] == '\0' || strchr (id, ','))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid --ssh '%s': expected ID[=SOCKET], such as default", spec);
  if (path == NULL || path[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "--ssh %s: SSH_AUTH_SOCK is not set; start an ssh-agent or pass --ssh %s=SOCKET", spec, id);
  if (strchr (path, ','))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid --ssh '%s': give one agent socket, not a list of keys", spec);
  if (stat (path, &st) < 0)
    return cb_error_sys (err, errno, "--ssh %s: cannot use '%s'", id, path);
  if (!S_ISSOCK (st.st_mode))
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "--ssh %s: '%s' is not a socket; private key files are not supported, add the key to an "
                         "ssh-agent (ssh-add) and pass its socket",
                         id, path);
  /* The runtime binds the path as it finds it on the host, so a symlink in
   * it is resolved now, while it names the socket that was checked. */
  if (realpath (path, real) == NULL)
    return cb_error_sys (err, errno, "--ssh %s: cannot resolve '%s'", id, path);
  if (asprintf (&entry, "%s=%s", id, real) < 0)
    return cb_error_nomem (err);
  return cb_strv_push (&opts->ssh_agents, entry, err);
}

/* Returns the socket that --ssh gave for id, or NULL. */
static const char *
agent_socket (const cbuild_build_options *opts, const char *id)
{
  size_t len = strlen (id);

  for (size_t i = 0; i < opts->ssh_agents.len; i++)
    {
      const char *entry = opts->ssh_agents.items[i];
      if (strncmp (entry, id, len) == 0 && entry[len] == '=')
        return entry + len + 1;
    }
  return NULL;
}

int
cb_run_mount_ssh (const struct cb_mount_job *job, size_t index, cbuild_error *err)
{
  const char *id = job->m->id ? job->m->id : DEFAULT_ID;
  const char *socket = agent_socket (job->b->opts, id);
  char target[64];

  if (job->target && strcmp (job->target, "/") == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid mount target '/'");
  /* As in BuildKit, a mount that is not required is left out when no
   * agent was forwarded for its id. */
  if (socket == NULL && job->m->required)
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "SSH agent '%s' is required but was not forwarded (pass --ssh %s=SOCKET)", id, id);
  if (socket == NULL)
    return 0;
  snprintf (target, sizeof target, "/run/buildkit/ssh_agent.%zu", index);
  if (job->out->ssh_auth_sock == NULL)
    {
      job->out->ssh_auth_sock = strdup (job->target ? job->target : target);
      if (job->out->ssh_auth_sock == NULL)
        return cb_error_nomem (err);
    }
  /* Read-only, so that the step cannot chmod, chown or touch the host's
   * socket; connecting to a socket needs no writable mount.
   * NOTE: the host socket keeps its owner and mode, so uid=, gid= and mode=
   * are not applied, and a non-root USER can connect only when the host
   * socket lets it. BuildKit serves a proxy socket with those instead. */
  return cb_run_mounts_add_bind (job->out, socket, job->target ? job->target : target, true, err);
}
