/* Background work in forked children (env.h run_in_child): fork(2), run the work in the
 * child and _exit, and in the parent watch SIGCHLD on the loop to report the child's end.
 *
 * Each child gets its own SIGCHLD watcher (a uv_signal_t, counted as a handle of the env).
 * libuv hands every SIGCHLD to every handle watching it, and each watcher asks waitpid only
 * about its own pid, with WNOHANG. So several children at once, SIGCHLDs merged by the kernel
 * (one delivery for two ends) and SIGCHLDs of children made elsewhere (uv_spawn) are told
 * apart without a shared table: a watcher whose child is still running just keeps waiting. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "os/env_uv_int.h"
#include "os/os.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

struct child {
    uv_signal_t handle;
    struct stoa_os_env *os;
    pid_t pid; /* 0 until forked */
    bool reaped;
    int status;                     /* the exit status or STOA_ERR_IO, once reaped */
    stoa_env_child_exit_fn on_exit; /* NULL when run_in_child failed: nothing to report */
    void *exit_context;
};

/* In the child: every signal this process catches goes back to its default action. The
 * handlers were the parent's (libuv's forwards a signal to the parent's loop through a pipe
 * the child shares), so a SIGTERM sent to the child must end it, not wake the parent. Ignored
 * signals stay ignored. Numbers the C library reserves for itself fail sigaction and are
 * skipped. */
static void reset_caught_signals(void) {
    for (int number = 1; number < NSIG; number++) {
        if (number == SIGKILL || number == SIGSTOP) {
            continue;
        }
        struct sigaction current;
        if (sigaction(number, NULL, &current) != 0) {
            continue;
        }
        if (current.sa_handler == SIG_DFL || current.sa_handler == SIG_IGN) {
            continue;
        }
        struct sigaction default_action;
        memset(&default_action, 0, sizeof(default_action));
        default_action.sa_handler = SIG_DFL;
        sigemptyset(&default_action.sa_mask);
        (void)sigaction(number, &default_action, NULL);
    }
}

/* The child's whole life. It never returns into the caller, libuv or atexit handlers:
 * _exit leaves without flushing the parent's stdio buffers or touching the loop. */
static _Noreturn void run_child(stoa_env_child_fn work, void *context, const sigset_t *mask,
                                pid_t parent) {
    reset_caught_signals();
    /* A child must not outlive its parent: an orphaned snapshot writer would go on changing
     * the data directory under the next process that opens it. The kernel kills the child
     * when the parent dies; the getppid check closes the race with a parent that died
     * before the request was made. */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
        _exit(STOA_OS_CHILD_ORPHANED_STATUS);
    }
    (void)pthread_sigmask(SIG_SETMASK, mask, NULL);
    int status = work(context);
    /* An out-of-range status is a bug in work; the assertion aborts the child, which the
     * parent then sees as a child killed by a signal. */
    STOA_ASSERT(status >= 0 && status <= 255);
    _exit(status);
}

static int status_from_wait(int wait_status) {
    if (WIFEXITED(wait_status)) {
        return WEXITSTATUS(wait_status);
    }
    return STOA_ERR_IO; /* killed by a signal */
}

static void on_child_closed(uv_handle_t *handle) {
    struct child *child = handle->data;
    stoa_env_child_exit_fn on_exit = child->on_exit;
    void *exit_context = child->exit_context;
    int status = child->status;
    STOA_ASSERT(on_exit == NULL || child->reaped);
    stoa_os_env_handle_closed(child->os);
    stoa_free(child);
    if (on_exit != NULL) {
        on_exit(exit_context, status);
    }
}

/* Some child of this process changed state; it is ours only if waitpid says so. */
static void on_sigchld(uv_signal_t *handle, int signal_number) {
    (void)signal_number;
    struct child *child = handle->data;
    STOA_ASSERT(child->pid > 0 && !child->reaped);
    int wait_status = 0;
    int interrupts = 0;
    pid_t result;
    do {
        result = waitpid(child->pid, &wait_status, WNOHANG);
    } while (result < 0 && errno == EINTR && ++interrupts <= STOA_OS_INTERRUPT_RETRIES_MAX);
    if (result == 0) {
        return; /* still running: the signal was for another child */
    }
    /* result < 0 (ECHILD) means someone else collected our child: its status is lost. */
    child->status = result < 0 ? STOA_ERR_IO : status_from_wait(wait_status);
    child->reaped = true;
    uv_close((uv_handle_t *)&child->handle, on_child_closed);
}

/* Gives back the watcher of a child that was never started; on_exit is not called. */
static int abandon(struct child *child, int status) {
    child->on_exit = NULL;
    uv_close((uv_handle_t *)&child->handle, on_child_closed);
    return status;
}

int stoa_os_env_run_in_child(struct stoa_env *env, stoa_env_child_fn work, void *context,
                             stoa_env_child_exit_fn on_exit, void *exit_context) {
    struct stoa_os_env *os = stoa_os_env_of(env);
    STOA_ASSERT(work != NULL && on_exit != NULL);
    struct child *child = stoa_alloc(sizeof(*child));
    if (child == NULL) {
        return STOA_ERR_NOMEM;
    }
    memset(child, 0, sizeof(*child));
    child->os = os;
    child->on_exit = on_exit;
    child->exit_context = exit_context;
    /* uv_signal_init only fills in the handle on Linux (the signal pipe comes with the loop). */
    int status = uv_signal_init(os->loop, &child->handle);
    STOA_ASSERT(status == 0);
    child->handle.data = child;
    stoa_os_env_handle_opened(os);
    /* Watching starts before the fork, so a child that ends at once cannot be missed. */
    status = uv_signal_start(&child->handle, on_sigchld, SIGCHLD);
    if (status != 0) {
        return abandon(child, stoa_os_err_from_uv(status));
    }
    /* Signals are blocked across the fork so that none reaches the child while it still has
     * the parent's handlers; each side restores the mask (the child after resetting them). */
    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    (void)pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        run_child(work, context, &previous, parent);
    }
    int fork_errno = errno;
    (void)pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) {
        return abandon(child, stoa_os_err_from_errno(fork_errno));
    }
    child->pid = pid;
    return STOA_OK;
}
