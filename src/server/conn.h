/*
 * conn: the listener and connection bookkeeping shared by the smaller front doors (Geomys,
 * multiverse9): accept up to clients_max, buffer input, hand it to the protocol, hold the
 * protocol's replies until the engine's log is durable up to the writes they acknowledge,
 * send them, and close with a logged reason. (server.c, the RESP door, keeps its own copy,
 * tuned for speed.)
 *
 * The protocol is three callbacks. on_input gets every byte not yet consumed (and at_end
 * once the client has half-closed, or the protocol called stoa_conn_input_end) and returns
 * how many bytes it consumed: whole requests, each answered into conn->out. A request that
 * writes calls stoa_conn_wrote with the engine's log index. on_open/on_close make and free
 * the protocol's per-connection state (conn->protocol).
 *
 * Group commit: once per loop iteration, at this server's loop hook, the log is flushed (one
 * stoa_engine_flush for every write of the iteration; a flush another door made already makes
 * it a no-op) and then every connection with output is serviced: its replies go out when
 * stoa_engine_durable_index covers conn->wait_index. If the log failed first, the connection
 * is closed: no reply that is not true is ever sent.
 *
 * A protocol that must wait for something else before answering (multiverse9's remote
 * fetches, a replica group's answer) pauses the connection: no more input is read or handed
 * over until it resumes. An answer that arrives inside another module's callback (the
 * replica's) resumes it later, at this server's loop hook (stoa_conn_resume_later), so the
 * protocol never re-enters that module from its own callback.
 *
 * End of input: when the client half-closes, the remaining bytes are handed over with at_end
 * and the connection is closed once its replies are sent.
 *
 * Ownership: the server borrows the env, the engine and the log for its life; conn->out is
 * the connection's (write into it between callbacks of this module only).
 */
#ifndef STOA_SERVER_CONN_H
#define STOA_SERVER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "util/address.h"
#include "util/buf.h"
#include "util/env.h"
#include "util/log.h"

struct stoa_conn_server;

/* One connection. The fields are public for the protocol: out (append replies), wait_index
 * (through stoa_conn_wrote), protocol (its state), id and peer (for logs). */
struct stoa_conn {
    struct stoa_conn_server *server;
    struct stoa_env_stream *stream;
    struct stoa_conn *previous; /* in the server's list */
    struct stoa_conn *next;
    struct stoa_conn *next_dirty;
    bool dirty;
    uint64_t id;
    char peer[STOA_ADDRESS_TEXT_BYTES_MAX];
    void *protocol; /* the protocol's state, set by on_open */

    struct stoa_buf in;
    struct stoa_buf out;     /* replies being produced */
    struct stoa_buf sending; /* replies handed to the stream, until its write callback */
    bool write_in_flight;
    uint64_t wait_index; /* the out replies wait for the log to be durable up to here */
    int output_error;    /* set by the protocol when its writer hit the output limit */
    bool input_ended;
    bool paused;
    bool resume_pending; /* stoa_conn_resume_later: resumed at the next loop hook */
    bool reading;
    bool close_after_reply;
    bool closing;
    const char *close_reason;
};

struct stoa_conn_callbacks {
    /* A new connection: make conn->protocol. Returns 0, or an error (the connection is
     * refused). */
    int (*on_open)(void *context, struct stoa_conn *conn);
    /* Consumes whole requests at the start of data[0 .. length) (borrowed for the call),
     * answering each into conn->out; returns the bytes consumed. at_end: no byte will come
     * after these. Called again after every read while the connection is not paused,
     * closing or closed-after-reply. */
    size_t (*on_input)(void *context, struct stoa_conn *conn, const uint8_t *data,
                       size_t length, bool at_end);
    /* The connection is gone (closed for any reason): free conn->protocol. */
    void (*on_close)(void *context, struct stoa_conn *conn);
    /* May be NULL. The connection starts closing (stoa_conn_close, for any reason): its
     * stream is still being closed and on_close comes later. The protocol cancels here what
     * would otherwise answer into a connection that is going away (a replica waiter). */
    void (*on_closing)(void *context, struct stoa_conn *conn);
};

struct stoa_conn_options {
    struct stoa_address address; /* port 0 binds a free port */
    size_t clients_max;
    size_t input_bytes_max;  /* per connection: one unfinished request plus one read */
    size_t output_bytes_max; /* per connection: replies not yet taken by the client */
    const char *module;      /* for log lines ("geomys"); static */
    const struct stoa_log *log;
};

struct stoa_conn_stats {
    uint64_t connections_accepted;
    uint64_t connections_rejected; /* over clients_max */
    uint64_t connections_current;
    uint64_t flushes; /* group commits this server asked for */
    uint64_t output_limit_closes;
};

/* Starts listening. Returns 0, STOA_ERR_NOMEM, or the listener's error. */
int stoa_conn_server_start(struct stoa_env *env, struct stoa_engine *engine,
                           const struct stoa_conn_options *options,
                           const struct stoa_conn_callbacks *callbacks, void *context,
                           struct stoa_conn_server **server);

void stoa_conn_server_address(const struct stoa_conn_server *server,
                              struct stoa_address *address);

void stoa_conn_server_stats(const struct stoa_conn_server *server, struct stoa_conn_stats *stats);

/* Stops accepting, closes every connection (replies already produced are sent first when
 * they are durable; on_close runs for each), and calls on_stopped (may be NULL) once every
 * handle is closed; the server is freed then. */
void stoa_conn_server_stop(struct stoa_conn_server *server, void (*on_stopped)(void *context),
                           void *context);

/* A request of conn wrote through the engine with log index index: its reply waits for it. */
void stoa_conn_wrote(struct stoa_conn *conn, uint64_t index);

/* Closes conn once the replies already in out are sent (framing lost, one-shot request). */
void stoa_conn_close_after_reply(struct stoa_conn *conn, const char *reason);

/* Closes conn now, dropping unsent replies. */
void stoa_conn_close(struct stoa_conn *conn, const char *reason);

/* Stops reading and handing input to the protocol, until stoa_conn_resume. */
void stoa_conn_pause(struct stoa_conn *conn);

/* Hands the buffered input to the protocol again and reads on; the output goes out at the
 * next loop hook. Calls on_input before it returns. */
void stoa_conn_resume(struct stoa_conn *conn);

/* The same at this server's next loop hook (woken, so the loop does not wait for I/O first):
 * for an answer that comes inside another module's callback. Does nothing to a connection
 * that is closing, or once the server is stopping (the connection is being closed). */
void stoa_conn_resume_later(struct stoa_conn *conn);

/* Treats the input as ended (as if the client had half-closed): the protocol's buffered
 * bytes are handed over with at_end, later bytes are ignored, and the connection closes once
 * its replies are sent. */
void stoa_conn_input_end(struct stoa_conn *conn);

/* Whether the server is stopping (a protocol should then start no new outside work). */
bool stoa_conn_server_stopping(const struct stoa_conn_server *server);

#endif
