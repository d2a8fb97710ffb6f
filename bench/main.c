/*
 * main.c: the runner of ipcx-bench. It parses the command line, pins the two
 * processes one per core, runs every selected (mechanism, size, pattern) cell
 * once per round with the mechanisms interleaved, and prints medians across
 * rounds, their spread, and library/raw ratios measured in the same run. Each
 * cell is a fresh fork (re-executed for mechanisms that ask, MECH_F_FRESH_CHILD):
 * setup before fork, open/connect with barriers over a control pipe, the timed
 * workload, teardown. A mechanism that cannot run (a peer library not built,
 * its daemon not started) is skipped with its reason, printed once. The control
 * pipe only carries barriers and results, never anything that is timed. It
 * must never contain a mechanism's or a workload's own code (see mech_*.c and
 * workload.c).
 */
#include <ipcx.h>

#include "export.h"
#include "hotpath.h"
#include "mech.h"
#include "report.h"
#include "results.h"
#include "stats.h"
#include "workload.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SIZE ((size_t)256 << 20)

/* What one process tells the other over the control pipe at each barrier. */
struct ctl_msg {
    int rc;          /* 0 or a negative code */
    int cpu;         /* where the child runs (first barrier) */
    uint64_t errors; /* payload checks that failed in the child (last barrier) */
    double cpu_ns;   /* the child's user+sys time over its workload (last barrier) */
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

static volatile pid_t watchdog_child = 0;

/* --- small helpers ------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ipcx-bench [--mechanisms LIST] [--sizes LIST] [--pattern P] [--rate N]\n"
            "                  [--rounds N] [--duration SECONDS] [--count N] [--quick] [--no-pin]\n"
            "                  [--json FILE] [--csv FILE] [--report DIR] [--list]\n"
            "  --mechanisms LIST  comma-separated names, or all (default: all; --list shows them)\n"
            "  --sizes LIST       message sizes in bytes, K/M suffixes allowed (default: "
            "64,4096,65536)\n"
            "  --pattern P        pingpong, stream, rate, or all (default: pingpong and stream)\n"
            "  --rate N           rate pattern: messages per second (default: 1000)\n"
            "  --rounds N         rounds; each runs every cell once, mechanisms interleaved "
            "(default: 3)\n"
            "  --duration S       timed seconds per cell and round (default: 0.12)\n"
            "  --count N          time N round trips / messages per cell instead of a duration\n"
            "  --quick            tiny run: 3 rounds of 0.01 s per cell (under 10 s in all)\n"
            "  --no-pin           do not pin the processes to cpus %d and %d\n"
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
            if (strcmp(optarg, "all") == 0) {
                o->nwls = 0;
                for (size_t i = 0; wl_table[i] != NULL && o->nwls < RES_MAX_WLS; i++)
                    o->wls[o->nwls++] = wl_table[i];
            } else if (wl_find(optarg) != NULL) {
                o->nwls = 1;
                o->wls[0] = wl_find(optarg);
            } else {
                fprintf(stderr, "ipcx-bench: unknown pattern '%s'\n", optarg);
                return -1;
            }
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

static void watchdog_fire(int sig)
{
    static const char msg[] = "ipcx-bench: a cell hung past its time limit; giving up\n";
    (void)sig;
    if (watchdog_child > 0)
        kill(watchdog_child, SIGKILL);
    (void)!write(2, msg, sizeof msg - 1);
    _exit(2);
}

/* Moves one whole control message over a pipe, either way (EINTR resumed). */
static int ctl_io(int fd, struct ctl_msg *m, int writing)
{
    char *p = (char *)m;
    size_t left = sizeof *m;
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
    return ctl_io(fd, &copy, 1);
}

static int ctl_read(int fd, struct ctl_msg *m)
{
    return ctl_io(fd, m, 0);
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
 * MECH_F_FRESH_CHILD: instead of running the child half in this fork, run it
 * in a fresh ipcx-bench (exec of /proc/self/exe --cell-child STATEFD RFD WFD),
 * handing it the cell's state through a pipe. Never returns.
 */
static void cell_exec_child(const struct mech *m, const struct workload *w,
                            const struct wl_params *p, const struct mech_setup *s, int rfd, int wfd,
                            int pin)
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
    cell_child(m, w, &st.params, &st.setup, rfd, wfd, st.pin, 1);
}

/*
 * Runs one cell; returns 0 and fills *r, or a negative code with the step
 * that failed in *failed_stage (a static string), saying why on stderr the
 * first time *quiet (a per-mechanism failure count) sees one.
 */
static int cell_run(const struct mech *m, const struct workload *w, const struct wl_params *p,
                    unsigned cell_id, int pin, struct wl_result *r, unsigned *quiet,
                    const char **failed_stage)
{
    struct mech_setup s;
    struct mech_ep ep;
    struct ctl_msg msg, ok = {0, 0, 0, 0.0};
    double cpu0;
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
    pid = fork();
    if (pid < 0) {
        rc = -errno;
        if (m->teardown)
            m->teardown(&s);
        goto out_pipes;
    }
    if (pid == 0) {
        close(p2c[1]);
        close(c2p[0]);
        if (m->flags & MECH_F_FRESH_CHILD)
            cell_exec_child(m, w, p, &s, p2c[0], c2p[1], pin);
        cell_child(m, w, p, &s, p2c[0], c2p[1], pin, 0);
    }
    close(p2c[0]);
    close(c2p[1]);
    p2c[0] = c2p[1] = -1;
    watchdog_child = pid;
    alarm(p->count ? 300u : (unsigned)(10.0 + 5.0 * (p->duration_s + p->warmup_s)));

    stage = "open";
    rc = m->open(&s, &ep);
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
        rc = m->connect ? m->connect(&s, &ep) : 0;
        if (ctl_read(c2p[0], &msg) < 0)
            msg.rc = -EPIPE;
        if (rc == 0 && msg.rc < 0) {
            rc = msg.rc;
            stage = "connect (child)";
        }
        if (rc == 0 && ctl_write(p2c[1], &ok) == 0) {
            stage = w->name;
            cpu0 = cpu_now_ns();
            rc = w->parent(m, &ep, p, tx, rx, r);
            r->cpu_ns = cpu_now_ns() - cpu0;
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
    alarm(0);
    watchdog_child = 0;
    if (opened)
        m->close(&ep);
    if (m->teardown)
        m->teardown(&s);
out_pipes:
    *failed_stage = stage;
    if (rc < 0 && (*quiet)++ == 0)
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

/* --- skipped mechanisms ------------------------------------------------------------ */

/*
 * Asks the mechanism whether a cell of this size can run: 0 if it can.
 * Otherwise records the reason in the run, sets *skip to its index in
 * run.skips (-1 if the table was full), prints it the first time it is seen
 * (one line per mechanism and reason, not per cell) and returns 1.
 */
static int cell_skip(const struct mech *m, size_t msg_size, int progress, int *skip)
{
    struct mech_setup probe;
    const char *why;
    int is_new;
    if (m->unavailable == NULL)
        return 0;
    memset(&probe, 0, sizeof probe);
    probe.msg_size = msg_size;
    probe.run_sizes = opt->sizes;
    probe.run_nsizes = opt->nsizes;
    why = m->unavailable(&probe);
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
}

static void print_placement(void)
{
    if (placement->pinned)
        fprintf(report_out,
                "placement: parent pinned to cpu %d (ran on %d), child pinned to cpu %d (ran on "
                "%d)%s\n",
                CPU_PARENT, placement->parent_cpu, CPU_CHILD, placement->child_cpu_first,
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
    sa.sa_handler = watchdog_fire;
    sigaction(SIGALRM, &sa, NULL);

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
                    progress_cell(&pg, r, m->name, opt->sizes[si], opt->wls[wi]->name);
                    pg.done++;
                    if (cell_skip(m, opt->sizes[si], progress, &c->skip)) {
                        c->status = RES_SKIPPED;
                        run.skipped++;
                        continue;
                    }
                    c->rc = cell_run(m, opt->wls[wi], &p, cell_id++, opt->pin && placement->pinned,
                                     &c->res, &mech_failures[mi], &c->stage);
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
    progress_clear(&pg);
    print_placement();
    print_report();
    print_rate();
    print_cpu();
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
    return run.failed || run.bad || out_rc < 0 ? 1 : 0;
}
