/*
 * backend: the one interface through which commands reach stored keys.
 *
 * Command apply code never touches a keyspace directly: it calls these operations on a
 * struct stoa_backend, so the storage behind them can change without touching a command.
 * The in-memory keyspace is the first backend (stoa_keyspace_backend in engine/keyspace.h);
 * a RocksDB backend (data larger than memory) and an external-Redis backend (multiverse9's
 * backing store) are planned. Like util/env.h, a backend is a table of operations plus the
 * implementation's state; stoa_backend_<op> wrappers read better at call sites.
 *
 * The contract, which every backend keeps and every caller relies on:
 *
 * - Time: every operation that may see a key takes now_ms, the unix time stamped on the
 *   command. A key whose expiry is <= now_ms does not exist for it. A backend never reads a
 *   clock, so every replica decides the same way.
 * - Reading: lookup returns a value BORROWED until the next call on the backend. A backend
 *   that does not keep values in memory materializes the value into its own scratch space
 *   and frees it on that next call.
 * - Writing in place: lookup_for_write returns a value the caller may change with the value
 *   functions (engine/value.h), and the value's footprint at that moment. The caller must
 *   end every successful lookup_for_write with exactly one commit (the value changed) or
 *   release (it did not), before any other call except reserve. commit is what lets a
 *   backend that materialized a copy write it back (and lets the keyspace account memory);
 *   a deque left empty is deleted by commit. A caller that grows a value calls reserve first
 *   with the exact growth (stoa_value_*_growth) and the value as keep.
 * - Storing: put TAKES the value on success (the caller's struct then holds nothing); on
 *   failure the value is still the caller's.
 * - Errors: operations return 0 or a negative code of util/err.h and leave out-parameters
 *   untouched on failure. STOA_ERR_NOT_FOUND: no such (visible) key. STOA_ERR_OUT_OF_MEMORY:
 *   the write would pass the memory limit. STOA_ERR_TOO_LARGE: a key or value past its
 *   bound in util/limits.h. STOA_ERR_NOMEM: a failed allocation. An external backend may also
 *   return STOA_ERR_IO (and similar) from any operation. A failed write changes nothing
 *   visible (eviction of other keys under a volatile-ttl policy excepted).
 * - Determinism: for the same sequence of calls with the same now_ms, a backend ends in the
 *   same visible state and returns the same results, except random_key and the scan order.
 *
 * Ownership: keys and data passed in are borrowed for the call. The backend struct is owned
 * by whoever made it (the keyspace embeds its own).
 */
#ifndef STOA_ENGINE_BACKEND_H
#define STOA_ENGINE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "engine/value.h"

struct stoa_backend;

/* Called by scan for each visible key; key and value are borrowed for the call. It must not
 * call the backend. */
typedef void (*stoa_backend_scan_fn)(void *context, const uint8_t *key, size_t key_length,
                                     const struct stoa_value *value, int64_t expire_at_ms);

struct stoa_backend_ops {
    /* Finds a key: *value (borrowed until the next call) and *expire_at_ms (0 = none), each
     * if not NULL. */
    int (*lookup)(struct stoa_backend *backend, int64_t now_ms, const void *key, size_t key_length,
                  const struct stoa_value **value, int64_t *expire_at_ms);
    /* Finds a key to change in place; must be followed by commit or release. */
    int (*lookup_for_write)(struct stoa_backend *backend, int64_t now_ms, const void *key,
                            size_t key_length, struct stoa_value **value, size_t *footprint);
    /* Makes room for bytes more (see keyspace.h); keep is never evicted. */
    int (*reserve)(struct stoa_backend *backend, int64_t now_ms, size_t bytes,
                   const struct stoa_value *keep);
    /* Ends a lookup_for_write whose value changed; key is the key looked up. */
    int (*commit)(struct stoa_backend *backend, int64_t now_ms, const void *key, size_t key_length,
                  struct stoa_value *value, size_t old_footprint);
    /* Ends a lookup_for_write whose value did not change. */
    void (*release)(struct stoa_backend *backend, struct stoa_value *value);
    /* Stores *value under key with an absolute expiry (0 = none; <= now_ms deletes). */
    int (*put)(struct stoa_backend *backend, int64_t now_ms, const void *key, size_t key_length,
               struct stoa_value *value, int64_t expire_at_ms);
    int (*remove)(struct stoa_backend *backend, int64_t now_ms, const void *key, size_t key_length);
    /* Sets the absolute expiry of a key (0 = none; <= now_ms deletes). */
    int (*expiry_set)(struct stoa_backend *backend, int64_t now_ms, const void *key,
                      size_t key_length, int64_t expire_at_ms);
    int (*rename)(struct stoa_backend *backend, int64_t now_ms, const void *from_key,
                  size_t from_key_length, const void *to_key, size_t to_key_length);
    /* Keys held, possibly counting expired keys not yet reclaimed. */
    int (*count)(struct stoa_backend *backend, size_t *count);
    int (*flush)(struct stoa_backend *backend);
    /* One step of a cursor scan (start at 0; *next_cursor 0 = done); see keyspace.h. */
    int (*scan)(struct stoa_backend *backend, int64_t now_ms, uint64_t cursor, size_t count,
                stoa_backend_scan_fn fn, void *context, uint64_t *next_cursor);
    /* A visible key picked from random; *key borrowed until the next call. */
    int (*random_key)(struct stoa_backend *backend, int64_t now_ms, uint64_t random,
                      const uint8_t **key, size_t *key_length);
    /* The order-independent digest of the visible state (see keyspace.h). */
    int (*digest)(struct stoa_backend *backend, int64_t now_ms, uint64_t *digest);
};

