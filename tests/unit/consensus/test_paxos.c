/* Shows that the Multi-Paxos core follows its rules handler by handler — promises and their
 * refusals, recovery by a new leader (adopt the chosen or highest-ballot value, fill holes
 * with no-ops, re-propose), accepts counted only when durable, commits applied only under the
 * ballot they name (a follower never applies an accepted value a later leader replaced),
 * restart from persisted state, leases and read index, the pipelining window, catch-up,
 * snapshots, membership changes and handover — on one core fed by hand or on a few cores
 * connected by the test harness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "paxos_harness.h"

static const uint32_t members3[] = {1, 2, 3};
static const uint32_t members5[] = {1, 2, 3, 4, 5};
static struct h_cluster cluster;

static struct stoa_paxos_ballot ballot(uint64_t round, uint32_t node) {
    return (struct stoa_paxos_ballot){.round = round, .node_id = node};
}

static struct stoa_paxos_message message(uint8_t type, uint32_t from, uint32_t to,
                                         struct stoa_paxos_ballot b) {
    return (struct stoa_paxos_message){.type = type, .from = from, .to = to, .ballot = b};
}

static struct stoa_paxos_entry entry(uint64_t slot, struct stoa_paxos_ballot b, const char *text,
                                     bool chosen) {
    return (struct stoa_paxos_entry){.slot = slot,
                                     .ballot = b,
                                     .kind = STOA_PAXOS_KIND_NORMAL,
                                     .chosen = chosen,
                                     .length = (uint32_t)strlen(text),
                                     .value = (const uint8_t *)text};
}

static uint64_t digest_of(const char *text) {
    return h_digest(STOA_PAXOS_KIND_NORMAL, (const uint8_t *)text, (uint32_t)strlen(text));
}

/* Steps one hand-made message into node id and runs its batches. */
static void feed(uint32_t id, const struct stoa_paxos_message *m) {
    assert_int_equal(stoa_paxos_step(h_node(&cluster, id)->paxos, m), STOA_OK);
    h_process(&cluster, id, H_CRASH_NONE);
}

/* Ticks one node n times, running its batches after each. */
static void tick_node(uint32_t id, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) {
        stoa_paxos_tick(h_node(&cluster, id)->paxos);
        h_process(&cluster, id, H_CRASH_NONE);
    }
}

/* A three-member cluster of which only node `id` runs; its messages are captured. */
static void solo(uint32_t id) {
    h_init(&cluster, 3, 7, false, members3);
    assert_int_equal(h_node_start(&cluster, id), STOA_OK);
}

/* Ticks the whole (captured) cluster until a ready leader exists; returns it. */
static uint32_t elect(uint32_t ticks_max) {
    for (uint32_t i = 0; i < ticks_max; i++) {
        h_tick(&cluster, NULL);
        uint32_t leader = h_leader(&cluster);
        if (leader != 0) {
            return leader;
        }
    }
    return 0;
}

static uint64_t propose(uint32_t id, const char *text) {
    uint64_t slot = 0;
    uint32_t hint = 0;
    int result = stoa_paxos_propose(h_node(&cluster, id)->paxos, STOA_PAXOS_KIND_NORMAL,
                                    (const uint8_t *)text, (uint32_t)strlen(text), &slot, &hint);
    assert_int_equal(result, STOA_OK);
    return slot;
}

static void start_all(uint32_t count, const uint32_t *members, uint64_t seed) {
    h_init(&cluster, count, seed, false, members);
    for (uint32_t id = 1; id <= count; id++) {
        assert_int_equal(h_node_start(&cluster, id), STOA_OK);
    }
}

/* Ballots order by round, then by node id, so the higher id wins a tie. */
static void test_ballot_order(void **state) {
    (void)state;
    assert_int_equal(stoa_paxos_ballot_compare(ballot(1, 3), ballot(2, 1)), -1);
    assert_int_equal(stoa_paxos_ballot_compare(ballot(2, 3), ballot(2, 1)), 1);
    assert_int_equal(stoa_paxos_ballot_compare(ballot(2, 1), ballot(2, 1)), 0);
}

/* A group of one elects itself, and its own accept counts only after the driver persisted
 * it: the entry is in one batch's writes and is applied only in a later batch; lease reads
 * stay valid while a chosen slot waits to be applied. */
static void test_single_node_commits_after_persist(void **state) {
    (void)state;
    static const uint32_t one[] = {1};
    h_init(&cluster, 1, 1, false, one);
    assert_int_equal(h_node_start(&cluster, 1), STOA_OK);
    struct stoa_paxos *paxos = h_node(&cluster, 1)->paxos;
    for (int i = 0; i < 30 && h_leader(&cluster) == 0; i++) {
        tick_node(1, 1);
    }
    assert_int_equal(h_leader(&cluster), 1);
    uint64_t slot = propose(1, "hello");
    struct stoa_paxos_ready ready;
    assert_true(stoa_paxos_ready(paxos, &ready));
    assert_int_equal(ready.write_count, 1);
    assert_int_equal(ready.writes[0].slot, slot);
    assert_int_equal(ready.apply_count, 0);
    stoa_paxos_advance(paxos);
    /* Chosen but not applied yet: answered to nobody, so lease reads go on meanwhile. */
    struct stoa_paxos_status status;
    stoa_paxos_status(paxos, &status);
    assert_int_equal(status.commit_index, slot);
    assert_int_equal(status.applied_index, slot - 1);
    assert_true(stoa_paxos_read_lease_valid(paxos));
    assert_true(stoa_paxos_ready(paxos, &ready));
    assert_true(ready.commit_changed);
    assert_int_equal(ready.commit_index, slot);
    assert_int_equal(ready.apply_count, 1);
    assert_memory_equal(ready.applies[0].value, "hello", 5);
    stoa_paxos_advance(paxos);
    h_free(&cluster);
}

/* With timeouts biased by rank, the highest id of three is elected, and all three apply
 * the same proposals in order. */
static void test_three_elect_highest_and_replicate(void **state) {
    (void)state;
    start_all(3, members3, 11);
    assert_int_equal(elect(100), 3);
    for (int i = 0; i < 10; i++) {
        char text[16];
        snprintf(text, sizeof(text), "v%d", i);
        propose(3, text);
    }
    for (int i = 0; i < 10; i++) {
        h_tick(&cluster, NULL);
    }
    for (uint32_t id = 1; id <= 3; id++) {
        assert_true(h_node(&cluster, id)->applied >= 10);
    }
    assert_false(cluster.violation);
    struct stoa_paxos_status status;
    stoa_paxos_status(h_node(&cluster, 3)->paxos, &status);
    assert_int_equal(status.member_count, 3);
    assert_int_equal(status.commit_index, status.last_slot);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(status.members[i].lag, 0);
    }
    h_free(&cluster);
}

