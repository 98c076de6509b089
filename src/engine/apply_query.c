/* The reads of the apply module (stoa_query; apply.h). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/apply_int.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* Looks up a key that must hold `type` or be missing (*value NULL). */
static int lookup_typed(struct apply_call *call, size_t i, enum stoa_value_type type,
                        const struct stoa_value **value) {
    int64_t expiry = 0;
    int result = apply_lookup(call, i, value, &expiry);
    if (result == STOA_OK && *value != NULL && (*value)->type != type) {
        return apply_fail(call, STOA_ERR_TYPE, NULL);
    }
    return result;
}

static int query_get(struct apply_call *call) {
    const struct stoa_value *value = NULL;
    int result = lookup_typed(call, 0, STOA_VALUE_BYTES, &value);
    if (result == STOA_OK && value == NULL) {
        apply_reply_null(call);
    } else if (result == STOA_OK) {
        apply_reply_value(call, value);
    }
    return result;
}

static int query_mget(struct apply_call *call) {
    call->reply->ops->array(call->reply, call->count);
    for (size_t i = 0; i < call->count; i++) {
        const struct stoa_value *value = NULL;
        int64_t expiry = 0;
        const struct stoa_command_argument *key = apply_argument(call, i);
        int result = stoa_backend_lookup(call->backend, call->now_ms, key->data, key->length,
                                         &value, &expiry);
        if (result == STOA_OK && value->type == STOA_VALUE_BYTES) {
            apply_reply_value(call, value);
        } else {
            apply_reply_null(call);
        }
    }
    return STOA_OK;
}

static int query_strlen(struct apply_call *call) {
    const struct stoa_value *value = NULL;
    int result = lookup_typed(call, 0, STOA_VALUE_BYTES, &value);
    if (result == STOA_OK) {
        const uint8_t *data = NULL;
        size_t length = 0;
        if (value != NULL) {
            stoa_value_bytes_get(value, &data, &length);
        }
        apply_reply_integer(call, (int64_t)length);
    }
    return result;
}

static int query_getrange(struct apply_call *call) {
    int64_t start = 0;
    int64_t end = 0;
    const struct stoa_value *value = NULL;
    int result = apply_int64(call, 1, &start);
    result = result == STOA_OK ? apply_int64(call, 2, &end) : result;
    result = result == STOA_OK ? lookup_typed(call, 0, STOA_VALUE_BYTES, &value) : result;
    if (result != STOA_OK) {
        return result;
    }
    const uint8_t *data = NULL;
    size_t length = 0;
    if (value != NULL) {
        stoa_value_bytes_get(value, &data, &length);
    }
    int64_t n = (int64_t)length;
    /* Redis 7's rules, in its order. */
    if ((start < 0 && end < 0 && start > end) || n == 0) {
        apply_reply_bulk(call, NULL, 0);
        return STOA_OK;
    }
    start = start < 0 ? (start < -n ? 0 : start + n) : start;
    end = end < 0 ? (end < -n ? 0 : end + n) : end;
    end = end >= n ? n - 1 : end;
    if (start > end) {
        apply_reply_bulk(call, NULL, 0);
        return STOA_OK;
    }
    apply_reply_bulk(call, data + start, (size_t)(end - start + 1));
    return STOA_OK;
}

static int query_exists(struct apply_call *call) {
    int64_t found = 0;
    for (size_t i = 0; i < call->count; i++) {
        const struct stoa_command_argument *key = apply_argument(call, i);
        if (stoa_backend_lookup(call->backend, call->now_ms, key->data, key->length, NULL, NULL) ==
            STOA_OK) {
            found++;
        }
    }
    apply_reply_integer(call, found);
    return STOA_OK;
}

static const char *type_name(enum stoa_value_type type) {
    switch (type) {
    case STOA_VALUE_BYTES:
        return "string";
    case STOA_VALUE_DEQUE:
        return "list";
    case STOA_VALUE_OBJECT:
        return "object";
    case STOA_VALUE_NONE:
        break;
    }
    return "none";
}

