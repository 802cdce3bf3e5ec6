/* "Did you mean" hints: the candidate within a small edit distance of a
 * misspelt word. */
#include <stdlib.h>
#include <string.h>

#include "parser/internal.h"

/* A longer word gets no hint, which bounds the quadratic distance work. */
#define SUGGEST_MAX_LEN 256

static size_t
levenshtein (const char *a, const char *b)
{
  size_t la = strlen (a), lb = strlen (b);
  size_t *row = calloc (lb + 1, sizeof *row);
  size_t result;

  if (row == NULL)
    return (size_t) -1;
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++)
    {
      size_t diag = row[0];
      row[0] = i;
      for (size_t j = 1; j <= lb; j++)
        {
          size_t up = row[j];
          size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
          size_t best = diag + cost;
          if (up + 1 < best)
            best = up + 1;
          if (row[j - 1] + 1 < best)
            best = row[j - 1] + 1;
          row[j] = best;
          diag = up;
        }
    }
  result = row[lb];
  free (row);
  return result;
}

const char *
cb_suggest (const char *word, const char *const *candidates, size_t n)
{
  const char *best = NULL;
  size_t best_distance = 3;
  size_t len = strlen (word);

  /* Long garbage gets no hint, and a hint must share most of the word. */
  if (len == 0 || len > 64)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      size_t d = levenshtein (word, candidates[i]);
      if (d < best_distance && d < len)
        {
          best_distance = d;
          best = candidates[i];
        }
    }
  return best;
}

const char *
cb_suggest_closest (const char *word, const char *const *candidates, size_t n, size_t *budget)
{
  const char *best = NULL;
  size_t best_distance = 3;
  size_t len = strlen (word);

  if (len == 0 || len > SUGGEST_MAX_LEN)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      size_t clen = strlen (candidates[i]);
      size_t d;

      if (strcmp (word, candidates[i]) == 0)
        return NULL;
      /* The distance is at least the difference in length. */
      if (clen > SUGGEST_MAX_LEN || clen + 2 < len || len + 2 < clen)
        continue;
      if (*budget < len * clen)
        return NULL;
      *budget -= len * clen;
      d = levenshtein (word, candidates[i]);
      if (d < best_distance)
        {
          best_distance = d;
          best = candidates[i];
        }
    }
  return best;
}
