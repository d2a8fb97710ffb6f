/*
 * report.c: `--report DIR`, one finished run as a web page: header facts and
 * fairness rules, an analysis written from this run's figures (fastest
 * mechanism per size, each library mechanism against its baseline, where
 * blocking costs most, a recommendation table), four gnuplot charts embedded
 * as inline SVG, and the tables, with the data beside it as JSON and CSV.
 * Every figure comes from results.c; this file only chooses and formats. It
 * runs gnuplot (a generated script per chart, its exit status checked) and
 * must never run, time or change a cell, and never leave a page that needs
 * the network or a file that is not in DIR.
 */
#include "report.h"

#include <ipcx.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "export.h"
#include "topo.h"

extern char **environ;

/* What a mechanism is, from its name (the registry's naming rule, docs/bench.md). */
enum rp_kind { RP_FLOOR, RP_RAW, RP_IPCX, RP_PEER };
static const char *const rp_kind_name[] = {"floor", "raw", "ipcx", "peer"};
static const char *const rp_kind_long[] = {"hardware floor", "raw system calls", "ipcx",
                                           "peer library"};

/* How gnuplot did over all charts. */
enum rp_gp { RP_GP_OK, RP_GP_MISSING, RP_GP_FAILED };

#define RP_NCHARTS 6
#define RP_NFIXED  4 /* the charts every page shows; the others only when their pattern ran */

struct rp_chart {
    const char *name;    /* file stem: NAME.gp, NAME.svg */
    const char *heading; /* the page's heading for it */
    int has_data;        /* the run measured something it shows */
    int optional;        /* left off the page (and its script removed) without data */
    int drawn;           /* gnuplot exited 0 and left a non-empty SVG */
    char why[256];       /* when not drawn */
};

struct rp {
    const struct res_run *run;
    const char *dir;
    FILE *f;             /* index.html */
    int wpp, wst, wrate; /* pattern indexes in the run, or -1 */
    int wfanin, wmpmc;   /* the many-party patterns' indexes, or -1 */
    enum rp_gp gp;       /* overall gnuplot status */
    char gp_why[256];    /* when not RP_GP_OK */
    struct rp_chart charts[RP_NCHARTS];
};

/* --- classification and figures ------------------------------------------------- */

static enum rp_kind rp_kind(const struct mech *m)
{
    if (strncmp(m->name, "floor-", 6) == 0)
        return RP_FLOOR;
    if (strncmp(m->name, "raw-", 4) == 0)
        return RP_RAW;
    if (strncmp(m->name, "ipcx-", 5) == 0)
        return RP_IPCX;
    return RP_PEER;
}

/* Whether a mechanism's receiver spins rather than sleeps in the kernel (MECH_F_SPINS). */
static int rp_spins(const struct mech *m)
{
    return (m->flags & MECH_F_SPINS) != 0;
}

static int rp_any(const struct mech *m)
{
    return rp_kind(m) != RP_FLOOR;
}

static int rp_only_ipcx(const struct mech *m)
{
    return rp_kind(m) == RP_IPCX;
}

static int rp_only_floor(const struct mech *m)
{
    return rp_kind(m) == RP_FLOOR;
}

static int rp_spins_usable(const struct mech *m)
{
    return rp_kind(m) != RP_FLOOR && rp_spins(m);
}

static int rp_blocking(const struct mech *m)
{
    return rp_kind(m) != RP_FLOOR && !rp_spins(m);
}

/* Median over rounds of one metric of a cell (NaN when not measured). */
static double rp_med(const struct rp *p, size_t mi, size_t si, int wi, enum res_metric k)
{
    return res_spread_of(p->run, mi, si, wi, k).med;
}

/*
 * The mechanism with the lowest (or highest) median among those ok() and
 * also() (when not NULL) accept; -1 if none.
 */
static int rp_best2(const struct rp *p, size_t si, int wi, enum res_metric k, int want_max,
                    int (*ok)(const struct mech *), int (*also)(const struct mech *))
{
    int best = -1;
    double bv = NAN;
    for (size_t mi = 0; mi < p->run->opts.nmechs; mi++) {
        double v = rp_med(p, mi, si, wi, k);
        if (!ok(p->run->opts.mechs[mi]) || (also != NULL && !also(p->run->opts.mechs[mi])) ||
            isnan(v))
            continue;
        if (best < 0 || (want_max ? v > bv : v < bv)) {
            best = (int)mi;
            bv = v;
        }
    }
    return best;
}

static int rp_best(const struct rp *p, size_t si, int wi, enum res_metric k, int want_max,
                   int (*ok)(const struct mech *))
{
    return rp_best2(p, si, wi, k, want_max, ok, NULL);
}

/* --- formatting ------------------------------------------------------------------ */

static const char *rp_size(char *buf, size_t cap, size_t v)
{
    if (v >= 1048576 && v % 1048576 == 0)
        snprintf(buf, cap, "%zu MiB", v / 1048576);
    else if (v >= 1024 && v % 1024 == 0)
        snprintf(buf, cap, "%zu KiB", v / 1024);
    else
        snprintf(buf, cap, "%zu B", v);
    return buf;
}

static const char *rp_ns(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "&ndash;");
    else if (v < 1e3)
        snprintf(buf, cap, "%.0f ns", v);
    else if (v < 1e6)
        snprintf(buf, cap, "%.2f &micro;s", v / 1e3);
    else
        snprintf(buf, cap, "%.2f ms", v / 1e6);
    return buf;
}

static const char *rp_mbs(char *buf, size_t cap, double bytes_per_s)
{
    if (isnan(bytes_per_s))
        snprintf(buf, cap, "&ndash;");
    else if (bytes_per_s < 1e7)
        snprintf(buf, cap, "%.2f MB/s", bytes_per_s / 1e6);
    else
        snprintf(buf, cap, "%.0f MB/s", bytes_per_s / 1e6);
    return buf;
}

static const char *rp_count(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "&ndash;");
    else if (v >= 1e6)
        snprintf(buf, cap, "%.2f M", v / 1e6);
    else if (v >= 1e3)
        snprintf(buf, cap, "%.1f k", v / 1e3);
    else
        snprintf(buf, cap, "%.0f", v);
    return buf;
}

static const char *rp_ratio(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "&ndash;");
    else
        snprintf(buf, cap, "%.2f&times;", v);
    return buf;
}

/* Text into HTML: &, <, >, " escaped. */
static void rp_esc(FILE *f, const char *s)
{
    for (; s != NULL && *s != '\0'; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

/* A mechanism's name with its kind, as HTML. */
static void rp_mech(FILE *f, const struct mech *m)
{
    fprintf(f, "<span class=\"k-%s\">", rp_kind_name[rp_kind(m)]);
    rp_esc(f, m->name);
    fputs("</span>", f);
}

/* A gnuplot string: double-quoted, with backslashes and quotes escaped. */
static void rp_gpstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* --- files ------------------------------------------------------------------------ */

static FILE *rp_open(const char *dir, const char *name)
{
    char path[PATH_MAX];
    FILE *f;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        fprintf(stderr, "ipcx-bench: --report: path too long: %s/%s\n", dir, name);
        return NULL;
    }
    f = fopen(path, "we"); /* close-on-exec: gnuplot does not inherit it */
    if (f == NULL)
        fprintf(stderr, "ipcx-bench: cannot write %s: %s\n", path, strerror(errno));
    return f;
}

static int rp_close(FILE *f, const char *dir, const char *name)
{
    int bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "ipcx-bench: writing %s/%s failed: %s\n", dir, name, strerror(errno));
        return -1;
    }
    return 0;
}

