/* The server's own commands: connection (PING ECHO QUIT RESET HELLO AUTH SELECT CLIENT),
 * introspection (COMMAND INFO TIME CONFIG) and persistence (SAVE BGSAVE LASTSAVE SHUTDOWN,
 * DEBUG). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "server/server_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

/* The Redis version whose commands and replies stoa follows, reported where clients look
 * for a Redis version (HELLO, INFO's redis_version); stoa's own version is beside it. */
#define REDIS_COMPATIBLE_VERSION "7.0.0"

static struct stoa_reply *reply_of(struct connection *connection) {
    return &connection->writer.reply;
}

static void status(struct connection *connection, const char *text) {
    reply_of(connection)->ops->status(reply_of(connection), text);
}

static void error(struct connection *connection, int code, const char *text) {
    reply_of(connection)->ops->error(reply_of(connection), code, text);
}

static void bulk_text(struct connection *connection, const char *text) {
    reply_of(connection)->ops->bulk(reply_of(connection), (const uint8_t *)text, strlen(text));
}

static void integer(struct connection *connection, int64_t value) {
    reply_of(connection)->ops->integer(reply_of(connection), value);
}

static uint8_t lower(uint8_t c) {
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Whether argument is word (lower case), in any case. */
static bool argument_is(const struct stoa_command_argument *argument, const char *word) {
    size_t length = strlen(word);
    if (argument->length != length) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        if (lower(argument->data[i]) != (uint8_t)word[i]) {
            return false;
        }
    }
    return true;
}

/* Compares in time independent of where the first difference is. */
static bool password_matches(const struct stoa_server *server,
                             const struct stoa_command_argument *given) {
    size_t length = strlen(server->password);
    uint8_t difference = (uint8_t)(given->length != length);
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = i < given->length ? given->data[i] : 0;
        difference |= (uint8_t)(byte ^ (uint8_t)server->password[i]);
    }
    return difference == 0;
}

/* AUTH and HELLO's AUTH: Redis's errors and effects. Returns true if authenticated. */
static bool authenticate(struct connection *connection, const struct stoa_command_argument *user,
                         const struct stoa_command_argument *password) {
    struct stoa_server *server = connection->server;
    if (server->password[0] == '\0' && user == NULL) {
        error(connection, STOA_ERR_INVALID,
              "ERR AUTH <password> called without any password configured for the default "
              "user. Are you sure your configuration is correct?");
        return false;
    }
    if (server->password[0] == '\0' && argument_is(user, "default")) {
        /* Without a password the default user takes any password, as in Redis. */
        connection->authenticated = true;
        return true;
    }
    if ((user != NULL && !argument_is(user, "default")) || !password_matches(server, password)) {
        error(connection, STOA_ERR_PERMISSION,
              "WRONGPASS invalid username-password pair or user is disabled.");
        return false;
    }
    connection->authenticated = true;
    return true;
}

static void command_auth(struct connection *connection, const struct stoa_commands_output *out) {
    const struct stoa_command_argument *user = out->argument_count == 2 ? &out->arguments[0] : NULL;
    if (authenticate(connection, user, &out->arguments[out->argument_count - 1])) {
        status(connection, "OK");
    }
}

static bool name_is_valid(const struct stoa_command_argument *name) {
    for (size_t i = 0; i < name->length; i++) {
        if (name->data[i] < '!' || name->data[i] > '~') {
            return false;
        }
    }
    return name->length <= STOA_SERVER_CLIENT_NAME_BYTES_MAX;
}

static bool set_name(struct connection *connection, const struct stoa_command_argument *name) {
    if (!name_is_valid(name)) {
        error(connection, STOA_ERR_INVALID,
              "ERR Client names cannot contain spaces, newlines or special characters.");
        return false;
    }
    memcpy(connection->name, name->data, name->length);
    connection->name[name->length] = '\0';
    return true;
}

static void write_map(struct connection *connection, size_t count) {
    stoa_resp_write_map(&connection->writer, count);
}

static void command_hello(struct connection *connection, const struct stoa_commands_output *out) {
    if (out->number != 0 && out->number != 2 && out->number != 3) {
        error(connection, STOA_ERR_UNSUPPORTED, "NOPROTO unsupported protocol version");
        return;
    }
    if ((out->server_flags & STOA_COMMANDS_HELLO_AUTH) != 0 &&
        !authenticate(connection, &out->arguments[0], &out->arguments[1])) {
        return;
    }
    if (!connection->authenticated) {
        error(connection, STOA_ERR_PERMISSION,
              "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
              "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client "
              "and select the RESP protocol version at the same time");
        return;
    }
    if ((out->server_flags & STOA_COMMANDS_HELLO_SETNAME) != 0 &&
        !set_name(connection, &out->arguments[2])) {
        return;
    }
    if (out->number != 0) {
        connection->protocol = (int)out->number;
        stoa_resp_writer_set_version(&connection->writer, connection->protocol);
    }
    write_map(connection, 7);
    bulk_text(connection, "server");
    bulk_text(connection, "stoa");
    bulk_text(connection, "version");
    bulk_text(connection, REDIS_COMPATIBLE_VERSION);
    bulk_text(connection, "proto");
    integer(connection, connection->protocol);
    bulk_text(connection, "id");
    integer(connection, (int64_t)connection->id);
    bulk_text(connection, "mode");
    bulk_text(connection, "standalone");
    bulk_text(connection, "role");
    bulk_text(connection, "master");
    bulk_text(connection, "modules");
    reply_of(connection)->ops->array(reply_of(connection), 0);
}

