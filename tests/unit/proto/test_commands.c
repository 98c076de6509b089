/* Shows that the command core finds every command of issue 4 by name in any case, words
 * unknown-command and arity errors exactly as Redis 7 does, and translates each request into
 * the engine write, engine read, blocking pop or server command it means, with normalized
 * arguments and Redis's exact error line for every bad request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/apply.h"
#include "proto/commands.h"
#include "util/alloc.h"
#include "util/err.h"

/* 2023-11-14T22:13:20Z: a fixed clock for relative expiries and timeouts. */
#define NOW 1700000000000LL
#define RANDOM 0x1234567890abcdefULL
#define WORDS_MAX 300
#define LINE_BYTES 8192

static struct stoa_commands_output out;
static char line_copy[LINE_BYTES];
static struct stoa_command_argument words[WORDS_MAX];

static int setup(void **state) {
    (void)state;
    stoa_commands_output_init(&out);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    stoa_commands_output_free(&out);
    return 0;
}

/* Runs the request argv on door through find and translate, as a front door does. */
static int run_argv(const struct stoa_command_argument *argv, size_t argc, uint32_t door) {
    const struct stoa_commands_spec *spec = NULL;
    int result = stoa_commands_find(argv, argc, door, &out, &spec);
    if (result != STOA_OK) {
        return result;
    }
    return stoa_commands_translate(spec, argv, argc, NOW, RANDOM, &out);
}

/* Splits line at single spaces ("a  b" has an empty word between) and runs it; a '~' in a
 * word stands for a space inside it. */
static int run(const char *line) {
    size_t length = strlen(line);
    assert_true(length < sizeof(line_copy));
    memcpy(line_copy, line, length + 1);
    size_t count = 0;
    size_t start = 0;
    for (size_t i = 0; i <= length; i++) {
        if (line_copy[i] == ' ' || line_copy[i] == '\0') {
            assert_true(count < WORDS_MAX);
            words[count].data = (const uint8_t *)line_copy + start;
            words[count].length = i - start;
            for (size_t j = start; j < i; j++) {
                line_copy[j] = line_copy[j] == '~' ? ' ' : line_copy[j];
            }
            count++;
            start = i + 1;
        }
    }
    return run_argv(words, count, STOA_COMMANDS_DOOR_RESP);
}

/* Checks one argument against its expectation: "i64=<n>", "u8=<n>", "f64=<x>" or bytes. */
static void check_argument(const struct stoa_command_argument *argument, const char *expected,
                           size_t expected_length) {
    char text[LINE_BYTES];
    assert_true(expected_length < sizeof(text));
    memcpy(text, expected, expected_length);
    text[expected_length] = '\0';
    if (strncmp(text, "i64=", 4) == 0) {
        int64_t value = 0;
        assert_int_equal(stoa_op_int64_get(argument, &value), STOA_OK);
        assert_int_equal(value, strtoll(text + 4, NULL, 10));
    } else if (strncmp(text, "u8=", 3) == 0) {
        assert_int_equal(argument->length, 1);
        assert_int_equal(argument->data[0], strtol(text + 3, NULL, 10));
    } else if (strncmp(text, "f64=", 4) == 0) {
        double value = 0;
        assert_int_equal(stoa_op_double_get(argument, &value), STOA_OK);
        assert_true(value == strtod(text + 4, NULL));
    } else {
        assert_int_equal(argument->length, expected_length);
        assert_memory_equal(argument->data, text, expected_length);
    }
}

/* Checks the output's arguments against "a|b|i64=3" ("" is no argument at all). */
static void check_arguments(const char *expected) {
    size_t count = 0;
    const char *at = expected;
    while (*expected != '\0') {
        const char *bar = strchr(at, '|');
        size_t length = bar != NULL ? (size_t)(bar - at) : strlen(at);
        assert_true(count < out.argument_count);
        check_argument(&out.arguments[count], at, length);
        count++;
        if (bar == NULL) {
            break;
        }
        at = bar + 1;
    }
    assert_int_equal(out.argument_count, count);
}

/* Runs line and checks it translates to kind and opcode with arguments, and that the
 * table's flags agree (writes are flagged write, reads readonly). */
static void expect(const char *line, enum stoa_commands_kind kind, uint32_t opcode,
                   const char *arguments) {
    int result = run(line);
    if (result != STOA_OK) {
        fail_msg("%s: %s", line, out.error);
    }
    assert_int_equal(out.kind, kind);
    assert_int_equal(out.opcode, opcode);
    check_arguments(arguments);
    uint32_t flags = out.spec->flags;
    if (kind == STOA_COMMANDS_KIND_WRITE || kind == STOA_COMMANDS_KIND_BLOCKING) {
        assert_true((flags & STOA_COMMANDS_FLAG_WRITE) != 0);
    }
    if (kind == STOA_COMMANDS_KIND_READ) {
        assert_true((flags & STOA_COMMANDS_FLAG_READONLY) != 0);
    }
}

static void expect_write(const char *line, uint32_t opcode, const char *arguments) {
    expect(line, STOA_COMMANDS_KIND_WRITE, opcode, arguments);
}

static void expect_read(const char *line, uint32_t opcode, const char *arguments) {
    expect(line, STOA_COMMANDS_KIND_READ, opcode, arguments);
}

static void expect_server(const char *line, enum stoa_commands_id id, const char *arguments) {
    expect(line, STOA_COMMANDS_KIND_SERVER, 0, arguments);
    assert_int_equal(out.spec->id, id);
}

/* Runs line and checks it is refused with exactly text. */
static void expect_error(const char *line, const char *text) {
    int result = run(line);
    if (result == STOA_OK) {
        fail_msg("%s: accepted, expected %s", line, text);
    }
    assert_int_equal(out.kind, STOA_COMMANDS_KIND_ERROR);
    assert_int_equal(out.error_code, result);
    assert_string_equal(out.error, text);
    assert_int_equal(out.error_length, strlen(text));
}

#define NOT_INTEGER "ERR value is not an integer or out of range"
#define SYNTAX "ERR syntax error"

