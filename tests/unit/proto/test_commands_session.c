/* Shows that the command core translates SESSION REGISTER into the engine's REGISTER_CLIENT
 * and SESSION WRITE into its inner write command's own translation tagged with the client id
 * and sequence, and refuses every bad SESSION WRITE (bad numbers, reads, admin and blocking
 * commands, nested sessions, the inner command's arity and syntax errors) with a clear line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/apply.h"
#include "proto/commands.h"
#include "util/err.h"

#define NOW 1700000000000LL
#define WORDS_MAX 64
#define LINE_BYTES 1024

static struct stoa_commands_output out;
static struct stoa_commands_output plain;
static char line_copy[LINE_BYTES];
static struct stoa_command_argument words[WORDS_MAX];

static int setup(void **state) {
    (void)state;
    stoa_commands_output_init(&out);
    stoa_commands_output_init(&plain);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    stoa_commands_output_free(&out);
    stoa_commands_output_free(&plain);
    return 0;
}

/* Splits line at spaces into words (borrowing line_copy) and returns their count. */
static size_t split(const char *line) {
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
            count++;
            start = i + 1;
        }
    }
    return count;
}

/* Runs line on door through find and translate into output, as a front door does. */
static int run_on(const char *line, uint32_t door, struct stoa_commands_output *output) {
    size_t count = split(line);
    const struct stoa_commands_spec *spec = NULL;
    int result = stoa_commands_find(words, count, door, output, &spec);
    if (result != STOA_OK) {
        return result;
    }
    return stoa_commands_translate(spec, words, count, NOW, 0, output);
}

static int run(const char *line) {
    return run_on(line, STOA_COMMANDS_DOOR_RESP, &out);
}

/* Expects line to be refused with code and exactly text. */
static void refused(const char *line, int code, const char *text) {
    int result = run(line);
    if (result != code || strcmp(out.error, text) != 0) {
        fail_msg("%s: got %d \"%s\", expected %d \"%s\"", line, result, out.error, code, text);
    }
    assert_int_equal(out.kind, STOA_COMMANDS_KIND_ERROR);
    assert_int_equal(out.error_length, strlen(text));
}

/* Expects SESSION WRITE <id> <sequence> <inner> to translate exactly as inner alone does,
 * with the session's client id and sequence. */
static void same_as_plain(const char *inner, uint64_t client_id, uint64_t sequence) {
    char line[LINE_BYTES];
    snprintf(line, sizeof(line), "session write %llu %llu %s", (unsigned long long)client_id,
             (unsigned long long)sequence, inner);
    assert_int_equal(run_on(inner, STOA_COMMANDS_DOOR_RESP, &plain), STOA_OK);
    assert_int_equal(plain.client_id, 0);
    /* The plain output's arguments borrow line_copy: keep a copy of them. */
    uint8_t bytes[LINE_BYTES];
    size_t lengths[WORDS_MAX];
    size_t used = 0;
    size_t count = plain.argument_count;
    uint32_t opcode = plain.opcode;
    assert_true(count <= WORDS_MAX);
    for (size_t i = 0; i < count; i++) {
        assert_true(used + plain.arguments[i].length <= sizeof(bytes));
        memcpy(bytes + used, plain.arguments[i].data, plain.arguments[i].length);
        lengths[i] = plain.arguments[i].length;
        used += lengths[i];
    }
    assert_int_equal(run(line), STOA_OK);
    assert_int_equal(out.kind, STOA_COMMANDS_KIND_WRITE);
    assert_int_equal(out.opcode, opcode);
    assert_int_equal(out.client_id, client_id);
    assert_int_equal(out.sequence, sequence);
    assert_int_equal(out.argument_count, count);
    used = 0;
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(out.arguments[i].length, lengths[i]);
        assert_memory_equal(out.arguments[i].data, bytes + used, lengths[i]);
        used += lengths[i];
    }
    assert_string_equal(out.spec->name, "session|write");
}

/* SESSION REGISTER is the engine's REGISTER_CLIENT with no arguments, on RESP and HTTP. */
static void test_register(void **state) {
    (void)state;
    assert_int_equal(run("SESSION REGISTER"), STOA_OK);
    assert_int_equal(out.kind, STOA_COMMANDS_KIND_WRITE);
    assert_int_equal(out.opcode, STOA_OP_REGISTER_CLIENT);
    assert_int_equal(out.argument_count, 0);
    assert_int_equal(out.client_id, 0);
    assert_int_equal(run_on("session register", STOA_COMMANDS_DOOR_HTTP, &out), STOA_OK);
    assert_int_equal(out.opcode, STOA_OP_REGISTER_CLIENT);
    refused("session register x", STOA_ERR_INVALID,
            "ERR wrong number of arguments for 'session|register' command");
    assert_int_equal(run("session help"), STOA_OK);
    assert_int_equal(out.kind, STOA_COMMANDS_KIND_SERVER);
}

