/* The leader's side of phase 2 and of leases: sending ACCEPTs within the window, counting
 * durable accepts into chosen slots, heartbeat rounds, the lease and read-index rounds,
 * retransmission, stepping down without a quorum, and stepping aside for a higher id. */
#include "consensus/paxos_int.h"
#include "util/assert.h"
#include "util/err.h"

void paxos_replicate(struct stoa_paxos *paxos) {
    if (paxos->role != STOA_PAXOS_LEADER) {
        return;
    }
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        struct paxos_peer *peer = &paxos->peers[i];
        if (peer->id == 0) {
            continue;
        }
        if (peer->next_slot <= paxos->snapshot_index) {
            peer->next_slot = paxos->snapshot_index + 1; /* older slots come by catch-up */
        }
        uint64_t window_end = peer->match_slot + paxos->config.window_slots;
        uint64_t end = window_end < paxos->last_slot ? window_end : paxos->last_slot;
        if (peer->next_slot > end) {
            continue;
        }
        /* Proposals between two batches extend this peer's pending ACCEPT instead of
         * queuing one each, so a burst of proposals costs one outbox entry per peer. */
        struct stoa_paxos_message *pending =
            peer->accept_intent > 0 ? &paxos->intents[peer->accept_intent - 1].message : NULL;
        if (pending != NULL && pending->type == STOA_PAXOS_MSG_ACCEPT && pending->to == peer->id &&
            pending->slot_last + 1 == peer->next_slot &&
            stoa_paxos_ballot_compare(pending->ballot, paxos->own_ballot) == 0) {
            pending->slot_last = end;
            peer->next_slot = end + 1;
            continue;
        }
        struct stoa_paxos_message *message =
            paxos_outbox_add(paxos, STOA_PAXOS_MSG_ACCEPT, peer->id);
        if (message == NULL) {
            return;
        }
        message->ballot = paxos->own_ballot;
        message->slot = peer->next_slot;
        message->slot_last = end;
        peer->next_slot = end + 1;
        peer->accept_intent = paxos->intent_count;
    }
}

void paxos_heartbeat_send(struct stoa_paxos *paxos) {
    paxos->round++;
    paxos->round_tick[paxos->round % STOA_PAXOS_ROUNDS_TRACKED] = paxos->now;
    paxos->heartbeat_due = paxos->now + paxos->config.heartbeat_ticks;
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id == 0) {
            continue;
        }
        struct stoa_paxos_message *message =
            paxos_outbox_add(paxos, STOA_PAXOS_MSG_HEARTBEAT, paxos->peers[i].id);
        if (message != NULL) {
            message->ballot = paxos->own_ballot;
            message->round = paxos->round;
        }
    }
    paxos_leader_round_acked(paxos, 0, paxos->round);
}

void paxos_leader_count_acks(struct stoa_paxos *paxos, int peer, uint64_t first, uint64_t last) {
    STOA_ASSERT(peer >= 0 && peer < (int)STOA_PAXOS_PEERS_MAX);
    uint32_t bit = 1u << peer;
    uint64_t low = first > paxos->commit_index + 1 ? first : paxos->commit_index + 1;
    uint64_t high = last < paxos->last_slot ? last : paxos->last_slot;
    for (uint64_t slot = low; slot <= high; slot++) {
        struct paxos_slot *entry = paxos_slot_get(paxos, slot);
        if (entry == NULL || !entry->present ||
            stoa_paxos_ballot_compare(entry->ballot, paxos->own_ballot) != 0) {
            continue;
        }
        entry->acks |= bit;
        if (!entry->chosen && paxos_is_quorum(paxos, entry->acks)) {
            entry->chosen = true;
        }
    }
    if (paxos_commit_advance(paxos)) {
        paxos_leader_check_ready(paxos);
    }
}

/* The quorum-th highest round acknowledged among the voters (ours is the latest sent). */
static uint64_t quorum_round(const struct stoa_paxos *paxos) {
    uint64_t rounds[STOA_PAXOS_PEERS_MAX];
    uint32_t count = 0;
    for (uint32_t i = 0; i < paxos->peer_count; i++) {
        if (paxos->peers[i].id != 0 && paxos->peers[i].voter) {
            rounds[count++] = i == 0 ? paxos->round : paxos->peers[i].ack_round;
        }
    }
    if (count < paxos->quorum || paxos->quorum == 0) {
        return 0;
    }
    /* Partial selection sort, descending: count is at most STOA_PAXOS_PEERS_MAX. */
    for (uint32_t i = 0; i < paxos->quorum; i++) {
        for (uint32_t j = i + 1; j < count; j++) {
            if (rounds[j] > rounds[i]) {
                uint64_t swap = rounds[i];
                rounds[i] = rounds[j];
                rounds[j] = swap;
            }
        }
    }
    return rounds[paxos->quorum - 1];
}

