#include "engine/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine/session.h"
#include "engine/snapshot.h"
#include "engine/value_codec.h"
#include "engine/wal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/varint.h"

#define MODULE "engine"

/* Arguments decoded per record at first; grown (doubling) for records with more. */
#define ARGUMENTS_INITIAL 64
/* SCAN step while writing a snapshot: keys per call. */
#define SNAPSHOT_SCAN_COUNT 1024

struct stoa_engine {
    struct stoa_env *env;
    const struct stoa_log *log;
    char data_dir[STOA_PATH_BYTES_MAX];
    enum stoa_engine_durability durability;
    uint64_t snapshot_log_bytes;
    size_t memory_bytes_max;
    enum stoa_keyspace_eviction eviction;

    struct stoa_keyspace keyspace;
    struct stoa_session_table sessions;
    struct stoa_apply_state apply;
    struct stoa_wal *wal; /* NULL with durability "none" */
    bool external;        /* the keys live in options.backend, not in keyspace */

    struct stoa_buf record; /* the encoding of the command being written */
    struct stoa_command_argument *arguments;
    size_t argument_capacity;

    uint64_t applied_index;
    int64_t log_clock_ms; /* the newest stamp applied: the log's own time */
    int failure;
    uint64_t log_bytes_since_snapshot;

    bool snapshot_running;
    uint64_t snapshot_pending_index;
    int64_t snapshot_pending_ms;
    uint64_t snapshot_index;          /* newest installed or loaded */
    uint64_t snapshot_previous_index; /* the fallback kept beside it */
    int64_t snapshot_created_ms;

    struct stoa_engine_stats counters;
};

__attribute__((format(printf, 2, 3))) static void set_error(struct stoa_engine_error *error,
                                                            const char *format, ...) {
    if (error != NULL) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(error->message, sizeof(error->message), format, arguments);
        va_end(arguments);
    }
}

/* ---- the log's clock ---- */

/* The time a command runs at: its stamp, or the log's clock if that is later, so time never
 * goes back along the log even when a new leader's clock is behind an old one's. Reclaiming
 * expired keys is bounded by the same clock (stoa_keyspace_reclaim_horizon_set), so every
 * replica that applied the same prefix of the log sees the same keys, whatever its own wall
 * clock, its reads or its snapshots did. */
static struct stoa_command clocked(struct stoa_engine *engine, const struct stoa_command *command) {
    struct stoa_command timed = *command;
    if (timed.stamp_ms < engine->log_clock_ms) {
        timed.stamp_ms = engine->log_clock_ms;
    }
    return timed;
}

static void clock_advance(struct stoa_engine *engine, int64_t stamp_ms) {
    if (stamp_ms > engine->log_clock_ms) {
        engine->log_clock_ms = stamp_ms;
        stoa_keyspace_reclaim_horizon_set(&engine->keyspace, stamp_ms);
    }
}

/* ---- snapshot records ---- */

/* A session is stored as a record of type STOA_ENGINE_SNAPSHOT_SESSION_TYPE: the key is the
 * client id (8 bytes little-endian); the value is varint sequence, varint activity index,
 * then the recorded reply. */
static int restore_session(struct stoa_engine *engine, const struct stoa_snapshot_record *record) {
    if (record->key_length != 8) {
        return STOA_ERR_MALFORMED;
    }
    uint64_t client_id = 0;
    for (int i = 0; i < 8; i++) {
        client_id |= (uint64_t)record->key[i] << (8 * i);
    }
    uint64_t sequence = 0;
    uint64_t activity = 0;
    size_t used = 0;
    size_t offset = 0;
    if (stoa_varint_get(record->value, record->value_length, &sequence, &used) != STOA_OK) {
        return STOA_ERR_MALFORMED;
    }
    offset += used;
    if (stoa_varint_get(record->value + offset, record->value_length - offset, &activity, &used) !=
        STOA_OK) {
        return STOA_ERR_MALFORMED;
    }
    offset += used;
    return stoa_session_restore(&engine->sessions, client_id, sequence, activity,
                                record->value + offset, record->value_length - offset);
}

