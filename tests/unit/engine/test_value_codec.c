/* Shows that every value survives encode then decode unchanged, that the encodings are the
 * bytes the layout in value_codec.c describes, and that decoding refuses every damaged
 * encoding (and every failed allocation) with an error, leaving nothing allocated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "engine/value.h"
#include "engine/value_codec.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/prng.h"

/* Large enough for every encoding in this file. */
#define ENCODING_BYTES_MAX (8 * 1024 * 1024)

struct live {
    uint64_t count;
    uint64_t bytes;
};

static struct live live_now(void) {
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    return (struct live){.count = stats.live_count, .bytes = stats.live_bytes};
}

static void assert_live(struct live expected) {
    struct live now = live_now();
    assert_int_equal(now.count, expected.count);
    assert_int_equal(now.bytes, expected.bytes);
}

static uint64_t allocation_count(void) {
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    return stats.allocation_count;
}

/* Encodes value into out, which must be freed by the caller. */
static void encode(const struct stoa_value *value, struct stoa_buf *out) {
    stoa_buf_init(out, ENCODING_BYTES_MAX);
    assert_int_equal(stoa_value_encode(value, out), STOA_OK);
}

/* Encodes value, decodes the bytes as value's type, and checks that the result is equal
 * and encodes to the same bytes again. */
static void assert_round_trip(const struct stoa_value *value) {
    struct live before = live_now();
    struct stoa_buf first;
    encode(value, &first);
    struct stoa_value decoded;
    stoa_value_init(&decoded);
    assert_int_equal(stoa_value_decode(value->type, first.data, first.length, &decoded), STOA_OK);
    assert_int_equal(decoded.type, value->type);
    assert_true(stoa_value_equal(&decoded, value));
    struct stoa_buf second;
    encode(&decoded, &second);
    assert_int_equal(second.length, first.length);
    if (first.length > 0) {
        assert_memory_equal(second.data, first.data, first.length);
    }
    stoa_buf_free(&second);
    stoa_value_free(&decoded);
    stoa_buf_free(&first);
    assert_live(before);
}

/* Decoding data as type fails with expected, leaves the value holding nothing and leaves
 * nothing allocated. */
static void assert_rejected(enum stoa_value_type type, const uint8_t *data, size_t length,
                            int expected) {
    struct live before = live_now();
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_decode(type, data, length, &value), expected);
    assert_int_equal(value.type, STOA_VALUE_NONE);
    assert_live(before);
}

static void deque_push(struct stoa_value *value, const void *data, size_t length) {
    assert_int_equal(stoa_value_deque_push(value, STOA_DEQUE_BACK, data, length), STOA_OK);
}

/* Three elements: a short one, an empty one, and a binary one longer than 127 bytes, so
 * that its length takes a two-byte varint. */
static void make_small_deque(struct stoa_value *value) {
    stoa_value_init(value);
    stoa_value_deque_init(value);
    static uint8_t binary[200];
    for (size_t i = 0; i < sizeof(binary); i++) {
        binary[i] = (uint8_t)(i * 37);
    }
    deque_push(value, "ab", 2);
    deque_push(value, NULL, 0);
    deque_push(value, binary, sizeof(binary));
}

static void make_object(struct stoa_value *value) {
    static const uint8_t id[] = {'o', 0, 'b', 'j'};
    static const uint8_t data[] = {'{', 0, 0xff, '}'};
    struct stoa_object_fields fields = {
        .id = id,
        .id_length = sizeof(id),
        .data = data,
        .data_length = sizeof(data),
        .creation_time_ms = 1700000000000,
        .ttl_s = 1700000060,
        .last_modified_ms = 1700000000123,
    };
    stoa_value_init(value);
    assert_int_equal(stoa_value_object_set(value, &fields), STOA_OK);
}

