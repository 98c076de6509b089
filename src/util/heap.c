#include "util/heap.h"

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

static void place(struct stoa_heap *heap, size_t index, struct stoa_heap_node *node) {
    heap->nodes[index] = node;
    node->index = index;
}

/* Moves the node at index up until its parent is not larger. */
static void sift_up(struct stoa_heap *heap, size_t index) {
    struct stoa_heap_node *node = heap->nodes[index];
    while (index > 0) {
        size_t parent = (index - 1) / 2;
        if (heap->nodes[parent]->priority <= node->priority) {
            break;
        }
        place(heap, index, heap->nodes[parent]);
        index = parent;
    }
    place(heap, index, node);
}

/* Moves the node at index down until no child is smaller. */
static void sift_down(struct stoa_heap *heap, size_t index) {
    struct stoa_heap_node *node = heap->nodes[index];
    for (;;) {
        size_t child = 2 * index + 1;
        if (child >= heap->count) {
            break;
        }
        size_t right = child + 1;
        if (right < heap->count && heap->nodes[right]->priority < heap->nodes[child]->priority) {
            child = right;
        }
        if (node->priority <= heap->nodes[child]->priority) {
            break;
        }
        place(heap, index, heap->nodes[child]);
        index = child;
    }
    place(heap, index, node);
}

/* Puts node back in order after it was placed at index or its priority changed. */
static void restore(struct stoa_heap *heap, size_t index) {
    if (index > 0 && heap->nodes[(index - 1) / 2]->priority > heap->nodes[index]->priority) {
        sift_up(heap, index);
    } else {
        sift_down(heap, index);
    }
}

void stoa_heap_init(struct stoa_heap *heap) {
    STOA_ASSERT(heap != NULL);
    *heap = (struct stoa_heap){0};
}

void stoa_heap_free(struct stoa_heap *heap) {
    STOA_ASSERT(heap != NULL);
    for (size_t i = 0; i < heap->count; i++) {
        heap->nodes[i]->index = STOA_HEAP_INDEX_NONE;
    }
    stoa_free(heap->nodes);
    *heap = (struct stoa_heap){0};
}

void stoa_heap_node_init(struct stoa_heap_node *node) {
    STOA_ASSERT(node != NULL);
    *node = (struct stoa_heap_node){.index = STOA_HEAP_INDEX_NONE};
}

static int grow(struct stoa_heap *heap) {
    if (heap->capacity >= STOA_HEAP_CAPACITY_MAX) {
        return STOA_ERR_FULL;
    }
    size_t capacity = heap->capacity == 0 ? STOA_HEAP_CAPACITY_MIN : heap->capacity * 2;
    if (capacity > STOA_HEAP_CAPACITY_MAX) {
        capacity = STOA_HEAP_CAPACITY_MAX;
    }
    struct stoa_heap_node **nodes = stoa_realloc(heap->nodes, capacity * sizeof(*nodes));
    if (nodes == NULL) {
        return STOA_ERR_NOMEM;
    }
    heap->nodes = nodes;
    heap->capacity = capacity;
    return STOA_OK;
}

int stoa_heap_push(struct stoa_heap *heap, struct stoa_heap_node *node, int64_t priority) {
    STOA_ASSERT(heap != NULL && node != NULL);
    STOA_ASSERT(!stoa_heap_contains(heap, node));
    if (heap->count == heap->capacity) {
        int result = grow(heap);
        if (result != STOA_OK) {
            return result;
        }
    }
    node->priority = priority;
    heap->count++;
    place(heap, heap->count - 1, node);
    sift_up(heap, heap->count - 1);
    return STOA_OK;
}

struct stoa_heap_node *stoa_heap_peek(const struct stoa_heap *heap) {
    STOA_ASSERT(heap != NULL);
    return heap->count > 0 ? heap->nodes[0] : NULL;
}

bool stoa_heap_contains(const struct stoa_heap *heap, const struct stoa_heap_node *node) {
    STOA_ASSERT(heap != NULL && node != NULL);
    return node->index < heap->count && heap->nodes[node->index] == node;
}

void stoa_heap_remove(struct stoa_heap *heap, struct stoa_heap_node *node) {
    STOA_ASSERT(stoa_heap_contains(heap, node));
    size_t index = node->index;
    heap->count--;
    node->index = STOA_HEAP_INDEX_NONE;
    if (index == heap->count) {
        return;
    }
    /* The last node fills the hole, then moves up or down to where it belongs. */
    place(heap, index, heap->nodes[heap->count]);
    restore(heap, index);
}

struct stoa_heap_node *stoa_heap_pop(struct stoa_heap *heap) {
    struct stoa_heap_node *node = stoa_heap_peek(heap);
    if (node != NULL) {
        stoa_heap_remove(heap, node);
    }
    return node;
}

void stoa_heap_update(struct stoa_heap *heap, struct stoa_heap_node *node, int64_t priority) {
    STOA_ASSERT(stoa_heap_contains(heap, node));
    node->priority = priority;
    restore(heap, node->index);
}

size_t stoa_heap_count(const struct stoa_heap *heap) {
    STOA_ASSERT(heap != NULL);
    return heap->count;
}

void stoa_heap_check(const struct stoa_heap *heap) {
    STOA_ASSERT(heap != NULL);
    STOA_ASSERT(heap->count <= heap->capacity);
    for (size_t i = 0; i < heap->count; i++) {
        STOA_ASSERT(heap->nodes[i]->index == i);
        if (i > 0) {
            STOA_ASSERT(heap->nodes[(i - 1) / 2]->priority <= heap->nodes[i]->priority);
        }
    }
}
