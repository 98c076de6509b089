/*
 * replica_int: what the files of the replica module share (replica.c: the core, the journal,
 * the tick and the loop hook; replica_request.c: writes, reads, forwarding and waiters;
 * replica_snapshot.c: snapshots sent to and installed on lagging followers).
 */
#ifndef STOA_SERVER_REPLICA_INT_H
#define STOA_SERVER_REPLICA_INT_H

#include "cluster/journal.h"
#include "server/replica.h"
#include "util/limits.h"

/* The first byte of every peer payload (docs/protocols/peer.md, "channels"). */
enum replica_channel {
    CHANNEL_PAXOS = 1,         /* a consensus message (consensus/message.h) */
    CHANNEL_FORWARD = 2,       /* u64 request id, u8 kind, command record */
    CHANNEL_FORWARD_REPLY = 3, /* u64 request id, u8 status, u32 leader hint, reply bytes */
    CHANNEL_SNAPSHOT = 4,      /* u64 index, u64 offset, u64 total, u8 last, bytes */
    CHANNEL_SNAPSHOT_ACK = 5,  /* u64 index, u64 offset received (or u64 max: failed) */
};

/* A NORMAL log entry's value is written and read by cluster/batch.h. */

/* One record of pending_slot.speculated: u32 position, u64 reply hash. */
#define SPECULATED_RECORD_BYTES 12

/* What a forwarded request asks for. */
enum forward_kind {
    FORWARD_WRITE = 1,
    FORWARD_READ_SAFE = 2,
    FORWARD_MEMBER_ADD = 3,    /* arguments: member id (u64 LE), peer address text */
    FORWARD_MEMBER_REMOVE = 4, /* argument: member id (u64 LE) */
    FORWARD_WRITE_FAST = 5,    /* a write in fast mode (stoa_replica_write) */
};

/* How a forwarded request ended on the leader. */
enum forward_status {
    FORWARD_OK = 0,         /* the reply bytes follow (an error reply is still OK here) */
    FORWARD_NOT_LEADER = 1, /* the hint names the leader the receiver knows, or 0 */
};

struct waiter_list {
    struct stoa_replica_waiter *first;
    struct stoa_replica_waiter *last;
    size_t count;
};

/* A slot this node proposed, with the requests waiting for it. */
struct pending_slot {
    uint64_t slot; /* 0: unused */
    uint64_t value_hash;
    struct waiter_list waiters; /* in batch position order */
    uint32_t fast_waiting;      /* fast writes among the waiters */
    uint32_t fast_answered;     /* fast writes already answered (durable here) */
    /* The speculative writes answered: (u32 position, u64 hash of the reply sent), in
     * position order, checked against the real apply's replies (replica_apply_entry). */
    struct stoa_buf speculated;
};

/* A request a follower forwarded to this node, while it waits here. */
struct remote {
    struct stoa_replica_waiter waiter;
    struct stoa_reply_recorder recorder;
    struct stoa_buf recorded;
    struct stoa_replica *replica;
    uint32_t from;
    uint64_t request_id;
    struct remote *next_free;
};

/* A snapshot being sent to one follower, a chunk per tick. */
struct snapshot_send {
    uint32_t to;     /* 0: none */
    uint64_t index;  /* of the snapshot file */
    uint64_t offset; /* next byte to send */
    uint64_t total;
    uint64_t acked; /* bytes the follower confirmed */
    int64_t last_ack_ms;
    struct stoa_env_file *file;
};

/* A snapshot being received from the leader. */
struct snapshot_receive {
    uint64_t index; /* 0: none */
    uint64_t offset;
    bool install_pending; /* received whole; installed once the engine is not busy */
    uint32_t from;        /* the leader sending it */
    uint32_t voters[STOA_PAXOS_MEMBERS_MAX]; /* as of the snapshot's slot, from the leader */
    uint32_t voter_count;
    struct stoa_env_file *file;
    char path[STOA_PATH_BYTES_MAX];
};

