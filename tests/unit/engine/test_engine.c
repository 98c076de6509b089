/* Shows that the engine keeps every acknowledged write: group commit syncs once per flush,
 * a crash after any fsync loses nothing that a flush acknowledged, an fsync failure stops
 * writes for good, snapshots plus the log after them restore the same state (falling back
 * past a damaged snapshot), a damaged log record stops the open naming file and offset,
 * and long random histories survive close and reopen exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/apply.h"
#include "engine/engine.h"
#include "sim/sim_env.h"
#include "util/err.h"
#include "util/prng.h"

#define DATA_DIR "/data"
#define STAMP_MS INT64_C(1763768701000)

/* ---- a reply that keeps the first element, for checking answers ---- */

struct capture {
    struct stoa_reply reply;
    int kind; /* 0 none, 'b' bulk, 'n' null, 'i' integer, 'e' error, 's' status, 'a' array */
    int64_t integer;
    int error;
    char bulk[256];
    size_t bulk_length;
    size_t elements; /* bulks seen after an array header */
};

static void c_status(struct stoa_reply *r, const char *text) {
    struct capture *c = r->self;
    (void)text;
    if (c->kind == 0) {
        c->kind = 's';
    }
}
static void c_error(struct stoa_reply *r, int code, const char *text) {
    struct capture *c = r->self;
    (void)text;
    c->kind = 'e';
    c->error = code;
}
static void c_integer(struct stoa_reply *r, int64_t value) {
    struct capture *c = r->self;
    if (c->kind == 0) {
        c->kind = 'i';
        c->integer = value;
    }
}
static void c_bulk(struct stoa_reply *r, const uint8_t *data, size_t length) {
    struct capture *c = r->self;
    if (c->kind == 0 || c->kind == 'a') {
        if (c->kind == 0) {
            c->kind = 'b';
        }
        /* Arrays keep their elements joined by ',' for easy comparison. */
        size_t room = sizeof(c->bulk) - c->bulk_length - 1;
        size_t n = length < room ? length : room;
        if (c->elements > 0 && c->bulk_length < sizeof(c->bulk) - 1) {
            c->bulk[c->bulk_length++] = ',';
        }
        memcpy(c->bulk + c->bulk_length, data, n);
        c->bulk_length += n;
        c->bulk[c->bulk_length] = '\0';
        c->elements++;
    }
}
static void c_null(struct stoa_reply *r) {
    struct capture *c = r->self;
    if (c->kind == 0) {
        c->kind = 'n';
    }
}
static void c_array(struct stoa_reply *r, size_t count) {
    struct capture *c = r->self;
    (void)count;
    if (c->kind == 0) {
        c->kind = 'a';
    }
}
static const struct stoa_reply_ops capture_ops = {c_status, c_error, c_integer, c_bulk,
                                                  c_null,   c_array, c_null};

static void capture_init(struct capture *c) {
    memset(c, 0, sizeof(*c));
    c->reply = (struct stoa_reply){&capture_ops, c};
}

/* ---- commands ---- */

struct fixture {
    struct stoa_sim_env *sim;
    struct stoa_env *env;
    struct stoa_engine *engine;
    struct stoa_engine_options options;
};

static int open_engine(struct fixture *f) {
    struct stoa_engine_error error;
    return stoa_engine_open(f->env, &f->options, &f->engine, &error);
}

static void fixture_init(struct fixture *f, uint64_t seed) {
    memset(f, 0, sizeof(*f));
    assert_int_equal(stoa_sim_env_create(seed, &f->sim), STOA_OK);
    f->env = stoa_sim_env_get(f->sim);
    assert_int_equal(f->env->ops->mkdir(f->env, DATA_DIR), STOA_OK);
    assert_int_equal(f->env->ops->sync_dir(f->env, "/"), STOA_OK);
    f->options = (struct stoa_engine_options){.data_dir = DATA_DIR,
                                              .durability = STOA_ENGINE_DURABILITY_ALWAYS,
                                              .segment_bytes_max = 4096};
    assert_int_equal(open_engine(f), STOA_OK);
}

