/*
 * bin: the subcommands of the stoa executable (internal to src/bin).
 *
 * Each command takes the arguments after its own name and returns the process exit code:
 * 0 success, 1 a failure while running, 2 a usage or configuration error (stoa refuses to
 * start and says why on standard error).
 */
#ifndef STOA_BIN_BIN_H
#define STOA_BIN_BIN_H

enum stoa_bin_exit {
    STOA_BIN_EXIT_OK = 0,
    STOA_BIN_EXIT_FAILURE = 1,
    STOA_BIN_EXIT_USAGE = 2,
};

int stoa_bin_start(int argc, char **argv);

/* `stoa setup --redis-uri=URI` (setup_redis.c): multiverse9's settings as a config file. */
int stoa_bin_setup_redis(int argc, char **argv);

/* Prints the usage of command (or the overview if command is NULL) to standard output. */
void stoa_bin_usage(const char *command);

#endif
