/* Shows that the log tells damage in its last segment from a torn write: a flipped bit in a
 * record's length (or anywhere else in a record that a later record proves was on disk, or in
 * the last record, which one flipped bit leaves otherwise whole) stops the open with CORRUPT
 * naming the file and offset, while true torn tails are still cut; and, flipping every bit
 * of a small last segment in turn, that an open either fails loudly or keeps every record
 * before the damaged one and never silently drops a record that a valid record follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/wal.h"
#include "sim/sim_env.h"
#include "util/err.h"

#define DIR "/data/log"
#define FIRST_SEGMENT DIR "/00000000000000000001.log"
enum {
    SEGMENT_BYTES = 4096, /* the smallest bound: a few dozen records roll over */
    PAYLOAD_BYTES_MAX = 64,
    HEADER_BYTES = 32,
    RECORD_HEADER_BYTES = 40,
    RECORDS_MAX = 64,
};

/* ---- helpers ---- */

/* Record i's payload follows from i alone, so every record read back can be checked. */
static size_t payload_for(uint64_t index, uint8_t *out) {
    size_t length = (size_t)((index * 7) % 23);
    for (size_t j = 0; j < length; j++) {
        out[j] = (uint8_t)(index * 31 + j + 1);
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

static int open_wal(struct stoa_sim_env *sim, struct stoa_wal **wal,
                    struct stoa_wal_recovery *recovery, struct stoa_wal_error *error) {
    struct stoa_wal_options options = {.directory = DIR, .segment_bytes_max = SEGMENT_BYTES};
    return stoa_wal_open(stoa_sim_env_get(sim), &options, wal, recovery, error);
}

static struct stoa_wal *open_ok(struct stoa_sim_env *sim, struct stoa_wal_recovery *recovery) {
    struct stoa_wal *wal = NULL;
    struct stoa_wal_error error;
    int status = open_wal(sim, &wal, recovery, &error);
    if (status != STOA_OK) {
        fail_msg("open: %s: %s", stoa_err_name(status), error.message);
    }
    return wal;
}

/* Appends records up to last, flushing after every batch_count records (and at the end). */
static void append_through(struct stoa_wal *wal, uint64_t last, uint64_t batch_count) {
    uint8_t payload[PAYLOAD_BYTES_MAX];
    while (stoa_wal_last_index(wal) < last) {
        uint64_t index = 0;
        size_t length = payload_for(stoa_wal_last_index(wal) + 1, payload);
        assert_int_equal(stoa_wal_append(wal, payload, length, &index), STOA_OK);
        if (index % batch_count == 0) {
            assert_int_equal(stoa_wal_flush(wal), STOA_OK);
        }
    }
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
}

/* A closed log of records 1..last, flushed batch_count records at a time. */
static struct stoa_sim_env *build(uint64_t seed, uint64_t last, uint64_t batch_count) {
    struct stoa_sim_env *sim = sim_new(seed);
    struct stoa_wal_recovery recovery;
    struct stoa_wal *wal = open_ok(sim, &recovery);
    append_through(wal, last, batch_count);
    stoa_wal_close(wal);
    return sim;
}

static int check_record(void *context, uint64_t index, const uint8_t *payload, size_t length) {
    uint64_t *next = context;
    uint8_t expected[PAYLOAD_BYTES_MAX];
    assert_int_equal(index, *next);
    assert_int_equal(length, payload_for(index, expected));
    assert_memory_equal(payload, expected, length);
    (*next)++;
    return 0;
}

/* Replays the whole log: indexes contiguous from 1, every payload the one written. */
static void check_log(struct stoa_wal *wal) {
    uint64_t next = 1;
    assert_int_equal(stoa_wal_first_index(wal), 1);
    assert_int_equal(stoa_wal_replay(wal, 1, check_record, &next), STOA_OK);
    assert_int_equal(next, stoa_wal_last_index(wal) + 1);
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

/* Record offsets of the segment at path whose first record is first_index: offsets[k] is
 * where record first_index + k starts, offsets[count] the end of the last one. */
static size_t record_offsets(uint64_t first_index, uint64_t last_index, uint64_t *offsets) {
    uint8_t payload[PAYLOAD_BYTES_MAX];
    size_t count = (size_t)(last_index - first_index + 1);
    assert_true(count < RECORDS_MAX);
    offsets[0] = HEADER_BYTES;
    for (size_t k = 0; k < count; k++) {
        offsets[k + 1] = offsets[k] + RECORD_HEADER_BYTES + payload_for(first_index + k, payload);
    }
    return count;
}

/* Overwrites bytes of the file at offset (unsynced, as a torn write would have left them). */
static void overwrite(struct stoa_sim_env *sim, const char *path, uint64_t offset,
                      const uint8_t *bytes, size_t count) {
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = NULL;
    assert_int_equal(env->ops->file_open(env, path, STOA_ENV_OPEN_WRITE, &file), STOA_OK);
    assert_int_equal(env->ops->file_pwrite(file, bytes, count, offset), STOA_OK);
    env->ops->file_close(file);
}

static void cut_file(struct stoa_sim_env *sim, const char *path, uint64_t size) {
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = NULL;
    assert_int_equal(env->ops->file_open(env, path, STOA_ENV_OPEN_WRITE, &file), STOA_OK);
    assert_int_equal(env->ops->file_truncate(file, size), STOA_OK);
    env->ops->file_close(file);
}

/* Opens a log expected to have lost exactly its records after last to a torn tail of
 * torn_bytes, checks what is left, and that it takes new records. */
static void expect_cut(struct stoa_sim_env *sim, uint64_t last, uint64_t torn_bytes) {
    struct stoa_wal_recovery recovery;
    struct stoa_wal *wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, last);
    assert_int_equal(recovery.torn_bytes, torn_bytes);
    assert_int_equal(recovery.corrupt_bytes, 0);
    check_log(wal);
    append_through(wal, last + 2, 1);
    stoa_wal_close(wal);
    wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, last + 2);
    assert_int_equal(recovery.torn_bytes, 0);
    check_log(wal);
    stoa_wal_close(wal);
}

/* ---- the finding ---- */

/* The finding of docs/simulation.md: a flipped bit in the length field of a record in the last
 * segment, with records synced after it, made the file seem to end inside the record, and the
 * log cut it and every record after it. Every one of the 32 length bits now stops the open
 * with CORRUPT, naming the file and the record's offset, and changes nothing on disk. */
static void test_flipped_length_in_last_segment(void **state) {
    (void)state;
    enum { LAST = 130 };
    struct stoa_sim_env *sim = build(1, LAST, 1);
    struct stoa_wal_recovery recovery;
    struct stoa_wal *wal = open_ok(sim, &recovery);
    assert_true(recovery.segment_count >= 2);
    stoa_wal_close(wal);
    /* The last segment's first index: the newest segment file that exists. */
    uint64_t last_first = LAST;
    char path[256];
    for (;; last_first--) {
        segment_path(last_first, path, sizeof(path));
        struct stoa_env *env = stoa_sim_env_get(sim);
        struct stoa_env_file *file = NULL;
        if (env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file) == STOA_OK) {
            env->ops->file_close(file);
            break;
        }
    }
    assert_true(last_first > 1 && last_first + 3 <= LAST);
    uint64_t offsets[RECORDS_MAX + 1];
    record_offsets(last_first, LAST, offsets);
    uint64_t size = data_end(sim, path);
    assert_int_equal(size, offsets[LAST - last_first + 1]);

    for (uint64_t target = last_first; target <= LAST - 2; target += LAST - 2 - last_first) {
        uint64_t offset = offsets[target - last_first];
        char expected[512];
        snprintf(expected, sizeof(expected),
                 "%s is damaged at byte %" PRIu64 ": record header checksum mismatch", path,
                 offset);
        for (unsigned bit = 0; bit < 32; bit++) {
            uint8_t mask = (uint8_t)(1u << (bit % 8));
            assert_int_equal(stoa_sim_env_corrupt(sim, path, offset + bit / 8, mask), STOA_OK);
            struct stoa_wal_error error;
            assert_int_equal(open_wal(sim, &wal, &recovery, &error), STOA_ERR_CORRUPT);
            if (strstr(error.message, expected) == NULL) {
                fail_msg("bit %u: error \"%s\" does not say \"%s\"", bit, error.message, expected);
            }
            assert_int_equal(data_end(sim, path), size); /* nothing cut */
            assert_int_equal(stoa_sim_env_corrupt(sim, path, offset + bit / 8, mask), STOA_OK);
        }
    }
    wal = open_ok(sim, &recovery);
    assert_int_equal(recovery.last_index, LAST);
    assert_int_equal(recovery.torn_bytes, 0);
    check_log(wal);
    stoa_wal_close(wal);
    stoa_sim_env_destroy(sim);
}

