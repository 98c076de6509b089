/* The HTTP door's JSON: GameObject decoding (jansson) and encoding, error bodies, small
 * bodies, and the engine reply capture. */
#include "proto/http_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "util/assert.h"
#include "util/base64.h"
#include "util/err.h"

/* The largest number of seconds whose milliseconds fit in an int64. */
#define SECONDS_MAX (INT64_MAX / 1000)

static int fail(char *error, size_t capacity, const char *text) {
    snprintf(error, capacity, "%s", text);
    return STOA_ERR_MALFORMED;
}

/* Parses body as one JSON object, refusing duplicate keys and anything after it. */
static json_t *parse_object(const uint8_t *body, size_t length, char *error, size_t capacity) {
    json_error_t json_error;
    json_t *root = json_loadb((const char *)body, length, JSON_REJECT_DUPLICATES, &json_error);
    if (root == NULL) {
        snprintf(error, capacity, "invalid JSON: %s (line %d, column %d)", json_error.text,
                 json_error.line, json_error.column);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        fail(error, capacity, "invalid JSON: the body must be an object");
        return NULL;
    }
    return root;
}

/* An optional integer field within [0, SECONDS_MAX]; absent leaves *value. */
static int seconds_field(json_t *root, const char *name, int64_t *value, char *error,
                         size_t capacity) {
    json_t *field = json_object_get(root, name);
    if (field == NULL || json_is_null(field)) {
        return STOA_OK;
    }
    if (!json_is_integer(field)) {
        snprintf(error, capacity, "%s must be an integer (unix seconds)", name);
        return STOA_ERR_MALFORMED;
    }
    json_int_t number = json_integer_value(field);
    if (number < 0 || number > SECONDS_MAX) {
        snprintf(error, capacity, "%s is out of range", name);
        return STOA_ERR_MALFORMED;
    }
    *value = (int64_t)number;
    return STOA_OK;
}

/* Copies the id and decodes the value into scratch, sized once so the pointers stay put. */
static int object_bytes(json_t *id, json_t *value, struct stoa_buf *scratch,
                        struct stoa_http_object *object, char *error, size_t capacity) {
    size_t id_length = id != NULL ? json_string_length(id) : 0;
    const char *text = value != NULL ? json_string_value(value) : "";
    size_t text_length = value != NULL ? json_string_length(value) : 0;
    size_t decoded_max = stoa_base64_decoded_length_max(text_length);
    stoa_buf_reset(scratch);
    int result = stoa_buf_reserve(scratch, id_length + decoded_max + 1);
    if (result != STOA_OK) {
        return result == STOA_ERR_TOO_LARGE ? fail(error, capacity, "the object is too large")
                                            : result;
    }
    if (id_length > 0) {
        memcpy(scratch->data, json_string_value(id), id_length);
    }
    size_t value_length = 0;
    if (text_length > 0) {
        result = stoa_base64_decode(text, text_length, STOA_BASE64_STANDARD,
                                    scratch->data + id_length, decoded_max, &value_length);
        if (result != STOA_OK) {
            return fail(error, capacity, "value is not valid base64 (RFC 4648, padded)");
        }
    }
    scratch->length = id_length + value_length;
    object->id = id != NULL ? scratch->data : NULL;
    object->id_length = id_length;
    object->value = scratch->data + id_length;
    object->value_length = value_length;
    return STOA_OK;
}

static int object_fields(json_t *root, bool id_required, struct stoa_buf *scratch,
                         struct stoa_http_object *object, char *error, size_t capacity) {
    json_t *id = json_object_get(root, "id");
    if (id != NULL && !json_is_string(id)) {
        return fail(error, capacity, "id must be a string");
    }
    if (id != NULL && json_string_length(id) == 0) {
        return fail(error, capacity, "id must not be empty");
    }
    if (id == NULL && id_required) {
        return fail(error, capacity, "id is required");
    }
    if (id != NULL && json_string_length(id) > STOA_OBJECT_ID_BYTES_MAX) {
        return fail(error, capacity, "id is too long");
    }
    json_t *value = json_object_get(root, "value");
    if (value != NULL && !json_is_null(value) && !json_is_string(value)) {
        return fail(error, capacity, "value must be a base64 string");
    }
    if (value != NULL && json_is_null(value)) {
        value = NULL;
    }
    object->creation_time_s = -1;
    object->ttl_s = 0;
    object->last_modified_s = 0;
    int result = seconds_field(root, "creationTime", &object->creation_time_s, error, capacity);
    if (result == STOA_OK) {
        result = seconds_field(root, "ttl", &object->ttl_s, error, capacity);
    }
    if (result == STOA_OK) {
        result = object_bytes(id, value, scratch, object, error, capacity);
    }
    return result;
}

