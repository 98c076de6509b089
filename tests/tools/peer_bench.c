/*
 * stoa-peer-bench: the peer transport's throughput and round trip on loopback, two
 * transports in one process and one loop. Not installed; built with the tests.
 *
 *   stoa-peer-bench stream COUNT SIZE   node 1 sends COUNT messages of SIZE bytes to node 2
 *                                        as fast as the send queue takes them (a BUSY send
 *                                        runs the loop once and tries again); prints
 *                                        messages/s and payload MB/s.
 *   stoa-peer-bench rtt COUNT SIZE      node 1 sends one message, node 2 echoes it, COUNT
 *                                        times (at most 100000); prints p50 and p99.
 *
 * Both nodes share one thread, so the figures are the transport's own cost (framing,
 * checksums, copies, system calls), not a network's.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "os/env_uv.h"
#include "server/peer.h"
#include "util/alloc.h"
#include "util/err.h"

#define ROUNDS_MAX 100000
#define SECRET "the secret of the benchmark group"

struct bench {
    uv_loop_t loop;
    struct stoa_os_env os;
    struct stoa_peer_transport *transports[2];
    uint64_t received;
    uint64_t received_bytes;
    int ups;
    bool echo;
};

static struct bench bench;

static void on_message(void *context, uint64_t from, const uint8_t *payload, size_t length) {
    (void)context;
    bench.received++;
    bench.received_bytes += length;
    if (bench.echo && from == 1) {
        (void)stoa_peer_send(bench.transports[1], 1, payload, length);
    }
}

static void on_state(void *context, uint64_t id, enum stoa_peer_state state) {
    (void)context;
    (void)id;
    if (state == STOA_PEER_UP) {
        bench.ups++;
    }
}

static int start(void) {
    if (uv_loop_init(&bench.loop) != 0 || stoa_os_env_init(&bench.os, &bench.loop) != 0) {
        return -1;
    }
    struct stoa_env *env = stoa_os_env_get(&bench.os);
    struct stoa_address addresses[2];
    for (int i = 0; i < 2; i++) {
        struct stoa_peer_options options = {
            .self_id = (uint64_t)i + 1,
            .listen_address = {.family = STOA_ADDRESS_IPV4, .ip = {127, 0, 0, 1}},
            .secret = (const uint8_t *)SECRET,
            .secret_length = strlen(SECRET),
            .on_message = on_message,
            .on_peer_state = on_state,
        };
        if (stoa_peer_start(env, &options, &bench.transports[i]) != STOA_OK) {
            return -1;
        }
        stoa_peer_address(bench.transports[i], &addresses[i]);
    }
    if (stoa_peer_member_add(bench.transports[0], 2, &addresses[1]) != STOA_OK ||
        stoa_peer_member_add(bench.transports[1], 1, &addresses[0]) != STOA_OK) {
        return -1;
    }
    while (bench.ups < 2) {
        uv_run(&bench.loop, UV_RUN_ONCE);
    }
    return 0;
}

static int stream(uint64_t count, const uint8_t *payload, size_t size) {
    uint64_t sent = 0;
    uint64_t busy = 0;
    uint64_t began = uv_hrtime();
    while (bench.received < count) {
        while (sent < count) {
            int result = stoa_peer_send(bench.transports[0], 2, payload, size);
            if (result == STOA_ERR_BUSY) {
                busy++;
                break;
            }
            if (result != STOA_OK) {
                fprintf(stderr, "send: %s\n", stoa_err_name(result));
                return 1;
            }
            sent++;
        }
        uv_run(&bench.loop, UV_RUN_NOWAIT);
    }
    double seconds = (double)(uv_hrtime() - began) / 1e9;
    printf("stream: %llu messages of %zu bytes in %.3f s: %.0f messages/s, %.1f MB/s of payload "
           "(%llu busy refusals)\n",
           (unsigned long long)count, size, seconds, (double)count / seconds,
           (double)bench.received_bytes / seconds / 1e6, (unsigned long long)busy);
    return 0;
}

static int compare(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int round_trips(uint64_t count, const uint8_t *payload, size_t size) {
    static uint64_t times[ROUNDS_MAX];
    uint64_t rounds = count < ROUNDS_MAX ? count : ROUNDS_MAX;
    bench.echo = true;
    for (uint64_t i = 0; i < rounds; i++) {
        uint64_t before = bench.received;
        uint64_t began = uv_hrtime();
        if (stoa_peer_send(bench.transports[0], 2, payload, size) != STOA_OK) {
            return 1;
        }
        while (bench.received < before + 2) {
            uv_run(&bench.loop, UV_RUN_ONCE);
        }
        times[i] = uv_hrtime() - began;
    }
    qsort(times, rounds, sizeof(times[0]), compare);
    printf("rtt: %llu round trips of %zu bytes: p50 %.1f us, p99 %.1f us\n",
           (unsigned long long)rounds, size, (double)times[rounds / 2] / 1e3,
           (double)times[rounds * 99 / 100] / 1e3);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "stream") != 0 && strcmp(argv[1], "rtt") != 0)) {
        fprintf(stderr, "usage: stoa-peer-bench stream|rtt COUNT SIZE\n");
        return 2;
    }
    uint64_t count = strtoull(argv[2], NULL, 10);
    size_t size = strtoull(argv[3], NULL, 10);
    if (count == 0 || size > STOA_PEER_FRAME_PAYLOAD_BYTES_MAX || start() != 0) {
        fprintf(stderr, "stoa-peer-bench: bad arguments or cannot start\n");
        return 1;
    }
    uint8_t *payload = stoa_calloc(1, size > 0 ? size : 1);
    if (payload == NULL) {
        return 1;
    }
    int status = strcmp(argv[1], "stream") == 0 ? stream(count, payload, size)
                                                : round_trips(count, payload, size);
    stoa_free(payload);
    /* The process ends here; the transports and the loop go with it. */
    return status;
}
