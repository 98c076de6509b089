/* Requests through the replica: writes batched into slots, reads by lease or read index,
 * forwarding to the leader and back, and the waiters that carry replies to the doors. */
#include <string.h>

#include <xxhash.h>

#include "cluster/batch.h"
#include "engine/apply.h"
#include "server/replica_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/bytes.h"
#include "util/err.h"

#define MODULE "replica"

#define FORWARD_HEADER_BYTES (1 + 8 + 1)
#define FORWARD_REPLY_HEADER_BYTES (1 + 8 + 1 + 4)

static const char NO_LEADER[] = "CLUSTERDOWN no leader is known: the group is electing one; retry";
static const char NOT_APPLIED[] =
    "TRYAGAIN the leader changed before the write was chosen: it was not applied; retry";
static const char TIMED_OUT[] = "TIMEOUT no answer from the group in time: the outcome is unknown";
static const char NOT_RUN[] =
    "TRYAGAIN the member asked was not the leader (any more): the request was not run; retry";

/* ---- waiter lists ---- */

void waiter_list_push(struct waiter_list *list, struct stoa_replica_waiter *waiter) {
    STOA_ASSERT(waiter->list == NULL);
    waiter->list = list;
    waiter->next = NULL;
    waiter->previous = list->last;
    if (list->last != NULL) {
        list->last->next = waiter;
    } else {
        list->first = waiter;
    }
    list->last = waiter;
    list->count++;
}

void waiter_list_remove(struct stoa_replica_waiter *waiter) {
    struct waiter_list *list = waiter->list;
    if (list == NULL) {
        return;
    }
    if (waiter->previous != NULL) {
        waiter->previous->next = waiter->next;
    } else {
        list->first = waiter->next;
    }
    if (waiter->next != NULL) {
        waiter->next->previous = waiter->previous;
    } else {
        list->last = waiter->previous;
    }
    list->count--;
    waiter->list = NULL;
    waiter->next = NULL;
    waiter->previous = NULL;
}

static void finish(struct stoa_replica_waiter *waiter) {
    waiter_list_remove(waiter);
    waiter->done(waiter);
}

void waiter_fail(struct stoa_replica_waiter *waiter, int code, const char *text) {
    waiter_list_remove(waiter);
    if (waiter->reply != NULL) {
        waiter->reply->ops->error(waiter->reply, code, text);
    }
    waiter->done(waiter);
}

static void fail_list(struct waiter_list *list, int code, const char *text) {
    for (size_t guard = list->count + 1; list->first != NULL && guard > 0; guard--) {
        waiter_fail(list->first, code, text);
    }
}

static struct stoa_replica_waiter *find(struct waiter_list *list, uint64_t key) {
    for (struct stoa_replica_waiter *w = list->first; w != NULL; w = w->next) {
        if (w->key == key) {
            return w;
        }
    }
    return NULL;
}

void stoa_replica_waiter_init(struct stoa_replica_waiter *waiter, struct stoa_reply *reply,
                              stoa_replica_done_fn done, void *context) {
    memset(waiter, 0, sizeof(*waiter));
    waiter->reply = reply;
    waiter->done = done;
    waiter->context = context;
    stoa_buf_init(&waiter->request, STOA_COMMAND_BYTES_MAX);
}

void stoa_replica_cancel(struct stoa_replica *replica, struct stoa_replica_waiter *waiter) {
    (void)replica;
    waiter_list_remove(waiter);
}

void stoa_replica_waiter_free(struct stoa_replica *replica, struct stoa_replica_waiter *waiter) {
    stoa_replica_cancel(replica, waiter);
    stoa_buf_free(&waiter->request);
}

static int decode_command(struct stoa_replica *replica, const uint8_t *data, size_t length,
                          struct stoa_command *command);
static void member_change_here(struct stoa_replica *replica, uint8_t kind,
                               const struct stoa_command *command,
                               struct stoa_replica_waiter *waiter);

/* ---- who leads ---- */

static uint32_t leader_of(const struct stoa_replica *replica, bool *self_ready) {
    struct stoa_paxos_status status;
    stoa_paxos_status(replica->paxos, &status);
    *self_ready = status.role == STOA_PAXOS_LEADER && status.leader_ready;
    if (status.role == STOA_PAXOS_LEADER) {
        return status.self_id;
    }
    return status.leader_id;
}

static int64_t deadline(const struct stoa_replica *replica) {
    return stoa_env_monotonic_ms(replica->env) + replica->options.request_timeout_ms;
}

/* ---- forwarding to the leader ---- */

/* Sends command (a write, or a read as a command record) to the leader; the waiter goes on
 * the forwarded list. */
