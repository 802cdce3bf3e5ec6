/* Parts of RUN --mount shared by builder/run_mount*.c. */
#ifndef CBUILD_BUILDER_RUN_MOUNT_INTERNAL_H
#define CBUILD_BUILDER_RUN_MOUNT_INTERNAL_H

#include <stdbool.h>
#include <sys/stat.h>

#include "builder/copy_rootfs.h"
#include "builder/run_mount.h"

#define CB_MOUNT_FLAG "--mount="

/* One --mount flag of the step being prepared. */
struct cb_mount_job
{
  struct cb_build *b;
  struct cb_stage *st;
  struct cb_run_mounts *out;
  const struct cb_run_mount *m;  /* the parsed flag */
  const char *spec;              /* the flag's value as written, for messages */
  const char *target;            /* absolute, cleaned */
  struct cb_image_mount *from;   /* the stage that from= names, or NULL */
  size_t ssh_index;              /* type=ssh: how many ssh mounts come before it */
};

/* Parses the value of one --mount flag, substituting the stage's
 * variables first when it contains a '$'. */
int cb_run_mount_parse_flag (struct cb_build *b, struct cb_stage *st, const char *value, struct cb_run_mount *m,
                             cbuild_error *err);

/* Adds mount to the set (copying its strings), after every mount that is
 * not deeper than it, so that the runtime mounts parents first. */
int cb_run_mounts_push (struct cb_run_mounts *m, const struct cb_container_mount *mount, cbuild_error *err);

/* Opens path inside root, where symlinks resolve as if root were "/", and
 * returns (malloc'd) its real host path. The runtime follows symlinks in a
 * bind source on the host, so a path as written could point it out of
 * root, and the real path cannot. With owner, missing directories are
 * created with it. *st (when not NULL) receives its stat. */
char *cb_run_mount_resolve (const char *root, const char *path, const struct cb_inroot_owner *owner, struct stat *st,
                            cbuild_error *err);

/* run_mount_cache.c: type=cache. */
int cb_run_mount_cache (const struct cb_mount_job *job, cbuild_error *err);

/* run_mount_ssh.c: type=ssh. index counts the step's ssh mounts from 0
 * and names the default target, /run/buildkit/ssh_agent.INDEX. */
int cb_run_mount_ssh (const struct cb_mount_job *job, size_t index, cbuild_error *err);

/* run_mount_secret.c: type=secret. */
int cb_run_mount_secret (const struct cb_mount_job *job, cbuild_error *err);

#endif
