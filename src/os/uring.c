/*
 * uring.c: the io_uring receive wait of uring.h, over liburing. A ring is
 * per endpoint and per process: made by the first wait, with
 * SINGLE_ISSUER | DEFER_TASKRUN where the kernel has them (completions are
 * then handled only inside our own io_uring_enter, the cheapest way), so
 * only its maker thread may submit; other threads are told to wait another
 * way. A marker page that fork() wipes tells a child that its ring is its
 * parent's. It must never leave a read pending when a wait returns, never
 * hold the watched descriptor open (it polls a private epoll set instead)
 * and never report a failure of io_uring itself as an error of the receive.
 */
#include "os/uring.h"

#include <errno.h>

#if IPCX_HAVE_LIBURING

#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "os/alloc.h"

#if IPCX_HAVE_VALGRIND
/* Memcheck does not see the kernel fill a buffer after the system call that asked for it. */
#include <valgrind/memcheck.h>
#define uring_mark_defined(p, n) VALGRIND_MAKE_MEM_DEFINED(p, n)
#else
#define uring_mark_defined(p, n) ((void)(p), (void)(n))
#endif

#define URING_ENTRIES 4u /* at most three requests: the watch poll, a read, its cancel */
#define URING_ADOPT   4u /* waits in a row from another thread before the ring moves to it */
#define MARK_SIZE     4096u

enum { UD_WATCH = 1, UD_READ = 2, UD_CANCEL = 3 };

struct ipcx__uring {
    struct io_uring ring;
    pthread_t owner;              /* the thread that made it */
    int single;                   /* SINGLE_ISSUER: only owner may submit */
    int taskrun_flag;             /* the kernel flags pending completions in the SQ ring */
    int watch_ep;                 /* epoll set holding the watched descriptor, or -1 */
    int watch_armed;              /* a poll of watch_ep is in flight */
    unsigned foreign;             /* waits in a row from another thread */
    volatile unsigned char *mark; /* wiped by fork(): 0 in a process that did not make the ring */
};

/* Releases this process's hold on u: never touches what the kernel shares with a parent. */
static void uring_free(struct ipcx__uring *u)
{
    io_uring_queue_exit(&u->ring);
    if (u->watch_ep >= 0)
        close(u->watch_ep);
    munmap((void *)u->mark, MARK_SIZE);
    free(u);
}

static int uring_setup(struct ipcx__uring *u)
{
    static const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        0,
    };
    int rc = -ENOSYS;
    for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof p);
        p.flags = flag_sets[i];
        rc = io_uring_queue_init_params(URING_ENTRIES, &u->ring, &p);
        if (rc == -EINVAL)
            continue; /* a kernel older than these flags: try with fewer */
        if (rc < 0)
            return rc;
        /* Deadlines ride on io_uring_enter itself (5.11); older kernels keep to ppoll. */
        if (!(p.features & IORING_FEAT_EXT_ARG)) {
            io_uring_queue_exit(&u->ring);
            return -ENOSYS;
        }
        u->single = (p.flags & IORING_SETUP_SINGLE_ISSUER) != 0;
        u->taskrun_flag = (p.flags & IORING_SETUP_TASKRUN_FLAG) != 0;
        return 0;
    }
    return rc;
}

/* Makes a ring for the calling thread: 0, -ENOMEM (this time) or -ENOSYS (for good). */
static int uring_open(struct ipcx__uring **up, int watch_fd)
{
    struct ipcx__uring *u = ipcx__calloc(1, sizeof *u);
    if (!u)
        return -ENOMEM;
    u->watch_ep = -1;
    void *mark = mmap(NULL, MARK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mark == MAP_FAILED) {
        free(u);
        return -ENOSYS;
    }
    u->mark = mark;
    int rc = madvise(mark, MARK_SIZE, MADV_WIPEONFORK) < 0 ? -ENOSYS : 0;
    if (rc == 0 && watch_fd >= 0) {
        struct epoll_event ev = {.events = EPOLLIN};
        u->watch_ep = epoll_create1(EPOLL_CLOEXEC);
        if (u->watch_ep < 0 || epoll_ctl(u->watch_ep, EPOLL_CTL_ADD, watch_fd, &ev) < 0)
            rc = -ENOSYS;
    }
    if (rc == 0)
        rc = uring_setup(u) < 0 ? -ENOSYS : 0;
    if (rc < 0) {
        if (u->watch_ep >= 0)
            close(u->watch_ep);
        munmap(mark, MARK_SIZE);
        free(u);
        return rc;
    }
    u->owner = pthread_self();
    *u->mark = 1;
    *up = u;
    return 0;
}

