/* Shows that bytes, counters, deques and objects behave as documented at their edges, that
 * every footprint equals the bytes the allocation seam really holds for the value, and that
 * a failed allocation or a refused operation leaves the value unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "engine/value.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/prng.h"

/* Live bytes held through the seam, headers included: what footprints must match. */
static size_t heap_bytes(void) {
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    return (size_t)(stats.live_bytes + stats.live_count * STOA_ALLOC_HEADER_BYTES);
}

static uint64_t allocation_count(void) {
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    return stats.allocation_count;
}

static void assert_bytes(const struct stoa_value *value, const void *data, size_t length) {
    const uint8_t *got = NULL;
    size_t got_length = 99;
    stoa_value_bytes_get(value, &got, &got_length);
    assert_int_equal(got_length, length);
    if (length > 0) {
        assert_memory_equal(got, data, length);
    } else {
        assert_null(got);
    }
}

/* Bytes hold binary data with NUL bytes and the empty string, which costs no allocation;
 * setting again replaces; the footprint is the allocation with its header. */
static void test_bytes_set_and_get(void **state) {
    (void)state;
    size_t before = heap_bytes();
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_footprint(&value), 0);
    static const uint8_t binary[] = {'a', 0, 'b', 0, 0};
    assert_int_equal(stoa_value_bytes_set(&value, binary, sizeof(binary)), STOA_OK);
    assert_int_equal(value.type, STOA_VALUE_BYTES);
    assert_bytes(&value, binary, sizeof(binary));
    assert_int_equal(stoa_value_footprint(&value), sizeof(binary) + STOA_ALLOC_HEADER_BYTES);
    assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
    assert_int_equal(stoa_value_bytes_set(&value, NULL, 0), STOA_OK);
    assert_bytes(&value, NULL, 0);
    assert_int_equal(stoa_value_footprint(&value), 0);
    assert_int_equal(heap_bytes(), before);
    stoa_value_free(&value);
    assert_int_equal(value.type, STOA_VALUE_NONE);
}

/* The largest value is stored and one byte more is refused with STOA_ERR_TOO_LARGE, by set
 * and by append, leaving the value as it was. */
static void test_bytes_largest_and_one_more(void **state) {
    (void)state;
    uint8_t *big = stoa_alloc(STOA_VALUE_BYTES_MAX);
    assert_non_null(big);
    memset(big, 0xab, STOA_VALUE_BYTES_MAX);
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_set(&value, big, STOA_VALUE_BYTES_MAX), STOA_OK);
    assert_int_equal(value.as.bytes.length, STOA_VALUE_BYTES_MAX);
    assert_int_equal(stoa_value_bytes_append(&value, "x", 1), STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_value_bytes_append(&value, NULL, 0), STOA_OK);
    assert_int_equal(value.as.bytes.length, STOA_VALUE_BYTES_MAX);
    stoa_value_free(&value);
    assert_int_equal(stoa_value_bytes_set(&value, big, STOA_VALUE_BYTES_MAX + 1ULL),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(value.type, STOA_VALUE_NONE);
    assert_int_equal(stoa_value_bytes_set(&value, "ab", 2), STOA_OK);
    assert_int_equal(stoa_value_bytes_append(&value, big, STOA_VALUE_BYTES_MAX - 1ULL),
                     STOA_ERR_TOO_LARGE);
    assert_bytes(&value, "ab", 2);
    stoa_value_free(&value);
    stoa_free(big);
}

/* Appends grow the allocation geometrically, append_growth predicts each footprint change
 * exactly, and the footprint always equals what the seam holds. */
static void test_bytes_append_growth(void **state) {
    (void)state;
    size_t before = heap_bytes();
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_append(&value, "x", 1), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_bytes_set(&value, NULL, 0), STOA_OK);
    static uint8_t expected[3000];
    size_t length = 0;
    uint64_t allocations = allocation_count();
    for (size_t i = 0; i < 1000; i++) {
        uint8_t chunk[3] = {(uint8_t)i, 0, (uint8_t)(i >> 8)};
        size_t growth = stoa_value_bytes_append_growth(&value, sizeof(chunk));
        size_t footprint = stoa_value_footprint(&value);
        assert_int_equal(stoa_value_bytes_append(&value, chunk, sizeof(chunk)), STOA_OK);
        assert_int_equal(stoa_value_footprint(&value), footprint + growth);
        assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
        memcpy(expected + length, chunk, sizeof(chunk));
        length += sizeof(chunk);
    }
    assert_bytes(&value, expected, length);
    /* Doubling: 3000 bytes in about a dozen reallocations, not a thousand. */
    assert_true(allocation_count() - allocations < 20);
    stoa_value_free(&value);
    assert_int_equal(heap_bytes(), before);
}

