/* Filling the caller's cbuild_error. */
#ifndef CBUILD_COMMON_ERROR_H
#define CBUILD_COMMON_ERROR_H

#include <cbuild/cbuild.h>

/* Sets err (if not NULL) to code and the formatted message and returns -1,
 * so that callers can write "return cb_error_set (err, ...);". Control
 * characters in the message are replaced by '?', because messages quote
 * Dockerfile text and registry responses. */
int cb_error_set (cbuild_error *err, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Like cb_error_set with CBUILD_ERR_SYSTEM, appending ": strerror(errnum)". */
int cb_error_sys (cbuild_error *err, int errnum, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/* Prepends "context: " to the message already in err and returns -1. */
int cb_error_prefix (cbuild_error *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Sets CBUILD_ERR_NOMEM and returns -1. */
int cb_error_nomem (cbuild_error *err);

#endif
