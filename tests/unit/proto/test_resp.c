/* Shows that the RESP parser reads every request shape Redis reads, with Redis's error texts,
 * the same way however the bytes are cut into reads and in time linear in the input, and
 * that the writer produces Redis's exact reply bytes in RESP2 and RESP3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "proto/resp.h"
#include "util/alloc.h"
#include "util/err.h"

#define TEXT_BYTES 4096

/* ---- helpers ---- */

static void append_text(char *out, size_t *length, const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    int n = vsnprintf(out + *length, TEXT_BYTES - *length, format, arguments);
    va_end(arguments);
    assert_true(n >= 0 && (size_t)n < TEXT_BYTES - *length);
    *length += (size_t)n;
}

/* Appends a request as "[arg,arg]" (bytes outside printable ASCII as \xHH), "i" if inline. */
static void describe_request(const struct stoa_resp_request *request, const uint8_t *data,
                             char *out, size_t *length) {
    append_text(out, length, "[");
    for (size_t i = 0; i < request->argument_count; i++) {
        const struct stoa_resp_argument *argument = &request->arguments[i];
        append_text(out, length, i > 0 ? "," : "");
        for (size_t j = 0; j < argument->length; j++) {
            uint8_t byte = data[argument->offset + j];
            if (byte >= 0x21 && byte < 0x7f && byte != ',' && byte != '\\') {
                append_text(out, length, "%c", byte);
            } else {
                append_text(out, length, "\\x%02x", byte);
            }
        }
    }
    append_text(out, length, request->is_inline ? "]i" : "]");
}

/* Feeds input to a parser as a client's reads would arrive: first split bytes (all if
 * split >= length), then piece bytes at a time (the rest at once if piece is 0), dropping
 * used bytes as a server does. Describes every request, then how it ended: "AGAIN+<bytes
 * kept>" or "ERR:<text>". */
static void feed(const void *input, size_t length, size_t split, size_t piece, bool auth,
                 char *out) {
    uint8_t *copy = stoa_alloc(length + 1); /* parsing may rewrite inline escapes */
    assert_non_null(copy);
    memcpy(copy, input, length);
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    parser.unauthenticated = auth;
    size_t out_length = 0;
    out[0] = '\0';
    size_t consumed = 0;
    size_t arrived = split < length ? split : length;
    for (;;) {
        struct stoa_resp_request request;
        size_t used = 0;
        int result = stoa_resp_parse(&parser, copy + consumed, arrived - consumed, &request, &used);
        if (result == STOA_OK) {
            describe_request(&request, copy + consumed, out, &out_length);
            consumed += used;
        } else if (result == STOA_ERR_AGAIN) {
            consumed += used;
            if (arrived == length) {
                append_text(out, &out_length, "AGAIN+%zu", arrived - consumed);
                break;
            }
            arrived = piece == 0 || length - arrived < piece ? length : arrived + piece;
        } else {
            append_text(out, &out_length, "ERR:%s", parser.error);
            break;
        }
    }
    stoa_resp_parser_free(&parser);
    stoa_free(copy);
}

/* Asserts what input parses to when it arrives in one read. */
static void expect_parse(const char *input, size_t length, const char *expected) {
    char out[TEXT_BYTES];
    feed(input, length, length, 0, false, out);
    assert_string_equal(out, expected);
}

#define EXPECT(input, expected) expect_parse(input, sizeof(input) - 1, expected)

/* Asserts that input parses the same way cut at every byte boundary and a byte at a time. */
static void expect_split_invariant(const char *input, size_t length, bool auth) {
    char whole[TEXT_BYTES];
    char cut[TEXT_BYTES];
    feed(input, length, length, 0, auth, whole);
    for (size_t split = 0; split <= length; split++) {
        feed(input, length, split, 0, auth, cut);
        assert_string_equal(cut, whole);
    }
    feed(input, length, 0, 1, auth, cut);
    assert_string_equal(cut, whole);
}

/* ---- requests ---- */

/* The exact offsets and lengths of a multibulk request's arguments, binary bytes included,
 * and the bytes it used. */
static void test_multibulk_golden(void **state) {
    (void)state;
    static const char input[] = "*3\r\n$3\r\nSET\r\n$4\r\nk\0\r\n\r\n$0\r\n\r\n";
    uint8_t data[sizeof(input)];
    memcpy(data, input, sizeof(input));
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    struct stoa_resp_request request;
    size_t used = 0;
    assert_int_equal(stoa_resp_parse(&parser, data, sizeof(input) - 1, &request, &used), STOA_OK);
    assert_int_equal(used, sizeof(input) - 1);
    assert_int_equal(request.argument_count, 3);
    assert_false(request.is_inline);
    const struct stoa_resp_argument expected[] = {{8, 3}, {17, 4}, {27, 0}};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(request.arguments[i].offset, expected[i].offset);
        assert_int_equal(request.arguments[i].length, expected[i].length);
    }
    struct stoa_command_argument pointers[3];
    stoa_resp_request_arguments(&request, data, pointers);
    assert_memory_equal(pointers[0].data, "SET", 3);
    assert_memory_equal(pointers[1].data, "k\0\r\n", 4);
    assert_ptr_equal(pointers[2].data, data + 27);
    stoa_resp_parser_free(&parser);
}

