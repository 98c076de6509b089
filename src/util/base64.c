#include "util/base64.h"

#include <sodium.h>

#include "util/assert.h"
#include "util/err.h"

static int sodium_variant(enum stoa_base64_variant variant) {
    switch (variant) {
    case STOA_BASE64_STANDARD:
        return sodium_base64_VARIANT_ORIGINAL;
    case STOA_BASE64_URL:
        return sodium_base64_VARIANT_URLSAFE_NO_PADDING;
    }
    STOA_UNREACHABLE();
}

size_t stoa_base64_encoded_length(size_t length, enum stoa_base64_variant variant) {
    STOA_ASSERT(length <= (SIZE_MAX - 4) / 4 * 3);
    size_t whole = length / 3 * 4;
    size_t rest = length % 3;
    if (rest == 0) {
        return whole;
    }
    /* A padded text always ends in a group of 4; an unpadded one has rest + 1 characters. */
    return whole + (variant == STOA_BASE64_STANDARD ? 4 : rest + 1);
}

size_t stoa_base64_decoded_length_max(size_t text_length) {
    return text_length / 4 * 3 + text_length % 4 * 3 / 4;
}

int stoa_base64_encode(const uint8_t *data, size_t length, enum stoa_base64_variant variant,
                       char *text, size_t text_capacity, size_t *text_length) {
    STOA_ASSERT(data != NULL || length == 0);
    STOA_ASSERT(text != NULL && text_length != NULL);
    int sodium = sodium_variant(variant);
    size_t encoded_length = stoa_base64_encoded_length(length, variant);
    /* libsodium aborts on a buffer smaller than its own bound, so check against it. */
    size_t needed = sodium_base64_encoded_len(length, sodium);
    STOA_ASSERT(needed == encoded_length + 1);
    if (text_capacity < needed) {
        return STOA_ERR_TOO_LARGE;
    }
    static const uint8_t empty[1];
    sodium_bin2base64(text, text_capacity, length > 0 ? data : empty, length, sodium);
    STOA_ASSERT(text[encoded_length] == '\0');
    *text_length = encoded_length;
    return STOA_OK;
}

/* The exact decoded length of a well-shaped text, or STOA_ERR_MALFORMED for a length no
 * encoding has. Characters are checked by libsodium afterwards. */
static int decoded_length(const char *text, size_t text_length, enum stoa_base64_variant variant,
                          size_t *length) {
    size_t rest = text_length % 4;
    if (variant == STOA_BASE64_URL) {
        if (rest == 1) {
            return STOA_ERR_MALFORMED;
        }
        *length = text_length / 4 * 3 + (rest == 0 ? 0 : rest - 1);
        return STOA_OK;
    }
    if (rest != 0) {
        return STOA_ERR_MALFORMED;
    }
    size_t padding = 0;
    if (text_length > 0 && text[text_length - 1] == '=') {
        padding = text[text_length - 2] == '=' ? 2 : 1;
    }
    *length = text_length / 4 * 3 - padding;
    return STOA_OK;
}

int stoa_base64_decode(const char *text, size_t text_length, enum stoa_base64_variant variant,
                       uint8_t *data, size_t data_capacity, size_t *length) {
    STOA_ASSERT(text != NULL || text_length == 0);
    STOA_ASSERT(data != NULL || data_capacity == 0);
    STOA_ASSERT(length != NULL);
    int sodium = sodium_variant(variant);
    size_t expected = 0;
    int result = decoded_length(text, text_length, variant, &expected);
    if (result != STOA_OK) {
        return result;
    }
    if (expected > data_capacity) {
        return STOA_ERR_TOO_LARGE;
    }
    if (text_length == 0) {
        *length = 0;
        return STOA_OK;
    }
    /* No characters to ignore, and no end pointer: libsodium then fails unless it consumed
     * the whole text, which rejects trailing garbage and extra padding. */
    size_t decoded = 0;
    if (sodium_base642bin(data, data_capacity, text, text_length, NULL, &decoded, NULL, sodium) !=
        0) {
        return STOA_ERR_MALFORMED;
    }
    /* Cannot differ for a text libsodium accepted; checked so that input never asserts. */
    if (decoded != expected) {
        return STOA_ERR_MALFORMED;
    }
    *length = decoded;
    return STOA_OK;
}
