/* stoa_sim_member: one simulated member's driver (see stoa_sim.h). It drives its Paxos core the
 * way src/server/replica.c does — persist each batch with one flush, send, apply the chosen
 * batches of commands to the engine, advance — and serves requests the way
 * src/server/replica_request.c does: the leader batches writes into one log value (written
 * and read by cluster/batch.h, the server's codec), answers a write once its slot is
 * applied with its own value, and answers a safe read under its lease or after a read index;
 * a follower forwards to the leader it knows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/batch.h"
#include "consensus/message.h"
#include "engine/apply.h"
#include "engine/keyspace.h"
#include "sim/stoa_sim.h"
#include "util/alloc.h"
#include "util/bytes.h"
#include "util/err.h"

/* Channels: the first byte of every message between members. */
enum channel {
    CHANNEL_PAXOS = 1,
    /* u64 request id, u8 kind, u8 key, i64 argument, u64 client id, u64 sequence */
    CHANNEL_FORWARD = 2,
    CHANNEL_FORWARD_REPLY = 3, /* u64 request id, u8 status, u8 has value, i64 value */
};
#define FORWARD_BYTES (1 + 8 + 1 + 1 + 8 + 8 + 8)
#define FORWARD_REPLY_BYTES (1 + 8 + 1 + 1 + 8)
#define DATA_DIR "/data"
#define JOURNAL_DIR "/data/paxos"

uint64_t sim_hash(const uint8_t *bytes, size_t length) {
    uint64_t hash = 1469598103934665603ULL;
    for (size_t i = 0; i < length; i++) {
        hash = (hash ^ bytes[i]) * 1099511628211ULL;
    }
    return hash == 0 ? 1 : hash;
}

/* ---- replies captured from the engine ---- */

struct capture {
    struct stoa_reply reply;
    bool error;
    bool has_value;
    int64_t value;
};

static void c_status(struct stoa_reply *r, const char *text) {
    (void)r;
    (void)text;
}
static void c_error(struct stoa_reply *r, int code, const char *text) {
    (void)code;
    (void)text;
    ((struct capture *)r->self)->error = true;
}
static void c_integer(struct stoa_reply *r, int64_t value) {
    struct capture *c = r->self;
    c->has_value = true;
    c->value = value;
}
static void c_bulk(struct stoa_reply *r, const uint8_t *data, size_t length) {
    struct capture *c = r->self;
    char text[32];
    if (length == 0 || length >= sizeof(text)) {
        c->error = true;
        return;
    }
    memcpy(text, data, length);
    text[length] = '\0';
    char *end = NULL;
    long long value = strtoll(text, &end, 10);
    c->error = c->error || end == NULL || *end != '\0';
    c->has_value = true;
    c->value = value;
}
static void c_null(struct stoa_reply *r) {
    ((struct capture *)r->self)->has_value = false;
}
static void c_array(struct stoa_reply *r, size_t count) {
    (void)count;
    ((struct capture *)r->self)->error = true;
}
static const struct stoa_reply_ops capture_ops = {c_status, c_error, c_integer, c_bulk,
                                                  c_null,   c_array, c_null};

static void capture_init(struct capture *c) {
    memset(c, 0, sizeof(*c));
    c->reply = (struct stoa_reply){&capture_ops, c};
}

static struct sim_result result_of(const struct capture *c) {
    return (struct sim_result){.status = c->error ? SIM_STATUS_FAIL : SIM_STATUS_OK,
                               .has_value = c->has_value,
                               .value = c->value};
}

/* ---- commands ---- */

static const char *key_name(const struct sim_op *op, char out[8]) {
    static const char prefix[SIM_OP_KIND_COUNT] = {'r', 'r', 'c', 'c', 'd', 'd', 'x'};
    snprintf(out, 8, "%c%u", prefix[op->kind], op->key);
    return out;
}

struct command_space {
    char key[8];
    char number[24];
    uint8_t flags;
    uint8_t integer[8];
    struct stoa_command_argument arguments[4];
};

