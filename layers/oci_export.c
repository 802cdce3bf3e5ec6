/* cb_layout_export: an image from the store as a standalone OCI layout,
 * a directory or a tar of one. Blobs are streamed and checked against
 * their digests on the way, so a corrupt store never yields an image. */
#include "layers/oci_layout.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/strv.h"
#include "layers/archive_error.h"
#include "common/fs.h"
#include "layers/oci_index.h"

#define MANIFEST_MAX ((size_t) 4 << 20)
#define COPY_CHUNK (64 * 1024)
#define OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"

struct export_plan
{
  struct cb_strv blobs; /* digests: manifest, config, layers, without repeats */
  char *index_json;     /* the new layout's index.json */
};

typedef int (*blob_sink_fn) (void *user_data, const void *data, size_t len, cbuild_error *err);

static void
plan_release (struct export_plan *p)
{
  cb_strv_release (&p->blobs);
  free (p->index_json);
}

static int
plan_add_blob (struct cb_store *store, struct export_plan *p, const char *digest, cbuild_error *err)
{
  if (!cb_digest_valid (digest))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid digest '%s' in manifest",
                         digest ? digest : "");
  if (!cb_store_has_blob (store, digest))
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "blob '%s' not found in the store", digest);
  if (cb_strv_contains (&p->blobs, digest))
    return 0;
  return cb_strv_push (&p->blobs, digest, err);
}

static int
plan_add_manifest_blobs (struct cb_store *store, struct export_plan *p, json_t *manifest,
                         cbuild_error *err)
{
  json_t *layers = json_object_get (manifest, "layers");
  json_t *layer;
  size_t i;

  if (plan_add_blob (store, p, json_string_value (json_object_get (
                                   json_object_get (manifest, "config"), "digest")), err) < 0)
    return -1;
  if (layers != NULL && !json_is_array (layers))
    return cb_error_set (err, CBUILD_ERR_INVALID, "\"layers\" in manifest is not an array");
  json_array_foreach (layers, i, layer)
    if (plan_add_blob (store, p, json_string_value (json_object_get (layer, "digest")), err) < 0)
      return -1;
  return 0;
}

static int
plan_set_index (struct export_plan *p, const char *media_type, const char *digest, size_t size,
                const char *name, cbuild_error *err)
{
  cleanup_json json_t *index = cb_oci_index_new ();
  json_t *desc = cb_oci_descriptor_new (media_type, digest, (int64_t) size, name);

  if (index == NULL || desc == NULL
      || json_array_append_new (json_object_get (index, "manifests"), desc) < 0)
    return cb_error_nomem (err);
  p->index_json = json_dumps (index, JSON_COMPACT);
  return p->index_json ? 0 : cb_error_nomem (err);
}

/* Reads the manifest to list the blobs to copy and builds index.json. */
static int
plan_export (struct cb_store *store, const char *digest, const char *name, struct export_plan *p,
             cbuild_error *err)
{
  cleanup_free char *data = NULL;
  cleanup_json json_t *manifest = NULL;
  const char *media_type;
  json_error_t jerr;
  size_t len;

  if (cb_store_read_blob (store, digest, MANIFEST_MAX, &data, &len, err) < 0)
    return -1;
  manifest = json_loadb (data, len, 0, &jerr);
  if (!json_is_object (manifest))
    return cb_error_set (err, CBUILD_ERR_INVALID, "manifest '%s' is not a JSON object", digest);
  media_type = json_string_value (json_object_get (manifest, "mediaType"));
  if (media_type == NULL)
    media_type = CB_MEDIA_OCI_MANIFEST;
  if (strcmp (media_type, CB_MEDIA_OCI_INDEX) == 0 || strcmp (media_type, CB_MEDIA_DOCKER_LIST) == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "'%s' is an image index; only a single-platform manifest can be exported",
                         digest);

  if (plan_add_blob (store, p, digest, err) < 0 || plan_add_manifest_blobs (store, p, manifest, err) < 0)
    return -1;
  return plan_set_index (p, media_type, digest, len, name, err);
}

