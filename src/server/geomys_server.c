/* The Geomys front door: listener, connections, requests through the command core, and
 * group commit at the loop hook (the shape of server.c, for MessagePack maps). */
#include "server/geomys_server.h"

#include <stdbool.h>
#include <string.h>

#include "proto/commands.h"
#include "proto/geomys.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

#define MODULE "geomys"

/* The input buffer holds at most one unfinished request plus one read's bytes (libuv reads
 * at most 64 KiB at a time); every complete request is taken out as soon as it arrives. */
#define INPUT_BYTES_MAX (STOA_GEOMYS_REQUEST_BYTES_MAX + 256 * 1024)

struct connection {
    struct stoa_geomys_server *server;
    struct stoa_env_stream *stream;
    struct connection *previous; /* in server->connections */
    struct connection *next;
    struct connection *next_dirty; /* in server->dirty, when on it */
    bool dirty;
    uint64_t id;
    char peer[STOA_ADDRESS_TEXT_BYTES_MAX];

    struct stoa_buf in;
    struct stoa_geomys_scanner scanner;
    struct stoa_buf out;     /* responses being produced */
    struct stoa_buf sending; /* responses handed to the stream, until its write callback */
    struct stoa_geomys_writer writer;
    bool write_in_flight;
    uint64_t wait_index; /* the out responses wait for the log to be durable up to here */
    bool close_after_reply;
    bool closing;
    const char *close_reason;
};

struct stoa_geomys_server {
    struct stoa_env *env;
    struct stoa_engine *engine;
    struct stoa_geomys_server_options options;
    char password[STOA_SERVER_PASSWORD_BYTES_MAX + 1];
    const struct stoa_log *log;
    struct stoa_env_listener *listener;
    struct stoa_env_loop_hook *hook;
    struct stoa_address address;
    struct connection *connections;
    struct connection *dirty;
    struct stoa_geomys_decoder decoder;
    struct stoa_commands_output translated; /* reused for every request */
    uint64_t next_client_id;
    bool writes_pending; /* a write was applied since the last flush */
    bool stopping;
    size_t closes_pending; /* handles still closing during stop */
    void (*on_stopped)(void *context);
    void *stopped_context;
    struct stoa_geomys_server_stats stats;
};

static void service(struct connection *connection, uint64_t durable);
static void maybe_stopped(struct stoa_geomys_server *server);

/* ---- connections ---- */

static void mark_dirty(struct connection *connection) {
    if (!connection->dirty) {
        connection->dirty = true;
        connection->next_dirty = connection->server->dirty;
        connection->server->dirty = connection;
    }
}

static void on_stream_closed(void *context) {
    struct connection *connection = context;
    struct stoa_geomys_server *server = connection->server;
    if (connection->previous != NULL) {
        connection->previous->next = connection->next;
    } else {
        server->connections = connection->next;
    }
    if (connection->next != NULL) {
        connection->next->previous = connection->previous;
    }
    for (struct connection **link = &server->dirty; *link != NULL; link = &(*link)->next_dirty) {
        if (*link == connection) {
            *link = connection->next_dirty;
            break;
        }
    }
    server->stats.connections_current--;
    stoa_buf_free(&connection->in);
    stoa_buf_free(&connection->out);
    stoa_buf_free(&connection->sending);
    stoa_free(connection);
    server->closes_pending--;
    maybe_stopped(server);
}

static void close_now(struct connection *connection, const char *reason) {
    if (connection->closing) {
        return;
    }
    struct stoa_geomys_server *server = connection->server;
    connection->closing = true;
    STOA_LOG_DEBUG(server->log, MODULE, "closing connection",
                   STOA_FIELD_UINT("client", connection->id),
                   STOA_FIELD_STR("peer", connection->peer), STOA_FIELD_STR("reason", reason));
    server->closes_pending++;
    server->env->ops->stream_close(connection->stream, on_stream_closed, connection);
}

static void close_later(struct connection *connection, const char *reason) {
    if (!connection->close_after_reply) {
        connection->close_after_reply = true;
        connection->close_reason = reason;
    }
    mark_dirty(connection);
}

/* ---- requests ---- */

