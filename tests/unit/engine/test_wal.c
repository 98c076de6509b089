/* Shows that the write-ahead log gives back what it was given across segments and reopens,
 * syncs once per flush, keeps every record it reported durable through crashes at every
 * sync with lost or torn writes, refuses all writes after a failed sync, stops at (or cuts)
 * a damaged record naming the file and offset, truncates at both ends, and handles failed
 * allocations and size bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <xxhash.h>

#include "engine/wal.h"
#include "sim/sim_env.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/prng.h"

#define DIR "/data/log"
enum {
    SEGMENT_BYTES = 4096, /* small segments, so a test rolls over often */
    PAYLOAD_BYTES_MAX = 300,
    HEADER_BYTES = 32,
    RECORD_HEADER_BYTES = 40,
};

/* ---- helpers ---- */

/* Record i's payload: its length and bytes follow from i alone, so any record read back
 * can be checked. */
static size_t payload_for(uint64_t index, uint8_t *out) {
    size_t length = (size_t)((index * 2654435761u) % PAYLOAD_BYTES_MAX);
    for (size_t j = 0; j < length; j++) {
        out[j] = (uint8_t)(index * 31 + j);
    }
    return length;
}

static struct stoa_sim_env *sim_new(uint64_t seed) {
    struct stoa_sim_env *sim = NULL;
    assert_int_equal(stoa_sim_env_create(seed, &sim), STOA_OK);
    struct stoa_env *env = stoa_sim_env_get(sim);
    assert_int_equal(env->ops->mkdir(env, "/data"), STOA_OK);
    assert_int_equal(env->ops->sync_dir(env, "/"), STOA_OK);
    return sim;
}

static struct stoa_wal_options options_small(void) {
    return (struct stoa_wal_options){.directory = DIR, .segment_bytes_max = SEGMENT_BYTES};
}

static int open_wal(struct stoa_sim_env *sim, const struct stoa_wal_options *options,
                    struct stoa_wal **wal, struct stoa_wal_recovery *recovery,
                    struct stoa_wal_error *error) {
    return stoa_wal_open(stoa_sim_env_get(sim), options, wal, recovery, error);
}

static struct stoa_wal *open_ok(struct stoa_sim_env *sim, struct stoa_wal_recovery *recovery) {
    struct stoa_wal_options options = options_small();
    struct stoa_wal *wal = NULL;
    struct stoa_wal_recovery ignored;
    struct stoa_wal_error error;
    int status = open_wal(sim, &options, &wal, recovery != NULL ? recovery : &ignored, &error);
    if (status != STOA_OK) {
        fail_msg("open: %s: %s", stoa_err_name(status), error.message);
    }
    return wal;
}

/* Appends records with their payloads until last_index is reached. */
static void append_through(struct stoa_wal *wal, uint64_t last_index) {
    uint8_t payload[PAYLOAD_BYTES_MAX];
    while (stoa_wal_last_index(wal) < last_index) {
        uint64_t expected = stoa_wal_last_index(wal) + 1;
        uint64_t index = 0;
        size_t length = payload_for(expected, payload);
        assert_int_equal(stoa_wal_append(wal, payload, length, &index), STOA_OK);
        assert_int_equal(index, expected);
    }
}

struct replay_check {
    uint64_t next; /* the index the next record must have */
    uint64_t count;
};

static int check_record(void *context, uint64_t index, const uint8_t *payload, size_t length) {
    struct replay_check *check = context;
    uint8_t expected[PAYLOAD_BYTES_MAX];
    assert_int_equal(index, check->next);
    size_t expected_length = payload_for(index, expected);
    assert_int_equal(length, expected_length);
    assert_memory_equal(payload, expected, length);
    check->next++;
    check->count++;
    return 0;
}

/* Replays the whole log: indexes contiguous, every payload the one written. */
static void check_log(struct stoa_wal *wal) {
    uint64_t first = stoa_wal_first_index(wal);
    struct replay_check check = {.next = first};
    assert_int_equal(stoa_wal_replay(wal, first, check_record, &check), STOA_OK);
    assert_int_equal(check.next, stoa_wal_last_index(wal) + 1);
}

struct names {
    char name[16][64];
    size_t count;
};

static int on_name(void *context, const char *name) {
    struct names *names = context;
    if (names->count < 16) {
        snprintf(names->name[names->count++], 64, "%s", name);
    }
    return 0;
}