/* ---- the table ---- */

static const char *const issue_commands[] = {
    "ping",        "echo",        "quit",   "reset",    "hello",    "auth",      "select",
    "client",      "command",     "info",   "dbsize",   "time",     "config",    "flushdb",
    "flushall",    "save",        "bgsave", "lastsave", "shutdown", "debug",     "get",
    "set",         "setnx",       "setex",  "psetex",   "getset",   "getdel",    "getex",
    "mget",        "mset",        "msetnx", "append",   "strlen",   "getrange",  "setrange",
    "del",         "unlink",      "exists", "type",     "rename",   "renamenx",  "keys",
    "scan",        "randomkey",   "expire", "pexpire",  "expireat", "pexpireat", "expiretime",
    "pexpiretime", "ttl",         "pttl",   "persist",  "incr",     "incrby",    "decr",
    "decrby",      "incrbyfloat", "lpush",  "rpush",    "lpushx",   "rpushx",    "lpop",
    "rpop",        "llen",        "lrange", "lindex",   "lset",     "linsert",   "lrem",
    "ltrim",       "lpos",        "lmove",  "blpop",    "brpop",    "blmove",
};

static const char *const issue_subcommands[] = {
    "client|id",    "client|setname", "client|getname", "client|list",
    "client|info",  "client|kill",    "command|count",  "command|info",
    "command|docs", "config|get",     "config|set",
};

/* Every entry is well formed: ids index the table, names are unique, lower case and sorted
 * (so binary search works), arity agrees with the key positions, and data commands are
 * flagged either write or readonly. */
static void test_table_self_check(void **state) {
    (void)state;
    for (int i = 0; i < STOA_COMMANDS_COUNT; i++) {
        const struct stoa_commands_spec *spec = stoa_commands_spec((enum stoa_commands_id)i);
        assert_int_equal(spec->id, i);
        assert_non_null(spec->name);
        assert_non_null(spec->summary);
        assert_true(strlen(spec->name) < STOA_COMMANDS_NAME_BYTES_MAX);
        for (const char *c = spec->name; *c != '\0'; c++) {
            assert_true((*c >= 'a' && *c <= 'z') || *c == '|' || *c == '-');
        }
        if (i > 0) {
            const struct stoa_commands_spec *previous =
                stoa_commands_spec((enum stoa_commands_id)(i - 1));
            assert_true(strcmp(previous->name, spec->name) < 0);
        }
        assert_true(spec->arity != 0);
        int32_t minimum = spec->arity > 0 ? spec->arity : -spec->arity;
        if (spec->first_key == 0) {
            assert_int_equal(spec->last_key, 0);
            assert_int_equal(spec->key_step, 0);
        } else {
            assert_true(spec->first_key >= 1 && spec->key_step >= 1);
            assert_true(spec->first_key < minimum);
            if (spec->last_key > 0) {
                assert_true(spec->last_key >= spec->first_key && spec->last_key < minimum);
            } else {
                assert_true(spec->arity < 0 && minimum + spec->last_key >= spec->first_key);
            }
        }
        bool write = (spec->flags & STOA_COMMANDS_FLAG_WRITE) != 0;
        bool read = (spec->flags & STOA_COMMANDS_FLAG_READONLY) != 0;
        assert_false(write && read);
        if (spec->first_key > 0) {
            assert_true(write || read);
        }
        assert_true(spec->doors != 0);
        bool sub = strchr(spec->name, '|') != NULL;
        assert_int_equal(sub, spec->container != spec->id);
        if (sub) {
            const struct stoa_commands_spec *container = stoa_commands_spec(spec->container);
            assert_true((container->flags & STOA_COMMANDS_FLAG_CONTAINER) != 0);
            assert_memory_equal(spec->name, container->name, strlen(container->name));
        }
    }
}

/* Every command and subcommand that issue 4 lists is in the table and reachable on RESP. */
static void test_issue_commands_present(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof(issue_commands) / sizeof(issue_commands[0]); i++) {
        const char *name = issue_commands[i];
        const struct stoa_commands_spec *spec =
            stoa_commands_lookup((const uint8_t *)name, strlen(name), STOA_COMMANDS_DOOR_RESP);
        if (spec == NULL) {
            fail_msg("missing: %s", name);
        }
        assert_string_equal(spec->name, name);
    }
    for (size_t i = 0; i < sizeof(issue_subcommands) / sizeof(issue_subcommands[0]); i++) {
        const char *name = issue_subcommands[i];
        const char *bar = strchr(name, '|');
        struct stoa_command_argument argv[3] = {
            {(const uint8_t *)name, (size_t)(bar - name)},
            {(const uint8_t *)bar + 1, strlen(bar + 1)},
            {(const uint8_t *)"x", 1},
        };
        const struct stoa_commands_spec *spec = NULL;
        assert_int_equal(stoa_commands_find(argv, 3, STOA_COMMANDS_DOOR_RESP, &out, &spec),
                         STOA_OK);
        assert_string_equal(spec->name, name);
    }
    /* Geomys's commands are on its door, and PUSH only there. */
    const char *geomys[] = {"ping", "echo", "set",  "get",    "incr",
                            "push", "lpop", "rpop", "flushdb"};
    for (size_t i = 0; i < sizeof(geomys) / sizeof(geomys[0]); i++) {
        assert_non_null(stoa_commands_lookup((const uint8_t *)geomys[i], strlen(geomys[i]),
                                             STOA_COMMANDS_DOOR_GEOMYS));
    }
    assert_null(stoa_commands_lookup((const uint8_t *)"push", 4, STOA_COMMANDS_DOOR_RESP));
    assert_null(stoa_commands_lookup((const uint8_t *)"client", 6, STOA_COMMANDS_DOOR_GEOMYS));
}

/* Lookup ignores ASCII case, needs the whole name, and does not find subcommands by their
 * full name. */
