/* The multiverse9 front door: sessions, permissions, and CREATE/REMOVE/AGGREGATE/METADATA/
 * HELLO/AUTH through the command core and the engine, or on a member of a replica group
 * through the replica (multiverse9_server.h). */
#include "server/multiverse9_server.h"

#include <stdio.h>
#include <string.h>

#include "server/multiverse9_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"

/* The input buffer holds one unfinished request (an unframed one is whole only at its end)
 * plus one read's bytes; a larger request is refused by the parser before it fills. */
#define INPUT_BYTES_MAX                                                                            \
    (STOA_MULTIVERSE9_PAYLOAD_BYTES_MAX + 2 + STOA_MULTIVERSE9_LENGTH_BYTES +                      \
     2 * STOA_STREAM_READ_BYTES_MAX)
/* The scratch buffer holds one engine reply's text (an error line). */
#define SCRATCH_BYTES_MAX (64 * 1024)

/* ---- the parts every request uses ---- */

static void reply_error(struct multiverse9_session *session, bool framed, uint8_t code,
                        const char *text) {
    session->server->stats.errors++;
    STOA_LOG_DEBUG(session->server->log, MULTIVERSE9_MODULE, "error reply",
                   STOA_FIELD_UINT("client", session->conn->id),
                   STOA_FIELD_STR("peer", session->conn->peer), STOA_FIELD_STR("error", text));
    stoa_multiverse9_write_error(&session->writer, framed, code, text);
}

/* Translates argv[0 .. argc) for the command id. Returns 0, or the command core's error
 * (its text in server->translated.error). */
static int translate(struct stoa_multiverse9_server *server, enum stoa_commands_id id,
                     size_t argc, int64_t now_ms) {
    return stoa_commands_translate(stoa_commands_spec(id), server->argv, argc, now_ms, 0,
                                   &server->translated);
}

static void set_argument(struct stoa_multiverse9_server *server, size_t index, const void *data,
                         size_t length) {
    server->argv[index] = (struct stoa_command_argument){.data = data, .length = length};
}

/* Runs a translated write through the engine for session; the reply text (an error) goes to
 * server->scratch. Returns 0 or the engine's error. */
static int engine_write(struct multiverse9_session *session, int64_t now_ms) {
    struct stoa_multiverse9_server *server = session->server;
    struct stoa_commands_output *out = &server->translated;
    struct stoa_command write = {.opcode = out->opcode,
                                 .stamp_ms = now_ms,
                                 .argument_count = out->argument_count,
                                 .arguments = out->arguments};
    stoa_buf_reset(&server->scratch);
    struct stoa_multiverse9_value_reply value;
    stoa_multiverse9_value_reply_init(&value, &server->scratch);
    uint64_t index = 0;
    int result = stoa_engine_write(server->engine, &write, &value.reply, &index);
    stoa_conn_wrote(session->conn, index);
    if (result == STOA_OK && value.result != STOA_OK) {
        result = value.result;
    }
    return result;
}

/* An error reply's text, NUL-terminated, from buf (scratch, or a session's write_text). */
static const char *reply_text(struct stoa_buf *buf) {
    if (stoa_buf_append_byte(buf, 0) != STOA_OK || buf->length == 0) {
        return "Error: the engine refused the write";
    }
    return (const char *)buf->data;
}

static bool starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The error code of a refused write, from its text ("Error: <text>"): the replica group's
 * refusals (server/replica.h) have their own, since they tell whether a retry is safe. */
static uint8_t write_error_code(const char *text) {
    const char *reason = starts_with(text, "Error: ") ? text + 7 : text;
    if (starts_with(reason, "CLUSTERDOWN") || starts_with(reason, "TRYAGAIN")) {
        return STOA_MULTIVERSE9_ERROR_UNAVAILABLE;
    }
    if (starts_with(reason, "TIMEOUT")) {
        return STOA_MULTIVERSE9_ERROR_TIMEOUT;
    }
    return STOA_MULTIVERSE9_ERROR_FAILED;
}

/* CREATE's or REMOVE's answer: OK with CREATE's key (key_length 0 for REMOVE), or the
 * refusal in text. */