static bool file_exists(struct stoa_sim_env *sim, const char *path) {
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = NULL;
    if (env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file) != STOA_OK) {
        return false;
    }
    env->ops->file_close(file);
    return true;
}

static void segment_path(uint64_t first_index, char *out, size_t capacity) {
    snprintf(out, capacity, DIR "/%020" PRIu64 ".log", first_index);
}

/* Where the data of a file ends: its size without the trailing zeros (log segments are
 * preallocated with zeros, so the size is not where the records end). */
static uint64_t data_end(struct stoa_sim_env *sim, const char *path) {
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = NULL;
    assert_int_equal(env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file), STOA_OK);
    uint64_t size = 0;
    assert_int_equal(env->ops->file_size(file, &size), STOA_OK);
    uint8_t byte = 0;
    while (size > 0) {
        size_t got = 0;
        assert_int_equal(env->ops->file_pread(file, &byte, 1, size - 1, &got), STOA_OK);
        if (got == 1 && byte != 0) {
            break;
        }
        size--;
    }
    env->ops->file_close(file);
    return size;
}

static struct stoa_sim_env_stats stats_of(struct stoa_sim_env *sim) {
    struct stoa_sim_env_stats stats;
    stoa_sim_env_stats(sim, &stats);
    return stats;
}

/* ---- round trips ---- */

/* Records written over many segments and flushes come back in order, from any index, before
 * and after a reopen. */
static void test_round_trip_over_segments(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(1);
    struct stoa_wal_recovery recovery;
    struct stoa_wal *wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.first_index, 1);
    assert_int_equal(recovery.last_index, 0);
    for (uint64_t last = 7; last <= 500; last += 7) {
        append_through(wal, last);
        assert_int_equal(stoa_wal_flush(wal), STOA_OK);
        assert_int_equal(stoa_wal_durable_index(wal), last);
    }
    append_through(wal, 510); /* not flushed: replay still sees them */
    check_log(wal);
    struct replay_check check = {.next = 321};
    assert_int_equal(stoa_wal_replay(wal, 321, check_record, &check), STOA_OK);
    assert_int_equal(check.count, 510 - 320);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    stoa_wal_close(wal);

    wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, 510);
    assert_true(recovery.segment_count > 10);
    assert_int_equal(recovery.torn_bytes, 0);
    assert_int_equal(stoa_wal_durable_index(wal), 510);
    check_log(wal);
    assert_int_equal(stoa_wal_replay(wal, 512, check_record, &check), STOA_ERR_RANGE);
    stoa_wal_close(wal);
    stoa_sim_env_destroy(sim);
}

/* Group commit: each flush does exactly one datasync whatever the batch size, a flush that
 * starts a segment adds one directory sync, and an empty flush does nothing. */
static void test_one_datasync_per_flush(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(2);
    struct stoa_wal *wal = open_ok(sim, NULL);
    for (uint64_t batch = 1; batch <= 40; batch++) {
        struct stoa_sim_env_stats before = stats_of(sim);
        append_through(wal, stoa_wal_last_index(wal) + batch % 9 + 1);
        assert_int_equal(stoa_wal_flush(wal), STOA_OK);
        struct stoa_sim_env_stats after = stats_of(sim);
        assert_int_equal(after.datasync_count - before.datasync_count, 1);
        assert_int_equal(after.write_count - before.write_count, 1);
        assert_true(after.sync_dir_count - before.sync_dir_count <= 1);
    }
    struct stoa_sim_env_stats before = stats_of(sim);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    struct stoa_sim_env_stats after = stats_of(sim);
    assert_int_equal(after.datasync_count, before.datasync_count);
    assert_int_equal(after.write_count, before.write_count);
    stoa_wal_close(wal);
    stoa_sim_env_destroy(sim);
}

