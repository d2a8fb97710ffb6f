/*
 * test_threads.c: threads, not processes, on the endpoints of one process,
 * run under ThreadSanitizer. (1) Four sender threads, each with its own
 * endpoint, and one receiver thread on a unix abstract mailbox: per-sender
 * order and checksums. (2) Four threads sharing ONE sender endpoint into a
 * unix abstract receiver: per-thread order, and a bitmap for loss and
 * duplication. (3) Four threads sharing one end of a pipe pair and two
 * threads sharing the other end's receiving side: every message exactly
 * once, collected into a bitmap under a mutex. Never sleeps to wait.
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