static void command_reset(struct connection *connection) {
    connection->protocol = 2;
    stoa_resp_writer_set_version(&connection->writer, STOA_RESP_VERSION_2);
    connection->name[0] = '\0';
    connection->authenticated = connection->server->password[0] == '\0';
    status(connection, "RESET");
}

/* ---- CLIENT ---- */

/* One CLIENT LIST line (without the newline) into text. */
static size_t client_line(const struct connection *c, int64_t now_ms, char *text, size_t capacity) {
    int length = snprintf(text, capacity,
                          "id=%llu addr=%s laddr= fd=0 name=%s age=%lld idle=%lld flags=%s db=0 "
                          "sub=0 psub=0 ssub=0 multi=-1 qbuf=%zu qbuf-free=0 argv-mem=0 "
                          "multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=%zu tot-mem=0 events=r "
                          "cmd=%s user=default redir=-1 resp=%d",
                          (unsigned long long)c->id, c->peer, c->name,
                          (long long)((now_ms - c->created_ms) / 1000),
                          (long long)((now_ms - c->last_activity_ms) / 1000),
                          c->blocked ? "b" : "N", c->in.length, c->out.length + c->sending.length,
                          c->last_command[0] != '\0' ? c->last_command : "NULL", c->protocol);
    STOA_ASSERT(length > 0);
    return (size_t)length < capacity ? (size_t)length : capacity - 1;
}

static void client_list(struct connection *connection) {
    struct stoa_server *server = connection->server;
    int64_t now_ms = stoa_env_real_ms(server->env);
    struct stoa_buf text;
    stoa_buf_init(&text, STOA_SERVER_CLIENT_LIST_BYTES_MAX);
    char line[STOA_SERVER_CLIENT_LINE_BYTES_MAX];
    int result = STOA_OK;
    for (const struct connection *c = server->connections; c != NULL && result == STOA_OK;
         c = c->next) {
        size_t length = client_line(c, now_ms, line, sizeof(line) - 1);
        line[length++] = '\n';
        result = stoa_buf_append(&text, line, length);
    }
    if (result != STOA_OK) {
        error(connection, result, "ERR client list too long");
    } else {
        reply_of(connection)->ops->bulk(reply_of(connection), text.data, text.length);
    }
    stoa_buf_free(&text);
}

static bool kill_matches(const struct connection *c, const struct stoa_command_argument *filter,
                         const struct stoa_command_argument *value) {
    char text[STOA_ADDRESS_TEXT_BYTES_MAX + 24];
    if (argument_is(filter, "id")) {
        snprintf(text, sizeof(text), "%llu", (unsigned long long)c->id);
    } else if (argument_is(filter, "addr")) {
        snprintf(text, sizeof(text), "%s", c->peer);
    } else {
        return false;
    }
    return value->length == strlen(text) && memcmp(value->data, text, value->length) == 0;
}

static void client_kill(struct connection *connection, const struct stoa_commands_output *out) {
    bool old_form = out->argument_count == 1;
    if (!old_form && out->argument_count % 2 != 0) {
        error(connection, STOA_ERR_INVALID, "ERR syntax error");
        return;
    }
    if (!old_form && !argument_is(&out->arguments[0], "id") &&
        !argument_is(&out->arguments[0], "addr")) {
        error(connection, STOA_ERR_INVALID, "ERR syntax error");
        return;
    }
    static const struct stoa_command_argument addr = {(const uint8_t *)"addr", 4};
    const struct stoa_command_argument *filter = old_form ? &addr : &out->arguments[0];
    const struct stoa_command_argument *value = old_form ? &out->arguments[0] : &out->arguments[1];
    int64_t killed = 0;
    for (struct connection *c = connection->server->connections; c != NULL; c = c->next) {
        if (!c->closing && kill_matches(c, filter, value)) {
            stoa_server_close_later(c, "CLIENT KILL");
            killed++;
        }
    }
    if (!old_form) {
        integer(connection, killed);
    } else if (killed > 0) {
        status(connection, "OK");
    } else {
        error(connection, STOA_ERR_NOT_FOUND, "ERR No such client");
    }
}

void stoa_server_reply_lines(struct connection *connection, const char *const *lines,
                             size_t count) {
    reply_of(connection)->ops->array(reply_of(connection), count);
    for (size_t i = 0; i < count; i++) {
        status(connection, lines[i]);
    }
}

static void client_help(struct connection *connection) {
    static const char *const help[] = {
        "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GETNAME",
        "    Return the name of the current connection.",
        "ID",
        "    Return the ID of the current connection.",
        "INFO",
        "    Return information about the current client connection.",
        "KILL <ip:port> | ID <id> | ADDR <ip:port>",
        "    Kill connections.",
        "LIST",
        "    Return information about client connections.",
        "SETNAME <name>",
        "    Assign the name <name> to the current connection."};
    stoa_server_reply_lines(connection, help, sizeof(help) / sizeof(help[0]));
}

static void client_info(struct connection *connection) {
    char line[STOA_SERVER_CLIENT_LINE_BYTES_MAX];
    size_t length =
        client_line(connection, stoa_env_real_ms(connection->server->env), line, sizeof(line) - 1);
    line[length++] = '\n';
    reply_of(connection)->ops->bulk(reply_of(connection), (const uint8_t *)line, length);
}

