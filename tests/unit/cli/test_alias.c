/* Shows that Nomos's REPL words become the commands they stand for (put is SET, status is
 * INFO, log is GROUP LOG with its options) or the cli's own actions (kv, help, quit, exit), without
 * regard to case, and that everything else is sent as typed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cli/alias.h"
#include "cli/split.h"

#define TEXT_BYTES 256

/* "<action>:[w|w]" for a line. */
static void describe(const char *line, char *out) {
    struct stoa_cli_words words;
    stoa_cli_words_init(&words);
    assert_int_equal(stoa_cli_split(line, strlen(line), &words), 0);
    struct stoa_cli_word translated[8];
    assert_true(words.count >= 1 && words.count < 8);
    size_t count = 0;
    enum stoa_cli_action action = STOA_CLI_ACTION_SEND;
    stoa_cli_alias(words.words, words.count, translated, &count, &action);
    static const char *const names[] = {"send", "kv", "help", "quit"};
    size_t length = (size_t)snprintf(out, TEXT_BYTES, "%s:[", names[action]);
    for (size_t i = 0; i < count; i++) {
        length += (size_t)snprintf(out + length, TEXT_BYTES - length, "%s%.*s", i > 0 ? "|" : "",
                                   (int)translated[i].length, (const char *)translated[i].data);
    }
    snprintf(out + length, TEXT_BYTES - length, "]");
    stoa_cli_words_free(&words);
}

static void expect(const char *line, const char *expected) {
    char out[TEXT_BYTES];
    describe(line, out);
    assert_string_equal(out, expected);
}

/* Nomos's words that name a Redis command are rewritten to it. */
static void test_nomos_words(void **state) {
    (void)state;
    expect("put k v", "send:[SET|k|v]");
    expect("PUT k v", "send:[SET|k|v]");
    expect("get k", "send:[get|k]");
    expect("status", "send:[INFO]");
    expect("status memory", "send:[INFO|memory]");
    expect("log", "send:[GROUP|LOG]");
    expect("LOG from 5 count 3", "send:[GROUP|LOG|from|5|count|3]");
    expect("ping", "send:[ping]");
}

/* kv, help, quit and exit are the cli's own; with arguments kv and quit are sent as typed. */
static void test_cli_words(void **state) {
    (void)state;
    expect("kv", "kv:[kv]");
    expect("help", "help:[help]");
    expect("HELP get", "help:[HELP|get]");
    expect("quit", "quit:[quit]");
    expect("Exit", "quit:[Exit]");
    expect("kv x", "send:[kv|x]");
    expect("quit now", "send:[quit|now]");
}

/* Anything else goes to the server unchanged. */
static void test_others_unchanged(void **state) {
    (void)state;
    expect("SET putter 1", "send:[SET|putter|1]");
    expect("puts x", "send:[puts|x]");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nomos_words),
        cmocka_unit_test(test_cli_words),
        cmocka_unit_test(test_others_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
