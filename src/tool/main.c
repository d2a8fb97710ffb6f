/*
 * main.c: the `ipcx` command, a thin shell over the public API for sending
 * and receiving messages from scripts and terminals (`ipcx send`, `ipcx recv`,
 * `ipcx unlink`, ...), and the front end of the benchmark engine (`ipcx bench`
 * finds the separate ipcx-bench program and execs it). It parses arguments, turns time and size
 * words into the API's units, maps library codes to exit codes (0 ok, 1 runtime error, 2 usage
 * error, 3 timed out) and prints what the library says. Like bench/ and examples/, it includes only
 * <ipcx.h> and libc: it must never reach into the library's internals, and it must never leave a
 * receiver's socket or FIFO name behind when it stops normally or on SIGINT, SIGTERM or SIGHUP.
 */
#include <ipcx.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Exit codes, documented in `ipcx --help` and docs/cli.md. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_TIMEDOUT = 3 };

/*
 * The longest single wait handed to the library while receiving. The library
 * resumes its waits after a signal, so the receiver waits in slices of this
 * length and checks for a stop request between them: Ctrl-C takes effect
 * within this time.
 */
#define RECV_SLICE (200 * IPCX_MSEC)

#if defined(__GNUC__)
#define TOOL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TOOL_PRINTF(fmt, args)
#endif

/*
 * One subcommand: its name, its entry point, a one-line summary and its usage
 * text (NULL when the command prints its own, as `ipcx bench` does).
 */
struct tool_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *usage;
};

static int cmd_send(int argc, char **argv);
static int cmd_recv(int argc, char **argv);
static int cmd_unlink(int argc, char **argv);
static int cmd_ls(int argc, char **argv);
static int cmd_rm(int argc, char **argv);
static int cmd_bench(int argc, char **argv);
static int cmd_help(int argc, char **argv);

#define TIME_HELP                                                                                  \
    "T is a number with an optional unit: ns, us, ms, s (the default) or m;\n"                     \
    "decimals are allowed (0.5, 1.5ms). 0 tries once; 'inf' or a negative\n"                       \
    "number waits forever.\n"

#define SIZE_HELP "N is a number of bytes with an optional K, M or G suffix (powers of 1024).\n"

#define EXIT_HELP                                                                                  \
    "Exit status:\n"                                                                               \
    "  0  success\n"                                                                               \
    "  1  runtime error (the library's code is printed), or writing output failed\n"               \
    "  2  usage error\n"                                                                           \
    "  3  timed out (or nothing was waiting, with a timeout of 0)\n"

static const char send_usage[] =
    "Usage: ipcx send [OPTIONS] URL [MESSAGE...]\n"
    "\n"
    "Sends each MESSAGE argument as one message to the mailbox at URL. With no\n"
    "MESSAGE, sends each line of standard input, without its newline, as one\n"
    "message. If no receiver is there yet, each send waits for one, up to its\n"
    "timeout.\n"
    "\n"
    "Options:\n"
    "  --timeout T     wait at most T for each message (default: forever)\n"
    "  --max-size N    largest message in bytes (default: 16M)\n"
    "  -h, --help      print this help and exit\n"
    "  --              end of options (for messages that begin with '-')\n"
    "\n" TIME_HELP SIZE_HELP "\n" EXIT_HELP;

static const char recv_usage[] =
    "Usage: ipcx recv [OPTIONS] URL\n"
    "\n"
    "Creates the mailbox at URL, receives messages and writes each to standard\n"
    "output followed by a newline (or a NUL byte with -0), flushing after each.\n"
    "The mailbox's name is removed when ipcx recv exits, including on SIGINT,\n"
    "SIGTERM and SIGHUP; after cleaning up it dies of that signal.\n"
    "\n"
    "Options:\n"
    "  -n, --count COUNT  stop after COUNT messages (default: never)\n"
    "  --timeout T        wait at most T for each message (default: forever)\n"
    "  --max-size N       largest message in bytes (default: 16M)\n"
    "  -0, --null         end each message with a NUL byte, not a newline\n"
    "  -h, --help         print this help and exit\n"
    "\n" TIME_HELP SIZE_HELP "\n" EXIT_HELP;

