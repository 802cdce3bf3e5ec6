/* libcurl, loaded on first use.
 *
 * libcurl and the libraries it pulls in (GnuTLS, Kerberos, LDAP, libssh2
 * and more on Debian) make up most of the dynamic linker's work when a
 * process starts. Measured with hyperfine on a 2-core x86_64 Debian 12
 * machine, linking them took about 3.5 ms of a 6.5 ms start. A build that
 * finds everything in the local cache never talks to a registry, so the
 * library opens libcurl with dlopen() on the first request instead. */
#ifndef CBUILD_REGISTRY_CURL_API_H
#define CBUILD_REGISTRY_CURL_API_H

#include <curl/curl.h>

#include "common/error.h"

/* The libcurl functions that the registry client calls. */
struct cb_curl_api
{
  CURL *(*easy_init) (void);
  void (*easy_cleanup) (CURL *curl);
  void (*easy_reset) (CURL *curl);
  CURLcode (*easy_setopt) (CURL *curl, CURLoption option, ...);
  CURLcode (*easy_perform) (CURL *curl);
  CURLcode (*easy_getinfo) (CURL *curl, CURLINFO info, ...);
  const char *(*easy_strerror) (CURLcode code);
  struct curl_slist *(*slist_append) (struct curl_slist *list, const char *line);
  void (*slist_free_all) (struct curl_slist *list);
  CURLU *(*url) (void);
  void (*url_cleanup) (CURLU *url);
  CURLUcode (*url_set) (CURLU *url, CURLUPart part, const char *content, unsigned int flags);
  CURLUcode (*url_get) (const CURLU *url, CURLUPart part, char **content, unsigned int flags);
  void (*free) (void *p);
};

/* Returns libcurl's functions, opening the library and running
 * curl_global_init() on the first call. Thread-safe. Returns NULL and
 * sets err when libcurl cannot be opened or initialized; later calls
 * report the same failure. */
const struct cb_curl_api *cb_curl_api (cbuild_error *err);

#endif
