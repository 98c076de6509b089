/*
 * os_fixture: what the src/os tests share. A fresh loop and env per test, a scratch
 * directory under /tmp (removed afterwards), and run_until, which drives the loop until a
 * condition holds or a safety timer expires, so a test that would hang fails instead.
 * Teardown checks that every handle was closed and every stoa_alloc'd byte given back.
 */
#ifndef STOA_TESTS_OS_FIXTURE_H
#define STOA_TESTS_OS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "os/env_uv.h"
#include "util/alloc.h"
#include "util/err.h"

/* Long enough for a loaded CI machine under ASan; a passing test never waits this long. */
#define FIXTURE_WAIT_MS 10000

struct fixture {
    uv_loop_t loop;
    struct stoa_os_env os;
    struct stoa_env *env;
    uv_timer_t guard;
    bool guard_expired;
    uint64_t live_count_at_start;
    char directory[64];
};

static struct fixture the_fixture;

static inline void fixture_on_guard(uv_timer_t *timer) {
    struct fixture *fixture = timer->data;
    fixture->guard_expired = true;
}

static inline int fixture_setup(void **state) {
    struct fixture *fixture = &the_fixture;
    memset(fixture, 0, sizeof(*fixture));
    /* A failed test may have left allocation failures armed; they must not leak into this. */
    stoa_alloc_fail_nth(0);
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    fixture->live_count_at_start = stats.live_count;
    assert_int_equal(uv_loop_init(&fixture->loop), 0);
    assert_int_equal(stoa_os_env_init(&fixture->os, &fixture->loop), 0);
    fixture->env = stoa_os_env_get(&fixture->os);
    assert_int_equal(uv_timer_init(&fixture->loop, &fixture->guard), 0);
    fixture->guard.data = fixture;
    snprintf(fixture->directory, sizeof(fixture->directory), "/tmp/stoa-os-test-XXXXXX");
    assert_non_null(mkdtemp(fixture->directory));
    *state = fixture;
    return 0;
}

/* Drives the loop until *done is true; returns false if FIXTURE_WAIT_MS passed first. */
static inline bool run_until(struct fixture *fixture, const bool *done) {
    fixture->guard_expired = false;
    uv_timer_start(&fixture->guard, fixture_on_guard, FIXTURE_WAIT_MS, 0);
    while (!*done && !fixture->guard_expired) {
        uv_run(&fixture->loop, UV_RUN_ONCE);
    }
    uv_timer_stop(&fixture->guard);
    return *done;
}

static inline int fixture_remove_entry(const char *path, const struct stat *info, int type,
                                       struct FTW *position) {
    (void)info;
    (void)type;
    (void)position;
    return remove(path);
}

static inline int fixture_teardown(void **state) {
    struct fixture *fixture = *state;
    /* The directory goes first, so even a failed test leaves nothing under /tmp. */
    assert_int_equal(nftw(fixture->directory, fixture_remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
    uv_close((uv_handle_t *)&fixture->guard, NULL);
    /* Closing handles finish in the next loop iteration; a few spare ones cost nothing. */
    for (int i = 0; i < 8; i++) {
        uv_run(&fixture->loop, UV_RUN_NOWAIT);
    }
    assert_int_equal(fixture->os.handle_count, 0);
    stoa_os_env_deinit(&fixture->os);
    assert_int_equal(uv_loop_close(&fixture->loop), 0);
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    assert_int_equal(stats.live_count, fixture->live_count_at_start);
    return 0;
}

/* Joins the fixture's directory and name into path (which has room for size bytes). */
static inline void fixture_path(const struct fixture *fixture, const char *name, char *path,
                                size_t size) {
    int length = snprintf(path, size, "%s/%s", fixture->directory, name);
    assert_true(length > 0 && (size_t)length < size);
}

/* A close callback that sets a bool. */
static inline void fixture_set_flag(void *context) {
    *(bool *)context = true;
}

#endif
