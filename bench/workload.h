/*
 * workload.h: traffic patterns, written once over the mechanism table. A
 * workload has a parent half (which times) and a child half (which serves);
 * both move whole messages through struct mech only. The producer of a
 * message writes its payload and the consumer reads and checks it, so neither
 * side just moves pointers. A workload must never know which mechanism runs.
 */
#ifndef BENCH_WORKLOAD_H
#define BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "mech.h"
#include "stats.h"

/* Smallest message a workload can carry: one 64-bit sequence word. */
#define WL_MIN_SIZE 8u

struct wl_params {
    size_t msg_size;
    double duration_s; /* timed part of the cell when count == 0 */
    uint64_t count;    /* round trips or messages to time; 0 = run for duration_s */
    double warmup_s;   /* untimed traffic before the timed part */
    double rate;       /* rate pattern: messages per second (0: WL_RATE_DEFAULT) */
};

#define WL_RATE_DEFAULT 1000.0

struct wl_result {
    struct stats_lat lat; /* pingpong: one-way latency (round trip / 2), ns */
    uint64_t msgs;        /* messages timed (pingpong: round trips) */
    uint64_t moved;       /* every message that crossed, warm-up and control included */
    double cpu_ns;        /* user+sys CPU time of both processes over the workload (main.c) */
    double seconds;       /* timed span */
    double msgs_per_s;    /* stream: messages per second */
    double bytes_per_s;   /* stream: payload bytes per second */
    uint64_t errors;      /* payload or sequence checks that failed in the parent */
};

/*
 * One pattern. buf_tx and buf_rx are msg_size bytes each, 64-byte aligned.
 * Both halves return 0 or a negative code (from the mechanism); the child
 * half adds the checks it saw fail to *errors.
 */
struct workload {
    const char *name;
    const char *what;
    int (*parent)(const struct mech *m, struct mech_ep *ep, const struct wl_params *p, void *buf_tx,
                  void *buf_rx, struct wl_result *r);
    int (*child)(const struct mech *m, struct mech_ep *ep, const struct wl_params *p, void *buf_tx,
                 void *buf_rx, uint64_t *errors);
};

extern const struct workload wl_pingpong, wl_stream, wl_rate;
/* Every workload, in display order, NULL-terminated. */
extern const struct workload *const wl_table[];

const struct workload *wl_find(const char *name);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t wl_now_ns(void);

#endif /* BENCH_WORKLOAD_H */
