/*
 * paxos: Multi-Paxos for one replica group, as a pure state machine.
 *
 * The core does no I/O, reads no clock and draws randomness only from the seed it is given.
 * A driver (the server, or a test) feeds it inputs — ticks, decoded peer messages, proposals,
 * read requests, "snapshot taken/installed" — and after each batch of inputs takes one batch
 * of outputs with stoa_paxos_ready, as etcd's raft does with its Ready:
 *
 *   1. persist the state in the batch (promised ballot, entry writes, commit index) with one
 *      fsync; messages with after_persist == false may be sent before that fsync (a leader's
 *      Accepts do not depend on its own disk), the rest only after it;
 *   2. send the messages, start the snapshot transfers asked for;
 *   3. apply the chosen entries in slot order and answer the read-index requests that are
 *      ready once applied reaches their index;
 *   4. call stoa_paxos_advance.
 *
 * No input may be given between stoa_paxos_ready and stoa_paxos_advance (asserted): every
 * pointer in the batch borrows the core's memory and stays valid until advance. A driver that
 * crashes before its fsync loses only what the batch held, which is exactly what a restart
 * from the persisted state (stoa_paxos_create with struct stoa_paxos_persisted) expects.
 *
 * Safety rules, each argued in docs/consensus.md:
 *   - Ballots are (round, node id), ordered by round then node id (the higher id wins a tie).
 *   - An acceptor promises or accepts only ballots >= its promised ballot, and the promise is
 *     in the same batch as (so persisted before) the Promise or Accepted that depends on it.
 *   - A new leader asks a quorum for their entries above its commit index, adopts per slot a
 *     value known chosen, else the value with the highest ballot, fills holes with no-ops,
 *     and re-proposes all of them under its own ballot before it serves reads.
 *   - A slot is chosen on a quorum of durable accepts; the leader's own accept counts only
 *     once its batch has been persisted (stoa_paxos_advance).
 *   - Commit messages say "every slot <= C is chosen, and under ballot b": a follower marks
 *     an entry chosen only when it holds that slot with ballot b; otherwise it asks the leader
 *     for the chosen entries (catch-up). It never applies a value that was not chosen.
 *   - Leases: a follower that heard from a live leader within election_ticks_min refuses to
 *     promise to anyone else (a restarted node counts as having just heard one), so a leader
 *     whose heartbeat round sent at tick t was acknowledged by a quorum may serve linearizable
 *     reads until t + election_ticks_min - drift_ticks.
 *
 * Ownership: stoa_paxos_create returns an owned core (free with stoa_paxos_destroy). It
 * borrows the config's log for its lifetime; it copies everything else it is given (members,
 * persisted entries, message values). Entry values are copied once, when an entry enters the
 * log (stoa_alloc); nothing else allocates after create.
 */
#ifndef STOA_CONSENSUS_PAXOS_H
#define STOA_CONSENSUS_PAXOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"
#include "util/log.h"

struct stoa_paxos;

/* A ballot: ordered by round, then by node id. Round 0 with node 0 is "none". */
struct stoa_paxos_ballot {
    uint64_t round;
    uint32_t node_id;
};

/* -1, 0 or 1 as a is below, equal to or above b. */
int stoa_paxos_ballot_compare(struct stoa_paxos_ballot a, struct stoa_paxos_ballot b);

enum stoa_paxos_kind {
    STOA_PAXOS_KIND_NORMAL = 1, /* opaque bytes for the state machine */
    STOA_PAXOS_KIND_NOOP = 2,   /* fills a hole; applied as nothing */
    STOA_PAXOS_KIND_CONFIG = 3, /* a membership change (stoa_paxos_config_change_encode) */
};

/* One log entry. In outputs, value borrows the core's copy (valid until advance); in inputs
 * (persisted entries, decoded messages) the core copies it. chosen says the slot is known
 * chosen with this value (it may then be applied); it is persisted with the entry. */
