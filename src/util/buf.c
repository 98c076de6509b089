#include "util/buf.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

static void check(const struct stoa_buf *buf) {
    STOA_ASSERT(buf != NULL);
    STOA_ASSERT(buf->length <= buf->capacity);
    STOA_ASSERT(buf->capacity <= buf->capacity_max);
    STOA_ASSERT((buf->data == NULL) == (buf->capacity == 0));
}

void stoa_buf_init(struct stoa_buf *buf, size_t capacity_max) {
    STOA_ASSERT(buf != NULL);
    STOA_ASSERT(capacity_max > 0);
    buf->data = NULL;
    buf->length = 0;
    buf->capacity = 0;
    buf->capacity_max = capacity_max;
}

void stoa_buf_free(struct stoa_buf *buf) {
    check(buf);
    stoa_free(buf->data);
    buf->data = NULL;
    buf->length = 0;
    buf->capacity = 0;
}

/* The capacity to grow to for needed bytes: double until it fits, capped at the max. */
static size_t grown_capacity(const struct stoa_buf *buf, size_t needed) {
    size_t capacity = buf->capacity > 0 ? buf->capacity : STOA_BUF_CAPACITY_MIN;
    while (capacity < needed && capacity <= buf->capacity_max / 2) {
        capacity *= 2;
    }
    if (capacity < needed || capacity > buf->capacity_max) {
        capacity = buf->capacity_max;
    }
    return capacity;
}

int stoa_buf_reserve(struct stoa_buf *buf, size_t extra) {
    check(buf);
    if (extra > buf->capacity_max - buf->length) {
        return STOA_ERR_TOO_LARGE;
    }
    size_t needed = buf->length + extra;
    if (needed <= buf->capacity) {
        return STOA_OK;
    }
    size_t capacity = grown_capacity(buf, needed);
    STOA_ASSERT(capacity >= needed);
    uint8_t *data = stoa_realloc(buf->data, capacity);
    if (data == NULL) {
        return STOA_ERR_NOMEM;
    }
    buf->data = data;
    buf->capacity = capacity;
    return STOA_OK;
}

int stoa_buf_append(struct stoa_buf *buf, const void *data, size_t length) {
    STOA_ASSERT(data != NULL || length == 0);
    int result = stoa_buf_reserve(buf, length);
    if (result != STOA_OK) {
        return result;
    }
    if (length > 0) {
        memcpy(buf->data + buf->length, data, length);
        buf->length += length;
    }
    return STOA_OK;
}

int stoa_buf_append_byte(struct stoa_buf *buf, uint8_t byte) {
    return stoa_buf_append(buf, &byte, 1);
}

void stoa_buf_consume(struct stoa_buf *buf, size_t count) {
    check(buf);
    STOA_ASSERT(count <= buf->length);
    if (count == 0) {
        return;
    }
    memmove(buf->data, buf->data + count, buf->length - count);
    buf->length -= count;
}

void stoa_buf_reset(struct stoa_buf *buf) {
    check(buf);
    buf->length = 0;
}
