/*
 * test_shm.c: what shm:// offers beyond the conformance suite: loans and
 * views, full-ring policies (fail, overwrite), single-producer mailboxes,
 * messages larger than the ring, deadlines in the middle of a large message,
 * lifetime (unlink on last close), inspection and listing, and segments that
 * fail validation. Shared bytes are corrupted through the test's own mapping
 * of the segment (layout.h), never through library internals.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../common/harness.h"
#include "../common/shm_check.h"
#include "shm/layout.h"

#define TMO (10 * IPCX_SEC)

/* A fresh mailbox URL and its /dev/shm path. */
struct name {
    char url[TH_URL_MAX];
    char path[TH_URL_MAX + 32];
};

static void name_new(struct name *n)
{
    static const th_scheme shm = {"shm", "shm://", TH_ADDR_NAME, NULL, 0};
    th_make_url(&shm, n->url, sizeof n->url);
    snprintf(n->path, sizeof n->path, "/dev/shm/ipcx.%s", n->url + 6);
}

static ipcx_mailbox *open_ok(const char *url, unsigned role, size_t ring, unsigned flags,
                             unsigned on_full)
{
    return sc_open_ok(url, role, IPCX_CREATE, flags, ring, on_full);
}

static void recv_is(ipcx_mailbox *mb, const void *want, size_t wlen)
{
    char buf[256];
    size_t len = 0;
    int rc = ipcx_recv(mb, buf, sizeof buf, &len, TMO);
    cr_assert_eq(rc, 0, "recv: %s", ipcx_errname(rc));
    cr_assert_eq(len, wlen, "length %zu, want %zu", len, wlen);
    cr_assert(memcmp(buf, want, wlen) == 0, "content differs");
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 9));
}

Test(shm, loan_commit_cancel_and_double_commit)
{
    struct name n;
    name_new(&n);
    ipcx_mailbox *rx = open_ok(n.url, IPCX_RECV, 0, IPCX_F_UNLINK_ON_CLOSE, 0);
    ipcx_mailbox *tx = open_ok(n.url, IPCX_SEND, 0, 0, 0);
    void *p = NULL;
    cr_assert_eq(ipcx_loan(tx, 100, &p, TMO), 0);
    cr_assert_eq(ipcx_send(tx, "x", 1, 0), IPCX_EBUSY, "a send during our own loan");
    memcpy(p, "loaned", 6);
    cr_assert_eq(ipcx_commit(tx, p, 101), IPCX_EMSGSIZE, "commit beyond the loan");
    cr_assert_eq(ipcx_commit(tx, p, 6), 0);
    cr_assert_eq(ipcx_commit(tx, p, 6), IPCX_EINVAL, "second commit of one loan");
    cr_assert_eq(ipcx_loan(tx, 10, &p, TMO), 0);
    memcpy(p, "never", 5);
    cr_assert_eq(ipcx_cancel(tx, p), 0);
    cr_assert_eq(ipcx_cancel(tx, p), IPCX_EINVAL);
    cr_assert_eq(ipcx_send(tx, "after", 5, TMO), 0);
    recv_is(rx, "loaned", 6);
    recv_is(rx, "after", 5);
    size_t len;
    char b[8];
    cr_assert_eq(ipcx_recv(rx, b, sizeof b, &len, 0), IPCX_EAGAIN, "the cancelled loan arrived");
    cr_assert_eq(ipcx_loan(tx, (size_t)1 << 20, &p, TMO), IPCX_EMSGSIZE, "loan over a quarter");
    ipcx_close(tx);
    ipcx_close(rx);
}

Test(shm, view_stays_put_until_release)
{
    struct name n;
    name_new(&n);
    ipcx_mailbox *rx = open_ok(n.url, IPCX_RECV, 4096, IPCX_F_UNLINK_ON_CLOSE, 0);
    ipcx_mailbox *tx = open_ok(n.url, IPCX_SEND, 0, 0, 0);
    /* Records of 16 + 1008 bytes tile the 4 KiB ring exactly: four fit, no padding. */
    char first[1008], big[1008];
    memset(first, 'a', sizeof first);
    memset(big, 'z', sizeof big);
    cr_assert_eq(ipcx_send(tx, first, sizeof first, TMO), 0);
    const void *v = NULL;
    size_t len = 0;
    cr_assert_eq(ipcx_view(rx, &v, &len, TMO), 0);
    cr_assert(len == sizeof first && memcmp(v, first, len) == 0);
    /* Fill the rest of the ring: the sender must not overwrite the viewed bytes. */
    int sent = 0;
    while (ipcx_send(tx, big, sizeof big, 0) == 0)
        sent++;
    cr_assert_eq(sent, 3, "sent %d more messages into a 4 KiB ring", sent);
    cr_assert(memcmp(v, first, sizeof first) == 0, "viewed bytes changed before release");
    char b[8];
    cr_assert_eq(ipcx_recv(rx, b, sizeof b, &len, 0), IPCX_EBUSY, "recv during our own view");
    cr_assert_eq(ipcx_release(rx, v), 0);
    cr_assert_eq(ipcx_release(rx, v), IPCX_EINVAL, "second release of one view");
    cr_assert_eq(ipcx_send(tx, big, sizeof big, TMO), 0, "room after release");
    ipcx_close(tx);
    ipcx_close(rx);
}

