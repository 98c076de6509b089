/* Shows that stoa cli splits a typed line into words as redis-cli does (Redis's
 * sdssplitargs): blanks, double quotes with escapes, single quotes, quotes mid-word, and the
 * lines it refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/split.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/limits.h"

#define TEXT_BYTES 1024

/* The words of line as "[w|w|w]" (bytes outside printable ASCII as \xHH), or "ERR:<name>". */
static void describe(const char *line, char *out) {
    struct stoa_cli_words words;
    stoa_cli_words_init(&words);
    int result = stoa_cli_split(line, strlen(line), &words);
    size_t length = 0;
    if (result != STOA_OK) {
        assert_int_equal(words.count, 0);
        snprintf(out, TEXT_BYTES, "ERR:%s", stoa_err_name(result));
        return;
    }
    length += (size_t)snprintf(out, TEXT_BYTES, "[");
    for (size_t i = 0; i < words.count; i++) {
        const struct stoa_cli_word *word = &words.words[i];
        assert_int_equal(word->data[word->length], '\0');
        length += (size_t)snprintf(out + length, TEXT_BYTES - length, i > 0 ? "|" : "");
        for (size_t j = 0; j < word->length; j++) {
            uint8_t byte = word->data[j];
            bool plain = byte >= 0x20 && byte < 0x7f && byte != '\\' && byte != '|';
            length +=
                (size_t)snprintf(out + length, TEXT_BYTES - length, plain ? "%c" : "\\x%02x", byte);
        }
    }
    snprintf(out + length, TEXT_BYTES - length, "]");
    stoa_cli_words_free(&words);
}

static void expect(const char *line, const char *expected) {
    char out[TEXT_BYTES];
    describe(line, out);
    assert_string_equal(out, expected);
}

/* Words are separated by any run of blanks; a blank line has none. */
static void test_blanks(void **state) {
    (void)state;
    expect("set k v", "[set|k|v]");
    expect("  get \t k  ", "[get|k]");
    expect("", "[]");
    expect(" \t\r\n", "[]");
}

/* Double quotes group words and take \n \r \t \b \a \xHH and backslash-anything escapes. */
static void test_double_quotes(void **state) {
    (void)state;
    expect("set \"hello world\" x", "[set|hello world|x]");
    expect("\"a\\nb\" \"\\x41\\x4a\" \"\\xZZ\"", "[a\\x0ab|AJ|xZZ]");
    expect("\"\\\"q\\\"\" \"\\\\\"", "[\"q\"|\\x5c]");
    expect("\"\" x", "[|x]");
    expect("\"\\t\\r\\b\\a\"", "[\\x09\\x0d\\x08\\x07]");
}

/* Single quotes take only \' as an escape; quotes may start mid-word. */
static void test_single_quotes_and_mid_word(void **state) {
    (void)state;
    expect("'it\\'s' 'a\\nb'", "[it's|a\\x5cnb]");
    expect("a\"b c\" d'e f'", "[ab c|de f]");
}

/* An unclosed quote, or a closing quote followed by more of the word, is refused. */
static void test_refused(void **state) {
    (void)state;
    expect("set \"unclosed", "ERR:MALFORMED");
    expect("set 'unclosed", "ERR:MALFORMED");
    expect("\"a\"b", "ERR:MALFORMED");
    expect("'a'b", "ERR:MALFORMED");
    expect("\"ends in backslash\\", "ERR:MALFORMED");
}

/* A line past STOA_CLI_LINE_BYTES_MAX is refused; a failed allocation leaves no words and
 * nothing leaked. */
static void test_limits_and_allocation_failure(void **state) {
    (void)state;
    struct stoa_cli_words words;
    stoa_cli_words_init(&words);
    size_t length = STOA_CLI_LINE_BYTES_MAX + 1;
    char *line = stoa_alloc(length);
    assert_non_null(line);
    memset(line, 'a', length);
    assert_int_equal(stoa_cli_split(line, length, &words), STOA_ERR_TOO_LARGE);
    assert_int_equal(stoa_cli_split(line, length - 1, &words), STOA_OK);
    assert_int_equal(words.count, 1);
    assert_int_equal(words.words[0].length, length - 1);
    stoa_free(line);
    for (uint64_t n = 1; n <= 2; n++) {
        stoa_alloc_fail_nth(n);
        assert_int_equal(stoa_cli_split("a b", 3, &words), STOA_ERR_NOMEM);
        assert_int_equal(words.count, 0);
    }
    stoa_alloc_fail_nth(0);
    stoa_cli_words_free(&words);
    struct stoa_alloc_stats stats;
    stoa_alloc_stats(&stats);
    assert_int_equal(stats.live_count, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blanks),
        cmocka_unit_test(test_double_quotes),
        cmocka_unit_test(test_single_quotes_and_mid_word),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_limits_and_allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