static int
open_blob (struct cb_store *store, const char *digest, off_t *size, cbuild_error *err)
{
  cleanup_free char *path = cb_store_blob_path (store, digest);
  cleanup_close int fd = -1;
  struct stat st;

  if (path == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid digest '%s'", digest);
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) < 0)
    return cb_error_sys (err, errno, "open blob '%s'", digest);
  *size = st.st_size;
  return cb_steal_fd (&fd);
}

/* Passes the blob's bytes to sink and fails with CBUILD_ERR_DIGEST when
 * they do not match digest. */
static int
stream_blob (int fd, const char *digest, blob_sink_fn sink, void *user_data, cbuild_error *err)
{
  cleanup_free char *buf = malloc (COPY_CHUNK);
  struct cb_sha256 *hash;
  char got[CB_DIGEST_SIZE];
  ssize_t n;

  if (buf == NULL)
    return cb_error_nomem (err);
  hash = cb_sha256_new (err);
  if (hash == NULL)
    return -1;
  while ((n = read (fd, buf, COPY_CHUNK)) != 0)
    {
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 || sink (user_data, buf, (size_t) n, err) < 0)
        {
          cb_sha256_free (hash);
          return n < 0 ? cb_error_sys (err, errno, "read blob '%s'", digest) : -1;
        }
      cb_sha256_update (hash, buf, (size_t) n);
    }
  cb_sha256_finish (hash, got);
  if (strcmp (got, digest) != 0)
    return cb_error_set (err, CBUILD_ERR_DIGEST, "blob '%s' in the store is corrupt: its digest is '%s'",
                         digest, got);
  return 0;
}

static int
fd_sink (void *user_data, const void *data, size_t len, cbuild_error *err)
{
  if (cb_write_all (*(int *) user_data, data, len) < 0)
    return cb_error_sys (err, errno, "write blob");
  return 0;
}

static int
copy_blob_to_dir (struct cb_store *store, const char *digest, const char *blobs_dir, cbuild_error *err)
{
  cleanup_free char *path = cb_path_join (blobs_dir, digest + strlen ("sha256:"));
  cleanup_close int src = -1;
  cleanup_close int dst = -1;
  off_t size;

  if (path == NULL)
    return cb_error_nomem (err);
  src = open_blob (store, digest, &size, err);
  if (src < 0)
    return -1;
  dst = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (dst < 0)
    return cb_error_sys (err, errno, "create '%s'", path);
  if (stream_blob (src, digest, fd_sink, &dst, err) < 0)
    return -1;
  if (fsync (dst) < 0)
    return cb_error_sys (err, errno, "sync '%s'", path);
  return 0;
}

static int
fsync_path (const char *path, cbuild_error *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);

  if (fd < 0 || fsync (fd) < 0)
    return cb_error_sys (err, errno, "sync '%s'", path);
  return 0;
}

static int
write_layout_dir (struct cb_store *store, const struct export_plan *p, const char *dir,
                  cbuild_error *err)
{
  cleanup_free char *oci_layout = cb_path_join (dir, "oci-layout");
  cleanup_free char *index = cb_path_join (dir, "index.json");
  cleanup_free char *blobs = cb_path_join (dir, "blobs");
  cleanup_free char *blobs_sha = cb_path_join (dir, "blobs/sha256");

  if (oci_layout == NULL || index == NULL || blobs == NULL || blobs_sha == NULL)
    return cb_error_nomem (err);
  if (chmod (dir, 0755) < 0)
    return cb_error_sys (err, errno, "change the mode of '%s'", dir);
  if (cb_write_file_atomic (oci_layout, OCI_LAYOUT_JSON, strlen (OCI_LAYOUT_JSON), 0644, err) < 0
      || cb_write_file_atomic (index, p->index_json, strlen (p->index_json), 0644, err) < 0
      || cb_mkdir_p (blobs_sha, 0755, err) < 0)
    return -1;

  for (size_t i = 0; i < p->blobs.len; i++)
    if (copy_blob_to_dir (store, p->blobs.items[i], blobs_sha, err) < 0)
      return -1;
  if (fsync_path (blobs_sha, err) < 0 || fsync_path (blobs, err) < 0)
    return -1;
  return fsync_path (dir, err);
}

