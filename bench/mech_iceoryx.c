/*
 * mech_iceoryx.c: Eclipse iceoryx (the C binding of iceoryx 2.0, as Debian
 * ships it) as a peer to compare ipcx with: a publisher and a subscriber per
 * direction, messages loaned in shared memory, filled in place and published
 * (zero copy), taken by polling, checked in place and released. Delivery
 * blocks the publisher when the subscriber's queue is full, so nothing is
 * dropped. iceoryx needs its broker, RouDi: this file starts one for the run
 * if none is running, with memory pools sized for the run's message sizes,
 * and stops it at exit; a size it cannot configure, or a RouDi that will not
 * start, is a skip with a reason. Built without the C binding it is still
 * listed and says why it is skipped. It must never tune iceoryx beyond what
 * the run needs (pools that fit, policies that never drop).
 */
#include "mech.h"

#include <stddef.h>

#ifdef IPCX_HAVE_ICEORYX

#include <iceoryx_binding_c/enums.h>
#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/subscriber.h>
#include <iceoryx_binding_c/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* iceoryx 2.0's limit on a subscriber's queue, and its default. */
#define IOX_QUEUE_MAX 256u
/*
 * Chunks of a pool beyond the two queues. Per direction at most one is loaned
 * (being filled, or waiting in a blocked publish) and one held by the
 * subscriber (being checked) besides a full queue; two more for margin.
 */
#define IOX_SLACK 4u
/* A pool's memory above which its queues get shorter (above 64 KiB messages). */
#define IOX_POOL_BUDGET ((size_t)64 << 20)
/*
 * All pools together at most (and at most half of /dev/shm's free space):
 * RouDi writes every page of its segment at start, at about 80 MB/s on the
 * 2-vCPU guest under load, so a bigger configuration mostly costs time.
 */
#define IOX_TOTAL_MAX ((unsigned long long)1 << 30)
/* iceoryx's chunk header (40 B in 2.0) rounded up: what a pool's chunk adds to the payload. */
#define IOX_HEADER_ROOM 64u
/* Where RouDi listens (iceoryx 2.0: a datagram socket named after IPC_CHANNEL_ROUDI_NAME). */
#define IOX_ROUDI_SOCKET "/tmp/roudi"
/* How long RouDi may take to come up, and to go away when asked. */
#define IOX_ROUDI_START_NS (60 * 1000000000LL)
#define IOX_ROUDI_STOP_NS  (10 * 1000000000LL)
/*
 * How long a subscriber may take to be connected (RouDi matches ports every
 * 100 ms); below the runner's 10 s watchdog, so a cell that cannot connect
 * fails alone instead of ending the run.
 */
#define IOX_CONNECT_NS (5 * 1000000000LL)
/* Spins between two checks that the peer's publisher still exists (about 1 M). */
#define IOX_CHECK_MASK ((1u << 20) - 1)
/* Message sizes one run may configure (the runner allows at most 16). */
#define IOX_MAX_POOLS 16

/* Pre-fork state: plain names only, since a fresh child receives it as bytes. */
struct iox_setup {
    char instance[64];       /* "<pid>-<cell>": both directions' service instance */
    char child_runtime[100]; /* the child's runtime name */
};

/* One process's end: a publisher towards the peer and a subscriber from it. */
struct iox_ep {
    iox_pub_storage_t pub_storage;
    iox_sub_storage_t sub_storage;
    iox_pub_t pub;
    iox_sub_t sub;
};

_Static_assert(sizeof(struct iox_setup) <= MECH_STATE_MAX, "iox_setup too large");
_Static_assert(sizeof(struct iox_ep) <= MECH_STATE_MAX, "iox_ep too large");

/*
 * The run's RouDi and memory pools, in the parent only (a fresh child
 * inherits nothing of this; it only registers its own runtime).
 */
static struct {
    int tried;       /* iox_prepare has run */
    const char *why; /* not NULL: no cell can run, and why */
    pid_t roudi;     /* the RouDi this process started, or 0 */
    pid_t owner;     /* the process that started it */
    int foreign;     /* a RouDi was already running: its pools are its own */
    size_t npools;   /* pools configured, ascending */
    size_t pool[IOX_MAX_POOLS];
    size_t size_of_skip[IOX_MAX_POOLS]; /* run sizes that could not be configured */
    char size_why[IOX_MAX_POOLS][200];  /* ... and why */
    size_t nskips;
    char why_buf[300];
    char config[128];
    char log[128];
} iox_run;

