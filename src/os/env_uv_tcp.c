/* TCP listeners and streams of the real env, on uv_tcp. */
#include <stdbool.h>
#include <string.h>

#include "os/env_uv_int.h"
#include "os/os.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* One queued write. Finished ones are kept on the env's free list for reuse. */
struct stoa_os_write {
    uv_write_t request;
    struct stoa_os_env *os;
    stoa_env_write_fn on_write;
    void *context;
    struct stoa_os_write *next_free;
};

struct stoa_env_stream {
    uv_tcp_t handle;
    struct stoa_os_env *os;
    /* STOA_STREAM_READ_BYTES_MAX bytes, made at the first read_start and lent to libuv for
     * every read: one buffer per stream, no allocation per read. */
    uint8_t *read_buffer;
    bool reading;
    stoa_env_read_fn on_read;
    void *read_context;
    uv_connect_t connect_request;
    stoa_env_connect_fn on_connect;
    void *connect_context;
    bool closing;
    stoa_env_close_fn on_close;
    void *close_context;
};

struct stoa_env_listener {
    uv_tcp_t handle;
    /* When there is no memory for a new stream, the connection is accepted into this handle
     * and closed at once: libuv stops accepting until every connection it has taken from the
     * kernel is given a handle, so an unaccepted connection would stall the listener. */
    uv_tcp_t reject;
    bool reject_busy;    /* reject is closing */
    bool accept_waiting; /* a connection waits for reject to be free */
    int uv_handle_count; /* handle, plus reject while busy */
    struct stoa_os_env *os;
    stoa_env_accept_fn on_accept;
    void *context;
    bool closing;
    stoa_env_close_fn on_close;
    void *close_context;
};

static void ignore_close(void *context) {
    (void)context;
}

/* ---- write requests ---- */

static struct stoa_os_write *write_take(struct stoa_os_env *os) {
    struct stoa_os_write *write = os->write_free;
    if (write != NULL) {
        os->write_free = write->next_free;
        os->write_free_count--;
    } else {
        write = stoa_alloc(sizeof(*write));
        if (write == NULL) {
            return NULL;
        }
    }
    memset(write, 0, sizeof(*write));
    write->os = os;
    write->request.data = write;
    return write;
}

static void write_give(struct stoa_os_write *write) {
    struct stoa_os_env *os = write->os;
    if (os->write_free_count >= STOA_OS_WRITE_REQUESTS_FREE_MAX) {
        stoa_free(write);
        return;
    }
    write->next_free = os->write_free;
    os->write_free = write;
    os->write_free_count++;
}

void stoa_os_env_write_pool_drain(struct stoa_os_env *os) {
    while (os->write_free != NULL) {
        struct stoa_os_write *write = os->write_free;
        os->write_free = write->next_free;
        os->write_free_count--;
        stoa_free(write);
    }
    STOA_ASSERT(os->write_free_count == 0);
}

/* ---- streams ---- */

static struct stoa_env_stream *stream_new(struct stoa_os_env *os) {
    struct stoa_env_stream *stream = stoa_alloc(sizeof(*stream));
    if (stream == NULL) {
        return NULL;
    }
    memset(stream, 0, sizeof(*stream));
    /* uv_tcp_init without a family makes no socket yet, so it cannot fail. */
    int status = uv_tcp_init(os->loop, &stream->handle);
    STOA_ASSERT(status == 0);
    stream->handle.data = stream;
    stream->os = os;
    stoa_os_env_handle_opened(os);
    return stream;
}

/* Replies are small and latency matters more than packet count: no Nagle delay. A failure
 * only costs latency, so it is not an error. */
static void stream_set_nodelay(struct stoa_env_stream *stream) {
    (void)uv_tcp_nodelay(&stream->handle, 1);
}

