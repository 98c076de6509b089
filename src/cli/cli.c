#include "cli/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/alloc.h"
#include "util/config.h"
#include "util/err.h"

#define CLI_STRINGIFY(x) #x
#define CLI_TEXT(x) CLI_STRINGIFY(x)

static const char USAGE[] =
    "usage: stoa cli [-h HOST] [-p PORT] [-a PASSWORD] [-3] [COMMAND ARGS...]\n"
    "       stoa help cli   shows the whole usage\n";

/* The cli words and the commands help lists when the server cannot be asked. */
struct help_entry {
    const char *name;
    const char *summary;
};

static const struct help_entry CLI_WORDS[] = {
    {"put KEY VALUE", "SET KEY VALUE (Nomos's word)"},
    {"get KEY", "GET KEY"},
    {"status", "INFO: what the node is doing"},
    {"log", "GROUP LOG [FROM slot] [COUNT n]: the replica group's log on this member"},
    {"kv", "every string key as key=value (SCAN, then MGET)"},
    {"ping", "PING"},
    {"help [COMMAND]", "this list, or one command's summary"},
    {"quit, exit", "leave"},
};

static const struct help_entry BUILT_IN_COMMANDS[] = {
    {"PING", "Ping the server"},
    {"ECHO", "Return the given string"},
    {"SET", "Set the string value of a key (EX PX EXAT PXAT NX XX KEEPTTL GET)"},
    {"GET", "Get the value of a key"},
    {"DEL", "Delete keys"},
    {"EXISTS", "Determine how many of the keys exist"},
    {"EXPIRE", "Set a key's time to live in seconds"},
    {"TTL", "Get the time to live of a key in seconds"},
    {"INCR", "Increment the integer value of a key by one"},
    {"INCRBY", "Increment the integer value of a key by a number"},
    {"MGET", "Get the values of several keys"},
    {"MSET", "Set several keys to several values"},
    {"LPUSH", "Prepend elements to a list"},
    {"RPUSH", "Append elements to a list"},
    {"LPOP", "Remove and get the first elements of a list"},
    {"RPOP", "Remove and get the last elements of a list"},
    {"LRANGE", "Get a range of elements of a list"},
    {"BLPOP", "Pop the first element of a list, or block until one is there"},
    {"KEYS", "Find the keys matching a pattern"},
    {"SCAN", "Iterate over the keys"},
    {"DBSIZE", "Return the number of keys"},
    {"INFO", "Information and statistics about the node"},
    {"FLUSHDB", "Remove every key"},
};

#define COUNT_OF(array) (sizeof(array) / sizeof((array)[0]))

static struct stoa_cli_word word_of(const char *text) {
    return (struct stoa_cli_word){.data = (const uint8_t *)text, .length = strlen(text)};
}

static bool word_is(const struct stoa_resp_reply_element *element, const uint8_t *data,
                    const char *text) {
    size_t length = strlen(text);
    return (element->type == STOA_RESP_REPLY_BULK || element->type == STOA_RESP_REPLY_STATUS) &&
           element->length == length && memcmp(data + element->offset, text, length) == 0;
}

static int64_t monotonic_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void cli_flush(struct cli *cli) {
    if (cli->output.length > 0) {
        fwrite(cli->output.data, 1, cli->output.length, stdout);
    }
    fflush(stdout);
    stoa_buf_reset(&cli->output);
}

static void say(struct cli *cli, const char *text) {
    (void)stoa_buf_append(&cli->output, text, strlen(text));
}

static void say_bytes(struct cli *cli, const uint8_t *data, size_t length) {
    (void)stoa_buf_append(&cli->output, data, length);
}

/* Sends a command during connect (AUTH, HELLO) and says whether the reply was not an error.
 * On a failure to talk at all, *failed is set and the reason printed. */
