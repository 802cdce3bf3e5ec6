/* COPY and ADD from a real context directory into a root file system:
 * directory and file rules, .dockerignore, wildcards, owners and modes,
 * archives, and hostile symlinks on both sides. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy.h"
#include "check.h"
#include "common/fs.h"
#include "parser/dockerignore.h"

static char *base_dir;
static char *context;
static struct cb_ignore *ignore;

static char *
path_in (const char *dir, const char *name)
{
  char *p = NULL;

  if (asprintf (&p, "%s/%s", dir, name) < 0)
    abort ();
  return p;
}

static void
write_file (const char *dir, const char *name, const char *text, mode_t mode)
{
  char *p = path_in (dir, name);
  FILE *f = fopen (p, "w");
  struct timespec times[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

  if (f == NULL)
    abort ();
  fputs (text, f);
  fclose (f);
  chmod (p, mode);
  utimensat (AT_FDCWD, p, times, 0);
  free (p);
}

static void
make_dir (const char *dir, const char *name, mode_t mode)
{
  char *p = path_in (dir, name);

  if (mkdir (p, mode) < 0 && errno != EEXIST)
    abort ();
  chmod (p, mode);
  free (p);
}

static void
make_link (const char *dir, const char *name, const char *target)
{
  char *p = path_in (dir, name);

  if (symlink (target, p) < 0)
    abort ();
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

static bool
lstat_in (const char *dir, const char *name, struct stat *st)
{
  char *p = path_in (dir, name);
  bool ok = lstat (p, st) == 0;

  free (p);
  return ok;
}

static bool
exists (const char *dir, const char *name)
{
  struct stat st;

  return lstat_in (dir, name, &st);
}

static const char *
link_target (const char *dir, const char *name)
{
  static char target[256];
  char *p = path_in (dir, name);
  ssize_t n = readlink (p, target, sizeof target - 1);

  target[n > 0 ? n : 0] = '\0';
  free (p);
  return target;
}

static int __attribute__ ((format (printf, 1, 2)))
run_command (const char *fmt, ...)
{
  char cmd[1024];
  va_list ap;

  va_start (ap, fmt);
  vsnprintf (cmd, sizeof cmd, fmt, ap);
  va_end (ap);
  return system (cmd);
}

static char *
new_rootfs (const char *name)
{
  char *root = path_in (base_dir, name);

  mkdir (root, 0755);
  make_dir (root, "etc", 0755);
  write_file (root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0644);
  return root;
}

static void
make_context (void)
{
  static const char ignore_text[] = "secret.txt\nlogs\n!logs/keep.log\nnode_modules\n";
  cbuild_error err = { 0 };

  context = path_in (base_dir, "context");
  mkdir (context, 0755);
  write_file (context, "app.py", "print('app')\n", 0644);
  write_file (context, "run.sh", "#!/bin/sh\n", 0755);
  write_file (context, "secret.txt", "secret\n", 0600);
  make_dir (context, "src", 0750);
  write_file (context, "src/a.txt", "a\n", 0640);
  make_dir (context, "src/sub", 0711);
  write_file (context, "src/sub/c.txt", "c\n", 0644);
  make_link (context, "src/link", "a.txt");
  make_link (context, "src/abs", "/etc/passwd");
  make_dir (context, "logs", 0755);
  write_file (context, "logs/keep.log", "keep\n", 0644);
  write_file (context, "logs/drop.log", "drop\n", 0644);
  make_dir (context, "node_modules", 0755);
  write_file (context, "node_modules/m.js", "m\n", 0644);
  make_dir (context, "docs", 0755);
  write_file (context, "docs/x.md", "x\n", 0644);
  write_file (context, "docs/y.md", "y\n", 0644);
  write_file (context, "docs/z.txt", "z\n", 0644);
  write_file (context, "a[1].txt", "bracket\n", 0644);
  /* Hostile links: each points at a host file or directory. */
  make_link (context, "evil_dir", "/etc");
  make_link (context, "evil_rel", "../../../../../../../../etc/passwd");
  make_link (context, "evil_abs", "/etc/passwd");
  make_link (context, "good_link", "src");
  if (cb_ignore_parse (ignore_text, sizeof ignore_text - 1, &ignore, &err) < 0)
    abort ();
}

