/* Runs a fuzz target over files instead of generated inputs, so that each
 * target also builds as a plain program: every argument is a file or a
 * directory of files (a corpus), and each file is one input. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* Corpus files are small, so a larger one is a mistake, not an input. */
#define REPLAY_MAX_FILE ((size_t) 64 << 20)

static int
replay_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  struct stat st;
  uint8_t *data;
  size_t n;

  if (f == NULL || fstat (fileno (f), &st) < 0)
    {
      fprintf (stderr, "replay: open '%s': %s\n", path, strerror (errno));
      if (f)
        fclose (f);
      return -1;
    }
  if ((size_t) st.st_size > REPLAY_MAX_FILE)
    {
      fprintf (stderr, "replay: '%s' is larger than %zu bytes\n", path, REPLAY_MAX_FILE);
      fclose (f);
      return -1;
    }
  /* One spare byte, so that an empty file still has a valid pointer. */
  data = malloc ((size_t) st.st_size + 1);
  n = data ? fread (data, 1, (size_t) st.st_size, f) : 0;
  fclose (f);
  if (data == NULL || n != (size_t) st.st_size)
    {
      fprintf (stderr, "replay: read '%s' failed\n", path);
      free (data);
      return -1;
    }
  LLVMFuzzerTestOneInput (data, n);
  free (data);
  return 0;
}

static int
replay_dir (const char *dir, int *count)
{
  DIR *d = opendir (dir);
  struct dirent *e;
  int ret = 0;

  if (d == NULL)
    {
      fprintf (stderr, "replay: open '%s': %s\n", dir, strerror (errno));
      return -1;
    }
  while ((e = readdir (d)) != NULL)
    {
      char path[4096];

      if (e->d_name[0] == '.')
        continue;
      snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
      if (replay_file (path) < 0)
        ret = -1;
      else
        (*count)++;
    }
  closedir (d);
  return ret;
}

int
main (int argc, char **argv)
{
  int count = 0, failed = 0;

  for (int i = 1; i < argc; i++)
    {
      struct stat st;

      if (stat (argv[i], &st) == 0 && S_ISDIR (st.st_mode))
        failed |= replay_dir (argv[i], &count) < 0;
      else if (replay_file (argv[i]) < 0)
        failed = 1;
      else
        count++;
    }
  if (count == 0)
    {
      fprintf (stderr, "replay: no inputs\n");
      return 1;
    }
  printf ("replayed %d inputs\n", count);
  return failed;
}
