/*
 * os.c: thin wrappers over the system calls the transports need. Each one
 * retries EINTR itself so that a signal never becomes a spurious error, and
 * none changes process-wide state (signal dispositions, umask, limits).
 */
#include "os/os.h"
#include "os/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/futex.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ipcx.h>

int64_t ipcx__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t ipcx__realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

ipcx__deadline ipcx__deadline_after(int64_t timeout)
{
    int64_t now = ipcx__now_ns();
    return timeout > IPCX__NEVER - now ? IPCX__NEVER : now + timeout;
}

int ipcx__deadline_ms(ipcx__deadline dl)
{
    if (dl == IPCX__NEVER)
        return -1;
    int64_t left = dl - ipcx__now_ns();
    if (left <= 0)
        return 0;
    int64_t ms = (left + 999999) / 1000000;
    return ms > 1000000000 ? 1000000000 : (int)ms;
}

int ipcx__fd_prepare(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

void ipcx__fd_close(int fd)
{
    if (fd >= 0)
        close(fd); /* Linux releases the fd even on EINTR: never retry. */
}

int ipcx__fds_wait(struct pollfd *p, int n, ipcx__deadline dl)
{
    struct timespec ts, *tsp = NULL;
    if (dl != IPCX__NEVER) {
        int64_t left = dl == 0 ? 0 : dl - ipcx__now_ns();
        if (left < 0)
            left = 0;
        ts.tv_sec = left / 1000000000;
        ts.tv_nsec = left % 1000000000;
        tsp = &ts;
    }
    int r = ppoll(p, (nfds_t)n, tsp, NULL);
    if (r < 0)
        return errno == EINTR ? 0 : -errno;
    return r;
}

int ipcx__fd_wait(int fd, short events, ipcx__deadline dl)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int n = ipcx__fds_wait(&p, 1, dl);
        if (n > 0)
            return 0;
        if (n < 0)
            return n;
        if (dl == 0)
            return IPCX_EAGAIN;
        if (dl != IPCX__NEVER && ipcx__now_ns() >= dl)
            return IPCX_ETIMEDOUT;
    }
}

static ssize_t pipe_read_nowait(int fd, void *buf, size_t len)
{
    struct iovec v = {buf, len};
    ssize_t n = preadv2(fd, &v, 1, -1, RWF_NOWAIT);
    /* Kernels without RWF_NOWAIT on pipes never had O_NONBLOCK cleared. */
    return n < 0 && (errno == EOPNOTSUPP || errno == EINVAL) ? read(fd, buf, len) : n;
}

int ipcx__pipe_allow_blocking(int rfd)
{
    char b;
    struct iovec v = {&b, 1};
    if (preadv2(rfd, &v, 1, -1, RWF_NOWAIT) >= 0 || errno != EAGAIN)
        return 0; /* an empty new pipe must answer EAGAIN, or the flag is not honoured */
    int fl = fcntl(rfd, F_GETFL);
    return fl >= 0 && fcntl(rfd, F_SETFL, fl & ~O_NONBLOCK) == 0;
}

