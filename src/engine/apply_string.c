/* The string and counter writes of the apply module (apply.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/apply_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

static size_t bytes_length(const struct stoa_value *value) {
    const uint8_t *data = NULL;
    size_t length = 0;
    stoa_value_bytes_get(value, &data, &length);
    return length;
}

/* Stores a new bytes value holding data under the key in argument key_index. Replies
 * nothing on success; replies the error otherwise. */
static int put_bytes(struct apply_call *call, size_t key_index, const uint8_t *data, size_t length,
                     int64_t expire_at_ms) {
    const struct stoa_command_argument *key = apply_argument(call, key_index);
    if (length > STOA_VALUE_BYTES_MAX) {
        return apply_fail(call, STOA_ERR_TOO_LARGE, NULL);
    }
    struct stoa_value value;
    stoa_value_init(&value);
    int result = stoa_value_bytes_set(&value, data, length);
    if (result == STOA_OK) {
        result = stoa_backend_put(call->backend, call->now_ms, key->data, key->length, &value,
                                  expire_at_ms);
        stoa_value_free(&value);
    }
    if (result != STOA_OK) {
        return apply_fail(call, result,
                          result == STOA_ERR_TOO_LARGE ? "ERR key exceeds maximum allowed size"
                                                       : NULL);
    }
    return STOA_OK;
}

/* What SET replies when it did not set. */
static int set_not_done(struct apply_call *call, uint8_t flags, const struct stoa_value *old) {
    if ((flags & STOA_OP_SET_GET) != 0 && old != NULL) {
        apply_reply_value(call, old);
    } else if ((flags & STOA_OP_SET_INTEGER) != 0) {
        apply_reply_integer(call, 0);
    } else {
        apply_reply_null(call);
    }
    return STOA_OK;
}

