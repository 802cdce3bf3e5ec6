/* Sources that ADD fetches instead of reading them from the build context:
 * http(s) URLs and git repositories. */
#ifndef CBUILD_PARSER_REMOTE_SOURCE_H
#define CBUILD_PARSER_REMOTE_SOURCE_H

#include <stdbool.h>

#include <cbuild/cbuild.h>

/* True for the sources that ADD downloads: http:// and https:// URLs. */
bool cb_remote_is_url (const char *source);

/* True for a source that BuildKit clones as a git repository: git@,
 * git:// and ssh:// addresses, and URLs whose path ends in ".git". */
bool cb_remote_is_git (const char *source);

/* Returns (malloc'd) the name ADD gives a downloaded file: the last
 * segment of the URL's path after percent decoding, as BuildKit takes it
 * with Go's path.Base, or "__unnamed__" when the path has none. "." and
 * ".." are "__unnamed__" too, so that a name never points out of a
 * directory. NULL when out of memory. */
char *cb_remote_file_name (const char *url);

/* Returns (malloc'd) source with the password of a "scheme://user:password@"
 * URL replaced by "xxxxx", as BuildKit redacts it, for history entries and
 * messages. Other sources come back unchanged. NULL when out of memory. */
char *cb_remote_redact (const char *source);

/* Splits a git source "URL#REF:SUBDIR" into its parts (malloc'd; ref and
 * subdir NULL when not given). A URL or ref starting with '-' is invalid,
 * because git would take it for an option. */
int cb_remote_git_parse (const char *source, char **url, char **ref, char **subdir, cbuild_error *err);

#endif
