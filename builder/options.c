#include "builder/options.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/error.h"

cbuild_build_options *
cbuild_build_options_new (void)
{
  return calloc (1, sizeof (cbuild_build_options));
}

static void
secret_source_release (struct cb_secret_source *src)
{
  free (src->id);
  free (src->path);
  free (src->env);
  memset (src, 0, sizeof *src);
}

void
cbuild_build_options_free (cbuild_build_options *opts)
{
  if (opts == NULL)
    return;
  free (opts->context_dir);
  free (opts->dockerfile);
  free (opts->dockerfile_text);
  cb_strv_release (&opts->ssh_agents);
  free (opts->platform);
  cb_strv_release (&opts->labels);
  cb_strv_release (&opts->extra_hosts);
  cb_strv_release (&opts->build_contexts);
  cb_strv_release (&opts->tags);
  cb_strv_release (&opts->no_cache_filter);
  cb_strv_release (&opts->build_args);
  free (opts->target);
  cb_strv_release (&opts->mirrors);
  cb_strv_release (&opts->insecure);
  free (opts->runtime);
  for (size_t i = 0; i < opts->n_outputs; i++)
    free (opts->outputs[i].dest);
  free (opts->outputs);
  free (opts->root);
  for (size_t i = 0; i < opts->n_secrets; i++)
    secret_source_release (&opts->secrets[i]);
  free (opts->secrets);
  cb_cache_specs_free (opts->cache_to, opts->n_cache_to);
  cb_cache_specs_free (opts->cache_from, opts->n_cache_from);
  free (opts);
}

static int
replace_string (char **slot, const char *value, cbuild_error *err)
{
  char *copy = strdup (value);

  if (copy == NULL)
    return cb_error_nomem (err);
  free (*slot);
  *slot = copy;
  return 0;
}

int
cbuild_build_options_set_context (cbuild_build_options *opts, const char *dir, cbuild_error *err)
{
  return replace_string (&opts->context_dir, dir, err);
}

int
cbuild_build_options_set_dockerfile (cbuild_build_options *opts, const char *path, cbuild_error *err)
{
  return replace_string (&opts->dockerfile, path, err);
}

int
cbuild_build_options_set_dockerfile_text (cbuild_build_options *opts, const char *text, size_t len, cbuild_error *err)
{
  char *copy = malloc (len + 1);

  if (copy == NULL)
    return cb_error_nomem (err);
  memcpy (copy, text, len);
  copy[len] = '\0';
  free (opts->dockerfile_text);
  opts->dockerfile_text = copy;
  opts->dockerfile_len = len;
  return 0;
}

int
cbuild_build_options_set_platform (cbuild_build_options *opts, const char *platform, cbuild_error *err)
{
  return replace_string (&opts->platform, platform, err);
}

int
cbuild_build_options_add_label (cbuild_build_options *opts, const char *label, cbuild_error *err)
{
  cleanup_free char *with_value = NULL;

  if (label[0] == '\0' || label[0] == '=')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid label '%s': expected KEY=VALUE", label);
  /* A bare KEY gets an empty value, as docker build gives it. */
  if (strchr (label, '=') == NULL && asprintf (&with_value, "%s=", label) < 0)
    return cb_error_nomem (err);
  return cb_strv_push (&opts->labels, with_value ? with_value : label, err);
}

int
cbuild_build_options_add_host (cbuild_build_options *opts, const char *spec, cbuild_error *err)
{
  size_t name_len = strcspn (spec, ":=");
  cleanup_free char *ip = NULL;
  cleanup_free char *line = NULL;
  unsigned char addr[sizeof (struct in6_addr)];
  size_t ip_len;

  if (name_len == 0 || spec[name_len] == '\0' || strcspn (spec, " \t\r\n") < strlen (spec))
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid --add-host '%s': expected NAME:IP", spec);
  /* An IPv6 address may come in brackets ("name:[::1]"). */
  ip = strdup (spec + name_len + 1);
  if (ip == NULL)
    return cb_error_nomem (err);
  ip_len = strlen (ip);
  if (ip_len > 2 && ip[0] == '[' && ip[ip_len - 1] == ']')
    {
      memmove (ip, ip + 1, ip_len - 2);
      ip[ip_len - 2] = '\0';
    }
  if (strcmp (ip, "host-gateway") == 0)
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "--add-host '%s': host-gateway is not supported; RUN uses the host's network, so give "
                         "127.0.0.1 or an address of this machine",
                         spec);
  if (inet_pton (AF_INET, ip, addr) != 1 && inet_pton (AF_INET6, ip, addr) != 1)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid --add-host '%s': '%s' is not an IP address", spec, ip);
  if (asprintf (&line, "%s\t%.*s", ip, (int) name_len, spec) < 0)
    return cb_error_nomem (err);
  return cb_strv_push (&opts->extra_hosts, line, err);
}

