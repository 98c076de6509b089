/* Shows that the simulated env keeps exactly what was synced across a crash (files and
 * directory entries), tears unsynced writes only as a prefix, fails the syncs and writes it
 * is told to, fires timers in deadline order, and does all of it the same way for a seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sim/sim_env.h"
#include "util/alloc.h"
#include "util/err.h"

enum { FLAGS_RW = STOA_ENV_OPEN_READ | STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE };

static struct stoa_sim_env *sim_new(uint64_t seed) {
    struct stoa_sim_env *sim = NULL;
    assert_int_equal(stoa_sim_env_create(seed, &sim), STOA_OK);
    return sim;
}

/* Reads the whole file at path into out (at most capacity bytes); returns its length, or -1
 * when there is no such file. */
static long read_all(struct stoa_env *env, const char *path, uint8_t *out, size_t capacity) {
    struct stoa_env_file *file = NULL;
    if (env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file) != STOA_OK) {
        return -1;
    }
    size_t got = 0;
    assert_int_equal(env->ops->file_pread(file, out, capacity, 0, &got), STOA_OK);
    env->ops->file_close(file);
    return (long)got;
}

static struct stoa_env_file *open_rw(struct stoa_env *env, const char *path) {
    struct stoa_env_file *file = NULL;
    assert_int_equal(env->ops->file_open(env, path, FLAGS_RW, &file), STOA_OK);
    return file;
}

static void put(struct stoa_env *env, struct stoa_env_file *file, const char *text,
                uint64_t offset) {
    assert_int_equal(env->ops->file_pwrite(file, text, strlen(text), offset), STOA_OK);
}

/* A crash with LOSE keeps synced bytes and synced names only; old handles are dead. */
static void test_crash_lose_keeps_only_synced(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(1);
    struct stoa_env *env = stoa_sim_env_get(sim);
    assert_int_equal(env->ops->mkdir(env, "/d"), STOA_OK);
    assert_int_equal(env->ops->sync_dir(env, "/"), STOA_OK);
    struct stoa_env_file *a = open_rw(env, "/d/a");
    put(env, a, "abc", 0);
    assert_int_equal(env->ops->file_datasync(a), STOA_OK);
    assert_int_equal(env->ops->sync_dir(env, "/d"), STOA_OK);
    put(env, a, "def", 3);
    /* b's data is synced, but its name never is. */
    struct stoa_env_file *b = open_rw(env, "/d/b");
    put(env, b, "xyz", 0);
    assert_int_equal(env->ops->file_datasync(b), STOA_OK);

    stoa_sim_env_crash(sim, STOA_SIM_CRASH_LOSE);
    uint8_t bytes[16];
    assert_int_equal(read_all(env, "/d/a", bytes, sizeof(bytes)), 3);
    assert_memory_equal(bytes, "abc", 3);
    assert_int_equal(read_all(env, "/d/b", bytes, sizeof(bytes)), -1);
    size_t got = 0;
    assert_int_equal(env->ops->file_pread(a, bytes, 3, 0, &got), STOA_ERR_IO);
    assert_int_equal(env->ops->file_datasync(a), STOA_ERR_IO);
    env->ops->file_close(a);
    env->ops->file_close(b);
    stoa_sim_env_destroy(sim);
}

/* Renames and unlinks are undone by a crash unless the directory was synced; a directory
 * whose own name was not synced loses its entries. */
