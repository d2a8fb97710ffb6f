/*
 * segment.c: creates, attaches, validates and releases shared-memory
 * mailboxes, and keeps the endpoint registry. Liveness is the kernel's:
 * every endpoint holds open-file-description locks on its segment's file (a
 * shared one on SHM_LOCK_ATTACH, an exclusive one on its slot's byte), which
 * vanish when its process dies, so a dead endpoint can never look alive and
 * no pid is ever trusted. This file must never read a shared field twice
 * and act on both readings: geometry is copied once, after validation.
 */
#include "shm/segment.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ipcx.h>

#include "os/shmem.h"

#define ATTACH_PATIENCE_NS  (200 * IPCX_MSEC)  /* a creator still initialising */
#define REMOVAL_PATIENCE_NS (1000 * IPCX_MSEC) /* a removal in progress, its remover preempted */
#define REMOVAL_TRIES       100                /* and at least this many looks, however slow */

int shm_seg_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 200 || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

int shm_seg_object(char *buf, size_t cap, const char *name)
{
    if (!shm_seg_name_ok(name))
        return IPCX_EBADURL;
    int n = snprintf(buf, cap, "ipcx.%s", name);
    return n < 0 || (size_t)n >= cap ? IPCX_ENAMETOOLONG : 0;
}

static uint64_t pow2_at_least(uint64_t v)
{
    uint64_t p = SHM_RING_MIN;
    while (p < v && p < SHM_RING_MAX)
        p <<= 1;
    return p;
}

static uint64_t random64(void)
{
    return (uint64_t)ipcx__random32() << 32 | ipcx__random32();
}

/* Writes the header of a fresh segment; magic goes last, with release order. */
static void seg_format(struct shm_hdr *h, uint64_t ring_size, const struct shm_geom *g)
{
    memset(h, 0, SHM_HDR);
    h->version = SHM_VERSION;
    h->hdr_size = SHM_HDR;
    h->seg_size = SHM_HDR + ring_size;
    h->ring_off = SHM_HDR;
    h->ring_size = ring_size;
    h->max_msg = g->max_msg;
    h->key = random64() & ~(uint64_t)SHM_ST_MASK;
    h->nonce = random64();
    h->flags = g->flags;
    h->nslots = SHM_SLOTS;
    h->creator_pid = ipcx__self_pid();
    h->creator_uid = ipcx__self_uid();
    h->created_ns = ipcx__realtime_ns();
    atomic_store_explicit((_Atomic uint64_t *)&h->magic, SHM_MAGIC, memory_order_release);
}

/* Validates the geometry of a mapped segment of file size fsize and copies it. */
static int seg_adopt(struct shm_seg *s, uint64_t fsize)
{
    const struct shm_hdr *h = s->hdr;
    uint64_t magic = atomic_load_explicit((_Atomic uint64_t *)&h->magic, memory_order_acquire);
    if (magic != SHM_MAGIC)
        return IPCX_EAGAIN; /* not formatted yet, or not ours: the caller decides */
    if (h->version != SHM_VERSION)
        return IPCX_EVERSION; /* magic and version stay where they are in every layout */
    uint64_t ring_size = h->ring_size, max_msg = h->max_msg;
    unsigned flags = h->flags;
    if (h->hdr_size != SHM_HDR || h->ring_off != SHM_HDR || h->nslots != SHM_SLOTS ||
        ring_size < SHM_RING_MIN || ring_size > SHM_RING_MAX || (ring_size & (ring_size - 1)) ||
        h->seg_size != SHM_HDR + ring_size || fsize != SHM_HDR + ring_size || max_msg == 0 ||
        max_msg > ((uint64_t)1 << 40) ||
        (flags & ~(SHM_F_UNLINK_LAST | SHM_F_SPSC | SHM_F_OVERWRITE | SHM_F_FAIL)))
        return IPCX_ECORRUPT;
    s->ring = (unsigned char *)s->hdr + SHM_HDR;
    s->ring_size = ring_size;
    s->mask = ring_size - 1;
    s->key = h->key & ~(uint64_t)SHM_ST_MASK;
    s->key_commit = s->key | SHM_ST_COMMIT;
    /* A record's padding never takes it past the ring's end, a multiple of a line. */
    s->small_max = ring_size - sizeof(struct shm_rec) - 64;
    s->nonce = h->nonce;
    s->flags = flags;
    s->chunk_max = ring_size / 4 - sizeof(struct shm_rec);
    s->max_msg = max_msg;
    if ((flags & SHM_F_OVERWRITE) && s->max_msg > s->chunk_max)
        s->max_msg =
            s->chunk_max; /* overwrite never splits: a dropped chunk would tear a message */
    return 0;
}

