/*
 * test_shm_threads.c: the shm many-to-many check of tests/proc/test_shm_mpmc.c
 * with threads of one process instead of processes, for ThreadSanitizer. One
 * mailbox with a 4 KiB ring, messages of 0..12 KiB (chunked), each receiving
 * thread recording what it got; the main thread checks nothing was lost or
 * duplicated, each sender's order per receiving thread, and every checksum.
 *
 * (1) Four sender threads with an endpoint each, plus two threads sharing one
 *     sending endpoint, into four receiver threads with an endpoint each.
 * (2) One endpoint of role IPCX_BOTH shared by two sending threads and two
 *     receiving threads, one of which waits in poll() on ipcx_pollfd. Every
 *     endpoint maps the segment at its own address, so ThreadSanitizer can
 *     only follow the ring's release/acquire protocol where the threads share
 *     one mapping: this case (and (3)) is where it checks the ring itself;
 *     (1) checks the per-endpoint state and locks.
 * (3) An IPCX_F_SPSC mailbox whose one IPCX_BOTH endpoint has one sending
 *     and one receiving thread: sender and receiver never wait for each other.
 * (4) The same endpoint shared by two sending and two receiving threads.
 * Counts are divided by IPCX_TEST_SCALE (the TSan build sets it). No sleep.
 */
#include <criterion/criterion.h>

#include <pthread.h>

#include "../common/harness.h"
#include "../common/shm_check.h"

#define MSGS_FULL 600000u
#define CALL_TMO  (30 * IPCX_SEC)
#define MAXT      8

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

struct tx_thread {
    pthread_t th;
    ipcx_mailbox *mb;
    uint32_t id;
    uint64_t per;
    int rc; /* the send error that stopped it, 0 if none */
    _Atomic uint64_t sent;
};

static void *tx_main(void *argp)
{
    struct tx_thread *t = argp;
    unsigned char *buf = malloc(SC_MAXSZ);
    if (!buf) {
        t->rc = IPCX_ENOMEM;
        return NULL;
    }
    for (uint64_t seq = 0; seq < t->per; seq++) {
        size_t sz = sc_fill(buf, t->id, seq);
        int rc = ipcx_send(t->mb, buf, sz, CALL_TMO);
        if (rc != 0) {
            t->rc = rc;
            break;
        }
        atomic_fetch_add_explicit(&t->sent, 1, memory_order_relaxed);
    }
    free(buf);
    return NULL;
}

struct rx_thread {
    pthread_t th;
    ipcx_mailbox *mb;
    int use_poll; /* wait in poll() on ipcx_pollfd, then try once */
    uint32_t nsend;
    uint64_t per;
    struct sc_report *rep;
};

/* Waits for a message the way a poll loop does: poll the fd, then a try-once receive. */
static int rx_polled(ipcx_mailbox *mb, unsigned char *buf, size_t cap, size_t *len)
{
    int fd = ipcx_pollfd(mb);
    if (fd < 0)
        return fd;
    int64_t until = th_now_ns() + CALL_TMO;
    for (;;) {
        int rc = ipcx_recv(mb, buf, cap, len, IPCX_NOWAIT);
        if (rc != IPCX_EAGAIN)
            return rc;
        int64_t left = until - th_now_ns();
        if (left <= 0)
            return IPCX_ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        /* Bounded slices: a level-triggered fd that never fires would still end the wait. */
        if (poll(&p, 1, left > 100 * IPCX_MSEC ? 100 : (int)(left / IPCX_MSEC) + 1) < 0 &&
            errno != EINTR)
            return -errno;
    }
}

