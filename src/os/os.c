#include "os/os.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"
#include "util/time.h"

/* ---- errors ---- */

int stoa_os_err_from_uv(int status) {
    STOA_ASSERT(status <= 0);
    switch (status) {
    case 0:
        return STOA_OK;
    case UV_ENOENT:
    case UV_ENOTDIR:
        return STOA_ERR_NOT_FOUND;
    case UV_EEXIST:
    case UV_ENOTEMPTY:
        return STOA_ERR_EXISTS;
    case UV_EADDRINUSE:
        return STOA_ERR_ADDRESS_IN_USE;
    case UV_ECONNREFUSED:
        return STOA_ERR_REFUSED;
    case UV_EACCES:
    case UV_EPERM:
    case UV_EROFS:
        return STOA_ERR_PERMISSION;
    case UV_ENOMEM:
    case UV_ENOBUFS:
        return STOA_ERR_NOMEM;
    case UV_ETIMEDOUT:
        return STOA_ERR_TIMEOUT;
    case UV_ECANCELED:
        return STOA_ERR_CANCELED;
    case UV_EOF:
    case UV_ECONNRESET:
    case UV_ECONNABORTED:
    case UV_EPIPE:
    case UV_ENOTCONN:
        return STOA_ERR_CLOSED;
    case UV_EINVAL:
    case UV_EADDRNOTAVAIL:
        return STOA_ERR_INVALID;
    case UV_ENAMETOOLONG:
    case UV_EFBIG:
    case UV_EMSGSIZE:
        return STOA_ERR_TOO_LARGE;
    case UV_EMFILE:
    case UV_ENFILE:
        return STOA_ERR_FULL;
    case UV_EBUSY:
    case UV_EAGAIN:
        return STOA_ERR_BUSY;
    case UV_ENOSYS:
    case UV_ENOTSUP:
    case UV_EAFNOSUPPORT:
        return STOA_ERR_UNSUPPORTED;
    default:
        /* ENOSPC, EIO, EDQUOT and anything unexpected: the device failed us. */
        return STOA_ERR_IO;
    }
}

int stoa_os_err_from_errno(int errnum) {
    STOA_ASSERT(errnum > 0);
    return stoa_os_err_from_uv(uv_translate_sys_error(errnum));
}

/* ---- clock and log ---- */

int64_t stoa_os_real_ms(void) {
    struct timespec now;
    int status = clock_gettime(CLOCK_REALTIME, &now);
    STOA_ASSERT(status == 0);
    return (int64_t)now.tv_sec * STOA_MS_PER_S + (int64_t)now.tv_nsec / STOA_NS_PER_MS;
}

int64_t stoa_os_real_us(void) {
    struct timespec now;
    int status = clock_gettime(CLOCK_REALTIME, &now);
    STOA_ASSERT(status == 0);
    return (int64_t)now.tv_sec * 1000000 + (int64_t)now.tv_nsec / 1000;
}

int64_t stoa_os_log_clock(void *context) {
    (void)context;
    return stoa_os_real_ms();
}

/* Writes every byte of the vectors to fd, continuing partial writes. Gives up on an error
 * other than EINTR, or after too many interruptions in a row. */
static void write_vectors_all(int fd, struct iovec *vectors, int vector_count) {
    int interrupts = 0;
    while (vector_count > 0) {
        ssize_t written = writev(fd, vectors, vector_count);
        if (written < 0) {
            if (errno != EINTR || ++interrupts > STOA_OS_INTERRUPT_RETRIES_MAX) {
                return;
            }
            continue;
        }
        interrupts = 0;
        size_t left = (size_t)written;
        while (vector_count > 0 && left >= vectors->iov_len) {
            left -= vectors->iov_len;
            vectors++;
            vector_count--;
        }
        if (vector_count > 0) {
            vectors->iov_base = (char *)vectors->iov_base + left;
            vectors->iov_len -= left;
        }
    }
}

void stoa_os_log_sink_stderr(void *context, const char *line, size_t length) {
    (void)context;
    STOA_ASSERT(line != NULL || length == 0);
    /* One writev for line and newline, so lines from several processes sharing the
     * terminal or a pipe do not interleave mid-line. */
    static char newline[] = "\n";
    struct iovec vectors[2] = {
        {.iov_base = (void *)(uintptr_t)line, .iov_len = length},
        {.iov_base = newline, .iov_len = 1},
    };
    write_vectors_all(STDERR_FILENO, vectors, 2);
}

/* ---- signals ---- */

int stoa_os_ignore_sigpipe(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = SIG_IGN;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGPIPE, &action, NULL) != 0) {
        return stoa_os_err_from_errno(errno);
    }
    return STOA_OK;
}

static void on_signal(uv_signal_t *handle, int signal_number) {
    struct stoa_os_signals *signals = handle->data;
    signals->on_signal(signals->context, signal_number);
}

