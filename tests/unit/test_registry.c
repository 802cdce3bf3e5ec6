/* Tests the registry client against real docker-registry servers on
 * 127.0.0.1: push, pull, mirrors, an image index, and basic (htpasswd) and
 * Bearer (token service) authentication. skopeo checks what was pushed. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/digest.h"
#include "common/error.h"
#include "common/fs.h"
#include "common/strv.h"
#include "layers/oci_layout.h"
#include "layers/store.h"
#include "registry/auth.h"
#include "registry/client.h"
#include "registry/http.h"
#include "registry/manifest.h"

#define MAX_PROCS 8

struct proc
{
  pid_t pid;
  int port;
};

static struct proc procs[MAX_PROCS];
static size_t n_procs;
static char *tmp_root;
static char empty_config_dir[4096];

/* ---- processes --------------------------------------------------------- */

static void
stop_all (void)
{
  for (size_t i = 0; i < n_procs; i++)
    if (procs[i].pid > 0)
      {
        kill (procs[i].pid, SIGKILL);
        waitpid (procs[i].pid, NULL, 0);
        procs[i].pid = 0;
      }
  if (tmp_root && getenv ("KEEP_TMP") == NULL)
    cb_remove_tree (tmp_root, NULL);
}

static int
free_port (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM, 0);
  int port = -1;

  if (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0
      && getsockname (fd, (struct sockaddr *) &addr, &len) == 0)
    port = ntohs (addr.sin_port);
  close (fd);
  return port;
}

/* Starts argv with output to log; the child dies with this process, so
 * that a crashed test leaves no server behind. */
