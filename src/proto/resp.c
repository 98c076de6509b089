#include "proto/resp.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/number.h"
#include "util/err.h"

/* Internal outcomes of one parsing step, beside 0-or-negative err.h codes. */
enum step {
    STEP_CONTINUE = 1, /* the state changed; run the next step */
    STEP_EMPTY = 2,    /* a request without arguments ended at parser->position: skip it */
    STEP_COMPLETE = 3, /* a request ended at parser->position */
};

/* The fast path takes requests of at most 999 arguments of at most 999,999 bytes each: a
 * total below STOA_RESP_REQUEST_BYTES_MAX, so it never needs that check. */
#define FAST_COUNT_DIGITS_MAX 3
#define FAST_BULK_DIGITS_MAX 6
#define FAST_BULK_BYTES_MAX 999999u
_Static_assert(999ULL * (FAST_BULK_BYTES_MAX + 16) < STOA_RESP_REQUEST_BYTES_MAX,
               "a fast-path request is never too big");
_Static_assert(FAST_BULK_BYTES_MAX < STOA_RESP_BULK_BYTES_MAX, "fast bulks are legal bulks");

static const char PROTOCOL_ERROR[] = "ERR Protocol error: ";

static int fail(struct stoa_resp_parser *parser, const char *what) {
    snprintf(parser->error, sizeof(parser->error), "%s%s", PROTOCOL_ERROR, what);
    return STOA_ERR_MALFORMED;
}

/* Redis's string2ll: an optional '-', then "0" alone or digits without a leading zero, no
 * '+', no blanks, no overflow of int64. */
static bool parse_integer(const uint8_t *text, size_t length, int64_t *value) {
    return stoa_number_parse_int64(text, length, value);
}

void stoa_resp_parser_init(struct stoa_resp_parser *parser) {
    STOA_ASSERT(parser != NULL);
    *parser = (struct stoa_resp_parser){.state = STOA_RESP_STATE_START};
}

static void start_request(struct stoa_resp_parser *parser) {
    parser->state = STOA_RESP_STATE_START;
    parser->position = 0;
    parser->scan = 0;
    parser->arguments_left = 0;
    parser->bulk_length = 0;
    parser->argument_count = 0;
}

void stoa_resp_parser_free(struct stoa_resp_parser *parser) {
    STOA_ASSERT(parser != NULL);
    stoa_free(parser->arguments);
    parser->arguments = NULL;
    parser->argument_capacity = 0;
    parser->error[0] = '\0';
    start_request(parser);
}

/* Appends an argument, growing the table by doubling up to capacity_max entries (the
 * request's announced count, so a table never grows past what the request needs). */
static int push_argument(struct stoa_resp_parser *parser, size_t offset, size_t length,
                         size_t capacity_max) {
    STOA_ASSERT(parser->argument_count < capacity_max);
    if (parser->argument_count == parser->argument_capacity) {
        size_t capacity = parser->argument_capacity == 0 ? STOA_RESP_ARGUMENTS_CAPACITY_MIN
                                                         : parser->argument_capacity * 2;
        if (capacity > capacity_max) {
            capacity = capacity_max;
        }
        struct stoa_resp_argument *arguments =
            stoa_realloc(parser->arguments, capacity * sizeof(*arguments));
        if (arguments == NULL) {
            snprintf(parser->error, sizeof(parser->error), "ERR out of memory");
            return STOA_ERR_NOMEM;
        }
        parser->arguments = arguments;
        parser->argument_capacity = capacity;
    }
    parser->arguments[parser->argument_count++] = (struct stoa_resp_argument){offset, length};
    return STOA_OK;
}

/* What ends a line, and how long it may be. */
struct line_rule {
    uint8_t end_byte;     /* '\r' for headers, '\n' for inline lines */
    size_t after;         /* bytes that must have arrived after end_byte */
    size_t length_max;    /* bytes of the line before end_byte */
    const char *too_long; /* the error when no end_byte is within length_max + 1 bytes */
};

