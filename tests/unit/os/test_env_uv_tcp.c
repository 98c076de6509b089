/* Shows that the real env's TCP listeners and streams carry bytes intact through reads of at
 * most one buffer, report the bound port, refused connections and busy addresses, cancel
 * pending writes on close, and survive running out of memory while accepting. */
#include "os_fixture.h"
#include "util/limits.h"

static const struct stoa_address loopback_any_port = {
    .family = STOA_ADDRESS_IPV4,
    .port = 0,
    .ip = {127, 0, 0, 1},
};

/* A listener with one accepted stream and the client stream connected to it. */
struct pair {
    struct fixture *fixture;
    struct stoa_env_listener *listener;
    struct stoa_address address;
    struct stoa_env_stream *server;
    struct stoa_env_stream *client;
    int accept_count;
    bool accepted;
    bool connected;
};

static void on_pair_accept(void *context, struct stoa_env_stream *stream) {
    struct pair *pair = context;
    pair->accept_count++;
    pair->server = stream;
    pair->accepted = true;
}

static void on_pair_connect(void *context, int status, struct stoa_env_stream *stream) {
    struct pair *pair = context;
    assert_int_equal(status, 0);
    assert_non_null(stream);
    pair->client = stream;
    pair->connected = true;
}

static void pair_open(struct fixture *fixture, struct pair *pair) {
    const struct stoa_env_ops *ops = fixture->env->ops;
    memset(pair, 0, sizeof(*pair));
    pair->fixture = fixture;
    assert_int_equal(
        ops->listen(fixture->env, &loopback_any_port, on_pair_accept, pair, &pair->listener), 0);
    ops->listener_address(pair->listener, &pair->address);
    assert_int_equal(pair->address.family, STOA_ADDRESS_IPV4);
    assert_int_not_equal(pair->address.port, 0);
    assert_int_equal(ops->connect(fixture->env, &pair->address, on_pair_connect, pair), 0);
    assert_true(run_until(fixture, &pair->connected));
    assert_true(run_until(fixture, &pair->accepted));
}

static void pair_close(struct pair *pair) {
    const struct stoa_env_ops *ops = pair->fixture->env->ops;
    bool closed[3] = {pair->server == NULL, pair->client == NULL, false};
    if (pair->server != NULL) {
        ops->stream_close(pair->server, fixture_set_flag, &closed[0]);
    }
    if (pair->client != NULL) {
        ops->stream_close(pair->client, fixture_set_flag, &closed[1]);
    }
    ops->listener_close(pair->listener, fixture_set_flag, &closed[2]);
    for (int i = 0; i < 3; i++) {
        assert_true(run_until(pair->fixture, &closed[i]));
    }
}

/* ---- echo ---- */

#define ECHO_BYTES (1024 * 1024)

static uint8_t echo_sent[ECHO_BYTES];
static uint8_t echo_server_copy[ECHO_BYTES];
static uint8_t echo_received[ECHO_BYTES];

struct echo {
    struct pair pair;
    const struct stoa_env_ops *ops;
    size_t server_received;
    size_t server_read_count;
    size_t server_echoed;
    bool server_all_echoed;
    int server_end_status;
    bool server_ended;
    size_t client_received;
    int client_read_count;
    size_t read_length_max;
    bool client_wrote;
    bool done;
};

static void on_server_written(void *context, int status) {
    struct echo *echo = context;
    assert_int_equal(status, 0);
    echo->server_echoed++;
    echo->server_all_echoed =
        echo->server_received == ECHO_BYTES && echo->server_echoed == echo->server_read_count;
}

static void on_server_read(void *context, int status, const uint8_t *data, size_t length) {
    struct echo *echo = context;
    if (status != 0) {
        assert_int_equal(length, 0);
        echo->server_end_status = status;
        echo->server_ended = true;
        return;
    }
    assert_true(length > 0 && echo->server_received + length <= ECHO_BYTES);
    /* data is borrowed for this call only; the echo writes from a stable copy. */
    uint8_t *copy = echo_server_copy + echo->server_received;
    memcpy(copy, data, length);
    echo->server_received += length;
    echo->server_read_count++;
    assert_int_equal(
        echo->ops->stream_write(echo->pair.server, copy, length, on_server_written, echo), 0);
}

