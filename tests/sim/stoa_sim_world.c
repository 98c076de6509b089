/* stoa_sim_world: one run of the simulator (see stoa_sim.h): time, the network between the
 * members, the faults drawn from the seed, the two phases, and the checks on what the members
 * applied. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/stoa_sim.h"
#include "util/alloc.h"
#include "util/err.h"

/* The plant switched on, read by the simulator's copy of the consensus core. */
int stoa_plant_active = STOA_PLANT_NONE;

struct held {
    uint32_t from;
    uint32_t to;
    uint64_t release; /* world tick */
    uint8_t *bytes;   /* owned */
    size_t length;
};

struct acked {
    uint64_t slot;
    uint64_t value_hash;
};

struct sim_world {
    const struct sim_options *options;
    struct sim_stats *stats;
    struct stoa_prng prng;
    struct stoa_sim_net *net;
    uint64_t now;
    bool healed;
    struct sim_member members[SIM_MEMBERS_MAX];
    uint32_t ids[SIM_MEMBERS_MAX];
    uint32_t count;
    struct sim_clients *clients;
    /* Fault rates drawn from the seed: per million messages (drop, duplicate) or per
     * million ticks (the others). */
    uint32_t drop_ppm;
    uint32_t duplicate_ppm;
    uint32_t rate_ppm[SIM_FAULT_COUNT];
    uint64_t clog_until[SIM_MEMBERS_MAX + 1][SIM_MEMBERS_MAX + 1];
    struct held *held;
    size_t held_count;
    uint64_t *chosen;  /* [slot]: hash of the value first applied there */
    uint64_t *digests; /* [slot]: state digest first seen at applied index slot */
    struct acked *acked;
    size_t acked_count;
    bool corrupted; /* one journal was damaged in this run: no more */
    bool failed;
    char what[512];
};

const char *sim_fault_name(enum sim_fault fault) {
    static const char *const names[SIM_FAULT_COUNT] = {
        "drop",       "duplicate",  "partition", "one-way", "isolate", "clog",    "crash-lose",
        "crash-torn", "fsync-fail", "corrupt",   "drift",   "pause",   "restart", "election",
    };
    return fault < SIM_FAULT_COUNT ? names[fault] : "?";
}

/* ---- what members and clients see ---- */

struct sim_member *sim_member_of(struct sim_world *world, uint32_t id) {
    return id >= 1 && id <= world->count ? &world->members[id - 1] : NULL;
}
uint64_t sim_now(const struct sim_world *world) {
    return world->now;
}
bool sim_plant_is(int plant) {
    return stoa_plant_active == plant;
}
bool sim_promise_check(const struct sim_world *world) {
    return !world->options->no_promise_check;
}
struct sim_clients *sim_world_clients(struct sim_world *world) {
    return world->clients;
}
void sim_fault_count(struct sim_world *world, enum sim_fault fault) {
    world->stats->faults[fault]++;
    if (world->options->verbose) {
        fprintf(stderr, "tick %llu: fault %s\n", (unsigned long long)world->now,
                sim_fault_name(fault));
    }
}
uint32_t sim_member_count(const struct sim_world *world) {
    return world->count;
}
const uint32_t *sim_member_ids(const struct sim_world *world) {
    return world->ids;
}
struct stoa_prng *sim_prng(struct sim_world *world) {
    return &world->prng;
}

void sim_violation(struct sim_world *world, const char *format, ...) {
    if (world->failed) {
        return; /* the first one is what went wrong */
    }
    world->failed = true;
    int at =
        snprintf(world->what, sizeof(world->what), "tick %llu: ", (unsigned long long)world->now);
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(world->what + at, sizeof(world->what) - (size_t)at, format, arguments);
    va_end(arguments);
}

