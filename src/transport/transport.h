/*
 * transport.h: the contract between the core and a transport. Each transport
 * is one file ending in one static const ops table; the core allocates the
 * endpoint (ep_size bytes, beginning with struct ipcx__ep), copies and
 * normalises the options, turns timeouts into deadlines, checks roles and
 * sizes, and serialises calls (one send and one recv at a time per
 * endpoint; a transport's fast paths serialise themselves). A transport must
 * never include another transport's header.
 */
#ifndef IPCX_TRANSPORT_H
#define IPCX_TRANSPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <ipcx.h>

#include "os/lock.h"
#include "os/os.h"

#define IPCX__CAP_OPEN      0x1u /* named mailboxes through ipcx_open */
#define IPCX__CAP_PAIR      0x2u /* ipcx_pair */
#define IPCX__CAP_BOTH      0x4u /* one named endpoint may both send and receive */
#define IPCX__CAP_OVERWRITE 0x8u /* IPCX_FULL_OVERWRITE: a full mailbox drops its oldest */

#define IPCX__MAX_IOV 64

struct ipcx__transport;

/* What every endpoint begins with. Owned by the core. */
struct ipcx__ep {
    const struct ipcx__transport *tp;
    unsigned role;  /* IPCX_SEND / IPCX_RECV bits */
    ipcx_opts opts; /* normalised copy: max_msg and mode never 0 */
    char *addr;     /* the URL after "scheme://" (copied; "" for pairs) */
    ipcx__mutex send_mu;
    ipcx__mutex recv_mu;
    uint64_t sent;     /* under send_mu (the fast paths count their own: see stats) */
    uint64_t received; /* under recv_mu */
    /*
     * Optional fast paths for one flat buffer, which a transport's open or pair
     * enables: a send of len < send_try_lim goes to fast_send(fast_tx, ...); while
     * fast_rx is set, every ipcx_recv goes to fast_recv(fast_rx, ...). fast_tx and
     * fast_rx are the transport's own objects (what its fast paths work on), and the
     * functions sit here rather than in the ops table, so that a call reaches them in
     * one indirect jump with nothing to adapt. ipcx_send / ipcx_recv hand the call over
     * at once, its arguments checked (buf or len 0; lenp, and buf or cap 0) but nothing
     * else done: no lock held (the fast paths keep concurrent calls on the endpoint,
     * and the general path, apart by themselves), no deadline computed. They move one
     * message if that needs no waiting and count it (stats adds their counts), or
     * change nothing and return what ipcx__send_general / ipcx__recv_general answer
     * for the same call, which handle every case. 0 and NULL (as ep_alloc leaves
     * them): not used. A transport may clear fast_rx later, from any thread (shm's
     * pollfd does).
     */
    size_t send_try_lim;
    int (*fast_send)(void *fast_tx, const void *buf, size_t len, int64_t timeout);
    void *fast_tx;
    int (*fast_recv)(void *fast_rx, void *buf, size_t cap, size_t *lenp, int64_t timeout);
    void *_Atomic fast_rx;
};

/* Where a received message goes: the caller's buffer, or one the transport allocates. */
struct ipcx__rbuf {
    void *buf;  /* in: caller's buffer (NULL if alloc); out: allocated buffer if alloc */
    size_t cap; /* in: caller's capacity */
    size_t len; /* out: message length, or the size needed on IPCX_EMSGSIZE */
    int alloc;  /* in: allocate with malloc (freed by ipcx_free) */
};

struct ipcx__transport {
    const char *scheme;
    unsigned caps;
    size_t ep_size;
    /* Opens a named endpoint from ep->addr, ep->role, ep->opts. May block only for
     * a connect attempt. On failure releases everything it took. */
    int (*open)(struct ipcx__ep *ep);
    /* Makes two connected endpoints (both roles). On failure releases everything. */
    int (*pair)(struct ipcx__ep *a, struct ipcx__ep *b);
    /* Sends one message of len bytes gathered from iov (niov <= IPCX__MAX_IOV),
     * waiting until dl. Called with send_mu held. All or nothing. */
    int (*send)(struct ipcx__ep *ep, const struct iovec *iov, int niov, size_t len,
                ipcx__deadline dl);
    /* Receives one message into rb, waiting until dl. Called with recv_mu held.
     * On IPCX_EMSGSIZE sets rb->len and keeps the message first in line. */
    int (*recv)(struct ipcx__ep *ep, struct ipcx__rbuf *rb, ipcx__deadline dl);
    /* Zero copy (NULL: IPCX_ENOTSUP). loan reserves room for size bytes, waiting
     * until dl, and keeps the send side until commit (cancel set: send nothing);
     * view shows the next message in place and keeps the receive side until
     * release. Called with send_mu / recv_mu held for the call only: the
     * transport refuses (IPCX_EBUSY) other sends or receives meanwhile. */
    int (*loan)(struct ipcx__ep *ep, size_t size, void **bufp, ipcx__deadline dl);
    int (*commit)(struct ipcx__ep *ep, const void *buf, size_t len, int cancel);
    int (*view)(struct ipcx__ep *ep, const void **bufp, size_t *lenp, ipcx__deadline dl);
    int (*release)(struct ipcx__ep *ep, const void *buf);
    /* The endpoint's readiness fd. Called with recv_mu held. */
    int (*pollfd)(struct ipcx__ep *ep);
    /* Fills the transport's part of st (and adds what fast paths counted to st->sent and
     * st->received, which hold the core's counts). Called with recv_mu held. */
    void (*stats)(struct ipcx__ep *ep, ipcx_stats *st);
    /* Removes the mailbox named by addr. NULL: IPCX_ENOTSUP. */
    int (*unlink)(const char *addr);
    /* The same only if no process has it open, checked and done in one step against
     * concurrent opens (IPCX_EBUSY otherwise). NULL: IPCX_ENOTSUP. */
    int (*unlink_stale)(const char *addr);
    /* Describes the mailbox named by addr without joining it (url already set in
     * info, the rest zero). NULL: IPCX_ENOTSUP. */
    int (*inspect)(const char *addr, ipcx_mailbox_info *info);
    /* Calls fn for every mailbox of this scheme until fn returns non-zero (returned).
     * NULL: IPCX_ENOTSUP. */
    int (*list)(int (*fn)(const ipcx_mailbox_info *info, void *arg), void *arg);
    /* Releases everything. Never blocks, never fails; no other call is running. */
    void (*close)(struct ipcx__ep *ep);
};

/* ipcx_send / ipcx_recv without the fast path (core/mailbox.c): where fast paths give up. */
int ipcx__send_general(struct ipcx__ep *ep, const void *buf, size_t len, int64_t timeout);
int ipcx__recv_general(struct ipcx__ep *ep, void *buf, size_t cap, size_t *lenp, int64_t timeout);

extern const struct ipcx__transport ipcx__transport_pipe;
extern const struct ipcx__transport ipcx__transport_fifo;
extern const struct ipcx__transport ipcx__transport_unix;
extern const struct ipcx__transport ipcx__transport_tcp;
extern const struct ipcx__transport ipcx__transport_shm;

#endif
