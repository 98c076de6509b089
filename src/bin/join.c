/*
 * `stoa start --join HOST:PORT`: before the node starts, ask a member of a running group
 * (its RESP address) for the group's members, have the group add this node through its log
 * (GROUP ADD, which that member forwards to the leader), and start with that member list.
 * The node then starts as a learner and becomes a voter when the change is applied; the
 * leader sends it the log, or a snapshot. docs/replication.md, "Growing a group".
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bin/bin.h"
#include "cli/connection.h"
#include "util/address.h"
#include "util/config.h"
#include "util/err.h"
#include "util/member_list.h"

/* GROUP ADD answers TRYAGAIN while another change is in flight or no leader is known: try
 * this many times, this far apart. */
#define JOIN_ATTEMPTS 50
#define JOIN_RETRY_MS 200

static void pause_ms(long ms) {
    struct timespec delay = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);
}

static struct stoa_cli_word word(const char *text) {
    return (struct stoa_cli_word){.data = (const uint8_t *)text, .length = strlen(text)};
}

/* Finds the "addresses" field of a GROUP STATUS reply and copies it into text. */
static int find_addresses(const struct stoa_resp_reply *reply, const uint8_t *data, char *text,
                          size_t capacity) {
    const struct stoa_resp_reply_element *top = &reply->elements[0];
    if (top->type != STOA_RESP_REPLY_ARRAY) {
        return STOA_ERR_MALFORMED;
    }
    size_t index = 1;
    for (size_t pair = 0; pair + 1 < top->count && index < reply->element_count; pair += 2) {
        const struct stoa_resp_reply_element *name = &reply->elements[index];
        index += name->span;
        if (index >= reply->element_count) {
            break;
        }
        const struct stoa_resp_reply_element *value = &reply->elements[index];
        index += value->span;
        bool wanted = name->type == STOA_RESP_REPLY_BULK && name->length == 9 &&
                      memcmp(data + name->offset, "addresses", 9) == 0;
        if (wanted && value->type == STOA_RESP_REPLY_BULK && value->length < capacity) {
            memcpy(text, data + value->offset, value->length);
            text[value->length] = '\0';
            return STOA_OK;
        }
    }
    return STOA_ERR_NOT_FOUND;
}

static int fail(const char *what, const char *detail) {
    fprintf(stderr, "stoa start: --join: %s%s%s\n", what, detail[0] != '\0' ? ": " : "", detail);
    return STOA_BIN_EXIT_FAILURE;
}

/* Asks for GROUP ADD until it is proposed. */
static int add_self(struct stoa_cli_connection *connection, const char *id, const char *peer) {
    struct stoa_cli_word words[4] = {word("GROUP"), word("ADD"), word(id), word(peer)};
    for (int attempt = 0; attempt < JOIN_ATTEMPTS; attempt++) {
        struct stoa_resp_reply reply;
        const uint8_t *data = NULL;
        if (stoa_cli_connection_call(connection, words, 4, &reply, &data) != STOA_OK) {
            return fail("GROUP ADD failed", connection->error);
        }
        const struct stoa_resp_reply_element *top = &reply.elements[0];
        if (top->type == STOA_RESP_REPLY_STATUS) {
            return STOA_BIN_EXIT_OK;
        }
        char text[256];
        snprintf(text, sizeof(text), "%.*s", (int)top->length, (const char *)data + top->offset);
        bool retry = top->type == STOA_RESP_REPLY_ERROR &&
                     (strncmp(text, "TRYAGAIN", 8) == 0 || strncmp(text, "CLUSTERDOWN", 11) == 0);
        if (!retry) {
            return fail("the group refused to add this node", text);
        }
        pause_ms(JOIN_RETRY_MS);
    }
    return fail("the group did not add this node in time", "");
}

int stoa_bin_join(struct stoa_config *config, const char *address, bool *joining) {
    *joining = false;
    if (config->cluster_self == 0 || config->cluster_secret[0] == '\0') {
        return fail("set cluster.self (this node's id) and cluster.secret", "");
    }
    struct stoa_address target;
    if (stoa_address_parse(address, strlen(address), &target) != STOA_OK) {
        return fail("not a numeric host:port", address);
    }
    char host[STOA_ADDRESS_TEXT_BYTES_MAX];
    snprintf(host, sizeof(host), "%s", address);
    char *colon = strrchr(host, ':');
    *colon = '\0';
    struct stoa_cli_connection connection;
    stoa_cli_connection_init(&connection);
    if (stoa_cli_connection_open(&connection, host, target.port) != STOA_OK) {
        int status = fail("cannot reach the member", connection.error);
        stoa_cli_connection_close(&connection);
        return status;
    }
    struct stoa_cli_word words[2] = {word("GROUP"), word("STATUS")};
    struct stoa_resp_reply reply;
    const uint8_t *data = NULL;
    char members[STOA_PEER_MEMBERS_TEXT_BYTES_MAX + 1];
    int result = stoa_cli_connection_call(&connection, words, 2, &reply, &data);
    if (result == STOA_OK) {
        result = find_addresses(&reply, data, members, sizeof(members));
    }
    if (result != STOA_OK) {
        stoa_cli_connection_close(&connection);
        return fail("the member did not answer GROUP STATUS with its members", connection.error);
    }
    struct stoa_member_list list;
    char reason[STOA_MEMBER_LIST_ERROR_BYTES];
    if (stoa_member_list_parse(members, strlen(members), &list, reason) != STOA_OK) {
        stoa_cli_connection_close(&connection);
        return fail("the member's list of members does not parse", reason);
    }
    char id[24];
    char peer[STOA_CONFIG_HOST_BYTES_MAX + 16];
    snprintf(id, sizeof(id), "%lld", (long long)config->cluster_self);
    snprintf(peer, sizeof(peer), "%s:%lld", config->listen_host,
             (long long)config->listen_peer_port);
    int status = STOA_BIN_EXIT_OK;
    if (stoa_member_list_find(&list, (uint64_t)config->cluster_self) == NULL) {
        status = add_self(&connection, id, peer);
        *joining = status == STOA_BIN_EXIT_OK;
        size_t used = strlen(members);
        snprintf(members + used, sizeof(members) - used, "%s%s=%s", used > 0 ? "," : "", id,
                 peer);
    }
    stoa_cli_connection_close(&connection);
    struct stoa_config_error error;
    if (status == STOA_BIN_EXIT_OK &&
        stoa_config_set(config, "cluster.members", members, "--join", &error) != STOA_OK) {
        status = fail("the group's member list is not a valid cluster.members", error.message);
    }
    return status;
}
