/* Shows that the client-side reply parser reads every RESP2 and RESP3 type from exact bytes,
 * the same way whether the bytes come whole or one at a time, skips attributes, and refuses
 * malformed or over-limit replies with a reason instead of crashing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "proto/resp_reply.h"
#include "util/alloc.h"
#include "util/err.h"

#define TEXT_BYTES 8192

static void append_text(char *out, size_t *length, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    int n = vsnprintf(out + *length, TEXT_BYTES - *length, format, arguments);
    va_end(arguments);
    assert_true(n >= 0 && (size_t)n < TEXT_BYTES - *length);
    *length += (size_t)n;
}

/* One element as a token: its marker, then its text, integer or count; an aggregate also
 * gets ^span. Bytes outside printable ASCII are \xHH. */
static void describe_element(const struct stoa_resp_reply_element *element, const uint8_t *data,
                             char *out, size_t *length) {
    append_text(out, length, "%s%c", *length > 0 ? " " : "", element->marker);
    switch (element->type) {
    case STOA_RESP_REPLY_INTEGER:
    case STOA_RESP_REPLY_BOOLEAN:
        append_text(out, length, "%lld", (long long)element->integer);
        return;
    case STOA_RESP_REPLY_NULL:
        append_text(out, length, "null");
        return;
    case STOA_RESP_REPLY_ARRAY:
    case STOA_RESP_REPLY_MAP:
    case STOA_RESP_REPLY_SET:
    case STOA_RESP_REPLY_PUSH:
        append_text(out, length, "%zu^%zu", element->count, element->span);
        return;
    case STOA_RESP_REPLY_STATUS:
    case STOA_RESP_REPLY_ERROR:
    case STOA_RESP_REPLY_BULK:
    case STOA_RESP_REPLY_DOUBLE:
    case STOA_RESP_REPLY_VERBATIM:
    case STOA_RESP_REPLY_BIG_NUMBER:
        break;
    }
    assert_int_equal(element->span, 1);
    for (size_t i = 0; i < element->length; i++) {
        uint8_t byte = data[element->offset + i];
        if (byte > 0x20 && byte < 0x7f && byte != '\\') {
            append_text(out, length, "%c", byte);
        } else {
            append_text(out, length, "\\x%02x", byte);
        }
    }
}

/* Parses input arriving piece bytes at a time (all at once if piece is 0), reply after reply
 * as a client would, and describes each reply as "{tokens}", then how it ended: "AGAIN+<bytes
 * kept>" or "ERR:<reason>". */
static void feed(const void *input, size_t length, size_t piece, char *out) {
    struct stoa_resp_reply_parser parser;
    stoa_resp_reply_parser_init(&parser);
    size_t out_length = 0;
    out[0] = '\0';
    size_t consumed = 0;
    size_t arrived = piece == 0 || piece > length ? length : piece;
    const uint8_t *bytes = input;
    for (size_t round = 0; round <= 2 * length + 2; round++) {
        struct stoa_resp_reply reply;
        size_t used = 0;
        int result =
            stoa_resp_reply_parse(&parser, bytes + consumed, arrived - consumed, &reply, &used);
        if (result == STOA_OK) {
            assert_true(used > 0 && used <= arrived - consumed);
            assert_int_equal(reply.elements[0].span, reply.element_count);
            char tokens[TEXT_BYTES];
            size_t tokens_length = 0;
            tokens[0] = '\0';
            for (size_t i = 0; i < reply.element_count; i++) {
                describe_element(&reply.elements[i], bytes + consumed, tokens, &tokens_length);
            }
            append_text(out, &out_length, "{%s}", tokens);
            consumed += used;
        } else if (result == STOA_ERR_AGAIN) {
            if (arrived == length) {
                append_text(out, &out_length, "AGAIN+%zu", arrived - consumed);
                break;
            }
            arrived = piece == 0 || length - arrived < piece ? length : arrived + piece;
        } else {
            assert_int_equal(result, STOA_ERR_MALFORMED);
            append_text(out, &out_length, "ERR:%s", parser.error);
            /* A failed parser stays failed. */
            struct stoa_resp_reply again;
            assert_int_equal(stoa_resp_reply_parse(&parser, bytes, length, &again, &used),
                             STOA_ERR_MALFORMED);
            break;
        }
    }
    stoa_resp_reply_parser_free(&parser);
}

/* The description of input, checked to be the same whole and one byte at a time. */
static void expect_bytes(const void *input, size_t length, const char *expected) {
    char whole[TEXT_BYTES];
    char bytewise[TEXT_BYTES];
    feed(input, length, 0, whole);
    feed(input, length, 1, bytewise);
    assert_string_equal(whole, expected);
    assert_string_equal(bytewise, expected);
}

static void expect(const char *input, const char *expected) {
    expect_bytes(input, strlen(input), expected);
}

/* ---- tests ---- */

