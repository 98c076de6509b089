/* Fuzz target for the HTTP door's parsers (src/proto/http_route.h, src/proto/http_json.h).
 *
 * The input's first byte picks a method and whether the id is required; the rest is used
 * twice: as a request path (cut at the first NUL) for the route matcher, and as a request
 * body for the GameObject decoder and the single-field readers. Checked: a matched parameter
 * fits its buffer, a decoded object re-encodes (its id is valid UTF-8, as JSON strings are)
 * and decodes again to the same fields. Any crash, sanitizer report or leak is a finding. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http_json.h"
#include "proto/http_route.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATH_BYTES_MAX 4096

static void route(uint8_t selector, const uint8_t *data, size_t size) {
    char path[PATH_BYTES_MAX + 1];
    size_t length = size < PATH_BYTES_MAX ? size : PATH_BYTES_MAX;
    memcpy(path, data, length);
    path[length] = '\0';
    static const enum stoa_http_method methods[] = {STOA_HTTP_GET, STOA_HTTP_POST, STOA_HTTP_PUT,
                                                    STOA_HTTP_DELETE, STOA_HTTP_OTHER};
    uint8_t parameter[64];
    struct stoa_http_match match;
    int result =
        stoa_http_route_match(path, methods[selector % 5], parameter, sizeof(parameter), &match);
    if (result == STOA_OK && match.parameter_length > sizeof(parameter)) {
        abort();
    }
}

static void body(uint8_t selector, const uint8_t *data, size_t size) {
    struct stoa_buf scratch;
    stoa_buf_init(&scratch, 1 << 20);
    struct stoa_http_object object;
    char error[128];
    bool id_required = (selector & 8) != 0;
    if (stoa_http_object_decode(data, size, id_required, &scratch, &object, error, sizeof(error)) ==
            STOA_OK &&
        object.id != NULL) {
        if (object.creation_time_s < 0) {
            object.creation_time_s = 0; /* absent: the server would stamp its time */
        }
        struct stoa_buf out;
        stoa_buf_init(&out, 4 << 20);
        if (stoa_http_object_encode(&object, &out) != STOA_OK) {
            abort();
        }
        struct stoa_buf again_scratch;
        stoa_buf_init(&again_scratch, 1 << 20);
        struct stoa_http_object again;
        if (stoa_http_object_decode(out.data, out.length, true, &again_scratch, &again, error,
                                    sizeof(error)) != STOA_OK ||
            again.id_length != object.id_length || again.value_length != object.value_length ||
            memcmp(again.id, object.id, object.id_length) != 0 ||
            (object.value_length > 0 &&
             memcmp(again.value, object.value, object.value_length) != 0)) {
            abort();
        }
        stoa_buf_free(&again_scratch);
        stoa_buf_free(&out);
    }
    stoa_buf_free(&scratch);
    char text[16];
    int64_t number = 0;
    bool flag = false;
    (void)stoa_http_json_field_string(data, size, "mode", text, sizeof(text), error, sizeof(error));
    (void)stoa_http_json_field_int(data, size, "replicationFactor", &number, error, sizeof(error));
    (void)stoa_http_json_field_bool(data, size, "draining", &flag, error, sizeof(error));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) {
        return 0;
    }
    route(data[0], data + 1, size - 1);
    body(data[0], data + 1, size - 1);
    return 0;
}