/* On an idle group a follower learns that a slot is chosen as soon as the leader does,
 * without waiting for the next heartbeat: no tick runs between the proposal and the check. */
static void test_commit_reaches_followers_without_a_tick(void **state) {
    (void)state;
    start_all(3, members3, 12);
    assert_int_equal(elect(100), 3);
    for (int i = 0; i < 5; i++) {
        h_tick(&cluster, NULL); /* settle: every follower knows every slot so far */
    }
    uint64_t before[4];
    for (uint32_t id = 1; id <= 3; id++) {
        before[id] = h_node(&cluster, id)->applied;
    }
    propose(3, "prompt");
    h_flush(&cluster, NULL);
    for (uint32_t id = 1; id <= 3; id++) {
        assert_int_equal(h_node(&cluster, id)->applied, before[id] + 1);
    }
    assert_false(cluster.violation);
    h_free(&cluster);
}

/* PREPARE: a lower ballot is refused (NACK ballot); a higher one is refused while the lease
 * of a leader heard recently runs (NACK lease, here the lease a restart assumes), and then
 * promised; the PROMISE is sent only after the promise is persisted (same batch). */
static void test_on_prepare(void **state) {
    (void)state;
    solo(1);
    struct h_node *node = h_node(&cluster, 1);
    struct stoa_paxos_message prepare = message(STOA_PAXOS_MSG_PREPARE, 2, 1, ballot(5, 2));
    prepare.slot = 1;
    feed(1, &prepare);
    struct stoa_paxos_message out;
    struct stoa_paxos_entry entries[8];
    uint8_t *bytes = h_take(node, STOA_PAXOS_MSG_NACK, 2, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.flags, STOA_PAXOS_NACK_LEASE);
    stoa_free(bytes);
    /* Past election_ticks_min without a leader, the promise is given. */
    for (uint32_t i = 0; i < cluster.config.election_ticks_min; i++) {
        stoa_paxos_tick(node->paxos);
    }
    assert_int_equal(stoa_paxos_step(node->paxos, &prepare), STOA_OK);
    struct stoa_paxos_ready ready;
    assert_true(stoa_paxos_ready(node->paxos, &ready));
    assert_true(ready.promised_changed);
    assert_int_equal(ready.promised.round, 5);
    assert_int_equal(ready.message_count, 1);
    assert_int_equal(ready.messages[0].type, STOA_PAXOS_MSG_PROMISE);
    assert_true(ready.messages[0].after_persist);
    assert_true((ready.messages[0].flags & STOA_PAXOS_FLAG_LAST) != 0);
    stoa_paxos_advance(node->paxos);
    /* A lower ballot now gets NACK ballot carrying the promised one. */
    struct stoa_paxos_message lower = message(STOA_PAXOS_MSG_PREPARE, 3, 1, ballot(4, 3));
    lower.slot = 1;
    feed(1, &lower);
    bytes = h_take(node, STOA_PAXOS_MSG_NACK, 3, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.flags, STOA_PAXOS_NACK_BALLOT);
    assert_int_equal(out.ballot.round, 5);
    assert_int_equal(out.round, 4);
    stoa_free(bytes);
    h_free(&cluster);
}

/* ACCEPT at a follower: stored under the leader's ballot, persisted, then ACCEPTED (sent
 * only after the fsync); an ACCEPT below the promise gets a NACK; the PROMISE for a later
 * PREPARE reports the accepted entries from the slot asked for, with their ballots. */
static void test_on_accept_and_promise_reports_entries(void **state) {
    (void)state;
    solo(1);
    struct h_node *node = h_node(&cluster, 1);
    struct stoa_paxos_entry sent[3] = {entry(1, ballot(1, 2), "a", false),
                                       entry(2, ballot(1, 2), "b", false),
                                       entry(3, ballot(1, 2), "c", false)};
    struct stoa_paxos_message accept = message(STOA_PAXOS_MSG_ACCEPT, 2, 1, ballot(1, 2));
    accept.slot = 1;
    accept.entry_count = 3;
    accept.entries = sent;
    accept.commit_index = 1;
    assert_int_equal(stoa_paxos_step(node->paxos, &accept), STOA_OK);
    struct stoa_paxos_ready ready;
    assert_true(stoa_paxos_ready(node->paxos, &ready));
    assert_int_equal(ready.write_count, 3);
    assert_int_equal(ready.message_count, 1);
    assert_int_equal(ready.messages[0].type, STOA_PAXOS_MSG_ACCEPTED);
    assert_true(ready.messages[0].after_persist);
    assert_int_equal(ready.messages[0].slot, 1);
    assert_int_equal(ready.messages[0].slot_last, 3);
    /* Slot 1 is committed under the same ballot: applied (after the persist). */
    assert_int_equal(ready.apply_count, 1);
    h_persist(node, &ready);
    stoa_paxos_advance(node->paxos);
    /* Below the promise: refused. */
    struct stoa_paxos_message stale = message(STOA_PAXOS_MSG_ACCEPT, 3, 1, ballot(0, 3));
    stale.slot = 4;
    feed(1, &stale);
    struct stoa_paxos_message out;
    static struct stoa_paxos_entry entries[STOA_PAXOS_MESSAGE_ENTRIES_MAX];
    uint8_t *bytes = h_take(node, STOA_PAXOS_MSG_NACK, 3, &out, entries);
    assert_non_null(bytes);
    stoa_free(bytes);
    /* A candidate asks from slot 2 once the lease has passed. */
    tick_node(1, cluster.config.election_ticks_min + 1);
    h_sent_clear(node);
    struct stoa_paxos_message prepare = message(STOA_PAXOS_MSG_PREPARE, 3, 1, ballot(2, 3));
    prepare.slot = 2;
    feed(1, &prepare);
    bytes = h_take(node, STOA_PAXOS_MSG_PROMISE, 3, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.entry_count, 2);
    assert_int_equal(out.entries[0].slot, 2);
    assert_int_equal(out.entries[0].ballot.round, 1);
    assert_false(out.entries[0].chosen);
    assert_int_equal(out.entries[1].slot, 3);
    assert_int_equal(out.commit_index, 1);
    assert_true((out.flags & STOA_PAXOS_FLAG_LAST) != 0);
    stoa_free(bytes);
    h_free(&cluster);
}