static bool handshake(struct cli *cli, const struct stoa_cli_word *words, size_t count,
                      const char *what, bool *failed) {
    struct stoa_resp_reply reply;
    const uint8_t *data = NULL;
    int result = stoa_cli_connection_call(&cli->connection, words, count, &reply, &data);
    if (result != STOA_OK) {
        fprintf(stderr, "%s failed: %s\n", what, cli->connection.error);
        *failed = true;
        return false;
    }
    if (reply.elements[0].type != STOA_RESP_REPLY_ERROR) {
        return true;
    }
    fprintf(stderr, "%s failed: %.*s\n", what, (int)reply.elements[0].length,
            (const char *)data + reply.elements[0].offset);
    return false;
}

int cli_connect(struct cli *cli) {
    int result = stoa_cli_connection_open(&cli->connection, cli->host, cli->port);
    if (result != STOA_OK) {
        fprintf(stderr, "%s\n", cli->connection.error);
        return result;
    }
    bool failed = false;
    if (cli->password != NULL) {
        struct stoa_cli_word auth[2] = {word_of("AUTH"), word_of(cli->password)};
        if (!handshake(cli, auth, 2, "AUTH", &failed)) {
            stoa_cli_connection_close(&cli->connection);
            return STOA_ERR_PERMISSION;
        }
    }
    if (cli->resp3) {
        struct stoa_cli_word hello[2] = {word_of("HELLO"), word_of("3")};
        (void)handshake(cli, hello, 2, "HELLO 3", &failed); /* RESP2 goes on working */
    }
    if (failed) {
        stoa_cli_connection_close(&cli->connection);
        return STOA_ERR_CLOSED;
    }
    return STOA_OK;
}

/* Sends a command, connecting first if needed. A connection that turns out to have dropped
 * (the node restarted, an idle timeout) is reconnected and the command sent once more, as
 * redis-cli does. Prints why on standard error if it fails. */
static int call(struct cli *cli, const struct stoa_cli_word *words, size_t count,
                struct stoa_resp_reply *reply, const uint8_t **data) {
    int result = STOA_ERR_CLOSED;
    for (int attempt = 0; attempt < 2; attempt++) {
        bool was_open = stoa_cli_connection_is_open(&cli->connection);
        if (!was_open && cli_connect(cli) != STOA_OK) {
            return STOA_ERR_CLOSED;
        }
        result = stoa_cli_connection_call(&cli->connection, words, count, reply, data);
        if (result == STOA_OK) {
            return STOA_OK;
        }
        bool dropped = result == STOA_ERR_CLOSED || result == STOA_ERR_IO;
        if (!dropped || !was_open) {
            break;
        }
    }
    fprintf(stderr, "Error: %s\n", cli->connection.error);
    return result;
}

static int print_reply(struct cli *cli, const struct stoa_resp_reply *reply, const uint8_t *data) {
    int result = stoa_cli_print_reply(&cli->output, reply, data, cli->mode);
    if (result != STOA_OK) {
        fprintf(stderr, "Error: cannot print the reply: %s\n", stoa_err_message(result));
    }
    return reply->elements[0].type == STOA_RESP_REPLY_ERROR || result != STOA_OK ? CLI_EXIT_FAILURE
                                                                                 : CLI_EXIT_OK;
}

static int run_send(struct cli *cli, const struct stoa_cli_word *words, size_t count) {
    struct stoa_resp_reply reply;
    const uint8_t *data = NULL;
    int64_t start_ns = monotonic_ns();
    if (call(cli, words, count, &reply, &data) != STOA_OK) {
        return CLI_EXIT_FAILURE;
    }
    int64_t elapsed_ns = monotonic_ns() - start_ns;
    int status = print_reply(cli, &reply, data);
    if (cli->interactive && cli->mode == STOA_CLI_PRINT_TTY) {
        char line[64];
        snprintf(line, sizeof(line), "(%.2f ms)\n", (double)elapsed_ns / 1e6);
        say(cli, line);
    }
    return status;
}

/* ---- help ---- */

