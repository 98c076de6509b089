/* The command table, lookup, the central arity check and the translation entry point. */
#include "proto/commands.h"

#include <stdio.h>
#include <string.h>

#include "engine/apply.h"
#include "proto/commands_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

struct entry {
    struct stoa_commands_spec spec;
    commands_translate_fn translate;
};

/* Short names for the table below only. */
#define WRT STOA_COMMANDS_FLAG_WRITE
#define RDO STOA_COMMANDS_FLAG_READONLY
#define OOM STOA_COMMANDS_FLAG_DENYOOM
#define ADM STOA_COMMANDS_FLAG_ADMIN
#define NSC STOA_COMMANDS_FLAG_NOSCRIPT
#define BLK STOA_COMMANDS_FLAG_BLOCKING
#define LDG STOA_COMMANDS_FLAG_LOADING
#define STL STOA_COMMANDS_FLAG_STALE
#define FST STOA_COMMANDS_FLAG_FAST
#define NAU STOA_COMMANDS_FLAG_NO_AUTH
#define CTR STOA_COMMANDS_FLAG_CONTAINER
#define PRT STOA_COMMANDS_FLAG_PROTECTED
/* RESP only: connection and server commands. */
#define RESP STOA_COMMANDS_DOOR_RESP
/* Data commands: RESP and the HTTP door. */
#define DATA (STOA_COMMANDS_DOOR_RESP | STOA_COMMANDS_DOOR_HTTP)
/* Geomys's commands are also data commands, except PUSH (Geomys only; RESP has RPUSH). */
#define GEO (STOA_COMMANDS_DOOR_RESP | STOA_COMMANDS_DOOR_HTTP | STOA_COMMANDS_DOOR_GEOMYS)

#define COMMAND(id_, container_, name_, arity_, flags_, first_, last_, step_, doors_, fn_,         \
                summary_)                                                                          \
    [STOA_COMMANDS_##id_] = {.spec = {.id = STOA_COMMANDS_##id_,                                   \
                                      .name = name_,                                               \
                                      .summary = summary_,                                         \
                                      .arity = arity_,                                             \
                                      .flags = flags_,                                             \
                                      .first_key = first_,                                         \
                                      .last_key = last_,                                           \
                                      .key_step = step_,                                           \
                                      .doors = doors_,                                             \
                                      .container = STOA_COMMANDS_##container_},                    \
                             .translate = fn_}
/* A top-level command. */
#define TOP(id_, ...) COMMAND(id_, id_, __VA_ARGS__)
/* A subcommand of a container. */
#define SUB(container_, id_, ...) COMMAND(id_, container_, __VA_ARGS__)

