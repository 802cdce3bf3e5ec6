/* Parts of the file-system steps shared by builder/step_fs.c (RUN and
 * WORKDIR) and builder/step_copy.c (COPY and ADD). */
#ifndef CBUILD_BUILDER_STEP_FS_H
#define CBUILD_BUILDER_STEP_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/build.h"

/* One step's overlay: the stage's layers below a fresh upper directory. */
struct fs_step
{
  char *dir;    /* parent of the directories below */
  char *upper;  /* becomes the layer */
  char *work;   /* overlay's work directory */
  char *merged; /* the root file system the step changes */
  char **lowers; /* the snapshot directories below it, top first */
  size_t n_lowers;
  bool mounted;
};

/* Unmounts the overlay, removes its directories and zeroes fs. */
void cb_fs_step_release (struct fs_step *fs);

/* Mounts an overlay of img's layers (extracted when not yet on disk) with
 * a fresh upper directory under the build's work directory. */
int cb_fs_step_mount (struct cb_build *b, struct cb_image *img, struct fs_step *fs, cbuild_error *err);

/* Unmounts the step and records its upper directory as a layer, or as an
 * empty_layer history entry when the step changed nothing, and records the
 * result in the cache under key. */
int cb_fs_step_commit (struct cb_build *b, struct cb_stage *st, struct fs_step *fs, const char *created_by,
                       const char *key, cbuild_error *err);

/* The stage's WORKDIR, "/" when the image sets none. */
const char *cb_stage_workdir (struct cb_stage *st);

#endif
