/*
 * ring.c: records in the shared byte ring (see layout.h and docs/design.md).
 *
 * Positions are 64-bit byte offsets that only grow; a record lives at
 * position & mask and never wraps (a PAD record fills the end of the ring
 * instead). One sender at a time writes: it reserves room against its
 * cached copy of head, writes the payload, publishes the record by storing
 * its seq word with release order, then advances tail. One receiver at a
 * time reads: it polls the seq word at head (never the sender's line),
 * copies, and advances head with release order. Every value read from the
 * segment is checked before it sizes or places a copy: a bad one is
 * IPCX_ECORRUPT, never an access outside the ring.
 *
 * Each side has a lock word in the segment, which every send or receive
 * holds (uncontended in an SPSC mailbox; it also keeps apart threads that
 * share an endpoint, so the fast entry points need no other lock; overwrite
 * takes the receive side's from a sender to drop the oldest message). A
 * process that dies holding a lock is replaced by the next waiter, which
 * repairs tail (a sender may die between publishing and advancing tail) and
 * otherwise finds the ring consistent, because head and tail only move after
 * the work they describe is done.
 */
#include "shm/ring.h"

#include <stdlib.h>
#include <string.h>

#include <ipcx.h>

#include "os/alloc.h"
#include "os/shmem.h"
#include "shm/perturb.h"
#include "shm/sync.h"

/* The fast paths are inlined into the entry points; the general paths stay out of their way. */
#define IPCX__HOT  inline __attribute__((always_inline))
#define IPCX__COLD __attribute__((noinline, cold))

#define COPY_PIECE ((size_t)512 << 10) /* glibc's memcpy slows down from 1 MiB on (MEASURED.md) */

static inline struct shm_rec *rec_at(const struct shm_ring *r, uint64_t pos)
{
    return (struct shm_rec *)(r->seg.ring + (pos & r->seg.mask));
}

/* shm_seq (layout.h), with the key and the COMMIT state xored once at open. */
static inline uint64_t seq_of(const struct shm_ring *r, uint64_t pos, unsigned st)
{
    return shm_seq(pos, 0, st == SHM_ST_COMMIT ? r->seg.key_commit : r->seg.key | st);
}

static void copy(void *dst, const void *src, size_t n)
{
    if (n == 0)
        return; /* an empty message may come with NULL pointers: memcpy must not see them */
    while (n > COPY_PIECE) {
        memcpy(dst, src, COPY_PIECE);
        dst = (char *)dst + COPY_PIECE;
        src = (const char *)src + COPY_PIECE;
        n -= COPY_PIECE;
    }
    memcpy(dst, src, n);
}

/*
 * The fast paths' copy of n <= 64 bytes: a few overlapping moves, inlined (no
 * call, so the fast paths need no saved registers). The source and the
 * destination never overlap (one is in the ring, the other not).
 */
static IPCX__HOT void copy_small(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (n > 32) {
        __builtin_memcpy(d, s, 32);
        __builtin_memcpy(d + n - 32, s + n - 32, 32);
    } else if (n >= 16) {
        __builtin_memcpy(d, s, 16);
        __builtin_memcpy(d + n - 16, s + n - 16, 16);
    } else if (n >= 8) {
        __builtin_memcpy(d, s, 8);
        __builtin_memcpy(d + n - 8, s + n - 8, 8);
    } else if (n >= 4) {
        __builtin_memcpy(d, s, 4);
        __builtin_memcpy(d + n - 4, s + n - 4, 4);
    } else if (n > 0) {
        d[0] = s[0];
        d[n / 2] = s[n / 2];
        d[n - 1] = s[n - 1];
    }
}

static int shm_ring_send_slow(struct shm_ring *r, const struct iovec *iov, int niov, size_t len,
                              ipcx__deadline dl);

/* A cursor over the sender's iovec, so chunks can take consecutive slices. */
struct gather {
    const struct iovec *iov;
    int niov;
    int i;
    size_t off;
};

static void gather_copy(struct gather *g, unsigned char *dst, size_t n)
{
    while (n > 0 && g->i < g->niov) {
        size_t take = g->iov[g->i].iov_len - g->off;
        if (take > n)
            take = n;
        if (take) /* an empty piece may be {NULL, 0}: no pointer arithmetic on it */
            copy(dst, (const char *)g->iov[g->i].iov_base + g->off, take);
        dst += take;
        n -= take;
        g->off += take;
        if (g->off == g->iov[g->i].iov_len) {
            g->i++;
            g->off = 0;
        }
    }
}

/* ---- sending -------------------------------------------------------------------------- */

static int space_ready(struct shm_ring *r)
{
    uint64_t h = atomic_load_explicit(&r->seg.hdr->head, memory_order_acquire);
    return r->want_end - h <= r->seg.ring_size;
}

/* The receive side's lock (overwrite takes it from the sending side too). */
static int cons_lock(struct shm_ring *r, ipcx__deadline dl)
{
    int recovered;
    return shm_lock(r, SHM_RECV_SIDE, dl, &recovered);
}

static void cons_unlock(struct shm_ring *r)
{
    shm_unlock(r, SHM_RECV_SIDE);
}