static void test_lookup(void **state) {
    (void)state;
    const char *names[] = {"get", "GET", "gEt", "IncrByFloat", "BLMOVE", "append", "unlink"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        const struct stoa_commands_spec *spec = stoa_commands_lookup(
            (const uint8_t *)names[i], strlen(names[i]), STOA_COMMANDS_DOOR_RESP);
        assert_non_null(spec);
    }
    const char *missing[] = {"", "ge", "gett", "client|id", "get\0", "incrbyfloatx", "zzz"};
    size_t lengths[] = {0, 2, 4, 9, 4, 12, 3};
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        assert_null(
            stoa_commands_lookup((const uint8_t *)missing[i], lengths[i], STOA_COMMANDS_DOOR_RESP));
    }
    assert_int_equal(stoa_commands_lookup((const uint8_t *)"SeT", 3, STOA_COMMANDS_DOOR_RESP)->id,
                     STOA_COMMANDS_SET);
    assert_string_equal(stoa_commands_flag_name(STOA_COMMANDS_FLAG_WRITE), "write");
    assert_string_equal(stoa_commands_flag_name(STOA_COMMANDS_FLAG_NO_AUTH), "no_auth");
    assert_null(stoa_commands_flag_name(STOA_COMMANDS_FLAG_CONTAINER));
}

/* Unknown commands get Redis's line: the name as typed, each argument quoted with a
 * trailing space, arguments cut after 128 bytes, CR and LF as spaces, NUL ending a word. */
