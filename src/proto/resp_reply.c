#include "proto/resp_reply.h"

#include <stdio.h>
#include <string.h>

#include "util/alloc.h"
#include "util/assert.h"
#include "util/number.h"
#include "util/err.h"

/* Internal outcomes of one parsing step, beside 0-or-negative err.h codes. */
enum step {
    STEP_CONTINUE = 1, /* an element header or a whole scalar was consumed */
    STEP_DONE = 2,     /* the reply is complete at parser->position */
};

/* The element table starts with this many entries and doubles. */
#define ELEMENTS_CAPACITY_MIN 16

static int fail(struct stoa_resp_reply_parser *parser, const char *what) {
    snprintf(parser->error, sizeof(parser->error), "%s", what);
    parser->failed = true;
    return STOA_ERR_MALFORMED;
}

/* An optional '-', then "0" alone or digits without a leading zero, no overflow of int64. */
static bool parse_integer(const uint8_t *text, size_t length, int64_t *value) {
    return stoa_number_parse_int64(text, length, value);
}

/* A big number: an optional '-' and at least one digit. */
static bool is_big_number(const uint8_t *text, size_t length) {
    size_t i = length > 0 && text[0] == '-' ? 1 : 0;
    if (i == length) {
        return false;
    }
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
    }
    return true;
}

/* A double as servers write it ("3.14", "-1e+21", "inf", "-inf", "nan"): not empty, and
 * only the bytes those forms use. The text is kept as sent, not converted. */
static bool is_double(const uint8_t *text, size_t length) {
    if (length == 0) {
        return false;
    }
    for (size_t i = 0; i < length; i++) {
        if (memchr("0123456789.eE+-infa", text[i], 19) == NULL) {
            return false;
        }
    }
    return true;
}

/* Finds the CR LF that ends the line starting at parser->position (its type byte). On 0,
 * *text_length is the bytes between the type byte and the CR. */
static int find_line(struct stoa_resp_reply_parser *parser, const uint8_t *data, size_t available,
                     size_t *text_length) {
    size_t start = parser->position;
    size_t i = parser->scan > start ? parser->scan : start + 1;
    for (; i < available; i++) {
        if (i - start - 1 > STOA_RESP_REPLY_LINE_BYTES_MAX) {
            return fail(parser, "line too long");
        }
        if (data[i] == '\n') {
            return fail(parser, "LF without CR");
        }
        if (data[i] != '\r') {
            continue;
        }
        if (i + 1 == available) {
            break;
        }
        if (data[i + 1] != '\n') {
            return fail(parser, "CR without LF");
        }
        *text_length = i - start - 1;
        parser->scan = i; /* a resumed bulk finds its header's end at once */
        return STOA_OK;
    }
    parser->scan = i;
    return STOA_ERR_AGAIN;
}

static int reserve_element(struct stoa_resp_reply_parser *parser) {
    if (parser->element_count < parser->element_capacity) {
        return STOA_OK;
    }
    size_t capacity =
        parser->element_capacity == 0 ? ELEMENTS_CAPACITY_MIN : 2 * parser->element_capacity;
    if (capacity > STOA_RESP_REPLY_ELEMENTS_MAX) {
        capacity = STOA_RESP_REPLY_ELEMENTS_MAX;
    }
    STOA_ASSERT(capacity > parser->element_count);
    struct stoa_resp_reply_element *elements =
        stoa_realloc(parser->elements, capacity * sizeof(*elements));
    if (elements == NULL) {
        return STOA_ERR_NOMEM;
    }
    parser->elements = elements;
    parser->element_capacity = capacity;
    return STOA_OK;
}

/* Records an element (not inside an attribute; room was reserved). */
static void record(struct stoa_resp_reply_parser *parser, enum stoa_resp_reply_type type,
                   uint8_t marker, size_t offset, size_t length) {
    if (parser->attribute_depth > 0) {
        return;
    }
    STOA_ASSERT(parser->element_count < parser->element_capacity);
    struct stoa_resp_reply_element *element = &parser->elements[parser->element_count++];
    *element = (struct stoa_resp_reply_element){
        .type = type, .marker = marker, .offset = offset, .length = length, .span = 1};
}

static struct stoa_resp_reply_element *last(struct stoa_resp_reply_parser *parser) {
    return &parser->elements[parser->element_count - 1];
}

/* The element just consumed is complete: count it against the open aggregates, closing each
 * that it completes. Returns STEP_DONE if that completed the reply. An attribute that
 * completes does not count for its parent: the element after it does. */
