/*
 * test_threads.c: threads, not processes, on the endpoints of one process,
 * run under ThreadSanitizer. (1) Four sender threads, each with its own
 * endpoint, and one receiver thread on a unix abstract mailbox: per-sender
 * order and checksums. (2) Four threads sharing ONE sender endpoint into a
 * unix abstract receiver: per-thread order, and a bitmap for loss and
 * duplication. (3) Four threads sharing one end of a pipe pair and two
 * threads sharing the other end's receiving side: every message exactly
 * once, collected into a bitmap under a mutex. (4) Two threads take turns
 * receiving on one unix receiver (a token passes after every message, later
 * after every eight), with deadlines that often end while waiting: the
 * receive wait's io_uring ring belongs to one thread at a time, so the other
 * must wait another way, and the ring must follow a thread that keeps the
 * endpoint. Never sleeps to wait.
 */
#include <criterion/criterion.h>

#include <pthread.h>

#include "../common/harness.h"

#define NTHREADS 4
#define PER      20000
#define MAXSZ    2048u
#define TOTAL    ((uint64_t)NTHREADS * PER)

static const th_scheme abstract_scheme = {"unix-abstract", "unix://", TH_ADDR_ABSTRACT, NULL, 0};

static size_t msg_size(uint64_t *rng)
{
    size_t sz = (size_t)(th_mix64(rng) % (MAXSZ + 1));
    return sz < TH_HDR ? TH_HDR : sz;
}

/* A shared record of which (sender, seq) arrived, guarded by a mutex. */
struct bitmap {
    pthread_mutex_t lock;
    unsigned char seen[TOTAL / 8 + 1];
    uint64_t count;
    uint64_t dups;
    uint64_t bad; /* checksum or header errors */
    int recv_err; /* first unexpected recv error */
};

/* Marks one message; returns 0, or -1 if it was already seen. */
static int bitmap_mark(struct bitmap *b, uint32_t id, uint64_t seq)
{
    uint64_t bit = (uint64_t)id * PER + seq;
    int r = 0;
    pthread_mutex_lock(&b->lock);
    if (b->seen[bit / 8] & (1u << (bit % 8))) {
        b->dups++;
        r = -1;
    } else {
        b->seen[bit / 8] |= (unsigned char)(1u << (bit % 8));
        b->count++;
    }
    pthread_mutex_unlock(&b->lock);
    return r;
}

static uint64_t bitmap_count(struct bitmap *b)
{
    pthread_mutex_lock(&b->lock);
    uint64_t c = b->count;
    pthread_mutex_unlock(&b->lock);
    return c;
}

/* ------------------------------------------------------------------------ */
/* Sender threads                                                            */
/* ------------------------------------------------------------------------ */

struct sender {
    pthread_t th;
    ipcx_mailbox *mb;
    uint32_t id;
    int rc; /* first send error, 0 if none */
    uint64_t sent;
};

