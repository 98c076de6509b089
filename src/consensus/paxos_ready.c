/* The outbox and the batch of outputs. Handlers queue messages as intents; stoa_paxos_ready
 * turns them into messages, taking entries from the log as it is at that moment (so no
 * borrowed value can go stale before the driver sends it), and gathers the writes to
 * persist and the entries to apply. stoa_paxos_advance records that the batch is done. */
#include <string.h>

#include "consensus/paxos_int.h"
#include "util/assert.h"
#include "util/err.h"

struct stoa_paxos_message *paxos_outbox_add(struct stoa_paxos *paxos, uint8_t type, uint32_t to) {
    if (paxos->intent_count >= STOA_PAXOS_OUTBOX_MESSAGES_MAX) {
        STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "message dropped",
                       STOA_FIELD_STR("why", "outbox full"), STOA_FIELD_UINT("type", type),
                       STOA_FIELD_UINT("to", to));
        return NULL;
    }
    struct stoa_paxos_message *message = &paxos->intents[paxos->intent_count++].message;
    *message = (struct stoa_paxos_message){
        .type = type,
        .from = paxos->config.self_id,
        .to = to,
    };
    return message;
}

static void intents_clear(struct stoa_paxos *paxos) {
    paxos->intent_count = 0;
    for (uint32_t i = 0; i < paxos->peer_count; i++) {
        paxos->peers[i].accept_intent = 0;
    }
}

/* Only a PROMISE and an ACCEPTED state what this node has on disk. */
static bool needs_persist(uint8_t type) {
    return type == STOA_PAXOS_MSG_PROMISE || type == STOA_PAXOS_MSG_ACCEPTED;
}

struct builder {
    struct stoa_paxos *paxos;
    uint32_t message_count;
    /* A new leader's promise of its own ballot is in this batch: until it is on disk, nothing
     * goes out under that ballot, so a crash now cannot lead to the ballot being used twice
     * with different values (the restarted node picks its next round from its promise). */
    bool ballot_unsettled;
};

static struct stoa_paxos_message *message_start(struct builder *builder,
                                                const struct stoa_paxos_message *intent) {
    struct stoa_paxos *paxos = builder->paxos;
    if (builder->message_count >= STOA_PAXOS_OUTBOX_MESSAGES_MAX) {
        STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "message dropped",
                       STOA_FIELD_STR("why", "batch full"), STOA_FIELD_UINT("to", intent->to));
        return NULL;
    }
    struct stoa_paxos_message *message = &paxos->out_messages[builder->message_count++];
    *message = *intent;
    message->entries = &paxos->out_entries[paxos->out_entry_count];
    message->entry_count = 0;
    message->after_persist = needs_persist(intent->type) ||
                             (builder->ballot_unsettled && intent->type != STOA_PAXOS_MSG_NACK &&
                              intent->type != STOA_PAXOS_MSG_HEARTBEAT_ACK);
    return message;
}

/* Appends held entries from slot on while they fit one message; returns the next slot. The
 * filter decides which slots may go (ballot, chosen); the first that may not ends it. */
enum filter { FILTER_ANY, FILTER_OWN_BALLOT, FILTER_CHOSEN };

static uint64_t fill(struct stoa_paxos *paxos, struct stoa_paxos_message *message, uint64_t slot,
                     uint64_t last, enum filter filter, bool *stopped) {
    uint64_t bytes = 0;
    *stopped = false;
    for (; slot <= last; slot++) {
        struct paxos_slot *entry = paxos_slot_get(paxos, slot);
        if (entry == NULL || !entry->present) {
            if (filter == FILTER_ANY) {
                continue; /* a promise reports only what is held */
            }
            *stopped = true;
            break;
        }
        bool allowed = filter == FILTER_ANY || (filter == FILTER_CHOSEN && entry->chosen) ||
                       (filter == FILTER_OWN_BALLOT &&
                        stoa_paxos_ballot_compare(entry->ballot, paxos->own_ballot) == 0);
        if (!allowed) {
            *stopped = true;
            break;
        }
        bool full =
            message->entry_count >= STOA_PAXOS_MESSAGE_ENTRIES_MAX ||
            paxos->out_entry_count >= STOA_PAXOS_OUTBOX_ENTRIES_MAX ||
            (message->entry_count > 0 && bytes + entry->length > STOA_PAXOS_MESSAGE_BATCH_BYTES);
        if (full) {
            break;
        }
        paxos->out_entries[paxos->out_entry_count++] = paxos_slot_entry(paxos, slot);
        message->entry_count++;
        bytes += entry->length;
    }
    return slot;
}

