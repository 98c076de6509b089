/* Shows that the allocation seam counts every allocation and byte, fails exactly the
 * allocations a test asks it to fail, and keeps the old block when a realloc fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/alloc.h"

static struct stoa_alloc_stats stats(void) {
    struct stoa_alloc_stats result;
    stoa_alloc_stats(&result);
    return result;
}

static int reset(void **state) {
    (void)state;
    stoa_alloc_fail_nth(0);
    stoa_alloc_reset_counters();
    return 0;
}

/* Each allocation and free is counted, live bytes are the sizes asked for, and calloc
 * zeroes its block. */
static void test_counting(void **state) {
    (void)state;
    struct stoa_alloc_stats before = stats();
    void *a = stoa_alloc(100);
    uint8_t *b = stoa_calloc(10, 30);
    assert_non_null(a);
    assert_non_null(b);
    for (size_t i = 0; i < 300; i++) {
        assert_int_equal(b[i], 0);
    }
    struct stoa_alloc_stats during = stats();
    assert_int_equal(during.allocation_count, before.allocation_count + 2);
    assert_int_equal(during.live_count, before.live_count + 2);
    assert_int_equal(during.live_bytes, before.live_bytes + 400);
    stoa_free(a);
    stoa_free(b);
    stoa_free(NULL);
    struct stoa_alloc_stats after = stats();
    assert_int_equal(after.free_count, before.free_count + 2);
    assert_int_equal(after.live_count, before.live_count);
    assert_int_equal(after.live_bytes, before.live_bytes);
    assert_int_equal(after.failure_count, before.failure_count);
}

/* fail_nth fails exactly the Nth allocation from now (counting alloc, calloc, realloc and
 * strndup alike), once. */
static void test_fail_nth(void **state) {
    (void)state;
    stoa_alloc_fail_nth(3);
    void *first = stoa_alloc(8);
    char *second = stoa_strndup("abc", 3);
    void *third = stoa_calloc(1, 8);
    void *fourth = stoa_alloc(8);
    assert_non_null(first);
    assert_non_null(second);
    assert_string_equal(second, "abc");
    assert_null(third);
    assert_non_null(fourth);
    assert_int_equal(stats().failure_count, 1);
    stoa_alloc_fail_nth(1);
    assert_null(stoa_strndup("x", 1));
    void *resized = stoa_realloc(first, 16);
    assert_non_null(resized);
    stoa_free(resized);
    stoa_free(second);
    stoa_free(fourth);
    assert_int_equal(stats().failure_count, 2);
}

/* fail_from fails every allocation from the Nth on, until turned off. */
static void test_fail_from(void **state) {
    (void)state;
    stoa_alloc_fail_from(2);
    void *first = stoa_alloc(8);
    assert_non_null(first);
    for (size_t i = 0; i < 5; i++) {
        assert_null(stoa_alloc(8));
    }
    assert_null(stoa_realloc(first, 64));
    assert_int_equal(stats().failure_count, 6);
    stoa_alloc_fail_nth(0);
    void *later = stoa_alloc(8);
    assert_non_null(later);
    stoa_free(later);
    stoa_free(first);
}

/* A failed realloc returns NULL and leaves the old block valid, with its bytes and its
 * accounting; a successful one keeps the bytes and moves the byte count. */
static void test_realloc_failure_keeps_old_block(void **state) {
    (void)state;
    struct stoa_alloc_stats before = stats();
    uint8_t *block = stoa_alloc(32);
    assert_non_null(block);
    memset(block, 0x5c, 32);
    stoa_alloc_fail_nth(1);
    assert_null(stoa_realloc(block, 4096));
    for (size_t i = 0; i < 32; i++) {
        assert_int_equal(block[i], 0x5c);
    }
    assert_int_equal(stats().live_bytes, before.live_bytes + 32);
    uint8_t *grown = stoa_realloc(block, 4096);
    assert_non_null(grown);
    for (size_t i = 0; i < 32; i++) {
        assert_int_equal(grown[i], 0x5c);
    }
    assert_int_equal(stats().live_bytes, before.live_bytes + 4096);
    assert_int_equal(stats().live_count, before.live_count + 1);
    stoa_free(grown);
    assert_int_equal(stats().live_bytes, before.live_bytes);
}

/* Impossible sizes fail without aborting and are counted as failures. */
static void test_impossible_sizes(void **state) {
    (void)state;
    assert_null(stoa_alloc(SIZE_MAX));
    assert_null(stoa_calloc(SIZE_MAX / 2, 4));
    assert_int_equal(stats().failure_count, 2);
}

/* reset_counters zeroes the event counters and keeps the live ones. */
static void test_reset_counters(void **state) {
    (void)state;
    void *block = stoa_alloc(50);
    struct stoa_alloc_stats before = stats();
    stoa_alloc_reset_counters();
    struct stoa_alloc_stats after = stats();
    assert_int_equal(after.allocation_count, 0);
    assert_int_equal(after.free_count, 0);
    assert_int_equal(after.failure_count, 0);
    assert_int_equal(after.live_count, before.live_count);
    assert_int_equal(after.live_bytes, before.live_bytes);
    stoa_free(block);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_counting, reset),
        cmocka_unit_test_setup(test_fail_nth, reset),
        cmocka_unit_test_setup(test_fail_from, reset),
        cmocka_unit_test_setup(test_realloc_failure_keeps_old_block, reset),
        cmocka_unit_test_setup(test_impossible_sizes, reset),
        cmocka_unit_test_setup(test_reset_counters, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