/* 1 if the name still names the object s->fd has open (asked with the attach byte held, or
 * while waiting for a creator). */
static int seg_still_named(const struct shm_seg *s)
{
    uint64_t dev, ino, mdev, mino;
    return ipcx__fd_stat(s->fd, NULL, &mdev, &mino, NULL, NULL) == 0 &&
           ipcx__shm_stat(s->name, &dev, &ino) == 0 && dev == mdev && ino == mino;
}

static int seg_map(struct shm_seg *s, int64_t patience)
{
    int64_t until = ipcx__now_ns() + patience;
    for (;;) {
        uint64_t fsize;
        int rc = ipcx__fd_stat(s->fd, &fsize, NULL, NULL, NULL, NULL);
        if (rc < 0)
            return rc;
        if (fsize >= SHM_HDR && fsize <= SHM_HDR + SHM_RING_MAX) {
            void *p;
            if ((rc = ipcx__map(s->fd, (size_t)fsize, 1, &p)) < 0)
                return rc;
            s->hdr = p;
            s->map_size = (size_t)fsize;
            rc = seg_adopt(s, fsize);
            if (rc != IPCX_EAGAIN)
                return rc;
            ipcx__unmap(p, (size_t)fsize);
            s->hdr = NULL;
        } else if (fsize != 0) {
            return IPCX_ECORRUPT;
        }
        if (s->name[0] && !seg_still_named(s))
            return IPCX_EAGAIN; /* removed before its creator built it: look again */
        if (ipcx__now_ns() > until)
            return IPCX_ECORRUPT; /* never formatted: not an ipcx mailbox, or its creator died */
        ipcx__sleep_ns(IPCX_MSEC);
    }
}

/* Sizes, maps and formats the fresh, empty file s->fd. */
static int seg_build(struct shm_seg *s, const struct shm_geom *g)
{
    uint64_t ring_size = pow2_at_least(g->ring_size ? g->ring_size : SHM_RING_DEFAULT);
    void *p;
    int rc = ipcx__fd_truncate(s->fd, SHM_HDR + ring_size);
    if (rc == 0)
        rc = ipcx__map(s->fd, (size_t)(SHM_HDR + ring_size), 1, &p);
    if (rc < 0)
        return rc;
    s->hdr = p;
    s->map_size = (size_t)(SHM_HDR + ring_size);
    seg_format(s->hdr, ring_size, g);
    return seg_adopt(s, SHM_HDR + ring_size);
}

/* Removes the name if it is still ours (never a namesake someone made since). */
static void seg_unlink_if_ours(const struct shm_seg *s)
{
    if (seg_still_named(s))
        ipcx__shm_unlink(s->name);
}

static int seg_create(struct shm_seg *s, const struct shm_geom *g)
{
    int fd = ipcx__shm_create(s->name, g->mode);
    if (fd < 0)
        return fd;
    s->fd = fd;
    /* Held at once, not after the build (truncate, map, format): a mailbox nobody holds is
     * stale, and shm_seg_unlink_stale may remove it. If a remover holds the byte already, it
     * found our new name unheld and removes it: IPCX_EAGAIN, the caller looks again. */
    int rc = ipcx__ofd_lock(s->fd, SHM_LOCK_ATTACH, 0);
    if (rc < 0) {
        if (rc != IPCX_EAGAIN)
            seg_unlink_if_ours(s); /* no remover will: ours to undo */
        return rc;
    }
    s->created = 1;
    if ((rc = seg_build(s, g)) < 0) {
        seg_unlink_if_ours(s);
        s->created = 0;
    }
    return rc;
}

