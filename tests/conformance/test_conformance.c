/*
 * test_conformance.c: one suite of behaviour every transport owes the public
 * API (order and boundaries, timeouts, too-small buffers, allocation,
 * gathering, peer loss, receiver restart, a sender opened before its
 * receiver, pairs in both directions, the poll fd, errors), run over
 * every scheme in the table below. A new transport adds one line to
 * `schemes` and inherits every test. Tests talk to the library only through
 * <ipcx.h>; they must never sleep to wait for a peer.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "../common/harness.h"

/* The transports under test: one line each. */
static const th_scheme schemes[] = {
    {"pipe-pair", "pipe://", TH_ADDR_PAIR, NULL, 0},
    {"unix-pair", "unix://", TH_ADDR_PAIR, NULL, 0},
    {"unix-path", "unix://", TH_ADDR_PATH, ".sock", 0},
    {"unix-abstract", "unix://", TH_ADDR_ABSTRACT, NULL, 0},
    {"fifo", "fifo://", TH_ADDR_PATH, ".fifo", 0},
    {"tcp4", "tcp://", TH_ADDR_TCP4, NULL, 0},
    {"tcp6", "tcp://", TH_ADDR_TCP6, NULL, 0},
    {"shm", "shm://", TH_ADDR_NAME, NULL, 0},
    {"shm-spsc", "shm://", TH_ADDR_NAME, NULL, IPCX_F_SPSC},
    {"shm-pair", "shm://", TH_ADDR_PAIR, NULL, 0},
};
#define NSCHEMES (sizeof schemes / sizeof schemes[0])

/*
 * Criterion passes parameters by value into the test process; plain ints are
 * the safest payload, so tests get an index into `schemes`.
 */
static int scheme_index[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
_Static_assert(NSCHEMES <= sizeof scheme_index / sizeof scheme_index[0], "grow scheme_index");

#define OVER_SCHEMES(test)                                                                         \
    ParameterizedTestParameters(conformance, test)                                                 \
    {                                                                                              \
        return cr_make_param_array(int, scheme_index, NSCHEMES);                                   \
    }

#define MAXM ((size_t)1 << 20) /* max_msg for the boundary test */
#define TMO  (10 * IPCX_SEC)   /* generous per-call timeout where success is expected */

/* An open pair under test, with its scheme and URL. */
struct fixture {
    const th_scheme *s;
    ipcx_mailbox *snd;
    ipcx_mailbox *rcv;
    char url[TH_URL_MAX];
};

static void fx_open(struct fixture *f, int idx, const ipcx_opts *opts)
{
    f->s = &schemes[idx];
    int rc = th_open_pair(f->s, opts, &f->snd, &f->rcv, f->url, sizeof f->url);
    cr_assert_eq(rc, 0, "[%s] open pair on %s: %s", f->s->name, f->url, ipcx_errname(rc));
}

static void fx_close(struct fixture *f)
{
    if (f->snd)
        ipcx_close(f->snd);
    if (f->rcv)
        ipcx_close(f->rcv);
    f->snd = f->rcv = NULL;
    th_cleanup_url(f->url);
}

static void send_ok(struct fixture *f, const void *buf, size_t len)
{
    int rc = ipcx_send(f->snd, buf, len, TMO);
    cr_assert_eq(rc, 0, "[%s] send %zu bytes: %s", f->s->name, len, ipcx_errname(rc));
}

static void recv_expect(struct fixture *f, const void *want, size_t wlen)
{
    char buf[8192];
    size_t len = (size_t)-1;
    cr_assert(wlen <= sizeof buf);
    int rc = ipcx_recv(f->rcv, buf, sizeof buf, &len, TMO);
    cr_assert_eq(rc, 0, "[%s] recv: %s", f->s->name, ipcx_errname(rc));
    cr_assert_eq(len, wlen, "[%s] recv length %zu, want %zu", f->s->name, len, wlen);
    cr_assert(memcmp(buf, want, wlen) == 0, "[%s] recv content differs", f->s->name);
}

/* ------------------------------------------------------------------------ */
/* Order and boundaries, sender in another process                           */
/* ------------------------------------------------------------------------ */

static const size_t boundary_sizes[] = {0, 1, 4095, 4096, 65537, MAXM};
#define NBOUND (sizeof boundary_sizes / sizeof boundary_sizes[0])
#define ROUNDS 2

struct order_arg {
    struct fixture *f;
};

/* Exit codes: 0 ok, 2 open, 10+i send i failed, 50 max+1 not EMSGSIZE, 51 end marker. */
static int order_child(void *argp, int ready_fd, int go_fd)
{
    struct order_arg *a = argp;
    struct fixture *f = a->f;
    ipcx_mailbox *snd = f->snd;
    ipcx_opts o = IPCX_OPTS_INIT;
    o.max_msg = MAXM;
    (void)go_fd;
    if (th_is_pair(f->s)) {
        ipcx_close(f->rcv); /* keep one end in each process */
    } else if (th_open_send(f->url, &o, &snd) != 0) {
        _exit(2);
    }
    th_signal(ready_fd);
    unsigned char *buf = malloc(MAXM + 1);
    if (!buf)
        _exit(3);
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < NBOUND; i++) {
            th_pattern_fill(buf, boundary_sizes[i], (uint64_t)(r * 100 + (int)i));
            if (ipcx_send(snd, buf, boundary_sizes[i], TMO) != 0)
                return 10 + r * (int)NBOUND + (int)i;
        }
    }
    if (ipcx_send(snd, buf, MAXM + 1, TMO) != IPCX_EMSGSIZE)
        return 50;
    if (ipcx_send(snd, "END", 3, TMO) != 0)
        return 51;
    ipcx_close(snd);
    free(buf);
    return 0;
}