/* Whether this process has registered its runtime with RouDi (once per process). */
static int iox_runtime_up;

static struct iox_setup *iox_setup_of(struct mech_setup *s)
{
    return (struct iox_setup *)s->u.bytes;
}
static const struct iox_setup *iox_csetup_of(const struct mech_setup *s)
{
    return (const struct iox_setup *)s->u.bytes;
}
static struct iox_ep *iox_ep_of(struct mech_ep *ep)
{
    return (struct iox_ep *)ep->u.bytes;
}

static int64_t iox_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void iox_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* A payload size as configured in a pool: rounded up to a cache line. */
static size_t iox_pool_size(size_t msg_size)
{
    return (msg_size + 63) & ~(size_t)63;
}

/*
 * The subscriber queue for messages of this size: iceoryx's default (256)
 * unless the pool would pass IOX_POOL_BUDGET, then shorter (at least 1).
 * Both sides and the pool configuration use this one function.
 */
static unsigned iox_queue_for(size_t msg_size)
{
    size_t chunk = iox_pool_size(msg_size) + IOX_HEADER_ROOM;
    size_t fit = IOX_POOL_BUDGET / (2 * chunk);
    if (fit >= IOX_QUEUE_MAX + IOX_SLACK)
        return IOX_QUEUE_MAX;
    return fit > IOX_SLACK ? (unsigned)(fit - IOX_SLACK) : 1u;
}

/* Chunks in a pool: both directions' queues full, plus what is loaned, held or in delivery. */
static size_t iox_count_for(size_t msg_size)
{
    return 2 * ((size_t)iox_queue_for(msg_size) + IOX_SLACK);
}

/* --- RouDi, once per run ----------------------------------------------------- */

/*
 * Whether a RouDi answers on its socket: 1, 0 (none: no socket, or a stale
 * one), or -errno when the socket exists but cannot be reached.
 */
static int iox_roudi_alive(void)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;
    if (fd < 0)
        return -errno;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, IOX_ROUDI_SOCKET, sizeof IOX_ROUDI_SOCKET);
    rc = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 1 : -errno;
    close(fd);
    if (rc == -ENOENT || rc == -ECONNREFUSED)
        return 0;
    return rc;
}