/* Counters parse exactly Redis's decimal int64 and nothing else. */
static void test_counter_parsing(void **state) {
    (void)state;
    static const struct {
        const char *text;
        int result;
        int64_t number;
    } cases[] = {
        {"0", STOA_OK, 0},
        {"-1", STOA_OK, -1},
        {"42", STOA_OK, 42},
        {"9223372036854775807", STOA_OK, INT64_MAX},
        {"-9223372036854775808", STOA_OK, INT64_MIN},
        {"9223372036854775808", STOA_ERR_INVALID, 0},
        {"-9223372036854775809", STOA_ERR_INVALID, 0},
        {"99999999999999999999", STOA_ERR_INVALID, 0},
        {"-0", STOA_ERR_INVALID, 0},
        {"007", STOA_ERR_INVALID, 0},
        {"+1", STOA_ERR_INVALID, 0},
        {" 1", STOA_ERR_INVALID, 0},
        {"1 ", STOA_ERR_INVALID, 0},
        {"-", STOA_ERR_INVALID, 0},
        {"", STOA_ERR_INVALID, 0},
        {"1a", STOA_ERR_INVALID, 0},
        {"000000000000000000001", STOA_ERR_INVALID, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stoa_value value;
        stoa_value_init(&value);
        assert_int_equal(stoa_value_bytes_set(&value, cases[i].text, strlen(cases[i].text)),
                         STOA_OK);
        int64_t number = 12345;
        assert_int_equal(stoa_value_counter_get(&value, &number), cases[i].result);
        assert_true(number == (cases[i].result == STOA_OK ? cases[i].number : 12345));
        stoa_value_free(&value);
    }
    static const uint8_t with_nul[] = {'1', 0};
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_set(&value, with_nul, sizeof(with_nul)), STOA_OK);
    int64_t number = 0;
    assert_int_equal(stoa_value_counter_get(&value, &number), STOA_ERR_INVALID);
    stoa_value_deque_init(&value);
    assert_int_equal(stoa_value_counter_get(&value, &number), STOA_ERR_TYPE);
    stoa_value_free(&value);
}

/* Adding to a counter rewrites its text, refuses overflow in either direction with
 * STOA_ERR_RANGE (value unchanged), and allocates only when the text outgrows its block. */
static void test_counter_add(void **state) {
    (void)state;
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_set(&value, "9", 1), STOA_OK);
    int64_t result = 0;
    assert_int_equal(stoa_value_counter_add(&value, 1, &result), STOA_OK);
    assert_true(result == 10);
    assert_bytes(&value, "10", 2);
    uint64_t allocations = allocation_count();
    assert_int_equal(stoa_value_counter_add(&value, -20, &result), STOA_OK);
    assert_bytes(&value, "-10", 3);
    assert_int_equal(stoa_value_counter_add(&value, 15, &result), STOA_OK);
    assert_bytes(&value, "5", 1);
    assert_int_equal(stoa_value_counter_add(&value, 100, &result), STOA_OK);
    assert_bytes(&value, "105", 3);
    assert_int_equal(allocation_count(), allocations + 1); /* only "-10" outgrew "10" */
    assert_int_equal(stoa_value_counter_add(&value, INT64_MAX - 105, &result), STOA_OK);
    assert_true(result == INT64_MAX);
    result = 7;
    assert_int_equal(stoa_value_counter_add(&value, 1, &result), STOA_ERR_RANGE);
    assert_true(result == 7);
    assert_bytes(&value, "9223372036854775807", 19);
    assert_int_equal(stoa_value_bytes_set(&value, "-9223372036854775807", 20), STOA_OK);
    assert_int_equal(stoa_value_counter_add(&value, -1, &result), STOA_OK);
    assert_true(result == INT64_MIN);
    assert_bytes(&value, "-9223372036854775808", 20);
    assert_int_equal(stoa_value_counter_add(&value, -1, &result), STOA_ERR_RANGE);
    assert_int_equal(stoa_value_counter_add(&value, INT64_MIN, &result), STOA_ERR_RANGE);
    assert_int_equal(stoa_value_counter_add(&value, INT64_MAX, &result), STOA_OK);
    assert_bytes(&value, "-1", 2);
    /* A failed allocation while the text outgrows its block leaves the counter as it was. */
    assert_int_equal(stoa_value_bytes_set(&value, "-1", 2), STOA_OK);
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_value_counter_add(&value, -1000, &result), STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_bytes(&value, "-1", 2);
    stoa_value_free(&value);
}

/* The deque's elements, read front to back, match expected[0 .. count). */
static void assert_deque(const struct stoa_value *value, const uint32_t *expected, size_t count) {
    assert_int_equal(stoa_value_deque_length(value), count);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *data = NULL;
        size_t length = 0;
        assert_int_equal(stoa_value_deque_get(value, (int64_t)i, &data, &length), STOA_OK);
        assert_int_equal(length, sizeof(uint32_t));
        uint32_t number = 0;
        memcpy(&number, data, sizeof(number));
        assert_int_equal(number, expected[i]);
    }
}

static void push_number(struct stoa_value *value, enum stoa_deque_end end, uint32_t number) {
    assert_int_equal(stoa_value_deque_push(value, end, &number, sizeof(number)), STOA_OK);
}

static uint32_t pop_number(struct stoa_value *value, enum stoa_deque_end end) {
    struct stoa_deque_element *element = NULL;
    assert_int_equal(stoa_value_deque_pop(value, end, &element), STOA_OK);
    assert_int_equal(element->length, sizeof(uint32_t));
    uint32_t number = 0;
    memcpy(&number, element->data, sizeof(number));
    stoa_free(element);
    return number;
}

/* An empty deque costs nothing, pops say STOA_ERR_EMPTY and reads STOA_ERR_RANGE; the empty
 * element is an element; operations on another type say STOA_ERR_TYPE. */