ParameterizedTestParameters(conformance, order_and_boundaries)
{
    return cr_make_param_array(int, scheme_index, NSCHEMES);
}
ParameterizedTest(int *idx, conformance, order_and_boundaries, .timeout = 60)
{
    struct fixture f = {0};
    ipcx_opts o = IPCX_OPTS_INIT;
    o.max_msg = MAXM;
    if (th_is_pair(&schemes[*idx])) {
        fx_open(&f, *idx, &o);
    } else {
        f.s = &schemes[*idx];
        int rc = th_open_recv(f.s, &o, &f.rcv, f.url, sizeof f.url);
        cr_assert_eq(rc, 0, "[%s] open receiver %s: %s", f.s->name, f.url, ipcx_errname(rc));
    }
    struct order_arg a = {&f};
    th_child c = TH_CHILD_INIT;
    cr_assert_eq(th_fork(&c, order_child, &a), 0);
    if (f.snd) {
        ipcx_close(f.snd); /* the child keeps the sending end */
        f.snd = NULL;
    }
    cr_assert_eq(th_wait_byte(c.ready_fd, 10000), 0, "[%s] sender child not ready", f.s->name);

    unsigned char *buf = malloc(MAXM + 1);
    cr_assert_not_null(buf);
    for (int r = 0; r < ROUNDS; r++) {
        for (size_t i = 0; i < NBOUND; i++) {
            size_t len = (size_t)-1;
            int rc = ipcx_recv(f.rcv, buf, MAXM, &len, TMO);
            if (rc != 0)
                th_kill(&c);
            cr_assert_eq(rc, 0, "[%s] round %d recv #%zu (size %zu): %s", f.s->name, r, i,
                         boundary_sizes[i], ipcx_errname(rc));
            cr_assert_eq(len, boundary_sizes[i], "[%s] round %d message #%zu: %zu bytes, want %zu",
                         f.s->name, r, i, len, boundary_sizes[i]);
            size_t bad = th_pattern_check(buf, len, (uint64_t)(r * 100 + (int)i));
            cr_assert_eq(bad, 0, "[%s] round %d message #%zu (size %zu): byte %zu wrong", f.s->name,
                         r, i, len, bad - 1);
        }
    }
    size_t len = 0;
    int rc = ipcx_recv(f.rcv, buf, MAXM, &len, TMO);
    cr_assert_eq(rc, 0, "[%s] recv END: %s", f.s->name, ipcx_errname(rc));
    cr_assert(len == 3 && memcmp(buf, "END", 3) == 0,
              "[%s] after the refused max+1 send the next message is not END (len %zu)", f.s->name,
              len);
    char sb[64];
    int st = th_reap(&c, 20000);
    cr_assert(th_exited_ok(st),
              "[%s] sender child: %s (codes: 10+n send n failed, "
              "50 max+1 not EMSGSIZE, 51 END failed)",
              f.s->name, th_status_str(st, sb, sizeof sb));
    free(buf);
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Empty mailbox: try once, deadline                                         */
/* ------------------------------------------------------------------------ */

static void expect_empty(struct fixture *f, const char *when)
{
    char buf[64];
    size_t len = 12345;
    int rc = ipcx_recv(f->rcv, buf, sizeof buf, &len, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EAGAIN, "[%s] %s: try-once recv gave %s, want IPCX_EAGAIN", f->s->name,
                 when, ipcx_errname(rc));
    cr_assert_eq(len, 12345, "[%s] %s: failed recv touched *lenp", f->s->name, when);
}

OVER_SCHEMES(try_once_empty)
ParameterizedTest(int *idx, conformance, try_once_empty, .timeout = 30)
{
    struct fixture f = {0};
    fx_open(&f, *idx, NULL);
    expect_empty(&f, "fresh mailbox");
    expect_empty(&f, "fresh mailbox, again");
    send_ok(&f, "x", 1);
    recv_expect(&f, "x", 1);
    expect_empty(&f, "after one message");
    fx_close(&f);
}

static void expect_deadline(struct fixture *f, const char *when)
{
    char buf[64];
    size_t len = 0;
    int64_t t0 = th_now_ns();
    int rc = ipcx_recv(f->rcv, buf, sizeof buf, &len, 50 * IPCX_MSEC);
    int64_t el = th_now_ns() - t0;
    cr_assert_eq(rc, IPCX_ETIMEDOUT, "[%s] %s: 50ms recv gave %s", f->s->name, when,
                 ipcx_errname(rc));
    cr_assert(el >= 50 * IPCX_MSEC, "[%s] %s: 50ms deadline returned after %.3f ms", f->s->name,
              when, (double)el / 1e6);
    cr_assert(el < 2 * IPCX_SEC, "[%s] %s: 50ms deadline returned after %.3f ms", f->s->name, when,
              (double)el / 1e6);
}

OVER_SCHEMES(deadline_on_empty)
ParameterizedTest(int *idx, conformance, deadline_on_empty, .timeout = 30)
{
    struct fixture f = {0};
    fx_open(&f, *idx, NULL);
    expect_deadline(&f, "fresh mailbox");
    send_ok(&f, "y", 1);
    recv_expect(&f, "y", 1);
    expect_deadline(&f, "after one message");
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Too-small buffer, allocation, gathering                                   */
/* ------------------------------------------------------------------------ */

OVER_SCHEMES(small_buffer)
ParameterizedTest(int *idx, conformance, small_buffer, .timeout = 30)
{
    struct fixture f = {0};
    fx_open(&f, *idx, NULL);
    unsigned char msg[1000], big[4096];
    th_pattern_fill(msg, sizeof msg, 77);
    send_ok(&f, msg, sizeof msg);
    send_ok(&f, "after", 5);
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t len = 0;
        int rc = ipcx_recv(f.rcv, big, 10, &len, TMO);
        cr_assert_eq(rc, IPCX_EMSGSIZE, "[%s] recv into 10 bytes (attempt %d): %s", f.s->name,
                     attempt, ipcx_errname(rc));
        cr_assert_eq(len, sizeof msg, "[%s] EMSGSIZE stored *lenp %zu, want %zu", f.s->name, len,
                     sizeof msg);
    }
    size_t len = 0;
    int rc = ipcx_recv(f.rcv, big, sizeof big, &len, TMO);
    cr_assert_eq(rc, 0, "[%s] recv with a big buffer: %s", f.s->name, ipcx_errname(rc));
    cr_assert_eq(len, sizeof msg, "[%s] length %zu after EMSGSIZE", f.s->name, len);
    cr_assert_eq(th_pattern_check(big, len, 77), 0, "[%s] content after EMSGSIZE", f.s->name);
    recv_expect(&f, "after", 5);
    fx_close(&f);
}

OVER_SCHEMES(recv_alloc)
ParameterizedTest(int *idx, conformance, recv_alloc, .timeout = 30)
{
    static const size_t sizes[] = {0, 5, 3000, 12000};
    struct fixture f = {0};
    fx_open(&f, *idx, NULL);
    unsigned char msg[12000];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        th_pattern_fill(msg, sizes[i], 1000 + i);
        send_ok(&f, msg, sizes[i]);
    }
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = NULL;
        size_t len = (size_t)-1;
        int rc = ipcx_recv_alloc(f.rcv, &p, &len, TMO);
        cr_assert_eq(rc, 0, "[%s] recv_alloc #%zu: %s", f.s->name, i, ipcx_errname(rc));
        cr_assert_eq(len, sizes[i], "[%s] recv_alloc #%zu: %zu bytes, want %zu", f.s->name, i, len,
                     sizes[i]);
        if (len > 0) {
            cr_assert_not_null(p, "[%s] recv_alloc gave NULL for %zu bytes", f.s->name, len);
            cr_assert_eq(th_pattern_check(p, len, 1000 + i), 0, "[%s] recv_alloc #%zu content",
                         f.s->name, i);
        }
        ipcx_free(p);
    }
    void *p = (void *)&f;
    size_t len = 0;
    int rc = ipcx_recv_alloc(f.rcv, &p, &len, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EAGAIN, "[%s] recv_alloc on empty: %s", f.s->name, ipcx_errname(rc));
    cr_assert_eq(p, (void *)&f, "[%s] failed recv_alloc touched *bufp", f.s->name);
    ipcx_free(NULL);
    fx_close(&f);
}