static void fixture_free(struct fixture *f) {
    if (f->engine != NULL) {
        stoa_engine_close(f->engine);
    }
    stoa_sim_env_destroy(f->sim);
}

static void reopen(struct fixture *f) {
    stoa_engine_close(f->engine);
    f->engine = NULL;
    assert_int_equal(open_engine(f), STOA_OK);
}

static int write_command(struct fixture *f, uint32_t opcode,
                         const struct stoa_command_argument *arguments, size_t count,
                         struct capture *capture) {
    struct stoa_command command = {
        .opcode = opcode, .stamp_ms = STAMP_MS, .argument_count = count, .arguments = arguments};
    uint64_t index = 0;
    capture_init(capture);
    return stoa_engine_write(f->engine, &command, &capture->reply, &index);
}

static struct stoa_command_argument text(const char *s) {
    return (struct stoa_command_argument){(const uint8_t *)s, strlen(s)};
}

static int set(struct fixture *f, const char *key, const char *value) {
    static const uint8_t no_flags = 0;
    uint8_t expire[8];
    stoa_op_int64_put(expire, 0);
    struct stoa_command_argument arguments[] = {
        text(key), text(value), {&no_flags, 1}, {expire, 8}};
    struct capture capture;
    return write_command(f, STOA_OP_SET, arguments, 4, &capture);
}

static int push(struct fixture *f, const char *key, const char *value) {
    static const uint8_t back = STOA_OP_PUSH_BACK;
    struct stoa_command_argument arguments[] = {text(key), {&back, 1}, text(value)};
    struct capture capture;
    return write_command(f, STOA_OP_PUSH, arguments, 3, &capture);
}

static struct capture get(struct fixture *f, const char *key) {
    struct stoa_command_argument argument = text(key);
    struct capture capture;
    capture_init(&capture);
    (void)stoa_engine_query(f->engine, STAMP_MS, STOA_OP_GET, &argument, 1, &capture.reply);
    return capture;
}

static struct capture range(struct fixture *f, const char *key) {
    uint8_t start[8];
    uint8_t stop[8];
    stoa_op_int64_put(start, 0);
    stoa_op_int64_put(stop, -1);
    struct stoa_command_argument arguments[] = {text(key), {start, 8}, {stop, 8}};
    struct capture capture;
    capture_init(&capture);
    (void)stoa_engine_query(f->engine, STAMP_MS, STOA_OP_LRANGE, arguments, 3, &capture.reply);
    return capture;
}

static uint64_t digest(struct fixture *f) {
    return stoa_keyspace_digest(stoa_engine_keyspace(f->engine), STAMP_MS);
}

/* ---- tests ---- */

/* Writes survive close and reopen, and the state's digest is the same. */
static void test_round_trip(void **state) {
    (void)state;
    struct fixture f;
    fixture_init(&f, 1);
    assert_int_equal(set(&f, "k\0x", "v1"), STOA_OK);
    assert_int_equal(set(&f, "a", "hello"), STOA_OK);
    assert_int_equal(push(&f, "list", "x"), STOA_OK);
    assert_int_equal(push(&f, "list", "y"), STOA_OK);
    assert_int_equal(stoa_engine_flush(f.engine), STOA_OK);
    uint64_t before = digest(&f);
    reopen(&f);
    assert_true(digest(&f) == before);
    struct capture c = get(&f, "a");
    assert_int_equal(c.kind, 'b');
    assert_string_equal(c.bulk, "hello");
    c = range(&f, "list");
    assert_string_equal(c.bulk, "x,y");
    struct stoa_engine_stats stats;
    stoa_engine_stats(f.engine, &stats);
    assert_int_equal(stats.recovered_records, 4);
    assert_int_equal(stats.durable_index, 4);
    fixture_free(&f);
}

/* However many writes a loop iteration holds, one flush makes them durable with one
 * fdatasync, and only then is their index durable. */
