/*
 * shm_check.h: what the shm many-to-many tests (tests/proc/test_shm_mpmc.c,
 * tests/stress/test_shm_threads.c, tests/crash/test_shm_crash.c) share: the
 * scale divisor from the environment, the size every (sender, seq) message
 * has, the receiving loop that checks each message and writes one compact
 * record per message, and the checker that turns every receiver's records
 * into loss, duplication and order findings. Header-only, like harness.h.
 *
 * Messages: a message of (sender, seq) has exactly sc_size(sender, seq)
 * bytes, drawn from 0..SC_MAXSZ (three times a 4 KiB ring, so large ones
 * travel as many chunks); every non-empty one carries the harness header
 * (sender, seq, checksum), so sizes 1..TH_HDR-1 are padded up to TH_HDR. An
 * empty message cannot say who sent it: receivers count empties and the
 * checker compares the total with what the senders sent. After the last
 * data message, SC_STOP messages (one per receiver) end the receivers.
 *
 * Records: one uint64 per message a receiver got: sender in bits 56..63,
 * seq in bits 0..47. A receiver stores the record and only then publishes
 * its count with release order, so a receiver killed in between loses that
 * message from the record (counted as lost), never corrupts the record.
 * Nothing here may call a Criterion assertion: children and threads use it.
 */
#ifndef IPCX_TEST_SHM_CHECK_H
#define IPCX_TEST_SHM_CHECK_H

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "harness.h"
#include "shm/layout.h"

#define SC_RING      4096u              /* buffer_size of every test mailbox */
#define SC_MAXSZ     (3u * SC_RING)     /* largest message: 12 KiB */
#define SC_CHUNK_MAX (SC_RING / 4 - 16) /* largest one-record payload in that ring (1008) */
#define SC_STOP_ID   0xFFFFFFFFu        /* sender id of the stop messages */
#define SC_MAX_SEND  250u               /* sender ids 0..249 */
#define SC_SEQ_MASK  ((UINT64_C(1) << 48) - 1)

/*
 * Opens an endpoint on a test mailbox (role, creation, flags, ring bytes, full
 * policy) and fails the test if it cannot. Include Criterion before this file.
 */
static inline ipcx_mailbox *sc_open_ok(const char *url, unsigned role, unsigned create,
                                       unsigned flags, size_t ring, unsigned on_full)
{
    ipcx_opts o = IPCX_OPTS_INIT;
    ipcx_mailbox *mb = NULL;
    o.role = role;
    o.create = create;
    o.flags = flags;
    o.buffer_size = ring;
    o.on_full = on_full;
    int rc = ipcx_open(&mb, url, &o);
    cr_assert_eq(rc, 0, "open %s role %u: %s", url, role, ipcx_errname(rc));
    return mb;
}

/*
 * The divisor applied to message and round counts: IPCX_TEST_SCALE from the
 * environment (the CMake sanitizer builds set it), 1 if unset or invalid.
 */
static inline uint64_t sc_scale(void)
{
    const char *e = getenv("IPCX_TEST_SCALE");
    if (!e || !*e)
        return 1;
    char *end = NULL;
    unsigned long long v = strtoull(e, &end, 10);
    return (end && *end == '\0' && v >= 1 && v <= 1000000) ? (uint64_t)v : 1;
}

/* n / scale, but at least min. */
static inline uint64_t sc_scaled(uint64_t n, uint64_t min)
{
    uint64_t v = n / sc_scale();
    return v < min ? min : v;
}

/*
 * The size of message (sender, seq). The first ones of every sender are the
 * edges of chunking in a 4 KiB ring: the largest single record (1008), the
 * smallest chunked message (1009: a first chunk of 1000 bytes after its
 * 8-byte total, then 9), one and two whole chunks after the first, the
 * largest message, empty and header-only. Then: 1% empty, 79% small
 * (20..256), 16% up to 2 KiB (half of them chunked), 4% up to 12 KiB
 * (mean about 500 bytes, a chunked message about one in ten).
 */
