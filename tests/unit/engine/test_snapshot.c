/* Shows that snapshots written through the simulated env read back record for record, are
 * installed whole or not at all across crashes and failed syncs, fall back to the previous
 * snapshot when the newest is damaged anywhere, keep two, decode strictly, and survive every
 * failed allocation without leaking. */
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

#include "engine/snapshot.h"
#include "sim/sim_env.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/log.h"

#define DATA_DIR "/data"
#define SNAPSHOT_DIR DATA_DIR "/snapshot"
#define PATH_BYTES 128
#define BIG_VALUE_BYTES (1536 * 1024) /* larger than one I/O chunk */
#define KEY_BYTES_MAX 16
#define START_MS INT64_C(1767225600000)
#define CAPTURE_BYTES (64 * 1024)
#define HEADER_BYTES 40
#define TRAILER_BYTES 24

/* ---- a simulated machine with a captured log ---- */

struct world {
    struct stoa_sim_env *sim;
    struct stoa_env *env;
    struct stoa_log log;
    char captured[CAPTURE_BYTES];
    size_t captured_length;
    uint64_t live_count_at_start;
};

static struct world world;

static void capture_sink(void *context, const char *line, size_t length) {
    struct world *w = context;
    if (w->captured_length + length + 1 < sizeof(w->captured)) {
        memcpy(w->captured + w->captured_length, line, length);
        w->captured_length += length;
        w->captured[w->captured_length++] = '\n';
        w->captured[w->captured_length] = '\0';
    }
}

static int world_setup(void **state) {
    stoa_alloc_fail_nth(0);
    memset(&world, 0, sizeof(world));
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    world.live_count_at_start = stats.live_count;
    assert_int_equal(stoa_sim_env_create(7, &world.sim), 0);
    world.env = stoa_sim_env_get(world.sim);
    stoa_sim_env_set_real_ms(world.sim, START_MS);
    stoa_log_init(&world.log);
    world.log.level_min = STOA_LOG_DEBUG;
    stoa_log_set_sink(&world.log, capture_sink, &world);
    assert_int_equal(world.env->ops->mkdir(world.env, DATA_DIR), 0);
    assert_int_equal(world.env->ops->sync_dir(world.env, "/"), 0);
    *state = &world;
    return 0;
}

static int world_teardown(void **state) {
    struct world *w = *state;
    stoa_alloc_fail_nth(0);
    stoa_sim_env_destroy(w->sim);
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    assert_int_equal(stats.live_count, w->live_count_at_start);
    return 0;
}

/* ---- generated records: record i of a snapshot made from seed ---- */

static uint8_t generated_key[KEY_BYTES_MAX];
static uint8_t generated_value[BIG_VALUE_BYTES];

/* Keys hold NUL bytes (and one is empty), values are often empty, some span I/O chunks. */
static void make_record(uint64_t seed, uint64_t i, struct stoa_snapshot_record *record) {
    uint64_t key_number = seed * 1000003 + i;
    size_t key_length = i == 1 ? 0 : 8 + (size_t)(i % 5);
    memset(generated_key, 0, sizeof(generated_key));
    for (size_t b = 0; b < 8; b++) {
        generated_key[b] = (uint8_t)(key_number >> (8 * b));
    }
    size_t value_length = i % 4 == 0 ? 0 : (size_t)((i * 7) % 200);
    if (i % 1000 == 999) {
        value_length = BIG_VALUE_BYTES;
    }
    for (size_t j = 0; j < value_length; j++) {
        generated_value[j] = (uint8_t)(seed + i + j * 13);
    }
    int64_t expire_at_ms = i % 3 == 0 ? 0 : START_MS + (int64_t)i;
    if (i == 2) {
        expire_at_ms = INT64_MAX;
    }
    *record = (struct stoa_snapshot_record){
        .type = (uint8_t)(i * 37 + seed),
        .key = key_length > 0 ? generated_key : NULL,
        .key_length = key_length,
        .expire_at_ms = expire_at_ms,
        .value = value_length > 0 ? generated_value : NULL,
        .value_length = value_length,
    };
}

struct generator {
    uint64_t seed;
    uint64_t count;
    uint64_t next;
};

