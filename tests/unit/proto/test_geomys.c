/* Shows that the Geomys codec frames MessagePack maps however the bytes are cut into reads,
 * refuses bytes that cannot be a request at once, decodes Geomys's fields, translates each
 * Geomys command into the argv the command core runs, and writes responses byte for byte as
 * Python's msgpack (and Go's vmihailenco/msgpack, which Geomys used) encode the same maps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/apply.h"
#include "proto/commands.h"
#include "proto/geomys.h"
#include "util/buf.h"
#include "util/err.h"

/* Golden requests, as msgpack.packb(...) in Python 3 encodes them. */
/* {"command": "PING"} */
static const char PING[] = "\x81\xa7"
                           "command\xa4PING";
/* {"command": "SET", "key": "k", "value": "v", "exp": 500} */
static const char SET_EXP[] = "\x84\xa7"
                              "command\xa3SET\xa3key\xa1k\xa5value\xa1v\xa3"
                              "exp\xcd\x01\xf4";
/* {"command": "INCR", "key": "counter", "offset": "5"} */
static const char INCR[] = "\x83\xa7"
                           "command\xa4INCR\xa3key\xa7"
                           "counter\xa6offset\xa1\x35";

#define SIZE(literal) (sizeof(literal) - 1)

/* ---- framing ---- */

/* Scans data as one stream fed prefix by prefix (1 byte more each call, as 1-byte reads). */
static int scan_bytewise(const void *data, size_t length, size_t *frame_length,
                         const char **error) {
    struct stoa_geomys_scanner scanner = {0};
    int result = STOA_ERR_AGAIN;
    for (size_t have = 0; have <= length && result == STOA_ERR_AGAIN; have++) {
        result = stoa_geomys_scan(&scanner, data, have, frame_length, error);
    }
    return result;
}

static void test_scan_whole_request(void **state) {
    /* One whole request is one frame of exactly its bytes. */
    (void)state;
    struct stoa_geomys_scanner scanner = {0};
    size_t frame_length = 0;
    const char *error = NULL;
    assert_int_equal(
        stoa_geomys_scan(&scanner, (const uint8_t *)SET_EXP, SIZE(SET_EXP), &frame_length, &error),
        STOA_OK);
    assert_int_equal(frame_length, SIZE(SET_EXP));
    assert_int_equal(scanner.scanned, 0); /* reset for the next frame */
}

static void test_scan_split_at_every_byte(void **state) {
    /* A request arriving one byte per read is framed once, when its last byte arrives. */
    (void)state;
    const char *requests[] = {PING, SET_EXP, INCR};
    size_t lengths[] = {SIZE(PING), SIZE(SET_EXP), SIZE(INCR)};
    for (size_t r = 0; r < 3; r++) {
        struct stoa_geomys_scanner scanner = {0};
        size_t frame_length = 0;
        const char *error = NULL;
        for (size_t have = 0; have < lengths[r]; have++) {
            assert_int_equal(stoa_geomys_scan(&scanner, (const uint8_t *)requests[r], have,
                                              &frame_length, &error),
                             STOA_ERR_AGAIN);
        }
        assert_int_equal(stoa_geomys_scan(&scanner, (const uint8_t *)requests[r], lengths[r],
                                          &frame_length, &error),
                         STOA_OK);
        assert_int_equal(frame_length, lengths[r]);
    }
}

static void test_scan_several_in_one_read(void **state) {
    /* Requests that arrive together are framed one after the other, the last one partial. */
    (void)state;
    uint8_t stream[256];
    size_t length = 0;
    memcpy(stream + length, PING, SIZE(PING));
    length += SIZE(PING);
    memcpy(stream + length, SET_EXP, SIZE(SET_EXP));
    length += SIZE(SET_EXP);
    memcpy(stream + length, INCR, 10); /* a third, cut short */
    length += 10;
    struct stoa_geomys_scanner scanner = {0};
    size_t frame_length = 0;
    const char *error = NULL;
    assert_int_equal(stoa_geomys_scan(&scanner, stream, length, &frame_length, &error), STOA_OK);
    assert_int_equal(frame_length, SIZE(PING));
    size_t used = frame_length;
    assert_int_equal(
        stoa_geomys_scan(&scanner, stream + used, length - used, &frame_length, &error), STOA_OK);
    assert_int_equal(frame_length, SIZE(SET_EXP));
    used += frame_length;
    assert_int_equal(
        stoa_geomys_scan(&scanner, stream + used, length - used, &frame_length, &error),
        STOA_ERR_AGAIN);
}

