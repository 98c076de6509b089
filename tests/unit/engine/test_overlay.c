/* Shows that the overlay is a copy-on-write view of a base keyspace that never changes the
 * base: each backend operation shadows, deletes, expires, flushes and renames in the view
 * only, nothing deleted or emptied there shows base's value again, failures change nothing,
 * clear brings back exactly the base, and thousands of random write commands applied through
 * stoa_apply to the view and to a copy of the base give byte-identical replies and the same
 * final state (also while the base catches up with the view's commands). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/apply.h"
#include "engine/keyspace.h"
#include "engine/overlay.h"
#include "engine/reply.h"
#include "engine/session.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/prng.h"

#define NOW 1000

static void keyspace_make(struct stoa_keyspace *keyspace, uint64_t seed) {
    struct stoa_keyspace_options options = {.seed = seed};
    stoa_keyspace_init(keyspace, &options);
}

static int put_text(struct stoa_backend *backend, int64_t now_ms, const char *key, const char *text,
                    int64_t expire_at_ms) {
    struct stoa_value value;
    stoa_value_init(&value);
    int result = stoa_value_bytes_set(&value, text, strlen(text));
    if (result != STOA_OK) {
        return result; /* the failing-heap test */
    }
    result = stoa_backend_put(backend, now_ms, key, strlen(key), &value, expire_at_ms);
    stoa_value_free(&value);
    return result;
}

static void put_deque(struct stoa_backend *backend, const char *key, const char *const *items,
                      size_t count) {
    struct stoa_value value;
    stoa_value_deque_init(&value);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(stoa_value_deque_push(&value, STOA_DEQUE_BACK, items[i], strlen(items[i])),
                         STOA_OK);
    }
    assert_int_equal(stoa_backend_put(backend, NOW, key, strlen(key), &value, 0), STOA_OK);
    stoa_value_free(&value);
}

/* key holds text (and expire_at_ms) at now_ms through backend. */
static void assert_text(struct stoa_backend *backend, int64_t now_ms, const char *key,
                        const char *text, int64_t expire_at_ms) {
    const struct stoa_value *value = NULL;
    int64_t expiry = -1;
    assert_int_equal(stoa_backend_lookup(backend, now_ms, key, strlen(key), &value, &expiry),
                     STOA_OK);
    assert_int_equal(value->type, STOA_VALUE_BYTES);
    const uint8_t *data = NULL;
    size_t length = 0;
    stoa_value_bytes_get(value, &data, &length);
    assert_int_equal(length, strlen(text));
    assert_true(length == 0 || memcmp(data, text, length) == 0);
    assert_int_equal(expiry, expire_at_ms);
}

static void assert_missing(struct stoa_backend *backend, int64_t now_ms, const char *key) {
    const struct stoa_value *value = (const void *)&value; /* must stay untouched */
    const struct stoa_value *const sentinel = value;
    assert_int_equal(stoa_backend_lookup(backend, now_ms, key, strlen(key), &value, NULL),
                     STOA_ERR_NOT_FOUND);
    assert_ptr_equal(value, sentinel);
}

/* Everything about a keyspace that speculation must not change, expired keys included. */
struct fingerprint {
    uint64_t digest_all; /* at 0: every key held, visible or not */
    size_t count;
    size_t used_bytes;
    uint64_t expired_count;
};

static struct fingerprint fingerprint_of(const struct stoa_keyspace *keyspace) {
    return (struct fingerprint){
        .digest_all = stoa_keyspace_digest(keyspace, 0),
        .count = stoa_keyspace_count(keyspace),
        .used_bytes = stoa_keyspace_used_bytes(keyspace),
        .expired_count = stoa_keyspace_expired_count(keyspace),
    };
}

static void assert_same_fingerprint(const struct fingerprint *a, const struct fingerprint *b) {
    assert_int_equal(a->digest_all, b->digest_all);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->used_bytes, b->used_bytes);
    assert_int_equal(a->expired_count, b->expired_count);
}

/* A base with a string "s", a counter "n" expiring at 5000, a deque "l" [x y], and a string
 * "t" expiring at 1500; and an overlay over it. */
struct fixture {
    struct stoa_keyspace base;
    struct stoa_overlay overlay;
    struct stoa_backend *view;
    struct fingerprint before;
};

static void fixture_init(struct fixture *f) {
    keyspace_make(&f->base, 3);
    struct stoa_backend *base = stoa_keyspace_backend(&f->base);
    assert_int_equal(put_text(base, NOW, "s", "base", 0), STOA_OK);
    assert_int_equal(put_text(base, NOW, "n", "5", 5000), STOA_OK);
    static const char *const items[] = {"x", "y"};
    put_deque(base, "l", items, 2);
    assert_int_equal(put_text(base, NOW, "t", "soon", 1500), STOA_OK);
    stoa_overlay_init(&f->overlay, base, 9);
    f->view = stoa_overlay_backend(&f->overlay);
    f->before = fingerprint_of(&f->base);
}

/* The base is exactly as built, and both structures' invariants hold. */
static void fixture_done(struct fixture *f) {
    stoa_overlay_check(&f->overlay);
    stoa_keyspace_check(&f->base);
    struct fingerprint after = fingerprint_of(&f->base);
    assert_same_fingerprint(&f->before, &after);
    stoa_overlay_free(&f->overlay);
    stoa_keyspace_free(&f->base);
}

