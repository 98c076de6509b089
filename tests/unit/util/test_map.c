/* Shows that the hash map agrees with a simple array model over a million random inserts,
 * replaces and removes (through many incremental grows and shrinks), that operations during
 * a resize see every entry, and that failing allocations leave it consistent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/map.h"
#include "util/prng.h"

enum {
    KEY_COUNT = 20000, /* distinct keys the random tests draw from */
    KEY_BYTES_MAX = 4 + 12,
    VALUE_SLOTS = 1 << 16, /* values are pointers into this array, reused cyclically */
};

/* Two copies of every key, so that a replace can hand the map a different pointer. Key 0
 * is the empty key; key i > 0 is i in 4 little-endian bytes, then i % 13 filler bytes. */
static uint8_t key_bytes[2][KEY_COUNT][KEY_BYTES_MAX];
static size_t key_lengths[KEY_COUNT];
static char value_slots[VALUE_SLOTS];

/* The model: each key's current value (NULL = absent) and which copy the map borrows. */
struct model {
    void *values[KEY_COUNT];
    uint8_t copy[KEY_COUNT];
    size_t count;
    size_t next_slot;
};

static struct model model;

static int setup_keys(void **state) {
    (void)state;
    for (size_t i = 0; i < KEY_COUNT; i++) {
        size_t length = i == 0 ? 0 : 4 + i % 13;
        for (size_t c = 0; c < 2; c++) {
            for (size_t b = 0; b < 4; b++) {
                key_bytes[c][i][b] = (uint8_t)(i >> (8 * b));
            }
            memset(key_bytes[c][i] + 4, 0x5a, KEY_BYTES_MAX - 4);
        }
        key_lengths[i] = length;
    }
    return 0;
}

static void model_reset(void) {
    memset(&model, 0, sizeof(model));
}

static void *next_value(void) {
    void *value = &value_slots[model.next_slot];
    model.next_slot = (model.next_slot + 1) % VALUE_SLOTS;
    return value;
}

/* get agrees with the model for key k. */
static void check_key(const struct stoa_map *map, size_t k) {
    void *value = (void *)&model;
    int result = stoa_map_get(map, key_bytes[0][k], key_lengths[k], &value);
    if (model.values[k] == NULL) {
        assert_int_equal(result, STOA_ERR_NOT_FOUND);
        assert_ptr_equal(value, (void *)&model); /* untouched */
    } else {
        assert_int_equal(result, STOA_OK);
        assert_ptr_equal(value, model.values[k]);
    }
}

/* The whole map agrees with the model: invariants, count, and a cursor walk that returns
 * each present key exactly once, with the key pointer the map was last given. */
static void check_all(const struct stoa_map *map) {
    static bool seen[KEY_COUNT];
    stoa_map_check(map);
    assert_int_equal(stoa_map_count(map), model.count);
    memset(seen, 0, sizeof(seen));
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, map);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *value = NULL;
    size_t walked = 0;
    while (stoa_map_cursor_next(&cursor, &key, &key_length, &value)) {
        size_t copy = (size_t)(key - &key_bytes[0][0][0]) / (KEY_COUNT * KEY_BYTES_MAX);
        assert_true(copy < 2);
        size_t k = (size_t)(key - key_bytes[copy][0]) / KEY_BYTES_MAX;
        assert_true(k < KEY_COUNT);
        assert_ptr_equal(key, key_bytes[model.copy[k]][k]);
        assert_int_equal(key_length, key_lengths[k]);
        assert_false(seen[k]);
        seen[k] = true;
        assert_ptr_equal(value, model.values[k]);
        walked++;
    }
    assert_int_equal(walked, model.count);
}

/* Puts key k with a fresh value through the given copy; returns the map's result and
 * updates the model only on success. */