/* Bytes round-trip as themselves: empty, binary with NUL bytes, and a megabyte. */
static void test_bytes_round_trip(void **state) {
    (void)state;
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_set(&value, NULL, 0), STOA_OK);
    assert_round_trip(&value);
    struct stoa_buf out;
    encode(&value, &out);
    assert_int_equal(out.length, 0);
    stoa_buf_free(&out);

    static const uint8_t binary[] = {0, 'a', 0, 0, 0xff, 0x80, 0};
    assert_int_equal(stoa_value_bytes_set(&value, binary, sizeof(binary)), STOA_OK);
    assert_round_trip(&value);
    encode(&value, &out);
    assert_int_equal(out.length, sizeof(binary));
    assert_memory_equal(out.data, binary, sizeof(binary));
    stoa_buf_free(&out);

    size_t large_length = 1024 * 1024 + 3;
    uint8_t *large = stoa_alloc(large_length);
    assert_non_null(large);
    struct stoa_prng prng;
    stoa_prng_init(&prng, 11);
    stoa_prng_fill(&prng, large, large_length);
    assert_int_equal(stoa_value_bytes_set(&value, large, large_length), STOA_OK);
    assert_round_trip(&value);
    stoa_free(large);
    stoa_value_free(&value);
}

/* Deques round-trip in order: one element, a thousand of assorted lengths (binary, empty,
 * and lengths needing one, two and three varint bytes). */
static void test_deque_round_trip(void **state) {
    (void)state;
    struct stoa_value value;
    stoa_value_init(&value);
    stoa_value_deque_init(&value);
    deque_push(&value, "x", 1);
    assert_round_trip(&value);
    stoa_value_free(&value);

    stoa_value_deque_init(&value);
    deque_push(&value, NULL, 0);
    assert_round_trip(&value);
    deque_push(&value, NULL, 0);
    assert_round_trip(&value);
    stoa_value_free(&value);

    static uint8_t data[70000];
    struct stoa_prng prng;
    stoa_prng_init(&prng, 12);
    stoa_prng_fill(&prng, data, sizeof(data));
    data[3] = 0;
    stoa_value_deque_init(&value);
    for (size_t i = 0; i < 1000; i++) {
        size_t length = i % 300;
        deque_push(&value, data + i, length);
    }
    deque_push(&value, data, sizeof(data));
    deque_push(&value, NULL, 0);
    assert_int_equal(stoa_value_deque_length(&value), 1002);
    assert_round_trip(&value);
    stoa_value_free(&value);

    make_small_deque(&value);
    assert_round_trip(&value);
    stoa_value_free(&value);
}

/* Objects round-trip with all fields set, with the extreme int64 times, with an empty id
 * and empty data, and with the longest id. */
static void test_object_round_trip(void **state) {
    (void)state;
    struct stoa_value value;
    make_object(&value);
    assert_round_trip(&value);

    static const int64_t extremes[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX};
    size_t extreme_count = sizeof(extremes) / sizeof(extremes[0]);
    for (size_t i = 0; i < extreme_count; i++) {
        struct stoa_object_fields fields = {
            .id = (const uint8_t *)"i",
            .id_length = 1,
            .data = (const uint8_t *)"d",
            .data_length = 1,
            .creation_time_ms = extremes[i],
            .ttl_s = extremes[(i + 1) % extreme_count],
            .last_modified_ms = extremes[(i + 2) % extreme_count],
        };
        assert_int_equal(stoa_value_object_set(&value, &fields), STOA_OK);
        assert_round_trip(&value);
    }

    struct stoa_object_fields empty = {.ttl_s = 5};
    assert_int_equal(stoa_value_object_set(&value, &empty), STOA_OK);
    assert_round_trip(&value);
    struct stoa_buf out;
    encode(&value, &out);
    assert_int_equal(out.length, 1 + 24 + 1); /* two empty runs and three int64s */
    stoa_buf_free(&out);

    static uint8_t long_id[STOA_OBJECT_ID_BYTES_MAX];
    memset(long_id, 0x69, sizeof(long_id));
    struct stoa_object_fields longest = {.id = long_id, .id_length = sizeof(long_id)};
    assert_int_equal(stoa_value_object_set(&value, &longest), STOA_OK);
    assert_round_trip(&value);
    stoa_value_free(&value);
}

/* The encodings are exactly the bytes worked out by hand from the layout in value_codec.c,
 * and those bytes decode to the value. */
