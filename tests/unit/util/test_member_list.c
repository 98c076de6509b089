/* Shows that cluster.members text parses into ids and addresses, formats back to the same
 * list, and that each kind of mistake (no '=', a bad or out-of-range id, a bad address or port
 * 0, empty entries, duplicate ids or addresses, too many members) is refused with a message
 * naming it, leaving the list untouched; and that loading config refuses a bad list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "util/config.h"
#include "util/err.h"
#include "util/member_list.h"

static int parse(const char *text, struct stoa_member_list *list, char *error) {
    return stoa_member_list_parse(text, strlen(text), list, error);
}

/* Nomos's three nodes on one machine parse, with spaces allowed around entries and '='. */
static void test_parse_three(void **state) {
    (void)state;
    struct stoa_member_list list;
    char error[STOA_MEMBER_LIST_ERROR_BYTES];
    assert_int_equal(parse(" 1=127.0.0.1:7382, 2 = 127.0.0.1:7392 ,3=[::1]:7402 ", &list, error),
                     0);
    assert_int_equal(list.count, 3);
    assert_int_equal(list.members[0].id, 1);
    assert_int_equal(list.members[0].address.port, 7382);
    assert_int_equal(list.members[1].id, 2);
    assert_int_equal(list.members[1].address.port, 7392);
    assert_int_equal(list.members[2].address.family, STOA_ADDRESS_IPV6);
    const struct stoa_member *two = stoa_member_list_find(&list, 2);
    assert_non_null(two);
    assert_int_equal(two->address.port, 7392);
    assert_null(stoa_member_list_find(&list, 4));
    char text[256];
    assert_int_equal(stoa_member_list_format(&list, text, sizeof(text)), 0);
    assert_string_equal(text, "1=127.0.0.1:7382,2=127.0.0.1:7392,3=[::1]:7402");
    assert_int_equal(stoa_member_list_format(&list, text, 10), STOA_ERR_TOO_LARGE);
}

/* An empty (or blank) text is an empty list: a single node. */
static void test_parse_empty(void **state) {
    (void)state;
    struct stoa_member_list list = {.count = 9};
    char error[STOA_MEMBER_LIST_ERROR_BYTES];
    assert_int_equal(parse("", &list, error), 0);
    assert_int_equal(list.count, 0);
    list.count = 9;
    assert_int_equal(parse("   ", &list, error), 0);
    assert_int_equal(list.count, 0);
}

struct bad_case {
    const char *text;
    const char *message;
};

/* Each mistake gets its own message, and the list is left as it was. */
static void test_parse_errors(void **state) {
    (void)state;
    static const struct bad_case cases[] = {
        {"127.0.0.1:7382", "member 1 \"127.0.0.1:7382\": expected id=host:port"},
        {"x=127.0.0.1:7382", "member 1 \"x=127.0.0.1:7382\": the id must be an integer in "
                             "1..4294967295"},
        {"0=127.0.0.1:7382", "member 1 \"0=127.0.0.1:7382\": the id must be an integer in "
                             "1..4294967295"},
        {"4294967296=127.0.0.1:1", "member 1 \"4294967296=127.0.0.1:1\": the id must be an "
                                   "integer in 1..4294967295"},
        {"-1=127.0.0.1:1", "member 1 \"-1=127.0.0.1:1\": the id must be an integer in "
                           "1..4294967295"},
        {"1=example.com:7382", "member 1 \"1=example.com:7382\": expected a numeric host and a "
                               "port after '=' (e.g. 127.0.0.1:7382)"},
        {"1=127.0.0.1:0", "member 1 \"1=127.0.0.1:0\": expected a numeric host and a port after "
                          "'=' (e.g. 127.0.0.1:7382)"},
        {"1=127.0.0.1", "member 1 \"1=127.0.0.1\": expected a numeric host and a port after '=' "
                        "(e.g. 127.0.0.1:7382)"},
        {"1=127.0.0.1:1,,2=127.0.0.1:2", "member 2 is empty (two commas, or a comma at an end)"},
        {"1=127.0.0.1:1,", "member 2 is empty (two commas, or a comma at an end)"},
        {",1=127.0.0.1:1", "member 1 is empty (two commas, or a comma at an end)"},
        {"1=127.0.0.1:1,1=127.0.0.1:2", "member id 1 appears twice"},
        {"1=127.0.0.1:1,2=127.0.0.1:1", "members 1 and 2 have the same address 127.0.0.1:1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct stoa_member_list list = {.count = 7};
        char error[STOA_MEMBER_LIST_ERROR_BYTES];
        assert_int_equal(parse(cases[i].text, &list, error), STOA_ERR_CONFIG);
        assert_string_equal(error, cases[i].message);
        assert_int_equal(list.count, 7);
    }
}

/* STOA_PEER_MEMBERS_MAX members parse; one more is refused. */
static void test_parse_too_many(void **state) {
    (void)state;
    char text[STOA_PEER_MEMBERS_TEXT_BYTES_MAX];
    size_t at = 0;
    for (int i = 1; i <= STOA_PEER_MEMBERS_MAX + 1; i++) {
        at += (size_t)snprintf(text + at, sizeof(text) - at, "%s%d=10.0.0.1:%d", i > 1 ? "," : "",
                               i, 1000 + i);
    }
    struct stoa_member_list list;
    char error[STOA_MEMBER_LIST_ERROR_BYTES];
    assert_int_equal(parse(text, &list, error), STOA_ERR_CONFIG);
    assert_string_equal(error, "more than 64 members");
    char *last_comma = strrchr(text, ',');
    *last_comma = '\0';
    assert_int_equal(parse(text, &list, error), 0);
    assert_int_equal(list.count, STOA_PEER_MEMBERS_MAX);
}

/* A config file with a bad cluster.members fails to load with the key and the entry named;
 * a good one loads. */
static void test_config_load(void **state) {
    (void)state;
    struct stoa_config config;
    struct stoa_config_error error;
    stoa_config_defaults(&config);
    static const char bad[] = "cluster:\n  members: 1=127.0.0.1:7382,1=127.0.0.1:7392\n";
    assert_int_equal(stoa_config_load_file(&config, "stoa.yaml", bad, strlen(bad), &error),
                     STOA_ERR_CONFIG);
    assert_non_null(strstr(error.message, "cluster.members"));
    assert_non_null(strstr(error.message, "member id 1 appears twice"));
    assert_string_equal(config.cluster_members, "");
    static const char good[] = "cluster:\n  members: 1=127.0.0.1:7382,2=127.0.0.1:7392\n"
                               "  self: 2\n  secret: sixteen-bytes-long!\n";
    assert_int_equal(stoa_config_load_file(&config, "stoa.yaml", good, strlen(good), &error), 0);
    assert_string_equal(config.cluster_members, "1=127.0.0.1:7382,2=127.0.0.1:7392");
    assert_int_equal(config.cluster_self, 2);
    assert_int_equal(stoa_config_set(&config, "cluster.members", "1=nowhere", "flag", &error),
                     STOA_ERR_CONFIG);
    assert_non_null(strstr(error.message, "flag: cluster.members: member 1"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_three),  cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_parse_too_many),
        cmocka_unit_test(test_config_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
