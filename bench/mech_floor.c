/*
 * mech_floor.c: the hardware floors. Four mechanisms that move messages
 * through one shared anonymous mapping made before fork, with nothing between
 * the two processes but C11 atomics (and, for floor-futex, the futex syscall):
 * the least any shared-memory transport can cost for latency (one spinning
 * cache line), small-message throughput (a bare spinning ring), a wake-up (a
 * bare futex mailbox) and bulk copying (memcpy in and out of one slot). They
 * carry every byte of every message through shared memory, so the workloads'
 * checks hold, and keep message boundaries at any size. They must never use
 * the library, frame, allocate or sleep in a way the figure they stand for
 * does not need; a spin or a sleep that waits on a dead peer must end (-EPIPE).
 */
#include "mech.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Indices written by different processes sit 128 bytes apart, not 64: the
 * L2 adjacent-line prefetcher fetches 128-byte pairs, which would make two
 * 64-byte neighbours bounce together.
 */
#define FLOOR_SEP 128
/* The first page of the mapping holds the control block; directions follow. */
#define FLOOR_CTL_SIZE 4096
/*
 * Largest single memcpy: glibc 2.36 on AMD drops `rep movsb` at the L2 size
 * (1 MiB here). Measured through floor-memcpy: 1 MiB and 4 MiB messages moved
 * 17-21 GB/s in 512 KiB pieces and 5.3-5.6 GB/s in one memcpy each.
 */
#define FLOOR_COPY_MAX ((size_t)512 << 10)
/*
 * floor-ring: data bytes per direction (a power of two) and the largest
 * record payload. Records of 64-256 KiB streamed 1 MiB messages at about
 * 21 GB/s through 1 MiB; 512 KiB records at 15 GB/s (two no longer fit the
 * ring at once). 4 MiB, like the shm transport's default ring: larger than
 * a core's L2, it streamed 64 KiB messages 8% faster (docs/bench.md).
 */
#define RING_SIZE  ((uint64_t)4 << 20)
#define RING_PIECE ((uint64_t)256 << 10)
#define RING_MORE  ((uint64_t)1 << 63) /* record header flag: more pieces of this message follow */
/* Spins between two checks that the peer still lives (about 1 M). */
#define FLOOR_CHECK_MASK ((1u << 20) - 1)
/* floor-futex: a sleep lasts at most this long before the peer is checked. */
#define FLOOR_FUTEX_CHECK_NS 100000000L
/* floor-futex word: bit 0 = a waiter sleeps (or is about to), bits 1..31 = epoch. */
#define EC_WAITER 1u
#define EC_EPOCH  0x7fffffffu

/* Shared, first page: who the child is, so the parent can tell it has died. */
struct floor_ctl {
    _Atomic int child_pid;
};

/* floor-ring and floor-memcpy, one per direction: each index on lines of its own. */
struct floor_dir {
    _Alignas(FLOOR_SEP) _Atomic uint64_t prod; /* written by the producer only */
    _Alignas(FLOOR_SEP) _Atomic uint64_t cons; /* written by the consumer only */
    _Alignas(FLOOR_SEP) unsigned char data[];
};

/* floor-futex, one per direction: two event counts (waiter bit + epoch), then the slot. */
struct floor_fdir {
    _Alignas(FLOOR_SEP) _Atomic uint32_t full;  /* epoch = messages put in; the receiver waits */
    _Alignas(FLOOR_SEP) _Atomic uint32_t empty; /* epoch = messages taken out; the sender waits */
    _Alignas(FLOOR_SEP) unsigned char data[];
};

/*
 * floor-cacheline, one per process, written by its owner only: its word
 * (low half: messages sent; high half: the peer's messages consumed) with the
 * payload right after it, so up to 56 B travel in the word's own line; and,
 * on a line of its own, the count of the peer's messages consumed, which only
 * a sender that is ahead (a stream) needs to read.
 */
struct floor_line {
    _Alignas(FLOOR_SEP) _Atomic uint64_t ack;
    _Alignas(FLOOR_SEP) _Atomic uint64_t word;
    unsigned char data[];
};

/* Pre-fork state: the mapping (inherited by the child) and the parent's pid. */
struct floor_setup {
    unsigned char *base;
    size_t len;
    size_t region; /* bytes per direction, a multiple of the page size */
    pid_t parent;
};

