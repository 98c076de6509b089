#include "engine/overlay.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* A key the overlay has taken over: one block holding the key bytes, which the owned map
 * borrows (the map's value is the block itself). */
struct owned_key {
    uint32_t key_length;
    uint8_t key[];
};

_Static_assert(STOA_KEY_BYTES_MAX <= UINT32_MAX, "key lengths fit in uint32_t");

/* The time at which the overlay reads base. Expiries are absolute unix ms and never 0 (0 means
 * none), so at 0 no key of base has expired and base reclaims nothing: the overlay judges
 * expiry itself against the now_ms of each call. */
#define BASE_READ_MS 0

static const struct stoa_backend_ops backend_ops;

static bool is_expired(int64_t expire_at_ms, int64_t now_ms) {
    return expire_at_ms != 0 && expire_at_ms <= now_ms;
}

static size_t owned_key_size(size_t key_length) {
    return offsetof(struct owned_key, key) + key_length;
}

/* What owning one key costs: its block and the map's entry block, with their headers. */
static size_t owned_key_footprint(size_t key_length) {
    return owned_key_size(key_length) + stoa_map_entry_bytes() + 2 * STOA_ALLOC_HEADER_BYTES;
}

void stoa_overlay_init(struct stoa_overlay *overlay, struct stoa_backend *base, uint64_t seed) {
    STOA_ASSERT(overlay != NULL && base != NULL);
    *overlay = (struct stoa_overlay){
        .base = base,
        .backend = {.ops = &backend_ops, .self = overlay},
    };
    /* No memory limit: the view never evicts (see overlay.h). */
    struct stoa_keyspace_options options = {.seed = seed};
    stoa_keyspace_init(&overlay->changes, &options);
    stoa_map_init(&overlay->owned, seed ^ 0x6f776e6564ULL);
}

/* Frees every owned key's block and empties the owned set. */
static void owned_free(struct stoa_overlay *overlay) {
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, &overlay->owned);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *found = NULL;
    while (stoa_map_cursor_next(&cursor, &key, &key_length, &found)) {
        stoa_free(found);
    }
    stoa_map_free(&overlay->owned);
    overlay->owned_bytes = 0;
}

void stoa_overlay_clear(struct stoa_overlay *overlay) {
    STOA_ASSERT(overlay != NULL);
    stoa_keyspace_flush(&overlay->changes);
    owned_free(overlay);
    overlay->flushed = false;
}

void stoa_overlay_free(struct stoa_overlay *overlay) {
    stoa_overlay_clear(overlay);
}

struct stoa_backend *stoa_overlay_backend(struct stoa_overlay *overlay) {
    STOA_ASSERT(overlay != NULL);
    return &overlay->backend;
}

size_t stoa_overlay_key_count(const struct stoa_overlay *overlay) {
    STOA_ASSERT(overlay != NULL);
    return stoa_map_count(&overlay->owned);
}

size_t stoa_overlay_used_bytes(const struct stoa_overlay *overlay) {
    STOA_ASSERT(overlay != NULL);
    return stoa_keyspace_used_bytes(&overlay->changes) + overlay->owned_bytes;
}

bool stoa_overlay_flushed(const struct stoa_overlay *overlay) {
    STOA_ASSERT(overlay != NULL);
    return overlay->flushed;
}

/* ---- owning keys ---- */

static bool is_owned(const struct stoa_overlay *overlay, const void *key, size_t key_length) {
    void *found = NULL;
    return stoa_map_get(&overlay->owned, key, key_length, &found) == STOA_OK;
}

/* Takes key over; *added says whether it was not owned before. Returns 0 or STOA_ERR_NOMEM
 * (nothing changed). */
