/* Steps that change the file system: the overlay they share, and RUN and
 * WORKDIR (COPY and ADD are in step_copy.c). Each step mounts an overlay
 * of the stage's layers with a fresh upper directory, changes the merged
 * view, and turns the upper directory into the layer. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/build.h"
#include "builder/heredoc.h"
#include "builder/overlay.h"
#include "builder/rootfs.h"
#include "builder/run_mount.h"
#include "builder/runtime.h"
#include "builder/step_cache.h"
#include "builder/step_fs.h"
#include "builder/upper_prune.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/layer.h"
#include "parser/expand.h"


void
cb_fs_step_release (struct fs_step *fs)
{
  cbuild_error ignored = { 0 };

  if (fs->mounted)
    cb_overlay_unmount (fs->merged, &ignored);
  if (fs->dir)
    cb_remove_tree (fs->dir, &ignored);
  free (fs->dir);
  free (fs->upper);
  free (fs->work);
  free (fs->merged);
  for (size_t i = 0; i < fs->n_lowers; i++)
    free (fs->lowers[i]);
  free (fs->lowers);
  memset (fs, 0, sizeof *fs);
}

static int
make_step_dirs (struct cb_build *b, struct fs_step *fs, cbuild_error *err)
{
  if (asprintf (&fs->dir, "%s/step-%u", b->work_dir, ++b->scratch_counter) < 0)
    return cb_error_nomem (err);
  fs->upper = cb_path_join (fs->dir, "upper");
  fs->work = cb_path_join (fs->dir, "work");
  fs->merged = cb_path_join (fs->dir, "merged");
  if (fs->upper == NULL || fs->work == NULL || fs->merged == NULL)
    return cb_error_nomem (err);
  if (mkdir (fs->dir, 0700) < 0 || mkdir (fs->upper, 0755) < 0 || mkdir (fs->work, 0700) < 0
      || mkdir (fs->merged, 0755) < 0)
    return cb_error_sys (err, errno, "create step directories in '%s'", fs->dir);
  return 0;
}

static bool
contains_string (char *const *items, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp (items[i], s) == 0)
      return true;
  return false;
}

/* Mounts img's layers, extracting those not yet on disk, at a new step
 * directory. Overlayfs rejects a directory given twice as a lower layer,
 * which two steps that made the same change (the same layer) would give.
 * Only the topmost copy is kept: applying a layer again over the layers
 * between changes the same paths to the same content, so the lower copy
 * has no visible effect. */
int
cb_fs_step_mount (struct cb_build *b, struct cb_image *img, struct fs_step *fs, cbuild_error *err)
{
  char **lowers = calloc (img->n_layers + 1, sizeof *lowers);
  size_t n = 0;
  int ret = 0;

  if (lowers == NULL)
    return cb_error_nomem (err);
  if (make_step_dirs (b, fs, err) < 0)
    ret = -1;
  for (size_t i = 0; ret == 0 && i < img->n_layers; i++)
    {
      size_t layer = img->n_layers - 1 - i;
      char *dir = cb_snapshot_ensure (b->store, img->layers[layer].digest, cb_image_diff_id (img, layer), err);

      if (dir == NULL)
        ret = cb_error_prefix (err, "extract layer %s", img->layers[layer].digest);
      else if (contains_string (lowers, n, dir))
        free (dir);
      else
        lowers[n++] = dir;
    }
  if (ret == 0)
    ret = cb_overlay_mount ((const char *const *) lowers, n, fs->upper, fs->work, fs->merged, err);
  if (ret == 0)
    fs->mounted = true;
  fs->lowers = lowers;
  fs->n_lowers = n;
  return ret;
}

struct cb_image_mount
{
  struct fs_step fs;
};

