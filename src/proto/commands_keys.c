/* Keys and expiry: one-key reads and writes, DEL, RENAME, KEYS, SCAN, RANDOMKEY, DBSIZE, the
 * EXPIRE family and FLUSHALL; also the (key, start, end) reads GETRANGE and LRANGE. */
#include <string.h>

#include "engine/apply.h"
#include "proto/commands_int.h"
#include "util/assert.h"
#include "util/err.h"

/* The read opcode of a command whose only argument is one key. */
static uint32_t key_read_opcode(enum stoa_commands_id id) {
    switch ((int)id) {
    case STOA_COMMANDS_GET:
        return STOA_OP_GET;
    case STOA_COMMANDS_STRLEN:
        return STOA_OP_STRLEN;
    case STOA_COMMANDS_TYPE:
        return STOA_OP_TYPE;
    case STOA_COMMANDS_TTL:
        return STOA_OP_TTL;
    case STOA_COMMANDS_PTTL:
        return STOA_OP_PTTL;
    case STOA_COMMANDS_EXPIRETIME:
        return STOA_OP_EXPIRETIME;
    case STOA_COMMANDS_PEXPIRETIME:
        return STOA_OP_PEXPIRETIME;
    case STOA_COMMANDS_LLEN:
        return STOA_OP_LLEN;
    default:
        STOA_UNREACHABLE();
    }
}

int commands_key_read(struct commands_call *call) {
    commands_begin(call, STOA_COMMANDS_KIND_READ, key_read_opcode(call->spec->id));
    commands_push_argv(call, 1);
    return STOA_OK;
}

/* GETDEL and PERSIST: a write whose only argument is one key. */
int commands_key_write(struct commands_call *call) {
    uint32_t opcode = call->spec->id == STOA_COMMANDS_GETDEL ? STOA_OP_GETDEL : STOA_OP_PERSIST;
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, opcode);
    commands_push_argv(call, 1);
    return STOA_OK;
}

static void push_rest(struct commands_call *call, size_t from) {
    for (size_t i = from; i < call->argc; i++) {
        commands_push_argv(call, i);
    }
}

/* MGET and EXISTS. */
int commands_multi_read(struct commands_call *call) {
    uint32_t opcode = call->spec->id == STOA_COMMANDS_MGET ? STOA_OP_MGET : STOA_OP_EXISTS;
    commands_begin(call, STOA_COMMANDS_KIND_READ, opcode);
    push_rest(call, 1);
    return STOA_OK;
}

/* DEL and UNLINK (stoa frees at once either way). */
int commands_del(struct commands_call *call) {
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_DEL);
    push_rest(call, 1);
    return STOA_OK;
}

/* GETRANGE, SUBSTR and LRANGE: key, i64 start, i64 end. */
int commands_range_read(struct commands_call *call) {
    int64_t start = 0;
    int64_t end = 0;
    int result = commands_int64(call, 2, NULL, &start);
    if (result == STOA_OK) {
        result = commands_int64(call, 3, NULL, &end);
    }
    if (result != STOA_OK) {
        return result;
    }
    uint32_t opcode = call->spec->id == STOA_COMMANDS_LRANGE ? STOA_OP_LRANGE : STOA_OP_GETRANGE;
    commands_begin(call, STOA_COMMANDS_KIND_READ, opcode);
    commands_push_argv(call, 1);
    commands_push_int64(call, start);
    commands_push_int64(call, end);
    return STOA_OK;
}

/* RENAME and RENAMENX. */
int commands_rename(struct commands_call *call) {
    uint32_t opcode = call->spec->id == STOA_COMMANDS_RENAME ? STOA_OP_RENAME : STOA_OP_RENAMENX;
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, opcode);
    commands_push_argv(call, 1);
    commands_push_argv(call, 2);
    return STOA_OK;
}

int commands_keys(struct commands_call *call) {
    commands_begin(call, STOA_COMMANDS_KIND_READ, STOA_OP_KEYS);
    commands_push_argv(call, 1);
    return STOA_OK;
}

int commands_randomkey(struct commands_call *call) {
    commands_begin(call, STOA_COMMANDS_KIND_READ, STOA_OP_RANDOMKEY);
    commands_push_int64(call, (int64_t)call->random);
    return STOA_OK;
}

int commands_dbsize(struct commands_call *call) {
    commands_begin(call, STOA_COMMANDS_KIND_READ, STOA_OP_DBSIZE);
    return STOA_OK;
}

/* FLUSHALL and FLUSHDB [ASYNC | SYNC]: one database, so both empty the keyspace. */
int commands_flushall(struct commands_call *call) {
    if (call->argc == 2 && !commands_word_is(&call->argv[1], "async") &&
        !commands_word_is(&call->argv[1], "sync")) {
        return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
    }
    if (call->argc > 2) {
        return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_FLUSHALL);
    return STOA_OK;
}

/* ---- SCAN ---- */

/* Redis parses the cursor with strtoul: no leading space, then an optional sign ('-' wraps
 * around, as strtoul does), digits (leading zeros allowed), and nothing after; an empty
 * cursor is 0. The text ends at a NUL, as Redis's C string does. Returns 0 or -1. */
static int cursor_parse(const struct stoa_command_argument *argument, uint64_t *cursor) {
    const uint8_t *text = argument->data;
    const uint8_t *nul = argument->length > 0 ? memchr(text, '\0', argument->length) : NULL;
    size_t length = nul != NULL ? (size_t)(nul - text) : argument->length;
    if (length == 0) {
        *cursor = 0;
        return 0;
    }
    size_t i = 0;
    bool negative = text[0] == '-';
    i += text[0] == '-' || text[0] == '+' ? 1 : 0;
    if (i == length) {
        return -1;
    }
    uint64_t value = 0;
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return -1;
        }
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) {
            return -1;
        }
        value = value * 10 + digit;
    }
    *cursor = negative ? (uint64_t)0 - value : value;
    return 0;
}

