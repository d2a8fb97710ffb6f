/*
 * test_streamwait.c: the receive wait of a named socket receiver. With one
 * sender connected it waits and reads in one io_uring_enter (where the kernel
 * allows io_uring), else in ppoll; every test runs both ways, the second
 * with io_uring_setup refused by a seccomp filter, which must change nothing
 * but the system calls. Checked: a sender that connects while the receiver
 * sleeps on another is served; receives whose deadlines end while bytes
 * arrive lose and duplicate nothing; signals never end a wait early nor
 * become errors; a large frame whose rest is late comes whole; a receiver
 * closed after waiting frees its name at once; an endpoint used before
 * fork() keeps working in whichever process owns it afterwards. Never
 * sleeps to wait for a peer (pauses only make a sender late on purpose).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "../common/harness.h"

#define TMO (10 * IPCX_SEC)

enum { MODE_URING = 0, MODE_DENIED = 1 };
static int modes[] = {MODE_URING, MODE_DENIED};

/* Makes io_uring_setup fail with EPERM in this process and its children, as a container might. */
static void deny_io_uring(void)
{
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {(unsigned short)(sizeof f / sizeof f[0]), f};
    cr_assert_eq(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0, "no_new_privs: %s", strerror(errno));
    cr_assert_eq(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog), 0, "seccomp: %s",
                 strerror(errno));
}

/* How many io_uring instances this process holds (descriptors only). */
static int rings_open(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char path[300], link[64];
        snprintf(path, sizeof path, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(path, link, sizeof link - 1);
        if (k > 0) {
            link[k] = '\0';
            n += strcmp(link, "anon_inode:[io_uring]") == 0;
        }
    }
    closedir(d);
    return n;
}

/* Whether this build and this kernel let the library use io_uring. */
static int uring_expected(int mode)
{
#if IPCX_HAVE_LIBURING
    if (mode != MODE_URING)
        return 0;
    struct {
        uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle, features, wq_fd,
            resv[3];
        uint32_t sq_off[10], cq_off[10];
    } p;
    memset(&p, 0, sizeof p);
    long fd = syscall(__NR_io_uring_setup, 1, &p);
    if (fd < 0)
        return 0;
    close((int)fd);
    return 1;
#else
    (void)mode;
    return 0;
#endif
}

static void setup_mode(int mode)
{
    if (mode == MODE_DENIED)
        deny_io_uring();
}

/* A unix abstract receiver and a sender on it, one message exchanged (the connection is up). */
static void open_connected(ipcx_mailbox **rcv, ipcx_mailbox **snd, char *url, size_t cap)
{
    static const th_scheme sch = {"unix-abstract", "unix://", TH_ADDR_ABSTRACT, NULL, 0};
    int rc = th_open_pair(&sch, NULL, snd, rcv, url, cap);
    cr_assert_eq(rc, 0, "open %s: %s", url, ipcx_errname(rc));
    cr_assert_eq(ipcx_send(*snd, "hi", 2, TMO), 0);
    char b[8];
    size_t len = 0;
    rc = ipcx_recv(*rcv, b, sizeof b, &len, TMO);
    cr_assert(rc == 0 && len == 2, "first recv: %s", ipcx_errname(rc));
}

/* Forks fn(url) as a sending process and starts it: its ready byte, then go. */
static void start_sender(th_child *c, th_child_fn fn, char *url)
{
    cr_assert_eq(th_fork(c, fn, url), 0);
    cr_assert_eq(th_wait_byte(c->ready_fd, 30000), 0);
    th_signal(c->go_fd);
}

/* Receives "what" within TMO, and checks it. */
static void recv_str(ipcx_mailbox *rcv, const char *what)
{
    char b[64];
    size_t len = 0;
    int rc = ipcx_recv(rcv, b, sizeof b, &len, TMO);
    cr_assert_eq(rc, 0, "recv (want '%s'): %s", what, ipcx_errname(rc));
    cr_assert(len == strlen(what) && memcmp(b, what, len) == 0, "got '%.*s', want '%s'", (int)len,
              b, what);
}

/* ------------------------------------------------------------------------ */
/* A new sender while the receiver sleeps on another                        */
/* ------------------------------------------------------------------------ */

