/* The HTTP layer of the registry client against servers on 127.0.0.1
 * that misbehave: one that drips a body just fast enough to pass the
 * stall limit, and ones that redirect or send uploads to a file:// URL. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "common/buf.h"
#include "common/error.h"
#include "common/fs.h"
#include "layers/store.h"
#include "registry/client.h"
#include "registry/http.h"
#include "registry/reference.h"

/* The server stops by itself after this, even if the test hangs. */
#define SERVER_LIFETIME_S 30

struct server
{
  pid_t pid;
  int port;
};

static int
listen_loopback (int *port)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof addr;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (fd, 8) < 0
      || getsockname (fd, (struct sockaddr *) &addr, &len) < 0)
    abort ();
  *port = ntohs (addr.sin_port);
  return fd;
}

/* Reads the request head before the response is sent. Returns whether
 * the request is a POST. */
static bool
read_request (int conn)
{
  char buf[4096] = "";
  size_t used = 0;
  ssize_t n;

  while (used < sizeof buf - 1 && (n = read (conn, buf + used, sizeof buf - 1 - used)) > 0)
    {
      used += (size_t) n;
      buf[used] = '\0';
      if (strstr (buf, "\r\n\r\n"))
        break;
    }
  return strncmp (buf, "POST ", 5) == 0;
}

static void
write_str (int conn, const char *s)
{
  if (write (conn, s, strlen (s)) < 0)
    _exit (0);
}

/* Sends head (post_head to a POST, when not NULL) on every connection,
 * then, when drip is set, one body byte every 200 ms: 5 bytes a second,
 * above the stall limit. */
static struct server
server_start (const char *head, const char *post_head, bool drip)
{
  struct server s = { 0 };
  int fd = listen_loopback (&s.port);

  s.pid = fork ();
  if (s.pid < 0)
    abort ();
  if (s.pid == 0)
    {
      prctl (PR_SET_PDEATHSIG, SIGKILL);
      alarm (SERVER_LIFETIME_S);
      for (;;)
        {
          int conn = accept (fd, NULL, NULL);
          if (conn < 0)
            _exit (0);
          bool post = read_request (conn);
          write_str (conn, post && post_head ? post_head : head);
          while (drip)
            {
              write_str (conn, "x");
              usleep (200 * 1000);
            }
          close (conn);
        }
    }
  close (fd);
  return s;
}

static void
server_stop (struct server *s)
{
  kill (s->pid, SIGKILL);
  waitpid (s->pid, NULL, 0);
}

