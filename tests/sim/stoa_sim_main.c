/* stoa-sim: the deterministic cluster simulator's command line (docs/simulation.md).
 *
 *   stoa-sim --seed N | --seeds A..B | --soak [--seconds S]
 *            [--ticks T] [--nodes 3|5] [--faults MIX] [--history FILE] [--plant BUG]
 *            [--pause-fires-once] [--expect-fail] [--quiet]
 *
 * One seed is one run, replayed bit for bit. A failing seed prints what failed and the command
 * that replays it. Exit status: 0 every seed passed (with --expect-fail: some seed failed, and
 * the first one is named), 1 a seed failed (with --expect-fail: none did), 2 bad usage or the
 * simulator itself failed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim/stoa_sim.h"
#include "util/err.h"

static const char *const plant_names[STOA_PLANT_COUNT] = {
    "none", "apply-unchosen", "early-ack", "follower-read", "skip-promise-fsync", "forget-promise",
};

static const struct {
    const char *name;
    uint32_t groups;
} fault_groups[] = {
    {"net", SIM_GROUP_NET},       {"partition", SIM_GROUP_PARTITION},
    {"clog", SIM_GROUP_CLOG},     {"crash", SIM_GROUP_CRASH},
    {"disk", SIM_GROUP_DISK},     {"clock", SIM_GROUP_CLOCK},
    {"pause", SIM_GROUP_PAUSE},   {"election", SIM_GROUP_ELECTION},
    {"member", SIM_GROUP_MEMBER}, {"snapshot", SIM_GROUP_SNAPSHOT},
    {"all", SIM_GROUP_ALL},       {"none", 0},
};

struct arguments {
    struct sim_options options;
    uint64_t first;
    uint64_t last;
    bool nodes_given;
    bool soak;
    uint64_t seconds; /* soak: 0 = until stopped */
    bool expect_fail;
    bool quiet;
    const char *faults_text;
};

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number) {
    (void)signal_number;
    interrupted = 1;
}

static int usage(const char *why) {
    fprintf(stderr,
            "stoa-sim: %s\n"
            "usage: stoa-sim --seed N | --seeds A..B | --soak [--seconds S]\n"
            "                [--ticks T] [--nodes 3|5] [--faults MIX] [--history FILE]\n"
            "                [--plant BUG] [--pause-fires-once] [--corrupt-anywhere]\n"
            "                [--no-promise-check] [--retry-new-sequence] [--expect-fail]\n"
            "                [--quiet] [--verbose] [--log]\n"
            "  MIX: a comma list of net, partition, clog, crash, disk, clock, pause,\n"
            "       election, member, snapshot, all, none\n"
            "  BUG: apply-unchosen, early-ack, follower-read, skip-promise-fsync, "
            "forget-promise\n",
            why);
    return 2;
}

static bool parse_u64(const char *text, uint64_t *out) {
    if (text == NULL || *text < '0' || *text > '9') {
        return false;
    }
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (end == NULL || *end != '\0') {
        return false;
    }
    *out = value;
    return true;
}

static bool parse_range(const char *text, uint64_t *first, uint64_t *last) {
    const char *dots = text != NULL ? strstr(text, "..") : NULL;
    if (dots == NULL || dots - text >= 32) {
        return false;
    }
    char head[32];
    memcpy(head, text, (size_t)(dots - text));
    head[dots - text] = '\0';
    return parse_u64(head, first) && parse_u64(dots + 2, last) && *first <= *last;
}

static bool parse_faults(const char *text, uint32_t *groups) {
    *groups = 0;
    char copy[256];
    if (strlen(text) >= sizeof(copy)) {
        return false;
    }
    snprintf(copy, sizeof(copy), "%s", text);
    char *saved = NULL;
    for (char *word = strtok_r(copy, ",", &saved); word != NULL;
         word = strtok_r(NULL, ",", &saved)) {
        bool known = false;
        for (size_t i = 0; i < sizeof(fault_groups) / sizeof(fault_groups[0]); i++) {
            if (strcmp(word, fault_groups[i].name) == 0) {
                *groups |= fault_groups[i].groups;
                known = true;
            }
        }
        if (!known) {
            return false;
        }
    }
    return true;
}

static bool parse_plant(const char *text, int *plant) {
    for (int i = 0; i < STOA_PLANT_COUNT; i++) {
        if (strcmp(text, plant_names[i]) == 0) {
            *plant = i;
            return true;
        }
    }
    return false;
}

