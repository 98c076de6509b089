/*
 * heap: an intrusive binary min-heap ordered by an int64 priority.
 *
 * Timers and key expiry need "the earliest deadline" in O(1) and must cancel or move a
 * deadline in O(log n). So the heap does not hold copies: the caller embeds a
 * struct stoa_heap_node in its own struct, changes it only through these functions, and
 * the node records its own slot (index), which makes remove and update O(log n) without
 * a search. STOA_HEAP_ENTRY gets the caller's struct back from a node.
 *
 * Equal priorities come out in an unspecified (but deterministic) order.
 *
 * Ownership: the heap owns only its array of node pointers; free it with stoa_heap_free.
 * Nodes are BORROWED: a node must stay alive (and must not move) while it is in the heap,
 * and is in at most one heap at a time.
 */
#ifndef STOA_UTIL_HEAP_H
#define STOA_UTIL_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* index of a node that is in no heap. */
#define STOA_HEAP_INDEX_NONE SIZE_MAX

struct stoa_heap_node {
    int64_t priority; /* read freely; change it only with stoa_heap_update */
    size_t index;     /* slot in the heap, or STOA_HEAP_INDEX_NONE */
};

struct stoa_heap {
    struct stoa_heap_node **nodes; /* nodes[0] has the smallest priority */
    size_t count;
    size_t capacity;
};

/* The struct of the given type whose member is node. */
#define STOA_HEAP_ENTRY(node, type, member) ((type *)((char *)(node)-offsetof(type, member)))

/* Makes an empty heap. Allocates nothing. */
void stoa_heap_init(struct stoa_heap *heap);

/* Frees the slot array. Nodes still in the heap are not freed, only marked in no heap. */
void stoa_heap_free(struct stoa_heap *heap);

/* Marks a node as in no heap, so stoa_heap_contains is false before its first push.
 * Optional: push accepts a zeroed node too. */
void stoa_heap_node_init(struct stoa_heap_node *node);

/* Adds node (not in any heap) with the given priority. Returns 0, STOA_ERR_NOMEM when the
 * slot array cannot grow, or STOA_ERR_FULL at STOA_HEAP_CAPACITY_MAX; on error the heap and
 * the node are unchanged. */
int stoa_heap_push(struct stoa_heap *heap, struct stoa_heap_node *node, int64_t priority);

/* Returns the node with the smallest priority (still in the heap), or NULL when empty. */
struct stoa_heap_node *stoa_heap_peek(const struct stoa_heap *heap);

/* Removes and returns the node with the smallest priority, or NULL when empty. */
struct stoa_heap_node *stoa_heap_pop(struct stoa_heap *heap);

/* Removes node, which must be in this heap. */
void stoa_heap_remove(struct stoa_heap *heap, struct stoa_heap_node *node);

/* Changes the priority of node, which must be in this heap. */
void stoa_heap_update(struct stoa_heap *heap, struct stoa_heap_node *node, int64_t priority);

bool stoa_heap_contains(const struct stoa_heap *heap, const struct stoa_heap_node *node);

size_t stoa_heap_count(const struct stoa_heap *heap);

/* Asserts the heap order and every node's index. O(n): for tests and debug checks. */
void stoa_heap_check(const struct stoa_heap *heap);

#endif
