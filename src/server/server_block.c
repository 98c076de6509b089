/* Blocking pops: BLPOP, BRPOP and BLMOVE. A request whose keys are all empty parks its
 * connection (its keys copied, its input paused); after every write, and at every loop
 * hook, parked connections are offered the data in arrival order, and the block timer
 * answers the ones whose timeout passed. Serving is an ordinary logged write (POP or
 * LMOVE), so it is durable before the client hears of it and replicas see the same pop.
 *
 * On a replica group member the pop is a write through the group (so every member pops the
 * same element, and two members' clients never get the same one): the request is parked at
 * once and its keys are tried one pop at a time; a nil answer moves on to the next key, and
 * when none is left the connection waits until the member applies more of the log (the
 * replica wakes the loop hook after every apply), then tries the keys it now holds data in.
 * A pop in flight is never timed out: its answer decides. */
#include <string.h>

#include "server/server_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

/* How often parked connections' deadlines are checked: Redis checks timeouts on its own
 * 10 Hz clock; 10 ms keeps short timeouts (0.1 s) honest. */
#define BLOCK_TIMER_MS 10

/* A reply that keeps an integer or an error: for LLEN on a watched key. */
struct length_probe {
    struct stoa_reply reply;
    int64_t length;
    int error;
    char text[STOA_REPLY_TEXT_BYTES_MAX];
};

static void probe_integer(struct stoa_reply *reply, int64_t value) {
    ((struct length_probe *)reply->self)->length = value;
}
static void probe_error(struct stoa_reply *reply, int code, const char *text) {
    struct length_probe *probe = reply->self;
    probe->error = code;
    size_t length = strnlen(text, sizeof(probe->text) - 1);
    memcpy(probe->text, text, length);
    probe->text[length] = '\0';
}
static void probe_status(struct stoa_reply *reply, const char *text) {
    (void)reply, (void)text;
}
static void probe_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    (void)reply, (void)data, (void)length;
}
static void probe_none(struct stoa_reply *reply) {
    (void)reply;
}
static void probe_array(struct stoa_reply *reply, size_t count) {
    (void)reply, (void)count;
}
static const struct stoa_reply_ops probe_ops = {
    probe_status, probe_error, probe_integer, probe_bulk, probe_none, probe_array, probe_none};

/* The watched keys and their serving write, as the command core describes a BLOCKING
 * request: for a parked connection, rebuilt from its copies. */
static void describe_parked(const struct connection *connection, struct stoa_commands_output *out) {
    stoa_commands_output_init(out);
    out->kind = STOA_COMMANDS_KIND_BLOCKING;
    out->spec = stoa_commands_spec(connection->blocked_command);
    out->opcode = connection->blocked_opcode;
    out->flags = connection->blocked_flags;
    out->arguments = connection->blocked_keys;
    out->argument_count =
        connection->blocked_key_count + (connection->blocked_opcode == STOA_OP_LMOVE ? 1 : 0);
    out->key_count = connection->blocked_key_count;
}

/* Serves request from its first key that has data. Returns true when the client got its
 * answer, false when every key is empty. A key of another type is an error answer only when
 * the request arrives (first_attempt), as in Redis: a parked client keeps waiting through a
 * key that became a string, and is served when the key holds a list again. */
static bool try_serve(struct connection *connection, const struct stoa_commands_output *request,
                      int64_t now_ms, bool first_attempt) {
    struct stoa_server *server = connection->server;
    for (size_t i = 0; i < request->key_count; i++) {
        struct length_probe probe = {.reply = {&probe_ops, &probe}};
        (void)stoa_engine_query(server->engine, now_ms, STOA_OP_LLEN, &request->arguments[i], 1,
                                &probe.reply);
        if (probe.error != 0 && !first_attempt) {
            continue;
        }
        if (probe.error != 0) {
            connection->writer.reply.ops->error(&connection->writer.reply, probe.error, probe.text);
            return true;
        }
        if (probe.length == 0) {
            continue;
        }
        struct stoa_commands_output *write = &server->blocked_write;
        (void)stoa_commands_blocking_write(request, i, write);
        if (request->opcode == STOA_OP_POP) {
            /* BLPOP and BRPOP answer [key, element]; the POP's reply is the element. */
            connection->writer.reply.ops->array(&connection->writer.reply, 2);
            connection->writer.reply.ops->bulk(&connection->writer.reply,
                                               request->arguments[i].data,
                                               request->arguments[i].length);
        }
        stoa_server_run_write(connection, write, now_ms);
        return true;
    }
    return false;
}

