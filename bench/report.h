/*
 * report.h: `--report DIR`, the run as a web page a newcomer can read on its
 * own: DIR/index.html (self-contained: the charts are inline SVG, no external
 * CSS, scripts or fonts), the charts as DIR/NAME.svg drawn by gnuplot from the
 * scripts DIR/NAME.gp it leaves beside them, and the data as DIR/results.json and
 * DIR/results.csv (export.h). It reads the run only through results.h, so the
 * page says what the terminal table says; it must never run, time or change a
 * cell.
 */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include "results.h"

/*
 * Creates DIR if it does not exist (its parent must), so that a path that
 * cannot be written fails before the run; 0, or -1 with the reason on stderr.
 */
int report_prepare(const char *dir);

/*
 * Writes the whole report into DIR (report_prepare first). gnuplot missing or
 * failing is not an error: the page says so and keeps its tables. Returns 0,
 * or -1 if a file could not be written (the reason on stderr).
 */
int report_write(const struct res_run *run, const char *dir);

#endif /* BENCH_REPORT_H */
