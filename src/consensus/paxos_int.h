/*
 * paxos_int: the internals shared by the files of the paxos module (paxos.c, the log ring,
 * the election, the outbox and one file per message handler). No other module includes it.
 */
#ifndef STOA_CONSENSUS_PAXOS_INT_H
#define STOA_CONSENSUS_PAXOS_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/paxos.h"
#include "consensus/plant.h"
#include "util/prng.h"

#define PAXOS_MODULE "paxos"

/* One slot of the log ring. */
struct paxos_slot {
    struct stoa_paxos_ballot ballot;
    uint8_t *value; /* owned (stoa_alloc), NULL when length is 0 */
    uint32_t length;
    uint8_t kind;
    bool present;
    bool chosen;
    bool dirty;    /* changed since the last ready: goes into its writes */
    bool durable;  /* on disk as it is now */
    uint32_t acks; /* leader: peers (bit = peer index) that durably accepted it at ballot */
};

/* What the core knows about one peer (self included, at peers[0]). */
struct paxos_peer {
    uint32_t id;
    bool voter;
    /* Leader bookkeeping for this peer. */
    uint64_t next_slot;     /* next slot to send in an ACCEPT */
    uint64_t match_slot;    /* every slot in [leader_start, match_slot] durably accepted */
    uint64_t progress_tick; /* last tick match_slot moved or next_slot was reset */
    uint64_t ack_round;     /* highest heartbeat round it acknowledged */
    uint64_t heard_tick;
    bool heard;
    uint64_t snapshot_tick; /* last tick we asked the driver to send it a snapshot */
    bool snapshot_sent;
    uint64_t commit_index;  /* as it last reported */
    uint64_t commit_sent;   /* the highest commit index sent to it (in any message) */
    uint32_t accept_intent; /* 1 + index of its pending ACCEPT intent, 0 if none */
    /* Candidate bookkeeping. */
    bool promised;
    uint64_t promise_next_slot; /* next PROMISE piece expected from this peer */
};

/* A message waiting for the next ready. Entries are taken from the log at ready time, so
 * nothing borrowed can go stale between the handler and the driver. */
struct paxos_intent {
    struct stoa_paxos_message message;
};

struct paxos_pending_read {
    uint64_t request_id;
    uint64_t index;
    uint64_t round;
};

struct stoa_paxos {
    struct stoa_paxos_config config;
    struct stoa_log *log;
    struct stoa_prng prng;
    uint64_t now;

    enum stoa_paxos_role role;
    struct stoa_paxos_ballot promised;
    struct stoa_paxos_ballot promised_persisted;
    struct stoa_paxos_ballot leader_ballot; /* ballot of the leader followed (or our own) */
    uint32_t leader_id;
    uint64_t round_seen; /* highest round seen in any ballot */

    /* The log: slots (snapshot_index, last_slot] live in the ring. */
    struct paxos_slot *slots;
    uint64_t capacity;
    uint64_t snapshot_index;
    uint64_t last_slot;
    uint64_t commit_index;
    uint64_t commit_persisted;
    uint64_t applied_index; /* handed to the driver to apply */
    uint64_t dirty_low;     /* dirty slots lie in [dirty_low, dirty_high] */
    uint64_t dirty_high;

    struct paxos_peer peers[STOA_PAXOS_PEERS_MAX];
    uint32_t peer_count;
    uint32_t quorum;

    /* Election. */
    bool heard_leader;
    uint64_t heard_leader_tick;
    uint64_t election_deadline;
    uint64_t behind_until; /* no campaign before this tick (told we are behind) */
    bool campaign_wanted;
    bool transfer_campaign;
    struct stoa_paxos_ballot transfer_from; /* the leader that handed over to us */
    uint64_t campaign_start_slot;           /* PREPARE asks for slots from here */
    uint64_t prepare_tick;
    struct stoa_paxos_ballot own_ballot; /* our candidacy or leadership */
    uint64_t catchup_tick;               /* follower: last catch-up request sent */
    bool catchup_sent;

    /* Leader. */
    bool leader_ready;     /* recovery done: every slot up to recovery_end chosen */
    uint64_t leader_start; /* first slot this leader re-proposed */
    uint64_t leader_tick;  /* when this node became leader */
    uint64_t recovery_end;
    uint64_t round; /* heartbeat rounds sent */
    uint64_t round_tick[STOA_PAXOS_ROUNDS_TRACKED];
    uint64_t heartbeat_due;
    uint64_t quorum_round; /* highest round a quorum acknowledged */
    uint64_t quorum_tick;  /* when quorum_round last moved (contact) */
    uint64_t lease_until;  /* lease reads valid while now < lease_until */
    bool transferring;
    uint32_t transfer_target;
    uint64_t transfer_tick;
    bool auto_transferred;
    uint64_t auto_transfer_tick;
    bool config_in_flight;
    uint64_t config_slot;

    struct paxos_pending_read reads[STOA_PAXOS_READS_MAX];
    uint32_t read_count;
    bool read_round_wanted;
    struct stoa_paxos_read reads_ready[STOA_PAXOS_READS_MAX];
    uint32_t reads_ready_count;
    uint64_t reads_failed[STOA_PAXOS_READS_MAX];
    uint32_t reads_failed_count;