static int next_record(void *context, struct stoa_snapshot_record *record, bool *has_record) {
    struct generator *generator = context;
    if (generator->next == generator->count) {
        *has_record = false;
        return 0;
    }
    make_record(generator->seed, generator->next++, record);
    *has_record = true;
    return 0;
}

/* Writes snapshot index holding count records generated from index (as the seed). */
static int write_snapshot(struct world *w, uint64_t index, uint64_t count) {
    struct generator generator = {.seed = index, .count = count};
    return stoa_snapshot_write(w->env, &w->log, DATA_DIR, index, next_record, &generator);
}

struct checker {
    uint64_t seed;
    uint64_t seen;
    uint64_t mismatches;
};

static int check_record(void *context, const struct stoa_snapshot_record *record) {
    struct checker *checker = context;
    struct stoa_snapshot_record expected;
    make_record(checker->seed, checker->seen++, &expected);
    bool same =
        record->type == expected.type && record->key_length == expected.key_length &&
        record->expire_at_ms == expected.expire_at_ms &&
        record->value_length == expected.value_length &&
        (expected.key_length == 0 || memcmp(record->key, expected.key, expected.key_length) == 0) &&
        (expected.value_length == 0 ||
         memcmp(record->value, expected.value, expected.value_length) == 0);
    checker->mismatches += same ? 0 : 1;
    return 0;
}

/* Loads the newest snapshot and checks it is index, with count records made from index. */
static void assert_loads(struct world *w, uint64_t index, uint64_t count) {
    struct checker checker = {.seed = index};
    struct stoa_snapshot_info info = {0};
    assert_int_equal(stoa_snapshot_load(w->env, &w->log, DATA_DIR, check_record, &checker, &info),
                     0);
    assert_int_equal(info.index, index);
    assert_int_equal(info.record_count, count);
    assert_int_equal(checker.seen, count);
    assert_int_equal(checker.mismatches, 0);
    struct stoa_snapshot_info newest = {0};
    assert_int_equal(stoa_snapshot_newest(w->env, &w->log, DATA_DIR, &newest), 0);
    assert_memory_equal(&newest, &info, sizeof(info));
}

static void snapshot_path(uint64_t index, const char *suffix, char *path) {
    int length = snprintf(path, PATH_BYTES, SNAPSHOT_DIR "/%020" PRIu64 "%s", index, suffix);
    assert_true(length > 0 && length < PATH_BYTES);
}

static uint64_t file_bytes(struct world *w, const char *path) {
    struct stoa_env_file *file = NULL;
    assert_int_equal(w->env->ops->file_open(w->env, path, STOA_ENV_OPEN_READ, &file), 0);
    uint64_t size = 0;
    assert_int_equal(w->env->ops->file_size(file, &size), 0);
    w->env->ops->file_close(file);
    return size;
}

struct names {
    char list[16][PATH_BYTES];
    size_t count;
};

static int collect_name(void *context, const char *name) {
    struct names *names = context;
    if (names->count < 16) {
        snprintf(names->list[names->count++], PATH_BYTES, "%s", name);
    }
    return 0;
}

static bool directory_has(struct world *w, const char *name, size_t *count) {
    struct names names = {0};
    assert_int_equal(w->env->ops->list_dir(w->env, SNAPSHOT_DIR, collect_name, &names), 0);
    bool found = false;
    for (size_t i = 0; i < names.count; i++) {
        found = found || strcmp(names.list[i], name) == 0;
    }
    *count = names.count;
    return found;
}

/* ---- tests ---- */

/* Thousands of records with binary keys, empty values and values larger than an I/O chunk
 * come back exactly, in order, with the index, record count and creation time. */
static void test_round_trip(void **state) {
    struct world *w = *state;
    struct stoa_snapshot_info info;
    assert_int_equal(stoa_snapshot_newest(w->env, &w->log, DATA_DIR, &info), STOA_ERR_NOT_FOUND);
    assert_int_equal(write_snapshot(w, 42, 3000), 0);
    assert_loads(w, 42, 3000);
    assert_int_equal(stoa_snapshot_newest(w->env, &w->log, DATA_DIR, &info), 0);
    assert_int_equal(info.created_ms, START_MS);
    char path[PATH_BYTES];
    snapshot_path(42, ".snap", path);
    assert_int_equal(info.file_bytes, file_bytes(w, path));
    assert_true(info.file_bytes > 3 * BIG_VALUE_BYTES);
    /* An empty snapshot is a snapshot too. */
    assert_int_equal(write_snapshot(w, 43, 0), 0);
    assert_loads(w, 43, 0);
}

