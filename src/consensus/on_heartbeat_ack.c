/* HEARTBEAT_ACK at the leader: a follower acknowledged a round. The round a quorum
 * acknowledged dates the lease and completes read-index requests; the follower's commit
 * index shows its progress. */
#include "consensus/paxos_int.h"
#include "util/err.h"

void paxos_on_heartbeat_ack(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    if (paxos->role != STOA_PAXOS_LEADER ||
        stoa_paxos_ballot_compare(message->ballot, paxos->own_ballot) != 0) {
        return;
    }
    int index = paxos_peer_index(paxos, message->from);
    struct paxos_peer *peer = &paxos->peers[index];
    if (message->commit_index > peer->commit_index) {
        peer->commit_index = message->commit_index;
    }
    uint64_t known = peer->commit_index < paxos->last_slot ? peer->commit_index : paxos->last_slot;
    if (known > peer->match_slot) {
        peer->match_slot = known;
        peer->progress_tick = paxos->now;
        if (peer->next_slot <= known) {
            peer->next_slot = known + 1;
        }
    }
    if (peer->snapshot_sent && peer->commit_index >= paxos->snapshot_index) {
        peer->snapshot_sent = false;
    }
    paxos_leader_round_acked(paxos, index, message->round);
}
