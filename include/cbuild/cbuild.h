/* libcbuild: build a Dockerfile and its context into an OCI image and push it.
 *
 * Every fallible function returns a negative int (or NULL) on failure and
 * fills the caller-owned cbuild_error passed as its last argument. The
 * library never prints and never exits: log lines and step output reach the
 * caller through the log callback in the build options.
 *
 * Ownership: objects made by a _new function are freed by the matching
 * _free function, which accepts NULL. Strings passed in are copied.
 */
#ifndef CBUILD_CBUILD_H
#define CBUILD_CBUILD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CBUILD_BUILDING_LIBRARY)
#define CBUILD_API __attribute__ ((visibility ("default")))
#else
#define CBUILD_API
#endif

/* Error categories, so that a caller can react without parsing messages. */
enum cbuild_error_code
{
  CBUILD_OK = 0,
  CBUILD_ERR_INVALID,  /* bad input: options, Dockerfile, context paths */
  CBUILD_ERR_PARSE,    /* the Dockerfile or .dockerignore does not parse */
  CBUILD_ERR_SYSTEM,   /* a system call failed; sys_errno is set */
  CBUILD_ERR_NOMEM,
  CBUILD_ERR_REGISTRY, /* the registry failed or returned something invalid */
  CBUILD_ERR_AUTH,     /* the registry rejected the credentials */
  CBUILD_ERR_NOT_FOUND, /* image, tag, blob or file does not exist */
  CBUILD_ERR_RUN,      /* a RUN step exited non-zero */
  CBUILD_ERR_RUNTIME,  /* no working OCI runtime, or it failed to start */
  CBUILD_ERR_DIGEST,   /* content did not match its digest */
};

#define CBUILD_ERROR_MAX 2048

/* Caller-owned error object: zero-initialize it, pass it by pointer. The
 * message contains the first, most specific failure, prefixed by context as it
 * travels up ("build: pull 'debian:bookworm-slim': manifest unknown"). */
typedef struct cbuild_error
{
  int code;      /* enum cbuild_error_code */
  int sys_errno; /* errno of the failed system call, or 0 */
  char message[CBUILD_ERROR_MAX];
} cbuild_error;

/* Log levels of the messages passed to the log callback. */
enum cbuild_log_level
{
  CBUILD_LOG_DEBUG = 0,
  CBUILD_LOG_INFO,   /* step headers, pull and push progress */
  CBUILD_LOG_OUTPUT, /* one line of a RUN command's output, prefixed by its step */
  CBUILD_LOG_WARN,
};

/* Called for every log line. The message has no trailing newline. Stages
 * are built in worker threads, so it may be called from any of them, but
 * never from two threads at once: calls are serialized. When the
 * Dockerfile has several stages, a stage's lines start with its name, or
 * "stage-N" for an unnamed one ("[builder 2/5] RUN make"). */
typedef void (*cbuild_log_fn) (void *user_data, int level, const char *message);

typedef struct cbuild_build_options cbuild_build_options;

CBUILD_API cbuild_build_options *cbuild_build_options_new (void);
CBUILD_API void cbuild_build_options_free (cbuild_build_options *opts);

/* The build context directory (required). */
CBUILD_API int cbuild_build_options_set_context (cbuild_build_options *opts, const char *dir, cbuild_error *err);
/* The Dockerfile path; default CONTEXT/Dockerfile. */
CBUILD_API int cbuild_build_options_set_dockerfile (cbuild_build_options *opts, const char *path, cbuild_error *err);
/* The Dockerfile's text (len bytes, copied), built instead of a file, as
 * `docker build -f -` reads it from standard input. Messages call it
 * "Dockerfile", and the context's .dockerignore applies. */
CBUILD_API int cbuild_build_options_set_dockerfile_text (cbuild_build_options *opts, const char *text, size_t len,
                                                         cbuild_error *err);
/* A name for the image, such as "registry.example.com/app:1.2"; repeatable. */
CBUILD_API int cbuild_build_options_add_tag (cbuild_build_options *opts, const char *ref, cbuild_error *err);
/* A build argument, "NAME=value", or "NAME" to take the value from the environment. */
CBUILD_API int cbuild_build_options_add_build_arg (cbuild_build_options *opts, const char *arg, cbuild_error *err);
/* The target platform, such as "linux/arm64" (default: the host's). RUN
 * steps for another architecture need a binfmt_misc emulator. */