static const char unlink_usage[] =
    "Usage: ipcx unlink URL\n"
    "\n"
    "Removes the name of the mailbox at URL (a socket or FIFO path), for\n"
    "example one left behind by a receiver that was killed with SIGKILL.\n"
    "Endpoints already open keep working.\n"
    "\n"
    "Options:\n"
    "  -h, --help  print this help and exit\n"
    "\n" EXIT_HELP;

static const char ls_usage[] =
    "Usage: ipcx ls [--stale] [SCHEME]\n"
    "\n"
    "Lists the mailboxes of SCHEME (default: shm) on this machine: name, owner,\n"
    "mode, ring size, largest message, messages waiting, live senders and\n"
    "receivers, and state: live, stale (every process that had it open is gone),\n"
    "incompatible (made by an ipcx with another segment layout) or corrupt (not\n"
    "a mailbox at all, or damaged).\n"
    "\n"
    "Options:\n"
    "  --stale     list only stale mailboxes\n"
    "  -h, --help  print this help and exit\n"
    "\n" EXIT_HELP;

static const char rm_usage[] =
    "Usage: ipcx rm URL...\n"
    "       ipcx rm --stale [SCHEME]\n"
    "\n"
    "Removes mailboxes by URL (as ipcx unlink), or every stale mailbox of\n"
    "SCHEME (default: shm): those no live process holds. Endpoints already\n"
    "open keep working; only the name goes.\n"
    "\n"
    "Options:\n"
    "  --stale     remove every stale mailbox, printing each URL\n"
    "  -h, --help  print this help and exit\n"
    "\n" EXIT_HELP;

static const char help_usage[] = "Usage: ipcx help [COMMAND]\n"
                                 "\n"
                                 "Lists the commands, or prints the usage of COMMAND.\n";

static const struct tool_cmd tool_cmds[] = {
    {"send", cmd_send, "send messages (arguments or lines of stdin) to a mailbox", send_usage},
    {"recv", cmd_recv, "receive messages from a mailbox and print them", recv_usage},
    {"unlink", cmd_unlink, "remove a mailbox's name (socket or FIFO path)", unlink_usage},
    {"ls", cmd_ls, "list shared-memory mailboxes, live and stale", ls_usage},
    {"rm", cmd_rm, "remove mailboxes, or every stale one", rm_usage},
    /* Its usage is the engine's own (ipcx bench --help), so none is kept here. */
    {"bench", cmd_bench, "measure every IPC mechanism on this machine (runs ipcx-bench)", NULL},
    {"help", cmd_help, "list the commands, or show one command's usage", help_usage},
};

#define TOOL_NCMDS (sizeof tool_cmds / sizeof tool_cmds[0])

/* Set by the stop handler, read by the receive loop. */
static volatile sig_atomic_t tool_stop_signal;

static const struct tool_cmd *tool_find(const char *name)
{
    for (size_t i = 0; i < TOOL_NCMDS; i++) {
        if (strcmp(tool_cmds[i].name, name) == 0)
            return &tool_cmds[i];
    }
    return NULL;
}

/* Prints "ipcx: CMD: <message>" and a pointer to the command's help; returns EXIT_USAGE. */
TOOL_PRINTF(2, 3)
static int tool_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "ipcx: %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'ipcx %s --help'.\n", cmd);
    return EXIT_USAGE;
}

/*
 * Reports a library failure as "ipcx: CMD: URL: <description> (<name>)" and
 * returns the exit code it maps to: a passed deadline, or a try-once call
 * that found nothing to do, is EXIT_TIMEDOUT; anything else EXIT_RUNTIME.
 */
static int tool_lib_error(const char *cmd, const char *url, int rc)
{
    fprintf(stderr, "ipcx: %s: %s: %s (%s)\n", cmd, url, ipcx_strerror(rc), ipcx_errname(rc));
    if (rc == IPCX_ETIMEDOUT || rc == IPCX_EAGAIN)
        return EXIT_TIMEDOUT;
    return EXIT_RUNTIME;
}

static int tool_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

