/*
 * paxos_harness: drives several paxos cores as a driver would, for the consensus unit tests.
 *
 * Each node has a simulated disk (what the driver persisted from its batches: promised
 * ballot, entries by slot, commit index, snapshot index and members), and a state machine
 * that records a digest of each applied value. Messages are encoded with the codec and either
 * captured per node (the test looks at them and delivers them by hand) or sent over a
 * sim_net (the randomized cluster test). Every apply is checked against the first value
 * applied at that slot anywhere: two different values at one slot is a safety violation,
 * recorded with what happened. Crashes drop everything a node did not persist. Set
 * PAXOS_LOG=debug (or info) to see every core's log lines on standard error.
 */
#ifndef STOA_TEST_PAXOS_HARNESS_H
#define STOA_TEST_PAXOS_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/message.h"
#include "consensus/paxos.h"
#include "sim/sim_net.h"
#include "util/alloc.h"
#include "util/err.h"

#define H_FN static __attribute__((unused))
#define H_NODES_MAX 5
#define H_DISK_SLOTS 4096
#define H_SLOTS_MAX 8192
#define H_SENT_MAX 1024
#define H_READS_MAX 256

struct h_disk_entry {
    bool present;
    struct stoa_paxos_entry entry;
    uint8_t *value; /* owned */
};

struct h_disk {
    struct stoa_paxos_ballot promised;
    uint64_t commit_index;
    uint64_t snapshot_index;
    uint32_t members[STOA_PAXOS_MEMBERS_MAX];
    uint32_t member_count;
    struct h_disk_entry entries[H_DISK_SLOTS];
};

struct h_sent {
    uint8_t *bytes; /* owned */
    size_t length;
    uint8_t type;
    uint32_t to;
};

struct h_node {
    uint32_t id;
    bool up;
    struct stoa_log log; /* the core's logger: node "n<id>", printed if PAXOS_LOG is set */
    struct stoa_paxos *paxos;
    struct h_disk disk;
    uint64_t applied;
    uint64_t digests[H_SLOTS_MAX + 1];
    uint32_t members[STOA_PAXOS_MEMBERS_MAX]; /* the state machine's view, from applies */
    uint32_t member_count;
    struct h_sent sent[H_SENT_MAX];
    uint32_t sent_count;
    struct stoa_paxos_read reads[H_READS_MAX];
    uint32_t read_count;
    uint64_t reads_failed[H_READS_MAX];
    uint32_t read_failed_count;
    uint32_t snapshot_requests;
    uint64_t last_batch_writes;
};

struct h_cluster {
    struct h_node nodes[H_NODES_MAX];
    uint32_t count;
    struct stoa_sim_net *net; /* NULL: messages are captured per node */
    struct stoa_paxos_config config;
    uint64_t chosen[H_SLOTS_MAX + 1]; /* digest of the value applied at each slot, 0 = none */
    bool violation;
    char what[256];
    struct stoa_log log;
    bool snapshot_install_enabled;
};

H_FN uint64_t h_digest(uint8_t kind, const uint8_t *value, uint32_t length) {
    uint64_t hash = 1469598103934665603ULL ^ kind;
    for (uint32_t i = 0; i < length; i++) {
        hash = (hash ^ value[i]) * 1099511628211ULL;
    }
    return hash == 0 ? 1 : hash;
}

H_FN void h_violation(struct h_cluster *c, const char *what, uint64_t slot, uint32_t node) {
    if (!c->violation) {
        snprintf(c->what, sizeof(c->what), "%s (slot %llu, node %u)", what,
                 (unsigned long long)slot, node);
    }
    c->violation = true;
}

H_FN struct h_node *h_node(struct h_cluster *c, uint32_t id) {
    return &c->nodes[id - 1];
}

H_FN void h_disk_drop_through(struct h_disk *disk, uint64_t index) {
    for (uint32_t i = 0; i < H_DISK_SLOTS; i++) {
        if (disk->entries[i].present && disk->entries[i].entry.slot <= index) {
            stoa_free(disk->entries[i].value);
            disk->entries[i] = (struct h_disk_entry){0};
        }
    }
    disk->snapshot_index = index;
    if (disk->commit_index < index) {
        disk->commit_index = index;
    }
}

