/*
 * buf: a growable byte buffer with a hard maximum.
 *
 * Connections read into and write out of a struct stoa_buf: bytes are appended at the end
 * and consumed from the front. The buffer grows by doubling through stoa_realloc, never past
 * its capacity_max, so a client that sends (or is owed) too much gets an error reply
 * instead of taking the node's memory. A failed growth leaves the buffer exactly as it was.
 *
 * Ownership: the buffer owns data; free it with stoa_buf_free. data is valid until the next
 * call that may grow the buffer (reserve, append) or consume from it. Appended bytes are
 * copied; the source is borrowed for the call only. The fields are public for reading;
 * change them only through these functions.
 */
#ifndef STOA_UTIL_BUF_H
#define STOA_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct stoa_buf {
    uint8_t *data;       /* NULL until the first growth */
    size_t length;       /* bytes in use, at data[0 .. length) */
    size_t capacity;     /* bytes allocated */
    size_t capacity_max; /* growth past this fails with STOA_ERR_TOO_LARGE */
};

/* Makes an empty buffer that may grow to capacity_max bytes (> 0). Allocates nothing. */
void stoa_buf_init(struct stoa_buf *buf, size_t capacity_max);

/* Frees the data; the buffer is empty afterwards and may be used again. */
void stoa_buf_free(struct stoa_buf *buf);

/* Makes room for at least extra more bytes after length. Returns 0, STOA_ERR_TOO_LARGE if
 * length + extra passes capacity_max, or STOA_ERR_NOMEM; the buffer is unchanged on error. */
int stoa_buf_reserve(struct stoa_buf *buf, size_t extra);

/* Appends length bytes of data (borrowed). Errors as stoa_buf_reserve; nothing is appended
 * on error. */
int stoa_buf_append(struct stoa_buf *buf, const void *data, size_t length);

int stoa_buf_append_byte(struct stoa_buf *buf, uint8_t byte);

/* Drops the first count bytes (count <= length), moving the rest to the front. */
void stoa_buf_consume(struct stoa_buf *buf, size_t count);

/* Drops all bytes and keeps the allocation for reuse. */
void stoa_buf_reset(struct stoa_buf *buf);

#endif
