/*
 * mailbox.c: the public entry points. It checks arguments, copies options,
 * turns timeouts into deadlines once, checks roles and sizes, serialises
 * calls per endpoint and hands each call to the endpoint's transport. It
 * never touches a descriptor itself.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "os/alloc.h"

#define SCHEME_MAX 16

static int opts_normalise(ipcx_opts *dst, const ipcx_opts *src)
{
    ipcx_opts def = IPCX_OPTS_INIT;
    *dst = def;
    if (src) {
        if (src->struct_size < offsetof(ipcx_opts, spin_ns) || src->struct_size > (1u << 16))
            return IPCX_EINVAL;
        size_t n = src->struct_size < sizeof *dst ? src->struct_size : sizeof *dst;
        memcpy(dst, src, n);
        dst->struct_size = sizeof *dst;
    }
    if (dst->role == 0 || (dst->role & ~IPCX_BOTH) || dst->create > IPCX_CREATE_EXCL ||
        dst->on_full > IPCX_FULL_OVERWRITE ||
        (dst->flags & ~(IPCX_F_UNLINK_ON_CLOSE | IPCX_F_SPSC)))
        return IPCX_EINVAL;
    if (dst->max_msg == 0)
        dst->max_msg = IPCX_DEFAULT_MAX_MSG;
    if (dst->max_msg > ((size_t)1 << 40))
        return IPCX_EINVAL;
    if (dst->mode == 0)
        dst->mode = 0600;
    return 0;
}

static struct ipcx__ep *ep_alloc(const struct ipcx__transport *tp, const ipcx_opts *opts,
                                 const char *addr)
{
    struct ipcx__ep *ep = ipcx__calloc(1, tp->ep_size);
    if (!ep)
        return NULL;
    ep->addr = ipcx__strdup(addr);
    if (!ep->addr) {
        free(ep);
        return NULL;
    }
    ep->tp = tp;
    ep->opts = *opts;
    ep->role = opts->role;
    return ep;
}

static void ep_free(struct ipcx__ep *ep)
{
    free(ep->addr);
    free(ep);
}

static int lookup(const char *url, const struct ipcx__transport **tpp, const char **addr)
{
    char scheme[SCHEME_MAX];
    int rc = ipcx__url_split(url, scheme, sizeof scheme, addr);
    if (rc < 0)
        return rc;
    *tpp = ipcx__transport_find(scheme);
    return *tpp ? 0 : IPCX_ENOSCHEME;
}

int ipcx_open(ipcx_mailbox **mbp, const char *url, const ipcx_opts *opts)
{
    const struct ipcx__transport *tp;
    const char *addr;
    ipcx_opts o;
    if (!mbp)
        return IPCX_EINVAL;
    int rc = lookup(url, &tp, &addr);
    if (rc < 0)
        return rc;
    if ((rc = opts_normalise(&o, opts)) < 0)
        return rc;
    if (!(tp->caps & IPCX__CAP_OPEN))
        return IPCX_ENOTSUP;
    if (o.role == IPCX_BOTH && !(tp->caps & IPCX__CAP_BOTH))
        return IPCX_ENOTSUP;
    if (o.on_full == IPCX_FULL_OVERWRITE && !(tp->caps & IPCX__CAP_OVERWRITE))
        return IPCX_ENOTSUP;
    struct ipcx__ep *ep = ep_alloc(tp, &o, addr);
    if (!ep)
        return IPCX_ENOMEM;
    if ((rc = tp->open(ep)) < 0) {
        ep_free(ep);
        return rc;
    }
    *mbp = (ipcx_mailbox *)ep;
    return 0;
}

int ipcx_pair(ipcx_mailbox **ap, ipcx_mailbox **bp, const char *url, const ipcx_opts *opts)
{
    const struct ipcx__transport *tp;
    const char *addr;
    ipcx_opts o;
    if (!ap || !bp)
        return IPCX_EINVAL;
    int rc = lookup(url, &tp, &addr);
    if (rc < 0)
        return rc;
    if (*addr != '\0')
        return IPCX_EBADURL;
    if ((rc = opts_normalise(&o, opts)) < 0)
        return rc;
    if (!(tp->caps & IPCX__CAP_PAIR) ||
        (o.on_full == IPCX_FULL_OVERWRITE && !(tp->caps & IPCX__CAP_OVERWRITE)))
        return IPCX_ENOTSUP;
    o.role = IPCX_BOTH;
    struct ipcx__ep *a = ep_alloc(tp, &o, "");
    struct ipcx__ep *b = a ? ep_alloc(tp, &o, "") : NULL;
    if (!b) {
        if (a)
            ep_free(a);
        return IPCX_ENOMEM;
    }
    if ((rc = tp->pair(a, b)) < 0) {
        ep_free(a);
        ep_free(b);
        return rc;
    }
    *ap = (ipcx_mailbox *)a;
    *bp = (ipcx_mailbox *)b;
    return 0;
}

void ipcx_close(ipcx_mailbox *mb)
{
    if (!mb)
        return;
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    ep->tp->close(ep);
    ep_free(ep);
}

/* Every send ends here: the role, the full policy, the deadline, the lock. */
static inline __attribute__((always_inline)) int
send_common(struct ipcx__ep *ep, const struct iovec *v, int niov, size_t len, int64_t timeout)
{
    if (!(ep->role & IPCX_SEND))
        return IPCX_EBADF;
    if (len > ep->opts.max_msg)
        return IPCX_EMSGSIZE;
    if (ep->opts.on_full == IPCX_FULL_FAIL)
        timeout = 0;
    ipcx__deadline dl = ipcx__deadline_from_timeout(timeout);
    ipcx__mutex_lock(&ep->send_mu);
    int rc = ep->tp->send(ep, v, niov, len, dl);
    if (rc >= 0)
        ep->sent++;
    ipcx__mutex_unlock(&ep->send_mu);
    return rc;
}

