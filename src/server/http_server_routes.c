/* The HTTP door's routes: Nomad's storage and config routes, /v1/kv, /v1/objects, health,
 * readiness, drain, the OpenAPI document and Swagger UI (docs/protocols/http.md). */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "engine/apply.h"
#include "proto/http_openapi.h"
#include "server/http_server_int.h"
#include "util/assert.h"
#include "util/err.h"

#define JSON "application/json"

static void respond(struct request *request, unsigned status, const char *content_type) {
    request->status = status;
    request->content_type = content_type;
    request->ready = true;
}

void stoa_http_fail(struct request *request, unsigned status, const char *code,
                    const char *message) {
    request->response.length = 0;
    request->static_body = NULL;
    request->retry_after = false;
    (void)stoa_http_error_body(&request->response, code, message);
    respond(request, status, JSON);
}

/* Appends text to the response; a failure (memory) becomes a 500. */
static void body_text(struct request *request, const char *text) {
    if (stoa_buf_append(&request->response, text, strlen(text)) != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
    }
}

static void respond_json(struct request *request, unsigned status, const char *json) {
    request->response.length = 0;
    body_text(request, json);
    if (request->status != MHD_HTTP_INTERNAL_SERVER_ERROR) {
        respond(request, status, JSON);
    }
}

bool stoa_http_route_wants_json(const struct stoa_http_route *route, enum stoa_http_method method) {
    switch ((int)route->id) {
    case STOA_HTTP_ROUTE_NOMAD_PUT:
    case STOA_HTTP_ROUTE_NOMAD_UPDATE:
    case STOA_HTTP_ROUTE_NOMAD_CONFIG_STORAGE:
    case STOA_HTTP_ROUTE_NOMAD_CONFIG_RETRIEVAL:
    case STOA_HTTP_ROUTE_NOMAD_CONFIG_REPLICATION:
        return true;
    case STOA_HTTP_ROUTE_OBJECT:
        return method == STOA_HTTP_PUT;
    case STOA_HTTP_ROUTE_DRAIN:
        return method == STOA_HTTP_POST;
    default:
        return false;
    }
}

bool stoa_http_ready(const struct stoa_http_server *server, const char **reason) {
    struct stoa_engine_stats stats;
    stoa_engine_stats(server->engine, &stats);
    if (stats.failure != 0) {
        *reason = "the engine refuses writes after a log failure";
        return false;
    }
    if (server->stopping) {
        *reason = "the node is stopping";
        return false;
    }
    if (server->draining) {
        *reason = "the node is draining (POST /v1/drain)";
        return false;
    }
    if (server->options.replica != NULL) {
        struct stoa_paxos_status status;
        stoa_replica_status(server->options.replica, &status);
        if (status.leader_id == 0) {
            *reason = "no leader is known in the replica group (an election is running, or no "
                      "majority is up)";
            return false;
        }
    }
    return true;
}

/* ---- running commands ---- */

static void count_command(struct stoa_http_server *server, int id, bool failed, int64_t start_ns) {
    struct http_command_metrics *metrics = &server->commands[id];
    metrics->calls++;
    metrics->failed += failed;
    uint64_t us = (uint64_t)(stoa_env_monotonic_ns(server->env) - start_ns) / 1000;
    stoa_histogram_observe(&metrics->latency, us);
}

void stoa_http_group_continue(struct request *request) {
    count_command(request->server, request->command_id,
                  request->capture->kind == STOA_HTTP_CAPTURE_ERROR, request->command_ns);
    request->step(request);
}

/* On a member of a replica group: the command goes through the group. A write is always
 * answered through the waiter (maybe before stoa_replica_write returns); a read may be
 * answered at once. Either way, next runs once the answer is in the capture. */
