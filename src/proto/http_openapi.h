/*
 * http_openapi: the OpenAPI 3 document of the HTTP door (docs/openapi.json), embedded in the
 * binary at build time (cmake/embed.cmake writes build/<dir>/generated/http_openapi.c from
 * it), so a node serves /openapi.json without reading files. Static storage.
 */
#ifndef STOA_PROTO_HTTP_OPENAPI_H
#define STOA_PROTO_HTTP_OPENAPI_H

#include <stddef.h>

extern const char stoa_http_openapi_json[];
extern const size_t stoa_http_openapi_json_length;

#endif