int apply_set(struct apply_call *call) {
    uint8_t flags = 0;
    int64_t expire_at_ms = 0;
    const uint8_t allowed = STOA_OP_SET_NX | STOA_OP_SET_XX | STOA_OP_SET_KEEPTTL |
                            STOA_OP_SET_GET | STOA_OP_SET_INTEGER;
    int result = apply_flags(call, 2, allowed, &flags);
    if (result == STOA_OK) {
        result = apply_int64(call, 3, &expire_at_ms);
    }
    if (result != STOA_OK) {
        return result;
    }
    if (expire_at_ms < 0 || ((flags & STOA_OP_SET_NX) != 0 && (flags & STOA_OP_SET_XX) != 0)) {
        return apply_fail(call, STOA_ERR_MALFORMED, NULL);
    }
    const struct stoa_value *old = NULL;
    int64_t old_expiry = 0;
    result = apply_lookup(call, 0, &old, &old_expiry);
    if (result != STOA_OK) {
        return result;
    }
    if ((flags & STOA_OP_SET_GET) != 0 && old != NULL && old->type != STOA_VALUE_BYTES) {
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    bool skip = ((flags & STOA_OP_SET_NX) != 0 && old != NULL) ||
                ((flags & STOA_OP_SET_XX) != 0 && old == NULL);
    if (skip) {
        return set_not_done(call, flags, old);
    }
    /* The old value is freed by the put: keep a copy to reply with. */
    const uint8_t *previous = NULL;
    size_t previous_length = 0;
    if ((flags & STOA_OP_SET_GET) != 0 && old != NULL) {
        const uint8_t *data = NULL;
        stoa_value_bytes_get(old, &data, &previous_length);
        result = apply_scratch_copy(call, data, previous_length, &previous);
        if (result != STOA_OK) {
            return result;
        }
    }
    if ((flags & STOA_OP_SET_KEEPTTL) != 0) {
        expire_at_ms = old_expiry;
    }
    const struct stoa_command_argument *data = apply_argument(call, 1);
    result = put_bytes(call, 0, data->data, data->length, expire_at_ms);
    if (result != STOA_OK) {
        return result;
    }
    if ((flags & STOA_OP_SET_GET) != 0) {
        if (previous != NULL) {
            apply_reply_bulk(call, previous, previous_length);
        } else {
            apply_reply_null(call);
        }
    } else if ((flags & STOA_OP_SET_INTEGER) != 0) {
        apply_reply_integer(call, 1);
    } else {
        apply_reply_ok(call);
    }
    return STOA_OK;
}

int apply_getdel(struct apply_call *call) {
    const struct stoa_value *value = NULL;
    int64_t expiry = 0;
    int result = apply_lookup(call, 0, &value, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (value == NULL) {
        apply_reply_null(call);
        return STOA_OK;
    }
    if (value->type != STOA_VALUE_BYTES) {
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    /* The reply copies the bytes now; removing never fails for the keyspace. */
    const struct stoa_command_argument *key = apply_argument(call, 0);
    apply_reply_value(call, value);
    (void)stoa_backend_remove(call->backend, call->now_ms, key->data, key->length);
    return STOA_OK;
}

int apply_getex(struct apply_call *call) {
    uint8_t flags = 0;
    int64_t expire_at_ms = 0;
    int result = apply_flags(call, 1, STOA_OP_GETEX_PERSIST | STOA_OP_GETEX_EXPIRE, &flags);
    if (result == STOA_OK) {
        result = apply_int64(call, 2, &expire_at_ms);
    }
    if (result != STOA_OK) {
        return result;
    }
    if (flags == (STOA_OP_GETEX_PERSIST | STOA_OP_GETEX_EXPIRE)) {
        return apply_fail(call, STOA_ERR_MALFORMED, NULL);
    }
    const struct stoa_value *value = NULL;
    int64_t expiry = 0;
    result = apply_lookup(call, 0, &value, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (value == NULL) {
        apply_reply_null(call);
        return STOA_OK;
    }
    if (value->type != STOA_VALUE_BYTES) {
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    if (flags == 0) {
        apply_reply_value(call, value);
        return STOA_OK;
    }
    const uint8_t *data = NULL;
    size_t length = 0;
    stoa_value_bytes_get(value, &data, &length);
    const uint8_t *copy = NULL;
    result = apply_scratch_copy(call, data, length, &copy);
    if (result != STOA_OK) {
        return result;
    }
    int64_t at = (flags & STOA_OP_GETEX_PERSIST) != 0 ? 0 : expire_at_ms;
    const struct stoa_command_argument *key = apply_argument(call, 0);
    if (at < 0) {
        at = call->now_ms; /* a time before the epoch is in the past: delete */
    }
    if (at == 0 && (flags & STOA_OP_GETEX_EXPIRE) != 0) {
        at = call->now_ms;
    }
    result = stoa_backend_expiry_set(call->backend, call->now_ms, key->data, key->length, at);
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    apply_reply_bulk(call, copy, length);
    return STOA_OK;
}

/* One key of an MSET: its new value (built before anything changes) and whether the key
 * existed when the command started, with its value's footprint then. */
struct pending {
    struct stoa_value value;
    size_t old_footprint;
    bool existed;
};

static void pending_free(struct pending *pending, size_t count) {
    for (size_t i = 0; i < count; i++) {
        stoa_value_free(&pending[i].value);
    }
}

/* Builds the new values and classifies the keys; *growth is what replacing the existing
 * keys may add at most (the sum of the positive differences). Replies on error. */
static int mset_prepare(struct apply_call *call, struct pending *pending, size_t count,
                        size_t *growth, bool *any_existed) {
    size_t built = 0;
    int result = STOA_OK;
    for (; built < count && result == STOA_OK; built++) {
        const struct stoa_command_argument *data = apply_argument(call, 2 * built + 1);
        stoa_value_init(&pending[built].value);
        if (data->length > STOA_VALUE_BYTES_MAX ||
            apply_argument(call, 2 * built)->length > STOA_KEY_BYTES_MAX) {
            result = STOA_ERR_TOO_LARGE;
        } else {
            result = stoa_value_bytes_set(&pending[built].value, data->data, data->length);
        }
    }
    for (size_t i = 0; i < count && result == STOA_OK; i++) {
        const struct stoa_value *old = NULL;
        int64_t expiry = 0;
        result = apply_lookup(call, 2 * i, &old, &expiry);
        if (result != STOA_OK) {
            pending_free(pending, built);
            return result;
        }
        pending[i].existed = old != NULL;
        pending[i].old_footprint = old == NULL ? 0 : stoa_value_footprint(old);
        size_t new_footprint = stoa_value_footprint(&pending[i].value);
        if (old != NULL && new_footprint > pending[i].old_footprint) {
            *growth += new_footprint - pending[i].old_footprint;
        }
        *any_existed = *any_existed || old != NULL;
    }
    if (result != STOA_OK) {
        pending_free(pending, built);
        return apply_fail(call, result, NULL);
    }
    return STOA_OK;
}

/* Deletes the keys phase one inserted (they did not exist before). */
static void mset_undo(struct apply_call *call, const struct pending *pending, size_t count) {
    for (size_t i = 0; i < count; i++) {
        if (!pending[i].existed) {
            const struct stoa_command_argument *key = apply_argument(call, 2 * i);
            (void)stoa_backend_remove(call->backend, call->now_ms, key->data, key->length);
        }
    }
}

/* Puts the keys whose existence is `existed`, in order. On failure sets *failed_at. */
static int mset_phase(struct apply_call *call, struct pending *pending, size_t count, bool existed,
                      size_t *failed_at) {
    for (size_t i = 0; i < count; i++) {
        if (pending[i].existed != existed) {
            continue;
        }
        const struct stoa_command_argument *key = apply_argument(call, 2 * i);
        int result = stoa_backend_put(call->backend, call->now_ms, key->data, key->length,
                                      &pending[i].value, 0);
        if (result != STOA_OK) {
            *failed_at = i;
            return result;
        }
    }
    return STOA_OK;
}

/* MSET in two phases: new keys first (each may fail; undone by deleting them), then the
 * existing keys, replaced in place, which cannot fail once their growth is known to fit. */
static int mset_run(struct apply_call *call, struct pending *pending, size_t count, size_t growth) {
    int result = stoa_backend_reserve(call->backend, call->now_ms, growth, NULL);
    size_t failed_at = count;
    if (result == STOA_OK) {
        result = mset_phase(call, pending, count, false, &failed_at);
        if (result == STOA_OK) {
            result = stoa_backend_reserve(call->backend, call->now_ms, growth, NULL);
        }
        if (result != STOA_OK) {
            mset_undo(call, pending, failed_at);
        }
    }
    if (result == STOA_OK) {
        result = mset_phase(call, pending, count, true, &failed_at);
        /* Only a backend that breaks the reserve contract (or eviction of the very keys
         * being replaced) can fail here. */
        STOA_ASSERT(result == STOA_OK || result == STOA_ERR_NOMEM);
    }
    pending_free(pending, count);
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    return STOA_OK;
}

static int mset_common(struct apply_call *call, bool only_new) {
    size_t count = call->count / 2;
    void *memory = NULL;
    int result = apply_scratch_reserve(call, count * sizeof(struct pending), &memory);
    if (result != STOA_OK) {
        return result;
    }
    struct pending *pending = memory;
    size_t growth = 0;
    bool any_existed = false;
    result = mset_prepare(call, pending, count, &growth, &any_existed);
    if (result != STOA_OK) {
        return result;
    }
    if (only_new && any_existed) {
        pending_free(pending, count);
        apply_reply_integer(call, 0);
        return STOA_OK;
    }
    result = mset_run(call, pending, count, growth);
    if (result != STOA_OK) {
        return result;
    }
    if (only_new) {
        apply_reply_integer(call, 1);
    } else {
        apply_reply_ok(call);
    }
    return STOA_OK;
}

int apply_mset(struct apply_call *call) {
    return mset_common(call, false);
}

int apply_msetnx(struct apply_call *call) {
    return mset_common(call, true);
}

/* Grows the bytes value of a lookup_for_write by `growth` bytes of footprint, then writes
 * data at offset, and commits. Releases and replies on error. */
static int write_in_place(struct apply_call *call, struct stoa_value *value, size_t footprint,
                          size_t offset, const struct stoa_command_argument *data) {
    const struct stoa_command_argument *key = apply_argument(call, 0);
    size_t length = bytes_length(value);
    size_t end = offset + data->length;
    size_t growth = end > length ? stoa_value_bytes_append_growth(value, end - length) : 0;
    int result = stoa_backend_reserve(call->backend, call->now_ms, growth, value);
    if (result == STOA_OK) {
        result = stoa_value_bytes_write(value, offset, data->data, data->length);
    }
    if (result != STOA_OK) {
        stoa_backend_release(call->backend, value);
        return apply_fail(call, result, NULL);
    }
    size_t new_length = bytes_length(value);
    result =
        stoa_backend_commit(call->backend, call->now_ms, key->data, key->length, value, footprint);
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    apply_reply_integer(call, (int64_t)new_length);
    return STOA_OK;
}

/* APPEND or SETRANGE on a missing key: an empty write stores nothing (as Redis). */
static int write_missing(struct apply_call *call, size_t at,
                         const struct stoa_command_argument *data) {
    if (data->length == 0) {
        apply_reply_integer(call, 0);
        return STOA_OK;
    }
    if (at > STOA_VALUE_BYTES_MAX || data->length > STOA_VALUE_BYTES_MAX - at) {
        return apply_fail(call, STOA_ERR_TOO_LARGE, NULL);
    }
    const struct stoa_command_argument *key = apply_argument(call, 0);
    struct stoa_value fresh;
    stoa_value_init(&fresh);
    int result = stoa_value_bytes_set(&fresh, NULL, 0);
    if (result == STOA_OK && at == 0) {
        result = stoa_value_bytes_set(&fresh, data->data, data->length);
    } else if (result == STOA_OK) {
        result = stoa_value_bytes_write(&fresh, at, data->data, data->length);
    }
    if (result == STOA_OK) {
        result = stoa_backend_put(call->backend, call->now_ms, key->data, key->length, &fresh, 0);
    }
    stoa_value_free(&fresh);
    if (result != STOA_OK) {
        return apply_fail(call, result,
                          result == STOA_ERR_TOO_LARGE ? "ERR key exceeds maximum allowed size"
                                                       : NULL);
    }
    apply_reply_integer(call, (int64_t)(at + data->length));
    return STOA_OK;
}

/* APPEND and SETRANGE: offset is where data goes, or -1 for the end. */
static int write_bytes(struct apply_call *call, int64_t offset,
                       const struct stoa_command_argument *data) {
    const struct stoa_command_argument *key = apply_argument(call, 0);
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    int result = stoa_backend_lookup_for_write(call->backend, call->now_ms, key->data, key->length,
                                               &value, &footprint);
    if (result == STOA_ERR_NOT_FOUND) {
        return write_missing(call, offset < 0 ? 0 : (size_t)offset, data);
    }
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    if (value->type != STOA_VALUE_BYTES) {
        stoa_backend_release(call->backend, value);
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    size_t length = bytes_length(value);
    size_t at = offset < 0 ? length : (size_t)offset;
    if (data->length == 0) {
        stoa_backend_release(call->backend, value);
        apply_reply_integer(call, (int64_t)length);
        return STOA_OK;
    }
    if (at > STOA_VALUE_BYTES_MAX || data->length > STOA_VALUE_BYTES_MAX - at) {
        stoa_backend_release(call->backend, value);
        return apply_fail(call, STOA_ERR_TOO_LARGE, NULL);
    }
    return write_in_place(call, value, footprint, at, data);
}

int apply_append(struct apply_call *call) {
    return write_bytes(call, -1, apply_argument(call, 1));
}

int apply_setrange(struct apply_call *call) {
    int64_t offset = 0;
    int result = apply_int64(call, 1, &offset);
    if (result != STOA_OK) {
        return result;
    }
    if (offset < 0) {
        return apply_fail(call, STOA_ERR_RANGE, APPLY_TEXT_OFFSET);
    }
    return write_bytes(call, offset, apply_argument(call, 2));
}
