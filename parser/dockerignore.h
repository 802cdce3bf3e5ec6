/* .dockerignore patterns, matched as Docker matches them: Go filepath.Match
 * syntax plus "**", "!" exceptions, and the last matching pattern wins. */
#ifndef CBUILD_PARSER_DOCKERIGNORE_H
#define CBUILD_PARSER_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include <cbuild/cbuild.h>

struct cb_ignore;

/* Parses the file's text. Comments (#), blank lines and surrounding spaces
 * are dropped; patterns are cleaned like Go filepath.Clean and leading '/'
 * removed. Empty text gives a matcher that excludes nothing. */
int cb_ignore_parse (const char *text, size_t len, struct cb_ignore **out, cbuild_error *err);
/* Builds a matcher from patterns given one by one, as COPY --exclude takes
 * them: no comments and no line splitting, otherwise as in the file. */
int cb_ignore_from_patterns (const char *const *patterns, size_t n, struct cb_ignore **out, cbuild_error *err);
void cb_ignore_free (struct cb_ignore *ig);

/* True when path (relative to the context, '/'-separated, no leading "./")
 * is excluded. A path is also excluded when one of its parent directories
 * is, unless an exception pattern re-includes it. */
bool cb_ignore_excluded (const struct cb_ignore *ig, const char *path);

/* True when some "!" exception pattern could match a path below dir, so a
 * walker must descend into an excluded dir instead of skipping it. */
bool cb_ignore_may_include_below (const struct cb_ignore *ig, const char *dir);

#endif
