/* The engine backend on an external Redis (redis_backend.h; docs/redis-backend.md). */
#include "backend/redis_backend.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "engine/value.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/number.h"

#define MODULE "redis"
/* A deque is written back with RPUSH in chunks of this many elements, inside one MULTI. */
#define PUSH_CHUNK 512
#define DEFAULT_PORT 6379

struct stoa_redis_backend {
    struct stoa_backend backend;
    redisContext *context; /* NULL when not connected */
    struct stoa_redis_uri uri;
    const struct stoa_log *log;
    struct stoa_value value;   /* the value last materialized (lookup, lookup_for_write) */
    int64_t write_expire_ms;   /* the expiry of the key of lookup_for_write */
    struct stoa_buf random_key; /* RANDOMKEY's answer, borrowed by the caller */
};

static struct stoa_redis_backend *self_of(struct stoa_backend *backend) {
    return backend->self;
}

/* ---- URI ---- */

static int parse_number(const char *text, size_t length, int min, int max, int *value) {
    int64_t number = 0;
    if (length == 0 || !stoa_number_parse_int64((const uint8_t *)text, length, &number) ||
        number < min || number > max) {
        return STOA_ERR_CONFIG;
    }
    *value = (int)number;
    return STOA_OK;
}

static int copy_text(char *out, const char *text, size_t length) {
    if (length > STOA_REDIS_URI_BYTES_MAX) {
        return STOA_ERR_CONFIG;
    }
    memcpy(out, text, length);
    out[length] = '\0';
    return STOA_OK;
}

int stoa_redis_uri_parse(const char *uri, struct stoa_redis_uri *parsed) {
    STOA_ASSERT(uri != NULL && parsed != NULL);
    struct stoa_redis_uri result = {.port = DEFAULT_PORT};
    if (strncmp(uri, "unix://", 7) == 0) {
        result.unix_socket = true;
        if (uri[7] == '\0' || copy_text(result.host, uri + 7, strlen(uri + 7)) != STOA_OK) {
            return STOA_ERR_CONFIG;
        }
        *parsed = result;
        return STOA_OK;
    }
    if (strncmp(uri, "redis://", 8) != 0) {
        return STOA_ERR_CONFIG;
    }
    const char *rest = uri + 8;
    const char *at = strrchr(rest, '@');
    if (at != NULL) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        const char *password = colon != NULL ? colon + 1 : rest;
        if (copy_text(result.password, password, (size_t)(at - password)) != STOA_OK) {
            return STOA_ERR_CONFIG;
        }
        rest = at + 1;
    }
    const char *slash = strchr(rest, '/');
    const char *end = slash != NULL ? slash : rest + strlen(rest);
    const char *colon = memchr(rest, ':', (size_t)(end - rest));
    const char *host_end = colon != NULL ? colon : end;
    if (host_end == rest || copy_text(result.host, rest, (size_t)(host_end - rest)) != STOA_OK) {
        return STOA_ERR_CONFIG;
    }
    if (colon != NULL &&
        parse_number(colon + 1, (size_t)(end - colon - 1), 1, 65535, &result.port) != STOA_OK) {
        return STOA_ERR_CONFIG;
    }
    if (slash != NULL && slash[1] != '\0' &&
        parse_number(slash + 1, strlen(slash + 1), 0, 1 << 20, &result.db) != STOA_OK) {
        return STOA_ERR_CONFIG;
    }
    *parsed = result;
    return STOA_OK;
}

/* ---- the connection ---- */

static void disconnect(struct stoa_redis_backend *redis, const char *why) {
    if (redis->context != NULL) {
        STOA_LOG_WARN(redis->log, MODULE, "lost the connection to Redis",
                      STOA_FIELD_STR("error", why));
        redisFree(redis->context);
        redis->context = NULL;
    }
}

/* Runs one command on the connection (made if needed). Returns 0 with *reply (free with
 * freeReplyObject), STOA_ERR_TYPE for a WRONGTYPE error, or STOA_ERR_IO. */
static int call_argv(struct stoa_redis_backend *redis, int argc, const char **argv,
                     const size_t *lengths, redisReply **reply);

static int simple_call(struct stoa_redis_backend *redis, const char *command, const char *argument,
                       redisReply **reply) {
    const char *argv[2] = {command, argument};
    size_t lengths[2] = {strlen(command), argument != NULL ? strlen(argument) : 0};
    return call_argv(redis, argument != NULL ? 2 : 1, argv, lengths, reply);
}

