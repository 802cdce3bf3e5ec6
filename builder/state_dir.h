/* The default state directory. */
#ifndef CBUILD_BUILDER_STATE_DIR_H
#define CBUILD_BUILDER_STATE_DIR_H

#include <cbuild/cbuild.h>

/* Returns (malloc'd) $XDG_DATA_HOME/cbuild, else ~/.local/share/cbuild. */
char *cb_state_dir_default (cbuild_error *err);

#endif