int ipcx_sendv(ipcx_mailbox *mb, const ipcx_iov *iov, int niov, int64_t timeout)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    struct iovec v[IPCX__MAX_IOV];
    size_t len = 0;
    if (!ep || niov < 0 || niov > IPCX__MAX_IOV || (niov > 0 && !iov))
        return IPCX_EINVAL;
    for (int i = 0; i < niov; i++) {
        if (iov[i].len && !iov[i].base)
            return IPCX_EINVAL;
        v[i].iov_base = (void *)iov[i].base;
        v[i].iov_len = iov[i].len;
        len += iov[i].len;
        if (len < iov[i].len)
            return IPCX_EMSGSIZE;
    }
    return send_common(ep, v, niov, len, timeout);
}

/* ipcx_send without the transport's fast path, and where that path falls back to. */
__attribute__((noinline)) int ipcx__send_general(struct ipcx__ep *ep, const void *buf, size_t len,
                                                 int64_t timeout)
{
    if (!ep || (len && !buf))
        return IPCX_EINVAL;
    struct iovec v = {(void *)buf, len};
    return send_common(ep, &v, 1, len, timeout);
}

int ipcx_send(ipcx_mailbox *mb, const void *buf, size_t len, int64_t timeout)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    /* The transport's fast path, which comes back to ipcx__send_general if it must.
     * send_try_lim is 0 unless this endpoint sends, and at most max_msg + 1, so
     * send_common's checks hold already. Both are tail calls: no frame here. */
    if (ep && len < ep->send_try_lim && (buf || !len))
        return ep->fast_send(ep->fast_tx, buf, len, timeout);
    return ipcx__send_general(ep, buf, len, timeout);
}

static inline __attribute__((always_inline)) int recv_common(struct ipcx__ep *ep,
                                                             struct ipcx__rbuf *rb, int64_t timeout)
{
    if (!(ep->role & IPCX_RECV))
        return IPCX_EBADF;
    ipcx__deadline dl = ipcx__deadline_from_timeout(timeout);
    ipcx__mutex_lock(&ep->recv_mu);
    int rc = ep->tp->recv(ep, rb, dl);
    if (rc >= 0)
        ep->received++;
    ipcx__mutex_unlock(&ep->recv_mu);
    return rc;
}

