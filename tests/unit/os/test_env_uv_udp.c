/* Shows that the real env's UDP sockets carry a datagram across loopback with its sender's
 * address, and refuse datagrams larger than STOA_DATAGRAM_BYTES_MAX in both directions. */
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "os_fixture.h"
#include "util/limits.h"

static const struct stoa_address loopback_any_port = {
    .family = STOA_ADDRESS_IPV4,
    .port = 0,
    .ip = {127, 0, 0, 1},
};

struct inbox {
    struct stoa_address from;
    uint8_t data[STOA_DATAGRAM_BYTES_MAX];
    size_t length;
    int count;
    bool received;
};

static void on_datagram(void *context, const struct stoa_address *from, const uint8_t *data,
                        size_t length) {
    struct inbox *inbox = context;
    assert_true(length <= sizeof(inbox->data));
    inbox->from = *from;
    memcpy(inbox->data, data, length);
    inbox->length = length;
    inbox->count++;
    inbox->received = true;
}

static void close_udp(struct fixture *fixture, struct stoa_env_udp *udp) {
    bool closed = false;
    fixture->env->ops->udp_close(udp, fixture_set_flag, &closed);
    assert_true(run_until(fixture, &closed));
}

/* A datagram sent from one loopback socket to another arrives whole, with the sender's
 * address as udp_address reports it; a datagram of exactly the maximum size arrives too. */
static void test_udp_round_trip(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct inbox inbox_a = {0};
    struct inbox inbox_b = {0};
    struct stoa_env_udp *a = NULL;
    struct stoa_env_udp *b = NULL;
    assert_int_equal(ops->udp_bind(fixture->env, &loopback_any_port, on_datagram, &inbox_a, &a), 0);
    assert_int_equal(ops->udp_bind(fixture->env, &loopback_any_port, on_datagram, &inbox_b, &b), 0);
    struct stoa_address address_a;
    struct stoa_address address_b;
    ops->udp_address(a, &address_a);
    ops->udp_address(b, &address_b);
    assert_int_not_equal(address_a.port, 0);
    assert_int_not_equal(address_b.port, address_a.port);

    uint8_t hello[] = "hello, overlay";
    assert_int_equal(ops->udp_send(a, &address_b, hello, sizeof(hello)), 0);
    assert_true(run_until(fixture, &inbox_b.received));
    assert_int_equal(inbox_b.length, sizeof(hello));
    assert_memory_equal(inbox_b.data, hello, sizeof(hello));
    assert_true(stoa_address_equal(&inbox_b.from, &address_a));

    static uint8_t largest[STOA_DATAGRAM_BYTES_MAX];
    for (size_t i = 0; i < sizeof(largest); i++) {
        largest[i] = (uint8_t)(i * 13);
    }
    assert_int_equal(ops->udp_send(b, &address_a, largest, sizeof(largest)), 0);
    assert_true(run_until(fixture, &inbox_a.received));
    assert_int_equal(inbox_a.length, sizeof(largest));
    assert_memory_equal(inbox_a.data, largest, sizeof(largest));
    assert_true(stoa_address_equal(&inbox_a.from, &address_b));
    close_udp(fixture, a);
    close_udp(fixture, b);
}

/* Sending a datagram one byte over the maximum fails with STOA_ERR_TOO_LARGE; receiving one
 * (sent with a plain socket) delivers nothing, and the next normal datagram still arrives. */
static void test_oversized_datagram_refused(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct inbox inbox = {0};
    struct stoa_env_udp *udp = NULL;
    assert_int_equal(ops->udp_bind(fixture->env, &loopback_any_port, on_datagram, &inbox, &udp), 0);
    struct stoa_address address;
    ops->udp_address(udp, &address);
    static uint8_t oversized[STOA_DATAGRAM_BYTES_MAX + 1];
    assert_int_equal(ops->udp_send(udp, &address, oversized, sizeof(oversized)),
                     STOA_ERR_TOO_LARGE);

    int raw = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(raw >= 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(address.port)};
    memcpy(&to.sin_addr, address.ip, 4);
    ssize_t sent =
        sendto(raw, oversized, sizeof(oversized), 0, (const struct sockaddr *)&to, sizeof(to));
    assert_int_equal(sent, (ssize_t)sizeof(oversized));
    const uint8_t small[] = {1, 2, 3};
    sent = sendto(raw, small, sizeof(small), 0, (const struct sockaddr *)&to, sizeof(to));
    assert_int_equal(sent, (ssize_t)sizeof(small));
    close(raw);
    /* Datagrams on loopback keep their order, so the small one arrives after the big one
     * was seen and dropped. */
    assert_true(run_until(fixture, &inbox.received));
    assert_int_equal(inbox.count, 1);
    assert_int_equal(inbox.length, sizeof(small));
    assert_memory_equal(inbox.data, small, sizeof(small));
    close_udp(fixture, udp);
}

/* Binding a port another socket holds fails with STOA_ERR_ADDRESS_IN_USE and leaks nothing. */
static void test_udp_bind_busy_port(void **state) {
    struct fixture *fixture = *state;
    const struct stoa_env_ops *ops = fixture->env->ops;
    struct inbox inbox = {0};
    struct stoa_env_udp *first = NULL;
    assert_int_equal(ops->udp_bind(fixture->env, &loopback_any_port, on_datagram, &inbox, &first),
                     0);
    struct stoa_address address;
    ops->udp_address(first, &address);
    struct stoa_env_udp *second = NULL;
    assert_int_equal(ops->udp_bind(fixture->env, &address, on_datagram, &inbox, &second),
                     STOA_ERR_ADDRESS_IN_USE);
    assert_null(second);
    close_udp(fixture, first);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_udp_round_trip, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_oversized_datagram_refused, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_udp_bind_busy_port, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
