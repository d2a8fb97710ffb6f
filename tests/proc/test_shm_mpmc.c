/*
 * test_shm_mpmc.c: many sender processes and many receiver processes on one
 * shm:// mailbox with a 4 KiB ring: 1x1, 4x1, 1x4 and 4x4, and 1x1 on an
 * IPCX_F_SPSC mailbox. Messages are 0..12 KiB (three rings), so a large one
 * travels as up to a dozen chunks that must all reach the same receiver.
 * Every non-empty message carries (sender id, sequence number, checksum);
 * each receiver checks checksum and size and writes one compact record per
 * message into a shared mapping, and the parent checks that nothing was lost
 * or duplicated and that, for each receiver, each sender's messages came in
 * increasing sequence. Empty messages carry no identity: their total is
 * checked instead. Receivers end on stop messages sent after the last data
 * message, one per receiver (each receiver takes exactly one and leaves).
 * Also: eight processes racing to open one IPCX_F_SPSC mailbox, 2,000 times,
 * must never get two endpoints of one role in.
 *
 * 1,000,000 messages per test, divided by IPCX_TEST_SCALE (sanitizer and
 * Debug builds set it). Readiness and start travel over pipes; no sleep.
 * The mailbox's name is removed as soon as every process has attached, so a
 * failing test leaves nothing in /dev/shm.
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../common/harness.h"
#include "../common/shm_check.h"
#include "shm/layout.h"

#define MSGS_FULL 1000000u
#define MAXPROC   4
#define CALL_TMO  (30 * IPCX_SEC) /* per send/recv: a stall this long is a failure */
#define REAP_MS   240000

struct mp_run {
    char url[TH_URL_MAX];
    uint32_t nsend, nrecv;
    uint64_t per; /* messages per sender */
    int spsc;     /* IPCX_F_SPSC: sender 0 sends the stop message itself */
    struct sc_report *rep[MAXPROC];
    size_t rep_bytes;
};

struct mp_arg {
    struct mp_run *run;
    uint32_t id;
};

static int mp_open(const char *url, unsigned role, ipcx_mailbox **mb)
{
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = role;
    o.create = IPCX_ATTACH;
    return ipcx_open(mb, url, &o);
}

/* Exit codes: 0 ok, 2 open failed, 3 no go, 4 alloc, 10 a send failed. */
static int mp_sender(void *argp, int ready_fd, int go_fd)
{
    struct mp_arg *a = argp;
    struct mp_run *run = a->run;
    ipcx_mailbox *tx = NULL;
    int rc = mp_open(run->url, IPCX_SEND, &tx);
    if (rc != 0) {
        fprintf(stderr, "sender %u: open: %s\n", a->id, ipcx_errname(rc));
        return 2;
    }
    unsigned char *buf = malloc(SC_MAXSZ);
    if (!buf)
        return 4;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 60000) != 0)
        return 3;
    for (uint64_t seq = 0; seq < run->per; seq++) {
        size_t sz = sc_fill(buf, a->id, seq);
        rc = ipcx_send(tx, buf, sz, CALL_TMO);
        if (rc != 0) {
            fprintf(stderr, "sender %u: send #%llu (%zu bytes): %s\n", a->id,
                    (unsigned long long)seq, sz, ipcx_errname(rc));
            return 10;
        }
    }
    if (run->spsc) {
        for (uint32_t i = 0; i < run->nrecv; i++) {
            th_msg_fill(buf, TH_HDR, SC_STOP_ID, i);
            if ((rc = ipcx_send(tx, buf, TH_HDR, CALL_TMO)) != 0) {
                fprintf(stderr, "sender %u: stop: %s\n", a->id, ipcx_errname(rc));
                return 10;
            }
        }
    }
    free(buf);
    ipcx_close(tx);
    return 0;
}

