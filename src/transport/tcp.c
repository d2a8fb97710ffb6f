/*
 * tcp.c: "tcp://host:port" and "tcp://[v6]:port", TCP with TCP_NODELAY. The
 * receiver listens and serves any number of connecting senders. This file
 * only resolves the address: the stream engine does everything else.
 */
#include "transport/stream.h"

static const struct ipcx__stream_hooks tcp_hooks = {
    .fd_kind = IPCX__FD_SOCKET, .frag = 0, .probe_eof = 1, .connect = ipcx__stream_sock_connect};

static int tcp_open(struct ipcx__ep *ep)
{
    struct ipcx__stream *s = (struct ipcx__stream *)ep;
    ipcx__stream_init(s, &tcp_hooks);
    int rc = ipcx__tcp_addr(ep->addr, &s->sa, &s->salen);
    return rc < 0 ? rc : ipcx__stream_open_socket(s, NULL);
}

static void tcp_close(struct ipcx__ep *ep)
{
    ipcx__stream_fini((struct ipcx__stream *)ep);
}

const struct ipcx__transport ipcx__transport_tcp = {
    .scheme = "tcp",
    .caps = IPCX__CAP_OPEN,
    .ep_size = sizeof(struct ipcx__stream),
    .open = tcp_open, /* may block in name resolution */
    .pair = NULL,
    .send = ipcx__stream_send,     /* blocks up to the deadline, reconnecting; send_mu held */
    .recv = ipcx__stream_recv,     /* fair across senders; recv_mu held */
    .pollfd = ipcx__stream_pollfd, /* an epoll fd owned by the endpoint */
    .stats = ipcx__stream_stats,
    .unlink = NULL,     /* a port has no name to remove */
    .close = tcp_close, /* never blocks */
};