Test(shm, full_fail_and_overwrite)
{
    struct name n;
    name_new(&n);
    ipcx_mailbox *tx = open_ok(n.url, IPCX_SEND, 4096, IPCX_F_UNLINK_ON_CLOSE, IPCX_FULL_FAIL);
    char m[500];
    int sent = 0, rc;
    int64_t t0 = th_now_ns();
    while ((rc = ipcx_send(tx, m, sizeof m, TMO)) == 0)
        sent++;
    cr_assert_eq(rc, IPCX_EAGAIN, "full FAIL mailbox: %s", ipcx_errname(rc));
    cr_assert(th_now_ns() - t0 < TMO / 2, "FULL_FAIL waited for its timeout");
    cr_assert(sent >= 6 && sent <= 8, "%d messages of 500 B in a 4 KiB ring", sent);
    ipcx_close(tx);

    name_new(&n);
    tx = open_ok(n.url, IPCX_SEND, 4096, IPCX_F_UNLINK_ON_CLOSE, IPCX_FULL_OVERWRITE);
    ipcx_mailbox *rx = open_ok(n.url, IPCX_RECV, 0, 0, 0);
    for (unsigned i = 0; i < 100; i++) {
        snprintf(m, sizeof m, "reading %u", i);
        cr_assert_eq(ipcx_send(tx, m, 400, 0), 0, "overwrite never refuses (%u)", i);
    }
    ipcx_mailbox_info info = {.struct_size = sizeof info};
    cr_assert_eq(ipcx_inspect(n.url, &info), 0);
    cr_assert_eq(info.on_full, IPCX_FULL_OVERWRITE);
    unsigned expect = 100 - (unsigned)info.msgs_waiting, got = 0;
    char b[512];
    size_t len;
    while (ipcx_recv(rx, b, sizeof b, &len, 0) == 0) {
        unsigned k;
        cr_assert_eq(sscanf(b, "reading %u", &k), 1);
        cr_assert_eq(k, expect + got, "newest kept in order: got %u, want %u", k, expect + got);
        got++;
    }
    cr_assert(got >= 6 && expect + got == 100, "kept %u, the last one %u", got, expect + got - 1);
    /* Overwrite never splits messages: more than a record (a quarter ring, 1008 B here) is refused.
     */
    char big[2000] = {0};
    cr_assert_eq(ipcx_send(tx, big, 1008, 0), 0, "a message of one whole record");
    cr_assert_eq(ipcx_send(tx, big, sizeof big, 0), IPCX_EMSGSIZE, "a message over one record");
    ipcx_close(rx);
    ipcx_close(tx);
}

Test(shm, spsc_admits_one_of_each_role)
{
    struct name n;
    name_new(&n);
    ipcx_mailbox *rx = open_ok(n.url, IPCX_RECV, 0, IPCX_F_SPSC | IPCX_F_UNLINK_ON_CLOSE, 0);
    ipcx_mailbox *tx = open_ok(n.url, IPCX_SEND, 0, 0, 0);
    ipcx_mailbox *extra = NULL;
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_RECV;
    cr_assert_eq(ipcx_open(&extra, n.url, &o), IPCX_EBUSY, "second receiver on an SPSC mailbox");
    o.role = IPCX_SEND;
    cr_assert_eq(ipcx_open(&extra, n.url, &o), IPCX_EBUSY, "second sender on an SPSC mailbox");
    cr_assert_eq(ipcx_send(tx, "one", 3, TMO), 0);
    ipcx_close(tx);
    extra = open_ok(n.url, IPCX_SEND, 0, 0, 0); /* the place is free again */
    cr_assert_eq(ipcx_send(extra, "two", 3, TMO), 0);
    recv_is(rx, "one", 3);
    recv_is(rx, "two", 3);
    ipcx_mailbox_info info = {.struct_size = sizeof info};
    cr_assert_eq(ipcx_inspect(n.url, &info), 0);
    cr_assert(info.flags & IPCX_F_SPSC);
    cr_assert_eq(info.senders, 1);
    cr_assert_eq(info.receivers, 1);
    ipcx_close(extra);
    ipcx_close(rx);
    struct stat st;
    cr_assert(stat(n.path, &st) < 0, "UNLINK_ON_CLOSE: %s still exists after the last close",
              n.path);
}