#define LOAD(x)     atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IPCX__TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define IPCX__TSAN 1
#endif

/*
 * Adds one to a counter that one thread at a time writes (the holder of its
 * side's lock word) and any thread may read with an atomic load. On x86-64
 * that is one add to memory: an aligned 8-byte store is seen whole by every
 * reader, and a single writer needs no locked instruction. Elsewhere, and
 * under ThreadSanitizer (which must see the store), a relaxed load and store:
 * the same order, two instructions more.
 */
static inline void count_one(_Atomic uint64_t *c)
{
#if defined(__x86_64__) && !defined(IPCX__TSAN)
    __asm__("addq $1, %0" : "+m"(*c));
#else
    STORE(*c, LOAD(*c) + 1);
#endif
}

/* A record header as read once from the ring: later checks use these copies only. */
struct rec_view {
    uint64_t size; /* bytes it occupies in the ring */
    uint32_t len;
    unsigned flags;
    int pad;
};

/*
 * Reads and checks the record at h: 0 and *v when it is published, IPCX_EAGAIN
 * when it is not yet, IPCX_ECORRUPT when its header cannot be ours.
 */
static int rec_check(const struct shm_ring *r, uint64_t h, const struct shm_rec *rec,
                     struct rec_view *v)
{
    uint64_t s = atomic_load_explicit(&rec->seq, memory_order_acquire);
    SHM_PERTURB();
    uint64_t room = r->seg.ring_size - (h & r->seg.mask) - sizeof(struct shm_rec);
    uint64_t meta = LOAD(rec->meta);
    v->len = SHM_META_LEN(meta);
    v->flags = SHM_META_FLAGS(meta);
    v->pad = 0;
    if (s == seq_of(r, h, SHM_ST_PAD)) {
        if (v->len != room)
            return IPCX_ECORRUPT;
        v->pad = 1;
        v->size = room + sizeof(struct shm_rec);
        return 0;
    }
    if (s != seq_of(r, h, SHM_ST_COMMIT))
        return IPCX_EAGAIN;
    if (v->len > room) /* what memory safety needs; the fast path checks the same bound */
        return IPCX_ECORRUPT;
    v->size = shm_rec_end(h, v->len) - h;
    return 0;
}

/* Overwrite: the sender drops the oldest message to make room. */
static int drop_oldest(struct shm_ring *r, ipcx__deadline dl)
{
    struct shm_hdr *hd = r->seg.hdr;
    if (r->cons_held)
        return IPCX_EBUSY; /* our own view (or receive) holds the oldest message */
    int rc = cons_lock(r, dl);
    if (rc < 0)
        return rc;
    uint64_t h = atomic_load_explicit(&hd->head, memory_order_relaxed);
    struct rec_view v;
    rc = (h & (SHM_ALIGN - 1)) ? IPCX_ECORRUPT : rec_check(r, h, rec_at(r, h), &v);
    if (rc == IPCX_EAGAIN)
        rc = IPCX_ECORRUPT; /* full, yet nothing published at head: not a ring we wrote */
    if (rc == 0) {
        SHM_PERTURB();
        atomic_store_explicit(&hd->head, h + v.size, memory_order_release);
        if (!v.pad) {
            atomic_fetch_add_explicit(&hd->msgs_out, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&hd->dropped, 1, memory_order_relaxed);
        }
    }
    cons_unlock(r);
    return rc;
}

/* Makes room for a record of len payload bytes; returns its position in *tp. */
static int reserve(struct shm_ring *r, uint64_t len, ipcx__deadline dl, uint64_t *tp)
{
    struct shm_hdr *hd = r->seg.hdr;
    uint64_t size = r->seg.ring_size;
    for (;;) {
        uint64_t t = atomic_load_explicit(&hd->tail, memory_order_relaxed);
        SHM_PERTURB();
        if (t & (SHM_ALIGN - 1))
            return IPCX_ECORRUPT;
        uint64_t off = t & r->seg.mask, pad = 0, end = shm_rec_end(t, len);
        if (off + (end - t) > size) { /* it would wrap: a PAD to the ring's end first */
            pad = size - off;
            end = shm_rec_end(t + pad, len);
        }
        if (end - r->head_cache > size) {
            r->head_cache = atomic_load_explicit(&hd->head, memory_order_acquire);
            if (r->head_cache > t || t - r->head_cache > size)
                return IPCX_ECORRUPT;
        }
        if (end - r->head_cache > size) {
            int rc;
            if (r->seg.flags & SHM_F_OVERWRITE) {
                rc = drop_oldest(r, dl);
            } else {
                r->want_end = end;
                rc = shm_wait(r, &hd->space_word, space_ready, dl);
            }
            if (rc < 0)
                return rc;
            continue;
        }
        if (pad) {
            struct shm_rec *p = rec_at(r, t);
            STORE(p->meta, SHM_META(pad - sizeof(struct shm_rec), 0));
            atomic_store_explicit(&p->seq, seq_of(r, t, SHM_ST_PAD), memory_order_release);
            t += pad;
            atomic_store_explicit(&hd->tail, t, memory_order_relaxed);
            SHM_PERTURB();
        }
        *tp = t;
        return 0;
    }
}

