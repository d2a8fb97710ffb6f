/*
 * workload.c: ping-pong, stream, fixed rate, and the producer and consumer
 * halves of fan-in and many-to-many, over any mechanism. Payloads: the producer
 * stores the message's sequence number in the first 8 bytes of every 64-byte
 * line (so every cache line of the message is written), the consumer reads
 * every one of those words back and checks they agree. The same code runs for
 * every mechanism, so the cost of producing and checking is the same for raw
 * and library paths; it must never special-case a mechanism.
 */
#include "workload.h"

#include "hist.h"

#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WL_STOP        UINT64_MAX /* sequence word of the last message */
#define WL_MIN_WARMUP  16u        /* round trips or messages, at least */
#define WL_CLOCK_EVERY 64u        /* stream: read the clock every this many messages */

uint64_t wl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wl_ns(double s)
{
    return (uint64_t)(s * 1e9);
}

/*
 * Writes the whole message, as a producer would: every byte (a byte of seq),
 * then seq into the first word of every 64-byte line. Writing whole lines
 * matters: a zero-copy mechanism fills shared memory in place, and a store
 * to part of a line makes the CPU fetch the rest from the other core first.
 */
static void wl_fill(void *buf, size_t size, uint64_t seq)
{
    unsigned char *p = buf;
    memset(p, (int)(seq & 0xff), size);
    for (size_t off = 0; off + sizeof seq <= size; off += 64)
        memcpy(p + off, &seq, sizeof seq);
}

/* Reads every word wl_fill wrote; returns the sequence, or sets *bad if they disagree. */
static uint64_t wl_check(const void *buf, size_t size, uint64_t *bad)
{
    const unsigned char *p = buf;
    uint64_t first, w, sum = 0, words = 0;
    memcpy(&first, p, sizeof first);
    for (size_t off = 0; off + sizeof w <= size; off += 64) {
        memcpy(&w, p + off, sizeof w);
        sum += w;
        words++;
    }
    if (sum != first * words)
        (*bad)++;
    return first;
}

/*
 * One message out, with seq in its payload: filled in our buffer and sent
 * (copying mechanisms), or filled in place in a loan and committed (zero-copy
 * ones), so a zero-copy mechanism is charged exactly the writes it needs.
 */
static int wl_send(const struct mech *m, struct mech_ep *ep, const struct wl_params *p, void *tx,
                   uint64_t seq)
{
    if (m->loan == NULL) {
        wl_fill(tx, p->msg_size, seq);
        return m->send(ep, tx);
    }
    void *buf;
    int rc = m->loan(ep, &buf);
    if (rc < 0)
        return rc;
    wl_fill(buf, p->msg_size, seq);
    return m->commit(ep, buf);
}

/* One message in, checked where it lies (our buffer, or a view released after); its seq. */
static int wl_recv(const struct mech *m, struct mech_ep *ep, const struct wl_params *p, void *rx,
                   uint64_t *errors, uint64_t *seq)
{
    if (m->view == NULL) {
        int rc = m->recv(ep, rx);
        if (rc == 0)
            *seq = wl_check(rx, p->msg_size, errors);
        return rc;
    }
    const void *buf;
    int rc = m->view(ep, &buf);
    if (rc < 0)
        return rc;
    *seq = wl_check(buf, p->msg_size, errors);
    return m->release(ep, buf);
}

/* --- pingpong ------------------------------------------------------------- */

static int pingpong_parent(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                           void *tx, void *rx, struct wl_result *r)
{
    size_t n = 0;
    struct hist *h = malloc(sizeof *h); /* every sample, in log-linear buckets (hist.h) */
    uint64_t warm_until, stop_at, t0, t1, seq;
    uint64_t warm_min =
        p->count ? (p->count / 10 > WL_MIN_WARMUP ? p->count / 10 : WL_MIN_WARMUP) : WL_MIN_WARMUP;
    int rc = 0;
    if (h == NULL)
        return -ENOMEM;
    hist_init(h);
    t0 = wl_now_ns();
    warm_until = t0 + wl_ns(p->warmup_s);
    stop_at = 0;
    t1 = t0;
    for (seq = 0;; seq++) {
        int warm = seq < warm_min || (p->count == 0 && t1 < warm_until);
        if (!warm && stop_at == 0)
            stop_at = t1 + wl_ns(p->duration_s);
        if (!warm && (p->count ? n >= p->count : t1 >= stop_at))
            break;
        uint64_t got = 0;
        if (m->loan == NULL)
            wl_fill(tx, p->msg_size, seq); /* outside the timed part, as a loan's fill is not */
        t0 = wl_now_ns();
        rc = m->loan == NULL ? m->send(ep, tx) : wl_send(m, ep, p, tx, seq);
        if (rc == 0)
            rc = wl_recv(m, ep, p, rx, &r->errors, &got);
        t1 = wl_now_ns();
        if (rc < 0)
            break;
        if (got != seq)
            r->errors++;
        if (!warm) {
            hist_record(h, (t1 - t0) / 2); /* one-way latency is half the round trip */
            n++;
        }
    }
    if (rc == 0)
        rc = wl_send(m, ep, p, tx, WL_STOP);
    stats_lat_from_hist(&r->lat, h);
    r->msgs = n;
    r->moved = 2 * seq + 1; /* every round trip, and the stop message */
    free(h);
    return rc;
}

