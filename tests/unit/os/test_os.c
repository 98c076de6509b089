/* Shows that the process-level helpers work: kernel errors map to the right stoa codes, a
 * whole file is read within its limit, the stderr sink writes whole lines, the log clock is
 * the real time, and SIGINT/SIGTERM arrive on the loop while SIGPIPE is ignored. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "os/os.h"
#include "os_fixture.h"

/* The kernel's errors get the meaning stoa's callers act on. */
static void test_error_mapping(void **state) {
    (void)state;
    assert_int_equal(stoa_os_err_from_errno(ENOENT), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_os_err_from_errno(EEXIST), STOA_ERR_EXISTS);
    assert_int_equal(stoa_os_err_from_errno(EADDRINUSE), STOA_ERR_ADDRESS_IN_USE);
    assert_int_equal(stoa_os_err_from_errno(ECONNREFUSED), STOA_ERR_REFUSED);
    assert_int_equal(stoa_os_err_from_errno(EACCES), STOA_ERR_PERMISSION);
    assert_int_equal(stoa_os_err_from_errno(EPERM), STOA_ERR_PERMISSION);
    assert_int_equal(stoa_os_err_from_errno(ENOMEM), STOA_ERR_NOMEM);
    assert_int_equal(stoa_os_err_from_errno(ENOSPC), STOA_ERR_IO);
    assert_int_equal(stoa_os_err_from_errno(EIO), STOA_ERR_IO);
    assert_int_equal(stoa_os_err_from_errno(ETIMEDOUT), STOA_ERR_TIMEOUT);
    assert_int_equal(stoa_os_err_from_errno(ECANCELED), STOA_ERR_CANCELED);
    assert_int_equal(stoa_os_err_from_errno(ECONNRESET), STOA_ERR_CLOSED);
    assert_int_equal(stoa_os_err_from_errno(EXDEV), STOA_ERR_IO);
    assert_int_equal(stoa_os_err_from_uv(0), STOA_OK);
    assert_int_equal(stoa_os_err_from_uv(UV_EOF), STOA_ERR_CLOSED);
    assert_int_equal(stoa_os_err_from_uv(UV_ECANCELED), STOA_ERR_CANCELED);
}

static void write_text(const char *path, const char *text, size_t length) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, length), (ssize_t)length);
    assert_int_equal(close(fd), 0);
}

/* A file is read whole with a NUL after it, up to exactly max_bytes; one byte more is
 * TOO_LARGE; missing is NOT_FOUND, a directory is INVALID, an empty file is empty. */
static void test_read_file_limits(void **state) {
    struct fixture *fixture = *state;
    char path[256];
    fixture_path(fixture, "config.yaml", path, sizeof(path));
    const char content[] = "node:\n  id: n1\n";
    size_t content_length = sizeof(content) - 1;
    write_text(path, content, content_length);

    char *text = NULL;
    size_t length = 0;
    assert_int_equal(stoa_os_read_file(path, 1024, &text, &length), 0);
    assert_int_equal(length, content_length);
    assert_string_equal(text, content);
    stoa_free(text);
    text = NULL;
    assert_int_equal(stoa_os_read_file(path, content_length, &text, &length), 0);
    assert_int_equal(length, content_length);
    stoa_free(text);
    text = NULL;
    length = 7;
    assert_int_equal(stoa_os_read_file(path, content_length - 1, &text, &length),
                     STOA_ERR_TOO_LARGE);
    assert_null(text);
    assert_int_equal(length, 7);

    write_text(path, "", 0);
    assert_int_equal(stoa_os_read_file(path, 1024, &text, &length), 0);
    assert_int_equal(length, 0);
    assert_string_equal(text, "");
    stoa_free(text);
    text = NULL;

    char missing[256];
    fixture_path(fixture, "missing.yaml", missing, sizeof(missing));
    assert_int_equal(stoa_os_read_file(missing, 1024, &text, &length), STOA_ERR_NOT_FOUND);
    assert_int_equal(stoa_os_read_file(fixture->directory, 1024, &text, &length), STOA_ERR_INVALID);
    assert_null(text);
}

/* Files whose size stat(2) does not know (here /proc) are read by growing the buffer, still
 * within the limit; and a failed allocation is NOMEM with nothing leaked. */