/* The summary in one COMMAND DOCS entry (a map, or a flat array in RESP2), or NULL. */
static const struct stoa_resp_reply_element *docs_summary(const struct stoa_resp_reply *reply,
                                                          const uint8_t *data, size_t index) {
    const struct stoa_resp_reply_element *docs = &reply->elements[index];
    bool map = docs->type == STOA_RESP_REPLY_MAP;
    if (!map && docs->type != STOA_RESP_REPLY_ARRAY) {
        return NULL;
    }
    size_t children = docs->count * (map ? 2 : 1);
    size_t child = index + 1;
    for (size_t i = 0; i + 1 < children; i += 2) {
        const struct stoa_resp_reply_element *value =
            &reply->elements[child + reply->elements[child].span];
        if (word_is(&reply->elements[child], data, "summary") &&
            value->type == STOA_RESP_REPLY_BULK) {
            return value;
        }
        child += reply->elements[child].span + value->span;
    }
    return NULL;
}

/* "  NAME   summary": server command names upper-cased, as redis-cli shows them. */
static void say_entry(struct cli *cli, const uint8_t *name, size_t name_length,
                      const uint8_t *summary, size_t summary_length, bool upper) {
    char padded[32];
    size_t shown = name_length < sizeof(padded) - 1 ? name_length : sizeof(padded) - 1;
    for (size_t i = 0; i < shown; i++) {
        uint8_t byte = name[i];
        bool lower = byte >= 'a' && byte <= 'z';
        padded[i] = (char)(upper && lower ? byte - 'a' + 'A' : byte);
    }
    padded[shown] = '\0';
    char line[64];
    snprintf(line, sizeof(line), "  %-22s ", padded);
    say(cli, line);
    say_bytes(cli, summary, summary_length);
    say(cli, "\n");
}

/* Prints each "name => docs" pair of a COMMAND DOCS reply. Returns how many it printed. */
static size_t say_docs(struct cli *cli, const struct stoa_resp_reply *reply, const uint8_t *data) {
    const struct stoa_resp_reply_element *top = &reply->elements[0];
    bool map = top->type == STOA_RESP_REPLY_MAP;
    size_t children = top->count * (map ? 2 : 1);
    size_t printed = 0;
    size_t child = 1;
    for (size_t i = 0; i + 1 < children; i += 2) {
        const struct stoa_resp_reply_element *name = &reply->elements[child];
        size_t docs = child + name->span;
        const struct stoa_resp_reply_element *summary = docs_summary(reply, data, docs);
        if (name->type == STOA_RESP_REPLY_BULK && summary != NULL) {
            say_entry(cli, data + name->offset, name->length, data + summary->offset,
                      summary->length, true);
            printed++;
        }
        child = docs + reply->elements[docs].span;
    }
    return printed;
}

static void say_table(struct cli *cli, const struct help_entry *entries, size_t count) {
    for (size_t i = 0; i < count; i++) {
        say_entry(cli, (const uint8_t *)entries[i].name, strlen(entries[i].name),
                  (const uint8_t *)entries[i].summary, strlen(entries[i].summary), false);
    }
}

/* help: COMMAND DOCS from the server, or the built-in list when it cannot answer; then the
 * cli's own words. help NAME...: those commands only. */
static int run_help(struct cli *cli, const struct stoa_cli_word *words, size_t count) {
    struct stoa_cli_word *request = stoa_alloc((count + 1) * sizeof(*request));
    if (request == NULL) {
        fprintf(stderr, "Error: %s\n", stoa_err_message(STOA_ERR_NOMEM));
        return CLI_EXIT_FAILURE;
    }
    request[0] = word_of("COMMAND");
    request[1] = word_of("DOCS");
    for (size_t i = 1; i < count; i++) {
        request[i + 1] = words[i];
    }
    struct stoa_resp_reply reply;
    const uint8_t *data = NULL;
    int result = call(cli, request, count + 1, &reply, &data);
    stoa_free(request);
    bool answered = result == STOA_OK && (reply.elements[0].type == STOA_RESP_REPLY_MAP ||
                                          reply.elements[0].type == STOA_RESP_REPLY_ARRAY);
    if (answered && count > 1) {
        if (say_docs(cli, &reply, data) == 0) {
            say(cli, "(no help for that command)\n");
        }
        return CLI_EXIT_OK;
    }
    say(cli, answered ? "Commands (COMMAND DOCS):\n"
                      : "Commands (built in; the node did not answer):\n");
    if (answered) {
        (void)say_docs(cli, &reply, data);
    } else {
        say_table(cli, BUILT_IN_COMMANDS, COUNT_OF(BUILT_IN_COMMANDS));
    }
    say(cli, "\nstoa cli words:\n");
    say_table(cli, CLI_WORDS, COUNT_OF(CLI_WORDS));
    return CLI_EXIT_OK;
}

