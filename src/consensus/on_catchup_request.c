/* CATCHUP_REQUEST at the leader: a follower lacks chosen entries from slot on. The leader
 * sends them (CATCHUP, up to one batch; the follower asks again for more), or, if they were
 * compacted away, asks its driver to send the follower a snapshot. */
#include "consensus/paxos_int.h"
#include "util/err.h"

void paxos_snapshot_request(struct stoa_paxos *paxos, int peer_index) {
    struct paxos_peer *peer = &paxos->peers[peer_index];
    uint64_t period = 4ULL * paxos->config.election_ticks_max;
    if (peer->snapshot_sent && paxos->now - peer->snapshot_tick < period) {
        return; /* a transfer is (probably) under way */
    }
    for (uint32_t i = 0; i < paxos->snapshot_count; i++) {
        if (paxos->snapshot_to[i] == peer->id) {
            return;
        }
    }
    paxos->snapshot_to[paxos->snapshot_count++] = peer->id;
    peer->snapshot_sent = true;
    peer->snapshot_tick = paxos->now;
    STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "follower needs a snapshot",
                  STOA_FIELD_UINT("member", peer->id),
                  STOA_FIELD_UINT("snapshot_index", paxos->snapshot_index));
}

void paxos_on_catchup_request(struct stoa_paxos *paxos, const struct stoa_paxos_message *message) {
    if (paxos->role != STOA_PAXOS_LEADER || message->slot == 0) {
        return;
    }
    int index = paxos_peer_index(paxos, message->from);
    struct paxos_peer *peer = &paxos->peers[index];
    if (message->commit_index > peer->commit_index) {
        peer->commit_index = message->commit_index;
    }
    if (message->slot <= paxos->snapshot_index) {
        paxos_snapshot_request(paxos, index);
        return;
    }
    if (message->slot > paxos->commit_index) {
        return;
    }
    struct stoa_paxos_message *reply =
        paxos_outbox_add(paxos, STOA_PAXOS_MSG_CATCHUP, message->from);
    if (reply != NULL) {
        reply->ballot = paxos->own_ballot;
        reply->slot = message->slot;
        reply->slot_last = paxos->commit_index;
    }
}
