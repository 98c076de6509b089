/* Roles and elections: timeouts biased towards the highest live id, campaigns (phase 1 from
 * the candidate's side), becoming leader (adopt, fill holes, re-propose), stepping down, and
 * the lease a follower grants. */
#include "consensus/paxos_int.h"
#include "util/assert.h"
#include "util/err.h"

/* The election timeout is drawn in a band of [min, max] chosen by rank: the voter with the
 * highest id draws in the first band, the next in the second, and so on, so after a leader
 * dies the highest live voter almost always times out first and wins without a split vote;
 * the jitter inside a band separates equal ranks after membership changes. */
static uint64_t election_timeout(struct stoa_paxos *paxos) {
    uint32_t voters = 0;
    uint32_t rank = 0;
    for (uint32_t i = 0; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id != 0 && paxos->peers[i].voter) {
            voters++;
            rank += paxos->peers[i].id > paxos->config.self_id ? 1u : 0u;
        }
    }
    uint64_t spread = paxos->config.election_ticks_max - paxos->config.election_ticks_min;
    uint64_t band = voters > 0 ? spread / voters : spread;
    uint64_t jitter = stoa_prng_below(&paxos->prng, band + 1);
    return paxos->config.election_ticks_min + rank * band + jitter;
}

void paxos_election_reset(struct stoa_paxos *paxos) {
    paxos->election_deadline = paxos->now + election_timeout(paxos);
}

bool paxos_lease_blocks(const struct stoa_paxos *paxos) {
    uint64_t lease = paxos->config.election_ticks_min;
    if (paxos->role == STOA_PAXOS_LEADER) {
        return !paxos->transferring && paxos->quorum_round > 0 &&
               paxos->now - paxos->quorum_tick < lease;
    }
    return paxos->heard_leader && paxos->now - paxos->heard_leader_tick < lease;
}

void paxos_promise(struct stoa_paxos *paxos, struct stoa_paxos_ballot ballot) {
    if (stoa_paxos_ballot_compare(ballot, paxos->promised) > 0) {
        paxos->promised = ballot;
    }
}

void paxos_become_follower(struct stoa_paxos *paxos, struct stoa_paxos_ballot ballot,
                           uint32_t leader_id) {
    if (paxos->role == STOA_PAXOS_LEADER) {
        paxos_reads_fail_all(paxos);
        STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "stepped down",
                      STOA_FIELD_UINT("round", paxos->own_ballot.round),
                      STOA_FIELD_UINT("new_leader", leader_id));
    }
    paxos->role = STOA_PAXOS_FOLLOWER;
    paxos->leader_ready = false;
    paxos->transferring = false;
    paxos->lease_until = 0;
    paxos->leader_ballot = ballot;
    paxos->leader_id = leader_id;
    paxos_election_reset(paxos);
}

static void prepare_send(struct stoa_paxos *paxos, uint32_t to) {
    struct stoa_paxos_message *message = paxos_outbox_add(paxos, STOA_PAXOS_MSG_PREPARE, to);
    if (message != NULL) {
        message->ballot = paxos->own_ballot;
        message->slot = paxos->campaign_start_slot;
        message->commit_index = paxos->commit_index;
        message->flags = paxos->transfer_campaign ? STOA_PAXOS_FLAG_TRANSFER : 0;
        if (paxos->transfer_campaign) {
            /* The ballot of the leader that handed over: only its followers may skip its
             * lease for us (it stopped serving lease reads when it handed over). */
            message->round = paxos->transfer_from.round;
            message->slot_last = paxos->transfer_from.node_id;
        }
    }
}

/* A candidate with promises from a quorum (itself included, once it may still vote for
 * itself) becomes leader. */
static void candidate_check(struct stoa_paxos *paxos) {
    uint32_t mask = 1u;
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id != 0 && paxos->peers[i].promised) {
            mask |= 1u << i;
        }
    }
    if (!paxos->peers[0].voter) {
        /* The promises told us we were removed from the group. */
        paxos_become_follower(paxos, paxos->leader_ballot, 0);
        return;
    }
    if (!paxos_is_quorum(paxos, mask)) {
        return;
    }
    /* Our own promise is given only now, so a candidate that never gathers a quorum never
     * raises its own promise and does not later refuse the leader that others elected. */
    if (stoa_paxos_ballot_compare(paxos->own_ballot, paxos->promised) < 0) {
        paxos_become_follower(paxos, paxos->leader_ballot, 0);
        return;
    }
    paxos_promise(paxos, paxos->own_ballot);
    paxos_become_leader(paxos);
}

