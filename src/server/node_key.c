/* This node's Ed25519 key, kept in <data dir>/node.key (node_key.h). */
#include "server/node_key.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/base64.h"
#include "util/err.h"
#include "util/limits.h"

_Static_assert(crypto_sign_PUBLICKEYBYTES == STOA_NODE_KEY_PUBLIC_BYTES, "public key size");
_Static_assert(crypto_sign_SECRETKEYBYTES == STOA_NODE_KEY_SECRET_BYTES, "secret key size");
_Static_assert(crypto_sign_SEEDBYTES == STOA_NODE_KEY_SEED_BYTES, "seed size");
_Static_assert(crypto_sign_BYTES == STOA_NODE_KEY_SIGNATURE_BYTES, "signature size");

#define FILE_NAME "node.key"
/* The file: the seed in hex and a newline. */
#define FILE_BYTES (2 * STOA_NODE_KEY_SEED_BYTES + 1)
/* Standard base64 of 32 bytes: 44 characters with one '='. */
#define BASE64_LENGTH 44

static int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static int hex_decode(const char *text, size_t length, uint8_t *out, size_t out_length) {
    if (length != 2 * out_length) {
        return STOA_ERR_MALFORMED;
    }
    for (size_t i = 0; i < out_length; i++) {
        int high = hex_value(text[2 * i]);
        int low = hex_value(text[2 * i + 1]);
        if (high < 0 || low < 0) {
            return STOA_ERR_MALFORMED;
        }
        out[i] = (uint8_t)(high << 4 | low);
    }
    return STOA_OK;
}

static void hex_encode(const uint8_t *data, size_t length, char *text) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < length; i++) {
        text[2 * i] = digits[data[i] >> 4];
        text[2 * i + 1] = digits[data[i] & 15];
    }
    text[2 * length] = '\0';
}

void stoa_node_key_from_seed(const uint8_t seed[STOA_NODE_KEY_SEED_BYTES],
                             struct stoa_node_key *key) {
    STOA_ASSERT(sodium_init() >= 0);
    STOA_ASSERT(crypto_sign_seed_keypair(key->public_key, key->secret_key, seed) == 0);
}

static int path_of(const char *dir, const char *name, char path[STOA_PATH_BYTES_MAX]) {
    int length = snprintf(path, STOA_PATH_BYTES_MAX, "%s/%s", dir, name);
    return length < 0 || length >= STOA_PATH_BYTES_MAX ? STOA_ERR_TOO_LARGE : STOA_OK;
}

static int read_key(struct stoa_env *env, const char *path, struct stoa_node_key *key) {
    struct stoa_env_file *file = NULL;
    int result = env->ops->file_open(env, path, STOA_ENV_OPEN_READ, &file);
    if (result != STOA_OK) {
        return result;
    }
    char text[FILE_BYTES + 1]; /* one more, to tell "too long" from "just fits" */
    size_t length = 0;
    result = env->ops->file_pread(file, text, sizeof(text), 0, &length);
    env->ops->file_close(file);
    if (result != STOA_OK) {
        return result;
    }
    if (length > 0 && text[length - 1] == '\n') {
        length--;
    }
    uint8_t seed[STOA_NODE_KEY_SEED_BYTES];
    if (hex_decode(text, length, seed, sizeof(seed)) != STOA_OK) {
        return STOA_ERR_CORRUPT;
    }
    stoa_node_key_from_seed(seed, key);
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(text, sizeof(text));
    return STOA_OK;
}

/* Writes text to dir/node.key the durable way, owner-only from its creation. */
static int write_key_file(struct stoa_env *env, const char *dir, const char *text, size_t length) {
    char path[STOA_PATH_BYTES_MAX];
    char temporary[STOA_PATH_BYTES_MAX];
    int result = path_of(dir, FILE_NAME, path);
    if (result == STOA_OK) {
        result = path_of(dir, FILE_NAME ".tmp", temporary);
    }
    if (result != STOA_OK) {
        return result;
    }
    /* A temporary file left by a crash may have other permissions: make it afresh. */
    result = env->ops->unlink(env, temporary);
    if (result != STOA_OK && result != STOA_ERR_NOT_FOUND) {
        return result;
    }
    struct stoa_env_file *file = NULL;
    unsigned flags = STOA_ENV_OPEN_WRITE | STOA_ENV_OPEN_CREATE | STOA_ENV_OPEN_EXCLUSIVE |
                     STOA_ENV_OPEN_PRIVATE;
    result = env->ops->file_open(env, temporary, flags, &file);
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

static int create_key(struct stoa_env *env, const char *dir, struct stoa_node_key *key) {
    uint8_t seed[STOA_NODE_KEY_SEED_BYTES];
    stoa_env_random_bytes(env, seed, sizeof(seed));
    char text[FILE_BYTES + 1];
    hex_encode(seed, sizeof(seed), text);
    text[FILE_BYTES - 1] = '\n';
    int result = write_key_file(env, dir, text, FILE_BYTES);
    if (result == STOA_OK) {
        stoa_node_key_from_seed(seed, key);
    }
    sodium_memzero(seed, sizeof(seed));
    sodium_memzero(text, sizeof(text));
    return result;
}

int stoa_node_key_load(struct stoa_env *env, const char *dir, struct stoa_node_key *key,
                       bool *created) {
    STOA_ASSERT(env != NULL && dir != NULL && key != NULL && created != NULL);
    char path[STOA_PATH_BYTES_MAX];
    int result = path_of(dir, FILE_NAME, path);
    if (result != STOA_OK) {
        return result;
    }
    result = read_key(env, path, key);
    if (result != STOA_ERR_NOT_FOUND) {
        *created = false;
        return result;
    }
    result = create_key(env, dir, key);
    *created = result == STOA_OK;
    return result;
}

void stoa_node_key_sign(const struct stoa_node_key *key, const uint8_t *message, size_t length,
                        uint8_t signature[STOA_NODE_KEY_SIGNATURE_BYTES]) {
    STOA_ASSERT(crypto_sign_detached(signature, NULL, message, length, key->secret_key) == 0);
}

bool stoa_node_key_verify(const uint8_t public_key[STOA_NODE_KEY_PUBLIC_BYTES],
                          const uint8_t *message, size_t length,
                          const uint8_t signature[STOA_NODE_KEY_SIGNATURE_BYTES]) {
    return crypto_sign_verify_detached(signature, message, length, public_key) == 0;
}

int stoa_node_key_parse_public(const char *text, size_t length,
                               uint8_t public_key[STOA_NODE_KEY_PUBLIC_BYTES]) {
    uint8_t key[STOA_NODE_KEY_PUBLIC_BYTES];
    if (length == STOA_NODE_KEY_HEX_LENGTH) {
        if (hex_decode(text, length, key, sizeof(key)) != STOA_OK) {
            return STOA_ERR_MALFORMED;
        }
    } else if (length == BASE64_LENGTH) {
        size_t decoded = 0;
        if (stoa_base64_decode(text, length, STOA_BASE64_STANDARD, key, sizeof(key), &decoded) !=
                STOA_OK ||
            decoded != sizeof(key)) {
            return STOA_ERR_MALFORMED;
        }
    } else {
        return STOA_ERR_MALFORMED;
    }
    memcpy(public_key, key, sizeof(key));
    return STOA_OK;
}

void stoa_node_key_format_public(const uint8_t public_key[STOA_NODE_KEY_PUBLIC_BYTES],
                                 char text[STOA_NODE_KEY_HEX_LENGTH + 1]) {
    hex_encode(public_key, STOA_NODE_KEY_PUBLIC_BYTES, text);
}
