#include "util/histogram.h"

#include <stddef.h>

const uint64_t stoa_histogram_bounds_us[STOA_HISTOGRAM_BUCKETS] = {
    50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000,
};

void stoa_histogram_observe(struct stoa_histogram *histogram, uint64_t us) {
    size_t index = 0;
    while (index < STOA_HISTOGRAM_BUCKETS && us > stoa_histogram_bounds_us[index]) {
        index++;
    }
    histogram->buckets[index]++;
    histogram->count++;
    histogram->sum_us += us;
}
