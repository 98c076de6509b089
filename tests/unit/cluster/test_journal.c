/* Shows that the journal gives back, after a restart, exactly the Paxos state that was
 * flushed before it (the highest promise, the last entry written at each slot, the commit
 * index, the snapshot point and its voters), loses only what was not flushed, survives a
 * torn tail, refuses a record that does not decode, and that compaction keeps the live state
 * while dropping the old segments. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cluster/journal.h"
#include "engine/wal.h"
#include "sim/sim_env.h"
#include "util/err.h"

#define DIR "/data/paxos"

static struct stoa_sim_env *sim;
static struct stoa_env *env;
static struct stoa_journal *journal;
static struct stoa_paxos_persisted persisted;

static int setup(void **state) {
    (void)state;
    assert_int_equal(stoa_sim_env_create(7, &sim), STOA_OK);
    env = stoa_sim_env_get(sim);
    assert_int_equal(env->ops->mkdir(env, "/data"), STOA_OK);
    assert_int_equal(env->ops->sync_dir(env, "/"), STOA_OK);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    stoa_journal_close(journal);
    journal = NULL;
    stoa_sim_env_destroy(sim);
    return 0;
}

static void open_journal(uint64_t segment_bytes_max) {
    struct stoa_journal_options options = {.directory = DIR,
                                           .segment_bytes_max = segment_bytes_max};
    char error[256] = "";
    assert_int_equal(stoa_journal_open(env, &options, &journal, &persisted, error, sizeof(error)),
                     STOA_OK);
}

static void reopen(uint64_t segment_bytes_max) {
    stoa_journal_close(journal);
    journal = NULL;
    open_journal(segment_bytes_max);
}

static struct stoa_paxos_entry entry(uint64_t slot, uint64_t round, uint32_t node,
                                     const char *value, bool chosen) {
    struct stoa_paxos_entry made = {
        .slot = slot,
        .ballot = {.round = round, .node_id = node},
        .kind = STOA_PAXOS_KIND_NORMAL,
        .chosen = chosen,
        .length = (uint32_t)strlen(value),
        .value = (const uint8_t *)value,
    };
    return made;
}

static void write_batch(const struct stoa_paxos_entry *writes, uint32_t count, uint64_t round,
                        uint64_t commit) {
    struct stoa_paxos_ready ready = {
        .promised_changed = round != 0,
        .promised = {.round = round, .node_id = 2},
        .commit_changed = commit != 0,
        .commit_index = commit,
        .writes = writes,
        .write_count = count,
    };
    assert_int_equal(stoa_journal_write(journal, &ready), STOA_OK);
}

static void assert_entry(uint32_t i, uint64_t slot, uint64_t round, const char *value,
                         bool chosen) {
    assert_true(i < persisted.entry_count);
    const struct stoa_paxos_entry *found = &persisted.entries[i];
    assert_int_equal(found->slot, slot);
    assert_int_equal(found->ballot.round, round);
    assert_int_equal(found->length, strlen(value));
    assert_memory_equal(found->value, value, found->length);
    assert_int_equal(found->chosen, chosen);
}

/* A fresh journal is empty; flushed state comes back after a restart, and a later write at
 * a slot replaces the earlier one. */
static void test_round_trip(void **state) {
    (void)state;
    open_journal(0);
    assert_int_equal(persisted.entry_count, 0);
    assert_int_equal(persisted.promised.round, 0);
    struct stoa_paxos_entry first[] = {entry(1, 3, 2, "a", false), entry(2, 3, 2, "bb", false)};
    write_batch(first, 2, 3, 0);
    struct stoa_paxos_entry second[] = {entry(2, 4, 3, "BB", true), entry(3, 4, 3, "", false)};
    write_batch(second, 2, 4, 2);
    assert_int_equal(stoa_journal_flush(journal), STOA_OK);
    reopen(0);
    assert_int_equal(persisted.promised.round, 4);
    assert_int_equal(persisted.promised.node_id, 2);
    assert_int_equal(persisted.commit_index, 2);
    assert_int_equal(persisted.entry_count, 3);
    assert_entry(0, 1, 3, "a", false);
    assert_entry(1, 2, 4, "BB", true);
    assert_entry(2, 3, 4, "", false);
}

/* What was not flushed is gone after a crash; what was flushed is not. */
static void test_unflushed_lost(void **state) {
    (void)state;
    open_journal(0);
    struct stoa_paxos_entry kept[] = {entry(1, 1, 1, "kept", false)};
    write_batch(kept, 1, 1, 0);
    assert_int_equal(stoa_journal_flush(journal), STOA_OK);
    struct stoa_paxos_entry lost[] = {entry(2, 9, 1, "lost", false)};
    write_batch(lost, 1, 9, 2);
    stoa_sim_env_crash(sim, STOA_SIM_CRASH_LOSE);
    reopen(0);
    assert_int_equal(persisted.promised.round, 1);
    assert_int_equal(persisted.commit_index, 0);
    assert_int_equal(persisted.entry_count, 1);
    assert_entry(0, 1, 1, "kept", false);
}

