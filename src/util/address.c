#include "util/address.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/assert.h"
#include "util/err.h"

static const char localhost[] = "localhost";

/* Parses a decimal port of 1 to 5 digits, at most 65535. */
static int parse_port(const char *text, size_t length, uint16_t *port) {
    if (length == 0 || length > 5) {
        return STOA_ERR_MALFORMED;
    }
    uint32_t value = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return STOA_ERR_MALFORMED;
        }
        value = value * 10 + (uint32_t)(text[i] - '0');
    }
    if (value > UINT16_MAX) {
        return STOA_ERR_MALFORMED;
    }
    *port = (uint16_t)value;
    return STOA_OK;
}

/* Parses a numeric host without brackets into address (port untouched). */
static int parse_numeric_host(const char *text, size_t length, bool bracketed,
                              struct stoa_address *address) {
    char host[STOA_ADDRESS_TEXT_BYTES_MAX];
    if (length == 0 || length >= sizeof(host)) {
        return STOA_ERR_MALFORMED;
    }
    memcpy(host, text, length);
    host[length] = '\0';
    if (memchr(text, '\0', length) != NULL) {
        return STOA_ERR_MALFORMED;
    }
    struct stoa_address result = {0};
    if (!bracketed && length == sizeof(localhost) - 1 && strcasecmp(host, localhost) == 0) {
        result.family = STOA_ADDRESS_IPV4;
        result.ip[0] = 127;
        result.ip[3] = 1;
    } else if (!bracketed && inet_pton(AF_INET, host, result.ip) == 1) {
        result.family = STOA_ADDRESS_IPV4;
    } else if (inet_pton(AF_INET6, host, result.ip) == 1) {
        result.family = STOA_ADDRESS_IPV6;
    } else {
        return STOA_ERR_MALFORMED;
    }
    address->family = result.family;
    memcpy(address->ip, result.ip, sizeof(result.ip));
    return STOA_OK;
}

/* Splits "[v6]" off text; sets *host and *host_length to the inside of the brackets and
 * *after to the index just past ']'. Returns STOA_ERR_MALFORMED without a closing ']'. */
static int split_bracketed(const char *text, size_t length, const char **host, size_t *host_length,
                           size_t *after) {
    const char *close = memchr(text, ']', length);
    if (close == NULL) {
        return STOA_ERR_MALFORMED;
    }
    *host = text + 1;
    *host_length = (size_t)(close - text) - 1;
    *after = (size_t)(close - text) + 1;
    return STOA_OK;
}

int stoa_address_parse_host(const char *text, size_t length, uint16_t port,
                            struct stoa_address *address) {
    STOA_ASSERT(text != NULL && address != NULL);
    struct stoa_address result = {0};
    int status;
    if (length > 0 && text[0] == '[') {
        const char *host = NULL;
        size_t host_length = 0;
        size_t after = 0;
        status = split_bracketed(text, length, &host, &host_length, &after);
        if (status == STOA_OK && after != length) {
            status = STOA_ERR_MALFORMED;
        }
        if (status == STOA_OK) {
            status = parse_numeric_host(host, host_length, true, &result);
        }
    } else {
        status = parse_numeric_host(text, length, false, &result);
    }
    if (status != STOA_OK) {
        return status;
    }
    result.port = port;
    *address = result;
    return STOA_OK;
}

int stoa_address_parse(const char *text, size_t length, struct stoa_address *address) {
    STOA_ASSERT(text != NULL && address != NULL);
    size_t host_end = 0;
    if (length > 0 && text[0] == '[') {
        const char *host = NULL;
        size_t host_length = 0;
        if (split_bracketed(text, length, &host, &host_length, &host_end) != STOA_OK) {
            return STOA_ERR_MALFORMED;
        }
    } else {
        /* Without brackets the host holds no ':', so the first one starts the port. */
        const char *colon = memchr(text, ':', length);
        if (colon == NULL) {
            return STOA_ERR_MALFORMED;
        }
        host_end = (size_t)(colon - text);
    }
    if (host_end >= length || text[host_end] != ':') {
        return STOA_ERR_MALFORMED;
    }
    uint16_t port = 0;
    int status = parse_port(text + host_end + 1, length - host_end - 1, &port);
    if (status != STOA_OK) {
        return status;
    }
    return stoa_address_parse_host(text, host_end, port, address);
}

size_t stoa_address_format(const struct stoa_address *address,
                           char text[STOA_ADDRESS_TEXT_BYTES_MAX]) {
    STOA_ASSERT(address != NULL && text != NULL);
    char host[INET6_ADDRSTRLEN];
    bool ipv6 = address->family == STOA_ADDRESS_IPV6;
    STOA_ASSERT(ipv6 || address->family == STOA_ADDRESS_IPV4);
    const char *written = inet_ntop(ipv6 ? AF_INET6 : AF_INET, address->ip, host, sizeof(host));
    STOA_ASSERT(written != NULL);
    int length = snprintf(text, STOA_ADDRESS_TEXT_BYTES_MAX, ipv6 ? "[%s]:%u" : "%s:%u", host,
                          (unsigned)address->port);
    STOA_ASSERT(length > 0 && length < STOA_ADDRESS_TEXT_BYTES_MAX);
    return (size_t)length;
}

bool stoa_address_equal(const struct stoa_address *a, const struct stoa_address *b) {
    STOA_ASSERT(a != NULL && b != NULL);
    if (a->family != b->family || a->port != b->port) {
        return false;
    }
    size_t ip_length = a->family == STOA_ADDRESS_IPV4 ? 4 : 16;
    return memcmp(a->ip, b->ip, ip_length) == 0;
}