static int own(struct stoa_overlay *overlay, const void *key, size_t key_length, bool *added) {
    STOA_ASSERT(key_length <= STOA_KEY_BYTES_MAX);
    *added = false;
    if (is_owned(overlay, key, key_length)) {
        return STOA_OK;
    }
    struct owned_key *block = stoa_alloc(owned_key_size(key_length));
    if (block == NULL) {
        return STOA_ERR_NOMEM;
    }
    block->key_length = (uint32_t)key_length;
    if (key_length > 0) {
        memcpy(block->key, key, key_length);
    }
    int result = stoa_map_put(&overlay->owned, block->key, key_length, block, NULL);
    if (result != STOA_OK) {
        stoa_free(block);
        return result;
    }
    overlay->owned_bytes += owned_key_footprint(key_length);
    *added = true;
    return STOA_OK;
}

/* Gives back a key that own() just added, when the change it was taken for failed. The key
 * must not be in changes (base shows through again). */
static void disown(struct stoa_overlay *overlay, const void *key, size_t key_length) {
    void *found = NULL;
    int result = stoa_map_remove(&overlay->owned, key, key_length, &found);
    STOA_ASSERT(result == STOA_OK);
    struct owned_key *block = found;
    overlay->owned_bytes -= owned_key_footprint(block->key_length);
    stoa_free(block);
}

/* ---- what the view shows ---- */

/* base's value of key as of now_ms (the overlay's judgement of expiry; base reclaims
 * nothing). Out-parameters (each may be NULL) are untouched on failure. */