/* Makes node 3 (alone) a candidate and returns its ballot. */
static struct stoa_paxos_ballot make_candidate(void) {
    solo(3);
    struct h_node *node = h_node(&cluster, 3);
    for (int i = 0; i < 100 && h_role(&cluster, 3) != STOA_PAXOS_CANDIDATE; i++) {
        tick_node(3, 1);
    }
    assert_int_equal(h_role(&cluster, 3), STOA_PAXOS_CANDIDATE);
    struct stoa_paxos_message out;
    struct stoa_paxos_entry entries[4];
    uint8_t *bytes = h_take(node, STOA_PAXOS_MSG_PREPARE, 1, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.slot, 1);
    stoa_free(bytes);
    h_sent_clear(node);
    return out.ballot;
}

/* Recovery: from a quorum of promises the new leader adopts, per slot, the value with the
 * highest ballot (slot 1), keeps a value only one acceptor reported (slot 3), fills the hole
 * (slot 2) with a no-op, re-proposes all three under its own ballot, and is not ready (no
 * reads) until they are chosen; a proposal meanwhile goes after them. */
static void test_recovery_adopts_fills_reproposes(void **state) {
    (void)state;
    struct stoa_paxos_ballot mine = make_candidate();
    struct h_node *node = h_node(&cluster, 3);
    struct stoa_paxos_entry from1[2] = {entry(1, ballot(1, 1), "old", false),
                                        entry(3, ballot(1, 1), "three", false)};
    struct stoa_paxos_message promise1 = message(STOA_PAXOS_MSG_PROMISE, 1, 3, mine);
    promise1.slot = 1;
    promise1.slot_last = 3;
    promise1.flags = STOA_PAXOS_FLAG_LAST;
    promise1.entry_count = 2;
    promise1.entries = from1;
    feed(3, &promise1);
    assert_int_equal(h_role(&cluster, 3), STOA_PAXOS_LEADER);
    /* A quorum of 2: the leader runs phase 2 with what it has. Check its ACCEPT to node 2. */
    struct stoa_paxos_message out;
    static struct stoa_paxos_entry entries[STOA_PAXOS_MESSAGE_ENTRIES_MAX];
    uint8_t *bytes = h_take(node, STOA_PAXOS_MSG_ACCEPT, 2, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.slot, 1);
    assert_int_equal(out.entry_count, 3);
    assert_int_equal(stoa_paxos_ballot_compare(out.ballot, mine), 0);
    assert_memory_equal(out.entries[0].value, "old", 3);
    assert_int_equal(out.entries[1].kind, STOA_PAXOS_KIND_NOOP);
    assert_memory_equal(out.entries[2].value, "three", 5);
    for (uint32_t i = 0; i < 3; i++) {
        assert_int_equal(stoa_paxos_ballot_compare(out.entries[i].ballot, mine), 0);
    }
    stoa_free(bytes);
    uint32_t hint = 0;
    assert_int_equal(stoa_paxos_read_index(node->paxos, 1, &hint), STOA_ERR_BUSY);
    assert_false(stoa_paxos_read_lease_valid(node->paxos));
    assert_int_equal(propose(3, "new"), 4);
    h_free(&cluster);
}

/* A new leader sends nothing under its ballot — not even ACCEPTs, which otherwise may leave
 * before the fsync — until its promise of that ballot is on disk: a crash before that fsync
 * could otherwise let the restarted node use the same ballot again for other values. */
static void test_new_leader_waits_for_its_promise(void **state) {
    (void)state;
    struct stoa_paxos_ballot mine = make_candidate();
    struct stoa_paxos *paxos = h_node(&cluster, 3)->paxos;
    struct stoa_paxos_message promise = message(STOA_PAXOS_MSG_PROMISE, 1, 3, mine);
    promise.slot = 1;
    promise.slot_last = 0;
    promise.flags = STOA_PAXOS_FLAG_LAST;
    assert_int_equal(stoa_paxos_step(paxos, &promise), STOA_OK);
    uint64_t slot;
    assert_int_equal(
        stoa_paxos_propose(paxos, STOA_PAXOS_KIND_NORMAL, (const uint8_t *)"v", 1, &slot, NULL),
        STOA_OK);
    struct stoa_paxos_ready ready;
    assert_true(stoa_paxos_ready(paxos, &ready));
    assert_true(ready.promised_changed);
    assert_int_equal(stoa_paxos_ballot_compare(ready.promised, mine), 0);
    uint32_t accepts = 0;
    for (uint32_t i = 0; i < ready.message_count; i++) {
        assert_true(ready.messages[i].after_persist);
        accepts += ready.messages[i].type == STOA_PAXOS_MSG_ACCEPT ? 1u : 0u;
    }
    assert_int_equal(accepts, 2);
    stoa_paxos_advance(paxos);
    assert_int_equal(
        stoa_paxos_propose(paxos, STOA_PAXOS_KIND_NORMAL, (const uint8_t *)"w", 1, &slot, NULL),
        STOA_OK);
    assert_true(stoa_paxos_ready(paxos, &ready));
    for (uint32_t i = 0; i < ready.message_count; i++) {
        if (ready.messages[i].type == STOA_PAXOS_MSG_ACCEPT) {
            assert_false(ready.messages[i].after_persist);
        }
    }
    stoa_paxos_advance(paxos);
    h_free(&cluster);
}

/* Recovery picks the highest ballot across promises, and a value reported as chosen wins
 * over a higher-ballot unchosen one. */
