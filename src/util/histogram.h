/*
 * histogram: a latency histogram with fixed bucket bounds, for metrics.
 *
 * The bounds (microseconds) are Prometheus-style upper bounds, from 50 µs to 1 s, with one
 * more bucket for everything above; counts are per bucket, not cumulative (a metrics writer
 * accumulates them). Observing is a short scan and three additions: cheap enough for every
 * fsync and every request. A histogram is a plain value: zero it to start.
 */
#ifndef STOA_UTIL_HISTOGRAM_H
#define STOA_UTIL_HISTOGRAM_H

#include <stdint.h>

#define STOA_HISTOGRAM_BUCKETS 14

struct stoa_histogram {
    uint64_t buckets[STOA_HISTOGRAM_BUCKETS + 1]; /* the last one is +Inf */
    uint64_t count;
    uint64_t sum_us;
};

/* The buckets' upper bounds in microseconds, ascending. */
extern const uint64_t stoa_histogram_bounds_us[STOA_HISTOGRAM_BUCKETS];

void stoa_histogram_observe(struct stoa_histogram *histogram, uint64_t us);

#endif
