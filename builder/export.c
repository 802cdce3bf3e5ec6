#include "builder/export.h"

#include <stdlib.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "layers/oci_layout.h"
#include "registry/reference.h"

static int
write_outputs (struct cb_build *b, const char *digest, const char *name, cbuild_error *err)
{
  for (size_t i = 0; i < b->opts->n_outputs; i++)
    {
      const struct cb_output_spec *out = &b->opts->outputs[i];

      cb_log (b->log, CBUILD_LOG_INFO, "writing OCI %s to %s", out->tar ? "archive" : "layout", out->dest);
      if (cb_layout_export (b->store, digest, name, out->dest, out->tar, err) < 0)
        return cb_error_prefix (err, "write output '%s'", out->dest);
    }
  return 0;
}

/* Every name is parsed before anything is tagged, so that one invalid
 * name leaves no tag behind. */
static int
parse_tags (struct cb_build *b, struct cb_reference **refs, cbuild_error *err)
{
  const struct cb_strv *tags = &b->opts->tags;

  *refs = calloc (tags->len ? tags->len : 1, sizeof **refs);
  if (*refs == NULL)
    return cb_error_nomem (err);
  for (size_t i = 0; i < tags->len; i++)
    {
      if (cb_reference_parse (tags->items[i], &(*refs)[i], err) < 0)
        return cb_error_prefix (err, "tag");
      if ((*refs)[i].digest != NULL)
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid tag '%s': a tag cannot contain a digest",
                             tags->items[i]);
    }
  return 0;
}

static void
release_refs (struct cb_reference *refs, size_t n)
{
  if (refs == NULL)
    return;
  for (size_t i = 0; i < n; i++)
    cb_reference_release (&refs[i]);
  free (refs);
}

/* Pushes first and tags the local store last, so that a build whose push
 * fails leaves no new name behind. */
static int
push_and_tag (struct cb_build *b, struct cb_reference *refs, const char *digest, int64_t size,
              cbuild_error *err)
{
  size_t n = b->opts->tags.len;

  for (size_t i = 0; b->opts->push && i < n; i++)
    if (cb_registry_push (b->registry, &refs[i], b->store, digest, err) < 0)
      return -1;
  for (size_t i = 0; i < n; i++)
    {
      cleanup_free char *name = cb_reference_format (&refs[i]);
      if (name == NULL)
        return cb_error_nomem (err);
      if (cb_layout_tag (b->store, name, digest, size, CB_MEDIA_OCI_MANIFEST, err) < 0)
        return cb_error_prefix (err, "tag '%s'", name);
    }
  return 0;
}

int
cb_export_image (struct cb_build *b, const char *manifest_digest, int64_t manifest_size, cbuild_error *err)
{
  struct cb_reference *refs = NULL;
  cleanup_free char *first_name = NULL;
  int ret;

  if (b->opts->push && b->opts->tags.len == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "--push needs at least one -t NAME to push to");
  ret = parse_tags (b, &refs, err);
  if (ret == 0 && b->opts->tags.len > 0)
    {
      first_name = cb_reference_format (&refs[0]);
      if (first_name == NULL)
        ret = cb_error_nomem (err);
    }
  if (ret == 0)
    ret = write_outputs (b, manifest_digest, first_name, err);
  if (ret == 0)
    ret = push_and_tag (b, refs, manifest_digest, manifest_size, err);
  release_refs (refs, b->opts->tags.len);
  return ret;
}