struct stoa_backend {
    const struct stoa_backend_ops *ops;
    void *self; /* the implementation's state */
};

/* ---- convenience wrappers: stoa_backend_<op>(backend, ...) ---- */

static inline int stoa_backend_lookup(struct stoa_backend *backend, int64_t now_ms, const void *key,
                                      size_t key_length, const struct stoa_value **value,
                                      int64_t *expire_at_ms) {
    return backend->ops->lookup(backend, now_ms, key, key_length, value, expire_at_ms);
}

static inline int stoa_backend_lookup_for_write(struct stoa_backend *backend, int64_t now_ms,
                                                const void *key, size_t key_length,
                                                struct stoa_value **value, size_t *footprint) {
    return backend->ops->lookup_for_write(backend, now_ms, key, key_length, value, footprint);
}

static inline int stoa_backend_reserve(struct stoa_backend *backend, int64_t now_ms, size_t bytes,
                                       const struct stoa_value *keep) {
    return backend->ops->reserve(backend, now_ms, bytes, keep);
}

static inline int stoa_backend_commit(struct stoa_backend *backend, int64_t now_ms, const void *key,
                                      size_t key_length, struct stoa_value *value,
                                      size_t old_footprint) {
    return backend->ops->commit(backend, now_ms, key, key_length, value, old_footprint);
}

static inline void stoa_backend_release(struct stoa_backend *backend, struct stoa_value *value) {
    backend->ops->release(backend, value);
}

static inline int stoa_backend_put(struct stoa_backend *backend, int64_t now_ms, const void *key,
                                   size_t key_length, struct stoa_value *value,
                                   int64_t expire_at_ms) {
    return backend->ops->put(backend, now_ms, key, key_length, value, expire_at_ms);
}

static inline int stoa_backend_remove(struct stoa_backend *backend, int64_t now_ms, const void *key,
                                      size_t key_length) {
    return backend->ops->remove(backend, now_ms, key, key_length);
}

static inline int stoa_backend_expiry_set(struct stoa_backend *backend, int64_t now_ms,
                                          const void *key, size_t key_length,
                                          int64_t expire_at_ms) {
    return backend->ops->expiry_set(backend, now_ms, key, key_length, expire_at_ms);
}

static inline int stoa_backend_rename(struct stoa_backend *backend, int64_t now_ms,
                                      const void *from_key, size_t from_key_length,
                                      const void *to_key, size_t to_key_length) {
    return backend->ops->rename(backend, now_ms, from_key, from_key_length, to_key, to_key_length);
}

static inline int stoa_backend_count(struct stoa_backend *backend, size_t *count) {
    return backend->ops->count(backend, count);
}

static inline int stoa_backend_flush(struct stoa_backend *backend) {
    return backend->ops->flush(backend);
}

static inline int stoa_backend_scan(struct stoa_backend *backend, int64_t now_ms, uint64_t cursor,
                                    size_t count, stoa_backend_scan_fn fn, void *context,
                                    uint64_t *next_cursor) {
    return backend->ops->scan(backend, now_ms, cursor, count, fn, context, next_cursor);
}

static inline int stoa_backend_random_key(struct stoa_backend *backend, int64_t now_ms,
                                          uint64_t random, const uint8_t **key,
                                          size_t *key_length) {
    return backend->ops->random_key(backend, now_ms, random, key, key_length);
}

static inline int stoa_backend_digest(struct stoa_backend *backend, int64_t now_ms,
                                      uint64_t *digest) {
    return backend->ops->digest(backend, now_ms, digest);
}

#endif
