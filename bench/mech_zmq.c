/*
 * mech_zmq.c: ZeroMQ as a peer to compare ipcx with (zmq-ipc over ipc://,
 * zmq-tcp over tcp:// on loopback). One ZMQ_PAIR socket per process carries
 * both directions, moved with zmq_send/zmq_recv of whole messages, as a
 * ZeroMQ user connecting exactly two processes would write it. Built without
 * libzmq it is still listed and says why it is skipped. It must never tune
 * ZeroMQ beyond what a plain user would (no extra I/O threads, no zero-copy
 * zmq_msg tricks), so its figures are the library as shipped. Many-party
 * cells (fanin, mpmc) use PUSH and PULL, ZeroMQ's pipeline for exactly that:
 * each consumer binds a PULL socket, each producer connects one PUSH socket
 * to every consumer and ZeroMQ deals its messages round robin among them.
 */
#include "mech.h"

#include <stddef.h>

#ifdef IPCX_HAVE_ZMQ

#include <zmq.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/*
 * Messages a socket queues each way before zmq_send blocks. ZMQ_PAIR never
 * drops: at the high-water mark (or with no peer yet) zmq_send blocks until
 * the peer takes some, so a stream cannot lose messages; 1000 is ZeroMQ's
 * default, set explicitly so a changed default cannot change the figures.
 */
#define ZMQ_BENCH_HWM 1000

/* Pre-fork state: the endpoint both sides use, and the ipc path to remove. */
struct zmq_setup {
    char endpoint[160];
    char path[128]; /* zmq-ipc: the socket file; empty for tcp */
};

/* Many-party pre-fork state: one endpoint per consumer, each bound by its PULL socket. */
struct zmq_many_setup {
    char base[128]; /* zmq-ipc: consumer k binds ipc://<base>-<k>; empty for tcp */
    int port[MECH_MANY_MAX_CONSUMERS]; /* zmq-tcp: consumer k binds tcp://127.0.0.1:<port> */
};

/* One process's end: its own context (made after fork) and its PAIR socket. */
struct zmq_ep {
    void *ctx;
    void *sock;
};

_Static_assert(sizeof(struct zmq_setup) <= MECH_STATE_MAX, "zmq_setup too large");
_Static_assert(sizeof(struct zmq_many_setup) <= MECH_STATE_MAX, "zmq_many_setup too large");
_Static_assert(sizeof(struct zmq_ep) <= MECH_STATE_MAX, "zmq_ep too large");

static struct zmq_setup *zmq_setup_of(struct mech_setup *s)
{
    return (struct zmq_setup *)s->u.bytes;
}
static const struct zmq_setup *zmq_csetup_of(const struct mech_setup *s)
{
    return (const struct zmq_setup *)s->u.bytes;
}
static struct zmq_ep *zmq_ep_of(struct mech_ep *ep)
{
    return (struct zmq_ep *)ep->u.bytes;
}

static int zmq_err(void)
{
    return errno > 0 ? -errno : -EIO;
}

static int zmq_ipc_setup(struct mech_setup *s)
{
    struct zmq_setup *z = zmq_setup_of(s);
    char name[96];
    mech_name(name, sizeof name, s, "zmq");
    snprintf(z->path, sizeof z->path, "/tmp/%s", name);
    snprintf(z->endpoint, sizeof z->endpoint, "ipc://%s", z->path);
    return 0;
}

static int zmq_tcp_setup(struct mech_setup *s)
{
    struct zmq_setup *z = zmq_setup_of(s);
    int port;
    int rc = mech_free_tcp_ports(&port, 1);
    if (rc < 0)
        return rc;
    z->path[0] = '\0';
    /* ZeroMQ sets TCP_NODELAY on its TCP connections itself. */
    snprintf(z->endpoint, sizeof z->endpoint, "tcp://127.0.0.1:%d", port);
    return 0;
}

/*
 * One PAIR socket both ways, not one per direction: PAIR is ZeroMQ's socket
 * for exactly two peers and is bidirectional, so this is how it is used. The
 * reason the raw socket baselines use a connection per direction (a reader
 * blocked in read() is woken each time the peer consumes data) does not apply:
 * ZeroMQ's I/O thread reads the socket through epoll, asking only for input
 * while it has nothing to write. The context is made here, after fork, in
 * the process that uses it (a ZeroMQ context must not cross fork); the parent
 * binds before the first barrier, so the child's connect finds it.
 */
static void zmq_mech_close(struct mech_ep *ep);

