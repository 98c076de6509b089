#include "os/env_uv.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/random.h>

#include "os/env_uv_int.h"
#include "os/os.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* ---- clocks and randomness ---- */

static int64_t monotonic_ns(struct stoa_env *env) {
    (void)env;
    uint64_t now = uv_hrtime();
    STOA_ASSERT(now <= (uint64_t)INT64_MAX);
    return (int64_t)now;
}

static int64_t real_ms(struct stoa_env *env) {
    (void)env;
    return stoa_os_real_ms();
}

static int64_t real_us(struct stoa_env *env) {
    (void)env;
    return stoa_os_real_us();
}

/* getrandom(2) without flags blocks only until the kernel's pool is first seeded, and reads
 * of up to 256 bytes are never short; longer reads may be, and a signal may interrupt, so
 * the loop continues. Failure (no getrandom at all) leaves no safe randomness: asserted. */
static void random_bytes(struct stoa_env *env, void *data, size_t length) {
    (void)env;
    STOA_ASSERT(data != NULL || length == 0);
    uint8_t *bytes = data;
    size_t filled = 0;
    int interrupts = 0;
    while (filled < length) {
        ssize_t got = getrandom(bytes + filled, length - filled, 0);
        if (got < 0) {
            STOA_ASSERT(errno == EINTR);
            interrupts++;
            STOA_ASSERT(interrupts <= STOA_OS_INTERRUPT_RETRIES_MAX);
            continue;
        }
        interrupts = 0;
        filled += (size_t)got;
    }
}

/* ---- timers ---- */

struct stoa_env_timer {
    uv_timer_t handle;
    struct stoa_os_env *os;
    stoa_env_timer_fn callback;
    void *context;
    stoa_env_close_fn on_close;
    void *close_context;
};

static void on_timer(uv_timer_t *handle) {
    struct stoa_env_timer *timer = handle->data;
    timer->callback(timer->context);
}

static int env_timer_create(struct stoa_env *env, stoa_env_timer_fn callback, void *context,
                            struct stoa_env_timer **timer_out) {
    STOA_ASSERT(callback != NULL && timer_out != NULL);
    struct stoa_os_env *os = stoa_os_env_of(env);
    struct stoa_env_timer *timer = stoa_alloc(sizeof(*timer));
    if (timer == NULL) {
        return STOA_ERR_NOMEM;
    }
    memset(timer, 0, sizeof(*timer));
    /* uv_timer_init only fills in the handle and cannot fail. */
    int status = uv_timer_init(os->loop, &timer->handle);
    STOA_ASSERT(status == 0);
    timer->handle.data = timer;
    timer->os = os;
    timer->callback = callback;
    timer->context = context;
    stoa_os_env_handle_opened(os);
    *timer_out = timer;
    return STOA_OK;
}

static void env_timer_start(struct stoa_env_timer *timer, int64_t delay_ms, int64_t repeat_ms) {
    STOA_ASSERT(timer != NULL && timer->on_close == NULL);
    STOA_ASSERT(delay_ms >= 0 && repeat_ms >= 0);
    /* uv_timer_start fails only on a closing handle or a NULL callback, both excluded. */
    int status = uv_timer_start(&timer->handle, on_timer, (uint64_t)delay_ms, (uint64_t)repeat_ms);
    STOA_ASSERT(status == 0);
}

static void env_timer_stop(struct stoa_env_timer *timer) {
    STOA_ASSERT(timer != NULL);
    uv_timer_stop(&timer->handle);
}

static void on_timer_closed(uv_handle_t *handle) {
    struct stoa_env_timer *timer = handle->data;
    stoa_env_close_fn on_close = timer->on_close;
    void *close_context = timer->close_context;
    stoa_os_env_handle_closed(timer->os);
    stoa_free(timer);
    on_close(close_context);
}

/* The close callback is stored even when the caller gives NULL, so a second close (or a
 * start after close) is caught by the assertions. */
static void ignore_close(void *context) {
    (void)context;
}

static void env_timer_close(struct stoa_env_timer *timer, stoa_env_close_fn on_close,
                            void *context) {
    STOA_ASSERT(timer != NULL && timer->on_close == NULL);
    timer->on_close = on_close != NULL ? on_close : ignore_close;
    timer->close_context = context;
    uv_close((uv_handle_t *)&timer->handle, on_timer_closed);
}

