/*
 * layout.h: the bytes of a shared-memory mailbox, as every process maps
 * them. This is a wire format between processes that may run different
 * builds: change it only with a new SHM_VERSION. Nothing in a segment is
 * trusted: geometry is read once at attach, validated and copied to private
 * memory; every index, length and state word is checked on each use.
 *
 * Segment = header (8 KiB: geometry, hot indices on their own cache lines,
 * wait words, endpoint registry) + ring (a power of two of bytes).
 */
#ifndef IPCX_SHM_LAYOUT_H
#define IPCX_SHM_LAYOUT_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

#define SHM_MAGIC   UINT64_C(0x314d485358435049) /* "IPCXSHM1" as little-endian bytes */
#define SHM_VERSION 4u
#define SHM_LINE    64
#define SHM_SLOTS   64 /* endpoints per mailbox */
#define SHM_HDR     8192u
#define SHM_ALIGN   16u /* records start on 16-byte boundaries */

#define SHM_RING_MIN     ((uint64_t)4096)
#define SHM_RING_MAX     ((uint64_t)1 << 32)
#define SHM_RING_DEFAULT ((uint64_t)4 << 20) /* larger than a core's L2: docs/design.md */

/* Header flags, fixed at creation. */
#define SHM_F_UNLINK_LAST 0x1u /* the last endpoint to close removes the name */
#define SHM_F_SPSC        0x2u /* one sender and one receiver at a time: locks never contended */
#define SHM_F_OVERWRITE   0x4u /* a full ring drops its oldest message */
#define SHM_F_FAIL        0x8u /* a full ring fails the send at once */

/* OFD lock bytes on the segment's file: every endpoint holds a shared lock on
 * SHM_LOCK_ATTACH while open; slot i's owner holds SHM_LOCK_SLOT0 + i; in an
 * SPSC mailbox the one sender holds SHM_LOCK_ROLE0, the one receiver the next. */
#define SHM_LOCK_ATTACH 0u
#define SHM_LOCK_SLOT0  1u
#define SHM_LOCK_ROLE0  (SHM_LOCK_SLOT0 + SHM_SLOTS)

/*
 * A record in the ring: 16-byte header, then len payload bytes, padded to
 * SHM_ALIGN or to the end of a cache line (shm_rec_end). Its seq word names
 * its position (its 64-bit byte offset in the ring's infinite stream) and
 * state: shm_seq(). The position is multiplied by an odd constant, which
 * spreads every bit of it over the word's high bytes, and xored with the
 * segment's random key. A header left from an earlier lap does not match,
 * nor does payload that happens to lie where a header is expected (it would
 * have to guess the key), nor, since layout 4, a torn header: payload of a
 * later lap that ends a few bytes into an old header's seq word. With a
 * plain position ^ key (layouts 1 to 3) that word kept high bytes equal to
 * those of the current position's seq, and two payload bytes completed it
 * once in 65,536 such words (docs/design.md, "The ring and its records").
 */
#define SHM_ST_MASK   0xfu
#define SHM_ST_COMMIT 0x1u /* a message (or chunk) a receiver may take */
#define SHM_ST_PAD    0x2u /* filler to the end of the ring; len = its payload size */

/* Odd, so that pos -> pos * SHM_SEQ_MUL is one-to-one; positions a ring apart (any ring of 4 KiB
 * to 4 GiB, up to 2^20 laps) differ by at least 2^40 after it (tests/unit/test_layout.c). */
#define SHM_SEQ_MUL UINT64_C(0x9e3779b97f4a7c15)
#define SHM_SEQ_INV UINT64_C(0xf1de83e19937733d) /* its inverse mod 2^64 */

/* The seq word of a record at pos (a multiple of SHM_ALIGN, so the product's state bits are 0). */
static inline uint64_t shm_seq(uint64_t pos, unsigned state, uint64_t key)
{
    return pos * SHM_SEQ_MUL ^ key ^ state;
}

/* The position a seq word names, and its state (for diagnostics: a reader compares shm_seq). */
static inline uint64_t shm_seq_pos(uint64_t seq, uint64_t key)
{
    return ((seq ^ key) & ~(uint64_t)SHM_ST_MASK) * SHM_SEQ_INV;
}

static inline unsigned shm_seq_state(uint64_t seq, uint64_t key)
{
    return (unsigned)((seq ^ key) & SHM_ST_MASK);
}

/* Record flags (in meta): a message larger than a chunk travels as FIRST, MORE..., MORE|LAST. */
#define SHM_R_CHUNK 0x1u
#define SHM_R_FIRST 0x2u /* payload starts with the u64 total length */
#define SHM_R_LAST  0x4u

struct shm_rec {
    _Atomic uint64_t seq;
    _Atomic uint64_t meta; /* SHM_META(len, flags): one store, one load */
};

