#include "cli/print.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/err.h"

/* The text of a number ("(integer) -9223372036854775808", an index prefix). */
#define NUMBER_TEXT_BYTES 64

/* One open aggregate: which child comes next, and how its children are indented. */
struct frame {
    size_t children; /* entries to print: count, or 2 * count for a map */
    size_t next;     /* children printed so far */
    size_t prefix;   /* columns of indentation of the aggregate's own lines */
    int index_width; /* digits of the largest index */
    char separator;  /* ')' '~' '#' */
    bool map;
};

struct printer {
    struct stoa_buf *out;
    const uint8_t *data;
    const struct stoa_resp_reply_element *elements;
    size_t cursor;        /* the next element to print */
    bool newline_pending; /* a line ended; its '\n' is written before the next text */
    int error;            /* the first error from out */
    struct frame stack[STOA_RESP_REPLY_DEPTH_MAX];
    size_t depth;
};

static void append(struct printer *printer, const void *bytes, size_t length) {
    if (printer->error == STOA_OK && length > 0) {
        printer->error = stoa_buf_append(printer->out, bytes, length);
    }
}

/* Appends bytes, after the '\n' of a line that ended before them. */
static void put(struct printer *printer, const void *bytes, size_t length) {
    if (printer->newline_pending) {
        printer->newline_pending = false;
        append(printer, "\n", 1);
    }
    append(printer, bytes, length);
}

static void put_text(struct printer *printer, const char *text) {
    put(printer, text, strlen(text));
}

static void put_spaces(struct printer *printer, size_t count) {
    static const char spaces[] = "                                ";
    while (count > 0) {
        size_t piece = count < sizeof(spaces) - 1 ? count : sizeof(spaces) - 1;
        put(printer, spaces, piece);
        count -= piece;
    }
}

static void put_element_text(struct printer *printer,
                             const struct stoa_resp_reply_element *element) {
    put(printer, printer->data + element->offset, element->length);
}

/* A bulk string quoted as Redis's sdscatrepr quotes it. */
static void put_quoted(struct printer *printer, const uint8_t *bytes, size_t length) {
    put(printer, "\"", 1);
    for (size_t i = 0; i < length; i++) {
        uint8_t byte = bytes[i];
        char text[8];
        const char *escape = NULL;
        switch (byte) {
        case '\\':
            escape = "\\\\";
            break;
        case '"':
            escape = "\\\"";
            break;
        case '\n':
            escape = "\\n";
            break;
        case '\r':
            escape = "\\r";
            break;
        case '\t':
            escape = "\\t";
            break;
        case '\a':
            escape = "\\a";
            break;
        case '\b':
            escape = "\\b";
            break;
        default:
            break;
        }
        if (escape == NULL && byte >= 0x20 && byte < 0x7f) {
            put(printer, &byte, 1);
            continue;
        }
        if (escape == NULL) {
            snprintf(text, sizeof(text), "\\x%02x", byte);
            escape = text;
        }
        put_text(printer, escape);
    }
    put(printer, "\"", 1);
}

static bool is_aggregate(const struct stoa_resp_reply_element *element) {
    return element->type == STOA_RESP_REPLY_ARRAY || element->type == STOA_RESP_REPLY_MAP ||
           element->type == STOA_RESP_REPLY_SET || element->type == STOA_RESP_REPLY_PUSH;
}

static const char *empty_text(enum stoa_resp_reply_type type) {
    if (type == STOA_RESP_REPLY_MAP) {
        return "(empty hash)";
    }
    if (type == STOA_RESP_REPLY_SET) {
        return "(empty set)";
    }
    return type == STOA_RESP_REPLY_PUSH ? "(empty push)" : "(empty array)";
}

