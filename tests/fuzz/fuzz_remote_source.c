/* Fuzz target: the names and parts that ADD takes from a URL or a git
 * source. The input is one source as a Dockerfile would give it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/remote_source.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *source = strndup ((const char *) data, size);
  char *name, *url = NULL, *ref = NULL, *subdir = NULL;
  cbuild_error err = { 0 };

  if (source == NULL)
    return 0;
  (void) cb_remote_is_url (source);
  (void) cb_remote_is_git (source);
  name = cb_remote_file_name (source);
  /* The name becomes a file in the download directory, so it must stay
   * one path component that cannot climb out of it. */
  if (name && (name[0] == '\0' || strchr (name, '/') || strcmp (name, ".") == 0 || strcmp (name, "..") == 0))
    abort ();
  free (name);
  if (cb_remote_git_parse (source, &url, &ref, &subdir, &err) == 0 && (url == NULL || url[0] == '-'))
    abort ();
  free (url);
  free (ref);
  free (subdir);
  free (source);
  return 0;
}
