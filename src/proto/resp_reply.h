/*
 * resp_reply: RESP replies as a client reads them, pure code, no I/O (stoa cli uses it).
 *
 * resp.h parses requests, which are only arrays of bulk strings; a reply can be any RESP2 or
 * RESP3 type. This parser reads one whole reply, however deeply nested, into a flat table of
 * elements in pre-order: an aggregate is followed by its children, a map by key, value, key,
 * value. Each element records how many table entries its subtree spans, so a reader skips a
 * child with one addition and walks the tree without recursion.
 *
 * Types, by their first byte: '+' status, '-' error, ':' integer, '$' bulk string ("$-1" is
 * a null), '*' array ("*-1" is a null), '_' null, ',' double, '#' boolean, '!' bulk error,
 * '=' verbatim string, '(' big number, '%' map, '~' set, '>' push. An attribute ('|', a map
 * of metadata sent before a reply) is read and skipped: it leaves nothing in the table.
 * Streamed strings and aggregates ("$?", "*?"), which no Redis server sends, are malformed.
 *
 * Strict, because a client must not guess: every line ends in CR LF and holds no other CR or
 * LF; lengths and counts are decimal without a '+' or leading zeros; a boolean is "t" or
 * "f"; a null line is empty; a verbatim string starts with a three-byte format and ':'. The
 * limits (STOA_RESP_REPLY_DEPTH_MAX, _ELEMENTS_MAX, _LINE_BYTES_MAX, STOA_RESP_BULK_BYTES_MAX)
 * make a hostile server's reply malformed instead of exhausting the client.
 *
 * Resumable: the caller keeps the reply's bytes and calls again with more; the parser keeps
 * its position and its stack, so each header byte is looked at once and bulk data not at all.
 * Elements hold (offset, length) pairs into those bytes, so they stay right when the caller's
 * buffer moves.
 *
 * Ownership: a parser owns its element table (stoa_alloc); free it with
 * stoa_resp_reply_parser_free. A reply borrows the table: valid until the next
 * stoa_resp_reply_parse or stoa_resp_reply_parser_free.
 */
#ifndef STOA_PROTO_RESP_REPLY_H
#define STOA_PROTO_RESP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"

enum stoa_resp_reply_type {
    STOA_RESP_REPLY_STATUS,     /* '+': text */
    STOA_RESP_REPLY_ERROR,      /* '-' and '!': text */
    STOA_RESP_REPLY_INTEGER,    /* ':': integer */
    STOA_RESP_REPLY_BULK,       /* '$': text */
    STOA_RESP_REPLY_NULL,       /* '_', "$-1", "*-1" (marker tells which) */
    STOA_RESP_REPLY_DOUBLE,     /* ',': text as sent ("3.14", "inf") */
    STOA_RESP_REPLY_BOOLEAN,    /* '#': integer 1 or 0 */
    STOA_RESP_REPLY_VERBATIM,   /* '=': text after the "txt:" format */
    STOA_RESP_REPLY_BIG_NUMBER, /* '(': text as sent */
    STOA_RESP_REPLY_ARRAY,      /* '*': count children */
    STOA_RESP_REPLY_MAP,        /* '%': count pairs, 2 * count children */
    STOA_RESP_REPLY_SET,        /* '~': count children */
    STOA_RESP_REPLY_PUSH,       /* '>': count children */
};

struct stoa_resp_reply_element {
    enum stoa_resp_reply_type type;
    uint8_t marker; /* the type byte as sent ('-' or '!', '$' or '*' or '_' for a null) */
    size_t offset;  /* text types: the text is length bytes at data[offset] */
    size_t length;
    int64_t integer; /* INTEGER; BOOLEAN 1 or 0 */
    size_t count;    /* aggregates: children, or pairs for a map */
    size_t span;     /* entries of the table this element's subtree takes, itself included */
};

struct stoa_resp_reply {
    const struct stoa_resp_reply_element *elements; /* borrowed from the parser */
    size_t element_count;                           /* at least 1; elements[0] is the reply */
};

/* One open aggregate on the parser's stack. */
struct stoa_resp_reply_frame {
    size_t remaining;     /* children not yet complete */
    size_t element_index; /* its entry in the table (unused for an attribute) */
    bool attribute;       /* an attribute: its children are skipped, not recorded */
};

struct stoa_resp_reply_parser {
    /* After STOA_ERR_MALFORMED: what was wrong, NUL-terminated ("invalid bulk length"). */
    char error[STOA_RESP_ERROR_BYTES_MAX];

    /* Private. Positions are relative to the first byte of the reply being parsed. */
    bool failed;
    bool complete;   /* the last call returned a reply; the next call starts a new one */
    size_t position; /* first byte not yet parsed */
    size_t scan;     /* where the search for the current line's CR resumes */
    struct stoa_resp_reply_frame stack[STOA_RESP_REPLY_DEPTH_MAX];
    size_t depth;
    size_t attribute_depth; /* frames on the stack that are attributes */
    struct stoa_resp_reply_element *elements;
    size_t element_count;
    size_t element_capacity;
    size_t elements_announced; /* recorded elements plus children announced, for the limit */
};

void stoa_resp_reply_parser_init(struct stoa_resp_reply_parser *parser);

/* Frees the element table; the parser is as after init. */
void stoa_resp_reply_parser_free(struct stoa_resp_reply_parser *parser);

/* Parses the length bytes at data (borrowed): the reply's bytes from its first byte, the same
 * bytes as the previous call plus any that arrived since. Returns one of:
 *   0: the reply is complete, in *reply; *used is the bytes it took. Drop them: the next call
 *      starts a new reply at the byte after.
 *   STOA_ERR_AGAIN: not complete yet; call again with more bytes.
 *   STOA_ERR_MALFORMED: not RESP; parser->error says why. The stream cannot be trusted any
 *      more: close the connection. Every later call returns it again.
 *   STOA_ERR_NOMEM: the table could not grow; nothing was consumed, a later call may retry.
 * *reply and *used are untouched on error. */
int stoa_resp_reply_parse(struct stoa_resp_reply_parser *parser, const uint8_t *data, size_t length,
                          struct stoa_resp_reply *reply, size_t *used);

#endif