static void test_scan_every_type(void **state) {
    /* Values of every MessagePack type, nested, are skipped exactly (ignored fields). */
    (void)state;
    /* {"command": "PING", "x": [nil, true, 1.5f32, 2.5f64, -1, 255u8, 65535u16, 2^32-1 u32,
     *   2^63 u64, -128i8, -32768i16, -2^31 i32, -2^63 i64, bin8 "ab", fixext1, ext8 len 2,
     *   str8 "s", {"a": 1}]} */
    static const uint8_t data[] = {
        0x82, 0xa7, 'c',  'o',  'm',  'm',  'a',  'n',  'd',  0xa4, 'P',  'I',  'N',  'G',
        0xa1, 'x',  0xdc, 0x00, 0x12, 0xc0, 0xc3, 0xca, 0x3f, 0xc0, 0x00, 0x00, 0xcb, 0x40,
        0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xcc, 0xff, 0xcd, 0xff, 0xff, 0xce,
        0xff, 0xff, 0xff, 0xff, 0xcf, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0,
        0x80, 0xd1, 0x80, 0x00, 0xd2, 0x80, 0x00, 0x00, 0x00, 0xd3, 0x80, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xc4, 0x02, 'a',  'b',  0xd4, 0x01, 0x07, 0xc7, 0x02, 0x05,
        'x',  'y',  0xd9, 0x01, 's',  0x81, 0xa1, 'a',  0x01};
    size_t frame_length = 0;
    const char *error = NULL;
    assert_int_equal(scan_bytewise(data, sizeof(data), &frame_length, &error), STOA_OK);
    assert_int_equal(frame_length, sizeof(data));
    /* msgpack-c agrees, and the request is a PING. */
    struct stoa_geomys_decoder decoder;
    assert_int_equal(stoa_geomys_decoder_init(&decoder), STOA_OK);
    struct stoa_geomys_request request;
    assert_int_equal(stoa_geomys_decode(&decoder, data, sizeof(data), &request, &error), STOA_OK);
    assert_int_equal(request.fields, STOA_GEOMYS_FIELD_COMMAND);
    assert_memory_equal(request.command.data, "PING", 4);
    stoa_geomys_decoder_free(&decoder);
}

/* Expects data to be refused as malformed with a text containing expected, having read no
 * further than data's end (so a huge announced length is refused before its bytes). */
static void expect_malformed(const void *data, size_t length, const char *expected) {
    size_t frame_length = 0;
    const char *error = NULL;
    assert_int_equal(scan_bytewise(data, length, &frame_length, &error), STOA_ERR_MALFORMED);
    assert_non_null(error);
    if (strstr(error, expected) == NULL) {
        fail_msg("error '%s' does not say '%s'", error, expected);
    }
}

static void test_scan_malformed(void **state) {
    /* What cannot be a Geomys request is refused as soon as it is seen. */
    (void)state;
    expect_malformed("GET k\r\n", 7, "must be a MessagePack map");
    expect_malformed("\x93\x01\x02\x03", 4, "must be a MessagePack map");
    expect_malformed("\x81\xc1", 2, "reserved byte 0xc1");
    /* A map announcing 2^32-1 entries: refused from its 5 header bytes. */
    expect_malformed("\xdf\xff\xff\xff\xff", 5, "too many");
    /* A string announcing 4 GiB, and one just over the request bound. */
    expect_malformed("\x81\xa1k\xdb\xff\xff\xff\xff", 8, "too large");
    expect_malformed("\x81\xa1k\xdb\x00\x10\x00\x00", 8, "too large");
    /* A map of 16 entries is 33 objects, one too many; one of 15 entries is fine. */
    expect_malformed("\xde\x00\x10", 3, "too many");
    uint8_t many[31] = {0x8f};
    memset(many + 1, 0x01, 30);
    size_t frame_length = 0;
    const char *error = NULL;
    assert_int_equal(scan_bytewise(many, sizeof(many), &frame_length, &error), STOA_OK);
}

