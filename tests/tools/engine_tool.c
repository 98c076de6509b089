/*
 * stoa-engine-tool: drives the engine in a real process, for the kill -9 test and the
 * engine benchmarks. Not installed; built with the tests.
 *
 *   stoa-engine-tool write DIR [COUNT]   SET k<i> to value(i) in random batches, one flush
 *                                        per batch; prints "ack <i>" for every write a
 *                                        flush made durable (stdout is flushed after each
 *                                        batch). Takes background snapshots as it goes.
 *   stoa-engine-tool check DIR ACKED     opens DIR and checks that k0..k<ACKED-1> hold
 *                                        value(i) and every other k<i> is absent or exactly
 *                                        value(i); prints "ok <keys>" or the first mismatch.
 *   stoa-engine-tool bench KIND ...      see bench/engine.sh.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "engine/apply.h"
#include "engine/engine.h"
#include "os/env_uv.h"
#include "os/os.h"
#include "util/err.h"
#include "util/log.h"
#include "util/prng.h"

struct tool {
    uv_loop_t loop;
    struct stoa_os_env os;
    struct stoa_env *env;
    struct stoa_log log;
    struct stoa_engine *engine;
};

static int tool_open(struct tool *tool, const char *dir, enum stoa_engine_durability durability,
                     uint64_t snapshot_log_bytes) {
    if (uv_loop_init(&tool->loop) != 0 || stoa_os_env_init(&tool->os, &tool->loop) != 0) {
        return STOA_ERR_IO;
    }
    tool->env = stoa_os_env_get(&tool->os);
    stoa_log_init(&tool->log);
    stoa_log_set_sink(&tool->log, stoa_os_log_sink_stderr, NULL);
    stoa_log_set_clock(&tool->log, stoa_os_log_clock, NULL);
    tool->log.level_min = STOA_LOG_WARN;
    (void)tool->env->ops->mkdir(tool->env, dir);
    struct stoa_engine_options options = {.data_dir = dir,
                                          .durability = durability,
                                          .snapshot_log_bytes = snapshot_log_bytes,
                                          .log = &tool->log};
    struct stoa_engine_error error;
    int result = stoa_engine_open(tool->env, &options, &tool->engine, &error);
    if (result != STOA_OK) {
        fprintf(stderr, "open failed: %s: %s\n", stoa_err_name(result), error.message);
    }
    return result;
}

static void tool_close(struct tool *tool) {
    while (stoa_engine_busy(tool->engine)) {
        uv_run(&tool->loop, UV_RUN_ONCE);
    }
    stoa_engine_close(tool->engine);
    uv_run(&tool->loop, UV_RUN_DEFAULT);
    stoa_os_env_deinit(&tool->os);
    (void)uv_loop_close(&tool->loop);
}

/* value(i): 64 bytes that name i, so a partial or misplaced value is visible. */
static size_t value_of(uint64_t i, char value[80]) {
    int length = snprintf(value, 80, "value-%020llu-%040llu", (unsigned long long)i,
                          (unsigned long long)(i * 2654435761u));
    return (size_t)length;
}

static int set_key(struct tool *tool, uint64_t i, int64_t stamp_ms, int64_t expire_at_ms) {
    char key[32];
    char value[80];
    int key_length = snprintf(key, sizeof(key), "k%llu", (unsigned long long)i);
    size_t value_length = value_of(i, value);
    static const uint8_t no_flags = 0;
    uint8_t expire[8];
    stoa_op_int64_put(expire, expire_at_ms);
    struct stoa_command_argument arguments[] = {{(const uint8_t *)key, (size_t)key_length},
                                                {(const uint8_t *)value, value_length},
                                                {&no_flags, 1},
                                                {expire, 8}};
    struct stoa_command command = {
        .opcode = STOA_OP_SET, .stamp_ms = stamp_ms, .argument_count = 4, .arguments = arguments};
    uint64_t index = 0;
    return stoa_engine_write(tool->engine, &command, NULL, &index);
}