static void on_signal_closed(uv_handle_t *handle) {
    struct stoa_os_signals *signals = handle->data;
    STOA_ASSERT(signals->close_pending_count > 0);
    signals->close_pending_count--;
    if (signals->close_pending_count == 0 && signals->on_close != NULL) {
        signals->on_close(signals->close_context);
    }
}

int stoa_os_signals_start(struct stoa_os_signals *signals, uv_loop_t *loop,
                          stoa_os_signal_fn on_signal_fn, void *context) {
    STOA_ASSERT(signals != NULL && loop != NULL && on_signal_fn != NULL);
    memset(signals, 0, sizeof(*signals));
    int status = stoa_os_ignore_sigpipe();
    if (status != 0) {
        return status;
    }
    signals->on_signal = on_signal_fn;
    signals->context = context;
    /* On Linux uv_signal_init only fills in the handle (the signal pipe is made with the
     * loop), and uv_signal_start fails only for a bad signal number or a failing
     * sigaction(2) on SIGINT/SIGTERM, which cannot happen: both are asserted. */
    status = uv_signal_init(loop, &signals->interrupt);
    STOA_ASSERT(status == 0);
    status = uv_signal_init(loop, &signals->terminate);
    STOA_ASSERT(status == 0);
    signals->interrupt.data = signals;
    signals->terminate.data = signals;
    status = uv_signal_start(&signals->interrupt, on_signal, SIGINT);
    STOA_ASSERT(status == 0);
    status = uv_signal_start(&signals->terminate, on_signal, SIGTERM);
    STOA_ASSERT(status == 0);
    return STOA_OK;
}

void stoa_os_signals_close(struct stoa_os_signals *signals, stoa_env_close_fn on_close,
                           void *context) {
    STOA_ASSERT(signals != NULL && signals->close_pending_count == 0);
    signals->on_close = on_close;
    signals->close_context = context;
    signals->close_pending_count = 2;
    uv_close((uv_handle_t *)&signals->interrupt, on_signal_closed);
    uv_close((uv_handle_t *)&signals->terminate, on_signal_closed);
}

/* ---- reading a whole file ---- */

/* Reads from fd into buffer until end of file or capacity; *filled is updated. */
static int read_some(int fd, char *buffer, size_t capacity, size_t *filled) {
    int interrupts = 0;
    while (*filled < capacity) {
        ssize_t got = read(fd, buffer + *filled, capacity - *filled);
        if (got < 0) {
            if (errno == EINTR && ++interrupts <= STOA_OS_INTERRUPT_RETRIES_MAX) {
                continue;
            }
            return stoa_os_err_from_errno(errno);
        }
        if (got == 0) {
            break;
        }
        *filled += (size_t)got;
    }
    return STOA_OK;
}

/* Reads fd to its end into a stoa_alloc'd buffer, growing it as needed. The first
 * capacity comes from the file's size; files whose size is not known in advance (pipes,
 * /proc) or that grow while read are handled by doubling, never past max_bytes + 1, which
 * is enough to see that the file is too large. */
static int read_all(int fd, size_t size_hint, size_t max_bytes, char **text, size_t *length) {
    size_t limit = max_bytes + 1;
    size_t capacity = size_hint < limit ? size_hint + 1 : limit;
    char *buffer = stoa_alloc(capacity + 1);
    if (buffer == NULL) {
        return STOA_ERR_NOMEM;
    }
    size_t filled = 0;
    for (;;) {
        int status = read_some(fd, buffer, capacity, &filled);
        if (status != 0 || filled < capacity || capacity == limit) {
            if (status == 0 && filled > max_bytes) {
                status = STOA_ERR_TOO_LARGE;
            }
            if (status != 0) {
                stoa_free(buffer);
                return status;
            }
            break;
        }
        size_t grown = capacity > limit / 2 ? limit : capacity * 2;
        char *bigger = stoa_realloc(buffer, grown + 1);
        if (bigger == NULL) {
            stoa_free(buffer);
            return STOA_ERR_NOMEM;
        }
        buffer = bigger;
        capacity = grown;
    }
    buffer[filled] = '\0';
    *text = buffer;
    *length = filled;
    return STOA_OK;
}

int stoa_os_read_file(const char *path, size_t max_bytes, char **text, size_t *length) {
    STOA_ASSERT(path != NULL && text != NULL && length != NULL);
    STOA_ASSERT(max_bytes < SIZE_MAX - 2);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return stoa_os_err_from_errno(errno);
    }
    struct stat info;
    int status = STOA_OK;
    if (fstat(fd, &info) != 0) {
        status = stoa_os_err_from_errno(errno);
    } else if (S_ISDIR(info.st_mode)) {
        status = STOA_ERR_INVALID;
    } else if (S_ISREG(info.st_mode) && (uint64_t)info.st_size > max_bytes) {
        status = STOA_ERR_TOO_LARGE;
    } else {
        size_t size_hint = S_ISREG(info.st_mode) ? (size_t)info.st_size : 0;
        status = read_all(fd, size_hint, max_bytes, text, length);
    }
    close(fd);
    return status;
}
