/*
 * mech.c: the registry of mechanisms and the few helpers they share (unique
 * names, a free TCP port). It lists mechanisms; it must never hold the code
 * of one.
 */
#include "mech.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

const struct mech *const mech_table[] = {
    /* The hardware floors (mech_floor.c): no baseline, the least anything can cost. */
    &mech_floor_cacheline,
    &mech_floor_ring,
    &mech_floor_futex,
    &mech_floor_memcpy,
    /* shm: spinning compared with the spinning ring, sleeping with the futex ping-pong. */
    &mech_ipcx_shm_spin,
    &mech_ipcx_shm_sleep,
    &mech_ipcx_shm,
    &mech_ipcx_shm_loan,
    /* iceoryx: zero copy, polling, compared with the spinning ring like ipcx-shm-spin. */
    &mech_iceoryx,
    /* Each raw baseline, then the library mechanisms compared with it, then the peers'. */
    &mech_raw_pipe,
    &mech_ipcx_pipe,
    &mech_raw_unix,
    &mech_ipcx_unix,
    &mech_ipcx_unixpair,
    &mech_zmq_ipc,
    &mech_nng_ipc,
    &mech_raw_seqpacket,
    &mech_raw_dgram,
    &mech_raw_tcp,
    &mech_ipcx_tcp,
    &mech_zmq_tcp,
    &mech_raw_udp,
    &mech_raw_fifo,
    &mech_ipcx_fifo,
    /* Kernel mechanisms the library has no transport for: baselines on their own. */
    &mech_raw_mq,
    &mech_raw_sysvmq,
    &mech_raw_eventfd,
    &mech_raw_signal,
    NULL,
};

const struct mech *mech_find(const char *name)
{
    for (size_t i = 0; mech_table[i] != NULL; i++)
        if (strcmp(mech_table[i]->name, name) == 0)
            return mech_table[i];
    return NULL;
}

void mech_name(char *buf, size_t cap, const struct mech_setup *s, const char *tag)
{
    snprintf(buf, cap, "ipcx-bench-%ld-%u-%s", (long)getpid(), s->cell_id, tag);
}

int mech_free_tcp_ports(int *ports, int n)
{
    int fds[8];
    int rc = 0, made = 0;
    if (n < 1 || n > 8)
        return -EINVAL;
    /* Hold every socket until all are bound, so the ports differ. */
    for (; made < n; made++) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        fds[made] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[made] < 0) {
            rc = -errno;
            break;
        }
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(fds[made], (struct sockaddr *)&sa, sizeof sa) < 0 ||
            getsockname(fds[made], (struct sockaddr *)&sa, &len) < 0) {
            rc = -errno;
            made++;
            break;
        }
        ports[made] = ntohs(sa.sin_port);
    }
    for (int i = 0; i < made; i++)
        close(fds[i]);
    return rc;
}
