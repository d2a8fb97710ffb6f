/*
 * test_hist.c: the benchmark's latency histogram (bench/hist.c) against
 * distributions whose percentiles are known exactly: bucket layout without
 * holes or overlaps, the relative error bound, percentiles of uniform,
 * constant, two-valued and geometric samples against the sorted truth, and
 * merging. The histogram is compiled into this test from its one source file.
 */
#include <criterion/criterion.h>

#include <stdlib.h>

#include "../../bench/hist.c"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The exact nearest-rank percentile of sorted v. */
static uint64_t truth(const uint64_t *sorted, size_t n, double p)
{
    double want = p / 100.0 * (double)n;
    size_t rank = want <= 1 ? 1 : (size_t)want;
    if (rank < n && (double)rank < want)
        rank++;
    return sorted[rank - 1];
}

/* The histogram's answer is the truth's bucket top: never below it, within 1/64 above. */
static void expect_close(const struct hist *h, const uint64_t *sorted, size_t n, double p)
{
    uint64_t got = hist_percentile(h, p), want = truth(sorted, n, p);
    cr_assert(got >= want, "p%.1f: %llu below the true %llu", p, (unsigned long long)got,
              (unsigned long long)want);
    cr_assert(got - want <= want / 64 + 1, "p%.1f: %llu too far above the true %llu", p,
              (unsigned long long)got, (unsigned long long)want);
}

static void check_all(uint64_t *v, size_t n)
{
    struct hist h;
    hist_init(&h);
    for (size_t i = 0; i < n; i++)
        hist_record(&h, v[i]);
    qsort(v, n, sizeof *v, cmp_u64);
    cr_assert_eq(h.count, n);
    cr_assert_eq(h.min, v[0]);
    cr_assert_eq(h.max, v[n - 1]);
    static const double ps[] = {1, 10, 50, 90, 99, 99.9, 100};
    uint64_t last = 0;
    for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
        expect_close(&h, v, n, ps[i]);
        uint64_t got = hist_percentile(&h, ps[i]);
        cr_assert(got >= last, "percentiles out of order at p%.1f", ps[i]);
        last = got;
    }
    cr_assert_eq(hist_percentile(&h, 100), v[n - 1], "p100 is the maximum, exactly");
}

Test(hist, buckets_tile_the_values)
{
    /* Every bucket starts right after the previous one ends, up to the top of 64 bits. */
    uint64_t next = 0;
    size_t last = hist_index(UINT64_MAX);
    cr_assert(last < HIST_BUCKETS, "UINT64_MAX maps past the table (%zu)", last);
    for (size_t i = 0; i <= last; i++) {
        cr_assert_eq(hist_lowest(i), next, "bucket %zu starts at %llu, want %llu", i,
                     (unsigned long long)hist_lowest(i), (unsigned long long)next);
        cr_assert_eq(hist_index(hist_lowest(i)), i);
        cr_assert_eq(hist_index(hist_highest(i)), i);
        next = hist_highest(i) + 1;
    }
    cr_assert_eq(next, 0, "the last bucket ends at UINT64_MAX");
}

Test(hist, relative_error_is_bounded)
{
    for (size_t i = 2 << (HIST_BITS - 1); i <= hist_index(UINT64_MAX); i++) {
        uint64_t lo = hist_lowest(i), hi = hist_highest(i);
        cr_assert(hi - lo <= lo / 64, "bucket %zu [%llu, %llu] wider than 1/64", i,
                  (unsigned long long)lo, (unsigned long long)hi);
    }
    for (uint64_t v = 0; v < 128; v++)
        cr_assert_eq(hist_lowest(hist_index(v)), v, "small values are exact");
}

Test(hist, uniform)
{
    size_t n = 100000;
    uint64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = 1000 + (i * 7919) % 200000; /* a permutation-like spread over [1000, 201000) */
    check_all(v, n);
    free(v);
}

Test(hist, constant_and_two_values)
{
    uint64_t c[1000];
    for (size_t i = 0; i < 1000; i++)
        c[i] = 12345;
    check_all(c, 1000);
    /* 99 % fast, 1 % slow: p99 is fast, p99.9 slow (the shape of a wake-up tail). */
    uint64_t t[1000];
    for (size_t i = 0; i < 1000; i++)
        t[i] = i % 100 == 0 ? 5000000 : 300;
    struct hist h;
    hist_init(&h);
    for (size_t i = 0; i < 1000; i++)
        hist_record(&h, t[i]);
    /* 300 lies in bucket [300, 303]: the answer is that bucket's top. */
    cr_assert_eq(hist_percentile(&h, 50), hist_highest(hist_index(300)));
    cr_assert_eq(hist_percentile(&h, 99), hist_highest(hist_index(300)));
    cr_assert(hist_highest(hist_index(300)) - 300 <= 300 / 64);
    cr_assert(hist_percentile(&h, 99.9) >= 5000000);
    check_all(t, 1000);
}

Test(hist, geometric_spread_over_decades)
{
    size_t n = 4096;
    uint64_t *v = malloc(n * sizeof *v);
    uint64_t x = 1;
    for (size_t i = 0; i < n; i++) {
        v[i] = x + i;
        if (i % 64 == 63)
            x = x * 3 / 2 + 1; /* 1 ns .. beyond 10^11 ns */
    }
    check_all(v, n);
    free(v);
}

Test(hist, merge_equals_one_histogram)
{
    struct hist a, b, all;
    hist_init(&a);
    hist_init(&b);
    hist_init(&all);
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t v = (i * 2654435761u) % 1000000;
        hist_record(i % 2 ? &a : &b, v);
        hist_record(&all, v);
    }
    hist_merge(&a, &b);
    cr_assert_eq(a.count, all.count);
    cr_assert_eq(a.min, all.min);
    cr_assert_eq(a.max, all.max);
    cr_assert(memcmp(a.bucket, all.bucket, sizeof a.bucket) == 0);
    struct hist empty;
    hist_init(&empty);
    cr_assert_eq(hist_percentile(&empty, 50), 0);
}
