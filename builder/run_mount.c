/* RUN --mount flags: parsing after substitution, bind and tmpfs mounts,
 * and the set that keeps what the step's mounts need until it ends. */
#include "builder/run_mount.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy.h"
#include "builder/overlay.h"
#include "builder/rootfs.h"
#include "builder/run_mount_internal.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"
#include "parser/expand.h"

static size_t
path_depth (const char *path)
{
  size_t n = 0;

  for (; *path; path++)
    n += *path == '/';
  return n;
}

int
cb_run_mounts_push (struct cb_run_mounts *m, const struct cb_container_mount *mount, cbuild_error *err)
{
  struct cb_container_mount copy = *mount;
  struct cb_container_mount *grown;
  size_t depth = path_depth (mount->destination);
  size_t at = m->n_mounts;

  if (cb_strv_push (&m->strings, mount->destination, err) < 0)
    return -1;
  copy.destination = m->strings.items[m->strings.len - 1];
  if (mount->source)
    {
      if (cb_strv_push (&m->strings, mount->source, err) < 0)
        return -1;
      copy.source = m->strings.items[m->strings.len - 1];
    }
  grown = realloc (m->mounts, (m->n_mounts + 1) * sizeof *grown);
  if (grown == NULL)
    return cb_error_nomem (err);
  m->mounts = grown;
  while (at > 0 && path_depth (m->mounts[at - 1].destination) > depth)
    at--;
  memmove (&m->mounts[at + 1], &m->mounts[at], (m->n_mounts - at) * sizeof *m->mounts);
  m->mounts[at] = copy;
  m->n_mounts++;
  return 0;
}

int
cb_run_mounts_add_bind (struct cb_run_mounts *m, const char *source, const char *destination, bool readonly,
                        cbuild_error *err)
{
  struct cb_container_mount mount = { .type = CB_CONTAINER_BIND, .source = source, .destination = destination,
                                      .readonly = readonly };

  return cb_run_mounts_push (m, &mount, err);
}

char *
cb_run_mounts_scratch (struct cb_run_mounts *m, struct cb_build *b, const char *prefix, cbuild_error *err)
{
  if (m->dir == NULL)
    {
      m->dir = cb_make_temp_dir (b->work_dir, "mounts", err);
      if (m->dir == NULL)
        return NULL;
    }
  return cb_make_temp_dir (m->dir, prefix, err);
}

static char *
resolve_error (const char *path, cbuild_error *err)
{
  if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
    cb_error_set (err, CBUILD_ERR_NOT_FOUND, "'%s' not found", path);
  else
    cb_error_sys (err, errno, "open '%s'", path);
  return NULL;
}

/* Returns (malloc'd) the path that fd, opened below root_real, really is,
 * and fails when that is not below root_real. */
static char *
real_path_below (int fd, const char *root_real, const char *path, cbuild_error *err)
{
  char proc[64], real[PATH_MAX];
  size_t root_len = strlen (root_real);
  char *copy;
  ssize_t n;

  snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
  n = readlink (proc, real, sizeof real - 1);
  if (n < 0 || (size_t) n >= sizeof real - 1)
    {
      cb_error_sys (err, n < 0 ? errno : ENAMETOOLONG, "resolve '%s'", path);
      return NULL;
    }
  real[n] = '\0';
  /* RESOLVE_IN_ROOT kept the walk inside root. Checking the result as well
   * keeps a host path out of the container should that ever fail. */
  if (strcmp (real, root_real) != 0
      && (strncmp (real, root_real, root_len) != 0 || (root_len > 1 && real[root_len] != '/')))
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "'%s' resolves outside its root", path);
      return NULL;
    }
  copy = strdup (real);
  if (copy == NULL)
    cb_error_nomem (err);
  return copy;
}

