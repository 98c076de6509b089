/* The peer transport: listener, dialing with backoff, the handshake, frames in and out. */
#include "server/peer.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "proto/peer_frame.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/prng.h"

#define MODULE "peer"

/* The input buffer holds one unfinished frame plus one read's bytes. */
#define INPUT_BYTES_MAX                                                                            \
    (STOA_PEER_FRAME_HEADER_BYTES + STOA_PEER_FRAME_PAYLOAD_BYTES_MAX + STOA_STREAM_READ_BYTES_MAX)

enum role {
    ROLE_DIALED,   /* we dialed the peer: our messages to it go here */
    ROLE_ACCEPTED, /* the peer dialed us: its messages to us come here */
};

enum phase {
    PHASE_AWAIT_HELLO,     /* accepted: waiting for the dialer's HELLO */
    PHASE_AWAIT_AUTH,      /* accepted: CHALLENGE sent, waiting for the dialer's AUTH */
    PHASE_AWAIT_CHALLENGE, /* dialed: HELLO sent */
    PHASE_AWAIT_WELCOME,   /* dialed: AUTH sent, waiting for the acceptor's WELCOME */
    PHASE_OPEN,            /* authenticated both ways */
};

struct peer;

struct connection {
    struct stoa_peer_transport *transport;
    struct stoa_env_stream *stream;
    struct connection *previous; /* in transport->connections */
    struct connection *next;
    enum role role;
    enum phase phase;
    /* The member this connection is with: for a dialed one from the start, for an accepted
     * one once its HELLO names a member (authenticated only in PHASE_OPEN). NULL after the
     * member was removed. */
    struct peer *peer;
    uint64_t serial; /* for logs */
    char address[STOA_ADDRESS_TEXT_BYTES_MAX];
    struct stoa_peer_auth_transcript transcript;
    struct stoa_buf in;
    struct stoa_buf out;     /* frames queued */
    struct stoa_buf sending; /* frames being handed to the stream, a chunk at a time */
    size_t sending_offset;   /* bytes of sending already written */
    size_t chunk_bytes;      /* bytes of the write in flight */
    bool write_in_flight;
    bool closing;
    /* A write failed inside an API call (stoa_peer_send): the connection is closed at the
     * next tick, so that no callback runs from inside the call. */
    const char *broken;
    int64_t opened_ms;
    int64_t last_receive_ms; /* a frame's bytes arrived */
    int64_t last_write_ms;   /* a write finished: the peer's kernel took our bytes */
    int64_t last_ping_ms;
};

/* A connect in flight. Allocated per attempt (dialing is not the hot path) and freed by its
 * callback, so it can outlive an abandoned attempt, a removed member or the transport. */
struct attempt {
    struct stoa_env *env;
    struct stoa_peer_transport *transport; /* NULL once the transport stopped */
    struct peer *peer;                     /* NULL once abandoned (timeout, removal) */
    struct attempt *previous;
    struct attempt *next;
};

struct peer {
    bool used;
    uint64_t id;
    struct stoa_address address;
    char address_text[STOA_ADDRESS_TEXT_BYTES_MAX];
    struct connection *outgoing; /* dialed connection in any phase, or NULL */
    struct connection *incoming; /* authenticated accepted connection, or NULL */
    struct attempt *attempt;     /* the connect in flight that counts, or NULL */
    size_t connects_pending;     /* connects in flight, abandoned ones included */
    int64_t attempt_deadline_ms;
    int64_t next_attempt_ms;
    unsigned failures; /* attempts failed since the last success: the backoff's exponent */
    bool up;
    struct stoa_peer_stats stats;
};

struct stoa_peer_transport {
    struct stoa_env *env;
    const struct stoa_log *log;
    uint64_t self_id;
    uint8_t secret[STOA_PEER_SECRET_BYTES_MAX];
    size_t secret_length;
    int64_t connect_timeout_ms;
    int64_t backoff_ms_min;
    int64_t backoff_ms_max;
    size_t queue_bytes_max;
    stoa_peer_message_fn on_message;
    stoa_peer_state_fn on_peer_state;
    void *context;
    struct stoa_env_listener *listener;
    struct stoa_env_timer *timer;
    struct stoa_address address;
    struct peer peers[STOA_PEER_MEMBERS_MAX];
    struct connection *connections;
    struct attempt *attempts;
    struct stoa_prng prng; /* jitter only; challenges come from env random_bytes */
    uint64_t next_serial;
    bool stopping;
    size_t closes_pending;
    void (*on_stopped)(void *context);
    void *stopped_context;
    struct stoa_peer_transport_stats stats;
};

static void close_connection(struct connection *connection, const char *reason);
static void maybe_stopped(struct stoa_peer_transport *transport);

static int64_t now_ms(const struct stoa_peer_transport *transport) {
    return stoa_env_monotonic_ms(transport->env);
}

static struct peer *peer_find(struct stoa_peer_transport *transport, uint64_t id) {
    for (size_t i = 0; i < STOA_PEER_MEMBERS_MAX; i++) {
        if (transport->peers[i].used && transport->peers[i].id == id) {
            return &transport->peers[i];
        }
    }
    return NULL;
}

static const struct peer *peer_find_const(const struct stoa_peer_transport *transport,
                                          uint64_t id) {
    return peer_find((struct stoa_peer_transport *)(uintptr_t)transport, id);
}

/* ---- backoff ---- */

/* The delay before the next attempt after failures failed ones: min * 2^failures, at most
 * max, drawn uniformly from its upper half. */
static int64_t backoff_ms(struct stoa_peer_transport *transport, unsigned failures) {
    unsigned doublings =
        failures < STOA_PEER_BACKOFF_DOUBLINGS_MAX ? failures : STOA_PEER_BACKOFF_DOUBLINGS_MAX;
    int64_t delay = transport->backoff_ms_min << doublings;
    if (delay > transport->backoff_ms_max) {
        delay = transport->backoff_ms_max;
    }
    int64_t half = delay / 2;
    return delay - half + (int64_t)stoa_prng_below(&transport->prng, (uint64_t)half + 1);
}

static void schedule_attempt(struct peer *peer, struct stoa_peer_transport *transport) {
    peer->next_attempt_ms = now_ms(transport) + backoff_ms(transport, peer->failures);
    if (peer->failures < STOA_PEER_BACKOFF_DOUBLINGS_MAX) {
        peer->failures++;
    }
}

/* ---- output ---- */

