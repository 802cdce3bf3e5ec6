/* Fuzz target: .dockerignore parsing and matching. The input is the file's
 * text, then a NUL byte, then paths to match, one per line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/dockerignore.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;
  const char *nul = memchr (text, '\0', size);
  size_t text_len = nul ? (size_t) (nul - text) : size;
  struct cb_ignore *ig = NULL;
  cbuild_error err = { 0 };
  char *paths, *save = NULL;

  if (cb_ignore_parse (text, text_len, &ig, &err) < 0)
    return 0;
  paths = nul ? strndup (nul + 1, size - text_len - 1) : strdup ("a/b/c.txt\nnode_modules/x\nsrc");
  for (char *p = paths ? strtok_r (paths, "\n", &save) : NULL; p; p = strtok_r (NULL, "\n", &save))
    {
      (void) cb_ignore_excluded (ig, p);
      (void) cb_ignore_may_include_below (ig, p);
    }
  free (paths);
  cb_ignore_free (ig);
  return 0;
}
