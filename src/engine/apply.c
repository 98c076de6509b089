#include "engine/apply.h"

#include <math.h>
#include <string.h>

#include "engine/apply_int.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* ---- argument helpers ---- */

void stoa_op_int64_put(uint8_t out[8], int64_t value) {
    uint64_t bits = (uint64_t)value;
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(bits >> (8 * i));
    }
}

int stoa_op_int64_get(const struct stoa_command_argument *argument, int64_t *value) {
    STOA_ASSERT(argument != NULL && value != NULL);
    if (argument->length != 8) {
        return STOA_ERR_MALFORMED;
    }
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) {
        bits |= (uint64_t)argument->data[i] << (8 * i);
    }
    *value = (int64_t)bits;
    return STOA_OK;
}

void stoa_op_double_put(uint8_t out[8], double value) {
    uint64_t bits = 0;
    memcpy(&bits, &value, sizeof(bits));
    stoa_op_int64_put(out, (int64_t)bits);
}

int stoa_op_double_get(const struct stoa_command_argument *argument, double *value) {
    int64_t bits = 0;
    if (stoa_op_int64_get(argument, &bits) != STOA_OK) {
        return STOA_ERR_MALFORMED;
    }
    double number = 0;
    memcpy(&number, &bits, sizeof(number));
    if (!isfinite(number)) {
        return STOA_ERR_MALFORMED;
    }
    *value = number;
    return STOA_OK;
}

int stoa_op_flags_get(const struct stoa_command_argument *argument, uint8_t allowed,
                      uint8_t *flags) {
    STOA_ASSERT(argument != NULL && flags != NULL);
    if (argument->length != 1 || (argument->data[0] & ~allowed) != 0) {
        return STOA_ERR_MALFORMED;
    }
    *flags = argument->data[0];
    return STOA_OK;
}

/* ---- state ---- */

void stoa_apply_state_init(struct stoa_apply_state *state, struct stoa_backend *backend,
                           struct stoa_session_table *sessions) {
    STOA_ASSERT(state != NULL && backend != NULL && sessions != NULL);
    state->backend = backend;
    state->sessions = sessions;
    stoa_buf_init(&state->recorded, STOA_SESSION_REPLY_BYTES_MAX);
    stoa_buf_init(&state->scratch, STOA_APPLY_SCRATCH_BYTES_MAX);
}

void stoa_apply_state_free(struct stoa_apply_state *state) {
    STOA_ASSERT(state != NULL);
    stoa_buf_free(&state->recorded);
    stoa_buf_free(&state->scratch);
}

/* Keeps small scratch buffers for the next command and gives large ones back. */
static void scratch_done(struct stoa_apply_state *state) {
    if (state->scratch.capacity > STOA_APPLY_SCRATCH_KEEP_BYTES) {
        stoa_buf_free(&state->scratch);
    }
    stoa_buf_reset(&state->scratch);
}

/* ---- shared helpers ---- */

static const char *default_text(int code) {
    switch (code) {
    case STOA_ERR_TYPE:
        return APPLY_TEXT_WRONGTYPE;
    case STOA_ERR_OUT_OF_MEMORY:
        return APPLY_TEXT_OOM;
    case STOA_ERR_TOO_LARGE:
        return APPLY_TEXT_STRING_SIZE;
    case STOA_ERR_NOT_FOUND:
        return APPLY_TEXT_NO_SUCH_KEY;
    case STOA_ERR_INVALID:
        return APPLY_TEXT_NOT_INTEGER;
    case STOA_ERR_RANGE:
        return APPLY_TEXT_INDEX_RANGE;
    case STOA_ERR_NOMEM:
        return "ERR out of memory";
    case STOA_ERR_MALFORMED:
        return APPLY_TEXT_MALFORMED;
    case STOA_ERR_IO:
        return "ERR the external store failed (see the node's log)";
    case STOA_ERR_UNSUPPORTED:
        return "ERR not supported by this node's storage backend";
    default:
        return "ERR internal error";
    }
}

int apply_fail(struct apply_call *call, int code, const char *text) {
    STOA_ASSERT(code < 0);
    call->reply->ops->error(call->reply, code, text != NULL ? text : default_text(code));
    return code;
}

const struct stoa_command_argument *apply_argument(const struct apply_call *call, size_t i) {
    STOA_ASSERT(i < call->count);
    return &call->arguments[i];
}

