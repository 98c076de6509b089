/* Shows that the session table applies each (client, sequence) once, replays the last reply,
 * refuses stale and unknown clients, drops the least recently active session when full,
 * survives failing allocations without applying anything twice, and comes back whole from
 * what stoa_session_table_visit reports through stoa_session_restore. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "engine/session.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/limits.h"

static enum stoa_session_verdict check(struct stoa_session_table *table, uint64_t client,
                                       uint64_t sequence, const char *expected_reply) {
    const uint8_t *reply = NULL;
    size_t length = 0;
    enum stoa_session_verdict verdict =
        stoa_session_check(table, client, sequence, &reply, &length);
    if (verdict == STOA_SESSION_REPLAY && expected_reply != NULL) {
        assert_int_equal(length, strlen(expected_reply));
        assert_memory_equal(reply, expected_reply, length);
    }
    return verdict;
}

static int record(struct stoa_session_table *table, uint64_t client, uint64_t sequence,
                  uint64_t index, const char *reply) {
    return stoa_session_record(table, client, sequence, index, (const uint8_t *)reply,
                               strlen(reply));
}

/* New, replay, stale and expired verdicts. */
static void test_verdicts(void **state) {
    (void)state;
    struct stoa_session_table table;
    stoa_session_table_init(&table, 4, 1);
    assert_int_equal(check(&table, 7, 1, NULL), STOA_SESSION_EXPIRED);
    assert_int_equal(stoa_session_register(&table, 7, 7), STOA_OK);
    assert_int_equal(stoa_session_register(&table, 7, 8), STOA_ERR_EXISTS);
    assert_int_equal(check(&table, 7, 1, NULL), STOA_SESSION_NEW);
    assert_int_equal(record(&table, 7, 1, 9, "first"), STOA_OK);
    assert_int_equal(check(&table, 7, 1, "first"), STOA_SESSION_REPLAY);
    assert_int_equal(check(&table, 7, 2, NULL), STOA_SESSION_NEW);
    assert_int_equal(record(&table, 7, 2, 10, "second"), STOA_OK);
    assert_int_equal(check(&table, 7, 2, "second"), STOA_SESSION_REPLAY);
    assert_int_equal(check(&table, 7, 1, NULL), STOA_SESSION_STALE);
    /* A reply too large to keep is replayed as empty. */
    static char big[STOA_SESSION_REPLY_BYTES_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    assert_int_equal(record(&table, 7, 3, 11, big), STOA_OK);
    assert_int_equal(check(&table, 7, 3, ""), STOA_SESSION_REPLAY);
    stoa_session_table_free(&table);
}

/* When full, the session active least recently (by log index) is dropped, and its client is
 * then refused as expired rather than applied twice. */
static void test_bound_drops_least_recent(void **state) {
    (void)state;
    struct stoa_session_table table;
    stoa_session_table_init(&table, 3, 2);
    assert_int_equal(stoa_session_register(&table, 1, 1), STOA_OK);
    assert_int_equal(stoa_session_register(&table, 2, 2), STOA_OK);
    assert_int_equal(stoa_session_register(&table, 3, 3), STOA_OK);
    assert_int_equal(record(&table, 1, 1, 4, "a"), STOA_OK); /* client 1 is now the freshest */
    assert_int_equal(stoa_session_register(&table, 5, 5), STOA_OK);
    assert_int_equal(stoa_session_count(&table), 3);
    assert_int_equal(check(&table, 2, 1, NULL), STOA_SESSION_EXPIRED);
    assert_int_equal(check(&table, 1, 1, "a"), STOA_SESSION_REPLAY);
    assert_int_equal(check(&table, 3, 1, NULL), STOA_SESSION_NEW);
    assert_int_equal(check(&table, 5, 1, NULL), STOA_SESSION_NEW);
    stoa_session_table_free(&table);
}

/* Failing each allocation of a register leaves the table as it was; failing the reply copy
 * still advances the sequence, so the write is not applied twice. */
static void test_failing_allocations(void **state) {
    (void)state;
    struct stoa_session_table table;
    stoa_session_table_init(&table, 8, 3);
    for (uint64_t n = 1; n <= 4; n++) {
        stoa_alloc_fail_nth(n);
        int result = stoa_session_register(&table, 10, 10);
        stoa_alloc_fail_nth(0);
        if (result == STOA_OK) {
            break;
        }
        assert_int_equal(result, STOA_ERR_NOMEM);
        assert_int_equal(stoa_session_count(&table), 0);
        assert_int_equal(check(&table, 10, 1, NULL), STOA_SESSION_EXPIRED);
    }
    assert_int_equal(stoa_session_count(&table), 1);
    stoa_alloc_fail_nth(1);
    assert_int_equal(record(&table, 10, 1, 11, "reply"), STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_int_equal(check(&table, 10, 1, ""), STOA_SESSION_REPLAY);
    stoa_session_table_free(&table);
}

/* One session as visit reports it. */
struct visited {
    uint64_t client_id;
    uint64_t sequence;
    uint64_t activity_index;
    size_t reply_length;
    uint8_t reply[STOA_SESSION_REPLY_BYTES_MAX];
};

#define VISITED_MAX 16

struct visit_log {
    size_t count;
    struct visited sessions[VISITED_MAX];
};

static void on_visit(void *context, uint64_t client_id, uint64_t sequence, uint64_t activity_index,
                     const uint8_t *reply, size_t reply_length) {
    struct visit_log *log = context;
    assert_true(log->count < VISITED_MAX);
    assert_true(reply_length <= STOA_SESSION_REPLY_BYTES_MAX);
    struct visited *session = &log->sessions[log->count++];
    session->client_id = client_id;
    session->sequence = sequence;
    session->activity_index = activity_index;
    session->reply_length = reply_length;
    if (reply_length > 0) {
        memcpy(session->reply, reply, reply_length);
    }
}

/* Fills *log (which is large: keep it static) with what visit reports. */
static void visit(const struct stoa_session_table *table, struct visit_log *log) {
    log->count = 0;
    stoa_session_table_visit(table, on_visit, log);
    assert_int_equal(log->count, stoa_session_count(table));
}

static const struct visited *visited_find(const struct visit_log *log, uint64_t client_id) {
    const struct visited *found = NULL;
    for (size_t i = 0; i < log->count; i++) {
        if (log->sessions[i].client_id == client_id) {
            assert_null(found); /* each session is visited once */
            found = &log->sessions[i];
        }
    }
    return found;
}

/* Both logs hold the same sessions, whatever their order. */
static void assert_same_visits(const struct visit_log *a, const struct visit_log *b) {
    assert_int_equal(a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        const struct visited *other = visited_find(b, a->sessions[i].client_id);
        assert_non_null(other);
        assert_int_equal(other->sequence, a->sessions[i].sequence);
        assert_int_equal(other->activity_index, a->sessions[i].activity_index);
        assert_int_equal(other->reply_length, a->sessions[i].reply_length);
        assert_memory_equal(other->reply, a->sessions[i].reply, a->sessions[i].reply_length);
    }
}

static int restore(struct stoa_session_table *table, const struct visited *session) {
    return stoa_session_restore(
        table, session->client_id, session->sequence, session->activity_index,
        session->reply_length > 0 ? session->reply : NULL, session->reply_length);
}

/* Five sessions in a table of six: fresh, with a reply, with an empty reply, with a reply
 * too large to keep, and one with a longer history. */
static void make_busy_table(struct stoa_session_table *table, uint64_t seed) {
    static char big[STOA_SESSION_REPLY_BYTES_MAX + 2];
    memset(big, 'x', sizeof(big) - 1);
    stoa_session_table_init(table, 6, seed);
    assert_int_equal(stoa_session_register(table, 1, 1), STOA_OK);
    assert_int_equal(stoa_session_register(table, 2, 2), STOA_OK);
    assert_int_equal(stoa_session_register(table, 3, 3), STOA_OK);
    assert_int_equal(record(table, 1, 1, 4, "one"), STOA_OK);
    assert_int_equal(stoa_session_register(table, 0x0102030405060708, 5), STOA_OK);
    assert_int_equal(record(table, 3, 1, 6, ""), STOA_OK);
    assert_int_equal(record(table, 0x0102030405060708, 7, 8, big), STOA_OK);
    assert_int_equal(record(table, 1, 2, 9, "one again"), STOA_OK);
    assert_int_equal(stoa_session_register(table, UINT64_MAX, 10), STOA_OK);
    assert_int_equal(record(table, 1, 5, 11, "one at five"), STOA_OK);
}

/* Visit reports every session once, with its sequence, the log index of its last activity
 * and its recorded reply; an empty table reports nothing. */
static void test_visit_reports_every_session(void **state) {
    (void)state;
    static struct visit_log log;
    struct stoa_session_table table;
    stoa_session_table_init(&table, 4, 5);
    visit(&table, &log);
    assert_int_equal(log.count, 0);
    stoa_session_table_free(&table);

    make_busy_table(&table, 5);
    visit(&table, &log);
    assert_int_equal(log.count, 5);
    static const struct {
        uint64_t client_id;
        uint64_t sequence;
        uint64_t activity_index;
        const char *reply;
    } expected[] = {
        {1, 5, 11, "one at five"},      {2, 0, 2, ""},           {3, 1, 6, ""},
        {0x0102030405060708, 7, 8, ""}, {UINT64_MAX, 0, 10, ""},
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        const struct visited *session = visited_find(&log, expected[i].client_id);
        assert_non_null(session);
        assert_int_equal(session->sequence, expected[i].sequence);
        assert_int_equal(session->activity_index, expected[i].activity_index);
        assert_int_equal(session->reply_length, strlen(expected[i].reply));
        assert_memory_equal(session->reply, expected[i].reply, session->reply_length);
    }
    stoa_session_table_free(&table);
}

/* Every (client, sequence) gets the same verdict, and the same replay bytes, from both
 * tables; clients are taken from log plus a few never registered. */
static void assert_same_judgments(struct stoa_session_table *a, struct stoa_session_table *b,
                                  const struct visit_log *log) {
    static const uint64_t strangers[] = {4, 9, 0x0102030405060709, UINT64_MAX - 1};
    for (size_t i = 0; i < log->count + 4; i++) {
        uint64_t client = i < log->count ? log->sessions[i].client_id : strangers[i - log->count];
        for (uint64_t sequence = 0; sequence < 12; sequence++) {
            const uint8_t *reply_a = NULL;
            size_t length_a = 0;
            const uint8_t *reply_b = NULL;
            size_t length_b = 0;
            enum stoa_session_verdict verdict_a =
                stoa_session_check(a, client, sequence, &reply_a, &length_a);
            enum stoa_session_verdict verdict_b =
                stoa_session_check(b, client, sequence, &reply_b, &length_b);
            assert_int_equal(verdict_a, verdict_b);
            if (verdict_a == STOA_SESSION_REPLAY) {
                assert_int_equal(length_a, length_b);
                assert_memory_equal(reply_a, reply_b, length_a);
            }
        }
    }
}

/* Restoring what visit reported into a fresh table gives a table that judges every write
 * the same way and, when registrations fill it, drops the same sessions in the same order. */
static void test_restore_reproduces_the_table(void **state) {
    (void)state;
    static struct visit_log log;
    static struct visit_log log_restored;
    struct stoa_session_table table;
    make_busy_table(&table, 6);
    visit(&table, &log);
    struct stoa_session_table restored;
    stoa_session_table_init(&restored, 6, 99); /* another seed: another iteration order */
    for (size_t i = log.count; i > 0; i--) {
        assert_int_equal(restore(&restored, &log.sessions[i - 1]), STOA_OK);
    }
    assert_int_equal(stoa_session_count(&restored), log.count);
    visit(&restored, &log_restored);
    assert_same_visits(&log, &log_restored);
    assert_same_judgments(&table, &restored, &log);

    /* Register new clients until every original session has been dropped, checking after
     * each registration that both tables dropped the same one. */
    for (uint64_t client = 100; client < 100 + 6; client++) {
        assert_int_equal(stoa_session_register(&table, client, client), STOA_OK);
        assert_int_equal(stoa_session_register(&restored, client, client), STOA_OK);
        assert_int_equal(stoa_session_count(&table), stoa_session_count(&restored));
        assert_same_judgments(&table, &restored, &log);
        static struct visit_log after;
        static struct visit_log after_restored;
        visit(&table, &after);
        visit(&restored, &after_restored);
        assert_same_visits(&after, &after_restored);
    }
    for (size_t i = 0; i < log.count; i++) {
        assert_int_equal(check(&restored, log.sessions[i].client_id, 1, NULL),
                         STOA_SESSION_EXPIRED);
    }
    stoa_session_table_free(&restored);
    stoa_session_table_free(&table);
}

/* Restore refuses client id 0, a reply over the bound, an activity index over INT64_MAX and
 * a full table (STOA_ERR_MALFORMED) and a duplicate id (STOA_ERR_EXISTS), leaving the table
 * as it was; a reply exactly at the bound is kept. */
static void test_restore_refusals(void **state) {
    (void)state;
    static uint8_t reply[STOA_SESSION_REPLY_BYTES_MAX + 1];
    memset(reply, 'r', sizeof(reply));
    static struct visit_log before;
    static struct visit_log after;
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    uint64_t live_count = stats.live_count;
    struct stoa_session_table table;
    stoa_session_table_init(&table, 2, 7);
    assert_int_equal(stoa_session_restore(&table, 5, 3, 40, reply, 2), STOA_OK);
    visit(&table, &before);

    assert_int_equal(stoa_session_restore(&table, 0, 1, 41, NULL, 0), STOA_ERR_MALFORMED);
    assert_int_equal(stoa_session_restore(&table, 6, 1, 41, reply, sizeof(reply)),
                     STOA_ERR_MALFORMED);
    assert_int_equal(stoa_session_restore(&table, 6, 1, (uint64_t)INT64_MAX + 1, NULL, 0),
                     STOA_ERR_MALFORMED);
    assert_int_equal(stoa_session_restore(&table, 5, 9, 41, reply, 1), STOA_ERR_EXISTS);
    visit(&table, &after);
    assert_same_visits(&before, &after);
    assert_int_equal(check(&table, 5, 3, "rr"), STOA_SESSION_REPLAY);
    assert_int_equal(check(&table, 6, 1, NULL), STOA_SESSION_EXPIRED);

    assert_int_equal(
        stoa_session_restore(&table, 6, 1, INT64_MAX, reply, STOA_SESSION_REPLY_BYTES_MAX),
        STOA_OK);
    const uint8_t *kept = NULL;
    size_t kept_length = 0;
    assert_int_equal(stoa_session_check(&table, 6, 1, &kept, &kept_length), STOA_SESSION_REPLAY);
    assert_int_equal(kept_length, STOA_SESSION_REPLY_BYTES_MAX);
    assert_memory_equal(kept, reply, kept_length);
    visit(&table, &before);
    assert_int_equal(stoa_session_restore(&table, 7, 1, 42, NULL, 0), STOA_ERR_MALFORMED);
    visit(&table, &after);
    assert_same_visits(&before, &after);
    assert_int_equal(check(&table, 7, 1, NULL), STOA_SESSION_EXPIRED);
    stoa_session_table_free(&table);
    stoa_alloc_stats(&stats);
    assert_int_equal(stats.live_count, live_count);
}

/* Failing each allocation of a restore in turn, at every table size from empty to full, says
 * STOA_ERR_NOMEM and leaves the table as it was; nothing leaks. */
static void test_restore_failing_allocations(void **state) {
    (void)state;
    static struct visit_log before;
    static struct visit_log after;
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    uint64_t live_count = stats.live_count;
    struct stoa_session_table table;
    stoa_session_table_init(&table, VISITED_MAX, 8);
    for (uint64_t client = 1; client <= VISITED_MAX; client++) {
        char reply[16];
        size_t reply_length = (size_t)(client % 4) * 3;
        memset(reply, (int)('a' + client), sizeof(reply));
        visit(&table, &before);
        for (uint64_t n = 1;; n++) {
            stoa_alloc_fail_nth(n);
            int result = stoa_session_restore(&table, client * 1000, client, client * 10,
                                              (const uint8_t *)reply, reply_length);
            stoa_alloc_fail_nth(0);
            if (result == STOA_OK) {
                assert_true(n >= 2); /* at least the session itself */
                break;
            }
            assert_int_equal(result, STOA_ERR_NOMEM);
            assert_true(n <= 4);
            visit(&table, &after);
            assert_same_visits(&before, &after);
            assert_int_equal(check(&table, client * 1000, 1, NULL), STOA_SESSION_EXPIRED);
        }
        const uint8_t *kept = NULL;
        size_t kept_length = 0;
        assert_int_equal(stoa_session_check(&table, client * 1000, client, &kept, &kept_length),
                         STOA_SESSION_REPLAY);
        assert_int_equal(kept_length, reply_length);
        assert_memory_equal(kept, reply, reply_length);
    }
    assert_int_equal(stoa_session_count(&table), VISITED_MAX);
    stoa_session_table_free(&table);
    stoa_alloc_stats(&stats);
    assert_int_equal(stats.live_count, live_count);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_bound_drops_least_recent),
        cmocka_unit_test(test_failing_allocations),
        cmocka_unit_test(test_visit_reports_every_session),
        cmocka_unit_test(test_restore_reproduces_the_table),
        cmocka_unit_test(test_restore_refusals),
        cmocka_unit_test(test_restore_failing_allocations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
