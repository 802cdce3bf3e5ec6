/* Source wildcards of COPY and ADD, matched as BuildKit matches them: Go's
 * filepath.Match on each path component, against the files .dockerignore
 * leaves in the context. */
#include "builder/copy_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

bool
cb_copy_has_wildcard (const char *pattern)
{
  for (const char *p = pattern; *p; p++)
    {
      if (*p == '\\' && p[1])
        p++;
      else if (*p == '*' || *p == '?' || *p == '[')
        return true;
    }
  return false;
}

/* The length of the UTF-8 sequence at s. An invalid byte counts as one
 * rune, as in Go. */
static size_t
rune_len (const char *s)
{
  unsigned char c = (unsigned char) s[0];
  size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;

  for (size_t i = 1; i < n; i++)
    if (((unsigned char) s[i] & 0xc0) != 0x80)
      return 1;
  return n;
}

static uint32_t
rune_at (const char *s, size_t len)
{
  static const unsigned char lead_mask[] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
  uint32_t r = (unsigned char) s[0] & lead_mask[len];

  for (size_t i = 1; i < len; i++)
    r = r << 6 | ((unsigned char) s[i] & 0x3f);
  return r;
}

/* Reads one character of a class, with its '\' escape. False when the
 * class is malformed there, where Go's filepath.Match fails too. */
static bool
class_char (const char **p, uint32_t *r)
{
  size_t len;

  if (**p == '\0' || **p == '-' || **p == ']')
    return false;
  if (**p == '\\')
    (*p)++;
  if (**p == '\0')
    return false;
  len = rune_len (*p);
  *r = rune_at (*p, len);
  *p += len;
  return **p != '\0';
}

/* Matches rune r against the class that starts after '[' at p; *end gets
 * the position after its ']'. Returns 1 or 0, or -1 for a malformed class. */
static int
match_class (const char *p, uint32_t r, const char **end)
{
  bool negated = *p == '^', matched = false;
  int n_ranges = 0;

  if (negated)
    p++;
  for (;;)
    {
      uint32_t lo, hi;

      if (*p == ']' && n_ranges > 0)
        break;
      if (!class_char (&p, &lo))
        return -1;
      hi = lo;
      if (*p == '-')
        {
          p++;
          if (!class_char (&p, &hi))
            return -1;
        }
      if (lo <= r && r <= hi)
        matched = true;
      n_ranges++;
    }
  *end = p + 1;
  return matched != negated;
}

static bool
pattern_valid (const char *p)
{
  const char *end;

  for (; *p; p++)
    {
      if (*p == '\\')
        {
          if (*++p == '\0')
            return false;
          continue;
        }
      if (*p == '[')
        {
          if (match_class (p + 1, 0, &end) < 0)
            return false;
          p = end - 1;
        }
    }
  return true;
}

/* Matches a valid pattern: '*' runs over anything but '/', '?' takes one
 * rune other than '/', '[...]' one rune of the class, '\' escapes. */
static bool
match_from (const char *p, const char *n)
{
  while (*p)
    {
      const char *end;

      if (*p == '*')
        {
          while (*p == '*')
            p++;
          if (*p == '\0')
            return strchr (n, '/') == NULL;
          for (;; n += rune_len (n))
            {
              if (match_from (p, n))
                return true;
              if (*n == '\0' || *n == '/')
                return false;
            }
        }
      if (*n == '\0')
        return false;
      if (*p == '?' || *p == '[')
        {
          size_t len = rune_len (n);
          if (*p == '?' ? *n == '/' : match_class (p + 1, rune_at (n, len), &end) != 1)
            return false;
          p = *p == '?' ? p + 1 : end;
          n += len;
          continue;
        }
      if (*p == '\\')
        p++;
      if (*p++ != *n++)
        return false;
    }
  return *n == '\0';
}

int
cb_copy_match (const char *pattern, const char *name, bool *matched, cbuild_error *err)
{
  if (!pattern_valid (pattern))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid wildcard pattern '%s'", pattern);
  *matched = match_from (pattern, name);
  return 0;
}

