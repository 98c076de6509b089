/*
 * stoa_sim: the deterministic cluster simulator (docs/simulation.md), shared by its files.
 *
 * One seed is one run, in one thread, replayed bit for bit: a replica group of 3 or 5
 * voters (and a spare member that membership changes add and remove), each a Paxos core
 * (consensus/paxos.h) persisting through the journal (cluster/journal.h) on its own simulated
 * disk (sim/sim_env.h), with an engine (durability none) that applies the chosen batches
 * (cluster/batch.h, the server's codec) and takes snapshots; members talk over a sim_net
 * (sim/sim_net.h); simulated clients issue register, counter and deque operations through any
 * member, some of them with sessions and retries, and record a Jepsen-shaped history. Faults
 * come from the seed. A run has two phases: safety (faults on) and liveness (faults healed, a
 * leader must be elected and the clients must get answers). Checkers: linearizability of each
 * model's history (check/check.h), agreement of every chosen slot, equal state digests at
 * equal applied index, no acknowledged write lost, retried writes applied once.
 *
 * Files: stoa_sim_main.c (options, seeds, figures), stoa_sim_world.c (one run: time, the
 * network, faults, membership changes, phases, checks), stoa_sim_member.c (one member's
 * driver, as src/server/replica*.c drives a real one), stoa_sim_snapshot.c (snapshots,
 * compaction, installs, as replica_snapshot.c), stoa_sim_client.c (clients, sessions,
 * histories).
 *
 * Ownership: sim_run allocates everything it uses and frees it before it returns.
 */
#ifndef STOA_SIM_STOA_SIM_H
#define STOA_SIM_STOA_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster/journal.h"
#include "consensus/paxos.h"
#include "consensus/plant.h"
#include "engine/engine.h"
#include "sim/sim_env.h"
#include "sim/sim_net.h"
#include "util/buf.h"
#include "util/limits.h"
#include "util/log.h"
#include "util/prng.h"

/* ---- bounds (the simulator's own; the product's are in util/limits.h) ---- */

/* Members of a world: 5 voters and a spare that membership changes add and remove. */
#define SIM_MEMBERS_MAX 6
#define SIM_VOTERS_MAX 5
/* Clients per run: enough for concurrency on every key, few enough to keep searches small. */
#define SIM_CLIENTS_MAX 8
/* Keys per model: a few, so operations on one key overlap. */
#define SIM_KEYS_PER_MODEL 3
/* Session clients write the counter keys after the others ("c3", "c4"): two, so that their
 * long operations (retries) do not pile up on one key past what the checker can search. */
#define SIM_SESSION_KEY_FIRST SIM_KEYS_PER_MODEL
#define SIM_SESSION_KEYS 2
#define SIM_KEYS_MAX (SIM_KEYS_PER_MODEL + SIM_SESSION_KEYS)
/* A session client sends a write that got no answer (or, once sent twice, a failure) again,
 * with the same sequence, to another member, until one copy is answered or the run ends; it
 * listens for the answers of its latest copies only. */
#define SIM_SESSION_COPIES_KEPT 4
/* The (client id, sequence) pairs a logical session write is remembered under: one, unless
 * the planted --retry-new-sequence numbers copies anew. */
#define SIM_SESSION_SEQUENCES_MAX 8
/* Session writes a run remembers for the "applied once" check: a default run writes about
 * 60; a long one (--ticks 8000) that writes more than this is checked up to here, then the
 * session checks stand down (searched linearly, newest first). */
#define SIM_SESSION_WRITES_MAX 4096
/* Slots one run may fill (the log is never compacted in a run); --ticks is bounded so that a
 * leader proposing one batch a tick stays below it. */
#define SIM_SLOTS_MAX 16384
#define SIM_TICKS_MAX 8000
/* Requests a member keeps at once (batched writes, writes in flight, reads waiting). */
#define SIM_WAITERS_MAX 256
/* Messages held back by clogged links and paused members; past it they are dropped. */
#define SIM_HELD_MAX 4096
/* Forwarded request ids a member remembers, so a duplicated forward is proposed once (the
 * peer transport is TCP, which never duplicates): more than the forwards of the longest clog
 * (65 ticks of at most 8 clients a tick). */