int apply_int64(struct apply_call *call, size_t i, int64_t *value) {
    if (stoa_op_int64_get(apply_argument(call, i), value) != STOA_OK) {
        return apply_fail(call, STOA_ERR_MALFORMED, NULL);
    }
    return STOA_OK;
}

int apply_flags(struct apply_call *call, size_t i, uint8_t allowed, uint8_t *flags) {
    if (stoa_op_flags_get(apply_argument(call, i), allowed, flags) != STOA_OK) {
        return apply_fail(call, STOA_ERR_MALFORMED, NULL);
    }
    return STOA_OK;
}

int apply_lookup(struct apply_call *call, size_t i, const struct stoa_value **value,
                 int64_t *expire_at_ms) {
    const struct stoa_command_argument *key = apply_argument(call, i);
    const struct stoa_value *found = NULL;
    int64_t expiry = 0;
    int result =
        stoa_backend_lookup(call->backend, call->now_ms, key->data, key->length, &found, &expiry);
    if (result == STOA_ERR_NOT_FOUND) {
        *value = NULL;
        *expire_at_ms = 0;
        return STOA_OK;
    }
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    *value = found;
    *expire_at_ms = expiry;
    return STOA_OK;
}

int apply_scratch_reserve(struct apply_call *call, size_t size, void **memory) {
    struct stoa_buf *scratch = &call->state->scratch;
    stoa_buf_reset(scratch);
    int result = stoa_buf_reserve(scratch, size == 0 ? 1 : size);
    if (result != STOA_OK) {
        return apply_fail(call, result, result == STOA_ERR_NOMEM ? NULL : "ERR reply too large");
    }
    *memory = scratch->data;
    return STOA_OK;
}

int apply_scratch_copy(struct apply_call *call, const uint8_t *data, size_t length,
                       const uint8_t **copy) {
    void *memory = NULL;
    int result = apply_scratch_reserve(call, length, &memory);
    if (result != STOA_OK) {
        return result;
    }
    if (length > 0) {
        memcpy(memory, data, length);
    }
    *copy = memory;
    return STOA_OK;
}

void apply_reply_ok(struct apply_call *call) {
    call->reply->ops->status(call->reply, "OK");
}

void apply_reply_integer(struct apply_call *call, int64_t value) {
    call->reply->ops->integer(call->reply, value);
}

void apply_reply_bulk(struct apply_call *call, const uint8_t *data, size_t length) {
    static const uint8_t empty[1] = {0};
    call->reply->ops->bulk(call->reply, length == 0 ? empty : data, length);
}

void apply_reply_null(struct apply_call *call) {
    call->reply->ops->null_bulk(call->reply);
}

void apply_reply_value(struct apply_call *call, const struct stoa_value *value) {
    const uint8_t *data = NULL;
    size_t length = 0;
    stoa_value_bytes_get(value, &data, &length);
    apply_reply_bulk(call, data, length);
}

bool apply_same(const struct stoa_command_argument *a, const struct stoa_command_argument *b) {
    return a->length == b->length && (a->length == 0 || memcmp(a->data, b->data, a->length) == 0);
}

/* ---- replies that discard, and replies that write to two places ---- */

static void discard_status(struct stoa_reply *reply, const char *text) {
    (void)reply;
    (void)text;
}
static void discard_error(struct stoa_reply *reply, int code, const char *text) {
    (void)reply;
    (void)code;
    (void)text;
}
static void discard_integer(struct stoa_reply *reply, int64_t value) {
    (void)reply;
    (void)value;
}
static void discard_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    (void)reply;
    (void)data;
    (void)length;
}
static void discard_nothing(struct stoa_reply *reply) {
    (void)reply;
}
static void discard_array(struct stoa_reply *reply, size_t count) {
    (void)reply;
    (void)count;
}

static const struct stoa_reply_ops discard_ops = {
    .status = discard_status,
    .error = discard_error,
    .integer = discard_integer,
    .bulk = discard_bulk,
    .null_bulk = discard_nothing,
    .array = discard_array,
    .null_array = discard_nothing,
};

