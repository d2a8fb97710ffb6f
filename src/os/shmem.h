/*
 * shmem.h: the system calls of the shared-memory engine: POSIX and anonymous
 * segments, mappings, futexes, open-file-description locks (which the kernel
 * drops when their holder dies, so they tell who is alive) and the datagram
 * doorbell behind a shm endpoint's pollfd. Every function returns 0 (or a
 * count, or a descriptor) or -errno, retries EINTR where that is right, and
 * never changes process-wide state.
 */
#ifndef IPCX_OS_SHMEM_H
#define IPCX_OS_SHMEM_H

#include <stddef.h>
#include <stdint.h>

#include "os/os.h"

/* POSIX shared memory object "/<name>": create (exclusively) with mode, or open existing. */
int ipcx__shm_create(const char *name, unsigned mode);
int ipcx__shm_attach(const char *name, int writable);
int ipcx__shm_unlink(const char *name);
/* Calls fn with the name of every POSIX shm object whose name starts with prefix,
 * until fn returns non-zero (returned). */
int ipcx__shm_each(const char *prefix, int (*fn)(const char *name, void *arg), void *arg);
/* An anonymous shared file (memfd) for segments that have no name (pairs). */
int ipcx__memfd_create(const char *tag);

/* A new open file description of the file fd refers to (through /proc/self/fd). */
int ipcx__fd_reopen(int fd);

/* Size of an open file and its identity (device, inode). */
int ipcx__fd_stat(int fd, uint64_t *size, uint64_t *dev, uint64_t *ino, unsigned *uid,
                  unsigned *mode);
/* Identity of a named shm object without opening it (for "is this still the same segment"). */
int ipcx__shm_stat(const char *name, uint64_t *dev, uint64_t *ino);
int ipcx__fd_truncate(int fd, uint64_t size);
/* Maps size bytes of fd shared (read-write or read-only); *pp on success. */
int ipcx__map(int fd, size_t size, int writable, void **pp);
void ipcx__unmap(void *p, size_t size);

/*
 * Sleeps while *word == val, until woken or dl (CLOCK_MONOTONIC) passes; the
 * word is shared between processes. Returns 0 (woken, or the value differed,
 * or a signal: the caller re-checks), IPCX_ETIMEDOUT, or -errno.
 */
int ipcx__futex_wait(uint32_t *word, uint32_t val, ipcx__deadline dl);
/* The same, for a sleeper that a wake-up may name: ipcx__futex_wake_some with
 * bits sharing a bit with these wakes it, as ipcx__futex_wake does (nonzero). */
int ipcx__futex_wait_bits(uint32_t *word, uint32_t val, ipcx__deadline dl, uint32_t bits);
/* Wakes up to n sleepers on word. */
void ipcx__futex_wake(uint32_t *word, int n);
/* Wakes up to n sleepers on word whose bits share one with these. */
void ipcx__futex_wake_some(uint32_t *word, int n, uint32_t bits);

/*
 * Open-file-description byte locks: held per open description, released by
 * the kernel when the last descriptor of it closes (so when its process
 * dies). lock: try once (never blocks), exclusive or shared; 0 or
 * IPCX_EAGAIN. held: 1 if some other description holds a lock on the byte.
 */
int ipcx__ofd_lock(int fd, uint64_t byte, int exclusive);
void ipcx__ofd_unlock(int fd, uint64_t byte);
int ipcx__ofd_held(int fd, uint64_t byte);

/*
 * The doorbell: a datagram socket bound to an abstract UNIX name that a
 * process can ring without sharing a descriptor. open binds name (a string
 * without the leading NUL) and returns a non-blocking fd; ring sends one
 * byte to name from fd (any datagram socket; a full bell already rings, so
 * EAGAIN is success); drain reads every pending datagram.
 */
int ipcx__bell_open(const char *name);
int ipcx__bell_sender(void);
void ipcx__bell_ring(int fd, const char *name);
void ipcx__bell_drain(int fd);

/* This process's id and effective user id. */
unsigned ipcx__self_pid(void);
unsigned ipcx__self_uid(void);
/* 1 if process pid exists (signal 0), else 0. Only for display: liveness is the OFD locks' job. */
int ipcx__pid_alive(unsigned pid);

/* CPU hint inside a spin loop. */
static inline void ipcx__cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
