/*
 * session: exactly-once writes for clients that retry.
 *
 * A client that may retry a write (after a timeout, or a leader change) registers first and
 * gets a client id; it then numbers its writes 1, 2, 3, ... The session table remembers, per
 * client, the highest sequence applied and the recorded reply to it. A write is applied only
 * if its sequence is new; a retry of the last write gets the recorded reply again; an older
 * sequence is refused. Client id 0 is anonymous: no session, no deduplication (plain Redis
 * clients, which do not retry writes on their own).
 *
 * The table is bounded (STOA_SESSIONS_MAX). When full, registering drops the session that
 * was active least recently, measured in log indexes, so every replica that applies the same
 * log drops the same session. A dropped or never-registered client id is refused as expired:
 * a write is never applied twice, at the price of the client having to register again and
 * learning that its last write's outcome is unknown (the approach of Raft's client sessions,
 * Ongaro's thesis §6.3).
 *
 * The table is part of the replicated state: it changes only by applying log records and is
 * saved in snapshots.
 */
#ifndef STOA_ENGINE_SESSION_H
#define STOA_ENGINE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "util/heap.h"
#include "util/map.h"

struct stoa_session_table {
    struct stoa_map sessions; /* client id (8 bytes, little-endian) -> struct session */
    struct stoa_heap by_activity;
    size_t count_max;
};

enum stoa_session_verdict {
    STOA_SESSION_NEW = 0,    /* apply the write, then record its reply */
    STOA_SESSION_REPLAY = 1, /* the last write again: send the recorded reply */
    STOA_SESSION_STALE = 2,  /* older than the last write: refuse */
    STOA_SESSION_EXPIRED = 3 /* unknown client id: refuse, the client must register */
};

/* Makes an empty table holding at most count_max sessions (> 0). seed keys its hash. */
void stoa_session_table_init(struct stoa_session_table *table, size_t count_max, uint64_t seed);
void stoa_session_table_free(struct stoa_session_table *table);

/* Registers client_id (the log index of the registering record, so ids are unique and
 * agreed), dropping the least recently active session if the table is full. Returns 0,
 * STOA_ERR_EXISTS if the id is registered, or STOA_ERR_NOMEM (table unchanged). */
int stoa_session_register(struct stoa_session_table *table, uint64_t client_id, uint64_t index);

/* Judges a write (client_id != 0). For REPLAY, *reply and *reply_length give the recorded
 * reply (borrowed, valid until the session next changes); an empty reply means it was too
 * large to keep. */
enum stoa_session_verdict stoa_session_check(const struct stoa_session_table *table,
                                             uint64_t client_id, uint64_t sequence,
                                             const uint8_t **reply, size_t *reply_length);

/* Records that the write (client_id, sequence) was applied at log index with this reply
 * (borrowed, copied; a reply over STOA_SESSION_REPLY_BYTES_MAX is stored as empty). The
 * session must exist and sequence must be new (asserted). Returns 0 or STOA_ERR_NOMEM (the
 * session then still advances its sequence, with an empty reply, so the write is never
 * applied twice). */
int stoa_session_record(struct stoa_session_table *table, uint64_t client_id, uint64_t sequence,
                        uint64_t index, const uint8_t *reply, size_t reply_length);

size_t stoa_session_count(const struct stoa_session_table *table);

/* ---- for snapshots ---- */

/* One session as a snapshot holds it; reply borrowed for the call. */
typedef void (*stoa_session_visit_fn)(void *context, uint64_t client_id, uint64_t sequence,
                                      uint64_t activity_index, const uint8_t *reply,
                                      size_t reply_length);

/* Calls fn for every session, in no particular order. fn must not change the table. */
void stoa_session_table_visit(const struct stoa_session_table *table, stoa_session_visit_fn fn,
                              void *context);

/* Puts back one session read from a snapshot. Returns 0, STOA_ERR_EXISTS for a client id
 * already present, STOA_ERR_MALFORMED for client id 0, a reply over the bound or a full table
 * (a snapshot never holds more than the bound), or STOA_ERR_NOMEM (table unchanged). */
int stoa_session_restore(struct stoa_session_table *table, uint64_t client_id, uint64_t sequence,
                         uint64_t activity_index, const uint8_t *reply, size_t reply_length);

#endif
