/*
 * test_unit.c: pure logic of the core and the stream engine: error names,
 * URL splitting, option checks, deadlines and the frame header codec. No
 * process or descriptor tricks here; those live in conformance/ and proc/.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <ipcx.h>

#include "core/core.h"
#include "transport/stream.h"

Test(errors, every_code_has_a_name_and_text)
{
    const int codes[] = {IPCX_EAGAIN,    IPCX_ETIMEDOUT,  IPCX_EMSGSIZE, IPCX_EPIPE,  IPCX_EBADURL,
                         IPCX_ENOSCHEME, IPCX_EPEERPROTO, IPCX_ECORRUPT, IPCX_ENOTSUP};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        cr_expect_neq(strcmp(ipcx_errname(codes[i]), "IPCX_E?"), 0, "code %d", codes[i]);
        cr_expect_neq(strcmp(ipcx_strerror(codes[i]), "unknown error"), 0);
    }
    cr_expect_str_eq(ipcx_errname(IPCX_EAGAIN), "IPCX_EAGAIN");
    cr_expect_eq(IPCX_EAGAIN, -11);
    cr_expect_str_eq(ipcx_errname(-123456), "IPCX_E?");
    cr_expect_str_eq(ipcx_strerror(-123456), "unknown error");
    cr_expect_not_null(ipcx_strerror(-28)); /* a POSIX code outside the table */
    cr_expect_str_neq(ipcx_strerror(-28), "unknown error");
}

Test(url, split)
{
    char scheme[16];
    const char *addr;
    cr_assert_eq(ipcx__url_split("UNIX:///run/x.sock", scheme, sizeof scheme, &addr), 0);
    cr_expect_str_eq(scheme, "unix");
    cr_expect_str_eq(addr, "/run/x.sock");
    cr_assert_eq(ipcx__url_split("tcp://[::1]:80", scheme, sizeof scheme, &addr), 0);
    cr_expect_str_eq(addr, "[::1]:80");
    cr_expect_eq(ipcx__url_split("nourl", scheme, sizeof scheme, &addr), IPCX_EBADURL);
    cr_expect_eq(ipcx__url_split("://x", scheme, sizeof scheme, &addr), IPCX_EBADURL);
    cr_expect_eq(ipcx__url_split("a b://x", scheme, sizeof scheme, &addr), IPCX_EBADURL);
    cr_expect_eq(ipcx__url_split("averyveryverylongscheme://x", scheme, sizeof scheme, &addr),
                 IPCX_EBADURL);
    cr_expect_null(ipcx__transport_find("nosuch"));
    cr_expect_not_null(ipcx__transport_find("fifo"));
}

Test(url, open_rejects_bad_input)
{
    ipcx_mailbox *mb = (ipcx_mailbox *)0x1;
    ipcx_opts o = IPCX_OPTS_INIT;
    o.role = IPCX_RECV;
    cr_expect_eq(ipcx_open(&mb, "bogus://x", &o), IPCX_ENOSCHEME);
    cr_expect_eq(ipcx_open(&mb, "unix:relative", &o), IPCX_EBADURL);
    cr_expect_eq(ipcx_open(&mb, "unix://relative", &o), IPCX_EBADURL);
    cr_expect_eq(ipcx_open(&mb, "tcp://127.0.0.1", &o), IPCX_EBADURL);
    cr_expect_eq(ipcx_open(&mb, "tcp://127.0.0.1:99999999", &o), IPCX_EBADURL);
    cr_expect_eq(ipcx_open(&mb, "pipe://", &o), IPCX_ENOTSUP);
    o.role = 0;
    cr_expect_eq(ipcx_open(&mb, "unix://@x", &o), IPCX_EINVAL);
    o.role = IPCX_BOTH;
    cr_expect_eq(ipcx_open(&mb, "unix://@x", &o), IPCX_ENOTSUP);
    o.role = IPCX_RECV;
    o.struct_size = 3;
    cr_expect_eq(ipcx_open(&mb, "unix://@x", &o), IPCX_EINVAL);
    cr_expect_eq(mb, (ipcx_mailbox *)0x1, "a failed open leaves its output alone");
}

