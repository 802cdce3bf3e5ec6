/* Running a RUN command in a root file system through an OCI runtime. */
#ifndef CBUILD_BUILDER_RUNTIME_H
#define CBUILD_BUILDER_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <cbuild/cbuild.h>

#include "common/strv.h"

/* Finds a runtime that can start a container here: requested when not NULL,
 * else the first of runc and crun on PATH that runs a trivial container.
 * Fails with CBUILD_ERR_RUNTIME saying what was tried and why it failed. */
int cb_runtime_detect (const char *requested, char **path, cbuild_error *err);

enum cb_container_mount_type
{
  CB_CONTAINER_BIND,
  CB_CONTAINER_TMPFS,
};

/* A mount that a RUN step adds to the container after the standard ones
 * (/proc, /dev, /etc/hosts and the like). */
struct cb_container_mount
{
  enum cb_container_mount_type type;
  /* Bind: the host path. The runtime follows symlinks in it on the host,
   * so it must be a resolved path that the caller has confined. */
  const char *source;
  const char *destination; /* absolute path in the container */
  bool readonly;
  bool noexec;    /* also nosuid and nodev, as for secret files */
  long long size; /* tmpfs: bytes; 0 or less keeps the kernel's default */
};

struct cb_run_request
{
  const char *runtime;    /* path of runc or crun */
  const char *rootfs;     /* the mounted root file system */
  const char *bundle_dir; /* an empty directory outside rootfs for config.json */
  char *const *argv;
  char *const *env;       /* "NAME=value" */
  const char *cwd;        /* absolute; created in rootfs when missing */
  uid_t uid;
  gid_t gid;
  const gid_t *additional_gids;
  size_t n_additional_gids;
  /* Mounted in this order: a mount inside another one must come after it. */
  const struct cb_container_mount *mounts;
  size_t n_mounts;
  /* A network namespace of its own, with loopback only (RUN --network=none);
   * otherwise the host's network. */
  bool no_network;
  /* Lines added to the container's /etc/hosts ("IP\tNAME"), or NULL. */
  const struct cb_strv *extra_hosts;
  /* Receives each line of the command's stdout and stderr, without '\n'. */
  void (*output) (void *user_data, const char *line);
  void *output_user_data;
};

/* Runs the command with the host network, /etc/resolv.conf and /etc/hosts
 * from the host, /proc, /dev, /sys and the request's mounts mounted. Mount
 * points the runtime had to create in rootfs (and their missing parents)
 * are removed again when they are still empty, so they do not end up in
 * the layer.
 * exit_code receives the command's exit status (128+N for signal N). A
 * runtime that fails to start the command is an error, a non-zero exit is not. */
int cb_runtime_run (const struct cb_run_request *req, int *exit_code, cbuild_error *err);

/* Resolves USER's value (name or uid, optionally ":group" name or gid)
 * through rootfs's /etc/passwd and /etc/group, read without following
 * symlinks out of rootfs. A numeric uid missing from /etc/passwd is
 * accepted with gid 0, as Docker does; a missing name is an error.
 * additional_gids (malloc'd) receives the supplementary groups of the user. */
int cb_resolve_user (const char *rootfs, const char *spec, uid_t *uid, gid_t *gid,
                     gid_t **additional_gids, size_t *n_additional_gids, cbuild_error *err);

#endif
