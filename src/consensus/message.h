/*
 * message: the byte encoding of consensus messages (struct stoa_paxos_message) for the peer
 * transport. docs/protocols/peer.md, section "Consensus messages", is the byte table.
 *
 * Every message is a fixed 68-byte little-endian header followed by entry_count entries,
 * each a 26-byte header and its value bytes. The first byte is the format version. Decoding
 * checks every length against the bytes given and the bounds of util/limits.h, and returns
 * STOA_ERR_MALFORMED for anything else: bytes from a peer never trip an assertion.
 *
 * Ownership: encode borrows the message and writes into the caller's buffer. decode fills
 * the caller's message and entries array; the entries' values borrow data (valid as long as
 * data is), and message->entries points at the caller's array.
 */
#ifndef STOA_CONSENSUS_MESSAGE_H
#define STOA_CONSENSUS_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/paxos.h"

#define STOA_PAXOS_MESSAGE_VERSION 1
#define STOA_PAXOS_MESSAGE_HEADER_BYTES 68
#define STOA_PAXOS_ENTRY_HEADER_BYTES 26

/* Bytes the encoding of message takes. */
size_t stoa_paxos_message_size(const struct stoa_paxos_message *message);

/* Encodes message into out (capacity bytes). Returns 0 with *length, STOA_ERR_FULL if
 * capacity is too small, STOA_ERR_TOO_LARGE past STOA_PAXOS_MESSAGE_BYTES_MAX or
 * STOA_ERR_INVALID for a message the decoder would refuse. */
int stoa_paxos_message_encode(const struct stoa_paxos_message *message, uint8_t *out,
                              size_t capacity, size_t *length);

/* Decodes exactly length bytes. entries has room for capacity entries (use
 * STOA_PAXOS_MESSAGE_ENTRIES_MAX to take any valid message). Returns 0, STOA_ERR_MALFORMED
 * (bad bytes) or STOA_ERR_TOO_LARGE (more entries than capacity); message is untouched on
 * failure. */
int stoa_paxos_message_decode(const uint8_t *data, size_t length,
                              struct stoa_paxos_message *message, struct stoa_paxos_entry *entries,
                              uint32_t capacity);

/* "prepare", "promise", ...; "unknown" for other values. Static storage. */
const char *stoa_paxos_message_type_name(uint8_t type);

#endif
