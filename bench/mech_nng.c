/*
 * mech_nng.c: nng (nanomsg-next-gen) as a peer to compare ipcx with: a pair1
 * socket per process over ipc://, carrying both directions, moved with
 * nng_send/nng_recv of whole messages, as an nng user connecting exactly two
 * processes would write it. Built without nng it is still listed and says why
 * it is skipped. It must never tune nng beyond what a plain user would, except
 * lifting the receive size limit so that every size of a run can travel.
 * Many-party cells (fanin, mpmc) use push0 and pull0, nng's pipeline: each
 * consumer listens with a pull0 socket, each producer dials every consumer
 * with one push0 socket, which hands each message to one ready peer.
 */
#include "mech.h"

#include <stddef.h>

#ifdef IPCX_HAVE_NNG

#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

/* Pre-fork state: the URL both sides use and the socket file behind it. */
struct nng_setup {
    char url[160];
    char path[128];
};

/* One process's end: its pair1 socket (made after fork). */
struct nng_ep {
    nng_socket sock;
    int open;
};

_Static_assert(sizeof(struct nng_setup) <= MECH_STATE_MAX, "nng_setup too large");
_Static_assert(sizeof(struct nng_ep) <= MECH_STATE_MAX, "nng_ep too large");

static struct nng_setup *nng_setup_of(struct mech_setup *s)
{
    return (struct nng_setup *)s->u.bytes;
}
static const struct nng_setup *nng_csetup_of(const struct mech_setup *s)
{
    return (const struct nng_setup *)s->u.bytes;
}
static struct nng_ep *nng_ep_of(struct mech_ep *ep)
{
    return (struct nng_ep *)ep->u.bytes;
}

/*
 * nng's own codes as negative errno values, 0 as 0 (system errors carry the
 * errno in their low bits).
 */
static int nng_code(int rv)
{
    if (rv == 0)
        return 0;
    if (rv & NNG_ESYSERR)
        return -(rv & ~NNG_ESYSERR);
    switch (rv) {
    case NNG_EINTR:
        return -EINTR;
    case NNG_ENOMEM:
        return -ENOMEM;
    case NNG_EINVAL:
        return -EINVAL;
    case NNG_ETIMEDOUT:
        return -ETIMEDOUT;
    case NNG_ECONNREFUSED:
        return -ECONNREFUSED;
    case NNG_ECLOSED:
    case NNG_ECONNSHUT:
    case NNG_ECONNRESET:
        return -EPIPE;
    case NNG_EMSGSIZE:
        return -EMSGSIZE;
    case NNG_EADDRINUSE:
        return -EADDRINUSE;
    case NNG_ENOENT:
        return -ENOENT;
    default:
        return -EIO;
    }
}

static int nng_mech_setup(struct mech_setup *s)
{
    struct nng_setup *n = nng_setup_of(s);
    char name[96];
    mech_name(name, sizeof name, s, "nng");
    snprintf(n->path, sizeof n->path, "/tmp/%s", name);
    snprintf(n->url, sizeof n->url, "ipc://%s", n->path);
    return 0;
}

static void nng_mech_close(struct mech_ep *ep);

/*
 * One pair1 socket both ways (pair1, as nng recommends over the older pair0;
 * not polyamorous): the pair protocol is nng's for exactly two peers and is
 * bidirectional. As with ZeroMQ, nng's threads read the socket through a
 * poller, so the write-space wake-ups that make the raw baselines use a
 * connection per direction do not arise. NNG_OPT_RECVMAXSZ defaults to 1 MiB
 * (a larger message closes the connection); 0 lifts it. The parent listens
 * before the first barrier, so the child's dial finds it.
 */
static int nng_mech_open(const struct mech_setup *s, struct mech_ep *ep)
{
    struct nng_ep *e = nng_ep_of(ep);
    int rv;
    e->open = 0;
    rv = nng_pair1_open(&e->sock);
    if (rv != 0)
        return nng_code(rv);
    e->open = 1;
    rv = nng_socket_set_size(e->sock, NNG_OPT_RECVMAXSZ, 0);
    if (rv == 0 && ep->side == SIDE_PARENT)
        rv = nng_listen(e->sock, nng_csetup_of(s)->url, NULL, 0);
    if (rv != 0)
        nng_mech_close(ep); /* the runner closes only what opened */
    return nng_code(rv);
}

/* The child dials, synchronously: when it returns the connection is up. */
static int nng_mech_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    if (ep->side == SIDE_PARENT)
        return 0;
    return nng_code(nng_dial(nng_ep_of(ep)->sock, nng_csetup_of(s)->url, NULL, 0));
}