static void release_if_large(struct stoa_buf *buf) {
    if (buf->length == 0 && buf->capacity > STOA_PEER_BUFFER_KEEP_BYTES) {
        stoa_buf_free(buf);
    }
}

static void flush(struct connection *connection);

static void on_written(void *context, int status) {
    struct connection *connection = context;
    connection->write_in_flight = false;
    if (connection->closing) {
        return;
    }
    if (status != STOA_OK) {
        close_connection(connection, "write error");
        return;
    }
    connection->last_write_ms = now_ms(connection->transport);
    connection->sending_offset += connection->chunk_bytes;
    connection->chunk_bytes = 0;
    flush(connection);
}

/* Writes the next chunk, if nothing is in flight: the rest of sending, or else the queued
 * frames (the buffers swap roles, so neither is reallocated). */
static void flush(struct connection *connection) {
    if (connection->write_in_flight || connection->closing || connection->broken != NULL) {
        return;
    }
    if (connection->sending_offset == connection->sending.length) {
        stoa_buf_reset(&connection->sending);
        release_if_large(&connection->sending);
        connection->sending_offset = 0;
        if (connection->out.length == 0) {
            return;
        }
        struct stoa_buf swap = connection->sending;
        connection->sending = connection->out;
        connection->out = swap;
    }
    size_t left = connection->sending.length - connection->sending_offset;
    size_t chunk = left < STOA_PEER_WRITE_CHUNK_BYTES ? left : STOA_PEER_WRITE_CHUNK_BYTES;
    struct stoa_env *env = connection->transport->env;
    int result = env->ops->stream_write(connection->stream,
                                        connection->sending.data + connection->sending_offset,
                                        chunk, on_written, connection);
    if (result != STOA_OK) {
        connection->broken = "write error";
        return;
    }
    connection->chunk_bytes = chunk;
    connection->write_in_flight = true;
}

static size_t queued_bytes(const struct connection *connection) {
    return connection->out.length + (connection->sending.length - connection->sending_offset);
}

/* Queues one control frame (handshake, ping, pong) and writes at once if the stream is
 * idle. Returns 0 or STOA_ERR_NOMEM. */
static int queue_frame(struct connection *connection, enum stoa_peer_frame_type type,
                       const uint8_t *payload, size_t length) {
    STOA_ASSERT(length <= STOA_PEER_HANDSHAKE_PAYLOAD_BYTES_MAX);
    int result = stoa_peer_frame_append(&connection->out, type, payload, (uint32_t)length);
    if (result != STOA_OK) {
        return STOA_ERR_NOMEM;
    }
    flush(connection);
    return STOA_OK;
}

/* ---- up and down ---- */

static void peer_up(struct peer *peer, struct stoa_peer_transport *transport) {
    peer->up = true;
    peer->failures = 0;
    peer->stats.connects++;
    if (peer->stats.connects > 1) {
        peer->stats.reconnects++;
    }
    transport->stats.peers_up++;
    STOA_LOG_INFO(transport->log, MODULE, "peer up", STOA_FIELD_UINT("peer_id", peer->id),
                  STOA_FIELD_STR("peer", peer->address_text));
    if (transport->on_peer_state != NULL) {
        transport->on_peer_state(transport->context, peer->id, STOA_PEER_UP);
    }
}

/* The outgoing connection of peer is gone: report down if it was up, plan the next dial. */
static void peer_lost_outgoing(struct peer *peer, struct stoa_peer_transport *transport,
                               const char *reason) {
    peer->outgoing = NULL;
    schedule_attempt(peer, transport);
    if (!peer->up) {
        return;
    }
    peer->up = false;
    transport->stats.peers_up--;
    STOA_LOG_INFO(transport->log, MODULE, "peer down", STOA_FIELD_UINT("peer_id", peer->id),
                  STOA_FIELD_STR("peer", peer->address_text), STOA_FIELD_STR("reason", reason));
    if (transport->on_peer_state != NULL && !transport->stopping) {
        transport->on_peer_state(transport->context, peer->id, STOA_PEER_DOWN);
    }
}

/* ---- connections ---- */

static void on_connection_closed(void *context) {
    struct connection *connection = context;
    struct stoa_peer_transport *transport = connection->transport;
    if (connection->previous != NULL) {
        connection->previous->next = connection->next;
    } else {
        transport->connections = connection->next;
    }
    if (connection->next != NULL) {
        connection->next->previous = connection->previous;
    }
    stoa_buf_free(&connection->in);
    stoa_buf_free(&connection->out);
    stoa_buf_free(&connection->sending);
    stoa_free(connection);
    transport->closes_pending--;
    maybe_stopped(transport);
}

/* Closes a connection now: the peer's state changes at once; the memory goes when the
 * stream's close finishes. Safe to call twice. */
static void close_connection(struct connection *connection, const char *reason) {
    if (connection->closing) {
        return;
    }
    struct stoa_peer_transport *transport = connection->transport;
    connection->closing = true;
    STOA_LOG_DEBUG(transport->log, MODULE, "closing connection",
                   STOA_FIELD_UINT("connection", connection->serial),
                   STOA_FIELD_STR("peer", connection->address),
                   STOA_FIELD_STR("role", connection->role == ROLE_DIALED ? "dialed" : "accepted"),
                   STOA_FIELD_STR("reason", reason));
    struct peer *peer = connection->peer;
    if (peer != NULL && peer->outgoing == connection) {
        peer_lost_outgoing(peer, transport, reason);
    }
    if (peer != NULL && peer->incoming == connection) {
        peer->incoming = NULL;
    }
    transport->closes_pending++;
    transport->env->ops->stream_close(connection->stream, on_connection_closed, connection);
}

static struct connection *connection_new(struct stoa_peer_transport *transport,
                                         struct stoa_env_stream *stream, enum role role) {
    struct connection *connection = stoa_calloc(1, sizeof(*connection));
    if (connection == NULL) {
        return NULL;
    }
    connection->transport = transport;
    connection->stream = stream;
    connection->role = role;
    connection->phase = role == ROLE_DIALED ? PHASE_AWAIT_CHALLENGE : PHASE_AWAIT_HELLO;
    connection->serial = ++transport->next_serial;
    connection->opened_ms = now_ms(transport);
    connection->last_receive_ms = connection->opened_ms;
    connection->last_ping_ms = connection->opened_ms;
    stoa_buf_init(&connection->in, INPUT_BYTES_MAX);
    /* The queue bound is checked by stoa_peer_send; the buffer's own bound leaves room for
     * one largest frame on top of a full queue. */
    size_t out_max = transport->queue_bytes_max + STOA_PEER_FRAME_HEADER_BYTES +
                     STOA_PEER_FRAME_PAYLOAD_BYTES_MAX;
    stoa_buf_init(&connection->out, out_max);
    stoa_buf_init(&connection->sending, out_max);
    struct stoa_address address;
    if (transport->env->ops->stream_peer_address(stream, &address) == STOA_OK) {
        stoa_address_format(&address, connection->address);
    } else {
        snprintf(connection->address, sizeof(connection->address), "unknown");
    }
    connection->next = transport->connections;
    if (transport->connections != NULL) {
        transport->connections->previous = connection;
    }
    transport->connections = connection;
    return connection;
}

