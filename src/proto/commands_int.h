/*
 * commands_int: what the files of the command core share (commands.c has the table and the
 * checks, commands_parse.c the number parsers and output helpers, and one file per family
 * the translations: commands_string.c, commands_keys.c, commands_list.c, commands_server.c,
 * commands_object.c, commands_session.c).
 * No other module includes this file.
 */
#ifndef STOA_PROTO_COMMANDS_INT_H
#define STOA_PROTO_COMMANDS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/commands.h"

/* Redis's error lines that several translations reply. */
#define COMMANDS_TEXT_SYNTAX "ERR syntax error"
#define COMMANDS_TEXT_NOT_INTEGER "ERR value is not an integer or out of range"
#define COMMANDS_TEXT_POSITIVE "ERR value is out of range, must be positive"
#define COMMANDS_TEXT_NOT_FLOAT "ERR value is not a valid float"
#define COMMANDS_TEXT_NOMEM "ERR out of memory"

/* One translation in progress. */
struct commands_call {
    const struct stoa_commands_spec *spec;
    const struct stoa_command_argument *argv; /* borrowed: the request */
    size_t argc;
    int64_t now_ms;
    uint64_t random;
    struct stoa_commands_output *output;
};

/* A translation: fills call->output and returns 0, or fails through commands_fail. */
typedef int (*commands_translate_fn)(struct commands_call *call);

/* ---- output helpers (commands_parse.c) ---- */

/* Starts the result: kind and opcode, no arguments yet. */
void commands_begin(struct commands_call *call, enum stoa_commands_kind kind, uint32_t opcode);

/* Appends an argument borrowing data. The array was sized for the request beforehand
 * (stoa_commands_translate reserves argc + COMMANDS_ARGUMENTS_EXTRA), so this cannot fail. */
void commands_push(struct commands_call *call, const uint8_t *data, size_t length);
void commands_push_argv(struct commands_call *call, size_t index);
void commands_push_int64(struct commands_call *call, int64_t value);
void commands_push_flags(struct commands_call *call, uint8_t flags);
void commands_push_double(struct commands_call *call, double value);

/* Arguments a translation adds beyond the request's words (LPOS and SCAN add the most). */
#define COMMANDS_ARGUMENTS_EXTRA 4

/* Refuses the request: kind ERROR, code and text (a full Redis error line). Returns code. */
int commands_fail(struct commands_call *call, int code, const char *text);

/* As commands_fail with a printf format. CR and LF in the result become spaces, as Redis
 * does, so echoed client bytes cannot break a reply line; the line is cut to fit. */
int commands_failf(struct commands_call *call, int code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats into output directly (stoa_commands_find and stoa_commands_check use it). */
int commands_output_fail(struct stoa_commands_output *output, int code, const char *text);

/* Translates the words argv[first ..] of call as a request for spec (an inner command, as
 * SESSION WRITE holds one): checks spec's arity against them (Redis's error for spec), then
 * runs spec's translation into call->output. Returns its result. */
int commands_translate_inner(struct commands_call *call, const struct stoa_commands_spec *spec,
                             size_t first);

/* ---- parsing helpers (commands_parse.c) ---- */

/* Whether argument is word, ignoring ASCII case (word is lower case). */
bool commands_word_is(const struct stoa_command_argument *argument, const char *word);

/* Parses argv[index] as an int64 (string2ll). On failure replies text (NULL: "ERR value is
 * not an integer or out of range") and returns STOA_ERR_INVALID. */
int commands_int64(struct commands_call *call, size_t index, const char *text, int64_t *value);

/* How many bytes of an argument C's "%s" would print: up to the first NUL, as Redis prints
 * its arguments, and at most max. */
int commands_quote_length(const struct stoa_command_argument *argument, size_t max);

/* The argument's bytes for "%.*s" with commands_quote_length ("" for an empty argument, whose
 * data may be NULL). */
const char *commands_quote_text(const struct stoa_command_argument *argument);

/* ---- translations, one per command or shape (commands_string.c, commands_keys.c,
 * commands_list.c, commands_server.c) ---- */

int commands_set(struct commands_call *call);
int commands_setnx(struct commands_call *call);
int commands_setex(struct commands_call *call);
int commands_getset(struct commands_call *call);
int commands_getex(struct commands_call *call);
int commands_mset(struct commands_call *call);
int commands_append(struct commands_call *call);
int commands_setrange(struct commands_call *call);
int commands_incr(struct commands_call *call);
int commands_incrby(struct commands_call *call);
int commands_incrbyfloat(struct commands_call *call);

int commands_key_read(struct commands_call *call);
int commands_key_write(struct commands_call *call);
int commands_multi_read(struct commands_call *call);
int commands_range_read(struct commands_call *call);
int commands_del(struct commands_call *call);
int commands_rename(struct commands_call *call);
int commands_keys(struct commands_call *call);
int commands_scan(struct commands_call *call);
int commands_randomkey(struct commands_call *call);
int commands_dbsize(struct commands_call *call);
int commands_expire(struct commands_call *call);
int commands_flushall(struct commands_call *call);

int commands_push_values(struct commands_call *call);
int commands_pop(struct commands_call *call);
int commands_lindex(struct commands_call *call);
int commands_lset(struct commands_call *call);
int commands_linsert(struct commands_call *call);
int commands_lrem(struct commands_call *call);
int commands_ltrim(struct commands_call *call);
int commands_lmove(struct commands_call *call);
int commands_lpos(struct commands_call *call);
int commands_blocking_pop(struct commands_call *call);
int commands_blmove(struct commands_call *call);

int commands_server(struct commands_call *call);
int commands_ping(struct commands_call *call);
int commands_hello(struct commands_call *call);
int commands_auth(struct commands_call *call);
int commands_select(struct commands_call *call);
int commands_client_setname(struct commands_call *call);
int commands_bgsave(struct commands_call *call);
int commands_shutdown(struct commands_call *call);

/* Client sessions (commands_session.c): SESSION REGISTER and SESSION WRITE. */
int commands_session_register(struct commands_call *call);
int commands_session_write(struct commands_call *call);

/* Nomad's GameObjects (commands_object.c): OBJPUT, OBJUPDATE, OBJDELETE, OBJGET. */
int commands_object(struct commands_call *call);

#endif
