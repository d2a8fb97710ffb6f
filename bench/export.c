/*
 * export.c: writes a finished run as JSON (schema "ipcx-bench/1") and as CSV,
 * for scripts, charts and later comparison. Every figure comes from
 * results.c, so these files say exactly what the terminal table says, with
 * every round and the 99.9th percentile besides. A figure that was not
 * measured (a failed round, a pattern that does not measure it) is JSON null
 * or an empty CSV field, never 0, NaN or infinity. The format is documented
 * in docs/bench.md; a change that breaks a reader must bump EXPORT_SCHEMA.
 * This file must never run, time or change anything.
 */
#include "export.h"
#include "topo.h"

#include <ipcx.h>

#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

/* The figures of one cell's round or one summary (median, min, max), by enum res_metric. */
#define EXPORT_NMETRICS (RES_BALANCE + 1)

static const char *const export_lat_keys[] = {"p50", "p90", "p99", "p999", "max"};

/* A cell's summary rows, in CSV order. */
enum { SUM_MEDIAN, SUM_MIN, SUM_MAX, SUM_N };
static const char *const export_sum_names[SUM_N] = {"median", "min", "max"};

/* --- facts about the machine ------------------------------------------------------ */

/* The first "model name" of /proc/cpuinfo (export.h). */
int export_cpu_model(char *buf, size_t cap)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    int rc = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || colon == NULL)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        colon[strcspn(colon, "\n")] = '\0';
        snprintf(buf, cap, "%s", colon);
        rc = 0;
        break;
    }
    fclose(f);
    return rc;
}

static const char *export_status_name(enum res_status st)
{
    switch (st) {
    case RES_NOT_RUN:
        return "not_run";
    case RES_OK:
        return "ok";
    case RES_FAILED:
        return "failed";
    case RES_BAD:
        return "bad_payload";
    case RES_SKIPPED:
        return "skipped";
    }
    return "not_run";
}

/* A cell over all rounds: "ok" (every round), "skipped" (every round), "failed" (none ok), or
 * "partial" (some ok, some not). */
static const char *export_cell_status(const struct res_run *run, size_t mi, size_t si, size_t wi)
{
    unsigned ok = 0, skipped = 0, rounds = run->opts.rounds;
    for (unsigned r = 0; r < rounds; r++) {
        enum res_status st = res_cell_at(run, mi, si, wi, r)->status;
        ok += st == RES_OK;
        skipped += st == RES_SKIPPED;
    }
    if (ok == rounds)
        return "ok";
    if (skipped == rounds)
        return "skipped";
    return ok == 0 ? "failed" : "partial";
}

/* The reason of the first skipped round of a cell, or NULL if none was skipped. */
static const char *export_skip_reason(const struct res_run *run, size_t mi, size_t si, size_t wi)
{
    for (unsigned r = 0; r < run->opts.rounds; r++) {
        const struct res_cell *c = res_cell_at(run, mi, si, wi, r);
        if (c->status == RES_SKIPPED)
            return c->skip >= 0 ? run->skips[c->skip].why
                                : "(reason not kept: too many distinct skip reasons)";
    }
    return NULL;
}

/* The figures of one round of a cell. */
static void export_round_figures(const struct res_cell *c, double v[EXPORT_NMETRICS])
{
    for (int k = 0; k < EXPORT_NMETRICS; k++)
        v[k] = res_metric(c, (enum res_metric)k);
}

/* The median, min and max across rounds of every figure of a cell. */
static void export_summary_figures(const struct res_run *run, size_t mi, size_t si, size_t wi,
                                   double v[SUM_N][EXPORT_NMETRICS], size_t *rounds_used)
{
    *rounds_used = 0;
    for (int k = 0; k < EXPORT_NMETRICS; k++) {
        struct res_spread sp = res_spread_of(run, mi, si, (int)wi, (enum res_metric)k);
        v[SUM_MEDIAN][k] = sp.med;
        v[SUM_MIN][k] = sp.min;
        v[SUM_MAX][k] = sp.max;
        if (sp.n > *rounds_used)
            *rounds_used = sp.n;
    }
}

