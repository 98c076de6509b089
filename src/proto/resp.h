/*
 * resp: the Redis serialization protocol as pure code, no I/O.
 *
 * The parser turns a client's bytes into requests; the writer turns the engine's answers
 * (engine/reply.h) into reply bytes. The server owns the sockets and the buffers; this module
 * only reads the bytes it is given and appends to the buffer it is given.
 *
 * Requests come in Redis's two shapes. A multibulk request is an array of bulk strings,
 * "*<n>\r\n" then n times "$<length>\r\n<bytes>\r\n". Anything not starting with '*' is an
 * inline request: one line ending in "\n" (a "\r" before it is dropped), split into words at
 * blanks, with Redis's quoting ("a b" with \n \r \t \b \a \xHH escapes, 'a b' with \').
 * Requests without arguments ("*0", "*-1", a blank line) are skipped, as Redis skips them.
 *
 * What the parser accepts and refuses is Redis's (processMultibulkBuffer and
 * processInlineBuffer in networking.c, string2ll, sdssplitargs), with Redis's error texts,
 * with these differences, each so that the result does not depend on how the bytes were cut
 * into reads: a line is too long when it is longer than STOA_RESP_INLINE_BYTES_MAX whether or
 * not its end has arrived; a NUL byte is an ordinary byte while looking for a line's end (it
 * still ends an inline line's words, as in sdssplitargs); a request longer than
 * STOA_RESP_REQUEST_BYTES_MAX is refused as soon as a bulk length announces it ("too big
 * request"; Redis closes such a client without a reply). Like Redis, the parser does not look
 * at the byte after a header line's "\r" or at the two bytes after a bulk's data: they are
 * skipped as the "\n" and "\r\n" they should be. A client that gets this wrong sees an error
 * on the next header, or loses two bytes, exactly as with Redis.
 *
 * Zero copy: a request's arguments are (offset, length) pairs into the caller's bytes, so they
 * stay right when the caller's buffer moves (stoa_buf grows by realloc). Inline arguments
 * with escapes are unescaped in place: an escape is always longer than the byte it stands
 * for, so each argument's bytes are rewritten inside its own line.
 *
 * Resumable: the caller keeps unconsumed bytes and calls again with more; the parser keeps
 * its position, so each byte of a header line is looked at once and bulk data not at all.
 *
 * Ownership: a parser owns its argument table (stoa_alloc); free it with
 * stoa_resp_parser_free. A request borrows the parser's table and the caller's bytes: valid
 * until the next stoa_resp_parse or stoa_resp_parser_free, and while the bytes stay unconsumed.
 * A writer borrows its buffer.
 */
#ifndef STOA_PROTO_RESP_H
#define STOA_PROTO_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/command.h"
#include "engine/reply.h"
#include "util/buf.h"
#include "util/limits.h"

/* ---- parser ---- */

/* One argument: length bytes at data[offset], data being the bytes the request was parsed
 * from (the data argument of the stoa_resp_parse call that returned it). */
struct stoa_resp_argument {
    size_t offset;
    size_t length;
};

struct stoa_resp_request {
    size_t argument_count;                      /* at least 1 */
    const struct stoa_resp_argument *arguments; /* borrowed from the parser */
    bool is_inline;                             /* came as an inline line, not multibulk */
};

enum stoa_resp_parser_state {
    STOA_RESP_STATE_START,       /* before the first byte of a request */
    STOA_RESP_STATE_COUNT,       /* in "*<n>\r\n" */
    STOA_RESP_STATE_BULK_LENGTH, /* in "$<length>\r\n" */
    STOA_RESP_STATE_BULK_DATA,   /* waiting for <bytes>\r\n */
    STOA_RESP_STATE_INLINE,      /* in an inline line */
    STOA_RESP_STATE_FAILED,      /* a protocol error was returned; every call returns it */
};

struct stoa_resp_parser {
    /* Set by the caller while the client has not authenticated: requests may then announce
     * at most STOA_RESP_UNAUTHENTICATED_ARGUMENTS_MAX arguments and bulks of at most
     * STOA_RESP_UNAUTHENTICATED_BULK_BYTES_MAX bytes, as in Redis. */
    bool unauthenticated;
    /* After an error return: the reply line, NUL-terminated, without the leading '-' and the
     * CRLF ("ERR Protocol error: invalid bulk length"). May hold CR or LF bytes the writer
     * replaces. */
    char error[STOA_RESP_ERROR_BYTES_MAX];
    /* Bytes looked at one by one since init (header and inline lines; bulk data is never
     * looked at). Tests read it to show that parsing is linear in the input. */
    uint64_t inspected_bytes;

    /* Private. Positions are relative to the start of the request being parsed. */
    enum stoa_resp_parser_state state;
    size_t position;       /* first byte not yet parsed */
    size_t scan;           /* where the search for the current line's end resumes */
    size_t arguments_left; /* multibulk: bulks announced and not yet complete */
    size_t bulk_length;    /* in STOA_RESP_STATE_BULK_DATA */
    struct stoa_resp_argument *arguments;
    size_t argument_count;
    size_t argument_capacity;
};

void stoa_resp_parser_init(struct stoa_resp_parser *parser);

/* Frees the argument table; the parser is as after init (unauthenticated is kept). */
void stoa_resp_parser_free(struct stoa_resp_parser *parser);