/*
 * Matches argv[*i] against an option that takes a value, written as
 * "--long VALUE" or "--long=VALUE", or, when shrt is not NULL, "-x VALUE" or
 * "-xVALUE". Returns 1 and sets *val (advancing *i past a separate value) on
 * a match, 0 if argv[*i] is some other argument, and -1 after printing a
 * usage error if the value is missing.
 */
static int tool_opt_value(const char *cmd, int argc, char **argv, int *i, const char *lng,
                          const char *shrt, const char **val)
{
    const char *arg = argv[*i];
    size_t n = strlen(lng);

    if (strncmp(arg, lng, n) == 0 && arg[n] == '=') {
        *val = arg + n + 1;
        return 1;
    }
    if (shrt != NULL && strncmp(arg, shrt, 2) == 0 && arg[2] != '\0') {
        *val = arg + 2;
        return 1;
    }
    if (strcmp(arg, lng) != 0 && (shrt == NULL || strcmp(arg, shrt) != 0))
        return 0;
    if (*i + 1 >= argc) {
        tool_usage_error(cmd, "option '%s' needs a value", arg);
        return -1;
    }
    *i += 1;
    *val = argv[*i];
    return 1;
}

/*
 * Parses a duration into nanoseconds: a decimal number with an optional unit
 * (ns, us, ms, s, m; seconds when absent). "inf", "infinity", "forever" and
 * negative numbers mean IPCX_FOREVER; 0 means try once; a positive value too
 * small to count in nanoseconds becomes 1 ns, so it never turns into
 * try-once. Returns 0, or -1 if text is not a duration.
 */
static int tool_parse_time(const char *text, int64_t *out)
{
    static const struct {
        const char *suffix;
        double ns;
    } units[] = {
        {"", 1e9}, {"ns", 1.0}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9},
    };
    const char *p = text;
    char *end;
    double v;

    if (strcasecmp(text, "inf") == 0 || strcasecmp(text, "infinity") == 0 ||
        strcasecmp(text, "forever") == 0) {
        *out = IPCX_FOREVER;
        return 0;
    }
    if (*p == '-' || *p == '+')
        p++;
    /* Only plain decimals: no blanks, hex, "nan" or "inf" with a unit. */
    if (!((*p >= '0' && *p <= '9') || (*p == '.' && p[1] >= '0' && p[1] <= '9')) ||
        strpbrk(p, "xX") != NULL)
        return -1;
    errno = 0;
    v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(v))
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcmp(end, units[i].suffix) != 0)
            continue;
        if (v < 0) {
            *out = IPCX_FOREVER;
            return 0;
        }
        v *= units[i].ns;
        /* Beyond about 292 years: refuse rather than wrap. */
        if (!(v < 9.2e18))
            return -1;
        *out = (int64_t)(v + 0.5);
        if (*out == 0 && v > 0)
            *out = 1;
        return 0;
    }
    return -1;
}

/*
 * Parses an unsigned decimal count; with allow_suffix, a trailing K, M or G
 * (either case) multiplies by 1024, 1024^2 or 1024^3. Returns 0, or -1 on
 * anything else, a sign included, or on overflow of max.
 */
static int tool_parse_uint(const char *text, int allow_suffix, unsigned long long max,
                           unsigned long long *out)
{
    unsigned long long v, mult = 1;
    char *end;

    if (!(*text >= '0' && *text <= '9'))
        return -1;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno == ERANGE)
        return -1;
    if (*end != '\0') {
        if (!allow_suffix || end[1] != '\0')
            return -1;
        switch (*end) {
        case 'K':
        case 'k':
            mult = 1ull << 10;
            break;
        case 'M':
        case 'm':
            mult = 1ull << 20;
            break;
        case 'G':
        case 'g':
            mult = 1ull << 30;
            break;
        default:
            return -1;
        }
    }
    if (v > max / mult)
        return -1;
    *out = v * mult;
    return 0;
}

/* The common options of send and recv, parsed by tool_common_opt. */
struct tool_common {
    int64_t timeout; /* per message */
    size_t max_msg;  /* 0 = library default */
};

/*
 * Handles --timeout and --max-size at argv[*i]. Returns 1 if it consumed
 * them, 0 if argv[*i] is something else, -1 after a usage error.
 */
