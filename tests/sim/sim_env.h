/*
 * sim_env: a simulated env (util/env.h) in memory, deterministic from a seed.
 *
 * Unit tests of the layers above os run their module on this env instead of the real one, so
 * they can drive time, and break the disk in ways a real disk breaks only on a bad day. Every
 * random choice (random_bytes, torn writes, listing order) comes from one util/prng stream
 * seeded at create, so a failing run is replayed from its seed.
 *
 * Clocks: the monotonic and the real clock stand still until the test calls
 * stoa_sim_env_advance, which moves both forward and fires the timers that fall due, in
 * deadline order, with the clocks set to each timer's deadline. The real clock may also be
 * set (a wall-clock jump). Closed timers' close callbacks run at the next advance.
 *
 * The disk, and what it models. Files and directories live in memory. Each file has its
 * visible contents (what reads see: the page cache) and its durable contents (the platter),
 * plus the ordered list of writes and truncations made since its last sync. The model is the
 * POSIX worst case for a log:
 *   - file_datasync makes that file's contents (and size) durable, and nothing else.
 *   - creating, renaming and unlinking a name, and mkdir, change only the visible directory;
 *     they become durable when sync_dir is called on the directory that holds the name (a
 *     rename between two directories needs both). A file whose name never became durable is
 *     gone after a crash, synced data or not; a directory that is not durable takes its
 *     entries with it.
 *   - A failed file_datasync (injected) forgets the file's unsynced writes, as Linux does
 *     when it marks dirty pages clean after an I/O error: reads still see them, but a later
 *     successful sync does not make them durable. A failed sync_dir makes nothing durable.
 *   - A failed pwrite (injected) may have written a random prefix of its bytes (unsynced).
 *   - Crash (stoa_sim_env_crash): LOSE drops every unsynced write; TORN keeps, per file, a
 *     random prefix of the unsynced writes in the order they were made and may cut the last
 *     kept write at a random byte (a torn write). Both lose every unsynced directory change.
 *     Not modelled: writes reaching the disk out of order within a file, and bit rot (which
 *     a test plants with stoa_sim_env_corrupt).
 * After a crash every file handle opened before it is dead (every call on it but close
 * fails with STOA_ERR_IO); the test closes its old objects and re-opens what it tests on
 * the same env. Timers are not touched by a crash.
 *
 * Paths are slash-separated; "/" and "." always exist. Repeated and trailing slashes are
 * ignored; "." and ".." components are not interpreted. Renaming a directory is not
 * supported (STOA_ERR_UNSUPPORTED).
 *
 * Background work: run_in_child runs the work inline, before it returns (there is no
 * fork), and on_exit runs at the next stoa_sim_env_advance, after pending close callbacks.
 *
 * The network: listen, connect and udp_bind return STOA_ERR_UNSUPPORTED. The cluster
 * simulator (issue 7) adds a simulated network.
 *
 * Ownership: create returns an owned sim (free with stoa_sim_env_destroy, after every file
 * handle is closed, every timer's close is finished and every child's on_exit has run).
 * Everything is allocated through stoa_alloc, so failing-allocation tests also reach the
 * sim; an allocation failure inside the sim is reported as STOA_ERR_NOMEM and changes
 * nothing.
 */
#ifndef STOA_SIM_ENV_H
#define STOA_SIM_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "util/env.h"

struct stoa_sim_env;

enum stoa_sim_crash_mode {
    STOA_SIM_CRASH_LOSE, /* every unsynced write is lost */
    STOA_SIM_CRASH_TORN, /* a random prefix of each file's unsynced writes survives, torn */
};

/* Counters since create (a crash does not reset them). */
struct stoa_sim_env_stats {
    uint64_t write_count;         /* file_pwrite calls */
    uint64_t datasync_count;      /* file_datasync calls, failed ones included */
    uint64_t sync_dir_count;      /* sync_dir calls, failed ones included */
    uint64_t fsync_failure_count; /* injected and halted sync failures */
    uint64_t write_failure_count; /* injected pwrite failures */
    uint64_t crash_count;
    uint64_t open_file_count; /* file handles not yet closed */
    uint64_t timer_count;     /* timers not yet finished closing */
    uint64_t child_count;     /* run_in_child calls whose on_exit has not run */
};

/* Makes a sim env whose every random choice follows seed. Returns 0 or STOA_ERR_NOMEM. */
int stoa_sim_env_create(uint64_t seed, struct stoa_sim_env **sim);

/* Runs pending timer close callbacks, then frees everything. Every file handle must be
 * closed and every timer closed (asserted). */
void stoa_sim_env_destroy(struct stoa_sim_env *sim);

/* The env interface; borrowed, valid until destroy. */
struct stoa_env *stoa_sim_env_get(struct stoa_sim_env *sim);

/* Moves both clocks forward by ms (>= 0) and fires every timer due by then, in deadline
 * order; close callbacks of closed timers and on_exit of finished children run first. */
void stoa_sim_env_advance(struct stoa_sim_env *sim, int64_t ms);

/* Sets the real clock (a wall-clock jump); the monotonic clock does not move. */
void stoa_sim_env_set_real_ms(struct stoa_sim_env *sim, int64_t unix_ms);

/* Makes the nth sync from now (file_datasync or sync_dir; 1 = the next) fail with
 * STOA_ERR_FSYNC. 0 turns it off. Only that one fails. */
void stoa_sim_env_fail_fsync_nth(struct stoa_sim_env *sim, uint64_t n);

/* Makes the nth file_pwrite from now (1 = the next) fail with STOA_ERR_IO. 0 turns it off. */
void stoa_sim_env_fail_write_nth(struct stoa_sim_env *sim, uint64_t n);

/* After n more successful syncs (0 = from now), the disk stops: every later sync fails with
 * STOA_ERR_FSYNC and makes nothing durable, while writes still reach the page cache. Then
 * stoa_sim_env_crash models a power cut right after that nth sync. A crash lifts it. */
void stoa_sim_env_halt_after_fsync(struct stoa_sim_env *sim, uint64_t n);

/* Crashes the machine: see the file comment for what survives. Injected faults are reset. */
void stoa_sim_env_crash(struct stoa_sim_env *sim, enum stoa_sim_crash_mode mode);

/* Flips the bits of mask in the byte at offset of the file at path, both in its visible and
 * in its durable contents (where the byte exists). Returns 0, STOA_ERR_NOT_FOUND if there is
 * no such file, or STOA_ERR_RANGE if offset is past both ends. */
int stoa_sim_env_corrupt(struct stoa_sim_env *sim, const char *path, uint64_t offset, uint8_t mask);

void stoa_sim_env_stats(const struct stoa_sim_env *sim, struct stoa_sim_env_stats *stats);

#endif
