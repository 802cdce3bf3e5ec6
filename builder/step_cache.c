#include "builder/step_cache.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "builder/cache_remote.h"
#include "builder/copy_hash.h"
#include "builder/run_mount.h"
#include "common/cleanup.h"
#include "common/error.h"

/* Proxy variables change how a command reaches the network, not what it
 * builds, so BuildKit leaves them out of the cache key; so does cbuild. */
static bool
is_proxy_variable (const char *item)
{
  static const char *const names[] = { "HTTP_PROXY=", "http_proxy=", "HTTPS_PROXY=", "https_proxy=",
                                       "FTP_PROXY=", "ftp_proxy=", "NO_PROXY=", "no_proxy=",
                                       "ALL_PROXY=", "all_proxy=", NULL };

  for (size_t i = 0; names[i]; i++)
    if (strncmp (item, names[i], strlen (names[i])) == 0)
      return true;
  return false;
}

static const char *
config_string (struct cb_stage *st, const char *key)
{
  const char *s = json_string_value (json_object_get (cb_image_runconfig (&st->image), key));

  return s ? s : "";
}

static void
add_platform (struct cb_cache_key *key, const struct cb_platform *p)
{
  cb_cache_key_add (key, p->os ? p->os : "");
  cb_cache_key_add (key, p->arch ? p->arch : "");
  cb_cache_key_add (key, p->variant ? p->variant : "");
}

static void
add_flags (struct cb_cache_key *key, const struct cb_instruction *ins)
{
  for (size_t i = 0; i < ins->n_flags; i++)
    cb_cache_key_add (key, ins->flags[i]);
  cb_cache_key_add (key, "--");
}

int
cb_step_key_run (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                 const struct cb_strv *argv, const struct cb_strv *env, char key[CB_DIGEST_SIZE],
                 cbuild_error *err)
{
  struct cb_cache_key k;

  if (cb_cache_key_begin (&k, st->cache_parent, "RUN", err) < 0)
    return -1;
  cb_cache_key_add_strv (&k, argv);
  for (size_t i = 0; i < env->len; i++)
    if (!is_proxy_variable (env->items[i]))
      cb_cache_key_add (&k, env->items[i]);
  cb_cache_key_add (&k, "--");
  cb_cache_key_add (&k, config_string (st, "User"));
  cb_cache_key_add (&k, config_string (st, "WorkingDir"));
  add_platform (&k, &st->platform);
  add_flags (&k, ins);
  /* The --network build option changes what a RUN without the flag can
   * reach, as the flag does. */
  cb_cache_key_add (&k, b->opts->no_network ? "network=none" : "");
  cb_cache_key_add_strv (&k, &b->opts->extra_hosts);
  /* A shebang heredoc runs from a file, so its body is not in argv. */
  for (size_t i = 0; i < ins->n_heredocs; i++)
    cb_cache_key_add (&k, ins->heredocs[i].content);
  if (cb_run_mounts_hash (b, st, ins, &k, err) < 0)
    {
      cb_cache_key_abort (&k);
      return -1;
    }
  cb_cache_key_finish (&k, key);
  return 0;
}

