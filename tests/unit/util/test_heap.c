/* Shows that the intrusive min-heap always yields the smallest priority, that remove and
 * update of any node keep it ordered (checked against a sorted-array model), and that a
 * failed growth leaves it unchanged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/heap.h"
#include "util/limits.h"
#include "util/prng.h"

enum { TIMER_COUNT = 2000 };

/* A user struct with the node embedded not at offset 0, as a timer would have it. */
struct timer {
    uint64_t id;
    struct stoa_heap_node node;
    bool queued;
};

static struct timer timers[TIMER_COUNT];

/* The model: priorities of queued timers, kept sorted. */
static int64_t sorted[TIMER_COUNT];
static size_t sorted_count;

static void sorted_insert(int64_t priority) {
    size_t i = sorted_count;
    while (i > 0 && sorted[i - 1] > priority) {
        sorted[i] = sorted[i - 1];
        i--;
    }
    sorted[i] = priority;
    sorted_count++;
}

static void sorted_erase(int64_t priority) {
    size_t i = 0;
    while (i < sorted_count && sorted[i] != priority) {
        i++;
    }
    assert_true(i < sorted_count);
    memmove(&sorted[i], &sorted[i + 1], (sorted_count - i - 1) * sizeof(sorted[0]));
    sorted_count--;
}

static void reset(void) {
    sorted_count = 0;
    for (size_t i = 0; i < TIMER_COUNT; i++) {
        timers[i].id = i;
        timers[i].queued = false;
        stoa_heap_node_init(&timers[i].node);
    }
}

/* The heap agrees with the model: order, count, and the minimum. */
static void check(const struct stoa_heap *heap) {
    stoa_heap_check(heap);
    assert_int_equal(stoa_heap_count(heap), sorted_count);
    struct stoa_heap_node *top = stoa_heap_peek(heap);
    if (sorted_count == 0) {
        assert_null(top);
    } else {
        assert_non_null(top);
        assert_int_equal(top->priority, sorted[0]);
    }
}

/* One random operation on timer t: push, pop, remove, or update with a new priority. */
static void random_op(struct stoa_heap *heap, struct stoa_prng *prng) {
    struct timer *timer = &timers[stoa_prng_below(prng, TIMER_COUNT)];
    int64_t priority = (int64_t)stoa_prng_below(prng, 1000) - 500; /* many ties */
    uint64_t choice = stoa_prng_below(prng, 4);
    if (!timer->queued) {
        assert_false(stoa_heap_contains(heap, &timer->node));
        assert_int_equal(stoa_heap_push(heap, &timer->node, priority), STOA_OK);
        timer->queued = true;
        sorted_insert(priority);
    } else if (choice == 0) {
        struct stoa_heap_node *node = stoa_heap_pop(heap);
        assert_int_equal(node->priority, sorted[0]);
        assert_int_equal(node->index, STOA_HEAP_INDEX_NONE);
        struct timer *popped = STOA_HEAP_ENTRY(node, struct timer, node);
        assert_true(popped->queued);
        popped->queued = false;
        sorted_erase(node->priority);
    } else if (choice == 1) {
        stoa_heap_remove(heap, &timer->node);
        assert_false(stoa_heap_contains(heap, &timer->node));
        timer->queued = false;
        sorted_erase(timer->node.priority);
    } else {
        sorted_erase(timer->node.priority);
        stoa_heap_update(heap, &timer->node, priority);
        sorted_insert(priority);
    }
}

/* 200,000 random pushes, pops, removes and updates agree with the sorted model after every
 * one, and draining yields the priorities in order. */
static void test_random_against_sorted_model(void **state) {
    (void)state;
    reset();
    struct stoa_prng prng;
    stoa_prng_init(&prng, 8080);
    struct stoa_heap heap;
    stoa_heap_init(&heap);
    for (size_t step = 0; step < 200000; step++) {
        random_op(&heap, &prng);
        check(&heap);
    }
    assert_true(sorted_count > 100);
    size_t index = 0;
    struct stoa_heap_node *node;
    while ((node = stoa_heap_pop(&heap)) != NULL) {
        assert_int_equal(node->priority, sorted[index]);
        index++;
    }
    assert_int_equal(index, sorted_count);
    stoa_heap_free(&heap);
}

