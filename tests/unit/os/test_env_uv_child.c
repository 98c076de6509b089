/* Shows that the real env's run_in_child runs work in a copy-on-write child that sees memory
 * as of the fork, reports exit statuses and deaths by signal on the loop exactly once, keeps
 * several children (and children made by others) apart, and leaks nothing when it fails. */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os_fixture.h"

#define PATH_BYTES 256
#define IMAGE_BYTES (256 * 1024)

/* What a test hands a child: a pipe to wait on before it looks at memory, and a file to write
 * what it saw into. */
struct child_plan {
    struct stoa_env *env;
    int gate_fd; /* the read end of a pipe; -1 to start at once */
    char path[PATH_BYTES];
    int exit_status;
};

/* What on_exit saw. */
struct exit_record {
    int status;
    int calls;
    int order; /* 1 for the first child to be reported, 2 for the second */
    bool done;
};

static int reported_count;
static uint8_t image[IMAGE_BYTES];

static void on_child_exit(void *context, int status) {
    struct exit_record *record = context;
    record->status = status;
    record->calls++;
    record->order = ++reported_count;
    record->done = true;
}

/* Waits until the parent writes a byte to the gate, for at most FIXTURE_WAIT_MS: a child
 * whose parent failed (and never opens the gate) must not outlive it for long. */
static void wait_at_gate(int gate_fd) {
    if (gate_fd < 0) {
        return;
    }
    struct pollfd gate = {.fd = gate_fd, .events = POLLIN};
    if (poll(&gate, 1, FIXTURE_WAIT_MS) == 1) {
        uint8_t byte = 0;
        ssize_t got = read(gate_fd, &byte, 1);
        (void)got; /* an error or end of file opens the gate too */
    }
}

static void open_gate(int gate_fd) {
    uint8_t byte = 1;
    assert_int_equal(write(gate_fd, &byte, 1), 1);
}

/* In the child: waits at the gate, writes the image it sees through the env's file ops,
 * scribbles on the image (which the parent must never see), and exits with the plan's
 * status. */
static int copy_image_work(void *context) {
    struct child_plan *plan = context;
    wait_at_gate(plan->gate_fd);
    const struct stoa_env_ops *ops = plan->env->ops;
    struct stoa_env_file *file = NULL;
    unsigned flags = STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_TRUNCATE;
    if (ops->file_open(plan->env, plan->path, flags, &file) != 0) {
        return 100;
    }
    int status = ops->file_pwrite(file, image, sizeof(image), 0);
    if (status == 0) {
        status = ops->file_datasync(file);
    }
    ops->file_close(file);
    memset(image, 0xee, sizeof(image));
    return status == 0 ? plan->exit_status : 101;
}

static int exit_with_status_work(void *context) {
    const struct child_plan *plan = context;
    wait_at_gate(plan->gate_fd);
    return plan->exit_status;
}

static int kill_self_work(void *context) {
    (void)context;
    raise(SIGKILL);
    return 0;
}

static int terminate_self_work(void *context) {
    (void)context;
    raise(SIGTERM);
    return 0;
}

static void fill_image(uint8_t seed) {
    for (size_t i = 0; i < sizeof(image); i++) {
        image[i] = (uint8_t)(seed + i * 31);
    }
}

static void make_gate(int fds[2]) {
    assert_int_equal(pipe(fds), 0);
}

static void close_gate(int fds[2]) {
    close(fds[0]);
    close(fds[1]);
}

/* The child writes out memory as of the fork, although the parent rewrites it before the
 * child looks; the child's own scribbles never reach the parent. */
static void test_child_sees_memory_as_of_fork(void **state) {
    struct fixture *fixture = *state;
    int gate[2];
    make_gate(gate);
    struct child_plan plan = {.env = fixture->env, .gate_fd = gate[0], .exit_status = 0};
    fixture_path(fixture, "image", plan.path, sizeof(plan.path));
    fill_image(1);
    struct exit_record record = {0};
    assert_int_equal(fixture->env->ops->run_in_child(fixture->env, copy_image_work, &plan,
                                                     on_child_exit, &record),
                     0);
    assert_int_equal(fixture->os.handle_count, 1);
    fill_image(2); /* right after the fork, before the child reads */
    open_gate(gate[1]);
    assert_true(run_until(fixture, &record.done));
    assert_int_equal(record.status, 0);
    assert_int_equal(record.calls, 1);
    assert_int_equal(fixture->os.handle_count, 0);

    static uint8_t seen[IMAGE_BYTES];
    struct stoa_env_file *file = NULL;
    assert_int_equal(
        fixture->env->ops->file_open(fixture->env, plan.path, STOA_ENV_OPEN_READ, &file), 0);
    size_t read_length = 0;
    assert_int_equal(fixture->env->ops->file_pread(file, seen, sizeof(seen), 0, &read_length), 0);
    fixture->env->ops->file_close(file);
    assert_int_equal(read_length, sizeof(seen));
    uint8_t parent_now[IMAGE_BYTES / 64];
    memcpy(parent_now, image, sizeof(parent_now));
    fill_image(1);
    assert_memory_equal(seen, image, sizeof(seen)); /* the child saw the first image */
    fill_image(2);
    assert_memory_equal(parent_now, image, sizeof(parent_now)); /* and did not touch ours */
    close_gate(gate);
}

