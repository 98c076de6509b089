/* The interactive loop of stoa cli: libedit's line editing and history, redis-cli's quoting,
 * one command per line. */
#include <histedit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli_int.h"
#include "util/alloc.h"
#include "util/err.h"

/* "<host>:<port>> " with the longest host a prompt shows whole. */
#define PROMPT_BYTES 300
/* "$HOME/.stoa_history". */
#define HISTORY_PATH_BYTES 4096

struct repl {
    struct cli *cli;
    char prompt[PROMPT_BYTES];
    char history_path[HISTORY_PATH_BYTES]; /* empty: no history file */
    EditLine *editline;
    History *history;
};

/* libedit asks for the prompt before each line: it shows whether the client is connected. */
static char *prompt_of(EditLine *editline) {
    void *data = NULL;
    el_get(editline, EL_CLIENTDATA, &data);
    struct repl *repl = data;
    if (stoa_cli_connection_is_open(&repl->cli->connection)) {
        snprintf(repl->prompt, sizeof(repl->prompt), "%s:%u> ", repl->cli->host, repl->cli->port);
    } else {
        snprintf(repl->prompt, sizeof(repl->prompt), "not connected> ");
    }
    return repl->prompt;
}

/* History lives in ~/.stoa_history when standard input is a terminal (a script piped in is
 * not history) and HOME is set. */
static void find_history_path(struct repl *repl) {
    repl->history_path[0] = '\0';
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0' || !isatty(STDIN_FILENO)) {
        return;
    }
    int length = snprintf(repl->history_path, sizeof(repl->history_path), "%s/.stoa_history", home);
    if (length < 0 || (size_t)length >= sizeof(repl->history_path)) {
        repl->history_path[0] = '\0';
    }
}

static int repl_open(struct repl *repl) {
    repl->editline = el_init("stoa", stdin, stdout, stderr);
    repl->history = history_init();
    if (repl->editline == NULL || repl->history == NULL) {
        return STOA_ERR_NOMEM;
    }
    HistEvent event;
    history(repl->history, &event, H_SETSIZE, STOA_CLI_HISTORY_LINES_MAX);
    history(repl->history, &event, H_SETUNIQUE, 1);
    el_set(repl->editline, EL_CLIENTDATA, repl);
    el_set(repl->editline, EL_EDITOR, "emacs");
    el_set(repl->editline, EL_SIGNAL, 1);
    el_set(repl->editline, EL_HIST, history, repl->history);
    el_set(repl->editline, EL_PROMPT, prompt_of);
    find_history_path(repl);
    if (repl->history_path[0] != '\0') {
        history(repl->history, &event, H_LOAD, repl->history_path); /* absent the first time */
    }
    return STOA_OK;
}

static void repl_close(struct repl *repl) {
    if (repl->history != NULL) {
        history_end(repl->history);
    }
    if (repl->editline != NULL) {
        el_end(repl->editline);
    }
}

/* AUTH and HELLO (which may carry AUTH) are not kept in the history file: they hold a
 * password, as redis-cli also leaves them out. */
static bool is_secret(const struct stoa_cli_words *words) {
    const struct stoa_cli_word *name = &words->words[0];
    return (name->length == 4 && strncasecmp((const char *)name->data, "auth", 4) == 0) ||
           (name->length == 5 && strncasecmp((const char *)name->data, "hello", 5) == 0);
}

/* Adds a line to the history and saves the file at once, so a killed client loses nothing;
 * the file never holds more than STOA_CLI_HISTORY_LINES_MAX lines. */
static void remember(struct repl *repl, const char *line) {
    HistEvent event;
    history(repl->history, &event, H_ENTER, line);
    if (repl->history_path[0] != '\0') {
        history(repl->history, &event, H_SAVE, repl->history_path);
    }
}

/* Runs one typed line. Returns true when the client should leave. */
static bool run_line(struct repl *repl, struct stoa_cli_words *words, const char *line,
                     size_t length) {
    int result = stoa_cli_split(line, length, words);
    if (result == STOA_ERR_MALFORMED) {
        fputs("Invalid argument(s)\n", stdout);
        return false;
    }
    if (result != STOA_OK) {
        fprintf(stdout, "Error: %s\n", stoa_err_message(result));
        return false;
    }
    if (words->count == 0) {
        return false;
    }
    if (!is_secret(words)) {
        remember(repl, line);
    }
    bool quit = false;
    (void)cli_run(repl->cli, words->words, words->count, &quit);
    return quit;
}

int cli_repl(struct cli *cli) {
    (void)cli_connect(cli); /* on failure the prompt says "not connected" and each command
                               tries again */
    struct repl repl = {.cli = cli};
    if (repl_open(&repl) != STOA_OK) {
        fprintf(stderr, "stoa cli: cannot start line editing\n");
        repl_close(&repl);
        return CLI_EXIT_FAILURE;
    }
    struct stoa_cli_words words;
    stoa_cli_words_init(&words);
    /* Ends at end of input (Ctrl-D) or quit; each round reads one line. */
    for (;;) {
        int count = 0;
        const char *line = el_gets(repl.editline, &count);
        if (line == NULL || count <= 0) {
            break;
        }
        size_t length = (size_t)count;
        while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) {
            length--;
        }
        char *text = stoa_strndup(line, length); /* el_gets's line ends in '\n' */
        if (text == NULL) {
            break;
        }
        bool quit = run_line(&repl, &words, text, length);
        stoa_free(text);
        if (quit) {
            break;
        }
    }
    stoa_cli_words_free(&words);
    repl_close(&repl);
    return CLI_EXIT_OK;
}