void sim_applied(struct sim_world *world, struct sim_member *member, uint64_t slot,
                 uint64_t value_hash) {
    if (slot > SIM_SLOTS_MAX) {
        sim_violation(world, "the run filled more than %d slots (simulator bound)", SIM_SLOTS_MAX);
        return;
    }
    if (world->chosen[slot] == 0) {
        world->chosen[slot] = value_hash;
    } else if (world->chosen[slot] != value_hash) {
        sim_violation(world, "agreement: member %u applied another value at slot %llu", member->id,
                      (unsigned long long)slot);
    }
    uint64_t digest = sim_member_digest(member);
    digest = digest == 0 ? 1 : digest;
    if (world->digests[slot] == 0) {
        world->digests[slot] = digest;
    } else if (world->digests[slot] != digest) {
        sim_violation(world, "digest: member %u's state differs at applied index %llu", member->id,
                      (unsigned long long)slot);
    }
}

void sim_acknowledged_write(struct sim_world *world, uint64_t slot, uint64_t value_hash) {
    if (world->acked_count < SIM_ACKED_MAX) {
        world->acked[world->acked_count++] = (struct acked){slot, value_hash};
    }
}

/* ---- the network ---- */

static bool chance(struct sim_world *world, uint32_t per_million) {
    return per_million > 0 && stoa_prng_below(&world->prng, 1000000) < per_million;
}

static void hold(struct sim_world *world, uint32_t from, uint32_t to, uint64_t release,
                 const uint8_t *bytes, size_t length) {
    if (world->held_count >= SIM_HELD_MAX) {
        return; /* buffers full: dropped */
    }
    uint8_t *copy = stoa_alloc(length);
    if (copy == NULL) {
        return;
    }
    memcpy(copy, bytes, length);
    world->held[world->held_count++] =
        (struct held){.from = from, .to = to, .release = release, .bytes = copy, .length = length};
}

void sim_send(struct sim_world *world, uint32_t from, uint32_t to, const uint8_t *bytes,
              size_t length) {
    if (to < 1 || to > world->count || to == from) {
        return;
    }
    world->stats->messages++;
    if (chance(world, world->drop_ppm)) {
        sim_fault_count(world, SIM_FAULT_DROP);
        return;
    }
    (void)stoa_sim_net_send(world->net, from, to, bytes, length);
    if (chance(world, world->duplicate_ppm)) {
        sim_fault_count(world, SIM_FAULT_DUPLICATE);
        (void)stoa_sim_net_send(world->net, from, to, bytes, length);
    }
}

static void drop_held_to(struct sim_world *world, uint32_t to) {
    size_t kept = 0;
    for (size_t i = 0; i < world->held_count; i++) {
        if (world->held[i].to == to) {
            stoa_free(world->held[i].bytes);
        } else {
            world->held[kept++] = world->held[i];
        }
    }
    world->held_count = kept;
}

/* Messages held by a clog or a pause go back on the network when their time comes. */
static void release_held(struct sim_world *world) {
    size_t kept = 0;
    for (size_t i = 0; i < world->held_count; i++) {
        struct held *h = &world->held[i];
        if (h->release <= world->now) {
            (void)stoa_sim_net_send(world->net, h->from, h->to, h->bytes, h->length);
            stoa_free(h->bytes);
        } else {
            world->held[kept++] = *h;
        }
    }
    world->held_count = kept;
}

static void deliver(struct sim_world *world) {
    uint32_t from = 0;
    uint32_t to = 0;
    uint8_t *bytes = NULL;
    size_t length = 0;
    for (int i = 0; i < 100000 && stoa_sim_net_receive(world->net, &from, &to, &bytes, &length);
         i++) {
        struct sim_member *member = sim_member_of(world, to);
        uint64_t clog = world->clog_until[from][to];
        if (member == NULL) {
            stoa_free(bytes); /* sim_send sends only to members */
            continue;
        }
        if (member->paused_until > world->now || clog > world->now) {
            uint64_t release = member->paused_until > clog ? member->paused_until : clog;
            hold(world, from, to, release, bytes, length);
        } else if (member->up) {
            sim_member_receive(world, member, from, bytes, length);
        }
        stoa_free(bytes);
    }
}

