/*
 * mech_ipcx.c: the same mechanisms as mech_raw.c, through the library's public
 * API (<ipcx.h> only). "pipe://" is a direct pair made before fork; unix, tcp
 * and fifo are named mailboxes: each process opens a receiver on its own name,
 * then a sender to the peer's, so a round trip uses one mailbox per direction.
 * In many-party cells (fanin, mpmc) every party opens the one mailbox of the
 * cell: consumer 0 creates it as a receiver, producers attach as senders and
 * (shm, whose mailboxes take many receivers) the other consumers as receivers.
 * These must never reach around the API (no fds, no internal headers).
 */
#include "mech.h"

#include <ipcx.h>

#include <stdio.h>
#include <string.h>

/* Pre-fork state: a pair, or the two URLs (index = the side that receives),
 * and the options a mechanism variant adds (shm: spin budget, SPSC). */
struct ipcx_setup {
    ipcx_mailbox *pair[2];
    char url[2][128];
    int64_t spin_ns;
    unsigned flags;
    size_t buffer_size;
};

/*
 * A library endpoint: one mailbox to send on, one to receive on (may be
 * equal), and for a pair the peer's end, held until close (see pair_open).
 */
struct ipcx_ep {
    ipcx_mailbox *tx;
    ipcx_mailbox *rx;
    ipcx_mailbox *peer_end;
};

_Static_assert(sizeof(struct ipcx_setup) <= MECH_STATE_MAX, "ipcx_setup too large");
_Static_assert(sizeof(struct ipcx_ep) <= MECH_STATE_MAX, "ipcx_ep too large");

static struct ipcx_setup *ipcx_setup_of(struct mech_setup *s)
{
    return (struct ipcx_setup *)s->u.bytes;
}
static const struct ipcx_setup *ipcx_csetup_of(const struct mech_setup *s)
{
    return (const struct ipcx_setup *)s->u.bytes;
}
static struct ipcx_ep *ipcx_ep_of(struct mech_ep *ep)
{
    return (struct ipcx_ep *)ep->u.bytes;
}

/* Options for messages of size bytes: the default maximum unless they exceed it. */
static ipcx_opts ipcx_bench_opts(unsigned role, unsigned create, size_t size)
{
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = role;
    o.create = create;
    o.max_msg = size > IPCX_DEFAULT_MAX_MSG ? size : 0;
    return o;
}

/* --- The data path, written once for every library mechanism. ------------- */

static int ipcx_mech_send(struct mech_ep *ep, const void *buf)
{
    return ipcx_send(ipcx_ep_of(ep)->tx, buf, ep->msg_size, IPCX_FOREVER);
}

static int ipcx_mech_recv(struct mech_ep *ep, void *buf)
{
    size_t len = 0;
    int rc = ipcx_recv(ipcx_ep_of(ep)->rx, buf, ep->msg_size, &len, IPCX_FOREVER);
    if (rc < 0)
        return rc;
    return len == ep->msg_size ? 0 : IPCX_EMSGSIZE;
}

static void ipcx_mech_close(struct mech_ep *ep)
{
    struct ipcx_ep *e = ipcx_ep_of(ep);
    if (e->tx != NULL && e->tx != e->rx)
        ipcx_close(e->tx);
    if (e->rx != NULL)
        ipcx_close(e->rx);
    if (e->peer_end != NULL)
        ipcx_close(e->peer_end);
    e->tx = e->rx = e->peer_end = NULL;
}

/* --- ipcx-pipe, ipcx-unixpair: ipcx_pair() before fork, one end per process. */

static int pair_setup_url(struct mech_setup *s, const char *url)
{
    struct ipcx_setup *x = ipcx_setup_of(s);
    ipcx_opts o = ipcx_bench_opts(IPCX_BOTH, IPCX_CREATE, s->msg_size);
    return ipcx_pair(&x->pair[0], &x->pair[1], url, &o);
}

static int pipe_pair_setup(struct mech_setup *s)
{
    return pair_setup_url(s, "pipe://");
}

static int unix_pair_setup(struct mech_setup *s)
{
    return pair_setup_url(s, "unix://");
}

static int pair_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct ipcx_setup *x = ipcx_csetup_of(s);
    struct ipcx_ep *e = ipcx_ep_of(ep);
    /* As a user would: keep one end in each process and close the other. */
    e->tx = e->rx = x->pair[ep->side];
    e->peer_end = NULL;
    ipcx_close(x->pair[1 - ep->side]);
    return 0;
}

/* --- Named mailboxes: receiver on our URL, then sender to the peer's. ------ */

