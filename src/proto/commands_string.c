/* Strings and counters: SET and its family, GETEX, MSET, APPEND, SETRANGE, INCR and its
 * family, INCRBYFLOAT. The options are parsed as Redis 7's parseExtendedStringArguments. */
#include <float.h>
#include <math.h>

#include "engine/apply.h"
#include "proto/commands_int.h"
#include "util/assert.h"
#include "util/err.h"

/* The options of SET and GETEX, as Redis names them. */
enum {
    OPTION_NX = 1u << 0,
    OPTION_XX = 1u << 1,
    OPTION_GET = 1u << 2,
    OPTION_KEEPTTL = 1u << 3,
    OPTION_PERSIST = 1u << 4,
    OPTION_EX = 1u << 5,
    OPTION_PX = 1u << 6,
    OPTION_EXAT = 1u << 7,
    OPTION_PXAT = 1u << 8,
};

#define OPTION_EXPIRES (OPTION_EX | OPTION_PX | OPTION_EXAT | OPTION_PXAT)

struct string_options {
    unsigned flags;
    size_t expire_index; /* the argument holding the time; 0: none */
};

/* The expiry option argument names, or 0. */
static unsigned expire_option(const struct stoa_command_argument *argument) {
    if (commands_word_is(argument, "ex")) {
        return OPTION_EX;
    }
    if (commands_word_is(argument, "px")) {
        return OPTION_PX;
    }
    if (commands_word_is(argument, "exat")) {
        return OPTION_EXAT;
    }
    if (commands_word_is(argument, "pxat")) {
        return OPTION_PXAT;
    }
    return 0;
}

/* The option at argument, if allowed after the options in flags (Redis's rules: NX and XX
 * exclude each other; KEEPTTL, PERSIST and the four expiries exclude each other, but one
 * expiry may repeat). Returns the option's bit, or 0 for a syntax error. */
static unsigned string_option(const struct stoa_command_argument *argument, unsigned flags,
                              bool set, bool has_next) {
    if (set && commands_word_is(argument, "nx")) {
        return (flags & OPTION_XX) == 0 ? OPTION_NX : 0;
    }
    if (set && commands_word_is(argument, "xx")) {
        return (flags & OPTION_NX) == 0 ? OPTION_XX : 0;
    }
    if (set && commands_word_is(argument, "get")) {
        return OPTION_GET;
    }
    if (set && commands_word_is(argument, "keepttl")) {
        return (flags & (OPTION_PERSIST | OPTION_EXPIRES)) == 0 ? OPTION_KEEPTTL : 0;
    }
    if (!set && commands_word_is(argument, "persist")) {
        return (flags & (OPTION_KEEPTTL | OPTION_EXPIRES)) == 0 ? OPTION_PERSIST : 0;
    }
    unsigned expire = expire_option(argument);
    unsigned excluded = (OPTION_KEEPTTL | OPTION_PERSIST | OPTION_EXPIRES) & ~expire;
    if (expire != 0 && (flags & excluded) == 0 && has_next) {
        return expire;
    }
    return 0;
}

static int string_options_parse(struct commands_call *call, bool set,
                                struct string_options *options) {
    options->flags = 0;
    options->expire_index = 0;
    for (size_t j = set ? 3 : 2; j < call->argc; j++) {
        unsigned option = string_option(&call->argv[j], options->flags, set, j + 1 < call->argc);
        if (option == 0) {
            return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
        }
        options->flags |= option;
        if ((option & OPTION_EXPIRES) != 0) {
            options->expire_index = ++j;
        }
    }
    return STOA_OK;
}

static int invalid_expire(struct commands_call *call) {
    return commands_failf(call, STOA_ERR_INVALID, "ERR invalid expire time in '%s' command",
                          call->spec->name);
}

/* The absolute unix ms of the time at argv[index] given with option (Redis's
 * getExpireMillisecondsOrReply: positive, no overflow in the unit or in adding now). */
static int expire_at(struct commands_call *call, unsigned option, size_t index, int64_t *at_ms) {
    int64_t value = 0;
    int result = commands_int64(call, index, NULL, &value);
    if (result != STOA_OK) {
        return result;
    }
    bool seconds = (option & (OPTION_EX | OPTION_EXAT)) != 0;
    if (value <= 0 || (seconds && value > INT64_MAX / 1000)) {
        return invalid_expire(call);
    }
    value = seconds ? value * 1000 : value;
    if ((option & (OPTION_EX | OPTION_PX)) != 0) {
        if (value > INT64_MAX - call->now_ms) {
            return invalid_expire(call);
        }
        value += call->now_ms;
    }
    *at_ms = value;
    return STOA_OK;
}

/* SET key value, flags, expire_at: the engine's SET. */
static int set_write(struct commands_call *call, size_t value_index, uint8_t flags, int64_t at_ms) {
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_SET);
    commands_push_argv(call, 1);
    commands_push_argv(call, value_index);
    commands_push_flags(call, flags);
    commands_push_int64(call, at_ms);
    return STOA_OK;
}