/* Extreme priorities order correctly, and update moves a node both up and down. */
static void test_extremes_and_update(void **state) {
    (void)state;
    reset();
    struct stoa_heap heap;
    stoa_heap_init(&heap);
    assert_null(stoa_heap_pop(&heap));
    assert_int_equal(stoa_heap_push(&heap, &timers[0].node, INT64_MAX), STOA_OK);
    assert_int_equal(stoa_heap_push(&heap, &timers[1].node, 0), STOA_OK);
    assert_int_equal(stoa_heap_push(&heap, &timers[2].node, INT64_MIN), STOA_OK);
    assert_ptr_equal(stoa_heap_peek(&heap), &timers[2].node);
    stoa_heap_update(&heap, &timers[0].node, INT64_MIN + 1);
    stoa_heap_update(&heap, &timers[2].node, INT64_MAX);
    assert_ptr_equal(stoa_heap_pop(&heap), &timers[0].node);
    assert_ptr_equal(stoa_heap_pop(&heap), &timers[1].node);
    assert_ptr_equal(stoa_heap_pop(&heap), &timers[2].node);
    assert_null(stoa_heap_peek(&heap));
    stoa_heap_free(&heap);
}

/* A push that needs to grow and cannot returns STOA_ERR_NOMEM and leaves the heap and the
 * node as they were; after free, the nodes left in the heap are marked out of it. */
static void test_failed_growth(void **state) {
    (void)state;
    reset();
    struct stoa_heap heap;
    stoa_heap_init(&heap);
    stoa_alloc_fail_nth(1);
    assert_int_equal(stoa_heap_push(&heap, &timers[0].node, 1), STOA_ERR_NOMEM);
    assert_int_equal(timers[0].node.index, STOA_HEAP_INDEX_NONE);
    assert_int_equal(stoa_heap_count(&heap), 0);
    for (size_t i = 0; i < STOA_HEAP_CAPACITY_MIN; i++) {
        assert_int_equal(stoa_heap_push(&heap, &timers[i].node, (int64_t)(100 - i)), STOA_OK);
    }
    struct stoa_heap_node **nodes = heap.nodes;
    stoa_alloc_fail_nth(1);
    struct timer *extra = &timers[STOA_HEAP_CAPACITY_MIN];
    assert_int_equal(stoa_heap_push(&heap, &extra->node, -5), STOA_ERR_NOMEM);
    assert_ptr_equal(heap.nodes, nodes);
    assert_int_equal(heap.capacity, STOA_HEAP_CAPACITY_MIN);
    assert_int_equal(extra->node.index, STOA_HEAP_INDEX_NONE);
    assert_false(stoa_heap_contains(&heap, &extra->node));
    stoa_heap_check(&heap);
    assert_int_equal(stoa_heap_peek(&heap)->priority, 100 - (STOA_HEAP_CAPACITY_MIN - 1));
    assert_int_equal(stoa_heap_push(&heap, &extra->node, -5), STOA_OK);
    assert_int_equal(stoa_heap_peek(&heap)->priority, -5);
    stoa_heap_free(&heap);
    for (size_t i = 0; i <= STOA_HEAP_CAPACITY_MIN; i++) {
        assert_int_equal(timers[i].node.index, STOA_HEAP_INDEX_NONE);
    }
}

/* A zeroed node (never initialized) can be pushed, and a node can be pushed again after it
 * was popped. */
static void test_zeroed_and_reused_nodes(void **state) {
    (void)state;
    struct stoa_heap heap;
    stoa_heap_init(&heap);
    struct stoa_heap_node first = {0};
    struct stoa_heap_node second = {0};
    assert_int_equal(stoa_heap_push(&heap, &first, 2), STOA_OK);
    assert_int_equal(stoa_heap_push(&heap, &second, 1), STOA_OK);
    assert_ptr_equal(stoa_heap_pop(&heap), &second);
    assert_int_equal(stoa_heap_push(&heap, &second, 3), STOA_OK);
    assert_ptr_equal(stoa_heap_pop(&heap), &first);
    assert_ptr_equal(stoa_heap_pop(&heap), &second);
    stoa_heap_free(&heap);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_against_sorted_model),
        cmocka_unit_test(test_extremes_and_update),
        cmocka_unit_test(test_failed_growth),
        cmocka_unit_test(test_zeroed_and_reused_nodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