static void run_in_group(struct request *request, int id, const struct stoa_commands_output *out,
                         int64_t now_ms, http_step_fn next) {
    struct stoa_http_server *server = request->server;
    struct stoa_replica *replica = server->options.replica;
    request->step = next;
    request->command_id = id;
    request->command_ns = stoa_env_monotonic_ns(server->env);
    request->answered = false;
    if (out->kind == STOA_COMMANDS_KIND_WRITE) {
        struct stoa_command write = {.opcode = out->opcode,
                                     .client_id = request->client_id,
                                     .sequence = request->sequence,
                                     .stamp_ms = now_ms,
                                     .argument_count = out->argument_count,
                                     .arguments = out->arguments};
        (void)stoa_replica_write(replica, &write, request->write_mode, &request->waiter);
    } else {
        STOA_ASSERT(out->kind == STOA_COMMANDS_KIND_READ);
        if (stoa_replica_read(replica, now_ms, out->opcode, out->arguments, out->argument_count,
                              request->read_mode, &request->waiter)) {
            request->answered = true;
        }
    }
    if (request->answered) {
        stoa_http_group_continue(request);
    } else {
        stoa_http_group_wait(request);
    }
}

/* Runs the command words argv through the command core, then next once the reply is in
 * request->capture. On a single node that is at once, against the engine (a write makes the
 * request wait for the log afterwards: request->wait_index); on a member of a replica group
 * it is once the group has answered, at once or later from the loop hook. */
static void run(struct request *request, const struct stoa_command_argument *argv, size_t argc,
                http_step_fn next) {
    struct stoa_http_server *server = request->server;
    struct stoa_commands_output *out = &server->translated;
    struct stoa_http_capture *capture = request->capture;
    stoa_http_capture_reset(capture);
    const struct stoa_commands_spec *spec = NULL;
    int64_t now = stoa_env_real_ms(server->env);
    int result = stoa_commands_find(argv, argc, STOA_COMMANDS_DOOR_HTTP, out, &spec);
    if (result == STOA_OK) {
        result = stoa_commands_translate(spec, argv, argc, now, 0, out);
    }
    if (result != STOA_OK) {
        capture->reply.ops->error(&capture->reply, result, out->error);
        next(request);
        return;
    }
    if (server->options.replica != NULL) {
        run_in_group(request, spec->id, out, now, next);
        return;
    }
    int64_t start_ns = stoa_env_monotonic_ns(server->env);
    if (out->kind == STOA_COMMANDS_KIND_WRITE) {
        struct stoa_command write = {.opcode = out->opcode,
                                     .client_id = request->client_id,
                                     .sequence = request->sequence,
                                     .stamp_ms = now,
                                     .argument_count = out->argument_count,
                                     .arguments = out->arguments};
        uint64_t index = 0;
        result = stoa_engine_write(server->engine, &write, &capture->reply, &index);
        if (index > request->wait_index) {
            request->wait_index = index;
        }
        server->writes_pending = true;
    } else {
        STOA_ASSERT(out->kind == STOA_COMMANDS_KIND_READ);
        result = stoa_engine_query(server->engine, now, out->opcode, out->arguments,
                                   out->argument_count, &capture->reply);
    }
    count_command(server, spec->id, result != STOA_OK, start_ns);
    next(request);
}

static struct stoa_command_argument word(const char *text) {
    return (struct stoa_command_argument){.data = (const uint8_t *)text, .length = strlen(text)};
}

static struct stoa_command_argument bytes(const uint8_t *data, size_t length) {
    return (struct stoa_command_argument){.data = data, .length = length};
}

