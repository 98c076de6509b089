/*
 * history: a client history in Jepsen's shape, read from JSON lines (docs/checking.md).
 *
 * Each line is one event: {"type": "invoke"|"ok"|"fail"|"info", "process": int, "f": string,
 * "key": string (optional), "value": any, "time": int (optional), "index": int (optional)}.
 * The order of the lines is the real-time order of the events. A process has at most one
 * operation in flight; the invoke and its completion (ok, fail or info) form one operation.
 * An operation that never completes is taken as info (indeterminate).
 *
 * Parsing pairs invokes with completions and interns keys and values: a value is kept as
 * its canonical JSON text (compact, sorted keys), numbered from 1 per history; 0 is JSON null.
 * Which model the history follows (register, counter, deque) is decided from its f names,
 * or given by the caller, and every operation is checked against that model's vocabulary.
 *
 * Ownership: stoa_check_history_parse fills a caller's struct with owned memory; free it with
 * stoa_check_history_free. The input bytes are borrowed for the call only.
 */
#ifndef STOA_CHECK_HISTORY_H
#define STOA_CHECK_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"
#include "util/map.h"

enum stoa_check_model {
    STOA_CHECK_MODEL_AUTO = 0, /* decide from the f names: incr is a counter, push/pop a deque */
    STOA_CHECK_MODEL_REGISTER,
    STOA_CHECK_MODEL_COUNTER,
    STOA_CHECK_MODEL_DEQUE,
};

/* The union of the models' f names. */
enum stoa_check_f {
    STOA_CHECK_F_READ = 0,
    STOA_CHECK_F_WRITE,
    STOA_CHECK_F_CAS,
    STOA_CHECK_F_INCR,
    STOA_CHECK_F_PUSH_BACK,
    STOA_CHECK_F_PUSH_FRONT,
    STOA_CHECK_F_POP_FRONT,
    STOA_CHECK_F_POP_BACK,
    STOA_CHECK_F_COUNT,
};

/* How an operation ended. OPEN (no completion in the history) is checked as INFO. */
enum stoa_check_status {
    STOA_CHECK_STATUS_OK = 0,
    STOA_CHECK_STATUS_FAIL,
    STOA_CHECK_STATUS_INFO,
    STOA_CHECK_STATUS_OPEN,
};

/* The value id of JSON null. */
#define STOA_CHECK_VALUE_NULL 0u

/* One interned JSON value. */
struct stoa_check_value {
    char *text; /* canonical JSON, NUL-terminated; owned by the history */
    size_t text_length;
    bool is_integer; /* a JSON integer; then integer holds it */
    int64_t integer;
    bool is_array;           /* a JSON array; then its elements are value ids in the pool */
    uint32_t element_offset; /* into history.element_pool */
    uint32_t element_count;
};

/* One operation: an invoke and its completion. Argument and result meanings depend on the
 * model (docs/checking.md): for register and deque they are value ids, for a counter the
 * integers themselves. */
struct stoa_check_op {
    uint32_t key;      /* index into history.keys */
    uint8_t f;         /* enum stoa_check_f */
    uint8_t status;    /* enum stoa_check_status */
    bool result_known; /* false for info and open operations, and results not given */
    int64_t process;
    int64_t argument[2];        /* write: value; cas: expected, new; incr: delta; push: value */
    int64_t result;             /* read: value (register), integer (counter) or list (deque);
                                   incr: the counter after; pop: the value or null */
    uint32_t invoke_line;       /* 1-based line numbers in the input */
    uint32_t complete_line;     /* 0 when open */
    uint32_t invoke_position;   /* the events' order: invoke_position < complete_position */
    uint32_t complete_position; /* UINT32_MAX when open */
    int64_t invoke_time_ns;     /* -1 when the line has no time */
    int64_t complete_time_ns;
};

struct stoa_check_key {
    char *name; /* owned; "" for events without a key */
    size_t name_length;
    bool has_name; /* false for the events without a key */
    uint32_t op_count;
};

struct stoa_check_history {
    enum stoa_check_model model;
    struct stoa_check_op *ops; /* in invoke order */
    uint32_t op_count;
    uint32_t event_count;
    struct stoa_check_key *keys;
    uint32_t key_count;
    struct stoa_check_value *values; /* values[0] is null */
    uint32_t value_count;
    uint32_t *element_pool; /* array elements of the values, as value ids */
    uint32_t element_count;
    /* Private to history.c: the indexes used while parsing. */
    struct stoa_map value_index;
    struct stoa_map key_index;
    uint32_t op_capacity, key_capacity, value_capacity, element_capacity;
};

struct stoa_check_parse_error {
    uint32_t line; /* 0 when the error is not about one line (out of memory) */
    char message[STOA_CHECK_ERROR_BYTES];
};

/* Parses length bytes of JSON lines. model is STOA_CHECK_MODEL_AUTO or the model every
 * operation must follow. Returns 0, or STOA_ERR_MALFORMED with error filled (the line and
 * what is wrong) and history empty, or STOA_ERR_NOMEM / STOA_ERR_TOO_LARGE. Blank lines are
 * skipped, and so are Jepsen's nemesis lines ("process": "nemesis"). */
int stoa_check_history_parse(const char *text, size_t length, enum stoa_check_model model,
                             struct stoa_check_history *history,
                             struct stoa_check_parse_error *error);

void stoa_check_history_free(struct stoa_check_history *history);

/* The f name ("read", "push-back") and the model name ("register"). Static storage. */
const char *stoa_check_f_name(enum stoa_check_f f);
const char *stoa_check_model_name(enum stoa_check_model model);
/* Parses a model name; returns 0 or STOA_ERR_INVALID. */
int stoa_check_model_parse(const char *name, enum stoa_check_model *model);

#endif
