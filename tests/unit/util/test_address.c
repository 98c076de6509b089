/* Shows that addresses parse and print as "host:port" for IPv4, bracketed IPv6 and
 * localhost, round-trip through text, and that malformed text is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "util/address.h"
#include "util/err.h"

static void parse_ok(const char *text, struct stoa_address *address) {
    assert_int_equal(stoa_address_parse(text, strlen(text), address), STOA_OK);
}

/* Text in canonical form parses and prints back to the same text. */
static void test_round_trips(void **state) {
    (void)state;
    static const char *const texts[] = {
        "127.0.0.1:6379",     "0.0.0.0:0", "255.255.255.255:65535",         "10.1.2.3:80",
        "[::1]:6379",         "[::]:1",    "[2001:db8::8a2e:370:7334]:443", "[fe80::1:2:3:4]:65535",
        "[::ffff:1.2.3.4]:7",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        struct stoa_address address;
        parse_ok(texts[i], &address);
        char text[STOA_ADDRESS_TEXT_BYTES_MAX];
        size_t length = stoa_address_format(&address, text);
        assert_string_equal(text, texts[i]);
        assert_int_equal(length, strlen(texts[i]));
        struct stoa_address again;
        parse_ok(text, &again);
        assert_true(stoa_address_equal(&address, &again));
    }
}

/* The parsed values are right: family, port and bytes in network order. */
static void test_parsed_values(void **state) {
    (void)state;
    struct stoa_address address;
    parse_ok("192.168.1.20:8080", &address);
    assert_int_equal(address.family, STOA_ADDRESS_IPV4);
    assert_int_equal(address.port, 8080);
    static const uint8_t ipv4[4] = {192, 168, 1, 20};
    assert_memory_equal(address.ip, ipv4, 4);
    parse_ok("[::1]:9", &address);
    assert_int_equal(address.family, STOA_ADDRESS_IPV6);
    assert_int_equal(address.port, 9);
    for (size_t i = 0; i < 15; i++) {
        assert_int_equal(address.ip[i], 0);
    }
    assert_int_equal(address.ip[15], 1);
}

/* localhost is 127.0.0.1 (in any case) and prints as such; IPv6 text is printed in its
 * canonical short form. */
static void test_localhost_and_canonical_form(void **state) {
    (void)state;
    struct stoa_address address;
    struct stoa_address loopback;
    parse_ok("localhost:6379", &address);
    parse_ok("127.0.0.1:6379", &loopback);
    assert_true(stoa_address_equal(&address, &loopback));
    parse_ok("LocalHost:6379", &address);
    assert_true(stoa_address_equal(&address, &loopback));
    char text[STOA_ADDRESS_TEXT_BYTES_MAX];
    stoa_address_format(&address, text);
    assert_string_equal(text, "127.0.0.1:6379");
    parse_ok("[0:0:0:0:0:0:0:1]:6379", &address);
    stoa_address_format(&address, text);
    assert_string_equal(text, "[::1]:6379");
    parse_ok("[2001:DB8::1]:1", &address);
    stoa_address_format(&address, text);
    assert_string_equal(text, "[2001:db8::1]:1");
}

/* A host alone parses in every form and takes the given port. */
static void test_parse_host(void **state) {
    (void)state;
    static const char *const hosts[] = {"127.0.0.1", "::1", "[::1]", "localhost", "fe80::2"};
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        struct stoa_address address;
        assert_int_equal(stoa_address_parse_host(hosts[i], strlen(hosts[i]), 4000, &address),
                         STOA_OK);
        assert_int_equal(address.port, 4000);
    }
    static const char *const bad[] = {"",      "[127.0.0.1]",  "[::1",         "::1]",  "[::1]x",
                                      "local", "127.0.0.1:80", "host.example", "1.2.3", "[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct stoa_address address = {.port = 77};
        assert_int_equal(stoa_address_parse_host(bad[i], strlen(bad[i]), 4000, &address),
                         STOA_ERR_MALFORMED);
        assert_int_equal(address.port, 77);
    }
}

/* Malformed text is STOA_ERR_MALFORMED and leaves the address untouched: no port, an empty
 * or signed or too large port, garbage, names (no DNS), unbracketed IPv6, missing
 * brackets, NUL bytes, and text too long. */
static void test_rejects_malformed(void **state) {
    (void)state;
    static const char *const bad[] = {
        "127.0.0.1",
        "127.0.0.1:",
        "127.0.0.1:65536",
        "127.0.0.1:99999",
        "127.0.0.1:123456",
        "127.0.0.1:-1",
        "127.0.0.1:+80",
        "127.0.0.1:8a",
        "127.0.0.1:80 ",
        " 127.0.0.1:80",
        ":80",
        "garbage",
        "example.com:80",
        "256.1.1.1:80",
        "1.2.3:80",
        "::1:80",
        "[::1:80",
        "::1]:80",
        "[::1]80",
        "[::1]:",
        "[]:80",
        "[127.0.0.1]:80",
        "[::1]:80:90",
        "1.2.3.4:80:90",
        "",
        ":",
        "[",
        "[1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd]:1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct stoa_address address = {.family = STOA_ADDRESS_IPV4, .port = 77};
        assert_int_equal(stoa_address_parse(bad[i], strlen(bad[i]), &address), STOA_ERR_MALFORMED);
        assert_int_equal(address.port, 77);
    }
    struct stoa_address address;
    assert_int_equal(stoa_address_parse("1.2.3.4\0:80", 10, &address), STOA_ERR_MALFORMED);
    assert_int_equal(stoa_address_parse("1.2.3.4:80\0", 11, &address), STOA_ERR_MALFORMED);
    /* Only length bytes are read: the text need not end in NUL. */
    assert_int_equal(stoa_address_parse("1.2.3.4:8099", 10, &address), STOA_OK);
    assert_int_equal(address.port, 80);
}

/* Equality compares family, port and address; IPv4 and its IPv6-mapped form differ. */
static void test_equal(void **state) {
    (void)state;
    struct stoa_address a;
    struct stoa_address b;
    parse_ok("1.2.3.4:5", &a);
    parse_ok("1.2.3.4:5", &b);
    assert_true(stoa_address_equal(&a, &b));
    parse_ok("1.2.3.4:6", &b);
    assert_false(stoa_address_equal(&a, &b));
    parse_ok("1.2.3.5:5", &b);
    assert_false(stoa_address_equal(&a, &b));
    parse_ok("[::ffff:1.2.3.4]:5", &b);
    assert_false(stoa_address_equal(&a, &b));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_parsed_values),
        cmocka_unit_test(test_localhost_and_canonical_form),
        cmocka_unit_test(test_parse_host),
        cmocka_unit_test(test_rejects_malformed),
        cmocka_unit_test(test_equal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
