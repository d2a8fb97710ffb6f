/*
 * uring_pingpong.c: a measurement, not part of the build. It asks whether a
 * unix:// receiver that must watch both its listening socket and its
 * connection can wait as cheaply as a raw blocking read(). Three ways to
 * receive a 64-byte ping-pong over a UNIX stream socket, one per mode:
 *   0  blocking read() on the connection (the raw baseline, blind to new senders)
 *   1  ppoll() on listener + connection, then recv() (what the stream engine does)
 *   2  io_uring: a RECV on the connection and a POLL_ADD on the listener,
 *      waited for with one io_uring_enter (FLAGS=1 in the environment adds
 *      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN)
 * Build and run (Debian: apt-get install liburing-dev):
 *   cc -O2 -o /tmp/pp bench/proto/uring_pingpong.c -luring
 *   for m in 0 1 2; do /tmp/pp $m; done; FLAGS=1 /tmp/pp 2
 * It prints the median and p90 of one-way latency (round trip / 2).
 */
#define _GNU_SOURCE
#include <liburing.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 200000
#define WARM   1000
#define SIZE   64

static int mode;
static struct io_uring ring;
static int ring_ready;

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void pin(int cpu)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    sched_setaffinity(0, sizeof s, &s);
}

static void receive(int lfd, int fd, char *b, int n)
{
    int got = 0;
    if (mode == 0) {
        while (got < n) {
            int r = (int)read(fd, b + got, (size_t)(n - got));
            if (r <= 0)
                exit(1);
            got += r;
        }
        return;
    }
    if (mode == 1) {
        while (got < n) {
            struct pollfd p[2] = {{lfd, POLLIN, 0}, {fd, POLLIN, 0}};
            ppoll(p, 2, NULL, NULL);
            int r = (int)recv(fd, b + got, (size_t)(n - got), MSG_DONTWAIT);
            if (r > 0)
                got += r;
        }
        return;
    }
    if (!ring_ready) {
        unsigned flags =
            getenv("FLAGS") ? IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN : 0;
        io_uring_queue_init(8, &ring, flags);
        struct io_uring_sqe *s = io_uring_get_sqe(&ring);
        io_uring_prep_poll_add(s, lfd, POLLIN); /* stays armed: a new sender would complete it */
        io_uring_sqe_set_data64(s, 1);
        ring_ready = 1;
    }
    while (got < n) {
        struct io_uring_sqe *s = io_uring_get_sqe(&ring);
        io_uring_prep_recv(s, fd, b + got, (size_t)(n - got), 0);
        io_uring_sqe_set_data64(s, 2);
        io_uring_submit_and_wait(&ring, 1);
        struct io_uring_cqe *c;
        while (io_uring_peek_cqe(&ring, &c) == 0) {
            if (io_uring_cqe_get_data64(c) == 2 && c->res > 0)
                got += c->res;
            io_uring_cqe_seen(&ring, c);
        }
    }
}

static int cmp_ll(const void *x, const void *y)
{
    long long a = *(const long long *)x, b = *(const long long *)y;
    return a < b ? -1 : a > b;
}

int main(int argc, char **argv)
{
    mode = argc > 1 ? atoi(argv[1]) : 0;
    int l1 = socket(AF_UNIX, SOCK_STREAM, 0), l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX}, b = {.sun_family = AF_UNIX};
    snprintf(a.sun_path + 1, 100, "pp-a-%d", getpid());
    snprintf(b.sun_path + 1, 100, "pp-b-%d", getpid());
    bind(l1, (struct sockaddr *)&a, sizeof a);
    bind(l2, (struct sockaddr *)&b, sizeof b);
    listen(l1, 4);
    listen(l2, 4);
    char buf[SIZE] = {0};
    pid_t pid = fork();
    if (pid == 0) {
        pin(1);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(s, (struct sockaddr *)&a, sizeof a);
        int r = accept(l2, NULL, NULL);
        for (int i = 0; i < ROUNDS + WARM; i++) {
            receive(l2, r, buf, SIZE);
            if (write(s, buf, SIZE) != SIZE)
                _exit(1);
        }
        _exit(0);
    }
    pin(0);
    int r = accept(l1, NULL, NULL);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(s, (struct sockaddr *)&b, sizeof b);
    long long *t = malloc(sizeof *t * ROUNDS);
    for (int i = 0; i < ROUNDS + WARM; i++) {
        long long t0 = now_ns();
        if (write(s, buf, SIZE) != SIZE)
            return 1;
        receive(l1, r, buf, SIZE);
        if (i >= WARM)
            t[i - WARM] = now_ns() - t0;
    }
    qsort(t, ROUNDS, sizeof *t, cmp_ll);
    printf("mode %d p50 one-way %.2f us p90 %.2f\n", mode, t[ROUNDS / 2] / 2000.0,
           t[ROUNDS * 9 / 10] / 2000.0);
    wait(NULL);
    return 0;
}