static void test_unknown_command(void **state) {
    (void)state;
    expect_error("foo a b", "ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
    expect_error("FoO", "ERR unknown command 'FoO', with args beginning with: ");
    expect_error("foo ", "ERR unknown command 'foo', with args beginning with: '' ");
    char line[600];
    char expected[600];
    /* As redis-server 7.0.15 answers: 100 x, then only 25 of the 100 y, then nothing. */
    snprintf(line, sizeof(line), "foo %.100s %.100s c",
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
             "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
             "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
    snprintf(expected, sizeof(expected),
             "ERR unknown command 'foo', with args beginning with: '%.100s' '%.25s' ", line + 4,
             line + 105);
    expect_error(line, expected);
    /* The name is cut at 128 bytes. */
    memset(line, 'n', 200);
    line[200] = '\0';
    snprintf(expected, sizeof(expected),
             "ERR unknown command '%.128s', with args beginning with: ", line);
    expect_error(line, expected);
    /* Binary words: CR LF become spaces; a NUL ends the quoted text, as C's %s does; an
     * empty word may have no bytes at all. */
    struct stoa_command_argument argv[3] = {
        {(const uint8_t *)"a\r\nb", 4}, {(const uint8_t *)"x\0y", 3}, {NULL, 0}};
    assert_int_equal(run_argv(argv, 3, STOA_COMMANDS_DOOR_RESP), STOA_ERR_UNSUPPORTED);
    assert_string_equal(out.error, "ERR unknown command 'a  b', with args beginning with: 'x' '' ");
    /* A command not on this door is unknown there. */
    expect_error("push k v", "ERR unknown command 'push', with args beginning with: 'k' 'v' ");
}

/* A container's unknown subcommand names the container in upper case, as Redis 7 does; a
 * subcommand's full name is not a command. */
static void test_unknown_subcommand(void **state) {
    (void)state;
    expect_error("client foo", "ERR unknown subcommand 'foo'. Try CLIENT HELP.");
    expect_error("CONFIG rewrite x", "ERR unknown subcommand 'rewrite'. Try CONFIG HELP.");
    expect_error("command nosuchsubcommandwithaverylongnamethatcannotfit",
                 "ERR unknown subcommand 'nosuchsubcommandwithaverylongnamethatcannotfit'. Try "
                 "COMMAND HELP.");
    expect_error("client|id", "ERR unknown command 'client|id', with args beginning with: ");
    expect_server("CLIENT Id", STOA_COMMANDS_CLIENT_ID, "");
    expect_server("command", STOA_COMMANDS_COMMAND, "");
}

/* Arity is checked centrally with Redis's text, naming the command in lower case (and a
 * subcommand as container|sub), plus the commands whose handlers check it (MSET, LPOP,
 * PING). */
static void test_arity(void **state) {
    (void)state;
    expect_error("GET", "ERR wrong number of arguments for 'get' command");
    expect_error("get a b", "ERR wrong number of arguments for 'get' command");
    expect_error("SET k", "ERR wrong number of arguments for 'set' command");
    expect_error("client", "ERR wrong number of arguments for 'client' command");
    expect_error("client setname", "ERR wrong number of arguments for 'client|setname' command");
    expect_error("config get", "ERR wrong number of arguments for 'config|get' command");
    expect_error("mset k", "ERR wrong number of arguments for 'mset' command");
    expect_error("mset k v k2", "ERR wrong number of arguments for 'mset' command");
    expect_error("msetnx k v k2", "ERR wrong number of arguments for 'msetnx' command");
    expect_error("lpop k 1 2", "ERR wrong number of arguments for 'lpop' command");
    expect_error("ping a b", "ERR wrong number of arguments for 'ping' command");
    expect_error("blpop k", "ERR wrong number of arguments for 'blpop' command");
    expect_error("time x", "ERR wrong number of arguments for 'time' command");
    const struct stoa_commands_spec *spec = stoa_commands_spec(STOA_COMMANDS_SET);
    assert_int_equal(stoa_commands_check(spec, 3, &out), STOA_OK);
    assert_int_equal(stoa_commands_check(spec, 2, &out), STOA_ERR_INVALID);
}

/* ---- strings and counters ---- */

/* SET and its family become the engine's SET with flags and an absolute expiry. */
static void test_set_family(void **state) {
    (void)state;
    expect_write("SET k v", STOA_OP_SET, "k|v|u8=0|i64=0");
    expect_write("set k v EX 10", STOA_OP_SET, "k|v|u8=0|i64=1700000010000");
    expect_write("set k v px 1500", STOA_OP_SET, "k|v|u8=0|i64=1700000001500");
    expect_write("set k v exat 1800000000", STOA_OP_SET, "k|v|u8=0|i64=1800000000000");
    expect_write("set k v pxat 5", STOA_OP_SET, "k|v|u8=0|i64=5");
    expect_write("set k v nx", STOA_OP_SET, "k|v|u8=1|i64=0");
    expect_write("set k v xx get", STOA_OP_SET, "k|v|u8=10|i64=0");
    expect_write("set k v keepttl", STOA_OP_SET, "k|v|u8=4|i64=0");
    expect_write("set k v nx nx ex 1 ex 2", STOA_OP_SET, "k|v|u8=1|i64=1700000002000");
    expect_write("set k v get nx", STOA_OP_SET, "k|v|u8=9|i64=0");
    expect_write("set k v keepttl KEEPTTL get get", STOA_OP_SET, "k|v|u8=12|i64=0");
    expect_write("setnx k v", STOA_OP_SET, "k|v|u8=17|i64=0");
    expect_write("setex k 10 v", STOA_OP_SET, "k|v|u8=0|i64=1700000010000");
    expect_write("psetex k 10 v", STOA_OP_SET, "k|v|u8=0|i64=1700000000010");
    expect_write("getset k v", STOA_OP_SET, "k|v|u8=8|i64=0");
    expect_write("getdel k", STOA_OP_GETDEL, "k");
    expect_write("getex k", STOA_OP_GETEX, "k|u8=0|i64=0");
    expect_write("getex k persist", STOA_OP_GETEX, "k|u8=1|i64=0");
    expect_write("getex k EX 5", STOA_OP_GETEX, "k|u8=2|i64=1700000005000");
    expect_write("getex k pxat 99", STOA_OP_GETEX, "k|u8=2|i64=99");
    expect_write("getex k ex 1 ex 2", STOA_OP_GETEX, "k|u8=2|i64=1700000002000");
}

/* SET's conflicting or incomplete options are syntax errors, and bad times are Redis's
 * "invalid expire time" naming the command. */
static void test_set_errors(void **state) {
    (void)state;
    expect_error("set k v nx xx", SYNTAX);
    expect_error("set k v xx nx", SYNTAX);
    expect_error("set k v ex 1 px 1", SYNTAX);
    expect_error("set k v ex 1 keepttl", SYNTAX);
    expect_error("set k v keepttl pxat 1", SYNTAX);
    expect_error("set k v ex", SYNTAX);
    expect_error("set k v persist", SYNTAX);
    expect_error("set k v foo", SYNTAX);
    expect_error("set k v ex abc", NOT_INTEGER);
    expect_error("set k v ex 0", "ERR invalid expire time in 'set' command");
    expect_error("set k v px -5", "ERR invalid expire time in 'set' command");
    expect_error("set k v ex 9223372036854776", "ERR invalid expire time in 'set' command");
    expect_error("set k v px 9223372036854775807", "ERR invalid expire time in 'set' command");
    expect_write("set k v pxat 9223372036854775807", STOA_OP_SET,
                 "k|v|u8=0|i64=9223372036854775807");
    expect_error("setex k 0 v", "ERR invalid expire time in 'setex' command");
    expect_error("psetex k -1 v", "ERR invalid expire time in 'psetex' command");
    expect_error("setex k x v", NOT_INTEGER);
    expect_error("getex k nx", SYNTAX);
    expect_error("getex k persist ex 1", SYNTAX);
    expect_error("getex k ex 1 persist", SYNTAX);
    expect_error("getex k keepttl", SYNTAX);
    expect_error("getex k ex 0", "ERR invalid expire time in 'getex' command");
}

/* MSET, MSETNX, MGET, APPEND, STRLEN, GETRANGE, SUBSTR and SETRANGE. */
static void test_strings(void **state) {
    (void)state;
    expect_write("mset a 1 b 2", STOA_OP_MSET, "a|1|b|2");
    expect_write("msetnx a 1", STOA_OP_MSETNX, "a|1");
    expect_read("mget a b c", STOA_OP_MGET, "a|b|c");
    expect_write("append k tail", STOA_OP_APPEND, "k|tail");
    expect_read("get k", STOA_OP_GET, "k");
    expect_read("strlen k", STOA_OP_STRLEN, "k");
    expect_read("getrange k 0 -1", STOA_OP_GETRANGE, "k|i64=0|i64=-1");
    expect_read("substr k 2 5", STOA_OP_GETRANGE, "k|i64=2|i64=5");
    expect_error("getrange k a 1", NOT_INTEGER);
    expect_error("getrange k 1 1.5", NOT_INTEGER);
    expect_write("setrange k 5 x", STOA_OP_SETRANGE, "k|i64=5|x");
    expect_write("setrange k 0 ", STOA_OP_SETRANGE, "k|i64=0|");
    expect_error("setrange k -1 x", "ERR offset is out of range");
    expect_error("setrange k x x", NOT_INTEGER);
}

/* INCR, DECR, INCRBY and DECRBY become INCRBY with the signed delta; INCRBYFLOAT carries a
 * binary64 increment parsed as Redis parses it. */
static void test_counters(void **state) {
    (void)state;
    expect_write("incr c", STOA_OP_INCRBY, "c|i64=1");
    expect_write("decr c", STOA_OP_INCRBY, "c|i64=-1");
    expect_write("incrby c -7", STOA_OP_INCRBY, "c|i64=-7");
    expect_write("decrby c 7", STOA_OP_INCRBY, "c|i64=-7");
    expect_write("decrby c -9223372036854775807", STOA_OP_INCRBY, "c|i64=9223372036854775807");
    expect_error("decrby c -9223372036854775808", "ERR decrement would overflow");
    expect_error("incrby c 9223372036854775808", NOT_INTEGER);
    expect_error("incrby c +1", NOT_INTEGER);
    expect_error("incrby c 01", NOT_INTEGER);
    expect_error("incrby c 1.0", NOT_INTEGER);
    expect_error("incrby c ~1", NOT_INTEGER);
    expect_write("incrbyfloat f 10.5", STOA_OP_INCRBYFLOAT, "f|f64=10.5");
    expect_write("incrbyfloat f -5e3", STOA_OP_INCRBYFLOAT, "f|f64=-5000");
    expect_write("incrbyfloat f 0x10", STOA_OP_INCRBYFLOAT, "f|f64=16");
    expect_write("incrbyfloat f .5", STOA_OP_INCRBYFLOAT, "f|f64=0.5");
    expect_error("incrbyfloat f abc", "ERR value is not a valid float");
    expect_error("incrbyfloat f nan", "ERR value is not a valid float");
    expect_error("incrbyfloat f ~1", "ERR value is not a valid float");
    expect_error("incrbyfloat f 1~", "ERR value is not a valid float");
    expect_error("incrbyfloat f ", "ERR value is not a valid float");
    expect_error("incrbyfloat f 1e-99999", "ERR value is not a valid float");
    expect_error("incrbyfloat f inf", "ERR increment would produce NaN or Infinity");
    expect_error("incrbyfloat f -infinity", "ERR increment would produce NaN or Infinity");
}

/* Integers are read exactly as Redis's string2ll reads them. */
static void test_parse_int64(void **state) {
    (void)state;
    const char *good[] = {"0", "1", "-1", "9223372036854775807", "-9223372036854775808", "10"};
    int64_t values[] = {0, 1, -1, INT64_MAX, INT64_MIN, 10};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t value = 42;
        assert_int_equal(
            stoa_commands_parse_int64((const uint8_t *)good[i], strlen(good[i]), &value), STOA_OK);
        assert_true(value == values[i]);
    }
    const char *bad[] = {"",
                         "-",
                         "-0",
                         "+1",
                         " 1",
                         "1 ",
                         "01",
                         "00",
                         "1a",
                         "0x1",
                         "1e3",
                         "9223372036854775808",
                         "-9223372036854775809",
                         "000000000000000000001",
                         "18446744073709551616"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t value = 42;
        assert_int_equal(stoa_commands_parse_int64((const uint8_t *)bad[i], strlen(bad[i]), &value),
                         STOA_ERR_INVALID);
        assert_int_equal(value, 42);
    }
}

/* Floats are read as Redis's string2ld: strtold's syntax, nothing around it, no NaN. */
static void test_parse_long_double(void **state) {
    (void)state;
    long double value = 0;
    assert_int_equal(stoa_commands_parse_long_double((const uint8_t *)"1.5", 3, &value), 0);
    assert_true(value == 1.5L);
    assert_int_equal(stoa_commands_parse_long_double((const uint8_t *)"-inf", 4, &value), 0);
    assert_int_equal(stoa_commands_parse_long_double((const uint8_t *)"1\0x", 3, &value), 0);
    assert_true(value == 1.0L);
    const char *bad[] = {"", " 1", "\t1", "1 ", "nan", "-nan", "1e99999", "x", "1.5.5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(
            stoa_commands_parse_long_double((const uint8_t *)bad[i], strlen(bad[i]), &value),
            STOA_ERR_INVALID);
    }
    static char long_text[STOA_COMMANDS_FLOAT_TEXT_BYTES_MAX];
    memset(long_text, '1', sizeof(long_text));
    assert_int_equal(
        stoa_commands_parse_long_double((const uint8_t *)long_text, sizeof(long_text), &value),
        STOA_ERR_INVALID);
    assert_int_equal(stoa_commands_parse_long_double((const uint8_t *)long_text, 20, &value),
                     STOA_OK);
}

