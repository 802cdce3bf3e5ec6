/* Helpers shared by the parser's files, not part of any public interface. */
#ifndef CBUILD_PARSER_INTERNAL_H
#define CBUILD_PARSER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/strv.h"
#include "parser/dockerfile.h"

/* UTF-8, decoded as Go decodes it: an invalid or truncated sequence, an
 * overlong form or a surrogate counts as one byte of U+FFFD. */
#define CB_RUNE_ERROR 0xFFFD

size_t cb_utf8_decode (const char *s, size_t len, int32_t *rune);
/* Decodes the rune that ends at s[end - 1] (end > 0) and returns its length. */
size_t cb_utf8_decode_last (const char *s, size_t end, int32_t *rune);
/* Go's unicode.IsSpace. */
bool cb_rune_is_space (int32_t r);
/* Length of the Unicode space at s, or 0 when s does not start with one. */
size_t cb_space_at (const char *s, size_t len);
/* Go's strings.TrimSpace and bytes.TrimLeftFunc(unicode.IsSpace). */
void cb_trim_space (const char **s, size_t *len);
void cb_trim_left_space (const char **s, size_t *len);
/* The ASCII blanks that BuildKit's splitting regexp [\t\v\f\r ] contains. */
bool cb_is_blank (char c);

/* Suggestions (parser/suggest.c). For the parser's "did you mean" hints:
 * the candidate at the smallest Levenshtein distance from word, or NULL
 * when none is close enough. */
const char *cb_suggest (const char *word, const char *const *candidates, size_t n);
/* BuildKit's suggest.Search, for the build checks' hints: the first
 * candidate at the smallest Levenshtein distance from word when that is 1
 * or 2, and NULL when a candidate equals word or none is that close. Each
 * distance costs the product of the two lengths from *budget, and no hint
 * comes once the budget is spent. */
const char *cb_suggest_closest (const char *word, const char *const *candidates, size_t n, size_t *budget);

/* BuildKit's shell lexer. Options other than escape exist for heredoc
 * detection, which lexes with quotes and escapes kept and unset variables
 * left as written. */
struct cb_lex_opts
{
  char escape;
  bool raw_quotes;
  bool raw_escapes;
  bool skip_unset;
  bool skip_quotes; /* quotes are plain characters, as for heredoc bodies */
  /* Optional: each variable name the text looks up is added once to
   * matched when env has it and to unmatched when not, as BuildKit's
   * ProcessWordWithMatches reports them to its build checks. Each list
   * takes at most CB_LEX_MAX_NAMES names, which bounds the work. */
  struct cb_strv *matched;
  struct cb_strv *unmatched;
};

#define CB_LEX_MAX_NAMES 256

/* Lexes len bytes of word. result (optional) gets the whole expanded text,
 * words (optional) the text split into words. */
int cb_lex_process (const char *word, size_t len, const struct cb_lex_opts *opts,
                    const struct cb_strv *env, char **result, struct cb_strv *words,
                    cbuild_error *err);

/* Shell patterns of ${V#p}, ${V%p} and ${V/p/r}: '*' and '?' are wildcards
 * that do not match a newline, as Go's regexp '.' does not. */
struct cb_pattern;
int cb_pattern_compile (const char *pattern, struct cb_pattern **out, cbuild_error *err);
void cb_pattern_free (struct cb_pattern *p);
/* Removes the shortest (or longest) matching prefix or suffix of value.
 * Each rune read costs the pattern's length from *budget, and the search
 * fails when the budget runs out. */
int cb_pattern_trim (const struct cb_pattern *p, const char *value, bool suffix, bool longest,
                     size_t *budget, struct cb_buf *out, cbuild_error *err);
/* Replaces the first (or every) leftmost-longest match in value, with the
 * same budget as cb_pattern_trim. */
int cb_pattern_replace (const struct cb_pattern *p, const char *value, const char *replacement,
                        bool all, size_t *budget, struct cb_buf *out, cbuild_error *err);

/* Dockerfile words (parser/words.c). */

/* BuildKit's parseWords: splits on Unicode spaces, keeping quotes and
 * escapes in the words. */
int cb_df_words (const char *text, char escape, struct cb_strv *out, cbuild_error *err);
/* Splits on runs of [\t\v\f\r ] into at most max_parts parts, the last
 * one taking the rest (max_parts 0 means no limit). */
int cb_df_split_blank (const char *text, size_t max_parts, struct cb_strv *out, cbuild_error *err);
/* Takes leading "--flag" words off text (quotes removed, '\' escapes
 * resolved) and returns where the arguments start. */