/* Runs one COPY (or ADD) of the given sources. */
static int
copy_to (const char *rootfs, const char *const *sources, size_t n, const char *dest, bool is_add,
         cbuild_error *err)
{
  struct cb_copy_request req = { .context_dir = context, .ignore = ignore, .sources = sources, .n_sources = n,
                                 .dest = dest, .workdir = "/work", .rootfs = rootfs, .is_add = is_add };

  memset (err, 0, sizeof *err);
  return cb_copy_from_context (&req, err);
}

static int
copy_one (const char *rootfs, const char *source, const char *dest)
{
  cbuild_error err;
  const char *sources[1] = { source };
  int ret = copy_to (rootfs, sources, 1, dest, false, &err);

  if (ret < 0)
    fprintf (stderr, "COPY %s %s: %s\n", source, dest, err.message);
  return ret;
}

static void
check_copy_fails (const char *rootfs, const char *source, const char *dest, const char *want)
{
  cbuild_error err;
  const char *sources[1] = { source };

  CHECK_INT (copy_to (rootfs, sources, 1, dest, false, &err), -1);
  CHECK_STR (err.message, want);
}

static void
test_copy_file_rules (void)
{
  char *root = new_rootfs ("root-files");
  struct stat st;

  CHECK_INT (copy_one (root, "app.py", "/app/"), 0);
  CHECK_STR (read_text (root, "app/app.py"), "print('app')\n");
  CHECK (lstat_in (root, "app/app.py", &st));
  CHECK_INT (st.st_mode & 07777, 0644);
  CHECK_INT (st.st_mtim.tv_sec, 1000000000);
  CHECK_INT (st.st_uid, 0);
  CHECK (lstat_in (root, "app", &st));
  CHECK_INT (st.st_mode & 07777, 0755);

  CHECK_INT (copy_one (root, "run.sh", "/opt/bin/start"), 0);
  CHECK (lstat_in (root, "opt/bin/start", &st));
  CHECK (S_ISREG (st.st_mode));
  CHECK_INT (st.st_mode & 07777, 0755);

  /* An existing directory takes the file inside, even without a '/'. */
  CHECK_INT (copy_one (root, "run.sh", "/app"), 0);
  CHECK (exists (root, "app/run.sh"));

  /* Relative destinations are below WORKDIR; "." is a directory. */
  CHECK_INT (copy_one (root, "app.py", "."), 0);
  CHECK (exists (root, "work/app.py"));
  CHECK_INT (copy_one (root, "app.py", "rel/"), 0);
  CHECK (exists (root, "work/rel/app.py"));

  /* "/x" and "../x" name context files. */
  CHECK_INT (copy_one (root, "../../app.py", "/clamp/"), 0);
  CHECK_STR (read_text (root, "clamp/app.py"), "print('app')\n");
  CHECK_INT (copy_one (root, "/run.sh", "/clamp/"), 0);
  CHECK (exists (root, "clamp/run.sh"));

  /* An existing file is replaced. */
  write_file (root, "existing.txt", "old\n", 0644);
  CHECK_INT (copy_one (root, "app.py", "/existing.txt"), 0);
  CHECK_STR (read_text (root, "existing.txt"), "print('app')\n");
  free (root);
}

static void
test_copy_directory_contents (void)
{
  char *root = new_rootfs ("root-dirs");
  struct stat st;

  CHECK_INT (copy_one (root, "src", "/dst"), 0);
  CHECK_STR (read_text (root, "dst/a.txt"), "a\n");
  CHECK_STR (read_text (root, "dst/sub/c.txt"), "c\n");
  CHECK (!exists (root, "dst/src"));
  CHECK (lstat_in (root, "dst/link", &st) && S_ISLNK (st.st_mode));
  CHECK_STR (link_target (root, "dst/link"), "a.txt");
  /* A symlink inside a directory source is copied, never followed. */
  CHECK (lstat_in (root, "dst/abs", &st) && S_ISLNK (st.st_mode));
  CHECK_STR (link_target (root, "dst/abs"), "/etc/passwd");
  /* The created destination is made like a parent, as in BuildKit; the
   * directories below it take their source's mode. */
  CHECK (lstat_in (root, "dst", &st));
  CHECK_INT (st.st_mode & 07777, 0755);
  CHECK (lstat_in (root, "dst/sub", &st));
  CHECK_INT (st.st_mode & 07777, 0711);
  CHECK (lstat_in (root, "dst/a.txt", &st));
  CHECK_INT (st.st_mode & 07777, 0640);

  /* A symlink named as the source is followed, inside the context. */
  CHECK_INT (copy_one (root, "good_link", "/followed/"), 0);
  CHECK_STR (read_text (root, "followed/a.txt"), "a\n");

  /* A directory over an existing file fails and names the path. */
  write_file (root, "plain", "x\n", 0644);
  check_copy_fails (root, "src", "/plain", "copy a directory to '/plain': Not a directory");

  /* A file over an existing directory inside a tree fails too. */
  make_dir (root, "tree", 0755);
  make_dir (root, "tree/a.txt", 0755);
  check_copy_fails (root, "src", "/tree/", "cannot replace directory '/tree/a.txt' with a non-directory");
  free (root);
}