char *
cb_run_mount_resolve (const char *root, const char *path, const struct cb_inroot_owner *owner, struct stat *st,
                      cbuild_error *err)
{
  cleanup_close int root_fd = open (root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int fd = -1;
  cleanup_free char *root_real = realpath (root, NULL);
  struct stat ignored;

  if (root_fd < 0 || root_real == NULL)
    {
      cb_error_sys (err, errno, "open '%s'", root);
      return NULL;
    }
  if (owner && cb_inroot_mkdir_p (root_fd, path, owner, &fd, err) < 0)
    return NULL;
  if (owner == NULL && (fd = cb_inroot_open (root_fd, path, O_PATH)) < 0)
    return resolve_error (path, err);
  if (fstat (fd, st ? st : &ignored) < 0)
    {
      cb_error_sys (err, errno, "stat '%s'", path);
      return NULL;
    }
  return real_path_below (fd, root_real, path, err);
}

/* The name of a file source in its context copy. */
#define CONTEXT_FILE "source"

/* Copies the context source, without what .dockerignore excludes, into a
 * new directory and renames it to dir. */
static int
copy_context_source (struct cb_build *b, const char *rel, const struct stat *st, const char *dir, cbuild_error *err)
{
  cleanup_free char *tmp = cb_make_temp_dir (b->work_dir, "context-new", err);
  const char *sources[1] = { rel };
  struct cb_copy_request req = { 0 };
  cbuild_error ignored = { 0 };
  int ret;

  if (tmp == NULL)
    return -1;
  req.context_dir = b->context_dir;
  req.ignore = b->ignore;
  req.sources = sources;
  req.n_sources = 1;
  req.dest = S_ISDIR (st->st_mode) ? "/" : "/" CONTEXT_FILE;
  req.workdir = "/";
  req.rootfs = tmp;
  ret = cb_copy_from_context (&req, err);
  if (ret == 0 && S_ISDIR (st->st_mode) && chmod (tmp, st->st_mode & 07777) < 0)
    ret = cb_error_sys (err, errno, "chmod '%s'", tmp);
  if (ret == 0 && rename (tmp, dir) < 0)
    ret = cb_error_sys (err, errno, "rename '%s' to '%s'", tmp, dir);
  if (ret < 0)
    cb_remove_tree (tmp, &ignored);
  return ret;
}

/* Returns (malloc'd) a directory holding the context source as BuildKit
 * mounts it: the context as the client sent it, so without the files that
 * .dockerignore excludes. The copy is made once per work directory and
 * source, and *st receives the source's stat. NOTE: the copy costs the
 * source's size in time and disk space. Binding the context itself when
 * .dockerignore excludes nothing below the source would avoid that. */
static char *
context_copy (struct cb_build *b, const char *source, struct stat *st, cbuild_error *err)
{
  cleanup_free char *rel = cb_path_clean_abs ("/", source);
  cleanup_free char *resolved = NULL;
  char digest[CB_DIGEST_SIZE], name[64];
  char *dir;
  struct stat have;

  if (rel == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  resolved = cb_run_mount_resolve (b->context_dir, rel, NULL, st, err);
  if (resolved == NULL)
    return NULL;
  if (!S_ISDIR (st->st_mode) && !S_ISREG (st->st_mode))
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "'%s' in the build context is not a file or directory", rel);
      return NULL;
    }
  if (cb_sha256_bytes (rel, strlen (rel), digest, err) < 0)
    return NULL;
  snprintf (name, sizeof name, "context-%.16s", digest + strlen ("sha256:"));
  dir = cb_path_join (b->work_dir, name);
  if (dir == NULL)
    cb_error_nomem (err);
  else if (stat (dir, &have) < 0
           && copy_context_source (b, rel[1] ? rel + 1 : ".", st, dir, err) < 0)
    {
      free (dir);
      return NULL;
    }
  return dir;
}

/* Mounts an overlay with lower as its only layer, so that writes land in a
 * scratch upper directory that is removed after the step. */