static void test_group_commit(void **state) {
    (void)state;
    struct fixture f;
    fixture_init(&f, 2);
    struct stoa_sim_env_stats before;
    stoa_sim_env_stats(f.sim, &before);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(set(&f, key, "v"), STOA_OK);
    }
    assert_int_equal(stoa_engine_durable_index(f.engine), 0);
    assert_int_equal(stoa_engine_flush(f.engine), STOA_OK);
    struct stoa_sim_env_stats after;
    stoa_sim_env_stats(f.sim, &after);
    /* One datasync per segment touched: 100 small records span a few 4 KiB segments. */
    assert_true(after.datasync_count - before.datasync_count >= 1);
    assert_true(after.datasync_count - before.datasync_count <= 4);
    assert_int_equal(stoa_engine_durable_index(f.engine), 100);
    stoa_sim_env_stats(f.sim, &before);
    assert_int_equal(set(&f, "one", "more"), STOA_OK);
    assert_int_equal(stoa_engine_flush(f.engine), STOA_OK);
    stoa_sim_env_stats(f.sim, &after);
    assert_int_equal(after.datasync_count - before.datasync_count, 1);
    fixture_free(&f);
}

#define HISTORY_MAX 240
#define CRASH_KEYS 12

/* The value each key holds after the first `prefix` writes of the history (NULL: unset). */
static const char *value_after(char history[][2][16], size_t prefix, const char *key) {
    const char *value = NULL;
    for (size_t i = 0; i < prefix; i++) {
        if (strcmp(history[i][0], key) == 0) {
            value = history[i][1];
        }
    }
    return value;
}

static bool state_matches_prefix(struct fixture *f, char history[][2][16], size_t prefix) {
    for (int k = 0; k < CRASH_KEYS; k++) {
        char key[16];
        snprintf(key, sizeof(key), "key%d", k);
        const char *expected = value_after(history, prefix, key);
        struct capture c = get(f, key);
        if (expected == NULL ? c.kind != 'n' : (c.kind != 'b' || strcmp(c.bulk, expected) != 0)) {
            return false;
        }
    }
    return true;
}

/* Runs writes with a flush every few, until the disk halts; returns how many writes there
 * were and sets *acknowledged to how many a successful flush covered. */
static size_t write_until_halt(struct fixture *f, struct stoa_prng *prng, char history[][2][16],
                               size_t *acknowledged) {
    size_t written = 0;
    *acknowledged = 0;
    while (written < HISTORY_MAX) {
        snprintf(history[written][0], 16, "key%d", (int)stoa_prng_below(prng, CRASH_KEYS));
        snprintf(history[written][1], 16, "v%zu", written);
        if (set(f, history[written][0], history[written][1]) != STOA_OK) {
            break;
        }
        written++;
        if (stoa_prng_below(prng, 4) == 0) {
            if (stoa_engine_flush(f->engine) != STOA_OK) {
                break;
            }
            *acknowledged = (size_t)stoa_engine_durable_index(f->engine);
        }
    }
    return written;
}

static void crash_after_nth_fsync(uint64_t n, enum stoa_sim_crash_mode mode) {
    struct fixture f;
    fixture_init(&f, 100 + n);
    struct stoa_prng prng;
    stoa_prng_init(&prng, n);
    static char history[HISTORY_MAX][2][16];
    stoa_sim_env_halt_after_fsync(f.sim, n);
    size_t acknowledged = 0;
    size_t written = write_until_halt(&f, &prng, history, &acknowledged);
    stoa_sim_env_crash(f.sim, mode);
    stoa_engine_close(f.engine);
    f.engine = NULL;
    assert_int_equal(open_engine(&f), STOA_OK);
    /* The state is the history cut somewhere at or after the last acknowledged write. */
    bool found = false;
    for (size_t prefix = acknowledged; prefix <= written && !found; prefix++) {
        found = state_matches_prefix(&f, history, prefix);
    }
    if (!found) {
        fail_msg("crash after fsync %llu (mode %d): state is no prefix of the history at or "
                 "after the %zu acknowledged writes (of %zu)",
                 (unsigned long long)n, (int)mode, acknowledged, written);
    }
    /* And the engine goes on working. */
    assert_int_equal(set(&f, "after", "crash"), STOA_OK);
    assert_int_equal(stoa_engine_flush(f.engine), STOA_OK);
    fixture_free(&f);
}