static void on_block_timer(void *context) {
    struct stoa_server *server = context;
    stoa_server_blocked_expire(server, stoa_env_real_ms(server->env));
}

static void forget(struct connection *connection) {
    stoa_free(connection->blocked_keys);
    stoa_free(connection->blocked_bytes);
    connection->blocked_keys = NULL;
    connection->blocked_bytes = NULL;
    connection->blocked = false;
    connection->blocked_popping = false;
    connection->blocked_first = false;
}

/* Takes connection off the parked list and lets its input run again. */
static void unpark(struct connection *connection) {
    struct stoa_server *server = connection->server;
    for (struct connection **link = &server->blocked; *link != NULL;
         link = &(*link)->next_blocked) {
        if (*link == connection) {
            *link = connection->next_blocked;
            break;
        }
    }
    connection->next_blocked = NULL;
    server->blocked_count--;
    forget(connection);
    stoa_server_resume_later(connection);
    if (server->blocked_count == 0) {
        server->env->ops->timer_stop(server->block_timer);
    }
}

/* Copies the request's arguments (keys, and BLMOVE's destination) out of the input buffer. */
static int copy_request(struct connection *connection, const struct stoa_commands_output *out) {
    size_t bytes = 0;
    for (size_t i = 0; i < out->argument_count; i++) {
        bytes += out->arguments[i].length;
    }
    connection->blocked_keys =
        stoa_calloc(out->argument_count, sizeof(struct stoa_command_argument));
    connection->blocked_bytes = stoa_alloc(bytes + 1);
    if (connection->blocked_keys == NULL || connection->blocked_bytes == NULL) {
        forget(connection);
        return STOA_ERR_NOMEM;
    }
    size_t offset = 0;
    for (size_t i = 0; i < out->argument_count; i++) {
        if (out->arguments[i].length > 0) {
            memcpy(connection->blocked_bytes + offset, out->arguments[i].data,
                   out->arguments[i].length);
        }
        connection->blocked_keys[i].data = connection->blocked_bytes + offset;
        connection->blocked_keys[i].length = out->arguments[i].length;
        offset += out->arguments[i].length;
    }
    connection->blocked_key_count = out->key_count;
    connection->blocked_opcode = out->opcode;
    connection->blocked_flags = out->flags;
    connection->blocked_deadline_ms = out->deadline_ms;
    connection->blocked_command = out->spec->id;
    return STOA_OK;
}

static int park(struct connection *connection, const struct stoa_commands_output *out) {
    struct stoa_server *server = connection->server;
    if (server->block_timer == NULL) {
        int result = server->env->ops->timer_create(server->env, on_block_timer, server,
                                                    &server->block_timer);
        if (result != STOA_OK) {
            return result;
        }
    }
    int result = copy_request(connection, out);
    if (result != STOA_OK) {
        return result;
    }
    connection->blocked = true;
    struct connection **tail = &server->blocked;
    while (*tail != NULL) {
        tail = &(*tail)->next_blocked;
    }
    *tail = connection;
    if (server->blocked_count++ == 0) {
        server->env->ops->timer_start(server->block_timer, BLOCK_TIMER_MS, BLOCK_TIMER_MS);
    }
    return STOA_OK;
}

/* ---- replica groups: the pop is a write through the group ---- */

/* What the group answered to a pop in flight. */
enum pop_outcome {
    POP_SERVED = 1, /* an element, already written to the client */
    POP_EMPTY,      /* nil: the key had nothing (or another client won it) */
    POP_FAILED,     /* an error, kept in pop_error and pop_error_text */
};

