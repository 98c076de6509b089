/* Listener, connections and group commit for the smaller front doors (conn.h). */
#include "server/conn.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

struct stoa_conn_server {
    struct stoa_env *env;
    struct stoa_engine *engine;
    struct stoa_conn_options options;
    struct stoa_conn_callbacks callbacks;
    void *context;
    const struct stoa_log *log;
    struct stoa_env_listener *listener;
    struct stoa_env_loop_hook *hook;
    struct stoa_address address;
    struct stoa_conn *connections;
    struct stoa_conn *dirty;
    uint64_t next_client_id;
    bool writes_pending;    /* a write was applied since the last flush */
    size_t resumes_pending; /* connections with resume_pending set */
    bool stopping;
    size_t closes_pending; /* handles still closing during stop */
    void (*on_stopped)(void *context);
    void *stopped_context;
    struct stoa_conn_stats stats;
};

static void service(struct stoa_conn *conn, uint64_t durable);
static void maybe_stopped(struct stoa_conn_server *server);

/* ---- connections ---- */

static void mark_dirty(struct stoa_conn *conn) {
    if (!conn->dirty) {
        conn->dirty = true;
        conn->next_dirty = conn->server->dirty;
        conn->server->dirty = conn;
    }
}

static void unlink_connection(struct stoa_conn *conn) {
    struct stoa_conn_server *server = conn->server;
    if (conn->previous != NULL) {
        conn->previous->next = conn->next;
    } else {
        server->connections = conn->next;
    }
    if (conn->next != NULL) {
        conn->next->previous = conn->previous;
    }
    for (struct stoa_conn **link = &server->dirty; *link != NULL; link = &(*link)->next_dirty) {
        if (*link == conn) {
            *link = conn->next_dirty;
            break;
        }
    }
    if (conn->resume_pending) {
        conn->resume_pending = false;
        server->resumes_pending--;
    }
}

static void on_stream_closed(void *context) {
    struct stoa_conn *conn = context;
    struct stoa_conn_server *server = conn->server;
    unlink_connection(conn);
    server->callbacks.on_close(server->context, conn);
    server->stats.connections_current--;
    stoa_buf_free(&conn->in);
    stoa_buf_free(&conn->out);
    stoa_buf_free(&conn->sending);
    stoa_free(conn);
    server->closes_pending--;
    maybe_stopped(server);
}

void stoa_conn_close(struct stoa_conn *conn, const char *reason) {
    STOA_ASSERT(conn != NULL && reason != NULL);
    if (conn->closing) {
        return;
    }
    struct stoa_conn_server *server = conn->server;
    conn->closing = true;
    if (server->callbacks.on_closing != NULL) {
        server->callbacks.on_closing(server->context, conn);
    }
    STOA_LOG_DEBUG(server->log, server->options.module, "closing connection",
                   STOA_FIELD_UINT("client", conn->id), STOA_FIELD_STR("peer", conn->peer),
                   STOA_FIELD_STR("reason", reason));
    server->closes_pending++;
    server->env->ops->stream_close(conn->stream, on_stream_closed, conn);
}

void stoa_conn_close_after_reply(struct stoa_conn *conn, const char *reason) {
    STOA_ASSERT(conn != NULL && reason != NULL);
    if (!conn->close_after_reply) {
        conn->close_after_reply = true;
        conn->close_reason = reason;
    }
    mark_dirty(conn);
}

void stoa_conn_wrote(struct stoa_conn *conn, uint64_t index) {
    if (index > conn->wait_index) {
        conn->wait_index = index;
    }
    conn->server->writes_pending = true;
}

/* ---- input ---- */

static void read_stop(struct stoa_conn *conn) {
    if (conn->reading) {
        conn->reading = false;
        conn->server->env->ops->stream_read_stop(conn->stream);
    }
}

static bool taking_input(const struct stoa_conn *conn) {
    return !conn->paused && !conn->closing && !conn->close_after_reply;
}

