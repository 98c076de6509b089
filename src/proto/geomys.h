/*
 * geomys: the Geomys wire protocol (MessagePack maps over TCP), as pure code.
 *
 * Geomys clients send one MessagePack map per request, with the fields command, key, value,
 * exp, offset and message, and read one map back: {status: "OK" | "ERROR" | "NOT_FOUND",
 * message?, value?}. This module does the three things the front door needs, with no I/O:
 *
 *   1. Framing (stoa_geomys_scan). A MessagePack object delimits itself, so a request is
 *      exactly one map: the scanner walks the object's headers as bytes arrive, remembers
 *      how far it got, and says when the map is complete and how long it is. A request
 *      split across reads, or several in one read, frame the same way. It refuses at once
 *      what cannot be a request: a first byte that does not start a map, the reserved byte
 *      0xc1, more than STOA_GEOMYS_REQUEST_OBJECTS_MAX objects or STOA_GEOMYS_REQUEST_BYTES_MAX
 *      bytes (checked when a length or count is read, before its bytes arrive).
 *   2. Decoding (stoa_geomys_decode) one framed map with msgpack-c into a request: the known
 *      fields, borrowed from the frame's bytes; unknown fields are ignored.
 *   3. Translating (stoa_geomys_request_command) a request into argv for the command core
 *      (proto/commands.h): Geomys's INCR key offset is INCRBY, SET's exp is PX, PUSH is the
 *      core's PUSH (an RPUSH). And writing responses (struct stoa_geomys_writer, the engine's
 *      struct stoa_reply for Geomys).
 *
 * docs/protocols/geomys.md describes the bytes, the commands and where stoa differs from
 * Geomys on purpose. docs/decisions/msgpack.md says why msgpack-c and what it allocates.
 *
 * Ownership: a scanner is a plain value (no memory). A decoder owns an arena (allocated by
 * msgpack-c; see the decision) from stoa_geomys_decoder_init until stoa_geomys_decoder_free.
 * A decoded request borrows the frame's bytes and its own offset_text (so it must not be
 * copied while its fields are in use); a command borrows the request. A writer borrows its
 * buffer.
 */
#ifndef STOA_PROTO_GEOMYS_H
#define STOA_PROTO_GEOMYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/command.h"
#include "engine/reply.h"
#include "util/buf.h"
#include "util/limits.h"

/* ---- framing ---- */

/* Where the scan of the current frame stands. Zero-initialize it; it resets itself after
 * each complete frame. */
struct stoa_geomys_scanner {
    size_t scanned;   /* bytes of the current frame walked so far */
    uint64_t pending; /* objects of the frame still to be read (0 before the first byte) */
    size_t objects;   /* objects of the frame read so far */
};

/* Looks for the end of the request that starts at data[0]; data[0 .. length) are the bytes
 * received so far, starting with the bytes given at the previous call (the caller keeps
 * them until the frame is complete). Returns:
 *   0                  *frame_length is the request's length; the scanner is reset;
 *   STOA_ERR_AGAIN     the request is not complete (its prefix is valid so far);
 *   STOA_ERR_MALFORMED these bytes are not a Geomys request; *error is a static text. The
 *                      stream cannot be resynchronized: answer and close.
 * frame_length and error are set only as said. */
int stoa_geomys_scan(struct stoa_geomys_scanner *scanner, const uint8_t *data, size_t length,
                     size_t *frame_length, const char **error);

/* ---- decoding ---- */

struct msgpack_zone;

/* Decodes framed requests; one per server is enough (decoding is synchronous). */
struct stoa_geomys_decoder {
    struct msgpack_zone *zone; /* msgpack-c's arena, emptied after each request */
};

/* Which fields a request carried (struct stoa_geomys_request's fields). */
enum stoa_geomys_field {
    STOA_GEOMYS_FIELD_COMMAND = 1u << 0,
    STOA_GEOMYS_FIELD_KEY = 1u << 1,
    STOA_GEOMYS_FIELD_VALUE = 1u << 2,
    STOA_GEOMYS_FIELD_MESSAGE = 1u << 3,
    STOA_GEOMYS_FIELD_OFFSET = 1u << 4,
    STOA_GEOMYS_FIELD_EXP = 1u << 5,
    STOA_GEOMYS_FIELD_PASSWORD = 1u << 6,
};

