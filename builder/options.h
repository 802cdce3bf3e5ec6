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

struct cbuild_build_options
{
  char *context_dir;
  char *dockerfile; /* NULL: CONTEXT/Dockerfile */
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
  struct cb_logger log;
};

#endif