/*
 * Publishing the record reserved at t whose payload (plen bytes) is written:
 * header fields, then seq with release order (the receiver's acquire load of
 * seq makes everything before it visible), then tail, then a wake-up if
 * someone sleeps. Copying sends and loans both end here. The fast paths
 * compute what they will store before they copy (pub_prepare): a copy
 * through char pointers may alias anything, so the compiler would otherwise
 * load it all again afterwards.
 */
struct pub {
    struct shm_hdr *hd;
    struct shm_rec *rec;
    uint64_t seq, meta, tail;
    int counts;
};

static IPCX__HOT struct pub pub_prepare(const struct shm_ring *r, struct shm_hdr *hd, uint64_t t,
                                        size_t plen, unsigned flags)
{
    struct pub p = {
        .hd = hd,
        .rec = rec_at(r, t),
        .seq = seq_of(r, t, SHM_ST_COMMIT),
        .meta = SHM_META(plen, flags),
        .tail = shm_rec_end(t, plen),
        .counts = !(flags & SHM_R_CHUNK) || (flags & SHM_R_LAST),
    };
    return p;
}

/* The stores that publish the record; the caller then wakes the receivers if they sleep. */
static IPCX__HOT void pub_store(const struct pub *p)
{
    SHM_PERTURB();
    STORE(p->rec->meta, p->meta);
    SHM_PERTURB();
    atomic_store_explicit(&p->rec->seq, p->seq, memory_order_release);
    SHM_PERTURB();
    STORE(p->hd->tail, p->tail);
    SHM_PERTURB();
    if (p->counts)
        count_one(&p->hd->msgs_in);
}

static void publish(struct shm_ring *r, uint64_t t, size_t plen, unsigned flags)
{
    struct pub p = pub_prepare(r, r->seg.hdr, t, plen, flags);
    pub_store(&p);
    shm_notify(r, &p.hd->data_word);
}

/* Writes one record: an optional 8-byte prefix, then n bytes from the cursor. */
static int put(struct shm_ring *r, struct gather *g, size_t n, unsigned flags,
               const uint64_t *prefix, ipcx__deadline dl)
{
    size_t plen = n + (prefix ? 8 : 0);
    uint64_t t;
    int rc = reserve(r, plen, dl, &t);
    if (rc < 0)
        return rc;
    unsigned char *p = (unsigned char *)(rec_at(r, t) + 1);
    if (prefix) {
        memcpy(p, prefix, 8);
        p += 8;
    }
    SHM_PERTURB();
    gather_copy(g, p, n);
    publish(r, t, plen, flags);
    return 0;
}

/* After taking over a dead sender's lock: move tail past what it published but did not count. */
static void repair_tail(struct shm_ring *r)
{
    struct shm_hdr *hd = r->seg.hdr;
    uint64_t t = atomic_load_explicit(&hd->tail, memory_order_relaxed);
    uint64_t start = t;
    struct rec_view v;
    while (!(t & (SHM_ALIGN - 1)) && t - start < r->seg.ring_size &&
           rec_check(r, t, rec_at(r, t), &v) == 0)
        t += v.size;
    atomic_store_explicit(&hd->tail, t, memory_order_relaxed);
}

/* The send side, for one message or one loan. */
static int prod_lock(struct shm_ring *r, ipcx__deadline dl)
{
    int recovered, rc;
    if (r->loan_active)
        return IPCX_EBUSY; /* this endpoint's own loan holds the send side */
    if ((rc = shm_lock(r, SHM_SEND_SIDE, dl, &recovered)) < 0)
        return rc;
    if (recovered)
        repair_tail(r);
    return 0;
}

static void prod_unlock(struct shm_ring *r)
{
    shm_unlock(r, SHM_SEND_SIDE);
}

/*
 * Room for a record of len payload bytes at tail, now, with no PAD: 0 and
 * its position, or 1. Up to 64 bytes (a constant where it is inlined), the
 * ring's end is checked against a bound computed at open.
 */
static IPCX__HOT int fast_room(const struct shm_ring *r, struct shm_hdr *hd, uint64_t len,
                               uint64_t *tp)
{
    uint64_t t = LOAD(hd->tail);
    SHM_PERTURB();
    uint64_t end = shm_rec_end(t, len), off = t & r->seg.mask;
    if ((t & (SHM_ALIGN - 1)) ||
        (len <= 64 ? off > r->seg.small_max : off + (end - t) > r->seg.ring_size) ||
        end - r->head_cache > r->seg.ring_size)
        return 1;
    *tp = t;
    return 0;
}

/*
 * The common send: one record with room at once, no wrap, under the send
 * lock. Returns 0 when sent, 1 to take the general path (which re-checks
 * everything).
 */
static IPCX__HOT int send_fast(struct shm_ring *r, const struct iovec *iov, int niov, size_t len)
{
    uint64_t t;
    if (fast_room(r, r->seg.hdr, len, &t))
        return 1;
    struct gather g = {iov, niov, 0, 0};
    gather_copy(&g, (unsigned char *)(rec_at(r, t) + 1), len);
    publish(r, t, len, 0);
    return 0;
}