/* Hands the queued entries to the SQ ring; returns how many the kernel has not consumed. */
static unsigned uring_flush(struct io_uring *r)
{
    struct io_uring_sq *sq = &r->sq;
    unsigned tail = *sq->ktail; /* written only by this thread */
    const unsigned mask = *sq->kring_mask;
    while (sq->sqe_head != sq->sqe_tail) {
#ifdef IORING_SETUP_NO_SQARRAY
        if (!(r->flags & IORING_SETUP_NO_SQARRAY))
#endif
            sq->array[tail & mask] = sq->sqe_head & mask;
        tail++;
        sq->sqe_head++;
    }
    io_uring_smp_store_release(sq->ktail, tail);
    return tail - io_uring_smp_load_acquire(sq->khead);
}

/*
 * One io_uring_enter: submits what is queued and waits for a completion
 * until dl (NEVER: no limit). Returns what the kernel said; a wait ended by
 * a signal or the time limit is not an error here (the caller looks at the
 * completions and its clock).
 */
static int uring_enter(struct ipcx__uring *u, ipcx__deadline dl)
{
    unsigned submit = uring_flush(&u->ring);
    unsigned flags = IORING_ENTER_GETEVENTS;
    if (dl == IPCX__NEVER)
        return io_uring_enter2(u->ring.ring_fd, submit, 1, flags, NULL, _NSIG / 8);
    int64_t left = dl - ipcx__now_ns();
    if (left < 0)
        left = 0;
    struct __kernel_timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
    struct io_uring_getevents_arg arg = {
        .sigmask = 0, .sigmask_sz = _NSIG / 8, .ts = (uint64_t)(uintptr_t)&ts};
    /* With EXT_ARG the "sigset" argument is the getevents argument. */
    return io_uring_enter2(u->ring.ring_fd, submit, 1, flags | IORING_ENTER_EXT_ARG,
                           (sigset_t *)(void *)&arg, sizeof arg);
}

/* Takes every completion; *reading goes to 0 once the read's has come. */
static void uring_reap(struct ipcx__uring *u, struct ipcx__uring_wake *w, int *reading)
{
    struct io_uring_cqe *c;
    unsigned head, n = 0;
    io_uring_for_each_cqe(&u->ring, head, c)
    {
        n++;
        if (c->user_data == UD_WATCH) {
            u->watch_armed = 0; /* fired, or ended otherwise: either way re-armed next time */
            w->watch = 1;
        } else if (c->user_data == UD_READ) {
            *reading = 0;
            /* A cancelled or interrupted read moved no bytes. */
            if (c->res != -ECANCELED && c->res != -EINTR && c->res != -EAGAIN) {
                w->read = 1;
                w->res = c->res;
            }
        }
    }
    io_uring_cq_advance(&u->ring, n);
}

/*
 * Cancels the pending read and waits for its completion, which may still
 * carry bytes. Returns 0, or a failure of io_uring_enter itself.
 */
static int uring_cancel_read(struct ipcx__uring *u, struct ipcx__uring_wake *w, int *reading)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
    if (!sqe)
        return -EBUSY; /* cannot happen: the ring has room for three */
    io_uring_prep_cancel64(sqe, UD_READ, 0);
    io_uring_sqe_set_data64(sqe, UD_CANCEL);
    while (*reading) {
        int rc = uring_enter(u, IPCX__NEVER);
        if (rc < 0 && rc != -EINTR)
            return rc;
        uring_reap(u, w, reading);
    }
    return 0;
}