CBUILD_API int cbuild_build_options_set_platform (cbuild_build_options *opts, const char *platform, cbuild_error *err);
/* A label for the final image, "KEY=VALUE", as docker build --label sets
 * it (over a LABEL of the same key); repeatable. */
CBUILD_API int cbuild_build_options_add_label (cbuild_build_options *opts, const char *label, cbuild_error *err);
/* An /etc/hosts entry for RUN steps, "NAME:IP" as docker build --add-host
 * takes it (an IPv6 address may be in brackets); repeatable. */
CBUILD_API int cbuild_build_options_add_host (cbuild_build_options *opts, const char *spec, cbuild_error *err);
/* A named build context, as docker buildx --build-context takes it:
 * "NAME=docker-image://REF" makes FROM NAME, COPY --from=NAME and RUN
 * --mount from=NAME use that image; "NAME=DIR" makes COPY --from=NAME
 * copy from that directory. Repeatable. */
CBUILD_API int cbuild_build_options_add_build_context (cbuild_build_options *opts, const char *spec,
                                                       cbuild_error *err);
/* The network of RUN steps without a --network flag: "default" or "host"
 * (the host's network, the default) or "none". */
CBUILD_API int cbuild_build_options_set_network (cbuild_build_options *opts, const char *mode, cbuild_error *err);
/* The stage to build; default the last one. */
CBUILD_API int cbuild_build_options_set_target (cbuild_build_options *opts, const char *stage, cbuild_error *err);
/* A mirror host[:port] that docker.io pulls go to first; repeatable. */
CBUILD_API int cbuild_build_options_add_registry_mirror (cbuild_build_options *opts, const char *host, cbuild_error *err);
/* A registry host[:port] reached over plain HTTP; loopback hosts always are. */
CBUILD_API int cbuild_build_options_add_insecure_registry (cbuild_build_options *opts, const char *host, cbuild_error *err);
/* The OCI runtime binary; default: the first of runc and crun that works. */
CBUILD_API int cbuild_build_options_set_runtime (cbuild_build_options *opts, const char *path, cbuild_error *err);
/* Push every tag after the build. */
CBUILD_API void cbuild_build_options_set_push (cbuild_build_options *opts, int push);
/* An output, as the --output flag takes it: "type=oci,dest=FILE" writes an
 * OCI archive, "type=oci,dest=DIR,tar=false" an OCI layout directory. */
CBUILD_API int cbuild_build_options_add_output (cbuild_build_options *opts, const char *spec, cbuild_error *err);
/* A secret for RUN --mount=type=secret, as docker build's --secret takes
 * it: "id=ID,src=FILE" reads a file, "id=ID,env=NAME" an environment
 * variable, and a bare "id=ID" the variable ID when it is set, else the
 * file ID. "type=file" or "type=env" may be given too. A file must exist
 * and be at most 500 KiB now. The value is read when a RUN step needs it
 * and never reaches the image, its history or the log. Repeatable: the
 * last definition of an id wins. */
CBUILD_API int cbuild_build_options_add_secret (cbuild_build_options *opts, const char *spec, cbuild_error *err);
/* An SSH agent for RUN --mount=type=ssh, as docker build's --ssh takes it:
 * "ID=SOCKET", or "ID" for the socket that SSH_AUTH_SOCK names (ID is
 * usually "default"). The socket is bound into the step's container;
 * private key files are not supported. Repeatable. */
CBUILD_API int cbuild_build_options_add_ssh (cbuild_build_options *opts, const char *spec, cbuild_error *err);
/* How many independent stages are built at the same time; 0 (the default)
 * means the number of online CPUs. Fails for a negative number. */
CBUILD_API int cbuild_build_options_set_jobs (cbuild_build_options *opts, int jobs, cbuild_error *err);
/* Runs every step instead of taking results from the build cache; the
 * results are still recorded for later builds. */
CBUILD_API void cbuild_build_options_set_no_cache (cbuild_build_options *opts, int no_cache);
/* Builds the named stage without the cache; repeatable. */
CBUILD_API int cbuild_build_options_add_no_cache_filter (cbuild_build_options *opts, const char *stage,
                                                         cbuild_error *err);
