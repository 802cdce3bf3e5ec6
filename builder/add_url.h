/* ADD <url>: remote files, downloaded before the step's cache key is
 * computed, because the key covers their content. */
#ifndef CBUILD_BUILDER_ADD_URL_H
#define CBUILD_BUILDER_ADD_URL_H

#include <stdbool.h>
#include <stddef.h>

#include "builder/build.h"
#include "builder/copy.h"
#include "common/strv.h"

/* The downloaded files of one ADD step. */
struct cb_add_urls
{
  char *dir;             /* a directory under the build's work directory */
  struct cb_strv names;  /* each file's name in dir, as ADD names it */
  struct cb_strv fields; /* URL, name, digest and Last-Modified of each, for the cache key */
};

/* Downloads each of urls into out->dir under the name ADD gives it: the
 * last segment of the URL's path, or "__unnamed__" when the path has
 * none. Each file gets the Last-Modified time of its response as mtime.
 * checksum, when not NULL, is --checksum's "sha256:<hex>", which a single
 * URL's content must match. On failure out is left empty. */
int cb_add_urls_fetch (struct cb_build *b, const char *const *urls, size_t n_urls, const char *checksum,
                       struct cb_add_urls *out, cbuild_error *err);

/* Copies the downloaded files as like copies its sources, to like's
 * destination with its owner, and with mode 0600 unless like sets one.
 * With unpack (ADD --unpack=true), a tar archive is extracted instead. */
int cb_add_urls_copy (const struct cb_add_urls *urls, const struct cb_copy_request *like, bool unpack,
                      cbuild_error *err);

/* Removes the downloads and frees out. Safe on a zeroed value. */
void cb_add_urls_release (struct cb_add_urls *out);

#endif