/* One request. The byte-string fields accept MessagePack str and bin; offset also accepts an
 * integer (written as decimal text into offset_text); exp is an integer. A field whose value
 * is nil counts as absent. */
struct stoa_geomys_request {
    uint32_t fields; /* enum stoa_geomys_field */
    struct stoa_command_argument command;
    struct stoa_command_argument key;
    struct stoa_command_argument value;
    struct stoa_command_argument message;
    struct stoa_command_argument offset;
    struct stoa_command_argument password; /* stoa's addition: see docs/protocols/geomys.md */
    int64_t exp_ms;                        /* SET's expiry, relative ms */
    char offset_text[STOA_GEOMYS_NUMBER_TEXT_BYTES];
};

/* Makes the decoder's arena. Returns 0 or STOA_ERR_NOMEM. */
int stoa_geomys_decoder_init(struct stoa_geomys_decoder *decoder);

void stoa_geomys_decoder_free(struct stoa_geomys_decoder *decoder);

/* Decodes one frame found by stoa_geomys_scan (frame[0 .. length), borrowed by request).
 * Returns 0; STOA_ERR_INVALID if it is a map but not a valid request (a field of the wrong
 * type, a key that is not a string, nesting msgpack-c refuses): *error is a static text, and
 * the stream is still in step, so answer and go on; or STOA_ERR_NOMEM. */
int stoa_geomys_decode(struct stoa_geomys_decoder *decoder, const uint8_t *frame, size_t length,
                       struct stoa_geomys_request *request, const char **error);

/* ---- translating ---- */

/* A request as the command core takes it. */
struct stoa_geomys_command {
    size_t argc;
    struct stoa_command_argument argv[STOA_GEOMYS_ARGUMENTS_MAX];
    /* The message of a NOT_FOUND response for this command (static). */
    const char *not_found;
    char number[STOA_GEOMYS_NUMBER_TEXT_BYTES]; /* SET's PX milliseconds */
    char error[STOA_GEOMYS_ERROR_BYTES_MAX];
};

/* Turns request (borrowed by command) into argv. Returns 0, or STOA_ERR_INVALID with the
 * Geomys error text in command->error ("unknown command 'FOO'", "SET requires 'key', 'value'
 * fields", ...). The command name is matched without regard to case. */
int stoa_geomys_request_command(const struct stoa_geomys_request *request,
                                struct stoa_geomys_command *command);

/* ---- responses ---- */

enum stoa_geomys_status {
    STOA_GEOMYS_STATUS_OK,
    STOA_GEOMYS_STATUS_ERROR,
    STOA_GEOMYS_STATUS_NOT_FOUND,
};

/*
 * Writes responses into buf. writer->reply is the engine's interface:
 *   status "OK"       {status: "OK"}
 *   status other      {status: "OK", message: text}          (PONG)
 *   error             {status: "ERROR", message: text}       (a leading "ERR " dropped)
 *   integer           {status: "OK", value: int}             (the smallest encoding)
 *   bulk              {status: "OK", value: str, or bin if the bytes are not UTF-8}
 *   null bulk/array   {status: "NOT_FOUND", message: not_found}
 *   array             {status: "OK", value: [elements]}      (elements as above, nil for null)
 * Each response (or array element) is written whole or not at all: the first append the
 * buffer refuses is kept in error and nothing more is written (the server then closes the
 * client). No allocation beyond the buffer's growth.
 */
struct stoa_geomys_writer {
    struct stoa_reply reply;
    struct stoa_buf *buf;
    const char *not_found; /* static; set per command (stoa_geomys_command) */
    uint64_t pending;      /* array elements still to come */
    int error;             /* 0, or the sticky STOA_ERR_TOO_LARGE / STOA_ERR_NOMEM */
};

void stoa_geomys_writer_init(struct stoa_geomys_writer *writer, struct stoa_buf *buf);

/* {status: <status>, message: data} (or {status: <status>} when data is NULL). */
void stoa_geomys_write_message(struct stoa_geomys_writer *writer, enum stoa_geomys_status status,
                               const uint8_t *data, size_t length);

/* {status: "ERROR", message: text}, text without a leading "ERR ". */
void stoa_geomys_write_error(struct stoa_geomys_writer *writer, const char *text);

/* Whether data[0 .. length) is well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF): such bytes are sent as MessagePack str, others as bin. */
bool stoa_geomys_utf8_valid(const uint8_t *data, size_t length);

#endif
