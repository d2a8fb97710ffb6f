/*
 * mech_raw.c: the raw-syscall baselines. Byte streams (pipe, UNIX stream
 * socket, TCP over loopback, FIFO) move a fixed-size message with a plain
 * write loop and a read loop that runs until the whole message has arrived;
 * message channels (UNIX seqpacket and datagram sockets, UDP over loopback,
 * POSIX and System V message queues) move it with one call each way; and two
 * common ways of doing without a channel carry it too: realtime signals (8
 * bytes per signal, 64 at most) and a shared slot rung with eventfd
 * doorbells. No framing, no allocation in the data path, nothing the library
 * could be doing that these do not, so the ipcx mechanisms have an honest
 * floor. Where the kernel drops or refuses rather than block a sender on a slow
 * receiver (UDP, signals), the receiver hands back a credit every half window,
 * the least any user of them must do. In many-party cells (fanin, mpmc) the
 * kernel objects that can be shared are: one pipe, FIFO, POSIX or System V
 * queue, or bound datagram socket that every party uses, or a listener whose
 * consumer takes one connection per producer and reads them through epoll.
 * These must never use the library.
 */
#include "mech.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>

/* raw-udp, raw-signal: most messages one way that the receiver has not yet confirmed. */
#define RAW_WINDOW 32u
/* raw-udp: the largest UDP payload over IPv4 (65535 less 20 B of IP and 8 B of UDP header). */
#define RAW_UDP_MAX 65507u
/* raw-seqpacket, raw-dgram: the kernel refuses a datagram larger than SO_SNDBUF less this. */
#define RAW_UNIX_SLACK 32u
/* raw-mq: the queue depth asked for (less when fs.mqueue.msg_max or RLIMIT_MSGQUEUE allow less). */
#define RAW_MQ_DEPTH 8L
/* raw-mq: what RLIMIT_MSGQUEUE is charged per message besides its bytes (msg_msg, tree node). */
#define RAW_MQ_OVERHEAD 128u
/* raw-signal: payload bytes one signal carries (union sigval), and signals per message at most. */
#define RAW_SIG_CHUNK  sizeof(union sigval)
#define RAW_SIG_CHUNKS 8u
#define RAW_SIG_DATA   (SIGRTMIN)
#define RAW_SIG_CREDIT (SIGRTMIN + 1)
/* raw-signal: how long the parent waits for the child's first signal (it is sent at once). */
#define RAW_SIG_HELLO_S 5

/*
 * Direction d carries what side d sends (mech.h: SIDE_PARENT 0, SIDE_CHILD 1),
 * so a side sends on direction `side` and receives on direction `1 - side`.
 */

/*
 * Pre-fork state of every raw mechanism; each uses the fields it needs. The
 * objects of raw-udp, raw-mq, raw-sysvmq, raw-eventfd and raw-signal are the
 * setup's: both processes use what fork gave them, the parent's teardown
 * releases them (it runs after every successful setup, whatever failed later)
 * and the child's close drops its copies. A many-party cell uses one of each:
 * p2c (raw-pipe), listen_fd (the listener of raw-unix, raw-seqpacket and
 * raw-tcp; raw-dgram's bound socket), name (their abstract name), fifo_p2c
 * (raw-fifo's path), mq[0] and msq[0]; many_teardown releases it.
 */
struct raw_setup {
    int p2c[2];         /* raw-pipe, raw-seqpacket, raw-dgram: [1] parent writes, [0] child reads */
    int c2p[2];         /* the same child -> parent: [1] child writes, [0] parent reads */
    int listen_fd;      /* raw-unix, raw-tcp: the parent's listener */
    int port;           /* raw-tcp */
    char name[108];     /* raw-unix, many-party sockets: abstract name (without the NUL) */
    char fifo_p2c[108]; /* raw-fifo paths */
    char fifo_c2p[108];
    int udp[2][2];        /* raw-udp: [side][UDP_DATA or UDP_CREDIT], connected to the peer's */
    unsigned window;      /* raw-udp: messages in flight the receivers' buffers hold */
    mqd_t mq[2];          /* raw-mq: [direction], already unlinked */
    int msq[2];           /* raw-sysvmq: [direction] */
    int efd_full[2];      /* raw-eventfd: [direction] rung when the slot holds a message */
    int efd_free[2];      /* raw-eventfd: [direction] rung when the slot is free again */
    unsigned char *map;   /* raw-eventfd: one slot per direction */
    size_t map_len, slot; /* raw-eventfd */
    int sig_was_blocked;  /* raw-signal: bit 0 data, bit 1 credit signal blocked before setup */
};

enum { UDP_DATA = 0, UDP_CREDIT = 1 };

/*
 * Flow control for raw-udp and raw-signal: the sender lets at most `window`
 * messages go unconfirmed; the receiver sends back how many it has taken
 * every `every` messages (a cumulative count, so a later credit covers an
 * earlier one).
 */
struct raw_credit {
    uint64_t sent;   /* messages this side has sent */
    uint64_t acked;  /* of those, how many the peer has said it took */
    uint64_t taken;  /* messages this side has received */
    unsigned window; /* at least 1 */
    unsigned every;  /* at least 1, at most window */
};

/* raw-sysvmq: the buffer msgsnd(2)/msgrcv(2) take, a type before the text. */
struct raw_msgbuf {
    long mtype;
    unsigned char mtext[];
};

/* A raw endpoint: what it reads from and writes to, and what its kind needs besides. */
struct raw_ep {
    int rfd;                  /* fd kinds: read from; raw-eventfd: the incoming doorbell */
    int wfd;                  /* written to (may equal rfd); raw-eventfd: the outgoing doorbell */
    int cfd;                  /* raw-udp: its credit socket */
    int free_rfd;             /* raw-eventfd: says its outgoing slot is free */
    int free_wfd;             /* raw-eventfd: tells the peer its slot is free */
    mqd_t mq_r, mq_w;         /* raw-mq */
    int msq_r, msq_w;         /* raw-sysvmq */
    struct raw_msgbuf *stage; /* raw-sysvmq: msg_size bytes of text */
    unsigned char *map;       /* raw-eventfd: the setup's mapping (the child unmaps its copy) */
    size_t map_len;
    unsigned char *tx_slot, *rx_slot; /* raw-eventfd */
    pid_t peer;                       /* raw-signal */
    struct raw_credit credit;         /* raw-udp, raw-signal */
    /* A many-party consumer of raw-unix, raw-seqpacket or raw-tcp (fanin). */
    int epfd;                           /* epoll over conn[] */
    unsigned nconn;                     /* connections accepted, one per producer */
    unsigned nready, iready;            /* ready[] holds nready fds; the next is ready[iready] */
    int conn[MECH_MANY_MAX_PRODUCERS];  /* the accepted connections */
    int ready[MECH_MANY_MAX_PRODUCERS]; /* those epoll last found readable, served in turn */
};

_Static_assert(sizeof(struct raw_setup) <= MECH_STATE_MAX, "raw_setup too large");
_Static_assert(sizeof(struct raw_ep) <= MECH_STATE_MAX, "raw_ep too large");

static struct raw_setup *raw_setup_of(struct mech_setup *s)
{
    return (struct raw_setup *)s->u.bytes;
}
static const struct raw_setup *raw_csetup_of(const struct mech_setup *s)
{
    return (const struct raw_setup *)s->u.bytes;
}
static struct raw_ep *raw_ep_of(struct mech_ep *ep)
{
    return (struct raw_ep *)ep->u.bytes;
}

static void raw_close_fd(int fd)
{
    if (fd >= 0)
        close(fd);
}

static void raw_ep_init(struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    memset(e, 0, sizeof *e);
    e->rfd = e->wfd = e->cfd = e->free_rfd = e->free_wfd = e->epfd = -1;
    e->mq_r = e->mq_w = (mqd_t)-1;
    e->msq_r = e->msq_w = -1;
}

/* Reads one number from a /proc file: 0, or -errno. */
static int raw_read_long(const char *path, long *v)
{
    FILE *f = fopen(path, "re");
    int ok;
    if (f == NULL)
        return -errno;
    ok = fscanf(f, "%ld", v) == 1;
    fclose(f);
    return ok ? 0 : -EINVAL;
}

/* --- The data path, written once for every raw mechanism. ---------------- */