static int late_sender(void *argp, int ready_fd, int go_fd)
{
    const char *url = argp;
    ipcx_mailbox *snd = NULL;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 30000) != 0)
        return 3;
    struct timespec ts = {0, 20000000}; /* late on purpose: the receiver is asleep by then */
    nanosleep(&ts, NULL);
    if (th_open_send(url, NULL, &snd) != 0)
        return 2;
    if (ipcx_send(snd, "from the second", 15, TMO) != 0)
        return 10;
    th_signal(ready_fd);
    ipcx_close(snd);
    return 0;
}

ParameterizedTestParameters(streamwait, new_sender_while_waiting)
{
    return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *mode, streamwait, new_sender_while_waiting, .timeout = 60)
{
    setup_mode(*mode);
    ipcx_mailbox *rcv, *snd;
    char url[TH_URL_MAX];
    open_connected(&rcv, &snd, url, sizeof url);
    th_child c = TH_CHILD_INIT;
    start_sender(&c, late_sender, url);
    /* Sleeps on the first sender's idle connection; the second must wake it. */
    recv_str(rcv, "from the second");
    cr_assert_eq(th_wait_byte(c.ready_fd, 30000), 0);
    char st[64];
    int s = th_reap(&c, 30000);
    cr_assert(th_exited_ok(s), "late sender: %s", th_status_str(s, st, sizeof st));
    cr_assert_eq(ipcx_send(snd, "from the first", 14, TMO), 0);
    recv_str(rcv, "from the first");
    cr_assert_eq(rings_open(), uring_expected(*mode), "io_uring instances: %d", rings_open());
    ipcx_close(snd);
    ipcx_close(rcv);
    cr_assert_eq(rings_open(), 0, "the ring outlived its endpoint");
}

/* ------------------------------------------------------------------------ */
/* Deadlines that end while bytes arrive                                     */
/* ------------------------------------------------------------------------ */

#define RACE_MSGS 3000
#define RACE_MAX  (100u << 10)

static size_t race_size(uint64_t seq)
{
    uint64_t s = seq * 7919 + 1;
    uint64_t r = th_mix64(&s);
    size_t sz = r % 10 == 0 ? (size_t)(r >> 8) % (RACE_MAX + 1) : (size_t)(r >> 8) % 300;
    return sz < TH_HDR ? TH_HDR : sz;
}

static int race_sender(void *argp, int ready_fd, int go_fd)
{
    const char *url = argp;
    ipcx_mailbox *snd = NULL;
    unsigned char *buf = malloc(RACE_MAX);
    if (!buf || th_open_send(url, NULL, &snd) != 0)
        return 2;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 30000) != 0)
        return 3;
    for (uint64_t seq = 0; seq < RACE_MSGS; seq++) {
        size_t sz = race_size(seq);
        th_msg_fill(buf, sz, 1, seq);
        if (ipcx_send(snd, buf, sz, TMO) != 0)
            return 10;
        if (seq % 64 == 0) {
            struct timespec ts = {0, 200000}; /* a late sender, on purpose */
            nanosleep(&ts, NULL);
        }
    }
    ipcx_close(snd);
    free(buf);
    return 0;
}

ParameterizedTestParameters(streamwait, short_deadlines_lose_nothing)
{
    return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *mode, streamwait, short_deadlines_lose_nothing, .timeout = 120)
{
    setup_mode(*mode);
    ipcx_mailbox *rcv, *snd;
    char url[TH_URL_MAX];
    open_connected(&rcv, &snd, url, sizeof url);
    ipcx_close(snd);
    th_child c = TH_CHILD_INIT;
    start_sender(&c, race_sender, url);
    unsigned char *buf = malloc(RACE_MAX);
    cr_assert(buf);
    uint64_t next = 0, timeouts = 0;
    int64_t give_up = th_now_ns() + 60 * IPCX_SEC;
    while (next < RACE_MSGS && th_now_ns() < give_up) {
        size_t len = 0;
        /* 20..300 us: most end inside a wait, some while a frame is half read. */
        int64_t tmo = 20000 + (int64_t)(next % 15) * 20000;
        int rc = ipcx_recv(rcv, buf, RACE_MAX, &len, tmo);
        if (rc == IPCX_ETIMEDOUT) {
            timeouts++;
            continue;
        }
        cr_assert_eq(rc, 0, "recv #%llu: %s", (unsigned long long)next, ipcx_errname(rc));
        uint32_t id;
        uint64_t seq;
        cr_assert_eq(th_msg_check(buf, len, &id, &seq), 0, "message #%llu corrupt (%zu bytes)",
                     (unsigned long long)next, len);
        cr_assert(id == 1 && seq == next, "got %u/%llu, want 1/%llu", id, (unsigned long long)seq,
                  (unsigned long long)next);
        cr_assert_eq(len, race_size(seq), "message %llu: %zu bytes", (unsigned long long)seq, len);
        next++;
    }
    cr_assert_eq(next, RACE_MSGS, "received %llu of %d", (unsigned long long)next, RACE_MSGS);
    cr_expect_gt(timeouts, 0, "no receive timed out: the race was not exercised");
    char st[64];
    int s = th_reap(&c, 30000);
    cr_assert(th_exited_ok(s), "sender: %s", th_status_str(s, st, sizeof st));
    ipcx_stats stats = {.struct_size = sizeof stats};
    cr_assert_eq(ipcx_get_stats(rcv, &stats), 0);
    cr_assert_eq(stats.peers_dropped, 0, "a good sender was dropped: %s",
                 ipcx_errname(stats.last_drop_error));
    free(buf);
    ipcx_close(rcv);
}

