/*
 * wal: the write-ahead log, a numbered sequence of records made durable in batches.
 *
 * The engine appends every write command to the log before applying it, and the Paxos log
 * of a replica group is the same log (docs/ARCHITECTURE.md §5). A record is an opaque
 * payload with an index: indexes are contiguous and start at options.first_index. Records
 * live in segment files in one directory, <directory>/<first index, 20 digits>.log; the
 * byte layout and the recovery rules are in docs/formats/log.md.
 *
 * Group commit: stoa_wal_append only copies the payload into an in-memory batch and
 * assigns the next index (no I/O, no allocation beyond the batch buffer's growth);
 * stoa_wal_flush writes the whole batch with one pwrite and, under durability "always",
 * makes it durable with exactly one file_datasync. The server calls flush once per loop
 * iteration, before sending any reply that depends on the batch. stoa_wal_durable_index
 * says how far the log is known to be on disk: a reply that depends on record i may be
 * sent once durable_index >= i. When a flush starts a new segment (the current one would
 * pass its size bound) it also syncs the directory, so that flush does one datasync and one
 * sync_dir (and, under everysec, one more datasync to finish the old segment).
 *
 * Durability policies:
 *   always    every flush syncs; a successful flush means its records are on disk.
 *   everysec  a flush writes, and syncs only if the last sync was at least
 *             STOA_WAL_EVERYSEC_INTERVAL_MS ago (env monotonic clock); stoa_wal_tick,
 *             called from a timer, syncs written data once the interval is up. A crash may
 *             lose up to about a second of acknowledged writes.
 *   none      is not a policy of this module: with durability none the engine opens no log
 *             at all and keeps its data in memory only.
 *
 * Failure: a failed pwrite or sync puts the log in a failed state. From then on every
 * append, flush, tick and truncate returns that error (STOA_ERR_IO or STOA_ERR_FSYNC), and
 * durable_index never moves again. A sync is never retried: after a failed fsync the kernel
 * may have dropped the data while reporting the next one as a success. The log never
 * pretends; the owner reopens it (after a restart) to learn what is on disk.
 *
 * All I/O goes through the env (util/env.h); the module never reads a clock or the disk any
 * other way, so the simulator can crash it at any point.
 *
 * Ownership: stoa_wal_open returns an owned log; free it with stoa_wal_close. The options,
 * their directory string and the logger are borrowed for the open call, except the logger,
 * which is borrowed until close. Payloads passed to append are copied.
 */
#ifndef STOA_ENGINE_WAL_H
#define STOA_ENGINE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/env.h"
#include "util/limits.h"
#include "util/log.h"

struct stoa_wal;

enum stoa_wal_durability {
    STOA_WAL_DURABILITY_ALWAYS = 0,
    STOA_WAL_DURABILITY_EVERYSEC = 1,
};

struct stoa_wal_options {
    /* The log's own directory, e.g. "<data dir>/log"; made (and its parent synced) if
     * missing. Its parent must exist. */
    const char *directory;
    enum stoa_wal_durability durability;
    /* The index of the first record of a new, empty log; 0 means 1. Ignored when the log
     * already has segments. */
    uint64_t first_index;
    /* Bounds; 0 means the default in limits.h. segment_bytes_max is in
     * [STOA_WAL_SEGMENT_BYTES_MIN, STOA_WAL_SEGMENT_BYTES_MAX]; the other two are at most
     * their STOA_WAL_* maximum. Smaller values are for tests. */
    uint64_t segment_bytes_max;
    size_t record_bytes_max;
    size_t batch_bytes_max;
    /* A bad record before the tail stops the open with STOA_ERR_CORRUPT; with this set, the
     * log is cut there instead, after keeping a copy of the damaged segment as
     * <segment>.corrupt-<offset>. Every record after the cut is lost. */
    bool truncate_corrupt;
    /* Borrowed until close; may be NULL (no log lines). */
    const struct stoa_log *log;
};

/* What an open found. */
struct stoa_wal_recovery {
    uint64_t first_index; /* the first record in the log */
    uint64_t last_index;  /* the last record, or first_index - 1 when the log is empty */
    uint64_t segment_count;
    uint64_t torn_bytes;    /* bytes dropped from a torn tail */
    uint64_t corrupt_bytes; /* bytes dropped at a corrupt record (truncate_corrupt only) */
};

/* Why an open failed: one line naming the file and the byte offset. */
struct stoa_wal_error {
    char message[STOA_WAL_ERROR_BYTES_MAX];
};

