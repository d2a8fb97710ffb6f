/*
 * fifo.c: "fifo:///path", a named pipe with one receiver and any number of
 * senders. A message that fits in PIPE_BUF bytes goes out in one write,
 * which the kernel keeps atomic; a longer one goes out as tagged fragments
 * of at most PIPE_BUF bytes each, so concurrent senders' fragments never mix
 * inside a write and the receiver reassembles each sender's by its tag.
 * The receiver holds a write end of its own so that senders coming and going
 * never show it an end of stream.
 */
#include <errno.h>
#include <limits.h>

#include "transport/stream.h"

struct fifo_ep {
    struct ipcx__stream s;
    int keep_wfd; /* the receiver's own writer: no end-of-stream when senders leave */
    int created;
};

static int fifo_connect(struct ipcx__stream *s, ipcx__deadline dl)
{
    (void)dl; /* opening a FIFO for writing never waits in non-blocking mode */
    int fd = ipcx__fifo_open(s->ep.addr, 1);
    /* ENXIO: no reader has it open; ENOENT: not made yet. Wait for a receiver. */
    return fd == -ENXIO || fd == -ENOENT ? IPCX_EAGAIN : fd;
}

static const struct ipcx__stream_hooks fifo_hooks = {
    .fd_kind = IPCX__FD_PIPE, .frag = PIPE_BUF, .connect = fifo_connect};

static int fifo_open_recv(struct fifo_ep *f)
{
    const struct ipcx__ep *ep = &f->s.ep;
    int is_fifo, rc;
    if (ep->opts.create != IPCX_ATTACH) {
        rc = ipcx__fifo_make(ep->addr, ep->opts.mode, &is_fifo);
        if (rc == 0)
            f->created = 1;
        else if (rc != -EEXIST || ep->opts.create == IPCX_CREATE_EXCL || !is_fifo)
            return rc;
    }
    int rfd = ipcx__fifo_open(ep->addr, 0);
    if (rfd < 0)
        return rfd;
    if ((f->keep_wfd = ipcx__fifo_open(ep->addr, 1)) < 0) {
        rc = f->keep_wfd;
        ipcx__fd_close(rfd);
        return rc;
    }
    if ((rc = ipcx__stream_listen(&f->s, -1)) == 0)
        rc = ipcx__stream_add_fixed(&f->s, rfd);
    if (rc < 0)
        ipcx__fd_close(rfd);
    return rc;
}

static int fifo_open(struct ipcx__ep *ep)
{
    struct fifo_ep *f = (struct fifo_ep *)ep;
    ipcx__stream_init(&f->s, &fifo_hooks);
    f->keep_wfd = -1;
    if (ep->addr[0] != '/')
        return IPCX_EBADURL;
    int rc;
    if (ep->role & IPCX_RECV) {
        rc = fifo_open_recv(f);
    } else {
        rc = fifo_connect(&f->s, 0);
        if (rc >= 0)
            f->s.wfd = rc;
        rc = rc == IPCX_EAGAIN || rc >= 0 ? 0 : rc;
    }
    if (rc < 0) {
        ipcx__stream_fini(&f->s);
        ipcx__fd_close(f->keep_wfd);
        if (f->created)
            ipcx__path_unlink(ep->addr);
    }
    return rc;
}

static int fifo_unlink(const char *addr)
{
    return addr[0] == '/' ? ipcx__path_unlink_if(addr, 1) : IPCX_EBADURL;
}

static void fifo_close(struct ipcx__ep *ep)
{
    struct fifo_ep *f = (struct fifo_ep *)ep;
    ipcx__stream_fini(&f->s);
    ipcx__fd_close(f->keep_wfd);
    if (f->created && (ep->opts.flags & IPCX_F_UNLINK_ON_CLOSE))
        ipcx__path_unlink(ep->addr);
}

const struct ipcx__transport ipcx__transport_fifo = {
    .scheme = "fifo",
    .caps = IPCX__CAP_OPEN,
    .ep_size = sizeof(struct fifo_ep),
    .open = fifo_open, /* receiver makes the FIFO; a sender opens it lazily */
    .pair = NULL,
    .send = ipcx__stream_send,     /* atomic writes of at most PIPE_BUF; send_mu held */
    .recv = ipcx__stream_recv,     /* reassembles by tag; recv_mu held */
    .pollfd = ipcx__stream_pollfd, /* an epoll fd owned by the endpoint */
    .stats = ipcx__stream_stats,
    .unlink = fifo_unlink,
    .close = fifo_close, /* never blocks */
};
