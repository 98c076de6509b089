/*
 * alloc: the one allocation seam.
 *
 * All heap memory in stoa comes from these functions, never from malloc directly (the style
 * check enforces it), for two reasons: the engine accounts every live byte against its
 * memory limit, and tests can count allocations and make the Nth one fail, to show that
 * every allocation failure is handled (an error reply, never an abort).
 *
 * Each block carries a small header holding its size, so stoa_alloc_stats() knows the live
 * bytes exactly. The counters are atomic, so the seam is safe from any thread.
 *
 * Ownership: stoa_alloc, stoa_calloc and stoa_realloc return owned memory; free it with
 * stoa_free. They return NULL on failure (real or injected) and never abort.
 */
#ifndef STOA_UTIL_ALLOC_H
#define STOA_UTIL_ALLOC_H

#include <stddef.h>
#include <stdint.h>

/* Bytes the seam adds in front of every block (its size and a check word). Memory
 * accounting (the engine's footprints) counts them, so a memory limit is closer to what the
 * process really holds; malloc's own overhead is not counted. */
#define STOA_ALLOC_HEADER_BYTES 16

void *stoa_alloc(size_t size);
void *stoa_calloc(size_t count, size_t size);
/* Like realloc: on failure returns NULL and leaves the old block valid and owned by the
 * caller. stoa_realloc(NULL, n) allocates; size 0 is an argument error (asserted). */
void *stoa_realloc(void *pointer, size_t size);
void stoa_free(void *pointer);

/* Copies length bytes and appends a NUL. Returns owned memory or NULL. */
char *stoa_strndup(const char *text, size_t length);

struct stoa_alloc_stats {
    uint64_t allocation_count; /* successful allocations since start (or reset) */
    uint64_t free_count;
    uint64_t failure_count; /* real and injected */
    uint64_t live_count;    /* blocks allocated and not yet freed */
    uint64_t live_bytes;    /* bytes asked for in those blocks, headers excluded */
};

void stoa_alloc_stats(struct stoa_alloc_stats *stats);

/* Test heap: make the Nth allocation from now fail (1 = the next one); 0 turns it off.
 * Only that one allocation fails; later ones succeed again. */
void stoa_alloc_fail_nth(uint64_t n);

/* Test heap: make every allocation from the Nth on fail, until stoa_alloc_fail_nth(0). */
void stoa_alloc_fail_from(uint64_t n);

/* Resets the counters of allocations, frees and failures (live counts are kept). */
void stoa_alloc_reset_counters(void);

#endif