static void answer_write(struct multiverse9_session *session, bool framed, bool refused,
                         const char *text, const char *key, size_t key_length) {
    if (refused) {
        reply_error(session, framed, write_error_code(text), text);
        return;
    }
    stoa_multiverse9_write_ok(&session->writer, framed, key, key_length);
}

/* The replica's done callback for a CREATE or REMOVE. It may run inside stoa_replica_write
 * (the connection was not paused: on_input goes on at once) or later from the replica's own
 * callbacks (the connection resumes at the loop hook, outside them). */
static void on_group_write(struct stoa_replica_waiter *waiter) {
    struct multiverse9_session *session = waiter->context;
    struct stoa_conn *conn = session->conn;
    session->write_waiting = false;
    bool refused = session->write_reply.result != STOA_OK;
    answer_write(session, session->write_framed, refused,
                 refused ? reply_text(&session->write_text) : NULL, session->write_key,
                 strlen(session->write_key));
    conn->output_error = session->writer.error;
    if (!conn->paused) {
        return;
    }
    if (session->close_when_done) {
        stoa_conn_close_after_reply(conn, "unframed request answered");
    }
    stoa_conn_resume_later(conn);
}

/* On a member of a replica group: the translated write goes to the group; the connection
 * waits for its answer unless it came at once. */
static void group_write(struct multiverse9_session *session, bool framed, const char *key,
                        int64_t now_ms) {
    struct stoa_multiverse9_server *server = session->server;
    struct stoa_commands_output *out = &server->translated;
    struct stoa_command write = {.opcode = out->opcode,
                                 .stamp_ms = now_ms,
                                 .argument_count = out->argument_count,
                                 .arguments = out->arguments};
    session->write_framed = framed;
    snprintf(session->write_key, sizeof(session->write_key), "%s", key != NULL ? key : "");
    stoa_buf_reset(&session->write_text);
    stoa_multiverse9_value_reply_init(&session->write_reply, &session->write_text);
    session->write_waiting = true;
    server->stats.group_requests++;
    (void)stoa_replica_write(server->replica, &write, server->write_mode, &session->waiter);
    if (session->write_waiting) {
        stoa_conn_pause(session->conn);
    }
}

/* Runs the translated CREATE (key: its new key) or REMOVE (key NULL): through the engine and
 * answered now on a single node, through the group on a member. */
static void run_write(struct multiverse9_session *session, bool framed, const char *key,
                      int64_t now_ms) {
    struct stoa_multiverse9_server *server = session->server;
    if (server->replica != NULL) {
        group_write(session, framed, key, now_ms);
        return;
    }
    bool refused = engine_write(session, now_ms) != STOA_OK;
    answer_write(session, framed, refused, refused ? reply_text(&server->scratch) : NULL, key,
                 key != NULL ? strlen(key) : 0);
}

void multiverse9_read_value(struct stoa_multiverse9_server *server, const char *ulid,
                            struct stoa_buf *buf, int *error) {
    int64_t now_ms = stoa_env_real_ms(server->env);
    set_argument(server, 0, "GET", 3);
    set_argument(server, 1, ulid, STOA_ULID_TEXT_LENGTH);
    struct stoa_multiverse9_value_reply value;
    stoa_multiverse9_value_reply_init(&value, buf);
    if (translate(server, STOA_COMMANDS_GET, 2, now_ms) != STOA_OK) {
        value.reply.ops->error(&value.reply, STOA_ERR_INVALID, server->translated.error);
    } else {
        struct stoa_commands_output *out = &server->translated;
        (void)stoa_engine_query(server->engine, now_ms, out->opcode, out->arguments,
                                out->argument_count, &value.reply);
    }
    if (*error == STOA_OK) {
        *error = value.error;
    }
}

