/* The public entry point of the Dockerfile parser. */
#include <stdio.h>
#include <stdlib.h>

#include <cbuild/cbuild.h>

#include "parser/dockerfile.h"

char *
cbuild_parse_dockerfile_json (const char *text, size_t len, const char *name, cbuild_error *err)
{
  struct cb_dockerfile *df = NULL;
  char *json;

  if (cb_dockerfile_parse (text, len, name, &df, err) < 0)
    return NULL;
  json = cb_dockerfile_to_json (df);
  cb_dockerfile_free (df);
  if (json == NULL && err)
    {
      err->code = CBUILD_ERR_NOMEM;
      snprintf (err->message, sizeof err->message, "out of memory");
    }
  return json;
}
