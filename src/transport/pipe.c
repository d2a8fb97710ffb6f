/*
 * pipe.c: "pipe://", direct pairs over two anonymous pipes, one per
 * direction, for processes about to fork. Each end also holds a copy of the
 * read end of the pipe it writes to, so a write can never raise SIGPIPE and
 * needs no signal-mask calls around it (two system calls per message saved);
 * the stream engine notices a vanished peer by its end of stream instead.
 * Framing and waiting come from the stream engine.
 */
#include "transport/stream.h"

struct pipe_ep {
    struct ipcx__stream s;
    int held_rfd; /* the read end of our outgoing pipe: keeps writes free of SIGPIPE */
};

static const struct ipcx__stream_hooks pipe_hooks = {
    .fd_kind = IPCX__FD_PIPE_HELD, .frag = 0, .watch_peer = 1, .connect = NULL};

/* Makes one end: reads rfd, writes wfd, holds a copy of wfd's read end. Takes rfd and wfd. */
static int pipe_end(struct pipe_ep *e, int rfd, int wfd, int wfd_reader)
{
    e->held_rfd = ipcx__fd_dup(wfd_reader);
    if (e->held_rfd < 0) {
        ipcx__fd_close(rfd);
        ipcx__fd_close(wfd);
        return e->held_rfd;
    }
    int rc = ipcx__stream_pair_init(&e->s, &pipe_hooks, rfd, ipcx__pipe_allow_blocking(rfd), wfd);
    if (rc < 0)
        ipcx__fd_close(e->held_rfd);
    return rc;
}

static void pipe_close(struct ipcx__ep *ep)
{
    struct pipe_ep *e = (struct pipe_ep *)ep;
    ipcx__stream_fini(&e->s);
    ipcx__fd_close(e->held_rfd);
}

static int pipe_pair(struct ipcx__ep *a, struct ipcx__ep *b)
{
    int ab[2], ba[2];
    int rc = ipcx__pipe_open(ab);
    if (rc < 0)
        return rc;
    if ((rc = ipcx__pipe_open(ba)) < 0) {
        ipcx__fd_close(ab[0]);
        ipcx__fd_close(ab[1]);
        return rc;
    }
    /* pipe_end takes its two descriptors whatever happens; ab[0] is dup'ed before it goes to b. */
    if ((rc = pipe_end((struct pipe_ep *)a, ba[0], ab[1], ab[0])) < 0) {
        ipcx__fd_close(ab[0]);
        ipcx__fd_close(ba[1]);
        return rc;
    }
    if ((rc = pipe_end((struct pipe_ep *)b, ab[0], ba[1], ba[0])) < 0)
        pipe_close(a);
    return rc;
}

const struct ipcx__transport ipcx__transport_pipe = {
    .scheme = "pipe",
    .caps = IPCX__CAP_PAIR,
    .ep_size = sizeof(struct pipe_ep),
    .open = NULL,                  /* pairs only: a pipe has no name */
    .pair = pipe_pair,             /* both ends take both roles */
    .send = ipcx__stream_send,     /* blocks up to the deadline; send_mu held */
    .recv = ipcx__stream_recv,     /* blocks up to the deadline; recv_mu held */
    .pollfd = ipcx__stream_pollfd, /* an epoll fd owned by the endpoint */
    .stats = ipcx__stream_stats,
    .unlink = NULL,
    .close = pipe_close, /* closes every descriptor; never blocks */
};
