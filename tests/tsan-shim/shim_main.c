/* shim_main.c (ipcx TSan shim: see tests/tsan-shim/README.md): runs
 * every registered test, and every parameter of a parameterized one, in its own child process,
 * in order; exits 1 if any failed. A child exits through exit() so TSan's report status counts. */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define SHIM_SKIPPED 77

static struct shim_test *shim_tests;
static int shim_failed_expect;

void shim_register_(struct shim_test *t)
{
    struct shim_test **pp = &shim_tests;
    while (*pp)
        pp = &(*pp)->next;
    *pp = t;
}

void shim_check_(int fatal, int ok, const char *file, int line, const char *expr, const char *fmt,
                 ...)
{
    if (ok)
        return;
    fprintf(stderr, "%s:%d: %s failed: %s", file, line, fatal ? "assertion" : "expectation", expr);
    if (fmt && fmt[0]) {
        va_list ap;
        va_start(ap, fmt);
        fputs(": ", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    if (fatal) {
        fflush(NULL);
        exit(1);
    }
    shim_failed_expect = 1;
}

void shim_log_(const char *level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "[%s] ", level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void shim_skip_(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("skipped: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    fflush(NULL);
    exit(SHIM_SKIPPED);
}

/* Runs one test (one parameter) in a child; returns 0 pass, 1 fail, 2 skipped. */
static int shim_run_one(const struct shim_test *t, void *param, size_t index)
{
    char label[256];
    if (t->pfn)
        snprintf(label, sizeof label, "%s::%s[%zu]", t->suite, t->name, index);
    else
        snprintf(label, sizeof label, "%s::%s", t->suite, t->name);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        double scale = 3.0; /* TSan is several times slower than a plain build */
        const char *env = getenv("IPCX_SHIM_TIMEOUT_SCALE");
        if (env && atof(env) > 0)
            scale = atof(env);
        if (t->opts.timeout > 0)
            alarm((unsigned)(t->opts.timeout * scale) + 1);
        if (t->opts.init)
            t->opts.init();
        if (t->pfn)
            t->pfn(param);
        else
            t->fn();
        if (t->opts.fini)
            t->opts.fini();
        fflush(NULL);
        exit(shim_failed_expect ? 1 : 0);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        ;
    int result;
    if (WIFEXITED(st) && WEXITSTATUS(st) == SHIM_SKIPPED) {
        result = 2;
    } else if (t->opts.signal) {
        result = !(WIFSIGNALED(st) && WTERMSIG(st) == t->opts.signal);
    } else if (WIFEXITED(st)) {
        result = WEXITSTATUS(st) != t->opts.exit_code;
    } else {
        result = 1;
    }
    if (result == 1 && WIFSIGNALED(st))
        fprintf(stderr, "[FAIL] %s: killed by signal %d%s\n", label, WTERMSIG(st),
                WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
    else if (result == 1)
        fprintf(stderr, "[FAIL] %s: exit status %d\n", label, WEXITSTATUS(st));
    else
        fprintf(stderr, "[%s] %s\n", result == 2 ? "SKIP" : "PASS", label);
    return result;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
    }
    int ran = 0, failed = 0, skipped = 0;
    for (struct shim_test *t = shim_tests; t; t = t->next) {
        char full[256];
        snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
        if (filter && !strstr(full, filter))
            continue;
        if (t->opts.disabled) {
            skipped++;
            continue;
        }
        if (t->pfn) {
            struct criterion_test_params p = t->params();
            for (size_t i = 0; i < p.length; i++) {
                int r = shim_run_one(t, (char *)p.params + i * p.size, i);
                ran++;
                failed += r == 1;
                skipped += r == 2;
            }
        } else {
            int r = shim_run_one(t, NULL, 0);
            ran++;
            failed += r == 1;
            skipped += r == 2;
        }
    }
    fprintf(stderr,
            "[====] Synthesis (TSan shim): Tested: %d | Passing: %d | Failing: %d | "
            "Skipped: %d\n",
            ran, ran - failed - skipped, failed, skipped);
    return failed ? 1 : 0;
}
