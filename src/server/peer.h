/*
 * peer: the transport between the nodes of a replica group.
 *
 * It carries opaque messages (the consensus layer's encoded messages) between node ids over
 * TCP, in the frames of proto/peer_frame.h (docs/protocols/peer.md), and knows nothing of
 * what they mean. What it does:
 *
 *   - Connections. Every node dials every other member and keeps one outgoing connection per
 *     peer; it sends its messages to that peer on that connection only. It accepts the
 *     connections the others dial and receives their messages there. So a pair of nodes has
 *     two connections, one per direction, and no tie-break is needed when both dial at once.
 *     A newer authenticated connection from a peer replaces an older one (the older is
 *     closed): that is what a restarted peer looks like.
 *   - Authentication. Before anything else both sides prove they hold the cluster secret:
 *     an HMAC challenge-response in both directions that binds both node ids and both
 *     challenges (docs/decisions/peer-auth.md). A connection that fails it, claims an id that
 *     is not a member, or dialed another node id, is refused: closed, counted, and logged at
 *     warn with the peer's address.
 *   - Up and down. A peer is up while its outgoing connection is authenticated; on_peer_state
 *     reports each change. A message to a peer that is down is dropped (logged at debug and
 *     counted): the consensus layer retransmits. A lost connection is redialed with
 *     exponential backoff and jitter, reset once a connection succeeds.
 *   - Liveness. An idle dialer pings; a connection that has heard nothing for
 *     STOA_PEER_IDLE_TIMEOUT_MS is closed as dead; a handshake must finish within
 *     STOA_PEER_HANDSHAKE_TIMEOUT_MS.
 *   - Bounds. Each peer's send queue holds at most send_queue_bytes_max bytes (a send past it
 *     returns STOA_ERR_BUSY; one larger frame is accepted into an empty queue); a frame larger
 *     than STOA_PEER_FRAME_PAYLOAD_BYTES_MAX, a bad checksum or any malformed byte closes that
 *     connection with the reason logged, and the transport goes on.
 *
 * Sending never blocks and does not allocate per message: frames are appended to the peer's
 * buffer (reused), and the first send with nothing in flight writes at once; sends made
 * while a write is in flight are batched into the next write.
 *
 * Callbacks run on the env's thread, from I/O and timer callbacks, never from inside a call
 * of this API. From them the caller may send, add or remove members, and stop the
 * transport.
 *
 * Ownership: the transport borrows the env and the log for its life; it copies the members,
 * the secret and the options. on_message's payload is borrowed for the call only.
 */
#ifndef STOA_SERVER_PEER_H
#define STOA_SERVER_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/address.h"
#include "util/config.h"
#include "util/env.h"
#include "util/log.h"
#include "util/member_list.h"

enum stoa_peer_state {
    STOA_PEER_DOWN = 0,
    STOA_PEER_UP = 1,
};

/* A message from an authenticated peer; payload is borrowed for the call. */
typedef void (*stoa_peer_message_fn)(void *context, uint64_t from_id, const uint8_t *payload,
                                     size_t length);
/* A peer went up (messages to it are sent) or down (they are dropped). */
typedef void (*stoa_peer_state_fn)(void *context, uint64_t id, enum stoa_peer_state state);

struct stoa_peer_options {
    uint64_t self_id;                       /* 1 .. STOA_PEER_NODE_ID_MAX */
    struct stoa_address listen_address;     /* port 0 binds a free port: see stoa_peer_address */
    const struct stoa_member_list *members; /* copied; an entry for self_id is skipped */
    const uint8_t *secret;                  /* copied; at least STOA_PEER_SECRET_BYTES_MIN */
    size_t secret_length;
    int64_t connect_timeout_ms;  /* 0 = STOA_PEER_CONNECT_TIMEOUT_MS_DEFAULT */
    int64_t backoff_ms_min;      /* 0 = STOA_PEER_BACKOFF_MS_MIN_DEFAULT */
    int64_t backoff_ms_max;      /* 0 = STOA_PEER_BACKOFF_MS_MAX_DEFAULT */
    size_t send_queue_bytes_max; /* per peer; 0 = STOA_PEER_SEND_QUEUE_BYTES_DEFAULT */
    const struct stoa_log *log;
    stoa_peer_message_fn on_message;
    stoa_peer_state_fn on_peer_state; /* may be NULL */
    void *context;                    /* for both callbacks */
};

/* Counters of one peer, for INFO and metrics. */
struct stoa_peer_stats {
    uint64_t id;
    struct stoa_address address;
    bool up;                   /* the outgoing connection is authenticated */
    bool incoming;             /* an authenticated connection from the peer is open */
    uint64_t frames_sent;      /* MESSAGE frames queued to the peer */
    uint64_t bytes_sent;       /* their payload bytes */
    uint64_t frames_received;  /* MESSAGE frames delivered from the peer */
    uint64_t bytes_received;   /* their payload bytes */
    uint64_t drops_down;       /* sends dropped because the peer was down */
    uint64_t drops_busy;       /* sends refused because its queue was full */
    uint64_t connect_attempts; /* outgoing connects started */
    uint64_t connects;         /* outgoing connections that got up */
    uint64_t reconnects;       /* of those, the ones after the first */
    uint64_t auth_failures;    /* handshakes with this peer (or claiming its id) that failed */
    uint64_t protocol_errors;  /* connections with it closed for malformed frames */
    uint64_t queue_bytes;      /* bytes queued to it now, not yet taken by the kernel */
};

