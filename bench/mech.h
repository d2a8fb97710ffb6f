/*
 * mech.h: the benchmark's mechanism table. A mechanism is one way of moving
 * fixed-size messages between two processes in both directions (raw syscalls,
 * the library, or a peer library such as ZeroMQ), and optionally from several
 * producer processes to one or several consumers through one shared mailbox
 * (the many_* members). The workloads and the runner only ever see this
 * table, so a new mechanism is one new table and one line in the registry; it
 * must never time, fill or check messages itself (the workloads do that, once).
 */
#ifndef BENCH_MECH_H
#define BENCH_MECH_H

#include <stddef.h>

/* The two processes of a cell. The parent runs the timed side. */
enum { SIDE_PARENT = 0, SIDE_CHILD = 1 };

/* Upper bound on a mechanism's pre-fork state and endpoint state. */
#define MECH_STATE_MAX 512

/*
 * What setup() leaves for both processes: it runs once, before fork, and its
 * contents are inherited by the child. A mechanism keeps its own struct in
 * `u` (file descriptors, names, ports).
 */
struct mech_setup {
    size_t msg_size;  /* every message of the cell has this size */
    unsigned cell_id; /* unique per cell within this run (for names) */
    /*
     * Every message size of the run, for a mechanism that configures
     * something once per run (iceoryx's memory pools). Valid in the parent
     * only: a fresh child (MECH_F_FRESH_CHILD) gets NULL and 0.
     */
    const size_t *run_sizes;
    size_t run_nsizes;
    /* A many-party cell (fanin, mpmc): how many of each; 0 and 0 in a two-party cell. */
    unsigned producers, consumers;
    union {
        unsigned char bytes[MECH_STATE_MAX];
        long double align_ld;
        void *align_p;
    } u;
};

/* The most producers and consumers a many-party cell has. */
#define MECH_MANY_MAX_PRODUCERS 16
#define MECH_MANY_MAX_CONSUMERS 8

/* What a process is in a many-party cell; MECH_TWO_PARTY in the others. */
enum { MECH_TWO_PARTY = 0, MECH_PRODUCER = 1, MECH_CONSUMER = 2 };

/*
 * One process's end of a cell: two directions, to and from the peer; or, in a
 * many-party cell, producer `index` (sends only) or consumer `index` (receives
 * only), counted from 0 within its role.
 */
struct mech_ep {
    int side; /* SIDE_PARENT or SIDE_CHILD (every party of a many-party cell is a child) */
    int role; /* MECH_TWO_PARTY, MECH_PRODUCER or MECH_CONSUMER */
    unsigned index;
    size_t msg_size;
    union {
        unsigned char bytes[MECH_STATE_MAX];
        long double align_ld;
        void *align_p;
    } u;
};

/*
 * The child half of the cell runs in a freshly executed ipcx-bench (fork, then
 * exec of /proc/self/exe), not in a plain fork of the parent: for libraries
 * with process-wide state that does not survive fork (nng's threads,
 * iceoryx's runtime singleton). The setup struct reaches the child as bytes,
 * so it must hold no pointers the child uses. Nothing timed changes.
 */
#define MECH_F_FRESH_CHILD 1u

/*
 * The receiver spins (polls shared memory) rather than sleeping in the
 * kernel while it waits, so it holds a core busy: the reports keep these
 * apart from mechanisms that block ("no core to spin").
 */
#define MECH_F_SPINS 2u

/*
 * One mechanism. Call order in a cell:
 *   unavailable (parent, may be NULL; a reason skips the cell, nothing below runs)
 *   setup (parent, before fork)
 *   open  (each process, after fork; creates what it receives on, accepts nothing)
 *   -- barrier: both sides have opened --
 *   connect (each process, may be NULL; connects to or accepts the peer)
 *   -- barrier: both sides have connected --
 *   send / recv (the workload, timed)
 *   -- barrier: both sides are done with the workload --
 *   close (each process; the peer may already have closed)
 *   teardown (parent, after the child has exited; may be NULL)
 * Every function returns 0 or a negative errno-style code; send and recv move
 * exactly one whole message of ep->msg_size bytes and block until done.
 */
struct mech {
    const char *name;     /* "raw-pipe", "ipcx-unix", ... */
    const char *baseline; /* the raw mechanism or floor this one is compared with, or NULL */
    const char *what;     /* one line for --list */
    unsigned flags;       /* MECH_F_* */
    /*
     * Optional (NULL: always available). Returns NULL when a cell of
     * s->msg_size can run, or why not, in one line that says what to do
     * ("libzmq not found at build time (apt-get install libzmq3-dev, then
     * re-run cmake)"); the runner prints each distinct reason once per run,
     * shows the cells as skipped and does not count them as failures. Called
     * in the parent before every cell; it may start what the mechanism needs
     * for the whole run (iceoryx's RouDi) and remember a failure. With s NULL
     * (--list) it must only report what the build lacks, with no side effects.
     * A mechanism that is never available may leave every other member NULL.
     */
    const char *(*unavailable)(const struct mech_setup *s);
    int (*setup)(struct mech_setup *s);
    int (*open)(const struct mech_setup *s, struct mech_ep *ep);
    int (*connect)(const struct mech_setup *s, struct mech_ep *ep);
    int (*send)(struct mech_ep *ep, const void *buf);
    int (*recv)(struct mech_ep *ep, void *buf);
    void (*close)(struct mech_ep *ep);
    void (*teardown)(struct mech_setup *s);
    /*
     * Zero copy, optional (NULL for copying mechanisms): loan a buffer of
     * msg_size bytes the workload fills in place, then commit it; view the
     * next message in place, which the workload checks there, then release
     * it. A mechanism with loan/commit still has send (for nothing else);
     * one with view/release still has recv.
     */
    int (*loan)(struct mech_ep *ep, void **buf);
    int (*commit)(struct mech_ep *ep, void *buf);
    int (*view)(struct mech_ep *ep, const void **buf);
    int (*release)(struct mech_ep *ep, const void *buf);