/* Returns 0, or the usage error's exit status. */
static int parse(int argc, char **argv, struct arguments *a) {
    memset(a, 0, sizeof(*a));
    /* 800, not 1000 since membership, snapshots and sessions made a tick dearer: 500 seeds
     * stay within make test's budget under ASan (docs/simulation.md, "Figures"). */
    a->options.ticks = 800;
    a->options.fault_groups = SIM_GROUP_ALL;
    a->faults_text = "all";
    bool seeds_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t number = 0;
        bool takes = true;
        if (strcmp(arg, "--seed") == 0 && parse_u64(value, &a->first)) {
            a->last = a->first;
            seeds_given = true;
        } else if (strcmp(arg, "--seeds") == 0 && parse_range(value, &a->first, &a->last)) {
            seeds_given = true;
        } else if (strcmp(arg, "--ticks") == 0 && parse_u64(value, &number) && number > 0 &&
                   number <= SIM_TICKS_MAX) {
            a->options.ticks = (uint32_t)number;
        } else if (strcmp(arg, "--nodes") == 0 && parse_u64(value, &number) &&
                   (number == 3 || number == 5)) {
            a->options.nodes = (uint32_t)number;
            a->nodes_given = true;
        } else if (strcmp(arg, "--faults") == 0 && value != NULL &&
                   parse_faults(value, &a->options.fault_groups)) {
            a->faults_text = value;
        } else if (strcmp(arg, "--history") == 0 && value != NULL) {
            a->options.history_path = value;
        } else if (strcmp(arg, "--plant") == 0 && value != NULL &&
                   parse_plant(value, &a->options.plant)) {
        } else if (strcmp(arg, "--seconds") == 0 && parse_u64(value, &a->seconds)) {
        } else {
            takes = false;
            if (strcmp(arg, "--soak") == 0) {
                a->soak = true;
            } else if (strcmp(arg, "--expect-fail") == 0) {
                a->expect_fail = true;
            } else if (strcmp(arg, "--pause-fires-once") == 0) {
                a->options.pause_fires_once = true;
            } else if (strcmp(arg, "--no-promise-check") == 0) {
                a->options.no_promise_check = true;
            } else if (strcmp(arg, "--retry-new-sequence") == 0) {
                a->options.retry_new_sequence = true;
            } else if (strcmp(arg, "--corrupt-anywhere") == 0) {
                a->options.corrupt_anywhere = true;
            } else if (strcmp(arg, "--verbose") == 0) {
                a->options.verbose = true;
            } else if (strcmp(arg, "--log") == 0) {
                a->options.log = true;
            } else if (strcmp(arg, "--quiet") == 0) {
                a->quiet = true;
            } else {
                fprintf(stderr, "stoa-sim: bad argument: %s%s%s\n", arg, value ? " " : "",
                        value ? value : "");
                return usage("see the usage");
            }
        }
        i += takes ? 1 : 0;
    }
    if (!seeds_given && !a->soak) {
        return usage("give --seed, --seeds or --soak");
    }
    if (a->options.history_path != NULL && a->first != a->last) {
        return usage("--history takes one seed");
    }
    return 0;
}

static int64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

/* Odd seeds run 5 members and even ones 3, unless --nodes says. */
static uint32_t nodes_of(const struct arguments *a, uint64_t seed) {
    return a->nodes_given ? a->options.nodes : (seed % 2 == 1 ? 5 : 3);
}

static void print_replay(const struct arguments *a, uint64_t seed) {
    fprintf(stderr,
            "  replay: stoa-sim --seed %llu --ticks %u --nodes %u --faults %s%s%s%s%s%s%s\n",
            (unsigned long long)seed, a->options.ticks, nodes_of(a, seed), a->faults_text,
            a->options.plant != 0 ? " --plant " : "",
            a->options.plant != 0 ? plant_names[a->options.plant] : "",
            a->options.pause_fires_once ? " --pause-fires-once" : "",
            a->options.corrupt_anywhere ? " --corrupt-anywhere" : "",
            a->options.no_promise_check ? " --no-promise-check" : "",
            a->options.retry_new_sequence ? " --retry-new-sequence" : "");
}