static void
test_copy_dockerignore (void)
{
  char *root = new_rootfs ("root-ignore");

  CHECK_INT (copy_one (root, ".", "/all/"), 0);
  CHECK (exists (root, "all/app.py"));
  CHECK (exists (root, "all/src/sub/c.txt"));
  CHECK (!exists (root, "all/secret.txt"));
  CHECK (!exists (root, "all/node_modules"));
  CHECK_STR (read_text (root, "all/logs/keep.log"), "keep\n");
  CHECK (!exists (root, "all/logs/drop.log"));

  check_copy_fails (root, "secret.txt", "/x/", "'secret.txt' is excluded from the build context by .dockerignore");
  check_copy_fails (root, "node_modules", "/x/", "'node_modules' is excluded from the build context by .dockerignore");
  check_copy_fails (root, "requirements.txt", "/x/", "'requirements.txt' not found in the build context");
  CHECK_INT (copy_one (root, "logs", "/logs/"), 0);
  CHECK (exists (root, "logs/keep.log"));
  CHECK (!exists (root, "logs/drop.log"));
  free (root);
}

static void
test_copy_wildcards (void)
{
  char *root = new_rootfs ("root-wild");
  cbuild_error err;
  const char *two[2] = { "app.py", "run.sh" };

  CHECK_INT (copy_one (root, "docs/*.md", "/docs/"), 0);
  CHECK (exists (root, "docs/x.md"));
  CHECK (exists (root, "docs/y.md"));
  CHECK (!exists (root, "docs/z.txt"));
  CHECK_INT (copy_one (root, "docs/x*", "/single.md"), 0);
  CHECK_STR (read_text (root, "single.md"), "x\n");
  CHECK_INT (copy_one (root, "d?cs/[xz].*", "/picked/"), 0);
  CHECK (exists (root, "picked/x.md"));
  CHECK (exists (root, "picked/z.txt"));
  CHECK (!exists (root, "picked/y.md"));
  CHECK_INT (copy_one (root, "a\\[1\\]*", "/escaped/"), 0);
  CHECK_STR (read_text (root, "escaped/a[1].txt"), "bracket\n");
  /* A wildcard does not match what .dockerignore excludes. */
  CHECK_INT (copy_one (root, "*.txt", "/txt/"), 0);
  CHECK (exists (root, "txt/a[1].txt"));
  CHECK (!exists (root, "txt/secret.txt"));

  check_copy_fails (root, "*.nothing", "/x/", "no files in the build context match '*.nothing'");
  check_copy_fails (root, "docs/*.md", "/not-a-dir",
                    "COPY with more than one source file needs a directory destination ending in '/': '/not-a-dir'");
  check_copy_fails (root, "docs/[", "/x/", "invalid wildcard pattern 'docs/['");

  CHECK_INT (copy_to (root, two, 2, "/multi", false, &err), -1);
  CHECK (strstr (err.message, "'/multi'") != NULL);
  CHECK_INT (copy_to (root, two, 2, "/multi/", false, &err), 0);
  CHECK (exists (root, "multi/app.py"));
  CHECK (exists (root, "multi/run.sh"));
  free (root);
}

