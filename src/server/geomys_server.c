/* The Geomys front door: requests through the command core on the shared connection
 * bookkeeping of conn.h (listener, buffers, group commit at the loop hook), and on a member of
 * a replica group through the replica. */
#include "server/geomys_server.h"

#include <stdbool.h>
#include <string.h>

#include "proto/commands.h"
#include "proto/geomys.h"
#include "server/conn.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/limits.h"

#define MODULE "geomys"

/* The input buffer holds at most one unfinished request plus one read's bytes (libuv reads
 * at most 64 KiB at a time); every complete request is taken out as soon as it arrives. */
#define INPUT_BYTES_MAX (STOA_GEOMYS_REQUEST_BYTES_MAX + 256 * 1024)

/* The Geomys state of one connection (conn->protocol). */
struct connection {
    struct stoa_geomys_server *server;
    struct stoa_conn *conn;
    struct stoa_geomys_scanner scanner;
    struct stoa_geomys_writer writer;
    /* On a member of a replica group: the request the group is answering (its reply goes
     * straight into writer); the connection is paused while waiting is set. */
    struct stoa_replica_waiter waiter;
    bool waiting;
};

struct stoa_geomys_server {
    struct stoa_env *env;
    struct stoa_engine *engine;
    struct stoa_conn_server *conns;
    char password[STOA_SERVER_PASSWORD_BYTES_MAX + 1];
    const struct stoa_log *log;
    struct stoa_replica *replica; /* NULL on a single node */
    enum stoa_replica_read_mode read_mode;
    enum stoa_replica_write_mode write_mode;
    struct stoa_geomys_decoder decoder;
    struct stoa_commands_output translated; /* reused for every request */
    void (*on_stopped)(void *context);
    void *stopped_context;
    uint64_t requests;
    uint64_t protocol_errors;
    uint64_t group_requests;
};

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

/* The replica's done callback: the answer is in the writer. It may run inside
 * stoa_replica_write or stoa_replica_read (the connection was not paused yet: on_input goes
 * on at once) or later from the replica's own callbacks (the connection resumes at the loop
 * hook, outside them). */
static void on_group_answer(struct stoa_replica_waiter *waiter) {
    struct connection *connection = waiter->context;
    connection->waiting = false;
    connection->writer.not_found = NULL;
    connection->conn->output_error = connection->writer.error;
    if (connection->conn->paused) {
        stoa_conn_resume_later(connection->conn);
    }
}

/* On a member of a replica group: the translated write or read goes to the group, in the
 * node's modes. waiting stays set if the answer comes later. */
