/*
 * fuzz_stream.c: libFuzzer target for the stream engine's parser. The
 * fuzzer's bytes are written raw into a FIFO mailbox, as a hostile sender
 * would, and a fresh receiver drains it: no crash, no sanitizer report, no
 * allocation beyond the mailbox's maximum, whatever the bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <ipcx.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    ipcx_mailbox *rx;
    int wfd;
    char path[64];
    {
        ipcx_opts o = IPCX_OPTS_INIT;
        o.role = IPCX_RECV;
        o.max_msg = 1 << 16;
        o.flags = IPCX_F_UNLINK_ON_CLOSE;
        snprintf(path, sizeof path, "/tmp/ipcx-fuzz-%d.fifo", (int)getpid());
        char url[80];
        snprintf(url, sizeof url, "fifo://%s", path);
        if (ipcx_open(&rx, url, &o) < 0)
            abort();
        wfd = open(path, O_WRONLY | O_NONBLOCK);
        if (wfd < 0)
            abort();
    }
    if (size > 60000)
        size = 60000; /* stays below the pipe's capacity: the write never blocks */
    if (size && write(wfd, data, size) != (ssize_t)size)
        abort();
    char buf[1 << 16];
    size_t len;
    for (int i = 0; i < 100000; i++) {
        int rc = ipcx_recv(rx, buf, sizeof buf, &len, 0);
        if (rc == IPCX_EAGAIN)
            break;
        if (rc < 0)
            abort(); /* nothing else may come out of a hostile FIFO; the buffer holds the max */
    }
    close(wfd);
    ipcx_close(rx);
    return 0;
}
