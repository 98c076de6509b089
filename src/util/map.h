/*
 * map: a hash map from binary-safe byte keys to pointers, which grows without pauses.
 *
 * The keyspace, the connection table and the overlay's indexes all map byte strings to
 * objects. Keys hash with XXH3 seeded by the caller (from env randomness), so a client
 * cannot pick keys that all land in one bucket. Entries are chained in power-of-two bucket
 * arrays. When the map grows (or shrinks after mass removal), it resizes incrementally as
 * Redis's dict does: it keeps the old and the new bucket array side by side, and each put or
 * remove moves at most STOA_MAP_REHASH_STEP buckets from the old to the new one, so no
 * single operation pays for a whole resize. Lookups look in both arrays.
 *
 * Ownership: the map owns its buckets and entries; free them with stoa_map_free. Keys are
 * BORROWED: the map keeps the caller's key pointer, and the caller must keep those bytes
 * alive and unchanged while the entry exists. When stoa_map_put replaces a value, the entry
 * borrows the new key pointer from then on, so the old key may be freed with the old value.
 * Values are the caller's non-NULL pointers; the map never frees them.
 *
 * Allocation: stoa_map_put may allocate (one entry, and a bucket array when growing); it
 * returns STOA_ERR_NOMEM only when the entry itself cannot be allocated, and the map is then
 * unchanged. A growth that fails is skipped and tried again on a later put (chains are just
 * longer meanwhile). stoa_map_get and stoa_map_remove never allocate.
 */
#ifndef STOA_UTIL_MAP_H
#define STOA_UTIL_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stoa_map_entry; /* private to map.c */

struct stoa_map_table {
    struct stoa_map_entry **buckets; /* NULL when unused */
    size_t bucket_count;             /* a power of two, or 0 when unused */
    size_t count;                    /* entries in this table */
};

/* Read the fields through the functions below; they are public only so a map can be
 * embedded in another struct. */
struct stoa_map {
    struct stoa_map_table tables[2]; /* tables[1] is in use only while resizing */
    size_t rehash_index;             /* buckets of tables[0] below this are moved */
    uint64_t seed;
    uint64_t modification_count; /* lets cursors check that the map did not change */
};

/* Walks every entry once, in no particular order. Valid only while the map is not
 * modified (no put or remove); using it after a modification is asserted. */
struct stoa_map_cursor {
    const struct stoa_map *map;
    const struct stoa_map_entry *entry; /* next entry to return, or NULL */
    size_t table_index;
    size_t bucket_index;
    uint64_t modification_count;
};

/* Makes an empty map; seed keys the hash (take it from env randomness). Allocates nothing. */
void stoa_map_init(struct stoa_map *map, uint64_t seed);

/* Frees buckets and entries (not keys or values); the map is empty and usable afterwards. */
void stoa_map_free(struct stoa_map *map);

/* Finds key. Returns 0 and sets *value, or STOA_ERR_NOT_FOUND. Never changes the map. */
int stoa_map_get(const struct stoa_map *map, const void *key, size_t key_length, void **value);

/* Inserts key -> value (value != NULL), or replaces the value of an existing key. Sets
 * *old_value (if old_value is not NULL) to the replaced value, or to NULL for an insert.
 * Returns 0 or STOA_ERR_NOMEM (no entry changed, *old_value untouched). */
int stoa_map_put(struct stoa_map *map, const void *key, size_t key_length, void *value,
                 void **old_value);

/* Removes key. Returns 0 and sets *old_value (if not NULL) to its value, or
 * STOA_ERR_NOT_FOUND. Never allocates. */
int stoa_map_remove(struct stoa_map *map, const void *key, size_t key_length, void **old_value);

size_t stoa_map_count(const struct stoa_map *map);

/* Buckets allocated over both tables, and whether a resize is in progress: for metrics and
 * tests. */
size_t stoa_map_bucket_count(const struct stoa_map *map);
bool stoa_map_is_resizing(const struct stoa_map *map);

/* Asserts every invariant of the map (counts, each entry in its hash's bucket, moved
 * buckets empty). O(n): for tests and debug checks. */
void stoa_map_check(const struct stoa_map *map);

/* Called by stoa_map_scan for each entry it visits (key and value borrowed). It must not
 * modify the map. */
typedef void (*stoa_map_scan_fn)(void *context, const uint8_t *key, size_t key_length, void *value);

/* One step of a scan that may span modifications of the map, as Redis's SCAN: start with
 * cursor 0 and pass each returned cursor to the next call, until one returns 0. Each step
 * visits one bucket (and, during a resize, the buckets of the larger table it maps to) and
 * calls fn for its entries. The cursor counts in reversed bit order, so an entry present for
 * the whole scan is visited at least once even when the map grows or shrinks between steps;
 * it may be visited more than once when the map shrinks or is resizing. Never allocates. */
uint64_t stoa_map_scan(const struct stoa_map *map, uint64_t cursor, stoa_map_scan_fn fn,
                       void *context);

/* Bytes of the block the map allocates per entry (without the allocation header): for
 * memory accounting by the map's users. */
size_t stoa_map_entry_bytes(void);

void stoa_map_cursor_init(struct stoa_map_cursor *cursor, const struct stoa_map *map);

/* Returns true and sets *key, *key_length and *value (borrowed: the caller's own key and
 * value) for the next entry, or false when every entry has been returned. */
bool stoa_map_cursor_next(struct stoa_map_cursor *cursor, const uint8_t **key, size_t *key_length,
                          void **value);

#endif