/* The engine command of a write. */
static struct stoa_command command_of(const struct sim_op *op, int64_t stamp_ms,
                                      struct command_space *space) {
    key_name(op, space->key);
    snprintf(space->number, sizeof(space->number), "%lld", (long long)op->argument);
    struct stoa_command_argument key = {(const uint8_t *)space->key, strlen(space->key)};
    struct stoa_command_argument number = {(const uint8_t *)space->number, strlen(space->number)};
    struct stoa_command_argument flags = {&space->flags, 1};
    struct stoa_command_argument integer = {space->integer, 8};
    struct stoa_command command = {.stamp_ms = stamp_ms,
                                   .client_id = op->client_id,
                                   .sequence = op->sequence,
                                   .arguments = space->arguments};
    space->arguments[0] = key;
    switch (op->kind) {
    case SIM_OP_REGISTER:
        command.opcode = STOA_OP_REGISTER_CLIENT;
        command.argument_count = 0;
        break;
    case SIM_OP_SET:
        space->flags = 0;
        stoa_op_int64_put(space->integer, 0);
        command.opcode = STOA_OP_SET;
        space->arguments[1] = number;
        space->arguments[2] = flags;
        space->arguments[3] = integer;
        command.argument_count = 4;
        break;
    case SIM_OP_INCR:
        stoa_op_int64_put(space->integer, op->argument);
        command.opcode = STOA_OP_INCRBY;
        space->arguments[1] = integer;
        command.argument_count = 2;
        break;
    case SIM_OP_PUSH:
        space->flags = STOA_OP_PUSH_BACK;
        command.opcode = STOA_OP_PUSH;
        space->arguments[1] = flags;
        space->arguments[2] = number;
        command.argument_count = 3;
        break;
    default: /* SIM_OP_POP */
        space->flags = 0;
        stoa_op_int64_put(space->integer, 1);
        command.opcode = STOA_OP_POP;
        space->arguments[1] = flags;
        space->arguments[2] = integer;
        command.argument_count = 3;
        break;
    }
    return command;
}

static bool is_read(const struct sim_op *op) {
    return op->kind == SIM_OP_GET || op->kind == SIM_OP_COUNT_GET;
}

static struct sim_result query(struct sim_world *world, struct sim_member *member,
                               const struct sim_op *op) {
    char key[8];
    key_name(op, key);
    struct stoa_command_argument argument = {(const uint8_t *)key, strlen(key)};
    struct capture capture;
    capture_init(&capture);
    (void)stoa_engine_query(member->engine, sim_member_wall_ms(world, member), STOA_OP_GET,
                            &argument, 1, &capture.reply);
    return result_of(&capture);
}

int64_t sim_member_session_counter(struct sim_world *world, struct sim_member *member) {
    int64_t sum = 0;
    for (uint8_t key = 0; key < SIM_SESSION_KEYS; key++) {
        struct sim_op op = {.kind = SIM_OP_COUNT_GET, .key = SIM_SESSION_KEY_FIRST + key};
        struct sim_result result = query(world, member, &op);
        sum += result.has_value ? result.value : 0;
    }
    return sum;
}

/* ---- replies to clients and to forwarding members ---- */

static void answer(struct sim_world *world, struct sim_member *member, uint32_t origin,
                   uint64_t request_id, const struct sim_result *result) {
    if (origin == 0 && member->blocked_in_sync && member->paused_until > sim_now(world)) {
        /* The process is still in its sync: the client hears when it returns. */
        if (member->held_answer_count < SIM_WAITERS_MAX) {
            member->held_answers[member->held_answer_count++] =
                (struct sim_held_answer){.request_id = request_id, .result = *result};
        }
        return;
    }
    if (origin == 0) {
        sim_clients_reply(sim_world_clients(world), request_id, result);
        return;
    }
    uint8_t bytes[FORWARD_REPLY_BYTES];
    bytes[0] = CHANNEL_FORWARD_REPLY;
    stoa_bytes_put_u64(bytes + 1, request_id);
    bytes[9] = result->status;
    bytes[10] = result->has_value ? 1 : 0;
    stoa_bytes_put_u64(bytes + 11, (uint64_t)result->value);
    sim_send(world, member->id, origin, bytes, sizeof(bytes));
}

static void answer_fail(struct sim_world *world, struct sim_member *member, uint32_t origin,
                        uint64_t request_id) {
    struct sim_result fail = {.status = SIM_STATUS_FAIL};
    answer(world, member, origin, request_id, &fail);
}

static struct sim_waiter *waiter_new(struct sim_member *member) {
    for (uint32_t i = 0; i < SIM_WAITERS_MAX; i++) {
        if (member->waiters[i].state == SIM_WAITER_FREE) {
            return &member->waiters[i];
        }
    }
    return NULL;
}

/* ---- start, crash ---- */

/* --log: a member's log line on standard error, after the world tick. */
static void print_line(void *context, const char *line, size_t length) {
    fprintf(stderr, "tick %llu: %.*s\n", (unsigned long long)sim_now(context), (int)length, line);
}

