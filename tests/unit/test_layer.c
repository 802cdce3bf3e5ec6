/* Layers against the real file system, libarchive, gzip and sha256sum:
 * the exact tar entries of an overlay upper directory, both digests,
 * round trips through extraction, hostile tars that try to write outside
 * the destination, and snapshots. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "check.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/layer.h"

#define TREE_TIME 1600000000
#define HELLO_TIME 1500000000
#define TIME_NSEC 123456789
#define BIG_SIZE (300 * 1024)

static char *base_dir;
static char long_name[151];

/* struct vfs_cap_data, revision 2, effective, CAP_NET_BIND_SERVICE permitted. */
static const unsigned char cap_value[20] = { 0x01, 0x00, 0x00, 0x02, 0x00, 0x04 };

static char *
join (const char *a, const char *b)
{
  char *p = NULL;

  if (asprintf (&p, "%s/%s", a, b) < 0)
    abort ();
  return p;
}

static void
put_file (const char *root, const char *name, const char *data, mode_t mode)
{
  cleanup_free char *p = join (root, name);
  FILE *f = fopen (p, "w");

  if (f == NULL)
    abort ();
  fputs (data, f);
  fclose (f);
  if (chmod (p, mode) < 0)
    abort ();
}

static void
put_dir (const char *root, const char *name)
{
  cleanup_free char *p = join (root, name);

  if (mkdir (p, 0755) < 0 || chmod (p, 0755) < 0)
    abort ();
}

static void
put_xattr (const char *root, const char *name, const char *key, const void *value, size_t len)
{
  cleanup_free char *p = join (root, name);

  if (lsetxattr (p, key, value, len, 0) < 0)
    abort ();
}

static void
put_node (const char *root, const char *name, mode_t mode, dev_t dev)
{
  cleanup_free char *p = join (root, name);

  if (mknod (p, mode, dev) < 0 || chmod (p, mode & 07777) < 0)
    abort ();
}

static void
put_symlink (const char *root, const char *name, const char *target)
{
  cleanup_free char *p = join (root, name);

  if (symlink (target, p) < 0)
    abort ();
}

static void
put_hardlink (const char *root, const char *name, const char *target)
{
  cleanup_free char *p = join (root, name);
  cleanup_free char *t = join (root, target);

  if (link (t, p) < 0)
    abort ();
}

static void
put_owner (const char *root, const char *name, uid_t uid, gid_t gid)
{
  cleanup_free char *p = join (root, name);

  if (lchown (p, uid, gid) < 0)
    abort ();
}

static void
put_big_file (const char *root, const char *name)
{
  cleanup_free char *p = join (root, name);
  FILE *f = fopen (p, "w");
  unsigned x = 12345;

  if (f == NULL)
    abort ();
  for (int i = 0; i < BIG_SIZE; i++)
    {
      x = x * 1103515245 + 12345;
      fputc ((int) (x >> 16) & 0xff, f);
    }
  fclose (f);
  chmod (p, 0644);
}

static void
put_socket (const char *root, const char *name)
{
  cleanup_free char *p = join (root, name);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  int fd = socket (AF_UNIX, SOCK_STREAM, 0);

  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", p);
  if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    abort ();
  close (fd);
}

static int
set_time_entry (const char *path, const struct stat *st, int type, struct FTW *ftw)
{
  struct timespec t[2] = { { TREE_TIME, TIME_NSEC }, { TREE_TIME, TIME_NSEC } };

  (void) st;
  (void) type;
  (void) ftw;
  const char *base = strrchr (path, '/') + 1;

  /* hello.txt and hard are one inode. */
  if (strcmp (base, "hello.txt") == 0 || strcmp (base, "hard") == 0)
    t[0].tv_sec = t[1].tv_sec = HELLO_TIME;
  return utimensat (AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW);
}

/* Gives every entry TREE_TIME with a fraction (hello.txt and its hardlink
 * HELLO_TIME), children before their directory. */
static void
set_times (const char *root)
{
  if (nftw (root, set_time_entry, 16, FTW_PHYS | FTW_DEPTH) < 0)
    abort ();
}

/* The upper directory of an overlay after a typical RUN step, with every
 * kind of entry a layer can hold. */
static char *
make_tree (const char *name)
{
  char *root = join (base_dir, name);
  cleanup_free char *long_path = join ("long", long_name);

  if (mkdir (root, 0755) < 0)
    abort ();
  put_file (root, "hello.txt", "hello\n", 0644);
  put_hardlink (root, "hard", "hello.txt");
  put_dir (root, "a");
  put_dir (root, "a/b");
  put_dir (root, "a/b/c");
  put_file (root, "a/b/c/deep.txt", "deep\n", 0644);
  put_big_file (root, "big.bin");
  put_dir (root, "bin");
  put_file (root, "bin/tool", "#!/bin/sh\n", 04755);
  put_xattr (root, "bin/tool", "security.capability", cap_value, sizeof cap_value);
  put_file (root, "notes.txt", "notes\n", 0644);
  put_xattr (root, "notes.txt", "user.comment", "kept", 4);
  put_xattr (root, "notes.txt", "trusted.overlay.origin", "x", 1);
  put_symlink (root, "link", "hello.txt");
  put_symlink (root, "abs", "/etc/passwd");
  put_node (root, "null", S_IFCHR | 0666, makedev (1, 3));
  put_node (root, "pipe", S_IFIFO | 0600, 0);
  put_node (root, "gone", S_IFCHR, makedev (0, 0));
  put_dir (root, "opq");
  put_xattr (root, "opq", "trusted.overlay.opaque", "y", 1);
  put_file (root, "opq/kept", "kept\n", 0644);
  put_dir (root, "long");
  put_file (root, long_path, "long", 0644);
  put_file (root, "owned", "owned\n", 0640);
  put_owner (root, "owned", 1234, 5678);
  put_socket (root, "sock");
  set_times (root);
  return root;
}

