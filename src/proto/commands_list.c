/* Deques (Redis lists): pushes, pops, index and range commands, LPOS, LMOVE, and the
 * blocking BLPOP, BRPOP and BLMOVE, whose timeouts are parsed as Redis parses them. */
#include <math.h>

#include "engine/apply.h"
#include "proto/commands_int.h"
#include "util/assert.h"
#include "util/err.h"

/* LPUSH, RPUSH, LPUSHX, RPUSHX and Geomys's PUSH (an RPUSH). */
int commands_push_values(struct commands_call *call) {
    enum stoa_commands_id id = call->spec->id;
    uint8_t flags = 0;
    if (id == STOA_COMMANDS_RPUSH || id == STOA_COMMANDS_RPUSHX || id == STOA_COMMANDS_PUSH) {
        flags |= STOA_OP_PUSH_BACK;
    }
    if (id == STOA_COMMANDS_LPUSHX || id == STOA_COMMANDS_RPUSHX) {
        flags |= STOA_OP_PUSH_EXISTING;
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_PUSH);
    commands_push_argv(call, 1);
    commands_push_flags(call, flags);
    for (size_t i = 2; i < call->argc; i++) {
        commands_push_argv(call, i);
    }
    return STOA_OK;
}

/* LPOP and RPOP key [count]: a count is 0 or more (an array reply), else one element. */
int commands_pop(struct commands_call *call) {
    if (call->argc > 3) {
        return commands_failf(call, STOA_ERR_INVALID,
                              "ERR wrong number of arguments for '%s' command", call->spec->name);
    }
    uint8_t flags = call->spec->id == STOA_COMMANDS_RPOP ? STOA_OP_POP_BACK : 0;
    int64_t count = 1;
    if (call->argc == 3) {
        int result = commands_int64(call, 2, COMMANDS_TEXT_POSITIVE, &count);
        if (result != STOA_OK) {
            return result;
        }
        if (count < 0) {
            return commands_fail(call, STOA_ERR_RANGE, COMMANDS_TEXT_POSITIVE);
        }
        flags |= STOA_OP_POP_COUNT;
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_POP);
    commands_push_argv(call, 1);
    commands_push_flags(call, flags);
    commands_push_int64(call, count);
    return STOA_OK;
}

int commands_lindex(struct commands_call *call) {
    int64_t index = 0;
    int result = commands_int64(call, 2, NULL, &index);
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_READ, STOA_OP_LINDEX);
    commands_push_argv(call, 1);
    commands_push_int64(call, index);
    return STOA_OK;
}

int commands_lset(struct commands_call *call) {
    int64_t index = 0;
    int result = commands_int64(call, 2, NULL, &index);
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_LSET);
    commands_push_argv(call, 1);
    commands_push_int64(call, index);
    commands_push_argv(call, 3);
    return STOA_OK;
}

int commands_linsert(struct commands_call *call) {
    uint8_t flags = 0;
    if (commands_word_is(&call->argv[2], "after")) {
        flags = STOA_OP_LINSERT_AFTER;
    } else if (!commands_word_is(&call->argv[2], "before")) {
        return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_LINSERT);
    commands_push_argv(call, 1);
    commands_push_flags(call, flags);
    commands_push_argv(call, 3);
    commands_push_argv(call, 4);
    return STOA_OK;
}

int commands_lrem(struct commands_call *call) {
    int64_t count = 0;
    int result = commands_int64(call, 2, NULL, &count);
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_LREM);
    commands_push_argv(call, 1);
    commands_push_int64(call, count);
    commands_push_argv(call, 3);
    return STOA_OK;
}

int commands_ltrim(struct commands_call *call) {
    int64_t start = 0;
    int64_t stop = 0;
    int result = commands_int64(call, 2, NULL, &start);
    if (result == STOA_OK) {
        result = commands_int64(call, 3, NULL, &stop);
    }
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_LTRIM);
    commands_push_argv(call, 1);
    commands_push_int64(call, start);
    commands_push_int64(call, stop);
    return STOA_OK;
}

/* LEFT or RIGHT at argv[index] (Redis's getListPositionFromObjectOrReply). */
static int side_parse(struct commands_call *call, size_t index, bool *right) {
    if (commands_word_is(&call->argv[index], "right")) {
        *right = true;
        return STOA_OK;
    }
    if (commands_word_is(&call->argv[index], "left")) {
        *right = false;
        return STOA_OK;
    }
    return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
}

/* The LMOVE flags from the sides at argv[3] and argv[4]. */
static int lmove_flags(struct commands_call *call, uint8_t *flags) {
    bool from_right = false;
    bool to_right = false;
    int result = side_parse(call, 3, &from_right);
    if (result == STOA_OK) {
        result = side_parse(call, 4, &to_right);
    }
    if (result != STOA_OK) {
        return result;
    }
    *flags = (uint8_t)((from_right ? STOA_OP_LMOVE_FROM_BACK : 0) |
                       (to_right ? STOA_OP_LMOVE_TO_BACK : 0));
    return STOA_OK;
}

