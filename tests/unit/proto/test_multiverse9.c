/* Shows that the multiverse9 parser reads both opcode forms, frames unframed requests only at
 * the end of input and framed ones by their length however the bytes are cut, refuses
 * truncated and oversized requests, splits target lists exactly as multiverse9 does (and
 * refuses what crashed it), and writes replies byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/multiverse9.h"
#include "util/buf.h"
#include "util/err.h"

#define SIZE(literal) (sizeof(literal) - 1)
#define KEY "01ARZ3NDEKTSV4RRFFQ69G5FAV"
#define KEY2 "01ARZ3NDEKTSV4RRFFQ69G5FAW"

static int parse(const char *data, size_t length, bool at_end,
                 struct stoa_multiverse9_request *request, size_t *consumed) {
    const char *error = NULL;
    return stoa_multiverse9_parse((const uint8_t *)data, length, at_end, request, consumed,
                                  &error);
}

static void test_unframed_both_opcode_forms(void **state) {
    /* "\x00\x01Hello" (the README) and "\x01Hello" (multiverse9's code) are the same CREATE,
     * known only once the input has ended. */
    (void)state;
    struct stoa_multiverse9_request request;
    size_t consumed = 0;
    assert_int_equal(parse("\x00\x01Hello", 7, false, &request, &consumed), STOA_ERR_AGAIN);
    assert_int_equal(parse("\x00\x01Hello", 7, true, &request, &consumed), STOA_OK);
    assert_int_equal(request.opcode, STOA_MULTIVERSE9_CREATE);
    assert_false(request.framed);
    assert_int_equal(consumed, 7);
    assert_memory_equal(request.payload, "Hello", 5);
    assert_int_equal(parse("\x01Hello", 6, true, &request, &consumed), STOA_OK);
    assert_int_equal(request.opcode, STOA_MULTIVERSE9_CREATE);
    assert_int_equal(request.payload_length, 5);
    assert_int_equal(consumed, 6);
}

static void test_framed_split_anywhere(void **state) {
    /* A framed request is whole exactly when its length says so, cut at any byte; the next
     * request's bytes are left alone. */
    (void)state;
    static const char two[] = "\x83\x00\x00\x00\x1a" KEY "\x00\x84\x00\x00\x00\x00";
    struct stoa_multiverse9_request request;
    size_t consumed = 0;
    for (size_t have = 0; have < 31; have++) {
        assert_int_equal(parse(two, have, false, &request, &consumed), STOA_ERR_AGAIN);
    }
    assert_int_equal(parse(two, SIZE(two), false, &request, &consumed), STOA_OK);
    assert_int_equal(consumed, 31);
    assert_true(request.framed);
    assert_int_equal(request.opcode, STOA_MULTIVERSE9_AGGREGATE);
    assert_memory_equal(request.payload, KEY, 26);
    assert_int_equal(parse(two + 31, SIZE(two) - 31, false, &request, &consumed), STOA_OK);
    assert_int_equal(request.opcode, STOA_MULTIVERSE9_METADATA);
    assert_int_equal(consumed, 6);
    assert_int_equal(parse("\x00\x84\x00\x00\x00\x00", 6, false, &request, &consumed), STOA_OK);
    assert_int_equal(consumed, 6);
}