int
cbuild_build_options_add_build_context (cbuild_build_options *opts, const char *spec, cbuild_error *err)
{
  const char *eq = strchr (spec, '=');
  cleanup_free char *entry = NULL;
  char real[PATH_MAX];
  struct stat st;

  if (eq == NULL || eq == spec || eq[1] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid --build-context '%s': expected NAME=DIR or "
                         "NAME=docker-image://REF", spec);
  if (strncmp (eq + 1, "docker-image://", 15) == 0)
    return cb_strv_push (&opts->build_contexts, spec, err);
  if (strstr (eq + 1, "://"))
    return cb_error_set (err, CBUILD_ERR_INVALID,
                         "--build-context '%s': only directories and docker-image:// are supported yet", spec);
  if (stat (eq + 1, &st) < 0 || !S_ISDIR (st.st_mode) || realpath (eq + 1, real) == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "--build-context '%s': '%s' is not a directory", spec, eq + 1);
  if (asprintf (&entry, "%.*s=%s", (int) (eq - spec), spec, real) < 0)
    return cb_error_nomem (err);
  return cb_strv_push (&opts->build_contexts, entry, err);
}

const char *
cb_options_build_context (const cbuild_build_options *opts, const char *name)
{
  size_t len = strlen (name);

  for (size_t i = 0; i < opts->build_contexts.len; i++)
    {
      const char *entry = opts->build_contexts.items[i];
      if (strncmp (entry, name, len) == 0 && entry[len] == '=')
        return entry + len + 1;
    }
  return NULL;
}

int
cbuild_build_options_set_network (cbuild_build_options *opts, const char *mode, cbuild_error *err)
{
  /* "default" is the host network here, as in BuildKit's docker build. */
  if (strcmp (mode, "host") == 0 || strcmp (mode, "default") == 0)
    opts->no_network = false;
  else if (strcmp (mode, "none") == 0)
    opts->no_network = true;
  else
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid network mode '%s': expected default, host or none", mode);
  return 0;
}

int
cbuild_build_options_add_tag (cbuild_build_options *opts, const char *ref, cbuild_error *err)
{
  return cb_strv_push (&opts->tags, ref, err);
}

int
cbuild_build_options_add_build_arg (cbuild_build_options *opts, const char *arg, cbuild_error *err)
{
  const char *value;

  if (arg[0] == '\0' || arg[0] == '=')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid build argument '%s': expected NAME=VALUE", arg);
  if (strchr (arg, '=') != NULL)
    return cb_strv_push (&opts->build_args, arg, err);
  /* A bare name takes its value from the environment, as docker build
   * does; when the variable is unset the argument is ignored. */
  value = getenv (arg);
  if (value == NULL)
    return 0;
  return cb_env_set (&opts->build_args, arg, value, err);
}

int
cbuild_build_options_set_target (cbuild_build_options *opts, const char *stage, cbuild_error *err)
{
  return replace_string (&opts->target, stage, err);
}

int
cbuild_build_options_add_registry_mirror (cbuild_build_options *opts, const char *host, cbuild_error *err)
{
  return cb_strv_push (&opts->mirrors, host, err);
}

int
cbuild_build_options_add_insecure_registry (cbuild_build_options *opts, const char *host, cbuild_error *err)
{
  return cb_strv_push (&opts->insecure, host, err);
}

