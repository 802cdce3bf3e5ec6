/* RUN --mount values: comma-separated key=value fields (CSV, so a field
 * may be quoted), checked as BuildKit's runmount.go checks them. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/internal.h"

struct mount_parse
{
  struct cb_run_mount *m;
  bool defer_vars;    /* leave values with '$' for after substitution */
  bool type_deferred; /* the type itself is such a value */
  bool readonly_auto;
};

void
cb_run_mount_release (struct cb_run_mount *m)
{
  free (m->type);
  free (m->target);
  free (m->source);
  free (m->from);
  free (m->id);
  free (m->sharing);
  free (m->env);
  memset (m, 0, sizeof *m);
}

static int
csv_quoted (const char **p, struct cb_buf *field, cbuild_error *err)
{
  const char *s = *p + 1;

  for (;;)
    {
      if (*s == '\0')
        return cb_error_set (err, CBUILD_ERR_PARSE, "extraneous or missing '\"' in quoted field");
      if (*s == '"' && s[1] == '"')
        {
          if (cb_buf_append_char (field, '"', err) < 0)
            return -1;
          s += 2;
          continue;
        }
      if (*s == '"')
        break;
      if (cb_buf_append_char (field, *s++, err) < 0)
        return -1;
    }
  s++;
  if (*s != ',' && *s != '\0')
    return cb_error_set (err, CBUILD_ERR_PARSE, "extraneous or missing '\"' in quoted field");
  *p = s;
  return 0;
}

/* Splits one CSV record the way Go's encoding/csv does without lazy quotes. */
static int
csv_fields (const char *s, struct cb_strv *out, cbuild_error *err)
{
  if (*s == '\0')
    return 0;
  for (;;)
    {
      cleanup_buf struct cb_buf field = CB_BUF_INIT;

      cb_buf_init (&field, CB_DOCKERFILE_MAX_INSTRUCTION);
      if (*s == '"' && csv_quoted (&s, &field, err) < 0)
        return -1;
      for (; *s && *s != ','; s++)
        {
          if (*s == '"')
            return cb_error_set (err, CBUILD_ERR_PARSE, "bare '\"' in non-quoted field");
          if (cb_buf_append_char (&field, *s, err) < 0)
            return -1;
        }
      if (cb_strv_push (out, cb_buf_str (&field), err) < 0)
        return -1;
      if (*s == '\0')
        return 0;
      s++;
    }
}

static bool
parse_bool (const char *s, bool *out)
{
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };

  for (size_t i = 0; i < 6; i++)
    {
      if (strcmp (s, yes[i]) == 0)
        return (*out = true);
      if (strcmp (s, no[i]) == 0)
        return !(*out = false);
    }
  return false;
}

static bool
parse_uint32 (const char *s, int base, long *out)
{
  char *end;
  unsigned long v;

  if (*s == '\0' || !isalnum ((unsigned char) *s))
    return false;
  errno = 0;
  v = strtoul (s, &end, base);
  if (errno != 0 || *end != '\0' || v > 0xFFFFFFFFUL)
    return false;
  *out = (long) v;
  return true;
}

/* Docker's units.RAMInBytes: "64m", "1.5g", "512", "2 GiB". */
static bool
parse_ram_size (const char *s, long long *out)
{
  static const char units[] = "kmgtp";
  char *end;
  double v;
  const char *u;
  double scale = 1;

  if (!isdigit ((unsigned char) *s))
    return false;
  v = strtod (s, &end);
  if (*end == ' ')
    end++;
  if (*end && (u = strchr (units, tolower ((unsigned char) *end))) != NULL)
    {
      for (long i = 0; i <= u - units; i++)
        scale *= 1024;
      end++;
    }
  if (*end == 'i' || *end == 'I')
    end++;
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end != '\0' || v * scale > 9.2e18)
    return false;
  *out = (long long) (v * scale);
  return true;
}

static int
set_string (char **slot, const char *value, cbuild_error *err)
{
  free (*slot);
  *slot = strdup (value);
  return *slot ? 0 : cb_error_nomem (err);
}

static bool
type_is (const struct cb_run_mount *m, const char *type)
{
  return strcmp (m->type, type) == 0;
}

