/* Dockerfile syntax tree. Pure code: the parser reads a buffer, never files. */
#ifndef CBUILD_PARSER_DOCKERFILE_H
#define CBUILD_PARSER_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <cbuild/cbuild.h>

struct cb_heredoc
{
  char *name;    /* delimiter word, quotes removed */
  char *content; /* body lines, each ending in '\n'; tabs stripped for <<- */
  bool expand;   /* false when the delimiter was quoted */
  bool chomp;    /* true for <<- */
};

struct cb_instruction
{
  char *cmd;     /* lower-case keyword: "from", "run", ... */
  int line;      /* 1-based line of the keyword */
  int end_line;  /* last line, after continuations and heredoc bodies */
  char **flags;  /* "--chown=1:1" as written, before substitution */
  size_t n_flags;
  bool json;     /* exec (JSON array) form */
  /* Arguments before variable substitution. Shell-form RUN, CMD, ENTRYPOINT
   * and SHELL: one string, continuation lines joined as docker joins them.
   * Exec form: the JSON array's strings. ENV and LABEL: alternating names
   * and values, quotes and escapes kept as written (the legacy "ENV k v"
   * form gives one name and the rest of the line as its value). HEALTHCHECK:
   * "CMD" or "NONE" followed by the command words. Others: the
   * whitespace-separated words. */
  char **args;
  size_t n_args;
  struct cb_heredoc *heredocs;
  size_t n_heredocs;
  struct cb_instruction *next; /* ONBUILD: the triggered instruction */
  char *original;              /* the instruction's source text, lines joined */
};

struct cb_dockerfile
{
  char escape;  /* '\\' or '`' */
  char *syntax; /* the "syntax" directive, or NULL */
  char *check;  /* the "check" directive, or NULL */
  struct cb_instruction *instructions;
  size_t n_instructions;
};

/* Parses text (len bytes; need not be NUL-terminated). name is the file name
 * used in messages ("Dockerfile"). Errors have CBUILD_ERR_PARSE and read
 * "Dockerfile:12: unknown instruction 'RUNN'". */
int cb_dockerfile_parse (const char *text, size_t len, const char *name,
                         struct cb_dockerfile **out, cbuild_error *err);
void cb_dockerfile_free (struct cb_dockerfile *df);

/* Returns the value of flag "--name" (the text after '='), NULL when the
 * instruction does not have it; for a bare "--name" returns "". */
const char *cb_instruction_flag (const struct cb_instruction *ins, const char *name);

#endif