static void test_golden_bytes(void **state) {
    (void)state;
    /* Deque "a", "", "\0\xff": count 3, then each element as a varint length and its bytes. */
    static const uint8_t deque_bytes[] = {0x03, 0x01, 'a', 0x00, 0x02, 0x00, 0xff};
    struct stoa_value value;
    stoa_value_init(&value);
    stoa_value_deque_init(&value);
    deque_push(&value, "a", 1);
    deque_push(&value, NULL, 0);
    deque_push(&value, "\0\xff", 2);
    struct stoa_buf out;
    encode(&value, &out);
    assert_int_equal(out.length, sizeof(deque_bytes));
    assert_memory_equal(out.data, deque_bytes, sizeof(deque_bytes));
    stoa_buf_free(&out);
    struct stoa_value decoded;
    stoa_value_init(&decoded);
    assert_int_equal(
        stoa_value_decode(STOA_VALUE_DEQUE, deque_bytes, sizeof(deque_bytes), &decoded), STOA_OK);
    assert_true(stoa_value_equal(&decoded, &value));
    stoa_value_free(&decoded);

    /* One element of 300 bytes: its length is the varint AC 02. */
    static uint8_t long_element[300];
    memset(long_element, 0x5a, sizeof(long_element));
    stoa_value_deque_init(&value);
    deque_push(&value, long_element, sizeof(long_element));
    encode(&value, &out);
    assert_int_equal(out.length, 3 + 300);
    static const uint8_t long_prefix[] = {0x01, 0xac, 0x02};
    assert_memory_equal(out.data, long_prefix, sizeof(long_prefix));
    assert_memory_equal(out.data + 3, long_element, sizeof(long_element));
    stoa_buf_free(&out);

    /* Object: id run, creation_time_ms, ttl_s, last_modified_ms (8 bytes each,
     * little-endian two's complement), data run. */
    static const uint8_t object_bytes[] = {
        0x02, 'p',  0x00,                               /* id "p\0" */
        0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* creation_time_ms -2 */
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* ttl_s 0x0102030405060708 */
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, /* last_modified_ms INT64_MIN */
        0x01, 'x',                                      /* data "x" */
    };
    struct stoa_object_fields fields = {
        .id = (const uint8_t *)"p",
        .id_length = 2,
        .data = (const uint8_t *)"x",
        .data_length = 1,
        .creation_time_ms = -2,
        .ttl_s = 0x0102030405060708,
        .last_modified_ms = INT64_MIN,
    };
    assert_int_equal(stoa_value_object_set(&value, &fields), STOA_OK);
    encode(&value, &out);
    assert_int_equal(out.length, sizeof(object_bytes));
    assert_memory_equal(out.data, object_bytes, sizeof(object_bytes));
    stoa_buf_free(&out);
    assert_int_equal(
        stoa_value_decode(STOA_VALUE_OBJECT, object_bytes, sizeof(object_bytes), &decoded),
        STOA_OK);
    assert_true(stoa_value_equal(&decoded, &value));
    stoa_value_free(&decoded);
    stoa_value_free(&value);
}

/* Every proper prefix of an encoding, and the encoding with a byte after it, is malformed. */
static void assert_truncations_and_trailing_rejected(const struct stoa_value *value) {
    struct stoa_buf out;
    encode(value, &out);
    for (size_t length = 0; length < out.length; length++) {
        assert_rejected(value->type, out.data, length, STOA_ERR_MALFORMED);
    }
    assert_int_equal(stoa_buf_append_byte(&out, 0x00), STOA_OK);
    assert_rejected(value->type, out.data, out.length, STOA_ERR_MALFORMED);
    out.data[out.length - 1] = 0x01;
    assert_rejected(value->type, out.data, out.length, STOA_ERR_MALFORMED);
    stoa_buf_free(&out);
}

/* Every truncation of a deque or an object encoding, and trailing bytes after one, are
 * STOA_ERR_MALFORMED with nothing left allocated. */
static void test_truncated_and_trailing_rejected(void **state) {
    (void)state;
    struct stoa_value value;
    make_small_deque(&value);
    assert_truncations_and_trailing_rejected(&value);
    stoa_value_free(&value);
    make_object(&value);
    assert_truncations_and_trailing_rejected(&value);
    stoa_value_free(&value);
    struct stoa_object_fields empty = {0};
    assert_int_equal(stoa_value_object_set(&value, &empty), STOA_OK);
    assert_truncations_and_trailing_rejected(&value);
    stoa_value_free(&value);
}

/* Counts, lengths and varints that lie about the bytes are STOA_ERR_MALFORMED, even where
 * some elements were already decoded, with nothing left allocated. */