/* Byte streams: a write loop, and a read loop until the whole message is in. */
static int raw_send(struct mech_ep *ep, const void *buf)
{
    const char *p = buf;
    size_t left = ep->msg_size;
    int fd = raw_ep_of(ep)->wfd;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

/* Reads len bytes from a byte stream, in as many reads as it takes. */
static int fd_read_full(int fd, void *buf, size_t len)
{
    char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t n = read(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EPIPE;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

static int raw_recv(struct mech_ep *ep, void *buf)
{
    return fd_read_full(raw_ep_of(ep)->rfd, buf, ep->msg_size);
}

/* Datagrams: one send(2) per message, whole or not at all. */
static int fd_msg_send(int fd, const void *buf, size_t len)
{
    ssize_t n;
    do
        n = send(fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EMSGSIZE;
}

/*
 * One recv(2) per message; MSG_TRUNC makes it return the datagram's real
 * length, so one of another size is an error rather than a silent cut. 0 is
 * the peer's end (seqpacket): no message here is empty.
 */
static int fd_msg_recv(int fd, void *buf, size_t len)
{
    ssize_t n;
    do
        n = recv(fd, buf, len, MSG_TRUNC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    return (size_t)n == len ? 0 : -EMSGSIZE;
}

static int raw_msg_send(struct mech_ep *ep, const void *buf)
{
    return fd_msg_send(raw_ep_of(ep)->wfd, buf, ep->msg_size);
}

static int raw_msg_recv(struct mech_ep *ep, void *buf)
{
    return fd_msg_recv(raw_ep_of(ep)->rfd, buf, ep->msg_size);
}

/* Closes what open or connect gave this endpoint (the fd kinds, a many-party consumer's too). */
static void raw_close(struct mech_ep *ep)
{
    struct raw_ep *r = raw_ep_of(ep);
    if (r->wfd != r->rfd)
        raw_close_fd(r->wfd);
    raw_close_fd(r->rfd);
    for (unsigned i = 0; i < r->nconn; i++)
        raw_close_fd(r->conn[i]);
    raw_close_fd(r->epfd);
    r->rfd = r->wfd = r->epfd = -1;
    r->nconn = r->nready = r->iready = 0;
}

/* --- Credits (raw-udp, raw-signal), written once over two small hooks. --- */

/* Takes the peer's next credit (its count of messages taken): 0, -EAGAIN if none and !block. */
typedef int (*raw_credit_take_fn)(struct mech_ep *ep, int block, uint64_t *count);
/* Sends the peer a credit carrying this side's count of messages taken. */
typedef int (*raw_credit_give_fn)(struct mech_ep *ep, uint64_t count);

static void credit_init(struct mech_ep *ep, unsigned window)
{
    struct raw_credit *c = &raw_ep_of(ep)->credit;
    memset(c, 0, sizeof *c);
    c->window = window > 0 ? window : 1;
    c->every = c->window / 2 > 0 ? c->window / 2 : 1;
}

static int credit_learn(struct raw_credit *c, uint64_t count)
{
    if (count > c->sent)
        return -EPROTO; /* the peer took more than was sent */
    if (count > c->acked)
        c->acked = count;
    return 0;
}

/*
 * Before a send: once half a window is unconfirmed, takes the credits already
 * there without waiting (so they never pile up unread), then waits while a
 * whole window is unconfirmed.
 */
static int credit_before_send(struct mech_ep *ep, raw_credit_take_fn take)
{
    struct raw_credit *c = &raw_ep_of(ep)->credit;
    uint64_t count;
    int rc;
    if (c->sent - c->acked >= c->every) {
        while ((rc = take(ep, 0, &count)) == 0)
            if ((rc = credit_learn(c, count)) < 0)
                return rc;
        if (rc != -EAGAIN)
            return rc;
    }
    while (c->sent - c->acked >= c->window) {
        rc = take(ep, 1, &count);
        if (rc == 0)
            rc = credit_learn(c, count);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* After a receive: a credit back every `every` messages. */
static int credit_after_recv(struct mech_ep *ep, raw_credit_give_fn give)
{
    struct raw_credit *c = &raw_ep_of(ep)->credit;
    c->taken++;
    return c->taken % c->every == 0 ? give(ep, c->taken) : 0;
}

/* --- raw-pipe, raw-seqpacket, raw-dgram: two channels made before fork. --- */

static int pipe_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    if (pipe(r->p2c) < 0)
        return -errno;
    if (pipe(r->c2p) < 0) {
        int e = -errno;
        close(r->p2c[0]);
        close(r->p2c[1]);
        return e;
    }
    return 0;
}

/*
 * An AF_UNIX datagram must fit its sender's buffer whole. When the default
 * buffer holds fewer than two messages, SO_SNDBUF is raised (the kernel
 * doubles what is asked, up to net.core.wmem_max); dgram_unavailable() has
 * ruled out messages that cannot fit at all.
 */
static int sock_fit_sndbuf(int fd, size_t msg_size)
{
    size_t want = 2 * (msg_size + 4096);
    int cur, ask = want / 2 > INT_MAX ? INT_MAX : (int)(want / 2);
    socklen_t len = sizeof cur;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &len) < 0)
        return -errno;
    if (cur >= 0 && (size_t)cur >= want)
        return 0;
    return setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &ask, sizeof ask) < 0 ? -errno : 0;
}

/* Two socketpairs, one per direction, as raw-unix has two connections. */
static int sockpair_setup(struct mech_setup *s, int type)
{
    struct raw_setup *r = raw_setup_of(s);
    int rc;
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, r->p2c) < 0)
        return -errno;
    if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, r->c2p) < 0) {
        rc = -errno;
        close(r->p2c[0]);
        close(r->p2c[1]);
        return rc;
    }
    rc = sock_fit_sndbuf(r->p2c[1], s->msg_size);
    if (rc == 0)
        rc = sock_fit_sndbuf(r->c2p[1], s->msg_size);
    if (rc < 0)
        for (int i = 0; i < 2; i++) {
            close(r->p2c[i]);
            close(r->c2p[i]);
        }
    return rc;
}

static int seqpacket_setup(struct mech_setup *s)
{
    return sockpair_setup(s, SOCK_SEQPACKET);
}

static int dgram_setup(struct mech_setup *s)
{
    return sockpair_setup(s, SOCK_DGRAM);
}

/* Keeps this side's two ends and closes the peer's, so a dead peer reads as the end. */
static int pair_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    raw_ep_init(ep);
    if (ep->side == SIDE_PARENT) {
        e->wfd = r->p2c[1];
        e->rfd = r->c2p[0];
        close(r->p2c[0]);
        close(r->c2p[1]);
    } else {
        e->wfd = r->c2p[1];
        e->rfd = r->p2c[0];
        close(r->c2p[0]);
        close(r->p2c[1]);
    }
    return 0;
}

/*
 * Many-party raw-pipe and raw-fifo: every producer writes whole messages to
 * one pipe and every consumer reads them from it. A write of at most PIPE_BUF
 * bytes is atomic, so several writers' messages never interleave; a larger
 * one may be split around another writer's.
 */
static const char *pipe_many_unavailable(const struct mech_setup *s)
{
    static char why[200];
    if (s->msg_size <= PIPE_BUF)
        return NULL;
    snprintf(why, sizeof why,
             "a pipe keeps a write whole only up to PIPE_BUF (%d bytes): larger messages from "
             "several writers would interleave",
             PIPE_BUF);
    return why;
}

/*
 * A consumer of a pipe several processes write to: one read per message,
 * which must return exactly one. Linux (fs/pipe.c) puts a write of at most
 * PIPE_BUF bytes whole into one buffer page, appended to the last page only
 * if it fits there whole, and a read takes at most what it asks from the page
 * at the tail, under the pipe's lock; so when every write and every read is
 * of msg_size bytes, each page holds whole messages and each read returns one
 * whole write, even with several readers. A short read would mean a kernel
 * that no longer does this: it is an error, never a message pieced together
 * from two writes.
 */
static int pipe_many_recv(struct mech_ep *ep, void *buf)
{
    ssize_t n;
    do
        n = read(raw_ep_of(ep)->rfd, buf, ep->msg_size);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    return (size_t)n == ep->msg_size ? 0 : -EPROTO;
}

/* raw-pipe, raw-fifo: a byte stream between two, whole reads in a many-party consumer. */
static int pipe_recv(struct mech_ep *ep, void *buf)
{
    return ep->role == MECH_CONSUMER ? pipe_many_recv(ep, buf) : raw_recv(ep, buf);
}