int sim_member_init(struct sim_world *world, struct sim_member *member, uint32_t id) {
    memset(member, 0, sizeof(*member));
    member->id = id;
    stoa_log_init(&member->log);
    member->log.level_min = STOA_LOG_OFF;
    char name[16];
    snprintf(name, sizeof(name), "n%u", id);
    stoa_log_set_node_id(&member->log, name);
    if (sim_log_wanted(world)) {
        member->log.level_min = STOA_LOG_DEBUG;
        stoa_log_set_sink(&member->log, print_line, world);
    }
    stoa_buf_init(&member->batch, STOA_COMMAND_BYTES_MAX);
    stoa_buf_init(&member->value, STOA_COMMAND_BYTES_MAX);
    uint64_t seed = stoa_prng_next_u64(sim_prng(world));
    int result = stoa_sim_env_create(seed, &member->disk);
    if (result != STOA_OK) {
        return result;
    }
    member->env = stoa_sim_env_get(member->disk);
    result = member->env->ops->mkdir(member->env, DATA_DIR);
    if (result == STOA_OK) {
        result = member->env->ops->sync_dir(member->env, "/");
    }
    return result;
}

static void close_all(struct sim_member *member) {
    stoa_paxos_destroy(member->paxos);
    member->paxos = NULL;
    if (member->journal != NULL) {
        stoa_journal_close(member->journal);
        member->journal = NULL;
    }
    if (member->engine != NULL) {
        /* A snapshot's child ran inline; its end must be seen before the engine closes. */
        stoa_sim_env_advance(member->disk, 0);
        stoa_engine_close(member->engine);
        member->engine = NULL;
    }
}

void sim_member_free(struct sim_member *member) {
    close_all(member);
    if (member->disk != NULL) {
        stoa_sim_env_advance(member->disk, 0);
        stoa_sim_env_destroy(member->disk);
        member->disk = NULL;
    }
    stoa_buf_free(&member->batch);
    stoa_buf_free(&member->value);
}

int sim_member_start(struct sim_world *world, struct sim_member *member) {
    if ((member->up && !member->stopped) || member->lost) {
        return STOA_OK;
    }
    if (member->stopped) {
        /* The process exits; its unsynced writes are gone. */
        sim_crash(world, member, STOA_SIM_CRASH_LOSE);
    }
    struct stoa_journal_options journal_options = {.directory = JOURNAL_DIR,
                                                   .segment_bytes_max = SIM_SEGMENT_BYTES};
    struct stoa_paxos_persisted persisted;
    char error[256];
    int result = stoa_journal_open(member->env, &journal_options, &member->journal, &persisted,
                                   error, sizeof(error));
    if (result == STOA_ERR_CORRUPT || result == STOA_ERR_UNSUPPORTED) {
        member->lost = true; /* an operator must repair it: not in this run */
        return STOA_OK;
    }
    if (result != STOA_OK) {
        return result;
    }
    struct stoa_engine_options engine_options = {.data_dir = DATA_DIR,
                                                 .durability = STOA_ENGINE_DURABILITY_NONE};
    struct stoa_engine_error engine_error;
    result = stoa_engine_open(member->env, &engine_options, &member->engine, &engine_error);
    if (result != STOA_OK) {
        close_all(member);
        return result;
    }
    /* The engine starts from its newest snapshot (or empty) and every chosen slot after it
     * is applied again from the journal, as replica.c starts. */
    struct stoa_engine_stats engine_stats;
    stoa_engine_stats(member->engine, &engine_stats);
    if (engine_stats.applied_index < persisted.snapshot_index) {
        sim_violation(world,
                      "member %u: the journal starts after slot %llu but the newest snapshot "
                      "holds only slot %llu",
                      member->id, (unsigned long long)persisted.snapshot_index,
                      (unsigned long long)engine_stats.applied_index);
    }
    persisted.applied_index = engine_stats.applied_index;
    if (persisted.commit_index < persisted.applied_index) {
        /* The engine applied only chosen slots; the commit record may not be on disk. */
        persisted.commit_index = persisted.applied_index;
    }
    struct stoa_paxos_config config = {
        .self_id = member->id,
        .members = sim_member_ids(world),
        .member_count = sim_voter_count_initial(world),
        .heartbeat_ticks = SIM_HEARTBEAT_TICKS,
        .election_ticks_min = SIM_ELECTION_TICKS_MIN,
        .election_ticks_max = SIM_ELECTION_TICKS_MAX,
        .drift_ticks = SIM_DRIFT_TICKS,
        .window_slots = SIM_WINDOW_SLOTS,
        .log_slots = SIM_LOG_SLOTS,
        .seed = stoa_prng_next_u64(sim_prng(world)),
        .log = &member->log,
    };
    result = stoa_paxos_create(&config, &persisted, &member->paxos);
    if (result != STOA_OK) {
        close_all(member);
        return result;
    }
    /* Promises kept: an acceptor never goes back on a promise it sent, crash or not. */
    struct stoa_paxos_status status;
    stoa_paxos_status(member->paxos, &status);
    if (sim_promise_check(world) &&
        stoa_paxos_ballot_compare(status.promised, member->promise_sent) < 0) {
        sim_violation(world,
                      "promise: member %u restarted having promised round %llu of node %u, "
                      "below the round %llu of node %u it had sent a promise or accept for",
                      member->id, (unsigned long long)status.promised.round,
                      status.promised.node_id, (unsigned long long)member->promise_sent.round,
                      member->promise_sent.node_id);
    }
    member->up = true;
    member->stopped = false;
    member->applied = persisted.applied_index;
    member->compacted_index = persisted.snapshot_index;
    if (member->applied > 0) {
        sim_installed(world, member, member->applied);
    }
    /* A start of its own for the number, drawn without the world's generator, so that the
     * batch header leaves every other draw of a run where it was. */
    uint64_t start[3] = {sim_seed(world), member->id, ++member->starts};
    member->proposal_number = sim_hash((const uint8_t *)start, sizeof(start)) >> 2;
    member->paused_until = 0;
    member->blocked_in_sync = false;
    member->missed_ticks = 0;
    member->crash_at = SIM_CRASH_NONE;
    if (member->fsync_fail_in > 0) {
        stoa_sim_env_fail_fsync_nth(member->disk, member->fsync_fail_in);
        member->fsync_fail_in = 0;
    }
    return STOA_OK;
}

