/* Snapshots: extracted layers under ROOT/snapshots/<diffID hex>, ready to
 * be stacked as overlay lower directories. */
#include "layers/layer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

static char *
snapshot_path (const struct cb_store *store, const char *diff_id, cbuild_error *err)
{
  char *path;

  /* The hex part becomes a directory name, so it must be plain hex. */
  if (!cb_digest_valid (diff_id))
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "invalid diffID '%s'", diff_id ? diff_id : "");
      return NULL;
    }
  path = cb_path_join (store->snapshots_dir, diff_id + strlen ("sha256:"));
  if (path == NULL)
    cb_error_nomem (err);
  return path;
}

static bool
is_dir (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* Renames the finished directory dir to path. Its files were written
 * without fsync, so the file system is synced first: after a crash the
 * name must not point to files that lost their data. When another process
 * published the same snapshot first, dir is removed and theirs is kept. */
static int
publish_dir (const char *dir, const char *path, const char *snapshots_dir, cbuild_error *err)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  cleanup_close int parent = -1;

  if (fd < 0 || syncfs (fd) < 0)
    return cb_error_sys (err, errno, "sync '%s'", dir);
  if (rename (dir, path) < 0)
    {
      if (errno != EEXIST && errno != ENOTEMPTY)
        return cb_error_sys (err, errno, "rename '%s' to '%s'", dir, path);
      return cb_remove_tree (dir, err);
    }
  parent = open (snapshots_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (parent < 0 || fsync (parent) < 0)
    return cb_error_sys (err, errno, "sync '%s'", snapshots_dir);
  return 0;
}

/* Extracts the blob into a new directory under ROOT/tmp and checks the
 * diffID. Returns the directory, or NULL with nothing left behind. */
static char *
extract_to_temp (struct cb_store *store, const char *blob_digest, const char *diff_id,
                 cbuild_error *err)
{
  cleanup_free char *blob = cb_store_blob_path (store, blob_digest);
  char *tmp = NULL;
  char got[CB_DIGEST_SIZE];

  if (blob == NULL)
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "invalid blob digest '%s'", blob_digest ? blob_digest : "");
      return NULL;
    }
  if (!cb_store_has_blob (store, blob_digest))
    {
      cb_error_set (err, CBUILD_ERR_NOT_FOUND, "blob '%s' not found in the store", blob_digest);
      return NULL;
    }
  tmp = cb_make_temp_dir (store->tmp_dir, "snapshot", err);
  if (tmp == NULL)
    return NULL;
  /* mkdtemp makes the directory 0700, and it becomes the root of the
   * container's file system unless the layer has a "./" entry. */
  if (chmod (tmp, 0755) < 0)
    cb_error_sys (err, errno, "change the mode of '%s'", tmp);
  else if (cb_layer_extract (blob, tmp, got, err) == 0)
    {
      if (strcmp (got, diff_id) == 0)
        return tmp;
      cb_error_set (err, CBUILD_ERR_DIGEST, "layer '%s' has diffID '%s', expected '%s'",
                    blob_digest, got, diff_id);
    }
  cb_remove_tree (tmp, NULL);
  free (tmp);
  return NULL;
}

char *
cb_snapshot_ensure (struct cb_store *store, const char *blob_digest, const char *diff_id,
                    cbuild_error *err)
{
  cleanup_free char *path = snapshot_path (store, diff_id, err);
  cleanup_free char *tmp = NULL;

  if (path == NULL)
    return NULL;
  if (is_dir (path))
    return cb_steal_pointer (&path);

  tmp = extract_to_temp (store, blob_digest, diff_id, err);
  if (tmp == NULL)
    goto fail;
  if (publish_dir (tmp, path, store->snapshots_dir, err) < 0)
    {
      cb_remove_tree (tmp, NULL);
      goto fail;
    }
  return cb_steal_pointer (&path);

fail:
  cb_error_prefix (err, "unpack layer '%s'", blob_digest ? blob_digest : "");
  return NULL;
}

int
cb_snapshot_adopt (struct cb_store *store, const char *dir, const char *diff_id, cbuild_error *err)
{
  cleanup_free char *path = snapshot_path (store, diff_id, err);

  if (path == NULL)
    return -1;
  if (is_dir (path))
    return cb_remove_tree (dir, err);
  if (publish_dir (dir, path, store->snapshots_dir, err) < 0)
    return cb_error_prefix (err, "keep '%s' as snapshot '%s'", dir, diff_id);
  return 0;
}