bool multiverse9_group_read(struct stoa_multiverse9_server *server, const char *ulid,
                            struct stoa_replica_waiter *waiter) {
    int64_t now_ms = stoa_env_real_ms(server->env);
    set_argument(server, 0, "GET", 3);
    set_argument(server, 1, ulid, STOA_ULID_TEXT_LENGTH);
    if (translate(server, STOA_COMMANDS_GET, 2, now_ms) != STOA_OK) {
        waiter->reply->ops->error(waiter->reply, STOA_ERR_INVALID, server->translated.error);
        return true;
    }
    struct stoa_commands_output *out = &server->translated;
    server->stats.group_requests++;
    return stoa_replica_read(server->replica, now_ms, out->opcode, out->arguments,
                             out->argument_count, server->read_mode, waiter);
}

/* ---- data requests ---- */

static void run_create(struct multiverse9_session *session,
                       const struct stoa_multiverse9_request *request) {
    struct stoa_multiverse9_server *server = session->server;
    if (request->payload_length == 0) {
        reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_MALFORMED,
                    "CREATE needs a value");
        return;
    }
    int64_t now_ms = stoa_env_real_ms(server->env);
    uint8_t random[STOA_ULID_RANDOM_BYTES];
    stoa_env_random_bytes(server->env, random, sizeof(random));
    struct stoa_ulid ulid;
    char text[STOA_ULID_TEXT_LENGTH + 1];
    if (stoa_ulid_generate(&server->ulids, now_ms, random, &ulid) != STOA_OK) {
        reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_FAILED,
                    "cannot make a ULID (clock out of range)");
        return;
    }
    stoa_ulid_encode(&ulid, text);
    set_argument(server, 0, "SET", 3);
    set_argument(server, 1, text, STOA_ULID_TEXT_LENGTH);
    set_argument(server, 2, request->payload, request->payload_length);
    int result = translate(server, STOA_COMMANDS_SET, 3, now_ms);
    if (result != STOA_OK) {
        reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_FAILED,
                    server->translated.error);
        return;
    }
    run_write(session, request->framed, text, now_ms);
}

/* Splits the payload into server->targets; answers an error and returns false if it is not
 * a valid list. */
static bool parse_targets(struct multiverse9_session *session,
                          const struct stoa_multiverse9_request *request, bool allow_remote,
                          size_t *count) {
    char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX];
    if (stoa_multiverse9_targets(request->payload, request->payload_length, allow_remote,
                                 session->server->targets, STOA_MULTIVERSE9_TARGETS_MAX, count,
                                 error) != STOA_OK) {
        reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_MALFORMED, error);
        return false;
    }
    return true;
}

static void run_remove(struct multiverse9_session *session,
                       const struct stoa_multiverse9_request *request) {
    struct stoa_multiverse9_server *server = session->server;
    size_t count = 0;
    if (!parse_targets(session, request, false, &count)) {
        return;
    }
    int64_t now_ms = stoa_env_real_ms(server->env);
    set_argument(server, 0, "DEL", 3);
    for (size_t i = 0; i < count; i++) {
        set_argument(server, i + 1, server->targets[i].ulid, STOA_ULID_TEXT_LENGTH);
    }
    if (translate(server, STOA_COMMANDS_DEL, count + 1, now_ms) != STOA_OK) {
        reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_FAILED,
                    server->translated.error);
        return;
    }
    run_write(session, request->framed, NULL, now_ms);
}

static void run_aggregate(struct multiverse9_session *session,
                          const struct stoa_multiverse9_request *request) {
    struct stoa_multiverse9_server *server = session->server;
    size_t count = 0;
    if (!parse_targets(session, request, true, &count)) {
        return;
    }
    /* On a member of a replica group every local target is a read through the group, which
     * may answer later: a job waits for them as for remote nodes. */
    for (size_t i = 0; i < count; i++) {
        if (server->targets[i].remote || server->replica != NULL) {
            if (multiverse9_job_start(session, count, request->framed) != STOA_OK) {
                reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_FAILED,
                            "out of memory");
            }
            return;
        }
    }
    struct stoa_multiverse9_writer *writer = &session->writer;
    stoa_multiverse9_reply_begin(writer, request->framed, STOA_MULTIVERSE9_STATUS_OK);
    for (size_t i = 0; i < count; i++) {
        stoa_multiverse9_reply_append(writer, server->targets[i].ulid, STOA_ULID_TEXT_LENGTH);
        stoa_multiverse9_reply_append(writer, ":", 1);
        if (writer->error == STOA_OK) {
            multiverse9_read_value(server, server->targets[i].ulid, writer->buf, &writer->error);
        }
        stoa_multiverse9_reply_append(writer, "", 1);
    }
    stoa_multiverse9_reply_end(writer);
}

