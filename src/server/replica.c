/* The replica's engine room: the core's inputs (ticks, peer messages) and outputs (journal,
 * messages, applies), the loop hook that batches them, start and stop. */
#include "server/replica_int.h"

#include <stdio.h>
#include <string.h>

#include "cluster/batch.h"
#include "consensus/message.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

#define MODULE "replica"

/* ---- sending ---- */

void replica_send(struct stoa_replica *replica, uint32_t to, const uint8_t *payload,
                  size_t length) {
    if (replica->transport == NULL || replica->stopping) {
        return;
    }
    int result = stoa_peer_send(replica->transport, to, payload, length);
    if (result != STOA_OK && result != STOA_ERR_CLOSED) {
        STOA_LOG_DEBUG(replica->log, MODULE, "message dropped", STOA_FIELD_UINT("to", to),
                       STOA_FIELD_UINT("bytes", length), STOA_FIELD_ERR(result));
    }
}

static void send_messages(struct stoa_replica *replica, const struct stoa_paxos_ready *ready,
                          bool after_persist) {
    for (uint32_t i = 0; i < ready->message_count; i++) {
        const struct stoa_paxos_message *message = &ready->messages[i];
        if (message->after_persist != after_persist) {
            continue;
        }
        size_t length = 1 + stoa_paxos_message_size(message);
        stoa_buf_reset(&replica->message);
        if (stoa_buf_reserve(&replica->message, length) != STOA_OK) {
            STOA_LOG_WARN(replica->log, MODULE, "no memory to send a message",
                          STOA_FIELD_UINT("to", message->to));
            continue;
        }
        replica->message.data[0] = CHANNEL_PAXOS;
        size_t written = 0;
        int result =
            stoa_paxos_message_encode(message, replica->message.data + 1, length - 1, &written);
        STOA_ASSERT(result == STOA_OK && written == length - 1);
        replica_send(replica, message->to, replica->message.data, length);
    }
}

/* ---- the core's outputs ---- */

static void fail(struct stoa_replica *replica, int result) {
    if (replica->failure == STOA_OK) {
        replica->failure = result;
        STOA_LOG_ERROR(replica->log, MODULE,
                       "the journal failed: this node stops taking part in its group; restart "
                       "it to recover",
                       STOA_FIELD_ERR(result));
        replica_fail_all(replica, STOA_ERR_FSYNC,
                         "TIMEOUT this node's journal failed: the outcome is unknown");
    }
}

static int persist(struct stoa_replica *replica, const struct stoa_paxos_ready *ready) {
    int result = stoa_journal_write(replica->journal, ready);
    if (result != STOA_OK) {
        return result;
    }
    if (!ready->promised_changed && ready->write_count == 0) {
        /* Nothing to sync, or only the commit index: a slot is chosen because a majority
         * holds it durably, whether or not this member remembers the commit point, so the
         * record goes to disk with the next flush instead of costing a sync of its own
         * (docs/replication.md). */
        return STOA_OK;
    }
    int64_t start_ns = stoa_env_monotonic_ns(replica->env);
    result = stoa_journal_flush(replica->journal);
    uint64_t usec = (uint64_t)(stoa_env_monotonic_ns(replica->env) - start_ns) / 1000;
    replica->stats.journal_flushes++;
    replica->stats.journal_flush_usec_total += usec;
    stoa_histogram_observe(&replica->stats.journal_sync_latency, usec);
    return result;
}

/* Remembers a membership change, so the voters as of an older slot can be worked out when
 * the journal is compacted at that slot (replica_voters_at). */
static void remember_change(struct stoa_replica *replica, const struct stoa_paxos_entry *entry) {
    enum stoa_paxos_config_op op;
    uint32_t id = 0;
    if (stoa_paxos_config_change_decode(entry->value, entry->length, &op, &id) != STOA_OK) {
        return;
    }
    struct member_change *change =
        &replica->changes[replica->change_count % STOA_REPLICA_MEMBER_CHANGES_KEPT];
    *change = (struct member_change){.slot = entry->slot, .op = op, .id = id};
    replica->change_count++;
}

