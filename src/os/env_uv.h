/*
 * env_uv: the real env (util/env.h) on a libuv event loop.
 *
 * Clocks read the kernel (uv_hrtime, CLOCK_REALTIME), randomness comes from getrandom(2),
 * timers and sockets are libuv handles on the given loop, and files are plain synchronous
 * POSIX calls (see docs/decisions/libuv.md for why). Every handle is allocated with
 * stoa_alloc when it is made and freed when its close completes, just before its close
 * callback runs. run_in_child forks; each running child is watched by its own SIGCHLD handle,
 * counted like any other until the child's on_exit has run.
 *
 * Usage:
 *   struct stoa_os_env os;
 *   stoa_os_env_init(&os, loop);
 *   struct stoa_env *env = stoa_os_env_get(&os);
 *   ... hand env to the node, uv_run(loop, UV_RUN_DEFAULT) ...
 *   (close every handle, run the loop until their close callbacks ran)
 *   stoa_os_env_deinit(&os);
 *
 * Ownership: the caller owns the struct and the loop; the loop must outlive the env. The env
 * borrows the loop. Initialising an env also sets SIGPIPE to be ignored for the process
 * (stoa_os_ignore_sigpipe): libuv writes to sockets with write(2), and a peer that went away
 * must be an error on that stream, not the end of the process.
 */
#ifndef STOA_OS_ENV_UV_H
#define STOA_OS_ENV_UV_H

#include <stddef.h>

#include <uv.h>

#include "util/env.h"

struct stoa_os_write;

struct stoa_os_env {
    uv_loop_t *loop;
    struct stoa_env env;
    /* Handles made and not yet closed; must be 0 at deinit. */
    size_t handle_count;
    /* Finished stream write requests kept for reuse (at most
     * STOA_OS_WRITE_REQUESTS_FREE_MAX). */
    struct stoa_os_write *write_free;
    size_t write_free_count;
};

/* Makes an env driven by loop (borrowed). Returns 0 or an error from ignoring SIGPIPE. */
int stoa_os_env_init(struct stoa_os_env *os, uv_loop_t *loop);

/* Returns the env interface; borrowed, valid until stoa_os_env_deinit. */
struct stoa_env *stoa_os_env_get(struct stoa_os_env *os);

/* Releases the env's own memory. Every handle must have finished closing (asserted). */
void stoa_os_env_deinit(struct stoa_os_env *os);

#endif
