/*
 * test_uring.c: the io_uring receive wait of src/os/uring.c on its own, over
 * a socketpair. Its promise: when a wait returns, no read is left in the
 * kernel, and a read it cancelled because the deadline passed or the watched
 * descriptor fired reports the bytes that raced in, so a stream read through
 * thousands of such waits loses and duplicates nothing. Also: the watched
 * descriptor wakes the wait, a deadline is kept, and a build or kernel
 * without io_uring says so (-ENOSYS) instead of failing the receive.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ipcx.h>

#include "os/os.h"
#include "os/uring.h"

#define STREAM_BYTES ((size_t)4 << 20)

/* The byte at stream position i. */
static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 131u + (i >> 9));
}

struct writer {
    int fd;
    int ev; /* written just before some pieces: ends the wait as the bytes come */
    atomic_int stop;
};

/* Writes the pattern in pieces of 1..2000 bytes with uneven gaps, so that bytes
 * often land just as a wait's deadline passes or its watched descriptor fires. */
static void *writer_main(void *argp)
{
    struct writer *w = argp;
    static unsigned char buf[2000];
    uint64_t rng = 42;
    size_t off = 0;
    while (off < STREAM_BYTES && !atomic_load(&w->stop)) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = 1 + (size_t)(rng >> 33) % sizeof buf;
        if (n > STREAM_BYTES - off)
            n = STREAM_BYTES - off;
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(off + i);
        if ((rng >> 40) % 4 == 0 && write(w->ev, "e", 1) != 1 && errno != EAGAIN)
            break; /* a full watched socket (nobody drains it without io_uring) is fine */
        ssize_t k = send(w->fd, buf, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            break;
        off += (size_t)k;
        int64_t until = ipcx__now_ns() + (int64_t)((rng >> 20) % 40000);
        while (ipcx__now_ns() < until) {
        }
    }
    return NULL;
}

Test(uring, short_deadlines_lose_nothing, .timeout = 120)
{
    int sv[2];
    /* The writer blocks when the socket is full; the reader's end is non-blocking, as the
     * library's accepted sockets are. */
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cr_assert_eq(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    int ev[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, ev), 0);
    struct writer w = {.fd = sv[1], .ev = ev[1]};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, writer_main, &w), 0);
    struct ipcx__uring *u = NULL;
    static unsigned char buf[3000];
    size_t got = 0, waits = 0, timed_out = 0, watched = 0;
    int usable = 1;
    int64_t give_up = ipcx__now_ns() + 90 * IPCX_SEC;
    while (got < STREAM_BYTES && ipcx__now_ns() < give_up) {
        /* A buffer size that varies, so reads end anywhere in the writer's pieces. */
        struct iovec v[2] = {{buf, 1 + got % 1000}, {buf + 1000, 1 + got % 1999}};
        int nv = 1 + (int)(waits % 2);
        size_t cap = v[0].iov_len + (nv == 2 ? v[1].iov_len : 0);
        struct ipcx__uring_wake wk;
        ssize_t n;
        int rc = usable
                     ? ipcx__uring_wait(&u, ev[0], sv[0], v, nv,
                                        ipcx__now_ns() + 1000 + (int64_t)(waits % 30) * 1000, &wk)
                     : -ENOSYS;
        waits++;
        if (rc == -ENOSYS) {
            usable = 0; /* no io_uring here: the rest of the test checks nothing new */
            (void)ipcx__fd_wait(sv[0], POLLIN, ipcx__now_ns() + IPCX_MSEC);
            n = ipcx__fd_readv(sv[0], 1, v, nv);
            if (n == -EAGAIN)
                continue;
        } else {
            cr_assert_eq(rc, 0, "wait: %d", rc);
            if (wk.watch) {
                char junk[64];
                while (read(ev[0], junk, sizeof junk) > 0) {
                }
                watched++;
            }
            if (!wk.read) {
                timed_out += !wk.watch;
                continue;
            }
            n = wk.res;
        }
        cr_assert(n > 0 && (size_t)n <= cap, "read gave %zd (room %zu)", n, cap);
        for (ssize_t i = 0; i < n; i++) {
            unsigned char b = i < (ssize_t)v[0].iov_len ? buf[i] : buf[1000 + i - v[0].iov_len];
            cr_assert_eq(b, pattern(got + (size_t)i), "byte %zu of the stream is wrong",
                         got + (size_t)i);
        }
        got += (size_t)n;
    }
    atomic_store(&w.stop, 1);
    pthread_join(th, NULL);
    cr_assert_eq(got, STREAM_BYTES, "read %zu of %zu bytes", got, STREAM_BYTES);
    if (usable)
        cr_expect_gt(timed_out, 0, "no wait ended by its deadline: not exercised");
    cr_log_info("%zu waits, %zu ended by the deadline, %zu by the watched descriptor", waits,
                timed_out, watched);
    ipcx__uring_close(u);
    close(sv[0]);
    close(sv[1]);
    close(ev[0]);
    close(ev[1]);
}

