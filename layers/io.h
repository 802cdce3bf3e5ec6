/* Internal to layers/: small I/O helpers. */
#ifndef CBUILD_LAYERS_IO_H
#define CBUILD_LAYERS_IO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

/* Writes all of data, retrying short writes. Returns -1 with errno set on
 * failure. */
static inline int
cb_write_all (int fd, const void *data, size_t len)
{
  const char *p = data;

  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return -1;
      p += n;
      len -= (size_t) n;
    }
  return 0;
}

#endif