/* ---- members' clocks ---- */

void sim_crash(struct sim_world *world, struct sim_member *member, enum stoa_sim_crash_mode mode) {
    if (world->options->verbose) {
        fprintf(stderr, "tick %llu: member %u crashes\n", (unsigned long long)world->now,
                member->id);
    }
    sim_member_crash(world, member, mode);
    stoa_sim_net_drop_to(world->net, member->id);
    drop_held_to(world, member->id);
}

/* The member's ticker for one world tick: drift adds or skips a tick now and then; a paused
 * process runs nothing, and on resuming catches up the ticks it missed (or fires once). */
static void tick_member(struct sim_world *world, struct sim_member *member) {
    if (!member->up) {
        return;
    }
    uint64_t ticks = 1;
    member->drift_remainder += member->drift_ppm;
    if (member->drift_remainder >= 1000000) {
        member->drift_remainder -= 1000000;
        ticks = 2;
    } else if (member->drift_remainder <= -1000000) {
        member->drift_remainder += 1000000;
        ticks = 0;
    }
    if (member->paused_until > world->now) {
        member->missed_ticks += ticks;
        return;
    }
    if (member->paused_until != 0) {
        member->paused_until = 0;
        ticks = world->options->pause_fires_once ? 1 : member->missed_ticks + ticks;
        member->missed_ticks = 0;
    }
    for (uint64_t i = 0; i < ticks && member->up; i++) {
        sim_member_tick(world, member);
    }
    sim_member_resumed(world, member);
    stoa_sim_env_advance(member->disk, SIM_TICK_MS);
}

/* ---- faults ---- */

static struct sim_member *pick(struct sim_world *world) {
    return &world->members[stoa_prng_below(&world->prng, world->count)];
}

static uint32_t pick_other(struct sim_world *world, uint32_t id) {
    uint32_t other = (uint32_t)stoa_prng_below(&world->prng, world->count - 1) + 1;
    return other >= id ? other + 1 : other;
}

static void cut_both(struct sim_world *world, uint32_t a, uint32_t b) {
    stoa_sim_net_cut(world->net, a, b, true);
    stoa_sim_net_cut(world->net, b, a, true);
}

/* Flips one bit of a down member's journal, past the segment header, in a segment that is not
 * the last: the journal must then refuse to open (the member is lost for the run). In the last
 * segment a damaged record may be taken for a torn tail and cut with every record after it
 * (see docs/simulation.md, "Findings"): --corrupt-anywhere allows it there too. */
struct segments {
    char names[64][32];
    uint32_t count;
};

static int on_segment(void *context, const char *name) {
    struct segments *segments = context;
    if (segments->count < 64 && strlen(name) < 32) {
        snprintf(segments->names[segments->count++], 32, "%s", name);
    }
    return STOA_OK;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(a, b);
}

static void corrupt(struct sim_world *world, struct sim_member *member) {
    struct segments segments = {0};
    struct stoa_env *env = member->env;
    if (env->ops->list_dir(env, "/data/paxos", on_segment, &segments) != STOA_OK) {
        return;
    }
    uint32_t choices = world->options->corrupt_anywhere ? segments.count : segments.count - 1;
    if (segments.count == 0 || choices == 0) {
        return;
    }
    qsort(segments.names, segments.count, sizeof(segments.names[0]), compare_names);
    char path[128];
    snprintf(path, sizeof(path), "/data/paxos/%s",
             segments.names[stoa_prng_below(&world->prng, choices)]);
    struct stoa_env_file *file = NULL;
    uint64_t size = 0;
    if (env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file) != STOA_OK) {
        return;
    }
    int result = env->ops->file_size(file, &size);
    env->ops->file_close(file);
    if (result != STOA_OK || size <= 64) {
        return;
    }
    uint64_t offset = 64 + stoa_prng_below(&world->prng, size - 64);
    uint8_t mask = (uint8_t)(1u << stoa_prng_below(&world->prng, 8));
    if (world->options->verbose) {
        fprintf(stderr, "tick %llu: member %u: corrupt %s at %llu of %llu\n",
                (unsigned long long)world->now, member->id, path, (unsigned long long)offset,
                (unsigned long long)size);
    }
    if (stoa_sim_env_corrupt(member->disk, path, offset, mask) == STOA_OK) {
        world->corrupted = true;
        sim_fault_count(world, SIM_FAULT_CORRUPT);
    }
}

