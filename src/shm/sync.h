/*
 * sync.h: waiting and mutual exclusion in shared memory. An event count
 * (sleep bit, poll bit, epoch) lets a side sleep on a futex and its peer pay
 * a system call only when someone actually sleeps or polls; a lock whose
 * word names its owner's registry slot lets waiters take it over when the
 * kernel says that owner has died. Nothing here trusts a shared word beyond
 * comparing it: a hostile value costs a spurious wake-up, never memory.
 */
#ifndef IPCX_SHM_SYNC_H
#define IPCX_SHM_SYNC_H

#include <stdatomic.h>
#include <stdint.h>

#include "shm/perturb.h"
#include "shm/ring.h"

/* Waits until ready(r) or dl: spins for r->spin_ns, then sleeps on w. */
int shm_wait(struct shm_ring *r, _Atomic uint32_t *w, int (*ready)(struct shm_ring *),
             ipcx__deadline dl);

/* Slow half of shm_notify: bumps the epoch, wakes sleepers, rings armed doorbells. Returns 0. */
int shm_wake(struct shm_ring *r, _Atomic uint32_t *w);

/*
 * Call after publishing something the other side may be waiting for on w.
 * Returns 0, so that a fast path can end with `return shm_notify(...)` and
 * the rare wake-up is a tail call: the path itself then saves no registers.
 */
static inline int shm_notify(struct shm_ring *r, _Atomic uint32_t *w)
{
    SHM_PERTURB();
    /* Pairs with the fence in shm_wait: either the waiter sees what we
     * published, or we see its sleep/poll bit. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(w, memory_order_relaxed) & (SHM_W_SLEEP | SHM_W_POLL))
        return shm_wake(r, w);
    return 0;
}

/* One attempt at the lock word, for fast paths: 1 if taken. */
static inline int shm_lock_try(_Atomic uint32_t *l, uint32_t me)
{
    uint32_t v = 0;
    return atomic_compare_exchange_strong_explicit(l, &v, me, memory_order_acquire,
                                                   memory_order_relaxed);
}

/*
 * A full fence right after an atomic read-modify-write. On x86 the locked
 * instruction is one already (loads and stores are not reordered with locked
 * instructions: Intel SDM vol. 3A, 9.2.2), which is what Linux's
 * smp_mb__after_atomic() relies on there, so only the compiler is held back.
 */
static inline void shm_fence_after_rmw(void)
{
#if defined(__x86_64__) || defined(__i386__)
    atomic_signal_fence(memory_order_seq_cst);
#else
    atomic_thread_fence(memory_order_seq_cst);
#endif
}

/*
 * The fast paths' sides: each holds its lock word while it works and then
 * notifies the other side's waiters (a sender: prod_lock, then data_word; a
 * receiver: cons_lock, then space_word).
 */
enum shm_side { SHM_SEND_SIDE, SHM_RECV_SIDE };

static inline _Atomic uint32_t *shm_side_lock(struct shm_hdr *hd, enum shm_side side)
{
    return side == SHM_RECV_SIDE ? &hd->cons_lock : &hd->prod_lock;
}

static inline _Atomic uint32_t *shm_side_notifies(struct shm_hdr *hd, enum shm_side side)
{
    return side == SHM_RECV_SIDE ? &hd->space_word : &hd->data_word;
}

static inline _Atomic uint32_t *shm_side_heir(struct shm_hdr *hd, enum shm_side side)
{
    return side == SHM_RECV_SIDE ? &hd->cons_heir : &hd->prod_heir;
}

/*
 * Takes the side's lock for this endpoint, waiting until dl. *recovered is
 * set when the lock was taken over from an owner that died holding it, so
 * the caller can repair what that owner may have left half done.
 */
int shm_lock(struct shm_ring *r, enum shm_side side, ipcx__deadline dl, int *recovered);

/* Slow half of shm_unlock, for a lock that had waiters: hands it to the heir or wakes one. */
void shm_lock_pass(struct shm_ring *r, enum shm_side side);

/* Gives the side's lock back; passes it on if anyone waits. */
static inline void shm_unlock(struct shm_ring *r, enum shm_side side)
{
    if (atomic_exchange_explicit(shm_side_lock(r->seg.hdr, side), 0, memory_order_release) &
        SHM_L_WAITERS)
        shm_lock_pass(r, side);
}

/* Slow half of shm_unlock_notify: wakes a lock waiter (old had the bit) and the side's
 * sleepers and pollers. Returns 0. */
int shm_unlock_notify_slow(struct shm_ring *r, enum shm_side side, uint32_t old);

/*
 * A fast path's end: gives its side's lock back and, the exchange serving as
 * shm_notify's fence, checks the word the side notifies. Returns 0, and only
 * a lock waiter or a sleeper or poller costs a call. The side is a constant
 * at each call, so both words are addressed off hd, and the slow half finds
 * them itself: the fast path computes no arguments for a call it rarely makes.
 */
static inline int shm_unlock_notify(struct shm_ring *r, struct shm_hdr *hd, enum shm_side side)
{
    SHM_PERTURB();
    uint32_t old = atomic_exchange_explicit(shm_side_lock(hd, side), 0, memory_order_release);
    shm_fence_after_rmw();
    SHM_PERTURB();
    if (old & SHM_L_WAITERS)
        return shm_unlock_notify_slow(r, side, old);
    if (atomic_load_explicit(shm_side_notifies(hd, side), memory_order_relaxed) &
        (SHM_W_SLEEP | SHM_W_POLL))
        return shm_unlock_notify_slow(r, side, 0);
    return 0;
}

#endif
