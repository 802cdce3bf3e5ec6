/* The build options behind the public cbuild_build_options handle. */
#ifndef CBUILD_BUILDER_OPTIONS_H
#define CBUILD_BUILDER_OPTIONS_H

#include <stdbool.h>

#include <cbuild/cbuild.h>

#include "common/log.h"
#include "common/strv.h"

struct cb_output_spec
{
  char *dest;
  bool tar; /* an OCI archive; otherwise an OCI layout directory */
};

/* The largest secret value, as docker build (BuildKit's file store) allows. */
#define CB_SECRET_MAX_SIZE ((size_t) 500 << 10)

/* A secret given with --secret: its value comes from a file or from an
 * environment variable, read when a RUN step mounts it. */
struct cb_secret_source
{
  char *id;
  char *path; /* a file, or NULL */
  char *env;  /* an environment variable, or NULL; wins over path */
};

/* A --cache-to or --cache-from: where the build cache goes to or comes
 * from, a registry reference or an OCI layout directory. */
enum cb_cache_store_type
{
  CB_CACHE_STORE_REGISTRY,
  CB_CACHE_STORE_LOCAL,
};

struct cb_cache_spec
{
  enum cb_cache_store_type type;
  char *ref;         /* registry: "REPO:TAG" (or "REPO@DIGEST" to import) */
  char *dir;         /* local: dest= or src= */
  bool all_stages;   /* mode=max: every stage's steps, not only the final image's */
  bool ignore_error; /* an export that fails is a warning, not a failed build */
};

struct cbuild_build_options
{
  char *context_dir;
  char *dockerfile; /* NULL: CONTEXT/Dockerfile */
  char *dockerfile_text; /* the Dockerfile itself, used instead of a file when not NULL */
  size_t dockerfile_len;
  struct cb_strv tags;
  struct cb_strv build_args; /* "NAME=value" after resolving bare names */
  char *target;
  struct cb_strv mirrors;
  struct cb_strv insecure;
  char *runtime;
  bool push;
  struct cb_output_spec *outputs;
  size_t n_outputs;
  char *root;
  bool no_cache;                 /* run every step; still record the results */
  struct cb_strv no_cache_filter; /* stages (lower-case names) built without the cache */
  bool check_only;               /* run the build checks, not the build */
  bool pull;                     /* ask the registry for base images every time */
  int jobs; /* stages built at the same time; 0: the number of online CPUs */
  struct cb_logger log;
  struct cb_secret_source *secrets;
  size_t n_secrets;
  struct cb_strv ssh_agents; /* "ID=SOCKET" for RUN --mount=type=ssh, SOCKET a real path */
  char *platform;            /* --platform, NULL for the host's */
  struct cb_strv labels;     /* --label "KEY=VALUE", set on the final image */
  bool no_network;           /* --network=none: RUN steps get no network */
  struct cb_strv extra_hosts; /* --add-host as "IP\tNAME" lines for /etc/hosts */
  /* --build-context "NAME=docker-image://REF" or "NAME=DIR" (a real path) */
  struct cb_strv build_contexts;
  struct cb_cache_spec *cache_to;
  size_t n_cache_to;
  struct cb_cache_spec *cache_from;
  size_t n_cache_from;
};

/* Frees the strings of the specs and the array (cache_options.c). */
void cb_cache_specs_free (struct cb_cache_spec *specs, size_t n);

/* Returns what --build-context gave name ("docker-image://REF" or a
 * directory), or NULL. */
const char *cb_options_build_context (const cbuild_build_options *opts, const char *name);

/* Reads the value of secret id into *value (malloc'd, NUL-terminated,
 * *len bytes). *found is false, with *value NULL, when no --secret defines
 * id. Errors name the id and the file or variable, never the value. The
 * caller wipes the value with explicit_bzero before freeing it. */
int cb_options_read_secret (const cbuild_build_options *opts, const char *id, char **value, size_t *len,
                            bool *found, cbuild_error *err);

#endif
