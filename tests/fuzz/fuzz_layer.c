/* Fuzz target: layer extraction, which reads tar entries (compressed or
 * not) from any registry. Each input is written to a file and extracted
 * into a fresh directory; nothing may be written outside it. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "layers/layer.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
remove_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  (void) st;
  (void) ftw;
  return type == FTW_DP ? rmdir (path) : unlink (path);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char dir[] = "/tmp/cbuild-fuzz-layer-XXXXXX";
  char blob[64], dest[64];
  char diff_id[CB_DIGEST_SIZE];
  cbuild_error err = { 0 };
  FILE *f;

  if (mkdtemp (dir) == NULL)
    return 0;
  snprintf (blob, sizeof blob, "%s/blob", dir);
  snprintf (dest, sizeof dest, "%s/dest", dir);
  f = fopen (blob, "wb");
  if (f && fwrite (data, 1, size, f) == size && fclose (f) == 0 && mkdir (dest, 0755) == 0)
    (void) cb_layer_extract (blob, dest, diff_id, &err);
  else if (f)
    fclose (f);
  nftw (dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}
