/*
 * stats.h: sorting samples and reading percentiles, medians and spreads. Pure
 * arithmetic on arrays the caller owns; it must never time or print anything.
 */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Sorts n samples (nanoseconds) in place, ascending. */
void stats_sort_u64(uint64_t *v, size_t n);

/* The p-th percentile (0 <= p <= 100) of n sorted samples, nearest rank; 0 if n == 0. */
uint64_t stats_percentile_u64(const uint64_t *sorted, size_t n, double p);

/*
 * Summary of one sorted latency sample set, nearest rank over every sample
 * (no histogram yet: exact, at the price of keeping and sorting the samples).
 * With fewer than 1000 samples p999 is the largest sample, like max.
 */
struct stats_lat {
    uint64_t n;
    uint64_t p50, p90, p99, p999, max; /* nanoseconds; p999 is the 99.9th percentile */
};
void stats_lat_summarise(struct stats_lat *out, const uint64_t *sorted, size_t n);
/* The same from a histogram of every sample (each percentile within 1/64 above the truth). */
struct hist;
void stats_lat_from_hist(struct stats_lat *out, const struct hist *h);

/*
 * Median, minimum and maximum of n doubles (copied, the input is untouched);
 * the median of an even count is the mean of the middle two. Returns the
 * number of values used (NaNs are skipped); 0 leaves the outputs at NaN.
 */
size_t stats_spread(const double *v, size_t n, double *median, double *min, double *max);

#endif /* BENCH_STATS_H */