/* Inline requests: CRLF or a bare LF, runs of blanks, and the bytes used. */
static void test_inline_golden(void **state) {
    (void)state;
    EXPECT("PING\r\n", "[PING]iAGAIN+0");
    EXPECT("PING\n", "[PING]iAGAIN+0");
    EXPECT("  set\tk   v \r\n", "[set,k,v]iAGAIN+0");
    EXPECT("get k\r\nget", "[get,k]iAGAIN+3");
    /* A CR not before the LF ends a word like a blank. */
    EXPECT("a\rb\n", "[a,b]iAGAIN+0");
    /* \v and \f are skipped between words but are part of a word (sdssplitargs). */
    EXPECT("\va\vb\f\n", "[a\\x0bb\\x0c]iAGAIN+0");
}

/* Redis's inline quoting: escapes in double quotes, \' in single quotes, quotes inside a
 * word, empty quoted words, and a NUL ending the words. */
static void test_inline_quoting(void **state) {
    (void)state;
    EXPECT("set \"a b\" c\r\n", "[set,a\\x20b,c]iAGAIN+0");
    EXPECT("\"\\x41\\x4a\\x4A\\n\\r\\t\\b\\a\\\"\\\\\\q\"\n",
           "[AJJ\\x0a\\x0d\\x09\\x08\\x07\"\\x5cq]iAGAIN+0");
    EXPECT("\"\\xZZ\\x4\"\n", "[xZZx4]iAGAIN+0");
    EXPECT("'it\\'s' 'a\\nb' '\"'\n", "[it's,a\\x5cnb,\"]iAGAIN+0");
    EXPECT("\"\" '' x\n", "[,,x]iAGAIN+0");
    EXPECT("foo\"bar baz\"\n", "[foobar\\x20baz]iAGAIN+0");
    EXPECT("\"a\"\t'b'\r\n", "[a,b]iAGAIN+0");
    EXPECT("a\0b c\nPING\n", "[a]i[PING]iAGAIN+0");
    /* The rewritten bytes stay inside the request: the next one is untouched. */
    EXPECT("\"\\x41\\x42\"\n*1\r\n$1\r\nC\r\n", "[AB]i[C]AGAIN+0");
}

/* Unbalanced quotes and a closing quote followed by a non-blank are protocol errors. */
static void test_inline_unbalanced(void **state) {
    (void)state;
    const char *error = "ERR:ERR Protocol error: unbalanced quotes in request";
    EXPECT("\"foo\n", error);
    EXPECT("'foo\n", error);
    EXPECT("\"foo\"bar\n", error);
    EXPECT("'a'b\n", error);
    EXPECT("\"a\\\"\n", error);
    EXPECT("x \"\\\n", error);
    /* The NUL ends the line's words inside the quotes. */
    EXPECT("\"a\0\"\n", error);
}

/* "*0", "*-1", "*-10", blank lines and blank inline lines are skipped, and the bytes they took
 * are reported as used, also when no request follows yet. */
static void test_empty_requests(void **state) {
    (void)state;
    EXPECT("*0\r\n*-1\r\n\r\n\n  \t\r\n*-10\r\n*1\r\n$4\r\nPING\r\n", "[PING]AGAIN+0");
    EXPECT("*0\r\n", "AGAIN+0");
    EXPECT("*0\r\n*1\r\n$1\r\n", "AGAIN+8");

    uint8_t data[] = "*0\r\n\r\n*1\r\n$1";
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    struct stoa_resp_request request;
    size_t used = 99;
    assert_int_equal(stoa_resp_parse(&parser, data, sizeof(data) - 1, &request, &used),
                     STOA_ERR_AGAIN);
    assert_int_equal(used, 6);
    /* The skipped bytes are dropped; the partial request's state follows them. */
    uint8_t rest[] = "*1\r\n$1\r\nx\r\n";
    assert_int_equal(stoa_resp_parse(&parser, rest, sizeof(rest) - 1, &request, &used), STOA_OK);
    assert_int_equal(used, sizeof(rest) - 1);
    assert_int_equal(request.arguments[0].offset, 8);
    stoa_resp_parser_free(&parser);
}

/* Several requests of both shapes in one buffer come out one per call, in order. */
static void test_pipeline(void **state) {
    (void)state;
    EXPECT("*1\r\n$4\r\nPING\r\nECHO hi\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\nQUIT\n",
           "[PING][ECHO,hi]i[GET,k][QUIT]iAGAIN+0");
    EXPECT("*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n*2\r\n$3\r\nGET",
           "[GET,a][GET,b]AGAIN+11");
}

/* Every stream, cut at every byte boundary or fed a byte at a time, parses exactly as when
 * it arrives whole: requests, errors and the bytes kept. */