/* ------------------------------------------------------------------------ */
/* Signals                                                                   */
/* ------------------------------------------------------------------------ */

static volatile sig_atomic_t signals_seen;

static void on_usr1(int sig)
{
    (void)sig;
    signals_seen++;
}

struct pester {
    pthread_t target, th;
    ipcx_mailbox *snd; /* sends "late" after send_after signals, if set */
    int send_after;
    int count;
    int send_rc;
};

static void *pester_main(void *argp)
{
    struct pester *p = argp;
    for (int i = 0; i < p->count; i++) {
        pthread_kill(p->target, SIGUSR1);
        struct timespec ts = {0, 1000000}; /* a signal every millisecond */
        nanosleep(&ts, NULL);
        if (p->snd && i + 1 == p->send_after)
            p->send_rc = ipcx_send(p->snd, "late", 4, TMO);
    }
    return NULL;
}

ParameterizedTestParameters(streamwait, signals_do_not_end_waits)
{
    return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *mode, streamwait, signals_do_not_end_waits, .timeout = 60)
{
    setup_mode(*mode);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1; /* no SA_RESTART: every interrupted call sees EINTR */
    sigemptyset(&sa.sa_mask);
    cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
    ipcx_mailbox *rcv, *snd;
    char url[TH_URL_MAX];
    open_connected(&rcv, &snd, url, sizeof url);

    /* A deadline under a hail of signals: IPCX_ETIMEDOUT, on time. */
    struct pester p = {.target = pthread_self(), .count = 150};
    cr_assert_eq(pthread_create(&p.th, NULL, pester_main, &p), 0);
    char b[16];
    size_t len = 0;
    int64_t t0 = th_now_ns();
    int rc = ipcx_recv(rcv, b, sizeof b, &len, 100 * IPCX_MSEC);
    int64_t el = th_now_ns() - t0;
    pthread_join(p.th, NULL);
    cr_assert_eq(rc, IPCX_ETIMEDOUT, "recv under signals: %s", ipcx_errname(rc));
    cr_assert(el >= 100 * IPCX_MSEC && el < 5 * IPCX_SEC, "100 ms deadline took %.1f ms",
              (double)el / 1e6);

    /* Waiting forever under signals: the message, nothing else. */
    signals_seen = 0;
    struct pester q = {.target = pthread_self(), .count = 100, .snd = snd, .send_after = 50};
    cr_assert_eq(pthread_create(&q.th, NULL, pester_main, &q), 0);
    len = 0;
    rc = ipcx_recv(rcv, b, sizeof b, &len, IPCX_FOREVER);
    pthread_join(q.th, NULL);
    cr_assert_eq(q.send_rc, 0);
    cr_assert_eq(rc, 0, "forever recv under signals: %s", ipcx_errname(rc));
    cr_assert(len == 4 && memcmp(b, "late", 4) == 0);
    cr_expect_gt(signals_seen, 10, "the signals did not reach the waiting thread");
    ipcx_close(snd);
    ipcx_close(rcv);
}

/* ------------------------------------------------------------------------ */
/* A large frame whose rest is late                                          */
/* ------------------------------------------------------------------------ */

#define BIG ((size_t)1 << 20)

