/* Shows that the keyspace stores binary keys and typed values, hides and reclaims expired keys
 * exactly at their expiry, accounts memory exactly and enforces its limit (evicting the
 * nearest expiry first under volatile-ttl), survives every failing allocation unchanged,
 * scans, picks random keys and digests its state, and agrees with a reference model over a
 * long random sequence of operations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "engine/keyspace.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/prng.h"

static void make(struct stoa_keyspace *keyspace, size_t memory_bytes_max,
                 enum stoa_keyspace_eviction eviction) {
    struct stoa_keyspace_options options = {
        .seed = 0x1234, .memory_bytes_max = memory_bytes_max, .eviction = eviction};
    stoa_keyspace_init(keyspace, &options);
}

static int put_bytes(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                     size_t key_length, const void *data, size_t length, int64_t expire_at_ms) {
    struct stoa_value value;
    stoa_value_init(&value);
    int result = stoa_value_bytes_set(&value, data, length);
    if (result != STOA_OK) {
        return result;
    }
    result = stoa_keyspace_put(keyspace, now_ms, key, key_length, &value, expire_at_ms);
    if (result == STOA_OK) {
        assert_int_equal(value.type, STOA_VALUE_NONE); /* taken */
    } else {
        assert_int_equal(value.type, STOA_VALUE_BYTES); /* still ours */
    }
    stoa_value_free(&value);
    return result;
}

static int put_text(struct stoa_keyspace *keyspace, int64_t now_ms, const char *key,
                    const char *text, int64_t expire_at_ms) {
    return put_bytes(keyspace, now_ms, key, strlen(key), text, strlen(text), expire_at_ms);
}

/* key holds exactly the bytes data[0 .. length) at now_ms. */
static void assert_holds(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                         size_t key_length, const void *data, size_t length) {
    const struct stoa_value *value = NULL;
    assert_int_equal(stoa_keyspace_lookup(keyspace, now_ms, key, key_length, &value, NULL),
                     STOA_OK);
    assert_int_equal(value->type, STOA_VALUE_BYTES);
    const uint8_t *got = NULL;
    size_t got_length = 0;
    stoa_value_bytes_get(value, &got, &got_length);
    assert_int_equal(got_length, length);
    if (length > 0) {
        assert_memory_equal(got, data, length);
    }
}

static void assert_text(struct stoa_keyspace *keyspace, int64_t now_ms, const char *key,
                        const char *text) {
    assert_holds(keyspace, now_ms, key, strlen(key), text, strlen(text));
}

static void assert_missing(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                           size_t key_length) {
    const struct stoa_value *value = NULL;
    assert_int_equal(stoa_keyspace_lookup(keyspace, now_ms, key, key_length, &value, NULL),
                     STOA_ERR_NOT_FOUND);
    assert_null(value);
}

struct recount {
    size_t used_bytes;
    size_t count;
};

static void recount_entry(void *context, const uint8_t *key, size_t key_length,
                          const struct stoa_value *value, int64_t expire_at_ms) {
    (void)key;
    (void)expire_at_ms;
    struct recount *recount = context;
    recount->used_bytes += stoa_keyspace_key_footprint(key_length) + stoa_value_footprint(value);
    recount->count++;
}

/* used_bytes equals a recomputation from every key (a scan at time 0 sees expired keys too,
 * since every expiry is after 0), and the keyspace's own invariants hold. */
static void assert_accounted(const struct stoa_keyspace *keyspace) {
    stoa_keyspace_check(keyspace);
    struct recount recount = {0};
    uint64_t cursor = 0;
    do {
        cursor = stoa_keyspace_scan(keyspace, 0, cursor, 16, recount_entry, &recount);
    } while (cursor != 0);
    assert_int_equal(recount.count, stoa_keyspace_count(keyspace));
    assert_int_equal(recount.used_bytes, stoa_keyspace_used_bytes(keyspace));
}

/* Binary keys with NUL bytes, the empty key and keys that differ only in length are all
 * distinct; empty values are values; replacing and deleting work; used memory follows. */
