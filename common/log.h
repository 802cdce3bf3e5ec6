/* Log lines go to the caller's callback; the library never prints. */
#ifndef CBUILD_COMMON_LOG_H
#define CBUILD_COMMON_LOG_H

#include <cbuild/cbuild.h>

struct cb_logger
{
  cbuild_log_fn fn; /* may be NULL: then messages are dropped */
  void *user_data;
};

void cb_log (const struct cb_logger *log, int level, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#endif