static int command_write(const char *dir, uint64_t count) {
    struct tool tool;
    if (tool_open(&tool, dir, STOA_ENGINE_DURABILITY_ALWAYS, 32 * 1024) != STOA_OK) {
        return 1;
    }
    struct stoa_prng prng;
    stoa_prng_init(&prng, (uint64_t)getpid());
    uint64_t next = 0;
    while (count == 0 || next < count) {
        uint64_t batch = 1 + stoa_prng_below(&prng, 32);
        uint64_t first = next;
        for (uint64_t b = 0; b < batch; b++, next++) {
            if (set_key(&tool, next, stoa_env_real_ms(tool.env), 0) != STOA_OK) {
                return 1;
            }
        }
        if (stoa_engine_flush(tool.engine) != STOA_OK) {
            return 1;
        }
        for (uint64_t i = first; i < next; i++) {
            printf("ack %llu\n", (unsigned long long)i);
        }
        fflush(stdout);
        (void)stoa_engine_tick(tool.engine, stoa_env_real_ms(tool.env), 16);
        uv_run(&tool.loop, UV_RUN_NOWAIT);
    }
    tool_close(&tool);
    return 0;
}

/* A reply that keeps a GET's answer. */
struct answer {
    struct stoa_reply reply;
    bool found;
    char value[128];
    size_t length;
};

static void a_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    struct answer *answer = reply->self;
    answer->found = true;
    answer->length = length < sizeof(answer->value) ? length : sizeof(answer->value);
    memcpy(answer->value, data, answer->length);
}
static void a_none(struct stoa_reply *reply) {
    ((struct answer *)reply->self)->found = false;
}
static void a_status(struct stoa_reply *reply, const char *text) {
    (void)reply;
    (void)text;
}
static void a_error(struct stoa_reply *reply, int code, const char *text) {
    (void)reply;
    fprintf(stderr, "error reply %d: %s\n", code, text);
}
static void a_integer(struct stoa_reply *reply, int64_t value) {
    (void)reply;
    (void)value;
}
static void a_array(struct stoa_reply *reply, size_t count) {
    (void)reply;
    (void)count;
}
static const struct stoa_reply_ops answer_ops = {a_status, a_error, a_integer, a_bulk,
                                                 a_none,   a_array, a_none};

static int get_key(struct tool *tool, uint64_t i, struct answer *answer) {
    char key[32];
    int key_length = snprintf(key, sizeof(key), "k%llu", (unsigned long long)i);
    struct stoa_command_argument argument = {(const uint8_t *)key, (size_t)key_length};
    memset(answer, 0, sizeof(*answer));
    answer->reply = (struct stoa_reply){&answer_ops, answer};
    return stoa_engine_query(tool->engine, stoa_env_real_ms(tool->env), STOA_OP_GET, &argument, 1,
                             &answer->reply);
}

/* Checks keys below acked exactly, and the keys after them (at most a batch or two were
 * written but not acknowledged) are absent or exact. */
static int command_check(const char *dir, uint64_t acked) {
    struct tool tool;
    if (tool_open(&tool, dir, STOA_ENGINE_DURABILITY_ALWAYS, 0) != STOA_OK) {
        return 1;
    }
    uint64_t present = 0;
    int status = 0;
    for (uint64_t i = 0; i < acked + 10000 && status == 0; i++) {
        struct answer answer;
        char expected[80];
        size_t expected_length = value_of(i, expected);
        get_key(&tool, i, &answer);
        bool exact = answer.found && answer.length == expected_length &&
                     memcmp(answer.value, expected, expected_length) == 0;
        if ((i < acked && !exact) || (answer.found && !exact)) {
            printf("mismatch at k%llu: %s\n", (unsigned long long)i,
                   answer.found ? "wrong value" : "acknowledged write missing");
            status = 1;
        }
        present += answer.found ? 1 : 0;
    }
    size_t keys = stoa_keyspace_count(stoa_engine_keyspace(tool.engine));
    if (status == 0 && keys != present) {
        printf("mismatch: %zu keys held, %llu expected\n", keys, (unsigned long long)present);
        status = 1;
    }
    if (status == 0) {
        printf("ok %llu\n", (unsigned long long)present);
    }
    tool_close(&tool);
    return status;
}

