/* The replica group's commands on the RESP door: GROUP STATUS, GROUP PREPARE, GROUP HELP,
 * READONLY and READWRITE (docs/replication.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "server/server_int.h"
#include "util/err.h"

static struct stoa_reply *reply_of(struct connection *connection) {
    return &connection->writer.reply;
}

static void field_text(struct connection *connection, const char *name, const char *value) {
    struct stoa_reply *reply = reply_of(connection);
    reply->ops->bulk(reply, (const uint8_t *)name, strlen(name));
    reply->ops->bulk(reply, (const uint8_t *)value, strlen(value));
}

static void field_integer(struct connection *connection, const char *name, uint64_t value) {
    struct stoa_reply *reply = reply_of(connection);
    reply->ops->bulk(reply, (const uint8_t *)name, strlen(name));
    reply->ops->integer(reply, value > INT64_MAX ? INT64_MAX : (int64_t)value);
}

static const char *role_name(enum stoa_paxos_role role) {
    switch (role) {
    case STOA_PAXOS_FOLLOWER:
        return "follower";
    case STOA_PAXOS_CANDIDATE:
        return "candidate";
    case STOA_PAXOS_LEADER:
        return "leader";
    }
    return "unknown";
}

/* Each member as "id=<id> match=<slot> lag=<slots> heard_ticks=<ticks>". */
static void members(struct connection *connection, const struct stoa_paxos_status *status) {
    struct stoa_reply *reply = reply_of(connection);
    reply->ops->bulk(reply, (const uint8_t *)"members", 7);
    reply->ops->array(reply, status->member_count);
    for (uint32_t i = 0; i < status->member_count; i++) {
        const struct stoa_paxos_member_status *member = &status->members[i];
        char line[160];
        int length = snprintf(line, sizeof(line),
                              "id=%" PRIu32 " voter=%d match=%" PRIu64 " lag=%" PRIu64
                              " heard_ticks=%" PRIu64,
                              member->node_id, member->voter ? 1 : 0, member->match_slot,
                              member->lag, member->ticks_since_heard);
        reply->ops->bulk(reply, (const uint8_t *)line, (size_t)length);
    }
}

/* GROUP STATUS: a flat array of name, value pairs (a map in RESP3 clients' eyes). */
static void group_status(struct connection *connection) {
    struct stoa_replica *replica = connection->server->options.replica;
    struct stoa_reply *reply = reply_of(connection);
    if (replica == NULL) {
        reply->ops->array(reply, 4);
        field_text(connection, "role", "single");
        field_integer(connection, "members", 1);
        return;
    }
    struct stoa_paxos_status status;
    stoa_replica_status(replica, &status);
    char ballot[64];
    snprintf(ballot, sizeof(ballot), "%" PRIu64 ".%" PRIu32, status.ballot.round,
             status.ballot.node_id);
    char addresses[STOA_PEER_MEMBERS_TEXT_BYTES_MAX + 1];
    stoa_replica_addresses(replica, addresses, sizeof(addresses));
    reply->ops->array(reply, 2 * 11);
    field_text(connection, "role", role_name(status.role));
    field_integer(connection, "self", status.self_id);
    field_integer(connection, "leader", status.leader_id);
    field_text(connection, "ballot", ballot);
    field_integer(connection, "leader_ready", status.leader_ready ? 1 : 0);
    field_integer(connection, "commit_index", status.commit_index);
    field_integer(connection, "applied_index", status.applied_index);
    field_integer(connection, "snapshot_index", status.snapshot_index);
    field_integer(connection, "last_slot", status.last_slot);
    members(connection, &status);
    field_text(connection, "addresses", addresses);
}

static void group_help(struct connection *connection) {
    static const char *const lines[] = {
        "GROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "STATUS",
        "    Role, ballot, leader, commit and applied index, and each member's progress.",
        "PREPARE",
        "    Start an election now (Nomos's prepare).",
        "ADD <id> <host:port>",
        "    Add a voting member through the log (send it to the leader).",
        "REMOVE <id>",
        "    Remove a voting member through the log (send it to the leader).",
        "HELP",
        "    Print this help.",
    };
    struct stoa_reply *reply = reply_of(connection);
    size_t count = sizeof(lines) / sizeof(lines[0]);
    reply->ops->array(reply, count);
    for (size_t i = 0; i < count; i++) {
        reply->ops->status(reply, lines[i]);
    }
}

