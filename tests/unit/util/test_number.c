/* Shows that decimal int64 parsing follows Redis's string2ll exactly at every boundary, and
 * that the little-endian byte helpers round-trip with known bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/bytes.h"
#include "util/number.h"

static bool parse(const char *text, int64_t *value) {
    return stoa_number_parse_int64((const uint8_t *)text, strlen(text), value);
}

/* Accepted forms, including both ends of int64 and the 19/20-digit boundary. */
static void test_accepted(void **state) {
    (void)state;
    int64_t value = 0;
    assert_true(parse("0", &value) && value == 0);
    assert_true(parse("7", &value) && value == 7);
    assert_true(parse("-12", &value) && value == -12);
    assert_true(parse("9223372036854775807", &value) && value == INT64_MAX);
    assert_true(parse("-9223372036854775808", &value) && value == INT64_MIN);
    assert_true(parse("1000000000000000000", &value) && value == 1000000000000000000LL);
    assert_true(parse("-999999999999999999", &value) && value == -999999999999999999LL);
}

/* Refused forms leave the output alone. */
static void test_refused(void **state) {
    (void)state;
    const char *refused[] = {"",
                             "-",
                             "-0",
                             "01",
                             "+1",
                             " 1",
                             "1 ",
                             "1a",
                             "a",
                             "9223372036854775808",
                             "-9223372036854775809",
                             "18446744073709551616",
                             "99999999999999999999",
                             "-99999999999999999999",
                             "000000000000000000001"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        int64_t value = 42;
        assert_false(parse(refused[i], &value));
        assert_true(value == 42);
    }
}

/* Little-endian helpers write the low byte first and read back what they wrote. */
static void test_bytes(void **state) {
    (void)state;
    uint8_t out[8];
    stoa_bytes_put_u32(out, 0x01020304u);
    assert_int_equal(out[0], 0x04);
    assert_int_equal(out[3], 0x01);
    assert_int_equal(stoa_bytes_get_u32(out), 0x01020304u);
    stoa_bytes_put_u64(out, 0x0102030405060708ULL);
    assert_int_equal(out[0], 0x08);
    assert_int_equal(out[7], 0x01);
    assert_true(stoa_bytes_get_u64(out) == 0x0102030405060708ULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
