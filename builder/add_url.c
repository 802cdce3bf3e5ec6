#include "builder/add_url.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/digest.h"
#include "common/fs.h"
#include "layers/store.h"
#include "parser/remote_source.h"
#include "registry/client.h"

/* Parses an HTTP date in the three forms RFC 9110 section 5.6.7 lets a
 * recipient accept, as Go's http.ParseTime does. A value in another form,
 * or with anything after the date, is not applied, and the file keeps its
 * download time. */
static bool
parse_http_date (const char *value, struct tm *tm)
{
  static const char *const formats[] = {
    "%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    "%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
    "%a %b %e %H:%M:%S %Y",      /* asctime: Sun Nov  6 08:49:37 1994 */
    NULL,
  };

  for (size_t i = 0; value[0] && formats[i]; i++)
    {
      const char *rest;

      memset (tm, 0, sizeof *tm);
      rest = strptime (value, formats[i], tm);
      if (rest && *rest == '\0')
        return true;
    }
  return false;
}

/* Copies the downloaded blob to dir/name, mode 0600 as docker build gives
 * remote files, with the server's Last-Modified time when it sent one. */
static int
place_file (const char *blob_path, const char *dir, const char *name, const char *last_modified,
            cbuild_error *err)
{
  cleanup_free char *path = cb_path_join (dir, name);
  cleanup_close int src = -1, dst = -1;
  char buf[65536];
  struct tm tm = { 0 };

  if (path == NULL)
    return cb_error_nomem (err);
  src = open (blob_path, O_RDONLY | O_CLOEXEC);
  dst = src < 0 ? -1 : open (path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (src < 0 || dst < 0)
    return cb_error_sys (err, errno, "write the download to '%s'", path);
  for (;;)
    {
      ssize_t got = read (src, buf, sizeof buf);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0 || (got > 0 && cb_write_all (dst, buf, (size_t) got) < 0))
        return cb_error_sys (err, errno, "write the download to '%s'", path);
      if (got == 0)
        break;
    }
  if (parse_http_date (last_modified, &tm))
    {
      struct timespec times[2];
      times[0].tv_sec = times[1].tv_sec = timegm (&tm);
      times[0].tv_nsec = times[1].tv_nsec = 0;
      if (futimens (dst, times) < 0)
        return cb_error_sys (err, errno, "set the modification time of '%s'", path);
    }
  return 0;
}

/* --checksum algorithms as BuildKit takes them, with the length of their
 * hex digest. */
static const struct
{
  const char *prefix, *evp_name;
  size_t hex_len;
} checksum_kinds[] = {
  { "sha256:", "SHA256", 64 },
  { "sha384:", "SHA384", 96 },
  { "sha512:", "SHA512", 128 },
};

static int
checksum_kind (const char *checksum)
{
  for (size_t i = 0; i < sizeof checksum_kinds / sizeof checksum_kinds[0]; i++)
    {
      size_t plen = strlen (checksum_kinds[i].prefix);
      if (strncmp (checksum, checksum_kinds[i].prefix, plen) == 0 && strlen (checksum + plen) == checksum_kinds[i].hex_len
          && strspn (checksum + plen, "0123456789abcdefABCDEF") == checksum_kinds[i].hex_len)
        return (int) i;
    }
  return -1;
}

/* Writes "ALGORITHM:HEX" of the file at path with kind's algorithm. The
 * store keeps sha256 digests, so the other algorithms read the file again. */
static int
file_checksum (const char *path, int kind, char *out, size_t size, cbuild_error *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
  unsigned int md_len = 0;
  size_t pos;
  int ok = fd >= 0 && ctx && EVP_DigestInit_ex (ctx, EVP_get_digestbyname (checksum_kinds[kind].evp_name), NULL);

  for (ssize_t got = 1; ok && got > 0;)
    {
      got = read (fd, buf, sizeof buf);
      if (got < 0 && errno == EINTR)
        got = 1;
      else if (got < 0)
        ok = 0;
      else if (got > 0)
        ok = EVP_DigestUpdate (ctx, buf, (size_t) got);
    }
  ok = ok && EVP_DigestFinal_ex (ctx, md, &md_len);
  EVP_MD_CTX_free (ctx);
  if (!ok)
    return cb_error_sys (err, errno, "compute the %s checksum of the download", checksum_kinds[kind].evp_name);
  pos = (size_t) snprintf (out, size, "%.6s:", checksum_kinds[kind].prefix);
  for (unsigned int i = 0; i < md_len && pos + 3 <= size; i++)
    pos += (size_t) snprintf (out + pos, size - pos, "%02x", md[i]);
  return 0;
}