static void
read_command (const char *cmd, char *out, size_t size)
{
  FILE *p = popen (cmd, "r");

  out[0] = '\0';
  if (p == NULL)
    return;
  if (fgets (out, (int) size, p) == NULL)
    out[0] = '\0';
  pclose (p);
  out[strcspn (out, " \n")] = '\0';
}

/* The blob digest and diffID as sha256sum and gzip compute them. */
static void
tool_digests (const char *blob, char digest[CB_DIGEST_SIZE], char diff_id[CB_DIGEST_SIZE])
{
  cleanup_free char *cmd1 = NULL;
  cleanup_free char *cmd2 = NULL;
  char hex[65];

  if (asprintf (&cmd1, "sha256sum '%s'", blob) < 0 || asprintf (&cmd2, "gzip -dc '%s' | sha256sum", blob) < 0)
    abort ();
  read_command (cmd1, hex, sizeof hex);
  snprintf (digest, CB_DIGEST_SIZE, "sha256:%s", hex);
  read_command (cmd2, hex, sizeof hex);
  snprintf (diff_id, CB_DIGEST_SIZE, "sha256:%s", hex);
}

static int
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  int n = 0;

  if (d == NULL)
    return -1;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

static bool
exists (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0;
}

static char
type_char (struct archive_entry *e)
{
  if (archive_entry_hardlink (e))
    return 'h';
  switch (archive_entry_filetype (e))
    {
    case AE_IFREG: return 'f';
    case AE_IFDIR: return 'd';
    case AE_IFLNK: return 'l';
    case AE_IFCHR: return 'c';
    case AE_IFBLK: return 'b';
    case AE_IFIFO: return 'p';
    default: return '?';
    }
}

/* Checks that a regular entry's data equals the file at root/name. */
static void
check_entry_data (struct archive *ar, struct archive_entry *e, const char *root)
{
  cleanup_free char *path = join (root, archive_entry_pathname (e));
  cleanup_free char *want = NULL;
  char buf[8192];
  size_t want_len = 0, got_len = 0;
  bool same = true;
  la_ssize_t n;
  cbuild_error err = { 0 };

  if (cb_read_file (path, 1 << 20, &want, &want_len, &err) < 0)
    {
      CHECK (!"tree file readable");
      return;
    }
  while ((n = archive_read_data (ar, buf, sizeof buf)) > 0)
    {
      if (got_len + (size_t) n > want_len || memcmp (want + got_len, buf, (size_t) n) != 0)
        same = false;
      got_len += (size_t) n;
    }
  CHECK (same);
  CHECK_INT (got_len, want_len);
}

static void
describe_entry (struct archive_entry *e, struct cb_buf *out)
{
  const char *name, *link = archive_entry_hardlink (e);
  const void *value;
  size_t size;

  if (link == NULL)
    link = archive_entry_symlink (e);
  cb_buf_printf (out, NULL, "%s %c %04o %lld:%lld %lld", archive_entry_pathname (e), type_char (e),
                 (unsigned) archive_entry_perm (e), (long long) archive_entry_uid (e),
                 (long long) archive_entry_gid (e), (long long) archive_entry_mtime (e));
  if (link)
    cb_buf_printf (out, NULL, " -> %s", link);
  if (type_char (e) == 'f')
    cb_buf_printf (out, NULL, " size=%lld", (long long) archive_entry_size (e));
  if (type_char (e) == 'c' || type_char (e) == 'b')
    cb_buf_printf (out, NULL, " rdev=%u:%u", (unsigned) archive_entry_rdevmajor (e),
                   (unsigned) archive_entry_rdevminor (e));
  archive_entry_xattr_reset (e);
  while (archive_entry_xattr_next (e, &name, &value, &size) == ARCHIVE_OK)
    cb_buf_printf (out, NULL, " xattr=%s", name);
  cb_buf_append_char (out, '\n', NULL);
}

/* Lists the entries of a layer blob, one line each, checking on the way
 * the data against root and the fields docker leaves empty. */
static void
describe_layer (const char *blob, const char *root, struct cb_buf *out)
{
  struct archive *ar = archive_read_new ();
  struct archive_entry *e;

  archive_read_support_filter_gzip (ar);
  archive_read_support_format_tar (ar);
  if (archive_read_open_filename (ar, blob, 10240) != ARCHIVE_OK)
    {
      CHECK (!"layer blob opens");
      archive_read_free (ar);
      return;
    }
  while (archive_read_next_header (ar, &e) == ARCHIVE_OK)
    {
      describe_entry (e, out);
      CHECK_INT (archive_entry_mtime_nsec (e), 0);
      CHECK (archive_entry_uname (e) == NULL || archive_entry_uname (e)[0] == '\0');
      CHECK (archive_entry_gname (e) == NULL || archive_entry_gname (e)[0] == '\0');
      if (type_char (e) == 'f' && archive_entry_size (e) > 0)
        check_entry_data (ar, e, root);
    }
  archive_read_free (ar);
}

static char *
expected_entries (void)
{
  char *s = NULL;

  if (asprintf (&s,
                "a/ d 0755 0:0 1600000000\n"
                "a/b/ d 0755 0:0 1600000000\n"
                "a/b/c/ d 0755 0:0 1600000000\n"
                "a/b/c/deep.txt f 0644 0:0 1600000000 size=5\n"
                "abs l 0777 0:0 1600000000 -> /etc/passwd\n"
                "big.bin f 0644 0:0 1600000000 size=307200\n"
                "bin/ d 0755 0:0 1600000000\n"
                "bin/tool f 4755 0:0 1600000000 size=10 xattr=security.capability\n"
                ".wh.gone f 0600 0:0 1600000000 size=0\n"
                "hard f 0644 0:0 1500000000 size=6\n"
                "hello.txt h 0644 0:0 1500000000 -> hard\n"
                "link l 0777 0:0 1600000000 -> hello.txt\n"
                "long/ d 0755 0:0 1600000000\n"
                "long/%s f 0644 0:0 1600000000 size=4\n"
                "notes.txt f 0644 0:0 1600000000 size=6 xattr=user.comment\n"
                "null c 0666 0:0 1600000000 rdev=1:3\n"
                "opq/ d 0755 0:0 1600000000\n"
                "opq/.wh..wh..opq f 0755 0:0 1600000000 size=0\n"
                "opq/kept f 0644 0:0 1600000000 size=5\n"
                "owned f 0640 1234:5678 1600000000 size=6\n"
                "pipe p 0600 0:0 1600000000\n",
                long_name) < 0)
    abort ();
  return s;
}

