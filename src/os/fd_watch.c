/* A descriptor watched on the libuv loop, and the listening socket of the HTTP door. */
#include "os/fd_watch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "os/env_uv.h"
#include "os/os.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

struct stoa_os_fd_watch {
    uv_poll_t poll;
    stoa_os_fd_watch_fn on_readable;
    void *context;
    stoa_env_close_fn on_close;
    void *close_context;
};

static void on_poll(uv_poll_t *poll, int status, int events) {
    (void)events;
    struct stoa_os_fd_watch *watch = poll->data;
    /* An error on the epoll descriptor itself is not expected; calling the owner lets the
     * library find out and report it. */
    (void)status;
    watch->on_readable(watch->context);
}

int stoa_os_fd_watch_start(struct stoa_env *env, int fd, stoa_os_fd_watch_fn on_readable,
                           void *context, struct stoa_os_fd_watch **out) {
    STOA_ASSERT(env != NULL && fd >= 0 && on_readable != NULL && out != NULL);
    struct stoa_os_env *os = env->self;
    STOA_ASSERT(stoa_os_env_get(os) == env); /* the real env only */
    struct stoa_os_fd_watch *watch = stoa_calloc(1, sizeof(*watch));
    if (watch == NULL) {
        return STOA_ERR_NOMEM;
    }
    int result = uv_poll_init(os->loop, &watch->poll, fd);
    if (result != 0) {
        stoa_free(watch);
        return stoa_os_err_from_uv(result);
    }
    watch->poll.data = watch;
    watch->on_readable = on_readable;
    watch->context = context;
    result = uv_poll_start(&watch->poll, UV_READABLE, on_poll);
    if (result != 0) {
        /* The handle was initialized: it must be closed through the loop. */
        watch->on_close = NULL;
        stoa_os_fd_watch_close(watch, NULL, NULL);
        return stoa_os_err_from_uv(result);
    }
    *out = watch;
    return STOA_OK;
}

static void on_closed(uv_handle_t *handle) {
    struct stoa_os_fd_watch *watch = handle->data;
    stoa_env_close_fn on_close = watch->on_close;
    void *context = watch->close_context;
    stoa_free(watch);
    if (on_close != NULL) {
        on_close(context);
    }
}

void stoa_os_fd_watch_close(struct stoa_os_fd_watch *watch, stoa_env_close_fn on_close,
                            void *context) {
    STOA_ASSERT(watch != NULL);
    watch->on_close = on_close;
    watch->close_context = context;
    uv_close((uv_handle_t *)&watch->poll, on_closed);
}

/* ---- sockets ---- */

static socklen_t sockaddr_of(const struct stoa_address *address, struct sockaddr_storage *storage) {
    memset(storage, 0, sizeof(*storage));
    if (address->family == STOA_ADDRESS_IPV4) {
        struct sockaddr_in *in = (struct sockaddr_in *)storage;
        in->sin_family = AF_INET;
        in->sin_port = htons(address->port);
        memcpy(&in->sin_addr, address->ip, 4);
        return sizeof(*in);
    }
    STOA_ASSERT(address->family == STOA_ADDRESS_IPV6);
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)storage;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(address->port);
    memcpy(&in6->sin6_addr, address->ip, 16);
    return sizeof(*in6);
}

/* Makes, binds and listens; returns -errno-style stoa codes. */
static int open_listener(const struct stoa_address *address, int backlog, int *out) {
    struct sockaddr_storage storage;
    socklen_t length = sockaddr_of(address, &storage);
    int domain = address->family == STOA_ADDRESS_IPV4 ? AF_INET : AF_INET6;
    int fd = socket(domain, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return stoa_os_err_from_errno(errno);
    }
    int on = 1;
    int failed = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (failed == 0 && domain == AF_INET6) {
        failed = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
    }
    if (failed == 0) {
        failed = bind(fd, (const struct sockaddr *)&storage, length);
    }
    if (failed == 0) {
        failed = listen(fd, backlog);
    }
    if (failed != 0) {
        int error = stoa_os_err_from_errno(errno);
        close(fd);
        return error;
    }
    *out = fd;
    return STOA_OK;
}

int stoa_os_listen_socket(const struct stoa_address *address, int backlog, int *fd,
                          struct stoa_address *bound) {
    STOA_ASSERT(address != NULL && backlog > 0 && fd != NULL && bound != NULL);
    int opened = -1;
    int result = open_listener(address, backlog, &opened);
    if (result != STOA_OK) {
        return result;
    }
    struct sockaddr_storage storage;
    socklen_t length = sizeof(storage);
    if (getsockname(opened, (struct sockaddr *)&storage, &length) != 0) {
        result = stoa_os_err_from_errno(errno);
        close(opened);
        return result;
    }
    struct stoa_address actual = *address;
    if (storage.ss_family == AF_INET) {
        actual.port = ntohs(((const struct sockaddr_in *)(const void *)&storage)->sin_port);
    } else {
        actual.port = ntohs(((const struct sockaddr_in6 *)(const void *)&storage)->sin6_port);
    }
    *fd = opened;
    *bound = actual;
    return STOA_OK;
}

void stoa_os_socket_close(int fd) {
    STOA_ASSERT(fd >= 0);
    close(fd);
}

void stoa_os_socket_shutdown(int fd) {
    if (fd >= 0) {
        (void)shutdown(fd, SHUT_RDWR);
    }
}
