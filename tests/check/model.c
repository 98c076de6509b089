/*
 * model: register, counter and deque step functions (model.h).
 */
#include <string.h>

#include "check/check_int.h"
#include "check/model.h"
#include "util/assert.h"

size_t stoa_check_model_init(enum stoa_check_model model, int64_t *state) {
    STOA_ASSERT(model != STOA_CHECK_MODEL_AUTO);
    if (model == STOA_CHECK_MODEL_DEQUE) {
        return 0;
    }
    state[0] = 0; /* register: null (absent); counter: 0 */
    return 1;
}

static bool step_register(const struct stoa_check_op *op, int64_t value, int64_t *next) {
    switch ((enum stoa_check_f)op->f) {
    case STOA_CHECK_F_READ:
        *next = value;
        return !op->result_known || op->result == value;
    case STOA_CHECK_F_WRITE:
        *next = op->argument[0];
        return true;
    case STOA_CHECK_F_CAS:
        /* A cas that took effect found its expected value; one that did not is a fail, which
         * the checker drops. */
        *next = op->argument[1];
        return value == op->argument[0];
    case STOA_CHECK_F_INCR:
    case STOA_CHECK_F_PUSH_BACK:
    case STOA_CHECK_F_PUSH_FRONT:
    case STOA_CHECK_F_POP_FRONT:
    case STOA_CHECK_F_POP_BACK:
    case STOA_CHECK_F_COUNT:
        break;
    }
    STOA_UNREACHABLE();
}

static bool step_counter(const struct stoa_check_op *op, int64_t count, int64_t *next) {
    if (op->f == STOA_CHECK_F_READ) {
        *next = count;
        return !op->result_known || op->result == count;
    }
    STOA_ASSERT(op->f == STOA_CHECK_F_INCR);
    /* An incr past int64 is refused by the store (an error, so a fail): never a step. */
    if (__builtin_add_overflow(count, op->argument[0], next)) {
        return false;
    }
    return !op->result_known || op->result == *next;
}

/* Deque read: the state must equal the list of the result's elements. */
static bool deque_equals(const struct stoa_check_history *history, int64_t list,
                         const int64_t *state, size_t length) {
    if (list == STOA_CHECK_VALUE_NULL) {
        return length == 0;
    }
    const struct stoa_check_value *value = &history->values[list];
    if (value->element_count != length) {
        return false;
    }
    const uint32_t *elements = &history->element_pool[value->element_offset];
    for (size_t i = 0; i < length; i++) {
        if ((int64_t)elements[i] != state[i]) {
            return false;
        }
    }
    return true;
}

static bool step_deque(const struct stoa_check_history *history, const struct stoa_check_op *op,
                       const int64_t *state, size_t length, int64_t *next, size_t *next_length) {
    bool front = op->f == STOA_CHECK_F_POP_FRONT || op->f == STOA_CHECK_F_PUSH_FRONT;
    switch ((enum stoa_check_f)op->f) {
    case STOA_CHECK_F_READ:
        memcpy(next, state, length * sizeof *state);
        *next_length = length;
        return !op->result_known || deque_equals(history, op->result, state, length);
    case STOA_CHECK_F_PUSH_BACK:
    case STOA_CHECK_F_PUSH_FRONT:
        memcpy(next + (front ? 1 : 0), state, length * sizeof *state);
        next[front ? 0 : length] = op->argument[0];
        *next_length = length + 1;
        return true;
    case STOA_CHECK_F_POP_FRONT:
    case STOA_CHECK_F_POP_BACK:
        if (length == 0) {
            /* A pop of an empty deque returns null and changes nothing. */
            *next_length = 0;
            return !op->result_known || op->result == STOA_CHECK_VALUE_NULL;
        }
        if (op->result_known && op->result != state[front ? 0 : length - 1]) {
            return false;
        }
        memcpy(next, state + (front ? 1 : 0), (length - 1) * sizeof *state);
        *next_length = length - 1;
        return true;
    case STOA_CHECK_F_WRITE:
    case STOA_CHECK_F_CAS:
    case STOA_CHECK_F_INCR:
    case STOA_CHECK_F_COUNT:
        break;
    }
    STOA_UNREACHABLE();
}

bool stoa_check_model_step(const struct stoa_check_history *history, const struct stoa_check_op *op,
                           const int64_t *state, size_t length, int64_t *next,
                           size_t *next_length) {
    switch (history->model) {
    case STOA_CHECK_MODEL_REGISTER:
        STOA_DEBUG_ASSERT(length == 1);
        *next_length = 1;
        return step_register(op, state[0], next);
    case STOA_CHECK_MODEL_COUNTER:
        STOA_DEBUG_ASSERT(length == 1);
        *next_length = 1;
        return step_counter(op, state[0], next);
    case STOA_CHECK_MODEL_DEQUE:
        return step_deque(history, op, state, length, next, next_length);
    case STOA_CHECK_MODEL_AUTO:
        break;
    }
    STOA_UNREACHABLE();
}

int stoa_check_model_render(const struct stoa_check_history *history, const int64_t *state,
                            size_t length, struct stoa_buf *out) {
    if (history->model == STOA_CHECK_MODEL_COUNTER) {
        return check_append_format(out, "%lld", (long long)state[0]);
    }
    if (history->model == STOA_CHECK_MODEL_REGISTER) {
        const struct stoa_check_value *value = &history->values[state[0]];
        return check_append_cut(out, value->text, value->text_length);
    }
    size_t start = out->length;
    int rc = stoa_buf_append_byte(out, '[');
    for (size_t i = 0; i < length && rc == 0; i++) {
        if (out->length - start > STOA_CHECK_QUOTE_BYTES_MAX) {
            return check_append_format(out, "... (%zu elements)]", length);
        }
        const struct stoa_check_value *value = &history->values[state[i]];
        rc = i == 0 ? 0 : stoa_buf_append_byte(out, ',');
        rc = rc != 0 ? rc : check_append_cut(out, value->text, value->text_length);
    }
    return rc != 0 ? rc : stoa_buf_append_byte(out, ']');
}
