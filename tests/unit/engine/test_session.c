/* Shows that the session table applies each (client, sequence) once, replays the last reply,
 * refuses stale and unknown clients, drops the least recently active session when full, and
 * survives failing allocations without applying anything twice. */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verdicts),
        cmocka_unit_test(test_bound_drops_least_recent),
        cmocka_unit_test(test_failing_allocations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