/* Size of DIR/NAME in bytes, or -1 if it does not exist. */
static long long rp_file_size(const char *dir, const char *name)
{
    char path[PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

int report_prepare(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) < 0 && errno != EEXIST) {
        fprintf(stderr, "ipcx-bench: --report: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK) < 0) {
        fprintf(stderr, "ipcx-bench: --report: %s is not a writable directory\n", dir);
        return -1;
    }
    return 0;
}

static int rp_export(const struct rp *p, const char *name,
                     int (*writer)(const struct res_run *, FILE *))
{
    FILE *f = rp_open(p->dir, name);
    int rc;
    if (f == NULL)
        return -1;
    rc = writer(p->run, f);
    return rp_close(f, p->dir, name) < 0 || rc < 0 ? -1 : 0;
}

/* --- charts ------------------------------------------------------------------------ */

/* Colours for non-floor lines and bars; floors are grey. */
static const char *const rp_colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
                                         "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#000080"};
static const char *const rp_greys[] = {"#404040", "#707070", "#909090", "#b0b0b0"};

static void rp_gp_preamble(FILE *g, const char *name, const char *title)
{
    fputs("# Generated by ipcx-bench --report; re-draw with: gnuplot ", g);
    fprintf(g, "%s.gp (in this directory)\n", name);
    fputs("set terminal svg size 960,540 dynamic noenhanced font \"sans,13\" background "
          "\"#ffffff\"\n",
          g);
    fprintf(g, "set output \"%s.svg\"\nset title ", name);
    rp_gpstr(g, title);
    fputs(" font \"sans,15\"\nset grid ytics mytics lc rgb \"#dddddd\" lw 1\n"
          "set datafile missing \"NaN\"\nset border 3\nset tics nomirror\n",
          g);
}

/* The run's sizes as x tics of a log2 size axis. */
static void rp_gp_size_axis(FILE *g, const struct res_run *run)
{
    char b[32];
    const struct res_opts *o = &run->opts;
    size_t lo = o->sizes[0], hi = o->sizes[0];
    fputs("set logscale x 2\nset xtics (", g);
    for (size_t si = 0; si < o->nsizes; si++) {
        fprintf(g, "%s\"%s\" %zu", si ? ", " : "", rp_size(b, sizeof b, o->sizes[si]),
                o->sizes[si]);
        lo = o->sizes[si] < lo ? o->sizes[si] : lo;
        hi = o->sizes[si] > hi ? o->sizes[si] : hi;
    }
    fprintf(g, ")\nset xrange [%g:%g]\nset xlabel \"message size (bytes, log scale)\"\n",
            (double)lo / 1.5, (double)hi * 1.5);
}

/* A log y range that holds [lo, hi] with some room. */
static void rp_gp_log_y(FILE *g, double lo, double hi, const char *label)
{
    fprintf(g, "set logscale y 10\nset yrange [%g:%g]\nset ylabel ", lo / 2, hi * 2);
    rp_gpstr(g, label);
    fputs("\nset format y \"%.0f\"\n", g);
}

/*
 * One line per mechanism: metric k (times scale) of pattern wi against size.
 * Styles say the kind: ipcx solid and thick, raw dashed, peers dash-dot,
 * floors grey and dotted. Returns whether any point was written.
 */
static int rp_gp_lines(FILE *g, const struct rp *p, int wi, enum res_metric k, double scale,
                       const char *ylabel)
{
    const struct res_opts *o = &p->run->opts;
    double lo = INFINITY, hi = -INFINITY;
    int any = 0, first = 1;
    unsigned colour = 0, grey = 0;
    for (size_t mi = 0; mi < o->nmechs; mi++) {
        fprintf(g, "$m%zu << EOD\n", mi);
        for (size_t si = 0; si < o->nsizes; si++) {
            double v = rp_med(p, mi, si, wi, k) * scale;
            if (isnan(v) || !(v > 0))
                continue;
            fprintf(g, "%zu %.6g\n", o->sizes[si], v);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            any = 1;
        }
        fputs("EOD\n", g);
    }
    if (!any)
        return 0;
    rp_gp_size_axis(g, p->run);
    rp_gp_log_y(g, lo, hi, ylabel);
    fputs("set key outside right top vertical Left reverse samplen 4 spacing 1.1\n"
          "set label 1 \"solid: ipcx    dashed: raw system calls    dash-dot: peer libraries    "
          "dotted grey: hardware floors\" at screen 0.01, screen 0.025 left font \"sans,11\"\n"
          "set bmargin 6\nplot ",
          g);
    for (size_t mi = 0; mi < o->nmechs; mi++) {
        const struct mech *m = o->mechs[mi];
        int has = 0;
        for (size_t si = 0; si < o->nsizes; si++)
            has |= !isnan(rp_med(p, mi, si, wi, k));
        if (!has)
            continue;
        fprintf(g, "%s$m%zu using 1:2 with linespoints title ", first ? "" : ", \\\n     ", mi);
        rp_gpstr(g, m->name);
        switch (rp_kind(m)) {
        case RP_FLOOR:
            fprintf(g, " lc rgb \"%s\" dt 3 lw 2 pt 6 ps 0.9", rp_greys[grey++ % 4]);
            break;
        case RP_RAW:
            fprintf(g, " lc rgb \"%s\" dt 2 lw 1.5 pt 4 ps 0.9", rp_colours[colour++ % 10]);
            break;
        case RP_PEER:
            fprintf(g, " lc rgb \"%s\" dt 4 lw 1.5 pt 8 ps 0.9", rp_colours[colour++ % 10]);
            break;
        case RP_IPCX:
            fprintf(g, " lc rgb \"%s\" dt 1 lw 3 pt 7 ps 1.1", rp_colours[colour++ % 10]);
            break;
        }
        first = 0;
    }
    fputs("\n", g);
    return 1;
}

/*
 * Clustered bars, one cluster per mechanism that has a figure, one bar per
 * column (metric ks[c] of size sis[c]); each cluster's background says the
 * kind (grey floor, blue raw, amber peer, white ipcx). Returns whether any
 * bar was written.
 */
