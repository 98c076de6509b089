/*
 * http_metrics: latency histograms and the Prometheus text exposition format (version
 * 0.0.4) for the HTTP door's /metrics.
 *
 * A histogram counts observations in microseconds into fixed buckets whose upper bounds are
 * stoa_http_histogram_bounds_us (50 us .. 1 s, then +Inf); it is written in seconds, as
 * Prometheus expects ("_bucket{le=...}" cumulative, "_sum", "_count").
 *
 * The writer appends to a buffer; a failed append (the buffer's limit) is kept as a sticky
 * error the caller checks once at the end. Label values are escaped as the format says
 * (backslash, double quote and newline).
 *
 * Pure: no I/O, no clock. Ownership: the writer borrows its buffer.
 */
#ifndef STOA_PROTO_HTTP_METRICS_H
#define STOA_PROTO_HTTP_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/limits.h"

struct stoa_http_histogram {
    uint64_t buckets[STOA_HTTP_HISTOGRAM_BUCKETS + 1]; /* not cumulative; the last is +Inf */
    uint64_t count;
    uint64_t sum_us;
};

/* The buckets' upper bounds in microseconds, ascending. */
extern const uint64_t stoa_http_histogram_bounds_us[STOA_HTTP_HISTOGRAM_BUCKETS];

void stoa_http_histogram_observe(struct stoa_http_histogram *histogram, uint64_t us);

struct stoa_http_metrics_writer {
    struct stoa_buf *out;
    int error; /* 0, or the first append error */
};

void stoa_http_metrics_writer_init(struct stoa_http_metrics_writer *writer, struct stoa_buf *out);

/* "# HELP name help" and "# TYPE name type" (type: counter, gauge, histogram). */
void stoa_http_metrics_family(struct stoa_http_metrics_writer *writer, const char *name,
                              const char *type, const char *help);

/* One sample: name{label="value"} number. label may be NULL (no labels). */
void stoa_http_metrics_sample(struct stoa_http_metrics_writer *writer, const char *name,
                              const char *label, const char *label_value, double value);

/* A histogram's samples: name_bucket{label="value",le="..."} (cumulative), name_sum (seconds)
 * and name_count. label may be NULL. */
void stoa_http_metrics_histogram(struct stoa_http_metrics_writer *writer, const char *name,
                                 const char *label, const char *label_value,
                                 const struct stoa_http_histogram *histogram);

#endif