Test(deadline, conversions)
{
    cr_expect_eq(ipcx__deadline_from_timeout(0), 0);
    cr_expect_eq(ipcx__deadline_from_timeout(-5), IPCX__NEVER);
    cr_expect_eq(ipcx__deadline_from_timeout(INT64_MAX), IPCX__NEVER);
    int64_t now = ipcx__now_ns();
    ipcx__deadline dl = ipcx__deadline_from_timeout(IPCX_SEC);
    cr_expect(dl >= now + IPCX_SEC && dl < now + 2 * IPCX_SEC);
    cr_expect_eq(ipcx__deadline_ms(IPCX__NEVER), -1);
    cr_expect_eq(ipcx__deadline_ms(0), 0);
    int ms = ipcx__deadline_ms(ipcx__now_ns() + 1500 * IPCX_USEC);
    cr_expect(ms >= 1 && ms <= 2, "rounds up: %d", ms);
}

Test(frame, round_trip_and_rejects)
{
    unsigned char h[IPCX__FRAME_HDR];
    unsigned flags;
    uint32_t tag;
    uint64_t len;
    ipcx__frame_build(h, IPCX__FRAME_FRAG | IPCX__FRAME_FIRST, 0xdeadbeef, (uint64_t)1 << 40);
    cr_assert_eq(ipcx__frame_parse(h, &flags, &tag, &len), 0);
    cr_expect_eq(flags, IPCX__FRAME_FRAG | IPCX__FRAME_FIRST);
    cr_expect_eq(tag, 0xdeadbeef);
    cr_expect_eq(len, (uint64_t)1 << 40);
    cr_expect_eq(h[0], 6, "little-endian on the wire");
    h[3] ^= 0x40;
    cr_expect_eq(ipcx__frame_parse(h, &flags, &tag, &len), IPCX_EPEERPROTO, "bad magic");
    ipcx__frame_build(h, IPCX__FRAME_MORE, 0, 1);
    cr_expect_eq(ipcx__frame_parse(h, &flags, &tag, &len), IPCX_EPEERPROTO, "MORE without FRAG");
    ipcx__frame_build(h, 0x80, 0, 1);
    cr_expect_eq(ipcx__frame_parse(h, &flags, &tag, &len), IPCX_EPEERPROTO, "unknown flag");
}

Test(api, null_and_role_checks)
{
    ipcx_mailbox *a, *b;
    char buf[8];
    size_t len = 77;
    cr_assert_eq(ipcx_pair(&a, &b, "pipe://", NULL), 0);
    cr_expect_eq(ipcx_send(a, NULL, 3, 0), IPCX_EINVAL);
    cr_expect_eq(ipcx_recv(b, buf, sizeof buf, NULL, 0), IPCX_EINVAL);
    cr_expect_eq(ipcx_recv(b, buf, sizeof buf, &len, 0), IPCX_EAGAIN);
    cr_expect_eq(len, 77, "a failed receive leaves *lenp alone");
    ipcx_iov many[65];
    cr_expect_eq(ipcx_sendv(a, many, 65, 0), IPCX_EINVAL);
    ipcx_stats st = {.struct_size = sizeof st};
    cr_assert_eq(ipcx_get_stats(a, &st), 0);
    cr_expect_eq(st.sent, 0);
    cr_expect_eq(ipcx_pair(&a, &b, "pipe://x", NULL), IPCX_EBADURL);
    cr_expect_eq(ipcx_pair(&a, &b, "tcp://", NULL), IPCX_ENOTSUP);
    cr_expect_str_eq(ipcx_version(), IPCX_VERSION_STRING);
    ipcx_close(a);
    ipcx_close(b);
    ipcx_close(NULL);
}
