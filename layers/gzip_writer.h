/* A gzip compressor that deflates blocks of its input on worker threads.
 *
 * The input is cut into fixed 128 KiB blocks. Each block is deflated on
 * its own with the 32 KiB before it as the dictionary. All but the last
 * end with a sync flush, so the blocks concatenate into one deflate
 * stream inside one gzip member, as pigz writes it. The output depends on
 * the input alone, never on the number of threads or their timing, so the
 * same layer gives the same blob digest on every machine with the same
 * zlib. Memory stays bounded: at most two blocks per thread are in flight. */
#ifndef CBUILD_LAYERS_GZIP_WRITER_H
#define CBUILD_LAYERS_GZIP_WRITER_H

#include <stddef.h>

#include "common/error.h"

/* Receives compressed bytes in order, always on the thread that called
 * cb_gzip_writer_write() or cb_gzip_writer_finish(). Returns 0, or -1
 * with err set to stop the writer. */
typedef int (*cb_gzip_output_fn) (void *user, const void *data, size_t len, cbuild_error *err);

struct cb_gzip_writer;

/* Creates a writer that sends its output to output(user, ...). threads
 * is the number of worker threads to use at most; 0 picks the number of
 * online CPUs, and 1 compresses on the calling thread only. */
int cb_gzip_writer_new (cb_gzip_output_fn output, void *user, size_t threads, struct cb_gzip_writer **out,
                        cbuild_error *err);

/* Compresses len bytes of data. May call output for earlier blocks. */
int cb_gzip_writer_write (struct cb_gzip_writer *w, const void *data, size_t len, cbuild_error *err);

/* Compresses what is left and writes the gzip trailer. The writer takes
 * no more input afterwards. */
int cb_gzip_writer_finish (struct cb_gzip_writer *w, cbuild_error *err);

/* Stops the worker threads and frees the writer. Accepts NULL. */
void cb_gzip_writer_free (struct cb_gzip_writer *w);

#endif
