#include "engine/snapshot.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The streaming state's layout, so it can live on the stack or in a stoa_alloc'd block
 * instead of coming from XXH3_createState's own malloc. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/bytes.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/varint.h"

/* The layout (docs/formats/snapshot.md). Multi-byte integers are little-endian. */
#define HEADER_BYTES 40
#define HEADER_CHECKED_BYTES 32 /* the header checksum covers the bytes before it */
#define TRAILER_BYTES 24
#define TRAILER_CHECKED_BYTES 16 /* the file checksum covers everything before it */
#define RECORD_BYTES_MIN 4       /* type, key length, expiry and value length: a byte each */
#define INDEX_DIGITS 20          /* UINT64_MAX has 20 decimal digits */
#define SUFFIX ".snap"
#define TEMPORARY_SUFFIX ".snap.tmp"
#define DIRECTORY_NAME "snapshot"
#define HASH_ALIGNMENT 64 /* XXH3_state_t's accumulators are 64-byte aligned */
#define MODULE "snapshot"

static const uint8_t header_magic[8] = {'S', 'T', 'O', 'A', 'S', 'N', 'A', 'P'};
static const uint8_t trailer_magic[8] = {'S', 'T', 'O', 'A', 'T', 'A', 'I', 'L'};

_Static_assert(HEADER_BYTES + TRAILER_BYTES <= STOA_SNAPSHOT_IO_BYTES, "fits one chunk");

/* ---- bytes and names ---- */

/* <data_dir>/snapshot into out (STOA_PATH_BYTES_MAX + 1 bytes). */
static int directory_path(const char *data_dir, char *out) {
    int length = snprintf(out, STOA_PATH_BYTES_MAX + 1, "%s/" DIRECTORY_NAME, data_dir);
    return length > 0 && length <= STOA_PATH_BYTES_MAX ? STOA_OK : STOA_ERR_TOO_LARGE;
}

/* <directory>/<index, 20 digits><suffix> into out (STOA_PATH_BYTES_MAX + 1 bytes). */
static int file_path(const char *directory, uint64_t index, const char *suffix, char *out) {
    int length =
        snprintf(out, STOA_PATH_BYTES_MAX + 1, "%s/%020" PRIu64 "%s", directory, index, suffix);
    return length > 0 && length <= STOA_PATH_BYTES_MAX ? STOA_OK : STOA_ERR_TOO_LARGE;
}

enum name_kind {
    NAME_OTHER,     /* not ours: left alone */
    NAME_SNAPSHOT,  /* <index>.snap */
    NAME_TEMPORARY, /* <index>.snap.tmp */
};

/* Exactly 20 decimal digits (no overflow), then ".snap" or ".snap.tmp", then the end. */
static enum name_kind parse_name(const char *name, uint64_t *index) {
    uint64_t value = 0;
    for (size_t i = 0; i < INDEX_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') {
            return NAME_OTHER;
        }
        uint64_t digit = (uint64_t)(name[i] - '0');
        if (value > (UINT64_MAX - digit) / 10) {
            return NAME_OTHER;
        }
        value = value * 10 + digit;
    }
    const char *suffix = name + INDEX_DIGITS;
    enum name_kind kind = NAME_OTHER;
    if (strcmp(suffix, SUFFIX) == 0) {
        kind = NAME_SNAPSHOT;
    } else if (strcmp(suffix, TEMPORARY_SUFFIX) == 0) {
        kind = NAME_TEMPORARY;
    }
    if (kind != NAME_OTHER) {
        *index = value;
    }
    return kind;
}

/* ---- listing the directory ---- */

/* What one listing of the directory found: the newest snapshot indexes, and (when asked) up
 * to a batch of files to remove. */
struct listing {
    uint64_t newest[STOA_SNAPSHOT_CANDIDATES_MAX]; /* descending */
    size_t newest_count;
    bool collect_victims;
    uint64_t keep_from; /* snapshots below this index are victims, as is every .tmp */
    uint64_t victims[STOA_SNAPSHOT_REMOVE_BATCH];
    bool victim_temporary[STOA_SNAPSHOT_REMOVE_BATCH];
    size_t victim_count;
};

