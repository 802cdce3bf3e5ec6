/* Internal to layers/: libarchive's error message, never NULL. */
#ifndef CBUILD_LAYERS_ARCHIVE_ERROR_H
#define CBUILD_LAYERS_ARCHIVE_ERROR_H

#include <archive.h>

static inline const char *
cb_archive_error (struct archive *a)
{
  const char *msg = archive_error_string (a);

  return msg ? msg : "unknown libarchive error";
}

#endif
