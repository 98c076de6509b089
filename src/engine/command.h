/*
 * command: a write command as a log record.
 *
 * Every write that changes the keyspace is first encoded as one record and appended to the
 * log; applying the log replays the records in order. A record holds what apply needs and
 * nothing it would have to look up: the opcode, the client id and sequence number (so a
 * retried write is applied once), the time the leader stamped when it proposed the command
 * (so expiry is decided the same way on every replica, without reading a clock), and the
 * arguments as byte strings. The byte layout is in docs/formats/log.md ("command payload").
 *
 * Decoding is zero-copy: the decoded arguments point into the record's bytes, so a decoded
 * command is valid only as long as those bytes are. Decoding is strict (a record either
 * decodes exactly or is malformed), because records come back from disk and from peers.
 */
#ifndef STOA_ENGINE_COMMAND_H
#define STOA_ENGINE_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"

/* The version byte that starts every command payload. */
#define STOA_COMMAND_FORMAT_VERSION 1

/* A byte string borrowed from elsewhere. */
struct stoa_command_argument {
    const uint8_t *data;
    size_t length;
};

struct stoa_command {
    uint32_t opcode; /* engine opcodes are defined by apply; the codec treats them as numbers */
    uint64_t client_id;
    uint64_t sequence;
    int64_t stamp_ms; /* unix ms stamped at proposal; never negative */
    size_t argument_count;
    const struct stoa_command_argument *arguments; /* borrowed */
};

/* Returns the exact encoded size of command. */
size_t stoa_command_encoded_length(const struct stoa_command *command);

/* Encodes command into out (capacity bytes) and sets *length. Returns 0, or
 * STOA_ERR_TOO_LARGE if it does not fit in capacity or exceeds STOA_COMMAND_BYTES_MAX or
 * STOA_COMMAND_ARGUMENTS_MAX (out and *length untouched). */
int stoa_command_encode(const struct stoa_command *command, uint8_t *out, size_t capacity,
                        size_t *length);

/* Decodes the length bytes of data. Arguments are written to the caller's array of
 * argument_capacity entries and borrow data. Returns 0; STOA_ERR_UNSUPPORTED for an unknown
 * format version; STOA_ERR_TOO_LARGE if there are more arguments than argument_capacity;
 * STOA_ERR_MALFORMED for anything else that is not exactly one well-formed command
 * (truncation, trailing bytes, bad varints, a negative stamp). command is untouched on
 * failure; arguments may have been partly written. */
int stoa_command_decode(const uint8_t *data, size_t length, struct stoa_command *command,
                        struct stoa_command_argument *arguments, size_t argument_capacity);

/* stoa_command_decode into *arguments (owned by the caller, stoa_alloc'd or NULL, with
 * *capacity entries), which grows by doubling (from 64) up to STOA_COMMAND_ARGUMENTS_MAX for
 * a command with more arguments. Returns what stoa_command_decode returns, STOA_ERR_TOO_LARGE
 * for more than STOA_COMMAND_ARGUMENTS_MAX arguments, or STOA_ERR_NOMEM. */
int stoa_command_decode_growing(const uint8_t *data, size_t length, struct stoa_command *command,
                                struct stoa_command_argument **arguments, size_t *capacity);

#endif
