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
    bool unsent; /* sent by a process blocked in a sync: gone if it crashes first */
};

struct acked {
    uint64_t slot;
    uint64_t value_hash;
};

/* A client's logical session write, and the (client id, sequence) copies it was sent as. */
struct session_write {
    uint64_t logical;
    int64_t delta;
    uint64_t client_id;
    uint64_t sequences[SIM_SESSION_SEQUENCES_MAX];
    uint32_t sequence_count;
    uint64_t slot; /* where it was applied; 0: not (yet) */
    bool acked;
};

struct change {
    uint64_t slot;
    uint8_t op; /* enum stoa_paxos_config_op */
    uint32_t id;
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
    uint32_t count;        /* members, the spare included */
    uint32_t voters_start; /* ids 1..voters_start are the voters at the start */
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
    struct change *changes; /* chosen membership changes, in slot order */
    size_t change_count;
    struct session_write *session_writes;
    size_t session_write_count;
    bool session_writes_full; /* a long run wrote more: the session checks stand down */
    bool corrupted;           /* one journal was damaged in this run: no more */
    bool failed;
    char what[512];
};

const char *sim_fault_name(enum sim_fault fault) {
    static const char *const names[SIM_FAULT_COUNT] = {
        "drop",          "duplicate",  "partition",  "one-way",    "isolate",
        "clog",          "crash-lose", "crash-torn", "fsync-fail", "corrupt",
        "drift",         "pause",      "restart",    "election",   "member-add",
        "member-remove", "snapshot",   "install",    "slow-fsync", "clock-jump",
    };
    return fault < SIM_FAULT_COUNT ? names[fault] : "?";
}

