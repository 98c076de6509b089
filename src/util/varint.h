/*
 * varint: unsigned LEB128 integers, the compact integers of stoa's binary formats (log
 * records, snapshots, peer frames).
 *
 * Seven bits per byte, least significant group first, the high bit set on every byte but the
 * last. A uint64 takes 1 to 10 bytes. Decoding is strict, so every value has exactly one
 * encoding and a checksum-valid record cannot smuggle in a second meaning: an encoding with
 * a redundant trailing zero group ("overlong") or one that overflows 64 bits is malformed.
 */
#ifndef STOA_UTIL_VARINT_H
#define STOA_UTIL_VARINT_H

#include <stddef.h>
#include <stdint.h>

/* The longest encoding of a uint64. */
#define STOA_VARINT_BYTES_MAX 10

/* Returns the number of bytes value takes (1..STOA_VARINT_BYTES_MAX). */
size_t stoa_varint_length(uint64_t value);

/* Writes value into out, which has room for stoa_varint_length(value) bytes; returns the
 * number of bytes written. */
size_t stoa_varint_put(uint8_t *out, uint64_t value);

/* Reads one varint from the first length bytes of data. Returns 0 and sets *value and
 * *used, STOA_ERR_AGAIN if data ends inside the varint, or STOA_ERR_MALFORMED for an
 * overlong or overflowing encoding. Outputs are untouched on failure. */
int stoa_varint_get(const uint8_t *data, size_t length, uint64_t *value, size_t *used);

#endif