static void reads_complete(struct stoa_paxos *paxos) {
    uint32_t kept = 0;
    for (uint32_t i = 0; i < paxos->read_count; i++) {
        struct paxos_pending_read *read = &paxos->reads[i];
        if (read->round <= paxos->quorum_round && paxos->reads_ready_count < STOA_PAXOS_READS_MAX) {
            paxos->reads_ready[paxos->reads_ready_count++] =
                (struct stoa_paxos_read){.request_id = read->request_id, .index = read->index};
        } else {
            paxos->reads[kept++] = *read;
        }
    }
    paxos->read_count = kept;
}

void paxos_leader_round_acked(struct stoa_paxos *paxos, int peer, uint64_t round) {
    if (peer > 0 && round > paxos->peers[peer].ack_round && round <= paxos->round) {
        paxos->peers[peer].ack_round = round;
    }
    uint64_t acked = quorum_round(paxos);
    if (acked <= paxos->quorum_round) {
        return;
    }
    paxos->quorum_round = acked;
    if (paxos->round - acked < STOA_PAXOS_ROUNDS_TRACKED) {
        /* The lease runs from when that round was sent: every follower that acknowledged it
         * received it later, and refuses other candidates for election_ticks_min after. */
        uint64_t sent = paxos->round_tick[acked % STOA_PAXOS_ROUNDS_TRACKED];
        paxos->quorum_tick = sent;
        if (!paxos->transferring) {
            paxos->lease_until =
                sent + paxos->config.election_ticks_min - paxos->config.drift_ticks;
        }
    }
    reads_complete(paxos);
}

void paxos_reads_fail_all(struct stoa_paxos *paxos) {
    for (uint32_t i = 0; i < paxos->read_count; i++) {
        if (paxos->reads_failed_count < STOA_PAXOS_READS_MAX) {
            paxos->reads_failed[paxos->reads_failed_count++] = paxos->reads[i].request_id;
        }
    }
    paxos->read_count = 0;
}

/* Unacknowledged ACCEPTs are resent from the first slot the peer lacks (go-back-N). */
static void retransmit(struct stoa_paxos *paxos) {
    uint64_t period = (uint64_t)paxos->config.heartbeat_ticks * STOA_PAXOS_RETRANSMIT_HEARTBEATS;
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        struct paxos_peer *peer = &paxos->peers[i];
        if (peer->id != 0 && peer->next_slot > peer->match_slot + 1 &&
            paxos->now - peer->progress_tick >= period) {
            peer->next_slot = peer->match_slot + 1;
            peer->progress_tick = paxos->now;
        }
    }
}

/* A ready leader hands over to the highest-id voter that is live and caught up, at most once
 * per ten election timeouts, so the preferred leader takes over after it comes back without
 * a chance of an election storm (a failed handover is not retried soon). */
static void step_aside_check(struct stoa_paxos *paxos) {
    if (!paxos->leader_ready || paxos->transferring ||
        paxos->now - paxos->leader_tick < paxos->config.election_ticks_max ||
        (paxos->auto_transferred &&
         paxos->now - paxos->auto_transfer_tick < 10ULL * paxos->config.election_ticks_max)) {
        return;
    }
    uint32_t best = 0;
    for (uint32_t i = 1; i < paxos->peer_count; i++) {
        const struct paxos_peer *peer = &paxos->peers[i];
        bool live =
            peer->heard && paxos->now - peer->heard_tick <= 2ULL * paxos->config.heartbeat_ticks;
        if (peer->id > paxos->config.self_id && peer->voter && live &&
            peer->match_slot >= paxos->last_slot && peer->commit_index >= paxos->commit_index &&
            peer->id > best) {
            best = peer->id;
        }
    }
    if (best != 0) {
        paxos->auto_transferred = true;
        paxos->auto_transfer_tick = paxos->now;
        (void)stoa_paxos_transfer(paxos, best);
    }
}

void paxos_leader_tick(struct stoa_paxos *paxos) {
    if (paxos->transferring &&
        paxos->now - paxos->transfer_tick >= paxos->config.election_ticks_max) {
        /* It does not lead on: its followers may have let the target past their leases on
         * its word, so its lease is gone for good. An election follows. */
        STOA_LOG_INFO(paxos->log, PAXOS_MODULE, "handover timed out; stepping down");
        paxos_become_follower(paxos, paxos->own_ballot, 0);
        return;
    }
    if (paxos->now - paxos->quorum_tick >= paxos->config.election_ticks_max) {
        STOA_LOG_WARN(paxos->log, PAXOS_MODULE, "no quorum contact; stepping down",
                      STOA_FIELD_UINT("ticks", paxos->now - paxos->quorum_tick));
        paxos_become_follower(paxos, paxos->own_ballot, 0);
        return;
    }
    if (paxos->now >= paxos->heartbeat_due) {
        paxos_heartbeat_send(paxos);
        retransmit(paxos);
        paxos_replicate(paxos);
        step_aside_check(paxos);
    }
}