/* Exit codes: 0 ok, 2 open failed, 3 no go, 4 alloc, 10 a receive failed. */
static int mp_receiver(void *argp, int ready_fd, int go_fd)
{
    struct mp_arg *a = argp;
    struct mp_run *run = a->run;
    struct sc_report *rep = run->rep[a->id];
    ipcx_mailbox *rx = NULL;
    int rc = mp_open(run->url, IPCX_RECV, &rx);
    if (rc != 0) {
        fprintf(stderr, "receiver %u: open: %s\n", a->id, ipcx_errname(rc));
        return 2;
    }
    unsigned char *buf = malloc(SC_MAXSZ + 64);
    if (!buf)
        return 4;
    th_signal(ready_fd);
    if (th_wait_byte(go_fd, 60000) != 0)
        return 3;
    for (;;) {
        size_t len = 0;
        rc = ipcx_recv(rx, buf, SC_MAXSZ + 64, &len, CALL_TMO);
        if (rc != 0) {
            atomic_store(&rep->recv_err, rc);
            fprintf(stderr, "receiver %u: recv after %llu records: %s\n", a->id,
                    (unsigned long long)atomic_load(&rep->n), ipcx_errname(rc));
            return 10;
        }
        if (sc_take(rep, buf, len, run->nsend, run->per))
            break;
    }
    atomic_store(&rep->stopped, 1);
    ipcx_stats st = {.struct_size = sizeof st};
    if (ipcx_get_stats(rx, &st) == 0)
        atomic_store(&rep->dropped, st.peers_dropped);
    free(buf);
    ipcx_close(rx);
    return 0;
}

static void kill_all(th_child *k, int n)
{
    for (int i = 0; i < n; i++)
        th_kill(&k[i]);
}

