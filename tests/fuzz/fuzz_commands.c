/* Fuzz target for the command core (src/proto/commands.h): find, check and translate.
 *
 * The input is one request: the first byte picks the front door (its low two bits: RESP,
 * Geomys, HTTP, all three), the rest is the words of argv separated by NUL bytes (so words
 * are binary-safe but for NUL). The request runs through find, check and translate as a front
 * door runs it, with a fixed clock and random number.
 * Checked: exactly one outcome (an error with kind ERROR and a NUL-terminated line of the
 * length given, starting with a Redis error prefix; or kind WRITE, READ, BLOCKING or SERVER);
 * a found spec belongs to the door asked; a write encodes as a log record and decodes back to
 * the same opcode and arguments; a blocking pop makes its serving write for each key. Any
 * crash, sanitizer report or leak is a finding. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/command.h"
#include "proto/commands.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WORDS_MAX 512
#define RECORD_BYTES_MAX (1 << 20)
#define NOW_MS 1700000000000LL
#define RANDOM 0x9e3779b97f4a7c15ULL

static struct stoa_command_argument words[WORDS_MAX];
static struct stoa_command_argument decoded[WORDS_MAX];
static uint8_t record[RECORD_BYTES_MAX];

static void check(bool condition) {
    if (!condition) {
        abort();
    }
}

static uint32_t door_of(uint8_t byte) {
    static const uint32_t doors[4] = {
        STOA_COMMANDS_DOOR_RESP,
        STOA_COMMANDS_DOOR_GEOMYS,
        STOA_COMMANDS_DOOR_HTTP,
        STOA_COMMANDS_DOOR_RESP | STOA_COMMANDS_DOOR_GEOMYS | STOA_COMMANDS_DOOR_HTTP,
    };
    return doors[byte & 3u];
}

static size_t split(const uint8_t *data, size_t size) {
    size_t count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && count < WORDS_MAX; i++) {
        if (i == size || data[i] == 0) {
            words[count].data = data + start;
            words[count].length = i - start;
            count++;
            start = i + 1;
        }
    }
    return count;
}

static void check_error(const struct stoa_commands_output *out, int result) {
    check(result < 0);
    check(out->kind == STOA_COMMANDS_KIND_ERROR);
    check(out->error_code == result);
    check(out->error_length > 0 && out->error_length < sizeof(out->error));
    check(strlen(out->error) == out->error_length);
    check(strchr(out->error, '\r') == NULL && strchr(out->error, '\n') == NULL);
}

/* A write must survive the log codec unchanged. */
static void check_write(const struct stoa_commands_output *out) {
    struct stoa_command command = {
        .opcode = out->opcode,
        .client_id = out->client_id != 0 ? out->client_id : 1, /* SESSION WRITE's, else any */
        .sequence = out->client_id != 0 ? out->sequence : 1,
        .stamp_ms = NOW_MS,
        .argument_count = out->argument_count,
        .arguments = out->arguments,
    };
    size_t length = 0;
    if (stoa_command_encode(&command, record, sizeof(record), &length) != STOA_OK) {
        return; /* too large for one record: the engine refuses it the same way */
    }
    struct stoa_command back;
    check(stoa_command_decode(record, length, &back, decoded, WORDS_MAX) == STOA_OK);
    check(back.opcode == out->opcode && back.argument_count == out->argument_count);
    check(back.client_id == command.client_id && back.sequence == command.sequence);
    check((out->client_id == 0) == (out->sequence == 0));
    for (size_t i = 0; i < back.argument_count; i++) {
        check(back.arguments[i].length == out->arguments[i].length);
        check(back.arguments[i].length == 0 ||
              memcmp(back.arguments[i].data, out->arguments[i].data, back.arguments[i].length) ==
                  0);
    }
}

static void check_blocking(const struct stoa_commands_output *out) {
    check(out->key_count >= 1 && out->key_count <= out->argument_count);
    struct stoa_commands_output write;
    stoa_commands_output_init(&write);
    for (size_t i = 0; i < out->key_count; i++) {
        check(stoa_commands_blocking_write(out, i, &write) == STOA_OK);
        check(write.argument_count >= 2);
        check_write(&write);
    }
    stoa_commands_output_free(&write);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) {
        return 0;
    }
    uint32_t door = door_of(data[0]);
    size_t argc = split(data + 1, size - 1);
    struct stoa_commands_output out;
    stoa_commands_output_init(&out);
    const struct stoa_commands_spec *spec = NULL;
    int result = stoa_commands_find(words, argc, door, &out, &spec);
    if (result != STOA_OK) {
        check(spec == NULL);
        check_error(&out, result);
    } else {
        check(spec != NULL && (spec->doors & door) != 0);
        result = stoa_commands_check(spec, argc, &out);
        if (result == STOA_OK) {
            result = stoa_commands_translate(spec, words, argc, NOW_MS, RANDOM, &out);
        }
        if (result != STOA_OK) {
            check_error(&out, result);
        } else if (out.kind == STOA_COMMANDS_KIND_WRITE) {
            check_write(&out);
        } else if (out.kind == STOA_COMMANDS_KIND_BLOCKING) {
            check_blocking(&out);
        } else {
            check(out.kind == STOA_COMMANDS_KIND_READ || out.kind == STOA_COMMANDS_KIND_SERVER);
        }
    }
    stoa_commands_output_free(&out);
    return 0;
}
