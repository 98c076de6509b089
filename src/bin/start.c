/*
 * `stoa start`: load and validate the configuration, prepare the data directory (create it,
 * lock it, keep the node id in it), then run the event loop until SIGINT or SIGTERM and
 * shut down cleanly. Later milestones attach the engine and the front doors here.
 */
#include <stdbool.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "backend/redis_backend.h"
#include "bin/bin.h"
#include "bin/data_dir.h"
#include "os/dir_lock.h"
#include "os/env_uv.h"
#include "os/os.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "engine/engine.h"
#include "server/geomys_server.h"
#include "server/http_server.h"
#include "server/multiverse9_server.h"
#include "server/node_key.h"
#include "server/peer.h"
#include "server/replica.h"
#include "server/server.h"
#include "util/config.h"
#include "util/env.h"
#include "util/err.h"
#include "util/log.h"
#include "util/ulid.h"

extern char **environ;

/* The arguments of `stoa start` that are not config keys. Config flags are collected, in
 * order, into config_flags (pointers into argv). */
struct start_options {
    const char *config_path;
    const char *type;
    const char *data_dir;
    const char *threads; /* multiverse9's run --threads: multiverse9.threads */
    const char *join;    /* --join HOST:PORT: a member of the group to join (join.c) */
    bool check_config;
    int config_flag_count;
    char **config_flags;
};

struct node {
    struct stoa_config config;
    struct stoa_log log;
    uv_loop_t loop;
    struct stoa_os_env os_env;
    struct stoa_env *env;
    struct stoa_os_signals signals;
    struct stoa_os_dir_lock lock;
    struct stoa_engine *engine;
    struct stoa_server *server;
    struct stoa_geomys_server *geomys;
    struct stoa_http_server *http;
    struct stoa_multiverse9_server *multiverse9;
    struct stoa_redis_backend *redis; /* data.backend redis */
    struct stoa_node_key node_key;
    struct stoa_multiverse9_node multiverse9_nodes[STOA_MULTIVERSE9_NODES_MAX];
    struct stoa_env_timer *tick_timer;
    bool stopping;
    /* A member of a replica group (cluster.members set): the group's transport settings
     * and the replica that drives it. */
    struct stoa_member_list members;
    struct stoa_peer_options peer;
    struct stoa_replica *replica;
    const char *join; /* --join: a member's RESP address */
    bool joining;     /* just added by --join: starts as a learner */
};

/* The engine's periodic work (expiry, everysec sync, snapshot trigger) runs this often; at
 * most EXPIRE_PER_TICK expired keys are reclaimed per tick. */
#define TICK_MS 100
#define EXPIRE_PER_TICK 1000
/* loop.busyPollMicros's -1 on a single node: at 100 us redis-benchmark -P 1 went from
 * 0.92-0.97x Redis to 1.15-1.2x (docs/performance.md), for under 0.2 % of a core when idle. */
#define LOOP_BUSY_POLL_US_SINGLE 100

static int usage_error(const char *message, const char *argument) {
    fprintf(stderr, "stoa start: %s%s%s\n", message, argument != NULL ? " " : "",
            argument != NULL ? argument : "");
    fprintf(stderr, "run `stoa help start` for the arguments\n");
    return STOA_BIN_EXIT_USAGE;
}

/* Matches "--name=value", "--name value" and the short form "-s value". On a match sets
 * *value, advances *index past what was used and returns 1; returns -1 if the value is
 * missing; 0 if argument is not this option. */
static int take_option(int argc, char **argv, int *index, const char *name, const char *short_name,
                       const char **value) {
    const char *argument = argv[*index];
    size_t name_length = strlen(name);
    if (strncmp(argument, name, name_length) == 0 && argument[name_length] == '=') {
        *value = argument + name_length + 1;
        *index += 1;
        return 1;
    }
    bool exact = strcmp(argument, name) == 0;
    bool short_match = short_name != NULL && strcmp(argument, short_name) == 0;
    if (!exact && !short_match) {
        return 0;
    }
    if (*index + 1 >= argc) {
        return -1;
    }
    *value = argv[*index + 1];
    *index += 2;
    return 1;
}

