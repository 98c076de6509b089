/*
 * multiverse9: the pure parser and writer of multiverse9's binary protocol
 * (docs/protocols/multiverse9.md has the byte tables).
 *
 * A request is an opcode and a payload. The opcode is the first byte, or, when the first byte
 * is 0x00, the byte after it (DESIGN.md §10: multiverse9's README sends "\x00\x01Hello", its
 * code reads one byte; both work). Bit 0x80 of the opcode says how the request is framed:
 *
 *   unframed (bit clear): the payload is every byte up to the end of the input. The server
 *     knows it has the end when the client half-closes, or when no byte came for a quiet
 *     period (netcat does not half-close); at_end tells the parser so. This is multiverse9's
 *     own form; the reply is [status][payload] and the server then closes the connection.
 *   framed (bit set): a 4-byte big-endian payload length follows the opcode, then the
 *     payload. Many requests may follow each other on one connection; each reply is
 *     [status][4-byte big-endian length][payload].
 *
 * The parser returns exactly one of: done (STOA_OK, one request and the bytes it used), need
 * more bytes (STOA_ERR_AGAIN), or an error after which the stream cannot be resynchronized
 * (STOA_ERR_MALFORMED: truncated at the end; STOA_ERR_TOO_LARGE: a payload past
 * STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX): answer with an error and close. A request whose
 * opcode is unknown, or whose payload is not valid for its opcode (stoa_multiverse9_targets),
 * is still framed: answer it and go on.
 *
 * Everything here is pure: no I/O, no clock, no allocation beyond the caller's buffers.
 * Ownership: parsed requests and targets borrow the input bytes; writers append to a
 * borrowed stoa_buf.
 */
#ifndef STOA_PROTO_MULTIVERSE9_H
#define STOA_PROTO_MULTIVERSE9_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/reply.h"
#include "util/address.h"
#include "util/buf.h"
#include "util/limits.h"

enum stoa_multiverse9_opcode {
    STOA_MULTIVERSE9_CREATE = 0x01,    /* payload: the value; reply: its new ULID */
    STOA_MULTIVERSE9_REMOVE = 0x02,    /* payload: NUL-separated ULIDs; reply: empty */
    STOA_MULTIVERSE9_AGGREGATE = 0x03, /* payload: NUL-separated targets; reply: entries */
    STOA_MULTIVERSE9_METADATA = 0x04,  /* payload: empty; reply: JSON */
    STOA_MULTIVERSE9_HELLO = 0x05,     /* payload: empty; reply: challenge and node key */
    STOA_MULTIVERSE9_AUTH = 0x06,      /* payload: public key and signature; reply: empty */
};

/* The opcode bit of the framed form. */
#define STOA_MULTIVERSE9_FRAMED 0x80u
/* Bytes of the framed form's length field. */
#define STOA_MULTIVERSE9_LENGTH_BYTES 4

enum stoa_multiverse9_status {
    STOA_MULTIVERSE9_STATUS_OK = 0x00,
    STOA_MULTIVERSE9_STATUS_ERROR = 0x01,
};

/* The first payload byte of an error reply; UTF-8 text follows. */
enum stoa_multiverse9_error_code {
    STOA_MULTIVERSE9_ERROR_MALFORMED = 0x01,      /* a request that is not valid */
    STOA_MULTIVERSE9_ERROR_UNKNOWN_OPCODE = 0x02, /* an opcode this node does not know */
    STOA_MULTIVERSE9_ERROR_PERMISSION = 0x03,     /* refused by multiverse9.open* and nodes */
    STOA_MULTIVERSE9_ERROR_TOO_LARGE = 0x04,      /* a payload past the limit */
    STOA_MULTIVERSE9_ERROR_FAILED = 0x05,         /* the engine refused (memory limit, log) */
    STOA_MULTIVERSE9_ERROR_AUTH = 0x06,           /* HELLO/AUTH did not prove a known key */
    /* A member of a replica group did not run the write (no leader, the leader changed, its
     * batch was full): the client may retry. */
    STOA_MULTIVERSE9_ERROR_UNAVAILABLE = 0x07,
    /* A member of a replica group got no answer in time: the write's outcome is unknown. */
    STOA_MULTIVERSE9_ERROR_TIMEOUT = 0x08,
};

/* The text of an AGGREGATE entry for a key that does not exist (multiverse9's). */
#define STOA_MULTIVERSE9_UNKNOWN_KEY "Unknown key"

/* Node authentication (docs/protocols/multiverse9.md, "HELLO and AUTH"). */
#define STOA_MULTIVERSE9_CHALLENGE_BYTES 32
#define STOA_MULTIVERSE9_PUBLIC_KEY_BYTES 32
#define STOA_MULTIVERSE9_SIGNATURE_BYTES 64
/* What a peer signs: this text, the challenge, then the server's public key. */
#define STOA_MULTIVERSE9_AUTH_CONTEXT "stoa multiverse9 auth v1"
#define STOA_MULTIVERSE9_AUTH_CONTEXT_BYTES (sizeof(STOA_MULTIVERSE9_AUTH_CONTEXT) - 1)
#define STOA_MULTIVERSE9_AUTH_MESSAGE_BYTES                                                        \
    (STOA_MULTIVERSE9_AUTH_CONTEXT_BYTES + STOA_MULTIVERSE9_CHALLENGE_BYTES +                      \
     STOA_MULTIVERSE9_PUBLIC_KEY_BYTES)

/* ---- requests ---- */

struct stoa_multiverse9_request {
    uint8_t opcode; /* without STOA_MULTIVERSE9_FRAMED; may be one this node does not know */
    bool framed;
    const uint8_t *payload; /* borrowed from the input */
    size_t payload_length;
};