/* Keeps the STOA_SNAPSHOT_CANDIDATES_MAX highest indexes, highest first. */
static void listing_add_newest(struct listing *listing, uint64_t index) {
    size_t count = listing->newest_count;
    if (count == STOA_SNAPSHOT_CANDIDATES_MAX) {
        if (index <= listing->newest[count - 1]) {
            return;
        }
        count--; /* the lowest falls off */
    }
    size_t at = count;
    while (at > 0 && listing->newest[at - 1] < index) {
        listing->newest[at] = listing->newest[at - 1];
        at--;
    }
    listing->newest[at] = index;
    listing->newest_count = count + 1;
}

static int on_listed(void *context, const char *name) {
    struct listing *listing = context;
    uint64_t index = 0;
    enum name_kind kind = parse_name(name, &index);
    if (kind == NAME_OTHER) {
        return 0;
    }
    if (kind == NAME_SNAPSHOT) {
        listing_add_newest(listing, index);
    }
    bool victim = kind == NAME_TEMPORARY || index < listing->keep_from;
    if (!listing->collect_victims || !victim) {
        return 0;
    }
    listing->victims[listing->victim_count] = index;
    listing->victim_temporary[listing->victim_count] = kind == NAME_TEMPORARY;
    listing->victim_count++;
    return listing->victim_count == STOA_SNAPSHOT_REMOVE_BATCH ? 1 : 0; /* full: stop here */
}

static int list(struct stoa_env *env, const char *directory, struct listing *listing) {
    return env->ops->list_dir(env, directory, on_listed, listing);
}

/* ---- writing ---- */

struct stoa_snapshot_writer {
    struct stoa_env *env;
    const struct stoa_log *log;
    struct stoa_env_file *file;
    void *hash_block;   /* owned; hash points into it, aligned */
    XXH3_state_t *hash; /* over every byte flushed so far */
    uint8_t *buffer;    /* STOA_SNAPSHOT_IO_BYTES, owned */
    size_t buffered;    /* bytes in buffer, to be written at offset */
    uint64_t offset;
    uint64_t index;
    uint64_t record_count;
    int status; /* the first write error; sticky */
    char directory[STOA_PATH_BYTES_MAX + 1];
    char temporary_path[STOA_PATH_BYTES_MAX + 1];
    char final_path[STOA_PATH_BYTES_MAX + 1];
};

static void writer_free(struct stoa_snapshot_writer *writer) {
    if (writer->file != NULL) {
        writer->env->ops->file_close(writer->file);
    }
    stoa_free(writer->buffer);
    stoa_free(writer->hash_block);
    stoa_free(writer);
}

/* Hashes and writes the buffered bytes. */
static int flush(struct stoa_snapshot_writer *writer) {
    if (writer->buffered == 0) {
        return STOA_OK;
    }
    XXH3_64bits_update(writer->hash, writer->buffer, writer->buffered);
    int status = writer->env->ops->file_pwrite(writer->file, writer->buffer, writer->buffered,
                                               writer->offset);
    if (status != STOA_OK) {
        return status;
    }
    writer->offset += writer->buffered;
    writer->buffered = 0;
    return STOA_OK;
}

/* Copies length bytes into the buffer, writing it out each time it fills. */
static int put(struct stoa_snapshot_writer *writer, const void *data, size_t length) {
    const uint8_t *bytes = data;
    while (length > 0) {
        if (writer->buffered == STOA_SNAPSHOT_IO_BYTES) {
            int status = flush(writer);
            if (status != STOA_OK) {
                return status;
            }
        }
        size_t take = STOA_SNAPSHOT_IO_BYTES - writer->buffered;
        take = take < length ? take : length;
        memcpy(writer->buffer + writer->buffered, bytes, take);
        writer->buffered += take;
        bytes += take;
        length -= take;
    }
    return STOA_OK;
}

static int put_header(struct stoa_snapshot_writer *writer, int64_t created_ms) {
    uint8_t header[HEADER_BYTES];
    memcpy(header, header_magic, sizeof(header_magic));
    stoa_bytes_put_u32(header + 8, STOA_SNAPSHOT_FORMAT_VERSION);
    stoa_bytes_put_u32(header + 12, 0); /* reserved */
    stoa_bytes_put_u64(header + 16, writer->index);
    stoa_bytes_put_u64(header + 24, (uint64_t)created_ms);
    stoa_bytes_put_u64(header + 32, XXH3_64bits(header, HEADER_CHECKED_BYTES));
    return put(writer, header, sizeof(header));
}