static int tool_common_opt(const char *cmd, int argc, char **argv, int *i, struct tool_common *c)
{
    unsigned long long n;
    const char *val;
    int m;

    m = tool_opt_value(cmd, argc, argv, i, "--timeout", NULL, &val);
    if (m == 1 && tool_parse_time(val, &c->timeout) != 0) {
        tool_usage_error(cmd, "invalid time '%s' (examples: 5, 0.5s, 250ms, inf)", val);
        return -1;
    }
    if (m != 0)
        return m;
    m = tool_opt_value(cmd, argc, argv, i, "--max-size", NULL, &val);
    if (m == 1) {
        if (tool_parse_uint(val, 1, SIZE_MAX, &n) != 0) {
            tool_usage_error(cmd, "invalid size '%s' (examples: 4096, 64K, 16M)", val);
            return -1;
        }
        c->max_msg = (size_t)n;
    }
    return m;
}

/* Sends one message, reporting a failure; returns an exit code. */
static int send_one(ipcx_mailbox *mb, const char *url, const void *buf, size_t len, int64_t timeout)
{
    int rc = ipcx_send(mb, buf, len, timeout);

    return rc < 0 ? tool_lib_error("send", url, rc) : EXIT_OK;
}

/* Sends each line of standard input, without its newline; returns an exit code. */
static int send_lines(ipcx_mailbox *mb, const char *url, int64_t timeout)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int code = EXIT_OK;

    while (code == EXIT_OK && (n = getline(&line, &cap, stdin)) >= 0) {
        if (n > 0 && line[n - 1] == '\n')
            n--;
        code = send_one(mb, url, line, (size_t)n, timeout);
    }
    if (code == EXIT_OK && !feof(stdin)) {
        fprintf(stderr, "ipcx: send: stdin: %s\n", strerror(errno));
        code = EXIT_RUNTIME;
    }
    free(line);
    return code;
}

static int cmd_send(int argc, char **argv)
{
    struct tool_common c = {IPCX_FOREVER, 0};
    ipcx_opts opts = IPCX_OPTS_INIT;
    ipcx_mailbox *mb;
    int npos = 0, code = EXIT_OK, rc, i;

    /*
     * Options may come anywhere before "--"; the other arguments (the URL,
     * then the messages) are packed in order at the front of argv, over
     * slots already read.
     */
    for (i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int m;

        if (tool_is_help(arg)) {
            fputs(send_usage, stdout);
            return EXIT_OK;
        }
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        m = tool_common_opt("send", argc, argv, &i, &c);
        if (m < 0)
            return EXIT_USAGE;
        if (m > 0)
            continue;
        if (arg[0] == '-' && arg[1] != '\0')
            return tool_usage_error("send",
                                    "unknown option '%s' (use -- before a message "
                                    "that begins with '-')",
                                    arg);
        argv[npos++] = argv[i];
    }
    for (; i < argc; i++)
        argv[npos++] = argv[i];
    if (npos == 0)
        return tool_usage_error("send", "missing URL");

    opts.role = IPCX_SEND;
    opts.max_msg = c.max_msg;
    rc = ipcx_open(&mb, argv[0], &opts);
    if (rc < 0)
        return tool_lib_error("send", argv[0], rc);
    if (npos == 1)
        code = send_lines(mb, argv[0], c.timeout);
    for (i = 1; i < npos && code == EXIT_OK; i++)
        code = send_one(mb, argv[0], argv[i], strlen(argv[i]), c.timeout);
    ipcx_close(mb);
    return code;
}

static void recv_on_signal(int sig)
{
    tool_stop_signal = sig;
}

/*
 * Makes SIGINT, SIGTERM and SIGHUP request a stop instead of killing the
 * process. A signal ignored on entry (nohup, a background job of a script)
 * stays ignored, as the one who started us asked.
 */
static void recv_install_handlers(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa, old;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = recv_on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: let blocking calls see the signal */
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

static int64_t recv_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * IPCX_SEC + ts.tv_nsec;
}

/*
 * Receives one message within timeout, in slices of at most RECV_SLICE so a
 * stop request is noticed. Returns what ipcx_recv_alloc returns, or 1 if a
 * stop signal arrived first. A timeout of 0 is a single try-once call.
 */