static int parse_options(int argc, char **argv, struct start_options *options) {
    int index = 0;
    while (index < argc) {
        const char *argument = argv[index];
        int matched = take_option(argc, argv, &index, "--config", "-c", &options->config_path);
        if (matched == 0) {
            matched = take_option(argc, argv, &index, "--type", "-t", &options->type);
        }
        if (matched == 0) {
            matched = take_option(argc, argv, &index, "--data-dir", NULL, &options->data_dir);
        }
        if (matched == 0) {
            matched = take_option(argc, argv, &index, "--threads", NULL, &options->threads);
        }
        if (matched == 0) {
            matched = take_option(argc, argv, &index, "--join", NULL, &options->join);
        }
        if (matched < 0) {
            return usage_error("missing value after", argument);
        }
        if (matched > 0) {
            continue;
        }
        if (strcmp(argument, "--check-config") == 0) {
            options->check_config = true;
        } else if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0) {
            stoa_bin_usage("start");
            return -1;
        } else {
            /* Everything else goes to the config parser, which refuses what it does not
             * know; a flag's separate value travels with it. */
            options->config_flags[options->config_flag_count++] = argv[index];
        }
        index++;
    }
    return STOA_BIN_EXIT_OK;
}

static int config_error(const struct stoa_config_error *error) {
    fprintf(stderr, "stoa start: invalid configuration: %s\n", error->message);
    return STOA_BIN_EXIT_USAGE;
}

static int load_config_file(struct stoa_config *config, const char *path) {
    char *text = NULL;
    size_t length = 0;
    int result = stoa_os_read_file(path, STOA_CONFIG_FILE_BYTES_MAX, &text, &length);
    if (result != STOA_OK) {
        fprintf(stderr, "stoa start: cannot read config file %s: %s\n", path,
                stoa_err_message(result));
        return STOA_BIN_EXIT_USAGE;
    }
    struct stoa_config_error error;
    result = stoa_config_load_file(config, path, text, length, &error);
    stoa_free(text);
    return result == STOA_OK ? STOA_BIN_EXIT_OK : config_error(&error);
}

/* defaults < file < environment < flags; --type and --data-dir are flags too, applied
 * after the --key=value flags. */
static int load_config(const struct start_options *options, struct stoa_config *config) {
    struct stoa_config_error error;
    stoa_config_defaults(config);
    if (options->config_path != NULL) {
        int status = load_config_file(config, options->config_path);
        if (status != STOA_BIN_EXIT_OK) {
            return status;
        }
    }
    if (stoa_config_load_env(config, environ, &error) != STOA_OK ||
        stoa_config_load_flags(config, options->config_flag_count, options->config_flags, &error) !=
            STOA_OK) {
        return config_error(&error);
    }
    if (options->type != NULL &&
        stoa_config_set(config, "node.type", options->type, "flag --type", &error) != STOA_OK) {
        return config_error(&error);
    }
    if (options->data_dir != NULL && stoa_config_set(config, "data.dir", options->data_dir,
                                                     "flag --data-dir", &error) != STOA_OK) {
        return config_error(&error);
    }
    if (options->threads != NULL &&
        stoa_config_set(config, "multiverse9.threads", options->threads, "flag --threads",
                        &error) != STOA_OK) {
        return config_error(&error);
    }
    if (config->data_dir[0] == '\0') {
        fprintf(stderr, "stoa start: invalid configuration: data.dir: must not be empty\n");
        return STOA_BIN_EXIT_USAGE;
    }
    return STOA_BIN_EXIT_OK;
}

static int print_config(const struct stoa_config *config) {
    char *text = stoa_alloc(STOA_CONFIG_FILE_BYTES_MAX);
    if (text == NULL) {
        fprintf(stderr, "stoa start: %s\n", stoa_err_message(STOA_ERR_NOMEM));
        return STOA_BIN_EXIT_FAILURE;
    }
    size_t length = 0;
    int result = stoa_config_write(config, text, STOA_CONFIG_FILE_BYTES_MAX, &length);
    if (result == STOA_OK) {
        fwrite(text, 1, length, stdout);
    }
    stoa_free(text);
    return result == STOA_OK ? STOA_BIN_EXIT_OK : STOA_BIN_EXIT_FAILURE;
}

static enum stoa_log_level log_level_of(enum stoa_config_log_level level) {
    switch (level) {
    case STOA_CONFIG_LOG_LEVEL_DEBUG:
        return STOA_LOG_DEBUG;
    case STOA_CONFIG_LOG_LEVEL_INFO:
        return STOA_LOG_INFO;
    case STOA_CONFIG_LOG_LEVEL_WARN:
        return STOA_LOG_WARN;
    case STOA_CONFIG_LOG_LEVEL_ERROR:
        return STOA_LOG_ERROR;
    }
    STOA_UNREACHABLE();
}