static int pingpong_child(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                          void *tx, void *rx, uint64_t *errors)
{
    for (;;) {
        uint64_t seq = 0;
        int rc = wl_recv(m, ep, p, rx, errors, &seq);
        if (rc < 0)
            return rc;
        if (seq == WL_STOP)
            return 0;
        rc = wl_send(m, ep, p, tx, seq);
        if (rc < 0)
            return rc;
    }
}

/* --- rate ------------------------------------------------------------------ */

/* Waits until the monotonic clock reaches t: sleeps while far away, spins the rest. */
static void wl_wait_until(uint64_t t)
{
    for (;;) {
        uint64_t now = wl_now_ns();
        if (now >= t)
            return;
        if (t - now > 300000) { /* sleep, leaving 250 us for the kernel's timer slack */
            struct timespec ts = {0, (long)(t - now - 250000)};
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec = ts.tv_nsec / 1000000000L;
                ts.tv_nsec %= 1000000000L;
            }
            nanosleep(&ts, NULL);
        }
    }
}

/*
 * Fixed rate: message i is due at t0 + i / rate. The parent waits for that
 * moment (it never sends early), sends, and takes the reply; the sample is
 * (reply time - due time) / 2, so a reply that comes late also delays the
 * next message and that delay is charged to it: no coordinated omission. At
 * low rates the receiver has gone to sleep between messages, so blocking
 * mechanisms show their wake-up cost, which a back-to-back ping-pong hides.
 */
static int rate_parent(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                       void *tx, void *rx, struct wl_result *r)
{
    struct hist *h = malloc(sizeof *h);
    uint64_t period = (uint64_t)(1e9 / (p->rate > 0 ? p->rate : WL_RATE_DEFAULT));
    uint64_t seq = 0, n = 0, got = 0;
    int rc = 0;
    if (h == NULL)
        return -ENOMEM;
    hist_init(h);
    for (; rc == 0 && seq < WL_MIN_WARMUP; seq++) { /* untimed: connections, caches, pages */
        rc = wl_send(m, ep, p, tx, seq);
        if (rc == 0)
            rc = wl_recv(m, ep, p, rx, &r->errors, &got);
        if (rc == 0 && got != seq)
            r->errors++;
    }
    uint64_t t0 = wl_now_ns() + period, stop_at = t0 + wl_ns(p->duration_s);
    while (rc == 0) {
        uint64_t due = t0 + n * period;
        if (p->count ? n >= p->count : due >= stop_at)
            break;
        if (m->loan == NULL)
            wl_fill(tx, p->msg_size, seq);
        wl_wait_until(due);
        rc = m->loan == NULL ? m->send(ep, tx) : wl_send(m, ep, p, tx, seq);
        if (rc == 0)
            rc = wl_recv(m, ep, p, rx, &r->errors, &got);
        uint64_t t1 = wl_now_ns();
        if (rc < 0)
            break;
        if (got != seq)
            r->errors++;
        hist_record(h, (t1 - due) / 2);
        n++;
        seq++;
    }
    if (rc == 0)
        rc = wl_send(m, ep, p, tx, WL_STOP);
    stats_lat_from_hist(&r->lat, h);
    r->msgs = n;
    r->moved = 2 * seq + 1;
    free(h);
    return rc;
}

/* --- stream ---------------------------------------------------------------- */

/*
 * The parent produces: an untimed warm-up, then the timed part, then a stop
 * message; the child answers the stop with one ack carrying how many messages
 * it consumed, so the timed span ends only when everything has arrived.
 */
