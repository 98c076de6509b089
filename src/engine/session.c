#include "engine/session.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

struct session {
    uint8_t key[8]; /* the client id, little-endian: the map borrows it */
    uint64_t sequence;
    struct stoa_heap_node activity; /* priority: log index of the last write or register */
    uint8_t *reply;
    size_t reply_length;
};

static void key_of(uint64_t client_id, uint8_t key[8]) {
    for (int i = 0; i < 8; i++) {
        key[i] = (uint8_t)(client_id >> (8 * i));
    }
}

static struct session *find(const struct stoa_session_table *table, uint64_t client_id) {
    uint8_t key[8];
    key_of(client_id, key);
    void *value = NULL;
    return stoa_map_get(&table->sessions, key, sizeof(key), &value) == STOA_OK ? value : NULL;
}

static void destroy(struct session *session) {
    stoa_free(session->reply);
    stoa_free(session);
}

void stoa_session_table_init(struct stoa_session_table *table, size_t count_max, uint64_t seed) {
    STOA_ASSERT(table != NULL && count_max > 0);
    stoa_map_init(&table->sessions, seed);
    stoa_heap_init(&table->by_activity);
    table->count_max = count_max;
}

void stoa_session_table_free(struct stoa_session_table *table) {
    STOA_ASSERT(table != NULL);
    struct stoa_heap_node *node = NULL;
    while ((node = stoa_heap_pop(&table->by_activity)) != NULL) {
        destroy(STOA_HEAP_ENTRY(node, struct session, activity));
    }
    stoa_heap_free(&table->by_activity);
    stoa_map_free(&table->sessions);
}

/* Drops the least recently active session. */
static void drop_oldest(struct stoa_session_table *table) {
    struct stoa_heap_node *node = stoa_heap_pop(&table->by_activity);
    STOA_ASSERT(node != NULL);
    struct session *session = STOA_HEAP_ENTRY(node, struct session, activity);
    int removed = stoa_map_remove(&table->sessions, session->key, sizeof(session->key), NULL);
    STOA_ASSERT(removed == STOA_OK);
    destroy(session);
}

int stoa_session_register(struct stoa_session_table *table, uint64_t client_id, uint64_t index) {
    STOA_ASSERT(table != NULL && client_id != 0 && index <= INT64_MAX);
    if (find(table, client_id) != NULL) {
        return STOA_ERR_EXISTS;
    }
    struct session *session = stoa_calloc(1, sizeof(*session));
    if (session == NULL) {
        return STOA_ERR_NOMEM;
    }
    key_of(client_id, session->key);
    stoa_heap_node_init(&session->activity);
    /* Reserve the heap slot first: after the push nothing else can fail but the map put,
     * which is undone below. */
    int result = stoa_heap_push(&table->by_activity, &session->activity, (int64_t)index);
    if (result == STOA_OK) {
        result = stoa_map_put(&table->sessions, session->key, sizeof(session->key), session, NULL);
        if (result != STOA_OK) {
            stoa_heap_remove(&table->by_activity, &session->activity);
        }
    }
    if (result != STOA_OK) {
        stoa_free(session);
        return result;
    }
    if (stoa_map_count(&table->sessions) > table->count_max) {
        drop_oldest(table);
    }
    return STOA_OK;
}

enum stoa_session_verdict stoa_session_check(const struct stoa_session_table *table,
                                             uint64_t client_id, uint64_t sequence,
                                             const uint8_t **reply, size_t *reply_length) {
    STOA_ASSERT(table != NULL && client_id != 0 && reply != NULL && reply_length != NULL);
    const struct session *session = find(table, client_id);
    if (session == NULL) {
        return STOA_SESSION_EXPIRED;
    }
    if (sequence > session->sequence) {
        return STOA_SESSION_NEW;
    }
    if (sequence < session->sequence) {
        return STOA_SESSION_STALE;
    }
    *reply = session->reply;
    *reply_length = session->reply_length;
    return STOA_SESSION_REPLAY;
}

int stoa_session_record(struct stoa_session_table *table, uint64_t client_id, uint64_t sequence,
                        uint64_t index, const uint8_t *reply, size_t reply_length) {
    STOA_ASSERT(table != NULL && index <= INT64_MAX);
    struct session *session = find(table, client_id);
    STOA_ASSERT(session != NULL && sequence > session->sequence);
    session->sequence = sequence;
    stoa_heap_update(&table->by_activity, &session->activity, (int64_t)index);
    stoa_free(session->reply);
    session->reply = NULL;
    session->reply_length = 0;
    if (reply_length == 0 || reply_length > STOA_SESSION_REPLY_BYTES_MAX) {
        return STOA_OK;
    }
    uint8_t *copy = stoa_alloc(reply_length);
    if (copy == NULL) {
        return STOA_ERR_NOMEM;
    }
    memcpy(copy, reply, reply_length);
    session->reply = copy;
    session->reply_length = reply_length;
    return STOA_OK;
}

size_t stoa_session_count(const struct stoa_session_table *table) {
    STOA_ASSERT(table != NULL);
    return stoa_map_count(&table->sessions);
}

void stoa_session_table_visit(const struct stoa_session_table *table, stoa_session_visit_fn fn,
                              void *context) {
    STOA_ASSERT(table != NULL && fn != NULL);
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, &table->sessions);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *value = NULL;
    while (stoa_map_cursor_next(&cursor, &key, &key_length, &value)) {
        const struct session *session = value;
        uint64_t client_id = 0;
        for (int i = 0; i < 8; i++) {
            client_id |= (uint64_t)session->key[i] << (8 * i);
        }
        fn(context, client_id, session->sequence, (uint64_t)session->activity.priority,
           session->reply, session->reply_length);
    }
}

int stoa_session_restore(struct stoa_session_table *table, uint64_t client_id, uint64_t sequence,
                         uint64_t activity_index, const uint8_t *reply, size_t reply_length) {
    STOA_ASSERT(table != NULL && (reply != NULL || reply_length == 0));
    if (client_id == 0 || reply_length > STOA_SESSION_REPLY_BYTES_MAX ||
        activity_index > INT64_MAX || stoa_session_count(table) >= table->count_max) {
        return STOA_ERR_MALFORMED;
    }
    uint8_t *copy = NULL;
    if (reply_length > 0) {
        copy = stoa_alloc(reply_length);
        if (copy == NULL) {
            return STOA_ERR_NOMEM;
        }
        memcpy(copy, reply, reply_length);
    }
    int result = stoa_session_register(table, client_id, activity_index);
    if (result != STOA_OK) {
        stoa_free(copy);
        return result;
    }
    struct session *session = find(table, client_id);
    STOA_ASSERT(session != NULL);
    session->sequence = sequence;
    session->reply = copy;
    session->reply_length = reply_length;
    return STOA_OK;
}