static int query_type(struct apply_call *call) {
    const struct stoa_value *value = NULL;
    int64_t expiry = 0;
    int result = apply_lookup(call, 0, &value, &expiry);
    if (result == STOA_OK) {
        call->reply->ops->status(call->reply, value == NULL ? "none" : type_name(value->type));
    }
    return result;
}

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME: Redis's -2 (missing) and -1 (no expiry). */
static int ttl_common(struct apply_call *call, bool milliseconds, bool absolute) {
    const struct stoa_value *value = NULL;
    int64_t expiry = 0;
    int result = apply_lookup(call, 0, &value, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (value == NULL || expiry == 0) {
        apply_reply_integer(call, value == NULL ? -2 : -1);
        return STOA_OK;
    }
    int64_t ttl = absolute ? expiry : expiry - call->now_ms;
    ttl = ttl < 0 ? 0 : ttl;
    apply_reply_integer(call, milliseconds ? ttl : (ttl + 500) / 1000);
    return STOA_OK;
}

static int query_ttl(struct apply_call *call) {
    return ttl_common(call, false, false);
}
static int query_pttl(struct apply_call *call) {
    return ttl_common(call, true, false);
}
static int query_expiretime(struct apply_call *call) {
    return ttl_common(call, false, true);
}
static int query_pexpiretime(struct apply_call *call) {
    return ttl_common(call, true, true);
}

static int query_dbsize(struct apply_call *call) {
    size_t count = 0;
    int result = stoa_backend_count(call->backend, &count);
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    apply_reply_integer(call, (int64_t)count);
    return STOA_OK;
}

static int query_randomkey(struct apply_call *call) {
    int64_t random = 0;
    int result = apply_int64(call, 0, &random);
    if (result != STOA_OK) {
        return result;
    }
    const uint8_t *key = NULL;
    size_t length = 0;
    result = stoa_backend_random_key(call->backend, call->now_ms, (uint64_t)random, &key, &length);
    if (result == STOA_ERR_NOT_FOUND) {
        apply_reply_null(call);
        return STOA_OK;
    }
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    apply_reply_bulk(call, key, length);
    return STOA_OK;
}

/* Keys collected by a scan: each as its length (a size_t) then its bytes, in scratch. */
struct collect {
    struct stoa_buf *keys;
    const struct stoa_command_argument *pattern; /* NULL: every key */
    const char *type;                            /* NULL: every type */
    size_t count;
    int error;
};

static void collect_key(void *context, const uint8_t *key, size_t key_length,
                        const struct stoa_value *value, int64_t expire_at_ms) {
    (void)expire_at_ms;
    struct collect *collect = context;
    if (collect->error != STOA_OK) {
        return;
    }
    if (collect->type != NULL && strcmp(collect->type, type_name(value->type)) != 0) {
        return;
    }
    if (collect->pattern != NULL &&
        !stoa_query_glob_match(collect->pattern->data, collect->pattern->length, key, key_length)) {
        return;
    }
    collect->error = stoa_buf_append(collect->keys, &key_length, sizeof(key_length));
    if (collect->error == STOA_OK && key_length > 0) {
        collect->error = stoa_buf_append(collect->keys, key, key_length);
    }
    collect->count += collect->error == STOA_OK ? 1 : 0;
}

static void reply_collected(struct apply_call *call, const struct collect *collect) {
    call->reply->ops->array(call->reply, collect->count);
    size_t offset = 0;
    for (size_t i = 0; i < collect->count; i++) {
        size_t length = 0;
        memcpy(&length, collect->keys->data + offset, sizeof(length));
        offset += sizeof(length);
        apply_reply_bulk(call, collect->keys->data + offset, length);
        offset += length;
    }
}

static int query_keys(struct apply_call *call) {
    stoa_buf_reset(&call->state->scratch);
    struct collect collect = {
        .keys = &call->state->scratch, .pattern = apply_argument(call, 0), .error = STOA_OK};
    const struct stoa_command_argument *pattern = collect.pattern;
    if (pattern->length == 1 && pattern->data[0] == '*') {
        collect.pattern = NULL; /* the common case skips the matcher */
    }
    uint64_t cursor = 0;
    do {
        int result = stoa_backend_scan(call->backend, call->now_ms, cursor, 1024, collect_key,
                                       &collect, &cursor);
        collect.error = collect.error == STOA_OK ? result : collect.error;
    } while (cursor != 0 && collect.error == STOA_OK);
    if (collect.error != STOA_OK) {
        return apply_fail(call, collect.error,
                          collect.error == STOA_ERR_NOMEM ? NULL : "ERR too many keys: use SCAN");
    }
    reply_collected(call, &collect);
    return STOA_OK;
}

static int query_scan(struct apply_call *call) {
    int64_t cursor = 0;
    int64_t count = 0;
    uint8_t flags = 0;
    int result = apply_int64(call, 0, &cursor);
    result = result == STOA_OK ? apply_int64(call, 1, &count) : result;
    result = result == STOA_OK
                 ? apply_flags(call, 2, STOA_OP_SCAN_MATCH | STOA_OP_SCAN_TYPE, &flags)
                 : result;
    if (result != STOA_OK) {
        return result;
    }
    if (count < 1) {
        return apply_fail(call, STOA_ERR_MALFORMED, "ERR syntax error");
    }
    count = count > STOA_APPLY_SCAN_COUNT_MAX ? STOA_APPLY_SCAN_COUNT_MAX : count;
    char type[16] = {0};
    const struct stoa_command_argument *type_argument = apply_argument(call, 4);
    if ((flags & STOA_OP_SCAN_TYPE) != 0 && type_argument->length < sizeof(type)) {
        memcpy(type, type_argument->data, type_argument->length);
    }
    stoa_buf_reset(&call->state->scratch);
    struct collect collect = {
        .keys = &call->state->scratch,
        .pattern = (flags & STOA_OP_SCAN_MATCH) != 0 ? apply_argument(call, 3) : NULL,
        .type = (flags & STOA_OP_SCAN_TYPE) != 0 ? type : NULL,
        .error = STOA_OK,
    };
    uint64_t next = 0;
    result = stoa_backend_scan(call->backend, call->now_ms, (uint64_t)cursor, (size_t)count,
                               collect_key, &collect, &next);
    result = result == STOA_OK ? collect.error : result;
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    char text[24];
    int length = snprintf(text, sizeof(text), "%" PRIu64, next);
    STOA_ASSERT(length > 0 && (size_t)length < sizeof(text));
    call->reply->ops->array(call->reply, 2);
    apply_reply_bulk(call, (const uint8_t *)text, (size_t)length);
    reply_collected(call, &collect);
    return STOA_OK;
}

static int query_llen(struct apply_call *call) {
    const struct stoa_value *value = NULL;
    int result = lookup_typed(call, 0, STOA_VALUE_DEQUE, &value);
    if (result == STOA_OK) {
        apply_reply_integer(call, value == NULL ? 0 : (int64_t)stoa_value_deque_length(value));
    }
    return result;
}

static int query_lrange(struct apply_call *call) {
    int64_t start = 0;
    int64_t stop = 0;
    const struct stoa_value *value = NULL;
    int result = apply_int64(call, 1, &start);
    result = result == STOA_OK ? apply_int64(call, 2, &stop) : result;
    result = result == STOA_OK ? lookup_typed(call, 0, STOA_VALUE_DEQUE, &value) : result;
    if (result != STOA_OK) {
        return result;
    }
    size_t first = 0;
    size_t count = 0;
    if (value != NULL) {
        stoa_value_deque_range(value, start, stop, &first, &count);
    }
    call->reply->ops->array(call->reply, count);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *data = NULL;
        size_t length = 0;
        result = stoa_value_deque_get(value, (int64_t)(first + i), &data, &length);
        STOA_ASSERT(result == STOA_OK);
        apply_reply_bulk(call, data, length);
    }
    return STOA_OK;
}

