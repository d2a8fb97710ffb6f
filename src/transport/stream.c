/*
 * stream.c: framing, fragment reassembly, fair service of many senders,
 * pollfd readiness and sender reconnection for every byte-stream transport,
 * written once. Every header read from a peer is validated before its length
 * is used; a peer that breaks the protocol is dropped (or, on a shared FIFO,
 * its bytes discarded) and every other peer keeps being served.
 */
#include "transport/stream.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "os/alloc.h"
#include "os/uring.h"

#define CONN_BUF_INIT       ((size_t)64 << 10) /* read buffer; grows for a larger frame */
#define CONN_BUF_KEEP       ((size_t)1 << 20)  /* a grown buffer is given back once empty */
#define ASM_MAX             64                 /* partial fragmented messages kept per descriptor */
#define CONNECT_BACKOFF_MAX (50 * IPCX_MSEC)
/* Reads into the buffer stop here, so that most of a large frame can be read
 * straight into the caller's memory instead of being copied through ours. */
#define READ_CHUNK      ((size_t)16 << 10)
#define DIRECT_MIN      READ_CHUNK      /* frames this large are read in place */
#define DIRECT_PATIENCE (2 * IPCX_MSEC) /* wait inside a frame before giving the turn away */
#define LONE_MERGE      16 /* rounds a lone sender is served between checks for new ones */
#define POLL_MAX        8  /* up to this many descriptors, a blocking wait uses ppoll */

/* A message being rebuilt from fragments, keyed by its sender's tag. */
struct stream_asm {
    uint32_t tag;
    unsigned char *data;
    size_t len, cap;
};

/* One receiving descriptor: an accepted sender, a FIFO or a pair's read side. */
struct stream_conn {
    int fd;
    int fixed;  /* never dropped: a protocol error discards its bytes instead */
    int queued; /* in the ready list */
    int eof;
    int full_read; /* the last read filled the buffer: more may be waiting */
    int can_block; /* fd in blocking mode: a forever-wait may sleep in read() */
    int direct;    /* the last frame was read in place: read the next header alone */
    int err;       /* a read error an io_uring wait reaped, for the next read to return */
    unsigned char *buf;
    size_t cap, off, len; /* buffered bytes are buf[off, off + len) */
    size_t frame;         /* bytes of the frame being delivered from buf, 0 if none */
    int done;             /* index of a completed assembly awaiting delivery, or -1 */
    struct stream_asm asms[ASM_MAX];
    int nasm;
    size_t idx; /* position in s->conns */
    struct stream_conn *next;
};

enum { PULL_NEED = 1, PULL_MSG = 2 }; /* positive, apart from 0 (a message delivered) and errors */

static char listen_mark, event_mark; /* epoll cookies that are not connections */

void ipcx__frame_build(unsigned char *p, unsigned flags, uint32_t tag, uint64_t len)
{
    uint32_t mf = (IPCX__FRAME_MAGIC << 16) | (flags & 0xffffu);
    for (int i = 0; i < 4; i++) {
        p[i] = (unsigned char)(mf >> (8 * i));
        p[4 + i] = (unsigned char)(tag >> (8 * i));
    }
    for (int i = 0; i < 8; i++)
        p[8 + i] = (unsigned char)(len >> (8 * i));
}

int ipcx__frame_parse(const unsigned char *p, unsigned *flags, uint32_t *tag, uint64_t *len)
{
    uint32_t mf = 0, t = 0;
    uint64_t l = 0;
    for (int i = 0; i < 4; i++) {
        mf |= (uint32_t)p[i] << (8 * i);
        t |= (uint32_t)p[4 + i] << (8 * i);
    }
    for (int i = 0; i < 8; i++)
        l |= (uint64_t)p[8 + i] << (8 * i);
    unsigned f = mf & 0xffffu;
    if ((mf >> 16) != IPCX__FRAME_MAGIC || (f & ~7u))
        return IPCX_EPEERPROTO;
    /* A fragment always says so; MORE or FIRST without FRAG is malformed. */
    if ((f & (IPCX__FRAME_MORE | IPCX__FRAME_FIRST)) && !(f & IPCX__FRAME_FRAG))
        return IPCX_EPEERPROTO;
    *flags = f;
    *tag = t;
    *len = l;
    return 0;
}

void ipcx__stream_init(struct ipcx__stream *s, const struct ipcx__stream_hooks *hooks)
{
    s->hooks = hooks;
    s->epfd = s->lfd = s->evfd = s->wfd = s->hup_fd = -1;
    s->tag = ipcx__random32();
}

/* ---------------------------------------------------------------------- */
/* Receiving side: connections and the ready list                          */
/* ---------------------------------------------------------------------- */

int ipcx__stream_listen(struct ipcx__stream *s, int lfd)
{
    int rc = ipcx__epoll_open();
    if (rc < 0)
        return rc;
    s->epfd = rc;
    if (lfd >= 0) {
        if ((rc = ipcx__epoll_add(s->epfd, lfd, &listen_mark)) < 0)
            return rc;
        s->lfd = lfd;
    }
    return 0;
}

/* Room for one more connection, made before the descriptor exists so that a
 * failure leaves a waiting sender in the kernel's backlog instead of losing it. */