static void command_client(struct connection *connection, const struct stoa_commands_output *out) {
    enum stoa_commands_id id = out->spec->id;
    if (id == STOA_COMMANDS_CLIENT_ID) {
        integer(connection, (int64_t)connection->id);
    } else if (id == STOA_COMMANDS_CLIENT_SETNAME) {
        if (set_name(connection, &out->arguments[0])) {
            status(connection, "OK");
        }
    } else if (id == STOA_COMMANDS_CLIENT_GETNAME && connection->name[0] == '\0') {
        reply_of(connection)->ops->null_bulk(reply_of(connection));
    } else if (id == STOA_COMMANDS_CLIENT_GETNAME) {
        bulk_text(connection, connection->name);
    } else if (id == STOA_COMMANDS_CLIENT_LIST) {
        client_list(connection);
    } else if (id == STOA_COMMANDS_CLIENT_INFO) {
        client_info(connection);
    } else if (id == STOA_COMMANDS_CLIENT_KILL) {
        client_kill(connection, out);
    } else {
        client_help(connection);
    }
}

/* ---- COMMAND ---- */

static bool top_level(const struct stoa_commands_spec *spec) {
    return strchr(spec->name, '|') == NULL && (spec->doors & STOA_COMMANDS_DOOR_RESP) != 0;
}

static size_t flag_count(uint32_t flags) {
    size_t count = 0;
    for (uint32_t bit = 1; bit != 0; bit <<= 1) {
        count += (flags & bit) != 0 && stoa_commands_flag_name(bit) != NULL;
    }
    return count;
}

static void command_info_entry(struct connection *connection,
                               const struct stoa_commands_spec *spec);

static void subcommand_infos(struct connection *connection,
                             const struct stoa_commands_spec *container) {
    size_t count = 0;
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        const struct stoa_commands_spec *spec = stoa_commands_spec(id);
        count += spec->container == container->id && spec->id != container->id;
    }
    reply_of(connection)->ops->array(reply_of(connection), count);
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        const struct stoa_commands_spec *spec = stoa_commands_spec(id);
        if (spec->container == container->id && spec->id != container->id) {
            command_info_entry(connection, spec);
        }
    }
}

/* Redis 7's COMMAND INFO entry: name, arity, flags, first/last/step, ACL categories,
 * tips, key specs, subcommands. */
static void command_info_entry(struct connection *connection,
                               const struct stoa_commands_spec *spec) {
    struct stoa_reply *reply = reply_of(connection);
    reply->ops->array(reply, 10);
    bulk_text(connection, spec->name);
    integer(connection, spec->arity);
    reply->ops->array(reply, flag_count(spec->flags));
    for (uint32_t bit = 1; bit != 0; bit <<= 1) {
        if ((spec->flags & bit) != 0 && stoa_commands_flag_name(bit) != NULL) {
            status(connection, stoa_commands_flag_name(bit));
        }
    }
    integer(connection, spec->first_key);
    integer(connection, spec->last_key);
    integer(connection, spec->key_step);
    reply->ops->array(reply, 0);
    reply->ops->array(reply, 0);
    reply->ops->array(reply, 0);
    if ((spec->flags & STOA_COMMANDS_FLAG_CONTAINER) != 0) {
        subcommand_infos(connection, spec);
    } else {
        reply->ops->array(reply, 0);
    }
}

static const struct stoa_commands_spec *find_spec(const struct stoa_command_argument *name) {
    return stoa_commands_lookup(name->data, name->length, STOA_COMMANDS_DOOR_RESP);
}

static void command_docs_entry(struct connection *connection,
                               const struct stoa_commands_spec *spec) {
    bulk_text(connection, spec->name);
    write_map(connection, 3);
    bulk_text(connection, "summary");
    bulk_text(connection, spec->summary);
    bulk_text(connection, "since");
    bulk_text(connection, "1.0.0");
    bulk_text(connection, "group");
    bulk_text(connection, (spec->flags & STOA_COMMANDS_FLAG_ADMIN) != 0 ? "server" : "generic");
}

static void command_command(struct connection *connection, const struct stoa_commands_output *out) {
    enum stoa_commands_id id = out->spec->id;
    size_t top_count = 0;
    for (int i = 0; i < STOA_COMMANDS_COUNT; i++) {
        top_count += top_level(stoa_commands_spec(i));
    }
    if (id == STOA_COMMANDS_COMMAND_COUNT) {
        integer(connection, (int64_t)top_count);
        return;
    }
    bool all = out->argument_count == 0;
    if (id == STOA_COMMANDS_COMMAND_DOCS) {
        size_t count = 0;
        for (size_t i = 0; i < out->argument_count; i++) {
            count += find_spec(&out->arguments[i]) != NULL;
        }
        write_map(connection, all ? top_count : count);
        for (int i = 0; all && i < STOA_COMMANDS_COUNT; i++) {
            if (top_level(stoa_commands_spec(i))) {
                command_docs_entry(connection, stoa_commands_spec(i));
            }
        }
        for (size_t i = 0; i < out->argument_count; i++) {
            const struct stoa_commands_spec *spec = find_spec(&out->arguments[i]);
            if (spec != NULL) {
                command_docs_entry(connection, spec);
            }
        }
        return;
    }
    if (id == STOA_COMMANDS_COMMAND_LIST) {
        reply_of(connection)->ops->array(reply_of(connection), top_count);
        for (int i = 0; i < STOA_COMMANDS_COUNT; i++) {
            if (top_level(stoa_commands_spec(i))) {
                bulk_text(connection, stoa_commands_spec(i)->name);
            }
        }
        return;
    }
    /* COMMAND and COMMAND INFO [name ...]: unknown names answer nil, as in Redis. */
    reply_of(connection)->ops->array(reply_of(connection), all ? top_count : out->argument_count);
    for (int i = 0; all && i < STOA_COMMANDS_COUNT; i++) {
        if (top_level(stoa_commands_spec(i))) {
            command_info_entry(connection, stoa_commands_spec(i));
        }
    }
    for (size_t i = 0; i < out->argument_count; i++) {
        const struct stoa_commands_spec *spec = find_spec(&out->arguments[i]);
        if (spec != NULL) {
            command_info_entry(connection, spec);
        } else {
            reply_of(connection)->ops->null_array(reply_of(connection));
        }
    }
}

