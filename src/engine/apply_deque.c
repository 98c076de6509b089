/* The deque writes of the apply module: PUSH, POP, LSET, LINSERT, LREM, LTRIM, LMOVE. */
#include <string.h>

#include "engine/apply_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

static void elements_free(struct stoa_deque_element **elements, size_t count) {
    for (size_t i = 0; i < count; i++) {
        stoa_free(elements[i]);
    }
}

/* Pushes elements onto a missing key as a new deque. Takes the elements. */
static int push_new(struct apply_call *call, const struct stoa_command_argument *key,
                    enum stoa_deque_end end, struct stoa_deque_element **elements, size_t count,
                    size_t *new_length) {
    struct stoa_value fresh;
    stoa_value_init(&fresh);
    stoa_value_deque_init(&fresh);
    int result = stoa_value_deque_push_elements(&fresh, end, elements, count);
    if (result != STOA_OK) {
        elements_free(elements, count);
        return apply_fail(call, result, NULL);
    }
    result = stoa_backend_put(call->backend, call->now_ms, key->data, key->length, &fresh, 0);
    stoa_value_free(&fresh); /* frees the elements when the put failed */
    if (result != STOA_OK) {
        return apply_fail(call, result,
                          result == STOA_ERR_TOO_LARGE ? "ERR key exceeds maximum allowed size"
                                                       : NULL);
    }
    *new_length = count;
    return STOA_OK;
}

/* Pushes count elements at one end of the deque under key, creating it unless
 * only_existing. Takes the elements (frees them on failure). Replies only on error. */
static int push_elements(struct apply_call *call, const struct stoa_command_argument *key,
                         enum stoa_deque_end end, struct stoa_deque_element **elements,
                         size_t count, bool only_existing, size_t *new_length) {
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    int result = stoa_backend_lookup_for_write(call->backend, call->now_ms, key->data, key->length,
                                               &value, &footprint);
    if (result == STOA_ERR_NOT_FOUND && only_existing) {
        elements_free(elements, count);
        *new_length = 0;
        return STOA_OK;
    }
    if (result == STOA_ERR_NOT_FOUND) {
        return push_new(call, key, end, elements, count, new_length);
    }
    if (result != STOA_OK) {
        elements_free(elements, count);
        return apply_fail(call, result, NULL);
    }
    if (value->type != STOA_VALUE_DEQUE) {
        result = STOA_ERR_TYPE;
    } else {
        size_t data_bytes = 0;
        for (size_t i = 0; i < count; i++) {
            data_bytes += elements[i]->length;
        }
        size_t growth = stoa_value_deque_push_many_growth(value, count, data_bytes);
        result = stoa_backend_reserve(call->backend, call->now_ms, growth, value);
    }
    if (result == STOA_OK) {
        result = stoa_value_deque_push_elements(value, end, elements, count);
    }
    if (result != STOA_OK) {
        stoa_backend_release(call->backend, value);
        elements_free(elements, count);
        return apply_fail(call, result, NULL);
    }
    *new_length = stoa_value_deque_length(value);
    result =
        stoa_backend_commit(call->backend, call->now_ms, key->data, key->length, value, footprint);
    return result == STOA_OK ? STOA_OK : apply_fail(call, result, NULL);
}