/*
 * One process's end. tx is the direction it produces into (for
 * floor-cacheline: its own line), rx the one it consumes from. The positions
 * are message counts or byte positions, as each mechanism says; *_peer is
 * this process's cached copy of the other side's index.
 */
struct floor_ep {
    unsigned char *base;
    unsigned char *tx, *rx;
    pid_t parent;
    int side;
    uint64_t tx_pos, tx_peer;
    uint64_t rx_pos, rx_peer;
};

_Static_assert(sizeof(struct floor_setup) <= MECH_STATE_MAX, "floor_setup too large");
_Static_assert(sizeof(struct floor_ep) <= MECH_STATE_MAX, "floor_ep too large");
_Static_assert(sizeof(struct floor_ctl) <= FLOOR_CTL_SIZE, "floor_ctl too large");
_Static_assert(offsetof(struct floor_line, data) - offsetof(struct floor_line, word) == 8,
               "the payload must share the word's line");
_Static_assert(offsetof(struct floor_dir, cons) - offsetof(struct floor_dir, prod) >= FLOOR_SEP,
               "indices must not share lines");
_Static_assert(sizeof(_Atomic uint32_t) == 4 && ATOMIC_INT_LOCK_FREE == 2,
               "a futex word must be a plain lock-free 32-bit word");
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2, "64-bit indices must be lock-free");
_Static_assert((RING_SIZE & (RING_SIZE - 1)) == 0 && RING_SIZE % 8 == 0, "ring size");
_Static_assert(8 + RING_PIECE <= RING_SIZE, "a record must fit the ring");

static struct floor_setup *floor_setup_of(struct mech_setup *s)
{
    return (struct floor_setup *)s->u.bytes;
}
static const struct floor_setup *floor_csetup_of(const struct mech_setup *s)
{
    return (const struct floor_setup *)s->u.bytes;
}
static struct floor_ep *floor_ep_of(struct mech_ep *ep)
{
    return (struct floor_ep *)ep->u.bytes;
}
static struct floor_ctl *floor_ctl_of(const struct floor_ep *e)
{
    return (struct floor_ctl *)(void *)e->base;
}

/* --- Shared by all floors. ------------------------------------------------ */

/* memcpy in pieces below glibc's 1 MiB cliff (see FLOOR_COPY_MAX). */
static void floor_copy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n > FLOOR_COPY_MAX) {
        memcpy(d, s, FLOOR_COPY_MAX);
        d += FLOOR_COPY_MAX;
        s += FLOOR_COPY_MAX;
        n -= FLOOR_COPY_MAX;
    }
    memcpy(d, s, n);
}

/*
 * Whether the peer has died. The child compares getppid() with the pid the
 * parent recorded; the parent asks waitid() without reaping (WNOWAIT), since
 * a dead child stays a zombie, which kill(pid, 0) would call alive.
 */
static int floor_peer_gone(const struct floor_ep *e)
{
    siginfo_t si;
    pid_t pid;
    if (e->side == SIDE_CHILD)
        return getppid() != e->parent;
    pid = atomic_load_explicit(&floor_ctl_of(e)->child_pid, memory_order_relaxed);
    if (pid <= 0)
        return 0;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
        return errno != EINTR; /* ECHILD: already gone */
    return si.si_pid != 0;
}

/*
 * The spin hint. Measured on the 2-vCPU EPYC guest: with `pause` the
 * cache-line ping-pong ran at 0.21 us one way and one-slot streams at 2.3 M
 * msg/s, without it 0.30 us and 1.6 M (a tight load loop keeps stealing the
 * line back from the writer).
 */
static inline void floor_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/*
 * One turn of a spin loop. Every ~1 M turns it checks the peer (-EPIPE if it
 * died) and yields the cpu, so a run without two cpus still makes progress;
 * the fast path is one pause and one counter.
 */
static inline int floor_spin(const struct floor_ep *e, uint32_t *spins)
{
    floor_relax();
    if ((++*spins & FLOOR_CHECK_MASK) != 0)
        return 0;
    if (floor_peer_gone(e))
        return -EPIPE;
    sched_yield();
    return 0;
}