static struct stream_conn *conn_prepare(struct ipcx__stream *s)
{
    if (s->nconns == s->conns_cap) {
        size_t ncap = s->conns_cap ? 2 * s->conns_cap : 8;
        struct stream_conn **n = ipcx__realloc(s->conns, ncap * sizeof *n);
        if (!n)
            return NULL;
        s->conns = n;
        s->conns_cap = ncap;
    }
    return ipcx__calloc(1, sizeof(struct stream_conn));
}

static int conn_attach(struct ipcx__stream *s, struct stream_conn *c, int fd, int fixed)
{
    c->fd = fd;
    c->fixed = fixed;
    c->done = -1;
    int rc = ipcx__epoll_add(s->epfd, fd, c);
    if (rc < 0)
        return rc;
    c->idx = s->nconns;
    s->conns[s->nconns++] = c;
    return 0;
}

int ipcx__stream_add_fixed(struct ipcx__stream *s, int fd)
{
    struct stream_conn *c = conn_prepare(s);
    if (!c)
        return IPCX_ENOMEM;
    int rc = conn_attach(s, c, fd, 1);
    if (rc < 0)
        free(c);
    return rc;
}

static void asm_clear(struct stream_conn *c)
{
    for (int i = 0; i < c->nasm; i++)
        free(c->asms[i].data);
    c->nasm = 0;
    c->done = -1;
}

static void asm_remove(struct stream_conn *c, int i)
{
    free(c->asms[i].data);
    c->asms[i] = c->asms[--c->nasm];
}

/*
 * Forgets a connection. unwatch is 0 only while the whole endpoint closes:
 * after fork() the epoll set may be shared with the other process's copy of
 * the endpoint, and removing watches from it would blind that process.
 */
static void conn_free(struct ipcx__stream *s, struct stream_conn *c, int unwatch)
{
    if (unwatch)
        ipcx__epoll_del(s->epfd, c->fd);
    ipcx__fd_close(c->fd);
    asm_clear(c);
    free(c->buf);
    s->conns[c->idx] = s->conns[--s->nconns];
    s->conns[c->idx]->idx = c->idx;
    free(c);
}

/* Ends a connection that was just taken off the ready list. err is 0 for a clean leave. */
static void conn_drop(struct ipcx__stream *s, struct stream_conn *c, int err)
{
    if (err) {
        s->dropped++;
        s->last_drop = err;
    }
    if (c->fixed && !c->eof) {
        /* A shared FIFO cannot be closed on one writer's fault: resynchronise. */
        c->off = c->len = c->frame = 0;
        asm_clear(c);
        return;
    }
    if (s->lfd < 0)
        s->peer_gone = 1;
    conn_free(s, c, 1);
}

static void ready_push(struct ipcx__stream *s, struct stream_conn *c, int at_head)
{
    if (c->queued)
        return;
    c->queued = 1;
    if (at_head) {
        c->next = s->ready_head;
        s->ready_head = c;
        if (!s->ready_tail)
            s->ready_tail = c;
        return;
    }
    c->next = NULL;
    if (s->ready_tail)
        s->ready_tail->next = c;
    else
        s->ready_head = c;
    s->ready_tail = c;
}

static struct stream_conn *ready_pop(struct ipcx__stream *s)
{
    struct stream_conn *c = s->ready_head;
    if (c) {
        s->ready_head = c->next;
        if (!s->ready_head)
            s->ready_tail = NULL;
        c->queued = 0;
    }
    return c;
}

static size_t ready_count(const struct ipcx__stream *s)
{
    size_t n = 0;
    for (const struct stream_conn *c = s->ready_head; c; c = c->next)
        n++;
    return n;
}

/* Accepts every waiting sender; IPCX_ENOMEM leaves the rest in the backlog. */
static int accept_all(struct ipcx__stream *s)
{
    for (;;) {
        struct stream_conn *c = conn_prepare(s);
        if (!c)
            return IPCX_ENOMEM;
        int fd = ipcx__sock_accept(s->lfd);
        if (fd < 0) {
            free(c);
            return 0; /* EAGAIN, or a transient error such as EMFILE: the listener stays */
        }
        if (conn_attach(s, c, fd, 0) < 0) {
            free(c);
            ipcx__fd_close(fd);
            return 0;
        }
        s->accepted++;
    }
}

/* Waits for readiness until dl and moves ready connections to the ready list. */
static int ready_merge(struct ipcx__stream *s, ipcx__deadline dl)
{
    void *ck[64];
    int rc = 0, n = ipcx__epoll_wait(s->epfd, ck, 64, dl);
    for (int i = 0; i < n; i++) {
        if (ck[i] == &listen_mark)
            rc = accept_all(s);
        else if (ck[i] != &event_mark)
            ready_push(s, ck[i], 0);
    }
    return rc < 0 ? rc : n;
}

static int conn_reserve(struct stream_conn *c, size_t need)
{
    if (c->off + need <= c->cap && c->cap - c->off - c->len >= 1)
        return 0;
    if (c->off) {
        memmove(c->buf, c->buf + c->off, c->len);
        c->off = 0;
    }
    if (need <= c->cap && c->cap > c->len)
        return 0;
    size_t ncap = c->cap ? c->cap : CONN_BUF_INIT;
    while (ncap < need || ncap <= c->len)
        ncap *= 2;
    unsigned char *b = ipcx__realloc(c->buf, ncap);
    if (!b)
        return IPCX_ENOMEM;
    c->buf = b;
    c->cap = ncap;
    return 0;
}