/* ---- INFO ---- */

struct info {
    struct stoa_buf text;
    int result;
};

__attribute__((format(printf, 2, 3))) static void info_line(struct info *info, const char *format,
                                                            ...) {
    char line[STOA_SERVER_INFO_LINE_BYTES_MAX];
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(line, sizeof(line) - 2, format, arguments);
    va_end(arguments);
    if (length < 0 || info->result != STOA_OK) {
        return;
    }
    size_t used = (size_t)length < sizeof(line) - 2 ? (size_t)length : sizeof(line) - 3;
    line[used++] = '\r';
    line[used++] = '\n';
    info->result = stoa_buf_append(&info->text, line, used);
}

static bool wanted(const struct stoa_commands_output *out, const char *section, bool by_default) {
    if (out->argument_count == 0) {
        return by_default;
    }
    for (size_t i = 0; i < out->argument_count; i++) {
        if (argument_is(&out->arguments[i], section) || argument_is(&out->arguments[i], "all") ||
            argument_is(&out->arguments[i], "everything") ||
            (by_default && argument_is(&out->arguments[i], "default"))) {
            return true;
        }
    }
    return false;
}

static void info_server(struct info *info, const struct stoa_server *server, int64_t now_ms) {
    info_line(info, "# Server");
    info_line(info, "redis_version:%s", REDIS_COMPATIBLE_VERSION);
    info_line(info, "stoa_version:%s", STOA_VERSION);
    info_line(info, "redis_mode:standalone");
    info_line(info, "node_id:%s", server->options.node_id != NULL ? server->options.node_id : "");
    info_line(info, "tcp_port:%u", (unsigned)server->address.port);
    info_line(info, "uptime_in_seconds:%lld", (long long)((now_ms - server->started_ms) / 1000));
    info_line(info, "%s", "");
}

static void info_clients(struct info *info, const struct stoa_server *server) {
    info_line(info, "# Clients");
    info_line(info, "connected_clients:%llu",
              (unsigned long long)server->stats.connections_current);
    info_line(info, "maxclients:%zu", server->options.clients_max);
    info_line(info, "blocked_clients:%zu", server->blocked_count);
    info_line(info, "%s", "");
}

static void info_memory(struct info *info, const struct stoa_server *server) {
    struct stoa_alloc_stats alloc;
    stoa_alloc_stats(&alloc);
    const struct stoa_keyspace *keyspace = stoa_engine_keyspace(server->engine);
    info_line(info, "# Memory");
    info_line(info, "used_memory:%llu", (unsigned long long)alloc.live_bytes);
    info_line(info, "used_memory_dataset:%zu", stoa_keyspace_used_bytes(keyspace));
    info_line(info, "maxmemory:%zu", stoa_engine_memory_limit(server->engine));
    info_line(info, "maxmemory_policy:%s",
              stoa_engine_eviction(server->engine) == STOA_KEYSPACE_EVICT_VOLATILE_TTL
                  ? "volatile-ttl"
                  : "noeviction");
    info_line(info, "%s", "");
}

static void info_persistence(struct info *info, const struct stoa_server *server) {
    struct stoa_engine_stats stats;
    stoa_engine_stats(server->engine, &stats);
    info_line(info, "# Persistence");
    info_line(info, "loading:0");
    info_line(info, "rdb_bgsave_in_progress:%d", stats.snapshot_running ? 1 : 0);
    info_line(info, "rdb_last_save_time:%lld", (long long)(stats.snapshot_created_ms / 1000));
    info_line(info, "snapshot_index:%llu", (unsigned long long)stats.snapshot_index);
    info_line(info, "snapshots_written:%llu", (unsigned long long)stats.snapshots_written);
    info_line(info, "log_applied_index:%llu", (unsigned long long)stats.applied_index);
    info_line(info, "log_durable_index:%llu", (unsigned long long)stats.durable_index);
    info_line(info, "log_bytes_written:%llu", (unsigned long long)stats.log_bytes);
    info_line(info, "log_group_commits:%llu", (unsigned long long)stats.flushes);
    info_line(info, "log_failed:%d", stats.failure != 0 ? 1 : 0);
    info_line(info, "group_commits:%llu", (unsigned long long)server->flush_count);
    info_line(info, "group_commit_usec_last:%llu", (unsigned long long)server->flush_usec_last);
    info_line(info, "group_commit_usec_max:%llu", (unsigned long long)server->flush_usec_max);
    info_line(info, "group_commit_usec_avg:%llu",
              (unsigned long long)(server->flush_count > 0
                                       ? server->flush_usec_total / server->flush_count
                                       : 0));
    info_line(info, "%s", "");
}

