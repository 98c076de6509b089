/* Shows that apply gives every write its Redis 7 effect and reply, refuses wrong types,
 * overflows and oversize data with Redis's texts, keeps multi-key writes all-or-nothing under
 * the memory limit and failing allocations, deduplicates session retries, and that the reads
 * see the state as of their time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "apply_harness.h"
#include "util/alloc.h"
#include "util/limits.h"

#define WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value"

static struct harness h;

static int setup(void **state) {
    (void)state;
    harness_init(&h, 0, 4);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    harness_free(&h);
    return 0;
}

static const char *set(int64_t now, const char *key, const char *value, uint8_t flags,
                       int64_t expire_at) {
    struct args a = {0};
    args_i64(args_u8(args_text(args_text(&a, key), value), flags), expire_at);
    return harness_write(&h, now, STOA_OP_SET, &a);
}

static const char *get(int64_t now, const char *key) {
    struct args a = {0};
    return harness_read(&h, now, STOA_OP_GET, args_text(&a, key));
}

static const char *one(int64_t now, uint32_t op, const char *key) {
    struct args a = {0};
    if (op >= STOA_OP_GET) {
        return harness_read(&h, now, op, args_text(&a, key));
    }
    return harness_write(&h, now, op, args_text(&a, key));
}

static const char *push(int64_t now, const char *key, uint8_t flags, const char *v1,
                        const char *v2) {
    struct args a = {0};
    args_u8(args_text(&a, key), flags);
    args_text(&a, v1);
    if (v2 != NULL) {
        args_text(&a, v2);
    }
    return harness_write(&h, now, STOA_OP_PUSH, &a);
}

static const char *lrange(int64_t now, const char *key) {
    struct args a = {0};
    args_i64(args_i64(args_text(&a, key), 0), -1);
    return harness_read(&h, now, STOA_OP_LRANGE, &a);
}

/* SET with NX, XX, GET, KEEPTTL and an integer reply behaves as SET, SETNX and GETSET. */
static void test_set_flags(void **state) {
    (void)state;
    assert_string_equal(set(1, "k", "v1", 0, 0), "+OK");
    assert_string_equal(set(1, "k", "v2", STOA_OP_SET_NX, 0), "$-");
    assert_string_equal(set(1, "k", "v2", STOA_OP_SET_NX | STOA_OP_SET_INTEGER, 0), ":0");
    assert_string_equal(set(1, "n", "v", STOA_OP_SET_NX | STOA_OP_SET_INTEGER, 0), ":1");
    assert_string_equal(set(1, "m", "v", STOA_OP_SET_XX, 0), "$-");
    assert_string_equal(set(1, "k", "v3", STOA_OP_SET_GET, 100), "$v1");
    assert_string_equal(set(1, "k", "v4", STOA_OP_SET_KEEPTTL, 0), "+OK");
    assert_string_equal(one(1, STOA_OP_PTTL, "k"), ":99");
    assert_string_equal(set(1, "k", "v5", 0, 0), "+OK");
    assert_string_equal(one(1, STOA_OP_TTL, "k"), ":-1");
    assert_string_equal(set(1, "nokey", "x", STOA_OP_SET_GET, 0), "$-");
    assert_string_equal(set(1, "k", "x", STOA_OP_SET_NX | STOA_OP_SET_XX, 0),
                        "-ERR malformed command");
    push(1, "list", 0, "a", NULL);
    assert_string_equal(set(1, "list", "x", STOA_OP_SET_GET, 0), WRONGTYPE);
    assert_string_equal(set(1, "list", "x", 0, 0), "+OK");
    assert_string_equal(get(1, "list"), "$x");
}

/* An expiry exactly at the stamp deletes; one ms later the key lives until exactly then. */
static void test_expiry_boundary(void **state) {
    (void)state;
    assert_string_equal(set(10, "k", "v", 0, 10), "+OK");
    assert_string_equal(get(10, "k"), "$-");
    assert_string_equal(set(10, "k", "v", 0, 11), "+OK");
    assert_string_equal(get(10, "k"), "$v");
    assert_string_equal(get(11, "k"), "$-");
    set(20, "e", "v", 0, 0);
    struct args a = {0};
    args_u8(args_i64(args_text(&a, "e"), 20), 0);
    assert_string_equal(harness_write(&h, 20, STOA_OP_PEXPIREAT, &a), ":1");
    assert_string_equal(one(20, STOA_OP_EXISTS, "e"), ":0");
    assert_string_equal(one(20, STOA_OP_TTL, "e"), ":-2");
}

