/*
 * test_sigpipe.c: a send to a peer that has gone returns IPCX_EPIPE and never
 * raises SIGPIPE, whose default action would kill the process; a SIGPIPE the
 * application had pending before the call is left pending for it.
 */
#include <criterion/criterion.h>
#include <signal.h>

#include <ipcx.h>

static void send_to_gone_peer(const char *url)
{
    ipcx_mailbox *a, *b;
    cr_assert_eq(ipcx_pair(&a, &b, url, NULL), 0);
    ipcx_close(b);
    int rc = ipcx_send(a, "x", 1, IPCX_SEC);
    cr_expect_eq(rc, IPCX_EPIPE, "%s: %s", url, ipcx_errname(rc));
    ipcx_close(a);
}

Test(sigpipe, default_disposition_survives)
{
    cr_assert_eq(signal(SIGPIPE, SIG_DFL), SIG_DFL);
    send_to_gone_peer("pipe://");
    send_to_gone_peer("unix://");
}

Test(sigpipe, pending_signal_of_the_application_is_kept)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    cr_assert_eq(pthread_sigmask(SIG_BLOCK, &set, NULL), 0);
    raise(SIGPIPE);
    send_to_gone_peer("pipe://");
    cr_assert_eq(sigpending(&pending), 0);
    cr_expect(sigismember(&pending, SIGPIPE), "the application's own SIGPIPE was consumed");
    int sig = 0;
    cr_assert_eq(sigwait(&set, &sig), 0);
    send_to_gone_peer("pipe://");
    cr_assert_eq(sigpending(&pending), 0);
    cr_expect(!sigismember(&pending, SIGPIPE), "the library left its own SIGPIPE pending");
}