static void test_scan_nesting_bound(void **state) {
    /* Nesting as deep as the object bound allows still decodes: msgpack-c's stack holds it. */
    (void)state;
    uint8_t data[STOA_GEOMYS_REQUEST_OBJECTS_MAX + 1];
    /* {"k": [[[...[1]...]]]}: a map, a key, 29 arrays and an integer: 32 objects. */
    data[0] = 0x81;
    data[1] = 0xa1;
    data[2] = 'k';
    for (size_t i = 3; i < sizeof(data) - 1; i++) {
        data[i] = 0x91;
    }
    data[sizeof(data) - 1] = 0x01;
    size_t frame_length = 0;
    const char *error = NULL;
    assert_int_equal(scan_bytewise(data, sizeof(data), &frame_length, &error), STOA_OK);
    struct stoa_geomys_decoder decoder;
    assert_int_equal(stoa_geomys_decoder_init(&decoder), STOA_OK);
    struct stoa_geomys_request request;
    assert_int_equal(stoa_geomys_decode(&decoder, data, sizeof(data), &request, &error), STOA_OK);
    assert_int_equal(request.fields, 0);
    stoa_geomys_decoder_free(&decoder);
}

/* ---- decoding and translating ---- */

struct decoded {
    struct stoa_geomys_decoder decoder;
    struct stoa_geomys_request request;
    struct stoa_geomys_command command;
    const char *error;
};

/* Decodes data; returns the decoder's result. */
static int decode(struct decoded *out, const void *data, size_t length) {
    assert_int_equal(stoa_geomys_decoder_init(&out->decoder), STOA_OK);
    out->error = NULL;
    int result = stoa_geomys_decode(&out->decoder, data, length, &out->request, &out->error);
    stoa_geomys_decoder_free(&out->decoder);
    return result;
}

/* Decodes and translates data; describes the argv as "w1 w2 ..." or "!<error>". */
static void translate(const void *data, size_t length, char *text, size_t capacity) {
    struct decoded out;
    assert_int_equal(decode(&out, data, length), STOA_OK);
    if (stoa_geomys_request_command(&out.request, &out.command) != STOA_OK) {
        snprintf(text, capacity, "!%s", out.command.error);
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < out.command.argc; i++) {
        int n = snprintf(text + used, capacity - used, "%s%.*s", i > 0 ? " " : "",
                         (int)out.command.argv[i].length, (const char *)out.command.argv[i].data);
        assert_true(n > 0 && (size_t)n < capacity - used);
        used += (size_t)n;
    }
}

#define EXPECT_ARGV(literal, expected)                                                             \
    do {                                                                                           \
        char text_[256];                                                                           \
        translate(literal, SIZE(literal), text_, sizeof(text_));                                   \
        assert_string_equal(text_, expected);                                                      \
    } while (0)

static void test_decode_fields(void **state) {
    /* Geomys's fields are read from str and bin; nil is absent; unknown fields are ignored. */
    (void)state;
    struct decoded out;
    assert_int_equal(decode(&out, SET_EXP, SIZE(SET_EXP)), STOA_OK);
    assert_int_equal(out.request.fields, STOA_GEOMYS_FIELD_COMMAND | STOA_GEOMYS_FIELD_KEY |
                                             STOA_GEOMYS_FIELD_VALUE | STOA_GEOMYS_FIELD_EXP);
    assert_int_equal(out.request.exp_ms, 500);
    assert_int_equal(out.request.key.length, 1);
    /* The fields borrow the frame's bytes. */
    assert_ptr_equal(out.request.key.data, (const uint8_t *)SET_EXP + 18);
    /* {"command": bin "GET", "key": nil, "zz": [1, 2], "offset": -7} */
    static const char mixed[] = "\x84\xa7"
                                "command\xc4\x03GET\xa3key\xc0\xa2zz\x92\x01\x02\xa6offset\xf9";
    assert_int_equal(decode(&out, mixed, SIZE(mixed)), STOA_OK);
    assert_int_equal(out.request.fields, STOA_GEOMYS_FIELD_COMMAND | STOA_GEOMYS_FIELD_OFFSET);
    assert_int_equal(out.request.offset.length, 2);
    assert_memory_equal(out.request.offset.data, "-7", 2);
}