/* ---- METADATA, HELLO, AUTH ---- */

static void append_text(struct stoa_buf *buf, const char *text, int *error) {
    if (*error == STOA_OK) {
        *error = stoa_buf_append(buf, text, strlen(text));
    }
}

static void append_json(struct stoa_buf *buf, const char *key, const char *value, int *error) {
    append_text(buf, "\"", error);
    append_text(buf, key, error);
    append_text(buf, "\":", error);
    if (*error == STOA_OK) {
        *error = stoa_multiverse9_json_string(buf, value, strlen(value));
    }
}

static void write_metadata(struct stoa_multiverse9_server *server, struct stoa_buf *buf,
                           int *error) {
    char key_text[STOA_NODE_KEY_HEX_LENGTH + 1];
    char address[STOA_ADDRESS_TEXT_BYTES_MAX];
    struct stoa_address bound;
    stoa_conn_server_address(server->conns, &bound);
    stoa_address_format(&bound, address);
    stoa_node_key_format_public(server->key->public_key, key_text);
    append_text(buf, "{", error);
    append_json(buf, "name", server->name, error);
    append_text(buf, ",", error);
    append_json(buf, "version", STOA_VERSION, error);
    append_text(buf, ",", error);
    append_json(buf, "address", address, error);
    append_text(buf, ",", error);
    append_json(buf, "public_key", key_text, error);
    append_text(buf, server->open_interactions ? ",\"open_interactions\":true"
                                               : ",\"open_interactions\":false",
                error);
    append_text(buf, server->open_metadata ? ",\"open_metadata\":true" : ",\"open_metadata\":false",
                error);
    append_text(buf, ",\"nodes\":[", error);
    for (size_t i = 0; i < server->node_count; i++) {
        const struct stoa_multiverse9_node *node = &server->nodes[i];
        stoa_node_key_format_public(node->public_key, key_text);
        append_text(buf, i > 0 ? ",{" : "{", error);
        append_json(buf, "public_key", key_text, error);
        if (node->has_address) {
            stoa_address_format(&node->address, address);
            append_text(buf, ",", error);
            append_json(buf, "address", address, error);
        }
        append_text(buf, "}", error);
    }
    append_text(buf, "]}", error);
}

static void run_metadata(struct multiverse9_session *session,
                         const struct stoa_multiverse9_request *request) {
    struct stoa_multiverse9_writer *writer = &session->writer;
    stoa_multiverse9_reply_begin(writer, request->framed, STOA_MULTIVERSE9_STATUS_OK);
    if (writer->error == STOA_OK) {
        write_metadata(session->server, writer->buf, &writer->error);
    }
    stoa_multiverse9_reply_end(writer);
}

static void run_hello(struct multiverse9_session *session,
                      const struct stoa_multiverse9_request *request) {
    struct stoa_multiverse9_server *server = session->server;
    stoa_env_random_bytes(server->env, session->challenge, sizeof(session->challenge));
    session->challenge_valid = true;
    uint8_t payload[STOA_MULTIVERSE9_CHALLENGE_BYTES + STOA_MULTIVERSE9_PUBLIC_KEY_BYTES];
    memcpy(payload, session->challenge, STOA_MULTIVERSE9_CHALLENGE_BYTES);
    memcpy(payload + STOA_MULTIVERSE9_CHALLENGE_BYTES, server->key->public_key,
           STOA_MULTIVERSE9_PUBLIC_KEY_BYTES);
    stoa_multiverse9_write_ok(&session->writer, request->framed, payload, sizeof(payload));
}

