/*
 * apply: the engine's deterministic state machine.
 *
 * stoa_apply applies one write command (a log record, engine/command.h) to the keyspace,
 * through the backend interface (engine/backend.h) only, and writes its reply. It never
 * parses Redis syntax and never reads a clock or a random source: the leader (or the front
 * door of a single node) normalizes every command before it is logged. Relative expiries are
 * made absolute unix ms from stamp_ms; numbers travel as 8-byte little-endian int64
 * arguments (stoa_op_int64_put / stoa_op_int64_get); flags as one byte. So every replica that
 * applies the same log ends with the same state and writes the same replies.
 *
 * Every command is all-or-nothing: on any error (a wrong type, the memory limit, a failed
 * allocation, a malformed command) the state is exactly as before, including multi-key MSET,
 * DEL and multi-value PUSH. Errors are replied with Redis 7's exact texts and an err.h code.
 *
 * Sessions (engine/session.h): client id 0 is anonymous. Otherwise the session table judges
 * the sequence first: a retry of the last write gets its recorded reply and changes nothing;
 * an older sequence gets "ERR stale request sequence"; an unknown client "ERR session
 * expired: register again"; a new one is applied while its reply is recorded, then recorded
 * in the table. REGISTER_CLIENT makes a session whose client id is the record's log index.
 *
 * stoa_query answers reads (never logged) as of a given now_ms, from the same state.
 *
 * Write opcodes and their arguments (i64: 8-byte little-endian int64; f64: 8-byte
 * little-endian IEEE-754 binary64; u8: one byte of flags; "..." one or more). The numbers
 * are stored in the log: never renumber.
 *
 * | op | name            | arguments                           | reply                      |
 * |----|-----------------|-------------------------------------|----------------------------|
 * |  0 | NOOP            | -                                   | OK                         |
 * |  1 | REGISTER_CLIENT | -                                   | integer: the client id     |
 * |  2 | SET             | key, value, u8 SET_*, i64 expire_at | OK / null; GET: old / null |
 * |  3 | GETDEL          | key                                 | bulk / null                |
 * |  4 | GETEX           | key, u8 GETEX_*, i64 expire_at      | bulk / null                |
 * |  5 | MSET            | key, value, ...                     | OK                         |
 * |  6 | MSETNX          | key, value, ...                     | 1 / 0                      |
 * |  7 | APPEND          | key, data                           | new length                 |
 * |  8 | SETRANGE        | key, i64 offset, data               | new length                 |
 * |  9 | DEL             | key, ...                            | keys deleted               |
 * | 10 | RENAME          | from, to                            | OK                         |
 * | 11 | RENAMENX        | from, to                            | 1 / 0                      |
 * | 12 | PEXPIREAT       | key, i64 at_ms, u8 EXPIRE_*         | 1 / 0                      |
 * | 13 | PERSIST         | key                                 | 1 / 0                      |
 * | 14 | INCRBY          | key, i64 delta                      | new value                  |
 * | 15 | INCRBYFLOAT     | key, f64 delta                      | bulk: new value as text    |
 * | 16 | PUSH            | key, u8 PUSH_*, value, ...          | new length (0: X, missing) |
 * | 17 | POP             | key, u8 POP_*, i64 count            | bulk/null; COUNT: array/nil|
 * | 18 | LSET            | key, i64 index, value               | OK                         |
 * | 19 | LINSERT         | key, u8 LINSERT_*, pivot, value     | length / -1 / 0            |
 * | 20 | LREM            | key, i64 count, value               | elements removed           |
 * | 21 | LTRIM           | key, i64 start, i64 stop            | OK                         |
 * | 22 | LMOVE           | from, to, u8 LMOVE_*                | bulk / null                |
 * | 23 | FLUSHALL        | -                                   | OK                         |
 * | 24 | OBJECT_PUT      | id, data, i64 creation_ms, i64 ttl_s| OK / STOA_ERR_EXISTS       |
 * | 25 | OBJECT_UPDATE   | id, data, i64 ttl_s                 | OK / STOA_ERR_NOT_FOUND    |
 * | 26 | OBJECT_DELETE   | id                                  | 1 / 0                      |
 *
 * Mappings: SETNX = SET NX|INTEGER; SETEX, PSETEX = SET with expire_at; GETSET = SET GET;
 * UNLINK = DEL; EXPIRE, PEXPIRE, EXPIREAT = PEXPIREAT; INCR, DECR, DECRBY = INCRBY; LPUSH,
 * RPUSH, LPUSHX, RPUSHX, Geomys PUSH = PUSH; LPOP, RPOP = POP; blocking pops are POP or LMOVE
 * proposed by the front door once data is there. An expire_at or at_ms of 0 means none
 * (SET; GETEX needs GETEX_EXPIRE); one at or before stamp_ms deletes the key. An object's key
 * is its id; its ttl_s (absolute unix seconds, 0 = never) is also the key's expiry, and
 * OBJECT_PUT and OBJECT_UPDATE set lastModified to stamp_ms.
 *
 * Read opcodes for stoa_query (never logged, numbered apart from writes):
 *
 * | op  | name        | arguments                                   | reply                 |
 * |-----|-------------|---------------------------------------------|-----------------------|
 * | 100 | GET         | key                                         | bulk / null           |
 * | 101 | MGET        | key, ...                                    | array (null: missing) |
 * | 102 | STRLEN      | key                                         | integer               |
 * | 103 | GETRANGE    | key, i64 start, i64 end                     | bulk                  |
 * | 104 | EXISTS      | key, ... (duplicates count again)           | integer               |
 * | 105 | TYPE        | key                                         | none/string/list/object|
 * | 106 | KEYS        | pattern                                     | array                 |
 * | 107 | SCAN        | i64 cursor, i64 count, u8 SCAN_*, pattern, type | [cursor, [keys]]  |
 * | 108 | RANDOMKEY   | i64 random                                  | bulk / null           |
 * | 109 | DBSIZE      | -                                           | integer               |
 * | 110 | TTL         | key                                         | s / -1 / -2           |
 * | 111 | PTTL        | key                                         | ms / -1 / -2          |
 * | 112 | EXPIRETIME  | key                                         | unix s / -1 / -2      |
 * | 113 | PEXPIRETIME | key                                         | unix ms / -1 / -2     |
 * | 114 | LLEN        | key                                         | integer               |
 * | 115 | LRANGE      | key, i64 start, i64 stop                    | array                 |
 * | 116 | LINDEX      | key, i64 index                              | bulk / null           |
 * | 117 | LPOS        | key, element, i64 rank, i64 count, i64 maxlen, u8 LPOS_* | int/null/array |
 * | 118 | OBJECT_GET  | id                  | [id, data, creation_ms, ttl_s, last_modified_ms] /
 * nil |
 *
 * TYPE says "object" for a GameObject (Redis has no such type); SCAN's TYPE filter takes the
 * same names. SCAN's cursor is passed as the bits of a uint64 in an i64, and replied as a
 * decimal bulk string as Redis does. SCAN COUNT is clamped to STOA_APPLY_SCAN_COUNT_MAX.
 *
 * INCRBYFLOAT computes in IEEE binary64 (not Redis's long double, whose width differs between
 * machines and would break determinism) and formats the result as Redis's "human" mode does:
 * fixed notation, no exponent, no trailing zeros, with the fewest significant digits (at
 * most 17) that read back as the same double. So 10.5 + 0.1 is "10.6" as in Redis, while
 * 0.1 + 0.2 is "0.30000000000000004" where Redis says "0.3".
 *
 * Ownership: the state borrows the backend and the session table (the engine owns them) and
 * owns its scratch buffers; free them with stoa_apply_state_free. Commands, arguments and
 * replies are borrowed for the call.
 */