/* The HTTP answer to an engine error. */
static void fail_engine(struct request *request, int code, const char *text) {
    switch (code) {
    case STOA_ERR_NOT_FOUND:
        stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", text);
        return;
    case STOA_ERR_EXISTS:
        stoa_http_fail(request, MHD_HTTP_CONFLICT, "conflict", text);
        return;
    case STOA_ERR_TYPE:
        stoa_http_fail(request, MHD_HTTP_CONFLICT, "wrong_type", text);
        return;
    case STOA_ERR_FSYNC:
    case STOA_ERR_IO:
        stoa_http_fail(request, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready", text);
        return;
    case STOA_ERR_OUT_OF_MEMORY:
    case STOA_ERR_NOMEM:
        stoa_http_fail(request, MHD_HTTP_INSUFFICIENT_STORAGE, "out_of_memory", text);
        return;
    default:
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request", text);
        return;
    }
}

static bool starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* The replica group's own answers (server/replica.h): CLUSTERDOWN (no leader) and TRYAGAIN
 * (not applied) say the command did not happen, so the client may retry: 503 with
 * Retry-After; TIMEOUT says its outcome is unknown: 504. Returns false for any other error. */
static bool fail_group(struct request *request, const char *text) {
    if (starts_with(text, "CLUSTERDOWN") || starts_with(text, "TRYAGAIN")) {
        stoa_http_fail(request, MHD_HTTP_SERVICE_UNAVAILABLE, "unavailable", text);
        request->retry_after = true;
        return true;
    }
    if (starts_with(text, "TIMEOUT")) {
        stoa_http_fail(request, MHD_HTTP_GATEWAY_TIMEOUT, "timeout", text);
        return true;
    }
    return false;
}

/* The session table's refusals (engine/apply.h), which only a write with Stoa-Client-Id can
 * get: 409 for a sequence older than the session's last (never applied now), 410 for a
 * client id the table does not hold (register again; the last write's outcome is unknown),
 * 409 for a retry whose recorded reply was not kept (applied once; the reply is lost).
 * Returns false for any other error. */
static bool fail_session(struct request *request, const char *text) {
    if (starts_with(text, "ERR stale request sequence")) {
        stoa_http_fail(request, MHD_HTTP_CONFLICT, "stale_sequence", text);
        return true;
    }
    if (starts_with(text, "ERR session expired")) {
        stoa_http_fail(request, MHD_HTTP_GONE, "session_expired", text);
        return true;
    }
    if (starts_with(text, "ERR the write was applied once")) {
        stoa_http_fail(request, MHD_HTTP_CONFLICT, "reply_not_kept", text);
        return true;
    }
    return false;
}

/* Whether the capture holds an error; if so, answers it. */
static bool failed(struct request *request) {
    const struct stoa_http_capture *capture = request->capture;
    if (capture->kind != STOA_HTTP_CAPTURE_ERROR) {
        return false;
    }
    if (request->server->options.replica != NULL && fail_group(request, capture->error)) {
        return true;
    }
    if (request->client_id != 0 && fail_session(request, capture->error)) {
        return true;
    }
    fail_engine(request, capture->error_code, capture->error);
    return true;
}

/* ---- client sessions ---- */

/* Parses a session header's value: a decimal integer from 1 to INT64_MAX. */
static bool header_number(const char *text, uint64_t *value) {
    int64_t parsed = 0;
    if (stoa_commands_parse_int64((const uint8_t *)text, strlen(text), &parsed) != STOA_OK ||
        parsed <= 0) {
        return false;
    }
    *value = (uint64_t)parsed;
    return true;
}

/* Reads Stoa-Client-Id and Stoa-Sequence into the request: both absent is an anonymous
 * write; one without the other, or a value that is not a positive integer, is 400. */
static bool session_headers(struct request *request) {
    const char *client =
        MHD_lookup_connection_value(request->mhd, MHD_HEADER_KIND, STOA_HTTP_HEADER_CLIENT_ID);
    const char *sequence =
        MHD_lookup_connection_value(request->mhd, MHD_HEADER_KIND, STOA_HTTP_HEADER_SEQUENCE);
    if (client == NULL && sequence == NULL) {
        return true;
    }
    if (client == NULL || sequence == NULL) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       "Stoa-Client-Id and Stoa-Sequence go together");
        return false;
    }
    if (!header_number(client, &request->client_id)) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       "Stoa-Client-Id must be a positive integer (POST /v1/sessions gives one)");
        return false;
    }
    if (!header_number(sequence, &request->sequence)) {
        request->client_id = 0;
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       "Stoa-Sequence must be a positive integer (1, 2, 3, ... per session)");
        return false;
    }
    return true;
}

/* Routes whose write is not one command refuse the session headers, since one sequence
 * cannot cover two writes. */
