/*
 * main.c: the runner of ipcx-bench. It parses the command line, pins the two
 * processes one per core, runs every selected (mechanism, size, pattern) cell
 * once per round with the mechanisms interleaved, and prints medians across
 * rounds, their spread, and library/raw ratios measured in the same run. Each
 * cell is a fresh fork (re-executed for mechanisms that ask, MECH_F_FRESH_CHILD):
 * setup before fork, open/connect with barriers over a control pipe, the timed
 * workload, teardown. A many-party cell (fanin, mpmc) forks every producer and
 * consumer, the parent only coordinating: barriers, the start of the timed
 * part, the end of the drain, and the waves of end markers (workload.h). A
 * mechanism that cannot run (a peer library not built, its daemon not started,
 * no shared mailbox for a many-party pattern) is skipped with its reason,
 * printed once. The control pipes only carry barriers and results, never
 * anything that is timed. SIGINT, SIGTERM and the hang watchdog stop the run
 * the same way: the cell's processes are killed, its teardown runs, and the
 * program exits (128 + the signal, or 2 for a hang). It must never contain a
 * mechanism's or a workload's own code (see mech_*.c and workload.c).
 */
#include <ipcx.h>

#include "export.h"
#include "hotpath.h"
#include "mech.h"
#include "report.h"
#include "results.h"
#include "stats.h"
#include "topo.h"
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SIZE ((size_t)256 << 20)

/* Many-party cells: every party, consumers first (bit i of a mask is party i). */
#define MANY_MAX       (WL_MANY_MAX_PRODUCERS + WL_MANY_MAX_CONSUMERS)
#define MANY_POLL_NS   20000LL    /* the parent's look at the consumers' counts while they drain */
#define MANY_WAVE_NS   20000000LL /* how long a wave of end markers has to stop the consumers */
#define MANY_MAX_WAVES 250        /* then the mechanism loses markers: the cell fails */

/* What one process tells the other over the control pipe at each barrier. */
struct ctl_msg {
    int rc;          /* 0 or a negative code */
    int cpu;         /* where the child runs (first barrier) */
    uint64_t errors; /* payload checks that failed in the child (last barrier) */
    double cpu_ns;   /* the child's user+sys time over its workload (last barrier) */
};

/* Commands from the parent to a party of a many-party cell (many_msg.op). */
enum { MANY_OK = 0, MANY_GO, MANY_MARKERS, MANY_FINISH, MANY_CLOSE };

/* What the parent and one party of a many-party cell tell each other (at most PIPE_BUF). */
struct many_msg {
    int rc;                    /* 0 or a negative code */
    int op;                    /* parent to party: MANY_*; party to parent: MANY_OK */
    int cpu;                   /* where the party runs (first barrier) */
    unsigned n;                /* MANY_MARKERS: how many to send */
    uint64_t t_start, t_stop;  /* MANY_GO: the timed part (struct wl_many) */
    struct wl_many_report rep; /* after the workload, after each wave and after MANY_FINISH */
};
_Static_assert(sizeof(struct many_msg) <= 4096, "a control message must be one atomic write");

/* One party's place in a many-party cell. */
struct many_place {
    int role; /* MECH_PRODUCER, MECH_CONSUMER; MECH_TWO_PARTY: a two-party cell's child */
    unsigned index;
    unsigned producers, consumers;
    int cpu;       /* the cpu to pin it to, or -1 */
    int shared_fd; /* memfd holding the struct wl_many_shared */
};

/*
 * The state a re-executed child needs (MECH_F_FRESH_CHILD), passed as bytes
 * through a pipe inherited across exec: names, not pointers.
 */
struct fresh_state {
    char mech[64];
    char workload[32];
    struct wl_params params;
    struct mech_setup setup;
    int pin;
    struct many_place many;
};

/*
 * The run: its options (set once in main), placement, cells and skips, read
 * by the cell runner and every report. opt and placement are shorthands.
 */
static struct res_run run = {.placement = {0, -1, -1, 0, ""}};
static const struct res_opts *const opt = &run.opts;
static struct res_placement *const placement = &run.placement;

/*
 * Where the human-readable report goes: stdout, or stderr when --json or
 * --csv writes to stdout (so that `--json - | jq` sees only JSON).
 */
static FILE *report_out;

/*
 * Stopping a run (SIGINT, SIGTERM, or SIGALRM from the hang watchdog). The
 * handler kills the running cell's processes, whose pids are below, and
 * records the signal; the runner, whose every wait is on those processes
 * (their control pipes, waitpid), sees them gone, takes its failure path,
 * which runs the cell's teardown, and exits (stop_exit). Only the parent's
 * own calls into a mechanism in a two-party cell (open, connect, the
 * workload's timed side) may go on blocking with the peer gone (a System V
 * queue, a futex, a spin); they run under cell_step, and a call still inside
 * STOP_GRACE_S later (or at a second signal) is left by siglongjmp to the
 * runner's cleanup. The cleanup has STOP_CLEANUP_S before the handler gives
 * up and leaves with _exit.
 */
#define STOP_GRACE_S   1u
#define STOP_CLEANUP_S 10u
#define STOP_EXIT_S    30u /* then for exit's handlers (iceoryx waits up to 10 s for RouDi) */

static volatile pid_t watchdog_child = 0;
static volatile pid_t watchdog_many[MANY_MAX]; /* a many-party cell's parties */
static volatile sig_atomic_t watchdog_nmany = 0;
static volatile sig_atomic_t stop_signo = 0; /* 0, or what stops the run (SIGALRM: a hang) */
static volatile sig_atomic_t in_mech = 0;    /* the parent is inside cell_step's call */
static sigjmp_buf stop_escape;               /* set by cell_step while in_mech can be 1 */
static struct sigaction stop_inherited[2];   /* SIGINT's and SIGTERM's disposition at start */
static pthread_t stop_main;                  /* the thread that runs the cells */
static char stop_cell[160];                  /* the cell running, as stop_exit names it */

/* --- small helpers ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ipcx-bench [--mechanisms LIST] [--sizes LIST] [--pattern LIST] [--rate N]\n"
            "                  [--producers N] [--consumers M] [--rounds N] [--duration SECONDS]\n"
            "                  [--count N] [--quick] [--no-pin] [--json FILE] [--csv FILE]\n"
            "                  [--report DIR] [--list]\n"
            "  --mechanisms LIST  comma-separated names, or all (default: all; --list shows them)\n"
            "  --sizes LIST       message sizes in bytes, K/M suffixes allowed (default: "
            "64,4096,65536)\n"
            "  --pattern LIST     pingpong, stream, rate, fanin, mpmc, comma-separated, or all\n"
            "                     (default: pingpong and stream)\n"
            "  --rate N           rate pattern: messages per second (default: 1000)\n"
            "  --producers N      fanin and mpmc: producer processes (default: fanin 4, mpmc 2)\n"
            "  --consumers M      mpmc: consumer processes (default: 2; fanin has one)\n"
            "  --rounds N         rounds; each runs every cell once, mechanisms interleaved "
            "(default: 3)\n"
            "  --duration S       timed seconds per cell and round (default: 0.12)\n"
            "  --count N          time N round trips / messages per cell instead of a duration\n"
            "  --quick            tiny run: 3 rounds of 0.01 s per cell (under 10 s in all)\n"
            "  --no-pin           do not pin the processes to cpus %d and %d (nor the\n"
            "                     producers and consumers of fanin and mpmc)\n"
            "  --json FILE        also write every cell of every round as JSON (schema\n"
            "                     ipcx-bench/1, docs/bench.md); FILE - is standard output,\n"
            "                     and the table then goes to standard error\n"
            "  --csv FILE         the same as CSV, one row per cell and round\n"
            "  --report DIR       also write DIR/index.html (analysis, gnuplot charts, tables;\n"
            "                     opens offline) with the SVGs, results.json and results.csv\n"
            "  --hotpath N        run N 64-byte send+recv pairs on one SPSC shm mailbox in this\n"
            "                     process and exit (for callgrind: scripts/hotpath.sh)\n"
            "  --hotpath-mpmc N   the same on a many-to-many mailbox (its locks)\n",
            CPU_PARENT, CPU_CHILD);
}

/* Width of the name column: the longest name among these, at least 10. */
static int name_width(const struct mech *const *mechs, size_t n)
{
    size_t w = 10;
    for (size_t i = 0; i < n && mechs[i] != NULL; i++)
        if (strlen(mechs[i]->name) > w)
            w = strlen(mechs[i]->name);
    return (int)w;
}

static void list_all(void)
{
    int nw = name_width(mech_table, (size_t)-1);
    printf("mechanisms:\n");
    for (size_t i = 0; mech_table[i] != NULL; i++) {
        const struct mech *m = mech_table[i];
        const char *why = m->unavailable ? m->unavailable(NULL) : NULL;
        printf("  %-*s %s%s%s%s%s%s\n", nw, m->name, m->what, m->baseline ? "; compared with " : "",
               m->baseline ? m->baseline : "", why ? " [skipped: " : "", why ? why : "",
               why ? "]" : "");
        if (m->many_what != NULL)
            printf("  %-*s   fanin, mpmc: %s\n", nw, "", m->many_what);
    }
    printf("patterns:\n");
    for (size_t i = 0; wl_table[i] != NULL; i++)
        printf("  %-*s %s\n", nw, wl_table[i]->name, wl_table[i]->what);
}

static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s)
        return -1;
    if (*end == 'k' || *end == 'K') {
        v <<= 10;
        end++;
    } else if (*end == 'm' || *end == 'M') {
        v <<= 20;
        end++;
    }
    if (*end != '\0' || v < WL_MIN_SIZE || v > MAX_SIZE)
        return -1;
    *out = (size_t)v;
    return 0;
}

/* Splits a comma list (argv stays intact) and calls f on each item; stops at the first error. */
static int each_item(const char *list, int (*f)(struct res_opts *o, const char *item),
                     struct res_opts *o)
{
    char *copy = strdup(list), *save = NULL;
    int rc = 0;
    if (copy == NULL)
        return -1;
    for (char *it = strtok_r(copy, ",", &save); it != NULL && rc == 0;
         it = strtok_r(NULL, ",", &save))
        rc = f(o, it);
    free(copy);
    return rc < 0 ? -1 : 0;
}