/* A promise never goes back, even if an older one is written after it. */
static void test_promise_never_lowers(void **state) {
    (void)state;
    open_journal(0);
    write_batch(NULL, 0, 5, 0);
    write_batch(NULL, 0, 4, 0);
    assert_int_equal(stoa_journal_flush(journal), STOA_OK);
    reopen(0);
    assert_int_equal(persisted.promised.round, 5);
}

/* Compaction keeps the promise, the commit index and the entries above the snapshot, drops
 * those at or below it, records the voters, and frees the old segments. */
static void test_compaction(void **state) {
    (void)state;
    open_journal(4096);
    char value[200];
    memset(value, 'v', sizeof(value) - 1);
    value[sizeof(value) - 1] = '\0';
    for (uint64_t slot = 1; slot <= 100; slot++) {
        struct stoa_paxos_entry one[] = {entry(slot, 2, 1, value, true)};
        write_batch(one, 1, slot == 1 ? 2 : 0, slot);
        assert_int_equal(stoa_journal_flush(journal), STOA_OK);
    }
    /* A core holding what the journal holds, as a restarted member's does, applied to 100. */
    reopen(4096);
    uint32_t members[] = {1, 2, 3};
    struct stoa_paxos_config config = {.self_id = 1,
                                       .members = members,
                                       .member_count = 3,
                                       .heartbeat_ticks = 5,
                                       .election_ticks_min = 30,
                                       .election_ticks_max = 60,
                                       .window_slots = 64,
                                       .log_slots = 1024,
                                       .seed = 7};
    struct stoa_paxos_persisted held = persisted;
    held.applied_index = 100;
    struct stoa_paxos *core = NULL;
    assert_int_equal(stoa_paxos_create(&config, &held, &core), STOA_OK);
    assert_int_equal(stoa_paxos_compact(core, 90), STOA_OK);
    assert_int_equal(stoa_journal_compact_from(journal, core, 90, members, 3), STOA_OK);
    stoa_paxos_destroy(core);
    reopen(4096);
    assert_int_equal(persisted.promised.round, 2);
    assert_int_equal(persisted.commit_index, 100);
    assert_int_equal(persisted.snapshot_index, 90);
    assert_int_equal(persisted.snapshot_member_count, 3);
    assert_int_equal(persisted.snapshot_members[2], 3);
    assert_int_equal(persisted.entry_count, 10);
    assert_entry(0, 91, 2, value, true);
    assert_entry(9, 100, 2, value, true);
    /* The old segments are gone: 100 records of ~230 bytes took several 4 KiB segments. */
    int segments = 0;
    struct stoa_env_file *probe = NULL;
    char name[64];
    for (int i = 1; i < 200; i++) {
        snprintf(name, sizeof(name), DIR "/%020d.log", i);
        if (env->ops->file_open(env, name, STOA_ENV_OPEN_READ, &probe) == STOA_OK) {
            env->ops->file_close(probe);
            segments++;
        }
    }
    assert_true(segments <= 2);
}

/* A torn tail is cut, keeping everything before it. */
static void test_torn_tail(void **state) {
    (void)state;
    open_journal(0);
    struct stoa_paxos_entry kept[] = {entry(1, 1, 1, "kept", true)};
    write_batch(kept, 1, 1, 1);
    assert_int_equal(stoa_journal_flush(journal), STOA_OK);
    for (uint64_t slot = 2; slot < 50; slot++) {
        struct stoa_paxos_entry more[] = {entry(slot, 1, 1, "more", false)};
        write_batch(more, 1, 0, 0);
    }
    stoa_sim_env_crash(sim, STOA_SIM_CRASH_TORN);
    reopen(0);
    assert_true(persisted.entry_count >= 1);
    assert_entry(0, 1, 1, "kept", true);
    assert_int_equal(persisted.commit_index, 1);
}

/* A record that does not decode (here: an unknown type, written straight into the log) stops
 * the open with an error naming the directory instead of guessing. */
static void test_bad_record_refused(void **state) {
    (void)state;
    open_journal(0);
    struct stoa_paxos_entry one[] = {entry(1, 1, 1, "x", false)};
    write_batch(one, 1, 1, 0);
    assert_int_equal(stoa_journal_flush(journal), STOA_OK);
    stoa_journal_close(journal);
    journal = NULL;
    struct stoa_wal_options wal_options = {.directory = DIR};
    struct stoa_wal *wal = NULL;
    struct stoa_wal_recovery recovery;
    assert_int_equal(stoa_wal_open(env, &wal_options, &wal, &recovery, NULL), STOA_OK);
    const uint8_t unknown[] = {99, 1, 2, 3};
    uint64_t index = 0;
    assert_int_equal(stoa_wal_append(wal, unknown, sizeof(unknown), &index), STOA_OK);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    stoa_wal_close(wal);
    struct stoa_journal_options options = {.directory = DIR};
    char error[256] = "";
    assert_int_equal(stoa_journal_open(env, &options, &journal, &persisted, error, sizeof(error)),
                     STOA_ERR_CORRUPT);
    assert_null(journal);
    assert_non_null(strstr(error, DIR));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unflushed_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_promise_never_lowers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_record_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