H_FN void h_log_sink(void *context, const char *line, size_t length) {
    (void)context;
    fprintf(stderr, "%.*s\n", (int)length, line);
}

H_FN void h_log_init(struct h_node *node) {
    stoa_log_init(&node->log);
    node->log.level_min = STOA_LOG_OFF;
    const char *level = getenv("PAXOS_LOG");
    if (level != NULL && stoa_log_level_parse(level, &node->log.level_min) == STOA_OK) {
        stoa_log_set_sink(&node->log, h_log_sink, NULL);
    }
    char name[16];
    snprintf(name, sizeof(name), "n%u", node->id);
    stoa_log_set_node_id(&node->log, name);
}

H_FN int h_node_start(struct h_cluster *c, uint32_t id) {
    struct h_node *node = h_node(c, id);
    static struct stoa_paxos_entry entries[H_DISK_SLOTS];
    uint32_t count = 0;
    for (uint32_t i = 0; i < H_DISK_SLOTS; i++) {
        if (node->disk.entries[i].present) {
            entries[count] = node->disk.entries[i].entry;
            entries[count].value = node->disk.entries[i].value;
            count++;
        }
    }
    struct stoa_paxos_persisted persisted = {
        .promised = node->disk.promised,
        .commit_index = node->disk.commit_index,
        .snapshot_index = node->disk.snapshot_index,
        .applied_index = node->disk.snapshot_index,
        .snapshot_members = node->disk.members,
        .snapshot_member_count = node->disk.snapshot_index > 0 ? node->disk.member_count : 0,
        .entries = entries,
        .entry_count = count,
    };
    struct stoa_paxos_config config = c->config;
    config.self_id = id;
    config.seed = c->config.seed * 31 + id + node->applied;
    config.log = &node->log;
    /* The state machine restarts from the snapshot. */
    node->applied = node->disk.snapshot_index;
    if (node->disk.snapshot_index > 0) {
        memcpy(node->members, node->disk.members, sizeof(node->members));
        node->member_count = node->disk.member_count;
    } else {
        memcpy(node->members, c->config.members, c->config.member_count * sizeof(uint32_t));
        node->member_count = c->config.member_count;
    }
    int result = stoa_paxos_create(&config, &persisted, &node->paxos);
    node->up = result == STOA_OK;
    return result;
}

H_FN void h_sent_clear(struct h_node *node) {
    for (uint32_t i = 0; i < node->sent_count; i++) {
        stoa_free(node->sent[i].bytes);
    }
    node->sent_count = 0;
}

H_FN void h_node_crash(struct h_cluster *c, uint32_t id) {
    struct h_node *node = h_node(c, id);
    if (!node->up) {
        return;
    }
    stoa_paxos_destroy(node->paxos);
    node->paxos = NULL;
    node->up = false;
    h_sent_clear(node);
    if (c->net != NULL) {
        stoa_sim_net_drop_to(c->net, id);
    }
}

H_FN void h_persist(struct h_node *node, const struct stoa_paxos_ready *ready) {
    struct h_disk *disk = &node->disk;
    if (ready->promised_changed) {
        disk->promised = ready->promised;
    }
    for (uint32_t i = 0; i < ready->write_count; i++) {
        const struct stoa_paxos_entry *entry = &ready->writes[i];
        if (entry->slot <= disk->snapshot_index) {
            continue;
        }
        struct h_disk_entry *held = &disk->entries[entry->slot % H_DISK_SLOTS];
        if (held->present && held->entry.slot != entry->slot) {
            abort(); /* the test's disk is too small for this run */
        }
        stoa_free(held->value);
        held->present = true;
        held->entry = *entry;
        held->value = NULL;
        if (entry->length > 0) {
            held->value = stoa_alloc(entry->length);
            memcpy(held->value, entry->value, entry->length);
        }
        held->entry.value = NULL;
    }
    if (ready->commit_changed) {
        disk->commit_index = ready->commit_index;
    }
    node->last_batch_writes = ready->write_count;
}

