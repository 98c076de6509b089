#include "util/ulid.h"

#include <string.h>

#include "util/assert.h"
#include "util/err.h"

#define TIME_BYTES (STOA_ULID_BYTES - STOA_ULID_RANDOM_BYTES)

static const char alphabet[32] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/* The 5-bit value of a character, or -1. Crockford reads I and L as 1, O as 0; U is not
 * in the alphabet. */
static int char_value(char c) {
    if (c >= 'a' && c <= 'z') {
        c = (char)(c - 'a' + 'A');
    }
    if (c == 'I' || c == 'L') {
        return 1;
    }
    if (c == 'O') {
        return 0;
    }
    for (int i = 0; i < 32; i++) {
        if (alphabet[i] == c) {
            return i;
        }
    }
    return -1;
}

int stoa_ulid_make(int64_t unix_ms, const uint8_t *random, struct stoa_ulid *ulid) {
    STOA_ASSERT(random != NULL && ulid != NULL);
    if (unix_ms < 0 || unix_ms > STOA_ULID_TIME_MS_MAX) {
        return STOA_ERR_RANGE;
    }
    for (size_t i = 0; i < TIME_BYTES; i++) {
        ulid->bytes[i] = (uint8_t)((uint64_t)unix_ms >> (8 * (TIME_BYTES - 1 - i)));
    }
    memcpy(ulid->bytes + TIME_BYTES, random, STOA_ULID_RANDOM_BYTES);
    return STOA_OK;
}

int64_t stoa_ulid_time_ms(const struct stoa_ulid *ulid) {
    STOA_ASSERT(ulid != NULL);
    uint64_t time_ms = 0;
    for (size_t i = 0; i < TIME_BYTES; i++) {
        time_ms = (time_ms << 8) | ulid->bytes[i];
    }
    return (int64_t)time_ms;
}

int stoa_ulid_compare(const struct stoa_ulid *a, const struct stoa_ulid *b) {
    STOA_ASSERT(a != NULL && b != NULL);
    return memcmp(a->bytes, b->bytes, STOA_ULID_BYTES);
}

/* 26 characters carry 130 bits: the 128 bits of the id, right-aligned, after two zero bits.
 * Character i holds bits [5 * i - 2, 5 * i + 3) of the id counted from its first bit. */
void stoa_ulid_encode(const struct stoa_ulid *ulid, char text[STOA_ULID_TEXT_LENGTH + 1]) {
    STOA_ASSERT(ulid != NULL && text != NULL);
    unsigned accumulator = 0;
    int bits = 2; /* the two leading zero bits */
    size_t byte = 0;
    for (size_t i = 0; i < STOA_ULID_TEXT_LENGTH; i++) {
        if (bits < 5) {
            accumulator = (accumulator << 8) | ulid->bytes[byte];
            byte++;
            bits += 8;
        }
        bits -= 5;
        text[i] = alphabet[(accumulator >> bits) & 31];
    }
    STOA_ASSERT(byte == STOA_ULID_BYTES && bits == 0);
    text[STOA_ULID_TEXT_LENGTH] = '\0';
}

int stoa_ulid_decode(const char *text, size_t length, struct stoa_ulid *ulid) {
    STOA_ASSERT(text != NULL && ulid != NULL);
    if (length != STOA_ULID_TEXT_LENGTH) {
        return STOA_ERR_MALFORMED;
    }
    struct stoa_ulid result;
    unsigned accumulator = 0;
    int bits = 0;
    size_t byte = 0;
    for (size_t i = 0; i < STOA_ULID_TEXT_LENGTH; i++) {
        int value = char_value(text[i]);
        if (value < 0 || (i == 0 && value > 7)) {
            return STOA_ERR_MALFORMED;
        }
        accumulator = ((accumulator << 5) | (unsigned)value) & 0xfff;
        bits += 5;
        /* The first character carries two bits over 128 (known zero) and one real bit. */
        if (i == 0) {
            bits -= 2;
        }
        if (bits >= 8) {
            bits -= 8;
            result.bytes[byte] = (uint8_t)(accumulator >> bits);
            byte++;
        }
    }
    STOA_ASSERT(byte == STOA_ULID_BYTES && bits == 0);
    *ulid = result;
    return STOA_OK;
}

void stoa_ulid_generator_init(struct stoa_ulid_generator *generator) {
    STOA_ASSERT(generator != NULL);
    *generator = (struct stoa_ulid_generator){0};
}

/* Adds one to the 80-bit random part; false if it was all ones (then next is unchanged). */
static bool increment_random(const struct stoa_ulid *last, struct stoa_ulid *next) {
    *next = *last;
    for (size_t i = STOA_ULID_BYTES; i > TIME_BYTES; i--) {
        next->bytes[i - 1]++;
        if (next->bytes[i - 1] != 0) {
            return true;
        }
    }
    *next = *last;
    return false;
}

int stoa_ulid_generate(struct stoa_ulid_generator *generator, int64_t unix_ms,
                       const uint8_t *random, struct stoa_ulid *ulid) {
    STOA_ASSERT(generator != NULL && random != NULL && ulid != NULL);
    struct stoa_ulid next;
    int result = stoa_ulid_make(unix_ms, random, &next);
    if (result != STOA_OK) {
        return result;
    }
    bool same_or_earlier = generator->has_last && unix_ms <= stoa_ulid_time_ms(&generator->last);
    if (same_or_earlier && !increment_random(&generator->last, &next)) {
        return STOA_ERR_RANGE;
    }
    generator->last = next;
    generator->has_last = true;
    *ulid = next;
    return STOA_OK;
}