/* A child that sends `count` messages of `size` bytes (patterned) with the given timeout. */
struct big_arg {
    const char *url;
    size_t size;
    int count;
};

static int big_sender(void *argp, int ready_fd, int go_fd)
{
    struct big_arg *a = argp;
    ipcx_opts o = IPCX_OPTS_INIT;
    ipcx_mailbox *tx;
    o.role = IPCX_SEND;
    o.create = IPCX_ATTACH;
    if (ipcx_open(&tx, a->url, &o) != 0)
        return 2;
    unsigned char *buf = malloc(a->size);
    if (!buf)
        return 3;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 30000) != 0)
        return 4;
    for (int i = 0; i < a->count; i++) {
        fill(buf, a->size, (unsigned)i);
        if (ipcx_send(tx, buf, a->size, TMO) != 0)
            return 10;
    }
    free(buf);
    ipcx_close(tx);
    return 0;
}

Test(shm, messages_larger_than_the_ring, .timeout = 60)
{
    struct name n;
    name_new(&n);
    const size_t size = (1u << 20) + 12345; /* 1 MiB + through a 4 KiB ring: ~1000 chunks */
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_RECV;
    o.buffer_size = 4096;
    o.max_msg = 2u << 20;
    o.flags = IPCX_F_UNLINK_ON_CLOSE;
    ipcx_mailbox *rx;
    cr_assert_eq(ipcx_open(&rx, n.url, &o), 0);
    struct big_arg a = {n.url, size, 3};
    th_child c = TH_CHILD_INIT;
    cr_assert_eq(th_fork(&c, big_sender, &a), 0);
    cr_assert_eq(th_wait_byte(c.ready_fd, 30000), 0, "sender not ready");
    cr_assert_eq(th_signal(c.go_fd), 0);
    unsigned char *want = malloc(size), *got = malloc(size);
    size_t len = 0;
    /* 1: too small a buffer: the size, and the message stays. */
    int rc = ipcx_recv(rx, got, 1000, &len, TMO);
    cr_assert_eq(rc, IPCX_EMSGSIZE, "%s", ipcx_errname(rc));
    cr_assert_eq(len, size);
    for (int i = 0; i < 2; i++) {
        len = 0;
        rc = ipcx_recv(rx, got, size, &len, TMO);
        cr_assert_eq(rc, 0, "message %d: %s", i, ipcx_errname(rc));
        fill(want, size, (unsigned)i);
        cr_assert(len == size && memcmp(got, want, size) == 0, "message %d differs", i);
    }
    void *p = NULL;
    rc = ipcx_recv_alloc(rx, &p, &len, TMO);
    cr_assert_eq(rc, 0, "%s", ipcx_errname(rc));
    fill(want, size, 2);
    cr_assert(len == size && memcmp(p, want, size) == 0, "allocated message differs");
    ipcx_free(p);
    int st = th_reap(&c, 30000);
    char sb[64];
    cr_assert(th_exited_ok(st), "sender: %s", th_status_str(st, sb, sizeof sb));
    free(want);
    free(got);
    ipcx_close(rx);
}

Test(shm, deadline_mid_message_sends_nothing)
{
    struct name n;
    name_new(&n);
    ipcx_mailbox *tx = open_ok(n.url, IPCX_SEND, 4096, IPCX_F_UNLINK_ON_CLOSE, 0);
    ipcx_mailbox *rx = open_ok(n.url, IPCX_RECV, 0, 0, 0);
    size_t size = 20000;
    unsigned char *buf = malloc(size), *got = malloc(size);
    fill(buf, size, 7);
    int rc = ipcx_send(tx, buf, size, 20 * IPCX_MSEC);
    cr_assert_eq(rc, IPCX_ETIMEDOUT, "a 20 KB message into a 4 KiB ring nobody reads: %s",
                 ipcx_errname(rc));
    size_t len = 0;
    /* The receiver must not hand out the torn message; it gets the next one whole. */
    cr_assert_eq(ipcx_send(tx, "", 0, 0), IPCX_EAGAIN, "ring still full of the torn chunks");
    cr_assert_eq(ipcx_recv(rx, got, size, &len, 0), IPCX_EAGAIN, "torn message delivered");
    cr_assert_eq(ipcx_send(tx, "whole", 5, TMO), 0);
    recv_is(rx, "whole", 5);
    ipcx_stats st = {.struct_size = sizeof st};
    cr_assert_eq(ipcx_get_stats(rx, &st), 0);
    cr_assert(st.peers_dropped >= 1, "the torn message was not counted");
    free(buf);
    free(got);
    ipcx_close(rx);
    ipcx_close(tx);
}

