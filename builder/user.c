/* USER and --chown: names and numbers resolved through the image's
 * /etc/passwd and /etc/group, with the rules runc and BuildKit apply. */
#include "builder/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/copy_rootfs.h"
#include "common/cleanup.h"
#include "common/error.h"

/* Longer lines are skipped, so that a hostile image cannot make a line
 * grow without limit. */
#define LINE_MAX_LEN 4096
#define MAX_GROUPS 256

struct user_spec
{
  char *user;  /* name or number */
  char *group; /* NULL when not given */
  bool uid_numeric, gid_numeric;
  uint32_t uid, gid;
};

static void
user_spec_release (struct user_spec *spec)
{
  free (spec->user);
  free (spec->group);
}

/* Parses a uid or gid as runc does: decimal, at most 2^31 - 1. */
static bool
parse_id (const char *s, uint32_t *out)
{
  unsigned long long v = 0;

  if (*s == '\0')
    return false;
  for (; *s; s++)
    {
      if (*s < '0' || *s > '9')
        return false;
      v = v * 10 + (unsigned) (*s - '0');
      if (v > INT32_MAX)
        return false;
    }
  *out = (uint32_t) v;
  return true;
}

static int
parse_user_spec (const char *text, struct user_spec *spec, cbuild_error *err)
{
  const char *colon = strchr (text, ':');

  spec->user = colon ? strndup (text, (size_t) (colon - text)) : strdup (text);
  spec->group = colon && colon[1] ? strdup (colon + 1) : NULL;
  if (spec->user == NULL || (colon && colon[1] && spec->group == NULL))
    return cb_error_nomem (err);
  if (spec->user[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid user '%s': the user part is empty", text);
  spec->uid_numeric = parse_id (spec->user, &spec->uid);
  spec->gid_numeric = spec->group && parse_id (spec->group, &spec->gid);
  return 0;
}

/* Splits a colon-separated line in place into at most max fields. */
static size_t
split_fields (char *line, char **fields, size_t max)
{
  size_t n = 0;

  line[strcspn (line, "\r\n")] = '\0';
  while (n < max)
    {
      fields[n++] = line;
      line = strchr (line, ':');
      if (line == NULL)
        break;
      *line++ = '\0';
    }
  return n;
}

/* Opens /etc/passwd or /etc/group of the image, or returns NULL when it
 * cannot be opened. Like BuildKit, any failure counts as a missing file, so
 * numeric ids still work and names are not found. */
static FILE *
open_db (int root_fd, const char *path)
{
  int fd = cb_inroot_open (root_fd, path, O_RDONLY);
  FILE *f = fd >= 0 ? fdopen (fd, "r") : NULL;

  if (f == NULL && fd >= 0)
    close (fd);
  return f;
}

/* Reads the next line that fits into line; false at the end of the file. */
static bool
next_line (FILE *f, char *line, size_t size)
{
  while (fgets (line, (int) size, f))
    {
      size_t len = strlen (line);
      if (len + 1 < size || line[len - 1] == '\n')
        return true;
      while (fgets (line, (int) size, f) && line[strlen (line) - 1] != '\n')
        ;
    }
  return false;
}

/* Finds the user in passwd: by uid when numeric, else by name. Sets *found
 * and fills the uid, gid and name of the entry. */
static int
lookup_passwd (int root_fd, const struct user_spec *spec, bool *found, uint32_t *uid, uint32_t *gid,
               char **name, cbuild_error *err)
{
  cleanup_fclose FILE *f = open_db (root_fd, "/etc/passwd");
  char line[LINE_MAX_LEN];
  char *fields[7] = { NULL };

  *found = false;
  if (f == NULL)
    return 0;
  while (next_line (f, line, sizeof line))
    {
      uint32_t entry_uid, entry_gid;
      if (split_fields (line, fields, 7) < 4 || !parse_id (fields[2], &entry_uid)
          || !parse_id (fields[3], &entry_gid))
        continue;
      if (spec->uid_numeric ? entry_uid != spec->uid : strcmp (fields[0], spec->user) != 0)
        continue;
      *found = true;
      *uid = entry_uid;
      *gid = entry_gid;
      *name = strdup (fields[0]);
      return *name ? 0 : cb_error_nomem (err);
    }
  return 0;
}

static bool
member_of (char *members, const char *name)
{
  char *saveptr = NULL;

  for (char *m = strtok_r (members, ",", &saveptr); m; m = strtok_r (NULL, ",", &saveptr))
    if (strcmp (m, name) == 0)
      return true;
  return false;
}

static int
add_gid (gid_t **gids, size_t *n, gid_t gid, gid_t primary, cbuild_error *err)
{
  gid_t *grown;

  if (gid == primary || *n >= MAX_GROUPS)
    return 0;
  for (size_t i = 0; i < *n; i++)
    if ((*gids)[i] == gid)
      return 0;
  grown = realloc (*gids, (*n + 1) * sizeof *grown);
  if (grown == NULL)
    return cb_error_nomem (err);
  grown[(*n)++] = gid;
  *gids = grown;
  return 0;
}

/* Scans /etc/group once: resolves the explicit group when the spec has
 * one, else collects the groups that list user_name as a member. */
static int
scan_groups (int root_fd, const struct user_spec *spec, const char *user_name, gid_t *gid,
             gid_t **extra, size_t *n_extra, cbuild_error *err)
{
  cleanup_fclose FILE *f = open_db (root_fd, "/etc/group");
  char line[LINE_MAX_LEN];
  char *fields[4] = { NULL };

  while (f && next_line (f, line, sizeof line))
    {
      uint32_t entry_gid;
      if (split_fields (line, fields, 4) < 3 || !parse_id (fields[2], &entry_gid))
        continue;
      if (spec->group)
        {
          if (strcmp (fields[0], spec->group) != 0 && !(spec->gid_numeric && entry_gid == spec->gid))
            continue;
          *gid = entry_gid;
          return 0;
        }
      if (user_name && fields[3] && member_of (fields[3], user_name)
          && add_gid (extra, n_extra, entry_gid, *gid, err) < 0)
        return -1;
    }
  if (spec->group && !spec->gid_numeric)
    return cb_error_set (err, CBUILD_ERR_NOT_FOUND, "unable to find group %s: no matching entries in group file",
                         spec->group);
  if (spec->group)
    *gid = spec->gid;
  return 0;
}

int
cb_resolve_user (const char *rootfs, const char *spec_text, uid_t *uid, gid_t *gid, gid_t **additional_gids,
                 size_t *n_additional_gids, cbuild_error *err)
{
  cleanup_close int root_fd = open (rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  cleanup_free char *user_name = NULL;
  struct user_spec spec = { 0 };
  uint32_t found_uid = 0, found_gid = 0;
  bool found = false;
  gid_t group = 0;
  int ret = -1;

  *additional_gids = NULL;
  *n_additional_gids = 0;
  if (root_fd < 0)
    return cb_error_sys (err, errno, "open '%s'", rootfs);
  if (parse_user_spec (spec_text[0] ? spec_text : "0", &spec, err) < 0
      || lookup_passwd (root_fd, &spec, &found, &found_uid, &found_gid, &user_name, err) < 0)
    goto out;
  if (!found && !spec.uid_numeric)
    {
      cb_error_set (err, CBUILD_ERR_NOT_FOUND, "unable to find user %s: no matching entries in passwd file",
                    spec.user);
      goto out;
    }
  /* A uid without a passwd entry runs with gid 0, as in Docker. */
  group = found ? found_gid : 0;
  if (scan_groups (root_fd, &spec, user_name, &group, additional_gids, n_additional_gids, err) < 0)
    goto out;
  *uid = found ? found_uid : spec.uid;
  *gid = group;
  ret = 0;
out:
  if (ret < 0)
    {
      free (*additional_gids);
      *additional_gids = NULL;
      *n_additional_gids = 0;
    }
  user_spec_release (&spec);
  return ret;
}
