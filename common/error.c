#include "common/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
replace_control_chars (char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      *s = '?';
}

static void error_vset (cbuild_error *err, int code, int sys_errno, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 4, 0)));

static void
error_vset (cbuild_error *err, int code, int sys_errno, const char *fmt, va_list ap)
{
  err->code = code;
  err->sys_errno = sys_errno;
  vsnprintf (err->message, sizeof err->message, fmt, ap);
  replace_control_chars (err->message);
}

int
cb_error_set (cbuild_error *err, int code, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL)
    return -1;
  va_start (ap, fmt);
  error_vset (err, code, 0, fmt, ap);
  va_end (ap);
  return -1;
}

int
cb_error_sys (cbuild_error *err, int errnum, const char *fmt, ...)
{
  va_list ap;
  size_t len;

  if (err == NULL)
    return -1;
  va_start (ap, fmt);
  error_vset (err, CBUILD_ERR_SYSTEM, errnum, fmt, ap);
  va_end (ap);
  len = strlen (err->message);
  snprintf (err->message + len, sizeof err->message - len, ": %s", strerror (errnum));
  return -1;
}

int
cb_error_prefix (cbuild_error *err, const char *fmt, ...)
{
  char prefix[512];
  char old[CBUILD_ERROR_MAX];
  va_list ap;

  if (err == NULL)
    return -1;
  va_start (ap, fmt);
  vsnprintf (prefix, sizeof prefix, fmt, ap);
  va_end (ap);
  replace_control_chars (prefix);
  memcpy (old, err->message, sizeof old);
  /* Truncation is fine here: the message keeps its start, the context. */
  {
    size_t plen = strlen (prefix);
    if (plen + 2 >= sizeof err->message)
      plen = sizeof err->message - 3;
    memcpy (err->message, prefix, plen);
    memcpy (err->message + plen, ": ", 2);
    strncpy (err->message + plen + 2, old, sizeof err->message - plen - 3);
    err->message[sizeof err->message - 1] = '\0';
  }
  return -1;
}

int
cb_error_nomem (cbuild_error *err)
{
  return cb_error_set (err, CBUILD_ERR_NOMEM, "out of memory");
}