/* PEXPIREAT honours Redis 7's NX, XX, GT and LT, treating no expiry as infinite. */
static void test_expire_flags(void **state) {
    (void)state;
    set(1, "k", "v", 0, 0);
    struct args a = {0};
    args_u8(args_i64(args_text(&a, "k"), 1000), STOA_OP_EXPIRE_XX);
    assert_string_equal(harness_write(&h, 1, STOA_OP_PEXPIREAT, &a), ":0");
    a = (struct args){0};
    args_u8(args_i64(args_text(&a, "k"), 1000), STOA_OP_EXPIRE_GT);
    assert_string_equal(harness_write(&h, 1, STOA_OP_PEXPIREAT, &a), ":0");
    a = (struct args){0};
    args_u8(args_i64(args_text(&a, "k"), 1000), STOA_OP_EXPIRE_LT);
    assert_string_equal(harness_write(&h, 1, STOA_OP_PEXPIREAT, &a), ":1");
    a = (struct args){0};
    args_u8(args_i64(args_text(&a, "k"), 2000), STOA_OP_EXPIRE_NX);
    assert_string_equal(harness_write(&h, 1, STOA_OP_PEXPIREAT, &a), ":0");
    a = (struct args){0};
    args_u8(args_i64(args_text(&a, "k"), 2000), STOA_OP_EXPIRE_GT);
    assert_string_equal(harness_write(&h, 1, STOA_OP_PEXPIREAT, &a), ":1");
    assert_string_equal(one(1, STOA_OP_PEXPIRETIME, "k"), ":2000");
    assert_string_equal(one(1, STOA_OP_EXPIRETIME, "k"), ":2");
    a = (struct args){0};
    args_u8(args_i64(args_text(&a, "k"), 2000), STOA_OP_EXPIRE_GT | STOA_OP_EXPIRE_LT);
    assert_string_equal(harness_write(&h, 1, STOA_OP_PEXPIREAT, &a),
                        "-ERR GT and LT options at the same time are not compatible");
    assert_string_equal(one(1, STOA_OP_PERSIST, "k"), ":1");
    assert_string_equal(one(1, STOA_OP_PERSIST, "k"), ":0");
    assert_string_equal(one(1, STOA_OP_PEXPIRETIME, "k"), ":-1");
}

static const char *incrby(const char *key, int64_t delta) {
    struct args a = {0};
    return harness_write(&h, 1, STOA_OP_INCRBY, args_i64(args_text(&a, key), delta));
}

/* Counters overflow in both directions with Redis's text and stay unchanged. */
static void test_counter_overflow(void **state) {
    (void)state;
    assert_string_equal(incrby("c", 5), ":5");
    assert_string_equal(incrby("c", INT64_MAX - 5), ":9223372036854775807");
    assert_string_equal(incrby("c", 1), "-ERR increment or decrement would overflow");
    assert_string_equal(get(1, "c"), "$9223372036854775807");
    set(1, "d", "-9223372036854775808", 0, 0);
    assert_string_equal(incrby("d", -1), "-ERR increment or decrement would overflow");
    assert_string_equal(incrby("d", INT64_MAX), ":-1");
    set(1, "s", "12a", 0, 0);
    assert_string_equal(incrby("s", 1), "-ERR value is not an integer or out of range");
    set(1, "z", "007", 0, 0);
    assert_string_equal(incrby("z", 1), "-ERR value is not an integer or out of range");
    push(1, "l", 0, "a", NULL);
    assert_string_equal(incrby("l", 1), WRONGTYPE);
}

static const char *incrbyfloat(const char *key, double delta) {
    struct args a = {0};
    return harness_write(&h, 1, STOA_OP_INCRBYFLOAT, args_f64(args_text(&a, key), delta));
}

/* INCRBYFLOAT formats without exponent or trailing zeros and refuses infinite results. */
static void test_incrbyfloat(void **state) {
    (void)state;
    set(1, "f", "10.50", 0, 0);
    assert_string_equal(incrbyfloat("f", 0.1), "$10.6");
    assert_string_equal(incrbyfloat("f", -5.6), "$5");
    assert_string_equal(incrbyfloat("g", 5.0e3), "$5000");
    assert_string_equal(incrbyfloat("h", 1e20), "$100000000000000000000");
    assert_string_equal(incrbyfloat("i", 1.5e-7), "$0.00000015");
    assert_string_equal(incrbyfloat("j", -2.5), "$-2.5");
    set(1, "big", "1.7e308", 0, 0);
    assert_string_equal(incrbyfloat("big", 1.7e308),
                        "-ERR increment would produce NaN or Infinity");
    assert_string_equal(get(1, "big"), "$1.7e308");
    set(1, "bad", " 1", 0, 0);
    assert_string_equal(incrbyfloat("bad", 1), "-ERR value is not a valid float");
    set(1, "nan", "nan", 0, 0);
    assert_string_equal(incrbyfloat("nan", 1), "-ERR value is not a valid float");
}