int shm_ring_send(struct shm_ring *r, const struct iovec *iov, int niov, size_t len,
                  ipcx__deadline dl)
{
    _Atomic uint32_t *l = &r->seg.hdr->prod_lock;
    if (len <= r->seg.chunk_max && shm_lock_try(l, r->seg.id)) { /* fails during our loan */
        int fast = send_fast(r, iov, niov, len);
        shm_unlock(r, SHM_SEND_SIDE);
        if (fast == 0)
            return 0;
    }
    return shm_ring_send_slow(r, iov, niov, len, dl);
}

/*
 * The fast entry point's end, with the send lock held: publishes, counts,
 * unlocks, and wakes a sleeping receiver if there is one. Returns 0. It
 * calls nothing itself: the rare wake-ups are a tail call.
 */
static IPCX__HOT int fast_sent_commit(struct shm_ring *r, const struct pub *p)
{
    pub_store(p);
    count_one(&r->fast_sent);
    return shm_unlock_notify(r, p->hd, SHM_SEND_SIDE);
}

/* fast_send's copy of more than 64 bytes, kept out of its way; 1 (lock released): give up. */
static __attribute__((noinline)) int fast_send_big(struct shm_ring *r, const void *buf, size_t len)
{
    _Atomic uint32_t *l = &r->seg.hdr->prod_lock;
    uint64_t t;
    if (len > r->seg.chunk_max || !shm_lock_try(l, r->seg.id))
        return 1;
    if (fast_room(r, r->seg.hdr, len, &t)) {
        shm_unlock(r, SHM_SEND_SIDE);
        return 1;
    }
    struct pub p = pub_prepare(r, r->seg.hdr, t, len, 0);
    copy(p.rec + 1, buf, len);
    return fast_sent_commit(r, &p);
}

/* Where shm_ring_fast_send goes when it cannot finish inline (locked: it holds the lock). */
static __attribute__((noinline)) int fast_send_general(struct shm_ring *r, const void *buf,
                                                       size_t len, int64_t timeout, int locked)
{
    if (locked)
        shm_unlock(r, SHM_SEND_SIDE);
    else if (len > 64 && fast_send_big(r, buf, len) == 0)
        return 0;
    return r->send_general(r->owner, buf, len, timeout);
}

/*
 * Up to 64 bytes it calls nothing: the copy is inline, everything rare is a
 * tail call or out of line (scripts/hotpath.sh counts what is left).
 */
int shm_ring_fast_send(void *ring, const void *buf, size_t len, int64_t timeout)
{
    struct shm_ring *r = ring;
    struct shm_hdr *hd = r->seg.hdr;
    uint64_t t;
    if (len > 64 || !shm_lock_try(&hd->prod_lock, r->seg.id))
        return fast_send_general(r, buf, len, timeout, 0);
    if (fast_room(r, hd, len, &t))
        return fast_send_general(r, buf, len, timeout, 1);
    struct pub p = pub_prepare(r, hd, t, len, 0);
    copy_small(p.rec + 1, buf, len);
    return fast_sent_commit(r, &p);
}

static IPCX__COLD int shm_ring_send_slow(struct shm_ring *r, const struct iovec *iov, int niov,
                                         size_t len, ipcx__deadline dl)
{
    struct gather g = {iov, niov, 0, 0};
    int rc = prod_lock(r, dl);
    if (rc < 0)
        return rc;
    if (len <= r->seg.chunk_max) {
        rc = put(r, &g, len, 0, NULL, dl);
    } else {
        /*
         * Chunks: the first carries the total length; the lock keeps other
         * senders out until the last, so a message's chunks are contiguous.
         * If the deadline passes mid-way, the receiver discards the torn
         * message when the next message starts: nothing is delivered.
         */
        uint64_t total = len;
        size_t first = r->seg.chunk_max - 8;
        rc = put(r, &g, first, SHM_R_CHUNK | SHM_R_FIRST, &total, dl);
        for (size_t done = first; rc == 0 && done < len;) {
            size_t n = len - done < r->seg.chunk_max ? len - done : r->seg.chunk_max;
            done += n;
            rc = put(r, &g, n, SHM_R_CHUNK | (done == len ? SHM_R_LAST : 0u), NULL, dl);
        }
    }
    prod_unlock(r);
    return rc;
}

int shm_ring_loan(struct shm_ring *r, size_t size, void **bufp, ipcx__deadline dl)
{
    if (size > r->seg.chunk_max)
        return IPCX_EMSGSIZE; /* a loan is one record: at most a quarter of the ring */
    int rc = prod_lock(r, dl);
    if (rc < 0)
        return rc;
    uint64_t t;
    if ((rc = reserve(r, size, dl, &t)) < 0) {
        prod_unlock(r);
        return rc;
    }
    r->loan_active = 1;
    r->loan_pos = t;
    r->loan_size = size;
    *bufp = rec_at(r, t) + 1;
    return 0;
}

int shm_ring_commit(struct shm_ring *r, const void *buf, size_t len, int cancel)
{
    if (!r->loan_active || buf != (const void *)(rec_at(r, r->loan_pos) + 1))
        return IPCX_EINVAL; /* not the outstanding loan (or already committed) */
    if (!cancel && len > r->loan_size)
        return IPCX_EMSGSIZE; /* the loan stays; commit again with a length that fits */
    if (!cancel)
        publish(r, r->loan_pos, len, 0);
    r->loan_active = 0;
    prod_unlock(r);
    return 0;
}

