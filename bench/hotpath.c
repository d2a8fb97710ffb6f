/*
 * hotpath.c: the instruction count of shm's hot path. One process, one SPSC
 * shm:// mailbox in spin mode, a sender and a receiver endpoint; the loop
 * sends a 64-byte message and receives it, through the public API, n times.
 * Under `valgrind --tool=callgrind --toggle-collect=hotpath_loop` the
 * difference between two runs of different n, divided by the difference in
 * n, is the instructions one send plus its recv costs, warm and uncontended
 * (scripts/hotpath.sh does exactly that). It measures, never times.
 */
#include "hotpath.h"

#include <ipcx.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Not static, not inlined: callgrind toggles collection on entry to this symbol. */
__attribute__((noinline)) int hotpath_loop(ipcx_mailbox *tx, ipcx_mailbox *rx, long n);

__attribute__((noinline)) int hotpath_loop(ipcx_mailbox *tx, ipcx_mailbox *rx, long n)
{
    unsigned char m[64], b[64];
    size_t len;
    memset(m, 0x5a, sizeof m);
    for (long i = 0; i < n; i++) {
        if (ipcx_send(tx, m, sizeof m, IPCX_FOREVER) != 0 ||
            ipcx_recv(rx, b, sizeof b, &len, IPCX_FOREVER) != 0 || len != sizeof m)
            return -1;
    }
    return 0;
}

int hotpath_run(long n, int spsc)
{
    char url[96];
    ipcx_opts o = IPCX_OPTS_INIT;
    ipcx_mailbox *tx = NULL, *rx = NULL;
    snprintf(url, sizeof url, "shm://ipcx-bench-hotpath-%ld", (long)getpid());
    o.flags = IPCX_F_UNLINK_ON_CLOSE | (spsc ? IPCX_F_SPSC : 0u);
    o.spin_ns = -1;
    o.role = IPCX_RECV;
    int rc = ipcx_open(&rx, url, &o);
    if (rc == 0) {
        o.role = IPCX_SEND;
        rc = ipcx_open(&tx, url, &o);
    }
    if (rc == 0)
        rc = hotpath_loop(tx, rx, 1000) < 0 ? -1 : 0; /* warm: caches, lazy binding */
    if (rc == 0)
        rc = hotpath_loop(tx, rx, n) < 0 ? -1 : 0;
    if (tx)
        ipcx_close(tx);
    if (rx)
        ipcx_close(rx);
    if (rc != 0)
        fprintf(stderr, "ipcx-bench: hotpath: %s\n",
                rc < 0 ? "a send or recv failed" : ipcx_strerror(rc));
    return rc == 0 ? 0 : 1;
}