static void on_stream_closed(uv_handle_t *handle) {
    struct stoa_env_stream *stream = handle->data;
    stoa_env_close_fn on_close = stream->on_close;
    void *close_context = stream->close_context;
    stoa_os_env_handle_closed(stream->os);
    stoa_free(stream->read_buffer);
    stoa_free(stream);
    on_close(close_context);
}

void stoa_os_env_stream_close(struct stoa_env_stream *stream, stoa_env_close_fn on_close,
                              void *context) {
    STOA_ASSERT(stream != NULL && !stream->closing);
    stream->closing = true;
    stream->reading = false;
    stream->on_close = on_close != NULL ? on_close : ignore_close;
    stream->close_context = context;
    /* libuv fails every queued write with UV_ECANCELED (and runs the callbacks of finished
     * ones) before it calls on_stream_closed. */
    uv_close((uv_handle_t *)&stream->handle, on_stream_closed);
}

static void on_connected(uv_connect_t *request, int status) {
    struct stoa_env_stream *stream = request->data;
    stoa_env_connect_fn on_connect = stream->on_connect;
    void *context = stream->connect_context;
    if (status != 0) {
        stoa_os_env_stream_close(stream, NULL, NULL);
        on_connect(context, stoa_os_err_from_uv(status), NULL);
        return;
    }
    stream_set_nodelay(stream);
    on_connect(context, STOA_OK, stream);
}

int stoa_os_env_connect(struct stoa_env *env, const struct stoa_address *address,
                        stoa_env_connect_fn on_connect, void *context) {
    STOA_ASSERT(address != NULL && on_connect != NULL);
    struct stoa_os_env *os = stoa_os_env_of(env);
    struct stoa_env_stream *stream = stream_new(os);
    if (stream == NULL) {
        return STOA_ERR_NOMEM;
    }
    stream->on_connect = on_connect;
    stream->connect_context = context;
    stream->connect_request.data = stream;
    struct sockaddr_storage storage;
    int status = uv_tcp_connect(&stream->connect_request, &stream->handle,
                                stoa_os_sockaddr_from(address, &storage), on_connected);
    if (status != 0) {
        stoa_os_env_stream_close(stream, NULL, NULL);
        return stoa_os_err_from_uv(status);
    }
    return STOA_OK;
}

static void on_read_alloc(uv_handle_t *handle, size_t suggested_bytes, uv_buf_t *buffer) {
    (void)suggested_bytes;
    struct stoa_env_stream *stream = handle->data;
    buffer->base = (char *)stream->read_buffer;
    buffer->len = STOA_STREAM_READ_BYTES_MAX;
}

static void on_read(uv_stream_t *handle, ssize_t read_bytes, const uv_buf_t *buffer) {
    (void)buffer;
    struct stoa_env_stream *stream = handle->data;
    if (read_bytes == 0) {
        return; /* EAGAIN: nothing this time */
    }
    if (read_bytes > 0) {
        stream->on_read(stream->read_context, STOA_OK, stream->read_buffer, (size_t)read_bytes);
        return;
    }
    /* End of stream or an error: nothing more will be read. */
    uv_read_stop(handle);
    stream->reading = false;
    stream->on_read(stream->read_context, stoa_os_err_from_uv((int)read_bytes), NULL, 0);
}

int stoa_os_env_stream_read_start(struct stoa_env_stream *stream, stoa_env_read_fn on_read_fn,
                                  void *context) {
    STOA_ASSERT(stream != NULL && !stream->closing && on_read_fn != NULL);
    if (stream->read_buffer == NULL) {
        stream->read_buffer = stoa_alloc(STOA_STREAM_READ_BYTES_MAX);
        if (stream->read_buffer == NULL) {
            return STOA_ERR_NOMEM;
        }
    }
    stream->on_read = on_read_fn;
    stream->read_context = context;
    if (stream->reading) {
        return STOA_OK;
    }
    int status = uv_read_start((uv_stream_t *)&stream->handle, on_read_alloc, on_read);
    if (status != 0) {
        return stoa_os_err_from_uv(status);
    }
    stream->reading = true;
    return STOA_OK;
}