static int rp_gp_bars(FILE *g, const struct rp *p, int wi, const enum res_metric *ks,
                      const size_t *sis, const char *const *titles, size_t ncols,
                      const char *xlabel, const char *ylabel)
{
    static const char *const band[] = {"#e4e4e4", "#ddeeff", NULL, "#fff0cc"};
    static const char *const bars[] = {"#1b9e77", "#d95f02", "#7570b3", "#e7298a",
                                       "#66a61e", "#e6ab02", "#a6761d", "#666666"};
    const struct res_opts *o = &p->run->opts;
    double lo = INFINITY, hi = -INFINITY;
    enum rp_kind kinds[RES_MAX_MECHS];
    size_t n = 0;
    fputs("$d << EOD\n", g);
    for (size_t mi = 0; mi < o->nmechs; mi++) {
        const struct mech *m = o->mechs[mi];
        int has = 0;
        for (size_t c = 0; c < ncols; c++)
            has |= !isnan(rp_med(p, mi, sis[c], wi, ks[c]));
        if (!has)
            continue;
        rp_gpstr(g, m->name);
        for (size_t c = 0; c < ncols; c++) {
            double v = rp_med(p, mi, sis[c], wi, ks[c]);
            if (isnan(v) || !(v > 0)) {
                fputs(" NaN", g);
                continue;
            }
            fprintf(g, " %.6g", v);
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        fputs("\n", g);
        n++;
    }
    fputs("EOD\n", g);
    if (n == 0)
        return 0;
    /* One band and one label per run of clusters of the same kind (short names over one). */
    n = 0;
    for (size_t mi = 0; mi < o->nmechs; mi++) {
        int has = 0;
        for (size_t c = 0; c < ncols; c++)
            has |= !isnan(rp_med(p, mi, sis[c], wi, ks[c]));
        if (has)
            kinds[n++] = rp_kind(o->mechs[mi]);
    }
    for (size_t i = 0, j, obj = 1; i < n; i = j, obj++) {
        for (j = i; j < n && kinds[j] == kinds[i]; j++)
            ;
        if (band[kinds[i]] != NULL)
            fprintf(g,
                    "set object %zu rect from %g, graph 0 to %g, graph 1 behind fc rgb \"%s\" "
                    "fs solid 1.0 noborder\n",
                    obj, (double)i - 0.5, (double)j - 0.5, band[kinds[i]]);
        /* A long name needs about four clusters; short names of narrow runs alternate in
         * height so that neighbours never overlap. */
        int wide = j - i >= 4;
        fprintf(g,
                "set label %zu \"%s\" at %g, graph %g center font \"sans,10\" tc rgb "
                "\"#555555\"\n",
                obj, wide ? rp_kind_long[kinds[i]] : rp_kind_name[kinds[i]],
                ((double)i + (double)j - 1) / 2, wide || obj % 2 ? 0.97 : 0.93);
    }
    fputs("set style data histogram\nset style histogram clustered gap 1\n"
          "set style fill solid 0.9 border rgb \"#333333\"\nset boxwidth 0.9\n"
          "set xtics rotate by -30 left scale 0\nset xrange [-0.5:*]\n"
          "set key outside right top vertical Left reverse\nset xlabel ",
          g);
    rp_gpstr(g, xlabel);
    fputs("\n", g);
    rp_gp_log_y(g, lo, hi * 1.5, ylabel);
    fputs("plot ", g);
    for (size_t c = 0; c < ncols; c++) {
        fprintf(g, "%s$d using %zu%s title ", c ? ", " : "", c + 2, c ? "" : ":xtic(1)");
        rp_gpstr(g, titles[c]);
        fprintf(g, " lc rgb \"%s\"", bars[c % 8]);
    }
    fputs("\n", g);
    return 1;
}

static int rp_chart_lat_pct(FILE *g, const struct rp *p)
{
    static const enum res_metric ks[] = {RES_P50, RES_P90, RES_P99, RES_P999};
    static const char *const titles[] = {"p50", "p90", "p99", "p99.9"};
    size_t sis[] = {0, 0, 0, 0};
    char b[32], title[160], xl[200];
    if (p->wpp < 0)
        return 0;
    rp_size(b, sizeof b, p->run->opts.sizes[0]);
    snprintf(title, sizeof title, "Ping-pong one-way latency percentiles, %s messages", b);
    snprintf(xl, sizeof xl,
             "mechanism (median of %u rounds; background: grey floor, blue raw, amber peer, "
             "white ipcx)",
             p->run->opts.rounds);
    rp_gp_preamble(g, "latency_percentiles", title);
    return rp_gp_bars(g, p, p->wpp, ks, sis, titles, 4, xl, "one-way latency (ns, log scale)");
}

static int rp_chart_lat_size(FILE *g, const struct rp *p)
{
    if (p->wpp < 0)
        return 0;
    rp_gp_preamble(g, "latency_vs_size", "Ping-pong one-way latency (p50) vs message size");
    return rp_gp_lines(g, p, p->wpp, RES_P50, 1.0, "one-way latency p50 (ns, log scale)");
}

static int rp_chart_tput_size(FILE *g, const struct rp *p)
{
    if (p->wst < 0)
        return 0;
    rp_gp_preamble(g, "throughput_vs_size", "Streaming throughput vs message size");
    return rp_gp_lines(g, p, p->wst, RES_BYTES, 1e-6,
                       "payload throughput (MB/s, 1 MB = 10^6 bytes, log scale)");
}

static int rp_chart_cpu(FILE *g, const struct rp *p)
{
    enum res_metric ks[RES_MAX_SIZES];
    size_t sis[RES_MAX_SIZES];
    char names[RES_MAX_SIZES][32];
    const char *titles[RES_MAX_SIZES];
    const struct res_opts *o = &p->run->opts;
    int wi = p->wst >= 0 ? p->wst : p->wpp;
    char title[160];
    if (wi < 0)
        return 0;
    for (size_t si = 0; si < o->nsizes; si++) {
        ks[si] = RES_CPU;
        sis[si] = si;
        titles[si] = rp_size(names[si], sizeof names[si], o->sizes[si]);
    }
    snprintf(title, sizeof title, "CPU time per message (%s pattern), both processes",
             o->wls[wi]->name);
    rp_gp_preamble(g, "cpu_per_message", title);
    return rp_gp_bars(g, p, wi, ks, sis, titles, o->nsizes,
                      "mechanism (bars: message size; user+sys time from getrusage / messages)",
                      "CPU per message (ns, log scale)");
}

/* Aggregate msgs/s against size of a many-party pattern (fanin, mpmc), when it ran. */
static int rp_chart_many(FILE *g, const struct rp *p, const struct workload *w, int wi,
                         const char *name)
{
    unsigned np, nc;
    char title[160];
    if (wi < 0)
        return 0;
    wl_many_shape(w, p->run->opts.producers, p->run->opts.consumers, &np, &nc);
    snprintf(title, sizeof title, "%s: %u producers, %u consumer%s, aggregate throughput vs size",
             w->name, np, nc, nc == 1 ? "" : "s");
    rp_gp_preamble(g, name, title);
    return rp_gp_lines(g, p, wi, RES_MSGS, 1.0, "messages per second, all producers (log scale)");
}

static int rp_chart_fanin(FILE *g, const struct rp *p)
{
    return rp_chart_many(g, p, &wl_fanin, p->wfanin, "fanin_throughput");
}

static int rp_chart_mpmc(FILE *g, const struct rp *p)
{
    return rp_chart_many(g, p, &wl_mpmc, p->wmpmc, "mpmc_throughput");
}

/* Runs `gnuplot NAME.gp` in the report directory; 0, or -1 with why filled (missing: ENOENT). */
static int rp_gnuplot(const char *dir, const char *name, char *why, size_t cap, int *missing)
{
    posix_spawn_file_actions_t fa;
    char script[64], prog[] = "gnuplot";
    char *argv[] = {prog, script, NULL};
    pid_t pid;
    int rc, st;
    *missing = 0;
    snprintf(script, sizeof script, "%s.gp", name);
    if (posix_spawn_file_actions_init(&fa) != 0) {
        snprintf(why, cap, "cannot start gnuplot: out of memory");
        return -1;
    }
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "gnuplot.log", O_WRONLY | O_CREAT | O_APPEND, 0666);
    rc = posix_spawnp(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        *missing = rc == ENOENT;
        snprintf(why, cap, "%s",
                 rc == ENOENT ? "gnuplot is not installed (apt-get install gnuplot-nox)"
                              : strerror(rc));
        return -1;
    }
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            snprintf(why, cap, "waiting for gnuplot: %s", strerror(errno));
            return -1;
        }
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127) {
        *missing = 1;
        snprintf(why, cap, "gnuplot is not installed (apt-get install gnuplot-nox)");
        return -1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (WIFEXITED(st))
            snprintf(why, cap, "gnuplot %s.gp exited with status %d (see gnuplot.log)", name,
                     WEXITSTATUS(st));
        else
            snprintf(why, cap, "gnuplot %s.gp was killed by signal %d", name, WTERMSIG(st));
        return -1;
    }
    return 0;
}