struct cb_image_mount *
cb_image_mount_new (struct cb_build *b, struct cb_image *img, cbuild_error *err)
{
  struct cb_image_mount *im = calloc (1, sizeof *im);

  if (im == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  if (cb_fs_step_mount (b, img, &im->fs, err) < 0)
    {
      cb_image_mount_free (im);
      return NULL;
    }
  return im;
}

const char *
cb_image_mount_root (const struct cb_image_mount *im)
{
  return im->fs.merged;
}

void
cb_image_mount_free (struct cb_image_mount *im)
{
  if (im == NULL)
    return;
  cb_fs_step_release (&im->fs);
  free (im);
}

/* Unmounts the step and records its upper directory as a layer, or as an
 * empty_layer history entry when the step changed nothing, and records the
 * result in the cache under key. */
int
cb_fs_step_commit (struct cb_build *b, struct cb_stage *st, struct fs_step *fs, const char *created_by,
                const char *key, cbuild_error *err)
{
  cleanup_free char *created = cb_build_timestamp (b);
  struct cb_cache_entry entry = { 0 };
  struct cb_layer_desc desc;
  bool empty = false;
  int ret;

  if (created == NULL)
    return cb_error_nomem (err);
  if (cb_overlay_unmount (fs->merged, err) < 0)
    return -1;
  fs->mounted = false;
  if (cb_upper_drop_unchanged_dirs (fs->upper, fs->lowers, fs->n_lowers, err) < 0)
    return -1;
  if (cb_layer_create_from_dir (b->store, fs->upper, &desc, &empty, err) < 0)
    return -1;
  atomic_fetch_add (&b->shared->steps_run, 1);
  entry.empty = empty;
  if (empty)
    ret = cb_image_add_history (&st->image, created_by, NULL, err);
  else
    {
      snprintf (entry.created, sizeof entry.created, "%s", created);
      memcpy (entry.digest, desc.digest, sizeof entry.digest);
      memcpy (entry.diff_id, desc.diff_id, sizeof entry.diff_id);
      entry.size = desc.size;
      ret = cb_snapshot_adopt (b->store, fs->upper, desc.diff_id, err);
      if (ret == 0)
        ret = cb_image_add_layer (&st->image, desc.digest, desc.size, desc.diff_id, created_by, created, err);
    }
  if (ret < 0)
    return -1;
  cb_step_cache_advance (st, key, empty ? NULL : desc.diff_id);
  /* The entry is written last, after the layer blob and snapshot, so that
   * an interrupted step never leaves an entry behind. */
  return cb_cache_record (b->store, key, &entry, err);
}

const char *
cb_stage_workdir (struct cb_stage *st)
{
  const char *wd = json_string_value (json_object_get (cb_image_runconfig (&st->image), "WorkingDir"));

  return wd && wd[0] ? wd : "/";
}

static const char *
stage_user (struct cb_stage *st)
{
  const char *user = json_string_value (json_object_get (cb_image_runconfig (&st->image), "User"));

  return user && user[0] ? user : NULL;
}

/* The environment of a RUN: the ARGs in scope, overridden by the image's
 * Env, plus the proxy build args; PATH defaults as in BuildKit. */
static int
run_env (struct cb_build *b, struct cb_stage *st, struct cb_strv *env, cbuild_error *err)
{
  if (cb_stage_expand_env (st, env, err) < 0 || cb_stage_proxy_env (b, env, err) < 0)
    return -1;
  if (cb_env_get (env, "PATH") == NULL
      && cb_env_set (env, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", err) < 0)
    return -1;
  return 0;
}

/* "RUN |2 A=1 B=2 /bin/sh -c cmd # buildkit", as BuildKit records build
 * args that reached the command. */
static int
run_history (struct cb_stage *st, const struct cb_strv *argv, struct cb_buf *msg, cbuild_error *err)
{
  if (cb_buf_append_str (msg, "RUN ", err) < 0)
    return -1;
  if (st->args.len > 0 && cb_buf_printf (msg, err, "|%zu ", st->args.len) < 0)
    return -1;
  for (size_t i = 0; i < st->args.len; i++)
    if (cb_buf_printf (msg, err, "%s ", st->args.items[i]) < 0)
      return -1;
  for (size_t i = 0; i < argv->len; i++)
    if (cb_buf_printf (msg, err, "%s%s", i ? " " : "", argv->items[i]) < 0)
      return -1;
  return cb_buf_append_str (msg, " # buildkit", err);
}

struct output_ctx
{
  struct cb_build *b;
};

static void
forward_output (void *user_data, const char *line)
{
  struct output_ctx *ctx = user_data;

  cb_log (ctx->b->log, CBUILD_LOG_OUTPUT, "[%d/%d] %s", ctx->b->step, ctx->b->total_steps, line);
}

/* The command's environment: env plus the secrets exposed with env=,
 * which only the runtime bundle gets. */
static int
command_env (const struct cb_strv *env, const struct cb_run_mounts *mounts, struct cb_strv *out, cbuild_error *err)
{
  if (cb_strv_copy (out, env, err) < 0)
    return -1;
  for (size_t i = 0; i < mounts->secret_env.len; i++)
    {
      const char *item = mounts->secret_env.items[i];
      cleanup_free char *name = strndup (item, strcspn (item, "="));

      if (name == NULL)
        return cb_error_nomem (err);
      if (cb_env_set (out, name, item + strlen (name) + 1, err) < 0)
        return -1;
    }
  /* BuildKit points SSH_AUTH_SOCK at the first agent unless the
   * environment already sets it. */
  if (mounts->ssh_auth_sock && cb_env_get (out, "SSH_AUTH_SOCK") == NULL
      && cb_env_set (out, "SSH_AUTH_SOCK", mounts->ssh_auth_sock, err) < 0)
    return -1;
  return 0;
}

static void
wipe_env (struct cb_strv *env)
{
  for (size_t i = 0; i < env->len; i++)
    explicit_bzero (env->items[i], strlen (env->items[i]));
  cb_strv_release (env);
}

static int
run_in_rootfs (struct cb_build *b, struct cb_stage *st, struct fs_step *fs, const struct cb_strv *argv,
               const struct cb_strv *env, const struct cb_run_mounts *mounts, bool no_network, int *exit_code,
               cbuild_error *err)
{
  cleanup_free gid_t *groups = NULL;
  /* With secrets, the bundle goes to their tmpfs, because its config.json
   * contains the environment: no value is written to disk. */
  cleanup_free char *bundle = cb_path_join (mounts->private_dir ? mounts->private_dir : fs->dir, "bundle");
  struct cb_strv full_env = CB_STRV_INIT;
  struct cb_run_request req = { 0 };
  struct output_ctx ctx = { b };
  size_t n_groups = 0;
  const char *user = stage_user (st);
  int ret;

  if (bundle == NULL)
    return cb_error_nomem (err);
  if (mkdir (bundle, 0700) < 0)
    return cb_error_sys (err, errno, "create '%s'", bundle);
  if (b->runtime == NULL && cb_build_runtime (b, err) < 0)
    return -1;
  if (cb_resolve_user (fs->merged, user ? user : "0", &req.uid, &req.gid, &groups, &n_groups, err) < 0)
    return cb_error_prefix (err, "USER '%s'", user ? user : "0");
  if (command_env (env, mounts, &full_env, err) < 0)
    {
      wipe_env (&full_env);
      return -1;
    }
  req.runtime = b->runtime;
  req.rootfs = fs->merged;
  req.bundle_dir = bundle;
  req.argv = argv->items;
  req.env = full_env.items;
  req.cwd = cb_stage_workdir (st);
  req.additional_gids = groups;
  req.n_additional_gids = n_groups;
  req.mounts = mounts->mounts;
  req.n_mounts = mounts->n_mounts;
  req.no_network = no_network;
  req.extra_hosts = &b->opts->extra_hosts;
  req.output = forward_output;
  req.output_user_data = &ctx;
  ret = cb_runtime_run (&req, exit_code, err);
  wipe_env (&full_env);
  return ret;
}

static int
run_failed (struct cb_build *b, const struct cb_strv *argv, int exit_code, cbuild_error *err)
{
  cleanup_buf struct cb_buf shown = CB_BUF_INIT;

  for (size_t i = 0; i < argv->len; i++)
    cb_buf_printf (&shown, NULL, "%s%s", i ? " " : "", argv->items[i]);
  return cb_error_set (err, CBUILD_ERR_RUN,
                       "step %d/%d RUN failed: process \"%s\" did not complete successfully: exit code: %d",
                       b->step, b->total_steps, cb_buf_str (&shown), exit_code);
}

/* RUN --network: "host" is the host's network, "none" leaves only
 * loopback, and "default" (or no flag) takes the --network build option,
 * which is the host's network unless it is none. */
static int
run_network (struct cb_build *b, const struct cb_instruction *ins, bool *no_network, cbuild_error *err)
{
  const char *mode = cb_instruction_flag (ins, "network");

  *no_network = b->opts->no_network;
  if (mode == NULL || strcmp (mode, "default") == 0)
    return 0;
  if (strcmp (mode, "none") == 0)
    *no_network = true;
  else if (strcmp (mode, "host") != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "RUN --network=%s: expected default, host or none", mode);
  /* A Dockerfile must not widen what the build was allowed; BuildKit
   * requires the network.host entitlement here. */
  else if (b->opts->no_network)
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "RUN --network=host in a build started with --network=none: drop one of them");
  return 0;
}

int
cb_step_run (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_strv struct cb_strv argv = CB_STRV_INIT;
  cleanup_strv struct cb_strv env = CB_STRV_INIT;
  cleanup_buf struct cb_buf msg = CB_BUF_INIT;
  const struct cb_heredoc *script = NULL;
  struct cb_run_mounts mounts = { 0 };
  struct fs_step fs = { 0 };
  char key[CB_DIGEST_SIZE];
  bool hit = false, no_network = false;
  int exit_code = 0;
  int ret;

  if (run_network (b, ins, &no_network, err) < 0)
    return -1;
  /* The history shows the command and build args only, as BuildKit's: no
   * --mount flag, and so no secret id either. */
  if (cb_heredoc_run_args (st, ins, &argv, &script, err) < 0 || run_env (b, st, &env, err) < 0
      || run_history (st, &argv, &msg, err) < 0)
    return -1;
  if (cb_step_key_run (b, st, ins, &argv, &env, key, err) < 0
      || cb_step_cache_use (b, st, key, cb_buf_str (&msg), &hit, err) < 0)
    return -1;
  if (hit)
    return 0;
  ret = cb_run_mounts_prepare (b, st, ins, &mounts, err);
  if (ret == 0 && script)
    ret = cb_heredoc_mount_script (b, &mounts, script, err);
  if (ret == 0)
    ret = cb_fs_step_mount (b, &st->image, &fs, err);
  if (ret == 0)
    ret = run_in_rootfs (b, st, &fs, &argv, &env, &mounts, no_network, &exit_code, err);
  if (ret == 0 && exit_code != 0)
    ret = run_failed (b, &argv, exit_code, err);
  cb_run_mounts_release (&mounts);
  if (ret == 0)
    ret = cb_fs_step_commit (b, st, &fs, cb_buf_str (&msg), key, err);
  cb_fs_step_release (&fs);
  return ret;
}

int
cb_step_workdir (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;
  cleanup_free char *path = NULL;
  cleanup_free char *wd = NULL;
  cleanup_free char *msg = NULL;
  cleanup_free gid_t *groups = NULL;
  struct fs_step fs = { 0 };
  const char *user = stage_user (st);
  char key[CB_DIGEST_SIZE];
  bool hit = false;
  uid_t uid = 0;
  gid_t gid = 0;
  size_t n_groups = 0;
  int ret;

  if (ins->n_args != 1)
    return cb_error_set (err, CBUILD_ERR_PARSE, "WORKDIR requires exactly one argument");
  if (cb_stage_expand_env (st, &env, err) < 0 || cb_expand_word (ins->args[0], b->df->escape, &env, &path, err) < 0)
    return -1;
  wd = cb_path_clean_abs (cb_stage_workdir (st), path);
  if (wd == NULL || asprintf (&msg, "WORKDIR %s", wd) < 0)
    return cb_error_nomem (err);
  if (cb_image_set_string (&st->image, "WorkingDir", wd, err) < 0)
    return -1;
  if (strcmp (wd, "/") == 0)
    return cb_image_add_history (&st->image, msg, NULL, err);
  if (cb_step_key_workdir (b, st, wd, user, key, err) < 0
      || cb_step_cache_use (b, st, key, msg, &hit, err) < 0)
    return -1;
  if (hit)
    return 0;

  /* BuildKit creates the directory, owned by the current USER, as a layer
   * of its own; the layer is empty when the directory already exists. */
  ret = cb_fs_step_mount (b, &st->image, &fs, err);
  if (ret == 0 && user)
    ret = cb_resolve_user (fs.merged, user, &uid, &gid, &groups, &n_groups, err);
  if (ret == 0)
    ret = cb_rootfs_mkdir_p (fs.merged, wd, 0755, uid, gid, err);
  if (ret == 0)
    ret = cb_fs_step_commit (b, st, &fs, msg, key, err);
  cb_fs_step_release (&fs);
  return ret;
}