void stoa_os_env_stream_read_stop(struct stoa_env_stream *stream) {
    STOA_ASSERT(stream != NULL && !stream->closing);
    uv_read_stop((uv_stream_t *)&stream->handle);
    stream->reading = false;
}

static void on_written(uv_write_t *request, int status) {
    struct stoa_os_write *write = request->data;
    stoa_env_write_fn on_write = write->on_write;
    void *context = write->context;
    write_give(write);
    on_write(context, stoa_os_err_from_uv(status));
}

int stoa_os_env_stream_write(struct stoa_env_stream *stream, const uint8_t *data, size_t length,
                             stoa_env_write_fn on_write, void *context) {
    STOA_ASSERT(stream != NULL && !stream->closing && on_write != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    struct stoa_os_write *write = write_take(stream->os);
    if (write == NULL) {
        return STOA_ERR_NOMEM;
    }
    write->on_write = on_write;
    write->context = context;
    /* libuv never writes through base; the cast only drops const for its struct. */
    uv_buf_t buffer = {.base = (char *)(uintptr_t)data, .len = length};
    int status = uv_write(&write->request, (uv_stream_t *)&stream->handle, &buffer, 1, on_written);
    if (status != 0) {
        write_give(write);
        return stoa_os_err_from_uv(status);
    }
    return STOA_OK;
}

int stoa_os_env_stream_try_write(struct stoa_env_stream *stream, const uint8_t *data,
                                 size_t length, size_t *written) {
    STOA_ASSERT(stream != NULL && !stream->closing && written != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    if (length == 0 || stream->handle.write_queue_size > 0) {
        *written = 0;
        return STOA_OK;
    }
    uv_buf_t buffer = {.base = (char *)(uintptr_t)data, .len = length};
    int status = uv_try_write((uv_stream_t *)&stream->handle, &buffer, 1);
    if (status == UV_EAGAIN) {
        *written = 0;
        return STOA_OK;
    }
    if (status < 0) {
        return stoa_os_err_from_uv(status);
    }
    *written = (size_t)status;
    return STOA_OK;
}

size_t stoa_os_env_stream_write_queue_bytes(struct stoa_env_stream *stream) {
    STOA_ASSERT(stream != NULL);
    return stream->handle.write_queue_size;
}

int stoa_os_env_stream_peer_address(struct stoa_env_stream *stream, struct stoa_address *address) {
    STOA_ASSERT(stream != NULL && address != NULL);
    struct sockaddr_storage storage;
    int length = (int)sizeof(storage);
    int status = uv_tcp_getpeername(&stream->handle, (struct sockaddr *)&storage, &length);
    if (status != 0) {
        return stoa_os_err_from_uv(status);
    }
    return stoa_os_address_from((const struct sockaddr *)&storage, address);
}

/* ---- listeners ---- */

static void on_listener_handle_closed(uv_handle_t *handle) {
    struct stoa_env_listener *listener = handle->data;
    STOA_ASSERT(listener->uv_handle_count > 0);
    listener->uv_handle_count--;
    if (listener->uv_handle_count > 0) {
        return;
    }
    stoa_env_close_fn on_close = listener->on_close;
    void *close_context = listener->close_context;
    stoa_os_env_handle_closed(listener->os);
    stoa_free(listener);
    on_close(close_context);
}

static void accept_one(struct stoa_env_listener *listener);

static void on_reject_closed(uv_handle_t *handle) {
    struct stoa_env_listener *listener = handle->data;
    listener->reject_busy = false;
    bool waiting = listener->accept_waiting && !listener->closing;
    listener->accept_waiting = false;
    on_listener_handle_closed(handle);
    if (waiting) {
        accept_one(listener);
    }
}

/* Takes the connection libuv holds and closes it at once (see struct stoa_env_listener). */
static void reject_one(struct stoa_env_listener *listener) {
    if (listener->reject_busy) {
        listener->accept_waiting = true;
        return;
    }
    int status = uv_tcp_init(listener->os->loop, &listener->reject);
    STOA_ASSERT(status == 0);
    listener->reject.data = listener;
    listener->reject_busy = true;
    listener->uv_handle_count++;
    (void)uv_accept((uv_stream_t *)&listener->handle, (uv_stream_t *)&listener->reject);
    uv_close((uv_handle_t *)&listener->reject, on_reject_closed);
}

static void accept_one(struct stoa_env_listener *listener) {
    struct stoa_env_stream *stream = stream_new(listener->os);
    if (stream == NULL) {
        reject_one(listener);
        return;
    }
    int status = uv_accept((uv_stream_t *)&listener->handle, (uv_stream_t *)&stream->handle);
    if (status != 0) {
        stoa_os_env_stream_close(stream, NULL, NULL);
        return;
    }
    stream_set_nodelay(stream);
    listener->on_accept(listener->context, stream);
}

static void on_connection(uv_stream_t *handle, int status) {
    struct stoa_env_listener *listener = handle->data;
    /* A failed accept(2) (EMFILE and the like) has no connection to hand over; libuv keeps
     * listening, and the next connection is tried afresh. */
    if (status != 0 || listener->closing) {
        return;
    }
    accept_one(listener);
}

int stoa_os_env_listen(struct stoa_env *env, const struct stoa_address *address,
                       stoa_env_accept_fn on_accept, void *context,
                       struct stoa_env_listener **listener_out) {
    STOA_ASSERT(address != NULL && on_accept != NULL && listener_out != NULL);
    struct stoa_os_env *os = stoa_os_env_of(env);
    struct stoa_env_listener *listener = stoa_alloc(sizeof(*listener));
    if (listener == NULL) {
        return STOA_ERR_NOMEM;
    }
    memset(listener, 0, sizeof(*listener));
    int status = uv_tcp_init(os->loop, &listener->handle);
    STOA_ASSERT(status == 0);
    listener->handle.data = listener;
    listener->uv_handle_count = 1;
    listener->os = os;
    listener->on_accept = on_accept;
    listener->context = context;
    stoa_os_env_handle_opened(os);
    struct sockaddr_storage storage;
    status = uv_tcp_bind(&listener->handle, stoa_os_sockaddr_from(address, &storage), 0);
    if (status == 0) {
        /* libuv reports a bind error such as EADDRINUSE here, at listen. */
        status = uv_listen((uv_stream_t *)&listener->handle, STOA_LISTEN_BACKLOG, on_connection);
    }
    if (status != 0) {
        stoa_os_env_listener_close(listener, NULL, NULL);
        return stoa_os_err_from_uv(status);
    }
    *listener_out = listener;
    return STOA_OK;
}

void stoa_os_env_listener_address(struct stoa_env_listener *listener,
                                  struct stoa_address *address) {
    STOA_ASSERT(listener != NULL && address != NULL && !listener->closing);
    struct sockaddr_storage storage;
    int length = (int)sizeof(storage);
    /* A listening socket always has a local address. */
    int status = uv_tcp_getsockname(&listener->handle, (struct sockaddr *)&storage, &length);
    STOA_ASSERT(status == 0);
    status = stoa_os_address_from((const struct sockaddr *)&storage, address);
    STOA_ASSERT(status == 0);
}

void stoa_os_env_listener_close(struct stoa_env_listener *listener, stoa_env_close_fn on_close,
                                void *context) {
    STOA_ASSERT(listener != NULL && !listener->closing);
    listener->closing = true;
    listener->on_close = on_close != NULL ? on_close : ignore_close;
    listener->close_context = context;
    uv_close((uv_handle_t *)&listener->handle, on_listener_handle_closed);
}
