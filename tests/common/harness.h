/*
 * harness.h: helpers shared by the conformance, multi-process and stress
 * tests: scratch names with a random suffix, a clock, fork() with readiness
 * and go pipes, a fast payload checksum, the test message header (sender id,
 * sequence, checksum), the table of schemes and a way to open a connected
 * (sender, receiver) pair on each, and raw wire helpers for hostile peers.
 * Header-only (static inline) because every test executable is one .c file.
 * It must never wait on readiness with sleep(), never call a Criterion
 * assertion (children use it too), and never exit a child except through
 * _exit(), so no atexit handler of the test runner runs twice.
 */
#ifndef IPCX_TEST_HARNESS_H
#define IPCX_TEST_HARNESS_H

#include <ipcx.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* Clock and randomness                                                      */
/* ------------------------------------------------------------------------ */

static inline int64_t th_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

/* splitmix64: a tiny deterministic generator; *state advances. */
static inline uint64_t th_mix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* 64 unpredictable bits, for scratch names and seeds. */
static inline uint64_t th_random64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        uint64_t s = (uint64_t)th_now_ns() ^ ((uint64_t)getpid() << 32);
        v = th_mix64(&s);
    }
    return v;
}

/* ------------------------------------------------------------------------ */
/* Scratch names                                                             */
/* ------------------------------------------------------------------------ */

/* "/tmp/ipcx-test-<pid>-<rand><ext>" */
static inline void th_scratch_path(char *buf, size_t cap, const char *ext)
{
    snprintf(buf, cap, "/tmp/ipcx-test-%ld-%016llx%s", (long)getpid(),
             (unsigned long long)th_random64(), ext ? ext : "");
}

/* "@ipcx-test-<pid>-<rand>" (a Linux abstract socket name) */
static inline void th_scratch_abstract(char *buf, size_t cap)
{
    snprintf(buf, cap, "@ipcx-test-%ld-%016llx", (long)getpid(), (unsigned long long)th_random64());
}

/* A random TCP port in 20000..60000 (port 0 is not supported by ipcx). */
static inline unsigned th_random_port(void)
{
    return 20000u + (unsigned)(th_random64() % 40001u);
}

/* ------------------------------------------------------------------------ */
/* Schemes                                                                   */
/* ------------------------------------------------------------------------ */

/* How a scheme's address is made. */
enum th_addr {
    TH_ADDR_PAIR,     /* no name: ipcx_pair(prefix) */
    TH_ADDR_PATH,     /* prefix + "/tmp/ipcx-test-...<ext>" */
    TH_ADDR_ABSTRACT, /* prefix + "@ipcx-test-..." */
    TH_ADDR_TCP4,     /* prefix + "127.0.0.1:PORT" */
    TH_ADDR_TCP6,     /* prefix + "[::1]:PORT" */
    TH_ADDR_NAME      /* prefix + "ipcx-test-<pid>-<rand>" (shm mailbox names) */
};

typedef struct th_scheme {
    const char *name;   /* shown in messages: "unix-path" */
    const char *prefix; /* "pipe://", "unix://", "fifo://", "tcp://" */
    enum th_addr addr;
    const char *ext; /* file name suffix for TH_ADDR_PATH */
    unsigned flags;  /* IPCX_F_* the receiver creates the mailbox with */
} th_scheme;

#define TH_URL_MAX 256

static inline int th_is_pair(const th_scheme *s)
{
    return s->addr == TH_ADDR_PAIR;
}
static inline int th_is_tcp(const th_scheme *s)
{
    return s->addr == TH_ADDR_TCP4 || s->addr == TH_ADDR_TCP6;
}

/* Mailboxes that exist and buffer messages without any receiver (shm). */
static inline int th_is_buffered(const th_scheme *s)
{
    return s->addr == TH_ADDR_NAME;
}

/* Writes a fresh random URL of scheme s into url; "" for pairs. */
static inline void th_make_url(const th_scheme *s, char *url, size_t cap)
{
    char name[160];
    switch (s->addr) {
    case TH_ADDR_PAIR:
        snprintf(url, cap, "%s", s->prefix);
        break;
    case TH_ADDR_PATH:
        th_scratch_path(name, sizeof name, s->ext);
        snprintf(url, cap, "%s%s", s->prefix, name);
        break;
    case TH_ADDR_ABSTRACT:
        th_scratch_abstract(name, sizeof name);
        snprintf(url, cap, "%s%s", s->prefix, name);
        break;
    case TH_ADDR_TCP4:
        snprintf(url, cap, "%s127.0.0.1:%u", s->prefix, th_random_port());
        break;
    case TH_ADDR_TCP6:
        snprintf(url, cap, "%s[::1]:%u", s->prefix, th_random_port());
        break;
    case TH_ADDR_NAME:
        snprintf(url, cap, "%sipcx-test-%ld-%016llx", s->prefix, (long)getpid(),
                 (unsigned long long)th_random64());
        break;
    }
}

