/*
 * test_layout.c: the seq word of a shm record (src/shm/layout.h) against the
 * torn header that layouts 1 to 3 let through. A receiver waiting at a
 * position finds whatever an earlier lap left there: when that is an old
 * header whose seq word a later lap's payload overwrote in its low j bytes,
 * the word matches the position's seq only if its 8 - j high bytes already
 * do. These tests check that no position a whole number of laps back (any
 * ring of 4 KiB to 4 GiB, up to 2^20 laps) gives such high bytes while the
 * payload supplies 5 bytes or fewer: such a torn word never matches, and
 * with 6 or 7 payload bytes it matches only if they are the seq's own by
 * chance (one in 2^48 or 2^56), where position ^ key matched once in 2^16.
 */
#include <criterion/criterion.h>

#include <stdint.h>

#include "shm/layout.h"

/* Whether a and b agree in their bytes from byte j up (little-endian: the high ones). */
static int high_bytes_equal(uint64_t a, uint64_t b, unsigned j)
{
    return ((a ^ b) >> (8 * j)) == 0;
}

Test(layout, seq_is_one_to_one_and_reads_back)
{
    cr_assert_eq(SHM_SEQ_MUL * SHM_SEQ_INV, 1u, "SHM_SEQ_INV is the inverse of SHM_SEQ_MUL");
    const uint64_t key = UINT64_C(0x5a5a123456789ab0);
    for (uint64_t pos = 0; pos < ((uint64_t)1 << 20); pos += 16) {
        for (unsigned st = SHM_ST_COMMIT; st <= SHM_ST_PAD; st++) {
            uint64_t s = shm_seq(pos, st, key);
            cr_assert_eq(shm_seq_pos(s, key), pos);
            cr_assert_eq(shm_seq_state(s, key), st);
        }
    }
}

Test(layout, a_torn_old_header_keeps_no_high_bytes_of_a_later_seq)
{
    const uint64_t keys[] = {0, UINT64_C(0x5a5a123456789ab0), UINT64_C(0xfffffffffffffff0)};
    /* Two words whose top three bytes agree differ by less than 2^40 one way or the other
     * (mod 2^64), and xoring both with one key keeps which bytes agree: so it is enough that
     * the products of positions a ring * k apart differ by more, for every ring and k. */
    uint64_t checked = 0, close = 0, first_k = 0;
    unsigned first_r = 0;
    for (unsigned r = 12; r <= 32; r++) {
        for (uint64_t k = 1; k <= (uint64_t)1 << 20; k++) {
            uint64_t d = (k << r) * SHM_SEQ_MUL;
            if ((d < (uint64_t)1 << 40 || d > -((uint64_t)1 << 40)) && close++ == 0) {
                first_k = k;
                first_r = r;
            }
            checked++;
        }
    }
    cr_assert_eq(close, 0, "%llu ring and lap counts come within 2^40, first %llu laps of 2^%u",
                 (unsigned long long)close, (unsigned long long)first_k, first_r);
    /* And directly, for a few positions and keys: 5 payload bytes leave 3 high bytes of the old
     * seq, which never equal the later position's. */
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        for (uint64_t t = 4096 * 17 + 512; t < 4096 * 17 + 4096; t += 16 * 37) {
            for (uint64_t k = 1; k <= 4096; k++) {
                uint64_t old = shm_seq(t - 4096 * k, SHM_ST_COMMIT, keys[i]);
                for (unsigned j = 1; j <= 5; j++)
                    cr_assert(!high_bytes_equal(old, shm_seq(t, SHM_ST_COMMIT, keys[i]), j));
            }
        }
    }
    cr_assert_eq(checked, 21u << 20);
}

/* What layouts 1 to 3 did, for contrast: (position | state) ^ key, torn by two payload bytes. */
Test(layout, position_xor_key_was_forged_by_two_bytes)
{
    const uint64_t key = UINT64_C(0x5a5a123456789ab0);
    uint64_t old = (512 | SHM_ST_COMMIT) ^ key, want = (8704 | SHM_ST_COMMIT) ^ key;
    cr_assert(high_bytes_equal(old, want, 2), "the old scheme's high bytes agreed");
    cr_assert(
        !high_bytes_equal(shm_seq(512, SHM_ST_COMMIT, key), shm_seq(8704, SHM_ST_COMMIT, key), 2),
        "layout 4's do not");
}
