/*
 * prng: a small, fast, seeded pseudo-random generator (xoshiro256**).
 *
 * Everything that needs reproducible randomness uses it: the simulator draws every fault
 * from one seed, election timeouts are jittered from a stream the env seeds, and tests
 * replay failures from a printed seed. It is NOT cryptographic: keys, tokens and node ids
 * come from env random_bytes (libsodium in src/os), never from here.
 *
 * The state is seeded through splitmix64, so any 64-bit seed (0 included) gives a good,
 * non-zero state. stoa_prng_fork splits off an independent sub-stream with the xoshiro
 * jump function (2^128 steps ahead), so a simulator can give each node its own stream that
 * never overlaps another's, and adding draws to one node does not shift the others.
 *
 * Ownership: a struct stoa_prng is a plain value with no allocation; copy it freely (a copy
 * repeats the same sequence). docs/decisions/prng.md says why this generator.
 */
#ifndef STOA_UTIL_PRNG_H
#define STOA_UTIL_PRNG_H

#include <stddef.h>
#include <stdint.h>

struct stoa_prng {
    uint64_t state[4];
};

/* Seeds the generator; the same seed always gives the same sequence. */
void stoa_prng_init(struct stoa_prng *prng, uint64_t seed);

uint64_t stoa_prng_next_u64(struct stoa_prng *prng);

/* A uniform value in [0, bound), bound > 0, without modulo bias (Lemire's method). */
uint64_t stoa_prng_below(struct stoa_prng *prng, uint64_t bound);

/* A uniform double in [0, 1) with 53 random bits. */
double stoa_prng_next_double(struct stoa_prng *prng);

/* Fills length bytes of data with random bytes. */
void stoa_prng_fill(struct stoa_prng *prng, void *data, size_t length);

/* Makes child a sub-stream that does not overlap prng's: child takes prng's next 2^128
 * outputs and prng jumps past them. Deterministic: the same parent state gives the same
 * child. */
void stoa_prng_fork(struct stoa_prng *prng, struct stoa_prng *child);

/* splitmix64: advances *state and returns the next output. Used for seeding; also handy to
 * derive one seed from another. */
uint64_t stoa_prng_splitmix64(uint64_t *state);

#endif