/* Called with each record in order; payload is borrowed for the call. A nonzero return
 * stops the replay, and replay returns it. */
typedef int (*stoa_wal_record_fn)(void *context, uint64_t index, const uint8_t *payload,
                                  size_t length);

/* Opens (or creates) the log in options->directory, recovering it: every segment is read
 * and every record verified. A torn tail of the last segment (a record cut short by the end of
 * the file, or a bad record that no later record proves was durable and that is not one bit
 * off a whole record: zeros, garbage, the rest of an unsynced batch) is cut off and counted
 * in torn_bytes. Returns 0 and sets *wal and *recovery; or STOA_ERR_CORRUPT for a bad
 * segment header, a bad record before the last segment, or a bad record in it that a later
 * record header proves was durable or that one flipped bit makes whole (error->message names
 * the file and offset; see truncate_corrupt), STOA_ERR_UNSUPPORTED for
 * a segment of another format version (the message names both versions), STOA_ERR_TOO_LARGE
 * for a directory path too long or too many segments, STOA_ERR_NOMEM, or an env error. error
 * may be NULL; on success its message is empty. The rules are in docs/formats/log.md. */
int stoa_wal_open(struct stoa_env *env, const struct stoa_wal_options *options,
                  struct stoa_wal **wal, struct stoa_wal_recovery *recovery,
                  struct stoa_wal_error *error);

/* Closes the files and frees the log. Records appended and not flushed are dropped. */
void stoa_wal_close(struct stoa_wal *wal);

/* Copies length bytes of payload into the batch and sets *index to the record's index.
 * Returns 0; STOA_ERR_TOO_LARGE if length is above the record bound; STOA_ERR_FULL if the
 * batch holds records and this one would take it past its bound (flush, then append
 * again); STOA_ERR_NOMEM; or the failure of a failed log. *index is untouched on error. */
int stoa_wal_append(struct stoa_wal *wal, const void *payload, size_t length, uint64_t *index);

/* Writes the batch and makes it durable as the policy says (see above). Returns 0, or
 * STOA_ERR_IO / STOA_ERR_FSYNC (the log is failed from then on), or STOA_ERR_NOMEM or an
 * env error from starting a new segment (the batch is kept and flush may be called again). */
int stoa_wal_flush(struct stoa_wal *wal);

/* For everysec: syncs written data if the interval is up. Call it from a timer at least once
 * a second. Returns 0 or the failure (the log is failed from then on). Does nothing under
 * always. */
/* Flushes, then syncs whatever is not yet durable whatever the policy: afterwards
 * stoa_wal_durable_index is the last index. For everysec logs before a snapshot, so a
 * snapshot is never ahead of the durable log. Errors as stoa_wal_flush. */
int stoa_wal_sync(struct stoa_wal *wal);

int stoa_wal_tick(struct stoa_wal *wal);

/* Calls on_record for each record from from_index to the last appended one (flushed or
 * not), in order. from_index must be in [first_index, last_index + 1] (else STOA_ERR_RANGE).
 * Returns 0, the callback's nonzero return, STOA_ERR_CORRUPT if a segment no longer reads
 * back as it was written, STOA_ERR_NOMEM or an env error. */
int stoa_wal_replay(struct stoa_wal *wal, uint64_t from_index, stoa_wal_record_fn on_record,
                    void *context);

/* Removes every segment whose records all come before index (after a snapshot that covers
 * them), oldest first. The segment holding index, and the last segment, stay, so the log's
 * first index may stay below index. Returns 0, an env error (the segments not removed stay
 * in the log), or STOA_ERR_FSYNC (the log is failed). */
int stoa_wal_truncate_before(struct stoa_wal *wal, uint64_t index);

/* Drops every record after index, flushed or not, and makes the cut durable before it
 * returns; the next append gets index + 1. index is in [first_index - 1, last_index] (else
 * STOA_ERR_RANGE). Returns 0, or an env error, STOA_ERR_IO or STOA_ERR_FSYNC (the log is
 * failed from then on). */
int stoa_wal_truncate_after(struct stoa_wal *wal, uint64_t index);

/* The first index in the log. */
uint64_t stoa_wal_first_index(const struct stoa_wal *wal);
/* The last appended index (first_index - 1 when empty). */
uint64_t stoa_wal_last_index(const struct stoa_wal *wal);
/* The highest index known to be on disk (first_index - 1 when none). */
uint64_t stoa_wal_durable_index(const struct stoa_wal *wal);
/* 0, or the error that failed the log. */
int stoa_wal_failure(const struct stoa_wal *wal);

#endif