/* Headers wait for the place of the "\n" after their "\r", which Redis skips unchecked. */
static const struct line_rule COUNT_LINE = {'\r', 1, STOA_RESP_INLINE_BYTES_MAX,
                                            "too big mbulk count string"};
static const struct line_rule BULK_LENGTH_LINE = {'\r', 1, STOA_RESP_INLINE_BYTES_MAX,
                                                  "too big bulk count string"};
/* An inline line may have a "\r" before its "\n" beyond the limit. */
static const struct line_rule INLINE_LINE = {'\n', 0, STOA_RESP_INLINE_BYTES_MAX + 1,
                                             "too big inline request"};

/* Finds the end of the line that starts at parser->position, searching from parser->scan so
 * no byte is looked at twice. Returns 0 with *end the index of the end byte, STOA_ERR_AGAIN,
 * or STOA_ERR_MALFORMED. */
static int find_line_end(struct stoa_resp_parser *parser, const uint8_t *data, size_t available,
                         const struct line_rule *rule, size_t *end) {
    size_t window_end = parser->position + rule->length_max + 1;
    size_t from = parser->scan > parser->position ? parser->scan : parser->position;
    size_t to = available < window_end ? available : window_end;
    if (from < to) {
        /* Header lines are a few bytes: look at the first ones directly before paying for a
         * memchr call. */
        size_t near_end = to - from < 16 ? to : from + 16;
        const uint8_t *found = NULL;
        for (size_t i = from; i < near_end && found == NULL; i++) {
            found = data[i] == rule->end_byte ? data + i : NULL;
        }
        if (found == NULL && near_end < to) {
            found = memchr(data + near_end, rule->end_byte, to - near_end);
        }
        size_t stop = found != NULL ? (size_t)(found - data) : to;
        parser->inspected_bytes += (found != NULL ? stop + 1 : stop) - from;
        parser->scan = stop;
        if (found != NULL) {
            if (available - stop <= rule->after) {
                return STOA_ERR_AGAIN;
            }
            *end = stop;
            return STOA_OK;
        }
    }
    return to == window_end ? fail(parser, rule->too_long) : STOA_ERR_AGAIN;
}

/* "*<count>\r\n". A count of zero or less is an empty request, as in Redis. */
static int parse_count(struct stoa_resp_parser *parser, const uint8_t *data, size_t available) {
    size_t end = 0;
    int result = find_line_end(parser, data, available, &COUNT_LINE, &end);
    if (result != STOA_OK) {
        return result;
    }
    size_t start = parser->position + 1; /* after the '*' */
    int64_t count = 0;
    if (!parse_integer(data + start, end - start, &count) || count > STOA_RESP_ARGUMENTS_MAX) {
        return fail(parser, "invalid multibulk length");
    }
    if (parser->unauthenticated && count > STOA_RESP_UNAUTHENTICATED_ARGUMENTS_MAX) {
        return fail(parser, "unauthenticated multibulk length");
    }
    parser->position = end + 2;
    parser->scan = parser->position;
    if (count <= 0) {
        return STEP_EMPTY;
    }
    parser->arguments_left = (size_t)count;
    parser->state = STOA_RESP_STATE_BULK_LENGTH;
    return STEP_CONTINUE;
}

static int fail_expected_dollar(struct stoa_resp_parser *parser, uint8_t got) {
    /* Redis replaces CR and LF in an error by spaces; a NUL could not be carried in a C
     * string, so it becomes a space too. */
    int shown = got == '\r' || got == '\n' || got == '\0' ? ' ' : got;
    snprintf(parser->error, sizeof(parser->error), "%sexpected '$', got '%c'", PROTOCOL_ERROR,
             shown);
    return STOA_ERR_MALFORMED;
}

