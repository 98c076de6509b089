/*
 * engine: one node's durable, typed store; the state machine every node runs, alone or in a
 * replica group.
 *
 * The engine ties together the keyspace (keyspace.h, behind backend.h), the command log
 * (wal.h), snapshots (snapshot.h), the apply state machine (apply.h) and the session table
 * (session.h). In <data dir> it keeps log/ and snapshot/.
 *
 * Writes. stoa_engine_write logs the command (in memory), applies it and writes its reply.
 * The reply must not reach the client before the write is durable: the caller holds replies
 * until stoa_engine_flush has made the log durable up to the write's index (group commit:
 * every write of one loop iteration, then one flush, then the replies). With durability
 * "none" there is no log and a write is "durable" at once (memory only).
 *
 * Failure. If the log cannot be written or synced, the engine refuses every later write
 * with STOA_ERR_FSYNC (or STOA_ERR_IO) and the error reply "ERR writes refused: ...". It
 * never retries an fsync and never pretends; reads go on. Restart the node to recover.
 *
 * Recovery (stoa_engine_open). Load the newest valid snapshot (falling back to the one
 * before if it is damaged), then replay the log records after it. A torn log tail is cut;
 * damage before the tail stops the open with a message naming the file and offset, unless
 * truncate_corrupt is set (a copy of the damaged segment is kept).
 *
 * Snapshots are written in the background by a forked child (env run_in_child): a
 * copy-on-write image of memory, so writes stall only for the fork. After a snapshot is
 * installed, log segments wholly before the older of the two kept snapshots are removed.
 *
 * Time: the engine never reads a clock for writes. A write carries the time stamped when it
 * was proposed; reads and ticks take now_ms from the caller.
 */
#ifndef STOA_ENGINE_ENGINE_H
#define STOA_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/apply.h"
#include "engine/command.h"
#include "engine/keyspace.h"
#include "engine/reply.h"
#include "util/env.h"
#include "util/histogram.h"
#include "util/limits.h"
#include "util/log.h"

enum stoa_engine_durability {
    STOA_ENGINE_DURABILITY_ALWAYS = 0,   /* a flush syncs: acknowledged means on disk */
    STOA_ENGINE_DURABILITY_EVERYSEC = 1, /* synced at most a second later */
    STOA_ENGINE_DURABILITY_NONE = 2,     /* no log: memory only (snapshots still load/save) */
};

struct stoa_engine_options {
    const char *data_dir; /* borrowed for open; must exist */
    enum stoa_engine_durability durability;
    size_t memory_bytes_max; /* 0 = no limit */
    enum stoa_keyspace_eviction eviction;
    /* Start a background snapshot when the log has grown this much since the last one;
     * 0 = only when asked (stoa_engine_snapshot_start). */
    uint64_t snapshot_log_bytes;
    bool truncate_corrupt;
    /* Log segment size; 0 = the default. Small values are for tests. */
    uint64_t segment_bytes_max;
    const struct stoa_log *log; /* borrowed until close; may be NULL */
    /* An external store to keep the keys in instead of the in-memory keyspace (the Redis
     * backend, src/backend), borrowed until close; NULL = the keyspace. It is the store of
     * record and keeps its own durability: durability must be NONE (asserted; no log, so
     * nothing is replayed into it twice), and no snapshot is loaded or taken
     * (stoa_engine_snapshot_start answers STOA_ERR_UNSUPPORTED). */
    struct stoa_backend *backend;
};

struct stoa_engine_error {
    char message[STOA_ENGINE_ERROR_BYTES_MAX];
};

struct stoa_engine_stats {
    uint64_t applied_index;
    uint64_t durable_index;
    uint64_t writes;            /* commands applied since open */
    uint64_t flushes;           /* flushes that wrote something */
    uint64_t log_bytes;         /* bytes appended to the log since open */
    uint64_t recovered_records; /* log records replayed at open */
    uint64_t snapshot_index;    /* of the newest snapshot installed or loaded; 0 = none */
    int64_t snapshot_created_ms;
    uint64_t snapshots_written;
    bool snapshot_running;
    int failure; /* 0, or the error that stopped writes */
    struct stoa_histogram sync_latency; /* flushes that synced the log: their duration */
};

struct stoa_engine;

/* Opens (recovering) the engine in options->data_dir. Returns 0, or STOA_ERR_CORRUPT /
 * STOA_ERR_UNSUPPORTED (a damaged or newer log; error names file and offset), STOA_ERR_IO,
 * STOA_ERR_FSYNC, STOA_ERR_NOMEM. *engine is set only on success. */
int stoa_engine_open(struct stoa_env *env, const struct stoa_engine_options *options,
                     struct stoa_engine **engine, struct stoa_engine_error *error);

/* Closes the engine. Unflushed writes are flushed first (best effort; their replies were
 * never sent). A running snapshot must have finished (asserted): see stoa_engine_busy. */
void stoa_engine_close(struct stoa_engine *engine);

