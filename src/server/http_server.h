/*
 * http_server: the HTTP/JSON front door — Nomad's REST routes, stoa's own API (/v1/...),
 * health, readiness, Prometheus metrics, the OpenAPI document and Swagger UI
 * (docs/protocols/http.md has every route, body and status).
 *
 * HTTP/1.1 is libmicrohttpd's (docs/decisions/http-server.md), run with no thread of its
 * own: its epoll descriptor is watched on our event loop (os/fd_watch.h) and a timer follows
 * its timeouts, so every request runs on the loop thread like the other doors. A request
 * becomes command words for the command core (proto/commands.h, door STOA_COMMANDS_DOOR_HTTP)
 * and runs against the same engine. A write's response is held: the connection is suspended
 * until, at this server's loop hook, one flush of the log for every write of the iteration
 * (group commit) has made the write durable; then it is resumed and answered. If the flush
 * fails the response is 503, never a success.
 *
 * Limits: clients_max connections; headers within STOA_HTTP_CONNECTION_MEMORY_BYTES (431);
 * a body of at most body_bytes_max (413, checked against Content-Length before reading and
 * while reading a chunked body); a request must arrive whole within request_timeout_ms, and
 * a connection idle that long is closed, so a client sending one byte a second is cut off.
 *
 * On a member of a replica group (options.replica set) no route touches the engine's writes
 * directly: every command of a route goes through the replica (server/replica.h), writes with
 * stoa_replica_write and reads with stoa_replica_read, in the modes of the request's
 * ?consistency= or the node's defaults. A route then runs as a chain of steps: each command's
 * reply arrives in the request's own capture, the connection stays suspended while the group
 * works, and the next step (another command, or the response) runs from this door's loop hook
 * once the group has answered. The group's refusals become 503 with Retry-After (CLUSTERDOWN,
 * TRYAGAIN: not applied) and 504 (TIMEOUT: outcome unknown); /readyz is 503 while no leader
 * is known; /v1/status shows the group.
 *
 * Nomad's runtime config routes change the node's storage mode, retrieval mode and
 * replication factor defaults, kept here and reported by /v1/status. On a single node the
 * modes are validated and recorded; on a group member the retrieval mode is the default of
 * reads, and the storage mode of writes (fast: a blind write is answered once durable on
 * the leader; docs/replication.md).
 *
 * Ownership: the server borrows the env, the engine, the log, and the RESP server, the
 * replica and node id given in the options for its whole life (stop it before the replica).
 */
#ifndef STOA_SERVER_HTTP_SERVER_H
#define STOA_SERVER_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "server/server.h"
#include "util/address.h"
#include "util/env.h"
#include "util/log.h"

struct stoa_replica;

struct stoa_http_server_options {
    struct stoa_address address; /* port 0 binds a free port: see stoa_http_server_address */
    size_t clients_max;
    size_t body_bytes_max;
    int64_t request_timeout_ms;
    const char *swagger_dir;  /* swagger-ui-dist's directory; "" or NULL = the build's */
    const char *node_id;      /* borrowed */
    const char *storage_mode; /* "fast" or "safe": the initial defaults */
    const char *retrieval_mode;
    int64_t replication_factor;
    struct stoa_server *resp;     /* for /metrics (command stats, connections); may be NULL */
    struct stoa_replica *replica; /* a member of a replica group; NULL = a single node */
    const struct stoa_log *log;
};

struct stoa_http_server_stats {
    uint64_t connections_accepted;
    uint64_t connections_current;
    uint64_t requests;
    uint64_t timeouts; /* connections cut off by the request deadline */
    uint64_t flushes;
};

struct stoa_http_server;

/* Starts listening. Returns 0, STOA_ERR_NOMEM, or the listener's error. */
int stoa_http_server_start(struct stoa_env *env, struct stoa_engine *engine,
                           const struct stoa_http_server_options *options,
                           struct stoa_http_server **server);

/* The address actually bound (the real port when 0 was asked). */
void stoa_http_server_address(const struct stoa_http_server *server, struct stoa_address *address);

/* Answers the requests waiting for the log, closes every connection and the listener, and
 * calls on_stopped (may be NULL) once the loop handles are closed; the server is freed then. */
void stoa_http_server_stop(struct stoa_http_server *server, void (*on_stopped)(void *context),
                           void *context);

void stoa_http_server_stats(const struct stoa_http_server *server,
                            struct stoa_http_server_stats *stats);

#endif
