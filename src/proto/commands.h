/*
 * commands: the command core, shared by every front door.
 *
 * A front door (RESP, Geomys, HTTP) parses its bytes into a request: the command name and
 * its arguments as byte strings (argv, Redis's shape). The command core does the rest, once
 * for every protocol (docs/ARCHITECTURE.md §1):
 *
 *   1. stoa_commands_find looks the name up in the command table (case-insensitive, binary
 *      search; CLIENT, COMMAND, CONFIG, GROUP and SESSION are containers whose second word
 *      names the subcommand, as in Redis 7) and words Redis's "unknown command" errors.
 *      SESSION WRITE holds a whole write request after its client id and sequence: its
 *      translation is that write's, with output->client_id and output->sequence set.
 *   2. stoa_commands_check checks the arity from the table, with Redis's error text.
 *   3. stoa_commands_translate turns the request into what the server runs: an engine write
 *      (an opcode of engine/apply.h with normalized arguments: absolute expiries in unix ms,
 *      numbers as 8-byte little-endian i64, flags as one byte), an engine read (a stoa_query
 *      opcode), a blocking pop for the server to park and serve, or a server command (an id
 *      with its arguments) for the server to run. Every syntax and number error is found
 *      here and worded as Redis 7 words it.
 *
 * Everything here is pure: no I/O, no clock (the caller passes now_ms) and no randomness
 * (RANDOMKEY takes the caller's random number). docs/commands.md lists every command.
 *
 * Ownership: the table is static. An output is owned by the caller and reused from command
 * to command (stoa_commands_output_init, then stoa_commands_output_free once). A translated
 * command's arguments borrow the request's argv bytes (valid while they are) and the
 * output's own scratch bytes (so an output must not be copied or moved while its result is
 * in use). Allocation happens only when a command has more than STOA_COMMANDS_ARGUMENTS_INLINE
 * arguments, through stoa_alloc; a failure is STOA_ERR_NOMEM with an error text.
 */
#ifndef STOA_PROTO_COMMANDS_H
#define STOA_PROTO_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/command.h"
#include "util/limits.h"

/* Every command, in the byte order of its name ("client|id" is CLIENT ID), so the table
 * indexed by these ids is sorted for binary search. Never stored or sent: renumbering is
 * fine. */