void paxos_start_campaign(struct stoa_paxos *paxos, bool transfer) {
    STOA_ASSERT(paxos->role != STOA_PAXOS_LEADER);
    uint64_t round =
        paxos->round_seen > paxos->promised.round ? paxos->round_seen : paxos->promised.round;
    paxos->own_ballot =
        (struct stoa_paxos_ballot){.round = round + 1, .node_id = paxos->config.self_id};
    paxos->round_seen = round + 1;
    paxos->role = STOA_PAXOS_CANDIDATE;
    paxos->leader_id = 0;
    paxos->campaign_wanted = false;
    paxos->transfer_campaign = transfer;
    paxos->campaign_start_slot = paxos->commit_index + 1;
    paxos->prepare_tick = paxos->now;
    paxos_election_reset(paxos);
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        paxos->peers[i].promised = false;
        paxos->peers[i].promise_next_slot = paxos->campaign_start_slot;
    }
    STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "campaign", STOA_FIELD_UINT("round", round + 1),
                  STOA_FIELD_UINT("from_slot", paxos->campaign_start_slot),
                  STOA_FIELD_BOOL("transfer", transfer));
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id != 0 && paxos->peers[i].voter) {
            prepare_send(paxos, paxos->peers[i].id);
        }
    }
    candidate_check(paxos);
}

/* Called by on_promise when a peer's promise is complete. */
void paxos_candidate_promised(struct stoa_paxos *paxos) {
    candidate_check(paxos);
}

/* Every slot above the commit index is re-proposed under our ballot: the value adopted from
 * the promises (merged into our log by on_promise), or a no-op for a hole. */
static void recovery_repropose(struct stoa_paxos *paxos) {
    paxos->config_in_flight = false;
    for (uint64_t slot = paxos->commit_index + 1; slot <= paxos->last_slot; slot++) {
        struct paxos_slot *entry = paxos_slot_get(paxos, slot);
        if (entry == NULL || !entry->present) {
            int result = paxos_slot_write(paxos, slot, paxos->own_ballot, STOA_PAXOS_KIND_NOOP,
                                          NULL, 0, false);
            STOA_ASSERT(result == STOA_OK); /* an empty value allocates nothing */
            continue;
        }
        entry->ballot = paxos->own_ballot;
        entry->acks = 0;
        paxos_slot_mark_dirty(paxos, slot);
        if (entry->kind == STOA_PAXOS_KIND_CONFIG) {
            paxos->config_in_flight = true;
            paxos->config_slot = slot;
        }
    }
}

void paxos_become_leader(struct stoa_paxos *paxos) {
    paxos->role = STOA_PAXOS_LEADER;
    paxos->leader_id = paxos->config.self_id;
    paxos->leader_ballot = paxos->own_ballot;
    paxos->leader_ready = false;
    paxos->transferring = false;
    paxos->leader_start = paxos->commit_index + 1;
    paxos->leader_tick = paxos->now;
    recovery_repropose(paxos);
    paxos->recovery_end = paxos->last_slot;
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        struct paxos_peer *peer = &paxos->peers[i];
        peer->next_slot = paxos->leader_start;
        peer->match_slot = paxos->leader_start - 1;
        peer->progress_tick = paxos->now;
        peer->ack_round = 0;
        peer->snapshot_sent = false;
    }
    paxos->round = 0;
    paxos->quorum_round = 0;
    paxos->quorum_tick = paxos->now;
    paxos->lease_until = 0;
    paxos->heartbeat_due = paxos->now;
    STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "elected leader",
                  STOA_FIELD_UINT("round", paxos->own_ballot.round),
                  STOA_FIELD_UINT("commit_index", paxos->commit_index),
                  STOA_FIELD_UINT("recovery_end", paxos->recovery_end));
    paxos_replicate(paxos);
    paxos_heartbeat_send(paxos);
    paxos_leader_check_ready(paxos);
}

void paxos_leader_check_ready(struct stoa_paxos *paxos) {
    if (paxos->role != STOA_PAXOS_LEADER || paxos->leader_ready) {
        return;
    }
    if (paxos->commit_index >= paxos->recovery_end) {
        paxos->leader_ready = true;
        STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "leader ready",
                      STOA_FIELD_UINT("commit_index", paxos->commit_index));
    }
}
