/* Content digests of COPY and ADD sources, for cache keys. */
#ifndef CBUILD_BUILDER_COPY_HASH_H
#define CBUILD_BUILDER_COPY_HASH_H

#include <stddef.h>

#include "builder/file_digests.h"
#include "common/digest.h"
#include "parser/dockerignore.h"

/* Feeds h with what a COPY of sources (as cb_copy_from_context takes them,
 * with exclude as its --exclude patterns or NULL) would copy: each selected path relative to the context, its type and
 * permission bits, symlink targets and the SHA-256 of each file, in a fixed
 * order. Owners and times are left out, because COPY replaces the owner
 * and mtimes do not change content. A source that is missing, excluded by
 * .dockerignore or outside the context fails as the copy would. */
int cb_copy_hash_sources (const char *context_dir, const struct cb_ignore *ig, const struct cb_ignore *exclude,
                          const char *const *sources, size_t n_sources, struct cb_file_digests *rec,
                          struct cb_sha256 *h, cbuild_error *err);

#endif