int commands_set(struct commands_call *call) {
    struct string_options options;
    int result = string_options_parse(call, true, &options);
    int64_t at_ms = 0;
    if (result == STOA_OK && options.expire_index != 0) {
        result = expire_at(call, options.flags & OPTION_EXPIRES, options.expire_index, &at_ms);
    }
    if (result != STOA_OK) {
        return result;
    }
    uint8_t flags = 0;
    flags |= (options.flags & OPTION_NX) != 0 ? STOA_OP_SET_NX : 0;
    flags |= (options.flags & OPTION_XX) != 0 ? STOA_OP_SET_XX : 0;
    flags |= (options.flags & OPTION_KEEPTTL) != 0 ? STOA_OP_SET_KEEPTTL : 0;
    flags |= (options.flags & OPTION_GET) != 0 ? STOA_OP_SET_GET : 0;
    return set_write(call, 2, flags, at_ms);
}

int commands_setnx(struct commands_call *call) {
    return set_write(call, 2, STOA_OP_SET_NX | STOA_OP_SET_INTEGER, 0);
}

/* SETEX key seconds value, PSETEX key milliseconds value. */
int commands_setex(struct commands_call *call) {
    unsigned option = call->spec->id == STOA_COMMANDS_SETEX ? OPTION_EX : OPTION_PX;
    int64_t at_ms = 0;
    int result = expire_at(call, option, 2, &at_ms);
    if (result != STOA_OK) {
        return result;
    }
    return set_write(call, 3, 0, at_ms);
}

int commands_getset(struct commands_call *call) {
    return set_write(call, 2, STOA_OP_SET_GET, 0);
}

int commands_getex(struct commands_call *call) {
    struct string_options options;
    int result = string_options_parse(call, false, &options);
    int64_t at_ms = 0;
    if (result == STOA_OK && options.expire_index != 0) {
        result = expire_at(call, options.flags & OPTION_EXPIRES, options.expire_index, &at_ms);
    }
    if (result != STOA_OK) {
        return result;
    }
    uint8_t flags = 0;
    flags |= (options.flags & OPTION_PERSIST) != 0 ? STOA_OP_GETEX_PERSIST : 0;
    flags |= options.expire_index != 0 ? STOA_OP_GETEX_EXPIRE : 0;
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_GETEX);
    commands_push_argv(call, 1);
    commands_push_flags(call, flags);
    commands_push_int64(call, at_ms);
    return STOA_OK;
}

/* MSET and MSETNX: an odd number of words after the name is an arity error, as in Redis. */
int commands_mset(struct commands_call *call) {
    if (call->argc % 2 == 0) {
        return commands_failf(call, STOA_ERR_INVALID,
                              "ERR wrong number of arguments for '%s' command", call->spec->name);
    }
    uint32_t opcode = call->spec->id == STOA_COMMANDS_MSET ? STOA_OP_MSET : STOA_OP_MSETNX;
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, opcode);
    for (size_t i = 1; i < call->argc; i++) {
        commands_push_argv(call, i);
    }
    return STOA_OK;
}

int commands_append(struct commands_call *call) {
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_APPEND);
    commands_push_argv(call, 1);
    commands_push_argv(call, 2);
    return STOA_OK;
}

int commands_setrange(struct commands_call *call) {
    int64_t offset = 0;
    int result = commands_int64(call, 2, NULL, &offset);
    if (result != STOA_OK) {
        return result;
    }
    if (offset < 0) {
        return commands_fail(call, STOA_ERR_RANGE, "ERR offset is out of range");
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_SETRANGE);
    commands_push_argv(call, 1);
    commands_push_int64(call, offset);
    commands_push_argv(call, 3);
    return STOA_OK;
}

static int incrby_write(struct commands_call *call, int64_t delta) {
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_INCRBY);
    commands_push_argv(call, 1);
    commands_push_int64(call, delta);
    return STOA_OK;
}

/* INCR and DECR. */
int commands_incr(struct commands_call *call) {
    return incrby_write(call, call->spec->id == STOA_COMMANDS_INCR ? 1 : -1);
}

/* INCRBY and DECRBY; DECRBY cannot negate INT64_MIN. */
int commands_incrby(struct commands_call *call) {
    int64_t delta = 0;
    int result = commands_int64(call, 2, NULL, &delta);
    if (result != STOA_OK) {
        return result;
    }
    if (call->spec->id == STOA_COMMANDS_DECRBY) {
        if (delta == INT64_MIN) {
            return commands_fail(call, STOA_ERR_RANGE, "ERR decrement would overflow");
        }
        delta = -delta;
    }
    return incrby_write(call, delta);
}

/* The increment is read as Redis reads it (a long double), then must be a finite binary64,
 * the engine's arithmetic: "inf", or a value beyond binary64's range, could only make the
 * result infinite, which Redis refuses with the same text. */
int commands_incrbyfloat(struct commands_call *call) {
    long double increment = 0;
    const struct stoa_command_argument *text = &call->argv[2];
    if (stoa_commands_parse_long_double(text->data, text->length, &increment) != STOA_OK) {
        return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_NOT_FLOAT);
    }
    if (isinf(increment) || fabsl(increment) > (long double)DBL_MAX) {
        return commands_fail(call, STOA_ERR_RANGE, "ERR increment would produce NaN or Infinity");
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_INCRBYFLOAT);
    commands_push_argv(call, 1);
    commands_push_double(call, (double)increment);
    return STOA_OK;
}