/* How many bytes to read into c's buffer when it lacks need bytes of a frame. */
static size_t conn_space(const struct stream_conn *c, size_t need)
{
    size_t space = c->cap - c->off - c->len;
    /* After a frame read in place the next is likely large too: read its header
     * alone, so that its payload goes in place instead of through this buffer. */
    if (c->direct && c->len < IPCX__FRAME_HDR)
        return IPCX__FRAME_HDR - c->len;
    return need <= READ_CHUNK && space > READ_CHUNK ? READ_CHUNK : space;
}

/* Takes the result of a read into c's buffer of space bytes, and queues c. */
static void conn_absorb(struct ipcx__stream *s, struct stream_conn *c, ssize_t n, size_t space)
{
    if (n > 0) {
        c->len += (size_t)n;
        c->full_read = (size_t)n == space;
    } else if (n == 0) {
        c->eof = 1;
    } else {
        c->err = (int)n;
    }
    ready_push(s, c, 0);
}

/* A wait that can go through io_uring: a socket receiver with one connection. */
static int uring_eligible(const struct ipcx__stream *s, ipcx__deadline dl)
{
    return dl != 0 && !s->uring_off && s->lfd >= 0 && s->nconns == 1 &&
           s->hooks->fd_kind == IPCX__FD_SOCKET;
}

/*
 * Waits through io_uring until c has bytes, a sender connects (accepted
 * here) or dl passes; the bytes are read into v by the same system call.
 * Returns 1 with the read's result in *n, 0 if nothing was read, or -EAGAIN
 * when io_uring is not to be used (this time, or for good: s->uring_off).
 */
static int uring_wait(struct ipcx__stream *s, struct stream_conn *c, const struct iovec *v, int nv,
                      ipcx__deadline dl, ssize_t *n)
{
    struct ipcx__uring_wake w;
    int rc = ipcx__uring_wait(&s->uring, s->lfd, c->fd, v, nv, dl, &w);
    if (rc == -ENOSYS)
        s->uring_off = 1;
    if (rc < 0)
        return -EAGAIN;
    if (w.watch)
        accept_all(s); /* IPCX_ENOMEM leaves the sender in the backlog for later */
    *n = w.res;
    return w.read;
}

/*
 * Waits for readiness until dl. A socket receiver with one sender waits and
 * reads in one io_uring_enter. With few descriptors it sleeps in ppoll on
 * them directly: the kernel then wakes this thread straight from the socket
 * or pipe, one hop shorter than through the epoll set, which stays up to
 * date for pollfd users and for larger fan-in.
 */
static int ready_wait(struct ipcx__stream *s, ipcx__deadline dl)
{
    if (uring_eligible(s, dl)) {
        struct stream_conn *c = s->conns[0];
        if (conn_reserve(c, IPCX__FRAME_HDR) == 0) {
            size_t space = conn_space(c, IPCX__FRAME_HDR);
            struct iovec v = {c->buf + c->off + c->len, space};
            ssize_t n;
            size_t before = s->nconns;
            int rc = uring_wait(s, c, &v, 1, dl, &n);
            if (rc > 0)
                conn_absorb(s, c, n, space);
            if (rc >= 0)
                return rc + (s->nconns != before);
        }
    }
    struct pollfd p[POLL_MAX];
    int n = 0, base = s->lfd >= 0;
    if (s->nconns + (size_t)base > POLL_MAX)
        return ready_merge(s, dl);
    if (base)
        p[n++] = (struct pollfd){.fd = s->lfd, .events = POLLIN};
    for (size_t i = 0; i < s->nconns; i++)
        p[n++] = (struct pollfd){.fd = s->conns[i]->fd, .events = POLLIN};
    int rc = 0, ready = ipcx__fds_wait(p, n, dl);
    for (int i = base; i < n && ready > 0; i++)
        if (p[i].revents)
            ready_push(s, s->conns[i - base], 0);
    if (ready > 0 && base && p[0].revents)
        rc = accept_all(s);
    return rc < 0 ? rc : ready;
}

/* ---------------------------------------------------------------------- */
/* Receiving side: parsing frames out of a connection                      */
/* ---------------------------------------------------------------------- */

static int asm_find(struct stream_conn *c, uint32_t tag)
{
    for (int i = 0; i < c->nasm; i++)
        if (c->asms[i].tag == tag)
            return i;
    return -1;
}