static double
now_s (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
test_drip_body_times_out (void)
{
  struct server s = server_start ("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n", NULL, true);
  CURL *curl = curl_easy_init ();
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  struct cb_http_response *resp = calloc (1, sizeof *resp);
  struct cb_buf body = CB_BUF_INIT;
  cbuild_error err = { 0 };
  char url[64];
  double started = now_s ();

  snprintf (url, sizeof url, "http://127.0.0.1:%d/v2/x/manifests/1", s.port);
  cb_buf_init (&body, 4 * 1024 * 1024);
  req.url = url;
  req.out = &body;
  req.timeout_s = 2;

  CHECK_INT (cb_http_perform (curl, &req, resp, &err), -1);
  CHECK (strstr (err.message, "timed out") != NULL);
  CHECK (now_s () - started < 10.0);
  CHECK (resp->transport_error);

  cb_buf_release (&body);
  free (resp);
  curl_easy_cleanup (curl);
  server_stop (&s);
}

/* Only transfers of blob contents go without a total limit. */
static void
test_total_timeout_by_kind (void)
{
  struct cb_http_request manifest = CB_HTTP_REQUEST_INIT;
  struct cb_http_request upload = CB_HTTP_REQUEST_INIT;
  struct cb_http_request download = CB_HTTP_REQUEST_INIT;
  struct cb_http_request chosen = CB_HTTP_REQUEST_INIT;
  struct cb_buf body = CB_BUF_INIT;
  char dir[] = "/var/tmp/cbuild-test-hostile-registry.XXXXXX";
  struct cb_store *store = NULL;
  struct cb_blob_writer *writer = NULL;

  if (mkdtemp (dir) == NULL || cb_store_open (dir, &store, NULL) < 0
      || cb_blob_writer_new (store, &writer, NULL) < 0)
    abort ();
  manifest.out = &body;
  upload.method = "PUT";
  upload.body_fd = 0;
  download.blob = writer;
  chosen.blob = writer;
  chosen.timeout_s = 7;

  CHECK_INT (cb_http_total_timeout (&manifest), CB_HTTP_SMALL_TIMEOUT_S);
  CHECK_INT (cb_http_total_timeout (&upload), 0);
  CHECK_INT (cb_http_total_timeout (&download), 0);
  CHECK_INT (cb_http_total_timeout (&chosen), 7);

  cb_blob_writer_abort (writer);
  cb_store_free (store);
  cb_remove_tree (dir, NULL);
}

/* The file:// URL has no host, so the message names the registry instead. */
static void
test_redirect_to_file_names_registry (void)
{
  struct server s = server_start ("HTTP/1.1 307 Temporary Redirect\r\nLocation: file:///etc/passwd\r\n"
                                  "Content-Length: 0\r\n\r\n",
                                  NULL, false);
  CURL *curl = curl_easy_init ();
  struct cb_http_request req = CB_HTTP_REQUEST_INIT;
  struct cb_http_response *resp = calloc (1, sizeof *resp);
  cbuild_error err = { 0 };
  char url[64], host[64];

  snprintf (url, sizeof url, "http://127.0.0.1:%d/v2/x/blobs/sha256:0", s.port);
  snprintf (host, sizeof host, "registry 127.0.0.1:%d ", s.port);
  req.url = url;
  req.follow_redirects = true;

  CHECK_INT (cb_http_perform (curl, &req, resp, &err), -1);
  CHECK (strstr (err.message, host) != NULL);
  CHECK (strstr (err.message, "file") != NULL);
  CHECK (!resp->transport_error);

  free (resp);
  curl_easy_cleanup (curl);
  server_stop (&s);
}

/* A one-blob image: a config and a manifest without layers. */
static void
store_image (struct cb_store *store, char manifest_digest[CB_DIGEST_SIZE])
{
  static const char config[] = "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{},"
                               "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}";
  char config_digest[CB_DIGEST_SIZE];
  char manifest[512];
  int len;

  if (cb_store_put_blob (store, config, strlen (config), config_digest, NULL) < 0)
    abort ();
  len = snprintf (manifest, sizeof manifest,
                  "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
                  "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\","
                  "\"digest\":\"%s\",\"size\":%zu},\"layers\":[]}",
                  config_digest, strlen (config));
  if (cb_store_put_blob (store, manifest, (size_t) len, manifest_digest, NULL) < 0)
    abort ();
}

/* libcurl would reject the file:// upload URL too, but without naming the
 * registry that sent it. */
static void
test_push_file_location_rejected (void)
{
  struct server s = server_start ("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n",
                                  "HTTP/1.1 202 Accepted\r\nLocation: file:///tmp/upload\r\n"
                                  "Content-Length: 0\r\n\r\n",
                                  false);
  char dir[] = "/var/tmp/cbuild-test-hostile-push.XXXXXX";
  char manifest_digest[CB_DIGEST_SIZE];
  char ref_text[64], host[64];
  struct cb_registry_options opts = { 0 };
  struct cb_registry *reg = NULL;
  struct cb_store *store = NULL;
  struct cb_reference ref;
  cbuild_error err = { 0 };

  if (mkdtemp (dir) == NULL || cb_store_open (dir, &store, NULL) < 0)
    abort ();
  store_image (store, manifest_digest);
  snprintf (ref_text, sizeof ref_text, "127.0.0.1:%d/x/y:1", s.port);
  snprintf (host, sizeof host, "registry 127.0.0.1:%d ", s.port);
  opts.docker_config_dir = dir;
  opts.docker_hub_host = "127.0.0.1:1";
  if (cb_registry_new (&opts, &reg, NULL) < 0 || cb_reference_parse (ref_text, &ref, NULL) < 0)
    abort ();

  CHECK_INT (cb_registry_push (reg, &ref, store, manifest_digest, &err), -1);
  CHECK (strstr (err.message, host) != NULL);
  CHECK (strstr (err.message, "'file:///tmp/upload'") != NULL);

  cb_reference_release (&ref);
  cb_registry_free (reg);
  cb_store_free (store);
  cb_remove_tree (dir, NULL);
  server_stop (&s);
}

int
main (void)
{
  curl_global_init (CURL_GLOBAL_DEFAULT);
  test_drip_body_times_out ();
  test_total_timeout_by_kind ();
  test_redirect_to_file_names_registry ();
  test_push_file_location_rejected ();
  curl_global_cleanup ();
  return check_report ();
}