static void fault_crash(struct sim_world *world, struct sim_member *member) {
    if (!member->up) {
        return;
    }
    bool torn = stoa_prng_below(&world->prng, 2) == 0;
    enum stoa_sim_crash_mode mode = torn ? STOA_SIM_CRASH_TORN : STOA_SIM_CRASH_LOSE;
    sim_fault_count(world, torn ? SIM_FAULT_CRASH_TORN : SIM_FAULT_CRASH_LOSE);
    uint64_t where = stoa_prng_below(&world->prng, 3);
    if (where == 0) {
        sim_crash(world, member, mode); /* now, between two events */
        return;
    }
    /* In the member's next batch, before or after its fsync. */
    member->crash_at = where == 1 ? SIM_CRASH_BEFORE_PERSIST : SIM_CRASH_AFTER_PERSIST;
    member->crash_mode = mode;
}

static void fault_restart(struct sim_world *world, struct sim_member *member) {
    if ((member->up && !member->stopped) || member->lost) {
        return;
    }
    if (!member->up && !world->corrupted && !world->healed &&
        chance(world, world->rate_ppm[SIM_FAULT_CORRUPT])) {
        corrupt(world, member);
    }
    sim_fault_count(world, SIM_FAULT_RESTART);
    if (world->options->verbose) {
        fprintf(stderr, "tick %llu: member %u restarts\n", (unsigned long long)world->now,
                member->id);
    }
    int result = sim_member_start(world, member);
    if (result != STOA_OK) {
        sim_violation(world, "member %u cannot restart: %s", member->id, stoa_err_name(result));
    }
}

static void fault_links(struct sim_world *world, enum sim_fault fault) {
    uint32_t a = pick(world)->id;
    uint32_t b = pick_other(world, a);
    sim_fault_count(world, fault);
    if (fault == SIM_FAULT_PARTITION) {
        cut_both(world, a, b);
    } else if (fault == SIM_FAULT_ONE_WAY) {
        stoa_sim_net_cut(world->net, a, b, true);
    } else if (fault == SIM_FAULT_ISOLATE) {
        for (uint32_t id = 1; id <= world->count; id++) {
            if (id != a) {
                cut_both(world, a, id);
            }
        }
    } else { /* SIM_FAULT_CLOG */
        world->clog_until[a][b] = world->now + 5 + stoa_prng_below(&world->prng, 60);
    }
}

static void fault_member(struct sim_world *world, enum sim_fault fault) {
    struct sim_member *member = pick(world);
    if (fault == SIM_FAULT_CRASH_LOSE) {
        fault_crash(world, member);
    } else if (fault == SIM_FAULT_FSYNC) {
        if (member->up && !member->stopped) {
            sim_fault_count(world, fault);
            stoa_sim_env_fail_fsync_nth(member->disk, 1 + stoa_prng_below(&world->prng, 3));
        }
    } else if (fault == SIM_FAULT_DRIFT) {
        sim_fault_count(world, fault);
        member->drift_ppm =
            (int32_t)stoa_prng_below(&world->prng, 2 * SIM_DRIFT_PPM_MAX + 1) - SIM_DRIFT_PPM_MAX;
    } else if (fault == SIM_FAULT_PAUSE) {
        if (member->up && member->paused_until == 0) {
            sim_fault_count(world, fault);
            member->paused_until = world->now + 5 + stoa_prng_below(&world->prng, 40);
        }
    } else if (fault == SIM_FAULT_ELECTION) {
        if (member->up && !member->stopped && member->paused_until == 0) {
            sim_fault_count(world, fault);
            stoa_paxos_campaign(member->paxos);
            sim_member_process(world, member);
        }
    } else { /* SIM_FAULT_RESTART */
        fault_restart(world, member);
    }
}