int cb_df_extract_flags (const char *text, struct cb_strv *flags, const char **rest,
                         cbuild_error *err);

/* Parses text as Go's json.Unmarshal into []any would. Returns 1 and the
 * strings when text is a JSON array of strings, and 0 when text is not valid
 * JSON, so the caller falls back to shell form. Valid JSON that is not an
 * array of strings returns -1 with an error. */
int cb_json_string_array (const char *text, size_t len, struct cb_strv *out, cbuild_error *err);

/* Heredocs (parser/heredoc.c). */

/* Parses one word such as "<<EOF", "<<-'EOF'" or "3<<EOF". *found is false
 * when the word is not a heredoc. */
int cb_heredoc_from_word (const char *word, struct cb_heredoc *out, bool *found, cbuild_error *err);
/* Finds every heredoc that a RUN, COPY or ADD line opens, in order. */
int cb_heredocs_from_line (const char *line, struct cb_heredoc **docs, size_t *n,
                           cbuild_error *err);
void cb_heredoc_release (struct cb_heredoc *doc);

/* The place in the source that a parse error points at (parser/error_at.c). */
struct cb_df_site
{
  int line;          /* physical line, 1-based */
  int last_line;     /* last physical line the subject may be on */
  size_t column;     /* 1-based byte column on line when known, else 0 */
  /* Text the error is about, looked up without regard to case after the
   * first word of line and then on the lines after it. "" (or text not
   * found) points at the first word of line. */
  char subject[128];
};

struct cb_df_reader;

/* Turns the message in err into "FILE:LINE:COLUMN: message", the source
 * line and a caret line (described at cb_dockerfile_parse). Returns -1. */
int cb_df_error_at (const struct cb_df_reader *r, const struct cb_df_site *site, cbuild_error *err);

/* Instructions (parser/instructions.c). */

struct cb_df_line
{
  const char *file;  /* name for messages */
  const char *text;  /* the logical line, continuations joined */
  int line;
  int end_line;
  char escape;
  struct cb_df_site *site; /* optional: the subject of a failure */
};

/* Parses one logical line into ins (zeroed by the caller). Errors name no
 * location: the caller adds it from line->site. */
int cb_df_parse_instruction (const struct cb_df_line *line, struct cb_instruction *ins,
                             cbuild_error *err);
/* Returns the instruction that reads heredoc bodies after this line: a
 * shell-form RUN, COPY or ADD, or such an ONBUILD trigger; else NULL. */
struct cb_instruction *cb_df_heredoc_target (struct cb_instruction *ins);
void cb_instruction_release (struct cb_instruction *ins);

/* Parses a --mount value (parser/mount.c). With defer_vars, values that
 * contain '$' are kept unchecked for after substitution. */
int cb_run_mount_parse_spec (const char *spec, bool defer_vars, struct cb_run_mount *out,
                             cbuild_error *err);

/* Flags (parser/flags.c): checks ins->flags against what ins->cmd takes.
 * On failure *bad is the index of the flag at fault. */
int cb_df_check_flags (const struct cb_instruction *ins, size_t *bad, cbuild_error *err);

/* Directives (parser/directives.c). */

struct cb_df_directives
{
  bool done;
  bool seen_escape;
  char escape;
  char *syntax;
  char *check;
};

/* Reads one line of the file's head. *is_directive is set when the line is
 * a parser directive, and a repeated or invalid directive is an error. */
int cb_df_directive_line (struct cb_df_directives *d, const char *line, size_t len,
                          bool *is_directive, cbuild_error *err);

/* Lines (parser/lines.c). */

struct cb_df_reader
{
  const char *file; /* name for messages */
  const char *text;
  size_t len;
  size_t pos;
  int line; /* physical lines read so far */
  struct cb_df_directives directives;
  bool empty_continuation; /* the last logical line had a blank continuation line */
};

/* Reads the next instruction's logical line: comments and blank lines
 * skipped, continuation lines joined. *found is false at the end. */
int cb_df_read_logical (struct cb_df_reader *r, struct cb_buf *out, int *start_line, bool *found,
                        cbuild_error *err);
/* Reads a heredoc's body up to its delimiter line into doc->content.
 * opener is where an unterminated heredoc's error points. */
int cb_df_read_heredoc (struct cb_df_reader *r, struct cb_heredoc *doc, const struct cb_df_site *opener,
                        cbuild_error *err);

/* The value of one hexadecimal digit, or -1 for another character. */
int cb_hex_digit_value (char c);

#endif