/* The magic and record count, then the checksum of every byte before it. */
static int put_trailer(struct stoa_snapshot_writer *writer) {
    uint8_t trailer[TRAILER_BYTES];
    memcpy(trailer, trailer_magic, sizeof(trailer_magic));
    stoa_bytes_put_u64(trailer + 8, writer->record_count);
    int status = put(writer, trailer, TRAILER_CHECKED_BYTES);
    if (status == STOA_OK) {
        status = flush(writer);
    }
    if (status == STOA_OK) {
        stoa_bytes_put_u64(trailer + TRAILER_CHECKED_BYTES, XXH3_64bits_digest(writer->hash));
        status = put(writer, trailer + TRAILER_CHECKED_BYTES, 8);
    }
    return status == STOA_OK ? flush(writer) : status;
}

/* Makes the snapshot directory (and its name in data_dir durable), and refuses an index
 * below the newest installed snapshot: retention would remove the new one at once. */
static int prepare_directory(struct stoa_env *env, const char *data_dir, const char *directory,
                             uint64_t index) {
    int status = env->ops->mkdir(env, directory);
    if (status == STOA_OK) {
        status = env->ops->sync_dir(env, data_dir);
    }
    struct listing listing = {0};
    if (status == STOA_OK) {
        status = list(env, directory, &listing);
    }
    if (status == STOA_OK && listing.newest_count > 0 && listing.newest[0] > index) {
        status = STOA_ERR_EXISTS;
    }
    return status;
}

static int writer_make(struct stoa_env *env, const struct stoa_log *log, uint64_t index,
                       struct stoa_snapshot_writer **writer_out) {
    struct stoa_snapshot_writer *writer = stoa_alloc(sizeof(*writer));
    if (writer == NULL) {
        return STOA_ERR_NOMEM;
    }
    memset(writer, 0, sizeof(*writer));
    writer->env = env;
    writer->log = log;
    writer->index = index;
    writer->buffer = stoa_alloc(STOA_SNAPSHOT_IO_BYTES);
    writer->hash_block = stoa_alloc(sizeof(XXH3_state_t) + HASH_ALIGNMENT);
    if (writer->buffer == NULL || writer->hash_block == NULL) {
        writer_free(writer);
        return STOA_ERR_NOMEM;
    }
    uintptr_t aligned =
        ((uintptr_t)writer->hash_block + HASH_ALIGNMENT - 1) & ~(uintptr_t)(HASH_ALIGNMENT - 1);
    writer->hash = (XXH3_state_t *)aligned;
    XXH3_INITSTATE(writer->hash);
    XXH3_64bits_reset(writer->hash);
    *writer_out = writer;
    return STOA_OK;
}

int stoa_snapshot_writer_open(struct stoa_env *env, const struct stoa_log *log,
                              const char *data_dir, uint64_t index,
                              struct stoa_snapshot_writer **writer_out) {
    STOA_ASSERT(env != NULL && data_dir != NULL && writer_out != NULL);
    struct stoa_snapshot_writer *writer = NULL;
    int status = writer_make(env, log, index, &writer);
    if (status != STOA_OK) {
        return status;
    }
    status = directory_path(data_dir, writer->directory);
    if (status == STOA_OK) {
        status = file_path(writer->directory, index, TEMPORARY_SUFFIX, writer->temporary_path);
    }
    if (status == STOA_OK) {
        status = file_path(writer->directory, index, SUFFIX, writer->final_path);
    }
    if (status == STOA_OK) {
        status = prepare_directory(env, data_dir, writer->directory, index);
    }
    if (status == STOA_OK) {
        unsigned flags = STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_TRUNCATE;
        status = env->ops->file_open(env, writer->temporary_path, flags, &writer->file);
    }
    if (status == STOA_OK) {
        int64_t created_ms = stoa_env_real_ms(env);
        status = put_header(writer, created_ms > 0 ? created_ms : 0);
    }
    if (status != STOA_OK) {
        if (writer->file != NULL) {
            (void)env->ops->unlink(env, writer->temporary_path);
        }
        writer_free(writer);
        return status;
    }
    *writer_out = writer;
    return STOA_OK;
}

