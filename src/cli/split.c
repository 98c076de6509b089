#include "cli/split.h"

#include <stdbool.h>

#include "util/alloc.h"
#include "util/err.h"
#include "util/limits.h"

/* Where a word is being read: in the line, and in the output bytes. */
struct cursor {
    const uint8_t *line;
    size_t length;
    size_t position;
    uint8_t *out;
    size_t out_length;
};

static bool is_blank(uint8_t byte) {
    return byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r' || byte == '\v' ||
           byte == '\f';
}

static int hex_value(uint8_t byte) {
    if (byte >= '0' && byte <= '9') {
        return byte - '0';
    }
    if (byte >= 'a' && byte <= 'f') {
        return byte - 'a' + 10;
    }
    if (byte >= 'A' && byte <= 'F') {
        return byte - 'A' + 10;
    }
    return -1;
}

static uint8_t escaped(uint8_t byte) {
    switch (byte) {
    case 'n':
        return '\n';
    case 'r':
        return '\r';
    case 't':
        return '\t';
    case 'b':
        return '\b';
    case 'a':
        return '\a';
    default:
        return byte;
    }
}

/* A closing quote at position: it must end the line or be followed by a blank. */
static bool closes(const struct cursor *cursor) {
    size_t next = cursor->position + 1;
    return next == cursor->length || is_blank(cursor->line[next]);
}

/* Reads a double-quoted part; cursor->position is just after the opening quote. On 0 it is
 * just after the closing one. */
static int read_double_quoted(struct cursor *cursor) {
    for (; cursor->position < cursor->length; cursor->position++) {
        const uint8_t *p = cursor->line + cursor->position;
        size_t left = cursor->length - cursor->position;
        if (p[0] == '\\' && left >= 4 && p[1] == 'x' && hex_value(p[2]) >= 0 &&
            hex_value(p[3]) >= 0) {
            cursor->out[cursor->out_length++] = (uint8_t)(hex_value(p[2]) * 16 + hex_value(p[3]));
            cursor->position += 3;
        } else if (p[0] == '\\' && left >= 2) {
            cursor->out[cursor->out_length++] = escaped(p[1]);
            cursor->position++;
        } else if (p[0] == '"') {
            if (!closes(cursor)) {
                return STOA_ERR_MALFORMED;
            }
            cursor->position++;
            return STOA_OK;
        } else {
            cursor->out[cursor->out_length++] = p[0];
        }
    }
    return STOA_ERR_MALFORMED;
}

/* Reads a single-quoted part, in which only \' is an escape. */
static int read_single_quoted(struct cursor *cursor) {
    for (; cursor->position < cursor->length; cursor->position++) {
        const uint8_t *p = cursor->line + cursor->position;
        size_t left = cursor->length - cursor->position;
        if (p[0] == '\\' && left >= 2 && p[1] == '\'') {
            cursor->out[cursor->out_length++] = '\'';
            cursor->position++;
        } else if (p[0] == '\'') {
            if (!closes(cursor)) {
                return STOA_ERR_MALFORMED;
            }
            cursor->position++;
            return STOA_OK;
        } else {
            cursor->out[cursor->out_length++] = p[0];
        }
    }
    return STOA_ERR_MALFORMED;
}

/* Reads one word starting at a non-blank byte, up to a blank or the end of the line. */
static int read_word(struct cursor *cursor) {
    while (cursor->position < cursor->length) {
        uint8_t byte = cursor->line[cursor->position++];
        int result = STOA_OK;
        if (is_blank(byte)) {
            break;
        }
        if (byte == '"') {
            result = read_double_quoted(cursor);
        } else if (byte == '\'') {
            result = read_single_quoted(cursor);
        } else {
            cursor->out[cursor->out_length++] = byte;
        }
        if (result != STOA_OK) {
            return result;
        }
    }
    return STOA_OK;
}

void stoa_cli_words_init(struct stoa_cli_words *words) {
    *words = (struct stoa_cli_words){.count = 0};
}

void stoa_cli_words_free(struct stoa_cli_words *words) {
    stoa_free(words->words);
    stoa_free(words->bytes);
    stoa_cli_words_init(words);
}

/* Every word takes at least one byte and one blank after it, so a line of n bytes has at
 * most n / 2 + 1 words, and its words with their NULs fit in 2n + 1 bytes. */
int stoa_cli_split(const char *line, size_t length, struct stoa_cli_words *words) {
    stoa_cli_words_free(words);
    if (length > STOA_CLI_LINE_BYTES_MAX) {
        return STOA_ERR_TOO_LARGE;
    }
    words->words = stoa_alloc((length / 2 + 1) * sizeof(*words->words));
    words->bytes = stoa_alloc(2 * length + 1);
    if (words->words == NULL || words->bytes == NULL) {
        stoa_cli_words_free(words);
        return STOA_ERR_NOMEM;
    }
    struct cursor cursor = {.line = (const uint8_t *)line, .length = length, .out = words->bytes};
    while (cursor.position < length) {
        if (is_blank(cursor.line[cursor.position])) {
            cursor.position++;
            continue;
        }
        size_t start = cursor.out_length;
        int result = read_word(&cursor);
        if (result != STOA_OK) {
            stoa_cli_words_free(words);
            return result;
        }
        words->words[words->count++] = (struct stoa_cli_word){.data = words->bytes + start,
                                                              .length = cursor.out_length - start};
        cursor.out[cursor.out_length++] = '\0';
    }
    return STOA_OK;
}