H_FN void h_apply(struct h_cluster *c, struct h_node *node, const struct stoa_paxos_entry *entry) {
    if (entry->slot != node->applied + 1) {
        h_violation(c, "applied out of order", entry->slot, node->id);
        return;
    }
    if (entry->slot > H_SLOTS_MAX) {
        abort(); /* the run is longer than the test's tables */
    }
    uint64_t digest = h_digest(entry->kind, entry->value, entry->length);
    if (c->chosen[entry->slot] == 0) {
        c->chosen[entry->slot] = digest;
    } else if (c->chosen[entry->slot] != digest) {
        h_violation(c, "two different values applied at one slot", entry->slot, node->id);
    }
    node->digests[entry->slot] = digest;
    node->applied = entry->slot;
    enum stoa_paxos_config_op op;
    uint32_t member;
    if (entry->kind == STOA_PAXOS_KIND_CONFIG &&
        stoa_paxos_config_change_decode(entry->value, entry->length, &op, &member) == STOA_OK) {
        if (op == STOA_PAXOS_CONFIG_ADD && node->member_count < STOA_PAXOS_MEMBERS_MAX) {
            node->members[node->member_count++] = member;
        } else if (op == STOA_PAXOS_CONFIG_REMOVE) {
            for (uint32_t i = 0; i < node->member_count; i++) {
                if (node->members[i] == member) {
                    node->members[i] = node->members[--node->member_count];
                    break;
                }
            }
        }
    }
}

H_FN void h_send(struct h_cluster *c, struct h_node *node, const struct stoa_paxos_message *m) {
    size_t size = stoa_paxos_message_size(m);
    uint8_t *bytes = stoa_alloc(size);
    size_t length = 0;
    if (bytes == NULL || stoa_paxos_message_encode(m, bytes, size, &length) != STOA_OK) {
        abort();
    }
    if (c->net != NULL) {
        if (m->to >= 1 && m->to <= c->count) {
            (void)stoa_sim_net_send(c->net, node->id, m->to, bytes, length);
        }
        stoa_free(bytes);
        return;
    }
    if (node->sent_count >= H_SENT_MAX) {
        stoa_free(bytes);
        return;
    }
    node->sent[node->sent_count++] =
        (struct h_sent){.bytes = bytes, .length = length, .type = m->type, .to = m->to};
}

H_FN void h_snapshot_install(struct h_cluster *c, struct h_node *leader, uint32_t to);

enum h_crash { H_CRASH_NONE, H_CRASH_BEFORE_PERSIST, H_CRASH_AFTER_PERSIST };

/* Runs the node's batches until it has none: send what may go before the fsync, persist,
 * send the rest, apply, advance. A crash mode stops the first batch before or after its
 * persist. */
H_FN void h_process(struct h_cluster *c, uint32_t id, enum h_crash crash) {
    struct h_node *node = h_node(c, id);
    for (int rounds = 0; node->up && rounds < 64; rounds++) {
        struct stoa_paxos_ready ready;
        if (!stoa_paxos_ready(node->paxos, &ready)) {
            return;
        }
        for (uint32_t i = 0; i < ready.message_count; i++) {
            if (!ready.messages[i].after_persist) {
                h_send(c, node, &ready.messages[i]);
            }
        }
        if (crash == H_CRASH_BEFORE_PERSIST) {
            h_node_crash(c, id);
            return;
        }
        h_persist(node, &ready);
        if (crash == H_CRASH_AFTER_PERSIST) {
            h_node_crash(c, id);
            return;
        }
        for (uint32_t i = 0; i < ready.message_count; i++) {
            if (ready.messages[i].after_persist) {
                h_send(c, node, &ready.messages[i]);
            }
        }
        for (uint32_t i = 0; i < ready.apply_count; i++) {
            h_apply(c, node, &ready.applies[i]);
        }
        for (uint32_t i = 0; i < ready.read_count && node->read_count < H_READS_MAX; i++) {
            node->reads[node->read_count++] = ready.reads[i];
        }
        for (uint32_t i = 0; i < ready.read_failed_count; i++) {
            if (node->read_failed_count < H_READS_MAX) {
                node->reads_failed[node->read_failed_count++] = ready.reads_failed[i];
            }
        }
        node->snapshot_requests += ready.snapshot_count;
        uint32_t snapshot_to[STOA_PAXOS_PEERS_MAX];
        uint32_t snapshot_count = ready.snapshot_count;
        memcpy(snapshot_to, ready.snapshot_to, snapshot_count * sizeof(uint32_t));
        stoa_paxos_advance(node->paxos);
        for (uint32_t i = 0; i < snapshot_count && c->snapshot_install_enabled; i++) {
            h_snapshot_install(c, node, snapshot_to[i]);
        }
    }
}

