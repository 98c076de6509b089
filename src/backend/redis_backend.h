/*
 * redis_backend: an engine backend (engine/backend.h) that keeps the keys in an external
 * Redis, through hiredis, for users who already run Redis (multiverse9's backing store).
 * docs/redis-backend.md has the limits; docs/decisions/hiredis.md says why hiredis.
 *
 * Mapping: a stoa key is the Redis key of the same bytes (so data multiverse9 left in its
 * Redis is read as it is). A bytes value is a Redis string; a deque is a Redis list. Other
 * Redis types (hash, set, ...) are refused with WRONGTYPE; stoa's object values (Nomad's
 * GameObject) are not supported (STOA_ERR_UNSUPPORTED). An expiry is a Redis PEXPIREAT: Redis
 * deletes the key by its own clock; before that, a key whose expiry is <= the command's
 * stamped time is hidden, as the contract says.
 *
 * Every operation is a synchronous round trip (or a pipelined few) on the event loop's
 * thread, so each command costs a network round trip to Redis while the loop waits: keep
 * Redis local. Changing a value in place (APPEND, INCR, LPUSH, ...) reads it whole, changes
 * it in memory and writes it back whole (a deque as DEL + RPUSH in one MULTI), so such
 * commands cost O(size of the value). A call that fails (Redis down, a timeout of
 * STOA_REDIS_TIMEOUT_MS) returns STOA_ERR_IO; the next call reconnects.
 *
 * Durability is Redis's own (its AOF/RDB settings): the engine keeps no log with this
 * backend, so nothing is ever replayed into Redis twice.
 *
 * Ownership: the backend owns its connection and the value it last materialized (borrowed
 * by lookup's caller until the next call).
 */
#ifndef STOA_BACKEND_REDIS_BACKEND_H
#define STOA_BACKEND_REDIS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/backend.h"
#include "util/limits.h"
#include "util/log.h"

struct stoa_redis_backend;

/* The parts of a Redis URI: redis://[:password@]host[:port][/db] or unix:///path. */
struct stoa_redis_uri {
    char host[STOA_REDIS_URI_BYTES_MAX + 1]; /* or the socket path */
    bool unix_socket;
    int port;
    int db;
    char password[STOA_REDIS_URI_BYTES_MAX + 1]; /* "" = none */
};

/* Parses uri. Returns 0 or STOA_ERR_CONFIG (*parsed untouched). */
int stoa_redis_uri_parse(const char *uri, struct stoa_redis_uri *parsed);

/* Connects to the Redis at uri (checked with PING). Returns 0, STOA_ERR_CONFIG (a bad URI),
 * STOA_ERR_IO (Redis not reachable: the reason is logged) or STOA_ERR_NOMEM. */
int stoa_redis_backend_open(const char *uri, const struct stoa_log *log,
                            struct stoa_redis_backend **backend);

/* The engine's view of it, valid until close. */
struct stoa_backend *stoa_redis_backend_get(struct stoa_redis_backend *backend);

void stoa_redis_backend_close(struct stoa_redis_backend *backend);

#endif