ssize_t ipcx__fd_read(int fd, int is_socket, int wait, void *buf, size_t len)
{
    for (;;) {
        ssize_t n = is_socket ? recv(fd, buf, len, wait ? 0 : MSG_DONTWAIT)
                    : wait    ? read(fd, buf, len)
                              : pipe_read_nowait(fd, buf, len);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

ssize_t ipcx__fd_readv(int fd, int is_socket, const struct iovec *iov, int niov)
{
    for (;;) {
        ssize_t n;
        if (is_socket) {
            struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov};
            n = recvmsg(fd, &mh, MSG_DONTWAIT);
        } else {
            n = preadv2(fd, iov, niov, -1, RWF_NOWAIT);
            /* Kernels without RWF_NOWAIT on pipes never had O_NONBLOCK cleared. */
            if (n < 0 && (errno == EOPNOTSUPP || errno == EINVAL))
                n = readv(fd, iov, niov);
        }
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

void ipcx__sigpipe_block(struct ipcx__sigpipe_guard *g)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
    /* Only a thread that already blocked SIGPIPE can have one pending, and
     * that one is not ours to consume; otherwise no extra call is needed. */
    g->was_pending = 0;
    if (sigismember(&g->old, SIGPIPE) && sigpending(&pending) == 0)
        g->was_pending = sigismember(&pending, SIGPIPE);
}

/* Consumes the SIGPIPE our writes caused, unless the application had one pending. */
static void sigpipe_consume(const struct ipcx__sigpipe_guard *g)
{
    sigset_t pipe_set;
    struct timespec zero = {0, 0};
    if (g->was_pending)
        return;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
        ;
}

static void sigpipe_unmask(const struct ipcx__sigpipe_guard *g)
{
    if (!sigismember(&g->old, SIGPIPE))
        pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

void ipcx__sigpipe_restore(struct ipcx__sigpipe_guard *g)
{
    sigset_t pending;
    if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
        sigpipe_consume(g);
    sigpipe_unmask(g);
}

/* writev() with EINTR retried; bytes written or -errno. */
static ssize_t writev_retry(int fd, const struct iovec *iov, int niov)
{
    for (;;) {
        ssize_t n = writev(fd, iov, niov);
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

static ssize_t pipe_writev_nosig(int fd, const struct iovec *iov, int niov)
{
    struct ipcx__sigpipe_guard g;
    ipcx__sigpipe_block(&g);
    ssize_t n = writev_retry(fd, iov, niov);
    if (n == -EPIPE)
        sigpipe_consume(&g);
    sigpipe_unmask(&g);
    return n;
}

ssize_t ipcx__fd_writev(int fd, int kind, int wait, const struct iovec *iov, int niov)
{
    if (kind == IPCX__FD_PIPE)
        return pipe_writev_nosig(fd, iov, niov);
    if (kind == IPCX__FD_PIPE_HELD)
        return writev_retry(fd, iov, niov);
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)niov};
    for (;;) {
        ssize_t n = sendmsg(fd, &mh, MSG_NOSIGNAL | (wait ? 0 : MSG_DONTWAIT));
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

int ipcx__unix_addr(const char *addr, struct sockaddr_storage *sa, socklen_t *salen)
{
    struct sockaddr_un *un = (struct sockaddr_un *)sa;
    size_t n = strlen(addr);
    memset(sa, 0, sizeof *sa);
    un->sun_family = AF_UNIX;
    if (n == 0 || (addr[0] != '/' && addr[0] != '@'))
        return IPCX_EBADURL;
    if (n >= sizeof un->sun_path)
        return IPCX_ENAMETOOLONG;
    memcpy(un->sun_path, addr, n);
    if (addr[0] == '@') {
        un->sun_path[0] = '\0'; /* abstract namespace: no file, gone with its last fd */
        *salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        *salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

int ipcx__tcp_addr(const char *addr, struct sockaddr_storage *sa, socklen_t *salen)
{
    char host[256];
    const char *port;
    if (addr[0] == '[') {
        const char *end = strchr(addr, ']');
        if (!end || end[1] != ':' || (size_t)(end - addr - 1) >= sizeof host)
            return IPCX_EBADURL;
        memcpy(host, addr + 1, (size_t)(end - addr - 1));
        host[end - addr - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(addr, ':');
        if (!colon || (size_t)(colon - addr) >= sizeof host || strchr(addr, ':') != colon)
            return IPCX_EBADURL;
        memcpy(host, addr, (size_t)(colon - addr));
        host[colon - addr] = '\0';
        port = colon + 1;
    }
    if (*port == '\0' || strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
        atoi(port) > 65535)
        return IPCX_EBADURL;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0 || !res)
        return rc == EAI_MEMORY ? IPCX_ENOMEM : IPCX_EADDRNOTAVAIL;
    memcpy(sa, res->ai_addr, res->ai_addrlen);
    *salen = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

static int sock_nodelay(int fd, int family)
{
    int one = 1;
    if (family != AF_INET && family != AF_INET6)
        return 0;
    return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0 ? -errno : 0;
}

int ipcx__sock_listen(const struct sockaddr_storage *sa, socklen_t salen)
{
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    if (sa->ss_family != AF_UNIX)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (const struct sockaddr *)sa, salen) < 0 || listen(fd, SOMAXCONN) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int ipcx__sock_connect(const struct sockaddr_storage *sa, socklen_t salen, ipcx__deadline dl)
{
    int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int rc = connect(fd, (const struct sockaddr *)sa, salen) < 0 ? -errno : 0;
    if (rc == -EINPROGRESS || rc == -EINTR) {
        rc = ipcx__fd_wait(fd, POLLOUT, dl);
        if (rc == 0) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            rc = -err;
        }
    }
    if (rc == 0)
        rc = sock_nodelay(fd, sa->ss_family);
    if (rc == 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
            rc = -errno;
    }
    if (rc < 0) {
        close(fd);
        return rc;
    }
    return fd;
}

int ipcx__sock_accept(int lfd)
{
    for (;;) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            sock_nodelay(fd, sa.ss_family);
            return fd;
        }
        if (errno != EINTR)
            return -errno;
    }
}

uint32_t ipcx__random32(void)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r)
        r = (uint32_t)ipcx__now_ns() ^ ((uint32_t)getpid() << 16);
    return r ? r : 1;
}

void ipcx__sleep_ns(int64_t ns)
{
    struct timespec ts = {ns / 1000000000, ns % 1000000000};
    nanosleep(&ts, NULL);
}

int ipcx__epoll_open(void)
{
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int ipcx__epoll_add(int epfd, int fd, void *cookie)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cookie};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

void ipcx__epoll_del(int epfd, int fd)
{
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

int ipcx__epoll_wait(int epfd, void **cookies, int max, ipcx__deadline dl)
{
    struct epoll_event ev[64];
    if (max > 64)
        max = 64;
    int n = epoll_wait(epfd, ev, max, ipcx__deadline_ms(dl));
    if (n < 0)
        return errno == EINTR ? 0 : -errno;
    for (int i = 0; i < n; i++)
        cookies[i] = ev[i].data.ptr;
    return n;
}

int ipcx__event_open(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

void ipcx__event_set(int evfd, int raised)
{
    uint64_t v = 1;
    ssize_t n = raised ? write(evfd, &v, sizeof v) : read(evfd, &v, sizeof v);
    (void)n; /* a level already in place is the only possible failure */
}

int ipcx__pipe_open(int fds[2])
{
    return pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0 ? -errno : 0;
}

int ipcx__sock_pair(int fds[2])
{
    return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0 ? -errno : 0;
}

int ipcx__fd_dup(int fd)
{
    int d = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    return d < 0 ? -errno : d;
}

int ipcx__path_unlink_if(const char *path, int want_fifo)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return -errno;
    if (want_fifo ? !S_ISFIFO(st.st_mode) : !S_ISSOCK(st.st_mode))
        return IPCX_EINVAL; /* something else lives there: not ours to remove */
    return ipcx__path_unlink(path);
}

int ipcx__path_unlink(const char *path)
{
    return unlink(path) < 0 ? -errno : 0;
}

int ipcx__path_chmod(const char *path, unsigned mode)
{
    return chmod(path, (mode_t)mode) < 0 ? -errno : 0;
}

int ipcx__fifo_make(const char *path, unsigned mode, int *is_fifo)
{
    struct stat st;
    *is_fifo = 0;
    if (mkfifo(path, (mode_t)mode) == 0) {
        /* mkfifo obeys the umask; the caller asked for exactly this mode. */
        return chmod(path, (mode_t)mode) < 0 ? -errno : 0;
    }
    int err = -errno;
    if (err == -EEXIST && stat(path, &st) == 0)
        *is_fifo = S_ISFIFO(st.st_mode);
    return err;
}

int ipcx__fifo_open(const char *path, int for_write)
{
    int fd;
    do
        fd = open(path, (for_write ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
        close(fd);
        return -ENOTSUP; /* a regular file at that path is not a mailbox */
    }
    return fd;
}

int ipcx__sock_peer_closed(int fd)
{
    char b;
    ssize_t n = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

void ipcx__mutex_wait(ipcx__mutex *m)
{
    /* Drepper's "Futexes are tricky", mutex 2: mark contended, sleep while it stays so. */
    for (int i = 0; i < 100; i++) {
        uint32_t v = 0;
        if (atomic_compare_exchange_weak_explicit(&m->w, &v, 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
    while (atomic_exchange_explicit(&m->w, 2, memory_order_acquire) != 0)
        syscall(SYS_futex, &m->w, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void ipcx__mutex_wake(ipcx__mutex *m)
{
    syscall(SYS_futex, &m->w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