/* RESP2's five types, with nulls, signs and binary bulk data. */
static void test_resp2_types(void **state) {
    (void)state;
    expect("+OK\r\n", "{+OK}AGAIN+0");
    expect("-ERR unknown command 'x'\r\n", "{-ERR\\x20unknown\\x20command\\x20'x'}AGAIN+0");
    expect(":0\r\n:-42\r\n", "{:0}{:-42}AGAIN+0");
    expect(":9223372036854775807\r\n:-9223372036854775808\r\n",
           "{:9223372036854775807}{:-9223372036854775808}AGAIN+0");
    expect("$3\r\nfoo\r\n$0\r\n\r\n", "{$foo}{$}AGAIN+0");
    expect("$3\r\na\r\n\r\n", "{$a\\x0d\\x0a}AGAIN+0");
    expect("$-1\r\n*-1\r\n", "{$null}{*null}AGAIN+0");
    expect("*0\r\n", "{*0^1}AGAIN+0");
}

/* Nested arrays record their children in pre-order with the span of each subtree. */
static void test_nested_arrays(void **state) {
    (void)state;
    expect("*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n*0\r\n", "{*3^6 :1 *2^3 +a $b *0^1}AGAIN+0");
    expect("*2\r\n*1\r\n*1\r\n:1\r\n:2\r\n", "{*2^5 *1^3 *1^2 :1 :2}AGAIN+0");
}

/* RESP3's types: null, double, boolean, bulk error, verbatim, big number, map, set, push. */
static void test_resp3_types(void **state) {
    (void)state;
    expect("_\r\n", "{_null}AGAIN+0");
    expect(",3.14\r\n,-inf\r\n,1e+21\r\n", "{,3.14}{,-inf}{,1e+21}AGAIN+0");
    expect("#t\r\n#f\r\n", "{#1}{#0}AGAIN+0");
    expect("!8\r\nERR a\r\nb\r\n", "{!ERR\\x20a\\x0d\\x0ab}AGAIN+0");
    expect("=8\r\ntxt:abcd\r\n", "{=abcd}AGAIN+0");
    expect("(-3492890328409238509324850943850943825024385\r\n",
           "{(-3492890328409238509324850943850943825024385}AGAIN+0");
    expect("%2\r\n+k\r\n:1\r\n$2\r\nk2\r\n#t\r\n", "{%2^5 +k :1 $k2 #1}AGAIN+0");
    expect("~2\r\n:1\r\n:2\r\n>2\r\n+message\r\n+x\r\n", "{~2^3 :1 :2}{>2^3 +message +x}AGAIN+0");
    expect("%0\r\n~0\r\n", "{%0^1}{~0^1}AGAIN+0");
}

/* An attribute leaves nothing in the table, at the top or inside an aggregate. */
static void test_attributes_skipped(void **state) {
    (void)state;
    expect("|1\r\n+key\r\n+val\r\n+OK\r\n", "{+OK}AGAIN+0");
    expect("*2\r\n|1\r\n+a\r\n*1\r\n:1\r\n:7\r\n:8\r\n", "{*2^3 :7 :8}AGAIN+0");
    expect("|0\r\n:1\r\n", "{:1}AGAIN+0");
    /* An attribute on an attribute's value: +d is the outer pair's value, +e the reply. */
    expect("|1\r\n+a\r\n|1\r\n+b\r\n+c\r\n+d\r\n+e\r\n", "{+e}AGAIN+0");
}

/* An incomplete reply asks for more bytes and keeps them. */
static void test_need_more(void **state) {
    (void)state;
    expect("", "AGAIN+0");
    expect("+OK\r", "AGAIN+4");
    expect("$5\r\nab", "AGAIN+6");
    expect("$2\r\nab\r", "AGAIN+7");
    expect("*2\r\n:1\r\n", "AGAIN+8");
    expect("|1\r\n+a\r\n+b\r\n", "AGAIN+12");
    expect("+A\r\n+B", "{+A}AGAIN+2");
}

/* Malformed replies are refused with the reason, never asserted on. */
static void test_malformed(void **state) {
    (void)state;
    expect("x\r\n", "ERR:unknown reply type byte");
    expect("+a\rb\r\n", "ERR:CR without LF");
    expect("+a\nb\r\n", "ERR:LF without CR");
    expect("$2\r\nabc\r\n", "ERR:bulk string not followed by CRLF");
    expect("$-2\r\n", "ERR:invalid bulk length");
    expect("$536870913\r\n", "ERR:invalid bulk length");
    expect("$01\r\nx\r\n", "ERR:invalid length");
    expect("$+1\r\nx\r\n", "ERR:invalid length");
    expect("$\r\n", "ERR:invalid length");
    expect("$?\r\n", "ERR:streamed replies are not supported");
    expect("*-2\r\n", "ERR:invalid aggregate length");
    expect("%-1\r\n", "ERR:invalid aggregate length");
    expect("*4194305\r\n", "ERR:invalid aggregate length");
    expect("%2097153\r\n", "ERR:too many elements");
    expect("*2\r\n*4194304\r\n", "ERR:too many elements");
    expect(":1x\r\n", "ERR:invalid integer");
    expect(":9223372036854775808\r\n", "ERR:invalid integer");
    expect("#x\r\n", "ERR:invalid boolean");
    expect("_x\r\n", "ERR:null with a value");
    expect(",\r\n", "ERR:invalid double");
    expect(",1;\r\n", "ERR:invalid double");
    expect("(12a\r\n", "ERR:invalid big number");
    expect("=3\r\ntxt\r\n", "ERR:verbatim string without a format");
    expect("+A\r\n?\r\n", "{+A}ERR:unknown reply type byte");
}

