/* Speculation on the leader: fast writes whose reply depends on the state (INCR, pushes,
 * pops, conditional SETs, DEL's count ...) are answered from a view of the state that already
 * holds every command this leader proposed ahead of them.
 *
 * The view is an overlay (engine/overlay.h) over the engine's keyspace: the keyspace as of
 * the applied index, plus the commands of every slot up to `through` (the newest slot this
 * leader proposed) and of the batch being gathered, applied in log order with the engine's
 * rule for time (each runs at max(its stamp, the clock before it)). The keyspace itself is
 * never changed by it, so snapshots never hold speculative state, and rolling back is dropping
 * the view. A command applied to the view at its place in the log gets the reply the real
 * apply will give, as long as the slots up to it are chosen with the values this leader
 * proposed: the reply is recorded at append and sent once the slot is durable here (as any
 * fast write). If a later leader fills such a slot otherwise, the write is lost, counted in
 * group_fast_writes_lost, as a fast SET is.
 *
 * The view stops (and a later fast write starts it again from the log) when it cannot follow
 * the log: this node stops leading or its ballot changes, a slot it did not speculate takes a
 * place in the chain, an applied entry differs from the one speculated at its slot, a command
 * of a session arrives (its effect depends on the session table), or the view grows past its
 * bounds. A write that cannot be speculated is served safe: never weaker than asked. No
 * speculation when the engine has a memory limit: a write refused for memory by the real
 * apply would have been answered from the view. */
#include <string.h>

#include <xxhash.h>

#include "cluster/batch.h"
#include "engine/apply.h"
#include "engine/overlay.h"
#include "server/replica_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/varint.h"

#define MODULE "replica"

struct speculation {
    struct stoa_overlay overlay;
    struct stoa_apply_state apply;
    struct stoa_session_table sessions; /* always empty: session commands stop the view */
    bool active;
    bool used; /* a write wanted the view since it last caught up */
    uint32_t epoch; /* counts the views built: replies of an earlier one are not used */
    struct stoa_paxos_ballot ballot; /* the ballot the view was built under */
    uint64_t through;                /* the slots up to here are in the view */
    uint64_t start_after; /* after a failure: not built again before this slot is applied */
    int64_t clock_ms;                /* the view's log clock */
    uint64_t slot_hash[STOA_REPLICA_PENDING_SLOTS]; /* value hash of each slot in the view */
    uint64_t slot_of[STOA_REPLICA_PENDING_SLOTS];
    struct stoa_command_argument *arguments;
    size_t argument_capacity;
    struct stoa_reply_recorder recorder;
};

int replica_speculation_init(struct stoa_replica *replica) {
    struct stoa_backend *base = stoa_engine_keyspace_backend(replica->engine);
    if (base == NULL) {
        return STOA_OK; /* keys in an external store: no speculation */
    }
    struct speculation *view = stoa_calloc(1, sizeof(*view));
    if (view == NULL) {
        return STOA_ERR_NOMEM;
    }
    uint64_t seeds[2];
    stoa_env_random_bytes(replica->env, seeds, sizeof(seeds));
    stoa_overlay_init(&view->overlay, base, seeds[0]);
    stoa_overlay_copy_limit_set(&view->overlay, STOA_REPLICA_VIEW_COPY_BYTES_MAX);
    stoa_session_table_init(&view->sessions, 1, seeds[1]);
    stoa_apply_state_init(&view->apply, stoa_overlay_backend(&view->overlay), &view->sessions);
    replica->speculation = view;
    return STOA_OK;
}

void replica_speculation_free(struct stoa_replica *replica) {
    struct speculation *view = replica->speculation;
    if (view == NULL) {
        return;
    }
    stoa_apply_state_free(&view->apply);
    stoa_session_table_free(&view->sessions);
    stoa_overlay_free(&view->overlay);
    stoa_free(view->arguments);
    stoa_free(view);
    replica->speculation = NULL;
}

void replica_speculation_stop(struct stoa_replica *replica, const char *why) {
    struct speculation *view = replica->speculation;
    if (view == NULL || !view->active) {
        return;
    }
    view->active = false;
    stoa_overlay_clear(&view->overlay);
    replica->stats.speculation_stops++;
    STOA_LOG_DEBUG(replica->log, MODULE, "speculation stopped", STOA_FIELD_STR("why", why),
                   STOA_FIELD_UINT("through", view->through));
}

static int decode(struct speculation *view, const uint8_t *data, size_t length,
                  struct stoa_command *command) {
    return stoa_command_decode_growing(data, length, command, &view->arguments,
                                       &view->argument_capacity);
}

