/*
 * keyspace: the in-memory map from binary-safe keys to typed values, with expiry and a
 * memory limit. It is the state machine's data; commands reach it through the backend
 * interface (engine/backend.h), which stoa_keyspace_backend provides.
 *
 * Keys map to entries through util/map (which resizes incrementally, so no operation pays
 * for a whole rehash). An entry is one allocation holding the key bytes, the value (struct
 * stoa_value, embedded) and a node in the expiry heap; the map borrows the key from the
 * entry.
 *
 * Time. The keyspace never reads a clock: every call that may see a key takes now_ms, the
 * unix time stamped on the command that is being applied, so every replica decides expiry
 * the same way. A key whose expire_at_ms <= now_ms is invisible at once: lookups say
 * STOA_ERR_NOT_FOUND and reclaim it. stoa_keyspace_expire_step reclaims expired keys that
 * nobody touches, a bounded number per call.
 *
 * Memory. used_bytes is the exact sum of every key's footprint: its entry block (with the
 * key), the map's entry block, and the value's blocks (stoa_value_footprint), each with its
 * STOA_ALLOC_HEADER_BYTES. It depends only on the operations applied, so replicas agree on
 * it and on every decision taken from it. The map's bucket arrays and the heap's slot array
 * are not counted (they are shared, and their size depends on history). When a write would
 * take used_bytes past memory_bytes_max (0 = no limit), it is refused with
 * STOA_ERR_OUT_OF_MEMORY, unless the policy is STOA_KEYSPACE_EVICT_VOLATILE_TTL: then keys
 * with the nearest expiry are evicted first (expired ones come first of all) until the write
 * fits, and it is refused only when no key with an expiry is left. The eviction loop is
 * bounded by the number of keys with an expiry.
 *
 * Writing in place. stoa_keyspace_lookup_for_write gives the value to change and its
 * footprint before the change; a command that grows the value asks for the room first with
 * stoa_keyspace_reserve (value functions say exactly how much an operation grows:
 * stoa_value_bytes_append_growth, stoa_value_deque_push_growth), changes the value, then
 * calls stoa_keyspace_touched with the old footprint, which accounts the difference. A
 * deque left empty by a change is deleted then, as Redis does: no empty deque is stored.
 *
 * Failure. Every operation that fails (NOMEM, OUT_OF_MEMORY, TOO_LARGE) leaves the
 * keyspace as it was, except that keys may have been evicted under volatile-ttl, and
 * expired keys may have been reclaimed (neither is visible).
 *
 * Ownership: the keyspace owns its entries and their values; free them with
 * stoa_keyspace_free. Keys and data passed in are borrowed for the call and copied. Pointers
 * handed out (values, keys) are borrowed and valid until the next call that may change the
 * keyspace (any call taking a non-const keyspace).
 */
#ifndef STOA_ENGINE_KEYSPACE_H
#define STOA_ENGINE_KEYSPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/backend.h"
#include "engine/value.h"
#include "util/heap.h"
#include "util/map.h"

enum stoa_keyspace_eviction {
    STOA_KEYSPACE_EVICT_NONE = 0,         /* refuse writes past the limit (the default) */
    STOA_KEYSPACE_EVICT_VOLATILE_TTL = 1, /* evict the keys with the nearest expiry first */
};

struct stoa_keyspace_options {
    uint64_t seed;           /* keys the map's hash: take it from env randomness */
    size_t memory_bytes_max; /* 0 = no limit */
    enum stoa_keyspace_eviction eviction;
};

/* Public only so a keyspace can be embedded; use the functions below. */
struct stoa_keyspace {
    struct stoa_map map;     /* key -> struct entry (keyspace.c) */
    struct stoa_heap expiry; /* entries that have an expiry, nearest first */
    size_t used_bytes;
    size_t memory_bytes_max;
    enum stoa_keyspace_eviction eviction;
    uint64_t evicted_count;
    uint64_t expired_count;
    int64_t reclaim_horizon_ms; /* expired keys are reclaimed only up to here */
    struct stoa_backend backend; /* what stoa_keyspace_backend returns */
};

/* Makes an empty keyspace. Allocates nothing. The keyspace must not move afterwards (its
 * backend points to it). */
void stoa_keyspace_init(struct stoa_keyspace *keyspace,
                        const struct stoa_keyspace_options *options);