Test(shm, inspect_list_and_stale)
{
    struct name n;
    name_new(&n);
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_SEND;
    o.mode = 0640;
    o.buffer_size = 10000; /* rounded up to 16 KiB */
    ipcx_mailbox *tx;
    cr_assert_eq(ipcx_open(&tx, n.url, &o), 0);
    cr_assert_eq(ipcx_send(tx, "a", 1, TMO), 0);
    cr_assert_eq(ipcx_send(tx, "b", 1, TMO), 0);
    ipcx_mailbox_info info = {.struct_size = sizeof info};
    cr_assert_eq(ipcx_inspect(n.url, &info), 0);
    cr_assert_eq(info.state, 0);
    cr_assert_eq(info.stale, 0);
    cr_assert_eq(info.mode, 0640);
    cr_assert_eq(info.buffer_size, 16384);
    cr_assert_eq(info.msgs_waiting, 2);
    cr_assert_eq(info.senders, 1);
    cr_assert_eq(info.receivers, 0);
    ipcx_close(tx);
    cr_assert_eq(ipcx_inspect(n.url, &info), 0);
    cr_assert_eq(info.stale, 1, "no endpoint left: stale");
    cr_assert_eq(info.msgs_waiting, 2, "messages outlive their sender");
    cr_assert_eq(ipcx_list("shm", NULL, NULL), IPCX_EINVAL, "list without a callback");
    cr_assert_eq(ipcx_unlink(n.url), 0);
    cr_assert_eq(ipcx_inspect(n.url, &info), IPCX_ENOENT);
    cr_assert_eq(ipcx_inspect("unix:///tmp/x", &info), IPCX_ENOTSUP);
}

static int list_find(const ipcx_mailbox_info *m, void *arg)
{
    const char *url = arg;
    return strcmp(m->url, url) == 0 ? 1 : 0;
}

Test(shm, list_finds_a_mailbox)
{
    struct name n;
    name_new(&n);
    ipcx_mailbox *tx = open_ok(n.url, IPCX_SEND, 0, IPCX_F_UNLINK_ON_CLOSE, 0);
    cr_assert_eq(ipcx_list("shm", list_find, n.url), 1, "%s not listed", n.url);
    ipcx_close(tx);
    cr_assert_eq(ipcx_list("shm", list_find, n.url), 0, "%s listed after removal", n.url);
    cr_assert_eq(ipcx_list("unix", list_find, n.url), IPCX_ENOTSUP);
}

/* Writes a file of size bytes (copied from pattern, or zeros) as the segment. */
static void write_segment(const char *path, const void *bytes, size_t size)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    cr_assert(fd >= 0, "create %s", path);
    if (bytes)
        cr_assert_eq(write(fd, bytes, size), (ssize_t)size);
    else
        cr_assert_eq(ftruncate(fd, (off_t)size), 0);
    close(fd);
}

/* The test's own read-write mapping of a 4 KiB mailbox's segment: header, then ring. */
struct seg_map {
    unsigned char *seg;
    struct shm_hdr *h;
    unsigned char *ring;
};

static void seg_map_open(struct seg_map *m, const char *url)
{
    m->seg = sc_seg_map_rw(url);
    m->h = (struct shm_hdr *)m->seg;
    m->ring = m->seg + SHM_HDR;
}

static void seg_map_close(struct seg_map *m)
{
    sc_seg_unmap(m->seg);
}

static void old_layout(struct shm_hdr *h)
{
    h->version = SHM_VERSION - 1;
}

static void odd_ring(struct shm_hdr *h)
{
    h->ring_size = 4095;
}

/* A new 4 KiB mailbox left with no endpoint, its header then changed by edit. */
static void made_then_edited(struct name *n, void (*edit)(struct shm_hdr *h))
{
    name_new(n);
    ipcx_close(open_ok(n->url, IPCX_SEND, 4096, 0, 0));
    struct seg_map m;
    seg_map_open(&m, n->url);
    edit(m.h);
    seg_map_close(&m);
}

