/* The key-space writes of the apply module: DEL, RENAME, expiry, FLUSHALL (apply.h). */
#include "engine/apply_int.h"
#include "util/assert.h"
#include "util/err.h"

int apply_del(struct apply_call *call) {
    int64_t deleted = 0;
    for (size_t i = 0; i < call->count; i++) {
        const struct stoa_command_argument *key = apply_argument(call, i);
        if (stoa_backend_remove(call->backend, call->now_ms, key->data, key->length) == STOA_OK) {
            deleted++;
        }
    }
    apply_reply_integer(call, deleted);
    return STOA_OK;
}

static int rename_common(struct apply_call *call, bool only_new) {
    const struct stoa_command_argument *from = apply_argument(call, 0);
    const struct stoa_command_argument *to = apply_argument(call, 1);
    const struct stoa_value *value = NULL;
    int64_t expiry = 0;
    int result = apply_lookup(call, 0, &value, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (value == NULL) {
        return apply_fail(call, STOA_ERR_NOT_FOUND, APPLY_TEXT_NO_SUCH_KEY);
    }
    if (only_new) {
        const struct stoa_value *target = NULL;
        result = apply_lookup(call, 1, &target, &expiry);
        if (result != STOA_OK) {
            return result;
        }
        if (target != NULL) {
            apply_reply_integer(call, 0);
            return STOA_OK;
        }
    }
    result = stoa_backend_rename(call->backend, call->now_ms, from->data, from->length, to->data,
                                 to->length);
    if (result != STOA_OK) {
        return apply_fail(call, result,
                          result == STOA_ERR_TOO_LARGE ? "ERR key exceeds maximum allowed size"
                                                       : NULL);
    }
    if (only_new) {
        apply_reply_integer(call, 1);
    } else {
        apply_reply_ok(call);
    }
    return STOA_OK;
}

int apply_rename(struct apply_call *call) {
    return rename_common(call, false);
}

int apply_renamenx(struct apply_call *call) {
    return rename_common(call, true);
}

/* Redis 7's NX/XX/GT/LT rules; a key without an expiry counts as expiring never. */
static bool expire_allowed(uint8_t flags, int64_t current, int64_t at_ms) {
    if ((flags & STOA_OP_EXPIRE_NX) != 0 && current != 0) {
        return false;
    }
    if ((flags & STOA_OP_EXPIRE_XX) != 0 && current == 0) {
        return false;
    }
    if ((flags & STOA_OP_EXPIRE_GT) != 0 && (current == 0 || at_ms <= current)) {
        return false;
    }
    if ((flags & STOA_OP_EXPIRE_LT) != 0 && current != 0 && at_ms >= current) {
        return false;
    }
    return true;
}

int apply_pexpireat(struct apply_call *call) {
    int64_t at_ms = 0;
    uint8_t flags = 0;
    const uint8_t allowed =
        STOA_OP_EXPIRE_NX | STOA_OP_EXPIRE_XX | STOA_OP_EXPIRE_GT | STOA_OP_EXPIRE_LT;
    int result = apply_int64(call, 1, &at_ms);
    if (result == STOA_OK) {
        result = apply_flags(call, 2, allowed, &flags);
    }
    if (result != STOA_OK) {
        return result;
    }
    if ((flags & STOA_OP_EXPIRE_NX) != 0 && flags != STOA_OP_EXPIRE_NX) {
        return apply_fail(call, STOA_ERR_MALFORMED,
                          "ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if ((flags & STOA_OP_EXPIRE_GT) != 0 && (flags & STOA_OP_EXPIRE_LT) != 0) {
        return apply_fail(call, STOA_ERR_MALFORMED,
                          "ERR GT and LT options at the same time are not compatible");
    }
    const struct stoa_value *value = NULL;
    int64_t current = 0;
    result = apply_lookup(call, 0, &value, &current);
    if (result != STOA_OK) {
        return result;
    }
    if (value == NULL || !expire_allowed(flags, current, at_ms)) {
        apply_reply_integer(call, 0);
        return STOA_OK;
    }
    const struct stoa_command_argument *key = apply_argument(call, 0);
    if (at_ms <= call->now_ms) {
        (void)stoa_backend_remove(call->backend, call->now_ms, key->data, key->length);
    } else {
        result =
            stoa_backend_expiry_set(call->backend, call->now_ms, key->data, key->length, at_ms);
        if (result != STOA_OK) {
            return apply_fail(call, result, NULL);
        }
    }
    apply_reply_integer(call, 1);
    return STOA_OK;
}

int apply_persist(struct apply_call *call) {
    const struct stoa_value *value = NULL;
    int64_t current = 0;
    int result = apply_lookup(call, 0, &value, &current);
    if (result != STOA_OK) {
        return result;
    }
    if (value == NULL || current == 0) {
        apply_reply_integer(call, 0);
        return STOA_OK;
    }
    const struct stoa_command_argument *key = apply_argument(call, 0);
    result = stoa_backend_expiry_set(call->backend, call->now_ms, key->data, key->length, 0);
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    apply_reply_integer(call, 1);
    return STOA_OK;
}

int apply_flushall(struct apply_call *call) {
    int result = stoa_backend_flush(call->backend);
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    apply_reply_ok(call);
    return STOA_OK;
}
