/*
 * fuzz_shm.c: libFuzzer target for the shm engine's validation of shared
 * bytes. Each input makes a fresh mailbox with a 4 KiB ring, a receiver and
 * a sender on it, maps /dev/shm/ipcx.<name> itself, as a hostile process
 * with write access would, and runs the input as a little program: real
 * sends, raw writes over the hot header lines, the registry and the ring,
 * records forged with the segment's key (so the fuzzer reaches past the
 * seq check), head and tail moved, try-once receives, allocating receives,
 * sends, views, loans and pollfd, and in some inputs writes over the
 * geometry followed by a second endpoint's attach, so attach validation is
 * fuzzed too (all of it but the magic). Whatever the bytes: no crash, no sanitizer report, no call
 * that blocks, and every call returns 0 or a negative IPCX_E code with
 * lengths within the buffer and the mailbox's maximum. A violation aborts.
 *
 * Input: byte 0 chooses the mailbox (on_full, IPCX_F_SPSC) and whether the
 * geometry may be written; then ops, one byte each plus their operands,
 * until the input ends (at most MAX_OPS); then a fixed tail of calls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ipcx.h>

#include "shm/layout.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define RING    4096u
#define SEG     (SHM_HDR + RING)
#define MAX_MSG ((size_t)1 << 16) /* what the mailbox is created with */
#define BUF     (3u * RING + 64u)
#define MAX_OPS 48
#define GEOM    offsetof(struct shm_hdr, tail) /* bytes of geometry at the start */
#define MAGIC                                                                                      \
    8u /* never written: an unformatted segment costs each attach 200 ms of patience               \
          (that path is tests/proc/test_shm.c's attach_validates_the_segment) */

/* The input, read front to back; reads past the end give zeros. */
struct in {
    const unsigned char *p;
    size_t n;
};

static unsigned in_u8(struct in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static unsigned in_u16(struct in *in)
{
    unsigned lo = in_u8(in);
    return lo | in_u8(in) << 8;
}

static uint64_t in_u64(struct in *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)in_u8(in) << (8 * i);
    return v;
}

/* Copies up to n input bytes to dst (as a hostile writer would, byte by byte). */
static void in_bytes(struct in *in, volatile unsigned char *dst, size_t n)
{
    for (size_t i = 0; i < n && in->n; i++)
        dst[i] = (unsigned char)in_u8(in);
}

struct ctx {
    ipcx_mailbox *rx, *tx;
    unsigned char *seg; /* our own mapping of the segment */
    char url[64];
    unsigned char buf[BUF];
    unsigned char msg[BUF];
    const void *view; /* an outstanding view of rx */
    void *loan;       /* an outstanding loan of tx */
    size_t loan_size;
};

/* Every return is 0 or a negative code the library names; anything else is a bug. */
static void check_rc(int rc, const char *what)
{
    if (rc > 0 || (rc < 0 && strcmp(ipcx_errname(rc), "IPCX_E?") == 0)) {
        fprintf(stderr, "fuzz_shm: %s returned %d\n", what, rc);
        abort();
    }
}

static void check_len(int ok, const char *what, size_t len, size_t limit)
{
    if (!ok) {
        fprintf(stderr, "fuzz_shm: %s: length %zu beyond %zu\n", what, len, limit);
        abort();
    }
}

static void do_recv(ipcx_mailbox *mb, unsigned char *buf, size_t cap, size_t max_msg)
{
    size_t len = (size_t)-1;
    int rc = ipcx_recv(mb, cap ? buf : NULL, cap, &len, IPCX_NOWAIT);
    check_rc(rc, "ipcx_recv");
    if (rc == 0)
        check_len(len <= cap, "ipcx_recv", len, cap);
    else if (rc == IPCX_EMSGSIZE)
        check_len(len > cap && len <= max_msg, "ipcx_recv (EMSGSIZE)", len, max_msg);
    else if (len != (size_t)-1) {
        fprintf(stderr, "fuzz_shm: failed ipcx_recv (%s) wrote *lenp\n", ipcx_errname(rc));
        abort();
    }
}