/* ---- the loop hook (uv_check) ---- */

struct stoa_env_loop_hook {
    uv_check_t handle;
    uv_idle_t wake; /* active only to keep the next poll from waiting (loop_hook_wake) */
    int closes_pending;
    struct stoa_os_env *os;
    stoa_env_timer_fn callback;
    void *context;
    stoa_env_close_fn on_close;
    void *close_context;
};

static void on_check(uv_check_t *handle) {
    struct stoa_env_loop_hook *hook = handle->data;
    /* A wake lasts until the hook has run again (see on_wake). */
    uv_idle_stop(&hook->wake);
    hook->callback(hook->context);
}

static int env_loop_hook_create(struct stoa_env *env, stoa_env_timer_fn callback, void *context,
                                struct stoa_env_loop_hook **hook_out) {
    STOA_ASSERT(callback != NULL && hook_out != NULL);
    struct stoa_os_env *os = stoa_os_env_of(env);
    struct stoa_env_loop_hook *hook = stoa_alloc(sizeof(*hook));
    if (hook == NULL) {
        return STOA_ERR_NOMEM;
    }
    memset(hook, 0, sizeof(*hook));
    int status = uv_check_init(os->loop, &hook->handle);
    STOA_ASSERT(status == 0);
    status = uv_idle_init(os->loop, &hook->wake);
    STOA_ASSERT(status == 0);
    hook->handle.data = hook;
    hook->wake.data = hook;
    hook->os = os;
    hook->callback = callback;
    hook->context = context;
    stoa_os_env_handle_opened(os);
    *hook_out = hook;
    return STOA_OK;
}

static void env_loop_hook_start(struct stoa_env_loop_hook *hook) {
    STOA_ASSERT(hook != NULL && hook->on_close == NULL);
    int status = uv_check_start(&hook->handle, on_check);
    STOA_ASSERT(status == 0);
}

static void env_loop_hook_stop(struct stoa_env_loop_hook *hook) {
    STOA_ASSERT(hook != NULL);
    uv_check_stop(&hook->handle);
    uv_idle_stop(&hook->wake);
}

/* An active idle handle makes libuv poll without waiting. libuv computes the poll timeout
 * after running idle callbacks, so this one must not stop itself: the hook stops it when it
 * runs (on_check). */
static void on_wake(uv_idle_t *idle) {
    (void)idle;
}

static void env_loop_hook_wake(struct stoa_env_loop_hook *hook) {
    STOA_ASSERT(hook != NULL);
    if (hook->on_close == NULL) {
        int status = uv_idle_start(&hook->wake, on_wake);
        STOA_ASSERT(status == 0);
    }
}

static void on_loop_hook_closed(uv_handle_t *handle) {
    struct stoa_env_loop_hook *hook = handle->data;
    if (--hook->closes_pending > 0) {
        return;
    }
    stoa_env_close_fn on_close = hook->on_close;
    void *close_context = hook->close_context;
    stoa_os_env_handle_closed(hook->os);
    stoa_free(hook);
    on_close(close_context);
}

static void env_loop_hook_close(struct stoa_env_loop_hook *hook, stoa_env_close_fn on_close,
                                void *context) {
    STOA_ASSERT(hook != NULL && hook->on_close == NULL);
    hook->on_close = on_close != NULL ? on_close : ignore_close;
    hook->close_context = context;
    hook->closes_pending = 2;
    uv_close((uv_handle_t *)&hook->handle, on_loop_hook_closed);
    uv_close((uv_handle_t *)&hook->wake, on_loop_hook_closed);
}

/* ---- addresses ---- */

const struct sockaddr *stoa_os_sockaddr_from(const struct stoa_address *address,
                                             struct sockaddr_storage *storage) {
    STOA_ASSERT(address != NULL && storage != NULL);
    memset(storage, 0, sizeof(*storage));
    if (address->family == STOA_ADDRESS_IPV4) {
        struct sockaddr_in *in = (struct sockaddr_in *)storage;
        in->sin_family = AF_INET;
        in->sin_port = htons(address->port);
        memcpy(&in->sin_addr, address->ip, 4);
    } else {
        STOA_ASSERT(address->family == STOA_ADDRESS_IPV6);
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)storage;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(address->port);
        memcpy(&in6->sin6_addr, address->ip, 16);
    }
    return (const struct sockaddr *)storage;
}

