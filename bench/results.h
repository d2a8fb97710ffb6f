/*
 * results.h: what one run of ipcx-bench measured, kept for every report. It
 * holds the run's shape (mechanisms, sizes, patterns, rounds), the placement
 * the processes got, every cell of every round with its outcome, and each
 * distinct reason a mechanism was skipped; and it derives the figures all
 * reports read (per-round metrics, medians and ranges across rounds, ratios
 * to a baseline), so that the terminal table, the JSON and the CSV cannot
 * disagree. Bookkeeping and arithmetic only: it must never run, time or print
 * anything.
 */
#ifndef BENCH_RESULTS_H
#define BENCH_RESULTS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mech.h"
#include "workload.h"

#define RES_MAX_MECHS  64
#define RES_MAX_SIZES  16
#define RES_MAX_ROUNDS 64
#define RES_MAX_WLS    8
/* Distinct (mechanism, reason) skips kept: one per mechanism and size is the most a run has. */
#define RES_MAX_SKIPS (RES_MAX_MECHS * RES_MAX_SIZES)

/* Where the two processes of a cell are pinned (when pinning works). */
#define CPU_PARENT 0
#define CPU_CHILD  1

/* The run as the command line asked for it. */
struct res_opts {
    const struct mech *mechs[RES_MAX_MECHS];
    size_t nmechs;
    size_t sizes[RES_MAX_SIZES];
    size_t nsizes;
    const struct workload *wls[RES_MAX_WLS];
    size_t nwls;
    unsigned rounds;
    double duration_s;
    uint64_t count;
    double rate; /* --rate: messages per second of the rate pattern */
    int pin;
    int quick;
    const char *json_path;  /* --json FILE ("-" is stdout), or NULL */
    const char *csv_path;   /* --csv FILE, or NULL */
    const char *report_dir; /* --report DIR, or NULL */
    unsigned producers;     /* --producers (fanin, mpmc), or 0: each pattern's default */
    unsigned consumers;     /* --consumers (mpmc), or 0: the pattern's default */
};

/* Placement, as observed. */
struct res_placement {
    int pinned; /* both pins succeeded */
    int parent_cpu;
    int child_cpu_first;
    unsigned child_moved; /* cells whose child did not run on CPU_CHILD while pinned */
    char why[128];        /* why not pinned */
};

/* What became of one cell in one round. */
enum res_status {
    RES_NOT_RUN = 0, /* the run stopped before it */
    RES_OK,          /* ran, every payload checked */
    RES_FAILED,      /* a mechanism call failed: rc and stage say which */
    RES_BAD,         /* ran, but payload or sequence checks failed */
    RES_SKIPPED,     /* the mechanism's unavailable() gave a reason; never run */
};

struct res_cell {
    enum res_status status;
    int rc;            /* RES_FAILED: the negative code */
    const char *stage; /* RES_FAILED: the step that failed (a static string) */
    int skip;          /* RES_SKIPPED: index in res_run.skips, or -1 if there was no room */
    struct wl_result res;
};

/* One distinct reason a mechanism was skipped. */
struct res_skip {
    const struct mech *m;
    char why[256];
};

struct res_run {
    struct res_opts opts;
    int argc;
    char **argv;
    time_t started; /* wall clock when the run began */
    double warmup_s;
    struct res_placement placement;
    struct res_cell *cells; /* nmechs x nsizes x nwls x rounds (res_alloc) */
    struct res_skip skips[RES_MAX_SKIPS];
    size_t nskips;
    unsigned failed, bad, skipped; /* cells (of all rounds) in each state */
    /* Where the parties of many-party cells ran (the first such cell sets it). */
    struct res_many_placement {
        int used;       /* a many-party cell ran */
        int pinned;     /* producers and consumers were pinned */
        char how[192];  /* as the report says it */
        unsigned moved; /* parties that did not run on the cpu they were pinned to */
    } many;
};

/* Allocates run->cells for run->opts (all RES_NOT_RUN); 0 or -ENOMEM. res_free releases them. */
int res_alloc(struct res_run *run);
void res_free(struct res_run *run);

struct res_cell *res_cell_at(const struct res_run *run, size_t mi, size_t si, size_t wi,
                             unsigned r);

/* Index of a workload among the run's patterns, of a mechanism by name; -1 if not in the run. */
int res_wl_index(const struct res_run *run, const struct workload *w);
int res_mech_index(const struct res_run *run, const char *name);

/*
 * Records that m was skipped for this reason. Returns its index in
 * run->skips (*is_new set when first seen), or -1 when the table is full.
 */
int res_skip_note(struct res_run *run, const struct mech *m, const char *why, int *is_new);

/* Whether every round of every pattern of (mechanism, size) was skipped (wi < 0: all patterns). */
int res_all_skipped(const struct res_run *run, size_t mi, size_t si, int wi);

/* The figures a report reads, one per cell and round. */
enum res_metric {
    RES_P50, /* pingpong one-way latency percentiles, ns */
    RES_P90,
    RES_P99,
    RES_P999,
    RES_MAX,
    RES_MSGS,    /* stream, fanin, mpmc: messages per second */
    RES_BYTES,   /* stream, fanin, mpmc: payload bytes per second */
    RES_CPU,     /* user+sys ns of the cell's processes per message moved */
    RES_FAIR,    /* fanin, mpmc: the least producer's timed messages / the most's, 0..1 */
    RES_BALANCE, /* mpmc: the least consumer's messages / the most's, 0..1 */
};

/* A metric of one cell; NaN unless the cell is RES_OK and the pattern measures it. */
double res_metric(const struct res_cell *c, enum res_metric k);

/* Median and range over the rounds of one metric (NaN and n = 0 when no round has it). */
struct res_spread {
    double med, min, max;
    size_t n; /* rounds used */
};

/* Of one cell's metric (wi < 0, a pattern not in the run: nothing). */
struct res_spread res_spread_of(const struct res_run *run, size_t mi, size_t si, int wi,
                                enum res_metric k);

/*
 * Of the per-round ratio of one cell's metric to the same metric of its
 * mechanism's baseline in the same round (nothing without a baseline in the run).
 */
struct res_spread res_ratio_of(const struct res_run *run, size_t mi, size_t si, int wi,
                               enum res_metric k);

#endif /* BENCH_RESULTS_H */
