/*
 * assert: programmer-error checks that are always compiled in.
 *
 * STOA_ASSERT(expression) checks an argument or an invariant in every build; when it fails
 * it prints the expression, file and line as a JSON log line on standard error and aborts.
 * STOA_DEBUG_ASSERT is for O(n) checks and runs only in Debug and simulator builds
 * (STOA_DEBUG=1). Bad input from a client, a peer or a file is never asserted: it is an
 * error return (err.h).
 */
#ifndef STOA_UTIL_ASSERT_H
#define STOA_UTIL_ASSERT_H

#ifndef STOA_DEBUG
#define STOA_DEBUG 0
#endif

_Noreturn void stoa_assert_fail(const char *expression, const char *file, int line);

#define STOA_ASSERT(expression)                                                                    \
    do {                                                                                           \
        if (__builtin_expect(!(expression), 0)) {                                                  \
            stoa_assert_fail(#expression, __FILE__, __LINE__);                                     \
        }                                                                                          \
    } while (0)

#if STOA_DEBUG
#define STOA_DEBUG_ASSERT(expression) STOA_ASSERT(expression)
#else
#define STOA_DEBUG_ASSERT(expression) ((void)sizeof(!(expression)))
#endif

/* Marks a point the code can never reach. */
#define STOA_UNREACHABLE() stoa_assert_fail("unreachable", __FILE__, __LINE__)

#endif