static void build_accepts(struct builder *builder, const struct stoa_paxos_message *intent) {
    struct stoa_paxos *paxos = builder->paxos;
    if (paxos->role != STOA_PAXOS_LEADER ||
        stoa_paxos_ballot_compare(intent->ballot, paxos->own_ballot) != 0) {
        return;
    }
    uint64_t slot = intent->slot > paxos->snapshot_index ? intent->slot : paxos->snapshot_index + 1;
    uint64_t last = intent->slot_last < paxos->last_slot ? intent->slot_last : paxos->last_slot;
    while (slot <= last) {
        struct stoa_paxos_message *message = message_start(builder, intent);
        if (message == NULL) {
            return;
        }
        bool stopped = false;
        message->slot = slot;
        message->commit_index = paxos->commit_index;
        slot = fill(paxos, message, slot, last, FILTER_OWN_BALLOT, &stopped);
        if (message->entry_count == 0) {
            builder->message_count--;
            return;
        }
        message->slot_last = message->slot + message->entry_count - 1;
        if (stopped) {
            return;
        }
    }
}

/* A promise reports every entry held from the slot asked for, in pieces of one batch. */
static void build_promise(struct builder *builder, const struct stoa_paxos_message *intent) {
    struct stoa_paxos *paxos = builder->paxos;
    uint64_t slot = intent->slot;
    uint64_t last = paxos->last_slot;
    for (;;) {
        struct stoa_paxos_message *message = message_start(builder, intent);
        if (message == NULL) {
            return;
        }
        bool stopped = false;
        message->slot = slot;
        message->commit_index = paxos->commit_index;
        message->snapshot_index = paxos->snapshot_index;
        uint64_t next =
            slot <= last ? fill(paxos, message, slot, last, FILTER_ANY, &stopped) : slot;
        if (next > last) {
            message->slot_last = last >= slot ? last : slot - 1;
            message->flags = STOA_PAXOS_FLAG_LAST;
            return;
        }
        message->slot_last = next - 1;
        slot = next;
        if (paxos->out_entry_count >= STOA_PAXOS_OUTBOX_ENTRIES_MAX) {
            return; /* the candidate will retry its prepare */
        }
    }
}

static void build_catchup(struct builder *builder, const struct stoa_paxos_message *intent) {
    struct stoa_paxos *paxos = builder->paxos;
    if (paxos->role != STOA_PAXOS_LEADER || intent->slot <= paxos->snapshot_index) {
        return;
    }
    struct stoa_paxos_message *message = message_start(builder, intent);
    if (message == NULL) {
        return;
    }
    bool stopped = false;
    message->ballot = paxos->own_ballot;
    message->commit_index = paxos->commit_index;
    (void)fill(paxos, message, intent->slot, paxos->commit_index, FILTER_CHOSEN, &stopped);
    message->slot_last = message->slot + message->entry_count - 1;
}