/* ipcx_recv without the transport's fast path, and where that path falls back to. */
__attribute__((noinline)) int ipcx__recv_general(struct ipcx__ep *ep, void *buf, size_t cap,
                                                 size_t *lenp, int64_t timeout)
{
    if (!ep || !lenp || (cap && !buf))
        return IPCX_EINVAL;
    struct ipcx__rbuf rb = {.buf = buf, .cap = cap};
    int rc = recv_common(ep, &rb, timeout);
    if (rc >= 0 || rc == IPCX_EMSGSIZE)
        *lenp = rb.len;
    return rc;
}

int ipcx_recv(ipcx_mailbox *mb, void *buf, size_t cap, size_t *lenp, int64_t timeout)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    /* fast_rx is set only where this endpoint receives. */
    void *rx;
    if (ep && (rx = atomic_load_explicit(&ep->fast_rx, memory_order_relaxed)) && lenp &&
        (buf || !cap))
        return ep->fast_recv(rx, buf, cap, lenp, timeout);
    return ipcx__recv_general(ep, buf, cap, lenp, timeout);
}

int ipcx_recv_alloc(ipcx_mailbox *mb, void **bufp, size_t *lenp, int64_t timeout)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    if (!ep || !bufp || !lenp)
        return IPCX_EINVAL;
    struct ipcx__rbuf rb = {.alloc = 1};
    int rc = recv_common(ep, &rb, timeout);
    if (rc >= 0) {
        *bufp = rb.buf;
        *lenp = rb.len;
    }
    return rc;
}

int ipcx_loan(ipcx_mailbox *mb, size_t size, void **bufp, int64_t timeout)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    if (!ep || !bufp)
        return IPCX_EINVAL;
    if (!(ep->role & IPCX_SEND))
        return IPCX_EBADF;
    if (!ep->tp->loan)
        return IPCX_ENOTSUP;
    if (size > ep->opts.max_msg)
        return IPCX_EMSGSIZE;
    if (ep->opts.on_full == IPCX_FULL_FAIL)
        timeout = 0;
    ipcx__deadline dl = ipcx__deadline_from_timeout(timeout);
    ipcx__mutex_lock(&ep->send_mu);
    int rc = ep->tp->loan(ep, size, bufp, dl);
    ipcx__mutex_unlock(&ep->send_mu);
    return rc;
}

static int commit_common(ipcx_mailbox *mb, void *buf, size_t len, int cancel)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    if (!ep || !buf)
        return IPCX_EINVAL;
    if (!ep->tp->commit)
        return IPCX_ENOTSUP;
    ipcx__mutex_lock(&ep->send_mu);
    int rc = ep->tp->commit(ep, buf, len, cancel);
    if (rc == 0 && !cancel)
        ep->sent++;
    ipcx__mutex_unlock(&ep->send_mu);
    return rc;
}

int ipcx_commit(ipcx_mailbox *mb, void *buf, size_t len)
{
    return commit_common(mb, buf, len, 0);
}

int ipcx_cancel(ipcx_mailbox *mb, void *buf)
{
    return commit_common(mb, buf, 0, 1);
}

int ipcx_view(ipcx_mailbox *mb, const void **bufp, size_t *lenp, int64_t timeout)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    if (!ep || !bufp || !lenp)
        return IPCX_EINVAL;
    if (!(ep->role & IPCX_RECV))
        return IPCX_EBADF;
    if (!ep->tp->view)
        return IPCX_ENOTSUP;
    ipcx__deadline dl = ipcx__deadline_from_timeout(timeout);
    ipcx__mutex_lock(&ep->recv_mu);
    int rc = ep->tp->view(ep, bufp, lenp, dl);
    ipcx__mutex_unlock(&ep->recv_mu);
    return rc;
}

int ipcx_release(ipcx_mailbox *mb, const void *buf)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    if (!ep || !buf)
        return IPCX_EINVAL;
    if (!ep->tp->release)
        return IPCX_ENOTSUP;
    ipcx__mutex_lock(&ep->recv_mu);
    int rc = ep->tp->release(ep, buf);
    if (rc == 0)
        ep->received++;
    ipcx__mutex_unlock(&ep->recv_mu);
    return rc;
}

void ipcx_free(void *p)
{
    free(p);
}

