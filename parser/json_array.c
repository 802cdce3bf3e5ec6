/* The exec form's JSON array, accepted exactly when Go's encoding/json
 * accepts it, because BuildKit falls back to shell form on any syntax error
 * and fails on valid JSON that is not an array of strings. jansson differs
 * from Go on invalid UTF-8 and lone surrogates, so this is a small parser of
 * its own: a validator for any JSON value plus a decoder for strings. */
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/internal.h"

/* Go's scanner gives up beyond this nesting, which is a syntax error. */
#define JSON_MAX_DEPTH 10000

struct json_reader
{
  const char *s;
  size_t len;
  size_t pos;
};

static void
skip_ws (struct json_reader *r)
{
  while (r->pos < r->len && strchr (" \t\r\n", r->s[r->pos]) && r->s[r->pos] != '\0')
    r->pos++;
}

int
cb_hex_digit_value (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static int32_t
read_u4 (const struct json_reader *r, size_t at)
{
  int32_t v = 0;

  if (at + 4 > r->len)
    return -1;
  for (size_t i = 0; i < 4; i++)
    {
      int h = cb_hex_digit_value (r->s[at + i]);
      if (h < 0)
        return -1;
      v = v * 16 + h;
    }
  return v;
}

static int
append_rune (struct cb_buf *out, int32_t r, cbuild_error *err)
{
  char b[4];
  size_t n;

  if (r < 0x80)
    b[0] = (char) r, n = 1;
  else if (r < 0x800)
    b[0] = (char) (0xC0 | (r >> 6)), b[1] = (char) (0x80 | (r & 0x3F)), n = 2;
  else if (r < 0x10000)
    b[0] = (char) (0xE0 | (r >> 12)), b[1] = (char) (0x80 | ((r >> 6) & 0x3F)),
    b[2] = (char) (0x80 | (r & 0x3F)), n = 3;
  else
    b[0] = (char) (0xF0 | (r >> 18)), b[1] = (char) (0x80 | ((r >> 12) & 0x3F)),
    b[2] = (char) (0x80 | ((r >> 6) & 0x3F)), b[3] = (char) (0x80 | (r & 0x3F)), n = 4;
  return out ? cb_buf_append (out, b, n, err) : 0;
}

/* Decodes \uXXXX at r->pos (after the 'u') and joins a surrogate pair. A
 * lone surrogate becomes U+FFFD as in Go. Returns 0 on a syntax error. */
static int
read_unicode_escape (struct json_reader *r, int32_t *rune)
{
  int32_t hi = read_u4 (r, r->pos), lo;

  if (hi < 0)
    return 0;
  r->pos += 4;
  *rune = hi;
  if (hi < 0xD800 || hi > 0xDFFF)
    return 1;
  *rune = CB_RUNE_ERROR;
  if (hi > 0xDBFF || r->pos + 6 > r->len || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u')
    return 1;
  lo = read_u4 (r, r->pos + 2);
  if (lo < 0xDC00 || lo > 0xDFFF)
    return 1;
  r->pos += 6;
  *rune = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
  return 1;
}

static int
read_escape (struct json_reader *r, struct cb_buf *out, cbuild_error *err)
{
  static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
  const char *p;
  int32_t rune;
  char c;

  if (r->pos >= r->len)
    return 0;
  c = r->s[r->pos++];
  if (c != 'u')
    {
      p = c ? strchr (from, c) : NULL;
      if (p == NULL)
        return 0;
      return out && cb_buf_append_char (out, to[p - from], err) < 0 ? -1 : 1;
    }
  if (read_unicode_escape (r, &rune) == 0)
    return 0;
  /* A C string cannot carry U+0000, which docker would pass to exec. */
  if (rune == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "JSON string contains a NUL character");
  return append_rune (out, rune, err) < 0 ? -1 : 1;
}

/* Reads a string at r->pos (the opening quote). Returns 1 when valid, 0 on a
 * syntax error, -1 on failure. out may be NULL to only validate. */
static int
read_string (struct json_reader *r, struct cb_buf *out, cbuild_error *err)
{
  r->pos++;
  while (r->pos < r->len)
    {
      unsigned char c = (unsigned char) r->s[r->pos];
      int32_t rune;
      int ret;

      if (c == '"')
        {
          r->pos++;
          return 1;
        }
      if (c < 0x20)
        return 0;
      if (c == '\\')
        {
          r->pos++;
          if ((ret = read_escape (r, out, err)) <= 0)
            return ret;
          continue;
        }
      /* Go copies valid UTF-8 and turns each invalid byte into U+FFFD. */
      size_t n = cb_utf8_decode (r->s + r->pos, r->len - r->pos, &rune);
      ret = rune == CB_RUNE_ERROR && n == 1 ? append_rune (out, rune, err)
                                            : (out ? cb_buf_append (out, r->s + r->pos, n, err) : 0);
      if (ret < 0)
        return -1;
      r->pos += n;
    }
  return 0;
}

static bool
read_digits (struct json_reader *r)
{
  size_t start = r->pos;

  while (r->pos < r->len && r->s[r->pos] >= '0' && r->s[r->pos] <= '9')
    r->pos++;
  return r->pos > start;
}

static bool
read_number (struct json_reader *r)
{
  if (r->s[r->pos] == '-')
    r->pos++;
  if (r->pos < r->len && r->s[r->pos] == '0')
    r->pos++;
  else if (!read_digits (r))
    return false;
  if (r->pos < r->len && r->s[r->pos] == '.')
    {
      r->pos++;
      if (!read_digits (r))
        return false;
    }
  if (r->pos < r->len && (r->s[r->pos] == 'e' || r->s[r->pos] == 'E'))
    {
      r->pos++;
      if (r->pos < r->len && (r->s[r->pos] == '+' || r->s[r->pos] == '-'))
        r->pos++;
      if (!read_digits (r))
        return false;
    }
  return true;
}

static bool
read_literal (struct json_reader *r)
{
  static const char *const words[] = { "true", "false", "null" };

  for (size_t i = 0; i < 3; i++)
    {
      size_t n = strlen (words[i]);
      if (r->len - r->pos >= n && memcmp (r->s + r->pos, words[i], n) == 0)
        {
          r->pos += n;
          return true;
        }
    }
  return false;
}

/* Validates a scalar value at r->pos: 1 when valid, 0 when not. */
static int
read_scalar (struct json_reader *r, cbuild_error *err)
{
  char c = r->s[r->pos];

  if (c == '"')
    return read_string (r, NULL, err);
  if (c == '-' || (c >= '0' && c <= '9'))
    return read_number (r) ? 1 : 0;
  return read_literal (r) ? 1 : 0;
}

/* After a value inside a container: ',' continues it, the closer ends it.
 * Returns 1 for another element, 2 at the end, 0 on a syntax error. */
static int
after_element (struct json_reader *r, char *stack, size_t *depth)
{
  skip_ws (r);
  if (r->pos >= r->len)
    return 0;
  if (r->s[r->pos] == ',')
    {
      r->pos++;
      return 1;
    }
  if (r->s[r->pos] != stack[*depth - 1])
    return 0;
  r->pos++;
  (*depth)--;
  return 2;
}

/* Reads an object key and its ':' when the container is an object. */
static int
read_key (struct json_reader *r, const char *stack, size_t depth, cbuild_error *err)
{
  int ret;

  if (depth == 0 || stack[depth - 1] != '}')
    return 1;
  skip_ws (r);
  if (r->pos >= r->len || r->s[r->pos] != '"')
    return 0;
  if ((ret = read_string (r, NULL, err)) <= 0)
    return ret;
  skip_ws (r);
  if (r->pos >= r->len || r->s[r->pos] != ':')
    return 0;
  r->pos++;
  return 1;
}

/* Opens a container at r->pos. Returns 2 when it is empty (and closed). */
static int
open_container (struct json_reader *r, char *stack, size_t *depth)
{
  char close = r->s[r->pos] == '[' ? ']' : '}';

  if (*depth >= JSON_MAX_DEPTH)
    return 0;
  stack[(*depth)++] = close;
  r->pos++;
  skip_ws (r);
  if (r->pos < r->len && r->s[r->pos] == close)
    {
      r->pos++;
      (*depth)--;
      return 2;
    }
  return 1;
}

/* After a complete value, closes the containers that end there. Returns 1
 * when the whole top-level value is complete, 2 when another element
 * follows, 0 on a syntax error. */
static int
close_containers (struct json_reader *r, char *stack, size_t *depth)
{
  while (*depth > 0)
    {
      int ret = after_element (r, stack, depth);
      if (ret != 2)
        return ret == 1 ? 2 : 0;
    }
  return 1;
}

/* Validates one value of any kind, with an explicit stack of open
 * containers instead of recursion. */
static int
validate_value (struct json_reader *r, cbuild_error *err)
{
  cleanup_free char *stack = malloc (JSON_MAX_DEPTH);
  size_t depth = 0;
  int ret;

  if (stack == NULL)
    return cb_error_nomem (err);
  for (;;)
    {
      if ((ret = read_key (r, stack, depth, err)) <= 0)
        return ret;
      skip_ws (r);
      if (r->pos >= r->len)
        return 0;
      if (r->s[r->pos] == '[' || r->s[r->pos] == '{')
        {
          ret = open_container (r, stack, &depth);
          if (ret == 1)
            continue;
        }
      else
        ret = read_scalar (r, err);
      if (ret <= 0)
        return ret;
      ret = close_containers (r, stack, &depth);
      if (ret != 2)
        return ret;
    }
}

/* Walks the top-level array of valid JSON again and decodes its strings.
 * Returns 0 when an element is not a string. */
static int
decode_strings (struct json_reader *r, struct cb_strv *items, cbuild_error *err)
{
  r->pos = 1;
  for (skip_ws (r); r->s[r->pos] != ']';)
    {
      cleanup_buf struct cb_buf s = CB_BUF_INIT;

      cb_buf_init (&s, CB_DOCKERFILE_MAX_INSTRUCTION);
      if (r->s[r->pos] != '"')
        return 0;
      if (read_string (r, &s, err) < 0 || cb_strv_push (items, cb_buf_str (&s), err) < 0)
        return -1;
      if (items->len > CB_DOCKERFILE_MAX_WORDS)
        return cb_error_set (err, CBUILD_ERR_PARSE, "too many JSON array elements (maximum %d)",
                             CB_DOCKERFILE_MAX_WORDS);
      skip_ws (r);
      if (r->s[r->pos] == ',')
        r->pos++;
      skip_ws (r);
    }
  return 1;
}

int
cb_json_string_array (const char *text, size_t len, struct cb_strv *out, cbuild_error *err)
{
  struct json_reader r = { text, len, 0 };
  cleanup_strv struct cb_strv items = CB_STRV_INIT;
  int ret;

  cb_trim_left_space (&r.s, &r.len);
  if (r.len == 0 || r.s[0] != '[')
    return 0;
  if ((ret = validate_value (&r, err)) <= 0)
    return ret;
  skip_ws (&r);
  if (r.pos != r.len)
    return 0;
  if ((ret = decode_strings (&r, &items, err)) < 0)
    return -1;
  if (ret == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "JSON arrays in exec form must contain only strings");
  for (size_t i = 0; i < items.len; i++)
    {
      if (cb_strv_push_owned (out, items.items[i], err) < 0)
        {
          items.items[i] = NULL;
          return -1;
        }
      items.items[i] = NULL;
    }
  return 1;
}