/* A refusal of the handshake: counted, logged at warn with the peer's address, closed. */
static void refuse(struct connection *connection, const char *reason, uint64_t claimed_id) {
    struct stoa_peer_transport *transport = connection->transport;
    STOA_LOG_WARN(transport->log, MODULE, "refused a peer connection",
                  STOA_FIELD_STR("peer", connection->address),
                  STOA_FIELD_UINT("peer_id", claimed_id), STOA_FIELD_STR("reason", reason));
    close_connection(connection, reason);
}

static void auth_failed(struct connection *connection, uint64_t claimed_id) {
    connection->transport->stats.auth_failures++;
    if (connection->peer != NULL) {
        connection->peer->stats.auth_failures++;
    }
    refuse(connection, "authentication failed (a different cluster.secret?)", claimed_id);
}

static void protocol_error(struct connection *connection, const char *reason) {
    struct stoa_peer_transport *transport = connection->transport;
    transport->stats.refused_malformed++;
    if (connection->peer != NULL) {
        connection->peer->stats.protocol_errors++;
    }
    STOA_LOG_WARN(transport->log, MODULE, "closing a peer connection: bad frame",
                  STOA_FIELD_STR("peer", connection->address),
                  STOA_FIELD_UINT("peer_id", connection->peer != NULL ? connection->peer->id : 0),
                  STOA_FIELD_STR("reason", reason));
    close_connection(connection, reason);
}

/* ---- the handshake, acceptor side ---- */

static void on_hello(struct connection *connection, const struct stoa_peer_frame *frame) {
    struct stoa_peer_transport *transport = connection->transport;
    struct stoa_peer_hello hello;
    if (stoa_peer_hello_decode(frame->payload, frame->length, &hello) != STOA_OK) {
        protocol_error(connection, "malformed HELLO");
        return;
    }
    if (hello.version_min > STOA_PEER_FRAME_VERSION ||
        hello.version_max < STOA_PEER_FRAME_VERSION) {
        refuse(connection, "no common protocol version", hello.dialer_id);
        return;
    }
    if (hello.acceptor_id != transport->self_id) {
        transport->stats.refused_wrong_node++;
        refuse(connection, "the peer dialed another node id (check cluster.members)",
               hello.dialer_id);
        return;
    }
    struct peer *peer =
        hello.dialer_id != transport->self_id ? peer_find(transport, hello.dialer_id) : NULL;
    if (peer == NULL) {
        transport->stats.refused_not_member++;
        refuse(connection, "not a member of this group", hello.dialer_id);
        return;
    }
    connection->peer = peer;
    struct stoa_peer_auth_transcript *transcript = &connection->transcript;
    transcript->version = STOA_PEER_FRAME_VERSION;
    transcript->dialer_id = hello.dialer_id;
    transcript->acceptor_id = transport->self_id;
    memcpy(transcript->dialer_challenge, hello.challenge, STOA_PEER_CHALLENGE_BYTES);
    stoa_env_random_bytes(transport->env, transcript->acceptor_challenge,
                          STOA_PEER_CHALLENGE_BYTES);
    struct stoa_peer_challenge challenge = {.version = STOA_PEER_FRAME_VERSION,
                                            .acceptor_id = transport->self_id};
    memcpy(challenge.challenge, transcript->acceptor_challenge, STOA_PEER_CHALLENGE_BYTES);
    uint8_t payload[STOA_PEER_CHALLENGE_PAYLOAD_BYTES];
    stoa_peer_challenge_encode(&challenge, payload);
    connection->phase = PHASE_AWAIT_AUTH;
    if (queue_frame(connection, STOA_PEER_FRAME_CHALLENGE, payload, sizeof(payload)) != STOA_OK) {
        close_connection(connection, "out of memory");
    }
}

static void on_auth(struct connection *connection, const struct stoa_peer_frame *frame) {
    struct stoa_peer_transport *transport = connection->transport;
    struct peer *peer = connection->peer;
    const struct stoa_peer_auth_transcript *transcript = &connection->transcript;
    if (!stoa_peer_auth_verify(transport->secret, transport->secret_length, STOA_PEER_AUTH_DIALER,
                               transcript, frame->payload, frame->length)) {
        auth_failed(connection, transcript->dialer_id);
        return;
    }
    uint8_t mac[STOA_PEER_MAC_BYTES];
    stoa_peer_auth_mac(transport->secret, transport->secret_length, STOA_PEER_AUTH_ACCEPTOR,
                       transcript, mac);
    if (queue_frame(connection, STOA_PEER_FRAME_WELCOME, mac, sizeof(mac)) != STOA_OK) {
        close_connection(connection, "out of memory");
        return;
    }
    connection->phase = PHASE_OPEN;
    if (peer->incoming != NULL) {
        close_connection(peer->incoming, "replaced by a newer connection from the same peer");
    }
    peer->incoming = connection;
    STOA_LOG_DEBUG(transport->log, MODULE, "peer authenticated (incoming)",
                   STOA_FIELD_UINT("peer_id", peer->id),
                   STOA_FIELD_STR("peer", connection->address));
}

/* ---- the handshake, dialer side ---- */

static void send_hello(struct connection *connection) {
    struct stoa_peer_transport *transport = connection->transport;
    struct stoa_peer_auth_transcript *transcript = &connection->transcript;
    transcript->dialer_id = transport->self_id;
    transcript->acceptor_id = connection->peer->id;
    stoa_env_random_bytes(transport->env, transcript->dialer_challenge, STOA_PEER_CHALLENGE_BYTES);
    struct stoa_peer_hello hello = {.version_min = STOA_PEER_FRAME_VERSION,
                                    .version_max = STOA_PEER_FRAME_VERSION,
                                    .dialer_id = transport->self_id,
                                    .acceptor_id = connection->peer->id};
    memcpy(hello.challenge, transcript->dialer_challenge, STOA_PEER_CHALLENGE_BYTES);
    uint8_t payload[STOA_PEER_HELLO_BYTES];
    stoa_peer_hello_encode(&hello, payload);
    if (queue_frame(connection, STOA_PEER_FRAME_HELLO, payload, sizeof(payload)) != STOA_OK) {
        close_connection(connection, "out of memory");
    }
}