static inline size_t sc_size(uint32_t sender, uint64_t seq)
{
    static const size_t edge[] = {SC_MAXSZ,
                                  0,
                                  SC_CHUNK_MAX,
                                  SC_CHUNK_MAX + 1,
                                  1000,
                                  2008,
                                  2009,
                                  3016,
                                  3017,
                                  SC_MAXSZ - 1,
                                  20,
                                  21,
                                  4096,
                                  4095,
                                  0,
                                  1007};
    size_t sz;
    if (seq < sizeof edge / sizeof edge[0]) {
        sz = edge[(seq + sender) % (sizeof edge / sizeof edge[0])];
    } else {
        uint64_t st = ((uint64_t)sender << 48) ^ seq ^ 0x243F6A8885A308D3ull;
        uint64_t r = th_mix64(&st);
        unsigned pick = (unsigned)(r % 1000);
        uint64_t v = r >> 16;
        if (pick < 10)
            sz = 0;
        else if (pick < 800)
            sz = 20 + (size_t)(v % 237);
        else if (pick < 960)
            sz = (size_t)(v % 2049);
        else
            sz = (size_t)(v % (SC_MAXSZ + 1));
    }
    if (sz != 0 && sz < TH_HDR)
        sz = TH_HDR;
    return sz;
}

/* How many of a sender's first n messages are empty. */
static inline uint64_t sc_empties(uint32_t sender, uint64_t n)
{
    uint64_t e = 0;
    for (uint64_t q = 0; q < n; q++)
        e += sc_size(sender, q) == 0;
    return e;
}

/* Fills buf (SC_MAXSZ bytes) with message (sender, seq); returns its size. */
static inline size_t sc_fill(unsigned char *buf, uint32_t sender, uint64_t seq)
{
    size_t sz = sc_size(sender, seq);
    if (sz)
        th_msg_fill(buf, sz, sender, seq);
    return sz;
}

/*
 * Counts, and with remove set also unlinks, the /dev/shm entries whose name
 * starts with prefix ("ipcx.ipcx-test-<pid>-"): a test's .fini uses it so that
 * a failed assertion leaves no mailbox behind. -1 if /dev/shm cannot be read.
 */
static inline int sc_shm_names(const char *prefix, int remove)
{
    char path[300];
    int n = 0;
    size_t pl = strlen(prefix);
    DIR *d = opendir("/dev/shm");
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, pl) != 0)
            continue;
        n++;
        if (remove && snprintf(path, sizeof path, "/dev/shm/%s", e->d_name) < (int)sizeof path)
            (void)unlink(path);
    }
    closedir(d);
    return n;
}

/* After a test, pass or fail: none of this process's test mailboxes stays in /dev/shm. */
static inline void sc_names_fini(void)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "ipcx.ipcx-test-%ld-", (long)getpid());
    (void)sc_shm_names(prefix, 1);
}

/* ------------------------------------------------------------------------ */
/* A receiver's report                                                       */
/* ------------------------------------------------------------------------ */

/* One receiver's report, in memory the parent can read (shared mapping or plain). */
struct sc_report {
    _Atomic uint64_t n; /* records published */
    _Atomic uint64_t empties;
    _Atomic uint64_t bad;     /* messages that failed a check (never expected) */
    _Atomic int stopped;      /* got its stop message */
    _Atomic int recv_err;     /* the error that ended it early, 0 if none */
    _Atomic uint64_t dropped; /* its ipcx_stats.peers_dropped at the end */
    char what[192];           /* the first bad message, described */
    uint64_t cap;             /* room in recs */
    uint64_t recs[];
};

static inline size_t sc_report_bytes(uint64_t cap)
{
    size_t b = sizeof(struct sc_report) + (size_t)cap * sizeof(uint64_t);
    return (b + 4095) & ~(size_t)4095;
}

static inline void sc_report_init(struct sc_report *r, uint64_t cap)
{
    atomic_store(&r->n, 0);
    atomic_store(&r->empties, 0);
    atomic_store(&r->bad, 0);
    atomic_store(&r->stopped, 0);
    atomic_store(&r->recv_err, 0);
    atomic_store(&r->dropped, 0);
    r->what[0] = '\0';
    r->cap = cap;
}

