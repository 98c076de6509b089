/* The RESP writer (proto/resp.h): replies appended to a connection's output buffer. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/resp.h"
#include "util/assert.h"
#include "util/err.h"

/* A header: a type byte, a decimal number of at most 20 characters, CRLF, and room for a
 * verbatim string's "txt:" after it. */
#define HEADER_BYTES_MAX 32

static struct stoa_resp_writer *writer_of(struct stoa_reply *reply) {
    return reply->self;
}

/* Writes value in decimal at text and returns the length. */
static size_t format_unsigned(char *text, uint64_t value) {
    char reversed[20];
    size_t length = 0;
    do {
        reversed[length++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (size_t i = 0; i < length; i++) {
        text[i] = reversed[length - 1 - i];
    }
    return length;
}

static size_t format_signed(char *text, int64_t value) {
    if (value >= 0) {
        return format_unsigned(text, (uint64_t)value);
    }
    text[0] = '-';
    /* The magnitude of INT64_MIN does not fit int64, so negate in uint64. */
    return 1 + format_unsigned(text + 1, 0 - (uint64_t)value);
}

/* "<type><number>\r\n" into header; returns its length. */
static size_t format_header(char header[HEADER_BYTES_MAX], char type, int64_t number) {
    header[0] = type;
    size_t length = 1 + format_signed(header + 1, number);
    header[length++] = '\r';
    header[length++] = '\n';
    return length;
}

static int64_t count_number(size_t count) {
    STOA_ASSERT(count <= (size_t)INT64_MAX);
    return (int64_t)count;
}

/* Appends head, then body and CRLF if body is not NULL, as one element: the room for all of
 * it is reserved first, so the element is written whole or not at all. */
static void put(struct stoa_resp_writer *writer, const char *head, size_t head_length,
                const void *body, size_t body_length) {
    if (writer->error != STOA_OK) {
        return;
    }
    size_t tail = body != NULL ? 2 : 0;
    if (body_length > SIZE_MAX - head_length - tail) {
        writer->error = STOA_ERR_TOO_LARGE;
        return;
    }
    int result = stoa_buf_reserve(writer->buf, head_length + body_length + tail);
    if (result != STOA_OK) {
        writer->error = result;
        return;
    }
    /* Appends within reserved room cannot fail. */
    result = stoa_buf_append(writer->buf, head, head_length);
    if (body != NULL) {
        result |= stoa_buf_append(writer->buf, body, body_length);
        result |= stoa_buf_append(writer->buf, "\r\n", 2);
    }
    STOA_ASSERT(result == STOA_OK);
}

/* "<type><text>\r\n" with each CR or LF of text written as a space. */
static void put_line(struct stoa_resp_writer *writer, char type, const char *text) {
    if (writer->error != STOA_OK) {
        return;
    }
    size_t length = strlen(text);
    int result = stoa_buf_reserve(writer->buf, 1 + length + 2);
    if (result != STOA_OK) {
        writer->error = result;
        return;
    }
    result = stoa_buf_append(writer->buf, &type, 1);
    size_t start = 0;
    while (start < length) {
        size_t span = strcspn(text + start, "\r\n");
        result |= stoa_buf_append(writer->buf, text + start, span);
        start += span;
        if (start < length) {
            result |= stoa_buf_append(writer->buf, " ", 1);
            start++;
        }
    }
    result |= stoa_buf_append(writer->buf, "\r\n", 2);
    STOA_ASSERT(result == STOA_OK);
}

static void put_header(struct stoa_resp_writer *writer, char type, int64_t number) {
    char header[HEADER_BYTES_MAX];
    put(writer, header, format_header(header, type, number), NULL, 0);
}

static void put_literal(struct stoa_resp_writer *writer, const char *text) {
    put(writer, text, strlen(text), NULL, 0);
}

static bool is_resp3(const struct stoa_resp_writer *writer) {
    return writer->version == STOA_RESP_VERSION_3;
}

void stoa_resp_write_status(struct stoa_resp_writer *writer, const char *text) {
    STOA_ASSERT(text != NULL);
    put_line(writer, '+', text);
}

void stoa_resp_write_error(struct stoa_resp_writer *writer, const char *text) {
    STOA_ASSERT(text != NULL);
    put_line(writer, '-', text);
}

void stoa_resp_write_integer(struct stoa_resp_writer *writer, int64_t value) {
    put_header(writer, ':', value);
}

void stoa_resp_write_bulk(struct stoa_resp_writer *writer, const uint8_t *data, size_t length) {
    STOA_ASSERT(data != NULL || length == 0);
    char header[HEADER_BYTES_MAX];
    size_t header_length = format_header(header, '$', count_number(length));
    put(writer, header, header_length, data != NULL ? (const void *)data : "", length);
}

void stoa_resp_write_null_bulk(struct stoa_resp_writer *writer) {
    put_literal(writer, is_resp3(writer) ? "_\r\n" : "$-1\r\n");
}

void stoa_resp_write_array(struct stoa_resp_writer *writer, size_t count) {
    put_header(writer, '*', count_number(count));
}

void stoa_resp_write_null_array(struct stoa_resp_writer *writer) {
    put_literal(writer, is_resp3(writer) ? "_\r\n" : "*-1\r\n");
}

void stoa_resp_write_map(struct stoa_resp_writer *writer, size_t count) {
    if (is_resp3(writer)) {
        put_header(writer, '%', count_number(count));
        return;
    }
    STOA_ASSERT(count <= (size_t)INT64_MAX / 2);
    put_header(writer, '*', count_number(count * 2));
}

void stoa_resp_write_set(struct stoa_resp_writer *writer, size_t count) {
    put_header(writer, is_resp3(writer) ? '~' : '*', count_number(count));
}

void stoa_resp_write_double(struct stoa_resp_writer *writer, double value) {
    char text[STOA_RESP_DOUBLE_TEXT_BYTES_MAX];
    size_t length = stoa_resp_format_double(value, text);
    if (is_resp3(writer)) {
        char line[STOA_RESP_DOUBLE_TEXT_BYTES_MAX + 3];
        line[0] = ',';
        memcpy(line + 1, text, length);
        memcpy(line + 1 + length, "\r\n", 2);
        put(writer, line, length + 3, NULL, 0);
        return;
    }
    stoa_resp_write_bulk(writer, (const uint8_t *)text, length);
}

void stoa_resp_write_verbatim(struct stoa_resp_writer *writer, const char *format,
                              const uint8_t *data, size_t length) {
    STOA_ASSERT(format != NULL && strlen(format) == 3);
    if (!is_resp3(writer)) {
        stoa_resp_write_bulk(writer, data, length);
        return;
    }
    STOA_ASSERT(data != NULL || length == 0);
    STOA_ASSERT(length <= SIZE_MAX - 4);
    char header[HEADER_BYTES_MAX];
    size_t header_length = format_header(header, '=', count_number(length + 4));
    memcpy(header + header_length, format, 3);
    header[header_length + 3] = ':';
    put(writer, header, header_length + 4, data != NULL ? (const void *)data : "", length);
}

void stoa_resp_write_boolean(struct stoa_resp_writer *writer, bool value) {
    if (is_resp3(writer)) {
        put_literal(writer, value ? "#t\r\n" : "#f\r\n");
        return;
    }
    stoa_resp_write_integer(writer, value ? 1 : 0);
}

void stoa_resp_write_null(struct stoa_resp_writer *writer) {
    stoa_resp_write_null_bulk(writer);
}

/* ---- doubles, as Redis's d2string ---- */

/* The shortest decimal digits that read back as value (> 0, finite): *digits without dot
 * or trailing zeros, and value = 0.<digits> x 10^(*exponent + 1), i.e. the first digit's
 * power of ten is *exponent. */
static size_t shortest_digits(double value, char digits[24], int *exponent) {
    char text[40];
    for (int precision = 0; precision <= 16; precision++) {
        snprintf(text, sizeof(text), "%.*e", precision, value);
        if (strtod(text, NULL) == value) {
            break;
        }
    }
    /* text is "d[.ddd]e[+-]xx". */
    size_t count = 0;
    const char *cursor = text;
    for (; *cursor != 'e'; cursor++) {
        if (*cursor != '.') {
            digits[count++] = *cursor;
        }
    }
    *exponent = (int)strtol(cursor + 1, NULL, 10);
    while (count > 1 && digits[count - 1] == '0') {
        count--;
    }
    return count;
}

/* fpconv_dtoa's exponent notation: "d[.ddd]e[+-]x", the exponent without leading zeros. */
static size_t format_scientific(char *text, const char *digits, size_t count, int exponent) {
    size_t length = 0;
    text[length++] = digits[0];
    if (count > 1) {
        text[length++] = '.';
        memcpy(text + length, digits + 1, count - 1);
        length += count - 1;
    }
    text[length++] = 'e';
    text[length++] = exponent < 0 ? '-' : '+';
    return length + format_unsigned(text + length, (uint64_t)abs(exponent));
}

/* Lays out digits (the value is 0.<digits> x 10^(exponent + 1)) as fpconv's emit_digits
 * does: plain integers up to seven zeros past the digits, plain decimals down to 1e-6 (or
 * when the exponent is small), exponent notation otherwise. */
static size_t layout_digits(char *text, const char *digits, size_t count, int exponent) {
    int k = exponent - (int)count + 1; /* value = digits x 10^k */
    int magnitude = abs(exponent);
    if (k >= 0 && magnitude < (int)count + 7) {
        memcpy(text, digits, count);
        memset(text + count, '0', (size_t)k);
        return count + (size_t)k;
    }
    if (k < 0 && (k > -7 || magnitude < 4)) {
        int whole = (int)count + k; /* digits before the dot */
        if (whole <= 0) {
            size_t zeros = (size_t)-whole;
            memcpy(text, "0.", 2);
            memset(text + 2, '0', zeros);
            memcpy(text + 2 + zeros, digits, count);
            return 2 + zeros + count;
        }
        memcpy(text, digits, (size_t)whole);
        text[whole] = '.';
        memcpy(text + whole + 1, digits + whole, count - (size_t)whole);
        return count + 1;
    }
    return format_scientific(text, digits, count, exponent);
}

size_t stoa_resp_format_double(double value, char text[STOA_RESP_DOUBLE_TEXT_BYTES_MAX]) {
    if (isnan(value)) {
        memcpy(text, "nan", 3);
        return 3;
    }
    if (isinf(value)) {
        memcpy(text, value < 0 ? "-inf" : "inf", value < 0 ? 4 : 3);
        return value < 0 ? 4 : 3;
    }
    if (value == 0) {
        memcpy(text, signbit(value) ? "-0" : "0", signbit(value) ? 2 : 1);
        return signbit(value) ? 2 : 1;
    }
    /* Redis prints integral values within +-2^62 as integers (double2ll). */
    double limit = (double)(INT64_MAX / 2);
    if (value >= -limit && value <= limit && (double)(int64_t)value == value) {
        return format_signed(text, (int64_t)value);
    }
    size_t length = 0;
    if (value < 0) {
        text[length++] = '-';
        value = -value;
    }
    char digits[24];
    int exponent = 0;
    size_t count = shortest_digits(value, digits, &exponent);
    return length + layout_digits(text + length, digits, count, exponent);
}

/* ---- struct stoa_reply ---- */

static void reply_status(struct stoa_reply *reply, const char *text) {
    stoa_resp_write_status(writer_of(reply), text);
}

static void reply_error(struct stoa_reply *reply, int code, const char *text) {
    STOA_ASSERT(code < 0);
    stoa_resp_write_error(writer_of(reply), text);
}

static void reply_integer(struct stoa_reply *reply, int64_t value) {
    stoa_resp_write_integer(writer_of(reply), value);
}

static void reply_bulk(struct stoa_reply *reply, const uint8_t *data, size_t length) {
    stoa_resp_write_bulk(writer_of(reply), data, length);
}

static void reply_null_bulk(struct stoa_reply *reply) {
    stoa_resp_write_null_bulk(writer_of(reply));
}

static void reply_array(struct stoa_reply *reply, size_t count) {
    stoa_resp_write_array(writer_of(reply), count);
}

static void reply_null_array(struct stoa_reply *reply) {
    stoa_resp_write_null_array(writer_of(reply));
}

static const struct stoa_reply_ops writer_ops = {
    .status = reply_status,
    .error = reply_error,
    .integer = reply_integer,
    .bulk = reply_bulk,
    .null_bulk = reply_null_bulk,
    .array = reply_array,
    .null_array = reply_null_array,
};

void stoa_resp_writer_init(struct stoa_resp_writer *writer, struct stoa_buf *buf, int version) {
    STOA_ASSERT(writer != NULL && buf != NULL);
    writer->reply.ops = &writer_ops;
    writer->reply.self = writer;
    writer->buf = buf;
    writer->error = STOA_OK;
    stoa_resp_writer_set_version(writer, version);
}

void stoa_resp_writer_set_version(struct stoa_resp_writer *writer, int version) {
    STOA_ASSERT(version == STOA_RESP_VERSION_2 || version == STOA_RESP_VERSION_3);
    writer->version = version;
}
