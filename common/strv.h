/* NULL-terminated string vectors, and environment-style "NAME=value" lists. */
#ifndef CBUILD_COMMON_STRV_H
#define CBUILD_COMMON_STRV_H

#include <stdbool.h>
#include <stddef.h>

#include <cbuild/cbuild.h>

struct cb_strv
{
  char **items; /* NULL-terminated once anything was pushed; owned */
  size_t len;
  size_t cap;
};

#define CB_STRV_INIT { NULL, 0, 0 }

void cb_strv_release (struct cb_strv *v);
int cb_strv_push (struct cb_strv *v, const char *s, cbuild_error *err);
/* Takes ownership of s, also on failure. */
int cb_strv_push_owned (struct cb_strv *v, char *s, cbuild_error *err);
int cb_strv_copy (struct cb_strv *dst, const struct cb_strv *src, cbuild_error *err);
bool cb_strv_contains (const struct cb_strv *v, const char *s);

/* Environment lists keep "NAME=value" items in first-set order, as Docker
 * keeps the image config's Env. */
const char *cb_env_get (const struct cb_strv *env, const char *name);
/* Replaces NAME's value in place, or appends NAME=value. */
int cb_env_set (struct cb_strv *env, const char *name, const char *value, cbuild_error *err);

void cb_strv_releasep (struct cb_strv *v);
#define cleanup_strv __attribute__ ((cleanup (cb_strv_releasep)))

#endif