#define SIM_SEEN_MAX 2048
/* A client gives up on an operation after this many ticks: it ends as "info". */
#define SIM_TIMEOUT_TICKS 40
/* The liveness phase: after healing, every client must complete an operation and every
 * member must apply the leader's log within this many ticks. */
#define SIM_LIVENESS_TICKS_MAX 600
/* Acknowledged writes remembered for the lost-write check. */
#define SIM_ACKED_MAX (SIM_SLOTS_MAX * 4)

/* Paxos timing in ticks (as the server's defaults scaled to the simulator's tick). */
#define SIM_HEARTBEAT_TICKS 2
#define SIM_ELECTION_TICKS_MIN 10
#define SIM_ELECTION_TICKS_MAX 20
/* The clock-drift bound the cores are configured with: a member's clock runs at most
 * SIM_DRIFT_PPM_MAX fast or slow, so two clocks drift apart by at most 2 * 30000 ppm over
 * election_ticks_min = 10 ticks, 0.6 tick, plus a tick for message delays that straddle a
 * tick: 2 covers it. */
#define SIM_DRIFT_TICKS 2
#define SIM_DRIFT_PPM_MAX 30000
#define SIM_WINDOW_SLOTS 32
#define SIM_LOG_SLOTS SIM_SLOTS_MAX
/* Milliseconds of simulated time per tick (engine stamps, sim_env clocks). */
#define SIM_TICK_MS 10
/* The wall clock at tick 0 (unix ms, November 2023): stamps stay positive when a member's
 * wall clock jumps back. */
#define SIM_EPOCH_MS 1700000000000LL
/* A slow sync blocks its member for this many ticks at most (at least 50). */
#define SIM_SLOW_SYNC_TICKS_MIN 50
#define SIM_SLOW_SYNC_TICKS_MAX 300
/* A wall-clock jump moves a member's clock by up to this much, either way. */
#define SIM_CLOCK_JUMP_MS_MAX 30000
/* Journal segments are small, so a run has several and corruption can hit one that is not
 * the last. */
#define SIM_SEGMENT_BYTES 4096
/* A snapshot travels in one message (stoa_sim_snapshot.c); a run's state is a few keys, far
 * below this. */
#define SIM_SNAPSHOT_BYTES_MAX (1024 * 1024)
/* Membership changes a run remembers (voters at a slot, for snapshots): a change needs a
 * leader and a quorum, so far fewer than one a tick happen. */
#define SIM_CHANGES_MAX SIM_TICKS_MAX
/* The channel byte of a snapshot message between members (the others are in
 * stoa_sim_member.c). */
#define SIM_CHANNEL_SNAPSHOT 4

/* ---- operations and results ---- */

enum sim_model {
    SIM_MODEL_REGISTER = 0,
    SIM_MODEL_COUNTER = 1,
    SIM_MODEL_DEQUE = 2,
    SIM_MODEL_COUNT = 3,
};

enum sim_op_kind {
    SIM_OP_SET = 0,       /* register write: SET key value */
    SIM_OP_GET = 1,       /* register read: GET key */
    SIM_OP_INCR = 2,      /* counter: INCRBY key delta */
    SIM_OP_COUNT_GET = 3, /* counter read: GET key */
    SIM_OP_PUSH = 4,      /* deque: RPUSH key value */
    SIM_OP_POP = 5,       /* deque: LPOP key */
    SIM_OP_REGISTER = 6,  /* REGISTER_CLIENT: a session client's first write (no history) */
    SIM_OP_KIND_COUNT = 7,
};

struct sim_op {
    uint8_t kind; /* enum sim_op_kind */
    uint8_t key;  /* 0..SIM_KEYS_MAX - 1, within the kind's model */
    int64_t argument;
    uint64_t client_id; /* 0: anonymous; else a registered session */
    uint64_t sequence;  /* the session's write number, 1, 2, ... */
};