static void inject_faults(struct sim_world *world) {
    static const enum sim_fault link_faults[] = {SIM_FAULT_PARTITION, SIM_FAULT_ONE_WAY,
                                                 SIM_FAULT_ISOLATE, SIM_FAULT_CLOG};
    static const enum sim_fault member_faults[] = {SIM_FAULT_CRASH_LOSE, SIM_FAULT_FSYNC,
                                                   SIM_FAULT_DRIFT,      SIM_FAULT_PAUSE,
                                                   SIM_FAULT_RESTART,    SIM_FAULT_ELECTION};
    for (size_t i = 0; i < sizeof(link_faults) / sizeof(link_faults[0]); i++) {
        if (chance(world, world->rate_ppm[link_faults[i]])) {
            fault_links(world, link_faults[i]);
        }
    }
    for (size_t i = 0; i < sizeof(member_faults) / sizeof(member_faults[0]); i++) {
        if (chance(world, world->rate_ppm[member_faults[i]])) {
            fault_member(world, member_faults[i]);
        }
    }
    /* Partitions heal now and then (a rate drawn with the others). */
    if (chance(world, 40000)) {
        stoa_sim_net_heal(world->net);
    }
}

/* The seed's fault mix: each group the options allow gets a rate, some of them zero. */
static void draw_rates(struct sim_world *world) {
    uint32_t groups = world->options->fault_groups;
    struct stoa_prng *prng = &world->prng;
    if (groups & SIM_GROUP_NET) {
        world->drop_ppm = (uint32_t)stoa_prng_below(prng, 100000);
        world->duplicate_ppm = (uint32_t)stoa_prng_below(prng, 50000);
        struct stoa_sim_net_faults faults = {.delay_ticks_max = (uint32_t)stoa_prng_below(prng, 5)};
        stoa_sim_net_set_faults(world->net, &faults);
    }
    struct {
        uint32_t group;
        enum sim_fault fault;
        uint32_t max_ppm;
    } rates[] = {
        {SIM_GROUP_PARTITION, SIM_FAULT_PARTITION, 20000},
        {SIM_GROUP_PARTITION, SIM_FAULT_ONE_WAY, 10000},
        {SIM_GROUP_PARTITION, SIM_FAULT_ISOLATE, 10000},
        {SIM_GROUP_CLOG, SIM_FAULT_CLOG, 20000},
        {SIM_GROUP_CRASH, SIM_FAULT_CRASH_LOSE, 20000},
        {SIM_GROUP_CRASH, SIM_FAULT_RESTART, 80000},
        {SIM_GROUP_DISK, SIM_FAULT_FSYNC, 5000},
        {SIM_GROUP_DISK, SIM_FAULT_CORRUPT, 300000},
        {SIM_GROUP_CLOCK, SIM_FAULT_DRIFT, 10000},
        {SIM_GROUP_PAUSE, SIM_FAULT_PAUSE, 10000},
        {SIM_GROUP_ELECTION, SIM_FAULT_ELECTION, 20000},
    };
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        if ((groups & rates[i].group) != 0) {
            world->rate_ppm[rates[i].fault] = (uint32_t)stoa_prng_below(prng, rates[i].max_ppm);
        }
    }
    if ((groups & SIM_GROUP_DISK) != 0 && (groups & SIM_GROUP_CRASH) == 0) {
        world->rate_ppm[SIM_FAULT_RESTART] = 50000; /* stopped members come back */
    }
}

/* ---- one tick ---- */