Test(uring, watched_descriptor_and_deadline, .timeout = 30)
{
    int sv[2], ev[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, ev), 0);
    struct ipcx__uring *u = NULL;
    unsigned char buf[64];
    struct iovec v = {buf, sizeof buf};
    struct ipcx__uring_wake wk;
    int64_t t0 = ipcx__now_ns();
    int rc = ipcx__uring_wait(&u, ev[0], sv[0], &v, 1, t0 + 30 * IPCX_MSEC, &wk);
    if (rc == -ENOSYS) {
        cr_assert_null(u);
        cr_log_info("io_uring is not available here: nothing more to check");
        return;
    }
    int64_t el = ipcx__now_ns() - t0;
    cr_assert_eq(rc, 0);
    cr_assert(!wk.read && !wk.watch, "nothing happened, yet the wait says so");
    cr_assert(el >= 30 * IPCX_MSEC && el < 5 * IPCX_SEC, "30 ms deadline took %.1f ms",
              (double)el / 1e6);

    /* The watched descriptor readable: the wait ends, the read is cancelled. */
    cr_assert_eq(write(ev[1], "w", 1), 1);
    rc = ipcx__uring_wait(&u, ev[0], sv[0], &v, 1, IPCX__NEVER, &wk);
    cr_assert(rc == 0 && wk.watch && !wk.read);
    /* Still readable (level): the re-armed poll fires at once, and a byte on the socket too. */
    cr_assert_eq(write(sv[1], "abc", 3), 3);
    rc = ipcx__uring_wait(&u, ev[0], sv[0], &v, 1, IPCX__NEVER, &wk);
    cr_assert_eq(rc, 0);
    cr_assert(wk.watch || wk.read);
    char junk, acc[8];
    cr_assert_eq(read(ev[0], &junk, 1), 1);
    size_t have = 0;
    for (;;) {
        if (wk.read) {
            cr_assert(wk.res > 0 && have + (size_t)wk.res <= 3, "read gave %zd", wk.res);
            memcpy(acc + have, buf, (size_t)wk.res);
            have += (size_t)wk.res;
        }
        if (have == 3)
            break;
        rc = ipcx__uring_wait(&u, ev[0], sv[0], &v, 1, IPCX__NEVER, &wk);
        cr_assert_eq(rc, 0);
    }
    cr_assert(memcmp(acc, "abc", 3) == 0);
    /* The watched descriptor readable again: never reported quiet. */
    cr_assert_eq(write(ev[1], "w", 1), 1);
    cr_assert_eq(ipcx__uring_watch_quiet(u), 0);
    cr_assert_eq(read(ev[0], &junk, 1), 1);
    /* End of stream reads as 0. */
    close(sv[1]);
    rc = ipcx__uring_wait(&u, ev[0], sv[0], &v, 1, IPCX__NEVER, &wk);
    cr_assert(rc == 0 && wk.read && wk.res == 0, "end of stream: rc %d read %d res %zd", rc,
              wk.read, wk.res);
    ipcx__uring_close(u);
    close(sv[0]);
    close(ev[0]);
    close(ev[1]);
}