/* Maps ctl page + two regions of `region` bytes (rounded up to pages), shared across fork. */
static int floor_setup_common(struct mech_setup *s, size_t region)
{
    struct floor_setup *f = floor_setup_of(s);
    region = (region + FLOOR_CTL_SIZE - 1) & ~(size_t)(FLOOR_CTL_SIZE - 1);
    f->region = region;
    f->len = FLOOR_CTL_SIZE + 2 * region;
    f->parent = getpid();
    f->base = mmap(NULL, f->len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (f->base == MAP_FAILED) {
        f->base = NULL;
        return -errno;
    }
    return 0; /* anonymous memory is zero: every index, word and count starts at 0 */
}

static int floor_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct floor_setup *f = floor_csetup_of(s);
    struct floor_ep *e = floor_ep_of(ep);
    memset(e, 0, sizeof *e);
    e->base = f->base;
    e->parent = f->parent;
    e->side = ep->side;
    /* Direction 0 carries parent -> child, direction 1 child -> parent. */
    e->tx = f->base + FLOOR_CTL_SIZE + (size_t)ep->side * f->region;
    e->rx = f->base + FLOOR_CTL_SIZE + (size_t)(1 - ep->side) * f->region;
    if (ep->side == SIDE_CHILD)
        atomic_store_explicit(&floor_ctl_of(e)->child_pid, (int)getpid(), memory_order_relaxed);
    return 0;
}

/* The mapping belongs to the setup: the parent's teardown unmaps it, the child's exit drops it. */
static void floor_close(struct mech_ep *ep)
{
    memset(floor_ep_of(ep), 0, sizeof(struct floor_ep));
}

static void floor_teardown(struct mech_setup *s)
{
    struct floor_setup *f = floor_setup_of(s);
    if (f->base != NULL)
        munmap(f->base, f->len);
    f->base = NULL;
}

/* --- floor-cacheline: one line per process, a counter and the payload. ------ */

/*
 * A send writes the payload after its word and stores the word (release); a
 * receive spins (acquire) on the peer's word until its count moves, copies
 * out and stores its ack line. The word also carries the sender's ack count,
 * so in a ping-pong the reply itself tells the sender its previous message
 * was taken and nobody reads an ack line: each one-way trip hands over one
 * line, the line the receiver spins on, and nothing else moves. A stream's
 * sender, being ahead, spins on the peer's ack line instead (one message in
 * flight). Up to 56 B this is the one-line latency floor; a 64 B message
 * spills 8 B into the next line, and larger ones stream through the following
 * lines (there the figure is a copy, not a floor). The 32-bit counts wrap
 * harmlessly: only equality and signed differences are used.
 */
static int cl_setup(struct mech_setup *s)
{
    return floor_setup_common(s, offsetof(struct floor_line, data) + s->msg_size);
}

/* tx_peer = how many of this side's messages the peer is known to have taken. */
static void cl_learn_ack(struct floor_ep *e, uint32_t ack)
{
    if ((int32_t)(ack - (uint32_t)e->tx_peer) > 0)
        e->tx_peer = ack;
}

static int cl_send(struct mech_ep *ep, const void *buf)
{
    struct floor_ep *e = floor_ep_of(ep);
    struct floor_line *mine = (struct floor_line *)(void *)e->tx;
    struct floor_line *peer = (struct floor_line *)(void *)e->rx;
    uint32_t spins = 0;
    while ((uint32_t)e->tx_peer != (uint32_t)e->tx_pos) {
        cl_learn_ack(e, (uint32_t)atomic_load_explicit(&peer->ack, memory_order_acquire));
        if ((uint32_t)e->tx_peer == (uint32_t)e->tx_pos)
            break;
        if (floor_spin(e, &spins) < 0)
            return -EPIPE;
    }
    floor_copy(mine->data, buf, ep->msg_size);
    e->tx_pos++;
    atomic_store_explicit(&mine->word, (uint64_t)(uint32_t)e->tx_pos | e->rx_pos << 32,
                          memory_order_release);
    return 0;
}

static int cl_recv(struct mech_ep *ep, void *buf)
{
    struct floor_ep *e = floor_ep_of(ep);
    struct floor_line *mine = (struct floor_line *)(void *)e->tx;
    struct floor_line *peer = (struct floor_line *)(void *)e->rx;
    uint32_t spins = 0;
    uint64_t w;
    while ((uint32_t)(w = atomic_load_explicit(&peer->word, memory_order_acquire)) ==
           (uint32_t)e->rx_pos)
        if (floor_spin(e, &spins) < 0)
            return -EPIPE;
    cl_learn_ack(e, (uint32_t)(w >> 32));
    floor_copy(buf, peer->data, ep->msg_size);
    e->rx_pos++;
    atomic_store_explicit(&mine->ack, e->rx_pos, memory_order_release);
    return 0;
}