static void
test_copy_chown_chmod (void)
{
  char *root = new_rootfs ("root-owner");
  const char *sources[1] = { "src" };
  struct cb_copy_request req = { .context_dir = context, .ignore = ignore, .sources = sources, .n_sources = 1,
                                 .dest = "/owned/deep/", .workdir = "/", .rootfs = root, .chown_set = true,
                                 .uid = 1000, .gid = 1001, .chmod_set = true, .mode = 0600 };
  cbuild_error err = { 0 };
  struct stat st;

  CHECK_INT (cb_copy_from_context (&req, &err), 0);
  CHECK (lstat_in (root, "owned/deep/a.txt", &st));
  CHECK_INT (st.st_uid, 1000);
  CHECK_INT (st.st_gid, 1001);
  CHECK_INT (st.st_mode & 07777, 0600);
  CHECK (lstat_in (root, "owned/deep/sub", &st));
  CHECK_INT (st.st_mode & 07777, 0600);
  CHECK_INT (st.st_uid, 1000);
  CHECK (lstat_in (root, "owned/deep/link", &st));
  CHECK_INT (st.st_uid, 1000);
  /* Created parents belong to the --chown user too, as in BuildKit. */
  CHECK (lstat_in (root, "owned", &st));
  CHECK_INT (st.st_uid, 1000);
  CHECK_INT (st.st_mode & 07777, 0755);
  free (root);
}

/* Symlinks in the context that point out of it resolve inside it. */
static void
test_copy_hostile_context_links (void)
{
  char *root = new_rootfs ("root-hostile-ctx");
  char *ctx_etc = path_in (context, "etc");

  check_copy_fails (root, "evil_rel", "/h1", "'evil_rel' not found in the build context");
  check_copy_fails (root, "evil_abs", "/h2", "'evil_abs' not found in the build context");
  check_copy_fails (root, "evil_dir", "/h3/", "'evil_dir' not found in the build context");
  check_copy_fails (root, "evil_dir/passwd", "/h4", "'evil_dir/passwd' not found in the build context");

  /* With an etc/passwd in the context, the links find that one. */
  mkdir (ctx_etc, 0755);
  write_file (ctx_etc, "passwd", "context passwd\n", 0644);
  CHECK_INT (copy_one (root, "evil_abs", "/h5"), 0);
  CHECK_STR (read_text (root, "h5"), "context passwd\n");
  CHECK_INT (copy_one (root, "evil_rel", "/h6"), 0);
  CHECK_STR (read_text (root, "h6"), "context passwd\n");
  CHECK_INT (run_command ("rm -r '%s'", ctx_etc), 0);
  free (ctx_etc);
  free (root);
}

/* Symlinks in the image that point out of it resolve inside it. */
static void
test_copy_hostile_rootfs_links (void)
{
  char *root = new_rootfs ("root-hostile");
  char *outside = path_in (base_dir, "outside");
  char *outside_abs = path_in (base_dir, "outside-abs");
  char *rel_target = NULL;
  char *landed = NULL;
  struct stat st;

  mkdir (outside, 0755);
  mkdir (outside_abs, 0755);
  if (asprintf (&rel_target, "../../../../../../../..%s", outside) < 0)
    abort ();
  make_link (root, "app", "/etc");
  make_link (root, "up", rel_target);
  make_link (root, "abs", outside_abs);
  make_link (root, "etc/link.conf", "/etc/real.conf");

  CHECK_INT (copy_one (root, "app.py", "/app/cbuild-test-copy-marker.py"), 0);
  CHECK (exists (root, "etc/cbuild-test-copy-marker.py"));
  CHECK (access ("/etc/cbuild-test-copy-marker.py", F_OK) < 0);

  CHECK_INT (copy_one (root, "src", "/up/"), 0);
  CHECK (!exists (outside, "a.txt"));
  if (asprintf (&landed, "%s/a.txt", outside + 1) < 0)
    abort ();
  CHECK_STR (read_text (root, landed), "a\n");

  CHECK_INT (copy_one (root, "app.py", "/abs/x/"), 0);
  CHECK (!exists (outside_abs, "x"));
  CHECK (lstat_in (root, "abs", &st) && S_ISLNK (st.st_mode));

  /* A destination that is a symlink is written through, inside rootfs. */
  CHECK_INT (copy_one (root, "app.py", "/etc/link.conf"), 0);
  CHECK_STR (read_text (root, "etc/real.conf"), "print('app')\n");
  CHECK (lstat_in (root, "etc/link.conf", &st) && S_ISLNK (st.st_mode));
  free (landed);
  free (rel_target);
  free (outside);
  free (outside_abs);
  free (root);
}

