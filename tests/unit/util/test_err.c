/* Shows that every error code has a distinct number, a name and a message, and that unknown
 * codes are named as such. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/err.h"

static const int all_codes[] = {
#define CODE(name, number, message) (number),
    STOA_ERRORS(CODE)
#undef CODE
};

/* Codes are unique, zero is OK and every other code is negative. */
static void test_codes_are_unique_and_negative(void **state) {
    (void)state;
    size_t count = sizeof(all_codes) / sizeof(all_codes[0]);
    assert_int_equal(all_codes[0], 0);
    for (size_t i = 1; i < count; i++) {
        assert_true(all_codes[i] < 0);
        for (size_t j = 0; j < i; j++) {
            assert_int_not_equal(all_codes[i], all_codes[j]);
        }
    }
}

/* Names and messages come from the same list. */
static void test_names_and_messages(void **state) {
    (void)state;
    assert_string_equal(stoa_err_name(STOA_OK), "OK");
    assert_string_equal(stoa_err_name(STOA_ERR_NOMEM), "NOMEM");
    assert_string_equal(stoa_err_message(STOA_ERR_NOMEM), "out of memory");
    assert_string_equal(stoa_err_name(STOA_ERR_FSYNC), "FSYNC");
    assert_string_equal(stoa_err_name(12345), "UNKNOWN");
    assert_string_equal(stoa_err_message(-9999), "unknown error");
    size_t count = sizeof(all_codes) / sizeof(all_codes[0]);
    for (size_t i = 0; i < count; i++) {
        assert_string_not_equal(stoa_err_name(all_codes[i]), "UNKNOWN");
        assert_true(strlen(stoa_err_message(all_codes[i])) > 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_are_unique_and_negative),
        cmocka_unit_test(test_names_and_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