/* For every n, a crash after the nth fsync, dropping or tearing unsynced writes, loses no
 * acknowledged write and shows no write out of order. */
static void test_crash_after_nth_fsync(void **state) {
    (void)state;
    for (uint64_t n = 0; n < 60; n++) {
        crash_after_nth_fsync(n, STOA_SIM_CRASH_LOSE);
        crash_after_nth_fsync(n, STOA_SIM_CRASH_TORN);
    }
}

/* An fsync failure refuses every later write with a clear error, reads go on, and a restart
 * recovers what was durable. */
static void test_fsync_failure_refuses_writes(void **state) {
    (void)state;
    struct fixture f;
    fixture_init(&f, 3);
    assert_int_equal(set(&f, "a", "1"), STOA_OK);
    assert_int_equal(stoa_engine_flush(f.engine), STOA_OK);
    stoa_sim_env_fail_fsync_nth(f.sim, 1);
    assert_int_equal(set(&f, "b", "2"), STOA_OK);
    assert_int_equal(stoa_engine_flush(f.engine), STOA_ERR_FSYNC);
    struct capture c;
    struct stoa_command_argument arguments[] = {text("c")};
    assert_int_equal(write_command(&f, STOA_OP_DEL, arguments, 1, &c), STOA_ERR_FSYNC);
    assert_int_equal(c.kind, 'e');
    assert_int_equal(c.error, STOA_ERR_FSYNC);
    assert_int_equal(stoa_engine_flush(f.engine), STOA_ERR_FSYNC);
    c = get(&f, "a");
    assert_string_equal(c.bulk, "1");
    struct stoa_engine_stats stats;
    stoa_engine_stats(f.engine, &stats);
    assert_int_equal(stats.failure, STOA_ERR_FSYNC);
    stoa_sim_env_crash(f.sim, STOA_SIM_CRASH_LOSE);
    stoa_engine_close(f.engine);
    f.engine = NULL;
    assert_int_equal(open_engine(&f), STOA_OK);
    c = get(&f, "a");
    assert_string_equal(c.bulk, "1");
    fixture_free(&f);
}

static int count_entry(void *context, const char *name) {
    (void)name;
    (*(size_t *)context)++;
    return 0;
}

static size_t log_files(struct fixture *f) {
    size_t count = 0;
    assert_int_equal(f->env->ops->list_dir(f->env, DATA_DIR "/log", count_entry, &count), STOA_OK);
    return count;
}

static void write_many(struct fixture *f, int from, int to) {
    for (int i = from; i < to; i++) {
        char key[16];
        char value[32];
        snprintf(key, sizeof(key), "k%d", i % 50);
        snprintf(value, sizeof(value), "value-%d", i);
        assert_int_equal(set(f, key, value), STOA_OK);
        if (i % 10 == 0) {
            assert_int_equal(push(f, "list", value), STOA_OK);
        }
    }
    assert_int_equal(stoa_engine_flush(f->engine), STOA_OK);
}

static void snapshot(struct fixture *f) {
    assert_int_equal(stoa_engine_snapshot_start(f->engine), STOA_OK);
    assert_int_equal(stoa_engine_snapshot_start(f->engine), STOA_ERR_BUSY);
    stoa_sim_env_advance(f->sim, 1);
    assert_false(stoa_engine_busy(f->engine));
}

/* A snapshot plus the log after it restores the same state after a crash; after two
 * snapshots the log before the older one is removed. */