int stoa_snapshot_writer_append(struct stoa_snapshot_writer *writer,
                                const struct stoa_snapshot_record *record) {
    STOA_ASSERT(writer != NULL && record != NULL && record->expire_at_ms >= 0);
    STOA_ASSERT(record->key != NULL || record->key_length == 0);
    STOA_ASSERT(record->value != NULL || record->value_length == 0);
    if (writer->status != STOA_OK) {
        return writer->status;
    }
    if (record->key_length > STOA_SNAPSHOT_KEY_BYTES_MAX ||
        record->value_length > STOA_SNAPSHOT_VALUE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    uint8_t head[1 + STOA_VARINT_BYTES_MAX];
    head[0] = record->type;
    size_t head_length = 1 + stoa_varint_put(head + 1, record->key_length);
    uint8_t middle[2 * STOA_VARINT_BYTES_MAX];
    size_t middle_length = stoa_varint_put(middle, (uint64_t)record->expire_at_ms);
    middle_length += stoa_varint_put(middle + middle_length, record->value_length);
    int status = put(writer, head, head_length);
    if (status == STOA_OK) {
        status = put(writer, record->key, record->key_length);
    }
    if (status == STOA_OK) {
        status = put(writer, middle, middle_length);
    }
    if (status == STOA_OK) {
        status = put(writer, record->value, record->value_length);
    }
    if (status != STOA_OK) {
        writer->status = status;
        return status;
    }
    writer->record_count++;
    return STOA_OK;
}

/* Removes one old file; a failure is logged and stops the clean-up (it is retried after the
 * next snapshot). */
static int remove_victim(struct stoa_snapshot_writer *writer, uint64_t index, bool temporary) {
    char path[STOA_PATH_BYTES_MAX + 1];
    int status = file_path(writer->directory, index, temporary ? TEMPORARY_SUFFIX : SUFFIX, path);
    if (status == STOA_OK) {
        status = writer->env->ops->unlink(writer->env, path);
    }
    if (status != STOA_OK && status != STOA_ERR_NOT_FOUND) {
        STOA_LOG_WARN(writer->log, MODULE, "could not remove an old snapshot file",
                      STOA_FIELD_STR("file", path), STOA_FIELD_ERR(status));
        return status;
    }
    return STOA_OK;
}

/* Removes every snapshot older than the newest STOA_SNAPSHOT_KEEP_COUNT and every leftover
 * .tmp file, a batch per listing. The newest snapshots are not touched, so a failure here
 * never costs a snapshot; old files left behind are only disk space. */
static void remove_old(struct stoa_snapshot_writer *writer) {
    struct listing listing = {0};
    int status = list(writer->env, writer->directory, &listing);
    uint64_t keep_from = 0;
    if (listing.newest_count >= STOA_SNAPSHOT_KEEP_COUNT) {
        keep_from = listing.newest[STOA_SNAPSHOT_KEEP_COUNT - 1];
    }
    for (int round = 0; status == STOA_OK && round < STOA_SNAPSHOT_REMOVE_ROUNDS_MAX; round++) {
        memset(&listing, 0, sizeof(listing));
        listing.collect_victims = true;
        listing.keep_from = keep_from;
        status = list(writer->env, writer->directory, &listing);
        for (size_t i = 0; status == STOA_OK && i < listing.victim_count; i++) {
            status = remove_victim(writer, listing.victims[i], listing.victim_temporary[i]);
        }
        if (listing.victim_count < STOA_SNAPSHOT_REMOVE_BATCH) {
            break;
        }
    }
    if (status != STOA_OK) {
        STOA_LOG_WARN(writer->log, MODULE, "old snapshot files were left behind",
                      STOA_FIELD_STR("directory", writer->directory), STOA_FIELD_ERR(status));
    }
}

/* Trailer, sync, rename, directory sync: after this the snapshot is there whole or not at
 * all, whatever crashes. */
static int install(struct stoa_snapshot_writer *writer) {
    struct stoa_env *env = writer->env;
    int status = writer->status;
    if (status == STOA_OK) {
        status = put_trailer(writer);
    }
    if (status == STOA_OK) {
        status = env->ops->file_datasync(writer->file);
    }
    env->ops->file_close(writer->file);
    writer->file = NULL;
    if (status == STOA_OK) {
        status = env->ops->rename(env, writer->temporary_path, writer->final_path);
    }
    if (status != STOA_OK) {
        (void)env->ops->unlink(env, writer->temporary_path);
        return status;
    }
    status = env->ops->sync_dir(env, writer->directory);
    if (status != STOA_OK) {
        /* Not known to be durable, so not installed. Should the rename survive a crash
         * anyway, the file is whole and valid, and loading it is correct: the caller keeps
         * the log it would have dropped. */
        STOA_LOG_ERROR(writer->log, MODULE, "snapshot directory sync failed; snapshot removed",
                       STOA_FIELD_STR("file", writer->final_path), STOA_FIELD_ERR(status));
        (void)env->ops->unlink(env, writer->final_path);
    }
    return status;
}

int stoa_snapshot_writer_finish(struct stoa_snapshot_writer *writer) {
    STOA_ASSERT(writer != NULL && writer->file != NULL);
    int status = install(writer);
    if (status == STOA_OK) {
        STOA_LOG_INFO(writer->log, MODULE, "snapshot installed",
                      STOA_FIELD_STR("file", writer->final_path),
                      STOA_FIELD_UINT("index", writer->index),
                      STOA_FIELD_UINT("records", writer->record_count),
                      STOA_FIELD_UINT("bytes", writer->offset));
        remove_old(writer);
    }
    writer_free(writer);
    return status;
}

void stoa_snapshot_writer_abort(struct stoa_snapshot_writer *writer) {
    STOA_ASSERT(writer != NULL && writer->file != NULL);
    writer->env->ops->file_close(writer->file);
    writer->file = NULL;
    (void)writer->env->ops->unlink(writer->env, writer->temporary_path);
    writer_free(writer);
}

int stoa_snapshot_write(struct stoa_env *env, const struct stoa_log *log, const char *data_dir,
                        uint64_t index, stoa_snapshot_next_fn next, void *context) {
    STOA_ASSERT(next != NULL);
    struct stoa_snapshot_writer *writer = NULL;
    int status = stoa_snapshot_writer_open(env, log, data_dir, index, &writer);
    if (status != STOA_OK) {
        return status;
    }
    /* Ends when next says so: the keyspace it walks is finite. */
    for (;;) {
        struct stoa_snapshot_record record = {0};
        bool has_record = false;
        status = next(context, &record, &has_record);
        if (status != STOA_OK || !has_record) {
            break;
        }
        status = stoa_snapshot_writer_append(writer, &record);
        if (status != STOA_OK) {
            break;
        }
    }
    if (status != STOA_OK) {
        stoa_snapshot_writer_abort(writer);
        return status;
    }
    return stoa_snapshot_writer_finish(writer);
}

/* ---- reading ---- */

/* One snapshot file being read through. The window holds bytes of the record area; every
 * byte is hashed as it is read from the file, in file order. */
struct source {
    struct stoa_env *env;
    struct stoa_env_file *file;
    XXH3_state_t *hash;
    uint8_t *window; /* STOA_SNAPSHOT_IO_BYTES, borrowed */
    size_t window_length;
    size_t window_offset;
    uint64_t file_offset; /* of the first byte not yet in the window */
    uint64_t records_end; /* where the trailer starts */
    const char *problem;  /* what was wrong, for the log, when CORRUPT is returned */
};

/* Bytes of the record area not yet consumed. */
static uint64_t source_remaining(const struct source *source) {
    return source->records_end - source->file_offset +
           (source->window_length - source->window_offset);
}

/* The file offset of the next byte of the record area to be consumed. */
static uint64_t source_position(const struct source *source) {
    return source->file_offset - (source->window_length - source->window_offset);
}

static int corrupt(struct source *source, const char *problem) {
    source->problem = problem;
    return STOA_ERR_CORRUPT;
}

static int refill(struct source *source) {
    uint64_t left = source->records_end - source->file_offset;
    if (left == 0) {
        return corrupt(source, "a record runs into the trailer");
    }
    size_t chunk = left < STOA_SNAPSHOT_IO_BYTES ? (size_t)left : STOA_SNAPSHOT_IO_BYTES;
    size_t got = 0;
    int status = source->env->ops->file_pread(source->file, source->window, chunk,
                                              source->file_offset, &got);
    if (status != STOA_OK) {
        return status;
    }
    if (got != chunk) {
        return corrupt(source, "the file ended early");
    }
    XXH3_64bits_update(source->hash, source->window, chunk);
    source->file_offset += chunk;
    source->window_length = chunk;
    source->window_offset = 0;
    return STOA_OK;
}

/* Consumes length bytes of the record area, copying them to out unless it is NULL. */
static int take(struct source *source, uint8_t *out, uint64_t length) {
    while (length > 0) {
        if (source->window_offset == source->window_length) {
            int status = refill(source);
            if (status != STOA_OK) {
                return status;
            }
        }
        size_t available = source->window_length - source->window_offset;
        size_t count = length < available ? (size_t)length : available;
        if (out != NULL) {
            memcpy(out, source->window + source->window_offset, count);
            out += count;
        }
        source->window_offset += count;
        length -= count;
    }
    return STOA_OK;
}

/* One strict varint: at most STOA_VARINT_BYTES_MAX bytes, neither overlong nor overflowing. */
static int take_varint(struct source *source, uint64_t *value) {
    uint8_t bytes[STOA_VARINT_BYTES_MAX];
    size_t count = 0;
    do {
        if (count == STOA_VARINT_BYTES_MAX) {
            return corrupt(source, "a varint is too long");
        }
        int status = take(source, &bytes[count], 1);
        if (status != STOA_OK) {
            return status;
        }
        count++;
    } while ((bytes[count - 1] & 0x80) != 0);
    size_t used = 0;
    if (stoa_varint_get(bytes, count, value, &used) != STOA_OK || used != count) {
        return corrupt(source, "a varint is malformed");
    }
    return STOA_OK;
}

/* A growing buffer for one record's key and value while loading. */
struct record_buffer {
    uint8_t *data;
    size_t capacity;
};

static int reserve(struct record_buffer *buffer, uint64_t needed) {
    if (needed <= buffer->capacity) {
        return STOA_OK;
    }
    size_t capacity = buffer->capacity * 2 > needed ? buffer->capacity * 2 : (size_t)needed;
    uint8_t *data = stoa_realloc(buffer->data, capacity);
    if (data == NULL) {
        return STOA_ERR_NOMEM;
    }
    buffer->data = data;
    buffer->capacity = capacity;
    return STOA_OK;
}

/* Reads one record. With a buffer, the key and value are copied into it and record points
 * there; without one (verifying), they are skipped. Lengths are checked against their
 * bounds and against the bytes left before anything is allocated for them. */
static int take_record(struct source *source, struct record_buffer *buffer,
                       struct stoa_snapshot_record *record) {
    uint8_t type = 0;
    uint64_t key_length = 0;
    uint64_t expire_at_ms = 0;
    uint64_t value_length = 0;
    int status = take(source, &type, 1);
    if (status == STOA_OK) {
        status = take_varint(source, &key_length);
    }
    if (status == STOA_OK &&
        (key_length > STOA_SNAPSHOT_KEY_BYTES_MAX || key_length > source_remaining(source))) {
        status = corrupt(source, "a key length is out of bounds");
    }
    if (status == STOA_OK && buffer != NULL) {
        status = reserve(buffer, key_length);
    }
    if (status == STOA_OK) {
        status = take(source, buffer != NULL ? buffer->data : NULL, key_length);
    }
    if (status == STOA_OK) {
        status = take_varint(source, &expire_at_ms);
    }
    if (status == STOA_OK && expire_at_ms > INT64_MAX) {
        status = corrupt(source, "an expiry is out of range");
    }
    if (status == STOA_OK) {
        status = take_varint(source, &value_length);
    }
    if (status == STOA_OK &&
        (value_length > STOA_SNAPSHOT_VALUE_BYTES_MAX || value_length > source_remaining(source))) {
        status = corrupt(source, "a value length is out of bounds");
    }
    if (status == STOA_OK && buffer != NULL) {
        status = reserve(buffer, key_length + value_length);
    }
    if (status == STOA_OK) {
        status = take(source, buffer != NULL ? buffer->data + key_length : NULL, value_length);
    }
    if (status != STOA_OK) {
        return status;
    }
    bool copied = buffer != NULL;
    *record = (struct stoa_snapshot_record){
        .type = type,
        .key = copied && key_length > 0 ? buffer->data : NULL,
        .key_length = (size_t)key_length,
        .expire_at_ms = (int64_t)expire_at_ms,
        .value = copied && value_length > 0 ? buffer->data + key_length : NULL,
        .value_length = (size_t)value_length,
    };
    return STOA_OK;
}

/* Reads and checks the header; the file's name says which index it must hold. */
static int take_header(struct source *source, uint64_t index, struct stoa_snapshot_info *info) {
    uint8_t header[HEADER_BYTES];
    size_t got = 0;
    int status = source->env->ops->file_pread(source->file, header, sizeof(header), 0, &got);
    if (status != STOA_OK) {
        return status;
    }
    if (got != sizeof(header) || memcmp(header, header_magic, sizeof(header_magic)) != 0) {
        return corrupt(source, "the header's magic number is wrong");
    }
    if (stoa_bytes_get_u64(header + 32) != XXH3_64bits(header, HEADER_CHECKED_BYTES)) {
        return corrupt(source, "the header's checksum does not match");
    }
    if (stoa_bytes_get_u32(header + 8) != STOA_SNAPSHOT_FORMAT_VERSION) {
        source->problem = "the format version is not one this build reads";
        return STOA_ERR_UNSUPPORTED;
    }
    uint64_t created_ms = stoa_bytes_get_u64(header + 24);
    if (stoa_bytes_get_u32(header + 12) != 0 || stoa_bytes_get_u64(header + 16) != index ||
        created_ms > INT64_MAX) {
        return corrupt(source, "a header field is out of range or names another index");
    }
    XXH3_64bits_update(source->hash, header, sizeof(header));
    source->file_offset = HEADER_BYTES;
    info->index = index;
    info->created_ms = (int64_t)created_ms;
    return STOA_OK;
}

/* Reads and checks the trailer against what the records and the hash said. */
static int take_trailer(struct source *source, uint64_t record_count) {
    uint8_t trailer[TRAILER_BYTES];
    size_t got = 0;
    int status = source->env->ops->file_pread(source->file, trailer, sizeof(trailer),
                                              source->records_end, &got);
    if (status != STOA_OK) {
        return status;
    }
    if (got != sizeof(trailer) || memcmp(trailer, trailer_magic, sizeof(trailer_magic)) != 0) {
        return corrupt(source, "the trailer's magic number is wrong");
    }
    XXH3_64bits_update(source->hash, trailer, TRAILER_CHECKED_BYTES);
    if (stoa_bytes_get_u64(trailer + TRAILER_CHECKED_BYTES) != XXH3_64bits_digest(source->hash)) {
        return corrupt(source, "the file's checksum does not match");
    }
    if (stoa_bytes_get_u64(trailer + 8) != record_count) {
        return corrupt(source, "the record count does not match the records");
    }
    return STOA_OK;
}

/* Reads every record of the open file, handing each to on_record when there is a buffer. */
static int take_records(struct source *source, struct record_buffer *buffer,
                        stoa_snapshot_record_fn on_record, void *context, uint64_t *count) {
    uint64_t taken = 0;
    /* Each record takes at least RECORD_BYTES_MIN bytes, so this ends with the record area. */
    while (source_remaining(source) > 0) {
        struct stoa_snapshot_record record;
        int status = take_record(source, buffer, &record);
        if (status == STOA_OK && buffer != NULL) {
            status = on_record(context, &record);
        }
        if (status != STOA_OK) {
            return status;
        }
        taken++;
    }
    *count = taken;
    return STOA_OK;
}

/* Reads the snapshot at path through and checks all of it; with a buffer, hands each record
 * to on_record on the way (the caller verified the file before). */
static int read_file(struct source *source, const char *path, uint64_t index,
                     struct record_buffer *buffer, stoa_snapshot_record_fn on_record, void *context,
                     struct stoa_snapshot_info *info) {
    struct stoa_env *env = source->env;
    source->window_length = 0;
    source->window_offset = 0;
    source->file_offset = 0;
    source->problem = NULL;
    int status = env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &source->file);
    if (status != STOA_OK) {
        return status;
    }
    struct stoa_snapshot_info found = {0};
    status = env->ops->file_size(source->file, &found.file_bytes);
    if (status == STOA_OK && found.file_bytes < HEADER_BYTES + TRAILER_BYTES) {
        status = corrupt(source, "the file is shorter than a header and a trailer");
    }
    if (status == STOA_OK) {
        XXH3_64bits_reset(source->hash);
        source->records_end = found.file_bytes - TRAILER_BYTES;
        status = take_header(source, index, &found);
    }
    if (status == STOA_OK) {
        status = take_records(source, buffer, on_record, context, &found.record_count);
    }
    if (status == STOA_OK) {
        status = take_trailer(source, found.record_count);
    }
    env->ops->file_close(source->file);
    source->file = NULL;
    if (status == STOA_OK) {
        *info = found;
    }
    return status;
}

