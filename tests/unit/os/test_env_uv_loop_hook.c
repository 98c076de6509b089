/* Shows that the loop hook runs once per loop iteration after that iteration's I/O
 * callbacks, only while started, and closes cleanly. */
#include "os_fixture.h"

struct observed {
    int timer_fires;
    int hook_runs;
    int hook_runs_at_last_timer;
    bool done;
    struct stoa_env_loop_hook *hook;
};

static void on_hook(void *context) {
    struct observed *observed = context;
    observed->hook_runs++;
}

static void on_timer(void *context) {
    struct observed *observed = context;
    observed->timer_fires++;
    /* The hook of the previous iteration ran before this timer's iteration reached it. */
    observed->hook_runs_at_last_timer = observed->hook_runs;
    if (observed->timer_fires == 3) {
        observed->done = true;
    }
}

/* Each iteration that runs callbacks runs the hook after them; a stopped hook never runs. */
static void test_hook_runs_each_iteration(void **state) {
    struct fixture *fixture = *state;
    struct stoa_env *env = fixture->env;
    struct observed observed = {0};
    struct stoa_env_timer *timer = NULL;
    assert_int_equal(env->ops->loop_hook_create(env, on_hook, &observed, &observed.hook), STOA_OK);
    assert_int_equal(env->ops->timer_create(env, on_timer, &observed, &timer), STOA_OK);
    env->ops->loop_hook_start(observed.hook);
    env->ops->timer_start(timer, 1, 1);
    assert_true(run_until(fixture, &observed.done));
    assert_true(observed.hook_runs >= observed.timer_fires - 1);
    assert_true(observed.hook_runs_at_last_timer >= 2);
    env->ops->loop_hook_stop(observed.hook);
    int runs = observed.hook_runs;
    observed.done = false;
    observed.timer_fires = 0;
    assert_true(run_until(fixture, &observed.done));
    assert_int_equal(observed.hook_runs, runs);
    bool closed_timer = false;
    bool closed_hook = false;
    env->ops->timer_close(timer, fixture_set_flag, &closed_timer);
    env->ops->loop_hook_close(observed.hook, fixture_set_flag, &closed_hook);
    assert_true(run_until(fixture, &closed_hook));
    assert_true(closed_timer);
}

/* A failed allocation makes no hook and leaks nothing. */
static void test_hook_allocation_failure(void **state) {
    struct fixture *fixture = *state;
    struct stoa_env_loop_hook *hook = NULL;
    stoa_alloc_fail_nth(1);
    assert_int_equal(fixture->env->ops->loop_hook_create(fixture->env, on_hook, NULL, &hook),
                     STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_null(hook);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hook_runs_each_iteration, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_hook_allocation_failure, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