/* The filesystem path inside a "scheme:///path" URL, or NULL. */
static inline const char *th_url_path(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p || p[3] != '/')
        return NULL;
    return p + 3;
}

/* Removes a scratch file or named mailbox left by a test URL; ignores every error. */
static inline void th_cleanup_url(const char *url)
{
    if (strncmp(url, "shm://ipcx-test-", 16) == 0)
        (void)ipcx_unlink(url);
    const char *path = th_url_path(url);
    if (path && strncmp(path, "/tmp/ipcx-test-", 15) == 0)
        (void)unlink(path);
}

/*
 * Opens a receiver (role IPCX_RECV, other fields from opts or defaults) on a
 * fresh URL of named scheme s, retrying with another port while a TCP port is
 * taken. Stores the URL in url. Returns 0 or the ipcx_open error.
 */
static inline int th_open_recv(const th_scheme *s, const ipcx_opts *opts, ipcx_mailbox **rcv,
                               char *url, size_t cap)
{
    ipcx_opts o = IPCX_OPTS_INIT;
    int rc = IPCX_EINVAL;
    if (opts)
        o = *opts;
    o.role = IPCX_RECV;
    o.flags |= s->flags;
    for (int attempt = 0; attempt < 64; attempt++) {
        th_make_url(s, url, cap);
        rc = ipcx_open(rcv, url, &o);
        if (!(rc == IPCX_EADDRINUSE && th_is_tcp(s)))
            break;
    }
    return rc;
}

/* Opens a sender (role IPCX_SEND) on url. */
static inline int th_open_send(const char *url, const ipcx_opts *opts, ipcx_mailbox **snd)
{
    ipcx_opts o = IPCX_OPTS_INIT;
    if (opts)
        o = *opts;
    o.role = IPCX_SEND;
    return ipcx_open(snd, url, &o);
}

/*
 * A connected (sender, receiver) pair of scheme s: ipcx_pair for pair
 * schemes (both ends can do both), else a receiver then a sender on a fresh
 * URL. url receives the URL ("pipe://" for pairs). Returns 0 or an error; on
 * error nothing stays open.
 */
static inline int th_open_pair(const th_scheme *s, const ipcx_opts *opts, ipcx_mailbox **snd,
                               ipcx_mailbox **rcv, char *url, size_t cap)
{
    int rc;
    if (th_is_pair(s)) {
        snprintf(url, cap, "%s", s->prefix);
        return ipcx_pair(snd, rcv, s->prefix, opts);
    }
    rc = th_open_recv(s, opts, rcv, url, cap);
    if (rc != 0)
        return rc;
    rc = th_open_send(url, opts, snd);
    if (rc != 0) {
        ipcx_close(*rcv);
        th_cleanup_url(url);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Child processes                                                           */
/* ------------------------------------------------------------------------ */

typedef struct th_child {
    pid_t pid;
    int ready_fd; /* parent reads: a byte arrives when the child is ready */
    int go_fd;    /* parent writes: a byte tells the child to start */
} th_child;

#define TH_CHILD_INIT                                                                              \
    {                                                                                              \
        -1, -1, -1                                                                                 \
    }

/*
 * A child's body: ready_fd to write a byte to once ready, go_fd to read the
 * start byte from (th_wait_byte). The return value is the exit status.
 */
typedef int (*th_child_fn)(void *arg, int ready_fd, int go_fd);

/* Writes one byte to fd. 0 or -1. */
static inline int th_signal(int fd)
{
    char b = 1;
    ssize_t n;
    do
        n = write(fd, &b, 1);
    while (n < 0 && errno == EINTR);
    return n == 1 ? 0 : -1;
}

/* Waits up to timeout_ms (<0 forever) for one byte on fd. 0 if it came, -1 on timeout or EOF. */
static inline int th_wait_byte(int fd, int timeout_ms)
{
    int64_t deadline = th_now_ns() + (int64_t)timeout_ms * 1000000;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = -1;
        if (timeout_ms >= 0) {
            int64_t ns = deadline - th_now_ns();
            if (ns < 0)
                ns = 0;
            left = (int)(ns / 1000000);
        }
        int n = poll(&p, 1, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        char b;
        ssize_t r = read(fd, &b, 1);
        if (r == 1)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        return -1;
    }
}

/* Forks a child running fn(arg, ...) then _exit(). 0 or -errno. */
static inline int th_fork(th_child *c, th_child_fn fn, void *arg)
{
    int r[2], g[2];
    if (pipe2(r, O_CLOEXEC) != 0)
        return -errno;
    if (pipe2(g, O_CLOEXEC) != 0) {
        int e = -errno;
        close(r[0]);
        close(r[1]);
        return e;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(r[0]);
        close(r[1]);
        close(g[0]);
        close(g[1]);
        return e;
    }
    if (pid == 0) {
        close(r[0]);
        close(g[1]);
        int st = fn(arg, r[1], g[0]);
        _exit(st & 0xff);
    }
    close(r[1]);
    close(g[0]);
    c->pid = pid;
    c->ready_fd = r[0];
    c->go_fd = g[1];
    return 0;
}

/*
 * Waits up to timeout_ms for the child to end and returns its raw wait
 * status; on timeout kills it with SIGKILL, reaps it and returns -1 (also -1
 * for a child already reaped, pid <= 0). Closes the child's pipes and marks
 * it reaped either way.
 */
static inline int th_reap(th_child *c, int timeout_ms)
{
    int st = 0;
    int64_t deadline = th_now_ns() + (int64_t)timeout_ms * 1000000;
    int result = -1;
    while (c->pid > 0) { /* never waitpid(-1): that would reap another test child */
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid) {
            result = st;
            break;
        }
        if (r < 0 && errno != EINTR)
            break;
        if (th_now_ns() > deadline) {
            kill(c->pid, SIGKILL);
            while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) {
            }
            break;
        }
        struct timespec ts = {0, 1000000}; /* polling a child's exit, not readiness */
        nanosleep(&ts, NULL);
    }
    c->pid = -1;
    if (c->ready_fd >= 0)
        close(c->ready_fd);
    if (c->go_fd >= 0)
        close(c->go_fd);
    c->ready_fd = c->go_fd = -1;
    return result;
}