/* Counts a bad message; the first one is described in r->what. */
__attribute__((format(printf, 2, 3))) static inline void sc_bad(struct sc_report *r,
                                                                const char *fmt, ...)
{
    if (atomic_fetch_add(&r->bad, 1) == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->what, sizeof r->what, fmt, ap);
        va_end(ap);
    }
}

/*
 * Checks one received message and records it. Returns 1 for a stop message,
 * else 0. nsenders and per bound the valid ids and sequence numbers.
 */
static inline int sc_take(struct sc_report *r, const unsigned char *buf, size_t len,
                          uint32_t nsenders, uint64_t per)
{
    if (len == 0) {
        atomic_fetch_add_explicit(&r->empties, 1, memory_order_relaxed);
        return 0;
    }
    uint32_t id;
    uint64_t seq;
    int ck = th_msg_check(buf, len, &id, &seq);
    if (ck != 0) {
        sc_bad(r, "a %zu-byte message %s (after %llu good ones)", len,
               ck == -1 ? "shorter than its header" : "with a wrong checksum",
               (unsigned long long)atomic_load(&r->n));
        return 0;
    }
    if (id == SC_STOP_ID) {
        if (len == TH_HDR)
            return 1;
        sc_bad(r, "a stop message of %zu bytes", len);
        return 0;
    }
    if (id >= nsenders || seq >= per || seq > SC_SEQ_MASK) {
        sc_bad(r, "sender %u seq %llu out of range (%zu bytes)", id, (unsigned long long)seq, len);
        return 0;
    }
    if (len != sc_size(id, seq)) {
        sc_bad(r, "sender %u seq %llu has %zu bytes, not its %zu", id, (unsigned long long)seq, len,
               sc_size(id, seq));
        return 0;
    }
    uint64_t n = atomic_load_explicit(&r->n, memory_order_relaxed);
    if (n >= r->cap) {
        sc_bad(r, "more than %llu records (sender %u seq %llu)", (unsigned long long)r->cap, id,
               (unsigned long long)seq);
        return 0;
    }
    r->recs[n] = (uint64_t)id << 56 | seq;
    atomic_store_explicit(&r->n, n + 1, memory_order_release);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* The checker                                                               */
/* ------------------------------------------------------------------------ */

struct sc_verdict {
    uint64_t got;      /* distinct (sender, seq) records */
    uint64_t dups;     /* records of a message seen before */
    uint64_t disorder; /* records not after the same receiver's last of that sender */
    uint64_t missing;  /* expected messages never recorded */
    uint64_t empties;  /* empty messages received, all receivers */
    uint64_t bad;      /* messages receivers found bad */
    char first[256];   /* the first finding, described */
};

/* Remembers the first finding. */
__attribute__((format(printf, 2, 3))) static inline void sc_note(struct sc_verdict *v,
                                                                 const char *fmt, ...)
{
    if (!v->first[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v->first, sizeof v->first, fmt, ap);
        va_end(ap);
    }
}

/*
 * Checks the records of nrep receivers against senders 0..nsenders-1 that
 * sent expect[i] messages each (sequence 0..expect[i]-1). seen (nsenders *
 * stride bytes, stride >= max expect) is scratch space filled with how often
 * each message was recorded, for callers that examine losses further.
 */
static inline void sc_verify(struct sc_report *const *reps, int nrep, uint32_t nsenders,
                             const uint64_t *expect, uint64_t stride, unsigned char *seen,
                             struct sc_verdict *v)
{
    memset(v, 0, sizeof *v);
    memset(seen, 0, (size_t)nsenders * (size_t)stride);
    uint64_t *last = calloc(nsenders, sizeof *last);
    if (!last) {
        sc_note(v, "out of memory");
        v->bad++;
        return;
    }
    for (int r = 0; r < nrep; r++) {
        const struct sc_report *rep = reps[r];
        uint64_t n = atomic_load_explicit(&rep->n, memory_order_acquire);
        v->empties += atomic_load(&rep->empties);
        if (atomic_load(&rep->bad)) {
            v->bad += atomic_load(&rep->bad);
            sc_note(v, "receiver %d: %s", r, rep->what);
        }
        for (uint32_t s = 0; s < nsenders; s++)
            last[s] = UINT64_MAX; /* none yet */
        for (uint64_t i = 0; i < n; i++) {
            uint32_t id = (uint32_t)(rep->recs[i] >> 56);
            uint64_t seq = rep->recs[i] & SC_SEQ_MASK;
            if (id >= nsenders || seq >= expect[id]) {
                v->bad++;
                sc_note(v, "receiver %d record %llu: sender %u seq %llu out of range", r,
                        (unsigned long long)i, id, (unsigned long long)seq);
                continue;
            }
            unsigned char *c = &seen[(size_t)id * stride + seq];
            if (*c) {
                v->dups++;
                sc_note(v, "sender %u seq %llu received twice (receiver %d, record %llu)", id,
                        (unsigned long long)seq, r, (unsigned long long)i);
            } else {
                v->got++;
            }
            if (*c < 255)
                (*c)++;
            if (last[id] != UINT64_MAX && seq <= last[id]) {
                v->disorder++;
                sc_note(v, "receiver %d: sender %u seq %llu after seq %llu", r, id,
                        (unsigned long long)seq, (unsigned long long)last[id]);
            }
            last[id] = seq;
        }
    }
    for (uint32_t s = 0; s < nsenders; s++)
        for (uint64_t q = 0; q < expect[s]; q++)
            if (!seen[(size_t)s * stride + q] && sc_size(s, q) != 0) {
                v->missing++;
                sc_note(v, "sender %u seq %llu (%zu bytes) never received", s,
                        (unsigned long long)q, sc_size(s, q));
            }
    free(last);
}

/* A test mailbox's segment ("shm://name", an SC_RING ring) mapped while it still has a name,
 * read-only or writable; NULL if it cannot be. */
static inline void *sc_seg_map_as(const char *url, int writable)
{
    char path[2 * TH_URL_MAX];
    if (snprintf(path, sizeof path, "/dev/shm/ipcx.%s", url + 6) >= (int)sizeof path)
        return NULL;
    int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    void *p =
        mmap(NULL, SHM_HDR + SC_RING, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

/* A read-only view, for a post-mortem: sc_seg_dump writes the hot words it shows. */
static inline const void *sc_seg_map(const char *url)
{
    return sc_seg_map_as(url, 0);
}

/* A writable view, for tests that forge what another process could write there. */
static inline unsigned char *sc_seg_map_rw(const char *url)
{
    unsigned char *p = sc_seg_map_as(url, 1);
    cr_assert_not_null(p, "map %s writable", url);
    return p;
}

static inline void sc_seg_unmap(const void *seg)
{
    if (seg)
        munmap((void *)seg, SHM_HDR + SC_RING);
}

static inline void sc_seg_dump(char *buf, size_t cap, const void *seg)
{
    const struct shm_hdr *h = seg;
    if (!seg) {
        snprintf(buf, cap, " [segment not mapped]");
        return;
    }
    uint64_t head = atomic_load(&h->head), tail = atomic_load(&h->tail);
    uint64_t key = h->key & ~(uint64_t)SHM_ST_MASK;
    const struct shm_rec *rec =
        (const void *)((const unsigned char *)seg + SHM_HDR + (head & (SC_RING - 1)));
    uint64_t s = atomic_load(&rec->seq), meta = atomic_load(&rec->meta);
    snprintf(buf, cap,
             " [segment: head %llu tail %llu; record at head: position %lld from head, state %llu,"
             " len %u, flags %#x; prod_lock %#x cons_lock %#x data_word %#x space_word %#x;"
             " heirs %#x %#x; msgs in %llu out %llu]",
             (unsigned long long)head, (unsigned long long)tail,
             (long long)(shm_seq_pos(s, key) - head), (unsigned long long)shm_seq_state(s, key),
             SHM_META_LEN(meta), SHM_META_FLAGS(meta), atomic_load(&h->prod_lock),
             atomic_load(&h->cons_lock), atomic_load(&h->data_word), atomic_load(&h->space_word),
             atomic_load(&h->prod_heir), atomic_load(&h->cons_heir),
             (unsigned long long)atomic_load(&h->msgs_in),
             (unsigned long long)atomic_load(&h->msgs_out));
}

#endif /* IPCX_TEST_SHM_CHECK_H */