/* everysec: a flush writes but syncs at most once a second; tick syncs when it is due. */
static void test_everysec(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(3);
    struct stoa_wal_options options = options_small();
    options.durability = STOA_WAL_DURABILITY_EVERYSEC;
    struct stoa_wal *wal = NULL;
    struct stoa_wal_recovery recovery;
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, NULL), STOA_OK);
    stoa_sim_env_advance(sim, 1000);
    append_through(wal, 3);
    uint64_t syncs = stats_of(sim).datasync_count;
    assert_int_equal(stoa_wal_flush(wal), STOA_OK); /* a second has passed: synced */
    assert_int_equal(stats_of(sim).datasync_count, syncs + 1);
    append_through(wal, 6);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    assert_int_equal(stats_of(sim).datasync_count, syncs + 1);
    assert_int_equal(stoa_wal_durable_index(wal), 3);
    stoa_sim_env_advance(sim, 999);
    assert_int_equal(stoa_wal_tick(wal), STOA_OK);
    assert_int_equal(stoa_wal_durable_index(wal), 3);
    stoa_sim_env_advance(sim, 1);
    assert_int_equal(stoa_wal_tick(wal), STOA_OK);
    assert_int_equal(stoa_wal_durable_index(wal), 6);
    assert_int_equal(stats_of(sim).datasync_count, syncs + 2);
    assert_int_equal(stoa_wal_tick(wal), STOA_OK); /* nothing pending: no sync */
    assert_int_equal(stats_of(sim).datasync_count, syncs + 2);
    stoa_wal_close(wal);
    stoa_sim_env_destroy(sim);
}

/* ---- crashes and sync failures ---- */

/* Reopens after a crash and checks the log: it opens, it holds every record up to durable
 * (and at most what was appended), indexes are contiguous and every payload is intact, and
 * it takes new records after the recovered ones. */
static void check_after_crash(struct stoa_sim_env *sim, uint64_t durable, uint64_t appended) {
    struct stoa_wal_recovery recovery;
    struct stoa_wal *wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.first_index, 1);
    if (recovery.last_index < durable) {
        fail_msg("record %" PRIu64 " was reported durable but is gone (log ends at %" PRIu64 ")",
                 durable, recovery.last_index);
    }
    assert_true(recovery.last_index <= appended);
    check_log(wal);
    uint64_t last = recovery.last_index;
    append_through(wal, last + 3);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    stoa_wal_close(wal);
    wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, last + 3);
    assert_int_equal(recovery.torn_bytes, 0);
    check_log(wal);
    stoa_wal_close(wal);
}

/* Appends and flushes batches until a flush fails or the rounds run out; returns the durable
 * index the log reports at the end (failed or not: it must never be more than the truth),
 * and sets *appended. */
static uint64_t run_workload(struct stoa_sim_env *sim, struct stoa_wal *wal, uint64_t seed,
                             uint64_t *appended) {
    struct stoa_prng prng;
    stoa_prng_init(&prng, seed);
    for (int round = 0; round < 60; round++) {
        append_through(wal, stoa_wal_last_index(wal) + 1 + stoa_prng_below(&prng, 6));
        *appended = stoa_wal_last_index(wal);
        int status = stoa_wal_flush(wal);
        if (status != STOA_OK) {
            assert_true(status == STOA_ERR_FSYNC || status == STOA_ERR_IO);
            break;
        }
        stoa_sim_env_advance(sim, 1 + (int64_t)stoa_prng_below(&prng, 400));
        if (stoa_wal_tick(wal) != STOA_OK) {
            break;
        }
    }
    return stoa_wal_durable_index(wal);
}

/* A power cut right after the nth sync, for every n the workload reaches, with unsynced
 * writes lost or torn, under both policies: the reopened log holds every record the log
 * reported durable, nothing torn is visible, and indexes are contiguous. */
static void test_crash_after_nth_fsync(void **state) {
    (void)state;
    uint64_t runs = 0;
    for (int mode = 0; mode < 2; mode++) {
        for (int policy = 0; policy < 2; policy++) {
            for (uint64_t n = 0; n < 90; n++) {
                uint64_t seed = n * 4 + (uint64_t)(mode * 2 + policy);
                struct stoa_sim_env *sim = sim_new(seed);
                stoa_sim_env_halt_after_fsync(sim, n);
                struct stoa_wal_options options = options_small();
                options.durability = (enum stoa_wal_durability)policy;
                struct stoa_wal *wal = NULL;
                struct stoa_wal_recovery recovery;
                uint64_t durable = 0;
                uint64_t appended = 0;
                if (open_wal(sim, &options, &wal, &recovery, NULL) == STOA_OK) {
                    durable = run_workload(sim, wal, seed, &appended);
                    stoa_wal_close(wal);
                }
                stoa_sim_env_crash(sim, mode == 0 ? STOA_SIM_CRASH_LOSE : STOA_SIM_CRASH_TORN);
                check_after_crash(sim, durable, appended);
                stoa_sim_env_destroy(sim);
                runs++;
            }
        }
    }
    assert_int_equal(runs, 360);
}