void sim_member_crash(struct sim_world *world, struct sim_member *member,
                      enum stoa_sim_crash_mode mode) {
    /* The disk crashes first, so closing cannot make anything more durable. */
    stoa_sim_env_crash(member->disk, mode);
    close_all(member);
    member->up = false;
    member->stopped = false;
    member->paused_until = 0;
    member->blocked_in_sync = false;
    member->slow_sync_ticks = 0;
    member->held_answer_count = 0; /* never given: the clients time out */
    member->paused_request_count = 0;
    member->crash_at = SIM_CRASH_NONE;
    member->batch_count = 0;
    stoa_buf_reset(&member->batch);
    memset(member->waiters, 0, sizeof(member->waiters));
    memset(member->seen, 0, sizeof(member->seen));
    (void)world;
}

/* The journal failed: the member stops taking part (replica.c's fail), until restarted. */
void sim_member_stop(struct sim_member *member) {
    member->stopped = true;
    memset(member->waiters, 0, sizeof(member->waiters));
    member->batch_count = 0;
    stoa_buf_reset(&member->batch);
}

static bool running(const struct sim_member *member) {
    return member->up && !member->stopped;
}

/* ---- the core's outputs ---- */

static void send_messages(struct sim_world *world, struct sim_member *member,
                          const struct stoa_paxos_ready *ready, bool after_persist) {
    uint8_t *bytes = NULL;
    size_t capacity = 0;
    for (uint32_t i = 0; i < ready->message_count; i++) {
        const struct stoa_paxos_message *message = &ready->messages[i];
        if (message->after_persist != after_persist) {
            continue;
        }
        size_t length = 1 + stoa_paxos_message_size(message);
        if (length > capacity) {
            stoa_free(bytes);
            bytes = stoa_alloc(length);
            capacity = bytes != NULL ? length : 0;
            if (bytes == NULL) {
                continue;
            }
        }
        if ((message->type == STOA_PAXOS_MSG_PROMISE || message->type == STOA_PAXOS_MSG_ACCEPTED) &&
            stoa_paxos_ballot_compare(message->ballot, member->promise_sent) > 0) {
            member->promise_sent = message->ballot;
        }
        bytes[0] = CHANNEL_PAXOS;
        size_t written = 0;
        if (stoa_paxos_message_encode(message, bytes + 1, length - 1, &written) == STOA_OK) {
            sim_send(world, member->id, message->to, bytes, written + 1);
        }
    }
    stoa_free(bytes);
}