static int zmq_mech_open(const struct mech_setup *s, struct mech_ep *ep)
{
    struct zmq_ep *e = zmq_ep_of(ep);
    int hwm = ZMQ_BENCH_HWM, linger = 0, rc = 0;
    e->sock = NULL;
    e->ctx = zmq_ctx_new();
    if (e->ctx == NULL)
        return zmq_err();
    e->sock = zmq_socket(e->ctx, ZMQ_PAIR);
    /* Linger 0: at close the workload is over, so nothing worth waiting for is queued. */
    if (e->sock == NULL || zmq_setsockopt(e->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(e->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(e->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        (ep->side == SIDE_PARENT && zmq_bind(e->sock, zmq_csetup_of(s)->endpoint) < 0))
        rc = zmq_err();
    if (rc < 0)
        zmq_mech_close(ep); /* the runner closes only what opened */
    return rc;
}

/* The child connects; ZeroMQ completes it in the background and zmq_send waits for it. */
static int zmq_mech_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    if (ep->side == SIDE_PARENT)
        return 0;
    return zmq_connect(zmq_ep_of(ep)->sock, zmq_csetup_of(s)->endpoint) < 0 ? zmq_err() : 0;
}

static int zmq_mech_send(struct mech_ep *ep, const void *buf)
{
    int n;
    do
        n = zmq_send(zmq_ep_of(ep)->sock, buf, ep->msg_size, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return zmq_err();
    return (size_t)n == ep->msg_size ? 0 : -EIO;
}

/* zmq_recv returns the whole message's length even when it had to truncate: check it. */
static int zmq_mech_recv(struct mech_ep *ep, void *buf)
{
    int n;
    do
        n = zmq_recv(zmq_ep_of(ep)->sock, buf, ep->msg_size, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return zmq_err();
    return (size_t)n == ep->msg_size ? 0 : -EMSGSIZE;
}

static void zmq_mech_close(struct mech_ep *ep)
{
    struct zmq_ep *e = zmq_ep_of(ep);
    if (e->sock != NULL)
        zmq_close(e->sock);
    if (e->ctx != NULL)
        while (zmq_ctx_term(e->ctx) < 0 && errno == EINTR)
            ;
    e->sock = e->ctx = NULL;
}

/* ZeroMQ removes the ipc file when the binding socket closes; this catches a crashed side. */
static void zmq_mech_teardown(struct mech_setup *s)
{
    if (zmq_setup_of(s)->path[0] != '\0')
        unlink(zmq_setup_of(s)->path);
}

/* --- Many-party cells: PUSH and PULL. -------------------------------------------- */

static struct zmq_many_setup *zmq_many_setup_of(struct mech_setup *s)
{
    return (struct zmq_many_setup *)s->u.bytes;
}
static const struct zmq_many_setup *zmq_many_csetup_of(const struct mech_setup *s)
{
    return (const struct zmq_many_setup *)s->u.bytes;
}

/* Consumer k's endpoint. */
static void zmq_many_endpoint(char *buf, size_t cap, const struct mech_setup *s, unsigned k)
{
    const struct zmq_many_setup *z = zmq_many_csetup_of(s);
    if (z->base[0] != '\0')
        snprintf(buf, cap, "ipc://%s-%u", z->base, k);
    else
        snprintf(buf, cap, "tcp://127.0.0.1:%d", z->port[k]);
}

static int zmq_ipc_many_setup(struct mech_setup *s)
{
    char name[96];
    mech_name(name, sizeof name, s, "zmq");
    snprintf(zmq_many_setup_of(s)->base, sizeof zmq_many_setup_of(s)->base, "/tmp/%s", name);
    return 0;
}

static int zmq_tcp_many_setup(struct mech_setup *s)
{
    zmq_many_setup_of(s)->base[0] = '\0';
    return mech_free_tcp_ports(zmq_many_setup_of(s)->port, (int)s->consumers);
}

/*
 * A PULL socket for a consumer, bound to its endpoint, or a PUSH socket for
 * a producer, connected in zmq_many_connect. The same high-water marks and
 * linger as the PAIR sockets: at the mark a PUSH socket blocks (it never
 * drops), and round robin skips a consumer whose queue is full.
 */
static int zmq_many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    struct zmq_ep *e = zmq_ep_of(ep);
    int hwm = ZMQ_BENCH_HWM, linger = 0, rc = 0, consumer = ep->role == MECH_CONSUMER;
    char endpoint[160];
    e->sock = NULL;
    e->ctx = zmq_ctx_new();
    if (e->ctx == NULL)
        return zmq_err();
    e->sock = zmq_socket(e->ctx, consumer ? ZMQ_PULL : ZMQ_PUSH);
    zmq_many_endpoint(endpoint, sizeof endpoint, s, ep->index);
    if (e->sock == NULL ||
        zmq_setsockopt(e->sock, consumer ? ZMQ_RCVHWM : ZMQ_SNDHWM, &hwm, sizeof hwm) < 0 ||
        zmq_setsockopt(e->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        (consumer && zmq_bind(e->sock, endpoint) < 0))
        rc = zmq_err();
    if (rc < 0)
        zmq_mech_close(ep);
    return rc;
}

/* A producer connects to every consumer (in the background: a send waits for a connection). */
static int zmq_many_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    char endpoint[160];
    if (ep->role != MECH_PRODUCER)
        return 0;
    for (unsigned k = 0; k < s->consumers; k++) {
        zmq_many_endpoint(endpoint, sizeof endpoint, s, k);
        if (zmq_connect(zmq_ep_of(ep)->sock, endpoint) < 0)
            return zmq_err();
    }
    return 0;
}

/* ZeroMQ removes the ipc files when the binding sockets close; this catches a crashed side. */
static void zmq_many_teardown(struct mech_setup *s)
{
    const struct zmq_many_setup *z = zmq_many_setup_of(s);
    char path[160];
    for (unsigned k = 0; z->base[0] != '\0' && k < s->consumers; k++) {
        snprintf(path, sizeof path, "%s-%u", z->base, k);
        unlink(path);
    }
}

/* "4.3.4": the version of the headers built against. */
#define ZMQ_STR_(x) #x
#define ZMQ_STR(x)  ZMQ_STR_(x)
#define ZMQ_HEADER_VERSION                                                                         \
    ZMQ_STR(ZMQ_VERSION_MAJOR) "." ZMQ_STR(ZMQ_VERSION_MINOR) "." ZMQ_STR(ZMQ_VERSION_PATCH)

const struct mech mech_zmq_ipc = {
    .name = "zmq-ipc",
    .baseline = "raw-unix",
    .what = "ZeroMQ " ZMQ_HEADER_VERSION " ZMQ_PAIR over ipc:///tmp/..., one socket both ways",
    .setup = zmq_ipc_setup,
    .open = zmq_mech_open,
    .connect = zmq_mech_connect,
    .send = zmq_mech_send,
    .recv = zmq_mech_recv,
    .close = zmq_mech_close,
    .teardown = zmq_mech_teardown,
    .many_what = "a PULL socket bound per consumer, a PUSH socket per producer connected to all",
    .many_setup = zmq_ipc_many_setup,
    .many_open = zmq_many_open,
    .many_connect = zmq_many_connect,
    .many_teardown = zmq_many_teardown,
};

const struct mech mech_zmq_tcp = {
    .name = "zmq-tcp",
    .baseline = "raw-tcp",
    .what =
        "ZeroMQ " ZMQ_HEADER_VERSION " ZMQ_PAIR over tcp://127.0.0.1:port, one socket both ways",
    .setup = zmq_tcp_setup,
    .open = zmq_mech_open,
    .connect = zmq_mech_connect,
    .send = zmq_mech_send,
    .recv = zmq_mech_recv,
    .close = zmq_mech_close,
    .teardown = zmq_mech_teardown,
    .many_what = "a PULL socket bound per consumer, a PUSH socket per producer connected to all",
    .many_setup = zmq_tcp_many_setup,
    .many_open = zmq_many_open,
    .many_connect = zmq_many_connect,
    .many_teardown = zmq_many_teardown,
};

#else /* !IPCX_HAVE_ZMQ */

static const char *zmq_unavailable(const struct mech_setup *s)
{
    (void)s;
    return "libzmq not found at build time (apt-get install libzmq3-dev, then re-run cmake)";
}

const struct mech mech_zmq_ipc = {
    .name = "zmq-ipc",
    .baseline = "raw-unix",
    .what = "ZeroMQ ZMQ_PAIR over ipc:///tmp/..., one socket both ways (not built)",
    .unavailable = zmq_unavailable,
};

const struct mech mech_zmq_tcp = {
    .name = "zmq-tcp",
    .baseline = "raw-tcp",
    .what = "ZeroMQ ZMQ_PAIR over tcp://127.0.0.1:port, one socket both ways (not built)",
    .unavailable = zmq_unavailable,
};

#endif /* IPCX_HAVE_ZMQ */
