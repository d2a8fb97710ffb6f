/*
 * mech_raw.c: the raw-syscall baselines (pipe, UNIX stream socket, TCP over
 * loopback, FIFO). Each moves a fixed-size message with a plain write loop and
 * a read loop that runs until the whole message has arrived: no framing, no
 * allocation, nothing the library could be doing that these do not, so the
 * ipcx mechanisms have an honest floor. These must never use the library.
 */
#include "mech.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Pre-fork state of every raw mechanism; each uses the fields it needs. */
struct raw_setup {
    int pipe_p2c[2];    /* raw-pipe: parent -> child */
    int pipe_c2p[2];    /* raw-pipe: child -> parent */
    int listen_fd;      /* raw-unix, raw-tcp: the parent's listener */
    int port;           /* raw-tcp */
    char name[108];     /* raw-unix: abstract name (without the NUL) */
    char fifo_p2c[108]; /* raw-fifo paths */
    char fifo_c2p[108];
};

/* A raw endpoint: the fd it reads from and the fd it writes to (may be equal). */
struct raw_ep {
    int rfd;
    int wfd;
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

/* --- The data path, written once for every raw mechanism. ---------------- */

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

static int raw_recv(struct mech_ep *ep, void *buf)
{
    char *p = buf;
    size_t left = ep->msg_size;
    int fd = raw_ep_of(ep)->rfd;
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

static void raw_close(struct mech_ep *ep)
{
    struct raw_ep *r = raw_ep_of(ep);
    if (r->wfd != r->rfd)
        raw_close_fd(r->wfd);
    raw_close_fd(r->rfd);
    r->rfd = r->wfd = -1;
}

static void raw_ep_init(struct mech_ep *ep)
{
    raw_ep_of(ep)->rfd = -1;
    raw_ep_of(ep)->wfd = -1;
}

/* --- raw-pipe: two pipe(2)s made before fork. ----------------------------- */

static int pipe_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    if (pipe(r->pipe_p2c) < 0)
        return -errno;
    if (pipe(r->pipe_c2p) < 0) {
        int e = -errno;
        close(r->pipe_p2c[0]);
        close(r->pipe_p2c[1]);
        return e;
    }
    return 0;
}

static int pipe_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct raw_setup *r = raw_csetup_of(s);
    struct raw_ep *e = raw_ep_of(ep);
    if (ep->side == SIDE_PARENT) {
        e->wfd = r->pipe_p2c[1];
        e->rfd = r->pipe_c2p[0];
        close(r->pipe_p2c[0]);
        close(r->pipe_c2p[1]);
    } else {
        e->wfd = r->pipe_c2p[1];
        e->rfd = r->pipe_p2c[0];
        close(r->pipe_c2p[0]);
        close(r->pipe_p2c[1]);
    }
    return 0;
}

/* --- raw-unix and raw-tcp: a listener made before fork, accept/connect after. */

static int sock_listen(struct raw_setup *r, int domain, const struct sockaddr *sa, socklen_t len)
{
    int one = 1;
    r->listen_fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (r->listen_fd < 0)
        return -errno;
    if (domain == AF_INET)
        (void)setsockopt(r->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(r->listen_fd, sa, len) < 0 || listen(r->listen_fd, 2) < 0) {
        int e = -errno;
        close(r->listen_fd);
        r->listen_fd = -1;
        return e;
    }
    return 0;
}

static socklen_t unix_addr(const struct raw_setup *r, struct sockaddr_un *sa)
{
    size_t n = strlen(r->name);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path + 1, r->name, n); /* abstract: leading NUL */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

static int unix_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    struct sockaddr_un sa;
    mech_name(r->name, sizeof r->name, s, "raw");
    socklen_t len = unix_addr(r, &sa);
    return sock_listen(r, AF_UNIX, (struct sockaddr *)&sa, len);
}

static void tcp_addr(int port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa->sin_port = htons((unsigned short)port);
}

static int tcp_setup(struct mech_setup *s)
{
    struct raw_setup *r = raw_setup_of(s);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    int rc;
    tcp_addr(0, &sa);
    rc = sock_listen(r, AF_INET, (struct sockaddr *)&sa, sizeof sa);
    if (rc < 0)
        return rc;
    if (getsockname(r->listen_fd, (struct sockaddr *)&sa, &len) < 0) {
        rc = -errno;
        close(r->listen_fd);
        return rc;
    }
    r->port = ntohs(sa.sin_port);
    return 0;
}

/* The child does not accept: it drops its copy of the listener at once. */
static int sock_open(const struct mech_setup *s, struct mech_ep *ep)
{
    raw_ep_init(ep);
    if (ep->side == SIDE_CHILD)
        close(raw_csetup_of(s)->listen_fd);
    return 0;
}

/* One connection: the parent accepts, the child connects. Returns the fd or -errno. */
static int sock_one(const struct raw_setup *r, int side, int domain)
{
    int fd;
    if (side == SIDE_PARENT) {
        do
            fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0)
            return -errno;
    } else {
        struct sockaddr_un su;
        struct sockaddr_in si;
        const struct sockaddr *sa;
        socklen_t len;
        if (domain == AF_UNIX) {
            len = unix_addr(r, &su);
            sa = (const struct sockaddr *)&su;
        } else {
            tcp_addr(r->port, &si);
            len = sizeof si;
            sa = (const struct sockaddr *)&si;
        }
        fd = socket(domain, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, sa, len) < 0) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    if (domain == AF_INET) {
        int one = 1;
        if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    return fd;
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

/* --- The tables. ------------------------------------------------------------ */

const struct mech mech_raw_pipe = {
    .name = "raw-pipe",
    .what = "two pipe(2)s, blocking write/read loops",
    .setup = pipe_setup,
    .open = pipe_open,
    .connect = NULL,
    .send = raw_send,
    .recv = raw_recv,
    .close = raw_close,
    .teardown = NULL,
};

const struct mech mech_raw_unix = {
    .name = "raw-unix",
    .what = "AF_UNIX stream, abstract listen/connect, a connection per direction",
    .setup = unix_setup,
    .open = sock_open,
    .connect = unix_connect,
    .send = raw_send,
    .recv = raw_recv,
    .close = raw_close,
    .teardown = NULL,
};

const struct mech mech_raw_tcp = {
    .name = "raw-tcp",
    .what = "TCP on 127.0.0.1, TCP_NODELAY, a connection per direction",
    .setup = tcp_setup,
    .open = sock_open,
    .connect = tcp_connect,
    .send = raw_send,
    .recv = raw_recv,
    .close = raw_close,
    .teardown = NULL,
};

const struct mech mech_raw_fifo = {
    .name = "raw-fifo",
    .what = "two mkfifo(3) FIFOs, blocking write/read loops",
    .setup = fifo_setup,
    .open = fifo_open,
    .connect = fifo_connect,
    .send = raw_send,
    .recv = raw_recv,
    .close = raw_close,
    .teardown = fifo_teardown,
};