static void forward(struct stoa_replica *replica, uint32_t leader, enum forward_kind kind,
                    const struct stoa_command *command, struct stoa_replica_waiter *waiter) {
    size_t record_length = stoa_command_encoded_length(command);
    stoa_buf_reset(&replica->message);
    if (stoa_buf_reserve(&replica->message, FORWARD_HEADER_BYTES + record_length) != STOA_OK) {
        waiter_fail(waiter, STOA_ERR_NOMEM, "OOM cannot forward the request");
        return;
    }
    uint64_t request_id = replica->next_request_id++;
    uint8_t *out = replica->message.data;
    out[0] = CHANNEL_FORWARD;
    stoa_bytes_put_u64(out + 1, request_id);
    out[9] = (uint8_t)kind;
    size_t written = 0;
    int result = stoa_command_encode(command, out + FORWARD_HEADER_BYTES, record_length, &written);
    if (result != STOA_OK) {
        waiter_fail(waiter, result, "ERR the request is too large to forward");
        return;
    }
    waiter->key = request_id;
    waiter->deadline_ms = deadline(replica);
    waiter->forward_kind = (uint8_t)kind;
    waiter->forwarded_to = leader;
    waiter_list_push(&replica->forwarded, waiter);
    replica->stats.forwarded_out++;
    replica_send(replica, leader, out, FORWARD_HEADER_BYTES + written);
}

void replica_on_forward_reply(struct stoa_replica *replica, const uint8_t *data, size_t length) {
    if (length < FORWARD_REPLY_HEADER_BYTES - 1) {
        return;
    }
    uint64_t request_id = stoa_bytes_get_u64(data);
    uint8_t status = data[8];
    struct stoa_replica_waiter *waiter = find(&replica->forwarded, request_id);
    if (waiter == NULL) {
        return; /* timed out or cancelled */
    }
    if (status != FORWARD_OK) {
        waiter_fail(waiter, STOA_ERR_NOT_LEADER, NOT_RUN);
        return;
    }
    const uint8_t *reply = data + FORWARD_REPLY_HEADER_BYTES - 1;
    size_t reply_length = length - (FORWARD_REPLY_HEADER_BYTES - 1);
    waiter_list_remove(waiter);
    if (waiter->reply != NULL && stoa_reply_replay(reply, reply_length, waiter->reply) != STOA_OK) {
        waiter->reply->ops->error(waiter->reply, STOA_ERR_MALFORMED,
                                  "ERR the leader's reply does not decode");
    }
    waiter->done(waiter);
    replica_kick(replica);
}

/* ---- remote requests: a follower's, served here ---- */

int replica_remotes_init(struct stoa_replica *replica) {
    replica->remotes = stoa_calloc(STOA_REPLICA_REMOTES_MAX, sizeof(*replica->remotes));
    if (replica->remotes == NULL) {
        return STOA_ERR_NOMEM;
    }
    for (size_t i = 0; i < STOA_REPLICA_REMOTES_MAX; i++) {
        struct remote *remote = &replica->remotes[i];
        remote->replica = replica;
        stoa_buf_init(&remote->recorded, STOA_COMMAND_BYTES_MAX);
        /* Kept across uses (replica_on_forward): a forwarded read waiting for its read
         * index keeps its arguments here. */
        stoa_buf_init(&remote->waiter.request, STOA_COMMAND_BYTES_MAX);
        remote->next_free = replica->free_remotes;
        replica->free_remotes = remote;
    }
    return STOA_OK;
}

void replica_remotes_free(struct stoa_replica *replica) {
    if (replica->remotes == NULL) {
        return;
    }
    for (size_t i = 0; i < STOA_REPLICA_REMOTES_MAX; i++) {
        stoa_buf_free(&replica->remotes[i].recorded);
        stoa_buf_free(&replica->remotes[i].waiter.request);
    }
    stoa_free(replica->remotes);
    replica->remotes = NULL;
}

static void send_forward_reply(struct stoa_replica *replica, uint32_t to, uint64_t request_id,
                               uint8_t status, uint32_t hint, const uint8_t *reply,
                               size_t reply_length) {
    stoa_buf_reset(&replica->message);
    if (stoa_buf_reserve(&replica->message, FORWARD_REPLY_HEADER_BYTES + reply_length) != STOA_OK) {
        return; /* the follower times out */
    }
    uint8_t *out = replica->message.data;
    out[0] = CHANNEL_FORWARD_REPLY;
    stoa_bytes_put_u64(out + 1, request_id);
    out[9] = status;
    stoa_bytes_put_u32(out + 10, hint);
    if (reply_length > 0) {
        memcpy(out + FORWARD_REPLY_HEADER_BYTES, reply, reply_length);
    }
    replica_send(replica, to, out, FORWARD_REPLY_HEADER_BYTES + reply_length);
}

static void remote_done(struct stoa_replica_waiter *waiter) {
    struct remote *remote = waiter->context;
    struct stoa_replica *replica = remote->replica;
    send_forward_reply(replica, remote->from, remote->request_id, FORWARD_OK, 0,
                       remote->recorded.data, remote->recorded.length);
    remote->next_free = replica->free_remotes;
    replica->free_remotes = remote;
}

