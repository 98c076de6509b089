/* Snapshots between members: the leader streams its newest snapshot file to a follower that
 * is behind the leader's compacted log; the follower writes it beside its own snapshots,
 * reloads its engine from it, and tells the core. And compaction after a local snapshot. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/snapshot.h"
#include "server/replica_int.h"
#include "util/assert.h"
#include "util/bytes.h"
#include "util/err.h"

#define MODULE "replica"

/* channel, index, offset, total, last, voter count, voters (docs/protocols/peer.md) */
#define CHUNK_HEADER_BYTES (1 + 8 + 8 + 8 + 1 + 1 + 4 * STOA_PAXOS_MEMBERS_MAX)
#define ACK_BYTES (1 + 8 + 8 + 1)

/* What an acknowledgement says. */
enum ack_kind {
    ACK_PROGRESS = 0, /* received up to next */
    ACK_REWIND = 1,   /* a chunk went missing: send again from next */
    ACK_DONE = 2,     /* installed */
    ACK_FAILED = 3,   /* could not be stored or installed */
};

/* <data dir>/snapshot. */
static int snapshot_directory(const struct stoa_replica *replica, char *path, size_t capacity) {
    int length = snprintf(path, capacity, "%s/snapshot", replica->data_dir);
    return length < 0 || (size_t)length >= capacity ? STOA_ERR_TOO_LARGE : STOA_OK;
}

static int snapshot_path(const struct stoa_replica *replica, uint64_t index, const char *suffix,
                         char *path, size_t capacity) {
    int length = snprintf(path, capacity, "%s/snapshot/%020" PRIu64 ".snap%s", replica->data_dir,
                          index, suffix);
    return length < 0 || (size_t)length >= capacity ? STOA_ERR_TOO_LARGE : STOA_OK;
}

/* ---- sending (leader) ---- */

static void send_close(struct stoa_replica *replica) {
    if (replica->sending.file != NULL) {
        replica->env->ops->file_close(replica->sending.file);
    }
    memset(&replica->sending, 0, sizeof(replica->sending));
}

void replica_snapshot_send_start(struct stoa_replica *replica, uint32_t to) {
    if (replica->sending.to != 0) {
        return; /* one transfer at a time; the core asks again */
    }
    struct stoa_snapshot_info info;
    int result = stoa_snapshot_newest(replica->env, replica->log, replica->data_dir, &info);
    char path[STOA_PATH_BYTES_MAX];
    if (result == STOA_OK) {
        result = snapshot_path(replica, info.index, "", path, sizeof(path));
    }
    struct stoa_env_file *file = NULL;
    if (result == STOA_OK) {
        result = replica->env->ops->file_open(replica->env, path, STOA_ENV_OPEN_READ, &file);
    }
    uint64_t total = 0;
    if (result == STOA_OK) {
        result = replica->env->ops->file_size(file, &total);
        if (result != STOA_OK) {
            replica->env->ops->file_close(file);
        }
    }
    if (result != STOA_OK) {
        STOA_LOG_WARN(replica->log, MODULE, "cannot send a snapshot to a lagging follower",
                      STOA_FIELD_UINT("to", to), STOA_FIELD_ERR(result));
        return;
    }
    replica->sending = (struct snapshot_send){.to = to,
                                              .index = info.index,
                                              .total = total,
                                              .last_ack_ms = stoa_env_monotonic_ms(replica->env),
                                              .file = file};
    STOA_LOG_INFO(replica->log, MODULE, "sending a snapshot to a lagging follower",
                  STOA_FIELD_UINT("to", to), STOA_FIELD_UINT("index", info.index),
                  STOA_FIELD_UINT("bytes", total));
}

