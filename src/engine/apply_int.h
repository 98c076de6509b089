/*
 * apply_int: what the files of the apply module share (apply.c, apply_string.c,
 * apply_keys.c, apply_deque.c, apply_object.c, apply_query.c, apply_glob.c). No other module
 * includes it.
 *
 * A handler gets one struct apply_call, writes exactly one reply on every path, and returns
 * 0 or the negative code of the error it replied. It changes the state only when it
 * succeeds (all-or-nothing), and reaches stored keys only through call->backend.
 */
#ifndef STOA_ENGINE_APPLY_INT_H
#define STOA_ENGINE_APPLY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/apply.h"
#include "util/limits.h"

struct apply_call {
    struct stoa_apply_state *state;
    struct stoa_backend *backend;
    int64_t now_ms; /* the command's stamp, or the read's time */
    uint64_t index; /* the log index (writes) */
    const struct stoa_command_argument *arguments;
    size_t count;
    struct stoa_reply *reply;
};

typedef int (*apply_handler_fn)(struct apply_call *call);

/* Redis 7's error texts. */
#define APPLY_TEXT_WRONGTYPE "WRONGTYPE Operation against a key holding the wrong kind of value"
#define APPLY_TEXT_NOT_INTEGER "ERR value is not an integer or out of range"
#define APPLY_TEXT_OVERFLOW "ERR increment or decrement would overflow"
#define APPLY_TEXT_NO_SUCH_KEY "ERR no such key"
#define APPLY_TEXT_INDEX_RANGE "ERR index out of range"
#define APPLY_TEXT_OOM "OOM command not allowed when used memory > 'maxmemory'."
#define APPLY_TEXT_STRING_SIZE "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
#define APPLY_TEXT_MALFORMED "ERR malformed command"
#define APPLY_TEXT_NOT_FLOAT "ERR value is not a valid float"
#define APPLY_TEXT_NAN "ERR increment would produce NaN or Infinity"
#define APPLY_TEXT_OFFSET "ERR offset is out of range"
#define APPLY_TEXT_POSITIVE "ERR value is out of range, must be positive"

/* Replies the error code with text (NULL: the default text for the code) and returns code. */
int apply_fail(struct apply_call *call, int code, const char *text);

/* Argument i (asserted in range). */
const struct stoa_command_argument *apply_argument(const struct apply_call *call, size_t i);

/* Reads argument i as i64 / u8 flags; replies a malformed-command error on failure. */
int apply_int64(struct apply_call *call, size_t i, int64_t *value);
int apply_flags(struct apply_call *call, size_t i, uint8_t allowed, uint8_t *flags);

/* Looks up the key in argument i: sets *value (borrowed until the next backend call; NULL
 * when missing) and *expire_at_ms. Returns 0 (found or not) or an error it replied. */
int apply_lookup(struct apply_call *call, size_t i, const struct stoa_value **value,
                 int64_t *expire_at_ms);

/* Copies data into the state's scratch buffer (reset first), so it survives backend calls.
 * Returns 0 and sets *copy, or replies and returns STOA_ERR_NOMEM / STOA_ERR_TOO_LARGE. */
int apply_scratch_copy(struct apply_call *call, const uint8_t *data, size_t length,
                       const uint8_t **copy);

/* Makes room for size bytes in the scratch buffer (reset first) and sets *memory. */
int apply_scratch_reserve(struct apply_call *call, size_t size, void **memory);

void apply_reply_ok(struct apply_call *call);
void apply_reply_integer(struct apply_call *call, int64_t value);
void apply_reply_bulk(struct apply_call *call, const uint8_t *data, size_t length);
void apply_reply_null(struct apply_call *call);
/* The bulk of a bytes value. */
void apply_reply_value(struct apply_call *call, const struct stoa_value *value);

/* Whether two arguments hold the same bytes. */
bool apply_same(const struct stoa_command_argument *a, const struct stoa_command_argument *b);

/* ---- handlers ---- */

int apply_set(struct apply_call *call);
int apply_getdel(struct apply_call *call);
int apply_getex(struct apply_call *call);
int apply_mset(struct apply_call *call);
int apply_msetnx(struct apply_call *call);
int apply_append(struct apply_call *call);
int apply_setrange(struct apply_call *call);
int apply_incrby(struct apply_call *call);
int apply_incrbyfloat(struct apply_call *call);

int apply_del(struct apply_call *call);
int apply_rename(struct apply_call *call);
int apply_renamenx(struct apply_call *call);
int apply_pexpireat(struct apply_call *call);
int apply_persist(struct apply_call *call);
int apply_flushall(struct apply_call *call);

int apply_push(struct apply_call *call);
int apply_pop(struct apply_call *call);
int apply_lset(struct apply_call *call);
int apply_linsert(struct apply_call *call);
int apply_lrem(struct apply_call *call);
int apply_ltrim(struct apply_call *call);
int apply_lmove(struct apply_call *call);

int apply_object_put(struct apply_call *call);
int apply_object_update(struct apply_call *call);
int apply_object_delete(struct apply_call *call);

/* Formats a finite double as INCRBYFLOAT does (see apply.h) into text and sets *length. */
void apply_format_double(double number, char text[STOA_APPLY_FLOAT_FORMAT_BYTES], size_t *length);

#endif