int stoa_http_object_decode(const uint8_t *body, size_t length, bool id_required,
                            struct stoa_buf *scratch, struct stoa_http_object *object, char *error,
                            size_t error_capacity) {
    STOA_ASSERT(scratch != NULL && object != NULL && error != NULL && error_capacity > 0);
    if (length == 0) {
        return fail(error, error_capacity, "invalid JSON: the body is empty");
    }
    json_t *root = parse_object(body, length, error, error_capacity);
    if (root == NULL) {
        return STOA_ERR_MALFORMED;
    }
    struct stoa_http_object decoded;
    int result = object_fields(root, id_required, scratch, &decoded, error, error_capacity);
    json_decref(root);
    if (result == STOA_OK) {
        *object = decoded;
    }
    return result;
}

/* ---- writing ---- */

bool stoa_http_utf8_valid(const uint8_t *text, size_t length) {
    size_t i = 0;
    while (i < length) {
        uint8_t c = text[i];
        size_t extra = 0;
        uint32_t code = 0;
        uint32_t minimum = 0;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            extra = 1, code = c & 0x1Fu, minimum = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2, code = c & 0x0Fu, minimum = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3, code = c & 0x07u, minimum = 0x10000;
        } else {
            return false;
        }
        if (length - i <= extra) {
            return false;
        }
        for (size_t k = 1; k <= extra; k++) {
            if ((text[i + k] & 0xC0) != 0x80) {
                return false;
            }
            code = (code << 6) | (text[i + k] & 0x3Fu);
        }
        if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

int stoa_http_json_string(struct stoa_buf *out, const uint8_t *text, size_t length) {
    if (!stoa_http_utf8_valid(text, length)) {
        return STOA_ERR_MALFORMED;
    }
    size_t start = out->length;
    int result = stoa_buf_append_byte(out, '"');
    for (size_t i = 0; result == STOA_OK && i < length; i++) {
        uint8_t c = text[i];
        if (c == '"' || c == '\\') {
            uint8_t escaped[2] = {'\\', c};
            result = stoa_buf_append(out, escaped, 2);
        } else if (c < 0x20) {
            char escaped[8];
            snprintf(escaped, sizeof(escaped), "\\u%04x", c);
            result = stoa_buf_append(out, escaped, 6);
        } else {
            result = stoa_buf_append_byte(out, c);
        }
    }
    if (result == STOA_OK) {
        result = stoa_buf_append_byte(out, '"');
    }
    if (result != STOA_OK) {
        out->length = start;
    }
    return result;
}

static int append_text(struct stoa_buf *out, const char *text) {
    return stoa_buf_append(out, text, strlen(text));
}

static int append_int(struct stoa_buf *out, int64_t value) {
    char text[24];
    int n = snprintf(text, sizeof(text), "%" PRId64, value);
    STOA_ASSERT(n > 0 && (size_t)n < sizeof(text));
    return stoa_buf_append(out, text, (size_t)n);
}

static int append_base64(struct stoa_buf *out, const uint8_t *data, size_t length) {
    size_t text_length = stoa_base64_encoded_length(length, STOA_BASE64_STANDARD);
    int result = stoa_buf_reserve(out, text_length + 3);
    if (result != STOA_OK) {
        return result;
    }
    out->data[out->length++] = '"';
    size_t written = 0;
    result = stoa_base64_encode(data, length, STOA_BASE64_STANDARD, (char *)out->data + out->length,
                                text_length + 1, &written);
    STOA_ASSERT(result == STOA_OK && written == text_length);
    out->length += written;
    out->data[out->length++] = '"';
    return STOA_OK;
}

int stoa_http_object_encode(const struct stoa_http_object *object, struct stoa_buf *out) {
    STOA_ASSERT(object != NULL && out != NULL);
    size_t start = out->length;
    int result = append_text(out, "{\"id\":");
    if (result == STOA_OK) {
        result = stoa_http_json_string(out, object->id, object->id_length);
    }
    if (result == STOA_OK && (result = append_text(out, ",\"creationTime\":")) == STOA_OK) {
        result = append_int(out, object->creation_time_s);
    }
    if (result == STOA_OK && (result = append_text(out, ",\"ttl\":")) == STOA_OK) {
        result = append_int(out, object->ttl_s);
    }
    if (result == STOA_OK && (result = append_text(out, ",\"value\":")) == STOA_OK) {
        result = append_base64(out, object->value, object->value_length);
    }
    if (result == STOA_OK && (result = append_text(out, ",\"lastModified\":")) == STOA_OK) {
        result = append_int(out, object->last_modified_s);
    }
    if (result == STOA_OK) {
        result = stoa_buf_append_byte(out, '}');
    }
    if (result != STOA_OK) {
        out->length = start;
    }
    return result;
}

int stoa_http_error_body(struct stoa_buf *out, const char *code, const char *message) {
    char clean[STOA_HTTP_ERROR_TEXT_BYTES_MAX];
    size_t length = strlen(message);
    if (length >= sizeof(clean)) {
        length = sizeof(clean) - 1;
    }
    memcpy(clean, message, length);
    for (size_t i = 0; i < length; i++) {
        if ((uint8_t)clean[i] >= 0x80 || (uint8_t)clean[i] < 0x20) {
            clean[i] = '?';
        }
    }
    size_t start = out->length;
    int result = append_text(out, "{\"error\":{\"code\":");
    if (result == STOA_OK) {
        result = stoa_http_json_string(out, (const uint8_t *)code, strlen(code));
    }
    if (result == STOA_OK && (result = append_text(out, ",\"message\":")) == STOA_OK) {
        result = stoa_http_json_string(out, (const uint8_t *)clean, length);
    }
    if (result == STOA_OK) {
        result = append_text(out, "}}");
    }
    if (result != STOA_OK) {
        out->length = start;
    }
    return result;
}

/* The field name of a JSON object body, or NULL with a message. *root must be freed. */
static json_t *body_field(const uint8_t *body, size_t length, const char *name, json_t **root,
                          char *error, size_t capacity) {
    if (length == 0) {
        fail(error, capacity, "invalid JSON: the body is empty");
        return NULL;
    }
    *root = parse_object(body, length, error, capacity);
    if (*root == NULL) {
        return NULL;
    }
    json_t *field = json_object_get(*root, name);
    if (field == NULL) {
        snprintf(error, capacity, "%s is required", name);
    }
    return field;
}

int stoa_http_json_field_string(const uint8_t *body, size_t length, const char *name, char *text,
                                size_t capacity, char *error, size_t error_capacity) {
    json_t *root = NULL;
    json_t *field = body_field(body, length, name, &root, error, error_capacity);
    int result = field != NULL ? STOA_OK : STOA_ERR_MALFORMED;
    if (field != NULL && (!json_is_string(field) || json_string_length(field) >= capacity)) {
        snprintf(error, error_capacity, "%s must be a short string", name);
        result = STOA_ERR_MALFORMED;
    }
    if (result == STOA_OK) {
        memcpy(text, json_string_value(field), json_string_length(field) + 1);
    }
    json_decref(root);
    return result;
}

int stoa_http_json_field_int(const uint8_t *body, size_t length, const char *name, int64_t *value,
                             char *error, size_t error_capacity) {
    json_t *root = NULL;
    json_t *field = body_field(body, length, name, &root, error, error_capacity);
    int result = field != NULL ? STOA_OK : STOA_ERR_MALFORMED;
    if (field != NULL && !json_is_integer(field)) {
        snprintf(error, error_capacity, "%s must be an integer", name);
        result = STOA_ERR_MALFORMED;
    }
    if (result == STOA_OK) {
        *value = (int64_t)json_integer_value(field);
    }
    json_decref(root);
    return result;
}

int stoa_http_json_field_bool(const uint8_t *body, size_t length, const char *name, bool *value,
                              char *error, size_t error_capacity) {
    json_t *root = NULL;
    json_t *field = body_field(body, length, name, &root, error, error_capacity);
    int result = field != NULL ? STOA_OK : STOA_ERR_MALFORMED;
    if (field != NULL && !json_is_boolean(field)) {
        snprintf(error, error_capacity, "%s must be true or false", name);
        result = STOA_ERR_MALFORMED;
    }
    if (result == STOA_OK) {
        *value = json_is_true(field);
    }
    json_decref(root);
    return result;
}

/* ---- the capture ---- */

static struct stoa_http_capture *capture_of(struct stoa_reply *reply) {
    return reply->self;
}

/* Where the next value goes: the top-level reply, or the next element of an array. */
static struct stoa_http_capture_element *next_element(struct stoa_http_capture *capture) {
    if (capture->kind != STOA_HTTP_CAPTURE_ARRAY) {
        return NULL;
    }
    size_t index = capture->element_seen++;
    return index < STOA_HTTP_CAPTURE_ELEMENTS_MAX ? &capture->elements[index] : NULL;
}

static void capture_status(struct stoa_reply *reply, const char *text) {
    (void)text;
    struct stoa_http_capture *capture = capture_of(reply);
    if (capture->kind == STOA_HTTP_CAPTURE_NONE) {
        capture->kind = STOA_HTTP_CAPTURE_STATUS;
    } else {
        (void)next_element(capture);
    }
}

static void capture_error(struct stoa_reply *reply, int code, const char *text) {
    struct stoa_http_capture *capture = capture_of(reply);
    if (capture->kind == STOA_HTTP_CAPTURE_NONE) {
        capture->kind = STOA_HTTP_CAPTURE_ERROR;
        capture->error_code = code;
        snprintf(capture->error, sizeof(capture->error), "%s", text);
    } else {
        (void)next_element(capture);
    }
}

static void capture_integer(struct stoa_reply *reply, int64_t value) {
    struct stoa_http_capture *capture = capture_of(reply);
    if (capture->kind == STOA_HTTP_CAPTURE_NONE) {
        capture->kind = STOA_HTTP_CAPTURE_INTEGER;
        capture->integer = value;
        return;
    }
    struct stoa_http_capture_element *element = next_element(capture);
    if (element != NULL) {
        element->kind = STOA_HTTP_CAPTURE_INTEGER;
        element->integer = value;
    }
}

static void capture_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    struct stoa_http_capture *capture = capture_of(reply);
    struct stoa_http_capture_element *element = NULL;
    if (capture->kind == STOA_HTTP_CAPTURE_NONE) {
        capture->kind = STOA_HTTP_CAPTURE_BULK;
    } else if ((element = next_element(capture)) == NULL) {
        return;
    }
    size_t offset = capture->bytes.length;
    int result = stoa_buf_append(&capture->bytes, data, length);
    if (result != STOA_OK) {
        capture->buffer_error = result;
        return;
    }
    if (element != NULL) {
        element->kind = STOA_HTTP_CAPTURE_BULK;
        element->offset = offset;
        element->length = length;
    }
}