/* The index of public_key in nodes, or node_count. */
static size_t find_node(const struct stoa_multiverse9_server *server, const uint8_t *public_key) {
    for (size_t i = 0; i < server->node_count; i++) {
        if (memcmp(server->nodes[i].public_key, public_key, STOA_NODE_KEY_PUBLIC_BYTES) == 0) {
            return i;
        }
    }
    return server->node_count;
}

static const char *check_auth(struct multiverse9_session *session,
                              const struct stoa_multiverse9_request *request, size_t *index) {
    struct stoa_multiverse9_server *server = session->server;
    if (request->payload_length !=
        STOA_MULTIVERSE9_PUBLIC_KEY_BYTES + STOA_MULTIVERSE9_SIGNATURE_BYTES) {
        return "AUTH needs a 32-byte public key and a 64-byte signature";
    }
    if (!session->challenge_valid) {
        return "AUTH needs a challenge: send HELLO first";
    }
    session->challenge_valid = false; /* one attempt per challenge */
    *index = find_node(server, request->payload);
    if (*index == server->node_count) {
        return "this key is not an acknowledged node (multiverse9.nodes)";
    }
    uint8_t message[STOA_MULTIVERSE9_AUTH_MESSAGE_BYTES];
    stoa_multiverse9_auth_message(session->challenge, server->key->public_key, message);
    if (!stoa_node_key_verify(request->payload, message, sizeof(message),
                              request->payload + STOA_MULTIVERSE9_PUBLIC_KEY_BYTES)) {
        return "the signature does not match the key";
    }
    return NULL;
}

static void run_auth(struct multiverse9_session *session,
                     const struct stoa_multiverse9_request *request) {
    size_t index = 0;
    const char *refusal = check_auth(session, request, &index);
    if (refusal != NULL) {
        reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_AUTH, refusal);
        return;
    }
    session->authenticated = true;
    session->peer_index = index;
    session->server->stats.authentications++;
    char key_text[STOA_NODE_KEY_HEX_LENGTH + 1];
    stoa_node_key_format_public(request->payload, key_text);
    STOA_LOG_DEBUG(session->server->log, MULTIVERSE9_MODULE, "acknowledged node authenticated",
                   STOA_FIELD_UINT("client", session->conn->id),
                   STOA_FIELD_STR("peer", session->conn->peer),
                   STOA_FIELD_STR("public_key", key_text));
    stoa_multiverse9_write_ok(&session->writer, request->framed, NULL, 0);
}

/* ---- dispatch ---- */

/* Whether the request may run on this connection; answers the refusal if not. */
static bool permitted(struct multiverse9_session *session,
                      const struct stoa_multiverse9_request *request) {
    struct stoa_multiverse9_server *server = session->server;
    const char *refusal = NULL;
    switch (request->opcode) {
    case STOA_MULTIVERSE9_CREATE:
    case STOA_MULTIVERSE9_REMOVE:
    case STOA_MULTIVERSE9_AGGREGATE:
        if (!server->open_interactions && !session->authenticated) {
            refusal = "permission denied: interactions are open to acknowledged nodes only "
                      "(multiverse9.openInteractions is false; authenticate with HELLO/AUTH)";
        }
        break;
    case STOA_MULTIVERSE9_METADATA:
        if (!server->open_metadata && !session->authenticated) {
            refusal = "permission denied: metadata is open to acknowledged nodes only "
                      "(multiverse9.openMetadata is false; authenticate with HELLO/AUTH)";
        }
        break;
    default:
        break;
    }
    if (refusal != NULL) {
        server->stats.permission_refusals++;
        reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_PERMISSION, refusal);
        return false;
    }
    return true;
}