static int connect_now(struct stoa_redis_backend *redis) {
    struct timeval timeout = {.tv_sec = STOA_REDIS_TIMEOUT_MS / 1000,
                              .tv_usec = (STOA_REDIS_TIMEOUT_MS % 1000) * 1000};
    redisContext *context = NULL;
    if (redis->uri.unix_socket) {
        context = redisConnectUnixWithTimeout(redis->uri.host, timeout);
    } else {
        context = redisConnectWithTimeout(redis->uri.host, redis->uri.port, timeout);
    }
    if (context == NULL) {
        return STOA_ERR_NOMEM;
    }
    if (context->err != 0) {
        STOA_LOG_WARN(redis->log, MODULE, "cannot connect to Redis",
                      STOA_FIELD_STR("host", redis->uri.host),
                      STOA_FIELD_INT("port", redis->uri.port),
                      STOA_FIELD_STR("error", context->errstr));
        redisFree(context);
        return STOA_ERR_IO;
    }
    (void)redisSetTimeout(context, timeout);
    redis->context = context;
    redisReply *reply = NULL;
    int result = STOA_OK;
    if (redis->uri.password[0] != '\0') {
        result = simple_call(redis, "AUTH", redis->uri.password, &reply);
        freeReplyObject(reply);
    }
    if (result == STOA_OK && redis->uri.db != 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", redis->uri.db);
        reply = NULL;
        result = simple_call(redis, "SELECT", db, &reply);
        freeReplyObject(reply);
    }
    return result;
}

static int call_argv(struct stoa_redis_backend *redis, int argc, const char **argv,
                     const size_t *lengths, redisReply **reply_out) {
    if (redis->context == NULL) {
        int result = connect_now(redis);
        if (result != STOA_OK) {
            return result;
        }
    }
    redisReply *reply = redisCommandArgv(redis->context, argc, argv, lengths);
    if (reply == NULL) {
        disconnect(redis, redis->context->errstr);
        return STOA_ERR_IO;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        bool wrong_type = strncmp(reply->str, "WRONGTYPE", 9) == 0;
        bool no_key = strncmp(reply->str, "ERR no such key", 15) == 0;
        if (!wrong_type && !no_key) {
            STOA_LOG_WARN(redis->log, MODULE, "Redis refused a command",
                          STOA_FIELD_STR("command", argv[0]), STOA_FIELD_STR("error", reply->str));
        }
        freeReplyObject(reply);
        return wrong_type ? STOA_ERR_TYPE : no_key ? STOA_ERR_NOT_FOUND : STOA_ERR_IO;
    }
    *reply_out = reply;
    return STOA_OK;
}

/* A command of a key and up to two arguments. */
static int key_call(struct stoa_redis_backend *redis, const char *command, const void *key,
                    size_t key_length, const char *a, const char *b, redisReply **reply) {
    const char *argv[4] = {command, key, a, b};
    size_t lengths[4] = {strlen(command), key_length, a != NULL ? strlen(a) : 0,
                         b != NULL ? strlen(b) : 0};
    int argc = b != NULL ? 4 : a != NULL ? 3 : 2;
    return call_argv(redis, argc, argv, lengths, reply);
}

/* A command of a key answering an integer: *number. */
static int key_integer(struct stoa_redis_backend *redis, const char *command, const void *key,
                       size_t key_length, const char *a, long long *number) {
    redisReply *reply = NULL;
    int result = key_call(redis, command, key, key_length, a, NULL, &reply);
    if (result != STOA_OK) {
        return result;
    }
    result = reply->type == REDIS_REPLY_INTEGER ? STOA_OK : STOA_ERR_IO;
    if (result == STOA_OK) {
        *number = reply->integer;
    }
    freeReplyObject(reply);
    return result;
}

/* ---- reading a value into memory ---- */

static int read_string(struct stoa_redis_backend *redis, const void *key, size_t key_length,
                       struct stoa_value *value) {
    redisReply *reply = NULL;
    int result = key_call(redis, "GET", key, key_length, NULL, NULL, &reply);
    if (result != STOA_OK) {
        return result;
    }
    if (reply->type == REDIS_REPLY_NIL) {
        result = STOA_ERR_NOT_FOUND;
    } else if (reply->type != REDIS_REPLY_STRING) {
        result = STOA_ERR_IO;
    } else {
        result = stoa_value_bytes_set(value, reply->str, reply->len);
    }
    freeReplyObject(reply);
    return result;
}

