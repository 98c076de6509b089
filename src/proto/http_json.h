/*
 * http_json: the HTTP door's JSON — Nomad's GameObject, error bodies, small request bodies,
 * and the capture of an engine reply for the door to turn into JSON.
 *
 * GameObject (Nomad's GameObjectGrpc as JSON, docs/protocols/http.md):
 *   {"id": string, "creationTime": unix s, "ttl": absolute unix s (0 = never),
 *    "value": base64 (RFC 4648 standard, padded), "lastModified": unix s}
 * Decoding parses with jansson (hostile input: duplicate keys, invalid UTF-8, numbers out of
 * range and wrong types are refused with a message for a 400); lastModified is ignored on
 * input (the server sets it). Encoding writes the JSON directly into a buffer.
 *
 * Ownership: a decoded object's id and value point into the scratch buffer the caller gave
 * (valid until it is changed); every other pointer is borrowed for the call.
 */
#ifndef STOA_PROTO_HTTP_JSON_H
#define STOA_PROTO_HTTP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/reply.h"
#include "util/buf.h"
#include "util/limits.h"

struct stoa_http_object {
    const uint8_t *id;
    size_t id_length;
    const uint8_t *value;
    size_t value_length;
    int64_t creation_time_s; /* -1 when the body did not give it */
    int64_t ttl_s;           /* absolute unix seconds; 0 = never */
    int64_t last_modified_s; /* encode only */
};

/* Decodes a GameObject body. id_required: the Nomad routes need "id"; /v1/objects/{id}
 * takes it from the path (a body id, if any, must then be equal). Returns 0; or
 * STOA_ERR_MALFORMED with a message in error (capacity bytes) for bad JSON, a missing or
 * mistyped field, or bad base64; STOA_ERR_NOMEM. */
int stoa_http_object_decode(const uint8_t *body, size_t length, bool id_required,
                            struct stoa_buf *scratch, struct stoa_http_object *object, char *error,
                            size_t error_capacity);

/* Appends the object's JSON to out. Returns 0; STOA_ERR_MALFORMED if the id is not valid
 * UTF-8; STOA_ERR_NOMEM or STOA_ERR_TOO_LARGE from the buffer. */
int stoa_http_object_encode(const struct stoa_http_object *object, struct stoa_buf *out);

/* Appends text[0 .. length) as a JSON string (quotes included). Returns 0, or
 * STOA_ERR_MALFORMED for invalid UTF-8 (nothing appended), or the buffer's error. */
int stoa_http_json_string(struct stoa_buf *out, const uint8_t *text, size_t length);

/* Whether text[0 .. length) is valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
bool stoa_http_utf8_valid(const uint8_t *text, size_t length);

/* Appends {"error":{"code":code,"message":message}} to out. message may hold any bytes:
 * invalid UTF-8 is replaced by '?'. */
int stoa_http_error_body(struct stoa_buf *out, const char *code, const char *message);

/* Reads the one field name of a JSON object body: a string (into text, capacity bytes, NUL
 * ended) or an integer. Returns 0; STOA_ERR_MALFORMED with a message in error for bad JSON,
 * a missing field or a wrong type. */
int stoa_http_json_field_string(const uint8_t *body, size_t length, const char *name, char *text,
                                size_t capacity, char *error, size_t error_capacity);
int stoa_http_json_field_int(const uint8_t *body, size_t length, const char *name, int64_t *value,
                             char *error, size_t error_capacity);
int stoa_http_json_field_bool(const uint8_t *body, size_t length, const char *name, bool *value,
                              char *error, size_t error_capacity);

/* ---- capturing an engine reply ---- */

enum stoa_http_capture_kind {
    STOA_HTTP_CAPTURE_NONE = 0,
    STOA_HTTP_CAPTURE_STATUS,
    STOA_HTTP_CAPTURE_ERROR,
    STOA_HTTP_CAPTURE_INTEGER,
    STOA_HTTP_CAPTURE_BULK,
    STOA_HTTP_CAPTURE_NULL, /* null bulk or null array */
    STOA_HTTP_CAPTURE_ARRAY,
};

struct stoa_http_capture_element {
    enum stoa_http_capture_kind kind; /* INTEGER, BULK or NULL */
    int64_t integer;
    size_t offset; /* BULK: its bytes at bytes.data + offset */
    size_t length;
};

/* A struct stoa_reply that keeps one reply: its kind, an error's code and text, an
 * integer, a bulk's bytes, or an array's first STOA_HTTP_CAPTURE_ELEMENTS_MAX scalar
 * elements. The front door reads it after the engine answered. */
struct stoa_http_capture {
    struct stoa_reply reply;
    enum stoa_http_capture_kind kind;
    int error_code;
    char error[STOA_HTTP_ERROR_TEXT_BYTES_MAX];
    int64_t integer;
    struct stoa_buf bytes; /* BULK's bytes, or the array's bulks one after another */
    size_t element_count;  /* ARRAY: elements announced */
    size_t element_seen;
    struct stoa_http_capture_element elements[STOA_HTTP_CAPTURE_ELEMENTS_MAX];
    int buffer_error; /* a bulk did not fit: 0 or the buffer's error */
};

/* Makes an empty capture whose bulks may take bytes_max bytes. Allocates nothing. */
void stoa_http_capture_init(struct stoa_http_capture *capture, size_t bytes_max);
/* Forgets the last reply, keeping the buffer for reuse. */
void stoa_http_capture_reset(struct stoa_http_capture *capture);
void stoa_http_capture_free(struct stoa_http_capture *capture);

#endif