static void execute(struct multiverse9_session *session,
                    const struct stoa_multiverse9_request *request) {
    session->server->stats.requests++;
    if (!permitted(session, request)) {
        return;
    }
    switch (request->opcode) {
    case STOA_MULTIVERSE9_CREATE:
        run_create(session, request);
        break;
    case STOA_MULTIVERSE9_REMOVE:
        run_remove(session, request);
        break;
    case STOA_MULTIVERSE9_AGGREGATE:
        run_aggregate(session, request);
        break;
    case STOA_MULTIVERSE9_METADATA:
        run_metadata(session, request);
        break;
    case STOA_MULTIVERSE9_HELLO:
        run_hello(session, request);
        break;
    case STOA_MULTIVERSE9_AUTH:
        run_auth(session, request);
        break;
    default: {
        char text[64];
        snprintf(text, sizeof(text), "unknown opcode 0x%02x", request->opcode);
        reply_error(session, request->framed, STOA_MULTIVERSE9_ERROR_UNKNOWN_OPCODE, text);
        break;
    }
    }
}

/* Runs every whole request at the start of data; returns the bytes used. */
static size_t on_input(void *context, struct stoa_conn *conn, const uint8_t *data, size_t length,
                       bool at_end) {
    struct stoa_multiverse9_server *server = context;
    struct multiverse9_session *session = conn->protocol;
    session->last_input_ms = stoa_env_monotonic_ms(server->env);
    session->awaiting_quiet = false;
    size_t used = 0;
    while (!conn->paused && !conn->closing && !conn->close_after_reply) {
        struct stoa_multiverse9_request request;
        size_t consumed = 0;
        const char *error = NULL;
        int result = stoa_multiverse9_parse(data + used, length - used, at_end, &request,
                                            &consumed, &error);
        if (result == STOA_ERR_AGAIN) {
            /* An unframed request ends at end of input or after a quiet period. */
            session->awaiting_quiet = !request.framed;
            if (session->awaiting_quiet) {
                multiverse9_tick_needed(server);
            }
            break;
        }
        if (result == STOA_ERR_EMPTY) {
            break;
        }
        if (result != STOA_OK) {
            uint8_t code = result == STOA_ERR_TOO_LARGE ? STOA_MULTIVERSE9_ERROR_TOO_LARGE
                                                        : STOA_MULTIVERSE9_ERROR_MALFORMED;
            reply_error(session, request.framed, code, error);
            stoa_conn_close_after_reply(conn, "the request cannot be framed");
            used = length;
            break;
        }
        execute(session, &request);
        used += consumed;
        if (!request.framed) {
            /* The unframed form's reply ends at the end of the stream. */
            if (conn->paused) {
                session->close_when_done = true;
            } else {
                stoa_conn_close_after_reply(conn, "unframed request answered");
            }
            used = length;
            break;
        }
    }
    conn->output_error = session->writer.error;
    return used;
}

/* ---- sessions ---- */

static int on_open(void *context, struct stoa_conn *conn) {
    struct stoa_multiverse9_server *server = context;
    struct multiverse9_session *session = stoa_calloc(1, sizeof(*session));
    if (session == NULL) {
        return STOA_ERR_NOMEM;
    }
    session->server = server;
    session->conn = conn;
    stoa_multiverse9_writer_init(&session->writer, &conn->out);
    stoa_buf_init(&session->write_text, SCRATCH_BYTES_MAX);
    stoa_multiverse9_value_reply_init(&session->write_reply, &session->write_text);
    stoa_replica_waiter_init(&session->waiter, &session->write_reply.reply, on_group_write,
                             session);
    session->next = server->sessions;
    if (server->sessions != NULL) {
        server->sessions->previous = session;
    }
    server->sessions = session;
    conn->protocol = session;
    server->stats.connections_accepted++;
    server->stats.connections_current++;
    return STOA_OK;
}

/* A connection going away while the group answers its request: the answers, if they come,
 * are dropped (a write may still happen), and a job waiting for them is dropped now. */
static void on_closing(void *context, struct stoa_conn *conn) {
    struct stoa_multiverse9_server *server = context;
    struct multiverse9_session *session = conn->protocol;
    if (server->replica == NULL || session == NULL) {
        return;
    }
    stoa_replica_cancel(server->replica, &session->waiter);
    session->write_waiting = false;
    multiverse9_job_cancel(session);
}

