/* Heredocs of RUN, COPY and ADD, executed as BuildKit's Dockerfile
 * frontend executes them (docker/dockerfile:1). */
#ifndef CBUILD_BUILDER_HEREDOC_H
#define CBUILD_BUILDER_HEREDOC_H

#include "builder/build.h"
#include "builder/copy.h"
#include "builder/run_mount.h"
#include "common/strv.h"
#include "parser/dockerfile.h"

/* The mount point of a RUN heredoc script with a shebang, as in BuildKit. */
#define CB_HEREDOC_PIPES_DIR "/dev/pipes"

/* Builds the shell command string (malloc'd) of a shell-form RUN that has
 * heredocs:
 * - when one heredoc is the whole command ("RUN <<EOF") and its body starts
 *   with "#!", the path of the script under CB_HEREDOC_PIPES_DIR, and
 *   *script is that heredoc, whose body the caller mounts there as an
 *   executable file named after the delimiter;
 * - when one heredoc is the whole command otherwise, its body, which the
 *   shell runs as a script;
 * - else the command line followed by each body and delimiter line, so that
 *   the shell reads the heredocs itself and expands the unquoted ones.
 * *script is NULL but in the first case. Exec form fails. */
int cb_heredoc_run_command (const struct cb_instruction *ins, char **command, const struct cb_heredoc **script,
                            cbuild_error *err);

/* Builds the content (malloc'd) of the file a COPY or ADD heredoc writes.
 * That is the body with env's variables substituted as BuildKit does it
 * there, where quotes are ordinary characters and '\' escapes the next
 * character. A quoted delimiter leaves the body as written. */
int cb_heredoc_copy_content (const struct cb_heredoc *doc, const struct cb_strv *env, char **out,
                             cbuild_error *err);

/* Fails unless the delimiter can name a file in a directory, because
 * BuildKit writes the body to a file named after it. */
int cb_heredoc_check_name (const struct cb_heredoc *doc, cbuild_error *err);

/* Fills argv for a RUN: the stage's shell with the command that
 * cb_heredoc_run_command builds when the RUN has heredocs, else the RUN's
 * usual argument vector. *script is as cb_heredoc_run_command sets it. */
int cb_heredoc_run_args (struct cb_stage *st, const struct cb_instruction *ins, struct cb_strv *argv,
                         const struct cb_heredoc **script, cbuild_error *err);

/* Writes the script's body to a scratch directory of mounts, as an
 * executable file named after its delimiter, and binds the directory
 * read-only at CB_HEREDOC_PIPES_DIR, as BuildKit mounts it. */
int cb_heredoc_mount_script (struct cb_build *b, struct cb_run_mounts *mounts, const struct cb_heredoc *script,
                             cbuild_error *err);

/* Copies COPY or ADD heredocs into base->rootfs as files (mode 0644) named
 * after their delimiters, with base's destination, owner and mode rules.
 * As in BuildKit, ADD never extracts them. */
int cb_heredoc_copy (struct cb_build *b, struct cb_stage *st, const struct cb_copy_request *base,
                     const struct cb_heredoc *const *docs, size_t n_docs, cbuild_error *err);

#endif
