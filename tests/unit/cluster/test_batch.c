/* Shows that the batch codec writes the log-entry bytes of docs/protocols/peer.md exactly,
 * reads back what it wrote, and refuses every malformed value (wrong format byte, short or
 * overlong varints, a count that disagrees with the records, a record past the end, trailing
 * bytes) before handing out any record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "cluster/batch.h"
#include "util/err.h"
#include "util/limits.h"

static const struct stoa_command_argument key = {(const uint8_t *)"k", 1};

static struct stoa_command command_with(uint32_t opcode) {
    return (struct stoa_command){.opcode = opcode,
                                 .client_id = 0,
                                 .sequence = 0,
                                 .stamp_ms = 5,
                                 .argument_count = 1,
                                 .arguments = &key};
}

/* Builds a value of count commands (opcodes 1, 2, ...) from proposer 3, proposal 300. */
static void build(struct stoa_buf *value, uint32_t count) {
    struct stoa_buf body;
    stoa_buf_init(&body, 1 << 20);
    for (uint32_t i = 0; i < count; i++) {
        struct stoa_command command = command_with(i + 1);
        assert_int_equal(stoa_batch_command_append(&body, &command), STOA_OK);
    }
    struct stoa_batch_header header = {.proposer_id = 3, .proposal_number = 300, .count = count};
    assert_int_equal(stoa_batch_encode(value, &header, body.data, body.length), STOA_OK);
    stoa_buf_free(&body);
}

/* The header bytes are the documented ones and every record comes back in order. */
static void test_round_trip(void **state) {
    (void)state;
    struct stoa_buf value;
    stoa_buf_init(&value, 1 << 20);
    build(&value, 3);
    /* format 1, proposer 3, proposal 300 = 0xac 0x02, count 3 */
    const uint8_t expected[] = {1, 3, 0xac, 0x02, 3};
    assert_memory_equal(value.data, expected, sizeof(expected));
    struct stoa_command one = command_with(1);
    assert_int_equal(value.data[5], stoa_command_encoded_length(&one));
    assert_int_equal(value.length, sizeof(expected) + 3 * stoa_batch_command_length(&one));

    struct stoa_batch_reader reader;
    assert_int_equal(stoa_batch_open(&reader, value.data, value.length), STOA_OK);
    assert_int_equal(reader.header.proposer_id, 3);
    assert_int_equal(reader.header.proposal_number, 300);
    assert_int_equal(reader.header.count, 3);
    const uint8_t *record = NULL;
    size_t record_length = 0;
    uint32_t position = 0;
    for (uint32_t i = 0; i < 3; i++) {
        assert_true(stoa_batch_next(&reader, &record, &record_length, &position));
        assert_int_equal(position, i);
        struct stoa_command decoded;
        struct stoa_command_argument arguments[2];
        assert_int_equal(stoa_command_decode(record, record_length, &decoded, arguments, 2),
                         STOA_OK);
        assert_int_equal(decoded.opcode, i + 1);
        assert_int_equal(decoded.stamp_ms, 5);
    }
    assert_false(stoa_batch_next(&reader, &record, &record_length, &position));
    stoa_buf_free(&value);
}

/* Two proposals of the same commands differ in their bytes (the reason for the header). */
static void test_proposals_differ(void **state) {
    (void)state;
    struct stoa_buf body;
    struct stoa_buf first;
    struct stoa_buf second;
    stoa_buf_init(&body, 1024);
    stoa_buf_init(&first, 1024);
    stoa_buf_init(&second, 1024);
    struct stoa_command command = command_with(7);
    assert_int_equal(stoa_batch_command_append(&body, &command), STOA_OK);
    struct stoa_batch_header header = {.proposer_id = 1, .proposal_number = 9, .count = 1};
    assert_int_equal(stoa_batch_encode(&first, &header, body.data, body.length), STOA_OK);
    header.proposer_id = 2;
    assert_int_equal(stoa_batch_encode(&second, &header, body.data, body.length), STOA_OK);
    assert_int_equal(first.length, second.length);
    assert_memory_not_equal(first.data, second.data, first.length);
    stoa_buf_free(&body);
    stoa_buf_free(&first);
    stoa_buf_free(&second);
}

/* Encoding refuses an empty batch, one over the count bound, and leaves out unchanged. */
static void test_encode_refuses(void **state) {
    (void)state;
    struct stoa_buf out;
    stoa_buf_init(&out, 1024);
    struct stoa_batch_header header = {.proposer_id = 1, .proposal_number = 1, .count = 0};
    assert_int_equal(stoa_batch_encode(&out, &header, NULL, 0), STOA_ERR_INVALID);
    header.count = STOA_ENGINE_BATCH_COMMANDS_MAX + 1;
    assert_int_equal(stoa_batch_encode(&out, &header, NULL, 0), STOA_ERR_INVALID);
    assert_int_equal(out.length, 0);
    /* A body buffer too small for the record: an error, the body unchanged. */
    struct stoa_buf small;
    stoa_buf_init(&small, 4);
    struct stoa_command command = command_with(1);
    assert_int_equal(stoa_batch_command_append(&small, &command), STOA_ERR_TOO_LARGE);
    assert_int_equal(small.length, 0);
    stoa_buf_free(&small);
    stoa_buf_free(&out);
}

