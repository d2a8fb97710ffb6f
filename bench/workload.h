/*
 * workload.h: traffic patterns, written once over the mechanism table. A
 * workload has a parent half (which times) and a child half (which serves);
 * both move whole messages through struct mech only. The producer of a
 * message writes its payload and the consumer reads and checks it, so neither
 * side just moves pointers. Many-party patterns (fanin, mpmc) have a producer
 * half and a consumer half run in several processes, and a parent that only
 * coordinates (main.c). A workload must never know which mechanism runs.
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
    /* Many-party patterns only (producers == 0 elsewhere). */
    unsigned producers, consumers;
    double fairness; /* the least producer's timed messages / the most's; NaN with --count */
    double balance;  /* the least consumer's data messages / the most's; NaN with one consumer */
};

/*
 * One pattern. buf_tx and buf_rx are msg_size bytes each, 64-byte aligned.
 * Both halves return 0 or a negative code (from the mechanism); the child
 * half adds the checks it saw fail to *errors. A many-party pattern has no
 * parent or child half (NULL) but a default shape: its producers and
 * consumers (wl_many_shape) run wl_many_produce and wl_many_consume below.
 */
struct workload {
    const char *name;
    const char *what;
    int (*parent)(const struct mech *m, struct mech_ep *ep, const struct wl_params *p, void *buf_tx,
                  void *buf_rx, struct wl_result *r);
    int (*child)(const struct mech *m, struct mech_ep *ep, const struct wl_params *p, void *buf_tx,
                 void *buf_rx, uint64_t *errors);
    unsigned producers;  /* many-party: default producers; 0 for a two-party pattern */
    unsigned consumers;  /* many-party: default consumers */
    int consumers_fixed; /* --consumers does not apply (fanin has one) */
};

extern const struct workload wl_pingpong, wl_stream, wl_rate, wl_fanin, wl_mpmc;
/* Every workload, in display order, NULL-terminated. */
extern const struct workload *const wl_table[];

const struct workload *wl_find(const char *name);

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t wl_now_ns(void);

/* --- Many-party patterns: fanin (N producers, 1 consumer) and mpmc (N x M). ---
 *
 * Every party is a process of its own; the runner's parent only coordinates.
 * A message carries its producer's id and sequence number in one tag word
 * (id << WL_TAG_ID_SHIFT | seq) where the two-party patterns carry a sequence
 * number, so the same fill and checks run. Producers send an untimed warm-up
 * until t_start, then timed messages until t_stop (or their share of
 * --count), and report what they sent. Each consumer checks every payload,
 * that each producer's sequence numbers only grow (with one consumer: that
 * they are consecutive), tallies per producer, and publishes its count of
 * data messages in the shared counters. When every producer has reported,
 * the parent waits until the consumers' counts add up to every message sent:
 * that instant ends the timed span, and only then are the consumers told to
 * stop, by end markers (tag WL_STOP) that the parent has the producers send,
 * one wave of one marker per consumer still running, from one producer after
 * another, until every consumer has taken one. A consumer stops at its first
 * marker and takes no more, so on a shared queue one wave stops them all;
 * where each producer deals messages round robin to per-consumer queues
 * (ZeroMQ, nng) a marker may land in a stopped consumer's queue, which the
 * next wave makes up for. Markers follow the last data message, so no data
 * is left behind a marker and no consumer can wait forever for data or for a
 * marker. The parent then checks exactly-once delivery: per producer, the
 * consumers' tallies (count, sum of sequence numbers, sum of a hash of each)
 * must add up to what it sent.
 */
#define WL_MANY_MAX_PRODUCERS MECH_MANY_MAX_PRODUCERS
#define WL_MANY_MAX_CONSUMERS MECH_MANY_MAX_CONSUMERS
#define WL_TAG_ID_SHIFT       48

/* Messages of one producer: how many, and the sums (mod 2^64) of their sequence numbers and of a
 * hash of each, so that a loss and a duplicate cannot cancel out. */
struct wl_tally {
    uint64_t count, sum, mix;
};

/*
 * The counters the consumers publish, in memory the runner shares with every
 * party (one cache line per consumer, written only by it).
 */
struct wl_many_shared {
    struct {
        _Atomic uint64_t consumed; /* data messages taken so far */
        unsigned char pad[56];
    } cons[WL_MANY_MAX_CONSUMERS];
};

/* One party's place in a many-party cell, and the cell's timing. */
struct wl_many {
    unsigned producers, consumers;
    unsigned index;   /* this party's, within its role */
    uint64_t t_start; /* CLOCK_MONOTONIC ns: warm-up before, timed messages from here */
    uint64_t t_stop;  /* the last timed message is sent before this (without --count) */
    uint64_t count;   /* with --count: this producer's share of the timed messages */
};

/* What one party reports to the parent. */
struct wl_many_report {
    uint64_t sent;    /* producer: data messages, warm-up included */
    uint64_t timed;   /* producer: those sent in the timed part */
    uint64_t markers; /* producer: end markers sent */
    uint64_t got;     /* consumer: data messages taken */
    uint64_t errors;  /* consumer: payload, producer id and order checks that failed */
    double cpu_ns;    /* user+sys time of the process over its workload */
    /* producer: [index], what it sent; consumer: what it took of each producer */
    struct wl_tally tally[WL_MANY_MAX_PRODUCERS];
};

/* The producers and consumers of a cell of many-party pattern w, given --producers and
 * --consumers (0: the pattern's default). */
void wl_many_shape(const struct workload *w, unsigned want_producers, unsigned want_consumers,
                   unsigned *producers, unsigned *consumers);

/* A producer: warm-up, then the timed messages; fills r (sent, timed, tally). 0 or -code. */
int wl_many_produce(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                    const struct wl_many *mp, void *tx, struct wl_many_report *r);

/* Sends n end markers (a producer, when the parent asks); 0 or -code. */
int wl_many_markers(const struct mech *m, struct mech_ep *ep, const struct wl_params *p, void *tx,
                    unsigned n, struct wl_many_report *r);

/* A consumer: takes and checks messages until its first end marker; fills r. 0 or -code. */
int wl_many_consume(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                    const struct wl_many *mp, void *rx, struct wl_many_shared *sh,
                    struct wl_many_report *r);

/*
 * The parent: the cell's figures from every party's report (producers in
 * prod[0..producers), consumers in cons[0..consumers)) and the instant every
 * data message had been consumed. Failed exactly-once checks add to r->errors.
 */
void wl_many_result(const struct wl_params *p, const struct wl_many *mp,
                    const struct wl_many_report *prod, const struct wl_many_report *cons,
                    uint64_t t_end, struct wl_result *r);

#endif /* BENCH_WORKLOAD_H */