static int add_mech(struct res_opts *o, const char *name)
{
    if (strcmp(name, "all") == 0) {
        for (size_t i = 0; mech_table[i] != NULL; i++)
            if (add_mech(o, mech_table[i]->name) < 0)
                return -1;
        return 0;
    }
    const struct mech *m = mech_find(name);
    if (m == NULL) {
        fprintf(stderr, "ipcx-bench: unknown mechanism '%s' (try --list)\n", name);
        return -1;
    }
    for (size_t i = 0; i < o->nmechs; i++)
        if (o->mechs[i] == m)
            return 0;
    if (o->nmechs == RES_MAX_MECHS) {
        fprintf(stderr, "ipcx-bench: more than %d mechanisms\n", RES_MAX_MECHS);
        return -1;
    }
    o->mechs[o->nmechs++] = m;
    return 0;
}

static int add_pattern(struct res_opts *o, const char *name)
{
    const struct workload *w = wl_find(name);
    if (strcmp(name, "all") == 0) {
        for (size_t i = 0; wl_table[i] != NULL; i++)
            if (add_pattern(o, wl_table[i]->name) < 0)
                return -1;
        return 0;
    }
    if (w == NULL) {
        fprintf(stderr, "ipcx-bench: unknown pattern '%s' (try --list)\n", name);
        return -1;
    }
    for (size_t i = 0; i < o->nwls; i++)
        if (o->wls[i] == w)
            return 0;
    if (o->nwls == RES_MAX_WLS) {
        fprintf(stderr, "ipcx-bench: more than %d patterns\n", RES_MAX_WLS);
        return -1;
    }
    o->wls[o->nwls++] = w;
    return 0;
}

/* A count option in 1..max; 0, or -1 with the reason on stderr. */
static int parse_count(const char *opt_name, const char *arg, unsigned max, unsigned *out)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(arg, &end, 10);
    if (errno != 0 || end == arg || *end != '\0' || v < 1 || v > max) {
        fprintf(stderr, "ipcx-bench: %s takes 1..%u\n", opt_name, max);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int add_size(struct res_opts *o, const char *item)
{
    size_t v;
    if (parse_size(item, &v) < 0) {
        fprintf(stderr, "ipcx-bench: bad size '%s' (%u B to 256M)\n", item, WL_MIN_SIZE);
        return -1;
    }
    if (o->nsizes == RES_MAX_SIZES) {
        fprintf(stderr, "ipcx-bench: at most %d sizes\n", RES_MAX_SIZES);
        return -1;
    }
    o->sizes[o->nsizes++] = v;
    return 0;
}

static int parse_options(int argc, char **argv, struct res_opts *o)
{
    static const struct option longopts[] = {
        {"mechanisms", required_argument, NULL, 'm'},
        {"sizes", required_argument, NULL, 's'},
        {"pattern", required_argument, NULL, 'p'},
        {"rounds", required_argument, NULL, 'r'},
        {"duration", required_argument, NULL, 'd'},
        {"count", required_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'R'},
        {"producers", required_argument, NULL, 'N'},
        {"consumers", required_argument, NULL, 'K'},
        {"quick", no_argument, NULL, 'q'},
        {"no-pin", no_argument, NULL, 'P'},
        {"json", required_argument, NULL, 'J'},
        {"csv", required_argument, NULL, 'C'},
        {"report", required_argument, NULL, 'D'},
        {"list", no_argument, NULL, 'l'},
        {"hotpath", required_argument, NULL, 'H'},
        {"hotpath-mpmc", required_argument, NULL, 'M'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int rounds_set = 0, duration_set = 0, c;
    char *end;
    memset(o, 0, sizeof *o);
    o->rounds = 3; /* the default run: every mechanism in about a minute */
    o->duration_s = 0.12;
    o->pin = 1;
    while ((c = getopt_long(argc, argv, "m:s:p:r:d:c:qPlh", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (each_item(optarg, add_mech, o) < 0)
                return -1;
            break;
        case 's':
            if (each_item(optarg, add_size, o) < 0)
                return -1;
            break;
        case 'p':
            o->nwls = 0; /* the last --pattern wins */
            if (each_item(optarg, add_pattern, o) < 0)
                return -1;
            break;
        case 'N':
            if (parse_count("--producers", optarg, WL_MANY_MAX_PRODUCERS, &o->producers) < 0)
                return -1;
            break;
        case 'K':
            if (parse_count("--consumers", optarg, WL_MANY_MAX_CONSUMERS, &o->consumers) < 0)
                return -1;
            break;
        case 'r':
            o->rounds = (unsigned)strtoul(optarg, &end, 10);
            if (*end != '\0' || o->rounds < 1 || o->rounds > RES_MAX_ROUNDS) {
                fprintf(stderr, "ipcx-bench: --rounds takes 1..%d\n", RES_MAX_ROUNDS);
                return -1;
            }
            rounds_set = 1;
            break;
        case 'd':
            o->duration_s = strtod(optarg, &end);
            if (*end != '\0' || !(o->duration_s > 0.0) || o->duration_s > 3600.0) {
                fprintf(stderr, "ipcx-bench: --duration takes seconds > 0\n");
                return -1;
            }
            duration_set = 1;
            break;
        case 'c':
            o->count = strtoull(optarg, &end, 10);
            if (*end != '\0' || o->count == 0) {
                fprintf(stderr, "ipcx-bench: --count takes a number > 0\n");
                return -1;
            }
            break;
        case 'R':
            o->rate = strtod(optarg, &end);
            if (*end != '\0' || !(o->rate >= 1 && o->rate <= 1e7)) {
                fprintf(stderr, "ipcx-bench: --rate takes messages per second, 1..10000000\n");
                return -1;
            }
            break;
        case 'q':
            o->quick = 1;
            break;
        case 'P':
            o->pin = 0;
            break;
        case 'J':
            o->json_path = optarg;
            break;
        case 'C':
            o->csv_path = optarg;
            break;
        case 'D':
            o->report_dir = optarg;
            break;
        case 'l':
            list_all();
            exit(0);
        case 'H':
        case 'M':
            exit(hotpath_run(strtol(optarg, NULL, 10), c == 'H'));
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "ipcx-bench: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    if (o->json_path != NULL && o->csv_path != NULL && strcmp(o->json_path, "-") == 0 &&
        strcmp(o->csv_path, "-") == 0) {
        fprintf(stderr, "ipcx-bench: --json and --csv cannot both write to standard output\n");
        return -1;
    }
    if (o->quick) {
        if (!rounds_set)
            o->rounds = 3;
        if (!duration_set)
            o->duration_s = 0.01;
    }
    if (o->nmechs == 0 && add_mech(o, "all") < 0)
        return -1;
    if (o->nsizes == 0) {
        o->sizes[0] = 64;
        o->sizes[1] = 4096;
        o->sizes[2] = 65536;
        o->nsizes = 3;
    }
    if (o->nwls == 0) { /* the default run: latency and throughput (rate only when asked) */
        o->wls[o->nwls++] = &wl_pingpong;
        o->wls[o->nwls++] = &wl_stream;
    }
    return 0;
}

/* --- placement ------------------------------------------------------------------ */

static int pin_to(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) < 0 ? -errno : 0;
}

static void pin_parent(const struct res_opts *o)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int rc;
    if (!o->pin) {
        snprintf(placement->why, sizeof placement->why, "--no-pin");
        return;
    }
    if (ncpu < 2) {
        snprintf(placement->why, sizeof placement->why, "only %ld cpu online", ncpu);
        return;
    }
    rc = pin_to(CPU_PARENT);
    if (rc < 0) {
        snprintf(placement->why, sizeof placement->why, "sched_setaffinity(cpu %d): %s", CPU_PARENT,
                 strerror(-rc));
        return;
    }
    placement->pinned = 1;
}

/* --- one cell ---------------------------------------------------------------------- */

/* The exit status of a stopped run: 2 for a hang (as for a bad command line), else 128 + signal. */
static int stop_status(void)
{
    return stop_signo == SIGALRM ? 2 : 128 + stop_signo;
}

/*
 * SIGINT, SIGTERM and SIGALRM (the watchdog's alarm, then the deadlines
 * below); they are blocked while it runs. The first records the stop, kills
 * the cell's processes and sets a deadline: STOP_GRACE_S for a call into a
 * mechanism to return, STOP_CLEANUP_S for the cleanup. Later, a signal that
 * finds the parent still in that call jumps out of it; the cleanup's
 * deadline passing ends the program. Async-signal-safe: kill, alarm, write,
 * _exit, and siglongjmp out of a call that has blocked on a dead peer. A
 * signal delivered to another thread (a peer library's, one that does not
 * block signals) is passed on to the main thread, the only one it may jump in.
 */
static void stop_handler(int sig)
{
    static const char hung[] = "ipcx-bench: a cell hung past its time limit; stopping the run\n";
    static const char late[] = "ipcx-bench: the cleanup after the stop hung; giving up\n";
    int saved = errno;
    if (!pthread_equal(pthread_self(), stop_main)) {
        pthread_kill(stop_main, sig);
    } else if (stop_signo == 0) {
        stop_signo = sig;
        if (watchdog_child > 0)
            kill(watchdog_child, SIGKILL);
        for (int i = 0; i < watchdog_nmany; i++)
            if (watchdog_many[i] > 0)
                kill(watchdog_many[i], SIGKILL);
        if (sig == SIGALRM)
            (void)!write(2, hung, sizeof hung - 1);
        alarm(in_mech ? STOP_GRACE_S : STOP_CLEANUP_S);
    } else if (in_mech) {
        in_mech = 0;
        siglongjmp(stop_escape, 1);
    } else if (sig == SIGALRM) {
        (void)!write(2, late, sizeof late - 1);
        _exit(stop_status());
    }
    errno = saved;
}

/* Blocks the stop signals (restored with stop_unblock), so a step and its record are one. */
static void stop_block(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGALRM);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void stop_unblock(const sigset_t *old)
{
    sigprocmask(SIG_SETMASK, old, NULL);
}

/* The watchdog: arms the cell's time limit, unless the run is stopping (its deadline stands). */
static void watchdog_arm(unsigned seconds)
{
    sigset_t old;
    stop_block(&old);
    if (!stop_signo)
        alarm(seconds);
    stop_unblock(&old);
}

static void watchdog_disarm(void)
{
    sigset_t old;
    stop_block(&old);
    if (!stop_signo)
        alarm(0);
    watchdog_child = 0;
    watchdog_nmany = 0;
    stop_unblock(&old);
}

/*
 * In a child, right after fork: the stop signals back to what the program
 * started with (the default action, so Ctrl-C, which reaches every process
 * of the foreground group, ends it; or ignored, in a background job), the
 * parent's handler being the parent's; then unblocked (the fork blocked them).
 */
static void fork_child_signals(const sigset_t *old)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGINT, &stop_inherited[0], NULL);
    sigaction(SIGTERM, &stop_inherited[1], NULL);
    sigaction(SIGALRM, &sa, NULL);
    stop_unblock(old);
}

/*
 * Installs stop_handler for SIGALRM, and for SIGINT and SIGTERM unless the
 * program started with them ignored (a background job of a script starts
 * with SIGINT ignored): those stay ignored, as for any program.
 */
static void stop_install(void)
{
    static const int sigs[2] = {SIGINT, SIGTERM};
    struct sigaction sa;
    stop_main = pthread_self();
    memset(&sa, 0, sizeof sa);
    /* No SA_RESTART: a wait on the cell's processes returns EINTR and looks again. */
    sa.sa_handler = stop_handler;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGALRM);
    sigaction(SIGALRM, &sa, NULL);
    for (int i = 0; i < 2; i++) {
        if (sigaction(sigs[i], NULL, &stop_inherited[i]) < 0) {
            memset(&stop_inherited[i], 0, sizeof stop_inherited[i]);
            stop_inherited[i].sa_handler = SIG_DFL;
        }
        if (stop_inherited[i].sa_handler != SIG_IGN)
            sigaction(sigs[i], &sa, NULL);
    }
}