/* A scalar, or an empty aggregate, as its TTY line without the '\n'. */
static void put_tty_scalar(struct printer *printer, const struct stoa_resp_reply_element *element) {
    char number[NUMBER_TEXT_BYTES];
    switch (element->type) {
    case STOA_RESP_REPLY_STATUS:
    case STOA_RESP_REPLY_VERBATIM:
        put_element_text(printer, element);
        return;
    case STOA_RESP_REPLY_ERROR:
        put_text(printer, "(error) ");
        put_element_text(printer, element);
        return;
    case STOA_RESP_REPLY_INTEGER:
        snprintf(number, sizeof(number), "(integer) %lld", (long long)element->integer);
        put_text(printer, number);
        return;
    case STOA_RESP_REPLY_BULK:
        put_quoted(printer, printer->data + element->offset, element->length);
        return;
    case STOA_RESP_REPLY_NULL:
        put_text(printer, "(nil)");
        return;
    case STOA_RESP_REPLY_DOUBLE:
        put_text(printer, "(double) ");
        put_element_text(printer, element);
        return;
    case STOA_RESP_REPLY_BOOLEAN:
        put_text(printer, element->integer != 0 ? "(true)" : "(false)");
        return;
    case STOA_RESP_REPLY_BIG_NUMBER:
        put_text(printer, "(big number) ");
        put_element_text(printer, element);
        return;
    case STOA_RESP_REPLY_ARRAY:
    case STOA_RESP_REPLY_MAP:
    case STOA_RESP_REPLY_SET:
    case STOA_RESP_REPLY_PUSH:
        put_text(printer, empty_text(element->type));
        return;
    }
}

/* redis-cli's cliIsMultilineValueTTY: whether the element prints on more than one line
 * (an aggregate of several entries, or of one entry that does). Follows one child a level. */
static bool is_multiline(const struct printer *printer, size_t index) {
    for (size_t level = 0; level <= STOA_RESP_REPLY_DEPTH_MAX; level++) {
        const struct stoa_resp_reply_element *element = &printer->elements[index];
        if (!is_aggregate(element) || element->count == 0) {
            return false;
        }
        if (element->count > 1) {
            return true;
        }
        /* One child; for a map, its one value, after the key's subtree. */
        index = element->type == STOA_RESP_REPLY_MAP ? index + 1 + printer->elements[index + 1].span
                                                     : index + 1;
    }
    return false;
}

/* Prints the element at the cursor with its first line already prefixed: a scalar ends its
 * line, a non-empty aggregate opens a frame whose children indent by prefix columns. */
static void visit_tty(struct printer *printer, size_t prefix) {
    const struct stoa_resp_reply_element *element = &printer->elements[printer->cursor++];
    if (!is_aggregate(element) || element->count == 0) {
        put_tty_scalar(printer, element);
        printer->newline_pending = true;
        return;
    }
    STOA_ASSERT(printer->depth < STOA_RESP_REPLY_DEPTH_MAX);
    bool map = element->type == STOA_RESP_REPLY_MAP;
    int index_width = 0;
    for (size_t count = element->count; index_width == 0 || count > 0; count /= 10) {
        index_width++;
    }
    char separator = map ? '#' : element->type == STOA_RESP_REPLY_SET ? '~' : ')';
    printer->stack[printer->depth++] = (struct frame){.children = element->count * (map ? 2 : 1),
                                                      .prefix = prefix,
                                                      .index_width = index_width,
                                                      .separator = separator,
                                                      .map = map};
}

/* The next child of the top frame: its index prefix (or " => " for a map's value), then the
 * child itself. */
static void next_tty_child(struct printer *printer) {
    struct frame *frame = &printer->stack[printer->depth - 1];
    size_t child = frame->next++;
    size_t child_prefix = frame->prefix + (size_t)frame->index_width + 2;
    if (frame->map && child % 2 == 1) {
        printer->newline_pending = false; /* the key's line goes on */
        put_text(printer, " => ");
        if (is_multiline(printer, printer->cursor)) {
            put_text(printer, "\n");
            put_spaces(printer, child_prefix);
        }
        visit_tty(printer, child_prefix);
        return;
    }
    if (child > 0) {
        put_spaces(printer, frame->prefix);
    }
    char number[NUMBER_TEXT_BYTES];
    snprintf(number, sizeof(number), "%*zu%c ", frame->index_width,
             (frame->map ? child / 2 : child) + 1, frame->separator);
    put_text(printer, number);
    visit_tty(printer, child_prefix);
}

