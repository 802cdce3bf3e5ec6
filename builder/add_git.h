/* ADD of a git repository ("https://host/repo.git#ref:subdir", git@, git://
 * or ssh://), through the git command. The ref is resolved to a commit
 * before the step's cache key, so a hit clones nothing. */
#ifndef CBUILD_BUILDER_ADD_GIT_H
#define CBUILD_BUILDER_ADD_GIT_H

#include <stdbool.h>

#include "builder/build.h"
#include "builder/copy.h"

/* One repository source of an ADD. */
struct cb_add_git
{
  char *url;    /* without the #fragment */
  char *ref;    /* branch, tag or commit; NULL for the remote's HEAD */
  char *subdir; /* the directory of the repository to add, or NULL */
  char commit[41];
  char *dir;    /* the checkout under the work directory, after cb_add_git_checkout */
};

/* Parses source and resolves its ref to a commit with `git ls-remote`
 * (a full commit id is taken as it is). */
int cb_add_git_resolve (const char *source, struct cb_add_git *out, cbuild_error *err);

/* Fetches the commit into a new directory under the build's work
 * directory, checks it out, and removes .git unless keep_git_dir. */
int cb_add_git_checkout (struct cb_build *b, struct cb_add_git *git, bool keep_git_dir, cbuild_error *err);

/* Copies the checkout (its subdir when the source names one) as like
 * copies a directory source: its contents go to like's destination. */
int cb_add_git_copy (const struct cb_add_git *git, const struct cb_copy_request *like, cbuild_error *err);

/* Removes the checkout and frees git. Safe on a zeroed value. */
void cb_add_git_release (struct cb_add_git *git);

#endif