/* Frees every key and value; the keyspace is empty and usable afterwards. */
void stoa_keyspace_free(struct stoa_keyspace *keyspace);

/* Changes the memory limit and policy. Lowering the limit below used_bytes evicts nothing
 * now: the next write that grows memory does (or is refused). */
void stoa_keyspace_limit_set(struct stoa_keyspace *keyspace, size_t memory_bytes_max,
                             enum stoa_keyspace_eviction eviction);

/* Bounds reclaiming: a key whose expiry is past horizon_ms stays in memory (hidden from
 * every caller whose now_ms is past its expiry) until the horizon passes it. The engine sets
 * it to the log's clock (the newest stamp applied), so what a lookup, a read or
 * stoa_keyspace_expire_step reclaims never depends on this node's wall clock, and no later
 * command of the log, whose time is never before the log's clock, could have seen it. The
 * default (INT64_MAX) reclaims whatever is expired at now_ms. */
void stoa_keyspace_reclaim_horizon_set(struct stoa_keyspace *keyspace, int64_t horizon_ms);

/* Finds a visible key. Sets *value (borrowed, read only) and *expire_at_ms (0 = none), each
 * if not NULL. Returns 0 or STOA_ERR_NOT_FOUND (an expired key is reclaimed). */
int stoa_keyspace_lookup(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                         size_t key_length, const struct stoa_value **value, int64_t *expire_at_ms);

/* Finds a visible key to change its value in place: sets *value (borrowed, writable) and
 * *footprint (the value's footprint now, for stoa_keyspace_touched). Returns 0 or
 * STOA_ERR_NOT_FOUND. The value must not be changed to or from another type through here
 * except by the value functions, and must be followed by stoa_keyspace_touched before any
 * other call that changes the keyspace. */
int stoa_keyspace_lookup_for_write(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                                   size_t key_length, struct stoa_value **value, size_t *footprint);

/* Makes room for bytes more: returns 0 when used_bytes + bytes fits the limit, evicting
 * first under volatile-ttl, or STOA_ERR_OUT_OF_MEMORY. keep (NULL, or a value from
 * lookup_for_write) is never evicted. Reserves nothing: the room is for the caller's next
 * change, which must be accounted by touched or made by put. */
int stoa_keyspace_reserve(struct stoa_keyspace *keyspace, int64_t now_ms, size_t bytes,
                          const struct stoa_value *keep);

/* Accounts a change made in place to a value from lookup_for_write, whose footprint was
 * old_footprint before. Deletes the key if the value is now an empty deque. */
void stoa_keyspace_touched(struct stoa_keyspace *keyspace, struct stoa_value *value,
                           size_t old_footprint);

/* Stores *value under key, replacing any value the key had, with the given absolute expiry
 * (0 = none; a time <= now_ms deletes the key instead, as Redis's SET with a past PXAT).
 * Takes the value on success (*value then holds nothing); on failure *value is untouched
 * and still the caller's. A replaced key keeps its entry, so replacing never allocates.
 * Returns 0, STOA_ERR_TOO_LARGE (key longer than STOA_KEY_BYTES_MAX), STOA_ERR_NOMEM or
 * STOA_ERR_OUT_OF_MEMORY. */
int stoa_keyspace_put(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                      size_t key_length, struct stoa_value *value, int64_t expire_at_ms);

/* Deletes a visible key. Returns 0 or STOA_ERR_NOT_FOUND. Never allocates. */
int stoa_keyspace_delete(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                         size_t key_length);

/* Sets a visible key's absolute expiry (0 = none, as PERSIST; a time <= now_ms deletes the
 * key, as EXPIRE with a past time). Returns 0, STOA_ERR_NOT_FOUND or STOA_ERR_NOMEM (the
 * expiry heap could not grow; nothing changed). */
int stoa_keyspace_expiry_set(struct stoa_keyspace *keyspace, int64_t now_ms, const void *key,
                             size_t key_length, int64_t expire_at_ms);

/* Renames a visible key to to_key (as Redis's RENAME): the value and expiry move, and any
 * value to_key had is deleted. Renaming a key to itself succeeds and changes nothing.
 * Returns 0, STOA_ERR_NOT_FOUND (no from_key), STOA_ERR_TOO_LARGE or STOA_ERR_NOMEM. A
 * longer name may take used_bytes a little past the limit: a rename is never refused for
 * memory (Redis does not refuse it either). */
