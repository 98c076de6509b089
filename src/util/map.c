#include "util/map.h"

#include <string.h>
#include <xxhash.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

struct stoa_map_entry {
    struct stoa_map_entry *next;
    const uint8_t *key; /* borrowed from the caller */
    size_t key_length;
    uint64_t hash;
    void *value;
};

/* Where a key is, or would be inserted: the link that points at its entry. */
struct location {
    struct stoa_map_table *table;
    struct stoa_map_entry **link;
};

static const uint8_t empty_key[1];

static uint64_t hash_key(const struct stoa_map *map, const void *key, size_t key_length) {
    return XXH3_64bits_withSeed(key_length > 0 ? key : empty_key, key_length, map->seed);
}

static size_t bucket_of(const struct stoa_map_table *table, uint64_t hash) {
    return (size_t)(hash & (uint64_t)(table->bucket_count - 1));
}

static bool resizing(const struct stoa_map *map) {
    return map->tables[1].buckets != NULL;
}

static bool entry_matches(const struct stoa_map_entry *entry, uint64_t hash, const void *key,
                          size_t key_length) {
    if (entry->hash != hash || entry->key_length != key_length) {
        return false;
    }
    return key_length == 0 || memcmp(entry->key, key, key_length) == 0;
}

/* Finds the link to key's entry in table, or NULL. */
static struct stoa_map_entry **find_in_table(const struct stoa_map_table *table, uint64_t hash,
                                             const void *key, size_t key_length) {
    if (table->buckets == NULL) {
        return NULL;
    }
    struct stoa_map_entry **link = &table->buckets[bucket_of(table, hash)];
    while (*link != NULL) {
        if (entry_matches(*link, hash, key, key_length)) {
            return link;
        }
        link = &(*link)->next;
    }
    return NULL;
}

static bool find(const struct stoa_map *map, uint64_t hash, const void *key, size_t key_length,
                 struct location *location) {
    for (size_t t = 0; t < 2; t++) {
        struct stoa_map_entry **link = find_in_table(&map->tables[t], hash, key, key_length);
        if (link != NULL) {
            /* The map is const only for readers; put and remove pass their own map. */
            location->table = (struct stoa_map_table *)&map->tables[t];
            location->link = link;
            return true;
        }
    }
    return false;
}

static void table_free(struct stoa_map_table *table) {
    for (size_t b = 0; b < table->bucket_count; b++) {
        struct stoa_map_entry *entry = table->buckets[b];
        while (entry != NULL) {
            struct stoa_map_entry *next = entry->next;
            stoa_free(entry);
            entry = next;
        }
    }
    stoa_free(table->buckets);
    *table = (struct stoa_map_table){0};
}

void stoa_map_init(struct stoa_map *map, uint64_t seed) {
    STOA_ASSERT(map != NULL);
    *map = (struct stoa_map){.seed = seed};
}

void stoa_map_free(struct stoa_map *map) {
    STOA_ASSERT(map != NULL);
    table_free(&map->tables[0]);
    table_free(&map->tables[1]);
    map->rehash_index = 0;
    map->modification_count++;
}

/* Starts moving every entry to a new table of bucket_count buckets. */
static int resize_start(struct stoa_map *map, size_t bucket_count) {
    STOA_ASSERT(!resizing(map));
    STOA_ASSERT(bucket_count >= STOA_MAP_BUCKETS_MIN && bucket_count <= STOA_MAP_CAPACITY_MAX);
    struct stoa_map_entry **buckets = stoa_calloc(bucket_count, sizeof(*buckets));
    if (buckets == NULL) {
        return STOA_ERR_NOMEM;
    }
    map->tables[1] = (struct stoa_map_table){.buckets = buckets, .bucket_count = bucket_count};
    map->rehash_index = 0;
    return STOA_OK;
}

static void move_bucket(struct stoa_map *map, size_t bucket) {
    struct stoa_map_table *from = &map->tables[0];
    struct stoa_map_table *to = &map->tables[1];
    struct stoa_map_entry *entry = from->buckets[bucket];
    while (entry != NULL) {
        struct stoa_map_entry *next = entry->next;
        size_t target = bucket_of(to, entry->hash);
        entry->next = to->buckets[target];
        to->buckets[target] = entry;
        from->count--;
        to->count++;
        entry = next;
    }
    from->buckets[bucket] = NULL;
}

/* Moves up to STOA_MAP_REHASH_STEP buckets; when the old table is empty, the new one takes
 * its place. */
static void rehash_step(struct stoa_map *map) {
    if (!resizing(map)) {
        return;
    }
    struct stoa_map_table *old = &map->tables[0];
    for (size_t moved = 0; moved < STOA_MAP_REHASH_STEP; moved++) {
        if (map->rehash_index == old->bucket_count) {
            break;
        }
        move_bucket(map, map->rehash_index);
        map->rehash_index++;
    }
    if (map->rehash_index == old->bucket_count) {
        STOA_ASSERT(old->count == 0);
        stoa_free(old->buckets);
        map->tables[0] = map->tables[1];
        map->tables[1] = (struct stoa_map_table){0};
        map->rehash_index = 0;
    }
}