static bool password_matches(const struct stoa_geomys_server *server,
                             const struct stoa_geomys_request *request) {
    size_t length = strlen(server->password);
    if ((request->fields & STOA_GEOMYS_FIELD_PASSWORD) == 0 || request->password.length != length) {
        return false;
    }
    uint8_t difference = 0;
    for (size_t i = 0; i < length; i++) {
        difference |= (uint8_t)(request->password.data[i] ^ (uint8_t)server->password[i]);
    }
    return difference == 0;
}

/* PING and ECHO: the server commands Geomys has; Geomys answers both in "message". */
static void run_server_command(struct connection *connection,
                               const struct stoa_commands_output *out) {
    struct stoa_geomys_writer *writer = &connection->writer;
    if (out->spec->id == STOA_COMMANDS_PING) {
        stoa_geomys_write_message(writer, STOA_GEOMYS_STATUS_OK, (const uint8_t *)"PONG", 4);
    } else if (out->spec->id == STOA_COMMANDS_ECHO && out->argument_count == 1) {
        stoa_geomys_write_message(writer, STOA_GEOMYS_STATUS_OK, out->arguments[0].data,
                                  out->arguments[0].length);
    } else {
        stoa_geomys_write_error(writer, "command not available on the Geomys door");
    }
}

/* Runs one translated request through the command core and the engine. */
static void run_command(struct connection *connection, const struct stoa_geomys_command *command) {
    struct stoa_geomys_server *server = connection->server;
    struct stoa_commands_output *out = &server->translated;
    const struct stoa_commands_spec *spec = NULL;
    int64_t now_ms = stoa_env_real_ms(server->env);
    if (stoa_commands_find(command->argv, command->argc, STOA_COMMANDS_DOOR_GEOMYS, out, &spec) !=
            STOA_OK ||
        stoa_commands_translate(spec, command->argv, command->argc, now_ms, 0, out) != STOA_OK) {
        stoa_geomys_write_error(&connection->writer, out->error);
        return;
    }
    connection->writer.not_found = command->not_found;
    if (out->kind == STOA_COMMANDS_KIND_WRITE) {
        struct stoa_command write = {.opcode = out->opcode,
                                     .stamp_ms = now_ms,
                                     .argument_count = out->argument_count,
                                     .arguments = out->arguments};
        uint64_t index = 0;
        (void)stoa_engine_write(server->engine, &write, &connection->writer.reply, &index);
        if (index > connection->wait_index) {
            connection->wait_index = index;
        }
        server->writes_pending = true;
    } else if (out->kind == STOA_COMMANDS_KIND_READ) {
        (void)stoa_engine_query(server->engine, now_ms, out->opcode, out->arguments,
                                out->argument_count, &connection->writer.reply);
    } else if (out->kind == STOA_COMMANDS_KIND_SERVER) {
        run_server_command(connection, out);
    } else {
        stoa_geomys_write_error(&connection->writer, "command not available on the Geomys door");
    }
    connection->writer.not_found = NULL;
}

/* Decodes, checks and runs one framed request. */
static void execute(struct connection *connection, const uint8_t *frame, size_t length) {
    struct stoa_geomys_server *server = connection->server;
    server->stats.requests++;
    struct stoa_geomys_request request;
    const char *error = NULL;
    int result = stoa_geomys_decode(&server->decoder, frame, length, &request, &error);
    if (result != STOA_OK) {
        stoa_geomys_write_error(&connection->writer,
                                result == STOA_ERR_NOMEM ? "out of memory" : error);
        return;
    }
    if (server->password[0] != '\0' && !password_matches(server, &request)) {
        stoa_geomys_write_error(&connection->writer, "NOAUTH Authentication required.");
        return;
    }
    struct stoa_geomys_command command;
    if (stoa_geomys_request_command(&request, &command) != STOA_OK) {
        stoa_geomys_write_error(&connection->writer, command.error);
        return;
    }
    run_command(connection, &command);
}

static void protocol_error(struct connection *connection, const char *text) {
    connection->server->stats.protocol_errors++;
    STOA_LOG_DEBUG(connection->server->log, MODULE, "protocol error",
                   STOA_FIELD_UINT("client", connection->id),
                   STOA_FIELD_STR("peer", connection->peer), STOA_FIELD_STR("error", text));
    stoa_geomys_write_error(&connection->writer, text);
    close_later(connection, "protocol error");
}