static void run_in_group(struct connection *connection, const struct stoa_commands_output *out,
                         int64_t now_ms) {
    struct stoa_geomys_server *server = connection->server;
    server->group_requests++;
    connection->waiting = true;
    if (out->kind == STOA_COMMANDS_KIND_WRITE) {
        struct stoa_command write = {.opcode = out->opcode,
                                     .stamp_ms = now_ms,
                                     .argument_count = out->argument_count,
                                     .arguments = out->arguments};
        (void)stoa_replica_write(server->replica, &write, server->write_mode,
                                 &connection->waiter);
        return;
    }
    if (stoa_replica_read(server->replica, now_ms, out->opcode, out->arguments,
                          out->argument_count, server->read_mode, &connection->waiter)) {
        on_group_answer(&connection->waiter);
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
    bool data = out->kind == STOA_COMMANDS_KIND_WRITE || out->kind == STOA_COMMANDS_KIND_READ;
    if (server->replica != NULL && data) {
        /* The writer's not_found stays set until the group answers. */
        run_in_group(connection, out, now_ms);
        return;
    }
    if (out->kind == STOA_COMMANDS_KIND_WRITE) {
        struct stoa_command write = {.opcode = out->opcode,
                                     .stamp_ms = now_ms,
                                     .argument_count = out->argument_count,
                                     .arguments = out->arguments};
        uint64_t index = 0;
        (void)stoa_engine_write(server->engine, &write, &connection->writer.reply, &index);
        stoa_conn_wrote(connection->conn, index);
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
    server->requests++;
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
    connection->server->protocol_errors++;
    STOA_LOG_DEBUG(connection->server->log, MODULE, "protocol error",
                   STOA_FIELD_UINT("client", connection->conn->id),
                   STOA_FIELD_STR("peer", connection->conn->peer), STOA_FIELD_STR("error", text));
    stoa_geomys_write_error(&connection->writer, text);
    stoa_conn_close_after_reply(connection->conn, "protocol error");
}

/* Frames and runs every complete request in data; returns the bytes used. */
static size_t on_input(void *context, struct stoa_conn *conn, const uint8_t *data, size_t length,
                       bool at_end) {
    (void)context;
    (void)at_end; /* a request cut by the end of input is simply never answered */
    struct connection *connection = conn->protocol;
    size_t used_total = 0;
    while (!conn->paused && !conn->closing && !conn->close_after_reply) {
        size_t frame_length = 0;
        const char *error = NULL;
        int result = stoa_geomys_scan(&connection->scanner, data + used_total,
                                      length - used_total, &frame_length, &error);
        if (result == STOA_ERR_AGAIN) {
            break;
        }
        if (result != STOA_OK) {
            protocol_error(connection, error);
            break;
        }
        execute(connection, data + used_total, frame_length);
        used_total += frame_length;
        if (connection->waiting) {
            /* The group answers later: the next requests wait for it, in order. */
            stoa_conn_pause(conn);
        }
    }
    conn->output_error = connection->writer.error;
    return used_total;
}

static int on_open(void *context, struct stoa_conn *conn) {
    struct connection *connection = stoa_calloc(1, sizeof(*connection));
    if (connection == NULL) {
        return STOA_ERR_NOMEM;
    }
    connection->server = context;
    connection->conn = conn;
    stoa_geomys_writer_init(&connection->writer, &conn->out);
    stoa_replica_waiter_init(&connection->waiter, &connection->writer.reply, on_group_answer,
                             connection);
    conn->protocol = connection;
    return STOA_OK;
}

/* A connection going away while the group answers its request: the answer, if it comes, is
 * dropped (a write may still happen). */
static void on_closing(void *context, struct stoa_conn *conn) {
    struct stoa_geomys_server *server = context;
    struct connection *connection = conn->protocol;
    if (server->replica != NULL && connection->waiting) {
        stoa_replica_cancel(server->replica, &connection->waiter);
        connection->waiting = false;
    }
}

static void on_close(void *context, struct stoa_conn *conn) {
    struct stoa_geomys_server *server = context;
    struct connection *connection = conn->protocol;
    if (server->replica != NULL) {
        stoa_replica_waiter_free(server->replica, &connection->waiter);
    }
    stoa_free(connection);
    conn->protocol = NULL;
}

static const struct stoa_conn_callbacks callbacks = {
    .on_open = on_open, .on_input = on_input, .on_close = on_close, .on_closing = on_closing};

/* ---- start and stop ---- */

static void server_free(struct stoa_geomys_server *server) {
    stoa_commands_output_free(&server->translated);
    stoa_geomys_decoder_free(&server->decoder);
    stoa_free(server);
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
    server->log = options->log;
    server->replica = options->replica;
    server->read_mode = options->read_mode;
    server->write_mode = options->write_mode;
    memcpy(server->password, options->password != NULL ? options->password : "", password_length);
    stoa_commands_output_init(&server->translated);
    struct stoa_conn_options conn_options = {.address = options->address,
                                             .clients_max = options->clients_max,
                                             .input_bytes_max = INPUT_BYTES_MAX,
                                             .output_bytes_max = options->output_bytes_max,
                                             .module = MODULE,
                                             .log = options->log};
    int result = stoa_geomys_decoder_init(&server->decoder);
    if (result == STOA_OK) {
        result = stoa_conn_server_start(env, engine, &conn_options, &callbacks, server,
                                        &server->conns);
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
    stoa_conn_server_address(server->conns, address);
}

static void on_conns_stopped(void *context) {
    struct stoa_geomys_server *server = context;
    void (*on_stopped)(void *context) = server->on_stopped;
    void *stopped_context = server->stopped_context;
    server_free(server);
    if (on_stopped != NULL) {
        on_stopped(stopped_context);
    }
}

void stoa_geomys_server_stop(struct stoa_geomys_server *server, void (*on_stopped)(void *context),
                             void *context) {
    STOA_ASSERT(server != NULL && server->conns != NULL);
    server->on_stopped = on_stopped;
    server->stopped_context = context;
    struct stoa_conn_server *conns = server->conns;
    server->conns = NULL;
    stoa_conn_server_stop(conns, on_conns_stopped, server);
}

void stoa_geomys_server_stats(const struct stoa_geomys_server *server,
                              struct stoa_geomys_server_stats *stats) {
    STOA_ASSERT(server != NULL && stats != NULL && server->conns != NULL);
    struct stoa_conn_stats conn_stats;
    stoa_conn_server_stats(server->conns, &conn_stats);
    *stats = (struct stoa_geomys_server_stats){
        .connections_accepted = conn_stats.connections_accepted,
        .connections_rejected = conn_stats.connections_rejected,
        .connections_current = conn_stats.connections_current,
        .requests = server->requests,
        .flushes = conn_stats.flushes,
        .protocol_errors = server->protocol_errors,
        .output_limit_closes = conn_stats.output_limit_closes,
        .group_requests = server->group_requests};
}
