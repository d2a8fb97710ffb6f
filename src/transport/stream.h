/*
 * stream.h: the stream engine shared by every byte-stream transport (pipe,
 * FIFO, UNIX and TCP sockets): framing, reassembly of fragments, the
 * receiver's fair service of many senders, readiness for pollfd, reconnection
 * of senders. A transport supplies only how to make descriptors (hooks).
 *
 * Wire format: each frame is a 16-byte little-endian header
 *   u32 magic_flags = (IPCX__FRAME_MAGIC << 16) | flags
 *   u32 tag         = the sending endpoint's tag (fragments) or 0
 *   u64 len         = payload bytes that follow
 * Flags: FRAG marks a fragment of a longer message, FIRST its first piece,
 * MORE every piece but the last. Whole messages carry no flags.
 */
#ifndef IPCX_STREAM_H
#define IPCX_STREAM_H

#include "transport/transport.h"

#define IPCX__FRAME_MAGIC 0x1C5Au
#define IPCX__FRAME_HDR   16u
#define IPCX__FRAME_MORE  0x1u
#define IPCX__FRAME_FIRST 0x2u
#define IPCX__FRAME_FRAG  0x4u

struct ipcx__stream;
struct stream_conn;
struct stream_asm;
struct ipcx__uring;

struct ipcx__stream_hooks {
    int fd_kind; /* enum ipcx__fd_kind: sockets, pipes, pipes whose read end we hold */
    size_t frag; /* 0: one frame per message; else at most this many bytes per write */
    /* Check before each message that the receiver has not closed: TCP accepts a
     * write after the peer's close and loses it, where a UNIX socket fails at once. */
    int probe_eof;
    /* Writes cannot fail when the peer has gone (a pipe whose read end we hold):
     * a sender waiting for room also watches its own read side for the hang-up. */
    int watch_peer;
    /* Connects the sender: returns an fd, IPCX_EAGAIN while no receiver exists, or an error. */
    int (*connect)(struct ipcx__stream *s, ipcx__deadline dl);
};

struct ipcx__stream {
    struct ipcx__ep ep; /* must be first */
    const struct ipcx__stream_hooks *hooks;
    /* receiving side */
    int epfd; /* epoll over the listener and the connections */
    int lfd;  /* listening socket, or -1 */
    int evfd; /* eventfd raised while buffered messages wait (pollfd users) */
    int ev_raised;
    int peer_gone; /* a pair's only connection hit end of stream */
    struct stream_conn **conns;
    size_t nconns, conns_cap;
    struct stream_conn *ready_head, *ready_tail;
    struct ipcx__uring *uring; /* io_uring wait of a socket receiver, made on first use */
    int uring_off;             /* io_uring cannot be used here: wait with ppoll */
    size_t round_left;         /* services left before merging fresh readiness */
    unsigned lone_rounds;      /* rounds served while only one connection exists */
    uint64_t accepted, dropped;
    int last_drop;
    /* sending side */
    int wfd;
    int hup_fd; /* watch_peer: our read side, polled for the peer's hang-up */
    uint32_t tag;
    unsigned char *pend; /* the unsent rest of a frame whose start is in the kernel */
    size_t pend_len, pend_off;
    /* socket transports: the mailbox's address */
    struct sockaddr_storage sa;
    socklen_t salen;
};

/* Sets every descriptor to -1 and records the hooks. */
void ipcx__stream_init(struct ipcx__stream *s, const struct ipcx__stream_hooks *hooks);
/* Prepares the receiving side; lfd (may be -1) is a listening socket it takes over. */
int ipcx__stream_listen(struct ipcx__stream *s, int lfd);
/* Adds a receiving descriptor that is never dropped for a protocol error (FIFO, pairs). */
int ipcx__stream_add_fixed(struct ipcx__stream *s, int fd);
/*
 * Opens a socket mailbox at s->sa: a receiver listens (relisten() may clear a
 * stale name on IPCX_EADDRINUSE and ask for another try by returning 0); a
 * sender tries one connect now and otherwise connects lazily on send.
 */
int ipcx__stream_open_socket(struct ipcx__stream *s, int (*relisten)(struct ipcx__stream *s));
/* The connect hook of socket transports: connects to s->sa. */
int ipcx__stream_sock_connect(struct ipcx__stream *s, ipcx__deadline dl);
/* Makes s a pair endpoint reading rfd and writing wfd (both taken over).
 * rfd_blocks: rfd is in blocking mode, so a receive that waits forever may
 * sleep in read() itself instead of in a readiness wait followed by a read. */
int ipcx__stream_pair_init(struct ipcx__stream *s, const struct ipcx__stream_hooks *hooks, int rfd,
                           int rfd_blocks, int wfd);
/* Closes every descriptor and frees every buffer. */
void ipcx__stream_fini(struct ipcx__stream *s);

int ipcx__stream_send(struct ipcx__ep *ep, const struct iovec *iov, int niov, size_t len,
                      ipcx__deadline dl);
int ipcx__stream_recv(struct ipcx__ep *ep, struct ipcx__rbuf *rb, ipcx__deadline dl);
int ipcx__stream_pollfd(struct ipcx__ep *ep);
void ipcx__stream_stats(struct ipcx__ep *ep, ipcx_stats *st);

/* Parses a header; returns 0 or IPCX_EPEERPROTO. Exposed for the fuzz target. */
int ipcx__frame_parse(const unsigned char *p, unsigned *flags, uint32_t *tag, uint64_t *len);
void ipcx__frame_build(unsigned char *p, unsigned flags, uint32_t tag, uint64_t len);

#endif
