/* HEALTHCHECK: the image config's Healthcheck object. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "common/cleanup.h"
#include "common/error.h"

/* Parses a Go duration such as "30s", "1m30s" or "500ms" into nanoseconds. */
static int
parse_duration (const char *s, int64_t *out)
{
  static const struct { const char *unit; int64_t ns; } units[] = {
    { "ns", 1 }, { "us", 1000 }, { "µs", 1000 }, { "ms", 1000000 },
    { "s", 1000000000LL }, { "m", 60000000000LL }, { "h", 3600000000000LL },
  };
  int64_t total = 0;

  if (*s == '\0')
    return -1;
  if (strcmp (s, "0") == 0)
    {
      *out = 0;
      return 0;
    }
  while (*s)
    {
      char *end;
      double value = strtod (s, &end);
      size_t best = 0, best_len = 0;

      if (end == s || value < 0)
        return -1;
      for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        {
          size_t n = strlen (units[i].unit);
          if (strncmp (end, units[i].unit, n) == 0 && n > best_len)
            best = i, best_len = n;
        }
      if (best_len == 0)
        return -1;
      total += (int64_t) (value * (double) units[best].ns);
      s = end + best_len;
    }
  *out = total;
  return 0;
}

static int
set_duration (const struct cb_instruction *ins, json_t *hc, const char *flag, const char *key,
              cbuild_error *err)
{
  const char *value = cb_instruction_flag (ins, flag);
  int64_t ns;

  if (value == NULL)
    return 0;
  if (parse_duration (value, &ns) < 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid duration '%s' for HEALTHCHECK --%s (use e.g. 30s or 1m30s)", value, flag);
  if (ns != 0 && ns < 1000000)
    return cb_error_set (err, CBUILD_ERR_PARSE, "HEALTHCHECK --%s cannot be less than 1ms", flag);
  json_object_set_new (hc, key, json_integer (ns));
  return 0;
}

static int
set_retries (const struct cb_instruction *ins, json_t *hc, cbuild_error *err)
{
  const char *value = cb_instruction_flag (ins, "retries");
  char *end;
  long n;

  if (value == NULL)
    return 0;
  n = strtol (value, &end, 10);
  if (*value == '\0' || *end != '\0' || n < 0)
    return cb_error_set (err, CBUILD_ERR_PARSE, "invalid HEALTHCHECK --retries '%s': must be a non-negative integer", value);
  if (n > 0)
    json_object_set_new (hc, "Retries", json_integer (n));
  return 0;
}

static json_t *
health_test (struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  json_t *test = json_array ();

  if (ins->n_args > 0 && strcasecmp (ins->args[0], "NONE") == 0)
    {
      json_array_append_new (test, json_string ("NONE"));
      return test;
    }
  if (ins->json)
    json_array_append_new (test, json_string ("CMD"));
  else
    json_array_append_new (test, json_string ("CMD-SHELL"));
  for (size_t i = 1; i < ins->n_args; i++)
    json_array_append_new (test, json_string (ins->args[i]));
  if (json_array_size (test) < 2)
    {
      json_decref (test);
      cb_error_set (err, CBUILD_ERR_PARSE, "HEALTHCHECK CMD requires a command");
      return NULL;
    }
  (void) st;
  return test;
}

int
cb_dispatch_healthcheck (struct cb_stage *st, const struct cb_instruction *ins, cbuild_error *err)
{
  cleanup_free char *msg = NULL;
  json_t *hc = json_object ();
  json_t *test;

  if (hc == NULL)
    return cb_error_nomem (err);
  test = health_test (st, ins, err);
  if (test == NULL)
    {
      json_decref (hc);
      return -1;
    }
  json_object_set_new (hc, "Test", test);
  if (set_duration (ins, hc, "interval", "Interval", err) < 0 || set_duration (ins, hc, "timeout", "Timeout", err) < 0
      || set_duration (ins, hc, "start-period", "StartPeriod", err) < 0
      || set_duration (ins, hc, "start-interval", "StartInterval", err) < 0 || set_retries (ins, hc, err) < 0)
    {
      json_decref (hc);
      return -1;
    }
  json_object_set_new (cb_image_runconfig (&st->image), "Healthcheck", hc);
  if (asprintf (&msg, "%s", ins->original) < 0)
    return cb_error_nomem (err);
  return cb_image_add_history (&st->image, msg, NULL, err);
}