static void send_chunks(struct stoa_replica *replica) {
    struct snapshot_send *sending = &replica->sending;
    uint64_t window =
        (uint64_t)STOA_REPLICA_SNAPSHOT_WINDOW_CHUNKS * STOA_REPLICA_SNAPSHOT_CHUNK_BYTES;
    while (sending->to != 0 && sending->offset - sending->acked < window &&
           (sending->offset < sending->total || sending->total == 0)) {
        uint64_t left = sending->total - sending->offset;
        size_t length = left < STOA_REPLICA_SNAPSHOT_CHUNK_BYTES
                            ? (size_t)left
                            : STOA_REPLICA_SNAPSHOT_CHUNK_BYTES;
        uint8_t *out = replica->chunk;
        size_t read = 0;
        int result = replica->env->ops->file_pread(sending->file, out + CHUNK_HEADER_BYTES, length,
                                                   sending->offset, &read);
        if (result != STOA_OK || read != length) {
            STOA_LOG_WARN(replica->log, MODULE, "cannot read the snapshot being sent",
                          STOA_FIELD_ERR(result));
            send_close(replica);
            return;
        }
        out[0] = CHANNEL_SNAPSHOT;
        stoa_bytes_put_u64(out + 1, sending->index);
        stoa_bytes_put_u64(out + 9, sending->offset);
        stoa_bytes_put_u64(out + 17, sending->total);
        out[25] = sending->offset + length == sending->total ? 1 : 0;
        /* The voters as of the snapshot's slot: the follower installs them with it. */
        uint32_t ids[STOA_PAXOS_MEMBERS_MAX] = {0};
        uint32_t voter_count = replica_voters_at(replica, sending->index, ids);
        out[26] = (uint8_t)voter_count;
        for (uint32_t i = 0; i < STOA_PAXOS_MEMBERS_MAX; i++) {
            stoa_bytes_put_u32(out + 27 + 4 * i, ids[i]);
        }
        replica_send(replica, sending->to, out, CHUNK_HEADER_BYTES + length);
        sending->offset += length;
        if (sending->total == 0) {
            break;
        }
    }
}

void replica_on_snapshot_ack(struct stoa_replica *replica, uint32_t from, const uint8_t *data,
                             size_t length) {
    struct snapshot_send *sending = &replica->sending;
    if (length != ACK_BYTES - 1 || sending->to != from ||
        stoa_bytes_get_u64(data) != sending->index) {
        return;
    }
    uint64_t next = stoa_bytes_get_u64(data + 8);
    uint8_t kind = data[16];
    sending->last_ack_ms = stoa_env_monotonic_ms(replica->env);
    if (kind == ACK_FAILED || kind == ACK_DONE) {
        if (kind == ACK_DONE) {
            replica->stats.snapshots_sent++;
        }
        STOA_LOG_INFO(replica->log, MODULE,
                      kind == ACK_DONE ? "snapshot sent and installed"
                                       : "the follower could not install the snapshot",
                      STOA_FIELD_UINT("to", from), STOA_FIELD_UINT("index", sending->index));
        send_close(replica);
        return;
    }
    if (next > sending->offset) {
        return;
    }
    if (kind == ACK_REWIND) {
        sending->offset = next;
    }
    sending->acked = next > sending->acked || kind == ACK_REWIND ? next : sending->acked;
    send_chunks(replica);
}

void replica_snapshot_tick(struct stoa_replica *replica, int64_t now_ms) {
    struct snapshot_send *sending = &replica->sending;
    if (sending->to != 0 && now_ms - sending->last_ack_ms > STOA_REPLICA_SNAPSHOT_ACK_TIMEOUT_MS) {
        sending->offset = 0;
        sending->acked = 0;
        sending->last_ack_ms = now_ms;
    }
    if (sending->to != 0) {
        send_chunks(replica);
    }
    if (replica->receiving.install_pending) {
        /* An earlier try found the engine busy with its own snapshot. */
        replica_on_snapshot(replica, 0, NULL, 0);
    }
}

/* ---- receiving (follower) ---- */

