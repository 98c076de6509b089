/* The HTTP door's plumbing: libmicrohttpd driven by the loop, connections and their
 * deadlines, suspended writes and the group commit at the loop hook. */
#include "server/http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/http_server_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

#define MODULE "http"

/* The listen(2) backlog: as libuv's listeners in the other doors. */
#define LISTEN_BACKLOG 511

/* Retry-After of a 503 from the replica group (no leader, or not applied): an election takes
 * 300-600 ms with the default timing (docs/replication.md), so a second covers one. */
#define RETRY_AFTER_SECONDS "1"

static void drive(struct stoa_http_server *server);
static void commit(struct stoa_http_server *server);
static void maybe_stopped(struct stoa_http_server *server);

/* ---- connections and deadlines ---- */

static int64_t now_ms(struct stoa_http_server *server) {
    return stoa_env_monotonic_ms(server->env);
}

static void on_connection(void *context, struct MHD_Connection *mhd, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    struct stoa_http_server *server = context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        struct http_connection *connection = stoa_calloc(1, sizeof(*connection));
        if (connection == NULL) {
            return; /* no deadline for it: libmicrohttpd's idle timeout still applies */
        }
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_CONNECTION_FD);
        connection->server = server;
        connection->mhd = mhd;
        connection->fd = info != NULL ? info->connect_fd : -1;
        connection->deadline_ms = now_ms(server) + server->options.request_timeout_ms;
        connection->next = server->connections;
        if (server->connections != NULL) {
            server->connections->previous = connection;
        }
        server->connections = connection;
        server->stats.connections_accepted++;
        server->stats.connections_current++;
        *socket_context = connection;
        return;
    }
    struct http_connection *connection = *socket_context;
    if (connection == NULL) {
        return;
    }
    if (connection->previous != NULL) {
        connection->previous->next = connection->next;
    } else {
        server->connections = connection->next;
    }
    if (connection->next != NULL) {
        connection->next->previous = connection->previous;
    }
    server->stats.connections_current--;
    stoa_free(connection);
    *socket_context = NULL;
}

/* Cuts off every connection whose request has not arrived by its deadline. */
static void on_sweep(void *context) {
    struct stoa_http_server *server = context;
    int64_t now = now_ms(server);
    for (struct http_connection *c = server->connections; c != NULL; c = c->next) {
        if (c->deadline_ms != 0 && now >= c->deadline_ms) {
            c->deadline_ms = 0;
            server->stats.timeouts++;
            STOA_LOG_DEBUG(server->log, MODULE, "request deadline passed: closing the connection",
                           STOA_FIELD_INT("timeout_ms", server->options.request_timeout_ms));
            stoa_os_socket_shutdown(c->fd);
        }
    }
    server->in_timer = true;
    drive(server);
    if (server->waiting != NULL) {
        commit(server);
    }
    server->in_timer = false;
}

/* ---- requests waiting for the replica group ---- */

static void group_push(struct request **list, struct request *request) {
    request->group_previous = NULL;
    request->group_next = *list;
    if (*list != NULL) {
        (*list)->group_previous = request;
    }
    *list = request;
}

static void group_unlink(struct request **list, struct request *request) {
    if (request->group_previous != NULL) {
        request->group_previous->group_next = request->group_next;
    } else {
        *list = request->group_next;
    }
    if (request->group_next != NULL) {
        request->group_next->group_previous = request->group_previous;
    }
    request->group_previous = NULL;
    request->group_next = NULL;
}

void stoa_http_group_wait(struct request *request) {
    struct stoa_http_server *server = request->server;
    request->with_group = true;
    group_push(&server->group_waiting, request);
    /* A command handed to the group outside the loop's I/O phase (from a timer, or from this
     * door's hook after the replica's hook ran) must not wait for the next I/O to be
     * proposed: the next loop iteration runs the hooks without waiting. */
    server->env->ops->loop_hook_wake(server->hook);
}