enum sim_status {
    SIM_STATUS_OK = 0,
    SIM_STATUS_FAIL = 1, /* certainly not applied */
};

struct sim_result {
    uint8_t status;
    bool has_value; /* false: null */
    int64_t value;
};

/* ---- faults ---- */

enum sim_fault {
    SIM_FAULT_DROP = 0,
    SIM_FAULT_DUPLICATE,
    SIM_FAULT_PARTITION,     /* a symmetric cut between two members */
    SIM_FAULT_ONE_WAY,       /* an asymmetric cut */
    SIM_FAULT_ISOLATE,       /* every link of one member cut */
    SIM_FAULT_CLOG,          /* a link holds its messages back for a while */
    SIM_FAULT_CRASH_LOSE,    /* crash: every unsynced write lost */
    SIM_FAULT_CRASH_TORN,    /* crash: unsynced writes kept in part, the last one torn */
    SIM_FAULT_FSYNC,         /* an fsync fails: the member stops */
    SIM_FAULT_CORRUPT,       /* a byte of a stopped member's journal flipped */
    SIM_FAULT_DRIFT,         /* a member's clock set to run fast or slow */
    SIM_FAULT_PAUSE,         /* a process paused for some ticks */
    SIM_FAULT_RESTART,       /* a crashed or stopped member started again */
    SIM_FAULT_ELECTION,      /* an operator forces an election (GROUP PREPARE) */
    SIM_FAULT_MEMBER_ADD,    /* the leader proposes adding a voter (a spare, or one removed) */
    SIM_FAULT_MEMBER_REMOVE, /* the leader proposes removing a voter (a dead one first) */
    SIM_FAULT_SNAPSHOT,      /* a member snapshots its engine, then compacts its journal */
    SIM_FAULT_INSTALL,       /* a lagging member installed a leader's snapshot (an event) */
    SIM_FAULT_SLOW_FSYNC,    /* a member's next sync takes 50-300 ticks, the member blocked */
    SIM_FAULT_CLOCK_JUMP,    /* a member's wall clock (its stamps) jumps by seconds */
    SIM_FAULT_COUNT,
};

/* Which fault kinds a run may draw (--faults). */
enum sim_fault_group {
    SIM_GROUP_NET = 1u << 0,       /* drop, duplicate, delay, reorder */
    SIM_GROUP_PARTITION = 1u << 1, /* symmetric, one-way, isolation */
    SIM_GROUP_CLOG = 1u << 2,
    SIM_GROUP_CRASH = 1u << 3, /* crash (lose or torn) and restart */
    SIM_GROUP_DISK = 1u << 4,  /* fsync failure, slow fsync, corruption */
    SIM_GROUP_CLOCK = 1u << 5, /* drift, wall-clock jumps */
    SIM_GROUP_PAUSE = 1u << 6,
    SIM_GROUP_ELECTION = 1u << 7, /* forced elections */
    SIM_GROUP_MEMBER = 1u << 8,   /* membership changes (a spare member joins the world) */
    SIM_GROUP_SNAPSHOT = 1u << 9, /* snapshots, compaction and installs */
    SIM_GROUP_ALL = (1u << 10) - 1,
};

const char *sim_fault_name(enum sim_fault fault);

/* ---- options, figures, result ---- */

struct sim_options {
    uint64_t seed;
    uint32_t ticks; /* ticks of the safety phase */
    uint32_t nodes; /* 3 or 5 */
    uint32_t fault_groups;
    int plant; /* enum stoa_plant */
    /* How a paused process's ticker resumes: false = it catches up the ticks it missed (a
     * ticker driven by the monotonic clock), true = it fires once (a libuv repeating timer). */
    bool pause_fires_once;
    /* Corruption may hit the journal's last segment too (where the log may take a damaged
     * record for a torn tail: docs/simulation.md, "Findings"). */
    bool corrupt_anywhere;
    /* The white-box check that a restarted acceptor keeps the promises it sent; off, only
     * the end-to-end checkers judge (to measure what they catch alone). */
    bool no_promise_check;
    /* A planted client bug: a retried session write takes a new sequence number, so the
     * session table cannot tell it is a retry (the "applied once" check must catch it). */
    bool retry_new_sequence;
    const char *history_path; /* NULL: no file; else <path>.<model>.jsonl */
    bool verbose;
    bool log; /* every member's log lines (debug level up) on standard error */
};

