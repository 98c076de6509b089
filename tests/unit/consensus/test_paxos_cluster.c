/* Shows that groups of 3 and 5 paxos cores stay safe under a hostile network and crashes:
 * for hundreds of seeds, cores connected by a sim_net that drops, duplicates, delays and
 * reorders messages, with partitions, crashes that lose everything not persisted (before a
 * batch, between the messages that may precede its fsync and the fsync, or after the fsync
 * but before the other messages), restarts from the persisted state,
 * snapshots, forced elections, handovers and proposals along the way, never apply two
 * different values at one slot and never have two nodes serving lease reads at once; and
 * once the network heals and every node is up, a leader is elected and every node applies
 * the same log within a bounded number of ticks. A failure prints its seed; set
 * PAXOS_SEED=<n> to replay one seed, PAXOS_SEEDS=<count> for a longer soak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "paxos_harness.h"
#include "util/prng.h"

static const uint32_t members[] = {1, 2, 3, 4, 5};
static struct h_cluster cluster;

/* Ticks of faults, then at most this many ticks to converge after healing. */
#define FAULT_TICKS 400
#define HEAL_TICKS_MAX 300

struct run_stats {
    uint64_t applied;
    uint64_t crashes;
    uint64_t proposals;
    uint64_t heal_ticks_max;
};

static void deliver_due(struct stoa_prng *prng, bool crashes) {
    uint32_t from = 0;
    uint32_t to = 0;
    uint8_t *bytes = NULL;
    size_t length = 0;
    for (int i = 0; i < 10000 && stoa_sim_net_receive(cluster.net, &from, &to, &bytes, &length);
         i++) {
        (void)from;
        if (h_node(&cluster, to)->up) {
            (void)h_deliver(&cluster, to, bytes, length);
            if (crashes && stoa_prng_below(prng, 4) == 0) {
                /* A client write in the same loop iteration: it joins the same batch. */
                char text[48];
                snprintf(text, sizeof(text), "d%llu-%u",
                         (unsigned long long)stoa_prng_next_u64(prng), to);
                uint64_t slot;
                (void)stoa_paxos_propose(h_node(&cluster, to)->paxos, STOA_PAXOS_KIND_NORMAL,
                                         (const uint8_t *)text, (uint32_t)strlen(text), &slot,
                                         NULL);
            }
            uint64_t roll = crashes ? stoa_prng_below(prng, 1000) : 1000;
            if (roll < 2) {
                h_node_crash(&cluster, to); /* before its batch: the step is lost */
            } else if (roll < 4) {
                h_process(&cluster, to, H_CRASH_AFTER_PERSIST);
            } else if (roll < 6) {
                h_process(&cluster, to, H_CRASH_BEFORE_PERSIST);
            } else {
                h_process(&cluster, to, H_CRASH_NONE);
            }
        }
        stoa_free(bytes);
    }
}

static void tick_all(void) {
    stoa_sim_net_tick(cluster.net);
    for (uint32_t id = 1; id <= cluster.count; id++) {
        if (h_node(&cluster, id)->up) {
            stoa_paxos_tick(h_node(&cluster, id)->paxos);
            h_process(&cluster, id, H_CRASH_NONE);
        }
    }
}

static void propose_somewhere(struct stoa_prng *prng, uint64_t seed, struct run_stats *stats) {
    for (uint32_t id = 1; id <= cluster.count; id++) {
        struct h_node *node = h_node(&cluster, id);
        if (!node->up) {
            continue;
        }
        char text[48];
        snprintf(text, sizeof(text), "s%llu-n%u-p%llu-%llu", (unsigned long long)seed, id,
                 (unsigned long long)stats->proposals,
                 (unsigned long long)stoa_prng_below(prng, 1000000));
        uint64_t slot;
        if (stoa_paxos_propose(node->paxos, STOA_PAXOS_KIND_NORMAL, (const uint8_t *)text,
                               (uint32_t)strlen(text), &slot, NULL) == STOA_OK) {
            stats->proposals++;
            h_process(&cluster, id, H_CRASH_NONE);
        }
    }
}

static bool membership_changes;
static uint64_t config_proposals;

static bool is_member(uint32_t leader, uint32_t id) {
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX];
    uint32_t count =
        stoa_paxos_members(h_node(&cluster, leader)->paxos, ids, STOA_PAXOS_MEMBERS_MAX);
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

/* On node `id` if it leads: adds `other` if it is not a voter, else removes it (keeping at
 * least two voters). Refusals (a change in flight, not ready) are fine. */
