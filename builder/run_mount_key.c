/* The part of a RUN step's cache key that its --mount flags contribute. */
#include <string.h>

#include "builder/copy_hash.h"
#include "builder/rootfs.h"
#include "builder/run_mount_internal.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "common/fs.h"

/* Adds the content of a bind-mounted context source, hashed as COPY
 * hashes its sources, so that a changed file under it misses. */
static int
hash_context_source (struct cb_build *b, const char *source, struct cb_cache_key *key, cbuild_error *err)
{
  cleanup_free char *rel = cb_path_clean_abs ("/", source);
  const char *sources[1];

  if (rel == NULL)
    return cb_error_nomem (err);
  sources[0] = rel[1] ? rel + 1 : ".";
  cb_cache_key_add (key, "context");
  if (cb_copy_hash_sources (b->context_dir, b->ignore, NULL, sources, 1, b->shared->file_digests, key->h, err) < 0)
    return cb_error_prefix (err, "source in the build context");
  return 0;
}

/* Adds the cache key of the bind-mounted stage, which covers everything
 * that stage's file system was built from, or the manifest digest of the
 * bind-mounted image. */
static int
hash_stage_source (struct cb_build *b, struct cb_stage *st, const char *from, struct cb_cache_key *key,
                   cbuild_error *err)
{
  const char *source_key = NULL;

  if (cb_build_source_image (b, st, from, &source_key, err) == NULL)
    return -1;
  cb_cache_key_add (key, "from");
  cb_cache_key_add (key, source_key ? source_key : "");
  return 0;
}

static int
hash_flag (struct cb_build *b, struct cb_stage *st, const char *value, struct cb_cache_key *key, cbuild_error *err)
{
  struct cb_run_mount m = { 0 };
  int ret = 0;

  if (cb_run_mount_parse_flag (b, st, value, &m, err) < 0)
    ret = -1;
  /* Cache, tmpfs and secret mounts stay out of the key, as in BuildKit,
   * because a cache's content is meant to change between runs and a
   * secret must never reach a key. */
  else if (strcmp (m.type, "bind") == 0)
    {
      const char *source = m.source ? m.source : "/";
      ret = m.from ? hash_stage_source (b, st, m.from, key, err) : hash_context_source (b, source, key, err);
    }
  cb_run_mount_release (&m);
  return ret;
}

int
cb_run_mounts_hash (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                    struct cb_cache_key *key, cbuild_error *err)
{
  for (size_t i = 0; i < ins->n_flags; i++)
    {
      const char *value = ins->flags[i] + strlen (CB_MOUNT_FLAG);

      if (strncmp (ins->flags[i], CB_MOUNT_FLAG, strlen (CB_MOUNT_FLAG)) != 0)
        continue;
      if (hash_flag (b, st, value, key, err) < 0)
        return cb_error_prefix (err, "--mount=%s", value);
    }
  return 0;
}
