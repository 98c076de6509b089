/* The RESP server's transport: listener, connections, output, and group commit at the loop
 * hook. Running requests is server_dispatch.c. */
#include "server/server_int.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

#define MODULE "server"

/* The cron: idle timeouts and finished background saves are checked this often. */
#define CRON_MS 1000

static void on_stream_closed(void *context);
static void send_output(struct connection *connection);
static void service(struct connection *connection, uint64_t durable);

/* ---- connections ---- */

void stoa_server_mark_dirty(struct connection *connection) {
    if (!connection->dirty) {
        connection->dirty = true;
        connection->next_dirty = connection->server->dirty;
        connection->server->dirty = connection;
    }
}

void stoa_server_resume_later(struct connection *connection) {
    if (!connection->resume_input) {
        connection->resume_input = true;
        connection->server->resumes_pending++;
    }
    stoa_server_mark_dirty(connection);
}

void stoa_server_close_later(struct connection *connection, const char *reason) {
    if (!connection->close_after_reply) {
        connection->close_after_reply = true;
        connection->close_reason = reason;
    }
    stoa_server_mark_dirty(connection);
}

static void close_now(struct connection *connection, const char *reason) {
    if (connection->closing) {
        return;
    }
    struct stoa_server *server = connection->server;
    stoa_server_unblock(connection);
    if (server->options.replica != NULL) {
        /* The group's answer, if it comes, is dropped. */
        stoa_replica_cancel(server->options.replica, &connection->waiter);
    }
    connection->closing = true;
    STOA_LOG_DEBUG(server->log, MODULE, "closing connection",
                   STOA_FIELD_UINT("client", connection->id),
                   STOA_FIELD_STR("peer", connection->peer), STOA_FIELD_STR("reason", reason));
    server->closes_pending++;
    server->env->ops->stream_close(connection->stream, on_stream_closed, connection);
}

static void unlink_connection(struct connection *connection) {
    struct stoa_server *server = connection->server;
    if (connection->previous != NULL) {
        connection->previous->next = connection->next;
    } else {
        server->connections = connection->next;
    }
    if (connection->next != NULL) {
        connection->next->previous = connection->previous;
    }
    /* Drop it from the dirty list too. */
    for (struct connection **link = &server->dirty; *link != NULL; link = &(*link)->next_dirty) {
        if (*link == connection) {
            *link = connection->next_dirty;
            break;
        }
    }
    if (connection->resume_input) {
        server->resumes_pending--;
    }
    if (connection->waiting_save) {
        server->saves_waiting--;
    }
    server->stats.connections_current--;
}

static void maybe_stopped(struct stoa_server *server);

static void on_stream_closed(void *context) {
    struct connection *connection = context;
    struct stoa_server *server = connection->server;
    unlink_connection(connection);
    if (server->options.replica != NULL) {
        stoa_replica_waiter_free(server->options.replica, &connection->waiter);
    }
    stoa_resp_parser_free(&connection->parser);
    stoa_buf_free(&connection->in);
    stoa_buf_free(&connection->out);
    stoa_buf_free(&connection->sending);
    stoa_free(connection);
    server->closes_pending--;
    maybe_stopped(server);
}

/* ---- input ---- */

/* Makes room for argc words in the server's reusable argument array. */
static int reserve_argv(struct stoa_server *server, size_t argc) {
    if (argc <= server->argv_capacity) {
        return STOA_OK;
    }
    struct stoa_command_argument *grown =
        stoa_realloc(server->argv, argc * sizeof(struct stoa_command_argument));
    if (grown == NULL) {
        return STOA_ERR_NOMEM;
    }
    server->argv = grown;
    server->argv_capacity = argc;
    return STOA_OK;
}

static void protocol_error(struct connection *connection, const char *text) {
    connection->server->stats.protocol_errors++;
    STOA_LOG_DEBUG(connection->server->log, MODULE, "protocol error",
                   STOA_FIELD_UINT("client", connection->id),
                   STOA_FIELD_STR("peer", connection->peer), STOA_FIELD_STR("error", text));
    connection->writer.reply.ops->error(&connection->writer.reply, STOA_ERR_MALFORMED, text);
    stoa_server_close_later(connection, "protocol error");
}