static uint64_t view_digest(struct fixture *f, int64_t now_ms) {
    uint64_t digest = 0;
    assert_int_equal(stoa_backend_digest(f->view, now_ms, &digest), STOA_OK);
    return digest;
}

/* A value put in the view shadows base's, a new key exists only in the view, and the base
 * keeps its own values. */
static void test_put_shadows_base(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    assert_text(f.view, NOW, "s", "base", 0);
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 0);
    assert_int_equal(put_text(f.view, NOW, "s", "view", 0), STOA_OK);
    assert_int_equal(put_text(f.view, NOW, "new", "fresh", 3000), STOA_OK);
    assert_text(f.view, NOW, "s", "view", 0);
    assert_text(f.view, NOW, "new", "fresh", 3000);
    assert_text(f.view, NOW, "n", "5", 5000); /* untouched keys come from base */
    assert_text(stoa_keyspace_backend(&f.base), NOW, "s", "base", 0);
    assert_missing(stoa_keyspace_backend(&f.base), NOW, "new");
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 2);
    assert_true(stoa_overlay_used_bytes(&f.overlay) > 0);
    /* A too-long key is refused and nothing is owned for it. */
    static char long_key[STOA_KEY_BYTES_MAX + 2];
    memset(long_key, 'k', sizeof(long_key) - 1);
    assert_int_equal(put_text(f.view, NOW, long_key, "v", 0), STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 2);
    /* A put with a past expiry deletes, and base's value does not show through. */
    assert_int_equal(put_text(f.view, NOW, "n", "9", NOW), STOA_OK);
    assert_missing(f.view, NOW, "n");
    fixture_done(&f);
}

/* A key removed in the view is not found there, even though base still has it; removing a key
 * visible nowhere says NOT_FOUND and owns nothing. */
static void test_remove_does_not_fall_through(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    assert_int_equal(stoa_backend_remove(f.view, NOW, "s", 1), STOA_OK);
    assert_missing(f.view, NOW, "s");
    assert_int_equal(stoa_backend_remove(f.view, NOW, "s", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 1);
    assert_int_equal(stoa_backend_remove(f.view, NOW, "nothing", 7), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 1);
    /* Removing a key changed in the view deletes the change and still hides base. */
    assert_int_equal(put_text(f.view, NOW, "n", "7", 0), STOA_OK);
    assert_int_equal(stoa_backend_remove(f.view, NOW, "n", 1), STOA_OK);
    assert_missing(f.view, NOW, "n");
    /* A write after a delete starts from nothing, not from base's value. */
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    assert_int_equal(stoa_backend_lookup_for_write(f.view, NOW, "n", 1, &value, &footprint),
                     STOA_ERR_NOT_FOUND);
    assert_text(stoa_keyspace_backend(&f.base), NOW, "s", "base", 0);
    fixture_done(&f);
}

/* lookup_for_write copies base's value and expiry into the view, so a change in place is seen
 * in the view only; a missing key owns nothing. */
static void test_lookup_for_write_copies(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    assert_int_equal(stoa_backend_lookup_for_write(f.view, NOW, "n", 1, &value, &footprint),
                     STOA_OK);
    int64_t result = 0;
    assert_int_equal(stoa_value_counter_add(value, 1, &result), STOA_OK);
    assert_int_equal(result, 6);
    assert_int_equal(stoa_backend_reserve(f.view, NOW, 1 << 20, value), STOA_OK);
    assert_int_equal(stoa_backend_commit(f.view, NOW, "n", 1, value, footprint), STOA_OK);
    assert_text(f.view, NOW, "n", "6", 5000);
    assert_text(stoa_keyspace_backend(&f.base), NOW, "n", "5", 5000);
    /* A release leaves the view's value as it was. */
    assert_int_equal(stoa_backend_lookup_for_write(f.view, NOW, "s", 1, &value, &footprint),
                     STOA_OK);
    stoa_backend_release(f.view, value);
    assert_text(f.view, NOW, "s", "base", 0);
    value = (void *)&value;
    struct stoa_value *const sentinel = value;
    assert_int_equal(stoa_backend_lookup_for_write(f.view, NOW, "zz", 2, &value, &footprint),
                     STOA_ERR_NOT_FOUND);
    assert_ptr_equal(value, sentinel);
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 2);
    fixture_done(&f);
}

/* With a copy limit, a base value larger than it is not taken over: the write fails with
 * TOO_LARGE, nothing changes, and take_declined says it was the limit (once). A put, which
 * copies nothing, still works, and a small value is still copied. */
static void test_copy_limit(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    const struct stoa_value *deque = NULL;
    assert_int_equal(stoa_backend_lookup(f.view, NOW, "l", 1, &deque, NULL), STOA_OK);
    stoa_overlay_copy_limit_set(&f.overlay, stoa_value_footprint(deque) - 1);
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    assert_int_equal(stoa_backend_lookup_for_write(f.view, NOW, "l", 1, &value, &footprint),
                     STOA_ERR_TOO_LARGE);
    assert_true(stoa_overlay_take_declined(&f.overlay));
    assert_false(stoa_overlay_take_declined(&f.overlay));
    assert_int_equal(stoa_backend_expiry_set(f.view, NOW, "l", 1, 9000), STOA_ERR_TOO_LARGE);
    assert_true(stoa_overlay_take_declined(&f.overlay));
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 0);
    assert_int_equal(stoa_backend_lookup_for_write(f.view, NOW, "s", 1, &value, &footprint),
                     STOA_OK);
    stoa_backend_release(f.view, value);
    assert_false(stoa_overlay_take_declined(&f.overlay));
    assert_int_equal(put_text(f.view, NOW, "l", "replaced", 0), STOA_OK);
    assert_text(f.view, NOW, "l", "replaced", 0);
    fixture_done(&f);
}