/* Hands the buffered input to the protocol and drops what it consumed. */
static void process_input(struct stoa_conn *conn) {
    if (!taking_input(conn)) {
        return;
    }
    struct stoa_conn_server *server = conn->server;
    size_t used = server->callbacks.on_input(server->context, conn, conn->in.data, conn->in.length,
                                             conn->input_ended);
    STOA_ASSERT(used <= conn->in.length);
    if (used > 0) {
        stoa_buf_consume(&conn->in, used);
    }
    if (conn->input_ended && taking_input(conn)) {
        stoa_conn_close_after_reply(conn, "end of input");
    }
    mark_dirty(conn);
}

static void on_read(void *context, int status, const uint8_t *data, size_t length) {
    struct stoa_conn *conn = context;
    if (conn->closing || conn->close_after_reply || conn->input_ended) {
        return;
    }
    if (status == STOA_ERR_CLOSED) {
        conn->reading = false;
        conn->input_ended = true;
        process_input(conn);
        return;
    }
    if (status != STOA_OK) {
        stoa_conn_close(conn, "read error");
        return;
    }
    if (stoa_buf_append(&conn->in, data, length) != STOA_OK) {
        /* The protocol refuses an oversized request before this, so this is memory. */
        stoa_conn_close(conn, "input buffer limit or out of memory");
        return;
    }
    process_input(conn);
}

static void read_start(struct stoa_conn *conn) {
    if (conn->reading || conn->input_ended || !taking_input(conn)) {
        return;
    }
    if (conn->server->env->ops->stream_read_start(conn->stream, on_read, conn) != STOA_OK) {
        stoa_conn_close(conn, "cannot read");
        return;
    }
    conn->reading = true;
}

void stoa_conn_pause(struct stoa_conn *conn) {
    STOA_ASSERT(conn != NULL);
    conn->paused = true;
    read_stop(conn);
}

void stoa_conn_resume(struct stoa_conn *conn) {
    STOA_ASSERT(conn != NULL);
    conn->paused = false;
    process_input(conn);
    read_start(conn);
    mark_dirty(conn);
}

void stoa_conn_resume_later(struct stoa_conn *conn) {
    STOA_ASSERT(conn != NULL);
    struct stoa_conn_server *server = conn->server;
    if (conn->closing || server->stopping) {
        return;
    }
    if (!conn->resume_pending) {
        conn->resume_pending = true;
        server->resumes_pending++;
    }
    mark_dirty(conn);
    server->env->ops->loop_hook_wake(server->hook);
}

/* Resumes the connections stoa_conn_resume_later marked. A resumed connection's input may
 * mark others (an answer given at once never pauses, so none is marked twice in a pass):
 * repeat while a pass resumed any, at most once per connection. */
static void resume_pending_connections(struct stoa_conn_server *server) {
    for (size_t guard = server->stats.connections_current + 1;
         server->resumes_pending > 0 && guard > 0; guard--) {
        bool resumed = false;
        struct stoa_conn *next = NULL;
        for (struct stoa_conn *conn = server->connections; conn != NULL; conn = next) {
            next = conn->next;
            if (conn->resume_pending) {
                conn->resume_pending = false;
                server->resumes_pending--;
                stoa_conn_resume(conn);
                resumed = true;
            }
        }
        if (!resumed) {
            break;
        }
    }
}

void stoa_conn_input_end(struct stoa_conn *conn) {
    STOA_ASSERT(conn != NULL);
    if (conn->input_ended || conn->closing) {
        return;
    }
    read_stop(conn);
    conn->input_ended = true;
    process_input(conn);
}

/* ---- output and group commit ---- */

static void on_written(void *context, int status) {
    struct stoa_conn *conn = context;
    conn->write_in_flight = false;
    stoa_buf_reset(&conn->sending);
    if (status != STOA_OK) {
        stoa_conn_close(conn, "write error");
        return;
    }
    if (conn->out.length > 0 || conn->close_after_reply) {
        if (conn->server->stopping) {
            service(conn, stoa_engine_durable_index(conn->server->engine));
        } else {
            mark_dirty(conn);
        }
    }
}