static void test_crash_undoes_unsynced_names(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(2);
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = open_rw(env, "/x");
    put(env, file, "1", 0);
    assert_int_equal(env->ops->file_datasync(file), STOA_OK);
    env->ops->file_close(file);
    assert_int_equal(env->ops->sync_dir(env, "/"), STOA_OK);
    assert_int_equal(env->ops->rename(env, "/x", "/y"), STOA_OK);
    assert_int_equal(env->ops->mkdir(env, "/new"), STOA_OK);
    file = open_rw(env, "/new/f");
    env->ops->file_close(file);
    assert_int_equal(env->ops->sync_dir(env, "/new"), STOA_OK); /* but "/" is not synced */

    stoa_sim_env_crash(sim, STOA_SIM_CRASH_LOSE);
    uint8_t bytes[4];
    assert_int_equal(read_all(env, "/x", bytes, sizeof(bytes)), 1);
    assert_int_equal(read_all(env, "/y", bytes, sizeof(bytes)), -1);
    assert_int_equal(read_all(env, "/new/f", bytes, sizeof(bytes)), -1);

    assert_int_equal(env->ops->unlink(env, "/x"), STOA_OK);
    assert_int_equal(env->ops->sync_dir(env, "/"), STOA_OK);
    stoa_sim_env_crash(sim, STOA_SIM_CRASH_LOSE);
    assert_int_equal(read_all(env, "/x", bytes, sizeof(bytes)), -1);
    stoa_sim_env_destroy(sim);
}

/* TORN keeps a prefix of the unsynced writes, possibly cut inside the last one. */
static void test_crash_torn_keeps_a_prefix(void **state) {
    (void)state;
    const char *full = "0123456789abcdefghijklmnopqrstuvwxyz";
    bool saw_short = false;
    bool saw_between = false;
    for (uint64_t seed = 0; seed < 64; seed++) {
        struct stoa_sim_env *sim = sim_new(seed);
        struct stoa_env *env = stoa_sim_env_get(sim);
        struct stoa_env_file *file = open_rw(env, "/f");
        put(env, file, "0123", 0);
        assert_int_equal(env->ops->file_datasync(file), STOA_OK);
        assert_int_equal(env->ops->sync_dir(env, "/"), STOA_OK);
        for (size_t offset = 4; offset < strlen(full); offset += 8) {
            char piece[9] = {0};
            memcpy(piece, full + offset, 8);
            put(env, file, piece, offset);
        }
        env->ops->file_close(file);
        stoa_sim_env_crash(sim, STOA_SIM_CRASH_TORN);
        uint8_t bytes[64];
        long length = read_all(env, "/f", bytes, sizeof(bytes));
        assert_true(length >= 4 && (size_t)length <= strlen(full));
        assert_memory_equal(bytes, full, (size_t)length);
        saw_short = saw_short || length == 4;
        saw_between = saw_between || ((length - 4) % 8 != 0);
        stoa_sim_env_destroy(sim);
    }
    assert_true(saw_short);
    assert_true(saw_between); /* some write was torn inside */
}

/* The nth sync fails with FSYNC, and the data it should have synced never becomes durable,
 * even after a later sync succeeds. */
static void test_fsync_failure_forgets_pages(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(3);
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = open_rw(env, "/f");
    assert_int_equal(env->ops->sync_dir(env, "/"), STOA_OK);
    stoa_sim_env_fail_fsync_nth(sim, 2);
    put(env, file, "ab", 0);
    assert_int_equal(env->ops->file_datasync(file), STOA_OK);
    put(env, file, "cd", 2);
    assert_int_equal(env->ops->file_datasync(file), STOA_ERR_FSYNC);
    put(env, file, "ef", 4);
    assert_int_equal(env->ops->file_datasync(file), STOA_OK);
    uint8_t bytes[8];
    assert_int_equal(read_all(env, "/f", bytes, sizeof(bytes)), 6); /* the cache has it all */
    env->ops->file_close(file);
    stoa_sim_env_crash(sim, STOA_SIM_CRASH_LOSE);
    assert_int_equal(read_all(env, "/f", bytes, sizeof(bytes)), 6);
    assert_memory_equal(bytes, "ab\0\0ef", 6); /* "cd" was lost for good */
    struct stoa_sim_env_stats stats;
    stoa_sim_env_stats(sim, &stats);
    assert_int_equal(stats.fsync_failure_count, 1);
    assert_int_equal(stats.datasync_count, 3);
    stoa_sim_env_destroy(sim);
}

