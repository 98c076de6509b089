/*
 * print: a reply as redis-cli prints it, so that people and scripts used to redis-cli read
 * stoa cli's output without surprises.
 *
 * TTY mode (standard output is a terminal): typed and quoted. Status texts as they are
 * ("OK"), "(error) ERR ...", "(integer) 5", bulk strings quoted with escapes ("\"a\\nb\""),
 * "(nil)", "(double) 3.5", "(true)", "(big number) 123", verbatim strings as they are;
 * aggregates numbered "1) ", sets "1~ ", maps "1# key => value", nested ones indented under
 * their number, empty ones "(empty array)", "(empty hash)", "(empty set)", "(empty push)".
 *
 * Raw mode (standard output is not a terminal): just the values, one per line. Aggregates
 * print their elements on separate lines, a map's key and value separated by a space; nil
 * prints an empty line, an error its text followed by an empty line, a boolean "(true)".
 *
 * Both are redis-cli 7's cliFormatReplyTTY and cliFormatReplyRaw byte for byte, walked with
 * an explicit stack instead of recursion (the nesting is bounded by the reply parser).
 *
 * Ownership: borrows everything; appends to out.
 */
#ifndef STOA_CLI_PRINT_H
#define STOA_CLI_PRINT_H

#include <stdint.h>

#include "proto/resp_reply.h"
#include "util/buf.h"

enum stoa_cli_print_mode {
    STOA_CLI_PRINT_TTY,
    STOA_CLI_PRINT_RAW,
};

/* Appends reply (parsed from data) to out as mode prints it, ending in a newline. Returns 0,
 * or the first error out returned (STOA_ERR_TOO_LARGE, STOA_ERR_NOMEM); out then holds a
 * prefix of the text. */
int stoa_cli_print_reply(struct stoa_buf *out, const struct stoa_resp_reply *reply,
                         const uint8_t *data, enum stoa_cli_print_mode mode);

#endif
