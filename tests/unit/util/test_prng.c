/* Shows that the PRNG is xoshiro256** seeded through splitmix64 (known values), that it is
 * reproducible from its seed, and that its derived draws (bounded, double, bytes, forks)
 * stay in range and look uniform. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/prng.h"

/* splitmix64 from state 0 gives the value published with the algorithm. */
static void test_splitmix64_known_value(void **state) {
    (void)state;
    uint64_t splitmix_state = 0;
    assert_int_equal(stoa_prng_splitmix64(&splitmix_state), UINT64_C(0xe220a8397b1dcdaf));
    assert_int_equal(splitmix_state, UINT64_C(0x9e3779b97f4a7c15));
}

/* The first outputs for three seeds match values computed once with an independent
 * implementation (a Python transcription of the paper), so the generator cannot drift. */
static void test_known_values(void **state) {
    (void)state;
    static const struct {
        uint64_t seed;
        uint64_t outputs[4];
    } cases[] = {
        {0,
         {UINT64_C(0x99ec5f36cb75f2b4), UINT64_C(0xbf6e1f784956452a), UINT64_C(0x1a5f849d4933e6e0),
          UINT64_C(0x6aa594f1262d2d2c)}},
        {42,
         {UINT64_C(0x15780b2e0c2ec716), UINT64_C(0x6104d9866d113a7e), UINT64_C(0xae17533239e499a1),
          UINT64_C(0xecb8ad4703b360a1)}},
        {0xdeadbeef,
         {UINT64_C(0xc5555444a74d7e83), UINT64_C(0x65c30d37b4b16e38), UINT64_C(0x54f773200a4efa23),
          UINT64_C(0x429aed75fb958af7)}},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct stoa_prng prng;
        stoa_prng_init(&prng, cases[c].seed);
        for (size_t i = 0; i < 4; i++) {
            assert_int_equal(stoa_prng_next_u64(&prng), cases[c].outputs[i]);
        }
    }
}

/* Two generators with the same seed agree over 10^5 draws; different seeds differ. */
static void test_same_seed_same_sequence(void **state) {
    (void)state;
    struct stoa_prng a;
    struct stoa_prng b;
    struct stoa_prng c;
    stoa_prng_init(&a, 12345);
    stoa_prng_init(&b, 12345);
    stoa_prng_init(&c, 12346);
    size_t equal_to_other_seed = 0;
    for (size_t i = 0; i < 100000; i++) {
        uint64_t value = stoa_prng_next_u64(&a);
        assert_int_equal(value, stoa_prng_next_u64(&b));
        equal_to_other_seed += value == stoa_prng_next_u64(&c) ? 1 : 0;
    }
    assert_int_equal(equal_to_other_seed, 0);
}

/* Bounded draws stay below the bound for small, odd and huge bounds, and bound 1 gives 0. */
static void test_below_stays_in_range(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 7);
    static const uint64_t bounds[] = {
        1, 2, 3, 7, 10, 1000, UINT64_C(1) << 32, (UINT64_C(1) << 63) + 1, UINT64_MAX};
    for (size_t b = 0; b < sizeof(bounds) / sizeof(bounds[0]); b++) {
        for (size_t i = 0; i < 10000; i++) {
            assert_true(stoa_prng_below(&prng, bounds[b]) < bounds[b]);
        }
    }
    assert_int_equal(stoa_prng_below(&prng, 1), 0);
}

/* The chi-square statistic of 10^5 draws below a bound, against the uniform distribution. */
static double chi_square_below(struct stoa_prng *prng, uint64_t bound) {
    enum { DRAWS = 100000, BOUND_MAX = 64 };
    assert_true(bound <= BOUND_MAX);
    uint64_t counts[BOUND_MAX] = {0};
    for (size_t i = 0; i < DRAWS; i++) {
        counts[stoa_prng_below(prng, bound)]++;
    }
    double expected = (double)DRAWS / (double)bound;
    double chi_square = 0;
    for (uint64_t v = 0; v < bound; v++) {
        double difference = (double)counts[v] - expected;
        chi_square += difference * difference / expected;
    }
    return chi_square;
}