static int recv_one(ipcx_mailbox *mb, void **bufp, size_t *lenp, int64_t timeout)
{
    int64_t deadline = -1;

    if (timeout == 0)
        return ipcx_recv_alloc(mb, bufp, lenp, IPCX_NOWAIT);
    if (timeout > 0) {
        int64_t now = recv_now();

        if (timeout < INT64_MAX - now)
            deadline = now + timeout;
    }
    for (;;) {
        int64_t slice = RECV_SLICE;
        int rc;

        if (tool_stop_signal != 0)
            return 1;
        if (deadline >= 0) {
            int64_t left = deadline - recv_now();

            if (left <= 0)
                return IPCX_ETIMEDOUT;
            if (left < slice)
                slice = left;
        }
        rc = ipcx_recv_alloc(mb, bufp, lenp, slice);
        if (rc != IPCX_ETIMEDOUT && rc != IPCX_EAGAIN)
            return rc;
    }
}

/* Writes one message and its terminator, then flushes; returns an exit code. */
static int recv_print(const void *buf, size_t len, int term)
{
    if ((len > 0 && fwrite(buf, 1, len, stdout) != len) || putchar(term) == EOF ||
        fflush(stdout) != 0) {
        /* A reader that has gone (`| head -1`) is a normal way to stop: stay quiet. */
        if (errno != EPIPE)
            fprintf(stderr, "ipcx: recv: stdout: %s\n", strerror(errno));
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}

static int cmd_recv(int argc, char **argv)
{
    struct tool_common c = {IPCX_FOREVER, 0};
    ipcx_opts opts = IPCX_OPTS_INIT;
    ipcx_mailbox *mb;
    const char *url = NULL;
    unsigned long long count = 0, got = 0;
    int has_count = 0, term = '\n', code = EXIT_OK, rc, sig;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val;
        int m;

        if (tool_is_help(arg)) {
            fputs(recv_usage, stdout);
            return EXIT_OK;
        }
        if (strcmp(arg, "-0") == 0 || strcmp(arg, "--null") == 0) {
            term = '\0';
            continue;
        }
        m = tool_common_opt("recv", argc, argv, &i, &c);
        if (m < 0)
            return EXIT_USAGE;
        if (m > 0)
            continue;
        m = tool_opt_value("recv", argc, argv, &i, "--count", "-n", &val);
        if (m < 0)
            return EXIT_USAGE;
        if (m > 0) {
            if (tool_parse_uint(val, 0, ULLONG_MAX, &count) != 0)
                return tool_usage_error("recv", "invalid count '%s'", val);
            has_count = 1;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            if (++i == argc)
                break;
            arg = argv[i];
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return tool_usage_error("recv", "unknown option '%s'", arg);
        }
        if (url != NULL)
            return tool_usage_error("recv", "unexpected argument '%s'", arg);
        url = arg;
    }
    if (url == NULL)
        return tool_usage_error("recv", "missing URL");

    opts.role = IPCX_RECV;
    opts.create = IPCX_CREATE;
    opts.flags |= IPCX_F_UNLINK_ON_CLOSE;
    opts.max_msg = c.max_msg;
    recv_install_handlers();
    rc = ipcx_open(&mb, url, &opts);
    if (rc < 0)
        return tool_lib_error("recv", url, rc);

    while (code == EXIT_OK && (!has_count || got < count)) {
        void *buf = NULL;
        size_t len = 0;

        rc = recv_one(mb, &buf, &len, c.timeout);
        if (rc == 1)
            break;
        if (rc < 0) {
            code = tool_lib_error("recv", url, rc);
            break;
        }
        code = recv_print(buf, len, term);
        ipcx_free(buf);
        got++;
    }
    ipcx_close(mb);

    /* Stopped by a signal: now that the name is gone, die of it, as the shell expects. */
    sig = tool_stop_signal;
    if (sig != 0) {
        signal(sig, SIG_DFL);
        raise(sig);
        return 128 + sig;
    }
    return code;
}