#ifndef STOA_ENGINE_APPLY_H
#define STOA_ENGINE_APPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/backend.h"
#include "engine/command.h"
#include "engine/reply.h"
#include "engine/session.h"
#include "util/buf.h"

enum stoa_op {
    STOA_OP_NOOP = 0,
    STOA_OP_REGISTER_CLIENT = 1,
    STOA_OP_SET = 2,
    STOA_OP_GETDEL = 3,
    STOA_OP_GETEX = 4,
    STOA_OP_MSET = 5,
    STOA_OP_MSETNX = 6,
    STOA_OP_APPEND = 7,
    STOA_OP_SETRANGE = 8,
    STOA_OP_DEL = 9,
    STOA_OP_RENAME = 10,
    STOA_OP_RENAMENX = 11,
    STOA_OP_PEXPIREAT = 12,
    STOA_OP_PERSIST = 13,
    STOA_OP_INCRBY = 14,
    STOA_OP_INCRBYFLOAT = 15,
    STOA_OP_PUSH = 16,
    STOA_OP_POP = 17,
    STOA_OP_LSET = 18,
    STOA_OP_LINSERT = 19,
    STOA_OP_LREM = 20,
    STOA_OP_LTRIM = 21,
    STOA_OP_LMOVE = 22,
    STOA_OP_FLUSHALL = 23,
    STOA_OP_OBJECT_PUT = 24,
    STOA_OP_OBJECT_UPDATE = 25,
    STOA_OP_OBJECT_DELETE = 26,
    STOA_OP_WRITE_COUNT = 27, /* one past the last write opcode */

    STOA_OP_GET = 100,
    STOA_OP_MGET = 101,
    STOA_OP_STRLEN = 102,
    STOA_OP_GETRANGE = 103,
    STOA_OP_EXISTS = 104,
    STOA_OP_TYPE = 105,
    STOA_OP_KEYS = 106,
    STOA_OP_SCAN = 107,
    STOA_OP_RANDOMKEY = 108,
    STOA_OP_DBSIZE = 109,
    STOA_OP_TTL = 110,
    STOA_OP_PTTL = 111,
    STOA_OP_EXPIRETIME = 112,
    STOA_OP_PEXPIRETIME = 113,
    STOA_OP_LLEN = 114,
    STOA_OP_LRANGE = 115,
    STOA_OP_LINDEX = 116,
    STOA_OP_LPOS = 117,
    STOA_OP_OBJECT_GET = 118,
    STOA_OP_READ_END = 119, /* one past the last read opcode */
};

