#include "util/number.h"

#include "util/assert.h"

bool stoa_number_parse_int64(const uint8_t *text, size_t length, int64_t *value) {
    STOA_ASSERT(value != NULL && (text != NULL || length == 0));
    if (length == 0 || length > STOA_NUMBER_INT64_TEXT_BYTES_MAX) {
        return false;
    }
    if (length == 1 && text[0] == '0') {
        *value = 0;
        return true;
    }
    size_t i = text[0] == '-' ? 1 : 0;
    bool negative = i == 1;
    /* The first digit is 1-9: no sign alone, no leading zero, no "-0". */
    if (i == length || text[i] < '1' || text[i] > '9') {
        return false;
    }
    uint64_t magnitude = 0;
    /* 19 digits always fit in a uint64 (the largest is below 10^19 < 2^64), so only a 20th
     * digit needs the overflow check: the common short numbers cost no division. */
    for (; i < length; i++) {
        if (text[i] < '0' || text[i] > '9') {
            return false;
        }
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (i >= 19 && magnitude > (UINT64_MAX - digit) / 10) {
            return false;
        }
        magnitude = magnitude * 10 + digit;
    }
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (magnitude > limit) {
        return false;
    }
    *value = !negative                              ? (int64_t)magnitude
             : magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN
                                                    : -(int64_t)magnitude;
    return true;
}
