/* ACCEPT (phase 2a) at an acceptor: store each entry under the leader's ballot (unless a
 * higher ballot is promised), answer ACCEPTED for the slots stored — after the batch that
 * holds them is persisted — and commit what the message's commit index covers. */
#include "consensus/paxos_int.h"
#include "util/err.h"

bool paxos_follow(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    if (stoa_paxos_ballot_compare(message->ballot, paxos->promised) < 0) {
        paxos_send_nack(paxos, message->from, STOA_PAXOS_NACK_BALLOT);
        if (paxos->intent_count > 0) {
            paxos->intents[paxos->intent_count - 1].message.round = message->ballot.round;
        }
        return false;
    }
    paxos_promise(paxos, message->ballot);
    if (paxos->role != STOA_PAXOS_FOLLOWER || paxos->leader_id != message->from ||
        stoa_paxos_ballot_compare(paxos->leader_ballot, message->ballot) != 0) {
        paxos_become_follower(paxos, message->ballot, message->from);
        paxos->catchup_sent = false;
        STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "following",
                      STOA_FIELD_UINT("leader", message->from),
                      STOA_FIELD_UINT("round", message->ballot.round));
    }
    paxos->heard_leader = true;
    paxos->heard_leader_tick = paxos->now;
    paxos_election_reset(paxos);
    return true;
}

/* Stores one entry; returns false if it could not (no room, no memory). */
static bool store(struct stoa_paxos *paxos, const struct stoa_paxos_message *message,
                  const struct stoa_paxos_entry *entry) {
    if (entry->slot <= paxos->commit_index) {
        return true; /* chosen here already, with the same value */
    }
    if (!paxos_slot_fits(paxos, entry->slot)) {
        return false;
    }
    struct paxos_slot *held = paxos_slot_get(paxos, entry->slot);
    if (held != NULL && held->present &&
        (held->chosen || stoa_paxos_ballot_compare(held->ballot, message->ballot) == 0)) {
        return true; /* a duplicate, or a value known chosen (the same by Paxos) */
    }
    return paxos_slot_write(paxos, entry->slot, message->ballot, entry->kind, entry->value,
                            entry->length, false) == STOA_OK;
}

void paxos_on_accept(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    for (uint32_t i = 0; i < message->entry_count; i++) {
        if (message->entries[i].slot != message->slot + i ||
            stoa_paxos_ballot_compare(message->entries[i].ballot, message->ballot) != 0) {
            STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "accept dropped",
                           STOA_FIELD_STR("why", "entries not contiguous or not at ballot"));
            return;
        }
    }
    if (!paxos_follow(paxos, message)) {
        return;
    }
    uint64_t stored_last = message->slot - 1;
    for (uint32_t i = 0; i < message->entry_count; i++) {
        if (!store(paxos, message, &message->entries[i])) {
            STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "accept cut short",
                           STOA_FIELD_UINT("slot", message->entries[i].slot));
            break;
        }
        stored_last = message->entries[i].slot;
    }
    if (stored_last >= message->slot) {
        struct stoa_paxos_message *accepted =
            paxos_outbox_add(paxos, STOA_PAXOS_MSG_ACCEPTED, message->from);
        if (accepted != NULL) {
            accepted->ballot = message->ballot;
            accepted->slot = message->slot;
            accepted->slot_last = stored_last;
        }
    }
    paxos_follower_commit(paxos, message->ballot, message->commit_index, message->from);
}