static void test_bad_counts_lengths_and_varints_rejected(void **state) {
    (void)state;
    static const struct {
        const char *what;
        uint8_t bytes[16];
        size_t length;
    } deques[] = {
        {"count 0", {0x00}, 1},
        {"count 0 with bytes after it", {0x00, 0x01, 'a'}, 3},
        {"count 5, two bytes left", {0x05, 0x01, 'a'}, 3},
        {"count 2^64 - 1", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
        {"count 3, two elements", {0x03, 0x01, 'a', 0x01, 'b'}, 5},
        {"element length past the end", {0x01, 0x05, 'a', 'b'}, 4},
        {"second element past the end", {0x02, 0x01, 'a', 0x02, 'b'}, 5},
        {"element length 2^32 - 1", {0x01, 0xff, 0xff, 0xff, 0xff, 0x0f, 'a'}, 7},
        {"overlong count", {0x81, 0x00, 0x01, 'a'}, 4},
        {"overlong element length", {0x01, 0x81, 0x00, 'a'}, 4},
        {"overlong zero length", {0x01, 0x80, 0x00}, 3},
        {"varint of 11 bytes",
         {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00},
         12},
        {"varint past 64 bits", {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}, 10},
        {"count cut inside its varint", {0x81}, 1},
    };
    for (size_t i = 0; i < sizeof(deques) / sizeof(deques[0]); i++) {
        struct live before = live_now();
        struct stoa_value value;
        stoa_value_init(&value);
        int result = stoa_value_decode(STOA_VALUE_DEQUE, deques[i].bytes, deques[i].length, &value);
        if (result != STOA_ERR_MALFORMED) {
            fail_msg("deque case \"%s\": got %d", deques[i].what, result);
        }
        assert_int_equal(value.type, STOA_VALUE_NONE);
        assert_live(before);
    }

    /* Objects: take a valid encoding (id "ab", data "cd") and damage one length. */
    uint8_t object[3 + 24 + 3] = {0};
    uint8_t *bytes = object;
    *bytes++ = 0x02;
    *bytes++ = 'a';
    *bytes++ = 'b';
    bytes += 24;
    *bytes++ = 0x02;
    *bytes++ = 'c';
    *bytes++ = 'd';
    size_t length = (size_t)(bytes - object);
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_decode(STOA_VALUE_OBJECT, object, length, &value), STOA_OK);
    stoa_value_free(&value);
    object[0] = 0x7f; /* id past the end */
    assert_rejected(STOA_VALUE_OBJECT, object, length, STOA_ERR_MALFORMED);
    object[0] = 0x02;
    object[27] = 0x03; /* data past the end */
    assert_rejected(STOA_VALUE_OBJECT, object, length, STOA_ERR_MALFORMED);
    object[27] = 0x01; /* data shorter: one byte left over */
    assert_rejected(STOA_VALUE_OBJECT, object, length, STOA_ERR_MALFORMED);
    /* An overlong id length: 80 00 instead of 00 for an empty id. */
    uint8_t overlong[2 + 24 + 1] = {0x80, 0x00};
    assert_rejected(STOA_VALUE_OBJECT, overlong, sizeof(overlong), STOA_ERR_MALFORMED);
    /* The same bytes without the overlong byte are a valid empty object. */
    assert_int_equal(
        stoa_value_decode(STOA_VALUE_OBJECT, overlong + 1, sizeof(overlong) - 1, &value), STOA_OK);
    stoa_value_free(&value);
}

/* A well-formed object whose id is over STOA_OBJECT_ID_BYTES_MAX is STOA_ERR_TOO_LARGE, with
 * nothing left allocated. */
static void test_object_id_too_large_rejected(void **state) {
    (void)state;
    size_t id_length = STOA_OBJECT_ID_BYTES_MAX + 1;
    size_t length = 3 + id_length + 24 + 1;
    uint8_t *bytes = stoa_calloc(1, length);
    assert_non_null(bytes);
    bytes[0] = (uint8_t)(0x80 | (id_length & 0x7f));
    bytes[1] = (uint8_t)(0x80 | ((id_length >> 7) & 0x7f));
    bytes[2] = (uint8_t)(id_length >> 14);
    assert_true(id_length >> 21 == 0);
    assert_rejected(STOA_VALUE_OBJECT, bytes, length, STOA_ERR_TOO_LARGE);
    stoa_free(bytes);
}

