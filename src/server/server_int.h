/*
 * server_int: what the files of the server module share (server.c: transport and group
 * commit; server_dispatch.c: running requests; server_admin.c: the server commands).
 */
#ifndef STOA_SERVER_SERVER_INT_H
#define STOA_SERVER_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/apply.h"
#include "proto/commands.h"
#include "proto/resp.h"
#include "server/server.h"
#include "util/buf.h"
#include "util/limits.h"

struct connection {
    struct stoa_server *server;
    struct stoa_env_stream *stream;
    struct connection *previous; /* in server->connections */
    struct connection *next;
    struct connection *next_dirty; /* in server->dirty, when on it */
    bool dirty;

    uint64_t id;
    char name[STOA_SERVER_CLIENT_NAME_BYTES_MAX + 1];
    char peer[STOA_ADDRESS_TEXT_BYTES_MAX];
    int protocol; /* 2 or 3 */
    bool authenticated;
    int64_t created_ms;
    int64_t last_activity_ms;
    uint64_t commands;
    char last_command[STOA_SERVER_COMMAND_NAME_BYTES_MAX + 1];
    const struct stoa_commands_spec *last_spec; /* the last plain command: a lookup cache */

    struct stoa_buf in;
    struct stoa_resp_parser parser;
    struct stoa_buf out;     /* replies being produced */
    struct stoa_buf sending; /* replies handed to the stream, until its write callback */
    struct stoa_resp_writer writer;
    bool write_in_flight;
    uint64_t wait_index; /* the out replies wait for the log to be durable up to here */

    bool resume_input; /* unparked: run the requests that queued up behind the pop */
    /* Replica groups: a request waits for the group; the next ones wait behind it. */
    struct stoa_replica_waiter waiter;
    bool waiting_replica;
    enum stoa_replica_read_mode read_mode;
    enum stoa_replica_write_mode write_mode; /* WRITEMODE; node.storage.storageMode */
    bool waiting_save; /* SAVE: answered when the snapshot is installed */
    uint64_t snapshots_before_save;
    bool close_after_reply; /* QUIT, a protocol error */
    bool closing;
    const char *close_reason;

    /* Blocking pops (BLPOP, BRPOP, BLMOVE): see server_block.c. The keys are copied,
     * since the request's bytes leave the input buffer. */
    bool blocked;
    struct connection *next_blocked; /* in server->blocked, arrival order */
    enum stoa_commands_id blocked_command;
    uint32_t blocked_opcode;
    uint8_t blocked_flags;
    int64_t blocked_deadline_ms; /* 0 = forever */
    size_t blocked_key_count;    /* keys to watch; BLMOVE adds the destination after them */
    struct stoa_command_argument *blocked_keys;
    uint8_t *blocked_bytes;
    /* In a replica group the pop is a write through the group, one key at a time: a pass
     * tries the keys in order (at arrival every key; later the ones this member holds data
     * in), and a pass that served nobody parks until the member applies more of the log. */
    bool blocked_popping;           /* its pop is in flight (waiting_replica is set too) */
    bool blocked_first;             /* the pass at arrival */
    size_t blocked_next_key;        /* the pass's next key; blocked_key_count: no pass */
    uint64_t blocked_applied_index; /* the engine's applied index when the pass started */
    struct stoa_reply pop_reply;    /* the waiter's reply while the pop is in flight */
    int pop_outcome;                /* enum pop_outcome in server_block.c */
    int pop_error;                  /* the group's error code, for POP_FAILED */
    char pop_error_text[STOA_REPLY_TEXT_BYTES_MAX];
};

