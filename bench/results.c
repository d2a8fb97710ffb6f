/*
 * results.c: the cells of a run and the figures derived from them (metrics,
 * medians and ranges across rounds, ratios to a baseline in the same round).
 * Every report reads the run through these functions; this file must never
 * run, time or print anything.
 */
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

int res_alloc(struct res_run *run)
{
    const struct res_opts *o = &run->opts;
    run->cells = calloc(o->nmechs * o->nsizes * o->nwls * o->rounds, sizeof *run->cells);
    return run->cells == NULL ? -ENOMEM : 0;
}

void res_free(struct res_run *run)
{
    free(run->cells);
    run->cells = NULL;
}

struct res_cell *res_cell_at(const struct res_run *run, size_t mi, size_t si, size_t wi, unsigned r)
{
    const struct res_opts *o = &run->opts;
    return &run->cells[((mi * o->nsizes + si) * o->nwls + wi) * o->rounds + r];
}

int res_wl_index(const struct res_run *run, const struct workload *w)
{
    for (size_t i = 0; i < run->opts.nwls; i++)
        if (run->opts.wls[i] == w)
            return (int)i;
    return -1;
}

int res_mech_index(const struct res_run *run, const char *name)
{
    for (size_t i = 0; name != NULL && i < run->opts.nmechs; i++)
        if (strcmp(run->opts.mechs[i]->name, name) == 0)
            return (int)i;
    return -1;
}

int res_skip_note(struct res_run *run, const struct mech *m, const char *why, int *is_new)
{
    struct res_skip *s;
    *is_new = 0;
    for (size_t i = 0; i < run->nskips; i++)
        if (run->skips[i].m == m &&
            strncmp(run->skips[i].why, why, sizeof run->skips[i].why - 1) == 0)
            return (int)i;
    *is_new = 1;
    if (run->nskips == RES_MAX_SKIPS)
        return -1;
    s = &run->skips[run->nskips];
    s->m = m;
    snprintf(s->why, sizeof s->why, "%s", why);
    return (int)run->nskips++;
}

int res_all_skipped(const struct res_run *run, size_t mi, size_t si, int wi)
{
    for (size_t w = 0; w < run->opts.nwls; w++) {
        if (wi >= 0 && w != (size_t)wi)
            continue;
        for (unsigned r = 0; r < run->opts.rounds; r++)
            if (res_cell_at(run, mi, si, w, r)->status != RES_SKIPPED)
                return 0;
    }
    return 1;
}

double res_metric(const struct res_cell *c, enum res_metric k)
{
    if (c->status != RES_OK)
        return NAN;
    switch (k) {
    case RES_P50:
        return c->res.lat.n ? (double)c->res.lat.p50 : NAN;
    case RES_P90:
        return c->res.lat.n ? (double)c->res.lat.p90 : NAN;
    case RES_P99:
        return c->res.lat.n ? (double)c->res.lat.p99 : NAN;
    case RES_P999:
        return c->res.lat.n ? (double)c->res.lat.p999 : NAN;
    case RES_MAX:
        return c->res.lat.n ? (double)c->res.lat.max : NAN;
    case RES_MSGS:
        return c->res.seconds > 0 ? c->res.msgs_per_s : NAN;
    case RES_BYTES:
        return c->res.seconds > 0 ? c->res.bytes_per_s : NAN;
    case RES_CPU:
        return c->res.moved ? c->res.cpu_ns / (double)c->res.moved : NAN;
    case RES_FAIR:
        return c->res.producers ? c->res.fairness : NAN;
    case RES_BALANCE:
        return c->res.producers ? c->res.balance : NAN;
    }
    return NAN;
}

struct res_spread res_spread_of(const struct res_run *run, size_t mi, size_t si, int wi,
                                enum res_metric k)
{
    double v[RES_MAX_ROUNDS];
    struct res_spread sp = {NAN, NAN, NAN, 0};
    if (wi < 0)
        return sp;
    for (unsigned r = 0; r < run->opts.rounds; r++)
        v[r] = res_metric(res_cell_at(run, mi, si, (size_t)wi, r), k);
    sp.n = stats_spread(v, run->opts.rounds, &sp.med, &sp.min, &sp.max);
    return sp;
}

struct res_spread res_ratio_of(const struct res_run *run, size_t mi, size_t si, int wi,
                               enum res_metric k)
{
    double v[RES_MAX_ROUNDS];
    struct res_spread sp = {NAN, NAN, NAN, 0};
    int bi = res_mech_index(run, run->opts.mechs[mi]->baseline);
    if (bi < 0 || wi < 0)
        return sp;
    for (unsigned r = 0; r < run->opts.rounds; r++) {
        v[r] = res_metric(res_cell_at(run, mi, si, (size_t)wi, r), k) /
               res_metric(res_cell_at(run, (size_t)bi, si, (size_t)wi, r), k);
        if (!isfinite(v[r]))
            v[r] = NAN; /* a baseline figure of 0: no ratio, rather than an infinite one */
    }
    sp.n = stats_spread(v, run->opts.rounds, &sp.med, &sp.min, &sp.max);
    return sp;
}