uint32_t replica_voters_at(const struct stoa_replica *replica, uint64_t slot, uint32_t *ids) {
    uint32_t count = stoa_paxos_members(replica->paxos, ids, STOA_PAXOS_MEMBERS_MAX);
    uint64_t kept = replica->change_count < STOA_REPLICA_MEMBER_CHANGES_KEPT
                        ? replica->change_count
                        : STOA_REPLICA_MEMBER_CHANGES_KEPT;
    /* Undo, newest first, the changes applied after slot. */
    for (uint64_t n = 0; n < kept; n++) {
        const struct member_change *change =
            &replica->changes[(replica->change_count - 1 - n) % STOA_REPLICA_MEMBER_CHANGES_KEPT];
        if (change->slot <= slot) {
            break;
        }
        uint32_t at = count;
        for (uint32_t i = 0; i < count; i++) {
            at = ids[i] == change->id ? i : at;
        }
        if (change->op == STOA_PAXOS_CONFIG_ADD && at < count) {
            ids[at] = ids[--count];
        } else if (change->op == STOA_PAXOS_CONFIG_REMOVE && at == count &&
                   count < STOA_PAXOS_MEMBERS_MAX) {
            ids[count++] = change->id;
        }
    }
    return count;
}

static void apply_all(struct stoa_replica *replica, const struct stoa_paxos_ready *ready) {
    for (uint32_t i = 0; i < ready->apply_count; i++) {
        const struct stoa_paxos_entry *entry = &ready->applies[i];
        if (entry->kind == STOA_PAXOS_KIND_NORMAL) {
            replica_apply_entry(replica, entry);
        } else {
            if (entry->kind == STOA_PAXOS_KIND_CONFIG) {
                remember_change(replica, entry);
            }
            stoa_engine_applied_set(replica->engine, entry->slot);
        }
        replica->stats.applied_entries++;
    }
}

void replica_process(struct stoa_replica *replica) {
    if (replica->failure != STOA_OK || replica->paxos == NULL) {
        return;
    }
    for (int round = 0; round < STOA_REPLICA_READY_ROUNDS_MAX; round++) {
        struct stoa_paxos_ready ready;
        if (!stoa_paxos_ready(replica->paxos, &ready)) {
            break;
        }
        /* A leader's accepts do not wait for its own disk: they go out first. */
        send_messages(replica, &ready, false);
        int result = persist(replica, &ready);
        if (result != STOA_OK) {
            fail(replica, result);
            return; /* no advance: the core takes no more input */
        }
        send_messages(replica, &ready, true);
        replica_fast_durable(replica, &ready);
        apply_all(replica, &ready);
        for (uint32_t i = 0; i < ready.read_count; i++) {
            replica_read_ready(replica, ready.reads[i].request_id, ready.reads[i].index);
        }
        for (uint32_t i = 0; i < ready.read_failed_count; i++) {
            replica_read_failed(replica, ready.reads_failed[i]);
        }
        for (uint32_t i = 0; i < ready.snapshot_count; i++) {
            replica_snapshot_send_start(replica, ready.snapshot_to[i]);
        }
        stoa_paxos_advance(replica->paxos);
    }
    replica_serve_ready_reads(replica);
}

/* ---- inputs ---- */

void replica_kick(struct stoa_replica *replica) {
    /* Replies written from this hook wait in their doors' buffers: the doors' hooks, which may
     * have run already in this iteration, must run again before the loop waits for I/O. */
    if (replica->hook != NULL && !replica->stopping) {
        replica->env->ops->loop_hook_wake(replica->hook);
    }
}

static void on_hook(void *context) {
    struct stoa_replica *replica = context;
    if (replica->stopping) {
        return;
    }
    replica_propose_batch(replica);
    replica_process(replica);
}

static uint32_t replica_log_slots(const struct stoa_replica *replica) {
    return replica->options.log_slots > 0 ? replica->options.log_slots
                                          : STOA_PAXOS_LOG_SLOTS_DEFAULT;
}

