/*
 * bytes: fixed-width little-endian integers in byte arrays, for stoa's file and wire formats
 * (log records, snapshots, command arguments, session keys). Every format is little-endian
 * whatever the machine, and goes through these, so no format open-codes its shifts.
 */
#ifndef STOA_UTIL_BYTES_H
#define STOA_UTIL_BYTES_H

#include <stdint.h>

static inline void stoa_bytes_put_u32(uint8_t out[4], uint32_t value) {
    for (int i = 0; i < 4; i++) {
        out[i] = (uint8_t)(value >> (8 * i));
    }
}

static inline void stoa_bytes_put_u64(uint8_t out[8], uint64_t value) {
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(value >> (8 * i));
    }
}

static inline uint32_t stoa_bytes_get_u32(const uint8_t data[4]) {
    uint32_t value = 0;
    for (int i = 0; i < 4; i++) {
        value |= (uint32_t)data[i] << (8 * i);
    }
    return value;
}

static inline uint64_t stoa_bytes_get_u64(const uint8_t data[8]) {
    uint64_t value = 0;
    for (int i = 0; i < 8; i++) {
        value |= (uint64_t)data[i] << (8 * i);
    }
    return value;
}

#endif
