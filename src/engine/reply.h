/*
 * reply: how the engine answers, without knowing the protocol.
 *
 * The engine writes each answer through a struct stoa_reply, a table of functions that a
 * front door implements by writing its own bytes (RESP, JSON, msgpack, multiverse9)
 * straight into its output buffer: no intermediate tree, no allocation per reply. The shape
 * is Redis's, since that is the richest protocol we serve: status, error, integer, bulk
 * string, null bulk, array header followed by its elements, and null array.
 *
 * The writers return nothing: a writer that runs out of room (an output-buffer limit) keeps
 * a sticky error of its own, which its front door checks after the command.
 *
 * Error texts follow Redis exactly ("WRONGTYPE Operation against a key holding the wrong
 * kind of value"), with the err.h code beside them for protocols that carry numbers.
 *
 * This file also has the recorder: a reply implementation that saves a reply as compact
 * bytes, and replays them into another reply later. The session table keeps the recorded
 * reply of each client's last write, so a retried write gets the same answer without being
 * applied twice.
 */
#ifndef STOA_ENGINE_REPLY_H
#define STOA_ENGINE_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct stoa_reply;

struct stoa_reply_ops {
    /* A short status without CR or LF: "OK", "PONG". Borrowed. */
    void (*status)(struct stoa_reply *reply, const char *text);
    /* code is an err.h code; text is the full Redis error line ("ERR ..."). Borrowed. */
    void (*error)(struct stoa_reply *reply, int code, const char *text);
    void (*integer)(struct stoa_reply *reply, int64_t value);
    void (*bulk)(struct stoa_reply *reply, const uint8_t *data, size_t length);
    void (*null_bulk)(struct stoa_reply *reply);
    /* Starts an array; exactly count elements follow. */
    void (*array)(struct stoa_reply *reply, size_t count);
    void (*null_array)(struct stoa_reply *reply);
};

struct stoa_reply {
    const struct stoa_reply_ops *ops;
    void *self;
};

/* ---- the recorder ---- */

/* Records into buf (borrowed; the recorder appends). A failed append sets error and drops
 * the rest of the reply. */
struct stoa_reply_recorder {
    struct stoa_reply reply;
    struct stoa_buf *buf;
    int error;
};

/* Makes recorder->reply write into buf. */
void stoa_reply_recorder_init(struct stoa_reply_recorder *recorder, struct stoa_buf *buf);

/* Replays recorded bytes into reply. Returns 0, or STOA_ERR_MALFORMED if the bytes are not
 * a sequence of whole recorded replies (then reply may have received a prefix). */
int stoa_reply_replay(const uint8_t *data, size_t length, struct stoa_reply *reply);

#endif