static char *
overlay_on (struct cb_run_mounts *out, struct cb_build *b, const char *lower, cbuild_error *err)
{
  cleanup_free char *dir = cb_run_mounts_scratch (out, b, "rw", err);
  cleanup_free char *upper = dir ? cb_path_join (dir, "upper") : NULL;
  cleanup_free char *work = dir ? cb_path_join (dir, "work") : NULL;
  cleanup_free char *merged = dir ? cb_path_join (dir, "merged") : NULL;
  const char *lowers[1] = { lower };

  if (dir == NULL)
    return NULL;
  if (upper == NULL || work == NULL || merged == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  if (mkdir (upper, 0755) < 0 || mkdir (work, 0700) < 0 || mkdir (merged, 0755) < 0)
    {
      cb_error_sys (err, errno, "create overlay directories in '%s'", dir);
      return NULL;
    }
  if (cb_overlay_mount (lowers, 1, upper, work, merged, err) < 0)
    return NULL;
  if (cb_strv_push (&out->overlays, merged, err) < 0)
    {
      cbuild_error ignored = { 0 };
      cb_overlay_unmount (merged, &ignored);
      return NULL;
    }
  return cb_steal_pointer (&merged);
}

/* type=bind: the build context (or from='s stage) at source, read-only
 * unless rw, and then an overlay discards what the command writes, as
 * BuildKit's ForceNoOutput does. */
static int
mount_bind (const struct cb_mount_job *job, cbuild_error *err)
{
  const struct cb_run_mount *m = job->m;
  const char *source = m->source ? m->source : "/";
  cleanup_free char *path = NULL;
  cleanup_free char *copy = NULL;
  cleanup_free char *top = NULL;
  struct stat st;

  /* Writes to a stage's mount go to its scratch upper directory. */
  if (job->from)
    {
      path = cb_run_mount_resolve (cb_image_mount_root (job->from), source, NULL, NULL, err);
      if (path == NULL)
        return cb_error_prefix (err, "source in stage '%s'", m->from);
      return cb_run_mounts_add_bind (job->out, path, job->target, m->readonly, err);
    }
  copy = context_copy (job->b, source, &st, err);
  if (copy == NULL)
    return cb_error_prefix (err, "source in the build context");
  if (!m->readonly && (top = overlay_on (job->out, job->b, copy, err)) == NULL)
    return -1;
  if (S_ISDIR (st.st_mode))
    return cb_run_mounts_add_bind (job->out, top ? top : copy, job->target, m->readonly, err);
  path = cb_path_join (top ? top : copy, CONTEXT_FILE);
  if (path == NULL)
    return cb_error_nomem (err);
  return cb_run_mounts_add_bind (job->out, path, job->target, m->readonly, err);
}

static int
mount_tmpfs (const struct cb_mount_job *job, cbuild_error *err)
{
  struct cb_container_mount mount = { .type = CB_CONTAINER_TMPFS, .destination = job->target,
                                      .readonly = job->m->readonly, .size = job->m->size };

  return cb_run_mounts_push (job->out, &mount, err);
}

static const char *
stage_workdir (struct cb_stage *st)
{
  const char *wd = json_string_value (json_object_get (cb_image_runconfig (&st->image), "WorkingDir"));

  return wd && wd[0] ? wd : "/";
}

/* Sets up one mount; job->target is set, except for a secret without one. */
static int
mount_one (struct cb_mount_job *job, cbuild_error *err)
{
  const char *type = job->m->type;

  if (strcmp (type, "ssh") == 0)
    return cb_run_mount_ssh (job, job->ssh_index, err);
  if (strcmp (type, "secret") == 0)
    return cb_run_mount_secret (job, err);
  if (strcmp (job->target, "/") == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid mount target '/'");
  if (strcmp (type, "bind") == 0)
    return mount_bind (job, err);
  if (strcmp (type, "cache") == 0)
    return cb_run_mount_cache (job, err);
  return mount_tmpfs (job, err);
}

/* Parses a --mount value. One with a '$' is substituted with the stage's
 * variables first. NOTE: BuildKit substitutes each field after splitting
 * the value. Substituting the whole value differs only for a quoted field
 * or an escape in a value, which --mount values rarely have. */
int
cb_run_mount_parse_flag (struct cb_build *b, struct cb_stage *st, const char *value, struct cb_run_mount *m,
                         cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;
  cleanup_free char *expanded = NULL;

  if (strchr (value, '$') == NULL)
    return cb_run_mount_parse (value, m, err);
  if (cb_stage_expand_env (st, &env, err) < 0 || cb_expand_word (value, b->df->escape, &env, &expanded, err) < 0)
    return -1;
  return cb_run_mount_parse (expanded, m, err);
}

/* Mounts the stage that from= names. prepare_all calls this for every
 * from= before it locks any cache, so that building that stage cannot wait
 * for a lock this step has taken. */
static int
mount_from_stage (struct cb_build *b, struct cb_stage *st, const struct cb_run_mount *m,
                  struct cb_run_mounts *out, struct cb_image_mount **im, cbuild_error *err)
{
  /* from= names an earlier stage (built first) or an image (pulled), as
   * COPY --from does. */
  struct cb_image *image = cb_build_source_image (b, st, m->from, NULL, err);
  struct cb_image_mount **grown;

  if (image == NULL)
    return -1;
  grown = realloc (out->images, (out->n_images + 1) * sizeof *grown);
  if (grown == NULL)
    return cb_error_nomem (err);
  out->images = grown;
  *im = cb_image_mount_new (b, image, err);
  if (*im == NULL)
    return -1;
  out->images[out->n_images++] = *im;
  return 0;
}

struct parsed_flags
{
  struct cb_run_mount *mounts;
  const char **specs;
  struct cb_image_mount **from;
  size_t n;
};

static void
parsed_flags_release (struct parsed_flags *p)
{
  for (size_t i = 0; i < p->n; i++)
    cb_run_mount_release (&p->mounts[i]);
  free (p->mounts);
  free (p->specs);
  free (p->from);
}

static int
parse_flags (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins, struct parsed_flags *p,
             cbuild_error *err)
{
  p->mounts = calloc (ins->n_flags + 1, sizeof *p->mounts);
  p->specs = calloc (ins->n_flags + 1, sizeof *p->specs);
  p->from = calloc (ins->n_flags + 1, sizeof *p->from);
  if (p->mounts == NULL || p->specs == NULL || p->from == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < ins->n_flags; i++)
    {
      const char *value = ins->flags[i] + strlen (CB_MOUNT_FLAG);

      if (strncmp (ins->flags[i], CB_MOUNT_FLAG, strlen (CB_MOUNT_FLAG)) != 0)
        continue;
      if (cb_run_mount_parse_flag (b, st, value, &p->mounts[p->n], err) < 0)
        return cb_error_prefix (err, "--mount=%s", value);
      p->specs[p->n++] = value;
    }
  return 0;
}

static int
prepare_all (struct cb_build *b, struct cb_stage *st, struct parsed_flags *p, struct cb_run_mounts *out,
             cbuild_error *err)
{
  size_t n_ssh = 0;

  for (size_t i = 0; i < p->n; i++)
    {
      const struct cb_run_mount *m = &p->mounts[i];
      bool uses_from = strcmp (m->type, "bind") == 0 || strcmp (m->type, "cache") == 0;

      if (m->from && uses_from && mount_from_stage (b, st, m, out, &p->from[i], err) < 0)
        return cb_error_prefix (err, "--mount=%s", p->specs[i]);
    }
  for (size_t i = 0; i < p->n; i++)
    {
      cleanup_free char *target = NULL;
      struct cb_mount_job job = { b, st, out, &p->mounts[i], p->specs[i], NULL, p->from[i], n_ssh };

      if (p->mounts[i].target)
        {
          target = cb_path_clean_abs (stage_workdir (st), p->mounts[i].target);
          if (target == NULL)
            return cb_error_nomem (err);
        }
      job.target = target;
      if (strcmp (p->mounts[i].type, "ssh") == 0)
        n_ssh++;
      if (mount_one (&job, err) < 0)
        return cb_error_prefix (err, "--mount=%s", p->specs[i]);
    }
  return 0;
}

int
cb_run_mounts_prepare (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                       struct cb_run_mounts *out, cbuild_error *err)
{
  struct parsed_flags parsed = { 0 };
  int ret;

  memset (out, 0, sizeof *out);
  ret = parse_flags (b, st, ins, &parsed, err);
  if (ret == 0)
    ret = prepare_all (b, st, &parsed, out, err);
  parsed_flags_release (&parsed);
  if (ret < 0)
    cb_run_mounts_release (out);
  return ret;
}

static void
wipe_strv (struct cb_strv *v)
{
  for (size_t i = 0; i < v->len; i++)
    explicit_bzero (v->items[i], strlen (v->items[i]));
  cb_strv_release (v);
}

void
cb_run_mounts_release (struct cb_run_mounts *m)
{
  cbuild_error ignored = { 0 };

  for (size_t i = m->overlays.len; i-- > 0;)
    cb_overlay_unmount (m->overlays.items[i], &ignored);
  for (size_t i = 0; i < m->n_images; i++)
    cb_image_mount_free (m->images[i]);
  for (size_t i = 0; i < m->n_locks; i++)
    close (m->lock_fds[i]);
  /* Detached at once: the secrets on it must not outlive the step. */
  if (m->private_dir && umount2 (m->private_dir, MNT_DETACH) < 0)
    cb_error_sys (&ignored, errno, "unmount '%s'", m->private_dir);
  if (m->dir)
    cb_remove_tree (m->dir, &ignored);
  wipe_strv (&m->secret_env);
  cb_strv_release (&m->strings);
  cb_strv_release (&m->overlays);
  cb_strv_release (&m->cache_names);
  free (m->mounts);
  free (m->lock_fds);
  free (m->images);
  free (m->private_dir);
  free (m->ssh_auth_sock);
  free (m->dir);
  memset (m, 0, sizeof *m);
}