static bool no_session_headers(struct request *request) {
    if (MHD_lookup_connection_value(request->mhd, MHD_HEADER_KIND, STOA_HTTP_HEADER_CLIENT_ID) ==
            NULL &&
        MHD_lookup_connection_value(request->mhd, MHD_HEADER_KIND, STOA_HTTP_HEADER_SEQUENCE) ==
            NULL) {
        return true;
    }
    stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                   "this route runs more than one write: Stoa-Client-Id is not supported here "
                   "(use /nomad/storage/put or /nomad/storage/update)");
    return false;
}

static void session_registered(struct request *request) {
    if (!failed(request)) {
        char json[48];
        snprintf(json, sizeof(json), "{\"clientId\":%" PRId64 "}", request->capture->integer);
        respond_json(request, MHD_HTTP_CREATED, json);
    }
    request->ready = request->wait_index == 0;
}

/* POST /v1/sessions: SESSION REGISTER, a write through the log. */
static void session_register(struct request *request) {
    struct stoa_command_argument argv[2] = {word("session"), word("register")};
    run(request, argv, 2, session_registered);
}

/* ---- GameObjects ---- */

/* OBJGET of id; next reads its reply with object_reply. */
static void object_read(struct request *request, const uint8_t *id, size_t id_length,
                        http_step_fn next) {
    struct stoa_command_argument argv[2] = {word("objget"), bytes(id, id_length)};
    run(request, argv, 2, next);
}

/* Puts the object of OBJGET's reply, when found, in the response as JSON. Returns 0,
 * STOA_ERR_NOT_FOUND, or an error already answered. */
static int object_reply(struct request *request) {
    const struct stoa_http_capture *capture = request->capture;
    if (failed(request)) {
        return STOA_ERR_INVALID;
    }
    if (capture->kind != STOA_HTTP_CAPTURE_ARRAY || capture->element_count != 5) {
        return STOA_ERR_NOT_FOUND;
    }
    const struct stoa_http_capture_element *e = capture->elements;
    struct stoa_http_object object = {
        .id = capture->bytes.data + e[0].offset,
        .id_length = e[0].length,
        .value = capture->bytes.data + e[1].offset,
        .value_length = e[1].length,
        .creation_time_s = e[2].integer / 1000,
        .ttl_s = e[3].integer,
        .last_modified_s = e[4].integer / 1000,
    };
    request->response.length = 0;
    int result = stoa_http_object_encode(&object, &request->response);
    if (result != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                       result == STOA_ERR_MALFORMED ? "the id is not valid UTF-8"
                                                    : "the object does not fit a response");
        return result;
    }
    return STOA_OK;
}

static void object_got(struct request *request) {
    int result = object_reply(request);
    if (result == STOA_OK) {
        respond(request, MHD_HTTP_OK, JSON);
    } else if (result == STOA_ERR_NOT_FOUND) {
        stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", "no such object");
    }
}

static void object_get(struct request *request) {
    object_read(request, request->parameter.data, request->parameter.length, object_got);
}

/* Decodes the body as a GameObject; answers 400 when it is not one. */
static bool decode_object(struct request *request, bool id_required,
                          struct stoa_http_object *object) {
    char error[STOA_HTTP_ERROR_TEXT_BYTES_MAX];
    int result = stoa_http_object_decode(request->body.data, request->body.length, id_required,
                                         request->scratch, object, error, sizeof(error));
    if (result != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       result == STOA_ERR_NOMEM ? "out of memory" : error);
        return false;
    }
    return true;
}

/* OBJPUT (insert) or OBJUPDATE of object; next reads the reply. */
static void object_write(struct request *request, const struct stoa_http_object *object,
                         bool insert, http_step_fn next) {
    char ttl[24];
    char creation[24];
    snprintf(ttl, sizeof(ttl), "%" PRId64, object->ttl_s);
    int64_t creation_s = object->creation_time_s >= 0
                             ? object->creation_time_s
                             : stoa_env_real_ms(request->server->env) / 1000;
    snprintf(creation, sizeof(creation), "%" PRId64, creation_s * 1000);
    struct stoa_command_argument id = bytes(object->id, object->id_length);
    struct stoa_command_argument value = bytes(object->value, object->value_length);
    if (insert) {
        struct stoa_command_argument argv[5] = {word("objput"), id, value, word(creation),
                                                word(ttl)};
        run(request, argv, 5, next);
    } else {
        struct stoa_command_argument argv[4] = {word("objupdate"), id, value, word(ttl)};
        run(request, argv, 4, next);
    }
}

