/* Shows that log lines are valid JSON lines with time, level, module, node, message and
 * typed fields; that levels filter; that hostile strings are escaped; and that an overlong
 * line is cut at a field boundary and marked truncated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/err.h"
#include "util/log.h"

struct capture {
    char lines[8][STOA_LOG_LINE_BYTES_MAX + 1];
    size_t count;
};

static void capture_sink(void *context, const char *line, size_t length) {
    struct capture *capture = context;
    assert_true(capture->count < 8);
    assert_true(length <= STOA_LOG_LINE_BYTES_MAX);
    memcpy(capture->lines[capture->count], line, length);
    capture->lines[capture->count][length] = '\0';
    capture->count++;
}

static int64_t fixed_clock(void *context) {
    (void)context;
    return INT64_C(1763768701123); /* 2025-11-21T23:45:01.123Z */
}

static void setup_log(struct stoa_log *log, struct capture *capture) {
    memset(capture, 0, sizeof(*capture));
    stoa_log_init(log);
    stoa_log_set_sink(log, capture_sink, capture);
    stoa_log_set_clock(log, fixed_clock, NULL);
    stoa_log_set_node_id(log, "n1");
}

/* A line carries the fixed fields in order, then each typed field. */
static void test_line_shape(void **state) {
    (void)state;
    struct stoa_log log;
    struct capture capture;
    setup_log(&log, &capture);
    STOA_LOG_INFO(&log, "os", "listening", STOA_FIELD_STR("address", "127.0.0.1"),
                  STOA_FIELD_UINT("port", 7379), STOA_FIELD_INT("delta", -3),
                  STOA_FIELD_BOOL("ready", true), STOA_FIELD_DOUBLE("ratio", 0.5),
                  STOA_FIELD_ERR(STOA_ERR_NOMEM));
    assert_int_equal(capture.count, 1);
    assert_string_equal(capture.lines[0], "{\"ts\":\"2025-11-21T23:45:01.123Z\",\"level\":\"info\","
                                          "\"module\":\"os\",\"node\":\"n1\",\"msg\":\"listening\","
                                          "\"address\":\"127.0.0.1\",\"port\":7379,\"delta\":-3,"
                                          "\"ready\":true,\"ratio\":0.5,\"error\":\"NOMEM\"}");
}

/* A message without fields is a complete line too. */
static void test_no_fields(void **state) {
    (void)state;
    struct stoa_log log;
    struct capture capture;
    setup_log(&log, &capture);
    STOA_LOG_WARN(&log, "bin", "stopping");
    assert_int_equal(capture.count, 1);
    assert_non_null(strstr(capture.lines[0], "\"level\":\"warn\""));
    assert_non_null(strstr(capture.lines[0], "\"msg\":\"stopping\"}"));
}

/* Lines below the minimum level are dropped, and a logger without a sink drops all. */
static void test_levels(void **state) {
    (void)state;
    struct stoa_log log;
    struct capture capture;
    setup_log(&log, &capture);
    STOA_LOG_DEBUG(&log, "x", "hidden");
    assert_int_equal(capture.count, 0);
    log.level_min = STOA_LOG_DEBUG;
    STOA_LOG_DEBUG(&log, "x", "shown");
    assert_int_equal(capture.count, 1);
    log.level_min = STOA_LOG_OFF;
    STOA_LOG_ERROR(&log, "x", "hidden");
    assert_int_equal(capture.count, 1);
    struct stoa_log silent;
    stoa_log_init(&silent);
    STOA_LOG_ERROR(&silent, "x", "nowhere");
    STOA_LOG_ERROR((struct stoa_log *)NULL, "x", "nowhere");
    enum stoa_log_level level = STOA_LOG_INFO;
    assert_int_equal(stoa_log_level_parse("warn", &level), STOA_OK);
    assert_int_equal(level, STOA_LOG_WARN);
    assert_int_equal(stoa_log_level_parse("WARN", &level), STOA_ERR_INVALID);
    assert_int_equal(level, STOA_LOG_WARN);
}

/* Quotes, backslashes, newlines and control bytes are escaped; binary bytes become \u00XX. */
static void test_escaping(void **state) {
    (void)state;
    struct stoa_log log;
    struct capture capture;
    setup_log(&log, &capture);
    const char binary[] = {'a', 0, (char)0xff};
    STOA_LOG_INFO(&log, "x", "say \"hi\"\\\n", STOA_FIELD_STR("k\"", "\x01"),
                  STOA_FIELD_BYTES("key", binary, sizeof(binary)));
    assert_non_null(strstr(capture.lines[0], "\"msg\":\"say \\\"hi\\\"\\\\\\n\""));
    assert_non_null(strstr(capture.lines[0], "\"k\\\"\":\"\\u0001\""));
    assert_non_null(strstr(capture.lines[0], "\"key\":\"a\\u0000\\u00ff\""));
}

/* A line too long for the buffer keeps whole fields only and says it was truncated. */
static void test_truncation(void **state) {
    (void)state;
    struct stoa_log log;
    struct capture capture;
    setup_log(&log, &capture);
    static char big[STOA_LOG_LINE_BYTES_MAX];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    STOA_LOG_INFO(&log, "x", "big", STOA_FIELD_STR("small", "kept"), STOA_FIELD_STR("huge", big),
                  STOA_FIELD_STR("after", "dropped"));
    const char *line = capture.lines[0];
    assert_non_null(strstr(line, "\"small\":\"kept\""));
    assert_null(strstr(line, "\"huge\""));
    size_t length = strlen(line);
    const char *tail = ",\"truncated\":true}";
    assert_true(length > strlen(tail));
    assert_string_equal(line + length - strlen(tail), tail);
}

/* Node ids longer than the bound are cut, never overflow. */
static void test_node_id_bound(void **state) {
    (void)state;
    struct stoa_log log;
    stoa_log_init(&log);
    char id[STOA_NODE_ID_BYTES_MAX * 2];
    memset(id, 'n', sizeof(id) - 1);
    id[sizeof(id) - 1] = '\0';
    stoa_log_set_node_id(&log, id);
    assert_int_equal(strlen(log.node_id), STOA_NODE_ID_BYTES_MAX);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_shape), cmocka_unit_test(test_no_fields),
        cmocka_unit_test(test_levels),     cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_truncation), cmocka_unit_test(test_node_id_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