/* Adds one fragment; returns 0, or IPCX_EPEERPROTO when the fragment is not acceptable. */
static int asm_feed(struct ipcx__stream *s, struct stream_conn *c, unsigned flags, uint32_t tag,
                    const unsigned char *p, size_t len)
{
    int i = asm_find(c, tag);
    if (flags & IPCX__FRAME_FIRST) {
        if (i >= 0)
            asm_remove(c, i); /* its sender died mid-message; the new one replaces it */
        if (c->nasm == ASM_MAX)
            asm_remove(c, 0);
        i = c->nasm++;
        c->asms[i] = (struct stream_asm){.tag = tag};
    } else if (i < 0) {
        return IPCX_EPEERPROTO; /* a fragment without its beginning */
    }
    struct stream_asm *a = &c->asms[i];
    if (len > s->ep.opts.max_msg - a->len) {
        asm_remove(c, i);
        return IPCX_EPEERPROTO;
    }
    if (a->len + len > a->cap) {
        size_t ncap = a->cap ? a->cap : 4096;
        while (ncap < a->len + len)
            ncap *= 2;
        unsigned char *d = ipcx__realloc(a->data, ncap);
        if (!d) {
            asm_remove(c, i);
            return IPCX_ENOMEM;
        }
        a->data = d;
        a->cap = ncap;
    }
    if (len) /* an empty fragment may come before any buffer exists */
        memcpy(a->data + a->len, p, len);
    a->len += len;
    if (!(flags & IPCX__FRAME_MORE))
        c->done = i;
    return 0;
}

/* Puts a frame's first bytes back into c's (empty) buffer; used when its rest is late. */
static int conn_unread(struct stream_conn *c, const unsigned char *p, size_t n, size_t flen)
{
    c->off = c->len = 0;
    if (conn_reserve(c, IPCX__FRAME_HDR + n) < 0)
        return IPCX_ENOMEM;
    ipcx__frame_build(c->buf, 0, 0, flen);
    memcpy(c->buf + IPCX__FRAME_HDR, p, n);
    c->len = IPCX__FRAME_HDR + n;
    return 0;
}

/* A read of c that never blocks, or the error an io_uring wait reaped for it. */
static ssize_t conn_readv(struct ipcx__stream *s, struct stream_conn *c, const struct iovec *v,
                          int nv)
{
    if (c->err) {
        ssize_t n = c->err;
        c->err = 0;
        return n;
    }
    return ipcx__fd_readv(c->fd, s->hooks->fd_kind == IPCX__FD_SOCKET, v, nv);
}

/*
 * Waits until c is readable or dl passes, reading into v if the wait can
 * read too (io_uring). Returns 1 with a read's result in *n, 0 when c may be
 * readable, or a negative code when dl passed.
 */
static int conn_wait(struct ipcx__stream *s, struct stream_conn *c, const struct iovec *v, int nv,
                     ipcx__deadline dl, ssize_t *n)
{
    if (uring_eligible(s, dl)) {
        int rc = uring_wait(s, c, v, nv, dl, n);
        if (rc > 0)
            return rc;
        if (rc == 0)
            return dl != IPCX__NEVER && ipcx__now_ns() >= dl ? IPCX_ETIMEDOUT : 0;
    }
    return ipcx__fd_wait(c->fd, POLLIN, dl);
}

/*
 * Receives a large frame whose header is buffered straight into the caller's
 * memory: one copy of what is buffered, then reads in place, each also
 * taking the next frame's header into c's buffer if it is there already, so
 * that a sender that keeps ahead costs one read per frame and no copy. If
 * the rest is late (a slow or hostile sender) the bytes go back into c's
 * buffer and the turn passes to the next sender. Returns 0 (delivered),
 * PULL_NEED or an error.
 */
static int conn_direct(struct ipcx__stream *s, struct stream_conn *c, struct ipcx__rbuf *rb,
                       size_t flen, ipcx__deadline dl)
{
    unsigned char *dst = rb->alloc ? ipcx__malloc(flen) : rb->buf;
    if (!dst)
        return IPCX_ENOMEM;
    size_t got = c->len - IPCX__FRAME_HDR;
    memcpy(dst, c->buf + c->off + IPCX__FRAME_HDR, got);
    c->off = c->len = 0;
    ipcx__deadline patience = 0;
    if (dl != 0) {
        patience = ipcx__now_ns() + DIRECT_PATIENCE;
        patience = patience < dl ? patience : dl;
    }
    int rc = 0;
    while (got < flen && rc == 0) {
        struct iovec v[2] = {{dst + got, flen - got}, {c->buf, IPCX__FRAME_HDR}};
        ssize_t n = conn_readv(s, c, v, 2);
        if (n == -EAGAIN) {
            int w = conn_wait(s, c, v, 2, patience, &n);
            if (w < 0)
                rc = conn_unread(c, dst, got, flen) < 0 ? IPCX_ENOMEM : PULL_NEED;
            if (w <= 0)
                continue;
        }
        if (n > 0 && (size_t)n > flen - got) {
            c->len = (size_t)n - (flen - got); /* the next frame's first bytes */
            got = flen;
        } else if (n > 0) {
            got += (size_t)n;
        } else if (n == 0) {
            rc = IPCX_EPEERPROTO; /* cut by end of stream */
        } else if (n != -EAGAIN) {
            rc = (int)n;
        }
    }
    if (rc == 0) {
        rb->len = flen;
        if (rb->alloc)
            rb->buf = dst;
        c->direct = 1;
        /* Bytes of the next frame are buffered, or the read found none to take. */
        c->full_read = 0;
        return 0;
    }
    if (rb->alloc)
        free(dst);
    return rc == IPCX_ENOMEM ? IPCX_EPEERPROTO : rc; /* bytes were lost with the memory */
}