/* A membership change applied at a slot. */
struct member_change {
    uint64_t slot;
    uint8_t op; /* enum stoa_paxos_config_op */
    uint32_t id;
};

struct stoa_replica {
    struct stoa_env *env;
    struct stoa_engine *engine;
    const struct stoa_log *log;
    struct stoa_replica_options options;
    struct stoa_member_list members; /* the peer addresses (copied from options) */
    char data_dir[STOA_PATH_BYTES_MAX];

    struct stoa_paxos *paxos;
    struct stoa_journal *journal;
    struct stoa_peer_transport *transport;
    struct stoa_env_timer *ticker;
    int64_t last_tick_ms; /* monotonic: ticks are counted from real time */
    struct stoa_env_loop_hook *hook;
    bool stopping;
    size_t closes_pending;
    void (*on_stopped)(void *context);
    void *stopped_context;
    int failure; /* the journal failed: this node no longer takes part */

    /* The batch of this loop iteration (leader): commands appended by
     * stoa_batch_command_append; stoa_batch_encode puts the header in front at propose. */
    struct stoa_buf batch;
    uint32_t batch_count;
    struct waiter_list batch_waiters;
    uint64_t proposal_number; /* in every batch's header; starts random at each start */
    struct stoa_buf value;    /* the proposed value: header + batch */

    struct pending_slot pending[STOA_REPLICA_PENDING_SLOTS];
    struct waiter_list index_reads; /* waiting for a read index (key = request id) */
    struct waiter_list ready_reads; /* index known (key = index): answered once applied */
    struct waiter_list forwarded;   /* sent to the leader (key = request id) */
    uint64_t next_request_id;

    struct remote *remotes; /* STOA_REPLICA_REMOTES_MAX, allocated at start */
    struct remote *free_remotes;

    struct stoa_buf message;                 /* an outgoing payload, reused */
    struct stoa_command_argument *arguments; /* decoding commands of an entry */
    size_t argument_capacity;
    struct stoa_paxos_entry *entries; /* decoding a peer message */

    struct snapshot_send sending;
    struct snapshot_receive receiving;
    uint64_t compacted_index; /* the core and journal dropped slots up to here */
    uint64_t journal_bytes_at_snapshot; /* stoa_journal_bytes when the last snapshot began */
    uint64_t fast_slot_max; /* the highest slot with a fast write answered: safe reads wait */
    int64_t clock_proposed_ms; /* real time of the last clock entry (replica_clock_tick) */
    struct member_change changes[STOA_REPLICA_MEMBER_CHANGES_KEPT];
    uint64_t change_count;
    uint8_t *chunk; /* STOA_REPLICA_SNAPSHOT_CHUNK_BYTES */

    struct speculation *speculation; /* the leader's view (replica_speculate.c), or NULL */
    struct stoa_buf checked;         /* a real reply, recorded to check a speculative one */

    struct stoa_replica_stats stats;
};

/* ---- replica.c ---- */

/* Runs the core's outputs until it has none (persist, send, apply, advance). */
void replica_process(struct stoa_replica *replica);
/* Sends one payload (channel byte included) to a peer; drops it on error (logged). */
void replica_send(struct stoa_replica *replica, uint32_t to, const uint8_t *payload, size_t length);
/* Makes the loop run once more soon (replies written from the hook must be sent). */
void replica_kick(struct stoa_replica *replica);

/* The voters as of slot (at most STOA_PAXOS_MEMBERS_MAX ids into ids): today's, with the
 * changes applied after slot undone. */
uint32_t replica_voters_at(const struct stoa_replica *replica, uint64_t slot, uint32_t *ids);

/* ---- replica_request.c ---- */

void waiter_list_push(struct waiter_list *list, struct stoa_replica_waiter *waiter);
void waiter_list_remove(struct stoa_replica_waiter *waiter);
/* Writes an error reply and runs done. */
void waiter_fail(struct stoa_replica_waiter *waiter, int code, const char *text);