static void test_split_everywhere(void **state) {
    (void)state;
    static const char *const streams[] = {
        "*3\r\n$3\r\nSET\r\n$5\r\nk\r\ney\r\n$0\r\n\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
        "*0\r\n*-1\r\n\n\r\nset \"a\\x41\\n\" 'b\\'c'\r\n*2\r\n$1\r\na\r\n$2\r\nbc\r\n",
        "*2\r\n$3\r\nfoo$3\r\nbar\r\n",
        "*1\r\n$3\r\nfooXY*1\r\n$1\r\nz\r\n",
        "*1\r\n$-1\r\n",
        "*1\r\nx\r\n",
        "*12\r\n",
        "GET a\r\n*1\r\n$20000\r\n",
        "ECHO \"unbalanced\r\n",
        "*+1\r\n",
        "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv",
    };
    for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
        expect_split_invariant(streams[i], strlen(streams[i]), false);
        expect_split_invariant(streams[i], strlen(streams[i]), true);
    }
}

/* Each malformed multibulk shape gets Redis's exact error text. */
static void test_malformed(void **state) {
    (void)state;
    const char *multibulk = "ERR:ERR Protocol error: invalid multibulk length";
    const char *bulk = "ERR:ERR Protocol error: invalid bulk length";
    EXPECT("*abc\r\n", multibulk);
    EXPECT("*+1\r\n", multibulk);
    EXPECT("*01\r\n", multibulk);
    EXPECT("*-0\r\n", multibulk);
    EXPECT("*\r\n", multibulk);
    EXPECT("* 1\r\n", multibulk);
    EXPECT("*1 \r\n", multibulk);
    EXPECT("*99999999999999999999\r\n", multibulk);
    EXPECT("*-9223372036854775809\r\n", multibulk);
    EXPECT("*1\r\n$-1\r\n", bulk);
    EXPECT("*1\r\n$-5\r\n", bulk);
    EXPECT("*1\r\n$+3\r\n", bulk);
    EXPECT("*1\r\n$3a\r\n", bulk);
    EXPECT("*1\r\n$\r\n", bulk);
    EXPECT("*1\r\n$03\r\n", bulk);
    EXPECT("*1\r\n$18446744073709551616\r\n", bulk);
    EXPECT("*1\r\nx3\r\n", "ERR:ERR Protocol error: expected '$', got 'x'");
    /* From Redis's own protocol test ("Wrong multibulk payload header"). */
    EXPECT("*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n",
           "ERR:ERR Protocol error: expected '$', got 'f'");
    /* A header is complete once a byte follows its CR, as in Redis. */
    EXPECT("*1\r\nfoo\r", "AGAIN+8");
    /* The minimal integers and the largest multibulk count are read. */
    EXPECT("*1\r\n$0\r\n\r\n", "[]AGAIN+0");
    EXPECT("*-9223372036854775808\r\nPING\n", "[PING]iAGAIN+0");
}

/* Redis does not look at the two bytes after a bulk's data: they are skipped, so a wrong
 * pair loses two bytes, and a short bulk shows up as an error on the next header. */
static void test_bulk_terminator(void **state) {
    (void)state;
    EXPECT("*1\r\n$3\r\nfooXY*1\r\n$1\r\nz\r\n", "[foo][z]AGAIN+0");
    EXPECT("*2\r\n$3\r\nfoo$3\r\nbar\r\n", "ERR:ERR Protocol error: expected '$', got ' '");
    /* A bare LF after the data takes the next request's '*' with it. */
    EXPECT("*1\r\n$3\r\nfoo\n*1\r\n$1\r\nz\r\n", "[foo][1]i[$1]i[z]iAGAIN+0");
    EXPECT("*1\r\n$3\r\nfoo", "AGAIN+11");
    EXPECT("*1\r\n$3\r\nfoo\r", "AGAIN+12");
}

/* A failed parser keeps failing with the same text, and the request is left untouched. */
static void test_failure_is_sticky(void **state) {
    (void)state;
    uint8_t data[] = "*x\r\n*1\r\n$1\r\na\r\n";
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    struct stoa_resp_request request = {.argument_count = 77};
    size_t used = 55;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(stoa_resp_parse(&parser, data, sizeof(data) - 1, &request, &used),
                         STOA_ERR_MALFORMED);
        assert_string_equal(parser.error, "ERR Protocol error: invalid multibulk length");
    }
    assert_int_equal(request.argument_count, 77);
    assert_int_equal(used, 55);
    stoa_resp_parser_free(&parser);
}

/* Before AUTH, more than 10 arguments or a bulk over 16 KiB is refused with Redis's texts. */
static void test_unauthenticated_limits(void **state) {
    (void)state;
    char out[TEXT_BYTES];
    feed("*10\r\n", 5, 5, 0, true, out);
    assert_string_equal(out, "AGAIN+5");
    feed("*11\r\n", 5, 5, 0, true, out);
    assert_string_equal(out, "ERR:ERR Protocol error: unauthenticated multibulk length");
    feed("*1\r\n$16384\r\n", 12, 12, 0, true, out);
    assert_string_equal(out, "AGAIN+12");
    feed("*1\r\n$16385\r\n", 12, 12, 0, true, out);
    assert_string_equal(out, "ERR:ERR Protocol error: unauthenticated bulk length");
    feed("*11\r\n", 5, 5, 0, false, out);
    assert_string_equal(out, "AGAIN+5");
}