/* SESSION WRITE translates its inner write as the write alone would be, plus the session. */
static void test_write_translates_inner(void **state) {
    (void)state;
    same_as_plain("incr counter", 7, 1);
    same_as_plain("INCRBY counter 5", 7, 2);
    same_as_plain("set k v EX 10", 9223372036854775807ULL, 9223372036854775807ULL);
    same_as_plain("del a b c", 1, 3);
    same_as_plain("rpush list a b c d e f g h i j k l m n o p q r s t u v w x y z", 2, 4);
    same_as_plain("mset a 1 b 2 c 3 d 4 e 5 f 6 g 7 h 8 i 9 j 10", 2, 5);
    same_as_plain("flushall", 3, 1);
    /* The next request starts anonymous again. */
    assert_int_equal(run("incr counter"), STOA_OK);
    assert_int_equal(out.client_id, 0);
    assert_int_equal(out.sequence, 0);
}

/* Client ids and sequences are decimal integers from 1 to 2^63-1. */
static void test_bad_numbers(void **state) {
    (void)state;
    static const char *const bad[] = {"0", "-1", "x", "01", "+1", "1.0", "9223372036854775808"};
    char line[LINE_BYTES];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(line, sizeof(line), "session write %s 1 incr k", bad[i]);
        refused(line, STOA_ERR_INVALID,
                "ERR client id is not a positive integer (SESSION REGISTER gives one)");
        snprintf(line, sizeof(line), "session write 1 %s incr k", bad[i]);
        refused(line, STOA_ERR_INVALID,
                "ERR sequence is not a positive integer (a session counts 1, 2, 3, ...)");
    }
    /* Empty words (two spaces in a row). */
    refused("session write  1 incr k", STOA_ERR_INVALID,
            "ERR client id is not a positive integer (SESSION REGISTER gives one)");
    refused("session write 1  incr k", STOA_ERR_INVALID,
            "ERR sequence is not a positive integer (a session counts 1, 2, 3, ...)");
}

/* Only plain writes run inside: reads, server and admin commands, blocking pops and SESSION
 * itself are refused; the inner command's arity and syntax errors are its own. */
static void test_inner_refusals(void **state) {
    (void)state;
    refused("session write 1 1 get k", STOA_ERR_INVALID,
            "ERR SESSION WRITE runs write commands only: 'get' is not one (send it on its own)");
    refused("session write 1 1 ping", STOA_ERR_INVALID,
            "ERR SESSION WRITE runs write commands only: 'ping' is not one (send it on its own)");
    refused("session write 1 1 client kill 1.2.3.4:5", STOA_ERR_INVALID,
            "ERR SESSION WRITE runs write commands only: 'client|kill' is not one (send it on "
            "its own)");
    refused("session write 1 1 shutdown", STOA_ERR_INVALID,
            "ERR SESSION WRITE runs write commands only: 'shutdown' is not one (send it on its "
            "own)");
    refused("session write 1 1 blpop k 0", STOA_ERR_INVALID,
            "ERR SESSION WRITE cannot run 'blpop': blocking commands are refused in a session");
    refused("session write 1 1 blmove a b left right 0", STOA_ERR_INVALID,
            "ERR SESSION WRITE cannot run 'blmove': blocking commands are refused in a session");
    refused("session write 1 1 session register", STOA_ERR_INVALID,
            "ERR SESSION WRITE cannot hold a SESSION command");
    refused("session write 1 1 session write 1 2 incr k", STOA_ERR_INVALID,
            "ERR SESSION WRITE cannot hold a SESSION command");
    refused("session write 1 1 incr", STOA_ERR_INVALID,
            "ERR wrong number of arguments for 'incr' command");
    refused("session write 1 1 set k", STOA_ERR_INVALID,
            "ERR wrong number of arguments for 'set' command");
    refused("session write 1 1 set k v EX x", STOA_ERR_INVALID,
            "ERR value is not an integer or out of range");
    refused("session write 1 1 nosuch a", STOA_ERR_UNSUPPORTED,
            "ERR unknown command 'nosuch', with args beginning with: 'a' ");
    refused("session write 1 1 objput a b 1 2", STOA_ERR_UNSUPPORTED,
            "ERR unknown command 'objput', with args beginning with: 'a' 'b' '1' '2' ");
    refused("session write 1 1", STOA_ERR_INVALID,
            "ERR wrong number of arguments for 'session|write' command");
}

/* SESSION WRITE and SESSION HELP are RESP's only; the HTTP door has its own headers. */
static void test_doors(void **state) {
    (void)state;
    assert_int_equal(run_on("session write 1 1 incr k", STOA_COMMANDS_DOOR_HTTP, &out),
                     STOA_ERR_UNSUPPORTED);
    assert_string_equal(out.error, "ERR unknown subcommand 'write'. Try SESSION HELP.");
    assert_int_equal(run_on("session register", STOA_COMMANDS_DOOR_GEOMYS, &out),
                     STOA_ERR_UNSUPPORTED);
    refused("session nosuch", STOA_ERR_UNSUPPORTED,
            "ERR unknown subcommand 'nosuch'. Try SESSION HELP.");
    refused("session", STOA_ERR_INVALID, "ERR wrong number of arguments for 'session' command");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_translates_inner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inner_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_doors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