static void test_recovery_highest_ballot_and_chosen(void **state) {
    (void)state;
    static const uint32_t five[] = {1, 2, 3, 4, 5};
    h_init(&cluster, 5, 3, false, five);
    assert_int_equal(h_node_start(&cluster, 5), STOA_OK);
    struct h_node *node = h_node(&cluster, 5);
    for (int i = 0; i < 100 && h_role(&cluster, 5) != STOA_PAXOS_CANDIDATE; i++) {
        tick_node(5, 1);
    }
    struct stoa_paxos_message out;
    static struct stoa_paxos_entry entries[STOA_PAXOS_MESSAGE_ENTRIES_MAX];
    uint8_t *bytes = h_take(node, STOA_PAXOS_MSG_PREPARE, 1, &out, entries);
    assert_non_null(bytes);
    struct stoa_paxos_ballot mine = out.ballot;
    stoa_free(bytes);
    h_sent_clear(node);
    struct stoa_paxos_entry e1[2] = {entry(1, ballot(1, 1), "low", false),
                                     entry(2, ballot(3, 4), "higher", false)};
    struct stoa_paxos_entry e2[2] = {entry(1, ballot(2, 2), "high", false),
                                     entry(2, ballot(1, 1), "chosen", true)};
    struct stoa_paxos_message p1 = message(STOA_PAXOS_MSG_PROMISE, 1, 5, mine);
    p1.slot = 1;
    p1.slot_last = 2;
    p1.flags = STOA_PAXOS_FLAG_LAST;
    p1.entry_count = 2;
    p1.entries = e1;
    struct stoa_paxos_message p2 = p1;
    p2.from = 2;
    p2.entries = e2;
    feed(5, &p1);
    assert_int_equal(h_role(&cluster, 5), STOA_PAXOS_CANDIDATE);
    feed(5, &p2);
    assert_int_equal(h_role(&cluster, 5), STOA_PAXOS_LEADER);
    bytes = h_take(node, STOA_PAXOS_MSG_ACCEPT, 3, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.entry_count, 2);
    assert_memory_equal(out.entries[0].value, "high", 4);
    assert_memory_equal(out.entries[1].value, "chosen", 6);
    stoa_free(bytes);
    h_free(&cluster);
}

/* The central safety case. Follower 1 accepted "X" at slot 1 from leader 2 (ballot (1,2)),
 * but "X" was never chosen. Leader 3 (ballot (2,3)), elected by a quorum without node 1,
 * filled slot 1 with "Y", which was chosen. When leader 3's commit message says "slot 1 is
 * chosen under (2,3)", node 1 must not apply its "X": it asks for catch-up, and applies "Y". */
static void test_accepted_not_chosen_is_never_applied(void **state) {
    (void)state;
    solo(1);
    struct h_node *node = h_node(&cluster, 1);
    struct stoa_paxos_entry x = entry(1, ballot(1, 2), "X", false);
    struct stoa_paxos_message accept = message(STOA_PAXOS_MSG_ACCEPT, 2, 1, ballot(1, 2));
    accept.slot = 1;
    accept.entry_count = 1;
    accept.entries = &x;
    feed(1, &accept);
    assert_int_equal(node->disk.entries[1].entry.ballot.round, 1);
    assert_int_equal(node->applied, 0);
    h_sent_clear(node);
    /* Leader 3's heartbeat: commit 1 under (2,3). */
    struct stoa_paxos_message heartbeat = message(STOA_PAXOS_MSG_HEARTBEAT, 3, 1, ballot(2, 3));
    heartbeat.commit_index = 1;
    heartbeat.round = 1;
    feed(1, &heartbeat);
    assert_int_equal(node->applied, 0);
    assert_int_equal(cluster.chosen[1], 0);
    struct stoa_paxos_message out;
    struct stoa_paxos_entry entries[4];
    uint8_t *bytes = h_take(node, STOA_PAXOS_MSG_CATCHUP_REQUEST, 3, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.slot, 1);
    stoa_free(bytes);
    /* The same holds for an ACCEPT of leader 3 carrying the commit index for another slot. */
    struct stoa_paxos_entry two = entry(2, ballot(2, 3), "Z", false);
    struct stoa_paxos_message accept3 = message(STOA_PAXOS_MSG_ACCEPT, 3, 1, ballot(2, 3));
    accept3.slot = 2;
    accept3.entry_count = 1;
    accept3.entries = &two;
    accept3.commit_index = 2;
    feed(1, &accept3);
    assert_int_equal(node->applied, 0);
    /* Catch-up brings the chosen "Y" (and "Z"); only they are applied. */
    struct stoa_paxos_entry chosen[2] = {entry(1, ballot(2, 3), "Y", true),
                                         entry(2, ballot(2, 3), "Z", true)};
    struct stoa_paxos_message catchup = message(STOA_PAXOS_MSG_CATCHUP, 3, 1, ballot(2, 3));
    catchup.slot = 1;
    catchup.slot_last = 2;
    catchup.commit_index = 2;
    catchup.entry_count = 2;
    catchup.entries = chosen;
    feed(1, &catchup);
    assert_int_equal(node->applied, 2);
    assert_int_equal(node->digests[1], digest_of("Y"));
    assert_int_equal(node->digests[2], digest_of("Z"));
    assert_true(node->disk.entries[1].entry.chosen);
    h_free(&cluster);
}

/* Restart: the promise, the entries and the commit index come back from the persisted
 * state; a ballot below the persisted promise is refused after the restart, and applies
 * resume after the snapshot index given. */
static void test_restart_from_persisted_state(void **state) {
    (void)state;
    solo(1);
    struct h_node *node = h_node(&cluster, 1);
    struct stoa_paxos_entry sent[2] = {entry(1, ballot(4, 3), "a", false),
                                       entry(2, ballot(4, 3), "b", false)};
    struct stoa_paxos_message accept = message(STOA_PAXOS_MSG_ACCEPT, 3, 1, ballot(4, 3));
    accept.slot = 1;
    accept.entry_count = 2;
    accept.entries = sent;
    accept.commit_index = 1;
    feed(1, &accept);
    assert_int_equal(node->applied, 1);
    h_node_crash(&cluster, 1);
    assert_int_equal(h_node_start(&cluster, 1), STOA_OK);
    struct stoa_paxos_status status;
    stoa_paxos_status(node->paxos, &status);
    assert_int_equal(status.promised.round, 4);
    assert_int_equal(status.commit_index, 1);
    assert_int_equal(status.last_slot, 2);
    /* The state machine restarts from snapshot 0: slot 1 is applied again. */
    h_process(&cluster, 1, H_CRASH_NONE);
    assert_int_equal(node->applied, 1);
    struct stoa_paxos_message stale = message(STOA_PAXOS_MSG_ACCEPT, 2, 1, ballot(3, 2));
    stale.slot = 2;
    struct stoa_paxos_entry other = entry(2, ballot(3, 2), "other", false);
    stale.entry_count = 1;
    stale.entries = &other;
    feed(1, &stale);
    assert_int_equal(node->disk.entries[2].entry.ballot.round, 4);
    /* A state that names a commit index beyond the entries held is refused. */
    h_node_crash(&cluster, 1);
    node->disk.commit_index = 5;
    assert_int_equal(h_node_start(&cluster, 1), STOA_ERR_INVALID);
    h_free(&cluster);
}

/* A promise not yet persisted when the node crashes was never sent (PROMISE waits for the
 * batch's fsync), so forgetting it is harmless; a persisted one survives. */
