/* A record of file digests keyed by device, inode, size, mtime and ctime,
 * so that a build context file that did not change is never read again. */
#ifndef CBUILD_BUILDER_FILE_DIGESTS_H
#define CBUILD_BUILDER_FILE_DIGESTS_H

#include <stdbool.h>
#include <sys/stat.h>

#include "common/digest.h"

struct cb_file_digests;

/* Loads the record saved at path; a missing or damaged file gives an empty
 * record, because the record is only a shortcut. */
int cb_file_digests_load (const char *path, struct cb_file_digests **out, cbuild_error *err);
void cb_file_digests_free (struct cb_file_digests *rec);

/* Writes the recorded SHA-256 of the file that st describes to out and
 * returns true when device, inode, size, mtime and ctime (in nanoseconds)
 * all match a record entry. Thread-safe. */
bool cb_file_digests_lookup (struct cb_file_digests *rec, const struct stat *st, char out[CB_DIGEST_SIZE]);

/* Writes the SHA-256 of the regular file open at fd (fstat'ed into st,
 * named name in messages) to out: from the record when device, inode,
 * size, mtime and ctime (in nanoseconds) all match, else by reading the
 * file. Thread-safe. */
int cb_file_digests_get (struct cb_file_digests *rec, int fd, const struct stat *st, const char *name,
                         char out[CB_DIGEST_SIZE], cbuild_error *err);

/* Saves the record atomically when it changed. */
int cb_file_digests_save (struct cb_file_digests *rec, cbuild_error *err);

#endif