/* An injected write failure is IO; a halted disk refuses every sync after the nth. */
static void test_write_failure_and_halt(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(4);
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = open_rw(env, "/f");
    stoa_sim_env_fail_write_nth(sim, 2);
    put(env, file, "ab", 0);
    assert_int_equal(env->ops->file_pwrite(file, "cd", 2, 2), STOA_ERR_IO);
    put(env, file, "ef", 4);
    stoa_sim_env_halt_after_fsync(sim, 1);
    assert_int_equal(env->ops->file_datasync(file), STOA_OK);
    assert_int_equal(env->ops->sync_dir(env, "/"), STOA_ERR_FSYNC);
    assert_int_equal(env->ops->file_datasync(file), STOA_ERR_FSYNC);
    env->ops->file_close(file);
    stoa_sim_env_crash(sim, STOA_SIM_CRASH_LOSE);
    uint8_t bytes[8];
    assert_int_equal(read_all(env, "/f", bytes, sizeof(bytes)), -1); /* name never synced */
    stoa_sim_env_destroy(sim);
}

/* A corrupted byte reads back flipped; the network is not simulated yet. */
static void test_corrupt_and_network(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(5);
    struct stoa_env *env = stoa_sim_env_get(sim);
    struct stoa_env_file *file = open_rw(env, "/f");
    put(env, file, "abc", 0);
    env->ops->file_close(file);
    assert_int_equal(stoa_sim_env_corrupt(sim, "/f", 1, 0x01), STOA_OK);
    assert_int_equal(stoa_sim_env_corrupt(sim, "/f", 3, 0x01), STOA_ERR_RANGE);
    assert_int_equal(stoa_sim_env_corrupt(sim, "/g", 0, 0x01), STOA_ERR_NOT_FOUND);
    uint8_t bytes[4];
    assert_int_equal(read_all(env, "/f", bytes, sizeof(bytes)), 3);
    assert_memory_equal(bytes, "acc", 3);
    struct stoa_address address = {0};
    struct stoa_env_udp *udp = NULL;
    assert_int_equal(env->ops->udp_bind(env, &address, NULL, NULL, &udp), STOA_ERR_UNSUPPORTED);
    assert_int_equal(env->ops->connect(env, &address, NULL, NULL), STOA_ERR_UNSUPPORTED);
    stoa_sim_env_destroy(sim);
}

static int64_t fired_at[8];
static size_t fired_count;
static struct stoa_env *timer_env;

static void on_timer(void *context) {
    (void)context;
    if (fired_count < 8) {
        fired_at[fired_count] = stoa_env_monotonic_ms(timer_env);
    }
    fired_count++;
}

/* Timers fire at their deadlines, with the clocks set to them, and repeat. */
static void test_timers(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(6);
    struct stoa_env *env = stoa_sim_env_get(sim);
    timer_env = env;
    fired_count = 0;
    int64_t start = stoa_env_monotonic_ms(env);
    int64_t real_start = stoa_env_real_ms(env);
    struct stoa_env_timer *once = NULL;
    struct stoa_env_timer *repeat = NULL;
    assert_int_equal(env->ops->timer_create(env, on_timer, NULL, &once), STOA_OK);
    assert_int_equal(env->ops->timer_create(env, on_timer, NULL, &repeat), STOA_OK);
    env->ops->timer_start(once, 250, 0);
    env->ops->timer_start(repeat, 100, 100);
    stoa_sim_env_advance(sim, 99);
    assert_int_equal(fired_count, 0);
    stoa_sim_env_advance(sim, 201);
    assert_int_equal(fired_count, 4); /* 100, 200, 250, 300 */
    assert_int_equal(fired_at[0] - start, 100);
    assert_int_equal(fired_at[2] - start, 250);
    assert_int_equal(fired_at[3] - start, 300);
    assert_int_equal(stoa_env_real_ms(env) - real_start, 300);
    env->ops->timer_close(once, NULL, NULL);
    env->ops->timer_close(repeat, NULL, NULL);
    stoa_sim_env_advance(sim, 1000);
    assert_int_equal(fired_count, 4);
    stoa_sim_env_destroy(sim);
}

