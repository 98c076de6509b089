/* stoa_sim_snapshot: snapshots in the simulator (see stoa_sim.h), as src/server/
 * replica_snapshot.c does them: a member snapshots its engine now and then and, once the
 * snapshot is durable, compacts its core's log and its journal at the snapshot's slot; a
 * leader whose log no longer holds what a lagging member needs (the core's snapshot_to) sends
 * its newest snapshot file, which the member stores beside its own, reloads its engine from,
 * and installs in its core and journal. The server streams the file in chunks with
 * acknowledgements; here the file travels in one message (a run's snapshots are small), so
 * loss, duplication, delay and reordering apply to it whole. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/snapshot.h"
#include "sim/stoa_sim.h"
#include "util/alloc.h"
#include "util/bytes.h"
#include "util/err.h"

#define DATA_DIR "/data"
#define SNAPSHOT_DIR "/data/snapshot"
/* channel, index, voter count, voters */
#define HEADER_BYTES (1 + 8 + 1 + 4 * STOA_PAXOS_MEMBERS_MAX)

static bool running(const struct sim_member *member) {
    return member->up && !member->stopped;
}

static void snapshot_path(uint64_t index, const char *suffix, char path[64]) {
    snprintf(path, 64, SNAPSHOT_DIR "/%020" PRIu64 ".snap%s", index, suffix);
}

bool sim_member_snapshot_take(struct sim_world *world, struct sim_member *member) {
    (void)world;
    if (!running(member) || stoa_engine_busy(member->engine) ||
        member->applied <= member->compacted_index) {
        return false;
    }
    /* The simulated env runs the child inline; its end is seen at the next advance. */
    return stoa_engine_snapshot_start(member->engine) == STOA_OK;
}

void sim_member_compact(struct sim_world *world, struct sim_member *member) {
    struct stoa_engine_stats stats;
    stoa_engine_stats(member->engine, &stats);
    if (stats.snapshot_index <= member->compacted_index || stats.snapshot_running) {
        return;
    }
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX];
    uint32_t count = sim_voters_at(world, stats.snapshot_index, ids);
    if (stoa_paxos_compact(member->paxos, stats.snapshot_index) != STOA_OK) {
        return; /* the commit record is not durable yet: at a later tick */
    }
    int result = stoa_journal_compact_from(member->journal, member->paxos, stats.snapshot_index,
                                           ids, count);
    if (result == STOA_OK) {
        member->compacted_index = stats.snapshot_index;
    } else if (stoa_journal_failure(member->journal) != STOA_OK) {
        sim_member_stop(member);
    }
}

/* Reads the whole newest snapshot file into a message after the header. Returns owned bytes
 * (free with stoa_free) or NULL. */
static uint8_t *read_newest(struct sim_member *member, uint64_t *index, size_t *length) {
    struct stoa_snapshot_info info;
    if (stoa_snapshot_newest(member->env, &member->log, DATA_DIR, &info) != STOA_OK ||
        info.file_bytes > SIM_SNAPSHOT_BYTES_MAX) {
        return NULL;
    }
    char path[64];
    snapshot_path(info.index, "", path);
    struct stoa_env_file *file = NULL;
    if (member->env->ops->file_open(member->env, path, STOA_ENV_OPEN_READ, &file) != STOA_OK) {
        return NULL;
    }
    uint8_t *bytes = stoa_alloc(HEADER_BYTES + (size_t)info.file_bytes);
    size_t read = 0;
    int result = bytes == NULL ? STOA_ERR_NOMEM
                               : member->env->ops->file_pread(file, bytes + HEADER_BYTES,
                                                              (size_t)info.file_bytes, 0, &read);
    member->env->ops->file_close(file);
    if (result != STOA_OK || read != info.file_bytes) {
        stoa_free(bytes);
        return NULL;
    }
    *index = info.index;
    *length = HEADER_BYTES + (size_t)info.file_bytes;
    return bytes;
}

