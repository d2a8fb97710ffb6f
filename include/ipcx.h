/*
 * ipcx.h: the one public header of libipcx, a message API over every Linux IPC
 * mechanism. A URL names a mailbox; an endpoint opened on it sends, receives,
 * or (where the transport allows) both. Every transport preserves message
 * boundaries. Nothing outside this header is part of the API or the ABI.
 */
#ifndef IPCX_H
#define IPCX_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(IPCX_BUILDING) && defined(__GNUC__)
#define IPCX_API __attribute__((visibility("default")))
#else
#define IPCX_API
#endif

/* The version lives here alone; the build reads it from these lines. */
#define IPCX_VERSION_MAJOR  0
#define IPCX_VERSION_MINOR  1
#define IPCX_VERSION_PATCH  0
#define IPCX_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors: 0 or a count on success, a negative IPCX_E* on failure.          */
/* Codes with a POSIX meaning equal -errno; library-only codes are <= -1000.*/
/* ------------------------------------------------------------------------ */
#define IPCX_OK            0
#define IPCX_EPERM         (-1) /* not permitted */
#define IPCX_ENOENT        (-2) /* mailbox does not exist (attach only) */
#define IPCX_EINTR         (-4) /* only where a call documents it */
#define IPCX_EIO           (-5)
#define IPCX_EBADF         (-9)  /* endpoint not opened for that direction */
#define IPCX_EAGAIN        (-11) /* try-once call would block */
#define IPCX_ENOMEM        (-12)
#define IPCX_EACCES        (-13)
#define IPCX_EBUSY         (-16) /* every endpoint place of the mailbox is taken */
#define IPCX_EEXIST        (-17) /* create-exclusive and the mailbox exists */
#define IPCX_ENOTDIR       (-20)
#define IPCX_EINVAL        (-22)
#define IPCX_EMFILE        (-24)
#define IPCX_EPIPE         (-32) /* the peer has gone (direct pairs) */
#define IPCX_ENAMETOOLONG  (-36)
#define IPCX_EMSGSIZE      (-90) /* message over the mailbox maximum, or receive buffer too small */
#define IPCX_ENOTSUP       (-95) /* the transport does not offer this */
#define IPCX_EADDRINUSE    (-98)
#define IPCX_EADDRNOTAVAIL (-99)
#define IPCX_ENETUNREACH   (-101)
#define IPCX_ECONNRESET    (-104)
#define IPCX_ENOTCONN      (-107)
#define IPCX_ETIMEDOUT     (-110) /* the deadline passed */
#define IPCX_ECONNREFUSED  (-111)
#define IPCX_EHOSTUNREACH  (-113)

#define IPCX_EBADURL    (-1000) /* the URL does not parse */
#define IPCX_ENOSCHEME  (-1001) /* no transport of that scheme */
#define IPCX_EPEERPROTO (-1002) /* a peer broke the wire protocol; it was dropped */
#define IPCX_ECORRUPT   (-1003) /* shared state failed validation */
#define IPCX_ECLOSED    (-1004) /* the endpoint is being closed */
#define IPCX_EVERSION   (-1005) /* shm: the mailbox was made by an incompatible ipcx */

/* A static English description of any int (unknown codes included). Never NULL. */
IPCX_API const char *ipcx_strerror(int code);
/* The symbolic name ("IPCX_EAGAIN"), or "IPCX_E?" for an unknown code. Never NULL. */
IPCX_API const char *ipcx_errname(int code);

/* ------------------------------------------------------------------------ */
/* Timeouts: int64 nanoseconds. 0 = try once, < 0 = wait forever, > 0 = a    */
/* deadline on CLOCK_MONOTONIC computed once at entry. A signal never        */
/* shortens a wait: the call resumes until its deadline.                     */
/* ------------------------------------------------------------------------ */
#define IPCX_NOWAIT  ((int64_t)0)
#define IPCX_FOREVER ((int64_t)-1)
#define IPCX_NSEC    ((int64_t)1)
#define IPCX_USEC    ((int64_t)1000)
#define IPCX_MSEC    ((int64_t)1000000)
#define IPCX_SEC     ((int64_t)1000000000)

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */
/* Role: what an endpoint does on its mailbox. */
#define IPCX_SEND 1u
#define IPCX_RECV 2u
#define IPCX_BOTH (IPCX_SEND | IPCX_RECV)

/* Creation: attach to an existing mailbox, create it if missing, or insist on creating it. */
#define IPCX_ATTACH      0u
#define IPCX_CREATE      1u
#define IPCX_CREATE_EXCL 2u