OVER_SCHEMES(sendv_gathers)
ParameterizedTest(int *idx, conformance, sendv_gathers, .timeout = 30)
{
    struct fixture f = {0};
    fx_open(&f, *idx, NULL);
    ipcx_iov iov[64] = {
        {"hello", 5},
        {NULL, 0},
        {", ", 2},
        {"world", 5},
    };
    int rc = ipcx_sendv(f.snd, iov, 4, TMO);
    cr_assert_eq(rc, 0, "[%s] sendv of 4 pieces: %s", f.s->name, ipcx_errname(rc));

    unsigned char bytes[64], big[3000];
    th_pattern_fill(big, sizeof big, 5);
    for (int i = 0; i < 64; i++) {
        bytes[i] = (unsigned char)(i * 7 + 1);
        iov[i].base = &bytes[i];
        iov[i].len = 1;
    }
    iov[10].base = big; /* one larger piece in the middle */
    iov[10].len = sizeof big;
    rc = ipcx_sendv(f.snd, iov, 64, TMO);
    cr_assert_eq(rc, 0, "[%s] sendv of 64 pieces: %s", f.s->name, ipcx_errname(rc));
    rc = ipcx_sendv(f.snd, iov, 0, TMO);
    cr_assert_eq(rc, 0, "[%s] sendv of 0 pieces (an empty message): %s", f.s->name,
                 ipcx_errname(rc));

    recv_expect(&f, "hello, world", 12);
    unsigned char want[63 + sizeof big];
    size_t w = 0;
    for (int i = 0; i < 64; i++) {
        if (i == 10) {
            memcpy(want + w, big, sizeof big);
            w += sizeof big;
        } else {
            want[w++] = bytes[i];
        }
    }
    recv_expect(&f, want, w);
    recv_expect(&f, "", 0);
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Peer close                                                                */
/* ------------------------------------------------------------------------ */

OVER_SCHEMES(peer_close)
ParameterizedTest(int *idx, conformance, peer_close, .timeout = 30)
{
    struct fixture f = {0};
    fx_open(&f, *idx, NULL);
    send_ok(&f, "one", 3);
    send_ok(&f, "two", 3);
    send_ok(&f, "three", 5);
    ipcx_close(f.snd);
    f.snd = NULL;
    recv_expect(&f, "one", 3);
    recv_expect(&f, "two", 3);
    recv_expect(&f, "three", 5);
    char buf[16];
    size_t len = 0;
    int64_t t0 = th_now_ns();
    int rc = ipcx_recv(f.rcv, buf, sizeof buf, &len, 500 * IPCX_MSEC);
    int64_t el = th_now_ns() - t0;
    if (th_is_pair(f.s)) {
        cr_assert_eq(rc, IPCX_EPIPE,
                     "[%s] recv after the peer closed and all was drained: %s, "
                     "want IPCX_EPIPE",
                     f.s->name, ipcx_errname(rc));
        cr_assert(el < 400 * IPCX_MSEC, "[%s] EPIPE took %.1f ms: it waited for the deadline",
                  f.s->name, (double)el / 1e6);
        rc = ipcx_recv(f.rcv, buf, sizeof buf, &len, IPCX_NOWAIT);
        cr_assert_eq(rc, IPCX_EPIPE, "[%s] second recv after peer close: %s", f.s->name,
                     ipcx_errname(rc));
    } else {
        cr_assert_eq(rc, IPCX_ETIMEDOUT,
                     "[%s] recv after the sender closed: %s, want "
                     "IPCX_ETIMEDOUT",
                     f.s->name, ipcx_errname(rc));
        ipcx_stats st = {.struct_size = sizeof st};
        rc = ipcx_get_stats(f.rcv, &st);
        cr_assert_eq(rc, 0, "[%s] get_stats: %s", f.s->name, ipcx_errname(rc));
        cr_assert_eq(st.peers_dropped, 0, "[%s] a clean sender close counted as a drop (%s)",
                     f.s->name, ipcx_errname(st.last_drop_error));
        cr_assert_eq(st.received, 3, "[%s] stats.received %llu, want 3", f.s->name,
                     (unsigned long long)st.received);
    }
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Receiver restart (named transports)                                       */
/* ------------------------------------------------------------------------ */

OVER_SCHEMES(receiver_restart)
ParameterizedTest(int *idx, conformance, receiver_restart, .timeout = 60)
{
    struct fixture f = {0};
    if (th_is_pair(&schemes[*idx]))
        cr_skip_test("[%s] has no name to reopen", schemes[*idx].name);
    fx_open(&f, *idx, NULL);
    send_ok(&f, "before", 6);
    recv_expect(&f, "before", 6);
    ipcx_close(f.rcv);
    f.rcv = NULL;

    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_RECV;
    int rc = ipcx_open(&f.rcv, f.url, &o);
    cr_assert_eq(rc, 0, "[%s] reopen a receiver on %s: %s", f.s->name, f.url, ipcx_errname(rc));
    send_ok(&f, "after-1", 7);
    send_ok(&f, "after-2", 7);
    send_ok(&f, "after-3", 7);
    recv_expect(&f, "after-1", 7);
    recv_expect(&f, "after-2", 7);
    recv_expect(&f, "after-3", 7);
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Lazy connect: a sender opened before any receiver exists                  */
/* ------------------------------------------------------------------------ */

OVER_SCHEMES(sender_before_receiver)
ParameterizedTest(int *idx, conformance, sender_before_receiver, .timeout = 60)
{
    const th_scheme *s = &schemes[*idx];
    if (th_is_pair(s))
        cr_skip_test("[%s] has no receiver to wait for", s->name);
    char url[TH_URL_MAX];
    ipcx_mailbox *snd = NULL, *rcv = NULL;
    int rc = IPCX_EINVAL;
    /* a fresh name nobody listens on; TCP: a port that nothing listens on right now */
    for (int attempt = 0; attempt < 16; attempt++) {
        th_make_url(s, url, sizeof url);
        rc = th_open_send(url, NULL, &snd);
        if (rc == 0)
            break;
    }
    cr_assert_eq(rc, 0, "[%s] open a sender on %s with no receiver: %s", s->name, url,
                 ipcx_errname(rc));
    if (th_is_buffered(s)) {
        /* The sender made the mailbox; it keeps messages until a receiver comes. */
        send_ok(&(struct fixture){s, snd, NULL, ""}, "early", 5);
        ipcx_opts o = IPCX_OPTS_INIT;
        o.role = IPCX_RECV;
        o.create = IPCX_ATTACH;
        rc = ipcx_open(&rcv, url, &o);
        cr_assert_eq(rc, 0, "[%s] attach a receiver to %s: %s", s->name, url, ipcx_errname(rc));
        struct fixture f = {s, snd, rcv, ""};
        snprintf(f.url, sizeof f.url, "%s", url);
        send_ok(&f, "found", 5);
        recv_expect(&f, "early", 5);
        recv_expect(&f, "found", 5);
        expect_empty(&f, "after the buffered messages");
        fx_close(&f);
        return;
    }
    rc = ipcx_send(snd, "lost-1", 6, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EAGAIN, "[%s] try-once send with no receiver: %s, want IPCX_EAGAIN",
                 s->name, ipcx_errname(rc));
    int64_t t0 = th_now_ns();
    rc = ipcx_send(snd, "lost-2", 6, 50 * IPCX_MSEC);
    int64_t el = th_now_ns() - t0;
    cr_assert_eq(rc, IPCX_ETIMEDOUT, "[%s] 50ms send with no receiver: %s, want IPCX_ETIMEDOUT",
                 s->name, ipcx_errname(rc));
    cr_assert(el >= 50 * IPCX_MSEC && el < 2 * IPCX_SEC,
              "[%s] 50ms send with no receiver returned after %.1f ms", s->name, (double)el / 1e6);

    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_RECV;
    rc = ipcx_open(&rcv, url, &o);
    if (rc == IPCX_EADDRINUSE && th_is_tcp(s)) {
        ipcx_close(snd);
        cr_skip_test("[%s] port of %s taken meanwhile", s->name, url);
    }
    cr_assert_eq(rc, 0, "[%s] open the receiver after the sender on %s: %s", s->name, url,
                 ipcx_errname(rc));
    struct fixture f = {s, snd, rcv, ""};
    snprintf(f.url, sizeof f.url, "%s", url);
    send_ok(&f, "found", 5);
    /* the refused sends left nothing behind: the first message is the one sent after */
    recv_expect(&f, "found", 5);
    expect_empty(&f, "after the first message of a late receiver");
    fx_close(&f);
}

OVER_SCHEMES(pair_both_ways)
ParameterizedTest(int *idx, conformance, pair_both_ways, .timeout = 30)
{
    if (!th_is_pair(&schemes[*idx]))
        cr_skip_test("[%s] endpoints of a named mailbox have one direction", schemes[*idx].name);
    struct fixture f = {0};
    fx_open(&f, *idx, NULL);
    struct fixture back = f;
    back.snd = f.rcv;
    back.rcv = f.snd;
    send_ok(&f, "ping", 4);
    send_ok(&back, "pong", 4);
    recv_expect(&back, "pong", 4);
    recv_expect(&f, "ping", 4);
    expect_empty(&f, "after ping");
    expect_empty(&back, "after pong");
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* The poll fd                                                               */
/* ------------------------------------------------------------------------ */

static int poll_in(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n;
    do
        n = poll(&p, 1, ms);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    return n > 0 && (p.revents & POLLIN) ? 1 : (n > 0 ? 2 : 0);
}

/* Waits on the poll fd (up to 2 s in all) until a try-once recv yields a message. */
static size_t poll_then_recv(struct fixture *f, int fd, char *buf, size_t cap)
{
    int64_t deadline = th_now_ns() + 2 * IPCX_SEC;
    for (;;) {
        int64_t left = deadline - th_now_ns();
        cr_assert(left > 0, "[%s] no message through the poll fd within 2 s", f->s->name);
        int r = poll_in(fd, (int)(left / 1000000) + 1);
        cr_assert_neq(r, -1, "[%s] poll: %s", f->s->name, strerror(errno));
        cr_assert_neq(r, 2, "[%s] poll fd reported an event without POLLIN (POLLHUP/POLLERR?)",
                      f->s->name);
        if (r == 0)
            continue;
        size_t len = 0;
        int rc = ipcx_recv(f->rcv, buf, cap, &len, IPCX_NOWAIT);
        if (rc == 0)
            return len;
        cr_assert_eq(rc, IPCX_EAGAIN, "[%s] try-once recv after POLLIN: %s", f->s->name,
                     ipcx_errname(rc));
    }
}

OVER_SCHEMES(pollfd)
ParameterizedTest(int *idx, conformance, pollfd, .timeout = 30)
{
    struct fixture f = {0};
    fx_open(&f, *idx, NULL);
    int fd = ipcx_pollfd(f.rcv);
    cr_assert(fd >= 0, "[%s] ipcx_pollfd: %s", f.s->name, ipcx_errname(fd));
    char buf[64];
    size_t len = 0;
    int rc = ipcx_recv(f.rcv, buf, sizeof buf, &len, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EAGAIN, "[%s] try-once on empty: %s", f.s->name, ipcx_errname(rc));
    int r = poll_in(fd, 100);
    cr_assert_eq(r, 0, "[%s] poll(100ms) on an empty mailbox returned %s", f.s->name,
                 r == 1   ? "POLLIN"
                 : r == 2 ? "a non-POLLIN event"
                          : "an error");

    send_ok(&f, "ping", 4);
    len = poll_then_recv(&f, fd, buf, sizeof buf);
    cr_assert(len == 4 && memcmp(buf, "ping", 4) == 0, "[%s] wrong message via poll", f.s->name);
    r = poll_in(fd, 0);
    cr_assert_eq(r, 0, "[%s] poll(0) after draining the only message returned %d", f.s->name, r);

    send_ok(&f, "first", 5);
    send_ok(&f, "second", 6);
    len = poll_then_recv(&f, fd, buf, sizeof buf);
    cr_assert(len == 5 && memcmp(buf, "first", 5) == 0, "[%s] wrong first message", f.s->name);
    r = poll_in(fd, 100);
    cr_assert_eq(r, 1, "[%s] one of two messages received: poll no longer reports POLLIN (%d)",
                 f.s->name, r);
    rc = ipcx_recv(f.rcv, buf, sizeof buf, &len, IPCX_NOWAIT);
    cr_assert_eq(rc, 0, "[%s] try-once recv of the second message after POLLIN: %s", f.s->name,
                 ipcx_errname(rc));
    cr_assert(len == 6 && memcmp(buf, "second", 6) == 0, "[%s] wrong second message", f.s->name);
    r = poll_in(fd, 0);
    cr_assert_eq(r, 0, "[%s] poll(0) after draining both returned %d", f.s->name, r);
    fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

OVER_SCHEMES(wrong_direction)
ParameterizedTest(int *idx, conformance, wrong_direction, .timeout = 30)
{
    struct fixture f = {0};
    if (th_is_pair(&schemes[*idx]))
        cr_skip_test("[%s] pair ends send and receive", schemes[*idx].name);
    fx_open(&f, *idx, NULL);
    int rc = ipcx_send(f.rcv, "x", 1, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EBADF, "[%s] send on a receive-only endpoint: %s", f.s->name,
                 ipcx_errname(rc));
    ipcx_iov iov = {"x", 1};
    rc = ipcx_sendv(f.rcv, &iov, 1, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EBADF, "[%s] sendv on a receive-only endpoint: %s", f.s->name,
                 ipcx_errname(rc));
    char buf[8];
    size_t len = 0;
    rc = ipcx_recv(f.snd, buf, sizeof buf, &len, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EBADF, "[%s] recv on a send-only endpoint: %s", f.s->name,
                 ipcx_errname(rc));
    rc = ipcx_pollfd(f.snd);
    cr_assert_eq(rc, IPCX_EBADF, "[%s] pollfd on a send-only endpoint: %s", f.s->name,
                 ipcx_errname(rc));
    /* the refused calls had no side effect: the mailbox still works */
    send_ok(&f, "ok", 2);
    recv_expect(&f, "ok", 2);
    fx_close(&f);
}

Test(conformance, bad_urls, .timeout = 30)
{
    static const char *const badurl[] = {
        "",
        "no-scheme-here",
        "://nothing",
        "tcp://127.0.0.1:notaport",
        "tcp://127.0.0.1:70000",
        "tcp://[::1:5000",
        "tcp://127.0.0.1",
    };
    static const char *const noscheme[] = {"nosuchscheme://x", "bogus:///tmp/ipcx-test-x"};
    for (unsigned role = IPCX_SEND; role <= IPCX_RECV; role++) {
        ipcx_opts o = IPCX_OPTS_INIT;
        o.role = role;
        for (size_t i = 0; i < sizeof badurl / sizeof badurl[0]; i++) {
            ipcx_mailbox *mb = (ipcx_mailbox *)&o;
            int rc = ipcx_open(&mb, badurl[i], &o);
            cr_expect_eq(rc, IPCX_EBADURL, "open(\"%s\", role %u): %s, want IPCX_EBADURL",
                         badurl[i], role, ipcx_errname(rc));
            if (rc == 0)
                ipcx_close(mb);
            else
                cr_expect_eq(mb, (ipcx_mailbox *)&o, "failed open(\"%s\") touched *mbp", badurl[i]);
        }
        for (size_t i = 0; i < sizeof noscheme / sizeof noscheme[0]; i++) {
            ipcx_mailbox *mb = (ipcx_mailbox *)&o;
            int rc = ipcx_open(&mb, noscheme[i], &o);
            cr_expect_eq(rc, IPCX_ENOSCHEME, "open(\"%s\", role %u): %s, want IPCX_ENOSCHEME",
                         noscheme[i], role, ipcx_errname(rc));
            if (rc == 0)
                ipcx_close(mb);
            else
                cr_expect_eq(mb, (ipcx_mailbox *)&o, "failed open(\"%s\") touched *mbp",
                             noscheme[i]);
        }
    }
    ipcx_mailbox *a = NULL, *b = NULL;
    int rc = ipcx_pair(&a, &b, "nosuchscheme://", NULL);
    cr_expect_eq(rc, IPCX_ENOSCHEME, "pair(\"nosuchscheme://\"): %s", ipcx_errname(rc));
    cr_expect(a == NULL && b == NULL, "failed pair touched its outputs");
    rc = ipcx_unlink("nonsense");
    cr_expect_eq(rc, IPCX_EBADURL, "unlink(\"nonsense\"): %s", ipcx_errname(rc));
}

Test(conformance, create_excl_eexist, .timeout = 30)
{
    char path[128], url[TH_URL_MAX];
    th_scratch_path(path, sizeof path, ".sock");
    snprintf(url, sizeof url, "unix://%s", path);
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_RECV;
    o.create = IPCX_CREATE_EXCL;
    ipcx_mailbox *first = NULL;
    int rc = ipcx_open(&first, url, &o);
    cr_assert_eq(rc, 0, "first CREATE_EXCL receiver on %s: %s", url, ipcx_errname(rc));
    ipcx_mailbox *second = (ipcx_mailbox *)&o;
    rc = ipcx_open(&second, url, &o);
    cr_expect_eq(rc, IPCX_EEXIST, "second CREATE_EXCL receiver on %s: %s, want IPCX_EEXIST", url,
                 ipcx_errname(rc));
    if (rc == 0)
        ipcx_close(second);
    else
        cr_expect_eq(second, (ipcx_mailbox *)&o, "failed open touched *mbp");
    /* the first receiver still serves */
    ipcx_mailbox *snd = NULL;
    rc = th_open_send(url, NULL, &snd);
    cr_assert_eq(rc, 0, "sender: %s", ipcx_errname(rc));
    rc = ipcx_send(snd, "still", 5, TMO);
    cr_assert_eq(rc, 0, "send: %s", ipcx_errname(rc));
    char buf[16];
    size_t len = 0;
    rc = ipcx_recv(first, buf, sizeof buf, &len, TMO);
    cr_assert_eq(rc, 0, "recv on the first receiver after the refused EXCL: %s", ipcx_errname(rc));
    cr_assert(len == 5 && memcmp(buf, "still", 5) == 0);
    ipcx_close(snd);
    ipcx_close(first);
    (void)unlink(path);
}

Test(conformance, strerror_never_null)
{
    static const struct {
        int code;
        const char *name;
    } known[] = {
        {IPCX_OK, NULL},
        {IPCX_EAGAIN, "IPCX_EAGAIN"},
        {IPCX_ETIMEDOUT, "IPCX_ETIMEDOUT"},
        {IPCX_EMSGSIZE, "IPCX_EMSGSIZE"},
        {IPCX_EPIPE, "IPCX_EPIPE"},
        {IPCX_EBADF, "IPCX_EBADF"},
        {IPCX_EEXIST, "IPCX_EEXIST"},
        {IPCX_EBADURL, "IPCX_EBADURL"},
        {IPCX_ENOSCHEME, "IPCX_ENOSCHEME"},
        {IPCX_EPEERPROTO, "IPCX_EPEERPROTO"},
        {IPCX_ECORRUPT, "IPCX_ECORRUPT"},
        {IPCX_ECLOSED, "IPCX_ECLOSED"},
        {IPCX_EVERSION, "IPCX_EVERSION"},
        {IPCX_EADDRINUSE, "IPCX_EADDRINUSE"},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        const char *s = ipcx_strerror(known[i].code);
        const char *n = ipcx_errname(known[i].code);
        cr_assert_not_null(s, "strerror(%d) is NULL", known[i].code);
        cr_assert_not_null(n, "errname(%d) is NULL", known[i].code);
        cr_expect(s[0] != '\0', "strerror(%d) is empty", known[i].code);
        if (known[i].name)
            cr_expect_str_eq(n, known[i].name, "errname(%d)", known[i].code);
    }
    static const int odd[] = {1, 7, 1000, -3, -999, -1005, -123456, 2147483647, -2147483647 - 1};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        cr_assert_not_null(ipcx_strerror(odd[i]), "strerror(%d) is NULL", odd[i]);
        cr_assert_not_null(ipcx_errname(odd[i]), "errname(%d) is NULL", odd[i]);
    }
    for (int c = -1100; c <= 10; c++) {
        cr_assert_not_null(ipcx_strerror(c), "strerror(%d) is NULL", c);
        cr_assert_not_null(ipcx_errname(c), "errname(%d) is NULL", c);
    }
    cr_expect_str_eq(ipcx_version(), IPCX_VERSION_STRING);
}