/* raw-pipe: one pipe made before the forks; each party keeps the end it uses. */
static int pipe_many_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    r->p2c[0] = r->p2c[1] = -1;
    return pipe2(r->p2c, O_CLOEXEC) < 0 ? -errno : 0;
}

static int pipe_many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    int producer = ep->role == MECH_PRODUCER;
    raw_ep_init(ep);
    if (producer)
        e->wfd = r->p2c[1];
    else
        e->rfd = r->p2c[0];
    close(r->p2c[producer ? 0 : 1]);
    return 0;
}

static void pipe_many_teardown(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    for (int i = 0; i < 2; i++) {
        raw_close_fd(r->p2c[i]);
        r->p2c[i] = -1;
    }
}

/* raw-seqpacket, raw-dgram: sizes no SO_SNDBUF this machine allows can hold. */
static const char *dgram_unavailable(const struct mech_setup *s)
{
    static char why[256];
    long wmem_max;
    if (s == NULL || raw_read_long("/proc/sys/net/core/wmem_max", &wmem_max) < 0 || wmem_max < 0)
        return NULL; /* nothing to say ahead: a refusal would show as a failed cell */
    if (s->msg_size + RAW_UNIX_SLACK <= 2 * (size_t)wmem_max)
        return NULL;
    snprintf(why, sizeof why,
             "an AF_UNIX datagram must fit its sender's SO_SNDBUF: at most %ld bytes here "
             "(2 x net.core.wmem_max = %ld, less %u; raise it with sysctl)",
             2 * wmem_max - (long)RAW_UNIX_SLACK, wmem_max, RAW_UNIX_SLACK);
    return why;
}

/* --- raw-unix and raw-tcp: a listener made before fork, accept/connect after. */

static socklen_t unix_addr(const struct raw_setup *r, struct sockaddr_un *sa)
{
    size_t n = strlen(r->name);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path + 1, r->name, n); /* abstract: leading NUL */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static void tcp_addr(int port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa->sin_port = htons((unsigned short)port);
}

/*
 * The listener of raw-unix, raw-tcp (two-party) and of raw-unix,
 * raw-seqpacket and raw-tcp (many-party): on an abstract AF_UNIX name made
 * from tag, or on 127.0.0.1 at a port the kernel picks (r->port).
 */
static int sock_listen(struct mech_setup *s, int domain, int type, int backlog, const char *tag)
{
    struct raw_setup *r = raw_setup_of(s);
    struct sockaddr_un su;
    struct sockaddr_in si;
    socklen_t len = sizeof si;
    int one = 1, rc = 0;
    r->listen_fd = socket(domain, type | SOCK_CLOEXEC, 0);
    if (r->listen_fd < 0)
        return -errno;
    if (domain == AF_UNIX) {
        mech_name(r->name, sizeof r->name, s, tag);
        len = unix_addr(r, &su);
        if (bind(r->listen_fd, (struct sockaddr *)&su, len) < 0)
            rc = -errno;
    } else {
        (void)setsockopt(r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        tcp_addr(0, &si);
        if (bind(r->listen_fd, (struct sockaddr *)&si, sizeof si) < 0 ||
            getsockname(r->listen_fd, (struct sockaddr *)&si, &len) < 0)
            rc = -errno;
        r->port = ntohs(si.sin_port);
    }
    if (rc == 0 && listen(r->listen_fd, backlog) < 0)
        rc = -errno;
    if (rc < 0) {
        close(r->listen_fd);
        r->listen_fd = -1;
    }
    return rc;
}

static int unix_setup(struct mech_setup *s)
{
    return sock_listen(s, AF_UNIX, SOCK_STREAM, 2, "raw");
}

static int tcp_setup(struct mech_setup *s)
{
    return sock_listen(s, AF_INET, SOCK_STREAM, 2, NULL);
}

/* The child does not accept: it drops its copy of the listener at once. */
static int sock_open(const struct mech_setup *s, struct mech_ep *ep)
{
    raw_ep_init(ep);
    if (ep->side == SIDE_CHILD)
        close(raw_csetup_of(s)->listen_fd);
    return 0;
}

/* TCP_NODELAY on a TCP connection (AF_UNIX: nothing): fd, or -errno with fd closed. */
static int sock_nodelay(int fd, int domain)
{
    int one = 1;
    if (fd >= 0 && domain == AF_INET &&
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

/* Accepts one connection on the setup's listener. Returns the fd or -errno. */
static int sock_accept(const struct raw_setup *r, int domain)
{
    int fd;
    do
        fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return sock_nodelay(fd < 0 ? -errno : fd, domain);
}

/* Connects a new socket of this type to the setup's listener. Returns the fd or -errno. */
static int sock_dial(const struct raw_setup *r, int domain, int type)
{
    struct sockaddr_un su;
    struct sockaddr_in si;
    const struct sockaddr *sa;
    socklen_t len;
    int fd;
    if (domain == AF_UNIX) {
        len = unix_addr(r, &su);
        sa = (const struct sockaddr *)&su;
    } else {
        tcp_addr(r->port, &si);
        len = sizeof si;
        sa = (const struct sockaddr *)&si;
    }
    fd = socket(domain, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, sa, len) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return sock_nodelay(fd, domain);
}

/* One connection: the parent accepts, the child connects. Returns the fd or -errno. */
static int sock_one(const struct raw_setup *r, int side, int domain)
{
    return side == SIDE_PARENT ? sock_accept(r, domain) : sock_dial(r, domain, SOCK_STREAM);
}

/*
 * Two connections, one per direction, as the library's mailboxes use: a
 * stream socket carrying both directions wakes a reader sleeping on it each
 * time its peer consumes data (write-space wake-ups), which would slow the
 * baseline for a reason the library does not share. The child connects
 * child-to-parent first; the listener queues connections in order, so the
 * parent's first accept is that one.
 */
static int sock_connect(const struct mech_setup *s, struct mech_ep *ep, int domain)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    int c2p = sock_one(r, ep->side, domain);
    int p2c = c2p < 0 ? c2p : sock_one(r, ep->side, domain);
    if (ep->side == SIDE_PARENT)
        close(r->listen_fd);
    if (p2c < 0) {
        if (c2p >= 0)
            close(c2p);
        return p2c;
    }
    e->rfd = ep->side == SIDE_PARENT ? c2p : p2c;
    e->wfd = ep->side == SIDE_PARENT ? p2c : c2p;
    return 0;
}

static int unix_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    return sock_connect(s, ep, AF_UNIX);
}

static int tcp_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    return sock_connect(s, ep, AF_INET);
}

/*
 * Many-party raw-unix, raw-seqpacket and raw-tcp (fanin): the bare-syscall
 * form of a stream mailbox with many senders. A listener made before the
 * forks; each producer connects one socket to it; consumer 0 accepts one
 * connection per producer and reads them through epoll: it serves, in turn,
 * every connection one epoll_wait found readable, one whole message from each
 * (a stream connection's other bytes of that message are on their way), then
 * waits again. One connection per producer keeps each producer's messages in
 * order; a connection has one reader, so there is no mpmc.
 */
static const char *sock_many_unavailable(const struct mech_setup *s)
{
    return s->consumers > 1 ? "a connection has one reader, and a producer's messages go down "
                              "one connection (fanin only; mpmc needs several readers)"
                            : NULL;
}

static int unix_many_setup(struct mech_setup *s)
{
    return sock_listen(s, AF_UNIX, SOCK_STREAM, MECH_MANY_MAX_PRODUCERS, "many");
}

static int seqpacket_many_setup(struct mech_setup *s)
{
    return sock_listen(s, AF_UNIX, SOCK_SEQPACKET, MECH_MANY_MAX_PRODUCERS, "many");
}

static int tcp_many_setup(struct mech_setup *s)
{
    return sock_listen(s, AF_INET, SOCK_STREAM, MECH_MANY_MAX_PRODUCERS, NULL);
}

/* Consumer 0 keeps the listener until it has accepted; every other party drops its copy. */
static int sock_many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    raw_ep_init(ep);
    if (ep->role != MECH_CONSUMER || ep->index != 0)
        close(raw_csetup_of(s)->listen_fd);
    return 0;
}

/*
 * A producer connects (the listener's backlog holds every producer, so no
 * connect waits for the accept); consumer 0 accepts one connection per
 * producer, drops the listener and watches them all with one epoll instance.
 */