static void *rx_main(void *argp)
{
    struct rx_thread *r = argp;
    unsigned char *buf = malloc(SC_MAXSZ + 64);
    if (!buf) {
        atomic_store(&r->rep->recv_err, IPCX_ENOMEM);
        return NULL;
    }
    for (;;) {
        size_t len = 0;
        int rc = r->use_poll ? rx_polled(r->mb, buf, SC_MAXSZ + 64, &len)
                             : ipcx_recv(r->mb, buf, SC_MAXSZ + 64, &len, CALL_TMO);
        if (rc != 0) {
            atomic_store(&r->rep->recv_err, rc);
            break;
        }
        if (sc_take(r->rep, buf, len, r->nsend, r->per)) {
            atomic_store(&r->rep->stopped, 1);
            break;
        }
    }
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* The run and its check                                                     */
/* ------------------------------------------------------------------------ */

/* The test's mailbox, mapped by its creator before the name goes: for a post-mortem. */
static const void *test_seg;

static ipcx_mailbox *open_ep(const char *url, unsigned role, unsigned create, unsigned flags)
{
    ipcx_mailbox *mb = sc_open_ok(url, role, create, flags, SC_RING, IPCX_FULL_BLOCK);
    if (create == IPCX_CREATE_EXCL)
        test_seg = sc_seg_map(url);
    return mb;
}

/*
 * A watchdog: when no thread has moved for STALL_NS, it writes down where each
 * one is and the segment's hot words, once. A thread that fails later (its
 * call timed out) then reports the state at the stall, not at the timeout.
 */
#define STALL_NS (5 * IPCX_SEC)

struct watch {
    pthread_t th;
    const struct tx_thread *tx;
    const struct rx_thread *rx;
    int ntx, nrx;
    _Atomic int stop;
    char report[1024];
};

static void *watch_main(void *argp)
{
    struct watch *w = argp;
    uint64_t last = UINT64_MAX;
    int64_t moved = th_now_ns();
    while (!atomic_load(&w->stop) && !w->report[0]) {
        uint64_t sum = 0;
        for (int i = 0; i < w->ntx; i++)
            sum += atomic_load(&w->tx[i].sent);
        for (int i = 0; i < w->nrx; i++)
            sum += atomic_load(&w->rx[i].rep->n);
        int64_t now = th_now_ns();
        if (sum != last) {
            last = sum;
            moved = now;
        } else if (now - moved >= STALL_NS) {
            size_t n = (size_t)snprintf(w->report, sizeof w->report,
                                        "; stalled for %.0f s at:", (double)STALL_NS / 1e9);
            for (int i = 0; i < w->ntx && n < sizeof w->report; i++)
                n += (size_t)snprintf(w->report + n, sizeof w->report - n, " sender %d %llu", i,
                                      (unsigned long long)atomic_load(&w->tx[i].sent));
            for (int i = 0; i < w->nrx && n < sizeof w->report; i++)
                n += (size_t)snprintf(w->report + n, sizeof w->report - n, " receiver %d %llu", i,
                                      (unsigned long long)atomic_load(&w->rx[i].rep->n));
            if (n < sizeof w->report)
                sc_seg_dump(w->report + n, sizeof w->report - n, test_seg);
        }
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/*
 * Runs ntx sender threads (tx_mb[i] their endpoints) and nrx receiver threads
 * (rx_mb[i], rx_poll[i]), then the stop messages through ctl, and checks.
 */
static void run_and_check(const char *what, ipcx_mailbox *const *tx_mb, int ntx,
                          ipcx_mailbox *const *rx_mb, const int *rx_poll, int nrx,
                          ipcx_mailbox *ctl)
{
    uint64_t per = sc_scaled(MSGS_FULL, 600) / (uint64_t)ntx;
    uint64_t total = per * (uint64_t)ntx;
    struct tx_thread tx[MAXT];
    struct rx_thread rx[MAXT];
    memset(tx, 0, sizeof tx);
    memset(rx, 0, sizeof rx);
    for (int i = 0; i < nrx; i++) {
        rx[i].mb = rx_mb[i];
        rx[i].use_poll = rx_poll ? rx_poll[i] : 0;
        rx[i].nsend = (uint32_t)ntx;
        rx[i].per = per;
        rx[i].rep = malloc(sc_report_bytes(total));
        cr_assert_not_null(rx[i].rep);
        sc_report_init(rx[i].rep, total);
        cr_assert_eq(pthread_create(&rx[i].th, NULL, rx_main, &rx[i]), 0);
    }
    int64_t t0 = th_now_ns();
    for (int i = 0; i < ntx; i++) {
        tx[i].mb = tx_mb[i];
        tx[i].id = (uint32_t)i;
        tx[i].per = per;
        cr_assert_eq(pthread_create(&tx[i].th, NULL, tx_main, &tx[i]), 0);
    }
    static struct watch w; /* (its report outlives the run for the assertions) */
    memset(&w, 0, sizeof w);
    w.tx = tx;
    w.rx = rx;
    w.ntx = ntx;
    w.nrx = nrx;
    cr_assert_eq(pthread_create(&w.th, NULL, watch_main, &w), 0);
    for (int i = 0; i < ntx; i++)
        pthread_join(tx[i].th, NULL);
    int stop_rc = 0;
    unsigned char stop[TH_HDR];
    for (int i = 0; i < nrx && stop_rc == 0; i++) {
        th_msg_fill(stop, TH_HDR, SC_STOP_ID, (uint64_t)i);
        stop_rc = ipcx_send(ctl, stop, TH_HDR, CALL_TMO);
    }
    for (int i = 0; i < nrx; i++)
        pthread_join(rx[i].th, NULL);
    int64_t el = th_now_ns() - t0;
    atomic_store(&w.stop, 1);
    pthread_join(w.th, NULL);

    /* Every thread's error in one report: a receiver that stopped explains a sender's timeout. */
    char errs[512] = "";
    size_t ne = 0;
    for (int i = 0; i < ntx && ne < sizeof errs; i++)
        if (tx[i].rc)
            ne += (size_t)snprintf(errs + ne, sizeof errs - ne, " sender thread %d: %s after %llu;",
                                   i, ipcx_errname(tx[i].rc),
                                   (unsigned long long)atomic_load(&tx[i].sent));
    for (int i = 0; i < nrx && ne < sizeof errs; i++)
        if (atomic_load(&rx[i].rep->recv_err))
            ne +=
                (size_t)snprintf(errs + ne, sizeof errs - ne, " receiver thread %d: %s after %llu;",
                                 i, ipcx_errname(atomic_load(&rx[i].rep->recv_err)),
                                 (unsigned long long)atomic_load(&rx[i].rep->n));
    cr_assert(errs[0] == 0, "[%s]%s%s", what, errs, w.report);
    cr_assert_eq(stop_rc, 0, "[%s] stop messages: %s%s", what, ipcx_errname(stop_rc), w.report);
    struct sc_report *reps[MAXT];
    char share[160] = "";
    for (int i = 0; i < nrx; i++) {
        reps[i] = rx[i].rep;
        cr_assert(atomic_load(&rx[i].rep->stopped), "[%s] receiver %d never stopped", what, i);
        size_t l = strlen(share);
        snprintf(share + l, sizeof share - l, "%s%llu", i ? "/" : "",
                 (unsigned long long)atomic_load(&rx[i].rep->n));
    }
    uint64_t expect[MAXT], empties = 0;
    for (int s = 0; s < ntx; s++) {
        expect[s] = per;
        empties += sc_empties((uint32_t)s, per);
    }
    unsigned char *seen = malloc((size_t)ntx * per);
    cr_assert_not_null(seen);
    struct sc_verdict v;
    sc_verify(reps, nrx, (uint32_t)ntx, expect, per, seen, &v);
    free(seen);
    for (int i = 0; i < nrx; i++)
        free(rx[i].rep);
    cr_log_info("[%s] %llu messages in %.2f s, per receiving thread %s", what,
                (unsigned long long)total, (double)el / 1e9, share);
    cr_assert_eq(v.bad, 0, "[%s] %llu bad messages; first: %s", what, (unsigned long long)v.bad,
                 v.first);
    cr_assert_eq(v.dups, 0, "[%s] %llu duplicates; first: %s", what, (unsigned long long)v.dups,
                 v.first);
    cr_assert_eq(v.disorder, 0, "[%s] %llu out of order; first: %s", what,
                 (unsigned long long)v.disorder, v.first);
    cr_assert_eq(v.missing, 0, "[%s] %llu lost; first: %s", what, (unsigned long long)v.missing,
                 v.first);
    cr_assert_eq(v.empties, empties, "[%s] %llu empty messages arrived, %llu were sent", what,
                 (unsigned long long)v.empties, (unsigned long long)empties);
    cr_assert_eq(v.got + v.empties, total, "[%s] %llu + %llu empty of %llu", what,
                 (unsigned long long)v.got, (unsigned long long)v.empties,
                 (unsigned long long)total);
    /* Nothing is left behind the stop messages. */
    for (int i = 0; i < nrx; i++) {
        size_t len = 0;
        char b[16];
        int rc = ipcx_recv(rx_mb[i], b, sizeof b, &len, IPCX_NOWAIT);
        cr_assert_eq(rc, IPCX_EAGAIN, "[%s] after the stop messages: %s", what, ipcx_errname(rc));
    }
}

static void new_url(char *url, size_t cap)
{
    static const th_scheme shm = {"shm", "shm://", TH_ADDR_NAME, NULL, 0};
    th_make_url(&shm, url, cap);
}

Test(shm_threads, own_endpoints_and_a_shared_sender, .timeout = 300, .fini = sc_names_fini)
{
    char url[TH_URL_MAX];
    new_url(url, sizeof url);
    ipcx_mailbox *ctl = open_ep(url, IPCX_SEND, IPCX_CREATE_EXCL, IPCX_F_UNLINK_ON_CLOSE);
    ipcx_mailbox *tx[6], *rx[4];
    for (int i = 0; i < 4; i++)
        tx[i] = open_ep(url, IPCX_SEND, IPCX_ATTACH, 0);
    tx[4] = tx[5] = open_ep(url, IPCX_SEND, IPCX_ATTACH, 0); /* two threads, one endpoint */
    for (int i = 0; i < 4; i++)
        rx[i] = open_ep(url, IPCX_RECV, IPCX_ATTACH, 0);
    cr_assert_eq(ipcx_unlink(url), 0, "the name goes once all have attached");
    run_and_check("4+2 senders, 4 receivers", tx, 6, rx, NULL, 4, ctl);
    ipcx_stats st = {.struct_size = sizeof st};
    cr_assert_eq(ipcx_get_stats(tx[4], &st), 0);
    cr_assert_eq(st.sent, 2 * (sc_scaled(MSGS_FULL, 600) / 6), "shared endpoint sent %llu",
                 (unsigned long long)st.sent);
    for (int i = 0; i < 5; i++)
        ipcx_close(tx[i]);
    for (int i = 0; i < 4; i++)
        ipcx_close(rx[i]);
    ipcx_close(ctl);
}

Test(shm_threads, one_endpoint_both_roles_with_pollfd, .timeout = 300, .fini = sc_names_fini)
{
    char url[TH_URL_MAX];
    new_url(url, sizeof url);
    ipcx_mailbox *both = open_ep(url, IPCX_BOTH, IPCX_CREATE_EXCL, IPCX_F_UNLINK_ON_CLOSE);
    cr_assert_eq(ipcx_unlink(url), 0);
    ipcx_mailbox *tx[2] = {both, both}, *rx[2] = {both, both};
    const int poll_it[2] = {1, 0};
    run_and_check("one IPCX_BOTH endpoint, 2 senders, 2 receivers", tx, 2, rx, poll_it, 2, both);
    ipcx_close(both);
}

Test(shm_threads, spsc_one_endpoint_both_roles, .timeout = 300, .fini = sc_names_fini)
{
    char url[TH_URL_MAX];
    new_url(url, sizeof url);
    ipcx_mailbox *both =
        open_ep(url, IPCX_BOTH, IPCX_CREATE_EXCL, IPCX_F_SPSC | IPCX_F_UNLINK_ON_CLOSE);
    cr_assert_eq(ipcx_unlink(url), 0);
    ipcx_mailbox *tx[1] = {both}, *rx[1] = {both};
    run_and_check("SPSC, one IPCX_BOTH endpoint", tx, 1, rx, NULL, 1, both);
    ipcx_close(both);
}

/*
 * (4) IPCX_F_SPSC admits one endpoint per role, but an endpoint may still be
 * shared by threads: two sending and two receiving threads on one IPCX_BOTH
 * endpoint. The fast paths take no endpoint lock, so only the side's lock
 * word in the segment keeps them apart; the stats must add up the fast and
 * the general paths' counts.
 */
Test(shm_threads, spsc_one_endpoint_shared_by_threads, .timeout = 300, .fini = sc_names_fini)
{
    char url[TH_URL_MAX];
    new_url(url, sizeof url);
    ipcx_mailbox *both =
        open_ep(url, IPCX_BOTH, IPCX_CREATE_EXCL, IPCX_F_SPSC | IPCX_F_UNLINK_ON_CLOSE);
    cr_assert_eq(ipcx_unlink(url), 0);
    ipcx_mailbox *tx[2] = {both, both}, *rx[2] = {both, both};
    run_and_check("SPSC, one IPCX_BOTH endpoint, 2 sending and 2 receiving threads", tx, 2, rx,
                  NULL, 2, both);
    uint64_t per = sc_scaled(MSGS_FULL, 600) / 2;
    ipcx_stats st = {.struct_size = sizeof st};
    cr_assert_eq(ipcx_get_stats(both, &st), 0);
    cr_assert_eq(st.sent, 2 * per + 2, "sent %llu, want %llu (and 2 stop messages)",
                 (unsigned long long)st.sent, (unsigned long long)(2 * per));
    cr_assert_eq(st.received, 2 * per + 2, "received %llu, want %llu + 2",
                 (unsigned long long)st.received, (unsigned long long)(2 * per));
    ipcx_close(both);
}