static void on_challenge(struct connection *connection, const struct stoa_peer_frame *frame) {
    struct stoa_peer_transport *transport = connection->transport;
    struct stoa_peer_challenge challenge;
    if (stoa_peer_challenge_decode(frame->payload, frame->length, &challenge) != STOA_OK) {
        protocol_error(connection, "malformed CHALLENGE");
        return;
    }
    if (challenge.version != STOA_PEER_FRAME_VERSION) {
        refuse(connection, "the peer chose a protocol version this node did not offer",
               challenge.acceptor_id);
        return;
    }
    if (challenge.acceptor_id != connection->peer->id) {
        transport->stats.refused_wrong_node++;
        refuse(connection, "another node id answers at this member's address",
               challenge.acceptor_id);
        return;
    }
    struct stoa_peer_auth_transcript *transcript = &connection->transcript;
    transcript->version = challenge.version;
    memcpy(transcript->acceptor_challenge, challenge.challenge, STOA_PEER_CHALLENGE_BYTES);
    uint8_t mac[STOA_PEER_MAC_BYTES];
    stoa_peer_auth_mac(transport->secret, transport->secret_length, STOA_PEER_AUTH_DIALER,
                       transcript, mac);
    connection->phase = PHASE_AWAIT_WELCOME;
    if (queue_frame(connection, STOA_PEER_FRAME_AUTH, mac, sizeof(mac)) != STOA_OK) {
        close_connection(connection, "out of memory");
    }
}

static void on_welcome(struct connection *connection, const struct stoa_peer_frame *frame) {
    struct stoa_peer_transport *transport = connection->transport;
    if (!stoa_peer_auth_verify(transport->secret, transport->secret_length, STOA_PEER_AUTH_ACCEPTOR,
                               &connection->transcript, frame->payload, frame->length)) {
        auth_failed(connection, connection->peer->id);
        return;
    }
    connection->phase = PHASE_OPEN;
    peer_up(connection->peer, transport);
}

/* ---- frames in ---- */

static void on_open_frame(struct connection *connection, const struct stoa_peer_frame *frame) {
    struct stoa_peer_transport *transport = connection->transport;
    struct peer *peer = connection->peer;
    switch (frame->type) {
    case STOA_PEER_FRAME_MESSAGE:
        peer->stats.frames_received++;
        peer->stats.bytes_received += frame->length;
        /* Never NULL, even when empty, so a receiver may memcpy it as it is. */
        transport->on_message(transport->context, peer->id,
                              frame->payload != NULL ? frame->payload : (const uint8_t *)"",
                              frame->length);
        return;
    case STOA_PEER_FRAME_PING:
        if (connection->role == ROLE_ACCEPTED) {
            if (queue_frame(connection, STOA_PEER_FRAME_PONG, NULL, 0) != STOA_OK) {
                close_connection(connection, "out of memory");
            }
            return;
        }
        break;
    case STOA_PEER_FRAME_PONG:
        if (connection->role == ROLE_DIALED) {
            return;
        }
        break;
    case STOA_PEER_FRAME_HELLO:
    case STOA_PEER_FRAME_CHALLENGE:
    case STOA_PEER_FRAME_AUTH:
    case STOA_PEER_FRAME_WELCOME:
        break;
    }
    protocol_error(connection, "unexpected frame after the handshake");
}

/* One frame, by phase. The handshake phases accept exactly one frame type each. */
static void on_frame(struct connection *connection, const struct stoa_peer_frame *frame) {
    static const enum stoa_peer_frame_type expected[] = {
        [PHASE_AWAIT_HELLO] = STOA_PEER_FRAME_HELLO,
        [PHASE_AWAIT_AUTH] = STOA_PEER_FRAME_AUTH,
        [PHASE_AWAIT_CHALLENGE] = STOA_PEER_FRAME_CHALLENGE,
        [PHASE_AWAIT_WELCOME] = STOA_PEER_FRAME_WELCOME,
    };
    if (connection->phase == PHASE_OPEN) {
        on_open_frame(connection, frame);
        return;
    }
    if (frame->type != expected[connection->phase]) {
        protocol_error(connection, "unexpected frame during the handshake");
        return;
    }
    switch (connection->phase) {
    case PHASE_AWAIT_HELLO:
        on_hello(connection, frame);
        return;
    case PHASE_AWAIT_AUTH:
        on_auth(connection, frame);
        return;
    case PHASE_AWAIT_CHALLENGE:
        on_challenge(connection, frame);
        return;
    case PHASE_AWAIT_WELCOME:
        on_welcome(connection, frame);
        return;
    case PHASE_OPEN:
        return;
    }
}

/* Handles every complete frame in data; returns the bytes they took. Stops at the first
 * malformed frame (the connection is then closing) or when a callback closed it. */
static size_t process(struct connection *connection, const uint8_t *data, size_t length) {
    size_t used = 0;
    while (!connection->closing) {
        size_t payload_max = connection->phase == PHASE_OPEN
                                 ? STOA_PEER_FRAME_PAYLOAD_BYTES_MAX
                                 : STOA_PEER_HANDSHAKE_PAYLOAD_BYTES_MAX;
        struct stoa_peer_frame frame;
        size_t frame_bytes = 0;
        const char *error = NULL;
        int result = stoa_peer_frame_decode(data + used, length - used, payload_max, &frame,
                                            &frame_bytes, &error);
        if (result == STOA_ERR_AGAIN) {
            break;
        }
        if (result != STOA_OK) {
            protocol_error(connection, error);
            break;
        }
        used += frame_bytes;
        on_frame(connection, &frame);
    }
    return used;
}

