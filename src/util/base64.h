/*
 * base64: encoding and strict decoding of bytes as base64 text (RFC 4648).
 *
 * Two variants: STANDARD (alphabet "+/", padded with '=', RFC 4648 §4), for JSON bodies
 * and config values, and URL (alphabet "-_", no padding, §5), for ids in URLs. The codec is
 * libsodium's constant-time one (sodium_bin2base64, sodium_base642bin); this module checks
 * sizes first, so libsodium never aborts on a small buffer, and turns its results into
 * stoa's error codes. Decoding is strict: one canonical text per byte string (no white
 * space, exact padding, zero trailing bits), so an id decodes the same everywhere.
 *
 * Ownership: every buffer is the caller's and borrowed for the call. On a decode error
 * *length is untouched, but the bytes of data may have been partly written.
 */
#ifndef STOA_UTIL_BASE64_H
#define STOA_UTIL_BASE64_H

#include <stddef.h>
#include <stdint.h>

enum stoa_base64_variant {
    STOA_BASE64_STANDARD = 1, /* "+/", padded */
    STOA_BASE64_URL = 2,      /* "-_", not padded */
};

/* Characters the text of length bytes takes, without the NUL. Asserts that it fits in a
 * size_t. */
size_t stoa_base64_encoded_length(size_t length, enum stoa_base64_variant variant);

/* The most bytes text_length characters can decode to (the exact count is at most 2 less). */
size_t stoa_base64_decoded_length_max(size_t text_length);

/* Writes the text of data and a NUL into text, which has text_capacity bytes (at least
 * stoa_base64_encoded_length + 1). Sets *text_length (without the NUL). Returns 0, or
 * STOA_ERR_TOO_LARGE when text is too small (nothing written). */
int stoa_base64_encode(const uint8_t *data, size_t length, enum stoa_base64_variant variant,
                       char *text, size_t text_capacity, size_t *text_length);

/* Decodes exactly text_length characters into data (data_capacity bytes) and sets *length.
 * Returns 0; STOA_ERR_MALFORMED for a character outside the alphabet, missing, extra or
 * misplaced padding, a length no encoding has, non-zero trailing bits or trailing garbage;
 * STOA_ERR_TOO_LARGE when the decoded bytes do not fit in data_capacity. */
int stoa_base64_decode(const char *text, size_t text_length, enum stoa_base64_variant variant,
                       uint8_t *data, size_t data_capacity, size_t *length);

#endif