/* A crash at any point of writing a new snapshot (after each of its syncs, with unsynced
 * writes lost or torn) leaves either the previous snapshot or the whole new one. */
static void test_crash_while_writing_keeps_previous(void **state) {
    struct world *w = *state;
    assert_int_equal(write_snapshot(w, 10, 300), 0);
    /* open syncs the data directory, finish syncs the file and then the directory. */
    for (uint64_t syncs = 0; syncs <= 3; syncs++) {
        for (int mode = 0; mode < 2; mode++) {
            stoa_sim_env_halt_after_fsync(w->sim, syncs);
            int status = write_snapshot(w, 20, 300);
            assert_int_equal(status, syncs < 3 ? STOA_ERR_FSYNC : 0);
            stoa_sim_env_crash(w->sim, mode == 0 ? STOA_SIM_CRASH_LOSE : STOA_SIM_CRASH_TORN);
            assert_loads(w, syncs < 3 ? 10 : 20, 300);
            if (syncs == 3) {
                return;
            }
        }
    }
}

/* A complete snapshot left under its .tmp name (a crash between sync and rename, with the
 * name durable) is never loaded, and the next install removes it. */
static void test_tmp_file_is_not_a_snapshot(void **state) {
    struct world *w = *state;
    assert_int_equal(write_snapshot(w, 10, 50), 0);
    assert_int_equal(write_snapshot(w, 30, 50), 0);
    char final_path[PATH_BYTES];
    char temporary_path[PATH_BYTES];
    snapshot_path(30, ".snap", final_path);
    snapshot_path(30, ".snap.tmp", temporary_path);
    assert_int_equal(w->env->ops->rename(w->env, final_path, temporary_path), 0);
    assert_int_equal(w->env->ops->sync_dir(w->env, SNAPSHOT_DIR), 0);
    stoa_sim_env_crash(w->sim, STOA_SIM_CRASH_LOSE);
    assert_loads(w, 10, 50);
    assert_int_equal(write_snapshot(w, 20, 50), 0);
    size_t count = 0;
    assert_false(directory_has(w, "00000000000000000030.snap.tmp", &count));
    assert_int_equal(count, 2);
    assert_loads(w, 20, 50);
}

/* A failed sync at each step of writing returns STOA_ERR_FSYNC, leaves no .tmp file, and
 * the previous snapshot stays in force (after a crash too). */
static void test_fsync_failure_keeps_previous(void **state) {
    struct world *w = *state;
    assert_int_equal(write_snapshot(w, 10, 100), 0);
    for (uint64_t nth = 1; nth <= 3; nth++) {
        stoa_sim_env_fail_fsync_nth(w->sim, nth);
        assert_int_equal(write_snapshot(w, 20, 100), STOA_ERR_FSYNC);
        size_t count = 0;
        assert_false(directory_has(w, "00000000000000000020.snap.tmp", &count));
        assert_loads(w, 10, 100);
        stoa_sim_env_crash(w->sim, STOA_SIM_CRASH_LOSE);
        assert_loads(w, 10, 100);
    }
}

/* A failed write returns its error and leaves the previous snapshot. */
static void test_write_failure_keeps_previous(void **state) {
    struct world *w = *state;
    assert_int_equal(write_snapshot(w, 10, 100), 0);
    stoa_sim_env_fail_write_nth(w->sim, 1);
    assert_int_equal(write_snapshot(w, 20, 3000), STOA_ERR_IO);
    size_t count = 0;
    assert_false(directory_has(w, "00000000000000000020.snap.tmp", &count));
    assert_int_equal(count, 1);
    assert_loads(w, 10, 100);
}

enum damage_kind { FLIP, TRUNCATE };

struct damage {
    const char *what;
    enum damage_kind kind;
    int64_t offset; /* from the start, or from the end when negative */
};