static void info_stats(struct info *info, const struct stoa_server *server) {
    const struct stoa_keyspace *keyspace = stoa_engine_keyspace(server->engine);
    info_line(info, "# Stats");
    info_line(info, "total_connections_received:%llu",
              (unsigned long long)server->stats.connections_accepted);
    info_line(info, "total_commands_processed:%llu", (unsigned long long)server->stats.commands);
    info_line(info, "rejected_connections:%llu",
              (unsigned long long)server->stats.connections_rejected);
    info_line(info, "expired_keys:%llu", (unsigned long long)stoa_keyspace_expired_count(keyspace));
    info_line(info, "evicted_keys:%llu", (unsigned long long)stoa_keyspace_evicted_count(keyspace));
    info_line(info, "protocol_errors:%llu", (unsigned long long)server->stats.protocol_errors);
    info_line(info, "%s", "");
}

/* Redis's role words for a single node; a group member's role, ballot, indexes, its peers'
 * progress and the replica's counters (docs/replication.md). */
static void info_replication(struct info *info, const struct stoa_server *server) {
    info_line(info, "# Replication");
    const struct stoa_replica *replica = server->options.replica;
    if (replica == NULL) {
        info_line(info, "role:master");
        info_line(info, "connected_slaves:0");
        info_line(info, "%s", "");
        return;
    }
    struct stoa_paxos_status status;
    stoa_replica_status(replica, &status);
    struct stoa_replica_stats stats;
    stoa_replica_stats(replica, &stats);
    static const char *const roles[] = {"follower", "candidate", "leader"};
    info_line(info, "role:%s", roles[status.role]);
    info_line(info, "group_self:%u", status.self_id);
    info_line(info, "group_leader:%u", status.leader_id);
    info_line(info, "group_ballot:%llu.%u", (unsigned long long)status.ballot.round,
              status.ballot.node_id);
    info_line(info, "group_commit_index:%llu", (unsigned long long)status.commit_index);
    info_line(info, "group_applied_index:%llu", (unsigned long long)status.applied_index);
    info_line(info, "group_snapshot_index:%llu", (unsigned long long)status.snapshot_index);
    for (uint32_t i = 0; i < status.member_count; i++) {
        const struct stoa_paxos_member_status *member = &status.members[i];
        info_line(info, "member%u:id=%u,voter=%d,match=%llu,lag=%llu,heard_ticks=%llu", i,
                  member->node_id, member->voter ? 1 : 0, (unsigned long long)member->match_slot,
                  (unsigned long long)member->lag, (unsigned long long)member->ticks_since_heard);
    }
    info_line(info, "group_proposals:%llu", (unsigned long long)stats.proposals);
    info_line(info, "group_batched_commands:%llu", (unsigned long long)stats.batched_commands);
    info_line(info, "group_forwarded_out:%llu", (unsigned long long)stats.forwarded_out);
    info_line(info, "group_forwarded_in:%llu", (unsigned long long)stats.forwarded_in);
    info_line(info, "group_lease_reads:%llu", (unsigned long long)stats.lease_reads);
    info_line(info, "group_index_reads:%llu", (unsigned long long)stats.index_reads);
    info_line(info, "group_not_applied:%llu", (unsigned long long)stats.not_applied);
    info_line(info, "group_timeouts:%llu", (unsigned long long)stats.timeouts);
    info_line(info, "group_journal_flushes:%llu", (unsigned long long)stats.journal_flushes);
    info_line(info, "group_journal_flush_usec_avg:%llu",
              (unsigned long long)(stats.journal_flushes > 0
                                       ? stats.journal_flush_usec_total / stats.journal_flushes
                                       : 0));
    info_line(info, "group_snapshots_sent:%llu", (unsigned long long)stats.snapshots_sent);
    info_line(info, "group_snapshots_installed:%llu",
              (unsigned long long)stats.snapshots_installed);
    info_line(info, "group_snapshots_started:%llu", (unsigned long long)stats.snapshots_started);
    info_line(info, "group_fast_writes:%llu", (unsigned long long)stats.fast_writes);
    info_line(info, "group_fast_writes_lost:%llu", (unsigned long long)stats.fast_writes_lost);
    info_line(info, "group_fast_speculative:%llu", (unsigned long long)stats.fast_speculative);
    info_line(info, "group_speculation_starts:%llu",
              (unsigned long long)stats.speculation_starts);
    info_line(info, "group_speculation_stops:%llu", (unsigned long long)stats.speculation_stops);
    info_line(info, "group_speculation_mismatches:%llu",
              (unsigned long long)stats.speculation_mismatches);
    info_line(info, "group_clock_entries:%llu", (unsigned long long)stats.clock_entries);
    info_line(info, "%s", "");
}