/* A deque emptied in the view is deleted there and does not come back from base. */
static void test_emptied_deque_stays_gone(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    for (int i = 0; i < 2; i++) {
        struct stoa_value *value = NULL;
        size_t footprint = 0;
        assert_int_equal(stoa_backend_lookup_for_write(f.view, NOW, "l", 1, &value, &footprint),
                         STOA_OK);
        struct stoa_deque_element *element = NULL;
        assert_int_equal(stoa_value_deque_pop(value, STOA_DEQUE_FRONT, &element), STOA_OK);
        stoa_free(element);
        assert_int_equal(stoa_backend_commit(f.view, NOW, "l", 1, value, footprint), STOA_OK);
    }
    assert_missing(f.view, NOW, "l");
    const struct stoa_value *base_value = NULL;
    assert_int_equal(
        stoa_backend_lookup(stoa_keyspace_backend(&f.base), NOW, "l", 1, &base_value, NULL),
        STOA_OK);
    assert_int_equal(stoa_value_deque_length(base_value), 2);
    fixture_done(&f);
}

/* Expiry is judged by the view: a key expired in the view's changes does not fall through to
 * base, an expiry in the past deletes in the view only, and a base key past its expiry is
 * hidden without the base reclaiming it. */
static void test_expiry(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    assert_int_equal(stoa_backend_expiry_set(f.view, NOW, "s", 1, 1200), STOA_OK);
    assert_text(f.view, NOW, "s", "base", 1200);
    assert_missing(f.view, 1200, "s");
    assert_missing(f.view, 1100, "s"); /* reclaimed in the view at 1200, not back from base */
    assert_int_equal(stoa_backend_expiry_set(f.view, NOW, "n", 1, NOW), STOA_OK);
    assert_missing(f.view, NOW, "n");
    assert_int_equal(stoa_backend_expiry_set(f.view, NOW, "n", 1, 0), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_backend_expiry_set(f.view, NOW, "none", 4, 0), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_backend_expiry_set(f.view, NOW, "l", 1, 0), STOA_OK); /* persist */
    /* t expires at 1500 in base: hidden in the view at 1500, and base still holds it. */
    assert_text(f.view, 1499, "t", "soon", 1500);
    assert_missing(f.view, 1500, "t");
    assert_int_equal(stoa_backend_remove(f.view, 1500, "t", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_backend_expiry_set(f.view, 1500, "t", 1, 0), STOA_ERR_NOT_FOUND);
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    assert_int_equal(stoa_backend_lookup_for_write(f.view, 1500, "t", 1, &value, &footprint),
                     STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_keyspace_expired_count(&f.base), 0);
    assert_text(stoa_keyspace_backend(&f.base), NOW, "s", "base", 0);
    fixture_done(&f);
}

/* FLUSHALL in the view hides every base key, later writes are seen, and the base keeps all. */
static void test_flush_hides_base(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    assert_int_equal(put_text(f.view, NOW, "s", "view", 0), STOA_OK);
    assert_int_equal(stoa_backend_flush(f.view), STOA_OK);
    assert_true(stoa_overlay_flushed(&f.overlay));
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 0);
    assert_int_equal(stoa_overlay_used_bytes(&f.overlay), 0);
    static const char *const names[] = {"s", "n", "l", "t"};
    for (size_t i = 0; i < 4; i++) {
        assert_missing(f.view, NOW, names[i]);
        assert_int_equal(stoa_backend_remove(f.view, NOW, names[i], 1), STOA_ERR_NOT_FOUND);
    }
    assert_int_equal(put_text(f.view, NOW, "c", "after", 0), STOA_OK);
    assert_text(f.view, NOW, "c", "after", 0);
    size_t count = 0;
    assert_int_equal(stoa_backend_count(f.view, &count), STOA_OK);
    assert_int_equal(count, 1);
    static struct stoa_keyspace same;
    keyspace_make(&same, 77);
    assert_int_equal(put_text(stoa_keyspace_backend(&same), NOW, "c", "after", 0), STOA_OK);
    assert_int_equal(view_digest(&f, NOW), stoa_keyspace_digest(&same, NOW));
    stoa_keyspace_free(&same);
    fixture_done(&f);
}

/* RENAME has the keyspace's semantics in the view: a missing from, a key renamed to itself, a
 * base key onto another base key (value and expiry move, the old value of to goes), onto a
 * new key, a too-long to; the base never changes. */
