/* The HTTP door's route table and matching. */
#include "proto/http_route.h"

#include <string.h>

#include "util/assert.h"
#include "util/err.h"

#define GET STOA_HTTP_GET
#define POST STOA_HTTP_POST
#define PUT STOA_HTTP_PUT
#define DEL STOA_HTTP_DELETE

/* Matched in this order: fixed paths before the parameter routes that share their prefix. */
static const struct stoa_http_route table[STOA_HTTP_ROUTE_COUNT] = {
    {STOA_HTTP_ROUTE_NOMAD_HEALTH, "/nomad/storage/get/health", GET, false, true},
    {STOA_HTTP_ROUTE_NOMAD_GET, "/nomad/storage/get/{id}", GET, true, true},
    {STOA_HTTP_ROUTE_NOMAD_PUT, "/nomad/storage/put", POST, false, true},
    {STOA_HTTP_ROUTE_NOMAD_UPDATE, "/nomad/storage/update", PUT, false, true},
    {STOA_HTTP_ROUTE_NOMAD_DELETE, "/nomad/storage/delete/{id}", DEL, true, true},
    {STOA_HTTP_ROUTE_NOMAD_CONFIG_STORAGE, "/nomad/config/storage", POST, false, true},
    {STOA_HTTP_ROUTE_NOMAD_CONFIG_RETRIEVAL, "/nomad/config/retrieval", POST, false, true},
    {STOA_HTTP_ROUTE_NOMAD_CONFIG_REPLICATION, "/nomad/config/groups/replication-factor", POST,
     false, true},
    {STOA_HTTP_ROUTE_KV, "/v1/kv/{key}", GET | PUT | DEL, true, true},
    {STOA_HTTP_ROUTE_OBJECT, "/v1/objects/{id}", GET | PUT | DEL, true, true},
    {STOA_HTTP_ROUTE_SESSIONS, "/v1/sessions", POST, false, true},
    {STOA_HTTP_ROUTE_STATUS, "/v1/status", GET, false, true},
    {STOA_HTTP_ROUTE_DRAIN, "/v1/drain", GET | POST, false, true},
    {STOA_HTTP_ROUTE_HEALTHZ, "/healthz", GET, false, true},
    {STOA_HTTP_ROUTE_READYZ, "/readyz", GET, false, true},
    {STOA_HTTP_ROUTE_METRICS, "/metrics", GET, false, true},
    {STOA_HTTP_ROUTE_OPENAPI, "/openapi.json", GET, false, true},
    {STOA_HTTP_ROUTE_SWAGGER_HOME, "/swagger", GET, false, false},
    {STOA_HTTP_ROUTE_SWAGGER_INDEX, "/swagger/index.html", GET, false, false},
    {STOA_HTTP_ROUTE_SWAGGER_ASSET, "/swagger/{file}", GET, true, false},
};

#undef GET
#undef POST
#undef PUT
#undef DEL

const struct stoa_http_route *stoa_http_route_table(void) {
    return table;
}

enum stoa_http_method stoa_http_method_parse(const char *text) {
    static const struct {
        const char *name;
        enum stoa_http_method method;
    } names[] = {{"GET", STOA_HTTP_GET},
                 {"HEAD", STOA_HTTP_HEAD},
                 {"POST", STOA_HTTP_POST},
                 {"PUT", STOA_HTTP_PUT},
                 {"DELETE", STOA_HTTP_DELETE}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(text, names[i].name) == 0) {
            return names[i].method;
        }
    }
    return STOA_HTTP_OTHER;
}

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

int stoa_http_percent_decode(const char *text, size_t length, uint8_t *out, size_t capacity,
                             size_t *out_length) {
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = (uint8_t)text[i];
        if (text[i] == '%') {
            if (i + 2 >= length) {
                return STOA_ERR_MALFORMED;
            }
            int high = hex_value(text[i + 1]);
            int low = hex_value(text[i + 2]);
            if (high < 0 || low < 0) {
                return STOA_ERR_MALFORMED;
            }
            byte = (uint8_t)(high * 16 + low);
            i += 2;
        }
        if (used == capacity) {
            return STOA_ERR_TOO_LARGE;
        }
        out[used++] = byte;
    }
    *out_length = used;
    return STOA_OK;
}

/* Whether path matches the template route: equal, or (a parameter route) equal up to the
 * parameter, with a parameter of one segment after it. Sets *parameter_text. */
static bool template_matches(const struct stoa_http_route *route, const char *path,
                             const char **parameter_text) {
    if (!route->parameter) {
        return strcmp(path, route->path) == 0;
    }
    const char *brace = strchr(route->path, '{');
    STOA_ASSERT(brace != NULL);
    size_t prefix = (size_t)(brace - route->path);
    if (strncmp(path, route->path, prefix) != 0) {
        return false;
    }
    const char *rest = path + prefix;
    if (strchr(rest, '/') != NULL) {
        return false;
    }
    *parameter_text = rest;
    return true;
}

int stoa_http_route_match(const char *path, enum stoa_http_method method, uint8_t *parameter,
                          size_t capacity, struct stoa_http_match *match) {
    STOA_ASSERT(path != NULL && match != NULL);
    const char *path_used = strcmp(path, "/swagger/") == 0 ? "/swagger" : path;
    for (size_t i = 0; i < STOA_HTTP_ROUTE_COUNT; i++) {
        const struct stoa_http_route *route = &table[i];
        const char *parameter_text = NULL;
        if (!template_matches(route, path_used, &parameter_text)) {
            continue;
        }
        size_t length = 0;
        if (parameter_text != NULL) {
            size_t text_length = strlen(parameter_text);
            if (text_length == 0) {
                return STOA_ERR_MALFORMED;
            }
            int result =
                stoa_http_percent_decode(parameter_text, text_length, parameter, capacity, &length);
            if (result != STOA_OK) {
                return result;
            }
        }
        uint32_t allowed = route->methods;
        if ((allowed & STOA_HTTP_GET) != 0) {
            allowed |= STOA_HTTP_HEAD;
        }
        match->route = route;
        match->method_allowed = (allowed & (uint32_t)method) != 0;
        match->parameter_length = length;
        return STOA_OK;
    }
    return STOA_ERR_NOT_FOUND;
}

void stoa_http_methods_format(uint32_t methods, char *text, size_t capacity) {
    static const char *const names[] = {"GET", "HEAD", "POST", "PUT", "DELETE"};
    STOA_ASSERT(capacity >= 48);
    if ((methods & STOA_HTTP_GET) != 0) {
        methods |= STOA_HTTP_HEAD;
    }
    size_t used = 0;
    text[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((methods & (1u << i)) == 0) {
            continue;
        }
        size_t length = strlen(names[i]);
        if (used > 0) {
            memcpy(text + used, ", ", 2);
            used += 2;
        }
        memcpy(text + used, names[i], length);
        used += length;
        text[used] = '\0';
    }
}