static void send_ack(struct stoa_replica *replica, uint32_t to, uint64_t index, uint64_t next,
                     enum ack_kind kind) {
    uint8_t out[ACK_BYTES];
    out[0] = CHANNEL_SNAPSHOT_ACK;
    stoa_bytes_put_u64(out + 1, index);
    stoa_bytes_put_u64(out + 9, next);
    out[17] = (uint8_t)kind;
    replica_send(replica, to, out, sizeof(out));
}

static void receive_close(struct stoa_replica *replica) {
    if (replica->receiving.file != NULL) {
        replica->env->ops->file_close(replica->receiving.file);
    }
    memset(&replica->receiving, 0, sizeof(replica->receiving));
}

static int receive_open(struct stoa_replica *replica, uint64_t index) {
    receive_close(replica);
    char directory[STOA_PATH_BYTES_MAX + 16];
    int result = snapshot_directory(replica, directory, sizeof(directory));
    if (result == STOA_OK) {
        result = replica->env->ops->mkdir(replica->env, directory);
    }
    if (result != STOA_OK && result != STOA_ERR_EXISTS) {
        return result;
    }
    struct snapshot_receive *receiving = &replica->receiving;
    result = snapshot_path(replica, index, ".receiving", receiving->path, sizeof(receiving->path));
    if (result == STOA_OK) {
        result = replica->env->ops->file_open(
            replica->env, receiving->path,
            STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_TRUNCATE, &receiving->file);
    }
    if (result == STOA_OK) {
        receiving->index = index;
        receiving->offset = 0;
    }
    return result;
}

/* Makes the received file durable under its snapshot name. */
static int receive_finish(struct stoa_replica *replica) {
    struct stoa_env *env = replica->env;
    struct snapshot_receive *receiving = &replica->receiving;
    int result = env->ops->file_datasync(receiving->file);
    env->ops->file_close(receiving->file);
    receiving->file = NULL;
    char path[STOA_PATH_BYTES_MAX];
    if (result == STOA_OK) {
        result = snapshot_path(replica, receiving->index, "", path, sizeof(path));
    }
    if (result == STOA_OK) {
        result = env->ops->rename(env, receiving->path, path);
    }
    if (result == STOA_OK) {
        char directory[STOA_PATH_BYTES_MAX + 16];
        result = snapshot_directory(replica, directory, sizeof(directory));
        if (result == STOA_OK) {
            result = env->ops->sync_dir(env, directory);
        }
    }
    return result;
}

/* Reloads the engine from the received snapshot and moves the core and journal past it. */
static int install(struct stoa_replica *replica) {
    struct stoa_engine_error error;
    replica_speculation_stop(replica, "a snapshot was installed");
    int result = stoa_engine_reload(replica->engine, &error);
    struct stoa_engine_stats stats;
    stoa_engine_stats(replica->engine, &stats);
    if (result == STOA_OK && stats.applied_index != replica->receiving.index) {
        result = STOA_ERR_CORRUPT; /* the file failed its checks: an older one was loaded */
    }
    if (result != STOA_OK) {
        STOA_LOG_ERROR(replica->log, MODULE, "installing a received snapshot failed",
                       STOA_FIELD_STR("error", error.message), STOA_FIELD_ERR(result));
        return result;
    }
    const uint32_t *ids = replica->receiving.voters;
    uint32_t count = replica->receiving.voter_count;
    result = stoa_paxos_snapshot_installed(replica->paxos, stats.applied_index, ids, count);
    if (result == STOA_OK) {
        result = stoa_journal_compact_from(replica->journal, replica->paxos, stats.applied_index,
                                           ids, count);
    }
    if (result == STOA_OK) {
        replica->compacted_index = stats.applied_index;
        replica->stats.snapshots_installed++;
        STOA_LOG_INFO(replica->log, MODULE, "installed a snapshot from the leader",
                      STOA_FIELD_UINT("index", stats.applied_index));
    }
    return result;
}

static void try_install(struct stoa_replica *replica) {
    uint32_t from = replica->receiving.from;
    if (stoa_engine_busy(replica->engine)) {
        replica->receiving.install_pending = true;
        return;
    }
    uint64_t index = replica->receiving.index;
    int result = install(replica);
    receive_close(replica);
    send_ack(replica, from, index, 0, result == STOA_OK ? ACK_DONE : ACK_FAILED);
    replica_process(replica);
}

