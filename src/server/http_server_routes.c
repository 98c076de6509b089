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
    return true;
}

/* ---- running commands ---- */

/* Runs the command words argv through the command core and the engine; the reply is in
 * server->capture. A write makes the request wait for the log. Returns the result. */
static int run(struct request *request, const struct stoa_command_argument *argv, size_t argc) {
    struct stoa_http_server *server = request->server;
    struct stoa_commands_output *out = &server->translated;
    struct stoa_http_capture *capture = &server->capture;
    stoa_http_capture_reset(capture);
    const struct stoa_commands_spec *spec = NULL;
    int64_t now = stoa_env_real_ms(server->env);
    int result = stoa_commands_find(argv, argc, STOA_COMMANDS_DOOR_HTTP, out, &spec);
    if (result == STOA_OK) {
        result = stoa_commands_translate(spec, argv, argc, now, 0, out);
    }
    if (result != STOA_OK) {
        capture->reply.ops->error(&capture->reply, result, out->error);
        return result;
    }
    int64_t start_ns = stoa_env_monotonic_ns(server->env);
    if (out->kind == STOA_COMMANDS_KIND_WRITE) {
        struct stoa_command write = {.opcode = out->opcode,
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
    struct http_command_metrics *metrics = &server->commands[spec->id];
    metrics->calls++;
    metrics->failed += result != STOA_OK;
    uint64_t us = (uint64_t)(stoa_env_monotonic_ns(server->env) - start_ns) / 1000;
    stoa_http_histogram_observe(&metrics->latency, us);
    return result;
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

/* Whether the capture holds an error; if so, answers it. */
static bool failed(struct request *request) {
    const struct stoa_http_capture *capture = &request->server->capture;
    if (capture->kind != STOA_HTTP_CAPTURE_ERROR) {
        return false;
    }
    fail_engine(request, capture->error_code, capture->error);
    return true;
}

/* ---- GameObjects ---- */

/* Reads object id and, when found, appends its JSON. Returns 0, STOA_ERR_NOT_FOUND, or an
 * error already answered. */
static int object_read(struct request *request, const uint8_t *id, size_t id_length) {
    struct stoa_command_argument argv[2] = {word("objget"), bytes(id, id_length)};
    (void)run(request, argv, 2);
    const struct stoa_http_capture *capture = &request->server->capture;
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

static void object_get(struct request *request) {
    const uint8_t *id = request->parameter.data;
    size_t length = request->parameter.length;
    int result = object_read(request, id, length);
    if (result == STOA_OK) {
        respond(request, MHD_HTTP_OK, JSON);
    } else if (result == STOA_ERR_NOT_FOUND) {
        stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", "no such object");
    }
}

/* Decodes the body as a GameObject; answers 400 when it is not one. */
static bool decode_object(struct request *request, bool id_required,
                          struct stoa_http_object *object) {
    char error[STOA_HTTP_ERROR_TEXT_BYTES_MAX];
    int result = stoa_http_object_decode(request->body.data, request->body.length, id_required,
                                         &request->server->scratch, object, error, sizeof(error));
    if (result != STOA_OK) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       result == STOA_ERR_NOMEM ? "out of memory" : error);
        return false;
    }
    return true;
}

/* OBJPUT (insert) or OBJUPDATE of object; the reply is in the capture. */
static void object_write(struct request *request, const struct stoa_http_object *object,
                         bool insert) {
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
        (void)run(request, argv, 5);
    } else {
        struct stoa_command_argument argv[4] = {word("objupdate"), id, value, word(ttl)};
        (void)run(request, argv, 4);
    }
}

/* Nomad's POST /put (insert) and PUT /update: {"result": true}, 409 / 404 otherwise. */
static void nomad_write(struct request *request, bool insert) {
    struct stoa_http_object object;
    if (!decode_object(request, true, &object)) {
        return;
    }
    object_write(request, &object, insert);
    if (!failed(request)) {
        respond_json(request, MHD_HTTP_OK, "{\"result\":true}");
    }
    request->ready = request->wait_index == 0;
}

static void nomad_delete(struct request *request) {
    struct stoa_command_argument argv[2] = {
        word("objdelete"), bytes(request->parameter.data, request->parameter.length)};
    (void)run(request, argv, 2);
    if (!failed(request)) {
        bool deleted = request->server->capture.integer == 1;
        respond_json(request, MHD_HTTP_OK, deleted ? "{\"result\":true}" : "{\"result\":false}");
    }
    request->ready = request->wait_index == 0;
}

/* PUT /v1/objects/{id}: insert (201) or replace (200); the answer is the stored object. */
static void object_put(struct request *request) {
    struct stoa_http_object object;
    if (!decode_object(request, false, &object)) {
        return;
    }
    const uint8_t *id = request->parameter.data;
    size_t id_length = request->parameter.length;
    if (object.id != NULL &&
        (object.id_length != id_length || memcmp(object.id, id, id_length) != 0)) {
        stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                       "the body's id differs from the path's");
        return;
    }
    object.id = id;
    object.id_length = id_length;
    object_write(request, &object, false);
    bool insert = request->server->capture.kind == STOA_HTTP_CAPTURE_ERROR &&
                  request->server->capture.error_code == STOA_ERR_NOT_FOUND;
    if (insert) {
        object_write(request, &object, true);
    }
    if (!failed(request) && object_read(request, id, id_length) == STOA_OK) {
        respond(request, insert ? MHD_HTTP_CREATED : MHD_HTTP_OK, JSON);
    }
    request->ready = request->wait_index == 0;
}

