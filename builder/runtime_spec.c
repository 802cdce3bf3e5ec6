/* config.json for a RUN container, close to what BuildKit gives runc: the
 * defaults of Docker's containers with the host's network. */
#include "builder/runtime_spec.h"

#include <jansson.h>
#include <linux/capability.h>
#include <stdbool.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/fs.h"

/* Docker's default capability set. */
static const char *const default_capabilities[] = {
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
  "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

/* Docker's default masked and read-only paths. */
static const char *const masked_paths[] = {
  "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
  "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
  "/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};
static const char *const readonly_paths[] = {
  "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* No network namespace unless --network=none: RUN uses the host's
 * network, as BuildKit's default network mode for docker build does. */
static const char *const namespaces[] = { "pid", "ipc", "uts", "mount", NULL };

struct fixed_mount
{
  const char *destination, *type, *source;
  const char *const options[8];
};

static const struct fixed_mount fixed_mounts[] = {
  { "/proc", "proc", "proc", { "nosuid", "noexec", "nodev", NULL } },
  { "/dev", "tmpfs", "tmpfs", { "nosuid", "strictatime", "mode=755", "size=65536k", NULL } },
  { "/dev/pts", "devpts", "devpts",
    { "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5", NULL } },
  { "/dev/shm", "tmpfs", "shm", { "nosuid", "noexec", "nodev", "mode=1777", "size=65536k", NULL } },
  { "/dev/mqueue", "mqueue", "mqueue", { "nosuid", "noexec", "nodev", NULL } },
  { "/sys", "sysfs", "sysfs", { "nosuid", "noexec", "nodev", "ro", NULL } },
  { "/sys/fs/cgroup", "cgroup", "cgroup", { "nosuid", "noexec", "nodev", "relatime", "ro", NULL } },
};

static json_t *
string_array (const char *const *items)
{
  json_t *a = json_array ();

  for (size_t i = 0; a && items && items[i]; i++)
    if (json_array_append_new (a, json_string (items[i])) < 0)
      {
        json_decref (a);
        return NULL;
      }
  return a;
}

static json_t *
process_user (const struct cb_run_request *req)
{
  json_t *gids = json_array ();

  for (size_t i = 0; gids && i < req->n_additional_gids; i++)
    json_array_append_new (gids, json_integer (req->additional_gids[i]));
  return json_pack ("{s:I, s:I, s:o}", "uid", (json_int_t) req->uid, "gid", (json_int_t) req->gid,
                    "additionalGids", gids);
}

/* BuildKit's RLIMIT_NOFILE. Without CAP_SYS_RESOURCE, which even root lacks
 * in some sandboxes, the runtime cannot raise the hard limit above ours and
 * the container fails to start. So our hard limit is the cap then. */
#define NOFILE_LIMIT 1048576

static json_int_t
nofile_limit (void)
{
  struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  struct rlimit current;

  if (syscall (SYS_capget, &header, data) == 0 && (data[0].effective & (1u << CAP_SYS_RESOURCE)))
    return NOFILE_LIMIT;
  if (getrlimit (RLIMIT_NOFILE, &current) == 0 && current.rlim_max < NOFILE_LIMIT)
    return (json_int_t) current.rlim_max;
  return NOFILE_LIMIT;
}

static json_t *
process_object (const struct cb_run_request *req)
{
  json_t *caps = json_pack ("{s:o, s:o, s:o}", "bounding", string_array (default_capabilities),
                            "effective", string_array (default_capabilities),
                            "permitted", string_array (default_capabilities));
  json_int_t nofile = nofile_limit ();
  json_t *rlimits = json_pack ("[{s:s, s:I, s:I}]", "type", "RLIMIT_NOFILE", "hard", nofile, "soft", nofile);

  return json_pack ("{s:b, s:o, s:o, s:o, s:s, s:o, s:o, s:b}", "terminal", false,
                    "user", process_user (req), "args", string_array ((const char *const *) req->argv),
                    "env", string_array ((const char *const *) req->env), "cwd", req->cwd,
                    "capabilities", caps, "rlimits", rlimits, "noNewPrivileges", false);
}

static int
append_bind (json_t *mounts, const char *source, const char *destination)
{
  return json_array_append_new (mounts, json_pack ("{s:s, s:s, s:s, s:[s, s, s, s]}", "destination", destination,
                                                   "type", "bind", "source", source, "options", "rbind", "ro",
                                                   "nosuid", "nodev"));
}

/* The options BuildKit's executor gives these mounts: "rbind" for binds,
 * "nosuid" and a size for tmpfs. */
static int
append_container_mount (json_t *mounts, const struct cb_container_mount *m)
{
  json_t *options = json_array ();
  bool bind = m->type == CB_CONTAINER_BIND;
  int ret = options ? 0 : -1;

  if (ret == 0 && bind)
    ret = json_array_append_new (options, json_string ("rbind"));
  if (ret == 0)
    ret = json_array_append_new (options, json_string (m->readonly ? "ro" : "rw"));
  if (ret == 0 && (m->noexec || !bind))
    ret = json_array_append_new (options, json_string ("nosuid"));
  if (ret == 0 && m->noexec)
    ret = json_array_append_new (options, json_string ("nodev"));
  if (ret == 0 && m->noexec)
    ret = json_array_append_new (options, json_string ("noexec"));
  if (ret == 0 && !bind && m->size > 0)
    ret = json_array_append_new (options, json_sprintf ("size=%lld", m->size));
  if (ret < 0)
    {
      json_decref (options);
      return -1;
    }
  return json_array_append_new (mounts, json_pack ("{s:s, s:s, s:s, s:o}", "destination", m->destination, "type",
                                                   bind ? "bind" : "tmpfs", "source",
                                                   bind ? m->source : "tmpfs", "options", options));
}

static json_t *
mounts_array (const struct cb_run_request *req, const struct cb_spec_mounts *extra)
{
  json_t *mounts = json_array ();
  int ret = mounts ? 0 : -1;

  for (size_t i = 0; ret == 0 && i < sizeof fixed_mounts / sizeof fixed_mounts[0]; i++)
    {
      const struct fixed_mount *m = &fixed_mounts[i];
      ret = json_array_append_new (mounts, json_pack ("{s:s, s:s, s:s, s:o}", "destination", m->destination,
                                                      "type", m->type, "source", m->source,
                                                      "options", string_array (m->options)));
    }
  if (ret == 0 && extra->resolv_conf)
    ret = append_bind (mounts, extra->resolv_conf, "/etc/resolv.conf");
  if (ret == 0 && extra->hosts)
    ret = append_bind (mounts, extra->hosts, "/etc/hosts");
  for (size_t i = 0; ret == 0 && i < extra->n_binds; i++)
    ret = append_bind (mounts, extra->binds[i].source, extra->binds[i].destination);
  for (size_t i = 0; ret == 0 && i < req->n_mounts; i++)
    ret = append_container_mount (mounts, &req->mounts[i]);
  if (ret < 0)
    {
      json_decref (mounts);
      return NULL;
    }
  return mounts;
}

static json_t *
linux_object (bool no_network)
{
  json_t *ns = json_array ();

  for (size_t i = 0; ns && namespaces[i]; i++)
    json_array_append_new (ns, json_pack ("{s:s}", "type", namespaces[i]));
  /* A new network namespace has only a loopback device, which the runtime
   * brings up. */
  if (ns && no_network)
    json_array_append_new (ns, json_pack ("{s:s}", "type", "network"));
  /* Deny every device, so that CAP_MKNOD cannot open a host disk; runc and
   * crun add their own rules for /dev/null, /dev/zero, ptys and the like. */
  return json_pack ("{s:o, s:o, s:o, s:{s:[{s:b, s:s}]}}", "namespaces", ns, "maskedPaths",
                    string_array (masked_paths), "readonlyPaths", string_array (readonly_paths), "resources",
                    "devices", "allow", false, "access", "rwm");
}

int
cb_runtime_spec_write (const struct cb_run_request *req, const char *rootfs, const struct cb_spec_mounts *mounts,
                       const char *path, cbuild_error *err)
{
  /* NOTE: no seccomp or AppArmor profile is applied, unlike Docker's
   * default; RUN gets the capability set above and no more. */
  json_t *spec = json_pack ("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2", "process",
                            process_object (req), "root", "path", rootfs, "readonly", false, "hostname",
                            CB_RUN_HOSTNAME, "mounts", mounts_array (req, mounts), "linux", linux_object (req->no_network));
  char *text;
  int ret;

  if (spec == NULL)
    return cb_error_nomem (err);
  text = json_dumps (spec, JSON_INDENT (1));
  json_decref (spec);
  if (text == NULL)
    return cb_error_nomem (err);
  ret = cb_write_file_atomic (path, text, strlen (text), 0600, err);
  free (text);
  return ret;
}
