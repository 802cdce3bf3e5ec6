#include "registry/manifest.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "layers/oci_layout.h"

/* More layers or platforms than this is no real image; the bound keeps a
 * hostile manifest from allocating without end. */
#define MAX_ITEMS 4096

#define DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"

static const char *const known_types[] = {
  CB_MEDIA_OCI_INDEX, CB_MEDIA_DOCKER_LIST, CB_MEDIA_OCI_MANIFEST, CB_MEDIA_DOCKER_MANIFEST,
};

static int
schema1_error (cbuild_error *err)
{
  return cb_error_set (err, CBUILD_ERR_REGISTRY,
                       "unsupported Docker schema 1 manifest (deprecated; push the image again with a current "
                       "Docker or cbuild)");
}

/* Returns the static name of a known type, matching "type; params" too. */
static const char *
known_type (const char *s)
{
  size_t len;

  if (s == NULL)
    return NULL;
  len = strcspn (s, "; \t");
  for (size_t i = 0; i < sizeof known_types / sizeof known_types[0]; i++)
    if (strlen (known_types[i]) == len && strncmp (known_types[i], s, len) == 0)
      return known_types[i];
  return NULL;
}

static bool
is_schema1 (const char *s)
{
  return s && (strncmp (s, DOCKER_SCHEMA1, strlen (DOCKER_SCHEMA1)) == 0
               || strncmp (s, DOCKER_SCHEMA1_SIGNED, strlen (DOCKER_SCHEMA1_SIGNED)) == 0);
}

static int
detect_type (json_t *root, const char *content_type, const char **out, cbuild_error *err)
{
  const char *field = json_string_value (json_object_get (root, "mediaType"));
  json_t *version = json_object_get (root, "schemaVersion");

  if (is_schema1 (field) || is_schema1 (content_type)
      || (json_is_integer (version) && json_integer_value (version) == 1))
    return schema1_error (err);
  if (!json_is_integer (version) || json_integer_value (version) != 2)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "unsupported manifest: schemaVersion is not 2");
  if (field)
    *out = known_type (field);
  else if ((*out = known_type (content_type)) == NULL)
    {
      if (json_is_array (json_object_get (root, "manifests")))
        *out = CB_MEDIA_OCI_INDEX;
      else if (json_is_object (json_object_get (root, "config")))
        *out = CB_MEDIA_OCI_MANIFEST;
    }
  if (*out != NULL)
    return 0;
  if (field == NULL)
    field = content_type ? content_type : "(none)";
  return cb_error_set (err, CBUILD_ERR_REGISTRY, "unsupported manifest media type '%.200s'", field);
}

static char *
dup_optional (json_t *obj, const char *key)
{
  const char *s = json_string_value (json_object_get (obj, key));

  return s ? strdup (s) : NULL;
}

static int
parse_descriptor (json_t *obj, struct cb_descriptor *d, cbuild_error *err)
{
  const char *digest = json_string_value (json_object_get (obj, "digest"));
  json_t *size = json_object_get (obj, "size");
  const char *media_type = json_string_value (json_object_get (obj, "mediaType"));
  json_t *platform = json_object_get (obj, "platform");

  if (!json_is_object (obj))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid manifest: a descriptor is not an object");
  if (!cb_digest_valid (digest))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "unsupported digest '%.100s' in manifest (only sha256 is)",
                         digest ? digest : "(none)");
  if (!json_is_integer (size) || json_integer_value (size) < 0)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid manifest: descriptor %s has no valid size", digest);
  strcpy (d->digest, digest);
  d->size = json_integer_value (size);
  d->media_type = strdup (media_type ? media_type : "");
  if (d->media_type == NULL)
    return cb_error_nomem (err);
  if (json_is_object (platform))
    {
      d->os = dup_optional (platform, "os");
      d->arch = dup_optional (platform, "architecture");
      d->variant = dup_optional (platform, "variant");
    }
  return 0;
}

static void
descriptor_release (struct cb_descriptor *d)
{
  free (d->media_type);
  free (d->os);
  free (d->arch);
  free (d->variant);
  memset (d, 0, sizeof *d);
}

static int
parse_items (json_t *array, struct cb_manifest *m, cbuild_error *err)
{
  size_t n = json_array_size (array);

  if (!json_is_array (array))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid manifest: missing \"%s\" array",
                         m->kind == CB_MANIFEST_INDEX ? "manifests" : "layers");
  if (n > MAX_ITEMS)
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "manifest has %zu entries, more than %d", n, MAX_ITEMS);
  m->items = calloc (n ? n : 1, sizeof *m->items);
  if (m->items == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < n; i++)
    {
      m->n_items = i + 1;
      if (parse_descriptor (json_array_get (array, i), &m->items[i], err) < 0)
        return -1;
    }
  return 0;
}

static int
parse_root (json_t *root, const char *content_type, struct cb_manifest *m, cbuild_error *err)
{
  if (detect_type (root, content_type, &m->media_type, err) < 0)
    return -1;
  if (strcmp (m->media_type, CB_MEDIA_OCI_INDEX) == 0 || strcmp (m->media_type, CB_MEDIA_DOCKER_LIST) == 0)
    {
      m->kind = CB_MANIFEST_INDEX;
      return parse_items (json_object_get (root, "manifests"), m, err);
    }
  m->kind = CB_MANIFEST_IMAGE;
  if (!json_is_object (json_object_get (root, "config")))
    return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid manifest: missing \"config\"");
  if (parse_descriptor (json_object_get (root, "config"), &m->config, err) < 0)
    return -1;
  return parse_items (json_object_get (root, "layers"), m, err);
}

int
cb_manifest_parse (const char *body, size_t len, const char *content_type, struct cb_manifest *out,
                   cbuild_error *err)
{
  json_error_t jerr;
  json_t *root;
  int ret;

  memset (out, 0, sizeof *out);
  if (is_schema1 (content_type))
    return schema1_error (err);
  root = json_loadb (body, len, 0, &jerr);
  if (!json_is_object (root))
    {
      json_decref (root);
      return cb_error_set (err, CBUILD_ERR_REGISTRY, "invalid manifest: not a JSON object (%s)",
                           root ? "wrong type" : jerr.text);
    }
  ret = parse_root (root, content_type, out, err);
  json_decref (root);
  if (ret < 0)
    cb_manifest_release (out);
  return ret;
}

void
cb_manifest_release (struct cb_manifest *m)
{
  descriptor_release (&m->config);
  for (size_t i = 0; i < m->n_items; i++)
    descriptor_release (&m->items[i]);
  free (m->items);
  m->items = NULL;
  m->n_items = 0;
}
