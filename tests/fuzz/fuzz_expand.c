/* Fuzz target: variable substitution. The first byte picks the escape
 * character, and the rest is the word, expanded whole and split into words. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/expand.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const env_items[] = {
  "A=a", "EMPTY=", "SPACES= x  y ", "PATH=/usr/local/bin:/usr/bin", "FILE=archive.tar.gz",
  "NL=a\nb", "STAR=*?*", "DOLLAR=$0$$", "UTF8=h\xC3\xA9llo", "BARE",
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct cb_strv env = CB_STRV_INIT;
  struct cb_strv words = CB_STRV_INIT;
  cbuild_error err = { 0 };
  char *word, *out = NULL;
  char escape;

  if (size == 0)
    return 0;
  escape = data[0] & 1 ? '`' : '\\';
  word = strndup ((const char *) data + 1, size - 1);
  if (word == NULL)
    return 0;
  for (size_t i = 0; i < sizeof env_items / sizeof env_items[0]; i++)
    cb_strv_push (&env, env_items[i], NULL);
  if (cb_expand_word (word, escape, &env, &out, &err) == 0)
    free (out);
  (void) cb_expand_words (word, escape, &env, &words, &err);
  cb_strv_release (&words);
  cb_strv_release (&env);
  free (word);
  return 0;
}
