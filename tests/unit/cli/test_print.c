/* Shows that stoa cli prints replies byte for byte as redis-cli 7 does, typed on a terminal
 * and raw otherwise (the expected texts were taken from redis-cli 7.0 against Redis 7.0),
 * for every RESP2 and RESP3 type and for nesting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cli/print.h"
#include "proto/resp_reply.h"
#include "util/err.h"

/* Parses one reply from input and prints it in mode; returns the text (static storage). */
static const char *printed(const char *input, enum stoa_cli_print_mode mode) {
    static char text[8192];
    struct stoa_resp_reply_parser parser;
    stoa_resp_reply_parser_init(&parser);
    struct stoa_resp_reply reply;
    size_t used = 0;
    assert_int_equal(
        stoa_resp_reply_parse(&parser, (const uint8_t *)input, strlen(input), &reply, &used),
        STOA_OK);
    assert_int_equal(used, strlen(input));
    struct stoa_buf out;
    stoa_buf_init(&out, sizeof(text) - 1);
    assert_int_equal(stoa_cli_print_reply(&out, &reply, (const uint8_t *)input, mode), STOA_OK);
    memcpy(text, out.data, out.length);
    text[out.length] = '\0';
    stoa_buf_free(&out);
    stoa_resp_reply_parser_free(&parser);
    return text;
}

static void expect(const char *input, const char *tty, const char *raw) {
    assert_string_equal(printed(input, STOA_CLI_PRINT_TTY), tty);
    assert_string_equal(printed(input, STOA_CLI_PRINT_RAW), raw);
}

/* Status, error, integer, bulk (quoted with escapes on a terminal) and nil. */
static void test_scalars(void **state) {
    (void)state;
    expect("+OK\r\n", "OK\n", "OK\n");
    expect("-ERR unknown command 'foo'\r\n", "(error) ERR unknown command 'foo'\n",
           "ERR unknown command 'foo'\n\n");
    expect(":-5\r\n", "(integer) -5\n", "-5\n");
    expect("$1\r\nv\r\n", "\"v\"\n", "v\n");
    expect("$-1\r\n", "(nil)\n", "\n");
    expect("*-1\r\n", "(nil)\n", "\n");
    expect("$12\r\na\"b\\c\n\r\t\a\b\x01\xff\r\n", "\"a\\\"b\\\\c\\n\\r\\t\\a\\b\\x01\\xff\"\n",
           "a\"b\\c\n\r\t\a\b\x01\xff\n");
}

/* Arrays are numbered, nested ones indented under their number, wide indexes right-aligned. */
static void test_arrays(void **state) {
    (void)state;
    expect("*6\r\n$1\r\na\r\n$1\r\nb\r\n$3\r\nc d\r\n$3\r\ne\nf\r\n$1\r\n\x01\r\n$3\r\nq\"q\r\n",
           "1) \"a\"\n2) \"b\"\n3) \"c d\"\n4) \"e\\nf\"\n5) \"\\x01\"\n6) \"q\\\"q\"\n",
           "a\nb\nc d\ne\nf\n\x01\nq\"q\n");
    expect("*0\r\n", "(empty array)\n", "\n");
    expect("*4\r\n:1\r\n*2\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n*0\r\n$1\r\ny\r\n",
           "1) (integer) 1\n"
           "2) 1) (integer) 2\n"
           "   2) 1) (integer) 3\n"
           "      2) \"x\"\n"
           "3) (empty array)\n"
           "4) \"y\"\n",
           "1\n2\n3\nx\n\ny\n");
    expect("*11\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n:9\r\n:10\r\n*2\r\n:1\r\n:2\r\n",
           " 1) (integer) 1\n 2) (integer) 2\n 3) (integer) 3\n 4) (integer) 4\n"
           " 5) (integer) 5\n 6) (integer) 6\n 7) (integer) 7\n 8) (integer) 8\n"
           " 9) (integer) 9\n10) (integer) 10\n11) 1) (integer) 1\n    2) (integer) 2\n",
           "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n1\n2\n");
}

