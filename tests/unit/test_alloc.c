/*
 * test_alloc.c: walks an allocation failure over every allocation of an
 * open / send / receive / close cycle, for a pipe pair and for a UNIX
 * mailbox, and over the receive of a shm message larger than the ring. Each
 * failure must come back as IPCX_ENOMEM with no side effect: nothing leaked
 * (the ASan build checks), no message lost or duplicated.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ipcx.h>

#include "os/alloc.h"

/* One cycle with the nth allocation failing; returns 1 once n is past every allocation. */
static int cycle(long n, const char *url)
{
    ipcx_mailbox *tx, *rx;
    int rc;
    ipcx__alloc_fail_at(n);
    if (url) {
        ipcx_opts o = IPCX_OPTS_INIT;
        o.role = IPCX_RECV;
        rc = ipcx_open(&rx, url, &o);
        if (rc < 0) {
            cr_assert_eq(rc, IPCX_ENOMEM, "n=%ld open rx: %s", n, ipcx_errname(rc));
            return 0;
        }
        o.role = IPCX_SEND;
        rc = ipcx_open(&tx, url, &o);
        if (rc < 0) {
            cr_assert_eq(rc, IPCX_ENOMEM, "n=%ld open tx: %s", n, ipcx_errname(rc));
            ipcx_close(rx);
            return 0;
        }
    } else {
        rc = ipcx_pair(&tx, &rx, "pipe://", NULL);
        if (rc < 0) {
            cr_assert_eq(rc, IPCX_ENOMEM, "n=%ld pair: %s", n, ipcx_errname(rc));
            return 0;
        }
    }
    rc = ipcx_send(tx, "hello", 5, IPCX_SEC);
    cr_assert(rc == 0 || rc == IPCX_ENOMEM, "n=%ld send: %s", n, ipcx_errname(rc));
    int sent = rc == 0;
    void *m = NULL;
    size_t len = 0;
    int got = 0;
    for (int tries = 0; sent && tries < 3 && !got; tries++) {
        rc = ipcx_recv_alloc(rx, &m, &len, IPCX_SEC);
        cr_assert(rc == 0 || rc == IPCX_ENOMEM, "n=%ld recv: %s", n, ipcx_errname(rc));
        got = rc == 0;
    }
    if (sent) {
        cr_assert(got, "n=%ld: the message was lost after an allocation failure", n);
        cr_assert(len == 5 && memcmp(m, "hello", 5) == 0, "n=%ld: wrong message", n);
    }
    ipcx_free(m);
    int done = ipcx__alloc_fail_left() > 0;
    ipcx__alloc_fail_at(0);
    ipcx_close(tx);
    ipcx_close(rx);
    return done;
}

/* Runs cycle with the 1st, 2nd, ... allocation failing until one fails none; returns that n. */
static long walk(int (*cycle_fn)(long n, const char *url), const char *url)
{
    long n = 1;
    while (!cycle_fn(n, url))
        n++;
    return n;
}

Test(alloc, pipe_pair_cycle)
{
    cr_expect_gt(walk(cycle, NULL), 3, "the cycle allocates: the walk must have failed some calls");
}

Test(alloc, unix_cycle)
{
    char url[64];
    snprintf(url, sizeof url, "unix://@ipcx-alloc-%d", (int)getpid());
    cr_expect_gt(walk(cycle, url), 3);
}

/* The shm walk's sender: one message larger than the ring, from its own thread. */
struct big {
    ipcx_mailbox *tx;
    const unsigned char *msg;
    size_t len;
    int rc;
};

static void *big_send(void *arg)
{
    struct big *b = arg;
    b->rc = ipcx_send(b->tx, b->msg, b->len, 10 * IPCX_SEC);
    return NULL;
}

/*
 * A message of about fifty chunks received with ipcx_recv_alloc while the nth
 * allocation from the first receive on fails (the assembly buffer grows as the
 * chunks arrive): IPCX_ENOMEM keeps the chunk first in line and what was
 * assembled, so calling again gets the whole message. Returns 1 once n is past
 * every allocation.
 */
static int shm_big_cycle(long n, const char *url)
{
    enum { LEN = 50000 };
    static unsigned char msg[LEN];
    for (size_t i = 0; i < LEN; i++)
        msg[i] = (unsigned char)(i * 13u + (i >> 8) + (size_t)n);
    ipcx_opts o = IPCX_OPTS_INIT;
    ipcx_mailbox *rx, *tx;
    o.role = IPCX_RECV;
    o.create = IPCX_CREATE_EXCL;
    o.flags = IPCX_F_UNLINK_ON_CLOSE;
    o.buffer_size = 4096;
    cr_assert_eq(ipcx_open(&rx, url, &o), 0);
    o.role = IPCX_SEND;
    o.create = IPCX_ATTACH;
    cr_assert_eq(ipcx_open(&tx, url, &o), 0);
    struct big b = {tx, msg, LEN, 1};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, big_send, &b), 0);
    ipcx__alloc_fail_at(n);
    void *m = NULL;
    size_t len = 0;
    int rc, failures = 0;
    while ((rc = ipcx_recv_alloc(rx, &m, &len, 10 * IPCX_SEC)) == IPCX_ENOMEM)
        failures++;
    int done = ipcx__alloc_fail_left() > 0;
    ipcx__alloc_fail_at(0);
    cr_assert_eq(rc, 0, "n=%ld recv: %s", n, ipcx_errname(rc));
    cr_assert_leq(failures, 1, "n=%ld: one planned failure, %d IPCX_ENOMEM", n, failures);
    cr_assert(len == LEN && memcmp(m, msg, LEN) == 0, "n=%ld: the message differs", n);
    ipcx_free(m);
    pthread_join(th, NULL);
    cr_assert_eq(b.rc, 0, "n=%ld send: %s", n, ipcx_errname(b.rc));
    cr_assert_eq(ipcx_recv(rx, msg, LEN, &len, 0), IPCX_EAGAIN, "n=%ld: a second message", n);
    ipcx_close(tx);
    ipcx_close(rx);
    return done;
}

Test(alloc, shm_large_message_receive)
{
    char url[64];
    snprintf(url, sizeof url, "shm://ipcx-alloc-%d", (int)getpid());
    cr_expect_gt(walk(shm_big_cycle, url), 3,
                 "the assembly grows: the walk must have failed some of its allocations");
}
