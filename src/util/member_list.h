/*
 * member_list: the members of a replica group as written in config (cluster.members).
 *
 * The text is a comma-separated list of id=host:port entries, e.g.
 *
 *     1=127.0.0.1:7382,2=127.0.0.1:7392,3=127.0.0.1:7402
 *
 * Ids are decimal integers in 1 .. STOA_PEER_NODE_ID_MAX; hosts are numeric (or localhost),
 * as util/address.h reads them; the port is each member's peer port (listen.peer.port on
 * that node). Spaces around entries and around '=' are allowed. An empty text is an empty
 * list (a single node). The parser lives in util so that config loading refuses a bad list
 * at once, with a message naming the entry; the peer transport (server/peer.h) takes the
 * parsed list.
 *
 * Refused, each with its own message: an entry without '=', an id that is not a decimal
 * integer in range, a bad address or port 0, an empty entry, two entries with the same id or
 * the same address, more than STOA_PEER_MEMBERS_MAX entries.
 *
 * Ownership: a list is a plain value with no allocation; text is borrowed for the call.
 */
#ifndef STOA_UTIL_MEMBER_LIST_H
#define STOA_UTIL_MEMBER_LIST_H

#include <stddef.h>
#include <stdint.h>

#include "util/address.h"
#include "util/limits.h"

struct stoa_member {
    uint64_t id;
    struct stoa_address address;
};

struct stoa_member_list {
    struct stoa_member members[STOA_PEER_MEMBERS_MAX];
    size_t count;
};

/* A parse error: one line, NUL-terminated. */
#define STOA_MEMBER_LIST_ERROR_BYTES 256

/* Parses length bytes of text into list. Returns 0, or STOA_ERR_CONFIG with a sentence in
 * error (STOA_MEMBER_LIST_ERROR_BYTES) and list untouched. */
int stoa_member_list_parse(const char *text, size_t length, struct stoa_member_list *list,
                           char error[STOA_MEMBER_LIST_ERROR_BYTES]);

/* The member with this id, or NULL. Borrowed from list. */
const struct stoa_member *stoa_member_list_find(const struct stoa_member_list *list, uint64_t id);

/* Writes the list back as text the parser reads ("1=127.0.0.1:7382,2=..."), NUL-terminated.
 * Returns 0, or STOA_ERR_TOO_LARGE if it does not fit in capacity bytes (text then holds a
 * cut prefix). */
int stoa_member_list_format(const struct stoa_member_list *list, char *text, size_t capacity);

#endif
