/*
 * alloc.c: allocation with a failure-injection hook for tests. The hook is
 * one atomic counter, so it costs one relaxed load per allocation when off.
 */
#include "os/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown;

void ipcx__alloc_fail_at(long nth)
{
    atomic_store(&fail_countdown, nth);
}

long ipcx__alloc_fail_left(void)
{
    return atomic_load(&fail_countdown);
}

/* 1 if this allocation must fail. */
static int alloc_should_fail(void)
{
    long c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&fail_countdown, &c, c - 1))
            return c == 1;
    }
    return 0;
}

void *ipcx__malloc(size_t n)
{
    return alloc_should_fail() ? NULL : malloc(n);
}

void *ipcx__calloc(size_t n, size_t size)
{
    return alloc_should_fail() ? NULL : calloc(n, size);
}

void *ipcx__realloc(void *p, size_t n)
{
    return alloc_should_fail() ? NULL : realloc(p, n);
}

char *ipcx__strdup(const char *s)
{
    return alloc_should_fail() ? NULL : strdup(s);
}