static void test_deque_empty_and_wrong_type(void **state) {
    (void)state;
    size_t before = heap_bytes();
    struct stoa_value value;
    stoa_value_init(&value);
    stoa_value_deque_init(&value);
    assert_int_equal(stoa_value_deque_length(&value), 0);
    assert_int_equal(stoa_value_footprint(&value), 0);
    struct stoa_deque_element *element = NULL;
    assert_int_equal(stoa_value_deque_pop(&value, STOA_DEQUE_FRONT, &element), STOA_ERR_EMPTY);
    assert_int_equal(stoa_value_deque_pop(&value, STOA_DEQUE_BACK, &element), STOA_ERR_EMPTY);
    const uint8_t *data = NULL;
    size_t length = 0;
    assert_int_equal(stoa_value_deque_get(&value, 0, &data, &length), STOA_ERR_RANGE);
    assert_int_equal(stoa_value_deque_get(&value, -1, &data, &length), STOA_ERR_RANGE);
    assert_int_equal(stoa_value_deque_remove(&value, 0), STOA_ERR_RANGE);
    assert_int_equal(stoa_value_deque_set(&value, 0, "x", 1), STOA_ERR_RANGE);
    assert_int_equal(stoa_value_deque_trim(&value, 0, -1), STOA_OK);
    size_t index = 0;
    assert_int_equal(stoa_value_deque_find(&value, 0, "", 0, &index), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_value_deque_push(&value, STOA_DEQUE_BACK, NULL, 0), STOA_OK);
    assert_int_equal(stoa_value_deque_length(&value), 1);
    assert_int_equal(stoa_value_deque_get(&value, 0, &data, &length), STOA_OK);
    assert_int_equal(length, 0);
    assert_int_equal(stoa_value_deque_find(&value, 0, "", 0, &index), STOA_OK);
    assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
    assert_int_equal(stoa_value_deque_pop(&value, STOA_DEQUE_FRONT, &element), STOA_OK);
    assert_int_equal(element->length, 0);
    stoa_free(element);
    assert_int_equal(stoa_value_footprint(&value), 0);
    assert_int_equal(heap_bytes(), before);
    assert_int_equal(stoa_value_bytes_set(&value, "b", 1), STOA_OK);
    assert_int_equal(stoa_value_deque_push(&value, STOA_DEQUE_BACK, "x", 1), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_deque_pop(&value, STOA_DEQUE_BACK, &element), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_deque_get(&value, 0, &data, &length), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_deque_set(&value, 0, "x", 1), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_deque_insert(&value, 0, "x", 1), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_deque_remove(&value, 0), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_deque_trim(&value, 0, 1), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_deque_find(&value, 0, "x", 1, &index), STOA_ERR_TYPE);
    assert_bytes(&value, "b", 1);
    stoa_value_free(&value);
}

/* Pushing at the back while popping at the front walks the ring past its end (wrap-around),
 * and growing a wrapped ring keeps the order; then the ring shrinks as it empties. */
static void test_deque_wrap_around_and_growth(void **state) {
    (void)state;
    size_t before = heap_bytes();
    struct stoa_value value;
    stoa_value_init(&value);
    stoa_value_deque_init(&value);
    uint32_t expected[64];
    uint32_t next = 0;
    uint32_t first = 0;
    for (size_t i = 0; i < 6; i++) {
        push_number(&value, STOA_DEQUE_BACK, next++);
    }
    /* Slide the window of 6 around the ring of 8 several times. */
    for (size_t i = 0; i < 20; i++) {
        assert_int_equal(pop_number(&value, STOA_DEQUE_FRONT), first++);
        push_number(&value, STOA_DEQUE_BACK, next++);
        for (uint32_t k = 0; k < 6; k++) {
            expected[k] = first + k;
        }
        assert_deque(&value, expected, 6);
        assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
    }
    /* Grow the wrapped ring to 16, then 32, and push at the front too. */
    size_t ring_8 = stoa_value_footprint(&value) - 6 * (4 + 4 + STOA_ALLOC_HEADER_BYTES);
    for (size_t i = 0; i < 20; i++) {
        push_number(&value, STOA_DEQUE_BACK, next++);
    }
    push_number(&value, STOA_DEQUE_FRONT, first - 1);
    for (uint32_t k = 0; k < 27; k++) {
        expected[k] = first - 1 + k;
    }
    assert_deque(&value, expected, 27);
    assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
    size_t ring_32 = stoa_value_footprint(&value) - 27 * (4 + 4 + STOA_ALLOC_HEADER_BYTES);
    assert_int_equal(ring_32 - ring_8, 24 * sizeof(void *));
    /* Pop from both ends down to 3; the ring halves back to 8 slots on the way. */
    while (stoa_value_deque_length(&value) > 3) {
        (void)pop_number(&value,
                         stoa_value_deque_length(&value) % 2 ? STOA_DEQUE_FRONT : STOA_DEQUE_BACK);
        assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
    }
    assert_int_equal(stoa_value_footprint(&value) - 3 * (4 + 4 + STOA_ALLOC_HEADER_BYTES), ring_8);
    stoa_value_free(&value);
    assert_int_equal(heap_bytes(), before);
}

/* Ranges, trims, negative indexes, set and find follow Redis's LRANGE, LTRIM, LINDEX, LSET
 * and LPOS. */