void replica_on_forward(struct stoa_replica *replica, uint32_t from, const uint8_t *data,
                        size_t length) {
    if (length < FORWARD_HEADER_BYTES - 1) {
        return;
    }
    uint64_t request_id = stoa_bytes_get_u64(data);
    uint8_t kind = data[8];
    bool ready = false;
    uint32_t leader = leader_of(replica, &ready);
    struct remote *remote = replica->free_remotes;
    if (leader != replica->options.self_id || !ready || remote == NULL) {
        send_forward_reply(replica, from, request_id, FORWARD_NOT_LEADER, leader, NULL, 0);
        return;
    }
    struct stoa_command command;
    int result = STOA_ERR_MALFORMED;
    if (kind >= FORWARD_WRITE && kind <= FORWARD_WRITE_FAST) {
        result = decode_command(replica, data + FORWARD_HEADER_BYTES - 1,
                                length - (FORWARD_HEADER_BYTES - 1), &command);
    }
    if (result != STOA_OK) {
        STOA_LOG_DEBUG(replica->log, MODULE, "dropped a forwarded request that does not decode",
                       STOA_FIELD_UINT("from", from), STOA_FIELD_ERR(result));
        return;
    }
    replica->free_remotes = remote->next_free;
    remote->from = from;
    remote->request_id = request_id;
    stoa_buf_reset(&remote->recorded);
    stoa_reply_recorder_init(&remote->recorder, &remote->recorded);
    struct stoa_buf request = remote->waiter.request;
    stoa_replica_waiter_init(&remote->waiter, &remote->recorder.reply, remote_done, remote);
    stoa_buf_free(&remote->waiter.request);
    remote->waiter.request = request;
    replica->stats.forwarded_in++;
    if (kind == FORWARD_WRITE || kind == FORWARD_WRITE_FAST) {
        (void)stoa_replica_write(replica, &command,
                                 kind == FORWARD_WRITE_FAST ? STOA_REPLICA_WRITE_FAST
                                                            : STOA_REPLICA_WRITE_SAFE,
                                 &remote->waiter);
    } else if (kind == FORWARD_MEMBER_ADD || kind == FORWARD_MEMBER_REMOVE) {
        member_change_here(replica, kind, &command, &remote->waiter);
    } else if (stoa_replica_read(replica, stoa_env_real_ms(replica->env), command.opcode,
                                 command.arguments, command.argument_count, STOA_REPLICA_READ_SAFE,
                                 &remote->waiter)) {
        remote_done(&remote->waiter);
    }
}

/* ---- membership changes, from any member ---- */

/* Answers a membership change on the leader: OK once proposed, or why not. */
static void member_change_here(struct stoa_replica *replica, uint8_t kind,
                               const struct stoa_command *command,
                               struct stoa_replica_waiter *waiter) {
    int result = STOA_ERR_MALFORMED;
    uint32_t id = 0;
    if (command->argument_count >= 1 && command->arguments[0].length == 8) {
        uint64_t raw = stoa_bytes_get_u64(command->arguments[0].data);
        id = raw <= UINT32_MAX ? (uint32_t)raw : 0;
        result = id != 0 ? STOA_OK : STOA_ERR_INVALID;
    }
    struct stoa_address address;
    if (result == STOA_OK && kind == FORWARD_MEMBER_ADD) {
        result = command->argument_count == 2 &&
                         stoa_address_parse((const char *)command->arguments[1].data,
                                            command->arguments[1].length, &address) == STOA_OK
                     ? stoa_replica_member_add(replica, id, &address)
                     : STOA_ERR_INVALID;
    } else if (result == STOA_OK) {
        result = stoa_replica_member_remove(replica, id);
    }
    struct stoa_reply *reply = waiter->reply;
    if (result == STOA_OK) {
        reply->ops->status(reply, "OK");
    } else if (result == STOA_ERR_BUSY) {
        reply->ops->error(reply, result, "TRYAGAIN a membership change is in flight: retry");
    } else if (result == STOA_ERR_NOT_LEADER) {
        reply->ops->error(reply, result, NO_LEADER);
    } else {
        reply->ops->error(reply, result, "ERR the membership change was refused");
    }
    waiter->done(waiter);
}