/* The nth sync fails: that flush returns FSYNC, every later append, flush, tick and truncate
 * is refused, durable_index stays, and a reopen after a crash has what was durable. */
static void test_fsync_failure_refuses_writes(void **state) {
    (void)state;
    for (uint64_t n = 1; n <= 40; n++) {
        struct stoa_sim_env *sim = sim_new(100 + n);
        struct stoa_wal *wal = open_ok(sim, NULL);
        stoa_sim_env_fail_fsync_nth(sim, n);
        uint64_t appended = 0;
        uint64_t durable = run_workload(sim, wal, n, &appended);
        assert_int_equal(stoa_wal_failure(wal), STOA_ERR_FSYNC);
        uint64_t index = 77;
        assert_int_equal(stoa_wal_append(wal, "x", 1, &index), STOA_ERR_FSYNC);
        assert_int_equal(index, 77);
        assert_int_equal(stoa_wal_flush(wal), STOA_ERR_FSYNC);
        assert_int_equal(stoa_wal_tick(wal), STOA_ERR_FSYNC);
        assert_int_equal(stoa_wal_truncate_after(wal, 1), STOA_ERR_FSYNC);
        assert_int_equal(stoa_wal_truncate_before(wal, 1), STOA_ERR_FSYNC);
        assert_int_equal(stoa_wal_durable_index(wal), durable);
        stoa_wal_close(wal);
        stoa_sim_env_crash(sim, STOA_SIM_CRASH_LOSE);
        check_after_crash(sim, durable, appended);
        stoa_sim_env_destroy(sim);
    }
}

/* A failed write fails the log with IO; a reopen cuts whatever part of it landed. */
static void test_write_failure(void **state) {
    (void)state;
    for (uint64_t n = 1; n <= 20; n++) {
        struct stoa_sim_env *sim = sim_new(200 + n);
        struct stoa_wal *wal = open_ok(sim, NULL);
        stoa_sim_env_fail_write_nth(sim, n);
        uint64_t appended = 0;
        uint64_t durable = run_workload(sim, wal, n, &appended);
        assert_int_equal(stoa_wal_failure(wal), STOA_ERR_IO);
        assert_int_equal(stoa_wal_flush(wal), STOA_ERR_IO);
        stoa_wal_close(wal);
        check_after_crash(sim, durable, appended); /* no crash: the process restarts */
        stoa_sim_env_destroy(sim);
    }
}

/* ---- damage ---- */

/* Builds a log of records 1..last over several segments and closes it. */
static void build_log(struct stoa_sim_env *sim, uint64_t last) {
    struct stoa_wal *wal = open_ok(sim, NULL);
    for (uint64_t through = 10; through <= last; through += 10) {
        append_through(wal, through);
        assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    }
    stoa_wal_close(wal);
}

/* The sorted segment names of the log. */
static struct names list_segments(struct stoa_sim_env *sim) {
    struct names names = {0};
    struct stoa_env *env = stoa_sim_env_get(sim);
    assert_int_equal(env->ops->list_dir(env, DIR, on_name, &names), STOA_OK);
    for (size_t i = 1; i < names.count; i++) {
        for (size_t j = i; j > 0 && strcmp(names.name[j - 1], names.name[j]) > 0; j--) {
            char swap[64];
            memcpy(swap, names.name[j], 64);
            memcpy(names.name[j], names.name[j - 1], 64);
            memcpy(names.name[j - 1], swap, 64);
        }
    }
    return names;
}

static uint64_t physical_size(struct stoa_sim_env *sim, const char *path) {
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = NULL;
    assert_int_equal(env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file), STOA_OK);
    uint64_t size = 0;
    assert_int_equal(env->ops->file_size(file, &size), STOA_OK);
    env->ops->file_close(file);
    return size;
}

/* Segments are preallocated to their bound (appends then change no metadata); a finished
 * segment gives the unused space back; a reopen reads the zeros after the last record as
 * space, not as a torn tail, keeps them, and appends there. */
