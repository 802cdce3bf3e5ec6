/* Internal to layers/: the tree walk that turns an overlay upper directory
 * into tar entries. */
#ifndef CBUILD_LAYERS_LAYER_WALK_H
#define CBUILD_LAYERS_LAYER_WALK_H

#include <stddef.h>

#include <archive.h>

#include <cbuild/cbuild.h>

/* Writes every entry below the directory rootfd to ar, in the order and
 * form that cb_layer_create_from_dir documents. n_entries receives the
 * number of tar entries written (whiteouts and opaque markers included). */
int cb_layer_walk_tree (struct archive *ar, int rootfd, size_t *n_entries, cbuild_error *err);

#endif
