/* cbuild parse: prints the Dockerfile's syntax tree. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

static void
print_instruction (json_t *ins, const char *indent)
{
  size_t i;
  json_t *item;

  printf ("%s%" JSON_INTEGER_FORMAT ": %s", indent, json_integer_value (json_object_get (ins, "line")),
          json_string_value (json_object_get (ins, "cmd")));
  json_array_foreach (json_object_get (ins, "flags"), i, item)
    printf (" %s", json_string_value (item));
  if (json_is_true (json_object_get (ins, "json")))
    printf (" (exec form)");
  json_array_foreach (json_object_get (ins, "args"), i, item)
    printf (" [%s]", json_string_value (item));
  printf ("\n");
  json_array_foreach (json_object_get (ins, "heredocs"), i, item)
    printf ("%s    <<%s\n%s", indent, json_string_value (json_object_get (item, "name")),
            json_string_value (json_object_get (item, "content")));
  if (json_is_object (json_object_get (ins, "next")))
    print_instruction (json_object_get (ins, "next"), "    ");
}

/* One line per instruction: "LINE: cmd flags [arg] [arg]", heredoc bodies
 * and ONBUILD triggers indented below it. */
static void
print_plain (const char *text)
{
  json_t *root = json_loads (text, 0, NULL);
  size_t i;
  json_t *ins;

  json_array_foreach (json_object_get (root, "instructions"), i, ins)
    print_instruction (ins, "");
  json_decref (root);
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
  if (json)
    printf ("%s\n", out);
  else
    print_plain (out);
  free (out);
  return 0;
}