static void test_snapshots_and_compaction(void **state) {
    (void)state;
    struct fixture f;
    fixture_init(&f, 4);
    write_many(&f, 0, 300);
    snapshot(&f);
    struct stoa_engine_stats stats;
    stoa_engine_stats(f.engine, &stats);
    assert_int_equal(stats.snapshots_written, 1);
    assert_true(stats.snapshot_index > 0);
    write_many(&f, 300, 600);
    size_t files_before = log_files(&f);
    snapshot(&f);
    size_t files_after = log_files(&f);
    assert_true(files_after < files_before);
    write_many(&f, 600, 700);
    uint64_t before = digest(&f);
    stoa_sim_env_crash(f.sim, STOA_SIM_CRASH_LOSE);
    stoa_engine_close(f.engine);
    f.engine = NULL;
    assert_int_equal(open_engine(&f), STOA_OK);
    assert_true(digest(&f) == before);
    stoa_engine_stats(f.engine, &stats);
    assert_true(stats.snapshot_index > 0);
    assert_true(stats.recovered_records < 700);
    fixture_free(&f);
}

/* A damaged newest snapshot is skipped: the older one and the longer log give the same
 * state. */
static void test_damaged_snapshot_falls_back(void **state) {
    (void)state;
    struct fixture f;
    fixture_init(&f, 5);
    write_many(&f, 0, 200);
    snapshot(&f);
    write_many(&f, 200, 400);
    snapshot(&f);
    write_many(&f, 400, 450);
    uint64_t before = digest(&f);
    struct stoa_engine_stats stats;
    stoa_engine_stats(f.engine, &stats);
    uint64_t newest = stats.snapshot_index;
    stoa_engine_close(f.engine);
    f.engine = NULL;
    char path[128];
    snprintf(path, sizeof(path), DATA_DIR "/snapshot/%020llu.snap", (unsigned long long)newest);
    assert_int_equal(stoa_sim_env_corrupt(f.sim, path, 60, 0x10), STOA_OK);
    assert_int_equal(open_engine(&f), STOA_OK);
    assert_true(digest(&f) == before);
    stoa_engine_stats(f.engine, &stats);
    assert_true(stats.snapshot_index < newest);
    fixture_free(&f);
}

/* A damaged record before the log's tail stops the open with the file and offset named;
 * with truncate_corrupt the engine opens with the records before it. */
static void test_corrupt_log_record(void **state) {
    (void)state;
    struct fixture f;
    fixture_init(&f, 6);
    write_many(&f, 0, 200);
    stoa_engine_close(f.engine);
    f.engine = NULL;
    char path[128];
    snprintf(path, sizeof(path), DATA_DIR "/log/%020d.log", 1);
    /* Past the 32-byte segment header and the first record's 24-byte header. */
    assert_int_equal(stoa_sim_env_corrupt(f.sim, path, 60, 0x01), STOA_OK);
    struct stoa_engine_error error;
    assert_int_equal(stoa_engine_open(f.env, &f.options, &f.engine, &error), STOA_ERR_CORRUPT);
    assert_non_null(strstr(error.message, path));
    assert_non_null(strstr(error.message, "byte"));
    assert_null(f.engine);
    f.options.truncate_corrupt = true;
    assert_int_equal(open_engine(&f), STOA_OK);
    struct stoa_engine_stats stats;
    stoa_engine_stats(f.engine, &stats);
    assert_int_equal(stats.applied_index, 0);
    fixture_free(&f);
}

/* ---- a randomized model test with close, reopen and snapshots ---- */

#define MODEL_KEYS 16
#define MODEL_LIST_MAX 64

struct model {
    bool present[MODEL_KEYS];
    char string[MODEL_KEYS][32]; /* keys 0..7: strings; 8..11: counters */
    int64_t counter[MODEL_KEYS];
    char list[MODEL_KEYS][MODEL_LIST_MAX][8]; /* keys 12..15: lists */
    size_t list_length[MODEL_KEYS];
};

static void key_name(int k, char name[8]) {
    snprintf(name, 8, "m%d", k);
}