static int sock_many_connect_as(const struct mech_setup *s, struct mech_ep *ep, int domain,
                                int type)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    int rc = 0;
    if (ep->role == MECH_PRODUCER) {
        int fd = sock_dial(r, domain, type);
        if (fd >= 0 && type == SOCK_SEQPACKET && (rc = sock_fit_sndbuf(fd, ep->msg_size)) < 0)
            close(fd);
        if (fd < 0)
            rc = fd;
        if (rc == 0)
            e->wfd = fd;
        return rc;
    }
    e->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (e->epfd < 0)
        rc = -errno;
    while (rc == 0 && e->nconn < s->producers) {
        struct epoll_event ev;
        int fd = sock_accept(r, domain);
        if (fd < 0) {
            rc = fd;
            break;
        }
        e->conn[e->nconn++] = fd;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
            rc = -errno;
    }
    close(r->listen_fd);
    return rc;
}

static int unix_many_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    return sock_many_connect_as(s, ep, AF_UNIX, SOCK_STREAM);
}

static int seqpacket_many_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    return sock_many_connect_as(s, ep, AF_UNIX, SOCK_SEQPACKET);
}

static int tcp_many_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    return sock_many_connect_as(s, ep, AF_INET, SOCK_STREAM);
}

/* The consumer's next connection to read a message from: 0 and *fd, or -errno. */
static int sock_many_next(struct raw_ep *e, int *fd)
{
    if (e->iready == e->nready) {
        struct epoll_event ev[MECH_MANY_MAX_PRODUCERS];
        int n;
        do
            n = epoll_wait(e->epfd, ev, (int)e->nconn, -1);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return -errno;
        for (int i = 0; i < n; i++)
            e->ready[i] = ev[i].data.fd;
        e->nready = (unsigned)n;
        e->iready = 0;
    }
    *fd = e->ready[e->iready++];
    return 0;
}

/* raw-unix, raw-tcp: the two-party read loop, or a many-party consumer's next message. */
static int stream_recv(struct mech_ep *ep, void *buf)
{
    int fd, rc;
    if (ep->role != MECH_CONSUMER)
        return raw_recv(ep, buf);
    rc = sock_many_next(raw_ep_of(ep), &fd);
    return rc < 0 ? rc : fd_read_full(fd, buf, ep->msg_size);
}

/* raw-seqpacket: one recv per message, on the pair or a many-party consumer's next connection. */
static int seqpacket_recv(struct mech_ep *ep, void *buf)
{
    int fd, rc;
    if (ep->role != MECH_CONSUMER)
        return raw_msg_recv(ep, buf);
    rc = sock_many_next(raw_ep_of(ep), &fd);
    return rc < 0 ? rc : fd_msg_recv(fd, buf, ep->msg_size);
}

/* The parent's copy of the listener (the abstract name goes with its last descriptor). */
static void sock_many_teardown(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    raw_close_fd(r->listen_fd);
    r->listen_fd = -1;
}

/*
 * Many-party raw-dgram (fanin and mpmc): one SOCK_DGRAM socket bound to an
 * abstract name before the forks, which every consumer receives on (the
 * descriptor fork gave it), and one socket per producer connected to that
 * name. The kernel dequeues each datagram for exactly one reader, in the
 * order it was queued, so each producer's messages stay in order at every
 * consumer. A sender blocks while the socket's queue holds
 * net.unix.max_dgram_qlen datagrams (or its own SO_SNDBUF is spent), so
 * nothing is dropped.
 */
static int dgram_many_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    struct sockaddr_un sa;
    socklen_t len;
    r->listen_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (r->listen_fd < 0)
        return -errno;
    mech_name(r->name, sizeof r->name, s, "many");
    len = unix_addr(r, &sa);
    if (bind(r->listen_fd, (struct sockaddr *)&sa, len) < 0) {
        int rc = -errno;
        close(r->listen_fd);
        r->listen_fd = -1;
        return rc;
    }
    return 0;
}

/* Consumers receive on the bound socket; a producer drops it and makes its own. */
static int dgram_many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    int fd, rc;
    raw_ep_init(ep);
    if (ep->role == MECH_CONSUMER) {
        e->rfd = r->listen_fd;
        return 0;
    }
    close(r->listen_fd);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    rc = sock_fit_sndbuf(fd, ep->msg_size);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    e->wfd = fd;
    return 0;
}

static int dgram_many_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    struct sockaddr_un sa;
    socklen_t len = unix_addr(raw_csetup_of(s), &sa);
    if (ep->role != MECH_PRODUCER)
        return 0;
    return connect(raw_ep_of(ep)->wfd, (struct sockaddr *)&sa, len) < 0 ? -errno : 0;
}

/* --- raw-fifo: two FIFOs made before fork, opened after in a fixed order. --- */

static int fifo_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    char name[96];
    mech_name(name, sizeof name, s, "p2c");
    snprintf(r->fifo_p2c, sizeof r->fifo_p2c, "/tmp/%s", name);
    mech_name(name, sizeof name, s, "c2p");
    snprintf(r->fifo_c2p, sizeof r->fifo_c2p, "/tmp/%s", name);
    if (mkfifo(r->fifo_p2c, 0600) < 0)
        return -errno;
    if (mkfifo(r->fifo_c2p, 0600) < 0) {
        int e = -errno;
        unlink(r->fifo_p2c);
        return e;
    }
    return 0;
}

static int fifo_open_path(const char *path, int flags)
{
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

static int fifo_open(const struct mech_setup *s, struct mech_ep *ep)
{
    (void)s;
    raw_ep_init(ep);
    return 0;
}

/*
 * Opening a FIFO blocks until its other end opens; both sides open p2c first,
 * then c2p, so the opens pair up and never deadlock.
 */
static int fifo_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    int parent = ep->side == SIDE_PARENT;
    int fd = fifo_open_path(r->fifo_p2c, parent ? O_WRONLY : O_RDONLY);
    if (fd < 0)
        return fd;
    if (parent)
        e->wfd = fd;
    else
        e->rfd = fd;
    fd = fifo_open_path(r->fifo_c2p, parent ? O_RDONLY : O_WRONLY);
    if (fd < 0)
        return fd;
    if (parent)
        e->rfd = fd;
    else
        e->wfd = fd;
    return 0;
}

static void fifo_teardown(struct mech_setup *s)
{
    unlink(raw_setup_of(s)->fifo_p2c);
    unlink(raw_setup_of(s)->fifo_c2p);
}

/*
 * Many-party raw-fifo (fanin and mpmc): one FIFO, the bare form of a fifo://
 * mailbox. Consumer 0 makes it and opens it O_RDWR (Linux: no wait for a
 * writer, and never the end of the stream while it lives); after the barrier
 * the other consumers open it to read, which does not wait either, and the
 * producers to write. Whole messages as for raw-pipe (pipe_many_recv).
 */
static int fifo_many_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    char name[96];
    mech_name(name, sizeof name, s, "many");
    snprintf(r->fifo_p2c, sizeof r->fifo_p2c, "/tmp/%s", name);
    r->fifo_c2p[0] = '\0';
    return 0;
}

static int fifo_many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    int fd;
    raw_ep_init(ep);
    if (ep->role != MECH_CONSUMER || ep->index != 0)
        return 0;
    if (mkfifo(r->fifo_p2c, 0600) < 0)
        return -errno;
    fd = fifo_open_path(r->fifo_p2c, O_RDWR);
    if (fd < 0)
        return fd;
    e->rfd = fd;
    return 0;
}

static int fifo_many_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    int producer = ep->role == MECH_PRODUCER, fd;
    if (!producer && ep->index == 0)
        return 0;
    fd = fifo_open_path(raw_csetup_of(s)->fifo_p2c, producer ? O_WRONLY : O_RDONLY);
    if (fd < 0)
        return fd;
    if (producer)
        e->wfd = fd;
    else
        e->rfd = fd;
    return 0;
}

/* Also after a failed cell: consumer 0 may have made the FIFO and been killed. */
static void fifo_many_teardown(struct mech_setup *s)
{
    unlink(raw_setup_of(s)->fifo_p2c);
}

/* --- raw-udp: four connected sockets on 127.0.0.1, data and credits. ------- */