/* Parses the length bytes at data: the bytes the caller holds that no earlier call has
 * reported as used, the same bytes as the previous call plus any that arrived since.
 * data may be rewritten in place (inline escapes), only inside a complete inline line.
 * Returns one of:
 *   0: a request is complete and in *request; *used is the bytes it took (with any skipped
 *      empty requests before it). Its arguments point into data[0 .. *used); drop the used
 *      bytes once the request is served.
 *   STOA_ERR_AGAIN: no complete request yet. *used is the bytes of empty requests skipped
 *      (usually 0); drop them before the next call, keep the rest.
 *   STOA_ERR_MALFORMED: a protocol error; parser->error holds Redis's reply text. Send it and
 *      close the connection: the stream cannot be resynchronized. (STOA_ERR_NOMEM is the same
 *      for a failed growth of the argument table.) Every later call returns STOA_ERR_MALFORMED
 *      and leaves the text as it is.
 * *request and *used are untouched on error. */
int stoa_resp_parse(struct stoa_resp_parser *parser, uint8_t *data, size_t length,
                    struct stoa_resp_request *request, size_t *used);

/* Fills arguments[0 .. request->argument_count) with pointers into data (the bytes the
 * request was parsed from, wherever they are now): the shape the command core takes. */
void stoa_resp_request_arguments(const struct stoa_resp_request *request, const uint8_t *data,
                                 struct stoa_command_argument *arguments);

/* Called for each word of a line split by stoa_resp_split_words: length bytes at
 * data[offset]. Returns 0, or an error that stops the split and is returned by it. */
typedef int (*stoa_resp_word_fn)(void *context, size_t offset, size_t length);

/* Splits the length bytes at data into words exactly as Redis's sdssplitargs does (inline
 * requests here, and redis-cli's prompt in stoa cli): words separated by blanks, double-quoted
 * parts with \n \r \t \b \a \xHH and backslash escapes, single-quoted parts with \'; a
 * closing quote must be followed by a blank or the end. Escapes are undone in place: each
 * word is rewritten inside its own bytes. Returns 0, STOA_ERR_MALFORMED for unbalanced
 * quotes, or on_word's error. */
int stoa_resp_split_words(uint8_t *data, size_t length, stoa_resp_word_fn on_word, void *context);

/* ---- writer ---- */

/* RESP2 is what every client speaks first; HELLO 3 switches a connection to RESP3. */
#define STOA_RESP_VERSION_2 2
#define STOA_RESP_VERSION_3 3

/* Appends replies to buf (borrowed). writer->reply is the engine's interface. The first
 * append the buffer refuses (its capacity_max, the client's output-buffer limit, or memory)
 * is kept in error, and nothing more is written: the server checks error after a command and
 * closes the client. Each element is written whole or not at all. No allocation beyond the
 * buffer's growth. */
struct stoa_resp_writer {
    struct stoa_reply reply;
    struct stoa_buf *buf;
    int version; /* STOA_RESP_VERSION_2 or _3 */
    int error;   /* 0, or the sticky STOA_ERR_TOO_LARGE / STOA_ERR_NOMEM */
};

void stoa_resp_writer_init(struct stoa_resp_writer *writer, struct stoa_buf *buf, int version);

/* Switches the protocol version (HELLO); takes effect from the next element. */
void stoa_resp_writer_set_version(struct stoa_resp_writer *writer, int version);

/* The elements of struct stoa_reply, callable directly. Status and error texts are written
 * with any CR or LF replaced by a space, so a text can never break the framing. */
void stoa_resp_write_status(struct stoa_resp_writer *writer, const char *text);
void stoa_resp_write_error(struct stoa_resp_writer *writer, const char *text);
void stoa_resp_write_integer(struct stoa_resp_writer *writer, int64_t value);
void stoa_resp_write_bulk(struct stoa_resp_writer *writer, const uint8_t *data, size_t length);
void stoa_resp_write_null_bulk(struct stoa_resp_writer *writer); /* RESP3: "_" */
void stoa_resp_write_array(struct stoa_resp_writer *writer, size_t count);
void stoa_resp_write_null_array(struct stoa_resp_writer *writer); /* RESP3: "_" */

/* Beyond struct stoa_reply. In RESP2 each falls back as Redis's does: a map is a flat array
 * of 2 * count elements, a set an array, a double and a verbatim string are bulk strings, a
 * boolean is the integer 1 or 0, null is a null bulk. */
void stoa_resp_write_map(struct stoa_resp_writer *writer, size_t count); /* count pairs */
void stoa_resp_write_set(struct stoa_resp_writer *writer, size_t count);
/* Formatted as Redis's d2string: "nan", "inf", "-inf", "0", "-0", integral values as
 * integers, others as the shortest text that reads back as the same double, with an exponent
 * ("1.5e-7", "1e+21") where fpconv_dtoa uses one. */
void stoa_resp_write_double(struct stoa_resp_writer *writer, double value);
/* format is three characters, "txt" or "mkd". */
void stoa_resp_write_verbatim(struct stoa_resp_writer *writer, const char *format,
                              const uint8_t *data, size_t length);
void stoa_resp_write_boolean(struct stoa_resp_writer *writer, bool value);
void stoa_resp_write_null(struct stoa_resp_writer *writer);

/* Writes value's text as stoa_resp_write_double does into text and returns its length
 * (without a NUL; at most STOA_RESP_DOUBLE_TEXT_BYTES_MAX). */
size_t stoa_resp_format_double(double value, char text[STOA_RESP_DOUBLE_TEXT_BYTES_MAX]);

#endif