static void test_unpersisted_promise_never_left(void **state) {
    (void)state;
    solo(1);
    struct h_node *node = h_node(&cluster, 1);
    tick_node(1, cluster.config.election_ticks_min + 1);
    h_sent_clear(node);
    struct stoa_paxos_message prepare = message(STOA_PAXOS_MSG_PREPARE, 2, 1, ballot(9, 2));
    prepare.slot = 1;
    assert_int_equal(stoa_paxos_step(node->paxos, &prepare), STOA_OK);
    h_process(&cluster, 1, H_CRASH_AFTER_PERSIST);
    assert_int_equal(node->sent_count, 0);
    assert_int_equal(node->disk.promised.round, 9);
    assert_int_equal(h_node_start(&cluster, 1), STOA_OK);
    struct stoa_paxos_status status;
    stoa_paxos_status(node->paxos, &status);
    assert_int_equal(status.promised.round, 9);
    h_free(&cluster);
}

/* Leases: a leader's lease read is valid while a quorum acknowledged a recent round; cut
 * off from both followers, it stops serving lease reads before either follower may promise
 * another candidate (even one told to campaign at once), and steps down after an election
 * timeout without quorum contact. */
static void test_lease_expires_on_quorum_loss(void **state) {
    (void)state;
    start_all(3, members3, 21);
    uint32_t leader = elect(100);
    assert_int_not_equal(leader, 0);
    for (int i = 0; i < 4; i++) {
        h_tick(&cluster, NULL);
    }
    struct stoa_paxos *paxos = h_node(&cluster, leader)->paxos;
    assert_true(stoa_paxos_read_lease_valid(paxos));
    static bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1];
    memset(cut, 0, sizeof(cut));
    for (uint32_t a = 1; a <= 3; a++) {
        cut[leader][a] = true;
        cut[a][leader] = true;
    }
    /* A follower is told to campaign at once (Nomos's "prepare"): it must wait for the
     * lease it granted, and the other follower must refuse it meanwhile. */
    uint32_t eager = leader == 1 ? 2 : 1;
    stoa_paxos_campaign(h_node(&cluster, eager)->paxos);
    uint32_t lease_end = 0;
    uint32_t new_leader_at = 0;
    uint32_t step_down_at = 0;
    for (uint32_t t = 1; t <= 60; t++) {
        h_tick(&cluster, cut);
        if (lease_end == 0 && !stoa_paxos_read_lease_valid(paxos)) {
            lease_end = t;
        }
        for (uint32_t id = 1; id <= 3; id++) {
            if (id != leader && new_leader_at == 0 && h_role(&cluster, id) == STOA_PAXOS_LEADER) {
                new_leader_at = t;
                /* Two leaders may exist; only one may serve lease reads. */
                assert_false(stoa_paxos_read_lease_valid(paxos));
            }
        }
        if (step_down_at == 0 && h_role(&cluster, leader) != STOA_PAXOS_LEADER) {
            step_down_at = t;
        }
    }
    assert_true(lease_end > 0 && lease_end <= cluster.config.election_ticks_min);
    assert_true(new_leader_at > lease_end);
    assert_true(step_down_at > 0 && step_down_at <= cluster.config.election_ticks_max + 1);
    h_free(&cluster);
}

/* Read index: the leader records its commit index, confirms leadership with one heartbeat
 * round acknowledged by a quorum, then hands the read out; cut off from its followers it
 * cannot, and the read fails when it steps down. A follower answers with a leader hint. */
static void test_read_index(void **state) {
    (void)state;
    start_all(3, members3, 5);
    uint32_t leader = elect(100);
    assert_int_not_equal(leader, 0);
    propose(leader, "x");
    h_tick(&cluster, NULL);
    struct h_node *node = h_node(&cluster, leader);
    struct stoa_paxos_status status;
    stoa_paxos_status(node->paxos, &status);
    assert_int_equal(stoa_paxos_read_index(node->paxos, 42, NULL), STOA_OK);
    h_flush(&cluster, NULL);
    assert_int_equal(node->read_count, 1);
    assert_int_equal(node->reads[0].request_id, 42);
    assert_int_equal(node->reads[0].index, status.commit_index);
    uint32_t follower = leader == 1 ? 2 : 1;
    uint32_t hint = 0;
    assert_int_equal(stoa_paxos_read_index(h_node(&cluster, follower)->paxos, 1, &hint),
                     STOA_ERR_NOT_LEADER);
    assert_int_equal(hint, leader);
    static bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1];
    memset(cut, 0, sizeof(cut));
    for (uint32_t a = 1; a <= 3; a++) {
        cut[leader][a] = true;
        cut[a][leader] = true;
    }
    assert_int_equal(stoa_paxos_read_index(node->paxos, 43, NULL), STOA_OK);
    for (int t = 0; t < 40; t++) {
        h_tick(&cluster, cut);
    }
    assert_int_equal(node->read_count, 1);
    assert_int_equal(node->read_failed_count, 1);
    assert_int_equal(node->reads_failed[0], 43);
    h_free(&cluster);
}

/* Pipelining: with its followers silent, a leader accepts exactly window_slots proposals
 * above its commit index and then refuses with FULL; no ACCEPT goes past the window. */
static void test_pipelining_window(void **state) {
    (void)state;
    start_all(3, members3, 8);
    uint32_t leader = elect(100);
    assert_int_not_equal(leader, 0);
    struct h_node *node = h_node(&cluster, leader);
    struct stoa_paxos_status status;
    stoa_paxos_status(node->paxos, &status);
    uint64_t commit = status.commit_index;
    uint32_t accepted = 0;
    uint64_t slot = 0;
    while (stoa_paxos_propose(node->paxos, STOA_PAXOS_KIND_NORMAL, (const uint8_t *)"v", 1, &slot,
                              NULL) == STOA_OK) {
        accepted++;
        assert_true(accepted <= cluster.config.window_slots);
    }
    assert_int_equal(accepted, cluster.config.window_slots - (status.last_slot - commit));
    assert_int_equal(stoa_paxos_propose(node->paxos, STOA_PAXOS_KIND_NORMAL, (const uint8_t *)"v",
                                        1, &slot, NULL),
                     STOA_ERR_FULL);
    h_process(&cluster, leader, H_CRASH_NONE);
    for (uint32_t i = 0; i < node->sent_count; i++) {
        struct stoa_paxos_message out;
        static struct stoa_paxos_entry entries[STOA_PAXOS_MESSAGE_ENTRIES_MAX];
        assert_int_equal(stoa_paxos_message_decode(node->sent[i].bytes, node->sent[i].length, &out,
                                                   entries, STOA_PAXOS_MESSAGE_ENTRIES_MAX),
                         STOA_OK);
        if (out.type == STOA_PAXOS_MSG_ACCEPT) {
            assert_true(out.slot_last <= commit + cluster.config.window_slots);
        }
    }
    /* Once the followers hear it, the window drains and proposals go on. */
    h_flush(&cluster, NULL);
    assert_int_equal(stoa_paxos_propose(node->paxos, STOA_PAXOS_KIND_NORMAL, (const uint8_t *)"v",
                                        1, &slot, NULL),
                     STOA_OK);
    uint32_t hint = 0;
    uint32_t follower = leader == 1 ? 2 : 1;
    assert_int_equal(stoa_paxos_propose(h_node(&cluster, follower)->paxos, STOA_PAXOS_KIND_NORMAL,
                                        (const uint8_t *)"v", 1, &slot, &hint),
                     STOA_ERR_NOT_LEADER);
    assert_int_equal(hint, leader);
    h_free(&cluster);
}

