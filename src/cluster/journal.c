#include "cluster/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/wal.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/buf.h"
#include "util/bytes.h"
#include "util/err.h"
#include "util/limits.h"

#define MODULE "journal"

/* Record types: the first byte of every record (docs/formats/journal.md). */
enum record_type {
    RECORD_PROMISE = 1,  /* u64 round, u32 node */
    RECORD_ENTRY = 2,    /* u64 slot, u64 round, u32 node, u8 kind, u8 chosen, value */
    RECORD_COMMIT = 3,   /* u64 commit index */
    RECORD_SNAPSHOT = 4, /* u64 snapshot index, u32 count, count x u32 voter */
};

#define PROMISE_BYTES (1 + 8 + 4)
#define ENTRY_HEADER_BYTES (1 + 8 + 8 + 4 + 1 + 1)
#define COMMIT_BYTES (1 + 8)
#define SNAPSHOT_HEADER_BYTES (1 + 8 + 4)

/* An entry found while replaying: where its value sits in the arena, and its record index
 * (a later record for the same slot wins). */
struct found_entry {
    struct stoa_paxos_entry entry;
    size_t value_offset;
    uint64_t record_index;
};

struct stoa_journal {
    struct stoa_env *env;
    const struct stoa_log *log;
    struct stoa_wal *wal;
    struct stoa_buf record; /* the record being built */
    uint64_t bytes;

    /* The state rebuilt at open (and by compact), handed out as stoa_paxos_persisted. */
    struct stoa_paxos_ballot promised;
    uint64_t commit_index;
    uint64_t snapshot_index;
    uint32_t members[STOA_PAXOS_MEMBERS_MAX];
    uint32_t member_count;
    struct found_entry *found;
    size_t found_count;
    size_t found_capacity;
    struct stoa_buf values;
    struct stoa_paxos_entry *entries; /* the winners, in slot order */
    size_t entry_count;
};

/* ---- encoding ---- */

static int append_record(struct stoa_journal *journal) {
    uint64_t index = 0;
    int result =
        stoa_wal_append(journal->wal, journal->record.data, journal->record.length, &index);
    if (result == STOA_ERR_FULL) {
        /* The batch is full: write it out now (nothing depending on it is sent before the
         * driver's flush anyway). */
        result = stoa_wal_flush(journal->wal);
        if (result == STOA_OK) {
            result =
                stoa_wal_append(journal->wal, journal->record.data, journal->record.length, &index);
        }
    }
    if (result == STOA_OK) {
        journal->bytes += journal->record.length;
    }
    return result;
}

static int write_promise(struct stoa_journal *journal, struct stoa_paxos_ballot ballot) {
    uint8_t bytes[PROMISE_BYTES];
    bytes[0] = RECORD_PROMISE;
    stoa_bytes_put_u64(bytes + 1, ballot.round);
    stoa_bytes_put_u32(bytes + 9, ballot.node_id);
    stoa_buf_reset(&journal->record);
    int result = stoa_buf_append(&journal->record, bytes, sizeof(bytes));
    return result == STOA_OK ? append_record(journal) : result;
}

static int write_commit(struct stoa_journal *journal, uint64_t commit_index) {
    uint8_t bytes[COMMIT_BYTES];
    bytes[0] = RECORD_COMMIT;
    stoa_bytes_put_u64(bytes + 1, commit_index);
    stoa_buf_reset(&journal->record);
    int result = stoa_buf_append(&journal->record, bytes, sizeof(bytes));
    return result == STOA_OK ? append_record(journal) : result;
}

static int write_entry(struct stoa_journal *journal, const struct stoa_paxos_entry *entry) {
    uint8_t header[ENTRY_HEADER_BYTES];
    header[0] = RECORD_ENTRY;
    stoa_bytes_put_u64(header + 1, entry->slot);
    stoa_bytes_put_u64(header + 9, entry->ballot.round);
    stoa_bytes_put_u32(header + 17, entry->ballot.node_id);
    header[21] = entry->kind;
    header[22] = entry->chosen ? 1 : 0;
    stoa_buf_reset(&journal->record);
    int result = stoa_buf_append(&journal->record, header, sizeof(header));
    if (result == STOA_OK && entry->length > 0) {
        result = stoa_buf_append(&journal->record, entry->value, entry->length);
    }
    return result == STOA_OK ? append_record(journal) : result;
}