static int stream_parent(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                         void *tx, void *rx, struct wl_result *r)
{
    uint64_t seq = 0, timed = 0, t0, t1;
    uint64_t warm_until = wl_now_ns() + wl_ns(p->warmup_s);
    int rc = 0;
    for (; rc == 0; seq++) {
        if (seq >= WL_MIN_WARMUP && seq % WL_CLOCK_EVERY == 0 && wl_now_ns() >= warm_until)
            break;
        rc = wl_send(m, ep, p, tx, seq);
    }
    t0 = wl_now_ns();
    uint64_t stop_at = t0 + wl_ns(p->duration_s);
    while (rc == 0) {
        if (p->count ? timed >= p->count : (timed % WL_CLOCK_EVERY == 0 && wl_now_ns() >= stop_at))
            break;
        rc = wl_send(m, ep, p, tx, seq);
        seq++;
        timed++;
    }
    if (rc == 0)
        rc = wl_send(m, ep, p, tx, WL_STOP);
    uint64_t acked = 0;
    if (rc == 0)
        rc = wl_recv(m, ep, p, rx, &r->errors, &acked);
    t1 = wl_now_ns();
    if (rc < 0)
        return rc;
    if (acked != seq)
        r->errors++; /* the consumer did not see every message */
    r->msgs = timed;
    r->moved = seq + 2; /* every message, the stop message and the ack */
    r->seconds = (double)(t1 - t0) / 1e9;
    if (r->seconds > 0) {
        r->msgs_per_s = (double)timed / r->seconds;
        r->bytes_per_s = (double)timed * (double)p->msg_size / r->seconds;
    }
    return 0;
}

static int stream_child(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                        void *tx, void *rx, uint64_t *errors)
{
    uint64_t expect = 0;
    for (;;) {
        uint64_t seq = 0;
        int rc = wl_recv(m, ep, p, rx, errors, &seq);
        if (rc < 0)
            return rc;
        if (seq == WL_STOP)
            break;
        if (seq != expect)
            (*errors)++;
        expect++;
    }
    return wl_send(m, ep, p, tx, expect);
}

/* --- fanin and mpmc (the design: workload.h) ---------------------------------- */

#define WL_TAG_SEQ_MASK ((UINT64_C(1) << WL_TAG_ID_SHIFT) - 1)

static uint64_t wl_tag(unsigned id, uint64_t seq)
{
    return (uint64_t)id << WL_TAG_ID_SHIFT | (seq & WL_TAG_SEQ_MASK);
}

/* A 64-bit mix of a sequence number (splitmix64's finaliser) for the tallies. */
static uint64_t wl_mix(uint64_t x)
{
    x += UINT64_C(0x9e3779b97f4a7c15);
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return x ^ (x >> 31);
}

static void wl_tally_add(struct wl_tally *t, uint64_t seq)
{
    t->count++;
    t->sum += seq;
    t->mix += wl_mix(seq);
}

void wl_many_shape(const struct workload *w, unsigned want_producers, unsigned want_consumers,
                   unsigned *producers, unsigned *consumers)
{
    *producers = want_producers ? want_producers : w->producers;
    *consumers = w->consumers_fixed || want_consumers == 0 ? w->consumers : want_consumers;
}

int wl_many_produce(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                    const struct wl_many *mp, void *tx, struct wl_many_report *r)
{
    struct wl_tally *t = &r->tally[mp->index];
    uint64_t seq = 0, timed = 0;
    int rc = 0;
    /* Warm-up: at least WL_MIN_WARMUP messages, and until the cell's timed part begins. */
    for (; rc == 0; seq++) {
        if (seq >= WL_MIN_WARMUP && seq % WL_CLOCK_EVERY == 0 && wl_now_ns() >= mp->t_start)
            break;
        rc = wl_send(m, ep, p, tx, wl_tag(mp->index, seq));
        if (rc == 0)
            wl_tally_add(t, seq);
    }
    /*
     * The timed part: until t_stop, and at least WL_CLOCK_EVERY messages, so
     * that a producer kept off its cpu through the whole timed part (a loaded
     * machine) still counts some; they were sent after t_start and are
     * consumed before the span ends, so the rate stays a lower bound.
     */
    while (rc == 0) {
        if (p->count ? timed >= mp->count
                     : timed % WL_CLOCK_EVERY == 0 && timed > 0 && wl_now_ns() >= mp->t_stop)
            break;
        rc = wl_send(m, ep, p, tx, wl_tag(mp->index, seq));
        if (rc < 0)
            break;
        wl_tally_add(t, seq);
        seq++;
        timed++;
    }
    r->sent = t->count;
    r->timed = timed;
    return rc;
}

int wl_many_markers(const struct mech *m, struct mech_ep *ep, const struct wl_params *p, void *tx,
                    unsigned n, struct wl_many_report *r)
{
    for (unsigned i = 0; i < n; i++) {
        int rc = wl_send(m, ep, p, tx, WL_STOP);
        if (rc < 0)
            return rc;
        r->markers++;
    }
    return 0;
}

