/* The Prometheus text format. */
#include "proto/http_metrics.h"

#include <stdio.h>
#include <string.h>

#include "util/assert.h"
#include "util/err.h"

void stoa_http_metrics_writer_init(struct stoa_http_metrics_writer *writer, struct stoa_buf *out) {
    writer->out = out;
    writer->error = STOA_OK;
}

static void append(struct stoa_http_metrics_writer *writer, const char *text, size_t length) {
    if (writer->error == STOA_OK) {
        writer->error = stoa_buf_append(writer->out, text, length);
    }
}

static void append_text(struct stoa_http_metrics_writer *writer, const char *text) {
    append(writer, text, strlen(text));
}

/* A label value with \, " and newline escaped. */
static void append_label_value(struct stoa_http_metrics_writer *writer, const char *value) {
    for (const char *c = value; *c != '\0'; c++) {
        if (*c == '\\' || *c == '"') {
            char escaped[2] = {'\\', *c};
            append(writer, escaped, 2);
        } else if (*c == '\n') {
            append(writer, "\\n", 2);
        } else {
            append(writer, c, 1);
        }
    }
}

static void append_number(struct stoa_http_metrics_writer *writer, double value) {
    char text[40];
    int n = snprintf(text, sizeof(text), "%.17g", value);
    STOA_ASSERT(n > 0 && (size_t)n < sizeof(text));
    append(writer, text, (size_t)n);
}

void stoa_http_metrics_family(struct stoa_http_metrics_writer *writer, const char *name,
                              const char *type, const char *help) {
    append_text(writer, "# HELP ");
    append_text(writer, name);
    append_text(writer, " ");
    append_text(writer, help);
    append_text(writer, "\n# TYPE ");
    append_text(writer, name);
    append_text(writer, " ");
    append_text(writer, type);
    append_text(writer, "\n");
}

/* name{label="value",extra} — the braces only when there is a label. */
static void sample_head(struct stoa_http_metrics_writer *writer, const char *name,
                        const char *suffix, const char *label, const char *label_value,
                        const char *extra) {
    append_text(writer, name);
    append_text(writer, suffix);
    if (label == NULL && extra == NULL) {
        return;
    }
    append_text(writer, "{");
    if (label != NULL) {
        append_text(writer, label);
        append_text(writer, "=\"");
        append_label_value(writer, label_value);
        append_text(writer, "\"");
    }
    if (extra != NULL) {
        append_text(writer, label != NULL ? "," : "");
        append_text(writer, extra);
    }
    append_text(writer, "}");
}

void stoa_http_metrics_sample(struct stoa_http_metrics_writer *writer, const char *name,
                              const char *label, const char *label_value, double value) {
    sample_head(writer, name, "", label, label_value, NULL);
    append_text(writer, " ");
    append_number(writer, value);
    append_text(writer, "\n");
}

void stoa_http_metrics_histogram(struct stoa_http_metrics_writer *writer, const char *name,
                                 const char *label, const char *label_value,
                                 const struct stoa_histogram *histogram) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= STOA_HISTOGRAM_BUCKETS; i++) {
        cumulative += histogram->buckets[i];
        char le[48];
        if (i < STOA_HISTOGRAM_BUCKETS) {
            snprintf(le, sizeof(le), "le=\"%.6g\"", (double)stoa_histogram_bounds_us[i] / 1e6);
        } else {
            snprintf(le, sizeof(le), "le=\"+Inf\"");
        }
        sample_head(writer, name, "_bucket", label, label_value, le);
        append_text(writer, " ");
        append_number(writer, (double)cumulative);
        append_text(writer, "\n");
    }
    sample_head(writer, name, "_sum", label, label_value, NULL);
    append_text(writer, " ");
    append_number(writer, (double)histogram->sum_us / 1e6);
    append_text(writer, "\n");
    sample_head(writer, name, "_count", label, label_value, NULL);
    append_text(writer, " ");
    append_number(writer, (double)histogram->count);
    append_text(writer, "\n");
}