struct stoa_paxos_entry {
    uint64_t slot;
    struct stoa_paxos_ballot ballot;
    uint8_t kind;
    bool chosen;
    uint32_t length;
    const uint8_t *value;
};

enum stoa_paxos_message_type {
    STOA_PAXOS_MSG_PREPARE = 1,         /* phase 1a: ballot, slot = first slot asked for */
    STOA_PAXOS_MSG_PROMISE = 2,         /* phase 1b: entries >= that slot, commit index */
    STOA_PAXOS_MSG_NACK = 3,            /* refusal: ballot = the refuser's promised ballot */
    STOA_PAXOS_MSG_ACCEPT = 4,          /* phase 2a: entries (contiguous slots), commit */
    STOA_PAXOS_MSG_ACCEPTED = 5,        /* phase 2b: slots slot..slot_last durably accepted */
    STOA_PAXOS_MSG_HEARTBEAT = 6,       /* commit index under ballot, heartbeat round */
    STOA_PAXOS_MSG_HEARTBEAT_ACK = 7,   /* round acknowledged, follower's commit index */
    STOA_PAXOS_MSG_CATCHUP_REQUEST = 8, /* chosen entries from slot, please */
    STOA_PAXOS_MSG_CATCHUP = 9,         /* chosen entries (each with its own ballot) */
    STOA_PAXOS_MSG_TIMEOUT_NOW = 10,    /* leader hands over: campaign now */
};
#define STOA_PAXOS_MSG_TYPE_MAX 10

/* Why a NACK refuses (in the message's flags). */
enum stoa_paxos_nack_reason {
    STOA_PAXOS_NACK_BALLOT = 1, /* a higher ballot is promised */
    STOA_PAXOS_NACK_LEASE = 2,  /* a live leader was heard within election_ticks_min */
    STOA_PAXOS_NACK_BEHIND = 3, /* the candidate lacks entries the refuser has compacted */
};

/* PREPARE flag: the current leader handed over (TIMEOUT_NOW), so leases do not block it. */
#define STOA_PAXOS_FLAG_TRANSFER 1u
/* PROMISE flag: the last piece of a promise (a promise too large for one message comes in
 * pieces covering consecutive slot ranges). */
#define STOA_PAXOS_FLAG_LAST 2u

/* One peer message. Fields a type does not use are zero. entries borrows (see above). */
struct stoa_paxos_message {
    uint8_t type; /* enum stoa_paxos_message_type */
    uint16_t flags;
    uint32_t from;
    uint32_t to;
    struct stoa_paxos_ballot ballot;
    uint64_t commit_index;
    uint64_t slot;
    uint64_t slot_last;
    uint64_t round;
    uint64_t snapshot_index;
    uint32_t entry_count;
    const struct stoa_paxos_entry *entries;
    /* Set by the core in outputs only: the message may be sent before the batch's fsync. */
    bool after_persist;
};

struct stoa_paxos_config {
    uint32_t self_id;            /* non-zero */
    const uint32_t *members;     /* voters at the snapshot (or at the start); self included */
    uint32_t member_count;       /* 1..STOA_PAXOS_MEMBERS_MAX */
    uint32_t heartbeat_ticks;    /* leader heartbeat period */
    uint32_t election_ticks_min; /* also the follower's lease */
    uint32_t election_ticks_max;
    uint32_t drift_ticks;  /* clock-drift bound taken off the leader's lease */
    uint32_t window_slots; /* slots in flight above the commit index */
    uint32_t log_slots;    /* entries kept above the snapshot (ring capacity) */
    uint64_t seed;         /* election jitter */
    struct stoa_log *log;  /* borrowed; may be NULL */
};

/* What the driver persisted, handed back at restart. entries are the slots above
 * snapshot_index, in any order, at most one per slot; snapshot_members is the voter set as of
 * the snapshot (config.members is ignored when snapshot_index > 0 or member_count > 0 here). */
