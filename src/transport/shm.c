/*
 * shm.c: the shm:// transport: "shm://name" names a POSIX shared-memory
 * mailbox (/dev/shm/ipcx.name) carried by the engine in src/shm, and
 * ipcx_pair("shm://") makes two endpoints joined by two anonymous rings.
 * This file only maps options to the segment's geometry and the engine to
 * the ops table; it must never touch the segment's bytes itself.
 */
#include <stdio.h>
#include <string.h>

#include "shm/ring.h"
#include "shm/segment.h"
#include "transport/transport.h"

#define SHM_SPIN_DEFAULT (5 * IPCX_USEC) /* MEASURED.md: ~5 us of spinning hides most wake-ups */

/* A named endpoint uses ring[0] both ways; a pair end sends on ring[0] and receives on ring[1]. */
struct shm_ep {
    struct ipcx__ep base;
    struct shm_ring *rx; /* &ring[pair]: set by open and pair */
    struct shm_ring ring[2];
    int pair;
};

static struct shm_ring *tx_of(struct ipcx__ep *ep)
{
    return &((struct shm_ep *)ep)->ring[0];
}

static struct shm_ring *rx_of(struct ipcx__ep *ep)
{
    return ((struct shm_ep *)ep)->rx;
}

static struct shm_geom geom_of(const ipcx_opts *o)
{
    struct shm_geom g = {
        .ring_size = o->buffer_size,
        .max_msg = o->max_msg,
        .flags = ((o->flags & IPCX_F_UNLINK_ON_CLOSE) ? SHM_F_UNLINK_LAST : 0u) |
                 ((o->flags & IPCX_F_SPSC) ? SHM_F_SPSC : 0u) |
                 (o->on_full == IPCX_FULL_OVERWRITE ? SHM_F_OVERWRITE : 0u) |
                 (o->on_full == IPCX_FULL_FAIL ? SHM_F_FAIL : 0u),
        .mode = o->mode,
    };
    return g;
}

static int64_t spin_of(const ipcx_opts *o)
{
    return o->spin_ns ? o->spin_ns : SHM_SPIN_DEFAULT;
}

/* Where the engine's fast entry points fall back to: the core's general paths. */
static int shm_send_general(void *owner, const void *buf, size_t len, int64_t timeout)
{
    return ipcx__send_general(owner, buf, len, timeout);
}

static int shm_recv_general(void *owner, void *buf, size_t cap, size_t *lenp, int64_t timeout)
{
    return ipcx__recv_general(owner, buf, cap, lenp, timeout);
}

/* The creator of a mailbox chose these; every endpoint follows them. */
static void adopt(struct ipcx__ep *ep, const struct shm_ring *r)
{
    ep->opts.max_msg = (size_t)r->seg.max_msg;
    ep->opts.on_full = (r->seg.flags & SHM_F_OVERWRITE) ? IPCX_FULL_OVERWRITE
                       : (r->seg.flags & SHM_F_FAIL)    ? IPCX_FULL_FAIL
                                                        : IPCX_FULL_BLOCK;
    /* The fast paths: one record, never waiting (an overwrite send may have to drop). */
    if ((ep->role & IPCX_SEND) && !(r->seg.flags & SHM_F_OVERWRITE))
        ep->send_try_lim =
            (size_t)(r->seg.chunk_max < r->seg.max_msg ? r->seg.chunk_max : r->seg.max_msg) + 1;
    struct shm_ep *e = (struct shm_ep *)ep;
    e->rx = &e->ring[e->pair];
    ep->fast_send = shm_ring_fast_send; /* a record at tail if there is room now */
    ep->fast_tx = tx_of(ep);
    ep->fast_recv = shm_ring_fast_recv; /* the record at head if it is whole and fits */
    atomic_store_explicit(&ep->fast_rx, (ep->role & IPCX_RECV) ? e->rx : NULL,
                          memory_order_relaxed);
    for (int i = 0; i <= e->pair; i++)
        shm_ring_set_general(&e->ring[i], ep, shm_send_general, shm_recv_general);
}

static int shm_open_ep(struct ipcx__ep *ep)
{
    const ipcx_opts *o = &ep->opts;
    if (o->capacity != 0)
        return IPCX_ENOTSUP; /* a shm ring is sized in bytes: opts.buffer_size */
    if (o->buffer_size > SHM_RING_MAX)
        return IPCX_EINVAL;
    struct shm_geom g = geom_of(o);
    int rc = shm_ring_open(tx_of(ep), ep->addr, &g, o->create, ep->role, spin_of(o));
    if (rc == 0)
        adopt(ep, tx_of(ep));
    return rc;
}

static void shm_close(struct ipcx__ep *ep)
{
    struct shm_ep *e = (struct shm_ep *)ep;
    shm_ring_close(&e->ring[0]);
    if (e->pair)
        shm_ring_close(&e->ring[1]);
}

static int shm_pair(struct ipcx__ep *a, struct ipcx__ep *b)
{
    const ipcx_opts *o = &a->opts;
    if (o->capacity != 0)
        return IPCX_ENOTSUP;
    if (o->buffer_size > SHM_RING_MAX || o->on_full == IPCX_FULL_OVERWRITE)
        return o->on_full == IPCX_FULL_OVERWRITE ? IPCX_ENOTSUP : IPCX_EINVAL;
    struct shm_ep *ea = (struct shm_ep *)a, *eb = (struct shm_ep *)b;
    struct shm_geom g = geom_of(o);
    int rc = shm_ring_pair(&ea->ring[0], &eb->ring[1], &g, spin_of(o));
    if (rc < 0)
        return rc;
    if ((rc = shm_ring_pair(&eb->ring[0], &ea->ring[1], &g, spin_of(o))) < 0) {
        shm_ring_close(&ea->ring[0]);
        shm_ring_close(&eb->ring[1]);
        return rc;
    }
    ea->pair = eb->pair = 1;
    adopt(a, &ea->ring[0]);
    adopt(b, &eb->ring[0]);
    return 0;
}