int wl_many_consume(const struct mech *m, struct mech_ep *ep, const struct wl_params *p,
                    const struct wl_many *mp, void *rx, struct wl_many_shared *sh,
                    struct wl_many_report *r)
{
    uint64_t next[WL_MANY_MAX_PRODUCERS] = {0}; /* each producer's least acceptable seq */
    _Atomic uint64_t *published = &sh->cons[mp->index].consumed;
    for (;;) {
        uint64_t tag = 0;
        int rc = wl_recv(m, ep, p, rx, &r->errors, &tag);
        if (rc < 0)
            return rc;
        if (tag == WL_STOP)
            return 0;
        unsigned id = (unsigned)(tag >> WL_TAG_ID_SHIFT);
        uint64_t seq = tag & WL_TAG_SEQ_MASK;
        r->got++;
        atomic_store_explicit(published, r->got, memory_order_relaxed);
        if (id >= mp->producers) {
            r->errors++;
            continue;
        }
        /* One consumer sees all of a producer's messages; several see increasing subsets. */
        if (mp->consumers == 1 ? seq != next[id] : seq < next[id])
            r->errors++;
        next[id] = seq + 1;
        wl_tally_add(&r->tally[id], seq);
    }
}

void wl_many_result(const struct wl_params *p, const struct wl_many *mp,
                    const struct wl_many_report *prod, const struct wl_many_report *cons,
                    uint64_t t_end, struct wl_result *r)
{
    uint64_t tmin = UINT64_MAX, tmax = 0, gmin = UINT64_MAX, gmax = 0, markers = 0, sent = 0;
    r->producers = mp->producers;
    r->consumers = mp->consumers;
    r->msgs = 0;
    r->cpu_ns = 0;
    for (unsigned k = 0; k < mp->producers; k++) {
        struct wl_tally want = prod[k].tally[k], got = {0, 0, 0};
        for (unsigned c = 0; c < mp->consumers; c++) {
            got.count += cons[c].tally[k].count;
            got.sum += cons[c].tally[k].sum;
            got.mix += cons[c].tally[k].mix;
        }
        if (got.count != want.count || got.sum != want.sum || got.mix != want.mix)
            r->errors++; /* a message of this producer lost, duplicated or altered */
        r->msgs += prod[k].timed;
        sent += prod[k].sent;
        markers += prod[k].markers;
        r->cpu_ns += prod[k].cpu_ns;
        tmin = prod[k].timed < tmin ? prod[k].timed : tmin;
        tmax = prod[k].timed > tmax ? prod[k].timed : tmax;
    }
    for (unsigned c = 0; c < mp->consumers; c++) {
        r->errors += cons[c].errors;
        r->cpu_ns += cons[c].cpu_ns;
        gmin = cons[c].got < gmin ? cons[c].got : gmin;
        gmax = cons[c].got > gmax ? cons[c].got : gmax;
    }
    r->moved = sent + markers;
    r->seconds = t_end > mp->t_start ? (double)(t_end - mp->t_start) / 1e9 : 0;
    if (r->seconds > 0) {
        r->msgs_per_s = (double)r->msgs / r->seconds;
        r->bytes_per_s = (double)r->msgs * (double)p->msg_size / r->seconds;
    }
    r->fairness = p->count == 0 && tmax > 0 ? (double)tmin / (double)tmax : NAN;
    r->balance = mp->consumers > 1 && gmax > 0 ? (double)gmin / (double)gmax : NAN;
}

/* --- The table. ------------------------------------------------------------- */

const struct workload wl_pingpong = {
    .name = "pingpong",
    .what = "one message there, one back; one-way latency = round trip / 2",
    .parent = pingpong_parent,
    .child = pingpong_child,
};

const struct workload wl_stream = {
    .name = "stream",
    .what = "one-way flood, then one ack; messages/s and bytes/s",
    .parent = stream_parent,
    .child = stream_child,
};

const struct workload wl_rate = {
    .name = "rate",
    .what = "one message every 1/rate s (--rate), answered; latency from its due time",
    .parent = rate_parent,
    .child = pingpong_child,
};

const struct workload wl_fanin = {
    .name = "fanin",
    .what = "N producers (--producers, 4) stream to one consumer; aggregate msgs/s, fairness",
    .producers = 4,
    .consumers = 1,
    .consumers_fixed = 1,
};

const struct workload wl_mpmc = {
    .name = "mpmc",
    .what = "N producers (--producers, 2) to M consumers (--consumers, 2), each message to one",
    .producers = 2,
    .consumers = 2,
};

const struct workload *const wl_table[] = {&wl_pingpong, &wl_stream, &wl_rate,
                                           &wl_fanin,    &wl_mpmc,   NULL};

const struct workload *wl_find(const char *name)
{
    for (size_t i = 0; wl_table[i] != NULL; i++)
        if (strcmp(wl_table[i]->name, name) == 0)
            return wl_table[i];
    return NULL;
}