static int write_snapshot(struct stoa_journal *journal, uint64_t index, const uint32_t *members,
                          uint32_t member_count) {
    uint8_t header[SNAPSHOT_HEADER_BYTES];
    header[0] = RECORD_SNAPSHOT;
    stoa_bytes_put_u64(header + 1, index);
    stoa_bytes_put_u32(header + 9, member_count);
    stoa_buf_reset(&journal->record);
    int result = stoa_buf_append(&journal->record, header, sizeof(header));
    for (uint32_t i = 0; i < member_count && result == STOA_OK; i++) {
        uint8_t id[4];
        stoa_bytes_put_u32(id, members[i]);
        result = stoa_buf_append(&journal->record, id, sizeof(id));
    }
    return result == STOA_OK ? append_record(journal) : result;
}

/* ---- replay: rebuilding the state ---- */

static int found_push(struct stoa_journal *journal, const struct found_entry *found) {
    if (journal->found_count == journal->found_capacity) {
        size_t capacity = journal->found_capacity == 0 ? 64 : journal->found_capacity * 2;
        struct found_entry *grown = stoa_realloc(journal->found, capacity * sizeof(*grown));
        if (grown == NULL) {
            return STOA_ERR_NOMEM;
        }
        journal->found = grown;
        journal->found_capacity = capacity;
    }
    journal->found[journal->found_count++] = *found;
    return STOA_OK;
}

static int replay_entry(struct stoa_journal *journal, uint64_t index, const uint8_t *payload,
                        size_t length) {
    if (length < ENTRY_HEADER_BYTES || length - ENTRY_HEADER_BYTES > STOA_PAXOS_VALUE_BYTES_MAX ||
        payload[22] > 1) {
        return STOA_ERR_CORRUPT;
    }
    struct found_entry found = {
        .entry =
            {
                .slot = stoa_bytes_get_u64(payload + 1),
                .ballot = {.round = stoa_bytes_get_u64(payload + 9),
                           .node_id = stoa_bytes_get_u32(payload + 17)},
                .kind = payload[21],
                .chosen = payload[22] == 1,
                .length = (uint32_t)(length - ENTRY_HEADER_BYTES),
            },
        .value_offset = journal->values.length,
        .record_index = index,
    };
    if (found.entry.slot == 0) {
        return STOA_ERR_CORRUPT;
    }
    int result =
        stoa_buf_append(&journal->values, payload + ENTRY_HEADER_BYTES, found.entry.length);
    return result == STOA_OK ? found_push(journal, &found) : result;
}

static int replay_snapshot(struct stoa_journal *journal, const uint8_t *payload, size_t length) {
    if (length < SNAPSHOT_HEADER_BYTES) {
        return STOA_ERR_CORRUPT;
    }
    uint32_t count = stoa_bytes_get_u32(payload + 9);
    if (count > STOA_PAXOS_MEMBERS_MAX || length != SNAPSHOT_HEADER_BYTES + (size_t)count * 4) {
        return STOA_ERR_CORRUPT;
    }
    uint64_t index = stoa_bytes_get_u64(payload + 1);
    if (index >= journal->snapshot_index) {
        journal->snapshot_index = index;
        journal->member_count = count;
        for (uint32_t i = 0; i < count; i++) {
            journal->members[i] = stoa_bytes_get_u32(payload + SNAPSHOT_HEADER_BYTES + 4 * i);
        }
    }
    return STOA_OK;
}

static int replay_record(void *context, uint64_t index, const uint8_t *payload, size_t length) {
    struct stoa_journal *journal = context;
    if (length == 0) {
        return STOA_ERR_CORRUPT;
    }
    switch (payload[0]) {
    case RECORD_PROMISE:
        if (length != PROMISE_BYTES) {
            return STOA_ERR_CORRUPT;
        }
        struct stoa_paxos_ballot ballot = {.round = stoa_bytes_get_u64(payload + 1),
                                           .node_id = stoa_bytes_get_u32(payload + 9)};
        if (stoa_paxos_ballot_compare(ballot, journal->promised) > 0) {
            journal->promised = ballot;
        }
        return STOA_OK;
    case RECORD_ENTRY:
        return replay_entry(journal, index, payload, length);
    case RECORD_COMMIT:
        if (length != COMMIT_BYTES) {
            return STOA_ERR_CORRUPT;
        }
        uint64_t commit = stoa_bytes_get_u64(payload + 1);
        journal->commit_index = commit > journal->commit_index ? commit : journal->commit_index;
        return STOA_OK;
    case RECORD_SNAPSHOT:
        return replay_snapshot(journal, payload, length);
    default:
        return STOA_ERR_CORRUPT;
    }
}