static void mpmc(uint32_t nsend, uint32_t nrecv, int spsc)
{
    static const th_scheme shm = {"shm", "shm://", TH_ADDR_NAME, NULL, 0};
    struct mp_run run;
    memset(&run, 0, sizeof run);
    run.nsend = nsend;
    run.nrecv = nrecv;
    run.spsc = spsc;
    run.per = sc_scaled(MSGS_FULL, 2000) / nsend;
    const uint64_t total = run.per * nsend;
    char path[2 * TH_URL_MAX];
    th_make_url(&shm, run.url, sizeof run.url);
    snprintf(path, sizeof path, "/dev/shm/ipcx.%s", run.url + 6);

    /* Reports: one shared mapping, each receiver's part sized for every message. */
    run.rep_bytes = sc_report_bytes(total);
    unsigned char *map = mmap(NULL, run.rep_bytes * nrecv, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    cr_assert(map != MAP_FAILED, "mmap reports: %s", strerror(errno));
    for (uint32_t i = 0; i < nrecv; i++) {
        run.rep[i] = (struct sc_report *)(map + run.rep_bytes * i);
        sc_report_init(run.rep[i], total);
    }

    /* The mailbox: made here; the parent keeps a sender for the stop messages (not in SPSC,
     * where the single sender place belongs to the sending child). */
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_SEND;
    o.create = IPCX_CREATE_EXCL;
    o.buffer_size = SC_RING;
    o.flags = spsc ? IPCX_F_SPSC : 0u;
    ipcx_mailbox *ctl = NULL;
    int rc = ipcx_open(&ctl, run.url, &o);
    cr_assert_eq(rc, 0, "create %s: %s", run.url, ipcx_errname(rc));
    ipcx_mailbox_info info = {.struct_size = sizeof info};
    rc = ipcx_inspect(run.url, &info);
    if (rc != 0 || info.buffer_size != SC_RING) {
        ipcx_close(ctl);
        ipcx_unlink(run.url);
        cr_assert_fail("inspect %s: %s, ring %llu bytes", run.url, ipcx_errname(rc),
                       (unsigned long long)info.buffer_size);
    }
    if (spsc) {
        ipcx_close(ctl); /* the mailbox stays: no UNLINK_ON_CLOSE */
        ctl = NULL;
    }

    struct mp_arg sargs[MAXPROC], rargs[MAXPROC];
    th_child snd[MAXPROC], rcv[MAXPROC];
    for (int i = 0; i < MAXPROC; i++)
        snd[i] = rcv[i] = (th_child)TH_CHILD_INIT;
    char err[640] = "";
    for (uint32_t i = 0; i < nrecv && !err[0]; i++) {
        rargs[i] = (struct mp_arg){&run, i};
        if ((rc = th_fork(&rcv[i], mp_receiver, &rargs[i])) != 0 ||
            th_wait_byte(rcv[i].ready_fd, 20000) != 0)
            snprintf(err, sizeof err, "receiver %u did not start (%d)", i, rc);
    }
    for (uint32_t i = 0; i < nsend && !err[0]; i++) {
        sargs[i] = (struct mp_arg){&run, i};
        if ((rc = th_fork(&snd[i], mp_sender, &sargs[i])) != 0 ||
            th_wait_byte(snd[i].ready_fd, 20000) != 0)
            snprintf(err, sizeof err, "sender %u did not start (%d)", i, rc);
    }
    /* A read-only view of the segment, for a post-mortem if the run stalls. */
    const void *seg = sc_seg_map(run.url);
    /* Everyone is attached: the name can go now, so nothing is left behind whatever happens. */
    int unlinked = ipcx_unlink(run.url);
    struct stat stbuf;
    int still_there = stat(path, &stbuf) == 0;
    if (err[0] || unlinked != 0 || still_there) {
        kill_all(snd, MAXPROC);
        kill_all(rcv, MAXPROC);
        if (ctl)
            ipcx_close(ctl);
        cr_assert_fail("%s (unlink: %s, %s %s)", err[0] ? err : "start", ipcx_errname(unlinked),
                       path, still_there ? "still exists" : "gone");
    }

    int64_t t0 = th_now_ns();
    for (uint32_t i = 0; i < nrecv; i++)
        th_signal(rcv[i].go_fd);
    for (uint32_t i = 0; i < nsend; i++)
        th_signal(snd[i].go_fd);
    char sb[64];
    for (uint32_t i = 0; i < nsend && !err[0]; i++) {
        int st = th_reap(&snd[i], REAP_MS);
        if (!th_exited_ok(st))
            snprintf(err, sizeof err, "sender %u: %s", i, th_status_str(st, sb, sizeof sb));
    }
    /* The stop messages follow every data message in the ring. */
    unsigned char stop[TH_HDR];
    for (uint32_t i = 0; ctl && i < nrecv && !err[0]; i++) {
        th_msg_fill(stop, TH_HDR, SC_STOP_ID, i);
        if ((rc = ipcx_send(ctl, stop, TH_HDR, CALL_TMO)) != 0)
            snprintf(err, sizeof err, "stop message %u: %s", i, ipcx_errname(rc));
    }
    for (uint32_t i = 0; i < nrecv && !err[0]; i++) {
        int st = th_reap(&rcv[i], REAP_MS);
        if (!th_exited_ok(st))
            snprintf(err, sizeof err, "receiver %u: %s (recv error %s, %llu records)", i,
                     th_status_str(st, sb, sizeof sb),
                     ipcx_errname(atomic_load(&run.rep[i]->recv_err)),
                     (unsigned long long)atomic_load(&run.rep[i]->n));
    }
    int64_t el = th_now_ns() - t0;
    if (err[0]) /* before the kill: the state the stall left */
        sc_seg_dump(err + strlen(err), sizeof err - strlen(err), seg);
    sc_seg_unmap(seg);
    kill_all(snd, MAXPROC);
    kill_all(rcv, MAXPROC);
    if (ctl)
        ipcx_close(ctl);
    if (err[0]) {
        munmap(map, run.rep_bytes * nrecv);
        cr_assert_fail("%ux%u%s: %s", nsend, nrecv, spsc ? " spsc" : "", err);
    }

    /* The parent's check over every receiver's records. */
    uint64_t expect[MAXPROC], empties = 0;
    for (uint32_t s = 0; s < nsend; s++) {
        expect[s] = run.per;
        empties += sc_empties(s, run.per);
    }
    unsigned char *seen = malloc((size_t)nsend * run.per);
    cr_assert_not_null(seen);
    struct sc_verdict v;
    sc_verify(run.rep, (int)nrecv, nsend, expect, run.per, seen, &v);
    free(seen);
    char share[128] = "";
    uint64_t dropped = 0;
    for (uint32_t i = 0; i < nrecv; i++) {
        size_t l = strlen(share);
        snprintf(share + l, sizeof share - l, "%s%llu", i ? "/" : "",
                 (unsigned long long)atomic_load(&run.rep[i]->n));
        dropped += atomic_load(&run.rep[i]->dropped);
        cr_expect(atomic_load(&run.rep[i]->stopped), "receiver %u never got its stop message", i);
    }
    munmap(map, run.rep_bytes * nrecv);
    cr_log_info("shm %ux%u%s: %llu messages (%llu empty) in %.2f s, per receiver %s", nsend, nrecv,
                spsc ? " spsc" : "", (unsigned long long)total, (unsigned long long)empties,
                (double)el / 1e9, share);
    cr_assert_eq(v.bad, 0, "%llu bad messages; first: %s", (unsigned long long)v.bad, v.first);
    cr_assert_eq(v.dups, 0, "%llu duplicates; first: %s", (unsigned long long)v.dups, v.first);
    cr_assert_eq(v.disorder, 0, "%llu out of order; first: %s", (unsigned long long)v.disorder,
                 v.first);
    cr_assert_eq(v.missing, 0, "%llu lost; first: %s", (unsigned long long)v.missing, v.first);
    cr_assert_eq(v.got + v.empties, total, "%llu + %llu empty of %llu messages",
                 (unsigned long long)v.got, (unsigned long long)v.empties,
                 (unsigned long long)total);
    cr_assert_eq(v.empties, empties, "%llu empty messages arrived, %llu were sent",
                 (unsigned long long)v.empties, (unsigned long long)empties);
    cr_assert_eq(dropped, 0, "receivers discarded %llu torn or orphan messages",
                 (unsigned long long)dropped);
}

/* ------------------------------------------------------------------------ */
/* SPSC admission under a race                                               */
/* ------------------------------------------------------------------------ */

#define RACERS      8 /* half try to become the sender, half the receiver */
#define RACE_ROUNDS 2000u

/* The racers' shared state: a start line per round, made of atomics in a shared mapping. */
struct race {
    char url[TH_URL_MAX];
    _Atomic uint64_t round; /* the round the racers may start (1-based); 0 before, ~0 to leave */
    _Atomic int tried;      /* racers done with this round's open */
    _Atomic int closed;     /* racers done with this round altogether */
    _Atomic int admitted[2];
    _Atomic int other_err; /* an error other than IPCX_EBUSY */
};

/* Spins (yielding) until *v reaches want, for at most 20 s; 0 or -1. */
static int race_wait(_Atomic int *v, int want)
{
    int64_t until = th_now_ns() + 20 * IPCX_SEC;
    while (atomic_load(v) < want)
        if (th_now_ns() > until)
            return -1;
        else
            sched_yield();
    return 0;
}

static int racer(void *argp, int ready_fd, int go_fd)
{
    struct race *r = argp;
    const int side = (int)(getpid() & 1); /* 1: receiver; the parent knows it from the pid */
    (void)go_fd;
    th_signal(ready_fd);
    for (uint64_t seen = 0;;) {
        uint64_t round;
        int64_t until = th_now_ns() + 30 * IPCX_SEC;
        while ((round = atomic_load(&r->round)) == seen) {
            if (th_now_ns() > until)
                return 3;
            sched_yield();
        }
        if (round == UINT64_MAX)
            return 0;
        seen = round;
        ipcx_mailbox *mb = NULL;
        int rc = mp_open(r->url, side ? IPCX_RECV : IPCX_SEND, &mb);
        if (rc == 0)
            atomic_fetch_add(&r->admitted[side], 1);
        else if (rc != IPCX_EBUSY)
            atomic_store(&r->other_err, rc);
        atomic_fetch_add(&r->tried, 1);
        if (race_wait(&r->tried, RACERS) != 0) /* keep the place until everyone has tried */
            return 4;
        if (mb)
            ipcx_close(mb);
        atomic_fetch_add(&r->closed, 1);
    }
}

/*
 * IPCX_F_SPSC admits one endpoint per role. Eight processes open the same
 * fresh mailbox at the same instant, each as sender or receiver (by pid
 * parity): exactly one of each role asked for must get in, every other open
 * answers IPCX_EBUSY. 2,000 rounds (divided by IPCX_TEST_SCALE) with the same
 * eight processes, started by a spinning start line in shared memory.
 */
Test(shm_mpmc, spsc_admits_one_per_role_when_racing, .timeout = 300, .fini = sc_names_fini)
{
    static const th_scheme shm = {"shm", "shm://", TH_ADDR_NAME, NULL, 0};
    struct race *r =
        mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    cr_assert(r != MAP_FAILED);
    atomic_store(&r->round, 0);
    th_child k[RACERS];
    int asked[2] = {0, 0};
    for (int i = 0; i < RACERS; i++) {
        k[i] = (th_child)TH_CHILD_INIT;
        cr_assert_eq(th_fork(&k[i], racer, r), 0);
        asked[k[i].pid & 1]++;
    }
    for (int i = 0; i < RACERS; i++)
        cr_assert_eq(th_wait_byte(k[i].ready_fd, 20000), 0, "racer %d did not start", i);
    uint64_t rounds = sc_scaled(RACE_ROUNDS, 100);
    char err[2 * TH_URL_MAX] = "";
    for (uint64_t round = 1; round <= rounds && !err[0]; round++) {
        th_make_url(&shm, r->url, sizeof r->url);
        ipcx_opts o = IPCX_OPTS_INIT;
        o.role = IPCX_SEND;
        o.create = IPCX_CREATE_EXCL;
        o.buffer_size = SC_RING;
        o.flags = IPCX_F_SPSC;
        ipcx_mailbox *mk = NULL;
        int rc = ipcx_open(&mk, r->url, &o);
        if (rc != 0) {
            snprintf(err, sizeof err, "create %s: %s", r->url, ipcx_errname(rc));
            break;
        }
        ipcx_close(mk); /* the mailbox stays; its places are free */
        atomic_store(&r->tried, 0);
        atomic_store(&r->closed, 0);
        atomic_store(&r->admitted[0], 0);
        atomic_store(&r->admitted[1], 0);
        atomic_store(&r->round, round); /* go */
        if (race_wait(&r->closed, RACERS) != 0)
            snprintf(err, sizeof err, "round %llu: the racers did not finish",
                     (unsigned long long)round);
        ipcx_unlink(r->url);
        if (!err[0] && atomic_load(&r->other_err))
            snprintf(err, sizeof err, "round %llu: an open failed with %s",
                     (unsigned long long)round, ipcx_errname(atomic_load(&r->other_err)));
        for (int side = 0; side < 2 && !err[0]; side++)
            if (atomic_load(&r->admitted[side]) != (asked[side] ? 1 : 0))
                snprintf(err, sizeof err,
                         "round %llu: %d %s admitted on an SPSC mailbox (%d asked)",
                         (unsigned long long)round, atomic_load(&r->admitted[side]),
                         side ? "receivers" : "senders", asked[side]);
    }
    atomic_store(&r->round, UINT64_MAX);
    char sb[64];
    int st_bad = 0, who = -1;
    for (int i = 0; i < RACERS; i++) {
        int st = th_reap(&k[i], 30000);
        if (!th_exited_ok(st) && who < 0) {
            who = i;
            st_bad = st;
        }
    }
    munmap(r, sizeof *r);
    cr_assert(err[0] == '\0', "%s", err);
    cr_assert(who < 0, "racer %d: %s", who, th_status_str(st_bad, sb, sizeof sb));
}

Test(shm_mpmc, s1_r1, .timeout = 300, .fini = sc_names_fini)
{
    mpmc(1, 1, 0);
}

Test(shm_mpmc, s4_r1, .timeout = 300, .fini = sc_names_fini)
{
    mpmc(4, 1, 0);
}

Test(shm_mpmc, s1_r4, .timeout = 300, .fini = sc_names_fini)
{
    mpmc(1, 4, 0);
}

Test(shm_mpmc, s4_r4, .timeout = 300, .fini = sc_names_fini)
{
    mpmc(4, 4, 0);
}

Test(shm_mpmc, spsc_s1_r1, .timeout = 300, .fini = sc_names_fini)
{
    mpmc(1, 1, 1);
}
