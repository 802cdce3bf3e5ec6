/* Scope-bound cleanup, so that error paths need no repeated free/close calls. */
#ifndef CBUILD_COMMON_CLEANUP_H
#define CBUILD_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
cb_cleanup_freep (void *p)
{
  free (*(void **) p);
}

static inline void
cb_cleanup_closep (int *fd)
{
  if (*fd >= 0)
    close (*fd);
}

static inline void
cb_cleanup_fclosep (FILE **f)
{
  if (*f)
    fclose (*f);
}

#define cleanup_free __attribute__ ((cleanup (cb_cleanup_freep)))
#define cleanup_close __attribute__ ((cleanup (cb_cleanup_closep)))
#define cleanup_fclose __attribute__ ((cleanup (cb_cleanup_fclosep)))

/* Hands ownership out of a cleanup variable. */
#define cb_steal_pointer(pp) \
  ({ __typeof__ (*(pp)) _stolen = *(pp); *(pp) = NULL; _stolen; })
#define cb_steal_fd(fdp) \
  ({ int _stolen = *(fdp); *(fdp) = -1; _stolen; })

#endif