/* Moves len bytes of a control message over a pipe, either way (EINTR resumed). */
static int ctl_xfer(int fd, void *buf, size_t len, int writing)
{
    char *p = buf;
    size_t left = len;
    while (left > 0) {
        ssize_t n = writing ? write(fd, p, left) : read(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -EPIPE;
        p += n;
        left -= (size_t)n;
    }
    return 0;
}

static int ctl_write(int fd, const struct ctl_msg *m)
{
    struct ctl_msg copy = *m;
    return ctl_xfer(fd, &copy, sizeof copy, 1);
}

static int ctl_read(int fd, struct ctl_msg *m)
{
    return ctl_xfer(fd, m, sizeof *m, 0);
}

static int many_write(int fd, const struct many_msg *m)
{
    struct many_msg copy = *m;
    return ctl_xfer(fd, &copy, sizeof copy, 1);
}

static int many_read(int fd, struct many_msg *m)
{
    return ctl_xfer(fd, m, sizeof *m, 0);
}

/* This process's user+sys CPU time so far, in nanoseconds. */
static double cpu_now_ns(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return NAN;
    return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
}

static void *alloc_msg(size_t size)
{
    size_t rounded = (size + 63) & ~(size_t)63;
    void *p = aligned_alloc(64, rounded);
    if (p != NULL)
        memset(p, 0, rounded); /* fault the pages in before anything is timed */
    return p;
}

/*
 * How a child ends: a plain fork leaves with _exit (the parent's atexit
 * handlers and stdio buffers are not its own); a re-executed one with exit,
 * so that its libraries' destructors run (iceoryx unregisters from RouDi).
 */
static void child_exit(int fresh, int status)
{
    if (fresh)
        exit(status);
    _exit(status);
}

/* The child half of a cell; never returns. */
static void cell_child(const struct mech *m, const struct workload *w, const struct wl_params *p,
                       const struct mech_setup *s, int rfd, int wfd, int pin, int fresh)
{
    struct mech_ep ep;
    struct ctl_msg msg = {0, -1, 0, 0.0}, go;
    void *tx = alloc_msg(p->msg_size), *rx = alloc_msg(p->msg_size);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (pin)
        (void)pin_to(CPU_CHILD);
    msg.cpu = sched_getcpu();
    memset(&ep, 0, sizeof ep);
    ep.side = SIDE_CHILD;
    ep.msg_size = p->msg_size;
    msg.rc = (tx == NULL || rx == NULL) ? -ENOMEM : m->open(s, &ep);
    if (ctl_write(wfd, &msg) < 0 || msg.rc < 0 || ctl_read(rfd, &go) < 0 || go.rc < 0) {
        if (fresh && msg.rc == 0)
            m->close(&ep); /* so that its libraries leave cleanly */
        child_exit(fresh, 1);
    }
    msg.rc = m->connect ? m->connect(s, &ep) : 0;
    if (ctl_write(wfd, &msg) < 0 || msg.rc < 0 || ctl_read(rfd, &go) < 0 || go.rc < 0) {
        if (fresh)
            m->close(&ep);
        child_exit(fresh, 1);
    }
    msg.cpu_ns = cpu_now_ns();
    msg.rc = w->child(m, &ep, p, tx, rx, &msg.errors);
    msg.cpu_ns = cpu_now_ns() - msg.cpu_ns;
    /* Close only once the parent is done too: closing may disturb state both share. */
    if (ctl_write(wfd, &msg) == 0)
        (void)ctl_read(rfd, &go);
    m->close(&ep);
    child_exit(fresh, 0);
}

/*
 * One party of a many-party cell (struct many_place says which), run in its
 * own process; never returns. Barriers as in a two-party cell (opened,
 * connected), then the workload from MANY_GO; a producer then reports and
 * sends end markers as often as asked until MANY_FINISH, a consumer reports
 * once it has stopped; every party closes at MANY_CLOSE, once all are done.
 */
static void many_child(const struct mech *m, const struct wl_params *p, const struct mech_setup *s,
                       const struct many_place *pl, struct wl_many_shared *sh, int rfd, int wfd,
                       int fresh)
{
    struct mech_ep ep;
    struct many_msg msg, cmd;
    struct wl_many mp;
    void *buf = alloc_msg(p->msg_size);
    int opened = 0, status = 1;
    double cpu0;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (pl->cpu >= 0)
        (void)pin_to(pl->cpu);
    memset(&msg, 0, sizeof msg);
    memset(&cmd, 0, sizeof cmd);
    memset(&ep, 0, sizeof ep);
    memset(&mp, 0, sizeof mp);
    msg.cpu = sched_getcpu();
    ep.side = SIDE_CHILD;
    ep.role = pl->role;
    ep.index = pl->index;
    ep.msg_size = p->msg_size;
    mp.producers = pl->producers;
    mp.consumers = pl->consumers;
    mp.index = pl->index;
    if (p->count)
        mp.count = p->count / pl->producers + (pl->index < p->count % pl->producers);
    msg.rc = buf == NULL ? -ENOMEM : m->many_open(s, &ep);
    opened = msg.rc == 0;
    if (many_write(wfd, &msg) < 0 || msg.rc < 0 || many_read(rfd, &cmd) < 0 || cmd.rc < 0)
        goto out;
    msg.rc = m->many_connect ? m->many_connect(s, &ep) : 0;
    if (many_write(wfd, &msg) < 0 || msg.rc < 0 || many_read(rfd, &cmd) < 0 || cmd.op != MANY_GO)
        goto out;
    mp.t_start = cmd.t_start;
    mp.t_stop = cmd.t_stop;
    cpu0 = cpu_now_ns();
    if (pl->role == MECH_PRODUCER) {
        msg.rc = wl_many_produce(m, &ep, p, &mp, buf, &msg.rep);
        for (;;) {
            if (many_write(wfd, &msg) < 0 || msg.rc < 0 || many_read(rfd, &cmd) < 0)
                goto out;
            if (cmd.op != MANY_MARKERS)
                break;
            msg.rc = wl_many_markers(m, &ep, p, buf, cmd.n, &msg.rep);
        }
        if (cmd.op != MANY_FINISH)
            goto out;
        msg.rep.cpu_ns = cpu_now_ns() - cpu0;
    } else {
        msg.rc = wl_many_consume(m, &ep, p, &mp, buf, sh, &msg.rep);
        msg.rep.cpu_ns = cpu_now_ns() - cpu0;
    }
    /* Close only once every party is done: a consumer that leaves early may fail a producer. */
    if (many_write(wfd, &msg) == 0 && msg.rc == 0 && many_read(rfd, &cmd) == 0 &&
        cmd.op == MANY_CLOSE)
        status = 0;
out:
    if (opened)
        m->close(&ep);
    free(buf);
    child_exit(fresh, status);
}

/*
 * MECH_F_FRESH_CHILD: instead of running the child half in this fork, run it
 * in a fresh ipcx-bench (exec of /proc/self/exe --cell-child STATEFD RFD WFD),
 * handing it the cell's state through a pipe. pl is a many-party cell's
 * party, or NULL for a two-party cell's child. Never returns.
 */
static void cell_exec_child(const struct mech *m, const struct workload *w,
                            const struct wl_params *p, const struct mech_setup *s, int rfd, int wfd,
                            int pin, const struct many_place *pl)
{
    struct fresh_state st;
    char a_state[16], a_rfd[16], a_wfd[16];
    int sp[2];
    memset(&st, 0, sizeof st);
    snprintf(st.mech, sizeof st.mech, "%s", m->name);
    snprintf(st.workload, sizeof st.workload, "%s", w->name);
    st.params = *p;
    st.setup = *s;
    st.setup.run_sizes = NULL; /* the parent's memory */
    st.setup.run_nsizes = 0;
    st.pin = pin;
    if (pl != NULL) {
        st.many = *pl;
        if (fcntl(pl->shared_fd, F_SETFD, 0) < 0) {
            fprintf(stderr, "ipcx-bench: %s: fcntl: %s\n", m->name, strerror(errno));
            _exit(1);
        }
    }
    /* The state is far below the pipe's capacity: the write cannot block. */
    if (pipe(sp) < 0 || write(sp[1], &st, sizeof st) != (ssize_t)sizeof st) {
        fprintf(stderr, "ipcx-bench: %s: cannot hand the cell to a fresh child: %s\n", m->name,
                strerror(errno));
        _exit(1);
    }
    close(sp[1]);
    if (fcntl(rfd, F_SETFD, 0) < 0 || fcntl(wfd, F_SETFD, 0) < 0) {
        fprintf(stderr, "ipcx-bench: %s: fcntl: %s\n", m->name, strerror(errno));
        _exit(1);
    }
    snprintf(a_state, sizeof a_state, "%d", sp[0]);
    snprintf(a_rfd, sizeof a_rfd, "%d", rfd);
    snprintf(a_wfd, sizeof a_wfd, "%d", wfd);
    execl("/proc/self/exe", "ipcx-bench", "--cell-child", a_state, a_rfd, a_wfd, (char *)NULL);
    fprintf(stderr, "ipcx-bench: %s: exec /proc/self/exe: %s\n", m->name, strerror(errno));
    _exit(1);
}

/* The re-executed child (ipcx-bench --cell-child STATEFD RFD WFD); never returns. */
static void cell_fresh_child(char **argv)
{
    struct fresh_state st;
    const struct mech *m;
    const struct workload *w;
    int sfd = atoi(argv[2]), rfd = atoi(argv[3]), wfd = atoi(argv[4]);
    size_t got = 0;
    while (got < sizeof st) {
        ssize_t n = read(sfd, (char *)&st + got, sizeof st - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(sfd);
    st.mech[sizeof st.mech - 1] = st.workload[sizeof st.workload - 1] = '\0';
    m = got == sizeof st ? mech_find(st.mech) : NULL;
    w = m != NULL ? wl_find(st.workload) : NULL;
    if (w == NULL) {
        fprintf(stderr, "ipcx-bench --cell-child: bad cell state\n");
        _exit(1);
    }
    if (st.many.role != MECH_TWO_PARTY) {
        struct wl_many_shared *sh =
            mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED, st.many.shared_fd, 0);
        close(st.many.shared_fd);
        if (sh == MAP_FAILED || st.many.producers < 1 || st.many.consumers < 1 ||
            st.many.producers > WL_MANY_MAX_PRODUCERS ||
            st.many.consumers > WL_MANY_MAX_CONSUMERS) {
            fprintf(stderr, "ipcx-bench --cell-child: bad many-party state\n");
            _exit(1);
        }
        many_child(m, &st.params, &st.setup, &st.many, sh, rfd, wfd, 1);
    }
    cell_child(m, w, &st.params, &st.setup, rfd, wfd, st.pin, 1);
}

/* The parent's calls into a mechanism in a two-party cell, each run by cell_step. */
enum { STEP_OPEN, STEP_CONNECT, STEP_WORKLOAD };

struct cell_step {
    int step;
    const struct mech *m;
    const struct workload *w;
    const struct wl_params *p;
    const struct mech_setup *s;
    struct mech_ep *ep;
    void *tx, *rx;
    struct wl_result *r; /* STEP_WORKLOAD: the figures, and the parent's CPU time */
    int escaped;         /* cell_step left the call by siglongjmp: its state is abandoned */
};

static int cell_step_call(struct cell_step *c)
{
    double cpu0;
    int rc;
    switch (c->step) {
    case STEP_OPEN:
        return c->m->open(c->s, c->ep);
    case STEP_CONNECT:
        return c->m->connect ? c->m->connect(c->s, c->ep) : 0;
    default:
        cpu0 = cpu_now_ns();
        rc = c->w->parent(c->m, c->ep, c->p, c->tx, c->rx, c->r);
        c->r->cpu_ns = cpu_now_ns() - cpu0;
        return rc;
    }
}

/*
 * Runs one of the parent's calls into a mechanism so that a stop can end it
 * (stop_handler): its code, or -ECANCELED when the run was already stopping
 * or the handler had to jump out of the call (then c->escaped is set, and
 * the call's state must not be touched again: the caller skips close, not
 * teardown). The call itself is never timed from here.
 */
static int cell_step(struct cell_step *volatile c)
{
    sigset_t old;
    int rc;
    if (sigsetjmp(stop_escape, 1) != 0) {
        c->escaped = 1;
        alarm(STOP_CLEANUP_S);
        return -ECANCELED;
    }
    in_mech = 1;
    rc = stop_signo ? -ECANCELED : cell_step_call(c);
    stop_block(&old);
    in_mech = 0;
    if (stop_signo)
        alarm(STOP_CLEANUP_S); /* the grace deadline is over: now the cleanup's */
    stop_unblock(&old);
    return rc;
}

/*
 * Runs one cell; returns 0 and fills *r, or a negative code with the step
 * that failed in *failed_stage (a static string), saying why on stderr the
 * first time *quiet (a per-mechanism failure count) sees one (not when the
 * run is being stopped).
 */
static int cell_run(const struct mech *m, const struct workload *w, const struct wl_params *p,
                    unsigned cell_id, int pin, struct wl_result *r, unsigned *quiet,
                    const char **failed_stage)
{
    struct mech_setup s;
    struct mech_ep ep;
    struct ctl_msg msg, ok = {0, 0, 0, 0.0};
    struct cell_step step;
    sigset_t old;
    int p2c[2] = {-1, -1}, c2p[2] = {-1, -1}, rc, opened = 0, status;
    const char *stage = "setup";
    void *tx = alloc_msg(p->msg_size), *rx = alloc_msg(p->msg_size);
    pid_t pid;

    memset(r, 0, sizeof *r);
    memset(&s, 0, sizeof s);
    memset(&ep, 0, sizeof ep);
    s.msg_size = p->msg_size;
    s.cell_id = cell_id;
    s.run_sizes = opt->sizes;
    s.run_nsizes = opt->nsizes;
    ep.side = SIDE_PARENT;
    ep.msg_size = p->msg_size;
    if (tx == NULL || rx == NULL) {
        free(tx);
        free(rx);
        *failed_stage = stage;
        return -ENOMEM;
    }
    if (pipe2(p2c, O_CLOEXEC) < 0 || pipe2(c2p, O_CLOEXEC) < 0) {
        rc = -errno;
        goto out_pipes;
    }
    rc = m->setup(&s);
    if (rc < 0)
        goto out_pipes;
    fflush(NULL);
    /* The child's pid is where the handler finds it before any stop can be handled. */
    stop_block(&old);
    pid = stop_signo ? -1 : fork();
    if (pid < 0) {
        rc = stop_signo ? -ECANCELED : -errno;
        stop_unblock(&old);
        if (m->teardown)
            m->teardown(&s);
        goto out_pipes;
    }
    if (pid == 0) {
        fork_child_signals(&old);
        close(p2c[1]);
        close(c2p[0]);
        if (m->flags & MECH_F_FRESH_CHILD)
            cell_exec_child(m, w, p, &s, p2c[0], c2p[1], pin, NULL);
        cell_child(m, w, p, &s, p2c[0], c2p[1], pin, 0);
    }
    watchdog_child = pid;
    stop_unblock(&old);
    close(p2c[0]);
    close(c2p[1]);
    p2c[0] = c2p[1] = -1;
    watchdog_arm(p->count ? 300u : (unsigned)(10.0 + 5.0 * (p->duration_s + p->warmup_s)));

    stage = "open";
    memset(&step, 0, sizeof step);
    step.m = m;
    step.w = w;
    step.p = p;
    step.s = &s;
    step.ep = &ep;
    step.tx = tx;
    step.rx = rx;
    step.r = r;
    step.step = STEP_OPEN;
    rc = cell_step(&step);
    opened = rc == 0;
    if (ctl_read(c2p[0], &msg) < 0)
        msg.rc = -EPIPE;
    if (rc == 0 && msg.rc < 0) {
        rc = msg.rc;
        stage = "open (child)";
    }
    if (placement->pinned && msg.cpu != CPU_CHILD)
        placement->child_moved++;
    if (placement->child_cpu_first < 0)
        placement->child_cpu_first = msg.cpu;
    if (rc == 0 && ctl_write(p2c[1], &ok) == 0) {
        stage = "connect";
        step.step = STEP_CONNECT;
        rc = cell_step(&step);
        if (ctl_read(c2p[0], &msg) < 0)
            msg.rc = -EPIPE;
        if (rc == 0 && msg.rc < 0) {
            rc = msg.rc;
            stage = "connect (child)";
        }
        if (rc == 0 && ctl_write(p2c[1], &ok) == 0) {
            stage = w->name;
            step.step = STEP_WORKLOAD;
            rc = cell_step(&step);
            if (rc < 0)
                kill(pid, SIGKILL); /* it may wait forever for what will not come */
            if (ctl_read(c2p[0], &msg) < 0)
                msg.rc = -EPIPE;
            if (rc == 0 && msg.rc < 0) {
                rc = msg.rc;
                stage = "child's side of the workload";
            }
            r->errors += msg.errors;
            r->cpu_ns += msg.cpu_ns;
            (void)ctl_write(p2c[1], &ok); /* the child may close now */
        }
    }
    if (rc < 0)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    watchdog_disarm();
    if (opened && !step.escaped)
        m->close(&ep);
    if (m->teardown)
        m->teardown(&s);
out_pipes:
    *failed_stage = stage;
    if (rc < 0 && !stop_signo && (*quiet)++ == 0)
        fprintf(stderr, "ipcx-bench: %s, %zu B, %s: %s failed: %s (%s)%s\n", m->name, p->msg_size,
                w->name, stage, ipcx_strerror(rc), ipcx_errname(rc),
                " [later failures of this mechanism are counted, not shown]");
    for (int i = 0; i < 2; i++) {
        if (p2c[i] >= 0)
            close(p2c[i]);
        if (c2p[i] >= 0)
            close(c2p[i]);
    }
    free(tx);
    free(rx);
    return rc;
}

/* --- many-party cells ------------------------------------------------------------- */

/* The parent's side of one party. */
struct many_party {
    pid_t pid;
    int to, from;        /* control pipes: the parent writes to, reads from */
    struct many_msg msg; /* the last message it sent */
};

static uint32_t many_bit(unsigned i)
{
    return UINT32_C(1) << i;
}

/*
 * The cpu party (consumer or producer, index) is pinned to, or -1: producers
 * round robin over the lower half of the cpus, consumers over the upper half,
 * so that on two cpus every producer shares cpu 0 and every consumer cpu 1, as
 * in a two-party stream, and no spinning consumer takes a producer's cpu.
 */
static int many_cpu(int pin, int consumer, unsigned index)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned half;
    if (!pin || ncpu < 2)
        return -1;
    if (ncpu > CPU_SETSIZE)
        ncpu = CPU_SETSIZE;
    half = (unsigned)ncpu / 2;
    return consumer ? (int)(half + index % ((unsigned)ncpu - half)) : (int)(index % half);
}

/* The placement of many-party cells, as the reports say it (once per run). */
static void many_note_placement(int pin)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    struct res_many_placement *mpl = &run.many;
    char prod[32], cons[32];
    if (mpl->used)
        return;
    mpl->used = 1;
    mpl->pinned = pin && ncpu >= 2;
    if (!mpl->pinned) {
        snprintf(mpl->how, sizeof mpl->how,
                 "producers and consumers unpinned (%s), placed by the scheduler",
                 placement->why[0] ? placement->why : "pinning off");
        return;
    }
    int lo = many_cpu(1, 0, 0), mid = many_cpu(1, 1, 0);
    int hi = (int)(ncpu > CPU_SETSIZE ? CPU_SETSIZE : ncpu) - 1;
    if (mid - 1 > lo)
        snprintf(prod, sizeof prod, "cpus %d-%d", lo, mid - 1);
    else
        snprintf(prod, sizeof prod, "cpu %d", lo);
    if (hi > mid)
        snprintf(cons, sizeof cons, "cpus %d-%d", mid, hi);
    else
        snprintf(cons, sizeof cons, "cpu %d", mid);
    snprintf(mpl->how, sizeof mpl->how,
             "producers pinned to %s, consumers to %s, round robin (cpus %d and %d: %s); the "
             "parent only coordinates, on cpu %d",
             prod, cons, lo, mid, topo_relation(lo, mid), CPU_PARENT);
}

