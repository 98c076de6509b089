/* Shows that consensus messages encode to the bytes docs/protocols/peer.md documents,
 * decode back to the same message for every type, and that truncated, padded, oversized or
 * garbage bytes are refused with an error (never a crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "consensus/message.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/prng.h"

static struct stoa_paxos_entry decoded_entries[STOA_PAXOS_MESSAGE_ENTRIES_MAX];

static size_t encode(const struct stoa_paxos_message *message, uint8_t *out, size_t capacity) {
    size_t length = 0;
    assert_int_equal(stoa_paxos_message_encode(message, out, capacity, &length), STOA_OK);
    assert_int_equal(length, stoa_paxos_message_size(message));
    return length;
}

/* A heartbeat is exactly the documented 68-byte header, field by field. */
static void test_golden_heartbeat(void **state) {
    (void)state;
    struct stoa_paxos_message heartbeat = {
        .type = STOA_PAXOS_MSG_HEARTBEAT,
        .from = 3,
        .to = 1,
        .ballot = {.round = 0x0102, .node_id = 3},
        .commit_index = 0x0a0b,
        .round = 7,
    };
    uint8_t bytes[128];
    size_t length = encode(&heartbeat, bytes, sizeof(bytes));
    static const uint8_t expected[68] = {
        1,    6,    0, 0,             /* version, type, flags */
        3,    0,    0, 0, 1, 0, 0, 0, /* from, to */
        0x02, 0x01, 0, 0, 0, 0, 0, 0, /* ballot round */
        3,    0,    0, 0,             /* ballot node id */
        0x0b, 0x0a, 0, 0, 0, 0, 0, 0, /* commit index */
        0,    0,    0, 0, 0, 0, 0, 0, /* slot */
        0,    0,    0, 0, 0, 0, 0, 0, /* slot last */
        7,    0,    0, 0, 0, 0, 0, 0, /* round */
        0,    0,    0, 0, 0, 0, 0, 0, /* snapshot index */
        0,    0,    0, 0,             /* entry count */
    };
    assert_int_equal(length, sizeof(expected));
    assert_memory_equal(bytes, expected, sizeof(expected));
}

/* An entry follows the header as slot, ballot, kind, chosen, length, value. */
static void test_golden_entry(void **state) {
    (void)state;
    struct stoa_paxos_entry entry = {.slot = 5,
                                     .ballot = {.round = 2, .node_id = 3},
                                     .kind = STOA_PAXOS_KIND_NORMAL,
                                     .chosen = true,
                                     .length = 2,
                                     .value = (const uint8_t *)"hi"};
    struct stoa_paxos_message catchup = {.type = STOA_PAXOS_MSG_CATCHUP,
                                         .from = 3,
                                         .to = 1,
                                         .ballot = {.round = 2, .node_id = 3},
                                         .slot = 5,
                                         .slot_last = 5,
                                         .entry_count = 1,
                                         .entries = &entry};
    uint8_t bytes[128];
    size_t length = encode(&catchup, bytes, sizeof(bytes));
    assert_int_equal(length, STOA_PAXOS_MESSAGE_HEADER_BYTES + STOA_PAXOS_ENTRY_HEADER_BYTES + 2);
    static const uint8_t expected[28] = {
        5,   0,   0, 0, 0, 0, 0, 0, /* slot */
        2,   0,   0, 0, 0, 0, 0, 0, /* ballot round */
        3,   0,   0, 0,             /* ballot node id */
        1,   1,                     /* kind normal, chosen */
        2,   0,   0, 0,             /* length */
        'h', 'i',
    };
    assert_memory_equal(bytes + STOA_PAXOS_MESSAGE_HEADER_BYTES, expected, sizeof(expected));
    assert_int_equal(bytes[64], 1); /* entry count */
}