struct stoa_server {
    struct stoa_env *env;
    struct stoa_engine *engine;
    struct stoa_server_options options;
    char password[STOA_SERVER_PASSWORD_BYTES_MAX + 1];
    const struct stoa_log *log;
    struct stoa_env_listener *listener;
    struct stoa_env_loop_hook *hook;
    struct stoa_env_timer *cron;
    struct stoa_address address;
    struct connection *connections;
    struct connection *dirty;
    struct connection *blocked; /* parked connections, oldest first */
    size_t blocked_count;
    bool waking;                        /* inside stoa_server_blocked_wake: no re-entry */
    size_t resumes_pending;             /* connections with resume_input set */
    size_t saves_waiting;               /* connections waiting for a SAVE */
    struct stoa_env_timer *block_timer; /* runs while anyone is parked */
    uint64_t next_client_id;
    uint64_t random_seed;
    bool writes_pending; /* a write was applied since the last flush */
    bool stopping;
    size_t closes_pending; /* handles still closing during stop */
    void (*on_stopped)(void *context);
    void *stopped_context;
    int64_t started_ms;
    struct stoa_server_stats stats;
    /* INFO commandstats and the group-commit latency (INFO persistence). */
    struct command_stat {
        uint64_t calls;
        uint64_t failed;
        uint64_t usec;
    } command_stats[STOA_COMMANDS_COUNT];
    uint64_t flush_count;
    uint64_t flush_usec_total;
    uint64_t flush_usec_max;
    uint64_t flush_usec_last;
    struct stoa_commands_output translated;    /* reused for every request */
    struct stoa_commands_output blocked_write; /* reused to serve a parked connection */
    struct stoa_command_argument *argv;        /* the request's words, reused */
    size_t argv_capacity;
};

/* Marks a connection as having output (or a state change) for the next loop hook. */
void stoa_server_mark_dirty(struct connection *connection);

/* Runs the connection's queued input at the next loop hook (after a pop or SAVE). */
void stoa_server_resume_later(struct connection *connection);

/* Closes a connection after its pending replies (reason is logged at debug level). */
void stoa_server_close_later(struct connection *connection, const char *reason);

/* Runs one parsed request (argv borrowed for the call). */
void stoa_server_execute(struct connection *connection, const struct stoa_command_argument *argv,
                         size_t argc);

/* A request the replica answered: the connection runs its next requests. */
void stoa_server_replica_done(struct stoa_replica_waiter *waiter);

/* In a replica group: sends a translated write to the group; connection waits for it (its
 * waiter's done runs, maybe before this returns). Returns 0. */
int stoa_server_run_replicated_write(struct connection *connection,
                                     const struct stoa_commands_output *out, int64_t now_ms);

/* Applies a translated write for connection (its reply waits for the group commit). */
int stoa_server_run_write(struct connection *connection, const struct stoa_commands_output *out,
                          int64_t now_ms);

/* ---- server_admin.c ---- */

/* ---- server_group.c ---- */

/* GROUP STATUS/PREPARE/HELP, READONLY, READWRITE. */
void stoa_server_group(struct connection *connection, const struct stoa_commands_output *out);

/* Runs a server command (PING, INFO, CLIENT, ...). */
void stoa_server_admin(struct connection *connection, const struct stoa_commands_output *out);
/* Replies an array of status lines (the HELP subcommands). */
void stoa_server_reply_lines(struct connection *connection, const char *const *lines,
                             size_t count);

/* ---- server_block.c: BLPOP, BRPOP, BLMOVE ---- */

/* Serves the request now if one of its keys has data, else parks the connection. */
void stoa_server_block(struct connection *connection, const struct stoa_commands_output *out,
                       int64_t now_ms);

/* Serves parked connections whose keys now have data (after writes), in arrival order. */
void stoa_server_blocked_wake(struct stoa_server *server);

/* Times out parked connections whose deadline passed (the block timer). */
void stoa_server_blocked_expire(struct stoa_server *server, int64_t now_ms);

/* In a replica group: the pop of a parked connection came back from the group. */
void stoa_server_blocked_done(struct connection *connection);

/* Forgets a parked connection (it is closing). */
void stoa_server_unblock(struct connection *connection);

#endif