/* Starts a snapshot (in the background) when enough was applied since the last one, by
 * slots or by journal bytes: the engine has no log of its own here, so its own trigger
 * (data.snapshotLogBytes) never fires; the journal is compacted once the snapshot is done. */
static void maybe_snapshot(struct stoa_replica *replica) {
    struct stoa_engine_stats stats;
    stoa_engine_stats(replica->engine, &stats);
    uint64_t bytes = stoa_journal_bytes(replica->journal) - replica->journal_bytes_at_snapshot;
    uint64_t every = replica_log_slots(replica) / STOA_REPLICA_SNAPSHOT_FRACTION;
    bool by_slots = stats.applied_index >= stats.snapshot_index + every;
    bool by_bytes = replica->options.snapshot_log_bytes > 0 &&
                    bytes >= replica->options.snapshot_log_bytes &&
                    stats.applied_index > stats.snapshot_index;
    if (stats.snapshot_running || !(by_slots || by_bytes)) {
        return;
    }
    replica->journal_bytes_at_snapshot = stoa_journal_bytes(replica->journal);
    int result = stoa_engine_snapshot_start(replica->engine);
    if (result != STOA_OK) {
        STOA_LOG_WARN(replica->log, MODULE, "cannot start a snapshot: the journal keeps growing",
                      STOA_FIELD_UINT("applied_index", stats.applied_index),
                      STOA_FIELD_ERR(result));
    } else {
        replica->stats.snapshots_started++;
    }
}

static void on_tick(void *context) {
    struct stoa_replica *replica = context;
    if (replica->stopping || replica->failure != STOA_OK) {
        return;
    }
    /* A tick per tick_ms of real time, not per timer firing: after the process was paused
     * (SIGSTOP, a long stall) a repeating timer fires once, and counting that as one tick
     * would let a leader believe its lease outlived the pause (found by stoa-sim,
     * --pause-fires-once). */
    int64_t now = stoa_env_monotonic_ms(replica->env);
    int64_t ticks = (now - replica->last_tick_ms) / replica->options.tick_ms;
    /* Enough to run out any lease and election timeout; no long loop after a clock step. */
    int64_t ticks_max = 2 * (int64_t)replica->options.election_ticks_max + 2;
    if (ticks <= ticks_max) {
        /* Keep the remainder: ticks then run at the rate of real time, neither slower (a
         * leader would stretch its lease) nor faster (a follower would cut the lease it
         * granted). A timer that fired a little early counts no tick yet. */
        replica->last_tick_ms += ticks * replica->options.tick_ms;
    } else {
        ticks = ticks_max; /* after a long pause: every timeout has run out */
        replica->last_tick_ms = now;
    }
    for (int64_t i = 0; i < ticks; i++) {
        stoa_paxos_tick(replica->paxos);
    }
    if (stoa_journal_pending(replica->journal)) {
        /* A commit index written without a sync of its own (see persist). */
        int result = stoa_journal_flush(replica->journal);
        if (result != STOA_OK) {
            fail(replica, result);
            return;
        }
    }
    int64_t now_ms = stoa_env_monotonic_ms(replica->env);
    replica_expire(replica, now_ms);
    replica_clock_tick(replica);
    replica_snapshot_tick(replica, now_ms);
    replica_snapshot_compact(replica);
    maybe_snapshot(replica);
}

static void on_paxos_message(struct stoa_replica *replica, uint32_t from, const uint8_t *data,
                             size_t length) {
    struct stoa_paxos_message message;
    int result = stoa_paxos_message_decode(data, length, &message, replica->entries,
                                           STOA_PAXOS_MESSAGE_ENTRIES_MAX);
    if (result != STOA_OK || message.from != from) {
        STOA_LOG_DEBUG(replica->log, MODULE, "dropped a consensus message that does not decode",
                       STOA_FIELD_UINT("from", from), STOA_FIELD_ERR(result));
        return;
    }
    (void)stoa_paxos_step(replica->paxos, &message);
}