static void nomad_written(struct request *request) {
    if (!failed(request)) {
        respond_json(request, MHD_HTTP_OK, "{\"result\":true}");
    }
    request->ready = request->wait_index == 0;
}

/* Nomad's POST /put (insert) and PUT /update: {"result": true}, 409 / 404 otherwise. */
static void nomad_write(struct request *request, bool insert) {
    struct stoa_http_object object;
    if (!decode_object(request, true, &object)) {
        return;
    }
    object_write(request, &object, insert, nomad_written);
}

static void nomad_deleted(struct request *request) {
    if (!failed(request)) {
        bool deleted = request->capture->integer == 1;
        respond_json(request, MHD_HTTP_OK, deleted ? "{\"result\":true}" : "{\"result\":false}");
    }
    request->ready = request->wait_index == 0;
}

static void nomad_delete(struct request *request) {
    struct stoa_command_argument argv[2] = {
        word("objdelete"), bytes(request->parameter.data, request->parameter.length)};
    run(request, argv, 2, nomad_deleted);
}

/* PUT /v1/objects/{id} runs OBJUPDATE, then OBJPUT if the object did not exist, then OBJGET
 * for the answer; each step runs once the previous command has been answered. */
static void object_put_read(struct request *request) {
    int result = object_reply(request);
    if (result == STOA_OK) {
        respond(request, request->inserted ? MHD_HTTP_CREATED : MHD_HTTP_OK, JSON);
    } else if (result == STOA_ERR_NOT_FOUND) {
        /* A ttl already past, or a delete in between. */
        stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found",
                       "the object was written but is gone (expired or deleted)");
    }
    request->ready = request->wait_index == 0;
}

static void object_put_written(struct request *request) {
    if (failed(request)) {
        request->ready = request->wait_index == 0;
        return;
    }
    /* The answer must show this write: on a group member the read is linearizable whatever
     * the request's consistency. */
    request->read_mode = STOA_REPLICA_READ_SAFE;
    object_read(request, request->parameter.data, request->parameter.length, object_put_read);
}

static void object_put_updated(struct request *request) {
    request->inserted = request->capture->kind == STOA_HTTP_CAPTURE_ERROR &&
                        request->capture->error_code == STOA_ERR_NOT_FOUND;
    if (request->inserted) {
        object_write(request, &request->object, true, object_put_written);
    } else {
        object_put_written(request);
    }
}

/* PUT /v1/objects/{id}: insert (201) or replace (200); the answer is the stored object. */
static void object_put(struct request *request) {
    struct stoa_http_object *object = &request->object;
    if (!no_session_headers(request)) {
        return;
    }
    if (!decode_object(request, false, object)) {
        return;
    }
    const uint8_t *id = request->parameter.data;
    size_t id_length = request->parameter.length;
    if (object->id != NULL &&
        (object->id_length != id_length || memcmp(object->id, id, id_length) != 0)) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       "the body's id differs from the path's");
        return;
    }
    object->id = id;
    object->id_length = id_length;
    object_write(request, object, false, object_put_updated);
}

static void object_deleted(struct request *request) {
    if (!failed(request)) {
        if (request->capture->integer == 1) {
            respond_json(request, MHD_HTTP_OK, "{\"deleted\":true}");
        } else {
            stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", "no such object");
        }
    }
    request->ready = request->wait_index == 0;
}

static void object_delete(struct request *request) {
    struct stoa_command_argument argv[2] = {
        word("objdelete"), bytes(request->parameter.data, request->parameter.length)};
    run(request, argv, 2, object_deleted);
}

/* ---- /v1/kv/{key} ---- */