/* Sorted by name (the ids are in name order); tests/unit/proto/test_commands.c checks it. */
static const struct entry table[STOA_COMMANDS_COUNT] = {
    TOP(APPEND, "append", 3, WRT | OOM | FST, 1, 1, 1, DATA, commands_append,
        "Append a value to a key"),
    TOP(AUTH, "auth", -2, NSC | LDG | STL | FST | NAU, 0, 0, 0, RESP, commands_auth,
        "Authenticate to the server"),
    TOP(BGSAVE, "bgsave", -1, ADM | NSC, 0, 0, 0, RESP, commands_bgsave,
        "Write a snapshot in the background"),
    TOP(BLMOVE, "blmove", 6, WRT | OOM | NSC | BLK, 1, 2, 1, RESP, commands_blmove,
        "Pop an element from a list, push it to another list and return it; or block until "
        "one is available"),
    TOP(BLPOP, "blpop", -3, WRT | NSC | BLK, 1, -2, 1, RESP, commands_blocking_pop,
        "Remove and get the first element in a list, or block until one is available"),
    TOP(BRPOP, "brpop", -3, WRT | NSC | BLK, 1, -2, 1, RESP, commands_blocking_pop,
        "Remove and get the last element in a list, or block until one is available"),
    TOP(CLIENT, "client", -2, CTR, 0, 0, 0, RESP, commands_server,
        "A container for client connection commands"),
    SUB(CLIENT, CLIENT_GETNAME, "client|getname", 2, NSC | LDG | STL, 0, 0, 0, RESP,
        commands_server, "Get the current connection name"),
    SUB(CLIENT, CLIENT_HELP, "client|help", 2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Show helpful text about the different subcommands"),
    SUB(CLIENT, CLIENT_ID, "client|id", 2, NSC | LDG | STL, 0, 0, 0, RESP, commands_server,
        "Returns the client ID for the current connection"),
    SUB(CLIENT, CLIENT_INFO, "client|info", 2, NSC | LDG | STL, 0, 0, 0, RESP, commands_server,
        "Returns information about the current client connection"),
    SUB(CLIENT, CLIENT_KILL, "client|kill", -3, ADM | NSC | LDG | STL, 0, 0, 0, RESP,
        commands_server, "Kill the connection of a client"),
    SUB(CLIENT, CLIENT_LIST, "client|list", -2, ADM | NSC | LDG | STL, 0, 0, 0, RESP,
        commands_server, "Get the list of client connections"),
    SUB(CLIENT, CLIENT_SETNAME, "client|setname", 3, NSC | LDG | STL, 0, 0, 0, RESP,
        commands_client_setname, "Set the current connection name"),
    TOP(COMMAND, "command", -1, LDG | STL | CTR, 0, 0, 0, RESP, commands_server,
        "Get array of command details"),
    SUB(COMMAND, COMMAND_COUNT, "command|count", 2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Get total number of commands"),
    SUB(COMMAND, COMMAND_DOCS, "command|docs", -2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Get array of specific command documentation"),
    SUB(COMMAND, COMMAND_HELP, "command|help", 2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Show helpful text about the different subcommands"),
    SUB(COMMAND, COMMAND_INFO, "command|info", -2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Get array of specific command details, or all when no argument is given"),
    SUB(COMMAND, COMMAND_LIST, "command|list", -2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Get an array of command names"),
    TOP(CONFIG, "config", -2, CTR, 0, 0, 0, RESP, commands_server,
        "A container for server configuration commands"),
    SUB(CONFIG, CONFIG_GET, "config|get", -3, ADM | NSC | LDG | STL, 0, 0, 0, RESP, commands_server,
        "Get the values of configuration parameters"),
    SUB(CONFIG, CONFIG_HELP, "config|help", 2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Show helpful text about the different subcommands"),
    SUB(CONFIG, CONFIG_RESETSTAT, "config|resetstat", 2, ADM | NSC | LDG | STL, 0, 0, 0, RESP,
        commands_server, "Reset the stats returned by INFO"),
    SUB(CONFIG, CONFIG_SET, "config|set", -4, ADM | NSC | LDG | STL, 0, 0, 0, RESP, commands_server,
        "Set configuration parameters to the given values"),
    TOP(DBSIZE, "dbsize", 1, RDO | FST, 0, 0, 0, DATA, commands_dbsize,
        "Return the number of keys in the selected database"),
    TOP(DEBUG, "debug", -2, ADM | NSC | LDG | STL | PRT, 0, 0, 0, RESP, commands_server,
        "A container for debugging commands (off unless enabled in config)"),
    TOP(DECR, "decr", 2, WRT | OOM | FST, 1, 1, 1, DATA, commands_incr,
        "Decrement the integer value of a key by one"),
    TOP(DECRBY, "decrby", 3, WRT | OOM | FST, 1, 1, 1, DATA, commands_incrby,
        "Decrement the integer value of a key by the given number"),
    TOP(DEL, "del", -2, WRT, 1, -1, 1, DATA, commands_del, "Delete a key"),
    TOP(ECHO, "echo", 2, LDG | STL | FST, 0, 0, 0, GEO, commands_server, "Echo the given string"),
    TOP(EXISTS, "exists", -2, RDO | FST, 1, -1, 1, DATA, commands_multi_read,
        "Determine if a key exists"),
    TOP(EXPIRE, "expire", -3, WRT | FST, 1, 1, 1, DATA, commands_expire,
        "Set a key's time to live in seconds"),
    TOP(EXPIREAT, "expireat", -3, WRT | FST, 1, 1, 1, DATA, commands_expire,
        "Set the expiration for a key as a UNIX timestamp"),
    TOP(EXPIRETIME, "expiretime", 2, RDO | FST, 1, 1, 1, DATA, commands_key_read,
        "Get the expiration Unix timestamp for a key"),
    TOP(FLUSHALL, "flushall", -1, WRT, 0, 0, 0, DATA, commands_flushall,
        "Remove all keys from all databases"),
    TOP(FLUSHDB, "flushdb", -1, WRT, 0, 0, 0, GEO, commands_flushall,
        "Remove all keys from the current database"),
    TOP(GET, "get", 2, RDO | FST, 1, 1, 1, GEO, commands_key_read, "Get the value of a key"),
    TOP(GETDEL, "getdel", 2, WRT | FST, 1, 1, 1, DATA, commands_key_write,
        "Get the value of a key and delete the key"),
    TOP(GETEX, "getex", -2, WRT | FST, 1, 1, 1, DATA, commands_getex,
        "Get the value of a key and optionally set its expiration"),
    TOP(GETRANGE, "getrange", 4, RDO, 1, 1, 1, DATA, commands_range_read,
        "Get a substring of the string stored at a key"),
    TOP(GETSET, "getset", 3, WRT | OOM | FST, 1, 1, 1, DATA, commands_getset,
        "Set the string value of a key and return its old value"),
    /* Replica groups (docs/replication.md): Nomos's status, log and prepare. */
    TOP(GROUP, "group", -2, CTR, 0, 0, 0, RESP, commands_server,
        "A container for replica group commands"),
    SUB(GROUP, GROUP_ADD, "group|add", 4, ADM | NSC | LDG | STL, 0, 0, 0, RESP, commands_server,
        "Add a voting member (id, peer host:port) through the log"),
    SUB(GROUP, GROUP_HELP, "group|help", 2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Show helpful text about the different subcommands"),
    SUB(GROUP, GROUP_LOG, "group|log", -2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "The log entries this member holds: slot, ballot, kind, chosen, value (FROM, COUNT)"),
    SUB(GROUP, GROUP_PREPARE, "group|prepare", 2, ADM | NSC | LDG | STL, 0, 0, 0, RESP,
        commands_server, "Start an election now, to make this node the leader"),
    SUB(GROUP, GROUP_REMOVE, "group|remove", 3, ADM | NSC | LDG | STL, 0, 0, 0, RESP,
        commands_server, "Remove a voting member (id) through the log"),
    SUB(GROUP, GROUP_STATUS, "group|status", 2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "The replica group as this node sees it: role, ballot, leader, indexes, members"),
    TOP(HELLO, "hello", -1, NSC | LDG | STL | FST | NAU, 0, 0, 0, RESP, commands_hello,
        "Handshake with Redis"),
    TOP(INCR, "incr", 2, WRT | OOM | FST, 1, 1, 1, GEO, commands_incr,
        "Increment the integer value of a key by one"),
    TOP(INCRBY, "incrby", 3, WRT | OOM | FST, 1, 1, 1, GEO, commands_incrby,
        "Increment the integer value of a key by the given amount"),
    TOP(INCRBYFLOAT, "incrbyfloat", 3, WRT | OOM | FST, 1, 1, 1, DATA, commands_incrbyfloat,
        "Increment the float value of a key by the given amount"),
    TOP(INFO, "info", -1, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Get information and statistics about the server"),
    TOP(KEYS, "keys", 2, RDO, 0, 0, 0, DATA, commands_keys,
        "Find all keys matching the given pattern"),
    TOP(LASTSAVE, "lastsave", 1, LDG | STL | FST, 0, 0, 0, RESP, commands_server,
        "Get the UNIX time stamp of the last successful save to disk"),
    TOP(LINDEX, "lindex", 3, RDO, 1, 1, 1, DATA, commands_lindex,
        "Get an element from a list by its index"),
    TOP(LINSERT, "linsert", 5, WRT | OOM, 1, 1, 1, DATA, commands_linsert,
        "Insert an element before or after another element in a list"),
    TOP(LLEN, "llen", 2, RDO | FST, 1, 1, 1, DATA, commands_key_read, "Get the length of a list"),
    TOP(LMOVE, "lmove", 5, WRT | OOM, 1, 2, 1, DATA, commands_lmove,
        "Pop an element from a list, push it to another list and return it"),
    TOP(LPOP, "lpop", -2, WRT | FST, 1, 1, 1, GEO, commands_pop,
        "Remove and get the first elements in a list"),
    TOP(LPOS, "lpos", -3, RDO, 1, 1, 1, DATA, commands_lpos,
        "Return the index of matching elements on a list"),
    TOP(LPUSH, "lpush", -3, WRT | OOM | FST, 1, 1, 1, DATA, commands_push_values,
        "Prepend one or multiple elements to a list"),
    TOP(LPUSHX, "lpushx", -3, WRT | OOM | FST, 1, 1, 1, DATA, commands_push_values,
        "Prepend an element to a list, only if the list exists"),
    TOP(LRANGE, "lrange", 4, RDO, 1, 1, 1, DATA, commands_range_read,
        "Get a range of elements from a list"),
    TOP(LREM, "lrem", 4, WRT, 1, 1, 1, DATA, commands_lrem, "Remove elements from a list"),
    TOP(LSET, "lset", 4, WRT | OOM, 1, 1, 1, DATA, commands_lset,
        "Set the value of an element in a list by its index"),
    TOP(LTRIM, "ltrim", 4, WRT, 1, 1, 1, DATA, commands_ltrim,
        "Trim a list to the specified range"),
    TOP(MGET, "mget", -2, RDO | FST, 1, -1, 1, DATA, commands_multi_read,
        "Get the values of all the given keys"),
    TOP(MSET, "mset", -3, WRT | OOM, 1, -1, 2, DATA, commands_mset,
        "Set multiple keys to multiple values"),
    TOP(MSETNX, "msetnx", -3, WRT | OOM, 1, -1, 2, DATA, commands_mset,
        "Set multiple keys to multiple values, only if none of the keys exist"),
    /* Nomad's GameObjects: the HTTP door's object routes (docs/protocols/http.md). */
    TOP(OBJDELETE, "objdelete", 2, WRT, 1, 1, 1, STOA_COMMANDS_DOOR_HTTP, commands_object,
        "Delete a GameObject by id"),
    TOP(OBJGET, "objget", 2, RDO | FST, 1, 1, 1, STOA_COMMANDS_DOOR_HTTP, commands_object,
        "Get a GameObject by id"),
    TOP(OBJPUT, "objput", 5, WRT | OOM, 1, 1, 1, STOA_COMMANDS_DOOR_HTTP, commands_object,
        "Insert a GameObject (id, value, creation ms, absolute ttl s); fails if the id exists"),
    TOP(OBJUPDATE, "objupdate", 4, WRT | OOM, 1, 1, 1, STOA_COMMANDS_DOOR_HTTP, commands_object,
        "Replace an existing GameObject's value and absolute ttl s"),
    TOP(PERSIST, "persist", 2, WRT | FST, 1, 1, 1, DATA, commands_key_write,
        "Remove the expiration from a key"),
    TOP(PEXPIRE, "pexpire", -3, WRT | FST, 1, 1, 1, DATA, commands_expire,
        "Set a key's time to live in milliseconds"),
    TOP(PEXPIREAT, "pexpireat", -3, WRT | FST, 1, 1, 1, DATA, commands_expire,
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds"),
    TOP(PEXPIRETIME, "pexpiretime", 2, RDO | FST, 1, 1, 1, DATA, commands_key_read,
        "Get the expiration Unix timestamp for a key in milliseconds"),
    TOP(PING, "ping", -1, FST, 0, 0, 0, GEO, commands_ping, "Ping the server"),
    TOP(PSETEX, "psetex", 4, WRT | OOM, 1, 1, 1, DATA, commands_setex,
        "Set the value and expiration in milliseconds of a key"),
    TOP(PTTL, "pttl", 2, RDO | FST, 1, 1, 1, DATA, commands_key_read,
        "Get the time to live for a key in milliseconds"),
    TOP(PUSH, "push", -3, WRT | OOM | FST, 1, 1, 1, STOA_COMMANDS_DOOR_GEOMYS, commands_push_values,
        "Geomys: append one or more elements to a list (RPUSH)"),
    TOP(QUIT, "quit", -1, NSC | LDG | STL | FST | NAU, 0, 0, 0, RESP, commands_server,
        "Close the connection"),
    TOP(RANDOMKEY, "randomkey", 1, RDO, 0, 0, 0, DATA, commands_randomkey,
        "Return a random key from the keyspace"),
    TOP(READONLY, "readonly", 1, LDG | STL | FST, 0, 0, 0, RESP, commands_server,
        "Serve this connection's reads from this node's state (fast reads; may be stale)"),
    TOP(READWRITE, "readwrite", 1, LDG | STL | FST, 0, 0, 0, RESP, commands_server,
        "Serve this connection's reads linearizably again (safe reads)"),
    TOP(RENAME, "rename", 3, WRT, 1, 2, 1, DATA, commands_rename, "Rename a key"),
    TOP(RENAMENX, "renamenx", 3, WRT | FST, 1, 2, 1, DATA, commands_rename,
        "Rename a key, only if the new key does not exist"),
    TOP(RESET, "reset", 1, NSC | LDG | STL | FST | NAU, 0, 0, 0, RESP, commands_server,
        "Reset the connection"),
    TOP(RPOP, "rpop", -2, WRT | FST, 1, 1, 1, GEO, commands_pop,
        "Remove and get the last elements in a list"),
    TOP(RPUSH, "rpush", -3, WRT | OOM | FST, 1, 1, 1, DATA, commands_push_values,
        "Append one or multiple elements to a list"),
    TOP(RPUSHX, "rpushx", -3, WRT | OOM | FST, 1, 1, 1, DATA, commands_push_values,
        "Append an element to a list, only if the list exists"),
    TOP(SAVE, "save", 1, ADM | NSC, 0, 0, 0, RESP, commands_server,
        "Synchronously save the dataset to disk"),
    TOP(SCAN, "scan", -2, RDO, 0, 0, 0, DATA, commands_scan,
        "Incrementally iterate the keys space"),
    TOP(SELECT, "select", 2, LDG | STL | FST, 0, 0, 0, RESP, commands_select,
        "Change the selected database for the current connection (only 0)"),
    /* Client sessions: exactly-once retried writes (docs/replication.md, "Retried writes").
     * SESSION and SESSION REGISTER are also the HTTP door's (POST /v1/sessions). */
    TOP(SESSION, "session", -2, CTR, 0, 0, 0, DATA, commands_server,
        "A container for client session commands (exactly-once retried writes)"),
    SUB(SESSION, SESSION_HELP, "session|help", 2, LDG | STL, 0, 0, 0, RESP, commands_server,
        "Show helpful text about the different subcommands"),
    SUB(SESSION, SESSION_REGISTER, "session|register", 2, WRT | FST, 0, 0, 0, DATA,
        commands_session_register, "Register a client session through the log; returns its id"),
    SUB(SESSION, SESSION_WRITE, "session|write", -5, WRT | OOM, 0, 0, 0, RESP,
        commands_session_write,
        "Run a write command as the given sequence of a client session (applied at most once)"),
    TOP(SET, "set", -3, WRT | OOM, 1, 1, 1, GEO, commands_set, "Set the string value of a key"),
    TOP(SETEX, "setex", 4, WRT | OOM, 1, 1, 1, DATA, commands_setex,
        "Set the value and expiration of a key"),
    TOP(SETNX, "setnx", 3, WRT | OOM | FST, 1, 1, 1, DATA, commands_setnx,
        "Set the value of a key, only if the key does not exist"),
    TOP(SETRANGE, "setrange", 4, WRT | OOM, 1, 1, 1, DATA, commands_setrange,
        "Overwrite part of a string at key starting at the specified offset"),
    TOP(SHUTDOWN, "shutdown", -1, ADM | NSC | LDG | STL, 0, 0, 0, RESP, commands_shutdown,
        "Synchronously save the dataset to disk and then shut down the server"),
    TOP(STRLEN, "strlen", 2, RDO | FST, 1, 1, 1, DATA, commands_key_read,
        "Get the length of the value stored in a key"),
    TOP(SUBSTR, "substr", 4, RDO, 1, 1, 1, DATA, commands_range_read,
        "Get a substring of the string stored at a key (GETRANGE)"),
    TOP(TIME, "time", 1, LDG | STL | FST, 0, 0, 0, RESP, commands_server,
        "Return the current server time"),
    TOP(TTL, "ttl", 2, RDO | FST, 1, 1, 1, DATA, commands_key_read,
        "Get the time to live for a key in seconds"),
    TOP(TYPE, "type", 2, RDO | FST, 1, 1, 1, DATA, commands_key_read,
        "Determine the type stored at key"),
    TOP(UNLINK, "unlink", -2, WRT | FST, 1, -1, 1, DATA, commands_del,
        "Delete a key (stoa frees at once, as DEL)"),
    TOP(WRITEMODE, "writemode", -1, LDG | STL | FST, 0, 0, 0, RESP, commands_server,
        "Get, or set to FAST or SAFE, how this connection's writes are acknowledged"),
};

#undef WRT
#undef RDO
#undef OOM
#undef ADM
#undef NSC
#undef BLK
#undef LDG
#undef STL
#undef FST
#undef NAU
#undef CTR
#undef PRT
#undef RESP
#undef DATA
#undef GEO

static const char *const flag_names[] = {
    "write",    "readonly", "denyoom", "admin", "noscript",
    "blocking", "loading",  "stale",   "fast",  "no_auth",
};

const char *stoa_commands_flag_name(uint32_t flag) {
    for (size_t i = 0; i < sizeof(flag_names) / sizeof(flag_names[0]); i++) {
        if (flag == (1u << i)) {
            return flag_names[i];
        }
    }
    return NULL;
}

const struct stoa_commands_spec *stoa_commands_spec(enum stoa_commands_id id) {
    STOA_ASSERT((unsigned)id < STOA_COMMANDS_COUNT);
    return &table[id].spec;
}

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Compares name (any case) with a table name (lower case), as strcmp orders bytes. */
static int name_compare(const uint8_t *name, size_t length, const char *table_name) {
    size_t i = 0;
    for (; i < length && table_name[i] != '\0'; i++) {
        int difference = lower(name[i]) - (uint8_t)table_name[i];
        if (difference != 0) {
            return difference;
        }
    }
    if (i < length) {
        return 1;
    }
    return table_name[i] == '\0' ? 0 : -1;
}

/* Any entry named name, top-level or subcommand, or NULL. */
static const struct stoa_commands_spec *search(const uint8_t *name, size_t length) {
    size_t low = 0;
    size_t high = STOA_COMMANDS_COUNT;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        int difference = name_compare(name, length, table[middle].spec.name);
        if (difference == 0) {
            return &table[middle].spec;
        }
        if (difference < 0) {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    return NULL;
}

const struct stoa_commands_spec *stoa_commands_lookup(const uint8_t *name, size_t length,
                                                      uint32_t doors) {
    const struct stoa_commands_spec *spec = search(name, length);
    if (spec == NULL || spec->container != spec->id || (spec->doors & doors) == 0) {
        return NULL;
    }
    return spec;
}

/* The subcommand sub of container, or NULL. */
static const struct stoa_commands_spec *
subcommand_lookup(const struct stoa_commands_spec *container,
                  const struct stoa_command_argument *sub) {
    uint8_t name[STOA_COMMANDS_NAME_BYTES_MAX];
    size_t prefix = strlen(container->name);
    if (prefix + 1 + sub->length > sizeof(name)) {
        return NULL;
    }
    memcpy(name, container->name, prefix);
    name[prefix] = '|';
    if (sub->length > 0) {
        memcpy(name + prefix + 1, sub->data, sub->length);
    }
    const struct stoa_commands_spec *spec = search(name, prefix + 1 + sub->length);
    if (spec == NULL || spec->container != container->id) {
        return NULL;
    }
    return spec;
}

/* Redis's line for an unknown command: the name cut at 128 bytes, then each argument quoted
 * and followed by a space, until 128 bytes of arguments are written. */
static void unknown_command(const struct stoa_command_argument *argv, size_t argc,
                            struct stoa_commands_output *output) {
    char text[STOA_COMMANDS_ERROR_BYTES_MAX];
    char quoted[STOA_COMMANDS_UNKNOWN_QUOTE_BYTES_MAX + 8];
    size_t quoted_length = 0;
    for (size_t i = 1; i < argc && quoted_length < STOA_COMMANDS_UNKNOWN_QUOTE_BYTES_MAX; i++) {
        size_t budget = STOA_COMMANDS_UNKNOWN_QUOTE_BYTES_MAX - quoted_length;
        int n = snprintf(quoted + quoted_length, sizeof(quoted) - quoted_length, "'%.*s' ",
                         commands_quote_length(&argv[i], budget), commands_quote_text(&argv[i]));
        STOA_ASSERT(n > 0 && (size_t)n < sizeof(quoted) - quoted_length);
        quoted_length += (size_t)n;
    }
    quoted[quoted_length] = '\0';
    snprintf(text, sizeof(text), "ERR unknown command '%.*s', with args beginning with: %s",
             commands_quote_length(&argv[0], STOA_COMMANDS_UNKNOWN_QUOTE_BYTES_MAX),
             commands_quote_text(&argv[0]), quoted);
    commands_output_fail(output, STOA_ERR_UNSUPPORTED, text);
}

static void unknown_subcommand(const struct stoa_command_argument *argv,
                               const struct stoa_commands_spec *container,
                               struct stoa_commands_output *output) {
    char text[STOA_COMMANDS_ERROR_BYTES_MAX];
    char upper[STOA_COMMANDS_NAME_BYTES_MAX];
    size_t length = strlen(container->name);
    STOA_ASSERT(length < sizeof(upper));
    for (size_t i = 0; i <= length; i++) {
        char c = container->name[i];
        upper[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    snprintf(text, sizeof(text), "ERR unknown subcommand '%.*s'. Try %s HELP.",
             commands_quote_length(&argv[1], STOA_COMMANDS_UNKNOWN_QUOTE_BYTES_MAX),
             commands_quote_text(&argv[1]), upper);
    commands_output_fail(output, STOA_ERR_UNSUPPORTED, text);
}

int stoa_commands_find(const struct stoa_command_argument *argv, size_t argc, uint32_t door,
                       struct stoa_commands_output *output,
                       const struct stoa_commands_spec **spec) {
    STOA_ASSERT(argv != NULL && argc >= 1 && output != NULL && spec != NULL);
    const struct stoa_commands_spec *found =
        stoa_commands_lookup(argv[0].data, argv[0].length, door);
    if (found == NULL) {
        unknown_command(argv, argc, output);
        return STOA_ERR_UNSUPPORTED;
    }
    if ((found->flags & STOA_COMMANDS_FLAG_CONTAINER) != 0 && argc >= 2) {
        const struct stoa_commands_spec *sub = subcommand_lookup(found, &argv[1]);
        if (sub == NULL || (sub->doors & door) == 0) {
            unknown_subcommand(argv, found, output);
            return STOA_ERR_UNSUPPORTED;
        }
        found = sub;
    }
    *spec = found;
    return STOA_OK;
}

int stoa_commands_check(const struct stoa_commands_spec *spec, size_t argc,
                        struct stoa_commands_output *output) {
    STOA_ASSERT(spec != NULL && output != NULL);
    bool exact = spec->arity > 0;
    size_t arity = (size_t)(exact ? spec->arity : -spec->arity);
    if ((exact && argc != arity) || argc < arity) {
        char text[STOA_COMMANDS_ERROR_BYTES_MAX];
        snprintf(text, sizeof(text), "ERR wrong number of arguments for '%s' command", spec->name);
        return commands_output_fail(output, STOA_ERR_INVALID, text);
    }
    return STOA_OK;
}

void stoa_commands_output_init(struct stoa_commands_output *output) {
    STOA_ASSERT(output != NULL);
    memset(output, 0, sizeof(*output));
    output->arguments = output->inline_arguments;
    output->argument_capacity = STOA_COMMANDS_ARGUMENTS_INLINE;
}

void stoa_commands_output_free(struct stoa_commands_output *output) {
    STOA_ASSERT(output != NULL);
    if (output->arguments != output->inline_arguments) {
        stoa_free(output->arguments);
    }
    output->arguments = output->inline_arguments;
    output->argument_capacity = STOA_COMMANDS_ARGUMENTS_INLINE;
    output->argument_count = 0;
}

/* Clears the result of the previous request, keeping the argument array. */
static void output_reset(struct stoa_commands_output *output,
                         const struct stoa_commands_spec *spec) {
    output->kind = STOA_COMMANDS_KIND_NONE;
    output->spec = spec;
    output->opcode = 0;
    output->argument_count = 0;
    output->key_count = 0;
    output->flags = 0;
    output->timeout_ms = 0;
    output->deadline_ms = 0;
    output->number = 0;
    output->client_id = 0;
    output->sequence = 0;
    output->server_flags = 0;
    output->error_code = 0;
    output->error_length = 0;
    output->error[0] = '\0';
    output->scratch_used = 0;
}

/* Makes room for count arguments. A large array left by an earlier request is given back
 * first, so one huge request does not pin its memory. */
static int output_reserve(struct stoa_commands_output *output, size_t count) {
    if (output->arguments != output->inline_arguments &&
        output->argument_capacity > STOA_COMMANDS_ARGUMENTS_KEEP) {
        stoa_commands_output_free(output);
    }
    if (count <= output->argument_capacity) {
        return STOA_OK;
    }
    if (count > SIZE_MAX / sizeof(struct stoa_command_argument)) {
        return STOA_ERR_NOMEM;
    }
    struct stoa_command_argument *grown = stoa_alloc(count * sizeof(*grown));
    if (grown == NULL) {
        return STOA_ERR_NOMEM;
    }
    stoa_commands_output_free(output);
    output->arguments = grown;
    output->argument_capacity = count;
    return STOA_OK;
}

int stoa_commands_translate(const struct stoa_commands_spec *spec,
                            const struct stoa_command_argument *argv, size_t argc, int64_t now_ms,
                            uint64_t random, struct stoa_commands_output *output) {
    STOA_ASSERT(spec != NULL && output != NULL && argv != NULL && argc >= 1 && now_ms >= 0);
    STOA_ASSERT((unsigned)spec->id < STOA_COMMANDS_COUNT && &table[spec->id].spec == spec);
    output_reset(output, spec);
    int result = stoa_commands_check(spec, argc, output);
    if (result != STOA_OK) {
        return result;
    }
    if (argc > SIZE_MAX - COMMANDS_ARGUMENTS_EXTRA ||
        output_reserve(output, argc + COMMANDS_ARGUMENTS_EXTRA) != STOA_OK) {
        return commands_output_fail(output, STOA_ERR_NOMEM, COMMANDS_TEXT_NOMEM);
    }
    struct commands_call call = {
        .spec = spec,
        .argv = argv,
        .argc = argc,
        .now_ms = now_ms,
        .random = random,
        .output = output,
    };
    result = table[spec->id].translate(&call);
    STOA_ASSERT(result != STOA_OK || output->kind != STOA_COMMANDS_KIND_NONE);
    STOA_ASSERT(result == STOA_OK || output->kind == STOA_COMMANDS_KIND_ERROR);
    return result;
}

int commands_translate_inner(struct commands_call *call, const struct stoa_commands_spec *spec,
                             size_t first) {
    STOA_ASSERT(call != NULL && spec != NULL && first < call->argc);
    STOA_ASSERT((unsigned)spec->id < STOA_COMMANDS_COUNT && &table[spec->id].spec == spec);
    int result = stoa_commands_check(spec, call->argc - first, call->output);
    if (result != STOA_OK) {
        return result;
    }
    /* The outer translation reserved room for all its words, more than the inner ones. */
    struct commands_call inner = *call;
    inner.spec = spec;
    inner.argv = call->argv + first;
    inner.argc = call->argc - first;
    return table[spec->id].translate(&inner);
}

int stoa_commands_blocking_write(const struct stoa_commands_output *blocked, size_t key_index,
                                 struct stoa_commands_output *write) {
    STOA_ASSERT(blocked != NULL && write != NULL && blocked != write);
    STOA_ASSERT(blocked->kind == STOA_COMMANDS_KIND_BLOCKING && key_index < blocked->key_count);
    output_reset(write, blocked->spec);
    struct commands_call call = {.spec = blocked->spec, .output = write};
    const struct stoa_command_argument *key = &blocked->arguments[key_index];
    commands_begin(&call, STOA_COMMANDS_KIND_WRITE, blocked->opcode);
    commands_push(&call, key->data, key->length);
    if (blocked->opcode == STOA_OP_LMOVE) {
        commands_push(&call, blocked->arguments[1].data, blocked->arguments[1].length);
        commands_push_flags(&call, blocked->flags);
    } else {
        STOA_ASSERT(blocked->opcode == STOA_OP_POP);
        commands_push_flags(&call, blocked->flags);
        commands_push_int64(&call, 1);
    }
    return STOA_OK;
}
