/* Overlay mounts against the real kernel: merged view, whiteouts and opaque
 * directories in the upper directory, many layers, both mount APIs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/overlay.h"
#include "check.h"
#include "common/fs.h"

static char *base_dir;

static char *
path_in (const char *dir, const char *name)
{
  char *p = NULL;

  if (asprintf (&p, "%s/%s", dir, name) < 0)
    abort ();
  return p;
}

static void
write_text (const char *dir, const char *name, const char *text)
{
  char *p = path_in (dir, name);
  FILE *f = fopen (p, "w");

  if (f == NULL)
    abort ();
  fputs (text, f);
  fclose (f);
  free (p);
}

/* Returns the first line of dir/name, or "" when it cannot be read. */
static const char *
read_text (const char *dir, const char *name)
{
  static char line[256];
  char *p = path_in (dir, name);
  FILE *f = fopen (p, "r");

  line[0] = '\0';
  if (f)
    {
      if (fgets (line, sizeof line, f) == NULL)
        line[0] = '\0';
      fclose (f);
    }
  free (p);
  return line;
}

static void
make_dir (const char *dir, const char *name)
{
  char *p = path_in (dir, name);

  if (mkdir (p, 0755) < 0 && errno != EEXIST)
    abort ();
  free (p);
}

static bool
exists (const char *dir, const char *name)
{
  struct stat st;
  char *p = path_in (dir, name);
  bool ok = lstat (p, &st) == 0;

  free (p);
  return ok;
}

/* A fresh step: upper, work and merged directories under a new directory. */
struct step
{
  char *dir, *upper, *work, *merged;
};

static void
step_init (struct step *s, const char *name)
{
  s->dir = path_in (base_dir, name);
  mkdir (s->dir, 0755);
  s->upper = path_in (s->dir, "upper");
  s->work = path_in (s->dir, "work");
  s->merged = path_in (s->dir, "merged");
  mkdir (s->upper, 0755);
  mkdir (s->work, 0700);
  mkdir (s->merged, 0755);
}

static void
step_release (struct step *s)
{
  free (s->dir);
  free (s->upper);
  free (s->work);
  free (s->merged);
}

static void
make_two_lowers (const char *name, char **top, char **bottom)
{
  char *dir = path_in (base_dir, name);

  mkdir (dir, 0755);
  *top = path_in (dir, "top");
  *bottom = path_in (dir, "bottom");
  mkdir (*top, 0755);
  mkdir (*bottom, 0755);
  write_text (*bottom, "gone.txt", "base\n");
  write_text (*bottom, "shadowed.txt", "bottom\n");
  write_text (*bottom, "chmod.txt", "keep all of this content\n");
  make_dir (*bottom, "tree");
  write_text (*bottom, "tree/old.txt", "old\n");
  make_dir (*bottom, "moved");
  write_text (*top, "shadowed.txt", "top\n");
  write_text (*top, "top.txt", "only on top\n");
  free (dir);
}

static void
change_merged_view (const char *merged)
{
  char *p;

  p = path_in (merged, "gone.txt");
  CHECK (unlink (p) == 0);
  free (p);

  /* rm -rf tree && mkdir tree: the new directory must hide the old one. */
  p = path_in (merged, "tree/old.txt");
  CHECK (unlink (p) == 0);
  free (p);
  p = path_in (merged, "tree");
  CHECK (rmdir (p) == 0);
  CHECK (mkdir (p, 0755) == 0);
  free (p);
  write_text (merged, "tree/new.txt", "new\n");

  write_text (merged, "shadowed.txt", "replaced\n");
  write_text (merged, "created.txt", "created\n");

  p = path_in (merged, "chmod.txt");
  CHECK (chmod (p, 0600) == 0);
  free (p);
}

static void
check_rename_of_lower_dir_is_refused (const char *merged)
{
  char *from = path_in (merged, "moved");
  char *to = path_in (merged, "moved2");

  /* With redirect_dir=off the kernel refuses to rename a lower directory,
   * so that no redirect xattr can reach the upper directory. */
  CHECK (rename (from, to) < 0);
  CHECK_INT (errno, EXDEV);
  free (from);
  free (to);
}

