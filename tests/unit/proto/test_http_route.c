/* Shows that the HTTP door's routes match their paths and methods (fixed paths before the
 * parameter routes that share a prefix, HEAD wherever GET), that parameters are percent-decoded
 * as binary-safe bytes with bad escapes refused, that the Allow header lists the methods, that
 * every documented route and method of the table is in the embedded OpenAPI document (and every
 * path of the document is in the table), and that the HTTP-only object commands translate into
 * the engine's OBJECT_* opcodes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <jansson.h>

#include "engine/apply.h"
#include "proto/commands.h"
#include "proto/http_openapi.h"
#include "proto/http_route.h"
#include "util/err.h"

static int match(const char *path, enum stoa_http_method method, struct stoa_http_match *out,
                 uint8_t *parameter, size_t capacity) {
    return stoa_http_route_match(path, method, parameter, capacity, out);
}

/* Each route is found by its path, with its method allowed and others refused. */
static void test_match_routes(void **state) {
    (void)state;
    uint8_t parameter[64];
    struct stoa_http_match m;
    assert_int_equal(match("/nomad/storage/get/health", STOA_HTTP_GET, &m, parameter, 64), 0);
    assert_int_equal(m.route->id, STOA_HTTP_ROUTE_NOMAD_HEALTH);
    assert_true(m.method_allowed);
    assert_int_equal(match("/nomad/storage/get/item:99", STOA_HTTP_GET, &m, parameter, 64), 0);
    assert_int_equal(m.route->id, STOA_HTTP_ROUTE_NOMAD_GET);
    assert_memory_equal(parameter, "item:99", 7);
    assert_int_equal(m.parameter_length, 7);
    assert_int_equal(match("/nomad/storage/put", STOA_HTTP_PUT, &m, parameter, 64), 0);
    assert_false(m.method_allowed);
    assert_int_equal(match("/v1/kv/a", STOA_HTTP_HEAD, &m, parameter, 64), 0);
    assert_true(m.method_allowed);
    assert_int_equal(match("/v1/kv/a", STOA_HTTP_OTHER, &m, parameter, 64), 0);
    assert_false(m.method_allowed);
    assert_int_equal(match("/swagger/", STOA_HTTP_GET, &m, parameter, 64), 0);
    assert_int_equal(m.route->id, STOA_HTTP_ROUTE_SWAGGER_HOME);
    assert_int_equal(match("/swagger/index.html", STOA_HTTP_GET, &m, parameter, 64), 0);
    assert_int_equal(m.route->id, STOA_HTTP_ROUTE_SWAGGER_INDEX);
    assert_int_equal(match("/nope", STOA_HTTP_GET, &m, parameter, 64), STOA_ERR_NOT_FOUND);
    assert_int_equal(match("/v1/kv/a/b", STOA_HTTP_GET, &m, parameter, 64), STOA_ERR_NOT_FOUND);
    assert_int_equal(match("/v1/kvx", STOA_HTTP_GET, &m, parameter, 64), STOA_ERR_NOT_FOUND);
}

/* Parameters are percent-decoded into any bytes; bad escapes, empty or oversized ones fail. */
static void test_parameters(void **state) {
    (void)state;
    uint8_t parameter[8];
    struct stoa_http_match m;
    assert_int_equal(match("/v1/kv/a%2Fb%00%ff", STOA_HTTP_GET, &m, parameter, 8), 0);
    assert_int_equal(m.parameter_length, 5);
    assert_memory_equal(parameter, "a/b\0\xff", 5);
    assert_int_equal(match("/v1/kv/%4", STOA_HTTP_GET, &m, parameter, 8), STOA_ERR_MALFORMED);
    assert_int_equal(match("/v1/kv/%zz", STOA_HTTP_GET, &m, parameter, 8), STOA_ERR_MALFORMED);
    assert_int_equal(match("/v1/kv/", STOA_HTTP_GET, &m, parameter, 8), STOA_ERR_MALFORMED);
    assert_int_equal(match("/v1/kv/123456789", STOA_HTTP_GET, &m, parameter, 8),
                     STOA_ERR_TOO_LARGE);
}