/* Grows at load factor 1. A failed allocation only postpones the growth. */
static void maybe_grow(struct stoa_map *map) {
    const struct stoa_map_table *table = &map->tables[0];
    if (resizing(map) || table->count < table->bucket_count) {
        return;
    }
    if (table->bucket_count >= STOA_MAP_CAPACITY_MAX) {
        return;
    }
    (void)resize_start(map, table->bucket_count * 2);
}

/* Shrinks when sparse, to the smallest power of two that holds every entry twice over. */
static void maybe_shrink(struct stoa_map *map) {
    const struct stoa_map_table *table = &map->tables[0];
    if (resizing(map) || table->bucket_count <= STOA_MAP_BUCKETS_MIN) {
        return;
    }
    if (table->count >= table->bucket_count / STOA_MAP_SHRINK_RATIO) {
        return;
    }
    size_t bucket_count = STOA_MAP_BUCKETS_MIN;
    while (bucket_count < table->count * 2) {
        bucket_count *= 2;
    }
    STOA_ASSERT(bucket_count < table->bucket_count);
    (void)resize_start(map, bucket_count);
}

int stoa_map_get(const struct stoa_map *map, const void *key, size_t key_length, void **value) {
    STOA_ASSERT(map != NULL && value != NULL);
    STOA_ASSERT(key != NULL || key_length == 0);
    struct location location;
    if (!find(map, hash_key(map, key, key_length), key, key_length, &location)) {
        return STOA_ERR_NOT_FOUND;
    }
    *value = (*location.link)->value;
    return STOA_OK;
}

static int insert(struct stoa_map *map, uint64_t hash, const void *key, size_t key_length,
                  void *value) {
    struct stoa_map_entry *entry = stoa_alloc(sizeof(*entry));
    if (entry == NULL) {
        return STOA_ERR_NOMEM;
    }
    *entry =
        (struct stoa_map_entry){.key = key, .key_length = key_length, .hash = hash, .value = value};
    /* While resizing, new entries go to the new table, so the old one only empties. */
    struct stoa_map_table *table = &map->tables[resizing(map) ? 1 : 0];
    size_t bucket = bucket_of(table, hash);
    entry->next = table->buckets[bucket];
    table->buckets[bucket] = entry;
    table->count++;
    maybe_grow(map);
    return STOA_OK;
}

int stoa_map_put(struct stoa_map *map, const void *key, size_t key_length, void *value,
                 void **old_value) {
    STOA_ASSERT(map != NULL && value != NULL);
    STOA_ASSERT(key != NULL || key_length == 0);
    if (map->tables[0].buckets == NULL) {
        int result = resize_start(map, STOA_MAP_BUCKETS_MIN);
        if (result != STOA_OK) {
            return result;
        }
        map->tables[0] = map->tables[1];
        map->tables[1] = (struct stoa_map_table){0};
    }
    map->modification_count++;
    rehash_step(map);
    uint64_t hash = hash_key(map, key, key_length);
    struct location location;
    if (find(map, hash, key, key_length, &location)) {
        struct stoa_map_entry *entry = *location.link;
        if (old_value != NULL) {
            *old_value = entry->value;
        }
        entry->key = key;
        entry->value = value;
        return STOA_OK;
    }
    int result = insert(map, hash, key, key_length, value);
    if (result == STOA_OK && old_value != NULL) {
        *old_value = NULL;
    }
    return result;
}

int stoa_map_remove(struct stoa_map *map, const void *key, size_t key_length, void **old_value) {
    STOA_ASSERT(map != NULL);
    STOA_ASSERT(key != NULL || key_length == 0);
    map->modification_count++;
    rehash_step(map);
    struct location location;
    if (!find(map, hash_key(map, key, key_length), key, key_length, &location)) {
        return STOA_ERR_NOT_FOUND;
    }
    struct stoa_map_entry *entry = *location.link;
    *location.link = entry->next;
    location.table->count--;
    if (old_value != NULL) {
        *old_value = entry->value;
    }
    stoa_free(entry);
    maybe_shrink(map);
    return STOA_OK;
}

size_t stoa_map_count(const struct stoa_map *map) {
    STOA_ASSERT(map != NULL);
    return map->tables[0].count + map->tables[1].count;
}

size_t stoa_map_bucket_count(const struct stoa_map *map) {
    STOA_ASSERT(map != NULL);
    return map->tables[0].bucket_count + map->tables[1].bucket_count;
}

bool stoa_map_is_resizing(const struct stoa_map *map) {
    STOA_ASSERT(map != NULL);
    return resizing(map);
}

