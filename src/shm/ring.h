/*
 * ring.h: the shared-memory message engine of one endpoint: a byte ring of
 * variable-size records in a segment, written by one sender at a time and
 * read by one receiver at a time (a lock word per side in shared memory,
 * which also keeps apart threads sharing an endpoint), with spin-then-futex
 * waiting, chunking for messages
 * larger than a record, overwrite of the oldest message, and a doorbell for
 * pollfd. The transport file (src/transport/shm.c) only adapts this to the
 * ops table.
 */
#ifndef IPCX_SHM_RING_H
#define IPCX_SHM_RING_H

#include <stdatomic.h>
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
    int cons_held;       /* this endpoint keeps cons_lock across calls (mid-message) */
    unsigned watch_role; /* pairs: the peer's role; a wait that finds it gone is IPCX_EPIPE */
    /* Messages the fast entry points moved (the core counts the others); written under
     * the side's lock word, read by stats from any thread. */
    _Atomic uint64_t fast_sent, fast_received;
    /* Where the fast entry points go when they cannot finish at once: the transport's
     * general path for the same call, on owner (see shm_ring_set_general). */
    void *owner;
    int (*send_general)(void *owner, const void *buf, size_t len, int64_t timeout);
    int (*recv_general)(void *owner, void *buf, size_t cap, size_t *lenp, int64_t timeout);
    struct {
        unsigned char *dst; /* where the message is assembled */
        uint64_t total;     /* its announced length */
        uint64_t got;       /* bytes so far */
        uint64_t cap;       /* bytes dst holds: total, or less while ours (it grows) */
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
 * The fast entry points, for ipcx_send / ipcx_recv of one flat buffer (ring
 * is the struct shm_ring: the ops table points here, with no adaptor),
 * callable from any thread without the endpoint's locks (the side's lock
 * word keeps calls apart). fast_send moves a message of len <= chunk_max
 * bytes that fits at tail now; fast_recv the next message if it is
 * published, whole and fits cap. Either counts it and returns 0; otherwise
 * it changes nothing and returns what the general path set by
 * shm_ring_set_general answers for the same call (a tail call). fast_recv
 * must not be called once shm_ring_pollfd has been: the doorbell is re-armed
 * by the general path only.
 */
int shm_ring_fast_send(void *ring, const void *buf, size_t len, int64_t timeout);
int shm_ring_fast_recv(void *ring, void *buf, size_t cap, size_t *lenp, int64_t timeout);
void shm_ring_set_general(struct shm_ring *r, void *owner,
                          int (*send_general)(void *owner, const void *buf, size_t len,
                                              int64_t timeout),
                          int (*recv_general)(void *owner, void *buf, size_t cap, size_t *lenp,
                                              int64_t timeout));
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

/* The doorbell fd: readable while a message waits (or after a spurious ring). From the
 * first call on, receives must take the general path (shm_ring_recv). */
int shm_ring_pollfd(struct shm_ring *r);

/* Messages waiting, and the other live endpoints by role (for ipcx_get_stats' peers_now). */
void shm_ring_counts(const struct shm_ring *r, uint64_t *waiting, unsigned *senders,
                     unsigned *receivers);

#endif