static int read_list(struct stoa_redis_backend *redis, const void *key, size_t key_length,
                     struct stoa_value *value) {
    redisReply *reply = NULL;
    int result = key_call(redis, "LRANGE", key, key_length, "0", "-1", &reply);
    if (result != STOA_OK) {
        return result;
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return STOA_ERR_IO;
    }
    if (reply->elements == 0) {
        freeReplyObject(reply);
        return STOA_ERR_NOT_FOUND;
    }
    stoa_value_deque_init(value);
    for (size_t i = 0; i < reply->elements && result == STOA_OK; i++) {
        const redisReply *element = reply->element[i];
        result = element->type == REDIS_REPLY_STRING
                     ? stoa_value_deque_push(value, STOA_DEQUE_BACK, element->str, element->len)
                     : STOA_ERR_IO;
    }
    freeReplyObject(reply);
    return result;
}

/* Reads key into *value (which holds nothing) and its expiry. */
static int materialize(struct stoa_redis_backend *redis, int64_t now_ms, const void *key,
                       size_t key_length, struct stoa_value *value, int64_t *expire_at_ms) {
    redisReply *reply = NULL;
    int result = key_call(redis, "TYPE", key, key_length, NULL, NULL, &reply);
    if (result != STOA_OK) {
        return result;
    }
    bool is_string = reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "string") == 0;
    bool is_list = reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "list") == 0;
    bool is_none = reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "none") == 0;
    freeReplyObject(reply);
    if (is_none) {
        return STOA_ERR_NOT_FOUND;
    }
    if (!is_string && !is_list) {
        return STOA_ERR_TYPE;
    }
    long long expire = 0;
    result = key_integer(redis, "PEXPIRETIME", key, key_length, NULL, &expire);
    if (result != STOA_OK) {
        return result;
    }
    if (expire == -2 || (expire > 0 && expire <= now_ms)) {
        return STOA_ERR_NOT_FOUND;
    }
    result = is_string ? read_string(redis, key, key_length, value)
                       : read_list(redis, key, key_length, value);
    if (result != STOA_OK) {
        stoa_value_free(value);
        return result;
    }
    *expire_at_ms = expire > 0 ? (int64_t)expire : 0;
    return STOA_OK;
}

/* ---- writing a value ---- */

/* Frees the reply of a call whose answer is not needed. Takes the reply's address, read
 * only after the call (an argument evaluated before the call would still be NULL). */
static int expect_ok(struct stoa_redis_backend *redis, int result, redisReply **reply) {
    (void)redis;
    if (result == STOA_OK) {
        freeReplyObject(*reply);
        *reply = NULL;
    }
    return result;
}

static int write_string(struct stoa_redis_backend *redis, const void *key, size_t key_length,
                        const struct stoa_value *value, int64_t expire_at_ms) {
    const uint8_t *data = NULL;
    size_t length = 0;
    stoa_value_bytes_get(value, &data, &length);
    char expire[24];
    snprintf(expire, sizeof(expire), "%" PRId64, expire_at_ms);
    const char *argv[5] = {"SET", key, data != NULL ? (const char *)data : "", "PXAT", expire};
    size_t lengths[5] = {3, key_length, length, 4, strlen(expire)};
    redisReply *reply = NULL;
    int result = call_argv(redis, expire_at_ms > 0 ? 5 : 3, argv, lengths, &reply);
    return expect_ok(redis, result, &reply);
}

/* RPUSH of elements [first, first + count) of the deque. */
static int push_chunk(struct stoa_redis_backend *redis, const void *key, size_t key_length,
                      const struct stoa_value *value, size_t first, size_t count) {
    const char *argv[PUSH_CHUNK + 2];
    size_t lengths[PUSH_CHUNK + 2];
    argv[0] = "RPUSH";
    lengths[0] = 5;
    argv[1] = key;
    lengths[1] = key_length;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *data = NULL;
        size_t length = 0;
        STOA_ASSERT(stoa_value_deque_get(value, (int64_t)(first + i), &data, &length) == STOA_OK);
        argv[i + 2] = data != NULL ? (const char *)data : "";
        lengths[i + 2] = length;
    }
    redisReply *reply = NULL;
    int result = call_argv(redis, (int)count + 2, argv, lengths, &reply);
    return expect_ok(redis, result, &reply);
}