static void capture_null(struct stoa_reply *reply) {
    struct stoa_http_capture *capture = capture_of(reply);
    if (capture->kind == STOA_HTTP_CAPTURE_NONE) {
        capture->kind = STOA_HTTP_CAPTURE_NULL;
        return;
    }
    struct stoa_http_capture_element *element = next_element(capture);
    if (element != NULL) {
        element->kind = STOA_HTTP_CAPTURE_NULL;
    }
}

static void capture_array(struct stoa_reply *reply, size_t count) {
    struct stoa_http_capture *capture = capture_of(reply);
    if (capture->kind == STOA_HTTP_CAPTURE_NONE) {
        capture->kind = STOA_HTTP_CAPTURE_ARRAY;
        capture->element_count = count;
    } else {
        (void)next_element(capture); /* nested arrays are not captured */
    }
}

static const struct stoa_reply_ops capture_ops = {
    .status = capture_status,
    .error = capture_error,
    .integer = capture_integer,
    .bulk = capture_bulk,
    .null_bulk = capture_null,
    .array = capture_array,
    .null_array = capture_null,
};

void stoa_http_capture_init(struct stoa_http_capture *capture, size_t bytes_max) {
    memset(capture, 0, sizeof(*capture));
    capture->reply.ops = &capture_ops;
    capture->reply.self = capture;
    stoa_buf_init(&capture->bytes, bytes_max);
}

void stoa_http_capture_reset(struct stoa_http_capture *capture) {
    capture->kind = STOA_HTTP_CAPTURE_NONE;
    capture->error_code = 0;
    capture->error[0] = '\0';
    capture->integer = 0;
    capture->element_count = 0;
    capture->element_seen = 0;
    capture->buffer_error = 0;
    stoa_buf_reset(&capture->bytes);
}

void stoa_http_capture_free(struct stoa_http_capture *capture) {
    stoa_buf_free(&capture->bytes);
}