static void setup_log(struct node *node) {
    stoa_log_init(&node->log);
    stoa_log_set_sink(&node->log, stoa_os_log_sink_stderr, NULL);
    stoa_log_set_clock(&node->log, stoa_os_log_clock, NULL);
    node->log.level_min = log_level_of(node->config.log_level);
}

/* Creates and locks the data directory and settles the node id. */
static int open_data_dir(struct node *node) {
    const char *dir = node->config.data_dir;
    int result = stoa_bin_data_dir_create(node->env, dir);
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin", "cannot create the data directory",
                       STOA_FIELD_STR("dir", dir), STOA_FIELD_ERR(result));
        return STOA_BIN_EXIT_FAILURE;
    }
    long holder_pid = 0;
    result = stoa_os_dir_lock_acquire(&node->lock, dir, &holder_pid);
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin",
                       result == STOA_ERR_BUSY ? "the data directory is in use by another process"
                                               : "cannot lock the data directory",
                       STOA_FIELD_STR("dir", dir), STOA_FIELD_INT("holder_pid", holder_pid),
                       STOA_FIELD_ERR(result));
        return STOA_BIN_EXIT_FAILURE;
    }
    if (node->config.node_id[0] != '\0') {
        stoa_log_set_node_id(&node->log, node->config.node_id);
        return STOA_BIN_EXIT_OK;
    }
    char id[STOA_NODE_ID_BYTES_MAX + 1];
    bool created = false;
    result = stoa_bin_node_id_load(node->env, dir, id, &created);
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin", "cannot read or create the node id",
                       STOA_FIELD_STR("file", "node.id"), STOA_FIELD_STR("dir", dir),
                       STOA_FIELD_ERR(result));
        stoa_os_dir_lock_release(&node->lock);
        return STOA_BIN_EXIT_FAILURE;
    }
    stoa_log_set_node_id(&node->log, id);
    if (created) {
        STOA_LOG_INFO(&node->log, "bin", "created node id", STOA_FIELD_STR("dir", dir));
    }
    return STOA_BIN_EXIT_OK;
}

/* Stops the node: the front door first (its last replies are sent once durable), then the
 * handles; uv_run returns when the last one has closed. */
static void stop(struct node *node, const char *why) {
    if (node->stopping) {
        return;
    }
    node->stopping = true;
    STOA_LOG_INFO(&node->log, "bin", "stopping", STOA_FIELD_STR("reason", why));
    /* The HTTP door first: its /metrics reads the RESP door's counters. */
    if (node->http != NULL) {
        stoa_http_server_stop(node->http, NULL, NULL);
        node->http = NULL;
    }
    if (node->server != NULL) {
        stoa_server_stop(node->server, NULL, NULL);
        node->server = NULL;
    }
    if (node->geomys != NULL) {
        stoa_geomys_server_stop(node->geomys, NULL, NULL);
        node->geomys = NULL;
    }
    if (node->multiverse9 != NULL) {
        stoa_multiverse9_server_stop(node->multiverse9, NULL, NULL);
        node->multiverse9 = NULL;
    }
    if (node->replica != NULL) {
        stoa_replica_stop(node->replica, NULL, NULL);
        node->replica = NULL;
    }
    stoa_os_signals_close(&node->signals, NULL, NULL);
    node->env->ops->timer_close(node->tick_timer, NULL, NULL);
}

static void on_signal(void *context, int signal_number) {
    stop(context, signal_number == SIGINT ? "SIGINT" : "SIGTERM");
}

static void on_shutdown_command(void *context) {
    stop(context, "SHUTDOWN command");
}

/* Writes a key's value as text; every key named here exists and fits (asserted). */
static const char *value_text(const struct stoa_config *config, const char *key, char *text,
                              size_t capacity) {
    int result = stoa_config_format_value(config, key, text, capacity, NULL);
    STOA_ASSERT(result == STOA_OK);
    return text;
}

/* Runs the event loop until every handle is closed. After each wakeup the loop polls on
 * without sleeping (epoll with no timeout) for spin_ns before it blocks again: a client
 * whose next request arrives meanwhile finds the server awake, so its send does not pay for
 * waking a sleeping process (loop.busyPollMicros; measured in docs/performance.md). */
static void run_loop(struct node *node, int64_t spin_ns) {
    for (;;) {
        int64_t woke = stoa_env_monotonic_ns(node->env);
        int alive = 1;
        while (alive && spin_ns > 0 && stoa_env_monotonic_ns(node->env) - woke < spin_ns) {
            alive = uv_run(&node->loop, UV_RUN_NOWAIT);
        }
        if (!alive || !uv_run(&node->loop, UV_RUN_ONCE)) {
            return;
        }
    }
}