static int persist(struct sim_world *world, struct sim_member *member,
                   const struct stoa_paxos_ready *ready) {
    int result = stoa_journal_write(member->journal, ready);
    if (result != STOA_OK) {
        return result;
    }
    bool promise = ready->promised_changed;
    /* PLANT SKIP_PROMISE_FSYNC: a promise alone waits for a later flush. */
    if (sim_plant_is(STOA_PLANT_SKIP_PROMISE_FSYNC)) {
        promise = false;
    }
    if (!promise && ready->write_count == 0) {
        return STOA_OK; /* the commit index goes with the next flush, as replica.c does */
    }
    result = stoa_journal_flush(member->journal);
    if (result == STOA_OK && member->slow_sync_ticks > 0) {
        /* The sync takes its time: the process is blocked in it, and whatever this batch
         * sends after it waits (sim_send holds it) until the sync returns. */
        member->paused_until = sim_now(world) + member->slow_sync_ticks;
        member->blocked_in_sync = true;
        member->slow_sync_ticks = 0;
        sim_fault_count(world, SIM_FAULT_SLOW_FSYNC);
    }
    return result;
}

int64_t sim_member_wall_ms(const struct sim_world *world, const struct sim_member *member) {
    return SIM_EPOCH_MS + (int64_t)sim_now(world) * SIM_TICK_MS + member->wall_offset_ms;
}

/* The waiter of a write this member proposed at slot, at position. */
static struct sim_waiter *proposed_at(struct sim_member *member, uint64_t slot, uint32_t position) {
    for (uint32_t i = 0; i < SIM_WAITERS_MAX; i++) {
        struct sim_waiter *w = &member->waiters[i];
        if (w->state == SIM_WAITER_PROPOSED && w->slot == slot && w->position == position) {
            return w;
        }
    }
    return NULL;
}

/* Writes this member proposed at slot whose value was not chosen there: certainly not
 * applied. */
static void fail_other_value(struct sim_world *world, struct sim_member *member, uint64_t slot,
                             uint64_t value_hash) {
    for (uint32_t i = 0; i < SIM_WAITERS_MAX; i++) {
        struct sim_waiter *w = &member->waiters[i];
        if (w->state == SIM_WAITER_PROPOSED && w->slot == slot && w->value_hash != value_hash) {
            answer_fail(world, member, w->origin, w->request_id);
            w->state = SIM_WAITER_FREE;
        }
    }
}

static void apply_commands(struct sim_world *world, struct sim_member *member,
                           const struct stoa_paxos_entry *entry, uint64_t value_hash) {
    struct stoa_batch_reader reader;
    int result = stoa_batch_open(&reader, entry->value, entry->length);
    struct stoa_command_argument arguments[8];
    const uint8_t *record = NULL;
    size_t record_length = 0;
    uint32_t position = 0;
    while (result == STOA_OK && stoa_batch_next(&reader, &record, &record_length, &position)) {
        struct stoa_command command;
        result = stoa_command_decode(record, record_length, &command, arguments, 8);
        if (result != STOA_OK) {
            break;
        }
        struct capture capture;
        capture_init(&capture);
        bool session_write = command.client_id != 0 && command.opcode == STOA_OP_INCRBY;
        int64_t before = session_write ? sim_member_session_counter(world, member) : 0;
        (void)stoa_engine_apply_chosen(member->engine, entry->slot, position, &command,
                                       &capture.reply);
        int64_t after = session_write ? sim_member_session_counter(world, member) : 0;
        if (after != before) {
            /* Applied, not answered from the session table (deltas are not zero). */
            sim_session_applied(world, member, command.client_id, command.sequence, entry->slot);
        }
        struct sim_waiter *waiter = proposed_at(member, entry->slot, position);
        if (waiter != NULL && waiter->value_hash == value_hash) {
            struct sim_result reply = result_of(&capture);
            if (reply.status == SIM_STATUS_OK) {
                sim_acknowledged_write(world, entry->slot, value_hash);
            }
            answer(world, member, waiter->origin, waiter->request_id, &reply);
            waiter->state = SIM_WAITER_FREE;
        }
    }
    if (result != STOA_OK) {
        sim_violation(world, "member %u: the chosen entry at slot %llu does not decode", member->id,
                      (unsigned long long)entry->slot);
    }
}

static void apply_entry(struct sim_world *world, struct sim_member *member,
                        const struct stoa_paxos_entry *entry) {
    uint8_t kind = entry->kind;
    uint64_t value_hash = sim_hash(entry->value, entry->length) ^ kind;
    fail_other_value(world, member, entry->slot, value_hash);
    if (kind == STOA_PAXOS_KIND_CONFIG) {
        sim_config_applied(world, entry->slot, entry->value, entry->length);
    }
    if (kind == STOA_PAXOS_KIND_NORMAL && entry->length > 0 &&
        entry->value[0] == STOA_BATCH_COMMANDS) {
        apply_commands(world, member, entry, value_hash);
    }
    stoa_engine_applied_set(member->engine, entry->slot);
    member->applied = entry->slot;
    sim_applied(world, member, entry->slot, value_hash);
}