/* --- floor-ring: a bare SPSC byte ring per direction. ----------------------- */

/*
 * Positions are free-running byte counts (index = pos & (RING_SIZE - 1)):
 * prod is the producer's head, cons the consumer's tail. A record is an 8-byte
 * header (payload length, RING_MORE if more pieces follow) and the payload
 * padded to 8 bytes; headers never straddle the end (the ring size and every
 * position are multiples of 8), payloads may, and are copied in two parts.
 * One store of the head publishes a whole record, so a consumer that sees
 * head > tail has a whole record. A message longer than RING_PIECE travels as
 * several records: that bounds every memcpy below glibc's 1 MiB cliff and lets
 * the consumer copy one piece out while the producer copies the next in.
 * Each side reads the other's index only when its cached copy says it must.
 */
static int ring_setup(struct mech_setup *s)
{
    return floor_setup_common(s, offsetof(struct floor_dir, data) + RING_SIZE);
}

static uint64_t ring_pad8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

static int ring_send(struct mech_ep *ep, const void *buf)
{
    struct floor_ep *e = floor_ep_of(ep);
    struct floor_dir *d = (struct floor_dir *)(void *)e->tx;
    const unsigned char *p = buf;
    uint64_t left = ep->msg_size;
    do {
        uint64_t len = left < RING_PIECE ? left : RING_PIECE;
        uint64_t rec = 8 + ring_pad8(len), head = e->tx_pos;
        uint64_t hdr = len | (len < left ? RING_MORE : 0);
        uint32_t spins = 0;
        while (RING_SIZE - (head - e->tx_peer) < rec) {
            e->tx_peer = atomic_load_explicit(&d->cons, memory_order_acquire);
            if (RING_SIZE - (head - e->tx_peer) >= rec)
                break;
            if (floor_spin(e, &spins) < 0)
                return -EPIPE;
        }
        uint64_t at = head & (RING_SIZE - 1);
        memcpy(d->data + at, &hdr, sizeof hdr);
        at = (at + 8) & (RING_SIZE - 1);
        uint64_t first = RING_SIZE - at < len ? RING_SIZE - at : len;
        memcpy(d->data + at, p, first);
        if (first < len)
            memcpy(d->data, p + first, len - first);
        e->tx_pos = head + rec;
        atomic_store_explicit(&d->prod, e->tx_pos, memory_order_release);
        p += len;
        left -= len;
    } while (left > 0);
    return 0;
}

static int ring_recv(struct mech_ep *ep, void *buf)
{
    struct floor_ep *e = floor_ep_of(ep);
    struct floor_dir *d = (struct floor_dir *)(void *)e->rx;
    unsigned char *p = buf;
    uint64_t left = ep->msg_size, hdr;
    do {
        uint64_t tail = e->rx_pos;
        uint32_t spins = 0;
        while (e->rx_peer == tail) {
            e->rx_peer = atomic_load_explicit(&d->prod, memory_order_acquire);
            if (e->rx_peer != tail)
                break;
            if (floor_spin(e, &spins) < 0)
                return -EPIPE;
        }
        uint64_t at = tail & (RING_SIZE - 1);
        memcpy(&hdr, d->data + at, sizeof hdr);
        uint64_t len = hdr & ~RING_MORE;
        if (len > left || len > RING_PIECE || ((hdr & RING_MORE) != 0) != (len < left))
            return -EPROTO; /* the record disagrees with the size both sides know */
        at = (at + 8) & (RING_SIZE - 1);
        uint64_t first = RING_SIZE - at < len ? RING_SIZE - at : len;
        memcpy(p, d->data + at, first);
        if (first < len)
            memcpy(p + first, d->data, len - first);
        e->rx_pos = tail + 8 + ring_pad8(len);
        atomic_store_explicit(&d->cons, e->rx_pos, memory_order_release);
        p += len;
        left -= len;
    } while ((hdr & RING_MORE) != 0);
    return 0;
}

/* --- floor-futex: a one-slot mailbox per direction, sleeping on futexes. ----- */