int
cbuild_build_options_set_runtime (cbuild_build_options *opts, const char *path, cbuild_error *err)
{
  return replace_string (&opts->runtime, path, err);
}

void
cbuild_build_options_set_no_cache (cbuild_build_options *opts, int no_cache)
{
  opts->no_cache = no_cache != 0;
}

int
cbuild_build_options_add_no_cache_filter (cbuild_build_options *opts, const char *stage, cbuild_error *err)
{
  char *name = strdup (stage);

  if (name == NULL)
    return cb_error_nomem (err);
  for (char *p = name; *p; p++)
    *p = (char) tolower ((unsigned char) *p);
  return cb_strv_push_owned (&opts->no_cache_filter, name, err);
}

void
cbuild_build_options_set_pull (cbuild_build_options *opts, int pull)
{
  opts->pull = pull != 0;
}

void
cbuild_build_options_set_check_only (cbuild_build_options *opts, int check_only)
{
  opts->check_only = check_only != 0;
}

void
cbuild_build_options_set_push (cbuild_build_options *opts, int push)
{
  opts->push = push != 0;
}

/* Parses "type=oci,dest=PATH[,tar=true|false]". */
static int
parse_output_spec (const char *spec, struct cb_output_spec *out, cbuild_error *err)
{
  cleanup_free char *copy = strdup (spec);
  char *saveptr = NULL;
  bool have_type = false;

  if (copy == NULL)
    return cb_error_nomem (err);
  out->tar = true;
  for (char *kv = strtok_r (copy, ",", &saveptr); kv; kv = strtok_r (NULL, ",", &saveptr))
    {
      char *eq = strchr (kv, '=');
      if (eq == NULL)
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': '%s' is not KEY=VALUE", spec, kv);
      *eq = '\0';
      if (strcmp (kv, "type") == 0)
        {
          if (strcmp (eq + 1, "oci") != 0)
            return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': type '%s' is not supported (use type=oci)", spec, eq + 1);
          have_type = true;
        }
      else if (strcmp (kv, "dest") == 0)
        {
          free (out->dest);
          out->dest = strdup (eq + 1);
          if (out->dest == NULL)
            return cb_error_nomem (err);
        }
      else if (strcmp (kv, "tar") == 0)
        {
          if (strcmp (eq + 1, "true") != 0 && strcmp (eq + 1, "false") != 0)
            return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': tar must be true or false", spec);
          out->tar = strcmp (eq + 1, "true") == 0;
        }
      else
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': unknown key '%s'", spec, kv);
    }
  if (!have_type)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': missing type=oci", spec);
  if (out->dest == NULL || out->dest[0] == '\0')
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid output '%s': missing dest=PATH", spec);
  return 0;
}

int
cbuild_build_options_add_output (cbuild_build_options *opts, const char *spec, cbuild_error *err)
{
  struct cb_output_spec out = { NULL, true };
  struct cb_output_spec *grown;

  if (parse_output_spec (spec, &out, err) < 0)
    {
      free (out.dest);
      return -1;
    }
  grown = realloc (opts->outputs, (opts->n_outputs + 1) * sizeof *grown);
  if (grown == NULL)
    {
      free (out.dest);
      return cb_error_nomem (err);
    }
  opts->outputs = grown;
  opts->outputs[opts->n_outputs++] = out;
  return 0;
}

/* Splits a --secret value into fields as Go's encoding/csv reads one
 * record, which docker build uses: a field may be double-quoted, with ""
 * standing for a quote inside it. */
static int
split_secret_fields (const char *spec, struct cb_strv *fields, cbuild_error *err)
{
  cleanup_buf struct cb_buf field = CB_BUF_INIT;
  const char *p = spec;

  for (;;)
    {
      cb_buf_reset (&field);
      if (*p == '"')
        {
          for (p++; *p != '"' || p[1] == '"'; p++)
            {
              if (*p == '\0')
                return cb_error_set (err, CBUILD_ERR_INVALID, "invalid secret '%s': missing closing '\"'", spec);
              if (*p == '"')
                p++;
              if (cb_buf_append_char (&field, *p, err) < 0)
                return -1;
            }
          p++;
          if (*p != ',' && *p != '\0')
            return cb_error_set (err, CBUILD_ERR_INVALID, "invalid secret '%s': text after a closing '\"'", spec);
        }
      for (; *p && *p != ','; p++)
        if (cb_buf_append_char (&field, *p, err) < 0)
          return -1;
      if (cb_strv_push (fields, cb_buf_str (&field), err) < 0)
        return -1;
      if (*p == '\0')
        return 0;
      p++;
    }
}