/* Slot order, and for one slot the later record first. */
static int compare_found(const void *a, const void *b) {
    const struct found_entry *x = a;
    const struct found_entry *y = b;
    if (x->entry.slot != y->entry.slot) {
        return x->entry.slot < y->entry.slot ? -1 : 1;
    }
    return x->record_index > y->record_index ? -1 : (x->record_index < y->record_index ? 1 : 0);
}

/* Keeps, per slot above the snapshot, the entry of the last record; points values into the
 * arena (which no longer grows). */
static int settle(struct stoa_journal *journal) {
    stoa_free(journal->entries);
    journal->entries = NULL;
    journal->entry_count = 0;
    if (journal->found_count == 0) {
        return STOA_OK;
    }
    qsort(journal->found, journal->found_count, sizeof(*journal->found), compare_found);
    journal->entries = stoa_alloc(journal->found_count * sizeof(*journal->entries));
    if (journal->entries == NULL) {
        return STOA_ERR_NOMEM;
    }
    uint64_t previous_slot = 0;
    for (size_t i = 0; i < journal->found_count; i++) {
        struct found_entry *found = &journal->found[i];
        if (found->entry.slot <= journal->snapshot_index || found->entry.slot == previous_slot) {
            continue;
        }
        previous_slot = found->entry.slot;
        struct stoa_paxos_entry *entry = &journal->entries[journal->entry_count++];
        *entry = found->entry;
        entry->value = journal->values.data + found->value_offset;
    }
    return STOA_OK;
}

static void persisted_of(const struct stoa_journal *journal,
                         struct stoa_paxos_persisted *persisted) {
    memset(persisted, 0, sizeof(*persisted));
    persisted->promised = journal->promised;
    persisted->commit_index = journal->commit_index;
    persisted->snapshot_index = journal->snapshot_index;
    persisted->applied_index = journal->snapshot_index;
    persisted->snapshot_members = journal->member_count > 0 ? journal->members : NULL;
    persisted->snapshot_member_count = journal->member_count;
    persisted->entries = journal->entries;
    persisted->entry_count = (uint32_t)journal->entry_count;
}

static void forget_found(struct stoa_journal *journal) {
    stoa_free(journal->found);
    journal->found = NULL;
    journal->found_count = 0;
    journal->found_capacity = 0;
}

static void journal_free(struct stoa_journal *journal) {
    if (journal->wal != NULL) {
        stoa_wal_close(journal->wal);
    }
    forget_found(journal);
    stoa_free(journal->entries);
    stoa_buf_free(&journal->values);
    stoa_buf_free(&journal->record);
    stoa_free(journal);
}

int stoa_journal_open(struct stoa_env *env, const struct stoa_journal_options *options,
                      struct stoa_journal **out, struct stoa_paxos_persisted *persisted,
                      char *error, size_t error_bytes) {
    STOA_ASSERT(env != NULL && options != NULL && options->directory != NULL && out != NULL);
    STOA_ASSERT(persisted != NULL);
    struct stoa_journal *journal = stoa_calloc(1, sizeof(*journal));
    if (journal == NULL) {
        return STOA_ERR_NOMEM;
    }
    journal->env = env;
    journal->log = options->log;
    stoa_buf_init(&journal->record, STOA_WAL_RECORD_BYTES_MAX);
    stoa_buf_init(&journal->values, SIZE_MAX);
    struct stoa_wal_options wal_options = {
        .directory = options->directory,
        .durability = options->everysec ? STOA_WAL_DURABILITY_EVERYSEC : STOA_WAL_DURABILITY_ALWAYS,
        .segment_bytes_max = options->segment_bytes_max,
        .log = options->log,
    };
    struct stoa_wal_recovery recovery;
    struct stoa_wal_error wal_error = {{0}};
    int result = stoa_wal_open(env, &wal_options, &journal->wal, &recovery, &wal_error);
    if (result == STOA_OK) {
        result = stoa_wal_replay(journal->wal, recovery.first_index, replay_record, journal);
        if (result == STOA_ERR_CORRUPT) {
            snprintf(wal_error.message, sizeof(wal_error.message),
                     "%s: a journal record does not decode", options->directory);
        }
    }
    if (result == STOA_OK) {
        result = settle(journal);
    }
    forget_found(journal);
    if (result != STOA_OK) {
        if (error != NULL && error_bytes > 0) {
            snprintf(error, error_bytes, "%s", wal_error.message);
        }
        journal_free(journal);
        return result;
    }
    persisted_of(journal, persisted);
    STOA_LOG_INFO(journal->log, MODULE, "journal recovered",
                  STOA_FIELD_UINT("promised_round", journal->promised.round),
                  STOA_FIELD_UINT("commit_index", journal->commit_index),
                  STOA_FIELD_UINT("snapshot_index", journal->snapshot_index),
                  STOA_FIELD_UINT("entries", journal->entry_count),
                  STOA_FIELD_UINT("torn_bytes", recovery.torn_bytes));
    *out = journal;
    return STOA_OK;
}