Test(shm, attach_validates_the_segment)
{
    struct name n;
    ipcx_opts o = IPCX_OPTS_INIT;
    ipcx_mailbox *mb = NULL;
    o.create = IPCX_ATTACH;
    /* Not formatted (all zeros): given a moment for its creator, then refused. */
    name_new(&n);
    write_segment(n.path, NULL, 8192 + 4096);
    cr_assert_eq(ipcx_open(&mb, n.url, &o), IPCX_ECORRUPT);
    unlink(n.path);
    /* A real header whose file was cut: the size no longer matches the geometry. */
    name_new(&n);
    ipcx_mailbox *tx = open_ok(n.url, IPCX_SEND, 4096, 0, 0);
    ipcx_close(tx);
    cr_assert_eq(truncate(n.path, 8192 + 2048), 0);
    cr_assert_eq(ipcx_open(&mb, n.url, &o), IPCX_ECORRUPT);
    ipcx_mailbox_info info = {.struct_size = sizeof info};
    cr_assert_eq(ipcx_inspect(n.url, &info), 0);
    cr_assert_eq(info.state, IPCX_ECORRUPT, "ls must show it as corrupt");
    unlink(n.path);
    /* A mailbox of another layout version (one made by an older ipcx): a clear error. */
    made_then_edited(&n, old_layout);
    cr_assert_eq(ipcx_open(&mb, n.url, &o), IPCX_EVERSION);
    cr_assert_eq(ipcx_inspect(n.url, &info), 0);
    cr_assert_eq(info.state, IPCX_EVERSION, "ls must show it as incompatible");
    unlink(n.path);
    /* A ring size that is not a power of two. */
    made_then_edited(&n, odd_ring);
    cr_assert_eq(ipcx_open(&mb, n.url, &o), IPCX_ECORRUPT);
    unlink(n.path);
}

/* A new 4 KiB mailbox (removed when the last endpoint closes), a sender and a receiver on it,
 * and the test's own mapping of its segment. */
struct mapped_pair {
    struct name n;
    ipcx_mailbox *tx, *rx;
    struct seg_map m;
};

static void mapped_pair_open(struct mapped_pair *p)
{
    name_new(&p->n);
    p->tx = open_ok(p->n.url, IPCX_SEND, 4096, IPCX_F_UNLINK_ON_CLOSE, 0);
    p->rx = open_ok(p->n.url, IPCX_RECV, 0, 0, 0);
    seg_map_open(&p->m, p->n.url);
}

static void mapped_pair_close(struct mapped_pair *p)
{
    seg_map_close(&p->m);
    ipcx_close(p->rx);
    ipcx_close(p->tx);
}

/*
 * The record layout as another build reads it (layout version 4): small records
 * pack at 16-byte steps, one longer than a cache line ends on a line boundary,
 * and the receiver follows the same steps (tail and head after each message).
 */
Test(shm, records_longer_than_a_line_end_on_one)
{
    struct mapped_pair mp;
    mapped_pair_open(&mp);
    ipcx_mailbox *tx = mp.tx, *rx = mp.rx;
    struct shm_hdr *h = mp.m.h;
    /* payload bytes, then where tail must be: 8 -> 32 (packed), 64 at 32 -> 128 (not 112),
     * 48 at 128 -> 192 (one line), 49 at 192 -> 320 (65 bytes: two lines, not 272), 0 at 320
     * -> 336, 100 at 336 -> 512 (starts mid-line, ends on a line, not 464) */
    static const size_t lens[] = {8, 64, 48, 49, 0, 100};
    static const uint64_t tails[] = {32, 128, 192, 320, 336, 512};
    unsigned char msg[100], b[100];
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memset(msg, (int)(0x40 + i), lens[i]);
        cr_assert_eq(ipcx_send(tx, msg, lens[i], TMO), 0);
        cr_assert_eq(atomic_load(&h->tail), tails[i], "tail after %zu bytes: %llu, want %llu",
                     lens[i], (unsigned long long)atomic_load(&h->tail),
                     (unsigned long long)tails[i]);
    }
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t len = 0;
        cr_assert_eq(ipcx_recv(rx, b, sizeof b, &len, TMO), 0);
        memset(msg, (int)(0x40 + i), lens[i]);
        cr_assert(len == lens[i] && memcmp(b, msg, len) == 0, "message %zu", i);
        cr_assert_eq(atomic_load(&h->head), tails[i]);
    }
    mapped_pair_close(&mp);
}