static void log_started(struct node *node) {
    const struct stoa_config *config = &node->config;
    char storage_mode[16];
    char retrieval_mode[16];
    char durability[16];
    char type[16];
    struct stoa_engine_stats stats;
    stoa_engine_stats(node->engine, &stats);
    struct stoa_address address;
    stoa_server_address(node->server, &address);
    char resp_address[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(&address, resp_address);
    char geomys_address[STOA_ADDRESS_TEXT_BYTES_MAX] = "-";
    if (node->geomys != NULL) {
        stoa_geomys_server_address(node->geomys, &address);
        stoa_address_format(&address, geomys_address);
    }
    char http_address[STOA_ADDRESS_TEXT_BYTES_MAX] = "-";
    if (node->http != NULL) {
        stoa_http_server_address(node->http, &address);
        stoa_address_format(&address, http_address);
    }
    STOA_LOG_INFO(
        &node->log, "bin", "started", STOA_FIELD_STR("version", STOA_VERSION),
        STOA_FIELD_INT("pid", getpid()),
        STOA_FIELD_STR("type", value_text(config, "node.type", type, sizeof(type))),
        STOA_FIELD_STR("data_dir", config->data_dir),
        STOA_FIELD_STR("durability",
                       value_text(config, "data.durability", durability, sizeof(durability))),
        STOA_FIELD_STR("storage_mode", value_text(config, "node.storage.storageMode", storage_mode,
                                                  sizeof(storage_mode))),
        STOA_FIELD_STR("retrieval_mode", value_text(config, "node.storage.retrievalMode",
                                                    retrieval_mode, sizeof(retrieval_mode))),
        STOA_FIELD_INT("max_peers", config->node_max_peers),
        STOA_FIELD_INT("replication_factor", config->node_storage_replication_factor),
        STOA_FIELD_UINT("keys", stoa_keyspace_count(stoa_engine_keyspace(node->engine))),
        STOA_FIELD_UINT("applied_index", stats.applied_index), STOA_FIELD_STR("resp", resp_address),
        STOA_FIELD_STR("geomys", geomys_address), STOA_FIELD_STR("http", http_address));
}

static enum stoa_engine_durability durability_of(enum stoa_config_durability durability) {
    switch (durability) {
    case STOA_CONFIG_DURABILITY_ALWAYS:
        return STOA_ENGINE_DURABILITY_ALWAYS;
    case STOA_CONFIG_DURABILITY_EVERYSEC:
        return STOA_ENGINE_DURABILITY_EVERYSEC;
    case STOA_CONFIG_DURABILITY_NONE:
        return STOA_ENGINE_DURABILITY_NONE;
    }
    STOA_UNREACHABLE();
}

static int open_engine(struct node *node) {
    const struct stoa_config *config = &node->config;
    struct stoa_engine_options options = {
        .data_dir = config->data_dir,
        .durability = durability_of(config->data_durability),
        .memory_bytes_max = (size_t)config->data_memory_limit,
        .eviction = config->data_eviction == STOA_CONFIG_EVICTION_VOLATILE_TTL
                        ? STOA_KEYSPACE_EVICT_VOLATILE_TTL
                        : STOA_KEYSPACE_EVICT_NONE,
        .snapshot_log_bytes = (uint64_t)config->data_snapshot_log_bytes,
        .truncate_corrupt = config->data_truncate_corrupt_log,
        .log = &node->log};
    if (node->members.count > 0) {
        /* A replica group's log is its Paxos journal (<data dir>/paxos): the engine keeps
         * none of its own (docs/replication.md). */
        options.durability = STOA_ENGINE_DURABILITY_NONE;
    }
    if (config->data_backend == STOA_CONFIG_BACKEND_REDIS) {
        /* Redis is the store of record with its own durability: no log, no snapshots
         * (docs/redis-backend.md). */
        int opened = stoa_redis_backend_open(config->data_redis_uri, &node->log, &node->redis);
        if (opened != STOA_OK) {
            STOA_LOG_ERROR(&node->log, "bin", "cannot open the Redis backend",
                           STOA_FIELD_STR("uri", config->data_redis_uri), STOA_FIELD_ERR(opened));
            return STOA_BIN_EXIT_FAILURE;
        }
        options.backend = stoa_redis_backend_get(node->redis);
        options.durability = STOA_ENGINE_DURABILITY_NONE;
        options.snapshot_log_bytes = 0;
        STOA_LOG_INFO(&node->log, "bin", "storage backend: redis",
                      STOA_FIELD_STR("uri", config->data_redis_uri),
                      STOA_FIELD_STR("durability", "Redis's own; stoa keeps no log"));
    }
    struct stoa_engine_error error;
    int result = stoa_engine_open(node->env, &options, &node->engine, &error);
    if (result != STOA_OK) {
        stoa_redis_backend_close(node->redis);
        node->redis = NULL;
        STOA_LOG_ERROR(&node->log, "bin", "cannot open the engine",
                       STOA_FIELD_STR("detail", error.message), STOA_FIELD_ERR(result));
        return STOA_BIN_EXIT_FAILURE;
    }
    return STOA_BIN_EXIT_OK;
}

static void on_tick(void *context) {
    struct node *node = context;
    int64_t now_ms = stoa_env_real_ms(node->env);
    if (node->replica == NULL) {
        stoa_engine_clock_advance(node->engine, now_ms);
    }
    (void)stoa_engine_tick(node->engine, now_ms, EXPIRE_PER_TICK);
}

/* A door that could not start: which, where, why. */
static void log_listen_error(struct node *node, const char *door,
                             const struct stoa_address *address, int result) {
    char text[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(address, text);
    STOA_LOG_ERROR(&node->log, "bin", "cannot listen for clients", STOA_FIELD_STR("door", door),
                   STOA_FIELD_STR("address", text), STOA_FIELD_ERR(result));
}

/* Reads the replica group's settings (cluster.*): none when cluster.members is empty. */
static int read_group_config(struct node *node) {
    const struct stoa_config *config = &node->config;
    char error[STOA_CONFIG_ERROR_BYTES_MAX];
    int result = stoa_peer_options_from_config(config, &node->members, &node->peer, error);
    if (result != STOA_OK) {
        fprintf(stderr, "stoa start: invalid configuration: %s\n", error);
        return STOA_BIN_EXIT_USAGE;
    }
    if (node->members.count > 0 &&
        (config->cluster_election_ticks_min <= config->cluster_heartbeat_ticks ||
         config->cluster_election_ticks_max < config->cluster_election_ticks_min ||
         config->cluster_drift_ticks >= config->cluster_election_ticks_min)) {
        fprintf(stderr, "stoa start: invalid configuration: cluster.electionTicksMin must "
                        "exceed cluster.heartbeatTicks and cluster.driftTicks, and "
                        "cluster.electionTicksMax must be at least cluster.electionTicksMin\n");
        return STOA_BIN_EXIT_USAGE;
    }
    return STOA_BIN_EXIT_OK;
}

/* Joins the replica group: journal, consensus core, peer transport. */
static int start_replica(struct node *node) {
    const struct stoa_config *config = &node->config;
    struct stoa_replica_options options = {
        .self_id = (uint32_t)node->peer.self_id,
        .peer = node->peer,
        .data_dir = config->data_dir,
        .tick_ms = config->cluster_tick_ms,
        .heartbeat_ticks = (uint32_t)config->cluster_heartbeat_ticks,
        .election_ticks_min = (uint32_t)config->cluster_election_ticks_min,
        .election_ticks_max = (uint32_t)config->cluster_election_ticks_max,
        .drift_ticks = (uint32_t)config->cluster_drift_ticks,
        .request_timeout_ms = config->cluster_request_timeout_ms,
        .snapshot_log_bytes = (uint64_t)config->data_snapshot_log_bytes,
        .log_slots = (uint32_t)config->cluster_log_slots,
        .joining = node->joining,
        .log = &node->log};
    char error[512];
    int result = stoa_replica_start(node->env, node->engine, &options, &node->replica, error,
                                    sizeof(error));
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin", "cannot join the replica group",
                       STOA_FIELD_STR("detail", error), STOA_FIELD_ERR(result));
        return result;
    }
    struct stoa_address address;
    stoa_peer_address(stoa_replica_transport(node->replica), &address);
    char text[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(&address, text);
    STOA_LOG_INFO(&node->log, "bin", "replica group member",
                  STOA_FIELD_UINT("self", options.self_id),
                  STOA_FIELD_UINT("members", node->members.count), STOA_FIELD_STR("peer", text));
    return STOA_OK;
}

static enum stoa_replica_read_mode read_mode_of(enum stoa_config_retrieval_mode mode) {
    switch (mode) {
    case STOA_CONFIG_RETRIEVAL_MODE_FAST:
        return STOA_REPLICA_READ_FAST;
    case STOA_CONFIG_RETRIEVAL_MODE_SAFE:
        return STOA_REPLICA_READ_SAFE;
    case STOA_CONFIG_RETRIEVAL_MODE_PARALLEL:
        return STOA_REPLICA_READ_PARALLEL;
    }
    STOA_UNREACHABLE();
}

/* The write mode of the doors whose requests carry none (Geomys, multiverse9). */
static enum stoa_replica_write_mode write_mode_of(enum stoa_config_storage_mode mode) {
    return mode == STOA_CONFIG_STORAGE_MODE_FAST ? STOA_REPLICA_WRITE_FAST
                                                 : STOA_REPLICA_WRITE_SAFE;
}

/* Starts the RESP front door on listen.host:listen.resp.port and logs where it listens. */
static int start_server(struct node *node) {
    const struct stoa_config *config = &node->config;
    struct stoa_server_options options = {
        .clients_max = (size_t)config->resp_max_clients,
        .query_bytes_max = STOA_SERVER_QUERY_BYTES_DEFAULT,
        .output_bytes_max = (size_t)config->resp_output_buffer_bytes,
        .idle_timeout_ms = config->resp_idle_timeout_seconds * 1000,
        .password = config->resp_password,
        .debug_enabled = config->resp_debug_commands,
        .node_id = node->log.node_id,
        .log = &node->log,
        .on_shutdown = on_shutdown_command,
        .shutdown_context = node,
        .replica = node->replica,
        .read_mode = read_mode_of(config->node_storage_retrieval_mode),
        .write_mode = write_mode_of(config->node_storage_storage_mode)};
    int result = stoa_address_parse_host(config->listen_host, strlen(config->listen_host),
                                         (uint16_t)config->listen_resp_port, &options.address);
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin", "listen.host is not a numeric address",
                       STOA_FIELD_STR("host", config->listen_host));
        return result;
    }
    result = stoa_server_start(node->env, node->engine, &options, &node->server);
    if (result != STOA_OK) {
        log_listen_error(node, "RESP", &options.address, result);
        return result;
    }
    return STOA_OK;
}