void stoa_journal_close(struct stoa_journal *journal) {
    if (journal != NULL) {
        journal_free(journal);
    }
}

int stoa_journal_write(struct stoa_journal *journal, const struct stoa_paxos_ready *ready) {
    STOA_ASSERT(journal != NULL && ready != NULL);
    int result = stoa_wal_failure(journal->wal);
    if (result == STOA_OK && ready->promised_changed) {
        result = write_promise(journal, ready->promised);
    }
    for (uint32_t i = 0; i < ready->write_count && result == STOA_OK; i++) {
        result = write_entry(journal, &ready->writes[i]);
    }
    if (result == STOA_OK && ready->commit_changed) {
        result = write_commit(journal, ready->commit_index);
    }
    return result;
}

int stoa_journal_flush(struct stoa_journal *journal) {
    STOA_ASSERT(journal != NULL);
    int result = stoa_wal_flush(journal->wal);
    if (result != STOA_OK && stoa_wal_failure(journal->wal) != STOA_OK) {
        STOA_LOG_ERROR(journal->log, MODULE, "the journal failed: this node stops accepting",
                       STOA_FIELD_ERR(result));
    }
    return result;
}

int stoa_journal_compact_from(struct stoa_journal *journal, const struct stoa_paxos *paxos,
                              uint64_t snapshot_index, const uint32_t *members,
                              uint32_t member_count) {
    STOA_ASSERT(journal != NULL && paxos != NULL && member_count <= STOA_PAXOS_MEMBERS_MAX);
    struct stoa_paxos_status status;
    stoa_paxos_status(paxos, &status);
    uint64_t kept_after = status.snapshot_index > snapshot_index ? status.snapshot_index
                                                                  : snapshot_index;
    int result = stoa_wal_sync(journal->wal);
    uint64_t first_new = stoa_wal_last_index(journal->wal) + 1;
    if (result == STOA_OK) {
        result = write_promise(journal, status.promised);
    }
    if (result == STOA_OK) {
        result = write_snapshot(journal, kept_after, members, member_count);
    }
    for (uint64_t slot = kept_after + 1; slot <= status.last_slot && result == STOA_OK; slot++) {
        struct stoa_paxos_entry entry;
        if (stoa_paxos_entry_get(paxos, slot, &entry)) {
            result = write_entry(journal, &entry);
        }
    }
    if (result == STOA_OK) {
        result = write_commit(journal, status.commit_index > kept_after ? status.commit_index
                                                                        : kept_after);
    }
    if (result == STOA_OK) {
        result = stoa_wal_sync(journal->wal);
    }
    if (result == STOA_OK) {
        result = stoa_wal_truncate_before(journal->wal, first_new);
    }
    if (result == STOA_OK) {
        journal->promised = status.promised;
        journal->commit_index = status.commit_index;
        journal->snapshot_index = kept_after;
        journal->entry_count = 0; /* the core holds them; nothing here borrows them */
        journal->member_count = member_count;
        memcpy(journal->members, members, member_count * sizeof(*members));
    }
    return result;
}

bool stoa_journal_pending(const struct stoa_journal *journal) {
    return stoa_wal_last_index(journal->wal) > stoa_wal_durable_index(journal->wal);
}

uint64_t stoa_journal_bytes(const struct stoa_journal *journal) {
    return journal->bytes;
}

int stoa_journal_failure(const struct stoa_journal *journal) {
    return stoa_wal_failure(journal->wal);
}