/* "$<length>\r\n": checks the length against the limits before any of its bytes arrive. */
static int parse_bulk_length(struct stoa_resp_parser *parser, const uint8_t *data,
                             size_t available) {
    size_t end = 0;
    int result = find_line_end(parser, data, available, &BULK_LENGTH_LINE, &end);
    if (result != STOA_OK) {
        return result;
    }
    size_t start = parser->position;
    if (data[start] != '$') {
        return fail_expected_dollar(parser, data[start]);
    }
    int64_t length = 0;
    if (!parse_integer(data + start + 1, end - start - 1, &length) || length < 0 ||
        length > STOA_RESP_BULK_BYTES_MAX) {
        return fail(parser, "invalid bulk length");
    }
    if (parser->unauthenticated && length > STOA_RESP_UNAUTHENTICATED_BULK_BYTES_MAX) {
        return fail(parser, "unauthenticated bulk length");
    }
    size_t data_start = end + 2;
    if (data_start > STOA_RESP_REQUEST_BYTES_MAX ||
        (uint64_t)length + 2 > STOA_RESP_REQUEST_BYTES_MAX - data_start) {
        return fail(parser, "too big request");
    }
    parser->position = data_start;
    parser->scan = data_start;
    parser->bulk_length = (size_t)length;
    parser->state = STOA_RESP_STATE_BULK_DATA;
    return STEP_CONTINUE;
}

/* "<bytes>\r\n": waits for all of it without looking at it. */
static int take_bulk(struct stoa_resp_parser *parser, size_t available) {
    STOA_ASSERT(available >= parser->position);
    if (available - parser->position < parser->bulk_length + 2) {
        return STOA_ERR_AGAIN;
    }
    size_t announced = parser->argument_count + parser->arguments_left;
    int result = push_argument(parser, parser->position, parser->bulk_length, announced);
    if (result != STOA_OK) {
        return result;
    }
    parser->position += parser->bulk_length + 2;
    parser->scan = parser->position;
    parser->arguments_left--;
    if (parser->arguments_left == 0) {
        return STEP_COMPLETE;
    }
    parser->state = STOA_RESP_STATE_BULK_LENGTH;
    return STEP_CONTINUE;
}

/* ---- inline requests: Redis's sdssplitargs, unescaping in place ---- */

/* The bytes of one inline line being split. Each argument's unescaped bytes are written at
 * `write`, which never passes `read`, so the source is never overwritten before it is read. */
struct line {
    uint8_t *data;
    size_t length;
    size_t read;
    size_t write;
};

enum quote { QUOTE_NONE, QUOTE_DOUBLE, QUOTE_SINGLE };

/* What one step of a word does: go on, end the word, or find unbalanced quotes. */
enum word_step { WORD_MORE, WORD_DONE, WORD_BAD };

/* isspace() in the C locale, which sdssplitargs skips between words. */
static bool is_blank(uint8_t byte) {
    return byte == ' ' || byte == '\t' || byte == '\n' || byte == '\v' || byte == '\f' ||
           byte == '\r';
}

static bool is_hex_digit(uint8_t byte) {
    return (byte >= '0' && byte <= '9') || (byte >= 'a' && byte <= 'f') ||
           (byte >= 'A' && byte <= 'F');
}

static uint8_t hex_value(uint8_t byte) {
    if (byte >= '0' && byte <= '9') {
        return (uint8_t)(byte - '0');
    }
    return (uint8_t)((byte | 0x20) - 'a' + 10);
}

/* The byte ahead bytes after read, or 0 past the end (sdssplitargs reads a C string). */
static uint8_t peek(const struct line *line, size_t ahead) {
    size_t index = line->read + ahead;
    return index < line->length ? line->data[index] : 0;
}

static void put(struct line *line, uint8_t byte) {
    STOA_ASSERT(line->write <= line->read);
    line->data[line->write++] = byte;
}