static void read_ready(struct sim_member *member, uint64_t request_id, uint64_t index) {
    for (uint32_t i = 0; i < SIM_WAITERS_MAX; i++) {
        struct sim_waiter *w = &member->waiters[i];
        if (w->state == SIM_WAITER_READ_INDEX && w->request_id == request_id) {
            w->state = SIM_WAITER_READ_READY;
            w->slot = index;
        }
    }
}

static void read_failed(struct sim_world *world, struct sim_member *member, uint64_t request_id) {
    for (uint32_t i = 0; i < SIM_WAITERS_MAX; i++) {
        struct sim_waiter *w = &member->waiters[i];
        if (w->state == SIM_WAITER_READ_INDEX && w->request_id == request_id) {
            answer_fail(world, member, w->origin, w->request_id);
            w->state = SIM_WAITER_FREE;
        }
    }
}

static void serve_ready_reads(struct sim_world *world, struct sim_member *member) {
    for (uint32_t i = 0; i < SIM_WAITERS_MAX; i++) {
        struct sim_waiter *w = &member->waiters[i];
        if (w->state == SIM_WAITER_READ_READY && w->slot <= member->applied) {
            struct sim_result result = query(world, member, &w->op);
            answer(world, member, w->origin, w->request_id, &result);
            w->state = SIM_WAITER_FREE;
        }
    }
}

/* Takes a crash planned for this batch: true if the member is gone. */
static bool crash_here(struct sim_world *world, struct sim_member *member,
                       enum sim_crash_point point) {
    if (member->crash_at != point) {
        return false;
    }
    sim_crash(world, member, member->crash_mode);
    return true;
}

void sim_member_process(struct sim_world *world, struct sim_member *member) {
    for (int round = 0; running(member) && round < 64; round++) {
        struct stoa_paxos_ready ready;
        if (!stoa_paxos_ready(member->paxos, &ready)) {
            break;
        }
        send_messages(world, member, &ready, false);
        if (crash_here(world, member, SIM_CRASH_BEFORE_PERSIST)) {
            return;
        }
        int result = persist(world, member, &ready);
        if (result != STOA_OK) {
            sim_member_stop(member); /* no advance: the core takes no more input */
            return;
        }
        if (crash_here(world, member, SIM_CRASH_AFTER_PERSIST)) {
            return;
        }
        send_messages(world, member, &ready, true);
        for (uint32_t i = 0; i < ready.snapshot_count; i++) {
            sim_member_snapshot_send(world, member, ready.snapshot_to[i]);
        }
        for (uint32_t i = 0; i < ready.apply_count; i++) {
            apply_entry(world, member, &ready.applies[i]);
        }
        for (uint32_t i = 0; i < ready.read_count; i++) {
            read_ready(member, ready.reads[i].request_id, ready.reads[i].index);
        }
        for (uint32_t i = 0; i < ready.read_failed_count; i++) {
            read_failed(world, member, ready.reads_failed[i]);
        }
        stoa_paxos_advance(member->paxos);
    }
    if (running(member)) {
        serve_ready_reads(world, member);
    }
}

void sim_member_tick(struct sim_world *world, struct sim_member *member) {
    if (!running(member)) {
        return;
    }
    stoa_paxos_tick(member->paxos);
    if (stoa_journal_pending(member->journal)) {
        int result = stoa_journal_flush(member->journal);
        if (result != STOA_OK) {
            sim_member_stop(member);
            return;
        }
    }
    sim_member_process(world, member);
    if (running(member)) {
        sim_member_compact(world, member);
    }
}

/* ---- requests ---- */

bool sim_member_is_leader(const struct sim_member *member) {
    if (!running(member)) {
        return false;
    }
    struct stoa_paxos_status status;
    stoa_paxos_status(member->paxos, &status);
    return status.role == STOA_PAXOS_LEADER && status.leader_ready;
}

static uint32_t leader_known(const struct sim_member *member) {
    struct stoa_paxos_status status;
    stoa_paxos_status(member->paxos, &status);
    return status.role == STOA_PAXOS_LEADER ? status.self_id : status.leader_id;
}