static void test_segments_are_preallocated(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(31);
    build_log(sim, 100);
    struct names names = list_segments(sim);
    assert_true(names.count >= 2);
    char path[256];
    for (size_t i = 0; i + 1 < names.count; i++) {
        snprintf(path, sizeof(path), DIR "/%s", names.name[i]);
        assert_int_equal(physical_size(sim, path), data_end(sim, path));
    }
    snprintf(path, sizeof(path), DIR "/%s", names.name[names.count - 1]);
    assert_int_equal(physical_size(sim, path), SEGMENT_BYTES);
    uint64_t end = data_end(sim, path);
    struct stoa_wal_recovery recovery;
    struct stoa_wal *wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, 100);
    assert_int_equal(recovery.torn_bytes, 0);
    assert_int_equal(physical_size(sim, path), SEGMENT_BYTES);
    append_through(wal, 101);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    check_log(wal);
    stoa_wal_close(wal);
    assert_true(data_end(sim, path) > end || list_segments(sim).count > names.count);
    wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, 101);
    check_log(wal);
    stoa_wal_close(wal);
    stoa_sim_env_destroy(sim);
}

/* The byte offset of the nth record (0-based) of the segment at path. */
static uint64_t record_offset(struct stoa_sim_env *sim, const char *path, size_t nth) {
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = NULL;
    assert_int_equal(env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file), STOA_OK);
    uint64_t offset = HEADER_BYTES;
    for (size_t k = 0; k < nth; k++) {
        uint8_t length[4];
        size_t got = 0;
        assert_int_equal(env->ops->file_pread(file, length, 4, offset, &got), STOA_OK);
        assert_int_equal(got, 4);
        uint64_t value = 0;
        for (size_t b = 0; b < 4; b++) {
            value |= (uint64_t)length[b] << (8 * b);
        }
        offset += RECORD_HEADER_BYTES + value;
    }
    env->ops->file_close(file);
    return offset;
}

static uint64_t first_index_of(const char *name) {
    uint64_t value = 0;
    for (size_t i = 0; i < 20; i++) {
        value = value * 10 + (uint64_t)(name[i] - '0');
    }
    return value;
}

/* A damaged record in the middle of the log stops the open with CORRUPT, naming the file and
 * the offset; with truncate_corrupt the log is cut there and a copy of the segment kept. */
static void test_corrupt_record_in_the_middle(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(4);
    build_log(sim, 200);
    struct names names = list_segments(sim);
    assert_true(names.count >= 4);
    char path[256];
    snprintf(path, sizeof(path), DIR "/%s", names.name[1]);
    uint64_t offset = record_offset(sim, path, 2);
    uint64_t size = data_end(sim, path);
    assert_int_equal(stoa_sim_env_corrupt(sim, path, offset + RECORD_HEADER_BYTES, 0x40), STOA_OK);

    struct stoa_wal_options options = options_small();
    struct stoa_wal *wal = NULL;
    struct stoa_wal_recovery recovery = {.first_index = 99};
    struct stoa_wal_error error;
    int status = open_wal(sim, &options, &wal, &recovery, &error);
    assert_int_equal(status, STOA_ERR_CORRUPT);
    assert_int_equal(recovery.first_index, 99); /* untouched */
    char expected[512];
    snprintf(expected, sizeof(expected), "%s is damaged at byte %" PRIu64, path, offset);
    if (strstr(error.message, expected) == NULL) {
        fail_msg("error \"%s\" does not say \"%s\"", error.message, expected);
    }

    options.truncate_corrupt = true;
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, &error), STOA_OK);
    uint64_t bad_index = first_index_of(names.name[1]) + 2;
    assert_int_equal(recovery.last_index, bad_index - 1);
    assert_true(recovery.corrupt_bytes >= size - offset);
    check_log(wal);
    stoa_wal_close(wal);
    char copy[300];
    snprintf(copy, sizeof(copy), "%s.corrupt-%" PRIu64, path, offset);
    assert_true(file_exists(sim, copy));
    assert_int_equal(data_end(sim, copy), size);
    assert_int_equal(data_end(sim, path), offset);
    assert_int_equal(list_segments(sim).count, 2 + 1); /* two segments and the copy */
    check_after_crash(sim, bad_index - 1, bad_index - 1);
    stoa_sim_env_destroy(sim);
}

/* In the last segment, a damaged record followed by a record written after it was durable is
 * corruption, not a torn tail; a partial record or zeros at the very end are a torn tail and
 * are cut. (tests/unit/engine/test_wal_damage.c goes through every byte.) */