static int model_put(struct stoa_map *map, size_t k, size_t copy) {
    void *value = next_value();
    void *old_value = (void *)&model;
    int result = stoa_map_put(map, key_bytes[copy][k], key_lengths[k], value, &old_value);
    if (result != STOA_OK) {
        assert_int_equal(result, STOA_ERR_NOMEM);
        assert_ptr_equal(old_value, (void *)&model); /* untouched */
        return result;
    }
    assert_ptr_equal(old_value, model.values[k]);
    model.count += model.values[k] == NULL ? 1 : 0;
    model.values[k] = value;
    model.copy[k] = (uint8_t)copy;
    return result;
}

static void model_remove(struct stoa_map *map, size_t k) {
    void *old_value = NULL;
    int result = stoa_map_remove(map, key_bytes[1][k], key_lengths[k], &old_value);
    if (model.values[k] == NULL) {
        assert_int_equal(result, STOA_ERR_NOT_FOUND);
        return;
    }
    assert_int_equal(result, STOA_OK);
    assert_ptr_equal(old_value, model.values[k]);
    model.values[k] = NULL;
    model.count--;
}

/* One random operation: mostly puts in even phases, mostly removes in odd ones, so the map
 * grows and shrinks again and again. */
static void random_op(struct stoa_map *map, struct stoa_prng *prng, size_t step) {
    uint64_t put_percent = (step / 50000) % 2 == 0 ? 90 : 10;
    size_t k = (size_t)stoa_prng_below(prng, KEY_COUNT);
    if (stoa_prng_below(prng, 100) < put_percent) {
        assert_int_equal(model_put(map, k, (size_t)stoa_prng_below(prng, 2)), STOA_OK);
    } else {
        model_remove(map, k);
    }
    check_key(map, k);
    check_key(map, (size_t)stoa_prng_below(prng, KEY_COUNT));
}

/* A million random operations agree with the model after every one (get of the key
 * touched and of a random key) and in full every 5000; grows, shrinks and operations
 * during a resize all happen; freeing the map returns every block. */
static void test_random_against_model(void **state) {
    (void)state;
    struct stoa_alloc_stats before;
    stoa_alloc_stats(&before);
    model_reset();
    struct stoa_prng prng;
    stoa_prng_init(&prng, 0x5eed);
    struct stoa_map map;
    stoa_map_init(&map, stoa_prng_next_u64(&prng));
    size_t ops_while_resizing = 0;
    size_t bucket_count_max = 0;
    size_t bucket_count_min_after_max = SIZE_MAX;
    for (size_t step = 0; step < 1000000; step++) {
        ops_while_resizing += stoa_map_is_resizing(&map) ? 1 : 0;
        random_op(&map, &prng, step);
        size_t bucket_count = stoa_map_bucket_count(&map);
        if (bucket_count > bucket_count_max) {
            bucket_count_max = bucket_count;
            bucket_count_min_after_max = SIZE_MAX;
        } else if (bucket_count < bucket_count_min_after_max) {
            bucket_count_min_after_max = bucket_count;
        }
        if (step % 5000 == 0) {
            check_all(&map);
        }
    }
    check_all(&map);
    print_message("%zu operations during a resize, at most %zu buckets, then %zu\n",
                  ops_while_resizing, bucket_count_max, bucket_count_min_after_max);
    assert_true(ops_while_resizing > 1000);
    assert_true(bucket_count_max >= 16384);
    assert_true(bucket_count_min_after_max < bucket_count_max / 4); /* it shrank */
    stoa_map_free(&map);
    struct stoa_alloc_stats after;
    stoa_alloc_stats(&after);
    assert_int_equal(after.live_count, before.live_count);
    assert_int_equal(after.live_bytes, before.live_bytes);
}

/* While a large table is being resized, which takes many operations, every entry stays
 * visible to get, the cursor and remove, and new entries land correctly. */
