/*
 * stats.c: sorting, percentiles (nearest rank, so every reported figure is a
 * sample that really happened) and median/min/max across rounds. It must never
 * time or print anything.
 */
#include "stats.h"

#include "hist.h"

#include <math.h>
#include <stdlib.h>

static int stats_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int stats_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void stats_sort_u64(uint64_t *v, size_t n)
{
    if (n > 1)
        qsort(v, n, sizeof *v, stats_cmp_u64);
}

uint64_t stats_percentile_u64(const uint64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    if (p <= 0.0)
        return sorted[0];
    if (p >= 100.0)
        return sorted[n - 1];
    /* Nearest rank: the smallest sample with at least p% of samples at or below it. */
    double exact = p / 100.0 * (double)n;
    size_t rank = (size_t)exact;
    if ((double)rank < exact)
        rank++; /* ceil without libm */
    size_t i = rank < 1 ? 0 : rank - 1;
    return sorted[i < n ? i : n - 1];
}

void stats_lat_summarise(struct stats_lat *out, const uint64_t *sorted, size_t n)
{
    out->n = n;
    out->p50 = stats_percentile_u64(sorted, n, 50.0);
    out->p90 = stats_percentile_u64(sorted, n, 90.0);
    out->p99 = stats_percentile_u64(sorted, n, 99.0);
    out->p999 = stats_percentile_u64(sorted, n, 99.9);
    out->max = n > 0 ? sorted[n - 1] : 0;
}

void stats_lat_from_hist(struct stats_lat *out, const struct hist *h)
{
    out->n = h->count;
    out->p50 = hist_percentile(h, 50.0);
    out->p90 = hist_percentile(h, 90.0);
    out->p99 = hist_percentile(h, 99.0);
    out->p999 = hist_percentile(h, 99.9);
    out->max = h->count ? h->max : 0;
}

size_t stats_spread(const double *v, size_t n, double *median, double *min, double *max)
{
    double tmp[64];
    size_t m = 0;
    *median = *min = *max = NAN;
    for (size_t i = 0; i < n && m < sizeof tmp / sizeof tmp[0]; i++)
        if (!isnan(v[i]))
            tmp[m++] = v[i];
    if (m == 0)
        return 0;
    qsort(tmp, m, sizeof tmp[0], stats_cmp_double);
    *min = tmp[0];
    *max = tmp[m - 1];
    *median = m % 2 ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2.0;
    return m;
}