static void check_table(const struct stoa_map *map, const struct stoa_map_table *table,
                        size_t first_bucket) {
    STOA_ASSERT((table->buckets == NULL) == (table->bucket_count == 0));
    STOA_ASSERT((table->bucket_count & (table->bucket_count - 1)) == 0);
    size_t count = 0;
    for (size_t b = 0; b < table->bucket_count; b++) {
        for (const struct stoa_map_entry *e = table->buckets[b]; e != NULL; e = e->next) {
            STOA_ASSERT(b >= first_bucket);
            STOA_ASSERT(bucket_of(table, e->hash) == b);
            STOA_ASSERT(e->hash == hash_key(map, e->key, e->key_length));
            STOA_ASSERT(e->value != NULL);
            count++;
        }
    }
    STOA_ASSERT(count == table->count);
}

void stoa_map_check(const struct stoa_map *map) {
    STOA_ASSERT(map != NULL);
    STOA_ASSERT(resizing(map) || map->rehash_index == 0);
    STOA_ASSERT(map->rehash_index <= map->tables[0].bucket_count);
    STOA_ASSERT(!resizing(map) || map->tables[0].buckets != NULL);
    check_table(map, &map->tables[0], map->rehash_index);
    check_table(map, &map->tables[1], 0);
}

size_t stoa_map_entry_bytes(void) {
    return sizeof(struct stoa_map_entry);
}

static uint64_t reverse_bits(uint64_t bits) {
    uint64_t reversed = 0;
    for (size_t i = 0; i < 64; i++) {
        reversed = (reversed << 1) | (bits & 1);
        bits >>= 1;
    }
    return reversed;
}

/* Advances cursor in reversed bit order over the bits of mask: the high bits of the bucket
 * index count first, so buckets that split when a table doubles are visited together. */
static uint64_t next_cursor(uint64_t cursor, uint64_t mask) {
    cursor |= ~mask;
    return reverse_bits(reverse_bits(cursor) + 1);
}

static void scan_bucket(const struct stoa_map_table *table, uint64_t cursor, stoa_map_scan_fn fn,
                        void *context) {
    const struct stoa_map_entry *entry = table->buckets[cursor & (table->bucket_count - 1)];
    while (entry != NULL) {
        const struct stoa_map_entry *next = entry->next;
        fn(context, entry->key, entry->key_length, entry->value);
        entry = next;
    }
}

uint64_t stoa_map_scan(const struct stoa_map *map, uint64_t cursor, stoa_map_scan_fn fn,
                       void *context) {
    STOA_ASSERT(map != NULL && fn != NULL);
    const struct stoa_map_table *small = &map->tables[0];
    if (small->buckets == NULL) {
        return 0;
    }
    if (!resizing(map)) {
        scan_bucket(small, cursor, fn, context);
        return next_cursor(cursor, small->bucket_count - 1);
    }
    /* Visit the small table's bucket, then every bucket of the large table that its
     * entries would move to: those whose low bits equal the small bucket's index. */
    const struct stoa_map_table *large = &map->tables[1];
    if (small->bucket_count > large->bucket_count) {
        small = &map->tables[1];
        large = &map->tables[0];
    }
    uint64_t small_mask = small->bucket_count - 1;
    uint64_t large_mask = large->bucket_count - 1;
    scan_bucket(small, cursor, fn, context);
    do {
        scan_bucket(large, cursor, fn, context);
        cursor = next_cursor(cursor, large_mask);
    } while ((cursor & (small_mask ^ large_mask)) != 0);
    return cursor;
}

void stoa_map_cursor_init(struct stoa_map_cursor *cursor, const struct stoa_map *map) {
    STOA_ASSERT(cursor != NULL && map != NULL);
    *cursor = (struct stoa_map_cursor){.map = map, .modification_count = map->modification_count};
}

bool stoa_map_cursor_next(struct stoa_map_cursor *cursor, const uint8_t **key, size_t *key_length,
                          void **value) {
    STOA_ASSERT(cursor != NULL && key != NULL && key_length != NULL && value != NULL);
    const struct stoa_map *map = cursor->map;
    STOA_ASSERT(cursor->modification_count == map->modification_count);
    while (cursor->entry == NULL && cursor->table_index < 2) {
        const struct stoa_map_table *table = &map->tables[cursor->table_index];
        if (cursor->bucket_index < table->bucket_count) {
            cursor->entry = table->buckets[cursor->bucket_index];
            cursor->bucket_index++;
        } else {
            cursor->table_index++;
            cursor->bucket_index = 0;
        }
    }
    if (cursor->entry == NULL) {
        return false;
    }
    *key = cursor->entry->key;
    *key_length = cursor->entry->key_length;
    *value = cursor->entry->value;
    cursor->entry = cursor->entry->next;
    return true;
}