static void model_step(struct fixture *f, struct model *m, struct stoa_prng *prng, int step) {
    int k = (int)stoa_prng_below(prng, MODEL_KEYS);
    char key[8];
    key_name(k, key);
    if (stoa_prng_below(prng, 10) == 0) {
        struct stoa_command_argument argument = text(key);
        struct capture c;
        assert_int_equal(write_command(f, STOA_OP_DEL, &argument, 1, &c), STOA_OK);
        assert_int_equal(c.integer, m->present[k] ? 1 : 0);
        m->present[k] = false;
        m->list_length[k] = 0;
    } else if (k < 8) {
        snprintf(m->string[k], sizeof(m->string[k]), "s%d", step);
        assert_int_equal(set(f, key, m->string[k]), STOA_OK);
        m->present[k] = true;
    } else if (k < 12) {
        int64_t delta = (int64_t)stoa_prng_below(prng, 2001) - 1000;
        uint8_t bytes[8];
        stoa_op_int64_put(bytes, delta);
        struct stoa_command_argument arguments[] = {text(key), {bytes, 8}};
        struct capture c;
        assert_int_equal(write_command(f, STOA_OP_INCRBY, arguments, 2, &c), STOA_OK);
        m->counter[k] = (m->present[k] ? m->counter[k] : 0) + delta;
        m->present[k] = true;
        assert_true(c.integer == m->counter[k]);
    } else if (stoa_prng_below(prng, 2) == 0 && m->list_length[k] < MODEL_LIST_MAX) {
        char value[8];
        snprintf(value, sizeof(value), "e%d", step % 1000);
        assert_int_equal(push(f, key, value), STOA_OK);
        memcpy(m->list[k][m->list_length[k]++], value, sizeof(value));
        m->present[k] = true;
    } else {
        static const uint8_t front = 0;
        uint8_t count[8];
        stoa_op_int64_put(count, 0);
        struct stoa_command_argument arguments[] = {text(key), {&front, 1}, {count, 8}};
        struct capture c;
        assert_int_equal(write_command(f, STOA_OP_POP, arguments, 3, &c), STOA_OK);
        if (m->list_length[k] == 0) {
            assert_int_equal(c.kind, 'n');
        } else {
            assert_int_equal(c.kind, 'b');
            assert_string_equal(c.bulk, m->list[k][0]);
            memmove(m->list[k][0], m->list[k][1], (m->list_length[k] - 1) * 8);
            m->list_length[k]--;
            m->present[k] = m->list_length[k] > 0;
        }
    }
}

static void model_check(struct fixture *f, const struct model *m) {
    for (int k = 0; k < MODEL_KEYS; k++) {
        char key[8];
        key_name(k, key);
        if (k >= 12) {
            char expected[MODEL_LIST_MAX * 8 + 1] = "";
            for (size_t i = 0; i < m->list_length[k]; i++) {
                if (i > 0) {
                    strcat(expected, ",");
                }
                strcat(expected, m->list[k][i]);
            }
            struct capture c = range(f, key);
            assert_string_equal(c.kind == 'a' ? c.bulk : "?", expected);
            continue;
        }
        struct capture c = get(f, key);
        if (!m->present[k]) {
            assert_int_equal(c.kind, 'n');
        } else if (k < 8) {
            assert_string_equal(c.bulk, m->string[k]);
        } else {
            char number[24];
            snprintf(number, sizeof(number), "%lld", (long long)m->counter[k]);
            assert_string_equal(c.bulk, number);
        }
    }
}

/* 20,000 random writes checked against a model after every one (every key), with flushes,
 * snapshots, crashes of unsynced data after a flush, and reopens along the way. */