struct scan_options {
    int64_t count;
    uint8_t flags;
    const struct stoa_command_argument *pattern;
    const struct stoa_command_argument *type;
};

/* SCAN's options: COUNT (a positive integer), MATCH ("*" is no filter), TYPE; each needs a
 * value, and a later one replaces an earlier one. */
static int scan_options_parse(struct commands_call *call, struct scan_options *options) {
    for (size_t i = 2; i < call->argc; i += 2) {
        const struct stoa_command_argument *option = &call->argv[i];
        bool has_value = i + 1 < call->argc;
        const struct stoa_command_argument *value = has_value ? &call->argv[i + 1] : NULL;
        if (has_value && commands_word_is(option, "count")) {
            int result = commands_int64(call, i + 1, NULL, &options->count);
            if (result != STOA_OK) {
                return result;
            }
            if (options->count < 1) {
                return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
            }
        } else if (has_value && commands_word_is(option, "match")) {
            bool all = value->length == 1 && value->data[0] == '*';
            options->flags = (uint8_t)(all ? options->flags & ~STOA_OP_SCAN_MATCH
                                           : options->flags | STOA_OP_SCAN_MATCH);
            options->pattern = value;
        } else if (has_value && commands_word_is(option, "type")) {
            options->flags |= STOA_OP_SCAN_TYPE;
            options->type = value;
        } else {
            return commands_fail(call, STOA_ERR_INVALID, COMMANDS_TEXT_SYNTAX);
        }
    }
    return STOA_OK;
}

int commands_scan(struct commands_call *call) {
    uint64_t cursor = 0;
    if (cursor_parse(&call->argv[1], &cursor) != 0) {
        return commands_fail(call, STOA_ERR_INVALID, "ERR invalid cursor");
    }
    /* Redis's default COUNT is 10. */
    struct scan_options options = {.count = 10};
    int result = scan_options_parse(call, &options);
    if (result != STOA_OK) {
        return result;
    }
    commands_begin(call, STOA_COMMANDS_KIND_READ, STOA_OP_SCAN);
    commands_push_int64(call, (int64_t)cursor);
    commands_push_int64(call, options.count);
    commands_push_flags(call, options.flags);
    bool match = (options.flags & STOA_OP_SCAN_MATCH) != 0;
    bool type = (options.flags & STOA_OP_SCAN_TYPE) != 0;
    commands_push(call, match ? options.pattern->data : NULL, match ? options.pattern->length : 0);
    commands_push(call, type ? options.type->data : NULL, type ? options.type->length : 0);
    return STOA_OK;
}

/* ---- EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT ---- */

/* The NX XX GT LT options (Redis's parseExtendedExpireArgumentsOrReply). */
static int expire_options_parse(struct commands_call *call, uint8_t *flags) {
    for (size_t j = 3; j < call->argc; j++) {
        const struct stoa_command_argument *option = &call->argv[j];
        if (commands_word_is(option, "nx")) {
            *flags |= STOA_OP_EXPIRE_NX;
        } else if (commands_word_is(option, "xx")) {
            *flags |= STOA_OP_EXPIRE_XX;
        } else if (commands_word_is(option, "gt")) {
            *flags |= STOA_OP_EXPIRE_GT;
        } else if (commands_word_is(option, "lt")) {
            *flags |= STOA_OP_EXPIRE_LT;
        } else {
            return commands_failf(
                call, STOA_ERR_INVALID, "ERR Unsupported option %.*s",
                commands_quote_length(option, STOA_COMMANDS_OPTION_QUOTE_BYTES_MAX),
                commands_quote_text(option));
        }
    }
    if ((*flags & STOA_OP_EXPIRE_NX) != 0 && *flags != STOA_OP_EXPIRE_NX) {
        return commands_fail(call, STOA_ERR_INVALID,
                             "ERR NX and XX, GT or LT options at the same time are not "
                             "compatible");
    }
    if ((*flags & STOA_OP_EXPIRE_GT) != 0 && (*flags & STOA_OP_EXPIRE_LT) != 0) {
        return commands_fail(call, STOA_ERR_INVALID,
                             "ERR GT and LT options at the same time are not compatible");
    }
    return STOA_OK;
}

int commands_expire(struct commands_call *call) {
    enum stoa_commands_id id = call->spec->id;
    bool seconds = id == STOA_COMMANDS_EXPIRE || id == STOA_COMMANDS_EXPIREAT;
    bool relative = id == STOA_COMMANDS_EXPIRE || id == STOA_COMMANDS_PEXPIRE;
    uint8_t flags = 0;
    int64_t when = 0;
    int result = expire_options_parse(call, &flags);
    if (result == STOA_OK) {
        result = commands_int64(call, 2, NULL, &when);
    }
    if (result != STOA_OK) {
        return result;
    }
    /* Negative times are allowed (they delete the key); only overflow is refused. */
    int64_t base = relative ? call->now_ms : 0;
    bool overflow = seconds && (when > INT64_MAX / 1000 || when < INT64_MIN / 1000);
    when = overflow ? 0 : (seconds ? when * 1000 : when);
    if (overflow || when > INT64_MAX - base) {
        return commands_failf(call, STOA_ERR_INVALID, "ERR invalid expire time in '%s' command",
                              call->spec->name);
    }
    commands_begin(call, STOA_COMMANDS_KIND_WRITE, STOA_OP_PEXPIREAT);
    commands_push_argv(call, 1);
    commands_push_int64(call, when + base);
    commands_push_flags(call, flags);
    return STOA_OK;
}
