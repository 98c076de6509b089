/* Running one request: the command core finds and translates it, then the engine, the
 * blocking-pop machinery or the server's own commands answer it. */
#include <string.h>

#include "server/server_int.h"
#include "util/assert.h"
#include "util/err.h"

static void reply_error(struct connection *connection, int code, const char *text) {
    connection->writer.reply.ops->error(&connection->writer.reply, code, text);
}

/* Whether argument is spec's name, in any case. */
static bool name_is(const struct stoa_commands_spec *spec,
                    const struct stoa_command_argument *argument) {
    const char *name = spec->name;
    size_t i = 0;
    for (; i < argument->length && name[i] != '\0'; i++) {
        uint8_t c = argument->data[i];
        c = c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
        if (c != (uint8_t)name[i]) {
            return false;
        }
    }
    return i == argument->length && name[i] == '\0';
}

static void remember_name(struct connection *connection, const struct stoa_commands_spec *spec) {
    size_t length = strlen(spec->name);
    if (length > STOA_SERVER_COMMAND_NAME_BYTES_MAX) {
        length = STOA_SERVER_COMMAND_NAME_BYTES_MAX;
    }
    memcpy(connection->last_command, spec->name, length);
    connection->last_command[length] = '\0';
}

void stoa_server_replica_done(struct stoa_replica_waiter *waiter) {
    struct connection *connection = waiter->context;
    connection->waiting_replica = false;
    if (connection->blocked_popping) {
        stoa_server_blocked_done(connection);
        return;
    }
    stoa_server_resume_later(connection);
    stoa_server_mark_dirty(connection);
}

/* In a replica group: the write goes to the group, and this connection waits for it. */
int stoa_server_run_replicated_write(struct connection *connection,
                                     const struct stoa_commands_output *out, int64_t now_ms) {
    /* A SESSION WRITE's client id and sequence travel in the record: forwarded to the
     * leader inside it, and judged by every replica's session table when applied. */
    struct stoa_command command = {.opcode = out->opcode,
                                   .client_id = out->client_id,
                                   .sequence = out->sequence,
                                   .stamp_ms = now_ms,
                                   .argument_count = out->argument_count,
                                   .arguments = out->arguments};
    connection->waiting_replica = true;
    return stoa_replica_write(connection->server->options.replica, &command,
                              connection->write_mode, &connection->waiter);
}

/* In a replica group: answered at once, or the connection waits for the group. */
static int run_replicated_read(struct connection *connection,
                               const struct stoa_commands_output *out, int64_t now_ms) {
    connection->waiting_replica = true;
    if (stoa_replica_read(connection->server->options.replica, now_ms, out->opcode,
                          out->arguments, out->argument_count, connection->read_mode,
                          &connection->waiter)) {
        connection->waiting_replica = false;
    }
    return STOA_OK;
}

/* Applies a translated write; its reply waits for the log (group commit at the hook). */
int stoa_server_run_write(struct connection *connection, const struct stoa_commands_output *out,
                          int64_t now_ms) {
    struct stoa_server *server = connection->server;
    struct stoa_command command = {.opcode = out->opcode,
                                   .client_id = out->client_id,
                                   .sequence = out->sequence,
                                   .stamp_ms = now_ms,
                                   .argument_count = out->argument_count,
                                   .arguments = out->arguments};
    uint64_t index = 0;
    int result = stoa_engine_write(server->engine, &command, &connection->writer.reply, &index);
    if (index > connection->wait_index) {
        connection->wait_index = index;
    }
    server->writes_pending = true;
    return result;
}

/* Checks that the request may run now: AUTH first, DEBUG only when enabled. */
static bool allowed(struct connection *connection, const struct stoa_commands_spec *spec) {
    if (!connection->authenticated && (spec->flags & STOA_COMMANDS_FLAG_NO_AUTH) == 0) {
        reply_error(connection, STOA_ERR_PERMISSION, "NOAUTH Authentication required.");
        return false;
    }
    if ((spec->flags & STOA_COMMANDS_FLAG_PROTECTED) != 0 &&
        !connection->server->options.debug_enabled) {
        reply_error(connection, STOA_ERR_PERMISSION,
                    "ERR DEBUG command not allowed. Set resp.debugCommands to true in the "
                    "configuration and restart the node to use it.");
        return false;
    }
    return true;
}

