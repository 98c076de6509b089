/* The replica group's commands on the RESP door: GROUP STATUS, GROUP LOG, GROUP PREPARE,
 * GROUP ADD, GROUP REMOVE, GROUP HELP, WRITEMODE, READONLY and READWRITE
 * (docs/replication.md). */
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

static const char *kind_name(uint8_t kind) {
    switch (kind) {
    case STOA_PAXOS_KIND_NORMAL:
        return "normal";
    case STOA_PAXOS_KIND_NOOP:
        return "noop";
    case STOA_PAXOS_KIND_CONFIG:
        return "config";
    default:
        return "unknown";
    }
}

/* The slots GROUP LOG lists: [first, last], empty when first > last. */
struct log_range {
    uint64_t first;
    uint64_t last;
};

/* GROUP LOG's options: FROM slot (0 or more) and COUNT n (1 .. STOA_GROUP_LOG_COUNT_MAX), each
 * at most once, in any order. Returns false after writing the error reply. */
static bool log_options(struct connection *connection, const struct stoa_commands_output *out,
                        bool *from_given, uint64_t *from, uint64_t *count) {
    struct stoa_reply *reply = reply_of(connection);
    *from_given = false;
    *count = STOA_GROUP_LOG_COUNT_DEFAULT;
    bool count_given = false;
    for (size_t i = 0; i < out->argument_count; i += 2) {
        const struct stoa_command_argument *word = &out->arguments[i];
        bool is_from = word->length == 4 && strncasecmp((const char *)word->data, "from", 4) == 0;
        bool is_count = word->length == 5 && strncasecmp((const char *)word->data, "count", 5) == 0;
        bool repeated = (is_from && *from_given) || (is_count && count_given);
        if ((!is_from && !is_count) || repeated || i + 1 >= out->argument_count) {
            reply->ops->error(reply, STOA_ERR_INVALID,
                              "ERR syntax error: GROUP LOG [FROM slot] [COUNT n]");
            return false;
        }
        const struct stoa_command_argument *number = &out->arguments[i + 1];
        int64_t value = 0;
        int parsed = stoa_commands_parse_int64(number->data, number->length, &value);
        if (is_from && (parsed != STOA_OK || value < 0)) {
            reply->ops->error(reply, STOA_ERR_INVALID,
                              "ERR FROM must be a slot number (an integer, 0 or more)");
            return false;
        }
        if (is_count && (parsed != STOA_OK || value < 1 || value > STOA_GROUP_LOG_COUNT_MAX)) {
            char line[96];
            snprintf(line, sizeof(line), "ERR COUNT must be an integer from 1 to %d",
                     STOA_GROUP_LOG_COUNT_MAX);
            reply->ops->error(reply, STOA_ERR_RANGE, line);
            return false;
        }
        if (is_from) {
            *from_given = true;
            *from = (uint64_t)value;
        } else {
            count_given = true;
            *count = (uint64_t)value;
        }
    }
    return true;
}

/* Without FROM: the last count slots held. With FROM: up to count slots from the first slot
 * held at or after it (a FROM at or below the snapshot index starts just above it). */
static struct log_range log_range(const struct stoa_paxos_status *status, bool from_given,
                                  uint64_t from, uint64_t count) {
    uint64_t held_first = status->snapshot_index + 1;
    struct log_range range = {.first = held_first, .last = status->last_slot};
    if (!from_given) {
        if (status->last_slot >= held_first + count) {
            range.first = status->last_slot - count + 1;
        }
        return range;
    }
    range.first = from > held_first ? from : held_first;
    if (range.first <= UINT64_MAX - (count - 1) && range.first + (count - 1) < range.last) {
        range.last = range.first + (count - 1);
    }
    return range;
}

/* One entry as a flat array of name, value pairs. */
static void log_entry(struct connection *connection, const struct stoa_paxos_entry *entry) {
    struct stoa_reply *reply = reply_of(connection);
    char ballot[64];
    snprintf(ballot, sizeof(ballot), "%" PRIu64 ".%" PRIu32, entry->ballot.round,
             entry->ballot.node_id);
    char text[STOA_GROUP_LOG_TEXT_BYTES];
    size_t length = stoa_replica_entry_describe(entry, text, sizeof(text));
    reply->ops->array(reply, 2 * 5);
    field_integer(connection, "slot", entry->slot);
    field_text(connection, "ballot", ballot);
    field_text(connection, "kind", kind_name(entry->kind));
    field_integer(connection, "chosen", entry->chosen ? 1 : 0);
    reply->ops->bulk(reply, (const uint8_t *)"value", 5);
    reply->ops->bulk(reply, (const uint8_t *)text, length);
}

/* GROUP LOG [FROM slot] [COUNT n]: the entries this member's core holds (the ring above its
 * snapshot; holes are skipped), after the indexes that explain which slots can be there. */
static void group_log(struct connection *connection, struct stoa_replica *replica,
                      const struct stoa_commands_output *out) {
    bool from_given = false;
    uint64_t from = 0;
    uint64_t count = 0;
    if (!log_options(connection, out, &from_given, &from, &count)) {
        return;
    }
    struct stoa_paxos_status status;
    stoa_replica_status(replica, &status);
    struct log_range range = log_range(&status, from_given, from, count);
    uint64_t held = 0;
    struct stoa_paxos_entry entry;
    for (uint64_t slot = range.first; slot <= range.last; slot++) {
        held += stoa_replica_log_entry(replica, slot, &entry) ? 1 : 0;
    }
    struct stoa_reply *reply = reply_of(connection);
    reply->ops->array(reply, 2 * 4);
    field_integer(connection, "snapshot_index", status.snapshot_index);
    field_integer(connection, "commit_index", status.commit_index);
    field_integer(connection, "last_slot", status.last_slot);
    reply->ops->bulk(reply, (const uint8_t *)"entries", 7);
    reply->ops->array(reply, held);
    for (uint64_t slot = range.first; slot <= range.last; slot++) {
        if (stoa_replica_log_entry(replica, slot, &entry)) {
            log_entry(connection, &entry);
        }
    }
}

static void group_help(struct connection *connection) {
    static const char *const lines[] = {
        "GROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "STATUS",
        "    Role, ballot, leader, commit and applied index, and each member's progress.",
        "PREPARE",
        "    Start an election now (Nomos's prepare).",
        "LOG [FROM <slot>] [COUNT <n>]",
        "    The log entries this member holds (the last 20 by default, at most 1000): slot,",
        "    ballot, kind, chosen and what the value is. Slots at or below the snapshot index",
        "    are compacted away.",
        "ADD <id> <host:port>",
        "    Add a voting member through the log (send it to the leader).",
        "REMOVE <id>",
        "    Remove a voting member through the log (send it to the leader).",
        "HELP",
        "    Print this help.",
    };
    stoa_server_reply_lines(connection, lines, sizeof(lines) / sizeof(lines[0]));
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
    } else if (id == STOA_COMMANDS_GROUP_LOG && replica == NULL) {
        reply->ops->error(reply, STOA_ERR_UNSUPPORTED,
                          "ERR this node is not a member of a replica group");
    } else if (id == STOA_COMMANDS_GROUP_LOG) {
        group_log(connection, replica, out);
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
