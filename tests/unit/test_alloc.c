/*
 * test_alloc.c: walks an allocation failure over every allocation of an
 * open / send / receive / close cycle, for a pipe pair and for a UNIX
 * mailbox. Each failure must come back as IPCX_ENOMEM with no side effect:
 * nothing leaked (the ASan build checks), no message lost or duplicated.
 */
#include <criterion/criterion.h>
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

Test(alloc, pipe_pair_cycle)
{
    long n = 1;
    while (!cycle(n, NULL))
        n++;
    cr_expect_gt(n, 3, "the cycle allocates: the walk must have failed some calls");
}

Test(alloc, unix_cycle)
{
    char url[64];
    snprintf(url, sizeof url, "unix://@ipcx-alloc-%d", (int)getpid());
    long n = 1;
    while (!cycle(n, url))
        n++;
    cr_expect_gt(n, 3);
}
