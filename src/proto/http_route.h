/*
 * http_route: the HTTP door's routes — which path and method a request names.
 *
 * One static table lists every route: its path template (as docs/openapi.json writes it,
 * "/v1/kv/{key}"), the methods it answers, and whether its last segment is a parameter (an
 * object id or a key). stoa_http_route_match finds the route of a request path, checks the
 * method, and percent-decodes the parameter (a key may hold any bytes: "%00" is a NUL byte;
 * '/' inside a parameter must be written "%2F").
 *
 * Nomad's GET /nomad/storage/get/health is matched before GET /nomad/storage/get/{id}, so
 * an object whose id is "health" is reached by /v1/objects/health instead.
 *
 * Pure: no I/O, no allocation. The table is static.
 */
#ifndef STOA_PROTO_HTTP_ROUTE_H
#define STOA_PROTO_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The request headers of a write in a client session (docs/protocols/http.md, "Retried
 * writes"): the client id POST /v1/sessions gave, and the write's sequence in it. */
#define STOA_HTTP_HEADER_CLIENT_ID "Stoa-Client-Id"
#define STOA_HTTP_HEADER_SEQUENCE "Stoa-Sequence"

enum stoa_http_method {
    STOA_HTTP_GET = 1u << 0,
    STOA_HTTP_HEAD = 1u << 1,
    STOA_HTTP_POST = 1u << 2,
    STOA_HTTP_PUT = 1u << 3,
    STOA_HTTP_DELETE = 1u << 4,
    STOA_HTTP_OTHER = 1u << 5, /* any other method: never allowed */
};

enum stoa_http_route_id {
    STOA_HTTP_ROUTE_NOMAD_HEALTH,
    STOA_HTTP_ROUTE_NOMAD_GET,
    STOA_HTTP_ROUTE_NOMAD_PUT,
    STOA_HTTP_ROUTE_NOMAD_UPDATE,
    STOA_HTTP_ROUTE_NOMAD_DELETE,
    STOA_HTTP_ROUTE_NOMAD_CONFIG_STORAGE,
    STOA_HTTP_ROUTE_NOMAD_CONFIG_RETRIEVAL,
    STOA_HTTP_ROUTE_NOMAD_CONFIG_REPLICATION,
    STOA_HTTP_ROUTE_KV,
    STOA_HTTP_ROUTE_OBJECT,
    STOA_HTTP_ROUTE_SESSIONS,
    STOA_HTTP_ROUTE_STATUS,
    STOA_HTTP_ROUTE_DRAIN,
    STOA_HTTP_ROUTE_HEALTHZ,
    STOA_HTTP_ROUTE_READYZ,
    STOA_HTTP_ROUTE_METRICS,
    STOA_HTTP_ROUTE_OPENAPI,
    STOA_HTTP_ROUTE_SWAGGER_HOME,  /* /swagger and /swagger/: a redirect to index.html */
    STOA_HTTP_ROUTE_SWAGGER_INDEX, /* /swagger/index.html */
    STOA_HTTP_ROUTE_SWAGGER_ASSET, /* /swagger/{file}: one of swagger-ui-dist's files */
    STOA_HTTP_ROUTE_COUNT
};

struct stoa_http_route {
    enum stoa_http_route_id id;
    const char *path; /* the template, as in the OpenAPI document */
    uint32_t methods; /* enum stoa_http_method; HEAD is allowed wherever GET is */
    bool parameter;   /* the template ends in one {parameter} segment */
    bool documented;  /* listed in docs/openapi.json (the Swagger UI's files are not) */
};

/* The route whose template matched, whether the method is allowed, and the parameter. */
struct stoa_http_match {
    const struct stoa_http_route *route;
    bool method_allowed;
    size_t parameter_length; /* decoded bytes written to the caller's buffer */
};

/* The method named by text (an HTTP token, case-sensitive as RFC 9110 says). */
enum stoa_http_method stoa_http_method_parse(const char *text);

/* The route table, STOA_HTTP_ROUTE_COUNT entries (static storage). */
const struct stoa_http_route *stoa_http_route_table(void);

/* Matches path (without the query string; NUL-terminated) and method. The decoded parameter
 * goes to parameter (capacity bytes). Returns 0 with *match set; STOA_ERR_NOT_FOUND for no
 * route; STOA_ERR_MALFORMED for a bad percent-escape or an empty parameter;
 * STOA_ERR_TOO_LARGE for a parameter longer than capacity. */
int stoa_http_route_match(const char *path, enum stoa_http_method method, uint8_t *parameter,
                          size_t capacity, struct stoa_http_match *match);

/* The "Allow" header's value for methods ("GET, HEAD, PUT"), in text (capacity >= 48). */
void stoa_http_methods_format(uint32_t methods, char *text, size_t capacity);

/* Percent-decodes text[0 .. length) into out (capacity bytes), '+' kept as is (paths and our
 * query values use %20). Returns 0 with *out_length; STOA_ERR_MALFORMED for a bad escape;
 * STOA_ERR_TOO_LARGE when out is too small. */
int stoa_http_percent_decode(const char *text, size_t length, uint8_t *out, size_t capacity,
                             size_t *out_length);

#endif