static void pop_fail(struct connection *connection, int code, const char *text) {
    connection->pop_outcome = POP_FAILED;
    connection->pop_error = code;
    size_t length = strnlen(text, sizeof(connection->pop_error_text) - 1);
    memcpy(connection->pop_error_text, text, length);
    connection->pop_error_text[length] = '\0';
}

/* The element goes straight to the client: BLPOP and BRPOP answer [key, element]. */
static void pop_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    struct connection *connection = reply->self;
    struct stoa_reply *client = &connection->writer.reply;
    if (connection->blocked_opcode == STOA_OP_POP) {
        const struct stoa_command_argument *key =
            &connection->blocked_keys[connection->blocked_next_key];
        client->ops->array(client, 2);
        client->ops->bulk(client, key->data, key->length);
    }
    client->ops->bulk(client, data, length);
    connection->pop_outcome = POP_SERVED;
}
static void pop_empty(struct stoa_reply *reply) {
    ((struct connection *)reply->self)->pop_outcome = POP_EMPTY;
}
static void pop_error(struct stoa_reply *reply, int code, const char *text) {
    pop_fail(reply->self, code, text);
}
/* A POP without COUNT and an LMOVE answer a bulk or nil: anything else is a bug somewhere. */
static void pop_status(struct stoa_reply *reply, const char *text) {
    (void)text;
    pop_fail(reply->self, STOA_ERR_MALFORMED, "ERR unexpected reply to a blocking pop");
}
static void pop_integer(struct stoa_reply *reply, int64_t value) {
    (void)value;
    pop_status(reply, NULL);
}
static void pop_array(struct stoa_reply *reply, size_t count) {
    (void)count;
    pop_status(reply, NULL);
}
static const struct stoa_reply_ops pop_ops = {pop_status, pop_error, pop_integer, pop_bulk,
                                              pop_empty,  pop_array, pop_empty};

/* Whether this member's copy of key holds elements of a list (a hint: the group decides). */
static bool holds_data(struct stoa_server *server, const struct stoa_command_argument *key,
                       int64_t now_ms) {
    struct length_probe probe = {.reply = {&probe_ops, &probe}};
    (void)stoa_engine_query(server->engine, now_ms, STOA_OP_LLEN, key, 1, &probe.reply);
    return probe.error == 0 && probe.length > 0;
}

static uint64_t applied_index(const struct stoa_server *server) {
    struct stoa_engine_stats stats;
    stoa_engine_stats(server->engine, &stats);
    return stats.applied_index;
}

/* Sends the pass's next pop to the group, or ends the pass when no key is left to try. The
 * answer comes to stoa_server_blocked_done, maybe before this returns. */
static void group_step(struct connection *connection, int64_t now_ms) {
    struct stoa_server *server = connection->server;
    struct stoa_commands_output request;
    describe_parked(connection, &request);
    size_t key = connection->blocked_next_key;
    while (key < request.key_count && !connection->blocked_first &&
           !holds_data(server, &request.arguments[key], now_ms)) {
        key++;
    }
    connection->blocked_next_key = key;
    if (key == request.key_count) {
        connection->blocked_first = false; /* parked until the member applies more */
        return;
    }
    (void)stoa_commands_blocking_write(&request, key, &server->blocked_write);
    connection->blocked_popping = true;
    connection->pop_outcome = 0;
    connection->waiter.reply = &connection->pop_reply;
    (void)stoa_server_run_replicated_write(connection, &server->blocked_write, now_ms);
}

static void group_block(struct connection *connection, const struct stoa_commands_output *out,
                        int64_t now_ms) {
    int result = park(connection, out);
    if (result != STOA_OK) {
        connection->writer.reply.ops->error(&connection->writer.reply, result,
                                            "OOM cannot block the client: out of memory");
        return;
    }
    connection->pop_reply = (struct stoa_reply){&pop_ops, connection};
    connection->blocked_first = true;
    connection->blocked_next_key = 0;
    connection->blocked_applied_index = applied_index(connection->server);
    group_step(connection, now_ms);
}

/* Starts a pass for every parked connection whose member applied more of the log since its
 * last pass began, and moves on the passes whose last pop came back empty. */