/*
 * SPSC admission: at most one live endpoint per role, even when several open
 * at once. The kernel arbitrates: an SPSC endpoint holds an exclusive OFD lock
 * on its role's byte (SHM_LOCK_ROLE0 + role bit), which it can only get while
 * no live endpoint of that role holds it, and which vanishes with its holder.
 */
static int seg_admit(struct shm_seg *s, unsigned role)
{
    for (unsigned bit = 0; bit < 2; bit++) {
        if (!(role & (1u << bit)))
            continue;
        if (ipcx__ofd_lock(s->fd, SHM_LOCK_ROLE0 + bit, 1) < 0) {
            if (bit == 1 && (role & 1u))
                ipcx__ofd_unlock(s->fd, SHM_LOCK_ROLE0);
            return IPCX_EBUSY;
        }
    }
    return 0;
}

/* Claims a free registry slot: the first whose OFD byte nobody holds. */
static int seg_claim_slot(struct shm_seg *s, unsigned role)
{
    if ((s->flags & SHM_F_SPSC) && seg_admit(s, role) < 0)
        return IPCX_EBUSY;
    for (int i = 0; i < SHM_SLOTS; i++) {
        if (ipcx__ofd_lock(s->fd, SHM_LOCK_SLOT0 + (uint64_t)i, 1) < 0)
            continue;
        struct shm_slot *sl = &s->hdr->slots[i];
        uint32_t gen = atomic_fetch_add(&sl->gen, 1) + 1;
        atomic_store(&sl->pid, ipcx__self_pid());
        atomic_store(&sl->armed, 0);
        atomic_store(&sl->bell, 0);
        atomic_store(&sl->role, role);
        s->slot = i;
        s->id = shm_slot_id(gen, (unsigned)i);
        s->owner_pid = ipcx__self_pid();
        return 0;
    }
    return IPCX_EBUSY; /* the role locks go with the descriptor, which the caller closes */
}

/*
 * One attempt of shm_seg_open: create or attach, and hold the attach byte
 * shared. IPCX_EAGAIN: the name was being removed as we opened it (a remover
 * or a last closer held the byte, or the name no longer names what we
 * opened): the caller drops what it took and looks again.
 */
static int seg_open_once(struct shm_seg *s, const struct shm_geom *want, unsigned create)
{
    int rc = IPCX_ENOENT;
    if (create != IPCX_ATTACH)
        rc = seg_create(s, want);
    if (rc == IPCX_EEXIST && create == IPCX_CREATE)
        rc = IPCX_ENOENT; /* someone else made it: attach */
    if (rc == IPCX_ENOENT && create != IPCX_CREATE_EXCL) {
        if ((rc = ipcx__shm_attach(s->name, 1)) >= 0) {
            s->fd = rc;
            rc = seg_map(s, ATTACH_PATIENCE_NS);
            if (rc == 0)
                rc = ipcx__ofd_lock(s->fd, SHM_LOCK_ATTACH, 0);
        } else if (rc == IPCX_ENOENT && create == IPCX_CREATE) {
            rc = IPCX_EAGAIN; /* it existed a moment ago and was removed since: create it */
        }
    }
    if (rc == 0 && !seg_still_named(s))
        rc = IPCX_EAGAIN;
    return rc;
}

/* What a failed attempt took, given back (its locks go with the descriptor). */
static void seg_drop(struct shm_seg *s)
{
    ipcx__unmap(s->hdr, s->map_size);
    if (s->fd >= 0)
        ipcx__fd_close(s->fd);
    s->hdr = NULL;
    s->map_size = 0;
    s->fd = -1;
    s->created = 0;
}

