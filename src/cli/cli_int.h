/*
 * cli_int: what cli.c and repl.c share (internal to src/cli).
 */
#ifndef STOA_CLI_CLI_INT_H
#define STOA_CLI_CLI_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/alias.h"
#include "cli/connection.h"
#include "cli/print.h"
#include "cli/split.h"
#include "util/buf.h"

/* Exit statuses of stoa cli (the same numbers as src/bin's). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAILURE 1
#define CLI_EXIT_USAGE 2

/* Printed text is collected in a buffer this large at most before it is written out; a
 * quoted reply may take four bytes per byte of the reply. */
#define CLI_OUTPUT_BYTES_MAX (4 * STOA_CLI_REPLY_BYTES_MAX + 1024)

struct cli {
    const char *host;
    uint16_t port;
    const char *password; /* NULL without -a */
    bool resp3;
    enum stoa_cli_print_mode mode;
    bool interactive; /* print round-trip times; reconnect once on a dropped connection */
    struct stoa_cli_connection connection;
    struct stoa_buf output;
};

/* Opens the connection and runs AUTH and HELLO 3 as the options ask. Prints why on standard
 * error if it fails. Returns 0 or an error. */
int cli_connect(struct cli *cli);

/* Runs one command typed as words (count >= 1): an alias, a cli word, or a command for the
 * server, printing its result. *quit is set for quit and exit. Returns 0, or 1 if the reply
 * was an error or the command could not be run. */
int cli_run(struct cli *cli, const struct stoa_cli_word *words, size_t count, bool *quit);

/* Writes what was printed into cli->output to standard output and empties it. */
void cli_flush(struct cli *cli);

/* The interactive loop (repl.c). Returns the exit status. */
int cli_repl(struct cli *cli);

#endif