static void on_client_read(void *context, int status, const uint8_t *data, size_t length) {
    struct echo *echo = context;
    assert_int_equal(status, 0);
    assert_true(length > 0 && echo->client_received + length <= ECHO_BYTES);
    if (length > echo->read_length_max) {
        echo->read_length_max = length;
    }
    memcpy(echo_received + echo->client_received, data, length);
    echo->client_received += length;
    echo->client_read_count++;
    echo->done = echo->client_received == ECHO_BYTES;
}

static void on_client_written(void *context, int status) {
    struct echo *echo = context;
    assert_int_equal(status, 0);
    echo->client_wrote = true;
}

/* A 1 MiB payload sent to 127.0.0.1 on a port chosen by the kernel comes back byte for byte,
 * in reads that never exceed one read buffer; the server then sees the end of the stream. */
static void test_tcp_echo_of_one_mebibyte(void **state) {
    struct fixture *fixture = *state;
    static struct echo echo;
    memset(&echo, 0, sizeof(echo));
    echo.ops = fixture->env->ops;
    for (size_t i = 0; i < ECHO_BYTES; i++) {
        echo_sent[i] = (uint8_t)(i * 7 + i / 251);
    }
    pair_open(fixture, &echo.pair);
    struct stoa_address peer;
    assert_int_equal(echo.ops->stream_peer_address(echo.pair.server, &peer), 0);
    assert_int_equal(peer.family, STOA_ADDRESS_IPV4);
    assert_memory_equal(peer.ip, loopback_any_port.ip, 4);
    assert_int_equal(echo.ops->stream_read_start(echo.pair.server, on_server_read, &echo), 0);
    assert_int_equal(echo.ops->stream_read_start(echo.pair.client, on_client_read, &echo), 0);
    assert_int_equal(
        echo.ops->stream_write(echo.pair.client, echo_sent, ECHO_BYTES, on_client_written, &echo),
        0);
    assert_true(run_until(fixture, &echo.done));
    assert_true(run_until(fixture, &echo.client_wrote));
    assert_memory_equal(echo_received, echo_sent, ECHO_BYTES);
    assert_true(echo.read_length_max <= STOA_STREAM_READ_BYTES_MAX);
    assert_true(echo.client_read_count >= ECHO_BYTES / STOA_STREAM_READ_BYTES_MAX);
    assert_true(run_until(fixture, &echo.server_all_echoed));

    /* The client goes away: the server's next read is the end of the stream. */
    bool client_closed = false;
    echo.ops->stream_close(echo.pair.client, fixture_set_flag, &client_closed);
    echo.pair.client = NULL;
    assert_true(run_until(fixture, &echo.server_ended));
    assert_int_equal(echo.server_end_status, STOA_ERR_CLOSED);
    assert_true(client_closed);
    pair_close(&echo.pair);
}

/* ---- refused and busy ---- */

struct connect_result {
    int status;
    struct stoa_env_stream *stream;
    bool done;
};

static void on_connect_result(void *context, int status, struct stoa_env_stream *stream) {
    struct connect_result *result = context;
    result->status = status;
    result->stream = stream;
    result->done = true;
}

static void on_accept_unexpected(void *context, struct stoa_env_stream *stream) {
    (void)context;
    (void)stream;
    fail_msg("no connection was expected");
}