/* Damage is a reason to try the snapshot before; anything else (no memory, the caller's
 * error) is not, and stops the load. */
static bool is_damage(int status) {
    return status == STOA_ERR_CORRUPT || status == STOA_ERR_UNSUPPORTED || status == STOA_ERR_IO ||
           status == STOA_ERR_NOT_FOUND;
}

/* Finds the newest snapshot that verifies; sets path and *info. */
static int find_valid(struct source *source, const struct stoa_log *log, const char *directory,
                      char *path, struct stoa_snapshot_info *info) {
    struct listing listing = {0};
    int status = list(source->env, directory, &listing);
    if (status != STOA_OK) {
        return status;
    }
    for (size_t i = 0; i < listing.newest_count; i++) {
        status = file_path(directory, listing.newest[i], SUFFIX, path);
        if (status == STOA_OK) {
            status = read_file(source, path, listing.newest[i], NULL, NULL, NULL, info);
        }
        if (status == STOA_OK || !is_damage(status)) {
            return status;
        }
        STOA_LOG_WARN(log, MODULE, "damaged snapshot; trying the one before",
                      STOA_FIELD_STR("file", path), STOA_FIELD_ERR(status),
                      STOA_FIELD_STR("problem", source->problem != NULL ? source->problem : ""),
                      STOA_FIELD_UINT("offset", source_position(source)));
    }
    return STOA_ERR_NOT_FOUND;
}