static void test_decode_wrong_types(void **state) {
    /* A well-formed map with a field of the wrong type is refused, naming the field. */
    (void)state;
    struct decoded out;
    static const char exp_text[] = "\x82\xa7"
                                   "command\xa3SET\xa3"
                                   "exp\xa3"
                                   "500";
    assert_int_equal(decode(&out, exp_text, SIZE(exp_text)), STOA_ERR_INVALID);
    assert_string_equal(out.error, "field 'exp' must be an integer (milliseconds)");
    static const char exp_float[] = "\x82\xa7"
                                    "command\xa3SET\xa3"
                                    "exp\xcb\x40\x04\x00\x00\x00\x00\x00\x00";
    assert_int_equal(decode(&out, exp_float, SIZE(exp_float)), STOA_ERR_INVALID);
    static const char key_int[] = "\x82\xa7"
                                  "command\xa3GET\xa3key\x05";
    assert_int_equal(decode(&out, key_int, SIZE(key_int)), STOA_ERR_INVALID);
    assert_string_equal(out.error, "field 'key' must be a string");
    static const char int_name[] = "\x81\x01\xa3GET";
    assert_int_equal(decode(&out, int_name, SIZE(int_name)), STOA_ERR_INVALID);
    assert_string_equal(out.error, "a field name must be a string");
    /* exp above INT64_MAX */
    static const char exp_huge[] = "\x82\xa7"
                                   "command\xa3SET\xa3"
                                   "exp\xcf\xff\xff\xff\xff\xff\xff\xff\xff";
    assert_int_equal(decode(&out, exp_huge, SIZE(exp_huge)), STOA_ERR_INVALID);
}

static void test_translate_commands(void **state) {
    /* Each Geomys command becomes the command core's words, as docs/protocols/geomys.md says. */
    (void)state;
    EXPECT_ARGV(PING, "PING");
    EXPECT_ARGV(SET_EXP, "SET k v PX 500");
    EXPECT_ARGV(INCR, "INCRBY counter 5");
    EXPECT_ARGV("\x82\xa7"
                "command\xa4"
                "echo\xa7message\xa2hi",
                "ECHO hi");
    /* exp 0 or negative means no expiry, as in Geomys. */
    EXPECT_ARGV("\x84\xa7"
                "command\xa3SET\xa3key\xa1k\xa5value\xa1v\xa3"
                "exp\x00",
                "SET k v");
    EXPECT_ARGV("\x84\xa7"
                "command\xa3SET\xa3key\xa1k\xa5value\xa1v\xa3"
                "exp\xff",
                "SET k v");
    EXPECT_ARGV("\x82\xa7"
                "command\xa3get\xa3key\xa1k",
                "GET k");
    EXPECT_ARGV("\x82\xa7"
                "command\xa4incr\xa3key\xa1k",
                "INCR k");
    EXPECT_ARGV("\x83\xa7"
                "command\xa4INCR\xa3key\xa1k\xa6offset\xd0\x80",
                "INCRBY k -128");
    EXPECT_ARGV("\x83\xa7"
                "command\xa4PUSH\xa3key\xa1l\xa5value\xa1x",
                "PUSH l x");
    EXPECT_ARGV("\x82\xa7"
                "command\xa4LPOP\xa3key\xa1l",
                "LPOP l");
    EXPECT_ARGV("\x82\xa7"
                "command\xa4RPOP\xa3key\xa1l",
                "RPOP l");
    EXPECT_ARGV("\x81\xa7"
                "command\xa7"
                "FLUSHDB",
                "FLUSHDB");
}