/* Replaces the list at key with the deque, in one MULTI ... EXEC. */
static int write_list(struct stoa_redis_backend *redis, const void *key, size_t key_length,
                      const struct stoa_value *value, int64_t expire_at_ms) {
    size_t count = stoa_value_deque_length(value);
    redisReply *reply = NULL;
    int result = expect_ok(redis, simple_call(redis, "MULTI", NULL, &reply), &reply);
    if (result == STOA_OK) {
        result = expect_ok(redis, key_call(redis, "DEL", key, key_length, NULL, NULL, &reply),
                           &reply);
    }
    for (size_t first = 0; first < count && result == STOA_OK; first += PUSH_CHUNK) {
        size_t chunk = count - first < PUSH_CHUNK ? count - first : PUSH_CHUNK;
        result = push_chunk(redis, key, key_length, value, first, chunk);
    }
    if (result == STOA_OK && expire_at_ms > 0) {
        char expire[24];
        snprintf(expire, sizeof(expire), "%" PRId64, expire_at_ms);
        result = expect_ok(
            redis, key_call(redis, "PEXPIREAT", key, key_length, expire, NULL, &reply), &reply);
    }
    if (result != STOA_OK) {
        /* Drop the half-built transaction; the connection is reset if that fails too. */
        (void)expect_ok(redis, simple_call(redis, "DISCARD", NULL, &reply), &reply);
        return result;
    }
    return expect_ok(redis, simple_call(redis, "EXEC", NULL, &reply), &reply);
}

static int store(struct stoa_redis_backend *redis, const void *key, size_t key_length,
                 const struct stoa_value *value, int64_t expire_at_ms) {
    switch (value->type) {
    case STOA_VALUE_BYTES:
        return write_string(redis, key, key_length, value, expire_at_ms);
    case STOA_VALUE_DEQUE:
        if (stoa_value_deque_length(value) == 0) {
            redisReply *reply = NULL;
            return expect_ok(redis, key_call(redis, "DEL", key, key_length, NULL, NULL, &reply),
                             &reply);
        }
        return write_list(redis, key, key_length, value, expire_at_ms);
    case STOA_VALUE_OBJECT:
    case STOA_VALUE_NONE:
        return STOA_ERR_UNSUPPORTED;
    }
    STOA_UNREACHABLE();
}

/* ---- the backend operations ---- */

static int op_lookup(struct stoa_backend *backend, int64_t now_ms, const void *key,
                     size_t key_length, const struct stoa_value **value, int64_t *expire_at_ms) {
    struct stoa_redis_backend *redis = self_of(backend);
    stoa_value_free(&redis->value);
    int64_t expire = 0;
    int result = materialize(redis, now_ms, key, key_length, &redis->value, &expire);
    if (result != STOA_OK) {
        return result;
    }
    if (value != NULL) {
        *value = &redis->value;
    }
    if (expire_at_ms != NULL) {
        *expire_at_ms = expire;
    }
    return STOA_OK;
}

static int op_lookup_for_write(struct stoa_backend *backend, int64_t now_ms, const void *key,
                               size_t key_length, struct stoa_value **value, size_t *footprint) {
    struct stoa_redis_backend *redis = self_of(backend);
    stoa_value_free(&redis->value);
    int result = materialize(redis, now_ms, key, key_length, &redis->value,
                             &redis->write_expire_ms);
    if (result != STOA_OK) {
        return result;
    }
    *value = &redis->value;
    *footprint = stoa_value_footprint(&redis->value);
    return STOA_OK;
}

/* Redis keeps its own memory limit (maxmemory); stoa's is not applied to it. */
static int op_reserve(struct stoa_backend *backend, int64_t now_ms, size_t bytes,
                      const struct stoa_value *keep) {
    (void)backend;
    (void)now_ms;
    (void)bytes;
    (void)keep;
    return STOA_OK;
}

static int op_commit(struct stoa_backend *backend, int64_t now_ms, const void *key,
                     size_t key_length, struct stoa_value *value, size_t old_footprint) {
    (void)now_ms;
    (void)old_footprint;
    struct stoa_redis_backend *redis = self_of(backend);
    STOA_ASSERT(value == &redis->value);
    int result = store(redis, key, key_length, value, redis->write_expire_ms);
    stoa_value_free(&redis->value);
    return result;
}