static int complete_element(struct stoa_resp_reply_parser *parser, size_t position) {
    parser->position = position;
    parser->scan = position;
    for (size_t round = 0; round <= STOA_RESP_REPLY_DEPTH_MAX; round++) {
        if (parser->depth == 0) {
            return STEP_DONE;
        }
        struct stoa_resp_reply_frame *frame = &parser->stack[parser->depth - 1];
        STOA_ASSERT(frame->remaining > 0);
        frame->remaining--;
        if (frame->remaining > 0) {
            return STEP_CONTINUE;
        }
        parser->depth--;
        if (frame->attribute) {
            parser->attribute_depth--;
            return STEP_CONTINUE;
        }
        if (parser->attribute_depth == 0) {
            struct stoa_resp_reply_element *element = &parser->elements[frame->element_index];
            element->span = parser->element_count - frame->element_index;
        }
    }
    STOA_UNREACHABLE();
}

/* '$', '!', '=': a length line, then that many bytes and CR LF. */
static int parse_blob(struct stoa_resp_reply_parser *parser, const uint8_t *data, size_t available,
                      uint8_t marker, int64_t length, size_t after) {
    if (length == -1 && marker == '$') {
        record(parser, STOA_RESP_REPLY_NULL, marker, 0, 0);
        return complete_element(parser, after);
    }
    if (length < 0 || length > STOA_RESP_BULK_BYTES_MAX) {
        return fail(parser, "invalid bulk length");
    }
    size_t size = (size_t)length;
    if (available - after < size + 2) {
        return STOA_ERR_AGAIN;
    }
    if (data[after + size] != '\r' || data[after + size + 1] != '\n') {
        return fail(parser, "bulk string not followed by CRLF");
    }
    if (marker == '=') {
        if (size < 4 || data[after + 3] != ':') {
            return fail(parser, "verbatim string without a format");
        }
        record(parser, STOA_RESP_REPLY_VERBATIM, marker, after + 4, size - 4);
    } else {
        record(parser, marker == '!' ? STOA_RESP_REPLY_ERROR : STOA_RESP_REPLY_BULK, marker, after,
               size);
    }
    return complete_element(parser, after + size + 2);
}

static enum stoa_resp_reply_type aggregate_type(uint8_t marker) {
    switch (marker) {
    case '%':
        return STOA_RESP_REPLY_MAP;
    case '~':
        return STOA_RESP_REPLY_SET;
    case '>':
        return STOA_RESP_REPLY_PUSH;
    default:
        return STOA_RESP_REPLY_ARRAY;
    }
}

/* '*', '%', '~', '>', '|': a count line; the children follow as elements of their own. */
static int parse_aggregate(struct stoa_resp_reply_parser *parser, uint8_t marker, int64_t count,
                           size_t after) {
    if (count == -1 && marker == '*') {
        record(parser, STOA_RESP_REPLY_NULL, marker, 0, 0);
        return complete_element(parser, after);
    }
    if (count < 0 || count > STOA_RESP_REPLY_ELEMENTS_MAX) {
        return fail(parser, "invalid aggregate length");
    }
    bool pairs = marker == '%' || marker == '|';
    size_t children = (size_t)count * (pairs ? 2 : 1);
    if (children > STOA_RESP_REPLY_ELEMENTS_MAX - parser->elements_announced) {
        return fail(parser, "too many elements");
    }
    if (children > 0 && parser->depth == STOA_RESP_REPLY_DEPTH_MAX) {
        return fail(parser, "nesting too deep");
    }
    parser->elements_announced += children;
    bool attribute = marker == '|';
    if (!attribute) {
        record(parser, aggregate_type(marker), marker, 0, 0);
        if (parser->attribute_depth == 0) {
            last(parser)->count = (size_t)count;
        }
    }
    if (children == 0) {
        if (attribute) {
            parser->position = after;
            parser->scan = after;
            return STEP_CONTINUE;
        }
        return complete_element(parser, after);
    }
    parser->stack[parser->depth++] = (struct stoa_resp_reply_frame){
        .remaining = children, .element_index = parser->element_count - 1, .attribute = attribute};
    parser->attribute_depth += attribute ? 1 : 0;
    parser->position = after;
    parser->scan = after;
    return STEP_CONTINUE;
}

