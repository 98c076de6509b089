/* Readable descriptions of a group member's log entries, for GROUP LOG (replica.h,
 * stoa_replica_entry_describe). The values are decoded with the same codecs the replica
 * applies them with (cluster/batch.h, engine/command.h), but only read: a value that does not
 * decode is described as malformed, never asserted on. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster/batch.h"
#include "engine/apply.h"
#include "engine/command.h"
#include "server/replica.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

/* Text being written: never past capacity - 1, always terminated. */
struct text {
    char *data;
    size_t capacity;
    size_t length;
};

static void text_printf(struct text *text, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void text_printf(struct text *text, const char *format, ...) {
    size_t room = text->capacity - text->length;
    va_list arguments;
    va_start(arguments, format);
    int written = vsnprintf(text->data + text->length, room, format, arguments);
    va_end(arguments);
    if (written < 0) {
        return;
    }
    /* A cut write fills what room there was (snprintf terminates it). */
    text->length += (size_t)written < room ? (size_t)written : room - 1;
}

/* Bytes as text: printable ASCII as is, the rest (and the backslash) as \xHH; at most limit
 * bytes of them, then "..." if there were more. */
static void text_bytes(struct text *text, const uint8_t *bytes, size_t length, size_t limit) {
    size_t shown = length < limit ? length : limit;
    for (size_t i = 0; i < shown; i++) {
        if (bytes[i] >= 0x20 && bytes[i] < 0x7f && bytes[i] != '\\') {
            text_printf(text, "%c", bytes[i]);
        } else {
            text_printf(text, "\\x%02x", bytes[i]);
        }
    }
    if (shown < length) {
        text_printf(text, "...");
    }
}

/* The write opcodes' names (engine/apply.h's table); NULL for a number it does not have. */
static const char *opcode_name(uint32_t opcode) {
    static const char *const names[STOA_OP_WRITE_COUNT] = {
        [STOA_OP_NOOP] = "NOOP",
        [STOA_OP_REGISTER_CLIENT] = "REGISTER_CLIENT",
        [STOA_OP_SET] = "SET",
        [STOA_OP_GETDEL] = "GETDEL",
        [STOA_OP_GETEX] = "GETEX",
        [STOA_OP_MSET] = "MSET",
        [STOA_OP_MSETNX] = "MSETNX",
        [STOA_OP_APPEND] = "APPEND",
        [STOA_OP_SETRANGE] = "SETRANGE",
        [STOA_OP_DEL] = "DEL",
        [STOA_OP_RENAME] = "RENAME",
        [STOA_OP_RENAMENX] = "RENAMENX",
        [STOA_OP_PEXPIREAT] = "PEXPIREAT",
        [STOA_OP_PERSIST] = "PERSIST",
        [STOA_OP_INCRBY] = "INCRBY",
        [STOA_OP_INCRBYFLOAT] = "INCRBYFLOAT",
        [STOA_OP_PUSH] = "PUSH",
        [STOA_OP_POP] = "POP",
        [STOA_OP_LSET] = "LSET",
        [STOA_OP_LINSERT] = "LINSERT",
        [STOA_OP_LREM] = "LREM",
        [STOA_OP_LTRIM] = "LTRIM",
        [STOA_OP_LMOVE] = "LMOVE",
        [STOA_OP_FLUSHALL] = "FLUSHALL",
        [STOA_OP_OBJECT_PUT] = "OBJECT_PUT",
        [STOA_OP_OBJECT_UPDATE] = "OBJECT_UPDATE",
        [STOA_OP_OBJECT_DELETE] = "OBJECT_DELETE",
    };
    return opcode < STOA_OP_WRITE_COUNT ? names[opcode] : NULL;
}

/* How many keys a command names (its first argument is the first of them): none for the
 * commands without keys, every argument for DEL, every other one for MSET and MSETNX. */
static size_t key_count(const struct stoa_command *command) {
    switch (command->opcode) {
    case STOA_OP_NOOP:
    case STOA_OP_REGISTER_CLIENT:
    case STOA_OP_FLUSHALL:
        return 0;
    case STOA_OP_DEL:
        return command->argument_count;
    case STOA_OP_MSET:
    case STOA_OP_MSETNX:
        return command->argument_count / 2;
    default:
        return command->argument_count > 0 ? 1 : 0;
    }
}

static void describe_command(struct text *text, const struct stoa_command *command) {
    const char *name = opcode_name(command->opcode);
    if (name != NULL) {
        text_printf(text, "%s", name);
    } else {
        text_printf(text, "op %" PRIu32, command->opcode);
    }
    size_t keys = key_count(command);
    if (keys == 0) {
        return;
    }
    text_printf(text, " ");
    text_bytes(text, command->arguments[0].data, command->arguments[0].length,
               STOA_GROUP_LOG_KEY_BYTES_MAX);
    if (keys > 1) {
        text_printf(text, " (+%zu key%s)", keys - 1, keys == 2 ? "" : "s");
    }
}

/* Decodes one record and describes it; a command with more arguments than the stack array
 * holds is decoded again into a heap array (its count is bounded by the record's bytes). */
static void describe_record(struct text *text, const uint8_t *record, size_t length) {
    struct stoa_command_argument inline_arguments[STOA_GROUP_LOG_ARGUMENTS_INLINE];
    struct stoa_command command;
    int result = stoa_command_decode(record, length, &command, inline_arguments,
                                     STOA_GROUP_LOG_ARGUMENTS_INLINE);
    if (result == STOA_ERR_TOO_LARGE) {
        size_t capacity = length < STOA_COMMAND_ARGUMENTS_MAX ? length : STOA_COMMAND_ARGUMENTS_MAX;
        struct stoa_command_argument *arguments = stoa_alloc(capacity * sizeof(*arguments));
        if (arguments == NULL) {
            text_printf(text, "(a command: out of memory to describe it)");
            return;
        }
        result = stoa_command_decode(record, length, &command, arguments, capacity);
        if (result == STOA_OK) {
            describe_command(text, &command);
        }
        stoa_free(arguments);
    } else if (result == STOA_OK) {
        describe_command(text, &command);
    }
    if (result != STOA_OK) {
        text_printf(text, "(malformed command, %zu bytes)", length);
    }
}

static void describe_commands(struct text *text, const uint8_t *value, size_t length) {
    struct stoa_batch_reader reader;
    if (stoa_batch_open(&reader, value, length) != STOA_OK) {
        text_printf(text, "malformed batch (%zu bytes)", length);
        return;
    }
    text_printf(text, "%" PRIu32 " command%s from proposer %" PRIu64 ":", reader.header.count,
                reader.header.count == 1 ? "" : "s", reader.header.proposer_id);
    const uint8_t *record = NULL;
    size_t record_length = 0;
    uint32_t position = 0;
    while (stoa_batch_next(&reader, &record, &record_length, &position)) {
        if (position == STOA_GROUP_LOG_COMMANDS_NAMED_MAX) {
            text_printf(text, ", ...");
            break;
        }
        text_printf(text, "%s", position == 0 ? " " : ", ");
        describe_record(text, record, record_length);
    }
}

static void describe_member(struct text *text, const uint8_t *value, size_t length) {
    uint32_t id = 0;
    const uint8_t *address = NULL;
    size_t address_length = 0;
    if (stoa_batch_member_decode(value, length, &id, &address, &address_length) != STOA_OK) {
        text_printf(text, "malformed member address (%zu bytes)", length);
        return;
    }
    text_printf(text, "address of member %" PRIu32 ": ", id);
    text_bytes(text, address, address_length, STOA_GROUP_LOG_KEY_BYTES_MAX * 2);
}

static void describe_config(struct text *text, const uint8_t *value, size_t length) {
    enum stoa_paxos_config_op op = STOA_PAXOS_CONFIG_ADD;
    uint32_t id = 0;
    if (length > UINT32_MAX ||
        stoa_paxos_config_change_decode(value, (uint32_t)length, &op, &id) != STOA_OK) {
        text_printf(text, "malformed config change (%zu bytes)", length);
        return;
    }
    text_printf(text, "%s member %" PRIu32, op == STOA_PAXOS_CONFIG_ADD ? "add" : "remove", id);
}

size_t stoa_replica_entry_describe(const struct stoa_paxos_entry *entry, char *data,
                                   size_t capacity) {
    STOA_ASSERT(entry != NULL && data != NULL && capacity >= 1);
    struct text text = {.data = data, .capacity = capacity, .length = 0};
    data[0] = '\0';
    const uint8_t *value = entry->value;
    size_t length = value != NULL ? entry->length : 0;
    if (entry->kind == STOA_PAXOS_KIND_NOOP) {
        text_printf(&text, "no-op");
    } else if (entry->kind == STOA_PAXOS_KIND_CONFIG) {
        describe_config(&text, value, length);
    } else if (entry->kind != STOA_PAXOS_KIND_NORMAL) {
        text_printf(&text, "unknown kind %u (%zu bytes)", entry->kind, length);
    } else if (length == 0) {
        text_printf(&text, "empty value");
    } else if (value[0] == STOA_BATCH_MEMBER) {
        describe_member(&text, value, length);
    } else {
        describe_commands(&text, value, length);
    }
    return text.length;
}