static void on_message(void *context, uint64_t from_id, const uint8_t *payload, size_t length) {
    struct stoa_replica *replica = context;
    if (replica->stopping || replica->failure != STOA_OK || length == 0 || from_id > UINT32_MAX) {
        return;
    }
    uint32_t from = (uint32_t)from_id;
    switch (payload[0]) {
    case CHANNEL_PAXOS:
        on_paxos_message(replica, from, payload + 1, length - 1);
        break;
    case CHANNEL_FORWARD:
        replica_on_forward(replica, from, payload + 1, length - 1);
        break;
    case CHANNEL_FORWARD_REPLY:
        replica_on_forward_reply(replica, payload + 1, length - 1);
        break;
    case CHANNEL_SNAPSHOT:
        replica_on_snapshot(replica, from, payload + 1, length - 1);
        break;
    case CHANNEL_SNAPSHOT_ACK:
        replica_on_snapshot_ack(replica, from, payload + 1, length - 1);
        break;
    default:
        STOA_LOG_DEBUG(replica->log, MODULE, "dropped a message of an unknown channel",
                       STOA_FIELD_UINT("from", from), STOA_FIELD_UINT("channel", payload[0]));
        break;
    }
}

static void on_peer_state(void *context, uint64_t id, enum stoa_peer_state state) {
    struct stoa_replica *replica = context;
    STOA_LOG_INFO(replica->log, MODULE, state == STOA_PEER_UP ? "peer up" : "peer down",
                  STOA_FIELD_UINT("peer", id));
}

/* ---- start and stop ---- */