/* ---- keys and expiry ---- */

/* Key commands map to their engine opcodes; UNLINK is DEL; FLUSHDB is FLUSHALL. */
static void test_keys(void **state) {
    (void)state;
    expect_write("del a b", STOA_OP_DEL, "a|b");
    expect_write("unlink a", STOA_OP_DEL, "a");
    expect_read("exists a a", STOA_OP_EXISTS, "a|a");
    expect_read("type a", STOA_OP_TYPE, "a");
    expect_write("rename a b", STOA_OP_RENAME, "a|b");
    expect_write("renamenx a b", STOA_OP_RENAMENX, "a|b");
    expect_read("keys user:*", STOA_OP_KEYS, "user:*");
    expect_read("randomkey", STOA_OP_RANDOMKEY, "i64=1311768467294899695");
    expect_read("dbsize", STOA_OP_DBSIZE, "");
    expect_read("ttl a", STOA_OP_TTL, "a");
    expect_read("pttl a", STOA_OP_PTTL, "a");
    expect_read("expiretime a", STOA_OP_EXPIRETIME, "a");
    expect_read("pexpiretime a", STOA_OP_PEXPIRETIME, "a");
    expect_write("persist a", STOA_OP_PERSIST, "a");
    expect_write("flushall", STOA_OP_FLUSHALL, "");
    expect_write("flushall ASYNC", STOA_OP_FLUSHALL, "");
    expect_write("flushdb sync", STOA_OP_FLUSHALL, "");
    expect_error("flushdb now", SYNTAX);
    expect_error("flushall sync async", SYNTAX);
}

/* SCAN's cursor is read as strtoul reads it, and its options as Redis parses them. */
static void test_scan(void **state) {
    (void)state;
    expect_read("scan 0", STOA_OP_SCAN, "i64=0|i64=10|u8=0||");
    expect_read("scan 17 count 100 match k* type list", STOA_OP_SCAN,
                "i64=17|i64=100|u8=3|k*|list");
    expect_read("scan 5 MATCH *", STOA_OP_SCAN, "i64=5|i64=10|u8=0||");
    expect_read("scan 5 match a match b", STOA_OP_SCAN, "i64=5|i64=10|u8=1|b|");
    expect_read("scan 007", STOA_OP_SCAN, "i64=7|i64=10|u8=0||");
    expect_read("scan +7", STOA_OP_SCAN, "i64=7|i64=10|u8=0||");
    expect_read("scan ", STOA_OP_SCAN, "i64=0|i64=10|u8=0||");
    /* Cursors are uint64 bits; strtoul wraps "-1" to the largest. */
    expect_read("scan 18446744073709551615", STOA_OP_SCAN, "i64=-1|i64=10|u8=0||");
    expect_read("scan -1", STOA_OP_SCAN, "i64=-1|i64=10|u8=0||");
    expect_error("scan 18446744073709551616", "ERR invalid cursor");
    expect_error("scan abc", "ERR invalid cursor");
    expect_error("scan ~1", "ERR invalid cursor");
    expect_error("scan 1x", "ERR invalid cursor");
    expect_error("scan -", "ERR invalid cursor");
    expect_error("scan 0 count 0", SYNTAX);
    expect_error("scan 0 count x", NOT_INTEGER);
    expect_error("scan 0 count", SYNTAX);
    expect_error("scan 0 foo bar", SYNTAX);
}

