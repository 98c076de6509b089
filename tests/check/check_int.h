/*
 * check_int: helpers shared by the checker's files (history, model, check, gen) and nobody
 * else: formatted appends to a byte buffer, and a small open-addressing table from 64-bit
 * keys to 32-bit values (processes to their operation in flight, and the like).
 */
#ifndef STOA_CHECK_INT_H
#define STOA_CHECK_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Appends printf-style text to buf. Returns 0 or the buffer's error. */
int check_append_format(struct stoa_buf *buf, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends text quoted as a JSON string ("a\"b"), cut at STOA_CHECK_QUOTE_BYTES_MAX bytes
 * with "..." when longer. Returns 0 or the buffer's error. */
int check_append_quoted(struct stoa_buf *buf, const char *text, size_t length);

/* Appends text as is, cut at STOA_CHECK_QUOTE_BYTES_MAX bytes with "..." when longer. */
int check_append_cut(struct stoa_buf *buf, const char *text, size_t length);

/* Makes buf's bytes a NUL-terminated string (the NUL is not counted in length). */
int check_buf_terminate(struct stoa_buf *buf);

struct check_table_slot {
    uint64_t key;
    uint32_t value;
    bool used;
};

/* A map from uint64 to uint32, open addressing with linear probing; grows at half full. */
struct check_table {
    struct check_table_slot *slots;
    size_t capacity; /* a power of two, or 0 */
    size_t count;
};

void check_table_init(struct check_table *table);
void check_table_free(struct check_table *table);
/* Returns true and sets *value if key is present. */
bool check_table_get(const struct check_table *table, uint64_t key, uint32_t *value);
/* Inserts or replaces. Returns 0 or STOA_ERR_NOMEM (table unchanged). */
int check_table_put(struct check_table *table, uint64_t key, uint32_t value);
/* Removes key if present (backward-shift deletion, so probes stay correct). */
void check_table_remove(struct check_table *table, uint64_t key);

/* A 64-bit mix (the splitmix64 finalizer): spreads a key over all bits. */
static inline uint64_t check_mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

#endif
