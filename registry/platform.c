/* Platforms in the OCI image index's terms (GOOS/GOARCH names). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "registry/client.h"

struct machine_name
{
  const char *machine; /* uname -m */
  const char *arch;    /* GOARCH */
  const char *variant;
};

static const struct machine_name machines[] = {
  { "x86_64", "amd64", NULL },     { "amd64", "amd64", NULL },    { "aarch64", "arm64", "v8" },
  { "arm64", "arm64", "v8" },      { "armv8l", "arm", "v8" },     { "armv7l", "arm", "v7" },
  { "armv7", "arm", "v7" },        { "armv6l", "arm", "v6" },     { "armv5tel", "arm", "v5" },
  { "armv5tejl", "arm", "v5" },    { "i386", "386", NULL },       { "i486", "386", NULL },
  { "i586", "386", NULL },         { "i686", "386", NULL },       { "ppc64le", "ppc64le", NULL },
  { "ppc64", "ppc64", NULL },      { "s390x", "s390x", NULL },    { "riscv64", "riscv64", NULL },
  { "mips64", "mips64", NULL },    { "loongarch64", "loong64", NULL },
};

/* NOTE: uname reports the kernel's machine, so a 32-bit userland on a
 * 64-bit kernel is taken for the 64-bit platform. */
void
cb_platform_host (struct cb_platform *out)
{
  static __thread char unknown[sizeof ((struct utsname *) 0)->machine];
  struct utsname u;

  out->os = "linux";
  out->arch = "amd64";
  out->variant = NULL;
  if (uname (&u) < 0)
    return;
  for (size_t i = 0; i < sizeof machines / sizeof machines[0]; i++)
    if (strcmp (u.machine, machines[i].machine) == 0)
      {
        out->arch = machines[i].arch;
        out->variant = machines[i].variant;
        return;
      }
  snprintf (unknown, sizeof unknown, "%s", u.machine);
  out->arch = unknown;
}

struct normalized
{
  const char *arch;
  char variant[16]; /* "" for none */
};

static void
normalize (const char *arch, const char *variant, struct normalized *out)
{
  if (variant && *variant && variant[0] != 'v')
    snprintf (out->variant, sizeof out->variant, "v%s", variant);
  else
    snprintf (out->variant, sizeof out->variant, "%s", variant ? variant : "");
  out->arch = arch ? arch : "";
  if (strcmp (out->arch, "x86_64") == 0 || strcmp (out->arch, "x86-64") == 0)
    out->arch = "amd64";
  else if (strcmp (out->arch, "aarch64") == 0)
    out->arch = "arm64";
  else if (strcmp (out->arch, "armhf") == 0)
    {
      out->arch = "arm";
      strcpy (out->variant, "v7");
    }
  else if (strcmp (out->arch, "armel") == 0)
    {
      out->arch = "arm";
      strcpy (out->variant, "v6");
    }
  else if (strcmp (out->arch, "i386") == 0)
    out->arch = "386";

  /* The defaults the OCI image index and containerd assume. */
  if (strcmp (out->arch, "arm64") == 0 && out->variant[0] == '\0')
    strcpy (out->variant, "v8");
  else if (strcmp (out->arch, "arm") == 0 && out->variant[0] == '\0')
    strcpy (out->variant, "v7");
  else if (strcmp (out->arch, "amd64") == 0 && strcmp (out->variant, "v1") == 0)
    out->variant[0] = '\0';
}

bool
cb_platform_matches (const struct cb_platform *want, const char *os, const char *arch, const char *variant)
{
  struct normalized a, b;

  if (os == NULL || strcasecmp (os, want->os ? want->os : "linux") != 0)
    return false;
  normalize (want->arch, want->variant, &a);
  normalize (arch, variant, &b);
  return strcmp (a.arch, b.arch) == 0 && strcmp (a.variant, b.variant) == 0;
}

void
cb_platform_format (const struct cb_platform *p, char *buf, size_t size)
{
  snprintf (buf, size, "%s/%s%s%s", p->os ? p->os : "linux", p->arch ? p->arch : "?",
            p->variant && *p->variant ? "/" : "", p->variant && *p->variant ? p->variant : "");
}