/* At the hook, before the core's outputs: proposes this iteration's batch. */
void replica_propose_batch(struct stoa_replica *replica);
/* Applies one chosen entry's commands, answering the waiters of this node's proposal. */
void replica_apply_entry(struct stoa_replica *replica, const struct stoa_paxos_entry *entry);
/* After the journal sync of ready: answers the fast writes in this node's slots among
 * ready's writes (durable here now). */
void replica_fast_durable(struct stoa_replica *replica, const struct stoa_paxos_ready *ready);
/* A read index became known. */
void replica_read_ready(struct stoa_replica *replica, uint64_t request_id, uint64_t index);
void replica_read_failed(struct stoa_replica *replica, uint64_t request_id);
/* Answers reads whose index is now applied. */
void replica_serve_ready_reads(struct stoa_replica *replica);
/* Peer payloads of the forward channels. */
void replica_on_forward(struct stoa_replica *replica, uint32_t from, const uint8_t *data,
                        size_t length);
void replica_on_forward_reply(struct stoa_replica *replica, const uint8_t *data, size_t length);
/* On an idle leader with a key expired on the wall clock but not on the log's: proposes a
 * stamped no-op, so every member's log clock moves and the key is reclaimed. */
void replica_clock_tick(struct stoa_replica *replica);
/* Fails waiters past their deadline. */
void replica_expire(struct stoa_replica *replica, int64_t now_ms);
/* Fails every waiter (stop). */
void replica_fail_all(struct stoa_replica *replica, int code, const char *text);
int replica_remotes_init(struct stoa_replica *replica);
void replica_remotes_free(struct stoa_replica *replica);

/* A member-address entry: every member learns where to reach a member about to be added. */
void replica_apply_member(struct stoa_replica *replica, const struct stoa_paxos_entry *entry);

/* ---- replica_speculate.c ---- */

int replica_speculation_init(struct stoa_replica *replica);
void replica_speculation_free(struct stoa_replica *replica);
/* Drops the view (logged at debug level with why); a later fast write builds it again. */
void replica_speculation_stop(struct stoa_replica *replica, const char *why);
/* Before a write joins the batch on the leader: whether the view is running, starting it
 * if wanted (a fast write whose reply depends on the state) and possible. */
bool replica_speculation_ready(struct stoa_replica *replica, bool wanted);
/* After command joined the batch: applies it to the view. With recorded, records its reply
 * there and returns whether that worked (the write may then be answered from it). */
bool replica_speculation_append(struct stoa_replica *replica, const struct stoa_command *command,
                                struct stoa_buf *recorded);
/* The view now running (0: none). A reply recorded under an earlier one is not used: that
 * view may have assumed slots another ballot's recovery filled otherwise. */
uint32_t replica_speculation_epoch(const struct stoa_replica *replica);
/* The batch went to slot (value hash): returns whether the view's replies for it hold. */
bool replica_speculation_proposed(struct stoa_replica *replica, uint64_t slot, uint64_t hash);
/* After an entry was applied to the engine: checks it against the view. */
void replica_speculation_applied(struct stoa_replica *replica,
                                 const struct stoa_paxos_entry *entry);

/* ---- replica_snapshot.c ---- */

void replica_snapshot_send_start(struct stoa_replica *replica, uint32_t to);
void replica_snapshot_tick(struct stoa_replica *replica, int64_t now_ms);
void replica_on_snapshot(struct stoa_replica *replica, uint32_t from, const uint8_t *data,
                         size_t length);
void replica_on_snapshot_ack(struct stoa_replica *replica, uint32_t from, const uint8_t *data,
                             size_t length);
/* After the engine installed a snapshot of its own: compact the core and the journal. */
void replica_snapshot_compact(struct stoa_replica *replica);
void replica_snapshot_close(struct stoa_replica *replica);

#endif