static void *sender_main(void *argp)
{
    struct sender *s = argp;
    unsigned char buf[MAXSZ];
    uint64_t rng = 1234 + s->id;
    for (uint64_t seq = 0; seq < PER; seq++) {
        size_t sz = msg_size(&rng);
        th_msg_fill(buf, sz, s->id, seq);
        int rc = ipcx_send(s->mb, buf, sz, 30 * IPCX_SEC);
        if (rc != 0) {
            s->rc = rc;
            break;
        }
        s->sent++;
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Receiver thread with order checks                                         */
/* ------------------------------------------------------------------------ */

struct orderly {
    pthread_t th;
    ipcx_mailbox *mb;
    uint64_t next[NTHREADS];
    uint64_t total;
    char err[200];
    struct bitmap *bm;
};

static void *orderly_main(void *argp)
{
    struct orderly *o = argp;
    unsigned char buf[MAXSZ + 64];
    while (o->total < TOTAL) {
        size_t len = 0;
        int rc = ipcx_recv(o->mb, buf, sizeof buf, &len, 20 * IPCX_SEC);
        if (rc != 0) {
            snprintf(o->err, sizeof o->err, "recv after %llu: %s", (unsigned long long)o->total,
                     ipcx_errname(rc));
            return NULL;
        }
        uint32_t id;
        uint64_t seq;
        if (th_msg_check(buf, len, &id, &seq) != 0 || id >= NTHREADS || seq >= PER) {
            snprintf(o->err, sizeof o->err, "corrupt message of %zu bytes", len);
            return NULL;
        }
        if (seq != o->next[id]) {
            snprintf(o->err, sizeof o->err, "sender %u: seq %llu, expected %llu", id,
                     (unsigned long long)seq, (unsigned long long)o->next[id]);
            return NULL;
        }
        if (o->bm && bitmap_mark(o->bm, id, seq) != 0) {
            snprintf(o->err, sizeof o->err, "duplicate %u/%llu", id, (unsigned long long)seq);
            return NULL;
        }
        o->next[id]++;
        o->total++;
    }
    return NULL;
}

static void run_senders_and_receiver(struct sender *snd, ipcx_mailbox *rcv, struct bitmap *bm,
                                     const char *what)
{
    struct orderly o;
    memset(&o, 0, sizeof o);
    o.mb = rcv;
    o.bm = bm;
    cr_assert_eq(pthread_create(&o.th, NULL, orderly_main, &o), 0);
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(pthread_create(&snd[i].th, NULL, sender_main, &snd[i]), 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(snd[i].th, NULL);
    pthread_join(o.th, NULL);
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(snd[i].rc, 0, "[%s] sender thread %d: %s after %llu", what, i,
                     ipcx_errname(snd[i].rc), (unsigned long long)snd[i].sent);
    cr_assert(o.err[0] == '\0', "[%s] receiver: %s", what, o.err);
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(o.next[i], PER, "[%s] sender %d: %llu of %d", what, i,
                     (unsigned long long)o.next[i], PER);
}

Test(threads, own_endpoints_unix_abstract, .timeout = 180)
{
    char url[TH_URL_MAX];
    ipcx_mailbox *rcv = NULL;
    int rc = th_open_recv(&abstract_scheme, NULL, &rcv, url, sizeof url);
    cr_assert_eq(rc, 0, "open receiver %s: %s", url, ipcx_errname(rc));
    struct sender snd[NTHREADS];
    memset(snd, 0, sizeof snd);
    for (int i = 0; i < NTHREADS; i++) {
        snd[i].id = (uint32_t)i;
        rc = th_open_send(url, NULL, &snd[i].mb);
        cr_assert_eq(rc, 0, "open sender %d: %s", i, ipcx_errname(rc));
    }
    run_senders_and_receiver(snd, rcv, NULL, "own endpoints");
    ipcx_stats st = {.struct_size = sizeof st};
    cr_assert_eq(ipcx_get_stats(rcv, &st), 0);
    cr_expect_eq(st.received, TOTAL, "stats.received %llu", (unsigned long long)st.received);
    for (int i = 0; i < NTHREADS; i++)
        ipcx_close(snd[i].mb);
    ipcx_close(rcv);
}

Test(threads, shared_sender_unix_abstract, .timeout = 180)
{
    char url[TH_URL_MAX];
    ipcx_mailbox *rcv = NULL, *shared = NULL;
    int rc = th_open_recv(&abstract_scheme, NULL, &rcv, url, sizeof url);
    cr_assert_eq(rc, 0, "open receiver %s: %s", url, ipcx_errname(rc));
    rc = th_open_send(url, NULL, &shared);
    cr_assert_eq(rc, 0, "open sender: %s", ipcx_errname(rc));
    struct sender snd[NTHREADS];
    memset(snd, 0, sizeof snd);
    for (int i = 0; i < NTHREADS; i++) {
        snd[i].id = (uint32_t)i;
        snd[i].mb = shared;
    }
    static struct bitmap bm;
    memset(&bm, 0, sizeof bm);
    pthread_mutex_init(&bm.lock, NULL);
    run_senders_and_receiver(snd, rcv, &bm, "shared sender");
    cr_assert_eq(bm.count, TOTAL, "bitmap holds %llu of %llu", (unsigned long long)bm.count,
                 (unsigned long long)TOTAL);
    ipcx_stats st = {.struct_size = sizeof st};
    cr_assert_eq(ipcx_get_stats(shared, &st), 0);
    cr_expect_eq(st.sent, TOTAL, "shared sender stats.sent %llu", (unsigned long long)st.sent);
    pthread_mutex_destroy(&bm.lock);
    ipcx_close(shared);
    ipcx_close(rcv);
}

/* ------------------------------------------------------------------------ */
/* Pipe pair: 4 threads share the sending end, 2 share the receiving end     */
/* ------------------------------------------------------------------------ */

struct shared_rx {
    pthread_t th;
    ipcx_mailbox *mb;
    struct bitmap *bm;
    uint64_t got;
};

static void *shared_rx_main(void *argp)
{
    struct shared_rx *r = argp;
    unsigned char buf[MAXSZ + 64];
    int64_t idle_since = th_now_ns();
    while (bitmap_count(r->bm) < TOTAL) {
        size_t len = 0;
        int rc = ipcx_recv(r->mb, buf, sizeof buf, &len, 100 * IPCX_MSEC);
        if (rc == IPCX_ETIMEDOUT || rc == IPCX_EAGAIN) {
            if (th_now_ns() - idle_since > 20 * IPCX_SEC)
                break; /* stalled: the main thread reports the shortfall */
            continue;
        }
        idle_since = th_now_ns();
        if (rc != 0) {
            pthread_mutex_lock(&r->bm->lock);
            if (r->bm->recv_err == 0)
                r->bm->recv_err = rc;
            pthread_mutex_unlock(&r->bm->lock);
            break;
        }
        uint32_t id;
        uint64_t seq;
        if (th_msg_check(buf, len, &id, &seq) != 0 || id >= NTHREADS || seq >= PER) {
            pthread_mutex_lock(&r->bm->lock);
            r->bm->bad++;
            pthread_mutex_unlock(&r->bm->lock);
            continue;
        }
        (void)bitmap_mark(r->bm, id, seq);
        r->got++;
    }
    return NULL;
}

Test(threads, shared_ends_pipe_pair, .timeout = 180)
{
    ipcx_mailbox *a = NULL, *b = NULL;
    int rc = ipcx_pair(&a, &b, "pipe://", NULL);
    cr_assert_eq(rc, 0, "pipe pair: %s", ipcx_errname(rc));
    static struct bitmap bm;
    memset(&bm, 0, sizeof bm);
    pthread_mutex_init(&bm.lock, NULL);

    struct shared_rx rx[2];
    memset(rx, 0, sizeof rx);
    for (int i = 0; i < 2; i++) {
        rx[i].mb = b;
        rx[i].bm = &bm;
        cr_assert_eq(pthread_create(&rx[i].th, NULL, shared_rx_main, &rx[i]), 0);
    }
    struct sender snd[NTHREADS];
    memset(snd, 0, sizeof snd);
    for (int i = 0; i < NTHREADS; i++) {
        snd[i].id = (uint32_t)i;
        snd[i].mb = a;
        cr_assert_eq(pthread_create(&snd[i].th, NULL, sender_main, &snd[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(snd[i].th, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(rx[i].th, NULL);
    for (int i = 0; i < NTHREADS; i++)
        cr_assert_eq(snd[i].rc, 0, "sender thread %d: %s after %llu", i, ipcx_errname(snd[i].rc),
                     (unsigned long long)snd[i].sent);
    cr_assert_eq(bm.recv_err, 0, "a receiving thread got %s", ipcx_errname(bm.recv_err));
    cr_assert_eq(bm.bad, 0, "%llu corrupt messages", (unsigned long long)bm.bad);
    cr_assert_eq(bm.dups, 0, "%llu duplicated messages", (unsigned long long)bm.dups);
    cr_assert_eq(bm.count, TOTAL, "%llu of %llu messages arrived", (unsigned long long)bm.count,
                 (unsigned long long)TOTAL);
    cr_log_info("receiver threads took %llu and %llu messages", (unsigned long long)rx[0].got,
                (unsigned long long)rx[1].got);
    size_t len = 0;
    char buf[16];
    rc = ipcx_recv(b, buf, sizeof buf, &len, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EAGAIN, "after all messages: %s", ipcx_errname(rc));
    pthread_mutex_destroy(&bm.lock);
    ipcx_close(a);
    ipcx_close(b);
}

/* ------------------------------------------------------------------------ */
/* Two threads receiving in turn on one unix receiver                        */
/* ------------------------------------------------------------------------ */

#define TURN_MSGS 4000
#define TURN_MAX  (70u << 10) /* a few frames large enough to be read in place */

struct turns {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ipcx_mailbox *rcv;
    int turn;      /* the thread whose turn it is */
    uint64_t next; /* the next sequence number expected */
    uint64_t timeouts[2], got[2];
    char err[200];
};

struct turn_arg {
    struct turns *t;
    int me;
    pthread_t th;
};

static size_t turn_size(uint64_t seq)
{
    uint64_t s = seq + 99;
    uint64_t r = th_mix64(&s);
    size_t sz = seq % 97 == 5 ? TURN_MAX : (size_t)(r % 600);
    return sz < TH_HDR ? TH_HDR : sz;
}

static void *turn_main(void *argp)
{
    struct turn_arg *a = argp;
    struct turns *t = a->t;
    unsigned char *buf = malloc(TURN_MAX);
    pthread_mutex_lock(&t->mu);
    while (buf && t->next < TURN_MSGS && !t->err[0]) {
        if (t->turn != a->me) {
            pthread_cond_wait(&t->cv, &t->mu);
            continue;
        }
        uint64_t want = t->next;
        pthread_mutex_unlock(&t->mu);
        size_t len = 0;
        /* Short deadlines in the first half: many waits end by their deadline. */
        int64_t tmo = want < TURN_MSGS / 2 ? 2 * IPCX_MSEC : 20 * IPCX_SEC;
        int rc = ipcx_recv(t->rcv, buf, TURN_MAX, &len, tmo);
        uint32_t id = 0;
        uint64_t seq = 0;
        int bad = rc == 0 && (th_msg_check(buf, len, &id, &seq) != 0 || id != 0 || seq != want ||
                              len != turn_size(seq));
        pthread_mutex_lock(&t->mu);
        if (rc == IPCX_ETIMEDOUT && tmo < IPCX_SEC) {
            t->timeouts[a->me]++;
            continue; /* still this thread's turn */
        }
        if (rc != 0 || bad) {
            snprintf(t->err, sizeof t->err, "thread %d, message %llu: %s (seq %llu, %zu bytes)",
                     a->me, (unsigned long long)want, rc ? ipcx_errname(rc) : "wrong message",
                     (unsigned long long)seq, len);
            break;
        }
        t->got[a->me]++;
        t->next++;
        /* One message each, then runs of eight: a ring moves to a thread that keeps receiving. */
        if (t->next < TURN_MSGS / 2 || t->next % 8 == 0)
            t->turn = 1 - a->me;
        pthread_cond_broadcast(&t->cv);
    }
    pthread_cond_broadcast(&t->cv);
    pthread_mutex_unlock(&t->mu);
    free(buf);
    return NULL;
}

Test(threads, recv_threads_in_turn_unix_abstract, .timeout = 180)
{
    char url[TH_URL_MAX];
    ipcx_mailbox *rcv = NULL, *snd = NULL;
    int rc = th_open_pair(&abstract_scheme, NULL, &snd, &rcv, url, sizeof url);
    cr_assert_eq(rc, 0, "open %s: %s", url, ipcx_errname(rc));
    static struct turns t;
    memset(&t, 0, sizeof t);
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    t.rcv = rcv;
    struct turn_arg a[2] = {{&t, 0, 0}, {&t, 1, 0}};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&a[i].th, NULL, turn_main, &a[i]), 0);
    unsigned char *buf = malloc(TURN_MAX);
    cr_assert(buf);
    for (uint64_t seq = 0; seq < TURN_MSGS; seq++) {
        size_t sz = turn_size(seq);
        th_msg_fill(buf, sz, 0, seq);
        rc = ipcx_send(snd, buf, sz, 20 * IPCX_SEC);
        if (rc != 0)
            break;
        /* Late now and then in the first half (deadlines pass); in the second half
         * after every message, and every 16 in the first, let the receivers drain:
         * their next receives wait. */
        if (seq % 64 == 63 && seq < TURN_MSGS / 2) {
            struct timespec ts = {0, 3000000};
            nanosleep(&ts, NULL);
        }
        if (seq % 16 == 15 || seq >= TURN_MSGS / 2) {
            pthread_mutex_lock(&t.mu);
            while (t.next <= seq && !t.err[0])
                pthread_cond_wait(&t.cv, &t.mu);
            pthread_mutex_unlock(&t.mu);
        }
    }
    for (int i = 0; i < 2; i++)
        pthread_join(a[i].th, NULL);
    cr_assert_eq(rc, 0, "send: %s", ipcx_errname(rc));
    cr_assert(t.err[0] == '\0', "%s", t.err);
    cr_assert_eq(t.next, TURN_MSGS, "%llu of %d messages", (unsigned long long)t.next, TURN_MSGS);
    cr_log_info("threads took %llu and %llu messages; %llu and %llu deadlines passed",
                (unsigned long long)t.got[0], (unsigned long long)t.got[1],
                (unsigned long long)t.timeouts[0], (unsigned long long)t.timeouts[1]);
    cr_expect_gt(t.timeouts[0] + t.timeouts[1], 0, "no deadline passed: not exercised");
    size_t len = 0;
    rc = ipcx_recv(rcv, buf, TURN_MAX, &len, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EAGAIN, "after all messages: %s", ipcx_errname(rc));
    free(buf);
    pthread_cond_destroy(&t.cv);
    pthread_mutex_destroy(&t.mu);
    ipcx_close(snd);
    ipcx_close(rcv);
}
