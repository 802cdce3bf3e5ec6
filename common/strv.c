#include "common/strv.h"

#include <stdlib.h>
#include <string.h>

#include "common/error.h"

void
cb_strv_release (struct cb_strv *v)
{
  for (size_t i = 0; i < v->len; i++)
    free (v->items[i]);
  free (v->items);
  v->items = NULL;
  v->len = 0;
  v->cap = 0;
}

void
cb_strv_releasep (struct cb_strv *v)
{
  cb_strv_release (v);
}

int
cb_strv_push_owned (struct cb_strv *v, char *s, cbuild_error *err)
{
  if (s == NULL)
    return cb_error_nomem (err);
  if (v->len + 2 > v->cap)
    {
      size_t cap = v->cap ? v->cap * 2 : 8;
      char **p = realloc (v->items, cap * sizeof *p);
      if (p == NULL)
        {
          free (s);
          return cb_error_nomem (err);
        }
      v->items = p;
      v->cap = cap;
    }
  v->items[v->len++] = s;
  v->items[v->len] = NULL;
  return 0;
}

int
cb_strv_push (struct cb_strv *v, const char *s, cbuild_error *err)
{
  return cb_strv_push_owned (v, strdup (s), err);
}

int
cb_strv_copy (struct cb_strv *dst, const struct cb_strv *src, cbuild_error *err)
{
  for (size_t i = 0; i < src->len; i++)
    if (cb_strv_push (dst, src->items[i], err) < 0)
      return -1;
  return 0;
}

bool
cb_strv_contains (const struct cb_strv *v, const char *s)
{
  for (size_t i = 0; i < v->len; i++)
    if (strcmp (v->items[i], s) == 0)
      return true;
  return false;
}

static ssize_t
env_find (const struct cb_strv *env, const char *name)
{
  size_t n = strlen (name);

  for (size_t i = 0; i < env->len; i++)
    if (strncmp (env->items[i], name, n) == 0 && env->items[i][n] == '=')
      return (ssize_t) i;
  return -1;
}

const char *
cb_env_get (const struct cb_strv *env, const char *name)
{
  ssize_t i = env_find (env, name);

  return i < 0 ? NULL : env->items[i] + strlen (name) + 1;
}

int
cb_env_set (struct cb_strv *env, const char *name, const char *value, cbuild_error *err)
{
  ssize_t i = env_find (env, name);
  size_t len = strlen (name) + strlen (value) + 2;
  char *item = malloc (len);

  if (item == NULL)
    return cb_error_nomem (err);
  strcpy (item, name);
  strcat (item, "=");
  strcat (item, value);
  if (i < 0)
    return cb_strv_push_owned (env, item, err);
  free (env->items[i]);
  env->items[i] = item;
  return 0;
}
