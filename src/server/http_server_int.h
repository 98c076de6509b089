/*
 * http_server_int: what the files of the HTTP door share (http_server.c: libmicrohttpd on the
 * loop, connections, deadlines, group commit; http_server_routes.c: the routes;
 * http_server_metrics.c: /metrics and /v1/status). No other module includes this file.
 */
#ifndef STOA_SERVER_HTTP_SERVER_INT_H
#define STOA_SERVER_HTTP_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "os/fd_watch.h"
#include "proto/commands.h"
#include "proto/http_json.h"
#include "proto/http_metrics.h"
#include "proto/http_route.h"
#include "server/http_server.h"
#include "server/replica.h"
#include "util/buf.h"

/* One TCP connection, for its request deadline. */
struct http_connection {
    struct stoa_http_server *server;
    struct MHD_Connection *mhd;
    int fd;
    int64_t deadline_ms; /* the current request must have arrived by then; 0 = none */
    struct http_connection *previous;
    struct http_connection *next;
};

struct request;

/* A route's next step, run once the reply of its command is in request->capture. */
typedef void (*http_step_fn)(struct request *request);

/* One request, from its headers to its response. */
struct request {
    struct stoa_http_server *server;
    struct MHD_Connection *mhd;
    struct http_connection *connection;
    const struct stoa_http_route *route; /* NULL when no route matched */
    enum stoa_http_method method;
    int64_t start_ns;
    struct stoa_buf body;
    struct stoa_buf parameter; /* the decoded {id} or {key} */
    bool too_large;
    bool ready; /* the response is decided */
    bool suspended;
    uint64_t wait_index; /* the response waits for the log up to here; 0 = no write */
    unsigned status;
    const char *content_type;
    char allow[48];             /* the Allow header of a 405 */
    const char *location;       /* a redirect */
    const uint8_t *static_body; /* a body in static storage (OpenAPI, assets), else response */
    size_t static_length;
    struct stoa_buf response;
    struct request *next_waiting;

    /* The reply of the current command, and where a decoded GameObject lives: the server's
     * own on a single node (a route runs to its end at once), the request's on a member of a
     * replica group (a route waits for the group between its commands). */
    struct stoa_http_capture *capture;
    struct stoa_buf *scratch;
    struct stoa_http_object object;        /* PUT /v1/objects: the object, between steps */
    bool inserted;                         /* PUT /v1/objects: it did not exist */
    bool retry_after;                      /* a 503 the client may retry: Retry-After is set */
    enum stoa_replica_read_mode read_mode; /* ?consistency, else the server's retrieval mode */
    enum stoa_replica_write_mode write_mode;
    /* Stoa-Client-Id and Stoa-Sequence: the session its write runs in (0 = anonymous). */
    uint64_t client_id;
    uint64_t sequence;

    /* ---- on a member of a replica group (server->options.replica set) ---- */
    struct stoa_replica_waiter waiter; /* set up once per request; its reply is own_capture */
    struct stoa_http_capture own_capture;
    struct stoa_buf own_scratch;
    http_step_fn step;  /* what runs once the group has answered */
    int command_id;     /* the command with the group, for its metrics */
    int64_t command_ns; /* when it was handed to the group */
    bool answered;      /* the group has answered the current command */
    bool with_group;    /* the current command waits for the group (the request is on
                           server->group_waiting or, answered, on server->group_answered) */
    struct request *group_previous;
    struct request *group_next;
};

/* A static file of the Swagger UI, read at start. */
struct http_asset {
    const char *name;
    const char *content_type;
    uint8_t *data; /* owned; NULL when it could not be read */
    size_t length;
};

#define HTTP_ASSET_COUNT 5

struct http_command_metrics {
    uint64_t calls;
    uint64_t failed;
    struct stoa_histogram latency;
};

struct stoa_http_server {
    struct stoa_env *env;
    struct stoa_engine *engine;
    struct stoa_http_server_options options;
    const struct stoa_log *log;
    struct MHD_Daemon *daemon;
    struct stoa_os_fd_watch *watch;
    struct stoa_env_timer *timer;       /* libmicrohttpd's next timeout */
    struct stoa_env_timer *sweep_timer; /* request deadlines */
    struct stoa_env_loop_hook *hook;
    struct stoa_address address;
    struct http_connection *connections;
    struct request *waiting;        /* suspended until the log is durable */
    struct request *group_waiting;  /* suspended until the group answers (doubly linked) */
    struct request *group_answered; /* answered; their next step runs at the loop hook */
    bool writes_pending;
    bool driving;
    bool in_timer; /* inside a timer callback of this server */
    bool stopping;
    bool draining; /* POST /v1/drain: /readyz says 503 */
    size_t closes_pending;
    void (*on_stopped)(void *context);
    void *stopped_context;
    int64_t started_ms;
    char storage_mode[16];
    char retrieval_mode[16];
    int64_t replication_factor;
    struct stoa_commands_output translated;
    struct stoa_http_capture capture;
    struct stoa_buf scratch; /* a decoded GameObject */
    struct http_asset assets[HTTP_ASSET_COUNT];
    struct stoa_http_server_stats stats;
    struct http_command_metrics commands[STOA_COMMANDS_COUNT];
    uint64_t route_requests[STOA_HTTP_ROUTE_COUNT];
    struct stoa_histogram route_latency[STOA_HTTP_ROUTE_COUNT];
    uint64_t status_classes[6]; /* [1..5]: 1xx .. 5xx */
};

/* ---- http_server_routes.c ---- */

/* Decides the response of a request whose body has arrived (or that has none). Sets
 * request->ready, or leaves it waiting for the log (request->wait_index). */
void stoa_http_dispatch(struct request *request);

/* Answers with a JSON error body. */
void stoa_http_fail(struct request *request, unsigned status, const char *code,
                    const char *message);

/* Whether a request to this route with this method carries a JSON body (415 without one). */
bool stoa_http_route_wants_json(const struct stoa_http_route *route, enum stoa_http_method method);

/* Whether the node can serve: not draining, not stopping, the engine taking writes and, on a
 * member of a replica group, a leader known. Sets *reason when not. */
bool stoa_http_ready(const struct stoa_http_server *server, const char **reason);

/* The group has answered request's command (its reply is in request->capture): counts the
 * command and runs request->step. */
void stoa_http_group_continue(struct request *request);

/* ---- http_server.c ---- */

/* A command of request went to the replica group (request->step continues the route once
 * it answers): the request waits on server->group_waiting. */
void stoa_http_group_wait(struct request *request);

/* ---- http_server_metrics.c ---- */

void stoa_http_metrics(struct request *request);
void stoa_http_status(struct request *request);

#endif