    /*
     * Many-party cells, optional. fanin: s->producers processes send to one
     * mailbox that one consumer reads (s->consumers == 1); mpmc: s->producers
     * send to one mailbox that s->consumers read, every message going to
     * exactly one of them. The runner forks every party (the parent only
     * coordinates; MECH_F_FRESH_CHILD re-executes each), and the workloads
     * use the two-party send/recv (or loan/commit, view/release) and close on
     * the endpoints these open, so a mechanism adds only how its shared
     * mailbox is made and joined. Call order in a cell:
     *   unavailable, then many_unavailable (parent; a reason skips the cell)
     *   many_setup (parent, before the forks; s->producers, s->consumers set)
     *   many_open (each party: consumer 0 creates or binds what it receives on;
     *              others make what needs no peer; never waits for another party)
     *   -- barrier: every party has opened --
     *   many_connect (each party, may be NULL: producers connect to the mailbox,
     *                 or to every consumer; other consumers attach)
     *   -- barrier: every party has connected --
     *   send (producers) / recv (consumers), the workload
     *   -- barrier: every party is done --
     *   close (each party), many_teardown (parent, after every party has exited,
     *          also after a failure: it removes any name a killed party left)
     * The mechanism must keep each producer's messages in order at every
     * consumer, deliver each message to exactly one consumer, and let any
     * producer's messages reach every consumer that is still receiving: the
     * runner stops consumers blocked in recv with end markers sent by the
     * producers once every data message has been consumed (workload.h).
     * many_open NULL: the patterns are skipped with the reason "no
     * many-to-one mailbox in its bench table" (or what unavailable(NULL) says
     * the build lacks) unless many_unavailable gives a better one; no other
     * member is called, so no daemon is started. many_unavailable (may be NULL)
     * says, like unavailable, why a cell of this shape (s->msg_size,
     * s->producers, s->consumers) cannot run, e.g. "unix:// mailboxes have
     * one receiver"; s is never NULL. many_what (may be NULL) is one line for
     * --list when a many-party cell differs from `what`.
     */
    const char *many_what;
    const char *(*many_unavailable)(const struct mech_setup *s);
    int (*many_setup)(struct mech_setup *s);
    int (*many_open)(const struct mech_setup *s, struct mech_ep *ep);
    int (*many_connect)(const struct mech_setup *s, struct mech_ep *ep);
    void (*many_teardown)(struct mech_setup *s);
};

/*
 * The mechanisms, defined in mech_floor.c, mech_raw.c, mech_ipcx.c and one
 * file per peer library (mech_zmq.c, mech_nng.c, mech_iceoryx.c; each also
 * builds without its library, as a table whose unavailable() says so).
 */
extern const struct mech mech_floor_cacheline, mech_floor_ring, mech_floor_futex, mech_floor_memcpy;
extern const struct mech mech_raw_pipe, mech_raw_unix, mech_raw_seqpacket, mech_raw_dgram,
    mech_raw_tcp, mech_raw_udp, mech_raw_fifo, mech_raw_mq, mech_raw_sysvmq, mech_raw_eventfd,
    mech_raw_signal;
extern const struct mech mech_ipcx_pipe, mech_ipcx_unix, mech_ipcx_unixpair, mech_ipcx_tcp,
    mech_ipcx_fifo, mech_ipcx_shm_spin, mech_ipcx_shm_sleep, mech_ipcx_shm, mech_ipcx_shm_loan;
extern const struct mech mech_zmq_ipc, mech_zmq_tcp, mech_nng_ipc, mech_iceoryx;

/*
 * The registry (mech.c): every mechanism in display order, the hardware
 * floors first, then each library mechanism right after its raw baseline
 * (peer libraries after ipcx's mechanism of the same kind), terminated by NULL.
 */
extern const struct mech *const mech_table[];

/* Looks a mechanism up by name; NULL if unknown. */
const struct mech *mech_find(const char *name);

/* Helpers shared by several mechanisms (mech.c). */
/* A name unique to this run and cell: "ipcx-bench-<pid>-<cell>-<tag>". */
void mech_name(char *buf, size_t cap, const struct mech_setup *s, const char *tag);
/* Finds n distinct free TCP ports on 127.0.0.1 (binding port 0); 0 or -errno. */
int mech_free_tcp_ports(int *ports, int n);

#endif /* BENCH_MECH_H */