static int
replace_nonempty (char **slot, const char *value, cbuild_error *err)
{
  if (value[0] == '\0')
    {
      free (*slot);
      *slot = NULL;
      return 0;
    }
  return replace_string (slot, value, err);
}

/* Applies one key=value field of a --secret value; *type receives type=. */
static int
secret_field (const char *spec, const char *field, struct cb_secret_source *src, char **type, cbuild_error *err)
{
  const char *eq = strchr (field, '=');
  cleanup_free char *key = strndup (field, eq ? (size_t) (eq - field) : strlen (field));

  if (key == NULL)
    return cb_error_nomem (err);
  if (eq == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid secret '%s': field '%s' must be a key=value pair", spec,
                         field);
  for (char *c = key; *c; c++)
    *c = (char) tolower ((unsigned char) *c);
  if (strcmp (key, "type") == 0)
    {
      if (strcmp (eq + 1, "file") != 0 && strcmp (eq + 1, "env") != 0)
        return cb_error_set (err, CBUILD_ERR_INVALID, "invalid secret '%s': unsupported type '%s' (use file or env)",
                             spec, eq + 1);
      return replace_string (type, eq + 1, err);
    }
  if (strcmp (key, "id") == 0)
    return replace_nonempty (&src->id, eq + 1, err);
  if (strcmp (key, "source") == 0 || strcmp (key, "src") == 0)
    return replace_nonempty (&src->path, eq + 1, err);
  if (strcmp (key, "env") == 0)
    return replace_nonempty (&src->env, eq + 1, err);
  return cb_error_set (err, CBUILD_ERR_INVALID, "invalid secret '%s': unexpected key '%s' (use id, src or env)", spec,
                       key);
}

/* Fills in what docker build defaults: "type=env,src=NAME" names a
 * variable, and a secret with neither src nor env is the variable ID when
 * it is set, else the file ID. A file is checked now and kept as an
 * absolute path. */
static int
secret_defaults (const char *spec, struct cb_secret_source *src, const char *type, cbuild_error *err)
{
  char resolved[PATH_MAX];
  struct stat st;

  if (src->id == NULL)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid secret '%s': missing id=ID", spec);
  if (type && strcmp (type, "env") == 0 && src->env == NULL)
    {
      src->env = src->path;
      src->path = NULL;
    }
  if (src->env == NULL && src->path == NULL)
    {
      if (replace_string (getenv (src->id) ? &src->env : &src->path, src->id, err) < 0)
        return -1;
    }
  if (src->env != NULL)
    return 0;
  if (stat (src->path, &st) < 0 || realpath (src->path, resolved) == NULL)
    return cb_error_sys (err, errno, "secret '%s': cannot read '%s'", src->id, src->path);
  if (!S_ISREG (st.st_mode))
    return cb_error_set (err, CBUILD_ERR_INVALID, "secret '%s': '%s' is not a regular file", src->id, src->path);
  if ((size_t) st.st_size > CB_SECRET_MAX_SIZE)
    return cb_error_set (err, CBUILD_ERR_INVALID, "secret '%s': '%s' is too large (%lld bytes, maximum %zu)",
                         src->id, src->path, (long long) st.st_size, CB_SECRET_MAX_SIZE);
  return replace_string (&src->path, resolved, err);
}

static int
parse_secret_spec (const char *spec, struct cb_secret_source *src, cbuild_error *err)
{
  cleanup_strv struct cb_strv fields = CB_STRV_INIT;
  cleanup_free char *type = NULL;

  if (split_secret_fields (spec, &fields, err) < 0)
    return -1;
  for (size_t i = 0; i < fields.len; i++)
    if (secret_field (spec, fields.items[i], src, &type, err) < 0)
      return -1;
  return secret_defaults (spec, src, type, err);
}