/* Starts the Geomys front door on listen.host:listen.geomys.port, with the RESP door's client
 * limits and password (docs/protocols/geomys.md); on a member, through the replica in the
 * node's storage and retrieval modes. */
static int start_geomys(struct node *node) {
    const struct stoa_config *config = &node->config;
    struct stoa_geomys_server_options options = {
        .clients_max = (size_t)config->resp_max_clients,
        .output_bytes_max = (size_t)config->resp_output_buffer_bytes,
        .password = config->resp_password,
        .log = &node->log,
        .replica = node->replica,
        .read_mode = read_mode_of(config->node_storage_retrieval_mode),
        .write_mode = write_mode_of(config->node_storage_storage_mode)};
    int result = stoa_address_parse_host(config->listen_host, strlen(config->listen_host),
                                         (uint16_t)config->listen_geomys_port, &options.address);
    if (result == STOA_OK) {
        result = stoa_geomys_server_start(node->env, node->engine, &options, &node->geomys);
    }
    if (result != STOA_OK) {
        log_listen_error(node, "Geomys", &options.address, result);
    }
    return result;
}

/* Loads (or makes, at first start) the node key the multiverse9 door proves itself with. */
static int load_node_key(struct node *node) {
    bool created = false;
    int result = stoa_node_key_load(node->env, node->config.data_dir, &node->node_key, &created);
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin", "cannot read or create the node key",
                       STOA_FIELD_STR("file", "node.key"),
                       STOA_FIELD_STR("dir", node->config.data_dir), STOA_FIELD_ERR(result));
        return result;
    }
    if (created) {
        STOA_LOG_INFO(&node->log, "bin", "created node key",
                      STOA_FIELD_STR("dir", node->config.data_dir));
    }
    return STOA_OK;
}

