/*
 * check: is a history linearizable? (docs/checking.md)
 *
 * The search is Wing and Gong's, with Lowe's memoization, in the shape Porcupine gives it:
 * the invokes and completions of one key's operations form a doubly linked list in real-time
 * order; the search walks it, and at each invoke tries to make that operation take effect
 * next (a model step); when it meets a completion whose operation has not taken effect, it
 * backtracks. A cache of (set of operations taken effect, model state) pairs already seen
 * prunes every path that reaches a configuration twice. Histories are P-compositional: each
 * key is checked on its own, which turns one exponential search into many small ones.
 *
 * Failed operations are left out (they did not happen), and so are reads whose result is
 * unknown (they change nothing). Info and open operations may take effect at any point after
 * their invoke, or never: their completion is placed after every other event, and the search
 * succeeds once every acknowledged operation has taken effect. Because they are what makes
 * the search blow up, info operations are tried only where the search is stuck, the later of
 * two with the same effect only after the earlier, info writes and pushes whose value nobody
 * observes not at all, and a deque's info pop never where it would remove a value that is
 * still to be observed (docs/checking.md gives the reasons each is sound).
 *
 * Memory is bounded: the cache and the interned states of one key's search may use at most
 * options.search_bytes_max bytes; past that the key's verdict is UNKNOWN, never a crash.
 *
 * Ownership: stoa_check_run fills a caller's result with owned memory; free it with
 * stoa_check_result_free. The history is borrowed for the call, and again by the functions
 * that describe a result.
 */
#ifndef STOA_CHECK_CHECK_H
#define STOA_CHECK_CHECK_H

#include <stdint.h>

#include "check/history.h"
#include "util/buf.h"
#include "util/limits.h"

enum stoa_check_verdict {
    STOA_CHECK_LINEARIZABLE = 0,
    STOA_CHECK_NOT_LINEARIZABLE = 1,
    STOA_CHECK_UNKNOWN = 2, /* the search limit was reached */
};

/* Why a key is not linearizable: the deepest point the search reached. Operations are
 * indices into history.ops. */
struct stoa_check_explanation {
    uint32_t linearized_count; /* operations in the longest order found that explains a prefix */
    uint32_t last[STOA_CHECK_EXPLAIN_OPERATIONS_MAX]; /* its last operations, oldest first */
    uint32_t last_count;
    char *state_text; /* the model state after them, as JSON; owned */
    uint32_t blocked; /* the operation that completed there without a place to take effect */
    /* Operations invoked by then that had not taken effect, none of which could go next
     * (the blocked one among them, listed first). */
    uint32_t candidates[STOA_CHECK_EXPLAIN_OPERATIONS_MAX];
    uint32_t candidate_count;
};

struct stoa_check_key_result {
    uint32_t key; /* index into history.keys */
    enum stoa_check_verdict verdict;
    uint32_t op_count;       /* operations of the key, failed ones included */
    uint32_t searched_count; /* operations the search placed (no fails, no unknown reads) */
    uint64_t cache_entries;  /* configurations the search visited */
    uint64_t search_bytes;   /* bytes its cache and states used at the end */
    struct stoa_check_explanation explanation; /* when NOT_LINEARIZABLE */
};

struct stoa_check_options {
    uint64_t search_bytes_max; /* per key; STOA_CHECK_SEARCH_BYTES_DEFAULT when 0 */
};

struct stoa_check_result {
    enum stoa_check_verdict verdict;    /* NOT_LINEARIZABLE if any key is, else UNKNOWN if any */
    struct stoa_check_key_result *keys; /* one per history key, in the history's order */
    uint32_t key_count;
    uint32_t op_count;
};

/* Checks every key. Returns 0 with result filled, or STOA_ERR_NOMEM (result empty). */
int stoa_check_run(const struct stoa_check_history *history,
                   const struct stoa_check_options *options, struct stoa_check_result *result);

void stoa_check_result_free(struct stoa_check_result *result);

const char *stoa_check_verdict_name(enum stoa_check_verdict verdict);

/* Appends one operation in words: "process 3: write 5 -> ok (lines 12-14)". */
int stoa_check_describe_op(const struct stoa_check_history *history, uint32_t op,
                           struct stoa_buf *out);

/* Appends the explanation of a key that is not linearizable, as indented lines of text. */
int stoa_check_explain(const struct stoa_check_history *history,
                       const struct stoa_check_key_result *key, struct stoa_buf *out);

#endif
