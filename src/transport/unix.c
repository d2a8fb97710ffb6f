/*
 * unix.c: "unix:///path" and "unix://@abstract", UNIX-domain stream sockets.
 * The receiver listens and serves any number of connecting senders; pairs
 * use socketpair(). This file only names, creates and removes sockets: the
 * stream engine does everything else.
 */
#include <errno.h>

#include "transport/stream.h"

struct unix_ep {
    struct ipcx__stream s;
    int owns_path; /* this receiver created the socket file */
};

static const struct ipcx__stream_hooks unix_hooks = {
    .fd_kind = IPCX__FD_SOCKET, .frag = 0, .connect = ipcx__stream_sock_connect};

/* A pair has no address to reconnect to: a broken pair is IPCX_EPIPE. */
static const struct ipcx__stream_hooks unix_pair_hooks = {
    .fd_kind = IPCX__FD_SOCKET, .frag = 0, .connect = NULL};

static int unix_is_path(const char *addr)
{
    return addr[0] == '/';
}

/* A socket file nobody listens on is left by a receiver that died: take its place. */
static int unix_relisten(struct ipcx__stream *s)
{
    if (!unix_is_path(s->ep.addr))
        return IPCX_EADDRINUSE;
    int fd = ipcx__sock_connect(&s->sa, s->salen, 0);
    if (fd >= 0) {
        ipcx__fd_close(fd);
        return IPCX_EADDRINUSE; /* a live receiver owns it */
    }
    return fd == -ECONNREFUSED ? ipcx__path_unlink(s->ep.addr) : fd;
}

static int unix_open(struct ipcx__ep *ep)
{
    struct unix_ep *u = (struct unix_ep *)ep;
    ipcx__stream_init(&u->s, &unix_hooks);
    int rc = ipcx__unix_addr(ep->addr, &u->s.sa, &u->s.salen);
    if (rc < 0)
        return rc;
    if ((rc = ipcx__stream_open_socket(&u->s, unix_relisten)) < 0)
        return rc;
    if ((ep->role & IPCX_RECV) && unix_is_path(ep->addr)) {
        u->owns_path = 1;
        if ((rc = ipcx__path_chmod(ep->addr, ep->opts.mode)) < 0) {
            ipcx__stream_fini(&u->s);
            ipcx__path_unlink(ep->addr);
            return rc;
        }
    }
    return 0;
}

static int unix_pair(struct ipcx__ep *a, struct ipcx__ep *b)
{
    int fds[2], wa, wb;
    int rc = ipcx__sock_pair(fds);
    if (rc < 0)
        return rc;
    /* Each end reads and writes one socket; the writer holds a duplicate so
     * that the read and write sides close independently. */
    wa = ipcx__fd_dup(fds[0]);
    wb = wa < 0 ? wa : ipcx__fd_dup(fds[1]);
    if (wb < 0) {
        ipcx__fd_close(wa);
        ipcx__fd_close(fds[0]);
        ipcx__fd_close(fds[1]);
        return wb;
    }
    rc = ipcx__stream_pair_init((struct ipcx__stream *)a, &unix_pair_hooks, fds[0], 0, wa);
    if (rc < 0) {
        ipcx__fd_close(fds[1]);
        ipcx__fd_close(wb);
        return rc;
    }
    rc = ipcx__stream_pair_init((struct ipcx__stream *)b, &unix_pair_hooks, fds[1], 0, wb);
    if (rc < 0)
        ipcx__stream_fini((struct ipcx__stream *)a);
    return rc;
}

static int unix_unlink(const char *addr)
{
    return unix_is_path(addr) ? ipcx__path_unlink_if(addr, 0) : IPCX_ENOTSUP;
}

static void unix_close(struct ipcx__ep *ep)
{
    struct unix_ep *u = (struct unix_ep *)ep;
    ipcx__stream_fini(&u->s);
    if (u->owns_path && (ep->opts.flags & IPCX_F_UNLINK_ON_CLOSE))
        ipcx__path_unlink(ep->addr);
}

const struct ipcx__transport ipcx__transport_unix = {
    .scheme = "unix",
    .caps = IPCX__CAP_OPEN | IPCX__CAP_PAIR,
    .ep_size = sizeof(struct unix_ep),
    .open = unix_open,             /* receiver binds and listens; sender connects lazily */
    .pair = unix_pair,             /* socketpair(); both roles */
    .send = ipcx__stream_send,     /* blocks up to the deadline, reconnecting; send_mu held */
    .recv = ipcx__stream_recv,     /* fair across senders; recv_mu held */
    .pollfd = ipcx__stream_pollfd, /* an epoll fd owned by the endpoint */
    .stats = ipcx__stream_stats,
    .unlink = unix_unlink, /* path sockets only; abstract names vanish by themselves */
    .close = unix_close,   /* never blocks */
};