/* ---- receiving ------------------------------------------------------------------------ */

static int data_ready(struct shm_ring *r)
{
    uint64_t h = atomic_load_explicit(&r->seg.hdr->head, memory_order_relaxed);
    if (h & (SHM_ALIGN - 1))
        return 1; /* a misaligned head: let the caller look and report IPCX_ECORRUPT */
    uint64_t s = atomic_load_explicit(&rec_at(r, h)->seq, memory_order_relaxed);
    return s == seq_of(r, h, SHM_ST_COMMIT) || s == seq_of(r, h, SHM_ST_PAD);
}

/* Moves head to next (after the record is read) and wakes a waiting sender. Returns 0. */
static int consume(struct shm_ring *r, uint64_t next, int counts)
{
    struct shm_hdr *hd = r->seg.hdr;
    SHM_PERTURB();
    atomic_store_explicit(&hd->head, next, memory_order_release);
    SHM_PERTURB();
    if (counts)
        count_one(&hd->msgs_out);
    return shm_notify(r, &hd->space_word);
}

static void as_discard(struct shm_ring *r)
{
    if (r->as.active) {
        if (r->as.own)
            free(r->as.dst);
        r->dropped++;
        atomic_fetch_add_explicit(&r->seg.hdr->dropped, 1, memory_order_relaxed);
    }
    memset(&r->as, 0, sizeof r->as);
}

/* Where a message of len bytes goes: the caller's buffer, or a new one. */
static int dst_for(struct shm_dst *d, uint64_t len, unsigned char **out)
{
    if (d->alloc) {
        *out = ipcx__malloc(len ? (size_t)len : 1);
        return *out ? 0 : IPCX_ENOMEM;
    }
    if (len > d->cap) {
        d->len = (size_t)len;
        return IPCX_EMSGSIZE;
    }
    *out = d->buf;
    return 0;
}

/*
 * A chunked message assembled in our own memory starts with room for at most
 * twice the ring and grows as its chunks arrive: the announced total comes
 * from another process, and a peer that announces a terabyte and sends one
 * chunk must cost us what it sent, not a terabyte (or an IPCX_ENOMEM that
 * would keep its chunk first in line for ever).
 */
static uint64_t as_start(const struct shm_ring *r, uint64_t total)
{
    uint64_t most = 2 * r->seg.ring_size;
    return total < most ? total : most;
}

/* Room in our assembly buffer for n more bytes (got + n <= total): it doubles, up to total. */
static int as_room(struct shm_ring *r, uint64_t n)
{
    uint64_t need = r->as.got + n;
    if (need <= r->as.cap)
        return 0;
    uint64_t cap = r->as.cap < r->as.total / 2 ? 2 * r->as.cap : r->as.total;
    if (cap < need)
        cap = need;
    unsigned char *p = ipcx__realloc(r->as.dst, (size_t)cap);
    if (!p)
        return IPCX_ENOMEM; /* the chunk stays first in line; the assembly is kept */
    r->as.dst = p;
    r->as.cap = cap;
    return 0;
}

/* Deadline passed mid-message: keep what we have in our own memory, not the caller's. */
static int as_park(struct shm_ring *r)
{
    if (r->as.own)
        return 0;
    unsigned char *p = ipcx__malloc(r->as.got ? (size_t)r->as.got : 1);
    if (!p)
        return IPCX_ENOMEM;
    copy(p, r->as.dst, (size_t)r->as.got);
    r->as.dst = p;
    r->as.cap = r->as.got;
    r->as.own = 1;
    return 0;
}

/* The assembly is complete: hand it to the caller. */
static int as_finish(struct shm_ring *r, struct shm_dst *d)
{
    if (r->as.own && !d->alloc) {
        if (r->as.total > d->cap) {
            d->len = (size_t)r->as.total;
            return IPCX_EMSGSIZE; /* kept: the caller may come back with a bigger buffer */
        }
        copy(d->buf, r->as.dst, (size_t)r->as.total);
        free(r->as.dst);
    } else if (d->alloc) {
        d->buf = r->as.dst;
    }
    d->len = (size_t)r->as.total;
    memset(&r->as, 0, sizeof r->as);
    return 0;
}