/*
 * Each direction has a slot and two event counts, `full` (epoch = messages
 * put in, the receiver sleeps on it) and `empty` (epoch = messages taken out,
 * the sender sleeps on it when the slot is still occupied). A waiter loads the
 * word; if the epoch says "not yet" it sets the waiter bit with an atomic OR,
 * re-checks the epoch that OR returned, and sleeps with FUTEX_WAIT only on
 * exactly that value (epoch unchanged, bit set). A notifier bumps the epoch
 * and clears the bit in one CAS and calls FUTEX_WAKE only if the bit was set.
 * Everything lives in one word, so the order of the OR and the CAS decides
 * alone: either the waiter sees the new epoch, or the notifier sees the bit,
 * and the kernel's compare in FUTEX_WAIT closes the gap between bit and
 * sleep. Clearing the bit on wake makes the next notify free when nobody
 * sleeps. There is no spinning at all: a receiver that finds nothing sleeps,
 * so a ping-pong costs one wake-up per message (a stream, up to two).
 * Sleeps are bounded (100 ms) only to notice a dead peer.
 */
static int fx_setup(struct mech_setup *s)
{
    return floor_setup_common(s, offsetof(struct floor_fdir, data) + s->msg_size);
}

static long fx_futex(_Atomic uint32_t *w, int op, uint32_t val, const struct timespec *ts)
{
    /* Not FUTEX_PRIVATE_FLAG: the word is shared between two address spaces. */
    return syscall(SYS_futex, (uint32_t *)w, op, val, ts, NULL, 0);
}

/* Waits until the epoch of *w differs from stale (mod 2^31); 0 or -EPIPE. */
static int fx_wait(const struct floor_ep *e, _Atomic uint32_t *w, uint64_t stale64)
{
    const struct timespec ts = {0, FLOOR_FUTEX_CHECK_NS};
    uint32_t stale = (uint32_t)stale64 & EC_EPOCH;
    for (;;) {
        uint32_t v = atomic_load_explicit(w, memory_order_acquire);
        if ((v >> 1) != stale)
            return 0;
        v = atomic_fetch_or_explicit(w, EC_WAITER, memory_order_acq_rel);
        if ((v >> 1) != stale)
            return 0;
        if (fx_futex(w, FUTEX_WAIT, (stale << 1) | EC_WAITER, &ts) < 0 && errno == ETIMEDOUT &&
            floor_peer_gone(e))
            return -EPIPE;
        /* Woken, EAGAIN (the word moved), EINTR or a timeout: look again. */
    }
}

/* Bumps the epoch of *w (publishing what came before) and wakes a sleeper if there is one. */
static void fx_notify(_Atomic uint32_t *w)
{
    uint32_t old = atomic_load_explicit(w, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(w, &old, (old & ~EC_WAITER) + 2,
                                                  memory_order_release, memory_order_relaxed))
        ;
    if (old & EC_WAITER)
        (void)fx_futex(w, FUTEX_WAKE, 1, NULL);
}

static int fx_send(struct mech_ep *ep, const void *buf)
{
    struct floor_ep *e = floor_ep_of(ep);
    struct floor_fdir *d = (struct floor_fdir *)(void *)e->tx;
    /* One slot: message tx_pos may go in once message tx_pos - 1 was taken out. */
    int rc = fx_wait(e, &d->empty, e->tx_pos - 1);
    if (rc < 0)
        return rc;
    floor_copy(d->data, buf, ep->msg_size);
    e->tx_pos++;
    fx_notify(&d->full);
    return 0;
}

static int fx_recv(struct mech_ep *ep, void *buf)
{
    struct floor_ep *e = floor_ep_of(ep);
    struct floor_fdir *d = (struct floor_fdir *)(void *)e->rx;
    int rc = fx_wait(e, &d->full, e->rx_pos);
    if (rc < 0)
        return rc;
    floor_copy(buf, d->data, ep->msg_size);
    e->rx_pos++;
    fx_notify(&d->empty);
    return 0;
}

/* --- floor-memcpy: one slot per direction, memcpy in and out. ---------------- */

/*
 * The bulk-copy floor: the two copies every copying transport makes (into
 * shared memory, out of it) and nothing else, no headers, no wrap. Each
 * direction is one slot of the message's size; prod and cons are free-running
 * byte counts (message k occupies [k*size, (k+1)*size)). The sender waits until
 * the previous message has been drained, then copies in pieces of at most
 * FLOOR_COPY_MAX, publishing each piece, so the receiver copies piece i out
 * while piece i+1 goes in; the receiver acknowledges once the whole message is
 * out. We chose this over a mechanism whose send is one big memcpy into a
 * large buffer: that one would measure one copy rather than the round of two
 * a message costs, and a slot that is reused every message keeps the figure
 * to the copies themselves (the buffer stays cache-resident as a transport's
 * would) instead of adding page faults or eviction of a buffer larger than
 * the caches. Successive messages do not overlap: that is what floor-ring adds.
 */