static pid_t
spawn (char *const argv[], const char *log)
{
  pid_t pid = fork ();

  if (pid == 0)
    {
      int fd = open (log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      if (fd >= 0)
        {
          dup2 (fd, 1);
          dup2 (fd, 2);
        }
      execvp (argv[0], argv);
      _exit (127);
    }
  if (pid > 0 && n_procs < MAX_PROCS)
    procs[n_procs++].pid = pid;
  return pid;
}

static bool
v2_answers (CURL *curl, int port)
{
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  static struct cb_http_response resp;
  char url[64];

  snprintf (url, sizeof url, "http://127.0.0.1:%d/v2/", port);
  req.url = url;
  return cb_http_perform (curl, &req, &resp, NULL) == 0 && (resp.status == 200 || resp.status == 401);
}

static bool
wait_for_registry (pid_t pid, int port)
{
  CURL *curl = curl_easy_init ();
  bool up = false;

  for (int i = 0; i < 150 && !up; i++)
    {
      if (waitpid (pid, NULL, WNOHANG) == pid)
        break;
      up = v2_answers (curl, port);
      if (!up)
        usleep (100 * 1000);
    }
  curl_easy_cleanup (curl);
  return up;
}

/* Starts docker-registry with its own storage; auth_yaml is appended to
 * the config. Returns the port, or -1. */
static int
start_registry (const char *name, const char *auth_yaml)
{
  char config[4096], log[4096], storage[4096];
  int port = free_port ();
  pid_t pid;
  FILE *f;

  snprintf (config, sizeof config, "%s/%s.yml", tmp_root, name);
  snprintf (log, sizeof log, "%s/%s.log", tmp_root, name);
  snprintf (storage, sizeof storage, "%s/%s-storage", tmp_root, name);
  f = fopen (config, "w");
  if (f == NULL)
    return -1;
  fprintf (f,
           "version: 0.1\n"
           "log:\n  level: error\n  accesslog:\n    disabled: true\n"
           "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n"
           "http:\n  addr: 127.0.0.1:%d\n  secret: cbuild-test\n%s",
           storage, port, auth_yaml ? auth_yaml : "");
  fclose (f);
  pid = spawn ((char *[]){ "docker-registry", "serve", config, NULL }, log);
  if (pid < 0 || !wait_for_registry (pid, port))
    {
      fprintf (stderr, "docker-registry '%s' did not start; see %s\n", name, log);
      return -1;
    }
  return port;
}

/* ---- synthetic images -------------------------------------------------- */

struct image
{
  char manifest[CB_DIGEST_SIZE];
  char config[CB_DIGEST_SIZE];
  char layer[CB_DIGEST_SIZE];
  size_t manifest_size;
};

static size_t
write_tar (const char *content, bool gzip, char *buf, size_t cap)
{
  struct archive *a = archive_write_new ();
  struct archive_entry *e = archive_entry_new ();
  size_t used = 0;

  archive_write_set_format_pax_restricted (a);
  if (gzip)
    archive_write_add_filter_gzip (a);
  archive_write_set_bytes_in_last_block (a, 1);
  archive_write_open_memory (a, buf, cap, &used);
  archive_entry_set_pathname (e, "hello.txt");
  archive_entry_set_filetype (e, AE_IFREG);
  archive_entry_set_perm (e, 0644);
  archive_entry_set_size (e, (la_int64_t) strlen (content));
  archive_write_header (a, e);
  archive_write_data (a, content, strlen (content));
  archive_write_close (a);
  archive_write_free (a);
  archive_entry_free (e);
  return used;
}

/* Stores a one-layer image: a gzip tar holding content, a config for
 * arch, and a manifest of the given flavour (OCI or Docker schema 2). */
static void
make_image (struct cb_store *store, const char *arch, const char *content, bool docker, struct image *img)
{
  static char tar[64 * 1024], tgz[64 * 1024];
  char diff_id[CB_DIGEST_SIZE];
  cleanup_buf struct cb_buf json = CB_BUF_INIT;
  size_t tar_len = write_tar (content, false, tar, sizeof tar);
  size_t tgz_len = write_tar (content, true, tgz, sizeof tgz);
  size_t config_len;

  CHECK_INT (cb_sha256_bytes (tar, tar_len, diff_id, NULL), 0);
  CHECK_INT (cb_store_put_blob (store, tgz, tgz_len, img->layer, NULL), 0);
  cb_buf_printf (&json, NULL,
                 "{\"architecture\":\"%s\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"/bin/sh\"]},"
                 "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                 arch, diff_id);
  config_len = json.len;
  CHECK_INT (cb_store_put_blob (store, json.data, json.len, img->config, NULL), 0);
  cb_buf_reset (&json);
  cb_buf_printf (&json, NULL,
                 "{\"schemaVersion\":2,\"mediaType\":\"%s\","
                 "\"config\":{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
                 "\"layers\":[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
                 docker ? CB_MEDIA_DOCKER_MANIFEST : CB_MEDIA_OCI_MANIFEST,
                 docker ? CB_MEDIA_DOCKER_CONFIG : CB_MEDIA_OCI_CONFIG, img->config, config_len,
                 docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip" : "application/vnd.oci.image.layer.v1.tar+gzip",
                 img->layer, tgz_len);
  img->manifest_size = json.len;
  CHECK_INT (cb_store_put_blob (store, json.data, json.len, img->manifest, NULL), 0);
}

static struct cb_store *
new_store (const char *name)
{
  char path[4096];
  struct cb_store *store = NULL;
  cbuild_error err = { 0 };

  snprintf (path, sizeof path, "%s/%s", tmp_root, name);
  if (cb_store_open (path, &store, &err) < 0)
    fprintf (stderr, "store '%s': %s\n", path, err.message);
  return store;
}

/* ---- client helpers ---------------------------------------------------- */

static struct cb_strv log_lines = CB_STRV_INIT;

static void
collect_log (void *user_data, int level, const char *message)
{
  (void) user_data;
  (void) level;
  cb_strv_push (&log_lines, message, NULL);
}

static const struct cb_logger test_logger = { collect_log, NULL };

static size_t
count_log (const char *needle)
{
  size_t n = 0;

  for (size_t i = 0; i < log_lines.len; i++)
    if (strstr (log_lines.items[i], needle))
      n++;
  return n;
}

struct client_options
{
  const char *mirrors[4];
  const char *hub;
  const char *config_dir;
};

static struct cb_registry *
new_client (const struct client_options *o)
{
  static struct cb_strv mirrors = CB_STRV_INIT;
  struct cb_registry_options opts = { 0 };
  struct cb_registry *reg = NULL;
  cbuild_error err = { 0 };

  cb_strv_release (&mirrors);
  for (size_t i = 0; o && i < 4 && o->mirrors[i]; i++)
    cb_strv_push (&mirrors, o->mirrors[i], NULL);
  opts.mirrors = &mirrors;
  /* A closed loopback port replaces Docker Hub, so that no test can reach
   * the internet. */
  opts.docker_hub_host = o && o->hub ? o->hub : "127.0.0.1:1";
  opts.docker_config_dir = o && o->config_dir ? o->config_dir : empty_config_dir;
  opts.log = &test_logger;
  if (cb_registry_new (&opts, &reg, &err) < 0)
    fprintf (stderr, "cb_registry_new: %s\n", err.message);
  cb_strv_release (&log_lines);
  return reg;
}

static int
push_ref (struct cb_registry *reg, struct cb_store *store, const char *ref_text, const char *digest,
          cbuild_error *err)
{
  struct cb_reference ref;
  int ret;

  if (cb_reference_parse (ref_text, &ref, err) < 0)
    return -1;
  ret = cb_registry_push (reg, &ref, store, digest, err);
  cb_reference_release (&ref);
  return ret;
}

static int
pull_ref (struct cb_registry *reg, struct cb_store *store, const char *ref_text,
          const struct cb_platform *platform, struct cb_pulled_image *out, cbuild_error *err)
{
  struct cb_reference ref;
  int ret;

  if (cb_reference_parse (ref_text, &ref, err) < 0)
    return -1;
  ret = cb_registry_pull (reg, &ref, platform, store, out, err);
  cb_reference_release (&ref);
  return ret;
}

static char *
fmt (const char *format, ...) __attribute__ ((format (printf, 1, 2)));

/* Formats into one of a few rotating static buffers, for test inputs. */
static char *
fmt (const char *format, ...)
{
  static char bufs[16][1024];
  static int next;
  char *buf = bufs[next++ % 16];
  va_list ap;

  va_start (ap, format);
  vsnprintf (buf, sizeof bufs[0], format, ap);
  va_end (ap);
  return buf;
}

/* Runs command and returns its standard output parsed as JSON. */
static json_t *
run_json (const char *command)
{
  char buf[64 * 1024];
  size_t len;
  FILE *p = popen (command, "r");

  if (p == NULL)
    return NULL;
  len = fread (buf, 1, sizeof buf - 1, p);
  buf[len] = '\0';
  if (pclose (p) != 0)
    {
      fprintf (stderr, "'%s' failed: %s\n", command, buf);
      return NULL;
    }
  return json_loads (buf, 0, NULL);
}

/* ---- tests ------------------------------------------------------------- */

static int plain_port;          /* docker-registry without authentication */
static struct cb_store *src;    /* the images that are pushed */
static struct image img_oci;    /* test/img:1 */

static void
test_push_new_image (void)
{
  struct cb_registry *reg = new_client (NULL);
  cbuild_error err = { 0 };
  json_t *info;

  make_image (src, "amd64", "hello from cbuild\n", false, &img_oci);
  CHECK_INT (push_ref (reg, src, fmt ("127.0.0.1:%d/test/img:1", plain_port), img_oci.manifest, &err), 0);
  if (err.message[0])
    fprintf (stderr, "push: %s\n", err.message);
  CHECK_INT (count_log ("uploaded"), 2);
  CHECK_INT (count_log (fmt ("pushing 127.0.0.1:%d/test/img:1", plain_port)), 1);
  cb_registry_free (reg);

  /* skopeo reads the image back on its own. */
  info = run_json (fmt ("skopeo inspect --tls-verify=false docker://127.0.0.1:%d/test/img:1 2>&1", plain_port));
  CHECK (info != NULL);
  CHECK_STR (json_string_value (json_object_get (info, "Digest")), img_oci.manifest);
  CHECK_INT (json_array_size (json_object_get (info, "Layers")), 1);
  CHECK_STR (json_string_value (json_array_get (json_object_get (info, "Layers"), 0)), img_oci.layer);
  CHECK_STR (json_string_value (json_object_get (info, "Architecture")), "amd64");
  json_decref (info);
}

static void
test_push_again_skips_blobs (void)
{
  struct cb_registry *reg = new_client (NULL);
  cbuild_error err = { 0 };

  CHECK_INT (push_ref (reg, src, fmt ("127.0.0.1:%d/test/img:1", plain_port), img_oci.manifest, &err), 0);
  CHECK_INT (count_log ("exists"), 2);
  CHECK_INT (count_log ("uploaded"), 0);
  CHECK_INT (count_log ("manifest sha256:"), 1);
  cb_registry_free (reg);
}

static void
check_pulled (const struct cb_pulled_image *out, struct cb_store *store, const struct image *img)
{
  CHECK_STR (out->manifest_digest, img->manifest);
  CHECK_STR (out->config_digest, img->config);
  CHECK_INT (out->n_layers, 1);
  if (out->n_layers == 1)
    CHECK_STR (out->layers[0].digest, img->layer);
  CHECK (cb_store_has_blob (store, img->manifest));
  CHECK (cb_store_has_blob (store, img->config));
  CHECK (cb_store_has_blob (store, img->layer));
  CHECK (out->config_json && strstr (out->config_json, "\"diff_ids\"") != NULL);
}

static void
test_pull_by_tag (void)
{
  struct cb_registry *reg = new_client (NULL);
  struct cb_store *dst = new_store ("pull-tag");
  struct cb_pulled_image out;
  cbuild_error err = { 0 };

  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/img:1", plain_port), NULL, &out, &err), 0);
  check_pulled (&out, dst, &img_oci);
  CHECK_STR (out.manifest_media_type, CB_MEDIA_OCI_MANIFEST);
  CHECK_INT (count_log ("layer sha256:"), 1);
  cb_pulled_image_release (&out);

  /* A second pull finds every blob in the store and downloads nothing. */
  cb_strv_release (&log_lines);
  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/img:1", plain_port), NULL, &out, &err), 0);
  CHECK_INT (count_log ("exists"), 1);
  cb_pulled_image_release (&out);
  cb_registry_free (reg);
  cb_store_free (dst);
}

static void
test_pull_by_digest (void)
{
  struct cb_registry *reg = new_client (NULL);
  struct cb_store *dst = new_store ("pull-digest");
  struct cb_pulled_image out;
  cbuild_error err = { 0 };
  const char *missing = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/img@%s", plain_port, img_oci.manifest), NULL, &out, &err), 0);
  check_pulled (&out, dst, &img_oci);
  cb_pulled_image_release (&out);

  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/img@%s", plain_port, missing), NULL, &out, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);
  cb_registry_free (reg);
  cb_store_free (dst);
}

static void
test_pull_missing_tag (void)
{
  struct cb_registry *reg = new_client (NULL);
  struct cb_store *dst = new_store ("pull-missing");
  struct cb_pulled_image out;
  cbuild_error err = { 0 };

  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/nope", plain_port), NULL, &out, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);
  CHECK_STR (err.message, fmt ("pull '127.0.0.1:%d/test/nope:latest': manifest unknown (the image or tag does not exist)",
                               plain_port));
  cb_registry_free (reg);
  cb_store_free (dst);
}

static void
test_pull_closed_port (void)
{
  struct cb_registry *reg = new_client (NULL);
  struct cb_store *dst = new_store ("pull-closed");
  struct cb_pulled_image out;
  cbuild_error err = { 0 };
  int port = free_port ();

  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/img:1", port), NULL, &out, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_REGISTRY);
  CHECK_STR (err.message, fmt ("pull '127.0.0.1:%d/test/img:1': cannot connect to registry 127.0.0.1:%d: "
                               "Connection refused (is the registry running?)", port, port));
  cb_registry_free (reg);
  cb_store_free (dst);
}

static void
test_pull_docker_schema2 (void)
{
  struct cb_registry *reg = new_client (NULL);
  struct cb_store *dst = new_store ("pull-docker");
  struct cb_pulled_image out;
  cbuild_error err = { 0 };
  struct image img;

  make_image (src, "amd64", "docker media types\n", true, &img);
  CHECK_INT (push_ref (reg, src, fmt ("127.0.0.1:%d/test/docker:1", plain_port), img.manifest, &err), 0);
  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/docker:1", plain_port), NULL, &out, &err), 0);
  check_pulled (&out, dst, &img);
  CHECK_STR (out.manifest_media_type, CB_MEDIA_DOCKER_MANIFEST);
  CHECK_STR (out.layers[0].media_type, "application/vnd.docker.image.rootfs.diff.tar.gzip");
  cb_pulled_image_release (&out);
  cb_registry_free (reg);
  cb_store_free (dst);
}

static void
test_pull_through_mirror (void)
{
  struct client_options o = { .mirrors = { fmt ("127.0.0.1:%d", plain_port) } };
  struct cb_registry *reg = new_client (NULL);
  struct cb_store *dst = new_store ("pull-mirror");
  struct cb_pulled_image out;
  cbuild_error err = { 0 };

  CHECK_INT (push_ref (reg, src, fmt ("127.0.0.1:%d/library/foo:1", plain_port), img_oci.manifest, &err), 0);
  cb_registry_free (reg);

  /* Docker Hub is replaced by a closed port, so the mirror must serve. */
  reg = new_client (&o);
  CHECK_INT (pull_ref (reg, dst, "foo:1", NULL, &out, &err), 0);
  check_pulled (&out, dst, &img_oci);
  CHECK_INT (count_log ("pulling docker.io/library/foo:1"), 1);
  CHECK_INT (count_log ("trying the next registry"), 0);
  cb_pulled_image_release (&out);
  cb_registry_free (reg);
  cb_store_free (dst);
}

static void
test_pull_mirror_fallback (void)
{
  int empty_port = start_registry ("empty-mirror", NULL);
  int closed_port = free_port ();
  struct client_options o = {
    .mirrors = { fmt ("127.0.0.1:%d", closed_port), fmt ("http://127.0.0.1:%d/", empty_port) },
    .hub = fmt ("127.0.0.1:%d", plain_port),
  };
  struct cb_registry *reg = new_client (&o);
  struct cb_store *dst = new_store ("pull-fallback");
  struct cb_pulled_image out;
  cbuild_error err = { 0 };

  CHECK (empty_port > 0);
  CHECK_INT (pull_ref (reg, dst, "docker.io/library/foo:1", NULL, &out, &err), 0);
  check_pulled (&out, dst, &img_oci);
  CHECK_INT (count_log ("trying the next registry"), 2);
  CHECK_INT (count_log (fmt ("mirror 127.0.0.1:%d: cannot connect to registry", closed_port)), 1);
  CHECK_INT (count_log (fmt ("mirror 127.0.0.1:%d: manifest unknown (the image or tag does not exist)", empty_port)), 1);
  cb_pulled_image_release (&out);

  /* When no registry has it, the error is the last one's. */
  CHECK_INT (pull_ref (reg, dst, "docker.io/library/nope:1", NULL, &out, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);
  CHECK_STR (err.message, "pull 'docker.io/library/nope:1': manifest unknown (the image or tag does not exist)");
  cb_registry_free (reg);
  cb_store_free (dst);
}

static void
make_index (const struct image *first, const char *first_arch, const struct image *second,
            const struct cb_platform *second_platform, char digest[CB_DIGEST_SIZE])
{
  cleanup_buf struct cb_buf json = CB_BUF_INIT;

  cb_buf_printf (&json, NULL,
                 "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"manifests\":["
                 "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
                 "\"platform\":{\"architecture\":\"%s\",\"os\":\"linux\"}},"
                 "{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu,"
                 "\"platform\":{\"architecture\":\"%s\",\"os\":\"linux\"%s%s%s}}]}",
                 CB_MEDIA_OCI_INDEX, CB_MEDIA_OCI_MANIFEST, first->manifest, first->manifest_size, first_arch,
                 CB_MEDIA_OCI_MANIFEST, second->manifest, second->manifest_size, second_platform->arch,
                 second_platform->variant ? ",\"variant\":\"" : "",
                 second_platform->variant ? second_platform->variant : "", second_platform->variant ? "\"" : "");
  CHECK_INT (cb_store_put_blob (src, json.data, json.len, digest, NULL), 0);
}

/* Runs command and returns the SHA-256 of its standard output. */
static void
output_digest (const char *command, char digest[CB_DIGEST_SIZE])
{
  static char buf[256 * 1024];
  FILE *p = popen (command, "r");
  size_t len = p ? fread (buf, 1, sizeof buf, p) : 0;

  if (p == NULL || pclose (p) != 0)
    len = 0;
  cb_sha256_bytes (buf, len, digest, NULL);
}

static void
test_pull_index_platform (void)
{
  struct cb_platform host, other = { "linux", NULL, NULL }, s390x = { "linux", "s390x", NULL };
  struct cb_registry *reg = new_client (NULL);
  struct cb_store *dst = new_store ("pull-index");
  struct cb_pulled_image out;
  cbuild_error err = { 0 };
  struct image host_img, other_img;
  char index[CB_DIGEST_SIZE], raw[CB_DIGEST_SIZE];

  cb_platform_host (&host);
  other.arch = strcmp (host.arch, "arm64") == 0 ? "amd64" : "arm64";
  make_image (src, other.arch, "other platform\n", false, &other_img);
  make_image (src, host.arch, "host platform\n", false, &host_img);
  /* The other platform comes first, and arm64 has no variant (v8 implied). */
  make_index (&other_img, other.arch, &host_img, &host, index);

  CHECK_INT (push_ref (reg, src, fmt ("127.0.0.1:%d/test/multi:1", plain_port), index, &err), 0);
  CHECK_INT (count_log ("manifest sha256:"), 3);
  output_digest (fmt ("skopeo inspect --raw --tls-verify=false docker://127.0.0.1:%d/test/multi:1", plain_port), raw);
  CHECK_STR (raw, index);

  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/multi:1", plain_port), NULL, &out, &err), 0);
  check_pulled (&out, dst, &host_img);
  cb_pulled_image_release (&out);

  other.variant = strcmp (other.arch, "arm64") == 0 ? "v8" : NULL;
  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/multi@%s", plain_port, index), &other, &out, &err), 0);
  check_pulled (&out, dst, &other_img);
  cb_pulled_image_release (&out);

  CHECK_INT (pull_ref (reg, dst, fmt ("127.0.0.1:%d/test/multi:1", plain_port), &s390x, &out, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_NOT_FOUND);
  CHECK (strstr (err.message, fmt ("no image for platform linux/s390x in the index (it has linux/%s, linux/%s",
                                   other.arch, host.arch)) != NULL);
  cb_registry_free (reg);
  cb_store_free (dst);
}

/* ---- offline units ----------------------------------------------------- */

static void
expect_manifest_error (const char *body, const char *content_type, const char *message)
{
  struct cb_manifest m;
  cbuild_error err = { 0 };

  CHECK_INT (cb_manifest_parse (body, strlen (body), content_type, &m, &err), -1);
  CHECK_STR (err.message, message);
}

static void
test_manifest_parse (void)
{
  struct cb_manifest m;
  cbuild_error err = { 0 };
  const char *list = "{\"schemaVersion\":2,\"manifests\":[]}";

  expect_manifest_error ("{\"schemaVersion\":1,\"name\":\"x\",\"fsLayers\":[]}", "application/json",
                         "unsupported Docker schema 1 manifest (deprecated; push the image again with a current "
                         "Docker or cbuild)");
  expect_manifest_error ("{}", "application/vnd.docker.distribution.manifest.v1+prettyjws",
                         "unsupported Docker schema 1 manifest (deprecated; push the image again with a current "
                         "Docker or cbuild)");
  expect_manifest_error ("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.example+json\"}", NULL,
                         "unsupported manifest media type 'application/vnd.example+json'");
  expect_manifest_error ("{\"schemaVersion\":2,\"config\":{\"digest\":\"sha512:abc\",\"size\":1},\"layers\":[]}", NULL,
                         "unsupported digest 'sha512:abc' in manifest (only sha256 is)");
  expect_manifest_error ("[1]", NULL, "invalid manifest: not a JSON object (wrong type)");

  CHECK_INT (cb_manifest_parse (list, strlen (list), NULL, &m, &err), 0);
  CHECK_INT (m.kind, CB_MANIFEST_INDEX);
  CHECK_STR (m.media_type, CB_MEDIA_OCI_INDEX);
  cb_manifest_release (&m);
  CHECK_INT (cb_manifest_parse (list, strlen (list), CB_MEDIA_DOCKER_LIST "; charset=utf-8", &m, &err), 0);
  CHECK_STR (m.media_type, CB_MEDIA_DOCKER_LIST);
  cb_manifest_release (&m);
}

static void
test_platform_match (void)
{
  struct cb_platform arm64 = { "linux", "arm64", NULL }, arm64_v8 = { "linux", "arm64", "v8" };
  struct cb_platform amd64 = { "linux", "amd64", NULL }, armv7 = { "linux", "arm", "v7" };
  struct cb_platform host;
  char buf[64];

  CHECK (cb_platform_matches (&arm64, "linux", "arm64", "v8"));
  CHECK (cb_platform_matches (&arm64_v8, "linux", "arm64", NULL));
  CHECK (cb_platform_matches (&arm64_v8, "linux", "aarch64", NULL));
  CHECK (!cb_platform_matches (&arm64, "linux", "arm", "v8"));
  CHECK (cb_platform_matches (&amd64, "linux", "amd64", "v1"));
  CHECK (!cb_platform_matches (&amd64, "linux", "amd64", "v3"));
  CHECK (!cb_platform_matches (&amd64, "windows", "amd64", NULL));
  CHECK (!cb_platform_matches (&amd64, NULL, "amd64", NULL));
  CHECK (cb_platform_matches (&armv7, "linux", "arm", NULL));
  CHECK (!cb_platform_matches (&armv7, "linux", "arm", "v6"));
  cb_platform_format (&arm64_v8, buf, sizeof buf);
  CHECK_STR (buf, "linux/arm64/v8");
  cb_platform_format (&amd64, buf, sizeof buf);
  CHECK_STR (buf, "linux/amd64");

  cb_platform_host (&host);
  CHECK_STR (host.os, "linux");
#if defined(__x86_64__)
  CHECK_STR (host.arch, "amd64");
  CHECK (host.variant == NULL);
#elif defined(__aarch64__)
  CHECK_STR (host.arch, "arm64");
  CHECK_STR (host.variant, "v8");
#endif
}

static void
test_challenge_parse (void)
{
  struct cb_auth_challenge ch;
  cbuild_error err = { 0 };

  CHECK_INT (cb_auth_challenge_parse ("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
                                      "scope=\"repository:library/debian:pull\"", &ch, &err), 0);
  CHECK_INT (ch.scheme, CB_AUTH_BEARER);
  CHECK_STR (ch.realm, "https://auth.docker.io/token");
  CHECK_STR (ch.service, "registry.docker.io");
  cb_auth_challenge_release (&ch);

  CHECK_INT (cb_auth_challenge_parse ("bearer realm=http://a/t, service=\"a \\\"b\\\"\"", &ch, &err), 0);
  CHECK_STR (ch.realm, "http://a/t");
  CHECK_STR (ch.service, "a \"b\"");
  cb_auth_challenge_release (&ch);

  CHECK_INT (cb_auth_challenge_parse ("Basic realm=\"test\"", &ch, &err), 0);
  CHECK_INT (ch.scheme, CB_AUTH_BASIC);
  cb_auth_challenge_release (&ch);

  CHECK_INT (cb_auth_challenge_parse ("Bearer service=\"x\"", &ch, &err), -1);
  CHECK_STR (err.message, "Bearer challenge without an http(s) realm");
  CHECK_INT (cb_auth_challenge_parse ("Bearer realm=\"file:///etc/passwd\"", &ch, &err), -1);
  CHECK_INT (cb_auth_challenge_parse ("Negotiate abc", &ch, &err), -1);
  CHECK_STR (err.message, "unsupported authentication challenge 'Negotiate'");
}

static void
write_file (const char *path, const char *text)
{
  CHECK_INT (cb_write_file_atomic (path, text, strlen (text), 0600, NULL), 0);
}

/* Writes TMP/name/config.json with one auths entry for key and stores
 * the directory in dir. */
static const char *
docker_config (char dir[4096], const char *name, const char *key, const char *user, const char *password)
{
  struct cb_credentials creds = { (char *) user, (char *) password };
  char *basic = cb_auth_basic_header (&creds);

  snprintf (dir, 4096, "%s/%s", tmp_root, name);
  cb_mkdir_p (dir, 0700, NULL);
  write_file (fmt ("%s/config.json", dir), fmt ("{\"auths\":{\"%s\":{\"auth\":\"%s\"}}}", key, basic + 6));
  free (basic);
  return dir;
}

static void
test_docker_config_credentials (void)
{
  const char *dir = fmt ("%s/creds", tmp_root);
  const char *path = fmt ("%s/config.json", dir);
  struct cb_credentials creds;
  cbuild_error err = { 0 };

  cb_mkdir_p (dir, 0700, NULL);
  write_file (path, "{\"auths\":{"
                    "\"https://index.docker.io/v1/\":{\"auth\":\"aHViOnB3OmV4dHJh\"},"
                    "\"http://127.0.0.1:5000\":{\"username\":\"u\",\"password\":\"p\"},"
                    "\"ghcr.io\":{\"auth\":\"bm9jb2xvbg==\"}},"
                    "\"credsStore\":\"desktop\"}");
  CHECK_INT (cb_docker_config_credentials (path, "docker.io", &creds, &err), 0);
  CHECK_STR (creds.username, "hub");
  CHECK_STR (creds.password, "pw:extra");
  cb_credentials_release (&creds);
  CHECK_INT (cb_docker_config_credentials (path, "127.0.0.1:5000", &creds, &err), 0);
  CHECK_STR (creds.username, "u");
  CHECK_STR (creds.password, "p");
  cb_credentials_release (&creds);
  CHECK_INT (cb_docker_config_credentials (path, "example.com", &creds, &err), 0);
  CHECK (creds.username == NULL);
  CHECK_INT (cb_docker_config_credentials (path, "ghcr.io", &creds, &err), -1);
  CHECK_STR (err.message, fmt ("%s: invalid \"auth\" for 'ghcr.io' (expected base64 of user:password)", path));
  CHECK_INT (cb_docker_config_credentials (fmt ("%s/missing.json", dir), "ghcr.io", &creds, &err), 0);
  CHECK (creds.username == NULL);
}

static void
test_resolve_url (void)
{
  cbuild_error err = { 0 };
  char *url;

  url = cb_http_resolve_url ("http://h:1/v2/x/blobs/uploads/", "/v2/x/blobs/uploads/u?_state=q%3D", "digest=sha256:00", &err);
  CHECK_STR (url, "http://h:1/v2/x/blobs/uploads/u?_state=q%3D&digest=sha256%3a00");
  free (url);
  url = cb_http_resolve_url ("http://h:1/v2/x/blobs/uploads/", "https://s:2/up/1", "digest=d", &err);
  CHECK_STR (url, "https://s:2/up/1?digest=d");
  free (url);
  url = cb_http_resolve_url ("http://h:1/v2/x/blobs/uploads/", "u2", NULL, &err);
  CHECK_STR (url, "http://h:1/v2/x/blobs/uploads/u2");
  free (url);
}

/* ---- authentication ---------------------------------------------------- */

static void
test_basic_auth (void)
{
  const char *htpasswd = fmt ("%s/htpasswd", tmp_root);
  struct cb_store *dst = new_store ("pull-basic");
  struct client_options o = { 0 };
  struct cb_registry *reg;
  struct cb_pulled_image out;
  cbuild_error err = { 0 };
  char ref[256], config_dir[4096];
  int port;

  CHECK_INT (system (fmt ("htpasswd -Bbc '%s' alice secret 2>/dev/null", htpasswd)), 0);
  port = start_registry ("basic", fmt ("auth:\n  htpasswd:\n    realm: test\n    path: %s\n", htpasswd));
  CHECK (port > 0);
  snprintf (ref, sizeof ref, "127.0.0.1:%d/test/img:1", port);

  reg = new_client (NULL);
  CHECK_INT (push_ref (reg, src, ref, img_oci.manifest, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_AUTH);
  CHECK_STR (err.message, fmt ("push '%s': authentication required: run 'docker login 127.0.0.1:%d' or set "
                               "credentials in %s/config.json", ref, port, empty_config_dir));
  cb_registry_free (reg);

  o.config_dir = docker_config (config_dir, "basic-good", fmt ("http://127.0.0.1:%d", port), "alice", "secret");
  reg = new_client (&o);
  CHECK_INT (push_ref (reg, src, ref, img_oci.manifest, &err), 0);
  CHECK_INT (pull_ref (reg, dst, ref, NULL, &out, &err), 0);
  check_pulled (&out, dst, &img_oci);
  cb_pulled_image_release (&out);
  cb_registry_free (reg);

  o.config_dir = docker_config (config_dir, "basic-bad", fmt ("127.0.0.1:%d", port), "alice", "wrong");
  reg = new_client (&o);
  CHECK_INT (pull_ref (reg, dst, ref, NULL, &out, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_AUTH);
  CHECK_STR (err.message, fmt ("pull '%s': authentication failed: the registry rejected the credentials or denied "
                               "access: run 'docker login 127.0.0.1:%d' or set credentials in %s/config.json",
                               ref, port, o.config_dir));
  cb_registry_free (reg);
  cb_store_free (dst);
}

/* Starts the Python helper tests/unit/NAME with arg and returns the port
 * it writes to port_file, or -1. */
static int
start_helper (const char *name, const char *arg, const char *port_file)
{
  const char *source = getenv ("CBUILD_SOURCE_DIR");
  char script[4096], log[4096];
  cleanup_free char *text = NULL;

  /* ctest sets CBUILD_SOURCE_DIR; by hand, the script sits beside this file. */
  if (source)
    snprintf (script, sizeof script, "%s/tests/unit/%s", source, name);
  else
    snprintf (script, sizeof script, "%.*s/%s", (int) (strrchr (__FILE__, '/') - __FILE__), __FILE__, name);
  snprintf (log, sizeof log, "%s.log", port_file);
  if (spawn ((char *[]){ "python3", script, (char *) arg, NULL }, log) < 0)
    return -1;
  for (int i = 0; i < 150; i++)
    {
      if (cb_read_file (port_file, 64, &text, NULL, NULL) == 0)
        return atoi (text);
      usleep (100 * 1000);
    }
  fprintf (stderr, "%s did not start; see %s\n", name, log);
  return -1;
}

static size_t
count_file_lines (const char *path, const char *line)
{
  cleanup_free char *text = NULL;
  size_t n = 0, len = strlen (line);

  if (cb_read_file (path, 1 << 20, &text, NULL, NULL) < 0)
    return 0;
  for (char *p = text; (p = strstr (p, line)) != NULL; p += len)
    if ((p == text || p[-1] == '\n') && p[len] == '\n')
      n++;
  return n;
}

static size_t
count_substring_in_file (const char *path, const char *needle)
{
  cleanup_free char *text = NULL;
  size_t n = 0;

  if (cb_read_file (path, 1 << 20, &text, NULL, NULL) < 0)
    return 0;
  for (char *p = text; (p = strstr (p, needle)) != NULL; p++)
    n++;
  return n;
}

static void
test_bearer_auth (void)
{
  char dir[4096];
  int token_port;
  struct cb_store *dst = new_store ("pull-bearer");
  struct client_options o = { 0 };
  struct cb_registry *reg;
  struct cb_pulled_image out;
  cbuild_error err = { 0 };
  char ref[256], realm[256], config_dir[4096];
  int port;

  snprintf (dir, sizeof dir, "%s/token", tmp_root);
  cb_mkdir_p (dir, 0700, NULL);
  token_port = start_helper ("registry_token_server.py", dir, fmt ("%s/port", dir));
  snprintf (realm, sizeof realm, "http://127.0.0.1:%d/token", token_port);
  CHECK (token_port > 0);
  port = start_registry ("bearer", fmt ("auth:\n  token:\n    realm: %s\n    service: cbuild-test\n"
                                        "    issuer: cbuild-test-issuer\n    rootcertbundle: %s/cert.pem\n",
                                        realm, dir));
  CHECK (port > 0);
  snprintf (ref, sizeof ref, "127.0.0.1:%d/test/img:1", port);

  /* Anonymous tokens carry pull access only. */
  reg = new_client (NULL);
  CHECK_INT (push_ref (reg, src, ref, img_oci.manifest, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_AUTH);
  CHECK_STR (err.message, fmt ("push '%s': authentication required: run 'docker login 127.0.0.1:%d' or set "
                               "credentials in %s/config.json", ref, port, empty_config_dir));
  cb_registry_free (reg);

  /* One token serves every request of the push. */
  o.config_dir = docker_config (config_dir, "bearer-good", fmt ("127.0.0.1:%d", port), "alice", "secret");
  reg = new_client (&o);
  CHECK_INT (push_ref (reg, src, ref, img_oci.manifest, &err), 0);
  CHECK_INT (count_file_lines (fmt ("%s/requests.log", dir), "alice repository:test/img:pull,push"), 1);
  cb_registry_free (reg);

  reg = new_client (NULL);
  CHECK_INT (pull_ref (reg, dst, ref, NULL, &out, &err), 0);
  check_pulled (&out, dst, &img_oci);
  CHECK_INT (count_file_lines (fmt ("%s/requests.log", dir), "- repository:test/img:pull"), 1);
  cb_pulled_image_release (&out);
  cb_registry_free (reg);

  o.config_dir = docker_config (config_dir, "bearer-bad", fmt ("127.0.0.1:%d", port), "alice", "wrong");
  reg = new_client (&o);
  CHECK_INT (pull_ref (reg, dst, ref, NULL, &out, &err), -1);
  CHECK_INT (err.code, CBUILD_ERR_AUTH);
  CHECK_STR (err.message, fmt ("pull '%s': authentication failed: the token service at %s rejected the credentials "
                               "(HTTP 401): run 'docker login 127.0.0.1:%d' or set credentials in %s/config.json",
                               ref, realm, port, o.config_dir));
  cb_registry_free (reg);
  cb_store_free (dst);
}

/* docker-registry's redirect middleware sends blob requests to a static
 * file server over its storage directory, as registries backed by object
 * storage do. */
static void
test_pull_redirected_blobs (void)
{
  char storage[4096], htpasswd[4096], config_dir[4096], ref[256];
  struct cb_store *dst = new_store ("pull-redirect");
  struct client_options o = { 0 };
  struct cb_registry *reg;
  struct cb_pulled_image out;
  cbuild_error err = { 0 };
  int storage_port, port;

  snprintf (storage, sizeof storage, "%s/redirect-storage", tmp_root);
  snprintf (htpasswd, sizeof htpasswd, "%s/htpasswd", tmp_root);
  cb_mkdir_p (storage, 0755, NULL);
  storage_port = start_helper ("registry_storage_server.py", storage, fmt ("%s.port", storage));
  CHECK (storage_port > 0);
  port = start_registry ("redirect", fmt ("auth:\n  htpasswd:\n    realm: test\n    path: %s\n"
                                          "middleware:\n  storage:\n    - name: redirect\n"
                                          "      options:\n        baseurl: http://127.0.0.1:%d/\n",
                                          htpasswd, storage_port));
  CHECK (port > 0);
  snprintf (ref, sizeof ref, "127.0.0.1:%d/test/img:1", port);
  o.config_dir = docker_config (config_dir, "redirect", fmt ("127.0.0.1:%d", port), "alice", "secret");

  reg = new_client (&o);
  CHECK_INT (push_ref (reg, src, ref, img_oci.manifest, &err), 0);
  CHECK_INT (pull_ref (reg, dst, ref, NULL, &out, &err), 0);
  check_pulled (&out, dst, &img_oci);
  cb_pulled_image_release (&out);

  /* A second push checks blobs with HEAD, which is redirected too. */
  cb_strv_release (&log_lines);
  CHECK_INT (push_ref (reg, src, ref, img_oci.manifest, &err), 0);
  CHECK_INT (count_log ("exists"), 2);
  cb_registry_free (reg);

  /* Config and layer came from storage, without the registry's password. */
  CHECK_INT (count_file_lines (fmt ("%s.log", storage), fmt ("GET /docker/registry/v2/blobs/sha256/%.2s/%s/data -",
                                                             img_oci.layer + 7, img_oci.layer + 7)), 1);
  CHECK_INT (count_file_lines (fmt ("%s.log", storage), fmt ("GET /docker/registry/v2/blobs/sha256/%.2s/%s/data -",
                                                             img_oci.config + 7, img_oci.config + 7)), 1);
  CHECK_INT (count_file_lines (fmt ("%s.log", storage), fmt ("HEAD /docker/registry/v2/blobs/sha256/%.2s/%s/data -",
                                                             img_oci.layer + 7, img_oci.layer + 7)), 1);
  CHECK (count_substring_in_file (fmt ("%s.log", storage), " auth\n") == 0);
  cb_store_free (dst);
}

int
main (void)
{
  /* Static: the atexit handler reads it after main has returned. */
  static char tmpl[] = "/var/tmp/cbuild-test-registry-XXXXXX";

  if ((tmp_root = mkdtemp (tmpl)) == NULL)
    {
      perror ("mkdtemp");
      return 1;
    }
  atexit (stop_all);
  snprintf (empty_config_dir, sizeof empty_config_dir, "%s/docker-empty", tmp_root);

  test_manifest_parse ();
  test_platform_match ();
  test_challenge_parse ();
  test_docker_config_credentials ();
  test_resolve_url ();

  plain_port = start_registry ("plain", NULL);
  src = new_store ("src");
  CHECK (plain_port > 0 && src != NULL);
  if (plain_port > 0 && src != NULL)
    {
      test_push_new_image ();
      test_push_again_skips_blobs ();
      test_pull_by_tag ();
      test_pull_by_digest ();
      test_pull_missing_tag ();
      test_pull_closed_port ();
      test_pull_docker_schema2 ();
      test_pull_through_mirror ();
      test_pull_mirror_fallback ();
      test_pull_index_platform ();
      test_basic_auth ();
      test_bearer_auth ();
      test_pull_redirected_blobs ();
    }
  cb_store_free (src);
  cb_strv_release (&log_lines);
  return check_report ();
}