/* ---- torn tails ---- */

/* What a crash leaves at the end of the last segment is still cut, records before it kept:
 * the last record cut in its payload or in its header, zeros or garbage after the last
 * record, and a last batch whose pages reached the disk out of order (a record of it zeros,
 * later records of the same batch whole: nothing after proves the damaged record was ever
 * synced). So is damage to the last record that nothing can tell from a torn write (the
 * limits in docs/formats/log.md): two flipped bits, or one in a payload too long to search. */
static void test_torn_tails_still_cut(void **state) {
    (void)state;
    enum { LAST = 12 };
    uint64_t offsets[RECORDS_MAX + 1];
    record_offsets(1, LAST, offsets);
    uint64_t end = offsets[LAST];
    static const uint8_t zeros[200];
    uint8_t garbage[200];
    for (size_t i = 0; i < sizeof(garbage); i++) {
        garbage[i] = (uint8_t)(i * 37 + 11);
    }

    struct stoa_sim_env *sim = build(2, LAST, 1); /* payload cut short */
    cut_file(sim, FIRST_SEGMENT, end - 1);
    expect_cut(sim, LAST - 1, end - 1 - offsets[LAST - 1]);
    stoa_sim_env_destroy(sim);

    sim = build(3, LAST, 1); /* header cut short */
    cut_file(sim, FIRST_SEGMENT, offsets[LAST - 1] + 17);
    expect_cut(sim, LAST - 1, 17);
    stoa_sim_env_destroy(sim);

    sim = build(4, LAST, 1); /* zeros after the last record: preallocated space, nothing torn */
    overwrite(sim, FIRST_SEGMENT, end, zeros, sizeof(zeros));
    expect_cut(sim, LAST, 0);
    stoa_sim_env_destroy(sim);

    sim = build(5, LAST, 1); /* garbage after the last record */
    overwrite(sim, FIRST_SEGMENT, end, garbage, sizeof(garbage));
    expect_cut(sim, LAST, sizeof(garbage));
    stoa_sim_env_destroy(sim);

    /* Records 7..12 in one batch; record 9's bytes never reached the disk, 10..12 did. */
    sim = sim_new(6);
    struct stoa_wal_recovery recovery;
    struct stoa_wal *wal = open_ok(sim, &recovery);
    append_through(wal, 6, 1);
    append_through(wal, LAST, LAST);
    stoa_wal_close(wal);
    overwrite(sim, FIRST_SEGMENT, offsets[8], zeros, (size_t)(offsets[9] - offsets[8]));
    expect_cut(sim, 8, end - offsets[8]);
    stoa_sim_env_destroy(sim);

    sim = build(7, LAST, 1); /* two bits of the last record's payload */
    assert_int_equal(stoa_sim_env_corrupt(sim, FIRST_SEGMENT, end - 2, 0x21), STOA_OK);
    expect_cut(sim, LAST - 1, end - offsets[LAST - 1]);
    stoa_sim_env_destroy(sim);

    /* One bit of a last record longer than the flip search covers. */
    sim = build(8, LAST, 1);
    wal = open_ok(sim, &recovery);
    static uint8_t large[STOA_WAL_FLIP_SEARCH_BYTES_MAX + 1];
    uint64_t index = 0;
    assert_int_equal(stoa_wal_append(wal, large, sizeof(large), &index), STOA_OK);
    assert_int_equal(stoa_wal_flush(wal), STOA_OK);
    stoa_wal_close(wal);
    char path[256];
    segment_path(LAST + 1, path, sizeof(path));
    /* Its payload is zeros, so the data ends at its header: the record's end is computed. */
    uint64_t size = HEADER_BYTES + RECORD_HEADER_BYTES + sizeof(large);
    assert_int_equal(stoa_sim_env_corrupt(sim, path, size - 1, 0x04), STOA_OK);
    expect_cut(sim, LAST, size - HEADER_BYTES);
    stoa_sim_env_destroy(sim);
}

