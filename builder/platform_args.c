/* Platforms in a Dockerfile: the automatic platform ARGs (BUILDPLATFORM,
 * TARGETARCH, ...), FROM --platform, and whether a stage's commands can run
 * here, natively or through a binfmt_misc emulator. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/build.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "parser/expand.h"

/* BuildKit normalizes as containerd does: arm64's default variant v8 is
 * left out, so BUILDPLATFORM is "linux/arm64" on such hosts. */
static const char *
arg_variant (const struct cb_platform *p)
{
  if (p->variant == NULL || (strcmp (p->arch, "arm64") == 0 && strcmp (p->variant, "v8") == 0))
    return "";
  return p->variant;
}

/* Sets PREFIXPLATFORM, PREFIXOS, PREFIXARCH and PREFIXVARIANT. */
static int
set_platform_args (struct cb_strv *args, const char *prefix, const struct cb_platform *p, cbuild_error *err)
{
  struct cb_platform shown = *p;
  char name[32], text[128];

  shown.variant = arg_variant (p);
  cb_platform_format (&shown, text, sizeof text);
  snprintf (name, sizeof name, "%sPLATFORM", prefix);
  if (cb_env_set (args, name, text, err) < 0)
    return -1;
  snprintf (name, sizeof name, "%sOS", prefix);
  if (cb_env_set (args, name, p->os, err) < 0)
    return -1;
  snprintf (name, sizeof name, "%sARCH", prefix);
  if (cb_env_set (args, name, p->arch, err) < 0)
    return -1;
  snprintf (name, sizeof name, "%sVARIANT", prefix);
  return cb_env_set (args, name, shown.variant, err);
}

int
cb_build_platform_args (struct cb_build *b, cbuild_error *err)
{
  struct cb_platform host;

  cb_platform_host (&host);
  if (set_platform_args (&b->platform_args, "BUILD", &host, err) < 0)
    return -1;
  return set_platform_args (&b->platform_args, "TARGET", &b->platform, err);
}

int
cb_build_global_env (struct cb_build *b, struct cb_strv *env, cbuild_error *err)
{
  if (cb_strv_copy (env, &b->platform_args, err) < 0)
    return -1;
  for (size_t i = 0; i < b->global_args.len; i++)
    {
      const char *item = b->global_args.items[i];
      size_t n = strcspn (item, "=");
      cleanup_free char *name = strndup (item, n);

      if (name == NULL)
        return cb_error_nomem (err);
      if (cb_env_set (env, name, item + n + 1, err) < 0)
        return -1;
    }
  return 0;
}

/* GOARCH aliases that platform strings use, with the variant they imply. */
static void
normalize_arch (struct cb_platform *p)
{
  static const struct
  {
    const char *alias, *arch, *variant;
  } aliases[] = {
    { "x86_64", "amd64", NULL }, { "x86-64", "amd64", NULL }, { "aarch64", "arm64", NULL },
    { "i386", "386", NULL },     { "i686", "386", NULL },     { "armhf", "arm", "v7" },
    { "armel", "arm", "v6" },
  };

  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp (p->arch, aliases[i].alias) == 0)
      {
        p->arch = aliases[i].arch;
        if (aliases[i].variant && p->variant == NULL)
          p->variant = aliases[i].variant;
        return;
      }
}

/* Parses "os/arch[/variant]", or "arch" alone, in text (lower-cased in
 * place); out points into text. */
