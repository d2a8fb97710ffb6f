/*
 * test_manysenders.c: many sender processes into one receiver, on every
 * named transport. Four forked senders send MSGS messages each; every
 * message carries (sender id, sequence number, checksum of the rest) in its
 * first TH_HDR bytes. The receiver asserts nothing is lost, nothing is
 * duplicated, each sender's order is kept and every checksum is right.
 *
 * Sizes: drawn per message from a skewed distribution over 0..65536 bytes
 * (80% in 0..256, 15% in 0..4096, 5% in 0..65536, mean about 2 KiB; the first two messages of
 * each sender are exactly 65536 and 0 bytes before padding) so that
 * 4 x 100,000 messages stay well within a minute on a 2-core machine while
 * still exercising large frames. A message drawn smaller than TH_HDR (20
 * bytes) is padded up to TH_HDR, because it must carry its header;
 * zero-length and tiny messages are covered by the conformance suite.
 * Never sleeps to wait for a peer: readiness and start travel over pipes.
 */
#include <criterion/criterion.h>

#include "../common/harness.h"

#define NSENDERS 4
#define MSGS     100000
#define MAXSZ    65536u

struct ms_arg {
    const char *url;
    uint32_t id;
};

static size_t ms_size(uint64_t *rng, uint64_t seq)
{
    size_t sz;
    if (seq == 0)
        sz = MAXSZ;
    else if (seq == 1)
        sz = 0;
    else {
        uint64_t r = th_mix64(rng);
        unsigned pick = (unsigned)(r % 1000);
        uint64_t v = r >> 20;
        if (pick < 800)
            sz = (size_t)(v % 257);
        else if (pick < 950)
            sz = (size_t)(v % 4097);
        else
            sz = (size_t)(v % (MAXSZ + 1));
    }
    return sz < TH_HDR ? TH_HDR : sz;
}

/* Exit codes: 0 ok, 2 open failed, 3 no go, 4 alloc, 10 a send failed. */
static int ms_sender(void *argp, int ready_fd, int go_fd)
{
    struct ms_arg *a = argp;
    ipcx_mailbox *snd = NULL;
    if (th_open_send(a->url, NULL, &snd) != 0)
        return 2;
    unsigned char *buf = malloc(MAXSZ);
    if (!buf)
        return 4;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 30000) != 0)
        return 3;
    uint64_t rng = 0xA5A5ull + a->id;
    for (uint64_t seq = 0; seq < MSGS; seq++) {
        size_t sz = ms_size(&rng, seq);
        th_msg_fill(buf, sz, a->id, seq);
        int rc = ipcx_send(snd, buf, sz, 30 * IPCX_SEC);
        if (rc != 0) {
            fprintf(stderr, "sender %u: send #%llu (%zu bytes): %s\n", a->id,
                    (unsigned long long)seq, sz, ipcx_errname(rc));
            return 10;
        }
    }
    ipcx_close(snd);
    free(buf);
    return 0;
}

