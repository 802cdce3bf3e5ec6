/* cbuild parse: prints the Dockerfile's syntax tree. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbuild/cbuild.h>

#include "cli/cli.h"

#define DOCKERFILE_MAX ((size_t) 4 << 20)

static char *
read_all (FILE *f, size_t *len)
{
  size_t cap = 8192, used = 0;
  char *data = malloc (cap);

  while (data)
    {
      size_t n = fread (data + used, 1, cap - used, f);
      used += n;
      if (n == 0 || used > DOCKERFILE_MAX)
        break;
      if (used == cap)
        {
          char *grown = realloc (data, cap * 2);
          if (grown == NULL)
            {
              free (data);
              return NULL;
            }
          data = grown;
          cap *= 2;
        }
    }
  *len = used;
  return data;
}

int
cli_parse (int argc, char **argv)
{
  static const struct option options[] = {
    { "file", required_argument, NULL, 'f' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *path = "Dockerfile";
  cbuild_error err = { 0 };
  int c, json = 0;
  size_t len = 0;
  char *text, *out;
  FILE *f;

  optind = 1;
  while ((c = getopt_long (argc, argv, "f:h", options, NULL)) != -1)
    {
      if (c == 'f')
        path = optarg;
      else if (c == 'j')
        json = 1;
      else if (c == 'h')
        {
          fputs (cli_help_text (), stdout);
          return 0;
        }
      else
        return 2;
    }
  f = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
  if (f == NULL)
    {
      fprintf (stderr, "cbuild: error: cannot open Dockerfile '%s': %s\n", path, strerror (errno));
      return 1;
    }
  text = read_all (f, &len);
  if (f != stdin)
    fclose (f);
  if (text == NULL || len > DOCKERFILE_MAX)
    {
      fprintf (stderr, "cbuild: error: Dockerfile '%s' is larger than %zu bytes\n", path, DOCKERFILE_MAX);
      free (text);
      return 1;
    }
  out = cbuild_parse_dockerfile_json (text, len, strrchr (path, '/') ? strrchr (path, '/') + 1 : path, &err);
  free (text);
  if (out == NULL)
    {
      fprintf (stderr, "cbuild: error: %s\n", err.message);
      return 1;
    }
  /* TODO: the plain (non --json) output prints the same JSON. */
  (void) json;
  printf ("%s\n", out);
  free (out);
  return 0;
}
