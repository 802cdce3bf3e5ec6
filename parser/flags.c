/* Instruction flags ("--chown=1:1"): which instruction takes which flag,
 * of which type, as BuildKit's BFlags checks them, plus the checks on
 * values that need no variable substitution. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "parser/internal.h"

enum flag_type
{
  FLAG_STRING,
  FLAG_BOOL,
  FLAG_STRINGS, /* repeatable */
};

struct flag_spec
{
  const char *name;
  enum flag_type type;
};

struct instruction_flags
{
  const char *cmd;
  const struct flag_spec *flags;
};

static const struct flag_spec from_flags[] = { { "platform", FLAG_STRING }, { NULL, 0 } };
static const struct flag_spec run_flags[] = {
  { "mount", FLAG_STRINGS }, { "network", FLAG_STRING }, { "security", FLAG_STRING }, { NULL, 0 },
};
static const struct flag_spec copy_flags[] = {
  { "from", FLAG_STRING }, { "chown", FLAG_STRING },  { "chmod", FLAG_STRING },
  { "link", FLAG_BOOL },   { "parents", FLAG_BOOL },  { "exclude", FLAG_STRINGS }, { NULL, 0 },
};
static const struct flag_spec add_flags[] = {
  { "chown", FLAG_STRING },     { "chmod", FLAG_STRING },  { "checksum", FLAG_STRING },
  { "link", FLAG_BOOL },        { "keep-git-dir", FLAG_BOOL }, { "unpack", FLAG_BOOL },
  { "exclude", FLAG_STRINGS },  { NULL, 0 },
};
static const struct flag_spec healthcheck_flags[] = {
  { "interval", FLAG_STRING }, { "timeout", FLAG_STRING }, { "start-period", FLAG_STRING },
  { "start-interval", FLAG_STRING }, { "retries", FLAG_STRING }, { NULL, 0 },
};
static const struct flag_spec no_flags[] = { { NULL, 0 } };

static const struct instruction_flags all_flags[] = {
  { "from", from_flags }, { "run", run_flags }, { "copy", copy_flags },
  { "add", add_flags },   { "healthcheck", healthcheck_flags },
};

static const struct flag_spec *
flags_of (const char *cmd)
{
  for (size_t i = 0; i < sizeof all_flags / sizeof all_flags[0]; i++)
    if (strcmp (all_flags[i].cmd, cmd) == 0)
      return all_flags[i].flags;
  return no_flags;
}

static void
upper (const char *s, char *out, size_t size)
{
  size_t i = 0;

  for (; s[i] && i + 1 < size; i++)
    out[i] = (char) toupper ((unsigned char) s[i]);
  out[i] = '\0';
}

static int
unknown_flag (const struct flag_spec *specs, const char *name, const char *cmd, cbuild_error *err)
{
  const char *names[16];
  size_t n = 0;
  const char *hint;

  for (; specs[n].name && n < 16; n++)
    names[n] = specs[n].name;
  hint = cb_suggest (name, names, n);
  if (hint)
    return cb_error_set (err, CBUILD_ERR_PARSE, "unknown flag '--%s' for %s (did you mean --%s?)", name,
                         cmd, hint);
  return cb_error_set (err, CBUILD_ERR_PARSE, "unknown flag '--%s' for %s", name, cmd);
}

/* Go's time.ParseDuration, in nanoseconds. */
static const struct
{
  const char *unit;
  uint64_t ns;
} duration_units[] = {
  { "ns", 1 },           { "us", 1000 },          { "\xC2\xB5s", 1000 }, { "\xCE\xBCs", 1000 },
  { "ms", 1000000 },     { "s", 1000000000ULL },  { "m", 60000000000ULL }, { "h", 3600000000000ULL },
};

/* Reads "<digits>[.<digits>]<unit>" at *s and adds it to *total. */
static bool
duration_part (const char **s, double *total)
{
  const char *p = *s, *unit;
  double value = 0, scale = 1;
  bool digits = false;

  for (; isdigit ((unsigned char) *p); p++, digits = true)
    value = value * 10 + (*p - '0');
  if (*p == '.')
    for (p++; isdigit ((unsigned char) *p); p++, digits = true)
      value += (*p - '0') * (scale /= 10);
  if (!digits)
    return false;
  unit = p;
  while (*p && *p != '.' && !isdigit ((unsigned char) *p))
    p++;
  for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++)
    if ((size_t) (p - unit) == strlen (duration_units[i].unit)
        && memcmp (unit, duration_units[i].unit, (size_t) (p - unit)) == 0)
      {
        *total += value * (double) duration_units[i].ns;
        *s = p;
        return true;
      }
  return false;
}

static bool
parse_duration (const char *s, double *ns)
{
  bool negative = *s == '-';

  if (*s == '-' || *s == '+')
    s++;
  *ns = 0;
  if (strcmp (s, "0") == 0)
    return true;
  if (*s == '\0')
    return false;
  while (*s)
    if (!duration_part (&s, ns))
      return false;
  /* Go's Duration is an int64 of nanoseconds. */
  if (*ns > 9.223372036854775807e18)
    return false;
  if (negative)
    *ns = -*ns;
  return true;
}