/* Puts the finished layout at dest. An existing layout there is swapped
 * out atomically and removed. Any other existing directory is kept,
 * because replacing it could delete unrelated files (dest=$HOME). */
static int
replace_dir (const char *tmp, const char *dest, cbuild_error *err)
{
  cleanup_free char *marker = cb_path_join (dest, "oci-layout");

  if (rename (tmp, dest) == 0)
    return 0;
  if (errno != EEXIST && errno != ENOTEMPTY)
    return cb_error_sys (err, errno, "rename '%s' to '%s'", tmp, dest);
  if (marker == NULL)
    return cb_error_nomem (err);
  if (access (marker, F_OK) < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "'%s' exists and is not an OCI layout: remove it or choose another destination",
                         dest);
  if (renameat2 (AT_FDCWD, tmp, AT_FDCWD, dest, RENAME_EXCHANGE) < 0)
    return cb_error_sys (err, errno, "replace '%s'", dest);
  return cb_remove_tree (tmp, err);
}

/* Splits dest into its parent directory and last component (malloc'd). */
static int
split_dest (const char *dest, char **parent, char **base, cbuild_error *err)
{
  cleanup_free char *a = strdup (dest);
  cleanup_free char *b = strdup (dest);

  if (a == NULL || b == NULL)
    return cb_error_nomem (err);
  *parent = strdup (dirname (a));
  *base = strdup (basename (b));
  if (*parent == NULL || *base == NULL)
    return cb_error_nomem (err);
  return 0;
}

static int
export_dir (struct cb_store *store, const struct export_plan *p, const char *dest, cbuild_error *err)
{
  cleanup_free char *parent = NULL;
  cleanup_free char *base = NULL;
  cleanup_free char *prefix = NULL;
  cleanup_free char *tmp = NULL;

  if (split_dest (dest, &parent, &base, err) < 0)
    return -1;
  if (asprintf (&prefix, ".%s.export", base) < 0)
    return cb_error_nomem (err);
  tmp = cb_make_temp_dir (parent, prefix, err);
  if (tmp == NULL)
    return -1;
  if (write_layout_dir (store, p, tmp, err) < 0 || replace_dir (tmp, dest, err) < 0)
    {
      cb_remove_tree (tmp, NULL);
      return -1;
    }
  return 0;
}

static int
tar_sink (void *user_data, const void *data, size_t len, cbuild_error *err)
{
  struct archive *ar = user_data;

  if (archive_write_data (ar, data, len) != (la_ssize_t) len)
    return cb_error_set (err, CBUILD_ERR_SYSTEM, "write tar: %s", cb_archive_error (ar));
  return 0;
}

/* Writes a header; times and owners are fixed so the archive depends on
 * the image only. */
static int
tar_header (struct archive *ar, const char *path, mode_t mode, int64_t size, cbuild_error *err)
{
  struct archive_entry *e = archive_entry_new ();
  int r;

  if (e == NULL)
    return cb_error_nomem (err);
  archive_entry_set_pathname (e, path);
  archive_entry_set_mode (e, mode);
  archive_entry_set_size (e, S_ISDIR (mode) ? 0 : size);
  archive_entry_set_mtime (e, 0, 0);
  r = archive_write_header (ar, e);
  archive_entry_free (e);
  if (r != ARCHIVE_OK)
    return cb_error_set (err, CBUILD_ERR_SYSTEM, "write tar header for '%s': %s", path,
                         cb_archive_error (ar));
  return 0;
}

static int
tar_add_bytes (struct archive *ar, const char *path, const char *data, cbuild_error *err)
{
  size_t len = strlen (data);

  if (tar_header (ar, path, S_IFREG | 0644, (int64_t) len, err) < 0)
    return -1;
  return tar_sink (ar, data, len, err);
}