static int child_status;

static int child_work(void *context) {
    *(int *)context += 1;
    return 7;
}

static void on_child_exit(void *context, int status) {
    (void)context;
    child_status = status;
}

/* Background work runs inline; its exit is reported at the next advance. */
static void test_run_in_child(void **state) {
    (void)state;
    struct stoa_sim_env *sim = sim_new(8);
    struct stoa_env *env = stoa_sim_env_get(sim);
    int runs = 0;
    child_status = -1;
    assert_int_equal(env->ops->run_in_child(env, child_work, &runs, on_child_exit, NULL), STOA_OK);
    assert_int_equal(runs, 1);
    assert_int_equal(child_status, -1);
    stoa_sim_env_advance(sim, 0);
    assert_int_equal(child_status, 7);
    stoa_sim_env_destroy(sim);
}

/* Runs a fixed scenario and returns a digest of what a seed decided: random bytes and the
 * torn crash's outcome. */
static uint64_t scenario(uint64_t seed) {
    struct stoa_sim_env *sim = sim_new(seed);
    struct stoa_env *env = stoa_sim_env_get(sim);
    uint64_t digest = 0;
    stoa_env_random_bytes(env, &digest, sizeof(digest));
    struct stoa_env_file *file = open_rw(env, "/f");
    assert_int_equal(env->ops->sync_dir(env, "/"), STOA_OK);
    for (uint64_t i = 0; i < 32; i++) {
        put(env, file, "0123456789", i * 10);
    }
    env->ops->file_close(file);
    stoa_sim_env_crash(sim, STOA_SIM_CRASH_TORN);
    uint8_t bytes[512];
    long length = read_all(env, "/f", bytes, sizeof(bytes));
    stoa_sim_env_destroy(sim);
    return digest * 31 + (uint64_t)length;
}

/* The same seed gives the same run; other seeds give other runs. */
static void test_deterministic_from_seed(void **state) {
    (void)state;
    assert_int_equal(scenario(42), scenario(42));
    assert_int_not_equal(scenario(42), scenario(43));
}

/* Failed allocations inside the sim are NOMEM and change nothing. */
static void test_failing_allocations(void **state) {
    (void)state;
    struct stoa_alloc_stats before;
    stoa_alloc_stats(&before);
    for (uint64_t n = 1; n < 20; n++) {
        struct stoa_sim_env *sim = NULL;
        stoa_alloc_fail_nth(n);
        int status = stoa_sim_env_create(7, &sim);
        if (status != STOA_OK) {
            assert_int_equal(status, STOA_ERR_NOMEM);
            continue;
        }
        struct stoa_env *env = stoa_sim_env_get(sim);
        struct stoa_env_file *file = NULL;
        status = env->ops->file_open(env, "/f", FLAGS_RW, &file);
        if (status == STOA_OK) {
            status = env->ops->file_pwrite(file, "abc", 3, 0);
            assert_true(status == STOA_OK || status == STOA_ERR_NOMEM);
            env->ops->file_close(file);
        } else {
            assert_int_equal(status, STOA_ERR_NOMEM);
        }
        stoa_alloc_fail_nth(0);
        stoa_sim_env_destroy(sim);
    }
    stoa_alloc_fail_nth(0);
    struct stoa_alloc_stats after;
    stoa_alloc_stats(&after);
    assert_int_equal(after.live_count, before.live_count);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_lose_keeps_only_synced),
        cmocka_unit_test(test_crash_undoes_unsynced_names),
        cmocka_unit_test(test_crash_torn_keeps_a_prefix),
        cmocka_unit_test(test_fsync_failure_forgets_pages),
        cmocka_unit_test(test_write_failure_and_halt),
        cmocka_unit_test(test_corrupt_and_network),
        cmocka_unit_test(test_timers),
        cmocka_unit_test(test_run_in_child),
        cmocka_unit_test(test_deterministic_from_seed),
        cmocka_unit_test(test_failing_allocations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