/* GROUP ADD id host:port, GROUP REMOVE id: run by the leader (this member forwards them
 * there); the answer, OK once proposed, comes back through the connection's waiter. */
static void group_change(struct connection *connection, struct stoa_replica *replica,
                         const struct stoa_commands_output *out) {
    struct stoa_reply *reply = reply_of(connection);
    int64_t id = 0;
    if (stoa_commands_parse_int64(out->arguments[0].data, out->arguments[0].length, &id) !=
            STOA_OK ||
        id <= 0 || (uint64_t)id > STOA_PEER_NODE_ID_MAX) {
        reply->ops->error(reply, STOA_ERR_INVALID, "ERR the member id must be 1..4294967295");
        return;
    }
    bool add = out->spec->id == STOA_COMMANDS_GROUP_ADD;
    struct stoa_address address;
    if (add && stoa_address_parse((const char *)out->arguments[1].data,
                                  out->arguments[1].length, &address) != STOA_OK) {
        reply->ops->error(reply, STOA_ERR_INVALID,
                          "ERR the peer address must be a numeric host:port");
        return;
    }
    connection->waiting_replica = true;
    stoa_replica_member_change(replica, add, (uint32_t)id, add ? &address : NULL,
                               &connection->waiter);
}

/* WRITEMODE [FAST|SAFE]: the connection's write mode, or sets it (docs/replication.md). On a
 * single node every write is acknowledged once durable here, which is both. */
static void write_mode(struct connection *connection, const struct stoa_commands_output *out) {
    struct stoa_reply *reply = reply_of(connection);
    if (out->argument_count == 0) {
        const char *name = connection->write_mode == STOA_REPLICA_WRITE_FAST ? "fast" : "safe";
        reply->ops->bulk(reply, (const uint8_t *)name, strlen(name));
        return;
    }
    const struct stoa_command_argument *mode = &out->arguments[0];
    if (out->argument_count == 1 && mode->length == 4 &&
        strncasecmp((const char *)mode->data, "fast", 4) == 0) {
        connection->write_mode = STOA_REPLICA_WRITE_FAST;
    } else if (out->argument_count == 1 && mode->length == 4 &&
               strncasecmp((const char *)mode->data, "safe", 4) == 0) {
        connection->write_mode = STOA_REPLICA_WRITE_SAFE;
    } else {
        reply->ops->error(reply, STOA_ERR_INVALID, "ERR syntax error: WRITEMODE [FAST|SAFE]");
        return;
    }
    reply->ops->status(reply, "OK");
}

void stoa_server_group(struct connection *connection, const struct stoa_commands_output *out) {
    struct stoa_replica *replica = connection->server->options.replica;
    struct stoa_reply *reply = reply_of(connection);
    enum stoa_commands_id id = out->spec->id;
    if (id == STOA_COMMANDS_GROUP_STATUS) {
        group_status(connection);
    } else if (id == STOA_COMMANDS_GROUP_PREPARE && replica == NULL) {
        reply->ops->error(reply, STOA_ERR_UNSUPPORTED,
                          "ERR this node is not a member of a replica group");
    } else if (id == STOA_COMMANDS_GROUP_PREPARE) {
        stoa_replica_campaign(replica);
        reply->ops->status(reply, "OK");
    } else if ((id == STOA_COMMANDS_GROUP_ADD || id == STOA_COMMANDS_GROUP_REMOVE) &&
               replica == NULL) {
        reply->ops->error(reply, STOA_ERR_UNSUPPORTED,
                          "ERR this node is not a member of a replica group");
    } else if (id == STOA_COMMANDS_GROUP_ADD || id == STOA_COMMANDS_GROUP_REMOVE) {
        group_change(connection, replica, out);
    } else if (id == STOA_COMMANDS_GROUP_HELP) {
        group_help(connection);
    } else if (id == STOA_COMMANDS_WRITEMODE) {
        write_mode(connection, out);
    } else if (id == STOA_COMMANDS_READONLY || id == STOA_COMMANDS_READWRITE) {
        connection->read_mode =
            id == STOA_COMMANDS_READONLY ? STOA_REPLICA_READ_FAST : STOA_REPLICA_READ_SAFE;
        reply->ops->status(reply, "OK");
    } else {
        reply->ops->error(reply, STOA_ERR_UNSUPPORTED, "ERR unknown subcommand. Try GROUP HELP.");
    }
}