/* The replica's done callback. It may run inside stoa_replica_write (the route then goes on
 * at once, in run_in_group) or later from the replica's own callbacks, where the door must not
 * drive libmicrohttpd: the request then moves to the answered list, whose next steps run at
 * this door's loop hook. */
static void on_group_answer(struct stoa_replica_waiter *waiter) {
    struct request *request = waiter->context;
    struct stoa_http_server *server = request->server;
    request->answered = true;
    if (!request->with_group) {
        return;
    }
    group_unlink(&server->group_waiting, request);
    group_push(&server->group_answered, request);
    server->env->ops->loop_hook_wake(server->hook);
}

/* Runs the next step of every request the group has answered; a request whose route is done
 * is resumed and answered, one whose next command went to the group waits again. */
static void group_continue(struct stoa_http_server *server) {
    bool resumed = false;
    /* Each request is on the list once at a time: the bound is the number of connections. */
    for (size_t guard = server->options.clients_max + 1;
         server->group_answered != NULL && guard > 0; guard--) {
        struct request *request = server->group_answered;
        group_unlink(&server->group_answered, request);
        request->with_group = false;
        stoa_http_group_continue(request);
        if (request->with_group) {
            continue;
        }
        /* A member's routes never wait for the engine's log: they are done. */
        STOA_ASSERT(request->ready && request->suspended);
        request->suspended = false;
        MHD_resume_connection(request->mhd);
        resumed = true;
    }
    if (resumed) {
        drive(server);
    }
}

/* Stopping: the answered requests go on; those still waiting for the group are answered 504
 * (whatever they asked may still happen) and their waiters cancelled. */
static void group_abandon(struct stoa_http_server *server) {
    group_continue(server);
    for (size_t guard = server->options.clients_max + 1; server->group_waiting != NULL && guard > 0;
         guard--) {
        struct request *request = server->group_waiting;
        group_unlink(&server->group_waiting, request);
        request->with_group = false;
        stoa_replica_cancel(server->options.replica, &request->waiter);
        stoa_http_fail(request, MHD_HTTP_GATEWAY_TIMEOUT, "timeout",
                       "the node stopped before the group answered: the outcome is unknown");
        request->suspended = false;
        MHD_resume_connection(request->mhd);
    }
    STOA_ASSERT(server->group_waiting == NULL);
    drive(server);
}

/* ---- requests ---- */