/* The log's clock is a record of type STOA_ENGINE_SNAPSHOT_CLOCK_TYPE with an empty key and
 * the clock as 8 bytes little-endian (snapshots written before it have none: clock 0). */
static int restore_clock(struct stoa_engine *engine, const struct stoa_snapshot_record *record) {
    if (record->key_length != 0 || record->value_length != 8) {
        return STOA_ERR_MALFORMED;
    }
    uint64_t raw = 0;
    for (int i = 0; i < 8; i++) {
        raw |= (uint64_t)record->value[i] << (8 * i);
    }
    if (raw > INT64_MAX) {
        return STOA_ERR_MALFORMED;
    }
    engine->log_clock_ms = 0;
    stoa_keyspace_reclaim_horizon_set(&engine->keyspace, 0);
    clock_advance(engine, (int64_t)raw);
    return STOA_OK;
}

static int restore_record(void *context, const struct stoa_snapshot_record *record) {
    struct stoa_engine *engine = context;
    if (record->type == STOA_ENGINE_SNAPSHOT_SESSION_TYPE) {
        return restore_session(engine, record);
    }
    if (record->type == STOA_ENGINE_SNAPSHOT_CLOCK_TYPE) {
        return restore_clock(engine, record);
    }
    struct stoa_value value;
    stoa_value_init(&value);
    int result = stoa_value_decode((enum stoa_value_type)record->type, record->value,
                                   record->value_length, &value);
    if (result != STOA_OK) {
        return result;
    }
    /* Expired keys are kept as they are: the keyspace hides them from reads and reclaims
     * them, and every replica loads the same state whatever its clock says. */
    result = stoa_keyspace_put(&engine->keyspace, 0, record->key, record->key_length, &value,
                               record->expire_at_ms);
    if (result != STOA_OK) {
        stoa_value_free(&value);
    }
    return result;
}

/* The state of a snapshot being written in the child. */
struct snapshot_walk {
    struct stoa_snapshot_writer *writer;
    struct stoa_buf value;
    int result;
};

static void append_key(void *context, const uint8_t *key, size_t key_length,
                       const struct stoa_value *value, int64_t expire_at_ms) {
    struct snapshot_walk *walk = context;
    if (walk->result != STOA_OK) {
        return;
    }
    stoa_buf_reset(&walk->value);
    walk->result = stoa_value_encode(value, &walk->value);
    if (walk->result != STOA_OK) {
        return;
    }
    struct stoa_snapshot_record record = {.type = (uint8_t)value->type,
                                          .key = key,
                                          .key_length = key_length,
                                          .expire_at_ms = expire_at_ms,
                                          .value = walk->value.data,
                                          .value_length = walk->value.length};
    walk->result = stoa_snapshot_writer_append(walk->writer, &record);
}

static void append_session(void *context, uint64_t client_id, uint64_t sequence,
                           uint64_t activity_index, const uint8_t *reply, size_t reply_length) {
    struct snapshot_walk *walk = context;
    if (walk->result != STOA_OK) {
        return;
    }
    uint8_t key[8];
    uint8_t header[2 * STOA_VARINT_BYTES_MAX];
    for (int i = 0; i < 8; i++) {
        key[i] = (uint8_t)(client_id >> (8 * i));
    }
    size_t header_length = stoa_varint_put(header, sequence);
    header_length += stoa_varint_put(header + header_length, activity_index);
    stoa_buf_reset(&walk->value);
    walk->result = stoa_buf_append(&walk->value, header, header_length);
    if (walk->result == STOA_OK && reply_length > 0) {
        walk->result = stoa_buf_append(&walk->value, reply, reply_length);
    }
    if (walk->result == STOA_OK) {
        struct stoa_snapshot_record record = {.type = STOA_ENGINE_SNAPSHOT_SESSION_TYPE,
                                              .key = key,
                                              .key_length = sizeof(key),
                                              .value = walk->value.data,
                                              .value_length = walk->value.length};
        walk->result = stoa_snapshot_writer_append(walk->writer, &record);
    }
}