/* Starts the multiverse9 front door on listen.host:listen.multiverse9.port and logs where it
 * listens and the node's public key (docs/protocols/multiverse9.md). */
static int start_multiverse9(struct node *node) {
    const struct stoa_config *config = &node->config;
    char name[STOA_MULTIVERSE9_NAME_BYTES_MAX + 1];
    snprintf(name, sizeof(name), "%s", config->multiverse9_name);
    if (name[0] == '\0') {
        snprintf(name, sizeof(name), "multiverse9_%s", node->log.node_id);
    }
    struct stoa_multiverse9_server_options options = {
        .clients_max = (size_t)config->resp_max_clients,
        .output_bytes_max = (size_t)config->resp_output_buffer_bytes,
        .name = name,
        .key = &node->node_key,
        .nodes = node->multiverse9_nodes,
        .open_interactions = config->multiverse9_open_interactions,
        .open_metadata = config->multiverse9_open_metadata,
        .remote_timeout_ms = config->multiverse9_remote_timeout_ms,
        .log = &node->log,
        .replica = node->replica,
        .read_mode = read_mode_of(config->node_storage_retrieval_mode),
        .write_mode = write_mode_of(config->node_storage_storage_mode)};
    char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX];
    int result = stoa_multiverse9_nodes_parse(config->multiverse9_nodes, node->multiverse9_nodes,
                                              STOA_MULTIVERSE9_NODES_MAX, &options.node_count,
                                              error);
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin", "multiverse9.nodes is not valid",
                       STOA_FIELD_STR("detail", error));
        return result;
    }
    result = load_node_key(node);
    if (result == STOA_OK) {
        result = stoa_address_parse_host(config->listen_host, strlen(config->listen_host),
                                         (uint16_t)config->listen_multiverse9_port,
                                         &options.address);
    }
    if (result == STOA_OK) {
        result = stoa_multiverse9_server_start(node->env, node->engine, &options,
                                               &node->multiverse9);
    }
    if (result != STOA_OK) {
        log_listen_error(node, "multiverse9", &options.address, result);
        return result;
    }
    struct stoa_address address;
    stoa_multiverse9_server_address(node->multiverse9, &address);
    char address_text[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(&address, address_text);
    char key_text[STOA_NODE_KEY_HEX_LENGTH + 1];
    stoa_node_key_format_public(node->node_key.public_key, key_text);
    STOA_LOG_INFO(&node->log, "bin", "multiverse9 listening",
                  STOA_FIELD_STR("address", address_text), STOA_FIELD_STR("name", name),
                  STOA_FIELD_STR("public_key", key_text),
                  STOA_FIELD_INT("threads", config->multiverse9_threads),
                  STOA_FIELD_STR("threads_note", "one event loop serves every connection"));
    return STOA_OK;
}