static void test_deque_indexes_ranges_and_trim(void **state) {
    (void)state;
    struct stoa_value value;
    stoa_value_init(&value);
    stoa_value_deque_init(&value);
    for (uint32_t i = 0; i < 10; i++) {
        push_number(&value, STOA_DEQUE_BACK, i);
    }
    size_t first = 99;
    size_t count = 99;
    static const struct {
        int64_t start, stop;
        size_t first, count;
    } ranges[] = {
        {0, -1, 0, 10}, {0, 0, 0, 1},   {-3, -1, 7, 3}, {5, 100, 5, 5},    {-100, 2, 0, 3},
        {3, 2, 0, 0},   {10, 20, 0, 0}, {-1, -2, 0, 0}, {-100, -50, 0, 0}, {9, 9, 9, 1},
    };
    for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
        stoa_value_deque_range(&value, ranges[i].start, ranges[i].stop, &first, &count);
        assert_int_equal(count, ranges[i].count);
        if (count > 0) {
            assert_int_equal(first, ranges[i].first);
        }
    }
    const uint8_t *data = NULL;
    size_t length = 0;
    assert_int_equal(stoa_value_deque_get(&value, -10, &data, &length), STOA_OK);
    assert_int_equal(stoa_value_deque_get(&value, -11, &data, &length), STOA_ERR_RANGE);
    assert_int_equal(stoa_value_deque_get(&value, 10, &data, &length), STOA_ERR_RANGE);
    uint32_t seven = 70;
    assert_int_equal(stoa_value_deque_set(&value, -3, &seven, sizeof(seven)), STOA_OK);
    size_t index = 0;
    assert_int_equal(stoa_value_deque_find(&value, 0, &seven, sizeof(seven), &index), STOA_OK);
    assert_int_equal(index, 7);
    assert_int_equal(stoa_value_deque_find(&value, 8, &seven, sizeof(seven), &index),
                     STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_value_deque_trim(&value, 2, -3), STOA_OK);
    static const uint32_t trimmed[] = {2, 3, 4, 5, 6, 70};
    assert_deque(&value, trimmed, 6);
    assert_int_equal(stoa_value_deque_trim(&value, 5, 1), STOA_OK);
    assert_int_equal(stoa_value_deque_length(&value), 0);
    assert_int_equal(stoa_value_footprint(&value), 0);
    stoa_value_free(&value);
}

/* A long random sequence of pushes, pops, inserts, removes, sets and trims agrees with a
 * plain array after every operation, and the footprint always equals the seam's count. */
static void test_deque_against_model(void **state) {
    (void)state;
    enum { MODEL_MAX = 300 };
    static uint32_t model[MODEL_MAX + 1];
    size_t count = 0;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 77);
    size_t before = heap_bytes();
    struct stoa_value value;
    stoa_value_init(&value);
    stoa_value_deque_init(&value);
    for (uint32_t step = 0; step < 100000; step++) {
        uint64_t op = stoa_prng_below(&prng, 100);
        bool grow = (step / 2000) % 2 == 0;
        if (op < (grow ? 50u : 30u) && count < MODEL_MAX) {
            size_t index = (size_t)stoa_prng_below(&prng, count + 1);
            assert_int_equal(stoa_value_deque_insert(&value, index, &step, sizeof(step)), STOA_OK);
            memmove(model + index + 1, model + index, (count - index) * sizeof(uint32_t));
            model[index] = step;
            count++;
        } else if (op < 85 && count > 0) {
            size_t index = (size_t)stoa_prng_below(&prng, count);
            if (op % 3 == 0) {
                index = op % 2 ? 0 : count - 1;
                assert_int_equal(pop_number(&value, index ? STOA_DEQUE_BACK : STOA_DEQUE_FRONT),
                                 model[index]);
            } else {
                assert_int_equal(stoa_value_deque_remove(&value, index), STOA_OK);
            }
            memmove(model + index, model + index + 1, (count - index - 1) * sizeof(uint32_t));
            count--;
        } else if (op < 98 && count > 0) {
            size_t index = (size_t)stoa_prng_below(&prng, count);
            assert_int_equal(stoa_value_deque_set(&value, (int64_t)index, &step, sizeof(step)),
                             STOA_OK);
            model[index] = step;
        } else if (count > 0) {
            size_t keep = (size_t)stoa_prng_below(&prng, count);
            assert_int_equal(stoa_value_deque_trim(&value, 1, (int64_t)keep), STOA_OK);
            count = keep;
            memmove(model, model + 1, count * sizeof(uint32_t));
        }
        assert_deque(&value, model, count);
        assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
    }
    stoa_value_free(&value);
    assert_int_equal(heap_bytes(), before);
}

/* push_growth predicts the footprint change of every push exactly, including the ring's
 * first allocation and each doubling. */
static void test_deque_push_growth(void **state) {
    (void)state;
    struct stoa_value value;
    stoa_value_init(&value);
    stoa_value_deque_init(&value);
    for (size_t i = 0; i < 100; i++) {
        size_t growth = stoa_value_deque_push_growth(&value, i);
        size_t footprint = stoa_value_footprint(&value);
        static const uint8_t zeros[100];
        assert_int_equal(stoa_value_deque_push(&value, STOA_DEQUE_FRONT, zeros, i), STOA_OK);
        assert_int_equal(stoa_value_footprint(&value), footprint + growth);
    }
    stoa_value_free(&value);
}

/* A deque of 8 elements: its ring is full, so the next push or insert must grow it. */
static void make_full_deque(struct stoa_value *value) {
    stoa_value_init(value);
    stoa_value_deque_init(value);
    for (uint32_t i = 0; i < 8; i++) {
        push_number(value, STOA_DEQUE_BACK, i);
    }
}

static int grow_op(struct stoa_value *value, size_t op) {
    uint32_t number = 1000;
    switch (op) {
    case 0:
        return stoa_value_deque_push(value, STOA_DEQUE_FRONT, &number, sizeof(number));
    case 1:
        return stoa_value_deque_insert(value, 3, &number, sizeof(number));
    case 2:
        return stoa_value_deque_set(value, 2, &number, sizeof(number));
    case 3:
        return stoa_value_bytes_set(value, &number, sizeof(number));
    default: {
        struct stoa_object_fields fields = {.data = (const uint8_t *)"d", .data_length = 1};
        return stoa_value_object_set(value, &fields);
    }
    }
}