static void step(struct sim_world *world, bool clients_open) {
    world->now++;
    world->stats->ticks++;
    stoa_sim_net_tick(world->net);
    release_held(world);
    for (uint32_t i = 0; i < world->count; i++) {
        tick_member(world, &world->members[i]);
    }
    deliver(world);
    sim_clients_tick(world->clients, clients_open);
    for (uint32_t i = 0; i < world->count; i++) {
        sim_member_propose(world, &world->members[i]);
    }
    if (!world->healed) {
        inject_faults(world);
    }
}

static struct sim_member *ready_leader(struct sim_world *world) {
    struct sim_member *leader = NULL;
    for (uint32_t i = 0; i < world->count; i++) {
        if (sim_member_is_leader(&world->members[i])) {
            leader = &world->members[i];
        }
    }
    return leader;
}

static void heal(struct sim_world *world) {
    world->healed = true;
    stoa_sim_net_heal(world->net);
    struct stoa_sim_net_faults none = {0};
    stoa_sim_net_set_faults(world->net, &none);
    world->drop_ppm = 0;
    world->duplicate_ppm = 0;
    memset(world->clog_until, 0, sizeof(world->clog_until));
    for (size_t i = 0; i < world->held_count; i++) {
        world->held[i].release = world->now;
    }
    for (uint32_t i = 0; i < world->count; i++) {
        struct sim_member *member = &world->members[i];
        member->drift_ppm = 0;
        stoa_sim_env_fail_fsync_nth(member->disk, 0);
        member->crash_at = SIM_CRASH_NONE;
        if (member->paused_until > world->now) {
            member->paused_until = world->now; /* resumes at the next tick */
        }
        if (!member->up || member->stopped) {
            fault_restart(world, member);
        }
    }
}

static bool converged(struct sim_world *world, const struct sim_member *leader) {
    struct stoa_paxos_status status;
    stoa_paxos_status(leader->paxos, &status);
    if (status.commit_index != status.last_slot) {
        return false;
    }
    for (uint32_t i = 0; i < world->count; i++) {
        const struct sim_member *member = &world->members[i];
        if (!member->lost && member->applied != status.commit_index) {
            return false;
        }
    }
    return true;
}

/* Faults healed: a leader is elected, every client completes an operation, then (clients
 * stopped) every member applies the leader's whole log, within SIM_LIVENESS_TICKS_MAX. */
static void liveness(struct sim_world *world) {
    heal(world);
    uint64_t start = world->now;
    bool answered = false;
    while (!world->failed && world->now - start < SIM_LIVENESS_TICKS_MAX) {
        step(world, !answered);
        struct sim_member *leader = ready_leader(world);
        if (!answered) {
            answered = leader != NULL && sim_clients_all_answered_since(world->clients, start);
            continue;
        }
        if (leader != NULL && converged(world, leader) && sim_clients_idle(world->clients)) {
            world->stats->liveness_ticks = world->now - start;
            struct stoa_paxos_status status;
            stoa_paxos_status(leader->paxos, &status);
            world->stats->slots += status.commit_index;
            return;
        }
    }
    for (uint32_t i = 0; i < world->count && !world->failed; i++) {
        const struct sim_member *m = &world->members[i];
        struct stoa_paxos_status status = {0};
        if (m->paxos != NULL) {
            stoa_paxos_status(m->paxos, &status);
        }
        fprintf(stderr,
                "  member %u: up %d stopped %d lost %d role %d ready %d leader %u commit %llu "
                "applied %llu last %llu\n",
                m->id, m->up, m->stopped, m->lost, status.role, status.leader_ready,
                status.leader_id, (unsigned long long)status.commit_index,
                (unsigned long long)m->applied, (unsigned long long)status.last_slot);
    }
    if (!world->failed) {
        sim_clients_dump(world->clients);
        struct sim_member *leader = ready_leader(world);
        sim_violation(world, "liveness: %s within %d ticks after healing (leader %u)",
                      leader == NULL ? "no leader elected"
                      : !answered    ? "a client got no answer"
                                     : "the members did not converge",
                      SIM_LIVENESS_TICKS_MAX, leader != NULL ? leader->id : 0);
    }
}