/* Parses and runs every complete request in the input buffer, then drops their bytes. */
static void process_input(struct connection *connection) {
    struct stoa_server *server = connection->server;
    size_t used_total = 0;
    while (!connection->closing && !connection->close_after_reply && !connection->blocked &&
           !connection->waiting_save && !connection->waiting_replica) {
        struct stoa_resp_request request;
        size_t used = 0;
        uint8_t *data = connection->in.data + used_total;
        connection->parser.unauthenticated = !connection->authenticated;
        int result = stoa_resp_parse(&connection->parser, data, connection->in.length - used_total,
                                     &request, &used);
        if (result == STOA_ERR_AGAIN) {
            used_total += used;
            break;
        }
        if (result != STOA_OK) {
            protocol_error(connection, connection->parser.error);
            break;
        }
        if (reserve_argv(server, request.argument_count) != STOA_OK) {
            protocol_error(connection, "ERR out of memory for the request's arguments");
            break;
        }
        stoa_resp_request_arguments(&request, data, server->argv);
        stoa_server_execute(connection, server->argv, request.argument_count);
        used_total += used;
    }
    if (used_total > 0) {
        stoa_buf_consume(&connection->in, used_total);
    }
    stoa_server_mark_dirty(connection);
}

static void on_read(void *context, int status, const uint8_t *data, size_t length) {
    struct connection *connection = context;
    if (connection->closing) {
        return;
    }
    if (status != STOA_OK) {
        close_now(connection, status == STOA_ERR_CLOSED ? "closed by the client" : "read error");
        return;
    }
    connection->last_activity_ms = stoa_env_real_ms(connection->server->env);
    if (stoa_buf_append(&connection->in, data, length) != STOA_OK) {
        STOA_LOG_WARN(connection->server->log, MODULE, "query buffer limit: closing client",
                      STOA_FIELD_UINT("client", connection->id),
                      STOA_FIELD_STR("peer", connection->peer),
                      STOA_FIELD_UINT("limit", connection->in.capacity_max));
        close_now(connection, "query buffer limit");
        return;
    }
    process_input(connection);
}

/* ---- output and group commit ---- */

static void on_written(void *context, int status) {
    struct connection *connection = context;
    connection->write_in_flight = false;
    stoa_buf_reset(&connection->sending);
    if (status != STOA_OK) {
        close_now(connection, "write error");
        return;
    }
    if (connection->out.length > 0 || connection->close_after_reply) {
        if (connection->server->stopping) {
            /* No more hook runs while stopping: finish this connection now. */
            service(connection, stoa_engine_durable_index(connection->server->engine));
        } else {
            stoa_server_mark_dirty(connection);
        }
    }
}

/* Sends the output: first straight to the socket (one write(2), no callback, the usual case
 * for a reply that fits), then whatever is left through a queued write, during which the
 * buffers swap roles so new replies can accumulate. */
static void send_output(struct connection *connection) {
    if (connection->write_in_flight || connection->out.length == 0 || connection->closing) {
        return;
    }
    struct stoa_env *env = connection->server->env;
    size_t written = 0;
    int result = env->ops->stream_try_write(connection->stream, connection->out.data,
                                            connection->out.length, &written);
    if (result != STOA_OK) {
        close_now(connection, "write error");
        return;
    }
    stoa_buf_consume(&connection->out, written);
    if (connection->out.length == 0) {
        return;
    }
    /* Swapping the contents keeps &connection->out, where the writer writes, in place. */
    struct stoa_buf swap = connection->sending;
    connection->sending = connection->out;
    connection->out = swap;
    result = env->ops->stream_write(connection->stream, connection->sending.data,
                                    connection->sending.length, on_written, connection);
    if (result != STOA_OK) {
        close_now(connection, "write error");
        return;
    }
    connection->write_in_flight = true;
}