/* Hands the output to the stream, if nothing is in flight; the buffers swap roles. */
static void send_output(struct stoa_conn *conn) {
    if (conn->write_in_flight || conn->out.length == 0 || conn->closing) {
        return;
    }
    struct stoa_buf swap = conn->sending;
    conn->sending = conn->out;
    conn->out = swap;
    int result = conn->server->env->ops->stream_write(conn->stream, conn->sending.data,
                                                      conn->sending.length, on_written, conn);
    if (result != STOA_OK) {
        stoa_conn_close(conn, "write error");
        return;
    }
    conn->write_in_flight = true;
}

/* One connection at the hook, after the log was flushed up to durable. */
static void service(struct stoa_conn *conn, uint64_t durable) {
    if (conn->closing) {
        return;
    }
    struct stoa_conn_server *server = conn->server;
    if (conn->output_error != STOA_OK) {
        server->stats.output_limit_closes++;
        STOA_LOG_WARN(server->log, server->options.module,
                      "output buffer limit: closing a client that does not read its replies",
                      STOA_FIELD_UINT("client", conn->id), STOA_FIELD_STR("peer", conn->peer),
                      STOA_FIELD_UINT("limit", conn->out.capacity_max));
        stoa_conn_close(conn, "output buffer limit");
        return;
    }
    if (conn->wait_index > durable) {
        /* The log failed before these writes were durable: no reply is true. */
        stoa_conn_close(conn, "the log failed before the replies were durable");
        return;
    }
    send_output(conn);
    if (conn->close_after_reply && !conn->write_in_flight) {
        stoa_conn_close(conn, conn->close_reason);
    }
}

static void on_hook(void *context) {
    struct stoa_conn_server *server = context;
    if (!server->stopping) {
        resume_pending_connections(server);
    }
    if (server->writes_pending) {
        server->writes_pending = false;
        if (stoa_engine_flush(server->engine) == STOA_OK) {
            server->stats.flushes++;
        }
    }
    uint64_t durable = stoa_engine_durable_index(server->engine);
    struct stoa_conn *dirty = server->dirty;
    server->dirty = NULL;
    while (dirty != NULL) {
        struct stoa_conn *conn = dirty;
        dirty = conn->next_dirty;
        conn->dirty = false;
        conn->next_dirty = NULL;
        service(conn, durable);
    }
}

/* ---- accepting ---- */

static void on_refused_closed(void *context) {
    struct stoa_conn_server *server = context;
    server->closes_pending--;
    maybe_stopped(server);
}

static void refuse(struct stoa_conn_server *server, struct stoa_env_stream *stream,
                   const char *reason) {
    if (!server->stopping) {
        server->stats.connections_rejected++;
        STOA_LOG_WARN(server->log, server->options.module, "refused a connection",
                      STOA_FIELD_STR("reason", reason));
    }
    server->closes_pending++;
    server->env->ops->stream_close(stream, on_refused_closed, server);
}

static struct stoa_conn *connection_new(struct stoa_conn_server *server,
                                        struct stoa_env_stream *stream) {
    struct stoa_conn *conn = stoa_calloc(1, sizeof(*conn));
    if (conn == NULL) {
        return NULL;
    }
    conn->server = server;
    conn->stream = stream;
    conn->id = ++server->next_client_id;
    stoa_buf_init(&conn->in, server->options.input_bytes_max);
    stoa_buf_init(&conn->out, server->options.output_bytes_max);
    stoa_buf_init(&conn->sending, server->options.output_bytes_max);
    struct stoa_address peer;
    if (server->env->ops->stream_peer_address(stream, &peer) == STOA_OK) {
        stoa_address_format(&peer, conn->peer);
    }
    if (server->callbacks.on_open(server->context, conn) != STOA_OK) {
        stoa_free(conn);
        return NULL;
    }
    conn->next = server->connections;
    if (server->connections != NULL) {
        server->connections->previous = conn;
    }
    server->connections = conn;
    server->stats.connections_current++;
    server->stats.connections_accepted++;
    return conn;
}