static void on_read(void *context, int status, const uint8_t *data, size_t length) {
    struct connection *connection = context;
    if (connection->closing) {
        return;
    }
    if (status != STOA_OK) {
        close_connection(connection,
                         status == STOA_ERR_CLOSED ? "closed by the peer" : "read error");
        return;
    }
    connection->last_receive_ms = now_ms(connection->transport);
    if (connection->in.length == 0) {
        /* The common case: frames are handled straight from the read buffer, and only an
         * unfinished frame's bytes are copied. */
        size_t used = process(connection, data, length);
        if (!connection->closing && used < length &&
            stoa_buf_append(&connection->in, data + used, length - used) != STOA_OK) {
            close_connection(connection, "out of memory for the input buffer");
        }
        return;
    }
    if (stoa_buf_append(&connection->in, data, length) != STOA_OK) {
        close_connection(connection, "out of memory for the input buffer");
        return;
    }
    size_t used = process(connection, connection->in.data, connection->in.length);
    if (!connection->closing) {
        stoa_buf_consume(&connection->in, used);
        release_if_large(&connection->in);
    }
}

/* ---- dialing ---- */

static void attempt_unlink(struct attempt *attempt) {
    struct stoa_peer_transport *transport = attempt->transport;
    if (transport == NULL) {
        return;
    }
    if (attempt->previous != NULL) {
        attempt->previous->next = attempt->next;
    } else {
        transport->attempts = attempt->next;
    }
    if (attempt->next != NULL) {
        attempt->next->previous = attempt->previous;
    }
}

static void on_connect(void *context, int status, struct stoa_env_stream *stream) {
    struct attempt *attempt = context;
    struct stoa_env *env = attempt->env;
    struct stoa_peer_transport *transport = attempt->transport;
    struct peer *peer = attempt->peer;
    bool current = peer != NULL && peer->attempt == attempt;
    attempt_unlink(attempt);
    stoa_free(attempt);
    if (peer != NULL) {
        peer->connects_pending--;
    }
    if (!current) {
        /* Abandoned: timed out, the member was removed, or the transport stopped. */
        if (stream != NULL) {
            env->ops->stream_close(stream, NULL, NULL);
        }
        return;
    }
    peer->attempt = NULL;
    if (status != STOA_OK) {
        STOA_LOG_DEBUG(transport->log, MODULE, "cannot connect to a peer",
                       STOA_FIELD_UINT("peer_id", peer->id),
                       STOA_FIELD_STR("peer", peer->address_text), STOA_FIELD_ERR(status));
        schedule_attempt(peer, transport);
        return;
    }
    struct connection *connection = connection_new(transport, stream, ROLE_DIALED);
    if (connection == NULL) {
        env->ops->stream_close(stream, NULL, NULL);
        schedule_attempt(peer, transport);
        return;
    }
    connection->peer = peer;
    peer->outgoing = connection;
    if (env->ops->stream_read_start(stream, on_read, connection) != STOA_OK) {
        close_connection(connection, "cannot read");
        return;
    }
    send_hello(connection);
}

/* Starts a connect to peer. A failure to start counts as a failed attempt. */
static void start_connect(struct peer *peer, struct stoa_peer_transport *transport) {
    struct stoa_env *env = transport->env;
    peer->stats.connect_attempts++;
    struct attempt *attempt = stoa_calloc(1, sizeof(*attempt));
    if (attempt == NULL) {
        schedule_attempt(peer, transport);
        return;
    }
    attempt->env = env;
    attempt->transport = transport;
    attempt->peer = peer;
    attempt->next = transport->attempts;
    if (transport->attempts != NULL) {
        transport->attempts->previous = attempt;
    }
    transport->attempts = attempt;
    peer->attempt = attempt;
    peer->connects_pending++;
    peer->attempt_deadline_ms = now_ms(transport) + transport->connect_timeout_ms;
    int result = env->ops->connect(env, &peer->address, on_connect, attempt);
    if (result != STOA_OK) {
        attempt_unlink(attempt);
        stoa_free(attempt);
        peer->attempt = NULL;
        peer->connects_pending--;
        STOA_LOG_DEBUG(transport->log, MODULE, "cannot connect to a peer",
                       STOA_FIELD_UINT("peer_id", peer->id),
                       STOA_FIELD_STR("peer", peer->address_text), STOA_FIELD_ERR(result));
        schedule_attempt(peer, transport);
    }
}

static void dial_if_due(struct peer *peer, struct stoa_peer_transport *transport, int64_t now) {
    if (peer->attempt != NULL && now >= peer->attempt_deadline_ms) {
        /* The env cannot cancel a connect: forget this one (on_connect closes its stream
         * whenever it ends) and plan the next. */
        peer->attempt = NULL;
        STOA_LOG_DEBUG(transport->log, MODULE, "connect to a peer timed out",
                       STOA_FIELD_UINT("peer_id", peer->id),
                       STOA_FIELD_STR("peer", peer->address_text));
        schedule_attempt(peer, transport);
    }
    if (peer->outgoing == NULL && peer->attempt == NULL && now >= peer->next_attempt_ms &&
        peer->connects_pending < STOA_PEER_CONNECTS_PENDING_MAX) {
        start_connect(peer, transport);
    }
}

/* ---- the tick: dials due, timeouts, pings ---- */

static void check_connection(struct connection *connection, int64_t now) {
    struct stoa_peer_transport *transport = connection->transport;
    if (connection->broken != NULL) {
        close_connection(connection, connection->broken);
        return;
    }
    if (connection->phase != PHASE_OPEN) {
        if (now - connection->opened_ms >= STOA_PEER_HANDSHAKE_TIMEOUT_MS) {
            transport->stats.handshake_timeouts++;
            refuse(connection, "handshake timed out",
                   connection->peer != NULL ? connection->peer->id : 0);
        }
        return;
    }
    /* Silent: nothing arrived for the idle timeout. A connection still handing a large
     * queue to the kernel, and making progress, is not judged by that: its PING waits behind
     * the queue. Pings alone never count as progress, so a frozen peer is still caught. */
    bool silent = now - connection->last_receive_ms >= STOA_PEER_IDLE_TIMEOUT_MS;
    bool sending =
        queued_bytes(connection) > 0 && now - connection->last_write_ms < STOA_PEER_IDLE_TIMEOUT_MS;
    if (silent && !sending) {
        close_connection(connection, "peer silent past the idle timeout");
        return;
    }
    if (connection->role == ROLE_DIALED &&
        now - connection->last_receive_ms >= STOA_PEER_PING_INTERVAL_MS &&
        now - connection->last_ping_ms >= STOA_PEER_PING_INTERVAL_MS) {
        connection->last_ping_ms = now;
        if (queue_frame(connection, STOA_PEER_FRAME_PING, NULL, 0) != STOA_OK) {
            close_connection(connection, "out of memory");
        }
    }
}

