/* Variable substitution as BuildKit's shell lexer does it for Dockerfile
 * instructions: $V ${V} ${V:-w} ${V-w} ${V:+w} ${V+w} ${V:?m} ${V?m}
 * ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}, quotes and escapes. */
#ifndef CBUILD_PARSER_EXPAND_H
#define CBUILD_PARSER_EXPAND_H

#include "common/strv.h"

/* Bounds on what one expansion may use: ${...} nested deeper than this, or
 * a result (or one word) larger than this, is an error. */
#define CB_EXPAND_MAX_DEPTH 64
#define CB_EXPAND_MAX_SIZE ((size_t) 16 << 20)
/* Work one expansion may do: bytes produced by ${...} plus pattern
 * matching steps (runes read times pattern length). An estimate of a few
 * seconds at most; real Dockerfiles use a tiny fraction of it. */
#define CB_EXPAND_MAX_WORK (1 << 28)

/* Expands one word and removes its quotes (as for WORKDIR, USER, ENV
 * values). env is a "NAME=value" list; an unset variable expands to "".
 * escape is the Dockerfile's escape character. Syntax errors and ${V:?}
 * failures have CBUILD_ERR_PARSE and read "failed to process '${V:?}': V:
 * is not allowed to be unset". A result over CB_EXPAND_MAX_SIZE, or more
 * work than CB_EXPAND_MAX_WORK, fails with CBUILD_ERR_INVALID. */
int cb_expand_word (const char *word, char escape, const struct cb_strv *env,
                    char **out, cbuild_error *err);

/* Expands text and splits the result into words on unquoted whitespace (as
 * for COPY sources, EXPOSE and VOLUME). Appends the words to out. */
int cb_expand_words (const char *text, char escape, const struct cb_strv *env,
                     struct cb_strv *out, cbuild_error *err);

#endif