/* An archive built with tar(1): d/f.txt owned by 1234:5678, a symlink and
 * a hard link to it. */
static void
make_tar (const char *name, const char *tar_flags, const char *member)
{
  char *src = path_in (base_dir, "tar-src");
  char *archive = path_in (context, name);

  if (!exists (base_dir, "tar-src"))
    {
      mkdir (src, 0755);
      make_dir (src, "d", 0700);
      write_file (src, "d/f.txt", "in the archive\n", 0640);
      make_link (src, "d/l", "f.txt");
      run_command ("chown 1234:5678 '%s/d/f.txt'", src);
      run_command ("ln '%s/d/f.txt' '%s/d/h'", src, src);
    }
  if (run_command ("tar %s '%s' -C '%s' %s", tar_flags, archive, src, member) != 0)
    abort ();
  free (src);
  free (archive);
}

static void
check_extracted (const char *root, const char *dir)
{
  char *d = path_in (root, dir);
  struct stat f, h, l;

  CHECK_STR (read_text (d, "d/f.txt"), "in the archive\n");
  CHECK (lstat_in (d, "d/f.txt", &f));
  CHECK_INT (f.st_uid, 1234);
  CHECK_INT (f.st_gid, 5678);
  CHECK_INT (f.st_mode & 07777, 0640);
  CHECK (lstat_in (d, "d/h", &h));
  CHECK (f.st_ino == h.st_ino);
  CHECK (lstat_in (d, "d/l", &l) && S_ISLNK (l.st_mode));
  CHECK (lstat_in (d, "d", &l));
  CHECK_INT (l.st_mode & 07777, 0700);
  free (d);
}

static void
test_add_archives (void)
{
  char *root = new_rootfs ("root-add");
  const char *gz[1] = { "arch.tar.gz" };
  const char *xz[1] = { "arch.tar.xz" };
  const char *plain[1] = { "arch.tar" };
  const char *not_tar[1] = { "data.gz" };
  const char *py[1] = { "app.py" };
  cbuild_error err;
  struct stat st;

  make_tar ("arch.tar.gz", "-czf", ".");
  make_tar ("arch.tar.xz", "-cJf", "d");
  make_tar ("arch.tar", "-cf", "d");
  if (run_command ("gzip -c '%s/app.py' > '%s/data.gz'", context, context) != 0)
    abort ();

  CHECK_INT (copy_to (root, gz, 1, "/ext", true, &err), 0);
  check_extracted (root, "ext");
  CHECK_INT (copy_to (root, xz, 1, "/ext-xz/", true, &err), 0);
  check_extracted (root, "ext-xz");
  CHECK_INT (copy_to (root, plain, 1, "/ext-plain/", true, &err), 0);
  check_extracted (root, "ext-plain");

  /* --chown replaces the owners from the archive. */
  struct cb_copy_request chowned = { .context_dir = context, .sources = gz, .n_sources = 1, .dest = "/ext-owned",
                                     .workdir = "/", .rootfs = root, .is_add = true, .chown_set = true,
                                     .uid = 42, .gid = 43 };
  memset (&err, 0, sizeof err);
  CHECK_INT (cb_copy_from_context (&chowned, &err), 0);
  CHECK (lstat_in (root, "ext-owned/d/f.txt", &st));
  CHECK_INT (st.st_uid, 42);
  CHECK_INT (st.st_gid, 43);
  CHECK (lstat_in (root, "ext-owned/d/l", &st));
  CHECK_INT (st.st_uid, 42);

  /* Not archives: copied as they are. */
  CHECK_INT (copy_to (root, not_tar, 1, "/data/", true, &err), 0);
  CHECK (lstat_in (root, "data/data.gz", &st) && S_ISREG (st.st_mode));
  CHECK_INT (copy_to (root, py, 1, "/py/", true, &err), 0);
  CHECK_STR (read_text (root, "py/app.py"), "print('app')\n");
  /* COPY never extracts. */
  CHECK_INT (copy_to (root, gz, 1, "/copied/", false, &err), 0);
  CHECK (lstat_in (root, "copied/arch.tar.gz", &st) && S_ISREG (st.st_mode));
  free (root);
}