static void test_operations_during_resize(void **state) {
    (void)state;
    model_reset();
    struct stoa_map map;
    stoa_map_init(&map, 99);
    size_t k = 0;
    while (!(stoa_map_is_resizing(&map) && stoa_map_count(&map) >= 4096)) {
        assert_int_equal(model_put(&map, k, 0), STOA_OK);
        k++;
    }
    /* Doubling 4096 buckets at STOA_MAP_REHASH_STEP per operation takes 64 operations. */
    size_t operations = 0;
    while (stoa_map_is_resizing(&map)) {
        assert_true(stoa_map_bucket_count(&map) == 4096 + 8192);
        for (size_t i = 0; i < k; i++) {
            check_key(&map, i);
        }
        check_all(&map);
        switch (operations % 3) {
        case 0:
            assert_int_equal(model_put(&map, k++, 0), STOA_OK);
            break;
        case 1:
            assert_int_equal(model_put(&map, operations, 1), STOA_OK);
            break;
        default:
            model_remove(&map, operations * 7);
            break;
        }
        operations++;
    }
    assert_int_equal(operations, 4096 / STOA_MAP_REHASH_STEP);
    assert_int_equal(stoa_map_bucket_count(&map), 8192);
    check_all(&map);
    stoa_map_free(&map);
}

/* Removing every entry shrinks the map back to its smallest table. */
static void test_shrinks_when_emptied(void **state) {
    (void)state;
    model_reset();
    struct stoa_map map;
    stoa_map_init(&map, 7);
    for (size_t k = 0; k < 10000; k++) {
        assert_int_equal(model_put(&map, k, 0), STOA_OK);
    }
    assert_true(stoa_map_bucket_count(&map) >= 8192);
    for (size_t k = 0; k < 10000; k++) {
        model_remove(&map, k);
    }
    /* Each put and remove of one key moves more old buckets, until the shrinking ends. */
    for (size_t i = 0; i < 1000; i++) {
        if (!stoa_map_is_resizing(&map) && stoa_map_bucket_count(&map) == STOA_MAP_BUCKETS_MIN) {
            break;
        }
        assert_int_equal(model_put(&map, 1, 0), STOA_OK);
        model_remove(&map, 1);
    }
    assert_false(stoa_map_is_resizing(&map));
    assert_int_equal(stoa_map_bucket_count(&map), STOA_MAP_BUCKETS_MIN);
    check_all(&map);
    stoa_map_free(&map);
}

/* Random operations with the first or second allocation of half of them failing: a put
 * that fails returns STOA_ERR_NOMEM and changes nothing, and the map stays consistent. */
static void test_failing_allocations(void **state) {
    (void)state;
    model_reset();
    struct stoa_prng prng;
    stoa_prng_init(&prng, 4242);
    struct stoa_map map;
    stoa_map_init(&map, 1);
    size_t failures = 0;
    for (size_t step = 0; step < 50000; step++) {
        uint64_t fail = stoa_prng_below(&prng, 2) == 0 ? 0 : 1 + stoa_prng_below(&prng, 2);
        stoa_alloc_fail_nth(fail);
        size_t k = (size_t)stoa_prng_below(&prng, 4000);
        /* Mostly puts early on, mostly removes later, so the map grows and shrinks. */
        if (stoa_prng_below(&prng, 100) < (step < 25000 ? 75u : 25u)) {
            failures += model_put(&map, k, 0) == STOA_ERR_NOMEM ? 1 : 0;
        } else {
            model_remove(&map, k);
        }
        stoa_alloc_fail_nth(0);
        check_key(&map, k);
        if (step % 1000 == 0) {
            check_all(&map);
        }
    }
    check_all(&map);
    assert_true(failures > 500);
    stoa_map_free(&map);
}

/* When the bucket array for a growth cannot be allocated, the put still succeeds, the map
 * works above load factor 1, and the next put with working allocation grows it. */
