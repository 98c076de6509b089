/*
 * multiverse9_int: what multiverse9_server.c (sessions, requests) and multiverse9_remote.c
 * (AGGREGATE jobs and fetches from other nodes) share. No other module includes it.
 */
#ifndef STOA_SERVER_MULTIVERSE9_INT_H
#define STOA_SERVER_MULTIVERSE9_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/commands.h"
#include "proto/multiverse9.h"
#include "server/conn.h"
#include "server/multiverse9_server.h"
#include "util/buf.h"
#include "util/ulid.h"

#define MULTIVERSE9_MODULE "multiverse9"

struct multiverse9_job;

/* The multiverse9 state of one connection (conn->protocol). */
struct multiverse9_session {
    struct stoa_multiverse9_server *server;
    struct stoa_conn *conn;
    struct multiverse9_session *previous; /* in server->sessions */
    struct multiverse9_session *next;
    struct stoa_multiverse9_writer writer;
    int64_t last_input_ms;  /* monotonic */
    bool awaiting_quiet;    /* an unframed request waits for the end of its input */
    bool challenge_valid;   /* HELLO sent a challenge that AUTH has not used yet */
    uint8_t challenge[STOA_MULTIVERSE9_CHALLENGE_BYTES];
    bool authenticated;     /* proved a key of nodes */
    size_t peer_index;      /* which one, when authenticated */
    struct multiverse9_job *job; /* an AGGREGATE waiting for other nodes; conn is paused */
    bool close_when_done;   /* the job answers an unframed request */
    /* On a member of a replica group: the CREATE or REMOVE the group is answering; the
     * connection is paused while write_waiting is set. */
    struct stoa_replica_waiter waiter;
    struct stoa_multiverse9_value_reply write_reply; /* the waiter's reply, into write_text */
    struct stoa_buf write_text;
    bool write_waiting;
    bool write_framed;
    char write_key[STOA_ULID_TEXT_LENGTH + 1]; /* CREATE's new key, "" for REMOVE */
};

struct stoa_multiverse9_server {
    struct stoa_env *env;
    struct stoa_engine *engine;
    struct stoa_conn_server *conns;
    const struct stoa_log *log;
    const struct stoa_node_key *key;
    char name[STOA_MULTIVERSE9_NAME_BYTES_MAX + 1];
    struct stoa_multiverse9_node nodes[STOA_MULTIVERSE9_NODES_MAX];
    size_t node_count;
    bool open_interactions;
    bool open_metadata;
    int64_t remote_timeout_ms;
    struct stoa_replica *replica; /* NULL on a single node */
    enum stoa_replica_read_mode read_mode;
    enum stoa_replica_write_mode write_mode;
    struct multiverse9_session *sessions;
    struct stoa_env_timer *ticker;
    bool ticking;
    bool stopping;
    size_t closes_pending; /* the conns and the ticker, during stop */
    void (*on_stopped)(void *context);
    void *stopped_context;
    struct stoa_ulid_generator ulids;
    struct stoa_commands_output translated; /* reused for every request */
    struct stoa_buf scratch;                /* an engine reply's text, for one request */
    struct stoa_multiverse9_target targets[STOA_MULTIVERSE9_TARGETS_MAX];
    struct stoa_command_argument argv[STOA_MULTIVERSE9_TARGETS_MAX + 1];
    struct stoa_multiverse9_server_stats stats;
};

/* Makes sure the ticker runs (quiet unframed requests, remote deadlines). */
void multiverse9_tick_needed(struct stoa_multiverse9_server *server);

/* Answers one GET of ulid (26 characters) into buf as AGGREGATE's entry value. */
void multiverse9_read_value(struct stoa_multiverse9_server *server, const char *ulid,
                            struct stoa_buf *buf, int *error);

/* On a member of a replica group: reads ulid through the group into reply (an AGGREGATE
 * entry's value reply). Returns true if answered at once (waiter->done is not called), false
 * if waiter->done will run. */
bool multiverse9_group_read(struct stoa_multiverse9_server *server, const char *ulid,
                            struct stoa_replica_waiter *waiter);

/* Starts an AGGREGATE with remote targets, or on a member of a replica group any AGGREGATE
 * (server->targets[0 .. count)): the session's connection is paused until the job answers,
 * unless every entry was answered at once. Returns 0, or STOA_ERR_NOMEM (nothing started). */
int multiverse9_job_start(struct multiverse9_session *session, size_t count, bool framed);

/* Answers every entry still waiting with an error about a late node, and the request. */
void multiverse9_job_expire(struct multiverse9_session *session, int64_t now_ms);

/* Drops the job of a closing session: its group reads are cancelled, its fetches are closed
 * and freed on their own. */
void multiverse9_job_cancel(struct multiverse9_session *session);

#endif