/* Logs and applies one write (command->stamp_ms set by the proposer). Sets *index to the
 * record's log index, to wait for before releasing the reply. Returns 0, or the negative code
 * of the error it replied: deterministic command errors (the state is unchanged; the record
 * is still logged, harmlessly), STOA_ERR_FSYNC/IO after a log failure, STOA_ERR_NOMEM (the
 * record is taken back out of the log). */
int stoa_engine_write(struct stoa_engine *engine, const struct stoa_command *command,
                      struct stoa_reply *reply, uint64_t *index);

/* Replica groups. The group's log is the Paxos journal (cluster/journal.h), so a member's
 * engine is opened with durability "none" (no log of its own; snapshots as usual) and is
 * fed the commands of each chosen log entry in slot order. stoa_engine_apply_chosen applies
 * one such command (the position-th of its entry, below STOA_ENGINE_BATCH_COMMANDS_MAX)
 * without logging it, and moves the applied index to slot (many commands share a slot: an
 * entry is a batch); its result and reply are as stoa_engine_write's, and a
 * STOA_ERR_NOMEM is final (every replica fails the same way... or not: memory is the one
 * input replicas do not share, see docs/replication.md). stoa_engine_applied_set moves the
 * applied index over an entry with no commands (a no-op or a membership change). Snapshots
 * record the applied index, which is the slot a restarted member resumes after. */
int stoa_engine_apply_chosen(struct stoa_engine *engine, uint64_t slot, uint32_t position,
                             const struct stoa_command *command, struct stoa_reply *reply);
void stoa_engine_applied_set(struct stoa_engine *engine, uint64_t slot);

/* A single node (no replica group): moves the log's clock (engine.c) up to now_ms, its wall
 * clock, so the background expiry reclaims keys that expired while no write came. Safe
 * there because every later write is logged with a stamp at least the clock, so replaying
 * the log agrees. A group member must not: its clock moves only with the chosen log. */
void stoa_engine_clock_advance(struct stoa_engine *engine, int64_t now_ms);

/* The log's clock: the newest stamp applied (engine.c, "the log's clock"). */
int64_t stoa_engine_log_clock(const struct stoa_engine *engine);

/* The in-memory keyspace as a backend, for a view that reads it without changing it (a
 * leader's speculation, engine/overlay.h), or NULL when the keys live in an external store.
 * Borrowed; valid until the engine closes or reloads. */
struct stoa_backend *stoa_engine_keyspace_backend(struct stoa_engine *engine);

/* Replica groups: drops the whole state and loads the newest snapshot in <data dir>/snapshot
 * again (a follower that was sent a snapshot installs the file there, then reloads). Only for
 * an engine without a log, with no snapshot running (asserted). Returns 0 (an empty state if
 * there is no snapshot), or the load's error (the state is then empty: the caller must not
 * serve from it). */
int stoa_engine_reload(struct stoa_engine *engine, struct stoa_engine_error *error);

/* Answers a read (apply.h's read opcodes) as of now_ms. */
int stoa_engine_query(struct stoa_engine *engine, int64_t now_ms, uint32_t opcode,
                      const struct stoa_command_argument *arguments, size_t count,
                      struct stoa_reply *reply);

/* Group commit: makes every write so far durable per the policy (one fdatasync with
 * "always"). Returns 0, or the error that put the engine in its failed state. */
int stoa_engine_flush(struct stoa_engine *engine);

/* The highest log index whose write is durable: replies of writes up to it may be sent. */
uint64_t stoa_engine_durable_index(const struct stoa_engine *engine);

/* Periodic work, bounded: reclaims at most max_expire keys expired by now_ms, runs the
 * "everysec" sync when due, and starts a snapshot when the log has grown enough. */
int stoa_engine_tick(struct stoa_engine *engine, int64_t now_ms, size_t max_expire);

/* Starts a background snapshot of the state as of now (the log is flushed first). Returns
 * 0, STOA_ERR_BUSY if one is running, or the error of the flush or the fork. */
int stoa_engine_snapshot_start(struct stoa_engine *engine);

/* Whether a background snapshot is running (close waits for it: run the loop). */
bool stoa_engine_busy(const struct stoa_engine *engine);

void stoa_engine_stats(const struct stoa_engine *engine, struct stoa_engine_stats *stats);

/* The memory limit (0 = none) and eviction policy in force, and changing them at run time
 * (CONFIG SET maxmemory). Lowering the limit evicts nothing at once: the next write that
 * grows memory does, or is refused. */
size_t stoa_engine_memory_limit(const struct stoa_engine *engine);
enum stoa_keyspace_eviction stoa_engine_eviction(const struct stoa_engine *engine);
void stoa_engine_memory_limit_set(struct stoa_engine *engine, size_t memory_bytes_max,
                                  enum stoa_keyspace_eviction eviction);

enum stoa_engine_durability stoa_engine_durability(const struct stoa_engine *engine);

/* The keyspace, read only: for INFO, metrics and tests. */
const struct stoa_keyspace *stoa_engine_keyspace(const struct stoa_engine *engine);

#endif
