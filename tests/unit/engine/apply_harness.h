/* Test harness shared by the apply tests: a keyspace, a session table and an apply state,
 * argument builders, and a reply that renders into text ("+OK", "-ERR ...", ":5", "$abc",
 * "$-" null, "*2" array, "*-" null array, items joined by '|'). */
#ifndef STOA_TESTS_APPLY_HARNESS_H
#define STOA_TESTS_APPLY_HARNESS_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/apply.h"
#include "engine/keyspace.h"
#include "engine/session.h"
#include "util/err.h"

#define HARNESS_TEXT_BYTES (1 << 16)
#define HARNESS_ARGUMENTS_MAX 64

struct text_reply {
    struct stoa_reply reply;
    char text[HARNESS_TEXT_BYTES];
    size_t length;
    int last_error;
};

static inline void text_put(struct text_reply *out, const char *prefix, const void *data,
                            size_t length) {
    size_t prefix_length = strlen(prefix);
    size_t need = (out->length > 0 ? 1 : 0) + prefix_length + length;
    if (out->length + need + 1 > sizeof(out->text)) {
        return;
    }
    if (out->length > 0) {
        out->text[out->length++] = '|';
    }
    memcpy(out->text + out->length, prefix, prefix_length);
    out->length += prefix_length;
    if (length > 0) {
        memcpy(out->text + out->length, data, length);
        out->length += length;
    }
    out->text[out->length] = '\0';
}

static inline void text_status(struct stoa_reply *reply, const char *text) {
    text_put(reply->self, "+", text, strlen(text));
}
static inline void text_error(struct stoa_reply *reply, int code, const char *text) {
    ((struct text_reply *)reply->self)->last_error = code;
    text_put(reply->self, "-", text, strlen(text));
}
static inline void text_integer(struct stoa_reply *reply, int64_t value) {
    char number[32];
    int n = snprintf(number, sizeof(number), ":%" PRId64, value);
    text_put(reply->self, number, NULL, 0);
    (void)n;
}
static inline void text_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    text_put(reply->self, "$", data, length);
}
static inline void text_null_bulk(struct stoa_reply *reply) {
    text_put(reply->self, "$-", NULL, 0);
}
static inline void text_array(struct stoa_reply *reply, size_t count) {
    char number[32];
    snprintf(number, sizeof(number), "*%zu", count);
    text_put(reply->self, number, NULL, 0);
}
static inline void text_null_array(struct stoa_reply *reply) {
    text_put(reply->self, "*-", NULL, 0);
}

static const struct stoa_reply_ops text_ops = {
    .status = text_status,
    .error = text_error,
    .integer = text_integer,
    .bulk = text_bulk,
    .null_bulk = text_null_bulk,
    .array = text_array,
    .null_array = text_null_array,
};

static inline void text_reset(struct text_reply *out) {
    out->reply.ops = &text_ops;
    out->reply.self = out;
    out->length = 0;
    out->text[0] = '\0';
    out->last_error = 0;
}

struct args {
    struct stoa_command_argument list[HARNESS_ARGUMENTS_MAX];
    uint8_t numbers[HARNESS_ARGUMENTS_MAX][8];
    size_t count;
};

static inline struct args *args_bytes(struct args *args, const void *data, size_t length) {
    args->list[args->count].data = data;
    args->list[args->count].length = length;
    args->count++;
    return args;
}
static inline struct args *args_text(struct args *args, const char *text) {
    return args_bytes(args, text, strlen(text));
}
static inline struct args *args_i64(struct args *args, int64_t value) {
    stoa_op_int64_put(args->numbers[args->count], value);
    return args_bytes(args, args->numbers[args->count], 8);
}
static inline struct args *args_f64(struct args *args, double value) {
    stoa_op_double_put(args->numbers[args->count], value);
    return args_bytes(args, args->numbers[args->count], 8);
}
static inline struct args *args_u8(struct args *args, uint8_t flags) {
    args->numbers[args->count][0] = flags;
    return args_bytes(args, args->numbers[args->count], 1);
}

struct harness {
    struct stoa_keyspace keyspace;
    struct stoa_session_table sessions;
    struct stoa_apply_state state;
    struct text_reply out;
    uint64_t index;
};

static inline void harness_init(struct harness *h, size_t memory_bytes_max, size_t sessions_max) {
    struct stoa_keyspace_options options = {.seed = 7, .memory_bytes_max = memory_bytes_max};
    stoa_keyspace_init(&h->keyspace, &options);
    stoa_session_table_init(&h->sessions, sessions_max, 11);
    stoa_apply_state_init(&h->state, stoa_keyspace_backend(&h->keyspace), &h->sessions);
    h->index = 0;
    text_reset(&h->out);
}

static inline void harness_free(struct harness *h) {
    stoa_apply_state_free(&h->state);
    stoa_session_table_free(&h->sessions);
    stoa_keyspace_free(&h->keyspace);
}

/* Applies a write as client (id, sequence) at stamp; returns the reply text. */
static const char *harness_write_as(struct harness *h, uint64_t client_id, uint64_t sequence,
                                    int64_t stamp_ms, uint32_t opcode, const struct args *args,
                                    int *result) {
    struct stoa_command command = {
        .opcode = opcode,
        .client_id = client_id,
        .sequence = sequence,
        .stamp_ms = stamp_ms,
        .argument_count = args == NULL ? 0 : args->count,
        .arguments = args == NULL ? NULL : args->list,
    };
    text_reset(&h->out);
    int r = stoa_apply(&h->state, ++h->index, &command, &h->out.reply);
    if (result != NULL) {
        *result = r;
    }
    return h->out.text;
}

static const char *harness_write(struct harness *h, int64_t stamp_ms, uint32_t opcode,
                                 const struct args *args) {
    return harness_write_as(h, 0, 0, stamp_ms, opcode, args, NULL);
}

static const char *harness_read(struct harness *h, int64_t now_ms, uint32_t opcode,
                                const struct args *args) {
    text_reset(&h->out);
    (void)stoa_query(&h->state, now_ms, opcode, args == NULL ? NULL : args->list,
                     args == NULL ? 0 : args->count, &h->out.reply);
    return h->out.text;
}

static inline uint64_t harness_digest(struct harness *h, int64_t now_ms) {
    uint64_t digest = 0;
    int result = stoa_backend_digest(stoa_keyspace_backend(&h->keyspace), now_ms, &digest);
    (void)result;
    return digest;
}

#endif