static void apply_damage(struct world *w, const struct damage *damage, const char *path) {
    uint64_t size = file_bytes(w, path);
    uint64_t offset =
        damage->offset >= 0 ? (uint64_t)damage->offset : size - (uint64_t)(-damage->offset);
    if (damage->kind == FLIP) {
        assert_int_equal(stoa_sim_env_corrupt(w->sim, path, offset, 0x10), 0);
        return;
    }
    struct stoa_env_file *file = NULL;
    assert_int_equal(w->env->ops->file_open(w->env, path, STOA_ENV_OPEN_WRITE, &file), 0);
    assert_int_equal(w->env->ops->file_truncate(file, offset), 0);
    assert_int_equal(w->env->ops->file_datasync(file), 0);
    w->env->ops->file_close(file);
}

/* A flipped byte anywhere in the newest snapshot (header, record, trailer) or a truncated
 * newest snapshot is logged by name and the previous one is loaded instead; with both
 * damaged there is no snapshot. */
static void test_damaged_newest_falls_back(void **state) {
    struct world *w = *state;
    const struct damage damages[] = {
        {"magic", FLIP, 0},
        {"version", FLIP, 8},
        {"index", FLIP, 17},
        {"created", FLIP, 25},
        {"header checksum", FLIP, 33},
        {"first record type", FLIP, HEADER_BYTES},
        {"first key length", FLIP, HEADER_BYTES + 1},
        {"a record in the middle", FLIP, 2000},
        {"the last record", FLIP, -TRAILER_BYTES - 1},
        {"trailer magic", FLIP, -TRAILER_BYTES},
        {"record count", FLIP, -16},
        {"file checksum", FLIP, -1},
        {"truncated by one byte", TRUNCATE, -1},
        {"truncated to half", TRUNCATE, 2000},
        {"truncated into the header", TRUNCATE, 30},
        {"emptied", TRUNCATE, 0},
    };
    char path[PATH_BYTES];
    snapshot_path(20, ".snap", path);
    for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
        assert_int_equal(write_snapshot(w, 10, 200), 0);
        assert_int_equal(write_snapshot(w, 20, 200), 0);
        w->captured_length = 0;
        w->captured[0] = '\0';
        apply_damage(w, &damages[i], path);
        assert_loads(w, 10, 200);
        assert_non_null(strstr(w->captured, "damaged snapshot"));
        assert_non_null(strstr(w->captured, path));
        /* The next snapshot replaces both; the damaged one goes by retention. */
        char other[PATH_BYTES];
        snapshot_path(10, ".snap", other);
        assert_int_equal(stoa_sim_env_corrupt(w->sim, other, 100, 0x01), 0);
        struct stoa_snapshot_info info;
        assert_int_equal(stoa_snapshot_newest(w->env, &w->log, DATA_DIR, &info),
                         STOA_ERR_NOT_FOUND);
        assert_int_equal(w->env->ops->unlink(w->env, other), 0);
        assert_int_equal(w->env->ops->unlink(w->env, path), 0);
    }
}

/* After each install only the newest two snapshots are left, and a newer index than the one
 * being written refuses the write. */
static void test_retention_keeps_two(void **state) {
    struct world *w = *state;
    for (uint64_t index = 1; index <= 6; index++) {
        assert_int_equal(write_snapshot(w, index * 10, 20), 0);
        size_t count = 0;
        char name[PATH_BYTES];
        snprintf(name, sizeof(name), "%020" PRIu64 ".snap", index * 10);
        assert_true(directory_has(w, name, &count));
        assert_int_equal(count, index < 2 ? index : 2);
        if (index >= 2) {
            snprintf(name, sizeof(name), "%020" PRIu64 ".snap", (index - 1) * 10);
            assert_true(directory_has(w, name, &count));
        }
    }
    assert_int_equal(write_snapshot(w, 59, 20), STOA_ERR_EXISTS);
    assert_int_equal(write_snapshot(w, 60, 20), 0); /* the same index again replaces it */
    assert_loads(w, 60, 20);
}