/*
 * Parses the request at the start of data[0 .. length). at_end: no byte will follow these.
 * Returns:
 *   STOA_OK: *request (borrowing data) and *consumed, the bytes it used.
 *   STOA_ERR_AGAIN: a request has begun but is not whole (never when at_end).
 *   STOA_ERR_EMPTY: at_end and length 0: no request.
 *   STOA_ERR_MALFORMED: at_end in the middle of an opcode or a framed request.
 *   STOA_ERR_TOO_LARGE: the payload passes STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX.
 * On the two errors *error is a static text and request->framed says in which form to
 * answer; the stream cannot be resynchronized.
 */
int stoa_multiverse9_parse(const uint8_t *data, size_t length, bool at_end,
                           struct stoa_multiverse9_request *request, size_t *consumed,
                           const char **error);

/* The name of a known opcode ("CREATE"), or NULL. */
const char *stoa_multiverse9_opcode_name(uint8_t opcode);

/* One target of AGGREGATE (or key of REMOVE): "ULID" or "ULID@host:port". */
struct stoa_multiverse9_target {
    char ulid[STOA_ULID_TEXT_LENGTH + 1]; /* canonical upper-case text, the key stored */
    bool remote;
    struct stoa_address address; /* when remote */
    const uint8_t *text;         /* the target as sent (borrowed from the payload) */
    size_t text_length;
};

/* Splits a NUL-separated list (one trailing NUL allowed) into targets[0 .. *count). Each
 * must be a 26-character ULID, optionally (allow_remote) followed by '@' and a numeric
 * host:port. Returns 0, or STOA_ERR_INVALID with the reason in error: an empty list, an
 * empty target (a leading NUL or two NULs in a row), a key of the wrong length or not a
 * ULID, a bad address, an address where none is allowed, more than capacity targets. */
int stoa_multiverse9_targets(const uint8_t *payload, size_t length, bool allow_remote,
                             struct stoa_multiverse9_target *targets, size_t capacity,
                             size_t *count, char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX]);

/* Appends one framed request: [opcode | 0x80][length][payload]. Returns 0 or the buffer's
 * error (nothing appended). */
int stoa_multiverse9_write_request(struct stoa_buf *buf, uint8_t opcode, const uint8_t *payload,
                                   size_t length);

/* The bytes a peer signs to answer a challenge (AUTH). */
void stoa_multiverse9_auth_message(const uint8_t challenge[STOA_MULTIVERSE9_CHALLENGE_BYTES],
                                   const uint8_t server_key[STOA_MULTIVERSE9_PUBLIC_KEY_BYTES],
                                   uint8_t message[STOA_MULTIVERSE9_AUTH_MESSAGE_BYTES]);

/* ---- replies ---- */

/*
 * Writes replies into buf: begin, any number of appends, end (which fills in the framed
 * form's length). The first append the buffer refuses is kept in error (sticky) and the
 * rest of the reply is dropped: the server then closes the client (output limit).
 */
struct stoa_multiverse9_writer {
    struct stoa_buf *buf;
    bool framed; /* of the reply being written */
    bool open;
    size_t start; /* offset of the reply's status byte */
    int error;    /* 0, or STOA_ERR_TOO_LARGE / STOA_ERR_NOMEM */
};

void stoa_multiverse9_writer_init(struct stoa_multiverse9_writer *writer, struct stoa_buf *buf);
void stoa_multiverse9_reply_begin(struct stoa_multiverse9_writer *writer, bool framed,
                                  uint8_t status);
void stoa_multiverse9_reply_append(struct stoa_multiverse9_writer *writer, const void *data,
                                   size_t length);
void stoa_multiverse9_reply_end(struct stoa_multiverse9_writer *writer);

/* A whole OK reply with payload data. */
void stoa_multiverse9_write_ok(struct stoa_multiverse9_writer *writer, bool framed,
                               const void *data, size_t length);

/* A whole error reply: [0x01][code][text]. */
void stoa_multiverse9_write_error(struct stoa_multiverse9_writer *writer, bool framed,
                                  uint8_t code, const char *text);

/*
 * The engine's answer to one key, as AGGREGATE's entry text: a bulk value as its bytes, a
 * null as "Unknown key", an error as "Error: <text>" (WRONGTYPE for a list), an integer or a
 * status as its text. Appends to buf; result is the error code of an error reply (else 0),
 * so CREATE and REMOVE can tell success from refusal. A refused append is kept in error.
 */
struct stoa_multiverse9_value_reply {
    struct stoa_reply reply;
    struct stoa_buf *buf;
    int result;
    int error;
};

void stoa_multiverse9_value_reply_init(struct stoa_multiverse9_value_reply *value,
                                       struct stoa_buf *buf);

/* Appends text as a JSON string (quotes and escapes). Returns 0 or the buffer's error. */
int stoa_multiverse9_json_string(struct stoa_buf *buf, const char *text, size_t length);

/* ---- replies, the client side (a node fetching from another) ---- */

/* Parses one framed reply at the start of data[0 .. length): *status, *payload (borrowed)
 * and *consumed. Returns 0, STOA_ERR_AGAIN, STOA_ERR_MALFORMED (a status byte that is not 0
 * or 1) or STOA_ERR_TOO_LARGE (a payload past payload_max). */
int stoa_multiverse9_parse_reply(const uint8_t *data, size_t length, size_t payload_max,
                                 uint8_t *status, const uint8_t **payload, size_t *payload_length,
                                 size_t *consumed);

#endif
