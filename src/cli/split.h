/*
 * split: a typed line into the words of a command, as redis-cli splits it (Redis's
 * sdssplitargs), so what works at a redis-cli prompt works at stoa cli's.
 *
 * Words are separated by blanks (space, tab, CR, LF, VT, FF). A word may hold double-quoted
 * parts, in which \n \r \t \b \a and \xHH (two hex digits) are escapes and a backslash before
 * any other byte stands for that byte ("a\"b" is a"b), and single-quoted parts, in which only
 * \' is an escape. Quotes may start mid-word (a"b c" is one word, ab c). A closing quote must
 * be followed by a blank or the end of the line, and every quote must be closed; otherwise
 * the line is refused, as redis-cli refuses it ("Invalid argument(s)").
 *
 * Ownership: a struct stoa_cli_words owns its word table and the unescaped bytes the words
 * point into (stoa_alloc); free both with stoa_cli_words_free. The line is borrowed for the
 * call only.
 */
#ifndef STOA_CLI_SPLIT_H
#define STOA_CLI_SPLIT_H

#include <stddef.h>
#include <stdint.h>

/* One word: length bytes at data, followed by a NUL that is not counted. */
struct stoa_cli_word {
    const uint8_t *data;
    size_t length;
};

struct stoa_cli_words {
    struct stoa_cli_word *words; /* owned; count entries */
    size_t count;
    uint8_t *bytes; /* owned; the words' bytes */
};

/* Makes an empty set of words. Allocates nothing. */
void stoa_cli_words_init(struct stoa_cli_words *words);

/* Frees the table and the bytes; the set is empty afterwards and may be used again. */
void stoa_cli_words_free(struct stoa_cli_words *words);

/* Splits the length bytes at line into *words, replacing what it held. A blank line gives
 * no words. Returns 0, STOA_ERR_MALFORMED (an unclosed quote, or a closing quote followed by
 * something other than a blank), STOA_ERR_TOO_LARGE (longer than STOA_CLI_LINE_BYTES_MAX) or
 * STOA_ERR_NOMEM; *words is empty after an error. */
int stoa_cli_split(const char *line, size_t length, struct stoa_cli_words *words);

#endif
