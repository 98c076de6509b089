/* PREPARE (phase 1a) at an acceptor: promise the ballot and report the accepted entries from
 * the slot the candidate asks for, or refuse (NACK) because a higher ballot is promised, a
 * live leader's lease is running, or the candidate is too far behind to be sent them. */
#include "consensus/paxos_int.h"
#include "util/err.h"

void paxos_send_nack(struct stoa_paxos *paxos, uint32_t to, uint16_t reason) {
    /* Callers set round to the refused ballot's round right after. */
    struct stoa_paxos_message *message = paxos_outbox_add(paxos, STOA_PAXOS_MSG_NACK, to);
    if (message != NULL) {
        message->ballot = paxos->promised;
        message->flags = reason;
        message->commit_index = paxos->commit_index;
        message->snapshot_index = paxos->snapshot_index;
    }
}

static void nack(struct stoa_paxos *paxos, const struct stoa_paxos_message *message,
                 uint16_t reason, const char *why) {
    STOA_LOG_DEBUG(paxos->log, PAXOS_MODULE, "prepare refused", STOA_FIELD_STR("why", why),
                   STOA_FIELD_UINT("from", message->from),
                   STOA_FIELD_UINT("round", message->ballot.round));
    paxos_send_nack(paxos, message->from, reason);
    if (paxos->intent_count > 0 &&
        paxos->intents[paxos->intent_count - 1].message.type == STOA_PAXOS_MSG_NACK) {
        struct stoa_paxos_message *sent = &paxos->intents[paxos->intent_count - 1].message;
        sent->round = message->ballot.round;
        if (paxos->role == STOA_PAXOS_CANDIDATE &&
            stoa_paxos_ballot_compare(paxos->own_ballot, sent->ballot) > 0) {
            sent->ballot = paxos->own_ballot; /* our campaign is higher: let it go first */
        }
    }
}

/* The candidate asks for slots from `from`; we can report them only if we still hold them,
 * and only if they are few enough to send (otherwise it should catch up from a leader). */
static bool candidate_behind(const struct stoa_paxos *paxos, uint64_t from) {
    if (from <= paxos->snapshot_index) {
        return true;
    }
    return paxos->commit_index >= from &&
           paxos->commit_index - from + 1 > paxos->config.window_slots;
}

void paxos_on_prepare(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    int order = stoa_paxos_ballot_compare(message->ballot, paxos->promised);
    bool below_own = paxos->role == STOA_PAXOS_CANDIDATE &&
                     stoa_paxos_ballot_compare(message->ballot, paxos->own_ballot) < 0;
    if (order < 0 || below_own) {
        nack(paxos, message, STOA_PAXOS_NACK_BALLOT, "lower ballot");
        return;
    }
    /* A handover lets the candidate past the lease of the leader that handed over only. */
    struct stoa_paxos_ballot from = {.round = message->round,
                                     .node_id = (uint32_t)message->slot_last};
    bool transfer = (message->flags & STOA_PAXOS_FLAG_TRANSFER) != 0 &&
                    message->slot_last <= UINT32_MAX && paxos->leader_id == from.node_id &&
                    stoa_paxos_ballot_compare(paxos->leader_ballot, from) == 0;
    if (order > 0 && !transfer && paxos_lease_blocks(paxos)) {
        nack(paxos, message, STOA_PAXOS_NACK_LEASE, "leader lease");
        return;
    }
    if (candidate_behind(paxos, message->slot)) {
        int peer = paxos_peer_index(paxos, (uint32_t)message->from);
        if (message->slot <= paxos->snapshot_index && peer >= 0 && !paxos->peers[0].voter) {
            /* What the candidate asks for is compacted here, and this node is no voter (it
             * never campaigns, so no leader will ever send the candidate what it lacks):
             * send it this snapshot, so it learns what was chosen up to it. Without it a
             * group can be left with no leader: a member that removed itself compacted past
             * its removal, which the others hold but do not know chosen, and they count it
             * as a voter whose promise they need (stoa-sim, seed 4546). A voter ahead of the
             * candidate campaigns itself instead. */
            paxos_snapshot_request(paxos, peer);
        }
        nack(paxos, message, STOA_PAXOS_NACK_BEHIND, "candidate behind");
        return;
    }
    paxos_promise(paxos, message->ballot);
    if (order > 0) {
        /* Whatever we were, we now wait for this candidate (or the next timeout). */
        paxos_become_follower(paxos, message->ballot, 0);
        paxos->heard_leader = false;
    }
    struct stoa_paxos_message *promise =
        paxos_outbox_add(paxos, STOA_PAXOS_MSG_PROMISE, message->from);
    if (promise != NULL) {
        promise->ballot = message->ballot;
        promise->slot = message->slot;
    }
}
