/*
 * hist.h: a log-linear latency histogram in the manner of HdrHistogram:
 * exact below 2^HIST_BITS ns, then 2^(HIST_BITS-1) buckets per power of two,
 * so any recorded value is known within 1/64 (about 1.6%) whatever its size,
 * in a fixed 30 KiB whatever the number of samples. Recording is two shifts
 * and an increment: cheap enough inside a timed loop. Percentiles report the
 * highest value of the bucket they fall in (never below the true value),
 * capped at the largest value recorded. Pure arithmetic: it never times or
 * prints anything.
 */
#ifndef BENCH_HIST_H
#define BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_BITS    7
#define HIST_BUCKETS ((64 - HIST_BITS + 2) << (HIST_BITS - 1))

struct hist {
    uint64_t count;
    uint64_t min;
    uint64_t max;
    uint64_t bucket[HIST_BUCKETS];
};

void hist_init(struct hist *h);
/* Counts one value (ns). */
void hist_record(struct hist *h, uint64_t v);
/* Adds every count of src to dst. */
void hist_merge(struct hist *dst, const struct hist *src);
/* The p-th percentile (0 < p <= 100), nearest rank over buckets; 0 if empty. */
uint64_t hist_percentile(const struct hist *h, double p);

/* The bucket a value falls in, and the lowest and highest values of a bucket (for tests). */
size_t hist_index(uint64_t v);
uint64_t hist_lowest(size_t idx);
uint64_t hist_highest(size_t idx);

#endif /* BENCH_HIST_H */