static void test_torn_tail_versus_corruption(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(5);
    struct stoa_env *env = stoa_sim_env_get(sim);
    build_log(sim, 60);
    struct names names = list_segments(sim);
    char path[256];
    snprintf(path, sizeof(path), DIR "/%s", names.name[names.count - 1]);
    uint64_t size = data_end(sim, path);
    uint64_t last_first = first_index_of(names.name[names.count - 1]);
    assert_true(last_first < 58);
    /* A torn tail: the last record cut short, then zeros. */
    struct stoa_env_file *file = NULL;
    assert_int_equal(env->ops->file_open(env, path, STOA_ENV_OPEN_WRITE, &file), STOA_OK);
    assert_int_equal(env->ops->file_truncate(file, size - 5), STOA_OK);
    static const uint8_t zeros[100] = {0};
    assert_int_equal(env->ops->file_pwrite(file, zeros, sizeof(zeros), size - 5), STOA_OK);
    env->ops->file_close(file);
    uint64_t damaged_end = data_end(sim, path); /* the zeros after it are not counted as torn */
    struct stoa_wal_recovery recovery;
    struct stoa_wal *wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, 59);
    uint64_t record_60 = record_offset(sim, path, 60 - last_first);
    assert_int_equal(recovery.torn_bytes, damaged_end - record_60);
    check_log(wal);
    stoa_wal_close(wal);

    /* Record 60 written in a batch of its own, after 59 was synced; then 59 damaged. */
    wal = open_ok(sim, &recovery);
    append_through(wal, 60);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    stoa_wal_close(wal);
    uint64_t offset = record_offset(sim, path, 59 - last_first);
    assert_int_equal(stoa_sim_env_corrupt(sim, path, offset + 4, 0x01), STOA_OK);
    struct stoa_wal_options options = options_small();
    struct stoa_wal_error error;
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, &error), STOA_ERR_CORRUPT);
    assert_non_null(strstr(error.message, path));
    assert_non_null(strstr(error.message, "shows it was on disk"));
    stoa_sim_env_destroy(sim);
}

/* Writes a segment header with the given magic byte 0 and version, checksummed. */
static void write_header(struct stoa_sim_env *sim, const char *path, uint64_t first_index,
                         uint8_t magic0, uint32_t version) {
    uint8_t header[HEADER_BYTES] = {'S', 'T', 'O', 'A', 'L', 'O', 'G', '\n'};
    header[0] = magic0;
    for (size_t i = 0; i < 4; i++) {
        header[8 + i] = (uint8_t)(version >> (8 * i));
    }
    for (size_t i = 0; i < 8; i++) {
        header[16 + i] = (uint8_t)(first_index >> (8 * i));
    }
    uint64_t checksum = XXH3_64bits(header, 24);
    for (size_t i = 0; i < 8; i++) {
        header[24 + i] = (uint8_t)(checksum >> (8 * i));
    }
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = NULL;
    assert_int_equal(env->ops->file_open(env, path, STOA_ENV_OPEN_WRITE, &file), STOA_OK);
    assert_int_equal(env->ops->file_pwrite(file, header, sizeof(header), 0), STOA_OK);
    env->ops->file_close(file);
}

/* A segment header with a bad checksum or magic number is CORRUPT at byte 0; an older or a
 * newer format version is UNSUPPORTED with both version numbers named, even with
 * truncate_corrupt; truncate_corrupt cuts at a bad header by dropping the segment. */
