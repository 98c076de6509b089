/*
 * model: the sequential specifications the checker tests histories against.
 *
 * A model is an initial state and a step function: given a state and an operation (with its
 * result, when the result is known), step says whether the operation could have taken effect
 * in that state with that result, and what state follows. States are short arrays of int64
 * words, so the search can hash and compare them as bytes:
 *   register  one word: the value id it holds (0, JSON null, for "absent")
 *   counter   one word: the count (starts at 0)
 *   deque     one word per element, front first: the elements' value ids (empty at start)
 * An operation whose result is unknown (info, or an incr acknowledged without its result)
 * may return anything: step only applies its effect. docs/checking.md lists the vocabulary.
 *
 * Ownership: nothing is allocated; the caller gives the buffers.
 */
#ifndef STOA_CHECK_MODEL_H
#define STOA_CHECK_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "check/history.h"
#include "util/buf.h"

/* Writes the initial state into state (room for 1 word); returns its length in words. */
size_t stoa_check_model_init(enum stoa_check_model model, int64_t *state);

/* If op can take effect in state (length words), writes the following state into next (room
 * for length + 1 words), sets *next_length and returns true; else returns false. */
bool stoa_check_model_step(const struct stoa_check_history *history, const struct stoa_check_op *op,
                           const int64_t *state, size_t length, int64_t *next, size_t *next_length);

/* Appends the state as JSON (a value, a number, or an array front first), cut when long. */
int stoa_check_model_render(const struct stoa_check_history *history, const int64_t *state,
                            size_t length, struct stoa_buf *out);

#endif
