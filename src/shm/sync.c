/*
 * sync.c: the wait protocol and the owner-checked lock of the shm engine.
 *
 * Wait protocol (event count): a waiter sets SHM_W_SLEEP in the word with a
 * read-modify-write, issues a full fence, re-checks its condition, and only
 * then sleeps with FUTEX_WAIT on the exact value it wrote. A notifier
 * publishes, issues a full fence, and reads the word: if a bit is set it
 * clears the bits and adds SHM_W_EPOCH in one compare-and-swap, then wakes
 * (a fast path's fence is the exchange that releases its lock: see
 * shm_unlock_notify).
 * The two fences make it impossible for both sides to miss each other; the
 * epoch makes a waiter that has not reached the kernel yet return at once
 * (its expected value is stale), so clearing the bit loses no wake-up, and
 * a busy receiver costs its senders no system call at all.
 *
 * This file must never block without a deadline it was given, and never
 * dereference anything derived from a shared word.
 */
#include "shm/sync.h"

#include <limits.h>

#include <ipcx.h>

#include "os/shmem.h"
#include "shm/perturb.h"

#define LOCK_SPINS     256
#define LOCK_SLICE_NS  (10 * IPCX_MSEC)  /* how often a lock waiter checks its owner is alive */
#define SPIN_CLOCK_MOD 64u               /* spin iterations between clock reads */
#define PEER_SLICE_NS  (20 * IPCX_MSEC)  /* how often a pair's waiter checks its peer is alive */
#define LOCK_STARVE_NS (2 * IPCX_MSEC)   /* a lock waiter this late becomes its side's heir */
#define WAKE_SLICE_NS  (100 * IPCX_MSEC) /* how long a lost wake-up (see shm_wait) can cost */

static void ring_bells(struct shm_ring *r)
{
    struct shm_seg *s = &r->seg;
    for (int i = 0; i < SHM_SLOTS; i++) {
        struct shm_slot *sl = &s->hdr->slots[i];
        if (!atomic_load_explicit(&sl->armed, memory_order_relaxed) ||
            !atomic_exchange(&sl->armed, 0))
            continue;
        if (r->bell_tx < 0 && (r->bell_tx = ipcx__bell_sender()) < 0)
            return;
        char name[96];
        shm_seg_bell_name(s, i, atomic_load(&sl->gen), name, sizeof name);
        ipcx__bell_ring(r->bell_tx, name);
    }
}

int shm_wake(struct shm_ring *r, _Atomic uint32_t *w)
{
    uint32_t old = atomic_load_explicit(w, memory_order_relaxed);
    while (
        !atomic_compare_exchange_weak(w, &old, (old + SHM_W_EPOCH) & ~(SHM_W_SLEEP | SHM_W_POLL)))
        ;
    if (old & SHM_W_SLEEP)
        ipcx__futex_wake((uint32_t *)w, INT_MAX);
    if (old & SHM_W_POLL)
        ring_bells(r);
    return 0;
}

/* Pairs: the peer is gone and what we wait for cannot come. */
static int peer_gone(struct shm_ring *r, int (*ready)(struct shm_ring *))
{
    return r->watch_role && !shm_seg_peer_alive(&r->seg, r->watch_role) && !ready(r);
}

/* Spins up to the spin budget; 0 when ready, 1 when it is time to sleep, or an error. */
static int wait_spin(struct shm_ring *r, int (*ready)(struct shm_ring *), ipcx__deadline dl)
{
    if (r->spin_ns == 0)
        return 1;
    int64_t start = ipcx__now_ns(), look = start + PEER_SLICE_NS;
    int64_t until = r->spin_ns < 0 ? IPCX__NEVER : start + r->spin_ns;
    for (unsigned n = 1;; n++) {
        if (ready(r))
            return 0;
        ipcx__cpu_relax();
        if (n % SPIN_CLOCK_MOD == 0) {
            int64_t now = ipcx__now_ns();
            if (now >= dl)
                return IPCX_ETIMEDOUT;
            if (now >= until)
                return 1;
            if (now >= look) { /* a spin-only pair must notice its peer's death too */
                if (peer_gone(r, ready))
                    return IPCX_EPIPE;
                look = now + PEER_SLICE_NS;
            }
        }
    }
}