/* Catch-up: a follower cut off while the others commit 200 slots (more than the window,
 * so ACCEPTs alone cannot bring it back) gets the chosen entries by catch-up after healing
 * and applies the same values. */
static void test_catchup_after_partition(void **state) {
    (void)state;
    start_all(3, members3, 9);
    uint32_t leader = elect(100);
    assert_int_equal(leader, 3);
    static bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1];
    memset(cut, 0, sizeof(cut));
    cut[3][1] = cut[1][3] = cut[2][1] = cut[1][2] = true;
    for (int i = 0; i < 200; i++) {
        char text[16];
        snprintf(text, sizeof(text), "w%d", i);
        uint64_t slot;
        while (stoa_paxos_propose(h_node(&cluster, 3)->paxos, STOA_PAXOS_KIND_NORMAL,
                                  (const uint8_t *)text, (uint32_t)strlen(text), &slot,
                                  NULL) == STOA_ERR_FULL) {
            h_tick(&cluster, cut);
        }
    }
    for (int t = 0; t < 10; t++) {
        h_tick(&cluster, cut);
    }
    assert_true(h_node(&cluster, 2)->applied >= 200);
    assert_true(h_node(&cluster, 1)->applied < 10);
    for (int t = 0; t < 60; t++) {
        h_tick(&cluster, NULL);
    }
    assert_int_equal(h_node(&cluster, 1)->applied, h_node(&cluster, 3)->applied);
    assert_false(cluster.violation);
    h_free(&cluster);
}

/* Snapshot path: after the others compact past what a cut-off follower holds, the leader
 * asks its driver to send that follower a snapshot; once installed, the follower catches up
 * from there and converges. */
static void test_snapshot_needed(void **state) {
    (void)state;
    start_all(3, members3, 10);
    assert_int_equal(elect(100), 3);
    static bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1];
    memset(cut, 0, sizeof(cut));
    cut[3][1] = cut[1][3] = cut[2][1] = cut[1][2] = true;
    for (int i = 0; i < 100; i++) {
        uint64_t slot;
        while (stoa_paxos_propose(h_node(&cluster, 3)->paxos, STOA_PAXOS_KIND_NORMAL,
                                  (const uint8_t *)"s", 1, &slot, NULL) == STOA_ERR_FULL) {
            h_tick(&cluster, cut);
        }
    }
    for (int t = 0; t < 10; t++) {
        h_tick(&cluster, cut);
    }
    h_snapshot_take(&cluster, 3);
    h_snapshot_take(&cluster, 2);
    struct stoa_paxos_status status;
    stoa_paxos_status(h_node(&cluster, 3)->paxos, &status);
    assert_true(status.snapshot_index >= 100);
    assert_int_equal(status.first_slot, status.snapshot_index + 1);
    for (int t = 0; t < 40; t++) {
        h_tick(&cluster, NULL);
    }
    assert_int_equal(h_node(&cluster, 3)->snapshot_requests, 1);
    assert_int_equal(h_node(&cluster, 1)->applied, h_node(&cluster, 3)->applied);
    assert_int_equal(h_node(&cluster, 1)->disk.snapshot_index, status.snapshot_index);
    assert_false(cluster.violation);
    h_free(&cluster);
}

/* Membership: a fourth node joins through a CONFIG entry (quorum becomes 3 of 4), catches
 * up, and counts; a second change waits until the first is chosen; then a member is
 * removed and the group of three goes on. */
static void test_membership_add_remove(void **state) {
    (void)state;
    static const uint32_t four[] = {1, 2, 3, 4};
    h_init(&cluster, 4, 12, false, four);
    cluster.config.member_count = 3; /* node 4 starts outside the group */
    for (uint32_t id = 1; id <= 4; id++) {
        assert_int_equal(h_node_start(&cluster, id), STOA_OK);
    }
    uint32_t leader = elect(100);
    assert_int_equal(leader, 3);
    struct stoa_paxos *paxos = h_node(&cluster, 3)->paxos;
    uint8_t change[STOA_PAXOS_CONFIG_CHANGE_BYTES];
    stoa_paxos_config_change_encode(STOA_PAXOS_CONFIG_ADD, 4, change);
    uint64_t slot;
    assert_int_equal(
        stoa_paxos_propose(paxos, STOA_PAXOS_KIND_CONFIG, change, sizeof(change), &slot, NULL),
        STOA_OK);
    uint8_t second[STOA_PAXOS_CONFIG_CHANGE_BYTES];
    stoa_paxos_config_change_encode(STOA_PAXOS_CONFIG_REMOVE, 1, second);
    assert_int_equal(
        stoa_paxos_propose(paxos, STOA_PAXOS_KIND_CONFIG, second, sizeof(second), &slot, NULL),
        STOA_ERR_BUSY);
    for (int t = 0; t < 10; t++) {
        h_tick(&cluster, NULL);
    }
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX];
    assert_int_equal(stoa_paxos_members(paxos, ids, STOA_PAXOS_MEMBERS_MAX), 4);
    assert_int_equal(stoa_paxos_members(h_node(&cluster, 4)->paxos, ids, STOA_PAXOS_MEMBERS_MAX),
                     4);
    /* With 4 voters the quorum is 3: nodes 3 and 4 alone cannot choose. */
    static bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1];
    memset(cut, 0, sizeof(cut));
    cut[3][1] = cut[1][3] = cut[3][2] = cut[2][3] = true;
    uint64_t before = h_node(&cluster, 4)->applied;
    propose(3, "needs three");
    for (int t = 0; t < 6; t++) {
        h_tick(&cluster, cut);
    }
    assert_int_equal(h_node(&cluster, 4)->applied, before);
    for (int t = 0; t < 6; t++) {
        h_tick(&cluster, NULL);
    }
    assert_true(h_node(&cluster, 4)->applied > before);
    leader = h_leader(&cluster);
    assert_int_not_equal(leader, 0);
    paxos = h_node(&cluster, leader)->paxos;
    assert_int_equal(
        stoa_paxos_propose(paxos, STOA_PAXOS_KIND_CONFIG, second, sizeof(second), &slot, NULL),
        STOA_OK);
    for (int t = 0; t < 10; t++) {
        h_tick(&cluster, NULL);
    }
    assert_int_equal(stoa_paxos_members(paxos, ids, STOA_PAXOS_MEMBERS_MAX), 3);
    propose(leader, "after");
    for (int t = 0; t < 10; t++) {
        h_tick(&cluster, NULL);
    }
    assert_int_equal(h_node(&cluster, 2)->applied, h_node(&cluster, leader)->applied);
    assert_false(cluster.violation);
    h_free(&cluster);
}

