#include "engine/value_codec.h"

#include <string.h>

#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/varint.h"

static int put_varint(struct stoa_buf *out, uint64_t value) {
    uint8_t bytes[STOA_VARINT_BYTES_MAX];
    return stoa_buf_append(out, bytes, stoa_varint_put(bytes, value));
}

static int put_run(struct stoa_buf *out, const uint8_t *data, size_t length) {
    int result = put_varint(out, length);
    if (result == STOA_OK && length > 0) {
        result = stoa_buf_append(out, data, length);
    }
    return result;
}

static int put_int64(struct stoa_buf *out, int64_t value) {
    uint8_t bytes[8];
    for (int i = 0; i < 8; i++) {
        bytes[i] = (uint8_t)((uint64_t)value >> (8 * i));
    }
    return stoa_buf_append(out, bytes, sizeof(bytes));
}

static int encode_deque(const struct stoa_value *value, struct stoa_buf *out) {
    size_t count = stoa_value_deque_length(value);
    int result = put_varint(out, count);
    for (size_t i = 0; i < count && result == STOA_OK; i++) {
        const uint8_t *data = NULL;
        size_t length = 0;
        result = stoa_value_deque_get(value, (int64_t)i, &data, &length);
        if (result == STOA_OK) {
            result = put_run(out, data, length);
        }
    }
    return result;
}

/* Object: id run, creation_time_ms, ttl_s, last_modified_ms (8 bytes each, little-endian
 * two's complement), data run. */
static int encode_object(const struct stoa_value *value, struct stoa_buf *out) {
    struct stoa_object_fields fields;
    stoa_value_object_get(value, &fields);
    int result = put_run(out, fields.id, fields.id_length);
    if (result == STOA_OK) {
        result = put_int64(out, fields.creation_time_ms);
    }
    if (result == STOA_OK) {
        result = put_int64(out, fields.ttl_s);
    }
    if (result == STOA_OK) {
        result = put_int64(out, fields.last_modified_ms);
    }
    if (result == STOA_OK) {
        result = put_run(out, fields.data, fields.data_length);
    }
    return result;
}

int stoa_value_encode(const struct stoa_value *value, struct stoa_buf *out) {
    STOA_ASSERT(value != NULL && out != NULL);
    switch (value->type) {
    case STOA_VALUE_BYTES: {
        const uint8_t *data = NULL;
        size_t length = 0;
        stoa_value_bytes_get(value, &data, &length);
        return length > 0 ? stoa_buf_append(out, data, length) : STOA_OK;
    }
    case STOA_VALUE_DEQUE:
        return encode_deque(value, out);
    case STOA_VALUE_OBJECT:
        return encode_object(value, out);
    case STOA_VALUE_NONE:
        break;
    }
    STOA_UNREACHABLE();
}

struct reader {
    const uint8_t *data;
    size_t length;
    size_t offset;
};

static int get_varint(struct reader *reader, uint64_t *value) {
    size_t used = 0;
    if (stoa_varint_get(reader->data + reader->offset, reader->length - reader->offset, value,
                        &used) != STOA_OK) {
        return STOA_ERR_MALFORMED;
    }
    reader->offset += used;
    return STOA_OK;
}

static int get_run(struct reader *reader, const uint8_t **data, size_t *length) {
    uint64_t run = 0;
    if (get_varint(reader, &run) != STOA_OK || run > reader->length - reader->offset) {
        return STOA_ERR_MALFORMED;
    }
    *data = reader->data + reader->offset;
    *length = (size_t)run;
    reader->offset += (size_t)run;
    return STOA_OK;
}

static int get_int64(struct reader *reader, int64_t *value) {
    if (reader->length - reader->offset < 8) {
        return STOA_ERR_MALFORMED;
    }
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) {
        bits |= (uint64_t)reader->data[reader->offset + (size_t)i] << (8 * i);
    }
    reader->offset += 8;
    *value = (int64_t)bits;
    return STOA_OK;
}

static int decode_deque(struct reader *reader, struct stoa_value *value) {
    uint64_t count = 0;
    /* Each element takes at least one byte: a lying count fails before any work. The keyspace
     * never holds an empty deque, so a count of 0 is malformed too. */
    if (get_varint(reader, &count) != STOA_OK || count == 0 ||
        count > reader->length - reader->offset) {
        return STOA_ERR_MALFORMED;
    }
    stoa_value_deque_init(value);
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *data = NULL;
        size_t length = 0;
        int result = get_run(reader, &data, &length);
        if (result == STOA_OK) {
            result = stoa_value_deque_push(value, STOA_DEQUE_BACK, data, length);
        }
        if (result != STOA_OK) {
            return result;
        }
    }
    return STOA_OK;
}

static int decode_object(struct reader *reader, struct stoa_value *value) {
    struct stoa_object_fields fields;
    memset(&fields, 0, sizeof(fields));
    int result = get_run(reader, &fields.id, &fields.id_length);
    if (result == STOA_OK) {
        result = get_int64(reader, &fields.creation_time_ms);
    }
    if (result == STOA_OK) {
        result = get_int64(reader, &fields.ttl_s);
    }
    if (result == STOA_OK) {
        result = get_int64(reader, &fields.last_modified_ms);
    }
    if (result == STOA_OK) {
        result = get_run(reader, &fields.data, &fields.data_length);
    }
    return result == STOA_OK ? stoa_value_object_set(value, &fields) : result;
}

int stoa_value_decode(enum stoa_value_type type, const uint8_t *data, size_t length,
                      struct stoa_value *value) {
    STOA_ASSERT((data != NULL || length == 0) && value != NULL);
    STOA_ASSERT(value->type == STOA_VALUE_NONE);
    struct reader reader = {.data = data, .length = length};
    int result = STOA_ERR_MALFORMED;
    switch (type) {
    case STOA_VALUE_BYTES:
        result = stoa_value_bytes_set(value, data, length);
        reader.offset = length;
        break;
    case STOA_VALUE_DEQUE:
        result = decode_deque(&reader, value);
        break;
    case STOA_VALUE_OBJECT:
        result = decode_object(&reader, value);
        break;
    case STOA_VALUE_NONE:
        break;
    }
    if (result == STOA_OK && reader.offset != reader.length) {
        result = STOA_ERR_MALFORMED;
    }
    if (result != STOA_OK) {
        stoa_value_free(value);
    }
    return result;
}
