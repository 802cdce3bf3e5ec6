#include "common/digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"

struct cb_sha256
{
  EVP_MD_CTX *ctx;
};

struct cb_sha256 *
cb_sha256_new (cbuild_error *err)
{
  struct cb_sha256 *h = calloc (1, sizeof *h);

  if (h == NULL)
    {
      cb_error_nomem (err);
      return NULL;
    }
  h->ctx = EVP_MD_CTX_new ();
  if (h->ctx == NULL || EVP_DigestInit_ex (h->ctx, EVP_sha256 (), NULL) != 1)
    {
      cb_sha256_free (h);
      cb_error_set (err, CBUILD_ERR_SYSTEM, "cannot initialize SHA-256");
      return NULL;
    }
  return h;
}

void
cb_sha256_update (struct cb_sha256 *h, const void *data, size_t len)
{
  EVP_DigestUpdate (h->ctx, data, len);
}

void
cb_sha256_finish (struct cb_sha256 *h, char out[CB_DIGEST_SIZE])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  EVP_DigestFinal_ex (h->ctx, md, &n);
  strcpy (out, "sha256:");
  for (unsigned int i = 0; i < n && i < 32; i++)
    sprintf (out + 7 + 2 * i, "%02x", md[i]);
  cb_sha256_free (h);
}

void
cb_sha256_free (struct cb_sha256 *h)
{
  if (h == NULL)
    return;
  EVP_MD_CTX_free (h->ctx);
  free (h);
}

int
cb_sha256_bytes (const void *data, size_t len, char out[CB_DIGEST_SIZE], cbuild_error *err)
{
  struct cb_sha256 *h = cb_sha256_new (err);

  if (h == NULL)
    return -1;
  cb_sha256_update (h, data, len);
  cb_sha256_finish (h, out);
  return 0;
}

bool
cb_digest_valid (const char *s)
{
  if (s == NULL || strncmp (s, "sha256:", 7) != 0 || strlen (s) != CB_DIGEST_LEN)
    return false;
  for (const char *p = s + 7; *p; p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return false;
  return true;
}