void stoa_replica_member_change(struct stoa_replica *replica, bool add, uint32_t id,
                                const struct stoa_address *address,
                                struct stoa_replica_waiter *waiter) {
    uint8_t raw_id[8];
    stoa_bytes_put_u64(raw_id, id);
    char text[STOA_ADDRESS_TEXT_BYTES_MAX] = "";
    if (address != NULL) {
        stoa_address_format(address, text);
    }
    struct stoa_command_argument arguments[2] = {
        {.data = raw_id, .length = sizeof(raw_id)},
        {.data = (const uint8_t *)text, .length = strlen(text)},
    };
    struct stoa_command command = {
        .opcode = STOA_OP_NOOP, .argument_count = add ? 2 : 1, .arguments = arguments};
    uint8_t kind = add ? FORWARD_MEMBER_ADD : FORWARD_MEMBER_REMOVE;
    bool ready = false;
    uint32_t leader = leader_of(replica, &ready);
    if (replica->failure != STOA_OK || leader == 0) {
        waiter_fail(waiter, STOA_ERR_NOT_LEADER, NO_LEADER);
    } else if (leader == replica->options.self_id) {
        member_change_here(replica, kind, &command, waiter);
    } else {
        forward(replica, leader, (enum forward_kind)kind, &command, waiter);
    }
}

/* ---- writes ---- */

/* Whether a write's reply is OK whatever the state (so it can be answered before it is
 * applied): SET without NX, XX, GET or the SETNX reply, and MSET. A session's write is not:
 * its recorded reply is what a retry gets. */
static bool reply_is_fixed(const struct stoa_command *command) {
    if (command->client_id != 0) {
        return false;
    }
    if (command->opcode == STOA_OP_MSET) {
        return true;
    }
    if (command->opcode != STOA_OP_SET || command->argument_count < 3 ||
        command->arguments[2].length != 1) {
        return false;
    }
    uint8_t flags = command->arguments[2].data[0];
    return (flags & (STOA_OP_SET_NX | STOA_OP_SET_XX | STOA_OP_SET_GET | STOA_OP_SET_INTEGER)) ==
           0;
}

int stoa_replica_write(struct stoa_replica *replica, const struct stoa_command *command,
                       enum stoa_replica_write_mode mode, struct stoa_replica_waiter *waiter) {
    if (replica->failure != STOA_OK || replica->stopping) {
        waiter_fail(waiter, STOA_ERR_FSYNC, TIMED_OUT);
        return STOA_OK;
    }
    bool ready = false;
    uint32_t leader = leader_of(replica, &ready);
    if (leader == 0) {
        waiter_fail(waiter, STOA_ERR_NOT_LEADER, NO_LEADER);
        return STOA_OK;
    }
    if (leader != replica->options.self_id) {
        forward(replica, leader,
                mode == STOA_REPLICA_WRITE_FAST ? FORWARD_WRITE_FAST : FORWARD_WRITE, command,
                waiter);
        return STOA_OK;
    }
    /* The leader stamps the time (DESIGN.md §3). */
    struct stoa_command stamped = *command;
    stamped.stamp_ms = stoa_env_real_ms(replica->env);
    size_t length = stoa_batch_command_length(&stamped);
    /* A batch is bounded in bytes and commands; one command larger than the byte bound
     * travels alone. */
    bool room = replica->batch.length + length <= STOA_REPLICA_BATCH_BYTES_MAX &&
                replica->batch_count < STOA_ENGINE_BATCH_COMMANDS_MAX;
    if (!room && replica->batch_count > 0) {
        replica_propose_batch(replica);
    }
    /* A fast write whose reply depends on the state is answered from the leader's view of
     * the state ahead of it (replica_speculate.c), built now if need be. */
    bool fixed = reply_is_fixed(&stamped);
    bool wanted = mode == STOA_REPLICA_WRITE_FAST && !fixed;
    bool viewed = replica_speculation_ready(replica, wanted);
    int result = STOA_ERR_BUSY;
    if (room || replica->batch_count == 0) {
        result = stoa_batch_command_append(&replica->batch, &stamped);
    }
    if (result != STOA_OK) {
        waiter_fail(waiter, STOA_ERR_BUSY,
                    "TRYAGAIN the leader's batch is full: the write was not applied; retry");
        return STOA_OK;
    }
    waiter->position = replica->batch_count++;
    waiter->speculative = false;
    if (viewed) {
        waiter->speculative =
            replica_speculation_append(replica, &stamped, wanted ? &waiter->request : NULL);
        waiter->view_epoch = replica_speculation_epoch(replica);
    }
    waiter->fast = mode == STOA_REPLICA_WRITE_FAST && (fixed || waiter->speculative);
    waiter->deadline_ms = deadline(replica);
    waiter_list_push(&replica->batch_waiters, waiter);
    return STOA_OK;
}

static void reset_batch(struct stoa_replica *replica) {
    stoa_buf_reset(&replica->batch);
    replica->batch_count = 0;
}