struct stoa_paxos_persisted {
    struct stoa_paxos_ballot promised;
    uint64_t commit_index;
    uint64_t snapshot_index;
    uint64_t applied_index; /* what the driver's state machine holds; >= snapshot_index */
    const uint32_t *snapshot_members;
    uint32_t snapshot_member_count;
    const struct stoa_paxos_entry *entries;
    uint32_t entry_count;
};

/* A read-index request that is ready: serve it once applied >= index. */
struct stoa_paxos_read {
    uint64_t request_id;
    uint64_t index;
};

/* One batch of outputs (see the top of this file). */
struct stoa_paxos_ready {
    bool promised_changed;
    struct stoa_paxos_ballot promised;
    bool commit_changed;
    uint64_t commit_index;
    const struct stoa_paxos_entry *writes; /* write (overwrite) each at its slot */
    uint32_t write_count;
    const struct stoa_paxos_message *messages;
    uint32_t message_count;
    const struct stoa_paxos_entry *applies; /* chosen, consecutive slots from applied + 1 */
    uint32_t apply_count;
    const uint32_t *snapshot_to; /* send the latest snapshot to these nodes */
    uint32_t snapshot_count;
    const struct stoa_paxos_read *reads;
    uint32_t read_count;
    const uint64_t *reads_failed; /* read requests that cannot complete: retry elsewhere */
    uint32_t read_failed_count;
};

enum stoa_paxos_role {
    STOA_PAXOS_FOLLOWER = 0,
    STOA_PAXOS_CANDIDATE = 1,
    STOA_PAXOS_LEADER = 2,
};

struct stoa_paxos_member_status {
    uint32_t node_id;
    bool voter;
    uint64_t match_slot; /* leader only: highest slot known durably on that member */
    uint64_t lag;        /* leader only: last slot - match slot */
    uint64_t ticks_since_heard;
};

struct stoa_paxos_status {
    enum stoa_paxos_role role;
    bool leader_ready; /* leader that finished recovery: serves reads */
    uint32_t self_id;
    uint32_t leader_id;              /* 0 if unknown */
    struct stoa_paxos_ballot ballot; /* the leader's ballot as this node knows it */
    struct stoa_paxos_ballot promised;
    uint64_t commit_index;
    uint64_t applied_index;
    uint64_t snapshot_index;
    uint64_t first_slot; /* first slot held in the log */
    uint64_t last_slot;
    uint64_t tick;
    uint32_t member_count;
    struct stoa_paxos_member_status members[STOA_PAXOS_PEERS_MAX];
};

/* Checks config and persisted (may be NULL for a fresh node) and builds a core. Returns 0,
 * STOA_ERR_INVALID (bad config or inconsistent persisted state) or STOA_ERR_NOMEM. */
int stoa_paxos_create(const struct stoa_paxos_config *config,
                      const struct stoa_paxos_persisted *persisted, struct stoa_paxos **out);
void stoa_paxos_destroy(struct stoa_paxos *paxos);

/* One unit of time. Leaders send heartbeats and retransmit; others may start an election. */
void stoa_paxos_tick(struct stoa_paxos *paxos);

/* One message from a peer. Messages not addressed to self, from unknown nodes or that make
 * no sense are dropped (logged at debug level). Returns 0 or STOA_ERR_INVALID (dropped). */
int stoa_paxos_step(struct stoa_paxos *paxos, const struct stoa_paxos_message *message);

/* On the leader: appends value (copied) at the next slot. Returns 0 with *slot, or
 * STOA_ERR_NOT_LEADER (*leader_hint = the known leader or 0), STOA_ERR_FULL (the window of
 * slots in flight or the log ring is full: retry after progress), STOA_ERR_TOO_LARGE,
 * STOA_ERR_BUSY (a CONFIG proposal while a change is in flight), STOA_ERR_NOMEM. */