/* Writes the whole snapshot; runs in the forked child (or inline in a simulated env). */
static int write_snapshot(struct stoa_engine *engine) {
    struct snapshot_walk walk = {.result = STOA_OK};
    stoa_buf_init(&walk.value, STOA_SNAPSHOT_VALUE_BYTES_MAX);
    int result = stoa_snapshot_writer_open(engine->env, engine->log, engine->data_dir,
                                           engine->snapshot_pending_index, &walk.writer);
    if (result != STOA_OK) {
        stoa_buf_free(&walk.value);
        return result;
    }
    /* Keys are written as the log's clock sees them, not this node's wall clock: a key
     * expired by the wall clock may still be seen by the next command of the log. */
    uint8_t clock[8];
    for (int i = 0; i < 8; i++) {
        clock[i] = (uint8_t)((uint64_t)engine->log_clock_ms >> (8 * i));
    }
    struct stoa_snapshot_record clock_record = {
        .type = STOA_ENGINE_SNAPSHOT_CLOCK_TYPE, .value = clock, .value_length = sizeof(clock)};
    walk.result = stoa_snapshot_writer_append(walk.writer, &clock_record);
    uint64_t cursor = 0;
    while (walk.result == STOA_OK) {
        cursor = stoa_keyspace_scan(&engine->keyspace, engine->log_clock_ms, cursor,
                                    SNAPSHOT_SCAN_COUNT, append_key, &walk);
        if (cursor == 0) {
            break;
        }
    }
    if (walk.result == STOA_OK) {
        stoa_session_table_visit(&engine->sessions, append_session, &walk);
    }
    stoa_buf_free(&walk.value);
    if (walk.result != STOA_OK) {
        stoa_snapshot_writer_abort(walk.writer);
        return walk.result;
    }
    return stoa_snapshot_writer_finish(walk.writer);
}

static int snapshot_child(void *context) {
    int result = write_snapshot(context);
    /* An exit status is one byte: our error codes are small negatives. */
    return result == STOA_OK ? 0 : (-result) & 0xff;
}

static void snapshot_done(void *context, int status) {
    struct stoa_engine *engine = context;
    engine->snapshot_running = false;
    if (status != 0) {
        int code = status > 0 ? -status : status;
        STOA_LOG_WARN(engine->log, MODULE, "background snapshot failed",
                      STOA_FIELD_UINT("index", engine->snapshot_pending_index),
                      STOA_FIELD_ERR(code));
        return;
    }
    engine->snapshot_previous_index = engine->snapshot_index;
    engine->snapshot_index = engine->snapshot_pending_index;
    engine->snapshot_created_ms = engine->snapshot_pending_ms;
    engine->counters.snapshots_written++;
    STOA_LOG_INFO(engine->log, MODULE, "snapshot installed",
                  STOA_FIELD_UINT("index", engine->snapshot_index));
    /* Keep the log from the older kept snapshot on, so falling back to it still works. */
    if (engine->wal != NULL && engine->snapshot_previous_index > 0) {
        int result = stoa_wal_truncate_before(engine->wal, engine->snapshot_previous_index + 1);
        if (result != STOA_OK) {
            STOA_LOG_WARN(engine->log, MODULE, "log compaction failed", STOA_FIELD_ERR(result));
        }
    }
}

/* ---- recovery ---- */

static int load_snapshot(struct stoa_engine *engine, struct stoa_engine_error *error) {
    struct stoa_snapshot_info info;
    int result = stoa_snapshot_load(engine->env, engine->log, engine->data_dir, restore_record,
                                    engine, &info);
    if (result == STOA_ERR_NOT_FOUND) {
        return STOA_OK;
    }
    if (result != STOA_OK) {
        set_error(error, "cannot load the snapshot in %s/snapshot", engine->data_dir);
        return result;
    }
    engine->applied_index = info.index;
    engine->snapshot_index = info.index;
    engine->snapshot_created_ms = info.created_ms;
    return STOA_OK;
}