/* meta: payload bytes of this record (bits 0-31), SHM_R_* flags (32-47); bits 48-63 are
 * reserved: written 0, ignored when read (earlier builds put the sender's slot there, unread). */
#define SHM_META(len, flags) ((uint64_t)(uint32_t)(len) | (uint64_t)(uint16_t)(flags) << 32)
#define SHM_META_LEN(m)      ((uint32_t)(m))
#define SHM_META_FLAGS(m)    ((unsigned)((m) >> 32) & 0xffffu)

/*
 * Where the record at pos with len payload bytes ends, and the next one
 * starts: both sides compute it. Records are SHM_ALIGN-aligned and small
 * ones pack within cache lines, but one longer than a line ends on a line
 * boundary, so that it never shares its last line with the next record
 * (docs/design.md, "Records and cache lines").
 */
static inline uint64_t shm_rec_end(uint64_t pos, uint64_t len)
{
    if (len > SHM_LINE - sizeof(struct shm_rec))
        return (pos + sizeof(struct shm_rec) + len + SHM_LINE - 1) & ~(uint64_t)(SHM_LINE - 1);
    return pos + ((sizeof(struct shm_rec) + len + SHM_ALIGN - 1) & ~(uint64_t)(SHM_ALIGN - 1));
}

/* Wait word: an event count. Bit 0: a waiter sleeps (or is about to); bit 1: a
 * pollfd is armed; the rest counts wake-ups, so that a waiter that read the
 * word before a wake-up never sleeps through it. */
#define SHM_W_SLEEP 0x1u
#define SHM_W_POLL  0x2u
#define SHM_W_EPOCH 0x4u

/*
 * Lock word: 0 free, else owner id (never 0), bit 31 set when someone waits.
 * Bit 30 with an id: free, but handed to that waiter (the side's heir), and
 * taken by nobody else unless the heir has died.
 */
#define SHM_L_WAITERS 0x80000000u
#define SHM_L_HEIR    0x40000000u
#define SHM_L_ID      0x3fffffffu

/* An endpoint's id: its registry slot and that slot's generation (23 bits), never 0, below bit 30.
 */
#define SHM_GEN_MASK 0x7fffffu
static inline uint32_t shm_slot_id(uint32_t gen, unsigned slot)
{
    return ((gen & SHM_GEN_MASK) << 6 | (slot & 63u)) + 1;
}

struct shm_slot {
    _Atomic uint32_t gen;   /* bumped by each new owner */
    _Atomic uint32_t pid;   /* owner's pid (display only) */
    _Atomic uint32_t role;  /* IPCX_SEND | IPCX_RECV of the owner; 0 free */
    _Atomic uint32_t armed; /* the owner's pollfd waits for a ring */
    _Atomic uint32_t bell;  /* the owner has a doorbell socket */
    uint32_t spare[11];
};

struct shm_hdr {
    /* Geometry: written by the creator before `magic`, read once at attach. */
    uint64_t magic;
    uint32_t version;
    uint32_t hdr_size;
    uint64_t seg_size;
    uint64_t ring_off;
    uint64_t ring_size;
    uint64_t max_msg;
    uint64_t key;
    uint64_t nonce; /* names this segment's doorbells */
    uint32_t flags;
    uint32_t nslots;
    uint32_t creator_pid;
    uint32_t creator_uid;
    int64_t created_ns; /* CLOCK_REALTIME */

    /* Producers' line: written by the sender holding the send side. */
    alignas(SHM_LINE) _Atomic uint64_t tail;
    _Atomic uint64_t msgs_in;
    _Atomic uint32_t prod_lock;

    /* Consumers' line. */
    alignas(SHM_LINE) _Atomic uint64_t head;
    _Atomic uint64_t msgs_out;
    _Atomic uint64_t dropped; /* messages dropped by overwrite or discarded as orphans */
    _Atomic uint32_t cons_lock;

    alignas(SHM_LINE) _Atomic uint32_t data_word;  /* receivers wait here for messages */
    alignas(SHM_LINE) _Atomic uint32_t space_word; /* senders wait here for room */

    /* A waiter that has waited too long for a side's lock names itself here (0: none): the
     * owner's release hands it the lock instead of leaving it to whoever is quickest. */
    alignas(SHM_LINE) _Atomic uint32_t prod_heir;
    _Atomic uint32_t cons_heir;

    alignas(SHM_LINE) struct shm_slot slots[SHM_SLOTS];
};

_Static_assert(sizeof(struct shm_rec) == SHM_ALIGN, "record header is one alignment unit");
_Static_assert(sizeof(struct shm_slot) == SHM_LINE, "one slot per cache line");
_Static_assert(sizeof(struct shm_hdr) <= SHM_HDR, "header fits its page");

#endif