/* What a send does when the mailbox is full. */
#define IPCX_FULL_BLOCK     0u /* wait, up to the call's timeout (default) */
#define IPCX_FULL_FAIL      1u /* return IPCX_EAGAIN at once, whatever the timeout */
#define IPCX_FULL_OVERWRITE 2u /* drop the oldest message (transports that can: shm) */

/* Flags. */
#define IPCX_F_UNLINK_ON_CLOSE                                                                     \
    0x1u /* streams: the creator removes the name when it closes;                                  \
            shm: the last endpoint to close removes it */
#define IPCX_F_SPSC                                                                                \
    0x2u /* shm, at creation: one sender and one receiver at a time (a second                      \
            endpoint of a role gets IPCX_EBUSY): no process waits for another's lock */

/* Defaults. */
#define IPCX_DEFAULT_MAX_MSG ((size_t)16 << 20) /* 16 MiB */

/*
 * Options for ipcx_open() and ipcx_pair(). Initialise with IPCX_OPTS_INIT: it
 * records the struct's size, so fields added at the end later never break an
 * older caller. The library copies what it needs; the struct may be freed
 * after the call.
 */
typedef struct ipcx_opts {
    size_t struct_size; /* sizeof(ipcx_opts) as the caller compiled it */
    unsigned role;      /* IPCX_SEND, IPCX_RECV or IPCX_BOTH */
    unsigned create;    /* IPCX_ATTACH, IPCX_CREATE, IPCX_CREATE_EXCL (streams: receivers create,
                           senders attach; shm: any role) */
    unsigned flags;     /* IPCX_F_* */
    unsigned mode;      /* permission bits of a created mailbox; 0 means 0600 */
    size_t capacity;  /* messages buffered; 0 = transport default (streams: the kernel's buffer) */
    size_t max_msg;   /* largest message in bytes; 0 = IPCX_DEFAULT_MAX_MSG */
    unsigned on_full; /* IPCX_FULL_* */
    unsigned reserved0;
    int64_t spin_ns;    /* busy-wait before sleeping (shm); 0 = transport default (5 us),
                           <0 = spin only, 1 = sleep at once */
    size_t buffer_size; /* bytes a created mailbox buffers; 0 = transport default
                           (shm: a 4 MiB ring; rounded up to a power of two, 4 KiB..4 GiB) */
} ipcx_opts;

#define IPCX_OPTS_INIT                                                                             \
    {                                                                                              \
        sizeof(ipcx_opts), IPCX_BOTH, IPCX_CREATE, 0u, 0600u, 0u, 0u, IPCX_FULL_BLOCK, 0u, 0, 0u   \
    }

/* ------------------------------------------------------------------------ */
/* Mailboxes                                                                 */
/* ------------------------------------------------------------------------ */
typedef struct ipcx_mailbox ipcx_mailbox;

/* One piece of a gathered message, as in struct iovec. */
typedef struct ipcx_iov {
    const void *base;
    size_t len;
} ipcx_iov;

/*
 * Opens an endpoint on the mailbox named by url and stores it in *mbp.
 * URLs: "shm://name", "unix:///abs/path", "unix://@abstract",
 * "fifo:///abs/path", "tcp://host:port" (IPv6 as "tcp://[::1]:port").
 * Stream transports (unix, fifo, tcp): a receiver (IPCX_RECV) creates and
 * listens; a sender (IPCX_SEND) connects, lazily: if nobody receives yet,
 * its sends wait for a receiver within their own timeouts; they have no
 * IPCX_BOTH endpoints, so give them a role (the default, IPCX_BOTH, is
 * shm's). shm: any role creates the mailbox (per opts.create) or attaches.
 * opts may be NULL for defaults. Blocks only for a connect attempt, a host
 * name lookup, or (shm) up to 200 ms for a creator to finish formatting.
 * Thread-safe. Errors: IPCX_EBADURL, IPCX_ENOSCHEME, IPCX_EINVAL,
 * IPCX_ENOTSUP (role or option the transport lacks), IPCX_EEXIST,
 * IPCX_ENOENT, IPCX_EACCES, IPCX_EADDRINUSE, IPCX_EADDRNOTAVAIL,
 * IPCX_ENAMETOOLONG, IPCX_EBUSY (shm: no room for another endpoint),
 * IPCX_EVERSION (shm: made by an ipcx with another segment layout),
 * IPCX_ECORRUPT (shm: not a mailbox this build can read), IPCX_ENOMEM.
 * On failure *mbp is untouched.
 */
IPCX_API int ipcx_open(ipcx_mailbox **mbp, const char *url, const ipcx_opts *opts);