/* ---- kv ---- */

/* One SCAN batch, copied out of the reply because the next call reuses its bytes. */
struct batch {
    char cursor[32];
    struct stoa_buf bytes;       /* the keys, one after another */
    struct stoa_cli_word *words; /* "MGET" then the keys */
    size_t key_count;
};

static void batch_free(struct batch *batch) {
    stoa_buf_free(&batch->bytes);
    stoa_free(batch->words);
    batch->words = NULL;
    batch->key_count = 0;
}

/* Whether a SCAN reply is [cursor, [key...]] with a cursor that fits. */
static bool is_scan_reply(const struct stoa_resp_reply *reply, size_t cursor_bytes) {
    const struct stoa_resp_reply_element *elements = reply->elements;
    if (reply->element_count < 3 || elements[0].type != STOA_RESP_REPLY_ARRAY ||
        elements[0].count != 2 || elements[1].type != STOA_RESP_REPLY_BULK ||
        elements[1].length >= cursor_bytes || elements[2].type != STOA_RESP_REPLY_ARRAY) {
        return false;
    }
    for (size_t i = 3; i < reply->element_count; i++) {
        if (elements[i].type != STOA_RESP_REPLY_BULK) {
            return false;
        }
    }
    return elements[2].count == reply->element_count - 3;
}

/* Runs one SCAN round from batch->cursor and copies its keys into the batch. */
static int scan_batch(struct cli *cli, struct batch *batch) {
    struct stoa_cli_word scan[4] = {word_of("SCAN"), word_of(batch->cursor), word_of("COUNT"),
                                    word_of(CLI_TEXT(STOA_CLI_KV_SCAN_COUNT))};
    struct stoa_resp_reply reply;
    const uint8_t *data = NULL;
    if (call(cli, scan, 4, &reply, &data) != STOA_OK) {
        return CLI_EXIT_FAILURE;
    }
    if (!is_scan_reply(&reply, sizeof(batch->cursor))) {
        (void)print_reply(cli, &reply, data);
        say(cli, "(kv: SCAN did not answer [cursor, keys])\n");
        return CLI_EXIT_FAILURE;
    }
    const struct stoa_resp_reply_element *cursor = &reply.elements[1];
    memcpy(batch->cursor, data + cursor->offset, cursor->length);
    batch->cursor[cursor->length] = '\0';
    batch->key_count = reply.element_count - 3;
    batch->words = stoa_alloc((batch->key_count + 1) * sizeof(*batch->words));
    if (batch->words == NULL) {
        return CLI_EXIT_FAILURE;
    }
    for (size_t i = 0; i < batch->key_count; i++) {
        const struct stoa_resp_reply_element *key = &reply.elements[3 + i];
        batch->words[i + 1].length = key->length;
        if (stoa_buf_append(&batch->bytes, data + key->offset, key->length) != STOA_OK) {
            return CLI_EXIT_FAILURE;
        }
    }
    /* The keys' bytes are in place only now: the buffer may have moved while growing. */
    batch->words[0] = word_of("MGET");
    size_t offset = 0;
    for (size_t i = 1; i <= batch->key_count; i++) {
        batch->words[i].data = batch->bytes.data + offset;
        offset += batch->words[i].length;
    }
    return CLI_EXIT_OK;
}

