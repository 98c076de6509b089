/*
 * os: process-level helpers for the stoa binary, and the one map from kernel errors to
 * stoa's error codes.
 *
 * The binary needs a few things that are not part of a node's env: a log sink writing to
 * standard error and the real clock for log lines, SIGINT/SIGTERM delivered on the event
 * loop (and SIGPIPE ignored, so a peer that goes away is an EPIPE error, not a dead process),
 * and reading a small file such as the config whole. Everything here may block briefly and
 * none of it is used by the deterministic cores.
 */
#ifndef STOA_OS_OS_H
#define STOA_OS_OS_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "util/env.h"

/* Maps a libuv status (UV_E*, which on Unix is -errno) to an err.h code. 0 stays 0. This is
 * the one place where kernel errors get their stoa meaning. */
int stoa_os_err_from_uv(int status);
/* Maps an errno value (positive, e.g. ENOENT) to an err.h code. */
int stoa_os_err_from_errno(int errnum);

/* Returns the wall-clock time in unix milliseconds (CLOCK_REALTIME; it may jump). */
int64_t stoa_os_real_ms(void);
/* The same clock in microseconds. */
int64_t stoa_os_real_us(void);

/* A stoa_log_sink_fn: writes line and a '\n' to standard error with write(2), continuing
 * partial writes and retrying EINTR. Never allocates; errors are dropped (there is nowhere
 * left to report them). context is unused. */
void stoa_os_log_sink_stderr(void *context, const char *line, size_t length);
/* A stoa_log_clock_fn: returns stoa_os_real_ms(). context is unused. */
int64_t stoa_os_log_clock(void *context);

/* Sets SIGPIPE to be ignored for the process, so writing to a closed socket fails with
 * EPIPE instead of killing the process. Idempotent. Returns 0 or an error. */
int stoa_os_ignore_sigpipe(void);

/* Called on the loop thread with SIGINT or SIGTERM. */
typedef void (*stoa_os_signal_fn)(void *context, int signal_number);

/* SIGINT and SIGTERM watched on a loop. Owned by the caller; must stay in place from
 * stoa_os_signals_start until the close callback of stoa_os_signals_close has run. */
struct stoa_os_signals {
    uv_signal_t interrupt;
    uv_signal_t terminate;
    stoa_os_signal_fn on_signal;
    void *context;
    int close_pending_count;
    stoa_env_close_fn on_close;
    void *close_context;
};

/* Starts watching SIGINT and SIGTERM on loop (each delivery calls on_signal) and ignores
 * SIGPIPE. Returns 0, or an error from sigaction(2) with nothing started. */
int stoa_os_signals_start(struct stoa_os_signals *signals, uv_loop_t *loop,
                          stoa_os_signal_fn on_signal, void *context);
/* Stops watching; on_close (may be NULL) runs from the loop when signals may be freed. */
void stoa_os_signals_close(struct stoa_os_signals *signals, stoa_env_close_fn on_close,
                           void *context);

/* Reads the whole file at path. On success *text is owned by the caller (free with
 * stoa_free), holds *length bytes and a terminating NUL (not counted). Returns 0,
 * STOA_ERR_TOO_LARGE if the file has more than max_bytes bytes, STOA_ERR_NOT_FOUND,
 * STOA_ERR_PERMISSION, STOA_ERR_NOMEM or STOA_ERR_IO. Outputs are untouched on failure. */
int stoa_os_read_file(const char *path, size_t max_bytes, char **text, size_t *length);

#endif