/*
 * Makes two connected endpoints, each able to send to and receive from the
 * other, for use across fork(): keep one in each process and close the
 * other. url is a scheme only: "pipe://" (two pipes) or "unix://" (a
 * socketpair). Thread-safe. On failure *ap and *bp are untouched.
 */
IPCX_API int ipcx_pair(ipcx_mailbox **ap, ipcx_mailbox **bp, const char *url,
                       const ipcx_opts *opts);

/*
 * Closes the endpoint and frees it. Never blocks, never fails. A receiver
 * that created a name with IPCX_F_UNLINK_ON_CLOSE removes it. No other call
 * may be running on mb, nor start after this one.
 */
IPCX_API void ipcx_close(ipcx_mailbox *mb);

/*
 * Sends one message of len bytes (0 is allowed) as one unit: the receiver
 * gets it whole or not at all. The bytes are copied; buf may be reused at
 * once. Waits up to timeout for room or for a receiver. Safe to call from
 * several threads at once (sends are serialised per endpoint) and
 * concurrently with ipcx_recv. Errors: IPCX_EAGAIN (try once, no room),
 * IPCX_ETIMEDOUT, IPCX_EMSGSIZE (len > max_msg), IPCX_EBADF (not a sender),
 * IPCX_EPIPE (pair peer gone). On failure nothing of the message was sent.
 */
IPCX_API int ipcx_send(ipcx_mailbox *mb, const void *buf, size_t len, int64_t timeout);

/* As ipcx_send, with the message gathered from niov pieces (niov <= 64). */
IPCX_API int ipcx_sendv(ipcx_mailbox *mb, const ipcx_iov *iov, int niov, int64_t timeout);

/*
 * Receives the next message into buf (cap bytes) and stores its length in
 * *lenp. If cap is too small the call returns IPCX_EMSGSIZE, stores the
 * needed size in *lenp, and the message stays first in line. Waits up to
 * timeout. Safe from several threads (serialised per endpoint) and
 * concurrently with ipcx_send. Errors: IPCX_EAGAIN, IPCX_ETIMEDOUT,
 * IPCX_EMSGSIZE, IPCX_EBADF (not a receiver), IPCX_EPIPE (pair peer gone and
 * nothing left to read). A failed call leaves *lenp alone and loses no
 * message, but buf may hold bytes of a large message that was being read into
 * it in place when the deadline passed (it stays first in line).
 */
IPCX_API int ipcx_recv(ipcx_mailbox *mb, void *buf, size_t cap, size_t *lenp, int64_t timeout);

/*
 * As ipcx_recv, but the library allocates the buffer: on success *bufp holds
 * the message (free it with ipcx_free) and *lenp its length.
 */
IPCX_API int ipcx_recv_alloc(ipcx_mailbox *mb, void **bufp, size_t *lenp, int64_t timeout);

/*
 * Zero copy (shm; other transports answer IPCX_ENOTSUP). A loan is room for
 * up to size bytes inside the mailbox: write the message there, then
 * ipcx_commit it (len <= size; the loan is consumed, the message sent) or
 * ipcx_cancel it (nothing is sent). Until then the endpoint's send side is
 * held: other sends on it answer IPCX_EBUSY, other endpoints' sends wait.
 * A loan is at most a quarter of the mailbox's buffer (IPCX_EMSGSIZE).
 * ipcx_loan waits up to timeout for room, like ipcx_send.
 */
IPCX_API int ipcx_loan(ipcx_mailbox *mb, size_t size, void **bufp, int64_t timeout);
IPCX_API int ipcx_commit(ipcx_mailbox *mb, void *buf, size_t len);
IPCX_API int ipcx_cancel(ipcx_mailbox *mb, void *buf);

/*
 * A view is the next message where it lies in the mailbox: read it in place,
 * then ipcx_release it (it is then received). Until then the endpoint's
 * receive side is held (other receives on it answer IPCX_EBUSY) and the
 * bytes stay put; a message larger than one loan answers IPCX_EMSGSIZE with
 * its size in *lenp (take it with ipcx_recv). The bytes are shared memory: a
 * hostile sender could change them while you read; copy what you validate.
 * Releasing twice, or a pointer that is not the view, is IPCX_EINVAL.
 */
IPCX_API int ipcx_view(ipcx_mailbox *mb, const void **bufp, size_t *lenp, int64_t timeout);
IPCX_API int ipcx_release(ipcx_mailbox *mb, const void *buf);

/* Frees memory the library handed out. NULL is a no-op. */
IPCX_API void ipcx_free(void *p);