static void do_recv_alloc(ipcx_mailbox *mb, size_t max_msg)
{
    void *p = NULL;
    size_t len = 0;
    int rc = ipcx_recv_alloc(mb, &p, &len, IPCX_NOWAIT);
    check_rc(rc, "ipcx_recv_alloc");
    if (rc == 0) {
        check_len(len <= max_msg, "ipcx_recv_alloc", len, max_msg);
        if (len)
            ((volatile unsigned char *)p)[len - 1] ^= 1; /* ASan: the whole length is ours */
        ipcx_free(p);
    }
}

static void do_send(ipcx_mailbox *mb, const unsigned char *msg, size_t len)
{
    check_rc(ipcx_send(mb, len ? msg : NULL, len, IPCX_NOWAIT), "ipcx_send");
}

/* Attaches a second endpoint (after the geometry may have been rewritten) and uses it. */
static void second_endpoint(struct ctx *c, unsigned role)
{
    const struct shm_hdr *h = (const struct shm_hdr *)c->seg;
    uint64_t max_msg = ((volatile const struct shm_hdr *)h)->max_msg; /* what it will adopt */
    /* A single record is never checked against max_msg (only a chunked message's total is), so
     * with a rewritten max_msg below a record's size the bound is the ring itself. */
    if (max_msg < RING - sizeof(struct shm_rec))
        max_msg = RING - sizeof(struct shm_rec);
    ipcx_opts o = IPCX_OPTS_INIT;
    ipcx_mailbox *mb = NULL;
    o.role = role % 3 + 1;
    o.create = IPCX_ATTACH;
    int rc = ipcx_open(&mb, c->url, &o);
    check_rc(rc, "ipcx_open (attach)");
    if (rc != 0)
        return;
    if (o.role & IPCX_RECV) {
        do_recv(mb, c->buf, BUF, (size_t)max_msg);
        do_recv_alloc(mb, (size_t)max_msg);
    }
    if (o.role & IPCX_SEND)
        do_send(mb, c->msg, role % 1500);
    ipcx_close(mb);
}