struct sim_stats {
    uint64_t faults[SIM_FAULT_COUNT];
    uint64_t ops; /* operations invoked */
    uint64_t ops_ok;
    uint64_t ops_fail;
    uint64_t ops_info;
    uint64_t keys;           /* keys with at least one operation */
    uint64_t slots;          /* slots chosen (the leader's commit index at the end) */
    uint64_t messages;       /* messages sent */
    uint64_t ticks;          /* ticks run, both phases */
    uint64_t liveness_ticks; /* ticks the liveness phase needed */
    uint64_t check_ns;       /* time spent in the linearizability checker */
    uint64_t sessions;       /* session clients registered */
    uint64_t retries;        /* session writes sent again after no answer */
    uint64_t session_writes; /* session writes applied (each once) */
};

/* Runs one seed. Returns 0 when every check passed, 1 when one failed (why is filled with
 * what), or a negative error (STOA_ERR_NOMEM, or the simulator's own failure, in why). stats
 * are added to. */
int sim_run(const struct sim_options *options, struct sim_stats *stats, char *why,
            size_t why_bytes);

/* ---- inside a run ---- */

struct sim_world;

enum sim_waiter_state {
    SIM_WAITER_FREE = 0,
    SIM_WAITER_BATCHED,    /* a write in the leader's batch, not yet proposed */
    SIM_WAITER_PROPOSED,   /* a write proposed at slot */
    SIM_WAITER_READ_INDEX, /* a read waiting for its read index */
    SIM_WAITER_READ_READY, /* a read waiting for applied >= index */
};

struct sim_waiter {
    uint8_t state;   /* enum sim_waiter_state */
    uint32_t origin; /* 0: a client of this member; else the member that forwarded it */
    uint64_t request_id;
    struct sim_op op;
    uint32_t position; /* the command's place in its batch */
    uint64_t slot;     /* proposed: the slot; read ready: the index */
    uint64_t value_hash;
};

/* Where a crash falls in the member's next batch (a crash fault picks one). */
enum sim_crash_point {
    SIM_CRASH_NONE = 0,
    SIM_CRASH_BEFORE_PERSIST, /* after the messages that may precede the fsync */
    SIM_CRASH_AFTER_PERSIST,  /* after the fsync, before the other messages */
};

struct sim_member {
    uint32_t id;
    bool up;
    bool stopped; /* its journal failed: it takes no input until restarted */
    bool lost;    /* its journal is damaged: it cannot start again in this run */
    struct stoa_sim_env *disk;
    struct stoa_env *env;
    struct stoa_log log;
    struct stoa_journal *journal;
    struct stoa_engine *engine;
    struct stoa_paxos *paxos;
    uint64_t applied;
    uint64_t compacted_index; /* the journal and the core hold nothing at or below it */
    /* The clock: drift in ppm (negative: slow), its remainder, and a pause. */
    int32_t drift_ppm;
    int64_t drift_remainder;
    uint64_t paused_until; /* world tick; 0 = not paused */
    /* A sync blocked the process until paused_until: what it sends meanwhile is held. */
    bool blocked_in_sync;
    uint32_t slow_sync_ticks; /* > 0: the next flush blocks the member this long */
    /* Answers to its own clients made while blocked in a sync, given when it returns. */
    struct sim_held_answer {
        uint64_t request_id;
        struct sim_result result;
    } held_answers[SIM_WAITERS_MAX];
    uint32_t held_answer_count;
    int64_t wall_offset_ms; /* the wall clock's error (jumps); ticks are unaffected */
    /* Client requests that reached a paused process, served when it resumes. */
    struct sim_waiter paused_requests[SIM_CLIENTS_MAX];
    uint32_t paused_request_count;
    uint64_t missed_ticks;
    enum sim_crash_point crash_at;
    enum stoa_sim_crash_mode crash_mode;
    struct sim_waiter waiters[SIM_WAITERS_MAX];
    struct stoa_buf batch; /* the leader's batch: varint length + command record, each */
    uint32_t batch_count;
    struct stoa_buf value; /* a batch as a log value */
    /* In every batch's header; a random start at each start, as replica.c does. */
    uint64_t proposal_number;
    uint64_t starts;
    uint64_t seen[SIM_SEEN_MAX];
    uint32_t seen_next;
    uint32_t fsync_fail_in; /* > 0: the nth sync from now fails (armed when up) */
    /* The highest ballot this member ever sent a PROMISE or an ACCEPTED for, across restarts:
     * a restarted core must still have promised at least that much. */
    struct stoa_paxos_ballot promise_sent;
};

