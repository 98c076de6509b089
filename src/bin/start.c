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

#include "bin/bin.h"
#include "bin/data_dir.h"
#include "os/dir_lock.h"
#include "os/env_uv.h"
#include "os/os.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "engine/engine.h"
#include "server/geomys_server.h"
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
    struct stoa_env_timer *tick_timer;
    bool stopping;
};

/* The engine's periodic work (expiry, everysec sync, snapshot trigger) runs this often; at
 * most EXPIRE_PER_TICK expired keys are reclaimed per tick. */
#define TICK_MS 100
#define EXPIRE_PER_TICK 1000

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
    if (node->server != NULL) {
        stoa_server_stop(node->server, NULL, NULL);
        node->server = NULL;
    }
    if (node->geomys != NULL) {
        stoa_geomys_server_stop(node->geomys, NULL, NULL);
        node->geomys = NULL;
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
    stoa_geomys_server_address(node->geomys, &address);
    char geomys_address[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(&address, geomys_address);
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
        STOA_FIELD_STR("geomys", geomys_address));
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
    struct stoa_engine_error error;
    int result = stoa_engine_open(node->env, &options, &node->engine, &error);
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin", "cannot open the engine",
                       STOA_FIELD_STR("detail", error.message), STOA_FIELD_ERR(result));
        return STOA_BIN_EXIT_FAILURE;
    }
    return STOA_BIN_EXIT_OK;
}

static void on_tick(void *context) {
    struct node *node = context;
    (void)stoa_engine_tick(node->engine, stoa_env_real_ms(node->env), EXPIRE_PER_TICK);
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
        .shutdown_context = node};
    int result = stoa_address_parse_host(config->listen_host, strlen(config->listen_host),
                                         (uint16_t)config->listen_resp_port, &options.address);
    if (result != STOA_OK) {
        STOA_LOG_ERROR(&node->log, "bin", "listen.host is not a numeric address",
                       STOA_FIELD_STR("host", config->listen_host));
        return result;
    }
    result = stoa_server_start(node->env, node->engine, &options, &node->server);
    if (result != STOA_OK) {
        char text[STOA_ADDRESS_TEXT_BYTES_MAX];
        stoa_address_format(&options.address, text);
        STOA_LOG_ERROR(&node->log, "bin", "cannot listen for RESP clients",
                       STOA_FIELD_STR("address", text), STOA_FIELD_ERR(result));
        return result;
    }
    return STOA_OK;
}

/* Starts the Geomys front door on listen.host:listen.geomys.port, with the RESP door's client
 * limits and password (docs/protocols/geomys.md). */
static int start_geomys(struct node *node) {
    const struct stoa_config *config = &node->config;
    struct stoa_geomys_server_options options = {.clients_max = (size_t)config->resp_max_clients,
                                                 .output_bytes_max =
                                                     (size_t)config->resp_output_buffer_bytes,
                                                 .password = config->resp_password,
                                                 .log = &node->log};
    int result = stoa_address_parse_host(config->listen_host, strlen(config->listen_host),
                                         (uint16_t)config->listen_geomys_port, &options.address);
    if (result == STOA_OK) {
        result = stoa_geomys_server_start(node->env, node->engine, &options, &node->geomys);
    }
    if (result != STOA_OK) {
        char text[STOA_ADDRESS_TEXT_BYTES_MAX];
        stoa_address_format(&options.address, text);
        STOA_LOG_ERROR(&node->log, "bin", "cannot listen for Geomys clients",
                       STOA_FIELD_STR("address", text), STOA_FIELD_ERR(result));
    }
    return result;
}

/* Runs the loop with the engine open until a signal stops it, then closes the engine. */
static int serve(struct node *node) {
    int status = open_engine(node);
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
        result = start_server(node);
        if (result == STOA_OK && (result = start_geomys(node)) != STOA_OK) {
            stoa_server_stop(node->server, NULL, NULL);
            node->server = NULL;
        }
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
    uv_run(&node->loop, UV_RUN_DEFAULT);
    stoa_engine_close(node->engine);
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
        setup_log(&node);
        status = run_node(&node);
    }
    stoa_free(config_flags);
    return status < 0 ? STOA_BIN_EXIT_OK : status;
}
