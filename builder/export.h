/* Handing a built image to its outputs: OCI archives and directories, the
 * local image store's tags, and registries. */
#ifndef CBUILD_BUILDER_EXPORT_H
#define CBUILD_BUILDER_EXPORT_H

#include <stdint.h>

#include "builder/build.h"

/* Writes every --output, then tags the image in the local store under each
 * -t name, then pushes every name when push is set. The image's blobs are
 * already in the store. */
int cb_export_image (struct cb_build *b, const char *manifest_digest, int64_t manifest_size,
                     cbuild_error *err);

#endif
