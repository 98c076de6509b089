/* HEARTBEAT (the commit message) at a follower: "every slot up to commit_index is chosen,
 * under ballot b". A follower marks chosen only the slots it holds with ballot b (those hold
 * the one value b proposed there); at the first slot it lacks or holds under another ballot
 * it stops and asks the leader for the chosen entries (catch-up). It acknowledges the round,
 * which renews the leader's lease: from now on it refuses other candidates for
 * election_ticks_min. */
#include "consensus/paxos_int.h"
#include "util/err.h"

void paxos_follower_commit(struct stoa_paxos *paxos, struct stoa_paxos_ballot ballot,
                           uint64_t commit_index, uint32_t leader) {
    if (paxos->role != STOA_PAXOS_FOLLOWER) {
        return;
    }
    uint64_t end = commit_index < paxos->last_slot ? commit_index : paxos->last_slot;
    for (uint64_t slot = paxos->commit_index + 1; slot <= end; slot++) {
        struct paxos_slot *entry = paxos_slot_get(paxos, slot);
        if (entry == NULL || !entry->present) {
            break;
        }
        /* PLANT APPLY_UNCHOSEN: marks chosen an entry of another ballot. */
        if (!entry->chosen && stoa_paxos_ballot_compare(entry->ballot, ballot) != 0 &&
            !STOA_PLANTED(APPLY_UNCHOSEN)) {
            break;
        }
        entry->chosen = true;
    }
    paxos_commit_advance(paxos);
    if (paxos->commit_index >= commit_index) {
        paxos->catchup_sent = false;
        return;
    }
    uint64_t period = (uint64_t)paxos->config.heartbeat_ticks * STOA_PAXOS_RETRANSMIT_HEARTBEATS;
    if (paxos->catchup_sent && paxos->now - paxos->catchup_tick < period) {
        return;
    }
    struct stoa_paxos_message *request =
        paxos_outbox_add(paxos, STOA_PAXOS_MSG_CATCHUP_REQUEST, leader);
    if (request != NULL) {
        request->ballot = ballot;
        request->slot = paxos->commit_index + 1;
        request->commit_index = paxos->commit_index;
        paxos->catchup_sent = true;
        paxos->catchup_tick = paxos->now;
    }
}

void paxos_on_heartbeat(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    if (!paxos_follow(paxos, message)) {
        return;
    }
    struct stoa_paxos_message *ack =
        paxos_outbox_add(paxos, STOA_PAXOS_MSG_HEARTBEAT_ACK, message->from);
    if (ack != NULL) {
        ack->ballot = message->ballot;
        ack->round = message->round;
    }
    paxos_follower_commit(paxos, message->ballot, message->commit_index, message->from);
}