static int base_lookup(struct stoa_overlay *overlay, int64_t now_ms, const void *key,
                       size_t key_length, const struct stoa_value **value, int64_t *expire_at_ms) {
    const struct stoa_value *found = NULL;
    int64_t expiry = 0;
    int result = stoa_backend_lookup(overlay->base, BASE_READ_MS, key, key_length, &found, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (is_expired(expiry, now_ms)) {
        return STOA_ERR_NOT_FOUND;
    }
    if (value != NULL) {
        *value = found;
    }
    if (expire_at_ms != NULL) {
        *expire_at_ms = expiry;
    }
    return STOA_OK;
}

/* The visible value of key: changes' if the key is owned (never base's then), nothing after a
 * flush, else base's. */
static int view_lookup(struct stoa_overlay *overlay, int64_t now_ms, const void *key,
                       size_t key_length, const struct stoa_value **value, int64_t *expire_at_ms) {
    STOA_ASSERT(key != NULL || key_length == 0);
    if (is_owned(overlay, key, key_length)) {
        return stoa_keyspace_lookup(&overlay->changes, now_ms, key, key_length, value,
                                    expire_at_ms);
    }
    if (overlay->flushed) {
        return STOA_ERR_NOT_FOUND;
    }
    return base_lookup(overlay, now_ms, key, key_length, value, expire_at_ms);
}

/* Makes the visible value of key live in changes, copying base's (with its expiry) if the key
 * is not owned yet, so that changes' own operations can act on it. Returns 0,
 * STOA_ERR_NOT_FOUND (not visible; nothing changed) or STOA_ERR_NOMEM (nothing changed). */
static int take_over(struct stoa_overlay *overlay, int64_t now_ms, const void *key,
                     size_t key_length) {
    STOA_ASSERT(key != NULL || key_length == 0);
    if (is_owned(overlay, key, key_length)) {
        return stoa_keyspace_lookup(&overlay->changes, now_ms, key, key_length, NULL, NULL);
    }
    if (overlay->flushed) {
        return STOA_ERR_NOT_FOUND;
    }
    const struct stoa_value *found = NULL;
    int64_t expiry = 0;
    int result = base_lookup(overlay, now_ms, key, key_length, &found, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    if (overlay->copy_bytes_max != 0 && stoa_value_footprint(found) > overlay->copy_bytes_max) {
        overlay->declined = true;
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_value copy;
    stoa_value_init(&copy);
    result = stoa_value_copy(&copy, found);
    if (result != STOA_OK) {
        return result;
    }
    bool added = false;
    result = own(overlay, key, key_length, &added);
    if (result == STOA_OK) {
        result = stoa_keyspace_put(&overlay->changes, now_ms, key, key_length, &copy, expiry);
        if (result != STOA_OK) {
            disown(overlay, key, key_length);
        }
    }
    stoa_value_free(&copy); /* holds nothing once put took it */
    return result;
}

void stoa_overlay_copy_limit_set(struct stoa_overlay *overlay, size_t bytes) {
    STOA_ASSERT(overlay != NULL);
    overlay->copy_bytes_max = bytes;
}

bool stoa_overlay_take_declined(struct stoa_overlay *overlay) {
    STOA_ASSERT(overlay != NULL);
    bool declined = overlay->declined;
    overlay->declined = false;
    return declined;
}

/* ---- the overlay as a backend ---- */

static struct stoa_overlay *overlay_of(struct stoa_backend *backend) {
    STOA_ASSERT(backend != NULL && backend->ops == &backend_ops);
    return backend->self;
}

static struct stoa_backend *changes_of(struct stoa_overlay *overlay) {
    return stoa_keyspace_backend(&overlay->changes);
}

static int backend_lookup(struct stoa_backend *backend, int64_t now_ms, const void *key,
                          size_t key_length, const struct stoa_value **value,
                          int64_t *expire_at_ms) {
    return view_lookup(overlay_of(backend), now_ms, key, key_length, value, expire_at_ms);
}

static int backend_lookup_for_write(struct stoa_backend *backend, int64_t now_ms, const void *key,
                                    size_t key_length, struct stoa_value **value,
                                    size_t *footprint) {
    STOA_ASSERT(value != NULL && footprint != NULL);
    struct stoa_overlay *overlay = overlay_of(backend);
    int result = take_over(overlay, now_ms, key, key_length);
    if (result != STOA_OK) {
        return result;
    }
    return stoa_keyspace_lookup_for_write(&overlay->changes, now_ms, key, key_length, value,
                                          footprint);
}

static int backend_reserve(struct stoa_backend *backend, int64_t now_ms, size_t bytes,
                           const struct stoa_value *keep) {
    /* Delegated as the design says, though changes has no limit, so this always fits: the
     * view never refuses or evicts for memory (overlay.h). */
    int result = stoa_keyspace_reserve(&overlay_of(backend)->changes, now_ms, bytes, keep);
    STOA_ASSERT(result == STOA_OK);
    return result;
}

static int backend_commit(struct stoa_backend *backend, int64_t now_ms, const void *key,
                          size_t key_length, struct stoa_value *value, size_t old_footprint) {
    /* A deque emptied here is deleted from changes; the key stays owned, so it is not found
     * (base's value must not show through). */
    return stoa_backend_commit(changes_of(overlay_of(backend)), now_ms, key, key_length, value,
                               old_footprint);
}

static void backend_release(struct stoa_backend *backend, struct stoa_value *value) {
    stoa_backend_release(changes_of(overlay_of(backend)), value);
}

static int backend_put(struct stoa_backend *backend, int64_t now_ms, const void *key,
                       size_t key_length, struct stoa_value *value, int64_t expire_at_ms) {
    STOA_ASSERT(key != NULL || key_length == 0);
    struct stoa_overlay *overlay = overlay_of(backend);
    if (key_length > STOA_KEY_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    bool added = false;
    int result = own(overlay, key, key_length, &added);
    if (result != STOA_OK) {
        return result;
    }
    result = stoa_keyspace_put(&overlay->changes, now_ms, key, key_length, value, expire_at_ms);
    if (result != STOA_OK && added) {
        disown(overlay, key, key_length);
    }
    return result;
}

static int backend_remove(struct stoa_backend *backend, int64_t now_ms, const void *key,
                          size_t key_length) {
    STOA_ASSERT(key != NULL || key_length == 0);
    struct stoa_overlay *overlay = overlay_of(backend);
    if (is_owned(overlay, key, key_length)) {
        return stoa_keyspace_delete(&overlay->changes, now_ms, key, key_length);
    }
    if (overlay->flushed) {
        return STOA_ERR_NOT_FOUND;
    }
    int result = base_lookup(overlay, now_ms, key, key_length, NULL, NULL);
    if (result != STOA_OK) {
        return result;
    }
    /* Owned and absent from changes: deleted in the view. */
    bool added = false;
    return own(overlay, key, key_length, &added);
}

static int backend_expiry_set(struct stoa_backend *backend, int64_t now_ms, const void *key,
                              size_t key_length, int64_t expire_at_ms) {
    struct stoa_overlay *overlay = overlay_of(backend);
    int result = take_over(overlay, now_ms, key, key_length);
    if (result != STOA_OK) {
        return result;
    }
    /* A time <= now_ms deletes the key from changes; it stays owned, so it is not found. */
    return stoa_keyspace_expiry_set(&overlay->changes, now_ms, key, key_length, expire_at_ms);
}

/* RENAME with the keyspace's semantics (keyspace.h), all-or-nothing: the checks come in the
 * keyspace's order, then from moves into changes, to is taken over (hiding base's value of
 * to), and changes renames. A failure gives back a to that was taken over for it; from's copy
 * may stay, which changes nothing visible. */
static int backend_rename(struct stoa_backend *backend, int64_t now_ms, const void *from_key,
                          size_t from_key_length, const void *to_key, size_t to_key_length) {
    STOA_ASSERT(to_key != NULL || to_key_length == 0);
    struct stoa_overlay *overlay = overlay_of(backend);
    int result = view_lookup(overlay, now_ms, from_key, from_key_length, NULL, NULL);
    if (result != STOA_OK) {
        return result;
    }
    if (to_key_length > STOA_KEY_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    if (to_key_length == from_key_length &&
        (to_key_length == 0 || memcmp(to_key, from_key, to_key_length) == 0)) {
        return STOA_OK;
    }
    result = take_over(overlay, now_ms, from_key, from_key_length);
    if (result != STOA_OK) {
        return result;
    }
    bool added = false;
    result = own(overlay, to_key, to_key_length, &added);
    if (result != STOA_OK) {
        return result;
    }
    result = stoa_keyspace_rename(&overlay->changes, now_ms, from_key, from_key_length, to_key,
                                  to_key_length);
    if (result != STOA_OK && added) {
        disown(overlay, to_key, to_key_length);
    }
    return result;
}

/* Whether base holds key (visible or not yet reclaimed, as base's count counts it). Returns 0
 * and sets *held, or base's error. */
static int base_holds(struct stoa_overlay *overlay, const uint8_t *key, size_t key_length,
                      bool *held) {
    int result = stoa_backend_lookup(overlay->base, BASE_READ_MS, key, key_length, NULL, NULL);
    if (result != STOA_OK && result != STOA_ERR_NOT_FOUND) {
        return result;
    }
    *held = result == STOA_OK;
    return STOA_OK;
}

/* Keys held by the view, counting (as base and the keyspace do) expired keys not yet
 * reclaimed: base's count, corrected for each owned key. O(keys owned). */
static int backend_count(struct stoa_backend *backend, size_t *count) {
    STOA_ASSERT(count != NULL);
    struct stoa_overlay *overlay = overlay_of(backend);
    if (overlay->flushed) {
        *count = stoa_keyspace_count(&overlay->changes);
        return STOA_OK;
    }
    size_t held_count = 0;
    int result = stoa_backend_count(overlay->base, &held_count);
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, &overlay->owned);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *found = NULL;
    while (result == STOA_OK && stoa_map_cursor_next(&cursor, &key, &key_length, &found)) {
        bool in_base = false;
        result = base_holds(overlay, key, key_length, &in_base);
        bool in_changes = stoa_keyspace_lookup(&overlay->changes, BASE_READ_MS, key, key_length,
                                               NULL, NULL) == STOA_OK;
        STOA_ASSERT(held_count >= (in_base ? 1U : 0U));
        held_count = held_count - (in_base ? 1U : 0U) + (in_changes ? 1U : 0U);
    }
    if (result != STOA_OK) {
        return result;
    }
    *count = held_count;
    return STOA_OK;
}

static int backend_flush(struct stoa_backend *backend) {
    struct stoa_overlay *overlay = overlay_of(backend);
    stoa_keyspace_flush(&overlay->changes);
    owned_free(overlay);
    overlay->flushed = true;
    return STOA_OK;
}

static int backend_scan(struct stoa_backend *backend, int64_t now_ms, uint64_t cursor, size_t count,
                        stoa_backend_scan_fn fn, void *context, uint64_t *next_cursor) {
    (void)overlay_of(backend);
    (void)now_ms;
    (void)cursor;
    (void)count;
    (void)fn;
    (void)context;
    (void)next_cursor;
    return STOA_ERR_UNSUPPORTED;
}

static int backend_random_key(struct stoa_backend *backend, int64_t now_ms, uint64_t random,
                              const uint8_t **key, size_t *key_length) {
    (void)overlay_of(backend);
    (void)now_ms;
    (void)random;
    (void)key;
    (void)key_length;
    return STOA_ERR_UNSUPPORTED;
}

/* The digest term of key in changes at now_ms, or 0 when it is not visible there. Looks at 0
 * so that nothing is reclaimed while the owned set is walked. */
static uint64_t changes_term(struct stoa_overlay *overlay, int64_t now_ms, const uint8_t *key,
                             size_t key_length) {
    const struct stoa_value *value = NULL;
    int64_t expiry = 0;
    if (stoa_keyspace_lookup(&overlay->changes, BASE_READ_MS, key, key_length, &value, &expiry) !=
            STOA_OK ||
        is_expired(expiry, now_ms)) {
        return 0;
    }
    return stoa_keyspace_key_digest(key, key_length, value, expiry);
}

/* The digest of the visible state, equal to that of a keyspace holding the same keys, values
 * and expiries: base's digest, minus base's term and plus changes' term for each owned key
 * (the digest is a sum of per-key terms mod 2^64). O(keys owned). */
static int backend_digest(struct stoa_backend *backend, int64_t now_ms, uint64_t *digest) {
    STOA_ASSERT(digest != NULL);
    struct stoa_overlay *overlay = overlay_of(backend);
    if (overlay->flushed) {
        *digest = stoa_keyspace_digest(&overlay->changes, now_ms);
        return STOA_OK;
    }
    uint64_t sum = 0;
    int result = stoa_backend_digest(overlay->base, now_ms, &sum);
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, &overlay->owned);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *found = NULL;
    while (result == STOA_OK && stoa_map_cursor_next(&cursor, &key, &key_length, &found)) {
        const struct stoa_value *value = NULL;
        int64_t expiry = 0;
        result = base_lookup(overlay, now_ms, key, key_length, &value, &expiry);
        if (result == STOA_OK) {
            sum -= stoa_keyspace_key_digest(key, key_length, value, expiry);
        }
        result = result == STOA_ERR_NOT_FOUND ? STOA_OK : result;
        sum += changes_term(overlay, now_ms, key, key_length);
    }
    if (result != STOA_OK) {
        return result;
    }
    *digest = sum;
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

/* ---- checks ---- */

void stoa_overlay_check(struct stoa_overlay *overlay) {
    STOA_ASSERT(overlay != NULL);
    stoa_keyspace_check(&overlay->changes);
    stoa_map_check(&overlay->owned);
    struct stoa_map_cursor cursor;
    stoa_map_cursor_init(&cursor, &overlay->owned);
    const uint8_t *key = NULL;
    size_t key_length = 0;
    void *found = NULL;
    size_t owned_bytes = 0;
    size_t in_changes = 0;
    while (stoa_map_cursor_next(&cursor, &key, &key_length, &found)) {
        const struct owned_key *block = found;
        STOA_ASSERT(key == block->key && key_length == block->key_length);
        owned_bytes += owned_key_footprint(key_length);
        /* At 0 nothing has expired, so this finds every entry and reclaims none. */
        if (stoa_keyspace_lookup(&overlay->changes, BASE_READ_MS, key, key_length, NULL, NULL) ==
            STOA_OK) {
            in_changes++;
        }
    }
    STOA_ASSERT(owned_bytes == overlay->owned_bytes);
    /* Every key of changes is owned: the owned keys found there are all of its keys. */
    STOA_ASSERT(in_changes == stoa_keyspace_count(&overlay->changes));
}
