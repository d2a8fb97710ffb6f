/*
 * hist.c: see hist.h. Bucket layout: values below 2^HIST_BITS have a bucket
 * each; a larger value v with top bit b keeps its HIST_BITS leading bits m =
 * v >> s (s = b - HIST_BITS + 1, so 2^(HIST_BITS-1) <= m < 2^HIST_BITS) and
 * goes to bucket s * 2^(HIST_BITS-1) + m. Consecutive values map to
 * consecutive or equal buckets, so the layout has no holes.
 */
#include "hist.h"

#include <string.h>

#define HALF ((uint64_t)1 << (HIST_BITS - 1))

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

size_t hist_index(uint64_t v)
{
    if (v < 2 * HALF)
        return (size_t)v;
    unsigned b = 63u - (unsigned)__builtin_clzll(v);
    unsigned s = b - HIST_BITS + 1;
    return (size_t)(s * HALF + (v >> s));
}

uint64_t hist_lowest(size_t idx)
{
    if (idx < 2 * HALF)
        return idx;
    uint64_t s = idx / HALF - 1, m = idx - s * HALF;
    return m << s;
}

uint64_t hist_highest(size_t idx)
{
    if (idx < 2 * HALF)
        return idx;
    uint64_t s = idx / HALF - 1, m = idx - s * HALF;
    return ((m + 1) << s) - 1;
}

void hist_record(struct hist *h, uint64_t v)
{
    h->bucket[hist_index(v)]++;
    h->count++;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
    if (h->count == 0)
        return 0;
    double want = p / 100.0 * (double)h->count;
    uint64_t rank = want <= 1 ? 1 : want >= (double)h->count ? h->count : (uint64_t)want;
    if (rank < h->count && (double)rank < want)
        rank++; /* nearest rank: the smallest rank covering p percent */
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t v = hist_highest(i);
            return v > h->max ? h->max : v < h->min ? h->min : v;
        }
    }
    return h->max;
}