static int
check_duration (const char *name, const char *value, cbuild_error *err)
{
  double ns;

  if (*value == '\0')
    return 0;
  if (!parse_duration (value, &ns))
    return cb_error_set (err, CBUILD_ERR_PARSE,
                         "invalid duration '%s' for flag '--%s' of HEALTHCHECK: want a number and a unit, such as 30s or 1m30s",
                         value, name);
  if (ns != 0 && ns < 1e6)
    return cb_error_set (err, CBUILD_ERR_PARSE, "flag '--%s' of HEALTHCHECK cannot be less than 1ms ('%s')",
                         name, value);
  return 0;
}

static int
check_retries (const char *value, cbuild_error *err)
{
  char *end;
  long long n;

  if (*value == '\0')
    return 0;
  errno = 0;
  n = strtoll (value, &end, 10);
  if (isspace ((unsigned char) *value) || *end != '\0' || errno != 0 || n > INT32_MAX || n < INT32_MIN)
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid value '%s' for flag '--retries' of HEALTHCHECK: want a number",
                         value);
  if (n < 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "flag '--retries' of HEALTHCHECK cannot be negative (%lld)", n);
  return 0;
}

static int
check_choice (const char *name, const char *value, const char *const *choices, const char *want,
              cbuild_error *err)
{
  for (; *choices; choices++)
    if (strcmp (value, *choices) == 0)
      return 0;
  return cb_error_set (err, CBUILD_ERR_PARSE, "invalid value '%s' for flag '--%s' of RUN: want %s", value, name,
                       want);
}

static int
check_value (const char *name, const char *value, cbuild_error *err)
{
  static const char *const networks[] = { "default", "none", "host", NULL };
  static const char *const security[] = { "sandbox", "insecure", NULL };
  struct cb_run_mount mount;

  if (strcmp (name, "network") == 0)
    return check_choice (name, value, networks, "default, none or host", err);
  if (strcmp (name, "security") == 0)
    return check_choice (name, value, security, "sandbox or insecure", err);
  if (strcmp (name, "mount") == 0)
    {
      if (cb_run_mount_parse_spec (value, true, &mount, err) < 0)
        return cb_error_prefix (err, "invalid value '%s' for flag '--mount' of RUN", value);
      cb_run_mount_release (&mount);
      return 0;
    }
  if (strcmp (name, "retries") == 0)
    return check_retries (value, err);
  if (strcmp (name, "interval") == 0 || strcmp (name, "timeout") == 0 || strcmp (name, "start-period") == 0
      || strcmp (name, "start-interval") == 0)
    return check_duration (name, value, err);
  return 0;
}

static int
check_bool (const char *name, const char *value, const char *cmd, cbuild_error *err)
{
  if (strcasecmp (value, "true") == 0 || strcasecmp (value, "false") == 0 || *value == '\0')
    return 0;
  return cb_error_set (err, CBUILD_ERR_PARSE, "invalid value '%s' for flag '--%s' of %s: want true or false", value,
                       name, cmd);
}

/* Checks one "--name[=value]". seen records which flags came before. */
static int
check_flag (const struct flag_spec *specs, const char *flag, const char *cmd, bool *seen, cbuild_error *err)
{
  const char *eq = strchr (flag + 2, '=');
  cleanup_free char *name = strndup (flag + 2, eq ? (size_t) (eq - flag - 2) : strlen (flag + 2));
  size_t i;

  if (name == NULL)
    return cb_error_nomem (err);
  for (i = 0; specs[i].name && strcmp (specs[i].name, name) != 0; i++)
    ;
  if (specs[i].name == NULL)
    return unknown_flag (specs, name, cmd, err);
  if (seen[i] && specs[i].type != FLAG_STRINGS)
    return cb_error_set (err, CBUILD_ERR_PARSE, "duplicate flag '--%s' for %s", name, cmd);
  seen[i] = true;
  if (specs[i].type == FLAG_BOOL && eq && eq[1] == '\0')
    return cb_error_set (err, CBUILD_ERR_PARSE, "missing value for flag '--%s' of %s", name, cmd);
  if (specs[i].type == FLAG_BOOL)
    return check_bool (name, eq ? eq + 1 : "", cmd, err);
  if (eq == NULL)
    return cb_error_set (err, CBUILD_ERR_PARSE, "missing value for flag '--%s' of %s", name, cmd);
  return check_value (name, eq + 1, err);
}

int
cb_df_check_flags (const struct cb_instruction *ins, size_t *bad, cbuild_error *err)
{
  const struct flag_spec *specs = flags_of (ins->cmd);
  bool seen[16] = { false };
  char cmd[16];

  upper (ins->cmd, cmd, sizeof cmd);
  for (size_t i = 0; i < ins->n_flags; i++)
    if (check_flag (specs, ins->flags[i], cmd, seen, err) < 0)
      {
        *bad = i;
        return -1;
      }
  return 0;
}

const char *
cb_instruction_flag (const struct cb_instruction *ins, const char *name)
{
  size_t n;

  if (strncmp (name, "--", 2) == 0)
    name += 2;
  n = strlen (name);
  for (size_t i = 0; i < ins->n_flags; i++)
    {
      const char *flag = ins->flags[i];
      if (strncmp (flag, "--", 2) != 0 || strncmp (flag + 2, name, n) != 0)
        continue;
      if (flag[2 + n] == '=')
        return flag + 3 + n;
      if (flag[2 + n] == '\0')
        return "";
    }
  return NULL;
}
