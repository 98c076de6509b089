/* The counter writes of the apply module: INCRBY and INCRBYFLOAT (apply.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/apply_int.h"
#include "util/alloc.h"
#include "util/assert.h"
#include "util/err.h"
#include "util/limits.h"

/* Stores text as the new bytes value of the key in argument 0, keeping expire_at_ms. */
static int put_text(struct apply_call *call, const char *text, size_t length,
                    int64_t expire_at_ms) {
    const struct stoa_command_argument *key = apply_argument(call, 0);
    struct stoa_value value;
    stoa_value_init(&value);
    int result = stoa_value_bytes_set(&value, text, length);
    if (result == STOA_OK) {
        result = stoa_backend_put(call->backend, call->now_ms, key->data, key->length, &value,
                                  expire_at_ms);
        stoa_value_free(&value);
    }
    if (result != STOA_OK) {
        return apply_fail(call, result,
                          result == STOA_ERR_TOO_LARGE ? "ERR key exceeds maximum allowed size"
                                                       : NULL);
    }
    return STOA_OK;
}

static int counter_error(struct apply_call *call, int code) {
    switch (code) {
    case STOA_ERR_INVALID:
        return apply_fail(call, code, APPLY_TEXT_NOT_INTEGER);
    case STOA_ERR_RANGE:
        return apply_fail(call, code, APPLY_TEXT_OVERFLOW);
    default:
        return apply_fail(call, code, NULL);
    }
}

int apply_incrby(struct apply_call *call) {
    int64_t delta = 0;
    int result = apply_int64(call, 1, &delta);
    if (result != STOA_OK) {
        return result;
    }
    const struct stoa_command_argument *key = apply_argument(call, 0);
    struct stoa_value *value = NULL;
    size_t footprint = 0;
    result = stoa_backend_lookup_for_write(call->backend, call->now_ms, key->data, key->length,
                                           &value, &footprint);
    if (result == STOA_ERR_NOT_FOUND) {
        char text[STOA_COUNTER_TEXT_BYTES_MAX + 1];
        int length = snprintf(text, sizeof(text), "%" PRId64, delta);
        STOA_ASSERT(length > 0 && (size_t)length < sizeof(text));
        result = put_text(call, text, (size_t)length, 0);
        if (result == STOA_OK) {
            apply_reply_integer(call, delta);
        }
        return result;
    }
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    int64_t number = 0;
    result = stoa_value_counter_get(value, &number);
    /* The new text may need a new block: at most the longest counter text. Reserving that
     * much up front is conservative near the limit, as Redis refuses every write there. */
    if (result == STOA_OK) {
        result = stoa_backend_reserve(call->backend, call->now_ms,
                                      STOA_ALLOC_HEADER_BYTES + STOA_COUNTER_TEXT_BYTES_MAX, value);
    }
    if (result == STOA_OK) {
        result = stoa_value_counter_add(value, delta, &number);
    }
    if (result != STOA_OK) {
        stoa_backend_release(call->backend, value);
        return counter_error(call, result);
    }
    result =
        stoa_backend_commit(call->backend, call->now_ms, key->data, key->length, value, footprint);
    if (result != STOA_OK) {
        return apply_fail(call, result, NULL);
    }
    apply_reply_integer(call, number);
    return STOA_OK;
}

/* Parses a stored value as Redis's string2ld does: the whole text, no leading space, a
 * finite result. Returns 0 or STOA_ERR_INVALID. */
static int parse_double(const uint8_t *data, size_t length, double *number) {
    char text[STOA_APPLY_FLOAT_TEXT_BYTES_MAX + 1];
    if (length == 0 || length > STOA_APPLY_FLOAT_TEXT_BYTES_MAX) {
        return STOA_ERR_INVALID;
    }
    memcpy(text, data, length);
    text[length] = '\0';
    if (memchr(text, '\0', length) != NULL || text[0] == ' ' ||
        (text[0] >= '\t' && text[0] <= '\r')) {
        return STOA_ERR_INVALID;
    }
    char *end = NULL;
    errno = 0;
    double parsed = strtod(text, &end);
    if (end != text + length || !isfinite(parsed) || (errno == ERANGE && parsed != 0)) {
        return STOA_ERR_INVALID;
    }
    *number = parsed;
    return STOA_OK;
}

