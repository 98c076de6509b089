#include "engine/command.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/varint.h"

size_t stoa_command_encoded_length(const struct stoa_command *command) {
    STOA_ASSERT(command != NULL && command->stamp_ms >= 0);
    size_t length = 1 + stoa_varint_length(command->opcode) +
                    stoa_varint_length(command->client_id) + stoa_varint_length(command->sequence) +
                    stoa_varint_length((uint64_t)command->stamp_ms) +
                    stoa_varint_length(command->argument_count);
    for (size_t i = 0; i < command->argument_count; i++) {
        length += stoa_varint_length(command->arguments[i].length) + command->arguments[i].length;
    }
    return length;
}

int stoa_command_encode(const struct stoa_command *command, uint8_t *out, size_t capacity,
                        size_t *length) {
    STOA_ASSERT(command != NULL && out != NULL && length != NULL);
    STOA_ASSERT(command->argument_count == 0 || command->arguments != NULL);
    if (command->argument_count > STOA_COMMAND_ARGUMENTS_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    size_t needed = stoa_command_encoded_length(command);
    if (needed > capacity || needed > STOA_COMMAND_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    size_t used = 0;
    out[used++] = STOA_COMMAND_FORMAT_VERSION;
    used += stoa_varint_put(out + used, command->opcode);
    used += stoa_varint_put(out + used, command->client_id);
    used += stoa_varint_put(out + used, command->sequence);
    used += stoa_varint_put(out + used, (uint64_t)command->stamp_ms);
    used += stoa_varint_put(out + used, command->argument_count);
    for (size_t i = 0; i < command->argument_count; i++) {
        const struct stoa_command_argument *argument = &command->arguments[i];
        used += stoa_varint_put(out + used, argument->length);
        if (argument->length > 0) {
            memcpy(out + used, argument->data, argument->length);
            used += argument->length;
        }
    }
    STOA_ASSERT(used == needed);
    *length = used;
    return STOA_OK;
}

/* A cursor over the record being decoded. */
struct reader {
    const uint8_t *data;
    size_t length;
    size_t offset;
};

static int read_varint(struct reader *reader, uint64_t *value) {
    size_t used = 0;
    int result = stoa_varint_get(reader->data + reader->offset, reader->length - reader->offset,
                                 value, &used);
    if (result != STOA_OK) {
        return STOA_ERR_MALFORMED; /* inside one record, running out is malformed too */
    }
    reader->offset += used;
    return STOA_OK;
}

static int read_header(struct reader *reader, struct stoa_command *header,
                       uint64_t *argument_count) {
    uint64_t opcode = 0;
    uint64_t stamp = 0;
    int result = read_varint(reader, &opcode);
    if (result == STOA_OK) {
        result = read_varint(reader, &header->client_id);
    }
    if (result == STOA_OK) {
        result = read_varint(reader, &header->sequence);
    }
    if (result == STOA_OK) {
        result = read_varint(reader, &stamp);
    }
    if (result == STOA_OK) {
        result = read_varint(reader, argument_count);
    }
    if (result != STOA_OK || opcode > UINT32_MAX || stamp > INT64_MAX) {
        return STOA_ERR_MALFORMED;
    }
    header->opcode = (uint32_t)opcode;
    header->stamp_ms = (int64_t)stamp;
    return STOA_OK;
}

static int read_arguments(struct reader *reader, uint64_t count,
                          struct stoa_command_argument *arguments) {
    for (uint64_t i = 0; i < count; i++) {
        uint64_t length = 0;
        if (read_varint(reader, &length) != STOA_OK) {
            return STOA_ERR_MALFORMED;
        }
        if (length > reader->length - reader->offset) {
            return STOA_ERR_MALFORMED;
        }
        arguments[i].data = reader->data + reader->offset;
        arguments[i].length = (size_t)length;
        reader->offset += (size_t)length;
    }
    return reader->offset == reader->length ? STOA_OK : STOA_ERR_MALFORMED;
}

int stoa_command_decode(const uint8_t *data, size_t length, struct stoa_command *command,
                        struct stoa_command_argument *arguments, size_t argument_capacity) {
    STOA_ASSERT(data != NULL || length == 0);
    STOA_ASSERT(command != NULL && (arguments != NULL || argument_capacity == 0));
    if (length == 0 || length > STOA_COMMAND_BYTES_MAX) {
        return STOA_ERR_MALFORMED;
    }
    if (data[0] != STOA_COMMAND_FORMAT_VERSION) {
        return STOA_ERR_UNSUPPORTED;
    }
    struct reader reader = {.data = data, .length = length, .offset = 1};
    struct stoa_command decoded = {0};
    uint64_t count = 0;
    int result = read_header(&reader, &decoded, &count);
    if (result != STOA_OK) {
        return result;
    }
    /* Each argument takes at least one byte, which bounds a lying count before the loop. */
    if (count > length - reader.offset || count > STOA_COMMAND_ARGUMENTS_MAX) {
        return STOA_ERR_MALFORMED;
    }
    if (count > argument_capacity) {
        return STOA_ERR_TOO_LARGE;
    }
    result = read_arguments(&reader, count, arguments);
    if (result != STOA_OK) {
        return result;
    }
    decoded.argument_count = (size_t)count;
    decoded.arguments = arguments;
    *command = decoded;
    return STOA_OK;
}

int stoa_command_decode_growing(const uint8_t *data, size_t length, struct stoa_command *command,
                                struct stoa_command_argument **arguments, size_t *capacity) {
    STOA_ASSERT(arguments != NULL && capacity != NULL);
    for (;;) {
        int result = stoa_command_decode(data, length, command, *arguments, *capacity);
        if (result != STOA_ERR_TOO_LARGE || *capacity >= STOA_COMMAND_ARGUMENTS_MAX) {
            return result;
        }
        size_t grown_capacity = *capacity < 32 ? 64 : *capacity * 2;
        if (grown_capacity > STOA_COMMAND_ARGUMENTS_MAX) {
            grown_capacity = STOA_COMMAND_ARGUMENTS_MAX;
        }
        struct stoa_command_argument *grown =
            stoa_realloc(*arguments, grown_capacity * sizeof(*grown));
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        *arguments = grown;
        *capacity = grown_capacity;
    }
}
