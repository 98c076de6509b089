/*
 * snapshot: point-in-time images of the keyspace, as files, through the env.
 *
 * A snapshot holds everything the log had applied up to one log index, so recovery loads the
 * newest snapshot and replays only the log after it, and log segments wholly before it can be
 * removed. This module does not know the keyspace's types: a snapshot is a stream of records
 * {type byte, key bytes, absolute expiry in ms, value bytes}, where the value bytes are
 * whatever the value module serialized. The byte layout, the install protocol and how a
 * snapshot is taken in the background (a forked child, env run_in_child) are in
 * docs/formats/snapshot.md.
 *
 * Files: <data_dir>/snapshot/<index as 20 decimal digits>.snap. A writer writes
 * <index>.snap.tmp, syncs it, renames it into place and syncs the directory, so a snapshot
 * either exists whole or not at all; then it removes older snapshots, keeping the newest
 * STOA_SNAPSHOT_KEEP_COUNT (the newest and one fallback), and leftover .tmp files.
 *
 * Reading verifies first: a candidate is read through once, checking the header, every
 * record's encoding and bounds, the record count and the checksum over the whole file, and
 * only a file that passes is read a second time to hand its records to the caller. A damaged
 * candidate is logged (a warning naming the file) and the one before it is tried. So the
 * caller never sees a record of a damaged snapshot; the price is reading the file twice (the
 * second time mostly from the page cache).
 *
 * One writer at a time per directory: the caller (the engine) runs at most one snapshot.
 *
 * Ownership: the env, the log and every path and record passed in are borrowed for the call.
 * A writer is returned owned and is given back by finish or abort. Records handed to a load
 * callback are borrowed for that call only.
 */
#ifndef STOA_ENGINE_SNAPSHOT_H
#define STOA_ENGINE_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/env.h"
#include "util/log.h"

/* The format version this code writes and reads (header offset 8). */
#define STOA_SNAPSHOT_FORMAT_VERSION 1

/* One key of the keyspace. type and the value bytes are opaque here. */
struct stoa_snapshot_record {
    uint8_t type;
    const uint8_t *key; /* at most STOA_SNAPSHOT_KEY_BYTES_MAX bytes; NULL if key_length 0 */
    size_t key_length;
    int64_t expire_at_ms; /* absolute unix ms; 0 = never; never negative */
    const uint8_t *value; /* at most STOA_SNAPSHOT_VALUE_BYTES_MAX bytes; NULL if length 0 */
    size_t value_length;
};

/* What a snapshot file says about itself. */
struct stoa_snapshot_info {
    uint64_t index;     /* the last log index the snapshot includes */
    int64_t created_ms; /* real time when the writer started, unix ms */
    uint64_t record_count;
    uint64_t file_bytes;
};

/* Fills *record with the next record to write (its pointers borrowed until the next call)
 * and sets *has_record, or sets *has_record to false at the end. Returns 0 or a negative
 * error, which aborts the write and is returned by stoa_snapshot_write. */
typedef int (*stoa_snapshot_next_fn)(void *context, struct stoa_snapshot_record *record,
                                     bool *has_record);
/* Takes one loaded record (borrowed for the call). Returns 0, or a negative error to stop
 * the load, which then returns that error. */
typedef int (*stoa_snapshot_record_fn)(void *context, const struct stoa_snapshot_record *record);

struct stoa_snapshot_writer;

/* Starts the snapshot of everything up to log index index: makes <data_dir>/snapshot if
 * needed and creates <index>.snap.tmp (replacing a leftover one). log may be NULL. Returns 0
 * and an owned writer; STOA_ERR_EXISTS if a snapshot with a higher index is already
 * installed; STOA_ERR_TOO_LARGE for a path longer than STOA_PATH_BYTES_MAX; STOA_ERR_NOMEM;
 * or a file error. *writer is untouched on failure. */
int stoa_snapshot_writer_open(struct stoa_env *env, const struct stoa_log *log,
                              const char *data_dir, uint64_t index,
                              struct stoa_snapshot_writer **writer);

/* Appends one record (copied or written before return). Returns 0; STOA_ERR_TOO_LARGE for a
 * key or value over its bound (nothing written, the writer still usable); or the write error,
 * after which every call fails the same way and the caller must abort. */
int stoa_snapshot_writer_append(struct stoa_snapshot_writer *writer,
                                const struct stoa_snapshot_record *record);

/* Writes the trailer, syncs the file, renames it to <index>.snap, syncs the directory, then
 * removes snapshots older than the newest STOA_SNAPSHOT_KEEP_COUNT and leftover .tmp files
 * (a failure there is logged, not returned). Always gives the writer back. Returns 0 once
 * the snapshot is durably installed. Otherwise returns the error (STOA_ERR_FSYNC if a sync
 * failed, or the write error) and the new snapshot is not in place: the previous one is
 * still the newest. (If the directory sync failed after the rename, the new file is removed
 * again, but a crash may still bring it back; it is whole and valid, so that is harmless as
 * long as the caller, seeing the error, keeps its log.) */
int stoa_snapshot_writer_finish(struct stoa_snapshot_writer *writer);

/* Gives the writer back and removes its .tmp file (best effort). */
void stoa_snapshot_writer_abort(struct stoa_snapshot_writer *writer);

/* Writes a whole snapshot: open, append every record next gives, finish (abort on error).
 * Returns what those return, or next's error. */
int stoa_snapshot_write(struct stoa_env *env, const struct stoa_log *log, const char *data_dir,
                        uint64_t index, stoa_snapshot_next_fn next, void *context);

/* Finds the newest valid snapshot (verifying it, falling back past damaged ones) and fills
 * *info. Returns 0; STOA_ERR_NOT_FOUND if there is no valid snapshot (or no directory);
 * STOA_ERR_NOMEM; or an error listing the directory. *info is untouched on failure. */
int stoa_snapshot_newest(struct stoa_env *env, const struct stoa_log *log, const char *data_dir,
                         struct stoa_snapshot_info *info);

/* Loads the newest valid snapshot: verifies it (falling back as stoa_snapshot_newest does),
 * then hands each record, in the order written, to on_record, and fills *info. Returns 0;
 * STOA_ERR_NOT_FOUND if there is no valid snapshot; on_record's error; STOA_ERR_NOMEM; or,
 * if the file fails while its records are being handed over (it changed on disk since it
 * was verified), STOA_ERR_CORRUPT or STOA_ERR_IO. After an error the records already handed
 * over must be discarded. *info is untouched on failure. */
int stoa_snapshot_load(struct stoa_env *env, const struct stoa_log *log, const char *data_dir,
                       stoa_snapshot_record_fn on_record, void *context,
                       struct stoa_snapshot_info *info);

#endif