enum stoa_commands_id {
    STOA_COMMANDS_APPEND,
    STOA_COMMANDS_AUTH,
    STOA_COMMANDS_BGSAVE,
    STOA_COMMANDS_BLMOVE,
    STOA_COMMANDS_BLPOP,
    STOA_COMMANDS_BRPOP,
    STOA_COMMANDS_CLIENT,
    STOA_COMMANDS_CLIENT_GETNAME,
    STOA_COMMANDS_CLIENT_HELP,
    STOA_COMMANDS_CLIENT_ID,
    STOA_COMMANDS_CLIENT_INFO,
    STOA_COMMANDS_CLIENT_KILL,
    STOA_COMMANDS_CLIENT_LIST,
    STOA_COMMANDS_CLIENT_SETNAME,
    STOA_COMMANDS_COMMAND,
    STOA_COMMANDS_COMMAND_COUNT,
    STOA_COMMANDS_COMMAND_DOCS,
    STOA_COMMANDS_COMMAND_HELP,
    STOA_COMMANDS_COMMAND_INFO,
    STOA_COMMANDS_COMMAND_LIST,
    STOA_COMMANDS_CONFIG,
    STOA_COMMANDS_CONFIG_GET,
    STOA_COMMANDS_CONFIG_HELP,
    STOA_COMMANDS_CONFIG_RESETSTAT,
    STOA_COMMANDS_CONFIG_SET,
    STOA_COMMANDS_DBSIZE,
    STOA_COMMANDS_DEBUG,
    STOA_COMMANDS_DECR,
    STOA_COMMANDS_DECRBY,
    STOA_COMMANDS_DEL,
    STOA_COMMANDS_ECHO,
    STOA_COMMANDS_EXISTS,
    STOA_COMMANDS_EXPIRE,
    STOA_COMMANDS_EXPIREAT,
    STOA_COMMANDS_EXPIRETIME,
    STOA_COMMANDS_FLUSHALL,
    STOA_COMMANDS_FLUSHDB,
    STOA_COMMANDS_GET,
    STOA_COMMANDS_GETDEL,
    STOA_COMMANDS_GETEX,
    STOA_COMMANDS_GETRANGE,
    STOA_COMMANDS_GETSET,
    STOA_COMMANDS_GROUP,
    STOA_COMMANDS_GROUP_ADD,
    STOA_COMMANDS_GROUP_HELP,
    STOA_COMMANDS_GROUP_LOG,
    STOA_COMMANDS_GROUP_PREPARE,
    STOA_COMMANDS_GROUP_REMOVE,
    STOA_COMMANDS_GROUP_STATUS,
    STOA_COMMANDS_HELLO,
    STOA_COMMANDS_INCR,
    STOA_COMMANDS_INCRBY,
    STOA_COMMANDS_INCRBYFLOAT,
    STOA_COMMANDS_INFO,
    STOA_COMMANDS_KEYS,
    STOA_COMMANDS_LASTSAVE,
    STOA_COMMANDS_LINDEX,
    STOA_COMMANDS_LINSERT,
    STOA_COMMANDS_LLEN,
    STOA_COMMANDS_LMOVE,
    STOA_COMMANDS_LPOP,
    STOA_COMMANDS_LPOS,
    STOA_COMMANDS_LPUSH,
    STOA_COMMANDS_LPUSHX,
    STOA_COMMANDS_LRANGE,
    STOA_COMMANDS_LREM,
    STOA_COMMANDS_LSET,
    STOA_COMMANDS_LTRIM,
    STOA_COMMANDS_MGET,
    STOA_COMMANDS_MSET,
    STOA_COMMANDS_MSETNX,
    STOA_COMMANDS_OBJDELETE,
    STOA_COMMANDS_OBJGET,
    STOA_COMMANDS_OBJPUT,
    STOA_COMMANDS_OBJUPDATE,
    STOA_COMMANDS_PERSIST,
    STOA_COMMANDS_PEXPIRE,
    STOA_COMMANDS_PEXPIREAT,
    STOA_COMMANDS_PEXPIRETIME,
    STOA_COMMANDS_PING,
    STOA_COMMANDS_PSETEX,
    STOA_COMMANDS_PTTL,
    STOA_COMMANDS_PUSH,
    STOA_COMMANDS_QUIT,
    STOA_COMMANDS_RANDOMKEY,
    STOA_COMMANDS_READONLY,
    STOA_COMMANDS_READWRITE,
    STOA_COMMANDS_RENAME,
    STOA_COMMANDS_RENAMENX,
    STOA_COMMANDS_RESET,
    STOA_COMMANDS_RPOP,
    STOA_COMMANDS_RPUSH,
    STOA_COMMANDS_RPUSHX,
    STOA_COMMANDS_SAVE,
    STOA_COMMANDS_SCAN,
    STOA_COMMANDS_SELECT,
    STOA_COMMANDS_SESSION,
    STOA_COMMANDS_SESSION_HELP,
    STOA_COMMANDS_SESSION_REGISTER,
    STOA_COMMANDS_SESSION_WRITE,
    STOA_COMMANDS_SET,
    STOA_COMMANDS_SETEX,
    STOA_COMMANDS_SETNX,
    STOA_COMMANDS_SETRANGE,
    STOA_COMMANDS_SHUTDOWN,
    STOA_COMMANDS_STRLEN,
    STOA_COMMANDS_SUBSTR,
    STOA_COMMANDS_TIME,
    STOA_COMMANDS_TTL,
    STOA_COMMANDS_TYPE,
    STOA_COMMANDS_UNLINK,
    STOA_COMMANDS_WRITEMODE,
    STOA_COMMANDS_COUNT /* the number of commands */
};

/* Command flags, as Redis's COMMAND INFO reports them (stoa_commands_flag_name). */
enum stoa_commands_flag {
    STOA_COMMANDS_FLAG_WRITE = 1u << 0,      /* changes data: logged, refused when read-only */
    STOA_COMMANDS_FLAG_READONLY = 1u << 1,   /* reads data only */
    STOA_COMMANDS_FLAG_DENYOOM = 1u << 2,    /* may grow memory: refused over the limit */
    STOA_COMMANDS_FLAG_ADMIN = 1u << 3,      /* operator command */
    STOA_COMMANDS_FLAG_NOSCRIPT = 1u << 4,   /* as Redis marks it (no scripts in stoa yet) */
    STOA_COMMANDS_FLAG_BLOCKING = 1u << 5,   /* may park the client */
    STOA_COMMANDS_FLAG_LOADING = 1u << 6,    /* allowed while the data set is loading */
    STOA_COMMANDS_FLAG_STALE = 1u << 7,      /* allowed on a stale replica */
    STOA_COMMANDS_FLAG_FAST = 1u << 8,       /* O(1) or O(log n) */
    STOA_COMMANDS_FLAG_NO_AUTH = 1u << 9,    /* allowed before AUTH */
    STOA_COMMANDS_FLAG_CONTAINER = 1u << 10, /* has subcommands; not in COMMAND's flags */
    STOA_COMMANDS_FLAG_PROTECTED = 1u << 11, /* off unless enabled in config (DEBUG) */
};