static void test_rename(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    assert_int_equal(stoa_backend_rename(f.view, NOW, "none", 4, "s", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_backend_rename(f.view, 1500, "t", 1, "s", 1), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_backend_rename(f.view, NOW, "s", 1, "s", 1), STOA_OK);
    assert_text(f.view, NOW, "s", "base", 0);
    assert_int_equal(stoa_overlay_key_count(&f.overlay), 0);
    static char long_key[STOA_KEY_BYTES_MAX + 1];
    memset(long_key, 'k', sizeof(long_key));
    uint64_t digest = view_digest(&f, NOW);
    assert_int_equal(stoa_backend_rename(f.view, NOW, "s", 1, long_key, sizeof(long_key)),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(view_digest(&f, NOW), digest);
    /* n (expiring at 5000) onto s: s takes n's value and expiry, n is gone. */
    assert_int_equal(stoa_backend_rename(f.view, NOW, "n", 1, "s", 1), STOA_OK);
    assert_text(f.view, NOW, "s", "5", 5000);
    assert_missing(f.view, NOW, "n");
    /* Onto a key that exists nowhere, then back over a key deleted in the view. */
    assert_int_equal(stoa_backend_rename(f.view, NOW, "s", 1, "fresh", 5), STOA_OK);
    assert_text(f.view, NOW, "fresh", "5", 5000);
    assert_missing(f.view, NOW, "s");
    assert_int_equal(stoa_backend_rename(f.view, NOW, "fresh", 5, "n", 1), STOA_OK);
    assert_text(f.view, NOW, "n", "5", 5000);
    assert_missing(f.view, NOW, "fresh");
    /* The view's digest is that of a keyspace holding its visible state. */
    static struct stoa_keyspace same;
    keyspace_make(&same, 5);
    struct stoa_backend *same_backend = stoa_keyspace_backend(&same);
    assert_int_equal(put_text(same_backend, NOW, "n", "5", 5000), STOA_OK);
    assert_int_equal(put_text(same_backend, NOW, "t", "soon", 1500), STOA_OK);
    static const char *const items[] = {"x", "y"};
    put_deque(same_backend, "l", items, 2);
    assert_int_equal(view_digest(&f, NOW), stoa_keyspace_digest(&same, NOW));
    assert_int_equal(view_digest(&f, 1600), stoa_keyspace_digest(&same, 1600));
    size_t count = 0;
    assert_int_equal(stoa_backend_count(f.view, &count), STOA_OK);
    assert_int_equal(count, stoa_keyspace_count(&same));
    stoa_keyspace_free(&same);
    fixture_done(&f);
}

/* A scan callback that must never be called. */
static void scan_fail(void *context, const uint8_t *key, size_t key_length,
                      const struct stoa_value *value, int64_t expire_at_ms) {
    (void)context;
    (void)key;
    (void)key_length;
    (void)value;
    (void)expire_at_ms;
    fail();
}

/* scan and random_key are refused (reads go to the real keyspace) and touch nothing. */
static void test_unsupported(void **state) {
    (void)state;
    static struct fixture f;
    fixture_init(&f);
    uint64_t next = 42;
    assert_int_equal(stoa_backend_scan(f.view, NOW, 0, 10, scan_fail, NULL, &next),
                     STOA_ERR_UNSUPPORTED);
    assert_int_equal(next, 42);
    const uint8_t *key = NULL;
    size_t key_length = 7;
    assert_int_equal(stoa_backend_random_key(f.view, NOW, 1, &key, &key_length),
                     STOA_ERR_UNSUPPORTED);
    assert_null(key);
    assert_int_equal(key_length, 7);
    fixture_done(&f);
}

/* One operation of the failing-heap test, on the fixture's view. */
static int failing_operation(struct fixture *f, int which) {
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    int result = STOA_OK;
    switch (which) {
    case 0:
        return put_text(f->view, NOW, "new", "v", 0);
    case 1:
        result = stoa_backend_lookup_for_write(f->view, NOW, "n", 1, &value, &footprint);
        if (result == STOA_OK) {
            int64_t sum = 0;
            assert_int_equal(stoa_value_counter_add(value, 1, &sum), STOA_OK);
            result = stoa_backend_commit(f->view, NOW, "n", 1, value, footprint);
        }
        return result;
    case 2:
        return stoa_backend_remove(f->view, NOW, "s", 1);
    case 3:
        return stoa_backend_rename(f->view, NOW, "s", 1, "n", 1);
    case 4:
        return stoa_backend_rename(f->view, NOW, "l", 1, "brand-new", 9);
    default:
        return stoa_backend_expiry_set(f->view, NOW, "s", 1, 4000);
    }
}

/* Under every failing allocation, each write either succeeds or fails with NOMEM leaving the
 * view exactly as it was (owned keys included), and nothing leaks. */
static void test_failing_allocations(void **state) {
    (void)state;
    struct stoa_alloc_stats start;
    stoa_alloc_stats(&start);
    for (int which = 0; which < 6; which++) {
        bool succeeded = false;
        for (uint64_t n = 1; n < 64 && !succeeded; n++) {
            static struct fixture f;
            fixture_init(&f);
            /* A first change, so some operations meet a key already owned. */
            assert_int_equal(put_text(f.view, NOW, "t", "owned", 0), STOA_OK);
            uint64_t digest = view_digest(&f, NOW);
            size_t owned = stoa_overlay_key_count(&f.overlay);
            stoa_alloc_fail_nth(n);
            int result = failing_operation(&f, which);
            stoa_alloc_fail_nth(0);
            if (result == STOA_OK) {
                succeeded = true;
            } else {
                assert_int_equal(result, STOA_ERR_NOMEM);
                assert_int_equal(view_digest(&f, NOW), digest);
                /* A failed write may leave a copied key owned (invisible), never more. */
                assert_true(stoa_overlay_key_count(&f.overlay) <= owned + 1);
            }
            fixture_done(&f);
        }
        assert_true(succeeded);
    }
    struct stoa_alloc_stats end;
    stoa_alloc_stats(&end);
    assert_int_equal(end.live_count, start.live_count);
}

/* ---- random write commands, through stoa_apply ---- */

#define NAMES 10
static const char *const names[NAMES] = {"a", "b", "c", "d", "e", "f", "g", "h", "o1", "o2"};
static const char *const datas[] = {
    "0", "1", "-3", "x", "abc", "", "7", "10.5", "9223372036854775807", "zz"};
#define DATAS (sizeof(datas) / sizeof(datas[0]))
#define COMMAND_ARGUMENTS_MAX 8

struct cmd {
    uint32_t opcode;
    int64_t stamp_ms;
    bool read;
    struct stoa_command_argument list[COMMAND_ARGUMENTS_MAX];
    uint8_t numbers[COMMAND_ARGUMENTS_MAX][8];
    size_t count;
};

static void arg_text(struct cmd *c, const char *text) {
    assert_true(c->count < COMMAND_ARGUMENTS_MAX);
    c->list[c->count] = (struct stoa_command_argument){(const uint8_t *)text, strlen(text)};
    c->count++;
}
static void arg_i64(struct cmd *c, int64_t value) {
    assert_true(c->count < COMMAND_ARGUMENTS_MAX);
    stoa_op_int64_put(c->numbers[c->count], value);
    c->list[c->count] = (struct stoa_command_argument){c->numbers[c->count], 8};
    c->count++;
}
static void arg_f64(struct cmd *c, double value) {
    assert_true(c->count < COMMAND_ARGUMENTS_MAX);
    stoa_op_double_put(c->numbers[c->count], value);
    c->list[c->count] = (struct stoa_command_argument){c->numbers[c->count], 8};
    c->count++;
}
static void arg_u8(struct cmd *c, uint8_t flags) {
    assert_true(c->count < COMMAND_ARGUMENTS_MAX);
    c->numbers[c->count][0] = flags;
    c->list[c->count] = (struct stoa_command_argument){c->numbers[c->count], 1};
    c->count++;
}

static uint64_t below(struct stoa_prng *prng, uint64_t bound) {
    return stoa_prng_below(prng, bound);
}
static void arg_name(struct cmd *c, struct stoa_prng *prng) {
    arg_text(c, names[below(prng, NAMES)]);
}
static void arg_data(struct cmd *c, struct stoa_prng *prng) {
    arg_text(c, datas[below(prng, DATAS)]);
}
/* An absolute time near now: none (0) half the time, else from 10 ms past to 60 ms ahead. */
static int64_t near_time(struct stoa_prng *prng, int64_t now) {
    return below(prng, 2) == 0 ? 0 : now + (int64_t)below(prng, 70) - 10;
}

static void string_command(struct cmd *c, struct stoa_prng *prng, int64_t now, uint64_t pick) {
    static const uint8_t set_flags[] = {0,
                                        STOA_OP_SET_NX,
                                        STOA_OP_SET_XX,
                                        STOA_OP_SET_KEEPTTL,
                                        STOA_OP_SET_GET,
                                        STOA_OP_SET_NX | STOA_OP_SET_GET,
                                        STOA_OP_SET_XX | STOA_OP_SET_KEEPTTL,
                                        STOA_OP_SET_NX | STOA_OP_SET_INTEGER};
    static const int64_t deltas[] = {1, -1, 5, INT64_MAX};
    arg_name(c, prng);
    switch (pick) {
    case 0:
        c->opcode = STOA_OP_SET;
        arg_data(c, prng);
        arg_u8(c, set_flags[below(prng, sizeof(set_flags))]);
        arg_i64(c, near_time(prng, now));
        return;
    case 1:
        c->opcode = STOA_OP_GETDEL;
        return;
    case 2:
        c->opcode = STOA_OP_GETEX;
        arg_u8(c, (uint8_t)below(prng, 3));
        arg_i64(c, near_time(prng, now));
        return;
    case 3:
        c->opcode = below(prng, 2) == 0 ? STOA_OP_MSET : STOA_OP_MSETNX;
        arg_data(c, prng);
        arg_name(c, prng);
        arg_data(c, prng);
        return;
    case 4:
        c->opcode = STOA_OP_APPEND;
        arg_data(c, prng);
        return;
    case 5:
        c->opcode = STOA_OP_SETRANGE;
        arg_i64(c, (int64_t)below(prng, 6));
        arg_data(c, prng);
        return;
    case 6:
        c->opcode = STOA_OP_INCRBY;
        arg_i64(c, deltas[below(prng, 4)]);
        return;
    default:
        c->opcode = STOA_OP_INCRBYFLOAT;
        arg_f64(c, below(prng, 2) == 0 ? 0.5 : -1.25);
        return;
    }
}

static void key_command(struct cmd *c, struct stoa_prng *prng, int64_t now, uint64_t pick) {
    static const uint8_t expire_flags[] = {0, STOA_OP_EXPIRE_NX, STOA_OP_EXPIRE_XX,
                                           STOA_OP_EXPIRE_GT, STOA_OP_EXPIRE_LT};
    arg_name(c, prng);
    switch (pick) {
    case 0:
        c->opcode = STOA_OP_DEL;
        arg_name(c, prng);
        return;
    case 1:
        c->opcode = below(prng, 2) == 0 ? STOA_OP_RENAME : STOA_OP_RENAMENX;
        arg_name(c, prng);
        return;
    case 2:
        c->opcode = STOA_OP_PEXPIREAT;
        arg_i64(c, now + (int64_t)below(prng, 80) - 10);
        arg_u8(c, expire_flags[below(prng, 5)]);
        return;
    case 3:
        c->opcode = STOA_OP_PERSIST;
        return;
    case 4:
        c->opcode = STOA_OP_OBJECT_PUT;
        arg_data(c, prng);
        arg_i64(c, now);
        arg_i64(c, below(prng, 2) == 0 ? 0 : now / 1000 + (int64_t)below(prng, 3));
        return;
    case 5:
        c->opcode = STOA_OP_OBJECT_UPDATE;
        arg_data(c, prng);
        arg_i64(c, below(prng, 2) == 0 ? 0 : now / 1000 + (int64_t)below(prng, 3));
        return;
    default:
        c->opcode = STOA_OP_OBJECT_DELETE;
        return;
    }
}

static void deque_command(struct cmd *c, struct stoa_prng *prng, uint64_t pick) {
    arg_name(c, prng);
    switch (pick) {
    case 0:
        c->opcode = STOA_OP_PUSH;
        arg_u8(c, (uint8_t)below(prng, 4));
        for (uint64_t i = 0, n = 1 + below(prng, 3); i < n; i++) {
            arg_data(c, prng);
        }
        return;
    case 1:
        c->opcode = STOA_OP_POP;
        arg_u8(c, (uint8_t)below(prng, 4));
        arg_i64(c, (int64_t)below(prng, 4));
        return;
    case 2:
        c->opcode = STOA_OP_LSET;
        arg_i64(c, (int64_t)below(prng, 5) - 2);
        arg_data(c, prng);
        return;
    case 3:
        c->opcode = STOA_OP_LINSERT;
        arg_u8(c, (uint8_t)below(prng, 2));
        arg_data(c, prng);
        arg_data(c, prng);
        return;
    case 4:
        c->opcode = STOA_OP_LREM;
        arg_i64(c, (int64_t)below(prng, 5) - 2);
        arg_data(c, prng);
        return;
    case 5:
        c->opcode = STOA_OP_LTRIM;
        arg_i64(c, (int64_t)below(prng, 5) - 2);
        arg_i64(c, (int64_t)below(prng, 5) - 2);
        return;
    default:
        c->opcode = STOA_OP_LMOVE;
        arg_name(c, prng);
        arg_u8(c, (uint8_t)below(prng, 4));
        return;
    }
}

static void read_command(struct cmd *c, struct stoa_prng *prng) {
    static const uint32_t reads[] = {STOA_OP_GET,  STOA_OP_PTTL,      STOA_OP_TYPE,
                                     STOA_OP_LLEN, STOA_OP_EXISTS,    STOA_OP_LRANGE,
                                     STOA_OP_MGET, STOA_OP_OBJECT_GET};
    c->read = true;
    c->opcode = reads[below(prng, sizeof(reads) / sizeof(reads[0]))];
    arg_name(c, prng);
    if (c->opcode == STOA_OP_EXISTS || c->opcode == STOA_OP_MGET) {
        arg_name(c, prng);
    } else if (c->opcode == STOA_OP_LRANGE) {
        arg_i64(c, 0);
        arg_i64(c, -1);
    }
}

/* One random command at now: FLUSHALL once in flush_odds, a read once in four otherwise. */
static void random_command(struct cmd *c, struct stoa_prng *prng, int64_t now,
                           uint64_t flush_odds) {
    *c = (struct cmd){.stamp_ms = now};
    if (below(prng, flush_odds) == 0) {
        c->opcode = STOA_OP_FLUSHALL;
        return;
    }
    if (below(prng, 4) == 0) {
        read_command(c, prng);
        return;
    }
    uint64_t pick = below(prng, 22);
    if (pick < 8) {
        string_command(c, prng, now, pick);
    } else if (pick < 15) {
        key_command(c, prng, now, pick - 8);
    } else {
        deque_command(c, prng, pick - 15);
    }
}

/* An apply state over a backend, with its own session table and reply recorder. */
struct side {
    struct stoa_session_table sessions;
    struct stoa_apply_state state;
    struct stoa_buf replies;
    uint64_t index;
};

static void side_init(struct side *side, struct stoa_backend *backend) {
    stoa_session_table_init(&side->sessions, 4, 1);
    stoa_apply_state_init(&side->state, backend, &side->sessions);
    stoa_buf_init(&side->replies, 1 << 20);
    side->index = 0;
}

static void side_free(struct side *side) {
    stoa_buf_free(&side->replies);
    stoa_apply_state_free(&side->state);
    stoa_session_table_free(&side->sessions);
}

/* Runs c on side, recording its reply into side->replies (reset first). */
static void side_run(struct side *side, const struct cmd *c) {
    stoa_buf_reset(&side->replies);
    struct stoa_reply_recorder recorder;
    stoa_reply_recorder_init(&recorder, &side->replies);
    if (c->read) {
        (void)stoa_query(&side->state, c->stamp_ms, c->opcode, c->list, c->count, &recorder.reply);
    } else {
        struct stoa_command command = {
            .opcode = c->opcode,
            .stamp_ms = c->stamp_ms,
            .argument_count = c->count,
            .arguments = c->list,
        };
        int result = stoa_apply(&side->state, ++side->index, &command, &recorder.reply);
        assert_int_not_equal(result, STOA_ERR_NOMEM);
    }
    assert_int_equal(recorder.error, STOA_OK);
}

/* A random base: each name, with chance 4 in 5, a string, a counter, a deque or an object,
 * some with an expiry between 1000 and 4000 (inside the run that follows). Applied the same
 * way to base and copy. */
static void build_base(struct side *base, struct side *copy, uint64_t seed) {
    struct stoa_prng prng;
    stoa_prng_init(&prng, seed);
    static struct cmd c;
    for (size_t i = 0; i < NAMES; i++) {
        if (below(&prng, 5) == 0) {
            continue;
        }
        int64_t expire_at = below(&prng, 5) < 2 ? 1000 + (int64_t)below(&prng, 3000) : 0;
        c = (struct cmd){.stamp_ms = 500};
        arg_text(&c, names[i]);
        switch (below(&prng, 4)) {
        case 0:
        case 1:
            c.opcode = STOA_OP_SET;
            arg_text(&c, datas[below(&prng, DATAS)]);
            arg_u8(&c, 0);
            arg_i64(&c, expire_at);
            break;
        case 2:
            c.opcode = STOA_OP_PUSH;
            arg_u8(&c, STOA_OP_PUSH_BACK);
            arg_text(&c, "x");
            arg_text(&c, datas[below(&prng, DATAS)]);
            arg_text(&c, "y");
            break;
        default:
            c.opcode = STOA_OP_OBJECT_PUT;
            arg_text(&c, datas[below(&prng, DATAS)]);
            arg_i64(&c, 500);
            arg_i64(&c, expire_at / 1000);
            break;
        }
        side_run(base, &c);
        side_run(copy, &c);
        if (c.opcode == STOA_OP_PUSH && expire_at != 0) {
            c = (struct cmd){.opcode = STOA_OP_PEXPIREAT, .stamp_ms = 500};
            arg_text(&c, names[i]);
            arg_i64(&c, expire_at);
            arg_u8(&c, 0);
            side_run(base, &c);
            side_run(copy, &c);
        }
    }
}

static uint64_t current_seed;
static size_t current_step;

/* Every name looks the same through view and copy at now, and so do the digests. */
static void compare_views(struct stoa_backend *view, struct stoa_keyspace *copy, int64_t now) {
    for (size_t i = 0; i < NAMES; i++) {
        const struct stoa_value *copy_value = NULL;
        int64_t copy_expiry = 0;
        int copy_result =
            stoa_keyspace_lookup(copy, now, names[i], strlen(names[i]), &copy_value, &copy_expiry);
        struct stoa_value held;
        stoa_value_init(&held);
        if (copy_result == STOA_OK) {
            assert_int_equal(stoa_value_copy(&held, copy_value), STOA_OK);
        }
        const struct stoa_value *view_value = NULL;
        int64_t view_expiry = 0;
        int view_result =
            stoa_backend_lookup(view, now, names[i], strlen(names[i]), &view_value, &view_expiry);
        bool same = view_result == copy_result &&
                    (view_result != STOA_OK ||
                     (view_expiry == copy_expiry && stoa_value_equal(view_value, &held)));
        stoa_value_free(&held);
        if (!same) {
            fail_msg("seed %" PRIu64 ", step %zu, now %" PRId64
                     ": key %s differs (view %d, copy %d)",
                     current_seed, current_step, now, names[i], view_result, copy_result);
        }
    }
    uint64_t digest = 0;
    assert_int_equal(stoa_backend_digest(view, now, &digest), STOA_OK);
    if (digest != stoa_keyspace_digest(copy, now)) {
        fail_msg("seed %" PRIu64 ", step %zu: digests differ", current_seed, current_step);
    }
}

/* Long runs let the base catch up for many steps; short runs on many fresh bases keep most
 * commands meeting base keys not yet taken over (10 names are all owned soon). */
#define MODEL_STEPS 4000
#define SHORT_RUN_STEPS 500
#define SHORT_RUNS 64
#define LONG_RUNS 8

/* What the differential run needs: the base (real keyspace), its copy, the overlay over the
 * base, an apply state on each, and the commands run so far (for the base to catch up). */
struct differential {
    struct stoa_keyspace base;
    struct stoa_keyspace copy;
    struct stoa_overlay overlay;
    struct side on_base;
    struct side on_copy;
    struct side on_view;
    struct cmd log[MODEL_STEPS];
    size_t applied_to_base; /* commands of log the base has caught up with */
};

static void differential_init(struct differential *d, uint64_t seed) {
    keyspace_make(&d->base, seed);
    keyspace_make(&d->copy, seed + 1);
    side_init(&d->on_base, stoa_keyspace_backend(&d->base));
    side_init(&d->on_copy, stoa_keyspace_backend(&d->copy));
    build_base(&d->on_base, &d->on_copy, seed);
    assert_int_equal(stoa_keyspace_digest(&d->base, 0), stoa_keyspace_digest(&d->copy, 0));
    stoa_overlay_init(&d->overlay, stoa_keyspace_backend(&d->base), seed + 2);
    side_init(&d->on_view, stoa_overlay_backend(&d->overlay));
    d->applied_to_base = 0;
}

static void differential_free(struct differential *d) {
    side_free(&d->on_view);
    side_free(&d->on_copy);
    side_free(&d->on_base);
    stoa_overlay_free(&d->overlay);
    stoa_keyspace_free(&d->copy);
    stoa_keyspace_free(&d->base);
}

/* Lets the base apply the next count write commands the view has applied. */
static void catch_up(struct differential *d, size_t count, size_t logged) {
    for (; count > 0 && d->applied_to_base < logged; d->applied_to_base++) {
        const struct cmd *c = &d->log[d->applied_to_base];
        if (!c->read) {
            side_run(&d->on_base, c);
            count--;
        }
    }
}

/* steps (<= MODEL_STEPS) random commands on the view and on the copy: the same reply bytes each
 * time, the same state every 64 steps and at the end; the base never changes unless lagging, where
 * it catches up with the view's commands now and then and must end equal to the copy. */
static void run_differential(uint64_t seed, bool lagging, size_t steps) {
    STOA_ASSERT(steps <= MODEL_STEPS);
    static struct differential d;
    current_seed = seed;
    differential_init(&d, seed);
    struct fingerprint before = fingerprint_of(&d.base);
    struct stoa_prng prng;
    stoa_prng_init(&prng, seed ^ 0x5eedULL);
    int64_t now = 1000;
    for (size_t step = 0; step < steps; step++) {
        current_step = step;
        now += (int64_t)below(&prng, 3) + (below(&prng, 100) == 0 ? 150 : 0);
        struct cmd *c = &d.log[step];
        random_command(c, &prng, now, 500);
        side_run(&d.on_view, c);
        side_run(&d.on_copy, c);
        if (d.on_view.replies.length != d.on_copy.replies.length ||
            memcmp(d.on_view.replies.data, d.on_copy.replies.data, d.on_view.replies.length) != 0) {
            fail_msg("seed %" PRIu64 ", step %zu, now %" PRId64 ": opcode %" PRIu32
                     " replied differently through the overlay",
                     seed, step, now, c->opcode);
        }
        if (lagging && below(&prng, 8) == 0) {
            catch_up(&d, below(&prng, 8), step + 1);
        }
        if (step % 64 == 63) {
            compare_views(stoa_overlay_backend(&d.overlay), &d.copy, now);
            stoa_overlay_check(&d.overlay);
            stoa_keyspace_check(&d.base);
        }
    }
    compare_views(stoa_overlay_backend(&d.overlay), &d.copy, now);
    if (!lagging) {
        struct fingerprint after = fingerprint_of(&d.base);
        if (after.digest_all != before.digest_all || after.count != before.count ||
            after.expired_count != before.expired_count) {
            fail_msg("seed %" PRIu64 ": the base changed under speculation", seed);
        }
    } else {
        catch_up(&d, steps, steps);
        assert_int_equal(stoa_keyspace_digest(&d.base, now), stoa_keyspace_digest(&d.copy, now));
        compare_views(stoa_overlay_backend(&d.overlay), &d.copy, now);
    }
    differential_free(&d);
}

/* Random writes (and reads) through the overlay and on a copy of the base agree, reply for
 * reply and key for key, and the base never changes: 64 runs of 500 commands and 8 of 4000,
 * each from its own seed (printed on failure). */
static void test_differential(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= SHORT_RUNS; seed++) {
        run_differential(seed, false, SHORT_RUN_STEPS);
    }
    for (uint64_t seed = 1001; seed <= 1000 + LONG_RUNS; seed++) {
        run_differential(seed, false, MODEL_STEPS);
    }
}

/* The same while the base lags behind and catches up with the commands the view applied (as
 * the real keyspace does when speculated commands are chosen): the view stays right. */
static void test_differential_catching_up(void **state) {
    (void)state;
    for (uint64_t seed = 2001; seed <= 2000 + LONG_RUNS; seed++) {
        run_differential(seed, true, MODEL_STEPS);
    }
}

/* After many random writes (FLUSHALL among them), stoa_overlay_clear gives back exactly the
 * base: same digest at several times, same count, nothing owned, no bytes held. */
static void test_clear_restores_base(void **state) {
    (void)state;
    static struct differential d;
    differential_init(&d, 4242);
    struct stoa_backend *view = stoa_overlay_backend(&d.overlay);
    struct stoa_prng prng;
    stoa_prng_init(&prng, 99);
    int64_t now = 1000;
    for (int round = 0; round < 4; round++) {
        for (size_t step = 0; step < 500; step++) {
            now += (int64_t)below(&prng, 3);
            struct cmd *c = &d.log[step];
            random_command(c, &prng, now, 100);
            side_run(&d.on_view, c);
        }
        assert_true(stoa_overlay_key_count(&d.overlay) > 0 || stoa_overlay_flushed(&d.overlay));
        stoa_overlay_clear(&d.overlay);
        assert_false(stoa_overlay_flushed(&d.overlay));
        assert_int_equal(stoa_overlay_key_count(&d.overlay), 0);
        assert_int_equal(stoa_overlay_used_bytes(&d.overlay), 0);
        stoa_overlay_check(&d.overlay);
        const int64_t times[] = {0, 1000, now, now + 5000};
        for (size_t t = 0; t < 4; t++) {
            uint64_t digest = 0;
            assert_int_equal(stoa_backend_digest(view, times[t], &digest), STOA_OK);
            assert_int_equal(digest, stoa_keyspace_digest(&d.base, times[t]));
        }
        size_t count = 0;
        assert_int_equal(stoa_backend_count(view, &count), STOA_OK);
        assert_int_equal(count, stoa_keyspace_count(&d.base));
        compare_views(view, &d.copy, 0);
    }
    differential_free(&d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_shadows_base),
        cmocka_unit_test(test_remove_does_not_fall_through),
        cmocka_unit_test(test_lookup_for_write_copies),
        cmocka_unit_test(test_emptied_deque_stays_gone),
        cmocka_unit_test(test_copy_limit),
        cmocka_unit_test(test_expiry),
        cmocka_unit_test(test_flush_hides_base),
        cmocka_unit_test(test_rename),
        cmocka_unit_test(test_unsupported),
        cmocka_unit_test(test_failing_allocations),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_differential_catching_up),
        cmocka_unit_test(test_clear_restores_base),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