static int run(struct connection *connection, const struct stoa_commands_spec *spec,
               const struct stoa_command_argument *argv, size_t argc);

void stoa_server_execute(struct connection *connection, const struct stoa_command_argument *argv,
                         size_t argc) {
    struct stoa_server *server = connection->server;
    struct stoa_commands_output *out = &server->translated;
    server->stats.commands++;
    connection->commands++;
    const struct stoa_commands_spec *spec = connection->last_spec;
    if (spec == NULL || !name_is(spec, &argv[0])) {
        if (stoa_commands_find(argv, argc, STOA_COMMANDS_DOOR_RESP, out, &spec) != STOA_OK) {
            reply_error(connection, out->error_code, out->error);
            return;
        }
        /* Clients repeat commands: remember a plain one (not a container, whose spec
         * depends on the next word) to skip the table search next time. */
        connection->last_spec =
            spec->container == spec->id && (spec->flags & STOA_COMMANDS_FLAG_CONTAINER) == 0 ? spec
                                                                                             : NULL;
    }
    remember_name(connection, spec);
    if (!allowed(connection, spec)) {
        return;
    }
    int64_t start_ns = stoa_env_monotonic_ns(server->env);
    int result = run(connection, spec, argv, argc);
    struct command_stat *stat = &server->command_stats[spec->id];
    stat->calls++;
    stat->failed += result != STOA_OK;
    stat->usec += (uint64_t)(stoa_env_monotonic_ns(server->env) - start_ns) / 1000;
}

/* Translates and runs an allowed request. Returns 0, or the error it replied. */
static int run(struct connection *connection, const struct stoa_commands_spec *spec,
               const struct stoa_command_argument *argv, size_t argc) {
    struct stoa_server *server = connection->server;
    struct stoa_commands_output *out = &server->translated;
    int64_t now_ms = stoa_env_real_ms(server->env);
    uint64_t random = 0;
    if (spec->id == STOA_COMMANDS_RANDOMKEY) {
        stoa_env_random_bytes(server->env, &random, sizeof(random));
    }
    if (stoa_commands_translate(spec, argv, argc, now_ms, random, out) != STOA_OK) {
        reply_error(connection, out->error_code, out->error);
        return out->error_code;
    }
    if (server->options.replica != NULL) {
        if (out->kind == STOA_COMMANDS_KIND_WRITE) {
            return stoa_server_run_replicated_write(connection, out, now_ms);
        }
        if (out->kind == STOA_COMMANDS_KIND_READ) {
            return run_replicated_read(connection, out, now_ms);
        }
    }
    switch (out->kind) {
    case STOA_COMMANDS_KIND_WRITE: {
        int result = stoa_server_run_write(connection, out, now_ms);
        stoa_server_blocked_wake(server);
        return result;
    }
    case STOA_COMMANDS_KIND_READ:
        return stoa_engine_query(server->engine, now_ms, out->opcode, out->arguments,
                                 out->argument_count, &connection->writer.reply);
    case STOA_COMMANDS_KIND_BLOCKING:
        stoa_server_block(connection, out, now_ms);
        return STOA_OK;
    case STOA_COMMANDS_KIND_SERVER:
        stoa_server_admin(connection, out);
        return STOA_OK;
    case STOA_COMMANDS_KIND_NONE:
    case STOA_COMMANDS_KIND_ERROR:
        break;
    }
    STOA_UNREACHABLE();
}

void stoa_server_command_stat(const struct stoa_server *server, int id,
                              struct stoa_server_command_stat *stat) {
    STOA_ASSERT(server != NULL && stat != NULL && id >= 0 && id < STOA_COMMANDS_COUNT);
    const struct command_stat *kept = &server->command_stats[id];
    *stat = (struct stoa_server_command_stat){
        .calls = kept->calls, .failed = kept->failed, .usec = kept->usec};
}