void sim_member_snapshot_send(struct sim_world *world, struct sim_member *member, uint32_t to) {
    uint64_t index = 0;
    size_t length = 0;
    uint8_t *bytes = read_newest(member, &index, &length);
    if (bytes == NULL) {
        return; /* the core asks again */
    }
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX] = {0};
    uint32_t count = sim_voters_at(world, index, ids);
    bytes[0] = SIM_CHANNEL_SNAPSHOT;
    stoa_bytes_put_u64(bytes + 1, index);
    bytes[9] = (uint8_t)count;
    for (uint32_t i = 0; i < STOA_PAXOS_MEMBERS_MAX; i++) {
        stoa_bytes_put_u32(bytes + 10 + 4 * i, ids[i]);
    }
    sim_send(world, member->id, to, bytes, length);
    stoa_free(bytes);
}

/* Stores the file durably under its snapshot name, as replica_snapshot.c's receive_finish. */
static int store(struct sim_member *member, uint64_t index, const uint8_t *bytes, size_t length) {
    struct stoa_env *env = member->env;
    int result = env->ops->mkdir(env, SNAPSHOT_DIR);
    if (result == STOA_ERR_EXISTS) {
        result = STOA_OK;
    }
    if (result == STOA_OK) {
        result = env->ops->sync_dir(env, DATA_DIR);
    }
    char receiving[64];
    char path[64];
    snapshot_path(index, ".receiving", receiving);
    snapshot_path(index, "", path);
    struct stoa_env_file *file = NULL;
    if (result == STOA_OK) {
        result = env->ops->file_open(
            env, receiving, STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_TRUNCATE,
            &file);
    }
    if (result != STOA_OK) {
        return result;
    }
    result = env->ops->file_pwrite(file, bytes, length, 0);
    if (result == STOA_OK) {
        result = env->ops->file_datasync(file);
    }
    env->ops->file_close(file);
    if (result == STOA_OK) {
        result = env->ops->rename(env, receiving, path);
    }
    if (result == STOA_OK) {
        result = env->ops->sync_dir(env, SNAPSHOT_DIR);
    }
    return result;
}

void sim_member_on_snapshot(struct sim_world *world, struct sim_member *member,
                            const uint8_t *bytes, size_t length) {
    if (length < HEADER_BYTES || bytes[9] == 0 || bytes[9] > STOA_PAXOS_MEMBERS_MAX) {
        return;
    }
    uint64_t index = stoa_bytes_get_u64(bytes + 1);
    uint32_t count = bytes[9];
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX];
    for (uint32_t i = 0; i < count; i++) {
        ids[i] = stoa_bytes_get_u32(bytes + 10 + 4 * i);
    }
    struct stoa_paxos_status status;
    stoa_paxos_status(member->paxos, &status);
    if (index <= status.commit_index || stoa_engine_busy(member->engine)) {
        return; /* nothing to install, or later: the leader sends again while we lag */
    }
    int result = store(member, index, bytes + HEADER_BYTES, length - HEADER_BYTES);
    struct stoa_engine_error error;
    if (result == STOA_OK) {
        result = stoa_engine_reload(member->engine, &error);
    }
    struct stoa_engine_stats stats;
    stoa_engine_stats(member->engine, &stats);
    if (result == STOA_OK && stats.applied_index != index) {
        sim_violation(
            world, "member %u: the snapshot received for slot %" PRIu64 " loaded as slot %" PRIu64,
            member->id, index, stats.applied_index);
        return;
    }
    if (result != STOA_OK) {
        /* A failed sync or write: the disk is failing, the member stops (as on a journal
         * failure), and an engine reloaded from nothing must not serve. */
        sim_member_stop(member);
        return;
    }
    result = stoa_paxos_snapshot_installed(member->paxos, index, ids, count);
    if (result == STOA_OK) {
        result = stoa_journal_compact_from(member->journal, member->paxos, index, ids, count);
    }
    if (result != STOA_OK) {
        sim_member_stop(member);
        return;
    }
    member->compacted_index = index;
    member->applied = index;
    sim_fault_count(world, SIM_FAULT_INSTALL);
    sim_installed(world, member, index);
    sim_member_process(world, member);
}
