/*
 * os.h: the only layer that makes raw system calls: clocks and deadlines,
 * descriptor flags, waiting on a descriptor, writes that never raise SIGPIPE,
 * and socket set-up. Every function returns 0 (or a count) or -errno; none
 * prints, exits or changes process-wide state such as signal dispositions.
 */
#ifndef IPCX_OS_H
#define IPCX_OS_H

#include <stddef.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* An absolute CLOCK_MONOTONIC time in ns; IPCX__NEVER waits forever, 0 tries once. */
typedef int64_t ipcx__deadline;
#define IPCX__NEVER INT64_MAX

int64_t ipcx__now_ns(void);
/* CLOCK_REALTIME in ns (for display: when a mailbox was made). */
int64_t ipcx__realtime_ns(void);
/* now + timeout (> 0), saturating at IPCX__NEVER. */
ipcx__deadline ipcx__deadline_after(int64_t timeout);
/* Turns an API timeout (0 try once, <0 forever, >0 ns) into a deadline, once, at entry.
 * Inline: the common forever and try-once cases read no clock. */
static inline ipcx__deadline ipcx__deadline_from_timeout(int64_t timeout)
{
    return timeout < 0 ? IPCX__NEVER : timeout == 0 ? 0 : ipcx__deadline_after(timeout);
}

/* Sets O_NONBLOCK and FD_CLOEXEC. */
int ipcx__fd_prepare(int fd);
void ipcx__fd_close(int fd);

/*
 * Waits until fd reports one of events or the deadline passes. Returns 0 when
 * ready, IPCX_EAGAIN if the deadline was "try once", IPCX_ETIMEDOUT after a
 * real deadline. EINTR resumes the wait with the time left.
 */
int ipcx__fd_wait(int fd, short events, ipcx__deadline dl);

/*
 * ppoll over n descriptors until one is ready or dl passes. Returns how many
 * are ready (0 on timeout or EINTR; the caller re-checks its deadline) or -errno.
 */
int ipcx__fds_wait(struct pollfd *p, int n, ipcx__deadline dl);

/* Milliseconds left for epoll_wait: -1 forever, 0 past, else rounded up. */
int ipcx__deadline_ms(ipcx__deadline dl);

/* How a descriptor is written without SIGPIPE reaching the process. */
enum ipcx__fd_kind {
    IPCX__FD_PIPE = 0,      /* a pipe: SIGPIPE is blocked in the thread around the write */
    IPCX__FD_SOCKET = 1,    /* a socket: MSG_NOSIGNAL */
    IPCX__FD_PIPE_HELD = 2, /* a pipe whose read end the writer holds open: no SIGPIPE possible */
};

/*
 * writev() that never delivers SIGPIPE to the process (see ipcx__fd_kind); a
 * masked pipe write consumes the SIGPIPE it caused. With wait set, a socket
 * write blocks in the kernel until everything is written (one call, as a
 * plain blocking write); otherwise it never blocks (pipes never do). Returns
 * bytes written or -errno.
 */
ssize_t ipcx__fd_writev(int fd, int kind, int wait, const struct iovec *iov, int niov);

/*
 * Keeps SIGPIPE blocked in the calling thread across several IPCX__FD_PIPE_HELD
 * writes to a pipe whose reader may have gone (one mask change per message
 * instead of per write); restore consumes a SIGPIPE those writes caused and
 * leaves alone one the application already had pending.
 */
struct ipcx__sigpipe_guard {
    sigset_t old;
    int was_pending;
};
void ipcx__sigpipe_block(struct ipcx__sigpipe_guard *g);
void ipcx__sigpipe_restore(struct ipcx__sigpipe_guard *g);
/*
 * A read returning bytes or -errno (EINTR retried); 0 means end of stream.
 * Without wait it never blocks, whatever the descriptor's mode (sockets:
 * MSG_DONTWAIT, pipes: RWF_NOWAIT); with wait it blocks on a descriptor in
 * blocking mode, the cheapest way to sleep until data comes.
 */
ssize_t ipcx__fd_read(int fd, int is_socket, int wait, void *buf, size_t len);
/* The same as ipcx__fd_read without wait, scattering into iov[0..niov) in order. */
ssize_t ipcx__fd_readv(int fd, int is_socket, const struct iovec *iov, int niov);
/* Puts a pipe's read end in blocking mode if the kernel can still read it
 * without blocking per call (RWF_NOWAIT). Returns 1 if it did, else 0. */
int ipcx__pipe_allow_blocking(int rfd);

/* Fills sa for "unix" addresses: "/path" or "@abstract". Returns its length or -errno. */
int ipcx__unix_addr(const char *addr, struct sockaddr_storage *sa, socklen_t *salen);

/* Resolves "host:port" or "[v6]:port" numerically or by name; returns 0 or an IPCX_E* code. */
int ipcx__tcp_addr(const char *addr, struct sockaddr_storage *sa, socklen_t *salen);

/* socket+bind+listen, non-blocking, close-on-exec. Returns the fd or -errno. */
int ipcx__sock_listen(const struct sockaddr_storage *sa, socklen_t salen);
/* Connects within dl; returns a blocking-mode fd (writes choose per call), or -errno. */
int ipcx__sock_connect(const struct sockaddr_storage *sa, socklen_t salen, ipcx__deadline dl);
/* 1 if the peer of a connected socket has closed or reset it, else 0 (never blocks). */
int ipcx__sock_peer_closed(int fd);
/* accept4 non-blocking close-on-exec; returns the fd or -errno. */
int ipcx__sock_accept(int lfd);

/* 32 random bits from the kernel (for endpoint tags); never fails. */
uint32_t ipcx__random32(void);
/* Sleeps ns nanoseconds (or less if interrupted). */
void ipcx__sleep_ns(int64_t ns);

/* epoll: create (close-on-exec), watch fd for input with a cookie, forget it, wait. */
int ipcx__epoll_open(void);
int ipcx__epoll_add(int epfd, int fd, void *cookie);
void ipcx__epoll_del(int epfd, int fd);
/* Fills up to max cookies; returns how many (0 on timeout or EINTR) or -errno. */
int ipcx__epoll_wait(int epfd, void **cookies, int max, ipcx__deadline dl);

/* eventfd used as a level: raised (readable) or cleared. */
int ipcx__event_open(void);
void ipcx__event_set(int evfd, int raised);

/* Path and descriptor plumbing for the transports; each returns 0/fd or -errno. */
int ipcx__pipe_open(int fds[2]);
int ipcx__sock_pair(int fds[2]);
int ipcx__fd_dup(int fd);
int ipcx__path_unlink(const char *path);
/* Removes path only if it is a FIFO (want_fifo) or a socket; IPCX_EINVAL for anything else. */
int ipcx__path_unlink_if(const char *path, int want_fifo);
int ipcx__path_chmod(const char *path, unsigned mode);
/* mkfifo; -EEXIST if something else or a FIFO is there (is_fifo tells which). */
int ipcx__fifo_make(const char *path, unsigned mode, int *is_fifo);
/* Opens a FIFO non-blocking, close-on-exec, for reading or writing. */
int ipcx__fifo_open(const char *path, int for_write);
#endif