static int query_lindex(struct apply_call *call) {
    int64_t index = 0;
    const struct stoa_value *value = NULL;
    int result = apply_int64(call, 1, &index);
    result = result == STOA_OK ? lookup_typed(call, 0, STOA_VALUE_DEQUE, &value) : result;
    if (result != STOA_OK) {
        return result;
    }
    const uint8_t *data = NULL;
    size_t length = 0;
    if (value == NULL || stoa_value_deque_get(value, index, &data, &length) != STOA_OK) {
        apply_reply_null(call);
        return STOA_OK;
    }
    apply_reply_bulk(call, data, length);
    return STOA_OK;
}

struct lpos {
    int64_t rank;
    uint64_t count;  /* 0 = every match */
    uint64_t maxlen; /* 0 = the whole deque */
};

/* Walks the matches LPOS selects; replies each index when reply, and returns how many. */
static size_t lpos_walk(struct apply_call *call, const struct stoa_value *value,
                        const struct lpos *lpos, bool reply) {
    const struct stoa_command_argument *element = apply_argument(call, 1);
    size_t length = stoa_value_deque_length(value);
    uint64_t skip = lpos->rank > 0 ? (uint64_t)lpos->rank - 1 : (uint64_t)(-(lpos->rank + 1));
    size_t found = 0;
    for (size_t step = 0; step < length && (lpos->maxlen == 0 || step < lpos->maxlen); step++) {
        size_t index = lpos->rank > 0 ? step : length - 1 - step;
        const uint8_t *data = NULL;
        size_t data_length = 0;
        int result = stoa_value_deque_get(value, (int64_t)index, &data, &data_length);
        STOA_ASSERT(result == STOA_OK);
        if (data_length != element->length ||
            (data_length > 0 && memcmp(data, element->data, data_length) != 0)) {
            continue;
        }
        if (skip > 0) {
            skip--;
            continue;
        }
        if (reply) {
            apply_reply_integer(call, (int64_t)index);
        }
        found++;
        if (lpos->count != 0 && found == lpos->count) {
            break;
        }
    }
    return found;
}