void replica_on_snapshot(struct stoa_replica *replica, uint32_t from, const uint8_t *data,
                         size_t length) {
    if (data == NULL) {
        try_install(replica);
        return;
    }
    if (length < CHUNK_HEADER_BYTES - 1) {
        return;
    }
    uint64_t index = stoa_bytes_get_u64(data);
    uint64_t offset = stoa_bytes_get_u64(data + 8);
    uint64_t total = stoa_bytes_get_u64(data + 16);
    bool last = data[24] == 1;
    uint8_t voter_count = data[25];
    if (voter_count == 0 || voter_count > STOA_PAXOS_MEMBERS_MAX) {
        return;
    }
    const uint8_t *bytes = data + CHUNK_HEADER_BYTES - 1;
    size_t count = length - (CHUNK_HEADER_BYTES - 1);
    struct snapshot_receive *receiving = &replica->receiving;
    if (index <= replica->compacted_index) {
        send_ack(replica, from, index, 0, ACK_DONE); /* installed already */
        return;
    }
    if (receiving->install_pending) {
        return;
    }
    if (receiving->index != index) {
        if (offset != 0 || receive_open(replica, index) != STOA_OK) {
            send_ack(replica, from, index, 0, ACK_REWIND);
            return;
        }
    }
    receiving->from = from;
    receiving->voter_count = voter_count;
    for (uint32_t i = 0; i < voter_count; i++) {
        receiving->voters[i] = stoa_bytes_get_u32(data + 26 + 4 * i);
    }
    if (offset != receiving->offset) {
        send_ack(replica, from, index, receiving->offset, ACK_REWIND);
        return;
    }
    int result = replica->env->ops->file_pwrite(receiving->file, bytes, count, offset);
    if (result != STOA_OK) {
        receive_close(replica);
        send_ack(replica, from, index, 0, ACK_FAILED);
        return;
    }
    receiving->offset += count;
    if (!last || receiving->offset != total) {
        send_ack(replica, from, index, receiving->offset, ACK_PROGRESS);
        return;
    }
    if (receive_finish(replica) != STOA_OK) {
        receive_close(replica);
        send_ack(replica, from, index, 0, ACK_FAILED);
        return;
    }
    try_install(replica);
}

/* ---- compaction after a snapshot of our own ---- */

void replica_snapshot_compact(struct stoa_replica *replica) {
    struct stoa_engine_stats stats;
    stoa_engine_stats(replica->engine, &stats);
    if (stats.snapshot_index <= replica->compacted_index || stats.snapshot_running) {
        return;
    }
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX];
    uint32_t count = replica_voters_at(replica, stats.snapshot_index, ids);
    int64_t start_ns = stoa_env_monotonic_ns(replica->env);
    int result = stoa_paxos_compact(replica->paxos, stats.snapshot_index);
    if (result == STOA_OK) {
        result = stoa_journal_compact_from(replica->journal, replica->paxos,
                                           stats.snapshot_index, ids, count);
    }
    uint64_t usec = (uint64_t)(stoa_env_monotonic_ns(replica->env) - start_ns) / 1000;
    if (result != STOA_OK) {
        STOA_LOG_WARN(replica->log, MODULE, "log compaction failed",
                      STOA_FIELD_UINT("index", stats.snapshot_index), STOA_FIELD_ERR(result));
    } else {
        /* The live state is rewritten in the loop (two syncs): the member waits that long. */
        STOA_LOG_INFO(replica->log, MODULE, "journal compacted",
                      STOA_FIELD_UINT("index", stats.snapshot_index),
                      STOA_FIELD_UINT("usec", usec));
    }
    replica->compacted_index = stats.snapshot_index;
}

void replica_snapshot_close(struct stoa_replica *replica) {
    send_close(replica);
    receive_close(replica);
}