/* One connection at the hook, after the log was flushed up to durable. */
static void service(struct connection *connection, uint64_t durable) {
    if (connection->closing) {
        return;
    }
    if (connection->writer.error != STOA_OK) {
        connection->server->stats.output_limit_closes++;
        STOA_LOG_WARN(connection->server->log, MODULE,
                      "output buffer limit: closing a client that does not read its replies",
                      STOA_FIELD_UINT("client", connection->id),
                      STOA_FIELD_STR("peer", connection->peer),
                      STOA_FIELD_UINT("limit", connection->out.capacity_max));
        close_now(connection, "output buffer limit");
        return;
    }
    if (connection->wait_index > durable) {
        /* The log failed before these writes were durable: their replies must not say OK,
         * and no other answer is true. Close: the client learns the outcome is unknown. */
        close_now(connection, "the log failed before the replies were durable");
        return;
    }
    send_output(connection);
    if (connection->close_after_reply && !connection->write_in_flight) {
        close_now(connection, connection->close_reason);
    }
}

/* Runs the input that queued behind blocking pops which were served this iteration; a
 * resumed connection may serve others, so repeat while any is left (each pass resumes at
 * least one connection, or stops). */
static void resume_inputs(struct stoa_server *server) {
    for (bool resumed = true; resumed && server->resumes_pending > 0;) {
        resumed = false;
        for (struct connection *c = server->connections; c != NULL; c = c->next) {
            if (c->resume_input && !c->blocked && !c->closing) {
                c->resume_input = false;
                server->resumes_pending--;
                process_input(c);
                resumed = true;
            }
        }
    }
}

/* Answers SAVE once the snapshot it started is no longer running. */
static void finish_saves(struct stoa_server *server) {
    if (server->saves_waiting == 0 || stoa_engine_busy(server->engine)) {
        return;
    }
    server->saves_waiting = 0;
    struct stoa_engine_stats stats;
    stoa_engine_stats(server->engine, &stats);
    for (struct connection *c = server->connections; c != NULL; c = c->next) {
        if (!c->waiting_save) {
            continue;
        }
        c->waiting_save = false;
        if (stats.snapshots_written > c->snapshots_before_save) {
            c->writer.reply.ops->status(&c->writer.reply, "OK");
        } else {
            c->writer.reply.ops->error(&c->writer.reply, STOA_ERR_IO,
                                       "ERR the snapshot failed: see the node's log");
        }
        stoa_server_resume_later(c);
    }
}

/* The group commit: one flush of the log for every write of this iteration, timed. */
static void flush(struct stoa_server *server) {
    int64_t start_ns = stoa_env_monotonic_ns(server->env);
    int result = stoa_engine_flush(server->engine);
    uint64_t usec = (uint64_t)(stoa_env_monotonic_ns(server->env) - start_ns) / 1000;
    server->flush_count++;
    server->flush_usec_total += usec;
    server->flush_usec_last = usec;
    server->flush_usec_max = usec > server->flush_usec_max ? usec : server->flush_usec_max;
    if (result == STOA_OK) {
        server->stats.flushes++;
    }
    if (usec >= STOA_SERVER_SLOW_FLUSH_US) {
        STOA_LOG_WARN(server->log, MODULE, "slow group commit: the disk took long to sync",
                      STOA_FIELD_UINT("usec", usec));
    }
}

static void on_hook(void *context) {
    struct stoa_server *server = context;
    finish_saves(server);
    /* Writes from other front doors (Geomys) may have fed parked pops. */
    stoa_server_blocked_wake(server);
    resume_inputs(server);
    if (server->writes_pending) {
        server->writes_pending = false;
        flush(server);
    }
    uint64_t durable = stoa_engine_durable_index(server->engine);
    struct connection *dirty = server->dirty;
    server->dirty = NULL;
    while (dirty != NULL) {
        struct connection *connection = dirty;
        dirty = connection->next_dirty;
        connection->dirty = false;
        connection->next_dirty = NULL;
        service(connection, durable);
    }
}

/* ---- accepting ---- */

