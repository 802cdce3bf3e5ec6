/* --cache-to and --cache-from values, in docker buildx's syntax:
 * "type=registry,ref=REPO:TAG[,mode=min|max]", "type=local,dest=DIR" and
 * "type=local,src=DIR", or a bare "REPO:TAG". */
#include <stdlib.h>
#include <string.h>

#include "builder/options.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "registry/reference.h"

enum spec_kind
{
  SPEC_EXPORT, /* --cache-to */
  SPEC_IMPORT, /* --cache-from */
};

void
cb_cache_specs_free (struct cb_cache_spec *specs, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      free (specs[i].ref);
      free (specs[i].dir);
    }
  free (specs);
}

static int
set_string (char **slot, const char *value, cbuild_error *err)
{
  free (*slot);
  *slot = strdup (value);
  return *slot ? 0 : cb_error_nomem (err);
}

static int
parse_bool (const char *spec, const char *key, const char *value, bool *out, cbuild_error *err)
{
  if (strcmp (value, "true") != 0 && strcmp (value, "false") != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': %s must be true or false", spec, key);
  *out = strcmp (value, "true") == 0;
  return 0;
}

static int
parse_type (const char *spec, const char *value, struct cb_cache_spec *out, cbuild_error *err)
{
  if (strcmp (value, "registry") == 0)
    out->type = CB_CACHE_STORE_REGISTRY;
  else if (strcmp (value, "local") == 0)
    out->type = CB_CACHE_STORE_LOCAL;
  else
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': type '%s' is not supported (use registry or local)",
                         spec, value);
  return 0;
}

static int
parse_mode (const char *spec, const char *value, struct cb_cache_spec *out, cbuild_error *err)
{
  if (strcmp (value, "min") != 0 && strcmp (value, "max") != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': mode must be min or max", spec);
  out->all_stages = strcmp (value, "max") == 0;
  return 0;
}

/* Applies one key=value. A key that only the other direction takes is
 * rejected with the name of the key to use. */
static int
apply_key (const char *spec, enum spec_kind kind, const char *key, const char *value, struct cb_cache_spec *out,
           cbuild_error *err)
{
  if (strcmp (key, "type") == 0)
    return parse_type (spec, value, out, err);
  if (strcmp (key, "ref") == 0)
    return set_string (&out->ref, value, err);
  if (strcmp (key, kind == SPEC_EXPORT ? "dest" : "src") == 0)
    return set_string (&out->dir, value, err);
  if (kind == SPEC_EXPORT && strcmp (key, "mode") == 0)
    return parse_mode (spec, value, out, err);
  if (kind == SPEC_EXPORT && strcmp (key, "ignore-error") == 0)
    return parse_bool (spec, key, value, &out->ignore_error, err);
  if (strcmp (key, "dest") == 0 || strcmp (key, "src") == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': --cache-%s takes %s=DIR, not %s=", spec,
                         kind == SPEC_EXPORT ? "to" : "from", kind == SPEC_EXPORT ? "dest" : "src", key);
  return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': unknown key '%s' (use type, ref, %s%s)", spec,
                       key, kind == SPEC_EXPORT ? "dest" : "src", kind == SPEC_EXPORT ? ", mode, ignore-error" : "");
}

static int
check_ref (const char *spec, enum spec_kind kind, const char *ref, cbuild_error *err)
{
  struct cb_reference parsed = { 0 };
  bool by_digest;

  if (cb_reference_parse (ref, &parsed, err) < 0)
    return cb_error_prefix (err, "invalid cache '%s'", spec);
  by_digest = parsed.digest != NULL;
  cb_reference_release (&parsed);
  if (kind == SPEC_EXPORT && by_digest)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': the ref to export to cannot contain a digest",
                         spec);
  return 0;
}

static int
check_spec (const char *spec, enum spec_kind kind, const struct cb_cache_spec *out, cbuild_error *err)
{
  if (out->type == CB_CACHE_STORE_REGISTRY && (out->ref == NULL || out->ref[0] == '\0'))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': type=registry needs ref=REPO:TAG", spec);
  if (out->type == CB_CACHE_STORE_REGISTRY && out->dir)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': %s= belongs to type=local", spec,
                         kind == SPEC_EXPORT ? "dest" : "src");
  if (out->type == CB_CACHE_STORE_LOCAL && (out->dir == NULL || out->dir[0] == '\0'))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': type=local needs %s=DIR", spec,
                         kind == SPEC_EXPORT ? "dest" : "src");
  if (out->type == CB_CACHE_STORE_LOCAL && out->ref)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': ref= belongs to type=registry", spec);
  if (out->type == CB_CACHE_STORE_REGISTRY)
    return check_ref (spec, kind, out->ref, err);
  return 0;
}

static int
parse_fields (const char *spec, enum spec_kind kind, struct cb_cache_spec *out, cbuild_error *err)
{
  cleanup_free char *copy = strdup (spec);
  char *saveptr = NULL;
  bool have_type = false;

  if (copy == NULL)
    return cb_error_nomem (err);
  for (char *kv = strtok_r (copy, ",", &saveptr); kv; kv = strtok_r (NULL, ",", &saveptr))
    {
      char *eq = strchr (kv, '=');

      if (eq == NULL)
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': '%s' is not KEY=VALUE", spec, kv);
      *eq = '\0';
      have_type |= strcmp (kv, "type") == 0;
      if (apply_key (spec, kind, kv, eq + 1, out, err) < 0)
        return -1;
    }
  if (!have_type)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '%s': missing type=registry or type=local", spec);
  return 0;
}

/* A value without '=' is a registry reference, as docker buildx takes it. */
static int
parse_spec (const char *spec, enum spec_kind kind, struct cb_cache_spec *out, cbuild_error *err)
{
  if (spec[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid cache '': expected type=registry,ref=REPO:TAG or type=local");
  if (strchr (spec, '=') == NULL)
    {
      out->type = CB_CACHE_STORE_REGISTRY;
      if (set_string (&out->ref, spec, err) < 0)
        return -1;
    }
  else if (parse_fields (spec, kind, out, err) < 0)
    return -1;
  return check_spec (spec, kind, out, err);
}

static int
add_spec (struct cb_cache_spec **specs, size_t *n, const char *spec, enum spec_kind kind, cbuild_error *err)
{
  struct cb_cache_spec parsed = { 0 };
  struct cb_cache_spec *grown;

  if (parse_spec (spec, kind, &parsed, err) < 0)
    {
      free (parsed.ref);
      free (parsed.dir);
      return -1;
    }
  grown = realloc (*specs, (*n + 1) * sizeof *grown);
  if (grown == NULL)
    {
      free (parsed.ref);
      free (parsed.dir);
      return cb_error_nomem (err);
    }
  *specs = grown;
  (*specs)[(*n)++] = parsed;
  return 0;
}

int
cbuild_build_options_add_cache_to (cbuild_build_options *opts, const char *spec, cbuild_error *err)
{
  return add_spec (&opts->cache_to, &opts->n_cache_to, spec, SPEC_EXPORT, err);
}

int
cbuild_build_options_add_cache_from (cbuild_build_options *opts, const char *spec, cbuild_error *err)
{
  return add_spec (&opts->cache_from, &opts->n_cache_from, spec, SPEC_IMPORT, err);
}
