/*
 * peer_frame: the frames nodes of a replica group exchange over TCP, as pure code.
 *
 * Every byte between two peers travels in a frame: a 16-byte header (magic, version, type,
 * payload length, checksum) and the payload. The checksum is XXH3-64 of the payload seeded
 * with the header's first 8 bytes, so it covers the header's fields and the payload in one
 * pass. docs/protocols/peer.md has the byte tables.
 *
 * This module does the codec and nothing else (no I/O, no clock, no randomness):
 *   - framing: stoa_peer_frame_decode finds the next complete frame in the bytes received
 *     so far and returns done, need more bytes, or malformed (bad magic, unknown version or
 *     type, a payload longer than the caller's bound, a bad checksum). It never asserts on
 *     the bytes: peers may send anything. A bad header is refused as soon as its bytes
 *     arrive, so an oversized frame is refused before its payload is buffered.
 *   - encoding: stoa_peer_frame_header and stoa_peer_frame_append.
 *   - the handshake's payloads (HELLO, CHALLENGE, AUTH, WELCOME) and the MAC that proves a
 *     node holds the cluster secret (HMAC-SHA-512-256, libsodium's crypto_auth; see
 *     docs/decisions/peer-auth.md). The MAC binds both node ids, both challenges and the
 *     role of the prover, so a proof cannot be reflected back or replayed on another
 *     connection.
 *
 * Ownership: a decoded frame borrows the caller's bytes. Every other argument is borrowed
 * for the call only.
 */
#ifndef STOA_PROTO_PEER_FRAME_H
#define STOA_PROTO_PEER_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/limits.h"

/* The frame header: magic (2), version (1), type (1), payload length (4), checksum (8). */
#define STOA_PEER_FRAME_HEADER_BYTES 16
#define STOA_PEER_FRAME_MAGIC_0 0x53 /* 'S' */
#define STOA_PEER_FRAME_MAGIC_1 0x50 /* 'P' */
/* The frame layer's version: the only one this code speaks. */
#define STOA_PEER_FRAME_VERSION 1

enum stoa_peer_frame_type {
    STOA_PEER_FRAME_HELLO = 1,     /* dialer -> acceptor: ids, versions, dialer challenge */
    STOA_PEER_FRAME_CHALLENGE = 2, /* acceptor -> dialer: acceptor id, acceptor challenge */
    STOA_PEER_FRAME_AUTH = 3,      /* dialer -> acceptor: the dialer's MAC */
    STOA_PEER_FRAME_WELCOME = 4,   /* acceptor -> dialer: the acceptor's MAC */
    STOA_PEER_FRAME_PING = 5,      /* dialer -> acceptor, empty: are you there? */
    STOA_PEER_FRAME_PONG = 6,      /* acceptor -> dialer, empty: yes */
    STOA_PEER_FRAME_MESSAGE = 16,  /* either way after the handshake: an opaque payload */
};

struct stoa_peer_frame {
    enum stoa_peer_frame_type type;
    const uint8_t *payload; /* borrowed from the decoded bytes; NULL when length is 0 */
    uint32_t length;
};

/* Looks for the frame that starts at data[0]; data[0 .. length) are the bytes received so
 * far. payload_bytes_max is the largest payload the caller accepts now (small during the
 * handshake). Returns:
 *   0                  *frame is filled and *frame_bytes is the frame's whole length;
 *   STOA_ERR_AGAIN     the frame is not complete (what is there is valid so far);
 *   STOA_ERR_MALFORMED the bytes are not a frame this node accepts; *error is a static
 *                      text saying why. The stream cannot be resynchronized: close it.
 * The outputs are set only as said. */
int stoa_peer_frame_decode(const uint8_t *data, size_t length, size_t payload_bytes_max,
                           struct stoa_peer_frame *frame, size_t *frame_bytes, const char **error);

/* Writes the header of a frame of type carrying payload[0 .. length) (length at most
 * STOA_PEER_FRAME_PAYLOAD_BYTES_MAX, asserted). */
