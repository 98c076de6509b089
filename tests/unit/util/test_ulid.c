/* Shows that ULIDs encode and decode as the spec's Crockford base32 (known vectors, round
 * trips, strict rejection), sort by time, and that a generator keeps ids strictly
 * increasing within a millisecond and when the clock goes back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/err.h"
#include "util/prng.h"
#include "util/ulid.h"

static const uint8_t zero_random[STOA_ULID_RANDOM_BYTES] = {0};

/* Known vectors: the time part of the ulid spec's example (1469918176385 ms ->
 * "01ARYZ6S41"), the bytes 01..10, and the largest id; computed once independently. */
static void test_known_vectors(void **state) {
    (void)state;
    struct stoa_ulid ulid;
    char text[STOA_ULID_TEXT_LENGTH + 1];
    assert_int_equal(stoa_ulid_make(INT64_C(1469918176385), zero_random, &ulid), STOA_OK);
    stoa_ulid_encode(&ulid, text);
    assert_string_equal(text, "01ARYZ6S410000000000000000");
    assert_int_equal(stoa_ulid_time_ms(&ulid), INT64_C(1469918176385));
    for (size_t i = 0; i < STOA_ULID_BYTES; i++) {
        ulid.bytes[i] = (uint8_t)(i + 1);
    }
    stoa_ulid_encode(&ulid, text);
    assert_string_equal(text, "01081G81860W40J2GB1G6GW3RG");
    memset(ulid.bytes, 0xff, sizeof(ulid.bytes));
    stoa_ulid_encode(&ulid, text);
    assert_string_equal(text, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    assert_int_equal(stoa_ulid_time_ms(&ulid), STOA_ULID_TIME_MS_MAX);
    struct stoa_ulid decoded;
    assert_int_equal(stoa_ulid_decode("01081G81860W40J2GB1G6GW3RG", 26, &decoded), STOA_OK);
    for (size_t i = 0; i < STOA_ULID_BYTES; i++) {
        assert_int_equal(decoded.bytes[i], i + 1);
    }
}

/* Random ids survive encode then decode unchanged, and the text sorts as the bytes do. */
static void test_round_trip_and_text_order(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 26);
    struct stoa_ulid previous = {0};
    char previous_text[STOA_ULID_TEXT_LENGTH + 1] = "00000000000000000000000000";
    for (size_t i = 0; i < 10000; i++) {
        struct stoa_ulid ulid;
        stoa_prng_fill(&prng, ulid.bytes, sizeof(ulid.bytes));
        char text[STOA_ULID_TEXT_LENGTH + 1];
        stoa_ulid_encode(&ulid, text);
        assert_int_equal(strlen(text), STOA_ULID_TEXT_LENGTH);
        struct stoa_ulid decoded;
        assert_int_equal(stoa_ulid_decode(text, STOA_ULID_TEXT_LENGTH, &decoded), STOA_OK);
        assert_memory_equal(decoded.bytes, ulid.bytes, STOA_ULID_BYTES);
        int byte_order = stoa_ulid_compare(&ulid, &previous);
        int text_order = strcmp(text, previous_text);
        assert_true((byte_order < 0) == (text_order < 0));
        assert_true((byte_order == 0) == (text_order == 0));
        previous = ulid;
        memcpy(previous_text, text, sizeof(text));
    }
}

/* Decoding ignores case and reads I, L as 1 and O as 0. */
static void test_decode_is_lenient_in_letters(void **state) {
    (void)state;
    struct stoa_ulid upper;
    struct stoa_ulid lower;
    struct stoa_ulid confusable;
    assert_int_equal(stoa_ulid_decode("01ARYZ6S41TSV4RRFFQ69G5FAV", 26, &upper), STOA_OK);
    assert_int_equal(stoa_ulid_decode("01aryz6s41tsv4rrffq69g5fav", 26, &lower), STOA_OK);
    assert_memory_equal(upper.bytes, lower.bytes, STOA_ULID_BYTES);
    assert_int_equal(stoa_ulid_decode("OiARYZ6S4lTSV4RRFFQ69G5FAV", 26, &confusable), STOA_OK);
    assert_memory_equal(upper.bytes, confusable.bytes, STOA_ULID_BYTES);
    assert_int_equal(stoa_ulid_time_ms(&upper), INT64_C(1469918176385));
}

