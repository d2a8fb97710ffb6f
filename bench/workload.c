/*
 * workload.c: ping-pong and stream over any mechanism. Payloads: the producer
 * stores the message's sequence number in the first 8 bytes of every 64-byte
 * line (so every cache line of the message is written), the consumer reads
 * every one of those words back and checks they agree. The same code runs for
 * every mechanism, so the cost of producing and checking is the same for raw
 * and library paths; it must never special-case a mechanism.
 */
#include "workload.h"

#include "hist.h"

#include <errno.h>
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

const struct workload *const wl_table[] = {&wl_pingpong, &wl_stream, &wl_rate, NULL};

const struct workload *wl_find(const char *name)
{
    for (size_t i = 0; wl_table[i] != NULL; i++)
        if (strcmp(wl_table[i]->name, name) == 0)
            return wl_table[i];
    return NULL;
}