static const char *udp_unavailable(const struct mech_setup *s)
{
    static char why[128];
    if (s == NULL || s->msg_size <= RAW_UDP_MAX)
        return NULL;
    snprintf(why, sizeof why,
             "a UDP datagram carries at most %u bytes (65535 less the IP and UDP headers)",
             RAW_UDP_MAX);
    return why;
}

static void udp_teardown(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < 2; k++) {
            raw_close_fd(r->udp[side][k]);
            r->udp[side][k] = -1;
        }
}

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks; its address in *sa. */
static int udp_socket(struct sockaddr_in *sa)
{
    socklen_t len = sizeof *sa;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    tcp_addr(0, sa);
    if (bind(fd, (struct sockaddr *)sa, sizeof *sa) < 0 ||
        getsockname(fd, (struct sockaddr *)sa, &len) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

/*
 * Loopback UDP drops a datagram its receiver has no buffer for instead of
 * blocking the sender, so the window is as many messages as half of each
 * receiver's buffer holds (SO_RCVBUF raised as far as net.core.rmem_max lets
 * it; the kernel may go on charging up to a quarter of it for datagrams
 * already read), each counted at twice its size plus 1 KiB, above what the
 * kernel charges for one, and RAW_WINDOW at most. One message always fits: the
 * kernel takes a datagram into an empty queue whatever its size.
 */
static int udp_window(struct raw_setup *r, size_t msg_size)
{
    size_t cost = 2 * (msg_size + 1024);
    size_t want = RAW_WINDOW * cost; /* the kernel doubles what it is asked */
    int ask = want > INT_MAX ? INT_MAX : (int)want;
    r->window = RAW_WINDOW;
    for (int side = 0; side < 2; side++) {
        int fd = r->udp[side][UDP_DATA], got;
        socklen_t len = sizeof got;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &ask, sizeof ask) < 0 ||
            getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0)
            return -errno;
        size_t fit = got > 0 ? (size_t)got / 2 / cost : 0;
        if (fit < r->window)
            r->window = fit > 0 ? (unsigned)fit : 1;
    }
    return 0;
}

static int udp_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    struct sockaddr_in sa[2][2];
    int rc = 0;
    for (int side = 0; side < 2; side++)
        for (int k = 0; k < 2; k++)
            r->udp[side][k] = -1;
    for (int side = 0; side < 2 && rc == 0; side++)
        for (int k = 0; k < 2 && rc == 0; k++) {
            rc = udp_socket(&sa[side][k]);
            if (rc >= 0) {
                r->udp[side][k] = rc;
                rc = 0;
            }
        }
    for (int side = 0; side < 2 && rc == 0; side++)
        for (int k = 0; k < 2 && rc == 0; k++)
            if (connect(r->udp[side][k], (struct sockaddr *)&sa[1 - side][k], sizeof sa[0][0]) < 0)
                rc = -errno;
    if (rc == 0)
        rc = udp_window(r, s->msg_size);
    if (rc < 0)
        udp_teardown(s);
    return rc;
}

/* Each side uses its own two sockets; the child drops its copies of the parent's. */
static int udp_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    raw_ep_init(ep);
    e->rfd = e->wfd = r->udp[ep->side][UDP_DATA];
    e->cfd = r->udp[ep->side][UDP_CREDIT];
    credit_init(ep, r->window);
    if (ep->side == SIDE_CHILD)
        for (int k = 0; k < 2; k++)
            close(r->udp[SIDE_PARENT][k]);
    return 0;
}

static int udp_take_credit(struct mech_ep *ep, int block, uint64_t *count)
{
    ssize_t n;
    do
        n = recv(raw_ep_of(ep)->cfd, count, sizeof *count, block ? 0 : MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n == (ssize_t)sizeof *count ? 0 : -EPROTO;
}

static int udp_give_credit(struct mech_ep *ep, uint64_t count)
{
    return fd_msg_send(raw_ep_of(ep)->cfd, &count, sizeof count);
}

static int udp_send(struct mech_ep *ep, const void *buf)
{
    int rc = credit_before_send(ep, udp_take_credit);
    if (rc == 0)
        rc = raw_msg_send(ep, buf);
    if (rc == 0)
        raw_ep_of(ep)->credit.sent++;
    return rc;
}

static int udp_recv(struct mech_ep *ep, void *buf)
{
    int rc = raw_msg_recv(ep, buf);
    return rc == 0 ? credit_after_recv(ep, udp_give_credit) : rc;
}

/* The parent's sockets are the setup's (udp_teardown); the child closes its own. */
static void udp_close(struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    if (ep->side == SIDE_CHILD) {
        raw_close_fd(e->rfd);
        raw_close_fd(e->cfd);
    }
    e->rfd = e->wfd = e->cfd = -1;
}

/* --- raw-mq: two POSIX message queues, unlinked as soon as they exist. ------ */

/*
 * The depth of raw-mq's queues for a message size: RAW_MQ_DEPTH, or less when
 * fs.mqueue.msg_max or RLIMIT_MSGQUEUE (charged for both queues, each message
 * its size and the kernel's bookkeeping) allow less; 0, with why filled in,
 * when not even one message fits.
 */
static long mq_depth(size_t msg_size, char *why, size_t cap)
{
    long size_max, msg_max, depth = RAW_MQ_DEPTH;
    struct rlimit rl;
    if (raw_read_long("/proc/sys/fs/mqueue/msgsize_max", &size_max) < 0 ||
        raw_read_long("/proc/sys/fs/mqueue/msg_max", &msg_max) < 0) {
        snprintf(why, cap, "POSIX message queues are not available here (no /proc/sys/fs/mqueue)");
        return 0;
    }
    if (size_max < 0 || msg_size > (size_t)size_max) {
        snprintf(why, cap,
                 "a POSIX queue message is at most %ld bytes here (fs.mqueue.msgsize_max; raise "
                 "it with sysctl)",
                 size_max);
        return 0;
    }
    if (msg_max < depth)
        depth = msg_max;
    if (getrlimit(RLIMIT_MSGQUEUE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rlim_t per = 2 * ((rlim_t)msg_size + RAW_MQ_OVERHEAD);
        if ((rlim_t)depth * per > rl.rlim_cur)
            depth = (long)(rl.rlim_cur / per);
        if (depth < 1) {
            snprintf(why, cap,
                     "RLIMIT_MSGQUEUE (ulimit -q) is %llu bytes, too few for two queues of one "
                     "message of this size",
                     (unsigned long long)rl.rlim_cur);
            return 0;
        }
    }
    return depth;
}

static const char *mq_unavailable(const struct mech_setup *s)
{
    static char why[256];
    if (s == NULL)
        return NULL;
    return mq_depth(s->msg_size, why, sizeof why) > 0 ? NULL : why;
}

static void mq_teardown(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    for (int d = 0; d < 2; d++) {
        if (r->mq[d] != (mqd_t)-1)
            mq_close(r->mq[d]);
        r->mq[d] = (mqd_t)-1;
    }
}

/*
 * Both processes reach the queues through the descriptors fork hands the
 * child, so each name goes as soon as its queue exists: no run, however it
 * ends, leaves a queue behind.
 */
static int mq_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    char why[256], base[64], name[72];
    struct mq_attr attr;
    long depth = mq_depth(s->msg_size, why, sizeof why);
    r->mq[0] = r->mq[1] = (mqd_t)-1;
    if (depth < 1)
        return -EMSGSIZE; /* mq_unavailable() has said why */
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = depth;
    attr.mq_msgsize = (long)s->msg_size;
    for (int d = 0; d < 2; d++) {
        mech_name(base, sizeof base, s, d == SIDE_PARENT ? "mq-p2c" : "mq-c2p");
        snprintf(name, sizeof name, "/%s", base);
        r->mq[d] = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (r->mq[d] == (mqd_t)-1 || mq_unlink(name) < 0) {
            int rc = -errno;
            mq_teardown(s);
            return rc;
        }
    }
    return 0;
}

static int mq_mech_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    raw_ep_init(ep);
    e->mq_w = r->mq[ep->side];
    e->mq_r = r->mq[1 - ep->side];
    return 0;
}