static void test_model_with_reopen(void **state) {
    (void)state;
    struct fixture f;
    fixture_init(&f, 7);
    struct stoa_prng prng;
    stoa_prng_init(&prng, 77);
    static struct model m;
    memset(&m, 0, sizeof(m));
    for (int step = 0; step < 20000; step++) {
        model_step(&f, &m, &prng, step);
        model_check(&f, &m);
        if (step % 1000 == 999) {
            assert_int_equal(stoa_engine_flush(f.engine), STOA_OK);
            if (step % 3000 == 2999) {
                snapshot(&f);
            }
            stoa_sim_env_crash(f.sim, STOA_SIM_CRASH_TORN);
            reopen(&f);
            model_check(&f, &m);
        }
    }
    fixture_free(&f);
}

/* Applies SET key value as the position-th command of the chosen entry at slot. */
static int set_chosen(struct fixture *f, uint64_t slot, uint32_t position, const char *key,
                      const char *value) {
    static const uint8_t no_flags = 0;
    uint8_t expire[8];
    stoa_op_int64_put(expire, 0);
    struct stoa_command_argument arguments[] = {
        text(key), text(value), {&no_flags, 1}, {expire, 8}};
    struct stoa_command command = {
        .opcode = STOA_OP_SET, .stamp_ms = STAMP_MS, .argument_count = 4, .arguments = arguments};
    struct capture capture;
    capture_init(&capture);
    return stoa_engine_apply_chosen(f->engine, slot, position, &command, &capture.reply);
}

/* A replica's engine (no log of its own) applies chosen entries by slot, many commands per
 * slot; a snapshot records the slot; reload drops everything after the snapshot and comes
 * back with the snapshot's state and slot. */
static void test_replica_apply_and_reload(void **state) {
    (void)state;
    struct fixture f;
    fixture_init(&f, 11);
    stoa_engine_close(f.engine);
    f.options.durability = STOA_ENGINE_DURABILITY_NONE;
    assert_int_equal(open_engine(&f), STOA_OK);
    assert_int_equal(set_chosen(&f, 1, 0, "a", "1"), STOA_OK);
    assert_int_equal(set_chosen(&f, 1, 1, "b", "1"), STOA_OK);
    stoa_engine_applied_set(f.engine, 2); /* a no-op entry */
    assert_int_equal(set_chosen(&f, 3, 0, "a", "3"), STOA_OK);
    struct stoa_engine_stats stats;
    stoa_engine_stats(f.engine, &stats);
    assert_int_equal(stats.applied_index, 3);
    uint64_t at_snapshot = digest(&f);
    snapshot(&f);
    assert_int_equal(set_chosen(&f, 4, 0, "a", "4"), STOA_OK);
    assert_int_equal(set_chosen(&f, 4, 1, "c", "4"), STOA_OK);
    assert_true(digest(&f) != at_snapshot);
    struct stoa_engine_error error;
    assert_int_equal(stoa_engine_reload(f.engine, &error), STOA_OK);
    stoa_engine_stats(f.engine, &stats);
    assert_int_equal(stats.applied_index, 3);
    assert_int_equal(digest(&f), at_snapshot);
    struct capture a = get(&f, "a");
    assert_int_equal(a.kind, 'b');
    assert_memory_equal(a.bulk, "3", 1);
    assert_int_equal(get(&f, "c").kind, 'n');
    fixture_free(&f);
}

/* Applies a command at slot as the only command of its entry, stamped at stamp_ms. */
static struct capture chosen_at(struct fixture *f, uint64_t slot, int64_t stamp_ms,
                                uint32_t opcode, const struct stoa_command_argument *arguments,
                                size_t count) {
    struct stoa_command command = {
        .opcode = opcode, .stamp_ms = stamp_ms, .argument_count = count, .arguments = arguments};
    struct capture capture;
    capture_init(&capture);
    (void)stoa_engine_apply_chosen(f->engine, slot, 0, &command, &capture.reply);
    return capture;
}

static struct capture set_expiring_at(struct fixture *f, uint64_t slot, int64_t stamp_ms,
                                      const char *key, const char *value, int64_t expire_at) {
    static const uint8_t no_flags = 0;
    uint8_t expire[8];
    stoa_op_int64_put(expire, expire_at);
    struct stoa_command_argument arguments[] = {
        text(key), text(value), {&no_flags, 1}, {expire, 8}};
    return chosen_at(f, slot, stamp_ms, STOA_OP_SET, arguments, 4);
}