/* Prints "key (type)" for a key MGET found no string for, unless it is gone. */
static int say_type(struct cli *cli, const struct stoa_cli_word *key) {
    struct stoa_cli_word request[2] = {word_of("TYPE"), *key};
    struct stoa_resp_reply reply;
    const uint8_t *data = NULL;
    if (call(cli, request, 2, &reply, &data) != STOA_OK) {
        return CLI_EXIT_FAILURE;
    }
    const struct stoa_resp_reply_element *type = &reply.elements[0];
    if (type->type != STOA_RESP_REPLY_STATUS || word_is(type, data, "none")) {
        return CLI_EXIT_OK;
    }
    say_bytes(cli, key->data, key->length);
    say(cli, " (");
    say_bytes(cli, data + type->offset, type->length);
    say(cli, ")\n");
    return CLI_EXIT_OK;
}

/* MGET of a batch's keys: key=value for each string, then "key (type)" for the others.
 * The types are asked after the values are printed, since each call replaces the MGET
 * reply; missing (key_count entries, borrowed) remembers which keys to ask about. */
static int say_values(struct cli *cli, const struct batch *batch, bool *missing) {
    struct stoa_resp_reply reply;
    const uint8_t *data = NULL;
    if (call(cli, batch->words, batch->key_count + 1, &reply, &data) != STOA_OK) {
        return CLI_EXIT_FAILURE;
    }
    if (reply.elements[0].type != STOA_RESP_REPLY_ARRAY ||
        reply.element_count != batch->key_count + 1) {
        (void)print_reply(cli, &reply, data);
        return CLI_EXIT_FAILURE;
    }
    for (size_t i = 1; i <= batch->key_count; i++) {
        const struct stoa_resp_reply_element *value = &reply.elements[i];
        missing[i - 1] = value->type != STOA_RESP_REPLY_BULK;
        if (missing[i - 1]) {
            continue;
        }
        say_bytes(cli, batch->words[i].data, batch->words[i].length);
        say(cli, "=");
        say_bytes(cli, data + value->offset, value->length);
        say(cli, "\n");
    }
    for (size_t i = 1; i <= batch->key_count; i++) {
        if (missing[i - 1] && say_type(cli, &batch->words[i]) != CLI_EXIT_OK) {
            return CLI_EXIT_FAILURE;
        }
    }
    return CLI_EXIT_OK;
}

/* One round of kv: a SCAN batch and its values. */
static int kv_round(struct cli *cli, struct batch *batch, size_t *key_total) {
    int status = scan_batch(cli, batch);
    if (status == CLI_EXIT_OK && batch->key_count > 0) {
        bool *missing = stoa_calloc(batch->key_count, sizeof(*missing));
        status = missing != NULL ? say_values(cli, batch, missing) : CLI_EXIT_FAILURE;
        stoa_free(missing);
    }
    *key_total += batch->key_count;
    batch_free(batch);
    cli_flush(cli);
    return status;
}

/* kv: every key, walked with SCAN until its cursor comes back to 0. */
static int run_kv(struct cli *cli) {
    struct batch batch = {.cursor = "0"};
    stoa_buf_init(&batch.bytes, STOA_CLI_REPLY_BYTES_MAX);
    size_t key_total = 0;
    for (size_t round = 0; round < STOA_CLI_KV_ROUNDS_MAX; round++) {
        int status = kv_round(cli, &batch, &key_total);
        if (status != CLI_EXIT_OK) {
            return status;
        }
        if (strcmp(batch.cursor, "0") == 0) {
            break;
        }
    }
    if (key_total == 0 && cli->mode == STOA_CLI_PRINT_TTY) {
        say(cli, "(no keys)\n");
    }
    return CLI_EXIT_OK;
}

/* ---- commands and options ---- */

