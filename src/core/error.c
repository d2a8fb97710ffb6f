/*
 * error.c: names and descriptions of the error codes. Both functions accept
 * any int and always return a static string: they never allocate and are
 * safe from any thread.
 */
#include <errno.h>
#include <string.h>

#include <ipcx.h>

struct err_entry {
    int code;
    const char *name;
    const char *text;
};

static const struct err_entry err_table[] = {
    {IPCX_OK, "IPCX_OK", "success"},
    {IPCX_EPERM, "IPCX_EPERM", "operation not permitted"},
    {IPCX_ENOENT, "IPCX_ENOENT", "no such mailbox"},
    {IPCX_EINTR, "IPCX_EINTR", "interrupted by a signal"},
    {IPCX_EIO, "IPCX_EIO", "input/output error"},
    {IPCX_EBADF, "IPCX_EBADF", "endpoint not opened for that direction"},
    {IPCX_EAGAIN, "IPCX_EAGAIN", "operation would block"},
    {IPCX_ENOMEM, "IPCX_ENOMEM", "out of memory"},
    {IPCX_EACCES, "IPCX_EACCES", "permission denied"},
    {IPCX_EBUSY, "IPCX_EBUSY", "mailbox has no room for another endpoint"},
    {IPCX_EEXIST, "IPCX_EEXIST", "mailbox already exists"},
    {IPCX_ENOTDIR, "IPCX_ENOTDIR", "a path component is not a directory"},
    {IPCX_EINVAL, "IPCX_EINVAL", "invalid argument"},
    {IPCX_EMFILE, "IPCX_EMFILE", "too many open files"},
    {IPCX_EPIPE, "IPCX_EPIPE", "the peer has gone"},
    {IPCX_ENAMETOOLONG, "IPCX_ENAMETOOLONG", "mailbox name too long"},
    {IPCX_EMSGSIZE, "IPCX_EMSGSIZE", "message too large"},
    {IPCX_ENOTSUP, "IPCX_ENOTSUP", "not supported by this transport"},
    {IPCX_EADDRINUSE, "IPCX_EADDRINUSE", "address already in use"},
    {IPCX_EADDRNOTAVAIL, "IPCX_EADDRNOTAVAIL", "address not available"},
    {IPCX_ENETUNREACH, "IPCX_ENETUNREACH", "network unreachable"},
    {IPCX_ECONNRESET, "IPCX_ECONNRESET", "connection reset by peer"},
    {IPCX_ENOTCONN, "IPCX_ENOTCONN", "not connected"},
    {IPCX_ETIMEDOUT, "IPCX_ETIMEDOUT", "timed out"},
    {IPCX_ECONNREFUSED, "IPCX_ECONNREFUSED", "connection refused"},
    {IPCX_EHOSTUNREACH, "IPCX_EHOSTUNREACH", "host unreachable"},
    {IPCX_EBADURL, "IPCX_EBADURL", "malformed mailbox URL"},
    {IPCX_ENOSCHEME, "IPCX_ENOSCHEME", "no transport for that URL scheme"},
    {IPCX_EPEERPROTO, "IPCX_EPEERPROTO", "a peer broke the wire protocol"},
    {IPCX_ECORRUPT, "IPCX_ECORRUPT", "shared state is corrupt"},
    {IPCX_ECLOSED, "IPCX_ECLOSED", "endpoint closed"},
    {IPCX_EVERSION, "IPCX_EVERSION", "mailbox made by an incompatible version of ipcx"},
};

static const struct err_entry *err_find(int code)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == code)
            return &err_table[i];
    return NULL;
}

const char *ipcx_strerror(int code)
{
    const struct err_entry *e = err_find(code);
    if (e)
        return e->text;
    if (code < 0 && code > -4096) {
        const char *s = strerrordesc_np(-code);
        if (s)
            return s;
    }
    return code > 0 ? "success (a count)" : "unknown error";
}

const char *ipcx_errname(int code)
{
    const struct err_entry *e = err_find(code);
    return e ? e->name : "IPCX_E?";
}
