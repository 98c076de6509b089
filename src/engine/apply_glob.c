/* Redis's glob matcher for KEYS and SCAN MATCH, without recursion and with bounded work. */
#include "engine/apply.h"
#include "util/assert.h"
#include "util/limits.h"

/* Whether the character class starting after '[' at pattern[*at] holds c; moves *at past
 * the closing ']' (or to the end: an unclosed class runs to the end, as in Redis). */
static bool class_match(const uint8_t *pattern, size_t length, size_t *at, uint8_t c,
                        size_t *steps) {
    size_t p = *at;
    bool negate = p < length && pattern[p] == '^';
    p += negate ? 1 : 0;
    bool match = false;
    while (p < length && pattern[p] != ']') {
        (*steps)++;
        if (pattern[p] == '\\' && p + 1 < length) {
            match = match || pattern[p + 1] == c;
            p += 2;
        } else if (p + 2 < length && pattern[p + 1] == '-') {
            uint8_t low = pattern[p];
            uint8_t high = pattern[p + 2];
            if (low > high) {
                uint8_t swap = low;
                low = high;
                high = swap;
            }
            match = match || (c >= low && c <= high);
            p += 3;
        } else {
            match = match || pattern[p] == c;
            p++;
        }
    }
    *at = p < length ? p + 1 : p;
    return negate ? !match : match;
}

/* Whether the single-character token at pattern[*at] (not '*') matches c; moves *at past
 * it. */
static bool token_match(const uint8_t *pattern, size_t length, size_t *at, uint8_t c,
                        size_t *steps) {
    size_t p = *at;
    switch (pattern[p]) {
    case '?':
        *at = p + 1;
        return true;
    case '[':
        *at = p + 1;
        return class_match(pattern, length, at, c, steps);
    case '\\':
        if (p + 1 < length) {
            *at = p + 2;
            return pattern[p + 1] == c;
        }
        *at = p + 1;
        return c == '\\';
    default:
        *at = p + 1;
        return pattern[p] == c;
    }
}

bool stoa_query_glob_match(const uint8_t *pattern, size_t pattern_length, const uint8_t *text,
                           size_t text_length) {
    STOA_ASSERT(pattern != NULL || pattern_length == 0);
    STOA_ASSERT(text != NULL || text_length == 0);
    size_t p = 0;
    size_t t = 0;
    size_t star_p = SIZE_MAX; /* the pattern just after the last '*' seen */
    size_t star_t = 0;        /* where in text that '*' is matched up to */
    size_t steps = 0;
    while (t < text_length) {
        if (++steps > STOA_APPLY_GLOB_STEPS_MAX) {
            return false;
        }
        if (p < pattern_length && pattern[p] == '*') {
            while (p < pattern_length && pattern[p] == '*') {
                p++;
            }
            if (p == pattern_length) {
                return true;
            }
            star_p = p;
            star_t = t;
            continue;
        }
        size_t next = p;
        if (p < pattern_length && token_match(pattern, pattern_length, &next, text[t], &steps)) {
            p = next;
            t++;
            continue;
        }
        if (star_p == SIZE_MAX) {
            return false;
        }
        /* Let the last '*' swallow one more character and retry from just after it. */
        star_t++;
        t = star_t;
        p = star_p;
    }
    while (p < pattern_length && pattern[p] == '*') {
        p++;
    }
    return p == pattern_length;
}