static void test_failed_growth_is_postponed(void **state) {
    (void)state;
    model_reset();
    struct stoa_map map;
    stoa_map_init(&map, 5);
    size_t k = 0;
    while (stoa_map_is_resizing(&map) || stoa_map_count(&map) + 1 < 64) {
        assert_int_equal(model_put(&map, k++, 0), STOA_OK);
    }
    assert_int_equal(stoa_map_bucket_count(&map), 64);
    for (size_t i = 0; i < 3; i++) {
        stoa_alloc_fail_nth(2); /* the entry is the first allocation, the growth the second */
        assert_int_equal(model_put(&map, k++, 0), STOA_OK);
        stoa_alloc_fail_nth(0);
        assert_false(stoa_map_is_resizing(&map));
        assert_int_equal(stoa_map_bucket_count(&map), 64);
        check_all(&map);
    }
    assert_int_equal(stoa_map_count(&map), 66);
    for (size_t i = 0; i < k; i++) {
        check_key(&map, i);
    }
    assert_int_equal(model_put(&map, k++, 0), STOA_OK);
    assert_true(stoa_map_is_resizing(&map));
    assert_int_equal(stoa_map_bucket_count(&map), 64 + 128);
    check_all(&map);
    stoa_map_free(&map);
}

/* The very first put fails cleanly when the first table cannot be allocated. */
static void test_first_table_allocation_fails(void **state) {
    (void)state;
    model_reset();
    struct stoa_map map;
    stoa_map_init(&map, 3);
    stoa_alloc_fail_nth(1);
    assert_int_equal(model_put(&map, 5, 0), STOA_ERR_NOMEM);
    assert_int_equal(stoa_map_count(&map), 0);
    check_key(&map, 5);
    assert_int_equal(model_put(&map, 5, 0), STOA_OK);
    check_all(&map);
    stoa_map_free(&map);
}

/* Keys are binary: the empty key, keys with NUL bytes, and keys that differ only in length
 * are all distinct; a NULL old_value pointer is allowed. */
static void test_binary_keys(void **state) {
    (void)state;
    static const uint8_t zeros[3] = {0, 0, 0};
    static char a;
    static char b;
    static char c;
    struct stoa_map map;
    stoa_map_init(&map, 11);
    assert_int_equal(stoa_map_put(&map, NULL, 0, &a, NULL), STOA_OK);
    assert_int_equal(stoa_map_put(&map, zeros, 1, &b, NULL), STOA_OK);
    assert_int_equal(stoa_map_put(&map, zeros, 3, &c, NULL), STOA_OK);
    void *value = NULL;
    assert_int_equal(stoa_map_get(&map, "", 0, &value), STOA_OK);
    assert_ptr_equal(value, &a);
    assert_int_equal(stoa_map_get(&map, zeros, 1, &value), STOA_OK);
    assert_ptr_equal(value, &b);
    assert_int_equal(stoa_map_get(&map, zeros, 3, &value), STOA_OK);
    assert_ptr_equal(value, &c);
    assert_int_equal(stoa_map_get(&map, zeros, 2, &value), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_map_remove(&map, zeros, 1, NULL), STOA_OK);
    assert_int_equal(stoa_map_remove(&map, zeros, 1, NULL), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_map_count(&map), 2);
    stoa_map_free(&map);
    assert_int_equal(stoa_map_count(&map), 0);
    assert_int_equal(stoa_map_get(&map, "", 0, &value), STOA_ERR_NOT_FOUND);
}

/* The seed changes where keys land: the same keys walk in a different order. */
static void test_seed_changes_order(void **state) {
    (void)state;
    struct stoa_map maps[2];
    for (size_t m = 0; m < 2; m++) {
        stoa_map_init(&maps[m], m + 1);
        for (size_t k = 1; k < 200; k++) {
            assert_int_equal(
                stoa_map_put(&maps[m], key_bytes[0][k], key_lengths[k], value_slots + k, NULL),
                STOA_OK);
        }
    }
    struct stoa_map_cursor cursors[2];
    stoa_map_cursor_init(&cursors[0], &maps[0]);
    stoa_map_cursor_init(&cursors[1], &maps[1]);
    size_t same_position = 0;
    const uint8_t *keys[2];
    size_t lengths[2];
    void *values[2];
    while (stoa_map_cursor_next(&cursors[0], &keys[0], &lengths[0], &values[0])) {
        assert_true(stoa_map_cursor_next(&cursors[1], &keys[1], &lengths[1], &values[1]));
        same_position += keys[0] == keys[1] ? 1 : 0;
    }
    assert_true(same_position < 50);
    stoa_map_free(&maps[0]);
    stoa_map_free(&maps[1]);
}