/* Whether a finite v is a whole number small enough to print exactly (no libm needed). */
static int export_is_integer(double v)
{
    return v > -1e15 && v < 1e15 && v == (double)(long long)v;
}

/* --- JSON ----------------------------------------------------------------------------- */

/* A JSON string (UTF-8 passed through, quotes, backslashes and control bytes escaped), or null. */
static void json_str(FILE *f, const char *s)
{
    if (s == NULL) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/*
 * A number: integers exactly, other values to 10 significant digits, and
 * null for NaN or infinity (JSON has neither).
 */
static void json_num(FILE *f, double v)
{
    if (!isfinite(v))
        fputs("null", f);
    else if (export_is_integer(v))
        fprintf(f, "%.0f", v);
    else
        fprintf(f, "%.10g", v);
}

static void json_bool(FILE *f, int v)
{
    fputs(v ? "true" : "false", f);
}

/* {"latency_ns": {...} | null, "msgs_per_s": .., "bytes_per_s": .., "cpu_ns_per_msg": ..,
 *  "fairness": .., "consumer_balance": ..} */
static void json_figures(FILE *f, const double v[EXPORT_NMETRICS])
{
    fputs("\"latency_ns\": ", f);
    if (isnan(v[RES_P50])) {
        fputs("null", f);
    } else {
        fputc('{', f);
        for (int k = RES_P50; k <= RES_MAX; k++) {
            fprintf(f, "%s\"%s\": ", k == RES_P50 ? "" : ", ", export_lat_keys[k - RES_P50]);
            json_num(f, v[k]);
        }
        fputc('}', f);
    }
    fputs(", \"msgs_per_s\": ", f);
    json_num(f, v[RES_MSGS]);
    fputs(", \"bytes_per_s\": ", f);
    json_num(f, v[RES_BYTES]);
    fputs(", \"cpu_ns_per_msg\": ", f);
    json_num(f, v[RES_CPU]);
    fputs(", \"fairness\": ", f);
    json_num(f, v[RES_FAIR]);
    fputs(", \"consumer_balance\": ", f);
    json_num(f, v[RES_BALANCE]);
}

static void json_round(FILE *f, const struct res_cell *c, unsigned r, const struct res_run *run)
{
    double v[EXPORT_NMETRICS];
    fprintf(f, "{\"round\": %u, \"status\": ", r + 1);
    json_str(f, export_status_name(c->status));
    switch (c->status) {
    case RES_OK:
        fprintf(f, ", \"timed\": %" PRIu64 ", \"moved\": %" PRIu64 ", \"seconds\": ", c->res.msgs,
                c->res.moved);
        json_num(f, c->res.seconds > 0 ? c->res.seconds : NAN);
        fputs(", ", f);
        export_round_figures(c, v);
        json_figures(f, v);
        break;
    case RES_FAILED:
        fputs(", \"error\": ", f);
        json_str(f, ipcx_errname(c->rc));
        fputs(", \"message\": ", f);
        json_str(f, ipcx_strerror(c->rc));
        fputs(", \"stage\": ", f);
        json_str(f, c->stage);
        break;
    case RES_BAD:
        fprintf(f, ", \"failed_checks\": %" PRIu64, c->res.errors);
        break;
    case RES_SKIPPED:
        fputs(", \"reason\": ", f);
        json_str(f, c->skip >= 0 ? run->skips[c->skip].why : NULL);
        break;
    case RES_NOT_RUN:
        break;
    }
    fputc('}', f);
}

/* {"median": .., "min": .., "max": ..} of a per-round ratio to the baseline, or null. */
static void json_ratio(FILE *f, struct res_spread sp)
{
    if (sp.n == 0) {
        fputs("null", f);
        return;
    }
    fputs("{\"median\": ", f);
    json_num(f, sp.med);
    fputs(", \"min\": ", f);
    json_num(f, sp.min);
    fputs(", \"max\": ", f);
    json_num(f, sp.max);
    fputc('}', f);
}

static void json_cell(FILE *f, const struct res_run *run, size_t mi, size_t si, size_t wi)
{
    const struct mech *m = run->opts.mechs[mi];
    double sum[SUM_N][EXPORT_NMETRICS];
    size_t used;

    fputs("    {\"mechanism\": ", f);
    json_str(f, m->name);
    fputs(", \"baseline\": ", f);
    json_str(f, m->baseline);
    fputs(", \"pattern\": ", f);
    json_str(f, run->opts.wls[wi]->name);
    fprintf(f, ", \"size\": %zu,", run->opts.sizes[si]);
    if (run->opts.wls[wi]->producers) {
        unsigned np, nc;
        wl_many_shape(run->opts.wls[wi], run->opts.producers, run->opts.consumers, &np, &nc);
        fprintf(f, " \"producers\": %u, \"consumers\": %u,", np, nc);
    }
    fputs("\n     \"status\": ", f);
    json_str(f, export_cell_status(run, mi, si, wi));
    fputs(", \"skip_reason\": ", f);
    json_str(f, export_skip_reason(run, mi, si, wi));
    fputs(",\n     \"rounds\": [\n", f);
    for (unsigned r = 0; r < run->opts.rounds; r++) {
        fputs("       ", f);
        json_round(f, res_cell_at(run, mi, si, wi, r), r, run);
        fputs(r + 1 < run->opts.rounds ? ",\n" : "\n", f);
    }
    fputs("     ],\n", f);
    export_summary_figures(run, mi, si, wi, sum, &used);
    fprintf(f, "     \"rounds_ok\": %zu", used);
    for (int s = 0; s < SUM_N; s++) {
        fprintf(f, ",\n     \"%s\": ", export_sum_names[s]);
        if (used == 0) {
            fputs("null", f);
            continue;
        }
        fputc('{', f);
        json_figures(f, sum[s]);
        fputc('}', f);
    }
    fputs(",\n     \"vs_baseline\": ", f);
    if (res_mech_index(run, m->baseline) < 0) {
        fputs("null", f);
    } else {
        fputs("{\"p50\": ", f);
        json_ratio(f, res_ratio_of(run, mi, si, (int)wi, RES_P50));
        fputs(", \"msgs_per_s\": ", f);
        json_ratio(f, res_ratio_of(run, mi, si, (int)wi, RES_MSGS));
        fputs(", \"cpu_ns_per_msg\": ", f);
        json_ratio(f, res_ratio_of(run, mi, si, (int)wi, RES_CPU));
        fputc('}', f);
    }
    fputc('}', f);
}

/* "skipped": one entry per mechanism and distinct reason, with the sizes it applied to. */
static void json_skips(FILE *f, const struct res_run *run)
{
    int first = 1;
    fputs("  \"skipped\": [", f);
    for (size_t i = 0; i < run->nskips; i++) {
        const struct res_skip *sk = &run->skips[i];
        int mi = res_mech_index(run, sk->m->name), firstsize = 1;
        if (mi < 0)
            continue;
        fputs(first ? "\n    {\"mechanism\": " : ",\n    {\"mechanism\": ", f);
        first = 0;
        json_str(f, sk->m->name);
        fputs(", \"reason\": ", f);
        json_str(f, sk->why);
        fputs(", \"sizes\": [", f);
        for (size_t si = 0; si < run->opts.nsizes; si++) {
            int hit = 0;
            for (size_t wi = 0; wi < run->opts.nwls && !hit; wi++)
                for (unsigned r = 0; r < run->opts.rounds && !hit; r++) {
                    const struct res_cell *c = res_cell_at(run, (size_t)mi, si, wi, r);
                    hit = c->status == RES_SKIPPED && c->skip == (int)i;
                }
            if (hit) {
                fprintf(f, "%s%zu", firstsize ? "" : ", ", run->opts.sizes[si]);
                firstsize = 0;
            }
        }
        fputs("]}", f);
    }
    fputs(first ? "],\n" : "\n  ],\n", f);
}

int export_json(const struct res_run *run, FILE *f)
{
    const struct res_opts *o = &run->opts;
    const struct res_placement *pl = &run->placement;
    struct utsname u;
    struct tm tm;
    char when[32] = "", model[256];
    int have_uname = uname(&u) == 0;

    fputs("{\n  \"schema\": ", f);
    json_str(f, EXPORT_SCHEMA);
    fputs(",\n  \"command\": [", f);
    for (int i = 0; i < run->argc; i++) {
        fputs(i ? ", " : "", f);
        json_str(f, run->argv[i]);
    }
    if (gmtime_r(&run->started, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs("],\n  \"started\": ", f);
    json_str(f, when[0] ? when : NULL);
    fputs(",\n  \"library_version\": ", f);
    json_str(f, ipcx_version());
    fputs(",\n  \"kernel\": {\"sysname\": ", f);
    json_str(f, have_uname ? u.sysname : NULL);
    fputs(", \"release\": ", f);
    json_str(f, have_uname ? u.release : NULL);
    fputs(", \"machine\": ", f);
    json_str(f, have_uname ? u.machine : NULL);
    fprintf(f, "},\n  \"cpus_online\": %ld,\n  \"cpu_model\": ", sysconf(_SC_NPROCESSORS_ONLN));
    json_str(f, export_cpu_model(model, sizeof model) == 0 ? model : NULL);

    fputs(",\n  \"placement\": {\"pinned\": ", f);
    json_bool(f, pl->pinned);
    if (pl->pinned)
        fprintf(f, ", \"parent_cpu\": %d, \"child_cpu\": %d", CPU_PARENT, CPU_CHILD);
    else
        fputs(", \"parent_cpu\": null, \"child_cpu\": null", f);
    fprintf(f, ", \"parent_ran_on\": %d, \"child_first_ran_on\": %d, \"children_moved\": %u",
            pl->parent_cpu, pl->child_cpu_first, pl->child_moved);
    fputs(", \"unpinned_reason\": ", f);
    json_str(f, pl->pinned ? NULL : pl->why);
    fputs(", \"topology\": ", f);
    json_str(f, pl->pinned ? topo_relation(CPU_PARENT, CPU_CHILD) : NULL);
    fputs("},\n  \"many_placement\": ", f);
    if (run->many.used) {
        fputs("{\"pinned\": ", f);
        json_bool(f, run->many.pinned);
        fputs(", \"how\": ", f);
        json_str(f, run->many.how);
        fprintf(f, ", \"parties_moved\": %u}", run->many.moved);
    } else {
        fputs("null", f);
    }
    fprintf(f, ",\n  \"rounds\": %u,\n  \"duration_s\": ", o->rounds);
    json_num(f, o->count ? NAN : o->duration_s);
    fputs(",\n  \"count\": ", f);
    json_num(f, o->count ? (double)o->count : NAN);
    fputs(",\n  \"warmup_s\": ", f);
    json_num(f, run->warmup_s);
    fputs(",\n  \"quick\": ", f);
    json_bool(f, o->quick);

    fputs(",\n  \"sizes\": [", f);
    for (size_t si = 0; si < o->nsizes; si++)
        fprintf(f, "%s%zu", si ? ", " : "", o->sizes[si]);
    fputs("],\n  \"patterns\": [", f);
    for (size_t wi = 0; wi < o->nwls; wi++) {
        fputs(wi ? ", " : "", f);
        json_str(f, o->wls[wi]->name);
    }
    fputs("],\n  \"mechanisms\": [", f);
    for (size_t mi = 0; mi < o->nmechs; mi++) {
        fputs(mi ? ",\n    {\"name\": " : "\n    {\"name\": ", f);
        json_str(f, o->mechs[mi]->name);
        fputs(", \"baseline\": ", f);
        json_str(f, o->mechs[mi]->baseline);
        fputs(", \"what\": ", f);
        json_str(f, o->mechs[mi]->what);
        fputc('}', f);
    }
    fputs("\n  ],\n", f);
    json_skips(f, run);
    fprintf(f, "  \"cells_skipped\": %u,\n  \"cells_failed\": %u,\n  \"cells_bad_payload\": %u,\n",
            run->skipped, run->failed, run->bad);

    fputs("  \"cells\": [\n", f);
    for (size_t mi = 0; mi < o->nmechs; mi++)
        for (size_t wi = 0; wi < o->nwls; wi++)
            for (size_t si = 0; si < o->nsizes; si++) {
                int last = mi + 1 == o->nmechs && wi + 1 == o->nwls && si + 1 == o->nsizes;
                json_cell(f, run, mi, si, wi);
                fputs(last ? "\n" : ",\n", f);
            }
    fputs("  ]\n}\n", f);
    return ferror(f) ? -1 : 0;
}

/* --- CSV ------------------------------------------------------------------------------ */

/* A field quoted as RFC 4180 asks when it holds a comma, quote or line break. */
static void csv_str(FILE *f, const char *s)
{
    if (s == NULL)
        return;
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

/* A number as json_num writes it; an empty field when not measured. */
static void csv_num(FILE *f, double v)
{
    if (!isfinite(v))
        return;
    if (export_is_integer(v))
        fprintf(f, "%.0f", v);
    else
        fprintf(f, "%.10g", v);
}

/* A comment line's text: anything below a space becomes one (a comment never spans lines). */
static void csv_comment_text(FILE *f, const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        fputc((unsigned char)*s < 0x20 ? ' ' : *s, f);
}

/* The leading columns of a row: mechanism, baseline, pattern, size, round, status. */
static void csv_row_start(FILE *f, const struct res_run *run, size_t mi, size_t si, size_t wi,
                          const char *round, const char *status)
{
    const struct mech *m = run->opts.mechs[mi];
    csv_str(f, m->name);
    fputc(',', f);
    csv_str(f, m->baseline);
    fputc(',', f);
    csv_str(f, run->opts.wls[wi]->name);
    fprintf(f, ",%zu,%s,%s,", run->opts.sizes[si], round, status);
}

/* The figure columns: p50_ns .. consumer_balance. */
static void csv_figures(FILE *f, const double v[EXPORT_NMETRICS])
{
    for (int k = 0; k < EXPORT_NMETRICS; k++) {
        csv_num(f, v[k]);
        fputc(',', f);
    }
}

int export_csv(const struct res_run *run, FILE *f)
{
    const struct res_opts *o = &run->opts;
    const struct res_placement *pl = &run->placement;
    struct utsname u;
    struct tm tm;
    char when[32] = "", model[256];

    fputs("# schema: " EXPORT_SCHEMA "\n# command:", f);
    for (int i = 0; i < run->argc; i++) {
        fputc(' ', f);
        csv_comment_text(f, run->argv[i]);
    }
    if (gmtime_r(&run->started, &tm) != NULL)
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(f, "\n# started: %s\n# library_version: %s\n", when, ipcx_version());
    if (uname(&u) == 0)
        fprintf(f, "# kernel: %s %s %s\n", u.sysname, u.release, u.machine);
    fprintf(f, "# cpus_online: %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    if (export_cpu_model(model, sizeof model) == 0) {
        fputs("# cpu_model: ", f);
        csv_comment_text(f, model);
        fputc('\n', f);
    }
    if (pl->pinned)
        fprintf(f,
                "# placement: parent pinned to cpu %d (ran on %d), child pinned to cpu %d (first "
                "ran on %d), %u children moved\n",
                CPU_PARENT, pl->parent_cpu, CPU_CHILD, pl->child_cpu_first, pl->child_moved);
    else
        fprintf(f, "# placement: unpinned (%s), parent on cpu %d, first child on cpu %d\n", pl->why,
                pl->parent_cpu, pl->child_cpu_first);
    if (run->many.used)
        fprintf(f, "# many_placement: %s, %u parties moved\n", run->many.how, run->many.moved);
    for (size_t wi = 0; wi < o->nwls; wi++) {
        unsigned np, nc;
        if (!o->wls[wi]->producers)
            continue;
        wl_many_shape(o->wls[wi], o->producers, o->consumers, &np, &nc);
        fprintf(f, "# %s: %u producers, %u consumers\n", o->wls[wi]->name, np, nc);
    }
    fprintf(f, "# rounds: %u\n", o->rounds);
    if (o->count)
        fprintf(f, "# count: %" PRIu64 "\n", o->count);
    else
        fprintf(f, "# duration_s: %g\n", o->duration_s);
    fprintf(f, "# warmup_s: %g\n", run->warmup_s);
    for (size_t i = 0; i < run->nskips; i++) {
        fprintf(f, "# skipped: %s: ", run->skips[i].m->name);
        csv_comment_text(f, run->skips[i].why);
        fputc('\n', f);
    }

    fputs("mechanism,baseline,pattern,size,round,status,timed,moved,seconds,p50_ns,p90_ns,p99_ns,"
          "p999_ns,max_ns,msgs_per_s,bytes_per_s,cpu_ns_per_msg,fairness,consumer_balance,detail\n",
          f);
    for (size_t mi = 0; mi < o->nmechs; mi++)
        for (size_t wi = 0; wi < o->nwls; wi++)
            for (size_t si = 0; si < o->nsizes; si++) {
                double v[EXPORT_NMETRICS], sum[SUM_N][EXPORT_NMETRICS];
                const char *cell_status = export_cell_status(run, mi, si, wi);
                size_t used;
                for (unsigned r = 0; r < o->rounds; r++) {
                    const struct res_cell *c = res_cell_at(run, mi, si, wi, r);
                    char round[16];
                    snprintf(round, sizeof round, "%u", r + 1);
                    csv_row_start(f, run, mi, si, wi, round, export_status_name(c->status));
                    if (c->status == RES_OK) {
                        fprintf(f, "%" PRIu64 ",%" PRIu64 ",", c->res.msgs, c->res.moved);
                        csv_num(f, c->res.seconds > 0 ? c->res.seconds : NAN);
                    } else {
                        fputs(",,", f); /* timed, moved and seconds are empty */
                    }
                    fputc(',', f);
                    export_round_figures(c, v);
                    csv_figures(f, v);
                    if (c->status == RES_FAILED) {
                        char detail[160];
                        snprintf(detail, sizeof detail, "%s failed: %s", c->stage,
                                 ipcx_errname(c->rc));
                        csv_str(f, detail);
                    } else if (c->status == RES_SKIPPED) {
                        csv_str(f, c->skip >= 0 ? run->skips[c->skip].why : NULL);
                    } else if (c->status == RES_BAD) {
                        fprintf(f, "%" PRIu64 " failed checks", c->res.errors);
                    }
                    fputc('\n', f);
                }
                export_summary_figures(run, mi, si, wi, sum, &used);
                for (int s = 0; s < SUM_N; s++) {
                    csv_row_start(f, run, mi, si, wi, export_sum_names[s], cell_status);
                    fputs(",,,", f);
                    csv_figures(f, sum[s]);
                    csv_str(f, export_skip_reason(run, mi, si, wi));
                    fputc('\n', f);
                }
            }
    return ferror(f) ? -1 : 0;
}