/* Handover: the leader transfers to node 1, which campaigns at once (past the followers'
 * leases, by the transfer flag) and leads; the old leader stopped lease reads meanwhile. */
static void test_transfer(void **state) {
    (void)state;
    start_all(3, members3, 13);
    assert_int_equal(elect(100), 3);
    for (int t = 0; t < 4; t++) {
        h_tick(&cluster, NULL);
    }
    struct stoa_paxos *old = h_node(&cluster, 3)->paxos;
    assert_true(stoa_paxos_read_lease_valid(old));
    assert_int_equal(stoa_paxos_transfer(old, 1), STOA_OK);
    assert_false(stoa_paxos_read_lease_valid(old));
    h_flush(&cluster, NULL);
    assert_int_equal(h_role(&cluster, 1), STOA_PAXOS_LEADER);
    assert_int_not_equal(h_role(&cluster, 3), STOA_PAXOS_LEADER);
    for (int t = 0; t < 4; t++) {
        h_tick(&cluster, NULL);
    }
    assert_int_equal(h_leader(&cluster), 1);
    propose(1, "from one");
    for (int t = 0; t < 4; t++) {
        h_tick(&cluster, NULL);
    }
    assert_int_equal(h_node(&cluster, 3)->applied, h_node(&cluster, 1)->applied);
    h_free(&cluster);
}

/* Preferred leader: when node 3 comes back while node 2 leads, node 2 hands over to it
 * once it is caught up, and only once (no storm). */
static void test_highest_id_takes_over_after_return(void **state) {
    (void)state;
    start_all(3, members3, 14);
    assert_int_equal(elect(100), 3);
    h_node_crash(&cluster, 3);
    uint32_t leader = elect(100);
    assert_int_equal(leader, 2);
    assert_int_equal(h_node_start(&cluster, 3), STOA_OK);
    uint32_t changes = 0;
    uint32_t last = 2;
    for (int t = 0; t < 200; t++) {
        h_tick(&cluster, NULL);
        uint32_t now = h_leader(&cluster);
        if (now != 0 && now != last) {
            changes++;
            last = now;
        }
    }
    assert_int_equal(last, 3);
    assert_int_equal(changes, 1);
    assert_false(cluster.violation);
    h_free(&cluster);
}

/* A candidate behind the acceptors' compacted log is told so (NACK behind) and gives up,
 * so the node with the fuller log leads. */
static void test_candidate_behind_gives_up(void **state) {
    (void)state;
    solo(1);
    struct h_node *node = h_node(&cluster, 1);
    struct stoa_paxos_entry sent[2] = {entry(1, ballot(1, 2), "a", false),
                                       entry(2, ballot(1, 2), "b", false)};
    struct stoa_paxos_message accept = message(STOA_PAXOS_MSG_ACCEPT, 2, 1, ballot(1, 2));
    accept.slot = 1;
    accept.entry_count = 2;
    accept.entries = sent;
    accept.commit_index = 2;
    feed(1, &accept);
    h_snapshot_take(&cluster, 1);
    tick_node(1, cluster.config.election_ticks_max + 1);
    h_sent_clear(node);
    struct stoa_paxos_message prepare = message(STOA_PAXOS_MSG_PREPARE, 3, 1, ballot(5, 3));
    prepare.slot = 1;
    feed(1, &prepare);
    struct stoa_paxos_message out;
    struct stoa_paxos_entry entries[4];
    uint8_t *bytes = h_take(node, STOA_PAXOS_MSG_NACK, 3, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.flags, STOA_PAXOS_NACK_BEHIND);
    assert_int_equal(out.commit_index, 2);
    assert_int_equal(node->snapshot_requests, 0); /* a voter campaigns itself instead */
    stoa_free(bytes);
    h_free(&cluster);
}

/* A node that is no voter (here not among the members; in life a member that removed
 * itself) and compacted what a candidate asks for also sends the candidate its snapshot: it
 * never campaigns, so no leader would send the candidate what it lacks, and the group could
 * stay without a leader (stoa-sim, seed 4546). */
static void test_non_voter_ahead_sends_snapshot(void **state) {
    (void)state;
    static const uint32_t four[] = {1, 2, 3, 4};
    h_init(&cluster, 4, 7, false, four);
    cluster.config.member_count = 3; /* the group is 1, 2, 3: node 4 is no voter */
    assert_int_equal(h_node_start(&cluster, 4), STOA_OK);
    struct h_node *node = h_node(&cluster, 4);
    struct stoa_paxos_entry sent[2] = {entry(1, ballot(1, 2), "a", false),
                                       entry(2, ballot(1, 2), "b", false)};
    struct stoa_paxos_message accept = message(STOA_PAXOS_MSG_ACCEPT, 2, 4, ballot(1, 2));
    accept.slot = 1;
    accept.entry_count = 2;
    accept.entries = sent;
    accept.commit_index = 2;
    feed(4, &accept);
    h_snapshot_take(&cluster, 4);
    tick_node(4, cluster.config.election_ticks_max + 1);
    h_sent_clear(node);
    assert_int_equal(node->snapshot_requests, 0);
    struct stoa_paxos_message prepare = message(STOA_PAXOS_MSG_PREPARE, 3, 4, ballot(5, 3));
    prepare.slot = 1;
    feed(4, &prepare);
    struct stoa_paxos_message out;
    struct stoa_paxos_entry entries[4];
    uint8_t *bytes = h_take(node, STOA_PAXOS_MSG_NACK, 3, &out, entries);
    assert_non_null(bytes);
    assert_int_equal(out.flags, STOA_PAXOS_NACK_BEHIND);
    assert_int_equal(node->snapshot_requests, 1);
    stoa_free(bytes);
    h_free(&cluster);
}