int shm_wait(struct shm_ring *r, _Atomic uint32_t *w, int (*ready)(struct shm_ring *),
             ipcx__deadline dl)
{
    if (ready(r))
        return 0;
    if (dl == 0)
        return peer_gone(r, ready) ? IPCX_EPIPE : IPCX_EAGAIN;
    int rc = wait_spin(r, ready, dl);
    if (rc <= 0)
        return rc;
    for (;;) {
        uint32_t v = atomic_load_explicit(w, memory_order_relaxed);
        if (!(v & SHM_W_SLEEP)) {
            if (!atomic_compare_exchange_weak(w, &v, v | SHM_W_SLEEP))
                continue;
            v |= SHM_W_SLEEP;
        }
        SHM_PERTURB();
        atomic_thread_fence(memory_order_seq_cst);
        if (ready(r))
            return 0;
        if (r->watch_role && peer_gone(r, ready)) /* a dead peer wakes nobody */
            return IPCX_EPIPE;
        /* Nor does one killed between clearing the sleep bit and its wake-up call, and the next
         * notifier sees no bit: sleep in slices, whatever the deadline. */
        int64_t slice = ipcx__now_ns() + (r->watch_role ? PEER_SLICE_NS : WAKE_SLICE_NS);
        ipcx__deadline until = slice < dl ? slice : dl;
        rc = ipcx__futex_wait((uint32_t *)w, v, until);
        if (ready(r))
            return 0;
        if (rc == IPCX_ETIMEDOUT && until != dl)
            continue;
        if (rc < 0)
            return rc;
    }
}

/* A lock handed to a waiter: free, but for that waiter only (see layout.h). */
static uint32_t heir_token(uint32_t id)
{
    return SHM_L_HEIR | SHM_L_WAITERS | id;
}

/* A lock waiter sleeps with its slot's futex bit, so that a hand-over wakes it and not the rest. */
static uint32_t slot_bit(uint32_t id)
{
    return 1u << ((id - 1) & 31u);
}

/* Names this waiter its side's heir, unless a live one is named already: 1 if it did. */
static int heir_claim(struct shm_ring *r, _Atomic uint32_t *hw)
{
    uint32_t h = atomic_load(hw);
    if (h != 0 && shm_seg_owner_alive(&r->seg, h & SHM_L_ID))
        return 0;
    return atomic_compare_exchange_strong(hw, &h, r->seg.id);
}

/*
 * The heir stops waiting, with the lock or without: it takes its name back
 * (unless the hand-over took it already), then looks whether the lock was
 * handed to it meanwhile. shm_lock_pass sets the token and then looks at the
 * name; with a full fence between on each side, at least one of the two sees
 * the other's write, so a token is never left for a heir that has gone.
 * Returns 1 if this took the token.
 */
static int heir_leave(struct shm_ring *r, _Atomic uint32_t *l, _Atomic uint32_t *hw)
{
    uint32_t me = r->seg.id, tok = heir_token(me);
    atomic_compare_exchange_strong(hw, &me, 0);
    SHM_PERTURB();
    atomic_thread_fence(memory_order_seq_cst);
    return atomic_load_explicit(l, memory_order_relaxed) == tok &&
           atomic_compare_exchange_strong(l, &tok, r->seg.id | SHM_L_WAITERS);
}

/*
 * Waiters sleep on the lock word in slices and, after each, ask the kernel
 * whether the owner (or the heir a token names) is alive. A waiter late by
 * LOCK_STARVE_NS names itself heir: an owner that releases takes turns by
 * itself no more (it would take the lock again long before a woken waiter
 * runs, and a waiter could time out while others send thousands).
 */