/* The Allow header's text and the method names. */
static void test_methods(void **state) {
    (void)state;
    char text[48];
    stoa_http_methods_format(STOA_HTTP_GET | STOA_HTTP_PUT | STOA_HTTP_DELETE, text, sizeof(text));
    assert_string_equal(text, "GET, HEAD, PUT, DELETE");
    stoa_http_methods_format(STOA_HTTP_POST, text, sizeof(text));
    assert_string_equal(text, "POST");
    assert_int_equal(stoa_http_method_parse("DELETE"), STOA_HTTP_DELETE);
    assert_int_equal(stoa_http_method_parse("get"), STOA_HTTP_OTHER);
    assert_int_equal(stoa_http_method_parse("PATCH"), STOA_HTTP_OTHER);
}

static const char *method_name(uint32_t method) {
    switch (method) {
    case STOA_HTTP_GET:
        return "get";
    case STOA_HTTP_POST:
        return "post";
    case STOA_HTTP_PUT:
        return "put";
    case STOA_HTTP_DELETE:
        return "delete";
    default:
        return NULL;
    }
}

/* Every documented route and each of its methods is in the embedded OpenAPI document, and the
 * document lists no path the table lacks. */
static void test_openapi_covers_routes(void **state) {
    (void)state;
    json_error_t error;
    json_t *doc = json_loadb(stoa_http_openapi_json, stoa_http_openapi_json_length, 0, &error);
    assert_non_null(doc);
    json_t *paths = json_object_get(doc, "paths");
    assert_non_null(paths);
    const struct stoa_http_route *table = stoa_http_route_table();
    size_t documented = 0;
    for (size_t i = 0; i < STOA_HTTP_ROUTE_COUNT; i++) {
        assert_int_equal(table[i].id, i);
        if (!table[i].documented) {
            continue;
        }
        documented++;
        json_t *path = json_object_get(paths, table[i].path);
        if (path == NULL) {
            fail_msg("route %s is not in docs/openapi.json", table[i].path);
        }
        for (uint32_t bit = 1; bit < STOA_HTTP_OTHER; bit <<= 1) {
            const char *name = method_name(bit);
            bool in_table = (table[i].methods & bit) != 0;
            if (name != NULL && in_table != (json_object_get(path, name) != NULL)) {
                fail_msg("%s %s: the table and docs/openapi.json disagree", name, table[i].path);
            }
        }
    }
    assert_int_equal(json_object_size(paths), documented);
    json_decref(doc);
}

/* The HTTP-only object commands become OBJECT_* engine commands; RESP does not see them. */
static void test_object_commands(void **state) {
    (void)state;
    struct stoa_commands_output out;
    stoa_commands_output_init(&out);
    const struct stoa_commands_spec *spec = NULL;
    struct stoa_command_argument argv[5] = {{(const uint8_t *)"objput", 6},
                                            {(const uint8_t *)"id", 2},
                                            {(const uint8_t *)"v", 1},
                                            {(const uint8_t *)"5000", 4},
                                            {(const uint8_t *)"7", 1}};
    assert_int_equal(stoa_commands_find(argv, 5, STOA_COMMANDS_DOOR_HTTP, &out, &spec), 0);
    assert_int_equal(stoa_commands_translate(spec, argv, 5, 1000, 0, &out), 0);
    assert_int_equal(out.kind, STOA_COMMANDS_KIND_WRITE);
    assert_int_equal(out.opcode, STOA_OP_OBJECT_PUT);
    int64_t value = 0;
    assert_int_equal(stoa_op_int64_get(&out.arguments[2], &value), 0);
    assert_int_equal(value, 5000);
    assert_int_not_equal(stoa_commands_find(argv, 5, STOA_COMMANDS_DOOR_RESP, &out, &spec), 0);
    argv[4] = (struct stoa_command_argument){(const uint8_t *)"-1", 2};
    assert_int_equal(stoa_commands_find(argv, 5, STOA_COMMANDS_DOOR_HTTP, &out, &spec), 0);
    assert_int_not_equal(stoa_commands_translate(spec, argv, 5, 1000, 0, &out), 0);
    argv[0] = (struct stoa_command_argument){(const uint8_t *)"objget", 6};
    assert_int_equal(stoa_commands_find(argv, 2, STOA_COMMANDS_DOOR_HTTP, &out, &spec), 0);
    assert_int_equal(stoa_commands_translate(spec, argv, 2, 1000, 0, &out), 0);
    assert_int_equal(out.kind, STOA_COMMANDS_KIND_READ);
    assert_int_equal(out.opcode, STOA_OP_OBJECT_GET);
    stoa_commands_output_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_routes),    cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_methods),         cmocka_unit_test(test_openapi_covers_routes),
        cmocka_unit_test(test_object_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
