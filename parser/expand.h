/* Variable substitution as BuildKit's shell lexer does it for Dockerfile
 * instructions: $V ${V} ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?m} ${V?m}
 * ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}, quotes and escapes. */
#ifndef CBUILD_PARSER_EXPAND_H
#define CBUILD_PARSER_EXPAND_H

#include "common/strv.h"

/* Expands one word and removes its quotes (as for WORKDIR, USER, ENV
 * values). env is a "NAME=value" list; an unset variable expands to "".
 * escape is the Dockerfile's escape character. */
int cb_expand_word (const char *word, char escape, const struct cb_strv *env,
                    char **out, cbuild_error *err);

/* Expands text and splits the result into words on unquoted whitespace (as
 * for COPY sources, EXPOSE and VOLUME). Appends the words to out. */
int cb_expand_words (const char *text, char escape, const struct cb_strv *env,
                     struct cb_strv *out, cbuild_error *err);

#endif