/* Tells every party in mask the same command; 0 or -EPIPE. */
static int many_tell(struct many_party *pt, uint32_t mask, int op)
{
    struct many_msg cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.op = op;
    for (unsigned i = 0; i < MANY_MAX; i++)
        if ((mask & many_bit(i)) && many_write(pt[i].to, &cmd) < 0)
            return -EPIPE;
    return 0;
}

/*
 * Waits for the next message from any party in mask, at most timeout_ns (< 0:
 * for ever); stores it in pt[*who].msg. 0, -ETIMEDOUT, or -EPIPE when a party
 * has gone (its pipe closed). Whether the message says the party failed is
 * the caller's to check.
 */
static int many_next(struct many_party *pt, uint32_t mask, int64_t timeout_ns, unsigned *who)
{
    struct pollfd fds[MANY_MAX];
    unsigned idx[MANY_MAX], n = 0;
    struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
    int rc;
    for (unsigned i = 0; i < MANY_MAX; i++)
        if (mask & many_bit(i)) {
            fds[n].fd = pt[i].from;
            fds[n].events = POLLIN;
            idx[n++] = i;
        }
    do
        rc = ppoll(fds, n, timeout_ns < 0 ? NULL : &ts, NULL);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    if (rc == 0)
        return -ETIMEDOUT;
    for (unsigned k = 0; k < n; k++)
        if (fds[k].revents) {
            *who = idx[k];
            /* A party writes a whole message at once (at most PIPE_BUF: atomic). */
            return many_read(pt[idx[k]].from, &pt[idx[k]].msg);
        }
    return -EIO;
}