/* A query parameter, percent-decoded into text (capacity bytes, NUL ended); NULL if absent. */
static const char *query(struct request *request, const char *name, char *text, size_t capacity) {
    const char *raw = MHD_lookup_connection_value(request->mhd, MHD_GET_ARGUMENT_KIND, name);
    if (raw == NULL) {
        return NULL;
    }
    size_t length = 0;
    if (stoa_http_percent_decode(raw, strlen(raw), (uint8_t *)text, capacity - 1, &length) !=
        STOA_OK) {
        return "";
    }
    text[length] = '\0';
    return text;
}

/* Sets the request's modes from a consistency mode's name; false for an unknown name. A
 * write has no parallel mode: it is served safe. */
static bool set_modes(struct request *request, const char *mode, bool reads, bool writes) {
    enum stoa_replica_read_mode read = STOA_REPLICA_READ_SAFE;
    enum stoa_replica_write_mode write = STOA_REPLICA_WRITE_SAFE;
    if (strcmp(mode, "fast") == 0) {
        read = STOA_REPLICA_READ_FAST;
        write = STOA_REPLICA_WRITE_FAST;
    } else if (strcmp(mode, "parallel") == 0) {
        read = STOA_REPLICA_READ_PARALLEL;
    } else if (strcmp(mode, "safe") != 0) {
        return false;
    }
    if (reads) {
        request->read_mode = read;
    }
    if (writes) {
        request->write_mode = write;
    }
    return true;
}

/* Checks ?consistency= (fast, safe or parallel). On a member of a replica group it chooses
 * the mode of the request's reads and writes; a single node answers every mode alike. */
static bool consistency_ok(struct request *request) {
    char text[16];
    const char *mode = query(request, "consistency", text, sizeof(text));
    if (mode == NULL || set_modes(request, mode, true, true)) {
        return true;
    }
    stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                   "consistency must be fast, safe or parallel");
    return false;
}

static void kv_got(struct request *request) {
    const struct stoa_http_capture *capture = request->capture;
    if (failed(request)) {
        return;
    }
    if (capture->kind != STOA_HTTP_CAPTURE_BULK) {
        stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", "no such key");
        return;
    }
    request->response.length = 0;
    if (stoa_buf_append(&request->response, capture->bytes.data, capture->bytes.length) !=
        STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "out of memory");
        return;
    }
    respond(request, MHD_HTTP_OK, "application/octet-stream");
}

static void kv_get(struct request *request) {
    struct stoa_command_argument argv[2] = {
        word("get"), bytes(request->parameter.data, request->parameter.length)};
    run(request, argv, 2, kv_got);
}

static void kv_written(struct request *request) {
    if (!failed(request)) {
        respond_json(request, MHD_HTTP_OK, "{\"result\":true}");
    }
    request->ready = request->wait_index == 0;
}

static void kv_put(struct request *request) {
    char ttl_text[24];
    const char *ttl = query(request, "ttl", ttl_text, sizeof(ttl_text));
    struct stoa_command_argument argv[5] = {
        word("set"), bytes(request->parameter.data, request->parameter.length),
        bytes(request->body.data, request->body.length), word("EX"), word(ttl != NULL ? ttl : "")};
    run(request, argv, ttl != NULL ? 5 : 3, kv_written);
}

static void kv_deleted(struct request *request) {
    if (!failed(request)) {
        if (request->capture->integer == 1) {
            respond_json(request, MHD_HTTP_OK, "{\"deleted\":true}");
        } else {
            stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", "no such key");
        }
    }
    request->ready = request->wait_index == 0;
}

static void kv_delete(struct request *request) {
    struct stoa_command_argument argv[2] = {
        word("del"), bytes(request->parameter.data, request->parameter.length)};
    run(request, argv, 2, kv_deleted);
}

/* ---- Nomad's runtime config ---- */