static struct request *request_new(struct stoa_http_server *server, struct MHD_Connection *mhd) {
    struct request *request = stoa_calloc(1, sizeof(*request));
    if (request == NULL) {
        return NULL;
    }
    request->server = server;
    request->mhd = mhd;
    request->start_ns = stoa_env_monotonic_ns(server->env);
    stoa_buf_init(&request->body, server->options.body_bytes_max);
    stoa_buf_init(&request->parameter, STOA_HTTP_PARAM_BYTES_MAX);
    /* A base64 GameObject of the largest value, with room for its JSON. */
    stoa_buf_init(&request->response, (size_t)STOA_VALUE_BYTES_MAX * 2);
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(mhd, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    request->connection = info != NULL ? info->socket_context : NULL;
    request->capture = &server->capture;
    request->scratch = &server->scratch;
    if (server->options.replica != NULL) {
        /* The route may wait for the group between its commands: its reply and its object
         * must be its own. */
        stoa_http_capture_init(&request->own_capture, STOA_VALUE_BYTES_MAX);
        stoa_buf_init(&request->own_scratch, server->options.body_bytes_max + 1);
        stoa_replica_waiter_init(&request->waiter, &request->own_capture.reply, on_group_answer,
                                 request);
        request->capture = &request->own_capture;
        request->scratch = &request->own_scratch;
    }
    return request;
}

static void request_free(struct request *request) {
    struct stoa_http_server *server = request->server;
    if (server->options.replica != NULL) {
        if (request->with_group) {
            group_unlink(request->answered ? &server->group_answered : &server->group_waiting,
                         request);
        }
        stoa_replica_waiter_free(server->options.replica, &request->waiter);
        stoa_http_capture_free(&request->own_capture);
        stoa_buf_free(&request->own_scratch);
    }
    stoa_buf_free(&request->body);
    stoa_buf_free(&request->parameter);
    stoa_buf_free(&request->response);
    stoa_free(request);
}

static void on_completed(void *context, struct MHD_Connection *mhd, void **request_context,
                         enum MHD_RequestTerminationCode code) {
    (void)mhd;
    (void)code;
    struct stoa_http_server *server = context;
    struct request *request = *request_context;
    if (request == NULL) {
        return;
    }
    if (request->connection != NULL) {
        /* The next request on this connection must arrive within the timeout too. */
        request->connection->deadline_ms = now_ms(server) + server->options.request_timeout_ms;
    }
    request_free(request);
    *request_context = NULL;
}

/* Counts the response and hands it to libmicrohttpd. */
static enum MHD_Result queue(struct request *request) {
    struct stoa_http_server *server = request->server;
    const uint8_t *body =
        request->static_body != NULL ? request->static_body : request->response.data;
    size_t length =
        request->static_body != NULL ? request->static_length : request->response.length;
    struct MHD_Response *response = MHD_create_response_from_buffer(
        length, (void *)(uintptr_t)(body != NULL ? body : (const uint8_t *)""),
        request->static_body != NULL ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY);
    if (response == NULL) {
        return MHD_NO;
    }
    if (request->content_type != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, request->content_type);
    }
    if (request->allow[0] != '\0') {
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, request->allow);
    }
    if (request->location != NULL) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_LOCATION, request->location);
    }
    if (request->retry_after) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER_SECONDS);
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result result = MHD_queue_response(request->mhd, request->status, response);
    MHD_destroy_response(response);
    server->stats.requests++;
    server->status_classes[request->status / 100 < 6 ? request->status / 100 : 5]++;
    uint64_t us = (uint64_t)(stoa_env_monotonic_ns(server->env) - request->start_ns) / 1000;
    if (request->route != NULL) {
        server->route_requests[request->route->id]++;
        stoa_histogram_observe(&server->route_latency[request->route->id], us);
    }
    return result;
}

/* Whether the request's media type is application/json (parameters such as charset allowed). */
static bool is_json(struct MHD_Connection *mhd) {
    const char *type = MHD_lookup_connection_value(mhd, MHD_HEADER_KIND, "Content-Type");
    static const char json[] = "application/json";
    if (type == NULL || strncasecmp(type, json, sizeof(json) - 1) != 0) {
        return false;
    }
    char next = type[sizeof(json) - 1];
    return next == '\0' || next == ';' || next == ' ';
}

/* The checks on a request's headers, before its body: route, method, size, media type. */
static void begin(struct request *request, const char *url, const char *method) {
    struct stoa_http_server *server = request->server;
    request->method = stoa_http_method_parse(method);
    /* A decoded parameter is never longer than the path that holds it. */
    size_t capacity = strlen(url) + 1;
    capacity = capacity < STOA_HTTP_PARAM_BYTES_MAX ? capacity : STOA_HTTP_PARAM_BYTES_MAX;
    int result = stoa_buf_reserve(&request->parameter, capacity);
    struct stoa_http_match match = {0};
    if (result == STOA_OK) {
        result =
            stoa_http_route_match(url, request->method, request->parameter.data, capacity, &match);
    }
    if (result == STOA_ERR_NOT_FOUND) {
        stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", "no such route");
        return;
    }
    if (result != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       result == STOA_ERR_MALFORMED ? "bad percent-encoding or empty parameter"
                                                    : "the path parameter is too long");
        return;
    }
    request->route = match.route;
    request->parameter.length = match.parameter_length;
    if (!match.method_allowed) {
        stoa_http_methods_format(match.route->methods, request->allow, sizeof(request->allow));
        stoa_http_fail(request, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                       "the route does not answer this method");
        return;
    }
    const char *length_text =
        MHD_lookup_connection_value(request->mhd, MHD_HEADER_KIND, "Content-Length");
    if (length_text != NULL && strtoull(length_text, NULL, 10) > server->options.body_bytes_max) {
        stoa_http_fail(request, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
                       "the body is larger than http.maxBodyBytes");
        return;
    }
    if (stoa_http_route_wants_json(match.route, request->method) && !is_json(request->mhd)) {
        stoa_http_fail(request, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                       "the body must be application/json");
    }
}

