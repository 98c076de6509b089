/* Shows that varints round-trip every width, use the fewest bytes, and that truncated,
 * overlong and overflowing encodings are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/err.h"
#include "util/prng.h"
#include "util/varint.h"

static void round_trip(uint64_t value) {
    uint8_t bytes[STOA_VARINT_BYTES_MAX];
    size_t length = stoa_varint_put(bytes, value);
    assert_int_equal(length, stoa_varint_length(value));
    uint64_t decoded = 0;
    size_t used = 0;
    assert_int_equal(stoa_varint_get(bytes, length, &decoded, &used), STOA_OK);
    assert_true(decoded == value);
    assert_int_equal(used, length);
    /* Every proper prefix needs more bytes. */
    for (size_t cut = 0; cut < length; cut++) {
        assert_int_equal(stoa_varint_get(bytes, cut, &decoded, &used), STOA_ERR_AGAIN);
    }
}

/* Boundaries of every byte width, and random values, round-trip with the fewest bytes. */
static void test_round_trips(void **state) {
    (void)state;
    for (unsigned bits = 0; bits < 64; bits++) {
        uint64_t power = UINT64_C(1) << bits;
        round_trip(power - 1);
        round_trip(power);
        round_trip(power + 1);
    }
    round_trip(UINT64_MAX);
    assert_int_equal(stoa_varint_length(0), 1);
    assert_int_equal(stoa_varint_length(127), 1);
    assert_int_equal(stoa_varint_length(128), 2);
    assert_int_equal(stoa_varint_length(UINT64_MAX), 10);
    struct stoa_prng prng;
    stoa_prng_init(&prng, 7);
    for (int i = 0; i < 100000; i++) {
        round_trip(stoa_prng_next_u64(&prng) >> stoa_prng_below(&prng, 64));
    }
}

/* Known bytes: 300 is ac 02 (the protobuf documentation's example). */
static void test_known_bytes(void **state) {
    (void)state;
    uint8_t bytes[STOA_VARINT_BYTES_MAX];
    assert_int_equal(stoa_varint_put(bytes, 300), 2);
    assert_int_equal(bytes[0], 0xac);
    assert_int_equal(bytes[1], 0x02);
}

/* Overlong and overflowing encodings are malformed, and outputs are left alone. */
static void test_rejects(void **state) {
    (void)state;
    uint64_t value = 42;
    size_t used = 7;
    const uint8_t overlong_zero[] = {0x80, 0x00};
    assert_int_equal(stoa_varint_get(overlong_zero, 2, &value, &used), STOA_ERR_MALFORMED);
    const uint8_t overlong_one[] = {0x81, 0x80, 0x00};
    assert_int_equal(stoa_varint_get(overlong_one, 3, &value, &used), STOA_ERR_MALFORMED);
    const uint8_t overflow[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(stoa_varint_get(overflow, 10, &value, &used), STOA_ERR_MALFORMED);
    const uint8_t too_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1};
    assert_int_equal(stoa_varint_get(too_long, 11, &value, &used), STOA_ERR_MALFORMED);
    assert_true(value == 42);
    assert_int_equal(used, 7);
    const uint8_t zero[] = {0x00};
    assert_int_equal(stoa_varint_get(zero, 1, &value, &used), STOA_OK);
    assert_true(value == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_known_bytes),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
