#include "util/varint.h"

#include <stdbool.h>

#include "util/assert.h"
#include "util/err.h"

size_t stoa_varint_length(uint64_t value) {
    size_t length = 1;
    while (value >= 0x80) {
        value >>= 7;
        length++;
    }
    return length;
}

size_t stoa_varint_put(uint8_t *out, uint64_t value) {
    STOA_ASSERT(out != NULL);
    size_t used = 0;
    while (value >= 0x80) {
        out[used++] = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    out[used++] = (uint8_t)value;
    return used;
}

int stoa_varint_get(const uint8_t *data, size_t length, uint64_t *value, size_t *used) {
    STOA_ASSERT(data != NULL || length == 0);
    STOA_ASSERT(value != NULL && used != NULL);
    uint64_t result = 0;
    for (size_t i = 0; i < STOA_VARINT_BYTES_MAX; i++) {
        if (i == length) {
            return STOA_ERR_AGAIN;
        }
        uint64_t group = data[i] & 0x7f;
        unsigned shift = (unsigned)(7 * i);
        /* The tenth byte may hold only the top bit of a uint64. */
        if (i == STOA_VARINT_BYTES_MAX - 1 && group > 1) {
            return STOA_ERR_MALFORMED;
        }
        result |= group << shift;
        bool last = (data[i] & 0x80) == 0;
        if (last) {
            /* A final zero group after the first byte is a redundant, overlong encoding. */
            if (i > 0 && group == 0) {
                return STOA_ERR_MALFORMED;
            }
            *value = result;
            *used = i + 1;
            return STOA_OK;
        }
    }
    return STOA_ERR_MALFORMED;
}
