/* Images that FROM and COPY --from name, and what COPY --from names in
 * general: an earlier stage or an image reference. Images are pulled
 * through the build's registry client (so mirrors, insecure hosts and
 * credentials apply), once per build and platform, so that every stage
 * gets the same digest for a tag, and kept until the build ends. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "builder/build.h"
#include "builder/options.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "parser/expand.h"
#include "registry/reference.h"

struct cb_source_image
{
  struct cb_source_image *next;
  char *key; /* "REFERENCE PLATFORM" */
  char manifest_digest[CB_DIGEST_SIZE];
  struct cb_image image;
};

void
cb_source_images_free (struct cb_source_image *list)
{
  while (list)
    {
      struct cb_source_image *next = list->next;
      free (list->key);
      cb_image_release (&list->image);
      free (list);
      list = next;
    }
}

/* The file that remembers which manifest "REFERENCE PLATFORM" resolved to
 * when it was last pulled into this state directory (malloc'd). */
static char *
resolved_path (struct cb_build *b, const char *key)
{
  char digest[CB_DIGEST_SIZE];
  char *path = NULL;

  if (cb_sha256_bytes (key, strlen (key), digest, NULL) < 0
      || asprintf (&path, "%s/cache/base-images/%s", b->store->root, digest + 7) < 0)
    return NULL;
  return path;
}

/* Like docker build, a base image already pulled is used as it is, with no
 * request to the registry about whether its tag moved; --pull sends that
 * request every time. A reference by digest never changes, so it is always
 * taken locally. */
static int
load_resolved (struct cb_build *b, const struct cb_reference *ref, const char *key, struct cb_pulled_image *out)
{
  cleanup_free char *path = NULL;
  cleanup_free char *digest = NULL;
  cbuild_error ignored = { 0 };

  if (b->opts->pull && ref->digest == NULL)
    return -1;
  if (ref->digest == NULL)
    {
      path = resolved_path (b, key);
      if (path == NULL || cb_read_file (path, 128, &digest, NULL, &ignored) < 0)
        return -1;
      digest[strcspn (digest, "\n")] = '\0';
    }
  return cb_registry_load_local (b->store, ref->digest ? ref->digest : digest, out, &ignored);
}

static void
save_resolved (struct cb_build *b, const char *key, const char *manifest_digest)
{
  cleanup_free char *path = resolved_path (b, key);
  cleanup_free char *dir = NULL;
  cbuild_error ignored = { 0 };

  if (path == NULL || asprintf (&dir, "%s/cache/base-images", b->store->root) < 0)
    return;
  /* Only a shortcut: after a failed write the next build pulls again. */
  if (cb_mkdir_p (dir, 0700, &ignored) == 0)
    cb_write_file_atomic (path, manifest_digest, strlen (manifest_digest), 0600, &ignored);
}

/* Pulls ref for platform and adds it to the build's list. Called with
 * shared->registry_lock held. */
static struct cb_source_image *
pull_into_list (struct cb_build *b, const struct cb_reference *ref, const struct cb_platform *platform,
                char *key, cbuild_error *err)
{
  struct cb_source_image *entry = calloc (1, sizeof *entry);
  struct cb_pulled_image pulled = { 0 };
  int ret;

  if (entry == NULL)
    {
      free (key);
      cb_error_nomem (err);
      return NULL;
    }
  entry->key = key;
  b->shared->pull_label = b->n_stages > 1 && b->stage ? b->stage->label : NULL;
  ret = load_resolved (b, ref, key, &pulled);
  if (ret < 0)
    {
      ret = cb_registry_pull (b->registry, ref, platform, b->store, &pulled, err);
      if (ret == 0 && ref->digest == NULL)
        save_resolved (b, key, pulled.manifest_digest);
    }
  b->shared->pull_label = NULL;
  if (ret == 0)
    ret = cb_image_init_pulled (&entry->image, &pulled, err);
  if (ret == 0)
    memcpy (entry->manifest_digest, pulled.manifest_digest, CB_DIGEST_SIZE);
  cb_pulled_image_release (&pulled);
  if (ret < 0)
    {
      cb_source_images_free (entry);
      return NULL;
    }
  entry->next = b->shared->source_images;
  b->shared->source_images = entry;
  return entry;
}