static int lpos_parse(struct apply_call *call, struct lpos *lpos, uint8_t *flags) {
    int64_t count = 0;
    int64_t maxlen = 0;
    int result = apply_int64(call, 2, &lpos->rank);
    result = result == STOA_OK ? apply_int64(call, 3, &count) : result;
    result = result == STOA_OK ? apply_int64(call, 4, &maxlen) : result;
    result = result == STOA_OK ? apply_flags(call, 5, STOA_OP_LPOS_COUNT, flags) : result;
    if (result != STOA_OK) {
        return result;
    }
    if (lpos->rank == 0 || lpos->rank == INT64_MIN) {
        return apply_fail(call, STOA_ERR_RANGE,
                          lpos->rank == 0 ? "ERR RANK can't be zero: use 1 to start from the "
                                            "first match, 2 from the second ... or use negative "
                                            "to start from the end of the list"
                                          : "ERR value is out of range");
    }
    if (count < 0 || maxlen < 0) {
        return apply_fail(call, STOA_ERR_RANGE,
                          count < 0 ? "ERR COUNT can't be negative"
                                    : "ERR MAXLEN can't be negative");
    }
    lpos->count = (*flags & STOA_OP_LPOS_COUNT) != 0 ? (uint64_t)count : 1;
    lpos->maxlen = (uint64_t)maxlen;
    return STOA_OK;
}

static int query_lpos(struct apply_call *call) {
    struct lpos lpos = {0};
    uint8_t flags = 0;
    const struct stoa_value *value = NULL;
    int result = lpos_parse(call, &lpos, &flags);
    result = result == STOA_OK ? lookup_typed(call, 0, STOA_VALUE_DEQUE, &value) : result;
    if (result != STOA_OK) {
        return result;
    }
    bool as_array = (flags & STOA_OP_LPOS_COUNT) != 0;
    if (value == NULL) {
        if (as_array) {
            call->reply->ops->array(call->reply, 0);
        } else {
            apply_reply_null(call);
        }
        return STOA_OK;
    }
    if (!as_array) {
        if (lpos_walk(call, value, &lpos, false) == 0) {
            apply_reply_null(call);
        } else {
            (void)lpos_walk(call, value, &lpos, true);
        }
        return STOA_OK;
    }
    call->reply->ops->array(call->reply, lpos_walk(call, value, &lpos, false));
    (void)lpos_walk(call, value, &lpos, true);
    return STOA_OK;
}