/* The EXPIRE family becomes PEXPIREAT with an absolute time and the NX/XX/GT/LT byte. */
static void test_expire(void **state) {
    (void)state;
    expect_write("expire k 10", STOA_OP_PEXPIREAT, "k|i64=1700000010000|u8=0");
    expect_write("pexpire k 10 nx", STOA_OP_PEXPIREAT, "k|i64=1700000000010|u8=1");
    expect_write("expireat k 100 xx gt", STOA_OP_PEXPIREAT, "k|i64=100000|u8=6");
    expect_write("pexpireat k 100 LT", STOA_OP_PEXPIREAT, "k|i64=100|u8=8");
    expect_write("expire k 10 nx NX", STOA_OP_PEXPIREAT, "k|i64=1700000010000|u8=1");
    expect_write("expire k -10", STOA_OP_PEXPIREAT, "k|i64=1699999990000|u8=0");
    expect_write("pexpireat k -9223372036854775808", STOA_OP_PEXPIREAT,
                 "k|i64=-9223372036854775808|u8=0");
    expect_error("expire k 10 nx xx",
                 "ERR NX and XX, GT or LT options at the same time are not compatible");
    expect_error("expire k 10 gt nx",
                 "ERR NX and XX, GT or LT options at the same time are not compatible");
    expect_error("expire k 10 gt lt", "ERR GT and LT options at the same time are not compatible");
    expect_error("expire k 10 foo", "ERR Unsupported option foo");
    expect_error("expire k abc foo", "ERR Unsupported option foo");
    expect_error("expire k abc", NOT_INTEGER);
    expect_error("expire k 9223372036854776", "ERR invalid expire time in 'expire' command");
    expect_error("expireat k -9223372036854776", "ERR invalid expire time in 'expireat' command");
    expect_error("pexpire k 9223372036854775807", "ERR invalid expire time in 'pexpire' command");
    expect_write("pexpireat k 9223372036854775807", STOA_OP_PEXPIREAT,
                 "k|i64=9223372036854775807|u8=0");
}

/* ---- deques ---- */

/* Pushes, pops and the index and range commands. */
static void test_deques(void **state) {
    (void)state;
    expect_write("lpush l a b", STOA_OP_PUSH, "l|u8=0|a|b");
    expect_write("rpush l a", STOA_OP_PUSH, "l|u8=1|a");
    expect_write("lpushx l a", STOA_OP_PUSH, "l|u8=2|a");
    expect_write("rpushx l a b c", STOA_OP_PUSH, "l|u8=3|a|b|c");
    expect_write("lpop l", STOA_OP_POP, "l|u8=0|i64=1");
    expect_write("rpop l", STOA_OP_POP, "l|u8=1|i64=1");
    expect_write("lpop l 3", STOA_OP_POP, "l|u8=2|i64=3");
    expect_write("rpop l 0", STOA_OP_POP, "l|u8=3|i64=0");
    expect_error("lpop l -1", "ERR value is out of range, must be positive");
    expect_error("lpop l abc", "ERR value is out of range, must be positive");
    expect_read("llen l", STOA_OP_LLEN, "l");
    expect_read("lrange l 0 -1", STOA_OP_LRANGE, "l|i64=0|i64=-1");
    expect_error("lrange l 0 x", NOT_INTEGER);
    expect_read("lindex l -2", STOA_OP_LINDEX, "l|i64=-2");
    expect_error("lindex l x", NOT_INTEGER);
    expect_write("lset l 1 v", STOA_OP_LSET, "l|i64=1|v");
    expect_error("lset l x v", NOT_INTEGER);
    expect_write("linsert l before p v", STOA_OP_LINSERT, "l|u8=0|p|v");
    expect_write("linsert l AFTER p v", STOA_OP_LINSERT, "l|u8=1|p|v");
    expect_error("linsert l middle p v", SYNTAX);
    expect_write("lrem l -2 v", STOA_OP_LREM, "l|i64=-2|v");
    expect_error("lrem l x v", NOT_INTEGER);
    expect_write("ltrim l 1 -1", STOA_OP_LTRIM, "l|i64=1|i64=-1");
    expect_error("ltrim l 1 x", NOT_INTEGER);
    expect_write("lmove a b left right", STOA_OP_LMOVE, "a|b|u8=2");
    expect_write("lmove a b RIGHT LEFT", STOA_OP_LMOVE, "a|b|u8=1");
    expect_error("lmove a b up left", SYNTAX);
    expect_error("lmove a b left down", SYNTAX);
    /* Geomys's PUSH is an RPUSH, on the Geomys door. */
    struct stoa_command_argument argv[3] = {
        {(const uint8_t *)"PUSH", 4}, {(const uint8_t *)"q", 1}, {(const uint8_t *)"v", 1}};
    assert_int_equal(run_argv(argv, 3, STOA_COMMANDS_DOOR_GEOMYS), STOA_OK);
    assert_int_equal(out.opcode, STOA_OP_PUSH);
    check_arguments("q|u8=1|v");
}

