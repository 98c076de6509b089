/* Number parsing exactly as Redis parses, and the helpers that fill an output. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/apply.h"
#include "proto/commands_int.h"
#include "util/assert.h"
#include "util/number.h"
#include "util/err.h"

int stoa_commands_parse_int64(const uint8_t *text, size_t length, int64_t *value) {
    STOA_ASSERT(value != NULL && (text != NULL || length == 0));
    return stoa_number_parse_int64(text, length, value) ? STOA_OK : STOA_ERR_INVALID;
}

static bool is_space(uint8_t c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int stoa_commands_parse_long_double(const uint8_t *text, size_t length, long double *value) {
    STOA_ASSERT(value != NULL && (text != NULL || length == 0));
    char buffer[STOA_COMMANDS_FLOAT_TEXT_BYTES_MAX];
    if (length == 0 || length >= sizeof(buffer) || is_space(text[0])) {
        return STOA_ERR_INVALID;
    }
    /* Copied so strtold sees a terminated string; like Redis, an embedded NUL ends it. */
    memcpy(buffer, text, length);
    buffer[length] = '\0';
    char *end = NULL;
    errno = 0;
    long double parsed = strtold(buffer, &end);
    if (end == NULL || *end != '\0' || isnan(parsed)) {
        return STOA_ERR_INVALID;
    }
    if (errno == ERANGE && (parsed == HUGE_VALL || parsed == -HUGE_VALL || parsed == 0.0L)) {
        return STOA_ERR_INVALID;
    }
    *value = parsed;
    return STOA_OK;
}

int commands_quote_length(const struct stoa_command_argument *argument, size_t max) {
    size_t length = argument->length < max ? argument->length : max;
    const uint8_t *nul = length > 0 ? memchr(argument->data, '\0', length) : NULL;
    if (nul != NULL) {
        length = (size_t)(nul - argument->data);
    }
    STOA_ASSERT(length <= INT32_MAX);
    return (int)length;
}

const char *commands_quote_text(const struct stoa_command_argument *argument) {
    return argument->data != NULL ? (const char *)argument->data : "";
}

bool commands_word_is(const struct stoa_command_argument *argument, const char *word) {
    size_t length = strlen(word);
    if (argument->length != length) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        uint8_t c = argument->data[i];
        c = c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
        if (c != (uint8_t)word[i]) {
            return false;
        }
    }
    return true;
}

int commands_int64(struct commands_call *call, size_t index, const char *text, int64_t *value) {
    STOA_ASSERT(index < call->argc);
    const struct stoa_command_argument *argument = &call->argv[index];
    if (stoa_commands_parse_int64(argument->data, argument->length, value) != STOA_OK) {
        return commands_fail(call, STOA_ERR_INVALID,
                             text != NULL ? text : COMMANDS_TEXT_NOT_INTEGER);
    }
    return STOA_OK;
}

void commands_begin(struct commands_call *call, enum stoa_commands_kind kind, uint32_t opcode) {
    call->output->kind = kind;
    call->output->opcode = opcode;
    call->output->argument_count = 0;
}

void commands_push(struct commands_call *call, const uint8_t *data, size_t length) {
    struct stoa_commands_output *output = call->output;
    STOA_ASSERT(output->argument_count < output->argument_capacity);
    output->arguments[output->argument_count].data = data;
    output->arguments[output->argument_count].length = length;
    output->argument_count++;
}

void commands_push_argv(struct commands_call *call, size_t index) {
    STOA_ASSERT(index < call->argc);
    commands_push(call, call->argv[index].data, call->argv[index].length);
}

void commands_push_int64(struct commands_call *call, int64_t value) {
    struct stoa_commands_output *output = call->output;
    STOA_ASSERT(output->scratch_used + 8 <= sizeof(output->scratch));
    uint8_t *at = output->scratch + output->scratch_used;
    stoa_op_int64_put(at, value);
    output->scratch_used += 8;
    commands_push(call, at, 8);
}

void commands_push_flags(struct commands_call *call, uint8_t flags) {
    struct stoa_commands_output *output = call->output;
    STOA_ASSERT(output->scratch_used + 1 <= sizeof(output->scratch));
    uint8_t *at = output->scratch + output->scratch_used;
    *at = flags;
    output->scratch_used += 1;
    commands_push(call, at, 1);
}

void commands_push_double(struct commands_call *call, double value) {
    struct stoa_commands_output *output = call->output;
    STOA_ASSERT(output->scratch_used + 8 <= sizeof(output->scratch));
    uint8_t *at = output->scratch + output->scratch_used;
    stoa_op_double_put(at, value);
    output->scratch_used += 8;
    commands_push(call, at, 8);
}

int commands_output_fail(struct stoa_commands_output *output, int code, const char *text) {
    STOA_ASSERT(code < 0 && text != NULL);
    size_t length = strlen(text);
    if (length >= sizeof(output->error)) {
        length = sizeof(output->error) - 1;
    }
    /* Redis maps CR and LF to spaces: the line may echo client bytes. */
    for (size_t i = 0; i < length; i++) {
        output->error[i] = text[i] == '\r' || text[i] == '\n' ? ' ' : text[i];
    }
    output->error[length] = '\0';
    output->error_length = length;
    output->error_code = code;
    output->kind = STOA_COMMANDS_KIND_ERROR;
    output->argument_count = 0;
    return code;
}

int commands_fail(struct commands_call *call, int code, const char *text) {
    return commands_output_fail(call->output, code, text);
}

int commands_failf(struct commands_call *call, int code, const char *format, ...) {
    char text[STOA_COMMANDS_ERROR_BYTES_MAX];
    va_list arguments;
    va_start(arguments, format);
    int n = vsnprintf(text, sizeof(text), format, arguments);
    va_end(arguments);
    STOA_ASSERT(n >= 0);
    return commands_fail(call, code, text);
}