static void on_tick(void *context) {
    struct stoa_peer_transport *transport = context;
    int64_t now = now_ms(transport);
    for (size_t i = 0; i < STOA_PEER_MEMBERS_MAX && !transport->stopping; i++) {
        if (transport->peers[i].used) {
            dial_if_due(&transport->peers[i], transport, now);
        }
    }
    /* Closing only marks a connection: it leaves the list when its close finishes, later. */
    for (struct connection *c = transport->connections; c != NULL && !transport->stopping;
         c = c->next) {
        if (!c->closing) {
            check_connection(c, now);
        }
    }
}

/* ---- accepting ---- */

static size_t handshakes_in_progress(const struct stoa_peer_transport *transport) {
    size_t count = 0;
    for (const struct connection *c = transport->connections; c != NULL; c = c->next) {
        if (c->role == ROLE_ACCEPTED && c->phase != PHASE_OPEN && !c->closing) {
            count++;
        }
    }
    return count;
}

static void on_accept(void *context, struct stoa_env_stream *stream) {
    struct stoa_peer_transport *transport = context;
    struct stoa_env *env = transport->env;
    if (transport->stopping) {
        env->ops->stream_close(stream, NULL, NULL);
        return;
    }
    if (handshakes_in_progress(transport) >= STOA_PEER_HANDSHAKES_MAX) {
        STOA_LOG_WARN(transport->log, MODULE,
                      "refused a peer connection: too many handshakes in progress",
                      STOA_FIELD_UINT("limit", STOA_PEER_HANDSHAKES_MAX));
        env->ops->stream_close(stream, NULL, NULL);
        return;
    }
    struct connection *connection = connection_new(transport, stream, ROLE_ACCEPTED);
    if (connection == NULL) {
        STOA_LOG_WARN(transport->log, MODULE, "refused a peer connection: out of memory");
        env->ops->stream_close(stream, NULL, NULL);
        return;
    }
    transport->stats.accepted++;
    if (env->ops->stream_read_start(stream, on_read, connection) != STOA_OK) {
        close_connection(connection, "cannot read");
    }
}

/* ---- members ---- */

static int peer_add(struct stoa_peer_transport *transport, uint64_t id,
                    const struct stoa_address *address, struct peer **added) {
    if (id == 0 || id > STOA_PEER_NODE_ID_MAX || id == transport->self_id) {
        return STOA_ERR_INVALID;
    }
    if (peer_find(transport, id) != NULL) {
        return STOA_ERR_EXISTS;
    }
    for (size_t i = 0; i < STOA_PEER_MEMBERS_MAX; i++) {
        struct peer *peer = &transport->peers[i];
        if (peer->used) {
            continue;
        }
        memset(peer, 0, sizeof(*peer));
        peer->used = true;
        peer->id = id;
        peer->address = *address;
        stoa_address_format(address, peer->address_text);
        peer->next_attempt_ms = now_ms(transport);
        peer->stats.id = id;
        peer->stats.address = *address;
        transport->stats.members++;
        *added = peer;
        return STOA_OK;
    }
    return STOA_ERR_FULL;
}

int stoa_peer_member_add(struct stoa_peer_transport *transport, uint64_t id,
                         const struct stoa_address *address) {
    STOA_ASSERT(transport != NULL && address != NULL && !transport->stopping);
    struct peer *peer = NULL;
    int result = peer_add(transport, id, address, &peer);
    if (result != STOA_OK) {
        return result;
    }
    STOA_LOG_INFO(transport->log, MODULE, "member added", STOA_FIELD_UINT("peer_id", id),
                  STOA_FIELD_STR("peer", peer->address_text));
    start_connect(peer, transport);
    return STOA_OK;
}

