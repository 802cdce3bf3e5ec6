/* cbuild_disk_usage_get and cbuild_prune: what the state directory holds,
 * and removing what the tagged images do not need. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cbuild/cbuild.h>

#include "builder/state_dir.h"
#include "builder/store_usage.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

static int64_t
blob_size (struct cb_store *store, const char *digest)
{
  cleanup_free char *path = cb_store_blob_path (store, digest);
  struct stat st;

  return path && stat (path, &st) == 0 ? (int64_t) st.st_blocks * 512 : 0;
}

static bool
entry_needs (const struct cb_usage_scan *scan, size_t first_kept, const char *digest, bool diff)
{
  for (size_t i = first_kept; i < scan->n_entries; i++)
    if (strcmp (diff ? scan->entries[i].diff_id : scan->entries[i].digest, digest) == 0)
      return true;
  return false;
}

/* Calls fn for each name in dir (blobs, snapshots or temporary files). */
static void
for_each_name (const char *dir_path, void (*fn) (void *ctx, const char *dir, const char *name), void *ctx)
{
  DIR *dir = opendir (dir_path);
  struct dirent *de;

  if (dir == NULL)
    return;
  while ((de = readdir (dir)) != NULL)
    if (de->d_name[0] != '.')
      fn (ctx, dir_path, de->d_name);
  closedir (dir);
}

struct usage_ctx
{
  struct cb_store *store;
  const struct cb_usage_scan *scan;
  cbuild_disk_usage *out;
};

static void
count_blob (void *p, const char *dir, const char *name)
{
  struct usage_ctx *ctx = p;
  char digest[300];
  int64_t size;

  (void) dir;
  snprintf (digest, sizeof digest, "sha256:%s", name);
  size = blob_size (ctx->store, digest);
  if (cb_strv_contains (&ctx->scan->image_blobs, digest))
    ctx->out->images += size;
  else if (entry_needs (ctx->scan, 0, digest, false))
    ctx->out->cache += size;
  else
    ctx->out->unreferenced += size;
}

int
cbuild_disk_usage_get (const char *root, cbuild_disk_usage *out, cbuild_error *err)
{
  cleanup_free char *dir = root ? strdup (root) : cb_state_dir_default (err);
  struct cb_store *store = NULL;
  struct cb_usage_scan scan;
  struct usage_ctx ctx;
  cleanup_free char *mounts = NULL;

  memset (out, 0, sizeof *out);
  if (dir == NULL)
    return -1;
  if (cb_store_open (dir, &store, err) < 0 || cb_usage_scan (store, &scan, err) < 0)
    {
      cb_store_free (store);
      return -1;
    }
  ctx = (struct usage_ctx) { store, &scan, out };
  for_each_name (store->blobs_dir, count_blob, &ctx);
  out->snapshots = cb_tree_size (store->snapshots_dir);
  out->temporary = cb_tree_size (store->tmp_dir);
  if (asprintf (&mounts, "%s/cache-mounts", store->root) > 0)
    out->cache_mounts = cb_tree_size (mounts);
  out->cache_entries = scan.n_entries;
  cb_usage_scan_release (&scan);
  cb_store_free (store);
  return 0;
}

/* Drops cache entries that were last used before the cutoff, then, while
 * the blobs and snapshots they keep exceed keep_storage, the oldest ones.
 * Returns the index of the first entry kept. */
static size_t
choose_entries (struct cb_store *store, const struct cb_usage_scan *scan, int64_t keep_storage,
                int64_t older_than)
{
  int64_t now = (int64_t) time (NULL);
  int64_t total = 0;
  size_t first = 0;

  if (older_than == 0 && keep_storage == 0)
    return scan->n_entries;
  while (older_than > 0 && first < scan->n_entries && now - scan->entries[first].last_used > older_than)
    first++;
  if (keep_storage <= 0)
    return first;
  for (size_t i = first; i < scan->n_entries; i++)
    if (scan->entries[i].digest[0] && !cb_strv_contains (&scan->image_blobs, scan->entries[i].digest))
      total += 2 * blob_size (store, scan->entries[i].digest); /* the blob and, roughly, its snapshot */
  while (first < scan->n_entries && total > keep_storage)
    {
      const struct cb_cache_ref *e = &scan->entries[first++];
      if (e->digest[0] && !cb_strv_contains (&scan->image_blobs, e->digest) && !entry_needs (scan, first, e->digest, false))
        total -= 2 * blob_size (store, e->digest);
    }
  return first;
}