static int
check_checksum (struct cb_build *b, const char *url, const char *checksum, const char *digest, cbuild_error *err)
{
  cleanup_free char *path = NULL;
  char got[160];
  int kind;

  if (checksum == NULL)
    return 0;
  kind = checksum_kind (checksum);
  if (kind == 0)
    snprintf (got, sizeof got, "%s", digest);
  else if ((path = cb_store_blob_path (b->store, digest)) == NULL)
    return cb_error_nomem (err);
  else if (file_checksum (path, kind, got, sizeof got, err) < 0)
    return -1;
  /* Hex digits compare without regard to case. */
  if (strcasecmp (checksum, got) == 0)
    return 0;
  return cb_error_set (err, CBUILD_ERR_DIGEST, "checksum mismatch for '%s': expected %s, downloaded %s", url,
                       checksum, got);
}

/* The record of an earlier download from a URL, so that the next build
 * can ask the server whether it changed instead of downloading it again.
 * It is stored in ROOT/cache/url-downloads/<sha256 of the URL> as three
 * lines: the blob's digest, the ETag and the Last-Modified. */
struct url_record
{
  char digest[CB_DIGEST_SIZE];
  struct cb_download_validators validators;
};

static char *
record_path (struct cb_build *b, const char *url, cbuild_error *err)
{
  cleanup_free char *dir = cb_path_join (b->store->root, "cache/url-downloads");
  char id[CB_DIGEST_SIZE];
  char *path;

  if (dir == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  if (cb_mkdir_p (dir, 0700, err) < 0 || cb_sha256_bytes (url, strlen (url), id, err) < 0)
    return NULL;
  path = cb_path_join (dir, id + strlen ("sha256:"));
  if (path == NULL)
    cb_error_nomem (err);
  return path;
}

/* Reads the record; false when there is none, it is damaged, or its blob
 * is gone, because the record only saves a download. */
static bool
record_load (struct cb_build *b, const char *path, struct url_record *rec)
{
  cleanup_free char *text = NULL;
  cbuild_error ignored = { 0 };
  char *line[3], *save = NULL;
  size_t len = 0;

  memset (rec, 0, sizeof *rec);
  if (cb_read_file (path, 4096, &text, &len, &ignored) < 0)
    return false;
  for (int i = 0; i < 3; i++)
    {
      line[i] = strtok_r (i == 0 ? text : NULL, "\n", &save);
      if (line[i] == NULL)
        line[i] = (char *) "";
    }
  if (strlen (line[0]) != CB_DIGEST_SIZE - 1)
    return false;
  snprintf (rec->digest, sizeof rec->digest, "%s", line[0]);
  snprintf (rec->validators.etag, sizeof rec->validators.etag, "%s", strcmp (line[1], "-") ? line[1] : "");
  snprintf (rec->validators.last_modified, sizeof rec->validators.last_modified, "%s",
            strcmp (line[2], "-") ? line[2] : "");
  return cb_store_has_blob (b->store, rec->digest);
}

/* Saves the record when the server sent a validator; a failure only
 * costs the next build a full download. */
static void
record_save (const char *path, const char *digest, const struct cb_download_validators *v)
{
  cleanup_free char *text = NULL;
  cbuild_error ignored = { 0 };

  if (v->etag[0] == '\0' && v->last_modified[0] == '\0')
    return;
  if (asprintf (&text, "%s\n%s\n%s\n", digest, v->etag[0] ? v->etag : "-",
                v->last_modified[0] ? v->last_modified : "-")
      < 0)
    return;
  cb_write_file_atomic (path, text, strlen (text), 0600, &ignored);
}

/* Downloads url into the store, unless the record of an earlier download
 * is still current (the server responds 304), and sets digest and v. */
static int
download (struct cb_build *b, const char *url, char digest[CB_DIGEST_SIZE], struct cb_download_validators *v,
          cbuild_error *err)
{
  cleanup_free char *path = record_path (b, url, err);
  struct cb_blob_writer *blob = NULL;
  struct url_record rec;
  bool known, not_modified = false;
  int64_t size = 0;

  if (path == NULL)
    return -1;
  known = record_load (b, path, &rec);
  if (cb_blob_writer_new (b->store, &blob, err) < 0)
    return -1;
  if (cb_http_download (url, known ? &rec.validators : NULL, blob, v, &not_modified, err) < 0)
    {
      cb_blob_writer_abort (blob);
      return -1;
    }
  if (not_modified)
    {
      cb_blob_writer_abort (blob);
      memcpy (digest, rec.digest, CB_DIGEST_SIZE);
      return 0;
    }
  if (cb_blob_writer_commit (blob, NULL, digest, &size, err) < 0)
    return -1;
  record_save (path, digest, v);
  return 0;
}

static int
fetch_one (struct cb_build *b, const char *url, const char *checksum, struct cb_add_urls *out, cbuild_error *err)
{
  cleanup_free char *name = cb_remote_file_name (url);
  cleanup_free char *blob_path = NULL;
  struct cb_download_validators validators;
  char digest[CB_DIGEST_SIZE];

  if (name == NULL)
    return cb_error_nomem (err);
  if (download (b, url, digest, &validators, err) < 0 || check_checksum (b, url, checksum, digest, err) < 0)
    return -1;
  blob_path = cb_store_blob_path (b->store, digest);
  if (blob_path == NULL)
    return cb_error_nomem (err);
  if (place_file (blob_path, out->dir, name, validators.last_modified, err) < 0)
    return -1;
  if (cb_strv_push (&out->names, name, err) < 0 || cb_strv_push (&out->fields, url, err) < 0
      || cb_strv_push (&out->fields, name, err) < 0 || cb_strv_push (&out->fields, digest, err) < 0
      || cb_strv_push (&out->fields, validators.last_modified, err) < 0)
    return -1;
  return 0;
}

int
cb_add_urls_fetch (struct cb_build *b, const char *const *urls, size_t n_urls, const char *checksum,
                   struct cb_add_urls *out, cbuild_error *err)
{
  memset (out, 0, sizeof *out);
  if (checksum && n_urls != 1)
    return cb_error_set (err, CBUILD_ERR_INVALID, "--checksum needs exactly one source, a URL");
  if (checksum && checksum_kind (checksum) < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "invalid --checksum '%s': expected sha256:, sha384: or sha512: and the hex digest", checksum);
  out->dir = cb_make_temp_dir (b->work_dir, "add-url", err);
  if (out->dir == NULL)
    return -1;
  for (size_t i = 0; i < n_urls; i++)
    if (fetch_one (b, urls[i], checksum, out, err) < 0)
      {
        cb_add_urls_release (out);
        return -1;
      }
  return 0;
}

void
cb_add_urls_release (struct cb_add_urls *out)
{
  cbuild_error ignored = { 0 };

  if (out->dir)
    cb_remove_tree (out->dir, &ignored);
  free (out->dir);
  out->dir = NULL;
  cb_strv_release (&out->names);
  cb_strv_release (&out->fields);
}

int
cb_add_urls_copy (const struct cb_add_urls *urls, const struct cb_copy_request *like, bool unpack, cbuild_error *err)
{
  struct cb_copy_request req = *like;

  if (urls->names.len == 0)
    return 0;
  req.context_dir = urls->dir;
  req.ignore = NULL;
  req.exclude = NULL;
  /* A name from a URL may contain '*', '?' or '[', which name the file. */
  req.literal_sources = true;
  req.sources = (const char *const *) urls->names.items;
  req.n_sources = urls->names.len;
  /* A remote archive is extracted only with --unpack=true. */
  req.is_add = unpack;
  req.keep_archives = !unpack;
  req.source_name = "the downloaded files";
  if (!req.chmod_set)
    {
      req.chmod_set = true;
      req.mode = 0600;
    }
  return cb_copy_from_context (&req, err);
}