static void on_close(void *context, struct stoa_conn *conn) {
    struct stoa_multiverse9_server *server = context;
    struct multiverse9_session *session = conn->protocol;
    multiverse9_job_cancel(session);
    if (server->replica != NULL) {
        stoa_replica_waiter_free(server->replica, &session->waiter);
    }
    stoa_buf_free(&session->write_text);
    if (session->previous != NULL) {
        session->previous->next = session->next;
    } else {
        server->sessions = session->next;
    }
    if (session->next != NULL) {
        session->next->previous = session->previous;
    }
    server->stats.connections_current--;
    stoa_free(session);
    conn->protocol = NULL;
}

static const struct stoa_conn_callbacks callbacks = {
    .on_open = on_open, .on_input = on_input, .on_close = on_close, .on_closing = on_closing};

/* ---- the ticker: quiet unframed requests and late remote nodes ---- */

static void on_tick(void *context) {
    struct stoa_multiverse9_server *server = context;
    int64_t now_ms = stoa_env_monotonic_ms(server->env);
    bool waiting = false;
    struct multiverse9_session *next = NULL;
    for (struct multiverse9_session *session = server->sessions; session != NULL;
         session = next) {
        next = session->next;
        if (session->job != NULL) {
            multiverse9_job_expire(session, now_ms);
            waiting = waiting || session->job != NULL;
        }
        if (session->awaiting_quiet &&
            now_ms - session->last_input_ms >= STOA_MULTIVERSE9_QUIET_MS) {
            session->awaiting_quiet = false;
            stoa_conn_input_end(session->conn);
        }
        waiting = waiting || session->awaiting_quiet;
    }
    if (!waiting) {
        server->ticking = false;
        server->env->ops->timer_stop(server->ticker);
    }
}

void multiverse9_tick_needed(struct stoa_multiverse9_server *server) {
    if (!server->ticking && !server->stopping) {
        server->ticking = true;
        server->env->ops->timer_start(server->ticker, STOA_MULTIVERSE9_TICK_MS,
                                      STOA_MULTIVERSE9_TICK_MS);
    }
}

/* ---- nodes ---- */

static int nodes_error(char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX], size_t index,
                       const char *what) {
    snprintf(error, STOA_MULTIVERSE9_ERROR_BYTES_MAX, "entry %zu: %s", index + 1, what);
    return STOA_ERR_CONFIG;
}

static int parse_node(const char *text, size_t length, size_t index,
                      struct stoa_multiverse9_node *node,
                      char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX]) {
    const char *at = memchr(text, '@', length);
    size_t key_length = at != NULL ? (size_t)(at - text) : length;
    *node = (struct stoa_multiverse9_node){0};
    if (stoa_node_key_parse_public(text, key_length, node->public_key) != STOA_OK) {
        return nodes_error(error, index, "a public key is 64 hex or 44 base64 characters");
    }
    if (at != NULL) {
        node->has_address = true;
        if (stoa_address_parse(at + 1, length - key_length - 1, &node->address) != STOA_OK) {
            return nodes_error(error, index, "the address must be a numeric host:port");
        }
    }
    return STOA_OK;
}

int stoa_multiverse9_nodes_parse(const char *text, struct stoa_multiverse9_node *nodes,
                                 size_t capacity, size_t *count,
                                 char error[STOA_MULTIVERSE9_ERROR_BYTES_MAX]) {
    STOA_ASSERT(text != NULL && nodes != NULL && count != NULL && error != NULL);
    size_t found = 0;
    const char *cursor = text;
    while (*cursor != '\0') {
        const char *comma = strchr(cursor, ',');
        const char *end = comma != NULL ? comma : cursor + strlen(cursor);
        const char *start = cursor;
        while (start < end && *start == ' ') {
            start++;
        }
        const char *stop = end;
        while (stop > start && stop[-1] == ' ') {
            stop--;
        }
        if (stop == start) {
            return nodes_error(error, found, "empty");
        }
        if (found == capacity) {
            return nodes_error(error, found, "too many nodes");
        }
        int result = parse_node(start, (size_t)(stop - start), found, &nodes[found], error);
        if (result != STOA_OK) {
            return result;
        }
        found++;
        cursor = comma != NULL ? comma + 1 : end;
    }
    *count = found;
    return STOA_OK;
}

