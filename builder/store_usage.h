/* Disk usage and pruning of the state directory: what the tagged images
 * and the build cache keep alive, and what can go. */
#ifndef CBUILD_BUILDER_STORE_USAGE_H
#define CBUILD_BUILDER_STORE_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/strv.h"
#include "layers/store.h"

struct cb_cache_ref
{
  char *path;      /* the entry file */
  int64_t last_used; /* its mtime: written on record, touched on every hit */
  char digest[72]; /* layer blob, "" for an empty step */
  char diff_id[72];
};

struct cb_usage_scan
{
  struct cb_strv image_blobs;    /* digests the tagged images need */
  struct cb_strv image_diff_ids; /* their layers' diffIDs (snapshots) */
  struct cb_cache_ref *entries;  /* cache entries, oldest first */
  size_t n_entries;
};

/* Reads index.json, the manifests and configs it names, and the cache
 * entries. */
int cb_usage_scan (struct cb_store *store, struct cb_usage_scan *scan, cbuild_error *err);
void cb_usage_scan_release (struct cb_usage_scan *scan);

/* Bytes used by a file or a tree (allocated blocks, without following
 * symlinks); 0 when it is missing. */
int64_t cb_tree_size (const char *path);

#endif