static struct capture incr_at(struct fixture *f, uint64_t slot, int64_t stamp_ms,
                              const char *key) {
    uint8_t delta[8];
    stoa_op_int64_put(delta, 1);
    struct stoa_command_argument arguments[] = {text(key), {delta, 8}};
    return chosen_at(f, slot, stamp_ms, STOA_OP_INCRBY, arguments, 2);
}

static void replica_fixture(struct fixture *f, uint64_t seed) {
    fixture_init(f, seed);
    stoa_engine_close(f->engine);
    f->options.durability = STOA_ENGINE_DURABILITY_NONE;
    assert_int_equal(open_engine(f), STOA_OK);
}

/* Two replicas apply the same log, whose stamps go back once (a new leader's clock is behind
 * the old one's). One of them also reads, reclaims and snapshots (then reloads) with its wall
 * clock past a key's expiry, before a command stamped earlier than that expiry. Both must
 * answer every command alike and end with the same state: expiry follows the log's clock. */
static void test_expiry_follows_the_log_clock(void **state) {
    (void)state;
    struct fixture busy;
    struct fixture quiet;
    replica_fixture(&busy, 21);
    replica_fixture(&quiet, 22);
    struct fixture *both[] = {&busy, &quiet};
    const int64_t t = STAMP_MS;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(set_expiring_at(both[i], 1, t, "k", "5", t + 100).kind, 's');
        assert_int_equal(set_expiring_at(both[i], 2, t, "gone", "x", t + 300).kind, 's');
    }
    /* The busy replica's wall clock is at t + 500: reads hide k, the tick and a snapshot
     * run, and the engine reloads from that snapshot. */
    struct stoa_command_argument key = text("k");
    struct capture read;
    capture_init(&read);
    (void)stoa_engine_query(busy.engine, t + 500, STOA_OP_GET, &key, 1, &read.reply);
    assert_int_equal(read.kind, 'n');
    (void)stoa_engine_tick(busy.engine, t + 500, 100);
    snapshot(&busy);
    struct stoa_engine_error error;
    assert_int_equal(stoa_engine_reload(busy.engine, &error), STOA_OK);
    /* A command stamped before k's expiry still sees k on both. */
    for (int i = 0; i < 2; i++) {
        struct capture incremented = incr_at(both[i], 3, t + 50, "k");
        assert_int_equal(incremented.kind, 'i');
        assert_int_equal(incremented.integer, 6);
    }
    /* Past the expiry on the log's clock: k is gone for the next command, even one stamped
     * earlier than the log's clock (time does not go back along the log). */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(incr_at(both[i], 4, t + 400, "gone").kind, 'i');
        struct capture again = incr_at(both[i], 5, t + 20, "k");
        assert_int_equal(again.integer, 1);
    }
    int64_t later = t + 1000;
    assert_int_equal(stoa_keyspace_digest(stoa_engine_keyspace(busy.engine), later),
                     stoa_keyspace_digest(stoa_engine_keyspace(quiet.engine), later));
    assert_int_equal(stoa_keyspace_digest(stoa_engine_keyspace(busy.engine), t + 450),
                     stoa_keyspace_digest(stoa_engine_keyspace(quiet.engine), t + 450));
    fixture_free(&busy);
    fixture_free(&quiet);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replica_apply_and_reload),
        cmocka_unit_test(test_expiry_follows_the_log_clock),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_crash_after_nth_fsync),
        cmocka_unit_test(test_fsync_failure_refuses_writes),
        cmocka_unit_test(test_snapshots_and_compaction),
        cmocka_unit_test(test_damaged_snapshot_falls_back),
        cmocka_unit_test(test_corrupt_log_record),
        cmocka_unit_test(test_model_with_reopen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