    /* Outbox and the batch being built. */
    struct paxos_intent intents[STOA_PAXOS_OUTBOX_MESSAGES_MAX];
    uint32_t intent_count;
    uint32_t snapshot_to[STOA_PAXOS_PEERS_MAX];
    uint32_t snapshot_count;
    bool in_ready; /* between ready and advance */
    struct stoa_paxos_message out_messages[STOA_PAXOS_OUTBOX_MESSAGES_MAX];
    struct stoa_paxos_entry *out_entries; /* STOA_PAXOS_OUTBOX_ENTRIES_MAX */
    uint32_t out_entry_count;
    struct stoa_paxos_entry *out_writes;  /* capacity slots */
    struct stoa_paxos_entry *out_applies; /* STOA_PAXOS_APPLY_MAX */
    uint64_t ready_applied;               /* applied_index once the batch is applied */
    uint64_t ready_commit;
    uint32_t ready_write_count;
    struct stoa_paxos_ballot ready_promised;
};

/* ---- log ring (paxos_log.c) ---- */
struct paxos_slot *paxos_slot_get(struct stoa_paxos *paxos, uint64_t slot);
/* Writes (copies) value at slot, which must be in (snapshot_index, snapshot_index +
 * capacity]. Returns 0 or STOA_ERR_NOMEM (nothing changed). */
int paxos_slot_write(struct stoa_paxos *paxos, uint64_t slot, struct stoa_paxos_ballot ballot,
                     uint8_t kind, const uint8_t *value, uint32_t length, bool chosen);
void paxos_slot_mark_dirty(struct stoa_paxos *paxos, uint64_t slot);
bool paxos_slot_fits(const struct stoa_paxos *paxos, uint64_t slot);
void paxos_slot_clear(struct paxos_slot *slot);
/* Drops slots up to index (compaction or snapshot install). */
void paxos_log_drop_through(struct stoa_paxos *paxos, uint64_t index);
/* Moves commit_index over slots known chosen; returns true if it moved. */
bool paxos_commit_advance(struct stoa_paxos *paxos);
struct stoa_paxos_entry paxos_slot_entry(const struct stoa_paxos *paxos, uint64_t slot);

/* ---- peers and quorums (paxos.c) ---- */
int paxos_peer_index(const struct stoa_paxos *paxos, uint32_t id);
uint32_t paxos_voter_mask(const struct stoa_paxos *paxos);
bool paxos_is_quorum(const struct stoa_paxos *paxos, uint32_t mask);
void paxos_members_set(struct stoa_paxos *paxos, const uint32_t *ids, uint32_t count);
void paxos_config_apply(struct stoa_paxos *paxos, const struct paxos_slot *slot);
void paxos_ballot_seen(struct stoa_paxos *paxos, struct stoa_paxos_ballot ballot);

/* ---- roles and election (paxos_election.c) ---- */
void paxos_election_reset(struct stoa_paxos *paxos);
void paxos_become_follower(struct stoa_paxos *paxos, struct stoa_paxos_ballot ballot,
                           uint32_t leader_id);
void paxos_start_campaign(struct stoa_paxos *paxos, bool transfer);
void paxos_candidate_promised(struct stoa_paxos *paxos);
void paxos_become_leader(struct stoa_paxos *paxos);
void paxos_leader_check_ready(struct stoa_paxos *paxos);
bool paxos_lease_blocks(const struct stoa_paxos *paxos);
void paxos_promise(struct stoa_paxos *paxos, struct stoa_paxos_ballot ballot);

/* ---- leader replication (paxos_replicate.c) ---- */
void paxos_replicate(struct stoa_paxos *paxos);
void paxos_heartbeat_send(struct stoa_paxos *paxos);
void paxos_leader_tick(struct stoa_paxos *paxos);
void paxos_leader_count_acks(struct stoa_paxos *paxos, int peer, uint64_t first, uint64_t last);
void paxos_leader_round_acked(struct stoa_paxos *paxos, int peer, uint64_t round);
void paxos_reads_fail_all(struct stoa_paxos *paxos);

/* ---- outbox (paxos_ready.c) ---- */
struct stoa_paxos_message *paxos_outbox_add(struct stoa_paxos *paxos, uint8_t type, uint32_t to);
void paxos_snapshot_request(struct stoa_paxos *paxos, int peer);

/* ---- message handlers (one file each) ---- */
void paxos_on_prepare(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_promise(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_nack(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_accept(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_accepted(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_heartbeat(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_heartbeat_ack(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_catchup_request(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_catchup(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
void paxos_on_timeout_now(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);

/* Shared by on_accept, on_heartbeat, on_catchup: a message from the leader at ballot that is
 * not stale makes this node its follower and renews the lease it grants. Returns false (and
 * answers with a NACK) if the ballot is below the promise. */
bool paxos_follow(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);
/* Follower: commit what it holds under ballot up to commit_index; asks for catch-up if it
 * cannot. */
void paxos_follower_commit(struct stoa_paxos *paxos, struct stoa_paxos_ballot ballot,
                           uint64_t commit_index, uint32_t leader);
void paxos_send_nack(struct stoa_paxos *paxos, uint32_t to, uint16_t reason);

#endif