static void
check_upper_after_changes (const char *upper)
{
  char value[8] = { 0 };
  struct stat st;
  char *p;

  p = path_in (upper, "gone.txt");
  CHECK (lstat (p, &st) == 0);
  CHECK (S_ISCHR (st.st_mode));
  CHECK_INT (st.st_rdev, makedev (0, 0));
  free (p);

  p = path_in (upper, "tree");
  CHECK_INT (lgetxattr (p, "trusted.overlay.opaque", value, sizeof value - 1), 1);
  CHECK_STR (value, "y");
  free (p);
  CHECK (!exists (upper, "tree/old.txt"));
  CHECK_STR (read_text (upper, "tree/new.txt"), "new\n");

  CHECK_STR (read_text (upper, "shadowed.txt"), "replaced\n");
  CHECK_STR (read_text (upper, "created.txt"), "created\n");
  CHECK (!exists (upper, "top.txt"));

  /* metacopy=off: a chmod copies the whole file up, data included. */
  p = path_in (upper, "chmod.txt");
  CHECK (lstat (p, &st) == 0);
  CHECK_INT (st.st_size, strlen ("keep all of this content\n"));
  CHECK_INT (st.st_mode & 07777, 0600);
  CHECK (lgetxattr (p, "trusted.overlay.metacopy", value, sizeof value) < 0);
  free (p);
}

static void
test_overlay_two_lowers (bool legacy)
{
  cbuild_error err = { 0 };
  char *top, *bottom;
  struct step s;
  const char *lowers[2];

  make_two_lowers (legacy ? "two-legacy" : "two-new", &top, &bottom);
  step_init (&s, legacy ? "step-legacy" : "step-new");
  lowers[0] = top;
  lowers[1] = bottom;
  CHECK_INT (cb_overlay_mount_with (lowers, 2, s.upper, s.work, s.merged, legacy, &err), 0);
  if (err.message[0])
    fprintf (stderr, "mount: %s\n", err.message);

  CHECK_STR (read_text (s.merged, "shadowed.txt"), "top\n");
  CHECK_STR (read_text (s.merged, "gone.txt"), "base\n");
  CHECK_STR (read_text (s.merged, "top.txt"), "only on top\n");
  change_merged_view (s.merged);
  check_rename_of_lower_dir_is_refused (s.merged);
  CHECK (!exists (s.merged, "gone.txt"));
  CHECK (!exists (s.merged, "tree/old.txt"));

  CHECK_INT (cb_overlay_unmount (s.merged, &err), 0);
  CHECK (!exists (s.merged, "shadowed.txt"));
  check_upper_after_changes (s.upper);
  CHECK_STR (read_text (bottom, "gone.txt"), "base\n");
  free (top);
  free (bottom);
  step_release (&s);
}

static void
test_overlay_no_lowers (void)
{
  cbuild_error err = { 0 };
  struct step s;

  step_init (&s, "step-empty");
  CHECK_INT (cb_overlay_mount (NULL, 0, s.upper, s.work, s.merged, &err), 0);
  CHECK (!exists (s.merged, ".cbuild-empty-lower"));
  make_dir (s.merged, "etc");
  write_text (s.merged, "etc/x", "x\n");
  CHECK_INT (cb_overlay_unmount (s.merged, &err), 0);
  CHECK_STR (read_text (s.upper, "etc/x"), "x\n");
  CHECK (!exists (s.merged, ".cbuild-empty-lower"));
  CHECK (!exists (s.merged, "etc"));
  step_release (&s);
}

/* Makes n lower layers with paths of about 150 bytes, layer i holding
 * "f<i>" and a "which" file saying which layer it came from. */
static char **
make_many_lowers (const char *name, size_t n)
{
  char **lowers = calloc (n, sizeof *lowers);
  char *dir = path_in (base_dir, name);
  char file[32], text[32];
  cbuild_error err = { 0 };

  for (size_t i = 0; i < n; i++)
    {
      if (asprintf (&lowers[i], "%s/a-rather-long-directory-name-for-layer-%03zu/"
                    "and-another-long-component-to-pass-the-page-limit/with-a-third-one-%03zu",
                    dir, i, i) < 0 || cb_mkdir_p (lowers[i], 0755, &err) < 0)
        abort ();
      snprintf (file, sizeof file, "f%zu", i);
      snprintf (text, sizeof text, "%zu\n", i);
      write_text (lowers[i], file, text);
      write_text (lowers[i], "which", text);
    }
  free (dir);
  return lowers;
}

