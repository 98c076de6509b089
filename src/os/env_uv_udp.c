/* UDP sockets of the real env, on uv_udp. */
#include <stdbool.h>
#include <string.h>

#include "os/env_uv_int.h"
#include "os/os.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

struct stoa_env_udp {
    uv_udp_t handle;
    struct stoa_os_env *os;
    stoa_env_datagram_fn on_datagram;
    void *context;
    bool closing;
    stoa_env_close_fn on_close;
    void *close_context;
    /* One receive buffer per socket, lent to libuv for every datagram. A datagram that does
     * not fit is flagged partial by the kernel and dropped. */
    uint8_t receive_buffer[STOA_DATAGRAM_BYTES_MAX];
};

/* A copy of a datagram that could not be sent at once, queued in libuv until it is. */
struct queued_datagram {
    uv_udp_send_t request;
    uint8_t data[];
};

static void ignore_close(void *context) {
    (void)context;
}

static void on_udp_closed(uv_handle_t *handle) {
    struct stoa_env_udp *udp = handle->data;
    stoa_env_close_fn on_close = udp->on_close;
    void *close_context = udp->close_context;
    stoa_os_env_handle_closed(udp->os);
    stoa_free(udp);
    on_close(close_context);
}

void stoa_os_env_udp_close(struct stoa_env_udp *udp, stoa_env_close_fn on_close, void *context) {
    STOA_ASSERT(udp != NULL && !udp->closing);
    udp->closing = true;
    udp->on_close = on_close != NULL ? on_close : ignore_close;
    udp->close_context = context;
    /* Queued sends are failed with UV_ECANCELED (their copies freed) before on_udp_closed. */
    uv_close((uv_handle_t *)&udp->handle, on_udp_closed);
}

static void on_receive_alloc(uv_handle_t *handle, size_t suggested_bytes, uv_buf_t *buffer) {
    (void)suggested_bytes;
    struct stoa_env_udp *udp = handle->data;
    buffer->base = (char *)udp->receive_buffer;
    buffer->len = sizeof(udp->receive_buffer);
}

static void on_receive(uv_udp_t *handle, ssize_t read_bytes, const uv_buf_t *buffer,
                       const struct sockaddr *from, unsigned flags) {
    (void)buffer;
    struct stoa_env_udp *udp = handle->data;
    /* Receive errors on an unconnected socket concern no datagram in particular, a NULL
     * sender means the socket is drained, and a partial datagram was larger than
     * STOA_DATAGRAM_BYTES_MAX: all three deliver nothing. */
    if (read_bytes < 0 || from == NULL || (flags & UV_UDP_PARTIAL) != 0) {
        return;
    }
    struct stoa_address from_address;
    if (stoa_os_address_from(from, &from_address) != 0) {
        return;
    }
    udp->on_datagram(udp->context, &from_address, udp->receive_buffer, (size_t)read_bytes);
}

int stoa_os_env_udp_bind(struct stoa_env *env, const struct stoa_address *address,
                         stoa_env_datagram_fn on_datagram, void *context,
                         struct stoa_env_udp **udp_out) {
    STOA_ASSERT(address != NULL && on_datagram != NULL && udp_out != NULL);
    struct stoa_os_env *os = stoa_os_env_of(env);
    struct stoa_env_udp *udp = stoa_alloc(sizeof(*udp));
    if (udp == NULL) {
        return STOA_ERR_NOMEM;
    }
    memset(udp, 0, sizeof(*udp));
    /* uv_udp_init without a family makes no socket yet, so it cannot fail. */
    int status = uv_udp_init(os->loop, &udp->handle);
    STOA_ASSERT(status == 0);
    udp->handle.data = udp;
    udp->os = os;
    udp->on_datagram = on_datagram;
    udp->context = context;
    stoa_os_env_handle_opened(os);
    struct sockaddr_storage storage;
    status = uv_udp_bind(&udp->handle, stoa_os_sockaddr_from(address, &storage), 0);
    if (status == 0) {
        status = uv_udp_recv_start(&udp->handle, on_receive_alloc, on_receive);
    }
    if (status != 0) {
        stoa_os_env_udp_close(udp, NULL, NULL);
        return stoa_os_err_from_uv(status);
    }
    *udp_out = udp;
    return STOA_OK;
}

void stoa_os_env_udp_address(struct stoa_env_udp *udp, struct stoa_address *address) {
    STOA_ASSERT(udp != NULL && address != NULL && !udp->closing);
    struct sockaddr_storage storage;
    int length = (int)sizeof(storage);
    /* A bound socket always has a local address. */
    int status = uv_udp_getsockname(&udp->handle, (struct sockaddr *)&storage, &length);
    STOA_ASSERT(status == 0);
    status = stoa_os_address_from((const struct sockaddr *)&storage, address);
    STOA_ASSERT(status == 0);
}

static void on_sent(uv_udp_send_t *request, int status) {
    (void)status; /* delivery is not guaranteed; a failed send is a lost datagram */
    stoa_free(request->data);
}

/* Queues a copy of the datagram in libuv, to be sent when the socket is writable. */
static int send_queued(struct stoa_env_udp *udp, const struct sockaddr *to, const uint8_t *data,
                       size_t length) {
    if (udp->handle.send_queue_size + length > STOA_OS_UDP_SEND_QUEUE_BYTES_MAX) {
        return STOA_ERR_FULL;
    }
    struct queued_datagram *queued = stoa_alloc(sizeof(*queued) + length);
    if (queued == NULL) {
        return STOA_ERR_NOMEM;
    }
    if (length > 0) {
        memcpy(queued->data, data, length);
    }
    queued->request.data = queued;
    uv_buf_t buffer = {.base = (char *)queued->data, .len = length};
    int status = uv_udp_send(&queued->request, &udp->handle, &buffer, 1, to, on_sent);
    if (status != 0) {
        stoa_free(queued);
        return stoa_os_err_from_uv(status);
    }
    return STOA_OK;
}

int stoa_os_env_udp_send(struct stoa_env_udp *udp, const struct stoa_address *to,
                         const uint8_t *data, size_t length) {
    STOA_ASSERT(udp != NULL && !udp->closing && to != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    if (length > STOA_DATAGRAM_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct sockaddr_storage storage;
    const struct sockaddr *to_address = stoa_os_sockaddr_from(to, &storage);
    /* Most sends go straight to the kernel without a copy; uv_udp_try_send says EAGAIN when
     * the socket would block or earlier datagrams are still queued (keeping their order). */
    uv_buf_t buffer = {.base = (char *)(uintptr_t)data, .len = length};
    int status = uv_udp_try_send(&udp->handle, &buffer, 1, to_address);
    if (status >= 0) {
        return STOA_OK;
    }
    if (status != UV_EAGAIN) {
        return stoa_os_err_from_uv(status);
    }
    return send_queued(udp, to_address, data, length);
}