/*
 * Finds the next whole message of c, reading without blocking as needed.
 * Returns PULL_MSG (the message is c->asms[c->done] or the frame at buf+off),
 * 0 (a large frame already delivered into rb in place), PULL_NEED (no whole
 * message yet), or a negative IPCX_E* error.
 */
static int conn_pull(struct ipcx__stream *s, struct stream_conn *c, struct ipcx__rbuf *rb,
                     ipcx__deadline dl)
{
    const size_t max = s->ep.opts.max_msg;
    for (;;) {
        if (c->done >= 0 || c->frame)
            return PULL_MSG;
        size_t need = IPCX__FRAME_HDR;
        if (c->len >= IPCX__FRAME_HDR) {
            unsigned flags;
            uint32_t tag;
            uint64_t flen;
            if (ipcx__frame_parse(c->buf + c->off, &flags, &tag, &flen) < 0)
                return IPCX_EPEERPROTO;
            uint64_t limit = max;
            if (flags & IPCX__FRAME_FRAG)
                limit = s->hooks->frag ? s->hooks->frag - IPCX__FRAME_HDR : 0;
            if (flen > limit)
                return IPCX_EPEERPROTO;
            need = IPCX__FRAME_HDR + (size_t)flen;
            if (c->len >= need) {
                if (!(flags & IPCX__FRAME_FRAG)) {
                    c->frame = need;
                    return PULL_MSG;
                }
                int rc = asm_feed(s, c, flags, tag, c->buf + c->off + IPCX__FRAME_HDR, flen);
                c->off += need;
                c->len -= need;
                if (rc < 0) {
                    s->dropped++;
                    s->last_drop = rc;
                }
                continue;
            }
            if (!(flags & IPCX__FRAME_FRAG) && flen >= DIRECT_MIN && !c->eof &&
                (rb->alloc || rb->cap >= flen))
                return conn_direct(s, c, rb, (size_t)flen, dl);
        }
        if (c->eof)
            return c->len || c->nasm ? IPCX_EPEERPROTO : IPCX_ECONNRESET;
        int rc = conn_reserve(c, need);
        if (rc < 0)
            return rc;
        struct iovec v = {c->buf + c->off + c->len, conn_space(c, need)};
        ssize_t n = conn_readv(s, c, &v, 1);
        if (n > 0) {
            c->len += (size_t)n;
            c->full_read = (size_t)n == v.iov_len;
        } else if (n == 0) {
            c->eof = 1;
        } else if (n == -EAGAIN) {
            c->full_read = 0;
            return PULL_NEED;
        } else {
            return (int)n;
        }
    }
}

/*
 * Sleeps in read() on a pair's only descriptor until bytes come: one system
 * call where a readiness wait and a read would take two. Returns 1 (queued)
 * or an error.
 */
static int conn_read_blocking(struct ipcx__stream *s, struct stream_conn *c)
{
    int rc = conn_reserve(c, IPCX__FRAME_HDR);
    if (rc < 0)
        return rc;
    size_t space = conn_space(c, IPCX__FRAME_HDR);
    ssize_t n = ipcx__fd_read(c->fd, s->hooks->fd_kind == IPCX__FD_SOCKET, 1,
                              c->buf + c->off + c->len, space);
    if (n < 0)
        return (int)n;
    conn_absorb(s, c, n, space);
    return 1;
}

/* Hands the pulled message to rb; on IPCX_EMSGSIZE keeps it. */
static int conn_deliver(struct stream_conn *c, struct ipcx__rbuf *rb)
{
    const unsigned char *p;
    size_t len;
    if (c->done >= 0) {
        p = c->asms[c->done].data;
        len = c->asms[c->done].len;
    } else {
        p = c->buf + c->off + IPCX__FRAME_HDR;
        len = c->frame - IPCX__FRAME_HDR;
    }
    rb->len = len;
    if (rb->alloc) {
        void *m = ipcx__malloc(len ? len : 1);
        if (!m)
            return IPCX_ENOMEM;
        if (len)
            memcpy(m, p, len);
        rb->buf = m;
    } else if (len > rb->cap) {
        return IPCX_EMSGSIZE;
    } else if (len) {
        memcpy(rb->buf, p, len);
    }
    if (c->done >= 0) {
        asm_remove(c, c->done);
        c->done = -1;
    } else {
        c->off += c->frame;
        c->len -= c->frame;
        c->frame = 0;
        c->direct = 0;
        if (c->len == 0) {
            c->off = 0;
            if (c->cap > CONN_BUF_KEEP) {
                free(c->buf);
                c->buf = NULL;
                c->cap = 0;
            }
        }
    }
    return 0;
}

/* Keeps the pollfd's event level equal to "a buffered message may be waiting". */
static void event_sync(struct ipcx__stream *s)
{
    int want = s->ready_head != NULL;
    if (s->evfd >= 0 && want != s->ev_raised) {
        ipcx__event_set(s->evfd, want);
        s->ev_raised = want;
    }
}