/* Frames and runs every complete request in the input buffer, then drops their bytes. */
static void process_input(struct connection *connection) {
    size_t used_total = 0;
    while (!connection->closing && !connection->close_after_reply) {
        const uint8_t *data = connection->in.data + used_total;
        size_t frame_length = 0;
        const char *error = NULL;
        int result = stoa_geomys_scan(&connection->scanner, data,
                                      connection->in.length - used_total, &frame_length, &error);
        if (result == STOA_ERR_AGAIN) {
            break;
        }
        if (result != STOA_OK) {
            protocol_error(connection, error);
            break;
        }
        execute(connection, data, frame_length);
        used_total += frame_length;
    }
    if (used_total > 0) {
        stoa_buf_consume(&connection->in, used_total);
    }
    mark_dirty(connection);
}

static void on_read(void *context, int status, const uint8_t *data, size_t length) {
    struct connection *connection = context;
    if (connection->closing || connection->close_after_reply) {
        return;
    }
    if (status != STOA_OK) {
        close_now(connection, status == STOA_ERR_CLOSED ? "closed by the client" : "read error");
        return;
    }
    if (stoa_buf_append(&connection->in, data, length) != STOA_OK) {
        /* The scanner refuses an oversized request before this, so this is memory. */
        close_now(connection, "input buffer limit or out of memory");
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
            service(connection, stoa_engine_durable_index(connection->server->engine));
        } else {
            mark_dirty(connection);
        }
    }
}

/* Hands the output to the stream, if nothing is in flight; the buffers swap roles. */
static void send_output(struct connection *connection) {
    if (connection->write_in_flight || connection->out.length == 0 || connection->closing) {
        return;
    }
    struct stoa_buf swap = connection->sending;
    connection->sending = connection->out;
    connection->out = swap;
    int result = connection->server->env->ops->stream_write(
        connection->stream, connection->sending.data, connection->sending.length, on_written,
        connection);
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
                      "output buffer limit: closing a client that does not read its responses",
                      STOA_FIELD_UINT("client", connection->id),
                      STOA_FIELD_STR("peer", connection->peer),
                      STOA_FIELD_UINT("limit", connection->out.capacity_max));
        close_now(connection, "output buffer limit");
        return;
    }
    if (connection->wait_index > durable) {
        /* The log failed before these writes were durable: no response is true. */
        close_now(connection, "the log failed before the responses were durable");
        return;
    }
    send_output(connection);
    if (connection->close_after_reply && !connection->write_in_flight) {
        close_now(connection, connection->close_reason);
    }
}