/* The driver of `to` installs the leader's latest snapshot. */
H_FN void h_snapshot_install(struct h_cluster *c, struct h_node *leader, uint32_t to) {
    struct h_node *node = h_node(c, to);
    uint64_t index = leader->disk.snapshot_index;
    if (to < 1 || to > c->count || !node->up || index <= node->applied) {
        return;
    }
    memcpy(node->digests, leader->digests, (index + 1) * sizeof(uint64_t));
    node->applied = index;
    memcpy(node->members, leader->disk.members, sizeof(node->members));
    node->member_count = leader->disk.member_count;
    h_disk_drop_through(&node->disk, index);
    memcpy(node->disk.members, leader->disk.members, sizeof(node->disk.members));
    node->disk.member_count = leader->disk.member_count;
    if (stoa_paxos_snapshot_installed(node->paxos, index, node->members, node->member_count) !=
        STOA_OK) {
        h_violation(c, "snapshot install refused", index, to);
    }
    h_process(c, to, H_CRASH_NONE);
}

/* The driver took a snapshot at its applied index and compacted. */
H_FN void h_snapshot_take(struct h_cluster *c, uint32_t id) {
    struct h_node *node = h_node(c, id);
    if (!node->up || node->applied <= node->disk.snapshot_index) {
        return;
    }
    uint64_t index = node->applied;
    h_disk_drop_through(&node->disk, index);
    memcpy(node->disk.members, node->members, sizeof(node->members));
    node->disk.member_count = node->member_count;
    if (stoa_paxos_compact(node->paxos, index) != STOA_OK) {
        h_violation(c, "compact refused", index, id);
    }
}

H_FN void h_init(struct h_cluster *c, uint32_t count, uint64_t seed, bool use_net,
                 const uint32_t *members) {
    memset(c, 0, sizeof(*c));
    stoa_log_init(&c->log);
    c->log.level_min = STOA_LOG_OFF;
    c->count = count;
    c->config = (struct stoa_paxos_config){
        .members = members,
        .member_count = count,
        .heartbeat_ticks = 2,
        .election_ticks_min = 10,
        .election_ticks_max = 20,
        .drift_ticks = 1,
        .window_slots = 32,
        .log_slots = 1024,
        .seed = seed,
        .log = &c->log,
    };
    c->snapshot_install_enabled = true;
    for (uint32_t i = 0; i < count; i++) {
        c->nodes[i].id = i + 1;
        h_log_init(&c->nodes[i]);
    }
    if (use_net) {
        if (stoa_sim_net_create(seed, &c->net) != STOA_OK) {
            abort();
        }
    }
}

H_FN void h_free(struct h_cluster *c) {
    for (uint32_t i = 1; i <= c->count; i++) {
        h_node_crash(c, i);
        for (uint32_t j = 0; j < H_DISK_SLOTS; j++) {
            stoa_free(h_node(c, i)->disk.entries[j].value);
        }
    }
    stoa_sim_net_destroy(c->net);
}

