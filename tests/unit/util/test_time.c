/* Shows that timestamps format as RFC 3339 UTC across epochs, leap days and negative times,
 * and that durations parse with each unit and refuse malformed or overflowing text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/err.h"
#include "util/time.h"

static void expect_format(int64_t unix_ms, const char *expected) {
    char text[STOA_TIME_RFC3339_BYTES];
    stoa_time_format_rfc3339(unix_ms, text);
    assert_string_equal(text, expected);
}

/* Known instants, including a leap day and times before 1970. */
static void test_format(void **state) {
    (void)state;
    expect_format(0, "1970-01-01T00:00:00.000Z");
    expect_format(951782400000, "2000-02-29T00:00:00.000Z");
    expect_format(1763768701123, "2025-11-21T23:45:01.123Z");
    expect_format(-1, "1969-12-31T23:59:59.999Z");
    expect_format(253402300799999, "9999-12-31T23:59:59.999Z");
    expect_format(INT64_MAX, "9999-12-31T23:59:59.999Z");
    expect_format(INT64_MIN, "0000-01-01T00:00:00.000Z");
}

static int parse(const char *text, int64_t *ms) {
    return stoa_duration_parse(text, strlen(text), ms);
}

/* Every unit, and a bare number meaning seconds. */
static void test_duration_units(void **state) {
    (void)state;
    int64_t ms = -1;
    assert_int_equal(parse("250ms", &ms), STOA_OK);
    assert_int_equal(ms, 250);
    assert_int_equal(parse("20s", &ms), STOA_OK);
    assert_int_equal(ms, 20000);
    assert_int_equal(parse("5m", &ms), STOA_OK);
    assert_int_equal(ms, 300000);
    assert_int_equal(parse("1h", &ms), STOA_OK);
    assert_int_equal(ms, 3600000);
    assert_int_equal(parse("7", &ms), STOA_OK);
    assert_int_equal(ms, 7000);
    assert_int_equal(parse("0s", &ms), STOA_OK);
    assert_int_equal(ms, 0);
}

/* Malformed and overflowing durations are refused and leave the output untouched. */
static void test_duration_errors(void **state) {
    (void)state;
    int64_t ms = 42;
    const char *malformed[] = {"", "s", "-1s", "1.5s", "10 s", "10sec", "1d", "ms", "1sms"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        assert_int_equal(parse(malformed[i], &ms), STOA_ERR_MALFORMED);
    }
    assert_int_equal(parse("9223372036854775807h", &ms), STOA_ERR_RANGE);
    assert_int_equal(parse("99999999999999999999999ms", &ms), STOA_ERR_RANGE);
    assert_int_equal(ms, 42);
    /* Exactly length bytes are read: a longer buffer is cut where the caller says. */
    assert_int_equal(stoa_duration_parse("15sXYZ", 3, &ms), STOA_OK);
    assert_int_equal(ms, 15000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_duration_units),
        cmocka_unit_test(test_duration_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