/* Writes every chart's script and runs gnuplot over it; -1 only if a script could not be written.
 */
static int rp_charts(struct rp *p)
{
    static int (*const draw[RP_NCHARTS])(FILE *, const struct rp *) = {
        rp_chart_lat_pct, rp_chart_lat_size, rp_chart_tput_size,
        rp_chart_cpu,     rp_chart_fanin,    rp_chart_mpmc};
    static const char *const names[RP_NCHARTS] = {"latency_percentiles", "latency_vs_size",
                                                  "throughput_vs_size",  "cpu_per_message",
                                                  "fanin_throughput",    "mpmc_throughput"};
    static const char *const headings[RP_NCHARTS] = {
        "Latency percentiles by mechanism",  "Latency vs message size",
        "Throughput vs message size",        "CPU time per message",
        "Fan-in throughput vs message size", "Many-to-many throughput vs message size"};
    int missing = 0, failed = 0;
    for (int c = 0; c < RP_NCHARTS; c++) {
        struct rp_chart *ch = &p->charts[c];
        char file[64], svg[64];
        FILE *g;
        long long sz;
        ch->name = names[c];
        ch->heading = headings[c];
        ch->optional = c >= RP_NFIXED;
        snprintf(file, sizeof file, "%s.gp", names[c]);
        snprintf(svg, sizeof svg, "%s.svg", names[c]);
        g = rp_open(p->dir, file);
        if (g == NULL)
            return -1;
        ch->has_data = draw[c](g, p);
        if (rp_close(g, p->dir, file) < 0)
            return -1;
        if (!ch->has_data) {
            snprintf(ch->why, sizeof ch->why, "this run measured nothing it would show");
            if (ch->optional) {
                char path[PATH_MAX];
                snprintf(path, sizeof path, "%s/%s", p->dir, file);
                unlink(path);
            }
            continue;
        }
        if (missing) {
            snprintf(ch->why, sizeof ch->why, "%s", p->gp_why);
            continue;
        }
        if (rp_gnuplot(p->dir, names[c], ch->why, sizeof ch->why, &missing) < 0) {
            if (missing) {
                p->gp = RP_GP_MISSING;
                snprintf(p->gp_why, sizeof p->gp_why, "%s", ch->why);
            } else {
                failed = 1;
            }
            continue;
        }
        sz = rp_file_size(p->dir, svg);
        if (sz <= 0) {
            snprintf(ch->why, sizeof ch->why, "gnuplot exited 0 but left %s %s", svg,
                     sz < 0 ? "missing" : "empty");
            failed = 1;
            continue;
        }
        ch->drawn = 1;
    }
    if (failed && p->gp == RP_GP_OK) {
        p->gp = RP_GP_FAILED;
        snprintf(p->gp_why, sizeof p->gp_why, "gnuplot failed on some charts (see below)");
    }
    return 0;
}

/*
 * Copies DIR/NAME.svg into the page from its <svg element on, renaming its ids
 * (gnuplot gives every chart the same ones) so that inline charts cannot
 * borrow each other's definitions.
 */
static void rp_embed_svg(FILE *f, const char *dir, const char *name)
{
    static const char *const refs[] = {"id='", "id=\"", "href='#", "href=\"#", "url(#"};
    char path[PATH_MAX];
    FILE *s;
    char *buf, *at;
    long n;
    snprintf(path, sizeof path, "%s/%s.svg", dir, name);
    s = fopen(path, "re");
    if (s == NULL)
        return;
    if (fseek(s, 0, SEEK_END) != 0 || (n = ftell(s)) <= 0 || fseek(s, 0, SEEK_SET) != 0 ||
        (buf = malloc((size_t)n + 1)) == NULL) {
        fclose(s);
        return;
    }
    n = (long)fread(buf, 1, (size_t)n, s);
    fclose(s);
    buf[n] = '\0';
    at = strstr(buf, "<svg");
    for (; at != NULL && *at != '\0'; at++) {
        size_t r;
        for (r = 0; r < sizeof refs / sizeof refs[0]; r++)
            if (strncmp(at, refs[r], strlen(refs[r])) == 0)
                break;
        if (r < sizeof refs / sizeof refs[0]) {
            fprintf(f, "%s%s-", refs[r], name);
            at += strlen(refs[r]) - 1;
            continue;
        }
        fputc(*at, f);
    }
    free(buf);
}

/* --- the page ---------------------------------------------------------------------- */

static const char rp_css[] =
    "body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222;"
    "line-height:1.4}\n"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;margin-top:1.6em}\n"
    "table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.2em .5em;"
    "text-align:right}th{background:#f2f2f2}td:first-child,th:first-child{text-align:left}\n"
    ".k-floor{color:#666;font-style:italic}.k-raw{color:#1f4e8c}.k-peer{color:#8a5a00}"
    ".k-ipcx{font-weight:bold}\n"
    ".note{color:#555;font-size:.9em}.warn{background:#fff3cd;padding:.5em;border:1px solid "
    "#e0c060}\n"
    "figure{margin:1em 0}figure svg{width:100%;height:auto;border:1px solid #ddd}\n"
    "dt{font-weight:bold}code{background:#f4f4f4;padding:0 .2em}\n";