static struct cb_secret_source *
find_secret (const cbuild_build_options *opts, const char *id)
{
  for (size_t i = 0; i < opts->n_secrets; i++)
    if (strcmp (opts->secrets[i].id, id) == 0)
      return &opts->secrets[i];
  return NULL;
}

int
cbuild_build_options_add_secret (cbuild_build_options *opts, const char *spec, cbuild_error *err)
{
  struct cb_secret_source src = { 0 };
  struct cb_secret_source *slot, *grown;

  if (parse_secret_spec (spec, &src, err) < 0)
    {
      secret_source_release (&src);
      return -1;
    }
  slot = find_secret (opts, src.id);
  if (slot != NULL)
    {
      secret_source_release (slot);
      *slot = src;
      return 0;
    }
  grown = realloc (opts->secrets, (opts->n_secrets + 1) * sizeof *grown);
  if (grown == NULL)
    {
      secret_source_release (&src);
      return cb_error_nomem (err);
    }
  opts->secrets = grown;
  opts->secrets[opts->n_secrets++] = src;
  return 0;
}

/* Reads at most CB_SECRET_MAX_SIZE bytes of path into a buffer of that
 * size, so that the value is never copied by a realloc. */
static int
read_secret_file (const struct cb_secret_source *src, char **value, size_t *len, cbuild_error *err)
{
  cleanup_close int fd = open (src->path, O_RDONLY | O_CLOEXEC);
  char *data;
  size_t used = 0;

  if (fd < 0)
    return cb_error_sys (err, errno, "secret '%s': cannot read '%s'", src->id, src->path);
  data = malloc (CB_SECRET_MAX_SIZE + 2);
  if (data == NULL)
    return cb_error_nomem (err);
  while (used <= CB_SECRET_MAX_SIZE)
    {
      ssize_t n = read (fd, data + used, CB_SECRET_MAX_SIZE + 1 - used);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          if (n == 0)
            break;
          explicit_bzero (data, used);
          free (data);
          return cb_error_sys (err, errno, "secret '%s': cannot read '%s'", src->id, src->path);
        }
      used += (size_t) n;
    }
  if (used > CB_SECRET_MAX_SIZE)
    {
      explicit_bzero (data, used);
      free (data);
      return cb_error_set (err, CBUILD_ERR_INVALID, "secret '%s': '%s' is larger than %zu bytes", src->id, src->path,
                           CB_SECRET_MAX_SIZE);
    }
  data[used] = '\0';
  *value = data;
  *len = used;
  return 0;
}

int
cb_options_read_secret (const cbuild_build_options *opts, const char *id, char **value, size_t *len, bool *found,
                        cbuild_error *err)
{
  const struct cb_secret_source *src = find_secret (opts, id);
  const char *env_value;

  *value = NULL;
  *len = 0;
  *found = src != NULL;
  if (src == NULL)
    return 0;
  if (src->path)
    return read_secret_file (src, value, len, err);
  /* An unset variable gives an empty secret, as docker build has it. */
  env_value = getenv (src->env);
  *value = strdup (env_value ? env_value : "");
  if (*value == NULL)
    return cb_error_nomem (err);
  *len = strlen (*value);
  return 0;
}

int
cbuild_build_options_set_jobs (cbuild_build_options *opts, int jobs, cbuild_error *err)
{
  if (jobs < 0)
    return cb_error_set (err, CBUILD_ERR_INVALID, "invalid number of jobs %d: expected 1 or more, or 0 for the number of CPUs", jobs);
  opts->jobs = jobs;
  return 0;
}

int
cbuild_build_options_set_root (cbuild_build_options *opts, const char *dir, cbuild_error *err)
{
  return replace_string (&opts->root, dir, err);
}

void
cbuild_build_options_set_log (cbuild_build_options *opts, cbuild_log_fn fn, void *user_data)
{
  opts->log.fn = fn;
  opts->log.user_data = user_data;
}

const char *
cbuild_version (void)
{
  return "0.1.0";
}