static struct sim_member *ready_leader(struct sim_world *world);

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
bool sim_log_wanted(const struct sim_world *world) {
    return world->options->log;
}
uint64_t sim_seed(const struct sim_world *world) {
    return world->options->seed;
}
bool sim_retry_new_sequence(const struct sim_world *world) {
    return world->options->retry_new_sequence;
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
uint32_t sim_voter_count_initial(const struct sim_world *world) {
    return world->voters_start;
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

void sim_config_applied(struct sim_world *world, uint64_t slot, const uint8_t *value,
                        uint32_t length) {
    enum stoa_paxos_config_op op;
    uint32_t id = 0;
    if (stoa_paxos_config_change_decode(value, length, &op, &id) != STOA_OK) {
        sim_violation(world, "a chosen membership change at slot %llu does not decode",
                      (unsigned long long)slot);
        return;
    }
    /* Every member applies in slot order, so first applications come in slot order. */
    if (world->change_count > 0 && world->changes[world->change_count - 1].slot >= slot) {
        return; /* known already */
    }
    if (world->change_count < SIM_CHANGES_MAX) {
        world->changes[world->change_count++] =
            (struct change){.slot = slot, .op = (uint8_t)op, .id = id};
    }
}

uint32_t sim_voters_at(const struct sim_world *world, uint64_t slot, uint32_t *ids) {
    uint32_t count = world->voters_start;
    for (uint32_t i = 0; i < count; i++) {
        ids[i] = world->ids[i];
    }
    for (size_t c = 0; c < world->change_count && world->changes[c].slot <= slot; c++) {
        const struct change *change = &world->changes[c];
        uint32_t at = count;
        for (uint32_t i = 0; i < count; i++) {
            at = ids[i] == change->id ? i : at;
        }
        if (change->op == STOA_PAXOS_CONFIG_REMOVE && at < count) {
            ids[at] = ids[--count];
        } else if (change->op == STOA_PAXOS_CONFIG_ADD && at == count &&
                   count < STOA_PAXOS_MEMBERS_MAX) {
            ids[count++] = change->id;
        }
    }
    return count;
}

void sim_installed(struct sim_world *world, struct sim_member *member, uint64_t index) {
    if (index > SIM_SLOTS_MAX) {
        return;
    }
    uint64_t digest = sim_member_digest(member);
    digest = digest == 0 ? 1 : digest;
    if (world->digests[index] == 0) {
        world->digests[index] = digest;
    } else if (world->digests[index] != digest) {
        sim_violation(world, "digest: member %u's state from a snapshot differs at index %llu",
                      member->id, (unsigned long long)index);
    }
}

static struct session_write *session_write_of(struct sim_world *world, uint64_t logical) {
    for (size_t i = world->session_write_count; i > 0; i--) {
        if (world->session_writes[i - 1].logical == logical) {
            return &world->session_writes[i - 1];
        }
    }
    return NULL;
}

void sim_session_sent(struct sim_world *world, uint64_t client_id, uint64_t sequence,
                      uint64_t logical, int64_t delta) {
    struct session_write *write = session_write_of(world, logical);
    if (write == NULL && world->session_write_count < SIM_SESSION_WRITES_MAX) {
        write = &world->session_writes[world->session_write_count++];
        *write = (struct session_write){.logical = logical, .delta = delta, .client_id = client_id};
    } else if (write == NULL) {
        world->session_writes_full = true;
    }
    if (write == NULL || write->sequence_count == SIM_SESSION_SEQUENCES_MAX) {
        return;
    }
    for (uint32_t i = 0; i < write->sequence_count; i++) {
        if (write->sequences[i] == sequence) {
            return;
        }
    }
    write->sequences[write->sequence_count++] = sequence;
}

void sim_session_applied(struct sim_world *world, struct sim_member *member, uint64_t client_id,
                         uint64_t sequence, uint64_t slot) {
    struct session_write *write = NULL;
    for (size_t i = world->session_write_count; i > 0 && write == NULL; i--) {
        struct session_write *w = &world->session_writes[i - 1];
        for (uint32_t s = 0; s < w->sequence_count && w->client_id == client_id; s++) {
            write = w->sequences[s] == sequence ? w : write;
        }
    }
    if (write == NULL && !world->session_writes_full) {
        sim_violation(world,
                      "applied once: member %u applied a session write (client %llu, "
                      "sequence %llu) no client sent",
                      member->id, (unsigned long long)client_id, (unsigned long long)sequence);
    }
    if (write == NULL) {
        return;
    }
    if (write->slot == 0) {
        write->slot = slot;
        world->stats->session_writes++;
    } else if (write->slot != slot) {
        /* Every member applies the same slots: a second slot means a second application. */
        sim_violation(world,
                      "applied once: session write %llu of client %llu was applied at slot %llu "
                      "and again at slot %llu (member %u)",
                      (unsigned long long)write->logical, (unsigned long long)client_id,
                      (unsigned long long)write->slot, (unsigned long long)slot, member->id);
    }
}

void sim_session_acknowledged(struct sim_world *world, uint64_t logical) {
    struct session_write *write = session_write_of(world, logical);
    if (write != NULL) {
        write->acked = true;
    }
}

/* At the end, on a converged leader: the session counters add up to the writes applied
 * (each once), which include every acknowledged one — "the acknowledged plus a subset of the
 * unacknowledged". */
static void check_sessions(struct sim_world *world, struct sim_member *leader) {
    if (world->session_writes_full) {
        return;
    }
    int64_t sum = 0;
    for (size_t i = 0; i < world->session_write_count && !world->failed; i++) {
        const struct session_write *write = &world->session_writes[i];
        if (write->acked && write->slot == 0) {
            sim_violation(world,
                          "applied once: the acknowledged session write %llu was never "
                          "applied",
                          (unsigned long long)write->logical);
        }
        sum += write->slot != 0 ? write->delta : 0;
    }
    int64_t value = sim_member_session_counter(world, leader);
    if (!world->failed && value != sum) {
        sim_violation(world,
                      "applied once: the session counters add up to %lld, the writes applied to "
                      "%lld",
                      (long long)value, (long long)sum);
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
                 const uint8_t *bytes, size_t length, bool unsent) {
    if (world->held_count >= SIM_HELD_MAX) {
        return; /* buffers full: dropped */
    }
    uint8_t *copy = stoa_alloc(length);
    if (copy == NULL) {
        return;
    }
    memcpy(copy, bytes, length);
    world->held[world->held_count++] = (struct held){.from = from,
                                                     .to = to,
                                                     .release = release,
                                                     .bytes = copy,
                                                     .length = length,
                                                     .unsent = unsent};
}

void sim_send(struct sim_world *world, uint32_t from, uint32_t to, const uint8_t *bytes,
              size_t length) {
    if (to < 1 || to > world->count || to == from) {
        return;
    }
    world->stats->messages++;
    struct sim_member *sender = sim_member_of(world, from);
    if (sender != NULL && sender->blocked_in_sync && sender->paused_until > world->now) {
        /* Its process is still in the sync: the message leaves when the sync returns. */
        hold(world, from, to, sender->paused_until, bytes, length, true);
        return;
    }
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

/* Drops what was held for member id, and what it had not really sent yet. */
static void drop_held_to(struct sim_world *world, uint32_t id) {
    size_t kept = 0;
    for (size_t i = 0; i < world->held_count; i++) {
        if (world->held[i].to == id || (world->held[i].from == id && world->held[i].unsent)) {
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
            hold(world, from, to, release, bytes, length, false);
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
        member->blocked_in_sync = false;
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

/* ---- membership ---- */

static bool is_voter(const struct sim_member *leader, uint32_t id) {
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX];
    uint32_t count = stoa_paxos_members(leader->paxos, ids, STOA_PAXOS_MEMBERS_MAX);
    for (uint32_t i = 0; i < count; i++) {
        if (ids[i] == id) {
            return true;
        }
    }
    return false;
}

static bool member_dead(const struct sim_member *member) {
    return !member->up || member->stopped || member->lost;
}

/* Picks, among the members that are (voter == true) or are not voters of leader, one that
 * is dead if dead_first and there is one, else any (lost members never, when adding).
 * Returns 0 when there is none. */
static uint32_t pick_for_change(struct sim_world *world, const struct sim_member *leader,
                                bool voter) {
    uint32_t choices[SIM_MEMBERS_MAX];
    uint32_t count = 0;
    uint32_t dead[SIM_MEMBERS_MAX];
    uint32_t dead_count = 0;
    for (uint32_t i = 0; i < world->count; i++) {
        const struct sim_member *m = &world->members[i];
        if (is_voter(leader, m->id) != voter || (!voter && m->lost)) {
            continue;
        }
        choices[count++] = m->id;
        if (member_dead(m)) {
            dead[dead_count++] = m->id;
        }
    }
    if (dead_count > 0 && voter) {
        return dead[stoa_prng_below(&world->prng, dead_count)]; /* replace a dead member */
    }
    return count == 0 ? 0 : choices[stoa_prng_below(&world->prng, count)];
}

/* An operator changes the group through its leader: one voter added or removed, through the
 * log (a CONFIG entry, as server_group.c's GROUP ADD / REMOVE do). The voters alternate
 * between the starting count and one more, so a quorum survives the faults a run draws (one
 * lost journal at most): with the starting count, the spare or a removed member is added;
 * with one more, a voter is removed — a dead one if there is one (a replacement), else any,
 * the leader included. The core refuses a change while another is in flight; a refused
 * change is not counted. */
static void change_membership(struct sim_world *world) {
    struct sim_member *leader = ready_leader(world);
    if (leader == NULL || leader->paused_until > world->now) {
        return;
    }
    uint32_t ids[STOA_PAXOS_MEMBERS_MAX];
    uint32_t voters = stoa_paxos_members(leader->paxos, ids, STOA_PAXOS_MEMBERS_MAX);
    bool add = voters <= world->voters_start;
    uint32_t id = pick_for_change(world, leader, !add);
    if (id == 0) {
        return;
    }
    uint8_t change[STOA_PAXOS_CONFIG_CHANGE_BYTES];
    stoa_paxos_config_change_encode(add ? STOA_PAXOS_CONFIG_ADD : STOA_PAXOS_CONFIG_REMOVE, id,
                                    change);
    uint64_t slot = 0;
    if (stoa_paxos_propose(leader->paxos, STOA_PAXOS_KIND_CONFIG, change, sizeof(change), &slot,
                           NULL) != STOA_OK) {
        return;
    }
    sim_fault_count(world, add ? SIM_FAULT_MEMBER_ADD : SIM_FAULT_MEMBER_REMOVE);
    if (world->options->verbose) {
        fprintf(stderr, "tick %llu: leader %u (%u voters) proposes %s %u at slot %llu\n",
                (unsigned long long)world->now, leader->id, voters, add ? "adding" : "removing", id,
                (unsigned long long)slot);
    }
    sim_member_process(world, leader);
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
    } else if (fault == SIM_FAULT_MEMBER_ADD) {
        change_membership(world);
    } else if (fault == SIM_FAULT_SLOW_FSYNC) {
        /* Counted when the sync happens (stoa_sim_member.c, persist). */
        member->slow_sync_ticks =
            SIM_SLOW_SYNC_TICKS_MIN +
            (uint32_t)stoa_prng_below(&world->prng,
                                      SIM_SLOW_SYNC_TICKS_MAX - SIM_SLOW_SYNC_TICKS_MIN + 1);
    } else if (fault == SIM_FAULT_CLOCK_JUMP) {
        sim_fault_count(world, fault);
        int64_t jump = 1 + (int64_t)stoa_prng_below(&world->prng, SIM_CLOCK_JUMP_MS_MAX);
        member->wall_offset_ms += stoa_prng_below(&world->prng, 2) == 0 ? jump : -jump;
    } else if (fault == SIM_FAULT_SNAPSHOT) {
        if (member->paused_until <= world->now && sim_member_snapshot_take(world, member)) {
            sim_fault_count(world, fault);
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
    static const enum sim_fault member_faults[] = {
        SIM_FAULT_CRASH_LOSE, SIM_FAULT_FSYNC,      SIM_FAULT_DRIFT,      SIM_FAULT_PAUSE,
        SIM_FAULT_RESTART,    SIM_FAULT_ELECTION,   SIM_FAULT_MEMBER_ADD, SIM_FAULT_SNAPSHOT,
        SIM_FAULT_SLOW_FSYNC, SIM_FAULT_CLOCK_JUMP,
    };
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
        {SIM_GROUP_MEMBER, SIM_FAULT_MEMBER_ADD, 10000}, /* add or remove: one rate */
        {SIM_GROUP_SNAPSHOT, SIM_FAULT_SNAPSHOT, 40000},
        {SIM_GROUP_DISK, SIM_FAULT_SLOW_FSYNC, 3000},
        {SIM_GROUP_CLOCK, SIM_FAULT_CLOCK_JUMP, 5000},
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
        member->wall_offset_ms = 0; /* the clock is set right: one more jump */
        member->slow_sync_ticks = 0;
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
        /* A member removed from the group gets no more entries: only voters must catch up. */
        if (!member->lost && is_voter(leader, member->id) &&
            member->applied != status.commit_index) {
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
            check_sessions(world, leader);
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
    world->voters_start = options->nodes;
    /* With membership changes, a spare member starts outside the voters. */
    world->count = options->nodes + ((options->fault_groups & SIM_GROUP_MEMBER) != 0 ? 1 : 0);
    for (uint32_t i = 0; i < world->count; i++) {
        world->ids[i] = i + 1;
    }
    world->chosen = stoa_calloc(SIM_SLOTS_MAX + 1, sizeof(uint64_t));
    world->digests = stoa_calloc(SIM_SLOTS_MAX + 1, sizeof(uint64_t));
    world->acked = stoa_calloc(SIM_ACKED_MAX, sizeof(struct acked));
    world->changes = stoa_calloc(SIM_CHANGES_MAX, sizeof(struct change));
    world->session_writes = stoa_calloc(SIM_SESSION_WRITES_MAX, sizeof(struct session_write));
    world->held = stoa_calloc(SIM_HELD_MAX, sizeof(struct held));
    if (world->chosen == NULL || world->digests == NULL || world->acked == NULL ||
        world->held == NULL || world->changes == NULL || world->session_writes == NULL) {
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
    stoa_free(world->changes);
    stoa_free(world->session_writes);
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
