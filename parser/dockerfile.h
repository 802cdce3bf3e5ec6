/* Dockerfile syntax tree. Pure code: the parser reads a buffer, never files. */
#ifndef CBUILD_PARSER_DOCKERFILE_H
#define CBUILD_PARSER_DOCKERFILE_H

#include <stdbool.h>
#include <stddef.h>

#include <cbuild/cbuild.h>

/* Bounds on what one Dockerfile may make the parser hold. A file, a line or
 * an instruction past them is a CBUILD_ERR_PARSE error naming the bound. */
#define CB_DOCKERFILE_MAX_SIZE ((size_t) 16 << 20)          /* whole file */
#define CB_DOCKERFILE_MAX_LINE 65535                        /* physical line, as BuildKit */
#define CB_DOCKERFILE_MAX_INSTRUCTION ((size_t) 1 << 20)    /* continuations joined */
#define CB_DOCKERFILE_MAX_INSTRUCTIONS 100000
#define CB_DOCKERFILE_MAX_WORDS 16384                       /* arguments or flags */
#define CB_DOCKERFILE_MAX_HEREDOCS 64                       /* per instruction */

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
  char *keyword; /* the keyword as written: "FROM", "from", "From" */
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
   * "CMD" or "NONE" followed by the command words. USER, WORKDIR,
   * STOPSIGNAL and MAINTAINER: the rest of the line as one string, as
   * BuildKit takes it ("WORKDIR /my dir" is one path). ONBUILD: the trigger
   * as the image config stores it, with heredoc bodies appended. ARG: the
   * words, split on unquoted spaces with quotes kept. Others (FROM, EXPOSE,
   * shell-form COPY, ADD and VOLUME): the whitespace-separated words. */
  char **args;
  size_t n_args;
  struct cb_heredoc *heredocs;
  size_t n_heredocs;
  struct cb_instruction *next; /* ONBUILD: the triggered instruction */
  char *original;              /* the instruction's source text, lines joined */
  bool legacy_kv;              /* ENV or LABEL in the legacy "name value" form */
  bool empty_continuation;     /* a blank line inside the continuation lines */
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
 * used in messages ("Dockerfile"). Errors have CBUILD_ERR_PARSE. An error
 * at a place in the file is three lines: "Dockerfile:12:1: unknown
 * instruction 'RUNN' (did you mean RUN?)" (file, line, column counted in
 * characters), the source line, and a caret under the column. Tabs and
 * control characters of the source line show as ' ' and '?', and a long
 * line shows as a window around the column with "..." at the cut ends. */
int cb_dockerfile_parse (const char *text, size_t len, const char *name,
                         struct cb_dockerfile **out, cbuild_error *err);
void cb_dockerfile_free (struct cb_dockerfile *df);

/* Returns the value of flag "--name" (the text after '='), NULL when the
 * instruction does not have it; for a bare "--name" returns "". name may be
 * given with or without the leading "--". A repeated flag (--mount,
 * --exclude) returns its first value; walk ins->flags for the others. */
const char *cb_instruction_flag (const struct cb_instruction *ins, const char *name);

/* Returns the heredoc that an argument such as "<<EOF" or "<<-'EOF'" opens
 * in ins, or NULL when arg is not a heredoc word. */
const struct cb_heredoc *cb_instruction_heredoc_for_arg (const struct cb_instruction *ins,
                                                         const char *arg);

/* Returns the parse tree as JSON (malloc'ed, NULL when out of memory). The
 * shape is described in docs/parse-json.md. */
char *cb_dockerfile_to_json (const struct cb_dockerfile *df);

/* A RUN --mount value, such as "type=cache,target=/root/.cache,sharing=locked". */
struct cb_run_mount
{
  char *type;     /* "bind" (default), "cache", "tmpfs", "secret" or "ssh" */
  char *target;   /* NULL when not given */
  char *source;
  char *from;
  char *id;
  char *sharing;  /* cache only: "shared", "private" or "locked" */
  char *env;      /* secret only: environment variable to set */
  bool readonly;  /* default true for bind, secret and ssh, false for cache and tmpfs */
  bool required;  /* secret and ssh only */
  long mode;      /* -1 when not given */
  long uid;       /* -1 when not given */
  long gid;       /* -1 when not given */
  long long size; /* tmpfs bytes, -1 when not given */
};

/* Parses an expanded --mount value. The parser checks every --mount when
 * it reads the Dockerfile, but leaves values that contain '$' to be checked
 * after substitution by this function. */
int cb_run_mount_parse (const char *spec, struct cb_run_mount *out, cbuild_error *err);
void cb_run_mount_release (struct cb_run_mount *m);

#endif
