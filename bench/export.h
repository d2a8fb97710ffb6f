/*
 * export.h: the run's results as machine-readable files, JSON (schema
 * "ipcx-bench/1") and CSV, both documented in docs/bench.md. They read the
 * run only through results.h, the same figures the terminal table shows; they
 * must never run, time or change anything.
 */
#ifndef BENCH_EXPORT_H
#define BENCH_EXPORT_H

#include <stdio.h>

#include "results.h"

/* The schema name both formats carry; a change that breaks a reader bumps the number. */
#define EXPORT_SCHEMA "ipcx-bench/1"

/*
 * Write the whole run (header facts, every cell of every round, the medians,
 * ranges and baseline ratios across rounds, every skip with its reason) to f.
 * They return 0, or -1 if a write failed (errno says why); f is left open.
 */
int export_json(const struct res_run *run, FILE *f);
int export_csv(const struct res_run *run, FILE *f);

/* The first "model name" of /proc/cpuinfo into buf; 0, or -1 if there is none. */
int export_cpu_model(char *buf, size_t cap);

#endif /* BENCH_EXPORT_H */