/* Keys and values with NUL bytes are stored and returned exactly. */
static void test_binary(void **state) {
    (void)state;
    static const uint8_t key[3] = {'a', 0, 'b'};
    static const uint8_t value[4] = {0, 1, 0, 2};
    struct args a = {0};
    args_i64(args_u8(args_bytes(args_bytes(&a, key, 3), value, 4), 0), 0);
    assert_string_equal(harness_write(&h, 1, STOA_OP_SET, &a), "+OK");
    a = (struct args){0};
    harness_read(&h, 1, STOA_OP_GET, args_bytes(&a, key, 3));
    assert_int_equal(h.out.length, 5);
    assert_memory_equal(h.out.text + 1, value, 4);
    assert_string_equal(get(1, "a"), "$-");
}

/* The largest key and value are accepted through SET, APPEND and SETRANGE; one byte more
 * is refused with the state unchanged. */
static void test_largest(void **state) {
    (void)state;
    uint8_t *big = stoa_calloc(1, (size_t)STOA_VALUE_BYTES_MAX + 1);
    assert_non_null(big);
    struct args a = {0};
    args_i64(args_u8(args_bytes(args_bytes(&a, big, STOA_KEY_BYTES_MAX), "v", 1), 0), 0);
    assert_string_equal(harness_write(&h, 1, STOA_OP_SET, &a), "+OK");
    a.list[0].length = STOA_KEY_BYTES_MAX + 1;
    assert_string_equal(harness_write(&h, 1, STOA_OP_SET, &a),
                        "-ERR key exceeds maximum allowed size");
    a = (struct args){0};
    args_i64(args_u8(args_bytes(args_text(&a, "v"), big, STOA_VALUE_BYTES_MAX + 1), 0), 0);
    assert_string_equal(harness_write(&h, 1, STOA_OP_SET, &a),
                        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    a.list[1].length = STOA_VALUE_BYTES_MAX - 1;
    assert_string_equal(harness_write(&h, 1, STOA_OP_SET, &a), "+OK");
    a = (struct args){0};
    args_bytes(args_text(&a, "v"), "xy", 2);
    assert_string_equal(harness_write(&h, 1, STOA_OP_APPEND, &a),
                        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    a.list[1].length = 1;
    assert_string_equal(harness_write(&h, 1, STOA_OP_APPEND, &a), ":536870912");
    a = (struct args){0};
    args_bytes(args_i64(args_text(&a, "w"), STOA_VALUE_BYTES_MAX - 1), "xy", 2);
    assert_string_equal(harness_write(&h, 1, STOA_OP_SETRANGE, &a),
                        "-ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assert_string_equal(one(1, STOA_OP_EXISTS, "w"), ":0");
    a.list[2].length = 1;
    assert_string_equal(harness_write(&h, 1, STOA_OP_SETRANGE, &a), ":536870912");
    stoa_free(big);
    assert_string_equal(one(1, STOA_OP_DEL, "v"), ":1");
    assert_string_equal(one(1, STOA_OP_DEL, "w"), ":1");
}

/* APPEND, SETRANGE (with zero padding), GETRANGE and STRLEN follow Redis. */
static void test_append_setrange(void **state) {
    (void)state;
    struct args a = {0};
    args_text(args_text(&a, "s"), "Hello");
    assert_string_equal(harness_write(&h, 1, STOA_OP_APPEND, &a), ":5");
    a = (struct args){0};
    args_text(args_i64(args_text(&a, "s"), 7), "World");
    assert_string_equal(harness_write(&h, 1, STOA_OP_SETRANGE, &a), ":12");
    assert_string_equal(one(1, STOA_OP_STRLEN, "s"), ":12");
    a = (struct args){0};
    args_i64(args_i64(args_text(&a, "s"), -5), -1);
    assert_string_equal(harness_read(&h, 1, STOA_OP_GETRANGE, &a), "$World");
    a = (struct args){0};
    args_i64(args_i64(args_text(&a, "s"), -1), -5);
    assert_string_equal(harness_read(&h, 1, STOA_OP_GETRANGE, &a), "$");
    a = (struct args){0};
    args_text(args_i64(args_text(&a, "missing"), 3), "");
    assert_string_equal(harness_write(&h, 1, STOA_OP_SETRANGE, &a), ":0");
    assert_string_equal(one(1, STOA_OP_EXISTS, "missing"), ":0");
    a = (struct args){0};
    args_text(args_i64(args_text(&a, "s"), -1), "x");
    assert_string_equal(harness_write(&h, 1, STOA_OP_SETRANGE, &a), "-ERR offset is out of range");
}

/* GETDEL and GETEX return the value and delete it or change its expiry. */
static void test_getdel_getex(void **state) {
    (void)state;
    set(1, "k", "v", 0, 0);
    struct args a = {0};
    args_i64(args_u8(args_text(&a, "k"), STOA_OP_GETEX_EXPIRE), 50);
    assert_string_equal(harness_write(&h, 1, STOA_OP_GETEX, &a), "$v");
    assert_string_equal(one(1, STOA_OP_PTTL, "k"), ":49");
    a = (struct args){0};
    args_i64(args_u8(args_text(&a, "k"), STOA_OP_GETEX_PERSIST), 0);
    assert_string_equal(harness_write(&h, 1, STOA_OP_GETEX, &a), "$v");
    assert_string_equal(one(1, STOA_OP_PTTL, "k"), ":-1");
    assert_string_equal(one(1, STOA_OP_GETDEL, "k"), "$v");
    assert_string_equal(one(1, STOA_OP_GETDEL, "k"), "$-");
}

/* MSET, MSETNX, DEL with duplicates, RENAME and RENAMENX. */
static void test_multi_key(void **state) {
    (void)state;
    struct args a = {0};
    args_text(args_text(args_text(args_text(&a, "a"), "1"), "b"), "2");
    args_text(args_text(&a, "a"), "3");
    assert_string_equal(harness_write(&h, 1, STOA_OP_MSET, &a), "+OK");
    assert_string_equal(get(1, "a"), "$3");
    a = (struct args){0};
    args_text(args_text(args_text(args_text(&a, "c"), "1"), "b"), "2");
    assert_string_equal(harness_write(&h, 1, STOA_OP_MSETNX, &a), ":0");
    assert_string_equal(one(1, STOA_OP_EXISTS, "c"), ":0");
    a = (struct args){0};
    args_text(args_text(args_text(&a, "a"), "a"), "zz");
    assert_string_equal(harness_read(&h, 1, STOA_OP_EXISTS, &a), ":2");
    assert_string_equal(harness_write(&h, 1, STOA_OP_DEL, &a), ":1");
    a = (struct args){0};
    args_text(args_text(&a, "b"), "c");
    assert_string_equal(harness_write(&h, 1, STOA_OP_RENAME, &a), "+OK");
    assert_string_equal(harness_write(&h, 1, STOA_OP_RENAME, &a), "-ERR no such key");
    set(1, "d", "x", 0, 0);
    a = (struct args){0};
    args_text(args_text(&a, "c"), "d");
    assert_string_equal(harness_write(&h, 1, STOA_OP_RENAMENX, &a), ":0");
    a.list[1] = (struct stoa_command_argument){(const uint8_t *)"e", 1};
    assert_string_equal(harness_write(&h, 1, STOA_OP_RENAMENX, &a), ":1");
    assert_string_equal(get(1, "e"), "$2");
}

static const char *pop(const char *key, uint8_t flags, int64_t count) {
    struct args a = {0};
    args_i64(args_u8(args_text(&a, key), flags), count);
    return harness_write(&h, 1, STOA_OP_POP, &a);
}

/* POP's replies: null bulk without count, null array with count on a missing key, an empty
 * array for count 0; a deque emptied by a pop is deleted. */
static void test_pop_shapes(void **state) {
    (void)state;
    assert_string_equal(pop("q", 0, 0), "$-");
    assert_string_equal(pop("q", STOA_OP_POP_COUNT, 2), "*-");
    assert_string_equal(push(1, "q", STOA_OP_PUSH_BACK, "a", "b"), ":2");
    assert_string_equal(push(1, "q", 0, "c", "d"), ":4");
    assert_string_equal(lrange(1, "q"), "*4|$d|$c|$a|$b");
    assert_string_equal(pop("q", STOA_OP_POP_COUNT, 0), "*0");
    assert_string_equal(pop("q", STOA_OP_POP_COUNT | STOA_OP_POP_BACK, 3), "*3|$b|$a|$c");
    assert_string_equal(pop("q", 0, 0), "$d");
    assert_string_equal(one(1, STOA_OP_TYPE, "q"), "+none");
    assert_string_equal(pop("q", STOA_OP_POP_COUNT, -1),
                        "-ERR value is out of range, must be positive");
    assert_string_equal(push(1, "x", STOA_OP_PUSH_EXISTING, "a", NULL), ":0");
    assert_string_equal(one(1, STOA_OP_EXISTS, "x"), ":0");
    set(1, "s", "v", 0, 0);
    assert_string_equal(push(1, "s", 0, "a", NULL), WRONGTYPE);
    assert_string_equal(pop("s", 0, 0), WRONGTYPE);
    assert_string_equal(one(1, STOA_OP_LLEN, "s"), WRONGTYPE);
    assert_string_equal(one(1, STOA_OP_TYPE, "s"), "+string");
}

/* LSET, LINSERT, LREM (count sign), LTRIM, LINDEX and LMOVE (also as a rotation). */
static void test_deque_edit(void **state) {
    (void)state;
    push(1, "l", STOA_OP_PUSH_BACK, "a", "b");
    push(1, "l", STOA_OP_PUSH_BACK, "a", "c");
    push(1, "l", STOA_OP_PUSH_BACK, "a", NULL);
    struct args a = {0};
    args_text(args_i64(args_text(&a, "l"), -1), "z");
    assert_string_equal(harness_write(&h, 1, STOA_OP_LSET, &a), "+OK");
    a.list[1].data = (const uint8_t *)"\x09\0\0\0\0\0\0\0";
    assert_string_equal(harness_write(&h, 1, STOA_OP_LSET, &a), "-ERR index out of range");
    a.list[0] = (struct stoa_command_argument){(const uint8_t *)"nope", 4};
    assert_string_equal(harness_write(&h, 1, STOA_OP_LSET, &a), "-ERR no such key");
    a = (struct args){0};
    args_text(args_text(args_u8(args_text(&a, "l"), STOA_OP_LINSERT_AFTER), "b"), "B");
    assert_string_equal(harness_write(&h, 1, STOA_OP_LINSERT, &a), ":6");
    a.list[2].data = (const uint8_t *)"q";
    assert_string_equal(harness_write(&h, 1, STOA_OP_LINSERT, &a), ":-1");
    assert_string_equal(lrange(1, "l"), "*6|$a|$b|$B|$a|$c|$z");
    a = (struct args){0};
    args_text(args_i64(args_text(&a, "l"), -1), "a");
    assert_string_equal(harness_write(&h, 1, STOA_OP_LREM, &a), ":1");
    assert_string_equal(lrange(1, "l"), "*5|$a|$b|$B|$c|$z");
    a = (struct args){0};
    args_u8(args_text(args_text(&a, "l"), "l"), STOA_OP_LMOVE_FROM_BACK);
    assert_string_equal(harness_write(&h, 1, STOA_OP_LMOVE, &a), "$z");
    assert_string_equal(lrange(1, "l"), "*5|$z|$a|$b|$B|$c");
    a = (struct args){0};
    args_u8(args_text(args_text(&a, "l"), "m"), STOA_OP_LMOVE_TO_BACK);
    assert_string_equal(harness_write(&h, 1, STOA_OP_LMOVE, &a), "$z");
    assert_string_equal(lrange(1, "m"), "*1|$z");
    a = (struct args){0};
    args_i64(args_i64(args_text(&a, "l"), 1), -2);
    assert_string_equal(harness_write(&h, 1, STOA_OP_LTRIM, &a), "+OK");
    assert_string_equal(lrange(1, "l"), "*2|$b|$B");
    a = (struct args){0};
    args_i64(args_text(&a, "l"), -1);
    assert_string_equal(harness_read(&h, 1, STOA_OP_LINDEX, &a), "$B");
    a = (struct args){0};
    args_i64(args_i64(args_text(&a, "l"), 5), 9);
    assert_string_equal(harness_write(&h, 1, STOA_OP_LTRIM, &a), "+OK");
    assert_string_equal(one(1, STOA_OP_EXISTS, "l"), ":0");
    set(1, "s", "v", 0, 0);
    a = (struct args){0};
    args_u8(args_text(args_text(&a, "m"), "s"), 0);
    assert_string_equal(harness_write(&h, 1, STOA_OP_LMOVE, &a), WRONGTYPE);
    assert_string_equal(lrange(1, "m"), "*1|$z");
}

static const char *lpos(const char *key, const char *element, int64_t rank, int64_t count,
                        int64_t maxlen, uint8_t flags) {
    struct args a = {0};
    args_i64(args_i64(args_i64(args_text(args_text(&a, key), element), rank), count), maxlen);
    return harness_read(&h, 1, STOA_OP_LPOS, args_u8(&a, flags));
}

/* LPOS with RANK, COUNT and MAXLEN, and its replies on a missing key. */
static void test_lpos(void **state) {
    (void)state;
    push(1, "l", STOA_OP_PUSH_BACK, "a", "b");
    push(1, "l", STOA_OP_PUSH_BACK, "c", "a");
    push(1, "l", STOA_OP_PUSH_BACK, "b", "a");
    assert_string_equal(lpos("l", "a", 1, 0, 0, 0), ":0");
    assert_string_equal(lpos("l", "a", 2, 0, 0, 0), ":3");
    assert_string_equal(lpos("l", "a", -1, 0, 0, 0), ":5");
    assert_string_equal(lpos("l", "a", 1, 0, 0, STOA_OP_LPOS_COUNT), "*3|:0|:3|:5");
    assert_string_equal(lpos("l", "a", -2, 2, 0, STOA_OP_LPOS_COUNT), "*2|:3|:0");
    assert_string_equal(lpos("l", "a", 1, 0, 3, STOA_OP_LPOS_COUNT), "*1|:0");
    assert_string_equal(lpos("l", "x", 1, 0, 0, 0), "$-");
    assert_string_equal(lpos("none", "x", 1, 0, 0, 0), "$-");
    assert_string_equal(lpos("none", "x", 1, 0, 0, STOA_OP_LPOS_COUNT), "*0");
    assert_string_equal(lpos("l", "a", 1, -1, 0, STOA_OP_LPOS_COUNT),
                        "-ERR COUNT can't be negative");
    assert_string_equal(lpos("l", "a", 0, 0, 0, 0),
                        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from "
                        "the second ... or use negative to start from the end of the list");
}

/* Registering gives the log index as client id; a retry replays the recorded reply without
 * applying twice; older sequences are stale; unknown or dropped clients expired. */
static void test_sessions(void **state) {
    (void)state;
    harness_write(&h, 1, STOA_OP_REGISTER_CLIENT, NULL);
    uint64_t client = h.index;
    char expected[32];
    snprintf(expected, sizeof(expected), ":%" PRIu64, client);
    assert_string_equal(h.out.text, expected);
    struct args a = {0};
    args_i64(args_text(&a, "c"), 1);
    int result = 0;
    assert_string_equal(harness_write_as(&h, client, 1, 1, STOA_OP_INCRBY, &a, &result), ":1");
    assert_string_equal(harness_write_as(&h, client, 1, 1, STOA_OP_INCRBY, &a, &result), ":1");
    assert_string_equal(get(1, "c"), "$1");
    assert_string_equal(harness_write_as(&h, client, 2, 1, STOA_OP_INCRBY, &a, &result), ":2");
    assert_string_equal(harness_write_as(&h, client, 1, 1, STOA_OP_INCRBY, &a, &result),
                        "-ERR stale request sequence");
    assert_string_equal(harness_write_as(&h, 999, 1, 1, STOA_OP_INCRBY, &a, &result),
                        "-ERR session expired: register again");
    assert_int_equal(result, STOA_ERR_NOT_FOUND);
    /* An error reply is recorded too: its retry gets the same error. */
    push(1, "l", 0, "a", NULL);
    a = (struct args){0};
    args_i64(args_text(&a, "l"), 1);
    assert_string_equal(harness_write_as(&h, client, 3, 1, STOA_OP_INCRBY, &a, &result), WRONGTYPE);
    assert_string_equal(harness_write_as(&h, client, 3, 1, STOA_OP_INCRBY, &a, &result), WRONGTYPE);
    /* The table holds 4 sessions: registering 4 more drops this one. */
    for (int i = 0; i < 4; i++) {
        harness_write(&h, 1, STOA_OP_REGISTER_CLIENT, NULL);
    }
    assert_string_equal(harness_write_as(&h, client, 4, 1, STOA_OP_INCRBY, &a, &result),
                        "-ERR session expired: register again");
    assert_string_equal(harness_write(&h, 1, STOA_OP_NOOP, NULL), "+OK");
}

/* Malformed commands (bad arity, short int64, unknown flags or opcode) change nothing. */
static void test_malformed(void **state) {
    (void)state;
    uint64_t before = harness_digest(&h, 1);
    struct args a = {0};
    args_text(args_text(&a, "k"), "v");
    assert_string_equal(harness_write(&h, 1, STOA_OP_SET, &a), "-ERR wrong number of arguments");
    args_u8(&a, 0);
    args_text(&a, "1234567");
    assert_string_equal(harness_write(&h, 1, STOA_OP_SET, &a), "-ERR malformed command");
    a.list[2].data = (const uint8_t *)"\x80";
    a.list[3].length = 0;
    assert_string_equal(harness_write(&h, 1, STOA_OP_SET, &a), "-ERR malformed command");
    a.count = 3;
    assert_string_equal(harness_write(&h, 1, STOA_OP_MSET, &a), "-ERR wrong number of arguments");
    assert_string_equal(harness_write(&h, 1, 77, &a), "-ERR unknown write opcode");
    assert_string_equal(harness_read(&h, 1, 7, &a), "-ERR unknown read opcode");
    assert_int_equal(harness_digest(&h, 1), before);
}

/* Objects: insert refuses an existing id (EXISTS), update refuses a missing one (NOT_FOUND)
 * and stamps lastModified; get, TYPE and delete. */
static void test_objects(void **state) {
    (void)state;
    struct args a = {0};
    args_i64(args_i64(args_text(args_text(&a, "o1"), "data"), 500), 0);
    int result = 0;
    assert_string_equal(harness_write_as(&h, 0, 0, 7, STOA_OP_OBJECT_PUT, &a, &result), "+OK");
    harness_write_as(&h, 0, 0, 8, STOA_OP_OBJECT_PUT, &a, &result);
    assert_int_equal(result, STOA_ERR_EXISTS);
    assert_string_equal(one(9, STOA_OP_OBJECT_GET, "o1"), "*5|$o1|$data|:500|:0|:7");
    assert_string_equal(one(9, STOA_OP_TYPE, "o1"), "+object");
    a = (struct args){0};
    args_i64(args_text(args_text(&a, "o1"), "new"), 100);
    assert_string_equal(harness_write(&h, 9, STOA_OP_OBJECT_UPDATE, &a), "+OK");
    assert_string_equal(one(9, STOA_OP_OBJECT_GET, "o1"), "*5|$o1|$new|:500|:100|:9");
    assert_string_equal(one(9, STOA_OP_PTTL, "o1"), ":99991");
    a.list[0].data = (const uint8_t *)"o2";
    harness_write_as(&h, 0, 0, 9, STOA_OP_OBJECT_UPDATE, &a, &result);
    assert_int_equal(result, STOA_ERR_NOT_FOUND);
    assert_string_equal(get(9, "o1"), WRONGTYPE);
    assert_string_equal(one(9, STOA_OP_OBJECT_DELETE, "o1"), ":1");
    assert_string_equal(one(9, STOA_OP_OBJECT_GET, "o1"), "*-");
}

/* Redis's glob: * ? classes, negation, ranges, escapes, and a pathological pattern is
 * bounded. */
static void test_glob(void **state) {
    (void)state;
    struct {
        const char *pattern;
        const char *text;
        bool match;
    } cases[] = {
        {"*", "", true},
        {"h?llo", "hello", true},
        {"h*llo", "heeeello", true},
        {"h[ae]llo", "hallo", true},
        {"h[^e]llo", "hello", false},
        {"h[a-b]llo", "hbllo", true},
        {"h[b-a]llo", "hallo", true},
        {"h\\*llo", "h*llo", true},
        {"h\\*llo", "hello", false},
        {"*a*b", "xaxxb", true},
        {"*a*b", "xaxxc", false},
        {"a[", "a", false},
        {"[]a", "a", false},
        {"k*", "key", true},
        {"*z", "key", false},
        {"a\\", "a\\", true},
        {"[\\]]", "]", true},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool got =
            stoa_query_glob_match((const uint8_t *)cases[i].pattern, strlen(cases[i].pattern),
                                  (const uint8_t *)cases[i].text, strlen(cases[i].text));
        if (got != cases[i].match) {
            fail_msg("pattern %s text %s", cases[i].pattern, cases[i].text);
        }
    }
    static char pattern[4001];
    static char text[4001];
    for (size_t i = 0; i < 4000; i++) {
        pattern[i] = i % 2 == 0 ? '*' : 'a';
        text[i] = 'a';
    }
    pattern[3999] = 'b';
    assert_false(
        stoa_query_glob_match((const uint8_t *)pattern, 4000, (const uint8_t *)text, 4000));
}

/* KEYS and SCAN with MATCH and TYPE, RANDOMKEY and DBSIZE see only visible keys. */
static void test_keys_scan(void **state) {
    (void)state;
    set(1, "key1", "v", 0, 0);
    set(1, "key2", "v", 0, 5);
    push(1, "klist", 0, "a", NULL);
    set(1, "other", "v", 0, 0);
    struct args a = {0};
    const char *keys = harness_read(&h, 10, STOA_OP_KEYS, args_text(&a, "key*"));
    assert_string_equal(keys, "*1|$key1");
    a = (struct args){0};
    args_text(args_text(args_u8(args_i64(args_i64(&a, 0), 100), STOA_OP_SCAN_TYPE), ""), "list");
    assert_string_equal(harness_read(&h, 10, STOA_OP_SCAN, &a), "*2|$0|*1|$klist");
    a = (struct args){0};
    args_text(args_text(args_u8(args_i64(args_i64(&a, 0), 100), STOA_OP_SCAN_MATCH), "o*"), "");
    assert_string_equal(harness_read(&h, 10, STOA_OP_SCAN, &a), "*2|$0|*1|$other");
    assert_string_equal(get(10, "key2"), "$-");
    assert_string_equal(harness_read(&h, 10, STOA_OP_DBSIZE, NULL), ":3");
    a = (struct args){0};
    assert_int_equal(harness_read(&h, 10, STOA_OP_RANDOMKEY, args_i64(&a, 12345))[0], '$');
}

/* Fills the keyspace with a few keys of every type, some with expiries. */
static void fill(void) {
    set(1, "s1", "value one", 0, 0);
    set(1, "s2", "12", 0, 1000);
    push(1, "l1", STOA_OP_PUSH_BACK, "a", "b");
    push(1, "l1", STOA_OP_PUSH_BACK, "c", "d");
    push(1, "l1", STOA_OP_PUSH_BACK, "e", "f");
    push(1, "l1", STOA_OP_PUSH_BACK, "g", "h");
}

static void build_mset(struct args *a) {
    *a = (struct args){0};
    args_text(args_text(args_text(args_text(a, "s1"), "replaced!"), "n1"), "new one");
    args_text(args_text(args_text(args_text(a, "s2"), "x"), "n2"), "new two, longer");
    args_text(args_text(a, "l1"), "was a list");
}

static void build_push(struct args *a) {
    *a = (struct args){0};
    args_u8(args_text(a, "l1"), STOA_OP_PUSH_BACK);
    for (int i = 0; i < 12; i++) {
        args_text(a, "element");
    }
}

static void build_push_new(struct args *a) {
    build_push(a);
    a->list[0].data = (const uint8_t *)"l9";
}

static void build_lmove(struct args *a) {
    *a = (struct args){0};
    args_u8(args_text(args_text(a, "l1"), "l2"), 0);
}

/* Multi-key writes fail whole under every single failing allocation: the digest, the used
 * bytes and the key count are as before, and a later retry succeeds. */
static void test_all_or_nothing_failing_allocations(void **state) {
    (void)state;
    void (*builders[])(struct args *) = {build_mset, build_push, build_push_new, build_lmove};
    uint32_t opcodes[] = {STOA_OP_MSET, STOA_OP_PUSH, STOA_OP_PUSH, STOA_OP_LMOVE};
    for (size_t b = 0; b < 4; b++) {
        bool succeeded = false;
        for (uint64_t n = 1; n < 64 && !succeeded; n++) {
            harness_free(&h);
            harness_init(&h, 0, 4);
            fill();
            uint64_t digest = harness_digest(&h, 1);
            size_t used = stoa_keyspace_used_bytes(&h.keyspace);
            struct args a;
            builders[b](&a);
            int result = 0;
            stoa_alloc_fail_nth(n);
            harness_write_as(&h, 0, 0, 1, opcodes[b], &a, &result);
            stoa_alloc_fail_nth(0);
            stoa_keyspace_check(&h.keyspace);
            if (result == STOA_OK) {
                succeeded = true;
                continue;
            }
            assert_int_equal(result, STOA_ERR_NOMEM);
            assert_int_equal(harness_digest(&h, 1), digest);
            assert_int_equal(stoa_keyspace_used_bytes(&h.keyspace), used);
        }
        assert_true(succeeded);
    }
}

/* Under the memory limit a multi-key write that does not fit is refused with Redis's OOM
 * text and changes nothing; with room it succeeds. */
static void test_all_or_nothing_memory_limit(void **state) {
    (void)state;
    void (*builders[])(struct args *) = {build_mset, build_push, build_push_new, build_lmove};
    uint32_t opcodes[] = {STOA_OP_MSET, STOA_OP_PUSH, STOA_OP_PUSH, STOA_OP_LMOVE};
    for (size_t b = 0; b < 4; b++) {
        harness_free(&h);
        harness_init(&h, 0, 4);
        fill();
        size_t used = stoa_keyspace_used_bytes(&h.keyspace);
        uint64_t digest = harness_digest(&h, 1);
        stoa_keyspace_limit_set(&h.keyspace, used + 8, STOA_KEYSPACE_EVICT_NONE);
        struct args a;
        builders[b](&a);
        int result = 0;
        assert_string_equal(harness_write_as(&h, 0, 0, 1, opcodes[b], &a, &result),
                            "-OOM command not allowed when used memory > 'maxmemory'.");
        assert_int_equal(result, STOA_ERR_OUT_OF_MEMORY);
        assert_int_equal(harness_digest(&h, 1), digest);
        assert_int_equal(stoa_keyspace_used_bytes(&h.keyspace), used);
        stoa_keyspace_limit_set(&h.keyspace, used * 4, STOA_KEYSPACE_EVICT_NONE);
        harness_write_as(&h, 0, 0, 1, opcodes[b], &a, &result);
        assert_int_equal(result, STOA_OK);
        stoa_keyspace_check(&h.keyspace);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_set_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counter_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_incrbyfloat, setup, teardown),
        cmocka_unit_test_setup_teardown(test_binary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_largest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_setrange, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getdel_getex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multi_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pop_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deque_edit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lpos, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_glob, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keys_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing_failing_allocations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_all_or_nothing_memory_limit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