void stoa_peer_frame_header(enum stoa_peer_frame_type type, const uint8_t *payload, uint32_t length,
                            uint8_t header[STOA_PEER_FRAME_HEADER_BYTES]);

/* Appends one whole frame (header and payload) to buf. Returns 0, or the error of
 * stoa_buf_reserve (STOA_ERR_TOO_LARGE, STOA_ERR_NOMEM) with buf unchanged. */
int stoa_peer_frame_append(struct stoa_buf *buf, enum stoa_peer_frame_type type,
                           const uint8_t *payload, uint32_t length);

/* ---- the handshake (docs/protocols/peer.md, "Handshake") ---- */

/* HELLO: versions of the peer protocol the dialer speaks, its id, the id it expects to
 * reach at this address, and its challenge. */
#define STOA_PEER_HELLO_BYTES (2 + 8 + 8 + STOA_PEER_CHALLENGE_BYTES)
struct stoa_peer_hello {
    uint8_t version_min;
    uint8_t version_max;
    uint64_t dialer_id;
    uint64_t acceptor_id;
    uint8_t challenge[STOA_PEER_CHALLENGE_BYTES];
};

/* CHALLENGE: the acceptor's id and challenge. */
#define STOA_PEER_CHALLENGE_PAYLOAD_BYTES (1 + 8 + STOA_PEER_CHALLENGE_BYTES)
struct stoa_peer_challenge {
    uint8_t version; /* the version the acceptor chose from the dialer's range */
    uint64_t acceptor_id;
    uint8_t challenge[STOA_PEER_CHALLENGE_BYTES];
};

void stoa_peer_hello_encode(const struct stoa_peer_hello *hello,
                            uint8_t payload[STOA_PEER_HELLO_BYTES]);
/* Returns 0, or STOA_ERR_MALFORMED if the payload has the wrong length or an empty version
 * range (hello untouched). */
int stoa_peer_hello_decode(const uint8_t *payload, size_t length, struct stoa_peer_hello *hello);

void stoa_peer_challenge_encode(const struct stoa_peer_challenge *challenge,
                                uint8_t payload[STOA_PEER_CHALLENGE_PAYLOAD_BYTES]);
/* Returns 0, or STOA_ERR_MALFORMED if the payload has the wrong length. */
int stoa_peer_challenge_decode(const uint8_t *payload, size_t length,
                               struct stoa_peer_challenge *challenge);

/* Who proves: the MACs of the two sides differ in a role label, so one side's proof is
 * never accepted as the other's (no reflection). */
enum stoa_peer_auth_role {
    STOA_PEER_AUTH_DIALER = 1,
    STOA_PEER_AUTH_ACCEPTOR = 2,
};

/* What a MAC covers: everything both sides said in the handshake. */
struct stoa_peer_auth_transcript {
    uint8_t version;
    uint64_t dialer_id;
    uint64_t acceptor_id;
    uint8_t dialer_challenge[STOA_PEER_CHALLENGE_BYTES];
    uint8_t acceptor_challenge[STOA_PEER_CHALLENGE_BYTES];
};

/* mac = HMAC-SHA-512-256(secret, label(role) || version || dialer_id || acceptor_id ||
 * dialer_challenge || acceptor_challenge). secret is secret_length bytes (> 0). */
void stoa_peer_auth_mac(const uint8_t *secret, size_t secret_length, enum stoa_peer_auth_role role,
                        const struct stoa_peer_auth_transcript *transcript,
                        uint8_t mac[STOA_PEER_MAC_BYTES]);

/* Whether payload[0 .. length) is the MAC role must give for transcript (constant time in
 * the MAC's bytes). A payload of the wrong length is false. */
bool stoa_peer_auth_verify(const uint8_t *secret, size_t secret_length,
                           enum stoa_peer_auth_role role,
                           const struct stoa_peer_auth_transcript *transcript,
                           const uint8_t *payload, size_t length);

/* The type's name ("HELLO"), or "unknown", for logs. Static storage. */
const char *stoa_peer_frame_type_name(int type);

#endif