/* Redis's cmdstat lines: calls, time spent (not counting the group commit), failures. */
static void info_commandstats(struct info *info, const struct stoa_server *server) {
    info_line(info, "# Commandstats");
    for (int id = 0; id < STOA_COMMANDS_COUNT; id++) {
        const struct command_stat *stat = &server->command_stats[id];
        if (stat->calls == 0) {
            continue;
        }
        const struct stoa_commands_spec *spec = stoa_commands_spec((enum stoa_commands_id)id);
        info_line(info,
                  "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=0,"
                  "failed_calls=%llu",
                  spec->name, (unsigned long long)stat->calls, (unsigned long long)stat->usec,
                  (double)stat->usec / (double)stat->calls, (unsigned long long)stat->failed);
    }
    info_line(info, "%s", "");
}

static void command_info(struct connection *connection, const struct stoa_commands_output *out) {
    struct stoa_server *server = connection->server;
    struct info info = {.result = STOA_OK};
    stoa_buf_init(&info.text, STOA_SERVER_INFO_BYTES_MAX);
    int64_t now_ms = stoa_env_real_ms(server->env);
    if (wanted(out, "server", true)) {
        info_server(&info, server, now_ms);
    }
    if (wanted(out, "clients", true)) {
        info_clients(&info, server);
    }
    if (wanted(out, "memory", true)) {
        info_memory(&info, server);
    }
    if (wanted(out, "persistence", true)) {
        info_persistence(&info, server);
    }
    if (wanted(out, "stats", true)) {
        info_stats(&info, server);
    }
    if (wanted(out, "replication", true)) {
        info_replication(&info, server);
    }
    if (wanted(out, "commandstats", false)) {
        info_commandstats(&info, server);
    }
    if (wanted(out, "keyspace", true)) {
        const struct stoa_keyspace *keyspace = stoa_engine_keyspace(server->engine);
        info_line(&info, "# Keyspace");
        if (stoa_keyspace_count(keyspace) > 0) {
            info_line(&info, "db0:keys=%zu,expires=%zu,avg_ttl=0", stoa_keyspace_count(keyspace),
                      stoa_keyspace_volatile_count(keyspace));
        }
    }
    if (info.result != STOA_OK) {
        error(connection, info.result, "ERR INFO text too long");
    } else {
        reply_of(connection)->ops->bulk(reply_of(connection), info.text.data, info.text.length);
    }
    stoa_buf_free(&info.text);
}

/* ---- CONFIG ---- */

/* The CONFIG parameters stoa answers, with Redis's names. */
static const char *const config_names[] = {
    "maxmemory", "maxmemory-policy", "maxclients", "timeout",     "appendonly", "appendfsync",
    "save",      "databases",        "port",       "requirepass",
};
#define CONFIG_NAME_COUNT (sizeof(config_names) / sizeof(config_names[0]))

static void config_value(const struct stoa_server *server, size_t index, char *text,
                         size_t capacity) {
    enum stoa_engine_durability durability = stoa_engine_durability(server->engine);
    switch (index) {
    case 0:
        snprintf(text, capacity, "%zu", stoa_engine_memory_limit(server->engine));
        return;
    case 1:
        snprintf(text, capacity, "%s",
                 stoa_engine_eviction(server->engine) == STOA_KEYSPACE_EVICT_VOLATILE_TTL
                     ? "volatile-ttl"
                     : "noeviction");
        return;
    case 2:
        snprintf(text, capacity, "%zu", server->options.clients_max);
        return;
    case 3:
        snprintf(text, capacity, "%lld", (long long)(server->options.idle_timeout_ms / 1000));
        return;
    case 4:
        snprintf(text, capacity, "%s", durability == STOA_ENGINE_DURABILITY_NONE ? "no" : "yes");
        return;
    case 5:
        snprintf(text, capacity, "%s",
                 durability == STOA_ENGINE_DURABILITY_ALWAYS     ? "always"
                 : durability == STOA_ENGINE_DURABILITY_EVERYSEC ? "everysec"
                                                                 : "no");
        return;
    case 6:
        text[0] = '\0';
        return;
    case 7:
        snprintf(text, capacity, "1");
        return;
    case 8:
        snprintf(text, capacity, "%u", (unsigned)server->address.port);
        return;
    default:
        snprintf(text, capacity, "%s", server->password);
        return;
    }
}

static bool config_matches(const struct stoa_commands_output *out, const char *name) {
    for (size_t i = 0; i < out->argument_count; i++) {
        if (stoa_query_glob_match(out->arguments[i].data, out->arguments[i].length,
                                  (const uint8_t *)name, strlen(name))) {
            return true;
        }
    }
    return false;
}

static void config_get(struct connection *connection, const struct stoa_commands_output *out) {
    size_t count = 0;
    for (size_t i = 0; i < CONFIG_NAME_COUNT; i++) {
        count += config_matches(out, config_names[i]);
    }
    write_map(connection, count);
    char value[STOA_SERVER_PASSWORD_BYTES_MAX + 32];
    for (size_t i = 0; i < CONFIG_NAME_COUNT; i++) {
        if (config_matches(out, config_names[i])) {
            bulk_text(connection, config_names[i]);
            config_value(connection->server, i, value, sizeof(value));
            bulk_text(connection, value);
        }
    }
}

