/*
 * shmem.c: system calls of the shared-memory engine (see shmem.h). Nothing
 * here reads the contents of a segment: validating what another process
 * wrote is src/shm's job.
 */
#include "os/shmem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ipcx.h>

static int shm_path(char *buf, size_t cap, const char *name)
{
    int n = snprintf(buf, cap, "/%s", name);
    return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int ipcx__shm_create(const char *name, unsigned mode)
{
    char path[NAME_MAX + 2];
    int rc = shm_path(path, sizeof path, name);
    if (rc < 0)
        return rc;
    int fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return -errno;
    /* shm_open obeys the umask; the caller asked for exactly this mode. */
    if (fchmod(fd, (mode_t)mode) < 0) {
        rc = -errno;
        close(fd);
        shm_unlink(path);
        return rc;
    }
    return fd;
}

int ipcx__shm_attach(const char *name, int writable)
{
    char path[NAME_MAX + 2];
    int rc = shm_path(path, sizeof path, name);
    if (rc < 0)
        return rc;
    int fd = shm_open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

int ipcx__shm_unlink(const char *name)
{
    char path[NAME_MAX + 2];
    int rc = shm_path(path, sizeof path, name);
    if (rc < 0)
        return rc;
    return shm_unlink(path) < 0 ? -errno : 0;
}

int ipcx__shm_each(const char *prefix, int (*fn)(const char *name, void *arg), void *arg)
{
    DIR *d = opendir("/dev/shm");
    if (!d)
        return errno == ENOENT ? 0 : -errno;
    size_t plen = strlen(prefix);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, plen) == 0)
            rc = fn(e->d_name, arg);
    closedir(d);
    return rc;
}

int ipcx__memfd_create(const char *tag)
{
    int fd = (int)syscall(SYS_memfd_create, tag, (unsigned)MFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int ipcx__fd_reopen(int fd)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int nfd = open(path, O_RDWR | O_CLOEXEC);
    return nfd < 0 ? -errno : nfd;
}

int ipcx__fd_stat(int fd, uint64_t *size, uint64_t *dev, uint64_t *ino, unsigned *uid,
                  unsigned *mode)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (size)
        *size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
    if (dev)
        *dev = (uint64_t)st.st_dev;
    if (ino)
        *ino = (uint64_t)st.st_ino;
    if (uid)
        *uid = (unsigned)st.st_uid;
    if (mode)
        *mode = (unsigned)st.st_mode & 07777;
    return 0;
}

int ipcx__shm_stat(const char *name, uint64_t *dev, uint64_t *ino)
{
    char path[NAME_MAX + 16];
    int n = snprintf(path, sizeof path, "/dev/shm/%s", name);
    if (n < 0 || (size_t)n >= sizeof path)
        return -ENAMETOOLONG;
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    *dev = (uint64_t)st.st_dev;
    *ino = (uint64_t)st.st_ino;
    return 0;
}

int ipcx__fd_truncate(int fd, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX)
        return -EFBIG;
    int rc;
    do
        rc = ftruncate(fd, (off_t)size);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

int ipcx__map(int fd, size_t size, int writable, void **pp)
{
    void *p = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *pp = p;
    return 0;
}

void ipcx__unmap(void *p, size_t size)
{
    if (p)
        munmap(p, size);
}

int ipcx__futex_wait(uint32_t *word, uint32_t val, ipcx__deadline dl)
{
    return ipcx__futex_wait_bits(word, val, dl, FUTEX_BITSET_MATCH_ANY);
}

int ipcx__futex_wait_bits(uint32_t *word, uint32_t val, ipcx__deadline dl, uint32_t bits)
{
    struct timespec ts, *tsp = NULL;
    if (dl != IPCX__NEVER) {
        ts.tv_sec = (time_t)(dl / 1000000000);
        ts.tv_nsec = (long)(dl % 1000000000);
        tsp = &ts;
    }
    /* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time: the deadline as it is. */
    long rc = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, tsp, NULL, bits);
    if (rc == 0)
        return 0;
    switch (errno) {
    case EAGAIN:
    case EINTR:
        return 0;
    case ETIMEDOUT:
        return IPCX_ETIMEDOUT;
    default:
        return -errno;
    }
}

void ipcx__futex_wake(uint32_t *word, int n)
{
    syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

void ipcx__futex_wake_some(uint32_t *word, int n, uint32_t bits)
{
    syscall(SYS_futex, word, FUTEX_WAKE_BITSET, n, NULL, NULL, bits);
}

static int ofd_fcntl(int fd, int cmd, struct flock *fl)
{
    int rc;
    do
        rc = fcntl(fd, cmd, fl);
    while (rc < 0 && errno == EINTR);
    return rc < 0 ? -errno : 0;
}

int ipcx__ofd_lock(int fd, uint64_t byte, int exclusive)
{
    struct flock fl = {.l_type = (short)(exclusive ? F_WRLCK : F_RDLCK),
                       .l_whence = SEEK_SET,
                       .l_start = (off_t)byte,
                       .l_len = 1};
    int rc = ofd_fcntl(fd, F_OFD_SETLK, &fl);
    return rc == -EACCES || rc == -EAGAIN ? IPCX_EAGAIN : rc;
}

void ipcx__ofd_unlock(int fd, uint64_t byte)
{
    struct flock fl = {.l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = (off_t)byte, .l_len = 1};
    ofd_fcntl(fd, F_OFD_SETLK, &fl);
}

int ipcx__ofd_held(int fd, uint64_t byte)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = (off_t)byte, .l_len = 1};
    if (ofd_fcntl(fd, F_OFD_GETLK, &fl) < 0)
        return 1; /* cannot tell: assume alive, never steal from the living */
    return fl.l_type != F_UNLCK;
}

static socklen_t bell_addr(struct sockaddr_un *sa, const char *name)
{
    size_t n = strnlen(name, sizeof sa->sun_path - 1);
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    memcpy(sa->sun_path + 1, name, n); /* sun_path[0] == 0: the abstract namespace */
    return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

int ipcx__bell_open(const char *name)
{
    struct sockaddr_un sa;
    socklen_t len = bell_addr(&sa, name);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, len) < 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int ipcx__bell_sender(void)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return fd < 0 ? -errno : fd;
}

void ipcx__bell_ring(int fd, const char *name)
{
    struct sockaddr_un sa;
    socklen_t len = bell_addr(&sa, name);
    char b = 1;
    ssize_t n;
    do
        n = sendto(fd, &b, 1, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
    while (n < 0 && errno == EINTR);
    /* EAGAIN: the bell already holds datagrams, it rings; ECONNREFUSED: its owner is gone. */
}

void ipcx__bell_drain(int fd)
{
    char b[64];
    while (recv(fd, b, sizeof b, MSG_DONTWAIT) > 0 || errno == EINTR)
        ;
}

unsigned ipcx__self_pid(void)
{
    return (unsigned)getpid();
}

unsigned ipcx__self_uid(void)
{
    return (unsigned)geteuid();
}

int ipcx__pid_alive(unsigned pid)
{
    if (pid == 0 || pid > INT_MAX)
        return 0;
    return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}
