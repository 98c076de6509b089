#include "cli/alias.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "util/assert.h"

static bool is(const struct stoa_cli_word *word, const char *name) {
    size_t length = strlen(name);
    return word->length == length && strncasecmp((const char *)word->data, name, length) == 0;
}

static struct stoa_cli_word text(const char *name) {
    return (struct stoa_cli_word){.data = (const uint8_t *)name, .length = strlen(name)};
}

void stoa_cli_alias(const struct stoa_cli_word *words, size_t count, struct stoa_cli_word *out,
                    size_t *out_count, enum stoa_cli_action *action) {
    STOA_ASSERT(count >= 1);
    for (size_t i = 0; i < count; i++) {
        out[i] = words[i];
    }
    *out_count = count;
    *action = STOA_CLI_ACTION_SEND;
    const struct stoa_cli_word *name = &words[0];
    if (is(name, "help")) {
        *action = STOA_CLI_ACTION_HELP;
    } else if (count == 1 && (is(name, "quit") || is(name, "exit"))) {
        *action = STOA_CLI_ACTION_QUIT;
    } else if (count == 1 && is(name, "kv")) {
        *action = STOA_CLI_ACTION_KV;
    } else if (is(name, "put")) {
        out[0] = text("SET");
    } else if (is(name, "status")) {
        out[0] = text("INFO");
    } else if (is(name, "log")) {
        /* Nomos's log dump: the group's log on this member, with any FROM and COUNT. */
        out[0] = text("GROUP");
        out[1] = text("LOG");
        for (size_t i = 1; i < count; i++) {
            out[i + 1] = words[i];
        }
        *out_count = count + 1;
    }
}