/* LPOS's options, and its errors worded as Redis words them. */
static void test_lpos(void **state) {
    (void)state;
    expect_read("lpos l e", STOA_OP_LPOS, "l|e|i64=1|i64=0|i64=0|u8=0");
    expect_read("lpos l e rank -2 count 0 maxlen 10", STOA_OP_LPOS, "l|e|i64=-2|i64=0|i64=10|u8=1");
    expect_read("lpos l e COUNT 3", STOA_OP_LPOS, "l|e|i64=1|i64=3|i64=0|u8=1");
    expect_error("lpos l e rank 0",
                 "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                 "second ... or use negative to start from the end of the list");
    expect_error("lpos l e rank x", NOT_INTEGER);
    expect_error("lpos l e count -1", "ERR COUNT can't be negative");
    expect_error("lpos l e count x", "ERR COUNT can't be negative");
    expect_error("lpos l e maxlen -1", "ERR MAXLEN can't be negative");
    expect_error("lpos l e maxlen x", "ERR MAXLEN can't be negative");
    expect_error("lpos l e rank", SYNTAX);
    expect_error("lpos l e foo 1", SYNTAX);
}

/* BLPOP, BRPOP and BLMOVE become blocking pops with their keys, side, timeout and deadline,
 * and each can make the write that serves it. */
static void test_blocking(void **state) {
    (void)state;
    expect("blpop a b 1.5", STOA_COMMANDS_KIND_BLOCKING, STOA_OP_POP, "a|b");
    assert_int_equal(out.key_count, 2);
    assert_int_equal(out.flags, 0);
    assert_int_equal(out.timeout_ms, 1500);
    assert_int_equal(out.deadline_ms, NOW + 1500);
    struct stoa_commands_output write;
    stoa_commands_output_init(&write);
    assert_int_equal(stoa_commands_blocking_write(&out, 1, &write), STOA_OK);
    assert_int_equal(write.kind, STOA_COMMANDS_KIND_WRITE);
    assert_int_equal(write.opcode, STOA_OP_POP);
    assert_int_equal(write.argument_count, 3);
    assert_memory_equal(write.arguments[0].data, "b", 1);
    assert_int_equal(write.arguments[1].data[0], 0);
    int64_t count = 0;
    assert_int_equal(stoa_op_int64_get(&write.arguments[2], &count), STOA_OK);
    assert_int_equal(count, 1);

    expect("brpop a 0", STOA_COMMANDS_KIND_BLOCKING, STOA_OP_POP, "a");
    assert_int_equal(out.flags, STOA_OP_POP_BACK);
    assert_int_equal(out.timeout_ms, 0);
    assert_int_equal(out.deadline_ms, 0);
    /* Redis rounds up to whole ms, reads hex, and -0.0001 rounds up to 0 (forever). */
    expect("brpop a 1e-10", STOA_COMMANDS_KIND_BLOCKING, STOA_OP_POP, "a");
    assert_int_equal(out.timeout_ms, 1);
    expect("brpop a 0x10", STOA_COMMANDS_KIND_BLOCKING, STOA_OP_POP, "a");
    assert_int_equal(out.timeout_ms, 16000);
    expect("brpop a -0.0001", STOA_COMMANDS_KIND_BLOCKING, STOA_OP_POP, "a");
    assert_int_equal(out.timeout_ms, 0);

    expect("blmove s d right left 2", STOA_COMMANDS_KIND_BLOCKING, STOA_OP_LMOVE, "s|d");
    assert_int_equal(out.key_count, 1);
    assert_int_equal(out.flags, STOA_OP_LMOVE_FROM_BACK);
    assert_int_equal(out.deadline_ms, NOW + 2000);
    assert_int_equal(stoa_commands_blocking_write(&out, 0, &write), STOA_OK);
    assert_int_equal(write.opcode, STOA_OP_LMOVE);
    assert_int_equal(write.argument_count, 3);
    assert_memory_equal(write.arguments[1].data, "d", 1);
    assert_int_equal(write.arguments[2].data[0], STOA_OP_LMOVE_FROM_BACK);
    stoa_commands_output_free(&write);

    expect_error("blpop a abc", "ERR timeout is not a float or out of range");
    expect_error("blpop a nan", "ERR timeout is not a float or out of range");
    expect_error("blpop a ~1", "ERR timeout is not a float or out of range");
    expect_error("blpop a -1", "ERR timeout is negative");
    expect_error("blpop a -inf", "ERR timeout is negative");
    expect_error("blpop a 1e300", "ERR timeout is out of range");
    expect_error("blpop a inf", "ERR timeout is out of range");
    expect_error("blpop a 9223372036854775", "ERR timeout is out of range");
    expect_error("blmove s d up left x", SYNTAX);
    expect_error("blmove s d left left x", "ERR timeout is not a float or out of range");
}

/* ---- server commands ---- */

/* Server commands carry their words for the server, after the subcommand for one. */
static void test_server_commands(void **state) {
    (void)state;
    expect_server("ping", STOA_COMMANDS_PING, "");
    expect_server("ping hi", STOA_COMMANDS_PING, "hi");
    expect_server("echo hi", STOA_COMMANDS_ECHO, "hi");
    expect_server("quit", STOA_COMMANDS_QUIT, "");
    expect_server("reset", STOA_COMMANDS_RESET, "");
    expect_server("auth secret", STOA_COMMANDS_AUTH, "secret");
    expect_server("auth user secret", STOA_COMMANDS_AUTH, "user|secret");
    expect_error("auth a b c", SYNTAX);
    expect_server("select 0", STOA_COMMANDS_SELECT, "0");
    expect_error("select 1", "ERR DB index is out of range");
    expect_error("select -1", "ERR DB index is out of range");
    expect_error("select abc", NOT_INTEGER);
    expect_error("select 99999999999",
                 "ERR value is out of range, value must between -2147483648 and 2147483647");
    expect_server("client setname worker-1", STOA_COMMANDS_CLIENT_SETNAME, "worker-1");
    /* An empty name clears it (one empty argument). */
    assert_int_equal(run("client setname "), STOA_OK);
    assert_int_equal(out.argument_count, 1);
    assert_int_equal(out.arguments[0].length, 0);
    expect_error("client setname a\tb",
                 "ERR Client names cannot contain spaces, newlines or special characters.");
    expect_server("client kill id 5", STOA_COMMANDS_CLIENT_KILL, "id|5");
    expect_server("client list", STOA_COMMANDS_CLIENT_LIST, "");
    expect_server("client getname", STOA_COMMANDS_CLIENT_GETNAME, "");
    expect_server("client info", STOA_COMMANDS_CLIENT_INFO, "");
    expect_server("command count", STOA_COMMANDS_COMMAND_COUNT, "");
    expect_server("command docs get set", STOA_COMMANDS_COMMAND_DOCS, "get|set");
    expect_server("command info", STOA_COMMANDS_COMMAND_INFO, "");
    expect_server("config get maxmemory", STOA_COMMANDS_CONFIG_GET, "maxmemory");
    expect_server("config set a b", STOA_COMMANDS_CONFIG_SET, "a|b");
    expect_server("info keyspace", STOA_COMMANDS_INFO, "keyspace");
    expect_server("time", STOA_COMMANDS_TIME, "");
    expect_server("save", STOA_COMMANDS_SAVE, "");
    expect_server("lastsave", STOA_COMMANDS_LASTSAVE, "");
    expect_server("debug sleep 0", STOA_COMMANDS_DEBUG, "sleep|0");
    assert_true((out.spec->flags & STOA_COMMANDS_FLAG_PROTECTED) != 0);
    expect_server("bgsave", STOA_COMMANDS_BGSAVE, "");
    assert_int_equal(out.server_flags, 0);
    expect_server("bgsave SCHEDULE", STOA_COMMANDS_BGSAVE, "SCHEDULE");
    assert_int_equal(out.server_flags, STOA_COMMANDS_BGSAVE_SCHEDULE);
    expect_error("bgsave now", SYNTAX);
    expect_server("shutdown nosave now force", STOA_COMMANDS_SHUTDOWN, "nosave|now|force");
    assert_int_equal(out.server_flags, STOA_COMMANDS_SHUTDOWN_NOSAVE | STOA_COMMANDS_SHUTDOWN_NOW |
                                           STOA_COMMANDS_SHUTDOWN_FORCE);
    expect_server("shutdown abort", STOA_COMMANDS_SHUTDOWN, "abort");
    expect_error("shutdown abort now", SYNTAX);
    expect_error("shutdown save nosave", SYNTAX);
    expect_error("shutdown later", SYNTAX);
}

/* HELLO's version and options are checked as Redis checks them before it answers. */
static void test_hello(void **state) {
    (void)state;
    expect_server("hello", STOA_COMMANDS_HELLO, "||");
    assert_int_equal(out.number, 0);
    expect_server("hello 3", STOA_COMMANDS_HELLO, "||");
    assert_int_equal(out.number, 3);
    expect_server("hello 2 auth u p setname n", STOA_COMMANDS_HELLO, "u|p|n");
    assert_int_equal(out.server_flags, STOA_COMMANDS_HELLO_AUTH | STOA_COMMANDS_HELLO_SETNAME);
    expect_error("hello 4", "NOPROTO unsupported protocol version");
    expect_error("hello 1", "NOPROTO unsupported protocol version");
    expect_error("hello x", "ERR Protocol version is not an integer or out of range");
    expect_error("hello 3 auth u", "ERR Syntax error in HELLO option 'auth'");
    expect_error("hello 3 foo", "ERR Syntax error in HELLO option 'foo'");
    expect_error("hello 3 setname a\nb",
                 "ERR Client names cannot contain spaces, newlines or special characters.");
}

/* ---- memory ---- */

/* Short requests use the inline argument array; a long one grows it through the allocation
 * seam (and a failed allocation is an error reply), and an array grown past the keep bound
 * is given back before the next request. */
static void test_argument_growth(void **state) {
    (void)state;
    char line[LINE_BYTES];
    size_t length = (size_t)snprintf(line, sizeof(line), "del");
    for (int i = 0; i < 100; i++) {
        length += (size_t)snprintf(line + length, sizeof(line) - length, " k%d", i);
    }
    struct stoa_alloc_stats before;
    struct stoa_alloc_stats after;
    stoa_alloc_stats(&before);
    expect_write("del a", STOA_OP_DEL, "a");
    stoa_alloc_stats(&after);
    assert_int_equal(after.allocation_count, before.allocation_count);

    stoa_alloc_fail_nth(1);
    assert_int_equal(run(line), STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_string_equal(out.error, "ERR out of memory");
    assert_int_equal(run(line), STOA_OK);
    assert_int_equal(out.argument_count, 100);
    assert_memory_equal(out.arguments[99].data, "k99", 3);
    stoa_alloc_stats(&after);
    assert_int_equal(after.live_count, before.live_count + 1);
    /* Reused, not grown again. */
    assert_int_equal(run(line), STOA_OK);
    stoa_alloc_stats(&before);
    assert_int_equal(before.live_count, after.live_count);

    /* A request larger than the keep bound leaves an array that the next one frees. */
    static struct stoa_command_argument many[STOA_COMMANDS_ARGUMENTS_KEEP + 2];
    many[0] = (struct stoa_command_argument){(const uint8_t *)"del", 3};
    for (size_t i = 1; i < sizeof(many) / sizeof(many[0]); i++) {
        many[i] = (struct stoa_command_argument){(const uint8_t *)"k", 1};
    }
    assert_int_equal(run_argv(many, sizeof(many) / sizeof(many[0]), STOA_COMMANDS_DOOR_RESP),
                     STOA_OK);
    expect_write("del a", STOA_OP_DEL, "a");
    stoa_alloc_stats(&after);
    assert_int_equal(after.live_count, before.live_count - 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_self_check),
        cmocka_unit_test_setup_teardown(test_issue_commands_present, setup, teardown),
        cmocka_unit_test(test_lookup),
        cmocka_unit_test_setup_teardown(test_unknown_command, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_subcommand, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_family, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test(test_parse_int64),
        cmocka_unit_test(test_parse_long_double),
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deques, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lpos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hello, setup, teardown),
        cmocka_unit_test_setup_teardown(test_argument_growth, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