/* Starts the HTTP/JSON front door on listen.host:listen.http.port (docs/protocols/http.md),
 * with the node's storage defaults, which Nomad's config routes then change. */
static int start_http(struct node *node) {
    const struct stoa_config *config = &node->config;
    char storage_mode[16];
    char retrieval_mode[16];
    struct stoa_http_server_options options = {
        .clients_max = (size_t)config->http_max_clients,
        .body_bytes_max = (size_t)config->http_max_body_bytes,
        .request_timeout_ms = config->http_request_timeout_seconds * 1000,
        .swagger_dir = config->http_swagger_dir,
        .node_id = node->log.node_id,
        .storage_mode = value_text(config, "node.storage.storageMode", storage_mode,
                                   sizeof(storage_mode)),
        .retrieval_mode = value_text(config, "node.storage.retrievalMode", retrieval_mode,
                                     sizeof(retrieval_mode)),
        .replication_factor = config->node_storage_replication_factor,
        .resp = node->server,
        .replica = node->replica,
        .log = &node->log};
    int result = stoa_address_parse_host(config->listen_host, strlen(config->listen_host),
                                         (uint16_t)config->listen_http_port, &options.address);
    if (result == STOA_OK) {
        result = stoa_http_server_start(node->env, node->engine, &options, &node->http);
    }
    if (result != STOA_OK) {
        log_listen_error(node, "HTTP", &options.address, result);
    }
    return result;
}

/* Stops the doors started so far (a later one failed to start). */
static void stop_doors(struct node *node) {
    if (node->server != NULL) {
        stoa_server_stop(node->server, NULL, NULL);
        node->server = NULL;
    }
    if (node->geomys != NULL) {
        stoa_geomys_server_stop(node->geomys, NULL, NULL);
        node->geomys = NULL;
    }
    if (node->multiverse9 != NULL) {
        stoa_multiverse9_server_stop(node->multiverse9, NULL, NULL);
        node->multiverse9 = NULL;
    }
    if (node->replica != NULL) {
        stoa_replica_stop(node->replica, NULL, NULL);
        node->replica = NULL;
    }
}