/* Every allocation of every growing operation may fail: the operation says STOA_ERR_NOMEM
 * and the value, its footprint and the seam's count are exactly as before. */
static void test_failing_allocations_leave_value_unchanged(void **state) {
    (void)state;
    for (size_t op = 0; op < 5; op++) {
        for (uint64_t n = 1;; n++) {
            struct stoa_value value;
            make_full_deque(&value);
            struct stoa_value copy;
            stoa_value_init(&copy);
            assert_int_equal(stoa_value_copy(&copy, &value), STOA_OK);
            size_t footprint = stoa_value_footprint(&value);
            size_t held = heap_bytes();
            stoa_alloc_fail_nth(n);
            int result = grow_op(&value, op);
            stoa_alloc_fail_nth(0);
            bool done = result == STOA_OK;
            if (!done) {
                assert_int_equal(result, STOA_ERR_NOMEM);
                assert_true(stoa_value_equal(&value, &copy));
                assert_int_equal(stoa_value_footprint(&value), footprint);
                assert_int_equal(heap_bytes(), held);
            }
            stoa_value_free(&copy);
            stoa_value_free(&value);
            if (done) {
                assert_int_equal(n, op < 2 ? 3 : 2); /* element and ring; or one block */
                break;
            }
        }
    }
    /* A deep copy that fails part way frees what it made and leaves the target empty. */
    struct stoa_value value;
    make_full_deque(&value);
    for (uint64_t n = 1;; n++) {
        size_t held = heap_bytes();
        struct stoa_value copy;
        stoa_value_init(&copy);
        stoa_alloc_fail_nth(n);
        int result = stoa_value_copy(&copy, &value);
        stoa_alloc_fail_nth(0);
        if (result == STOA_OK) {
            assert_true(stoa_value_equal(&copy, &value));
            assert_int_equal(n, stoa_value_deque_length(&value) + 2);
            stoa_value_free(&copy);
            break;
        }
        assert_int_equal(result, STOA_ERR_NOMEM);
        assert_int_equal(copy.type, STOA_VALUE_NONE);
        assert_int_equal(heap_bytes(), held);
    }
    stoa_value_free(&value);
}

/* An object keeps all five GameObject fields in one block; ids and data at their bounds;
 * one byte more is STOA_ERR_TOO_LARGE. */
static void test_object(void **state) {
    (void)state;
    size_t before = heap_bytes();
    static const uint8_t id[] = {'p', 0, '1'};
    struct stoa_object_fields fields = {
        .id = id,
        .id_length = sizeof(id),
        .data = (const uint8_t *)"{\"x\":1}",
        .data_length = 7,
        .creation_time_ms = 1700000000000,
        .ttl_s = 1700000060,
        .last_modified_ms = 1700000000123,
    };
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_object_set(&value, &fields), STOA_OK);
    assert_int_equal(value.type, STOA_VALUE_OBJECT);
    assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
    struct stoa_object_fields got;
    stoa_value_object_get(&value, &got);
    assert_int_equal(got.id_length, sizeof(id));
    assert_memory_equal(got.id, id, sizeof(id));
    assert_int_equal(got.data_length, 7);
    assert_memory_equal(got.data, "{\"x\":1}", 7);
    assert_true(got.creation_time_ms == 1700000000000);
    assert_true(got.ttl_s == 1700000060);
    assert_true(got.last_modified_ms == 1700000000123);
    struct stoa_object_fields empty = {0};
    struct stoa_value other;
    stoa_value_init(&other);
    assert_int_equal(stoa_value_object_set(&other, &empty), STOA_OK);
    stoa_value_object_get(&other, &got);
    assert_null(got.id);
    assert_null(got.data);
    assert_false(stoa_value_equal(&value, &other));
    static uint8_t long_id[STOA_OBJECT_ID_BYTES_MAX + 1];
    fields.id = long_id;
    fields.id_length = STOA_OBJECT_ID_BYTES_MAX;
    assert_int_equal(stoa_value_object_set(&other, &fields), STOA_OK);
    fields.id_length = STOA_OBJECT_ID_BYTES_MAX + 1;
    assert_int_equal(stoa_value_object_set(&value, &fields), STOA_ERR_TOO_LARGE);
    fields.id_length = 0;
    fields.data_length = STOA_VALUE_BYTES_MAX + 1ULL;
    assert_int_equal(stoa_value_object_set(&value, &fields), STOA_ERR_TOO_LARGE);
    stoa_value_object_get(&value, &got);
    assert_int_equal(got.id_length, sizeof(id)); /* unchanged */
    stoa_value_free(&value);
    stoa_value_free(&other);
    assert_int_equal(heap_bytes(), before);
}

/* Copies are equal and have equal digests; the digest ignores spare capacity, and changes
 * with the type, any byte, any element boundary and any object field. */
