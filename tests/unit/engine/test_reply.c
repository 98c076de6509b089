/* Shows that a recorded reply replays into another reply exactly, element by element, and
 * that damaged recordings are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "engine/reply.h"
#include "util/err.h"

/* A reply that prints each element as text, so two replies can be compared as strings. */
struct printer {
    struct stoa_reply reply;
    char text[1024];
    size_t length;
};

static void print(struct stoa_reply *reply, const char *format, ...) {
    struct printer *printer = reply->self;
    va_list arguments;
    va_start(arguments, format);
    int n = vsnprintf(printer->text + printer->length, sizeof(printer->text) - printer->length,
                      format, arguments);
    va_end(arguments);
    assert_true(n > 0);
    printer->length += (size_t)n;
}

static void p_status(struct stoa_reply *r, const char *text) {
    print(r, "+%s|", text);
}
static void p_error(struct stoa_reply *r, int code, const char *text) {
    print(r, "-%d %s|", code, text);
}
static void p_integer(struct stoa_reply *r, int64_t value) {
    print(r, ":%lld|", (long long)value);
}
static void p_bulk(struct stoa_reply *r, const uint8_t *data, size_t length) {
    print(r, "$%zu:", length);
    for (size_t i = 0; i < length; i++) {
        print(r, "%02x", data[i]);
    }
    print(r, "|");
}
static void p_null_bulk(struct stoa_reply *r) {
    print(r, "$nil|");
}
static void p_array(struct stoa_reply *r, size_t count) {
    print(r, "*%zu|", count);
}
static void p_null_array(struct stoa_reply *r) {
    print(r, "*nil|");
}

static const struct stoa_reply_ops printer_ops = {p_status,    p_error, p_integer,   p_bulk,
                                                  p_null_bulk, p_array, p_null_array};

static void printer_init(struct printer *printer) {
    memset(printer, 0, sizeof(*printer));
    printer->reply = (struct stoa_reply){&printer_ops, printer};
}

static void write_sample(struct stoa_reply *reply) {
    const uint8_t binary[] = {0, 0xff, 'a'};
    reply->ops->array(reply, 7);
    reply->ops->status(reply, "OK");
    reply->ops->error(reply, STOA_ERR_TYPE,
                      "WRONGTYPE Operation against a key holding the wrong kind of value");
    reply->ops->integer(reply, -9223372036854775807LL - 1);
    reply->ops->integer(reply, 42);
    reply->ops->bulk(reply, binary, sizeof(binary));
    reply->ops->bulk(reply, NULL, 0);
    reply->ops->null_bulk(reply);
    reply->ops->null_array(reply);
}

/* Recording then replaying gives exactly what writing directly gives. */
static void test_record_replay(void **state) {
    (void)state;
    struct printer direct;
    printer_init(&direct);
    write_sample(&direct.reply);
    struct stoa_buf buf;
    stoa_buf_init(&buf, 4096);
    struct stoa_reply_recorder recorder;
    stoa_reply_recorder_init(&recorder, &buf);
    write_sample(&recorder.reply);
    assert_int_equal(recorder.error, STOA_OK);
    struct printer replayed;
    printer_init(&replayed);
    assert_int_equal(stoa_reply_replay(buf.data, buf.length, &replayed.reply), STOA_OK);
    assert_string_equal(replayed.text, direct.text);
    /* Every cut inside the recording is malformed or a clean prefix, never a crash. */
    for (size_t cut = 0; cut < buf.length; cut++) {
        printer_init(&replayed);
        (void)stoa_reply_replay(buf.data, cut, &replayed.reply);
    }
    uint8_t bad_tag = 99;
    assert_int_equal(stoa_reply_replay(&bad_tag, 1, &replayed.reply), STOA_ERR_MALFORMED);
    stoa_buf_free(&buf);
}

/* A recorder that runs out of room keeps a sticky error. */
static void test_recorder_limit(void **state) {
    (void)state;
    struct stoa_buf buf;
    stoa_buf_init(&buf, 8);
    struct stoa_reply_recorder recorder;
    stoa_reply_recorder_init(&recorder, &buf);
    const uint8_t big[32] = {0};
    recorder.reply.ops->bulk(&recorder.reply, big, sizeof(big));
    recorder.reply.ops->integer(&recorder.reply, 1);
    assert_int_equal(recorder.error, STOA_ERR_TOO_LARGE);
    stoa_buf_free(&buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_replay),
        cmocka_unit_test(test_recorder_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
