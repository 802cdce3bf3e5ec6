#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

void
cb_buf_init (struct cb_buf *b, size_t max)
{
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  b->max = max;
}

void
cb_buf_release (struct cb_buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void
cb_buf_reset (struct cb_buf *b)
{
  b->len = 0;
  if (b->data)
    b->data[0] = '\0';
}

static int
buf_reserve (struct cb_buf *b, size_t extra, cbuild_error *err)
{
  size_t max = b->max ? b->max : CB_BUF_DEFAULT_MAX;
  size_t need, cap;
  char *p;

  if (extra > max || b->len > max - extra)
    return cb_error_set (err, CBUILD_ERR_INVALID, "data too large (over %zu bytes)", max);
  need = b->len + extra + 1;
  if (need <= b->cap)
    return 0;
  cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  p = realloc (b->data, cap);
  if (p == NULL)
    return cb_error_nomem (err);
  b->data = p;
  b->cap = cap;
  return 0;
}

int
cb_buf_append (struct cb_buf *b, const void *data, size_t len, cbuild_error *err)
{
  if (buf_reserve (b, len, err) < 0)
    return -1;
  if (len)
    memcpy (b->data + b->len, data, len);
  b->len += len;
  b->data[b->len] = '\0';
  return 0;
}

int
cb_buf_append_str (struct cb_buf *b, const char *s, cbuild_error *err)
{
  return cb_buf_append (b, s, strlen (s), err);
}

int
cb_buf_append_char (struct cb_buf *b, char c, cbuild_error *err)
{
  return cb_buf_append (b, &c, 1, err);
}

int
cb_buf_printf (struct cb_buf *b, cbuild_error *err, const char *fmt, ...)
{
  va_list ap;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  if (n < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid format");
  if (buf_reserve (b, (size_t) n, err) < 0)
    return -1;
  va_start (ap, fmt);
  vsnprintf (b->data + b->len, (size_t) n + 1, fmt, ap);
  va_end (ap);
  b->len += (size_t) n;
  return 0;
}

char *
cb_buf_detach (struct cb_buf *b)
{
  char *p = b->data;

  if (p == NULL)
    p = calloc (1, 1);
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
  return p;
}