/* Appends a line per entry below dir (sorted, recursive): type, mode,
 * owner, mtime, links, size, content digest, symlink, device and xattrs. */
static void
describe_tree_at (const char *dir, const char *rel, struct cb_buf *out);

static void
describe_xattrs (const char *path, struct cb_buf *out)
{
  char list[4096], value[256];
  ssize_t n = llistxattr (path, list, sizeof list);
  cleanup_free char **names = NULL;
  size_t count = 0;

  if (n <= 0)
    return;
  names = calloc ((size_t) n, sizeof *names);
  for (char *p = list; p < list + n; p += strlen (p) + 1)
    names[count++] = p;
  for (size_t i = 0; i + 1 < count; i++)
    for (size_t j = i + 1; j < count; j++)
      if (strcmp (names[i], names[j]) > 0)
        {
          char *t = names[i];
          names[i] = names[j];
          names[j] = t;
        }
  for (size_t i = 0; i < count; i++)
    {
      ssize_t len = lgetxattr (path, names[i], value, sizeof value);
      cb_buf_printf (out, NULL, " %s=", names[i]);
      for (ssize_t k = 0; k < len; k++)
        cb_buf_printf (out, NULL, "%02x", (unsigned char) value[k]);
    }
}

static void
describe_node (const char *path, const char *rel, const struct stat *st, struct cb_buf *out)
{
  cb_buf_printf (out, NULL, "%s %06o %u:%u %lld.%09ld", rel, (unsigned) st->st_mode, st->st_uid,
                 st->st_gid, (long long) st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  if (!S_ISDIR (st->st_mode))
    cb_buf_printf (out, NULL, " nlink=%lu", (unsigned long) st->st_nlink);
  if (S_ISREG (st->st_mode))
    {
      cleanup_free char *data = NULL;
      size_t len = 0;
      char digest[CB_DIGEST_SIZE] = "";
      if (cb_read_file (path, 1 << 20, &data, &len, NULL) == 0)
        cb_sha256_bytes (data, len, digest, NULL);
      cb_buf_printf (out, NULL, " %s", digest);
    }
  if (S_ISLNK (st->st_mode))
    {
      char target[4096];
      ssize_t n = readlink (path, target, sizeof target - 1);
      target[n < 0 ? 0 : n] = '\0';
      cb_buf_printf (out, NULL, " -> %s", target);
    }
  if (S_ISCHR (st->st_mode) || S_ISBLK (st->st_mode))
    cb_buf_printf (out, NULL, " rdev=%u:%u", major (st->st_rdev), minor (st->st_rdev));
  describe_xattrs (path, out);
  cb_buf_append_char (out, '\n', NULL);
}

static int
compare_dirents (const struct dirent **a, const struct dirent **b)
{
  return strcmp ((*a)->d_name, (*b)->d_name);
}

static void
describe_tree_at (const char *dir, const char *rel, struct cb_buf *out)
{
  struct dirent **list = NULL;
  int n = scandir (dir, &list, NULL, compare_dirents);

  for (int i = 0; i < n; i++)
    {
      const char *name = list[i]->d_name;
      if (strcmp (name, ".") != 0 && strcmp (name, "..") != 0)
        {
          cleanup_free char *path = join (dir, name);
          cleanup_free char *sub = rel[0] ? join (rel, name) : strdup (name);
          struct stat st;
          if (lstat (path, &st) == 0)
            {
              describe_node (path, sub, &st, out);
              if (S_ISDIR (st.st_mode))
                describe_tree_at (path, sub, out);
            }
        }
      free (list[i]);
    }
  free (list);
}

static char *
describe_tree (const char *root)
{
  struct cb_buf out = CB_BUF_INIT;

  describe_tree_at (root, "", &out);
  return cb_buf_detach (&out);
}

/* Returns the tree as extraction should reproduce it: without the socket
 * and overlayfs's own xattrs, and with whole-second times. */
static char *
describe_expected_tree (const char *tree)
{
  cleanup_free char *copy = join (base_dir, "expected-tree");
  cleanup_free char *cmd = NULL;
  char *desc;

  if (asprintf (&cmd, "cp -a '%s' '%s'", tree, copy) < 0 || system (cmd) != 0)
    abort ();
  cleanup_free char *sock = join (copy, "sock");
  cleanup_free char *notes = join (copy, "notes.txt");
  unlink (sock);
  lremovexattr (notes, "trusted.overlay.origin");
  set_times (copy);
  desc = describe_tree (copy);
  cb_remove_tree (copy, NULL);
  /* Tar keeps whole seconds only. */
  for (char *p = desc; (p = strstr (p, ".123456789")) != NULL;)
    memcpy (p, ".000000000", 10);
  return desc;
}

struct layer_fixture
{
  struct cb_store *store;
  char *tree;
  struct cb_layer_desc desc;
  char *blob;
};

static struct layer_fixture fx;

static void
test_create_entries_exact (void)
{
  cleanup_buf struct cb_buf got = CB_BUF_INIT;
  cleanup_free char *want = expected_entries ();
  cbuild_error err = { 0 };
  bool empty = true;

  CHECK_INT (cb_layer_create_from_dir (fx.store, fx.tree, &fx.desc, &empty, &err), 0);
  CHECK (!empty);
  CHECK (cb_digest_valid (fx.desc.digest));
  CHECK (cb_digest_valid (fx.desc.diff_id));
  CHECK (cb_store_has_blob (fx.store, fx.desc.digest));
  fx.blob = cb_store_blob_path (fx.store, fx.desc.digest);
  if (fx.blob == NULL)
    return;
  describe_layer (fx.blob, fx.tree, &got);
  CHECK_STR (cb_buf_str (&got), want);
  CHECK_INT (count_entries (fx.store->tmp_dir), 0);
}

static void
test_create_digests_match_tools (void)
{
  char digest[CB_DIGEST_SIZE], diff_id[CB_DIGEST_SIZE];
  struct stat st;

  tool_digests (fx.blob, digest, diff_id);
  CHECK_STR (fx.desc.digest, digest);
  CHECK_STR (fx.desc.diff_id, diff_id);
  CHECK (stat (fx.blob, &st) == 0 && st.st_size == fx.desc.size);
}

static void
test_create_gnu_tar_lists (void)
{
  cleanup_free char *cmd = NULL;
  cleanup_buf struct cb_buf got = CB_BUF_INIT;
  char line[512];
  FILE *p;

  if (asprintf (&cmd, "tar -tzf '%s' 2>&1", fx.blob) < 0)
    abort ();
  p = popen (cmd, "r");
  while (p && fgets (line, sizeof line, p))
    cb_buf_append_str (&got, line, NULL);
  CHECK_INT (p ? pclose (p) : -1, 0);
  CHECK (strstr (cb_buf_str (&got), "PaxHeader") == NULL);
  CHECK (strstr (cb_buf_str (&got), "hello.txt\n") != NULL);
  CHECK (strstr (cb_buf_str (&got), long_name) != NULL);
  CHECK (strstr (cb_buf_str (&got), "opq/.wh..wh..opq\n") != NULL);
  CHECK (strstr (cb_buf_str (&got), "sock") == NULL);
}

static void
test_create_reproducible (void)
{
  struct cb_layer_desc again;
  cbuild_error err = { 0 };
  bool empty = true;
  struct timespec t[2] = { { TREE_TIME + 1, 0 }, { TREE_TIME + 1, 0 } };
  cleanup_free char *file = join (fx.tree, "a/b/c/deep.txt");

  CHECK_INT (cb_layer_create_from_dir (fx.store, fx.tree, &again, &empty, &err), 0);
  CHECK_STR (again.digest, fx.desc.digest);
  CHECK_STR (again.diff_id, fx.desc.diff_id);
  CHECK_INT (again.size, fx.desc.size);

  /* A changed mtime must change the layer. */
  utimensat (AT_FDCWD, file, t, 0);
  CHECK_INT (cb_layer_create_from_dir (fx.store, fx.tree, &again, &empty, &err), 0);
  CHECK (strcmp (again.diff_id, fx.desc.diff_id) != 0);
  set_times (fx.tree);
}

static void
test_create_empty_dir (void)
{
  cleanup_free char *dir = join (base_dir, "empty");
  struct cb_layer_desc desc;
  cbuild_error err = { 0 };
  bool empty = false;
  int blobs = count_entries (fx.store->blobs_dir);

  mkdir (dir, 0755);
  CHECK_INT (cb_layer_create_from_dir (fx.store, dir, &desc, &empty, &err), 0);
  CHECK (empty);
  CHECK_INT (count_entries (fx.store->blobs_dir), blobs);
  CHECK_INT (count_entries (fx.store->tmp_dir), 0);
}

static void
test_create_missing_dir_fails (void)
{
  cleanup_free char *dir = join (base_dir, "no-such-dir");
  struct cb_layer_desc desc;
  cbuild_error err = { 0 };
  bool empty = false;

  CHECK_INT (cb_layer_create_from_dir (fx.store, dir, &desc, &empty, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_SYSTEM);
  CHECK (strstr (err.message, "no-such-dir") != NULL);
}

/* The walk keeps one directory descriptor open at a time, so a tree
 * deeper than the descriptor limit still becomes a layer. */
static void
test_create_deep_tree (void)
{
  enum { DEPTH = 300 };
  cleanup_free char *tree = join (base_dir, "deep");
  cleanup_free char *dest = join (base_dir, "deep-extract");
  cleanup_free char *blob = NULL;
  struct rlimit old, low;
  struct cb_layer_desc desc;
  cbuild_error err = { 0 };
  char diff_id[CB_DIGEST_SIZE] = "";
  bool empty = true;
  int fd, rc;

  mkdir (tree, 0755);
  fd = open (tree, O_RDONLY | O_DIRECTORY);
  for (int i = 0; i < DEPTH; i++)
    {
      int next;
      if (mkdirat (fd, "d", 0755) < 0 || (next = openat (fd, "d", O_RDONLY | O_DIRECTORY)) < 0)
        abort ();
      close (fd);
      fd = next;
    }
  close (fd);
  set_times (tree);

  /* Only the soft limit: raising a hard limit again needs CAP_SYS_RESOURCE. */
  getrlimit (RLIMIT_NOFILE, &old);
  low = (struct rlimit) { 64, old.rlim_max };
  CHECK_INT (setrlimit (RLIMIT_NOFILE, &low), 0);
  rc = cb_layer_create_from_dir (fx.store, tree, &desc, &empty, &err);
  setrlimit (RLIMIT_NOFILE, &old);
  CHECK_INT (rc, 0);
  CHECK_STR (err.message, "");
  CHECK (!empty);

  blob = cb_store_blob_path (fx.store, desc.digest);
  mkdir (dest, 0755);
  CHECK_INT (cb_layer_extract (blob, dest, diff_id, &err), 0);
  CHECK_STR (diff_id, desc.diff_id);
  {
    cleanup_free char *got = describe_tree (dest);
    cleanup_free char *want = describe_tree (tree);
    for (char *p = want; (p = strstr (p, ".123456789")) != NULL;)
      memcpy (p, ".000000000", 10);
    CHECK_STR (got, want);
  }
}

/* Names are bytes: a Latin-1 name that is not valid UTF-8 and a UTF-8 name
 * both come back unchanged. */
static void
test_create_non_ascii_names (void)
{
  cleanup_free char *tree = join (base_dir, "names");
  cleanup_free char *dest = join (base_dir, "names-extract");
  cleanup_free char *blob = NULL;
  struct cb_layer_desc desc;
  cbuild_error err = { 0 };
  char diff_id[CB_DIGEST_SIZE] = "";
  bool empty = true;

  mkdir (tree, 0755);
  put_file (tree, "caf\xe9", "latin1", 0644);
  put_file (tree, "\xe6\x97\xa5\xe6\x9c\xac", "utf8", 0644);
  set_times (tree);
  CHECK_INT (cb_layer_create_from_dir (fx.store, tree, &desc, &empty, &err), 0);
  blob = cb_store_blob_path (fx.store, desc.digest);
  mkdir (dest, 0755);
  CHECK_INT (cb_layer_extract (blob, dest, diff_id, &err), 0);
  {
    cleanup_free char *got = describe_tree (dest);
    cleanup_free char *want = describe_tree (tree);
    for (char *p = want; (p = strstr (p, ".123456789")) != NULL;)
      memcpy (p, ".000000000", 10);
    CHECK_STR (got, want);
  }
}

static void
test_extract_round_trip (void)
{
  cleanup_free char *dest = join (base_dir, "round-trip");
  cleanup_free char *want = describe_expected_tree (fx.tree);
  cleanup_free char *got = NULL;
  cleanup_free char *hard = join (dest, "hard");
  cleanup_free char *hello = join (dest, "hello.txt");
  char diff_id[CB_DIGEST_SIZE] = "";
  cbuild_error err = { 0 };
  struct stat a, b;

  mkdir (dest, 0755);
  CHECK_INT (cb_layer_extract (fx.blob, dest, diff_id, &err), 0);
  CHECK_STR (diff_id, fx.desc.diff_id);
  got = describe_tree (dest);
  CHECK_STR (got, want);
  CHECK (stat (hard, &a) == 0 && stat (hello, &b) == 0 && a.st_ino == b.st_ino);
  /* The opaque marker and whiteout are back in overlay form. */
  CHECK (strstr (got, "\nopq 040755 0:0 1600000000.000000000 trusted.overlay.opaque=79\n") != NULL);
  CHECK (strstr (got, "\ngone 020000 0:0 1600000000.000000000 nlink=1 rdev=0:0\n") != NULL);
  CHECK (strstr (got, "opq/.wh..wh..opq") == NULL);
}

static void
compress_to (const char *tool, const char *src, const char *dst)
{
  cleanup_free char *cmd = NULL;

  if (asprintf (&cmd, "%s '%s' > '%s'", tool, src, dst) < 0 || system (cmd) != 0)
    abort ();
}

static void
test_extract_other_compressions (void)
{
  const char *tools[][2] = { { "cat", "tar" }, { "xz -c", "xz" }, { "zstd -q -c", "zst" },
                             { "bzip2 -c", "bz2" } };
  cleanup_free char *plain = join (base_dir, "layer-plain.tar");
  cleanup_free char *want = describe_expected_tree (fx.tree);

  compress_to ("gzip -dc", fx.blob, plain);
  for (size_t i = 0; i < sizeof tools / sizeof *tools; i++)
    {
      cleanup_free char *blob = NULL;
      cleanup_free char *dest = NULL;
      cleanup_free char *got = NULL;
      char diff_id[CB_DIGEST_SIZE] = "";
      cbuild_error err = { 0 };

      if (asprintf (&blob, "%s/layer.%s", base_dir, tools[i][1]) < 0
          || asprintf (&dest, "%s/extract-%s", base_dir, tools[i][1]) < 0)
        abort ();
      compress_to (tools[i][0], plain, blob);
      mkdir (dest, 0755);
      CHECK_INT (cb_layer_extract (blob, dest, diff_id, &err), 0);
      CHECK_STR (err.message, "");
      CHECK_STR (diff_id, fx.desc.diff_id);
      got = describe_tree (dest);
      CHECK_STR (got, want);
    }
}

/* One entry of a hand-made tar. */
struct tar_spec
{
  const char *name;
  mode_t type; /* AE_IFREG, AE_IFDIR, AE_IFLNK; 0 for a hardlink */
  const char *link;
  const char *xattr; /* set to "1" when not NULL */
};

static char *
write_tar (const char *name, const struct tar_spec *specs, size_t n)
{
  char *path = join (base_dir, name);
  struct archive *ar = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();

  archive_write_set_format_pax_restricted (ar);
  if (archive_write_open_filename (ar, path) != ARCHIVE_OK)
    abort ();
  for (size_t i = 0; i < n; i++)
    {
      bool data = specs[i].type == AE_IFREG;
      archive_entry_clear (e);
      archive_entry_set_pathname (e, specs[i].name);
      archive_entry_set_filetype (e, specs[i].type ? specs[i].type : AE_IFREG);
      archive_entry_set_perm (e, specs[i].type == AE_IFDIR ? 0755 : 0644);
      archive_entry_set_size (e, data ? 4 : 0);
      if (specs[i].type == AE_IFLNK)
        archive_entry_set_symlink (e, specs[i].link);
      if (specs[i].type == 0)
        archive_entry_set_hardlink (e, specs[i].link);
      if (specs[i].xattr)
        archive_entry_xattr_add_entry (e, specs[i].xattr, "1", 1);
      if (archive_write_header (ar, e) != ARCHIVE_OK)
        abort ();
      if (data)
        archive_write_data (ar, "evil", 4);
    }
  archive_write_close (ar);
  archive_write_free (ar);
  archive_entry_free (e);
  return path;
}

/* A sandbox: SANDBOX/dest to extract into, SANDBOX/outside/secret to
 * guard. */
struct sandbox
{
  char *root;
  char *dest;
  char *outside;
};

static struct sandbox
sandbox_new (const char *name)
{
  struct sandbox s;

  s.root = join (base_dir, name);
  s.dest = join (s.root, "dest");
  s.outside = join (s.root, "outside");
  if (mkdir (s.root, 0755) < 0 || mkdir (s.dest, 0755) < 0 || mkdir (s.outside, 0755) < 0)
    abort ();
  put_file (s.outside, "secret", "secret", 0600);
  return s;
}

static void
sandbox_free (struct sandbox *s)
{
  free (s->root);
  free (s->dest);
  free (s->outside);
}

/* Nothing but dest and outside/secret (still with one link) may exist. */
static void
check_sandbox_intact (const struct sandbox *s)
{
  cleanup_free char *secret = join (s->outside, "secret");
  cleanup_free char *data = NULL;
  struct stat st;

  CHECK_INT (count_entries (s->root), 2);
  CHECK_INT (count_entries (s->outside), 1);
  CHECK (stat (secret, &st) == 0 && st.st_nlink == 1);
  CHECK (cb_read_file (secret, 100, &data, NULL, NULL) == 0 && strcmp (data, "secret") == 0);
}

static int
extract_tar (const struct sandbox *s, const struct tar_spec *specs, size_t n, cbuild_error *err)
{
  cleanup_free char *tar = write_tar ("hostile.tar", specs, n);
  char diff_id[CB_DIGEST_SIZE];

  return cb_layer_extract (tar, s->dest, diff_id, err);
}

static void
test_extract_rejects_dotdot (void)
{
  struct sandbox s = sandbox_new ("dotdot");
  struct tar_spec specs[] = { { "../escape", AE_IFREG, NULL, NULL } };
  cbuild_error err = { 0 };

  CHECK_INT (extract_tar (&s, specs, 1, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  CHECK (strstr (err.message, "'..'") != NULL);
  check_sandbox_intact (&s);
  CHECK_INT (count_entries (s.dest), 0);
  sandbox_free (&s);
}

static void
test_extract_confines_absolute (void)
{
  struct sandbox s = sandbox_new ("absolute");
  cleanup_free char *name = NULL;
  cleanup_free char *inside = NULL;
  cbuild_error err = { 0 };

  if (asprintf (&name, "%s/abs-file", s.outside) < 0 || asprintf (&inside, "%s%s", s.dest, name) < 0)
    abort ();
  {
    struct tar_spec specs[] = { { name, AE_IFREG, NULL, NULL } };
    CHECK_INT (extract_tar (&s, specs, 1, &err), 0);
  }
  CHECK (exists (inside));
  check_sandbox_intact (&s);
  sandbox_free (&s);
}

static void
test_extract_symlink_to_root (void)
{
  struct sandbox s = sandbox_new ("link-root");
  cleanup_free char *name = NULL;
  cleanup_free char *inside = NULL;
  cbuild_error err = { 0 };

  /* "link/<outside>/pwned" would reach the real outside directory if the
   * symlink to "/" were followed on the host. */
  if (asprintf (&name, "link%s/pwned", s.outside) < 0
      || asprintf (&inside, "%s%s/pwned", s.dest, s.outside) < 0)
    abort ();
  {
    struct tar_spec specs[] = { { "link", AE_IFLNK, "/", NULL }, { name, AE_IFREG, NULL, NULL } };
    CHECK_INT (extract_tar (&s, specs, 2, &err), 0);
  }
  CHECK (exists (inside));
  check_sandbox_intact (&s);
  sandbox_free (&s);
}

/* DEST/<outside> exists as well as the real <outside>: the symlink to
 * the absolute path must lead to the one inside. */
static void
test_extract_symlink_absolute_dir (void)
{
  struct sandbox s = sandbox_new ("link-abs");
  cleanup_free char *inside = NULL;
  struct tar_spec specs[] = { { NULL, AE_IFDIR, NULL, NULL },
                              { "out", AE_IFLNK, NULL, NULL },
                              { "out/pwned", AE_IFREG, NULL, NULL } };
  cbuild_error err = { 0 };

  specs[0].name = s.outside;
  specs[1].link = s.outside;
  if (asprintf (&inside, "%s%s/pwned", s.dest, s.outside) < 0)
    abort ();
  CHECK_INT (extract_tar (&s, specs, 3, &err), 0);
  CHECK (exists (inside));
  check_sandbox_intact (&s);
  sandbox_free (&s);
}

static void
test_extract_symlink_parent (void)
{
  struct sandbox s = sandbox_new ("link-up");
  cleanup_free char *inside = NULL;
  struct tar_spec specs[] = { { "a", AE_IFLNK, "..", NULL }, { "a/x", AE_IFREG, NULL, NULL } };
  struct tar_spec dangling[] = { { "b", AE_IFLNK, "../../outside", NULL },
                                 { "b/y", AE_IFREG, NULL, NULL } };
  cbuild_error err = { 0 };

  inside = join (s.dest, "x");
  CHECK_INT (extract_tar (&s, specs, 2, &err), 0);
  CHECK (exists (inside));
  check_sandbox_intact (&s);

  /* "b" resolves to DEST/outside, which does not exist; directories are
   * not created behind a symlink, so the entry fails. */
  CHECK_INT (extract_tar (&s, dangling, 2, &err), -1);
  CHECK_INT (err.sys_errno, ENOENT);
  check_sandbox_intact (&s);
  sandbox_free (&s);
}

static void
test_extract_hardlink_outside (void)
{
  struct sandbox s = sandbox_new ("hardlink");
  struct tar_spec specs[] = { { "h", 0, "../../outside/secret", NULL } };
  cbuild_error err = { 0 };

  CHECK_INT (extract_tar (&s, specs, 1, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
  check_sandbox_intact (&s);
  CHECK_INT (count_entries (s.dest), 0);
  sandbox_free (&s);
}

static void
test_extract_hardlink_through_symlink (void)
{
  struct sandbox s = sandbox_new ("hardlink-link");
  struct tar_spec specs[] = { { "s", AE_IFLNK, NULL, NULL }, { "h", 0, "s/secret", NULL } };
  cleanup_free char *h = NULL;
  cbuild_error err = { 0 };

  specs[0].link = s.outside;
  h = join (s.dest, "h");
  /* "s/secret" resolves to DEST/<outside>/secret, which does not exist. */
  CHECK_INT (extract_tar (&s, specs, 2, &err), -1);
  CHECK_INT (err.sys_errno, ENOENT);
  CHECK (!exists (h));
  check_sandbox_intact (&s);
  sandbox_free (&s);
}

static void
test_extract_whiteout_dotdot (void)
{
  struct sandbox s = sandbox_new ("whiteout-dotdot");
  const char *names[] = { "d/.wh...", "d/.wh..", "d/.wh." };

  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    {
      struct tar_spec specs[] = { { "d/", AE_IFDIR, NULL, NULL }, { names[i], AE_IFREG, NULL, NULL } };
      cleanup_free char *d = join (s.dest, "d");
      cbuild_error err = { 0 };

      CHECK_INT (extract_tar (&s, specs, 2, &err), -1);
      CHECK_INT (err.code, CBUILD_ERR_INVALID);
      CHECK (exists (d));
      check_sandbox_intact (&s);
    }
  sandbox_free (&s);
}

static void
test_extract_drops_overlay_xattrs (void)
{
  struct sandbox s = sandbox_new ("xattrs");
  struct tar_spec specs[] = { { "evil", AE_IFREG, NULL, "trusted.overlay.redirect" },
                              { "fine", AE_IFREG, NULL, "user.fine" } };
  cleanup_free char *evil = NULL;
  cleanup_free char *fine = NULL;
  cbuild_error err = { 0 };
  char value[8];

  CHECK_INT (extract_tar (&s, specs, 2, &err), 0);
  evil = join (s.dest, "evil");
  fine = join (s.dest, "fine");
  CHECK (exists (evil));
  CHECK (lgetxattr (evil, "trusted.overlay.redirect", value, sizeof value) < 0);
  CHECK_INT (lgetxattr (fine, "user.fine", value, sizeof value), 1);
  sandbox_free (&s);
}

static void
test_extract_later_entry_replaces (void)
{
  struct sandbox s = sandbox_new ("replace");
  struct tar_spec specs[] = {
    { "f", AE_IFREG, NULL, NULL },   { "f", AE_IFLNK, "target", NULL },
    { "d", AE_IFREG, NULL, NULL },   { "d/", AE_IFDIR, NULL, NULL },
    { "d/x", AE_IFREG, NULL, NULL }, { "d/", AE_IFDIR, NULL, NULL },
    { "w", AE_IFREG, NULL, NULL },   { ".wh.w", AE_IFREG, NULL, NULL },
  };
  cleanup_free char *f = join (s.dest, "f");
  cleanup_free char *dx = join (s.dest, "d/x");
  cleanup_free char *w = join (s.dest, "w");
  cbuild_error err = { 0 };
  char target[16] = "";
  struct stat st;

  CHECK_INT (extract_tar (&s, specs, 8, &err), 0);
  CHECK_INT (readlink (f, target, sizeof target - 1), 6);
  CHECK_STR (target, "target");
  CHECK (exists (dx));
  CHECK (lstat (w, &st) == 0 && S_ISCHR (st.st_mode) && st.st_rdev == makedev (0, 0));
  check_sandbox_intact (&s);
  sandbox_free (&s);
}

static void
test_extract_truncated_fails (void)
{
  cleanup_free char *plain = join (base_dir, "truncated.tar");
  cleanup_free char *cmd = NULL;
  cleanup_free char *dest = join (base_dir, "truncated");
  char diff_id[CB_DIGEST_SIZE];
  cbuild_error err = { 0 };

  if (asprintf (&cmd, "gzip -dc '%s' | head -c 200000 > '%s'", fx.blob, plain) < 0 || system (cmd) != 0)
    abort ();
  mkdir (dest, 0755);
  CHECK_INT (cb_layer_extract (plain, dest, diff_id, &err), -1);
  CHECK (err.message[0] != '\0');
}

/* Docker's empty layer (1024 zero bytes, gzipped) has a well-known
 * diffID; an empty stream is an empty tar too; garbage is no tar. */
static void
test_extract_empty_and_garbage (void)
{
  const char *cases[][3] = {
    { "head -c 1024 /dev/zero | gzip -n", "zeros.gz",
      "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef" },
    { "gzip -n < /dev/null", "nothing.gz",
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "printf ''", "nothing.tar",
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { "printf 'not a tar archive'", "garbage", NULL },
  };
  cleanup_free char *dest = join (base_dir, "empty-extract");

  mkdir (dest, 0755);
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      cleanup_free char *blob = join (base_dir, cases[i][1]);
      cleanup_free char *cmd = NULL;
      char diff_id[CB_DIGEST_SIZE] = "";
      cbuild_error err = { 0 };

      if (asprintf (&cmd, "%s > '%s'", cases[i][0], blob) < 0 || system (cmd) != 0)
        abort ();
      if (cases[i][2])
        {
          CHECK_INT (cb_layer_extract (blob, dest, diff_id, &err), 0);
          CHECK_STR (diff_id, cases[i][2]);
        }
      else
        {
          CHECK_INT (cb_layer_extract (blob, dest, diff_id, &err), -1);
          CHECK_INT (err.code, CBUILD_ERR_INVALID);
        }
      CHECK_INT (count_entries (dest), 0);
    }
}

static void
test_snapshot_ensure (void)
{
  cleanup_free char *want = describe_expected_tree (fx.tree);
  cleanup_free char *got = NULL;
  cleanup_free char *again = NULL;
  cbuild_error err = { 0 };
  char *path = cb_snapshot_ensure (fx.store, fx.desc.digest, fx.desc.diff_id, &err);
  struct stat st;

  CHECK (path != NULL);
  if (path == NULL)
    return;
  CHECK (strncmp (path, fx.store->snapshots_dir, strlen (fx.store->snapshots_dir)) == 0);
  CHECK_STR (strrchr (path, '/') + 1, fx.desc.diff_id + 7);
  CHECK (stat (path, &st) == 0 && (st.st_mode & 07777) == 0755);
  got = describe_tree (path);
  CHECK_STR (got, want);
  again = cb_snapshot_ensure (fx.store, fx.desc.digest, fx.desc.diff_id, &err);
  CHECK_STR (again, path);
  CHECK_INT (count_entries (fx.store->tmp_dir), 0);
  free (path);
}

static void
test_snapshot_wrong_diff_id (void)
{
  const char *wrong = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
  cleanup_free char *snap = cb_path_join (fx.store->snapshots_dir, wrong + 7);
  cbuild_error err = { 0 };
  char *path = cb_snapshot_ensure (fx.store, fx.desc.digest, wrong, &err);

  CHECK (path == NULL);
  CHECK_INT (err.code, CBUILD_ERR_DIGEST);
  CHECK (!exists (snap));
  CHECK_INT (count_entries (fx.store->tmp_dir), 0);
  free (path);

  path = cb_snapshot_ensure (fx.store, wrong, wrong, &err);
  CHECK (path == NULL);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);
  path = cb_snapshot_ensure (fx.store, fx.desc.digest, "sha256:../../x", &err);
  CHECK (path == NULL);
  CHECK_INT (err.code, CBUILD_ERR_INVALID);
}

static void
test_snapshot_adopt (void)
{
  const char *id = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
  cleanup_free char *snap = cb_path_join (fx.store->snapshots_dir, id + 7);
  cleanup_free char *first = cb_path_join (fx.store->tmp_dir, "upper1");
  cleanup_free char *second = cb_path_join (fx.store->tmp_dir, "upper2");
  cleanup_free char *first_file = join (snap, "one");
  cbuild_error err = { 0 };

  mkdir (first, 0755);
  put_file (first, "one", "1", 0644);
  CHECK_INT (cb_snapshot_adopt (fx.store, first, id, &err), 0);
  CHECK (!exists (first));
  CHECK (exists (first_file));

  mkdir (second, 0755);
  put_file (second, "two", "2", 0644);
  CHECK_INT (cb_snapshot_adopt (fx.store, second, id, &err), 0);
  CHECK (!exists (second));
  CHECK (exists (first_file));
  CHECK_INT (count_entries (snap), 1);
}

/* Two processes unpack the same new layer at once: both get the
 * snapshot, and no temporary directory is left. */
static void
test_snapshot_concurrent (void)
{
  cleanup_free char *tree = join (base_dir, "race-tree");
  struct cb_layer_desc desc;
  cbuild_error err = { 0 };
  bool empty;
  pid_t pids[2];
  int ok = 0;

  mkdir (tree, 0755);
  for (int i = 0; i < 200; i++)
    {
      char name[32];
      snprintf (name, sizeof name, "file-%03d", i);
      put_file (tree, name, name, 0644);
    }
  if (cb_layer_create_from_dir (fx.store, tree, &desc, &empty, &err) < 0)
    abort ();
  for (int i = 0; i < 2; i++)
    {
      pids[i] = fork ();
      if (pids[i] == 0)
        {
          char *path = cb_snapshot_ensure (fx.store, desc.digest, desc.diff_id, &err);
          _exit (path != NULL && count_entries (path) == 200 ? 0 : 1);
        }
    }
  for (int i = 0; i < 2; i++)
    {
      int status = 0;
      waitpid (pids[i], &status, 0);
      ok += WIFEXITED (status) && WEXITSTATUS (status) == 0;
    }
  CHECK_INT (ok, 2);
  CHECK_INT (count_entries (fx.store->tmp_dir), 0);
}

int
main (void)
{
  char tmpl[] = "/var/tmp/test_layer.XXXXXX";
  cleanup_free char *root = NULL;
  cbuild_error err = { 0 };

  umask (022);
  base_dir = mkdtemp (tmpl);
  if (base_dir == NULL)
    return 1;
  memset (long_name, 'n', 150);
  root = join (base_dir, "store");
  if (cb_store_open (root, &fx.store, &err) < 0)
    {
      fprintf (stderr, "%s\n", err.message);
      return 1;
    }
  fx.tree = make_tree ("tree");

  test_create_entries_exact ();
  if (fx.blob == NULL)
    return check_report ();
  test_create_digests_match_tools ();
  test_create_gnu_tar_lists ();
  test_create_reproducible ();
  test_create_empty_dir ();
  test_create_missing_dir_fails ();
  test_create_deep_tree ();
  test_create_non_ascii_names ();
  test_extract_round_trip ();
  test_extract_other_compressions ();
  test_extract_rejects_dotdot ();
  test_extract_confines_absolute ();
  test_extract_symlink_to_root ();
  test_extract_symlink_absolute_dir ();
  test_extract_symlink_parent ();
  test_extract_hardlink_outside ();
  test_extract_hardlink_through_symlink ();
  test_extract_whiteout_dotdot ();
  test_extract_drops_overlay_xattrs ();
  test_extract_later_entry_replaces ();
  test_extract_truncated_fails ();
  test_extract_empty_and_garbage ();
  test_snapshot_ensure ();
  test_snapshot_wrong_diff_id ();
  test_snapshot_adopt ();
  test_snapshot_concurrent ();

  cb_store_free (fx.store);
  free (fx.tree);
  free (fx.blob);
  cb_remove_tree (base_dir, NULL);
  return check_report ();
}
