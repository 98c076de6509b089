/* The stoa executable: picks a subcommand and runs it. */
#include <stdio.h>
#include <string.h>

#include "bin/bin.h"
#include "cli/cli.h"
#include "util/alloc.h"
#include "util/config.h"
#include "util/err.h"

struct command {
    const char *name;
    const char *summary;
    const char *usage;
    int (*run)(int argc, char **argv);
};

static int command_setup(int argc, char **argv);
static int command_version(int argc, char **argv);
static int command_help(int argc, char **argv);

static const struct command commands[] = {
    {"start", "start a node and run until SIGINT or SIGTERM",
     "stoa start [--type peer|super-peer] [--config FILE] [--data-dir DIR]\n"
     "           [--check-config] [--threads N] [--join HOST:PORT]\n"
     "           [--<key>=<value> | --<key> <value> ...]\n"
     "\n"
     "  -t, --type TYPE    peer (default) or super-peer; the same as --node.type\n"
     "  -c, --config FILE  a YAML config file (`stoa setup` writes a complete one)\n"
     "  --data-dir DIR     where the node keeps its data; the same as --data.dir\n"
     "  --check-config     print the effective configuration as YAML and exit\n"
     "  --threads N        multiverse9's worker threads (multiverse9.threads): checked and\n"
     "                     logged; one event loop serves every connection\n"
     "  --join HOST:PORT   join the replica group of the member whose RESP port this is:\n"
     "                     it adds this node (cluster.self, listen.peer.port) through its\n"
     "                     log; cluster.members then comes from the group (docs/replication.md)\n"
     "  --<key>=<value>    set any config key, e.g. --node.storage.storageMode=safe\n"
     "\n"
     "Precedence: flags > environment (NODE_MAXPEERS, STOA_NODE_MAXPEERS) > file >\n"
     "defaults. Every key is listed in docs/config.md and in the output of `stoa setup`.\n",
     stoa_bin_start},
    {"cli", "the client: one command, or an interactive prompt",
     "stoa cli [-h HOST] [-p PORT] [-a PASSWORD] [-3] [COMMAND ARGS...]\n"
     "\n"
     "  -h HOST      the node's address (default 127.0.0.1)\n"
     "  -p PORT      its RESP port (default: listen.resp.port's default, 7379)\n"
     "  -a PASSWORD  send AUTH PASSWORD after connecting (resp.password)\n"
     "  -3           speak RESP3 (HELLO 3)\n"
     "\n"
     "With a command, sends it, prints the reply (typed on a terminal, raw values otherwise)\n"
     "and exits 0, or 1 on an error reply or a connection failure. Without one, an\n"
     "interactive prompt with history in ~/.stoa_history; the words put, get, status, kv,\n"
     "log, ping, help and quit work there too. docs/cli.md has the details.\n",
     stoa_cli_main},
    {"setup", "print a complete, commented default config file",
     "stoa setup [--redis-uri=URI]\n\nPrints every config key with its default and meaning,\n"
     "as YAML that `stoa start --config` accepts. Save it: stoa setup > stoa.yaml\n"
     "\n"
     "  --redis-uri=URI  as multiverse9's setup: keep the data in the Redis at URI\n"
     "                   (data.backend redis, data.redisUri URI) and name the node\n"
     "                   multiverse9_<ULID> (multiverse9.name). The URI is checked, not\n"
     "                   connected to.\n",
     command_setup},
    {"version", "print the version", "stoa version\n", command_version},
    {"help", "show help for a command", "stoa help [COMMAND]\n", command_help},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name) {
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

void stoa_bin_usage(const char *name) {
    const struct command *command = name != NULL ? find_command(name) : NULL;
    if (command != NULL) {
        fputs("usage: ", stdout);
        fputs(command->usage, stdout);
        return;
    }
    printf("stoa %s: a distributed key-value and object store\n\n", STOA_VERSION);
    printf("usage: stoa COMMAND [ARGUMENTS]\n\ncommands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        printf("  %-9s %s\n", commands[i].name, commands[i].summary);
    }
    printf("\nstoa help COMMAND shows a command's arguments.\n");
}

static int expect_no_arguments(const char *name, int argc, char **argv) {
    if (argc > 0) {
        fprintf(stderr, "stoa %s: unexpected argument '%s'\n", name, argv[0]);
        return STOA_BIN_EXIT_USAGE;
    }
    return STOA_BIN_EXIT_OK;
}

static int command_setup(int argc, char **argv) {
    if (argc > 0 && strncmp(argv[0], "--redis-uri", 11) == 0) {
        return stoa_bin_setup_redis(argc, argv);
    }
    int status = expect_no_arguments("setup", argc, argv);
    if (status != STOA_BIN_EXIT_OK) {
        return status;
    }
    char *text = stoa_alloc(STOA_CONFIG_FILE_BYTES_MAX);
    if (text == NULL) {
        fprintf(stderr, "stoa setup: %s\n", stoa_err_message(STOA_ERR_NOMEM));
        return STOA_BIN_EXIT_FAILURE;
    }
    size_t length = 0;
    int result = stoa_config_write_default(text, STOA_CONFIG_FILE_BYTES_MAX, &length);
    if (result == STOA_OK) {
        fwrite(text, 1, length, stdout);
    } else {
        fprintf(stderr, "stoa setup: %s\n", stoa_err_message(result));
    }
    stoa_free(text);
    return result == STOA_OK ? STOA_BIN_EXIT_OK : STOA_BIN_EXIT_FAILURE;
}

static int command_version(int argc, char **argv) {
    int status = expect_no_arguments("version", argc, argv);
    if (status == STOA_BIN_EXIT_OK) {
        printf("stoa %s\n", STOA_VERSION);
    }
    return status;
}

static int command_help(int argc, char **argv) {
    if (argc > 1) {
        return expect_no_arguments("help", argc - 1, argv + 1);
    }
    if (argc == 1 && find_command(argv[0]) == NULL) {
        fprintf(stderr, "stoa help: unknown command '%s'\n", argv[0]);
        return STOA_BIN_EXIT_USAGE;
    }
    stoa_bin_usage(argc == 1 ? argv[0] : NULL);
    return STOA_BIN_EXIT_OK;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        stoa_bin_usage(NULL);
        return STOA_BIN_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        stoa_bin_usage(NULL);
        return STOA_BIN_EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        return command_version(0, NULL);
    }
    const struct command *command = find_command(name);
    if (command == NULL) {
        fprintf(stderr, "stoa: unknown command '%s'\n\n", name);
        stoa_bin_usage(NULL);
        return STOA_BIN_EXIT_USAGE;
    }
    return command->run(argc - 2, argv + 2);
}
