/* The OCI runtime configuration (config.json) of a RUN container. */
#ifndef CBUILD_BUILDER_RUNTIME_SPEC_H
#define CBUILD_BUILDER_RUNTIME_SPEC_H

#include <stddef.h>

#include "builder/runtime.h"

/* A read-only bind mount of a host path into the container. */
struct cb_spec_bind
{
  const char *source;
  const char *destination;
};

/* The mounts that vary between runs: files for /etc/hosts and
 * /etc/resolv.conf (NULL: not mounted) and extra read-only binds. */
struct cb_spec_mounts
{
  const char *hosts;
  const char *resolv_conf;
  const struct cb_spec_bind *binds;
  size_t n_binds;
};

/* The hostname BuildKit gives build containers. */
#define CB_RUN_HOSTNAME "buildkitsandbox"

/* Writes the configuration for req to path: OCI runtime spec 1.0.2, Docker's
 * default capabilities, masked and read-only paths and device rules, the
 * host's network, and rootfs (absolute) as the root. */
int cb_runtime_spec_write (const struct cb_run_request *req, const char *rootfs, const struct cb_spec_mounts *mounts,
                           const char *path, cbuild_error *err);

#endif
