/* Shows that the config module builds a configuration from defaults, a YAML file, the
 * environment and flags in that order, refuses every kind of bad input with a message naming
 * the key and the source while leaving the config untouched, and that the default YAML and
 * docs/config.md are generated from the one schema table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "util/config.h"
#include "util/err.h"

#ifndef STOA_SOURCE_DIR
#error "the build passes STOA_SOURCE_DIR (cmake/tests.cmake)"
#endif

/* Room for any file stoa_config_write produces; static, it is too large for the stack. */
static char yaml_buffer[STOA_CONFIG_FILE_BYTES_MAX];

static int load_yaml(struct stoa_config *config, const char *yaml,
                     struct stoa_config_error *error) {
    return stoa_config_load_file(config, "c.yaml", yaml, strlen(yaml), error);
}

/* Copies entries into writable strings, as environ and argv are, and returns a
 * NULL-terminated array of them. */
#define STRINGS_MAX 12
static char string_storage[STRINGS_MAX][512];
static char *string_array[STRINGS_MAX + 1];

static char **strings(const char *const *entries, size_t count) {
    assert_true(count <= STRINGS_MAX);
    for (size_t i = 0; i < count; i++) {
        assert_true(strlen(entries[i]) < sizeof(string_storage[i]));
        snprintf(string_storage[i], sizeof(string_storage[i]), "%s", entries[i]);
        string_array[i] = string_storage[i];
    }
    string_array[count] = NULL;
    return string_array;
}