/* Counts, per key, how often a scan returned it. */
static uint32_t scan_times[KEY_COUNT];

static void count_scanned(void *context, const uint8_t *key, size_t key_length, void *value) {
    (void)context;
    (void)value;
    size_t copy = (size_t)(key - &key_bytes[0][0][0]) / (KEY_COUNT * KEY_BYTES_MAX);
    size_t k = (size_t)(key - key_bytes[copy][0]) / KEY_BYTES_MAX;
    assert_true(copy < 2 && k < KEY_COUNT);
    assert_int_equal(key_length, key_lengths[k]);
    scan_times[k]++;
}

/* Scans the whole map with no modification in between; returns the number of steps. */
static size_t scan_all(const struct stoa_map *map) {
    memset(scan_times, 0, sizeof(scan_times));
    size_t steps = 0;
    uint64_t cursor = 0;
    do {
        cursor = stoa_map_scan(map, cursor, count_scanned, NULL);
        steps++;
    } while (cursor != 0);
    return steps;
}

/* A scan of a map that does not change returns each entry exactly once, also in the middle of
 * a resize; a scan across many grows and shrinks returns every entry that was there the
 * whole time at least once; an empty map's scan ends at once. */
static void test_scan(void **state) {
    (void)state;
    model_reset();
    struct stoa_map map;
    stoa_map_init(&map, 17);
    assert_int_equal(stoa_map_scan(&map, 0, count_scanned, NULL), 0);
    for (size_t k = 0; k < 1000; k++) {
        assert_int_equal(model_put(&map, k, 0), STOA_OK);
    }
    size_t resizing_scans = 0;
    for (size_t k = 1000; k < 3000; k++) {
        assert_int_equal(model_put(&map, k, 0), STOA_OK);
        if (k % 97 == 0 || stoa_map_is_resizing(&map)) {
            resizing_scans += stoa_map_is_resizing(&map) ? 1 : 0;
            (void)scan_all(&map);
            for (size_t i = 0; i <= k; i++) {
                assert_int_equal(scan_times[i], 1);
            }
        }
    }
    assert_true(resizing_scans > 10);
    /* Keys 0..999 stay; 1000..2999 are removed, then 3000..9999 added, then removed, while
     * the scan runs one step per modification. */
    memset(scan_times, 0, sizeof(scan_times));
    uint64_t cursor = 0;
    size_t k = 1000;
    size_t steps = 0;
    do {
        cursor = stoa_map_scan(&map, cursor, count_scanned, NULL);
        steps++;
        for (size_t i = 0; i < 40; i++, k++) {
            if (k < 3000) {
                model_remove(&map, k);
            } else if (k < 10000) {
                assert_int_equal(model_put(&map, k, 1), STOA_OK);
            } else if (k < 17000) {
                model_remove(&map, k - 7000);
            }
        }
    } while (cursor != 0);
    print_message("scan across resizes: %zu steps\n", steps);
    assert_true(k > 3000);
    for (size_t i = 0; i < 1000; i++) {
        assert_true(scan_times[i] >= 1);
    }
    check_all(&map);
    stoa_map_free(&map);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_model),
        cmocka_unit_test(test_operations_during_resize),
        cmocka_unit_test(test_shrinks_when_emptied),
        cmocka_unit_test(test_failing_allocations),
        cmocka_unit_test(test_failed_growth_is_postponed),
        cmocka_unit_test(test_first_table_allocation_fails),
        cmocka_unit_test(test_binary_keys),
        cmocka_unit_test(test_seed_changes_order),
        cmocka_unit_test(test_scan),
    };
    return cmocka_run_group_tests(tests, setup_keys, NULL);
}