/* Members (stoa_sim_member.c). */
int sim_member_init(struct sim_world *world, struct sim_member *member, uint32_t id);
void sim_member_free(struct sim_member *member);
int sim_member_start(struct sim_world *world, struct sim_member *member);
void sim_member_crash(struct sim_world *world, struct sim_member *member,
                      enum stoa_sim_crash_mode mode);
/* One tick of the member's ticker: the core's tick, the flush of a pending commit record. */
void sim_member_tick(struct sim_world *world, struct sim_member *member);
/* Runs the core's batches until none is left (persist, send, apply, advance). */
void sim_member_process(struct sim_world *world, struct sim_member *member);
/* A message from another member (channel byte first). */
void sim_member_receive(struct sim_world *world, struct sim_member *member, uint32_t from,
                        const uint8_t *bytes, size_t length);
/* A client's request, or one forwarded from origin. */
void sim_member_request(struct sim_world *world, struct sim_member *member, uint32_t origin,
                        uint64_t request_id, const struct sim_op *op);
/* The leader proposes its batch of writes. */
void sim_member_propose(struct sim_world *world, struct sim_member *member);
bool sim_member_is_leader(const struct sim_member *member);
/* A paused process resumed: it serves the client requests that waited. */
void sim_member_resumed(struct sim_world *world, struct sim_member *member);
uint64_t sim_member_digest(const struct sim_member *member);
/* The sum of the session counters on member (0 for one that does not exist yet). */
int64_t sim_member_session_counter(struct sim_world *world, struct sim_member *member);
/* The member's wall clock: what it stamps commands with and answers reads as of. */
int64_t sim_member_wall_ms(const struct sim_world *world, const struct sim_member *member);
/* Its journal or disk failed: the member stops taking part until restarted. */
void sim_member_stop(struct sim_member *member);

/* Snapshots (stoa_sim_snapshot.c). Starts a snapshot of the member's engine: true if one
 * started. */
bool sim_member_snapshot_take(struct sim_world *world, struct sim_member *member);
/* Once a snapshot is durable: compacts the core's log and the journal at its slot. */
void sim_member_compact(struct sim_world *world, struct sim_member *member);
/* The core asked for a snapshot to go to member to. */
void sim_member_snapshot_send(struct sim_world *world, struct sim_member *member, uint32_t to);
/* A snapshot message (channel byte first). */
void sim_member_on_snapshot(struct sim_world *world, struct sim_member *member,
                            const uint8_t *bytes, size_t length);

/* The world (stoa_sim_world.c), as the members and clients see it. */
/* Crashes member: its disk loses what was not synced, and every message in flight to it is
 * gone with its connections. */
void sim_crash(struct sim_world *world, struct sim_member *member, enum stoa_sim_crash_mode mode);
void sim_send(struct sim_world *world, uint32_t from, uint32_t to, const uint8_t *bytes,
              size_t length);