static void test_truncated_and_oversized(void **state) {
    /* Input ending inside an opcode, a length or a payload is malformed; a payload past the
     * limit is refused from its length alone, framed or not. */
    (void)state;
    struct stoa_multiverse9_request request;
    size_t consumed = 0;
    assert_int_equal(parse("", 0, true, &request, &consumed), STOA_ERR_EMPTY);
    assert_int_equal(parse("\x00", 1, true, &request, &consumed), STOA_ERR_MALFORMED);
    assert_int_equal(parse("\x81\x00\x00", 3, true, &request, &consumed), STOA_ERR_MALFORMED);
    assert_true(request.framed);
    assert_int_equal(parse("\x81\x00\x00\x00\x05"
                           "ab",
                           7, true, &request, &consumed),
                     STOA_ERR_MALFORMED);
    assert_int_equal(parse("\x81\x00\x10\x00\x01", 5, false, &request, &consumed),
                     STOA_ERR_TOO_LARGE);
    static uint8_t big[STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX + 2];
    big[0] = STOA_MULTIVERSE9_CREATE;
    assert_int_equal(parse((const char *)big, sizeof(big), false, &request, &consumed),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(parse((const char *)big, sizeof(big) - 1, true, &request, &consumed),
                     STOA_OK);
}

static int targets(const char *payload, size_t length, bool remote,
                   struct stoa_multiverse9_target *out, size_t *count, char *error) {
    return stoa_multiverse9_targets((const uint8_t *)payload, length, remote, out, 4, count,
                                    error);
}

static void test_targets(void **state) {
    /* multiverse9's own example "key1@addr1\0key2\0key3@addr3", with or without a trailing
     * NUL, is three targets; lower-case keys are made canonical. */
    (void)state;
    static const char list[] = KEY "@127.0.0.1:7000\0" KEY2 "\0" KEY "@[::1]:9\0";
    struct stoa_multiverse9_target out[4];
    size_t count = 0;
    char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX];
    assert_int_equal(targets(list, SIZE(list), true, out, &count, error), STOA_OK);
    assert_int_equal(count, 3);
    assert_true(out[0].remote);
    assert_int_equal(out[0].address.port, 7000);
    assert_false(out[1].remote);
    assert_string_equal(out[1].ulid, KEY2);
    assert_int_equal(out[2].address.port, 9);
    assert_int_equal(targets(list, SIZE(list) - 1, true, out, &count, error), STOA_OK);
    assert_int_equal(count, 3);
    assert_int_equal(targets("01arz3ndektsv4rrffq69g5fav", 26, false, out, &count, error),
                     STOA_OK);
    assert_string_equal(out[0].ulid, KEY);
}

static void test_bad_targets(void **state) {
    /* Every input that crashed or confused multiverse9 is an error with a reason. */
    (void)state;
    struct stoa_multiverse9_target out[4];
    size_t count = 0;
    char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX];
    static const struct {
        const char *payload;
        size_t length;
        const char *reason;
    } cases[] = {
        {"", 0, "no targets"},
        {"\0", 1, "no targets"},
        {KEY "\0\0" KEY, 54, "empty"},
        {"\0" KEY, 27, "empty"},
        {KEY "\0\0", 28, "empty"},
        {"ABC", 3, "26 characters"},
        {KEY "Z", 27, "26 characters"},
        {"UUUUUUUUUUUUUUUUUUUUUUUUUU", 26, "ULID"},
        {KEY "@host", 31, "address"},
        {KEY "\0" KEY "\0" KEY "\0" KEY "\0" KEY, 134, "more than 4"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(targets(cases[i].payload, cases[i].length, true, out, &count, error),
                         STOA_ERR_INVALID);
        assert_non_null(strstr(error, cases[i].reason));
    }
    assert_int_equal(targets(KEY "@127.0.0.1:1", 38, false, out, &count, error),
                     STOA_ERR_INVALID);
    assert_non_null(strstr(error, "not allowed"));
}

