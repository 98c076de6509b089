/* Shows that the byte buffer appends, consumes and grows correctly, never passes its
 * maximum, and is left exactly as it was when growth fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/prng.h"

/* Appends and consumes keep the bytes in order, and reset keeps the allocation. */
static void test_append_consume_reset(void **state) {
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1024);
    assert_null(buf.data);
    assert_int_equal(stoa_buf_append(&buf, "hello", 5), STOA_OK);
    assert_int_equal(stoa_buf_append_byte(&buf, ' '), STOA_OK);
    assert_int_equal(stoa_buf_append(&buf, "world", 5), STOA_OK);
    assert_int_equal(stoa_buf_append(&buf, NULL, 0), STOA_OK);
    assert_int_equal(buf.length, 11);
    assert_memory_equal(buf.data, "hello world", 11);
    stoa_buf_consume(&buf, 6);
    assert_int_equal(buf.length, 5);
    assert_memory_equal(buf.data, "world", 5);
    stoa_buf_consume(&buf, 0);
    assert_int_equal(buf.length, 5);
    size_t capacity = buf.capacity;
    stoa_buf_reset(&buf);
    assert_int_equal(buf.length, 0);
    assert_int_equal(buf.capacity, capacity);
    stoa_buf_free(&buf);
    assert_null(buf.data);
    assert_int_equal(buf.capacity, 0);
}

/* Growth doubles from the minimum, stops exactly at the maximum, and one byte more is
 * STOA_ERR_TOO_LARGE with the buffer unchanged. */
static void test_growth_and_maximum(void **state) {
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1000);
    assert_int_equal(stoa_buf_append_byte(&buf, 1), STOA_OK);
    assert_int_equal(buf.capacity, STOA_BUF_CAPACITY_MIN);
    assert_int_equal(stoa_buf_reserve(&buf, STOA_BUF_CAPACITY_MIN), STOA_OK);
    assert_int_equal(buf.capacity, 2 * STOA_BUF_CAPACITY_MIN);
    uint8_t block[1000];
    memset(block, 7, sizeof(block));
    assert_int_equal(stoa_buf_append(&buf, block, 999), STOA_OK);
    assert_int_equal(buf.length, 1000);
    assert_int_equal(buf.capacity, 1000);
    uint8_t *data = buf.data;
    assert_int_equal(stoa_buf_append_byte(&buf, 1), STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_buf_reserve(&buf, SIZE_MAX), STOA_ERR_TOO_LARGE);
    assert_ptr_equal(buf.data, data);
    assert_int_equal(buf.length, 1000);
    stoa_buf_consume(&buf, 1000);
    assert_int_equal(stoa_buf_append(&buf, block, 1000), STOA_OK);
    stoa_buf_free(&buf);
}

/* A maximum below the growth minimum is honoured from the first allocation. */
static void test_small_maximum(void **state) {
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 3);
    assert_int_equal(stoa_buf_append(&buf, "abc", 3), STOA_OK);
    assert_int_equal(buf.capacity, 3);
    assert_int_equal(stoa_buf_append_byte(&buf, 'd'), STOA_ERR_TOO_LARGE);
    stoa_buf_free(&buf);
}

/* When an allocation fails, append returns STOA_ERR_NOMEM and the bytes, length and
 * capacity are as before; the next append succeeds. */
static void test_allocation_failure_leaves_buffer(void **state) {
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 1 << 20);
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_buf_append(&buf, "x", 1), STOA_ERR_NOMEM);
    assert_null(buf.data);
    assert_int_equal(buf.capacity, 0);
    assert_int_equal(stoa_buf_append(&buf, "abc", 3), STOA_OK);
    uint8_t block[4096] = {0};
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_buf_append(&buf, block, sizeof(block)), STOA_ERR_NOMEM);
    assert_int_equal(buf.length, 3);
    assert_int_equal(buf.capacity, STOA_BUF_CAPACITY_MIN);
    assert_memory_equal(buf.data, "abc", 3);
    assert_int_equal(stoa_buf_append(&buf, block, sizeof(block)), STOA_OK);
    assert_int_equal(buf.length, 3 + sizeof(block));
    stoa_buf_free(&buf);
}

/* Random appends and consumes agree with a plain array model, and every byte is freed. */
static void test_random_against_model(void **state) {
    (void)state;
    enum { MODEL_BYTES = 1 << 16 };
    static uint8_t model[MODEL_BYTES];
    size_t model_length = 0;
    struct stoa_alloc_stats before;
    stoa_alloc_stats(&before);
    struct stoa_buf buf;
    stoa_buf_init(&buf, MODEL_BYTES);
    struct stoa_prng prng;
    stoa_prng_init(&prng, 31337);
    for (size_t step = 0; step < 20000; step++) {
        if (stoa_prng_below(&prng, 2) == 0) {
            uint8_t chunk[300];
            size_t n = (size_t)stoa_prng_below(&prng, sizeof(chunk));
            stoa_prng_fill(&prng, chunk, n);
            int result = stoa_buf_append(&buf, chunk, n);
            if (model_length + n > MODEL_BYTES) {
                assert_int_equal(result, STOA_ERR_TOO_LARGE);
                continue;
            }
            assert_int_equal(result, STOA_OK);
            memcpy(model + model_length, chunk, n);
            model_length += n;
        } else {
            size_t n = (size_t)stoa_prng_below(&prng, model_length + 1);
            stoa_buf_consume(&buf, n);
            memmove(model, model + n, model_length - n);
            model_length -= n;
        }
        assert_int_equal(buf.length, model_length);
        assert_true(model_length == 0 || memcmp(buf.data, model, model_length) == 0);
    }
    stoa_buf_free(&buf);
    struct stoa_alloc_stats after;
    stoa_alloc_stats(&after);
    assert_int_equal(after.live_count, before.live_count);
    assert_int_equal(after.live_bytes, before.live_bytes);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_consume_reset),
        cmocka_unit_test(test_growth_and_maximum),
        cmocka_unit_test(test_small_maximum),
        cmocka_unit_test(test_allocation_failure_leaves_buffer),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