static void assert_malformed(const uint8_t *value, size_t length) {
    struct stoa_batch_reader reader;
    memset(&reader, 0xaa, sizeof(reader));
    struct stoa_batch_reader before = reader;
    assert_int_equal(stoa_batch_open(&reader, value, length), STOA_ERR_MALFORMED);
    assert_memory_equal(&reader, &before, sizeof(reader));
}

/* Every way a value can be wrong is refused whole, and the reader is left untouched. */
static void test_malformed(void **state) {
    (void)state;
    struct stoa_buf value;
    stoa_buf_init(&value, 1 << 20);
    build(&value, 2);
    uint8_t bytes[256];
    assert_true(value.length + 1 <= sizeof(bytes));
    memcpy(bytes, value.data, value.length);
    size_t length = value.length;
    assert_malformed(bytes, 0);
    assert_malformed(NULL, 0);
    /* Every strict prefix is short somewhere. */
    for (size_t cut = 0; cut < length; cut++) {
        assert_malformed(bytes, cut);
    }
    /* A trailing byte. */
    bytes[length] = 0;
    assert_malformed(bytes, length + 1);
    /* The format byte: a member entry, an unknown format. */
    bytes[0] = STOA_BATCH_MEMBER;
    assert_malformed(bytes, length);
    bytes[0] = 9;
    assert_malformed(bytes, length);
    bytes[0] = STOA_BATCH_COMMANDS;
    /* The count says one record more, or one fewer, than there are. */
    bytes[4] = 3;
    assert_malformed(bytes, length);
    bytes[4] = 1;
    assert_malformed(bytes, length);
    bytes[4] = 0;
    assert_malformed(bytes, length);
    bytes[4] = 2;
    /* A record length past the end. */
    uint8_t saved = bytes[5];
    bytes[5] = 0x7f;
    assert_malformed(bytes, length);
    bytes[5] = 0; /* an empty record */
    assert_malformed(bytes, length);
    bytes[5] = saved;
    struct stoa_batch_reader reader;
    assert_int_equal(stoa_batch_open(&reader, bytes, length), STOA_OK);
    /* An overlong varint (proposer 3 written as 0x83 0x00) and a count over the bound. */
    const uint8_t overlong[] = {1, 0x83, 0x00, 1, 1, 1, 0};
    assert_malformed(overlong, sizeof(overlong));
    const uint8_t too_many[] = {1, 1, 1, 0x80, 0x80, 0x04}; /* count 65,536 */
    assert_malformed(too_many, sizeof(too_many));
    const uint8_t overflow[] = {1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
    assert_malformed(overflow, sizeof(overflow));
    stoa_buf_free(&value);
}

/* A member-address value: the documented bytes, read back, and its malformed forms. */
static void test_member(void **state) {
    (void)state;
    struct stoa_buf out;
    stoa_buf_init(&out, 1024);
    assert_int_equal(stoa_batch_member_encode(&out, 0x01020304, "h:1", 3), STOA_OK);
    const uint8_t expected[] = {2, 4, 3, 2, 1, 3, 'h', ':', '1'};
    assert_int_equal(out.length, sizeof(expected));
    assert_memory_equal(out.data, expected, sizeof(expected));
    uint32_t id = 0;
    const uint8_t *text = NULL;
    size_t text_length = 0;
    assert_int_equal(stoa_batch_member_decode(out.data, out.length, &id, &text, &text_length),
                     STOA_OK);
    assert_int_equal(id, 0x01020304);
    assert_int_equal(text_length, 3);
    assert_memory_equal(text, "h:1", 3);
    /* Refused: id 0, empty text, a length byte that disagrees, the wrong format. */
    assert_int_equal(stoa_batch_member_encode(&out, 0, "h:1", 3), STOA_ERR_INVALID);
    assert_int_equal(stoa_batch_member_encode(&out, 1, "", 0), STOA_ERR_INVALID);
    assert_int_equal(stoa_batch_member_encode(&out, 1, "x", 256), STOA_ERR_INVALID);
    assert_int_equal(out.length, sizeof(expected));
    uint8_t bad[sizeof(expected)];
    memcpy(bad, expected, sizeof(bad));
    bad[5] = 4;
    assert_int_equal(stoa_batch_member_decode(bad, sizeof(bad), &id, &text, &text_length),
                     STOA_ERR_MALFORMED);
    bad[5] = 3;
    bad[0] = STOA_BATCH_COMMANDS;
    assert_int_equal(stoa_batch_member_decode(bad, sizeof(bad), &id, &text, &text_length),
                     STOA_ERR_MALFORMED);
    const uint8_t zero_id[] = {2, 0, 0, 0, 0, 1, 'x'};
    assert_int_equal(stoa_batch_member_decode(zero_id, sizeof(zero_id), &id, &text, &text_length),
                     STOA_ERR_MALFORMED);
    assert_int_equal(stoa_batch_member_decode(expected, 6, &id, &text, &text_length),
                     STOA_ERR_MALFORMED);
    stoa_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),     cmocka_unit_test(test_proposals_differ),
        cmocka_unit_test(test_encode_refuses), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
