/* COPY and ADD from the build context into a step's root file system. */
#ifndef CBUILD_BUILDER_COPY_H
#define CBUILD_BUILDER_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/strv.h"
#include "parser/dockerignore.h"

struct cb_copy_request
{
  const char *context_dir;
  const struct cb_ignore *ignore; /* may be NULL */
  /* COPY --exclude patterns, matched against paths relative to each source
   * directory as BuildKit matches them, so the sources themselves are never
   * excluded. May be NULL. */
  const struct cb_ignore *exclude;
  const struct cb_strv *exclude_patterns; /* the same patterns, for cache keys; may be NULL */
  const char *const *sources;     /* relative to the context, after expansion; may hold wildcards */
  size_t n_sources;
  const char *dest;    /* after expansion; relative destinations are under workdir */
  const char *workdir; /* the stage's WORKDIR, absolute */
  const char *rootfs;  /* the mounted root file system to write into */
  bool chown_set;      /* otherwise files are owned by 0:0 */
  uid_t uid;
  gid_t gid;
  bool chmod_set;
  mode_t mode;
  bool is_add; /* ADD: local tar archives are extracted into dest */
  bool keep_archives; /* ADD --unpack=false: archives are copied as files */
  bool literal_sources; /* sources are file names, never wildcard patterns */
  /* COPY --parents: each source keeps its path in the context below dest,
   * or the part after a "/./" pivot in the source as written. */
  bool parents;
  const char *source_name; /* names the source tree in messages; NULL: "the build context" */
};

/* Copies as docker build does: a directory source copies its contents, a
 * destination ending in '/' (or several sources) is a directory, missing
 * parents are created. Sources are resolved inside the context and never
 * leave it (a symlink that points out fails); excluded files are skipped, and
 * a source that is excluded or missing fails naming the path. Writes into
 * rootfs never leave it: symlinks in the destination path resolve inside
 * rootfs. */
int cb_copy_from_context (const struct cb_copy_request *req, cbuild_error *err);

#endif