int
cb_step_key_copy (struct cb_build *b, struct cb_stage *st, const struct cb_instruction *ins,
                  const struct cb_copy_request *req, const char *from_key, const struct cb_strv *remote,
                  const struct cb_heredoc *const *docs, size_t n_docs, char key[CB_DIGEST_SIZE],
                  cbuild_error *err)
{
  struct cb_cache_key k;

  if (cb_cache_key_begin (&k, st->cache_parent, req->is_add ? "ADD" : "COPY", err) < 0)
    return -1;
  for (size_t i = 0; i < req->n_sources; i++)
    cb_cache_key_add (&k, req->sources[i]);
  cb_cache_key_add (&k, req->dest);
  cb_cache_key_add (&k, req->workdir ? req->workdir : "/");
  add_flags (&k, ins);
  add_platform (&k, &st->platform);
  for (size_t i = 0; i < n_docs; i++)
    {
      cb_cache_key_add (&k, docs[i]->name);
      cb_cache_key_add (&k, docs[i]->content);
      cb_cache_key_add (&k, docs[i]->expand ? "expand" : "literal");
    }
  if (n_docs > 0)
    {
      cleanup_strv struct cb_strv env = CB_STRV_INIT;
      if (cb_stage_expand_env (st, &env, err) < 0)
        {
          cb_cache_key_abort (&k);
          return -1;
        }
      cb_cache_key_add_strv (&k, &env);
    }
  /* From a stage only the stage's key covers the files, so the patterns
   * that select among them go in too. */
  cb_cache_key_add (&k, "exclude");
  if (req->exclude_patterns)
    cb_cache_key_add_strv (&k, req->exclude_patterns);
  cb_cache_key_add (&k, "--");
  /* URL, name, digest and Last-Modified of each downloaded file. */
  cb_cache_key_add_strv (&k, remote);
  if (from_key)
    cb_cache_key_add (&k, from_key);
  else if (req->n_sources > 0
           && cb_copy_hash_sources (req->context_dir, req->ignore, req->exclude, req->sources, req->n_sources,
                                    b->shared->file_digests, k.h, err) < 0)
    {
      cb_cache_key_abort (&k);
      return -1;
    }
  cb_cache_key_finish (&k, key);
  return 0;
}

int
cb_step_key_workdir (struct cb_build *b, struct cb_stage *st, const char *dir, const char *user,
                     char key[CB_DIGEST_SIZE], cbuild_error *err)
{
  struct cb_cache_key k;

  (void) b;
  if (cb_cache_key_begin (&k, st->cache_parent, "WORKDIR", err) < 0)
    return -1;
  cb_cache_key_add (&k, dir);
  cb_cache_key_add (&k, user ? user : "");
  cb_cache_key_finish (&k, key);
  return 0;
}

static bool
cache_disabled (struct cb_build *b, struct cb_stage *st)
{
  if (b->opts->no_cache)
    return true;
  return st->name && cb_strv_contains (&b->opts->no_cache_filter, st->name);
}

int
cb_step_cache_use (struct cb_build *b, struct cb_stage *st, const char *key, const char *created_by,
                   bool *hit, cbuild_error *err)
{
  struct cb_cache_entry entry;
  int ret;

  *hit = false;
  if (cache_disabled (b, st))
    return 0;
  if (cb_cache_lookup (b->store, key, &entry, hit, err) < 0)
    return 0;
  if (!*hit && cb_remote_cache_lookup (b, key, &entry, hit, err) < 0)
    return -1;
  if (!*hit)
    return 0;
  if (entry.empty)
    ret = cb_image_add_history (&st->image, created_by, NULL, err);
  else
    ret = cb_image_add_layer (&st->image, entry.digest, entry.size, entry.diff_id, created_by,
                              st->image.epoch ? st->image.epoch : entry.created, err);
  if (ret < 0)
    return -1;
  cb_cache_touch (b->store, key);
  cb_step_cache_advance (st, key, entry.empty ? NULL : entry.diff_id);
  atomic_fetch_add (&b->shared->steps_cached, 1);
  cb_log (&b->stage_log, CBUILD_LOG_INFO, "CACHED");
  return 0;
}

void
cb_step_cache_advance (struct cb_stage *st, const char *key, const char *diff_id)
{
  struct cb_cache_key chain;

  if (st->cache_keys.len == 0)
    memcpy (st->cache_origin, st->cache_parent, sizeof st->cache_origin);
  /* A key missing from the list only leaves its entry out of --cache-to,
   * so running out of memory here does not fail the step. */
  cb_strv_push (&st->cache_keys, key, NULL);
  /* The next key covers what this step produced, not only its inputs: a
   * step that ran again and made a different layer (under --no-cache-filter,
   * say) never lets a later step reuse a result built on the old one. */
  if (cb_cache_key_begin (&chain, key, "after", NULL) < 0)
    {
      snprintf (st->cache_parent, sizeof st->cache_parent, "%s", key);
      return;
    }
  cb_cache_key_add (&chain, diff_id ? diff_id : "");
  cb_cache_key_finish (&chain, st->cache_parent);
}