static void change_membership(uint32_t id, uint32_t other) {
    struct h_node *node = h_node(&cluster, id);
    if (!node->up || h_role(&cluster, id) != STOA_PAXOS_LEADER) {
        return;
    }
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX];
    uint32_t voters = stoa_paxos_members(node->paxos, ids, STOA_PAXOS_MEMBERS_MAX);
    bool member = is_member(id, other);
    if (member && voters <= 2) {
        return;
    }
    uint8_t change[STOA_PAXOS_CONFIG_CHANGE_BYTES];
    stoa_paxos_config_change_encode(member ? STOA_PAXOS_CONFIG_REMOVE : STOA_PAXOS_CONFIG_ADD,
                                    other, change);
    uint64_t slot;
    if (stoa_paxos_propose(node->paxos, STOA_PAXOS_KIND_CONFIG, change, sizeof(change), &slot,
                           NULL) == STOA_OK) {
        config_proposals++;
        h_process(&cluster, id, H_CRASH_NONE);
    }
}

static void random_event(struct stoa_prng *prng, struct run_stats *stats) {
    uint32_t id = (uint32_t)stoa_prng_below(prng, cluster.count) + 1;
    uint32_t other = (uint32_t)stoa_prng_below(prng, cluster.count) + 1;
    switch (stoa_prng_below(prng, 100)) {
    case 0:
    case 1:
        if (h_node(&cluster, id)->up) {
            h_node_crash(&cluster, id);
            stats->crashes++;
        }
        break;
    case 2:
    case 3:
    case 4:
    case 5:
        if (!h_node(&cluster, id)->up) {
            assert_int_equal(h_node_start(&cluster, id), STOA_OK);
        }
        break;
    case 6:
    case 7:
        stoa_sim_net_cut(cluster.net, id, other, true);
        stoa_sim_net_cut(cluster.net, other, id, true);
        break;
    case 8:
        stoa_sim_net_heal(cluster.net);
        break;
    case 9:
        h_snapshot_take(&cluster, id);
        break;
    case 10:
        if (h_node(&cluster, id)->up) {
            stoa_paxos_campaign(h_node(&cluster, id)->paxos); /* Nomos's "prepare" */
            h_process(&cluster, id, H_CRASH_NONE);
        }
        break;
    case 11:
        if (h_node(&cluster, id)->up && id != other &&
            stoa_paxos_transfer(h_node(&cluster, id)->paxos, other) == STOA_OK) {
            h_process(&cluster, id, H_CRASH_NONE);
        }
        break;
    case 12:
    case 13:
    case 14:
    case 15:
    case 16:
    case 17:
    case 18:
    case 19:
        if (membership_changes) {
            change_membership(id, other);
        }
        break;
    default:
        break;
    }
}

/* At most one node may serve lease reads at any tick (all clocks tick together here, so
 * the drift bound covers message delays that straddle a tick). */
static void check_leases(uint64_t seed) {
    uint32_t holders = 0;
    for (uint32_t id = 1; id <= cluster.count; id++) {
        if (h_node(&cluster, id)->up && stoa_paxos_read_lease_valid(h_node(&cluster, id)->paxos)) {
            holders++;
        }
    }
    if (holders > 1) {
        fail_msg("seed %llu: %u nodes hold a read lease at once", (unsigned long long)seed,
                 holders);
    }
}

static void check_converged(uint64_t seed, uint32_t leader) {
    struct h_node *lead = h_node(&cluster, leader);
    for (uint32_t id = 1; id <= cluster.count; id++) {
        struct h_node *node = h_node(&cluster, id);
        if (!is_member(leader, id)) {
            continue; /* a node outside the group is not kept up to date */
        }
        if (node->applied != lead->applied) {
            fail_msg("seed %llu: node %u applied %llu, leader %u applied %llu",
                     (unsigned long long)seed, id, (unsigned long long)node->applied, leader,
                     (unsigned long long)lead->applied);
        }
        for (uint64_t slot = node->disk.snapshot_index + 1; slot <= node->applied; slot++) {
            if (node->digests[slot] != lead->digests[slot]) {
                fail_msg("seed %llu: node %u differs at slot %llu", (unsigned long long)seed, id,
                         (unsigned long long)slot);
            }
        }
    }
}

static bool all_caught_up(uint32_t leader) {
    struct stoa_paxos_status status;
    stoa_paxos_status(h_node(&cluster, leader)->paxos, &status);
    if (status.commit_index != status.last_slot) {
        return false;
    }
    for (uint32_t id = 1; id <= cluster.count; id++) {
        if (is_member(leader, id) && h_node(&cluster, id)->applied != status.commit_index) {
            return false;
        }
    }
    return true;
}

/* Heals everything and waits for a leader and for every node to apply the same log,
 * including one new proposal made after healing. */