static int connection_new(struct stoa_server *server, struct stoa_env_stream *stream,
                          struct connection **out) {
    struct connection *connection = stoa_calloc(1, sizeof(*connection));
    if (connection == NULL) {
        return STOA_ERR_NOMEM;
    }
    connection->server = server;
    connection->stream = stream;
    connection->id = ++server->next_client_id;
    connection->protocol = 2;
    connection->authenticated = server->password[0] == '\0';
    connection->created_ms = stoa_env_real_ms(server->env);
    connection->last_activity_ms = connection->created_ms;
    stoa_buf_init(&connection->in, server->options.query_bytes_max);
    stoa_buf_init(&connection->out, server->options.output_bytes_max);
    stoa_buf_init(&connection->sending, server->options.output_bytes_max);
    stoa_resp_parser_init(&connection->parser);
    stoa_resp_writer_init(&connection->writer, &connection->out, STOA_RESP_VERSION_2);
    stoa_replica_waiter_init(&connection->waiter, &connection->writer.reply,
                             stoa_server_replica_done, connection);
    connection->read_mode = server->options.read_mode;
    connection->write_mode = server->options.write_mode;
    struct stoa_address peer;
    if (server->env->ops->stream_peer_address(stream, &peer) == STOA_OK) {
        stoa_address_format(&peer, connection->peer);
    }
    *out = connection;
    return STOA_OK;
}

static void link_connection(struct stoa_server *server, struct connection *connection) {
    connection->next = server->connections;
    if (server->connections != NULL) {
        server->connections->previous = connection;
    }
    server->connections = connection;
    server->stats.connections_current++;
    server->stats.connections_accepted++;
}

static void on_rejected_closed(void *context) {
    struct stoa_server *server = context;
    server->closes_pending--;
    maybe_stopped(server);
}

struct rejected {
    struct stoa_server *server;
    struct stoa_env_stream *stream;
};

/* The refusal was sent (or failed): now close. */
static void on_rejection_written(void *context, int status) {
    (void)status;
    struct rejected *rejected = context;
    struct stoa_server *server = rejected->server;
    struct stoa_env_stream *stream = rejected->stream;
    stoa_free(rejected);
    server->env->ops->stream_close(stream, on_rejected_closed, server);
}

/* Tells a client over the limit why, then closes. */
static void reject(struct stoa_server *server, struct stoa_env_stream *stream, const char *reason) {
    static const char message[] = "-ERR max number of clients reached\r\n";
    server->stats.connections_rejected++;
    STOA_LOG_WARN(server->log, MODULE, "refused a connection", STOA_FIELD_STR("reason", reason));
    server->closes_pending++;
    struct rejected *rejected = stoa_alloc(sizeof(*rejected));
    if (rejected != NULL) {
        *rejected = (struct rejected){server, stream};
        if (server->env->ops->stream_write(stream, (const uint8_t *)message, sizeof(message) - 1,
                                           on_rejection_written, rejected) == STOA_OK) {
            return;
        }
        stoa_free(rejected);
    }
    server->env->ops->stream_close(stream, on_rejected_closed, server);
}

static void on_accept(void *context, struct stoa_env_stream *stream) {
    struct stoa_server *server = context;
    if (server->stopping) {
        server->closes_pending++;
        server->env->ops->stream_close(stream, on_rejected_closed, server);
        return;
    }
    if (server->stats.connections_current >= server->options.clients_max) {
        reject(server, stream, "max number of clients reached");
        return;
    }
    struct connection *connection = NULL;
    if (connection_new(server, stream, &connection) != STOA_OK) {
        reject(server, stream, "out of memory");
        return;
    }
    link_connection(server, connection);
    int result = server->env->ops->stream_read_start(stream, on_read, connection);
    if (result != STOA_OK) {
        close_now(connection, "cannot read");
    }
}

/* ---- the cron: idle clients ---- */

static void on_cron(void *context) {
    struct stoa_server *server = context;
    int64_t idle_ms = server->options.idle_timeout_ms;
    if (idle_ms <= 0) {
        return;
    }
    int64_t now_ms = stoa_env_real_ms(server->env);
    for (struct connection *c = server->connections; c != NULL; c = c->next) {
        if (!c->blocked && !c->closing && now_ms - c->last_activity_ms > idle_ms) {
            server->stats.idle_closes++;
            close_now(c, "idle timeout");
        }
    }
}

/* ---- start and stop ---- */

