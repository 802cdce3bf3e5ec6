#include "registry/curl_api.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

/* The soname of libcurl 7.16 and later, the version the headers come from;
 * Debian's libcurl4 package installs it. */
#define CURL_SONAME "libcurl.so.4"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct cb_curl_api api;
static bool api_ready;
static char load_error[512];

static bool
resolve (void *lib, const char *name, void *slot)
{
  void *symbol = dlsym (lib, name);

  if (symbol == NULL)
    {
      snprintf (load_error, sizeof load_error, "%s has no function %s", CURL_SONAME, name);
      return false;
    }
  /* POSIX guarantees that a data pointer from dlsym() converts to a
   * function pointer of the same representation. */
  memcpy (slot, &symbol, sizeof symbol);
  return true;
}

static bool
resolve_all (void *lib)
{
  CURLcode (*global_init) (long flags) = NULL;
  bool found;

  found = resolve (lib, "curl_easy_init", &api.easy_init)
         && resolve (lib, "curl_easy_cleanup", &api.easy_cleanup)
         && resolve (lib, "curl_easy_reset", &api.easy_reset)
         && resolve (lib, "curl_easy_setopt", &api.easy_setopt)
         && resolve (lib, "curl_easy_perform", &api.easy_perform)
         && resolve (lib, "curl_easy_getinfo", &api.easy_getinfo)
         && resolve (lib, "curl_easy_strerror", &api.easy_strerror)
         && resolve (lib, "curl_slist_append", &api.slist_append)
         && resolve (lib, "curl_slist_free_all", &api.slist_free_all)
         && resolve (lib, "curl_url", &api.url)
         && resolve (lib, "curl_url_cleanup", &api.url_cleanup)
         && resolve (lib, "curl_url_set", &api.url_set)
         && resolve (lib, "curl_url_get", &api.url_get)
         && resolve (lib, "curl_free", &api.free)
         && resolve (lib, "curl_global_init", &global_init);
  if (!found)
    return false;

  /* Global state stays until the process exits, because the library
   * cannot know when the embedding program is done with libcurl. */
  if (global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
    {
      snprintf (load_error, sizeof load_error, "curl_global_init failed");
      return false;
    }
  return true;
}

static void
load (void)
{
  /* The handle stays open for the life of the process, because libcurl
   * registers its own exit handlers. */
  void *lib = dlopen (CURL_SONAME, RTLD_NOW | RTLD_LOCAL);

  if (lib == NULL)
    {
      const char *reason = dlerror ();
      snprintf (load_error, sizeof load_error, "%s", reason ? reason : "dlopen failed");
      return;
    }
  api_ready = resolve_all (lib);
}

const struct cb_curl_api *
cb_curl_api (cbuild_error *err)
{
  pthread_once (&load_once, load);
  if (!api_ready)
    {
      cb_error_set (err, CBUILD_ERR_SYSTEM, "cannot load libcurl: %s; install the libcurl4 package",
                    load_error);
      return NULL;
    }
  return &api;
}
