#include "engine/reply.h"

#include <string.h>

#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/varint.h"

/* One tag byte per reply element, then its payload:
 *   status, error: varint length, text (error: varint zigzag-free code as -code first)
 *   integer: varint of the zigzag-encoded value; bulk: varint length, bytes;
 *   array: varint count; null bulk, null array: nothing. */
enum tag {
    TAG_STATUS = 1,
    TAG_ERROR = 2,
    TAG_INTEGER = 3,
    TAG_BULK = 4,
    TAG_NULL_BULK = 5,
    TAG_ARRAY = 6,
    TAG_NULL_ARRAY = 7,
};

static struct stoa_reply_recorder *recorder_of(struct stoa_reply *reply) {
    return reply->self;
}

static void put_bytes(struct stoa_reply_recorder *recorder, const void *data, size_t length) {
    if (recorder->error == STOA_OK && length > 0) {
        recorder->error = stoa_buf_append(recorder->buf, data, length);
    }
}

static void put_varint(struct stoa_reply_recorder *recorder, uint64_t value) {
    uint8_t bytes[STOA_VARINT_BYTES_MAX];
    put_bytes(recorder, bytes, stoa_varint_put(bytes, value));
}

static void put_tag(struct stoa_reply_recorder *recorder, enum tag tag) {
    uint8_t byte = (uint8_t)tag;
    put_bytes(recorder, &byte, 1);
}

static void record_status(struct stoa_reply *reply, const char *text) {
    struct stoa_reply_recorder *recorder = recorder_of(reply);
    size_t length = strlen(text);
    put_tag(recorder, TAG_STATUS);
    put_varint(recorder, length);
    put_bytes(recorder, text, length);
}

static void record_error(struct stoa_reply *reply, int code, const char *text) {
    STOA_ASSERT(code < 0);
    struct stoa_reply_recorder *recorder = recorder_of(reply);
    size_t length = strlen(text);
    put_tag(recorder, TAG_ERROR);
    put_varint(recorder, (uint64_t) - (int64_t)code);
    put_varint(recorder, length);
    put_bytes(recorder, text, length);
}

static void record_integer(struct stoa_reply *reply, int64_t value) {
    struct stoa_reply_recorder *recorder = recorder_of(reply);
    /* Zigzag: small negative numbers stay small. */
    uint64_t zigzag = ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
    put_tag(recorder, TAG_INTEGER);
    put_varint(recorder, zigzag);
}

static void record_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    struct stoa_reply_recorder *recorder = recorder_of(reply);
    put_tag(recorder, TAG_BULK);
    put_varint(recorder, length);
    put_bytes(recorder, data, length);
}

static void record_null_bulk(struct stoa_reply *reply) {
    put_tag(recorder_of(reply), TAG_NULL_BULK);
}

static void record_array(struct stoa_reply *reply, size_t count) {
    struct stoa_reply_recorder *recorder = recorder_of(reply);
    put_tag(recorder, TAG_ARRAY);
    put_varint(recorder, count);
}

static void record_null_array(struct stoa_reply *reply) {
    put_tag(recorder_of(reply), TAG_NULL_ARRAY);
}

static const struct stoa_reply_ops recorder_ops = {
    .status = record_status,
    .error = record_error,
    .integer = record_integer,
    .bulk = record_bulk,
    .null_bulk = record_null_bulk,
    .array = record_array,
    .null_array = record_null_array,
};

void stoa_reply_recorder_init(struct stoa_reply_recorder *recorder, struct stoa_buf *buf) {
    STOA_ASSERT(recorder != NULL && buf != NULL);
    recorder->reply.ops = &recorder_ops;
    recorder->reply.self = recorder;
    recorder->buf = buf;
    recorder->error = STOA_OK;
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

/* Reads a length-prefixed run of bytes; text is bounded so it can be NUL-terminated. */
static int get_text(struct reader *reader, char *text, size_t capacity) {
    uint64_t length = 0;
    if (get_varint(reader, &length) != STOA_OK || length >= capacity ||
        length > reader->length - reader->offset) {
        return STOA_ERR_MALFORMED;
    }
    memcpy(text, reader->data + reader->offset, (size_t)length);
    text[length] = '\0';
    reader->offset += (size_t)length;
    return STOA_OK;
}

static int replay_error(struct reader *reader, struct stoa_reply *reply) {
    uint64_t code = 0;
    char text[STOA_REPLY_TEXT_BYTES_MAX];
    if (get_varint(reader, &code) != STOA_OK || code == 0 || code > INT32_MAX ||
        get_text(reader, text, sizeof(text)) != STOA_OK) {
        return STOA_ERR_MALFORMED;
    }
    reply->ops->error(reply, -(int)code, text);
    return STOA_OK;
}

static int replay_bulk(struct reader *reader, struct stoa_reply *reply) {
    uint64_t length = 0;
    if (get_varint(reader, &length) != STOA_OK || length > reader->length - reader->offset) {
        return STOA_ERR_MALFORMED;
    }
    reply->ops->bulk(reply, reader->data + reader->offset, (size_t)length);
    reader->offset += (size_t)length;
    return STOA_OK;
}

static int replay_one(struct reader *reader, struct stoa_reply *reply) {
    uint8_t tag = reader->data[reader->offset++];
    uint64_t value = 0;
    char text[STOA_REPLY_TEXT_BYTES_MAX];
    switch (tag) {
    case TAG_STATUS:
        if (get_text(reader, text, sizeof(text)) != STOA_OK) {
            return STOA_ERR_MALFORMED;
        }
        reply->ops->status(reply, text);
        return STOA_OK;
    case TAG_ERROR:
        return replay_error(reader, reply);
    case TAG_INTEGER:
        if (get_varint(reader, &value) != STOA_OK) {
            return STOA_ERR_MALFORMED;
        }
        reply->ops->integer(reply, (int64_t)(value >> 1) ^ -(int64_t)(value & 1));
        return STOA_OK;
    case TAG_BULK:
        return replay_bulk(reader, reply);
    case TAG_NULL_BULK:
        reply->ops->null_bulk(reply);
        return STOA_OK;
    case TAG_ARRAY:
        if (get_varint(reader, &value) != STOA_OK || value > reader->length) {
            return STOA_ERR_MALFORMED;
        }
        reply->ops->array(reply, (size_t)value);
        return STOA_OK;
    case TAG_NULL_ARRAY:
        reply->ops->null_array(reply);
        return STOA_OK;
    default:
        return STOA_ERR_MALFORMED;
    }
}

int stoa_reply_replay(const uint8_t *data, size_t length, struct stoa_reply *reply) {
    STOA_ASSERT((data != NULL || length == 0) && reply != NULL);
    struct reader reader = {.data = data, .length = length};
    while (reader.offset < reader.length) {
        int result = replay_one(&reader, reply);
        if (result != STOA_OK) {
            return result;
        }
    }
    return STOA_OK;
}