/* Kills a child that must not outlive a failed test, and reaps it. */
static inline void th_kill(th_child *c)
{
    if (c->pid > 0) {
        kill(c->pid, SIGKILL);
        (void)th_reap(c, 5000);
        c->pid = -1;
    }
}

/* Describes a wait status: "exit 0", "exit 3", "signal 11", "timeout". */
static inline const char *th_status_str(int st, char *buf, size_t cap)
{
    if (st == -1)
        snprintf(buf, cap, "timeout (killed)");
    else if (WIFEXITED(st))
        snprintf(buf, cap, "exit %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, cap, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, cap, "status 0x%x", (unsigned)st);
    return buf;
}

static inline int th_exited_ok(int st)
{
    return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* ------------------------------------------------------------------------ */
/* Payloads and the test message header                                      */
/* ------------------------------------------------------------------------ */

/* A fast 64-bit hash of n bytes, 8 at a time (not FNV-1a, but as sensitive). */
static inline uint64_t th_hash(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ 0xCBF29CE484222325ull ^ ((uint64_t)n * 0x100000001B3ull);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9E3779B97F4A7C15ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001B3ull;
    }
    h ^= h >> 32;
    return h * 0xD6E8FEB86659FD93ull;
}

/* Deterministic bytes from seed: what a test sends and later checks. */
static inline void th_pattern_fill(void *buf, size_t len, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t s = seed;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w = th_mix64(&s);
        memcpy(p + i, &w, 8);
    }
    if (i < len) {
        uint64_t w = th_mix64(&s);
        memcpy(p + i, &w, len - i);
    }
}

/* 0 if buf holds th_pattern_fill(len, seed), else 1 + the first bad index. */
static inline size_t th_pattern_check(const void *buf, size_t len, uint64_t seed)
{
    const unsigned char *p = buf;
    uint64_t s = seed;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t w = th_mix64(&s);
        unsigned char e[8];
        memcpy(e, &w, 8);
        size_t k = len - i < 8 ? len - i : 8;
        for (size_t j = 0; j < k; j++)
            if (p[i + j] != e[j])
                return i + j + 1;
    }
    return 0;
}

/*
 * Test message: u32 sender, u64 seq, u64 checksum of the rest, then pattern
 * bytes. Messages are at least TH_HDR bytes; tests that draw smaller sizes
 * pad them up to TH_HDR (zero-length and tiny messages are covered by the
 * conformance suite).
 */
#define TH_HDR 20u

static inline uint64_t th_msg_seed(uint32_t sender, uint64_t seq)
{
    return ((uint64_t)sender << 48) ^ seq ^ 0x5DEECE66Dull;
}

/* Fills len (>= TH_HDR) bytes with a message of (sender, seq). */
static inline void th_msg_fill(void *buf, size_t len, uint32_t sender, uint64_t seq)
{
    unsigned char *p = buf;
    th_pattern_fill(p + TH_HDR, len - TH_HDR, th_msg_seed(sender, seq));
    uint64_t sum = th_hash(p + TH_HDR, len - TH_HDR, th_msg_seed(sender, seq));
    memcpy(p, &sender, 4);
    memcpy(p + 4, &seq, 8);
    memcpy(p + 12, &sum, 8);
}