/* Finds prog in PATH; 0 or -ENOENT. */
static int iox_in_path(const char *prog)
{
    const char *path = getenv("PATH");
    char dir[512];
    if (path == NULL || *path == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path != '\0') {
        size_t n = strcspn(path, ":");
        if (n > 0 && n < sizeof dir - 32) {
            memcpy(dir, path, n);
            snprintf(dir + n, sizeof dir - n, "/%s", prog);
            if (access(dir, X_OK) == 0)
                return 0;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return -ENOENT;
}

/*
 * The pools: one per distinct message size of the run, ascending, each
 * holding iox_count_for(size) chunks; a size whose pool would not fit in
 * the budget (IOX_TOTAL_MAX, half of /dev/shm's free space) with the pools
 * before it is left out and its cells skipped with the reason.
 */
static void iox_plan_pools(const size_t *sizes, size_t n)
{
    size_t sorted[IOX_MAX_POOLS], ns = 0;
    unsigned long long budget = 0, used = 0;
    struct statvfs vfs;
    if (statvfs("/dev/shm", &vfs) == 0)
        budget = (unsigned long long)vfs.f_bavail * vfs.f_frsize / 2;
    if (budget > IOX_TOTAL_MAX)
        budget = IOX_TOTAL_MAX;
    for (size_t i = 0; i < n && ns < IOX_MAX_POOLS; i++) {
        size_t v = iox_pool_size(sizes[i]), j = ns;
        int dup = 0;
        for (size_t k = 0; k < ns; k++)
            dup |= sorted[k] == v;
        if (dup)
            continue;
        while (j > 0 && sorted[j - 1] > v) {
            sorted[j] = sorted[j - 1];
            j--;
        }
        sorted[j] = v;
        ns++;
    }
    for (size_t i = 0; i < ns; i++) {
        unsigned long long need =
            (unsigned long long)iox_count_for(sorted[i]) * (sorted[i] + IOX_HEADER_ROOM);
        if (used + need <= budget) {
            iox_run.pool[iox_run.npools++] = sorted[i];
            used += need;
            continue;
        }
        iox_run.size_of_skip[iox_run.nskips] = sorted[i];
        snprintf(iox_run.size_why[iox_run.nskips], sizeof iox_run.size_why[0],
                 "a pool for %zu B messages (%zu chunks, %llu MiB) does not fit beside "
                 "the smaller sizes' in the %llu MiB this run gives RouDi (at most 1 GiB, at "
                 "most half of /dev/shm's free space)",
                 sorted[i], iox_count_for(sorted[i]), need >> 20, budget >> 20);
        iox_run.nskips++;
    }
}

static int iox_write_config(void)
{
    FILE *f = fopen(iox_run.config, "w");
    if (f == NULL)
        return -errno;
    fprintf(f, "# Written by ipcx-bench for one run (bench/mech_iceoryx.c); removed at exit.\n"
               "[general]\nversion = 1\n\n[[segment]]\n");
    for (size_t i = 0; i < iox_run.npools; i++)
        fprintf(f, "\n[[segment.mempool]]\nsize = %zu\ncount = %zu\n", iox_run.pool[i],
                iox_count_for(iox_run.pool[i]));
    return fclose(f) == 0 ? 0 : -errno;
}

/*
 * After our RouDi had to be killed: remove what it would have removed itself
 * (its segments hold real memory in /dev/shm). Only for a RouDi this process
 * started, so nobody else is using them.
 */
static void iox_remove_roudi_files(void)
{
    struct group *g = getgrgid(getegid());
    char path[300];
    unlink("/dev/shm/iceoryx_mgmt");
    if (g != NULL && g->gr_name != NULL && strchr(g->gr_name, '/') == NULL) {
        /* iceoryx 2.0 names the data segment after the writing group. */
        snprintf(path, sizeof path, "/dev/shm/%s", g->gr_name);
        unlink(path);
    }
    unlink(IOX_ROUDI_SOCKET);
}

/* SIGTERM to our RouDi, then SIGKILL (and clean up after it) if it takes too long. */
static void iox_kill_roudi(void)
{
    int status;
    kill(iox_run.roudi, SIGTERM);
    for (int64_t until = iox_now_ns() + IOX_ROUDI_STOP_NS;;) {
        pid_t w = waitpid(iox_run.roudi, &status, WNOHANG);
        if (w == iox_run.roudi || (w < 0 && errno != EINTR))
            break;
        if (iox_now_ns() > until) {
            fprintf(stderr, "ipcx-bench: iox-roudi did not stop within %lld s; killed (see %s)\n",
                    (long long)(IOX_ROUDI_STOP_NS / 1000000000LL), iox_run.log);
            kill(iox_run.roudi, SIGKILL);
            (void)waitpid(iox_run.roudi, &status, 0);
            iox_remove_roudi_files();
            break;
        }
        iox_sleep_ms(5);
    }
    iox_run.roudi = 0;
}

/*
 * Stops the RouDi this process started (atexit). It runs after the runtime
 * singleton's destructor has unregistered this process (registered later,
 * destroyed first), so RouDi, which signals every registered process when it
 * shuts down, has nobody left to signal; SIGTERM is ignored anyway, since a
 * late one must not turn a finished run into a killed one.
 */
static void iox_stop_roudi(void)
{
    if (getpid() != iox_run.owner)
        return; /* a child that inherited the handler */
    if (iox_run.roudi > 0) {
        signal(SIGTERM, SIG_IGN);
        iox_kill_roudi();
    }
    unlink(iox_run.config);
    if (iox_run.why == NULL)
        unlink(iox_run.log); /* kept when it explains a skip */
}

/*
 * The RouDi child: every cpu (not the parent's pin), output to the log, gone
 * with us. Monitoring off: with it on, RouDi drops a process whose keep-alive
 * (every 300 ms) is 1.5 s late, and on this loaded 2-vCPU guest a child was
 * once dropped that way mid-setup, which hung its cell. Processes still leave
 * RouDi when they exit normally (the runtime's destructor); only a killed
 * child stays registered, harmlessly, until RouDi stops.
 */
static void iox_exec_roudi(void)
{
    cpu_set_t all;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int fd = open(iox_run.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CPU_ZERO(&all);
    for (long c = 0; c < ncpu && c < CPU_SETSIZE; c++)
        CPU_SET((int)c, &all);
    (void)sched_setaffinity(0, sizeof all, &all);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    execlp("iox-roudi", "iox-roudi", "-c", iox_run.config, "-l", "warning", "-m", "off",
           (char *)NULL);
    fprintf(stderr, "exec iox-roudi: %s\n", strerror(errno));
    _exit(127);
}

/* Sets iox_run.why from a format; returns it. */
__attribute__((format(printf, 1, 2))) static const char *iox_fail(const char *fmt, ...);

static const char *iox_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(iox_run.why_buf, sizeof iox_run.why_buf, fmt, ap);
    va_end(ap);
    iox_run.why = iox_run.why_buf;
    return iox_run.why;
}

/*
 * Once per run, at the first cell: use the RouDi that is running, or write a
 * configuration for this run's sizes and start one, waiting until it answers.
 */
static void iox_prepare(const struct mech_setup *s)
{
    int alive = iox_roudi_alive(), status;
    pid_t pid;
    iox_run.tried = 1;
    if (alive < 0) {
        iox_fail("%s exists but cannot be reached (%s)", IOX_ROUDI_SOCKET, strerror(-alive));
        return;
    }
    if (alive) {
        iox_run.foreign = 1;
        fprintf(stderr, "ipcx-bench: iceoryx: using the RouDi already running; its memory pools "
                        "must fit every message size of this run\n");
        return;
    }
    if (iox_in_path("iox-roudi") < 0) {
        iox_fail("iox-roudi not found in PATH (apt-get install iceoryx)");
        return;
    }
    if (s->run_sizes != NULL && s->run_nsizes > 0)
        iox_plan_pools(s->run_sizes, s->run_nsizes);
    else
        iox_plan_pools(&s->msg_size, 1);
    if (iox_run.npools == 0) {
        iox_fail("%s", iox_run.size_why[0]);
        return;
    }
    snprintf(iox_run.config, sizeof iox_run.config, "/tmp/ipcx-bench-%ld-roudi.toml",
             (long)getpid());
    snprintf(iox_run.log, sizeof iox_run.log, "/tmp/ipcx-bench-%ld-roudi.log", (long)getpid());
    int rc = iox_write_config();
    if (rc < 0) {
        iox_fail("cannot write %s: %s", iox_run.config, strerror(-rc));
        return;
    }
    /* Registered before this process's runtime exists, so it runs after its destructor. */
    iox_run.owner = getpid();
    atexit(iox_stop_roudi);
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        iox_fail("fork for iox-roudi: %s", strerror(errno));
        return;
    }
    if (pid == 0)
        iox_exec_roudi();
    iox_run.roudi = pid;
    for (int64_t until = iox_now_ns() + IOX_ROUDI_START_NS;;) {
        if (waitpid(pid, &status, WNOHANG) == pid) {
            iox_run.roudi = 0;
            iox_fail("iox-roudi exited at start (%s %d; see %s)",
                     WIFEXITED(status) ? "status" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), iox_run.log);
            return;
        }
        if (iox_roudi_alive() == 1)
            return;
        if (iox_now_ns() > until) {
            iox_kill_roudi();
            iox_fail("iox-roudi did not answer on %s within %lld s (see %s)", IOX_ROUDI_SOCKET,
                     (long long)(IOX_ROUDI_START_NS / 1000000000LL), iox_run.log);
            return;
        }
        iox_sleep_ms(10);
    }
}