static void heal_and_converge(uint64_t seed, struct run_stats *stats) {
    stoa_sim_net_heal(cluster.net);
    struct stoa_sim_net_faults none = {0};
    stoa_sim_net_set_faults(cluster.net, &none);
    for (uint32_t id = 1; id <= cluster.count; id++) {
        if (!h_node(&cluster, id)->up) {
            assert_int_equal(h_node_start(&cluster, id), STOA_OK);
        }
    }
    bool proposed = false;
    uint64_t final_slot = 0;
    for (uint64_t t = 1; t <= HEAL_TICKS_MAX; t++) {
        tick_all();
        deliver_due(NULL, false);
        uint32_t leader = h_leader(&cluster);
        if (leader == 0) {
            continue;
        }
        if (!proposed) {
            uint64_t slot;
            if (stoa_paxos_propose(h_node(&cluster, leader)->paxos, STOA_PAXOS_KIND_NORMAL,
                                   (const uint8_t *)"final", 5, &slot, NULL) == STOA_OK) {
                proposed = true;
                final_slot = slot;
                h_process(&cluster, leader, H_CRASH_NONE);
            }
            continue;
        }
        if (all_caught_up(leader) && h_node(&cluster, leader)->applied >= final_slot) {
            check_converged(seed, leader);
            if (t > stats->heal_ticks_max) {
                stats->heal_ticks_max = t;
            }
            stats->applied += h_node(&cluster, leader)->applied;
            return;
        }
    }
    for (uint32_t id = 1; id <= cluster.count; id++) {
        struct stoa_paxos_status status;
        stoa_paxos_status(h_node(&cluster, id)->paxos, &status);
        print_message("node %u: role %d leader %u commit %llu applied %llu last %llu\n", id,
                      status.role, status.leader_id, (unsigned long long)status.commit_index,
                      (unsigned long long)h_node(&cluster, id)->applied,
                      (unsigned long long)status.last_slot);
    }
    fail_msg("seed %llu: no convergence within %d ticks after healing", (unsigned long long)seed,
             HEAL_TICKS_MAX);
}

static void run_seed(uint64_t seed, uint32_t count, uint32_t voters, struct run_stats *stats) {
    h_init(&cluster, count, seed, true, members);
    cluster.config.member_count = voters;
    struct stoa_prng prng;
    stoa_prng_init(&prng, seed ^ 0x9e3779b97f4a7c15ULL);
    struct stoa_sim_net_faults faults = {
        .drop_per_million = (uint32_t)stoa_prng_below(&prng, 100000),
        .duplicate_per_million = (uint32_t)stoa_prng_below(&prng, 50000),
        .delay_ticks_max = (uint32_t)stoa_prng_below(&prng, 4),
    };
    stoa_sim_net_set_faults(cluster.net, &faults);
    for (uint32_t id = 1; id <= count; id++) {
        assert_int_equal(h_node_start(&cluster, id), STOA_OK);
    }
    for (uint32_t t = 0; t < FAULT_TICKS; t++) {
        tick_all();
        deliver_due(&prng, true);
        if (stoa_prng_below(&prng, 3) == 0) {
            propose_somewhere(&prng, seed, stats);
        }
        random_event(&prng, stats);
        check_leases(seed);
        if (cluster.violation) {
            fail_msg("seed %llu: %s", (unsigned long long)seed, cluster.what);
        }
    }
    heal_and_converge(seed, stats);
    if (cluster.violation) {
        fail_msg("seed %llu: %s", (unsigned long long)seed, cluster.what);
    }
    h_free(&cluster);
}

static uint64_t seeds_from_env(uint64_t *single) {
    const char *text = getenv("PAXOS_SEED");
    if (text == NULL) {
        return 0;
    }
    *single = strtoull(text, NULL, 10);
    return 1;
}

static void run_many(uint32_t count, uint32_t voters, uint64_t first, uint64_t seeds) {
    struct run_stats stats = {0};
    uint64_t single = 0;
    if (seeds_from_env(&single) == 1) {
        first = single;
        seeds = 1;
    }
    const char *many = getenv("PAXOS_SEEDS");
    if (many != NULL && strtoull(many, NULL, 10) > 0) {
        seeds = strtoull(many, NULL, 10); /* a longer soak */
    }
    for (uint64_t seed = first; seed < first + seeds; seed++) {
        run_seed(seed, count, voters, &stats);
    }
    print_message("%u nodes: %llu seeds, %llu proposals, %llu membership changes proposed, "
                  "%llu slots applied, %llu crashes, slowest convergence %llu ticks\n",
                  count, (unsigned long long)seeds, (unsigned long long)stats.proposals,
                  (unsigned long long)config_proposals, (unsigned long long)stats.applied,
                  (unsigned long long)stats.crashes, (unsigned long long)stats.heal_ticks_max);
}

/* Three cores: 200 seeds of faults, each ending healed and converged. */
static void test_three_nodes_random_faults(void **state) {
    (void)state;
    membership_changes = false;
    run_many(3, 3, 1000, 200);
}

/* Five cores: 100 seeds of faults, each ending healed and converged. */
static void test_five_nodes_random_faults(void **state) {
    (void)state;
    membership_changes = false;
    run_many(5, 5, 5000, 100);
}

/* Five nodes of which three start as the group, with members added and removed one at a
 * time along the way: 100 seeds, each ending healed and converged. */
static void test_membership_random_faults(void **state) {
    (void)state;
    membership_changes = true;
    run_many(5, 3, 9000, 100);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_nodes_random_faults),
        cmocka_unit_test(test_five_nodes_random_faults),
        cmocka_unit_test(test_membership_random_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