/* Connecting to a port nobody listens on fails with STOA_ERR_REFUSED and no stream. */
static void test_connect_to_closed_port_is_refused(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct stoa_env_listener *listener = NULL;
    assert_int_equal(
        ops->listen(fixture->env, &loopback_any_port, on_accept_unexpected, NULL, &listener), 0);
    struct stoa_address address;
    ops->listener_address(listener, &address);
    bool closed = false;
    ops->listener_close(listener, fixture_set_flag, &closed);
    assert_true(run_until(fixture, &closed));

    struct connect_result result = {.status = 1};
    assert_int_equal(ops->connect(fixture->env, &address, on_connect_result, &result), 0);
    assert_true(run_until(fixture, &result.done));
    assert_int_equal(result.status, STOA_ERR_REFUSED);
    assert_null(result.stream);
}

/* Listening on an address another listener holds fails with STOA_ERR_ADDRESS_IN_USE, and
 * the failed listener leaves nothing behind (teardown counts handles and allocations). */
static void test_listen_on_busy_address(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct stoa_env_listener *first = NULL;
    assert_int_equal(
        ops->listen(fixture->env, &loopback_any_port, on_accept_unexpected, NULL, &first), 0);
    struct stoa_address address;
    ops->listener_address(first, &address);
    struct stoa_env_listener *second = NULL;
    assert_int_equal(ops->listen(fixture->env, &address, on_accept_unexpected, NULL, &second),
                     STOA_ERR_ADDRESS_IN_USE);
    assert_null(second);
    bool closed = false;
    ops->listener_close(first, fixture_set_flag, &closed);
    assert_true(run_until(fixture, &closed));
}

/* ---- close with pending writes ---- */

#define CHUNK_BYTES (1024 * 1024)
#define CHUNK_COUNT_MAX 256

static uint8_t chunk[CHUNK_BYTES];

struct pending {
    int issued;
    int completed;
    int canceled;
    bool closed;
    bool write_after_close;
};

static void on_pending_written(void *context, int status) {
    struct pending *pending = context;
    if (pending->closed) {
        pending->write_after_close = true;
    }
    assert_true(status == 0 || status == STOA_ERR_CANCELED);
    pending->completed++;
    if (status == STOA_ERR_CANCELED) {
        pending->canceled++;
    }
}

static void on_pending_closed(void *context) {
    struct pending *pending = context;
    assert_int_equal(pending->completed, pending->issued);
    pending->closed = true;
}

/* Closing a stream whose peer does not read fails the writes still queued with
 * STOA_ERR_CANCELED, every write callback runs exactly once, and all of them run before the
 * close callback. The queue is visible in stream_write_queue_bytes before the close. */
static void test_close_cancels_pending_writes(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct pair pair;
    pair_open(fixture, &pair);
    assert_int_equal(ops->stream_write_queue_bytes(pair.client), 0);
    struct pending pending = {0};
    while (ops->stream_write_queue_bytes(pair.client) == 0) {
        assert_true(pending.issued < CHUNK_COUNT_MAX);
        assert_int_equal(
            ops->stream_write(pair.client, chunk, CHUNK_BYTES, on_pending_written, &pending), 0);
        pending.issued++;
    }
    assert_true(ops->stream_write_queue_bytes(pair.client) <= CHUNK_BYTES);
    ops->stream_close(pair.client, on_pending_closed, &pending);
    pair.client = NULL;
    assert_true(run_until(fixture, &pending.closed));
    assert_false(pending.write_after_close);
    assert_int_equal(pending.completed, pending.issued);
    assert_true(pending.canceled >= 1);
    pair_close(&pair);
}

/* ---- running out of memory ---- */

/* A client made directly on libuv, so that it allocates nothing through stoa_alloc. */
struct raw_client {
    uv_tcp_t handle;
    uv_connect_t connect;
    char buffer[64];
    bool ended;
    bool closed;
};

static void on_raw_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buffer) {
    (void)suggested;
    struct raw_client *client = handle->data;
    buffer->base = client->buffer;
    buffer->len = sizeof(client->buffer);
}

static void on_raw_read(uv_stream_t *handle, ssize_t length, const uv_buf_t *buffer) {
    (void)buffer;
    struct raw_client *client = handle->data;
    if (length < 0) {
        client->ended = true;
        uv_read_stop(handle);
    }
}