/* A tee: self points to two replies, the caller's and the recorder's. */
static struct stoa_reply *tee_first(struct stoa_reply *reply) {
    return ((struct stoa_reply **)reply->self)[0];
}
static struct stoa_reply *tee_second(struct stoa_reply *reply) {
    return ((struct stoa_reply **)reply->self)[1];
}
static void tee_status(struct stoa_reply *reply, const char *text) {
    tee_first(reply)->ops->status(tee_first(reply), text);
    tee_second(reply)->ops->status(tee_second(reply), text);
}
static void tee_error(struct stoa_reply *reply, int code, const char *text) {
    tee_first(reply)->ops->error(tee_first(reply), code, text);
    tee_second(reply)->ops->error(tee_second(reply), code, text);
}
static void tee_integer(struct stoa_reply *reply, int64_t value) {
    tee_first(reply)->ops->integer(tee_first(reply), value);
    tee_second(reply)->ops->integer(tee_second(reply), value);
}
static void tee_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    tee_first(reply)->ops->bulk(tee_first(reply), data, length);
    tee_second(reply)->ops->bulk(tee_second(reply), data, length);
}
static void tee_null_bulk(struct stoa_reply *reply) {
    tee_first(reply)->ops->null_bulk(tee_first(reply));
    tee_second(reply)->ops->null_bulk(tee_second(reply));
}
static void tee_array(struct stoa_reply *reply, size_t count) {
    tee_first(reply)->ops->array(tee_first(reply), count);
    tee_second(reply)->ops->array(tee_second(reply), count);
}
static void tee_null_array(struct stoa_reply *reply) {
    tee_first(reply)->ops->null_array(tee_first(reply));
    tee_second(reply)->ops->null_array(tee_second(reply));
}

static const struct stoa_reply_ops tee_ops = {
    .status = tee_status,
    .error = tee_error,
    .integer = tee_integer,
    .bulk = tee_bulk,
    .null_bulk = tee_null_bulk,
    .array = tee_array,
    .null_array = tee_null_array,
};

/* ---- dispatch ---- */

#define ANY SIZE_MAX

struct op_spec {
    apply_handler_fn handler;
    size_t arguments_min;
    size_t arguments_max;
    bool pairs; /* arguments come in key, value pairs */
};

static const struct op_spec write_specs[STOA_OP_WRITE_COUNT] = {
    [STOA_OP_SET] = {apply_set, 4, 4, false},
    [STOA_OP_GETDEL] = {apply_getdel, 1, 1, false},
    [STOA_OP_GETEX] = {apply_getex, 3, 3, false},
    [STOA_OP_MSET] = {apply_mset, 2, ANY, true},
    [STOA_OP_MSETNX] = {apply_msetnx, 2, ANY, true},
    [STOA_OP_APPEND] = {apply_append, 2, 2, false},
    [STOA_OP_SETRANGE] = {apply_setrange, 3, 3, false},
    [STOA_OP_DEL] = {apply_del, 1, ANY, false},
    [STOA_OP_RENAME] = {apply_rename, 2, 2, false},
    [STOA_OP_RENAMENX] = {apply_renamenx, 2, 2, false},
    [STOA_OP_PEXPIREAT] = {apply_pexpireat, 3, 3, false},
    [STOA_OP_PERSIST] = {apply_persist, 1, 1, false},
    [STOA_OP_INCRBY] = {apply_incrby, 2, 2, false},
    [STOA_OP_INCRBYFLOAT] = {apply_incrbyfloat, 2, 2, false},
    [STOA_OP_PUSH] = {apply_push, 3, ANY, false},
    [STOA_OP_POP] = {apply_pop, 3, 3, false},
    [STOA_OP_LSET] = {apply_lset, 3, 3, false},
    [STOA_OP_LINSERT] = {apply_linsert, 4, 4, false},
    [STOA_OP_LREM] = {apply_lrem, 3, 3, false},
    [STOA_OP_LTRIM] = {apply_ltrim, 3, 3, false},
    [STOA_OP_LMOVE] = {apply_lmove, 3, 3, false},
    [STOA_OP_FLUSHALL] = {apply_flushall, 0, 0, false},
    [STOA_OP_OBJECT_PUT] = {apply_object_put, 4, 4, false},
    [STOA_OP_OBJECT_UPDATE] = {apply_object_update, 3, 3, false},
    [STOA_OP_OBJECT_DELETE] = {apply_object_delete, 1, 1, false},
};

