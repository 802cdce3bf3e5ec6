/* UTF-8 decoding and Unicode spaces, matching what Go's standard library
 * does where BuildKit relies on it. */
#include <stdlib.h>
#include <string.h>

#include "parser/internal.h"

static size_t
utf8_invalid (int32_t *rune)
{
  *rune = CB_RUNE_ERROR;
  return 1;
}

size_t
cb_utf8_decode (const char *s, size_t len, int32_t *rune)
{
  const unsigned char *u = (const unsigned char *) s;
  size_t need;
  int32_t r, min;

  if (len == 0)
    return utf8_invalid (rune);
  if (u[0] < 0x80)
    {
      *rune = u[0];
      return 1;
    }
  if (u[0] >= 0xC2 && u[0] <= 0xDF)
    need = 2, r = u[0] & 0x1F, min = 0x80;
  else if (u[0] >= 0xE0 && u[0] <= 0xEF)
    need = 3, r = u[0] & 0x0F, min = 0x800;
  else if (u[0] >= 0xF0 && u[0] <= 0xF4)
    need = 4, r = u[0] & 0x07, min = 0x10000;
  else
    return utf8_invalid (rune);
  if (len < need)
    return utf8_invalid (rune);
  for (size_t i = 1; i < need; i++)
    {
      if ((u[i] & 0xC0) != 0x80)
        return utf8_invalid (rune);
      r = (r << 6) | (u[i] & 0x3F);
    }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
    return utf8_invalid (rune);
  *rune = r;
  return need;
}

bool
cb_rune_is_space (int32_t r)
{
  switch (r)
    {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
    case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
    case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
    }
}

size_t
cb_space_at (const char *s, size_t len)
{
  int32_t r;
  size_t n;

  if (len == 0)
    return 0;
  n = cb_utf8_decode (s, len, &r);
  return cb_rune_is_space (r) ? n : 0;
}

void
cb_trim_left_space (const char **s, size_t *len)
{
  size_t n;

  while ((n = cb_space_at (*s, *len)) > 0)
    {
      *s += n;
      *len -= n;
    }
}

size_t
cb_utf8_decode_last (const char *s, size_t end, int32_t *rune)
{
  size_t start = end - 1;

  while (start > 0 && end - start < 4 && ((unsigned char) s[start] & 0xC0) == 0x80)
    start--;
  /* An invalid sequence decodes shorter than it looks: its last byte is
   * one U+FFFD then. */
  if (start + cb_utf8_decode (s + start, end - start, rune) == end)
    return end - start;
  *rune = CB_RUNE_ERROR;
  return 1;
}

void
cb_trim_space (const char **s, size_t *len)
{
  cb_trim_left_space (s, len);
  while (*len > 0)
    {
      int32_t r;
      size_t n = cb_utf8_decode_last (*s, *len, &r);

      if (!cb_rune_is_space (r))
        break;
      *len -= n;
    }
}

bool
cb_is_blank (char c)
{
  return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}
