#include "engine/keyspace.h"

#include <string.h>
#include <xxhash.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* One key: a single block holding the expiry node, the value and the key bytes, which the
 * map borrows. The node is in the keyspace's expiry heap exactly when the key has an
 * expiry, and then its priority is the expiry (absolute unix ms). */
struct entry {
    struct stoa_heap_node expiry;
    struct stoa_value value;
    uint32_t key_length;
    uint8_t key[];
};

_Static_assert(STOA_KEY_BYTES_MAX <= UINT32_MAX, "key lengths fit in uint32_t");

/* Seeds the digest. Fixed, unlike the map's seed, so every replica computes the same. */
#define DIGEST_SEED 0x5701d16e57ULL

static const struct stoa_backend_ops backend_ops;

static size_t entry_size(size_t key_length) {
    return offsetof(struct entry, key) + key_length;
}

size_t stoa_keyspace_key_footprint(size_t key_length) {
    return entry_size(key_length) + stoa_map_entry_bytes() + 2 * STOA_ALLOC_HEADER_BYTES;
}

static size_t entry_footprint(const struct entry *entry) {
    return stoa_keyspace_key_footprint(entry->key_length) + stoa_value_footprint(&entry->value);
}

static struct entry *entry_of_value(const struct stoa_value *value) {
    return (struct entry *)((const char *)value - offsetof(struct entry, value));
}

static bool has_expiry(const struct entry *entry) {
    return entry->expiry.index != STOA_HEAP_INDEX_NONE;
}

static int64_t expiry_of(const struct entry *entry) {
    return has_expiry(entry) ? entry->expiry.priority : 0;
}

static bool is_expired(const struct entry *entry, int64_t now_ms) {
    return has_expiry(entry) && entry->expiry.priority <= now_ms;
}

static bool is_empty_deque(const struct stoa_value *value) {
    return value->type == STOA_VALUE_DEQUE && stoa_value_deque_length(value) == 0;
}

void stoa_keyspace_init(struct stoa_keyspace *keyspace,
                        const struct stoa_keyspace_options *options) {
    STOA_ASSERT(keyspace != NULL && options != NULL);
    *keyspace = (struct stoa_keyspace){
        .memory_bytes_max = options->memory_bytes_max,
        .eviction = options->eviction,
        .reclaim_horizon_ms = INT64_MAX,
        .backend = {.ops = &backend_ops, .self = keyspace},
    };
    stoa_map_init(&keyspace->map, options->seed);
    stoa_heap_init(&keyspace->expiry);
}

void stoa_keyspace_free(struct stoa_keyspace *keyspace) {
    stoa_keyspace_flush(keyspace);
}

void stoa_keyspace_limit_set(struct stoa_keyspace *keyspace, size_t memory_bytes_max,
                             enum stoa_keyspace_eviction eviction) {
    STOA_ASSERT(keyspace != NULL);
    keyspace->memory_bytes_max = memory_bytes_max;
    keyspace->eviction = eviction;
}

/* Sets or clears an entry's expiry. Returns 0 or STOA_ERR_NOMEM (unchanged) when the heap
 * must grow for a key that had no expiry. */
static int expiry_change(struct stoa_keyspace *keyspace, struct entry *entry,
                         int64_t expire_at_ms) {
    if (expire_at_ms == 0) {
        if (has_expiry(entry)) {
            stoa_heap_remove(&keyspace->expiry, &entry->expiry);
        }
        return STOA_OK;
    }
    if (has_expiry(entry)) {
        stoa_heap_update(&keyspace->expiry, &entry->expiry, expire_at_ms);
        return STOA_OK;
    }
    return stoa_heap_push(&keyspace->expiry, &entry->expiry, expire_at_ms);
}

/* Puts back an expiry that expiry_change replaced. The heap never shrinks its slot array,
 * so this never allocates and cannot fail. */
static void expiry_restore(struct stoa_keyspace *keyspace, struct entry *entry,
                           int64_t expire_at_ms) {
    int result = expiry_change(keyspace, entry, expire_at_ms);
    STOA_ASSERT(result == STOA_OK);
}