static void object_delete(struct request *request) {
    struct stoa_command_argument argv[2] = {
        word("objdelete"), bytes(request->parameter.data, request->parameter.length)};
    (void)run(request, argv, 2);
    if (!failed(request)) {
        if (request->server->capture.integer == 1) {
            respond_json(request, MHD_HTTP_OK, "{\"deleted\":true}");
        } else {
            stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", "no such object");
        }
    }
    request->ready = request->wait_index == 0;
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

/* Checks ?consistency= (fast, safe or parallel: a single node answers every mode alike). */
static bool consistency_ok(struct request *request) {
    char text[16];
    const char *mode = query(request, "consistency", text, sizeof(text));
    if (mode == NULL || strcmp(mode, "fast") == 0 || strcmp(mode, "safe") == 0 ||
        strcmp(mode, "parallel") == 0) {
        return true;
    }
    stoa_http_fail(request, MHD_HTTP_BAD_REQUEST, "bad_request",
                   "consistency must be fast, safe or parallel");
    return false;
}

static void kv_get(struct request *request) {
    struct stoa_command_argument argv[2] = {
        word("get"), bytes(request->parameter.data, request->parameter.length)};
    (void)run(request, argv, 2);
    const struct stoa_http_capture *capture = &request->server->capture;
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

static void kv_put(struct request *request) {
    char ttl_text[24];
    const char *ttl = query(request, "ttl", ttl_text, sizeof(ttl_text));
    struct stoa_command_argument argv[5] = {
        word("set"), bytes(request->parameter.data, request->parameter.length),
        bytes(request->body.data, request->body.length), word("EX"), word(ttl != NULL ? ttl : "")};
    (void)run(request, argv, ttl != NULL ? 5 : 3);
    if (!failed(request)) {
        respond_json(request, MHD_HTTP_OK, "{\"result\":true}");
    }
    request->ready = request->wait_index == 0;
}

static void kv_delete(struct request *request) {
    struct stoa_command_argument argv[2] = {
        word("del"), bytes(request->parameter.data, request->parameter.length)};
    (void)run(request, argv, 2);
    if (!failed(request)) {
        if (request->server->capture.integer == 1) {
            respond_json(request, MHD_HTTP_OK, "{\"deleted\":true}");
        } else {
            stoa_http_fail(request, MHD_HTTP_NOT_FOUND, "not_found", "no such key");
        }
    }
    request->ready = request->wait_index == 0;
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
    if (request->method == STOA_HTTP_PUT) {
        put(request);
    } else if (request->method == STOA_HTTP_DELETE) {
        del(request);
    } else {
        get(request);
    }
}

void stoa_http_dispatch(struct request *request) {
    switch (request->route->id) {
    case STOA_HTTP_ROUTE_NOMAD_HEALTH:
        respond_json(request, MHD_HTTP_OK, "{\"status\":\"UP\"}");
        return;
    case STOA_HTTP_ROUTE_NOMAD_GET:
        object_get(request);
        return;
    case STOA_HTTP_ROUTE_NOMAD_PUT:
        nomad_write(request, true);
        return;
    case STOA_HTTP_ROUTE_NOMAD_UPDATE:
        nomad_write(request, false);
        return;
    case STOA_HTTP_ROUTE_NOMAD_DELETE:
        nomad_delete(request);
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