/* Serves the ready list round-robin: returns 0 with a message, PULL_NEED if none is ready. */
static int serve_ready(struct ipcx__stream *s, struct ipcx__rbuf *rb, ipcx__deadline dl)
{
    struct stream_conn *c;
    while (s->ready_head) {
        /* After a full round, merge fresh readiness so a busy sender cannot starve
         * another. A lone sender can only delay the accept of a new one: check for
         * that every LONE_MERGE rounds, sparing a system call per message, and not
         * at all while the io_uring wait's poll of the listener has not fired. */
        if (s->round_left == 0) {
            if (s->nconns > 1 ||
                (++s->lone_rounds % LONE_MERGE == 0 && !ipcx__uring_watch_quiet(s->uring)))
                ready_merge(s, 0);
            s->round_left = ready_count(s);
        }
        c = ready_pop(s);
        s->round_left--;
        int rc = conn_pull(s, c, rb, dl);
        if (rc == PULL_NEED)
            continue;
        if (rc == IPCX_ENOMEM) {
            ready_push(s, c, 1); /* nothing was consumed: try again later */
            return rc;
        }
        if (rc < 0) {
            conn_drop(s, c, rc == IPCX_ECONNRESET ? 0 : IPCX_EPEERPROTO);
            continue;
        }
        if (rc == PULL_MSG)
            rc = conn_deliver(c, rb);
        if (rc < 0) {
            ready_push(s, c, 1); /* the message stays first in line */
            return rc;
        }
        if (c->len || c->full_read || c->done >= 0 || c->eof)
            ready_push(s, c, 0);
        return 0;
    }
    return PULL_NEED;
}

int ipcx__stream_recv(struct ipcx__ep *ep, struct ipcx__rbuf *rb, ipcx__deadline dl)
{
    struct ipcx__stream *s = (struct ipcx__stream *)ep;
    int rc;
    for (;;) {
        rc = serve_ready(s, rb, dl);
        if (rc != PULL_NEED)
            break;
        if (s->peer_gone) {
            rc = IPCX_EPIPE;
            break;
        }
        if (dl == IPCX__NEVER && s->lfd < 0 && s->nconns == 1 && s->conns[0]->can_block)
            rc = conn_read_blocking(s, s->conns[0]);
        else
            rc = dl == 0 ? ready_merge(s, 0) : ready_wait(s, dl);
        if (rc < 0)
            break;
        s->round_left = ready_count(s);
        if (rc == 0 && !s->ready_head) {
            if (dl == 0) {
                rc = IPCX_EAGAIN;
                break;
            }
            if (dl != IPCX__NEVER && ipcx__now_ns() >= dl) {
                rc = IPCX_ETIMEDOUT;
                break;
            }
        }
    }
    event_sync(s);
    return rc;
}

int ipcx__stream_pollfd(struct ipcx__ep *ep)
{
    struct ipcx__stream *s = (struct ipcx__stream *)ep;
    if (s->epfd < 0)
        return IPCX_EBADF;
    if (s->evfd < 0) {
        int fd = ipcx__event_open();
        if (fd < 0)
            return fd;
        int rc = ipcx__epoll_add(s->epfd, fd, &event_mark);
        if (rc < 0) {
            ipcx__fd_close(fd);
            return rc;
        }
        s->evfd = fd;
        event_sync(s);
    }
    return s->epfd;
}

void ipcx__stream_stats(struct ipcx__ep *ep, ipcx_stats *st)
{
    struct ipcx__stream *s = (struct ipcx__stream *)ep;
    st->peers_accepted = s->accepted;
    st->peers_dropped = s->dropped;
    st->last_drop_error = s->last_drop;
    st->peers_now = (unsigned)s->nconns;
}

/* ---------------------------------------------------------------------- */
/* Sending side                                                            */
/* ---------------------------------------------------------------------- */

static int is_broken(ssize_t err)
{
    return err == -EPIPE || err == -ECONNRESET || err == -ENOTCONN;
}

static void sender_disconnect(struct ipcx__stream *s)
{
    ipcx__fd_close(s->wfd);
    s->wfd = -1;
    free(s->pend);
    s->pend = NULL;
    s->pend_len = s->pend_off = 0;
}

/*
 * Waits until the sender may write. A pair whose writes cannot fail when the
 * peer has gone watches its read side too: the peer's hang-up is IPCX_EPIPE.
 */
static int sender_wait(struct ipcx__stream *s, ipcx__deadline dl)
{
    if (s->hup_fd < 0)
        return ipcx__fd_wait(s->wfd, POLLOUT, dl);
    for (;;) {
        struct pollfd p[2] = {{.fd = s->wfd, .events = POLLOUT}, {.fd = s->hup_fd, .events = 0}};
        int n = ipcx__fds_wait(p, 2, dl);
        if (n < 0)
            return n;
        if (p[0].revents)
            return 0;
        if (p[1].revents & (POLLHUP | POLLERR))
            return IPCX_EPIPE;
        if (dl == 0)
            return IPCX_EAGAIN;
        if (dl != IPCX__NEVER && ipcx__now_ns() >= dl)
            return IPCX_ETIMEDOUT;
    }
}