static void test_bad_segment_header(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(6);
    build_log(sim, 100);
    struct names names = list_segments(sim);
    char path[256];
    snprintf(path, sizeof(path), DIR "/%s", names.name[1]);
    uint64_t first = first_index_of(names.name[1]);
    struct stoa_wal_options options = options_small();
    struct stoa_wal *wal = NULL;
    struct stoa_wal_recovery recovery;
    struct stoa_wal_error error;

    assert_int_equal(stoa_sim_env_corrupt(sim, path, 17, 0x02), STOA_OK);
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, &error), STOA_ERR_CORRUPT);
    assert_non_null(strstr(error.message, "at byte 0: segment header checksum mismatch"));
    assert_non_null(strstr(error.message, path));

    write_header(sim, path, first, 'X', 1);
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, &error), STOA_ERR_CORRUPT);
    assert_non_null(strstr(error.message, "bad magic number"));

    write_header(sim, path, first, 'S', 3);
    options.truncate_corrupt = true;
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, &error), STOA_ERR_UNSUPPORTED);
    assert_non_null(strstr(error.message, "has format version 3; this build reads version 2"));

    write_header(sim, path, first, 'S', 1); /* the format before record header checksums */
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, &error), STOA_ERR_UNSUPPORTED);
    assert_non_null(strstr(error.message, "has format version 1; this build reads version 2"));
    assert_non_null(strstr(error.message, "older pre-release format"));
    assert_non_null(strstr(error.message, path));

    write_header(sim, path, first, 'S', 2); /* whole again */
    options.truncate_corrupt = false;
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, &error), STOA_OK);
    assert_int_equal(recovery.last_index, 100);
    stoa_wal_close(wal);

    assert_int_equal(stoa_sim_env_corrupt(sim, path, 3, 0x10), STOA_OK);
    options.truncate_corrupt = true;
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, &error), STOA_OK);
    assert_int_equal(recovery.last_index, first - 1);
    assert_int_equal(recovery.segment_count, 1);
    check_log(wal);
    stoa_wal_close(wal);
    char copy[300];
    snprintf(copy, sizeof(copy), "%s.corrupt-0", path);
    assert_true(file_exists(sim, copy));
    assert_false(file_exists(sim, path));
    stoa_sim_env_destroy(sim);
}

/* ---- truncation ---- */

/* truncate_before removes whole segments before an index, and nothing the log still needs;
 * truncate_after drops records (written or only batched) durably, and the log goes on from
 * there, also after a reopen. */
static void test_truncate_before_and_after(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(7);
    build_log(sim, 300);
    size_t segments = list_segments(sim).count;
    struct stoa_wal *wal = open_ok(sim, NULL);
    assert_int_equal(stoa_wal_truncate_before(wal, 150), STOA_OK);
    uint64_t first = stoa_wal_first_index(wal);
    assert_true(first > 1 && first <= 150);
    assert_true(list_segments(sim).count < segments);
    char path[256];
    segment_path(1, path, sizeof(path));
    assert_false(file_exists(sim, path));
    check_log(wal);
    struct replay_check check = {.next = first - 1};
    assert_int_equal(stoa_wal_replay(wal, first - 1, check_record, &check), STOA_ERR_RANGE);
    assert_int_equal(stoa_wal_truncate_before(wal, first), STOA_OK); /* nothing to do */
    assert_int_equal(stoa_wal_first_index(wal), first);

    /* Cut written records, in an older segment than the last. */
    assert_int_equal(stoa_wal_truncate_after(wal, 200), STOA_OK);
    assert_int_equal(stoa_wal_last_index(wal), 200);
    assert_int_equal(stoa_wal_durable_index(wal), 200);
    check_log(wal);
    /* Cut records that are only in the batch. */
    append_through(wal, 210);
    assert_int_equal(stoa_wal_truncate_after(wal, 205), STOA_OK);
    append_through(wal, 220);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    check_log(wal);
    assert_int_equal(stoa_wal_truncate_after(wal, 500), STOA_ERR_RANGE);
    assert_int_equal(stoa_wal_truncate_after(wal, first - 2), STOA_ERR_RANGE);
    stoa_wal_close(wal);

    stoa_sim_env_crash(sim, STOA_SIM_CRASH_LOSE);
    struct stoa_wal_recovery recovery;
    wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.first_index, first);
    assert_int_equal(recovery.last_index, 220);
    check_log(wal);
    /* Cut everything: the log is empty and goes on at the same index. */
    assert_int_equal(stoa_wal_truncate_after(wal, first - 1), STOA_OK);
    assert_int_equal(stoa_wal_last_index(wal), first - 1);
    append_through(wal, first + 4);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    stoa_wal_close(wal);
    wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, first + 4);
    check_log(wal);
    stoa_wal_close(wal);
    stoa_sim_env_destroy(sim);
}

/* ---- memory and bounds ---- */

/* Every allocation of open (with a torn tail to cut), append and flush may fail: the call
 * returns NOMEM, nothing leaks, and the log opens whole afterwards. */