static void receive(struct request *request, const char *data, size_t length) {
    if (request->too_large) {
        return;
    }
    if (stoa_buf_append(&request->body, data, length) != STOA_OK) {
        request->too_large = true;
        stoa_buf_free(&request->body);
    }
}

static enum MHD_Result on_access(void *context, struct MHD_Connection *mhd, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **request_context) {
    (void)version;
    struct stoa_http_server *server = context;
    struct request *request = *request_context;
    if (request == NULL) {
        request = request_new(server, mhd);
        if (request == NULL) {
            return MHD_NO; /* out of memory: libmicrohttpd closes the connection */
        }
        *request_context = request;
        begin(request, url, method);
        return request->ready ? queue(request) : MHD_YES;
    }
    if (request->ready) {
        return queue(request);
    }
    if (*upload_size > 0) {
        receive(request, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (request->connection != NULL) {
        request->connection->deadline_ms = 0; /* arrived whole */
    }
    if (request->too_large) {
        stoa_http_fail(request, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
                       "the body is larger than http.maxBodyBytes");
    } else {
        stoa_http_dispatch(request);
    }
    if (request->ready) {
        return queue(request);
    }
    if (request->with_group) {
        /* Answered once the group has: the route goes on from the loop hook. */
        MHD_suspend_connection(mhd);
        request->suspended = true;
        return MHD_YES;
    }
    /* A write: answered at the loop hook once the log is durable. */
    MHD_suspend_connection(mhd);
    STOA_LOG_DEBUG(server->log, MODULE, "suspended until durable",
                   STOA_FIELD_UINT("index", request->wait_index));
    request->suspended = true;
    request->next_waiting = server->waiting;
    server->waiting = request;
    return MHD_YES;
}

/* libmicrohttpd's URL unescaping is skipped: the route matcher decodes path parameters
 * itself (so "%2F" stays inside a key and "%00" is a byte, not the end of the string) and
 * the query values are decoded where they are read. */
static size_t keep_escaped(void *context, struct MHD_Connection *mhd, char *text) {
    (void)context;
    (void)mhd;
    return strlen(text);
}

static void on_mhd_log(void *context, const char *format, va_list arguments) {
    struct stoa_http_server *server = context;
    char text[256];
    vsnprintf(text, sizeof(text), format, arguments);
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r')) {
        text[--length] = '\0';
    }
    STOA_LOG_DEBUG(server->log, MODULE, "libmicrohttpd", STOA_FIELD_STR("detail", text));
}

/* ---- driving libmicrohttpd from the loop ---- */

/* Runs libmicrohttpd on whatever is ready, again while it says more is ready at once (a
 * resumed connection, whose response has just gone out, returns to libmicrohttpd's epoll set
 * only on the next run: without it, a keep-alive client's next request would wait for the
 * timer), then sets the timer to its next timeout. Called from the timer's own callback, a
 * timeout of 0 becomes 1 ms: libuv runs a timer restarted at 0 from its callback again at
 * once, and the loop would never get past its timers. */
static void drive(struct stoa_http_server *server) {
    if (server->driving || server->daemon == NULL) {
        return;
    }
    server->driving = true;
    MHD_UNSIGNED_LONG_LONG timeout = 0;
    bool has_timeout = false;
    for (int round = 0; round < STOA_HTTP_DRIVE_ROUNDS_MAX; round++) {
        (void)MHD_run(server->daemon);
        has_timeout = MHD_get_timeout(server->daemon, &timeout) == MHD_YES;
        if (!has_timeout || timeout > 0) {
            break;
        }
    }
    server->driving = false;
    if (has_timeout) {
        int64_t delay = timeout > (MHD_UNSIGNED_LONG_LONG)INT32_MAX ? INT32_MAX : (int64_t)timeout;
        if (delay == 0 && server->in_timer) {
            delay = 1;
        }
        server->env->ops->timer_start(server->timer, delay, 0);
    } else {
        server->env->ops->timer_stop(server->timer);
    }
}

/* The group commit: one flush for every write so far, then every waiting response is
 * released (a 503 in place of any whose write did not become durable). Resumed connections
 * may read further requests that write again: a bounded number of rounds, then the rest
 * waits for the next loop iteration. */
static void commit(struct stoa_http_server *server) {
    for (int round = 0; round < STOA_HTTP_COMMIT_ROUNDS_MAX; round++) {
        if (server->writes_pending) {
            server->writes_pending = false;
            struct stoa_engine_stats before;
            stoa_engine_stats(server->engine, &before);
            (void)stoa_engine_flush(server->engine);
            struct stoa_engine_stats after;
            stoa_engine_stats(server->engine, &after);
            if (after.flushes > before.flushes) {
                server->stats.flushes++;
            }
        }
        if (server->waiting == NULL) {
            return;
        }
        uint64_t durable = stoa_engine_durable_index(server->engine);
        struct request *waiting = server->waiting;
        server->waiting = NULL;
        while (waiting != NULL) {
            struct request *request = waiting;
            waiting = request->next_waiting;
            request->next_waiting = NULL;
            if (request->wait_index > durable) {
                request->response.length = 0;
                stoa_http_fail(request, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready",
                               "the log failed before the write was durable; writes are refused");
            }
            request->ready = true;
            request->suspended = false;
            MHD_resume_connection(request->mhd);
        }
        drive(server);
    }
    if (server->waiting != NULL && !server->in_timer) {
        server->env->ops->timer_start(server->timer, 0, 0); /* the next iteration goes on */
    }
}

static void on_readable(void *context) {
    /* Writes made here are committed at this iteration's loop hook. */
    drive(context);
}

/* libmicrohttpd's timeouts and the commit rounds left over: the loop hook of this iteration
 * may already have run, so writes made here are committed at once. */
static void on_timer(void *context) {
    struct stoa_http_server *server = context;
    server->in_timer = true;
    drive(server);
    if (server->waiting != NULL) {
        commit(server);
    }
    server->in_timer = false;
}

static void on_hook(void *context) {
    struct stoa_http_server *server = context;
    if (server->group_answered != NULL) {
        group_continue(server);
    }
    commit(server);
}

/* ---- Swagger UI assets ---- */

static const struct {
    const char *name;
    const char *content_type;
} asset_files[HTTP_ASSET_COUNT] = {
    {"swagger-ui.css", "text/css; charset=utf-8"},
    {"swagger-ui-bundle.js", "application/javascript; charset=utf-8"},
    {"swagger-ui-standalone-preset.js", "application/javascript; charset=utf-8"},
    {"favicon-32x32.png", "image/png"},
    {"favicon-16x16.png", "image/png"},
};

static int read_asset(struct stoa_env *env, const char *path, struct http_asset *asset) {
    struct stoa_env_file *file = NULL;
    int result = env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file);
    if (result != STOA_OK) {
        return result;
    }
    uint64_t size = 0;
    result = env->ops->file_size(file, &size);
    if (result == STOA_OK && size > STOA_HTTP_ASSET_BYTES_MAX) {
        result = STOA_ERR_TOO_LARGE;
    }
    uint8_t *data = NULL;
    if (result == STOA_OK && (data = stoa_alloc(size > 0 ? (size_t)size : 1)) == NULL) {
        result = STOA_ERR_NOMEM;
    }
    size_t read_length = 0;
    if (result == STOA_OK) {
        result = env->ops->file_pread(file, data, (size_t)size, 0, &read_length);
    }
    env->ops->file_close(file);
    if (result != STOA_OK) {
        stoa_free(data);
        return result;
    }
    asset->data = data;
    asset->length = read_length;
    return STOA_OK;
}

