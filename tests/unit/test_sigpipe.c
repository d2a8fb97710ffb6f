/*
 * test_sigpipe.c: a send to a peer that has gone returns IPCX_EPIPE and never
 * raises SIGPIPE, whose default action would kill the process; a SIGPIPE the
 * application had pending before the call is left pending for it.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ipcx.h>

/*
 * Sends to a closed peer until IPCX_EPIPE. A socket pair fails at once; a pipe
 * pair, whose writer holds the read end so that no write can raise SIGPIPE,
 * notices the hang-up when the pipe is full (64 KiB by default).
 */
static void send_to_gone_peer(const char *url)
{
    static char chunk[4096];
    ipcx_mailbox *a, *b;
    cr_assert_eq(ipcx_pair(&a, &b, url, NULL), 0);
    ipcx_close(b);
    int rc = 0, n = 0;
    while (rc == 0 && n < 1000) {
        rc = ipcx_send(a, chunk, sizeof chunk, IPCX_SEC);
        n++;
    }
    cr_expect_eq(rc, IPCX_EPIPE, "%s: %s after %d sends", url, ipcx_errname(rc), n);
    cr_expect_lt(n, 100, "%s: the hang-up took %d sends to notice", url, n);
    ipcx_close(a);
}

Test(sigpipe, default_disposition_survives)
{
    cr_assert_eq(signal(SIGPIPE, SIG_DFL), SIG_DFL);
    send_to_gone_peer("pipe://");
    send_to_gone_peer("unix://");
}

Test(sigpipe, fifo_writer_whose_receiver_left_survives)
{
    char url[64];
    snprintf(url, sizeof url, "fifo:///tmp/ipcx-sigpipe-%d.fifo", (int)getpid());
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_RECV;
    o.flags = IPCX_F_UNLINK_ON_CLOSE;
    ipcx_mailbox *rx, *tx;
    cr_assert_eq(ipcx_open(&rx, url, &o), 0);
    o.role = IPCX_SEND;
    cr_assert_eq(ipcx_open(&tx, url, &o), 0);
    cr_assert_eq(ipcx_send(tx, "x", 1, 0), 0);
    ipcx_close(rx);
    /* The write fails with EPIPE inside, the sender reconnects, finds no receiver. */
    int rc = ipcx_send(tx, "y", 1, 0);
    cr_expect_eq(rc, IPCX_EAGAIN, "%s", ipcx_errname(rc));
    /* A fragmented message: SIGPIPE stays blocked across its fragments. */
    cr_assert_eq(ipcx_open(&rx, url,
                           &(ipcx_opts){.struct_size = sizeof(ipcx_opts),
                                        .role = IPCX_RECV,
                                        .create = IPCX_CREATE,
                                        .flags = IPCX_F_UNLINK_ON_CLOSE}),
                 0);
    static char big[20000]; /* five fragments, within the pipe's 64 KiB */
    cr_assert_eq(ipcx_send(tx, big, sizeof big, IPCX_SEC), 0);
    ipcx_close(rx);
    rc = ipcx_send(tx, big, sizeof big, 0);
    cr_expect_eq(rc, IPCX_EAGAIN, "%s", ipcx_errname(rc));
    ipcx_close(tx);
}

Test(sigpipe, pending_signal_of_the_application_is_kept)
{
    char url[64];
    snprintf(url, sizeof url, "fifo:///tmp/ipcx-sigpipe-p-%d.fifo", (int)getpid());
    ipcx_opts o = IPCX_OPTS_INIT;
    ipcx_mailbox *rx, *tx;
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    cr_assert_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
    raise(SIGPIPE);
    for (int round = 0; round < 2; round++) {
        o.role = IPCX_RECV;
        o.flags = IPCX_F_UNLINK_ON_CLOSE;
        cr_assert_eq(ipcx_open(&rx, url, &o), 0);
        o.role = IPCX_SEND;
        cr_assert_eq(ipcx_open(&tx, url, &o), 0);
        ipcx_close(rx);
        cr_expect_eq(ipcx_send(tx, "y", 1, 0), IPCX_EAGAIN); /* the write met EPIPE */
        ipcx_close(tx);
        cr_assert_eq(sigpending(&pending), 0);
        if (round == 0) {
            cr_expect(sigismember(&pending, SIGPIPE), "the application's own SIGPIPE was consumed");
            int sig = 0;
            cr_assert_eq(sigwait(&set, &sig), 0);
        } else {
            cr_expect(!sigismember(&pending, SIGPIPE), "the library left its own SIGPIPE pending");
        }
    }
}