static void build_messages(struct stoa_paxos *paxos, struct stoa_paxos_ready *ready) {
    struct builder builder = {
        .paxos = paxos,
        .ballot_unsettled =
            paxos->role == STOA_PAXOS_LEADER &&
            stoa_paxos_ballot_compare(paxos->promised_persisted, paxos->own_ballot) < 0,
    };
    for (uint32_t i = 0; i < paxos->intent_count; i++) {
        const struct stoa_paxos_message *intent = &paxos->intents[i].message;
        switch ((enum stoa_paxos_message_type)intent->type) {
        case STOA_PAXOS_MSG_ACCEPT:
            build_accepts(&builder, intent);
            break;
        case STOA_PAXOS_MSG_PROMISE:
            build_promise(&builder, intent);
            break;
        case STOA_PAXOS_MSG_CATCHUP:
            build_catchup(&builder, intent);
            break;
        case STOA_PAXOS_MSG_HEARTBEAT: {
            if (paxos->role != STOA_PAXOS_LEADER) {
                break;
            }
            struct stoa_paxos_message *heartbeat = message_start(&builder, intent);
            if (heartbeat != NULL) {
                heartbeat->commit_index = paxos->commit_index;
            }
            break;
        }
        case STOA_PAXOS_MSG_PREPARE:
        case STOA_PAXOS_MSG_NACK:
        case STOA_PAXOS_MSG_ACCEPTED:
        case STOA_PAXOS_MSG_HEARTBEAT_ACK:
        case STOA_PAXOS_MSG_CATCHUP_REQUEST:
        case STOA_PAXOS_MSG_TIMEOUT_NOW: {
            struct stoa_paxos_message *message = message_start(&builder, intent);
            if (message != NULL && intent->type != STOA_PAXOS_MSG_PREPARE &&
                intent->type != STOA_PAXOS_MSG_CATCHUP_REQUEST &&
                intent->type != STOA_PAXOS_MSG_NACK) {
                message->commit_index = paxos->commit_index;
            }
            if (message != NULL && intent->type == STOA_PAXOS_MSG_HEARTBEAT_ACK) {
                message->slot_last = paxos->last_slot;
            }
            break;
        }
        }
    }
    ready->messages = paxos->out_messages;
    ready->message_count = builder.message_count;
    for (uint32_t i = 0; i < builder.message_count; i++) {
        const struct stoa_paxos_message *message = &paxos->out_messages[i];
        int peer = paxos_peer_index(paxos, message->to);
        if (peer > 0 && (message->type == STOA_PAXOS_MSG_ACCEPT ||
                         message->type == STOA_PAXOS_MSG_HEARTBEAT) &&
            message->commit_index > paxos->peers[peer].commit_sent) {
            paxos->peers[peer].commit_sent = message->commit_index;
        }
    }
}

/* The leader tells a follower of a commit at once when nothing else would carry it: without
 * this, a follower learns of its last slots only at the next heartbeat (a blocked pop there,
 * or a fast read, waits that long on an idle group). The notice is a heartbeat of the
 * current round (no new round: its acknowledgement renews nothing the round's first one did
 * not). Under load every batch sends ACCEPTs, which carry the commit index, so none goes. */
static void commit_notices(struct stoa_paxos *paxos) {
    if (paxos->role != STOA_PAXOS_LEADER || !paxos->leader_ready || paxos->round == 0) {
        return;
    }
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        struct paxos_peer *peer = &paxos->peers[i];
        if (peer->id == 0 || peer->accept_intent > 0 || peer->commit_sent >= paxos->commit_index) {
            continue;
        }
        bool heartbeat_queued = false;
        for (uint32_t k = 0; k < paxos->intent_count && !heartbeat_queued; k++) {
            const struct stoa_paxos_message *intent = &paxos->intents[k].message;
            heartbeat_queued = intent->type == STOA_PAXOS_MSG_HEARTBEAT && intent->to == peer->id;
        }
        if (heartbeat_queued) {
            continue;
        }
        struct stoa_paxos_message *message =
            paxos_outbox_add(paxos, STOA_PAXOS_MSG_HEARTBEAT, peer->id);
        if (message != NULL) {
            message->ballot = paxos->own_ballot;
            message->round = paxos->round;
        }
    }
}

static void build_writes(struct stoa_paxos *paxos, struct stoa_paxos_ready *ready) {
    uint32_t count = 0;
    uint64_t low =
        paxos->dirty_low > paxos->snapshot_index ? paxos->dirty_low : paxos->snapshot_index + 1;
    uint64_t high = paxos->dirty_high < paxos->last_slot ? paxos->dirty_high : paxos->last_slot;
    for (uint64_t slot = low; slot <= high; slot++) {
        struct paxos_slot *entry = paxos_slot_get(paxos, slot);
        if (entry != NULL && entry->present && entry->dirty) {
            STOA_ASSERT(count < paxos->capacity);
            paxos->out_writes[count++] = paxos_slot_entry(paxos, slot);
        }
    }
    ready->writes = paxos->out_writes;
    ready->write_count = count;
    paxos->ready_write_count = count;
}