/* Writes the digits of number (finite, > 0) with the fewest significant digits, at most
 * 17, that read back as the same double: *digits (no dot, no trailing zeros) and the
 * decimal exponent of the first digit. */
static void shortest_digits(double number, char digits[24], size_t *count, int *exponent) {
    char text[40];
    for (int precision = 1; precision <= 17; precision++) {
        int written = snprintf(text, sizeof(text), "%.*e", precision - 1, number);
        STOA_ASSERT(written > 0 && (size_t)written < sizeof(text));
        if (precision == 17 || strtod(text, NULL) == number) {
            break;
        }
    }
    /* text is "d.ddddde+XX" or "de+XX". */
    size_t n = 0;
    const char *p = text;
    for (; *p != 'e'; p++) {
        if (*p != '.') {
            digits[n++] = *p;
        }
    }
    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }
    *count = n;
    *exponent = (int)strtol(p + 1, NULL, 10);
}

void apply_format_double(double number, char text[STOA_APPLY_FLOAT_FORMAT_BYTES], size_t *length) {
    STOA_ASSERT(isfinite(number));
    size_t n = 0;
    if (number == 0) {
        text[0] = '0';
        *length = 1;
        return;
    }
    if (number < 0) {
        text[n++] = '-';
        number = -number;
    }
    char digits[24];
    size_t count = 0;
    int exponent = 0;
    shortest_digits(number, digits, &count, &exponent);
    if (exponent < 0) {
        text[n++] = '0';
        text[n++] = '.';
        for (int i = -1; i > exponent; i--) {
            text[n++] = '0';
        }
        memcpy(text + n, digits, count);
        n += count;
    } else {
        size_t integer_digits = (size_t)exponent + 1;
        for (size_t i = 0; i < integer_digits; i++) {
            text[n++] = i < count ? digits[i] : '0';
        }
        if (count > integer_digits) {
            text[n++] = '.';
            memcpy(text + n, digits + integer_digits, count - integer_digits);
            n += count - integer_digits;
        }
    }
    STOA_ASSERT(n < STOA_APPLY_FLOAT_FORMAT_BYTES);
    *length = n;
}

int apply_incrbyfloat(struct apply_call *call) {
    double delta = 0;
    if (stoa_op_double_get(apply_argument(call, 1), &delta) != STOA_OK) {
        return apply_fail(call, STOA_ERR_MALFORMED, NULL);
    }
    const struct stoa_value *value = NULL;
    int64_t expiry = 0;
    int result = apply_lookup(call, 0, &value, &expiry);
    if (result != STOA_OK) {
        return result;
    }
    double number = 0;
    if (value != NULL) {
        if (value->type != STOA_VALUE_BYTES) {
            return apply_fail(call, STOA_ERR_TYPE, NULL);
        }
        const uint8_t *data = NULL;
        size_t length = 0;
        stoa_value_bytes_get(value, &data, &length);
        if (parse_double(data, length, &number) != STOA_OK) {
            return apply_fail(call, STOA_ERR_INVALID, APPLY_TEXT_NOT_FLOAT);
        }
    }
    number += delta;
    if (!isfinite(number)) {
        return apply_fail(call, STOA_ERR_RANGE, APPLY_TEXT_NAN);
    }
    char text[STOA_APPLY_FLOAT_FORMAT_BYTES];
    size_t length = 0;
    apply_format_double(number, text, &length);
    result = put_text(call, text, length, expiry);
    if (result == STOA_OK) {
        apply_reply_bulk(call, (const uint8_t *)text, length);
    }
    return result;
}