static int nng_mech_send(struct mech_ep *ep, const void *buf)
{
    int rv;
    do
        rv = nng_send(nng_ep_of(ep)->sock, (void *)buf, ep->msg_size, 0);
    while (rv == NNG_EINTR);
    return nng_code(rv);
}

/* nng_recv copies what fits and sets the length to the whole message's: check it. */
static int nng_mech_recv(struct mech_ep *ep, void *buf)
{
    size_t len;
    int rv;
    do {
        len = ep->msg_size;
        rv = nng_recv(nng_ep_of(ep)->sock, buf, &len, 0);
    } while (rv == NNG_EINTR);
    if (rv != 0)
        return nng_code(rv);
    return len == ep->msg_size ? 0 : -EMSGSIZE;
}

static void nng_mech_close(struct mech_ep *ep)
{
    struct nng_ep *e = nng_ep_of(ep);
    if (e->open)
        nng_close(e->sock);
    e->open = 0;
}

/* nng removes the ipc file when the listener closes; this catches a crashed side. */
static void nng_mech_teardown(struct mech_setup *s)
{
    unlink(nng_setup_of(s)->path);
}

/* --- Many-party cells: push0 and pull0. --------------------------------------------- */

/* Consumer k listens on ipc://<path>-<k> (the setup's path is the base of the names). */
static void nng_many_url(char *buf, size_t cap, const struct mech_setup *s, unsigned k)
{
    snprintf(buf, cap, "ipc://%s-%u", nng_csetup_of(s)->path, k);
}

/* A pull0 socket listening for a consumer (no receive size limit), or a push0 for a producer. */
static int nng_many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    struct nng_ep *e = nng_ep_of(ep);
    char url[160];
    int rv, consumer = ep->role == MECH_CONSUMER;
    e->open = 0;
    rv = consumer ? nng_pull0_open(&e->sock) : nng_push0_open(&e->sock);
    if (rv != 0)
        return nng_code(rv);
    e->open = 1;
    if (consumer) {
        nng_many_url(url, sizeof url, s, ep->index);
        rv = nng_socket_set_size(e->sock, NNG_OPT_RECVMAXSZ, 0);
        if (rv == 0)
            rv = nng_listen(e->sock, url, NULL, 0);
    }
    if (rv != 0)
        nng_mech_close(ep);
    return nng_code(rv);
}

/* A producer dials every consumer, synchronously. */
static int nng_many_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    char url[160];
    if (ep->role != MECH_PRODUCER)
        return 0;
    for (unsigned k = 0; k < s->consumers; k++) {
        int rv;
        nng_many_url(url, sizeof url, s, k);
        rv = nng_dial(nng_ep_of(ep)->sock, url, NULL, 0);
        if (rv != 0)
            return nng_code(rv);
    }
    return 0;
}

/* nng removes the ipc files when the listeners close; this catches a crashed side. */
static void nng_many_teardown(struct mech_setup *s)
{
    char path[160];
    for (unsigned k = 0; k < s->consumers; k++) {
        snprintf(path, sizeof path, "%s-%u", nng_setup_of(s)->path, k);
        unlink(path);
    }
}

/* "1.5.2": the version of the headers built against. */
#define NNG_STR_(x) #x
#define NNG_STR(x)  NNG_STR_(x)
#define NNG_HEADER_VERSION                                                                         \
    NNG_STR(NNG_MAJOR_VERSION) "." NNG_STR(NNG_MINOR_VERSION) "." NNG_STR(NNG_PATCH_VERSION)

const struct mech mech_nng_ipc = {
    .name = "nng-ipc",
    .baseline = "raw-unix",
    .what = "nng " NNG_HEADER_VERSION " pair1 over ipc:///tmp/..., one socket both ways",
    /* nng's threads, started in a process by its first socket, do not survive fork. */
    .flags = MECH_F_FRESH_CHILD,
    .setup = nng_mech_setup,
    .open = nng_mech_open,
    .connect = nng_mech_connect,
    .send = nng_mech_send,
    .recv = nng_mech_recv,
    .close = nng_mech_close,
    .teardown = nng_mech_teardown,
    .many_what = "a pull0 socket listening per consumer, a push0 socket per producer dialling all",
    .many_setup = nng_mech_setup,
    .many_open = nng_many_open,
    .many_connect = nng_many_connect,
    .many_teardown = nng_many_teardown,
};

#else /* !IPCX_HAVE_NNG */

static const char *nng_unavailable(const struct mech_setup *s)
{
    (void)s;
    return "nng not found at build time (apt-get install libnng-dev, then re-run cmake)";
}

const struct mech mech_nng_ipc = {
    .name = "nng-ipc",
    .baseline = "raw-unix",
    .what = "nng pair1 over ipc:///tmp/..., one socket both ways (not built)",
    .unavailable = nng_unavailable,
};

#endif /* IPCX_HAVE_NNG */