static void config_mode(struct request *request, bool storage) {
    struct stoa_http_server *server = request->server;
    char mode[16];
    char error[STOA_HTTP_ERROR_TEXT_BYTES_MAX];
    if (stoa_http_json_field_string(request->body.data, request->body.length, "mode", mode,
                                    sizeof(mode), error, sizeof(error)) != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request", error);
        return;
    }
    bool valid = strcmp(mode, "fast") == 0 || strcmp(mode, "safe") == 0 ||
                 (!storage && strcmp(mode, "parallel") == 0);
    if (!valid) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       storage ? "mode must be fast or safe"
                               : "mode must be fast, safe or parallel");
        return;
    }
    char *target = storage ? server->storage_mode : server->retrieval_mode;
    snprintf(target, 16, "%s", mode);
    STOA_LOG_INFO(server->log, "http", storage ? "storage mode set" : "retrieval mode set",
                  STOA_FIELD_STR("mode", mode));
    char json[64];
    snprintf(json, sizeof(json), "{\"%s\":\"%s\"}", storage ? "storageMode" : "retrievalMode",
             mode);
    respond_json(request, MHD_HTTP_OK, json);
}

static void config_replication(struct request *request) {
    int64_t factor = 0;
    char error[STOA_HTTP_ERROR_TEXT_BYTES_MAX];
    if (stoa_http_json_field_int(request->body.data, request->body.length, "replicationFactor",
                                 &factor, error, sizeof(error)) != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request", error);
        return;
    }
    /* The range of node.storage.replicationFactor (util/config_keys.h). */
    if (factor < 1 || factor > 7) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       "replicationFactor must be between 1 and 7");
        return;
    }
    request->server->replication_factor = factor;
    STOA_LOG_INFO(request->server->log, "http", "replication factor set",
                  STOA_FIELD_INT("replication_factor", factor));
    char json[64];
    snprintf(json, sizeof(json), "{\"replicationFactor\":%" PRId64 "}", factor);
    respond_json(request, MHD_HTTP_OK, json);
}

/* ---- health, drain, documents ---- */

static void readyz(struct request *request) {
    const char *reason = NULL;
    if (stoa_http_ready(request->server, &reason)) {
        respond_json(request, MHD_HTTP_OK, "{\"ready\":true}");
    } else {
        stoa_http_fail(request, MHD_HTTP_SERVICE_UNAVAILABLE, "not_ready", reason);
    }
}

static void drain(struct request *request) {
    struct stoa_http_server *server = request->server;
    if (request->method == STOA_HTTP_POST) {
        char error[STOA_HTTP_ERROR_TEXT_BYTES_MAX];
        bool is_true = false;
        if (stoa_http_json_field_bool(request->body.data, request->body.length, "draining",
                                      &is_true, error, sizeof(error)) != STOA_OK) {
            stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request", error);
            return;
        }
        server->draining = is_true;
        STOA_LOG_INFO(server->log, "http", is_true ? "draining" : "not draining");
    }
    respond_json(request, MHD_HTTP_OK,
                 server->draining ? "{\"draining\":true}" : "{\"draining\":false}");
}

static void swagger_index(struct request *request) {
    static const char page[] =
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<title>stoa API</title>\n"
        "<link rel=\"stylesheet\" href=\"swagger-ui.css\">\n"
        "<link rel=\"icon\" type=\"image/png\" href=\"favicon-32x32.png\" sizes=\"32x32\">\n"
        "</head>\n<body>\n<div id=\"swagger-ui\"></div>\n"
        "<script src=\"swagger-ui-bundle.js\"></script>\n"
        "<script src=\"swagger-ui-standalone-preset.js\"></script>\n"
        "<script>\nwindow.onload = function () {\n"
        "  window.ui = SwaggerUIBundle({url: \"/openapi.json\", dom_id: \"#swagger-ui\",\n"
        "    deepLinking: true, presets: [SwaggerUIBundle.presets.apis,\n"
        "    SwaggerUIStandalonePreset], layout: \"StandaloneLayout\"});\n};\n"
        "</script>\n</body>\n</html>\n";
    request->static_body = (const uint8_t *)page;
    request->static_length = sizeof(page) - 1;
    respond(request, MHD_HTTP_OK, "text/html; charset=utf-8");
}