int stoa_os_address_from(const struct sockaddr *socket_address, struct stoa_address *address) {
    STOA_ASSERT(socket_address != NULL && address != NULL);
    struct stoa_address result;
    memset(&result, 0, sizeof(result));
    if (socket_address->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)socket_address;
        result.family = STOA_ADDRESS_IPV4;
        result.port = ntohs(in->sin_port);
        memcpy(result.ip, &in->sin_addr, 4);
    } else if (socket_address->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)socket_address;
        result.family = STOA_ADDRESS_IPV6;
        result.port = ntohs(in6->sin6_port);
        memcpy(result.ip, &in6->sin6_addr, 16);
    } else {
        return STOA_ERR_UNSUPPORTED;
    }
    *address = result;
    return STOA_OK;
}

/* ---- the env ---- */

static const struct stoa_env_ops os_env_ops = {
    .monotonic_ns = monotonic_ns,
    .real_ms = real_ms,
    .real_us = real_us,
    .random_bytes = random_bytes,
    .timer_create = env_timer_create,
    .timer_start = env_timer_start,
    .timer_stop = env_timer_stop,
    .timer_close = env_timer_close,
    .listen = stoa_os_env_listen,
    .listener_address = stoa_os_env_listener_address,
    .listener_close = stoa_os_env_listener_close,
    .connect = stoa_os_env_connect,
    .stream_read_start = stoa_os_env_stream_read_start,
    .stream_read_stop = stoa_os_env_stream_read_stop,
    .stream_write = stoa_os_env_stream_write,
    .stream_try_write = stoa_os_env_stream_try_write,
    .stream_write_queue_bytes = stoa_os_env_stream_write_queue_bytes,
    .stream_peer_address = stoa_os_env_stream_peer_address,
    .stream_close = stoa_os_env_stream_close,
    .udp_bind = stoa_os_env_udp_bind,
    .udp_address = stoa_os_env_udp_address,
    .udp_send = stoa_os_env_udp_send,
    .udp_close = stoa_os_env_udp_close,
    .file_open = stoa_os_env_file_open,
    .file_pread = stoa_os_env_file_pread,
    .file_pwrite = stoa_os_env_file_pwrite,
    .file_datasync = stoa_os_env_file_datasync,
    .file_size = stoa_os_env_file_size,
    .file_truncate = stoa_os_env_file_truncate,
    .file_allocate = stoa_os_env_file_allocate,
    .file_close = stoa_os_env_file_close,
    .rename = stoa_os_env_rename,
    .unlink = stoa_os_env_unlink,
    .mkdir = stoa_os_env_mkdir,
    .sync_dir = stoa_os_env_sync_dir,
    .list_dir = stoa_os_env_list_dir,
    .run_in_child = stoa_os_env_run_in_child,
    .loop_hook_create = env_loop_hook_create,
    .loop_hook_start = env_loop_hook_start,
    .loop_hook_stop = env_loop_hook_stop,
    .loop_hook_close = env_loop_hook_close,
    .loop_hook_wake = env_loop_hook_wake,
};

int stoa_os_env_init(struct stoa_os_env *os, uv_loop_t *loop) {
    STOA_ASSERT(os != NULL && loop != NULL);
    int status = stoa_os_ignore_sigpipe();
    if (status != 0) {
        return status;
    }
    memset(os, 0, sizeof(*os));
    os->loop = loop;
    os->env.ops = &os_env_ops;
    os->env.self = os;
    return STOA_OK;
}

struct stoa_env *stoa_os_env_get(struct stoa_os_env *os) {
    STOA_ASSERT(os != NULL && os->loop != NULL);
    return &os->env;
}

void stoa_os_env_deinit(struct stoa_os_env *os) {
    STOA_ASSERT(os != NULL && os->loop != NULL);
    STOA_ASSERT(os->handle_count == 0);
    stoa_os_env_write_pool_drain(os);
    memset(os, 0, sizeof(*os));
}

struct stoa_os_env *stoa_os_env_of(struct stoa_env *env) {
    STOA_ASSERT(env != NULL && env->ops == &os_env_ops);
    return env->self;
}

void stoa_os_env_handle_opened(struct stoa_os_env *os) {
    os->handle_count++;
}

void stoa_os_env_handle_closed(struct stoa_os_env *os) {
    STOA_ASSERT(os->handle_count > 0);
    os->handle_count--;
}