/* Wrong lengths, characters outside the alphabet (U, punctuation, NUL) and a first
 * character above '7' are STOA_ERR_MALFORMED, and the output is untouched. */
static void test_decode_rejects(void **state) {
    (void)state;
    static const struct {
        const char *text;
        size_t length;
    } bad[] = {
        {"", 0},
        {"01ARYZ6S41TSV4RRFFQ69G5FA", 25},
        {"01ARYZ6S41TSV4RRFFQ69G5FAVV", 27},
        {"01ARYZ6S41TSV4RRFFQ69G5FAU", 26},
        {"01ARYZ6S41TSV4RRFFQ69G5FA-", 26},
        {"01ARYZ6S41TSV4RRFFQ69G5FA\0", 26},
        {"01ARYZ6S41 SV4RRFFQ69G5FAV", 26},
        {"81ARYZ6S41TSV4RRFFQ69G5FAV", 26},
        {"ZZZZZZZZZZZZZZZZZZZZZZZZZZ", 26},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct stoa_ulid ulid;
        memset(ulid.bytes, 0xA5, sizeof(ulid.bytes));
        assert_int_equal(stoa_ulid_decode(bad[i].text, bad[i].length, &ulid), STOA_ERR_MALFORMED);
        for (size_t b = 0; b < STOA_ULID_BYTES; b++) {
            assert_int_equal(ulid.bytes[b], 0xA5);
        }
    }
    struct stoa_ulid ulid;
    assert_int_equal(stoa_ulid_decode("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26, &ulid), STOA_OK);
}

/* Ids sort by their time first, whatever their random parts; times outside 48 bits are
 * STOA_ERR_RANGE. */
static void test_order_by_time(void **state) {
    (void)state;
    uint8_t high_random[STOA_ULID_RANDOM_BYTES];
    memset(high_random, 0xff, sizeof(high_random));
    struct stoa_ulid earlier;
    struct stoa_ulid later;
    assert_int_equal(stoa_ulid_make(1000, high_random, &earlier), STOA_OK);
    assert_int_equal(stoa_ulid_make(1001, zero_random, &later), STOA_OK);
    assert_true(stoa_ulid_compare(&earlier, &later) < 0);
    assert_true(stoa_ulid_compare(&later, &earlier) > 0);
    assert_int_equal(stoa_ulid_compare(&later, &later), 0);
    assert_int_equal(stoa_ulid_make(-1, zero_random, &later), STOA_ERR_RANGE);
    assert_int_equal(stoa_ulid_make(STOA_ULID_TIME_MS_MAX + 1, zero_random, &later),
                     STOA_ERR_RANGE);
    assert_int_equal(stoa_ulid_time_ms(&later), 1001);
    assert_int_equal(stoa_ulid_make(STOA_ULID_TIME_MS_MAX, zero_random, &later), STOA_OK);
}

/* 100,000 ids in one millisecond, each with fresh random bytes, are strictly increasing:
 * after the first, each is the previous plus one. */
static void test_monotonic_within_one_ms(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 1);
    struct stoa_ulid_generator generator;
    stoa_ulid_generator_init(&generator);
    struct stoa_ulid previous;
    uint8_t random[STOA_ULID_RANDOM_BYTES];
    stoa_prng_fill(&prng, random, sizeof(random));
    assert_int_equal(stoa_ulid_generate(&generator, 5000, random, &previous), STOA_OK);
    for (size_t i = 0; i < 100000; i++) {
        struct stoa_ulid next;
        stoa_prng_fill(&prng, random, sizeof(random));
        assert_int_equal(stoa_ulid_generate(&generator, 5000, random, &next), STOA_OK);
        assert_true(stoa_ulid_compare(&previous, &next) < 0);
        assert_int_equal(stoa_ulid_time_ms(&next), 5000);
        previous = next;
    }
}

/* When the clock goes back, ids keep increasing on the last id's time; when it moves past
 * that time again, fresh random bytes are used. */
static void test_clock_going_back(void **state) {
    (void)state;
    uint8_t random[STOA_ULID_RANDOM_BYTES];
    memset(random, 0x11, sizeof(random));
    struct stoa_ulid_generator generator;
    stoa_ulid_generator_init(&generator);
    struct stoa_ulid first;
    struct stoa_ulid second;
    struct stoa_ulid third;
    assert_int_equal(stoa_ulid_generate(&generator, 9000, random, &first), STOA_OK);
    memset(random, 0x00, sizeof(random));
    assert_int_equal(stoa_ulid_generate(&generator, 8000, random, &second), STOA_OK);
    assert_true(stoa_ulid_compare(&first, &second) < 0);
    assert_int_equal(stoa_ulid_time_ms(&second), 9000);
    assert_int_equal(second.bytes[STOA_ULID_BYTES - 1], 0x12);
    assert_int_equal(stoa_ulid_generate(&generator, 9001, random, &third), STOA_OK);
    assert_true(stoa_ulid_compare(&second, &third) < 0);
    assert_int_equal(stoa_ulid_time_ms(&third), 9001);
    assert_memory_equal(third.bytes + 6, random, STOA_ULID_RANDOM_BYTES);
}

/* The increment carries across bytes, and a full random part is STOA_ERR_RANGE with the
 * generator unchanged (it recovers when the time moves on). */
static void test_random_part_overflow(void **state) {
    (void)state;
    uint8_t random[STOA_ULID_RANDOM_BYTES];
    memset(random, 0xff, sizeof(random));
    random[0] = 0xfe;
    struct stoa_ulid_generator generator;
    stoa_ulid_generator_init(&generator);
    struct stoa_ulid ulid;
    assert_int_equal(stoa_ulid_generate(&generator, 77, random, &ulid), STOA_OK);
    assert_int_equal(stoa_ulid_generate(&generator, 77, random, &ulid), STOA_OK);
    assert_int_equal(ulid.bytes[6], 0xff);
    for (size_t i = 7; i < STOA_ULID_BYTES; i++) {
        assert_int_equal(ulid.bytes[i], 0x00);
    }
    memset(random, 0xff, sizeof(random));
    assert_int_equal(stoa_ulid_generate(&generator, 78, random, &ulid), STOA_OK);
    struct stoa_ulid untouched = ulid;
    assert_int_equal(stoa_ulid_generate(&generator, 78, random, &ulid), STOA_ERR_RANGE);
    assert_int_equal(stoa_ulid_generate(&generator, 10, random, &ulid), STOA_ERR_RANGE);
    assert_memory_equal(ulid.bytes, untouched.bytes, STOA_ULID_BYTES);
    assert_int_equal(stoa_ulid_generate(&generator, -1, random, &ulid), STOA_ERR_RANGE);
    memset(random, 0, sizeof(random));
    assert_int_equal(stoa_ulid_generate(&generator, 79, random, &ulid), STOA_OK);
    assert_true(stoa_ulid_compare(&untouched, &ulid) < 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_vectors),
        cmocka_unit_test(test_round_trip_and_text_order),
        cmocka_unit_test(test_decode_is_lenient_in_letters),
        cmocka_unit_test(test_decode_rejects),
        cmocka_unit_test(test_order_by_time),
        cmocka_unit_test(test_monotonic_within_one_ms),
        cmocka_unit_test(test_clock_going_back),
        cmocka_unit_test(test_random_part_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
