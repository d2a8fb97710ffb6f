/*
 * uring.h: a receive wait through io_uring, for the stream engine. One
 * io_uring_enter both waits for a connection and reads it, where a readiness
 * wait followed by a read would take two system calls: the read (a RECV on
 * the connection) and a poll of a watched descriptor (a listener, through a
 * private epoll set so that the ring never holds the listener open) are
 * submitted together and waited for at once. Nothing is left pending inside
 * the kernel when the call returns except that poll: a read that the wait
 * did not need is cancelled and its completion reaped, its bytes reported if
 * some raced in. When io_uring cannot be used (a build without liburing, an
 * old kernel, a seccomp filter, kernel.io_uring_disabled) the wait says so
 * and the caller waits another way.
 */
#ifndef IPCX_OS_URING_H
#define IPCX_OS_URING_H

#include <sys/types.h>
#include <sys/uio.h>

#include "os/os.h"

/* One endpoint's ring: made by its first wait, owned by the caller's receive lock. */
struct ipcx__uring;

/* What ended a wait. Neither set: the deadline passed. */
struct ipcx__uring_wake {
    int watch;   /* the watched descriptor polled readable (or the poll ended: check it) */
    int read;    /* the read ended: res is its result */
    ssize_t res; /* bytes read (into the iovecs, in order), 0 at end of stream, or -errno */
};

/*
 * Waits until the socket fd has bytes, watch_fd (a descriptor polled for
 * input, -1 for none; the same on every call with one ring) is readable, or
 * dl (not 0) passes; bytes that come are read into iov[0..niov) by the same
 * system call. *up is the endpoint's ring, made here on first use. EINTR
 * resumes the wait; the deadline is CLOCK_MONOTONIC, as ipcx__deadline.
 * Returns 0 (see *w), or, with nothing read or left pending:
 *   -EBUSY   the ring belongs to another thread (SINGLE_ISSUER): wait another
 *            way this time (a thread that keeps waiting gets the ring remade
 *            for it after a few calls);
 *   -ENOMEM  no memory for the ring: wait another way this time;
 *   -ENOSYS  io_uring cannot be used here: wait another way from now on
 *            (*up stays NULL).
 * A ring inherited through fork() is never used: the child's first wait
 * drops its copy and makes its own.
 */
int ipcx__uring_wait(struct ipcx__uring **up, int watch_fd, int fd, const struct iovec *iov,
                     int niov, ipcx__deadline dl, struct ipcx__uring_wake *w);

/*
 * 1 if the watched descriptor's poll is armed in the ring and has not fired,
 * so a caller may skip checking the watched descriptor itself; else 0. Never
 * makes a system call.
 */
int ipcx__uring_watch_quiet(const struct ipcx__uring *u);

/* Closes the ring (NULL: nothing). Never blocks; safe in a child that inherited it. */
void ipcx__uring_close(struct ipcx__uring *u);

#endif