int shm_seg_open(struct shm_seg *s, const char *name, const struct shm_geom *want, unsigned create,
                 unsigned role)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->slot = -1;
    int rc = shm_seg_object(s->name, sizeof s->name, name);
    if (rc < 0)
        return rc;
    /* A removal holds the byte for microseconds, unless its remover is preempted meanwhile: a
     * name removed under us is looked up again, backing off from 10 us to 1 ms, for at least a
     * second and 100 looks (a starved opener's one look can outlast the second), then
     * IPCX_EAGAIN. */
    int64_t until = ipcx__now_ns() + REMOVAL_PATIENCE_NS, pause = 10 * IPCX_USEC;
    for (int tries = 1; (rc = seg_open_once(s, want, create)) == IPCX_EAGAIN; tries++) {
        if (tries >= REMOVAL_TRIES && ipcx__now_ns() >= until)
            break;
        seg_drop(s);
        ipcx__sleep_ns(pause);
        pause = pause < IPCX_MSEC ? 2 * pause : IPCX_MSEC;
    }
    if (rc == 0)
        rc = seg_claim_slot(s, role);
    if (rc < 0) {
        if (s->created)
            seg_unlink_if_ours(s);
        s->created = 0;
        shm_seg_close(s);
    }
    return rc;
}

int shm_seg_pair(struct shm_seg *a, struct shm_seg *b, const struct shm_geom *g, unsigned role_a,
                 unsigned role_b)
{
    memset(a, 0, sizeof *a);
    memset(b, 0, sizeof *b);
    a->fd = b->fd = -1;
    a->slot = b->slot = -1;
    int rc = ipcx__memfd_create("ipcx-shm-pair");
    if (rc < 0)
        return rc;
    a->fd = rc;
    if ((rc = seg_build(a, g)) == 0 && (rc = ipcx__ofd_lock(a->fd, SHM_LOCK_ATTACH, 0)) == 0)
        rc = seg_claim_slot(a, role_a);
    /* b needs an open file description of its own, or the kernel could not tell its locks
     * from a's once a fork() has put the two ends in different processes. */
    if (rc == 0 && (rc = ipcx__fd_reopen(a->fd)) >= 0) {
        b->fd = rc;
        rc = seg_map(b, 0);
    }
    if (rc == 0 && (rc = ipcx__ofd_lock(b->fd, SHM_LOCK_ATTACH, 0)) == 0)
        rc = seg_claim_slot(b, role_b);
    if (rc < 0) {
        shm_seg_close(b);
        shm_seg_close(a);
    }
    return rc;
}

int shm_seg_peer_alive(const struct shm_seg *s, unsigned role)
{
    for (int i = 0; i < SHM_SLOTS; i++) {
        if (i == s->slot || !(atomic_load(&s->hdr->slots[i].role) & role))
            continue;
        if (ipcx__ofd_held(s->fd, SHM_LOCK_SLOT0 + (uint64_t)i))
            return 1;
    }
    return 0;
}

int shm_seg_owned(const struct shm_seg *s)
{
    return s->owner_pid == ipcx__self_pid();
}

void shm_seg_close(struct shm_seg *s)
{
    /*
     * Nothing shared is touched and no lock is released by hand: the kernel
     * drops this endpoint's locks when the last descriptor of its open file
     * description closes. After fork() parent and child share that
     * description, so whichever keeps the endpoint keeps it alive; an explicit
     * unlock here would release the other process's hold. Only the process
     * that opened it decides whether it was the last one and removes the name.
     */
    if (shm_seg_owned(s) && s->fd >= 0 && s->hdr && (s->flags & SHM_F_UNLINK_LAST) &&
        ipcx__ofd_lock(s->fd, SHM_LOCK_ATTACH, 1) == 0)
        seg_unlink_if_ours(s); /* nobody else holds the segment */
    ipcx__unmap(s->hdr, s->map_size);
    if (s->fd >= 0)
        ipcx__fd_close(s->fd);
    s->hdr = NULL;
    s->fd = -1;
    s->slot = -1;
}

int shm_seg_unlink(const char *name)
{
    char obj[256];
    int rc = shm_seg_object(obj, sizeof obj, name);
    return rc < 0 ? rc : ipcx__shm_unlink(obj);
}