/* Makes a stream of `prefix`, then `count` copies of fill, then suffix (owned; stoa_free). */
static char *repeat(const char *prefix, char fill, size_t count, const char *suffix,
                    size_t *length) {
    size_t prefix_length = strlen(prefix);
    size_t suffix_length = strlen(suffix);
    *length = prefix_length + count + suffix_length;
    char *text = stoa_alloc(*length + 1);
    assert_non_null(text);
    memcpy(text, prefix, prefix_length);
    memset(text + prefix_length, fill, count);
    memcpy(text + prefix_length + count, suffix, suffix_length);
    return text;
}

/* Parses data in one call and returns the result; *request gets a complete request. */
static int parse_once(void *data, size_t length, struct stoa_resp_request *request,
                      struct stoa_resp_parser *parser) {
    stoa_resp_parser_init(parser);
    size_t used = 0;
    return stoa_resp_parse(parser, data, length, request, &used);
}

/* Lines: an inline line (without its CRLF) or a header of up to 64 KiB is read, one byte
 * more is refused, whether or not the line's end has arrived. */
static void test_line_limits(void **state) {
    (void)state;
    static const struct {
        const char *prefix;
        size_t count;
        const char *suffix;
        int result;
        const char *error;
    } cases[] = {
        {"", STOA_RESP_INLINE_BYTES_MAX, "\r\n", STOA_OK, ""},
        {"", STOA_RESP_INLINE_BYTES_MAX, "\n", STOA_OK, ""},
        {"", STOA_RESP_INLINE_BYTES_MAX, "", STOA_ERR_AGAIN, ""},
        {"", STOA_RESP_INLINE_BYTES_MAX + 1, "", STOA_ERR_MALFORMED, "too big inline request"},
        {"", STOA_RESP_INLINE_BYTES_MAX + 1, "\r\n", STOA_ERR_MALFORMED, "too big inline request"},
        {"*", STOA_RESP_INLINE_BYTES_MAX - 1, "", STOA_ERR_AGAIN, ""},
        {"*", STOA_RESP_INLINE_BYTES_MAX, "", STOA_ERR_MALFORMED, "too big mbulk count string"},
        {"*1\r\n$", STOA_RESP_INLINE_BYTES_MAX - 1, "", STOA_ERR_AGAIN, ""},
        {"*1\r\n$", STOA_RESP_INLINE_BYTES_MAX, "", STOA_ERR_MALFORMED,
         "too big bulk count string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t length = 0;
        char *text = repeat(cases[i].prefix, '1', cases[i].count, cases[i].suffix, &length);
        struct stoa_resp_parser parser;
        struct stoa_resp_request request;
        assert_int_equal(parse_once(text, length, &request, &parser), cases[i].result);
        if (cases[i].result == STOA_OK) {
            assert_int_equal(request.argument_count, 1);
            assert_int_equal(request.arguments[0].length, STOA_RESP_INLINE_BYTES_MAX);
        }
        if (cases[i].result == STOA_ERR_MALFORMED) {
            assert_string_equal(parser.error + strlen("ERR Protocol error: "), cases[i].error);
        }
        stoa_resp_parser_free(&parser);
        stoa_free(text);
    }
}

/* Counts and lengths: the largest argument count and bulk length are accepted, one more is
 * refused; a request announcing more than 1 GiB in all is refused when it announces it. */
static void test_count_limits(void **state) {
    (void)state;
    EXPECT("*1048576\r\n", "AGAIN+10");
    EXPECT("*1048577\r\n", "ERR:ERR Protocol error: invalid multibulk length");
    EXPECT("*1\r\n$536870912\r\n", "AGAIN+16");
    EXPECT("*1\r\n$536870913\r\n", "ERR:ERR Protocol error: invalid bulk length");

    /* A first bulk of 512 MiB, then a second whose end would be byte 2^30 + 1 of the request.
     * Only the headers are written; the parser never looks at bulk data. */
    const size_t first = STOA_RESP_BULK_BYTES_MAX;
    const char head[] = "*2\r\n$536870912\r\n";
    size_t second_header_at = sizeof(head) - 1 + first + 2;
    size_t capacity = second_header_at + 64;
    uint8_t *data = stoa_calloc(1, capacity);
    assert_non_null(data);
    memcpy(data, head, sizeof(head) - 1);
    for (size_t extra = 0; extra <= 1; extra++) {
        char second[32];
        size_t second_length = 0;
        /* "$<n>\r\n" + n + 2 must total REQUEST_MAX + extra; n has 9 digits. */
        size_t n = (size_t)STOA_RESP_REQUEST_BYTES_MAX + extra - second_header_at - 12 - 2;
        second_length = (size_t)snprintf(second, sizeof(second), "$%zu\r\n", n);
        assert_int_equal(second_length, 12);
        memcpy(data + second_header_at, second, second_length);
        struct stoa_resp_parser parser;
        stoa_resp_parser_init(&parser);
        struct stoa_resp_request request;
        size_t used = 0;
        int result =
            stoa_resp_parse(&parser, data, second_header_at + second_length, &request, &used);
        assert_int_equal(result, extra == 0 ? STOA_ERR_AGAIN : STOA_ERR_MALFORMED);
        if (extra == 1) {
            assert_string_equal(parser.error, "ERR Protocol error: too big request");
        }
        assert_true(parser.inspected_bytes < 64);
        stoa_resp_parser_free(&parser);
    }
    stoa_free(data);
}

/* A request of the largest argument count parses, and the table it grew is given back
 * before the next request, while a small table is kept. */
static void test_largest_request(void **state) {
    (void)state;
    const size_t count = STOA_RESP_ARGUMENTS_MAX;
    const char head[] = "*1048576\r\n";
    const char each[] = "$1\r\nx\r\n";
    size_t length = sizeof(head) - 1 + count * (sizeof(each) - 1) + 6;
    uint8_t *data = stoa_alloc(length);
    assert_non_null(data);
    memcpy(data, head, sizeof(head) - 1);
    for (size_t i = 0; i < count; i++) {
        memcpy(data + sizeof(head) - 1 + i * (sizeof(each) - 1), each, sizeof(each) - 1);
    }
    memcpy(data + length - 6, "PING\r\n", 6);
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    struct stoa_resp_request request;
    size_t used = 0;
    assert_int_equal(stoa_resp_parse(&parser, data, length, &request, &used), STOA_OK);
    assert_int_equal(request.argument_count, count);
    assert_int_equal(request.arguments[count - 1].offset, length - 6 - 3);
    assert_int_equal(parser.argument_capacity, count);
    assert_int_equal(stoa_resp_parse(&parser, data + used, length - used, &request, &used),
                     STOA_OK);
    assert_int_equal(parser.argument_capacity, STOA_RESP_ARGUMENTS_CAPACITY_MIN);
    assert_int_equal(stoa_resp_parse(&parser, data, 0, &request, &used), STOA_ERR_AGAIN);
    assert_int_equal(parser.argument_capacity, STOA_RESP_ARGUMENTS_CAPACITY_MIN);
    stoa_resp_parser_free(&parser);
    stoa_free(data);
}

/* A 10 MiB bulk arriving in 64 KiB reads is parsed in linear time: the parser looks at the
 * header bytes once and never at the bulk's bytes, however many calls it takes. */
static void test_large_bulk_linear(void **state) {
    (void)state;
    const size_t bulk = 10 * 1024 * 1024;
    const char head[] = "*2\r\n$3\r\nSET\r\n$10485760\r\n";
    struct stoa_buf input;
    stoa_buf_init(&input, 16 * 1024 * 1024);
    assert_int_equal(stoa_buf_append(&input, head, sizeof(head) - 1), STOA_OK);
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    static uint8_t piece[64 * 1024];
    memset(piece, 'v', sizeof(piece));
    size_t calls = 0;
    size_t sent = 0;
    int result = STOA_ERR_AGAIN;
    struct stoa_resp_request request;
    size_t used = 0;
    while (result == STOA_ERR_AGAIN) {
        size_t room = bulk + 2 - sent;
        size_t n = room < sizeof(piece) ? room : sizeof(piece);
        assert_int_equal(stoa_buf_append(&input, piece, n), STOA_OK);
        sent += n;
        if (sent == bulk + 2) {
            memcpy(input.data + input.length - 2, "\r\n", 2);
        }
        result = stoa_resp_parse(&parser, input.data, input.length, &request, &used);
        calls++;
    }
    assert_int_equal(result, STOA_OK);
    assert_int_equal(calls, 161);
    assert_int_equal(request.arguments[1].length, bulk);
    assert_int_equal(used, input.length);
    assert_true(parser.inspected_bytes <= sizeof(head) - 1);
    stoa_resp_parser_free(&parser);
    stoa_buf_free(&input);
}

/* An inline line arriving a byte at a time is looked at about twice (scanned once for its
 * end, split once), not once per call. */
static void test_inline_byte_at_a_time_linear(void **state) {
    (void)state;
    size_t length = 0;
    char *text = repeat("", 'a', 60000, "\r\n", &length);
    for (size_t i = 7; i < 60000; i += 8) {
        text[i] = ' ';
    }
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    struct stoa_resp_request request;
    size_t used = 0;
    for (size_t arrived = 1; arrived < length; arrived++) {
        assert_int_equal(stoa_resp_parse(&parser, (uint8_t *)text, arrived, &request, &used),
                         STOA_ERR_AGAIN);
    }
    assert_int_equal(stoa_resp_parse(&parser, (uint8_t *)text, length, &request, &used), STOA_OK);
    assert_int_equal(request.argument_count, 7500);
    assert_true(parser.inspected_bytes <= 2 * length);
    stoa_resp_parser_free(&parser);
    stoa_free(text);
}

/* A failed growth of the argument table is an error reply, not a crash, and leaks nothing. */
static void test_allocation_failure(void **state) {
    (void)state;
    struct stoa_alloc_stats before;
    stoa_alloc_stats(&before);
    uint8_t data[] = "*1\r\n$1\r\na\r\n";
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    struct stoa_resp_request request;
    size_t used = 0;
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_resp_parse(&parser, data, sizeof(data) - 1, &request, &used),
                     STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_string_equal(parser.error, "ERR out of memory");
    stoa_resp_parser_free(&parser);
    struct stoa_alloc_stats after;
    stoa_alloc_stats(&after);
    assert_int_equal(after.live_count, before.live_count);
}

/* ---- replies ---- */

/* Writes with a fresh RESP2 and RESP3 writer and compares the bytes with the goldens. */
typedef void (*write_fn)(struct stoa_resp_writer *writer);

static void expect_written(write_fn write, const char *resp2, size_t resp2_length,
                           const char *resp3, size_t resp3_length) {
    for (int version = 2; version <= 3; version++) {
        struct stoa_buf buf;
        stoa_buf_init(&buf, 1024);
        struct stoa_resp_writer writer;
        stoa_resp_writer_init(&writer, &buf, version);
        write(&writer);
        assert_int_equal(writer.error, STOA_OK);
        const char *expected = version == 2 ? resp2 : resp3;
        size_t expected_length = version == 2 ? resp2_length : resp3_length;
        assert_int_equal(buf.length, expected_length);
        assert_memory_equal(buf.data, expected, expected_length);
        stoa_buf_free(&buf);
    }
}

#define EXPECT_WRITTEN(write, resp2, resp3)                                                        \
    expect_written(write, resp2, sizeof(resp2) - 1, resp3, sizeof(resp3) - 1)

static void w_status(struct stoa_resp_writer *w) {
    w->reply.ops->status(&w->reply, "OK");
    stoa_resp_write_status(w, "a\rb\nc");
}
static void w_error(struct stoa_resp_writer *w) {
    w->reply.ops->error(&w->reply, STOA_ERR_TYPE, "WRONGTYPE Operation against a key");
    stoa_resp_write_error(w, "ERR bad\r\nline");
}
static void w_integer(struct stoa_resp_writer *w) {
    w->reply.ops->integer(&w->reply, 0);
    stoa_resp_write_integer(w, -1);
    stoa_resp_write_integer(w, INT64_MAX);
    stoa_resp_write_integer(w, INT64_MIN);
}
static void w_bulk(struct stoa_resp_writer *w) {
    w->reply.ops->bulk(&w->reply, (const uint8_t *)"hello", 5);
    stoa_resp_write_bulk(w, NULL, 0);
    stoa_resp_write_bulk(w, (const uint8_t *)"a\r\n\0", 4);
}
static void w_null_bulk(struct stoa_resp_writer *w) {
    w->reply.ops->null_bulk(&w->reply);
}
static void w_array(struct stoa_resp_writer *w) {
    w->reply.ops->array(&w->reply, 2);
    stoa_resp_write_bulk(w, (const uint8_t *)"a", 1);
    stoa_resp_write_array(w, 0);
}
static void w_null_array(struct stoa_resp_writer *w) {
    w->reply.ops->null_array(&w->reply);
}
static void w_map(struct stoa_resp_writer *w) {
    stoa_resp_write_map(w, 1);
    stoa_resp_write_bulk(w, (const uint8_t *)"k", 1);
    stoa_resp_write_integer(w, 1);
}
static void w_set(struct stoa_resp_writer *w) {
    stoa_resp_write_set(w, 12);
}
static void w_double(struct stoa_resp_writer *w) {
    stoa_resp_write_double(w, 1.5);
    stoa_resp_write_double(w, -INFINITY);
    stoa_resp_write_double(w, 10);
}
static void w_verbatim(struct stoa_resp_writer *w) {
    stoa_resp_write_verbatim(w, "txt", (const uint8_t *)"hi\r\n", 4);
    stoa_resp_write_verbatim(w, "mkd", NULL, 0);
}
static void w_boolean(struct stoa_resp_writer *w) {
    stoa_resp_write_boolean(w, true);
    stoa_resp_write_boolean(w, false);
}
static void w_null(struct stoa_resp_writer *w) {
    stoa_resp_write_null(w);
}

/* Every reply shape, in RESP2 and RESP3, through the engine's interface and directly. */
static void test_reply_golden(void **state) {
    (void)state;
    EXPECT_WRITTEN(w_status, "+OK\r\n+a b c\r\n", "+OK\r\n+a b c\r\n");
    EXPECT_WRITTEN(w_error, "-WRONGTYPE Operation against a key\r\n-ERR bad  line\r\n",
                   "-WRONGTYPE Operation against a key\r\n-ERR bad  line\r\n");
    EXPECT_WRITTEN(w_integer, ":0\r\n:-1\r\n:9223372036854775807\r\n:-9223372036854775808\r\n",
                   ":0\r\n:-1\r\n:9223372036854775807\r\n:-9223372036854775808\r\n");
    EXPECT_WRITTEN(w_bulk, "$5\r\nhello\r\n$0\r\n\r\n$4\r\na\r\n\0\r\n",
                   "$5\r\nhello\r\n$0\r\n\r\n$4\r\na\r\n\0\r\n");
    EXPECT_WRITTEN(w_null_bulk, "$-1\r\n", "_\r\n");
    EXPECT_WRITTEN(w_array, "*2\r\n$1\r\na\r\n*0\r\n", "*2\r\n$1\r\na\r\n*0\r\n");
    EXPECT_WRITTEN(w_null_array, "*-1\r\n", "_\r\n");
    EXPECT_WRITTEN(w_map, "*2\r\n$1\r\nk\r\n:1\r\n", "%1\r\n$1\r\nk\r\n:1\r\n");
    EXPECT_WRITTEN(w_set, "*12\r\n", "~12\r\n");
    EXPECT_WRITTEN(w_double, "$3\r\n1.5\r\n$4\r\n-inf\r\n$2\r\n10\r\n", ",1.5\r\n,-inf\r\n,10\r\n");
    EXPECT_WRITTEN(w_verbatim, "$4\r\nhi\r\n\r\n$0\r\n\r\n", "=8\r\ntxt:hi\r\n\r\n=4\r\nmkd:\r\n");
    EXPECT_WRITTEN(w_boolean, ":1\r\n:0\r\n", "#t\r\n#f\r\n");
    EXPECT_WRITTEN(w_null, "$-1\r\n", "_\r\n");
}

/* Doubles are formatted as Redis's d2string formats them. */
static void test_double_format(void **state) {
    (void)state;
    const struct {
        double value;
        const char *text;
    } cases[] = {
        {0.0, "0"},
        {-0.0, "-0"},
        {1, "1"},
        {-3, "-3"},
        {1.5, "1.5"},
        {-1.5, "-1.5"},
        {0.1, "0.1"},
        {0.3, "0.3"},
        {3.14159, "3.14159"},
        {123456.789, "123456.789"},
        {12345678.9, "12345678.9"},
        {0.000001, "0.000001"},
        {0.000025, "0.000025"},
        {1e-7, "1e-7"},
        {1.5e-7, "1.5e-7"},
        {1.23e-7, "1.23e-7"},
        {1e17, "100000000000000000"},
        {4611686018427387904.0, "4611686018427387904"},
        {1e19, "1e+19"},
        {1e21, "1e+21"},
        {1.5e300, "1.5e+300"},
        {-1e300, "-1e+300"},
        {4.9e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {NAN, "nan"},
        {INFINITY, "inf"},
        {-INFINITY, "-inf"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[STOA_RESP_DOUBLE_TEXT_BYTES_MAX + 1];
        size_t length = stoa_resp_format_double(cases[i].value, text);
        assert_true(length <= STOA_RESP_DOUBLE_TEXT_BYTES_MAX);
        text[length] = '\0';
        assert_string_equal(text, cases[i].text);
    }
}

/* A writer whose buffer refuses an element keeps the error and writes nothing more; each
 * element is written whole or not at all. */
static void test_writer_sticky_error(void **state) {
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 16);
    struct stoa_resp_writer writer;
    stoa_resp_writer_init(&writer, &buf, STOA_RESP_VERSION_2);
    stoa_resp_write_status(&writer, "OK");
    stoa_resp_write_bulk(&writer, (const uint8_t *)"0123456789", 10);
    assert_int_equal(writer.error, STOA_ERR_TOO_LARGE);
    stoa_resp_write_integer(&writer, 1);
    writer.reply.ops->null_bulk(&writer.reply);
    stoa_resp_write_error(&writer, "ERR x");
    stoa_resp_write_double(&writer, 2.5);
    assert_int_equal(buf.length, 5);
    assert_memory_equal(buf.data, "+OK\r\n", 5);
    assert_int_equal(writer.error, STOA_ERR_TOO_LARGE);
    stoa_buf_free(&buf);
}

/* Replies allocate nothing once the buffer has room, and a version switch applies to the next
 * element. */
static void test_writer_no_allocation(void **state) {
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1 << 20);
    assert_int_equal(stoa_buf_reserve(&buf, 1 << 16), STOA_OK);
    struct stoa_resp_writer writer;
    stoa_resp_writer_init(&writer, &buf, STOA_RESP_VERSION_2);
    struct stoa_alloc_stats before;
    stoa_alloc_stats(&before);
    for (int i = 0; i < 100; i++) {
        stoa_resp_write_array(&writer, 3);
        stoa_resp_write_integer(&writer, i);
        stoa_resp_write_double(&writer, i / 7.0);
        writer.reply.ops->status(&writer.reply, "OK");
    }
    struct stoa_alloc_stats after;
    stoa_alloc_stats(&after);
    assert_int_equal(after.allocation_count, before.allocation_count);
    stoa_buf_reset(&buf);
    stoa_resp_write_null(&writer);
    stoa_resp_writer_set_version(&writer, STOA_RESP_VERSION_3);
    stoa_resp_write_null(&writer);
    assert_int_equal(buf.length, 8);
    assert_memory_equal(buf.data, "$-1\r\n_\r\n", 8);
    stoa_buf_free(&buf);
}

/* Parses the stream and writes a trace of every result. Whole (bytewise false): every call
 * sees all remaining bytes, and a warm parser (table already big enough) takes the one-pass
 * fast path for each complete request. Bytewise: the bytes arrive one at a time, so no
 * request is ever complete at its start and only the state machine runs. */
static size_t trace_parse(uint8_t *data, size_t length, char *trace, size_t capacity,
                          bool bytewise) {
    struct stoa_resp_parser parser;
    stoa_resp_parser_init(&parser);
    static uint8_t warmup[] = "*8\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n"
                              "$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n$1\r\na\r\n";
    struct stoa_resp_request request;
    size_t used = 0;
    assert_int_equal(stoa_resp_parse(&parser, warmup, sizeof(warmup) - 1, &request, &used),
                     STOA_OK);
    size_t written = 0;
    size_t offset = 0;
    size_t arrived = bytewise ? 0 : length;
    for (size_t guard = 0; guard < 4 * length + 8; guard++) {
        int result = stoa_resp_parse(&parser, data + offset, arrived - offset, &request, &used);
        if (result == STOA_OK) {
            for (size_t i = 0; i < request.argument_count; i++) {
                written += (size_t)snprintf(
                    trace + written, capacity - written, "[%.*s]", (int)request.arguments[i].length,
                    (const char *)data + offset + request.arguments[i].offset);
            }
            written += (size_t)snprintf(trace + written, capacity - written, ";");
            offset += used;
            continue;
        }
        if (result == STOA_ERR_AGAIN && arrived < length) {
            offset += used;
            arrived++;
            continue;
        }
        written += (size_t)snprintf(trace + written, capacity - written, "<%d %s>", result,
                                    result == STOA_ERR_AGAIN ? "" : parser.error);
        break;
    }
    stoa_resp_parser_free(&parser);
    return written;
}

/* The fast path for whole requests and the general state machine agree on every stream:
 * random pipelines of valid and damaged requests give the same trace parsed whole (fast
 * path) as fed one byte at a time (state machine only). */
static void test_fast_path_agrees(void **state) {
    (void)state;
    static const char *const pieces[] = {"*1\r\n$4\r\nPING\r\n",
                                         "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n",
                                         "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n",
                                         "*0\r\n",
                                         "*-1\r\n",
                                         "PING\r\n",
                                         "*2\r\n$01\r\na\r\n",
                                         "*02\r\n",
                                         "*2\r\n$-1\r\n",
                                         "*1\r\n$2\r\nab",
                                         "*1\r\n$x\r\n",
                                         "*12\r\n",
                                         "*1\r\n$3\r\nabcXY",
                                         "*9\r\n",
                                         "$3\r\nabc\r\n",
                                         "*1\r",
                                         "\r\n"};
    uint64_t random = 12345;
    for (int round = 0; round < 3000; round++) {
        uint8_t data[512];
        size_t length = 0;
        int count = 1 + (int)(random % 6);
        for (int i = 0; i < count; i++) {
            random = random * 6364136223846793005ULL + 1442695040888963407ULL;
            const char *piece = pieces[(random >> 33) % (sizeof(pieces) / sizeof(pieces[0]))];
            size_t n = strlen(piece);
            if (length + n < sizeof(data)) {
                memcpy(data + length, piece, n);
                length += n;
            }
        }
        uint8_t copy[512];
        memcpy(copy, data, length);
        char warm[8192];
        char cold[8192];
        size_t warm_length = trace_parse(data, length, warm, sizeof(warm), false);
        size_t cold_length = trace_parse(copy, length, cold, sizeof(cold), true);
        if (warm_length != cold_length || memcmp(warm, cold, warm_length) != 0) {
            fail_msg("fast path disagrees:\n whole    %.*s\n bytewise %.*s", (int)warm_length, warm,
                     (int)cold_length, cold);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multibulk_golden),
        cmocka_unit_test(test_inline_golden),
        cmocka_unit_test(test_inline_quoting),
        cmocka_unit_test(test_inline_unbalanced),
        cmocka_unit_test(test_empty_requests),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_bulk_terminator),
        cmocka_unit_test(test_failure_is_sticky),
        cmocka_unit_test(test_unauthenticated_limits),
        cmocka_unit_test(test_line_limits),
        cmocka_unit_test(test_count_limits),
        cmocka_unit_test(test_largest_request),
        cmocka_unit_test(test_large_bulk_linear),
        cmocka_unit_test(test_inline_byte_at_a_time_linear),
        cmocka_unit_test(test_allocation_failure),
        cmocka_unit_test(test_reply_golden),
        cmocka_unit_test(test_double_format),
        cmocka_unit_test(test_writer_sticky_error),
        cmocka_unit_test(test_writer_no_allocation),
        cmocka_unit_test(test_fast_path_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