static int
mount_flag_field (struct mount_parse *p, const char *key, const char *field, cbuild_error *err)
{
  struct cb_run_mount *m = p->m;

  if (strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0)
    m->readonly = true, p->readonly_auto = false;
  else if (strcmp (key, "readwrite") == 0 || strcmp (key, "rw") == 0)
    m->readonly = false, p->readonly_auto = false;
  else if (strcmp (key, "required") == 0 && (type_is (m, "secret") || type_is (m, "ssh")))
    m->required = true;
  else if (strcmp (key, "required") == 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "unexpected key 'required' for mount type '%s'", m->type);
  else
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid field '%s': want a key=value pair", field);
  return 0;
}

static int
mount_type (struct mount_parse *p, const char *value, cbuild_error *err)
{
  static const char *const types[] = { "bind", "cache", "tmpfs", "secret", "ssh" };
  cleanup_free char *lower = strdup (value);

  if (lower == NULL)
    return cb_error_nomem (err);
  for (char *c = lower; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (strcmp (lower, types[i]) == 0)
      return set_string (&p->m->type, lower, err);
  return cb_error_set (err, CBUILD_ERR_PARSE,
                       "unsupported mount type '%s': want bind, cache, tmpfs, secret or ssh", value);
}

static int
mount_bool_value (struct mount_parse *p, const char *key, const char *value, cbuild_error *err)
{
  struct cb_run_mount *m = p->m;
  bool v;

  if (!parse_bool (value, &v))
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid value '%s' for %s: want true or false", value, key);
  if (strcmp (key, "required") == 0)
    {
      if (!type_is (m, "secret") && !type_is (m, "ssh"))
        return cb_error_set (err, CBUILD_ERR_PARSE, "unexpected key 'required' for mount type '%s'", m->type);
      m->required = v;
      return 0;
    }
  if (strcmp (key, "readonly") == 0 || strcmp (key, "ro") == 0)
    m->readonly = v;
  else
    m->readonly = !v;
  p->readonly_auto = false;
  return 0;
}

static int
mount_number_value (struct mount_parse *p, const char *key, const char *value, cbuild_error *err)
{
  struct cb_run_mount *m = p->m;
  bool ok;

  if (strcmp (key, "mode") == 0)
    ok = parse_uint32 (value, 8, &m->mode);
  else if (strcmp (key, "uid") == 0)
    ok = parse_uint32 (value, 10, &m->uid);
  else if (strcmp (key, "gid") == 0)
    ok = parse_uint32 (value, 10, &m->gid);
  else
    ok = parse_ram_size (value, &m->size);
  if (!ok)
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid value '%s' for %s", value, key);
  return 0;
}

static const char *const mount_keys[] = {
  "type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro",
  "readwrite", "rw", "required", "id", "sharing", "mode", "uid", "gid", "env", "size",
};
#define N_MOUNT_KEYS (sizeof mount_keys / sizeof mount_keys[0])

static int
mount_value (struct mount_parse *p, const char *key, const char *value, cbuild_error *err)
{
  struct cb_run_mount *m = p->m;

  if (strcmp (key, "type") == 0)
    return mount_type (p, value, err);
  if (strcmp (key, "from") == 0)
    return set_string (&m->from, value, err);
  if (strcmp (key, "source") == 0 || strcmp (key, "src") == 0)
    return set_string (&m->source, value, err);
  if (strcmp (key, "target") == 0 || strcmp (key, "dst") == 0 || strcmp (key, "destination") == 0)
    return set_string (&m->target, value, err);
  if (strcmp (key, "id") == 0)
    return set_string (&m->id, value, err);
  if (strcmp (key, "env") == 0)
    return set_string (&m->env, value, err);
  if (strcmp (key, "sharing") == 0)
    {
      if (strcmp (value, "shared") != 0 && strcmp (value, "private") != 0 && strcmp (value, "locked") != 0)
        return cb_error_set (err, CBUILD_ERR_PARSE, "unsupported sharing value '%s': want shared, private or locked",
                             value);
      return set_string (&m->sharing, value, err);
    }
  if (strcmp (key, "mode") == 0 || strcmp (key, "uid") == 0 || strcmp (key, "gid") == 0
      || strcmp (key, "size") == 0)
    return mount_number_value (p, key, value, err);
  return mount_bool_value (p, key, value, err);
}

/* A value left for later keeps its text, so that target= and id= stay set. */
static int
mount_deferred (struct mount_parse *p, const char *key, const char *value, cbuild_error *err)
{
  struct cb_run_mount *m = p->m;

  if (strcmp (key, "type") == 0)
    p->type_deferred = true;
  if (strcmp (key, "target") == 0 || strcmp (key, "dst") == 0 || strcmp (key, "destination") == 0)
    return set_string (&m->target, value, err);
  if (strcmp (key, "id") == 0)
    return set_string (&m->id, value, err);
  return 0;
}

/* BuildKit's test for a variable in from=: a '$' with anything after it. */
static bool
has_variable (const char *value)
{
  const char *dollar = strchr (value, '$');

  return dollar != NULL && dollar[1] != '\0';
}

static int
mount_field (struct mount_parse *p, const char *field, cbuild_error *err)
{
  const char *eq = strchr (field, '=');
  cleanup_free char *key = strndup (field, eq ? (size_t) (eq - field) : strlen (field));
  const char *hint;

  if (key == NULL)
    return cb_error_nomem (err);
  for (char *c = key; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  if (eq == NULL)
    return mount_flag_field (p, key, field, err);
  hint = NULL;
  for (size_t i = 0; i < N_MOUNT_KEYS && hint == NULL; i++)
    if (strcmp (key, mount_keys[i]) == 0)
      hint = key;
  if (hint == NULL)
    {
      hint = cb_suggest (key, mount_keys, N_MOUNT_KEYS);
      return cb_error_set (err, CBUILD_ERR_PARSE, "unexpected key '%s' in '%s'%s%s%s", key, field,
                           hint ? " (did you mean " : "", hint ? hint : "", hint ? "?)" : "");
    }
  /* A stage named through a variable cannot be known when stages are
   * ordered, so BuildKit rejects it. */
  if (p->defer_vars && strcmp (key, "from") == 0 && has_variable (eq + 1))
    return cb_error_set (err, CBUILD_ERR_PARSE, "'from' does not support variable expansion: define an alias stage instead");
  if (p->defer_vars && strchr (eq + 1, '$'))
    return mount_deferred (p, key, eq + 1, err);
  return mount_value (p, key, eq + 1, err);
}

static int
mount_check (struct mount_parse *p, cbuild_error *err)
{
  struct cb_run_mount *m = p->m;
  bool file_info = type_is (m, "secret") || type_is (m, "ssh") || type_is (m, "cache");

  if (p->readonly_auto)
    m->readonly = !type_is (m, "cache") && !type_is (m, "tmpfs");
  if (p->type_deferred)
    return 0;
  if (!file_info && m->mode >= 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "mode not allowed for '%s' type mounts", m->type);
  if (!file_info && m->uid >= 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "uid not allowed for '%s' type mounts", m->type);
  if (!file_info && m->gid >= 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "gid not allowed for '%s' type mounts", m->type);
  if (m->sharing && !type_is (m, "cache"))
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid cache sharing set for '%s' mount", m->type);
  if (type_is (m, "secret") && m->from)
    return cb_error_set (err, CBUILD_ERR_PARSE, "secret mounts not supported with from");
  if (type_is (m, "secret") && m->id == NULL && m->target == NULL)
    return cb_error_set (err, CBUILD_ERR_PARSE, "secret mount needs an id or a target");
  if ((type_is (m, "bind") || type_is (m, "cache") || type_is (m, "tmpfs")) && m->target == NULL)
    return cb_error_set (err, CBUILD_ERR_PARSE, "'%s' mount needs a target", m->type);
  return 0;
}

int
cb_run_mount_parse_spec (const char *spec, bool defer_vars, struct cb_run_mount *out, cbuild_error *err)
{
  cleanup_strv struct cb_strv fields = CB_STRV_INIT;
  struct mount_parse p = { .m = out, .defer_vars = defer_vars, .readonly_auto = true };

  memset (out, 0, sizeof *out);
  out->mode = out->uid = out->gid = -1;
  out->size = -1;
  out->type = strdup ("bind");
  if (out->type == NULL)
    return cb_error_nomem (err);
  if (csv_fields (spec, &fields, err) < 0)
    goto fail;
  for (size_t i = 0; i < fields.len; i++)
    if (mount_field (&p, fields.items[i], err) < 0)
      goto fail;
  if (mount_check (&p, err) < 0)
    goto fail;
  return 0;

fail:
  cb_run_mount_release (out);
  return -1;
}

int
cb_run_mount_parse (const char *spec, struct cb_run_mount *out, cbuild_error *err)
{
  return cb_run_mount_parse_spec (spec, false, out, err);
}