/* ---- start and stop ---- */

static void server_free(struct stoa_multiverse9_server *server) {
    stoa_commands_output_free(&server->translated);
    stoa_buf_free(&server->scratch);
    stoa_free(server);
}

int stoa_multiverse9_server_start(struct stoa_env *env, struct stoa_engine *engine,
                                  const struct stoa_multiverse9_server_options *options,
                                  struct stoa_multiverse9_server **out) {
    STOA_ASSERT(env != NULL && engine != NULL && options != NULL && out != NULL);
    STOA_ASSERT(options->key != NULL && options->remote_timeout_ms > 0);
    STOA_ASSERT(options->node_count <= STOA_MULTIVERSE9_NODES_MAX);
    const char *name = options->name != NULL ? options->name : "";
    size_t name_length = strlen(name);
    if (name_length > STOA_MULTIVERSE9_NAME_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    struct stoa_multiverse9_server *server = stoa_calloc(1, sizeof(*server));
    if (server == NULL) {
        return STOA_ERR_NOMEM;
    }
    server->env = env;
    server->engine = engine;
    server->log = options->log;
    server->key = options->key;
    memcpy(server->name, name, name_length);
    if (options->node_count > 0) {
        memcpy(server->nodes, options->nodes, options->node_count * sizeof(options->nodes[0]));
    }
    server->node_count = options->node_count;
    server->open_interactions = options->open_interactions;
    server->open_metadata = options->open_metadata;
    server->remote_timeout_ms = options->remote_timeout_ms;
    server->replica = options->replica;
    server->read_mode = options->read_mode;
    server->write_mode = options->write_mode;
    stoa_ulid_generator_init(&server->ulids);
    stoa_commands_output_init(&server->translated);
    stoa_buf_init(&server->scratch, SCRATCH_BYTES_MAX);
    struct stoa_conn_options conn_options = {.address = options->address,
                                             .clients_max = options->clients_max,
                                             .input_bytes_max = INPUT_BYTES_MAX,
                                             .output_bytes_max = options->output_bytes_max,
                                             .module = MULTIVERSE9_MODULE,
                                             .log = options->log};
    int result = env->ops->timer_create(env, on_tick, server, &server->ticker);
    if (result != STOA_OK) {
        server_free(server);
        return result;
    }
    result = stoa_conn_server_start(env, engine, &conn_options, &callbacks, server, &server->conns);
    if (result != STOA_OK) {
        env->ops->timer_close(server->ticker, NULL, NULL);
        server_free(server);
        return result;
    }
    *out = server;
    return STOA_OK;
}

void stoa_multiverse9_server_address(const struct stoa_multiverse9_server *server,
                                     struct stoa_address *address) {
    STOA_ASSERT(server != NULL && address != NULL && server->conns != NULL);
    stoa_conn_server_address(server->conns, address);
}

static void on_part_stopped(void *context) {
    struct stoa_multiverse9_server *server = context;
    server->closes_pending--;
    if (server->closes_pending > 0) {
        return;
    }
    void (*on_stopped)(void *context) = server->on_stopped;
    void *stopped_context = server->stopped_context;
    server_free(server);
    if (on_stopped != NULL) {
        on_stopped(stopped_context);
    }
}

void stoa_multiverse9_server_stop(struct stoa_multiverse9_server *server,
                                  void (*on_stopped)(void *context), void *context) {
    STOA_ASSERT(server != NULL && !server->stopping);
    server->stopping = true;
    server->on_stopped = on_stopped;
    server->stopped_context = context;
    server->closes_pending = 2;
    server->ticking = false;
    server->env->ops->timer_close(server->ticker, on_part_stopped, server);
    struct stoa_conn_server *conns = server->conns;
    server->conns = NULL;
    stoa_conn_server_stop(conns, on_part_stopped, server);
}

void stoa_multiverse9_server_stats(const struct stoa_multiverse9_server *server,
                                   struct stoa_multiverse9_server_stats *stats) {
    STOA_ASSERT(server != NULL && stats != NULL);
    *stats = server->stats;
}
