/*
 * lock.h: the mutex that serialises calls on one endpoint. Uncontended it is
 * one compare-and-swap to take and one exchange to give back (a pthread
 * mutex costs about 30 instructions each way, a fifth of shm's whole
 * send+recv budget); contended, waiters sleep on a process-private futex.
 * Never shared between processes: shm's cross-process locks are in src/shm.
 */
#ifndef IPCX_OS_LOCK_H
#define IPCX_OS_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

/* 0 free, 1 held, 2 held with (possibly) sleepers. Zero-initialised = free. */
typedef struct ipcx__mutex {
    _Atomic uint32_t w;
} ipcx__mutex;

void ipcx__mutex_wait(ipcx__mutex *m);
void ipcx__mutex_wake(ipcx__mutex *m);

static inline void ipcx__mutex_lock(ipcx__mutex *m)
{
    uint32_t v = 0;
    if (!atomic_compare_exchange_strong_explicit(&m->w, &v, 1, memory_order_acquire,
                                                 memory_order_relaxed))
        ipcx__mutex_wait(m);
}

static inline void ipcx__mutex_unlock(ipcx__mutex *m)
{
    if (atomic_exchange_explicit(&m->w, 0, memory_order_release) == 2)
        ipcx__mutex_wake(m);
}

#endif