/* Bounded draws are roughly uniform: chi-square far below a generous bound (the 0.1%
 * critical values are about 28 for 10 buckets and 99 for 64; we allow twice that). A
 * biased "next_u64() % 3 with the low bit forced" would score in the thousands. */
static void test_below_is_roughly_uniform(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 99);
    assert_true(chi_square_below(&prng, 10) < 56.0);
    assert_true(chi_square_below(&prng, 3) < 28.0);
    assert_true(chi_square_below(&prng, 64) < 200.0);
}

/* Doubles are in [0, 1) with a mean near one half. */
static void test_double_range(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 5);
    double sum = 0;
    for (size_t i = 0; i < 100000; i++) {
        double value = stoa_prng_next_double(&prng);
        assert_true(value >= 0.0 && value < 1.0);
        sum += value;
    }
    double mean = sum / 100000.0;
    assert_true(mean > 0.49 && mean < 0.51);
}

/* fill writes the little-endian bytes of the same stream, for any length. */
static void test_fill_matches_stream(void **state) {
    (void)state;
    struct stoa_prng filler;
    struct stoa_prng reader;
    stoa_prng_init(&filler, 77);
    stoa_prng_init(&reader, 77);
    uint8_t bytes[13];
    memset(bytes, 0xAA, sizeof(bytes));
    stoa_prng_fill(&filler, bytes, sizeof(bytes));
    uint64_t first = stoa_prng_next_u64(&reader);
    uint64_t second = stoa_prng_next_u64(&reader);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(bytes[i], (uint8_t)(first >> (8 * i)));
    }
    for (size_t i = 8; i < 13; i++) {
        assert_int_equal(bytes[i], (uint8_t)(second >> (8 * (i - 8))));
    }
    /* Both consumed two words, so they are in step again. */
    assert_int_equal(stoa_prng_next_u64(&filler), stoa_prng_next_u64(&reader));
    stoa_prng_fill(&filler, NULL, 0);
}

/* A fork continues the parent's old stream, the parent jumps 2^128 steps (its next value
 * was computed once with an independent implementation whose jump was checked against the
 * transition matrix raised to 2^128), and forking the same state twice gives the same
 * child. */
static void test_fork(void **state) {
    (void)state;
    struct stoa_prng parent;
    stoa_prng_init(&parent, 2024);
    struct stoa_prng before = parent;
    struct stoa_prng twin = parent;
    struct stoa_prng child;
    struct stoa_prng twin_child;
    stoa_prng_fork(&parent, &child);
    stoa_prng_fork(&twin, &twin_child);
    assert_memory_equal(&parent, &twin, sizeof(parent));
    struct stoa_prng peek = parent;
    assert_int_equal(stoa_prng_next_u64(&peek), UINT64_C(0xdb417f51b719119c));
    size_t parent_equal_child = 0;
    for (size_t i = 0; i < 1000; i++) {
        uint64_t value = stoa_prng_next_u64(&child);
        assert_int_equal(value, stoa_prng_next_u64(&before));
        assert_int_equal(value, stoa_prng_next_u64(&twin_child));
        parent_equal_child += value == stoa_prng_next_u64(&parent) ? 1 : 0;
    }
    assert_int_equal(parent_equal_child, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_splitmix64_known_value),
        cmocka_unit_test(test_known_values),
        cmocka_unit_test(test_same_seed_same_sequence),
        cmocka_unit_test(test_below_stays_in_range),
        cmocka_unit_test(test_below_is_roughly_uniform),
        cmocka_unit_test(test_double_range),
        cmocka_unit_test(test_fill_matches_stream),
        cmocka_unit_test(test_fork),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
