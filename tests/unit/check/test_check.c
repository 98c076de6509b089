/* Shows that the linearizability checker accepts valid and rejects invalid hand-written
 * histories of each model (register, counter, deque), including concurrent writes, info
 * operations that resolve either way, and a stale read after a completed write; that bad
 * input gets a clear error with its line number; that a search over its memory budget says
 * "unknown" instead of crashing; and that failed allocations are errors, never crashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "check/check.h"
#include "check/history.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

/* One event on key "x": process p, f, value (JSON text). */
#define EVENT(type, p, f, v)                                                                       \
    "{\"type\":\"" type "\",\"process\":" #p ",\"f\":\"" f "\",\"key\":\"x\",\"value\":" v "}\n"
#define INVOKE(p, f, v) EVENT("invoke", p, f, v)
#define OK(p, f, v) EVENT("ok", p, f, v)
#define INFO(p, f, v) EVENT("info", p, f, v)
#define FAIL(p, f, v) EVENT("fail", p, f, v)
/* A whole operation that does not overlap anything else. */
#define ALONE(p, f, in, out) INVOKE(p, f, in) OK(p, f, out)

/* Parses and checks text; returns the verdict, and the explanation's blocked operation's
 * invoke line in *blocked_line when not linearizable. */
static enum stoa_check_verdict verdict_of(const char *text, enum stoa_check_model model,
                                          uint32_t *blocked_line) {
    struct stoa_check_history history;
    struct stoa_check_parse_error error;
    int rc = stoa_check_history_parse(text, strlen(text), model, &history, &error);
    if (rc != 0) {
        fail_msg("parse failed: %s", error.message);
    }
    struct stoa_check_result result;
    assert_int_equal(stoa_check_run(&history, NULL, &result), 0);
    enum stoa_check_verdict verdict = result.verdict;
    if (verdict == STOA_CHECK_NOT_LINEARIZABLE && blocked_line != NULL) {
        for (uint32_t k = 0; k < result.key_count; k++) {
            if (result.keys[k].verdict == STOA_CHECK_NOT_LINEARIZABLE) {
                *blocked_line = history.ops[result.keys[k].explanation.blocked].invoke_line;
            }
        }
    }
    stoa_check_result_free(&result);
    stoa_check_history_free(&history);
    return verdict;
}

static void expect(const char *text, enum stoa_check_verdict verdict) {
    assert_int_equal(verdict_of(text, STOA_CHECK_MODEL_AUTO, NULL), verdict);
}

#define LIN STOA_CHECK_LINEARIZABLE
#define NOT STOA_CHECK_NOT_LINEARIZABLE

/* Sequential register histories: a read sees the last write; absent is null. */
static void test_register_sequential(void **state) {
    (void)state;
    expect(ALONE(1, "read", "null", "null") ALONE(1, "write", "1", "1")
               ALONE(2, "read", "null", "1"),
           LIN);
    expect(ALONE(1, "write", "1", "1") ALONE(2, "read", "null", "null"), NOT);
    expect(ALONE(1, "write", "\"a\"", "\"a\"") ALONE(2, "read", "null", "\"b\""), NOT);
    /* Values compare as JSON, whatever their spelling. */
    expect(ALONE(1, "write", "{\"b\":1,\"a\":2}", "null")
               ALONE(2, "read", "null", "{\"a\": 2, \"b\": 1}"),
           LIN);
}

/* A stale read: after write 2 completed, nobody may read 1 (the checker must fail). */
static void test_register_stale_read_fails(void **state) {
    (void)state;
    const char *text =
        ALONE(1, "write", "1", "1") ALONE(1, "write", "2", "2") ALONE(2, "read", "null", "1");
    uint32_t blocked = 0;
    assert_int_equal(verdict_of(text, STOA_CHECK_MODEL_REGISTER, &blocked), NOT);
    assert_int_equal(blocked, 5); /* the read's invoke line */
    /* The same read, overlapping write 2, may be ordered before it. */
    expect(ALONE(1, "write", "1", "1") INVOKE(1, "write", "2") INVOKE(2, "read", "null")
               OK(1, "write", "2") OK(2, "read", "1"),
           LIN);
}

/* Concurrent writes take effect in either order, but once a read has seen the later one,
 * the earlier is gone. */
