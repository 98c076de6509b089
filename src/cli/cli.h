/*
 * cli: `stoa cli`, a redis-cli-like client for a node's RESP port (docs/cli.md).
 *
 *   stoa cli [-h HOST] [-p PORT] [-a PASSWORD] [-3] [COMMAND ARGS...]
 *
 * With a command it runs once: sends it, prints the reply (typed when standard output is a
 * terminal, raw values otherwise, as redis-cli does) and exits 0, or 1 on an error reply or
 * when the node cannot be reached. Without one it is interactive: line editing and history
 * (libedit, ~/.stoa_history), redis-cli's quoting, typed replies and each command's
 * round-trip time, Nomos's REPL words as aliases (cli/alias.h).
 *
 * The modules: split (a typed line into words), alias (what the words mean), print (a reply
 * as redis-cli prints it), connection (the socket), cli (options, one-shot mode, the words
 * that are not plain commands) and repl (the interactive loop).
 */
#ifndef STOA_CLI_CLI_H
#define STOA_CLI_CLI_H

/* Runs `stoa cli` with the arguments after "cli" and returns the exit status: 0, 1 (an error
 * reply or a connection failure) or 2 (a usage error). */
int stoa_cli_main(int argc, char **argv);

#endif