static void op_release(struct stoa_backend *backend, struct stoa_value *value) {
    struct stoa_redis_backend *redis = self_of(backend);
    STOA_ASSERT(value == &redis->value);
    stoa_value_free(&redis->value);
}

static int op_remove(struct stoa_backend *backend, int64_t now_ms, const void *key,
                     size_t key_length) {
    (void)now_ms;
    long long removed = 0;
    int result = key_integer(self_of(backend), "DEL", key, key_length, NULL, &removed);
    if (result != STOA_OK) {
        return result;
    }
    return removed > 0 ? STOA_OK : STOA_ERR_NOT_FOUND;
}

static int op_put(struct stoa_backend *backend, int64_t now_ms, const void *key,
                  size_t key_length, struct stoa_value *value, int64_t expire_at_ms) {
    struct stoa_redis_backend *redis = self_of(backend);
    int result = STOA_OK;
    if (expire_at_ms != 0 && expire_at_ms <= now_ms) {
        result = op_remove(backend, now_ms, key, key_length);
        result = result == STOA_ERR_NOT_FOUND ? STOA_OK : result;
    } else {
        result = store(redis, key, key_length, value, expire_at_ms);
    }
    if (result == STOA_OK) {
        stoa_value_free(value); /* put takes the value */
    }
    return result;
}

static int op_expiry_set(struct stoa_backend *backend, int64_t now_ms, const void *key,
                         size_t key_length, int64_t expire_at_ms) {
    struct stoa_redis_backend *redis = self_of(backend);
    if (expire_at_ms != 0 && expire_at_ms <= now_ms) {
        return op_remove(backend, now_ms, key, key_length);
    }
    long long exists = 0;
    int result = key_integer(redis, "EXISTS", key, key_length, NULL, &exists);
    if (result != STOA_OK || exists == 0) {
        return result != STOA_OK ? result : STOA_ERR_NOT_FOUND;
    }
    long long changed = 0;
    if (expire_at_ms == 0) {
        return key_integer(redis, "PERSIST", key, key_length, NULL, &changed);
    }
    char expire[24];
    snprintf(expire, sizeof(expire), "%" PRId64, expire_at_ms);
    return key_integer(redis, "PEXPIREAT", key, key_length, expire, &changed);
}

static int op_rename(struct stoa_backend *backend, int64_t now_ms, const void *from_key,
                     size_t from_key_length, const void *to_key, size_t to_key_length) {
    (void)now_ms;
    const char *argv[3] = {"RENAME", from_key, to_key};
    size_t lengths[3] = {6, from_key_length, to_key_length};
    redisReply *reply = NULL;
    struct stoa_redis_backend *redis = self_of(backend);
    return expect_ok(redis, call_argv(redis, 3, argv, lengths, &reply), &reply);
}

static int op_count(struct stoa_backend *backend, size_t *count) {
    redisReply *reply = NULL;
    struct stoa_redis_backend *redis = self_of(backend);
    int result = simple_call(redis, "DBSIZE", NULL, &reply);
    if (result != STOA_OK) {
        return result;
    }
    result = reply->type == REDIS_REPLY_INTEGER && reply->integer >= 0 ? STOA_OK : STOA_ERR_IO;
    if (result == STOA_OK) {
        *count = (size_t)reply->integer;
    }
    freeReplyObject(reply);
    return result;
}

static int op_flush(struct stoa_backend *backend) {
    redisReply *reply = NULL;
    struct stoa_redis_backend *redis = self_of(backend);
    return expect_ok(redis, simple_call(redis, "FLUSHDB", NULL, &reply), &reply);
}

/* Calls fn for each key of a SCAN reply that holds a value stoa can show. */
static void scan_keys(struct stoa_redis_backend *redis, int64_t now_ms, const redisReply *keys,
                      stoa_backend_scan_fn fn, void *context) {
    for (size_t i = 0; i < keys->elements; i++) {
        const redisReply *key = keys->element[i];
        if (key->type != REDIS_REPLY_STRING) {
            continue;
        }
        struct stoa_value value;
        stoa_value_init(&value);
        int64_t expire = 0;
        if (materialize(redis, now_ms, key->str, key->len, &value, &expire) == STOA_OK) {
            fn(context, (const uint8_t *)key->str, key->len, &value, expire);
            stoa_value_free(&value);
        }
    }
}