static void forward(struct sim_world *world, struct sim_member *member, uint32_t leader,
                    uint64_t request_id, const struct sim_op *op) {
    uint8_t bytes[FORWARD_BYTES];
    bytes[0] = CHANNEL_FORWARD;
    stoa_bytes_put_u64(bytes + 1, request_id);
    bytes[9] = op->kind;
    bytes[10] = op->key;
    stoa_bytes_put_u64(bytes + 11, (uint64_t)op->argument);
    stoa_bytes_put_u64(bytes + 19, op->client_id);
    stoa_bytes_put_u64(bytes + 27, op->sequence);
    sim_send(world, member->id, leader, bytes, sizeof(bytes));
}

static void batch_write(struct sim_world *world, struct sim_member *member, uint32_t origin,
                        uint64_t request_id, const struct sim_op *op) {
    struct sim_waiter *waiter = waiter_new(member);
    if (waiter == NULL) {
        answer_fail(world, member, origin, request_id);
        return;
    }
    struct command_space space;
    /* The leader stamps the time (DESIGN.md §3). */
    struct stoa_command command = command_of(op, sim_member_wall_ms(world, member), &space);
    if (stoa_batch_command_append(&member->batch, &command) != STOA_OK) {
        answer_fail(world, member, origin, request_id);
        return;
    }
    *waiter = (struct sim_waiter){.state = SIM_WAITER_BATCHED,
                                  .origin = origin,
                                  .request_id = request_id,
                                  .op = *op,
                                  .position = member->batch_count++};
}

static void read_safe(struct sim_world *world, struct sim_member *member, uint32_t origin,
                      uint64_t request_id, const struct sim_op *op) {
    if (stoa_paxos_read_lease_valid(member->paxos)) {
        struct sim_result result = query(world, member, op);
        answer(world, member, origin, request_id, &result);
        return;
    }
    struct sim_waiter *waiter = waiter_new(member);
    if (waiter == NULL || stoa_paxos_read_index(member->paxos, request_id, NULL) != STOA_OK) {
        answer_fail(world, member, origin, request_id);
        return;
    }
    *waiter = (struct sim_waiter){
        .state = SIM_WAITER_READ_INDEX, .origin = origin, .request_id = request_id, .op = *op};
    sim_member_process(world, member);
}

static bool seen_before(struct sim_member *member, uint64_t request_id) {
    for (uint32_t i = 0; i < SIM_SEEN_MAX; i++) {
        if (member->seen[i] == request_id) {
            return true;
        }
    }
    member->seen[member->seen_next] = request_id;
    member->seen_next = (member->seen_next + 1) % SIM_SEEN_MAX;
    return false;
}

void sim_member_request(struct sim_world *world, struct sim_member *member, uint32_t origin,
                        uint64_t request_id, const struct sim_op *op) {
    if (!running(member)) {
        if (member->up && origin != 0) {
            answer_fail(world, member, origin, request_id);
        }
        return; /* a client of a dead member times out */
    }
    if (member->paused_until > sim_now(world)) {
        /* The request waits in the socket until the process runs again. */
        if (origin == 0 && member->paused_request_count < SIM_CLIENTS_MAX) {
            member->paused_requests[member->paused_request_count++] =
                (struct sim_waiter){.request_id = request_id, .op = *op};
        }
        return;
    }
    if (origin != 0 && seen_before(member, request_id)) {
        return; /* a duplicated forward: proposed once */
    }
    /* PLANT FOLLOWER_READ: a follower answers a safe read from its own state. */
    if (is_read(op) && sim_plant_is(STOA_PLANT_FOLLOWER_READ) && origin == 0) {
        struct sim_result result = query(world, member, op);
        answer(world, member, origin, request_id, &result);
        return;
    }
    uint32_t leader = leader_known(member);
    if (leader == member->id && sim_member_is_leader(member)) {
        if (is_read(op)) {
            read_safe(world, member, origin, request_id, op);
        } else {
            batch_write(world, member, origin, request_id, op);
        }
        return;
    }
    if (leader == 0 || leader == member->id || origin != 0) {
        answer_fail(world, member, origin, request_id); /* no leader known here: not applied */
        return;
    }
    /* The leader's answer comes back through this member to the client. */
    forward(world, member, leader, request_id, op);
}

void sim_member_resumed(struct sim_world *world, struct sim_member *member) {
    bool blocked = member->blocked_in_sync && member->paused_until > sim_now(world);
    uint32_t answers = blocked ? 0 : member->held_answer_count;
    member->held_answer_count = blocked ? member->held_answer_count : 0;
    for (uint32_t i = 0; i < answers && member->up; i++) {
        sim_clients_reply(sim_world_clients(world), member->held_answers[i].request_id,
                          &member->held_answers[i].result);
    }
    uint32_t count = member->paused_request_count;
    member->paused_request_count = 0;
    for (uint32_t i = 0; i < count && running(member); i++) {
        struct sim_waiter *held = &member->paused_requests[i];
        sim_member_request(world, member, 0, held->request_id, &held->op);
    }
}