static int open_core(struct stoa_replica *replica, char *error, size_t error_bytes) {
    char directory[STOA_PATH_BYTES_MAX];
    int length = snprintf(directory, sizeof(directory), "%s/paxos", replica->data_dir);
    if (length < 0 || (size_t)length >= sizeof(directory)) {
        snprintf(error, error_bytes, "data directory path too long");
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_journal_options journal_options = {.directory = directory, .log = replica->log};
    struct stoa_paxos_persisted persisted;
    int result = stoa_journal_open(replica->env, &journal_options, &replica->journal, &persisted,
                                   error, error_bytes);
    if (result != STOA_OK) {
        return result;
    }
    struct stoa_engine_stats engine_stats;
    stoa_engine_stats(replica->engine, &engine_stats);
    if (engine_stats.applied_index < persisted.snapshot_index) {
        snprintf(error, error_bytes,
                 "the journal in %s starts after slot %llu but the newest snapshot holds only "
                 "slot %llu: the snapshot is missing",
                 directory, (unsigned long long)persisted.snapshot_index,
                 (unsigned long long)engine_stats.applied_index);
        return STOA_ERR_CORRUPT;
    }
    persisted.applied_index = engine_stats.applied_index;
    if (persisted.commit_index < persisted.applied_index) {
        /* The engine only ever applied chosen slots; the commit record that said so may not
         * have reached the disk (persist writes it without a sync of its own). */
        persisted.commit_index = persisted.applied_index;
    }
    uint32_t members[STOA_PAXOS_MEMBERS_MAX];
    uint32_t count = 0;
    for (size_t i = 0; i < replica->members.count && count < STOA_PAXOS_MEMBERS_MAX; i++) {
        uint32_t id = (uint32_t)replica->members.members[i].id;
        if (!replica->options.joining || id != replica->options.self_id) {
            members[count++] = id;
        }
    }
    uint64_t seed = 0;
    stoa_env_random_bytes(replica->env, &seed, sizeof(seed));
    struct stoa_paxos_config config = {
        .self_id = replica->options.self_id,
        .members = members,
        .member_count = count,
        .heartbeat_ticks = replica->options.heartbeat_ticks,
        .election_ticks_min = replica->options.election_ticks_min,
        .election_ticks_max = replica->options.election_ticks_max,
        .drift_ticks = replica->options.drift_ticks,
        .window_slots = STOA_PAXOS_WINDOW_SLOTS_DEFAULT,
        .log_slots = replica_log_slots(replica),
        .seed = seed,
        .log = (struct stoa_log *)replica->log,
    };
    result = stoa_paxos_create(&config, &persisted, &replica->paxos);
    if (result != STOA_OK) {
        snprintf(error, error_bytes, "the consensus state in %s is not valid", directory);
    }
    return result;
}

static int open_handles(struct stoa_replica *replica) {
    struct stoa_env *env = replica->env;
    int result = env->ops->timer_create(env, on_tick, replica, &replica->ticker);
    if (result == STOA_OK) {
        result = env->ops->loop_hook_create(env, on_hook, replica, &replica->hook);
    }
    if (result != STOA_OK) {
        return result;
    }
    replica->last_tick_ms = stoa_env_monotonic_ms(env);
    env->ops->timer_start(replica->ticker, replica->options.tick_ms, replica->options.tick_ms);
    env->ops->loop_hook_start(replica->hook);
    return STOA_OK;
}

static int start_transport(struct stoa_replica *replica) {
    struct stoa_peer_options peer = replica->options.peer;
    peer.members = &replica->members;
    peer.log = replica->log;
    peer.on_message = on_message;
    peer.on_peer_state = on_peer_state;
    peer.context = replica;
    return stoa_peer_start(replica->env, &peer, &replica->transport);
}

static void replica_free(struct stoa_replica *replica) {
    replica_snapshot_close(replica);
    if (replica->paxos != NULL) {
        stoa_paxos_destroy(replica->paxos);
    }
    stoa_journal_close(replica->journal);
    replica_remotes_free(replica);
    replica_speculation_free(replica);
    for (size_t i = 0; i < STOA_REPLICA_PENDING_SLOTS; i++) {
        stoa_buf_free(&replica->pending[i].speculated);
    }
    stoa_buf_free(&replica->checked);
    stoa_buf_free(&replica->batch);
    stoa_buf_free(&replica->value);
    stoa_buf_free(&replica->message);
    stoa_free(replica->arguments);
    stoa_free(replica->entries);
    stoa_free(replica->chunk);
    stoa_free(replica);
}

static int replica_new(struct stoa_env *env, struct stoa_engine *engine,
                       const struct stoa_replica_options *options, struct stoa_replica **out) {
    struct stoa_replica *replica = stoa_calloc(1, sizeof(*replica));
    if (replica == NULL) {
        return STOA_ERR_NOMEM;
    }
    replica->env = env;
    replica->engine = engine;
    replica->log = options->log;
    replica->options = *options;
    replica->members = *options->peer.members;
    replica->options.peer.members = &replica->members;
    snprintf(replica->data_dir, sizeof(replica->data_dir), "%s", options->data_dir);
    replica->options.data_dir = replica->data_dir;
    replica->next_request_id = 1;
    /* Random, so a restarted member never repeats the numbers of its earlier proposals. */
    stoa_env_random_bytes(env, &replica->proposal_number, sizeof(replica->proposal_number));
    replica->proposal_number >>= 2; /* keeps the varint short of its ten-byte worst case */
    stoa_buf_init(&replica->batch, STOA_PAXOS_VALUE_BYTES_MAX);
    for (size_t i = 0; i < STOA_REPLICA_PENDING_SLOTS; i++) {
        stoa_buf_init(&replica->pending[i].speculated,
                      (size_t)STOA_ENGINE_BATCH_COMMANDS_MAX * SPECULATED_RECORD_BYTES);
    }
    stoa_buf_init(&replica->checked, STOA_COMMAND_BYTES_MAX);
    stoa_buf_init(&replica->value, STOA_PAXOS_VALUE_BYTES_MAX);
    stoa_buf_init(&replica->message, STOA_PEER_FRAME_PAYLOAD_BYTES_MAX);
    replica->entries = stoa_calloc(STOA_PAXOS_MESSAGE_ENTRIES_MAX, sizeof(*replica->entries));
    replica->chunk = stoa_alloc(STOA_REPLICA_SNAPSHOT_CHUNK_BYTES + 128); /* + a chunk header */
    *out = replica;
    if (replica->entries == NULL || replica->chunk == NULL) {
        return STOA_ERR_NOMEM;
    }
    int result = replica_speculation_init(replica);
    return result == STOA_OK ? replica_remotes_init(replica) : result;
}

int stoa_replica_start(struct stoa_env *env, struct stoa_engine *engine,
                       const struct stoa_replica_options *options, struct stoa_replica **out,
                       char *error, size_t error_bytes) {
    STOA_ASSERT(env != NULL && engine != NULL && options != NULL && out != NULL);
    STOA_ASSERT(options->peer.members != NULL && options->tick_ms > 0);
    STOA_ASSERT(stoa_engine_durability(engine) == STOA_ENGINE_DURABILITY_NONE);
    struct stoa_replica *replica = NULL;
    int result = replica_new(env, engine, options, &replica);
    if (result != STOA_OK) {
        snprintf(error, error_bytes, "out of memory");
        if (replica != NULL) {
            replica_free(replica);
        }
        return result;
    }
    result = open_core(replica, error, error_bytes);
    if (result == STOA_OK) {
        result = start_transport(replica);
        if (result != STOA_OK) {
            snprintf(error, error_bytes, "cannot start the peer transport: %s",
                     stoa_err_message(result));
        }
    }
    if (result == STOA_OK) {
        result = open_handles(replica);
    }
    if (result != STOA_OK) {
        /* Handles were never started; the transport is not either when result came from
         * it. Stopping a started transport needs the loop, so this path only runs before. */
        STOA_ASSERT(replica->ticker == NULL || replica->hook == NULL || result == STOA_OK);
        replica_free(replica);
        return result;
    }
    struct stoa_paxos_status status;
    stoa_paxos_status(replica->paxos, &status);
    STOA_LOG_INFO(replica->log, MODULE, "replica started",
                  STOA_FIELD_UINT("self", options->self_id),
                  STOA_FIELD_UINT("members", replica->members.count),
                  STOA_FIELD_UINT("commit_index", status.commit_index),
                  STOA_FIELD_UINT("applied_index", status.applied_index));
    *out = replica;
    return STOA_OK;
}

static void maybe_stopped(struct stoa_replica *replica) {
    if (replica->closes_pending > 0) {
        return;
    }
    void (*on_stopped)(void *context) = replica->on_stopped;
    void *context = replica->stopped_context;
    replica_free(replica);
    if (on_stopped != NULL) {
        on_stopped(context);
    }
}

static void on_handle_closed(void *context) {
    struct stoa_replica *replica = context;
    replica->closes_pending--;
    maybe_stopped(replica);
}

void stoa_replica_stop(struct stoa_replica *replica, void (*on_stopped)(void *context),
                       void *context) {
    STOA_ASSERT(replica != NULL && !replica->stopping);
    replica_fail_all(replica, STOA_ERR_CLOSED,
                     "TIMEOUT the node is shutting down: the outcome is unknown");
    replica->stopping = true;
    replica->on_stopped = on_stopped;
    replica->stopped_context = context;
    struct stoa_env *env = replica->env;
    replica->closes_pending = 3;
    env->ops->timer_close(replica->ticker, on_handle_closed, replica);
    env->ops->loop_hook_close(replica->hook, on_handle_closed, replica);
    stoa_peer_stop(replica->transport, on_handle_closed, replica);
}

/* ---- operations ---- */

void stoa_replica_status(const struct stoa_replica *replica, struct stoa_paxos_status *status) {
    stoa_paxos_status(replica->paxos, status);
}

bool stoa_replica_log_entry(const struct stoa_replica *replica, uint64_t slot,
                            struct stoa_paxos_entry *entry) {
    return stoa_paxos_entry_get(replica->paxos, slot, entry);
}

void stoa_replica_campaign(struct stoa_replica *replica) {
    if (replica->failure == STOA_OK) {
        stoa_paxos_campaign(replica->paxos);
    }
}

static int propose_config(struct stoa_replica *replica, enum stoa_paxos_config_op op, uint32_t id) {
    uint8_t value[STOA_PAXOS_CONFIG_CHANGE_BYTES];
    stoa_paxos_config_change_encode(op, id, value);
    uint64_t slot = 0;
    uint32_t hint = 0;
    return stoa_paxos_propose(replica->paxos, STOA_PAXOS_KIND_CONFIG, value, sizeof(value), &slot,
                              &hint);
}

/* Learns a member's peer address (from config, or from a chosen member-address entry). */
static void learn_member(struct stoa_replica *replica, uint32_t id,
                         const struct stoa_address *address) {
    if (stoa_member_list_find(&replica->members, id) != NULL ||
        replica->members.count >= STOA_PEER_MEMBERS_MAX) {
        return;
    }
    if (id != replica->options.self_id) {
        int result = stoa_peer_member_add(replica->transport, id, address);
        if (result != STOA_OK && result != STOA_ERR_EXISTS) {
            STOA_LOG_WARN(replica->log, MODULE, "cannot add a peer", STOA_FIELD_UINT("id", id),
                          STOA_FIELD_ERR(result));
            return;
        }
    }
    struct stoa_member *member = &replica->members.members[replica->members.count++];
    member->id = id;
    member->address = *address;
    char text[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(address, text);
    STOA_LOG_INFO(replica->log, MODULE, "learned a member's address", STOA_FIELD_UINT("id", id),
                  STOA_FIELD_STR("address", text));
}

void replica_apply_member(struct stoa_replica *replica, const struct stoa_paxos_entry *entry) {
    struct stoa_address address;
    uint32_t id = 0;
    const uint8_t *text = NULL;
    size_t text_length = 0;
    if (stoa_batch_member_decode(entry->value, entry->length, &id, &text, &text_length) ==
            STOA_OK &&
        stoa_address_parse((const char *)text, text_length, &address) == STOA_OK) {
        learn_member(replica, id, &address);
    } else {
        STOA_LOG_ERROR(replica->log, MODULE, "a member-address entry does not decode",
                       STOA_FIELD_UINT("slot", entry->slot));
    }
    stoa_engine_applied_set(replica->engine, entry->slot);
}

int stoa_replica_member_add(struct stoa_replica *replica, uint32_t id,
                            const struct stoa_address *address) {
    if (id == 0 || address == NULL) {
        return STOA_ERR_INVALID;
    }
    /* First every member learns the address (an ordinary entry, applied in order before
     * the change), then the change itself. */
    char text[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(address, text);
    struct stoa_buf value;
    stoa_buf_init(&value, STOA_PAXOS_VALUE_BYTES_MAX);
    int result = stoa_batch_member_encode(&value, id, text, strlen(text));
    uint64_t slot = 0;
    uint32_t hint = 0;
    if (result == STOA_OK) {
        result = stoa_paxos_propose(replica->paxos, STOA_PAXOS_KIND_NORMAL, value.data,
                                    (uint32_t)value.length, &slot, &hint);
    }
    stoa_buf_free(&value);
    if (result == STOA_OK) {
        result = propose_config(replica, STOA_PAXOS_CONFIG_ADD, id);
    }
    return result;
}

int stoa_replica_member_remove(struct stoa_replica *replica, uint32_t id) {
    return propose_config(replica, STOA_PAXOS_CONFIG_REMOVE, id);
}

void stoa_replica_addresses(const struct stoa_replica *replica, char *text, size_t capacity) {
    if (stoa_member_list_format(&replica->members, text, capacity) != STOA_OK && capacity > 0) {
        text[0] = '\0';
    }
}

const struct stoa_peer_transport *stoa_replica_transport(const struct stoa_replica *replica) {
    return replica->transport;
}

void stoa_replica_stats(const struct stoa_replica *replica, struct stoa_replica_stats *stats) {
    *stats = replica->stats;
}