static const char *iox_unavailable(const struct mech_setup *s)
{
    if (s == NULL)
        return iox_in_path("iox-roudi") < 0
                   ? "iox-roudi not found in PATH (apt-get install iceoryx)"
                   : NULL;
    if (!iox_run.tried)
        iox_prepare(s);
    if (iox_run.why != NULL)
        return iox_run.why;
    if ((uint64_t)s->msg_size > UINT32_MAX - IOX_HEADER_ROOM)
        return "a chunk's payload size is a 32-bit number";
    for (size_t i = 0; i < iox_run.nskips; i++)
        if (iox_run.size_of_skip[i] == iox_pool_size(s->msg_size))
            return iox_run.size_why[i];
    return NULL;
}

/* --- One cell ----------------------------------------------------------------- */

static int iox_mech_setup(struct mech_setup *s)
{
    struct iox_setup *x = iox_setup_of(s);
    snprintf(x->instance, sizeof x->instance, "%ld-%u", (long)getpid(), s->cell_id);
    mech_name(x->child_runtime, sizeof x->child_runtime, s, "iox-child");
    return 0;
}

static void iox_mech_close(struct mech_ep *ep)
{
    struct iox_ep *e = iox_ep_of(ep);
    if (e->sub != NULL)
        iox_sub_deinit(e->sub);
    if (e->pub != NULL)
        iox_pub_deinit(e->pub);
    e->sub = NULL;
    e->pub = NULL;
}

