/*
 * replica: this node as a member of a replica group (DESIGN.md §6, docs/replication.md).
 *
 * The replica drives the pure Multi-Paxos core (consensus/paxos.h) with real inputs and
 * carries out its outputs:
 *
 *   - time: a timer ticks the core every tick_ms;
 *   - peers: the peer transport (server/peer.h) carries the core's messages, writes and reads
 *     forwarded by followers and their answers, and snapshots sent to lagging followers,
 *     each payload starting with a channel byte (docs/protocols/peer.md);
 *   - disk: the core's promises, accepts and commit index go to the journal
 *     (cluster/journal.h), with one fdatasync per loop iteration, before any message that
 *     depends on them leaves;
 *   - the state machine: chosen entries are applied to the engine in slot order
 *     (stoa_engine_apply_chosen); an entry is a batch of engine commands.
 *
 * Front doors hand it writes and reads with a waiter (below), and their replies come back
 * through the waiter once the group has answered:
 *
 *   - a write on the leader joins the batch of this loop iteration, which is proposed as one
 *     slot at the loop hook; its reply is written when the slot is chosen and applied ("safe":
 *     linearizable). On a follower the write is forwarded to the leader and the leader's reply
 *     comes back the same way.
 *   - a "safe" read on the leader is answered at once while the leader's lease is valid, else
 *     after a read-index round; on a follower it is forwarded to the leader. A "fast" read is
 *     answered at once from this node's state (possibly stale). "parallel" is answered as
 *     "fast" here, since the node asked is itself a replica (docs/replication.md says why).
 *
 * A write whose slot a later leader filled with another value gets "TRYAGAIN" (it was not
 * applied); one with no answer within request_timeout_ms gets "TIMEOUT" (its outcome is
 * unknown); with no leader known a request gets "CLUSTERDOWN". A door whose client goes away
 * cancels its waiter; the reply is then discarded (the write still happens if chosen).
 *
 * Ownership: the replica borrows the env, the engine and the log for its life, and copies
 * the options. A waiter belongs to its door; it must stay in place from the call that takes
 * it until its done callback runs or it is cancelled.
 */
#ifndef STOA_SERVER_REPLICA_H
#define STOA_SERVER_REPLICA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/paxos.h"
#include "engine/command.h"
#include "engine/engine.h"
#include "engine/reply.h"
#include "server/peer.h"
#include "util/buf.h"
#include "util/env.h"
#include "util/histogram.h"
#include "util/log.h"
#include "util/member_list.h"

enum stoa_replica_read_mode {
    STOA_REPLICA_READ_SAFE = 0,
    STOA_REPLICA_READ_FAST = 1,
    STOA_REPLICA_READ_PARALLEL = 2,
};

enum stoa_replica_write_mode {
    STOA_REPLICA_WRITE_SAFE = 0,
    STOA_REPLICA_WRITE_FAST = 1,
};

struct stoa_replica_waiter;
struct waiter_list; /* private to the replica */

/* Called once the reply has been written through waiter->reply (or the request failed and
 * an error reply was written there). */
typedef void (*stoa_replica_done_fn)(struct stoa_replica_waiter *waiter);

/* A request waiting for the group. The door sets reply and done (stoa_replica_waiter_init);
 * the rest is the replica's. */
struct stoa_replica_waiter {
    struct stoa_reply *reply; /* borrowed: where the answer is written */
    stoa_replica_done_fn done;
    void *context; /* the door's */

    /* ---- private to the replica ---- */
    struct stoa_replica_waiter *previous;
    struct stoa_replica_waiter *next;
    struct waiter_list *list; /* the list it is on, NULL when idle */
    uint64_t key;             /* slot, request id or read index */
    uint32_t position;        /* within its slot's batch */
    bool fast;                /* a fast write: answered once durable on the leader */
    bool speculative; /* fast, with its reply recorded from the leader's view in request */
    uint32_t view_epoch; /* the view that recorded it (replica_speculation_epoch) */
    int64_t deadline_ms;
    uint32_t opcode;         /* a read waiting for its index */
    uint8_t forward_kind;    /* forwarded: what (enum forward_kind in replica_int.h) */
    uint32_t forwarded_to;   /* forwarded: the leader it went to */
    struct stoa_buf request; /* a read's arguments (encoded as a command record) */
};

