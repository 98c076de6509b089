/*
 * batch: the values of a replica group's NORMAL log entries (docs/protocols/peer.md, "Log
 * entries"), encoded and decoded in one place, so the server's replica (src/server/replica*.c)
 * and the simulator's driver (tests/sim/stoa_sim_member.c) write and read the same bytes.
 *
 * A value starts with a format byte:
 *
 *   1 COMMANDS  varint proposer id, varint proposal number, varint count (1 .. 65,535), then
 *               per command: varint length, engine command record (engine/command.h)
 *   2 MEMBER    u32 member id (LE), u8 length, "host:port" text (1 .. 255 bytes)
 *
 * The proposer id and a proposal number the proposer never reuses make two proposals of the
 * same commands differ, so a driver matching a chosen value against its own proposal (by
 * hash) cannot take another leader's batch for its own.
 *
 * Encoding a batch is two steps, as a leader builds it: stoa_batch_command_append adds each
 * command to a body buffer (varint length + record), and stoa_batch_encode writes the header
 * and the body into the value once the batch is closed. Decoding is strict and whole:
 * stoa_batch_open walks every record's length before the first is handed out, so a value
 * whose count, lengths or end do not agree is refused before anything of it is applied; the
 * records themselves are decoded by the caller (stoa_command_decode).
 *
 * Ownership: encoders append to a caller's buffer (copied); the reader borrows the value for
 * its lifetime and hands out records that point into it.
 */
#ifndef STOA_CLUSTER_BATCH_H
#define STOA_CLUSTER_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/command.h"
#include "util/buf.h"

enum stoa_batch_format {
    STOA_BATCH_COMMANDS = 1,
    STOA_BATCH_MEMBER = 2,
};

/* The fixed part of a COMMANDS value. */
struct stoa_batch_header {
    uint64_t proposer_id;
    uint64_t proposal_number;
    uint32_t count; /* commands in the batch, 1 .. STOA_ENGINE_BATCH_COMMANDS_MAX */
};

/* The bytes a command takes in a batch body (its varint length and its record). */
size_t stoa_batch_command_length(const struct stoa_command *command);

/* Appends command to body as a varint length and a command record. Returns 0,
 * STOA_ERR_TOO_LARGE past the buffer's maximum or the record's bounds (engine/command.h), or
 * STOA_ERR_NOMEM; body's bytes are unchanged on error. */
int stoa_batch_command_append(struct stoa_buf *body, const struct stoa_command *command);

/* Appends a COMMANDS value to out: the header, then body (header->count records appended by
 * stoa_batch_command_append; borrowed). Returns 0, STOA_ERR_INVALID for a count of 0 or over
 * STOA_ENGINE_BATCH_COMMANDS_MAX, or the buffer's errors; out is unchanged on error. */
int stoa_batch_encode(struct stoa_buf *out, const struct stoa_batch_header *header,
                      const uint8_t *body, size_t body_length);

/* Reads a COMMANDS value. */
struct stoa_batch_reader {
    struct stoa_batch_header header;
    const uint8_t *data; /* the value, borrowed */
    size_t length;
    size_t offset;  /* the next record's varint length */
    uint32_t index; /* the next record's position in the batch */
};

/* Opens value (borrowed until the reader is done) and checks all of it: the format byte,
 * the header, count records each within the value, and nothing after the last. Returns 0
 * with reader positioned at the first record, or STOA_ERR_MALFORMED (reader untouched). */
int stoa_batch_open(struct stoa_batch_reader *reader, const uint8_t *value, size_t length);

/* The next record of an opened batch: returns true with *record (borrowed from the value),
 * *record_length and *position (0-based), or false after the last. */
bool stoa_batch_next(struct stoa_batch_reader *reader, const uint8_t **record,
                     size_t *record_length, uint32_t *position);

/* The longest "host:port" text of a MEMBER value. */
#define STOA_BATCH_MEMBER_TEXT_MAX 255

/* Appends a MEMBER value to out. Returns 0, STOA_ERR_INVALID for id 0 or a text of length 0
 * or over STOA_BATCH_MEMBER_TEXT_MAX, or the buffer's errors; out is unchanged on error. */
int stoa_batch_member_encode(struct stoa_buf *out, uint32_t id, const char *text,
                             size_t text_length);

/* Decodes a MEMBER value: returns 0 with *id, *text (borrowed from value, not terminated) and
 * *text_length, or STOA_ERR_MALFORMED (outputs untouched). */
int stoa_batch_member_decode(const uint8_t *value, size_t length, uint32_t *id,
                             const uint8_t **text, size_t *text_length);

#endif
