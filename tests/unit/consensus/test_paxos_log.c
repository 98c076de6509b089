/* Shows that stoa_paxos_entry_get reads the core's log ring as it is: each held entry with its
 * slot, ballot, kind, chosen flag and value bytes, and false (entry untouched) for slots that
 * are compacted, beyond the last slot, or holes, before and after compaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "consensus/paxos.h"
#include "util/alloc.h"
#include "util/err.h"

static const uint32_t members[] = {1, 2, 3};

static struct stoa_paxos_config config_of(void) {
    return (struct stoa_paxos_config){
        .self_id = 1,
        .members = members,
        .member_count = 3,
        .heartbeat_ticks = 1,
        .election_ticks_min = 10,
        .election_ticks_max = 20,
        .window_slots = 16,
        .log_slots = 64,
        .seed = 7,
    };
}

/* A core restarted from a disk holding slots 11, 12, 14 and 15 above snapshot 10 (slot 13
 * a hole), committed through 12. */
static struct stoa_paxos *restart(void) {
    static const uint8_t first[] = "first";
    static const uint8_t second[] = "second";
    uint8_t change[STOA_PAXOS_CONFIG_CHANGE_BYTES];
    stoa_paxos_config_change_encode(STOA_PAXOS_CONFIG_ADD, 4, change);
    const struct stoa_paxos_entry entries[] = {
        {.slot = 12, .ballot = {3, 2}, .kind = STOA_PAXOS_KIND_NOOP},
        {.slot = 11, .ballot = {3, 2}, .kind = STOA_PAXOS_KIND_NORMAL, .length = 5, .value = first},
        {.slot = 15,
         .ballot = {4, 3},
         .kind = STOA_PAXOS_KIND_CONFIG,
         .length = sizeof(change),
         .value = change},
        {.slot = 14,
         .ballot = {4, 3},
         .kind = STOA_PAXOS_KIND_NORMAL,
         .length = 6,
         .value = second},
    };
    const struct stoa_paxos_persisted persisted = {
        .promised = {4, 3},
        .commit_index = 12,
        .snapshot_index = 10,
        .applied_index = 10,
        .snapshot_members = members,
        .snapshot_member_count = 3,
        .entries = entries,
        .entry_count = 4,
    };
    struct stoa_paxos_config config = config_of();
    struct stoa_paxos *paxos = NULL;
    assert_int_equal(stoa_paxos_create(&config, &persisted, &paxos), STOA_OK);
    return paxos;
}

static const struct stoa_paxos_entry untouched = {.slot = 999, .kind = 77};

/* Held entries come back as persisted; those at or below the commit index are chosen. */
static void test_held_entries(void **state) {
    (void)state;
    struct stoa_paxos *paxos = restart();
    struct stoa_paxos_entry entry;
    assert_true(stoa_paxos_entry_get(paxos, 11, &entry));
    assert_int_equal(entry.slot, 11);
    assert_int_equal(entry.ballot.round, 3);
    assert_int_equal(entry.ballot.node_id, 2);
    assert_int_equal(entry.kind, STOA_PAXOS_KIND_NORMAL);
    assert_true(entry.chosen);
    assert_int_equal(entry.length, 5);
    assert_memory_equal(entry.value, "first", 5);

    assert_true(stoa_paxos_entry_get(paxos, 12, &entry));
    assert_int_equal(entry.kind, STOA_PAXOS_KIND_NOOP);
    assert_true(entry.chosen);
    assert_int_equal(entry.length, 0);

    assert_true(stoa_paxos_entry_get(paxos, 14, &entry));
    assert_int_equal(entry.kind, STOA_PAXOS_KIND_NORMAL);
    assert_false(entry.chosen);
    assert_memory_equal(entry.value, "second", 6);

    assert_true(stoa_paxos_entry_get(paxos, 15, &entry));
    assert_int_equal(entry.kind, STOA_PAXOS_KIND_CONFIG);
    assert_int_equal(entry.ballot.round, 4);
    assert_int_equal(entry.ballot.node_id, 3);
    assert_false(entry.chosen);
    enum stoa_paxos_config_op op = 0;
    uint32_t node_id = 0;
    assert_int_equal(stoa_paxos_config_change_decode(entry.value, entry.length, &op, &node_id),
                     STOA_OK);
    assert_int_equal(op, STOA_PAXOS_CONFIG_ADD);
    assert_int_equal(node_id, 4);
    stoa_paxos_destroy(paxos);
}

/* Slot 0, the snapshot index and below, a hole and anything past the last slot are not held:
 * false, and the caller's entry is left as it was. */
static void test_missing_slots(void **state) {
    (void)state;
    struct stoa_paxos *paxos = restart();
    const uint64_t slots[] = {0, 1, 10, 13, 16, 64, UINT64_MAX};
    for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
        struct stoa_paxos_entry entry = untouched;
        assert_false(stoa_paxos_entry_get(paxos, slots[i], &entry));
        assert_memory_equal(&entry, &untouched, sizeof(entry));
    }
    stoa_paxos_destroy(paxos);
}

/* After compaction through 11 (the applied, committed prefix), slot 11 is gone and 12 is still
 * there; status and the accessor agree on where the log starts. */
static void test_after_compaction(void **state) {
    (void)state;
    struct stoa_paxos *paxos = restart();
    struct stoa_paxos_ready ready;
    /* Hand the chosen slots to the "state machine" so that they count as applied. */
    while (stoa_paxos_ready(paxos, &ready)) {
        stoa_paxos_advance(paxos);
    }
    assert_int_equal(stoa_paxos_compact(paxos, 11), STOA_OK);
    struct stoa_paxos_entry entry = untouched;
    assert_false(stoa_paxos_entry_get(paxos, 11, &entry));
    assert_memory_equal(&entry, &untouched, sizeof(entry));
    assert_true(stoa_paxos_entry_get(paxos, 12, &entry));
    assert_int_equal(entry.slot, 12);
    struct stoa_paxos_status status;
    stoa_paxos_status(paxos, &status);
    assert_int_equal(status.snapshot_index, 11);
    assert_int_equal(status.last_slot, 15);
    stoa_paxos_destroy(paxos);
}

/* A fresh core holds nothing. */
static void test_empty_log(void **state) {
    (void)state;
    struct stoa_paxos_config config = config_of();
    struct stoa_paxos *paxos = NULL;
    assert_int_equal(stoa_paxos_create(&config, NULL, &paxos), STOA_OK);
    struct stoa_paxos_entry entry = untouched;
    assert_false(stoa_paxos_entry_get(paxos, 0, &entry));
    assert_false(stoa_paxos_entry_get(paxos, 1, &entry));
    assert_memory_equal(&entry, &untouched, sizeof(entry));
    stoa_paxos_destroy(paxos);
}

static int no_leaks(void **state) {
    (void)state;
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    assert_int_equal(stats.live_count, 0);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_held_entries, no_leaks),
        cmocka_unit_test_teardown(test_missing_slots, no_leaks),
        cmocka_unit_test_teardown(test_after_compaction, no_leaks),
        cmocka_unit_test_teardown(test_empty_log, no_leaks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