int shm_seg_unlink_stale(const char *name)
{
    struct shm_seg s;
    memset(&s, 0, sizeof s);
    int rc = shm_seg_object(s.name, sizeof s.name, name);
    if (rc < 0)
        return rc;
    if ((s.fd = ipcx__shm_attach(s.name, 1)) < 0)
        return s.fd;
    rc = ipcx__ofd_lock(s.fd, SHM_LOCK_ATTACH, 1);
    if (rc == IPCX_EAGAIN)
        rc = IPCX_EBUSY; /* an endpoint holds it: live */
    else if (rc == 0)
        rc = seg_still_named(&s) ? ipcx__shm_unlink(s.name) : IPCX_ENOENT;
    ipcx__fd_close(s.fd); /* and with it the lock: an opener that found it held looks again */
    return rc;
}

int shm_seg_owner_alive(const struct shm_seg *s, uint32_t id)
{
    if (id == 0)
        return 0;
    if (id == s->id)
        return 1; /* ours: alive by definition (a lock we hold across calls) */
    uint32_t v = id - 1;
    int slot = (int)(v & 63u);
    if (shm_slot_id(atomic_load(&s->hdr->slots[slot].gen), (unsigned)slot) != id)
        return 0; /* the slot has changed hands since: its old owner is gone */
    return ipcx__ofd_held(s->fd, SHM_LOCK_SLOT0 + (uint64_t)slot);
}

void shm_seg_bell_name(const struct shm_seg *s, int slot, uint32_t gen, char *buf, size_t cap)
{
    snprintf(buf, cap, "ipcx-shm-%016llx-%d-%u", (unsigned long long)s->nonce, slot, gen);
}

int shm_seg_inspect(const char *name, struct shm_info *out)
{
    struct shm_seg s;
    memset(&s, 0, sizeof s);
    memset(out, 0, sizeof *out);
    s.slot = -1;
    int rc = shm_seg_object(s.name, sizeof s.name, name);
    if (rc < 0)
        return rc;
    if ((s.fd = ipcx__shm_attach(s.name, 0)) < 0)
        return s.fd;
    uint64_t fsize;
    rc = ipcx__fd_stat(s.fd, &fsize, NULL, NULL, &out->uid, &out->mode);
    out->stale = !ipcx__ofd_held(s.fd, SHM_LOCK_ATTACH);
    out->state = IPCX_ECORRUPT;
    void *p;
    if (rc == 0 && fsize >= SHM_HDR && fsize <= SHM_HDR + SHM_RING_MAX &&
        ipcx__map(s.fd, SHM_HDR, 0, &p) == 0) {
        s.hdr = p;
        s.map_size = SHM_HDR;
        int ar = seg_adopt(&s, fsize);
        if (ar == IPCX_EVERSION) {
            out->state = ar;
        } else if (ar == 0) {
            const struct shm_hdr *h = s.hdr;
            out->state = 0;
            out->flags = s.flags;
            out->creator_pid = h->creator_pid;
            out->created_ns = h->created_ns;
            out->ring_size = s.ring_size;
            out->max_msg = s.max_msg;
            uint64_t in = atomic_load(&h->msgs_in), done = atomic_load(&h->msgs_out);
            out->waiting = in >= done ? in - done : 0;
            for (int i = 0; i < SHM_SLOTS; i++) {
                if (!ipcx__ofd_held(s.fd, SHM_LOCK_SLOT0 + (uint64_t)i))
                    continue;
                unsigned role = atomic_load(&h->slots[i].role);
                out->senders += (role & IPCX_SEND) != 0;
                out->receivers += (role & IPCX_RECV) != 0;
            }
        }
        ipcx__unmap(p, SHM_HDR);
    }
    ipcx__fd_close(s.fd);
    return rc;
}

struct each_ctx {
    int (*fn)(const char *name, void *arg);
    void *arg;
};

static int each_one(const char *obj, void *arg)
{
    struct each_ctx *c = arg;
    const char *name = obj + 5; /* after "ipcx." */
    return shm_seg_name_ok(name) ? c->fn(name, c->arg) : 0;
}

int shm_seg_each(int (*fn)(const char *name, void *arg), void *arg)
{
    struct each_ctx c = {fn, arg};
    return ipcx__shm_each("ipcx.", each_one, &c);
}
