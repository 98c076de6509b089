/* Shows that the test network (tests/sim/sim_net) delivers what is sent when it has no
 * faults, drops, duplicates and delays at the rates asked, drops over cut links and to a
 * crashed node, and replays the same run from the same seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "sim/sim_net.h"
#include "util/alloc.h"
#include "util/err.h"

static uint32_t drain(struct stoa_sim_net *net, uint64_t *order) {
    uint32_t count = 0;
    uint32_t from;
    uint32_t to;
    uint8_t *bytes;
    size_t length;
    while (stoa_sim_net_receive(net, &from, &to, &bytes, &length)) {
        assert_int_equal(length, 1);
        if (order != NULL) {
            *order = *order * 31 + bytes[0] + from * 7 + to;
        }
        stoa_free(bytes);
        count++;
    }
    return count;
}

/* Without faults every message arrives at once, with its bytes. */
static void test_no_faults(void **state) {
    (void)state;
    struct stoa_sim_net *net;
    assert_int_equal(stoa_sim_net_create(1, &net), STOA_OK);
    for (uint8_t i = 0; i < 10; i++) {
        assert_int_equal(stoa_sim_net_send(net, 1, 2, &i, 1), STOA_OK);
    }
    assert_int_equal(stoa_sim_net_pending(net), 10);
    assert_int_equal(drain(net, NULL), 10);
    stoa_sim_net_destroy(net);
}

/* Drops, duplicates and delays come close to the asked rates; nothing arrives early. */
static void test_fault_rates(void **state) {
    (void)state;
    struct stoa_sim_net *net;
    assert_int_equal(stoa_sim_net_create(2, &net), STOA_OK);
    struct stoa_sim_net_faults faults = {
        .drop_per_million = 100000, .duplicate_per_million = 100000, .delay_ticks_max = 3};
    stoa_sim_net_set_faults(net, &faults);
    uint8_t byte = 7;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(stoa_sim_net_send(net, 1, 2, &byte, 1), STOA_OK);
    }
    uint32_t now = drain(net, NULL);
    uint32_t total = now;
    for (int t = 0; t < 3; t++) {
        stoa_sim_net_tick(net);
        total += drain(net, NULL);
    }
    assert_int_equal(stoa_sim_net_pending(net), 0);
    /* 10000 x 0.9 sent x 1.1 copies = 9900, within a few percent. */
    assert_true(total > 9500 && total < 10300);
    assert_true(now > total / 6 && now < total / 3); /* a quarter arrive without delay */
    stoa_sim_net_destroy(net);
}

/* A cut link drops what is sent over it and what was queued on it; drop_to empties a node's
 * queue; heal restores every link. */
static void test_cuts_and_crashes(void **state) {
    (void)state;
    struct stoa_sim_net *net;
    assert_int_equal(stoa_sim_net_create(3, &net), STOA_OK);
    uint8_t byte = 1;
    assert_int_equal(stoa_sim_net_send(net, 1, 2, &byte, 1), STOA_OK);
    stoa_sim_net_cut(net, 1, 2, true);
    assert_true(stoa_sim_net_is_cut(net, 1, 2));
    assert_false(stoa_sim_net_is_cut(net, 2, 1));
    assert_int_equal(stoa_sim_net_send(net, 1, 2, &byte, 1), STOA_OK);
    assert_int_equal(stoa_sim_net_send(net, 2, 1, &byte, 1), STOA_OK);
    assert_int_equal(drain(net, NULL), 1);
    assert_int_equal(stoa_sim_net_send(net, 2, 3, &byte, 1), STOA_OK);
    assert_int_equal(stoa_sim_net_send(net, 1, 3, &byte, 1), STOA_OK);
    stoa_sim_net_drop_to(net, 3);
    assert_int_equal(stoa_sim_net_pending(net), 0);
    stoa_sim_net_heal(net);
    assert_int_equal(stoa_sim_net_send(net, 1, 2, &byte, 1), STOA_OK);
    assert_int_equal(drain(net, NULL), 1);
    stoa_sim_net_destroy(net);
}

static uint64_t run(uint64_t seed) {
    struct stoa_sim_net *net;
    assert_int_equal(stoa_sim_net_create(seed, &net), STOA_OK);
    struct stoa_sim_net_faults faults = {
        .drop_per_million = 200000, .duplicate_per_million = 200000, .delay_ticks_max = 5};
    stoa_sim_net_set_faults(net, &faults);
    uint64_t order = 0;
    for (uint8_t i = 0; i < 200; i++) {
        assert_int_equal(stoa_sim_net_send(net, 1 + i % 3, 1 + i % 5, &i, 1), STOA_OK);
        stoa_sim_net_tick(net);
        drain(net, &order);
    }
    stoa_sim_net_destroy(net);
    return order;
}

/* The same seed gives the same deliveries in the same order; another seed does not. */
static void test_replay_from_seed(void **state) {
    (void)state;
    assert_int_equal(run(42), run(42));
    assert_int_not_equal(run(42), run(43));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_faults),
        cmocka_unit_test(test_fault_rates),
        cmocka_unit_test(test_cuts_and_crashes),
        cmocka_unit_test(test_replay_from_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