/* Decodes and steps one message into node `to` (dropped if it is down). */
H_FN int h_deliver(struct h_cluster *c, uint32_t to, const uint8_t *bytes, size_t length) {
    struct h_node *node = h_node(c, to);
    if (!node->up) {
        return STOA_ERR_CLOSED;
    }
    static struct stoa_paxos_entry entries[STOA_PAXOS_MESSAGE_ENTRIES_MAX];
    struct stoa_paxos_message message;
    int result =
        stoa_paxos_message_decode(bytes, length, &message, entries, STOA_PAXOS_MESSAGE_ENTRIES_MAX);
    if (result != STOA_OK) {
        abort(); /* our own encoder made it */
    }
    return stoa_paxos_step(node->paxos, &message);
}

/* Captured mode: delivers every captured message (and what they cause) until quiet, skipping
 * nodes that are down or links in `cut` (cut[from][to]). */
H_FN void h_flush(struct h_cluster *c, bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1]) {
    for (int rounds = 0; rounds < 1000; rounds++) {
        bool any = false;
        for (uint32_t id = 1; id <= c->count; id++) {
            struct h_node *node = h_node(c, id);
            h_process(c, id, H_CRASH_NONE);
            uint32_t count = node->sent_count;
            struct h_sent sent[H_SENT_MAX];
            memcpy(sent, node->sent, count * sizeof(sent[0]));
            node->sent_count = 0;
            for (uint32_t i = 0; i < count; i++) {
                bool blocked = cut != NULL && cut[id][sent[i].to];
                if (!blocked && sent[i].to >= 1 && sent[i].to <= c->count) {
                    (void)h_deliver(c, sent[i].to, sent[i].bytes, sent[i].length);
                    h_process(c, sent[i].to, H_CRASH_NONE);
                    any = true;
                }
                stoa_free(sent[i].bytes);
            }
        }
        if (!any) {
            return;
        }
    }
}

/* Captured mode: one tick on every live node, then flush. */
H_FN void h_tick(struct h_cluster *c, bool cut[H_NODES_MAX + 1][H_NODES_MAX + 1]) {
    for (uint32_t id = 1; id <= c->count; id++) {
        if (h_node(c, id)->up) {
            stoa_paxos_tick(h_node(c, id)->paxos);
        }
    }
    h_flush(c, cut);
}

H_FN uint32_t h_leader(struct h_cluster *c) {
    uint32_t leader = 0;
    for (uint32_t id = 1; id <= c->count; id++) {
        struct stoa_paxos_status status;
        if (!h_node(c, id)->up) {
            continue;
        }
        stoa_paxos_status(h_node(c, id)->paxos, &status);
        if (status.role == STOA_PAXOS_LEADER && status.leader_ready) {
            leader = id;
        }
    }
    return leader;
}

H_FN enum stoa_paxos_role h_role(struct h_cluster *c, uint32_t id) {
    struct stoa_paxos_status status;
    stoa_paxos_status(h_node(c, id)->paxos, &status);
    return status.role;
}

/* Captured mode: removes and decodes the first message of `type` node sent to `to` (any
 * destination if to is 0). The entries borrow the returned bytes (free with stoa_free). */
H_FN uint8_t *h_take(struct h_node *node, uint8_t type, uint32_t to,
                     struct stoa_paxos_message *message, struct stoa_paxos_entry *entries) {
    for (uint32_t i = 0; i < node->sent_count; i++) {
        if (node->sent[i].type != type || (to != 0 && node->sent[i].to != to)) {
            continue;
        }
        uint8_t *bytes = node->sent[i].bytes;
        if (stoa_paxos_message_decode(bytes, node->sent[i].length, message, entries,
                                      STOA_PAXOS_MESSAGE_ENTRIES_MAX) != STOA_OK) {
            abort();
        }
        memmove(&node->sent[i], &node->sent[i + 1],
                (node->sent_count - i - 1) * sizeof(node->sent[0]));
        node->sent_count--;
        return bytes;
    }
    return NULL;
}

#endif