int shm_lock(struct shm_ring *r, enum shm_side side, ipcx__deadline dl, int *recovered)
{
    struct shm_hdr *hd = r->seg.hdr;
    _Atomic uint32_t *l = shm_side_lock(hd, side), *hw = shm_side_heir(hd, side);
    uint32_t me = r->seg.id;
    *recovered = 0;
    if (shm_lock_try(l, me))
        return 0;
    for (int i = 0; i < LOCK_SPINS; i++) {
        ipcx__cpu_relax();
        if (atomic_load_explicit(l, memory_order_relaxed) == 0 && shm_lock_try(l, me))
            return 0;
    }
    int64_t starve = ipcx__now_ns() + LOCK_STARVE_NS;
    int heir = 0, rc;
    for (;;) {
        uint32_t v = atomic_load_explicit(l, memory_order_relaxed);
        if (v == 0 || v == heir_token(me)) {
            /* Free, or handed to us. Others may still sleep: keep the waiter bit so our unlock
             * passes the lock on. */
            if (atomic_compare_exchange_weak_explicit(l, &v, me | SHM_L_WAITERS,
                                                      memory_order_acquire, memory_order_relaxed)) {
                rc = 0;
                break;
            }
            continue;
        }
        if (!(v & SHM_L_WAITERS)) {
            if (!atomic_compare_exchange_weak(l, &v, v | SHM_L_WAITERS))
                continue;
            v |= SHM_L_WAITERS;
        }
        int64_t now = ipcx__now_ns(), next = now + LOCK_SLICE_NS;
        if (now < starve && starve < next)
            next = starve; /* wake up in time to claim */
        else if (!heir && dl != 0 && now >= starve)
            heir = heir_claim(r, hw); /* else another is first in line: try again next slice */
        ipcx__deadline slice = dl < next ? dl : next;
        rc =
            dl == 0 ? IPCX_ETIMEDOUT : ipcx__futex_wait_bits((uint32_t *)l, v, slice, slot_bit(me));
        if (rc != IPCX_ETIMEDOUT)
            continue;
        uint32_t owner = v & SHM_L_ID;
        if (!shm_seg_owner_alive(&r->seg, owner)) {
            if (atomic_compare_exchange_strong(l, &v, me | SHM_L_WAITERS)) {
                /* A dead heir never started anything; forget its name. */
                *recovered = !(v & SHM_L_HEIR);
                atomic_compare_exchange_strong(hw, &owner, 0);
                rc = 0;
                break;
            }
            continue;
        }
        if (dl == 0) {
            rc = IPCX_EAGAIN;
            break;
        }
        if (ipcx__now_ns() >= dl) {
            rc = IPCX_ETIMEDOUT;
            break;
        }
    }
    if (heir && heir_leave(r, l, hw))
        rc = 0;
    return rc;
}

void shm_lock_pass(struct shm_ring *r, enum shm_side side)
{
    struct shm_hdr *hd = r->seg.hdr;
    _Atomic uint32_t *l = shm_side_lock(hd, side), *hw = shm_side_heir(hd, side);
    uint32_t h = atomic_load_explicit(hw, memory_order_relaxed);
    if (h != 0 && h == (h & SHM_L_ID) && h != r->seg.id) {
        uint32_t v = 0, tok = heir_token(h);
        SHM_PERTURB();
        if (atomic_compare_exchange_strong(l, &v, tok)) {
            SHM_PERTURB();
            atomic_thread_fence(memory_order_seq_cst); /* pairs with heir_leave's */
            uint32_t named = h;
            if (atomic_compare_exchange_strong(hw, &named, 0)) {
                /* Served: the next one late may name itself. Wake the heir, not the rest. */
                ipcx__futex_wake_some((uint32_t *)l, INT_MAX, slot_bit(h));
                return;
            }
            atomic_compare_exchange_strong(l, &tok, 0); /* it has gone meanwhile */
        }
    }
    ipcx__futex_wake((uint32_t *)l, 1);
}

int shm_unlock_notify_slow(struct shm_ring *r, enum shm_side side, uint32_t old)
{
    struct shm_hdr *hd = r->seg.hdr;
    _Atomic uint32_t *w = shm_side_notifies(hd, side);
    if (old & SHM_L_WAITERS)
        shm_lock_pass(r, side);
    if (atomic_load_explicit(w, memory_order_relaxed) & (SHM_W_SLEEP | SHM_W_POLL))
        shm_wake(r, w);
    return 0;
}