static int cmd_unlink(int argc, char **argv)
{
    const char *url = NULL;
    int rc;

    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];

        if (tool_is_help(arg)) {
            fputs(unlink_usage, stdout);
            return EXIT_OK;
        }
        if (strcmp(arg, "--") == 0) {
            if (++i == argc)
                break;
            arg = argv[i];
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return tool_usage_error("unlink", "unknown option '%s'", arg);
        }
        if (url != NULL)
            return tool_usage_error("unlink", "unexpected argument '%s'", arg);
        url = arg;
    }
    if (url == NULL)
        return tool_usage_error("unlink", "missing URL");
    rc = ipcx_unlink(url);
    return rc < 0 ? tool_lib_error("unlink", url, rc) : EXIT_OK;
}

/* "1M", "64K", "512": a byte count the way ls shows it. */
static void ls_size(char *buf, size_t cap, uint64_t v)
{
    static const char units[] = "KMGT";
    int u = -1;
    while (v >= 1024 && v % 1024 == 0 && u < 3) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, cap, "%llu", (unsigned long long)v);
    else
        snprintf(buf, cap, "%llu%c", (unsigned long long)v, units[u]);
}

struct ls_ctx {
    int width;      /* of the MAILBOX column: the longest URL listed */
    int only_stale; /* ls --stale, rm --stale */
    int remove;     /* rm: unlink each instead of printing it */
    int shown;
    int failed;
};

static int ls_one(const ipcx_mailbox_info *m, void *arg)
{
    struct ls_ctx *c = arg;
    if (c->only_stale && !m->stale)
        return 0;
    if (c->remove) {
        /* --stale: listed stale, removed only if still stale (ipcx_unlink_stale decides in
         * one step with any process opening it); one gone or opened since is skipped. */
        int rc = c->only_stale ? ipcx_unlink_stale(m->url) : ipcx_unlink(m->url);
        if (c->only_stale && (rc == IPCX_ENOENT || rc == IPCX_EBUSY))
            return 0;
        if (rc < 0) {
            fprintf(stderr, "ipcx rm: %s: %s\n", m->url, ipcx_strerror(rc));
            c->failed++;
        } else {
            printf("%s\n", m->url);
        }
        return 0;
    }
    if (c->shown++ == 0)
        printf("%-*s %6s %4s %6s %6s %8s %5s %5s  %s\n", c->width, "MAILBOX", "UID", "MODE", "RING",
               "MAX", "WAITING", "SEND", "RECV", "STATE");
    const char *state = m->state == IPCX_EVERSION ? "incompatible"
                        : m->state                ? "corrupt"
                        : m->stale                ? "stale"
                                                  : "live";
    char ring[24] = "-", max[24] = "-", waiting[24] = "-";
    if (m->state == 0) {
        ls_size(ring, sizeof ring, m->buffer_size);
        ls_size(max, sizeof max, m->max_msg);
        snprintf(waiting, sizeof waiting, "%llu", (unsigned long long)m->msgs_waiting);
    }
    printf("%-*s %6u %04o %6s %6s %8s %5u %5u  %s%s\n", c->width, m->url, m->owner_uid, m->mode,
           ring, max, waiting, m->senders, m->receivers, state,
           m->state == 0 && (m->flags & IPCX_F_SPSC) ? " spsc" : "");
    return 0;
}

/* First pass of ls: how wide the MAILBOX column must be. */
static int ls_width(const ipcx_mailbox_info *m, void *arg)
{
    struct ls_ctx *c = arg;
    int n = (int)strlen(m->url);
    if ((!c->only_stale || m->stale) && n > c->width)
        c->width = n;
    return 0;
}

/* Shared by ls and rm: [--stale] [SCHEME] and, for rm, URLs. scheme holds 32 bytes. */
static int ls_args(const char *cmd, const char *usage, int argc, char **argv, struct ls_ctx *c,
                   char *scheme, const char **urls, int *nurls)
{
    *nurls = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *sep = strstr(arg, "://");
        size_t n = strcspn(arg, ":");
        if (tool_is_help(arg)) {
            fputs(usage, stdout);
            return 1;
        }
        if (strcmp(arg, "--stale") == 0) {
            c->only_stale = 1;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return tool_usage_error(cmd, "unknown option '%s'", arg);
        } else if (urls && sep && sep[3] != '\0') {
            if (*nurls >= 64)
                return tool_usage_error(cmd, "too many URLs at once (64 at most)");
            urls[(*nurls)++] = arg;
        } else if (n > 0 && n < 32 && (arg[n] == '\0' || strcmp(arg + n, "://") == 0)) {
            memcpy(scheme, arg, n);
            scheme[n] = '\0';
        } else {
            return tool_usage_error(cmd, "unexpected argument '%s'", arg);
        }
    }
    return 0;
}