struct stoa_replica_options {
    uint32_t self_id;
    /* The transport's options (stoa_peer_options_from_config); the replica sets its
     * callbacks. The members are the group's initial voters. */
    struct stoa_peer_options peer;
    const char *data_dir; /* the journal lives in <data_dir>/paxos */
    int64_t tick_ms;
    uint32_t heartbeat_ticks;
    uint32_t election_ticks_min;
    uint32_t election_ticks_max;
    uint32_t drift_ticks;
    int64_t request_timeout_ms;
    /* Take a snapshot once the journal has grown this many bytes since the last one (0:
     * only by slots, STOA_REPLICA_SNAPSHOT_SLOTS); data.snapshotLogBytes. */
    uint64_t snapshot_log_bytes;
    uint32_t log_slots; /* the core's ring (cluster.logSlots); 0: the default */
    /* Just added to a running group (stoa start --join): start as a learner, not a voter,
     * until the change that adds it is applied. */
    bool joining;
    const struct stoa_log *log; /* borrowed */
};

struct stoa_replica;

/* Opens the journal (recovering it), builds the core from it and from the engine's applied
 * index, starts the transport, the tick timer and the loop hook. error gets a sentence.
 * Returns 0, or the journal's, the core's or the transport's error. */
int stoa_replica_start(struct stoa_env *env, struct stoa_engine *engine,
                       const struct stoa_replica_options *options, struct stoa_replica **replica,
                       char *error, size_t error_bytes);

/* Stops: every waiting request gets a TIMEOUT reply, the transport closes, then on_stopped
 * runs and the replica is freed. */
void stoa_replica_stop(struct stoa_replica *replica, void (*on_stopped)(void *context),
                       void *context);

/* ---- for front doors ---- */

void stoa_replica_waiter_init(struct stoa_replica_waiter *waiter, struct stoa_reply *reply,
                              stoa_replica_done_fn done, void *context);
/* Cancels if waiting, and frees the waiter's buffer. */
void stoa_replica_waiter_free(struct stoa_replica *replica, struct stoa_replica_waiter *waiter);

/* Runs a write (command->stamp_ms is set by the leader). Returns 0: waiter->done will run
 * (maybe before this returns, with an error reply).
 *
 * STOA_REPLICA_WRITE_FAST: a write whose reply does not depend on the state (SET without
 * NX, XX or GET; MSET: the reply is OK) is answered OK once it is durable in the leader's
 * journal, before a majority has it; a later leader may fill its slot otherwise, and the
 * write is then lost (counted: fast_writes_lost). Any other write is served safe, since its
 * reply needs it applied. A safe read on the leader waits until every fast write it
 * answered is applied, so a client reads its own fast writes (docs/replication.md). */
int stoa_replica_write(struct stoa_replica *replica, const struct stoa_command *command,
                       enum stoa_replica_write_mode mode, struct stoa_replica_waiter *waiter);

/* Runs a read. Returns true if it was answered at once through waiter->reply (done is not
 * called), false if waiter->done will run later. */
bool stoa_replica_read(struct stoa_replica *replica, int64_t now_ms, uint32_t opcode,
                       const struct stoa_command_argument *arguments, size_t count,
                       enum stoa_replica_read_mode mode, struct stoa_replica_waiter *waiter);

/* Forgets a waiting request: its reply will be discarded. */
void stoa_replica_cancel(struct stoa_replica *replica, struct stoa_replica_waiter *waiter);

/* ---- operations ---- */

void stoa_replica_status(const struct stoa_replica *replica, struct stoa_paxos_status *status);

/* Starts an election now (Nomos's "prepare"). */
void stoa_replica_campaign(struct stoa_replica *replica);

/* ---- log inspection (GROUP LOG, docs/replication.md) ---- */

