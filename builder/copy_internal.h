/* Parts of COPY and ADD shared by builder/copy*.c. */
#ifndef CBUILD_BUILDER_COPY_INTERNAL_H
#define CBUILD_BUILDER_COPY_INTERNAL_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "builder/copy.h"
#include "builder/copy_rootfs.h"
#include "common/strv.h"

/* The owner and mode that --chown and --chmod request. */
struct cb_copy_meta
{
  bool chown_set;
  uid_t uid;
  gid_t gid;
  bool chmod_set;
  mode_t mode;
};

/* The owner of the missing parent directories that COPY creates: root,
 * or the --chown user, as BuildKit's MkdirAll gives them. */
struct cb_inroot_owner cb_copy_parent_owner (const struct cb_copy_meta *meta);

/* Cleans a source into a context path: "/x", "./x" and "../x" are all "x",
 * and the context itself is "." (malloc'd; NULL when out of memory). */
char *cb_copy_context_path (const char *source);

/* Returns (malloc'd) the context path that fd (opened below the context,
 * whose real path is context_real) really is, after symlinks:
 * .dockerignore applies to that path too. */
char *cb_copy_resolved_path (const char *context_real, int fd, const char *rel, cbuild_error *err);

/* copy_match.c: wildcards as Go's filepath.Match takes them. */

/* True when pattern has a '*', '?' or '[' not escaped by '\'. */
bool cb_copy_has_wildcard (const char *pattern);

/* Sets *matched; fails with CBUILD_ERR_INVALID on a malformed pattern. */
int cb_copy_match (const char *pattern, const char *name, bool *matched, cbuild_error *err);

/* True when rel (relative to the context) is not part of the context that
 * .dockerignore leaves: excluded, unless it is a directory that an
 * exception pattern may re-include something below. */
bool cb_copy_ignored (const struct cb_ignore *ig, const char *rel, bool is_dir);

/* Reads the names in dir_fd other than "." and "..", sorted bytewise as
 * Go's os.ReadDir sorts them; path names the directory in errors. */
int cb_copy_read_dir (int dir_fd, const char *path, struct cb_strv *names, cbuild_error *err);

/* Appends to out, sorted, the context paths that pattern (context-relative,
 * cleaned) matches and that are not ignored. */
int cb_copy_expand (int context_fd, const struct cb_ignore *ig, const char *pattern, struct cb_strv *out,
                    cbuild_error *err);

/* copy_tree.c: writing entries below a directory of the rootfs. Every
 * dest_dir_fd was opened through cb_inroot_*, and names are single path
 * components written without following a symlink, so nothing lands outside
 * the rootfs. dest_path is the entry's path in the image, for messages. */

/* Copies the regular file src_fd (with stat st) to dest_name. */
int cb_copy_regular (int src_fd, const struct stat *st, int dest_dir_fd, const char *dest_name,
                     const char *dest_path, const struct cb_copy_meta *meta, cbuild_error *err);

/* Removes dest_name unless it is missing; a directory is kept and fails
 * with "cannot replace", because a file or link cannot take its place. */
int cb_copy_clear_entry (int dest_dir_fd, const char *dest_name, const char *dest_path, cbuild_error *err);

struct cb_copy_walk
{
  int root_fd; /* the rootfs */
  const struct cb_ignore *ig;
  const struct cb_ignore *exclude; /* matched relative to the source directory */
  const struct cb_copy_meta *meta;
};

/* Copies the entries of the context directory src_dir_fd (whose path in
 * the context is src_rel, "" for the root) into dest_dir_fd. */
int cb_copy_dir_contents (const struct cb_copy_walk *walk, int src_dir_fd, const char *src_rel, int dest_dir_fd,
                          const char *dest_path, cbuild_error *err);

/* copy_archive.c: ADD of a local tar archive. */

/* Extracts src_fd into the rootfs directory dest_dir when it is a tar
 * archive, plain or compressed with gzip, bzip2, xz or zstd, as Docker
 * detects it: by content, not by name. Returns 1 after extracting, 0 when
 * the file is no archive (nothing was written), -1 on failure. */
int cb_copy_extract_archive (int src_fd, const char *src_name, int root_fd, const char *dest_dir,
                             const struct cb_copy_meta *meta, cbuild_error *err);

#endif