static int named_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct ipcx_setup *x = ipcx_csetup_of(s);
    ipcx_opts o = ipcx_bench_opts(IPCX_RECV, IPCX_CREATE, ep->msg_size);
    struct ipcx_ep *e = ipcx_ep_of(ep);
    e->tx = e->rx = e->peer_end = NULL;
    o.flags = IPCX_F_UNLINK_ON_CLOSE | x->flags;
    o.spin_ns = x->spin_ns;
    o.buffer_size = x->buffer_size;
    return ipcx_open(&e->rx, x->url[ep->side], &o);
}

static int named_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct ipcx_setup *x = ipcx_csetup_of(s);
    ipcx_opts o = ipcx_bench_opts(IPCX_SEND, IPCX_ATTACH, ep->msg_size);
    o.spin_ns = x->spin_ns;
    return ipcx_open(&ipcx_ep_of(ep)->tx, x->url[1 - ep->side], &o);
}

static int unix_setup(struct mech_setup *s)
{
    struct ipcx_setup *x = ipcx_setup_of(s);
    for (int side = 0; side < 2; side++) {
        char name[96];
        mech_name(name, sizeof name, s, side == SIDE_PARENT ? "to-parent" : "to-child");
        snprintf(x->url[side], sizeof x->url[side], "unix://@%s", name);
    }
    return 0;
}

static int tcp_setup(struct mech_setup *s)
{
    struct ipcx_setup *x = ipcx_setup_of(s);
    int port[2];
    int rc = mech_free_tcp_ports(port, 2);
    if (rc < 0)
        return rc;
    for (int side = 0; side < 2; side++)
        snprintf(x->url[side], sizeof x->url[side], "tcp://127.0.0.1:%d", port[side]);
    return 0;
}

static int fifo_setup(struct mech_setup *s)
{
    struct ipcx_setup *x = ipcx_setup_of(s);
    for (int side = 0; side < 2; side++) {
        char name[96];
        mech_name(name, sizeof name, s, side == SIDE_PARENT ? "to-parent" : "to-child");
        snprintf(x->url[side], sizeof x->url[side], "fifo:///tmp/%s", name);
    }
    return 0;
}

/* shm: one mailbox per direction, named after the cell; variants differ in options. */
static int shm_setup_with(struct mech_setup *s, int64_t spin_ns, unsigned flags)
{
    struct ipcx_setup *x = ipcx_setup_of(s);
    for (int side = 0; side < 2; side++) {
        char name[96];
        mech_name(name, sizeof name, s, side == SIDE_PARENT ? "to-parent" : "to-child");
        snprintf(x->url[side], sizeof x->url[side], "shm://%s", name);
    }
    x->spin_ns = spin_ns;
    x->flags = flags;
    return 0;
}

static int shm_spin_setup(struct mech_setup *s)
{
    return shm_setup_with(s, -1, IPCX_F_SPSC);
}

static int shm_sleep_setup(struct mech_setup *s)
{
    return shm_setup_with(s, 1, IPCX_F_SPSC);
}

static int shm_mpmc_setup(struct mech_setup *s)
{
    return shm_setup_with(s, 0, 0);
}

/*
 * Loans: a loan is at most a quarter of the ring, so the ring holds eight messages, and it is
 * 16 MiB at least, the same ring for every size up to 2 MiB, so that the message size is the
 * only thing that changes from cell to cell (with eight messages and 1 MiB at least, the 64 KiB
 * cell had a ring the size of a core's L2 and moved a third of the bytes/s: docs/bench.md).
 */
static int shm_loan_setup(struct mech_setup *s)
{
    int rc = shm_setup_with(s, -1, IPCX_F_SPSC);
    size_t ring = (size_t)16 << 20;
    while (ring < 8 * s->msg_size + 4096)
        ring <<= 1;
    ipcx_setup_of(s)->buffer_size = ring;
    return rc;
}

static int ipcx_mech_loan(struct mech_ep *ep, void **buf)
{
    return ipcx_loan(ipcx_ep_of(ep)->tx, ep->msg_size, buf, IPCX_FOREVER);
}

static int ipcx_mech_commit(struct mech_ep *ep, void *buf)
{
    return ipcx_commit(ipcx_ep_of(ep)->tx, buf, ep->msg_size);
}

static int ipcx_mech_view(struct mech_ep *ep, const void **buf)
{
    size_t len = 0;
    int rc = ipcx_view(ipcx_ep_of(ep)->rx, buf, &len, IPCX_FOREVER);
    if (rc == 0 && len != ep->msg_size) {
        ipcx_release(ipcx_ep_of(ep)->rx, *buf);
        return IPCX_EMSGSIZE;
    }
    return rc;
}

static int ipcx_mech_release(struct mech_ep *ep, const void *buf)
{
    return ipcx_release(ipcx_ep_of(ep)->rx, buf);
}