struct prune_ctx
{
  struct cb_store *store;
  const struct cb_usage_scan *scan;
  size_t first_kept;
  int64_t freed;
};

static void
prune_blob (void *p, const char *dir, const char *name)
{
  struct prune_ctx *ctx = p;
  char digest[300];
  cleanup_free char *path = cb_path_join (dir, name);

  snprintf (digest, sizeof digest, "sha256:%s", name);
  if (path == NULL || cb_strv_contains (&ctx->scan->image_blobs, digest)
      || entry_needs (ctx->scan, ctx->first_kept, digest, false))
    return;
  ctx->freed += cb_tree_size (path);
  unlink (path);
}

static void
prune_snapshot (void *p, const char *dir, const char *name)
{
  struct prune_ctx *ctx = p;
  char diff_id[300];
  cleanup_free char *path = cb_path_join (dir, name);
  cbuild_error ignored = { 0 };

  snprintf (diff_id, sizeof diff_id, "sha256:%s", name);
  if (path == NULL || cb_strv_contains (&ctx->scan->image_diff_ids, diff_id)
      || entry_needs (ctx->scan, ctx->first_kept, diff_id, true))
    return;
  ctx->freed += cb_tree_size (path);
  cb_remove_tree (path, &ignored);
}

/* A build holds a shared lock on ROOT/.lock. Pruning takes it exclusively,
 * so it never removes a layer that a running build is about to use. */
static int
lock_state (const char *root, int *fd, cbuild_error *err)
{
  cleanup_free char *path = cb_path_join (root, ".lock");

  if (path == NULL)
    return cb_error_nomem (err);
  *fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (*fd < 0)
    return cb_error_sys (err, errno, "open '%s'", path);
  if (flock (*fd, LOCK_EX | LOCK_NB) < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "a build is using '%s': prune when it has finished", root);
  return 0;
}

static void
prune_temporary (void *user, const char *dir, const char *name)
{
  struct prune_ctx *ctx = user;
  cleanup_free char *path = cb_path_join (dir, name);
  cbuild_error ignored = { 0 };

  if (path == NULL)
    return;
  ctx->freed += cb_tree_size (path);
  cb_remove_tree (path, &ignored);
}

int
cbuild_prune (const char *root, long long keep_storage, long long older_than_seconds, long long *freed,
              cbuild_error *err)
{
  cleanup_free char *dir = root ? strdup (root) : cb_state_dir_default (err);
  cleanup_close int lock_fd = -1;
  struct cb_store *store = NULL;
  struct cb_usage_scan scan = { 0 };
  struct prune_ctx ctx;
  cbuild_error ignored = { 0 };
  int ret;

  if (dir == NULL)
    return -1;
  ret = lock_state (dir, &lock_fd, err);
  if (ret == 0)
    ret = cb_store_open (dir, &store, err);
  if (ret == 0)
    ret = cb_usage_scan (store, &scan, err);
  if (ret == 0)
    {
      ctx = (struct prune_ctx) { store, &scan, choose_entries (store, &scan, keep_storage, older_than_seconds), 0 };
      for (size_t i = 0; i < ctx.first_kept; i++)
        {
          ctx.freed += cb_tree_size (scan.entries[i].path);
          unlink (scan.entries[i].path);
        }
      for_each_name (store->blobs_dir, prune_blob, &ctx);
      for_each_name (store->snapshots_dir, prune_snapshot, &ctx);
      /* With the exclusive lock held no build runs, so what is left in
       * tmp/ (a blob or work directory of a killed build) is garbage. */
      for_each_name (store->tmp_dir, prune_temporary, &ctx);
      if (keep_storage == 0 && older_than_seconds == 0)
        {
          cleanup_free char *mounts = cb_path_join (store->root, "cache-mounts");
          if (mounts)
            {
              ctx.freed += cb_tree_size (mounts);
              cb_remove_tree (mounts, &ignored);
            }
        }
      if (freed)
        *freed = ctx.freed;
    }
  cb_usage_scan_release (&scan);
  cb_store_free (store);
  return ret;
}