/* Decodes a record into engine->arguments, growing the array for records with many. */
static int decode_record(struct stoa_engine *engine, const uint8_t *payload, size_t length,
                         struct stoa_command *command) {
    return stoa_command_decode_growing(payload, length, command, &engine->arguments,
                                       &engine->argument_capacity);
}

static int replay_record(void *context, uint64_t index, const uint8_t *payload, size_t length) {
    struct stoa_engine *engine = context;
    struct stoa_command command;
    int result = decode_record(engine, payload, length, &command);
    if (result != STOA_OK) {
        /* The record's checksum was good, so this is a bug or a newer format: stop. */
        STOA_LOG_ERROR(engine->log, MODULE, "log record does not decode",
                       STOA_FIELD_UINT("index", index), STOA_FIELD_ERR(result));
        return result == STOA_ERR_NOMEM ? result : STOA_ERR_CORRUPT;
    }
    struct stoa_command timed = clocked(engine, &command);
    result = stoa_apply(&engine->apply, index, &timed, NULL);
    if (result == STOA_ERR_NOMEM) {
        return result; /* applying it later would diverge: stop the open */
    }
    clock_advance(engine, timed.stamp_ms);
    engine->applied_index = index;
    engine->counters.recovered_records++;
    return STOA_OK;
}

static enum stoa_wal_durability wal_durability(enum stoa_engine_durability durability) {
    return durability == STOA_ENGINE_DURABILITY_EVERYSEC ? STOA_WAL_DURABILITY_EVERYSEC
                                                         : STOA_WAL_DURABILITY_ALWAYS;
}