static int
tar_add_blob (struct cb_store *store, struct archive *ar, const char *digest, cbuild_error *err)
{
  cleanup_free char *path = NULL;
  cleanup_close int fd = -1;
  off_t size;

  if (asprintf (&path, "blobs/sha256/%s", digest + strlen ("sha256:")) < 0)
    return cb_error_nomem (err);
  fd = open_blob (store, digest, &size, err);
  if (fd < 0 || tar_header (ar, path, S_IFREG | 0644, size, err) < 0)
    return -1;
  return stream_blob (fd, digest, tar_sink, ar, err);
}

static int
write_layout_tar_entries (struct cb_store *store, const struct export_plan *p, struct archive *ar,
                          cbuild_error *err)
{
  if (tar_add_bytes (ar, "oci-layout", OCI_LAYOUT_JSON, err) < 0
      || tar_add_bytes (ar, "index.json", p->index_json, err) < 0
      || tar_header (ar, "blobs/", S_IFDIR | 0755, 0, err) < 0
      || tar_header (ar, "blobs/sha256/", S_IFDIR | 0755, 0, err) < 0)
    return -1;
  for (size_t i = 0; i < p->blobs.len; i++)
    if (tar_add_blob (store, ar, p->blobs.items[i], err) < 0)
      return -1;
  if (archive_write_close (ar) != ARCHIVE_OK)
    return cb_error_set (err, CBUILD_ERR_SYSTEM, "finish tar: %s", cb_archive_error (ar));
  return 0;
}

static int
write_layout_tar (struct cb_store *store, const struct export_plan *p, int fd, cbuild_error *err)
{
  struct archive *ar = archive_write_new ();
  int ret = -1;

  if (ar == NULL)
    return cb_error_nomem (err);
  if (archive_write_set_format_pax_restricted (ar) != ARCHIVE_OK
      || archive_write_add_filter_none (ar) != ARCHIVE_OK
      || archive_write_open_fd (ar, fd) != ARCHIVE_OK)
    cb_error_set (err, CBUILD_ERR_SYSTEM, "set up the tar writer: %s", cb_archive_error (ar));
  else
    ret = write_layout_tar_entries (store, p, ar, err);
  archive_write_free (ar);
  return ret;
}

static int
export_tar (struct cb_store *store, const struct export_plan *p, const char *dest, cbuild_error *err)
{
  cleanup_free char *tmp = NULL;
  int fd, ret;

  if (asprintf (&tmp, "%s.tmp-XXXXXX", dest) < 0)
    return cb_error_nomem (err);
  fd = mkostemp (tmp, O_CLOEXEC);
  if (fd < 0)
    return cb_error_sys (err, errno, "create '%s'", tmp);

  ret = fchmod (fd, 0644) < 0 ? cb_error_sys (err, errno, "change the mode of '%s'", tmp) : 0;
  if (ret == 0)
    ret = write_layout_tar (store, p, fd, err);
  if (ret == 0 && fsync (fd) < 0)
    ret = cb_error_sys (err, errno, "sync '%s'", tmp);
  if (ret == 0 && rename (tmp, dest) < 0)
    ret = cb_error_sys (err, errno, "rename '%s' to '%s'", tmp, dest);
  close (fd);
  if (ret < 0)
    unlink (tmp);
  return ret;
}

int
cb_layout_export (struct cb_store *store, const char *manifest_digest, const char *name,
                  const char *dest, bool as_tar, cbuild_error *err)
{
  struct export_plan plan = { CB_STRV_INIT, NULL };
  int ret;

  if (!cb_digest_valid (manifest_digest))
    return cb_error_set (err, CBUILD_ERR_INVALID, "export: invalid manifest digest '%s'",
                         manifest_digest ? manifest_digest : "");
  ret = plan_export (store, manifest_digest, name, &plan, err);
  if (ret == 0)
    ret = as_tar ? export_tar (store, &plan, dest, err) : export_dir (store, &plan, dest, err);
  plan_release (&plan);
  if (ret < 0)
    return cb_error_prefix (err, "export '%s' to '%s'", manifest_digest, dest);
  return 0;
}