/* The front doors; on a member of a replica group every door runs its commands through the
 * replica (started first, stopped last). */
static int start_doors(struct node *node) {
    int result = STOA_OK;
    if (node->members.count > 0) {
        result = start_replica(node);
    }
    if (result == STOA_OK) {
        result = start_server(node);
    }
    if (result == STOA_OK) {
        result = start_geomys(node);
    }
    if (result == STOA_OK) {
        result = start_multiverse9(node);
    }
    if (result == STOA_OK) {
        result = start_http(node);
    }
    if (result != STOA_OK) {
        stop_doors(node);
    }
    return result;
}

/* Runs the loop with the engine open until a signal stops it, then closes the engine. */
static int serve(struct node *node) {
    int status = STOA_BIN_EXIT_OK;
    if (node->join != NULL) {
        status = stoa_bin_join(&node->config, node->join, &node->joining);
    }
    if (status == STOA_BIN_EXIT_OK) {
        status = read_group_config(node);
    }
    if (status == STOA_BIN_EXIT_OK) {
        status = open_engine(node);
    }
    if (status != STOA_BIN_EXIT_OK) {
        return status;
    }
    int result = node->env->ops->timer_create(node->env, on_tick, node, &node->tick_timer);
    if (result == STOA_OK) {
        node->env->ops->timer_start(node->tick_timer, TICK_MS, TICK_MS);
        result = stoa_os_signals_start(&node->signals, &node->loop, on_signal, node);
        if (result != STOA_OK) {
            node->env->ops->timer_close(node->tick_timer, NULL, NULL);
        }
    }
    if (result == STOA_OK) {
        result = start_doors(node);
        if (result != STOA_OK) {
            stoa_os_signals_close(&node->signals, NULL, NULL);
            node->env->ops->timer_close(node->tick_timer, NULL, NULL);
        }
    }
    if (result == STOA_OK) {
        log_started(node);
    } else {
        STOA_LOG_ERROR(&node->log, "bin", "cannot start the node", STOA_FIELD_ERR(result));
        status = STOA_BIN_EXIT_FAILURE;
    }
    /* Returns once every handle is closed, a background snapshot included. */
    int64_t spin_us = node->config.loop_busy_poll_micros;
    if (spin_us < 0) {
        spin_us = node->replica != NULL ? 0 : LOOP_BUSY_POLL_US_SINGLE;
    }
    run_loop(node, spin_us * 1000);
    stoa_engine_close(node->engine);
    stoa_redis_backend_close(node->redis);
    node->redis = NULL;
    if (status == STOA_BIN_EXIT_OK) {
        STOA_LOG_INFO(&node->log, "bin", "stopped");
    }
    return status;
}

static int run_node(struct node *node) {
    int result = uv_loop_init(&node->loop);
    if (result != 0) {
        STOA_LOG_ERROR(&node->log, "bin", "cannot start the event loop",
                       STOA_FIELD_ERR(stoa_os_err_from_uv(result)));
        return STOA_BIN_EXIT_FAILURE;
    }
    int status = STOA_BIN_EXIT_FAILURE;
    result = stoa_os_env_init(&node->os_env, &node->loop);
    if (result == STOA_OK) {
        node->env = stoa_os_env_get(&node->os_env);
        status = open_data_dir(node);
        if (status == STOA_BIN_EXIT_OK) {
            status = serve(node);
            stoa_os_dir_lock_release(&node->lock);
        }
        stoa_os_env_deinit(&node->os_env);
    }
    STOA_ASSERT(uv_loop_close(&node->loop) == 0);
    return status;
}

int stoa_bin_start(int argc, char **argv) {
    char **config_flags = stoa_calloc((size_t)argc + 1, sizeof(char *));
    if (config_flags == NULL) {
        fprintf(stderr, "stoa start: %s\n", stoa_err_message(STOA_ERR_NOMEM));
        return STOA_BIN_EXIT_FAILURE;
    }
    struct start_options options = {.config_flags = config_flags};
    int status = parse_options(argc, argv, &options);
    static struct node node;
    if (status == STOA_BIN_EXIT_OK) {
        status = load_config(&options, &node.config);
    }
    if (status == STOA_BIN_EXIT_OK && options.check_config) {
        status = print_config(&node.config);
    } else if (status == STOA_BIN_EXIT_OK) {
        node.join = options.join;
        setup_log(&node);
        status = run_node(&node);
    }
    stoa_free(config_flags);
    return status < 0 ? STOA_BIN_EXIT_OK : status;
}