/* Takes one chunk record (len bytes at payload p) into the assembly. */
static int take_chunk(struct shm_ring *r, struct shm_dst *d, const unsigned char *p, uint32_t len,
                      unsigned flags)
{
    if (flags & SHM_R_FIRST) {
        as_discard(r); /* a torn message from a sender that gave up or died */
        uint64_t total;
        if (len < 8)
            return IPCX_EPEERPROTO;
        memcpy(&total, p, 8);
        if (total > r->seg.max_msg || total < len - 8u)
            return IPCX_EPEERPROTO;
        unsigned char *dst;
        uint64_t cap = d->alloc ? as_start(r, total) : total;
        int rc = dst_for(d, cap, &dst); /* (for the caller's buffer, cap is total) */
        if (rc < 0)
            return rc;
        r->as.dst = dst;
        r->as.total = total;
        r->as.cap = cap;
        r->as.own = d->alloc;
        r->as.active = 1;
        p += 8;
        len -= 8;
    } else if (!r->as.active) {
        return IPCX_EPEERPROTO; /* an orphan: its first chunk went to a receiver that died */
    }
    if (len > r->as.total - r->as.got) {
        as_discard(r);
        return IPCX_EPEERPROTO;
    }
    if (r->as.own) {
        int rc = as_room(r, len);
        if (rc < 0)
            return rc;
    }
    if (len) /* an empty message may be assembled at the caller's NULL: no arithmetic on it */
        copy(r->as.dst + r->as.got, p, len);
    r->as.got += len;
    return 0;
}

/* Waits until dl for the next published record that is not a PAD; *hp its position. */
static int next_record(struct shm_ring *r, ipcx__deadline dl, uint64_t *hp, struct rec_view *v)
{
    struct shm_hdr *hd = r->seg.hdr;
    for (;;) {
        uint64_t h = LOAD(hd->head);
        if (h & (SHM_ALIGN - 1))
            return IPCX_ECORRUPT;
        int rc = rec_check(r, h, rec_at(r, h), v);
        if (rc == IPCX_EAGAIN) {
            if ((rc = shm_wait(r, &hd->data_word, data_ready, dl)) < 0)
                return rc;
            continue;
        }
        if (rc < 0)
            return rc;
        if (!v->pad) {
            *hp = h;
            return 0;
        }
        consume(r, h + v->size, 0);
    }
}

static int recv_locked(struct shm_ring *r, struct shm_dst *d, ipcx__deadline dl)
{
    struct shm_hdr *hd = r->seg.hdr;
    for (;;) {
        uint64_t h;
        struct rec_view v;
        int rc = next_record(r, dl, &h, &v);
        if (rc < 0)
            return rc;
        const unsigned char *p = (const unsigned char *)(rec_at(r, h) + 1);
        if (!(v.flags & SHM_R_CHUNK)) {
            unsigned char *dst;
            as_discard(r);
            if (v.len > r->seg.max_msg) { /* a sender that ignored the mailbox's limit */
                consume(r, h + v.size, 1);
                r->dropped++;
                atomic_fetch_add_explicit(&hd->dropped, 1, memory_order_relaxed);
                continue;
            }
            if ((rc = dst_for(d, v.len, &dst)) < 0)
                return rc;
            SHM_PERTURB();
            copy(dst, p, v.len);
            consume(r, h + v.size, 1);
            if (d->alloc)
                d->buf = dst;
            d->len = v.len;
            return 0;
        }
        rc = take_chunk(r, d, p, v.len, v.flags);
        if (rc == IPCX_EMSGSIZE || rc == IPCX_ENOMEM)
            return rc; /* the first chunk stays first in line */
        consume(r, h + v.size, rc == 0 && (v.flags & SHM_R_LAST));
        if (rc < 0) {
            r->dropped++;
            atomic_fetch_add_explicit(&hd->dropped, 1, memory_order_relaxed);
            continue;
        }
        if (v.flags & SHM_R_LAST) {
            if (r->as.got != r->as.total) {
                as_discard(r);
                continue;
            }
            return as_finish(r, d);
        }
    }
}

/*
 * The ring looks empty and someone uses our pollfd: if our doorbell was rung
 * since we armed it, empty it and arm it again, so that it is readable
 * exactly while a message waits. While nobody rang, it holds nothing: no
 * system call.
 */
static void bell_rearm(struct shm_ring *r)
{
    struct shm_slot *sl = &r->seg.hdr->slots[r->seg.slot];
    if (atomic_load_explicit(&sl->armed, memory_order_relaxed))
        return;
    ipcx__bell_drain(r->bell_fd);
    shm_ring_pollfd(r);
}

/* The receive side, for one message or one view (kept across calls mid-message). */
static int cons_side_lock(struct shm_ring *r, ipcx__deadline dl)
{
    int recovered, rc;
    if (r->view_active)
        return IPCX_EBUSY; /* this endpoint's own view holds the receive side */
    if (!r->cons_held) {
        if ((rc = shm_lock(r, SHM_RECV_SIDE, dl, &recovered)) < 0)
            return rc;
        r->cons_held = 1;
    }
    return 0;
}

static void cons_side_unlock(struct shm_ring *r)
{
    if (r->cons_held && !r->as.active && !r->view_active) {
        shm_unlock(r, SHM_RECV_SIDE);
        r->cons_held = 0;
    }
    if (r->bell_fd >= 0 && !data_ready(r))
        bell_rearm(r);
}