void sim_violation(struct sim_world *world, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* Every member applied entry at slot: agreement and digest checks. */
void sim_applied(struct sim_world *world, struct sim_member *member, uint64_t slot,
                 uint64_t value_hash);
void sim_acknowledged_write(struct sim_world *world, uint64_t slot, uint64_t value_hash);
/* A client sent (a copy of) its logical session write number logical, adding delta, as
 * (client_id, sequence). */
void sim_session_sent(struct sim_world *world, uint64_t client_id, uint64_t sequence,
                      uint64_t logical, int64_t delta);
/* A member's engine applied (client_id, sequence) at slot — its counter moved, so the table
 * did not answer it as a retry: the "applied once" check. */
void sim_session_applied(struct sim_world *world, struct sim_member *member, uint64_t client_id,
                         uint64_t sequence, uint64_t slot);
/* A client was told its logical session write succeeded. */
void sim_session_acknowledged(struct sim_world *world, uint64_t logical);
/* A CONFIG entry was applied at slot (remembered for the voters at a slot). */
void sim_config_applied(struct sim_world *world, uint64_t slot, const uint8_t *value,
                        uint32_t length);
/* The voters as of slot (the starting ones and every change chosen at or below it); fills
 * ids (STOA_PAXOS_MEMBERS_MAX) and returns the count. */
uint32_t sim_voters_at(const struct sim_world *world, uint64_t slot, uint32_t *ids);
/* A member's engine holds the state as of index after loading or installing a snapshot:
 * the digest check at that index. */
void sim_installed(struct sim_world *world, struct sim_member *member, uint64_t index);
struct sim_member *sim_member_of(struct sim_world *world, uint32_t id);
uint64_t sim_now(const struct sim_world *world);
/* Whether plant (enum stoa_plant) is the one switched on in this run. */
bool sim_plant_is(int plant);
struct sim_clients *sim_world_clients(struct sim_world *world);
bool sim_promise_check(const struct sim_world *world);
bool sim_log_wanted(const struct sim_world *world);
uint64_t sim_seed(const struct sim_world *world);
/* --retry-new-sequence: the planted client bug of numbering a retry as a new write. */
bool sim_retry_new_sequence(const struct sim_world *world);
void sim_fault_count(struct sim_world *world, enum sim_fault fault);
uint32_t sim_member_count(const struct sim_world *world);
/* The voters every member starts with (ids 1..nodes); a spare starts outside them. */
uint32_t sim_voter_count_initial(const struct sim_world *world);
const uint32_t *sim_member_ids(const struct sim_world *world);
struct stoa_prng *sim_prng(struct sim_world *world);

/* Clients (stoa_sim_client.c). */
struct sim_clients;
int sim_clients_create(struct sim_world *world, uint32_t count, struct sim_clients **out);
void sim_clients_destroy(struct sim_clients *clients);
/* One tick: time out operations, invoke new ones. open: new operations may start. */
void sim_clients_tick(struct sim_clients *clients, bool open);
/* The answer to request_id (ignored if the client gave up on it). */
void sim_clients_reply(struct sim_clients *clients, uint64_t request_id,
                       const struct sim_result *result);
/* Liveness: every client has completed an operation invoked at or after tick. */
bool sim_clients_all_answered_since(const struct sim_clients *clients, uint64_t tick);
/* Ends every open operation as info and checks each model's history; writes the files. */
int sim_clients_check(struct sim_clients *clients, const struct sim_options *options,
                      struct sim_stats *stats, char *why, size_t why_bytes);
/* No client has an operation in flight. */
bool sim_clients_idle(const struct sim_clients *clients);
/* Prints each client's state (a liveness failure's diagnosis). */
void sim_clients_dump(const struct sim_clients *clients);
void sim_clients_stats(const struct sim_clients *clients, struct sim_stats *stats);

/* The FNV-1a hash of bytes (value hashes, chosen-slot agreement). */
uint64_t sim_hash(const uint8_t *bytes, size_t length);

#endif