static int shm_send(struct ipcx__ep *ep, const struct iovec *iov, int niov, size_t len,
                    ipcx__deadline dl)
{
    return shm_ring_send(tx_of(ep), iov, niov, len, dl);
}

static int shm_recv(struct ipcx__ep *ep, struct ipcx__rbuf *rb, ipcx__deadline dl)
{
    return shm_ring_recv(rx_of(ep), rb->buf, rb->cap, &rb->len, rb->alloc ? &rb->buf : NULL, dl);
}

static int shm_loan(struct ipcx__ep *ep, size_t size, void **bufp, ipcx__deadline dl)
{
    return shm_ring_loan(tx_of(ep), size, bufp, dl);
}

static int shm_commit(struct ipcx__ep *ep, const void *buf, size_t len, int cancel)
{
    return shm_ring_commit(tx_of(ep), buf, len, cancel);
}

static int shm_view(struct ipcx__ep *ep, const void **bufp, size_t *lenp, ipcx__deadline dl)
{
    return shm_ring_view(rx_of(ep), bufp, lenp, dl);
}

static int shm_release(struct ipcx__ep *ep, const void *buf)
{
    return shm_ring_release(rx_of(ep), buf);
}

static int shm_pollfd(struct ipcx__ep *ep)
{
    /* The doorbell is re-armed by the general receive path only: no fast receives from now. */
    atomic_store_explicit(&ep->fast_rx, NULL, memory_order_relaxed);
    return shm_ring_pollfd(rx_of(ep));
}

static void shm_stats(struct ipcx__ep *ep, ipcx_stats *st)
{
    struct shm_ring *r = rx_of(ep);
    uint64_t waiting;
    unsigned senders, receivers;
    shm_ring_counts(r, &waiting, &senders, &receivers);
    st->sent += atomic_load_explicit(&tx_of(ep)->fast_sent, memory_order_relaxed);
    st->received += atomic_load_explicit(&r->fast_received, memory_order_relaxed);
    st->peers_now = (ep->role & IPCX_RECV) ? senders : receivers;
    st->peers_dropped = r->dropped;
    if (r->dropped)
        st->last_drop_error = IPCX_EPEERPROTO;
}

static int shm_unlink_name(const char *addr)
{
    return shm_seg_unlink(addr);
}

static int shm_unlink_stale(const char *addr)
{
    return shm_seg_unlink_stale(addr);
}

static int shm_inspect(const char *addr, ipcx_mailbox_info *info)
{
    struct shm_info si;
    int rc = shm_seg_inspect(addr, &si);
    if (rc < 0)
        return rc;
    info->state = si.state;
    info->stale = si.stale;
    info->owner_uid = si.uid;
    info->mode = si.mode;
    info->creator_pid = si.creator_pid;
    info->flags = (si.flags & SHM_F_SPSC) ? IPCX_F_SPSC : 0u;
    info->on_full = (si.flags & SHM_F_OVERWRITE) ? IPCX_FULL_OVERWRITE
                    : (si.flags & SHM_F_FAIL)    ? IPCX_FULL_FAIL
                                                 : IPCX_FULL_BLOCK;
    info->senders = si.senders;
    info->receivers = si.receivers;
    info->created_ns = si.created_ns;
    info->buffer_size = si.ring_size;
    info->max_msg = si.max_msg;
    info->msgs_waiting = si.waiting;
    return 0;
}

struct list_ctx {
    int (*fn)(const ipcx_mailbox_info *info, void *arg);
    void *arg;
};

static int list_one(const char *name, void *arg)
{
    struct list_ctx *c = arg;
    ipcx_mailbox_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    snprintf(info.url, sizeof info.url, "shm://%s", name);
    if (shm_inspect(name, &info) < 0)
        return 0; /* vanished or unreadable meanwhile: not listed */
    return c->fn(&info, c->arg);
}

static int shm_list(int (*fn)(const ipcx_mailbox_info *info, void *arg), void *arg)
{
    struct list_ctx c = {fn, arg};
    return shm_seg_each(list_one, &c);
}

const struct ipcx__transport ipcx__transport_shm = {
    .scheme = "shm",
    .caps = IPCX__CAP_OPEN | IPCX__CAP_PAIR | IPCX__CAP_BOTH | IPCX__CAP_OVERWRITE,
    .ep_size = sizeof(struct shm_ep),
    .open = shm_open_ep,    /* creates or attaches; may wait up to 200 ms for a creator */
    .pair = shm_pair,       /* two anonymous SPSC rings (memfd); each end watches the other */
    .send = shm_send,       /* spins, then sleeps on a futex up to the deadline; send_mu held */
    .recv = shm_recv,       /* the same; recv_mu held */
    .loan = shm_loan,       /* a record reserved in the ring; send side kept until commit */
    .commit = shm_commit,   /* publishes it, or cancels; never blocks */
    .view = shm_view,       /* the next record in place; receive side kept until release */
    .release = shm_release, /* consumes it; never blocks */
    .pollfd = shm_pollfd,   /* a doorbell socket, rung only while armed */
    .stats = shm_stats,     /* live endpoints from the registry's kernel locks */
    .unlink = shm_unlink_name,
    .unlink_stale = shm_unlink_stale, /* an exclusive lock on the attach byte, then the unlink */
    .inspect = shm_inspect,           /* read-only: maps the header, asks the kernel who holds it */
    .list = shm_list,                 /* every /dev/shm/ipcx.* */
    .close = shm_close, /* releases the slot and any lock held mid-message; never blocks */
};
