/* Shows that GameObject JSON decodes Nomad's bodies (and refuses bad JSON, bad base64, wrong
 * types, duplicate keys and invalid UTF-8 with a message), encodes byte for byte as documented,
 * escapes strings and refuses invalid UTF-8, writes error bodies, reads single-field bodies, and
 * that the reply capture keeps an engine reply's scalars and an OBJECT_GET array. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/http_json.h"
#include "util/alloc.h"
#include "util/err.h"

#define TEXT(s) (const uint8_t *)(s), strlen(s)

/* Nomad's README example decodes; lastModified is ignored, creationTime and ttl are kept. */
static void test_decode_nomad_example(void **state) {
    (void)state;
    struct stoa_buf scratch;
    stoa_buf_init(&scratch, 1 << 20);
    struct stoa_http_object object;
    char error[128];
    const char *body = "{\"id\":\"item:99\",\"creationTime\":1700000000,\"ttl\":1800000000,"
                       "\"value\":\"eyJ4IjoxfQ==\",\"lastModified\":5,\"extra\":[1]}";
    assert_int_equal(stoa_http_object_decode(TEXT(body), true, &scratch, &object, error, 128), 0);
    assert_int_equal(object.id_length, 7);
    assert_memory_equal(object.id, "item:99", 7);
    assert_int_equal(object.value_length, 7);
    assert_memory_equal(object.value, "{\"x\":1}", 7);
    assert_int_equal(object.creation_time_s, 1700000000);
    assert_int_equal(object.ttl_s, 1800000000);
    const char *minimal = "{\"id\":\"a\"}";
    assert_int_equal(stoa_http_object_decode(TEXT(minimal), true, &scratch, &object, error, 128),
                     0);
    assert_int_equal(object.creation_time_s, -1);
    assert_int_equal(object.value_length, 0);
    stoa_buf_free(&scratch);
}

/* Each bad body is refused with STOA_ERR_MALFORMED and a message. */
static void test_decode_refuses(void **state) {
    (void)state;
    static const char *const bodies[] = {
        "",
        "{",
        "[]",
        "{\"value\":\"AA==\"}",
        "{\"id\":\"\"}",
        "{\"id\":1}",
        "{\"id\":\"a\",\"value\":\"AA=\"}",
        "{\"id\":\"a\",\"value\":\"A===\"}",
        "{\"id\":\"a\",\"value\":5}",
        "{\"id\":\"a\",\"ttl\":-1}",
        "{\"id\":\"a\",\"ttl\":1.5}",
        "{\"id\":\"a\",\"creationTime\":9223372036854775807}",
        "{\"id\":\"a\",\"id\":\"b\"}",
        "{\"id\":\"\xc3\x28\"}",
        "{\"id\":\"a\"} x",
    };
    struct stoa_buf scratch;
    stoa_buf_init(&scratch, 1 << 20);
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct stoa_http_object object;
        char error[128] = "";
        int result = stoa_http_object_decode(TEXT(bodies[i]), true, &scratch, &object, error, 128);
        if (result != STOA_ERR_MALFORMED || error[0] == '\0') {
            fail_msg("body %zu (%s) gave %d '%s'", i, bodies[i], result, error);
        }
    }
    stoa_buf_free(&scratch);
}

/* The encoding is exact; control characters are escaped; invalid UTF-8 is refused. */
static void test_encode(void **state) {
    (void)state;
    struct stoa_buf out;
    stoa_buf_init(&out, 1 << 20);
    struct stoa_http_object object = {.id = (const uint8_t *)"a\"b\n",
                                      .id_length = 4,
                                      .value = (const uint8_t *)"\x00\x01\x02",
                                      .value_length = 3,
                                      .creation_time_s = 1,
                                      .ttl_s = 0,
                                      .last_modified_s = 2};
    assert_int_equal(stoa_http_object_encode(&object, &out), 0);
    const char *expected = "{\"id\":\"a\\\"b\\u000a\",\"creationTime\":1,\"ttl\":0,"
                           "\"value\":\"AAEC\",\"lastModified\":2}";
    assert_int_equal(out.length, strlen(expected));
    assert_memory_equal(out.data, expected, out.length);
    stoa_buf_reset(&out);
    object.id = (const uint8_t *)"\xff";
    object.id_length = 1;
    assert_int_equal(stoa_http_object_encode(&object, &out), STOA_ERR_MALFORMED);
    assert_int_equal(out.length, 0);
    stoa_buf_free(&out);
}