int ipcx_pollfd(ipcx_mailbox *mb)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    if (!ep)
        return IPCX_EINVAL;
    if (!(ep->role & IPCX_RECV))
        return IPCX_EBADF;
    ipcx__mutex_lock(&ep->recv_mu);
    int rc = ep->tp->pollfd ? ep->tp->pollfd(ep) : IPCX_ENOTSUP;
    ipcx__mutex_unlock(&ep->recv_mu);
    return rc;
}

/*
 * Output structs carry the caller's struct_size: a caller built against an
 * older, shorter struct (at least its first published size) gets the fields
 * it knows, one built against a newer header gets ours. Filled in a local
 * copy first, so that a failed call leaves the caller's struct alone.
 */
#define STATS_SIZE_V1 sizeof(ipcx_stats)        /* 0.1 */
#define INFO_SIZE_V1  sizeof(ipcx_mailbox_info) /* 0.1 */

static void out_copy(void *dst, const void *src, size_t caller_size, size_t ours)
{
    size_t n = caller_size < ours ? caller_size : ours;
    memcpy(dst, src, n);
    memcpy(dst, &n, sizeof n); /* struct_size: what was filled */
}

int ipcx_get_stats(ipcx_mailbox *mb, ipcx_stats *st)
{
    struct ipcx__ep *ep = (struct ipcx__ep *)mb;
    ipcx_stats local;
    if (!ep || !st || st->struct_size < STATS_SIZE_V1)
        return IPCX_EINVAL;
    memset(&local, 0, sizeof local);
    ipcx__mutex_lock(&ep->send_mu);
    local.sent = ep->sent;
    ipcx__mutex_unlock(&ep->send_mu);
    ipcx__mutex_lock(&ep->recv_mu);
    local.received = ep->received;
    if (ep->tp->stats)
        ep->tp->stats(ep, &local);
    ipcx__mutex_unlock(&ep->recv_mu);
    out_copy(st, &local, st->struct_size, sizeof local);
    return 0;
}

/* ipcx_unlink and ipcx_unlink_stale: the transport's op for url's address. */
static int unlink_url(const char *url, int only_stale)
{
    const struct ipcx__transport *tp;
    const char *addr;
    int rc = lookup(url, &tp, &addr);
    if (rc < 0)
        return rc;
    int (*op)(const char *addr) = only_stale ? tp->unlink_stale : tp->unlink;
    return op ? op(addr) : IPCX_ENOTSUP;
}

int ipcx_unlink(const char *url)
{
    return unlink_url(url, 0);
}

int ipcx_unlink_stale(const char *url)
{
    return unlink_url(url, 1);
}

int ipcx_inspect(const char *url, ipcx_mailbox_info *info)
{
    const struct ipcx__transport *tp;
    const char *addr;
    ipcx_mailbox_info local;
    if (!info || info->struct_size < INFO_SIZE_V1)
        return IPCX_EINVAL;
    int rc = lookup(url, &tp, &addr);
    if (rc < 0)
        return rc;
    if (!tp->inspect)
        return IPCX_ENOTSUP;
    if (strlen(url) >= sizeof local.url)
        return IPCX_ENAMETOOLONG;
    memset(&local, 0, sizeof local);
    memcpy(local.url, url, strlen(url) + 1);
    if ((rc = tp->inspect(addr, &local)) == 0)
        out_copy(info, &local, info->struct_size, sizeof local);
    return rc;
}

int ipcx_list(const char *scheme, int (*fn)(const ipcx_mailbox_info *info, void *arg), void *arg)
{
    char lower[SCHEME_MAX];
    if (!scheme || !fn)
        return IPCX_EINVAL;
    size_t n = strlen(scheme);
    if (n >= sizeof lower)
        return IPCX_ENOSCHEME;
    for (size_t i = 0; i <= n; i++) /* schemes are case-insensitive, as in URLs */
        lower[i] = (char)tolower((unsigned char)scheme[i]);
    const struct ipcx__transport *tp = ipcx__transport_find(lower);
    if (!tp)
        return IPCX_ENOSCHEME;
    return tp->list ? tp->list(fn, arg) : IPCX_ENOTSUP;
}

const char *ipcx_version(void)
{
    return IPCX_VERSION_STRING;
}