static struct stoa_paxos_message sample(uint8_t type, struct stoa_paxos_entry *entries) {
    static const uint8_t value[] = {1, 2, 3, 4, 5};
    struct stoa_paxos_message message = {
        .type = type,
        .from = 2,
        .to = 1,
        .ballot = {.round = 99, .node_id = 2},
        .commit_index = 10,
        .slot = 11,
        .slot_last = 12,
        .round = 5,
        .snapshot_index = 3,
    };
    if (type == STOA_PAXOS_MSG_PROMISE || type == STOA_PAXOS_MSG_ACCEPT ||
        type == STOA_PAXOS_MSG_CATCHUP) {
        entries[0] = (struct stoa_paxos_entry){.slot = 11,
                                               .ballot = {.round = 99, .node_id = 2},
                                               .kind = STOA_PAXOS_KIND_NORMAL,
                                               .chosen = type == STOA_PAXOS_MSG_CATCHUP,
                                               .length = sizeof(value),
                                               .value = value};
        entries[1] = (struct stoa_paxos_entry){
            .slot = 12, .ballot = {.round = 98, .node_id = 1}, .kind = STOA_PAXOS_KIND_NOOP};
        message.entry_count = 2;
        message.entries = entries;
    }
    if (type == STOA_PAXOS_MSG_NACK) {
        message.flags = STOA_PAXOS_NACK_BEHIND;
    }
    if (type == STOA_PAXOS_MSG_PROMISE) {
        message.flags = STOA_PAXOS_FLAG_LAST;
    }
    return message;
}

static void assert_same(const struct stoa_paxos_message *a, const struct stoa_paxos_message *b) {
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->from, b->from);
    assert_int_equal(a->to, b->to);
    assert_int_equal(stoa_paxos_ballot_compare(a->ballot, b->ballot), 0);
    assert_int_equal(a->commit_index, b->commit_index);
    assert_int_equal(a->slot, b->slot);
    assert_int_equal(a->slot_last, b->slot_last);
    assert_int_equal(a->round, b->round);
    assert_int_equal(a->snapshot_index, b->snapshot_index);
    assert_int_equal(a->entry_count, b->entry_count);
    for (uint32_t i = 0; i < a->entry_count; i++) {
        assert_int_equal(a->entries[i].slot, b->entries[i].slot);
        assert_int_equal(stoa_paxos_ballot_compare(a->entries[i].ballot, b->entries[i].ballot), 0);
        assert_int_equal(a->entries[i].kind, b->entries[i].kind);
        assert_int_equal(a->entries[i].chosen, b->entries[i].chosen);
        assert_int_equal(a->entries[i].length, b->entries[i].length);
        if (a->entries[i].length > 0) {
            assert_memory_equal(a->entries[i].value, b->entries[i].value, a->entries[i].length);
        }
    }
}

/* Every type decodes back to what was encoded, and every proper prefix of it (and the
 * message with a byte appended) is refused as malformed. */
static void test_round_trip_and_truncation(void **state) {
    (void)state;
    for (uint8_t type = 1; type <= STOA_PAXOS_MSG_TYPE_MAX; type++) {
        struct stoa_paxos_entry entries[2];
        struct stoa_paxos_message message = sample(type, entries);
        uint8_t bytes[512];
        size_t length = encode(&message, bytes, sizeof(bytes) - 1);
        struct stoa_paxos_message decoded;
        assert_int_equal(stoa_paxos_message_decode(bytes, length, &decoded, decoded_entries,
                                                   STOA_PAXOS_MESSAGE_ENTRIES_MAX),
                         STOA_OK);
        assert_same(&message, &decoded);
        for (size_t cut = 0; cut < length; cut++) {
            assert_int_equal(stoa_paxos_message_decode(bytes, cut, &decoded, decoded_entries,
                                                       STOA_PAXOS_MESSAGE_ENTRIES_MAX),
                             STOA_ERR_MALFORMED);
        }
        bytes[length] = 0;
        assert_int_equal(stoa_paxos_message_decode(bytes, length + 1, &decoded, decoded_entries,
                                                   STOA_PAXOS_MESSAGE_ENTRIES_MAX),
                         STOA_ERR_MALFORMED);
        assert_string_not_equal(stoa_paxos_message_type_name(type), "unknown");
    }
}

/* Each field the decoder checks, broken on its own, makes the message malformed; a message
 * with more entries than the caller's array is TOO_LARGE; the encoder refuses what the
 * decoder would and reports a small buffer. */