void replica_propose_batch(struct stoa_replica *replica) {
    if (replica->batch_count == 0) {
        return;
    }
    /* The proposer's id and a number it never reuses make the value unique, so matching a
     * chosen value against this node's proposal (by hash) cannot mistake another leader's
     * byte-identical batch for it. */
    struct stoa_batch_header header = {.proposer_id = replica->options.self_id,
                                       .proposal_number = replica->proposal_number++,
                                       .count = replica->batch_count};
    stoa_buf_reset(&replica->value);
    if (stoa_batch_encode(&replica->value, &header, replica->batch.data, replica->batch.length) !=
        STOA_OK) {
        fail_list(&replica->batch_waiters, STOA_ERR_NOMEM, "OOM cannot propose the write");
        reset_batch(replica);
        return;
    }
    uint64_t slot = 0;
    uint32_t hint = 0;
    int result = stoa_paxos_propose(replica->paxos, STOA_PAXOS_KIND_NORMAL, replica->value.data,
                                    (uint32_t)replica->value.length, &slot, &hint);
    if (result == STOA_ERR_FULL) {
        return; /* the window is full: the batch waits for the next hook */
    }
    if (result != STOA_OK) {
        replica_speculation_stop(replica, "the batch was not proposed");
        fail_list(&replica->batch_waiters, result,
                  result == STOA_ERR_NOT_LEADER ? NOT_APPLIED : "ERR the write was refused");
        reset_batch(replica);
        return;
    }
    struct pending_slot *pending = &replica->pending[slot % STOA_REPLICA_PENDING_SLOTS];
    if (pending->slot != 0) {
        fail_list(&pending->waiters, STOA_ERR_TIMEOUT, TIMED_OUT);
    }
    pending->slot = slot;
    pending->value_hash = XXH3_64bits(replica->value.data, replica->value.length);
    pending->fast_waiting = 0;
    pending->fast_answered = 0;
    stoa_buf_reset(&pending->speculated);
    /* The view's replies hold only if this slot follows the view's last one. */
    bool chained = replica_speculation_proposed(replica, slot, pending->value_hash);
    uint32_t epoch = replica_speculation_epoch(replica);
    while (replica->batch_waiters.first != NULL) {
        struct stoa_replica_waiter *waiter = replica->batch_waiters.first;
        waiter_list_remove(waiter);
        waiter->key = slot;
        if (waiter->speculative && (!chained || waiter->view_epoch != epoch)) {
            waiter->speculative = false; /* served safe */
            waiter->fast = false;
        }
        pending->fast_waiting += waiter->fast;
        waiter_list_push(&pending->waiters, waiter);
    }
    replica->stats.proposals++;
    replica->stats.batched_commands += replica->batch_count;
    reset_batch(replica);
}

/* Grows the argument array for a command with many arguments. */
static int decode_command(struct stoa_replica *replica, const uint8_t *data, size_t length,
                          struct stoa_command *command) {
    return stoa_command_decode_growing(data, length, command, &replica->arguments,
                                       &replica->argument_capacity);
}

/* The waiter for position in this node's proposal of the slot, if it is still waiting. */
static struct stoa_replica_waiter *waiter_at(struct pending_slot *pending, uint32_t position) {
    for (struct stoa_replica_waiter *w = pending->waiters.first; w != NULL; w = w->next) {
        if (w->position == position) {
            return w;
        }
    }
    return NULL;
}

/* Whether a speculative reply was sent for position (the records are in position order;
 * *next is the cursor): sets *hash. */
static bool speculated_at(const struct pending_slot *pending, uint32_t position, size_t *next,
                          uint64_t *hash) {
    const uint8_t *data = pending->speculated.data;
    while (*next + SPECULATED_RECORD_BYTES <= pending->speculated.length &&
           stoa_bytes_get_u32(data + *next) < position) {
        *next += SPECULATED_RECORD_BYTES;
    }
    if (*next + SPECULATED_RECORD_BYTES > pending->speculated.length ||
        stoa_bytes_get_u32(data + *next) != position) {
        return false;
    }
    *hash = stoa_bytes_get_u64(data + *next + 4);
    return true;
}

/* The real reply of a command answered from the view was not the one sent: a bug, said loud. */
static void speculation_mismatch(struct stoa_replica *replica, uint64_t slot, uint32_t position) {
    replica->stats.speculation_mismatches++;
    STOA_LOG_ERROR(replica->log, MODULE,
                   "a fast write was answered from the leader's view with a reply the log does "
                   "not give (a bug: please report it)",
                   STOA_FIELD_UINT("slot", slot), STOA_FIELD_UINT("position", position));
}