/* '+', '-', ':', '_', ',', '#', '(': the line is the whole element. */
static int parse_scalar(struct stoa_resp_reply_parser *parser, uint8_t marker, const uint8_t *text,
                        size_t text_offset, size_t text_length) {
    size_t after = text_offset + text_length + 2;
    int64_t integer = 0;
    enum stoa_resp_reply_type type = STOA_RESP_REPLY_STATUS;
    if (marker == '-') {
        type = STOA_RESP_REPLY_ERROR;
    } else if (marker == ':') {
        type = STOA_RESP_REPLY_INTEGER;
        if (!parse_integer(text, text_length, &integer)) {
            return fail(parser, "invalid integer");
        }
    } else if (marker == '_') {
        type = STOA_RESP_REPLY_NULL;
        if (text_length != 0) {
            return fail(parser, "null with a value");
        }
    } else if (marker == ',') {
        type = STOA_RESP_REPLY_DOUBLE;
        if (!is_double(text, text_length)) {
            return fail(parser, "invalid double");
        }
    } else if (marker == '#') {
        type = STOA_RESP_REPLY_BOOLEAN;
        if (text_length != 1 || (text[0] != 't' && text[0] != 'f')) {
            return fail(parser, "invalid boolean");
        }
        integer = text[0] == 't';
    } else if (marker == '(') {
        type = STOA_RESP_REPLY_BIG_NUMBER;
        if (!is_big_number(text, text_length)) {
            return fail(parser, "invalid big number");
        }
    }
    record(parser, type, marker, text_offset, text_length);
    if (parser->attribute_depth == 0) {
        last(parser)->integer = integer;
    }
    return complete_element(parser, after);
}

/* Parses the element whose first byte is at parser->position. */
static int step(struct stoa_resp_reply_parser *parser, const uint8_t *data, size_t available) {
    size_t start = parser->position;
    if (start >= available) {
        return STOA_ERR_AGAIN;
    }
    uint8_t marker = data[start];
    if (memchr("+-:$*_,#!=(%~>|", marker, 15) == NULL) {
        return fail(parser, "unknown reply type byte");
    }
    size_t text_length = 0;
    int result = find_line(parser, data, available, &text_length);
    if (result != STOA_OK) {
        return result;
    }
    if (marker != '|' && parser->attribute_depth == 0) {
        result = reserve_element(parser);
        if (result != STOA_OK) {
            return result;
        }
    }
    const uint8_t *text = data + start + 1;
    size_t after = start + 1 + text_length + 2;
    if (memchr("$!=*%~>|", marker, 8) == NULL) {
        return parse_scalar(parser, marker, text, start + 1, text_length);
    }
    int64_t length = 0;
    if (text_length > 0 && text[0] == '?') {
        return fail(parser, "streamed replies are not supported");
    }
    if (!parse_integer(text, text_length, &length)) {
        return fail(parser, "invalid length");
    }
    if (memchr("$!=", marker, 3) != NULL) {
        return parse_blob(parser, data, available, marker, length, after);
    }
    return parse_aggregate(parser, marker, length, after);
}

void stoa_resp_reply_parser_init(struct stoa_resp_reply_parser *parser) {
    *parser = (struct stoa_resp_reply_parser){.complete = true};
}

void stoa_resp_reply_parser_free(struct stoa_resp_reply_parser *parser) {
    stoa_free(parser->elements);
    stoa_resp_reply_parser_init(parser);
}

int stoa_resp_reply_parse(struct stoa_resp_reply_parser *parser, const uint8_t *data, size_t length,
                          struct stoa_resp_reply *reply, size_t *used) {
    if (parser->failed) {
        return STOA_ERR_MALFORMED;
    }
    if (parser->complete) {
        parser->complete = false;
        parser->position = 0;
        parser->scan = 0;
        parser->depth = 0;
        parser->attribute_depth = 0;
        parser->element_count = 0;
        parser->elements_announced = 1;
    }
    STOA_ASSERT(parser->position <= length);
    /* Each step consumes at least three bytes ("_\r\n") or returns. */
    for (size_t round = 0; round <= length; round++) {
        int result = step(parser, data, length);
        if (result == STEP_CONTINUE) {
            continue;
        }
        if (result != STEP_DONE) {
            return result;
        }
        STOA_ASSERT(parser->element_count >= 1);
        reply->elements = parser->elements;
        reply->element_count = parser->element_count;
        *used = parser->position;
        parser->complete = true;
        return STOA_OK;
    }
    STOA_UNREACHABLE();
}