/* Bad configuration and inconsistent persisted state are refused, not asserted. */
static void test_create_refuses_bad_input(void **state) {
    (void)state;
    struct stoa_paxos *paxos = NULL;
    struct stoa_paxos_config config = {.self_id = 1,
                                       .members = members3,
                                       .member_count = 3,
                                       .heartbeat_ticks = 2,
                                       .election_ticks_min = 10,
                                       .election_ticks_max = 20,
                                       .window_slots = 8,
                                       .log_slots = 64};
    assert_int_equal(stoa_paxos_create(&config, NULL, &paxos), STOA_OK);
    stoa_paxos_destroy(paxos);
    struct stoa_paxos_config bad = config;
    bad.election_ticks_min = 1;
    assert_int_equal(stoa_paxos_create(&bad, NULL, &paxos), STOA_ERR_INVALID);
    bad = config;
    bad.log_slots = 8;
    assert_int_equal(stoa_paxos_create(&bad, NULL, &paxos), STOA_ERR_INVALID);
    static const uint32_t twice[] = {1, 1};
    bad = config;
    bad.members = twice;
    bad.member_count = 2;
    assert_int_equal(stoa_paxos_create(&bad, NULL, &paxos), STOA_ERR_INVALID);
    struct stoa_paxos_entry beyond = entry(100, ballot(1, 1), "x", false);
    struct stoa_paxos_persisted persisted = {.entries = &beyond, .entry_count = 1};
    assert_int_equal(stoa_paxos_create(&config, &persisted, &paxos), STOA_ERR_INVALID);
    persisted = (struct stoa_paxos_persisted){.commit_index = 1, .applied_index = 2};
    assert_int_equal(stoa_paxos_create(&config, &persisted, &paxos), STOA_ERR_INVALID);
    /* Every allocation of create failing in turn is refused cleanly (no leak: ASan). */
    for (uint64_t n = 1; n <= 5; n++) {
        stoa_alloc_fail_nth(n);
        int result = stoa_paxos_create(&config, NULL, &paxos);
        stoa_alloc_fail_nth(0);
        if (result == STOA_OK) {
            stoa_paxos_destroy(paxos);
        } else {
            assert_int_equal(result, STOA_ERR_NOMEM);
        }
    }
}

/* Messages that are not for this node, whose ballot is not the sender's, or that only a
 * member may send (acknowledgements), are dropped. */
static void test_step_drops_bad_messages(void **state) {
    (void)state;
    solo(1);
    struct stoa_paxos *paxos = h_node(&cluster, 1)->paxos;
    struct stoa_paxos_message wrong_to = message(STOA_PAXOS_MSG_HEARTBEAT, 2, 3, ballot(1, 2));
    assert_int_equal(stoa_paxos_step(paxos, &wrong_to), STOA_ERR_INVALID);
    struct stoa_paxos_message forged = message(STOA_PAXOS_MSG_HEARTBEAT, 2, 1, ballot(1, 3));
    assert_int_equal(stoa_paxos_step(paxos, &forged), STOA_ERR_INVALID);
    struct stoa_paxos_message stranger = message(STOA_PAXOS_MSG_ACCEPTED, 9, 1, ballot(1, 9));
    assert_int_equal(stoa_paxos_step(paxos, &stranger), STOA_ERR_INVALID);
    struct stoa_paxos_message unknown = message(99, 2, 1, ballot(1, 2));
    assert_int_equal(stoa_paxos_step(paxos, &unknown), STOA_ERR_INVALID);
    h_free(&cluster);
}

/* Five members: the highest elected, a minority of two cut off changes nothing for the
 * majority, and the two converge after healing. */
static void test_five_minority_partition(void **state) {
    (void)state;
    start_all(5, members5, 15);
    assert_int_equal(elect(100), 5);
    static bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1];
    memset(cut, 0, sizeof(cut));
    for (uint32_t a = 1; a <= 2; a++) {
        for (uint32_t b = 3; b <= 5; b++) {
            cut[a][b] = cut[b][a] = true;
        }
    }
    for (int i = 0; i < 20; i++) {
        propose(5, "m");
        h_tick(&cluster, cut);
    }
    for (int t = 0; t < 4; t++) {
        h_tick(&cluster, cut);
    }
    assert_int_equal(h_leader(&cluster), 5);
    assert_true(h_node(&cluster, 3)->applied >= 20);
    for (int t = 0; t < 60; t++) {
        h_tick(&cluster, NULL);
    }
    assert_int_equal(h_leader(&cluster), 5);
    assert_int_equal(h_node(&cluster, 1)->applied, h_node(&cluster, 5)->applied);
    assert_false(cluster.violation);
    h_free(&cluster);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ballot_order),
        cmocka_unit_test(test_single_node_commits_after_persist),
        cmocka_unit_test(test_three_elect_highest_and_replicate),
        cmocka_unit_test(test_commit_reaches_followers_without_a_tick),
        cmocka_unit_test(test_on_prepare),
        cmocka_unit_test(test_on_accept_and_promise_reports_entries),
        cmocka_unit_test(test_recovery_adopts_fills_reproposes),
        cmocka_unit_test(test_new_leader_waits_for_its_promise),
        cmocka_unit_test(test_recovery_highest_ballot_and_chosen),
        cmocka_unit_test(test_accepted_not_chosen_is_never_applied),
        cmocka_unit_test(test_restart_from_persisted_state),
        cmocka_unit_test(test_unpersisted_promise_never_left),
        cmocka_unit_test(test_lease_expires_on_quorum_loss),
        cmocka_unit_test(test_read_index),
        cmocka_unit_test(test_pipelining_window),
        cmocka_unit_test(test_catchup_after_partition),
        cmocka_unit_test(test_snapshot_needed),
        cmocka_unit_test(test_membership_add_remove),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_highest_id_takes_over_after_return),
        cmocka_unit_test(test_candidate_behind_gives_up),
        cmocka_unit_test(test_non_voter_ahead_sends_snapshot),
        cmocka_unit_test(test_create_refuses_bad_input),
        cmocka_unit_test(test_step_drops_bad_messages),
        cmocka_unit_test(test_five_minority_partition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