static void test_translate_errors(void **state) {
    /* Missing fields and unknown commands get Geomys's texts. */
    (void)state;
    EXPECT_ARGV("\x81\xa3key\xa1k", "!invalid or missing 'command' field");
    EXPECT_ARGV("\x81\xa7"
                "command\xa4"
                "ECHO",
                "!ECHO requires a 'message' field");
    EXPECT_ARGV("\x82\xa7"
                "command\xa3SET\xa3key\xa1k",
                "!SET requires 'key', 'value' fields");
    EXPECT_ARGV("\x81\xa7"
                "command\xa3GET",
                "!GET requires a 'key' field");
    EXPECT_ARGV("\x82\xa7"
                "command\xa4PUSH\xa5value\xa1v",
                "!PUSH requires 'key', 'value' fields");
    EXPECT_ARGV("\x81\xa7"
                "command\xa4KEYS",
                "!unknown command 'KEYS'");
    EXPECT_ARGV("\x81\xa7"
                "command\xa4\x01\xff\x41\x42",
                "!unknown command '??AB'");
}

static void test_translated_commands_run_on_the_geomys_door(void **state) {
    /* Every translated command is on the Geomys door of the command table and translates. */
    (void)state;
    const char *requests[] = {PING, SET_EXP, INCR};
    size_t lengths[] = {SIZE(PING), SIZE(SET_EXP), SIZE(INCR)};
    uint32_t opcodes[] = {0, STOA_OP_SET, STOA_OP_INCRBY};
    for (size_t i = 0; i < 3; i++) {
        struct decoded out;
        assert_int_equal(decode(&out, requests[i], lengths[i]), STOA_OK);
        assert_int_equal(stoa_geomys_request_command(&out.request, &out.command), STOA_OK);
        struct stoa_commands_output output;
        stoa_commands_output_init(&output);
        const struct stoa_commands_spec *spec = NULL;
        assert_int_equal(stoa_commands_find(out.command.argv, out.command.argc,
                                            STOA_COMMANDS_DOOR_GEOMYS, &output, &spec),
                         STOA_OK);
        assert_int_equal(
            stoa_commands_translate(spec, out.command.argv, out.command.argc, 1000, 0, &output),
            STOA_OK);
        if (opcodes[i] != 0) {
            assert_int_equal(output.opcode, opcodes[i]);
        }
        stoa_commands_output_free(&output);
    }
}

/* ---- responses ---- */

struct written {
    struct stoa_buf buf;
    struct stoa_geomys_writer writer;
};

static void written_init(struct written *w, size_t capacity_max) {
    stoa_buf_init(&w->buf, capacity_max);
    stoa_geomys_writer_init(&w->writer, &w->buf);
}

static void expect_bytes(struct written *w, const void *expected, size_t length) {
    assert_int_equal(w->writer.error, STOA_OK);
    assert_int_equal(w->buf.length, length);
    assert_memory_equal(w->buf.data, expected, length);
    stoa_buf_reset(&w->buf);
}

#define EXPECT_WRITTEN(w, literal) expect_bytes(w, literal, SIZE(literal))

static void test_response_golden(void **state) {
    /* Each engine reply becomes the Geomys response map, byte for byte. */
    (void)state;
    struct written w;
    written_init(&w, 1 << 20);
    struct stoa_reply *reply = &w.writer.reply;
    reply->ops->status(reply, "OK");
    EXPECT_WRITTEN(&w, "\x81\xa6status\xa2OK");
    reply->ops->status(reply, "PONG");
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa7message\xa4PONG");
    reply->ops->integer(reply, 15); /* Geomys's test: 15 decodes as int8 (a positive fixint) */
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa5value\x0f");
    reply->ops->integer(reply, 1000000000000); /* and this one as uint64 */
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa5value\xcf\x00\x00\x00\xe8\xd4\xa5\x10\x00");
    reply->ops->integer(reply, -3);
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa5value\xfd");
    reply->ops->bulk(reply, (const uint8_t *)"hello", 5);
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa5value\xa5hello");
    reply->ops->bulk(reply, (const uint8_t *)"\xff\x00", 2); /* not UTF-8: bin */
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa5value\xc4\x02\xff\x00");
    w.writer.not_found = "Get failed: key not found";
    reply->ops->null_bulk(reply);
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa9NOT_FOUND\xa7message\xb9"
                       "Get failed: key not found");
    reply->ops->error(reply, STOA_ERR_INVALID, "ERR value is not an integer or out of range");
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa5"
                       "ERROR\xa7message\xd9\x27"
                       "value is not an integer or out of range");
    reply->ops->error(reply, STOA_ERR_TYPE, "WRONGTYPE x");
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa5"
                       "ERROR\xa7message\xabWRONGTYPE x");
    reply->ops->array(reply, 3);
    reply->ops->bulk(reply, (const uint8_t *)"a", 1);
    reply->ops->null_bulk(reply);
    reply->ops->integer(reply, 7);
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa5value\x93\xa1"
                       "a\xc0\x07");
    /* After the array, a reply is a whole response again. */
    reply->ops->status(reply, "OK");
    EXPECT_WRITTEN(&w, "\x81\xa6status\xa2OK");
    stoa_geomys_write_message(&w.writer, STOA_GEOMYS_STATUS_OK, (const uint8_t *)"hi", 2);
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa7message\xa2hi");
    stoa_buf_free(&w.buf);
}

