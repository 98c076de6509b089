/*
 * journal: the durable half of a replica's Paxos state, on the engine's log (engine/wal.h).
 *
 * The consensus core (consensus/paxos.h) is pure: after each batch of inputs it hands the
 * driver the state to persist (its promised ballot, entries written or overwritten at their
 * slots, its commit index). The journal makes that state durable, in the same segmented,
 * checksummed, group-committed log the engine uses alone (DESIGN.md §5: one mechanism), kept
 * in <data dir>/paxos/. Each log record is one change:
 *
 *   PROMISE   the promised ballot
 *   ENTRY     an entry at its slot (ballot, kind, chosen flag, value); a later ENTRY for the
 *             same slot replaces an earlier one
 *   COMMIT    the commit index
 *   SNAPSHOT  the state machine's snapshot index and its voters: entries at or below it are
 *             obsolete
 *
 * so opening the journal replays the records and rebuilds the last state written, which is
 * what stoa_paxos_create takes back at restart (struct stoa_paxos_persisted). Bytes are in
 * docs/formats/journal.md.
 *
 * Group commit: stoa_journal_write only appends to the log's batch; stoa_journal_flush writes
 * the batch with one pwrite and one fdatasync (durability "always"), after which the driver
 * may send the messages that depend on it. A failed write or sync fails the journal for good
 * (as the engine's log): the node must stop acting as an acceptor.
 *
 * Compaction: after the state machine installs a snapshot at index S,
 * stoa_journal_compact_from writes the core's live state again at the log's tail (the
 * promise, the commit index, a SNAPSHOT record for S and every entry above S), syncs it, and
 * removes the segments before it.
 *
 * Ownership: open returns an owned journal (stoa_journal_close frees it). The persisted state
 * it returns borrows the journal's memory until the next call that changes the journal
 * (write, compact) or close.
 */
#ifndef STOA_CLUSTER_JOURNAL_H
#define STOA_CLUSTER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/paxos.h"
#include "util/env.h"
#include "util/log.h"

struct stoa_journal;

struct stoa_journal_options {
    const char *directory; /* e.g. "<data dir>/paxos"; its parent must exist */
    /* Under everysec a crash may lose promises and accepts already acted on: only for
     * benchmarks and tests that say so. The default (false) syncs every flush. */
    bool everysec;
    uint64_t segment_bytes_max; /* 0 = the log's default; small values for tests */
    const struct stoa_log *log; /* borrowed until close; may be NULL */
};

/* Opens (recovering) the journal and rebuilds the persisted state. Returns 0 with *journal
 * and *persisted (entries in slot order), or the log's errors (STOA_ERR_CORRUPT with a
 * message naming file and offset in error, ...), STOA_ERR_CORRUPT for a record that does not
 * decode, STOA_ERR_NOMEM. error may be NULL. */
int stoa_journal_open(struct stoa_env *env, const struct stoa_journal_options *options,
                      struct stoa_journal **journal, struct stoa_paxos_persisted *persisted,
                      char *error, size_t error_bytes);

void stoa_journal_close(struct stoa_journal *journal);

/* Appends the state changes of one ready batch (promised, writes, commit) to the log's
 * batch. Returns 0, STOA_ERR_NOMEM, or the journal's failure. */
int stoa_journal_write(struct stoa_journal *journal, const struct stoa_paxos_ready *ready);

/* Makes everything written durable (one fdatasync). Returns 0 or the failure (STOA_ERR_IO,
 * STOA_ERR_FSYNC), after which every call fails. */
int stoa_journal_flush(struct stoa_journal *journal);

/* Compaction after the state machine installed a snapshot at snapshot_index: writes the
 * live state the core holds (its promise, commit index, a SNAPSHOT record with the voters,
 * and every entry it holds above the snapshot) at the tail, syncs, and drops the segments
 * before it, without reading the log back. The core's state is at least
 * what was written (it wrote it), so writing it may make some of it durable early, which is
 * always allowed. Returns 0 or an error (the journal is still whole). */
int stoa_journal_compact_from(struct stoa_journal *journal, const struct stoa_paxos *paxos,
                              uint64_t snapshot_index, const uint32_t *members,
                              uint32_t member_count);

/* Whether records were written since the last flush. */
bool stoa_journal_pending(const struct stoa_journal *journal);

/* Bytes in the log since open (for INFO and metrics). */
uint64_t stoa_journal_bytes(const struct stoa_journal *journal);

/* 0, or the error that failed the journal. */
int stoa_journal_failure(const struct stoa_journal *journal);

#endif