#define STRINGS(...)                                                                               \
    strings((const char *const[]){__VA_ARGS__},                                                    \
            sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void assert_value(const struct stoa_config *config, const char *key, const char *text) {
    char value[STOA_CONFIG_VALUE_BYTES_MAX];
    assert_int_equal(stoa_config_format_value(config, key, value, sizeof(value), NULL), STOA_OK);
    assert_string_equal(value, text);
}

/* True if two configs hold the same value for every key (compared as formatted text). */
static bool configs_equal(const struct stoa_config *a, const struct stoa_config *b) {
    static char text_a[STOA_CONFIG_VALUE_BYTES_MAX];
    static char text_b[STOA_CONFIG_VALUE_BYTES_MAX];
    for (size_t i = 0; i < stoa_config_key_count(); i++) {
        const char *name = stoa_config_key_at(i)->name;
        assert_int_equal(stoa_config_format_value(a, name, text_a, sizeof(text_a), NULL), 0);
        assert_int_equal(stoa_config_format_value(b, name, text_b, sizeof(text_b), NULL), 0);
        if (strcmp(text_a, text_b) != 0) {
            print_message("%s differs: \"%s\" and \"%s\"\n", name, text_a, text_b);
            return false;
        }
    }
    return true;
}

/* The defaults are the table's: Nomad's values, except safe modes and stoa's own keys. */
static void test_defaults(void **state) {
    (void)state;
    struct stoa_config config;
    stoa_config_defaults(&config);
    assert_string_equal(config.node_id, "");
    assert_int_equal(config.node_type, STOA_CONFIG_NODE_TYPE_PEER);
    assert_string_equal(config.node_peer_id, "");
    assert_int_equal(config.node_max_peers, 5);
    assert_false(config.node_group_migration);
    assert_false(config.node_group_voronoi_grouping);
    assert_int_equal(config.node_storage_replication_factor, 3);
    assert_int_equal(config.node_storage_storage_mode, STOA_CONFIG_STORAGE_MODE_SAFE);
    assert_int_equal(config.node_storage_retrieval_mode, STOA_CONFIG_RETRIEVAL_MODE_SAFE);
    assert_string_equal(config.node_network_hostnames_peer_server, "");
    assert_string_equal(config.node_network_hostnames_group_storage_server, "");
    assert_true(config.node_world_width == 10.0 && config.node_world_height == 10.0);
    assert_int_equal(config.schedule_health_check_ms, 20000);
    assert_int_equal(config.schedule_dht_bootstrap_ms, 500000);
    assert_int_equal(config.schedule_db_cleanup_ms, 60000);
    assert_int_equal(config.schedule_ledger_cleanup_ms, 60000);
    assert_int_equal(config.schedule_repair_ms, 6000000);
    assert_int_equal(config.schedule_update_position_ms, 10000);
    assert_int_equal(config.bootstrap_discovery_window_ms, 5000);
    assert_int_equal(config.bootstrap_election_timeout_ms, 10000);
    assert_int_equal(config.bootstrap_provisional_poll_interval_ms, 30000);
    assert_string_equal(config.data_dir, "./data");
    assert_int_equal(config.data_durability, STOA_CONFIG_DURABILITY_ALWAYS);
    assert_string_equal(config.listen_host, "127.0.0.1");
    assert_int_equal(config.listen_resp_port, 7379);
    assert_int_equal(config.listen_http_port, 7380);
    assert_int_equal(config.listen_grpc_port, 7381);
    assert_int_equal(config.listen_peer_port, 7382);
    assert_int_equal(config.listen_geomys_port, 7383);
    assert_int_equal(config.listen_multiverse9_port, 7384);
    assert_int_equal(config.listen_overlay_port, 7385);
    assert_int_equal(config.log_level, STOA_CONFIG_LOG_LEVEL_INFO);
}

/* Key names and environment names are unique, short enough, and no deeper than the file
 * reader's nesting limit; every key has a doc; lookups find every key and nothing else. */
static void test_schema_is_sound(void **state) {
    (void)state;
    size_t count = stoa_config_key_count();
    assert_true(count >= 35);
    for (size_t i = 0; i < count; i++) {
        const struct stoa_config_key *key = stoa_config_key_at(i);
        assert_true(strlen(key->name) < STOA_CONFIG_KEY_BYTES_MAX);
        assert_true(strlen(key->doc) > 10);
        assert_null(strchr(key->doc, '|'));
        size_t parts = 1;
        for (const char *c = key->name; *c != '\0'; c++) {
            parts += *c == '.' ? 1 : 0;
        }
        assert_true(parts >= 2 && parts < STOA_CONFIG_DEPTH_MAX);
        assert_ptr_equal(stoa_config_key_find(key->name), key);
        char env_i[STOA_CONFIG_KEY_BYTES_MAX];
        stoa_config_env_name(key, env_i);
        for (size_t j = 0; j < i; j++) {
            char env_j[STOA_CONFIG_KEY_BYTES_MAX];
            stoa_config_env_name(stoa_config_key_at(j), env_j);
            assert_string_not_equal(key->name, stoa_config_key_at(j)->name);
            assert_string_not_equal(env_i, env_j);
        }
    }
    char env[STOA_CONFIG_KEY_BYTES_MAX];
    stoa_config_env_name(stoa_config_key_find("node.storage.replicationFactor"), env);
    assert_string_equal(env, "NODE_STORAGE_REPLICATIONFACTOR");
    assert_null(stoa_config_key_find("node.maxpeers"));
    assert_null(stoa_config_key_find("node"));
}

/* Nested mappings and dotted keys written flat, at the top or inside a section, all name
 * the same keys. */
static void test_file_nested_and_flat(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    const char *yaml = "# a comment\n"
                       "node:\n"
                       "  storage:\n"
                       "    replicationFactor: 5\n"
                       "  group.migration: true\n"
                       "  world:\n"
                       "    width: 20.5\n"
                       "node.maxPeers: 7\n"
                       "listen:\n"
                       "  resp.port: 0\n"
                       "schedule: {repair: 5m, healthCheck: 500ms}\n";
    assert_int_equal(load_yaml(&config, yaml, &error), STOA_OK);
    assert_string_equal(error.message, "");
    assert_int_equal(config.node_storage_replication_factor, 5);
    assert_true(config.node_group_migration);
    assert_true(config.node_world_width == 20.5);
    assert_int_equal(config.node_max_peers, 7);
    assert_int_equal(config.listen_resp_port, 0);
    assert_int_equal(config.schedule_repair_ms, 5 * 60 * 1000);
    assert_int_equal(config.schedule_health_check_ms, 500);
    /* Keys the file does not name keep their values. */
    assert_int_equal(config.listen_http_port, 7380);
}

/* Empty files, comment-only files, empty documents and empty sections change nothing. */
static void test_file_empty(void **state) {
    (void)state;
    const char *files[] = {"", "# only a comment\n", "---\n", "~\n", "node:\nlisten:\n  resp:\n"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct stoa_config config;
        struct stoa_config defaults;
        struct stoa_config_error error;
        stoa_config_defaults(&config);
        stoa_config_defaults(&defaults);
        assert_int_equal(load_yaml(&config, files[i], &error), STOA_OK);
        assert_true(configs_equal(&config, &defaults));
    }
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    assert_int_equal(stoa_config_load_file(&config, "c.yaml", NULL, 0, &error), STOA_OK);
}

/* Each type reads its forms: integers with a sign, numbers, the boolean words, enum words
 * in any case, durations in each unit (a bare number is seconds), quoted and empty strings. */
static void test_each_type(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    const char *yaml = "node:\n"
                       "  id: 'n-1 \"x\"'\n"
                       "  peerID: ~\n"
                       "  maxPeers: \"+12\"\n"
                       "  type: Super-Peer\n"
                       "  group: {migration: yes, voronoiGrouping: ON}\n"
                       "  world: {width: 1e3, height: 0.25}\n"
                       "  storage: {storageMode: fast, retrievalMode: parallel}\n"
                       "schedule: {dbCleanup: 2h, ledgerCleanup: 30, dhtBootstrap: 1ms}\n"
                       "data: {dir: /var/lib/stoa, durability: everysec}\n"
                       "listen.host: \"\"\n"
                       "log.level: debug\n";
    assert_int_equal(load_yaml(&config, yaml, &error), STOA_OK);
    assert_string_equal(config.node_id, "n-1 \"x\"");
    assert_string_equal(config.node_peer_id, "");
    assert_int_equal(config.node_max_peers, 12);
    assert_int_equal(config.node_type, STOA_CONFIG_NODE_TYPE_SUPER_PEER);
    assert_true(config.node_group_migration && config.node_group_voronoi_grouping);
    assert_true(config.node_world_width == 1000.0 && config.node_world_height == 0.25);
    assert_int_equal(config.node_storage_storage_mode, STOA_CONFIG_STORAGE_MODE_FAST);
    assert_int_equal(config.node_storage_retrieval_mode, STOA_CONFIG_RETRIEVAL_MODE_PARALLEL);
    assert_int_equal(config.schedule_db_cleanup_ms, 2 * 3600 * 1000);
    assert_int_equal(config.schedule_ledger_cleanup_ms, 30 * 1000);
    assert_int_equal(config.schedule_dht_bootstrap_ms, 1);
    assert_string_equal(config.data_dir, "/var/lib/stoa");
    assert_int_equal(config.data_durability, STOA_CONFIG_DURABILITY_EVERYSEC);
    assert_string_equal(config.listen_host, "");
    assert_int_equal(config.log_level, STOA_CONFIG_LOG_LEVEL_DEBUG);
    const char *off = "node.group: {migration: Off, voronoiGrouping: 0}\n";
    assert_int_equal(load_yaml(&config, off, &error), STOA_OK);
    assert_false(config.node_group_migration || config.node_group_voronoi_grouping);
}

/* Each source overrides the one below it: file < environment < flags; a STOA_ variable
 * beats the unprefixed one whatever their order, and a shadowed unprefixed value is not
 * even read. */
static void test_precedence(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    const char *yaml = "node: {maxPeers: 7, storage: {replicationFactor: 4}}\n"
                       "log.level: warn\nlisten.resp.port: 1000\n";
    assert_int_equal(load_yaml(&config, yaml, &error), STOA_OK);
    char **envp = STRINGS("STOA_NODE_MAXPEERS=9", "NODE_MAXPEERS=8", "LOG_LEVEL=error",
                          "NODE_STORAGE_REPLICATIONFACTOR=bogus",
                          "STOA_NODE_STORAGE_REPLICATIONFACTOR=5", "LISTEN_RESP_PORT=2000");
    assert_int_equal(stoa_config_load_env(&config, envp, &error), STOA_OK);
    assert_int_equal(config.node_max_peers, 9);
    assert_int_equal(config.node_storage_replication_factor, 5);
    assert_int_equal(config.log_level, STOA_CONFIG_LOG_LEVEL_ERROR);
    assert_int_equal(config.listen_resp_port, 2000);
    char **argv = STRINGS("--node.maxPeers=10", "--listen.resp.port", "3000");
    assert_int_equal(stoa_config_load_flags(&config, 3, argv, &error), STOA_OK);
    assert_int_equal(config.node_max_peers, 10);
    assert_int_equal(config.listen_resp_port, 3000);
    assert_int_equal(config.node_storage_replication_factor, 5);
    assert_int_equal(config.log_level, STOA_CONFIG_LOG_LEVEL_ERROR);
}

/* Variables that name no key are ignored, and so are names in another case or without a
 * value: the environment belongs to the whole process, not to stoa. */
static void test_env_ignores_others(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config defaults;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    stoa_config_defaults(&defaults);
    char **envp = STRINGS("PATH=/usr/bin", "STOA_BIN=/x/stoa", "NODE_BOGUS=1", "node_maxpeers=9",
                          "NODE_MAXPEERS", "STOA_=1", "STOA_NODE=2");
    assert_int_equal(stoa_config_load_env(&config, envp, &error), STOA_OK);
    assert_true(configs_equal(&config, &defaults));
}

/* Flags take "=value" or the next argument; the later of two flags wins; "=" alone sets an
 * empty string; a value may start with one dash. */
static void test_flag_forms(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    char **argv = STRINGS("--node.id", "a=b", "--data.dir=/d", "--node.maxPeers=3",
                          "--node.maxPeers", "4", "--listen.host=", "--node.peerID", "-p");
    assert_int_equal(stoa_config_load_flags(&config, 9, argv, &error), STOA_OK);
    assert_string_equal(config.node_id, "a=b");
    assert_string_equal(config.data_dir, "/d");
    assert_int_equal(config.node_max_peers, 4);
    assert_string_equal(config.listen_host, "");
    assert_string_equal(config.node_peer_id, "-p");
    assert_int_equal(stoa_config_load_flags(&config, 0, NULL, &error), STOA_OK);
}

/* Each wrong value is refused with a message naming the file, the line, the key, what was
 * expected and what was found. */
static void test_file_value_errors(void **state) {
    (void)state;
    struct {
        const char *yaml;
        const char *message;
    } cases[] = {
        {"node:\n  maxPeers: abc\n",
         "c.yaml:2: node.maxPeers: expected an integer in 1..1000, got \"abc\""},
        {"node.maxPeers: 1001\n",
         "c.yaml:1: node.maxPeers: expected an integer in 1..1000, got \"1001\""},
        {"node.maxPeers: 99999999999999999999\n",
         "c.yaml:1: node.maxPeers: expected an integer in 1..1000, got "
         "\"99999999999999999999\""},
        {"node.maxPeers: ' 5'\n",
         "c.yaml:1: node.maxPeers: expected an integer in 1..1000, got \" 5\""},
        {"node.maxPeers: 5x\n",
         "c.yaml:1: node.maxPeers: expected an integer in 1..1000, got \"5x\""},
        {"node:\n  storage:\n    storageMode: slow\n",
         "c.yaml:3: node.storage.storageMode: expected fast or safe, got \"slow\""},
        {"node.storage.retrievalMode: ''\n",
         "c.yaml:1: node.storage.retrievalMode: expected fast, safe or parallel, got \"\""},
        {"node.group.migration: maybe\n",
         "c.yaml:1: node.group.migration: expected true or false, got \"maybe\""},
        {"node.world.width: 0\n", "c.yaml:1: node.world.width: expected a number greater "
                                  "than 0 and at most 1000000000, got \"0\""},
        {"node.world.height: nan\n", "c.yaml:1: node.world.height: expected a number greater "
                                     "than 0 and at most 1000000000, got \"nan\""},
        {"schedule.repair: 20x\n", "c.yaml:1: schedule.repair: expected a duration in "
                                   "1ms..720h (such as 500ms, 20s, 5m or 1h), got \"20x\""},
        {"schedule.repair: 0s\n", "c.yaml:1: schedule.repair: expected a duration in "
                                  "1ms..720h (such as 500ms, 20s, 5m or 1h), got \"0s\""},
        {"schedule.repair: 721h\n", "c.yaml:1: schedule.repair: expected a duration in "
                                    "1ms..720h (such as 500ms, 20s, 5m or 1h), got \"721h\""},
        {"listen.resp.port: -1\n",
         "c.yaml:1: listen.resp.port: expected an integer in 0..65535, got \"-1\""},
        {"node.id: \"a\\tb\"\n",
         "c.yaml:1: node.id: expected text without control characters, got \"a\\x09b\""},
        {"node.id: "
         "x2345678901234567890123456789012345678901234567890123456789012345\n",
         "c.yaml:1: node.id: expected text of at most 64 bytes, got 65 bytes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stoa_config config;
        struct stoa_config_error error;
        stoa_config_defaults(&config);
        assert_int_equal(load_yaml(&config, cases[i].yaml, &error), STOA_ERR_CONFIG);
        assert_string_equal(error.message, cases[i].message);
    }
}

/* Unknown keys, sequences, mappings where a value belongs, duplicates, aliases, more than
 * one document, a bad top level, YAML syntax errors and oversized files are refused. */
static void test_file_shape_errors(void **state) {
    (void)state;
    struct {
        const char *yaml;
        const char *message;
    } cases[] = {
        {"node:\n  bogus: 1\n", "c.yaml:2: node.bogus: unknown key"},
        {"Node.maxPeers: 1\n", "c.yaml:1: Node.maxPeers: unknown key"},
        {"bogus:\n  a: 1\n", "c.yaml:1: bogus: unknown key"},
        {"node:\n  maxPeers: [1, 2]\n",
         "c.yaml:2: node.maxPeers: expected a single value, got a sequence"},
        {"node:\n  maxPeers:\n    - 1\n",
         "c.yaml:3: node.maxPeers: expected a single value, got a sequence"},
        {"node: [1]\n", "c.yaml:1: node: expected a mapping of its keys, got a sequence"},
        {"node: 5\n", "c.yaml:1: node: expected a mapping of its keys, got \"5\""},
        {"node:\n  maxPeers: {a: 1}\n",
         "c.yaml:2: node.maxPeers: expected a single value, got a mapping"},
        {"node:\n  maxPeers: 5\nnode.maxPeers: 6\n",
         "c.yaml:3: node.maxPeers: duplicate key (first at line 2)"},
        {"node:\n  maxPeers: 5\n  maxPeers: 5\n",
         "c.yaml:3: node.maxPeers: duplicate key (first at line 2)"},
        {"node:\n  id: a\nnode:\n  type: peer\n",
         "c.yaml:3: node: duplicate key (first at line 1)"},
        {"node.id: &a x\nnode.peerID: *a\n", "c.yaml:2: YAML aliases (*name) are not supported"},
        {"node.id: a\n---\nnode.id: b\n", "c.yaml:2: more than one YAML document"},
        {"- 1\n", "c.yaml:1: expected a mapping of keys, got a sequence"},
        {"hello\n", "c.yaml:1: expected a mapping of keys, got \"hello\""},
        {"? [a]\n: 1\n", "c.yaml:1: expected a key, got a sequence"},
        {"node:\n  maxPeers: 5\n id: x\n",
         "c.yaml:3: YAML syntax error at column 2: did not find expected key (while parsing a "
         "block mapping that starts at line 1)"},
        {"node: \"abc\n", "c.yaml:2: YAML syntax error at column 1: found unexpected end of "
                          "stream (while scanning a quoted scalar that starts at line 1)"},
        {"node: maxPeers: 5\n", "c.yaml:1: node: expected a mapping of its keys, got "
                                "\"maxPeers\""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stoa_config config;
        struct stoa_config_error error;
        stoa_config_defaults(&config);
        assert_int_equal(load_yaml(&config, cases[i].yaml, &error), STOA_ERR_CONFIG);
        assert_string_equal(error.message, cases[i].message);
    }
}

/* A file over STOA_CONFIG_FILE_BYTES_MAX is refused before it is parsed; one at the limit
 * is read. */
static void test_file_too_large(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    memset(yaml_buffer, '#', sizeof(yaml_buffer));
    yaml_buffer[sizeof(yaml_buffer) - 1] = '\n';
    assert_int_equal(
        stoa_config_load_file(&config, "big.yaml", yaml_buffer, sizeof(yaml_buffer), &error),
        STOA_OK);
    char *bigger = test_malloc(sizeof(yaml_buffer) + 1);
    memcpy(bigger, yaml_buffer, sizeof(yaml_buffer));
    bigger[sizeof(yaml_buffer)] = '\n';
    assert_int_equal(
        stoa_config_load_file(&config, "big.yaml", bigger, sizeof(yaml_buffer) + 1, &error),
        STOA_ERR_CONFIG);
    assert_string_equal(
        error.message, "big.yaml: the file is 1048577 bytes, more than the limit of 1048576 bytes");
    test_free(bigger);
}

/* Bad environment values are refused naming the variable as it was written. */
static void test_env_errors(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    char **envp = STRINGS("NODE_MAXPEERS=abc");
    assert_int_equal(stoa_config_load_env(&config, envp, &error), STOA_ERR_CONFIG);
    assert_string_equal(error.message,
                        "environment NODE_MAXPEERS: expected an integer in 1..1000, got \"abc\"");
    envp = STRINGS("STOA_NODE_STORAGE_STORAGEMODE=slow", "NODE_STORAGE_STORAGEMODE=fast");
    assert_int_equal(stoa_config_load_env(&config, envp, &error), STOA_ERR_CONFIG);
    assert_string_equal(error.message, "environment STOA_NODE_STORAGE_STORAGEMODE: expected "
                                       "fast or safe, got \"slow\"");
}

/* Bad flags are refused: wrong values, unknown keys, flags that are not config flags,
 * arguments that are not flags, and a flag without a value. */
static void test_flag_errors(void **state) {
    (void)state;
    struct {
        const char *argument;
        const char *next;
        const char *message;
    } cases[] = {
        {"--node.maxPeers=abc", NULL,
         "flag --node.maxPeers: expected an integer in 1..1000, got \"abc\""},
        {"--node.maxPeers", "abc",
         "flag --node.maxPeers: expected an integer in 1..1000, got \"abc\""},
        {"--bogus=1", NULL,
         "flag --bogus: unknown flag (config flags look like --node.maxPeers=7)"},
        {"--node.bogus=1", NULL, "flag --node.bogus: unknown key"},
        {"--node.maxpeers=1", NULL, "flag --node.maxpeers: unknown key"},
        {"start", NULL, "argument \"start\": not a config flag (they look like --node.maxPeers=7)"},
        {"--node.maxPeers", NULL,
         "flag --node.maxPeers: missing value (write --node.maxPeers=value or --node.maxPeers "
         "value)"},
        {"--node.maxPeers", "--node.id=x",
         "flag --node.maxPeers: missing value (write --node.maxPeers=value or --node.maxPeers "
         "value)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stoa_config config;
        struct stoa_config_error error;
        stoa_config_defaults(&config);
        char **argv = cases[i].next != NULL ? STRINGS(cases[i].argument, cases[i].next)
                                            : STRINGS(cases[i].argument);
        int argc = cases[i].next != NULL ? 2 : 1;
        assert_int_equal(stoa_config_load_flags(&config, argc, argv, &error), STOA_ERR_CONFIG);
        assert_string_equal(error.message, cases[i].message);
    }
}

/* A load that fails part-way applies nothing, even the keys before the bad one. */
static void test_nothing_applied_on_error(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config before;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    assert_int_equal(stoa_config_set(&config, "node.id", "keep", NULL, &error), STOA_OK);
    before = config;
    const char *yaml = "node.maxPeers: 9\nnode.id: changed\nlog.level: loud\n";
    assert_int_equal(load_yaml(&config, yaml, &error), STOA_ERR_CONFIG);
    assert_true(configs_equal(&config, &before));
    assert_int_equal(load_yaml(&config, "node.maxPeers: 9\nnode: [\n", &error), STOA_ERR_CONFIG);
    assert_true(configs_equal(&config, &before));
    char **envp = STRINGS("NODE_ID=changed", "NODE_MAXPEERS=9", "LOG_LEVEL=loud");
    assert_int_equal(stoa_config_load_env(&config, envp, &error), STOA_ERR_CONFIG);
    assert_true(configs_equal(&config, &before));
    char **argv = STRINGS("--node.id=changed", "--node.maxPeers=9", "--bogus");
    assert_int_equal(stoa_config_load_flags(&config, 3, argv, &error), STOA_ERR_CONFIG);
    assert_true(configs_equal(&config, &before));
    assert_int_equal(stoa_config_set(&config, "node.maxPeers", "0", NULL, &error), STOA_ERR_CONFIG);
    assert_true(configs_equal(&config, &before));
    assert_string_equal(config.node_id, "keep");
}

/* stoa_config_set names its source and the key; an unknown key is an error. */
static void test_set(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    assert_int_equal(stoa_config_set(&config, "schedule.repair", "90s", "CONFIG SET", &error),
                     STOA_OK);
    assert_int_equal(config.schedule_repair_ms, 90000);
    assert_string_equal(error.message, "");
    assert_int_equal(stoa_config_set(&config, "schedule.repair", "x", "CONFIG SET", &error),
                     STOA_ERR_CONFIG);
    assert_string_equal(error.message, "CONFIG SET: schedule.repair: expected a duration in "
                                       "1ms..720h (such as 500ms, 20s, 5m or 1h), got \"x\"");
    assert_int_equal(stoa_config_set(&config, "no.such", "1", NULL, &error), STOA_ERR_CONFIG);
    assert_string_equal(error.message, "no.such: unknown key");
}

/* Values format as text the parser reads back; a short buffer or an unknown key is an
 * error that leaves the buffer alone. */
static void test_format_value(void **state) {
    (void)state;
    struct stoa_config config;
    stoa_config_defaults(&config);
    assert_value(&config, "schedule.healthCheck", "20s");
    assert_value(&config, "schedule.repair", "6000s");
    assert_value(&config, "schedule.dbCleanup", "60s");
    assert_value(&config, "schedule.dhtBootstrap", "500s");
    assert_value(&config, "node.storage.storageMode", "safe");
    assert_value(&config, "node.world.width", "10.0");
    assert_value(&config, "node.group.migration", "false");
    assert_value(&config, "listen.host", "127.0.0.1");
    assert_value(&config, "node.maxPeers", "5");
    config.node_world_height = 0.1;
    assert_value(&config, "node.world.height", "0.1");
    config.schedule_repair_ms = 1500;
    assert_value(&config, "schedule.repair", "1500ms");
    config.schedule_repair_ms = 90 * 60 * 1000;
    assert_value(&config, "schedule.repair", "90m");
    config.schedule_repair_ms = 3 * 3600 * 1000;
    assert_value(&config, "schedule.repair", "3h");
    char text[4] = "abc";
    size_t length = 99;
    assert_int_equal(stoa_config_format_value(&config, "listen.host", text, sizeof(text), &length),
                     STOA_ERR_TOO_LARGE);
    assert_string_equal(text, "abc");
    assert_int_equal(length, 99);
    assert_int_equal(stoa_config_format_value(&config, "nope", text, sizeof(text), &length),
                     STOA_ERR_NOT_FOUND);
    assert_int_equal(
        stoa_config_format_value(&config, "node.maxPeers", text, sizeof(text), &length), STOA_OK);
    assert_string_equal(text, "5");
    assert_int_equal(length, 1);
}

/* The default YAML lists every key with its doc and environment name, and reads back to
 * exactly the defaults, whatever the config held before. */
static void test_default_yaml_round_trip(void **state) {
    (void)state;
    size_t length = 0;
    assert_int_equal(stoa_config_write_default(yaml_buffer, sizeof(yaml_buffer), &length), STOA_OK);
    assert_int_equal(strlen(yaml_buffer), length);
    for (size_t i = 0; i < stoa_config_key_count(); i++) {
        const struct stoa_config_key *key = stoa_config_key_at(i);
        char env[STOA_CONFIG_KEY_BYTES_MAX];
        stoa_config_env_name(key, env);
        assert_non_null(strstr(yaml_buffer, env));
        assert_non_null(strstr(yaml_buffer, strrchr(key->name, '.') + 1));
    }
    struct stoa_config config;
    struct stoa_config defaults;
    struct stoa_config_error error;
    stoa_config_defaults(&defaults);
    stoa_config_defaults(&config);
    char **argv = STRINGS("--node.maxPeers=9", "--node.id=other", "--node.world.width=3",
                          "--schedule.repair=1ms", "--log.level=error", "--node.group.migration=1");
    assert_int_equal(stoa_config_load_flags(&config, 6, argv, &error), STOA_OK);
    assert_int_equal(config.node_max_peers, 9);
    assert_int_equal(stoa_config_load_file(&config, "default.yaml", yaml_buffer, length, &error),
                     STOA_OK);
    assert_true(configs_equal(&config, &defaults));
}

/* A config holding a value other than the default for every key, including strings that
 * need quoting in YAML, writes out and reads back to itself. */
static void test_yaml_round_trip_of_every_key(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    for (size_t i = 0; i < stoa_config_key_count(); i++) {
        const struct stoa_config_key *key = stoa_config_key_at(i);
        const char *value = NULL;
        char number[32];
        switch (key->type) {
        case STOA_CONFIG_INT:
            /* One above the minimum: inside every range, and off most defaults. */
            snprintf(number, sizeof(number), "%lld", (long long)key->integer_min + 1);
            value = number;
            break;
        case STOA_CONFIG_DOUBLE:
            value = "0.30000000000000004";
            break;
        case STOA_CONFIG_BOOL:
            value = "true";
            break;
        case STOA_CONFIG_STRING:
            value = "a \"quoted\" \\ value: #not a comment";
            /* The member list has a grammar of its own (util/member_list.h). */
            if (strcmp(key->name, "cluster.members") == 0) {
                value = "1=127.0.0.1:7382, 2=[::1]:7392";
            }
            break;
        case STOA_CONFIG_ENUM:
            value = key->words[key->word_count - 1];
            break;
        case STOA_CONFIG_DURATION:
            value = "1h";
            if (key->integer_max < 3600 * 1000) {
                snprintf(number, sizeof(number), "%lldms", (long long)key->integer_min + 1);
                value = number;
            }
            break;
        }
        assert_int_equal(stoa_config_set(&config, key->name, value, NULL, &error), STOA_OK);
    }
    size_t length = 0;
    assert_int_equal(stoa_config_write(&config, yaml_buffer, sizeof(yaml_buffer), &length),
                     STOA_OK);
    struct stoa_config loaded;
    stoa_config_defaults(&loaded);
    assert_int_equal(stoa_config_load_file(&loaded, "all.yaml", yaml_buffer, length, &error),
                     STOA_OK);
    assert_true(configs_equal(&loaded, &config));
    assert_true(loaded.node_world_width == 0.30000000000000004);
}

/* Writing into a buffer that is too small fails and leaves the length alone. */
static void test_write_too_small(void **state) {
    (void)state;
    char small[256];
    size_t length = 7;
    assert_int_equal(stoa_config_write_default(small, sizeof(small), &length), STOA_ERR_TOO_LARGE);
    assert_int_equal(length, 7);
    assert_int_equal(stoa_config_write_reference(small, sizeof(small), &length),
                     STOA_ERR_TOO_LARGE);
    assert_int_equal(length, 7);
}

/* docs/config.md holds the reference table generated from the schema, so it names every
 * key with its type, default, range and environment variable, and cannot drift. */
static void test_docs_match_schema(void **state) {
    (void)state;
    static char docs[256 * 1024];
    FILE *file = fopen(STOA_SOURCE_DIR "/docs/config.md", "rb");
    assert_non_null(file);
    size_t docs_length = fread(docs, 1, sizeof(docs) - 1, file);
    fclose(file);
    assert_true(docs_length < sizeof(docs) - 1);
    docs[docs_length] = '\0';
    for (size_t i = 0; i < stoa_config_key_count(); i++) {
        const char *name = stoa_config_key_at(i)->name;
        char quoted[STOA_CONFIG_KEY_BYTES_MAX + 2];
        snprintf(quoted, sizeof(quoted), "`%s`", name);
        if (strstr(docs, quoted) == NULL) {
            fail_msg("docs/config.md does not mention %s", name);
        }
    }
    size_t length = 0;
    assert_int_equal(stoa_config_write_reference(yaml_buffer, sizeof(yaml_buffer), &length),
                     STOA_OK);
    if (strstr(docs, yaml_buffer) == NULL) {
        print_message("docs/config.md should contain this table, as generated:\n%s", yaml_buffer);
        fail_msg("docs/config.md is out of date with src/util/config_keys.h");
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_schema_is_sound),
        cmocka_unit_test(test_file_nested_and_flat),
        cmocka_unit_test(test_file_empty),
        cmocka_unit_test(test_each_type),
        cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_env_ignores_others),
        cmocka_unit_test(test_flag_forms),
        cmocka_unit_test(test_file_value_errors),
        cmocka_unit_test(test_file_shape_errors),
        cmocka_unit_test(test_file_too_large),
        cmocka_unit_test(test_env_errors),
        cmocka_unit_test(test_flag_errors),
        cmocka_unit_test(test_nothing_applied_on_error),
        cmocka_unit_test(test_set),
        cmocka_unit_test(test_format_value),
        cmocka_unit_test(test_default_yaml_round_trip),
        cmocka_unit_test(test_yaml_round_trip_of_every_key),
        cmocka_unit_test(test_write_too_small),
        cmocka_unit_test(test_docs_match_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