/* Receivers unlink on close; this only catches names a crashed side left. */
static void named_teardown(struct mech_setup *s)
{
    for (int side = 0; side < 2; side++)
        (void)ipcx_unlink(ipcx_setup_of(s)->url[side]);
}

/* --- Many-party cells: one mailbox, url[0], shared by every party. ---------- */

static const char *pair_many_unavailable(const struct mech_setup *s)
{
    (void)s;
    return "ipcx_pair() makes exactly two ends: no mailbox that several producers can open";
}

/* unix, tcp and fifo mailboxes take many senders but one receiver (docs/transports.md). */
static const char *stream_many_unavailable(const struct mech_setup *s)
{
    return s->consumers > 1 ? "its mailboxes take one receiver (many senders : 1, "
                              "docs/transports.md); mpmc needs several"
                            : NULL;
}

/* url[0] = prefix + the cell's unique name (url[1] unused). */
static void many_url(struct mech_setup *s, const char *prefix)
{
    struct ipcx_setup *x = ipcx_setup_of(s);
    char name[96];
    mech_name(name, sizeof name, s, "many");
    snprintf(x->url[0], sizeof x->url[0], "%s%s", prefix, name);
    x->url[1][0] = '\0';
}

static int unix_many_setup(struct mech_setup *s)
{
    many_url(s, "unix://@");
    return 0;
}

static int fifo_many_setup(struct mech_setup *s)
{
    many_url(s, "fifo:///tmp/");
    return 0;
}

static int tcp_many_setup(struct mech_setup *s)
{
    struct ipcx_setup *x = ipcx_setup_of(s);
    int port;
    int rc = mech_free_tcp_ports(&port, 1);
    if (rc < 0)
        return rc;
    snprintf(x->url[0], sizeof x->url[0], "tcp://127.0.0.1:%d", port);
    x->url[1][0] = '\0';
    return 0;
}

/*
 * shm: one many-to-many mailbox whatever the variant, since IPCX_F_SPSC
 * allows one sender and one receiver; the variants keep their wait policy
 * (spin_ns) and, for loans, their ring size.
 */
static int shm_many_setup_with(struct mech_setup *s, int64_t spin_ns, size_t buffer_size)
{
    struct ipcx_setup *x = ipcx_setup_of(s);
    many_url(s, "shm://");
    x->spin_ns = spin_ns;
    x->flags = 0;
    x->buffer_size = buffer_size;
    return 0;
}

static int shm_spin_many_setup(struct mech_setup *s)
{
    return shm_many_setup_with(s, -1, 0);
}

static int shm_sleep_many_setup(struct mech_setup *s)
{
    return shm_many_setup_with(s, 1, 0);
}

static int shm_mpmc_many_setup(struct mech_setup *s)
{
    return shm_many_setup_with(s, 0, 0);
}

static int shm_loan_many_setup(struct mech_setup *s)
{
    int rc = shm_loan_setup(s); /* its ring size */
    if (rc == 0)
        rc = shm_many_setup_with(s, -1, ipcx_setup_of(s)->buffer_size);
    return rc;
}

/* Consumer 0 creates the mailbox and receives on it; every other party waits for many_connect. */
static int many_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct ipcx_setup *x = ipcx_csetup_of(s);
    struct ipcx_ep *e = ipcx_ep_of(ep);
    ipcx_opts o = ipcx_bench_opts(IPCX_RECV, IPCX_CREATE, ep->msg_size);
    e->tx = e->rx = e->peer_end = NULL;
    if (ep->role != MECH_CONSUMER || ep->index != 0)
        return 0;
    o.flags = IPCX_F_UNLINK_ON_CLOSE | x->flags;
    o.spin_ns = x->spin_ns;
    o.buffer_size = x->buffer_size;
    return ipcx_open(&e->rx, x->url[0], &o);
}

/* Producers attach as senders, the other consumers (shm only) as receivers. */
static int many_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct ipcx_setup *x = ipcx_csetup_of(s);
    struct ipcx_ep *e = ipcx_ep_of(ep);
    int producer = ep->role == MECH_PRODUCER;
    ipcx_opts o = ipcx_bench_opts(producer ? IPCX_SEND : IPCX_RECV, IPCX_ATTACH, ep->msg_size);
    if (!producer && ep->index == 0)
        return 0;
    o.spin_ns = x->spin_ns;
    return ipcx_open(producer ? &e->tx : &e->rx, x->url[0], &o);
}

static void many_teardown(struct mech_setup *s)
{
    (void)ipcx_unlink(ipcx_setup_of(s)->url[0]);
}

/* --- The tables. ------------------------------------------------------------ */