/* Frees an entry that is no longer in the map: its expiry node, its bytes and its value. */
static void entry_release(struct stoa_keyspace *keyspace, struct entry *entry) {
    if (has_expiry(entry)) {
        stoa_heap_remove(&keyspace->expiry, &entry->expiry);
    }
    keyspace->used_bytes -= entry_footprint(entry);
    stoa_value_free(&entry->value);
    stoa_free(entry);
}

static void entry_delete(struct stoa_keyspace *keyspace, struct entry *entry) {
    int result = stoa_map_remove(&keyspace->map, entry->key, entry->key_length, NULL);
    STOA_ASSERT(result == STOA_OK);
    entry_release(keyspace, entry);
}

/* The entry of key, visible or not, or NULL. */
static struct entry *find(const struct stoa_keyspace *keyspace, const void *key,
                          size_t key_length) {
    void *found = NULL;
    if (stoa_map_get(&keyspace->map, key, key_length, &found) != STOA_OK) {
        return NULL;
    }
    return found;
}

/* The entry of a visible key, or NULL; an expired entry is reclaimed on the way if the
 * horizon has passed its expiry (otherwise it stays, hidden). */
static struct entry *find_visible(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                                  size_t key_length) {
    STOA_ASSERT(keyspace != NULL);
    STOA_ASSERT(key != NULL || key_length == 0);
    struct entry *entry = find(keyspace, key, key_length);
    if (entry != NULL && is_expired(entry, now_ms)) {
        if (is_expired(entry, keyspace->reclaim_horizon_ms)) {
            entry_delete(keyspace, entry);
            keyspace->expired_count++;
        }
        return NULL;
    }
    return entry;
}

void stoa_keyspace_reclaim_horizon_set(struct stoa_keyspace *keyspace, int64_t horizon_ms) {
    STOA_ASSERT(keyspace != NULL);
    keyspace->reclaim_horizon_ms = horizon_ms;
}