/* A key or value over its bound is refused without spoiling the writer. */
static void test_too_large_record_is_refused(void **state) {
    struct world *w = *state;
    struct stoa_snapshot_writer *writer = NULL;
    assert_int_equal(stoa_snapshot_writer_open(w->env, &w->log, DATA_DIR, 5, &writer), 0);
    struct stoa_snapshot_record record;
    make_record(5, 0, &record);
    struct stoa_snapshot_record too_long = record;
    too_long.key_length = STOA_SNAPSHOT_KEY_BYTES_MAX + 1;
    assert_int_equal(stoa_snapshot_writer_append(writer, &too_long), STOA_ERR_TOO_LARGE);
    too_long = record;
    too_long.value_length = STOA_SNAPSHOT_VALUE_BYTES_MAX + 1;
    too_long.value = generated_value;
    assert_int_equal(stoa_snapshot_writer_append(writer, &too_long), STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_snapshot_writer_append(writer, &record), 0);
    assert_int_equal(stoa_snapshot_writer_finish(writer), 0);
    assert_loads(w, 5, 1);
}

/* ---- hand-made files: the decoder is strict even when the checksums are right ---- */

static void put_u64_le(uint8_t *out, uint64_t value) {
    for (size_t i = 0; i < 8; i++) {
        out[i] = (uint8_t)(value >> (8 * i));
    }
}

/* Writes a snapshot file for index with the given record-area bytes and record count, and
 * correct magic numbers and checksums. Returns its size. */
static size_t plant_file(struct world *w, uint64_t index, const uint8_t *records, size_t length,
                         uint64_t count, uint8_t *file) {
    memcpy(file, "STOASNAP\x01\0\0\0\0\0\0\0", 16);
    put_u64_le(file + 16, index);
    put_u64_le(file + 24, (uint64_t)START_MS);
    put_u64_le(file + 32, XXH3_64bits(file, 32));
    memcpy(file + HEADER_BYTES, records, length);
    size_t at = HEADER_BYTES + length;
    memcpy(file + at, "STOATAIL", 8);
    put_u64_le(file + at + 8, count);
    put_u64_le(file + at + 16, XXH3_64bits(file, at + 16));
    size_t size = at + TRAILER_BYTES;
    char path[PATH_BYTES];
    snapshot_path(index, ".snap", path);
    struct stoa_env_file *handle = NULL;
    unsigned flags = STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_TRUNCATE;
    assert_int_equal(w->env->ops->file_open(w->env, path, flags, &handle), 0);
    assert_int_equal(w->env->ops->file_pwrite(handle, file, size, 0), 0);
    w->env->ops->file_close(handle);
    return size;
}

/* The exact bytes of a one-record snapshot, as docs/formats/snapshot.md lays them out. */
static void test_golden_bytes(void **state) {
    struct world *w = *state;
    struct stoa_snapshot_writer *writer = NULL;
    assert_int_equal(stoa_snapshot_writer_open(w->env, &w->log, DATA_DIR, 7, &writer), 0);
    const uint8_t key[] = {'k', 0, 'y'};
    const uint8_t value[] = {'v', 'a', 'l'};
    struct stoa_snapshot_record record = {.type = 1,
                                          .key = key,
                                          .key_length = 3,
                                          .expire_at_ms = 300,
                                          .value = value,
                                          .value_length = 3};
    assert_int_equal(stoa_snapshot_writer_append(writer, &record), 0);
    assert_int_equal(stoa_snapshot_writer_finish(writer), 0);
    /* type 1, key length 3, "k\0y", expiry 300 = 0xac 0x02, value length 3, "val" */
    const uint8_t records[] = {0x01, 0x03, 'k', 0x00, 'y', 0xac, 0x02, 0x03, 'v', 'a', 'l'};
    uint8_t expected[128];
    char path[PATH_BYTES];
    snapshot_path(7, ".snap", path);
    uint8_t written[128];
    struct stoa_env_file *file = NULL;
    assert_int_equal(w->env->ops->file_open(w->env, path, STOA_ENV_OPEN_READ, &file), 0);
    size_t written_length = 0;
    assert_int_equal(w->env->ops->file_pread(file, written, sizeof(written), 0, &written_length),
                     0);
    w->env->ops->file_close(file);
    size_t size = plant_file(w, 8, records, sizeof(records), 1, expected);
    assert_int_equal(written_length, size);
    assert_int_equal(size, 40 + 11 + 24);
    put_u64_le(expected + 16, 7); /* the planted copy says 8; recompute for 7 */
    put_u64_le(expected + 32, XXH3_64bits(expected, 32));
    put_u64_le(expected + size - 8, XXH3_64bits(expected, size - 8));
    assert_memory_equal(written, expected, size);
}

