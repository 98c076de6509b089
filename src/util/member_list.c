/* The member list of cluster.members: parse, find, format. */
#include "util/member_list.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/err.h"
#include "util/number.h"

/* Bytes of an entry quoted in an error message; longer entries are cut. */
#define QUOTE_BYTES_MAX 64

__attribute__((format(printf, 2, 3))) static int fail(char error[STOA_MEMBER_LIST_ERROR_BYTES],
                                                      const char *format, ...) {
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, STOA_MEMBER_LIST_ERROR_BYTES, format, arguments);
    va_end(arguments);
    return STOA_ERR_CONFIG;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t';
}

/* Narrows [*start, *end) to drop spaces at both ends. */
static void trim(const char *text, size_t *start, size_t *end) {
    while (*start < *end && is_space(text[*start])) {
        (*start)++;
    }
    while (*end > *start && is_space(text[*end - 1])) {
        (*end)--;
    }
}

static int shown(size_t length) {
    return (int)(length < QUOTE_BYTES_MAX ? length : QUOTE_BYTES_MAX);
}

/* Parses one entry "id=host:port" (already trimmed) into member. */
static int parse_entry(const char *entry, size_t length, size_t number, struct stoa_member *member,
                       char error[STOA_MEMBER_LIST_ERROR_BYTES]) {
    const char *equals = memchr(entry, '=', length);
    if (equals == NULL) {
        return fail(error, "member %zu \"%.*s\": expected id=host:port", number, shown(length),
                    entry);
    }
    size_t id_start = 0;
    size_t id_end = (size_t)(equals - entry);
    size_t address_start = id_end + 1;
    size_t address_end = length;
    trim(entry, &id_start, &id_end);
    trim(entry, &address_start, &address_end);
    int64_t id = 0;
    if (!stoa_number_parse_int64((const uint8_t *)entry + id_start, id_end - id_start, &id) ||
        id < 1 || (uint64_t)id > STOA_PEER_NODE_ID_MAX) {
        return fail(error, "member %zu \"%.*s\": the id must be an integer in 1..%llu", number,
                    shown(length), entry, (unsigned long long)STOA_PEER_NODE_ID_MAX);
    }
    struct stoa_address address;
    if (stoa_address_parse(entry + address_start, address_end - address_start, &address) !=
            STOA_OK ||
        address.port == 0) {
        return fail(error,
                    "member %zu \"%.*s\": expected a numeric host and a port after '=' "
                    "(e.g. 127.0.0.1:7382)",
                    number, shown(length), entry);
    }
    member->id = (uint64_t)id;
    member->address = address;
    return STOA_OK;
}

/* Refuses a member whose id or address an earlier one has. */
static int check_unique(const struct stoa_member_list *list, const struct stoa_member *member,
                        char error[STOA_MEMBER_LIST_ERROR_BYTES]) {
    for (size_t i = 0; i < list->count; i++) {
        if (list->members[i].id == member->id) {
            return fail(error, "member id %llu appears twice", (unsigned long long)member->id);
        }
        if (stoa_address_equal(&list->members[i].address, &member->address)) {
            char text[STOA_ADDRESS_TEXT_BYTES_MAX];
            stoa_address_format(&member->address, text);
            return fail(error, "members %llu and %llu have the same address %s",
                        (unsigned long long)list->members[i].id, (unsigned long long)member->id,
                        text);
        }
    }
    return STOA_OK;
}

int stoa_member_list_parse(const char *text, size_t length, struct stoa_member_list *list,
                           char error[STOA_MEMBER_LIST_ERROR_BYTES]) {
    STOA_ASSERT((text != NULL || length == 0) && list != NULL && error != NULL);
    error[0] = '\0';
    struct stoa_member_list parsed;
    parsed.count = 0;
    size_t all_start = 0;
    size_t all_end = length;
    trim(text, &all_start, &all_end);
    size_t at = all_start;
    /* Each round takes one entry; the list ends after the last one (no trailing comma). */
    while (at < all_end) {
        const char *comma = memchr(text + at, ',', all_end - at);
        size_t end = comma != NULL ? (size_t)(comma - text) : all_end;
        size_t start = at;
        trim(text, &start, &end);
        size_t number = parsed.count + 1;
        if (start == end) {
            return fail(error, "member %zu is empty (two commas, or a comma at an end)", number);
        }
        if (parsed.count == STOA_PEER_MEMBERS_MAX) {
            return fail(error, "more than %d members", STOA_PEER_MEMBERS_MAX);
        }
        struct stoa_member member;
        int result = parse_entry(text + start, end - start, number, &member, error);
        if (result == STOA_OK) {
            result = check_unique(&parsed, &member, error);
        }
        if (result != STOA_OK) {
            return result;
        }
        parsed.members[parsed.count++] = member;
        if (comma == NULL) {
            break;
        }
        at = (size_t)(comma - text) + 1;
        if (at == all_end) {
            return fail(error, "member %zu is empty (two commas, or a comma at an end)",
                        parsed.count + 1);
        }
    }
    memcpy(list->members, parsed.members, parsed.count * sizeof(parsed.members[0]));
    list->count = parsed.count;
    return STOA_OK;
}

const struct stoa_member *stoa_member_list_find(const struct stoa_member_list *list, uint64_t id) {
    STOA_ASSERT(list != NULL && list->count <= STOA_PEER_MEMBERS_MAX);
    for (size_t i = 0; i < list->count; i++) {
        if (list->members[i].id == id) {
            return &list->members[i];
        }
    }
    return NULL;
}

int stoa_member_list_format(const struct stoa_member_list *list, char *text, size_t capacity) {
    STOA_ASSERT(list != NULL && text != NULL && capacity > 0);
    size_t at = 0;
    for (size_t i = 0; i < list->count; i++) {
        char address[STOA_ADDRESS_TEXT_BYTES_MAX];
        stoa_address_format(&list->members[i].address, address);
        int written = snprintf(text + at, capacity - at, "%s%llu=%s", i > 0 ? "," : "",
                               (unsigned long long)list->members[i].id, address);
        if (written < 0 || (size_t)written >= capacity - at) {
            return STOA_ERR_TOO_LARGE;
        }
        at += (size_t)written;
    }
    text[at] = '\0';
    return STOA_OK;
}
