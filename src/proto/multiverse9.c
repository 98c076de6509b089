/* multiverse9's binary protocol: requests, targets and replies (docs/protocols/multiverse9.md). */
#include "proto/multiverse9.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/err.h"
#include "util/ulid.h"

/* ---- requests ---- */

static uint32_t get_u32_big_endian(const uint8_t *data) {
    return (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 |
           (uint32_t)data[3];
}

static void put_u32_big_endian(uint8_t *out, uint32_t value) {
    out[0] = (uint8_t)(value >> 24);
    out[1] = (uint8_t)(value >> 16);
    out[2] = (uint8_t)(value >> 8);
    out[3] = (uint8_t)value;
}

/* The framed form: [opcode][length][payload], header_length bytes of opcode already read. */
static int parse_framed(const uint8_t *data, size_t length, bool at_end, size_t header_length,
                        struct stoa_multiverse9_request *request, size_t *consumed,
                        const char **error) {
    if (length < header_length + STOA_MULTIVERSE9_LENGTH_BYTES) {
        if (at_end) {
            *error = "truncated request: the input ended inside the length";
            return STOA_ERR_MALFORMED;
        }
        return STOA_ERR_AGAIN;
    }
    uint32_t payload_length = get_u32_big_endian(data + header_length);
    if (payload_length > STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX) {
        *error = "request too large";
        return STOA_ERR_TOO_LARGE;
    }
    size_t total = header_length + STOA_MULTIVERSE9_LENGTH_BYTES + payload_length;
    if (length < total) {
        if (at_end) {
            *error = "truncated request: the input ended inside the payload";
            return STOA_ERR_MALFORMED;
        }
        return STOA_ERR_AGAIN;
    }
    request->payload = data + header_length + STOA_MULTIVERSE9_LENGTH_BYTES;
    request->payload_length = payload_length;
    *consumed = total;
    return STOA_OK;
}

int stoa_multiverse9_parse(const uint8_t *data, size_t length, bool at_end,
                           struct stoa_multiverse9_request *request, size_t *consumed,
                           const char **error) {
    STOA_ASSERT(request != NULL && consumed != NULL && error != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    request->framed = false;
    if (length == 0) {
        return at_end ? STOA_ERR_EMPTY : STOA_ERR_AGAIN;
    }
    size_t header_length = 1;
    if (data[0] == 0x00) {
        if (length < 2) {
            if (at_end) {
                *error = "truncated request: 0x00 without the opcode byte after it";
                return STOA_ERR_MALFORMED;
            }
            return STOA_ERR_AGAIN;
        }
        header_length = 2;
    }
    uint8_t opcode = data[header_length - 1];
    request->opcode = (uint8_t)(opcode & ~STOA_MULTIVERSE9_FRAMED);
    request->framed = (opcode & STOA_MULTIVERSE9_FRAMED) != 0;
    if (request->framed) {
        return parse_framed(data, length, at_end, header_length, request, consumed, error);
    }
    size_t payload_length = length - header_length;
    if (payload_length > STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX) {
        *error = "request too large";
        return STOA_ERR_TOO_LARGE;
    }
    if (!at_end) {
        return STOA_ERR_AGAIN;
    }
    request->payload = data + header_length;
    request->payload_length = payload_length;
    *consumed = length;
    return STOA_OK;
}

const char *stoa_multiverse9_opcode_name(uint8_t opcode) {
    switch (opcode) {
    case STOA_MULTIVERSE9_CREATE:
        return "CREATE";
    case STOA_MULTIVERSE9_REMOVE:
        return "REMOVE";
    case STOA_MULTIVERSE9_AGGREGATE:
        return "AGGREGATE";
    case STOA_MULTIVERSE9_METADATA:
        return "METADATA";
    case STOA_MULTIVERSE9_HELLO:
        return "HELLO";
    case STOA_MULTIVERSE9_AUTH:
        return "AUTH";
    default:
        return NULL;
    }
}

/* ---- targets ---- */

static int target_error(char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX], size_t index,
                        const char *what) {
    snprintf(error, STOA_MULTIVERSE9_ERROR_BYTES_MAX, "target %zu: %s", index + 1, what);
    return STOA_ERR_INVALID;
}

/* Parses one non-empty target text into *target. */
static int parse_target(const uint8_t *text, size_t length, bool allow_remote, size_t index,
                        struct stoa_multiverse9_target *target,
                        char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX]) {
    const uint8_t *at = memchr(text, '@', length);
    size_t key_length = at != NULL ? (size_t)(at - text) : length;
    if (key_length != STOA_ULID_TEXT_LENGTH) {
        return target_error(error, index, "a key must be a ULID of 26 characters");
    }
    struct stoa_ulid ulid;
    if (stoa_ulid_decode((const char *)text, key_length, &ulid) != STOA_OK) {
        return target_error(error, index, "a key must be a ULID (Crockford base32)");
    }
    if (at != NULL && !allow_remote) {
        return target_error(error, index, "a remote address is not allowed here");
    }
    target->remote = at != NULL;
    if (at != NULL) {
        size_t address_length = length - key_length - 1;
        if (stoa_address_parse((const char *)at + 1, address_length, &target->address) !=
            STOA_OK) {
            return target_error(error, index, "the address must be a numeric host:port");
        }
    }
    stoa_ulid_encode(&ulid, target->ulid);
    target->text = text;
    target->text_length = length;
    return STOA_OK;
}