static void print_tty(struct printer *printer, size_t element_count) {
    visit_tty(printer, 0);
    /* Each round prints one element or closes one frame. */
    for (size_t round = 0; round < 2 * element_count && printer->depth > 0; round++) {
        struct frame *frame = &printer->stack[printer->depth - 1];
        if (frame->next == frame->children) {
            printer->depth--;
            continue;
        }
        next_tty_child(printer);
    }
    STOA_ASSERT(printer->depth == 0 && printer->cursor == element_count);
}

/* A scalar in raw mode: the value alone, an error followed by a newline, nil as nothing. */
static void put_raw_scalar(struct printer *printer, const struct stoa_resp_reply_element *element) {
    char number[NUMBER_TEXT_BYTES];
    switch (element->type) {
    case STOA_RESP_REPLY_NULL:
        return;
    case STOA_RESP_REPLY_ERROR:
        put_element_text(printer, element);
        put_text(printer, "\n");
        return;
    case STOA_RESP_REPLY_BOOLEAN:
        put_text(printer, element->integer != 0 ? "(true)" : "(false)");
        return;
    case STOA_RESP_REPLY_INTEGER:
        snprintf(number, sizeof(number), "%lld", (long long)element->integer);
        put_text(printer, number);
        return;
    case STOA_RESP_REPLY_STATUS:
    case STOA_RESP_REPLY_BULK:
    case STOA_RESP_REPLY_VERBATIM:
    case STOA_RESP_REPLY_DOUBLE:
    case STOA_RESP_REPLY_BIG_NUMBER:
        put_element_text(printer, element);
        return;
    case STOA_RESP_REPLY_ARRAY:
    case STOA_RESP_REPLY_MAP:
    case STOA_RESP_REPLY_SET:
    case STOA_RESP_REPLY_PUSH:
        return; /* empty: prints nothing */
    }
}

static void visit_raw(struct printer *printer) {
    const struct stoa_resp_reply_element *element = &printer->elements[printer->cursor++];
    if (!is_aggregate(element) || element->count == 0) {
        put_raw_scalar(printer, element);
        return;
    }
    STOA_ASSERT(printer->depth < STOA_RESP_REPLY_DEPTH_MAX);
    bool map = element->type == STOA_RESP_REPLY_MAP;
    printer->stack[printer->depth++] =
        (struct frame){.children = element->count * (map ? 2 : 1), .map = map};
}

static void print_raw(struct printer *printer, size_t element_count) {
    visit_raw(printer);
    for (size_t round = 0; round < 2 * element_count && printer->depth > 0; round++) {
        struct frame *frame = &printer->stack[printer->depth - 1];
        if (frame->next == frame->children) {
            printer->depth--;
            continue;
        }
        size_t child = frame->next++;
        if (child > 0) {
            put_text(printer, frame->map && child % 2 == 1 ? " " : "\n");
        }
        visit_raw(printer);
    }
    STOA_ASSERT(printer->depth == 0 && printer->cursor == element_count);
    put_text(printer, "\n");
}

int stoa_cli_print_reply(struct stoa_buf *out, const struct stoa_resp_reply *reply,
                         const uint8_t *data, enum stoa_cli_print_mode mode) {
    STOA_ASSERT(reply->element_count >= 1 && reply->elements[0].span == reply->element_count);
    struct printer printer = {.out = out, .data = data, .elements = reply->elements};
    if (mode == STOA_CLI_PRINT_TTY) {
        print_tty(&printer, reply->element_count);
        put_text(&printer, ""); /* writes the last pending newline */
    } else {
        print_raw(&printer, reply->element_count);
    }
    return printer.error;
}
