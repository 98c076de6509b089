/* The GameObject writes of the apply module (Nomad's insert, update, delete; apply.h). */
#include "engine/apply_int.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* The key's expiry for an object's absolute ttl in unix seconds (0 = never). */
static int expiry_of_ttl(struct apply_call *call, int64_t ttl_s, int64_t *expire_at_ms) {
    if (ttl_s < 0 || ttl_s > INT64_MAX / 1000) {
        return apply_fail(call, STOA_ERR_MALFORMED, NULL);
    }
    *expire_at_ms = ttl_s * 1000;
    if (*expire_at_ms != 0 && *expire_at_ms <= call->now_ms) {
        *expire_at_ms = call->now_ms; /* already past: the put deletes */
    }
    return STOA_OK;
}

/* Stores an object under its id (argument 0) with fields; replies on error. */
static int put_object(struct apply_call *call, const struct stoa_object_fields *fields,
                      int64_t expire_at_ms) {
    const struct stoa_command_argument *id = apply_argument(call, 0);
    struct stoa_value value;
    stoa_value_init(&value);
    int result = stoa_value_object_set(&value, fields);
    if (result == STOA_OK) {
        result = stoa_backend_put(call->backend, call->now_ms, id->data, id->length, &value,
                                  expire_at_ms);
        stoa_value_free(&value);
    }
    if (result != STOA_OK) {
        return apply_fail(call, result,
                          result == STOA_ERR_TOO_LARGE ? "ERR object too large" : NULL);
    }
    apply_reply_ok(call);
    return STOA_OK;
}

int apply_object_put(struct apply_call *call) {
    int64_t creation_ms = 0;
    int64_t ttl_s = 0;
    int64_t expire_at_ms = 0;
    int result = apply_int64(call, 2, &creation_ms);
    if (result == STOA_OK) {
        result = apply_int64(call, 3, &ttl_s);
    }
    if (result == STOA_OK) {
        result = expiry_of_ttl(call, ttl_s, &expire_at_ms);
    }
    if (result != STOA_OK) {
        return result;
    }
    const struct stoa_value *old = NULL;
    int64_t expiry = 0;
    result = apply_lookup(call, 0, &old, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (old != NULL) {
        return apply_fail(call, STOA_ERR_EXISTS, "ERR object already exists");
    }
    const struct stoa_command_argument *id = apply_argument(call, 0);
    const struct stoa_command_argument *data = apply_argument(call, 1);
    struct stoa_object_fields fields = {
        .id = id->data,
        .id_length = id->length,
        .data = data->data,
        .data_length = data->length,
        .creation_time_ms = creation_ms,
        .ttl_s = ttl_s,
        .last_modified_ms = call->now_ms,
    };
    return put_object(call, &fields, expire_at_ms);
}

int apply_object_update(struct apply_call *call) {
    int64_t ttl_s = 0;
    int64_t expire_at_ms = 0;
    int result = apply_int64(call, 2, &ttl_s);
    if (result == STOA_OK) {
        result = expiry_of_ttl(call, ttl_s, &expire_at_ms);
    }
    if (result != STOA_OK) {
        return result;
    }
    const struct stoa_value *old = NULL;
    int64_t expiry = 0;
    result = apply_lookup(call, 0, &old, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (old == NULL) {
        return apply_fail(call, STOA_ERR_NOT_FOUND, "ERR no such object");
    }
    if (old->type != STOA_VALUE_OBJECT) {
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    struct stoa_object_fields fields;
    stoa_value_object_get(old, &fields);
    const struct stoa_command_argument *data = apply_argument(call, 1);
    /* The id and creation time stay; the new fields borrow from the command, and the old
     * value stays alive until the put replaces it. */
    fields.data = data->data;
    fields.data_length = data->length;
    fields.ttl_s = ttl_s;
    fields.last_modified_ms = call->now_ms;
    return put_object(call, &fields, expire_at_ms);
}

int apply_object_delete(struct apply_call *call) {
    const struct stoa_value *old = NULL;
    int64_t expiry = 0;
    int result = apply_lookup(call, 0, &old, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (old == NULL) {
        apply_reply_integer(call, 0);
        return STOA_OK;
    }
    if (old->type != STOA_VALUE_OBJECT) {
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    const struct stoa_command_argument *id = apply_argument(call, 0);
    (void)stoa_backend_remove(call->backend, call->now_ms, id->data, id->length);
    apply_reply_integer(call, 1);
    return STOA_OK;
}
