/* Internal to layers/: OCI index JSON shared by tagging and export. */
#ifndef CBUILD_LAYERS_OCI_INDEX_H
#define CBUILD_LAYERS_OCI_INDEX_H

#include <stdint.h>

#include <jansson.h>

#include <cbuild/cbuild.h>

static inline void
cb_json_decrefp (json_t **j)
{
  json_decref (*j);
}
#define cleanup_json __attribute__ ((cleanup (cb_json_decrefp)))

/* Returns a new descriptor object {mediaType, digest, size} with the
 * ref.name annotation when name is not NULL, or NULL when out of memory. */
json_t *cb_oci_descriptor_new (const char *media_type, const char *digest, int64_t size,
                               const char *name);

/* Returns a new, empty OCI image index, or NULL when out of memory. */
json_t *cb_oci_index_new (void);

#endif