/* UTF-8 validation: overlongs, surrogates, truncations and values past U+10FFFF fail. */
static void test_utf8(void **state) {
    (void)state;
    assert_true(stoa_http_utf8_valid(TEXT("plain \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")));
    assert_false(stoa_http_utf8_valid(TEXT("\xc0\xaf")));
    assert_false(stoa_http_utf8_valid(TEXT("\xed\xa0\x80")));
    assert_false(stoa_http_utf8_valid(TEXT("\xe2\x82")));
    assert_false(stoa_http_utf8_valid(TEXT("\xf4\x90\x80\x80")));
    assert_false(stoa_http_utf8_valid(TEXT("\x80")));
}

/* Error bodies and single-field bodies. */
static void test_error_and_fields(void **state) {
    (void)state;
    struct stoa_buf out;
    stoa_buf_init(&out, 4096);
    assert_int_equal(stoa_http_error_body(&out, "not_found", "no \"such\" \xff"), 0);
    const char *expected = "{\"error\":{\"code\":\"not_found\",\"message\":\"no \\\"such\\\" ?\"}}";
    assert_int_equal(out.length, strlen(expected));
    assert_memory_equal(out.data, expected, out.length);
    stoa_buf_free(&out);
    char text[8];
    char error[128];
    int64_t number = 0;
    bool flag = false;
    assert_int_equal(
        stoa_http_json_field_string(TEXT("{\"mode\":\"fast\"}"), "mode", text, 8, error, 128), 0);
    assert_string_equal(text, "fast");
    assert_int_equal(stoa_http_json_field_string(TEXT("{\"mode\":\"muchtoolong\"}"), "mode", text,
                                                 8, error, 128),
                     STOA_ERR_MALFORMED);
    assert_int_equal(stoa_http_json_field_int(TEXT("{\"replicationFactor\":3}"),
                                              "replicationFactor", &number, error, 128),
                     0);
    assert_int_equal(number, 3);
    assert_int_equal(stoa_http_json_field_int(TEXT("{\"n\":\"3\"}"), "n", &number, error, 128),
                     STOA_ERR_MALFORMED);
    assert_int_equal(stoa_http_json_field_bool(TEXT("{\"d\":true}"), "d", &flag, error, 128), 0);
    assert_true(flag);
    assert_int_equal(stoa_http_json_field_bool(TEXT("{}"), "d", &flag, error, 128),
                     STOA_ERR_MALFORMED);
}

/* The capture keeps scalars and an OBJECT_GET-shaped array. */
static void test_capture(void **state) {
    (void)state;
    struct stoa_http_capture capture;
    stoa_http_capture_init(&capture, 1024);
    struct stoa_reply *reply = &capture.reply;
    reply->ops->error(reply, STOA_ERR_EXISTS, "ERR object already exists");
    assert_int_equal(capture.kind, STOA_HTTP_CAPTURE_ERROR);
    assert_int_equal(capture.error_code, STOA_ERR_EXISTS);
    assert_string_equal(capture.error, "ERR object already exists");
    stoa_http_capture_reset(&capture);
    reply->ops->array(reply, 5);
    reply->ops->bulk(reply, (const uint8_t *)"id", 2);
    reply->ops->bulk(reply, (const uint8_t *)"data", 4);
    reply->ops->integer(reply, 1000);
    reply->ops->integer(reply, 7);
    reply->ops->integer(reply, 2000);
    assert_int_equal(capture.kind, STOA_HTTP_CAPTURE_ARRAY);
    assert_int_equal(capture.element_count, 5);
    assert_memory_equal(capture.bytes.data + capture.elements[1].offset, "data", 4);
    assert_int_equal(capture.elements[4].integer, 2000);
    stoa_http_capture_reset(&capture);
    reply->ops->null_bulk(reply);
    assert_int_equal(capture.kind, STOA_HTTP_CAPTURE_NULL);
    stoa_http_capture_free(&capture);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_nomad_example),
        cmocka_unit_test(test_decode_refuses),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_error_and_fields),
        cmocka_unit_test(test_capture),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