/* Parses a non-negative byte count with Redis's optional unit (k kb m mb g gb). */
static bool parse_bytes(const struct stoa_command_argument *text, int64_t *bytes) {
    static const struct {
        const char *unit;
        int64_t scale;
    } units[] = {{"kb", 1024},
                 {"k", 1000},
                 {"mb", 1024 * 1024},
                 {"m", 1000000},
                 {"gb", 1024LL * 1024 * 1024},
                 {"g", 1000000000LL}};
    size_t digits = 0;
    while (digits < text->length && text->data[digits] >= '0' && text->data[digits] <= '9') {
        digits++;
    }
    int64_t value = 0;
    if (digits == 0 || stoa_commands_parse_int64(text->data, digits, &value) != STOA_OK) {
        return false;
    }
    struct stoa_command_argument unit = {text->data + digits, text->length - digits};
    int64_t scale = unit.length == 0 ? 1 : 0;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && scale == 0; i++) {
        scale = argument_is(&unit, units[i].unit) ? units[i].scale : 0;
    }
    if (scale == 0 || value > INT64_MAX / scale) {
        return false;
    }
    *bytes = value * scale;
    return true;
}

/* Redis's words for a value CONFIG SET cannot take, by parameter. */
static void config_set_failed(struct connection *connection,
                              const struct stoa_command_argument *name) {
    const char *why = argument_is(name, "maxmemory") ? "argument must be a memory value"
                      : argument_is(name, "maxmemory-policy")
                          ? "argument(s) must be one of the following: noeviction, volatile-ttl"
                          : "argument couldn't be parsed into an integer";
    char text[STOA_REPLY_TEXT_BYTES_MAX];
    snprintf(text, sizeof(text), "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
             (int)(name->length > 64 ? 64 : name->length), (const char *)name->data, why);
    error(connection, STOA_ERR_INVALID, text);
}

static void config_set(struct connection *connection, const struct stoa_commands_output *out) {
    struct stoa_server *server = connection->server;
    const struct stoa_command_argument *name = &out->arguments[0];
    const struct stoa_command_argument *value = &out->arguments[1];
    int64_t number = 0;
    if (out->argument_count != 2) {
        error(connection, STOA_ERR_INVALID,
              "ERR wrong number of arguments for 'config|set' command");
    } else if (argument_is(name, "maxmemory") && parse_bytes(value, &number)) {
        stoa_engine_memory_limit_set(server->engine, (size_t)number,
                                     stoa_engine_eviction(server->engine));
        status(connection, "OK");
    } else if (argument_is(name, "maxmemory-policy") &&
               (argument_is(value, "noeviction") || argument_is(value, "volatile-ttl"))) {
        stoa_engine_memory_limit_set(server->engine, stoa_engine_memory_limit(server->engine),
                                     argument_is(value, "noeviction")
                                         ? STOA_KEYSPACE_EVICT_NONE
                                         : STOA_KEYSPACE_EVICT_VOLATILE_TTL);
        status(connection, "OK");
    } else if (argument_is(name, "timeout") &&
               stoa_commands_parse_int64(value->data, value->length, &number) == STOA_OK &&
               number >= 0 && number <= INT32_MAX) {
        server->options.idle_timeout_ms = number * 1000;
        status(connection, "OK");
    } else if (argument_is(name, "maxclients") &&
               stoa_commands_parse_int64(value->data, value->length, &number) == STOA_OK &&
               number >= 1 && number <= STOA_SERVER_CLIENTS_MAX) {
        server->options.clients_max = (size_t)number;
        status(connection, "OK");
    } else if (argument_is(name, "maxmemory") || argument_is(name, "maxmemory-policy") ||
               argument_is(name, "timeout") || argument_is(name, "maxclients")) {
        config_set_failed(connection, name);
    } else {
        char text[STOA_REPLY_TEXT_BYTES_MAX];
        snprintf(text, sizeof(text),
                 "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
                 (int)(name->length > 64 ? 64 : name->length), (const char *)name->data);
        error(connection, STOA_ERR_INVALID, text);
    }
}

/* ---- persistence and the rest ---- */

static void command_bgsave(struct connection *connection, bool wait) {
    struct stoa_server *server = connection->server;
    int result = stoa_engine_snapshot_start(server->engine);
    if (result == STOA_ERR_BUSY) {
        error(connection, result, "ERR Background save already in progress");
        return;
    }
    if (result != STOA_OK) {
        char text[STOA_REPLY_TEXT_BYTES_MAX];
        snprintf(text, sizeof(text), "ERR cannot start a snapshot: %s", stoa_err_message(result));
        error(connection, result, text);
        return;
    }
    if (!wait) {
        status(connection, "Background saving started");
        return;
    }
    /* SAVE answers when the snapshot is installed: the connection waits (see server.c). */
    struct stoa_engine_stats stats;
    stoa_engine_stats(server->engine, &stats);
    connection->waiting_save = true;
    connection->snapshots_before_save = stats.snapshots_written;
    server->saves_waiting++;
}

static void command_time(struct connection *connection) {
    int64_t now_us = stoa_env_real_us(connection->server->env);
    char seconds[24];
    char micros[24];
    snprintf(seconds, sizeof(seconds), "%lld", (long long)(now_us / 1000000));
    snprintf(micros, sizeof(micros), "%lld", (long long)(now_us % 1000000));
    reply_of(connection)->ops->array(reply_of(connection), 2);
    bulk_text(connection, seconds);
    bulk_text(connection, micros);
}