/* Sends and receives n messages of len bytes, each a record ending where the next starts. */
static void step(ipcx_mailbox *tx, ipcx_mailbox *rx, int n, size_t len)
{
    unsigned char m[64];
    memset(m, 0x5a, sizeof m);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(ipcx_send(tx, m, len, TMO), 0);
        recv_is(rx, m, len);
    }
}

/*
 * The defect of sessions 3 to 8 ("head past tail"), built on purpose. Where a
 * receiver waits for the next record, the ring holds what earlier laps left:
 * here a header from lap A at offset 512 whose seq word's two low bytes lap
 * B's payload overwrote (a 2-byte message at 496 ends there), and the two
 * bytes are those of the seq of 8704, the position offset 512 has in lap C.
 * With a seq of position ^ key (layouts 1 to 3) the six high bytes left of
 * position 512's seq were those of 8704's, so the word was exactly the seq of
 * a record at 8704, and lap A's header behind it (100 bytes) looked
 * published: random payload did that once in 2^16 such words, about once in
 * 300 runs of the stress tests. Layout 4's seq spreads the position over the
 * high bytes (tests/unit/test_layout.c), so the receiver finds nothing there.
 */
Test(shm, a_torn_old_header_is_not_a_record)
{
    struct mapped_pair mp;
    mapped_pair_open(&mp);
    ipcx_mailbox *tx = mp.tx, *rx = mp.rx;
    struct shm_hdr *h = mp.m.h;
    _Atomic uint64_t *word = (_Atomic uint64_t *)(mp.m.ring + 512);
    uint64_t key = h->key & ~(uint64_t)SHM_ST_MASK;
    uint64_t forged = shm_seq(8704, SHM_ST_COMMIT, key);
    unsigned char msg[100];
    memset(msg, 0x33, sizeof msg);
    /* Lap A: 48-byte messages take 64 bytes each; the 100-byte one at 512 ends at 640. */
    step(tx, rx, 8, 48);
    cr_assert_eq(atomic_load(&h->tail), 512);
    cr_assert_eq(ipcx_send(tx, msg, 100, TMO), 0);
    recv_is(rx, msg, 100);
    cr_assert_eq(atomic_load(word), shm_seq(512, SHM_ST_COMMIT, key));
    step(tx, rx, 54, 48);
    cr_assert_eq(atomic_load(&h->tail), 4096);
    /* Lap B: to 4592 (offset 496), then 2 bytes whose record ends at 4624 (offset 528). */
    step(tx, rx, 7, 48);
    step(tx, rx, 1, 32);
    cr_assert_eq(atomic_load(&h->tail), 4592);
    unsigned char two[2] = {(unsigned char)forged, (unsigned char)(forged >> 8)};
    cr_assert_eq(ipcx_send(tx, two, 2, TMO), 0);
    recv_is(rx, two, 2);
    cr_assert_eq(atomic_load(&h->tail), 4624);
    uint64_t torn = (shm_seq(512, SHM_ST_COMMIT, key) & ~(uint64_t)0xffff) | (forged & 0xffff);
    cr_assert_eq(atomic_load(word), torn, "lap A's header, its two low bytes from lap B's payload");
    cr_assert_neq(torn, forged);
    step(tx, rx, 55, 48);
    step(tx, rx, 1, 32);
    cr_assert_eq(atomic_load(&h->tail), 8192);
    /* Lap C: to 8704, the torn word's position. Nothing has been sent there. */
    step(tx, rx, 8, 48);
    cr_assert_eq(atomic_load(&h->tail), 8704);
    cr_assert_eq(atomic_load(word), torn);
    size_t len = 0;
    unsigned char b[128];
    int rc = ipcx_recv(rx, b, sizeof b, &len, IPCX_NOWAIT);
    cr_assert_eq(rc, IPCX_EAGAIN, "an empty ring gave %s (a %zu-byte message from an old header)",
                 ipcx_errname(rc), len);
    /* And the next real message there arrives as sent. */
    cr_assert_eq(ipcx_send(tx, msg, 100, TMO), 0);
    recv_is(rx, msg, 100);
    cr_assert_eq(atomic_load(&h->head), atomic_load(&h->tail));
    mapped_pair_close(&mp);
}