/* ---- every bit of a small last segment ---- */

enum outcome { OUTCOME_CORRUPT, OUTCOME_CUT, OUTCOME_WHOLE, OUTCOME_COUNT };

/* Flips one bit of the only segment of a log of records 1..last, each flushed on its own, and
 * checks the open: CORRUPT naming the file, or a log that keeps every record before the
 * damaged one and drops a record only if no record follows it. */
static enum outcome flip_and_open(uint64_t seed, uint64_t last, uint64_t offset, uint8_t mask,
                                  const uint64_t *offsets, const char *expected_text) {
    struct stoa_sim_env *sim = build(seed, last, 1);
    assert_int_equal(stoa_sim_env_corrupt(sim, FIRST_SEGMENT, offset, mask), STOA_OK);
    /* The damaged record (0: the segment header). */
    uint64_t damaged = 0;
    for (uint64_t k = 1; k <= last; k++) {
        damaged = offset >= offsets[k - 1] ? k : damaged;
    }
    struct stoa_wal *wal = NULL;
    struct stoa_wal_recovery recovery;
    struct stoa_wal_error error;
    int status = open_wal(sim, &wal, &recovery, &error);
    enum outcome outcome = OUTCOME_CORRUPT;
    if (status != STOA_OK) {
        if (status != STOA_ERR_CORRUPT || strstr(error.message, FIRST_SEGMENT) == NULL ||
            strstr(error.message, expected_text) == NULL) {
            fail_msg("byte %" PRIu64 " mask %02x: %s: %s", offset, mask, stoa_err_name(status),
                     error.message);
        }
    } else {
        if (damaged == 0 || recovery.last_index + 1 < damaged) {
            fail_msg("byte %" PRIu64 " mask %02x (record %" PRIu64 "): log kept only %" PRIu64,
                     offset, mask, damaged, recovery.last_index);
        }
        if (recovery.last_index < last && damaged != last) {
            fail_msg("byte %" PRIu64 " mask %02x: record %" PRIu64 " dropped though %" PRIu64
                     " followed it",
                     offset, mask, damaged, last);
        }
        check_log(wal);
        outcome = recovery.last_index == last ? OUTCOME_WHOLE : OUTCOME_CUT;
        stoa_wal_close(wal);
    }
    stoa_sim_env_destroy(sim);
    return outcome;
}