/* Whether the view can take command at all (its effect must not depend on sessions). */
static bool speculable(const struct stoa_command *command) {
    return command->client_id == 0 && command->opcode != STOA_OP_REGISTER_CLIENT;
}

/* Applies one command to the view at its place (reply NULL: discarded). */
static int view_apply(struct speculation *view, const struct stoa_command *command,
                      struct stoa_reply *reply) {
    if (!speculable(command)) {
        return STOA_ERR_UNSUPPORTED;
    }
    struct stoa_command timed = *command;
    if (timed.stamp_ms < view->clock_ms) {
        timed.stamp_ms = view->clock_ms;
    }
    /* The index only names sessions, which the view never holds. */
    int result = stoa_apply(&view->apply, 1, &timed, reply);
    if (stoa_overlay_take_declined(&view->overlay)) {
        return STOA_ERR_TOO_LARGE; /* a value too large to copy: the view cannot follow */
    }
    if (result == STOA_ERR_NOMEM) {
        return result;
    }
    view->clock_ms = timed.stamp_ms;
    return STOA_OK;
}

/* Applies a chosen-or-proposed log entry's commands to the view. */
static int view_apply_entry(struct speculation *view, const struct stoa_paxos_entry *entry) {
    if (entry->kind != STOA_PAXOS_KIND_NORMAL || entry->length == 0 ||
        entry->value[0] != STOA_BATCH_COMMANDS) {
        return STOA_OK; /* a no-op, a membership change or a member address: no keys */
    }
    struct stoa_batch_reader reader;
    int result = stoa_batch_open(&reader, entry->value, entry->length);
    const uint8_t *record = NULL;
    size_t record_length = 0;
    uint32_t position = 0;
    while (result == STOA_OK && stoa_batch_next(&reader, &record, &record_length, &position)) {
        struct stoa_command command;
        result = decode(view, record, record_length, &command);
        if (result == STOA_OK) {
            result = view_apply(view, &command, NULL);
        }
    }
    return result;
}

/* Applies the commands of a batch body (records not yet under a header) to the view. */
static int view_apply_body(struct speculation *view, const uint8_t *body, size_t length) {
    size_t offset = 0;
    while (offset < length) {
        uint64_t record_length = 0;
        size_t used = 0;
        if (stoa_varint_get(body + offset, length - offset, &record_length, &used) != STOA_OK ||
            record_length > length - offset - used) {
            return STOA_ERR_MALFORMED;
        }
        offset += used;
        struct stoa_command command;
        int result = decode(view, body + offset, (size_t)record_length, &command);
        if (result == STOA_OK) {
            result = view_apply(view, &command, NULL);
        }
        if (result != STOA_OK) {
            return result;
        }
        offset += (size_t)record_length;
    }
    return STOA_OK;
}

static void remember(struct speculation *view, uint64_t slot, uint64_t hash) {
    view->slot_of[slot % STOA_REPLICA_PENDING_SLOTS] = slot;
    view->slot_hash[slot % STOA_REPLICA_PENDING_SLOTS] = hash;
}

/* Builds the view from the keyspace and the log: every slot after the applied index up to the
 * last slot of the log, then the batch being gathered. */
static bool start(struct stoa_replica *replica, const struct stoa_paxos_status *status) {
    struct speculation *view = replica->speculation;
    if (stoa_engine_memory_limit(replica->engine) != 0) {
        return false;
    }
    struct stoa_engine_stats stats;
    stoa_engine_stats(replica->engine, &stats);
    if (stats.applied_index < view->start_after || status->last_slot < stats.applied_index ||
        status->last_slot - stats.applied_index >= STOA_REPLICA_PENDING_SLOTS) {
        return false;
    }
    stoa_overlay_clear(&view->overlay);
    view->clock_ms = stoa_engine_log_clock(replica->engine);
    view->ballot = status->ballot;
    int result = STOA_OK;
    for (uint64_t slot = stats.applied_index + 1; slot <= status->last_slot; slot++) {
        struct stoa_paxos_entry entry;
        if (!stoa_paxos_entry_get(replica->paxos, slot, &entry)) {
            result = STOA_ERR_NOT_FOUND;
            break;
        }
        result = view_apply_entry(view, &entry);
        if (result != STOA_OK) {
            break;
        }
        remember(view, slot, XXH3_64bits(entry.value, entry.length));
    }
    if (result == STOA_OK) {
        result = view_apply_body(view, replica->batch.data, replica->batch.length);
    }
    if (result != STOA_OK) {
        /* A command in flight the view cannot take: not again until it is applied. */
        stoa_overlay_clear(&view->overlay);
        view->start_after = status->last_slot + 1;
        return false;
    }
    view->through = status->last_slot;
    view->active = true;
    view->epoch++;
    replica->stats.speculation_starts++;
    return true;
}

