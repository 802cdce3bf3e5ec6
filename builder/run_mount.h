/* RUN --mount: the host side of cache, bind, tmpfs and secret mounts, set
 * up before a RUN step and taken down after it, as BuildKit's Dockerfile
 * frontend defines them. What a mount shows never reaches the layer: the
 * runtime mounts it over the step's root file system and removes the mount
 * points it created there. */
#ifndef CBUILD_BUILDER_RUN_MOUNT_H
#define CBUILD_BUILDER_RUN_MOUNT_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/build.h"
#include "builder/cache.h"
#include "builder/runtime.h"
#include "common/strv.h"

/* The directory under the state root that contains the cache mounts, one
 * directory per cache id (and per extra instance of a private one). */
#define CB_CACHE_MOUNTS_DIR "cache-mounts"

struct cb_image_mount;

/* The host-side resources that the --mount flags of one RUN step set up. */
struct cb_run_mounts
{
  struct cb_container_mount *mounts; /* for the runtime request, parents before children */
  size_t n_mounts;
  /* "NAME=value" for the secrets exposed with env=. They go to the command's
   * environment only, never to the image config, history or a cache key. */
  struct cb_strv secret_env;
  /* The first SSH agent socket's path in the container, for SSH_AUTH_SOCK,
   * or NULL when the step forwards no agent. */
  char *ssh_auth_sock;
  char *dir; /* scratch directory for the step's mounts, or NULL */
  /* A tmpfs under dir for the secret files. The runtime bundle goes there
   * too when secrets are used, because its config.json contains the env=
   * values. NULL when the step uses no secret. */
  char *private_dir;
  /* Owned by the set; released with it. */
  struct cb_strv strings;        /* sources and destinations of mounts */
  struct cb_strv overlays;       /* overlay mount points to unmount */
  struct cb_strv cache_names;    /* caches this step locked, to reuse a lock */
  int *lock_fds;                 /* flock()ed cache lock files */
  size_t n_locks;
  struct cb_image_mount **images; /* stage images that from= named */
  size_t n_images;
};

/* Parses the step's --mount flags (after variable substitution with the
 * stage's variables) and sets up what each one needs: a persistent cache
 * directory under ROOT/cache-mounts (created with uid, gid and mode, locked
 * per sharing=), a copy of the build context source filtered by
 * .dockerignore or a stage's root file system for bind (an overlay on top
 * when read-write, so that writes are discarded), a tmpfs, a secret file
 * on a private tmpfs, or the agent socket that --ssh forwarded. from=
 * names an earlier stage or an image. Relative targets are below the
 * stage's WORKDIR. A required secret or agent that no --secret or --ssh
 * defines fails naming its id. On failure everything set up so far is
 * released. */
int cb_run_mounts_prepare (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                           struct cb_run_mounts *out, cbuild_error *err);

/* Adds to key what the step's bind mounts show: the content of a build
 * context source, hashed as COPY hashes its sources (after .dockerignore),
 * or the cache key of the earlier stage that from= names, which is built
 * first. Cache, tmpfs and secret mounts add nothing. */
int cb_run_mounts_hash (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                        struct cb_cache_key *key, cbuild_error *err);

/* Adds a bind mount of the host path source (already resolved and free
 * of symlinks) at destination, in its place by depth. */
int cb_run_mounts_add_bind (struct cb_run_mounts *m, const char *source, const char *destination, bool readonly,
                            cbuild_error *err);

/* Returns (malloc'd) a new directory (mode 0700) under the set's scratch
 * directory, which is created under the worker's work directory on first
 * use and removed on release. */
char *cb_run_mounts_scratch (struct cb_run_mounts *m, struct cb_build *b, const char *prefix, cbuild_error *err);

/* Unlocks, unmounts and removes everything that prepare set up, and wipes
 * the secret values it held. Safe on a zeroed set. */
void cb_run_mounts_release (struct cb_run_mounts *m);

/* Mounts of stage images, implemented in step_fs.c: an overlay of img's
 * layers (extracted when not yet on disk) with a scratch upper directory
 * under the worker's work directory, so writes to it are discarded. */
struct cb_image_mount *cb_image_mount_new (struct cb_build *b, struct cb_image *img, cbuild_error *err);
/* The root of the mounted file system. */
const char *cb_image_mount_root (const struct cb_image_mount *im);
void cb_image_mount_free (struct cb_image_mount *im);

#endif