static void build_applies(struct stoa_paxos *paxos, struct stoa_paxos_ready *ready) {
    uint32_t count = 0;
    uint64_t slot = paxos->applied_index + 1;
    for (; slot <= paxos->commit_index && count < STOA_PAXOS_APPLY_MAX; slot++) {
        struct paxos_slot *entry = paxos_slot_get(paxos, slot);
        STOA_ASSERT(entry != NULL && entry->present && entry->chosen);
        paxos->out_applies[count++] = paxos_slot_entry(paxos, slot);
    }
    paxos->ready_applied = slot - 1;
    ready->applies = paxos->out_applies;
    ready->apply_count = count;
}

bool stoa_paxos_ready(struct stoa_paxos *paxos, struct stoa_paxos_ready *ready) {
    STOA_ASSERT(!paxos->in_ready);
    if (paxos->read_round_wanted) {
        paxos->read_round_wanted = false;
        if (paxos->role == STOA_PAXOS_LEADER) {
            paxos_heartbeat_send(paxos);
        }
    }
    commit_notices(paxos);
    *ready = (struct stoa_paxos_ready){0};
    paxos->out_entry_count = 0;
    ready->promised_changed =
        stoa_paxos_ballot_compare(paxos->promised, paxos->promised_persisted) != 0;
    ready->promised = paxos->promised;
    paxos->ready_promised = paxos->promised;
    ready->commit_changed = paxos->commit_index != paxos->commit_persisted;
    ready->commit_index = paxos->commit_index;
    paxos->ready_commit = paxos->commit_index;
    build_writes(paxos, ready);
    build_messages(paxos, ready);
    build_applies(paxos, ready);
    ready->snapshot_to = paxos->snapshot_to;
    ready->snapshot_count = paxos->snapshot_count;
    ready->reads = paxos->reads_ready;
    ready->read_count = paxos->reads_ready_count;
    ready->reads_failed = paxos->reads_failed;
    ready->read_failed_count = paxos->reads_failed_count;
    bool any = ready->promised_changed || ready->commit_changed || ready->write_count > 0 ||
               ready->message_count > 0 || ready->apply_count > 0 || ready->snapshot_count > 0 ||
               ready->read_count > 0 || ready->read_failed_count > 0;
    if (!any) {
        intents_clear(paxos);
        return false;
    }
    paxos->in_ready = true;
    return true;
}

void stoa_paxos_advance(struct stoa_paxos *paxos) {
    STOA_ASSERT(paxos->in_ready);
    paxos->in_ready = false;
    bool leader = paxos->role == STOA_PAXOS_LEADER;
    bool self_acked = false;
    for (uint32_t i = 0; i < paxos->ready_write_count; i++) {
        struct paxos_slot *entry = paxos_slot_get(paxos, paxos->out_writes[i].slot);
        if (entry == NULL || !entry->present) {
            continue;
        }
        entry->dirty = false;
        entry->durable = true;
        /* The leader's own accept counts only now that it is on disk. */
        if (leader && stoa_paxos_ballot_compare(entry->ballot, paxos->own_ballot) == 0) {
            entry->acks |= 1u;
            /* PLANT EARLY_ACK: the leader's own accept is taken for a quorum. */
            if (!entry->chosen &&
                (paxos_is_quorum(paxos, entry->acks) || STOA_PLANTED(EARLY_ACK))) {
                entry->chosen = true;
            }
            self_acked = true;
        }
    }
    paxos->ready_write_count = 0;
    paxos->promised_persisted = paxos->ready_promised;
    paxos->commit_persisted = paxos->ready_commit;
    paxos->applied_index = paxos->ready_applied;
    intents_clear(paxos);
    paxos->snapshot_count = 0;
    paxos->reads_ready_count = 0;
    paxos->reads_failed_count = 0;
    paxos->dirty_low = UINT64_MAX;
    paxos->dirty_high = 0;
    if (self_acked && paxos_commit_advance(paxos)) {
        paxos_leader_check_ready(paxos);
    }
}