static void print_figures(const struct sim_stats *stats, uint64_t seeds, uint64_t failed,
                          int64_t elapsed_ns) {
    double seconds = (double)elapsed_ns / 1e9;
    double runs = seeds > 0 ? (double)seeds : 1.0;
    printf("stoa-sim: %llu seeds, %llu failed, in %.1f s: %.0f seeds per minute, %.0f per hour\n",
           (unsigned long long)seeds, (unsigned long long)failed, seconds,
           seconds > 0 ? (double)seeds * 60.0 / seconds : 0.0,
           seconds > 0 ? (double)seeds * 3600.0 / seconds : 0.0);
    printf("  per history: %.1f operations (ok %.1f, fail %.1f, info %.1f), %.1f keys, "
           "%.1f slots chosen, %.0f messages\n",
           (double)stats->ops / runs, (double)stats->ops_ok / runs, (double)stats->ops_fail / runs,
           (double)stats->ops_info / runs, (double)stats->keys / runs, (double)stats->slots / runs,
           (double)stats->messages / runs);
    printf("  sessions: %.1f clients registered, %.1f session writes applied, %.1f retries "
           "per run\n",
           (double)stats->sessions / runs, (double)stats->session_writes / runs,
           (double)stats->retries / runs);
    printf("  ticks: %llu in all, liveness phase %llu at most in a run; checking took %.1f ms "
           "in all\n",
           (unsigned long long)stats->ticks, (unsigned long long)stats->liveness_ticks,
           (double)stats->check_ns / 1e6);
    printf("  faults:");
    for (int f = 0; f < SIM_FAULT_COUNT; f++) {
        printf(" %s %llu%s", sim_fault_name((enum sim_fault)f),
               (unsigned long long)stats->faults[f], f + 1 < SIM_FAULT_COUNT ? "," : "\n");
    }
    fflush(stdout);
}

int main(int argc, char **argv) {
    struct arguments a;
    int status = parse(argc, argv, &a);
    if (status != 0) {
        return status;
    }
    if (a.soak) {
        /* A soak stops between two seeds and prints its figures. */
        signal(SIGINT, on_interrupt);
        signal(SIGTERM, on_interrupt);
    }
    struct sim_stats total = {0};
    uint64_t seeds = 0;
    uint64_t failed = 0;
    uint64_t liveness_max = 0;
    int64_t start = monotonic_ns();
    int64_t last_report = start;
    uint64_t last = a.soak ? UINT64_MAX : a.last;
    for (uint64_t seed = a.first; seed <= last && !interrupted; seed++) {
        struct sim_options options = a.options;
        options.seed = seed;
        options.nodes = nodes_of(&a, seed);
        char why[768] = "";
        struct sim_stats stats = {0};
        int result = sim_run(&options, &stats, why, sizeof(why));
        seeds++;
        for (int f = 0; f < SIM_FAULT_COUNT; f++) {
            total.faults[f] += stats.faults[f];
        }
        total.ops += stats.ops;
        total.ops_ok += stats.ops_ok;
        total.ops_fail += stats.ops_fail;
        total.ops_info += stats.ops_info;
        total.keys += stats.keys;
        total.slots += stats.slots;
        total.messages += stats.messages;
        total.ticks += stats.ticks;
        total.check_ns += stats.check_ns;
        total.sessions += stats.sessions;
        total.session_writes += stats.session_writes;
        total.retries += stats.retries;
        liveness_max = stats.liveness_ticks > liveness_max ? stats.liveness_ticks : liveness_max;
        if (result < 0) {
            fprintf(stderr, "stoa-sim: seed %llu: the simulator failed: %s\n",
                    (unsigned long long)seed, why);
            print_replay(&a, seed);
            return 2;
        }
        if (result > 0) {
            failed++;
            fprintf(stderr, "stoa-sim: seed %llu FAILED: %s\n", (unsigned long long)seed, why);
            print_replay(&a, seed);
            if (a.expect_fail) {
                printf("stoa-sim: plant %s caught by seed %llu (%llu seeds run)\n",
                       a.options.retry_new_sequence ? "retry-new-sequence"
                                                    : plant_names[a.options.plant],
                       (unsigned long long)seed, (unsigned long long)seeds);
                return 0;
            }
        }
        int64_t now = monotonic_ns();
        if (a.soak && now - last_report > 30LL * 1000000000) {
            total.liveness_ticks = liveness_max;
            print_figures(&total, seeds, failed, now - start);
            last_report = now;
        }
        if (a.soak && a.seconds > 0 && now - start > (int64_t)a.seconds * 1000000000) {
            break;
        }
    }
    total.liveness_ticks = liveness_max;
    if (!a.quiet || failed > 0 || a.soak) {
        print_figures(&total, seeds, failed, monotonic_ns() - start);
    }
    if (a.expect_fail) {
        fprintf(stderr, "stoa-sim: plant %s was NOT caught in %llu seeds\n",
                a.options.retry_new_sequence ? "retry-new-sequence" : plant_names[a.options.plant],
                (unsigned long long)seeds);
        return 1;
    }
    return failed > 0 ? 1 : 0;
}