/* Flag bits (the u8 arguments). A bit not listed for an opcode makes the command malformed. */
enum stoa_op_flag {
    STOA_OP_SET_NX = 1,
    STOA_OP_SET_XX = 2,
    STOA_OP_SET_KEEPTTL = 4,
    STOA_OP_SET_GET = 8,
    STOA_OP_SET_INTEGER = 16, /* reply 1 (set) or 0 (not set), as SETNX */

    STOA_OP_GETEX_PERSIST = 1,
    STOA_OP_GETEX_EXPIRE = 2,

    STOA_OP_EXPIRE_NX = 1,
    STOA_OP_EXPIRE_XX = 2,
    STOA_OP_EXPIRE_GT = 4,
    STOA_OP_EXPIRE_LT = 8,

    STOA_OP_PUSH_BACK = 1,     /* RPUSH; without it LPUSH */
    STOA_OP_PUSH_EXISTING = 2, /* LPUSHX, RPUSHX: only onto an existing deque */

    STOA_OP_POP_BACK = 1,  /* RPOP; without it LPOP */
    STOA_OP_POP_COUNT = 2, /* a count was given: the reply is an array */

    STOA_OP_LINSERT_AFTER = 1, /* without it BEFORE */

    STOA_OP_LMOVE_FROM_BACK = 1, /* RIGHT at the source; without it LEFT */
    STOA_OP_LMOVE_TO_BACK = 2,   /* RIGHT at the destination */

    STOA_OP_SCAN_MATCH = 1, /* the pattern argument applies */
    STOA_OP_SCAN_TYPE = 2,  /* the type argument applies */

    STOA_OP_LPOS_COUNT = 1, /* a COUNT was given: the reply is an array */
};

/* The apply state. Public only to be embedded; use the functions below. */
struct stoa_apply_state {
    struct stoa_backend *backend;        /* borrowed */
    struct stoa_session_table *sessions; /* borrowed */
    struct stoa_buf recorded;            /* the reply being recorded for a session */
    struct stoa_buf scratch;             /* copies, element pointers, key lists */
};

/* Makes a state over backend and sessions (both borrowed; they must outlive it).
 * Allocates nothing. */
void stoa_apply_state_init(struct stoa_apply_state *state, struct stoa_backend *backend,
                           struct stoa_session_table *sessions);

/* Frees the scratch buffers. The backend and sessions are untouched. */
void stoa_apply_state_free(struct stoa_apply_state *state);

/* Applies the write command at log index and writes its reply (reply may be NULL: the
 * reply is then discarded, as when replaying the log at start-up). Returns 0 when the
 * command took effect, or the negative code of the error it replied (the state is then
 * unchanged). Every result is the same on every replica except STOA_ERR_NOMEM, a failed
 * allocation on this node: the state (session included) is unchanged and the caller must
 * retry the record or stop, or this replica diverges. */
int stoa_apply(struct stoa_apply_state *state, uint64_t index, const struct stoa_command *command,
               struct stoa_reply *reply);

/* Answers the read opcode (STOA_OP_GET ...) with arguments as of now_ms. Returns 0 or the
 * negative code of the error it replied. Reads reclaim expired keys they meet (invisible
 * either way) and change nothing else. */
int stoa_query(struct stoa_apply_state *state, int64_t now_ms, uint32_t opcode,
               const struct stoa_command_argument *arguments, size_t count,
               struct stoa_reply *reply);

/* ---- argument helpers, for the code that builds commands ---- */

/* Writes value as 8 little-endian bytes. */
void stoa_op_int64_put(uint8_t out[8], int64_t value);

/* Reads an i64 argument. Returns 0 or STOA_ERR_MALFORMED (not exactly 8 bytes). */
int stoa_op_int64_get(const struct stoa_command_argument *argument, int64_t *value);

/* Writes a double as the 8 little-endian bytes of its IEEE-754 binary64 bits. */
void stoa_op_double_put(uint8_t out[8], double value);

/* Reads an f64 argument. Returns 0 or STOA_ERR_MALFORMED (not 8 bytes, NaN or infinite). */
int stoa_op_double_get(const struct stoa_command_argument *argument, double *value);

/* Reads a u8 flags argument whose bits must lie within allowed. Returns 0 or
 * STOA_ERR_MALFORMED. */
int stoa_op_flags_get(const struct stoa_command_argument *argument, uint8_t allowed,
                      uint8_t *flags);

/* Whether pattern matches text with Redis's glob (* ? [abc] [^a] [a-z] and \ escapes),
 * case-sensitive. Iterative; a match needing more than STOA_APPLY_GLOB_STEPS_MAX steps
 * counts as no match. */
bool stoa_query_glob_match(const uint8_t *pattern, size_t pattern_length, const uint8_t *text,
                           size_t text_length);

#endif