/*
 * Registers this process with RouDi (its first cell; the parent's runtime
 * lives for the run, a fresh child's for its cell), then offers a publisher
 * on our direction and subscribes to the peer's. The policies are the pair
 * that makes delivery block rather than drop: the publisher waits for a slow
 * consumer and the subscriber's full queue blocks the producer (iceoryx's
 * defaults discard the oldest data). No history: a cell starts empty.
 */
static int iox_mech_open(const struct mech_setup *s, struct mech_ep *ep)
{
    const struct iox_setup *x = iox_csetup_of(s);
    struct iox_ep *e = iox_ep_of(ep);
    const char *to_peer = ep->side == SIDE_PARENT ? "to-child" : "to-parent";
    const char *from_peer = ep->side == SIDE_PARENT ? "to-parent" : "to-child";
    iox_pub_options_t po;
    iox_sub_options_t so;
    e->pub = NULL;
    e->sub = NULL;
    if (!iox_runtime_up) {
        char name[100];
        if (ep->side == SIDE_PARENT)
            snprintf(name, sizeof name, "ipcx-bench-%ld-iox", (long)getpid());
        else
            snprintf(name, sizeof name, "%s", x->child_runtime);
        iox_set_loglevel(Iceoryx_LogLevel_Warn);
        iox_runtime_init(name);
        iox_runtime_up = 1;
    }
    iox_pub_options_init(&po);
    po.historyCapacity = 0;
    po.offerOnCreate = true;
    po.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
    e->pub = iox_pub_init(&e->pub_storage, "ipcx-bench", x->instance, to_peer, &po);
    iox_sub_options_init(&so);
    so.queueCapacity = iox_queue_for(ep->msg_size);
    so.historyRequest = 0;
    so.subscribeOnCreate = true;
    so.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
    e->sub = iox_sub_init(&e->sub_storage, "ipcx-bench", x->instance, from_peer, &so);
    if (e->pub == NULL || e->sub == NULL) {
        iox_mech_close(ep); /* the runner closes only what opened */
        return -ENOMEM;
    }
    return 0;
}

/* Waits until RouDi has connected both directions: ours has a subscriber, we are subscribed. */
static int iox_mech_connect(const struct mech_setup *s, struct mech_ep *ep)
{
    struct iox_ep *e = iox_ep_of(ep);
    (void)s;
    for (int64_t until = iox_now_ns() + IOX_CONNECT_NS;;) {
        if (iox_sub_get_subscription_state(e->sub) == SubscribeState_SUBSCRIBED &&
            iox_pub_has_subscribers(e->pub))
            return 0;
        if (iox_now_ns() > until)
            return -ETIMEDOUT;
        iox_sleep_ms(1);
    }
}

/*
 * The binding's plain loan, as a user would call it: the payload follows the
 * 40-byte chunk header at 8-byte alignment (a 64 B message spans two lines).
 */
static int iox_mech_loan(struct mech_ep *ep, void **buf)
{
    switch (iox_pub_loan_chunk(iox_ep_of(ep)->pub, buf, (uint32_t)ep->msg_size)) {
    case AllocationResult_SUCCESS:
        return 0;
    case AllocationResult_NO_MEMPOOLS_AVAILABLE:
        return -EMSGSIZE; /* no pool has chunks this large (a RouDi configured elsewhere) */
    case AllocationResult_RUNNING_OUT_OF_CHUNKS:
        return -ENOBUFS; /* the pool is too small for two full queues */
    case AllocationResult_TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL:
        return -EBUSY;
    default:
        return -EIO;
    }
}