bool
cb_copy_ignored (const struct cb_ignore *ig, const char *rel, bool is_dir)
{
  if (ig == NULL || rel[0] == '\0' || strcmp (rel, ".") == 0)
    return false;
  if (!cb_ignore_excluded (ig, rel))
    return false;
  return !(is_dir && cb_ignore_may_include_below (ig, rel));
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
cb_copy_read_dir (int dir_fd, const char *path, struct cb_strv *names, cbuild_error *err)
{
  int fd = openat (dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *dir = fd >= 0 ? fdopendir (fd) : NULL;
  struct dirent *entry;
  int ret = 0;

  if (dir == NULL)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      return cb_error_sys (err, saved, "read directory '%s'", path);
    }
  while (ret == 0 && (errno = 0, entry = readdir (dir)) != NULL)
    if (strcmp (entry->d_name, ".") != 0 && strcmp (entry->d_name, "..") != 0)
      ret = cb_strv_push (names, entry->d_name, err);
  if (ret == 0 && errno != 0)
    ret = cb_error_sys (err, errno, "read directory '%s'", path);
  closedir (dir);
  if (ret == 0 && names->len > 1)
    qsort (names->items, names->len, sizeof *names->items, compare_names);
  return ret;
}

struct expansion
{
  int context_fd;
  const struct cb_ignore *ig;
  const char *pattern;
  struct cb_strv *out;
  struct cb_buf path; /* the context path matched so far */
};

static int expand_from (struct expansion *e, const char *rest, cbuild_error *err);

/* Descends into name when it exists in the context and is not ignored. */
static int
expand_candidate (struct expansion *e, const char *name, const char *rest, cbuild_error *err)
{
  size_t saved = e->path.len;
  cleanup_close int fd = -1;
  struct stat st;
  int ret = 0;

  if ((e->path.len && cb_buf_append_char (&e->path, '/', err) < 0) || cb_buf_append_str (&e->path, name, err) < 0)
    return -1;
  fd = cb_inroot_open (e->context_fd, e->path.data, O_PATH);
  if (fd >= 0 && fstat (fd, &st) == 0 && !cb_copy_ignored (e->ig, e->path.data, S_ISDIR (st.st_mode)))
    ret = *rest ? expand_from (e, rest, err) : cb_strv_push (e->out, e->path.data, err);
  e->path.len = saved;
  e->path.data[saved] = '\0';
  return ret;
}

static int
expand_wildcard (struct expansion *e, const char *component, const char *rest, cbuild_error *err)
{
  cleanup_strv struct cb_strv names = CB_STRV_INIT;
  cleanup_close int dir_fd = cb_inroot_open (e->context_fd, e->path.len ? e->path.data : ".",
                                             O_RDONLY | O_DIRECTORY);

  /* A component that is no directory matches nothing below it. */
  if (dir_fd < 0)
    return 0;
  if (cb_copy_read_dir (dir_fd, e->path.len ? e->path.data : ".", &names, err) < 0)
    return -1;
  for (size_t i = 0; i < names.len; i++)
    {
      bool matched = false;
      if (cb_copy_match (component, names.items[i], &matched, err) < 0)
        return -1;
      if (matched && expand_candidate (e, names.items[i], rest, err) < 0)
        return -1;
    }
  return 0;
}

static int
expand_from (struct expansion *e, const char *rest, cbuild_error *err)
{
  const char *slash = strchr (rest, '/');
  cleanup_free char *component = slash ? strndup (rest, (size_t) (slash - rest)) : strdup (rest);
  const char *next = slash ? slash + 1 : "";

  if (component == NULL)
    return cb_error_nomem (err);
  if (component[0] == '\0')
    return *next ? expand_from (e, next, err) : cb_strv_push (e->out, e->path.data, err);
  if (cb_copy_has_wildcard (component))
    return expand_wildcard (e, component, next, err);
  return expand_candidate (e, component, next, err);
}

int
cb_copy_expand (int context_fd, const struct cb_ignore *ig, const char *pattern, struct cb_strv *out,
                cbuild_error *err)
{
  struct expansion e = { context_fd, ig, pattern, out, CB_BUF_INIT };
  int ret;

  if (!pattern_valid (pattern))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid wildcard pattern '%s'", pattern);
  cb_buf_init (&e.path, 64 << 10);
  if (cb_buf_append_str (&e.path, "", err) < 0)
    return -1;
  ret = expand_from (&e, pattern, err);
  cb_buf_release (&e.path);
  return ret;
}