static int mq_mech_send(struct mech_ep *ep, const void *buf)
{
    int rc;
    do
        rc = mq_send(raw_ep_of(ep)->mq_w, buf, ep->msg_size, 0);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

static int mq_mech_recv(struct mech_ep *ep, void *buf)
{
    ssize_t n;
    do
        n = mq_receive(raw_ep_of(ep)->mq_r, buf, ep->msg_size, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return (size_t)n == ep->msg_size ? 0 : -EMSGSIZE;
}

/* The parent's descriptors are the setup's (mq_teardown); the child closes its copies. */
static void mq_mech_close(struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    if (ep->side == SIDE_CHILD) {
        mq_close(e->mq_r);
        mq_close(e->mq_w);
    }
    e->mq_r = e->mq_w = (mqd_t)-1;
}

/*
 * Many-party raw-mq (fanin and mpmc): one queue, made and unlinked before the
 * forks like the two-party ones, as deep as those; every party uses the
 * descriptor fork gave it. The kernel gives each message to one receiver,
 * oldest first within a priority (all are 0 here).
 */
static int mq_many_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    char why[256], base[64], name[72];
    struct mq_attr attr;
    long depth = mq_depth(s->msg_size, why, sizeof why);
    r->mq[0] = r->mq[1] = (mqd_t)-1;
    if (depth < 1)
        return -EMSGSIZE; /* mq_unavailable() has said why */
    memset(&attr, 0, sizeof attr);
    attr.mq_maxmsg = depth;
    attr.mq_msgsize = (long)s->msg_size;
    mech_name(base, sizeof base, s, "mq-many");
    snprintf(name, sizeof name, "/%s", base);
    r->mq[0] = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (r->mq[0] == (mqd_t)-1 || mq_unlink(name) < 0) {
        int rc = -errno;
        mq_teardown(s);
        return rc;
    }
    return 0;
}

static int mq_many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    raw_ep_init(ep);
    if (ep->role == MECH_PRODUCER)
        e->mq_w = raw_csetup_of(s)->mq[0];
    else
        e->mq_r = raw_csetup_of(s)->mq[0];
    return 0;
}

/* --- raw-sysvmq: two System V queues, created private before fork. --------- */

static const char *sysv_unavailable(const struct mech_setup *s)
{
    static char why[256];
    long msgmax, msgmnb;
    if (s == NULL || raw_read_long("/proc/sys/kernel/msgmax", &msgmax) < 0 ||
        raw_read_long("/proc/sys/kernel/msgmnb", &msgmnb) < 0)
        return NULL; /* nothing to say ahead: a refusal would show as a failed cell */
    if (msgmax < 0 || s->msg_size > (size_t)msgmax)
        snprintf(why, sizeof why,
                 "a System V message is at most %ld bytes here (kernel.msgmax; raise it with "
                 "sysctl)",
                 msgmax);
    else if (msgmnb < 0 || s->msg_size > (size_t)msgmnb)
        snprintf(why, sizeof why,
                 "a System V queue holds at most %ld bytes here (kernel.msgmnb; raise it with "
                 "sysctl)",
                 msgmnb);
    else
        return NULL;
    return why;
}

static void sysv_teardown(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    for (int d = 0; d < 2; d++) {
        if (r->msq[d] >= 0)
            (void)msgctl(r->msq[d], IPC_RMID, NULL);
        r->msq[d] = -1;
    }
}

/*
 * IPC_PRIVATE: no key to collide on, and the child knows the ids by fork. A
 * queue cannot be removed before its last use the way a name can be
 * unlinked, so teardown (which follows every successful setup) removes both.
 */
static int sysv_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    r->msq[0] = r->msq[1] = -1;
    for (int d = 0; d < 2; d++) {
        r->msq[d] = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
        if (r->msq[d] < 0) {
            int rc = -errno;
            sysv_teardown(s);
            return rc;
        }
    }
    return 0;
}

/* The API wants the type right before the text: one buffer per endpoint, made here. */
static int sysv_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    raw_ep_init(ep);
    e->msq_w = r->msq[ep->side];
    e->msq_r = r->msq[1 - ep->side];
    e->stage = malloc(offsetof(struct raw_msgbuf, mtext) + ep->msg_size);
    if (e->stage == NULL)
        return -ENOMEM;
    e->stage->mtype = 1;
    return 0;
}

static int sysv_send(struct mech_ep *ep, const void *buf)
{
    struct raw_ep *e = raw_ep_of(ep);
    int rc;
    memcpy(e->stage->mtext, buf, ep->msg_size);
    do
        rc = msgsnd(e->msq_w, e->stage, ep->msg_size, 0);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

static int sysv_recv(struct mech_ep *ep, void *buf)
{
    struct raw_ep *e = raw_ep_of(ep);
    ssize_t n;
    do
        n = msgrcv(e->msq_r, e->stage, ep->msg_size, 0, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if ((size_t)n != ep->msg_size)
        return -EMSGSIZE;
    memcpy(buf, e->stage->mtext, ep->msg_size);
    return 0;
}

/* The queues are the setup's (sysv_teardown); each side frees its buffer. */
static void sysv_close(struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    free(e->stage);
    e->stage = NULL;
    e->msq_r = e->msq_w = -1;
}

/*
 * Many-party raw-sysvmq (fanin and mpmc): one IPC_PRIVATE queue made before
 * the forks, its id known to every party by fork; msgrcv with type 0 takes
 * the oldest message, each for one receiver. many_teardown removes it.
 */
static int sysv_many_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    r->msq[1] = -1;
    r->msq[0] = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    return r->msq[0] < 0 ? -errno : 0;
}

static int sysv_many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    raw_ep_init(ep);
    e->stage = malloc(offsetof(struct raw_msgbuf, mtext) + ep->msg_size);
    if (e->stage == NULL)
        return -ENOMEM;
    e->stage->mtype = 1;
    if (ep->role == MECH_PRODUCER)
        e->msq_w = raw_csetup_of(s)->msq[0];
    else
        e->msq_r = raw_csetup_of(s)->msq[0];
    return 0;
}

/* --- raw-eventfd: a shared slot per direction, eventfd doorbells. ---------- */

static void efd_teardown(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    for (int d = 0; d < 2; d++) {
        raw_close_fd(r->efd_full[d]);
        raw_close_fd(r->efd_free[d]);
        r->efd_full[d] = r->efd_free[d] = -1;
    }
    if (r->map != NULL)
        munmap(r->map, r->map_len);
    r->map = NULL;
}

/*
 * One MAP_SHARED slot per direction (cache-line aligned) and two eventfds per
 * direction: `full`, rung when a message is in the slot, and `free`, rung
 * when the receiver has copied it out (it starts at 1: the slot is empty).
 * The second doorbell is what lets a sender run ahead of its receiver in a
 * stream without overwriting a message not yet read.
 */
static int efd_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    int rc = 0;
    r->slot = (s->msg_size + 63) & ~(size_t)63;
    r->map_len = 2 * r->slot;
    for (int d = 0; d < 2; d++)
        r->efd_full[d] = r->efd_free[d] = -1;
    r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r->map == MAP_FAILED) {
        r->map = NULL;
        return -errno;
    }
    for (int d = 0; d < 2 && rc == 0; d++) {
        r->efd_full[d] = eventfd(0, EFD_CLOEXEC);
        r->efd_free[d] = eventfd(1, EFD_CLOEXEC);
        if (r->efd_full[d] < 0 || r->efd_free[d] < 0)
            rc = -errno;
    }
    if (rc < 0)
        efd_teardown(s);
    return rc;
}

static int efd_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    int out = ep->side, in = 1 - ep->side;
    raw_ep_init(ep);
    e->map = r->map;
    e->map_len = r->map_len;
    e->tx_slot = r->map + (size_t)out * r->slot;
    e->rx_slot = r->map + (size_t)in * r->slot;
    e->wfd = r->efd_full[out];
    e->free_rfd = r->efd_free[out];
    e->rfd = r->efd_full[in];
    e->free_wfd = r->efd_free[in];
    return 0;
}

/* Waits for a doorbell (the counter is 0 or 1 here) and takes it. */
static int efd_wait(int fd)
{
    uint64_t v;
    ssize_t n;
    do
        n = read(fd, &v, sizeof v);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof v ? 0 : -EPROTO;
}

static int efd_ring(int fd)
{
    uint64_t one = 1;
    ssize_t n;
    do
        n = write(fd, &one, sizeof one);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    return n == (ssize_t)sizeof one ? 0 : -EPROTO;
}

/* The eventfd system calls order the copies: each one is a full barrier in the kernel. */
static int efd_send(struct mech_ep *ep, const void *buf)
{
    struct raw_ep *e = raw_ep_of(ep);
    int rc = efd_wait(e->free_rfd);
    if (rc < 0)
        return rc;
    memcpy(e->tx_slot, buf, ep->msg_size);
    return efd_ring(e->wfd);
}

