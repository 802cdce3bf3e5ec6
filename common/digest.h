/* SHA-256 digests in the OCI form "sha256:<64 lowercase hex>". */
#ifndef CBUILD_COMMON_DIGEST_H
#define CBUILD_COMMON_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cbuild/cbuild.h>

#define CB_DIGEST_LEN 71 /* strlen ("sha256:") + 64 */
#define CB_DIGEST_SIZE (CB_DIGEST_LEN + 1)

struct cb_sha256; /* a running hash; opaque because it wraps EVP_MD_CTX */

struct cb_sha256 *cb_sha256_new (cbuild_error *err);
void cb_sha256_update (struct cb_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out and frees h. */
void cb_sha256_finish (struct cb_sha256 *h, char out[CB_DIGEST_SIZE]);
void cb_sha256_free (struct cb_sha256 *h);

int cb_sha256_bytes (const void *data, size_t len, char out[CB_DIGEST_SIZE], cbuild_error *err);

/* True when s is "sha256:" followed by exactly 64 lowercase hex digits, so
 * that the hex part is safe to use as a file name. */
bool cb_digest_valid (const char *s);

#endif
