/* OCI distribution client over libcurl: pull an image into the blob store,
 * push one from it. */
#ifndef CBUILD_REGISTRY_CLIENT_H
#define CBUILD_REGISTRY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "common/strv.h"
#include "layers/store.h"
#include "registry/reference.h"

struct cb_registry_options
{
  const struct cb_strv *mirrors;  /* host[:port] tried first for docker.io pulls */
  const struct cb_strv *insecure; /* host[:port] reached over plain HTTP */
  const char *docker_config_dir;  /* NULL: $DOCKER_CONFIG, else ~/.docker */
  const char *docker_hub_host;    /* NULL: registry-1.docker.io, which serves docker.io */
  const struct cb_logger *log;
};

struct cb_registry;

int cb_registry_new (const struct cb_registry_options *opts, struct cb_registry **out, cbuild_error *err);
void cb_registry_free (struct cb_registry *reg);

struct cb_platform
{
  const char *os;      /* "linux" */
  const char *arch;    /* GOARCH name: "amd64", "arm64" */
  const char *variant; /* "v8", or NULL */
};

/* The host's platform in GOARCH naming. */
void cb_platform_host (struct cb_platform *out);

/* True when an index entry's os/architecture/variant runs on want, after
 * normalizing both ("aarch64" is arm64, arm64 without variant is v8, arm
 * without variant is v7, amd64's "v1" is no variant). */
bool cb_platform_matches (const struct cb_platform *want, const char *os, const char *arch,
                          const char *variant);

/* "linux/arm64/v8" into buf. */
void cb_platform_format (const struct cb_platform *p, char *buf, size_t size);

struct cb_blob_ref
{
  char digest[CB_DIGEST_SIZE];
  int64_t size;
  char *media_type;
};

struct cb_pulled_image
{
  char manifest_digest[CB_DIGEST_SIZE]; /* of the platform's image manifest */
  char *manifest_media_type;
  char config_digest[CB_DIGEST_SIZE];
  char *config_json; /* the image config, NUL-terminated */
  struct cb_blob_ref *layers;
  size_t n_layers;
};

void cb_pulled_image_release (struct cb_pulled_image *img);

/* Resolves ref (an index is narrowed to platform, or to the host's when
 * platform is NULL), and fetches the manifest, config and every missing
 * layer into store, each checked against its digest. Accepts OCI and
 * Docker schema 2 media types. */
int cb_registry_pull (struct cb_registry *reg, const struct cb_reference *ref,
                      const struct cb_platform *platform, struct cb_store *store,
                      struct cb_pulled_image *out, cbuild_error *err);

/* Reads the image whose manifest is in store under manifest_digest, with
 * its config, as cb_registry_pull returns it. Fails with
 * CBUILD_ERR_NOT_FOUND when the manifest, config or a layer blob is not in
 * the store. */
int cb_registry_load_local (struct cb_store *store, const char *manifest_digest, struct cb_pulled_image *out,
                            cbuild_error *err);

/* Pushes the image manifest stored under manifest_digest to ref's
 * repository under ref's tag (or by digest when ref has none): its config
 * and layers first, each checked with HEAD and uploaded only when missing,
 * then the manifest with its own media type. */
int cb_registry_push (struct cb_registry *reg, const struct cb_reference *ref,
                      struct cb_store *store, const char *manifest_digest, cbuild_error *err);

/* Fetches the manifest that ref names (by its digest, else its tag) as it
 * is: an index is not narrowed to a platform and nothing it refers to is
 * fetched. accept is the Accept header. *body (malloc'd, NUL-terminated,
 * *len bytes) is at most 4 MiB. digest receives its sha256, which matches
 * ref's digest when ref has one. */
int cb_registry_fetch_manifest (struct cb_registry *reg, const struct cb_reference *ref, const char *accept,
                                char **body, size_t *len, char digest[CB_DIGEST_SIZE], cbuild_error *err);

/* The validators of a downloaded file, as its server sent them ("" when
 * it sent none). */
struct cb_download_validators
{
  char etag[256];
  char last_modified[64];
};

/* Downloads url (http or https, following redirects) into blob, which
 * the caller commits or aborts, and copies the final response's ETag and
 * Last-Modified to got. With previous (from an earlier download), the
 * request is conditional, and a 304 response sets *not_modified and
 * writes nothing. Fails unless the status is 2xx or that 304. This is ADD's
 * download of a remote file: no registry credentials are sent, and it
 * may run while other threads use the registry client. */
int cb_http_download (const char *url, const struct cb_download_validators *previous, struct cb_blob_writer *blob,
                      struct cb_download_validators *got, bool *not_modified, cbuild_error *err);

/* Downloads one blob of ref's repository into store, unless the store has
 * it. It must be size bytes and match digest, or nothing is stored. */
int cb_registry_fetch_blob (struct cb_registry *reg, const struct cb_reference *ref, const char *digest,
                            int64_t size, struct cb_store *store, cbuild_error *err);

#endif