static int cmd_ls(int argc, char **argv)
{
    struct ls_ctx c = {0};
    char scheme[32] = "shm";
    int nurls, rc = ls_args("ls", ls_usage, argc, argv, &c, scheme, NULL, &nurls);
    if (rc != 0)
        return rc == 1 ? EXIT_OK : rc;
    c.width = 7; /* "MAILBOX" */
    rc = ipcx_list(scheme, ls_width, &c);
    if (rc == 0)
        rc = ipcx_list(scheme, ls_one, &c);
    return rc < 0 ? tool_lib_error("ls", scheme, rc) : EXIT_OK;
}

static int cmd_rm(int argc, char **argv)
{
    struct ls_ctx c = {0};
    char scheme[32] = "shm";
    const char *urls[64];
    int nurls, rc = ls_args("rm", rm_usage, argc, argv, &c, scheme, urls, &nurls);
    if (rc != 0)
        return rc == 1 ? EXIT_OK : rc;
    if (c.only_stale == (nurls > 0))
        return tool_usage_error("rm", c.only_stale ? "give URLs or --stale, not both"
                                                   : "missing URL (or --stale)");
    if (c.only_stale) {
        c.remove = 1;
        rc = ipcx_list(scheme, ls_one, &c);
        if (rc < 0)
            return tool_lib_error("rm", scheme, rc);
    }
    for (int i = 0; i < nurls; i++) {
        rc = ipcx_unlink(urls[i]);
        if (rc < 0) {
            tool_lib_error("rm", urls[i], rc);
            c.failed++;
        }
    }
    return c.failed ? EXIT_RUNTIME : EXIT_OK;
}

/* --- ipcx bench ------------------------------------------------------------------- */

/*
 * Where an installed ipcx-bench lives, set by CMake: the libexec directory
 * relative to the directory of the installed `ipcx` (so a relocated install,
 * `cmake --install --prefix`, still finds it) and as the configured absolute
 * path. The fallbacks are GNU defaults for a build without CMake's values.
 */
#ifndef IPCX_BENCH_FROM_BINDIR
#define IPCX_BENCH_FROM_BINDIR "../libexec/ipcx/ipcx-bench"
#endif
#ifndef IPCX_BENCH_LIBEXEC
#define IPCX_BENCH_LIBEXEC "/usr/local/libexec/ipcx/ipcx-bench"
#endif

/* A place ipcx-bench may be, and how to say so. */
struct bench_where {
    char path[PATH_MAX];
    const char *what;
};

/* Whether path is an executable regular file. */
static int bench_is_exec(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/*
 * Fills the places to look, in order: next to the running ipcx (a build
 * tree), the install's libexec directory relative to it, then the configured
 * libexec directory. Returns how many.
 */
static int bench_candidates(struct bench_where w[3])
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    int n = 0;

    if (len > 0) {
        char *slash;
        self[len] = '\0';
        slash = strrchr(self, '/');
        if (slash != NULL) {
            *slash = '\0';
            if (snprintf(w[n].path, sizeof w[n].path, "%s/ipcx-bench", self) <
                (int)sizeof w[n].path)
                w[n++].what = "next to ipcx";
            if (snprintf(w[n].path, sizeof w[n].path, "%s/%s", self, IPCX_BENCH_FROM_BINDIR) <
                (int)sizeof w[n].path)
                w[n++].what = "in the libexec directory of ipcx's install";
        }
    }
    snprintf(w[n].path, sizeof w[n].path, "%s", IPCX_BENCH_LIBEXEC);
    w[n++].what = "in the configured libexec directory";
    return n;
}

/*
 * Runs the benchmark engine: execs ipcx-bench with this command's arguments,
 * so its exit status and output are the engine's. With -h or --help among
 * the arguments, first says which ipcx-bench it runs. Returns only on
 * failure: EXIT_RUNTIME when there is no engine or it cannot be run.
 */