/* Counters of the transport as a whole. */
struct stoa_peer_transport_stats {
    uint64_t members; /* peers known (self not counted) */
    uint64_t peers_up;
    uint64_t accepted;           /* connections accepted */
    uint64_t refused_not_member; /* HELLO from an id that is not a member */
    uint64_t refused_wrong_node; /* HELLO meant for another node id */
    uint64_t refused_malformed;  /* closed for bytes that are not valid frames */
    uint64_t auth_failures;      /* every failed proof, attributed or not */
    uint64_t handshake_timeouts;
};

struct stoa_peer_transport;

/* Starts listening and dialing every member. Returns 0, STOA_ERR_INVALID (bad options:
 * self id out of range, a secret shorter than STOA_PEER_SECRET_BYTES_MIN, more members than
 * STOA_PEER_MEMBERS_MAX), STOA_ERR_NOMEM, or the listener's error (STOA_ERR_ADDRESS_IN_USE,
 * ...). */
int stoa_peer_start(struct stoa_env *env, const struct stoa_peer_options *options,
                    struct stoa_peer_transport **transport);

/* The address actually bound (the real port when 0 was asked). */
void stoa_peer_address(const struct stoa_peer_transport *transport, struct stoa_address *address);

/* Queues one message (payload copied) to peer to_id. Returns 0 (queued), STOA_ERR_BUSY (its
 * queue is full), STOA_ERR_CLOSED (the peer is down: dropped), STOA_ERR_NOT_FOUND (not a
 * member), STOA_ERR_TOO_LARGE (length > STOA_PEER_FRAME_PAYLOAD_BYTES_MAX) or STOA_ERR_NOMEM.
 * Nothing is queued on error. Never blocks. */
int stoa_peer_send(struct stoa_peer_transport *transport, uint64_t to_id, const uint8_t *payload,
                   size_t length);

/* Sends one message to every member that is up; returns how many took it. */
size_t stoa_peer_broadcast(struct stoa_peer_transport *transport, const uint8_t *payload,
                           size_t length);

/* Adds a member and starts dialing it. Returns 0, STOA_ERR_INVALID (id 0, out of range, or
 * self), STOA_ERR_EXISTS (the id is a member), or STOA_ERR_FULL (STOA_PEER_MEMBERS_MAX). */
int stoa_peer_member_add(struct stoa_peer_transport *transport, uint64_t id,
                         const struct stoa_address *address);

/* Removes a member: its connections are closed and its queue dropped, without a state
 * callback. Returns 0 or STOA_ERR_NOT_FOUND. */
int stoa_peer_member_remove(struct stoa_peer_transport *transport, uint64_t id);

/* Whether the peer is up (false for an unknown id). */
bool stoa_peer_is_up(const struct stoa_peer_transport *transport, uint64_t id);

/* The counters of member id. Returns 0 or STOA_ERR_NOT_FOUND (stats untouched). */
int stoa_peer_stats(const struct stoa_peer_transport *transport, uint64_t id,
                    struct stoa_peer_stats *stats);

/* The members' ids, in no particular order: writes up to capacity ids, returns how many
 * there are. */
size_t stoa_peer_members(const struct stoa_peer_transport *transport, uint64_t *ids,
                         size_t capacity);

void stoa_peer_transport_stats(const struct stoa_peer_transport *transport,
                               struct stoa_peer_transport_stats *stats);

/* Stops listening and closes every connection (queued messages are dropped, no state
 * callbacks run), then calls on_stopped (may be NULL) once its handles are closed; the
 * transport is freed then. A connect still in flight is abandoned: its stream is closed when
 * the kernel answers, after on_stopped. */
void stoa_peer_stop(struct stoa_peer_transport *transport, void (*on_stopped)(void *context),
                    void *context);

/* ---- from config (what `stoa start` calls) ---- */

/* The transport's settings from config: members (cluster.members), self id (cluster.self,
 * or when it is 0 the member whose address is listen.host:listen.peer.port), the secret
 * (cluster.secret), the listen address (listen.host, listen.peer.port) and the timings.
 * options->members points at *members and options->secret into config, so both must outlive
 * the use of options; log and callbacks are left for the caller. Returns 0 with
 * members->count == 0 when cluster.members is empty (a single node: start no transport), or
 * STOA_ERR_CONFIG with a sentence in error: a bad member list, cluster.self not a member, no
 * member matching this node's peer address, a secret missing or shorter than
 * STOA_PEER_SECRET_BYTES_MIN, backoff min above max, a listen.host that is not numeric. */
int stoa_peer_options_from_config(const struct stoa_config *config,
                                  struct stoa_member_list *members,
                                  struct stoa_peer_options *options,
                                  char error[STOA_CONFIG_ERROR_BYTES_MAX]);

#endif