/* Checks a message; stores its sender and seq. 0 ok, -1 too short, -2 bad checksum. */
static inline int th_msg_check(const void *buf, size_t len, uint32_t *sender, uint64_t *seq)
{
    const unsigned char *p = buf;
    uint64_t sum;
    if (len < TH_HDR)
        return -1;
    memcpy(sender, p, 4);
    memcpy(seq, p + 4, 8);
    memcpy(&sum, p + 12, 8);
    if (th_hash(p + TH_HDR, len - TH_HDR, th_msg_seed(*sender, *seq)) != sum)
        return -2;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Raw wire access, for hostile peers                                        */
/* ------------------------------------------------------------------------ */

#define TH_WIRE_MAGIC 0x1C5Au
#define TH_WIRE_HDR   16u

/* The 16-byte little-endian stream frame header. */
static inline void th_wire_header(unsigned char h[16], uint32_t magic_flags, uint32_t tag,
                                  uint64_t len)
{
    for (int i = 0; i < 4; i++)
        h[i] = (unsigned char)(magic_flags >> (8 * i));
    for (int i = 0; i < 4; i++)
        h[4 + i] = (unsigned char)(tag >> (8 * i));
    for (int i = 0; i < 8; i++)
        h[8 + i] = (unsigned char)(len >> (8 * i));
}

/* Writes all n bytes (send with MSG_NOSIGNAL on sockets, write otherwise). 0 or -errno. */
static inline int th_write_all(int fd, const void *buf, size_t n, int is_socket)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = is_socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/*
 * A plain socket connected to the receiver of a "unix://..." or "tcp://..."
 * URL, without the library. Returns the fd or -errno.
 */
static inline int th_raw_connect(const char *url)
{
    int fd;
    if (strncmp(url, "unix://", 7) == 0) {
        const char *name = url + 7;
        struct sockaddr_un sa;
        socklen_t sl;
        memset(&sa, 0, sizeof sa);
        sa.sun_family = AF_UNIX;
        size_t n = strlen(name);
        if (n >= sizeof sa.sun_path)
            return -ENAMETOOLONG;
        if (name[0] == '@') {
            memcpy(sa.sun_path + 1, name + 1, n - 1);
            sl = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
        } else {
            memcpy(sa.sun_path, name, n);
            sl = (socklen_t)sizeof sa;
        }
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sl) != 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        return fd;
    }
    if (strncmp(url, "tcp://", 6) == 0) {
        const char *h = url + 6;
        char host[64];
        const char *colon;
        int v6 = h[0] == '[';
        if (v6) {
            const char *rb = strchr(h, ']');
            if (!rb || rb[1] != ':' || (size_t)(rb - h - 1) >= sizeof host)
                return -EINVAL;
            memcpy(host, h + 1, (size_t)(rb - h - 1));
            host[rb - h - 1] = '\0';
            colon = rb + 1;
        } else {
            colon = strrchr(h, ':');
            if (!colon || (size_t)(colon - h) >= sizeof host)
                return -EINVAL;
            memcpy(host, h, (size_t)(colon - h));
            host[colon - h] = '\0';
        }
        unsigned port = (unsigned)strtoul(colon + 1, NULL, 10);
        struct sockaddr_storage ss;
        socklen_t sl;
        memset(&ss, 0, sizeof ss);
        if (v6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
            s6->sin6_family = AF_INET6;
            s6->sin6_port = htons((uint16_t)port);
            if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
                return -EINVAL;
            sl = sizeof *s6;
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
            s4->sin_family = AF_INET;
            s4->sin_port = htons((uint16_t)port);
            if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
                return -EINVAL;
            sl = sizeof *s4;
        }
        fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
            int e = -errno;
            close(fd);
            return e;
        }
        return fd;
    }
    return -EINVAL;
}

/*
 * Waits up to timeout_ms for the other side to close a socket (read returns
 * 0 or ECONNRESET/EPIPE), discarding anything read. 0 if it closed, -1 if not.
 */
static inline int th_wait_closed(int fd, int timeout_ms)
{
    int64_t deadline = th_now_ns() + (int64_t)timeout_ms * 1000000;
    char junk[512];
    for (;;) {
        int64_t ns = deadline - th_now_ns();
        if (ns <= 0)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, (int)(ns / 1000000) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        ssize_t r = recv(fd, junk, sizeof junk, 0);
        if (r == 0)
            return 0;
        if (r < 0 && (errno == ECONNRESET || errno == EPIPE))
            return 0;
        if (r < 0 && errno != EINTR && errno != EAGAIN)
            return 0;
    }
}

#endif /* IPCX_TEST_HARNESS_H */