static uint8_t unescape(uint8_t byte) {
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

/* A closing quote must be followed by a blank or the end of the line. */
static enum word_step close_quote(struct line *line) {
    if (line->read + 1 < line->length && !is_blank(peek(line, 1))) {
        return WORD_BAD;
    }
    line->read++;
    return WORD_DONE;
}

static enum word_step step_double_quoted(struct line *line) {
    if (line->read == line->length) {
        return WORD_BAD;
    }
    uint8_t byte = peek(line, 0);
    if (byte == '\\' && peek(line, 1) == 'x' && is_hex_digit(peek(line, 2)) &&
        is_hex_digit(peek(line, 3))) {
        uint8_t value = (uint8_t)(hex_value(peek(line, 2)) * 16 + hex_value(peek(line, 3)));
        put(line, value);
        line->read += 4;
    } else if (byte == '\\' && line->read + 1 < line->length) {
        uint8_t value = unescape(peek(line, 1));
        put(line, value);
        line->read += 2;
    } else if (byte == '"') {
        return close_quote(line);
    } else {
        put(line, byte);
        line->read++;
    }
    return WORD_MORE;
}

static enum word_step step_single_quoted(struct line *line) {
    if (line->read == line->length) {
        return WORD_BAD;
    }
    uint8_t byte = peek(line, 0);
    if (byte == '\\' && peek(line, 1) == '\'') {
        put(line, '\'');
        line->read += 2;
    } else if (byte == '\'') {
        return close_quote(line);
    } else {
        put(line, byte);
        line->read++;
    }
    return WORD_MORE;
}

static enum word_step step_unquoted(struct line *line, enum quote *quote) {
    if (line->read == line->length) {
        return WORD_DONE;
    }
    uint8_t byte = peek(line, 0);
    line->read++;
    if (byte == ' ' || byte == '\n' || byte == '\r' || byte == '\t') {
        return WORD_DONE;
    }
    if (byte == '"') {
        *quote = QUOTE_DOUBLE;
    } else if (byte == '\'') {
        *quote = QUOTE_SINGLE;
    } else {
        put(line, byte);
    }
    return WORD_MORE;
}

/* Reads one word starting at line->read (not a blank) and writes it at line->write. Every
 * step reads at least one byte, so the loop ends within the line. */
static bool read_word(struct line *line) {
    enum quote quote = QUOTE_NONE;
    enum word_step step = WORD_MORE;
    while (step == WORD_MORE) {
        if (quote == QUOTE_DOUBLE) {
            step = step_double_quoted(line);
        } else if (quote == QUOTE_SINGLE) {
            step = step_single_quoted(line);
        } else {
            step = step_unquoted(line, &quote);
        }
    }
    return step == WORD_DONE;
}

/* Splits data[0 .. length) into arguments. */
int stoa_resp_split_words(uint8_t *data, size_t length, stoa_resp_word_fn on_word, void *context) {
    STOA_ASSERT((data != NULL || length == 0) && on_word != NULL);
    struct line line = {.data = data, .length = length, .read = 0, .write = 0};
    while (line.read < line.length) {
        if (is_blank(line.data[line.read])) {
            line.read++;
            continue;
        }
        size_t start = line.read;
        line.write = start;
        if (!read_word(&line)) {
            return STOA_ERR_MALFORMED;
        }
        int result = on_word(context, start, line.write - start);
        if (result != STOA_OK) {
            return result;
        }
    }
    return STOA_OK;
}

static int push_word(void *context, size_t offset, size_t length) {
    return push_argument(context, offset, length, STOA_RESP_ARGUMENTS_MAX);
}

static int split_inline(struct stoa_resp_parser *parser, uint8_t *data, size_t length) {
    parser->inspected_bytes += length;
    int result = stoa_resp_split_words(data, length, push_word, parser);
    return result == STOA_ERR_MALFORMED ? fail(parser, "unbalanced quotes in request") : result;
}

/* A line ending in "\n" (a "\r" before it is not part of the line). */
static int parse_inline(struct stoa_resp_parser *parser, uint8_t *data, size_t available) {
    size_t end = 0;
    int result = find_line_end(parser, data, available, &INLINE_LINE, &end);
    if (result == STOA_ERR_AGAIN) {
        /* The window allows for a "\r" before the "\n"; anything else past the limit is
         * already too much. */
        size_t pending = available > 0 && data[available - 1] == '\r' ? available - 1 : available;
        return pending > STOA_RESP_INLINE_BYTES_MAX ? fail(parser, INLINE_LINE.too_long) : result;
    }
    if (result != STOA_OK) {
        return result;
    }
    size_t line_length = end > 0 && data[end - 1] == '\r' ? end - 1 : end;
    if (line_length > STOA_RESP_INLINE_BYTES_MAX) {
        return fail(parser, INLINE_LINE.too_long);
    }
    /* sdssplitargs reads a C string: a NUL ends the words. */
    const uint8_t *nul = memchr(data, '\0', line_length);
    if (nul != NULL) {
        line_length = (size_t)(nul - data);
    }
    result = split_inline(parser, data, line_length);
    if (result != STOA_OK) {
        return result;
    }
    parser->position = end + 1;
    return parser->argument_count == 0 ? STEP_EMPTY : STEP_COMPLETE;
}

/* ---- the driver ---- */

static void choose_shape(struct stoa_resp_parser *parser, uint8_t first) {
    /* A table grown large by the last request is given back now that nothing borrows it. */
    if (parser->argument_capacity > STOA_RESP_ARGUMENTS_KEEP_MAX) {
        stoa_free(parser->arguments);
        parser->arguments = NULL;
        parser->argument_capacity = 0;
    }
    parser->state = first == '*' ? STOA_RESP_STATE_COUNT : STOA_RESP_STATE_INLINE;
}

/* One step of the state machine on the request at data (available bytes). */
static int step(struct stoa_resp_parser *parser, uint8_t *data, size_t available) {
    switch (parser->state) {
    case STOA_RESP_STATE_START:
        if (available == 0) {
            return STOA_ERR_AGAIN;
        }
        choose_shape(parser, data[0]);
        return STEP_CONTINUE;
    case STOA_RESP_STATE_COUNT:
        return parse_count(parser, data, available);
    case STOA_RESP_STATE_BULK_LENGTH:
        return parse_bulk_length(parser, data, available);
    case STOA_RESP_STATE_BULK_DATA:
        return take_bulk(parser, available);
    case STOA_RESP_STATE_INLINE:
        return parse_inline(parser, data, available);
    case STOA_RESP_STATE_FAILED:
        return STOA_ERR_MALFORMED;
    }
    STOA_UNREACHABLE();
}

/* Hands out the complete request that starts at base. */
static void complete(struct stoa_resp_parser *parser, size_t base,
                     struct stoa_resp_request *request, size_t *used) {
    for (size_t i = 0; base > 0 && i < parser->argument_count; i++) {
        parser->arguments[i].offset += base;
    }
    request->argument_count = parser->argument_count;
    request->arguments = parser->arguments;
    request->is_inline = parser->state == STOA_RESP_STATE_INLINE;
    *used = base + parser->position;
    start_request(parser);
}

/* ---- the fast path ---- */

/* Reads a header number at data[*position] made of digits only, with no leading zero
 * (except "0" itself when zero_ok) and at most digits_max digits, followed by '\r' and one
 * more byte. Returns false for anything else: the general parser then decides. */
static bool fast_number(const uint8_t *data, size_t length, size_t *position, size_t digits_max,
                        bool zero_ok, size_t *value) {
    size_t i = *position;
    size_t number = 0;
    size_t digits = 0;
    while (i < length && data[i] >= '0' && data[i] <= '9' && digits < digits_max) {
        number = number * 10 + (size_t)(data[i] - '0');
        digits++;
        i++;
    }
    bool leading_zero = digits > 1 && data[*position] == '0';
    bool zero = digits == 1 && data[*position] == '0';
    if (digits == 0 || leading_zero || (zero && !zero_ok) || i + 1 >= length || data[i] != '\r') {
        return false;
    }
    *position = i + 2; /* the byte after '\r' is taken as its '\n', as the general parser does */
    *value = number;
    return true;
}

/* The common case in one pass: a whole multibulk request of a few arguments already in the
 * buffer, its argument table already big enough. Anything unusual (an error to report, a
 * partial request, a big request, a table to grow) returns false before changing the parser,
 * and the general state machine parses the same bytes from the start, so both paths give
 * the same results. */
static bool parse_fast(struct stoa_resp_parser *parser, const uint8_t *data, size_t length,
                       struct stoa_resp_request *request, size_t *used) {
    size_t position = 1;
    size_t count = 0;
    size_t bulk_max =
        parser->unauthenticated ? STOA_RESP_UNAUTHENTICATED_BULK_BYTES_MAX : FAST_BULK_BYTES_MAX;
    size_t count_max = parser->unauthenticated ? STOA_RESP_UNAUTHENTICATED_ARGUMENTS_MAX
                                               : parser->argument_capacity;
    if (parser->state != STOA_RESP_STATE_START || length < 4 || data[0] != '*' ||
        parser->argument_capacity > STOA_RESP_ARGUMENTS_KEEP_MAX ||
        !fast_number(data, length, &position, FAST_COUNT_DIGITS_MAX, false, &count) ||
        count > count_max || count > parser->argument_capacity) {
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        size_t bulk = 0;
        if (position >= length || data[position] != '$') {
            return false;
        }
        position++;
        if (!fast_number(data, length, &position, FAST_BULK_DIGITS_MAX, true, &bulk) ||
            bulk > bulk_max || length - position < bulk + 2) {
            return false;
        }
        parser->arguments[i] = (struct stoa_resp_argument){position, bulk};
        position += bulk + 2;
    }
    parser->inspected_bytes += position; /* an upper bound: bulk data is skipped, not read */
    request->argument_count = count;
    request->arguments = parser->arguments;
    request->is_inline = false;
    *used = position;
    return true;
}

int stoa_resp_parse(struct stoa_resp_parser *parser, uint8_t *data, size_t length,
                    struct stoa_resp_request *request, size_t *used) {
    STOA_ASSERT(parser != NULL && request != NULL && used != NULL);
    STOA_ASSERT(data != NULL || length == 0);
    if (parser->state == STOA_RESP_STATE_FAILED) {
        return STOA_ERR_MALFORMED;
    }
    /* The caller gives back at least the bytes already parsed (programmer error if not). */
    STOA_ASSERT(length >= parser->position);
    if (parse_fast(parser, data, length, request, used)) {
        return STOA_OK;
    }
    size_t base = 0; /* start of the current request: after any skipped empty requests */
    /* Each step either ends the call or moves to another state; an empty request consumes at
     * least one byte, so the loop runs at most a few times per byte of data. */
    for (;;) {
        int result = step(parser, data + base, length - base);
        if (result == STEP_CONTINUE) {
            continue;
        }
        if (result == STEP_EMPTY) {
            base += parser->position;
            start_request(parser);
            continue;
        }
        if (result == STEP_COMPLETE) {
            complete(parser, base, request, used);
            return STOA_OK;
        }
        if (result == STOA_ERR_AGAIN) {
            *used = base;
            return STOA_ERR_AGAIN;
        }
        parser->state = STOA_RESP_STATE_FAILED;
        return result;
    }
}

void stoa_resp_request_arguments(const struct stoa_resp_request *request, const uint8_t *data,
                                 struct stoa_command_argument *arguments) {
    STOA_ASSERT(request != NULL && arguments != NULL);
    for (size_t i = 0; i < request->argument_count; i++) {
        const struct stoa_resp_argument *argument = &request->arguments[i];
        arguments[i] = (struct stoa_command_argument){data + argument->offset, argument->length};
    }
}