static void apply_commands(struct stoa_replica *replica, const struct stoa_paxos_entry *entry,
                           struct pending_slot *pending) {
    size_t speculated_next = 0;
    struct stoa_reply_recorder recorder;
    struct stoa_batch_reader reader;
    int result = stoa_batch_open(&reader, entry->value, entry->length);
    const uint8_t *record = NULL;
    size_t record_length = 0;
    uint32_t position = 0;
    while (result == STOA_OK && stoa_batch_next(&reader, &record, &record_length, &position)) {
        struct stoa_command command;
        result = decode_command(replica, record, record_length, &command);
        if (result != STOA_OK) {
            break;
        }
        struct stoa_replica_waiter *waiter = pending != NULL ? waiter_at(pending, position) : NULL;
        struct stoa_reply *reply = waiter != NULL ? waiter->reply : NULL;
        uint64_t sent = 0;
        bool check = waiter == NULL && pending != NULL && pending->speculated.length > 0 &&
                     speculated_at(pending, position, &speculated_next, &sent);
        if (check) {
            stoa_buf_reset(&replica->checked);
            stoa_reply_recorder_init(&recorder, &replica->checked);
            reply = &recorder.reply;
        }
        (void)stoa_engine_apply_chosen(replica->engine, entry->slot, position, &command, reply);
        if (waiter != NULL) {
            finish(waiter);
        }
        if (check && recorder.error == STOA_OK &&
            XXH3_64bits(replica->checked.data, replica->checked.length) != sent) {
            speculation_mismatch(replica, entry->slot, position);
        }
    }
    if (result != STOA_OK) {
        /* A chosen value that does not decode is a bug (it was encoded here or by a peer
         * running the same code): stop applying it, loudly. */
        STOA_LOG_ERROR(replica->log, MODULE, "a chosen entry does not decode",
                       STOA_FIELD_UINT("slot", entry->slot), STOA_FIELD_ERR(result));
    }
    stoa_engine_applied_set(replica->engine, entry->slot);
}

void replica_fast_durable(struct stoa_replica *replica, const struct stoa_paxos_ready *ready) {
    for (uint32_t i = 0; i < ready->write_count; i++) {
        const struct stoa_paxos_entry *entry = &ready->writes[i];
        struct pending_slot *pending = &replica->pending[entry->slot % STOA_REPLICA_PENDING_SLOTS];
        if (pending->slot != entry->slot || pending->fast_waiting == 0 ||
            XXH3_64bits(entry->value, entry->length) != pending->value_hash) {
            continue;
        }
        struct stoa_replica_waiter *next = NULL;
        for (struct stoa_replica_waiter *w = pending->waiters.first; w != NULL; w = next) {
            next = w->next;
            if (!w->fast) {
                continue;
            }
            if (w->reply != NULL && !w->speculative) {
                w->reply->ops->status(w->reply, "OK");
            } else if (w->reply != NULL &&
                       stoa_reply_replay(w->request.data, w->request.length, w->reply) != STOA_OK) {
                w->reply->ops->error(w->reply, STOA_ERR_MALFORMED,
                                     "ERR the speculative reply does not decode");
            }
            if (w->speculative) {
                replica->stats.fast_speculative++;
                uint8_t record[SPECULATED_RECORD_BYTES];
                stoa_bytes_put_u32(record, w->position);
                stoa_bytes_put_u64(record + 4, XXH3_64bits(w->request.data, w->request.length));
                (void)stoa_buf_append(&pending->speculated, record, sizeof(record));
            }
            pending->fast_waiting--;
            pending->fast_answered++;
            replica->stats.fast_writes++;
            finish(w);
        }
        replica->fast_slot_max =
            entry->slot > replica->fast_slot_max ? entry->slot : replica->fast_slot_max;
        replica_kick(replica);
    }
}

/* Whether every fast write this node answered is applied here (safe reads wait for it). */
static bool fast_writes_applied(const struct stoa_replica *replica) {
    if (replica->fast_slot_max == 0) {
        return true;
    }
    struct stoa_engine_stats stats;
    stoa_engine_stats(replica->engine, &stats);
    return stats.applied_index >= replica->fast_slot_max;
}

void replica_apply_entry(struct stoa_replica *replica, const struct stoa_paxos_entry *entry) {
    struct pending_slot *pending = &replica->pending[entry->slot % STOA_REPLICA_PENDING_SLOTS];
    bool mine = pending->slot == entry->slot;
    if (mine && XXH3_64bits(entry->value, entry->length) != pending->value_hash) {
        /* A later leader chose another value for the slot this node proposed. */
        if (pending->fast_answered > 0) {
            replica->stats.fast_writes_lost += pending->fast_answered;
            STOA_LOG_WARN(replica->log, MODULE,
                          "fast writes lost: a later leader filled their slot otherwise",
                          STOA_FIELD_UINT("slot", entry->slot),
                          STOA_FIELD_UINT("writes", pending->fast_answered));
        }
        replica->stats.not_applied += pending->waiters.count;
        fail_list(&pending->waiters, STOA_ERR_NOT_LEADER, NOT_APPLIED);
        mine = false;
    }
    if (entry->length > 0 && entry->value[0] == STOA_BATCH_COMMANDS) {
        apply_commands(replica, entry, mine ? pending : NULL);
    } else if (entry->length > 0 && entry->value[0] == STOA_BATCH_MEMBER) {
        replica_apply_member(replica, entry);
    } else {
        STOA_LOG_ERROR(replica->log, MODULE, "a chosen entry of an unknown format",
                       STOA_FIELD_UINT("slot", entry->slot));
        stoa_engine_applied_set(replica->engine, entry->slot);
    }
    if (mine) {
        fail_list(&pending->waiters, STOA_ERR_MALFORMED, "ERR the write was lost in its batch");
        pending->slot = 0;
    }
    replica_speculation_applied(replica, entry);
    replica_kick(replica);
}