static void test_failing_allocations(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(8);
    build_log(sim, 80);
    struct stoa_alloc_stats before;
    stoa_alloc_stats(&before);
    uint64_t last = 80;
    bool opened_at_last = false;
    for (uint64_t n = 1; !opened_at_last; n++) {
        assert_true(n < 1000);
        struct stoa_wal_options options = options_small();
        struct stoa_wal *wal = NULL;
        struct stoa_wal_recovery recovery;
        stoa_alloc_fail_nth(n);
        int status = open_wal(sim, &options, &wal, &recovery, NULL);
        stoa_alloc_fail_nth(0);
        if (status != STOA_OK) {
            assert_int_equal(status, STOA_ERR_NOMEM);
            continue;
        }
        opened_at_last = true;
        assert_int_equal(recovery.last_index, last);
        uint64_t index = 0;
        stoa_alloc_fail_nth(1);
        status = stoa_wal_append(wal, "abc", 3, &index);
        stoa_alloc_fail_nth(0);
        assert_true(status == STOA_OK || status == STOA_ERR_NOMEM);
        assert_int_equal(index, status == STOA_OK ? last + 1 : 0);
        stoa_wal_close(wal);
    }
    struct stoa_alloc_stats after;
    stoa_alloc_stats(&after);
    assert_int_equal(after.live_count, before.live_count);
    struct stoa_wal *wal = open_ok(sim, NULL);
    assert_int_equal(stoa_wal_last_index(wal), last);
    check_log(wal);
    stoa_wal_close(wal);
    stoa_sim_env_destroy(sim);
}

struct sized {
    size_t length;
    uint64_t count;
};

static int check_sized(void *context, uint64_t index, const uint8_t *payload, size_t length) {
    struct sized *sized = context;
    (void)index;
    assert_int_equal(length, sized->length);
    for (size_t i = 0; i < length; i++) {
        assert_int_equal(payload[i], (uint8_t)i);
    }
    sized->count++;
    return 0;
}

/* A record of the maximum size is written and read back; one byte more is TOO_LARGE; a
 * full batch is FULL until flushed. */
static void test_record_size_bounds(void **state) {
    (void)state;
    enum { RECORD_MAX = 3000 };
    static uint8_t payload[RECORD_MAX + 1];
    for (size_t i = 0; i < sizeof(payload); i++) {
        payload[i] = (uint8_t)i;
    }
    struct stoa_sim_env *sim = sim_new(9);
    struct stoa_wal_options options = options_small();
    options.record_bytes_max = RECORD_MAX;
    options.batch_bytes_max = 4000;
    struct stoa_wal *wal = NULL;
    struct stoa_wal_recovery recovery;
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, NULL), STOA_OK);
    uint64_t index = 0;
    assert_int_equal(stoa_wal_append(wal, payload, RECORD_MAX + 1, &index), STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_wal_append(wal, payload, RECORD_MAX, &index), STOA_OK);
    assert_int_equal(stoa_wal_append(wal, payload, RECORD_MAX, &index), STOA_ERR_FULL);
    assert_int_equal(index, 1);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    assert_int_equal(stoa_wal_append(wal, payload, RECORD_MAX, &index), STOA_OK);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    stoa_wal_close(wal);
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, NULL), STOA_OK);
    assert_int_equal(recovery.last_index, 2);
    assert_int_equal(recovery.segment_count, 2); /* the second did not fit in the first */
    struct sized sized = {.length = RECORD_MAX};
    assert_int_equal(stoa_wal_replay(wal, 1, check_sized, &sized), STOA_OK);
    assert_int_equal(sized.count, 2);
    stoa_wal_close(wal);

    /* With the default bound, the length is refused before the payload is read. */
    options = options_small();
    assert_int_equal(open_wal(sim, &options, &wal, &recovery, NULL), STOA_OK);
    assert_int_equal(stoa_wal_append(wal, payload, STOA_WAL_RECORD_BYTES_MAX + 1, &index),
                     STOA_ERR_TOO_LARGE);
    stoa_wal_close(wal);
    stoa_sim_env_destroy(sim);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_over_segments),
        cmocka_unit_test(test_one_datasync_per_flush),
        cmocka_unit_test(test_segments_are_preallocated),
        cmocka_unit_test(test_everysec),
        cmocka_unit_test(test_crash_after_nth_fsync),
        cmocka_unit_test(test_fsync_failure_refuses_writes),
        cmocka_unit_test(test_write_failure),
        cmocka_unit_test(test_corrupt_record_in_the_middle),
        cmocka_unit_test(test_torn_tail_versus_corruption),
        cmocka_unit_test(test_bad_segment_header),
        cmocka_unit_test(test_truncate_before_and_after),
        cmocka_unit_test(test_failing_allocations),
        cmocka_unit_test(test_record_size_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
