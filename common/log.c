#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

void
cb_log (const struct cb_logger *log, int level, const char *fmt, ...)
{
  char line[4096];
  va_list ap;

  if (log == NULL || log->fn == NULL)
    return;
  va_start (ap, fmt);
  vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  log->fn (log->user_data, level, line);
}
