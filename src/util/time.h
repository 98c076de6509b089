/*
 * time: the units and conversions of time in stoa.
 *
 * stoa keeps time as int64_t counts with the unit last in the name: unix_ms (real time,
 * milliseconds since 1970 UTC), monotonic_ns (a clock that never goes back, from an
 * arbitrary origin), duration_ms. Nothing here reads a clock: clocks come from the env
 * (env.h), so the simulator can drive them.
 */
#ifndef STOA_UTIL_TIME_H
#define STOA_UTIL_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "util/limits.h"

#define STOA_NS_PER_US INT64_C(1000)
#define STOA_NS_PER_MS INT64_C(1000000)
#define STOA_NS_PER_S INT64_C(1000000000)
#define STOA_MS_PER_S INT64_C(1000)

/* Writes unix_ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into text, which has room for
 * STOA_TIME_RFC3339_BYTES. Years outside 0..9999 are clamped to that range. */
void stoa_time_format_rfc3339(int64_t unix_ms, char text[STOA_TIME_RFC3339_BYTES]);

/* Parses a duration: a non-negative integer with a unit, "ms", "s", "m" or "h" ("250ms",
 * "20s", "5m", "1h"), or a bare integer meaning seconds (as Nomad's config has it). Parses
 * exactly length bytes. Returns 0, STOA_ERR_MALFORMED, or STOA_ERR_RANGE if the result does
 * not fit in int64 milliseconds. duration_ms is untouched on failure. */
int stoa_duration_parse(const char *text, size_t length, int64_t *duration_ms);

#endif
