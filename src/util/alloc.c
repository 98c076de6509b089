#include "util/alloc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/assert.h"

/* The header keeps the block's size; 16 bytes keeps the payload aligned for any type. */
struct header {
    size_t size;
    size_t magic;
};

#define HEADER_MAGIC ((size_t)0x57a0a110c8eadd3cULL)
#define HEADER_FREED ((size_t)0xdeadf4eed0000000ULL)

_Static_assert(sizeof(struct header) == STOA_ALLOC_HEADER_BYTES,
               "header keeps max_align_t alignment, and alloc.h says its size");

static _Atomic uint64_t allocation_count;
static _Atomic uint64_t free_count;
static _Atomic uint64_t failure_count;
static _Atomic uint64_t live_count;
static _Atomic uint64_t live_bytes;

/* Failure injection: countdown to the failing allocation, and whether failures stick. */
static _Atomic uint64_t fail_countdown;
static _Atomic bool fail_sticky;

static bool injected_failure(void) {
    uint64_t countdown = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (countdown == 0) {
        return false;
    }
    if (countdown == 1) {
        if (!atomic_load_explicit(&fail_sticky, memory_order_relaxed)) {
            atomic_store_explicit(&fail_countdown, 0, memory_order_relaxed);
        }
        return true;
    }
    atomic_fetch_sub_explicit(&fail_countdown, 1, memory_order_relaxed);
    return false;
}

static void count_failure(void) {
    atomic_fetch_add_explicit(&failure_count, 1, memory_order_relaxed);
}

static void count_allocation(size_t size) {
    atomic_fetch_add_explicit(&allocation_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_bytes, size, memory_order_relaxed);
}

static void count_release(size_t size) {
    atomic_fetch_add_explicit(&free_count, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_count, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_bytes, size, memory_order_relaxed);
}

static struct header *header_of(void *pointer) {
    struct header *header = (struct header *)pointer - 1;
    STOA_ASSERT(header->magic == HEADER_MAGIC);
    return header;
}

void *stoa_alloc(size_t size) {
    STOA_ASSERT(size > 0);
    if (injected_failure() || size > SIZE_MAX - sizeof(struct header)) {
        count_failure();
        return NULL;
    }
    struct header *header = malloc(sizeof(struct header) + size);
    if (header == NULL) {
        count_failure();
        return NULL;
    }
    header->size = size;
    header->magic = HEADER_MAGIC;
    count_allocation(size);
    return header + 1;
}

void *stoa_calloc(size_t count, size_t size) {
    STOA_ASSERT(count > 0 && size > 0);
    if (count > SIZE_MAX / size) {
        count_failure();
        return NULL;
    }
    void *pointer = stoa_alloc(count * size);
    if (pointer != NULL) {
        memset(pointer, 0, count * size);
    }
    return pointer;
}

void *stoa_realloc(void *pointer, size_t size) {
    if (pointer == NULL) {
        return stoa_alloc(size);
    }
    STOA_ASSERT(size > 0);
    struct header *old = header_of(pointer);
    size_t old_size = old->size;
    if (injected_failure() || size > SIZE_MAX - sizeof(struct header)) {
        count_failure();
        return NULL;
    }
    struct header *header = realloc(old, sizeof(struct header) + size);
    if (header == NULL) {
        count_failure();
        return NULL;
    }
    header->size = size;
    atomic_fetch_add_explicit(&allocation_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&free_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&live_bytes, size, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_bytes, old_size, memory_order_relaxed);
    return header + 1;
}

void stoa_free(void *pointer) {
    if (pointer == NULL) {
        return;
    }
    struct header *header = header_of(pointer);
    count_release(header->size);
    header->magic = HEADER_FREED;
    free(header);
}

char *stoa_strndup(const char *text, size_t length) {
    STOA_ASSERT(text != NULL || length == 0);
    char *copy = stoa_alloc(length + 1);
    if (copy == NULL) {
        return NULL;
    }
    if (length > 0) {
        memcpy(copy, text, length);
    }
    copy[length] = '\0';
    return copy;
}

void stoa_alloc_stats(struct stoa_alloc_stats *stats) {
    STOA_ASSERT(stats != NULL);
    stats->allocation_count = atomic_load(&allocation_count);
    stats->free_count = atomic_load(&free_count);
    stats->failure_count = atomic_load(&failure_count);
    stats->live_count = atomic_load(&live_count);
    stats->live_bytes = atomic_load(&live_bytes);
}

void stoa_alloc_fail_nth(uint64_t n) {
    atomic_store(&fail_sticky, false);
    atomic_store(&fail_countdown, n);
}

void stoa_alloc_fail_from(uint64_t n) {
    atomic_store(&fail_sticky, true);
    atomic_store(&fail_countdown, n);
}

void stoa_alloc_reset_counters(void) {
    atomic_store(&allocation_count, 0);
    atomic_store(&free_count, 0);
    atomic_store(&failure_count, 0);
}