/* Nesting is bounded by STOA_RESP_REPLY_DEPTH_MAX: that deep is read, one more refused. */
static void test_depth_limit(void **state) {
    (void)state;
    char input[TEXT_BYTES];
    size_t length = 0;
    for (int i = 0; i < STOA_RESP_REPLY_DEPTH_MAX; i++) {
        append_text(input, &length, "*1\r\n");
    }
    append_text(input, &length, ":1\r\n");
    char out[TEXT_BYTES];
    feed(input, length, 0, out);
    assert_non_null(strstr(out, "*1^2 :1}AGAIN+0"));
    char deeper[TEXT_BYTES];
    memcpy(deeper, "*1\r\n", 4);
    memcpy(deeper + 4, input, length);
    feed(deeper, length + 4, 0, out);
    assert_string_equal(out, "ERR:nesting too deep");
}

/* A line longer than STOA_RESP_REPLY_LINE_BYTES_MAX is refused before its end arrives. */
static void test_line_limit(void **state) {
    (void)state;
    size_t length = STOA_RESP_REPLY_LINE_BYTES_MAX + 16;
    uint8_t *input = stoa_alloc(length);
    assert_non_null(input);
    memset(input, 'a', length);
    input[0] = '+';
    char out[TEXT_BYTES];
    feed(input, length, 0, out);
    assert_string_equal(out, "ERR:line too long");
    /* Exactly the limit is a line. */
    size_t exact = STOA_RESP_REPLY_LINE_BYTES_MAX + 1;
    input[exact] = '\r';
    input[exact + 1] = '\n';
    struct stoa_resp_reply_parser parser;
    stoa_resp_reply_parser_init(&parser);
    struct stoa_resp_reply reply;
    size_t used = 0;
    assert_int_equal(stoa_resp_reply_parse(&parser, input, exact + 2, &reply, &used), STOA_OK);
    assert_int_equal(reply.elements[0].length, STOA_RESP_REPLY_LINE_BYTES_MAX);
    stoa_resp_reply_parser_free(&parser);
    stoa_free(input);
}

/* A reply of many elements grows the table; a failed growth consumes nothing and a retry
 * succeeds; nothing leaks. */
static void test_table_growth_and_failure(void **state) {
    (void)state;
    struct stoa_alloc_stats before;
    stoa_alloc_stats(&before);
    char input[TEXT_BYTES];
    size_t length = 0;
    append_text(input, &length, "*100\r\n");
    for (int i = 0; i < 100; i++) {
        append_text(input, &length, ":%d\r\n", i);
    }
    struct stoa_resp_reply_parser parser;
    stoa_resp_reply_parser_init(&parser);
    struct stoa_resp_reply reply;
    size_t used = 0;
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_resp_reply_parse(&parser, (const uint8_t *)input, length, &reply, &used),
                     STOA_ERR_NOMEM);
    assert_int_equal(stoa_resp_reply_parse(&parser, (const uint8_t *)input, length, &reply, &used),
                     STOA_OK);
    assert_int_equal(used, length);
    assert_int_equal(reply.element_count, 101);
    assert_int_equal(reply.elements[0].span, 101);
    assert_int_equal(reply.elements[100].integer, 99);
    stoa_resp_reply_parser_free(&parser);
    struct stoa_alloc_stats after;
    stoa_alloc_stats(&after);
    assert_int_equal(after.live_count, before.live_count);
}

/* A bulk arriving a byte at a time is not rescanned: its header is found once. */
static void test_resumed_bulk(void **state) {
    (void)state;
    static const char input[] = "$10\r\n0123456789\r\n";
    struct stoa_resp_reply_parser parser;
    stoa_resp_reply_parser_init(&parser);
    struct stoa_resp_reply reply;
    size_t used = 0;
    size_t length = sizeof(input) - 1;
    for (size_t arrived = 0; arrived < length; arrived++) {
        assert_int_equal(
            stoa_resp_reply_parse(&parser, (const uint8_t *)input, arrived, &reply, &used),
            STOA_ERR_AGAIN);
    }
    assert_int_equal(stoa_resp_reply_parse(&parser, (const uint8_t *)input, length, &reply, &used),
                     STOA_OK);
    assert_int_equal(used, length);
    assert_int_equal(reply.elements[0].offset, 5);
    assert_int_equal(reply.elements[0].length, 10);
    stoa_resp_reply_parser_free(&parser);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resp2_types),
        cmocka_unit_test(test_nested_arrays),
        cmocka_unit_test(test_resp3_types),
        cmocka_unit_test(test_attributes_skipped),
        cmocka_unit_test(test_need_more),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_table_growth_and_failure),
        cmocka_unit_test(test_resumed_bulk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