int shm_ring_view(struct shm_ring *r, const void **bufp, size_t *lenp, ipcx__deadline dl)
{
    int rc = cons_side_lock(r, dl);
    if (rc < 0)
        return rc;
    uint64_t h;
    struct rec_view v;
    if (r->as.active) {
        *lenp = (size_t)r->as.total;
        rc = IPCX_EMSGSIZE; /* a large message half assembled: ipcx_recv it */
    } else
        rc = next_record(r, dl, &h, &v);
    if (rc == 0 && (v.flags & SHM_R_CHUNK)) {
        /* Larger than a record: not viewable in place; its size, for ipcx_recv. */
        uint64_t total = 0;
        if ((v.flags & SHM_R_FIRST) && v.len >= 8)
            memcpy(&total, rec_at(r, h) + 1, 8);
        *lenp = (size_t)total;
        rc = IPCX_EMSGSIZE;
    }
    if (rc == 0) {
        r->view_active = 1;
        r->view_pos = h;
        r->view_size = v.size;
        *bufp = rec_at(r, h) + 1;
        *lenp = v.len;
    }
    cons_side_unlock(r);
    return rc;
}

int shm_ring_release(struct shm_ring *r, const void *buf)
{
    if (!r->view_active || buf != (const void *)(rec_at(r, r->view_pos) + 1))
        return IPCX_EINVAL; /* not the outstanding view (or released already) */
    r->view_active = 0;
    consume(r, r->view_pos + r->view_size, 1);
    cons_side_unlock(r);
    return 0;
}

/*
 * Whether the record at head is a whole message, published, that fits cap:
 * 0 with the record, its position and its length, or 1 (the general path
 * decides). With the receive lock held.
 */
static IPCX__HOT int fast_ready(const struct shm_ring *r, size_t cap, struct shm_rec **recp,
                                uint64_t *hp, uint64_t *lenp)
{
    uint64_t h = LOAD(r->seg.hdr->head);
    struct shm_rec *rec = rec_at(r, h);
    if ((h & (SHM_ALIGN - 1)) ||
        atomic_load_explicit(&rec->seq, memory_order_acquire) != seq_of(r, h, SHM_ST_COMMIT))
        return 1;
    SHM_PERTURB();
    /*
     * The ring bound is what memory safety needs; a record over max_msg is the general
     * path's to drop and count. Flags (or the reserved bits above them) mean the general
     * path too: they make the whole meta word 2^32 or more, which the ring bound refuses
     * (the ring is at most 2^32 bytes, and max_msg at most 2^40, so the sum cannot wrap).
     */
    uint64_t len = LOAD(rec->meta);
    if (len > cap || len > r->seg.max_msg ||
        (h & r->seg.mask) + sizeof(struct shm_rec) + len > r->seg.ring_size)
        return 1;
    *recp = rec;
    *hp = h;
    *lenp = len;
    return 0;
}

/* The fast entry point's end: consumes, counts, unlocks, wakes a sleeping sender. Returns 0. */
static IPCX__HOT int fast_received_commit(struct shm_ring *r, struct shm_hdr *hd, uint64_t next)
{
    SHM_PERTURB();
    atomic_store_explicit(&hd->head, next, memory_order_release);
    SHM_PERTURB();
    count_one(&hd->msgs_out);
    count_one(&r->fast_received);
    return shm_unlock_notify(r, hd, SHM_RECV_SIDE);
}

/* fast_recv's copy of more than 64 bytes, kept out of its way (see shm_ring_fast_send). */
static __attribute__((noinline)) int fast_recv_big(struct shm_ring *r, const struct shm_rec *rec,
                                                   uint64_t h, void *buf, uint64_t len)
{
    copy(buf, rec + 1, (size_t)len);
    return fast_received_commit(r, r->seg.hdr, shm_rec_end(h, len));
}

/* Where shm_ring_fast_recv goes when it cannot finish (locked: it holds the lock). */
static __attribute__((noinline)) int fast_recv_general(struct shm_ring *r, void *buf, size_t cap,
                                                       size_t *lenp, int64_t timeout, int locked)
{
    if (locked)
        shm_unlock(r, SHM_RECV_SIDE);
    return r->recv_general(r->owner, buf, cap, lenp, timeout);
}

/* Like shm_ring_fast_send, it calls nothing for up to 64 bytes. */
int shm_ring_fast_recv(void *ring, void *buf, size_t cap, size_t *lenp, int64_t timeout)
{
    struct shm_ring *r = ring;
    uint64_t h, len;
    struct shm_rec *rec;
    /* Our own view or a large message half assembled keeps the lock, so the attempt fails.
     * (While a pollfd is in use the transport does not call us: see shm_ring_pollfd.) */
    if (!shm_lock_try(&r->seg.hdr->cons_lock, r->seg.id))
        return fast_recv_general(r, buf, cap, lenp, timeout, 0);
    if (fast_ready(r, cap, &rec, &h, &len))
        return fast_recv_general(r, buf, cap, lenp, timeout, 1);
    *lenp = len;
    if (len > 64)
        return fast_recv_big(r, rec, h, buf, len);
    copy_small(buf, rec + 1, len);
    return fast_received_commit(r, r->seg.hdr, shm_rec_end(h, len));
}

static int recv_any(struct shm_ring *r, struct shm_dst *d, ipcx__deadline dl)
{
    int rc = cons_side_lock(r, dl);
    if (rc < 0)
        return rc;
    if (r->as.active && r->as.got == r->as.total && r->as.total > 0)
        rc = as_finish(r, d); /* an earlier call assembled it but the buffer was small */
    else
        rc = recv_locked(r, d, dl);
    if (rc < 0 && r->as.active && as_park(r) < 0)
        as_discard(r);
    cons_side_unlock(r);
    return rc;
}