void sim_member_propose(struct sim_world *world, struct sim_member *member) {
    if (!running(member) || member->batch_count == 0) {
        return;
    }
    /* As replica_propose_batch: the proposer's id and a number it never reuses make every
     * proposal's value unique (docs/simulation.md, "Findings"). */
    struct stoa_batch_header header = {.proposer_id = member->id,
                                       .proposal_number = member->proposal_number++,
                                       .count = member->batch_count};
    stoa_buf_reset(&member->value);
    int result =
        stoa_batch_encode(&member->value, &header, member->batch.data, member->batch.length);
    uint64_t slot = 0;
    if (result == STOA_OK) {
        result = stoa_paxos_propose(member->paxos, STOA_PAXOS_KIND_NORMAL, member->value.data,
                                    (uint32_t)member->value.length, &slot, NULL);
    }
    if (result == STOA_ERR_FULL) {
        return; /* the window is full: the batch waits */
    }
    uint64_t value_hash =
        sim_hash(member->value.data, member->value.length) ^ STOA_PAXOS_KIND_NORMAL;
    for (uint32_t i = 0; i < SIM_WAITERS_MAX; i++) {
        struct sim_waiter *w = &member->waiters[i];
        if (w->state != SIM_WAITER_BATCHED) {
            continue;
        }
        if (result != STOA_OK) {
            answer_fail(world, member, w->origin, w->request_id);
            w->state = SIM_WAITER_FREE;
            continue;
        }
        w->state = SIM_WAITER_PROPOSED;
        w->slot = slot;
        w->value_hash = value_hash;
    }
    member->batch_count = 0;
    stoa_buf_reset(&member->batch);
    sim_member_process(world, member);
}

/* ---- messages ---- */

static void on_forward(struct sim_world *world, struct sim_member *member, uint32_t from,
                       const uint8_t *bytes, size_t length) {
    if (length != FORWARD_BYTES || bytes[9] >= SIM_OP_KIND_COUNT || bytes[10] >= SIM_KEYS_MAX) {
        return;
    }
    struct sim_op op = {.kind = bytes[9],
                        .key = bytes[10],
                        .argument = (int64_t)stoa_bytes_get_u64(bytes + 11),
                        .client_id = stoa_bytes_get_u64(bytes + 19),
                        .sequence = stoa_bytes_get_u64(bytes + 27)};
    sim_member_request(world, member, from, stoa_bytes_get_u64(bytes + 1), &op);
}

static void on_forward_reply(struct sim_world *world, struct sim_member *member,
                             const uint8_t *bytes, size_t length) {
    if (length != FORWARD_REPLY_BYTES) {
        return;
    }
    (void)member;
    struct sim_result result = {.status = bytes[9],
                                .has_value = bytes[10] == 1,
                                .value = (int64_t)stoa_bytes_get_u64(bytes + 11)};
    answer(world, member, 0, stoa_bytes_get_u64(bytes + 1), &result);
}

void sim_member_receive(struct sim_world *world, struct sim_member *member, uint32_t from,
                        const uint8_t *bytes, size_t length) {
    if (!running(member) || length == 0) {
        return;
    }
    if (bytes[0] == CHANNEL_PAXOS) {
        static struct stoa_paxos_entry entries[STOA_PAXOS_MESSAGE_ENTRIES_MAX];
        struct stoa_paxos_message message;
        if (stoa_paxos_message_decode(bytes + 1, length - 1, &message, entries,
                                      STOA_PAXOS_MESSAGE_ENTRIES_MAX) != STOA_OK ||
            message.from != from) {
            sim_violation(world, "member %u: a message from %u does not decode", member->id, from);
            return;
        }
        (void)stoa_paxos_step(member->paxos, &message);
        sim_member_process(world, member);
    } else if (bytes[0] == CHANNEL_FORWARD) {
        on_forward(world, member, from, bytes, length);
    } else if (bytes[0] == CHANNEL_FORWARD_REPLY) {
        on_forward_reply(world, member, bytes, length);
    } else if (bytes[0] == SIM_CHANNEL_SNAPSHOT) {
        sim_member_on_snapshot(world, member, bytes, length);
    }
}

uint64_t sim_member_digest(const struct sim_member *member) {
    return stoa_keyspace_digest(stoa_engine_keyspace(member->engine), 0);
}