static void test_copy_equal_and_digest(void **state) {
    (void)state;
    struct stoa_value values[8];
    for (size_t i = 0; i < 8; i++) {
        stoa_value_init(&values[i]);
    }
    assert_int_equal(stoa_value_bytes_set(&values[0], "abcd", 4), STOA_OK);
    assert_int_equal(stoa_value_bytes_set(&values[1], "ab", 2), STOA_OK);
    assert_int_equal(stoa_value_bytes_append(&values[1], "cd", 2), STOA_OK); /* spare room */
    stoa_value_deque_init(&values[2]);
    assert_int_equal(stoa_value_deque_push(&values[2], STOA_DEQUE_BACK, "abcd", 4), STOA_OK);
    stoa_value_deque_init(&values[3]);
    assert_int_equal(stoa_value_deque_push(&values[3], STOA_DEQUE_BACK, "ab", 2), STOA_OK);
    assert_int_equal(stoa_value_deque_push(&values[3], STOA_DEQUE_BACK, "cd", 2), STOA_OK);
    struct stoa_object_fields fields = {.id = (const uint8_t *)"abcd", .id_length = 4};
    assert_int_equal(stoa_value_object_set(&values[4], &fields), STOA_OK);
    fields.ttl_s = 1;
    assert_int_equal(stoa_value_object_set(&values[5], &fields), STOA_OK);
    assert_int_equal(stoa_value_bytes_set(&values[6], "abce", 4), STOA_OK);
    /* values[7] holds nothing. */
    assert_true(stoa_value_equal(&values[0], &values[1]));
    assert_true(stoa_value_digest(&values[0], 1) == stoa_value_digest(&values[1], 1));
    assert_true(stoa_value_digest(&values[0], 1) != stoa_value_digest(&values[0], 2));
    assert_true(stoa_value_footprint(&values[0]) < stoa_value_footprint(&values[1]));
    for (size_t i = 1; i < 8; i++) {
        for (size_t j = i + 1; j < 8; j++) {
            assert_false(stoa_value_equal(&values[i], &values[j]));
            assert_true(stoa_value_digest(&values[i], 9) != stoa_value_digest(&values[j], 9));
        }
        struct stoa_value copy;
        stoa_value_init(&copy);
        assert_int_equal(stoa_value_copy(&copy, &values[i]), STOA_OK);
        assert_true(stoa_value_equal(&copy, &values[i]));
        assert_true(stoa_value_digest(&copy, 9) == stoa_value_digest(&values[i], 9));
        stoa_value_free(&copy);
    }
    for (size_t i = 0; i < 8; i++) {
        stoa_value_free(&values[i]);
    }
}

/* A value and everything about it that a failed operation must leave alone. */
struct value_before {
    struct stoa_value copy;
    size_t footprint;
    size_t held;
};

static void remember(struct value_before *before, const struct stoa_value *value) {
    stoa_value_init(&before->copy);
    assert_int_equal(stoa_value_copy(&before->copy, value), STOA_OK);
    before->footprint = stoa_value_footprint(value);
    before->held = heap_bytes();
}

static void assert_unchanged(struct value_before *before, const struct stoa_value *value) {
    assert_true(stoa_value_equal(value, &before->copy));
    assert_int_equal(stoa_value_footprint(value), before->footprint);
    assert_int_equal(heap_bytes(), before->held);
    stoa_value_free(&before->copy);
}

/* Writes at offset with bytes_write, checking that the footprint grows by exactly
 * append_growth of the bytes past the current length and matches what the seam holds. */
static void write_at(struct stoa_value *value, size_t heap_before, size_t offset, const void *data,
                     size_t length) {
    size_t old_length = value->as.bytes.length;
    size_t end = offset + length;
    size_t growth = stoa_value_bytes_append_growth(value, end > old_length ? end - old_length : 0);
    size_t footprint = stoa_value_footprint(value);
    assert_int_equal(stoa_value_bytes_write(value, offset, data, length), STOA_OK);
    assert_int_equal(stoa_value_footprint(value), footprint + growth);
    assert_int_equal(heap_bytes() - heap_before, stoa_value_footprint(value));
}

/* bytes_write overwrites in place, extends past the end, pads a gap with zero bytes (also
 * over stale spare capacity), grows as append_growth predicts, refuses other types and
 * offsets past the bound, and leaves the value unchanged when its allocation fails. */
static void test_bytes_write(void **state) {
    (void)state;
    size_t before = heap_bytes();
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_write(&value, 0, "x", 1), STOA_ERR_TYPE);
    stoa_value_deque_init(&value);
    assert_int_equal(stoa_value_bytes_write(&value, 0, "x", 1), STOA_ERR_TYPE);
    assert_int_equal(stoa_value_bytes_set(&value, NULL, 0), STOA_OK);
    write_at(&value, before, 0, NULL, 0);
    assert_bytes(&value, NULL, 0);
    write_at(&value, before, 0, "abc", 3);
    assert_bytes(&value, "abc", 3);
    write_at(&value, before, 5, "xy", 2);
    assert_bytes(&value, "abc\0\0xy", 7);
    uint64_t allocations = allocation_count();
    write_at(&value, before, 1, "Z", 1);
    assert_bytes(&value, "aZc\0\0xy", 7);
    write_at(&value, before, 7, NULL, 0);
    assert_bytes(&value, "aZc\0\0xy", 7);
    assert_int_equal(allocation_count(), allocations); /* nothing past the end: no growth */
    write_at(&value, before, 6, "123", 3);
    assert_bytes(&value, "aZc\0\0x123", 9);
    write_at(&value, before, 12, NULL, 0); /* pads up to the offset even with no data */
    assert_bytes(&value, "aZc\0\0x123\0\0\0", 12);
    write_at(&value, before, 0, "\0\0\0\0\0\0\0\0\0\0\0\0\0", 13);
    assert_bytes(&value, "\0\0\0\0\0\0\0\0\0\0\0\0\0", 13);

    /* "1000000" counted down to "1" keeps its 7-byte block: the gap must become zeros,
     * not the stale "000000". */
    assert_int_equal(stoa_value_bytes_set(&value, "1000000", 7), STOA_OK);
    int64_t number = 0;
    assert_int_equal(stoa_value_counter_add(&value, -999999, &number), STOA_OK);
    assert_bytes(&value, "1", 1);
    allocations = allocation_count();
    write_at(&value, before, 4, "x", 1);
    assert_bytes(&value, "1\0\0\0x", 5);
    assert_int_equal(allocation_count(), allocations);

    /* Past the bound: refused before data is read, the value unchanged. */
    struct value_before saved;
    remember(&saved, &value);
    assert_int_equal(stoa_value_bytes_write(&value, STOA_VALUE_BYTES_MAX + 1ULL, NULL, 0),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_value_bytes_write(&value, STOA_VALUE_BYTES_MAX, "x", 1),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_value_bytes_write(&value, SIZE_MAX, "x", 1), STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_value_bytes_write(&value, 1, "x", STOA_VALUE_BYTES_MAX),
                     STOA_ERR_TOO_LARGE);
    assert_unchanged(&saved, &value);

    /* A write that must grow the block, with that allocation failing. */
    remember(&saved, &value);
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_value_bytes_write(&value, 100, "tail", 4), STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_unchanged(&saved, &value);
    assert_bytes(&value, "1\0\0\0x", 5);
    stoa_value_free(&value);
    assert_int_equal(heap_bytes(), before);
}

