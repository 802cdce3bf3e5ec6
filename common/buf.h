/* A growable byte buffer that always stays NUL-terminated and never grows
 * past the maximum its user gives it, so that input cannot exhaust memory. */
#ifndef CBUILD_COMMON_BUF_H
#define CBUILD_COMMON_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include <cbuild/cbuild.h>

struct cb_buf
{
  char *data; /* NUL-terminated; NULL until the first append */
  size_t len;
  size_t cap;
  size_t max; /* maximum len; 0 means CB_BUF_DEFAULT_MAX */
};

#define CB_BUF_DEFAULT_MAX ((size_t) 64 << 20)
#define CB_BUF_INIT { NULL, 0, 0, 0 }

void cb_buf_init (struct cb_buf *b, size_t max);
void cb_buf_release (struct cb_buf *b);
void cb_buf_reset (struct cb_buf *b);

/* Each append returns -1 with CBUILD_ERR_NOMEM or CBUILD_ERR_INVALID ("too
 * large") in err when the result would not fit. */
int cb_buf_append (struct cb_buf *b, const void *data, size_t len, cbuild_error *err);
int cb_buf_append_str (struct cb_buf *b, const char *s, cbuild_error *err);
int cb_buf_append_char (struct cb_buf *b, char c, cbuild_error *err);
int cb_buf_printf (struct cb_buf *b, cbuild_error *err, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Hands the data to the caller (never NULL on success) and resets b. */
char *cb_buf_detach (struct cb_buf *b);

static inline const char *
cb_buf_str (const struct cb_buf *b)
{
  return b->data ? b->data : "";
}

static inline void
cb_buf_releasep (struct cb_buf *b)
{
  cb_buf_release (b);
}
#define cleanup_buf __attribute__ ((cleanup (cb_buf_releasep)))

#endif