static void many_senders(const th_scheme *s)
{
    char url[TH_URL_MAX];
    ipcx_mailbox *rcv = NULL;
    int rc = th_open_recv(s, NULL, &rcv, url, sizeof url);
    cr_assert_eq(rc, 0, "[%s] open receiver %s: %s", s->name, url, ipcx_errname(rc));

    struct ms_arg args[NSENDERS];
    th_child kids[NSENDERS];
    for (int i = 0; i < NSENDERS; i++)
        kids[i] = (th_child)TH_CHILD_INIT;
    for (uint32_t i = 0; i < NSENDERS; i++) {
        args[i].url = url;
        args[i].id = i;
        cr_assert_eq(th_fork(&kids[i], ms_sender, &args[i]), 0);
    }
    for (int i = 0; i < NSENDERS; i++)
        cr_assert_eq(th_wait_byte(kids[i].ready_fd, 10000), 0, "[%s] sender %d not ready", s->name,
                     i);
    int64_t t0 = th_now_ns();
    for (int i = 0; i < NSENDERS; i++)
        th_signal(kids[i].go_fd);

    unsigned char *buf = malloc(MAXSZ + 64);
    cr_assert_not_null(buf);
    uint64_t next[NSENDERS] = {0};
    uint64_t total = 0, bytes = 0;
    char err[256] = "";
    while (total < (uint64_t)NSENDERS * MSGS) {
        size_t len = 0;
        rc = ipcx_recv(rcv, buf, MAXSZ + 64, &len, 20 * IPCX_SEC);
        if (rc != 0) {
            snprintf(err, sizeof err, "recv after %llu messages: %s", (unsigned long long)total,
                     ipcx_errname(rc));
            break;
        }
        uint32_t id;
        uint64_t seq;
        int ck = th_msg_check(buf, len, &id, &seq);
        if (ck != 0) {
            snprintf(err, sizeof err, "message %llu (%zu bytes): %s", (unsigned long long)total,
                     len, ck == -1 ? "shorter than its header" : "checksum mismatch");
            break;
        }
        if (id >= NSENDERS) {
            snprintf(err, sizeof err, "message %llu: sender id %u", (unsigned long long)total, id);
            break;
        }
        if (seq != next[id]) {
            snprintf(err, sizeof err, "sender %u: got seq %llu, expected %llu (%s)", id,
                     (unsigned long long)seq, (unsigned long long)next[id],
                     seq < next[id] ? "duplicate or reordered" : "lost messages");
            break;
        }
        next[id]++;
        total++;
        bytes += len;
    }
    int64_t el = th_now_ns() - t0;
    if (err[0]) {
        for (int i = 0; i < NSENDERS; i++)
            th_kill(&kids[i]);
        cr_assert_fail("[%s] %s", s->name, err);
    }
    for (int i = 0; i < NSENDERS; i++) {
        char sb[64];
        int st = th_reap(&kids[i], 30000);
        cr_assert(th_exited_ok(st), "[%s] sender %d: %s", s->name, i,
                  th_status_str(st, sb, sizeof sb));
        cr_assert_eq(next[i], MSGS, "[%s] sender %d: %llu of %d messages", s->name, i,
                     (unsigned long long)next[i], MSGS);
    }
    size_t extra = 0;
    rc = ipcx_recv(rcv, buf, MAXSZ + 64, &extra, 100 * IPCX_MSEC);
    cr_assert_eq(rc, IPCX_ETIMEDOUT, "[%s] after all messages recv gave %s (%zu bytes extra?)",
                 s->name, ipcx_errname(rc), extra);
    ipcx_stats st = {.struct_size = sizeof st};
    cr_assert_eq(ipcx_get_stats(rcv, &st), 0);
    cr_expect_eq(st.received, (uint64_t)NSENDERS * MSGS, "[%s] stats.received %llu", s->name,
                 (unsigned long long)st.received);
    cr_expect_eq(st.peers_dropped, 0, "[%s] stats.peers_dropped %llu (%s)", s->name,
                 (unsigned long long)st.peers_dropped, ipcx_errname(st.last_drop_error));
    cr_log_info("[%s] %d x %d messages, %.1f MB in %.2f s", s->name, NSENDERS, MSGS,
                (double)bytes / 1e6, (double)el / 1e9);
    ipcx_close(rcv);
    th_cleanup_url(url);
    free(buf);
}

static const th_scheme ms_unix_path = {"unix-path", "unix://", TH_ADDR_PATH, ".sock", 0};
static const th_scheme ms_unix_abs = {"unix-abstract", "unix://", TH_ADDR_ABSTRACT, NULL, 0};
static const th_scheme ms_fifo = {"fifo", "fifo://", TH_ADDR_PATH, ".fifo", 0};
static const th_scheme ms_tcp4 = {"tcp4", "tcp://", TH_ADDR_TCP4, NULL, 0};

Test(manysenders, unix_path, .timeout = 180)
{
    many_senders(&ms_unix_path);
}
Test(manysenders, unix_abstract, .timeout = 180)
{
    many_senders(&ms_unix_abs);
}
Test(manysenders, fifo, .timeout = 180)
{
    many_senders(&ms_fifo);
}
Test(manysenders, tcp4, .timeout = 180)
{
    many_senders(&ms_tcp4);
}
