#include "bin/data_dir.h"

#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/err.h"
#include "util/ulid.h"

_Static_assert(STOA_ULID_TEXT_LENGTH <= STOA_NODE_ID_BYTES_MAX, "a ULID fits in a node id");

int stoa_bin_data_dir_create(struct stoa_env *env, const char *path) {
    STOA_ASSERT(env != NULL && path != NULL);
    size_t length = strlen(path);
    if (length == 0 || length >= STOA_PATH_BYTES_MAX) {
        return STOA_ERR_INVALID;
    }
    char prefix[STOA_PATH_BYTES_MAX];
    memcpy(prefix, path, length + 1);
    /* Create each parent in turn ("a", "a/b", "a/b/c"); existing ones are success. */
    for (size_t i = 1; i <= length; i++) {
        if (i < length && prefix[i] != '/') {
            continue;
        }
        char saved = prefix[i];
        prefix[i] = '\0';
        int result = env->ops->mkdir(env, prefix);
        prefix[i] = saved;
        if (result != STOA_OK) {
            return result;
        }
    }
    return STOA_OK;
}

static bool valid_id_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static int parse_id(const char *text, size_t length, char id[STOA_NODE_ID_BYTES_MAX + 1]) {
    if (length > 0 && text[length - 1] == '\n') {
        length--;
    }
    if (length == 0 || length > STOA_NODE_ID_BYTES_MAX) {
        return STOA_ERR_CORRUPT;
    }
    for (size_t i = 0; i < length; i++) {
        if (!valid_id_character(text[i])) {
            return STOA_ERR_CORRUPT;
        }
    }
    memcpy(id, text, length);
    id[length] = '\0';
    return STOA_OK;
}

static int read_id(struct stoa_env *env, const char *path, char id[STOA_NODE_ID_BYTES_MAX + 1]) {
    struct stoa_env_file *file = NULL;
    int result = env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file);
    if (result != STOA_OK) {
        return result;
    }
    /* One byte more than a valid file can hold, to tell "too long" from "just fits". */
    char text[STOA_NODE_ID_BYTES_MAX + 2];
    size_t length = 0;
    result = env->ops->file_pread(file, text, sizeof(text), 0, &length);
    env->ops->file_close(file);
    return result != STOA_OK ? result : parse_id(text, length, id);
}

static int write_file_durably(struct stoa_env *env, const char *dir, const char *name,
                              const char *text, size_t length) {
    char path[STOA_PATH_BYTES_MAX];
    char temporary[STOA_PATH_BYTES_MAX];
    int path_length = snprintf(path, sizeof(path), "%s/%s", dir, name);
    int temporary_length = snprintf(temporary, sizeof(temporary), "%s/%s.tmp", dir, name);
    if (path_length < 0 || (size_t)path_length >= sizeof(path) || temporary_length < 0 ||
        (size_t)temporary_length >= sizeof(temporary)) {
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_env_file *file = NULL;
    unsigned flags = STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_TRUNCATE;
    int result = env->ops->file_open(env, temporary, flags, &file);
    if (result != STOA_OK) {
        return result;
    }
    result = env->ops->file_pwrite(file, text, length, 0);
    if (result == STOA_OK) {
        result = env->ops->file_datasync(file);
    }
    env->ops->file_close(file);
    if (result == STOA_OK) {
        result = env->ops->rename(env, temporary, path);
    }
    if (result == STOA_OK) {
        result = env->ops->sync_dir(env, dir);
    }
    return result;
}

static int create_id(struct stoa_env *env, const char *dir, char id[STOA_NODE_ID_BYTES_MAX + 1]) {
    struct stoa_ulid_generator generator;
    stoa_ulid_generator_init(&generator);
    uint8_t random[STOA_ULID_RANDOM_BYTES];
    stoa_env_random_bytes(env, random, sizeof(random));
    struct stoa_ulid ulid;
    int result = stoa_ulid_generate(&generator, stoa_env_real_ms(env), random, &ulid);
    if (result != STOA_OK) {
        return result;
    }
    char text[STOA_ULID_TEXT_LENGTH + 2];
    stoa_ulid_encode(&ulid, text);
    text[STOA_ULID_TEXT_LENGTH] = '\n';
    result = write_file_durably(env, dir, "node.id", text, STOA_ULID_TEXT_LENGTH + 1);
    if (result == STOA_OK) {
        memcpy(id, text, STOA_ULID_TEXT_LENGTH);
        id[STOA_ULID_TEXT_LENGTH] = '\0';
    }
    return result;
}

int stoa_bin_node_id_load(struct stoa_env *env, const char *dir,
                          char id[STOA_NODE_ID_BYTES_MAX + 1], bool *created) {
    STOA_ASSERT(env != NULL && dir != NULL && id != NULL && created != NULL);
    char path[STOA_PATH_BYTES_MAX];
    int path_length = snprintf(path, sizeof(path), "%s/node.id", dir);
    if (path_length < 0 || (size_t)path_length >= sizeof(path)) {
        return STOA_ERR_TOO_LARGE;
    }
    int result = read_id(env, path, id);
    if (result != STOA_ERR_NOT_FOUND) {
        *created = false;
        return result;
    }
    result = create_id(env, dir, id);
    *created = result == STOA_OK;
    return result;
}