static void test_register_concurrent_writes(void **state) {
    (void)state;
    const char *overlap =
        INVOKE(1, "write", "1") INVOKE(2, "write", "2") OK(2, "write", "2") OK(1, "write", "1");
    char text[1024];
    snprintf(text, sizeof text, "%s%s", overlap, ALONE(3, "read", "null", "1"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s", overlap, ALONE(3, "read", "null", "2"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", overlap, ALONE(3, "read", "null", "2"),
             ALONE(3, "read", "null", "1"));
    expect(text, NOT);
    /* Reads one after another cannot go 1, 2, 1, whoever makes them. */
    snprintf(text, sizeof text, "%s%s%s%s", overlap, ALONE(3, "read", "null", "1"),
             ALONE(4, "read", "null", "2"), ALONE(3, "read", "null", "1"));
    expect(text, NOT);
}

/* An info write may have happened or not, and at any time after its invoke: each reading is
 * valid alone, but not the write undone after it was seen. */
static void test_register_info_resolves_either_way(void **state) {
    (void)state;
    const char *start = ALONE(1, "write", "1", "1") INVOKE(2, "write", "2") INFO(2, "write", "2");
    char text[1024];
    snprintf(text, sizeof text, "%s%s", start, ALONE(3, "read", "null", "2"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s", start, ALONE(3, "read", "null", "1"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", start, ALONE(3, "read", "null", "1"),
             ALONE(3, "read", "null", "2"));
    expect(text, LIN); /* it took effect late */
    snprintf(text, sizeof text, "%s%s%s", start, ALONE(3, "read", "null", "2"),
             ALONE(3, "read", "null", "1"));
    expect(text, NOT);
    /* Late even past a later acknowledged write. */
    snprintf(text, sizeof text, "%s%s%s", start, ALONE(4, "write", "3", "3"),
             ALONE(3, "read", "null", "2"));
    expect(text, LIN);
    /* An operation without completion is info too. */
    expect(ALONE(1, "write", "1", "1") INVOKE(2, "write", "7") ALONE(3, "read", "null", "7"), LIN);
}

/* A failed operation did not happen; reads with unknown results constrain nothing. */
static void test_register_fail_and_unknown_reads(void **state) {
    (void)state;
    expect(ALONE(1, "write", "1", "1") INVOKE(2, "write", "2") FAIL(2, "write", "2")
               ALONE(3, "read", "null", "2"),
           NOT);
    expect(ALONE(1, "write", "1", "1") INVOKE(2, "read", "null") INFO(2, "read", "null")
               INVOKE(4, "read", "null") FAIL(4, "read", "null") ALONE(3, "read", "null", "1"),
           LIN);
}

/* A cas takes effect only on its expected value; a future read is impossible. */
static void test_register_cas_and_future_read(void **state) {
    (void)state;
    expect(ALONE(1, "write", "1", "1") ALONE(1, "cas", "[1,2]", "[1,2]")
               ALONE(2, "read", "null", "2"),
           LIN);
    expect(ALONE(1, "write", "1", "1") ALONE(1, "cas", "[5,6]", "[5,6]"), NOT);
    expect(ALONE(1, "write", "1", "1") INVOKE(1, "cas", "[5,6]") FAIL(1, "cas", "[5,6]")
               ALONE(2, "read", "null", "1"),
           LIN);
    expect(ALONE(2, "read", "null", "5") ALONE(1, "write", "5", "5"), NOT);
}

/* Histories of several keys are checked key by key; only the bad key fails. */
static void test_keys_are_independent(void **state) {
    (void)state;
    const char *text =
        "{\"type\":\"invoke\",\"process\":1,\"f\":\"write\",\"key\":\"a\",\"value\":1}\n"
        "{\"type\":\"invoke\",\"process\":2,\"f\":\"write\",\"key\":\"b\",\"value\":1}\n"
        "{\"type\":\"ok\",\"process\":1,\"f\":\"write\",\"key\":\"a\",\"value\":1}\n"
        "{\"type\":\"ok\",\"process\":2,\"f\":\"write\",\"value\":1}\n"
        "{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":\"a\",\"value\":null}\n"
        "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":\"a\",\"value\":1}\n"
        "{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":\"b\",\"value\":null}\n"
        "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"key\":\"b\",\"value\":null}\n";
    struct stoa_check_history history;
    struct stoa_check_parse_error error;
    assert_int_equal(
        stoa_check_history_parse(text, strlen(text), STOA_CHECK_MODEL_AUTO, &history, &error), 0);
    assert_int_equal(history.key_count, 2);
    struct stoa_check_result result;
    assert_int_equal(stoa_check_run(&history, NULL, &result), 0);
    assert_int_equal(result.verdict, NOT);
    assert_int_equal(result.keys[0].verdict, LIN);
    assert_int_equal(result.keys[1].verdict, NOT);
    struct stoa_buf out;
    stoa_buf_init(&out, 1 << 20);
    assert_int_equal(stoa_check_explain(&history, &result.keys[1], &out), 0);
    assert_int_equal(stoa_buf_append_byte(&out, 0), 0);
    assert_non_null(strstr((const char *)out.data, "process 1: read -> null (lines 7-8)"));
    stoa_buf_free(&out);
    stoa_check_result_free(&result);
    stoa_check_history_free(&history);
}

/* Counter: incr results and reads must add up; concurrent incrs in either order. */
static void test_counter(void **state) {
    (void)state;
    expect(ALONE(1, "incr", "1", "1") ALONE(1, "incr", "2", "3") ALONE(2, "read", "null", "3"),
           LIN);
    const char *both = INVOKE(1, "incr", "1") INVOKE(2, "incr", "1");
    char text[1024];
    snprintf(text, sizeof text, "%s%s%s", both, OK(1, "incr", "2"), OK(2, "incr", "1"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", both, OK(1, "incr", "1"), OK(2, "incr", "1"));
    expect(text, NOT); /* a duplicated result */
    /* A read below a completed incr's result. */
    expect(ALONE(1, "incr", "5", "5") ALONE(2, "read", "null", "4"), NOT);
    /* An incr acknowledged without its result only adds. */
    expect(ALONE(1, "incr", "5", "null") ALONE(2, "read", "null", "5"), LIN);
    /* A read of an absent counter is 0. */
    expect(ALONE(2, "read", "null", "null") ALONE(1, "incr", "2", "2"), LIN);
}

/* An info incr may or may not have added, at any time after its invoke. */
static void test_counter_info_resolves_either_way(void **state) {
    (void)state;
    const char *start = ALONE(1, "incr", "1", "1") INVOKE(2, "incr", "5") INFO(2, "incr", "5");
    char text[1024];
    snprintf(text, sizeof text, "%s%s", start, ALONE(3, "read", "null", "1"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s", start, ALONE(3, "read", "null", "6"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", start, ALONE(3, "read", "null", "1"),
             ALONE(3, "read", "null", "6"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", start, ALONE(3, "read", "null", "6"),
             ALONE(3, "read", "null", "1"));
    expect(text, NOT);
    snprintf(text, sizeof text, "%s%s", start, ALONE(3, "read", "null", "11"));
    expect(text, NOT); /* it cannot add twice */
}

/* Deque: both ends, reads of the whole deque, pops of an empty deque. */
static void test_deque(void **state) {
    (void)state;
    expect(ALONE(1, "push-back", "1", "1") ALONE(1, "push-back", "2", "2")
               ALONE(1, "push-front", "0", "0") ALONE(2, "read", "null", "[0,1,2]")
                   ALONE(2, "pop-front", "null", "0") ALONE(2, "pop-back", "null", "2")
                       ALONE(2, "pop-back", "null", "1") ALONE(2, "pop-front", "null", "null"),
           LIN);
    expect(ALONE(1, "push-front", "1", "1") ALONE(1, "push-front", "2", "2")
               ALONE(2, "read", "null", "[1,2]"),
           NOT);
    expect(ALONE(1, "push-back", "1", "1") ALONE(2, "pop-front", "null", "9"), NOT);
    expect(ALONE(1, "push-back", "1", "1") ALONE(2, "pop-front", "null", "null"), NOT);
    /* Concurrent pushes land in either order. */
    const char *both = INVOKE(1, "push-back", "1") INVOKE(2, "push-back", "2")
        OK(1, "push-back", "1") OK(2, "push-back", "2");
    char text[1024];
    snprintf(text, sizeof text, "%s%s", both, ALONE(3, "read", "null", "[2,1]"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s", both, ALONE(3, "read", "null", "[1,2]"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", both, ALONE(3, "pop-front", "null", "2"),
             ALONE(3, "pop-front", "null", "2"));
    expect(text, NOT);
}

/* Info pushes and pops resolve either way. */
static void test_deque_info(void **state) {
    (void)state;
    const char *push = INVOKE(1, "push-back", "1") INFO(1, "push-back", "1");
    char text[1024];
    snprintf(text, sizeof text, "%s%s", push, ALONE(2, "pop-front", "null", "1"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s", push, ALONE(2, "pop-front", "null", "null"));
    expect(text, LIN);
    const char *pop =
        ALONE(1, "push-back", "1", "1") INVOKE(1, "pop-front", "null") INFO(1, "pop-front", "null");
    snprintf(text, sizeof text, "%s%s", pop, ALONE(2, "read", "null", "[]"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s", pop, ALONE(2, "read", "null", "[1]"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", pop, ALONE(2, "read", "null", "[]"),
             ALONE(2, "read", "null", "[1]"));
    expect(text, NOT);
    /* An info pop took the front, or did not happen: both orders of what follows are valid,
     * but it cannot take a value that is popped later and leave the other. */
    const char *two = ALONE(1, "push-back", "1", "1") ALONE(1, "push-back", "2", "2")
        INVOKE(3, "pop-front", "null") INFO(3, "pop-front", "null");
    snprintf(text, sizeof text, "%s%s%s", two, ALONE(2, "pop-front", "null", "1"),
             ALONE(2, "pop-front", "null", "2"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", two, ALONE(2, "pop-front", "null", "2"),
             ALONE(2, "pop-front", "null", "null"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", two, ALONE(2, "pop-back", "null", "2"),
             ALONE(2, "read", "null", "[]"));
    expect(text, LIN);
    snprintf(text, sizeof text, "%s%s%s", two, ALONE(2, "pop-front", "null", "2"),
             ALONE(2, "pop-front", "null", "1"));
    expect(text, NOT);
}

static void expect_error(const char *text, enum stoa_check_model model, uint32_t line,
                         const char *words) {
    struct stoa_check_history history;
    struct stoa_check_parse_error error;
    int rc = stoa_check_history_parse(text, strlen(text), model, &history, &error);
    assert_int_equal(rc, STOA_ERR_MALFORMED);
    assert_int_equal(error.line, line);
    if (strstr(error.message, words) == NULL) {
        fail_msg("error \"%s\" does not say \"%s\"", error.message, words);
    }
    assert_int_equal(history.op_count, 0);
}

/* Each kind of bad input is an error naming its line. */
static void test_bad_input(void **state) {
    (void)state;
    enum stoa_check_model any = STOA_CHECK_MODEL_AUTO;
    expect_error(INVOKE(1, "write", "1") "{\"type\":\"ok\",\n", any, 2, "bad JSON");
    expect_error("[1,2]\n", any, 1, "JSON object");
    expect_error("{\"process\":1,\"f\":\"read\"}\n", any, 1, "missing \"type\"");
    expect_error("{\"type\":\"begin\",\"process\":1,\"f\":\"read\"}\n", any, 1, "unknown type");
    expect_error("{\"type\":\"invoke\",\"process\":\"a\",\"f\":\"read\"}\n", any, 1, "process");
    expect_error(INVOKE(1, "delete", "null"), any, 1, "unknown f");
    expect_error(INVOKE(1, "write", "1") INVOKE(1, "write", "2"), any, 2, "in flight");
    expect_error(OK(1, "write", "1"), any, 1, "never invoked");
    expect_error(INVOKE(1, "write", "1") OK(1, "read", "1"), any, 2, "completes");
    expect_error(ALONE(1, "write", "1", "1") ALONE(1, "incr", "1", "1"), any, 3, "not part");
    expect_error(ALONE(1, "write", "1", "1"), STOA_CHECK_MODEL_DEQUE, 1, "not part");
    expect_error(ALONE(1, "incr", "\"x\"", "1"), any, 1, "integer delta");
    expect_error(ALONE(1, "incr", "1", "\"x\""), any, 2, "integer");
    expect_error(ALONE(1, "cas", "[1]", "[1]"), any, 1, "[expected, new]");
    expect_error(ALONE(1, "push-back", "null", "null"), any, 1, "push of null");
    expect_error(ALONE(1, "push-back", "1", "1") ALONE(1, "read", "null", "3"), any, 4, "array");
    expect_error("{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"key\":3}\n", any, 1,
                 "\"key\"");
    expect_error("{\"type\":\"invoke\",\"process\":1,\"f\":\"read\",\"time\":\"now\"}\n", any, 1,
                 "\"time\"");
    expect_error("{\"type\":\"invoke\",\"type\":\"ok\",\"process\":1,\"f\":\"read\"}\n", any, 1,
                 "duplicate");
}

/* Blank lines and Jepsen's nemesis lines are skipped; time and index are accepted. */
static void test_skipped_lines(void **state) {
    (void)state;
    expect("\n   \n{\"type\":\"info\",\"process\":\"nemesis\",\"f\":\"start\",\"value\":null}\n"
           "{\"type\":\"invoke\",\"process\":0,\"f\":\"write\",\"key\":\"x\",\"value\":3,"
           "\"time\":10,\"index\":0}\n"
           "{\"type\":\"ok\",\"process\":0,\"f\":\"write\",\"value\":3,\"time\":20,\"index\":1}"
           "\n\n" ALONE(1, "read", "null", "3"),
           LIN);
}

/* Many processes writing and reading one key at once: enough concurrency for the search to
 * need its cache (and for a small budget to run out). */
static void make_busy_history(struct stoa_buf *out) {
    for (int round = 0; round < 40; round++) {
        for (int p = 0; p < 8; p++) {
            char line[160];
            int n = snprintf(line, sizeof line,
                             "{\"type\":\"invoke\",\"process\":%d,\"f\":\"write\","
                             "\"value\":%d}\n",
                             p, round * 8 + p);
            assert_int_equal(stoa_buf_append(out, line, (size_t)n), 0);
        }
        for (int p = 7; p >= 0; p--) {
            char line[160];
            int n = snprintf(line, sizeof line,
                             "{\"type\":\"%s\",\"process\":%d,\"f\":\"write\",\"value\":%d}\n",
                             p % 3 == 0 ? "info" : "ok", p, round * 8 + p);
            assert_int_equal(stoa_buf_append(out, line, (size_t)n), 0);
        }
        char line[160];
        int n = snprintf(line, sizeof line,
                         "{\"type\":\"invoke\",\"process\":99,\"f\":\"read\",\"value\":null}\n"
                         "{\"type\":\"ok\",\"process\":99,\"f\":\"read\",\"value\":%d}\n",
                         round * 8 + 3);
        assert_int_equal(stoa_buf_append(out, line, (size_t)n), 0);
    }
}

/* Over its memory budget the search answers unknown; with room it answers. */
static void test_search_limit_is_unknown(void **state) {
    (void)state;
    struct stoa_buf text;
    stoa_buf_init(&text, 1 << 22);
    make_busy_history(&text);
    struct stoa_check_history history;
    struct stoa_check_parse_error error;
    assert_int_equal(stoa_check_history_parse((const char *)text.data, text.length,
                                              STOA_CHECK_MODEL_AUTO, &history, &error),
                     0);
    struct stoa_check_result result;
    struct stoa_check_options small = {.search_bytes_max = 16 * 1024};
    assert_int_equal(stoa_check_run(&history, &small, &result), 0);
    assert_int_equal(result.verdict, STOA_CHECK_UNKNOWN);
    assert_true(result.keys[0].search_bytes <= small.search_bytes_max);
    stoa_check_result_free(&result);
    assert_int_equal(stoa_check_run(&history, NULL, &result), 0);
    assert_int_equal(result.verdict, LIN);
    stoa_check_result_free(&result);
    stoa_check_history_free(&history);
    stoa_buf_free(&text);
}

/* Every allocation of parse and check may fail: the call returns an error, nothing leaks. */
static void test_failed_allocations(void **state) {
    (void)state;
    const char *text = ALONE(1, "write", "1", "1") INVOKE(2, "write", "2") INFO(2, "write", "2")
        ALONE(1, "cas", "[2,3]", "[2,3]") ALONE(3, "read", "null", "1");
    bool finished = false;
    for (uint64_t n = 1; n < 500 && !finished; n++) {
        struct stoa_alloc_stats before;
        stoa_alloc_stats(&before);
        struct stoa_check_history history;
        struct stoa_check_parse_error error;
        stoa_alloc_fail_nth(n);
        int rc =
            stoa_check_history_parse(text, strlen(text), STOA_CHECK_MODEL_AUTO, &history, &error);
        struct stoa_check_result result;
        if (rc == 0) {
            rc = stoa_check_run(&history, NULL, &result);
            if (rc == 0) {
                assert_int_equal(result.verdict, NOT);
                stoa_check_result_free(&result);
                struct stoa_alloc_stats stats;
                stoa_alloc_stats(&stats);
                finished = stats.failure_count == before.failure_count;
            }
            stoa_check_history_free(&history);
        }
        assert_true(rc == 0 || rc == STOA_ERR_NOMEM);
        stoa_alloc_fail_nth(0);
        struct stoa_alloc_stats after;
        stoa_alloc_stats(&after);
        assert_int_equal(after.live_count, before.live_count);
    }
    assert_true(finished);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_sequential),
        cmocka_unit_test(test_register_stale_read_fails),
        cmocka_unit_test(test_register_concurrent_writes),
        cmocka_unit_test(test_register_info_resolves_either_way),
        cmocka_unit_test(test_register_fail_and_unknown_reads),
        cmocka_unit_test(test_register_cas_and_future_read),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_counter),
        cmocka_unit_test(test_counter_info_resolves_either_way),
        cmocka_unit_test(test_deque),
        cmocka_unit_test(test_deque_info),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_skipped_lines),
        cmocka_unit_test(test_search_limit_is_unknown),
        cmocka_unit_test(test_failed_allocations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
