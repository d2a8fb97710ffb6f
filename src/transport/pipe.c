/*
 * pipe.c: "pipe://", direct pairs over two anonymous pipes, one per
 * direction, for processes about to fork. Framing, waiting and SIGPIPE
 * suppression come from the stream engine; this file only makes the pipes.
 */
#include "transport/stream.h"

static const struct ipcx__stream_hooks pipe_hooks = {.is_socket = 0, .frag = 0, .connect = NULL};

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
    rc = ipcx__stream_pair_init((struct ipcx__stream *)a, &pipe_hooks, ba[0],
                                ipcx__pipe_allow_blocking(ba[0]), ab[1]);
    if (rc < 0) {
        ipcx__fd_close(ab[0]);
        ipcx__fd_close(ba[1]);
        return rc;
    }
    rc = ipcx__stream_pair_init((struct ipcx__stream *)b, &pipe_hooks, ab[0],
                                ipcx__pipe_allow_blocking(ab[0]), ba[1]);
    if (rc < 0)
        ipcx__stream_fini((struct ipcx__stream *)a);
    return rc;
}

static void pipe_close(struct ipcx__ep *ep)
{
    ipcx__stream_fini((struct ipcx__stream *)ep);
}

const struct ipcx__transport ipcx__transport_pipe = {
    .scheme = "pipe",
    .caps = IPCX__CAP_PAIR,
    .ep_size = sizeof(struct ipcx__stream),
    .open = NULL,                  /* pairs only: a pipe has no name */
    .pair = pipe_pair,             /* both ends take both roles */
    .send = ipcx__stream_send,     /* blocks up to the deadline; send_mu held */
    .recv = ipcx__stream_recv,     /* blocks up to the deadline; recv_mu held */
    .pollfd = ipcx__stream_pollfd, /* an epoll fd owned by the endpoint */
    .stats = ipcx__stream_stats,
    .unlink = NULL,
    .close = pipe_close, /* closes both pipe ends; never blocks */
};