/* element_make copies the data into one block whose cost is element_footprint, which is
 * also what a push into a ring with room adds; a failed allocation gives NULL. */
static void test_deque_element_make_and_footprint(void **state) {
    (void)state;
    static uint8_t data[300];
    for (size_t i = 0; i < sizeof(data); i++) {
        data[i] = (uint8_t)(i * 13);
    }
    struct stoa_value value;
    stoa_value_init(&value);
    stoa_value_deque_init(&value);
    push_number(&value, STOA_DEQUE_BACK, 1); /* a ring of 8 with room for 7 more */
    static const size_t lengths[] = {0, 1, 7, 128, 300};
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        size_t length = lengths[i];
        size_t before = heap_bytes();
        struct stoa_deque_element *element = stoa_value_deque_element_make(data, length);
        assert_non_null(element);
        assert_int_equal(element->length, length);
        if (length > 0) {
            assert_memory_equal(element->data, data, length);
        }
        assert_int_equal(heap_bytes() - before, stoa_value_deque_element_footprint(length));
        assert_int_equal(stoa_value_deque_element_footprint(length),
                         stoa_value_deque_push_growth(&value, length));
        stoa_free(element);
        assert_int_equal(heap_bytes(), before);
    }
    assert_true(stoa_value_deque_element_footprint(10) - stoa_value_deque_element_footprint(0) ==
                10);
    size_t before = heap_bytes();
    struct stoa_deque_element *empty = stoa_value_deque_element_make(NULL, 0);
    assert_non_null(empty);
    assert_int_equal(empty->length, 0);
    stoa_free(empty);
    stoa_alloc_fail_nth(1);
    assert_null(stoa_value_deque_element_make(data, 5));
    stoa_alloc_fail_nth(0);
    assert_int_equal(heap_bytes(), before);
    stoa_value_free(&value);
}

/* The deques push_elements starts from: never grown, with room, full, wrapped, and a
 * ring left larger than it needs by pops. */
enum { START_KIND_COUNT = 5 };

static void make_start(struct stoa_value *value, size_t kind) {
    stoa_value_init(value);
    stoa_value_deque_init(value);
    size_t pushes = (size_t[]){0, 5, 8, 8, 40}[kind];
    for (uint32_t i = 0; i < pushes; i++) {
        push_number(value, STOA_DEQUE_BACK, 500 + i);
    }
    if (kind == 3) { /* head 3, and the last two elements wrapped to slots 0 and 1 */
        for (size_t i = 0; i < 3; i++) {
            (void)pop_number(value, STOA_DEQUE_FRONT);
        }
        push_number(value, STOA_DEQUE_BACK, 600);
        push_number(value, STOA_DEQUE_BACK, 601);
    }
    if (kind == 4) {
        for (size_t i = 0; i < 35; i++) {
            (void)pop_number(value, STOA_DEQUE_FRONT);
        }
    }
}

/* Element i of a batch: its length varies, and its bytes say which element it is. */
static size_t batch_element(size_t i, uint8_t data[32]) {
    size_t length = (i * 7) % 23;
    for (size_t k = 0; k < length; k++) {
        data[k] = (uint8_t)(i + k);
    }
    return length;
}

/* push_elements at either end gives the same deque and the same footprint as count single
 * pushes, and push_many_growth predicts its footprint change exactly, from every start. */