static int open_log(struct stoa_engine *engine, const struct stoa_engine_options *options,
                    struct stoa_engine_error *error) {
    char directory[STOA_PATH_BYTES_MAX];
    int length = snprintf(directory, sizeof(directory), "%s/log", engine->data_dir);
    if (length < 0 || (size_t)length >= sizeof(directory)) {
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_wal_options wal_options = {.directory = directory,
                                           .durability = wal_durability(options->durability),
                                           .first_index = engine->applied_index + 1,
                                           .segment_bytes_max = options->segment_bytes_max,
                                           .truncate_corrupt = options->truncate_corrupt,
                                           .log = engine->log};
    struct stoa_wal_recovery recovery;
    struct stoa_wal_error wal_error;
    int result = stoa_wal_open(engine->env, &wal_options, &engine->wal, &recovery, &wal_error);
    if (result != STOA_OK) {
        set_error(error, "%s", wal_error.message);
        return result;
    }
    if (recovery.first_index > engine->applied_index + 1 ||
        recovery.last_index < engine->applied_index) {
        /* The log does not continue the snapshot: records in between are missing. */
        set_error(error, "the log in %s/log does not continue the newest snapshot",
                  engine->data_dir);
        return STOA_ERR_CORRUPT;
    }
    if (recovery.torn_bytes > 0) {
        STOA_LOG_WARN(engine->log, MODULE, "cut a torn log tail",
                      STOA_FIELD_UINT("bytes", recovery.torn_bytes));
    }
    result = stoa_wal_replay(engine->wal, engine->applied_index + 1, replay_record, engine);
    if (result != STOA_OK) {
        set_error(error, "cannot replay the log in %s/log", engine->data_dir);
    }
    return result;
}

static void engine_free(struct stoa_engine *engine) {
    if (engine->wal != NULL) {
        stoa_wal_close(engine->wal);
    }
    stoa_apply_state_free(&engine->apply);
    stoa_session_table_free(&engine->sessions);
    stoa_keyspace_free(&engine->keyspace);
    stoa_buf_free(&engine->record);
    stoa_free(engine->arguments);
    stoa_free(engine);
}

static int engine_new(struct stoa_env *env, const struct stoa_engine_options *options,
                      struct stoa_engine **out) {
    struct stoa_engine *engine = stoa_calloc(1, sizeof(*engine));
    if (engine == NULL) {
        return STOA_ERR_NOMEM;
    }
    engine->arguments = stoa_alloc(ARGUMENTS_INITIAL * sizeof(*engine->arguments));
    if (engine->arguments == NULL) {
        stoa_free(engine);
        return STOA_ERR_NOMEM;
    }
    engine->argument_capacity = ARGUMENTS_INITIAL;
    engine->env = env;
    engine->log = options->log;
    memcpy(engine->data_dir, options->data_dir, strlen(options->data_dir) + 1);
    engine->durability = options->durability;
    engine->snapshot_log_bytes = options->snapshot_log_bytes;
    engine->memory_bytes_max = options->memory_bytes_max;
    engine->eviction = options->eviction;
    uint64_t seeds[2];
    stoa_env_random_bytes(env, seeds, sizeof(seeds));
    /* No limit while loading: the data was accepted under the limit it had then. */
    struct stoa_keyspace_options keyspace_options = {.seed = seeds[0]};
    stoa_keyspace_init(&engine->keyspace, &keyspace_options);
    stoa_keyspace_reclaim_horizon_set(&engine->keyspace, 0); /* the log's clock: 0 so far */
    stoa_session_table_init(&engine->sessions, STOA_SESSIONS_MAX, seeds[1]);
    engine->external = options->backend != NULL;
    if (engine->external) {
        STOA_ASSERT(options->durability == STOA_ENGINE_DURABILITY_NONE);
        engine->snapshot_log_bytes = 0;
    }
    stoa_apply_state_init(&engine->apply,
                          engine->external ? options->backend
                                           : stoa_keyspace_backend(&engine->keyspace),
                          &engine->sessions);
    stoa_buf_init(&engine->record, STOA_COMMAND_BYTES_MAX);
    *out = engine;
    return STOA_OK;
}

int stoa_engine_open(struct stoa_env *env, const struct stoa_engine_options *options,
                     struct stoa_engine **engine_out, struct stoa_engine_error *error) {
    STOA_ASSERT(env != NULL && options != NULL && options->data_dir != NULL);
    STOA_ASSERT(engine_out != NULL);
    if (strlen(options->data_dir) + 32 >= STOA_PATH_BYTES_MAX) {
        set_error(error, "data directory path too long: %s", options->data_dir);
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_engine *engine = NULL;
    int result = engine_new(env, options, &engine);
    if (result != STOA_OK) {
        set_error(error, "%s", stoa_err_message(result));
        return result;
    }
    result = engine->external ? STOA_OK : load_snapshot(engine, error);
    if (result == STOA_OK && options->durability != STOA_ENGINE_DURABILITY_NONE) {
        result = open_log(engine, options, error);
    }
    if (result != STOA_OK) {
        engine_free(engine);
        return result;
    }
    stoa_keyspace_limit_set(&engine->keyspace, engine->memory_bytes_max, engine->eviction);
    STOA_LOG_INFO(engine->log, MODULE, "engine open", STOA_FIELD_STR("dir", engine->data_dir),
                  STOA_FIELD_UINT("snapshot_index", engine->snapshot_index),
                  STOA_FIELD_UINT("applied_index", engine->applied_index),
                  STOA_FIELD_UINT("replayed", engine->counters.recovered_records),
                  STOA_FIELD_UINT("keys", stoa_keyspace_count(&engine->keyspace)));
    *engine_out = engine;
    return STOA_OK;
}

int stoa_engine_reload(struct stoa_engine *engine, struct stoa_engine_error *error) {
    STOA_ASSERT(engine != NULL && engine->wal == NULL && !engine->snapshot_running);
    stoa_apply_state_free(&engine->apply);
    stoa_session_table_free(&engine->sessions);
    stoa_keyspace_free(&engine->keyspace);
    uint64_t seeds[2];
    stoa_env_random_bytes(engine->env, seeds, sizeof(seeds));
    struct stoa_keyspace_options keyspace_options = {.seed = seeds[0]};
    stoa_keyspace_init(&engine->keyspace, &keyspace_options);
    stoa_keyspace_reclaim_horizon_set(&engine->keyspace, 0); /* the log's clock: 0 so far */
    stoa_session_table_init(&engine->sessions, STOA_SESSIONS_MAX, seeds[1]);
    stoa_apply_state_init(&engine->apply, stoa_keyspace_backend(&engine->keyspace),
                          &engine->sessions);
    engine->applied_index = 0;
    engine->log_clock_ms = 0;
    engine->snapshot_index = 0;
    engine->log_bytes_since_snapshot = 0;
    int result = load_snapshot(engine, error);
    stoa_keyspace_limit_set(&engine->keyspace, engine->memory_bytes_max, engine->eviction);
    STOA_LOG_INFO(engine->log, MODULE, "engine reloaded from its snapshot",
                  STOA_FIELD_UINT("snapshot_index", engine->snapshot_index),
                  STOA_FIELD_UINT("keys", stoa_keyspace_count(&engine->keyspace)),
                  STOA_FIELD_ERR(result));
    return result;
}

void stoa_engine_close(struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL && !engine->snapshot_running);
    if (engine->failure == STOA_OK && engine->wal != NULL) {
        (void)stoa_wal_sync(engine->wal);
    }
    engine_free(engine);
}

/* ---- writes ---- */

static void reply_refused(struct stoa_engine *engine, struct stoa_reply *reply) {
    if (reply == NULL) {
        return;
    }
    char text[STOA_REPLY_TEXT_BYTES_MAX];
    snprintf(text, sizeof(text), "ERR writes refused: the log failed (%s); restart the node",
             stoa_err_message(engine->failure));
    reply->ops->error(reply, engine->failure, text);
}

static void fail(struct stoa_engine *engine, int result, const char *what) {
    if (engine->failure == STOA_OK) {
        engine->failure = result == STOA_ERR_FSYNC ? STOA_ERR_FSYNC : STOA_ERR_IO;
        STOA_LOG_ERROR(engine->log, MODULE, "the log failed: refusing writes from now on",
                       STOA_FIELD_STR("during", what), STOA_FIELD_ERR(result));
    }
}

/* Encodes command and appends it to the log; sets *index. */
static int log_command(struct stoa_engine *engine, const struct stoa_command *command,
                       uint64_t *index) {
    size_t length = stoa_command_encoded_length(command);
    if (engine->wal == NULL) {
        /* No log (durability none): nothing to encode. The length still counts toward the
         * automatic snapshot, which is the only copy such a node keeps. */
        engine->log_bytes_since_snapshot += length;
        *index = engine->applied_index + 1;
        return STOA_OK;
    }
    stoa_buf_reset(&engine->record);
    int result = stoa_buf_reserve(&engine->record, length);
    if (result == STOA_OK) {
        result = stoa_command_encode(command, engine->record.data, length, &length);
    }
    if (result != STOA_OK) {
        return result;
    }
    engine->log_bytes_since_snapshot += length;
    engine->counters.log_bytes += length;
    result = stoa_wal_append(engine->wal, engine->record.data, length, index);
    if (result == STOA_ERR_FULL) {
        /* The batch is full: write it out now (its replies wait for the sync anyway). */
        result = stoa_wal_flush(engine->wal);
        if (result != STOA_OK) {
            fail(engine, result, "flush of a full batch");
            return engine->failure;
        }
        result = stoa_wal_append(engine->wal, engine->record.data, length, index);
    }
    return result;
}

int stoa_engine_write(struct stoa_engine *engine, const struct stoa_command *command,
                      struct stoa_reply *reply, uint64_t *index) {
    STOA_ASSERT(engine != NULL && command != NULL && index != NULL);
    if (engine->failure != STOA_OK) {
        reply_refused(engine, reply);
        return engine->failure;
    }
    struct stoa_command timed = clocked(engine, command);
    command = &timed;
    uint64_t record_index = 0;
    int result = log_command(engine, command, &record_index);
    if (result != STOA_OK) {
        if (engine->failure == STOA_OK && reply != NULL) {
            reply->ops->error(reply, result,
                              result == STOA_ERR_NOMEM ? "OOM cannot log the command"
                                                       : "ERR command too large to log");
        } else {
            reply_refused(engine, reply);
        }
        return result;
    }
    STOA_ASSERT(record_index == engine->applied_index + 1);
    result = stoa_apply(&engine->apply, record_index, command, reply);
    if (result == STOA_ERR_NOMEM && engine->wal != NULL) {
        /* Applying it again at recovery might succeed: take the record back out. */
        int undo = stoa_wal_truncate_after(engine->wal, record_index - 1);
        if (undo != STOA_OK) {
            fail(engine, undo, "taking back a record");
        }
        return result;
    }
    if (result == STOA_ERR_NOMEM) {
        return result;
    }
    clock_advance(engine, command->stamp_ms);
    engine->applied_index = record_index;
    engine->counters.writes++;
    *index = record_index;
    return result;
}

int stoa_engine_apply_chosen(struct stoa_engine *engine, uint64_t slot, uint32_t position,
                             const struct stoa_command *command, struct stoa_reply *reply) {
    STOA_ASSERT(engine != NULL && command != NULL && engine->wal == NULL);
    STOA_ASSERT(slot >= engine->applied_index && slot < (1ULL << 47));
    STOA_ASSERT(position < STOA_ENGINE_BATCH_COMMANDS_MAX);
    engine->log_bytes_since_snapshot += stoa_command_encoded_length(command);
    /* The apply index of a command names it uniquely and in order (session ids and
     * activity are log indexes): slot and position within the entry. */
    uint64_t index = (slot << 16) | position;
    struct stoa_command timed = clocked(engine, command);
    int result = stoa_apply(&engine->apply, index, &timed, reply);
    if (result != STOA_ERR_NOMEM) {
        clock_advance(engine, timed.stamp_ms);
    }
    engine->applied_index = slot;
    engine->counters.writes++;
    return result;
}

void stoa_engine_applied_set(struct stoa_engine *engine, uint64_t slot) {
    STOA_ASSERT(engine != NULL && engine->wal == NULL && slot >= engine->applied_index);
    engine->applied_index = slot;
}

int stoa_engine_query(struct stoa_engine *engine, int64_t now_ms, uint32_t opcode,
                      const struct stoa_command_argument *arguments, size_t count,
                      struct stoa_reply *reply) {
    STOA_ASSERT(engine != NULL && reply != NULL);
    return stoa_query(&engine->apply, now_ms, opcode, arguments, count, reply);
}

int stoa_engine_flush(struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    if (engine->failure != STOA_OK || engine->wal == NULL) {
        return engine->failure;
    }
    uint64_t before = stoa_wal_durable_index(engine->wal);
    int64_t start_ns = stoa_env_monotonic_ns(engine->env);
    int result = stoa_wal_flush(engine->wal);
    if (result != STOA_OK) {
        fail(engine, result, "flush");
        return engine->failure;
    }
    if (stoa_wal_durable_index(engine->wal) != before) {
        engine->counters.flushes++;
        stoa_histogram_observe(&engine->counters.sync_latency,
                               (uint64_t)(stoa_env_monotonic_ns(engine->env) - start_ns) / 1000);
    }
    return STOA_OK;
}

uint64_t stoa_engine_durable_index(const struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    return engine->wal != NULL ? stoa_wal_durable_index(engine->wal) : engine->applied_index;
}

/* ---- periodic work and snapshots ---- */

int stoa_engine_snapshot_start(struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    if (engine->external) {
        return STOA_ERR_UNSUPPORTED; /* the external store keeps its own data */
    }
    if (engine->snapshot_running) {
        return STOA_ERR_BUSY;
    }
    if (engine->wal != NULL && engine->failure == STOA_OK) {
        /* The snapshot must never be ahead of the durable log. */
        int result = stoa_wal_sync(engine->wal);
        if (result != STOA_OK) {
            fail(engine, result, "sync before a snapshot");
        }
    }
    if (engine->failure != STOA_OK) {
        return engine->failure;
    }
    engine->snapshot_pending_index = engine->applied_index;
    engine->snapshot_pending_ms = stoa_env_real_ms(engine->env);
    engine->snapshot_running = true;
    engine->log_bytes_since_snapshot = 0;
    int result =
        engine->env->ops->run_in_child(engine->env, snapshot_child, engine, snapshot_done, engine);
    if (result != STOA_OK) {
        engine->snapshot_running = false;
        STOA_LOG_WARN(engine->log, MODULE, "cannot start a snapshot", STOA_FIELD_ERR(result));
    }
    return result;
}

int64_t stoa_engine_log_clock(const struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    return engine->log_clock_ms;
}

struct stoa_backend *stoa_engine_keyspace_backend(struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    return engine->external ? NULL : stoa_keyspace_backend(&engine->keyspace);
}

void stoa_engine_clock_advance(struct stoa_engine *engine, int64_t now_ms) {
    STOA_ASSERT(engine != NULL);
    clock_advance(engine, now_ms);
}

int stoa_engine_tick(struct stoa_engine *engine, int64_t now_ms, size_t max_expire) {
    STOA_ASSERT(engine != NULL);
    if (max_expire > 0) {
        (void)stoa_keyspace_expire_step(&engine->keyspace, now_ms, max_expire);
    }
    if (engine->wal != NULL && engine->failure == STOA_OK) {
        int result = stoa_wal_tick(engine->wal);
        if (result != STOA_OK) {
            fail(engine, result, "everysec sync");
            return engine->failure;
        }
    }
    if (engine->snapshot_log_bytes > 0 && !engine->snapshot_running &&
        engine->log_bytes_since_snapshot >= engine->snapshot_log_bytes) {
        return stoa_engine_snapshot_start(engine);
    }
    return engine->failure;
}

bool stoa_engine_busy(const struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    return engine->snapshot_running;
}

void stoa_engine_stats(const struct stoa_engine *engine, struct stoa_engine_stats *stats) {
    STOA_ASSERT(engine != NULL && stats != NULL);
    *stats = engine->counters;
    stats->applied_index = engine->applied_index;
    stats->durable_index = stoa_engine_durable_index(engine);
    stats->snapshot_index = engine->snapshot_index;
    stats->snapshot_created_ms = engine->snapshot_created_ms;
    stats->snapshot_running = engine->snapshot_running;
    stats->failure = engine->failure;
}

const struct stoa_keyspace *stoa_engine_keyspace(const struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    return &engine->keyspace;
}

size_t stoa_engine_memory_limit(const struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    return engine->memory_bytes_max;
}

enum stoa_keyspace_eviction stoa_engine_eviction(const struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    return engine->eviction;
}

void stoa_engine_memory_limit_set(struct stoa_engine *engine, size_t memory_bytes_max,
                                  enum stoa_keyspace_eviction eviction) {
    STOA_ASSERT(engine != NULL);
    engine->memory_bytes_max = memory_bytes_max;
    engine->eviction = eviction;
    stoa_keyspace_limit_set(&engine->keyspace, memory_bytes_max, eviction);
}

enum stoa_engine_durability stoa_engine_durability(const struct stoa_engine *engine) {
    STOA_ASSERT(engine != NULL);
    return engine->durability;
}