static void test_replies_golden(void **state) {
    /* Replies byte for byte: unframed [status][payload], framed with a big-endian length. */
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1024);
    struct stoa_multiverse9_writer writer;
    stoa_multiverse9_writer_init(&writer, &buf);
    stoa_multiverse9_write_ok(&writer, false, KEY, 26);
    stoa_multiverse9_write_ok(&writer, true, "ab", 2);
    stoa_multiverse9_write_error(&writer, true, STOA_MULTIVERSE9_ERROR_PERMISSION, "no");
    stoa_multiverse9_write_error(&writer, false, STOA_MULTIVERSE9_ERROR_MALFORMED, "x");
    static const char expected[] = "\x00" KEY "\x00\x00\x00\x00\x02"
                                   "ab"
                                   "\x01\x00\x00\x00\x03\x03no"
                                   "\x01\x01x";
    assert_int_equal(buf.length, SIZE(expected));
    assert_memory_equal(buf.data, expected, SIZE(expected));
    assert_int_equal(writer.error, STOA_OK);

    /* The client side reads back the framed ones. */
    uint8_t status = 0;
    const uint8_t *payload = NULL;
    size_t length = 0;
    size_t consumed = 0;
    assert_int_equal(stoa_multiverse9_parse_reply(buf.data + 27, buf.length - 27, 16, &status,
                                                  &payload, &length, &consumed),
                     STOA_OK);
    assert_int_equal(consumed, 7);
    assert_memory_equal(payload, "ab", 2);
    assert_int_equal(stoa_multiverse9_parse_reply(buf.data + 27, 6, 16, &status, &payload,
                                                  &length, &consumed),
                     STOA_ERR_AGAIN);
    assert_int_equal(stoa_multiverse9_parse_reply((const uint8_t *)"\x07", 1, 16, &status,
                                                  &payload, &length, &consumed),
                     STOA_ERR_MALFORMED);
    assert_int_equal(stoa_multiverse9_parse_reply((const uint8_t *)"\x00\x00\x00\x01\x00", 5, 16,
                                                  &status, &payload, &length, &consumed),
                     STOA_ERR_TOO_LARGE);
    stoa_buf_free(&buf);
}

static void test_writer_limit_is_sticky(void **state) {
    /* A reply that passes the buffer's limit leaves a sticky error, not a torn length. */
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 8);
    struct stoa_multiverse9_writer writer;
    stoa_multiverse9_writer_init(&writer, &buf);
    stoa_multiverse9_write_ok(&writer, true, "0123456789", 10);
    assert_int_equal(writer.error, STOA_ERR_TOO_LARGE);
    stoa_buf_free(&buf);
}

static void test_request_writer_and_value_reply(void **state) {
    /* A node's own requests are framed; the engine's answers become entry text. */
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1024);
    assert_int_equal(stoa_multiverse9_write_request(&buf, STOA_MULTIVERSE9_AGGREGATE,
                                                    (const uint8_t *)KEY, 26),
                     STOA_OK);
    assert_memory_equal(buf.data, "\x83\x00\x00\x00\x1a" KEY, 31);
    stoa_buf_reset(&buf);
    struct stoa_multiverse9_value_reply value;
    stoa_multiverse9_value_reply_init(&value, &buf);
    value.reply.ops->null_bulk(&value.reply);
    value.reply.ops->bulk(&value.reply, (const uint8_t *)"|v", 2);
    value.reply.ops->error(&value.reply, STOA_ERR_TYPE, "WRONGTYPE x");
    assert_int_equal(value.result, STOA_ERR_TYPE);
    assert_int_equal(buf.length, SIZE("Unknown key|vError: WRONGTYPE x"));
    assert_memory_equal(buf.data, "Unknown key|vError: WRONGTYPE x", buf.length);
    stoa_buf_reset(&buf);
    assert_int_equal(stoa_multiverse9_json_string(&buf, "a\"b\\\n", 5), STOA_OK);
    assert_memory_equal(buf.data, "\"a\\\"b\\\\\\u000a\"", buf.length);
    stoa_buf_free(&buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unframed_both_opcode_forms),
        cmocka_unit_test(test_framed_split_anywhere),
        cmocka_unit_test(test_truncated_and_oversized),
        cmocka_unit_test(test_targets),
        cmocka_unit_test(test_bad_targets),
        cmocka_unit_test(test_replies_golden),
        cmocka_unit_test(test_writer_limit_is_sticky),
        cmocka_unit_test(test_request_writer_and_value_reply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