/* ---- reads ---- */

static bool answer_now(struct stoa_replica *replica, int64_t now_ms, uint32_t opcode,
                       const struct stoa_command_argument *arguments, size_t count,
                       struct stoa_reply *reply) {
    (void)stoa_engine_query(replica->engine, now_ms, opcode, arguments, count, reply);
    return true;
}

static bool answer_error(struct stoa_reply *reply, int code, const char *text) {
    if (reply != NULL) {
        reply->ops->error(reply, code, text);
    }
    return true;
}

/* Keeps a read's opcode and arguments in the waiter, as a command record. */
static int keep_read(struct stoa_replica_waiter *waiter, const struct stoa_command *command) {
    size_t length = stoa_command_encoded_length(command);
    stoa_buf_reset(&waiter->request);
    int result = stoa_buf_reserve(&waiter->request, length);
    if (result == STOA_OK) {
        result = stoa_command_encode(command, waiter->request.data, length, &length);
    }
    if (result == STOA_OK) {
        waiter->request.length = length;
    }
    return result;
}

bool stoa_replica_read(struct stoa_replica *replica, int64_t now_ms, uint32_t opcode,
                       const struct stoa_command_argument *arguments, size_t count,
                       enum stoa_replica_read_mode mode, struct stoa_replica_waiter *waiter) {
    if (mode != STOA_REPLICA_READ_SAFE) {
        return answer_now(replica, now_ms, opcode, arguments, count, waiter->reply);
    }
    if (replica->failure != STOA_OK || replica->stopping) {
        return answer_error(waiter->reply, STOA_ERR_FSYNC, TIMED_OUT);
    }
    bool ready = false;
    uint32_t leader = leader_of(replica, &ready);
    struct stoa_command command = {
        .opcode = opcode, .stamp_ms = now_ms, .argument_count = count, .arguments = arguments};
    if (leader == 0 || (leader == replica->options.self_id && !ready)) {
        return answer_error(waiter->reply, STOA_ERR_NOT_LEADER, NO_LEADER);
    }
    if (leader != replica->options.self_id) {
        forward(replica, leader, FORWARD_READ_SAFE, &command, waiter);
        return false;
    }
    if (stoa_paxos_read_lease_valid(replica->paxos)) {
        replica->stats.lease_reads++;
        if (fast_writes_applied(replica)) {
            return answer_now(replica, now_ms, opcode, arguments, count, waiter->reply);
        }
        /* A fast write answered here is not applied yet: read once it is. */
        if (keep_read(waiter, &command) != STOA_OK) {
            return answer_error(waiter->reply, STOA_ERR_NOMEM, "OOM cannot keep the read");
        }
        waiter->opcode = opcode;
        waiter->key = replica->fast_slot_max;
        waiter->deadline_ms = deadline(replica);
        waiter_list_push(&replica->ready_reads, waiter);
        return false;
    }
    if (keep_read(waiter, &command) != STOA_OK) {
        return answer_error(waiter->reply, STOA_ERR_NOMEM, "OOM cannot keep the read");
    }
    uint64_t request_id = replica->next_request_id++;
    uint32_t hint = 0;
    int result = stoa_paxos_read_index(replica->paxos, request_id, &hint);
    if (result != STOA_OK) {
        return answer_error(waiter->reply, result, NO_LEADER);
    }
    waiter->opcode = opcode;
    waiter->key = request_id;
    waiter->deadline_ms = deadline(replica);
    waiter_list_push(&replica->index_reads, waiter);
    replica->stats.index_reads++;
    return false;
}

void replica_read_ready(struct stoa_replica *replica, uint64_t request_id, uint64_t index) {
    struct stoa_replica_waiter *waiter = find(&replica->index_reads, request_id);
    if (waiter != NULL) {
        waiter_list_remove(waiter);
        /* Also after every fast write answered here, so a client reads its own. */
        waiter->key = index > replica->fast_slot_max ? index : replica->fast_slot_max;
        waiter_list_push(&replica->ready_reads, waiter);
    }
}

void replica_read_failed(struct stoa_replica *replica, uint64_t request_id) {
    struct stoa_replica_waiter *waiter = find(&replica->index_reads, request_id);
    if (waiter != NULL) {
        waiter_fail(waiter, STOA_ERR_NOT_LEADER, NO_LEADER);
    }
}