/* Connects, waiting with back-off while no receiver exists. */
static int sender_connect(struct ipcx__stream *s, ipcx__deadline dl)
{
    int64_t delay = IPCX_MSEC;
    if (!s->hooks->connect)
        return IPCX_EPIPE; /* a pair whose peer has gone */
    for (;;) {
        int fd = s->hooks->connect(s, dl);
        if (fd >= 0) {
            s->wfd = fd;
            return 0;
        }
        if (fd != IPCX_EAGAIN)
            return fd;
        if (dl == 0)
            return IPCX_EAGAIN;
        int64_t now = ipcx__now_ns();
        if (dl != IPCX__NEVER && now >= dl)
            return IPCX_ETIMEDOUT;
        ipcx__sleep_ns(dl != IPCX__NEVER && dl - now < delay ? dl - now : delay);
        delay = delay * 2 > CONNECT_BACKOFF_MAX ? CONNECT_BACKOFF_MAX : delay * 2;
    }
}

/* Drops the first n bytes of an iovec array in place. */
static void iov_advance(struct iovec **v, int *n, size_t k)
{
    while (k && *n) {
        if (k >= (*v)->iov_len) {
            k -= (*v)->iov_len;
            (*v)++;
            (*n)--;
        } else {
            (*v)->iov_base = (char *)(*v)->iov_base + k;
            (*v)->iov_len -= k;
            k = 0;
        }
    }
    while (*n && (*v)->iov_len == 0) {
        (*v)++;
        (*n)--;
    }
}

/* Keeps the unsent rest of a started frame; it goes out before the next message. */
static int pend_stash(struct ipcx__stream *s, const struct iovec *v, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += v[i].iov_len;
    s->pend = ipcx__malloc(total);
    if (!s->pend) {
        sender_disconnect(s); /* the receiver discards the truncated frame */
        return IPCX_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        memcpy(s->pend + s->pend_len, v[i].iov_base, v[i].iov_len);
        s->pend_len += v[i].iov_len;
    }
    s->pend_off = 0;
    return 0;
}

/*
 * Writes one frame. Before its first byte is in the kernel, a deadline or a
 * broken connection leaves no trace (a reconnecting sender retries the whole
 * frame). After it, the frame is committed: a deadline stashes the rest.
 * continues: the frame is a later fragment of a message whose first ones went
 * to the current connection; if it breaks, IPCX_ECONNRESET tells the caller
 * to start the message again rather than finish it on a new receiver.
 */
static int write_frame(struct ipcx__stream *s, int kind, const struct iovec *frame, int nframe,
                       int continues, ipcx__deadline dl)
{
    struct iovec buf[IPCX__MAX_IOV + 1];
    struct iovec *v;
    int n, started;
restart:
    if (s->wfd >= 0 && s->hooks->probe_eof && ipcx__sock_peer_closed(s->wfd))
        sender_disconnect(s);
    memcpy(buf, frame, (size_t)nframe * sizeof *frame);
    v = buf;
    n = nframe;
    started = 0;
    while (n) {
        if (s->wfd < 0) {
            int rc = sender_connect(s, dl);
            if (rc < 0)
                return rc;
        }
        ssize_t w = ipcx__fd_writev(s->wfd, kind, dl == IPCX__NEVER, v, n);
        if (w > 0) {
            started = 1;
            iov_advance(&v, &n, (size_t)w);
            continue;
        }
        if (is_broken(w)) {
            sender_disconnect(s);
            if (!s->hooks->connect)
                return IPCX_EPIPE;
            if (continues)
                return IPCX_ECONNRESET; /* the message's start died with the connection */
            goto restart;
        }
        if (w != -EAGAIN)
            return w == 0 ? IPCX_EIO : (int)w;
        int rc = sender_wait(s, dl);
        if (rc < 0)
            return started ? pend_stash(s, v, n) : rc;
    }
    return 0;
}

static int pend_flush(struct ipcx__stream *s, ipcx__deadline dl)
{
    struct iovec v = {s->pend + s->pend_off, s->pend_len - s->pend_off};
    while (v.iov_len) {
        ssize_t w = ipcx__fd_writev(s->wfd, s->hooks->fd_kind, dl == IPCX__NEVER, &v, 1);
        if (w > 0) {
            s->pend_off += (size_t)w;
            v.iov_base = (char *)v.iov_base + w;
            v.iov_len -= (size_t)w;
            continue;
        }
        if (is_broken(w)) {
            sender_disconnect(s); /* that frame is lost with its connection */
            return s->hooks->connect ? 0 : IPCX_EPIPE;
        }
        if (w != -EAGAIN)
            return w == 0 ? IPCX_EIO : (int)w;
        int rc = sender_wait(s, dl);
        if (rc < 0)
            return rc;
    }
    free(s->pend);
    s->pend = NULL;
    s->pend_len = s->pend_off = 0;
    return 0;
}

/* Copies into out the iovecs covering bytes [off, off + len) of v; returns their count. */
static int iov_slice(const struct iovec *v, int n, size_t off, size_t len, struct iovec *out)
{
    int k = 0;
    for (int i = 0; i < n && len; i++) {
        if (off >= v[i].iov_len) {
            off -= v[i].iov_len;
            continue;
        }
        size_t take = v[i].iov_len - off;
        if (take > len)
            take = len;
        out[k].iov_base = (char *)v[i].iov_base + off;
        out[k].iov_len = take;
        k++;
        len -= take;
        off = 0;
    }
    return k;
}