/* Waits until every party in mask has reported once; the first failure ends it. */
static int many_gather(struct many_party *pt, uint32_t mask)
{
    while (mask) {
        unsigned who = 0;
        int rc = many_next(pt, mask, -1, &who);
        if (rc == 0 && pt[who].msg.rc < 0)
            rc = pt[who].msg.rc;
        if (rc < 0)
            return rc;
        mask &= ~many_bit(who);
    }
    return 0;
}

/*
 * The producers' part: each reports when it has sent its last data message
 * (its report goes to prod[]). A consumer that speaks meanwhile has failed.
 */
static int many_await_producers(struct many_party *pt, unsigned nc, uint32_t producers,
                                uint32_t consumers, struct wl_many_report *prod)
{
    while (producers) {
        unsigned who = 0;
        int rc = many_next(pt, producers | consumers, -1, &who);
        if (rc == 0 && pt[who].msg.rc < 0)
            rc = pt[who].msg.rc;
        if (rc == 0 && !(producers & many_bit(who)))
            rc = -EPROTO; /* a consumer stopped before any end marker was sent */
        if (rc < 0)
            return rc;
        producers &= ~many_bit(who);
        prod[who - nc] = pt[who].msg.rep;
    }
    return 0;
}

/*
 * The drain: waits until the consumers' published counts add up to every
 * data message sent, and returns that instant in *t_end (a look every
 * MANY_POLL_NS or so: the span errs long by at most that, so the rates low).
 */
static int many_drain(struct many_party *pt, unsigned nc, uint32_t consumers,
                      struct wl_many_shared *sh, uint64_t sent, uint64_t *t_end)
{
    for (;;) {
        uint64_t got = 0;
        unsigned who = 0;
        for (unsigned c = 0; c < nc; c++)
            got += atomic_load_explicit(&sh->cons[c].consumed, memory_order_relaxed);
        if (got >= sent) { /* more than sent: duplicates, which the tallies will show */
            *t_end = wl_now_ns();
            return 0;
        }
        int rc = many_next(pt, consumers, MANY_POLL_NS, &who);
        if (rc == -ETIMEDOUT)
            continue;
        if (rc == 0)
            rc = pt[who].msg.rc < 0 ? pt[who].msg.rc : -EPROTO;
        return rc;
    }
}

/*
 * Stops the consumers, every data message having been consumed: waves of end
 * markers, one per consumer still running, each wave sent by the next
 * producer, until every consumer has taken one and reported (into cons[]).
 * Wave w waits MANY_WAVE_NS << min(w, 6) after its markers are sent before the next.
 */
static int many_stop(struct many_party *pt, unsigned np, unsigned nc, struct wl_many_report *cons)
{
    uint32_t running = (UINT32_C(1) << nc) - 1;
    for (unsigned wave = 0; running; wave++) {
        unsigned k = nc + wave % np, who = 0, n = 0;
        struct many_msg cmd;
        int awaiting = 1, rc;
        uint64_t until = 0;
        if (wave == MANY_MAX_WAVES)
            return -ETIMEDOUT;
        for (unsigned c = 0; c < nc; c++)
            n += (running & many_bit(c)) != 0;
        memset(&cmd, 0, sizeof cmd);
        cmd.op = MANY_MARKERS;
        cmd.n = n;
        if (many_write(pt[k].to, &cmd) < 0)
            return -EPIPE;
        while (awaiting || (running && wl_now_ns() < until)) {
            int64_t left = awaiting ? -1 : (int64_t)(until - wl_now_ns());
            if (!awaiting && left < 0)
                left = 0;
            rc = many_next(pt, running | (awaiting ? many_bit(k) : 0), left, &who);
            if (rc == -ETIMEDOUT)
                break;
            if (rc == 0 && pt[who].msg.rc < 0)
                rc = pt[who].msg.rc;
            if (rc < 0)
                return rc;
            if (who == k && awaiting) {
                awaiting = 0;
                /* Doubling waits (20 ms, 40 ms, ... 1.28 s): a consumer kept off its cpu
                 * costs a few extra markers, not one every 20 ms that a small queue
                 * (raw-mq holds 8) could not hold. */
                until = wl_now_ns() + (MANY_WAVE_NS << (wave < 6 ? wave : 6));
            } else if (who < nc) {
                cons[who] = pt[who].msg.rep;
                running &= ~many_bit(who);
            } else {
                return -EPROTO;
            }
        }
    }
    return 0;
}

/*
 * Runs one many-party cell (w->producers != 0): forks every consumer, then
 * every producer, and coordinates them (the design: workload.h). Returns as
 * cell_run does.
 */
static int many_cell_run(const struct mech *m, const struct workload *w, const struct wl_params *p,
                         unsigned cell_id, int pin, struct wl_result *r, unsigned *quiet,
                         const char **failed_stage)
{
    struct mech_setup s;
    struct many_party pt[MANY_MAX];
    struct wl_many mp;
    struct wl_many_report prod[WL_MANY_MAX_PRODUCERS], cons[WL_MANY_MAX_CONSUMERS];
    struct wl_many_shared *sh = MAP_FAILED;
    unsigned np, nc, n, forked = 0;
    uint32_t consumers, producers;
    uint64_t sent = 0, t_end = 0;
    int shfd = -1, rc = 0, set_up = 0, status;
    const char *stage = "setup";

    wl_many_shape(w, opt->producers, opt->consumers, &np, &nc);
    n = np + nc;
    consumers = (UINT32_C(1) << nc) - 1;
    producers = ((UINT32_C(1) << n) - 1) & ~consumers;
    memset(r, 0, sizeof *r);
    memset(&s, 0, sizeof s);
    memset(&mp, 0, sizeof mp);
    memset(prod, 0, sizeof prod);
    memset(cons, 0, sizeof cons);
    for (unsigned i = 0; i < MANY_MAX; i++) {
        pt[i].pid = -1;
        pt[i].to = pt[i].from = -1;
    }
    s.msg_size = p->msg_size;
    s.cell_id = cell_id;
    s.run_sizes = opt->sizes;
    s.run_nsizes = opt->nsizes;
    s.producers = mp.producers = np;
    s.consumers = mp.consumers = nc;
    many_note_placement(pin);

    /* The consumers' counters: a memfd, so that a re-executed party can map it too. */
    shfd = memfd_create("ipcx-bench-many", MFD_CLOEXEC);
    if (shfd < 0 || ftruncate(shfd, sizeof *sh) < 0 ||
        (sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED, shfd, 0)) == MAP_FAILED) {
        rc = -errno;
        goto out;
    }
    rc = m->many_setup ? m->many_setup(&s) : 0;
    if (rc < 0)
        goto out;
    set_up = 1;
    stage = "fork";
    fflush(NULL);
    for (unsigned i = 0; i < n; i++) {
        sigset_t old;
        struct many_place pl = {i < nc ? MECH_CONSUMER : MECH_PRODUCER,
                                i < nc ? i : i - nc,
                                np,
                                nc,
                                many_cpu(pin, i < nc, i < nc ? i : i - nc),
                                shfd};
        int to[2], from[2];
        pid_t pid;
        if (pipe2(to, O_CLOEXEC) < 0) {
            rc = -errno;
            goto out;
        }
        if (pipe2(from, O_CLOEXEC) < 0) {
            rc = -errno;
            close(to[0]);
            close(to[1]);
            goto out;
        }
        /* Each party's pid is where the handler finds it before any stop can be handled. */
        stop_block(&old);
        pid = stop_signo ? -1 : fork();
        if (pid < 0) {
            rc = stop_signo ? -ECANCELED : -errno;
            stop_unblock(&old);
            close(to[0]);
            close(to[1]);
            close(from[0]);
            close(from[1]);
            goto out;
        }
        if (pid == 0) {
            fork_child_signals(&old);
            close(to[1]);
            close(from[0]);
            for (unsigned j = 0; j < i; j++) { /* the other parties' pipes are not its own */
                close(pt[j].to);
                close(pt[j].from);
            }
            if (m->flags & MECH_F_FRESH_CHILD)
                cell_exec_child(m, w, p, &s, to[0], from[1], pl.cpu >= 0, &pl);
            many_child(m, p, &s, &pl, sh, to[0], from[1], 0);
        }
        watchdog_many[i] = pid;
        watchdog_nmany = (sig_atomic_t)(i + 1);
        stop_unblock(&old);
        close(to[0]);
        close(from[1]);
        pt[i].pid = pid;
        pt[i].to = to[1];
        pt[i].from = from[0];
        forked = i + 1;
    }
    watchdog_arm(p->count ? 300u : (unsigned)(10.0 + 5.0 * (p->duration_s + p->warmup_s)));

    stage = "open";
    rc = many_gather(pt, consumers | producers);
    for (unsigned i = 0; rc == 0 && i < n; i++)
        if (run.many.pinned && pt[i].msg.cpu != many_cpu(1, i < nc, i < nc ? i : i - nc))
            run.many.moved++;
    if (rc == 0) {
        stage = "connect";
        rc = many_tell(pt, consumers | producers, MANY_OK);
        if (rc == 0)
            rc = many_gather(pt, consumers | producers);
    }
    if (rc == 0) {
        struct many_msg go;
        stage = w->name;
        memset(&go, 0, sizeof go);
        go.op = MANY_GO;
        go.t_start = mp.t_start = wl_now_ns() + (uint64_t)(p->warmup_s * 1e9);
        go.t_stop = mp.t_stop = mp.t_start + (uint64_t)(p->duration_s * 1e9);
        for (unsigned i = 0; rc == 0 && i < n; i++)
            rc = many_write(pt[i].to, &go) < 0 ? -EPIPE : 0;
        if (rc == 0)
            rc = many_await_producers(pt, nc, producers, consumers, prod);
    }
    if (rc == 0) {
        stage = "drain (consumers)";
        for (unsigned k = 0; k < np; k++)
            sent += prod[k].sent;
        rc = many_drain(pt, nc, consumers, sh, sent, &t_end);
    }
    if (rc == 0) {
        stage = "end markers";
        rc = many_stop(pt, np, nc, cons);
    }
    if (rc == 0) {
        stage = "finish (producers)";
        rc = many_tell(pt, producers, MANY_FINISH);
        if (rc == 0)
            rc = many_gather(pt, producers);
        for (unsigned k = 0; rc == 0 && k < np; k++)
            prod[k] = pt[nc + k].msg.rep;
    }
    if (rc == 0)
        rc = many_tell(pt, consumers | producers, MANY_CLOSE);