static void maybe_stopped(struct stoa_server *server) {
    if (!server->stopping || server->closes_pending > 0 || server->connections != NULL) {
        return;
    }
    void (*on_stopped)(void *context) = server->on_stopped;
    void *context = server->stopped_context;
    stoa_commands_output_free(&server->translated);
    stoa_commands_output_free(&server->blocked_write);
    stoa_free(server->argv);
    stoa_free(server);
    if (on_stopped != NULL) {
        on_stopped(context);
    }
}

static void on_handle_closed(void *context) {
    struct stoa_server *server = context;
    server->closes_pending--;
    maybe_stopped(server);
}

static int open_handles(struct stoa_server *server) {
    struct stoa_env *env = server->env;
    int result = env->ops->loop_hook_create(env, on_hook, server, &server->hook);
    if (result != STOA_OK) {
        return result;
    }
    env->ops->loop_hook_start(server->hook);
    result = env->ops->timer_create(env, on_cron, server, &server->cron);
    if (result != STOA_OK) {
        env->ops->loop_hook_close(server->hook, NULL, NULL);
        return result;
    }
    env->ops->timer_start(server->cron, CRON_MS, CRON_MS);
    result = env->ops->listen(env, &server->options.address, on_accept, server, &server->listener);
    if (result != STOA_OK) {
        env->ops->loop_hook_close(server->hook, NULL, NULL);
        env->ops->timer_close(server->cron, NULL, NULL);
        return result;
    }
    env->ops->listener_address(server->listener, &server->address);
    return STOA_OK;
}

int stoa_server_start(struct stoa_env *env, struct stoa_engine *engine,
                      const struct stoa_server_options *options, struct stoa_server **out) {
    STOA_ASSERT(env != NULL && engine != NULL && options != NULL && out != NULL);
    STOA_ASSERT(options->clients_max > 0 && options->query_bytes_max > 0);
    STOA_ASSERT(options->output_bytes_max > 0);
    size_t password_length = options->password != NULL ? strlen(options->password) : 0;
    if (password_length > STOA_SERVER_PASSWORD_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_server *server = stoa_calloc(1, sizeof(*server));
    if (server == NULL) {
        return STOA_ERR_NOMEM;
    }
    server->env = env;
    server->engine = engine;
    server->options = *options;
    server->log = options->log;
    if (password_length > 0) {
        memcpy(server->password, options->password, password_length);
    }
    server->started_ms = stoa_env_real_ms(env);
    stoa_commands_output_init(&server->translated);
    stoa_commands_output_init(&server->blocked_write);
    int result = open_handles(server);
    if (result != STOA_OK) {
        stoa_commands_output_free(&server->translated);
        stoa_commands_output_free(&server->blocked_write);
        stoa_free(server);
        return result;
    }
    *out = server;
    return STOA_OK;
}

void stoa_server_address(const struct stoa_server *server, struct stoa_address *address) {
    STOA_ASSERT(server != NULL && address != NULL);
    *address = server->address;
}

void stoa_server_stop(struct stoa_server *server, void (*on_stopped)(void *context),
                      void *context) {
    STOA_ASSERT(server != NULL && !server->stopping);
    server->stopping = true;
    server->on_stopped = on_stopped;
    server->stopped_context = context;
    /* Replies already produced are sent by a last hook run: flush now, then close. */
    on_hook(server);
    server->closes_pending += 3;
    if (server->block_timer != NULL) {
        server->closes_pending++;
        server->env->ops->timer_close(server->block_timer, on_handle_closed, server);
    }
    server->env->ops->listener_close(server->listener, on_handle_closed, server);
    server->env->ops->loop_hook_close(server->hook, on_handle_closed, server);
    server->env->ops->timer_close(server->cron, on_handle_closed, server);
    for (struct connection *c = server->connections; c != NULL; c = c->next) {
        stoa_server_close_later(c, "server stopping");
        service(c, stoa_engine_durable_index(server->engine));
    }
}

void stoa_server_stats(const struct stoa_server *server, struct stoa_server_stats *stats) {
    STOA_ASSERT(server != NULL && stats != NULL);
    *stats = server->stats;
}
