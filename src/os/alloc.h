/*
 * alloc.h: the library's allocator entry points. They are malloc and friends
 * plus a debug hook that makes the Nth allocation from now fail, so that a
 * test can walk every allocation of an operation and check that each failure
 * is reported cleanly and leaks nothing.
 */
#ifndef IPCX_ALLOC_H
#define IPCX_ALLOC_H

#include <stddef.h>

void *ipcx__malloc(size_t n);
void *ipcx__calloc(size_t n, size_t size);
void *ipcx__realloc(void *p, size_t n);
char *ipcx__strdup(const char *s);

/* Makes the nth allocation from now fail (1 = the next one); 0 turns the hook off. */
void ipcx__alloc_fail_at(long nth);
/* Allocations left before the planned failure; 0 once it happened (or when off). */
long ipcx__alloc_fail_left(void);

#endif