static void on_raw_connect(uv_connect_t *request, int status) {
    struct raw_client *client = request->data;
    assert_int_equal(status, 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&client->handle, on_raw_alloc, on_raw_read), 0);
}

static void on_raw_closed(uv_handle_t *handle) {
    struct raw_client *client = handle->data;
    client->closed = true;
}

static void raw_connect(struct fixture *fixture, struct raw_client *client,
                        const struct stoa_address *address) {
    memset(client, 0, sizeof(*client));
    assert_int_equal(uv_tcp_init(&fixture->loop, &client->handle), 0);
    client->handle.data = client;
    client->connect.data = client;
    struct sockaddr_in to;
    char host[] = "127.0.0.1";
    assert_int_equal(uv_ip4_addr(host, address->port, &to), 0);
    assert_int_equal(uv_tcp_connect(&client->connect, &client->handle, (const struct sockaddr *)&to,
                                    on_raw_connect),
                     0);
}

/* When there is no memory for the stream of a new connection, that connection is closed
 * (the client sees its end), nothing is accepted, and the listener keeps working: even two
 * failures in a row, and a later connection is accepted normally. */
static void test_accept_without_memory_drops_connection(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct pair pair;
    memset(&pair, 0, sizeof(pair));
    pair.fixture = fixture;
    assert_int_equal(
        ops->listen(fixture->env, &loopback_any_port, on_pair_accept, &pair, &pair.listener), 0);
    ops->listener_address(pair.listener, &pair.address);
    struct raw_client clients[2];
    stoa_alloc_fail_from(1);
    raw_connect(fixture, &clients[0], &pair.address);
    raw_connect(fixture, &clients[1], &pair.address);
    assert_true(run_until(fixture, &clients[0].ended));
    assert_true(run_until(fixture, &clients[1].ended));
    stoa_alloc_fail_nth(0);
    assert_int_equal(pair.accept_count, 0);
    for (int i = 0; i < 2; i++) {
        uv_close((uv_handle_t *)&clients[i].handle, on_raw_closed);
        assert_true(run_until(fixture, &clients[i].closed));
    }
    assert_int_equal(ops->connect(fixture->env, &pair.address, on_pair_connect, &pair), 0);
    assert_true(run_until(fixture, &pair.connected));
    assert_true(run_until(fixture, &pair.accepted));
    assert_int_equal(pair.accept_count, 1);
    pair_close(&pair);
}

static void on_read_unexpected(void *context, int status, const uint8_t *data, size_t length) {
    (void)context;
    (void)status;
    (void)data;
    (void)length;
}

static void on_write_counted(void *context, int status) {
    assert_int_equal(status, 0);
    *(bool *)context = true;
}

/* Starting to read without memory for the read buffer, or writing without memory for the
 * write request, fails with STOA_ERR_NOMEM and the stream stays usable. */
static void test_stream_operations_without_memory(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct pair pair;
    pair_open(fixture, &pair);
    stoa_alloc_fail_nth(1);
    assert_int_equal(ops->stream_read_start(pair.server, on_read_unexpected, NULL), STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(1);
    bool written = false;
    const uint8_t byte = 'x';
    assert_int_equal(ops->stream_write(pair.client, &byte, 1, on_write_counted, &written),
                     STOA_ERR_NOMEM);
    stoa_alloc_fail_nth(0);
    assert_int_equal(ops->stream_read_start(pair.server, on_read_unexpected, NULL), 0);
    assert_int_equal(ops->stream_write(pair.client, &byte, 1, on_write_counted, &written), 0);
    assert_true(run_until(fixture, &written));
    ops->stream_read_stop(pair.server);
    pair_close(&pair);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_tcp_echo_of_one_mebibyte, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_connect_to_closed_port_is_refused, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_listen_on_busy_address, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_close_cancels_pending_writes, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_accept_without_memory_drops_connection, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stream_operations_without_memory, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
