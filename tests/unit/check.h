/* A minimal test harness: CHECK records a failure and goes on, so that one
 * run reports every failing condition; main prints the closing count line. */
#ifndef CBUILD_TESTS_CHECK_H
#define CBUILD_TESTS_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_passed;
static int check_failed;

#define CHECK(cond)                                                          \
  do                                                                         \
    {                                                                        \
      if (cond)                                                              \
        check_passed++;                                                      \
      else                                                                   \
        {                                                                    \
          check_failed++;                                                    \
          fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                   #cond);                                                   \
        }                                                                    \
    }                                                                        \
  while (0)

#define CHECK_STR(got, want)                                                 \
  do                                                                         \
    {                                                                        \
      const char *g_ = (got), *w_ = (want);                                  \
      if (g_ && w_ && strcmp (g_, w_) == 0)                                  \
        check_passed++;                                                      \
      else                                                                   \
        {                                                                    \
          check_failed++;                                                    \
          fprintf (stderr, "%s:%d: %s: got \"%s\", want \"%s\"\n", __FILE__, \
                   __LINE__, #got, g_ ? g_ : "(null)", w_ ? w_ : "(null)");  \
        }                                                                    \
    }                                                                        \
  while (0)

#define CHECK_INT(got, want)                                                 \
  do                                                                         \
    {                                                                        \
      long long g_ = (long long) (got), w_ = (long long) (want);             \
      if (g_ == w_)                                                          \
        check_passed++;                                                      \
      else                                                                   \
        {                                                                    \
          check_failed++;                                                    \
          fprintf (stderr, "%s:%d: %s: got %lld, want %lld\n", __FILE__,     \
                   __LINE__, #got, g_, w_);                                  \
        }                                                                    \
    }                                                                        \
  while (0)

/* Prints the summary line and returns main's exit status. */
static inline int
check_report (void)
{
  printf ("%d passed, %d failed\n", check_passed, check_failed);
  return check_failed ? 1 : 0;
}

#endif
