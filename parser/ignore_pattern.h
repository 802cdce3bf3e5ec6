/* One compiled .dockerignore pattern (parser/ignore_pattern.c), internal
 * to the parser. */
#ifndef CBUILD_PARSER_IGNORE_PATTERN_H
#define CBUILD_PARSER_IGNORE_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#include <cbuild/cbuild.h>

/* The comparison patternmatcher picks for a pattern: exact text, a prefix
 * (a pattern that ends in "**"), a suffix (one that starts with "**") or a
 * regexp. */
enum cb_glob_type
{
  CB_GLOB_EXACT,
  CB_GLOB_PREFIX,
  CB_GLOB_SUFFIX,
  CB_GLOB_REGEXP,
};

struct glob_token;

struct cb_glob
{
  char *text; /* the cleaned pattern */
  enum cb_glob_type type;
  struct glob_token *tokens;
  size_t n;
};

/* False when Go's filepath.Match would reject the pattern's syntax. */
bool cb_glob_syntax_ok (const char *pattern);
int cb_glob_compile (const char *pattern, struct cb_glob *g, cbuild_error *err);
void cb_glob_release (struct cb_glob *g);
bool cb_glob_match (const struct cb_glob *g, const char *path);

#endif