/* Writes a tar with the given entries: a name ending in "->target" is a
 * symlink, any other a small file. */
static void
write_hostile_tar (const char *path, const char *const *entries)
{
  struct archive *a = archive_write_new ();

  archive_write_set_format_pax_restricted (a);
  if (archive_write_open_filename (a, path) != ARCHIVE_OK)
    abort ();
  for (size_t i = 0; entries[i]; i++)
    {
      struct archive_entry *e = archive_entry_new ();
      const char *arrow = strstr (entries[i], "->");
      char *name = arrow ? strndup (entries[i], (size_t) (arrow - entries[i])) : strdup (entries[i]);

      archive_entry_set_pathname (e, name);
      archive_entry_set_perm (e, 0644);
      if (arrow)
        {
          archive_entry_set_filetype (e, AE_IFLNK);
          archive_entry_set_symlink (e, arrow + 2);
        }
      else
        {
          archive_entry_set_filetype (e, AE_IFREG);
          archive_entry_set_size (e, 4);
        }
      archive_write_header (a, e);
      if (!arrow)
        archive_write_data (a, "bad\n", 4);
      archive_entry_free (e);
      free (name);
    }
  archive_write_close (a);
  archive_write_free (a);
}

static void
test_add_hostile_archives (void)
{
  static const char *const escape[] = { "ok.txt", "../escape.txt", NULL };
  static const char *const through_link[] = { "lnk->/", "lnk/escape2.txt", "up->../../..", "up/escape3.txt", NULL };
  char *root = new_rootfs ("root-add-hostile");
  char *tar1 = path_in (context, "escape.tar");
  char *tar2 = path_in (context, "link.tar");
  const char *s1[1] = { "escape.tar" };
  const char *s2[1] = { "link.tar" };
  cbuild_error err;

  write_hostile_tar (tar1, escape);
  write_hostile_tar (tar2, through_link);
  CHECK_INT (copy_to (root, s1, 1, "/x/", true, &err), -1);
  CHECK (strstr (err.message, "'../escape.txt' is outside the destination") != NULL);
  CHECK (!exists (root, "escape.txt"));

  /* Entries below a symlink land inside the destination, as if it were
   * the root, never in the rest of the image. */
  CHECK_INT (copy_to (root, s2, 1, "/y/", true, &err), 0);
  CHECK_STR (read_text (root, "y/escape2.txt"), "bad\n");
  CHECK_STR (read_text (root, "y/escape3.txt"), "bad\n");
  CHECK (!exists (root, "escape2.txt"));
  CHECK (!exists (root, "escape3.txt"));
  free (tar1);
  free (tar2);
  free (root);
}

/* The copy engine never fetches: ADD downloads URL sources before it
 * copies (builder/add_url.c), so a URL that reaches the engine fails. */
static void
test_add_url_rejected (void)
{
  char *root = new_rootfs ("root-url");
  const char *url[1] = { "https://example.com/file.tar.gz" };
  cbuild_error err;

  CHECK_INT (copy_to (root, url, 1, "/x/", true, &err), -1);
  CHECK_STR (err.message, "ADD: download URL source 'https://example.com/file.tar.gz' before copying");
  CHECK (!exists (root, "x"));
  free (root);
}

int
main (void)
{
  cbuild_error err = { 0 };

  if (geteuid () != 0)
    {
      printf ("skipped: COPY tests set owners and need root\n");
      return 77;
    }
  base_dir = cb_make_temp_dir ("/var/tmp", "cbuild-test-copy", &err);
  if (base_dir == NULL)
    return 1;
  make_context ();
  test_copy_file_rules ();
  test_copy_directory_contents ();
  test_copy_dockerignore ();
  test_copy_wildcards ();
  test_copy_chown_chmod ();
  test_copy_hostile_context_links ();
  test_copy_hostile_rootfs_links ();
  test_add_archives ();
  test_add_hostile_archives ();
  test_add_url_rejected ();
  cb_ignore_free (ignore);
  cb_remove_tree (base_dir, &err);
  free (context);
  free (base_dir);
  return check_report ();
}