static void test_response_nested_arrays(void **state) {
    /* Arrays inside arrays (SCAN's shape) are counted through to their end. */
    (void)state;
    struct written w;
    written_init(&w, 1 << 20);
    struct stoa_reply *reply = &w.writer.reply;
    reply->ops->array(reply, 2);
    reply->ops->bulk(reply, (const uint8_t *)"0", 1);
    reply->ops->array(reply, 0);
    reply->ops->integer(reply, 1);
    EXPECT_WRITTEN(&w, "\x82\xa6status\xa2OK\xa5value\x92\xa1\x30\x90"
                       "\x82\xa6status\xa2OK\xa5value\x01");
    stoa_buf_free(&w.buf);
}

static void test_response_output_limit(void **state) {
    /* A response that does not fit is not written at all, and the error sticks. */
    (void)state;
    struct written w;
    written_init(&w, 64);
    struct stoa_reply *reply = &w.writer.reply;
    reply->ops->status(reply, "OK");
    assert_int_equal(w.buf.length, 11);
    uint8_t big[100];
    memset(big, 'x', sizeof(big));
    reply->ops->bulk(reply, big, sizeof(big));
    assert_int_equal(w.writer.error, STOA_ERR_TOO_LARGE);
    assert_int_equal(w.buf.length, 11);
    reply->ops->status(reply, "OK");
    assert_int_equal(w.buf.length, 11);
    stoa_buf_free(&w.buf);
}

static void test_utf8(void **state) {
    /* Only well-formed UTF-8 is sent as str. */
    (void)state;
    assert_true(stoa_geomys_utf8_valid((const uint8_t *)"", 0));
    assert_true(stoa_geomys_utf8_valid((const uint8_t *)"h\xc3\xa9llo \xe2\x82\xac", 11));
    assert_true(stoa_geomys_utf8_valid((const uint8_t *)"\xf0\x9f\x98\x80", 4));
    assert_false(stoa_geomys_utf8_valid((const uint8_t *)"\xc0\xaf", 2));         /* overlong */
    assert_false(stoa_geomys_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));     /* surrogate */
    assert_false(stoa_geomys_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4)); /* > 10FFFF */
    assert_false(stoa_geomys_utf8_valid((const uint8_t *)"\xe2\x82", 2));         /* cut */
    assert_false(stoa_geomys_utf8_valid((const uint8_t *)"\x80", 1));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_whole_request),
        cmocka_unit_test(test_scan_split_at_every_byte),
        cmocka_unit_test(test_scan_several_in_one_read),
        cmocka_unit_test(test_scan_every_type),
        cmocka_unit_test(test_scan_malformed),
        cmocka_unit_test(test_scan_nesting_bound),
        cmocka_unit_test(test_decode_fields),
        cmocka_unit_test(test_decode_wrong_types),
        cmocka_unit_test(test_translate_commands),
        cmocka_unit_test(test_translate_errors),
        cmocka_unit_test(test_translated_commands_run_on_the_geomys_door),
        cmocka_unit_test(test_response_golden),
        cmocka_unit_test(test_response_nested_arrays),
        cmocka_unit_test(test_response_output_limit),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