static int efd_recv(struct mech_ep *ep, void *buf)
{
    struct raw_ep *e = raw_ep_of(ep);
    int rc = efd_wait(e->rfd);
    if (rc < 0)
        return rc;
    memcpy(buf, e->rx_slot, ep->msg_size);
    return efd_ring(e->free_wfd);
}

/* The parent's are the setup's (efd_teardown); the child closes and unmaps its copies. */
static void efd_close(struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    if (ep->side == SIDE_CHILD) {
        raw_close_fd(e->rfd);
        raw_close_fd(e->wfd);
        raw_close_fd(e->free_rfd);
        raw_close_fd(e->free_wfd);
        if (e->map != NULL)
            munmap(e->map, e->map_len);
    }
    raw_ep_init(ep);
}

/* --- raw-signal: sigqueue(3) carrying 8 bytes a signal, sigwaitinfo(2). ---- */

static size_t sig_chunks(size_t msg_size)
{
    return (msg_size + RAW_SIG_CHUNK - 1) / RAW_SIG_CHUNK;
}

/*
 * Messages up to RAW_SIG_CHUNKS signals; and RLIMIT_SIGPENDING (per user)
 * must hold what both directions may have queued: a window of messages and
 * the credits.
 */
static const char *sig_unavailable(const struct mech_setup *s)
{
    static char why[256];
    struct rlimit rl;
    size_t need;
    if (s == NULL)
        return NULL;
    if (s->msg_size > RAW_SIG_CHUNKS * RAW_SIG_CHUNK) {
        snprintf(why, sizeof why,
                 "a signal carries at most %zu bytes (union sigval) and raw-signal sends a "
                 "message as at most %u signals: %zu bytes at most",
                 RAW_SIG_CHUNK, RAW_SIG_CHUNKS, RAW_SIG_CHUNKS * RAW_SIG_CHUNK);
        return why;
    }
    need = 2 * (RAW_WINDOW * sig_chunks(s->msg_size) + 2);
    if (getrlimit(RLIMIT_SIGPENDING, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < need) {
        snprintf(why, sizeof why,
                 "RLIMIT_SIGPENDING (ulimit -i) is %llu; raw-signal may queue up to %zu signals",
                 (unsigned long long)rl.rlim_cur, need);
        return why;
    }
    return NULL;
}

/*
 * sigqueue(3) aimed at the peer's main thread (its tid is its pid), not at
 * the process: a process with other threads (those a ZeroMQ, nng or iceoryx
 * cell leaves behind in the parent) that do not block the signal would take
 * it there, and die of its default action. The receiver sees the same
 * siginfo as from sigqueue (SI_QUEUE, our pid, the value).
 */
static int sig_queue(pid_t pid, int signo, union sigval v)
{
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_signo = signo;
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    si.si_uid = getuid();
    si.si_value = v;
    return syscall(SYS_rt_tgsigqueueinfo, pid, pid, signo, &si) < 0 ? -1 : 0;
}

static void sig_set_of(sigset_t *set, int signo)
{
    sigemptyset(set);
    sigaddset(set, signo);
}

/*
 * Both signals are blocked (so they queue until taken with sigwaitinfo)
 * before fork, so the child starts with them blocked too and no signal can
 * arrive unblocked. Teardown undoes it in the parent.
 */
static int sig_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    sigset_t set, old;
    int rc;
    sigemptyset(&set);
    sigaddset(&set, RAW_SIG_DATA);
    sigaddset(&set, RAW_SIG_CREDIT);
    rc = pthread_sigmask(SIG_BLOCK, &set, &old);
    if (rc != 0)
        return -rc;
    r->sig_was_blocked =
        (sigismember(&old, RAW_SIG_DATA) ? 1 : 0) | (sigismember(&old, RAW_SIG_CREDIT) ? 2 : 0);
    return 0;
}

/*
 * After the child has been reaped (teardown follows waitpid): takes what it
 * left queued, then unblocks what setup blocked, so nothing left can be
 * delivered with its default action (which ends the process).
 */
static void sig_teardown(struct mech_setup *s)
{
    const int signo[2] = {RAW_SIG_DATA, RAW_SIG_CREDIT};
    struct raw_setup *r = raw_setup_of(s);
    struct timespec zero = {0, 0};
    sigset_t set;
    for (int i = 0; i < 2; i++) {
        sig_set_of(&set, signo[i]);
        while (sigtimedwait(&set, NULL, &zero) >= 0 || errno == EINTR)
            ;
        if (!(r->sig_was_blocked & (1 << i)))
            pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
}

/* The child knows its peer now; the parent learns it from the child's first signal. */
static int sig_open(const struct mech_setup *s, struct mech_ep *ep)
{
    (void)s;
    raw_ep_init(ep);
    raw_ep_of(ep)->peer = ep->side == SIDE_CHILD ? getppid() : 0;
    credit_init(ep, RAW_WINDOW);
    return 0;
}

/*
 * Takes the next queued signo, waiting or not (-EAGAIN); it must have come
 * from sigqueue() in the peer (when known): anything else is a stray signal.
 */
static int sig_take(struct mech_ep *ep, int signo, const struct timespec *wait, siginfo_t *info)
{
    sigset_t set;
    pid_t peer = raw_ep_of(ep)->peer;
    int got;
    sig_set_of(&set, signo);
    do
        got = wait == NULL ? sigwaitinfo(&set, info) : sigtimedwait(&set, info, wait);
    while (got < 0 && errno == EINTR);
    if (got < 0)
        return errno == EAGAIN ? -EAGAIN : -errno;
    if (info->si_code != SI_QUEUE || (peer != 0 && info->si_pid != peer))
        return -EPROTO;
    return 0;
}

/* The child's hello: one data signal, which tells the parent the child's pid. */
static int sig_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    struct raw_ep *e = raw_ep_of(ep);
    struct timespec wait = {RAW_SIG_HELLO_S, 0};
    siginfo_t info;
    int rc;
    (void)s;
    if (ep->side == SIDE_CHILD) {
        union sigval v;
        memset(&v, 0, sizeof v);
        return sig_queue(e->peer, RAW_SIG_DATA, v) < 0 ? -errno : 0;
    }
    rc = sig_take(ep, RAW_SIG_DATA, &wait, &info);
    if (rc == -EAGAIN)
        return -ETIMEDOUT;
    if (rc == 0)
        e->peer = info.si_pid;
    return rc;
}

static int sig_take_credit(struct mech_ep *ep, int block, uint64_t *count)
{
    static const struct timespec zero = {0, 0};
    siginfo_t info;
    int rc = sig_take(ep, RAW_SIG_CREDIT, block ? NULL : &zero, &info);
    if (rc == 0)
        *count = (uint64_t)(uintptr_t)info.si_value.sival_ptr;
    return rc;
}

static int sig_give_credit(struct mech_ep *ep, uint64_t count)
{
    union sigval v;
    v.sival_ptr = (void *)(uintptr_t)count;
    return sig_queue(raw_ep_of(ep)->peer, RAW_SIG_CREDIT, v) < 0 ? -errno : 0;
}

/* Realtime signals of one number are taken in the order they were sent. */
static int sig_send(struct mech_ep *ep, const void *buf)
{
    struct raw_ep *e = raw_ep_of(ep);
    const unsigned char *p = buf;
    int rc = credit_before_send(ep, sig_take_credit);
    for (size_t off = 0; rc == 0 && off < ep->msg_size; off += RAW_SIG_CHUNK) {
        size_t n = ep->msg_size - off < RAW_SIG_CHUNK ? ep->msg_size - off : RAW_SIG_CHUNK;
        union sigval v;
        memset(&v, 0, sizeof v);
        memcpy(&v, p + off, n);
        if (sig_queue(e->peer, RAW_SIG_DATA, v) < 0)
            rc = -errno; /* EAGAIN: RLIMIT_SIGPENDING reached */
    }
    if (rc == 0)
        e->credit.sent++;
    return rc;
}

