/* Shows that latency histograms count into the right buckets (a bound is inclusive) and that
 * the Prometheus writer emits the text format exactly: HELP and TYPE lines, escaped label
 * values, cumulative buckets in seconds with +Inf, _sum and _count; and that a full buffer is
 * reported once as a sticky error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "proto/http_metrics.h"
#include "util/err.h"

static void test_buckets(void **state) {
    (void)state;
    struct stoa_histogram histogram = {0};
    stoa_histogram_observe(&histogram, 50);      /* le 50 us */
    stoa_histogram_observe(&histogram, 51);      /* le 100 us */
    stoa_histogram_observe(&histogram, 5000000); /* +Inf */
    assert_int_equal(histogram.buckets[0], 1);
    assert_int_equal(histogram.buckets[1], 1);
    assert_int_equal(histogram.buckets[STOA_HISTOGRAM_BUCKETS], 1);
    assert_int_equal(histogram.count, 3);
    assert_int_equal(histogram.sum_us, 5000101);
}

static void test_text_format(void **state) {
    (void)state;
    struct stoa_buf out;
    stoa_buf_init(&out, 1 << 16);
    struct stoa_http_metrics_writer writer;
    stoa_http_metrics_writer_init(&writer, &out);
    stoa_http_metrics_family(&writer, "stoa_keys", "gauge", "Keys.");
    stoa_http_metrics_sample(&writer, "stoa_keys", NULL, NULL, 3);
    stoa_http_metrics_sample(&writer, "stoa_x", "route", "a\"b\\c\nd", 1.5);
    struct stoa_histogram histogram = {0};
    stoa_histogram_observe(&histogram, 100);
    stoa_http_metrics_histogram(&writer, "stoa_h", "command", "get", &histogram);
    assert_int_equal(writer.error, 0);
    const char *text = (const char *)out.data;
    const char *head = "# HELP stoa_keys Keys.\n# TYPE stoa_keys gauge\nstoa_keys 3\n"
                       "stoa_x{route=\"a\\\"b\\\\c\\nd\"} 1.5\n"
                       "stoa_h_bucket{command=\"get\",le=\"5e-05\"} 0\n"
                       "stoa_h_bucket{command=\"get\",le=\"0.0001\"} 1\n";
    assert_memory_equal(text, head, strlen(head));
    const char *tail = "stoa_h_bucket{command=\"get\",le=\"+Inf\"} 1\n"
                       "stoa_h_sum{command=\"get\"} 0.0001\nstoa_h_count{command=\"get\"} 1\n";
    assert_true(out.length > strlen(tail));
    assert_memory_equal(text + out.length - strlen(tail), tail, strlen(tail));
    stoa_buf_free(&out);
}

static void test_full_buffer(void **state) {
    (void)state;
    struct stoa_buf out;
    stoa_buf_init(&out, 16);
    struct stoa_http_metrics_writer writer;
    stoa_http_metrics_writer_init(&writer, &out);
    stoa_http_metrics_family(&writer, "stoa_a_long_name", "gauge", "help text");
    stoa_http_metrics_sample(&writer, "stoa_keys", NULL, NULL, 3);
    assert_int_equal(writer.error, STOA_ERR_TOO_LARGE);
    stoa_buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_text_format),
        cmocka_unit_test(test_full_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
