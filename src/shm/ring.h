/*
 * ring.h: the shared-memory message engine of one endpoint: a byte ring of
 * variable-size records in a segment, written by one sender at a time and
 * read by one receiver at a time (a lock per side in shared memory, none in
 * SPSC mailboxes), with spin-then-futex waiting, chunking for messages
 * larger than a record, overwrite of the oldest message, and a doorbell for
 * pollfd. The transport file (src/transport/shm.c) only adapts this to the
 * ops table.
 */
#ifndef IPCX_SHM_RING_H
#define IPCX_SHM_RING_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "os/os.h"
#include "shm/segment.h"

struct shm_ring {
    struct shm_seg seg;
    int64_t spin_ns;     /* <0 spin only; >0 budget before sleeping */
    uint64_t head_cache; /* the sender's last view of head */
    uint64_t want_end;   /* a waiting sender needs head >= want_end - ring_size */
    int prod_locks;      /* senders take prod_lock (several senders possible) */
    int cons_locks;      /* receivers take cons_lock */
    int cons_held;       /* this endpoint keeps cons_lock across calls (mid-message) */
    unsigned tx_mode;    /* SHM_TX_*: nonzero, sends skip the lock-free fast path */
    unsigned rx_mode;    /* SHM_RX_*: the same for receives */
    unsigned watch_role; /* pairs: the peer's role; a wait that finds it gone is IPCX_EPIPE */
    struct {
        unsigned char *dst; /* where the message is assembled */
        uint64_t total;     /* its announced length */
        uint64_t got;       /* bytes so far */
        int own;            /* dst is ours (malloc), not the caller's */
        int active;
    } as;
    int loan_active;    /* a loan holds the send side (until commit or cancel) */
    uint64_t loan_pos;  /* its record's position */
    size_t loan_size;   /* and its capacity */
    int view_active;    /* a view holds the receive side (until release) */
    uint64_t view_pos;  /* its record's position */
    uint64_t view_size; /* and its size in the ring */
    int bell_fd;        /* pollfd: our doorbell, or -1 */
    int bell_tx;        /* socket we ring others' doorbells with, or -1 */
    uint64_t dropped;   /* orphan chunks and torn messages this endpoint discarded */
};

/* Why a side's fast path is not the lock-free one (one word each, one test on the fast path). */
#define SHM_TX_LOCKS 0x1u /* prod_locks */
#define SHM_TX_LOAN  0x2u /* loan_active */
#define SHM_RX_LOCKS 0x1u /* cons_locks */
#define SHM_RX_SLOW  0x2u /* a view, an assembly, a pollfd or a held lock: no fast path */

/* Where a receive goes (mirrors struct ipcx__rbuf, kept separate so shm/ needs no transport
 * header). */
struct shm_dst {
    void *buf;
    size_t cap;
    size_t len;
    int alloc;
};

int shm_ring_open(struct shm_ring *r, const char *name, const struct shm_geom *g, unsigned create,
                  unsigned role, int64_t spin_ns);
void shm_ring_close(struct shm_ring *r);

/*
 * One direction of a pair: tx sends and rx receives on a new anonymous
 * single-producer single-consumer segment. Each end watches the other: a
 * receive that finds the ring empty and the sender gone, or a send that
 * finds it full and the receiver gone, answers IPCX_EPIPE.
 */
int shm_ring_pair(struct shm_ring *tx, struct shm_ring *rx, const struct shm_geom *g,
                  int64_t spin_ns);

/* One message of len bytes gathered from iov; all or nothing; waits until dl. */
int shm_ring_send(struct shm_ring *r, const struct iovec *iov, int niov, size_t len,
                  ipcx__deadline dl);
/*
 * Without waiting: one message of len <= chunk_max bytes that fits at tail
 * now (0), or nothing done (1), for ipcx_send's fast path. try_recv: the
 * next message if it is published, whole and fits cap (0), else nothing
 * (1). Neither returns an error: the general calls find and report those.
 */
int shm_ring_try_send(struct shm_ring *r, const void *buf, size_t len);
int shm_ring_try_recv(struct shm_ring *r, void *buf, size_t cap, size_t *lenp);
/*
 * One message into buf (cap bytes), or into a new buffer stored in *allocp
 * when allocp is not NULL; its length in *lenp. IPCX_EMSGSIZE keeps it first
 * in line with *lenp = the size needed.
 */
int shm_ring_recv(struct shm_ring *r, void *buf, size_t cap, size_t *lenp, void **allocp,
                  ipcx__deadline dl);
/*
 * Zero copy. loan: room for up to size bytes (at most a quarter of the ring)
 * inside the ring, the send side held until commit (publishes len <= size
 * bytes) or cancel (commit with cancel set: nothing is sent). view: the next
 * message in place, the receive side held until release. Both answer
 * IPCX_EINVAL for a pointer that is not the outstanding loan or view, so a
 * double commit or release is an error, never a corruption.
 */
int shm_ring_loan(struct shm_ring *r, size_t size, void **bufp, ipcx__deadline dl);
int shm_ring_commit(struct shm_ring *r, const void *buf, size_t len, int cancel);
int shm_ring_view(struct shm_ring *r, const void **bufp, size_t *lenp, ipcx__deadline dl);
int shm_ring_release(struct shm_ring *r, const void *buf);

/* The doorbell fd: readable while a message waits (or after a spurious ring). */
int shm_ring_pollfd(struct shm_ring *r);

/* Messages waiting, and the other live endpoints by role (for ipcx_get_stats' peers_now). */
void shm_ring_counts(const struct shm_ring *r, uint64_t *waiting, unsigned *senders,
                     unsigned *receivers);

#endif