/* Exit statuses 0, 7 and 255 arrive as they were returned, each exactly once. */
static void test_exit_statuses_arrive(void **state) {
    struct fixture *fixture = *state;
    const int statuses[] = {0, 7, 255};
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        struct child_plan plan = {.env = fixture->env, .gate_fd = -1, .exit_status = statuses[i]};
        struct exit_record record = {0};
        assert_int_equal(fixture->env->ops->run_in_child(fixture->env, exit_with_status_work, &plan,
                                                         on_child_exit, &record),
                         0);
        assert_true(run_until(fixture, &record.done));
        assert_int_equal(record.status, statuses[i]);
        assert_int_equal(record.calls, 1);
    }
}

/* A child killed by SIGKILL is reported as STOA_ERR_IO. */
static void test_child_killed_by_signal_is_io_error(void **state) {
    struct fixture *fixture = *state;
    struct exit_record record = {0};
    assert_int_equal(
        fixture->env->ops->run_in_child(fixture->env, kill_self_work, NULL, on_child_exit, &record),
        0);
    assert_true(run_until(fixture, &record.done));
    assert_int_equal(record.status, STOA_ERR_IO);
    assert_int_equal(record.calls, 1);
}

static void on_parent_sigterm(uv_signal_t *handle, int signal_number) {
    (void)signal_number;
    *(bool *)handle->data = true;
}

static void on_handle_closed(uv_handle_t *handle) {
    *(bool *)handle->data = true;
}

/* A signal the parent catches on its loop (SIGTERM here) kills the child by its default
 * action, and the parent's watcher never hears of it. */
static void test_child_does_not_inherit_signal_handlers(void **state) {
    struct fixture *fixture = *state;
    uv_signal_t terminate;
    bool parent_saw_sigterm = false;
    assert_int_equal(uv_signal_init(&fixture->loop, &terminate), 0);
    terminate.data = &parent_saw_sigterm;
    assert_int_equal(uv_signal_start(&terminate, on_parent_sigterm, SIGTERM), 0);
    struct exit_record record = {0};
    assert_int_equal(fixture->env->ops->run_in_child(fixture->env, terminate_self_work, NULL,
                                                     on_child_exit, &record),
                     0);
    assert_true(run_until(fixture, &record.done));
    assert_int_equal(record.status, STOA_ERR_IO);
    assert_false(parent_saw_sigterm);
    bool closed = false;
    terminate.data = &closed;
    uv_close((uv_handle_t *)&terminate, on_handle_closed);
    assert_true(run_until(fixture, &closed));
}

/* Two children at once, released in the opposite order, are each reported once with their
 * own status, in the order they ended; a child forked by someone else and left to them does
 * not confuse either watcher. */
static void test_two_children_and_a_stranger(void **state) {
    struct fixture *fixture = *state;
    int gates[2][2];
    struct child_plan plans[2];
    struct exit_record records[2];
    memset(records, 0, sizeof(records));
    reported_count = 0;
    for (int i = 0; i < 2; i++) {
        make_gate(gates[i]);
        plans[i] = (struct child_plan){.env = fixture->env, .gate_fd = gates[i][0]};
        plans[i].exit_status = 20 + i;
        assert_int_equal(fixture->env->ops->run_in_child(fixture->env, exit_with_status_work,
                                                         &plans[i], on_child_exit, &records[i]),
                         0);
    }
    assert_int_equal(fixture->os.handle_count, 2);
    pid_t stranger = fork(); /* its SIGCHLD reaches both watchers; neither may take it */
    assert_true(stranger >= 0);
    if (stranger == 0) {
        _exit(3);
    }
    open_gate(gates[1][1]);
    assert_true(run_until(fixture, &records[1].done));
    assert_false(records[0].done);
    open_gate(gates[0][1]);
    assert_true(run_until(fixture, &records[0].done));
    for (int i = 0; i < 2; i++) {
        assert_int_equal(records[i].status, 20 + i);
        assert_int_equal(records[i].calls, 1);
        close_gate(gates[i]);
    }
    assert_int_equal(records[1].order, 1);
    assert_int_equal(records[0].order, 2);
    int stranger_status = 0;
    assert_int_equal(waitpid(stranger, &stranger_status, 0), stranger);
    assert_true(WIFEXITED(stranger_status) && WEXITSTATUS(stranger_status) == 3);
}

/* A failed allocation is a clean STOA_ERR_NOMEM: no child, no handle, no callback. */
static void test_failed_allocation_starts_nothing(void **state) {
    struct fixture *fixture = *state;
    struct exit_record record = {0};
    stoa_alloc_fail_nth(1);
    assert_int_equal(
        fixture->env->ops->run_in_child(fixture->env, kill_self_work, NULL, on_child_exit, &record),
        STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_int_equal(fixture->os.handle_count, 0);
    assert_int_equal(record.calls, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_child_sees_memory_as_of_fork, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_exit_statuses_arrive, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_child_killed_by_signal_is_io_error, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_child_does_not_inherit_signal_handlers, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_two_children_and_a_stranger, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_failed_allocation_starts_nothing, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