static void test_binary_keys_and_empty_values(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    static const uint8_t zeros[3] = {0, 0, 0};
    assert_int_equal(put_bytes(&keyspace, 1, NULL, 0, "empty key", 9, 0), STOA_OK);
    assert_int_equal(put_bytes(&keyspace, 1, zeros, 1, "one", 3, 0), STOA_OK);
    assert_int_equal(put_bytes(&keyspace, 1, zeros, 3, NULL, 0, 0), STOA_OK);
    assert_int_equal(stoa_keyspace_count(&keyspace), 3);
    assert_holds(&keyspace, 1, "", 0, "empty key", 9);
    assert_holds(&keyspace, 1, zeros, 1, "one", 3);
    assert_holds(&keyspace, 1, zeros, 3, NULL, 0);
    assert_missing(&keyspace, 1, zeros, 2);
    assert_accounted(&keyspace);
    size_t used = stoa_keyspace_used_bytes(&keyspace);
    assert_int_equal(put_bytes(&keyspace, 1, zeros, 1, "uno", 3, 0), STOA_OK);
    assert_holds(&keyspace, 1, zeros, 1, "uno", 3);
    assert_int_equal(stoa_keyspace_used_bytes(&keyspace), used);
    assert_int_equal(stoa_keyspace_delete(&keyspace, 1, zeros, 1), STOA_OK);
    assert_int_equal(stoa_keyspace_delete(&keyspace, 1, zeros, 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_keyspace_used_bytes(&keyspace),
                     used - stoa_keyspace_key_footprint(1) - (3 + STOA_ALLOC_HEADER_BYTES));
    assert_accounted(&keyspace);
    stoa_keyspace_flush(&keyspace);
    assert_int_equal(stoa_keyspace_count(&keyspace), 0);
    assert_int_equal(stoa_keyspace_used_bytes(&keyspace), 0);
    assert_missing(&keyspace, 1, "", 0);
    stoa_keyspace_free(&keyspace);
}

/* The largest key is stored and one byte more is refused with STOA_ERR_TOO_LARGE, by put and
 * by rename, changing nothing. */
static void test_largest_key_and_one_more(void **state) {
    (void)state;
    static uint8_t key[STOA_KEY_BYTES_MAX + 1];
    memset(key, 'k', sizeof(key));
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(put_bytes(&keyspace, 1, key, STOA_KEY_BYTES_MAX, "v", 1, 0), STOA_OK);
    assert_holds(&keyspace, 1, key, STOA_KEY_BYTES_MAX, "v", 1);
    assert_int_equal(put_bytes(&keyspace, 1, key, STOA_KEY_BYTES_MAX + 1, "v", 1, 0),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(
        stoa_keyspace_rename(&keyspace, 1, key, STOA_KEY_BYTES_MAX, key, STOA_KEY_BYTES_MAX + 1),
        STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_keyspace_count(&keyspace), 1);
    assert_int_equal(stoa_keyspace_rename(&keyspace, 1, key, STOA_KEY_BYTES_MAX, "k", 1), STOA_OK);
    assert_text(&keyspace, 1, "k", "v");
    assert_accounted(&keyspace);
    stoa_keyspace_free(&keyspace);
}

/* A key expiring at T is visible at T - 1 and gone at T: the lookup at T reclaims it. */
static void test_expiry_boundary(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(put_text(&keyspace, 100, "k", "v", 1000), STOA_OK);
    int64_t expire_at_ms = 0;
    assert_int_equal(stoa_keyspace_lookup(&keyspace, 999, "k", 1, NULL, &expire_at_ms), STOA_OK);
    assert_true(expire_at_ms == 1000);
    assert_int_equal(stoa_keyspace_count(&keyspace), 1);
    assert_missing(&keyspace, 1000, "k", 1);
    assert_int_equal(stoa_keyspace_count(&keyspace), 0);
    assert_int_equal(stoa_keyspace_expired_count(&keyspace), 1);
    assert_int_equal(stoa_keyspace_used_bytes(&keyspace), 0);
    /* A put whose expiry is already due deletes instead, as SET with a past PXAT. */
    assert_int_equal(put_text(&keyspace, 100, "k", "v", 0), STOA_OK);
    assert_int_equal(put_text(&keyspace, 100, "k", "w", 100), STOA_OK);
    assert_missing(&keyspace, 100, "k", 1);
    assert_int_equal(put_text(&keyspace, 100, "k", "w", 101), STOA_OK);
    assert_text(&keyspace, 100, "k", "w");
    /* Every kind of access at the boundary sees nothing. */
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    assert_int_equal(stoa_keyspace_lookup_for_write(&keyspace, 101, "k", 1, &value, &footprint),
                     STOA_ERR_NOT_FOUND);
    assert_int_equal(put_text(&keyspace, 100, "k", "w", 101), STOA_OK);
    assert_int_equal(stoa_keyspace_delete(&keyspace, 101, "k", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(put_text(&keyspace, 100, "k", "w", 101), STOA_OK);
    assert_int_equal(stoa_keyspace_expiry_set(&keyspace, 101, "k", 1, 0), STOA_ERR_NOT_FOUND);
    assert_int_equal(put_text(&keyspace, 100, "k", "w", 101), STOA_OK);
    assert_int_equal(stoa_keyspace_rename(&keyspace, 101, "k", 1, "j", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_keyspace_count(&keyspace), 0);
    stoa_keyspace_free(&keyspace);
}

/* Setting an expiry moves it, 0 clears it (PERSIST), a due time deletes the key, and a put
 * replaces the expiry along with the value. */
static void test_expiry_set(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(stoa_keyspace_expiry_set(&keyspace, 1, "k", 1, 50), STOA_ERR_NOT_FOUND);
    assert_int_equal(put_text(&keyspace, 1, "k", "v", 0), STOA_OK);
    assert_int_equal(stoa_keyspace_expiry_set(&keyspace, 1, "k", 1, 50), STOA_OK);
    assert_int_equal(stoa_keyspace_volatile_count(&keyspace), 1);
    assert_int_equal(stoa_keyspace_expiry_set(&keyspace, 1, "k", 1, 60), STOA_OK);
    assert_text(&keyspace, 59, "k", "v");
    assert_int_equal(stoa_keyspace_expiry_set(&keyspace, 1, "k", 1, 0), STOA_OK);
    assert_int_equal(stoa_keyspace_volatile_count(&keyspace), 0);
    assert_text(&keyspace, 1000000, "k", "v");
    assert_int_equal(put_text(&keyspace, 1, "k", "w", 70), STOA_OK);
    assert_int_equal(put_text(&keyspace, 1, "k", "x", 0), STOA_OK);
    assert_int_equal(stoa_keyspace_volatile_count(&keyspace), 0);
    assert_int_equal(stoa_keyspace_expiry_set(&keyspace, 5, "k", 1, 5), STOA_OK);
    assert_int_equal(stoa_keyspace_count(&keyspace), 0);
    assert_accounted(&keyspace);
    stoa_keyspace_free(&keyspace);
}

/* expire_step reclaims due keys nearest first and never more than asked, and leaves keys
 * that are not due. */
static void test_expire_step_is_bounded(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    for (int64_t i = 0; i < 100; i++) {
        uint8_t key[2] = {(uint8_t)i, 0};
        assert_int_equal(put_bytes(&keyspace, 0, key, 2, "v", 1, 1000 + i), STOA_OK);
        assert_int_equal(put_bytes(&keyspace, 0, key, 1, "v", 1, 0), STOA_OK);
    }
    assert_int_equal(stoa_keyspace_expire_step(&keyspace, 999, 50), 0);
    assert_int_equal(stoa_keyspace_expire_step(&keyspace, 1049, 0), 0);
    assert_int_equal(stoa_keyspace_expire_step(&keyspace, 1049, 10), 10);
    assert_int_equal(stoa_keyspace_count(&keyspace), 190);
    /* The ten nearest went first: key 10 is still there (visible at an earlier time). */
    uint8_t key[2] = {10, 0};
    assert_holds(&keyspace, 0, key, 2, "v", 1);
    key[0] = 9;
    assert_missing(&keyspace, 0, key, 2);
    assert_int_equal(stoa_keyspace_expire_step(&keyspace, 1049, 100), 40);
    assert_int_equal(stoa_keyspace_expire_step(&keyspace, 1049, 100), 0);
    assert_int_equal(stoa_keyspace_expire_step(&keyspace, INT64_MAX, 4096), 50);
    assert_int_equal(stoa_keyspace_count(&keyspace), 100);
    assert_int_equal(stoa_keyspace_expired_count(&keyspace), 100);
    assert_accounted(&keyspace);
    stoa_keyspace_free(&keyspace);
}

/* Under a reclaim horizon, a key expired at now but not at the horizon is hidden and kept
 * (lookups, deletes and the expire step leave it); put and rename replace it; once the
 * horizon passes its expiry it is reclaimed. */
static void test_reclaim_horizon(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(put_text(&keyspace, 0, "a", "1", 100), STOA_OK);
    assert_int_equal(put_text(&keyspace, 0, "b", "2", 100), STOA_OK);
    assert_int_equal(put_text(&keyspace, 0, "c", "3", 100), STOA_OK);
    assert_int_equal(put_text(&keyspace, 0, "src", "4", 0), STOA_OK);
    stoa_keyspace_reclaim_horizon_set(&keyspace, 50);
    assert_missing(&keyspace, 500, "a", 1);
    assert_int_equal(stoa_keyspace_delete(&keyspace, 500, "a", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_keyspace_expire_step(&keyspace, 500, 100), 0);
    assert_int_equal(stoa_keyspace_count(&keyspace), 4);
    assert_int_equal(stoa_keyspace_expired_count(&keyspace), 0);
    assert_text(&keyspace, 99, "a", "1"); /* still there for a command before its expiry */
    assert_int_equal(put_text(&keyspace, 500, "b", "new", 0), STOA_OK);
    assert_text(&keyspace, 500, "b", "new");
    assert_int_equal(stoa_keyspace_rename(&keyspace, 500, "src", 3, "c", 1), STOA_OK);
    assert_text(&keyspace, 500, "c", "4");
    assert_int_equal(stoa_keyspace_count(&keyspace), 3);
    assert_accounted(&keyspace);
    stoa_keyspace_reclaim_horizon_set(&keyspace, 100);
    assert_int_equal(stoa_keyspace_expire_step(&keyspace, 500, 100), 1);
    assert_int_equal(stoa_keyspace_count(&keyspace), 2);
    assert_accounted(&keyspace);
    stoa_keyspace_free(&keyspace);
}

/* Rename moves the value and the expiry, overwrites the target, accepts renaming a key to
 * itself and says NOT_FOUND for a missing source. */
static void test_rename(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(stoa_keyspace_rename(&keyspace, 1, "a", 1, "b", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(put_text(&keyspace, 1, "a", "1", 500), STOA_OK);
    assert_int_equal(put_text(&keyspace, 1, "bb", "2", 400), STOA_OK);
    assert_int_equal(stoa_keyspace_rename(&keyspace, 1, "a", 1, "a", 1), STOA_OK);
    assert_int_equal(stoa_keyspace_rename(&keyspace, 1, "a", 1, "bb", 2), STOA_OK);
    assert_missing(&keyspace, 1, "a", 1);
    int64_t expire_at_ms = 0;
    assert_int_equal(stoa_keyspace_lookup(&keyspace, 1, "bb", 2, NULL, &expire_at_ms), STOA_OK);
    assert_true(expire_at_ms == 500);
    assert_text(&keyspace, 1, "bb", "1");
    assert_int_equal(stoa_keyspace_count(&keyspace), 1);
    assert_int_equal(stoa_keyspace_volatile_count(&keyspace), 1);
    assert_accounted(&keyspace);
    assert_int_equal(stoa_keyspace_rename(&keyspace, 1, "bb", 2, "", 0), STOA_OK);
    assert_text(&keyspace, 1, "", "1");
    assert_accounted(&keyspace);
    stoa_keyspace_free(&keyspace);
}

/* A value changed in place through lookup_for_write is accounted by touched; reserve asks
 * for the growth first; a deque emptied in place is deleted. */
static void test_write_in_place(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    struct stoa_value deque;
    stoa_value_init(&deque);
    stoa_value_deque_init(&deque);
    assert_int_equal(stoa_value_deque_push(&deque, STOA_DEQUE_BACK, "x", 1), STOA_OK);
    assert_int_equal(stoa_keyspace_put(&keyspace, 1, "q", 1, &deque, 0), STOA_OK);
    for (size_t i = 0; i < 20; i++) {
        struct stoa_value *value = NULL;
        size_t footprint = 0;
        assert_int_equal(stoa_keyspace_lookup_for_write(&keyspace, 1, "q", 1, &value, &footprint),
                         STOA_OK);
        size_t growth = stoa_value_deque_push_growth(value, 3);
        assert_int_equal(stoa_keyspace_reserve(&keyspace, 1, growth, value), STOA_OK);
        assert_int_equal(stoa_value_deque_push(value, STOA_DEQUE_FRONT, "abc", 3), STOA_OK);
        stoa_keyspace_touched(&keyspace, value, footprint);
        assert_accounted(&keyspace);
    }
    for (size_t i = 0; i < 21; i++) {
        struct stoa_value *value = NULL;
        size_t footprint = 0;
        assert_int_equal(stoa_keyspace_lookup_for_write(&keyspace, 1, "q", 1, &value, &footprint),
                         STOA_OK);
        struct stoa_deque_element *element = NULL;
        assert_int_equal(stoa_value_deque_pop(value, STOA_DEQUE_BACK, &element), STOA_OK);
        stoa_free(element);
        stoa_keyspace_touched(&keyspace, value, footprint);
        assert_accounted(&keyspace);
    }
    assert_missing(&keyspace, 1, "q", 1);
    assert_int_equal(stoa_keyspace_used_bytes(&keyspace), 0);
    stoa_keyspace_free(&keyspace);
}

/* With no eviction, a write that would pass the limit is refused with OUT_OF_MEMORY and
 * changes nothing, while writes that shrink memory or fit still pass. */
static void test_limit_refuses(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(put_text(&keyspace, 1, "a", "0123456789", 0), STOA_OK);
    size_t one = stoa_keyspace_used_bytes(&keyspace);
    stoa_keyspace_limit_set(&keyspace, 2 * one, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(put_text(&keyspace, 1, "b", "0123456789", 0), STOA_OK);
    assert_int_equal(stoa_keyspace_used_bytes(&keyspace), 2 * one); /* exactly at the limit */
    uint64_t digest = stoa_keyspace_digest(&keyspace, 1);
    assert_int_equal(put_text(&keyspace, 1, "c", "", 0), STOA_ERR_OUT_OF_MEMORY);
    assert_int_equal(put_text(&keyspace, 1, "a", "0123456789A", 0), STOA_ERR_OUT_OF_MEMORY);
    assert_int_equal(stoa_keyspace_reserve(&keyspace, 1, 1, NULL), STOA_ERR_OUT_OF_MEMORY);
    assert_int_equal(stoa_keyspace_reserve(&keyspace, 1, 0, NULL), STOA_OK);
    assert_true(stoa_keyspace_digest(&keyspace, 1) == digest);
    assert_int_equal(stoa_keyspace_used_bytes(&keyspace), 2 * one);
    assert_int_equal(put_text(&keyspace, 1, "a", "012", 0), STOA_OK); /* smaller: fine */
    assert_int_equal(put_text(&keyspace, 1, "a", "0123456789", 0), STOA_OK);
    assert_int_equal(stoa_keyspace_count(&keyspace), 2);
    assert_accounted(&keyspace);
    stoa_keyspace_free(&keyspace);
}

/* Under volatile-ttl, a write past the limit evicts the keys with the nearest expiry first,
 * never a key without expiry nor the key being written, and is refused only when nothing
 * evictable is left. */
static void test_volatile_ttl_evicts_nearest_first(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(put_text(&keyspace, 1, "p", "0123456789", 0), STOA_OK);
    size_t one = stoa_keyspace_used_bytes(&keyspace);
    /* Keys 1..4 expire at 400, 100, 300, 200: eviction order is 2, 4, 3, 1. */
    assert_int_equal(put_text(&keyspace, 1, "1", "0123456789", 400), STOA_OK);
    assert_int_equal(put_text(&keyspace, 1, "2", "0123456789", 100), STOA_OK);
    assert_int_equal(put_text(&keyspace, 1, "3", "0123456789", 300), STOA_OK);
    assert_int_equal(put_text(&keyspace, 1, "4", "0123456789", 200), STOA_OK);
    stoa_keyspace_limit_set(&keyspace, 5 * one, STOA_KEYSPACE_EVICT_VOLATILE_TTL);
    assert_int_equal(put_text(&keyspace, 1, "5", "0123456789", 0), STOA_OK);
    assert_missing(&keyspace, 1, "2", 1);
    assert_int_equal(stoa_keyspace_count(&keyspace), 5);
    assert_int_equal(stoa_keyspace_evicted_count(&keyspace), 1);
    assert_int_equal(put_text(&keyspace, 1, "6", "0123456789", 0), STOA_OK);
    assert_missing(&keyspace, 1, "4", 1);
    assert_text(&keyspace, 1, "3", "0123456789");
    /* Growing key 3 in place evicts key 1 (expiring later) but never key 3 itself, though 3
     * has the nearest expiry now. */
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    assert_int_equal(stoa_keyspace_lookup_for_write(&keyspace, 1, "3", 1, &value, &footprint),
                     STOA_OK);
    size_t growth = stoa_value_bytes_append_growth(value, 1);
    assert_int_equal(stoa_keyspace_reserve(&keyspace, 1, growth, value), STOA_OK);
    assert_int_equal(stoa_value_bytes_append(value, "!", 1), STOA_OK);
    stoa_keyspace_touched(&keyspace, value, footprint);
    assert_missing(&keyspace, 1, "1", 1);
    assert_text(&keyspace, 1, "3", "0123456789!");
    assert_accounted(&keyspace);
    /* Now only key 3 is evictable; a large write evicts it and is still refused. */
    static const uint8_t large[1000];
    assert_true(sizeof(large) > 2 * one);
    assert_int_equal(put_bytes(&keyspace, 1, "7", 1, large, sizeof(large), 0),
                     STOA_ERR_OUT_OF_MEMORY);
    assert_missing(&keyspace, 1, "3", 1);
    assert_missing(&keyspace, 1, "7", 1);
    assert_text(&keyspace, 1, "p", "0123456789");
    assert_text(&keyspace, 1, "5", "0123456789");
    assert_text(&keyspace, 1, "6", "0123456789");
    assert_int_equal(stoa_keyspace_evicted_count(&keyspace), 4);
    assert_true(stoa_keyspace_used_bytes(&keyspace) <= 5 * one);
    assert_accounted(&keyspace);
    stoa_keyspace_free(&keyspace);
}

/* A key being inserted with the nearest expiry is not evicted to make room for itself. */
static void test_volatile_ttl_keeps_the_written_key(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    assert_int_equal(put_text(&keyspace, 1, "a", "0123456789", 500), STOA_OK);
    size_t one = stoa_keyspace_used_bytes(&keyspace);
    stoa_keyspace_limit_set(&keyspace, one, STOA_KEYSPACE_EVICT_VOLATILE_TTL);
    assert_int_equal(put_text(&keyspace, 1, "b", "0123456789", 10), STOA_OK);
    assert_missing(&keyspace, 1, "a", 1);
    assert_text(&keyspace, 1, "b", "0123456789");
    /* Replacing b with a larger value cannot evict b itself: refused. */
    assert_int_equal(put_text(&keyspace, 1, "b", "0123456789ABCDEF", 20), STOA_ERR_OUT_OF_MEMORY);
    int64_t expire_at_ms = 0;
    assert_int_equal(stoa_keyspace_lookup(&keyspace, 1, "b", 1, NULL, &expire_at_ms), STOA_OK);
    assert_true(expire_at_ms == 10); /* the refused put did not change the expiry either */
    assert_accounted(&keyspace);
    stoa_keyspace_free(&keyspace);
}

enum op_kind { OP_INSERT, OP_REPLACE, OP_RENAME, OP_RENAME_OVER, OP_EXPIRY, OP_PUSH, OP_COUNT };

static int run_op(struct stoa_keyspace *keyspace, enum op_kind kind) {
    switch (kind) {
    case OP_INSERT:
        return put_text(keyspace, 1, "new key", "new value", 900);
    case OP_REPLACE:
        return put_text(keyspace, 1, "plain", "a longer value than before", 800);
    case OP_RENAME:
        return stoa_keyspace_rename(keyspace, 1, "volatile", 8, "renamed", 7);
    case OP_RENAME_OVER:
        return stoa_keyspace_rename(keyspace, 1, "volatile", 8, "plain", 5);
    case OP_EXPIRY:
        return stoa_keyspace_expiry_set(keyspace, 1, "plain", 5, 700);
    case OP_PUSH: {
        struct stoa_value deque;
        stoa_value_init(&deque);
        stoa_value_deque_init(&deque);
        int result = stoa_value_deque_push(&deque, STOA_DEQUE_BACK, "e", 1);
        if (result == STOA_OK) {
            result = stoa_keyspace_put(keyspace, 1, "deque", 5, &deque, 0);
        }
        stoa_value_free(&deque);
        return result;
    }
    case OP_COUNT:
        break;
    }
    return STOA_ERR_INVALID;
}

/* Fails the 1st, 2nd, ... allocation of each operation in turn: every failure returns NOMEM
 * and leaves the keyspace's digest, used memory, count and invariants as they were, and the
 * operation succeeds once allocation works. */
static void test_failing_allocations(void **state) {
    (void)state;
    for (int kind = 0; kind < OP_COUNT; kind++) {
        for (uint64_t n = 1;; n++) {
            struct stoa_keyspace keyspace;
            make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
            assert_int_equal(put_text(&keyspace, 1, "plain", "v", 0), STOA_OK);
            /* 15 more volatile keys fill the heap's first slot array, so it must grow. */
            for (int i = 0; i < 16; i++) {
                char key[16] = "volatile";
                key[8] = i == 0 ? '\0' : (char)('a' + i);
                assert_int_equal(put_text(&keyspace, 1, key, "w", 1000 + i), STOA_OK);
            }
            uint64_t digest = stoa_keyspace_digest(&keyspace, 1);
            size_t used = stoa_keyspace_used_bytes(&keyspace);
            size_t count = stoa_keyspace_count(&keyspace);
            stoa_alloc_fail_nth(n);
            int result = run_op(&keyspace, (enum op_kind)kind);
            stoa_alloc_fail_nth(0);
            bool done = result == STOA_OK;
            if (!done) {
                assert_int_equal(result, STOA_ERR_NOMEM);
                assert_true(stoa_keyspace_digest(&keyspace, 1) == digest);
                assert_int_equal(stoa_keyspace_used_bytes(&keyspace), used);
                assert_int_equal(stoa_keyspace_count(&keyspace), count);
            } else {
                assert_true(stoa_keyspace_digest(&keyspace, 1) != digest);
            }
            assert_accounted(&keyspace);
            stoa_keyspace_free(&keyspace);
            if (done) {
                print_message("operation %d succeeded at allocation %llu\n", kind,
                              (unsigned long long)n);
                assert_true(n > 1);
                break;
            }
        }
    }
}

/* The same keys, values and expiries reached by different operation orders (and different
 * map seeds) have the same digest; one changed byte, element, expiry or key changes it;
 * expired keys do not count. */
static void test_digest(void **state) {
    (void)state;
    struct stoa_keyspace a;
    struct stoa_keyspace b;
    make(&a, 0, STOA_KEYSPACE_EVICT_NONE);
    struct stoa_keyspace_options options = {.seed = 999};
    stoa_keyspace_init(&b, &options);
    assert_true(stoa_keyspace_digest(&a, 1) == stoa_keyspace_digest(&b, 1));
    for (int i = 0; i < 300; i++) {
        uint8_t key[3] = {(uint8_t)i, 0, (uint8_t)(i >> 8)};
        assert_int_equal(put_bytes(&a, 1, key, 3, key, 2, i % 3 == 0 ? 5000 + i : 0), STOA_OK);
    }
    for (int i = 299; i >= 0; i--) {
        uint8_t key[3] = {(uint8_t)i, 0, (uint8_t)(i >> 8)};
        assert_int_equal(put_bytes(&b, 1, "tmp", 3, "junk", 4, 0), STOA_OK);
        assert_int_equal(put_bytes(&b, 1, "tmp", 3, key, 2, 0), STOA_OK);
        assert_int_equal(stoa_keyspace_rename(&b, 1, "tmp", 3, key, 3), STOA_OK);
        if (i % 3 == 0) {
            assert_int_equal(stoa_keyspace_expiry_set(&b, 1, key, 3, 5000 + i), STOA_OK);
        }
    }
    assert_int_equal(put_text(&b, 1, "gone", "soon", 2), STOA_OK); /* expired at 2 */
    uint64_t digest = stoa_keyspace_digest(&a, 2);
    assert_true(stoa_keyspace_digest(&b, 2) == digest);
    assert_true(stoa_keyspace_digest(&b, 1) != digest);
    uint8_t key[3] = {7, 0, 0};
    assert_int_equal(put_bytes(&b, 2, key, 3, "\x07\x01", 2, 0), STOA_OK);
    assert_true(stoa_keyspace_digest(&b, 2) != digest);
    assert_int_equal(put_bytes(&b, 2, key, 3, key, 2, 0), STOA_OK);
    assert_true(stoa_keyspace_digest(&b, 2) == digest);
    assert_int_equal(stoa_keyspace_expiry_set(&b, 2, key, 3, 9999), STOA_OK);
    assert_true(stoa_keyspace_digest(&b, 2) != digest);
    assert_int_equal(stoa_keyspace_expiry_set(&b, 2, key, 3, 0), STOA_OK);
    assert_int_equal(stoa_keyspace_rename(&b, 2, key, 3, key, 2), STOA_OK);
    assert_true(stoa_keyspace_digest(&b, 2) != digest);
    assert_int_equal(stoa_keyspace_rename(&b, 2, key, 2, key, 3), STOA_OK);
    assert_true(stoa_keyspace_digest(&b, 2) == digest);
    /* The same bytes as a one-element deque are a different state. */
    struct stoa_value deque;
    stoa_value_init(&deque);
    stoa_value_deque_init(&deque);
    assert_int_equal(stoa_value_deque_push(&deque, STOA_DEQUE_BACK, key, 2), STOA_OK);
    assert_int_equal(stoa_keyspace_put(&b, 2, key, 3, &deque, 0), STOA_OK);
    assert_true(stoa_keyspace_digest(&b, 2) != digest);
    stoa_keyspace_free(&a);
    stoa_keyspace_free(&b);
}

/* Which of the test's keys a scan returned, and how often. */
struct seen {
    uint32_t times[4096];
    size_t expired_returned;
};

static void see_key(void *context, const uint8_t *key, size_t key_length,
                    const struct stoa_value *value, int64_t expire_at_ms) {
    (void)value;
    (void)expire_at_ms;
    struct seen *seen = context;
    assert_int_equal(key_length, 2);
    uint16_t number = (uint16_t)(key[0] | key[1] << 8);
    assert_true(number < 4096);
    seen->times[number]++;
}

static int put_number(struct stoa_keyspace *keyspace, uint16_t number, int64_t expire_at_ms) {
    uint8_t key[2] = {(uint8_t)number, (uint8_t)(number >> 8)};
    return put_bytes(keyspace, 1, key, 2, "v", 1, expire_at_ms);
}

/* A scan that runs while the table grows and then shrinks returns every key that was there
 * the whole time at least once, and never an expired key. */
static void test_scan_across_resizes(void **state) {
    (void)state;
    static struct seen seen;
    memset(&seen, 0, sizeof(seen));
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    for (uint16_t i = 0; i < 300; i++) {
        assert_int_equal(put_number(&keyspace, i, i % 10 == 0 ? 50 : 0), STOA_OK);
    }
    uint64_t cursor = 0;
    size_t steps = 0;
    uint16_t next = 300;
    bool deleted = false;
    do {
        cursor = stoa_keyspace_scan(&keyspace, 60, cursor, 5, see_key, &seen);
        steps++;
        /* Grow to 4096 keys during the first half of the scan, then delete them again. */
        for (size_t i = 0; i < 40 && next < 4096; i++) {
            assert_int_equal(put_number(&keyspace, next++, 0), STOA_OK);
        }
        if (next == 4096 && !deleted) {
            deleted = true;
            for (uint16_t i = 300; i < 4096; i++) {
                uint8_t key[2] = {(uint8_t)i, (uint8_t)(i >> 8)};
                (void)stoa_keyspace_delete(&keyspace, 60, key, 2);
            }
        }
    } while (cursor != 0);
    for (uint16_t i = 0; i < 300; i++) {
        if (i % 10 == 0) {
            assert_int_equal(seen.times[i], 0);
        } else {
            assert_true(seen.times[i] >= 1);
        }
    }
    print_message("scan took %zu steps\n", steps);
    stoa_keyspace_free(&keyspace);
}

/* random_key returns only visible keys, reaches every key over many draws, and says
 * NOT_FOUND when nothing is visible. */
static void test_random_key(void **state) {
    (void)state;
    static struct seen seen;
    memset(&seen, 0, sizeof(seen));
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    assert_int_equal(stoa_keyspace_random_key(&keyspace, 1, 5, &key, &key_length),
                     STOA_ERR_NOT_FOUND);
    for (uint16_t i = 0; i < 100; i++) {
        assert_int_equal(put_number(&keyspace, i, i < 90 ? 10 : 0), STOA_OK);
    }
    struct stoa_prng prng;
    stoa_prng_init(&prng, 3);
    for (size_t draw = 0; draw < 20000; draw++) {
        int64_t now_ms = draw < 10000 ? 1 : 10;
        uint64_t random = stoa_prng_next_u64(&prng);
        assert_int_equal(stoa_keyspace_random_key(&keyspace, now_ms, random, &key, &key_length),
                         STOA_OK);
        see_key(&seen, key, key_length, NULL, 0);
        if (now_ms == 10) {
            assert_true(key[0] >= 90); /* keys below 90 expired at 10 */
        }
    }
    for (uint16_t i = 0; i < 100; i++) {
        assert_true(seen.times[i] > 0);
    }
    for (uint16_t i = 90; i < 100; i++) {
        uint8_t bytes[2] = {(uint8_t)i, 0};
        assert_int_equal(stoa_keyspace_delete(&keyspace, 10, bytes, 2), STOA_OK);
    }
    assert_int_equal(stoa_keyspace_random_key(&keyspace, 10, 5, &key, &key_length),
                     STOA_ERR_NOT_FOUND);
    stoa_keyspace_free(&keyspace);
}

/* ---- the randomized model-based test ---- */

enum {
    MODEL_KEYS = 48,
    MODEL_BYTES_MAX = 24,
    MODEL_ELEMENTS_MAX = 12,
    MODEL_ELEMENT_BYTES_MAX = 6,
};

/* The reference model: a plain array of keys, each with a flat copy of its value. A key
 * that is present but expired is still "present" until the keyspace must have reclaimed it
 * (an access to it, or expire_step), so the model predicts counts exactly. */
struct model_key {
    bool present;
    bool is_deque;
    int64_t expire_at_ms;
    uint8_t bytes[MODEL_BYTES_MAX * 2];
    size_t length; /* bytes, or elements of a deque */
    uint8_t elements[MODEL_ELEMENTS_MAX][MODEL_ELEMENT_BYTES_MAX];
    size_t element_lengths[MODEL_ELEMENTS_MAX];
};

struct model {
    struct model_key keys[MODEL_KEYS];
    uint8_t names[MODEL_KEYS][8];
    size_t name_lengths[MODEL_KEYS];
    int64_t now_ms;
};

static struct model model;

static void model_init(void) {
    memset(&model, 0, sizeof(model));
    model.now_ms = 1000;
    for (size_t k = 0; k < MODEL_KEYS; k++) {
        /* Key 0 is empty; others hold NUL bytes and some differ only in length. */
        model.name_lengths[k] = k % 7;
        for (size_t b = 0; b < 8; b++) {
            model.names[k][b] = (uint8_t)(b == 0 ? k : (b % 2 ? 0 : k * 3));
        }
        if (k >= 7 && model.name_lengths[k] == 0) {
            model.name_lengths[k] = 8;
        }
    }
}

static bool model_visible(size_t k) {
    const struct model_key *key = &model.keys[k];
    return key->present && (key->expire_at_ms == 0 || key->expire_at_ms > model.now_ms);
}

/* An access to key k reclaims it if it is expired. */
static void model_touch(size_t k) {
    if (model.keys[k].present && !model_visible(k)) {
        model.keys[k].present = false;
    }
}

static size_t model_count(void) {
    size_t count = 0;
    for (size_t k = 0; k < MODEL_KEYS; k++) {
        count += model.keys[k].present ? 1 : 0;
    }
    return count;
}

/* Expiries are made unique among present keys, so the order in which the keyspace reclaims
 * and evicts (nearest first) is fully determined and the model can follow it. */
static int64_t model_unique_expiry(int64_t expire_at_ms) {
    for (;;) {
        bool taken = false;
        for (size_t k = 0; k < MODEL_KEYS; k++) {
            taken = taken || (model.keys[k].present && model.keys[k].expire_at_ms == expire_at_ms);
        }
        if (!taken) {
            return expire_at_ms;
        }
        expire_at_ms++;
    }
}

/* The keyspace agrees with the model on key k: presence, type, contents and expiry. */
static void check_key(struct stoa_keyspace *keyspace, size_t k) {
    const struct stoa_value *value = NULL;
    int64_t expire_at_ms = -1;
    int result = stoa_keyspace_lookup(keyspace, model.now_ms, model.names[k], model.name_lengths[k],
                                      &value, &expire_at_ms);
    model_touch(k);
    const struct model_key *key = &model.keys[k];
    if (!key->present) {
        assert_int_equal(result, STOA_ERR_NOT_FOUND);
        return;
    }
    assert_int_equal(result, STOA_OK);
    assert_true(expire_at_ms == key->expire_at_ms);
    if (!key->is_deque) {
        assert_int_equal(value->type, STOA_VALUE_BYTES);
        const uint8_t *data = NULL;
        size_t length = 0;
        stoa_value_bytes_get(value, &data, &length);
        assert_int_equal(length, key->length);
        assert_true(length == 0 || memcmp(data, key->bytes, length) == 0);
        return;
    }
    assert_int_equal(value->type, STOA_VALUE_DEQUE);
    assert_int_equal(stoa_value_deque_length(value), key->length);
    for (size_t i = 0; i < key->length; i++) {
        const uint8_t *data = NULL;
        size_t length = 0;
        assert_int_equal(stoa_value_deque_get(value, (int64_t)i, &data, &length), STOA_OK);
        assert_int_equal(length, key->element_lengths[i]);
        assert_true(length == 0 || memcmp(data, key->elements[i], length) == 0);
    }
}

/* Builds a fresh keyspace from the visible part of the model, for digest comparison. */
static void model_build(struct stoa_keyspace *keyspace) {
    struct stoa_keyspace_options options = {.seed = 42};
    stoa_keyspace_init(keyspace, &options);
    for (size_t k = 0; k < MODEL_KEYS; k++) {
        const struct model_key *key = &model.keys[k];
        if (!model_visible(k)) {
            continue;
        }
        struct stoa_value value;
        stoa_value_init(&value);
        if (key->is_deque) {
            stoa_value_deque_init(&value);
            for (size_t i = 0; i < key->length; i++) {
                assert_int_equal(stoa_value_deque_push(&value, STOA_DEQUE_BACK, key->elements[i],
                                                       key->element_lengths[i]),
                                 STOA_OK);
            }
        } else {
            assert_int_equal(stoa_value_bytes_set(&value, key->bytes, key->length), STOA_OK);
        }
        assert_int_equal(stoa_keyspace_put(keyspace, model.now_ms, model.names[k],
                                           model.name_lengths[k], &value, key->expire_at_ms),
                         STOA_OK);
    }
}

static void model_check_all(struct stoa_keyspace *keyspace) {
    struct stoa_keyspace rebuilt;
    model_build(&rebuilt);
    assert_true(stoa_keyspace_digest(keyspace, model.now_ms) ==
                stoa_keyspace_digest(&rebuilt, model.now_ms));
    stoa_keyspace_free(&rebuilt);
    for (size_t k = 0; k < MODEL_KEYS; k++) {
        check_key(keyspace, k);
    }
    assert_int_equal(stoa_keyspace_count(keyspace), model_count());
}

static void random_bytes(struct stoa_prng *prng, uint8_t *data, size_t *length, size_t max) {
    *length = (size_t)stoa_prng_below(prng, max + 1);
    stoa_prng_fill(prng, data, *length);
}

static int64_t random_expiry(struct stoa_prng *prng) {
    uint64_t choice = stoa_prng_below(prng, 10);
    if (choice < 5) {
        return 0;
    }
    if (choice == 5) {
        return model.now_ms - (int64_t)stoa_prng_below(prng, 2); /* due: deletes */
    }
    return model_unique_expiry(model.now_ms + 1 + (int64_t)stoa_prng_below(prng, 60));
}

static void op_put(struct stoa_keyspace *keyspace, struct stoa_prng *prng, size_t k) {
    uint8_t data[MODEL_BYTES_MAX];
    size_t length = 0;
    random_bytes(prng, data, &length, MODEL_BYTES_MAX);
    int64_t expire_at_ms = random_expiry(prng);
    assert_int_equal(put_bytes(keyspace, model.now_ms, model.names[k], model.name_lengths[k], data,
                               length, expire_at_ms),
                     STOA_OK);
    struct model_key *key = &model.keys[k];
    memset(key, 0, sizeof(*key));
    if (expire_at_ms == 0 || expire_at_ms > model.now_ms) {
        key->present = true;
        key->expire_at_ms = expire_at_ms;
        memcpy(key->bytes, data, length);
        key->length = length;
    }
}

static void op_delete(struct stoa_keyspace *keyspace, size_t k) {
    int result =
        stoa_keyspace_delete(keyspace, model.now_ms, model.names[k], model.name_lengths[k]);
    model_touch(k);
    assert_int_equal(result, model.keys[k].present ? STOA_OK : STOA_ERR_NOT_FOUND);
    model.keys[k].present = false;
}

static void op_expiry_set(struct stoa_keyspace *keyspace, struct stoa_prng *prng, size_t k) {
    int64_t expire_at_ms = random_expiry(prng);
    int result = stoa_keyspace_expiry_set(keyspace, model.now_ms, model.names[k],
                                          model.name_lengths[k], expire_at_ms);
    model_touch(k);
    struct model_key *key = &model.keys[k];
    assert_int_equal(result, key->present ? STOA_OK : STOA_ERR_NOT_FOUND);
    key->expire_at_ms = expire_at_ms;
    key->present = key->present && (expire_at_ms == 0 || expire_at_ms > model.now_ms);
}

static void op_rename(struct stoa_keyspace *keyspace, size_t from, size_t to) {
    int result =
        stoa_keyspace_rename(keyspace, model.now_ms, model.names[from], model.name_lengths[from],
                             model.names[to], model.name_lengths[to]);
    model_touch(from);
    if (!model.keys[from].present) {
        assert_int_equal(result, STOA_ERR_NOT_FOUND);
        return;
    }
    assert_int_equal(result, STOA_OK);
    if (from != to) {
        model.keys[to] = model.keys[from];
        model.keys[from].present = false;
    }
}

/* A push through lookup_for_write, reserve and touched, or a put of a new deque. */
static void op_push(struct stoa_keyspace *keyspace, struct stoa_prng *prng, size_t k) {
    uint8_t data[MODEL_ELEMENT_BYTES_MAX];
    size_t length = 0;
    random_bytes(prng, data, &length, MODEL_ELEMENT_BYTES_MAX);
    bool front = stoa_prng_below(prng, 2) == 0;
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    int result = stoa_keyspace_lookup_for_write(keyspace, model.now_ms, model.names[k],
                                                model.name_lengths[k], &value, &footprint);
    model_touch(k);
    struct model_key *key = &model.keys[k];
    assert_int_equal(result, key->present ? STOA_OK : STOA_ERR_NOT_FOUND);
    if (!key->present) {
        struct stoa_value deque;
        stoa_value_init(&deque);
        stoa_value_deque_init(&deque);
        assert_int_equal(stoa_value_deque_push(&deque, STOA_DEQUE_BACK, data, length), STOA_OK);
        assert_int_equal(stoa_keyspace_put(keyspace, model.now_ms, model.names[k],
                                           model.name_lengths[k], &deque, 0),
                         STOA_OK);
        *key = (struct model_key){.present = true, .is_deque = true, .length = 1};
        memcpy(key->elements[0], data, length);
        key->element_lengths[0] = length;
        return;
    }
    if (!key->is_deque || key->length == MODEL_ELEMENTS_MAX) {
        result = stoa_value_deque_push(value, STOA_DEQUE_BACK, data, length);
        assert_int_equal(result, key->is_deque ? STOA_OK : STOA_ERR_TYPE);
        if (result == STOA_OK) { /* the model holds no more: take it back off */
            struct stoa_deque_element *element = NULL;
            assert_int_equal(stoa_value_deque_pop(value, STOA_DEQUE_BACK, &element), STOA_OK);
            stoa_free(element);
        }
        stoa_keyspace_touched(keyspace, value, footprint);
        return;
    }
    size_t growth = stoa_value_deque_push_growth(value, length);
    assert_int_equal(stoa_keyspace_reserve(keyspace, model.now_ms, growth, value), STOA_OK);
    enum stoa_deque_end end = front ? STOA_DEQUE_FRONT : STOA_DEQUE_BACK;
    assert_int_equal(stoa_value_deque_push(value, end, data, length), STOA_OK);
    stoa_keyspace_touched(keyspace, value, footprint);
    if (front) {
        memmove(key->elements[1], key->elements[0], key->length * MODEL_ELEMENT_BYTES_MAX);
        memmove(&key->element_lengths[1], &key->element_lengths[0], key->length * sizeof(size_t));
    }
    size_t index = front ? 0 : key->length;
    memcpy(key->elements[index], data, length);
    key->element_lengths[index] = length;
    key->length++;
}

/* A pop or an append through lookup_for_write and touched; a popped-empty deque is gone. */
static void op_pop_or_append(struct stoa_keyspace *keyspace, struct stoa_prng *prng, size_t k) {
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    int result = stoa_keyspace_lookup_for_write(keyspace, model.now_ms, model.names[k],
                                                model.name_lengths[k], &value, &footprint);
    model_touch(k);
    struct model_key *key = &model.keys[k];
    assert_int_equal(result, key->present ? STOA_OK : STOA_ERR_NOT_FOUND);
    if (!key->present) {
        return;
    }
    if (key->is_deque) {
        struct stoa_deque_element *element = NULL;
        assert_int_equal(stoa_value_deque_pop(value, STOA_DEQUE_FRONT, &element), STOA_OK);
        assert_int_equal(element->length, key->element_lengths[0]);
        stoa_free(element);
        stoa_keyspace_touched(keyspace, value, footprint);
        key->length--;
        memmove(key->elements[0], key->elements[1], key->length * MODEL_ELEMENT_BYTES_MAX);
        memmove(&key->element_lengths[0], &key->element_lengths[1], key->length * sizeof(size_t));
        key->present = key->length > 0;
        return;
    }
    uint8_t data[MODEL_BYTES_MAX];
    size_t length = 0;
    random_bytes(prng, data, &length, MODEL_BYTES_MAX);
    if (key->length + length > sizeof(key->bytes)) {
        length = 0;
    }
    size_t growth = stoa_value_bytes_append_growth(value, length);
    assert_int_equal(stoa_keyspace_reserve(keyspace, model.now_ms, growth, value), STOA_OK);
    assert_int_equal(stoa_value_bytes_append(value, data, length), STOA_OK);
    stoa_keyspace_touched(keyspace, value, footprint);
    memcpy(key->bytes + key->length, data, length);
    key->length += length;
}

/* expire_step reclaims the due keys with the nearest (unique) expiries, up to max_keys. */
static void op_expire_step(struct stoa_keyspace *keyspace, size_t max_keys) {
    size_t reclaimed = stoa_keyspace_expire_step(keyspace, model.now_ms, max_keys);
    size_t expected = 0;
    while (expected < max_keys) {
        size_t nearest = MODEL_KEYS;
        for (size_t k = 0; k < MODEL_KEYS; k++) {
            const struct model_key *key = &model.keys[k];
            if (key->present && !model_visible(k) &&
                (nearest == MODEL_KEYS || key->expire_at_ms < model.keys[nearest].expire_at_ms)) {
                nearest = k;
            }
        }
        if (nearest == MODEL_KEYS) {
            break;
        }
        model.keys[nearest].present = false;
        expected++;
    }
    assert_int_equal(reclaimed, expected);
}

static void random_model_op(struct stoa_keyspace *keyspace, struct stoa_prng *prng) {
    size_t k = (size_t)stoa_prng_below(prng, MODEL_KEYS);
    uint64_t op = stoa_prng_below(prng, 100);
    if (op < 25) {
        op_put(keyspace, prng, k);
    } else if (op < 33) {
        op_delete(keyspace, k);
    } else if (op < 43) {
        op_expiry_set(keyspace, prng, k);
    } else if (op < 51) {
        op_rename(keyspace, k, (size_t)stoa_prng_below(prng, MODEL_KEYS));
    } else if (op < 71) {
        op_push(keyspace, prng, k);
    } else if (op < 86) {
        op_pop_or_append(keyspace, prng, k);
    } else if (op < 91) {
        op_expire_step(keyspace, (size_t)stoa_prng_below(prng, 4));
    } else {
        model.now_ms += (int64_t)stoa_prng_below(prng, 8);
    }
    check_key(keyspace, k);
    check_key(keyspace, (size_t)stoa_prng_below(prng, MODEL_KEYS));
    assert_int_equal(stoa_keyspace_count(keyspace), model_count());
    assert_accounted(keyspace);
}

/* 200,000 random operations (puts, deletes, expiries, renames, in-place pushes, pops and
 * appends, expire steps, time passing) agree with the model after every one: the keys
 * touched, the count, and used memory against a recomputation; every 5,000 operations every
 * key is compared and the digest equals that of a keyspace rebuilt from the model. */
static void test_against_model(void **state) {
    (void)state;
    model_init();
    struct stoa_prng prng;
    stoa_prng_init(&prng, 0x6b657973);
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    for (size_t step = 0; step < 200000; step++) {
        random_model_op(&keyspace, &prng);
        if (step % 5000 == 4999) {
            model_check_all(&keyspace);
        }
    }
    model_check_all(&keyspace);
    print_message("model: %zu keys at the end, %llu expired reclaimed\n", model_count(),
                  (unsigned long long)stoa_keyspace_expired_count(&keyspace));
    stoa_keyspace_free(&keyspace);
}

/* The backend interface reaches the keyspace: the same operations through it give the same
 * results, commit accounts an in-place change, and release changes nothing. */
static void test_backend(void **state) {
    (void)state;
    struct stoa_keyspace keyspace;
    make(&keyspace, 0, STOA_KEYSPACE_EVICT_NONE);
    struct stoa_backend *backend = stoa_keyspace_backend(&keyspace);
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_set(&value, "10", 2), STOA_OK);
    assert_int_equal(stoa_backend_put(backend, 1, "n", 1, &value, 100), STOA_OK);
    struct stoa_value *writable = NULL;
    size_t footprint = 0;
    assert_int_equal(stoa_backend_lookup_for_write(backend, 1, "n", 1, &writable, &footprint),
                     STOA_OK);
    int64_t result = 0;
    assert_int_equal(stoa_backend_reserve(backend, 1, 64, writable), STOA_OK);
    assert_int_equal(stoa_value_counter_add(writable, 990, &result), STOA_OK);
    assert_int_equal(stoa_backend_commit(backend, 1, "n", 1, writable, footprint), STOA_OK);
    assert_accounted(&keyspace);
    assert_int_equal(stoa_backend_lookup_for_write(backend, 1, "n", 1, &writable, &footprint),
                     STOA_OK);
    stoa_backend_release(backend, writable);
    const struct stoa_value *read = NULL;
    int64_t expire_at_ms = 0;
    assert_int_equal(stoa_backend_lookup(backend, 1, "n", 1, &read, &expire_at_ms), STOA_OK);
    assert_int_equal(stoa_value_counter_get(read, &result), STOA_OK);
    assert_true(result == 1000 && expire_at_ms == 100);
    assert_int_equal(stoa_backend_expiry_set(backend, 1, "n", 1, 0), STOA_OK);
    assert_int_equal(stoa_backend_rename(backend, 1, "n", 1, "m", 1), STOA_OK);
    size_t count = 0;
    assert_int_equal(stoa_backend_count(backend, &count), STOA_OK);
    assert_int_equal(count, 1);
    uint64_t digest = 0;
    assert_int_equal(stoa_backend_digest(backend, 1, &digest), STOA_OK);
    assert_true(digest == stoa_keyspace_digest(&keyspace, 1));
    const uint8_t *key = NULL;
    size_t key_length = 0;
    assert_int_equal(stoa_backend_random_key(backend, 1, 77, &key, &key_length), STOA_OK);
    assert_true(key_length == 1 && key[0] == 'm');
    struct recount recount = {0};
    uint64_t cursor = 1;
    assert_int_equal(stoa_backend_scan(backend, 1, 0, 10, recount_entry, &recount, &cursor),
                     STOA_OK);
    assert_true(cursor == 0);
    assert_int_equal(recount.count, 1);
    assert_int_equal(recount.used_bytes, stoa_keyspace_used_bytes(&keyspace));
    assert_int_equal(stoa_backend_remove(backend, 1, "m", 1), STOA_OK);
    assert_int_equal(stoa_backend_remove(backend, 1, "m", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_backend_flush(backend), STOA_OK);
    assert_int_equal(stoa_keyspace_used_bytes(&keyspace), 0);
    stoa_keyspace_free(&keyspace);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binary_keys_and_empty_values),
        cmocka_unit_test(test_largest_key_and_one_more),
        cmocka_unit_test(test_expiry_boundary),
        cmocka_unit_test(test_expiry_set),
        cmocka_unit_test(test_expire_step_is_bounded),
        cmocka_unit_test(test_reclaim_horizon),
        cmocka_unit_test(test_rename),
        cmocka_unit_test(test_write_in_place),
        cmocka_unit_test(test_limit_refuses),
        cmocka_unit_test(test_volatile_ttl_evicts_nearest_first),
        cmocka_unit_test(test_volatile_ttl_keeps_the_written_key),
        cmocka_unit_test(test_failing_allocations),
        cmocka_unit_test(test_digest),
        cmocka_unit_test(test_scan_across_resizes),
        cmocka_unit_test(test_random_key),
        cmocka_unit_test(test_against_model),
        cmocka_unit_test(test_backend),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
