/* Image references as Docker reads them: "debian:bookworm-slim" is
 * "docker.io/library/debian:bookworm-slim". */
#ifndef CBUILD_REGISTRY_REFERENCE_H
#define CBUILD_REGISTRY_REFERENCE_H

#include <cbuild/cbuild.h>

struct cb_reference
{
  char *domain; /* "docker.io", "127.0.0.1:5000", "ghcr.io" */
  char *path;   /* "library/debian", "org/app" */
  char *tag;    /* "latest" when neither tag nor digest was given; NULL when only a digest was */
  char *digest; /* "sha256:<hex>", or NULL */
};

/* Parses and normalizes s. Fails with CBUILD_ERR_INVALID naming s and the
 * part that is wrong (uppercase repository, bad tag, bad digest). */
int cb_reference_parse (const char *s, struct cb_reference *out, cbuild_error *err);
void cb_reference_release (struct cb_reference *ref);

/* "domain/path:tag", "domain/path@digest" or "domain/path:tag@digest"
 * (malloc'd; NULL when out of memory). */
char *cb_reference_format (const struct cb_reference *ref);

/* "domain/path" (malloc'd). */
char *cb_reference_repository (const struct cb_reference *ref);

#endif
