/*
 * err: the one list of error codes in stoa.
 *
 * Every function that can fail returns int: 0 (STOA_OK) on success or one of the negative
 * codes below. Each code has a stable name and a message, generated from the single X-macro
 * list STOA_ERRORS so that the enum, the names and the messages can never disagree. The
 * numbers are fixed: codes travel on the wire (peer frames, error replies), so a code is
 * never renumbered and a retired code's number is never reused.
 */
#ifndef STOA_UTIL_ERR_H
#define STOA_UTIL_ERR_H

/* X(NAME, number, message) */
#define STOA_ERRORS(X)                                                                             \
    X(OK, 0, "ok")                                                                                 \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVALID, -2, "invalid argument")                                                             \
    X(MALFORMED, -3, "malformed input")                                                            \
    X(AGAIN, -4, "need more bytes")                                                                \
    X(NOT_FOUND, -5, "not found")                                                                  \
    X(EXISTS, -6, "already exists")                                                                \
    X(TOO_LARGE, -7, "too large")                                                                  \
    X(FULL, -8, "full")                                                                            \
    X(EMPTY, -9, "empty")                                                                          \
    X(RANGE, -10, "value out of range")                                                            \
    X(TYPE, -11, "wrong type")                                                                     \
    X(IO, -12, "input/output error")                                                               \
    X(FSYNC, -13, "fsync failed; writes are refused")                                              \
    X(CORRUPT, -14, "corrupt data")                                                                \
    X(CLOSED, -15, "closed")                                                                       \
    X(TIMEOUT, -16, "timed out")                                                                   \
    X(ADDRESS_IN_USE, -17, "address already in use")                                               \
    X(REFUSED, -18, "connection refused")                                                          \
    X(PERMISSION, -19, "permission denied")                                                        \
    X(CONFIG, -20, "invalid configuration")                                                        \
    X(UNSUPPORTED, -21, "not supported")                                                           \
    X(CANCELED, -22, "canceled")                                                                   \
    X(BUSY, -23, "busy")                                                                           \
    X(OUT_OF_MEMORY, -24, "out of memory: used memory is over the configured limit")               \
    X(NOT_LEADER, -25, "not the leader of the replica group")

enum stoa_err {
#define STOA_ERR_ENUM(name, number, message) STOA_ERR_##name = (number),
    STOA_ERRORS(STOA_ERR_ENUM)
#undef STOA_ERR_ENUM
};

#define STOA_OK STOA_ERR_OK

/* Returns the code's name without prefix ("NOMEM"), or "UNKNOWN". Static storage. */
const char *stoa_err_name(int code);

/* Returns the code's message ("out of memory"), or "unknown error". Static storage. */
const char *stoa_err_message(int code);

#endif