/*
 * A file descriptor that polls readable (POLLIN) while a message is waiting,
 * for poll/epoll/libuv loops. Level-triggered; it may also wake for internal
 * events (a sender connecting), after which a try-once ipcx_recv returns
 * IPCX_EAGAIN. The fd belongs to the endpoint: do not read or close it.
 * Errors: IPCX_EBADF (not a receiver), IPCX_ENOMEM.
 */
IPCX_API int ipcx_pollfd(ipcx_mailbox *mb);

/* Counters of one endpoint, for monitoring and tests. */
typedef struct ipcx_stats {
    size_t struct_size;      /* set by the caller: sizeof(ipcx_stats) */
    uint64_t sent;           /* messages sent */
    uint64_t received;       /* messages received */
    uint64_t peers_accepted; /* senders that connected (listening receivers) */
    uint64_t peers_dropped;  /* senders dropped for breaking the protocol */
    int last_drop_error;     /* why the last one was dropped (IPCX_EPEERPROTO, ...) */
    unsigned peers_now;      /* senders connected now */
} ipcx_stats;

/* Fills *st (whose struct_size the caller set; a shorter, older struct gets
 * the fields it has). Thread-safe; may wait for a receive in progress on the
 * same endpoint in another thread. */
IPCX_API int ipcx_get_stats(ipcx_mailbox *mb, ipcx_stats *st);

/*
 * Removes the name of a mailbox (a socket or FIFO path, a shm segment).
 * Endpoints already open keep working. A path that is not a socket (unix://)
 * or not a FIFO (fifo://) is left alone: IPCX_EINVAL. Errors: IPCX_ENOENT,
 * IPCX_ENOTSUP, IPCX_EBADURL, IPCX_EINVAL.
 */
IPCX_API int ipcx_unlink(const char *url);

/*
 * Removes the name of a stale shm:// mailbox, one that no process has open.
 * The check and the removal are one step for processes opening it at the same
 * time (they wait for it, then find no mailbox or make a new one), so a
 * mailbox in use is never removed. Errors: IPCX_EBUSY (in use), IPCX_ENOENT,
 * IPCX_ENOTSUP (not shm://), IPCX_EBADURL, IPCX_EINVAL.
 */
IPCX_API int ipcx_unlink_stale(const char *url);

/* What ipcx_inspect and ipcx_list tell about a mailbox (transports that keep
 * state of their own: shm). */
typedef struct ipcx_mailbox_info {
    size_t struct_size;    /* set by the caller: sizeof(ipcx_mailbox_info) */
    char url[256];         /* "shm://name" */
    int state;             /* 0, IPCX_EVERSION (made by an incompatible ipcx) or IPCX_ECORRUPT */
    int stale;             /* 1: no live endpoint holds it (all its processes died or left) */
    unsigned owner_uid;    /* of the backing object */
    unsigned mode;         /* permission bits */
    unsigned creator_pid;  /* informational: the pid may have been reused */
    unsigned flags;        /* IPCX_F_SPSC if the mailbox is single-producer single-consumer */
    unsigned on_full;      /* IPCX_FULL_* chosen at creation */
    unsigned senders;      /* live endpoints that may send */
    unsigned receivers;    /* live endpoints that may receive */
    int64_t created_ns;    /* CLOCK_REALTIME at creation */
    uint64_t buffer_size;  /* ring bytes */
    uint64_t max_msg;      /* largest message */
    uint64_t msgs_waiting; /* messages sent and not yet received */
} ipcx_mailbox_info;

/*
 * Describes the mailbox named by url without joining it (no endpoint is
 * made; nothing in it changes). Errors: IPCX_ENOENT, IPCX_EACCES,
 * IPCX_ENOTSUP (a scheme without such state), IPCX_EBADURL, IPCX_EINVAL,
 * IPCX_ENAMETOOLONG. A mailbox of another segment layout is reported with
 * state IPCX_EVERSION, one that fails validation with IPCX_ECORRUPT. On
 * failure *info is untouched.
 */
IPCX_API int ipcx_inspect(const char *url, ipcx_mailbox_info *info);

/*
 * Calls fn once per mailbox of scheme ("shm") on this machine, in no set
 * order, until fn returns non-zero (that value is returned). Returns 0 after
 * the last one, or an error (IPCX_ENOTSUP, IPCX_ENOSCHEME, IPCX_EINVAL).
 */
IPCX_API int ipcx_list(const char *scheme, int (*fn)(const ipcx_mailbox_info *info, void *arg),
                       void *arg);

/* The library's version string, as IPCX_VERSION_STRING at build time. */
IPCX_API const char *ipcx_version(void);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_H */
