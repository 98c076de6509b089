/* Shows that commands round-trip through their log encoding with binary arguments, that the
 * encoding is compact and exact (golden bytes), and that every kind of damaged record is
 * refused without touching the output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "engine/command.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/prng.h"

#define ARGUMENTS_MAX 8

static struct stoa_command sample(struct stoa_command_argument *arguments) {
    static const uint8_t key[] = {'k', 0, 'y'};
    static const uint8_t value[] = {0xff, 0x00, 0x7f};
    arguments[0] = (struct stoa_command_argument){key, sizeof(key)};
    arguments[1] = (struct stoa_command_argument){value, sizeof(value)};
    arguments[2] = (struct stoa_command_argument){NULL, 0};
    return (struct stoa_command){.opcode = 3,
                                 .client_id = 300,
                                 .sequence = 1,
                                 .stamp_ms = 1763768701123,
                                 .argument_count = 3,
                                 .arguments = arguments};
}

/* The exact bytes of a small command: version, varint header fields, length-prefixed
 * arguments. */
static void test_golden_bytes(void **state) {
    (void)state;
    struct stoa_command_argument arguments[3];
    struct stoa_command command = sample(arguments);
    uint8_t out[64];
    size_t length = 0;
    assert_int_equal(stoa_command_encode(&command, out, sizeof(out), &length), STOA_OK);
    const uint8_t expected[] = {0x01,                               /* version */
                                0x03,                               /* opcode */
                                0xac, 0x02,                         /* client id 300 */
                                0x01,                               /* sequence */
                                0xc3, 0xa1, 0xba, 0xc6, 0xaa, 0x33, /* stamp */
                                0x03,                               /* argument count */
                                0x03, 'k',  0x00, 'y',              /* key */
                                0x03, 0xff, 0x00, 0x7f,             /* value */
                                0x00};                              /* empty argument */
    assert_int_equal(length, sizeof(expected));
    assert_int_equal(length, stoa_command_encoded_length(&command));
    assert_memory_equal(out, expected, sizeof(expected));
}

/* Random commands decode to exactly what was encoded. */
static void test_round_trip(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 11);
    static uint8_t pool[4096];
    stoa_prng_fill(&prng, pool, sizeof(pool));
    static uint8_t out[ARGUMENTS_MAX * 600];
    for (int round = 0; round < 2000; round++) {
        struct stoa_command_argument arguments[ARGUMENTS_MAX];
        size_t count = (size_t)stoa_prng_below(&prng, ARGUMENTS_MAX + 1);
        for (size_t i = 0; i < count; i++) {
            size_t length = (size_t)stoa_prng_below(&prng, 500);
            arguments[i].data = pool + stoa_prng_below(&prng, sizeof(pool) - 500);
            arguments[i].length = length;
        }
        struct stoa_command command = {.opcode = (uint32_t)stoa_prng_below(&prng, 1u << 20),
                                       .client_id = stoa_prng_next_u64(&prng),
                                       .sequence = stoa_prng_next_u64(&prng) >> 3,
                                       .stamp_ms = (int64_t)(stoa_prng_next_u64(&prng) >> 1),
                                       .argument_count = count,
                                       .arguments = arguments};
        size_t length = 0;
        assert_int_equal(stoa_command_encode(&command, out, sizeof(out), &length), STOA_OK);
        struct stoa_command decoded;
        struct stoa_command_argument decoded_arguments[ARGUMENTS_MAX];
        assert_int_equal(
            stoa_command_decode(out, length, &decoded, decoded_arguments, ARGUMENTS_MAX), STOA_OK);
        assert_int_equal(decoded.opcode, command.opcode);
        assert_true(decoded.client_id == command.client_id);
        assert_true(decoded.sequence == command.sequence);
        assert_true(decoded.stamp_ms == command.stamp_ms);
        assert_int_equal(decoded.argument_count, count);
        for (size_t i = 0; i < count; i++) {
            assert_int_equal(decoded.arguments[i].length, arguments[i].length);
            assert_memory_equal(decoded.arguments[i].data, arguments[i].data, arguments[i].length);
            /* Zero-copy: the argument points into the record. */
            assert_true(decoded.arguments[i].data >= out &&
                        decoded.arguments[i].data <= out + length);
        }
    }
}

static int decode(const uint8_t *data, size_t length, struct stoa_command *command) {
    struct stoa_command_argument arguments[ARGUMENTS_MAX];
    return stoa_command_decode(data, length, command, arguments, ARGUMENTS_MAX);
}

