/*
 * sim_net: a lossy in-memory network of byte messages between numbered nodes, deterministic
 * from a seed, for tests that connect several cores (the consensus unit tests now, the
 * cluster simulator later).
 *
 * A message sent is copied and given a delivery tick now + a random delay in
 * [0, delay_ticks_max]; it may be dropped or duplicated (each copy with its own delay), so
 * messages arrive out of order. stoa_sim_net_receive hands out, one at a time and in a
 * random order, the messages whose tick has come. A link can be cut one way (a partition is
 * a set of cut links); a message sent over a cut link is dropped, and so is one already
 * queued when it falls due on a link cut since. Every choice comes from one util/prng
 * stream, so a run is replayed from its seed.
 *
 * Ownership: create returns an owned net (free with stoa_sim_net_destroy). send copies the
 * bytes; receive returns owned bytes (free with stoa_free). Node ids are 1..SIM_NET_NODES_MAX.
 */
#ifndef STOA_SIM_NET_H
#define STOA_SIM_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NET_NODES_MAX 16
/* Messages in flight; past this a send is dropped (a network has finite buffers too). */
#define SIM_NET_QUEUE_MAX (64 * 1024)

struct stoa_sim_net_faults {
    uint32_t drop_per_million;
    uint32_t duplicate_per_million;
    uint32_t delay_ticks_max;
};

struct stoa_sim_net;

int stoa_sim_net_create(uint64_t seed, struct stoa_sim_net **out);
void stoa_sim_net_destroy(struct stoa_sim_net *net);

void stoa_sim_net_set_faults(struct stoa_sim_net *net, const struct stoa_sim_net_faults *faults);
/* Cuts (or restores) the link from -> to. */
void stoa_sim_net_cut(struct stoa_sim_net *net, uint32_t from, uint32_t to, bool cut);
/* Restores every link. */
void stoa_sim_net_heal(struct stoa_sim_net *net);
bool stoa_sim_net_is_cut(const struct stoa_sim_net *net, uint32_t from, uint32_t to);

/* Queues a copy of bytes (or drops it, or two copies). Returns 0 or STOA_ERR_NOMEM. */
int stoa_sim_net_send(struct stoa_sim_net *net, uint32_t from, uint32_t to, const uint8_t *bytes,
                      size_t length);
void stoa_sim_net_tick(struct stoa_sim_net *net);
/* Takes one message that is due. Returns false if none is. */
bool stoa_sim_net_receive(struct stoa_sim_net *net, uint32_t *from, uint32_t *to, uint8_t **bytes,
                          size_t *length);
/* Drops every queued message to node (it crashed; its sockets are gone). */
void stoa_sim_net_drop_to(struct stoa_sim_net *net, uint32_t node);
size_t stoa_sim_net_pending(const struct stoa_sim_net *net);
uint64_t stoa_sim_net_now(const struct stoa_sim_net *net);

#endif