static void op(struct ctx *c, struct in *in, int geometry)
{
    struct shm_hdr *h = (struct shm_hdr *)c->seg;
    unsigned char *ring = c->seg + SHM_HDR;
    unsigned k = in_u8(in);
    switch (k % 13) {
    case 0: /* a real message, up to three rings (chunked) */
        do_send(c->tx, c->msg, in_u16(in) % (3 * RING + 1));
        break;
    case 1: { /* raw bytes over the hot lines and the registry (geometry if allowed) */
        size_t lo = geometry ? MAGIC : GEOM;
        size_t off = lo + in_u16(in) % (SHM_HDR - lo);
        size_t n = in_u8(in) % 24 + 1;
        if (off + n > SHM_HDR)
            n = SHM_HDR - off;
        in_bytes(in, c->seg + off, n);
        break;
    }
    case 2: { /* raw bytes over the ring */
        size_t off = in_u16(in) % RING;
        size_t n = in_u8(in) % 32 + 1;
        if (off + n > RING)
            n = RING - off;
        in_bytes(in, ring + off, n);
        break;
    }
    case 3: { /* a forged record header that passes the seq check: shm_seq(pos, state, key) */
        uint64_t key = atomic_load((_Atomic uint64_t *)&h->key) & ~(uint64_t)SHM_ST_MASK;
        uint64_t head = atomic_load(&h->head);
        unsigned lap = in_u8(in);
        uint64_t pos = (head & ~(uint64_t)(RING - 1)) + (uint64_t)(lap % 3) * RING -
                       (lap & 0x80 ? RING : 0) + (uint64_t)(in_u8(in) % (RING / 16)) * 16;
        unsigned st = in_u8(in);
        uint64_t state = st % 4 == 0 ? SHM_ST_PAD : st % 4 == 3 ? (st >> 2) & 0xf : SHM_ST_COMMIT;
        uint64_t len = in_u16(in);
        if (st & 0x40)
            len = RING - (pos & (RING - 1)) - 16; /* exactly to the end of the ring */
        if (st & 0x80)
            len |= (uint64_t)in_u16(in) << 16;
        unsigned flags = in_u8(in) & 7u;
        struct shm_rec *r = (struct shm_rec *)(ring + (pos & (RING - 1)));
        atomic_store(&r->meta, SHM_META(len, flags) | (uint64_t)in_u8(in) << 48);
        if (flags & SHM_R_FIRST) { /* the total length, where the chunk's payload starts */
            uint64_t total = in_u8(in) & 1 ? in_u64(in) : in_u16(in) * 4u;
            if ((pos & (RING - 1)) + 24 <= RING)
                memcpy(r + 1, &total, 8);
        }
        atomic_store(&r->seq, shm_seq(pos, state, key));
        break;
    }
    case 4: { /* head and tail, near where they are or anywhere */
        unsigned w = in_u8(in);
        uint64_t v = w & 0x80 ? in_u64(in)
                              : atomic_load(w & 1 ? &h->tail : &h->head) + (in_u16(in) % 512) * 16 -
                                    (w & 2 ? 4096 : 0);
        atomic_store(w & 1 ? &h->tail : &h->head, v);
        break;
    }
    case 5:
        do_recv(c->rx, c->buf, in_u16(in) % BUF, MAX_MSG);
        break;
    case 6:
        do_recv_alloc(c->rx, MAX_MSG);
        break;
    case 7: { /* a lock word, a wait word or a lock's heir */
        unsigned w = in_u8(in);
        uint32_t v = in_u8(in) & 1 ? (uint32_t)in_u16(in) : (uint32_t)in_u64(in);
        _Atomic uint32_t *words[6] = {&h->prod_lock,  &h->cons_lock, &h->data_word,
                                      &h->space_word, &h->prod_heir, &h->cons_heir};
        atomic_store(words[w % 6], v);
        break;
    }
    case 8: /* view and release */
        if (c->view) {
            check_rc(ipcx_release(c->rx, c->view), "ipcx_release");
            c->view = NULL;
        } else {
            size_t len = 0;
            const void *v = NULL;
            int rc = ipcx_view(c->rx, &v, &len, IPCX_NOWAIT);
            check_rc(rc, "ipcx_view");
            if (rc == 0) {
                /* A forged record may be longer than a loan; it must still lie in the ring. */
                check_len(len <= RING - sizeof(struct shm_rec), "ipcx_view", len, RING - 16);
                if (len) {
                    volatile const unsigned char *b = v;
                    (void)b[0];
                    (void)b[len - 1];
                }
                c->view = v;
            }
        }
        break;
    case 9: /* loan and commit or cancel */
        if (c->loan) {
            size_t len = in_u16(in) % (c->loan_size + 2);
            int rc = len & 1 ? ipcx_cancel(c->tx, c->loan) : ipcx_commit(c->tx, c->loan, len);
            check_rc(rc, "ipcx_commit");
            if (rc == 0)
                c->loan = NULL;
        } else {
            size_t want = in_u16(in) % (RING / 2);
            void *p = NULL;
            int rc = ipcx_loan(c->tx, want, &p, IPCX_NOWAIT);
            check_rc(rc, "ipcx_loan");
            if (rc == 0) {
                memset(p, 0x5a, want); /* ASan/segfault: the whole loan is writable */
                c->loan = p;
                c->loan_size = want;
            }
        }
        break;
    case 10: {
        int fd = ipcx_pollfd(c->rx);
        check_rc(fd < 0 ? fd : 0, "ipcx_pollfd");
        break;
    }
    case 11: /* the registry: a slot's words */
        in_bytes(in, (unsigned char *)&h->slots[in_u8(in) % SHM_SLOTS], in_u8(in) % 20 + 1);
        break;
    case 12: /* the geometry, then a second endpoint must validate it */
        if (geometry) {
            size_t off = MAGIC + in_u8(in) % (GEOM - MAGIC);
            size_t n = in_u8(in) % 16 + 1;
            if (off + n > GEOM)
                n = GEOM - off;
            in_bytes(in, c->seg + off, n);
        }
        second_endpoint(c, in_u8(in));
        break;
    }
}