static int op_scan(struct stoa_backend *backend, int64_t now_ms, uint64_t cursor, size_t count,
                   stoa_backend_scan_fn fn, void *context, uint64_t *next_cursor) {
    struct stoa_redis_backend *redis = self_of(backend);
    char cursor_text[24];
    char count_text[24];
    snprintf(cursor_text, sizeof(cursor_text), "%" PRIu64, cursor);
    snprintf(count_text, sizeof(count_text), "%zu", count > 0 ? count : STOA_REDIS_SCAN_COUNT);
    const char *argv[4] = {"SCAN", cursor_text, "COUNT", count_text};
    size_t lengths[4] = {4, strlen(cursor_text), 5, strlen(count_text)};
    redisReply *reply = NULL;
    int result = call_argv(redis, 4, argv, lengths, &reply);
    if (result != STOA_OK) {
        return result;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        freeReplyObject(reply);
        return STOA_ERR_IO;
    }
    uint64_t next = strtoull(reply->element[0]->str, NULL, 10);
    scan_keys(redis, now_ms, reply->element[1], fn, context);
    freeReplyObject(reply);
    *next_cursor = next;
    return STOA_OK;
}

static int op_random_key(struct stoa_backend *backend, int64_t now_ms, uint64_t random,
                         const uint8_t **key, size_t *key_length) {
    (void)now_ms;
    (void)random; /* Redis picks */
    struct stoa_redis_backend *redis = self_of(backend);
    redisReply *reply = NULL;
    int result = simple_call(redis, "RANDOMKEY", NULL, &reply);
    if (result != STOA_OK) {
        return result;
    }
    if (reply->type == REDIS_REPLY_NIL) {
        result = STOA_ERR_NOT_FOUND;
    } else if (reply->type != REDIS_REPLY_STRING) {
        result = STOA_ERR_IO;
    } else {
        stoa_buf_reset(&redis->random_key);
        result = stoa_buf_append(&redis->random_key, reply->str, reply->len);
    }
    freeReplyObject(reply);
    if (result == STOA_OK) {
        *key = redis->random_key.data;
        *key_length = redis->random_key.length;
    }
    return result;
}

/* A digest would read the whole Redis; DEBUG DIGEST is not offered on this backend. */
static int op_digest(struct stoa_backend *backend, int64_t now_ms, uint64_t *digest) {
    (void)backend;
    (void)now_ms;
    (void)digest;
    return STOA_ERR_UNSUPPORTED;
}

static const struct stoa_backend_ops redis_ops = {
    .lookup = op_lookup,
    .lookup_for_write = op_lookup_for_write,
    .reserve = op_reserve,
    .commit = op_commit,
    .release = op_release,
    .put = op_put,
    .remove = op_remove,
    .expiry_set = op_expiry_set,
    .rename = op_rename,
    .count = op_count,
    .flush = op_flush,
    .scan = op_scan,
    .random_key = op_random_key,
    .digest = op_digest,
};

/* ---- open and close ---- */

int stoa_redis_backend_open(const char *uri, const struct stoa_log *log,
                            struct stoa_redis_backend **out) {
    STOA_ASSERT(uri != NULL && out != NULL);
    struct stoa_redis_uri parsed;
    if (stoa_redis_uri_parse(uri, &parsed) != STOA_OK) {
        return STOA_ERR_CONFIG;
    }
    struct stoa_redis_backend *redis = stoa_calloc(1, sizeof(*redis));
    if (redis == NULL) {
        return STOA_ERR_NOMEM;
    }
    redis->backend = (struct stoa_backend){.ops = &redis_ops, .self = redis};
    redis->uri = parsed;
    redis->log = log;
    stoa_value_init(&redis->value);
    stoa_buf_init(&redis->random_key, STOA_KEY_BYTES_MAX);
    redisReply *reply = NULL;
    int result = simple_call(redis, "PING", NULL, &reply);
    if (result != STOA_OK) {
        stoa_redis_backend_close(redis);
        return result;
    }
    freeReplyObject(reply);
    *out = redis;
    return STOA_OK;
}

struct stoa_backend *stoa_redis_backend_get(struct stoa_redis_backend *redis) {
    STOA_ASSERT(redis != NULL);
    return &redis->backend;
}

void stoa_redis_backend_close(struct stoa_redis_backend *redis) {
    if (redis == NULL) {
        return;
    }
    if (redis->context != NULL) {
        redisFree(redis->context);
    }
    stoa_value_free(&redis->value);
    stoa_buf_free(&redis->random_key);
    stoa_free(redis);
}