int ipcx__stream_send(struct ipcx__ep *ep, const struct iovec *iov, int niov, size_t len,
                      ipcx__deadline dl)
{
    struct ipcx__stream *s = (struct ipcx__stream *)ep;
    unsigned char hdr[IPCX__FRAME_HDR];
    struct iovec v[IPCX__MAX_IOV + 1];
    size_t frag = s->hooks->frag;
    int rc;
    if (s->pend && (rc = pend_flush(s, dl)) < 0)
        return rc;
    v[0].iov_base = hdr;
    v[0].iov_len = sizeof hdr;
    if (!frag || len <= frag - IPCX__FRAME_HDR) {
        ipcx__frame_build(hdr, 0, 0, len);
        memcpy(v + 1, iov, (size_t)niov * sizeof *iov);
        return write_frame(s, s->hooks->fd_kind, v, niov + 1, 0, dl);
    }
    /* Fragments of at most frag bytes: each write is atomic on a pipe, so
     * concurrent writers never interleave inside one; the tag reassembles. */
    size_t piece = frag - IPCX__FRAME_HDR;
    struct ipcx__sigpipe_guard guard;
    int kind = s->hooks->fd_kind;
    if (kind == IPCX__FD_PIPE) {
        ipcx__sigpipe_block(&guard); /* once for all the fragments */
        kind = IPCX__FD_PIPE_HELD;
    }
    rc = 0;
    for (size_t off = 0; off < len && rc == 0;) {
        size_t n = len - off < piece ? len - off : piece;
        unsigned flags = IPCX__FRAME_FRAG | (off == 0 ? IPCX__FRAME_FIRST : 0) |
                         (off + n < len ? IPCX__FRAME_MORE : 0);
        ipcx__frame_build(hdr, flags, s->tag, n);
        int k = iov_slice(iov, niov, off, n, v + 1);
        rc = write_frame(s, kind, v, k + 1, off > 0, dl);
        if (rc == IPCX_ECONNRESET) {
            rc = 0; /* a new receiver gets the whole message, from its FIRST fragment */
            off = 0;
        } else {
            off += n;
        }
    }
    if (kind != s->hooks->fd_kind)
        ipcx__sigpipe_restore(&guard);
    return rc;
}

void ipcx__stream_fini(struct ipcx__stream *s)
{
    ipcx__uring_close(s->uring);
    s->uring = NULL;
    if (s->pend && s->wfd >= 0)
        pend_flush(s, 0); /* one try; an unfinished frame is discarded by the receiver */
    sender_disconnect(s);
    while (s->nconns)
        conn_free(s, s->conns[s->nconns - 1], 0);
    free(s->conns);
    s->conns = NULL;
    ipcx__fd_close(s->lfd);
    ipcx__fd_close(s->hup_fd);
    ipcx__fd_close(s->evfd);
    ipcx__fd_close(s->epfd);
    s->lfd = s->hup_fd = s->evfd = s->epfd = -1;
}

/* ---------------------------------------------------------------------- */
/* Set-up shared by the transports                                         */
/* ---------------------------------------------------------------------- */

int ipcx__stream_sock_connect(struct ipcx__stream *s, ipcx__deadline dl)
{
    int fd = ipcx__sock_connect(&s->sa, s->salen, dl);
    /* No receiver (yet): the caller waits and tries again. */
    if (fd == -ENOENT || fd == -ECONNREFUSED || fd == -EAGAIN || fd == -ETIMEDOUT ||
        fd == IPCX_ETIMEDOUT || fd == IPCX_EAGAIN)
        return IPCX_EAGAIN;
    return fd;
}

int ipcx__stream_open_socket(struct ipcx__stream *s, int (*relisten)(struct ipcx__stream *s))
{
    if (s->ep.role & IPCX_RECV) {
        int fd = ipcx__sock_listen(&s->sa, s->salen);
        if (fd == -EADDRINUSE && s->ep.opts.create == IPCX_CREATE_EXCL)
            return IPCX_EEXIST;
        if (fd == -EADDRINUSE && relisten && relisten(s) == 0)
            fd = ipcx__sock_listen(&s->sa, s->salen);
        if (fd < 0)
            return fd;
        int rc = ipcx__stream_listen(s, fd);
        if (rc < 0) {
            ipcx__fd_close(fd);
            ipcx__stream_fini(s);
        }
        return rc;
    }
    int fd = s->hooks->connect(s, 0);
    if (fd >= 0)
        s->wfd = fd;
    return fd == IPCX_EAGAIN || fd >= 0 ? 0 : fd;
}

int ipcx__stream_pair_init(struct ipcx__stream *s, const struct ipcx__stream_hooks *hooks, int rfd,
                           int rfd_blocks, int wfd)
{
    ipcx__stream_init(s, hooks);
    s->wfd = wfd;
    int rc = ipcx__stream_listen(s, -1);
    if (rc == 0)
        rc = ipcx__stream_add_fixed(s, rfd);
    if (rc < 0) {
        ipcx__fd_close(rfd);
        ipcx__stream_fini(s);
        return rc;
    }
    s->conns[0]->can_block = rfd_blocks; /* from here on, fini closes rfd */
    if (hooks->watch_peer && (s->hup_fd = ipcx__fd_dup(rfd)) < 0) {
        rc = s->hup_fd;
        s->hup_fd = -1;
        ipcx__stream_fini(s);
    }
    return rc;
}