static void test_read_file_of_unknown_size(void **state) {
    struct fixture *fixture = *state;
    char *text = NULL;
    size_t length = 0;
    assert_int_equal(stoa_os_read_file("/proc/self/status", 1024 * 1024, &text, &length), 0);
    assert_true(length > 100);
    assert_non_null(strstr(text, "Name:"));
    stoa_free(text);
    text = NULL;
    assert_int_equal(stoa_os_read_file("/proc/self/status", 100, &text, &length),
                     STOA_ERR_TOO_LARGE);
    assert_null(text);
    for (uint64_t n = 1; n <= 3; n++) {
        stoa_alloc_fail_nth(n);
        assert_int_equal(stoa_os_read_file("/proc/self/status", 1024 * 1024, &text, &length),
                         STOA_ERR_NOMEM);
        assert_null(text);
    }
    stoa_alloc_fail_nth(0);
    (void)fixture;
}

/* The stderr sink writes the line and one newline, nothing else. */
static void test_log_sink_writes_line_and_newline(void **state) {
    (void)state;
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    int saved_stderr = dup(STDERR_FILENO);
    assert_true(saved_stderr >= 0);
    assert_int_equal(dup2(pipe_fds[1], STDERR_FILENO), STDERR_FILENO);
    const char line[] = "{\"level\":\"info\",\"msg\":\"hello\"}";
    stoa_os_log_sink_stderr(NULL, line, sizeof(line) - 1);
    stoa_os_log_sink_stderr(NULL, "", 0);
    assert_int_equal(dup2(saved_stderr, STDERR_FILENO), STDERR_FILENO);
    close(saved_stderr);
    close(pipe_fds[1]);
    char got[128];
    ssize_t length = read(pipe_fds[0], got, sizeof(got));
    close(pipe_fds[0]);
    assert_int_equal(length, (ssize_t)sizeof(line) + 1);
    assert_memory_equal(got, line, sizeof(line) - 1);
    assert_memory_equal(got + sizeof(line) - 1, "\n\n", 2);
}

/* The log clock is the real time in milliseconds. */
static void test_log_clock_is_real_time(void **state) {
    (void)state;
    struct timeval now;
    assert_int_equal(gettimeofday(&now, NULL), 0);
    int64_t expected_ms = (int64_t)now.tv_sec * 1000 + now.tv_usec / 1000;
    int64_t clock_ms = stoa_os_log_clock(NULL);
    assert_true(clock_ms > expected_ms - 2000 && clock_ms < expected_ms + 2000);
}

struct caught {
    int signals[4];
    int count;
    bool got_terminate;
    bool got_interrupt;
};

static void on_signal(void *context, int signal_number) {
    struct caught *caught = context;
    assert_true(caught->count < 4);
    caught->signals[caught->count++] = signal_number;
    caught->got_terminate |= signal_number == SIGTERM;
    caught->got_interrupt |= signal_number == SIGINT;
}

/* SIGTERM and SIGINT sent to the process reach the callback on the loop with their number,
 * SIGPIPE is ignored, and closing the watchers calls back once both are closed. */
static void test_signals_on_the_loop(void **state) {
    struct fixture *fixture = *state;
    struct stoa_os_signals signals;
    struct caught caught = {0};
    assert_int_equal(stoa_os_signals_start(&signals, &fixture->loop, on_signal, &caught), 0);
    struct sigaction pipe_action;
    assert_int_equal(sigaction(SIGPIPE, NULL, &pipe_action), 0);
    assert_ptr_equal(pipe_action.sa_handler, SIG_IGN);

    assert_int_equal(kill(getpid(), SIGTERM), 0);
    assert_true(run_until(fixture, &caught.got_terminate));
    assert_int_equal(kill(getpid(), SIGINT), 0);
    assert_true(run_until(fixture, &caught.got_interrupt));
    assert_int_equal(caught.count, 2);
    assert_int_equal(caught.signals[0], SIGTERM);
    assert_int_equal(caught.signals[1], SIGINT);

    bool closed = false;
    stoa_os_signals_close(&signals, fixture_set_flag, &closed);
    assert_true(run_until(fixture, &closed));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test_setup_teardown(test_read_file_limits, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_read_file_of_unknown_size, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test(test_log_sink_writes_line_and_newline),
        cmocka_unit_test(test_log_clock_is_real_time),
        cmocka_unit_test_setup_teardown(test_signals_on_the_loop, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