static void on_accept(void *context, struct stoa_env_stream *stream) {
    struct stoa_conn_server *server = context;
    if (server->stopping) {
        refuse(server, stream, "stopping");
        return;
    }
    if (server->stats.connections_current >= server->options.clients_max) {
        refuse(server, stream, "max number of clients reached");
        return;
    }
    struct stoa_conn *conn = connection_new(server, stream);
    if (conn == NULL) {
        refuse(server, stream, "out of memory");
        return;
    }
    read_start(conn);
}

/* ---- start and stop ---- */

static void maybe_stopped(struct stoa_conn_server *server) {
    if (!server->stopping || server->closes_pending > 0 || server->connections != NULL) {
        return;
    }
    void (*on_stopped)(void *context) = server->on_stopped;
    void *context = server->stopped_context;
    stoa_free(server);
    if (on_stopped != NULL) {
        on_stopped(context);
    }
}

static void on_handle_closed(void *context) {
    struct stoa_conn_server *server = context;
    server->closes_pending--;
    maybe_stopped(server);
}

static int open_handles(struct stoa_conn_server *server) {
    struct stoa_env *env = server->env;
    int result = env->ops->loop_hook_create(env, on_hook, server, &server->hook);
    if (result != STOA_OK) {
        return result;
    }
    env->ops->loop_hook_start(server->hook);
    result = env->ops->listen(env, &server->options.address, on_accept, server, &server->listener);
    if (result != STOA_OK) {
        env->ops->loop_hook_close(server->hook, NULL, NULL);
        return result;
    }
    env->ops->listener_address(server->listener, &server->address);
    return STOA_OK;
}

int stoa_conn_server_start(struct stoa_env *env, struct stoa_engine *engine,
                           const struct stoa_conn_options *options,
                           const struct stoa_conn_callbacks *callbacks, void *context,
                           struct stoa_conn_server **out) {
    STOA_ASSERT(env != NULL && engine != NULL && options != NULL && callbacks != NULL);
    STOA_ASSERT(out != NULL && options->module != NULL);
    STOA_ASSERT(options->clients_max > 0 && options->output_bytes_max > 0 &&
                options->input_bytes_max > 0);
    STOA_ASSERT(callbacks->on_open != NULL && callbacks->on_input != NULL &&
                callbacks->on_close != NULL);
    struct stoa_conn_server *server = stoa_calloc(1, sizeof(*server));
    if (server == NULL) {
        return STOA_ERR_NOMEM;
    }
    server->env = env;
    server->engine = engine;
    server->options = *options;
    server->callbacks = *callbacks;
    server->context = context;
    server->log = options->log;
    int result = open_handles(server);
    if (result != STOA_OK) {
        stoa_free(server);
        return result;
    }
    *out = server;
    return STOA_OK;
}

void stoa_conn_server_address(const struct stoa_conn_server *server,
                              struct stoa_address *address) {
    STOA_ASSERT(server != NULL && address != NULL);
    *address = server->address;
}

void stoa_conn_server_stats(const struct stoa_conn_server *server, struct stoa_conn_stats *stats) {
    STOA_ASSERT(server != NULL && stats != NULL);
    *stats = server->stats;
}

bool stoa_conn_server_stopping(const struct stoa_conn_server *server) {
    return server->stopping;
}

void stoa_conn_server_stop(struct stoa_conn_server *server, void (*on_stopped)(void *context),
                           void *context) {
    STOA_ASSERT(server != NULL && !server->stopping);
    server->stopping = true;
    server->on_stopped = on_stopped;
    server->stopped_context = context;
    /* Replies already produced are sent by a last hook run: flush now, then close. */
    on_hook(server);
    server->closes_pending += 2;
    server->env->ops->listener_close(server->listener, on_handle_closed, server);
    server->env->ops->loop_hook_close(server->hook, on_handle_closed, server);
    for (struct stoa_conn *c = server->connections; c != NULL; c = c->next) {
        stoa_conn_close_after_reply(c, "server stopping");
        service(c, stoa_engine_durable_index(server->engine));
    }
}
