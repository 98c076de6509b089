/*
 * bin: the subcommands of the stoa executable (internal to src/bin).
 *
 * Each command takes the arguments after its own name and returns the process exit code:
 * 0 success, 1 a failure while running, 2 a usage or configuration error (stoa refuses to
 * start and says why on standard error).
 */
#ifndef STOA_BIN_BIN_H
#define STOA_BIN_BIN_H

#include <stdbool.h>

enum stoa_bin_exit {
    STOA_BIN_EXIT_OK = 0,
    STOA_BIN_EXIT_FAILURE = 1,
    STOA_BIN_EXIT_USAGE = 2,
};

int stoa_bin_start(int argc, char **argv);

/* `stoa setup --redis-uri=URI` (setup_redis.c): multiverse9's settings as a config file. */
int stoa_bin_setup_redis(int argc, char **argv);

/* `stoa start --join HOST:PORT` (join.c): asks the member at that RESP address for the
 * group's members, has the group add this node (cluster.self, listen.host:listen.peer.port)
 * unless it is a member already, and sets cluster.members to the group's list. *joining is
 * true when this node was just added (it starts as a learner). Returns an exit code; errors
 * are printed. */
struct stoa_config;
int stoa_bin_join(struct stoa_config *config, const char *address, bool *joining);

/* Prints the usage of command (or the overview if command is NULL) to standard output. */
void stoa_bin_usage(const char *command);

#endif
