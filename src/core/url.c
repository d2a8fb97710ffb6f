/*
 * url.c: splits a mailbox URL into its scheme and address and finds the
 * transport for a scheme. It validates only the outer syntax; each transport
 * validates its own address form.
 */
#include <ctype.h>
#include <string.h>

#include "core/core.h"

static const struct ipcx__transport *const registry[] = {
    &ipcx__transport_pipe, &ipcx__transport_fifo, &ipcx__transport_unix,
    &ipcx__transport_tcp,  &ipcx__transport_shm,
};

int ipcx__url_split(const char *url, char *scheme, size_t cap, const char **addr)
{
    if (!url)
        return IPCX_EINVAL;
    const char *sep = strstr(url, "://");
    if (!sep || sep == url || (size_t)(sep - url) >= cap)
        return IPCX_EBADURL;
    for (const char *p = url; p < sep; p++) {
        if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
            return IPCX_EBADURL;
        scheme[p - url] = (char)tolower((unsigned char)*p);
    }
    scheme[sep - url] = '\0';
    *addr = sep + 3;
    return 0;
}

const struct ipcx__transport *ipcx__transport_find(const char *scheme)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (strcmp(registry[i]->scheme, scheme) == 0)
            return registry[i];
    return NULL;
}