struct cb_image *
cb_build_pull_image (struct cb_build *b, struct cb_stage *st, const char *name, const char **manifest_digest,
                     cbuild_error *err)
{
  struct cb_build_shared *sh = b->shared;
  struct cb_reference ref = { 0 };
  cleanup_free char *shown = NULL;
  char *key = NULL;
  char platform[128];
  struct cb_source_image *image = NULL;

  if (cb_reference_parse (name, &ref, err) < 0)
    return NULL;
  shown = cb_reference_format (&ref);
  cb_platform_format (&st->platform, platform, sizeof platform);
  if (shown == NULL || asprintf (&key, "%s %s", shown, platform) < 0)
    {
      cb_reference_release (&ref);
      cb_error_nomem (err);
      return NULL;
    }

  pthread_mutex_lock (&sh->registry_lock);
  for (struct cb_source_image *e = sh->source_images; e && image == NULL; e = e->next)
    if (strcmp (e->key, key) == 0)
      image = e;
  if (image)
    free (key);
  else
    image = pull_into_list (b, &ref, &st->platform, key, err);
  pthread_mutex_unlock (&sh->registry_lock);

  cb_reference_release (&ref);
  if (image == NULL)
    return NULL;
  if (manifest_digest)
    *manifest_digest = image->manifest_digest;
  return &image->image;
}

struct cb_image *
cb_build_source_image (struct cb_build *b, struct cb_stage *st, const char *from, const char **cache_key,
                       cbuild_error *err)
{
  cleanup_strv struct cb_strv env = CB_STRV_INIT;
  cleanup_free char *name = NULL;
  struct cb_reference ref = { 0 };
  struct cb_stage *other;
  const char *named;

  if (cb_build_global_env (b, &env, err) < 0 || cb_expand_word (from, b->df->escape, &env, &name, err) < 0)
    return NULL;
  if (name[0] == '\0')
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "--from='%s' expands to an empty name (is a global build argument missing?)", from);
      return NULL;
    }
  named = cb_options_build_context (b->opts, name);
  if (named && strncmp (named, "docker-image://", 15) == 0)
    return cb_build_pull_image (b, st, named + 15, cache_key, err);
  if (named)
    {
      cb_error_set (err, CBUILD_ERR_INVALID,
                    "--from='%s' names a directory build context, which only COPY --from can use", name);
      return NULL;
    }
  other = cb_build_find_stage (b, name, st->first);
  if (other)
    {
      if (cb_build_stage (b, other, err) < 0)
        return NULL;
      if (cache_key)
        *cache_key = other->cache_parent;
      return &other->image;
    }
  /* A stage can copy only from stages before it, which also keeps the
   * graph free of cycles. */
  if (cb_build_find_stage (b, name, SIZE_MAX))
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "--from='%s' names this stage or a later one: copy only from an earlier stage", name);
      return NULL;
    }
  if (name[strspn (name, "0123456789")] == '\0')
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "--from='%s': there is no stage %s before this one", name, name);
      return NULL;
    }
  if (cb_reference_parse (name, &ref, err) < 0)
    {
      cb_error_prefix (err, "--from='%s' names no earlier stage and no valid image", name);
      return NULL;
    }
  cb_reference_release (&ref);
  return cb_build_pull_image (b, st, name, cache_key, err);
}

int
cb_mount_make_readonly (const char *path, cbuild_error *err)
{
  /* A bind remount changes the flags of this mount only, not of the
   * overlay's layers, which other steps use at the same time. */
  if (mount (NULL, path, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0)
    return cb_error_sys (err, errno, "make '%s' read-only", path);
  return 0;
}
