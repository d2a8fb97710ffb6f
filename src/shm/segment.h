/*
 * segment.h: a shared-memory mailbox's segment seen from one endpoint: the
 * mapping, the geometry validated and copied at attach, and the endpoint's
 * registry slot. The backing store is a POSIX shm object today; a System V
 * or file-backed store only has to provide a descriptor that OFD locks and
 * mmap accept, so it plugs in below shm_seg_open without touching the ring.
 */
#ifndef IPCX_SHM_SEGMENT_H
#define IPCX_SHM_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "shm/layout.h"

/* What a creator asks for (attachers take what the segment says). */
struct shm_geom {
    uint64_t ring_size; /* 0 = default; rounded up to a power of two */
    uint64_t max_msg;
    unsigned flags; /* SHM_F_* */
    unsigned mode;
};

struct shm_seg {
    int fd;
    size_t map_size;
    struct shm_hdr *hdr; /* shared: read fields through the checks in ring.c */
    unsigned char *ring; /* shared */
    uint64_t ring_size;  /* private copies of the validated geometry */
    uint64_t mask;
    uint64_t key;
    uint64_t key_commit; /* key | SHM_ST_COMMIT, precomputed for the fast paths */
    uint64_t small_max;  /* the last offset where any record of up to 64 payload bytes fits */
    uint64_t nonce;
    uint64_t max_msg;
    uint64_t chunk_max; /* largest payload of one record */
    unsigned flags;
    int slot;           /* this endpoint's registry slot */
    uint32_t id;        /* lock owner id: slot and generation */
    int created;        /* this endpoint created the segment */
    unsigned owner_pid; /* the process that opened it (not a fork()ed child) */
    char name[256];
};

/*
 * Opens (creating per `create`, IPCX_ATTACH/CREATE/CREATE_EXCL) the segment
 * named name, validates it, and claims a registry slot for an endpoint of
 * role. Errors: IPCX_ENOENT, IPCX_EEXIST, IPCX_EACCES, IPCX_ECORRUPT (not an
 * ipcx segment, or a layout this build does not know), IPCX_EBUSY (no free
 * slot, or an SPSC mailbox already has an endpoint of that role), IPCX_EINVAL.
 */
int shm_seg_open(struct shm_seg *s, const char *name, const struct shm_geom *want, unsigned create,
                 unsigned role);

/*
 * Two endpoints on one new anonymous segment (memfd), for ipcx_pair: a with
 * role_a, b with role_b, each with its own open file description so that
 * their kernel locks stay distinct after fork().
 */
int shm_seg_pair(struct shm_seg *a, struct shm_seg *b, const struct shm_geom *g, unsigned role_a,
                 unsigned role_b);

/* 1 if some other live endpoint holds a slot with one of role's bits (a system call per slot). */
int shm_seg_peer_alive(const struct shm_seg *s, unsigned role);

/* 1 in the process that opened the endpoint, 0 in a child that inherited it by fork(). */
int shm_seg_owned(const struct shm_seg *s);

/* Releases the slot, unmaps, closes; removes the name if the segment asks for
 * that and this was its last endpoint. Never blocks. */
void shm_seg_close(struct shm_seg *s);

/* What `ipcx ls` shows of a mailbox, read without joining it. */
struct shm_info {
    int state; /* 0 or IPCX_ECORRUPT */
    int stale; /* nobody holds it */
    unsigned uid, mode, creator_pid, flags;
    int64_t created_ns;
    uint64_t ring_size, max_msg, waiting;
    unsigned senders, receivers;
};

/* Reads mailbox `name` read-only. Errors: IPCX_ENOENT, IPCX_EACCES, IPCX_EBADURL. */
int shm_seg_inspect(const char *name, struct shm_info *out);

/* Calls fn with every mailbox name (without the "ipcx." prefix) until fn returns non-zero. */
int shm_seg_each(int (*fn)(const char *name, void *arg), void *arg);

/* Removes mailbox `name`'s segment name; endpoints already open keep working. */
int shm_seg_unlink(const char *name);
/*
 * Removes the name only if no endpoint holds the segment: it takes the attach
 * byte's lock exclusively (IPCX_EBUSY if anyone holds it shared), checks that
 * the name is still the object it opened, and unlinks while holding the lock.
 * An opener that raced it waits for the lock and finds the name gone (see
 * shm_seg_open).
 */
int shm_seg_unlink_stale(const char *name);

/* 1 if the endpoint whose lock id is id still holds its slot. */
int shm_seg_owner_alive(const struct shm_seg *s, uint32_t id);

/* The doorbell name of slot i's current owner (generation gen). */
void shm_seg_bell_name(const struct shm_seg *s, int slot, uint32_t gen, char *buf, size_t cap);

/* Checks a mailbox name: 1..200 characters of [A-Za-z0-9._-], not starting with '.'. */
int shm_seg_name_ok(const char *name);

/* The object name of mailbox `name` ("ipcx.<name>"). */
int shm_seg_object(char *buf, size_t cap, const char *name);

#endif