/* ---- benchmarks ---- */

static double seconds_since(struct tool *tool, int64_t start_ns) {
    return (double)(stoa_env_monotonic_ns(tool->env) - start_ns) / 1e9;
}

static long resident_bytes(void) {
    FILE *file = fopen("/proc/self/statm", "r");
    long pages = 0;
    long resident = 0;
    if (file != NULL) {
        if (fscanf(file, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        fclose(file);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static int fill(struct tool *tool, uint64_t count, int64_t stamp_ms) {
    for (uint64_t i = 0; i < count; i++) {
        if (set_key(tool, i, stamp_ms, 0) != STOA_OK) {
            return 1;
        }
    }
    return 0;
}

/* apply: SETs of distinct keys with no log (durability none): the engine's own speed. */
static int bench_apply(const char *dir, uint64_t count) {
    struct tool tool;
    if (tool_open(&tool, dir, STOA_ENGINE_DURABILITY_NONE, 0) != STOA_OK) {
        return 1;
    }
    int64_t start = stoa_env_monotonic_ns(tool.env);
    int status = fill(&tool, count, stoa_env_real_ms(tool.env));
    double seconds = seconds_since(&tool, start);
    printf("apply_set ops=%llu seconds=%.3f ops_per_s=%.0f\n", (unsigned long long)count, seconds,
           (double)count / seconds);
    tool_close(&tool);
    return status;
}

/* append: durable SETs, one flush (one fdatasync) per batch. */
static int bench_append(const char *dir, uint64_t count, uint64_t batch) {
    struct tool tool;
    if (tool_open(&tool, dir, STOA_ENGINE_DURABILITY_ALWAYS, 0) != STOA_OK) {
        return 1;
    }
    int64_t stamp = stoa_env_real_ms(tool.env);
    int64_t start = stoa_env_monotonic_ns(tool.env);
    for (uint64_t i = 0; i < count; i++) {
        if (set_key(&tool, i, stamp, 0) != STOA_OK) {
            return 1;
        }
        if ((i + 1) % batch == 0 && stoa_engine_flush(tool.engine) != STOA_OK) {
            return 1;
        }
    }
    if (stoa_engine_flush(tool.engine) != STOA_OK) {
        return 1;
    }
    double seconds = seconds_since(&tool, start);
    printf("durable_append batch=%llu ops=%llu seconds=%.3f appends_per_s=%.0f\n",
           (unsigned long long)batch, (unsigned long long)count, seconds, (double)count / seconds);
    tool_close(&tool);
    return 0;
}

static uint64_t snapshot_file_bytes(struct tool *tool, const char *dir) {
    struct stoa_engine_stats stats;
    stoa_engine_stats(tool->engine, &stats);
    char path[4096];
    snprintf(path, sizeof(path), "%s/snapshot/%020llu.snap", dir,
             (unsigned long long)stats.snapshot_index);
    struct stoa_env_file *file = NULL;
    uint64_t size = 0;
    if (tool->env->ops->file_open(tool->env, path, STOA_ENV_OPEN_READ, &file) == STOA_OK) {
        (void)tool->env->ops->file_size(file, &size);
        tool->env->ops->file_close(file);
    }
    return size;
}

/* snapshot: write count keys, time a background snapshot to completion, then time loading it
 * at open. */
static int bench_snapshot(const char *dir, uint64_t count) {
    struct tool tool;
    if (tool_open(&tool, dir, STOA_ENGINE_DURABILITY_NONE, 0) != STOA_OK ||
        fill(&tool, count, stoa_env_real_ms(tool.env)) != 0) {
        return 1;
    }
    int64_t start = stoa_env_monotonic_ns(tool.env);
    if (stoa_engine_snapshot_start(tool.engine) != STOA_OK) {
        return 1;
    }
    double fork_seconds = seconds_since(&tool, start);
    while (stoa_engine_busy(tool.engine)) {
        uv_run(&tool.loop, UV_RUN_ONCE);
    }
    double write_seconds = seconds_since(&tool, start);
    uint64_t bytes = snapshot_file_bytes(&tool, dir);
    tool_close(&tool);
    struct tool reopened;
    int64_t before_ns = (int64_t)uv_hrtime();
    if (tool_open(&reopened, dir, STOA_ENGINE_DURABILITY_NONE, 0) != STOA_OK) {
        return 1;
    }
    double load_seconds = (double)((int64_t)uv_hrtime() - before_ns) / 1e9;
    size_t keys = stoa_keyspace_count(stoa_engine_keyspace(reopened.engine));
    tool_close(&reopened);
    double megabytes = (double)bytes / (1024.0 * 1024.0);
    printf("snapshot keys=%llu bytes=%llu fork_ms=%.2f write_s=%.3f write_mb_per_s=%.1f "
           "load_s=%.3f load_mb_per_s=%.1f loaded_keys=%zu\n",
           (unsigned long long)count, (unsigned long long)bytes, fork_seconds * 1000, write_seconds,
           megabytes / write_seconds, load_seconds, megabytes / load_seconds, keys);
    return keys == count ? 0 : 1;
}

/* memory: count keys "key:<12 digits>" with 16-byte values, as redis-benchmark names them. */
static int bench_memory(const char *dir, uint64_t count) {
    struct tool tool;
    if (tool_open(&tool, dir, STOA_ENGINE_DURABILITY_NONE, 0) != STOA_OK) {
        return 1;
    }
    long before = resident_bytes();
    int64_t stamp = stoa_env_real_ms(tool.env);
    static const uint8_t no_flags = 0;
    uint8_t expire[8];
    stoa_op_int64_put(expire, 0);
    for (uint64_t i = 0; i < count; i++) {
        char key[32];
        int key_length = snprintf(key, sizeof(key), "key:%012llu", (unsigned long long)i);
        static const char value[] = "0123456789abcdef";
        struct stoa_command_argument arguments[] = {{(const uint8_t *)key, (size_t)key_length},
                                                    {(const uint8_t *)value, 16},
                                                    {&no_flags, 1},
                                                    {expire, 8}};
        struct stoa_command command = {
            .opcode = STOA_OP_SET, .stamp_ms = stamp, .argument_count = 4, .arguments = arguments};
        uint64_t index = 0;
        if (stoa_engine_write(tool.engine, &command, NULL, &index) != STOA_OK) {
            return 1;
        }
    }
    long after = resident_bytes();
    size_t used = stoa_keyspace_used_bytes(stoa_engine_keyspace(tool.engine));
    printf("memory keys=%llu accounted_bytes=%zu accounted_per_key=%.1f rss_delta=%ld "
           "rss_per_key=%.1f\n",
           (unsigned long long)count, used, (double)used / (double)count, after - before,
           (double)(after - before) / (double)count);
    tool_close(&tool);
    return 0;
}

static uint64_t number(const char *text) {
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (end == text || *end != '\0') {
        fprintf(stderr, "not a number: %s\n", text);
        exit(2);
    }
    return (uint64_t)value;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "write") == 0) {
        return command_write(argv[2], argc > 3 ? number(argv[3]) : 0);
    }
    if (argc == 4 && strcmp(argv[1], "check") == 0) {
        return command_check(argv[2], number(argv[3]));
    }
    if (argc >= 5 && strcmp(argv[1], "bench") == 0) {
        const char *kind = argv[2];
        const char *dir = argv[3];
        uint64_t count = number(argv[4]);
        if (strcmp(kind, "apply") == 0) {
            return bench_apply(dir, count);
        }
        if (strcmp(kind, "append") == 0 && argc == 6) {
            return bench_append(dir, count, number(argv[5]));
        }
        if (strcmp(kind, "snapshot") == 0) {
            return bench_snapshot(dir, count);
        }
        if (strcmp(kind, "memory") == 0) {
            return bench_memory(dir, count);
        }
    }
    fprintf(stderr,
            "usage: stoa-engine-tool write DIR [COUNT] | check DIR ACKED |\n"
            "       bench apply|snapshot|memory DIR COUNT | bench append DIR COUNT BATCH\n");
    return 2;
}