/* The entry this member's core holds at slot (stoa_paxos_entry_get): true with *entry, whose
 * value borrows the core's memory until the replica next runs (any loop callback), or false
 * (entry untouched) for a compacted slot, one beyond the last slot, or a hole. Changes
 * nothing. */
bool stoa_replica_log_entry(const struct stoa_replica *replica, uint64_t slot,
                            struct stoa_paxos_entry *entry);

/* Writes a short readable description of entry's value (borrowed for the call) into text,
 * cut to capacity bytes and always terminated (capacity >= 1); returns its length.
 *
 *   NORMAL, a batch of commands: "3 commands from proposer 2: SET k1, INCRBY c, DEL a (+2
 *           keys)", naming at most STOA_GROUP_LOG_COMMANDS_NAMED_MAX commands (then ", ...")
 *           with their first key cut to STOA_GROUP_LOG_KEY_BYTES_MAX bytes ("..." after a cut
 *           one) and bytes outside printable ASCII (and the backslash) written as \xHH;
 *   NORMAL, a member's address: "address of member 4: 127.0.0.1:7390";
 *   NOOP: "no-op"; CONFIG: "add member 4" or "remove member 4";
 *   anything that does not decode: "malformed ... (N bytes)". Bad bytes never crash it. */
size_t stoa_replica_entry_describe(const struct stoa_paxos_entry *entry, char *text,
                                   size_t capacity);

/* Proposes adding (with its peer address) or removing a voter through the log. Returns 0
 * (proposed; it takes effect once chosen), STOA_ERR_NOT_LEADER, STOA_ERR_BUSY (a change is in
 * flight), STOA_ERR_INVALID or the transport's error. */
int stoa_replica_member_add(struct stoa_replica *replica, uint32_t id,
                            const struct stoa_address *address);
int stoa_replica_member_remove(struct stoa_replica *replica, uint32_t id);

/* The same from any member: the leader runs it (a follower forwards it there), and the answer
 * ("OK" once proposed, or an error) comes through the waiter. address is for an add. */
void stoa_replica_member_change(struct stoa_replica *replica, bool add, uint32_t id,
                                const struct stoa_address *address,
                                struct stoa_replica_waiter *waiter);

/* Every member's peer address this node knows, as cluster.members text
 * ("1=127.0.0.1:7382,2=..."; what `stoa start --join` reads from GROUP STATUS). */
void stoa_replica_addresses(const struct stoa_replica *replica, char *text, size_t capacity);

/* The transport, for INFO (peer counters). */
const struct stoa_peer_transport *stoa_replica_transport(const struct stoa_replica *replica);

/* Counters for INFO replication and metrics. */
struct stoa_replica_stats {
    uint64_t proposals;        /* slots this node proposed */
    uint64_t batched_commands; /* commands in them */
    uint64_t applied_entries;
    uint64_t forwarded_out; /* requests this node forwarded to a leader */
    uint64_t forwarded_in;  /* requests this node served for a follower */
    uint64_t lease_reads;
    uint64_t index_reads;
    uint64_t not_applied; /* TRYAGAIN: the slot was filled by another value */
    uint64_t timeouts;
    uint64_t journal_flushes;
    uint64_t journal_flush_usec_total;
    struct stoa_histogram journal_sync_latency; /* the group's fsyncs on this member */
    uint64_t snapshots_sent;
    uint64_t snapshots_installed;
    uint64_t snapshots_started; /* this member's own, to compact its journal */
    uint64_t fast_writes;       /* answered once durable here, before a majority had them */
    uint64_t fast_writes_lost;  /* of those, in a slot a later leader filled otherwise */
    uint64_t fast_speculative;  /* of the fast writes, answered from the leader's view */
    uint64_t speculation_starts; /* the view built from the log */
    uint64_t speculation_stops;  /* the view dropped (it could not follow the log) */
    uint64_t speculation_mismatches; /* a speculative reply the real apply did not give: a bug */
    uint64_t clock_entries; /* stamped no-ops proposed to move the log's clock (idle group) */
};
void stoa_replica_stats(const struct stoa_replica *replica, struct stoa_replica_stats *stats);

#endif
