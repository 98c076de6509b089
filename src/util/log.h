/*
 * log: structured logging as JSON lines.
 *
 * One line per event: {"ts":"2026-11-21T23:45:01.123Z","level":"info","module":"os",
 * "node":"n1","msg":"listening","address":"127.0.0.1:6379"}. The logger never reads the clock
 * and never writes to a file itself: the caller injects a clock (unix milliseconds) and a
 * sink (a function handed each finished line), so the cores stay deterministic and tests can
 * capture every line. src/os provides the real clock and a sink for standard error.
 *
 * Lines are formatted into a fixed buffer (STOA_LOG_LINE_BYTES_MAX): no allocation. A line
 * that would not fit is cut at a field boundary and gets "truncated":true.
 *
 * Usage:
 *   STOA_LOG_INFO(log, "os", "listening", STOA_FIELD_STR("address", text),
 *                 STOA_FIELD_UINT("port", port));
 */
#ifndef STOA_UTIL_LOG_H
#define STOA_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"

enum stoa_log_level {
    STOA_LOG_DEBUG = 0,
    STOA_LOG_INFO = 1,
    STOA_LOG_WARN = 2,
    STOA_LOG_ERROR = 3,
    STOA_LOG_OFF = 4, /* as a minimum level: log nothing */
};

enum stoa_log_field_kind {
    STOA_LOG_FIELD_END = 0, /* terminates a field list */
    STOA_LOG_FIELD_STR,
    STOA_LOG_FIELD_BYTES, /* binary-safe, escaped as JSON */
    STOA_LOG_FIELD_INT,
    STOA_LOG_FIELD_UINT,
    STOA_LOG_FIELD_DOUBLE,
    STOA_LOG_FIELD_BOOL,
};

struct stoa_log_field {
    const char *key;
    enum stoa_log_field_kind kind;
    size_t length; /* for BYTES */
    union {
        const char *text;
        int64_t integer;
        uint64_t unsigned_integer;
        double real;
        bool boolean;
    } value;
};

#define STOA_FIELD_STR(k, v)                                                                       \
    ((struct stoa_log_field){.key = (k), .kind = STOA_LOG_FIELD_STR, .value.text = (v)})
#define STOA_FIELD_BYTES(k, v, n)                                                                  \
    ((struct stoa_log_field){                                                                      \
        .key = (k), .kind = STOA_LOG_FIELD_BYTES, .length = (n), .value.text = (v)})
#define STOA_FIELD_INT(k, v)                                                                       \
    ((struct stoa_log_field){.key = (k), .kind = STOA_LOG_FIELD_INT, .value.integer = (int64_t)(v)})
#define STOA_FIELD_UINT(k, v)                                                                      \
    ((struct stoa_log_field){                                                                      \
        .key = (k), .kind = STOA_LOG_FIELD_UINT, .value.unsigned_integer = (uint64_t)(v)})
#define STOA_FIELD_DOUBLE(k, v)                                                                    \
    ((struct stoa_log_field){.key = (k), .kind = STOA_LOG_FIELD_DOUBLE, .value.real = (v)})
#define STOA_FIELD_BOOL(k, v)                                                                      \
    ((struct stoa_log_field){.key = (k), .kind = STOA_LOG_FIELD_BOOL, .value.boolean = (v)})
/* An error code as its name, e.g. "error":"NOMEM". */
#define STOA_FIELD_ERR(code) STOA_FIELD_STR("error", stoa_err_name(code))

/* Receives each finished line (without the trailing newline). Borrows line. */
typedef void (*stoa_log_sink_fn)(void *context, const char *line, size_t length);
/* Returns the real time in unix milliseconds. */
typedef int64_t (*stoa_log_clock_fn)(void *context);

struct stoa_log {
    enum stoa_log_level level_min;
    char node_id[STOA_NODE_ID_BYTES_MAX + 1];
    stoa_log_sink_fn sink;
    void *sink_context;
    stoa_log_clock_fn clock;
    void *clock_context;
};

/* Sets up a logger that drops everything until a sink is given. */
void stoa_log_init(struct stoa_log *log);
void stoa_log_set_sink(struct stoa_log *log, stoa_log_sink_fn sink, void *context);
void stoa_log_set_clock(struct stoa_log *log, stoa_log_clock_fn clock, void *context);
/* Copies node_id; longer ids are cut to STOA_NODE_ID_BYTES_MAX. */
void stoa_log_set_node_id(struct stoa_log *log, const char *node_id);

/* Parses "debug", "info", "warn" or "error" (and "off"). Returns 0 or STOA_ERR_INVALID. */
int stoa_log_level_parse(const char *text, enum stoa_log_level *level);
const char *stoa_log_level_name(enum stoa_log_level level);

bool stoa_log_enabled(const struct stoa_log *log, enum stoa_log_level level);

/* Formats and emits one line. fields ends with a STOA_LOG_FIELD_END entry. log may be NULL
 * (nothing happens). Borrows everything. */
void stoa_log_write(const struct stoa_log *log, enum stoa_log_level level, const char *module,
                    const char *message, const struct stoa_log_field *fields);

/* Formats one line into buffer without emitting it; returns its length. Used by the sink
 * tests and by stoa_log_write. */
size_t stoa_log_format(const struct stoa_log *log, enum stoa_log_level level, const char *module,
                       const char *message, const struct stoa_log_field *fields, char *buffer,
                       size_t capacity);

#define STOA_LOG(log, level, module, message, ...)                                                 \
    do {                                                                                           \
        if (stoa_log_enabled((log), (level))) {                                                    \
            stoa_log_write((log), (level), (module), (message),                                    \
                           (const struct stoa_log_field[]){                                        \
                               __VA_ARGS__ __VA_OPT__(, ){.kind = STOA_LOG_FIELD_END}});           \
        }                                                                                          \
    } while (0)

#define STOA_LOG_DEBUG(log, module, ...) STOA_LOG((log), STOA_LOG_DEBUG, (module), __VA_ARGS__)
#define STOA_LOG_INFO(log, module, ...) STOA_LOG((log), STOA_LOG_INFO, (module), __VA_ARGS__)
#define STOA_LOG_WARN(log, module, ...) STOA_LOG((log), STOA_LOG_WARN, (module), __VA_ARGS__)
#define STOA_LOG_ERROR(log, module, ...) STOA_LOG((log), STOA_LOG_ERROR, (module), __VA_ARGS__)

#endif