/* Publishing hands the chunk to the subscriber's queue, waiting while it is full. */
static int iox_mech_commit(struct mech_ep *ep, void *buf)
{
    iox_pub_publish_chunk(iox_ep_of(ep)->pub, buf);
    return 0;
}

/*
 * Polls for the next chunk, spinning (the way iceoryx reaches its lowest
 * latency; its WaitSet would sleep). Every ~1 M empty polls it yields the cpu
 * and checks that the peer's publisher is still there (-EPIPE if not). The C
 * binding of 2.0 does not expose a chunk's payload size, so the length cannot
 * be checked here: the workload's checks of every line stand in for it.
 */
static int iox_mech_view(struct mech_ep *ep, const void **buf)
{
    iox_sub_t sub = iox_ep_of(ep)->sub;
    for (uint32_t spins = 1;; spins++) {
        switch (iox_sub_take_chunk(sub, buf)) {
        case ChunkReceiveResult_SUCCESS:
            return 0;
        case ChunkReceiveResult_NO_CHUNK_AVAILABLE:
            break;
        case ChunkReceiveResult_TOO_MANY_CHUNKS_HELD_IN_PARALLEL:
            return -EBUSY;
        default:
            return -EIO;
        }
        if ((spins & IOX_CHECK_MASK) == 0) {
            if (iox_sub_get_subscription_state(sub) != SubscribeState_SUBSCRIBED)
                return -EPIPE;
            sched_yield();
        }
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#elif defined(__aarch64__)
        __asm__ __volatile__("yield");
#endif
    }
}

static int iox_mech_release(struct mech_ep *ep, const void *buf)
{
    iox_sub_release_chunk(iox_ep_of(ep)->sub, buf);
    return 0;
}

/* The copying path the table contract asks for: a loan filled by memcpy, a view copied out. */
static int iox_mech_send(struct mech_ep *ep, const void *buf)
{
    void *chunk;
    int rc = iox_mech_loan(ep, &chunk);
    if (rc < 0)
        return rc;
    memcpy(chunk, buf, ep->msg_size);
    return iox_mech_commit(ep, chunk);
}

static int iox_mech_recv(struct mech_ep *ep, void *buf)
{
    const void *chunk;
    int rc = iox_mech_view(ep, &chunk);
    if (rc < 0)
        return rc;
    memcpy(buf, chunk, ep->msg_size);
    return iox_mech_release(ep, chunk);
}

/* A child killed before it could unregister leaves its runtime's socket and lock file behind. */
static void iox_mech_teardown(struct mech_setup *s)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/%s", iox_setup_of(s)->child_runtime);
    unlink(path);
    snprintf(path, sizeof path, "/tmp/%s.lock", iox_setup_of(s)->child_runtime);
    unlink(path);
}

const struct mech mech_iceoryx = {
    .name = "iceoryx",
    .baseline = "floor-ring",
    .what = "iceoryx 2.0 C binding: publisher/subscriber per direction, loan/publish and "
            "take/release (zero copy), polling, blocking policies; starts iox-roudi if needed",
    /*
     * The runtime is a per-process singleton that must not be inherited
     * through fork; the subscriber polls (iox_mech_recv).
     */
    .flags = MECH_F_FRESH_CHILD | MECH_F_SPINS,
    .unavailable = iox_unavailable,
    .setup = iox_mech_setup,
    .open = iox_mech_open,
    .connect = iox_mech_connect,
    .send = iox_mech_send,
    .recv = iox_mech_recv,
    .close = iox_mech_close,
    .teardown = iox_mech_teardown,
    .loan = iox_mech_loan,
    .commit = iox_mech_commit,
    .view = iox_mech_view,
    .release = iox_mech_release,
};

#else /* !IPCX_HAVE_ICEORYX */

static const char *iox_unavailable(const struct mech_setup *s)
{
    (void)s;
    return "iceoryx C binding not found at build time (apt-get install libiceoryx-binding-c-dev "
           "iceoryx, then re-run cmake)";
}

const struct mech mech_iceoryx = {
    .name = "iceoryx",
    .baseline = "floor-ring",
    .what = "iceoryx 2.0 C binding: publisher/subscriber per direction, zero copy, polling "
            "(not built)",
    .flags = MECH_F_SPINS,
    .unavailable = iox_unavailable,
};

#endif /* IPCX_HAVE_ICEORYX */
