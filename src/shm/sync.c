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
#define LOCK_SLICE_NS  (10 * IPCX_MSEC) /* how often a lock waiter checks its owner is alive */
#define SPIN_CLOCK_MOD 64u              /* spin iterations between clock reads */
#define PEER_SLICE_NS  (20 * IPCX_MSEC) /* how often a pair's waiter checks its peer is alive */

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
        ipcx__deadline until = dl;
        if (r->watch_role) { /* a dead peer wakes nobody: look every slice */
            if (peer_gone(r, ready))
                return IPCX_EPIPE;
            int64_t slice = ipcx__now_ns() + PEER_SLICE_NS;
            until = slice < dl ? slice : dl;
        }
        rc = ipcx__futex_wait((uint32_t *)w, v, until);
        if (ready(r))
            return 0;
        if (rc == IPCX_ETIMEDOUT && until != dl)
            continue;
        if (rc < 0)
            return rc;
    }
}

int shm_lock(struct shm_ring *r, _Atomic uint32_t *l, ipcx__deadline dl, int *recovered)
{
    uint32_t me = r->seg.id;
    *recovered = 0;
    if (shm_lock_try(l, me))
        return 0;
    for (int i = 0; i < LOCK_SPINS; i++) {
        ipcx__cpu_relax();
        if (atomic_load_explicit(l, memory_order_relaxed) == 0 && shm_lock_try(l, me))
            return 0;
    }
    for (;;) {
        uint32_t v = atomic_load_explicit(l, memory_order_relaxed);
        if (v == 0) {
            /* Others may still sleep: keep the waiter bit so our unlock wakes one. */
            if (atomic_compare_exchange_weak_explicit(l, &v, me | SHM_L_WAITERS,
                                                      memory_order_acquire, memory_order_relaxed))
                return 0;
            continue;
        }
        if (!(v & SHM_L_WAITERS)) {
            if (!atomic_compare_exchange_weak(l, &v, v | SHM_L_WAITERS))
                continue;
            v |= SHM_L_WAITERS;
        }
        int64_t now = ipcx__now_ns();
        ipcx__deadline slice = dl < now + LOCK_SLICE_NS ? dl : now + LOCK_SLICE_NS;
        int rc = dl == 0 ? IPCX_ETIMEDOUT : ipcx__futex_wait((uint32_t *)l, v, slice);
        if (rc != IPCX_ETIMEDOUT)
            continue;
        if (!shm_seg_owner_alive(&r->seg, v & ~SHM_L_WAITERS)) {
            if (atomic_compare_exchange_strong(l, &v, me | SHM_L_WAITERS)) {
                *recovered = 1;
                return 0;
            }
            continue;
        }
        if (dl == 0)
            return IPCX_EAGAIN;
        if (ipcx__now_ns() >= dl)
            return IPCX_ETIMEDOUT;
    }
}

void shm_unlock_wake(_Atomic uint32_t *l)
{
    ipcx__futex_wake((uint32_t *)l, 1);
}

int shm_unlock_notify_slow(struct shm_ring *r, enum shm_side side, uint32_t old)
{
    struct shm_hdr *hd = r->seg.hdr;
    _Atomic uint32_t *w = shm_side_notifies(hd, side);
    if (old & SHM_L_WAITERS)
        shm_unlock_wake(shm_side_lock(hd, side));
    if (atomic_load_explicit(w, memory_order_relaxed) & (SHM_W_SLEEP | SHM_W_POLL))
        shm_wake(r, w);
    return 0;
}