uint32_t replica_speculation_epoch(const struct stoa_replica *replica) {
    const struct speculation *view = replica->speculation;
    return view != NULL && view->active ? view->epoch : 0;
}

bool replica_speculation_ready(struct stoa_replica *replica, bool wanted) {
    struct speculation *view = replica->speculation;
    if (view == NULL || (!view->active && !wanted)) {
        return false;
    }
    view->used |= wanted;
    struct stoa_paxos_status status;
    stoa_paxos_status(replica->paxos, &status);
    bool leading = status.role == STOA_PAXOS_LEADER && status.leader_ready;
    if (view->active && (!leading || stoa_paxos_ballot_compare(status.ballot, view->ballot) != 0)) {
        replica_speculation_stop(replica, "the ballot changed");
    }
    if (view->active && (stoa_overlay_key_count(&view->overlay) > STOA_REPLICA_VIEW_KEYS_MAX ||
                         stoa_overlay_used_bytes(&view->overlay) > STOA_REPLICA_VIEW_BYTES_MAX)) {
        replica_speculation_stop(replica, "the view grew past its bounds");
    }
    if (!view->active && wanted && leading) {
        (void)start(replica, &status);
    }
    return view->active;
}

bool replica_speculation_append(struct stoa_replica *replica, const struct stoa_command *command,
                                struct stoa_buf *recorded) {
    struct speculation *view = replica->speculation;
    if (view == NULL || !view->active) {
        return false;
    }
    if (!speculable(command)) {
        replica_speculation_stop(replica, "a session's command");
        return false;
    }
    struct stoa_reply *reply = NULL;
    if (recorded != NULL) {
        stoa_buf_reset(recorded);
        stoa_reply_recorder_init(&view->recorder, recorded);
        reply = &view->recorder.reply;
    }
    if (view_apply(view, command, reply) != STOA_OK) {
        /* It is in the batch: a view built before its slot is applied would fail on it. */
        replica_speculation_stop(replica, "a command the view could not apply");
        view->start_after = view->through + 1;
        return false;
    }
    return recorded != NULL && view->recorder.error == STOA_OK;
}

bool replica_speculation_proposed(struct stoa_replica *replica, uint64_t slot, uint64_t hash) {
    struct speculation *view = replica->speculation;
    if (view == NULL || !view->active) {
        return false;
    }
    /* The slots between the view's last and this one were proposed elsewhere (a membership
     * change): they hold no keys, or the view cannot follow. */
    for (uint64_t gap = view->through + 1; gap < slot; gap++) {
        struct stoa_paxos_entry entry;
        if (!stoa_paxos_entry_get(replica->paxos, gap, &entry) ||
            (entry.kind == STOA_PAXOS_KIND_NORMAL && entry.length > 0 &&
             entry.value[0] == STOA_BATCH_COMMANDS)) {
            replica_speculation_stop(replica, "a slot it did not speculate");
            return false;
        }
        remember(view, gap, XXH3_64bits(entry.value, entry.length));
    }
    if (slot <= view->through) {
        replica_speculation_stop(replica, "a slot out of order");
        return false;
    }
    remember(view, slot, hash);
    view->through = slot;
    return true;
}

void replica_speculation_applied(struct stoa_replica *replica,
                                 const struct stoa_paxos_entry *entry) {
    struct speculation *view = replica->speculation;
    if (view == NULL || !view->active || entry->slot > view->through) {
        return;
    }
    size_t at = entry->slot % STOA_REPLICA_PENDING_SLOTS;
    if (view->slot_of[at] != entry->slot ||
        view->slot_hash[at] != XXH3_64bits(entry->value, entry->length)) {
        replica_speculation_stop(replica, "a slot was chosen otherwise");
        return;
    }
    if (entry->slot == view->through && replica->batch_count == 0) {
        /* The keyspace caught up with everything in the view: start it afresh (cheap), so
         * it never holds more than the writes in flight; or stop it, if no write wanted it
         * since the last time (safe writes alone should not pay for applying twice). */
        if (!view->used) {
            replica_speculation_stop(replica, "no fast write wanted it");
            return;
        }
        view->used = false;
        stoa_overlay_clear(&view->overlay);
        view->clock_ms = stoa_engine_log_clock(replica->engine);
    }
}