int stoa_keyspace_lookup(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                         size_t key_length, const struct stoa_value **value,
                         int64_t *expire_at_ms) {
    struct entry *entry = find_visible(keyspace, now_ms, key, key_length);
    if (entry == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    if (value != NULL) {
        *value = &entry->value;
    }
    if (expire_at_ms != NULL) {
        *expire_at_ms = expiry_of(entry);
    }
    return STOA_OK;
}

int stoa_keyspace_lookup_for_write(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                                   size_t key_length, struct stoa_value **value,
                                   size_t *footprint) {
    STOA_ASSERT(value != NULL && footprint != NULL);
    struct entry *entry = find_visible(keyspace, now_ms, key, key_length);
    if (entry == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    *value = &entry->value;
    *footprint = stoa_value_footprint(&entry->value);
    return STOA_OK;
}

static bool fits(const struct stoa_keyspace *keyspace, size_t bytes) {
    size_t max = keyspace->memory_bytes_max;
    return max == 0 || (bytes <= max && keyspace->used_bytes <= max - bytes);
}

/* Evicts keys with the nearest expiry until bytes fit or no key with an expiry is left.
 * The loop runs at most once per key in the heap. */
static void evict_for(struct stoa_keyspace *keyspace, int64_t now_ms, size_t bytes) {
    while (!fits(keyspace, bytes)) {
        struct stoa_heap_node *node = stoa_heap_peek(&keyspace->expiry);
        if (node == NULL) {
            return;
        }
        struct entry *entry = STOA_HEAP_ENTRY(node, struct entry, expiry);
        bool expired = is_expired(entry, now_ms);
        entry_delete(keyspace, entry);
        keyspace->expired_count += expired ? 1 : 0;
        keyspace->evicted_count += expired ? 0 : 1;
    }
}

int stoa_keyspace_reserve(struct stoa_keyspace *keyspace, int64_t now_ms, size_t bytes,
                          const struct stoa_value *keep) {
    STOA_ASSERT(keyspace != NULL);
    if (fits(keyspace, bytes)) {
        return STOA_OK;
    }
    if (keyspace->eviction != STOA_KEYSPACE_EVICT_VOLATILE_TTL) {
        return STOA_ERR_OUT_OF_MEMORY;
    }
    /* The kept key leaves the heap while others are evicted, and comes back after. */
    struct entry *kept = keep == NULL ? NULL : entry_of_value(keep);
    int64_t kept_expiry = kept == NULL ? 0 : expiry_of(kept);
    if (kept_expiry != 0) {
        stoa_heap_remove(&keyspace->expiry, &kept->expiry);
    }
    evict_for(keyspace, now_ms, bytes);
    if (kept_expiry != 0) {
        expiry_restore(keyspace, kept, kept_expiry);
    }
    return fits(keyspace, bytes) ? STOA_OK : STOA_ERR_OUT_OF_MEMORY;
}

void stoa_keyspace_touched(struct stoa_keyspace *keyspace, struct stoa_value *value,
                           size_t old_footprint) {
    STOA_ASSERT(keyspace != NULL && value != NULL);
    struct entry *entry = entry_of_value(value);
    STOA_DEBUG_ASSERT(find(keyspace, entry->key, entry->key_length) == entry);
    STOA_ASSERT(keyspace->used_bytes >= old_footprint);
    keyspace->used_bytes = keyspace->used_bytes - old_footprint + stoa_value_footprint(value);
    if (is_empty_deque(value)) {
        entry_delete(keyspace, entry);
    }
}

/* Gives an existing entry a new value and expiry. */
static int replace(struct stoa_keyspace *keyspace, int64_t now_ms, struct entry *entry,
                   struct stoa_value *value, int64_t expire_at_ms) {
    int64_t old_expiry = expiry_of(entry);
    int result = expiry_change(keyspace, entry, expire_at_ms);
    if (result != STOA_OK) {
        return result;
    }
    size_t old_footprint = stoa_value_footprint(&entry->value);
    size_t new_footprint = stoa_value_footprint(value);
    if (new_footprint > old_footprint) {
        result =
            stoa_keyspace_reserve(keyspace, now_ms, new_footprint - old_footprint, &entry->value);
        if (result != STOA_OK) {
            expiry_restore(keyspace, entry, old_expiry);
            return result;
        }
    }
    stoa_value_free(&entry->value);
    entry->value = *value;
    stoa_value_init(value);
    keyspace->used_bytes = keyspace->used_bytes - old_footprint + new_footprint;
    return STOA_OK;
}

/* Adds a new entry for key. Every step that may fail comes before the value moves in, and
 * is undone on failure. */
static int insert(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                  size_t key_length, struct stoa_value *value, int64_t expire_at_ms) {
    struct entry *entry = stoa_alloc(entry_size(key_length));
    if (entry == NULL) {
        return STOA_ERR_NOMEM;
    }
    stoa_heap_node_init(&entry->expiry);
    stoa_value_init(&entry->value);
    entry->key_length = (uint32_t)key_length;
    if (key_length > 0) {
        memcpy(entry->key, key, key_length);
    }
    int result = stoa_map_put(&keyspace->map, entry->key, key_length, entry, NULL);
    if (result == STOA_OK) {
        result = expiry_change(keyspace, entry, expire_at_ms);
        if (result == STOA_OK) {
            size_t footprint = entry_footprint(entry) + stoa_value_footprint(value);
            result = stoa_keyspace_reserve(keyspace, now_ms, footprint, &entry->value);
        }
        if (result != STOA_OK) {
            expiry_restore(keyspace, entry, 0);
            (void)stoa_map_remove(&keyspace->map, entry->key, key_length, NULL);
        }
    }
    if (result != STOA_OK) {
        stoa_free(entry);
        return result;
    }
    entry->value = *value;
    stoa_value_init(value);
    keyspace->used_bytes += entry_footprint(entry);
    return STOA_OK;
}

int stoa_keyspace_put(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                      size_t key_length, struct stoa_value *value, int64_t expire_at_ms) {
    STOA_ASSERT(value != NULL && value->type != STOA_VALUE_NONE);
    STOA_ASSERT(!is_empty_deque(value));
    STOA_ASSERT(expire_at_ms >= 0);
    if (key_length > STOA_KEY_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct entry *entry = find_visible(keyspace, now_ms, key, key_length);
    if (entry == NULL) {
        entry = find(keyspace, key, key_length); /* expired, hidden: replaced like any */
    }
    if (expire_at_ms != 0 && expire_at_ms <= now_ms) {
        if (entry != NULL) {
            entry_delete(keyspace, entry);
        }
        stoa_value_free(value);
        return STOA_OK;
    }
    if (entry != NULL) {
        return replace(keyspace, now_ms, entry, value, expire_at_ms);
    }
    return insert(keyspace, now_ms, key, key_length, value, expire_at_ms);
}

int stoa_keyspace_delete(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                         size_t key_length) {
    struct entry *entry = find_visible(keyspace, now_ms, key, key_length);
    if (entry == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    entry_delete(keyspace, entry);
    return STOA_OK;
}

int stoa_keyspace_expiry_set(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                             size_t key_length, int64_t expire_at_ms) {
    STOA_ASSERT(expire_at_ms >= 0);
    struct entry *entry = find_visible(keyspace, now_ms, key, key_length);
    if (entry == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    if (expire_at_ms != 0 && expire_at_ms <= now_ms) {
        entry_delete(keyspace, entry);
        return STOA_OK;
    }
    return expiry_change(keyspace, entry, expire_at_ms);
}

/* Moves from's value and expiry to renamed (already in the map under its key) and frees
 * from, which is no longer in the map. */
static void move_entry(struct stoa_keyspace *keyspace, struct entry *from, struct entry *renamed) {
    int64_t expiry = expiry_of(from);
    if (expiry != 0) {
        stoa_heap_remove(&keyspace->expiry, &from->expiry);
        expiry_restore(keyspace, renamed, expiry);
    }
    renamed->value = from->value;
    keyspace->used_bytes -= stoa_keyspace_key_footprint(from->key_length);
    keyspace->used_bytes += stoa_keyspace_key_footprint(renamed->key_length);
    stoa_free(from);
}

int stoa_keyspace_rename(struct stoa_keyspace *keyspace, int64_t now_ms, const void *from_key,
                         size_t from_key_length, const void *to_key, size_t to_key_length) {
    STOA_ASSERT(to_key != NULL || to_key_length == 0);
    struct entry *from = find_visible(keyspace, now_ms, from_key, from_key_length);
    if (from == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    if (to_key_length > STOA_KEY_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    if (to_key_length == from_key_length &&
        (to_key_length == 0 || memcmp(to_key, from->key, to_key_length) == 0)) {
        return STOA_OK;
    }
    struct entry *renamed = stoa_alloc(entry_size(to_key_length));
    if (renamed == NULL) {
        return STOA_ERR_NOMEM;
    }
    stoa_heap_node_init(&renamed->expiry);
    stoa_value_init(&renamed->value);
    renamed->key_length = (uint32_t)to_key_length;
    if (to_key_length > 0) {
        memcpy(renamed->key, to_key, to_key_length);
    }
    struct entry *replaced = find_visible(keyspace, now_ms, to_key, to_key_length);
    if (replaced == NULL) {
        replaced = find(keyspace, to_key, to_key_length); /* expired, hidden */
    }
    void *old = NULL;
    int result = stoa_map_put(&keyspace->map, renamed->key, to_key_length, renamed, &old);
    if (result != STOA_OK) {
        stoa_free(renamed);
        return result;
    }
    STOA_ASSERT(old == replaced);
    if (replaced != NULL) {
        entry_release(keyspace, replaced);
    }
    result = stoa_map_remove(&keyspace->map, from->key, from->key_length, NULL);
    STOA_ASSERT(result == STOA_OK);
    move_entry(keyspace, from, renamed);
    return STOA_OK;
}

size_t stoa_keyspace_count(const struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    return stoa_map_count(&keyspace->map);
}

size_t stoa_keyspace_volatile_count(const struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    return stoa_heap_count(&keyspace->expiry);
}

int64_t stoa_keyspace_next_expiry(const struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    const struct stoa_heap_node *node = stoa_heap_peek(&keyspace->expiry);
    return node != NULL ? node->priority : 0;
}

size_t stoa_keyspace_used_bytes(const struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    return keyspace->used_bytes;
}

uint64_t stoa_keyspace_evicted_count(const struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    return keyspace->evicted_count;
}

uint64_t stoa_keyspace_expired_count(const struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    return keyspace->expired_count;
}

void stoa_keyspace_flush(struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    /* The heap goes first: freeing it writes to the nodes inside the entries. */
    stoa_heap_free(&keyspace->expiry);
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, &keyspace->map);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *found = NULL;
    while (stoa_map_cursor_next(&cursor, &key, &key_length, &found)) {
        struct entry *entry = found;
        stoa_value_free(&entry->value);
        stoa_free(entry);
    }
    stoa_map_free(&keyspace->map);
    keyspace->used_bytes = 0;
}

size_t stoa_keyspace_expire_step(struct stoa_keyspace *keyspace, int64_t now_ms, size_t max_keys) {
    STOA_ASSERT(keyspace != NULL);
    STOA_ASSERT(max_keys <= STOA_KEYSPACE_EXPIRE_STEP_KEYS_MAX);
    size_t reclaimed = 0;
    while (reclaimed < max_keys) {
        struct stoa_heap_node *node = stoa_heap_peek(&keyspace->expiry);
        if (node == NULL || node->priority > now_ms ||
            node->priority > keyspace->reclaim_horizon_ms) {
            break;
        }
        entry_delete(keyspace, STOA_HEAP_ENTRY(node, struct entry, expiry));
        keyspace->expired_count++;
        reclaimed++;
    }
    return reclaimed;
}

/* What a scan step passes to each entry of the buckets it visits. */
struct scan_state {
    int64_t now_ms;
    stoa_backend_scan_fn fn;
    void *context;
    size_t returned;
};

static void scan_entry(void *context, const uint8_t *key, size_t key_length, void *found) {
    struct scan_state *state = context;
    const struct entry *entry = found;
    if (is_expired(entry, state->now_ms)) {
        return;
    }
    state->fn(state->context, key, key_length, &entry->value, expiry_of(entry));
    state->returned++;
}

uint64_t stoa_keyspace_scan(const struct stoa_keyspace *keyspace, int64_t now_ms, uint64_t cursor,
                            size_t count, stoa_backend_scan_fn fn, void *context) {
    STOA_ASSERT(keyspace != NULL && fn != NULL);
    STOA_ASSERT(count > 0 && count <= SIZE_MAX / STOA_KEYSPACE_SCAN_EMPTY_BUCKETS_PER_KEY);
    struct scan_state state = {.now_ms = now_ms, .fn = fn, .context = context};
    size_t buckets_max = count * STOA_KEYSPACE_SCAN_EMPTY_BUCKETS_PER_KEY;
    for (size_t visited = 0; visited < buckets_max && state.returned < count; visited++) {
        cursor = stoa_map_scan(&keyspace->map, cursor, scan_entry, &state);
        if (cursor == 0) {
            break;
        }
    }
    return cursor;
}

/* Picks one visible entry of the buckets a scan step visits, each with equal chance
 * (reservoir sampling driven by a splitmix64 stream from the caller's random number). */
struct pick_state {
    int64_t now_ms;
    uint64_t random;
    size_t seen;
    const struct entry *chosen;
};

static void pick_entry(void *context, const uint8_t *key, size_t key_length, void *found) {
    (void)key;
    (void)key_length;
    struct pick_state *state = context;
    const struct entry *entry = found;
    if (is_expired(entry, state->now_ms)) {
        return;
    }
    state->seen++;
    /* Keep this entry with chance 1 / seen. The modulo bias is far below anything a
     * RANDOMKEY caller could notice. */
    uint64_t draw = XXH3_64bits_withSeed(&state->seen, sizeof(state->seen), state->random);
    if (draw % state->seen == 0) {
        state->chosen = entry;
    }
}

int stoa_keyspace_random_key(const struct stoa_keyspace *keyspace, int64_t now_ms, uint64_t random,
                             const uint8_t **key, size_t *key_length) {
    STOA_ASSERT(keyspace != NULL && key != NULL && key_length != NULL);
    struct pick_state state = {.now_ms = now_ms, .random = random};
    /* Starting at a random bucket, one lap of the table visits every bucket once; the bound
     * (every bucket of both tables, plus the step that wraps) is never reached early. */
    size_t steps_max = stoa_map_bucket_count(&keyspace->map) + 1;
    uint64_t cursor = random;
    for (size_t step = 0; step < steps_max && state.chosen == NULL; step++) {
        cursor = stoa_map_scan(&keyspace->map, cursor, pick_entry, &state);
    }
    if (state.chosen == NULL) {
        return STOA_ERR_NOT_FOUND;
    }
    *key = state.chosen->key;
    *key_length = state.chosen->key_length;
    return STOA_OK;
}

static uint64_t hash_u64(uint64_t number, uint64_t seed) {
    uint8_t bytes[8];
    for (size_t i = 0; i < 8; i++) {
        bytes[i] = (uint8_t)(number >> (8 * i));
    }
    return XXH3_64bits_withSeed(bytes, sizeof(bytes), seed);
}

/* The hash of one key's serialized state: expiry, key, then the value's type and contents. */
uint64_t stoa_keyspace_key_digest(const void *key, size_t key_length,
                                  const struct stoa_value *value, int64_t expire_at_ms) {
    STOA_ASSERT(value != NULL);
    STOA_ASSERT(key != NULL || key_length == 0);
    uint64_t hash = hash_u64((uint64_t)expire_at_ms, DIGEST_SEED);
    hash = hash_u64(key_length, hash);
    hash = XXH3_64bits_withSeed(key, key_length, hash);
    return stoa_value_digest(value, hash);
}

static uint64_t entry_digest(const struct entry *entry) {
    return stoa_keyspace_key_digest(entry->key, entry->key_length, &entry->value,
                                    expiry_of(entry));
}

uint64_t stoa_keyspace_digest(const struct stoa_keyspace *keyspace, int64_t now_ms) {
    STOA_ASSERT(keyspace != NULL);
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, &keyspace->map);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *found = NULL;
    uint64_t digest = 0;
    while (stoa_map_cursor_next(&cursor, &key, &key_length, &found)) {
        const struct entry *entry = found;
        if (!is_expired(entry, now_ms)) {
            digest += entry_digest(entry);
        }
    }
    return digest;
}

void stoa_keyspace_check(const struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    stoa_map_check(&keyspace->map);
    stoa_heap_check(&keyspace->expiry);
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, &keyspace->map);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *found = NULL;
    size_t used_bytes = 0;
    size_t volatile_count = 0;
    while (stoa_map_cursor_next(&cursor, &key, &key_length, &found)) {
        const struct entry *entry = found;
        STOA_ASSERT(key == entry->key && key_length == entry->key_length);
        STOA_ASSERT(key_length <= STOA_KEY_BYTES_MAX);
        STOA_ASSERT(entry->value.type != STOA_VALUE_NONE);
        STOA_ASSERT(!is_empty_deque(&entry->value));
        if (has_expiry(entry)) {
            STOA_ASSERT(stoa_heap_contains(&keyspace->expiry, &entry->expiry));
            STOA_ASSERT(entry->expiry.priority > 0);
            volatile_count++;
        }
        used_bytes += entry_footprint(entry);
    }
    STOA_ASSERT(volatile_count == stoa_heap_count(&keyspace->expiry));
    STOA_ASSERT(used_bytes == keyspace->used_bytes);
}

/* ---- the keyspace as a backend ---- */

static struct stoa_keyspace *keyspace_of(struct stoa_backend *backend) {
    STOA_ASSERT(backend != NULL && backend->ops == &backend_ops);
    return backend->self;
}

static int backend_lookup(struct stoa_backend *backend, int64_t now_ms, const void *key,
                          size_t key_length, const struct stoa_value **value,
                          int64_t *expire_at_ms) {
    return stoa_keyspace_lookup(keyspace_of(backend), now_ms, key, key_length, value, expire_at_ms);
}

static int backend_lookup_for_write(struct stoa_backend *backend, int64_t now_ms, const void *key,
                                    size_t key_length, struct stoa_value **value,
                                    size_t *footprint) {
    return stoa_keyspace_lookup_for_write(keyspace_of(backend), now_ms, key, key_length, value,
                                          footprint);
}

static int backend_reserve(struct stoa_backend *backend, int64_t now_ms, size_t bytes,
                           const struct stoa_value *keep) {
    return stoa_keyspace_reserve(keyspace_of(backend), now_ms, bytes, keep);
}

static int backend_commit(struct stoa_backend *backend, int64_t now_ms, const void *key,
                          size_t key_length, struct stoa_value *value, size_t old_footprint) {
    (void)now_ms;
    struct entry *entry = entry_of_value(value);
    STOA_ASSERT(entry->key_length == key_length);
    STOA_ASSERT(key_length == 0 || memcmp(entry->key, key, key_length) == 0);
    stoa_keyspace_touched(keyspace_of(backend), value, old_footprint);
    return STOA_OK;
}

static void backend_release(struct stoa_backend *backend, struct stoa_value *value) {
    (void)keyspace_of(backend);
    STOA_ASSERT(value != NULL);
}

static int backend_put(struct stoa_backend *backend, int64_t now_ms, const void *key,
                       size_t key_length, struct stoa_value *value, int64_t expire_at_ms) {
    return stoa_keyspace_put(keyspace_of(backend), now_ms, key, key_length, value, expire_at_ms);
}

static int backend_remove(struct stoa_backend *backend, int64_t now_ms, const void *key,
                          size_t key_length) {
    return stoa_keyspace_delete(keyspace_of(backend), now_ms, key, key_length);
}

static int backend_expiry_set(struct stoa_backend *backend, int64_t now_ms, const void *key,
                              size_t key_length, int64_t expire_at_ms) {
    return stoa_keyspace_expiry_set(keyspace_of(backend), now_ms, key, key_length, expire_at_ms);
}

static int backend_rename(struct stoa_backend *backend, int64_t now_ms, const void *from_key,
                          size_t from_key_length, const void *to_key, size_t to_key_length) {
    return stoa_keyspace_rename(keyspace_of(backend), now_ms, from_key, from_key_length, to_key,
                                to_key_length);
}

static int backend_count(struct stoa_backend *backend, size_t *count) {
    STOA_ASSERT(count != NULL);
    *count = stoa_keyspace_count(keyspace_of(backend));
    return STOA_OK;
}

static int backend_flush(struct stoa_backend *backend) {
    stoa_keyspace_flush(keyspace_of(backend));
    return STOA_OK;
}

static int backend_scan(struct stoa_backend *backend, int64_t now_ms, uint64_t cursor, size_t count,
                        stoa_backend_scan_fn fn, void *context, uint64_t *next_cursor) {
    STOA_ASSERT(next_cursor != NULL);
    *next_cursor = stoa_keyspace_scan(keyspace_of(backend), now_ms, cursor, count, fn, context);
    return STOA_OK;
}

static int backend_random_key(struct stoa_backend *backend, int64_t now_ms, uint64_t random,
                              const uint8_t **key, size_t *key_length) {
    return stoa_keyspace_random_key(keyspace_of(backend), now_ms, random, key, key_length);
}

static int backend_digest(struct stoa_backend *backend, int64_t now_ms, uint64_t *digest) {
    STOA_ASSERT(digest != NULL);
    *digest = stoa_keyspace_digest(keyspace_of(backend), now_ms);
    return STOA_OK;
}

static const struct stoa_backend_ops backend_ops = {
    .lookup = backend_lookup,
    .lookup_for_write = backend_lookup_for_write,
    .reserve = backend_reserve,
    .commit = backend_commit,
    .release = backend_release,
    .put = backend_put,
    .remove = backend_remove,
    .expiry_set = backend_expiry_set,
    .rename = backend_rename,
    .count = backend_count,
    .flush = backend_flush,
    .scan = backend_scan,
    .random_key = backend_random_key,
    .digest = backend_digest,
};

struct stoa_backend *stoa_keyspace_backend(struct stoa_keyspace *keyspace) {
    STOA_ASSERT(keyspace != NULL);
    return &keyspace->backend;
}
