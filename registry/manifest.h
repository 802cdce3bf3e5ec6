/* Image manifests and indexes (OCI and Docker schema 2), parsed for the
 * descriptors the client follows. Private to registry/. */
#ifndef CBUILD_REGISTRY_MANIFEST_H
#define CBUILD_REGISTRY_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "common/digest.h"

enum cb_manifest_kind
{
  CB_MANIFEST_IMAGE,
  CB_MANIFEST_INDEX, /* an OCI index or a Docker manifest list */
};

struct cb_descriptor
{
  char digest[CB_DIGEST_SIZE];
  int64_t size;
  char *media_type; /* "" when the descriptor has none */
  char *os;         /* index entries: the platform, NULL when absent */
  char *arch;
  char *variant;
};

struct cb_manifest
{
  enum cb_manifest_kind kind;
  const char *media_type;       /* a static string: one of the four known types */
  struct cb_descriptor config;  /* image manifests */
  struct cb_descriptor *items;  /* the layers, or the index's manifests */
  size_t n_items;
};

/* Parses body, taking its media type from its "mediaType" field, else
 * from content_type (may be NULL), else from its shape. Rejects Docker
 * schema 1, unknown media types and digests other than sha256. */
int cb_manifest_parse (const char *body, size_t len, const char *content_type, struct cb_manifest *out,
                       cbuild_error *err);
void cb_manifest_release (struct cb_manifest *m);

#endif