static int slow_big_sender(void *argp, int ready_fd, int go_fd)
{
    const char *url = argp;
    unsigned char *m = malloc(BIG);
    if (!m)
        return 4;
    int fd = th_raw_connect(url);
    if (fd < 0)
        return 2;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 30000) != 0)
        return 3;
    th_msg_fill(m, BIG, 7, 0);
    unsigned char h[TH_WIRE_HDR];
    th_wire_header(h, TH_WIRE_MAGIC << 16, 0, BIG);
    if (th_write_all(fd, h, sizeof h, 1) != 0)
        return 30;
    /* 64 pieces, 5 ms apart: the receiver's patience (2 ms) runs out between them. */
    for (size_t off = 0; off < BIG; off += BIG / 64) {
        if (th_write_all(fd, m + off, BIG / 64, 1) != 0)
            return 31;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    th_wait_byte(go_fd, 30000);
    close(fd);
    free(m);
    return 0;
}

ParameterizedTestParameters(streamwait, late_rest_of_large_frame)
{
    return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *mode, streamwait, late_rest_of_large_frame, .timeout = 60)
{
    setup_mode(*mode);
    ipcx_mailbox *rcv, *snd;
    char url[TH_URL_MAX];
    open_connected(&rcv, &snd, url, sizeof url);
    ipcx_close(snd);
    th_child c = TH_CHILD_INIT;
    start_sender(&c, slow_big_sender, url);
    unsigned char *buf = malloc(BIG);
    cr_assert(buf);
    size_t len = 0;
    int rc = ipcx_recv(rcv, buf, BIG, &len, 30 * IPCX_SEC);
    cr_assert_eq(rc, 0, "recv: %s", ipcx_errname(rc));
    uint32_t id;
    uint64_t seq;
    cr_assert(len == BIG && th_msg_check(buf, len, &id, &seq) == 0 && id == 7 && seq == 0,
              "the large message came wrong (%zu bytes)", len);
    th_signal(c.go_fd);
    char st[64];
    int s = th_reap(&c, 30000);
    cr_assert(th_exited_ok(s), "sender: %s", th_status_str(s, st, sizeof st));
    free(buf);
    ipcx_close(rcv);
}

/* ------------------------------------------------------------------------ */
/* The name is free once the receiver is closed                              */
/* ------------------------------------------------------------------------ */

ParameterizedTestParameters(streamwait, reopen_after_close)
{
    return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *mode, streamwait, reopen_after_close, .timeout = 60)
{
    setup_mode(*mode);
    static const th_scheme schemes[] = {
        {"unix-abstract", "unix://", TH_ADDR_ABSTRACT, NULL, 0},
        {"unix-path", "unix://", TH_ADDR_PATH, ".sock", 0},
    };
    for (size_t k = 0; k < 2; k++) {
        char url[TH_URL_MAX];
        ipcx_mailbox *rcv, *snd;
        int rc = th_open_pair(&schemes[k], NULL, &snd, &rcv, url, sizeof url);
        cr_assert_eq(rc, 0, "open %s: %s", url, ipcx_errname(rc));
        for (int round = 0; round < 20; round++) {
            char b[8];
            size_t len = 0;
            cr_assert_eq(ipcx_send(snd, "x", 1, TMO), 0);
            cr_assert_eq(ipcx_recv(rcv, b, sizeof b, &len, TMO), 0);
            /* A wait that ends by its deadline: the ring's poll of the listener stays armed. */
            cr_assert_eq(ipcx_recv(rcv, b, sizeof b, &len, IPCX_MSEC), IPCX_ETIMEDOUT);
            ipcx_close(rcv);
            ipcx_opts o = IPCX_OPTS_INIT;
            o.role = IPCX_RECV;
            rc = ipcx_open(&rcv, url, &o);
            cr_assert_eq(rc, 0, "[%s] round %d: reopen at once: %s", schemes[k].name, round,
                         ipcx_errname(rc));
        }
        ipcx_close(snd);
        ipcx_close(rcv);
        th_cleanup_url(url);
    }
}

/* ------------------------------------------------------------------------ */
/* fork()                                                                    */
/* ------------------------------------------------------------------------ */

#define FORK_MSGS 200

struct fork_arg {
    ipcx_mailbox *rcv;
    int mode;
};