/* Type numbers other than bytes, deque and object are STOA_ERR_MALFORMED, whatever the
 * bytes. */
static void test_unknown_types_rejected(void **state) {
    (void)state;
    static const unsigned types[] = {0, 4, 0x80, 255};
    static const uint8_t deque_bytes[] = {0x01, 0x01, 'a'};
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        enum stoa_value_type type = (enum stoa_value_type)types[i];
        assert_rejected(type, deque_bytes, sizeof(deque_bytes), STOA_ERR_MALFORMED);
        assert_rejected(type, NULL, 0, STOA_ERR_MALFORMED);
    }
}

/* Decodes encoding as type with the Nth allocation failing, for N = 1, 2, ... until it
 * succeeds: each failure is STOA_ERR_NOMEM, leaving nothing; success comes exactly after
 * every allocation a plain decode makes has been failed once. */
static void assert_decode_survives_failing_allocations(const struct stoa_value *value) {
    struct stoa_buf out;
    encode(value, &out);
    struct live before = live_now();
    struct stoa_value decoded;
    stoa_value_init(&decoded);
    uint64_t allocations = allocation_count();
    assert_int_equal(stoa_value_decode(value->type, out.data, out.length, &decoded), STOA_OK);
    uint64_t needed = allocation_count() - allocations;
    stoa_value_free(&decoded);
    assert_true(needed > 0);
    for (uint64_t n = 1;; n++) {
        stoa_alloc_fail_nth(n);
        int result = stoa_value_decode(value->type, out.data, out.length, &decoded);
        stoa_alloc_fail_nth(0);
        if (result == STOA_OK) {
            assert_int_equal(n, needed + 1);
            assert_true(stoa_value_equal(&decoded, value));
            stoa_value_free(&decoded);
            break;
        }
        assert_int_equal(result, STOA_ERR_NOMEM);
        assert_int_equal(decoded.type, STOA_VALUE_NONE);
        assert_live(before);
    }
    assert_live(before);
    stoa_buf_free(&out);
}

/* Failing each allocation of a decode in turn gives STOA_ERR_NOMEM and leaks nothing, for
 * bytes, a deque whose ring grows twice, and an object. */
static void test_failing_allocations_during_decode(void **state) {
    (void)state;
    struct stoa_value value;
    stoa_value_init(&value);
    assert_int_equal(stoa_value_bytes_set(&value, "bytes", 5), STOA_OK);
    assert_decode_survives_failing_allocations(&value);
    stoa_value_deque_init(&value);
    for (uint32_t i = 0; i < 20; i++) {
        deque_push(&value, &i, i % 3 == 0 ? 0 : sizeof(i));
    }
    assert_decode_survives_failing_allocations(&value);
    stoa_value_free(&value);
    make_object(&value);
    assert_decode_survives_failing_allocations(&value);
    stoa_value_free(&value);
}

/* Encoding into a buffer that cannot grow fails with the buffer's error (STOA_ERR_NOMEM, or
 * STOA_ERR_TOO_LARGE past its maximum), and succeeds once it can. */
static void test_encode_errors(void **state) {
    (void)state;
    struct stoa_value value;
    make_small_deque(&value);
    struct stoa_buf out;
    encode(&value, &out);
    size_t length = out.length;
    stoa_buf_free(&out);
    stoa_buf_init(&out, length - 1);
    assert_int_equal(stoa_value_encode(&value, &out), STOA_ERR_TOO_LARGE);
    stoa_buf_free(&out);
    stoa_buf_init(&out, length);
    assert_int_equal(stoa_value_encode(&value, &out), STOA_OK);
    stoa_buf_free(&out);
    struct live before = live_now();
    stoa_buf_init(&out, ENCODING_BYTES_MAX);
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_value_encode(&value, &out), STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    stoa_buf_free(&out);
    assert_live(before);
    stoa_value_free(&value);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_round_trip),
        cmocka_unit_test(test_deque_round_trip),
        cmocka_unit_test(test_object_round_trip),
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_truncated_and_trailing_rejected),
        cmocka_unit_test(test_bad_counts_lengths_and_varints_rejected),
        cmocka_unit_test(test_object_id_too_large_rejected),
        cmocka_unit_test(test_unknown_types_rejected),
        cmocka_unit_test(test_failing_allocations_during_decode),
        cmocka_unit_test(test_encode_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