int ipcx__uring_wait(struct ipcx__uring **up, int watch_fd, int fd, const struct iovec *iov,
                     int niov, ipcx__deadline dl, struct ipcx__uring_wake *w)
{
    struct ipcx__uring *u = *up;
    memset(w, 0, sizeof *w);
    if (u && !*u->mark) {
        uring_free(u); /* the parent's ring, copied by fork(): never submit to it */
        *up = u = NULL;
    }
    if (u && u->single && !pthread_equal(u->owner, pthread_self())) {
        if (++u->foreign < URING_ADOPT)
            return -EBUSY;
        uring_free(u); /* this thread keeps the endpoint now: the ring follows */
        *up = u = NULL;
    }
    if (!u) {
        int rc = uring_open(up, watch_fd);
        if (rc < 0)
            return rc;
        u = *up;
    }
    u->foreign = 0;

    struct io_uring_sqe *sqe;
    if (u->watch_ep >= 0 && !u->watch_armed) {
        sqe = io_uring_get_sqe(&u->ring);
        io_uring_prep_poll_add(sqe, u->watch_ep, POLLIN);
        io_uring_sqe_set_data64(sqe, UD_WATCH);
        u->watch_armed = 1;
    }
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov};
    sqe = io_uring_get_sqe(&u->ring);
    if (niov == 1)
        io_uring_prep_recv(sqe, fd, iov[0].iov_base, iov[0].iov_len, 0);
    else
        io_uring_prep_recvmsg(sqe, fd, &mh, 0);
    io_uring_sqe_set_data64(sqe, UD_READ);

    int reading = 1, rc;
    for (;;) {
        rc = uring_enter(u, dl);
        if (rc == -EEXIST && u->single) {
            /* Another task after all (a reused thread id, a fork child whose
             * marker page survived): the kernel refused before submitting. */
            uring_free(u);
            *up = NULL;
            return -EBUSY;
        }
        uring_reap(u, w, &reading);
        if (rc < 0 && rc != -EINTR && rc != -ETIME)
            break;
        rc = 0;
        if (!reading || w->watch || (dl != IPCX__NEVER && ipcx__now_ns() >= dl))
            break;
    }
    if (reading && rc == 0)
        rc = uring_cancel_read(u, w, &reading);
    if (rc < 0) {
        /* io_uring itself failed (it never does in practice): give the ring
         * up. Closing it cancels a read still in flight before it can move
         * bytes; one already reaped is reported. */
        uring_free(u);
        *up = NULL;
        if (!w->read) {
            memset(w, 0, sizeof *w);
            return -ENOSYS;
        }
    }
    for (size_t left = w->read && w->res > 0 ? (size_t)w->res : 0, i = 0; left; i++) {
        size_t k = iov[i].iov_len < left ? iov[i].iov_len : left;
        uring_mark_defined(iov[i].iov_base, k);
        left -= k;
    }
    return 0;
}

int ipcx__uring_watch_quiet(const struct ipcx__uring *u)
{
    if (!u || !u->watch_armed || !u->taskrun_flag || !*u->mark)
        return 0;
    unsigned pending = IO_URING_READ_ONCE(*u->ring.sq.kflags) & IORING_SQ_TASKRUN;
    return !pending && io_uring_cq_ready(&u->ring) == 0;
}

void ipcx__uring_close(struct ipcx__uring *u)
{
    if (u)
        uring_free(u);
}

#else /* !IPCX_HAVE_LIBURING: built without io_uring; every wait goes another way */

int ipcx__uring_wait(struct ipcx__uring **up, int watch_fd, int fd, const struct iovec *iov,
                     int niov, ipcx__deadline dl, struct ipcx__uring_wake *w)
{
    (void)up, (void)watch_fd, (void)fd, (void)iov, (void)niov, (void)dl;
    w->watch = w->read = 0;
    w->res = 0;
    return -ENOSYS;
}

int ipcx__uring_watch_quiet(const struct ipcx__uring *u)
{
    (void)u;
    return 0;
}

void ipcx__uring_close(struct ipcx__uring *u)
{
    (void)u;
}

#endif
