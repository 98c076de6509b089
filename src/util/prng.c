/* xoshiro256** and splitmix64, written from Blackman and Vigna, "Scrambled Linear
 * Pseudorandom Number Generators" (2018), and Steele, Lea and Flood, "Fast Splittable
 * Pseudorandom Number Generators" (2014). */
#include "util/prng.h"

#include <string.h>

#include "util/assert.h"

static uint64_t rotate_left(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

uint64_t stoa_prng_splitmix64(uint64_t *state) {
    STOA_ASSERT(state != NULL);
    *state += UINT64_C(0x9e3779b97f4a7c15);
    uint64_t z = *state;
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void stoa_prng_init(struct stoa_prng *prng, uint64_t seed) {
    STOA_ASSERT(prng != NULL);
    uint64_t state = seed;
    for (size_t i = 0; i < 4; i++) {
        prng->state[i] = stoa_prng_splitmix64(&state);
    }
    /* splitmix64 is a bijection of distinct counters, so four outputs are never all zero
     * (the one state xoshiro cannot leave); checked anyway. */
    STOA_ASSERT((prng->state[0] | prng->state[1] | prng->state[2] | prng->state[3]) != 0);
}

uint64_t stoa_prng_next_u64(struct stoa_prng *prng) {
    STOA_ASSERT(prng != NULL);
    uint64_t *s = prng->state;
    uint64_t result = rotate_left(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotate_left(s[3], 45);
    return result;
}

uint64_t stoa_prng_below(struct stoa_prng *prng, uint64_t bound) {
    STOA_ASSERT(bound > 0);
    /* Lemire, "Fast Random Integer Generation in an Interval" (2019): the high word of
     * x * bound is uniform once the low words below 2^64 mod bound are rejected. A draw is
     * rejected with probability < bound / 2^64, so the loop ends after one or two draws. */
    unsigned __int128 product = (unsigned __int128)stoa_prng_next_u64(prng) * bound;
    uint64_t low = (uint64_t)product;
    if (low < bound) {
        uint64_t threshold = (0 - bound) % bound;
        while (low < threshold) {
            product = (unsigned __int128)stoa_prng_next_u64(prng) * bound;
            low = (uint64_t)product;
        }
    }
    return (uint64_t)(product >> 64);
}

double stoa_prng_next_double(struct stoa_prng *prng) {
    /* The top 53 bits, scaled by 2^-53: every value is a multiple of 2^-53 below 1. */
    return (double)(stoa_prng_next_u64(prng) >> 11) * 0x1.0p-53;
}

void stoa_prng_fill(struct stoa_prng *prng, void *data, size_t length) {
    STOA_ASSERT(data != NULL || length == 0);
    uint8_t *bytes = data;
    while (length > 0) {
        uint64_t word = stoa_prng_next_u64(prng);
        size_t n = length < sizeof(word) ? length : sizeof(word);
        /* Little-endian byte order, so the output is the same on every host. */
        for (size_t i = 0; i < n; i++) {
            bytes[i] = (uint8_t)(word >> (8 * i));
        }
        bytes += n;
        length -= n;
    }
}

/* Advances prng by 2^128 steps: the jump polynomial of xoshiro256, from the paper. */
static void jump(struct stoa_prng *prng) {
    static const uint64_t polynomial[4] = {
        UINT64_C(0x180ec6d33cfd0aba),
        UINT64_C(0xd5a61266f0c9392c),
        UINT64_C(0xa9582618e03fc9aa),
        UINT64_C(0x39abdc4529b1661c),
    };
    uint64_t sum[4] = {0, 0, 0, 0};
    for (size_t word = 0; word < 4; word++) {
        for (int bit = 0; bit < 64; bit++) {
            if ((polynomial[word] >> bit) & 1) {
                for (size_t i = 0; i < 4; i++) {
                    sum[i] ^= prng->state[i];
                }
            }
            (void)stoa_prng_next_u64(prng);
        }
    }
    memcpy(prng->state, sum, sizeof(sum));
}

void stoa_prng_fork(struct stoa_prng *prng, struct stoa_prng *child) {
    STOA_ASSERT(prng != NULL && child != NULL && prng != child);
    *child = *prng;
    jump(prng);
}
