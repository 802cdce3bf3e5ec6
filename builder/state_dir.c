#include "builder/state_dir.h"

#include <stdio.h>
#include <stdlib.h>

#include "common/error.h"

char *
cb_state_dir_default (cbuild_error *err)
{
  const char *xdg = getenv ("XDG_DATA_HOME");
  const char *home = getenv ("HOME");
  char *root = NULL;
  int n;

  if (xdg && xdg[0] == '/')
    n = asprintf (&root, "%s/cbuild", xdg);
  else if (home && home[0] == '/')
    n = asprintf (&root, "%s/.local/share/cbuild", home);
  else
    {
      cb_error_set (err, CBUILD_ERR_INVALID,
                    "cannot choose a state directory: neither XDG_DATA_HOME nor HOME is set (pass --root DIR)");
      return NULL;
    }
  if (n < 0)
    {
      cb_error_nomem (err);
      return NULL;
    }
  return root;
}
