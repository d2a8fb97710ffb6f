/* hello.c: the shortest ipcx program: a connected pair, one message across, both ends closed. */
#include <ipcx.h>
#include <stdio.h>

int main(void)
{
    ipcx_mailbox *a, *b;
    char buf[64];
    size_t len = 0;
    int rc = ipcx_pair(&a, &b, "pipe://", NULL);
    if (rc < 0) {
        fprintf(stderr, "ipcx_pair: %s\n", ipcx_strerror(rc));
        return 1;
    }
    rc = ipcx_send(a, "hello", 5, IPCX_SEC);
    if (rc >= 0)
        rc = ipcx_recv(b, buf, sizeof buf, &len, IPCX_SEC);
    if (rc >= 0)
        printf("%.*s\n", (int)len, buf);
    else
        fprintf(stderr, "ipcx: %s\n", ipcx_strerror(rc));
    ipcx_close(a);
    ipcx_close(b);
    return rc < 0;
}
