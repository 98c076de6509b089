/*
 * gen: random client histories, for the checker's tests and its figures.
 *
 * Simulated clients (processes) run operations against a correct in-memory object per key (a
 * register, a counter or a deque). Each operation is invoked, takes effect on the object at
 * one moment, and completes later; the processes' steps interleave at random, so operations
 * overlap in random ways, and every such history is linearizable. Some operations fail (they
 * never take effect) and some end in info: applied before the info, never applied, or applied
 * later, at a random moment after their info line (as a request stuck in a network would).
 * After an info the process takes a new id, as in Jepsen.
 *
 * A planted violation makes the history not linearizable, on one key and provably (the
 * reasoning is in docs/checking.md): the key is quiesced (no operation of other processes in
 * flight on it), then one process runs a short script on it while the others keep working
 * on the other keys:
 *   stale-read      register: write a, write b, read -> a.
 *                   counter:  incr, then a read one below that incr's result.
 *   lost-write      register: write a, write b acknowledged but dropped, read -> a.
 *                   counter:  incr acknowledged with its result but dropped, read.
 *                   deque:    on a key without info operations, push-back a acknowledged but
 *                             dropped, then pop-back.
 *   duplicate-incr  counter:  incr d applied twice, d larger than all info increments of
 *                             the key together; then a read.
 *   phantom-pop     deque:    a pop returns a value never pushed.
 *   future-read     register: read -> f, then write f (f written nowhere else).
 *                   deque:    pop-front -> f, then push-back f.
 *
 * Deterministic: the same options give the same bytes.
 *
 * Ownership: appends to the caller's buffer; allocates only scratch it frees before return.
 */
#ifndef STOA_CHECK_GEN_H
#define STOA_CHECK_GEN_H

#include <stdbool.h>
#include <stdint.h>

#include "check/history.h"
#include "util/buf.h"

enum stoa_check_plant {
    STOA_CHECK_PLANT_NONE = 0,
    STOA_CHECK_PLANT_STALE_READ,
    STOA_CHECK_PLANT_LOST_WRITE,
    STOA_CHECK_PLANT_DUPLICATE_INCR,
    STOA_CHECK_PLANT_PHANTOM_POP,
    STOA_CHECK_PLANT_FUTURE_READ,
    STOA_CHECK_PLANT_COUNT,
};

struct stoa_check_gen_options {
    enum stoa_check_model model; /* register, counter or deque */
    uint64_t seed;
    uint32_t op_count;       /* random operations, besides a plant's few */
    uint32_t key_count;      /* >= 1 */
    uint32_t process_count;  /* >= 1 */
    uint32_t info_per_mille; /* chance that an operation ends in info */
    uint32_t fail_per_mille; /* chance that an operation fails */
    enum stoa_check_plant plant;
};

struct stoa_check_gen_report {
    uint32_t op_count;   /* operations written, the plant's included */
    uint32_t info_count; /* operations that ended in info */
    uint32_t fail_count;
    uint32_t event_count;
    char plant_key[32]; /* the key of the planted violation, "" for none */
};

/* Writes a history as JSON lines to out. Returns 0, STOA_ERR_INVALID (bad options, or a
 * plant that model does not have), or the buffer's error. */
int stoa_check_gen(const struct stoa_check_gen_options *options, struct stoa_buf *out,
                   struct stoa_check_gen_report *report);

/* Whether model has plant (stoa_check_gen accepts the pair). */
bool stoa_check_gen_plant_fits(enum stoa_check_model model, enum stoa_check_plant plant);

/* "stale-read"; "none". Static storage. */
const char *stoa_check_plant_name(enum stoa_check_plant plant);
/* Returns 0 or STOA_ERR_INVALID. */
int stoa_check_plant_parse(const char *name, enum stoa_check_plant *plant);

#endif