/* Every bit of every byte of a small last segment, flipped in turn: the open never silently
 * loses a record that a valid record follows. Every flip is CORRUPT: before the last record
 * because the next record proves the damaged one was on disk, in the last record because one
 * flipped bit makes it whole again. */
static void test_every_bit_of_a_small_last_segment(void **state) {
    (void)state;
    enum { LAST = 9 };
    uint64_t offsets[RECORDS_MAX + 1];
    record_offsets(1, LAST, offsets);
    uint64_t counts[OUTCOME_COUNT] = {0};
    for (uint64_t offset = 0; offset < offsets[LAST]; offset++) {
        char expected[128] = "damaged at byte 0";
        if (offset >= offsets[LAST - 1]) {
            snprintf(expected, sizeof(expected), "one bit flipped at byte %" PRIu64, offset);
        } else if (offset >= HEADER_BYTES) {
            snprintf(expected, sizeof(expected), "shows it was on disk");
        }
        for (unsigned bit = 0; bit < 8; bit++) {
            uint8_t mask = (uint8_t)(1u << bit);
            counts[flip_and_open(9, LAST, offset, mask, offsets, expected)]++;
        }
    }
    assert_int_equal(counts[OUTCOME_CORRUPT], 8 * offsets[LAST]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flipped_length_in_last_segment),
        cmocka_unit_test(test_torn_tails_still_cut),
        cmocka_unit_test(test_every_bit_of_a_small_last_segment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