static int
parse_platform (char *text, const struct cb_platform *target, struct cb_platform *out, cbuild_error *err)
{
  char *parts[4] = { NULL };
  size_t n = 0;

  for (char *p = text; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  for (char *save = NULL, *part = strtok_r (text, "/", &save); part; part = strtok_r (NULL, "/", &save))
    {
      if (n == 3)
        return cb_error_set (err, CBUILD_ERR_INVALID, "expected OS/ARCH[/VARIANT]");
      parts[n++] = part;
    }
  if (n == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "expected OS/ARCH[/VARIANT]");
  *out = *target;
  if (n == 1 && strcmp (parts[0], "linux") != 0)
    {
      out->arch = parts[0];
      out->variant = NULL;
    }
  else if (n > 1)
    {
      out->os = parts[0];
      out->arch = parts[1];
      out->variant = parts[2];
    }
  if (strcmp (out->os, "linux") != 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "OS '%s' is not supported: cbuild builds linux images only", out->os);
  if (out->arch[strspn (out->arch, "abcdefghijklmnopqrstuvwxyz0123456789_-")] != '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid architecture '%s'", out->arch);
  normalize_arch (out);
  return 0;
}

int
cb_build_set_target_platform (struct cb_build *b, cbuild_error *err)
{
  const char *spec = b->opts->platform;

  if (spec == NULL)
    return 0;
  if (strchr (spec, ','))
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "invalid --platform '%s': building several platforms at once is not supported yet; "
                         "build once per platform",
                         spec);
  b->platform_text = strdup (spec);
  if (b->platform_text == NULL)
    return cb_error_nomem (err);
  if (parse_platform (b->platform_text, &b->platform, &b->platform, err) < 0)
    return cb_error_prefix (err, "invalid --platform '%s'", spec);
  return 0;
}

int
cb_stage_set_platform (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *from,
                       cbuild_error *err)
{
  const char *flag = cb_instruction_flag (from, "platform");
  cleanup_strv struct cb_strv env = CB_STRV_INIT;

  st->platform = b->platform;
  if (flag == NULL)
    return 0;
  free (st->platform_text);
  st->platform_text = NULL;
  if (cb_build_global_env (b, &env, err) < 0
      || cb_expand_word (flag, b->df->escape, &env, &st->platform_text, err) < 0)
    return cb_error_prefix (err, "FROM --platform='%s'", flag);
  if (st->platform_text[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "FROM --platform='%s' expands to an empty platform (is a build argument missing?)", flag);
  if (parse_platform (st->platform_text, &b->platform, &st->platform, err) < 0)
    return cb_error_prefix (err, "invalid FROM --platform='%s'", flag);
  return 0;
}

/* Platforms that the host's CPU runs without an emulator.
 * NOTE: some arm64 CPUs have no 32-bit mode. On those, RUN in an arm stage
 * fails with "exec format error" unless qemu-arm is registered. */
static bool
runs_natively (const struct cb_platform *host, const struct cb_platform *p)
{
  if (strcmp (p->os, "linux") != 0)
    return false;
  if (cb_platform_matches (host, p->os, p->arch, p->variant))
    return true;
  /* amd64 variants (v2, v3, v4) name CPU feature levels of the same
   * instruction set, so an amd64 host runs them as BuildKit does. */
  if (strcmp (host->arch, "amd64") == 0 && strcmp (p->arch, "amd64") == 0)
    return true;
  return (strcmp (host->arch, "amd64") == 0 && strcmp (p->arch, "386") == 0)
         || (strcmp (host->arch, "arm64") == 0 && strcmp (p->arch, "arm") == 0);
}

/* The name QEMU's binfmt_misc entries use for a GOARCH. */
static const char *
qemu_arch (const char *arch)
{
  static const char *const names[][2] = {
    { "amd64", "x86_64" },   { "arm64", "aarch64" },  { "arm", "arm" },          { "386", "i386" },
    { "ppc64le", "ppc64le" }, { "ppc64", "ppc64" },    { "s390x", "s390x" },      { "riscv64", "riscv64" },
    { "mips64le", "mips64el" }, { "mips64", "mips64" }, { "loong64", "loongarch64" },
  };

  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp (arch, names[i][0]) == 0)
      return names[i][1];
  return NULL;
}

/* Whether the first line of path reads "enabled"; sets *exists. */
static bool
reads_enabled (const char *path, bool *exists)
{
  cleanup_fclose FILE *f = fopen (path, "re");
  char line[64] = "";

  *exists = f != NULL;
  if (f == NULL || fgets (line, sizeof line, f) == NULL)
    return false;
  return strncmp (line, "enabled", 7) == 0;
}

/* Why no emulator runs the entry at entry_path, or NULL when one does. */
static const char *
emulation_problem (const char *binfmt_dir, const char *entry_path, char *buf, size_t size)
{
  cleanup_free char *status = cb_path_join (binfmt_dir, "status");
  bool mounted = false, registered = false;

  if (status == NULL)
    return "out of memory";
  if (!reads_enabled (status, &mounted))
    snprintf (buf, size, "binfmt_misc is %s at %s", mounted ? "disabled" : "not mounted", binfmt_dir);
  else if (!reads_enabled (entry_path, &registered))
    snprintf (buf, size, "%s is %s", entry_path, registered ? "disabled" : "missing");
  else
    return NULL;
  return buf;
}

int
cb_platform_check_runnable (const struct cb_platform *p, const char *binfmt_dir, cbuild_error *err)
{
  struct cb_platform host;
  char want[128], have[128], reason[512];
  cleanup_free char *entry = NULL;
  const char *qemu = qemu_arch (p->arch);
  const char *problem;

  cb_platform_host (&host);
  if (runs_natively (&host, p))
    return 0;
  cb_platform_format (p, want, sizeof want);
  cb_platform_format (&host, have, sizeof have);
  if (qemu == NULL)
    return cb_error_set (err, CBUILD_ERR_RUNTIME, "platform '%s' differs from the host's '%s' and cbuild knows no emulator for it: build this stage on a %s host", want, have, want);
  if (asprintf (&entry, "%s/qemu-%s", binfmt_dir, qemu) < 0)
    return cb_error_nomem (err);
  problem = emulation_problem (binfmt_dir, entry, reason, sizeof reason);
  if (problem == NULL)
    return 0;
  return cb_error_set (err, CBUILD_ERR_RUNTIME,
                       "platform '%s' differs from the host's '%s' and no emulator for it is enabled (%s): install qemu-user-static and binfmt-support on the host (apt-get install qemu-user-static binfmt-support), which register qemu-%s, or build this stage on a %s host",
                       want, have, problem, qemu, want);
}