const struct mech mech_ipcx_pipe = {
    .name = "ipcx-pipe",
    .baseline = "raw-pipe",
    .what = "ipcx_pair(\"pipe://\")",
    .setup = pipe_pair_setup,
    .open = pair_open,
    .connect = NULL,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = NULL,
    .many_unavailable = pair_many_unavailable,
};

const struct mech mech_ipcx_unix = {
    .name = "ipcx-unix",
    .baseline = "raw-unix",
    .what = "ipcx_open(\"unix://@...\"), a mailbox per direction",
    .setup = unix_setup,
    .open = named_open,
    .connect = named_connect,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = NULL,
    .many_unavailable = stream_many_unavailable,
    .many_setup = unix_many_setup,
    .many_open = many_open,
    .many_connect = many_connect,
    .many_teardown = many_teardown,
};

const struct mech mech_ipcx_unixpair = {
    .name = "ipcx-upair",
    .baseline = "raw-unix",
    .what = "ipcx_pair(\"unix://\"), one socketpair both ways",
    .setup = unix_pair_setup,
    .open = pair_open,
    .connect = NULL,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = NULL,
    .many_unavailable = pair_many_unavailable,
};

const struct mech mech_ipcx_tcp = {
    .name = "ipcx-tcp",
    .baseline = "raw-tcp",
    .what = "ipcx_open(\"tcp://127.0.0.1:port\"), a mailbox per direction",
    .setup = tcp_setup,
    .open = named_open,
    .connect = named_connect,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = NULL,
    .many_unavailable = stream_many_unavailable,
    .many_setup = tcp_many_setup,
    .many_open = many_open,
    .many_connect = many_connect,
    .many_teardown = many_teardown,
};

const struct mech mech_ipcx_fifo = {
    .name = "ipcx-fifo",
    .baseline = "raw-fifo",
    .what = "ipcx_open(\"fifo:///tmp/...\"), a mailbox per direction",
    .setup = fifo_setup,
    .open = named_open,
    .connect = named_connect,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = named_teardown,
    .many_unavailable = stream_many_unavailable,
    .many_setup = fifo_many_setup,
    .many_open = many_open,
    .many_connect = many_connect,
    .many_teardown = many_teardown,
};

const struct mech mech_ipcx_shm_spin = {
    .name = "ipcx-shm-spin",
    .baseline = "floor-ring",
    .what = "ipcx_open(\"shm://...\"), SPSC, spin only (spin_ns < 0)",
    .flags = MECH_F_SPINS,
    .setup = shm_spin_setup,
    .open = named_open,
    .connect = named_connect,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = named_teardown,
    .many_what = "one many-to-many mailbox (IPCX_F_SPSC takes one sender), spin only",
    .many_setup = shm_spin_many_setup,
    .many_open = many_open,
    .many_connect = many_connect,
    .many_teardown = many_teardown,
};

const struct mech mech_ipcx_shm_sleep = {
    .name = "ipcx-shm-sleep",
    .baseline = "floor-futex",
    .what = "ipcx_open(\"shm://...\"), SPSC, sleeps on a futex at once (spin_ns = 1)",
    .setup = shm_sleep_setup,
    .open = named_open,
    .connect = named_connect,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = named_teardown,
    .many_what = "one many-to-many mailbox (IPCX_F_SPSC takes one sender), sleeps at once",
    .many_setup = shm_sleep_many_setup,
    .many_open = many_open,
    .many_connect = many_connect,
    .many_teardown = many_teardown,
};

const struct mech mech_ipcx_shm = {
    .name = "ipcx-shm",
    .baseline = NULL,
    .what = "ipcx_open(\"shm://...\"), defaults: many-to-many locks, 5 us spin then futex",
    .setup = shm_mpmc_setup,
    .open = named_open,
    .connect = named_connect,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = named_teardown,
    .many_setup = shm_mpmc_many_setup,
    .many_open = many_open,
    .many_connect = many_connect,
    .many_teardown = many_teardown,
};

const struct mech mech_ipcx_shm_loan = {
    .name = "ipcx-shm-loan",
    .baseline = "floor-memcpy",
    .what = "ipcx_loan/commit and ipcx_view/release on shm, SPSC, spin only: zero copy",
    .flags = MECH_F_SPINS,
    .setup = shm_loan_setup,
    .open = named_open,
    .connect = named_connect,
    .send = ipcx_mech_send,
    .recv = ipcx_mech_recv,
    .close = ipcx_mech_close,
    .teardown = named_teardown,
    .loan = ipcx_mech_loan,
    .commit = ipcx_mech_commit,
    .view = ipcx_mech_view,
    .release = ipcx_mech_release,
    .many_what = "loans and views on one many-to-many mailbox, spin only",
    .many_setup = shm_loan_many_setup,
    .many_open = many_open,
    .many_connect = many_connect,
    .many_teardown = many_teardown,
};