/* Looks up a key that must be a deque or missing: *value is NULL when missing. */
static int lookup_deque(struct apply_call *call, size_t i, const struct stoa_value **value) {
    int64_t expiry = 0;
    int result = apply_lookup(call, i, value, &expiry);
    if (result == STOA_OK && *value != NULL && (*value)->type != STOA_VALUE_DEQUE) {
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    return result;
}

int apply_push(struct apply_call *call) {
    uint8_t flags = 0;
    int result = apply_flags(call, 1, STOA_OP_PUSH_BACK | STOA_OP_PUSH_EXISTING, &flags);
    if (result != STOA_OK) {
        return result;
    }
    const struct stoa_value *value = NULL;
    result = lookup_deque(call, 0, &value);
    if (result != STOA_OK) {
        return result;
    }
    bool only_existing = (flags & STOA_OP_PUSH_EXISTING) != 0;
    if (value == NULL && only_existing) {
        apply_reply_integer(call, 0);
        return STOA_OK;
    }
    size_t count = call->count - 2;
    void *memory = NULL;
    result = apply_scratch_reserve(call, count * sizeof(struct stoa_deque_element *), &memory);
    if (result != STOA_OK) {
        return result;
    }
    struct stoa_deque_element **elements = memory;
    for (size_t i = 0; i < count; i++) {
        const struct stoa_command_argument *data = apply_argument(call, i + 2);
        elements[i] = data->length > STOA_VALUE_BYTES_MAX
                          ? NULL
                          : stoa_value_deque_element_make(data->data, data->length);
        if (elements[i] == NULL) {
            elements_free(elements, i);
            return apply_fail(
                call, data->length > STOA_VALUE_BYTES_MAX ? STOA_ERR_TOO_LARGE : STOA_ERR_NOMEM,
                NULL);
        }
    }
    enum stoa_deque_end end = (flags & STOA_OP_PUSH_BACK) != 0 ? STOA_DEQUE_BACK : STOA_DEQUE_FRONT;
    size_t new_length = 0;
    result = push_elements(call, apply_argument(call, 0), end, elements, count, only_existing,
                           &new_length);
    if (result == STOA_OK) {
        apply_reply_integer(call, (int64_t)new_length);
    }
    return result;
}

/* Pops up to count elements into the reply (as an array when as_array). Never fails. */
static void pop_into_reply(struct apply_call *call, struct stoa_value *value,
                           enum stoa_deque_end end, size_t count, bool as_array) {
    size_t length = stoa_value_deque_length(value);
    size_t n = count < length ? count : length;
    if (as_array) {
        call->reply->ops->array(call->reply, n);
    }
    for (size_t i = 0; i < n; i++) {
        struct stoa_deque_element *element = NULL;
        int result = stoa_value_deque_pop(value, end, &element);
        STOA_ASSERT(result == STOA_OK);
        apply_reply_bulk(call, element->data, element->length);
        stoa_free(element);
    }
}

int apply_pop(struct apply_call *call) {
    uint8_t flags = 0;
    int64_t count = 1;
    int result = apply_flags(call, 1, STOA_OP_POP_BACK | STOA_OP_POP_COUNT, &flags);
    if (result == STOA_OK) {
        result = apply_int64(call, 2, &count);
    }
    if (result != STOA_OK) {
        return result;
    }
    bool as_array = (flags & STOA_OP_POP_COUNT) != 0;
    if (!as_array) {
        count = 1;
    }
    if (count < 0) {
        return apply_fail(call, STOA_ERR_RANGE, APPLY_TEXT_POSITIVE);
    }
    const struct stoa_command_argument *key = apply_argument(call, 0);
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    result = stoa_backend_lookup_for_write(call->backend, call->now_ms, key->data, key->length,
                                           &value, &footprint);
    if (result == STOA_ERR_NOT_FOUND) {
        if (as_array) {
            call->reply->ops->null_array(call->reply);
        } else {
            apply_reply_null(call);
        }
        return STOA_OK;
    }
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    if (value->type != STOA_VALUE_DEQUE) {
        stoa_backend_release(call->backend, value);
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    if (count == 0) {
        stoa_backend_release(call->backend, value);
        call->reply->ops->array(call->reply, 0);
        return STOA_OK;
    }
    enum stoa_deque_end end = (flags & STOA_OP_POP_BACK) != 0 ? STOA_DEQUE_BACK : STOA_DEQUE_FRONT;
    pop_into_reply(call, value, end, (uint64_t)count > SIZE_MAX ? SIZE_MAX : (size_t)count,
                   as_array);
    result =
        stoa_backend_commit(call->backend, call->now_ms, key->data, key->length, value, footprint);
    return result == STOA_OK ? STOA_OK : apply_fail(call, result, NULL);
}

/* Starts a write on a deque key: *value is NULL (and the reply untouched) when the key is
 * missing; replies WRONGTYPE (after releasing) for another type. */
static int deque_for_write(struct apply_call *call, struct stoa_value **value, size_t *footprint) {
    const struct stoa_command_argument *key = apply_argument(call, 0);
    int result = stoa_backend_lookup_for_write(call->backend, call->now_ms, key->data, key->length,
                                               value, footprint);
    if (result == STOA_ERR_NOT_FOUND) {
        *value = NULL;
        return STOA_OK;
    }
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    if ((*value)->type != STOA_VALUE_DEQUE) {
        stoa_backend_release(call->backend, *value);
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    return STOA_OK;
}

/* Ends a write begun by deque_for_write: commits (or releases when result is an error,
 * which it then replies). */
static int deque_done(struct apply_call *call, struct stoa_value *value, size_t footprint,
                      int result) {
    if (result != STOA_OK) {
        stoa_backend_release(call->backend, value);
        return apply_fail(call, result, NULL);
    }
    const struct stoa_command_argument *key = apply_argument(call, 0);
    result =
        stoa_backend_commit(call->backend, call->now_ms, key->data, key->length, value, footprint);
    return result == STOA_OK ? STOA_OK : apply_fail(call, result, NULL);
}

int apply_lset(struct apply_call *call) {
    int64_t index = 0;
    int result = apply_int64(call, 1, &index);
    if (result != STOA_OK) {
        return result;
    }
    const struct stoa_command_argument *data = apply_argument(call, 2);
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    result = deque_for_write(call, &value, &footprint);
    if (result != STOA_OK) {
        return result;
    }
    if (value == NULL) {
        return apply_fail(call, STOA_ERR_NOT_FOUND, APPLY_TEXT_NO_SUCH_KEY);
    }
    const uint8_t *old = NULL;
    size_t old_length = 0;
    result = stoa_value_deque_get(value, index, &old, &old_length);
    if (result == STOA_ERR_RANGE) {
        stoa_backend_release(call->backend, value);
        return apply_fail(call, STOA_ERR_RANGE, APPLY_TEXT_INDEX_RANGE);
    }
    if (result == STOA_OK && data->length > STOA_VALUE_BYTES_MAX) {
        result = STOA_ERR_TOO_LARGE;
    }
    if (result == STOA_OK && data->length > old_length) {
        size_t growth = stoa_value_deque_element_footprint(data->length) -
                        stoa_value_deque_element_footprint(old_length);
        result = stoa_backend_reserve(call->backend, call->now_ms, growth, value);
    }
    if (result == STOA_OK) {
        result = stoa_value_deque_set(value, index, data->data, data->length);
    }
    result = deque_done(call, value, footprint, result);
    if (result == STOA_OK) {
        apply_reply_ok(call);
    }
    return result;
}

int apply_linsert(struct apply_call *call) {
    uint8_t flags = 0;
    int result = apply_flags(call, 1, STOA_OP_LINSERT_AFTER, &flags);
    if (result != STOA_OK) {
        return result;
    }
    const struct stoa_command_argument *pivot = apply_argument(call, 2);
    const struct stoa_command_argument *data = apply_argument(call, 3);
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    result = deque_for_write(call, &value, &footprint);
    if (result != STOA_OK || value == NULL) {
        if (result == STOA_OK) {
            apply_reply_integer(call, 0);
        }
        return result;
    }
    size_t index = 0;
    if (stoa_value_deque_find(value, 0, pivot->data, pivot->length, &index) != STOA_OK) {
        stoa_backend_release(call->backend, value);
        apply_reply_integer(call, -1);
        return STOA_OK;
    }
    index += (flags & STOA_OP_LINSERT_AFTER) != 0 ? 1 : 0;
    if (data->length > STOA_VALUE_BYTES_MAX) {
        result = STOA_ERR_TOO_LARGE;
    } else {
        size_t growth = stoa_value_deque_push_growth(value, data->length);
        result = stoa_backend_reserve(call->backend, call->now_ms, growth, value);
    }
    if (result == STOA_OK) {
        result = stoa_value_deque_insert(value, index, data->data, data->length);
    }
    size_t length = result == STOA_OK ? stoa_value_deque_length(value) : 0;
    result = deque_done(call, value, footprint, result);
    if (result == STOA_OK) {
        apply_reply_integer(call, (int64_t)length);
    }
    return result;
}

/* Removes up to limit elements equal to data (0 = all), from the front or the back. */
static size_t remove_matching(struct stoa_value *value, const struct stoa_command_argument *data,
                              uint64_t limit, bool from_back) {
    size_t removed = 0;
    if (!from_back) {
        size_t index = 0;
        while ((limit == 0 || removed < limit) &&
               stoa_value_deque_find(value, index, data->data, data->length, &index) == STOA_OK) {
            (void)stoa_value_deque_remove(value, index);
            removed++;
        }
        return removed;
    }
    for (size_t i = stoa_value_deque_length(value); i > 0 && (limit == 0 || removed < limit); i--) {
        const uint8_t *element = NULL;
        size_t length = 0;
        int result = stoa_value_deque_get(value, (int64_t)(i - 1), &element, &length);
        STOA_ASSERT(result == STOA_OK);
        if (length == data->length && (length == 0 || memcmp(element, data->data, length) == 0)) {
            (void)stoa_value_deque_remove(value, i - 1);
            removed++;
        }
    }
    return removed;
}

int apply_lrem(struct apply_call *call) {
    int64_t count = 0;
    int result = apply_int64(call, 1, &count);
    if (result != STOA_OK) {
        return result;
    }
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    result = deque_for_write(call, &value, &footprint);
    if (result != STOA_OK || value == NULL) {
        if (result == STOA_OK) {
            apply_reply_integer(call, 0);
        }
        return result;
    }
    uint64_t limit = count < 0 ? (uint64_t)0 - (uint64_t)count : (uint64_t)count;
    size_t removed = remove_matching(value, apply_argument(call, 2), limit, count < 0);
    if (removed == 0) {
        stoa_backend_release(call->backend, value);
        apply_reply_integer(call, 0);
        return STOA_OK;
    }
    result = deque_done(call, value, footprint, STOA_OK);
    if (result == STOA_OK) {
        apply_reply_integer(call, (int64_t)removed);
    }
    return result;
}

int apply_ltrim(struct apply_call *call) {
    int64_t start = 0;
    int64_t stop = 0;
    int result = apply_int64(call, 1, &start);
    if (result == STOA_OK) {
        result = apply_int64(call, 2, &stop);
    }
    if (result != STOA_OK) {
        return result;
    }
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    result = deque_for_write(call, &value, &footprint);
    if (result != STOA_OK || value == NULL) {
        if (result == STOA_OK) {
            apply_reply_ok(call);
        }
        return result;
    }
    result = deque_done(call, value, footprint, stoa_value_deque_trim(value, start, stop));
    if (result == STOA_OK) {
        apply_reply_ok(call);
    }
    return result;
}

/* LMOVE within one deque: push a copy at the destination end, then pop the source end. */
static int move_within(struct apply_call *call, enum stoa_deque_end from, enum stoa_deque_end to) {
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    int result = deque_for_write(call, &value, &footprint);
    if (result != STOA_OK || value == NULL) {
        if (result == STOA_OK) {
            apply_reply_null(call);
        }
        return result;
    }
    const uint8_t *data = NULL;
    size_t length = 0;
    result = stoa_value_deque_get(value, from == STOA_DEQUE_FRONT ? 0 : -1, &data, &length);
    STOA_ASSERT(result == STOA_OK); /* no empty deque is stored */
    if (from == to) {
        apply_reply_bulk(call, data, length);
        stoa_backend_release(call->backend, value);
        return STOA_OK;
    }
    size_t growth = stoa_value_deque_push_growth(value, length);
    result = stoa_backend_reserve(call->backend, call->now_ms, growth, value);
    if (result == STOA_OK) {
        result = stoa_value_deque_push(value, to, data, length);
    }
    if (result != STOA_OK) {
        return deque_done(call, value, footprint, result);
    }
    struct stoa_deque_element *element = NULL;
    result = stoa_value_deque_pop(value, from, &element);
    STOA_ASSERT(result == STOA_OK);
    apply_reply_bulk(call, element->data, element->length);
    stoa_free(element);
    return deque_done(call, value, footprint, STOA_OK);
}

/* LMOVE between two keys: copy the source element, push the copy onto the destination,
 * then pop the source; nothing changes unless the push succeeds. */
static int move_between(struct apply_call *call, enum stoa_deque_end from, enum stoa_deque_end to) {
    const struct stoa_value *source = NULL;
    int result = lookup_deque(call, 0, &source);
    if (result != STOA_OK || source == NULL) {
        if (result == STOA_OK) {
            apply_reply_null(call);
        }
        return result;
    }
    const uint8_t *data = NULL;
    size_t length = 0;
    result = stoa_value_deque_get(source, from == STOA_DEQUE_FRONT ? 0 : -1, &data, &length);
    STOA_ASSERT(result == STOA_OK);
    struct stoa_deque_element *copy = stoa_value_deque_element_make(data, length);
    if (copy == NULL) {
        return apply_fail(call, STOA_ERR_NOMEM, NULL);
    }
    const struct stoa_value *target = NULL;
    result = lookup_deque(call, 1, &target);
    if (result != STOA_OK) {
        stoa_free(copy);
        return result;
    }
    size_t new_length = 0;
    result = push_elements(call, apply_argument(call, 1), to, &copy, 1, false, &new_length);
    if (result != STOA_OK) {
        return result;
    }
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    result = deque_for_write(call, &value, &footprint);
    if (result != STOA_OK || value == NULL) {
        /* Only eviction under volatile-ttl, making room for the push, can take the source. */
        apply_reply_null(call);
        return STOA_OK;
    }
    struct stoa_deque_element *element = NULL;
    result = stoa_value_deque_pop(value, from, &element);
    STOA_ASSERT(result == STOA_OK);
    apply_reply_bulk(call, element->data, element->length);
    stoa_free(element);
    return deque_done(call, value, footprint, STOA_OK);
}

int apply_lmove(struct apply_call *call) {
    uint8_t flags = 0;
    int result = apply_flags(call, 2, STOA_OP_LMOVE_FROM_BACK | STOA_OP_LMOVE_TO_BACK, &flags);
    if (result != STOA_OK) {
        return result;
    }
    enum stoa_deque_end from =
        (flags & STOA_OP_LMOVE_FROM_BACK) != 0 ? STOA_DEQUE_BACK : STOA_DEQUE_FRONT;
    enum stoa_deque_end to =
        (flags & STOA_OP_LMOVE_TO_BACK) != 0 ? STOA_DEQUE_BACK : STOA_DEQUE_FRONT;
    if (apply_same(apply_argument(call, 0), apply_argument(call, 1))) {
        return move_within(call, from, to);
    }
    return move_between(call, from, to);
}