int stoa_paxos_propose(struct stoa_paxos *paxos, enum stoa_paxos_kind kind, const uint8_t *value,
                       uint32_t length, uint64_t *slot, uint32_t *leader_hint);

/* Starts an election now (Nomos's "prepare"), or as soon as the lease of the leader this
 * node last heard has run out. */
void stoa_paxos_campaign(struct stoa_paxos *paxos);

/* On the leader: hands leadership to node_id (a caught-up voter) with TIMEOUT_NOW. The
 * leader stops serving lease reads at once. Returns 0, STOA_ERR_NOT_LEADER or INVALID. */
int stoa_paxos_transfer(struct stoa_paxos *paxos, uint32_t node_id);

/* True when this node is a ready leader whose lease covers the current tick and that has
 * applied every slot an earlier leader chose (its recovery): a read served from its applied
 * state now is linearizable, provided the driver answers a safe write only once it is
 * applied (slots chosen but not yet applied were answered to nobody). */
bool stoa_paxos_read_lease_valid(const struct stoa_paxos *paxos);

/* Asks for a read index: on a ready leader, records the commit index and starts a heartbeat
 * round; when a quorum acknowledged it, the request appears in a batch's reads. Returns 0,
 * STOA_ERR_NOT_LEADER (*leader_hint set), STOA_ERR_BUSY (recovering) or STOA_ERR_FULL. */
int stoa_paxos_read_index(struct stoa_paxos *paxos, uint64_t request_id, uint32_t *leader_hint);

/* Takes the outputs of every input since the last advance. Returns false if there is
 * nothing to do (then no advance is needed). */
bool stoa_paxos_ready(struct stoa_paxos *paxos, struct stoa_paxos_ready *ready);
/* The batch of the last ready was persisted, sent and applied. */
void stoa_paxos_advance(struct stoa_paxos *paxos);

/* The driver took a snapshot of its state machine at index (<= applied): entries up to index
 * are dropped. Returns 0 or STOA_ERR_INVALID. */
int stoa_paxos_compact(struct stoa_paxos *paxos, uint64_t index);

/* The driver installed a snapshot received from the leader, at index, with these voters,
 * and persisted it. Entries up to index are dropped; commit and applied jump to index. */
int stoa_paxos_snapshot_installed(struct stoa_paxos *paxos, uint64_t index, const uint32_t *members,
                                  uint32_t member_count);

void stoa_paxos_status(const struct stoa_paxos *paxos, struct stoa_paxos_status *status);

/* The entry the log holds at slot (for inspection: GROUP LOG). Returns true with *entry, whose
 * value borrows the core's copy until the core next changes (any input, ready, advance,
 * compact or snapshot install), or false (entry untouched) when slot is compacted (at or below
 * the snapshot index), beyond the last slot, or a hole. Changes nothing. */
bool stoa_paxos_entry_get(const struct stoa_paxos *paxos, uint64_t slot,
                          struct stoa_paxos_entry *entry);

/* The voters this node uses now. Returns the count; copies up to capacity ids. */
uint32_t stoa_paxos_members(const struct stoa_paxos *paxos, uint32_t *ids, uint32_t capacity);

/* Membership changes travel as CONFIG entries whose value is 5 bytes: op (1 add voter,
 * 2 remove voter), then the node id (u32 LE). */
enum stoa_paxos_config_op {
    STOA_PAXOS_CONFIG_ADD = 1,
    STOA_PAXOS_CONFIG_REMOVE = 2,
};
#define STOA_PAXOS_CONFIG_CHANGE_BYTES 5
void stoa_paxos_config_change_encode(enum stoa_paxos_config_op op, uint32_t node_id,
                                     uint8_t out[STOA_PAXOS_CONFIG_CHANGE_BYTES]);
int stoa_paxos_config_change_decode(const uint8_t *value, uint32_t length,
                                    enum stoa_paxos_config_op *op, uint32_t *node_id);

#endif
