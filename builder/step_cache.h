/* The build cache as the file-system steps use it: a key per step from
 * its inputs, a lookup that reuses the recorded layer, and the record
 * written after a step ran. */
#ifndef CBUILD_BUILDER_STEP_CACHE_H
#define CBUILD_BUILDER_STEP_CACHE_H

#include <stdbool.h>

#include "builder/build.h"
#include "builder/cache.h"
#include "builder/copy.h"
#include "parser/dockerfile.h"

/* RUN: the command, its environment (without secrets: a secret's value
 * never reaches a key), the user, working directory and platform, and the
 * --mount, --network and --security flags as written. */
int cb_step_key_run (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                     const struct cb_strv *argv, const struct cb_strv *env, char key[CB_DIGEST_SIZE],
                     cbuild_error *err);

/* COPY and ADD: the expanded arguments and flags, the content of the
 * selected context files (or the source stage's key for --from), the
 * fields of the files ADD downloaded (remote, see struct cb_add_urls) and
 * the heredoc bodies. */
int cb_step_key_copy (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                      const struct cb_copy_request *req, const char *from_key, const struct cb_strv *remote,
                      const struct cb_heredoc *const *docs, size_t n_docs, char key[CB_DIGEST_SIZE],
                      cbuild_error *err);

/* WORKDIR: the directory and the user who owns what it creates. */
int cb_step_key_workdir (struct cb_build *b, struct cb_stage *st, const char *dir, const char *user,
                         char key[CB_DIGEST_SIZE], cbuild_error *err);

/* Looks key up; on a hit adds the recorded layer (or empty history entry)
 * to the stage's image with created_by, logs CACHED, and sets *hit. */
int cb_step_cache_use (struct cb_build *b, struct cb_stage *st, const char *key, const char *created_by,
                       bool *hit, cbuild_error *err);

/* Records key as the stage's latest step and derives the parent of its
 * next step's key from key and the layer's diff_id (NULL for no layer). */
void cb_step_cache_advance (struct cb_stage *st, const char *key, const char *diff_id);

#endif
