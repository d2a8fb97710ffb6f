/*
 * core.h: internals shared by the core's files: the transport registry and
 * the URL splitter. Nothing here knows any particular transport.
 */
#ifndef IPCX_CORE_H
#define IPCX_CORE_H

#include <stddef.h>

#include "transport/transport.h"

/* Splits "scheme://addr". scheme gets at most cap-1 lowercase chars; *addr points into url. */
int ipcx__url_split(const char *url, char *scheme, size_t cap, const char **addr);

/* The transport registered for scheme, or NULL. */
const struct ipcx__transport *ipcx__transport_find(const char *scheme);

#endif
