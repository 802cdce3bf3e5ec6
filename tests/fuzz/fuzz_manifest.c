/* Fuzz target: the registry's manifest and index parser, which reads what
 * any registry sends. */
#include <stdint.h>

#include "registry/manifest.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const char *const content_types[] = {
    NULL,
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
  };
  struct cb_manifest m;
  cbuild_error err = { 0 };

  for (size_t i = 0; i < sizeof content_types / sizeof content_types[0]; i++)
    if (cb_manifest_parse ((const char *) data, size, content_types[i], &m, &err) == 0)
      cb_manifest_release (&m);
  return 0;
}
