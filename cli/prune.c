/* cbuild prune and cbuild du: the state directory's build cache. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cbuild/cbuild.h>

#include "cli/cli.h"

/* Parses "512", "100MB", "10GiB"... into bytes (decimal and binary units,
 * case-insensitive, as docker's --keep-storage accepts them). */
static int
parse_size (const char *s, long long *out)
{
  static const struct { const char *unit; long long factor; } units[] = {
    { "", 1 }, { "b", 1 }, { "kb", 1000LL }, { "mb", 1000000LL }, { "gb", 1000000000LL },
    { "tb", 1000000000000LL }, { "kib", 1LL << 10 }, { "mib", 1LL << 20 }, { "gib", 1LL << 30 },
    { "tib", 1LL << 40 }, { "k", 1000LL }, { "m", 1000000LL }, { "g", 1000000000LL },
  };
  char *end;
  double value = strtod (s, &end);

  if (end == s || value < 0)
    return -1;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcasecmp (end, units[i].unit) == 0)
      {
        *out = (long long) (value * (double) units[i].factor);
        return 0;
      }
  return -1;
}

/* Parses "until=DURATION" with Go duration units (s, m, h) into seconds. */
static int
parse_until (const char *filter, long long *seconds)
{
  const char *p;
  double total = 0;

  if (strncmp (filter, "until=", 6) != 0 || filter[6] == '\0')
    return -1;
  p = filter + 6;
  while (*p)
    {
      char *end;
      double value = strtod (p, &end);
      if (end == p || value < 0)
        return -1;
      if (*end == 'h')
        total += value * 3600;
      else if (*end == 'm')
        total += value * 60;
      else if (*end == 's')
        total += value;
      else
        return -1;
      p = end + 1;
    }
  *seconds = (long long) total;
  return total > 0 ? 0 : -1;
}

static void
print_size (const char *what, long long bytes)
{
  printf ("%-14s %10.1f MB\n", what, (double) bytes / 1e6);
}

int
cli_prune (int argc, char **argv)
{
  static const struct option options[] = {
    { "keep-storage", required_argument, NULL, 'k' },
    { "filter", required_argument, NULL, 'F' },
    { "root", required_argument, NULL, 'r' },
    { NULL, 0, NULL, 0 },
  };
  const char *root = NULL;
  long long keep = 0, until = 0, freed = 0;
  cbuild_error err = { 0 };
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "", options, NULL)) != -1)
    {
      if (c == 'k' && parse_size (optarg, &keep) < 0)
        return cli_usage_error ("invalid --keep-storage: expected a size such as 10GB or 512MiB");
      if (c == 'F' && parse_until (optarg, &until) < 0)
        return cli_usage_error ("invalid --filter: expected until=DURATION, such as until=24h or until=90m");
      if (c == 'r')
        root = optarg;
      if (c == '?')
        return 2;
    }
  if (optind != argc)
    return cli_usage_error ("prune takes no arguments besides its options");
  if (cbuild_prune (root, keep, until, &freed, &err) < 0)
    {
      fprintf (stderr, "cbuild: error: %s\n", err.message);
      return 1;
    }
  printf ("reclaimed %.1f MB\n", (double) freed / 1e6);
  return 0;
}

int
cli_du (int argc, char **argv)
{
  static const struct option options[] = {
    { "root", required_argument, NULL, 'r' },
    { NULL, 0, NULL, 0 },
  };
  const char *root = NULL;
  cbuild_disk_usage usage;
  cbuild_error err = { 0 };
  int c;

  optind = 1;
  while ((c = getopt_long (argc, argv, "", options, NULL)) != -1)
    {
      if (c == 'r')
        root = optarg;
      else
        return 2;
    }
  if (cbuild_disk_usage_get (root, &usage, &err) < 0)
    {
      fprintf (stderr, "cbuild: error: %s\n", err.message);
      return 1;
    }
  print_size ("images", usage.images);
  print_size ("build cache", usage.cache);
  print_size ("unreferenced", usage.unreferenced);
  print_size ("snapshots", usage.snapshots);
  print_size ("cache mounts", usage.cache_mounts);
  print_size ("temporary", usage.temporary);
  printf ("%-14s %10zu\n", "cache entries", usage.cache_entries);
  return 0;
}