static int sig_recv(struct mech_ep *ep, void *buf)
{
    unsigned char *p = buf;
    siginfo_t info;
    for (size_t off = 0; off < ep->msg_size; off += RAW_SIG_CHUNK) {
        size_t n = ep->msg_size - off < RAW_SIG_CHUNK ? ep->msg_size - off : RAW_SIG_CHUNK;
        int rc = sig_take(ep, RAW_SIG_DATA, NULL, &info);
        if (rc < 0)
            return rc;
        memcpy(p + off, &info.si_value, n);
    }
    return credit_after_recv(ep, sig_give_credit);
}

/* Nothing to close: what is left queued is the parent's teardown's to take. */
static void sig_close(struct mech_ep *ep)
{
    raw_ep_init(ep);
}

/* --- Many-party cells these do not run, and why. --------------------------- */

static const char *udp_many_unavailable(const struct mech_setup *s)
{
    (void)s;
    return "loopback UDP drops what a receiver has no buffer for, and raw-udp's credits flow "
           "between two sockets; credits from every consumer to every producer would be a "
           "protocol of its own, not a baseline";
}

static const char *efd_many_unavailable(const struct mech_setup *s)
{
    (void)s;
    return "one shared slot per direction: several producers or consumers would need a shared "
           "ring and its locks, a queue of its own (ipcx-shm is one)";
}

static const char *sig_many_unavailable(const struct mech_setup *s)
{
    (void)s;
    return "a message is several signals, and signals from several senders interleave in the "
           "receiver's queue; its credits flow between two processes";
}

/* --- The tables. ------------------------------------------------------------ */

const struct mech mech_raw_pipe = {
    .name = "raw-pipe",
    .what = "two pipe(2)s, blocking write/read loops",
    .setup = pipe_setup,
    .open = pair_open,
    .connect = NULL,
    .send = raw_send,
    .recv = pipe_recv,
    .close = raw_close,
    .teardown = NULL,
    .many_what = "one pipe(2) made before the forks; a consumer reads one whole message a read",
    .many_unavailable = pipe_many_unavailable,
    .many_setup = pipe_many_setup,
    .many_open = pipe_many_open,
    .many_connect = NULL,
    .many_teardown = pipe_many_teardown,
};

const struct mech mech_raw_unix = {
    .name = "raw-unix",
    .what = "AF_UNIX stream, abstract listen/connect, a connection per direction",
    .setup = unix_setup,
    .open = sock_open,
    .connect = unix_connect,
    .send = raw_send,
    .recv = stream_recv,
    .close = raw_close,
    .teardown = NULL,
    .many_what =
        "a listener made before the forks; consumer 0 accepts one connection per producer, "
        "epoll over them",
    .many_unavailable = sock_many_unavailable,
    .many_setup = unix_many_setup,
    .many_open = sock_many_open,
    .many_connect = unix_many_connect,
    .many_teardown = sock_many_teardown,
};

const struct mech mech_raw_seqpacket = {
    .name = "raw-seqpacket",
    .what = "AF_UNIX SOCK_SEQPACKET, a socketpair per direction, one send/recv per message",
    .unavailable = dgram_unavailable,
    .setup = seqpacket_setup,
    .open = pair_open,
    .connect = NULL,
    .send = raw_msg_send,
    .recv = seqpacket_recv,
    .close = raw_close,
    .teardown = NULL,
    .many_what = "a SOCK_SEQPACKET listener made before the forks; consumer 0 accepts one "
                 "connection per producer, epoll over them",
    .many_unavailable = sock_many_unavailable,
    .many_setup = seqpacket_many_setup,
    .many_open = sock_many_open,
    .many_connect = seqpacket_many_connect,
    .many_teardown = sock_many_teardown,
};

const struct mech mech_raw_dgram = {
    .name = "raw-dgram",
    .what = "AF_UNIX SOCK_DGRAM, a socketpair per direction, one send/recv per message",
    .unavailable = dgram_unavailable,
    .setup = dgram_setup,
    .open = pair_open,
    .connect = NULL,
    .send = raw_msg_send,
    .recv = raw_msg_recv,
    .close = raw_close,
    .teardown = NULL,
    .many_what = "one SOCK_DGRAM socket bound before the forks, shared by the consumers; one per "
                 "producer connected to it",
    .many_setup = dgram_many_setup,
    .many_open = dgram_many_open,
    .many_connect = dgram_many_connect,
    .many_teardown = sock_many_teardown,
};

const struct mech mech_raw_tcp = {
    .name = "raw-tcp",
    .what = "TCP on 127.0.0.1, TCP_NODELAY, a connection per direction",
    .setup = tcp_setup,
    .open = sock_open,
    .connect = tcp_connect,
    .send = raw_send,
    .recv = stream_recv,
    .close = raw_close,
    .teardown = NULL,
    .many_what =
        "a listener made before the forks; consumer 0 accepts one connection per producer, "
        "epoll over them",
    .many_unavailable = sock_many_unavailable,
    .many_setup = tcp_many_setup,
    .many_open = sock_many_open,
    .many_connect = tcp_many_connect,
    .many_teardown = sock_many_teardown,
};

const struct mech mech_raw_udp = {
    .name = "raw-udp",
    .what = "UDP on 127.0.0.1, a datagram per message; a credit datagram back every half "
            "window (loopback drops, never blocks)",
    .unavailable = udp_unavailable,
    .setup = udp_setup,
    .open = udp_open,
    .connect = NULL,
    .send = udp_send,
    .recv = udp_recv,
    .close = udp_close,
    .teardown = udp_teardown,
    .many_unavailable = udp_many_unavailable,
};

const struct mech mech_raw_fifo = {
    .name = "raw-fifo",
    .what = "two mkfifo(3) FIFOs, blocking write/read loops",
    .setup = fifo_setup,
    .open = fifo_open,
    .connect = fifo_connect,
    .send = raw_send,
    .recv = pipe_recv,
    .close = raw_close,
    .teardown = fifo_teardown,
    .many_what = "one FIFO, made and opened O_RDWR by consumer 0, opened by the others; a consumer "
                 "reads one whole message a read",
    .many_unavailable = pipe_many_unavailable,
    .many_setup = fifo_many_setup,
    .many_open = fifo_many_open,
    .many_connect = fifo_many_connect,
    .many_teardown = fifo_many_teardown,
};

const struct mech mech_raw_mq = {
    .name = "raw-mq",
    .what = "two POSIX message queues (mq_send/mq_receive), up to 8 deep, unlinked once open",
    .unavailable = mq_unavailable,
    .setup = mq_setup,
    .open = mq_mech_open,
    .connect = NULL,
    .send = mq_mech_send,
    .recv = mq_mech_recv,
    .close = mq_mech_close,
    .teardown = mq_teardown,
    .many_what = "one POSIX message queue, made and unlinked before the forks, used by every party",
    .many_setup = mq_many_setup,
    .many_open = mq_many_open,
    .many_connect = NULL,
    .many_teardown = mq_teardown,
};

const struct mech mech_raw_sysvmq = {
    .name = "raw-sysvmq",
    .what = "two System V message queues (msgsnd/msgrcv), copied through an mtype-prefixed buffer",
    .unavailable = sysv_unavailable,
    .setup = sysv_setup,
    .open = sysv_open,
    .connect = NULL,
    .send = sysv_send,
    .recv = sysv_recv,
    .close = sysv_close,
    .teardown = sysv_teardown,
    .many_what = "one System V message queue made before the forks, used by every party",
    .many_setup = sysv_many_setup,
    .many_open = sysv_many_open,
    .many_connect = NULL,
    .many_teardown = sysv_teardown,
};

const struct mech mech_raw_eventfd = {
    .name = "raw-eventfd",
    .baseline = "floor-futex",
    .what = "shared buffer + eventfd doorbell: a MAP_SHARED slot per direction, eventfds for "
            "full and free",
    .setup = efd_setup,
    .open = efd_open,
    .connect = NULL,
    .send = efd_send,
    .recv = efd_recv,
    .close = efd_close,
    .teardown = efd_teardown,
    .many_unavailable = efd_many_unavailable,
};

const struct mech mech_raw_signal = {
    .name = "raw-signal",
    .what = "sigqueue(SIGRTMIN) with 8 bytes a signal (<= 64 B), sigwaitinfo; credits on "
            "SIGRTMIN+1",
    .unavailable = sig_unavailable,
    .setup = sig_setup,
    .open = sig_open,
    .connect = sig_connect,
    .send = sig_send,
    .recv = sig_recv,
    .close = sig_close,
    .teardown = sig_teardown,
    .many_unavailable = sig_many_unavailable,
};