static void command_debug(struct connection *connection, const struct stoa_commands_output *out) {
    if (out->argument_count >= 1 && argument_is(&out->arguments[0], "digest")) {
        uint64_t digest = stoa_keyspace_digest(stoa_engine_keyspace(connection->server->engine),
                                               stoa_env_real_ms(connection->server->env));
        char text[24];
        snprintf(text, sizeof(text), "%016llx", (unsigned long long)digest);
        status(connection, text);
        return;
    }
    if (out->argument_count >= 1 && argument_is(&out->arguments[0], "help")) {
        reply_of(connection)->ops->array(reply_of(connection), 2);
        status(connection, "DIGEST");
        status(connection, "    Output a hex signature of the current dataset.");
        return;
    }
    error(connection, STOA_ERR_UNSUPPORTED,
          "ERR unknown subcommand or wrong number of arguments "
          "for 'debug'. Try DEBUG HELP.");
}

static void command_shutdown(struct connection *connection,
                             const struct stoa_commands_output *out) {
    struct stoa_server *server = connection->server;
    if ((out->server_flags & STOA_COMMANDS_SHUTDOWN_ABORT) != 0) {
        error(connection, STOA_ERR_INVALID, "ERR No shutdown in progress.");
        return;
    }
    if (server->options.on_shutdown == NULL) {
        error(connection, STOA_ERR_UNSUPPORTED, "ERR SHUTDOWN is not available on this node");
        return;
    }
    STOA_LOG_WARN(server->log, "server", "SHUTDOWN asked by a client",
                  STOA_FIELD_UINT("client", connection->id),
                  STOA_FIELD_STR("peer", connection->peer));
    /* As in Redis, a successful SHUTDOWN has no reply: the connection closes. */
    server->options.on_shutdown(server->options.shutdown_context);
}

static void session_help(struct connection *connection) {
    static const char *const lines[] = {
        "SESSION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "REGISTER",
        "    Register a client session through the log; returns its client id.",
        "WRITE <client-id> <sequence> <command> [<arg> ...]",
        "    Run a write command as this sequence of the session (1, 2, 3, ...). A retry of",
        "    the last sequence gets the recorded reply and is not applied again.",
        "HELP",
        "    Print this help.",
    };
    stoa_server_reply_lines(connection, lines, sizeof(lines) / sizeof(lines[0]));
}

void stoa_server_admin(struct connection *connection, const struct stoa_commands_output *out) {
    struct stoa_server *server = connection->server;
    enum stoa_commands_id id = out->spec->id;
    if (out->spec->container == STOA_COMMANDS_CLIENT) {
        command_client(connection, out);
    } else if (out->spec->container == STOA_COMMANDS_GROUP || id == STOA_COMMANDS_READONLY ||
               id == STOA_COMMANDS_READWRITE || id == STOA_COMMANDS_WRITEMODE) {
        stoa_server_group(connection, out);
    } else if (id == STOA_COMMANDS_SESSION_HELP) {
        session_help(connection);
    } else if (out->spec->container == STOA_COMMANDS_COMMAND) {
        command_command(connection, out);
    } else if (id == STOA_COMMANDS_CONFIG_GET) {
        config_get(connection, out);
    } else if (id == STOA_COMMANDS_CONFIG_SET) {
        config_set(connection, out);
    } else if (id == STOA_COMMANDS_CONFIG_RESETSTAT) {
        server->stats.commands = 0;
        server->stats.protocol_errors = 0;
        memset(server->command_stats, 0, sizeof(server->command_stats));
        server->flush_count = 0;
        server->flush_usec_total = 0;
        server->flush_usec_max = 0;
        status(connection, "OK");
    } else if (id == STOA_COMMANDS_PING) {
        if (out->argument_count == 0) {
            status(connection, "PONG");
        } else {
            reply_of(connection)
                ->ops->bulk(reply_of(connection), out->arguments[0].data, out->arguments[0].length);
        }
    } else if (id == STOA_COMMANDS_ECHO) {
        reply_of(connection)
            ->ops->bulk(reply_of(connection), out->arguments[0].data, out->arguments[0].length);
    } else if (id == STOA_COMMANDS_QUIT) {
        status(connection, "OK");
        stoa_server_close_later(connection, "QUIT");
    } else if (id == STOA_COMMANDS_RESET) {
        command_reset(connection);
    } else if (id == STOA_COMMANDS_HELLO) {
        command_hello(connection, out);
    } else if (id == STOA_COMMANDS_AUTH) {
        command_auth(connection, out);
    } else if (id == STOA_COMMANDS_SELECT) {
        if (out->number == 0) {
            status(connection, "OK");
        } else {
            error(connection, STOA_ERR_RANGE, "ERR DB index is out of range");
        }
    } else if (id == STOA_COMMANDS_INFO) {
        command_info(connection, out);
    } else if (id == STOA_COMMANDS_TIME) {
        command_time(connection);
    } else if (id == STOA_COMMANDS_SAVE || id == STOA_COMMANDS_BGSAVE) {
        command_bgsave(connection, id == STOA_COMMANDS_SAVE);
    } else if (id == STOA_COMMANDS_LASTSAVE) {
        struct stoa_engine_stats stats;
        stoa_engine_stats(server->engine, &stats);
        integer(connection,
                (stats.snapshot_created_ms != 0 ? stats.snapshot_created_ms : server->started_ms) /
                    1000);
    } else if (id == STOA_COMMANDS_SHUTDOWN) {
        command_shutdown(connection, out);
    } else if (id == STOA_COMMANDS_DEBUG) {
        command_debug(connection, out);
    } else {
        error(connection, STOA_ERR_UNSUPPORTED, "ERR this command is not served by this node");
    }
}