static void
test_overlay_many_lowers (bool legacy)
{
  const size_t n = 200;
  char **lowers = make_many_lowers (legacy ? "many-legacy" : "many-new", n);
  cbuild_error err = { 0 };
  size_t total = 0;
  struct step s;

  for (size_t i = 0; i < n; i++)
    total += strlen (lowers[i]) + 1;
  CHECK (total > 4096);
  step_init (&s, legacy ? "step-many-legacy" : "step-many-new");
  CHECK_INT (cb_overlay_mount_with ((const char *const *) lowers, n, s.upper, s.work, s.merged, legacy, &err), 0);
  if (err.message[0])
    fprintf (stderr, "mount: %s\n", err.message);
  CHECK (exists (s.merged, "f0"));
  CHECK (exists (s.merged, "f199"));
  CHECK_STR (read_text (s.merged, "which"), "0\n");
  CHECK_INT (cb_overlay_unmount (s.merged, &err), 0);
  for (size_t i = 0; i < n; i++)
    free (lowers[i]);
  free (lowers);
  step_release (&s);
}

/* A lower path over fsconfig's 256-byte value limit and with the ':' and
 * ',' that the mount(2) option syntax splits on. */
static void
test_overlay_awkward_lower_path (bool legacy)
{
  cbuild_error err = { 0 };
  char *lower = NULL;
  const char *lowers[1];
  struct step s;

  if (asprintf (&lower, "%s/odd:name,%s/%0240d", base_dir, legacy ? "legacy" : "new", 7) < 0
      || cb_mkdir_p (lower, 0755, &err) < 0)
    abort ();
  CHECK (strlen (lower) > 256);
  write_text (lower, "odd.txt", "odd\n");
  step_init (&s, legacy ? "step-odd-legacy" : "step-odd-new");
  lowers[0] = lower;
  CHECK_INT (cb_overlay_mount_with (lowers, 1, s.upper, s.work, s.merged, legacy, &err), 0);
  if (err.message[0])
    fprintf (stderr, "mount: %s\n", err.message);
  CHECK_STR (read_text (s.merged, "odd.txt"), "odd\n");
  CHECK_INT (cb_overlay_unmount (s.merged, &err), 0);
  free (lower);
  step_release (&s);
}

static void
test_overlay_unmount_not_mounted (void)
{
  cbuild_error err = { 0 };
  char *dir = path_in (base_dir, "not-mounted");

  mkdir (dir, 0755);
  CHECK_INT (cb_overlay_unmount (dir, &err), -1);
  CHECK (strstr (err.message, "not-mounted") != NULL);
  free (dir);
}

static void
test_overlay_missing_lower (void)
{
  cbuild_error err = { 0 };
  char *missing = path_in (base_dir, "no-such-layer");
  const char *lowers[1] = { missing };
  struct step s;

  step_init (&s, "step-missing");
  CHECK_INT (cb_overlay_mount (lowers, 1, s.upper, s.work, s.merged, &err), -1);
  CHECK (strstr (err.message, "no-such-layer") != NULL);
  free (missing);
  step_release (&s);
}

int
main (void)
{
  cbuild_error err = { 0 };

  if (geteuid () != 0)
    {
      printf ("skipped: overlay mounts need root\n");
      return 77;
    }
  base_dir = cb_make_temp_dir ("/var/tmp", "cbuild-test-overlay", &err);
  if (base_dir == NULL)
    return 1;
  test_overlay_two_lowers (false);
  test_overlay_two_lowers (true);
  test_overlay_no_lowers ();
  test_overlay_many_lowers (false);
  test_overlay_many_lowers (true);
  test_overlay_awkward_lower_path (false);
  test_overlay_awkward_lower_path (true);
  test_overlay_unmount_not_mounted ();
  test_overlay_missing_lower ();
  cb_remove_tree (base_dir, &err);
  free (base_dir);
  return check_report ();
}
