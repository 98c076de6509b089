/*
 * address: network addresses as plain values, parsed and printed without touching the
 * network (no DNS: a host must be a numeric IPv4 or IPv6 address, or "localhost").
 *
 * Text forms: "127.0.0.1:6379", "[::1]:6379", "localhost:6379" (= 127.0.0.1). A host
 * without a port can be parsed with stoa_address_parse_host.
 */
#ifndef STOA_UTIL_ADDRESS_H
#define STOA_UTIL_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"

enum stoa_address_family {
    STOA_ADDRESS_IPV4 = 4,
    STOA_ADDRESS_IPV6 = 6,
};

struct stoa_address {
    enum stoa_address_family family;
    uint16_t port;
    uint8_t ip[16]; /* network order; IPv4 uses the first 4 bytes */
};

/* Parses "host:port" (IPv6 in brackets) from exactly length bytes. Returns 0 or
 * STOA_ERR_MALFORMED; address is untouched on failure. */
int stoa_address_parse(const char *text, size_t length, struct stoa_address *address);

/* Parses a host alone ("127.0.0.1", "::1", "[::1]", "localhost") and sets port. */
int stoa_address_parse_host(const char *text, size_t length, uint16_t port,
                            struct stoa_address *address);

/* Writes "host:port" (IPv6 in brackets) with a NUL; returns its length. */
size_t stoa_address_format(const struct stoa_address *address,
                           char text[STOA_ADDRESS_TEXT_BYTES_MAX]);

bool stoa_address_equal(const struct stoa_address *a, const struct stoa_address *b);

#endif
