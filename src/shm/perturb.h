/*
 * perturb.h: a debug hook that widens the shm engine's race windows.
 *
 * A protocol bug between processes shows up when one side stops at an
 * unlucky instruction: on a loaded machine that happens once in millions of
 * messages, in a test that passes a thousand times first. Configured with
 * -DIPCX_SHM_PERTURB=ON (make check's clang build), SHM_PERTURB() at each step
 * of the ring protocol (between a record's stores, between reading a record
 * and moving head, around the lock words and the sleep bit) now and then
 * gives up the CPU or spins for up to a few microseconds, so every stress
 * test walks through such stops by the thousand. It changes timing only,
 * never what is stored or checked. In every other build it is nothing.
 */
#ifndef IPCX_SHM_PERTURB_H
#define IPCX_SHM_PERTURB_H

#ifdef IPCX_SHM_PERTURB

#include <sched.h>
#include <stdint.h>

#include "os/os.h"
#include "os/shmem.h"

/*
 * One step in 32 stops: half of them yield the CPU, half spin 0..4095 pauses.
 * Each stop mixes the clock into the state, so threads and fork()ed children
 * (which start from their parent's state) soon stop at different steps.
 */
static inline void shm_perturb(void)
{
    static _Thread_local uint64_t x;
    if (x == 0)
        x = ((uint64_t)(uintptr_t)&x ^ (uint64_t)ipcx__now_ns()) | 1u;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    if ((x & 31) != 0)
        return;
    x = (x ^ (uint64_t)ipcx__now_ns()) | 1u;
    if (x & 32) {
        sched_yield();
        return;
    }
    for (unsigned n = (unsigned)(x >> 40) & 4095u; n > 0; n--)
        ipcx__cpu_relax();
}
#define SHM_PERTURB() shm_perturb()

#else
#define SHM_PERTURB() ((void)0)
#endif

#endif