static void group_wake(struct stoa_server *server) {
    uint64_t applied = applied_index(server);
    int64_t now_ms = stoa_env_real_ms(server->env);
    server->waking = true;
    struct connection *connection = server->blocked;
    while (connection != NULL) {
        struct connection *next = connection->next_blocked;
        bool idle = connection->blocked_next_key >= connection->blocked_key_count;
        if (idle && applied > connection->blocked_applied_index) {
            connection->blocked_next_key = 0;
            connection->blocked_applied_index = applied;
            connection->blocked_first = false;
            idle = false;
        }
        if (!connection->blocked_popping && !idle) {
            group_step(connection, now_ms);
        }
        connection = next;
    }
    server->waking = false;
}

/* Whether a failed pop leaves a parked client waiting: a later pass ignores a key of another
 * type (as the single node does), and a pop the group did not apply (no leader, a slot lost
 * to another leader, a full batch) is tried again after the next apply. */
static bool keeps_waiting(const struct connection *connection) {
    if (connection->blocked_first) {
        return false;
    }
    int code = connection->pop_error;
    return code == STOA_ERR_TYPE || code == STOA_ERR_NOT_LEADER || code == STOA_ERR_BUSY;
}

void stoa_server_blocked_done(struct connection *connection) {
    STOA_ASSERT(connection->blocked && connection->blocked_popping);
    connection->blocked_popping = false;
    connection->waiter.reply = &connection->writer.reply;
    stoa_server_mark_dirty(connection);
    int outcome = connection->pop_outcome;
    if (outcome == POP_SERVED) {
        unpark(connection);
        return;
    }
    if (outcome == POP_FAILED && !keeps_waiting(connection)) {
        connection->writer.reply.ops->error(&connection->writer.reply, connection->pop_error,
                                            connection->pop_error_text);
        unpark(connection);
        return;
    }
    /* Empty (or not applied): the pass goes on with the next key at the next wake. */
    connection->blocked_next_key++;
}

void stoa_server_block(struct connection *connection, const struct stoa_commands_output *out,
                       int64_t now_ms) {
    if (connection->server->options.replica != NULL) {
        group_block(connection, out, now_ms);
        return;
    }
    if (try_serve(connection, out, now_ms, true)) {
        stoa_server_blocked_wake(connection->server);
        return;
    }
    int result = park(connection, out);
    if (result != STOA_OK) {
        connection->writer.reply.ops->error(&connection->writer.reply, result,
                                            "OOM cannot block the client: out of memory");
    }
}

void stoa_server_blocked_wake(struct stoa_server *server) {
    if (server->blocked_count == 0 || server->waking) {
        return;
    }
    if (server->options.replica != NULL) {
        group_wake(server);
        return;
    }
    /* A served LMOVE may feed another parked client: repeat until a pass serves nobody,
     * at most once per parked client. */
    server->waking = true;
    int64_t now_ms = stoa_env_real_ms(server->env);
    size_t passes = server->blocked_count;
    for (size_t pass = 0; pass < passes; pass++) {
        bool served = false;
        struct connection *connection = server->blocked;
        while (connection != NULL) {
            struct connection *next = connection->next_blocked;
            struct stoa_commands_output request;
            describe_parked(connection, &request);
            if (try_serve(connection, &request, now_ms, false)) {
                unpark(connection);
                served = true;
            }
            connection = next;
        }
        if (!served) {
            break;
        }
    }
    server->waking = false;
}

void stoa_server_blocked_expire(struct stoa_server *server, int64_t now_ms) {
    struct connection *connection = server->blocked;
    while (connection != NULL) {
        struct connection *next = connection->next_blocked;
        int64_t deadline = connection->blocked_deadline_ms;
        /* A pop in flight cannot be called back: its answer decides. */
        if (deadline != 0 && now_ms >= deadline && !connection->blocked_popping) {
            /* Redis answers a timed-out BLPOP, BRPOP and BLMOVE alike: a null array. */
            connection->writer.reply.ops->null_array(&connection->writer.reply);
            unpark(connection);
        }
        connection = next;
    }
}

void stoa_server_unblock(struct connection *connection) {
    if (connection->blocked) {
        unpark(connection);
    }
}