out:
    for (unsigned i = 0; i < forked; i++) {
        if (rc < 0)
            kill(pt[i].pid, SIGKILL);
        while (waitpid(pt[i].pid, &status, 0) < 0 && errno == EINTR)
            ;
        close(pt[i].to);
        close(pt[i].from);
    }
    watchdog_disarm();
    if (set_up && m->many_teardown)
        m->many_teardown(&s);
    if (sh != MAP_FAILED)
        munmap(sh, sizeof *sh);
    if (shfd >= 0)
        close(shfd);
    if (rc == 0)
        wl_many_result(p, &mp, prod, cons, t_end, r);
    *failed_stage = stage;
    if (rc < 0 && !stop_signo && (*quiet)++ == 0)
        fprintf(stderr, "ipcx-bench: %s, %zu B, %s (%u x %u): %s failed: %s (%s)%s\n", m->name,
                p->msg_size, w->name, np, nc, stage, ipcx_strerror(rc), ipcx_errname(rc),
                " [later failures of this mechanism are counted, not shown]");
    return rc;
}

/* --- skipped mechanisms ------------------------------------------------------------ */

/*
 * Asks the mechanism whether a cell of this size and pattern can run: 0 if
 * it can. Otherwise records the reason in the run, sets *skip to its index in
 * run.skips (-1 if the table was full), prints it the first time it is seen
 * (one line per mechanism and reason, not per cell) and returns 1.
 */
static int cell_skip(const struct mech *m, const struct workload *w, size_t msg_size, int progress,
                     int *skip)
{
    struct mech_setup probe;
    const char *why = NULL;
    int is_new;
    memset(&probe, 0, sizeof probe);
    probe.msg_size = msg_size;
    probe.run_sizes = opt->sizes;
    probe.run_nsizes = opt->nsizes;
    if (w->producers && m->many_open == NULL && m->many_unavailable == NULL) {
        /* What the build lacks comes first; never start a daemon for a cell that cannot run. */
        why = m->unavailable != NULL ? m->unavailable(NULL) : NULL;
        if (why == NULL)
            why = "no many-to-one mailbox in its bench table (many_open, bench/mech.h)";
    } else {
        if (m->unavailable != NULL)
            why = m->unavailable(&probe);
        if (why == NULL && w->producers) {
            wl_many_shape(w, opt->producers, opt->consumers, &probe.producers, &probe.consumers);
            if (m->many_unavailable != NULL)
                why = m->many_unavailable(&probe);
            if (why == NULL && m->many_open == NULL)
                why = "no many-to-one mailbox in its bench table (many_open, bench/mech.h)";
        }
    }
    if (why == NULL)
        return 0;
    *skip = res_skip_note(&run, m, why, &is_new);
    if (!is_new)
        return 1;
    if (progress)
        fprintf(stderr, "\r%100s\r", ""); /* off the progress bar's line */
    fprintf(report_out, "skipped: %s: %s\n", m->name, why);
    fflush(report_out);
    return 1;
}

/* --- progress ------------------------------------------------------------------------ */

/*
 * On a terminal (stderr), one bar redrawn in place: cells done, the round, the
 * cell running and the time left, estimated from the time so far. Elsewhere (a
 * log, CI), one plain line per finished round. Never on the report's stream.
 */
static const char *fmt_size(char *buf, size_t cap, size_t v);

struct progress {
    int tty;
    size_t total;
    size_t done;
    double start;
};

