/*
 * multiverse9_server: the multiverse9 front door — a listener for multiverse9's binary
 * protocol (proto/multiverse9.h; docs/protocols/multiverse9.md), on conn.h's connections.
 *
 * Requests run through the command core and the engine like every door's: CREATE is a SET
 * of a new ULID key (made here, from the env's clock and random bytes, and carried in the
 * logged command, so a replay makes the same key), REMOVE a DEL, AGGREGATE one GET per
 * local target. Replies wait for the group commit at conn.h's loop hook.
 *
 * AGGREGATE targets of the form ULID@host:port are fetched from that node: one connection
 * per distinct address (at most STOA_MULTIVERSE9_REMOTES_MAX), which proves this node's key
 * with HELLO/AUTH and then asks for each ULID with a framed AGGREGATE. The client's
 * connection is paused meanwhile (its later requests wait, in order); the event loop and
 * every other connection carry on. A node that refuses the connection, closes it, answers
 * garbage or does not answer within remote_timeout_ms gets an "Error: ..." text in its
 * entries, and the reply goes out.
 *
 * Permissions (docs/protocols/multiverse9.md, "Permissions"): HELLO and AUTH are always
 * allowed; CREATE, REMOVE and AGGREGATE need open_interactions or an authenticated
 * acknowledged node; METADATA needs open_metadata or an authenticated acknowledged node.
 * A connection is an acknowledged node once it has signed this node's challenge with a key
 * listed in nodes (never by its address).
 *
 * On a member of a replica group (options.replica set) CREATE and REMOVE are writes through
 * the group (stoa_replica_write, in options.write_mode: node.storage.storageMode), and each
 * local AGGREGATE target a read through it (stoa_replica_read, in options.read_mode:
 * node.storage.retrievalMode); the connection is paused until the group has answered. CREATE's
 * ULID is made by the member that receives it and travels in the logged SET. The group's
 * refusals are error replies: 0x07 (not run: CLUSTERDOWN, TRYAGAIN; retry) and 0x08 (TIMEOUT:
 * the outcome is unknown) for CREATE and REMOVE, and "Error: <text>" entries in AGGREGATE.
 * METADATA, HELLO and AUTH are this node's own answers.
 *
 * Ownership: the server borrows the env, the engine, the key, the log and the replica for its
 * life and copies the name and the nodes.
 */
#ifndef STOA_SERVER_MULTIVERSE9_SERVER_H
#define STOA_SERVER_MULTIVERSE9_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "server/replica.h"
#include "server/node_key.h"
#include "util/address.h"
#include "util/env.h"
#include "util/limits.h"
#include "util/log.h"

/* An acknowledged node: its public key and, if given, its address (shown in METADATA). */
struct stoa_multiverse9_node {
    uint8_t public_key[STOA_NODE_KEY_PUBLIC_BYTES];
    bool has_address;
    struct stoa_address address;
};

struct stoa_multiverse9_server_options {
    struct stoa_address address; /* port 0 binds a free port */
    size_t clients_max;
    size_t output_bytes_max;
    const char *name; /* copied; at most STOA_MULTIVERSE9_NAME_BYTES_MAX bytes */
    const struct stoa_node_key *key;
    const struct stoa_multiverse9_node *nodes; /* copied */
    size_t node_count;                         /* at most STOA_MULTIVERSE9_NODES_MAX */
    bool open_interactions;
    bool open_metadata;
    int64_t remote_timeout_ms; /* > 0 */
    const struct stoa_log *log;
    /* A member of a replica group: the replica (borrowed; it must outlive the server) and
     * the modes of every request. NULL on a single node. */
    struct stoa_replica *replica;
    enum stoa_replica_read_mode read_mode;
    enum stoa_replica_write_mode write_mode;
};

struct stoa_multiverse9_server_stats {
    uint64_t connections_accepted;
    uint64_t connections_current;
    uint64_t requests;
    uint64_t errors;              /* error replies of every kind */
    uint64_t permission_refusals; /* requests refused by the permissions */
    uint64_t authentications;     /* successful AUTHs */
    uint64_t remote_fetches;      /* connections to other nodes */
    uint64_t remote_failures;     /* entries answered with an error about a remote node */
    uint64_t group_requests;      /* on a member: writes and reads handed to the group */
};

struct stoa_multiverse9_server;

/* Parses multiverse9.nodes: comma-separated entries "KEY" or "KEY@host:port", KEY a public
 * key in hex or base64; spaces around entries are ignored; "" is no nodes. Returns 0, or
 * STOA_ERR_CONFIG with the reason in error. */
int stoa_multiverse9_nodes_parse(const char *text, struct stoa_multiverse9_node *nodes,
                                 size_t capacity, size_t *count,
                                 char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX]);

/* Starts listening. Returns 0, STOA_ERR_NOMEM, STOA_ERR_TOO_LARGE (a name too long) or the
 * listener's error. */
int stoa_multiverse9_server_start(struct stoa_env *env, struct stoa_engine *engine,
                                  const struct stoa_multiverse9_server_options *options,
                                  struct stoa_multiverse9_server **server);

void stoa_multiverse9_server_address(const struct stoa_multiverse9_server *server,
                                     struct stoa_address *address);

/* Stops accepting, closes every connection (replies already made are sent once durable;
 * pending remote fetches are dropped) and calls on_stopped (may be NULL) once everything is
 * closed; the server is freed then. */
void stoa_multiverse9_server_stop(struct stoa_multiverse9_server *server,
                                  void (*on_stopped)(void *context), void *context);

void stoa_multiverse9_server_stats(const struct stoa_multiverse9_server *server,
                                   struct stoa_multiverse9_server_stats *stats);

#endif
