/* ACCEPTED (phase 2b) at the leader: count the follower's durable accepts; a slot with a
 * quorum is chosen, and the commit index moves over the chosen prefix. */
#include "consensus/paxos_int.h"
#include "util/err.h"

void paxos_on_accepted(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    if (paxos->role != STOA_PAXOS_LEADER ||
        stoa_paxos_ballot_compare(message->ballot, paxos->own_ballot) != 0 ||
        message->slot_last < message->slot) {
        return;
    }
    int index = paxos_peer_index(paxos, message->from);
    struct paxos_peer *peer = &paxos->peers[index];
    paxos_leader_count_acks(paxos, index, message->slot, message->slot_last);
    if (message->slot <= peer->match_slot + 1 && message->slot_last > peer->match_slot) {
        peer->match_slot = message->slot_last;
        peer->progress_tick = paxos->now;
    }
    if (message->commit_index > peer->commit_index) {
        peer->commit_index = message->commit_index;
    }
    if (peer->next_slot <= peer->match_slot) {
        peer->next_slot = peer->match_slot + 1;
    }
    paxos_replicate(paxos);
}