Test(shm, corrupted_records_are_errors_not_crashes)
{
    struct mapped_pair mp;
    mapped_pair_open(&mp);
    ipcx_mailbox *tx = mp.tx, *rx = mp.rx;
    cr_assert_eq(ipcx_send(tx, "good", 4, TMO), 0);
    cr_assert_eq(ipcx_send(tx, "next", 4, TMO), 0);
    struct shm_rec *r0 = (struct shm_rec *)mp.m.ring;
    atomic_store(&r0->meta, SHM_META(0xfffffff0u, 0)); /* far beyond the ring */
    char b[64];
    size_t len = 0;
    cr_assert_eq(ipcx_recv(rx, b, sizeof b, &len, 0), IPCX_ECORRUPT);
    atomic_store(&r0->meta, SHM_META(4u, 0));
    recv_is(rx, "good", 4);
    struct shm_hdr *h = mp.m.h;
    atomic_store(&h->head, 8u); /* misaligned */
    cr_assert_eq(ipcx_recv(rx, b, sizeof b, &len, 0), IPCX_ECORRUPT);
    atomic_store(&h->head, 32u);
    recv_is(rx, "next", 4);
    atomic_store(&h->tail, 1u << 30); /* a tail far ahead of head */
    cr_assert_eq(ipcx_send(tx, "x", 1, 0), IPCX_ECORRUPT);
    mapped_pair_close(&mp);
}

/*
 * A forged first chunk that announces the largest message the mailbox allows
 * (a terabyte) and brings 16 bytes: a receive that allocates must cost what
 * arrived, not fail with IPCX_ENOMEM (which would keep the chunk first in line
 * for ever), and the next real message must still arrive.
 */
Test(shm, announced_total_is_not_allocated_up_front)
{
    struct name n;
    name_new(&n);
    ipcx_opts o = IPCX_OPTS_INIT;
    ipcx_mailbox *rx = NULL, *tx = NULL;
    o.role = IPCX_RECV;
    o.create = IPCX_CREATE;
    o.flags = IPCX_F_UNLINK_ON_CLOSE;
    o.buffer_size = 4096;
    o.max_msg = (size_t)1 << 40;
    cr_assert_eq(ipcx_open(&rx, n.url, &o), 0);
    o.role = IPCX_SEND;
    o.create = IPCX_ATTACH;
    cr_assert_eq(ipcx_open(&tx, n.url, &o), 0);
    struct seg_map m;
    seg_map_open(&m, n.url);
    struct shm_hdr *h = m.h;
    struct shm_rec *r0 = (struct shm_rec *)m.ring;
    uint64_t total = ((uint64_t)1 << 40) - 1, key = h->key & ~(uint64_t)SHM_ST_MASK;
    memcpy(r0 + 1, &total, 8);
    memset((unsigned char *)(r0 + 1) + 8, 0xab, 16);
    atomic_store(&r0->meta, SHM_META(24u, SHM_R_CHUNK | SHM_R_FIRST));
    atomic_store(&r0->seq, shm_seq(0, SHM_ST_COMMIT, key));
    atomic_store(&h->tail, 48u); /* the record's 16 + 24 bytes, rounded up to 16 */
    void *p = NULL;
    size_t len = 0;
    int rc = ipcx_recv_alloc(rx, &p, &len, 0);
    cr_assert_eq(rc, IPCX_EAGAIN, "the rest of a terabyte has not come: %s", ipcx_errname(rc));
    cr_assert_eq(ipcx_send(tx, "next", 4, TMO), 0);
    cr_assert_eq(ipcx_recv_alloc(rx, &p, &len, TMO), 0);
    cr_assert(len == 4 && memcmp(p, "next", 4) == 0, "the next message, whole");
    ipcx_free(p);
    ipcx_stats st = {.struct_size = sizeof st};
    cr_assert_eq(ipcx_get_stats(rx, &st), 0);
    cr_assert(st.peers_dropped >= 1, "the torn message was not counted");
    seg_map_close(&m);
    ipcx_close(tx);
    ipcx_close(rx);
}

/* The remover of unlink_stale_never_removes_a_live_mailbox: removes the name while stale. */
struct remover {
    const char *url;
    _Atomic int stop;
    _Atomic long removed, busy;
};

static int remover(void *argp, int ready_fd, int go_fd)
{
    struct remover *r = argp;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 30000) != 0)
        return 2;
    int64_t until = th_now_ns() + 30 * IPCX_SEC; /* ends by itself if the test fails early */
    while (!atomic_load(&r->stop) && th_now_ns() < until) {
        int rc = ipcx_unlink_stale(r->url);
        if (rc == 0)
            atomic_fetch_add(&r->removed, 1);
        else if (rc == IPCX_EBUSY)
            atomic_fetch_add(&r->busy, 1);
        else if (rc != IPCX_ENOENT)
            return 10;
    }
    return 0;
}