int stoa_keyspace_rename(struct stoa_keyspace *keyspace, int64_t now_ms, const void *from_key,
                         size_t from_key_length, const void *to_key, size_t to_key_length);

/* Keys held, including expired keys not yet reclaimed (as Redis's DBSIZE). */
size_t stoa_keyspace_count(const struct stoa_keyspace *keyspace);

/* Keys that have an expiry, including expired ones not yet reclaimed. */
size_t stoa_keyspace_volatile_count(const struct stoa_keyspace *keyspace);

size_t stoa_keyspace_used_bytes(const struct stoa_keyspace *keyspace);

/* The nearest expiry of any key held (expired ones included), or 0 when no key has one. */
int64_t stoa_keyspace_next_expiry(const struct stoa_keyspace *keyspace);

/* Keys evicted for memory, and expired keys reclaimed, since init. */
uint64_t stoa_keyspace_evicted_count(const struct stoa_keyspace *keyspace);
uint64_t stoa_keyspace_expired_count(const struct stoa_keyspace *keyspace);

/* Deletes every key. */
void stoa_keyspace_flush(struct stoa_keyspace *keyspace);

/* Reclaims at most max_keys (<= STOA_KEYSPACE_EXPIRE_STEP_KEYS_MAX) keys whose expiry is
 * <= now_ms and <= the reclaim horizon, nearest expiry first, and returns how many it
 * reclaimed. */
size_t stoa_keyspace_expire_step(struct stoa_keyspace *keyspace, int64_t now_ms, size_t max_keys);

/* One step of a SCAN: start with cursor 0 and pass each returned cursor to the next call
 * until one returns 0. Calls fn (which must not change the keyspace) for the visible keys of the
 * buckets it visits; it stops after about count keys (count > 0; a bucket is never split) or after
 * visiting count * STOA_KEYSPACE_SCAN_EMPTY_BUCKETS_PER_KEY buckets. A key present for the whole
 * scan is returned at least once even when the table resizes in between (it may be returned twice).
 * Never changes the keyspace. */
uint64_t stoa_keyspace_scan(const struct stoa_keyspace *keyspace, int64_t now_ms, uint64_t cursor,
                            size_t count, stoa_backend_scan_fn fn, void *context);

/* Picks a visible key from a random number (from the caller: env randomness), for
 * RANDOMKEY: sets *key (borrowed) and *key_length. Returns 0 or STOA_ERR_NOT_FOUND when no
 * key is visible. Keys in fuller buckets are a little less likely, as in Redis. */
int stoa_keyspace_random_key(const struct stoa_keyspace *keyspace, int64_t now_ms, uint64_t random,
                             const uint8_t **key, size_t *key_length);

/* A digest of the visible state at now_ms: the sum of a hash of each visible key, its
 * expiry and its value (type and contents). It does not depend on the order of keys in
 * memory, the map's seed or capacities, so two replicas holding the same keys, values and
 * expiries have the same digest. O(n). */
uint64_t stoa_keyspace_digest(const struct stoa_keyspace *keyspace, int64_t now_ms);

/* The term one visible key adds to stoa_keyspace_digest (key, value and expire_at_ms, 0 =
 * none, all borrowed for the call), so a view over a keyspace (engine/overlay.h) can compute
 * the digest of its state from the keyspace's by adding and subtracting the keys it changes. */
uint64_t stoa_keyspace_key_digest(const void *key, size_t key_length,
                                  const struct stoa_value *value, int64_t expire_at_ms);

/* The footprint of a key with no value (entry block and map entry block): used_bytes is
 * the sum over keys of this plus stoa_value_footprint. */
size_t stoa_keyspace_key_footprint(size_t key_length);

/* Asserts every invariant: the map's and the heap's, every entry's expiry node, and
 * used_bytes against a recomputation. O(n): for tests and debug checks. */
void stoa_keyspace_check(const struct stoa_keyspace *keyspace);

/* The keyspace as an engine backend (engine/backend.h). Borrowed from the keyspace, valid
 * while it is. */
struct stoa_backend *stoa_keyspace_backend(struct stoa_keyspace *keyspace);

#endif