static int mc_setup(struct mech_setup *s)
{
    return floor_setup_common(s, offsetof(struct floor_dir, data) + s->msg_size);
}

static int mc_send(struct mech_ep *ep, const void *buf)
{
    struct floor_ep *e = floor_ep_of(ep);
    struct floor_dir *d = (struct floor_dir *)(void *)e->tx;
    const unsigned char *p = buf;
    uint64_t start = e->tx_pos, size = ep->msg_size, off = 0;
    uint32_t spins = 0;
    while (e->tx_peer != start) {
        e->tx_peer = atomic_load_explicit(&d->cons, memory_order_acquire);
        if (e->tx_peer == start)
            break;
        if (floor_spin(e, &spins) < 0)
            return -EPIPE;
    }
    do {
        uint64_t n = size - off < FLOOR_COPY_MAX ? size - off : FLOOR_COPY_MAX;
        memcpy(d->data + off, p + off, n);
        off += n;
        atomic_store_explicit(&d->prod, start + off, memory_order_release);
    } while (off < size);
    e->tx_pos = start + size;
    return 0;
}

static int mc_recv(struct mech_ep *ep, void *buf)
{
    struct floor_ep *e = floor_ep_of(ep);
    struct floor_dir *d = (struct floor_dir *)(void *)e->rx;
    unsigned char *p = buf;
    uint64_t start = e->rx_pos, size = ep->msg_size, got = 0;
    do {
        uint32_t spins = 0;
        while (e->rx_peer - start <= got) {
            e->rx_peer = atomic_load_explicit(&d->prod, memory_order_acquire);
            if (e->rx_peer - start > got)
                break;
            if (floor_spin(e, &spins) < 0)
                return -EPIPE;
        }
        uint64_t avail = e->rx_peer - start;
        if (avail > size)
            return -EPROTO; /* the sender ran past a message it knows the size of */
        floor_copy(p + got, d->data + got, avail - got);
        got = avail;
    } while (got < size);
    e->rx_pos = start + size;
    atomic_store_explicit(&d->cons, e->rx_pos, memory_order_release);
    return 0;
}

/* --- The tables. ------------------------------------------------------------ */

const struct mech mech_floor_cacheline = {
    .name = "floor-cacheline",
    .baseline = NULL,
    .what = "floor: one line per process, counter + payload (<= 56 B in one line), spinning; "
            "one-way latency floor",
    .flags = MECH_F_SPINS,
    .setup = cl_setup,
    .open = floor_open,
    .connect = NULL,
    .send = cl_send,
    .recv = cl_recv,
    .close = floor_close,
    .teardown = floor_teardown,
};

const struct mech mech_floor_ring = {
    .name = "floor-ring",
    .baseline = NULL,
    .what = "floor: bare SPSC ring per direction (4 MiB, 8 B length + payload), spinning; "
            "small-message throughput floor",
    .flags = MECH_F_SPINS,
    .setup = ring_setup,
    .open = floor_open,
    .connect = NULL,
    .send = ring_send,
    .recv = ring_recv,
    .close = floor_close,
    .teardown = floor_teardown,
};

const struct mech mech_floor_futex = {
    .name = "floor-futex",
    .baseline = NULL,
    .what = "floor: one-slot mailbox per direction, FUTEX_WAIT/WAKE (waiter bit + epoch), "
            "never spins; wake-up floor",
    .setup = fx_setup,
    .open = floor_open,
    .connect = NULL,
    .send = fx_send,
    .recv = fx_recv,
    .close = floor_close,
    .teardown = floor_teardown,
};

const struct mech mech_floor_memcpy = {
    .name = "floor-memcpy",
    .baseline = NULL,
    .what = "floor: one slot per direction, memcpy in/out in <= 512 KiB pieces, spinning; "
            "bulk-copy floor",
    .flags = MECH_F_SPINS,
    .setup = mc_setup,
    .open = floor_open,
    .connect = NULL,
    .send = mc_send,
    .recv = mc_recv,
    .close = floor_close,
    .teardown = floor_teardown,
};