int shm_ring_recv(struct shm_ring *r, void *buf, size_t cap, size_t *lenp, void **allocp,
                  ipcx__deadline dl)
{
    struct shm_dst d = {.buf = buf, .cap = cap, .alloc = allocp != NULL};
    int rc = recv_any(r, &d, dl);
    if (rc == 0 && allocp)
        *allocp = d.buf;
    if (rc == 0 || rc == IPCX_EMSGSIZE)
        *lenp = d.len;
    return rc;
}

/* ---- pollfd, open, close ---------------------------------------------------------------- */

int shm_ring_pollfd(struct shm_ring *r)
{
    struct shm_seg *s = &r->seg;
    struct shm_slot *sl = &s->hdr->slots[s->slot];
    char name[96];
    shm_seg_bell_name(s, s->slot, (uint32_t)((s->id - 1) >> 6), name, sizeof name);
    if (r->bell_fd < 0) {
        int fd = ipcx__bell_open(name);
        if (fd < 0)
            return fd;
        r->bell_fd = fd;
        atomic_store(&sl->bell, 1);
    }
    atomic_store(&sl->armed, 1);
    atomic_fetch_or(&s->hdr->data_word, SHM_W_POLL);
    atomic_thread_fence(memory_order_seq_cst);
    if ((data_ready(r) || (r->as.active && r->as.got == r->as.total)) &&
        atomic_exchange(&sl->armed, 0)) {
        /* Something already waits: ring ourselves (unless a sender just did). */
        ipcx__bell_ring(r->bell_fd, name); /* its own socket: bell_tx is the send side's */
    }
    return r->bell_fd;
}

static void ring_init(struct shm_ring *r, int64_t spin_ns)
{
    memset(r, 0, sizeof *r);
    r->bell_fd = -1;
    r->bell_tx = -1;
    r->spin_ns = spin_ns;
}

/* After the segment is open. */
static void ring_start(struct shm_ring *r)
{
    r->head_cache = atomic_load(&r->seg.hdr->head);
}

void shm_ring_set_general(struct shm_ring *r, void *owner,
                          int (*send_general)(void *owner, const void *buf, size_t len,
                                              int64_t timeout),
                          int (*recv_general)(void *owner, void *buf, size_t cap, size_t *lenp,
                                              int64_t timeout))
{
    r->owner = owner;
    r->send_general = send_general;
    r->recv_general = recv_general;
}

int shm_ring_open(struct shm_ring *r, const char *name, const struct shm_geom *g, unsigned create,
                  unsigned role, int64_t spin_ns)
{
    ring_init(r, spin_ns);
    int rc = shm_seg_open(&r->seg, name, g, create, role);
    if (rc < 0)
        return rc;
    ring_start(r);
    return 0;
}

int shm_ring_pair(struct shm_ring *tx, struct shm_ring *rx, const struct shm_geom *g,
                  int64_t spin_ns)
{
    struct shm_geom pg = *g;
    pg.flags = (pg.flags | SHM_F_SPSC) & ~SHM_F_UNLINK_LAST; /* no name to remove */
    ring_init(tx, spin_ns);
    ring_init(rx, spin_ns);
    int rc = shm_seg_pair(&tx->seg, &rx->seg, &pg, IPCX_SEND, IPCX_RECV);
    if (rc < 0)
        return rc;
    ring_start(tx);
    ring_start(rx);
    tx->watch_role = IPCX_RECV;
    rx->watch_role = IPCX_SEND;
    return 0;
}

void shm_ring_close(struct shm_ring *r)
{
    as_discard(r);
    if (shm_seg_owned(&r->seg)) { /* a fork()ed child's copy holds nothing of its own */
        if (r->loan_active)
            shm_ring_commit(r, rec_at(r, r->loan_pos) + 1, 0, 1);
        if (r->cons_held)
            shm_unlock(r, SHM_RECV_SIDE);
    }
    if (r->bell_fd >= 0)
        ipcx__fd_close(r->bell_fd);
    if (r->bell_tx >= 0)
        ipcx__fd_close(r->bell_tx);
    shm_seg_close(&r->seg);
}

void shm_ring_counts(const struct shm_ring *r, uint64_t *waiting, unsigned *senders,
                     unsigned *receivers)
{
    const struct shm_hdr *hd = r->seg.hdr;
    uint64_t in = atomic_load(&hd->msgs_in), out = atomic_load(&hd->msgs_out);
    *waiting = in >= out ? in - out : 0;
    *senders = *receivers = 0;
    for (int i = 0; i < SHM_SLOTS; i++) { /* the other live endpoints, not this one */
        unsigned role = atomic_load(&hd->slots[i].role);
        uint32_t id = shm_slot_id(atomic_load(&hd->slots[i].gen), (unsigned)i);
        if (!role || i == r->seg.slot || !shm_seg_owner_alive(&r->seg, id))
            continue;
        *senders += (role & IPCX_SEND) != 0;
        *receivers += (role & IPCX_RECV) != 0;
    }
}
