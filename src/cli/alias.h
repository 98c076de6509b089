/*
 * alias: what a typed command means to stoa cli before it goes to the server.
 *
 * Nomos's REPL words work where they make sense: put k v is SET k v, status is INFO, log is
 * GROUP LOG (the group's log on this member; log FROM 5 COUNT 3 passes the options on, and a
 * single node answers that it is not a group member), kv walks the keyspace with SCAN
 * and prints key=value for strings; get and ping are already the Redis commands of the same
 * name. help lists commands, quit and exit leave. Words are matched without regard to case;
 * everything else is sent as typed.
 *
 * Ownership: the output words borrow the input words' bytes or static text.
 */
#ifndef STOA_CLI_ALIAS_H
#define STOA_CLI_ALIAS_H

#include <stddef.h>

#include "cli/split.h"

enum stoa_cli_action {
    STOA_CLI_ACTION_SEND, /* send the output words as a command */
    STOA_CLI_ACTION_KV,   /* walk the keyspace and print key=value */
    STOA_CLI_ACTION_HELP, /* list commands, or describe the one named after help */
    STOA_CLI_ACTION_QUIT, /* leave the client */
};

/* Translates words[0 .. count) (count >= 1) into *action and, for STOA_CLI_ACTION_SEND and
 * _HELP, the words in out[0 .. *out_count). out has room for count + 1 words. */
void stoa_cli_alias(const struct stoa_cli_word *words, size_t count, struct stoa_cli_word *out,
                    size_t *out_count, enum stoa_cli_action *action);

#endif