static void test_deque_push_elements(void **state) {
    (void)state;
    static const size_t counts[] = {0, 1, 3, 7, 8, 9, 20, 100};
    struct stoa_deque_element *elements[100];
    for (size_t kind = 0; kind < START_KIND_COUNT; kind++) {
        for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
            for (int end = STOA_DEQUE_FRONT; end <= STOA_DEQUE_BACK; end++) {
                size_t count = counts[c];
                size_t before = heap_bytes();
                struct stoa_value value;
                make_start(&value, kind);
                struct stoa_value model;
                make_start(&model, kind);
                size_t data_bytes = 0;
                for (size_t i = 0; i < count; i++) {
                    uint8_t data[32];
                    size_t length = batch_element(i, data);
                    elements[i] = stoa_value_deque_element_make(data, length);
                    assert_non_null(elements[i]);
                    data_bytes += length;
                    assert_int_equal(
                        stoa_value_deque_push(&model, (enum stoa_deque_end)end, data, length),
                        STOA_OK);
                }
                size_t growth = stoa_value_deque_push_many_growth(&value, count, data_bytes);
                size_t footprint = stoa_value_footprint(&value);
                size_t held = heap_bytes();
                assert_int_equal(stoa_value_deque_push_elements(&value, (enum stoa_deque_end)end,
                                                                elements, count),
                                 STOA_OK);
                assert_int_equal(stoa_value_footprint(&value), footprint + growth);
                /* The elements were already held; only the ring may have grown. */
                size_t element_bytes = count * stoa_value_deque_element_footprint(0) + data_bytes;
                assert_int_equal(heap_bytes() - held, growth - element_bytes);
                assert_true(stoa_value_equal(&value, &model));
                assert_int_equal(stoa_value_footprint(&value), stoa_value_footprint(&model));
                if (count > 0) {
                    /* LPUSH a b c gives c b a: the last element given is at the end. */
                    const uint8_t *got = NULL;
                    size_t got_length = 0;
                    int64_t index = end == STOA_DEQUE_FRONT ? 0 : -1;
                    assert_int_equal(stoa_value_deque_get(&value, index, &got, &got_length),
                                     STOA_OK);
                    uint8_t data[32];
                    assert_int_equal(got_length, batch_element(count - 1, data));
                    if (got_length > 0) {
                        assert_memory_equal(got, data, got_length);
                    }
                }
                stoa_value_free(&model);
                assert_int_equal(heap_bytes() - before, stoa_value_footprint(&value));
                stoa_value_free(&value);
                assert_int_equal(heap_bytes(), before);
            }
        }
    }
}

/* push_elements refuses another type and an impossible count, says STOA_ERR_NOMEM when the
 * ring cannot grow, and in each case leaves the value unchanged and the elements the
 * caller's; a push that needs no growth allocates nothing. */
static void test_deque_push_elements_refused(void **state) {
    (void)state;
    struct stoa_deque_element *elements[3];
    for (size_t i = 0; i < 3; i++) {
        uint32_t number = 700 + (uint32_t)i;
        elements[i] = stoa_value_deque_element_make(&number, sizeof(number));
        assert_non_null(elements[i]);
    }
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_set(&value, "b", 1), STOA_OK);
    struct value_before saved;
    remember(&saved, &value);
    assert_int_equal(stoa_value_deque_push_elements(&value, STOA_DEQUE_BACK, elements, 3),
                     STOA_ERR_TYPE);
    assert_unchanged(&saved, &value);
    stoa_value_free(&value);

    /* Every start, with the ring's growth failing (when the push needs one). */
    for (size_t kind = 0; kind < START_KIND_COUNT; kind++) {
        make_start(&value, kind);
        remember(&saved, &value);
        /* The count is checked before the elements are read. */
        assert_int_equal(stoa_value_deque_push_elements(&value, STOA_DEQUE_BACK, elements,
                                                        (size_t)STOA_DEQUE_LENGTH_MAX + 1),
                         STOA_ERR_TOO_LARGE);
        assert_unchanged(&saved, &value);
        bool grows = stoa_value_deque_push_many_growth(&value, 3, 3 * sizeof(uint32_t)) >
                     3 * stoa_value_deque_element_footprint(sizeof(uint32_t));
        assert_true(grows == (kind == 0 || kind == 2 || kind == 3));
        remember(&saved, &value);
        uint64_t allocations = allocation_count();
        stoa_alloc_fail_nth(1);
        int result = stoa_value_deque_push_elements(&value, STOA_DEQUE_FRONT, elements, 3);
        stoa_alloc_fail_nth(0);
        if (grows) {
            assert_int_equal(result, STOA_ERR_NOMEM);
            assert_unchanged(&saved, &value);
            stoa_value_free(&value);
            continue; /* the elements are still ours: reuse them */
        }
        assert_int_equal(result, STOA_OK);
        assert_int_equal(allocation_count(), allocations);
        stoa_value_free(&saved.copy);
        /* The deque took the elements: pop them back out to reuse them. */
        for (size_t i = 3; i > 0; i--) {
            assert_int_equal(stoa_value_deque_pop(&value, STOA_DEQUE_FRONT, &elements[i - 1]),
                             STOA_OK);
            assert_int_equal(elements[i - 1]->length, sizeof(uint32_t));
        }
        stoa_value_free(&value);
    }
    for (size_t i = 0; i < 3; i++) {
        uint32_t number = 0;
        memcpy(&number, elements[i]->data, sizeof(number));
        assert_int_equal(number, 700 + i);
        stoa_free(elements[i]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_set_and_get),
        cmocka_unit_test(test_bytes_largest_and_one_more),
        cmocka_unit_test(test_bytes_append_growth),
        cmocka_unit_test(test_counter_parsing),
        cmocka_unit_test(test_counter_add),
        cmocka_unit_test(test_deque_empty_and_wrong_type),
        cmocka_unit_test(test_deque_wrap_around_and_growth),
        cmocka_unit_test(test_deque_indexes_ranges_and_trim),
        cmocka_unit_test(test_deque_against_model),
        cmocka_unit_test(test_deque_push_growth),
        cmocka_unit_test(test_failing_allocations_leave_value_unchanged),
        cmocka_unit_test(test_object),
        cmocka_unit_test(test_copy_equal_and_digest),
        cmocka_unit_test(test_bytes_write),
        cmocka_unit_test(test_deque_element_make_and_footprint),
        cmocka_unit_test(test_deque_push_elements),
        cmocka_unit_test(test_deque_push_elements_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