/* Maps print "n# key => value"; a value of several lines starts on the next line. */
static void test_maps(void **state) {
    (void)state;
    expect("%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nmodules\r\n*0\r\n",
           "1# \"server\" => \"redis\"\n2# \"modules\" => (empty array)\n",
           "server redis\nmodules \n");
    expect("%2\r\n$1\r\na\r\n*2\r\n:1\r\n*2\r\n:2\r\n:3\r\n$1\r\nb\r\n%1\r\n$1\r\nc\r\n:1\r\n",
           "1# \"a\" => \n"
           "   1) (integer) 1\n"
           "   2) 1) (integer) 2\n"
           "      2) (integer) 3\n"
           "2# \"b\" => 1# \"c\" => (integer) 1\n",
           "a 1\n2\n3\nb c 1\n");
    expect("%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n",
           "1# (integer) 0 => (false)\n2# (integer) 1 => (true)\n3# (integer) 2 => (false)\n",
           "0 (false)\n1 (true)\n2 (false)\n");
    expect("%0\r\n", "(empty hash)\n", "\n");
}

/* COMMAND DOCS GET as redis-cli shows it: maps in maps in an array. */
static void test_command_docs(void **state) {
    (void)state;
    expect("%1\r\n$3\r\nget\r\n%5\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n"
           "$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n"
           "$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n%3\r\n"
           "$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n"
           "$14\r\nkey_spec_index\r\n:0\r\n",
           "1# \"get\" => \n"
           "   1# \"summary\" => \"Get the value of a key\"\n"
           "   2# \"since\" => \"1.0.0\"\n"
           "   3# \"group\" => \"string\"\n"
           "   4# \"complexity\" => \"O(1)\"\n"
           "   5# \"arguments\" => \n"
           "      1) 1# \"name\" => \"key\"\n"
           "         2# \"type\" => \"key\"\n"
           "         3# \"key_spec_index\" => (integer) 0\n",
           "get summary Get the value of a key\nsince 1.0.0\ngroup string\ncomplexity O(1)\n"
           "arguments name key\ntype key\nkey_spec_index 0\n");
}

/* RESP3's other types: double, boolean, verbatim, big number, null, set, push, bulk error. */
static void test_resp3_types(void **state) {
    (void)state;
    expect(",3.141\r\n", "(double) 3.141\n", "3.141\n");
    expect("#t\r\n", "(true)\n", "(true)\n");
    expect("=29\r\ntxt:This is a verbatim\nstring\r\n", "This is a verbatim\nstring\n",
           "This is a verbatim\nstring\n");
    expect("(123456789012345678901234567890\r\n", "(big number) 123456789012345678901234567890\n",
           "123456789012345678901234567890\n");
    expect("_\r\n", "(nil)\n", "\n");
    expect("~3\r\n:0\r\n:1\r\n:2\r\n", "1~ (integer) 0\n2~ (integer) 1\n3~ (integer) 2\n",
           "0\n1\n2\n");
    expect("~0\r\n", "(empty set)\n", "\n");
    expect(">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n", "1) \"server-cpu-usage\"\n2) (integer) 42\n",
           "server-cpu-usage\n42\n");
    expect("!5\r\nERR x\r\n", "(error) ERR x\n", "ERR x\n\n");
}

/* An output buffer that refuses to grow stops the printing with its error. */
static void test_output_limit(void **state) {
    (void)state;
    static const char input[] = "*2\r\n$10\r\n0123456789\r\n:1\r\n";
    struct stoa_resp_reply_parser parser;
    stoa_resp_reply_parser_init(&parser);
    struct stoa_resp_reply reply;
    size_t used = 0;
    assert_int_equal(
        stoa_resp_reply_parse(&parser, (const uint8_t *)input, sizeof(input) - 1, &reply, &used),
        STOA_OK);
    struct stoa_buf out;
    stoa_buf_init(&out, 8);
    assert_int_equal(stoa_cli_print_reply(&out, &reply, (const uint8_t *)input, STOA_CLI_PRINT_TTY),
                     STOA_ERR_TOO_LARGE);
    assert_true(out.length <= 8);
    stoa_buf_free(&out);
    stoa_resp_reply_parser_free(&parser);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),     cmocka_unit_test(test_arrays),
        cmocka_unit_test(test_maps),        cmocka_unit_test(test_command_docs),
        cmocka_unit_test(test_resp3_types), cmocka_unit_test(test_output_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