static void check_acknowledged(struct sim_world *world) {
    for (size_t i = 0; i < world->acked_count && !world->failed; i++) {
        const struct acked *a = &world->acked[i];
        if (world->chosen[a->slot] != a->value_hash) {
            sim_violation(world, "an acknowledged write at slot %llu was lost",
                          (unsigned long long)a->slot);
        }
    }
}

/* ---- one run ---- */

static int world_create(struct sim_world *world, const struct sim_options *options,
                        struct sim_stats *stats) {
    memset(world, 0, sizeof(*world));
    world->options = options;
    world->stats = stats;
    stoa_prng_init(&world->prng, options->seed);
    world->count = options->nodes;
    for (uint32_t i = 0; i < world->count; i++) {
        world->ids[i] = i + 1;
    }
    world->chosen = stoa_calloc(SIM_SLOTS_MAX + 1, sizeof(uint64_t));
    world->digests = stoa_calloc(SIM_SLOTS_MAX + 1, sizeof(uint64_t));
    world->acked = stoa_calloc(SIM_ACKED_MAX, sizeof(struct acked));
    world->held = stoa_calloc(SIM_HELD_MAX, sizeof(struct held));
    if (world->chosen == NULL || world->digests == NULL || world->acked == NULL ||
        world->held == NULL) {
        return STOA_ERR_NOMEM;
    }
    int result = stoa_sim_net_create(stoa_prng_next_u64(&world->prng), &world->net);
    for (uint32_t i = 0; i < world->count && result == STOA_OK; i++) {
        result = sim_member_init(world, &world->members[i], i + 1);
    }
    uint32_t clients = 2 + (uint32_t)stoa_prng_below(&world->prng, SIM_CLIENTS_MAX - 1);
    if (result == STOA_OK) {
        result = sim_clients_create(world, clients, &world->clients);
    }
    draw_rates(world);
    for (uint32_t i = 0; i < world->count && result == STOA_OK; i++) {
        result = sim_member_start(world, &world->members[i]);
    }
    return result;
}

static void world_free(struct sim_world *world) {
    for (uint32_t i = 0; i < world->count; i++) {
        sim_member_free(&world->members[i]);
    }
    sim_clients_destroy(world->clients);
    for (size_t i = 0; i < world->held_count; i++) {
        stoa_free(world->held[i].bytes);
    }
    stoa_sim_net_destroy(world->net);
    stoa_free(world->held);
    stoa_free(world->acked);
    stoa_free(world->digests);
    stoa_free(world->chosen);
}

int sim_run(const struct sim_options *options, struct sim_stats *stats, char *why,
            size_t why_bytes) {
    stoa_plant_active = options->plant;
    struct sim_world *world = stoa_calloc(1, sizeof(*world));
    if (world == NULL) {
        return STOA_ERR_NOMEM;
    }
    int result = world_create(world, options, stats);
    if (result != STOA_OK) {
        snprintf(why, why_bytes, "the simulator could not start: %s", stoa_err_name(result));
        world_free(world);
        stoa_free(world);
        return result;
    }
    for (uint32_t t = 0; t < options->ticks && !world->failed; t++) {
        step(world, true);
    }
    if (!world->failed) {
        liveness(world);
    }
    check_acknowledged(world);
    int verdict = 0;
    if (world->failed) {
        snprintf(why, why_bytes, "%s", world->what);
        verdict = 1;
        /* The history up to the failure is still written, for a look with stoa-check. */
        (void)sim_clients_check(world->clients, options, stats, NULL, 0);
    } else {
        verdict = sim_clients_check(world->clients, options, stats, why, why_bytes);
    }
    sim_clients_stats(world->clients, stats);
    world_free(world);
    stoa_free(world);
    return verdict;
}