int commands_lmove(struct commands_call *call) {
    uint8_t flags = 0;
    int result = lmove_flags(call, &flags);
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_LMOVE);
    commands_push_argv(call, 1);
    commands_push_argv(call, 2);
    commands_push_flags(call, flags);
    return STOA_OK;
}

struct lpos_options {
    int64_t rank;
    int64_t count;
    int64_t maxlen;
    uint8_t flags;
};

/* One LPOS option and its value at argv[j + 1]. */
static int lpos_option(struct commands_call *call, size_t j, struct lpos_options *options) {
    const struct stoa_command_argument *option = &call->argv[j];
    int result = STOA_OK;
    if (commands_word_is(option, "rank")) {
        result = commands_int64(call, j + 1, NULL, &options->rank);
        if (result == STOA_OK && options->rank == 0) {
            result = commands_fail(call, STOA_ERR_RANGE,
                                   "ERR RANK can't be zero: use 1 to start from the first "
                                   "match, 2 from the second ... or use negative to start from "
                                   "the end of the list");
        }
    } else if (commands_word_is(option, "count")) {
        const char *text = "ERR COUNT can't be negative";
        result = commands_int64(call, j + 1, text, &options->count);
        if (result == STOA_OK && options->count < 0) {
            result = commands_fail(call, STOA_ERR_RANGE, text);
        }
        options->flags |= STOA_OP_LPOS_COUNT;
    } else if (commands_word_is(option, "maxlen")) {
        const char *text = "ERR MAXLEN can't be negative";
        result = commands_int64(call, j + 1, text, &options->maxlen);
        if (result == STOA_OK && options->maxlen < 0) {
            result = commands_fail(call, STOA_ERR_RANGE, text);
        }
    } else {
        result = commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
    }
    return result;
}

int commands_lpos(struct commands_call *call) {
    struct lpos_options options = {.rank = 1};
    for (size_t j = 3; j < call->argc; j += 2) {
        int result = j + 1 < call->argc
                         ? lpos_option(call, j, &options)
                         : commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
        if (result != STOA_OK) {
            return result;
        }
    }
    commands_begin(call, STOA_COMMANDS_KIND_READ, STOA_OP_LPOS);
    commands_push_argv(call, 1);
    commands_push_argv(call, 2);
    commands_push_int64(call, options.rank);
    commands_push_int64(call, options.count);
    commands_push_int64(call, options.maxlen);
    commands_push_flags(call, options.flags);
    return STOA_OK;
}

/* ---- blocking pops ---- */

/* A timeout in seconds at argv[index], as Redis's getTimeoutFromObjectOrReply reads it: a
 * long double, times 1000, rounded up to whole ms; 0 waits forever. Also sets the deadline. */
static int timeout_parse(struct commands_call *call, size_t index) {
    long double seconds = 0;
    const struct stoa_command_argument *text = &call->argv[index];
    if (stoa_commands_parse_long_double(text->data, text->length, &seconds) != STOA_OK) {
        return commands_fail(call, STOA_ERR_INVALID, "ERR timeout is not a float or out of range");
    }
    long double ms = ceill(seconds * 1000.0L);
    /* 2^63 ms is past the range of int64 (Redis 7.2 refuses it; 7.0 overflowed). */
    if (ms >= 0x1p63L) {
        return commands_fail(call, STOA_ERR_RANGE, "ERR timeout is out of range");
    }
    if (ms < 0) {
        return commands_fail(call, STOA_ERR_RANGE, "ERR timeout is negative");
    }
    int64_t timeout_ms = (int64_t)ms;
    if (timeout_ms > INT64_MAX - call->now_ms) {
        return commands_fail(call, STOA_ERR_RANGE, "ERR timeout is out of range");
    }
    call->output->timeout_ms = timeout_ms;
    call->output->deadline_ms = timeout_ms > 0 ? call->now_ms + timeout_ms : 0;
    return STOA_OK;
}

/* BLPOP and BRPOP key [key ...] timeout. */
int commands_blocking_pop(struct commands_call *call) {
    int result = timeout_parse(call, call->argc - 1);
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_BLOCKING, STOA_OP_POP);
    for (size_t i = 1; i + 1 < call->argc; i++) {
        commands_push_argv(call, i);
    }
    call->output->key_count = call->argc - 2;
    call->output->flags = call->spec->id == STOA_COMMANDS_BRPOP ? STOA_OP_POP_BACK : 0;
    return STOA_OK;
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout: the sides first, as Redis. */
int commands_blmove(struct commands_call *call) {
    uint8_t flags = 0;
    int result = lmove_flags(call, &flags);
    if (result == STOA_OK) {
        result = timeout_parse(call, 5);
    }
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_BLOCKING, STOA_OP_LMOVE);
    commands_push_argv(call, 1);
    commands_push_argv(call, 2);
    call->output->key_count = 1;
    call->output->flags = flags;
    return STOA_OK;
}
