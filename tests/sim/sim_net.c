/* sim_net: a lossy, reordering in-memory network for tests (see sim_net.h). */
#include "sim/sim_net.h"

#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/prng.h"

struct sim_message {
    uint32_t from;
    uint32_t to;
    uint64_t due;
    uint8_t *bytes;
    size_t length;
};

struct stoa_sim_net {
    struct stoa_prng prng;
    struct stoa_sim_net_faults faults;
    uint64_t now;
    bool cut[SIM_NET_NODES_MAX + 1][SIM_NET_NODES_MAX + 1];
    struct sim_message *queue;
    size_t count;
};

int stoa_sim_net_create(uint64_t seed, struct stoa_sim_net **out) {
    struct stoa_sim_net *net = stoa_calloc(1, sizeof(*net));
    if (net == NULL) {
        return STOA_ERR_NOMEM;
    }
    net->queue = stoa_calloc(SIM_NET_QUEUE_MAX, sizeof(*net->queue));
    if (net->queue == NULL) {
        stoa_free(net);
        return STOA_ERR_NOMEM;
    }
    stoa_prng_init(&net->prng, seed);
    *out = net;
    return STOA_OK;
}

void stoa_sim_net_destroy(struct stoa_sim_net *net) {
    if (net == NULL) {
        return;
    }
    for (size_t i = 0; i < net->count; i++) {
        stoa_free(net->queue[i].bytes);
    }
    stoa_free(net->queue);
    stoa_free(net);
}

void stoa_sim_net_set_faults(struct stoa_sim_net *net, const struct stoa_sim_net_faults *faults) {
    net->faults = *faults;
}

void stoa_sim_net_cut(struct stoa_sim_net *net, uint32_t from, uint32_t to, bool cut) {
    STOA_ASSERT(from <= SIM_NET_NODES_MAX && to <= SIM_NET_NODES_MAX);
    net->cut[from][to] = cut;
}

void stoa_sim_net_heal(struct stoa_sim_net *net) {
    memset(net->cut, 0, sizeof(net->cut));
}

bool stoa_sim_net_is_cut(const struct stoa_sim_net *net, uint32_t from, uint32_t to) {
    return from <= SIM_NET_NODES_MAX && to <= SIM_NET_NODES_MAX && net->cut[from][to];
}

static bool chance(struct stoa_sim_net *net, uint32_t per_million) {
    return per_million > 0 && stoa_prng_below(&net->prng, 1000000) < per_million;
}

static int enqueue(struct stoa_sim_net *net, uint32_t from, uint32_t to, const uint8_t *bytes,
                   size_t length) {
    if (net->count >= SIM_NET_QUEUE_MAX) {
        return STOA_OK; /* dropped: buffers full */
    }
    uint8_t *copy = stoa_alloc(length > 0 ? length : 1);
    if (copy == NULL) {
        return STOA_ERR_NOMEM;
    }
    memcpy(copy, bytes, length);
    uint64_t delay = stoa_prng_below(&net->prng, (uint64_t)net->faults.delay_ticks_max + 1);
    net->queue[net->count++] = (struct sim_message){
        .from = from, .to = to, .due = net->now + delay, .bytes = copy, .length = length};
    return STOA_OK;
}

int stoa_sim_net_send(struct stoa_sim_net *net, uint32_t from, uint32_t to, const uint8_t *bytes,
                      size_t length) {
    STOA_ASSERT(from >= 1 && from <= SIM_NET_NODES_MAX && to >= 1 && to <= SIM_NET_NODES_MAX);
    if (net->cut[from][to] || chance(net, net->faults.drop_per_million)) {
        return STOA_OK;
    }
    int result = enqueue(net, from, to, bytes, length);
    if (result == STOA_OK && chance(net, net->faults.duplicate_per_million)) {
        result = enqueue(net, from, to, bytes, length);
    }
    return result;
}

void stoa_sim_net_tick(struct stoa_sim_net *net) {
    net->now++;
}

static void remove_at(struct stoa_sim_net *net, size_t index) {
    net->queue[index] = net->queue[net->count - 1];
    net->count--;
}

bool stoa_sim_net_receive(struct stoa_sim_net *net, uint32_t *from, uint32_t *to, uint8_t **bytes,
                          size_t *length) {
    for (;;) {
        size_t due = 0;
        for (size_t i = 0; i < net->count; i++) {
            due += net->queue[i].due <= net->now ? 1 : 0;
        }
        if (due == 0) {
            return false;
        }
        uint64_t pick = stoa_prng_below(&net->prng, due);
        size_t index = 0;
        for (size_t i = 0; i < net->count; i++) {
            if (net->queue[i].due <= net->now && pick-- == 0) {
                index = i;
                break;
            }
        }
        struct sim_message message = net->queue[index];
        remove_at(net, index);
        if (net->cut[message.from][message.to]) {
            stoa_free(message.bytes);
            continue;
        }
        *from = message.from;
        *to = message.to;
        *bytes = message.bytes;
        *length = message.length;
        return true;
    }
}

void stoa_sim_net_drop_to(struct stoa_sim_net *net, uint32_t node) {
    size_t i = 0;
    while (i < net->count) {
        if (net->queue[i].to == node) {
            stoa_free(net->queue[i].bytes);
            remove_at(net, i);
        } else {
            i++;
        }
    }
}

size_t stoa_sim_net_pending(const struct stoa_sim_net *net) {
    return net->count;
}

uint64_t stoa_sim_net_now(const struct stoa_sim_net *net) {
    return net->now;
}