/* The front doors that expose a command (a bitmask). */
enum stoa_commands_door {
    STOA_COMMANDS_DOOR_RESP = 1u << 0,
    STOA_COMMANDS_DOOR_GEOMYS = 1u << 1,
    STOA_COMMANDS_DOOR_HTTP = 1u << 2,
};

/* One command's spec. */
struct stoa_commands_spec {
    enum stoa_commands_id id;
    const char *name;    /* lower case; "client|setname" for a subcommand (Redis's fullname) */
    const char *summary; /* one line, for COMMAND DOCS and `stoa cli` help */
    int32_t arity;       /* Redis's: argc including the name; negative = at least -arity */
    uint32_t flags;      /* enum stoa_commands_flag */
    int32_t first_key;   /* Redis's key positions, as COMMAND reports them; 0 0 0 = none */
    int32_t last_key;    /* negative counts from the end: -1 is the last argument */
    int32_t key_step;
    uint32_t doors;                  /* enum stoa_commands_door */
    enum stoa_commands_id container; /* a subcommand's container; else its own id */
};

/* What a translated request is. */
enum stoa_commands_kind {
    STOA_COMMANDS_KIND_NONE = 0,
    STOA_COMMANDS_KIND_ERROR,    /* the request is refused: output->error says why */
    STOA_COMMANDS_KIND_WRITE,    /* propose opcode with arguments to the engine (stoa_apply) */
    STOA_COMMANDS_KIND_READ,     /* answer opcode with arguments by stoa_query */
    STOA_COMMANDS_KIND_BLOCKING, /* a blocking pop: see stoa_commands_blocking_write */
    STOA_COMMANDS_KIND_SERVER,   /* the server runs spec->id with arguments */
};

/* Options of server commands, in output->server_flags. */
enum stoa_commands_server_flag {
    STOA_COMMANDS_SHUTDOWN_NOSAVE = 1u << 0,
    STOA_COMMANDS_SHUTDOWN_SAVE = 1u << 1,
    STOA_COMMANDS_SHUTDOWN_NOW = 1u << 2,
    STOA_COMMANDS_SHUTDOWN_FORCE = 1u << 3,
    STOA_COMMANDS_SHUTDOWN_ABORT = 1u << 4,
    STOA_COMMANDS_BGSAVE_SCHEDULE = 1u << 0,
    STOA_COMMANDS_HELLO_AUTH = 1u << 0,    /* arguments[0] user, arguments[1] password */
    STOA_COMMANDS_HELLO_SETNAME = 1u << 1, /* arguments[2] the name */
};

/*
 * The result of stoa_commands_translate, reused from request to request.
 *
 * WRITE and READ: opcode and arguments[0 .. argument_count) as engine/apply.h lists them.
 * BLOCKING: opcode is the write that serves it (STOA_OP_POP for BLPOP and BRPOP, STOA_OP_LMOVE
 *   for BLMOVE); arguments[0 .. key_count) are the keys to wait on (BLMOVE: one, the source;
 *   arguments[1] is then the destination); flags is the POP_* or LMOVE_* byte; timeout_ms is
 *   the wait (0: forever) and deadline_ms is now_ms + timeout_ms (0: forever).
 * SERVER: arguments are the request's words after the command name (after the subcommand
 *   for a subcommand), except HELLO (see STOA_COMMANDS_HELLO_*); number is SELECT's index
 *   or HELLO's protocol version (0: not given); server_flags the options parsed.
 * ERROR: error_code (an err.h code) and error, the full Redis error line without CR LF
 *   ("ERR syntax error"), NUL-terminated, error_length bytes.
 * client_id and sequence: the session of a WRITE (engine/session.h); 0 and 0 (anonymous)
 *   except for SESSION WRITE, whose inner command is the translated write.
 */