/* Reads the Swagger UI's files; a missing one is logged once and answered 404. */
static void load_assets(struct stoa_http_server *server) {
    const char *dir = server->options.swagger_dir;
    if (dir == NULL || dir[0] == '\0') {
        dir = STOA_SWAGGER_DIR_DEFAULT;
    }
    for (size_t i = 0; i < HTTP_ASSET_COUNT; i++) {
        struct http_asset *asset = &server->assets[i];
        asset->name = asset_files[i].name;
        asset->content_type = asset_files[i].content_type;
        char path[STOA_PATH_BYTES_MAX];
        int n = snprintf(path, sizeof(path), "%s/%s", dir, asset->name);
        int result = n > 0 && (size_t)n < sizeof(path) ? read_asset(server->env, path, asset)
                                                       : STOA_ERR_TOO_LARGE;
        if (result != STOA_OK) {
            STOA_LOG_WARN(server->log, MODULE,
                          "Swagger UI file missing: /swagger/ will answer 404 for it (run the "
                          "build, which installs web/node_modules, or set http.swaggerDir)",
                          STOA_FIELD_STR("path", path), STOA_FIELD_ERR(result));
        }
    }
}

/* ---- start and stop ---- */

static int start_daemon(struct stoa_http_server *server) {
    int fd = -1;
    int result =
        stoa_os_listen_socket(&server->options.address, LISTEN_BACKLOG, &fd, &server->address);
    if (result != STOA_OK) {
        return result;
    }
    unsigned timeout_s = (unsigned)((server->options.request_timeout_ms + 999) / 1000);
    server->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_access,
        server, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, server, MHD_OPTION_LISTEN_SOCKET, fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)server->options.clients_max,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)STOA_HTTP_CONNECTION_MEMORY_BYTES, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        server, MHD_OPTION_NOTIFY_CONNECTION, on_connection, server, MHD_OPTION_UNESCAPE_CALLBACK,
        keep_escaped, server, MHD_OPTION_END);
    if (server->daemon == NULL) {
        stoa_os_socket_close(fd);
        return STOA_ERR_IO;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(server->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    STOA_ASSERT(info != NULL);
    return stoa_os_fd_watch_start(server->env, info->epoll_fd, on_readable, server, &server->watch);
}

static int open_handles(struct stoa_http_server *server) {
    struct stoa_env *env = server->env;
    int result = env->ops->timer_create(env, on_timer, server, &server->timer);
    if (result == STOA_OK) {
        result = env->ops->timer_create(env, on_sweep, server, &server->sweep_timer);
    }
    if (result == STOA_OK) {
        result = env->ops->loop_hook_create(env, on_hook, server, &server->hook);
    }
    if (result == STOA_OK) {
        result = start_daemon(server);
    }
    if (result != STOA_OK) {
        return result;
    }
    env->ops->loop_hook_start(server->hook);
    int64_t sweep_ms = server->options.request_timeout_ms / 4;
    sweep_ms = sweep_ms < 1                        ? 1
               : sweep_ms > STOA_HTTP_SWEEP_MS_MAX ? STOA_HTTP_SWEEP_MS_MAX
                                                   : sweep_ms;
    env->ops->timer_start(server->sweep_timer, sweep_ms, sweep_ms);
    drive(server);
    return STOA_OK;
}

static void server_free(struct stoa_http_server *server) {
    for (size_t i = 0; i < HTTP_ASSET_COUNT; i++) {
        stoa_free(server->assets[i].data);
    }
    stoa_commands_output_free(&server->translated);
    stoa_http_capture_free(&server->capture);
    stoa_buf_free(&server->scratch);
    stoa_free(server);
}

static void on_handle_closed(void *context) {
    struct stoa_http_server *server = context;
    server->closes_pending--;
    maybe_stopped(server);
}

/* Closes what open_handles made (also after a partial start). */
static void close_handles(struct stoa_http_server *server) {
    struct stoa_env *env = server->env;
    if (server->watch != NULL) {
        server->closes_pending++;
        stoa_os_fd_watch_close(server->watch, on_handle_closed, server);
        server->watch = NULL;
    }
    if (server->daemon != NULL) {
        MHD_stop_daemon(server->daemon);
        server->daemon = NULL;
    }
    if (server->timer != NULL) {
        server->closes_pending++;
        env->ops->timer_close(server->timer, on_handle_closed, server);
    }
    if (server->sweep_timer != NULL) {
        server->closes_pending++;
        env->ops->timer_close(server->sweep_timer, on_handle_closed, server);
    }
    if (server->hook != NULL) {
        server->closes_pending++;
        env->ops->loop_hook_close(server->hook, on_handle_closed, server);
    }
}

static void maybe_stopped(struct stoa_http_server *server) {
    if (!server->stopping || server->closes_pending > 0) {
        return;
    }
    void (*on_stopped)(void *context) = server->on_stopped;
    void *context = server->stopped_context;
    server_free(server);
    if (on_stopped != NULL) {
        on_stopped(context);
    }
}

int stoa_http_server_start(struct stoa_env *env, struct stoa_engine *engine,
                           const struct stoa_http_server_options *options,
                           struct stoa_http_server **out) {
    STOA_ASSERT(env != NULL && engine != NULL && options != NULL && out != NULL);
    STOA_ASSERT(options->clients_max > 0 && options->body_bytes_max > 0);
    STOA_ASSERT(options->request_timeout_ms > 0);
    struct stoa_http_server *server = stoa_calloc(1, sizeof(*server));
    if (server == NULL) {
        return STOA_ERR_NOMEM;
    }
    server->env = env;
    server->engine = engine;
    server->options = *options;
    server->log = options->log;
    server->started_ms = stoa_env_real_ms(env);
    snprintf(server->storage_mode, sizeof(server->storage_mode), "%s",
             options->storage_mode != NULL ? options->storage_mode : "safe");
    snprintf(server->retrieval_mode, sizeof(server->retrieval_mode), "%s",
             options->retrieval_mode != NULL ? options->retrieval_mode : "safe");
    server->replication_factor = options->replication_factor;
    stoa_commands_output_init(&server->translated);
    stoa_http_capture_init(&server->capture, STOA_VALUE_BYTES_MAX);
    stoa_buf_init(&server->scratch, (size_t)options->body_bytes_max + 1);
    load_assets(server);
    int result = open_handles(server);
    if (result != STOA_OK) {
        server->stopping = true;
        close_handles(server);
        if (server->closes_pending == 0) {
            server_free(server);
        }
        /* Otherwise the server frees itself when the handles' close callbacks run. */
        return result;
    }
    *out = server;
    return STOA_OK;
}

void stoa_http_server_address(const struct stoa_http_server *server, struct stoa_address *address) {
    STOA_ASSERT(server != NULL && address != NULL);
    *address = server->address;
}

void stoa_http_server_stop(struct stoa_http_server *server, void (*on_stopped)(void *context),
                           void *context) {
    STOA_ASSERT(server != NULL && !server->stopping);
    server->on_stopped = on_stopped;
    server->stopped_context = context;
    /* A last group commit answers the suspended requests (libmicrohttpd must have resumed
     * every connection before it stops), and one more run sends what it can. */
    if (server->options.replica != NULL) {
        group_abandon(server);
    }
    commit(server);
    drive(server);
    server->stopping = true;
    close_handles(server);
    maybe_stopped(server);
}

void stoa_http_server_stats(const struct stoa_http_server *server,
                            struct stoa_http_server_stats *stats) {
    STOA_ASSERT(server != NULL && stats != NULL);
    *stats = server->stats;
}