/*
 * A process removing the name whenever the mailbox is stale, beside one that
 * creates it, attaches a second endpoint by name, passes a message and closes
 * both, over and over: every open succeeds (an opener that meets a removal
 * looks again) and while an endpoint is open the name is never removed (the
 * attach by name always finds it).
 */
Test(shm, unlink_stale_never_removes_a_live_mailbox, .timeout = 60)
{
    struct name n;
    name_new(&n);
    struct remover *r =
        mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert(r != MAP_FAILED);
    r->url = n.url;
    th_child c = TH_CHILD_INIT;
    cr_assert_eq(th_fork(&c, remover, r), 0);
    cr_assert_eq(th_wait_byte(c.ready_fd, 30000), 0, "remover not ready");
    cr_assert_eq(th_signal(c.go_fd), 0);
    /* 2 s (or 100000 rounds), and on until a removal has raced the opens: on a loaded machine
     * the remover may not run at all in the first 2 s. */
    int64_t until = th_now_ns() + 2 * IPCX_SEC, give_up = until + 18 * IPCX_SEC;
    int rounds = 0;
    for (;; rounds++) {
        int64_t now = th_now_ns();
        if (rounds >= 200 && (rounds >= 100000 || now >= until) &&
            (atomic_load(&r->removed) > 0 || now >= give_up))
            break;
        ipcx_mailbox *rx = NULL, *tx = NULL;
        ipcx_opts o = IPCX_OPTS_INIT;
        o.role = IPCX_RECV;
        o.buffer_size = 4096;
        int rc = ipcx_open(&rx, n.url, &o);
        cr_assert_eq(rc, 0, "round %d: create or attach: %s", rounds, ipcx_errname(rc));
        o.role = IPCX_SEND;
        o.create = IPCX_ATTACH;
        rc = ipcx_open(&tx, n.url, &o);
        cr_assert_eq(rc, 0, "round %d: attach by name while a receiver holds it: %s", rounds,
                     ipcx_errname(rc));
        cr_assert_eq(ipcx_send(tx, "x", 1, TMO), 0);
        recv_is(rx, "x", 1);
        ipcx_close(tx);
        ipcx_close(rx);
    }
    atomic_store(&r->stop, 1);
    int st = th_reap(&c, 30000);
    char sb[64];
    cr_assert(th_exited_ok(st), "remover: %s", th_status_str(st, sb, sizeof sb));
    cr_log_info("%d rounds: the remover removed %ld stale mailboxes and left %ld live ones", rounds,
                atomic_load(&r->removed), atomic_load(&r->busy));
    cr_assert_gt(atomic_load(&r->removed), 0,
                 "no removal raced the opens: the test proved nothing");
    (void)ipcx_unlink(n.url);
    munmap(r, sizeof *r);
}

/* A fork()ed child that closes the endpoints it inherited must not release the parent's. */
static int close_inherited(void *argp, int ready_fd, int go_fd)
{
    ipcx_mailbox **mbs = argp;
    (void)go_fd;
    ipcx_close(mbs[0]);
    ipcx_close(mbs[1]);
    return th_signal(ready_fd) == 0 ? 0 : 1;
}

Test(shm, fork_child_closing_inherited_endpoints)
{
    struct name n;
    name_new(&n);
    ipcx_mailbox *mbs[2];
    mbs[0] = open_ok(n.url, IPCX_RECV, 0, IPCX_F_SPSC | IPCX_F_UNLINK_ON_CLOSE, 0);
    mbs[1] = open_ok(n.url, IPCX_SEND, 0, 0, 0);
    th_child c = TH_CHILD_INIT;
    cr_assert_eq(th_fork(&c, close_inherited, mbs), 0);
    cr_assert_eq(th_wait_byte(c.ready_fd, 10000), 0, "child did not close");
    int st = th_reap(&c, 10000);
    cr_assert(th_exited_ok(st));
    ipcx_mailbox_info info = {.struct_size = sizeof info};
    cr_assert_eq(ipcx_inspect(n.url, &info), 0, "the child's close removed the mailbox");
    cr_assert_eq(info.senders, 1, "the parent's sender lost its place");
    cr_assert_eq(info.receivers, 1, "the parent's receiver lost its place");
    ipcx_mailbox *extra;
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_SEND;
    cr_assert_eq(ipcx_open(&extra, n.url, &o), IPCX_EBUSY, "SPSC admitted a second sender");
    cr_assert_eq(ipcx_send(mbs[1], "still", 5, TMO), 0);
    recv_is(mbs[0], "still", 5);
    ipcx_close(mbs[1]);
    ipcx_close(mbs[0]);
}