int stoa_multiverse9_targets(const uint8_t *payload, size_t length, bool allow_remote,
                             struct stoa_multiverse9_target *targets, size_t capacity,
                             size_t *count, char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX]) {
    STOA_ASSERT(targets != NULL && count != NULL && error != NULL);
    if (length > 0 && payload[length - 1] == 0x00) {
        length--; /* one trailing NUL, as multiverse9 allows */
    }
    if (length == 0) {
        snprintf(error, STOA_MULTIVERSE9_ERROR_BYTES_MAX, "no targets");
        return STOA_ERR_INVALID;
    }
    size_t found = 0;
    size_t start = 0;
    while (start <= length) {
        const uint8_t *end = memchr(payload + start, 0x00, length - start);
        size_t stop = end != NULL ? (size_t)(end - payload) : length;
        if (stop == start) {
            return target_error(error, found, "empty (a leading NUL or two NULs in a row)");
        }
        if (found == capacity) {
            snprintf(error, STOA_MULTIVERSE9_ERROR_BYTES_MAX, "more than %zu targets", capacity);
            return STOA_ERR_INVALID;
        }
        int result = parse_target(payload + start, stop - start, allow_remote, found,
                                  &targets[found], error);
        if (result != STOA_OK) {
            return result;
        }
        found++;
        start = stop + 1;
    }
    *count = found;
    return STOA_OK;
}

int stoa_multiverse9_write_request(struct stoa_buf *buf, uint8_t opcode, const uint8_t *payload,
                                   size_t length) {
    STOA_ASSERT(length <= STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX);
    uint8_t header[1 + STOA_MULTIVERSE9_LENGTH_BYTES];
    header[0] = (uint8_t)(opcode | STOA_MULTIVERSE9_FRAMED);
    put_u32_big_endian(header + 1, (uint32_t)length);
    int result = stoa_buf_reserve(buf, sizeof(header) + length);
    if (result == STOA_OK) {
        (void)stoa_buf_append(buf, header, sizeof(header));
        (void)stoa_buf_append(buf, payload, length);
    }
    return result;
}

void stoa_multiverse9_auth_message(const uint8_t challenge[STOA_MULTIVERSE9_CHALLENGE_BYTES],
                                   const uint8_t server_key[STOA_MULTIVERSE9_PUBLIC_KEY_BYTES],
                                   uint8_t message[STOA_MULTIVERSE9_AUTH_MESSAGE_BYTES]) {
    memcpy(message, STOA_MULTIVERSE9_AUTH_CONTEXT, STOA_MULTIVERSE9_AUTH_CONTEXT_BYTES);
    memcpy(message + STOA_MULTIVERSE9_AUTH_CONTEXT_BYTES, challenge,
           STOA_MULTIVERSE9_CHALLENGE_BYTES);
    memcpy(message + STOA_MULTIVERSE9_AUTH_CONTEXT_BYTES + STOA_MULTIVERSE9_CHALLENGE_BYTES,
           server_key, STOA_MULTIVERSE9_PUBLIC_KEY_BYTES);
}

/* ---- replies ---- */

void stoa_multiverse9_writer_init(struct stoa_multiverse9_writer *writer, struct stoa_buf *buf) {
    STOA_ASSERT(writer != NULL && buf != NULL);
    *writer = (struct stoa_multiverse9_writer){.buf = buf};
}

void stoa_multiverse9_reply_append(struct stoa_multiverse9_writer *writer, const void *data,
                                   size_t length) {
    STOA_ASSERT(writer->open);
    if (writer->error == STOA_OK && length > 0) {
        writer->error = stoa_buf_append(writer->buf, data, length);
    }
}

void stoa_multiverse9_reply_begin(struct stoa_multiverse9_writer *writer, bool framed,
                                  uint8_t status) {
    STOA_ASSERT(!writer->open);
    writer->open = true;
    writer->framed = framed;
    writer->start = writer->buf->length;
    uint8_t header[1 + STOA_MULTIVERSE9_LENGTH_BYTES] = {status, 0, 0, 0, 0};
    stoa_multiverse9_reply_append(writer, header, framed ? sizeof(header) : 1);
}

void stoa_multiverse9_reply_end(struct stoa_multiverse9_writer *writer) {
    STOA_ASSERT(writer->open);
    writer->open = false;
    if (writer->error != STOA_OK || !writer->framed) {
        return;
    }
    size_t payload_length = writer->buf->length - writer->start - 1 - STOA_MULTIVERSE9_LENGTH_BYTES;
    if (payload_length > UINT32_MAX) {
        writer->error = STOA_ERR_TOO_LARGE;
        return;
    }
    put_u32_big_endian(writer->buf->data + writer->start + 1, (uint32_t)payload_length);
}

