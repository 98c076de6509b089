/*
 * http_metrics: the Prometheus text exposition format (version 0.0.4) for the HTTP door's
 * /metrics.
 *
 * A latency histogram (util/histogram.h: microseconds into buckets of 50 us .. 1 s, then
 * +Inf) is written in seconds, as Prometheus expects ("_bucket{le=...}" cumulative, "_sum",
 * "_count").
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
#include "util/histogram.h"
#include "util/limits.h"

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
                                 const struct stoa_histogram *histogram);

#endif
