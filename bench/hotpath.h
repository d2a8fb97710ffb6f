/* hotpath.h: see hotpath.c. */
#ifndef BENCH_HOTPATH_H
#define BENCH_HOTPATH_H

/* Runs 1000 warm-up and then n 64-byte send+recv pairs on one shm:// mailbox
 * (SPSC if spsc, else many-to-many locks), spinning. Returns an exit status. */
int hotpath_run(long n, int spsc);

#endif