struct stoa_commands_output {
    enum stoa_commands_kind kind;
    const struct stoa_commands_spec *spec;
    uint32_t opcode;
    size_t argument_count;
    struct stoa_command_argument *arguments; /* inline_arguments or owned heap memory */
    size_t argument_capacity;
    size_t key_count;
    uint8_t flags;
    int64_t timeout_ms;
    int64_t deadline_ms;
    int64_t number;
    uint64_t client_id; /* a WRITE's session: 0 = anonymous */
    uint64_t sequence;
    uint32_t server_flags;
    int error_code;
    size_t error_length;
    char error[STOA_COMMANDS_ERROR_BYTES_MAX];
    size_t scratch_used;
    uint8_t scratch[STOA_COMMANDS_SCRATCH_BYTES]; /* the i64 and u8 arguments point here */
    struct stoa_command_argument inline_arguments[STOA_COMMANDS_ARGUMENTS_INLINE];
};

/* Makes an empty output. Allocates nothing. */
void stoa_commands_output_init(struct stoa_commands_output *output);

/* Frees a grown argument array. The output may be initialized again. */
void stoa_commands_output_free(struct stoa_commands_output *output);

/* The spec of id (static storage). */
const struct stoa_commands_spec *stoa_commands_spec(enum stoa_commands_id id);

/* The top-level command named name (length bytes, any case) exposed on one of doors, or
 * NULL. Subcommands are not found this way (stoa_commands_find finds them). */
const struct stoa_commands_spec *stoa_commands_lookup(const uint8_t *name, size_t length,
                                                      uint32_t doors);

/* Finds the spec for the request argv[0 .. argc) on door: the command, or for a container
 * with argc >= 2, its subcommand argv[1]. Returns 0 and sets *spec; or STOA_ERR_UNSUPPORTED
 * with Redis's error in output ("ERR unknown command 'foo', with args beginning with: 'a' ",
 * "ERR unknown subcommand 'foo'. Try CLIENT HELP."), kind ERROR and *spec untouched. argc
 * must be at least 1. */
int stoa_commands_find(const struct stoa_command_argument *argv, size_t argc, uint32_t door,
                       struct stoa_commands_output *output, const struct stoa_commands_spec **spec);

/* Checks argc against spec's arity. Returns 0, or STOA_ERR_INVALID with "ERR wrong number of
 * arguments for '<name>' command" in output (kind ERROR). */
int stoa_commands_check(const struct stoa_commands_spec *spec, size_t argc,
                        struct stoa_commands_output *output);

/* Translates the request argv[0 .. argc) for spec (found by stoa_commands_find; the arity is
 * checked again here) as of now_ms (unix ms, for relative expiries and timeouts). random is
 * RANDOMKEY's random number. Returns 0 with output filled (kind WRITE, READ, BLOCKING or
 * SERVER), or a negative err.h code with kind ERROR and the Redis error line in output. */
int stoa_commands_translate(const struct stoa_commands_spec *spec,
                            const struct stoa_command_argument *argv, size_t argc, int64_t now_ms,
                            uint64_t random, struct stoa_commands_output *output);

/* For a BLOCKING output, makes in write the engine write that serves it from the key
 * blocked->arguments[key_index] once that key has data: POP (key, flags, count 1) or LMOVE
 * (source, destination, flags). write borrows blocked's key bytes. Returns 0. */
int stoa_commands_blocking_write(const struct stoa_commands_output *blocked, size_t key_index,
                                 struct stoa_commands_output *write);

/* Redis's name of one flag bit ("write", "readonly", "denyoom", "admin", "noscript",
 * "blocking", "loading", "stale", "fast", "no_auth"), or NULL for a bit COMMAND does not
 * report. Static storage. */
const char *stoa_commands_flag_name(uint32_t flag);

/* Parses text as Redis's string2ll does: optional '-', no '+', no spaces, no leading zeros
 * (but "0"; "-0" is refused), at most 20 bytes, within int64. Returns 0 or STOA_ERR_INVALID
 * (*value untouched). */
int stoa_commands_parse_int64(const uint8_t *text, size_t length, int64_t *value);

/* Parses text as Redis's string2ld does (strtold: decimal, hex, exponents, "inf"; not empty,
 * no leading space, no trailing bytes, no NaN, no overflow or underflow to zero; shorter
 * than STOA_COMMANDS_FLOAT_TEXT_BYTES_MAX). Returns 0 or STOA_ERR_INVALID. */
int stoa_commands_parse_long_double(const uint8_t *text, size_t length, long double *value);

#endif