static int setup(struct ctx *c, unsigned mode)
{
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_RECV;
    o.create = IPCX_CREATE_EXCL;
    o.buffer_size = RING;
    o.max_msg = MAX_MSG;
    o.on_full = mode % 4 == 3 ? IPCX_FULL_BLOCK : mode % 4;
    o.flags = mode & 4 ? IPCX_F_SPSC : 0u;
    (void)ipcx_unlink(c->url); /* left by an earlier run that crashed */
    if (ipcx_open(&c->rx, c->url, &o) != 0)
        return -1;
    o.role = IPCX_SEND;
    o.create = IPCX_ATTACH;
    if (ipcx_open(&c->tx, c->url, &o) != 0)
        return -1;
    char path[96];
    snprintf(path, sizeof path, "/dev/shm/ipcx.%s", c->url + 6);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -1;
    void *p = mmap(NULL, SEG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return -1;
    c->seg = p;
    return 0;
}

/*
 * A crashing input ends its process before the mailbox "ipcx-fuzz-<pid>" is
 * removed; each run starts by removing those of processes that are gone.
 */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    DIR *d = opendir("/dev/shm");
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        static const char prefix[] = "ipcx.ipcx-fuzz-";
        char path[300];
        if (strncmp(e->d_name, prefix, sizeof prefix - 1) != 0)
            continue;
        long pid = strtol(e->d_name + sizeof prefix - 1, NULL, 10);
        if (pid > 0 && !(kill((pid_t)pid, 0) != 0 && errno == ESRCH))
            continue; /* its process still runs (or is not ours to judge) */
        if (snprintf(path, sizeof path, "/dev/shm/%s", e->d_name) < (int)sizeof path)
            (void)unlink(path);
    }
    closedir(d);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static struct ctx c;
    memset(&c, 0, sizeof c);
    snprintf(c.url, sizeof c.url, "shm://ipcx-fuzz-%ld", (long)getpid());
    for (size_t i = 0; i < sizeof c.msg; i++)
        c.msg[i] = (unsigned char)(i * 7u + (i >> 8));
    struct in in = {data, size};
    unsigned mode = in_u8(&in);
    if (setup(&c, mode) != 0)
        abort(); /* the environment, not the input: /dev/shm must work */
    int geometry = (mode & 8) != 0;

    for (int i = 0; i < MAX_OPS && in.n; i++)
        op(&c, &in, geometry);

    /* The fixed tail: try-once receives, an allocating one, a send, a second endpoint. */
    if (c.view) {
        check_rc(ipcx_release(c.rx, c.view), "ipcx_release");
        c.view = NULL;
    }
    if (c.loan)
        check_rc(ipcx_cancel(c.tx, c.loan), "ipcx_cancel");
    for (int i = 0; i < 3; i++)
        do_recv(c.rx, c.buf, i == 0 ? 0 : BUF, MAX_MSG);
    do_recv_alloc(c.rx, MAX_MSG);
    do_send(c.tx, c.msg, mode & 16 ? 0 : 100);
    do_send(c.tx, c.msg, 2 * RING);
    if (geometry)
        second_endpoint(&c, mode >> 5);

    ipcx_close(c.tx);
    ipcx_close(c.rx);
    munmap(c.seg, SEG);
    (void)ipcx_unlink(c.url);
    return 0;
}
