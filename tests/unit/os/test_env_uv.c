/* Shows that the real env's clocks, randomness and timers behave as env.h promises, and that
 * a failed allocation when making any handle is a clean STOA_ERR_NOMEM that leaks nothing. */
#include <sys/time.h>

#include "os_fixture.h"

/* The monotonic clock never goes back, over many reads in a row. */
static void test_monotonic_never_goes_back(void **state) {
    struct fixture *fixture = *state;
    int64_t previous = stoa_env_monotonic_ns(fixture->env);
    assert_true(previous > 0);
    for (int i = 0; i < 100000; i++) {
        int64_t now = stoa_env_monotonic_ns(fixture->env);
        assert_true(now >= previous);
        previous = now;
    }
    assert_true(stoa_env_monotonic_ms(fixture->env) >= previous / 1000000);
}

/* The real clock agrees with gettimeofday(2) to within a couple of seconds. */
static void test_real_clock_is_near_now(void **state) {
    struct fixture *fixture = *state;
    struct timeval now;
    assert_int_equal(gettimeofday(&now, NULL), 0);
    int64_t expected_ms = (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000;
    int64_t real_ms = stoa_env_real_ms(fixture->env);
    assert_true(real_ms > expected_ms - 2000 && real_ms < expected_ms + 2000);
    assert_true(real_ms > INT64_C(1700000000000)); /* after November 2023 */
}

/* Two draws differ, and a large draw covers every byte value (it is not stuck or zero). */
static void test_random_bytes_differ(void **state) {
    struct fixture *fixture = *state;
    uint8_t first[32] = {0};
    uint8_t second[32] = {0};
    stoa_env_random_bytes(fixture->env, first, sizeof(first));
    stoa_env_random_bytes(fixture->env, second, sizeof(second));
    assert_memory_not_equal(first, second, sizeof(first));
    stoa_env_random_bytes(fixture->env, first, 0);

    static uint8_t large[1024 * 1024];
    stoa_env_random_bytes(fixture->env, large, sizeof(large));
    size_t seen[256] = {0};
    for (size_t i = 0; i < sizeof(large); i++) {
        seen[large[i]]++;
    }
    for (size_t value = 0; value < 256; value++) {
        /* 4096 expected per value; 3000 is more than 17 standard deviations away. */
        assert_true(seen[value] > 3000);
    }
}

struct timer_log {
    int order[8];
    int count;
    int expected;
    bool done;
};

struct timer_entry {
    struct timer_log *log;
    int id;
};

static void on_timer_logged(void *context) {
    struct timer_entry *entry = context;
    struct timer_log *log = entry->log;
    assert_true(log->count < 8);
    log->order[log->count++] = entry->id;
    log->done = log->count == log->expected;
}

/* Closes timers and waits until every close callback ran. */
static void close_timers(struct fixture *fixture, struct stoa_env_timer **timers, int count) {
    bool closed[8] = {false};
    for (int i = 0; i < count; i++) {
        fixture->env->ops->timer_close(timers[i], fixture_set_flag, &closed[i]);
    }
    bool last_closed = false;
    for (int i = 0; i < count; i++) {
        last_closed = run_until(fixture, &closed[i]);
        assert_true(last_closed);
    }
}

/* Timers started out of order fire in the order of their deadlines. */
static void test_timers_fire_in_deadline_order(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct timer_log log = {.expected = 3};
    struct timer_entry entries[3] = {{&log, 30}, {&log, 10}, {&log, 20}};
    struct stoa_env_timer *timers[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(ops->timer_create(fixture->env, on_timer_logged, &entries[i], &timers[i]),
                         0);
        ops->timer_start(timers[i], entries[i].id, 0);
    }
    assert_true(run_until(fixture, &log.done));
    assert_int_equal(log.order[0], 10);
    assert_int_equal(log.order[1], 20);
    assert_int_equal(log.order[2], 30);
    close_timers(fixture, timers, 3);
}

struct repeat_state {
    const struct stoa_env_ops *ops;
    struct stoa_env_timer *timer;
    struct stoa_env_timer *marker;
    int count;
    bool marker_fired;
};

/* Stops itself at the third call and starts the marker, which fires after the repeating
 * timer would have fired several more times had the stop not worked. */
static void on_repeat(void *context) {
    struct repeat_state *repeat = context;
    repeat->count++;
    if (repeat->count == 3) {
        repeat->ops->timer_stop(repeat->timer);
        repeat->ops->timer_start(repeat->marker, 30, 0);
    }
}

static void on_marker(void *context) {
    *(bool *)context = true;
}

/* A repeating timer fires again and again until stopped, and not after; a one-shot timer
 * fires once. */
static void test_timer_repeat_and_stop(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct repeat_state repeat = {.ops = ops};
    struct stoa_env_timer *timers[2];
    assert_int_equal(ops->timer_create(fixture->env, on_repeat, &repeat, &timers[0]), 0);
    assert_int_equal(ops->timer_create(fixture->env, on_marker, &repeat.marker_fired, &timers[1]),
                     0);
    repeat.timer = timers[0];
    repeat.marker = timers[1];
    ops->timer_start(timers[0], 1, 2);
    assert_true(run_until(fixture, &repeat.marker_fired));
    assert_int_equal(repeat.count, 3);
    close_timers(fixture, timers, 2);
}

/* Starting a timer again replaces its earlier schedule, and a stopped timer never fires. */
static void test_timer_start_replaces_schedule(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    bool fired = false;
    bool stopped_fired = false;
    bool marker = false;
    struct stoa_env_timer *timers[3];
    assert_int_equal(ops->timer_create(fixture->env, on_marker, &fired, &timers[0]), 0);
    assert_int_equal(ops->timer_create(fixture->env, on_marker, &stopped_fired, &timers[1]), 0);
    assert_int_equal(ops->timer_create(fixture->env, on_marker, &marker, &timers[2]), 0);
    ops->timer_start(timers[0], 3600 * 1000, 0);
    ops->timer_start(timers[0], 1, 0);
    ops->timer_start(timers[1], 1, 0);
    ops->timer_stop(timers[1]);
    ops->timer_start(timers[2], 20, 0);
    assert_true(run_until(fixture, &fired));
    assert_true(run_until(fixture, &marker));
    assert_false(stopped_fired);
    close_timers(fixture, timers, 3);
}

static void on_accept_unused(void *context, struct stoa_env_stream *stream) {
    (void)context;
    (void)stream;
    fail_msg("no connection was expected");
}

static void on_connect_unused(void *context, int status, struct stoa_env_stream *stream) {
    (void)context;
    (void)status;
    (void)stream;
    fail_msg("no connect callback was expected");
}

static void on_datagram_unused(void *context, const struct stoa_address *from, const uint8_t *data,
                               size_t length) {
    (void)context;
    (void)from;
    (void)data;
    (void)length;
}

static void on_timer_unused(void *context) {
    (void)context;
}

/* Making a timer, listener, connection, UDP socket or file with the next allocation failing
 * returns STOA_ERR_NOMEM, leaves the out-parameter alone and leaks nothing (teardown checks
 * the live allocation count; ASan checks the rest). */
static void test_allocation_failure_is_nomem(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct stoa_address loopback = {.family = STOA_ADDRESS_IPV4, .ip = {127, 0, 0, 1}};

    struct stoa_env_timer *timer = (void *)&loopback;
    stoa_alloc_fail_nth(1);
    assert_int_equal(ops->timer_create(fixture->env, on_timer_unused, NULL, &timer),
                     STOA_ERR_NOMEM);
    assert_ptr_equal(timer, (void *)&loopback);

    struct stoa_env_listener *listener = (void *)&loopback;
    stoa_alloc_fail_nth(1);
    assert_int_equal(ops->listen(fixture->env, &loopback, on_accept_unused, NULL, &listener),
                     STOA_ERR_NOMEM);
    assert_ptr_equal(listener, (void *)&loopback);

    stoa_alloc_fail_nth(1);
    assert_int_equal(ops->connect(fixture->env, &loopback, on_connect_unused, NULL),
                     STOA_ERR_NOMEM);

    struct stoa_env_udp *udp = (void *)&loopback;
    stoa_alloc_fail_nth(1);
    assert_int_equal(ops->udp_bind(fixture->env, &loopback, on_datagram_unused, NULL, &udp),
                     STOA_ERR_NOMEM);
    assert_ptr_equal(udp, (void *)&loopback);

    char path[256];
    fixture_path(fixture, "file", path, sizeof(path));
    struct stoa_env_file *file = (void *)&loopback;
    unsigned flags = STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE;
    stoa_alloc_fail_nth(1);
    assert_int_equal(ops->file_open(fixture->env, path, flags, &file), STOA_ERR_NOMEM);
    assert_ptr_equal(file, (void *)&loopback);
    stoa_alloc_fail_nth(0);
    assert_int_equal(fixture->os.handle_count, 0);

    /* The same calls succeed once allocation works again. */
    assert_int_equal(ops->file_open(fixture->env, path, flags, &file), 0);
    ops->file_close(file);
    assert_int_equal(ops->timer_create(fixture->env, on_timer_unused, NULL, &timer), 0);
    close_timers(fixture, &timer, 1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_monotonic_never_goes_back, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_real_clock_is_near_now, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_random_bytes_differ, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_timers_fire_in_deadline_order, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_timer_repeat_and_stop, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_timer_start_replaces_schedule, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_allocation_failure_is_nomem, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