static void test_rejects_bad_fields(void **state) {
    (void)state;
    struct stoa_paxos_entry entries[2];
    struct stoa_paxos_message accept = sample(STOA_PAXOS_MSG_ACCEPT, entries);
    uint8_t good[512];
    size_t length = encode(&accept, good, sizeof(good));
    uint8_t bytes[512];
    struct stoa_paxos_message out;
    struct {
        size_t offset;
        uint8_t value;
    } breaks[] = {
        {0, 2},                                       /* version */
        {1, 0},                                       /* type 0 */
        {1, 11},                                      /* unknown type */
        {2, 1},                                       /* flags on an ACCEPT */
        {64, 3},                                      /* entry count past the bytes */
        {67, 0x80},                                   /* entry count past the bound */
        {STOA_PAXOS_MESSAGE_HEADER_BYTES + 20, 0},    /* entry kind 0 */
        {STOA_PAXOS_MESSAGE_HEADER_BYTES + 20, 4},    /* entry kind 4 */
        {STOA_PAXOS_MESSAGE_HEADER_BYTES + 21, 2},    /* chosen byte */
        {STOA_PAXOS_MESSAGE_HEADER_BYTES + 22, 0xff}, /* value length past the bytes */
        {STOA_PAXOS_MESSAGE_HEADER_BYTES + 25, 0x7f}, /* value length past the bound */
    };
    for (size_t i = 0; i < sizeof(breaks) / sizeof(breaks[0]); i++) {
        memcpy(bytes, good, length);
        bytes[breaks[i].offset] = breaks[i].value;
        assert_int_equal(stoa_paxos_message_decode(bytes, length, &out, decoded_entries,
                                                   STOA_PAXOS_MESSAGE_ENTRIES_MAX),
                         STOA_ERR_MALFORMED);
    }
    assert_int_equal(stoa_paxos_message_decode(good, length, &out, decoded_entries, 1),
                     STOA_ERR_TOO_LARGE);
    struct stoa_paxos_message heartbeat = sample(STOA_PAXOS_MSG_HEARTBEAT, entries);
    heartbeat.entry_count = 1;
    heartbeat.entries = entries;
    size_t written = 0;
    assert_int_equal(stoa_paxos_message_encode(&heartbeat, bytes, sizeof(bytes), &written),
                     STOA_ERR_INVALID);
    assert_int_equal(stoa_paxos_message_encode(&accept, bytes, 10, &written), STOA_ERR_FULL);
    struct stoa_paxos_message nack = sample(STOA_PAXOS_MSG_NACK, entries);
    nack.flags = 9;
    assert_int_equal(stoa_paxos_message_encode(&nack, bytes, sizeof(bytes), &written),
                     STOA_ERR_INVALID);
}

/* 200,000 random inputs (random lengths, and mutations of valid messages) never crash;
 * whatever decodes re-encodes to the same bytes. */
static void test_garbage(void **state) {
    (void)state;
    struct stoa_prng prng;
    stoa_prng_init(&prng, 77);
    struct stoa_paxos_entry entries[2];
    struct stoa_paxos_message accept = sample(STOA_PAXOS_MSG_ACCEPT, entries);
    uint8_t good[512];
    size_t good_length = encode(&accept, good, sizeof(good));
    uint8_t bytes[512];
    uint8_t again[512];
    uint32_t decoded_count = 0;
    for (int i = 0; i < 200000; i++) {
        size_t length;
        if (i % 2 == 0) {
            length = (size_t)stoa_prng_below(&prng, sizeof(bytes));
            stoa_prng_fill(&prng, bytes, length);
            bytes[0] = (uint8_t)(i % 4 == 0 ? 1 : bytes[0]);
        } else {
            length = good_length;
            memcpy(bytes, good, length);
            for (int flips = 0; flips < 3; flips++) {
                bytes[stoa_prng_below(&prng, length)] = (uint8_t)stoa_prng_next_u64(&prng);
            }
        }
        struct stoa_paxos_message out;
        int result = stoa_paxos_message_decode(bytes, length, &out, decoded_entries,
                                               STOA_PAXOS_MESSAGE_ENTRIES_MAX);
        if (result != STOA_OK) {
            assert_true(result == STOA_ERR_MALFORMED);
            continue;
        }
        decoded_count++;
        size_t written = 0;
        assert_int_equal(stoa_paxos_message_encode(&out, again, sizeof(again), &written), STOA_OK);
        assert_int_equal(written, length);
        assert_memory_equal(again, bytes, length);
    }
    assert_true(decoded_count > 1000); /* the mutations do reach the decoder's success path */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_heartbeat),
        cmocka_unit_test(test_golden_entry),
        cmocka_unit_test(test_round_trip_and_truncation),
        cmocka_unit_test(test_rejects_bad_fields),
        cmocka_unit_test(test_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
