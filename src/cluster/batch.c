/* batch: the values of a replica group's NORMAL log entries (see batch.h). */
#include "cluster/batch.h"

#include "util/assert.h"
#include "util/bytes.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/varint.h"

size_t stoa_batch_command_length(const struct stoa_command *command) {
    size_t length = stoa_command_encoded_length(command);
    return stoa_varint_length(length) + length;
}

int stoa_batch_command_append(struct stoa_buf *body, const struct stoa_command *command) {
    size_t length = stoa_command_encoded_length(command);
    size_t length_bytes = stoa_varint_length(length);
    int result = stoa_buf_reserve(body, length_bytes + length);
    if (result != STOA_OK) {
        return result;
    }
    uint8_t *out = body->data + body->length;
    size_t written = 0;
    result = stoa_command_encode(command, out + stoa_varint_put(out, length), length, &written);
    if (result != STOA_OK) {
        return result; /* over the record's bounds: the length written is past body->length */
    }
    STOA_ASSERT(written == length);
    body->length += length_bytes + length;
    return STOA_OK;
}

int stoa_batch_encode(struct stoa_buf *out, const struct stoa_batch_header *header,
                      const uint8_t *body, size_t body_length) {
    if (header->count == 0 || header->count > STOA_ENGINE_BATCH_COMMANDS_MAX) {
        return STOA_ERR_INVALID;
    }
    uint8_t fixed[1 + 3 * STOA_VARINT_BYTES_MAX];
    fixed[0] = STOA_BATCH_COMMANDS;
    size_t fixed_length = 1;
    fixed_length += stoa_varint_put(fixed + fixed_length, header->proposer_id);
    fixed_length += stoa_varint_put(fixed + fixed_length, header->proposal_number);
    fixed_length += stoa_varint_put(fixed + fixed_length, header->count);
    int result = stoa_buf_reserve(out, fixed_length + body_length);
    if (result != STOA_OK) {
        return result;
    }
    (void)stoa_buf_append(out, fixed, fixed_length);
    (void)stoa_buf_append(out, body, body_length);
    return STOA_OK;
}

/* Reads one varint at *offset and moves past it; any failure (short or overlong) is
 * MALFORMED: a value is whole, so "need more bytes" cannot happen. */
static int take_varint(const uint8_t *value, size_t length, size_t *offset, uint64_t *out) {
    size_t used = 0;
    if (stoa_varint_get(value + *offset, length - *offset, out, &used) != STOA_OK) {
        return STOA_ERR_MALFORMED;
    }
    *offset += used;
    return STOA_OK;
}

/* Walks count records from offset: each length must fit in what is left, and the last must
 * end the value. */
static int check_records(const uint8_t *value, size_t length, size_t offset, uint64_t count) {
    for (uint64_t i = 0; i < count; i++) {
        uint64_t record_length = 0;
        if (take_varint(value, length, &offset, &record_length) != STOA_OK || record_length == 0 ||
            record_length > length - offset) {
            return STOA_ERR_MALFORMED;
        }
        offset += (size_t)record_length;
    }
    return offset == length ? STOA_OK : STOA_ERR_MALFORMED;
}

int stoa_batch_open(struct stoa_batch_reader *reader, const uint8_t *value, size_t length) {
    if (value == NULL || length == 0 || value[0] != STOA_BATCH_COMMANDS) {
        return STOA_ERR_MALFORMED;
    }
    size_t offset = 1;
    uint64_t proposer_id = 0;
    uint64_t proposal_number = 0;
    uint64_t count = 0;
    if (take_varint(value, length, &offset, &proposer_id) != STOA_OK ||
        take_varint(value, length, &offset, &proposal_number) != STOA_OK ||
        take_varint(value, length, &offset, &count) != STOA_OK) {
        return STOA_ERR_MALFORMED;
    }
    if (count == 0 || count > STOA_ENGINE_BATCH_COMMANDS_MAX ||
        check_records(value, length, offset, count) != STOA_OK) {
        return STOA_ERR_MALFORMED;
    }
    *reader = (struct stoa_batch_reader){
        .header = {.proposer_id = proposer_id,
                   .proposal_number = proposal_number,
                   .count = (uint32_t)count},
        .data = value,
        .length = length,
        .offset = offset,
    };
    return STOA_OK;
}

bool stoa_batch_next(struct stoa_batch_reader *reader, const uint8_t **record,
                     size_t *record_length, uint32_t *position) {
    if (reader->index >= reader->header.count) {
        return false;
    }
    uint64_t found = 0;
    int result = take_varint(reader->data, reader->length, &reader->offset, &found);
    /* stoa_batch_open checked every length. */
    STOA_ASSERT(result == STOA_OK && found <= reader->length - reader->offset);
    *record = reader->data + reader->offset;
    *record_length = (size_t)found;
    *position = reader->index++;
    reader->offset += (size_t)found;
    return true;
}

int stoa_batch_member_encode(struct stoa_buf *out, uint32_t id, const char *text,
                             size_t text_length) {
    if (id == 0 || text_length == 0 || text_length > STOA_BATCH_MEMBER_TEXT_MAX) {
        return STOA_ERR_INVALID;
    }
    uint8_t fixed[6];
    fixed[0] = STOA_BATCH_MEMBER;
    stoa_bytes_put_u32(fixed + 1, id);
    fixed[5] = (uint8_t)text_length;
    int result = stoa_buf_reserve(out, sizeof(fixed) + text_length);
    if (result != STOA_OK) {
        return result;
    }
    (void)stoa_buf_append(out, fixed, sizeof(fixed));
    (void)stoa_buf_append(out, text, text_length);
    return STOA_OK;
}

int stoa_batch_member_decode(const uint8_t *value, size_t length, uint32_t *id,
                             const uint8_t **text, size_t *text_length) {
    if (value == NULL || length < 7 || value[0] != STOA_BATCH_MEMBER ||
        (size_t)value[5] != length - 6) {
        return STOA_ERR_MALFORMED;
    }
    uint32_t found = stoa_bytes_get_u32(value + 1);
    if (found == 0) {
        return STOA_ERR_MALFORMED;
    }
    *id = found;
    *text = value + 6;
    *text_length = length - 6;
    return STOA_OK;
}