/* Every truncation, trailing garbage, a wrong version and lying counts are refused, and the
 * output command is left as it was. */
static void test_damaged_records(void **state) {
    (void)state;
    struct stoa_command_argument arguments[3];
    struct stoa_command command = sample(arguments);
    uint8_t out[64];
    size_t length = 0;
    assert_int_equal(stoa_command_encode(&command, out, sizeof(out) - 1, &length), STOA_OK);
    struct stoa_command untouched = {.opcode = 99};
    for (size_t cut = 0; cut < length; cut++) {
        assert_int_equal(decode(out, cut, &untouched), STOA_ERR_MALFORMED);
    }
    out[length] = 0;
    assert_int_equal(decode(out, length + 1, &untouched), STOA_ERR_MALFORMED);
    uint8_t copy[64];
    memcpy(copy, out, length);
    copy[0] = 2;
    assert_int_equal(decode(copy, length, &untouched), STOA_ERR_UNSUPPORTED);
    memcpy(copy, out, length);
    copy[11] = 0x7f; /* argument count far beyond the bytes left */
    assert_int_equal(decode(copy, length, &untouched), STOA_ERR_MALFORMED);
    memcpy(copy, out, length);
    copy[12] = 0x7f; /* first argument longer than the record */
    assert_int_equal(decode(copy, length, &untouched), STOA_ERR_MALFORMED);
    assert_int_equal(untouched.opcode, 99);
    struct stoa_command_argument one[1];
    assert_int_equal(stoa_command_decode(out, length, &untouched, one, 1), STOA_ERR_TOO_LARGE);
    /* A stamp above INT64_MAX cannot be a time. */
    const uint8_t negative_stamp[] = {0x01, 0x01, 0x01, 0x01, 0xff, 0xff, 0xff, 0xff,
                                      0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00};
    assert_int_equal(decode(negative_stamp, sizeof(negative_stamp), &untouched),
                     STOA_ERR_MALFORMED);
    assert_int_equal(untouched.opcode, 99);
}

/* Encoding refuses an output buffer one byte too small and leaves it alone. */
static void test_encode_bounds(void **state) {
    (void)state;
    struct stoa_command_argument arguments[3];
    struct stoa_command command = sample(arguments);
    size_t needed = stoa_command_encoded_length(&command);
    uint8_t out[64];
    memset(out, 0xaa, sizeof(out));
    size_t length = 5;
    assert_int_equal(stoa_command_encode(&command, out, needed - 1, &length), STOA_ERR_TOO_LARGE);
    assert_int_equal(length, 5);
    assert_int_equal(out[0], 0xaa);
    assert_int_equal(stoa_command_encode(&command, out, needed, &length), STOA_OK);
    assert_int_equal(length, needed);
}

/* The growing decoder starts from no array, grows it to fit 3,000 arguments, and keeps it for
 * the next command. */
static void test_decode_growing(void **state) {
    (void)state;
    enum { COUNT = 3000 };
    static struct stoa_command_argument many[COUNT];
    static const uint8_t byte = 'x';
    for (size_t i = 0; i < COUNT; i++) {
        many[i] = (struct stoa_command_argument){&byte, 1};
    }
    struct stoa_command command = {
        .opcode = 9, .stamp_ms = 1, .argument_count = COUNT, .arguments = many};
    size_t length = stoa_command_encoded_length(&command);
    uint8_t *out = stoa_alloc(length);
    assert_non_null(out);
    assert_int_equal(stoa_command_encode(&command, out, length, &length), STOA_OK);
    struct stoa_command_argument *arguments = NULL;
    size_t capacity = 0;
    struct stoa_command decoded;
    assert_int_equal(stoa_command_decode_growing(out, length, &decoded, &arguments, &capacity),
                     STOA_OK);
    assert_int_equal(decoded.argument_count, COUNT);
    assert_true(capacity >= COUNT);
    assert_memory_equal(decoded.arguments[COUNT - 1].data, "x", 1);
    size_t kept = capacity;
    assert_int_equal(stoa_command_decode_growing(out, length, &decoded, &arguments, &capacity),
                     STOA_OK);
    assert_int_equal(capacity, kept);
    stoa_free(arguments);
    stoa_free(out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged_records),
        cmocka_unit_test(test_encode_bounds),
        cmocka_unit_test(test_decode_growing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