static int dispatch(struct apply_call *call, uint32_t opcode) {
    const struct op_spec *spec = opcode < STOA_OP_WRITE_COUNT ? &write_specs[opcode] : NULL;
    if (spec == NULL || spec->handler == NULL) {
        return apply_fail(call, STOA_ERR_MALFORMED, "ERR unknown write opcode");
    }
    if (call->count < spec->arguments_min || call->count > spec->arguments_max ||
        (spec->pairs && call->count % 2 != 0)) {
        return apply_fail(call, STOA_ERR_MALFORMED, "ERR wrong number of arguments");
    }
    int result = spec->handler(call);
    scratch_done(call->state);
    return result;
}

static int register_client(struct apply_call *call) {
    if (call->index == 0 || call->index > INT64_MAX) {
        return apply_fail(call, STOA_ERR_MALFORMED, "ERR bad log index for a client id");
    }
    int result = stoa_session_register(call->state->sessions, call->index, call->index);
    if (result != STOA_OK) {
        return apply_fail(call, result,
                          result == STOA_ERR_EXISTS ? "ERR client id already registered" : NULL);
    }
    apply_reply_integer(call, (int64_t)call->index);
    return STOA_OK;
}

/* Applies a new write of a session, recording its reply, then records it in the table. */
static int apply_recorded(struct apply_call *call, const struct stoa_command *command) {
    struct stoa_apply_state *state = call->state;
    stoa_buf_reset(&state->recorded);
    struct stoa_reply_recorder recorder;
    stoa_reply_recorder_init(&recorder, &state->recorded);
    struct stoa_reply *pair[2] = {call->reply, &recorder.reply};
    struct stoa_reply tee = {.ops = &tee_ops, .self = pair};
    call->reply = &tee;
    int result = dispatch(call, command->opcode);
    call->reply = pair[0];
    if (result == STOA_ERR_NOMEM) {
        return result; /* nothing changed, the session included: the record may be retried */
    }
    bool kept = recorder.error == STOA_OK;
    /* A failed copy of the reply still advances the sequence (session.h), so the write is
     * never applied twice; a retry then learns that its reply is gone. */
    (void)stoa_session_record(state->sessions, command->client_id, command->sequence, call->index,
                              kept ? state->recorded.data : NULL,
                              kept ? state->recorded.length : 0);
    if (state->recorded.capacity > STOA_APPLY_SCRATCH_KEEP_BYTES) {
        stoa_buf_free(&state->recorded);
    }
    return result;
}

static int apply_session(struct apply_call *call, const struct stoa_command *command) {
    const uint8_t *recorded = NULL;
    size_t recorded_length = 0;
    enum stoa_session_verdict verdict = stoa_session_check(
        call->state->sessions, command->client_id, command->sequence, &recorded, &recorded_length);
    switch (verdict) {
    case STOA_SESSION_NEW:
        return apply_recorded(call, command);
    case STOA_SESSION_REPLAY:
        if (recorded_length == 0 ||
            stoa_reply_replay(recorded, recorded_length, call->reply) != STOA_OK) {
            return apply_fail(call, STOA_ERR_NOT_FOUND,
                              "ERR the write was applied once; its reply was not kept");
        }
        return STOA_OK;
    case STOA_SESSION_STALE:
        return apply_fail(call, STOA_ERR_INVALID, "ERR stale request sequence");
    case STOA_SESSION_EXPIRED:
        return apply_fail(call, STOA_ERR_NOT_FOUND, "ERR session expired: register again");
    }
    STOA_UNREACHABLE();
}

int stoa_apply(struct stoa_apply_state *state, uint64_t index, const struct stoa_command *command,
               struct stoa_reply *reply) {
    STOA_ASSERT(state != NULL && command != NULL);
    STOA_ASSERT(command->arguments != NULL || command->argument_count == 0);
    struct stoa_reply discard = {.ops = &discard_ops, .self = NULL};
    struct apply_call call = {
        .state = state,
        .backend = state->backend,
        .now_ms = command->stamp_ms < 0 ? 0 : command->stamp_ms,
        .index = index,
        .arguments = command->arguments,
        .count = command->argument_count,
        .reply = reply != NULL ? reply : &discard,
    };
    if (command->opcode == STOA_OP_NOOP) {
        apply_reply_ok(&call);
        return STOA_OK;
    }
    if (command->opcode == STOA_OP_REGISTER_CLIENT) {
        return register_client(&call);
    }
    if (command->client_id == 0) {
        return dispatch(&call, command->opcode);
    }
    return apply_session(&call, command);
}