void replica_serve_ready_reads(struct stoa_replica *replica) {
    struct stoa_engine_stats stats;
    stoa_engine_stats(replica->engine, &stats);
    struct stoa_replica_waiter *next = NULL;
    for (struct stoa_replica_waiter *w = replica->ready_reads.first; w != NULL; w = next) {
        next = w->next;
        if (w->key > stats.applied_index) {
            continue;
        }
        struct stoa_command command;
        int result = decode_command(replica, w->request.data, w->request.length, &command);
        waiter_list_remove(w);
        if (result == STOA_OK) {
            (void)stoa_engine_query(replica->engine, stoa_env_real_ms(replica->env), command.opcode,
                                    command.arguments, command.argument_count, w->reply);
        } else if (w->reply != NULL) {
            w->reply->ops->error(w->reply, result, "ERR cannot decode the kept read");
        }
        w->done(w);
        replica_kick(replica);
    }
}

/* ---- the log's clock on an idle group ---- */

void replica_clock_tick(struct stoa_replica *replica) {
    bool ready = false;
    if (leader_of(replica, &ready) != replica->options.self_id || !ready ||
        replica->batch_count > 0) {
        return;
    }
    const struct stoa_keyspace *keyspace = stoa_engine_keyspace(replica->engine);
    int64_t next = stoa_keyspace_next_expiry(keyspace);
    int64_t now = stoa_env_real_ms(replica->env);
    /* Keys expired on the log's clock are reclaimed by the engine's own expiry already. */
    if (next == 0 || next > now || next <= stoa_engine_log_clock(replica->engine) ||
        now - replica->clock_proposed_ms < STOA_REPLICA_CLOCK_INTERVAL_MS) {
        return;
    }
    struct stoa_command noop = {.opcode = STOA_OP_NOOP, .stamp_ms = now};
    if (stoa_batch_command_append(&replica->batch, &noop) != STOA_OK) {
        return;
    }
    replica->batch_count++;
    replica->clock_proposed_ms = now;
    replica->stats.clock_entries++;
    if (replica_speculation_ready(replica, false)) {
        (void)replica_speculation_append(replica, &noop, NULL);
    }
    replica_kick(replica);
}

/* ---- deadlines and stopping ---- */

static void expire_list(struct waiter_list *list, int64_t now_ms, size_t *failed) {
    struct stoa_replica_waiter *next = NULL;
    for (struct stoa_replica_waiter *w = list->first; w != NULL; w = next) {
        next = w->next;
        if (w->deadline_ms <= now_ms) {
            waiter_fail(w, STOA_ERR_TIMEOUT, TIMED_OUT);
            (*failed)++;
        }
    }
}

/* A read forwarded to a member that is no longer the leader will not be answered: a read
 * changes nothing, so it fails at once (TRYAGAIN) instead of waiting for its deadline. A
 * forwarded write keeps waiting: the old leader may have proposed it. */
static void forget_reads_sent_to_old_leaders(struct stoa_replica *replica, size_t *failed) {
    bool ready = false;
    uint32_t leader = leader_of(replica, &ready);
    struct stoa_replica_waiter *next = NULL;
    for (struct stoa_replica_waiter *w = replica->forwarded.first; w != NULL; w = next) {
        next = w->next;
        if (w->forward_kind == FORWARD_READ_SAFE && leader != 0 && w->forwarded_to != leader) {
            waiter_fail(w, STOA_ERR_NOT_LEADER, NOT_RUN);
            (*failed)++;
        }
    }
}

void replica_expire(struct stoa_replica *replica, int64_t now_ms) {
    size_t failed = 0;
    forget_reads_sent_to_old_leaders(replica, &failed);
    expire_list(&replica->batch_waiters, now_ms, &failed);
    expire_list(&replica->forwarded, now_ms, &failed);
    expire_list(&replica->index_reads, now_ms, &failed);
    expire_list(&replica->ready_reads, now_ms, &failed);
    for (size_t i = 0; i < STOA_REPLICA_PENDING_SLOTS; i++) {
        if (replica->pending[i].slot != 0) {
            expire_list(&replica->pending[i].waiters, now_ms, &failed);
        }
    }
    replica->stats.timeouts += failed;
    if (failed > 0) {
        replica_kick(replica);
    }
}

void replica_fail_all(struct stoa_replica *replica, int code, const char *text) {
    fail_list(&replica->batch_waiters, code, text);
    reset_batch(replica);
    fail_list(&replica->forwarded, code, text);
    fail_list(&replica->index_reads, code, text);
    fail_list(&replica->ready_reads, code, text);
    for (size_t i = 0; i < STOA_REPLICA_PENDING_SLOTS; i++) {
        fail_list(&replica->pending[i].waiters, code, text);
        replica->pending[i].slot = 0;
    }
}
