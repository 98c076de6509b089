/*
 * server: the RESP front door — listener, connections, pipelining, group commit.
 *
 * Every connection reads requests into its input buffer, parses as many as are complete
 * (pipelining), and runs each through the command core (proto/commands.h) against the
 * engine. Replies are written into the connection's output buffer but not sent yet: once per
 * loop iteration, right after the iteration's I/O (the env's loop hook), the server flushes
 * the engine's log once — one fdatasync for every write of every connection in the
 * iteration (group commit) — and only then sends the replies. So a reply never reaches a
 * client before the write it acknowledges is durable. If the flush fails, the connections
 * whose replies depended on it are closed (their writes' outcome is unknown to them) and the
 * engine refuses writes from then on.
 *
 * Limits: clients_max connections (more are told "-ERR max number of clients reached" and
 * closed), a query buffer and an output buffer per connection (a client that sends too much,
 * or stops reading its replies, is disconnected and the reason logged), an idle timeout,
 * and a password (AUTH). Malformed protocol bytes get "-ERR Protocol error: …" and the
 * connection is closed after the reply.
 *
 * Ownership: the server borrows the env, the engine and the log for its lifetime.
 */
#ifndef STOA_SERVER_SERVER_H
#define STOA_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "server/replica.h"
#include "util/address.h"
#include "util/env.h"
#include "util/log.h"

struct stoa_server_options {
    struct stoa_address address; /* port 0 binds a free port: see stoa_server_address */
    size_t clients_max;
    size_t query_bytes_max;  /* per connection: unparsed input */
    size_t output_bytes_max; /* per connection: replies not yet taken by the client */
    int64_t idle_timeout_ms; /* 0 = never */
    const char *password;    /* "" or NULL = no AUTH needed; borrowed for the server's life */
    bool debug_enabled;      /* the DEBUG command */
    const char *node_id;     /* for INFO; borrowed */
    const struct stoa_log *log;
    /* Called when a client sends SHUTDOWN (the node decides how to stop). May be NULL. */
    void (*on_shutdown)(void *context);
    void *shutdown_context;
    /* A member of a replica group: writes and reads go through the group (server/replica.h),
     * reads in read_mode unless a connection says otherwise (READONLY). NULL: a single node,
     * writes go straight to the engine. Borrowed for the server's life. */
    struct stoa_replica *replica;
    enum stoa_replica_read_mode read_mode;
    enum stoa_replica_write_mode write_mode; /* unless a connection says otherwise (WRITEMODE) */
};

struct stoa_server_stats {
    uint64_t connections_accepted;
    uint64_t connections_rejected; /* over clients_max */
    uint64_t connections_current;
    uint64_t commands;
    uint64_t flushes; /* group commits that synced something */
    uint64_t protocol_errors;
    uint64_t output_limit_closes;
    uint64_t idle_closes;
};

struct stoa_server;

/* Starts listening. Returns 0 or the listener's error (STOA_ERR_ADDRESS_IN_USE, ...). */
int stoa_server_start(struct stoa_env *env, struct stoa_engine *engine,
                      const struct stoa_server_options *options, struct stoa_server **server);

/* The address actually bound (the real port when 0 was asked). */
void stoa_server_address(const struct stoa_server *server, struct stoa_address *address);

/* Stops accepting, closes every connection (pending replies are sent first when they are
 * durable), and calls on_stopped once everything is closed; the server is freed then. */
void stoa_server_stop(struct stoa_server *server, void (*on_stopped)(void *context), void *context);

void stoa_server_stats(const struct stoa_server *server, struct stoa_server_stats *stats);

/* One command's INFO commandstats (calls, failed calls, microseconds spent), for the HTTP
 * door's /metrics; id is an enum stoa_commands_id. */
struct stoa_server_command_stat {
    uint64_t calls;
    uint64_t failed;
    uint64_t usec;
};
void stoa_server_command_stat(const struct stoa_server *server, int id,
                              struct stoa_server_command_stat *stat);

#endif