static void on_hook(void *context) {
    struct stoa_geomys_server *server = context;
    if (server->writes_pending) {
        server->writes_pending = false;
        if (stoa_engine_flush(server->engine) == STOA_OK) {
            server->stats.flushes++;
        }
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

static void on_refused_closed(void *context) {
    struct stoa_geomys_server *server = context;
    server->closes_pending--;
    maybe_stopped(server);
}

static void refuse(struct stoa_geomys_server *server, struct stoa_env_stream *stream,
                   const char *reason) {
    if (!server->stopping) {
        server->stats.connections_rejected++;
        STOA_LOG_WARN(server->log, MODULE, "refused a connection",
                      STOA_FIELD_STR("reason", reason));
    }
    server->closes_pending++;
    server->env->ops->stream_close(stream, on_refused_closed, server);
}

static struct connection *connection_new(struct stoa_geomys_server *server,
                                         struct stoa_env_stream *stream) {
    struct connection *connection = stoa_calloc(1, sizeof(*connection));
    if (connection == NULL) {
        return NULL;
    }
    connection->server = server;
    connection->stream = stream;
    connection->id = ++server->next_client_id;
    stoa_buf_init(&connection->in, INPUT_BYTES_MAX);
    stoa_buf_init(&connection->out, server->options.output_bytes_max);
    stoa_buf_init(&connection->sending, server->options.output_bytes_max);
    stoa_geomys_writer_init(&connection->writer, &connection->out);
    struct stoa_address peer;
    if (server->env->ops->stream_peer_address(stream, &peer) == STOA_OK) {
        stoa_address_format(&peer, connection->peer);
    }
    connection->next = server->connections;
    if (server->connections != NULL) {
        server->connections->previous = connection;
    }
    server->connections = connection;
    server->stats.connections_current++;
    server->stats.connections_accepted++;
    return connection;
}

static void on_accept(void *context, struct stoa_env_stream *stream) {
    struct stoa_geomys_server *server = context;
    if (server->stopping) {
        refuse(server, stream, "stopping");
        return;
    }
    if (server->stats.connections_current >= server->options.clients_max) {
        refuse(server, stream, "max number of clients reached");
        return;
    }
    struct connection *connection = connection_new(server, stream);
    if (connection == NULL) {
        refuse(server, stream, "out of memory");
        return;
    }
    if (server->env->ops->stream_read_start(stream, on_read, connection) != STOA_OK) {
        close_now(connection, "cannot read");
    }
}

/* ---- start and stop ---- */

static void server_free(struct stoa_geomys_server *server) {
    stoa_commands_output_free(&server->translated);
    stoa_geomys_decoder_free(&server->decoder);
    stoa_free(server);
}

static void maybe_stopped(struct stoa_geomys_server *server) {
    if (!server->stopping || server->closes_pending > 0 || server->connections != NULL) {
        return;
    }
    void (*on_stopped)(void *context) = server->on_stopped;
    void *context = server->stopped_context;
    server_free(server);
    if (on_stopped != NULL) {
        on_stopped(context);
    }
}

static void on_handle_closed(void *context) {
    struct stoa_geomys_server *server = context;
    server->closes_pending--;
    maybe_stopped(server);
}

static int open_handles(struct stoa_geomys_server *server) {
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

int stoa_geomys_server_start(struct stoa_env *env, struct stoa_engine *engine,
                             const struct stoa_geomys_server_options *options,
                             struct stoa_geomys_server **out) {
    STOA_ASSERT(env != NULL && engine != NULL && options != NULL && out != NULL);
    STOA_ASSERT(options->clients_max > 0 && options->output_bytes_max > 0);
    size_t password_length = options->password != NULL ? strlen(options->password) : 0;
    if (password_length > STOA_SERVER_PASSWORD_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_geomys_server *server = stoa_calloc(1, sizeof(*server));
    if (server == NULL) {
        return STOA_ERR_NOMEM;
    }
    server->env = env;
    server->engine = engine;
    server->options = *options;
    server->log = options->log;
    memcpy(server->password, options->password != NULL ? options->password : "", password_length);
    stoa_commands_output_init(&server->translated);
    int result = stoa_geomys_decoder_init(&server->decoder);
    if (result == STOA_OK) {
        result = open_handles(server);
    }
    if (result != STOA_OK) {
        server_free(server);
        return result;
    }
    *out = server;
    return STOA_OK;
}

void stoa_geomys_server_address(const struct stoa_geomys_server *server,
                                struct stoa_address *address) {
    STOA_ASSERT(server != NULL && address != NULL);
    *address = server->address;
}

void stoa_geomys_server_stop(struct stoa_geomys_server *server, void (*on_stopped)(void *context),
                             void *context) {
    STOA_ASSERT(server != NULL && !server->stopping);
    server->stopping = true;
    server->on_stopped = on_stopped;
    server->stopped_context = context;
    /* Responses already produced are sent by a last hook run: flush now, then close. */
    on_hook(server);
    server->closes_pending += 2;
    server->env->ops->listener_close(server->listener, on_handle_closed, server);
    server->env->ops->loop_hook_close(server->hook, on_handle_closed, server);
    for (struct connection *c = server->connections; c != NULL; c = c->next) {
        close_later(c, "server stopping");
        service(c, stoa_engine_durable_index(server->engine));
    }
}

void stoa_geomys_server_stats(const struct stoa_geomys_server *server,
                              struct stoa_geomys_server_stats *stats) {
    STOA_ASSERT(server != NULL && stats != NULL);
    *stats = server->stats;
}
