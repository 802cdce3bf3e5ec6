/* Names in the store's index.json. Every update holds an exclusive flock
 * on ROOT/index.json.lock and replaces index.json with a rename, so
 * readers need no lock and concurrent taggers lose no entry. */
#include "layers/oci_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/oci_index.h"

#define INDEX_MAX ((size_t) 64 << 20)
#define NAME_MAX_LEN 4096

json_t *
cb_oci_descriptor_new (const char *media_type, const char *digest, int64_t size, const char *name)
{
  json_t *desc = json_pack ("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest,
                            "size", (json_int_t) size);

  if (desc && name
      && json_object_set_new (desc, "annotations",
                              json_pack ("{s:s}", CB_ANNOTATION_REF_NAME, name)) < 0)
    {
      json_decref (desc);
      return NULL;
    }
  return desc;
}

json_t *
cb_oci_index_new (void)
{
  return json_pack ("{s:i, s:s, s:[]}", "schemaVersion", 2, "mediaType", CB_MEDIA_OCI_INDEX,
                    "manifests");
}

static char *
index_path (const struct cb_store *store, const char *suffix, cbuild_error *err)
{
  char *path = NULL;

  if (asprintf (&path, "%s/index.json%s", store->root, suffix) < 0)
    {
      cb_error_nomem (err);
      return NULL;
    }
  return path;
}

/* Returns the descriptor's ref.name annotation, or NULL. */
static const char *
descriptor_name (json_t *desc)
{
  return json_string_value (json_object_get (json_object_get (desc, "annotations"),
                                             CB_ANNOTATION_REF_NAME));
}

/* Loads index.json. *manifests points into the returned object. */
static json_t *
load_index (const struct cb_store *store, json_t **manifests, cbuild_error *err)
{
  cleanup_free char *path = index_path (store, "", err);
  cleanup_free char *data = NULL;
  json_error_t jerr;
  size_t len;
  json_t *index;

  if (path == NULL || cb_read_file (path, INDEX_MAX, &data, &len, err) < 0)
    return NULL;
  index = json_loadb (data, len, 0, &jerr);
  if (index == NULL)
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "'%s' is not valid JSON: line %d: %s", path, jerr.line,
                    jerr.text);
      return NULL;
    }
  *manifests = json_object_get (index, "manifests");
  if (!json_is_array (*manifests))
    {
      cb_error_set (err, CBUILD_ERR_INVALID, "'%s' has no \"manifests\" array", path);
      json_decref (index);
      return NULL;
    }
  return index;
}

static int
save_index (const struct cb_store *store, json_t *index, cbuild_error *err)
{
  cleanup_free char *path = index_path (store, "", err);
  cleanup_free char *data = NULL;

  if (path == NULL)
    return -1;
  data = json_dumps (index, JSON_COMPACT);
  if (data == NULL)
    return cb_error_nomem (err);
  return cb_write_file_atomic (path, data, strlen (data), 0644, err);
}

/* Returns a descriptor that holds an exclusive lock on the index. The
 * lock is released when the descriptor is closed. */
static int
lock_index (const struct cb_store *store, cbuild_error *err)
{
  cleanup_free char *path = index_path (store, ".lock", err);
  cleanup_close int fd = -1;

  if (path == NULL)
    return -1;
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return cb_error_sys (err, errno, "open '%s'", path);
  while (flock (fd, LOCK_EX) < 0)
    if (errno != EINTR)
      return cb_error_sys (err, errno, "lock '%s'", path);
  return cb_steal_fd (&fd);
}

static void
remove_named (json_t *manifests, const char *name)
{
  for (size_t i = json_array_size (manifests); i-- > 0;)
    {
      const char *n = descriptor_name (json_array_get (manifests, i));
      if (n && strcmp (n, name) == 0)
        json_array_remove (manifests, i);
    }
}

static int
check_name (const char *name, cbuild_error *err)
{
  if (name == NULL || name[0] == '\0' || strlen (name) > NAME_MAX_LEN)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid image name '%s'", name ? name : "");
  return 0;
}

int
cb_layout_tag (struct cb_store *store, const char *name, const char *manifest_digest,
               int64_t manifest_size, const char *media_type, cbuild_error *err)
{
  cleanup_close int lock = -1;
  cleanup_json json_t *index = NULL;
  json_t *manifests = NULL, *desc;

  if (check_name (name, err) < 0)
    return -1;
  if (!cb_digest_valid (manifest_digest) || manifest_size < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "tag '%s': invalid manifest digest '%s'", name,
                         manifest_digest ? manifest_digest : "");
  lock = lock_index (store, err);
  if (lock < 0)
    return cb_error_prefix (err, "tag '%s'", name);
  index = load_index (store, &manifests, err);
  if (index == NULL)
    return cb_error_prefix (err, "tag '%s'", name);

  remove_named (manifests, name);
  desc = cb_oci_descriptor_new (media_type ? media_type : CB_MEDIA_OCI_MANIFEST, manifest_digest,
                                manifest_size, name);
  if (desc == NULL || json_array_append_new (manifests, desc) < 0)
    return cb_error_nomem (err);
  if (save_index (store, index, err) < 0)
    return cb_error_prefix (err, "tag '%s'", name);
  return 0;
}

int
cb_layout_lookup (struct cb_store *store, const char *name, char digest[CB_DIGEST_SIZE],
                  cbuild_error *err)
{
  cleanup_json json_t *index = NULL;
  json_t *manifests = NULL;

  if (check_name (name, err) < 0)
    return -1;
  index = load_index (store, &manifests, err);
  if (index == NULL)
    return cb_error_prefix (err, "look up '%s'", name);
  for (size_t i = json_array_size (manifests); i-- > 0;)
    {
      json_t *desc = json_array_get (manifests, i);
      const char *n = descriptor_name (desc);
      const char *d = json_string_value (json_object_get (desc, "digest"));
      if (n == NULL || strcmp (n, name) != 0)
        continue;
      if (!cb_digest_valid (d))
        return cb_error_set (err, CBUILD_ERR_INVALID, "look up '%s': invalid digest in index.json",
                             name);
      memcpy (digest, d, CB_DIGEST_SIZE);
      return 0;
    }
  return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "image '%s' not found in '%s'", name, store->root);
}