static void swagger_asset(struct request *request) {
    const struct stoa_http_server *server = request->server;
    for (size_t i = 0; i < HTTP_ASSET_COUNT; i++) {
        const struct http_asset *asset = &server->assets[i];
        if (strlen(asset->name) == request->parameter.length &&
            memcmp(asset->name, request->parameter.data, request->parameter.length) == 0) {
            if (asset->data == NULL) {
                break;
            }
            request->static_body = asset->data;
            request->static_length = asset->length;
            respond(request, MHD_HTTP_OK, asset->content_type);
            return;
        }
    }
    stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found",
                   "no such Swagger UI file (or the assets are not installed)");
}

static void openapi(struct request *request) {
    request->static_body = (const uint8_t *)stoa_http_openapi_json;
    request->static_length = stoa_http_openapi_json_length;
    respond(request, MHD_HTTP_OK, JSON);
}

static void with_method(struct request *request, void (*get)(struct request *),
                        void (*put)(struct request *), void (*del)(struct request *)) {
    if (!consistency_ok(request)) {
        return;
    }
    bool writes = request->method == STOA_HTTP_PUT || request->method == STOA_HTTP_DELETE;
    if (writes && !session_headers(request)) {
        return;
    }
    if (request->method == STOA_HTTP_PUT) {
        put(request);
    } else if (request->method == STOA_HTTP_DELETE) {
        del(request);
    } else {
        get(request);
    }
}

void stoa_http_dispatch(struct request *request) {
    if (request->server->options.replica != NULL) {
        /* The node's defaults, which ?consistency= may change (with_method). */
        (void)set_modes(request, request->server->retrieval_mode, true, false);
        (void)set_modes(request, request->server->storage_mode, false, true);
    }
    switch (request->route->id) {
    case STOA_HTTP_ROUTE_NOMAD_HEALTH:
        respond_json(request, MHD_HTTP_OK, "{\"status\":\"UP\"}");
        return;
    case STOA_HTTP_ROUTE_NOMAD_GET:
        object_get(request);
        return;
    case STOA_HTTP_ROUTE_NOMAD_PUT:
    case STOA_HTTP_ROUTE_NOMAD_UPDATE:
        if (session_headers(request)) {
            nomad_write(request, request->route->id == STOA_HTTP_ROUTE_NOMAD_PUT);
        }
        return;
    case STOA_HTTP_ROUTE_NOMAD_DELETE:
        if (session_headers(request)) {
            nomad_delete(request);
        }
        return;
    case STOA_HTTP_ROUTE_NOMAD_CONFIG_STORAGE:
        config_mode(request, true);
        return;
    case STOA_HTTP_ROUTE_NOMAD_CONFIG_RETRIEVAL:
        config_mode(request, false);
        return;
    case STOA_HTTP_ROUTE_NOMAD_CONFIG_REPLICATION:
        config_replication(request);
        return;
    case STOA_HTTP_ROUTE_KV:
        with_method(request, kv_get, kv_put, kv_delete);
        return;
    case STOA_HTTP_ROUTE_OBJECT:
        with_method(request, object_get, object_put, object_delete);
        return;
    case STOA_HTTP_ROUTE_SESSIONS:
        session_register(request);
        return;
    case STOA_HTTP_ROUTE_STATUS:
        stoa_http_status(request);
        return;
    case STOA_HTTP_ROUTE_DRAIN:
        drain(request);
        return;
    case STOA_HTTP_ROUTE_HEALTHZ:
        respond_json(request, MHD_HTTP_OK, "{\"status\":\"ok\"}");
        return;
    case STOA_HTTP_ROUTE_READYZ:
        readyz(request);
        return;
    case STOA_HTTP_ROUTE_METRICS:
        stoa_http_metrics(request);
        return;
    case STOA_HTTP_ROUTE_OPENAPI:
        openapi(request);
        return;
    case STOA_HTTP_ROUTE_SWAGGER_HOME:
        request->location = "/swagger/index.html";
        respond_json(request, MHD_HTTP_FOUND, "{}");
        return;
    case STOA_HTTP_ROUTE_SWAGGER_INDEX:
        swagger_index(request);
        return;
    case STOA_HTTP_ROUTE_SWAGGER_ASSET:
        swagger_asset(request);
        return;
    case STOA_HTTP_ROUTE_COUNT:
        break;
    }
    STOA_UNREACHABLE();
}