int cli_run(struct cli *cli, const struct stoa_cli_word *words, size_t count, bool *quit) {
    struct stoa_cli_word *translated = stoa_alloc((count + 1) * sizeof(*translated));
    if (translated == NULL) {
        fprintf(stderr, "Error: %s\n", stoa_err_message(STOA_ERR_NOMEM));
        return CLI_EXIT_FAILURE;
    }
    size_t translated_count = 0;
    enum stoa_cli_action action = STOA_CLI_ACTION_SEND;
    stoa_cli_alias(words, count, translated, &translated_count, &action);
    int status = CLI_EXIT_OK;
    switch (action) {
    case STOA_CLI_ACTION_SEND:
        status = run_send(cli, translated, translated_count);
        break;
    case STOA_CLI_ACTION_KV:
        status = run_kv(cli);
        break;
    case STOA_CLI_ACTION_HELP:
        status = run_help(cli, translated, translated_count);
        break;
    case STOA_CLI_ACTION_QUIT:
        *quit = true;
        break;
    }
    stoa_free(translated);
    cli_flush(cli);
    return status;
}

/* The default port is listen.resp.port's default in the config schema, so the client and
 * the node never disagree about it. */
static uint16_t default_port(void) {
    struct stoa_config *config = stoa_alloc(sizeof(*config));
    if (config == NULL) {
        return 0;
    }
    stoa_config_defaults(config);
    uint16_t port = (uint16_t)config->listen_resp_port;
    stoa_free(config);
    return port;
}

static bool parse_port(const char *text, uint16_t *port) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > 65535) {
        return false;
    }
    *port = (uint16_t)value;
    return true;
}

/* Reads the options before the command; *first is the index of the command's first word
 * (argc if there is none). Returns CLI_EXIT_OK or CLI_EXIT_USAGE. */
static int parse_options(struct cli *cli, int argc, char **argv, int *first) {
    int i = 0;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *option = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(option, "--help") == 0) {
            fputs(USAGE, stdout);
            *first = -1;
            return CLI_EXIT_OK;
        }
        if (strcmp(option, "-3") == 0) {
            cli->resp3 = true;
        } else if (strcmp(option, "-h") == 0 && has_value) {
            cli->host = argv[++i];
        } else if (strcmp(option, "-p") == 0 && has_value) {
            if (!parse_port(argv[++i], &cli->port)) {
                fprintf(stderr, "stoa cli: invalid port '%s'\n%s", argv[i], USAGE);
                return CLI_EXIT_USAGE;
            }
        } else if (strcmp(option, "-a") == 0 && has_value) {
            cli->password = argv[++i];
        } else if (strcmp(option, "--") == 0) {
            i++;
            break;
        } else {
            fprintf(stderr, "stoa cli: unknown option or missing value '%s'\n%s", option, USAGE);
            return CLI_EXIT_USAGE;
        }
    }
    *first = i;
    return CLI_EXIT_OK;
}

/* One-shot mode: the command given on the command line. */
static int run_once(struct cli *cli, int argc, char **argv) {
    struct stoa_cli_word *words = stoa_alloc((size_t)argc * sizeof(*words));
    if (words == NULL) {
        fprintf(stderr, "Error: %s\n", stoa_err_message(STOA_ERR_NOMEM));
        return CLI_EXIT_FAILURE;
    }
    for (int i = 0; i < argc; i++) {
        words[i] = word_of(argv[i]);
    }
    bool quit = false;
    int status = CLI_EXIT_FAILURE;
    if (cli_connect(cli) == STOA_OK) {
        status = cli_run(cli, words, (size_t)argc, &quit);
    }
    stoa_free(words);
    return status;
}

int stoa_cli_main(int argc, char **argv) {
    struct cli cli = {.host = "127.0.0.1", .port = default_port()};
    int first = 0;
    int status = parse_options(&cli, argc, argv, &first);
    if (status != CLI_EXIT_OK || first < 0) {
        return status;
    }
    cli.mode = isatty(STDOUT_FILENO) ? STOA_CLI_PRINT_TTY : STOA_CLI_PRINT_RAW;
    cli.interactive = first == argc;
    stoa_cli_connection_init(&cli.connection);
    stoa_buf_init(&cli.output, CLI_OUTPUT_BYTES_MAX);
    if (cli.interactive) {
        status = cli_repl(&cli);
    } else {
        status = run_once(&cli, argc - first, argv + first);
    }
    stoa_cli_connection_close(&cli.connection);
    stoa_buf_free(&cli.output);
    return status;
}
