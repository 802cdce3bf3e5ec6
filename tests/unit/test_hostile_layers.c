/* Layer extraction against tars made to exhaust memory or to bury an
 * error: a directory entry repeated many times must be recorded once for
 * its deferred times, and a path too long for the kernel fails clearly. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/extract.h"
#include "layers/layer.h"

#define REPEATS 1000
#define BOMB_ENTRIES 100000
#define FIRST_TIME 1600000000

static char *base_dir;

static char *
make_dir (const char *name)
{
  char *path = cb_path_join (base_dir, name);

  if (path == NULL || mkdir (path, 0755) < 0)
    abort ();
  return path;
}

static void
set_dir_entry (struct archive_entry *e, const char *name, time_t mtime)
{
  archive_entry_clear (e);
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFDIR);
  archive_entry_set_perm (e, 0755);
  archive_entry_set_mtime (e, mtime, 0);
}

static time_t
mtime_of (const char *dir, const char *name)
{
  cleanup_free char *path = cb_path_join (dir, name);
  struct stat st;

  return path && lstat (path, &st) == 0 ? st.st_mtime : -1;
}

/* Two directories, each given REPEATS times in turn: two records, and
 * each directory ends with the times of its last entry. */
static void
test_dir_repeats_recorded_once (void)
{
  cleanup_free char *dest = make_dir ("repeats");
  struct cb_extract x = { .rootfd = open (dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
  struct archive_entry *e = archive_entry_new ();
  cbuild_error err = { 0 };
  int ret = 0;

  for (int i = 0; ret == 0 && i < REPEATS; i++)
    {
      set_dir_entry (e, "d", FIRST_TIME + i);
      ret = cb_extract_entry (&x, e, &err);
      set_dir_entry (e, "d/sub", FIRST_TIME - i);
      if (ret == 0)
        ret = cb_extract_entry (&x, e, &err);
    }
  CHECK_INT (ret, 0);
  CHECK_INT (x.n_dirs, 2);
  CHECK_INT (cb_extract_finish_dirs (&x, &err), 0);
  CHECK_INT (mtime_of (dest, "d"), FIRST_TIME + REPEATS - 1);
  CHECK_INT (mtime_of (dest, "d/sub"), FIRST_TIME - (REPEATS - 1));

  cb_extract_release (&x);
  archive_entry_free (e);
  close (x.rootfd);
}

/* Many distinct directories still each get their own times, also after
 * the record table has grown several times. */
static void
test_dir_many_distinct (void)
{
  cleanup_free char *dest = make_dir ("distinct");
  struct cb_extract x = { .rootfd = open (dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
  struct archive_entry *e = archive_entry_new ();
  cbuild_error err = { 0 };
  char name[32];
  int ret = 0;

  for (int i = 0; ret == 0 && i < REPEATS; i++)
    {
      snprintf (name, sizeof name, "d%d", i);
      set_dir_entry (e, name, FIRST_TIME + i);
      ret = cb_extract_entry (&x, e, &err);
    }
  CHECK_INT (ret, 0);
  CHECK_INT (x.n_dirs, REPEATS);
  CHECK_INT (cb_extract_finish_dirs (&x, &err), 0);
  CHECK_INT (mtime_of (dest, "d0"), FIRST_TIME);
  CHECK_INT (mtime_of (dest, "d517"), FIRST_TIME + 517);
  CHECK_INT (mtime_of (dest, "d999"), FIRST_TIME + 999);

  cb_extract_release (&x);
  archive_entry_free (e);
  close (x.rootfd);
}

/* A gzip tar of BOMB_ENTRIES headers for one directory with a 250-byte
 * name: 150 MiB of tar in about 1 MiB of gzip. */
static char *
write_dir_bomb (void)
{
  char *path = cb_path_join (base_dir, "bomb.tar.gz");
  struct archive *ar = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();
  char name[251];

  memset (name, 'a', 250);
  name[250] = '\0';
  archive_write_set_format_pax_restricted (ar);
  archive_write_add_filter_gzip (ar);
  if (path == NULL || archive_write_open_filename (ar, path) != ARCHIVE_OK)
    abort ();
  for (int i = 0; i < BOMB_ENTRIES; i++)
    {
      set_dir_entry (e, name, FIRST_TIME);
      if (archive_write_header (ar, e) != ARCHIVE_OK)
        abort ();
    }
  archive_write_close (ar);
  archive_write_free (ar);
  archive_entry_free (e);
  return path;
}

static long
max_rss_kib (void)
{
  struct rusage ru;

  return getrusage (RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Recording every header would keep about 30 MiB of paths here. */
static void
test_dir_bomb_memory_bounded (void)
{
  cleanup_free char *blob = write_dir_bomb ();
  cleanup_free char *dest = make_dir ("bomb");
  char diff_id[CB_DIGEST_SIZE];
  char name[251];
  cbuild_error err = { 0 };
  long before = max_rss_kib ();

  memset (name, 'a', 250);
  name[250] = '\0';
  CHECK_INT (cb_layer_extract (blob, dest, diff_id, &err), 0);
  /* ASan keeps freed memory in quarantine, which raises the RSS of any
   * long loop. test_dir_repeats_recorded_once covers that build. */
#ifndef __SANITIZE_ADDRESS__
  CHECK (max_rss_kib () - before < 8 * 1024);
#else
  (void) before;
#endif
  CHECK_INT (mtime_of (dest, name), FIRST_TIME);
}

/* A 5000-byte name fails with a short message that keeps its reason. */
static void
test_path_too_long (void)
{
  cleanup_free char *dest = make_dir ("long");
  struct cb_extract x = { .rootfd = open (dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC) };
  struct archive_entry *e = archive_entry_new ();
  cleanup_free char *name = malloc (5001);
  cbuild_error err = { 0 };

  for (int i = 0; i < 5000; i += 2)
    memcpy (name + i, "d/", 2);
  name[4999] = 'f';
  name[5000] = '\0';
  archive_entry_set_pathname (e, name);
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);

  CHECK_INT (cb_extract_entry (&x, e, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  CHECK (strstr (err.message, "longer than 4096 bytes") != NULL);
  CHECK (strlen (err.message) < 200);
  CHECK_INT (mtime_of (dest, "d"), -1);

  cb_extract_release (&x);
  archive_entry_free (e);
  close (x.rootfd);
}

int
main (void)
{
  char tmpl[] = "/var/tmp/cbuild-test-hostile-layers.XXXXXX";

  if (geteuid () != 0)
    {
      printf ("test_hostile_layers: skipped, extraction needs root to set owners\n");
      return 77;
    }
  base_dir = mkdtemp (tmpl);
  if (base_dir == NULL)
    return 1;

  /* First, so that no earlier test has raised the peak RSS it measures. */
  test_dir_bomb_memory_bounded ();
  test_dir_repeats_recorded_once ();
  test_dir_many_distinct ();
  test_path_too_long ();

  cb_remove_tree (base_dir, NULL);
  return check_report ();
}