/* Records that are malformed although every checksum is right (an overlong varint, lengths
 * past the end, an expiry out of range, a wrong count, trailing bytes) are refused, and the
 * previous snapshot loads. */
static void test_strict_decoding(void **state) {
    struct world *w = *state;
    const struct {
        const char *problem; /* as the warning names it */
        uint8_t bytes[16];
        size_t length;
        uint64_t count;
    } cases[] = {
        {"a varint is malformed", {0x01, 0x81, 0x00, 'k', 0x00, 0x00}, 6, 1}, /* overlong */
        {"a key length is out of bounds", {0x01, 0x7f, 'k', 0x00, 0x00}, 5, 1},
        {"a value length is out of bounds", {0x01, 0x01, 'k', 0x00, 0x7f, 'v'}, 6, 1},
        {"an expiry is out of range", /* 2^63 */
         {0x01, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00},
         13,
         1},
        {"a varint is too long", /* eleven bytes */
         {0x01, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00},
         14,
         1},
        {"the record count does not match", {0x01, 0x00, 0x00, 0x00}, 4, 2},
        {"the record count does not match", {0x01, 0x00, 0x00, 0x00}, 4, 0},
        {"a record runs into the trailer", {0x01, 0x00, 0x00, 0x00, 0x02}, 5, 1},
    };
    static uint8_t file[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(write_snapshot(w, 10, 20), 0);
        plant_file(w, 11, cases[i].bytes, cases[i].length, cases[i].count, file);
        w->captured_length = 0;
        w->captured[0] = '\0';
        assert_loads(w, 10, 20);
        assert_non_null(strstr(w->captured, cases[i].problem));
        char path[PATH_BYTES];
        snapshot_path(11, ".snap", path);
        assert_int_equal(w->env->ops->unlink(w->env, path), 0);
    }
    /* The same shape with a right count is fine: the cases above fail for their reason. */
    const uint8_t good[] = {0x01, 0x00, 0x00, 0x00};
    plant_file(w, 11, good, sizeof(good), 1, file);
    struct stoa_snapshot_info info;
    assert_int_equal(stoa_snapshot_newest(w->env, &w->log, DATA_DIR, &info), 0);
    assert_int_equal(info.index, 11);
    assert_int_equal(info.record_count, 1);
}

/* Failing each allocation in turn, writing fails cleanly (or succeeds) and never costs the
 * previous snapshot; loading returns STOA_ERR_NOMEM, never an older snapshot; nothing leaks. */
static void test_failing_allocations(void **state) {
    struct world *w = *state;
    assert_int_equal(write_snapshot(w, 10, 500), 0);
    bool written = false;
    for (uint64_t nth = 1; !written; nth++) {
        assert_true(nth < 10000);
        stoa_alloc_fail_nth(nth);
        int status = write_snapshot(w, 20, 500);
        stoa_alloc_fail_nth(0);
        written = status == 0;
        if (!written) {
            assert_int_equal(status, STOA_ERR_NOMEM);
            assert_loads(w, 10, 500);
        }
    }
    assert_loads(w, 20, 500);
    bool loaded = false;
    for (uint64_t nth = 1; !loaded; nth++) {
        assert_true(nth < 10000);
        struct checker checker = {.seed = 20};
        struct stoa_snapshot_info info = {0};
        stoa_alloc_fail_nth(nth);
        int status = stoa_snapshot_load(w->env, &w->log, DATA_DIR, check_record, &checker, &info);
        stoa_alloc_fail_nth(0);
        loaded = status == 0;
        if (loaded) {
            assert_int_equal(info.index, 20);
            assert_int_equal(checker.mismatches, 0);
        } else {
            assert_int_equal(status, STOA_ERR_NOMEM);
            assert_int_equal(info.index, 0); /* untouched */
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_crash_while_writing_keeps_previous, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_tmp_file_is_not_a_snapshot, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_fsync_failure_keeps_previous, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_write_failure_keeps_previous, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_damaged_newest_falls_back, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_retention_keeps_two, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_too_large_record_is_refused, world_setup,
                                        world_teardown),
        cmocka_unit_test_setup_teardown(test_golden_bytes, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_strict_decoding, world_setup, world_teardown),
        cmocka_unit_test_setup_teardown(test_failing_allocations, world_setup, world_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