static double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_cell(struct progress *pg, unsigned round, const char *mech, size_t size,
                          const char *pattern)
{
    if (!pg->tty)
        return;
    enum { WIDTH = 24 };
    char bar[WIDTH + 1], sz[24];
    size_t fill = pg->total ? pg->done * WIDTH / pg->total : 0;
    for (size_t i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[WIDTH] = '\0';
    double spent = progress_now() - pg->start;
    double left = pg->done ? spent * (double)(pg->total - pg->done) / (double)pg->done : 0;
    fprintf(stderr, "\r[%s] %zu/%zu  round %u/%u  %-16.16s %6s %-8s  %3.0f s left ", bar, pg->done,
            pg->total, round + 1, opt->rounds, mech, fmt_size(sz, sizeof sz, size), pattern, left);
    fflush(stderr);
}

static void progress_round(const struct progress *pg, unsigned round)
{
    if (!pg->tty)
        fprintf(stderr, "ipcx-bench: round %u/%u done: %zu/%zu cells, %.0f s\n", round + 1,
                opt->rounds, pg->done, pg->total, progress_now() - pg->start);
}

static void progress_clear(const struct progress *pg)
{
    if (pg->tty)
        fprintf(stderr, "\r%100s\r", "");
}

/*
 * Ends a stopped run once the cell it interrupted has been torn down: no
 * report (the --json and --csv files stay empty), exit status 128 + the
 * signal, or 2 after a hang. exit() runs the atexit handlers (iceoryx: the
 * RouDi this run started), under a last deadline.
 */
static void stop_exit(const struct progress *pg)
{
    int sig = stop_signo;
    alarm(STOP_EXIT_S);
    progress_clear(pg);
    if (sig == SIGALRM)
        fprintf(stderr,
                "ipcx-bench: the hung cell (%s)'s processes were killed and its teardown run; no "
                "report\n",
                stop_cell[0] ? stop_cell : "none");
    else
        fprintf(stderr,
                "ipcx-bench: interrupted by %s: the running cell's (%s) processes were killed and "
                "its teardown run; no report\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM", stop_cell[0] ? stop_cell : "none");
    exit(stop_status());
}

/* --- the report -------------------------------------------------------------------- */

static const char *fmt_size(char *buf, size_t cap, size_t v)
{
    if (v >= (1u << 20) && v % (1u << 20) == 0)
        snprintf(buf, cap, "%zuM", v >> 20);
    else if (v >= 1024 && v % 1024 == 0)
        snprintf(buf, cap, "%zuK", v >> 10);
    else
        snprintf(buf, cap, "%zu", v);
    return buf;
}

/* A value with the precision the eye needs; "-" for NaN. */
static const char *fmt_num(char *buf, size_t cap, double v, double scale)
{
    if (isnan(v)) {
        snprintf(buf, cap, "-");
        return buf;
    }
    v /= scale;
    if (v >= 1e6)
        snprintf(buf, cap, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, cap, "%.1fk", v / 1e3);
    else if (v >= 100)
        snprintf(buf, cap, "%.0f", v);
    else if (v >= 10)
        snprintf(buf, cap, "%.1f", v);
    else
        snprintf(buf, cap, "%.2f", v);
    return buf;
}

static const char *fmt_ratio(char *buf, size_t cap, double v)
{
    if (isnan(v))
        snprintf(buf, cap, "-");
    else
        snprintf(buf, cap, "%.3f", v);
    return buf;
}

static const char *fmt_range(char *buf, size_t cap, struct res_spread sp, double scale, int ratio)
{
    char a[24], b[24];
    if (sp.n == 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    if (ratio)
        snprintf(buf, cap, "%s-%s", fmt_ratio(a, sizeof a, sp.min), fmt_ratio(b, sizeof b, sp.max));
    else
        snprintf(buf, cap, "%s-%s", fmt_num(a, sizeof a, sp.min, scale),
                 fmt_num(b, sizeof b, sp.max, scale));
    return buf;
}

/* A report row for a (mechanism, size) that never ran: its reason was printed when first met. */
static int print_if_skipped(int nw, size_t mi, size_t si)
{
    char b[32];
    if (!res_all_skipped(&run, mi, si, -1))
        return 0;
    fprintf(report_out, "%-*s %6s   skipped (see the skipped: line above)\n", nw,
            opt->mechs[mi]->name, fmt_size(b, sizeof b, opt->sizes[si]));
    return 1;
}

static void print_report(void)
{
    int nw = name_width(opt->mechs, opt->nmechs);
    int wp = res_wl_index(&run, &wl_pingpong), ws = res_wl_index(&run, &wl_stream);
    char b[8][64];

    if (wp < 0 && ws < 0)
        return; /* neither ran: the other patterns have tables of their own */
    fprintf(report_out,
            "\nMedians across %u rounds. Latency is one way (round trip / 2) in microseconds;\n"
            "MB/s is 10^6 payload bytes per second. lat/raw = p50 / the baseline's p50 and\n"
            "tput/raw = msgs/s / the baseline's msgs/s (the baseline: the raw mechanism or\n"
            "floor --list names), each the median of per-round ratios.\n\n",
            opt->rounds);
    fprintf(report_out, "%-*s %6s %9s %9s %9s %11s %10s %9s %9s\n", nw, "mechanism", "size",
            "p50 us", "p90 us", "p99 us", "msgs/s", "MB/s", "lat/raw", "tput/raw");
    for (size_t si = 0; si < opt->nsizes; si++) {
        for (size_t mi = 0; mi < opt->nmechs; mi++) {
            if (print_if_skipped(nw, mi, si))
                continue;
            fprintf(report_out, "%-*s %6s %9s %9s %9s %11s %10s %9s %9s\n", nw,
                    opt->mechs[mi]->name, fmt_size(b[0], sizeof b[0], opt->sizes[si]),
                    fmt_num(b[1], sizeof b[1], res_spread_of(&run, mi, si, wp, RES_P50).med, 1e3),
                    fmt_num(b[2], sizeof b[2], res_spread_of(&run, mi, si, wp, RES_P90).med, 1e3),
                    fmt_num(b[3], sizeof b[3], res_spread_of(&run, mi, si, wp, RES_P99).med, 1e3),
                    fmt_num(b[4], sizeof b[4], res_spread_of(&run, mi, si, ws, RES_MSGS).med, 1.0),
                    fmt_num(b[5], sizeof b[5], res_spread_of(&run, mi, si, ws, RES_BYTES).med, 1e6),
                    fmt_ratio(b[6], sizeof b[6], res_ratio_of(&run, mi, si, wp, RES_P50).med),
                    fmt_ratio(b[7], sizeof b[7], res_ratio_of(&run, mi, si, ws, RES_MSGS).med));
        }
    }

    fprintf(report_out,
            "\nSpread across rounds (min-max of the per-round figures; max us = largest sample "
            "seen).\n\n");
    fprintf(report_out, "%-*s %6s %15s %9s %17s %13s %13s\n", nw, "mechanism", "size", "p50 us",
            "max us", "msgs/s", "lat/raw", "tput/raw");
    for (size_t si = 0; si < opt->nsizes; si++) {
        for (size_t mi = 0; mi < opt->nmechs; mi++) {
            if (print_if_skipped(nw, mi, si))
                continue;
            fprintf(report_out, "%-*s %6s %15s %9s %17s %13s %13s\n", nw, opt->mechs[mi]->name,
                    fmt_size(b[0], sizeof b[0], opt->sizes[si]),
                    fmt_range(b[1], sizeof b[1], res_spread_of(&run, mi, si, wp, RES_P50), 1e3, 0),
                    fmt_num(b[2], sizeof b[2], res_spread_of(&run, mi, si, wp, RES_MAX).max, 1e3),
                    fmt_range(b[3], sizeof b[3], res_spread_of(&run, mi, si, ws, RES_MSGS), 1.0, 0),
                    fmt_range(b[4], sizeof b[4], res_ratio_of(&run, mi, si, wp, RES_P50), 1.0, 1),
                    fmt_range(b[5], sizeof b[5], res_ratio_of(&run, mi, si, ws, RES_MSGS), 1.0, 1));
        }
    }
}

/* The rate pattern, when it ran: latency from each message's due time. */
static void print_rate(void)
{
    int nw = name_width(opt->mechs, opt->nmechs);
    int wr = res_wl_index(&run, &wl_rate);
    char b[7][64];
    if (wr < 0)
        return;
    fprintf(
        report_out,
        "\nFixed rate: %.0f messages/s, each answered; one-way latency = (answer - due time) / 2\n"
        "in microseconds, so waiting for a late answer counts (no coordinated omission);\n"
        "medians across rounds; lat/raw = p50 / the baseline's p50.\n\n",
        opt->rate > 0 ? opt->rate : WL_RATE_DEFAULT);
    fprintf(report_out, "%-*s %6s %9s %9s %9s %9s %9s %9s\n", nw, "mechanism", "size", "p50 us",
            "p90 us", "p99 us", "p99.9 us", "max us", "lat/raw");
    for (size_t si = 0; si < opt->nsizes; si++)
        for (size_t mi = 0; mi < opt->nmechs; mi++) {
            if (print_if_skipped(nw, mi, si))
                continue;
            fprintf(report_out, "%-*s %6s %9s %9s %9s %9s %9s %9s\n", nw, opt->mechs[mi]->name,
                    fmt_size(b[0], sizeof b[0], opt->sizes[si]),
                    fmt_num(b[1], sizeof b[1], res_spread_of(&run, mi, si, wr, RES_P50).med, 1e3),
                    fmt_num(b[2], sizeof b[2], res_spread_of(&run, mi, si, wr, RES_P90).med, 1e3),
                    fmt_num(b[3], sizeof b[3], res_spread_of(&run, mi, si, wr, RES_P99).med, 1e3),
                    fmt_num(b[4], sizeof b[4], res_spread_of(&run, mi, si, wr, RES_P999).med, 1e3),
                    fmt_num(b[5], sizeof b[5], res_spread_of(&run, mi, si, wr, RES_MAX).med, 1e3),
                    fmt_ratio(b[6], sizeof b[6], res_ratio_of(&run, mi, si, wr, RES_P50).med));
        }
}

/*
 * CPU time per message: it does not depend on how busy the machine is the way
 * wall-clock figures do, so it shows what the library adds even on a noisy host.
 */
static void print_cpu(void)
{
    int nw = name_width(opt->mechs, opt->nmechs);
    int wp = res_wl_index(&run, &wl_pingpong), ws = res_wl_index(&run, &wl_stream);
    char b[5][64];

    if (wp < 0 && ws < 0)
        return;
    fprintf(
        report_out,
        "\nCPU time per message moved: user+sys of both processes over the workload (warm-up\n"
        "included) / messages that crossed, in microseconds; median across rounds, and the\n"
        "median per-round ratio to the raw baseline (tick-based accounting: rough per round).\n\n");
    fprintf(report_out, "%-*s %6s %12s %9s %12s %9s\n", nw, "mechanism", "size", "pingpong cpu",
            "cpu/raw", "stream cpu", "cpu/raw");
    for (size_t si = 0; si < opt->nsizes; si++)
        for (size_t mi = 0; mi < opt->nmechs; mi++) {
            if (print_if_skipped(nw, mi, si))
                continue;
            fprintf(report_out, "%-*s %6s %12s %9s %12s %9s\n", nw, opt->mechs[mi]->name,
                    fmt_size(b[0], sizeof b[0], opt->sizes[si]),
                    fmt_num(b[1], sizeof b[1], res_spread_of(&run, mi, si, wp, RES_CPU).med, 1e3),
                    fmt_ratio(b[2], sizeof b[2], res_ratio_of(&run, mi, si, wp, RES_CPU).med),
                    fmt_num(b[3], sizeof b[3], res_spread_of(&run, mi, si, ws, RES_CPU).med, 1e3),
                    fmt_ratio(b[4], sizeof b[4], res_ratio_of(&run, mi, si, ws, RES_CPU).med));
        }
}

/*
 * A many-party pattern's table, when it ran: aggregate rates, their range,
 * CPU per message, fairness (and the consumers' balance for mpmc). The
 * mechanisms skipped for it are named once below (their reasons were printed
 * as the run met them).
 */
static void print_many(const struct workload *w)
{
    int nw = name_width(opt->mechs, opt->nmechs), wi = res_wl_index(&run, w), any_skip = 0;
    unsigned np, nc;
    char b[8][64];
    if (wi < 0)
        return;
    wl_many_shape(w, opt->producers, opt->consumers, &np, &nc);
    fprintf(report_out,
            "\n%s: %u producer process%s -> %u consumer%s through one mailbox%s;\nmedians across "
            "%u rounds. msgs/s, MB/s: every producer's timed messages / (all consumed -\nstart of "
            "the timed part); cpu us: user+sys of every producer and consumer per message\nmoved; "
            "fair: the least producer's timed messages / the most's (1 = even)%s.\n\n",
            w == &wl_fanin ? "Fan-in (fanin)" : "Many-to-many (mpmc)", np, np == 1 ? "" : "es", nc,
            nc == 1 ? "" : "s", nc > 1 ? ", each message to one" : "", opt->rounds,
            nc > 1 ? ";\nbal: the least consumer's messages / the most's" : "");
    fprintf(report_out, "%-*s %6s %11s %10s %17s %8s %5s", nw, "mechanism", "size", "msgs/s",
            "MB/s", "msgs/s range", "cpu us", "fair");
    if (nc > 1)
        fprintf(report_out, " %5s", "bal");
    fprintf(report_out, " %9s\n", "tput/raw");
    for (size_t si = 0; si < opt->nsizes; si++)
        for (size_t mi = 0; mi < opt->nmechs; mi++) {
            struct res_spread fair = res_spread_of(&run, mi, si, wi, RES_FAIR);
            struct res_spread bal = res_spread_of(&run, mi, si, wi, RES_BALANCE);
            if (res_all_skipped(&run, mi, si, wi)) {
                any_skip = 1;
                continue;
            }
            snprintf(b[6], sizeof b[6], "%.2f", fair.med); /* "nan" when not measured */
            snprintf(b[7], sizeof b[7], "%.2f", bal.med);
            if (fair.n == 0)
                snprintf(b[6], sizeof b[6], "-");
            if (bal.n == 0)
                snprintf(b[7], sizeof b[7], "-");
            fprintf(report_out, "%-*s %6s %11s %10s %17s %8s %5s", nw, opt->mechs[mi]->name,
                    fmt_size(b[0], sizeof b[0], opt->sizes[si]),
                    fmt_num(b[1], sizeof b[1], res_spread_of(&run, mi, si, wi, RES_MSGS).med, 1.0),
                    fmt_num(b[2], sizeof b[2], res_spread_of(&run, mi, si, wi, RES_BYTES).med, 1e6),
                    fmt_range(b[3], sizeof b[3], res_spread_of(&run, mi, si, wi, RES_MSGS), 1.0, 0),
                    fmt_num(b[4], sizeof b[4], res_spread_of(&run, mi, si, wi, RES_CPU).med, 1e3),
                    b[6]);
            if (nc > 1)
                fprintf(report_out, " %5s", b[7]);
            fprintf(report_out, " %9s\n",
                    fmt_ratio(b[5], sizeof b[5], res_ratio_of(&run, mi, si, wi, RES_MSGS).med));
        }
    if (!any_skip)
        return;
    fprintf(report_out, "skipped for %s (the skipped: lines say why):", w->name);
    for (size_t mi = 0, col = 48; mi < opt->nmechs; mi++) {
        int all = 1;
        for (size_t si = 0; si < opt->nsizes; si++)
            all &= res_all_skipped(&run, mi, si, wi);
        if (!all)
            continue;
        col += strlen(opt->mechs[mi]->name) + 1;
        if (col > 98) {
            fputs("\n ", report_out);
            col = 1 + strlen(opt->mechs[mi]->name) + 1;
        }
        fprintf(report_out, " %s", opt->mechs[mi]->name);
    }
    fputs("\n", report_out);
    for (size_t mi = 0; mi < opt->nmechs; mi++)
        for (size_t si = 0; si < opt->nsizes; si++) {
            int all = 1;
            for (size_t sj = 0; sj < opt->nsizes; sj++)
                all &= res_all_skipped(&run, mi, sj, wi);
            if (!all && res_all_skipped(&run, mi, si, wi))
                fprintf(report_out, "skipped for %s: %s at %s B\n", w->name, opt->mechs[mi]->name,
                        fmt_size(b[0], sizeof b[0], opt->sizes[si]));
        }
}

static void print_header(int argc, char **argv)
{
    struct utsname u;
    fprintf(report_out, "command:");
    for (int i = 0; i < argc; i++)
        fprintf(report_out, " %s", argv[i]);
    fprintf(report_out, "\nipcx-bench: libipcx %s", ipcx_version());
    if (uname(&u) == 0)
        fprintf(report_out, ", %s %s %s", u.sysname, u.release, u.machine);
    fprintf(report_out, ", %ld cpus online\n", sysconf(_SC_NPROCESSORS_ONLN));
    fprintf(report_out, "run: %zu mechanisms x %zu sizes x %zu patterns, %u rounds, ", opt->nmechs,
            opt->nsizes, opt->nwls, opt->rounds);
    if (opt->count)
        fprintf(report_out, "%llu timed messages per cell\n", (unsigned long long)opt->count);
    else
        fprintf(report_out, "%.3g s timed per cell and round\n", opt->duration_s);
    for (size_t wi = 0; wi < opt->nwls; wi++) {
        unsigned np, nc;
        if (!opt->wls[wi]->producers)
            continue;
        wl_many_shape(opt->wls[wi], opt->producers, opt->consumers, &np, &nc);
        fprintf(report_out, "%s: %u producers -> %u consumer%s\n", opt->wls[wi]->name, np, nc,
                nc == 1 ? "" : "s");
    }
}

static void print_placement(void)
{
    int two_party = 0;
    for (size_t wi = 0; wi < opt->nwls; wi++)
        two_party |= opt->wls[wi]->producers == 0;
    if (run.many.used) { /* wrapped at 100 columns */
        char line[320], *save = NULL;
        size_t col = 0;
        snprintf(line, sizeof line, "placement (fanin, mpmc): %s%s", run.many.how,
                 run.many.moved ? "; WARNING: some parties were not on their cpu" : "");
        for (char *w = strtok_r(line, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save)) {
            if (col > 0 && col + 1 + strlen(w) > 99) {
                fputs("\n ", report_out);
                col = 1;
            }
            col += (size_t)fprintf(report_out, "%s%s", col > 1 ? " " : "", w);
        }
        fputc('\n', report_out);
    }
    if (!two_party)
        return;
    if (placement->pinned)
        fprintf(report_out,
                "placement: parent pinned to cpu %d (ran on %d), child pinned to cpu %d (ran on "
                "%d): %s%s\n",
                CPU_PARENT, placement->parent_cpu, CPU_CHILD, placement->child_cpu_first,
                topo_relation(CPU_PARENT, CPU_CHILD),
                placement->child_moved ? "; WARNING: some children were not on their cpu" : "");
    else
        fprintf(report_out, "placement: unpinned (%s); parent on cpu %d, first child on cpu %d\n",
                placement->why, placement->parent_cpu, placement->child_cpu_first);
}

/*
 * Opens --json / --csv outputs before anything runs, so that a bad path
 * fails at once rather than after the run; "-" is stdout.
 */
static int open_output(const char *path, FILE **f)
{
    *f = NULL;
    if (path == NULL)
        return 0;
    if (strcmp(path, "-") == 0) {
        *f = stdout;
        return 0;
    }
    *f = fopen(path, "we"); /* close-on-exec: fresh children and iox-roudi do not inherit it */
    if (*f == NULL) {
        fprintf(stderr, "ipcx-bench: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes one machine-readable report and closes it; 0, or -1 with the reason on stderr. */
static int write_output(const char *path, FILE *f, int (*writer)(const struct res_run *, FILE *))
{
    int rc;
    if (f == NULL)
        return 0;
    rc = writer(&run, f);
    if (fflush(f) != 0 || ferror(f))
        rc = -1;
    if (f != stdout && fclose(f) != 0)
        rc = -1;
    if (rc < 0)
        fprintf(stderr, "ipcx-bench: writing %s failed: %s\n", path, strerror(errno));
    return rc;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    unsigned cell_id = 0;
    int progress = isatty(2), out_rc = 0;
    unsigned mech_failures[RES_MAX_MECHS] = {0};
    FILE *json = NULL, *csv = NULL;

    if (argc == 5 && strcmp(argv[1], "--cell-child") == 0)
        cell_fresh_child(argv); /* a MECH_F_FRESH_CHILD cell's child half; never returns */
    report_out = stdout;
    if (parse_options(argc, argv, &run.opts) < 0)
        return 2;
    if (open_output(opt->json_path, &json) < 0 || open_output(opt->csv_path, &csv) < 0 ||
        (opt->report_dir != NULL && report_prepare(opt->report_dir) < 0)) {
        if (json != NULL && json != stdout)
            fclose(json);
        return 2;
    }
    if (json == stdout || csv == stdout)
        report_out = stderr;
    run.argc = argc;
    run.argv = argv;
    run.started = time(NULL);
    run.warmup_s = opt->duration_s / 5 < 0.1 ? opt->duration_s / 5 : 0.1;
    if (res_alloc(&run) < 0) {
        fprintf(stderr, "ipcx-bench: out of memory\n");
        return 1;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a dead peer shows as EPIPE, not a dead bench */
    stop_install();

    pin_parent(opt);
    placement->parent_cpu = sched_getcpu();
    print_header(argc, argv);
    fflush(report_out);

    struct progress pg = {progress, (size_t)opt->rounds * opt->nsizes * opt->nwls * opt->nmechs, 0,
                          progress_now()};
    for (unsigned r = 0; r < opt->rounds; r++) {
        for (size_t si = 0; si < opt->nsizes; si++) {
            for (size_t wi = 0; wi < opt->nwls; wi++) {
                for (size_t k = 0; k < opt->nmechs; k++) {
                    /* Alternate the order every round so no mechanism always goes first. */
                    size_t mi = r % 2 ? opt->nmechs - 1 - k : k;
                    const struct mech *m = opt->mechs[mi];
                    struct wl_params p = {opt->sizes[si], opt->duration_s, opt->count, run.warmup_s,
                                          opt->rate};
                    struct res_cell *c = res_cell_at(&run, mi, si, wi, r);
                    if (stop_signo)
                        stop_exit(&pg);
                    progress_cell(&pg, r, m->name, opt->sizes[si], opt->wls[wi]->name);
                    pg.done++;
                    if (cell_skip(m, opt->wls[wi], opt->sizes[si], progress, &c->skip)) {
                        c->status = RES_SKIPPED;
                        run.skipped++;
                        continue;
                    }
                    snprintf(stop_cell, sizeof stop_cell, "%s, %zu B, %s", m->name, opt->sizes[si],
                             opt->wls[wi]->name);
                    c->rc = (opt->wls[wi]->producers ? many_cell_run : cell_run)(
                        m, opt->wls[wi], &p, cell_id++, opt->pin && placement->pinned, &c->res,
                        &mech_failures[mi], &c->stage);
                    if (stop_signo)
                        stop_exit(&pg); /* the cell has been torn down */
                    stop_cell[0] = '\0';
                    if (c->rc < 0) {
                        c->status = RES_FAILED;
                        run.failed++;
                    } else if (c->res.errors) {
                        fprintf(stderr, "ipcx-bench: %s, %zu B, %s: %llu payload checks failed\n",
                                m->name, opt->sizes[si], opt->wls[wi]->name,
                                (unsigned long long)c->res.errors);
                        c->status = RES_BAD;
                        run.bad++;
                    } else {
                        c->status = RES_OK;
                    }
                }
            }
        }
        progress_round(&pg, r);
    }
    if (stop_signo)
        stop_exit(&pg);
    progress_clear(&pg);
    print_placement();
    print_report();
    print_rate();
    print_cpu();
    print_many(&wl_fanin);
    print_many(&wl_mpmc);
    if (run.skipped)
        fprintf(report_out,
                "\n%u cells skipped (the skipped: lines say why); they do not count as failures.\n",
                run.skipped);
    if (run.failed || run.bad)
        fprintf(report_out,
                "\n%u cells failed and %u had bad payloads; they are left out (shown as -).\n",
                run.failed, run.bad);
    fflush(report_out);
    if (write_output(opt->json_path, json, export_json) < 0)
        out_rc = -1;
    if (write_output(opt->csv_path, csv, export_csv) < 0)
        out_rc = -1;
    if (opt->report_dir != NULL) {
        if (report_write(&run, opt->report_dir) < 0)
            out_rc = -1;
        else
            fprintf(report_out, "report: %s/index.html\n", opt->report_dir);
    }
    res_free(&run);
    if (stop_signo) /* while the report was written: it is complete, the status says so */
        return stop_status();
    return run.failed || run.bad || out_rc < 0 ? 1 : 0;
}