void stoa_multiverse9_write_ok(struct stoa_multiverse9_writer *writer, bool framed,
                               const void *data, size_t length) {
    stoa_multiverse9_reply_begin(writer, framed, STOA_MULTIVERSE9_STATUS_OK);
    stoa_multiverse9_reply_append(writer, data, length);
    stoa_multiverse9_reply_end(writer);
}

void stoa_multiverse9_write_error(struct stoa_multiverse9_writer *writer, bool framed,
                                  uint8_t code, const char *text) {
    stoa_multiverse9_reply_begin(writer, framed, STOA_MULTIVERSE9_STATUS_ERROR);
    stoa_multiverse9_reply_append(writer, &code, 1);
    stoa_multiverse9_reply_append(writer, text, strlen(text));
    stoa_multiverse9_reply_end(writer);
}

/* ---- the engine's answer as entry text ---- */

static struct stoa_multiverse9_value_reply *value_of(struct stoa_reply *reply) {
    return reply->self;
}

static void value_put(struct stoa_multiverse9_value_reply *value, const void *data,
                      size_t length) {
    if (value->error == STOA_OK && length > 0) {
        value->error = stoa_buf_append(value->buf, data, length);
    }
}

static void value_status(struct stoa_reply *reply, const char *text) {
    value_put(value_of(reply), text, strlen(text));
}

static void value_error(struct stoa_reply *reply, int code, const char *text) {
    struct stoa_multiverse9_value_reply *value = value_of(reply);
    value->result = code < 0 ? code : STOA_ERR_INVALID;
    value_put(value, "Error: ", 7);
    value_put(value, text, strlen(text));
}

static void value_integer(struct stoa_reply *reply, int64_t number) {
    char text[24];
    int length = snprintf(text, sizeof(text), "%" PRId64, number);
    value_put(value_of(reply), text, (size_t)length);
}

static void value_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    value_put(value_of(reply), data, length);
}

static void value_null(struct stoa_reply *reply) {
    value_put(value_of(reply), STOA_MULTIVERSE9_UNKNOWN_KEY,
              sizeof(STOA_MULTIVERSE9_UNKNOWN_KEY) - 1);
}

/* Arrays do not answer one key; their elements are written one after another. */
static void value_array(struct stoa_reply *reply, size_t count) {
    (void)reply;
    (void)count;
}

static const struct stoa_reply_ops value_ops = {
    .status = value_status,
    .error = value_error,
    .integer = value_integer,
    .bulk = value_bulk,
    .null_bulk = value_null,
    .array = value_array,
    .null_array = value_null,
};

void stoa_multiverse9_value_reply_init(struct stoa_multiverse9_value_reply *value,
                                       struct stoa_buf *buf) {
    STOA_ASSERT(value != NULL && buf != NULL);
    *value = (struct stoa_multiverse9_value_reply){
        .reply = {.ops = &value_ops, .self = value}, .buf = buf};
}

int stoa_multiverse9_json_string(struct stoa_buf *buf, const char *text, size_t length) {
    static const char hex[] = "0123456789abcdef";
    int result = stoa_buf_append_byte(buf, '"');
    for (size_t i = 0; i < length && result == STOA_OK; i++) {
        uint8_t c = (uint8_t)text[i];
        if (c == '"' || c == '\\') {
            uint8_t escaped[2] = {'\\', c};
            result = stoa_buf_append(buf, escaped, 2);
        } else if (c < 0x20) {
            uint8_t escaped[6] = {'\\', 'u', '0', '0', (uint8_t)hex[c >> 4], (uint8_t)hex[c & 15]};
            result = stoa_buf_append(buf, escaped, 6);
        } else {
            result = stoa_buf_append_byte(buf, c);
        }
    }
    return result == STOA_OK ? stoa_buf_append_byte(buf, '"') : result;
}

/* ---- replies, the client side ---- */

int stoa_multiverse9_parse_reply(const uint8_t *data, size_t length, size_t payload_max,
                                 uint8_t *status, const uint8_t **payload, size_t *payload_length,
                                 size_t *consumed) {
    STOA_ASSERT(status != NULL && payload != NULL && payload_length != NULL && consumed != NULL);
    if (length < 1) {
        return STOA_ERR_AGAIN;
    }
    if (data[0] != STOA_MULTIVERSE9_STATUS_OK && data[0] != STOA_MULTIVERSE9_STATUS_ERROR) {
        return STOA_ERR_MALFORMED;
    }
    if (length < 1 + STOA_MULTIVERSE9_LENGTH_BYTES) {
        return STOA_ERR_AGAIN;
    }
    uint32_t size = get_u32_big_endian(data + 1);
    if (size > payload_max) {
        return STOA_ERR_TOO_LARGE;
    }
    if (length - 1 - STOA_MULTIVERSE9_LENGTH_BYTES < size) {
        return STOA_ERR_AGAIN;
    }
    *status = data[0];
    *payload = data + 1 + STOA_MULTIVERSE9_LENGTH_BYTES;
    *payload_length = size;
    *consumed = 1 + STOA_MULTIVERSE9_LENGTH_BYTES + (size_t)size;
    return STOA_OK;
}