static int cmd_bench(int argc, char **argv)
{
    struct bench_where w[3];
    char shown[PATH_MAX];
    char **args;
    int n = bench_candidates(w), found = -1, help = 0;
    struct sigaction sa;

    for (int i = 0; i < n && found < 0; i++)
        if (bench_is_exec(w[i].path))
            found = i;
    if (found < 0) {
        fprintf(stderr, "ipcx: bench: the benchmark engine, ipcx-bench, was not found; looked:\n");
        for (int i = 0; i < n; i++)
            fprintf(stderr, "  %s (%s)\n", w[i].path, w[i].what);
        fprintf(stderr, "It is built with the library (CMake option IPCX_BUILD_BENCH, on by "
                        "default)\nand installed with it; see docs/bench.md.\n");
        return EXIT_RUNTIME;
    }
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        help |= tool_is_help(argv[i]);
    if (help) {
        printf("ipcx bench runs %s (found %s) with the same arguments:\n\n",
               realpath(w[found].path, shown) != NULL ? shown : w[found].path, w[found].what);
        fflush(stdout);
    }

    /* argv[argc] is NULL, so the engine gets this command's arguments and the terminator. */
    args = calloc((size_t)argc + 1, sizeof *args);
    if (args == NULL) {
        fprintf(stderr, "ipcx: bench: out of memory\n");
        return EXIT_RUNTIME;
    }
    args[0] = w[found].path;
    for (int i = 1; i < argc; i++)
        args[i] = argv[i];
    /* main() ignores SIGPIPE for its own commands; the engine gets the default back. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    execv(w[found].path, args);
    fprintf(stderr, "ipcx: bench: cannot run %s: %s\n", w[found].path, strerror(errno));
    free(args);
    return EXIT_RUNTIME;
}

/* Prints the overview: synopsis, the command table, URL forms and exit codes. */
static void tool_print_overview(FILE *f)
{
    fputs("Usage: ipcx COMMAND [OPTIONS] [ARGS...]\n"
          "       ipcx --version | --help\n"
          "\n"
          "Sends and receives messages over Linux IPC through libipcx, and measures\n"
          "every IPC mechanism on this machine (ipcx bench).\n"
          "\n"
          "Commands:\n",
          f);
    for (size_t i = 0; i < TOOL_NCMDS; i++)
        fprintf(f, "  %-8s %s\n", tool_cmds[i].name, tool_cmds[i].summary);
    fputs("\n"
          "URLs: unix:///abs/path, unix://@abstract, fifo:///abs/path,\n"
          "      tcp://host:port, tcp://[::1]:port\n"
          "\n" EXIT_HELP "\n"
          "Run 'ipcx COMMAND --help' for a command's options.\n",
          f);
}

static int cmd_help(int argc, char **argv)
{
    const struct tool_cmd *cmd;

    if (argc < 2) {
        tool_print_overview(stdout);
        return EXIT_OK;
    }
    if (tool_is_help(argv[1])) {
        fputs(help_usage, stdout);
        return EXIT_OK;
    }
    cmd = tool_find(argv[1]);
    if (cmd == NULL)
        return tool_usage_error("help", "unknown command '%s'", argv[1]);
    if (cmd->usage == NULL) {
        /* A command whose usage is another program's (bench): ask it. */
        static char help_arg[] = "--help";
        char *args[] = {argv[1], help_arg, NULL};
        return cmd->run(2, args);
    }
    fputs(cmd->usage, stdout);
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    const struct tool_cmd *cmd;
    struct sigaction sa;

    /* A gone peer or reader must come back as an error code, not kill us mid-cleanup. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);

    if (argc < 2) {
        tool_print_overview(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ipcx %s\n", ipcx_version());
        return EXIT_OK;
    }
    if (tool_is_help(argv[1])) {
        tool_print_overview(stdout);
        return EXIT_OK;
    }
    cmd = tool_find(argv[1]);
    if (cmd == NULL) {
        fprintf(stderr, "ipcx: unknown command '%s'\nTry 'ipcx --help'.\n", argv[1]);
        return EXIT_USAGE;
    }
    return cmd->run(argc - 1, argv + 1);
}