static int query_object_get(struct apply_call *call) {
    const struct stoa_value *value = NULL;
    int result = lookup_typed(call, 0, STOA_VALUE_OBJECT, &value);
    if (result != STOA_OK) {
        return result;
    }
    if (value == NULL) {
        call->reply->ops->null_array(call->reply);
        return STOA_OK;
    }
    struct stoa_object_fields fields;
    stoa_value_object_get(value, &fields);
    call->reply->ops->array(call->reply, 5);
    apply_reply_bulk(call, fields.id, fields.id_length);
    apply_reply_bulk(call, fields.data, fields.data_length);
    apply_reply_integer(call, fields.creation_time_ms);
    apply_reply_integer(call, fields.ttl_s);
    apply_reply_integer(call, fields.last_modified_ms);
    return STOA_OK;
}

#define ANY SIZE_MAX

struct read_spec {
    apply_handler_fn handler;
    size_t arguments_min;
    size_t arguments_max;
};

static const struct read_spec read_specs[STOA_OP_READ_END - STOA_OP_GET] = {
    [STOA_OP_GET - STOA_OP_GET] = {query_get, 1, 1},
    [STOA_OP_MGET - STOA_OP_GET] = {query_mget, 1, ANY},
    [STOA_OP_STRLEN - STOA_OP_GET] = {query_strlen, 1, 1},
    [STOA_OP_GETRANGE - STOA_OP_GET] = {query_getrange, 3, 3},
    [STOA_OP_EXISTS - STOA_OP_GET] = {query_exists, 1, ANY},
    [STOA_OP_TYPE - STOA_OP_GET] = {query_type, 1, 1},
    [STOA_OP_KEYS - STOA_OP_GET] = {query_keys, 1, 1},
    [STOA_OP_SCAN - STOA_OP_GET] = {query_scan, 5, 5},
    [STOA_OP_RANDOMKEY - STOA_OP_GET] = {query_randomkey, 1, 1},
    [STOA_OP_DBSIZE - STOA_OP_GET] = {query_dbsize, 0, 0},
    [STOA_OP_TTL - STOA_OP_GET] = {query_ttl, 1, 1},
    [STOA_OP_PTTL - STOA_OP_GET] = {query_pttl, 1, 1},
    [STOA_OP_EXPIRETIME - STOA_OP_GET] = {query_expiretime, 1, 1},
    [STOA_OP_PEXPIRETIME - STOA_OP_GET] = {query_pexpiretime, 1, 1},
    [STOA_OP_LLEN - STOA_OP_GET] = {query_llen, 1, 1},
    [STOA_OP_LRANGE - STOA_OP_GET] = {query_lrange, 3, 3},
    [STOA_OP_LINDEX - STOA_OP_GET] = {query_lindex, 2, 2},
    [STOA_OP_LPOS - STOA_OP_GET] = {query_lpos, 6, 6},
    [STOA_OP_OBJECT_GET - STOA_OP_GET] = {query_object_get, 1, 1},
};

int stoa_query(struct stoa_apply_state *state, int64_t now_ms, uint32_t opcode,
               const struct stoa_command_argument *arguments, size_t count,
               struct stoa_reply *reply) {
    STOA_ASSERT(state != NULL && reply != NULL && (arguments != NULL || count == 0));
    struct apply_call call = {
        .state = state,
        .backend = state->backend,
        .now_ms = now_ms < 0 ? 0 : now_ms,
        .arguments = arguments,
        .count = count,
        .reply = reply,
    };
    const struct read_spec *spec = opcode >= STOA_OP_GET && opcode < STOA_OP_READ_END
                                       ? &read_specs[opcode - STOA_OP_GET]
                                       : NULL;
    if (spec == NULL || spec->handler == NULL) {
        return apply_fail(&call, STOA_ERR_MALFORMED, "ERR unknown read opcode");
    }
    if (count < spec->arguments_min || count > spec->arguments_max) {
        return apply_fail(&call, STOA_ERR_MALFORMED, "ERR wrong number of arguments");
    }
    int result = spec->handler(&call);
    if (state->scratch.capacity > STOA_APPLY_SCRATCH_KEEP_BYTES) {
        stoa_buf_free(&state->scratch);
    }
    stoa_buf_reset(&state->scratch);
    return result;
}