/* Exports the build cache after a successful build, as docker buildx's
 * --cache-to: "type=registry,ref=REPO:TAG" pushes it to a registry as an
 * OCI manifest, "type=local,dest=DIR" writes it as an OCI layout
 * directory (replacing an earlier one there). A bare "REPO:TAG" means
 * type=registry. "mode=min" (the default) exports the steps of the final
 * image's layers, and "mode=max" the steps of every stage built.
 * "ignore-error=true" turns a failed export into a warning. Repeatable. */
CBUILD_API int cbuild_build_options_add_cache_to (cbuild_build_options *opts, const char *spec, cbuild_error *err);
/* Imports build cache at the start of the build, as docker buildx's
 * --cache-from: "type=registry,ref=REPO:TAG" or "type=local,src=DIR"
 * (what --cache-to wrote), or a bare "REPO:TAG". Only the cache manifest
 * is read up front. A step's layer is fetched when its key misses the
 * local cache and matches an imported entry. A cache that cannot be read
 * (missing, unauthorized, not a cbuild cache) is a warning, not an error.
 * Repeatable: earlier sources are tried first. */
CBUILD_API int cbuild_build_options_add_cache_from (cbuild_build_options *opts, const char *spec,
                                                    cbuild_error *err);
/* Asks the registry for every base image on each build. By default an
 * image pulled before into the state directory is used as it is, as
 * docker build does. */
CBUILD_API void cbuild_build_options_set_pull (cbuild_build_options *opts, int pull);
/* Runs only the Dockerfile's build checks: cbuild_build then reports every
 * warning through the log callback and fails with CBUILD_ERR_INVALID when
 * any check fired, without building. */
CBUILD_API void cbuild_build_options_set_check_only (cbuild_build_options *opts, int check_only);
/* The state directory (blobs, snapshots, image store); default
 * $XDG_DATA_HOME/cbuild, or ~/.local/share/cbuild. */
CBUILD_API int cbuild_build_options_set_root (cbuild_build_options *opts, const char *dir, cbuild_error *err);
CBUILD_API void cbuild_build_options_set_log (cbuild_build_options *opts, cbuild_log_fn fn, void *user_data);

typedef struct cbuild_build_result cbuild_build_result;

/* Builds the image described by opts. On success *result (owned by the
 * caller) contains the image's manifest digest. */
CBUILD_API int cbuild_build (const cbuild_build_options *opts, cbuild_build_result **result, cbuild_error *err);

/* The manifest digest of the built image, "sha256:<hex>". */
CBUILD_API const char *cbuild_build_result_digest (const cbuild_build_result *result);
/* The config digest of the built image, "sha256:<hex>". */
CBUILD_API const char *cbuild_build_result_config_digest (const cbuild_build_result *result);
CBUILD_API void cbuild_build_result_free (cbuild_build_result *result);

/* Parses a Dockerfile (len bytes of text; name is used in messages) and
 * returns its syntax tree as JSON (malloc'd, freed with free()). The shape
 * is documented in docs/parse-json.md. */
CBUILD_API char *cbuild_parse_dockerfile_json (const char *text, size_t len, const char *name, cbuild_error *err);

/* Bytes the state directory uses, by kind. */
typedef struct cbuild_disk_usage
{
  long long images;       /* blobs of the images named in the local store */
  long long cache;        /* blobs that only build cache entries keep */
  long long unreferenced; /* blobs that nothing needs */
  long long snapshots;    /* extracted layers that RUN and COPY stack */
  long long cache_mounts; /* RUN --mount=type=cache directories */
  long long temporary;    /* work directories of running or killed builds */
  size_t cache_entries;
} cbuild_disk_usage;

/* Measures the state directory root (NULL: the default one). */
CBUILD_API int cbuild_disk_usage_get (const char *root, cbuild_disk_usage *out, cbuild_error *err);

/* Removes build cache from root (NULL: the default one). It removes the
 * cache entries not used for older_than_seconds (0: no age limit), then
 * the oldest ones while the cache is over keep_storage bytes (0: no size
 * limit). With both 0, it removes every entry and the cache mounts. Then removes blobs and snapshots that
 * neither a named image nor a kept entry needs. Fails without removing
 * anything while a build uses root. *freed (may be NULL) receives the
 * bytes removed. */
CBUILD_API int cbuild_prune (const char *root, long long keep_storage, long long older_than_seconds,
                             long long *freed, cbuild_error *err);

/* The library version, "MAJOR.MINOR.PATCH". */
CBUILD_API const char *cbuild_version (void);

#ifdef __cplusplus
}
#endif

#endif