int stoa_peer_member_remove(struct stoa_peer_transport *transport, uint64_t id) {
    STOA_ASSERT(transport != NULL && !transport->stopping);
    struct peer *peer = peer_find(transport, id);
    if (peer == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    for (struct attempt *a = transport->attempts; a != NULL; a = a->next) {
        if (a->peer == peer) {
            a->peer = NULL;
        }
    }
    if (peer->up) {
        transport->stats.peers_up--;
    }
    /* Detached first, so closing its connections reports nothing. */
    peer->up = false;
    peer->outgoing = NULL;
    peer->incoming = NULL;
    for (struct connection *c = transport->connections; c != NULL; c = c->next) {
        if (c->peer == peer) {
            c->peer = NULL;
            close_connection(c, "member removed");
        }
    }
    STOA_LOG_INFO(transport->log, MODULE, "member removed", STOA_FIELD_UINT("peer_id", id),
                  STOA_FIELD_STR("peer", peer->address_text));
    memset(peer, 0, sizeof(*peer));
    transport->stats.members--;
    return STOA_OK;
}

/* ---- sending ---- */

int stoa_peer_send(struct stoa_peer_transport *transport, uint64_t to_id, const uint8_t *payload,
                   size_t length) {
    STOA_ASSERT(transport != NULL && (payload != NULL || length == 0));
    if (length > STOA_PEER_FRAME_PAYLOAD_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct peer *peer = peer_find(transport, to_id);
    if (peer == NULL || transport->stopping) {
        STOA_LOG_DEBUG(transport->log, MODULE, "dropped a message to a node that is not a member",
                       STOA_FIELD_UINT("peer_id", to_id));
        return peer == NULL ? STOA_ERR_NOT_FOUND : STOA_ERR_CLOSED;
    }
    struct connection *connection = peer->outgoing;
    if (!peer->up || connection == NULL || connection->closing || connection->broken != NULL) {
        peer->stats.drops_down++;
        STOA_LOG_DEBUG(transport->log, MODULE, "dropped a message: peer down",
                       STOA_FIELD_UINT("peer_id", to_id), STOA_FIELD_UINT("bytes", length));
        return STOA_ERR_CLOSED;
    }
    size_t queued = queued_bytes(connection);
    if (queued > 0 && queued + STOA_PEER_FRAME_HEADER_BYTES + length > transport->queue_bytes_max) {
        peer->stats.drops_busy++;
        STOA_LOG_DEBUG(transport->log, MODULE, "refused a message: peer queue full",
                       STOA_FIELD_UINT("peer_id", to_id), STOA_FIELD_UINT("queued", queued),
                       STOA_FIELD_UINT("bytes", length));
        return STOA_ERR_BUSY;
    }
    int result = stoa_peer_frame_append(&connection->out, STOA_PEER_FRAME_MESSAGE, payload,
                                        (uint32_t)length);
    if (result != STOA_OK) {
        return STOA_ERR_NOMEM;
    }
    peer->stats.frames_sent++;
    peer->stats.bytes_sent += length;
    flush(connection);
    return STOA_OK;
}

size_t stoa_peer_broadcast(struct stoa_peer_transport *transport, const uint8_t *payload,
                           size_t length) {
    STOA_ASSERT(transport != NULL);
    size_t count = 0;
    for (size_t i = 0; i < STOA_PEER_MEMBERS_MAX; i++) {
        struct peer *peer = &transport->peers[i];
        if (peer->used && stoa_peer_send(transport, peer->id, payload, length) == STOA_OK) {
            count++;
        }
    }
    return count;
}

/* ---- queries ---- */

void stoa_peer_address(const struct stoa_peer_transport *transport, struct stoa_address *address) {
    STOA_ASSERT(transport != NULL && address != NULL);
    *address = transport->address;
}

bool stoa_peer_is_up(const struct stoa_peer_transport *transport, uint64_t id) {
    STOA_ASSERT(transport != NULL);
    const struct peer *peer = peer_find_const(transport, id);
    return peer != NULL && peer->up;
}

int stoa_peer_stats(const struct stoa_peer_transport *transport, uint64_t id,
                    struct stoa_peer_stats *stats) {
    STOA_ASSERT(transport != NULL && stats != NULL);
    const struct peer *peer = peer_find_const(transport, id);
    if (peer == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    *stats = peer->stats;
    stats->up = peer->up;
    stats->incoming = peer->incoming != NULL;
    stats->queue_bytes = peer->outgoing != NULL ? queued_bytes(peer->outgoing) : 0;
    return STOA_OK;
}

size_t stoa_peer_members(const struct stoa_peer_transport *transport, uint64_t *ids,
                         size_t capacity) {
    STOA_ASSERT(transport != NULL && (ids != NULL || capacity == 0));
    size_t count = 0;
    for (size_t i = 0; i < STOA_PEER_MEMBERS_MAX; i++) {
        if (transport->peers[i].used) {
            if (count < capacity) {
                ids[count] = transport->peers[i].id;
            }
            count++;
        }
    }
    return count;
}

void stoa_peer_transport_stats(const struct stoa_peer_transport *transport,
                               struct stoa_peer_transport_stats *stats) {
    STOA_ASSERT(transport != NULL && stats != NULL);
    *stats = transport->stats;
}

/* ---- start and stop ---- */

static void maybe_stopped(struct stoa_peer_transport *transport) {
    if (!transport->stopping || transport->closes_pending > 0 || transport->connections != NULL) {
        return;
    }
    void (*on_stopped)(void *context) = transport->on_stopped;
    void *context = transport->stopped_context;
    stoa_free(transport);
    if (on_stopped != NULL) {
        on_stopped(context);
    }
}

static void on_handle_closed(void *context) {
    struct stoa_peer_transport *transport = context;
    transport->closes_pending--;
    maybe_stopped(transport);
}

void stoa_peer_stop(struct stoa_peer_transport *transport, void (*on_stopped)(void *context),
                    void *context) {
    STOA_ASSERT(transport != NULL && !transport->stopping);
    transport->stopping = true;
    transport->on_stopped = on_stopped;
    transport->stopped_context = context;
    /* Connects in flight outlive the transport: they close their own streams. */
    for (struct attempt *a = transport->attempts; a != NULL; a = a->next) {
        a->transport = NULL;
        a->peer = NULL;
    }
    transport->attempts = NULL;
    transport->closes_pending += 2;
    transport->env->ops->listener_close(transport->listener, on_handle_closed, transport);
    transport->env->ops->timer_close(transport->timer, on_handle_closed, transport);
    for (struct connection *c = transport->connections; c != NULL; c = c->next) {
        close_connection(c, "transport stopping");
    }
    sodium_memzero(transport->secret, sizeof(transport->secret));
}

static int check_options(const struct stoa_peer_options *options) {
    if (options->self_id == 0 || options->self_id > STOA_PEER_NODE_ID_MAX) {
        return STOA_ERR_INVALID;
    }
    if (options->secret == NULL || options->secret_length < STOA_PEER_SECRET_BYTES_MIN ||
        options->secret_length > STOA_PEER_SECRET_BYTES_MAX) {
        return STOA_ERR_INVALID;
    }
    if (options->members != NULL && options->members->count > STOA_PEER_MEMBERS_MAX) {
        return STOA_ERR_INVALID;
    }
    if (options->connect_timeout_ms < 0 || options->backoff_ms_min < 0 ||
        options->backoff_ms_max < 0) {
        return STOA_ERR_INVALID;
    }
    return STOA_OK;
}

static int64_t or_default(int64_t value, int64_t fallback) {
    return value > 0 ? value : fallback;
}

static void apply_options(struct stoa_peer_transport *transport, struct stoa_env *env,
                          const struct stoa_peer_options *options) {
    transport->env = env;
    transport->log = options->log;
    transport->self_id = options->self_id;
    memcpy(transport->secret, options->secret, options->secret_length);
    transport->secret_length = options->secret_length;
    transport->connect_timeout_ms =
        or_default(options->connect_timeout_ms, STOA_PEER_CONNECT_TIMEOUT_MS_DEFAULT);
    transport->backoff_ms_min =
        or_default(options->backoff_ms_min, STOA_PEER_BACKOFF_MS_MIN_DEFAULT);
    transport->backoff_ms_max =
        or_default(options->backoff_ms_max, STOA_PEER_BACKOFF_MS_MAX_DEFAULT);
    if (transport->backoff_ms_max < transport->backoff_ms_min) {
        transport->backoff_ms_max = transport->backoff_ms_min;
    }
    transport->queue_bytes_max = options->send_queue_bytes_max > 0
                                     ? options->send_queue_bytes_max
                                     : STOA_PEER_SEND_QUEUE_BYTES_DEFAULT;
    transport->on_message = options->on_message;
    transport->on_peer_state = options->on_peer_state;
    transport->context = options->context;
    uint64_t seed = 0;
    stoa_env_random_bytes(env, &seed, sizeof(seed));
    stoa_prng_init(&transport->prng, seed);
}

static int open_handles(struct stoa_peer_transport *transport, const struct stoa_address *address) {
    struct stoa_env *env = transport->env;
    int result = env->ops->timer_create(env, on_tick, transport, &transport->timer);
    if (result != STOA_OK) {
        return result;
    }
    result = env->ops->listen(env, address, on_accept, transport, &transport->listener);
    if (result != STOA_OK) {
        env->ops->timer_close(transport->timer, NULL, NULL);
        return result;
    }
    env->ops->listener_address(transport->listener, &transport->address);
    env->ops->timer_start(transport->timer, STOA_PEER_TICK_MS, STOA_PEER_TICK_MS);
    return STOA_OK;
}

int stoa_peer_start(struct stoa_env *env, const struct stoa_peer_options *options,
                    struct stoa_peer_transport **out) {
    STOA_ASSERT(env != NULL && options != NULL && out != NULL && options->on_message != NULL);
    int result = check_options(options);
    if (result != STOA_OK) {
        return result;
    }
    struct stoa_peer_transport *transport = stoa_calloc(1, sizeof(*transport));
    if (transport == NULL) {
        return STOA_ERR_NOMEM;
    }
    apply_options(transport, env, options);
    size_t member_count = options->members != NULL ? options->members->count : 0;
    for (size_t i = 0; i < member_count && result == STOA_OK; i++) {
        const struct stoa_member *member = &options->members->members[i];
        struct peer *peer = NULL;
        if (member->id != options->self_id &&
            peer_add(transport, member->id, &member->address, &peer) != STOA_OK) {
            result = STOA_ERR_INVALID;
        }
    }
    if (result == STOA_OK) {
        result = open_handles(transport, &options->listen_address);
    }
    if (result != STOA_OK) {
        sodium_memzero(transport->secret, sizeof(transport->secret));
        stoa_free(transport);
        return result;
    }
    char text[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(&transport->address, text);
    STOA_LOG_INFO(transport->log, MODULE, "listening for peers", STOA_FIELD_STR("address", text),
                  STOA_FIELD_UINT("self_id", transport->self_id),
                  STOA_FIELD_UINT("members", transport->stats.members));
    for (size_t i = 0; i < STOA_PEER_MEMBERS_MAX; i++) {
        if (transport->peers[i].used) {
            start_connect(&transport->peers[i], transport);
        }
    }
    *out = transport;
    return STOA_OK;
}

/* ---- from config ---- */

/* The member whose address is this node's peer address, or NULL (also when several are). */
static const struct stoa_member *member_at(const struct stoa_member_list *members,
                                           const struct stoa_address *address) {
    const struct stoa_member *found = NULL;
    for (size_t i = 0; i < members->count; i++) {
        if (stoa_address_equal(&members->members[i].address, address)) {
            found = &members->members[i];
        }
    }
    return found;
}

static int config_fail(char error[STOA_CONFIG_ERROR_BYTES_MAX], const char *text) {
    snprintf(error, STOA_CONFIG_ERROR_BYTES_MAX, "%s", text);
    return STOA_ERR_CONFIG;
}

static int resolve_self(const struct stoa_config *config, const struct stoa_member_list *members,
                        const struct stoa_address *listen, uint64_t *self_id,
                        char error[STOA_CONFIG_ERROR_BYTES_MAX]) {
    if (config->cluster_self != 0) {
        if (stoa_member_list_find(members, (uint64_t)config->cluster_self) == NULL) {
            snprintf(error, STOA_CONFIG_ERROR_BYTES_MAX,
                     "cluster.self: %lld is not one of the ids in cluster.members",
                     (long long)config->cluster_self);
            return STOA_ERR_CONFIG;
        }
        *self_id = (uint64_t)config->cluster_self;
        return STOA_OK;
    }
    const struct stoa_member *self = member_at(members, listen);
    if (self == NULL) {
        char text[STOA_ADDRESS_TEXT_BYTES_MAX];
        stoa_address_format(listen, text);
        snprintf(error, STOA_CONFIG_ERROR_BYTES_MAX,
                 "cluster.self: 0 means the member at this node's peer address %s "
                 "(listen.host:listen.peer.port), and cluster.members has none; set cluster.self",
                 text);
        return STOA_ERR_CONFIG;
    }
    *self_id = self->id;
    return STOA_OK;
}

int stoa_peer_options_from_config(const struct stoa_config *config,
                                  struct stoa_member_list *members,
                                  struct stoa_peer_options *options,
                                  char error[STOA_CONFIG_ERROR_BYTES_MAX]) {
    STOA_ASSERT(config != NULL && members != NULL && options != NULL && error != NULL);
    error[0] = '\0';
    char reason[STOA_MEMBER_LIST_ERROR_BYTES];
    struct stoa_member_list parsed;
    if (stoa_member_list_parse(config->cluster_members, strlen(config->cluster_members), &parsed,
                               reason) != STOA_OK) {
        snprintf(error, STOA_CONFIG_ERROR_BYTES_MAX, "cluster.members: %s", reason);
        return STOA_ERR_CONFIG;
    }
    if (parsed.count == 0) {
        members->count = 0;
        return STOA_OK;
    }
    struct stoa_address listen;
    if (stoa_address_parse_host(config->listen_host, strlen(config->listen_host),
                                (uint16_t)config->listen_peer_port, &listen) != STOA_OK) {
        return config_fail(error, "listen.host: the peer transport needs a numeric address");
    }
    uint64_t self_id = 0;
    int result = resolve_self(config, &parsed, &listen, &self_id, error);
    if (result != STOA_OK) {
        return result;
    }
    size_t secret_length = strlen(config->cluster_secret);
    if (secret_length < STOA_PEER_SECRET_BYTES_MIN) {
        return config_fail(error, "cluster.secret: must be at least 16 bytes when "
                                  "cluster.members is set");
    }
    if (config->cluster_reconnect_backoff_min_ms > config->cluster_reconnect_backoff_max_ms) {
        return config_fail(error, "cluster.reconnectBackoffMin: must not be above "
                                  "cluster.reconnectBackoffMax");
    }
    *members = parsed;
    memset(options, 0, sizeof(*options));
    options->self_id = self_id;
    options->listen_address = listen;
    options->members = members;
    options->secret = (const uint8_t *)config->cluster_secret;
    options->secret_length = secret_length;
    options->connect_timeout_ms = config->cluster_connect_timeout_ms;
    options->backoff_ms_min = config->cluster_reconnect_backoff_min_ms;
    options->backoff_ms_max = config->cluster_reconnect_backoff_max_ms;
    return STOA_OK;
}
