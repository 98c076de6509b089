/*
 * `stoa setup --redis-uri=URI`: what multiverse9's `setup --redis-uri` did, for stoa. It
 * prints the complete config file (every key, commented, as `stoa setup` does) with the
 * settings multiverse9's generated file carried: the Redis to keep the data in
 * (data.backend redis, data.redisUri), and a node name multiverse9_<ULID>
 * (multiverse9.name). Like multiverse9's, it checks the URI and does not connect to it.
 */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "backend/redis_backend.h"
#include "bin/bin.h"
#include "os/env_uv.h"
#include "util/alloc.h"
#include "util/config.h"
#include "util/err.h"
#include "util/ulid.h"

static int usage(const char *message) {
    fprintf(stderr, "stoa setup: %s\n", message);
    return STOA_BIN_EXIT_USAGE;
}

/* A fresh ULID from the real clock and random bytes, through a short-lived env. */
static int make_ulid(char text[STOA_ULID_TEXT_LENGTH + 1]) {
    uv_loop_t loop;
    if (uv_loop_init(&loop) != 0) {
        return STOA_ERR_IO;
    }
    struct stoa_os_env os;
    int result = stoa_os_env_init(&os, &loop);
    if (result == STOA_OK) {
        struct stoa_env *env = stoa_os_env_get(&os);
        uint8_t random[STOA_ULID_RANDOM_BYTES];
        stoa_env_random_bytes(env, random, sizeof(random));
        struct stoa_ulid ulid;
        result = stoa_ulid_make(stoa_env_real_ms(env), random, &ulid);
        if (result == STOA_OK) {
            stoa_ulid_encode(&ulid, text);
        }
        stoa_os_env_deinit(&os);
    }
    (void)uv_loop_close(&loop);
    return result;
}

static int print(const struct stoa_config *config) {
    char *text = stoa_alloc(STOA_CONFIG_FILE_BYTES_MAX);
    if (text == NULL) {
        fprintf(stderr, "stoa setup: %s\n", stoa_err_message(STOA_ERR_NOMEM));
        return STOA_BIN_EXIT_FAILURE;
    }
    size_t length = 0;
    int result = stoa_config_write(config, text, STOA_CONFIG_FILE_BYTES_MAX, &length);
    if (result == STOA_OK) {
        fwrite(text, 1, length, stdout);
    } else {
        fprintf(stderr, "stoa setup: %s\n", stoa_err_message(result));
    }
    stoa_free(text);
    return result == STOA_OK ? STOA_BIN_EXIT_OK : STOA_BIN_EXIT_FAILURE;
}

int stoa_bin_setup_redis(int argc, char **argv) {
    const char *uri = NULL;
    if (argc == 1 && strncmp(argv[0], "--redis-uri=", 12) == 0) {
        uri = argv[0] + 12;
    } else if (argc == 2 && strcmp(argv[0], "--redis-uri") == 0) {
        uri = argv[1];
    } else {
        return usage("expected --redis-uri=URI and nothing else");
    }
    struct stoa_redis_uri parsed;
    if (stoa_redis_uri_parse(uri, &parsed) != STOA_OK) {
        return usage("--redis-uri: expected redis://[:password@]host[:port][/db] or "
                     "unix:///path");
    }
    char ulid[STOA_ULID_TEXT_LENGTH + 1];
    if (make_ulid(ulid) != STOA_OK) {
        fprintf(stderr, "stoa setup: cannot make a node name\n");
        return STOA_BIN_EXIT_FAILURE;
    }
    char name[STOA_ULID_TEXT_LENGTH + 16];
    snprintf(name, sizeof(name), "multiverse9_%s", ulid);
    static struct stoa_config config;
    stoa_config_defaults(&config);
    struct stoa_config_error error;
    if (stoa_config_set(&config, "data.backend", "redis", "--redis-uri", &error) != STOA_OK ||
        stoa_config_set(&config, "data.redisUri", uri, "--redis-uri", &error) != STOA_OK ||
        stoa_config_set(&config, "multiverse9.name", name, "setup", &error) != STOA_OK) {
        return usage(error.message);
    }
    return print(&config);
}