/* The child owns the receiver its parent used: it receives everything. */
static int fork_receiver(void *argp, int ready_fd, int go_fd)
{
    struct fork_arg *a = argp;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 30000) != 0)
        return 3;
    unsigned char buf[256];
    for (uint64_t i = 0; i < FORK_MSGS; i++) {
        size_t len = 0;
        int rc = ipcx_recv(a->rcv, buf, sizeof buf, &len, TMO);
        uint32_t id;
        uint64_t seq;
        if (rc != 0) {
            fprintf(stderr, "child recv #%llu: %s\n", (unsigned long long)i, ipcx_errname(rc));
            return 10;
        }
        if (th_msg_check(buf, len, &id, &seq) != 0 || seq != i)
            return 11;
        th_signal(ready_fd); /* one message at a time, so that most receives wait */
    }
    /* The inherited ring was dropped and, where io_uring works, one made for this process. */
    if (rings_open() != uring_expected(a->mode))
        return 12;
    ipcx_close(a->rcv);
    return rings_open() == 0 ? 0 : 13;
}

ParameterizedTestParameters(streamwait, fork_child_takes_receiver)
{
    return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *mode, streamwait, fork_child_takes_receiver, .timeout = 60)
{
    setup_mode(*mode);
    ipcx_mailbox *rcv, *snd;
    char url[TH_URL_MAX];
    open_connected(&rcv, &snd, url, sizeof url);
    char b[8];
    size_t len = 0;
    /* The parent's ring exists and polls the listener. */
    cr_assert_eq(ipcx_recv(rcv, b, sizeof b, &len, IPCX_MSEC), IPCX_ETIMEDOUT);
    struct fork_arg a = {rcv, *mode};
    th_child c = TH_CHILD_INIT;
    cr_assert_eq(th_fork(&c, fork_receiver, &a), 0);
    cr_assert_eq(th_wait_byte(c.ready_fd, 30000), 0);
    ipcx_close(rcv); /* the parent's copy; the child owns the receiver now */
    th_signal(c.go_fd);
    unsigned char buf[256];
    for (uint64_t i = 0; i < FORK_MSGS; i++) {
        size_t sz = TH_HDR + (size_t)(i % 200);
        th_msg_fill(buf, sz, 1, i);
        cr_assert_eq(ipcx_send(snd, buf, sz, TMO), 0);
        cr_assert_eq(th_wait_byte(c.ready_fd, 30000), 0, "the child stopped at message %llu",
                     (unsigned long long)i);
    }
    char st[64];
    int s = th_reap(&c, 30000);
    cr_assert(th_exited_ok(s), "child: %s", th_status_str(s, st, sizeof st));
    ipcx_close(snd);
}

/* The child only closes what it inherited, as fork() users must. */
static int fork_closer(void *argp, int ready_fd, int go_fd)
{
    struct fork_arg *a = argp;
    (void)go_fd;
    ipcx_close(a->rcv);
    th_signal(ready_fd);
    return 0;
}

ParameterizedTestParameters(streamwait, fork_parent_keeps_receiver)
{
    return cr_make_param_array(int, modes, 2);
}

ParameterizedTest(int *mode, streamwait, fork_parent_keeps_receiver, .timeout = 60)
{
    setup_mode(*mode);
    ipcx_mailbox *rcv, *snd;
    char url[TH_URL_MAX];
    open_connected(&rcv, &snd, url, sizeof url);
    char b[8];
    size_t len = 0;
    cr_assert_eq(ipcx_recv(rcv, b, sizeof b, &len, IPCX_MSEC), IPCX_ETIMEDOUT);
    struct fork_arg a = {rcv, *mode};
    th_child c = TH_CHILD_INIT;
    cr_assert_eq(th_fork(&c, fork_closer, &a), 0);
    cr_assert_eq(th_wait_byte(c.ready_fd, 30000), 0);
    char st[64];
    int s = th_reap(&c, 30000);
    cr_assert(th_exited_ok(s), "child: %s", th_status_str(s, st, sizeof st));
    for (int i = 0; i < 50; i++) {
        cr_assert_eq(ipcx_recv(rcv, b, sizeof b, &len, IPCX_MSEC / 4), IPCX_ETIMEDOUT);
        cr_assert_eq(ipcx_send(snd, "after", 5, TMO), 0);
        recv_str(rcv, "after");
    }
    cr_assert_eq(rings_open(), uring_expected(*mode));
    ipcx_close(snd);
    ipcx_close(rcv);
}