static void rp_header(const struct rp *p)
{
    const struct res_run *run = p->run;
    const struct res_opts *o = &run->opts;
    const struct res_placement *pl = &run->placement;
    FILE *f = p->f;
    struct utsname u;
    struct tm tm;
    char when[40] = "", model[256], gov[64] = "";
    FILE *gf = fopen("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", "re");
    if (gf != NULL) {
        if (fgets(gov, sizeof gov, gf) == NULL)
            gov[0] = '\0';
        gov[strcspn(gov, "\n")] = '\0';
        fclose(gf);
    }
    if (gmtime_r(&run->started, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    fputs("<h2 id=\"run\">The run</h2>\n<table>\n<tr><th>command</th><td><code>", f);
    for (int i = 0; i < run->argc; i++) {
        fputs(i ? " " : "", f);
        rp_esc(f, run->argv[i]);
    }
    fputs("</code></td></tr>\n<tr><th>started</th><td>", f);
    rp_esc(f, when);
    fputs("</td></tr>\n<tr><th>library</th><td>libipcx ", f);
    rp_esc(f, ipcx_version());
    fputs("</td></tr>\n<tr><th>machine</th><td>", f);
    rp_esc(f, export_cpu_model(model, sizeof model) == 0 ? model : "cpu model unknown");
    fprintf(f, ", %ld cpus online", sysconf(_SC_NPROCESSORS_ONLN));
    if (uname(&u) == 0) {
        fputs(", ", f);
        rp_esc(f, u.sysname);
        fputs(" ", f);
        rp_esc(f, u.release);
        fputs(" ", f);
        rp_esc(f, u.machine);
    }
    fputs(", cpufreq governor: ", f);
    rp_esc(f, gov[0] ? gov : "not readable");
    fputs("</td></tr>\n<tr><th>placement</th><td>", f);
    if (run->many.used) { /* fanin, mpmc: producers and consumers */
        fputs("fanin, mpmc: ", f);
        rp_esc(f, run->many.how);
        fputs(run->many.moved ? "; <b>warning</b>: some parties did not run on their cpu" : "", f);
        fputs(pl->child_cpu_first >= 0 ? ".<br>Two-party patterns: " : ".", f);
    }
    if (run->many.used && pl->child_cpu_first < 0)
        ; /* no two-party cell ran */
    else if (pl->pinned)
        fprintf(f,
                "parent pinned to cpu %d (ran on %d), each child pinned to cpu %d (first ran on "
                "%d): %s%s",
                CPU_PARENT, pl->parent_cpu, CPU_CHILD, pl->child_cpu_first,
                topo_relation(CPU_PARENT, CPU_CHILD),
                pl->child_moved ? "; <b>warning</b>: some children did not run on their cpu" : "");
    else {
        fputs("<b>unpinned</b> (", f);
        rp_esc(f, pl->why);
        fprintf(f, "); parent on cpu %d, first child on cpu %d", pl->parent_cpu,
                pl->child_cpu_first);
    }
    fprintf(f,
            "</td></tr>\n<tr><th>shape</th><td>%zu mechanisms &times; %zu sizes &times; %zu "
            "patterns (",
            o->nmechs, o->nsizes, o->nwls);
    for (size_t wi = 0; wi < o->nwls; wi++) {
        unsigned np, nc;
        fputs(wi ? ", " : "", f);
        rp_esc(f, o->wls[wi]->name);
        if (!o->wls[wi]->producers)
            continue;
        wl_many_shape(o->wls[wi], o->producers, o->consumers, &np, &nc);
        fprintf(f, " %u producers &rarr; %u consumer%s", np, nc, nc == 1 ? "" : "s");
    }
    fprintf(f, "), %u rounds, ", o->rounds);
    if (o->count)
        fprintf(f, "%llu timed messages per cell", (unsigned long long)o->count);
    else
        fprintf(f, "%.3g s timed per cell and round", o->duration_s);
    fprintf(f, ", warm-up %.3g s%s</td></tr>\n", run->warmup_s,
            o->quick ? " (<code>--quick</code>: a smoke run; quote figures from a full run)" : "");
    fprintf(f,
            "<tr><th>outcome</th><td>%u cells failed, %u had bad payloads, %u skipped, "
            "of %zu (a cell: one mechanism, size and pattern in one round)</td></tr>\n</table>\n",
            run->failed, run->bad, run->skipped, o->nmechs * o->nsizes * o->nwls * o->rounds);
    if (run->nskips) {
        fputs("<p>Skipped, with the reason:</p>\n<ul>\n", f);
        for (size_t i = 0; i < run->nskips; i++) {
            fputs("<li>", f);
            rp_mech(f, run->skips[i].m);
            fputs(": ", f);
            rp_esc(f, run->skips[i].why);
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
    fputs("<p class=\"note\">Kinds: <span class=\"k-ipcx\">ipcx</span> mechanisms (bold), "
          "<span class=\"k-raw\">raw system calls</span> (their baselines), <span "
          "class=\"k-peer\">peer libraries</span>, <span class=\"k-floor\">hardware floors</span> "
          "(bare shared memory, no kernel, no promises: not a mechanism to use, the limit of the "
          "machine).</p>\n",
          f);
}

static void rp_fairness(FILE *f, const struct res_placement *pl)
{
    fprintf(f,
            "<h2 id=\"fairness\">Fairness rules</h2>\n<ol>\n"
            "<li><b>Same processes, same placement.</b> Every cell is a fresh fork; the timing "
            "parent is pinned to one cpu and the child to another (in this run: %s). Set-up "
            "happens before timing, with barriers over a control pipe that carries nothing while "
            "timing runs.</li>\n",
            pl->pinned ? topo_relation(CPU_PARENT, CPU_CHILD) : "not pinned, see above");
    fputs(
        "<li><b>Same work per message.</b> The workloads are written once over a table of "
        "mechanisms; the producer writes every cache line of the payload and the consumer "
        "reads and checks it. Mechanisms only move bytes.</li>\n"
        "<li><b>Raw baselines are honest.</b> Blocking calls, no framing, no extra copies, the "
        "same kernel objects the library uses; the difference is the price of the library's "
        "promises.</li>\n"
        "<li><b>Interleaved rounds.</b> Each round runs every cell once, mechanisms back to back "
        "and in reversed order every other round, so a noisy neighbour hits all of them. Each "
        "figure is the median of the rounds; ratios are taken within a round.</li>\n"
        "<li><b>Every sample counts.</b> Every timed round trip goes into a log-linear histogram; "
        "no outlier is dropped; warm-up traffic is never recorded. Spinning and blocking "
        "mechanisms are separate rows, never mixed.</li>\n</ol>\n",
        f);
}

/* One item of "fastest": the best non-floor, the best ipcx and the best floor. */
static void rp_fastest_item(const struct rp *p, const char *what, size_t si, int wi,
                            enum res_metric k, int want_max)
{
    FILE *f = p->f;
    const struct res_opts *o = &p->run->opts;
    int b = rp_best(p, si, wi, k, want_max, rp_any);
    int bi = rp_best(p, si, wi, k, want_max, rp_only_ipcx);
    int bf = rp_best(p, si, wi, k, want_max, rp_only_floor);
    char s[32], v[48];
    if (b < 0)
        return;
    fprintf(f, "<li>%s, %s: ", what, rp_size(s, sizeof s, o->sizes[si]));
    rp_mech(f, o->mechs[b]);
#define RP_FIG(mi)                                                                                 \
    (k == RES_BYTES ? rp_mbs(v, sizeof v, rp_med(p, (size_t)(mi), si, wi, k))                      \
                    : rp_ns(v, sizeof v, rp_med(p, (size_t)(mi), si, wi, k)))
    fprintf(f, " (%s)", RP_FIG(b));
    if (bi >= 0 && bi != b) {
        fputs("; fastest ipcx: ", f);
        rp_mech(f, o->mechs[bi]);
        fprintf(f, " (%s)", RP_FIG(bi));
    }
    if (bf >= 0) {
        fputs("; the machine's floor: ", f);
        rp_mech(f, o->mechs[bf]);
        fprintf(f, " (%s)", RP_FIG(bf));
    }
#undef RP_FIG
    fputs("</li>\n", f);
}

static void rp_ratios(const struct rp *p)
{
    const struct res_opts *o = &p->run->opts;
    FILE *f = p->f;
    char b[48];
    int rows = 0;
    for (size_t mi = 0; mi < o->nmechs; mi++) {
        const struct mech *m = o->mechs[mi];
        if (rp_kind(m) == RP_FLOOR || rp_kind(m) == RP_RAW || m->baseline == NULL ||
            res_mech_index(p->run, m->baseline) < 0)
            continue;
        if (rows++ == 0) {
            fputs("<table>\n<tr><th>mechanism</th><th>baseline</th>", f);
            for (size_t si = 0; si < o->nsizes; si++) {
                if (p->wpp >= 0)
                    fprintf(f, "<th>latency p50, %s</th>", rp_size(b, sizeof b, o->sizes[si]));
                if (p->wst >= 0)
                    fprintf(f, "<th>msgs/s, %s</th>", rp_size(b, sizeof b, o->sizes[si]));
            }
            fputs("</tr>\n", f);
        }
        fputs("<tr><td>", f);
        rp_mech(f, m);
        fputs("</td><td>", f);
        rp_mech(f, o->mechs[res_mech_index(p->run, m->baseline)]);
        fputs("</td>", f);
        for (size_t si = 0; si < o->nsizes; si++) {
            if (p->wpp >= 0)
                fprintf(f, "<td>%s</td>",
                        rp_ratio(b, sizeof b, res_ratio_of(p->run, mi, si, p->wpp, RES_P50).med));
            if (p->wst >= 0)
                fprintf(f, "<td>%s</td>",
                        rp_ratio(b, sizeof b, res_ratio_of(p->run, mi, si, p->wst, RES_MSGS).med));
        }
        fputs("</tr>\n", f);
    }
    if (rows)
        fputs("</table>\n<p class=\"note\">Each figure is the median over rounds of the ratio "
              "taken within one round. Latency: above 1 means slower than the baseline (1.10 = "
              "10&nbsp;% more one-way latency). Messages per second: below 1 means fewer (0.95 = "
              "5&nbsp;% fewer). A baseline that is a floor is bare shared memory with no "
              "promises, so a ratio to it is the whole price of a usable mailbox.</p>\n",
              f);
    else
        fputs("<p>No library mechanism ran together with its baseline in this run.</p>\n", f);
}

static void rp_blocking_cost(const struct rp *p)
{
    const struct res_opts *o = &p->run->opts;
    FILE *f = p->f;
    char b[48], c[48], d[48], e[48];
    int worst = -1;
    double wr = NAN;
    if (p->wrate >= 0 && p->wpp >= 0) {
        fprintf(f,
                "<p>At a fixed rate (%g messages/s, %s), each receiver waits between messages, "
                "so a mechanism that sleeps pays its wake-up on every message; back-to-back "
                "ping-pong hides it. Latency at the fixed rate against ping-pong:</p>\n<table>"
                "\n<tr><th>mechanism</th><th>ping-pong p50</th><th>fixed-rate p50</th>"
                "<th>fixed-rate p99</th><th>rate / ping-pong</th></tr>\n",
                o->rate > 0 ? o->rate : WL_RATE_DEFAULT, rp_size(d, sizeof d, o->sizes[0]));
        for (size_t mi = 0; mi < o->nmechs; mi++) {
            double pp = rp_med(p, mi, 0, p->wpp, RES_P50), rt = rp_med(p, mi, 0, p->wrate, RES_P50);
            if (isnan(rt))
                continue;
            fputs("<tr><td>", f);
            rp_mech(f, o->mechs[mi]);
            fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                    rp_ns(b, sizeof b, pp), rp_ns(c, sizeof c, rt),
                    rp_ns(d, sizeof d, rp_med(p, mi, 0, p->wrate, RES_P99)),
                    rp_ratio(e, sizeof e, rt / pp));
            if (rp_blocking(o->mechs[mi]) && !isnan(rt / pp) && (worst < 0 || rt / pp > wr)) {
                worst = (int)mi;
                wr = rt / pp;
            }
        }
        fputs("</table>\n", f);
        if (worst >= 0) {
            fputs("<p>Blocking costs most for ", f);
            rp_mech(f, o->mechs[worst]);
            fprintf(f,
                    ": %.1f&times; its ping-pong latency at the fixed rate (among mechanisms that "
                    "sleep when idle).</p>\n",
                    wr);
        }
        return;
    }
    if (p->wpp < 0) {
        fputs("<p>Neither the rate nor the ping-pong pattern ran: nothing to say.</p>\n", f);
        return;
    }
    {
        int sp = rp_best(p, 0, p->wpp, RES_P50, 0, rp_spins_usable);
        double spv = sp >= 0 ? rp_med(p, (size_t)sp, 0, p->wpp, RES_P50) : NAN;
        fprintf(f,
                "<p>The rate pattern did not run (<code>--pattern rate</code> or <code>all</code> "
                "shows the wake-up cost of a sleeping receiver directly). From the ping-pong at "
                "%s: ",
                rp_size(d, sizeof d, o->sizes[0]));
        if (sp < 0)
            sp = rp_best(p, 0, p->wpp, RES_P50, 0, rp_spins);
        spv = sp >= 0 ? rp_med(p, (size_t)sp, 0, p->wpp, RES_P50) : NAN;
        if (sp < 0) {
            fputs("no spinning mechanism ran, so there is nothing to compare blocking with.</p>\n",
                  f);
            return;
        }
        fputs("the fastest spinning mechanism, ", f);
        rp_mech(f, o->mechs[sp]);
        fprintf(f,
                ", answers in %s one way. Mechanisms that sleep in the kernel when idle:</p>\n"
                "<table>\n<tr><th>mechanism (blocking)</th><th>p50</th><th>p99</th>"
                "<th>p50 / fastest spin</th></tr>\n",
                rp_ns(b, sizeof b, spv));
        for (size_t mi = 0; mi < o->nmechs; mi++) {
            double v = rp_med(p, mi, 0, p->wpp, RES_P50);
            if (rp_spins(o->mechs[mi]) || isnan(v))
                continue;
            fputs("<tr><td>", f);
            rp_mech(f, o->mechs[mi]);
            fprintf(f, "</td><td>%s</td><td>%s</td><td>%s</td></tr>\n", rp_ns(b, sizeof b, v),
                    rp_ns(c, sizeof c, rp_med(p, mi, 0, p->wpp, RES_P99)),
                    rp_ratio(d, sizeof d, v / spv));
            if (worst < 0 || v / spv > wr) {
                worst = (int)mi;
                wr = v / spv;
            }
        }
        fputs("</table>\n", f);
        if (worst >= 0) {
            fputs("<p>Blocking costs most for ", f);
            rp_mech(f, o->mechs[worst]);
            fprintf(f,
                    " (%.1f&times; the fastest spinning mechanism). Spinning buys this latency "
                    "with a core kept busy while idle; a ping-pong keeps the receiver hot, so "
                    "the gap at a low message rate is larger.</p>\n",
                    wr);
        } else {
            fputs("<p>No blocking mechanism ran.</p>\n", f);
        }
    }
}

/* One row of the recommendation table. */
static void rp_reco_row(const struct rp *p, const char *pattern, size_t si, int wi,
                        enum res_metric k, int want_max, int (*ok)(const struct mech *))
{
    const struct res_opts *o = &p->run->opts;
    FILE *f = p->f;
    int b = rp_best(p, si, wi, k, want_max, ok);
    int bi = rp_best2(p, si, wi, k, want_max, ok, rp_only_ipcx);
    char s[32], v[48];
    if (wi < 0 || b < 0)
        return;
    fprintf(f, "<tr><td>%s</td><td>%s</td><td>", pattern, rp_size(s, sizeof s, o->sizes[si]));
    rp_mech(f, o->mechs[b]);
    fprintf(f, " (%s)</td><td>",
            k == RES_BYTES ? rp_mbs(v, sizeof v, rp_med(p, (size_t)b, si, wi, k))
                           : rp_ns(v, sizeof v, rp_med(p, (size_t)b, si, wi, k)));
    if (bi >= 0) {
        rp_mech(f, o->mechs[bi]);
        fprintf(f, " (%s)",
                k == RES_BYTES ? rp_mbs(v, sizeof v, rp_med(p, (size_t)bi, si, wi, k))
                               : rp_ns(v, sizeof v, rp_med(p, (size_t)bi, si, wi, k)));
    } else {
        fputs("&ndash;", f);
    }
    fputs("</td></tr>\n", f);
}

static void rp_analysis(const struct rp *p)
{
    const struct res_opts *o = &p->run->opts;
    FILE *f = p->f;
    size_t last = o->nsizes - 1;
    fputs("<h2 id=\"analysis\">Analysis of this run</h2>\n<p class=\"note\">Written by "
          "ipcx-bench from the medians below; floors are the machine's limit, not candidates.</p>\n"
          "<h3>Fastest mechanism</h3>\n<ul>\n",
          f);
    if (p->wpp >= 0) {
        rp_fastest_item(p, "Lowest ping-pong latency (p50)", 0, p->wpp, RES_P50, 0);
        if (last > 0)
            rp_fastest_item(p, "Lowest ping-pong latency (p50)", last, p->wpp, RES_P50, 0);
    }
    if (p->wst >= 0) {
        rp_fastest_item(p, "Highest streaming throughput", 0, p->wst, RES_BYTES, 1);
        if (last > 0)
            rp_fastest_item(p, "Highest streaming throughput", last, p->wst, RES_BYTES, 1);
    }
    if (p->wfanin >= 0) {
        rp_fastest_item(p, "Highest fan-in throughput", 0, p->wfanin, RES_BYTES, 1);
        if (last > 0)
            rp_fastest_item(p, "Highest fan-in throughput", last, p->wfanin, RES_BYTES, 1);
    }
    if (p->wmpmc >= 0) {
        rp_fastest_item(p, "Highest many-to-many throughput", 0, p->wmpmc, RES_BYTES, 1);
        if (last > 0)
            rp_fastest_item(p, "Highest many-to-many throughput", last, p->wmpmc, RES_BYTES, 1);
    }
    fputs("</ul>\n<h3>Each library mechanism against its baseline</h3>\n", f);
    rp_ratios(p);
    fputs("<h3>Where blocking costs most</h3>\n", f);
    rp_blocking_cost(p);
    fputs("<h3>Recommendation</h3>\n<table>\n<tr><th>pattern</th><th>size</th><th>use</th>"
          "<th>best ipcx mechanism</th></tr>\n",
          f);
    for (size_t si = 0; si<o->nsizes; si += last> 0 ? last : 1) {
        rp_reco_row(p, "request/response, a core to spare", si, p->wpp, RES_P50, 0, rp_any);
        rp_reco_row(p, "request/response, no core to spin", si, p->wpp, RES_P50, 0, rp_blocking);
        rp_reco_row(p, "streaming", si, p->wst, RES_BYTES, 1, rp_any);
        rp_reco_row(p, "low fixed rate, a core to spare", si, p->wrate, RES_P99, 0, rp_any);
        rp_reco_row(p, "low fixed rate, no core to spin", si, p->wrate, RES_P99, 0, rp_blocking);
    }
    fputs("</table>\n<p class=\"note\">Latency rows rank by p50 (fixed rate by p99), "
          "streaming by MB/s, on this machine and this run only. \"No core to spin\" leaves out "
          "mechanisms whose receiver spins. Peer libraries are ranked when they ran.</p>\n",
          f);
}

static void rp_charts_html(const struct rp *p)
{
    FILE *f = p->f;
    fputs("<h2 id=\"charts\">Charts</h2>\n", f);
    fprintf(f, "<p id=\"gnuplot-status\" data-status=\"%s\"%s>",
            p->gp == RP_GP_OK        ? "ok"
            : p->gp == RP_GP_MISSING ? "missing"
                                     : "failed",
            p->gp == RP_GP_OK ? " class=\"note\"" : " class=\"warn\"");
    if (p->gp == RP_GP_OK)
        fputs("Drawn by gnuplot; each chart's script is beside this page (re-draw with "
              "<code>gnuplot NAME.gp</code> in this directory).",
              f);
    else {
        fputs("Charts missing: ", f);
        rp_esc(f, p->gp_why);
        fputs(". The tables below have every figure.", f);
    }
    fputs("</p>\n", f);
    for (int c = 0; c < RP_NCHARTS; c++) {
        const struct rp_chart *ch = &p->charts[c];
        if (ch->optional && !ch->has_data)
            continue;
        fprintf(f, "<h3>%s</h3>\n", ch->heading);
        if (!ch->drawn) {
            fputs("<p class=\"note\">Not drawn: ", f);
            rp_esc(f, ch->why);
            fputs(".</p>\n", f);
            continue;
        }
        fputs("<figure>\n", f);
        rp_embed_svg(f, p->dir, ch->name);
        fprintf(f,
                "<figcaption class=\"note\">File: <a href=\"%s.svg\">%s.svg</a> (script <a "
                "href=\"%s.gp\">%s.gp</a>)</figcaption>\n</figure>\n",
                ch->name, ch->name, ch->name, ch->name);
    }
}

static void rp_tables(const struct rp *p)
{
    const struct res_opts *o = &p->run->opts;
    FILE *f = p->f;
    char a[48], b[48], c[48], d[48], e[48], s[32];
    fputs("<h2 id=\"tables\">Tables</h2>\n", f);
    for (size_t wi = 0; wi < o->nwls; wi++) {
        int lat = (int)wi == p->wpp || (int)wi == p->wrate;
        unsigned np = 0, nc = 0; /* a many-party pattern's shape; 0 for the others */
        int extra = 0;           /* its columns: fairness, and the consumers' balance */
        if (o->wls[wi]->producers) {
            wl_many_shape(o->wls[wi], o->producers, o->consumers, &np, &nc);
            extra = nc > 1 ? 2 : 1;
        }
        fputs("<h3>", f);
        rp_esc(f, o->wls[wi]->name);
        fputs("</h3>\n", f);
        if (np)
            fprintf(f,
                    "<p>%u producer processes, %u consumer%s, one mailbox%s. Rates: every "
                    "producer's timed messages over the span from the start of the timed part to "
                    "the moment the last of them had been consumed. Fairness: the least "
                    "producer's timed messages over the most's (1 = even)%s.</p>\n",
                    np, nc, nc == 1 ? "" : "s", nc > 1 ? ", each message to one consumer" : "",
                    nc > 1 ? "; consumer balance: the least consumer's messages over the most's"
                           : "");
        fputs("<table>\n<tr><th>mechanism</th><th>size</th>", f);
        if (lat)
            fputs("<th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th>"
                  "<th>p50 range</th>",
                  f);
        else
            fputs("<th>msgs/s</th><th>MB/s</th><th>msgs/s range</th>", f);
        if (extra)
            fputs(extra > 1 ? "<th>fairness</th><th>consumer balance</th>" : "<th>fairness</th>",
                  f);
        fputs("<th>CPU/msg</th><th>vs baseline</th></tr>\n", f);
        for (size_t mi = 0; mi < o->nmechs; mi++) {
            for (size_t si = 0; si < o->nsizes; si++) {
                int w = (int)wi;
                struct res_spread sp = res_spread_of(p->run, mi, si, w, lat ? RES_P50 : RES_MSGS);
                fputs("<tr><td>", f);
                rp_mech(f, o->mechs[mi]);
                fprintf(f, "</td><td>%s</td>", rp_size(s, sizeof s, o->sizes[si]));
                if (res_all_skipped(p->run, mi, si, w)) {
                    const struct res_cell *sc = res_cell_at(p->run, mi, si, wi, 0);
                    fprintf(f, "<td colspan=\"%d\">skipped", (lat ? 8 : 5) + extra);
                    if (sc->skip >= 0) {
                        fputs(": ", f);
                        rp_esc(f, p->run->skips[sc->skip].why);
                    }
                    fputs("</td></tr>\n", f);
                    continue;
                }
                if (lat) {
                    fprintf(f, "<td>%s</td><td>%s</td><td>%s</td><td>%s</td>",
                            rp_ns(a, sizeof a, sp.med),
                            rp_ns(b, sizeof b, rp_med(p, mi, si, w, RES_P90)),
                            rp_ns(c, sizeof c, rp_med(p, mi, si, w, RES_P99)),
                            rp_ns(d, sizeof d, rp_med(p, mi, si, w, RES_P999)));
                    fprintf(f, "<td>%s</td>",
                            rp_ns(e, sizeof e, res_spread_of(p->run, mi, si, w, RES_MAX).max));
                    fprintf(f, "<td>%s &ndash; %s</td>", rp_ns(a, sizeof a, sp.min),
                            rp_ns(b, sizeof b, sp.max));
                } else {
                    fprintf(f, "<td>%s</td><td>%s</td><td>%s &ndash; %s</td>",
                            rp_count(a, sizeof a, sp.med),
                            rp_mbs(b, sizeof b, rp_med(p, mi, si, w, RES_BYTES)),
                            rp_count(c, sizeof c, sp.min), rp_count(d, sizeof d, sp.max));
                }
                for (int x = 0; x < extra; x++) {
                    double v = rp_med(p, mi, si, w, x == 0 ? RES_FAIR : RES_BALANCE);
                    if (isnan(v))
                        fputs("<td>&ndash;</td>", f);
                    else
                        fprintf(f, "<td>%.2f</td>", v);
                }
                fprintf(f, "<td>%s</td><td>%s</td></tr>\n",
                        rp_ns(a, sizeof a, rp_med(p, mi, si, w, RES_CPU)),
                        rp_ratio(b, sizeof b,
                                 res_ratio_of(p->run, mi, si, w, lat ? RES_P50 : RES_MSGS).med));
            }
        }
        fputs("</table>\n", f);
    }
    fputs("<p class=\"note\">Medians over rounds; latency is one way (round trip / 2), nearest "
          "rank over every sample; max is the largest sample of any round. MB = 10<sup>6</sup> "
          "bytes of payload. CPU/msg is user+sys time of both processes (fanin, mpmc: of every "
          "producer and consumer) over the workload divided by every message that crossed. "
          "\"vs baseline\": latency p50 (or msgs/s) over the "
          "baseline's in the same round, median over rounds. &ndash;: not measured (failed or not "
          "this pattern's figure).</p>\n",
          f);
}

int report_write(const struct res_run *run, const char *dir)
{
    struct rp p;
    int rc = 0;
    memset(&p, 0, sizeof p);
    p.run = run;
    p.dir = dir;
    p.wpp = res_wl_index(run, &wl_pingpong);
    p.wst = res_wl_index(run, &wl_stream);
    p.wrate = res_wl_index(run, &wl_rate);
    p.wfanin = res_wl_index(run, &wl_fanin);
    p.wmpmc = res_wl_index(run, &wl_mpmc);
    p.gp = RP_GP_OK;
    if (rp_export(&p, "results.json", export_json) < 0 ||
        rp_export(&p, "results.csv", export_csv) < 0 || rp_charts(&p) < 0)
        return -1;
    p.f = rp_open(dir, "index.html");
    if (p.f == NULL)
        return -1;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>ipcx bench report</title>\n<style>\n",
          p.f);
    fputs(rp_css, p.f);
    fputs("</style>\n</head>\n<body>\n<h1>ipcx bench: IPC mechanisms on this machine</h1>\n"
          "<p>Contents: <a href=\"#run\">the run</a> &middot; <a href=\"#analysis\">analysis</a> "
          "&middot; <a href=\"#charts\">charts</a> &middot; <a href=\"#tables\">tables</a> "
          "&middot; <a href=\"#fairness\">fairness rules</a> &middot; data: <a "
          "href=\"results.json\">results.json</a>, <a href=\"results.csv\">results.csv</a>",
          p.f);
    if (rp_file_size(dir, "gnuplot.log") > 0)
        fputs(", <a href=\"gnuplot.log\">gnuplot.log</a>", p.f);
    fputs("</p>\n", p.f);
    rp_header(&p);
    rp_analysis(&p);
    rp_charts_html(&p);
    rp_tables(&p);
    rp_fairness(p.f, &run->placement);
    fputs("<p class=\"note\">Generated by ipcx-bench; schema of the data files: ", p.f);
    rp_esc(p.f, EXPORT_SCHEMA);
    fputs(" (docs/bench.md).</p>\n</body>\n</html>\n", p.f);
    if (rp_close(p.f, dir, "index.html") < 0)
        rc = -1;
    return rc;
}