/* Runs find_valid and, with on_record, a second pass that hands the records over. */
static int load(struct stoa_env *env, const struct stoa_log *log, const char *data_dir,
                stoa_snapshot_record_fn on_record, void *context, struct stoa_snapshot_info *info) {
    char directory[STOA_PATH_BYTES_MAX + 1];
    char path[STOA_PATH_BYTES_MAX + 1];
    int status = directory_path(data_dir, directory);
    if (status != STOA_OK) {
        return status;
    }
    XXH3_state_t hash;
    XXH3_INITSTATE(&hash);
    struct source source = {.env = env, .hash = &hash};
    source.window = stoa_alloc(STOA_SNAPSHOT_IO_BYTES);
    if (source.window == NULL) {
        return STOA_ERR_NOMEM;
    }
    struct stoa_snapshot_info found = {0};
    status = find_valid(&source, log, directory, path, &found);
    struct record_buffer buffer = {0};
    if (status == STOA_OK && on_record != NULL) {
        struct source again = {.env = env, .hash = &hash, .window = source.window};
        status = read_file(&again, path, found.index, &buffer, on_record, context, &found);
        /* Records were handed over: a file gone since it was verified is not "no snapshot". */
        status = status == STOA_ERR_NOT_FOUND ? STOA_ERR_IO : status;
    }
    stoa_free(buffer.data);
    stoa_free(source.window);
    if (status == STOA_OK) {
        *info = found;
    }
    return status;
}

int stoa_snapshot_newest(struct stoa_env *env, const struct stoa_log *log, const char *data_dir,
                         struct stoa_snapshot_info *info) {
    STOA_ASSERT(env != NULL && data_dir != NULL && info != NULL);
    return load(env, log, data_dir, NULL, NULL, info);
}

int stoa_snapshot_load(struct stoa_env *env, const struct stoa_log *log, const char *data_dir,
                       stoa_snapshot_record_fn on_record, void *context,
                       struct stoa_snapshot_info *info) {
    STOA_ASSERT(env != NULL && data_dir != NULL && on_record != NULL && info != NULL);
    return load(env, log, data_dir, on_record, context, info);
}
