#include "cli/split.h"

#include <string.h>

#include "proto/resp.h"
#include "util/alloc.h"
#include "util/err.h"
#include "util/limits.h"

/* The words are found by the same splitter that reads inline requests on the server
 * (proto/resp.h), so the prompt and the server can never disagree on quoting. */

void stoa_cli_words_init(struct stoa_cli_words *words) {
    *words = (struct stoa_cli_words){.count = 0};
}

void stoa_cli_words_free(struct stoa_cli_words *words) {
    stoa_free(words->words);
    stoa_free(words->bytes);
    stoa_cli_words_init(words);
}

static int add_word(void *context, size_t offset, size_t length) {
    struct stoa_cli_words *words = context;
    words->words[words->count++] =
        (struct stoa_cli_word){.data = words->bytes + offset, .length = length};
    return STOA_OK;
}

/* Every word takes at least one byte and one blank after it, so a line of n bytes has at
 * most n / 2 + 1 words. The line is copied (plus one byte for the last word's NUL) and split
 * in place. */
int stoa_cli_split(const char *line, size_t length, struct stoa_cli_words *words) {
    stoa_cli_words_free(words);
    if (length > STOA_CLI_LINE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    words->words = stoa_alloc((length / 2 + 1) * sizeof(*words->words));
    words->bytes = stoa_alloc(length + 1);
    if (words->words == NULL || words->bytes == NULL) {
        stoa_cli_words_free(words);
        return STOA_ERR_NOMEM;
    }
    if (length > 0) {
        memcpy(words->bytes, line, length);
    }
    int result = stoa_resp_split_words(words->bytes, length, add_word, words);
    if (result != STOA_OK) {
        stoa_cli_words_free(words);
        return result;
    }
    /* Each word ends at or before the blank (or the end) that followed it, so the NULs are
     * written after the split, where they cannot change what the splitter reads. */
    for (size_t i = 0; i < words->count; i++) {
        size_t offset = (size_t)(words->words[i].data - words->bytes);
        words->bytes[offset + words->words[i].length] = '\0';
    }
    return STOA_OK;
}
