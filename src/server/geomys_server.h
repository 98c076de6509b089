/*
 * geomys_server: the Geomys front door — a listener for Geomys's MessagePack clients.
 *
 * Each connection collects bytes, frames requests with proto/geomys.h (one MessagePack map
 * each: a request split across reads, or several in one read, work the same), and runs each
 * through the command core (proto/commands.h, door STOA_COMMANDS_DOOR_GEOMYS) against the
 * same engine as the RESP door. Responses wait in the connection's output buffer: once per
 * loop iteration, at this server's own loop hook, the server flushes the engine's log (one
 * sync for every write of the iteration; a flush the RESP door already made in the same
 * iteration makes this one a no-op) and only then sends them. So a response never reaches a
 * client before the write it acknowledges is durable; if the flush fails, the connections
 * whose responses depended on it are closed, as on the RESP door.
 *
 * Malformed bytes (not a MessagePack map, an oversized request) get {status: "ERROR"} and the
 * connection is closed after it; a well-formed map that is not a valid request gets an ERROR
 * response and the connection goes on. docs/protocols/geomys.md has the details.
 *
 * Limits: clients_max connections (more are closed at once, with a warning in the log); one
 * request at most STOA_GEOMYS_REQUEST_BYTES_MAX; an output buffer per connection (a client
 * that stops reading its responses is disconnected and the reason logged). With a password,
 * every request must carry it in a "password" field (Geomys had no authentication).
 *
 * On a member of a replica group (options.replica set) every write goes through the group
 * (stoa_replica_write, in options.write_mode: node.storage.storageMode) and every read too
 * (stoa_replica_read, in options.read_mode: node.storage.retrievalMode); Geomys requests carry
 * no mode of their own. The connection waits (paused: its later requests wait, in order)
 * until the group has answered, and the answer is sent as this request's response; the
 * group's refusals (CLUSTERDOWN, TRYAGAIN, TIMEOUT) are ERROR responses with their text. A
 * connection that closes while it waits cancels its request's waiter (the write may still
 * happen). PING and ECHO are answered by this node.
 *
 * Ownership: the server borrows the env, the engine, the log, the password and the replica
 * for its life.
 */
#ifndef STOA_SERVER_GEOMYS_SERVER_H
#define STOA_SERVER_GEOMYS_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "server/replica.h"
#include "util/address.h"
#include "util/env.h"
#include "util/log.h"

struct stoa_geomys_server_options {
    struct stoa_address address; /* port 0 binds a free port: see stoa_geomys_server_address */
    size_t clients_max;
    size_t output_bytes_max; /* per connection: responses not yet taken by the client */
    const char *password;    /* "" or NULL = none; borrowed for the server's life */
    const struct stoa_log *log;
    /* A member of a replica group: the replica (borrowed; it must outlive the server) and
     * the modes of every request. NULL on a single node. */
    struct stoa_replica *replica;
    enum stoa_replica_read_mode read_mode;
    enum stoa_replica_write_mode write_mode;
};

struct stoa_geomys_server_stats {
    uint64_t connections_accepted;
    uint64_t connections_rejected; /* over clients_max */
    uint64_t connections_current;
    uint64_t requests;
    uint64_t flushes; /* group commits this server asked for */
    uint64_t protocol_errors;
    uint64_t output_limit_closes;
    uint64_t group_requests; /* on a member: requests handed to the replica group */
};

struct stoa_geomys_server;

/* Starts listening. Returns 0, STOA_ERR_NOMEM, or the listener's error
 * (STOA_ERR_ADDRESS_IN_USE, ...). */
int stoa_geomys_server_start(struct stoa_env *env, struct stoa_engine *engine,
                             const struct stoa_geomys_server_options *options,
                             struct stoa_geomys_server **server);

/* The address actually bound (the real port when 0 was asked). */
void stoa_geomys_server_address(const struct stoa_geomys_server *server,
                                struct stoa_address *address);

/* Stops accepting, closes every connection (responses already produced are sent first when
 * they are durable), and calls on_stopped (may be NULL) once everything is closed; the
 * server is freed then. */
void stoa_geomys_server_stop(struct stoa_geomys_server *server, void (*on_stopped)(void *context),
                             void *context);

void stoa_geomys_server_stats(const struct stoa_geomys_server *server,
                              struct stoa_geomys_server_stats *stats);

#endif
