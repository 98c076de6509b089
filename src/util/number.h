/*
 * number: decimal integers as Redis reads them (its string2ll), in one place for every
 * protocol and command parser.
 */
#ifndef STOA_UTIL_NUMBER_H
#define STOA_UTIL_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text of an int64, "-9223372036854775808": Redis's LONG_STR_SIZE is 21 and a text
 * of 21 bytes or more is refused before it is read. */
#define STOA_NUMBER_INT64_TEXT_BYTES_MAX 20

/* Reads exactly length bytes as an int64: an optional '-', then "0" alone or digits without
 * a leading zero ("-0", "+1", " 1", "01" are refused), within int64. Returns false (and
 * leaves *value) for anything else. */
bool stoa_number_parse_int64(const uint8_t *text, size_t length, int64_t *value);

#endif
