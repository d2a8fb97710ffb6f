/*
 * topo.c: classifies two cpus from sysfs topology: the same logical cpu, SMT
 * siblings (thread_siblings_list, or else equal core_id in one package),
 * separate cores of one package, or separate packages
 * (physical_package_id). What it cannot read makes the answer "unknown", never
 * a guess; it must never fail or print.
 */
#include "topo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TOPO_SYSFS
#define TOPO_SYSFS "/sys/devices/system/cpu" /* overridable to test against a fake tree */
#endif

#define TOPO_UNKNOWN "unknown (no topology in sysfs)"

/* The first line of cpuN/topology/<file>, without its newline: 0, or -1. */
static int topo_read(int cpu, const char *file, char *buf, size_t cap)
{
    char path[128];
    FILE *f;
    int ok;
    snprintf(path, sizeof path, TOPO_SYSFS "/cpu%d/topology/%s", cpu, file);
    f = fopen(path, "re");
    if (f == NULL)
        return -1;
    ok = fgets(buf, (int)cap, f) != NULL;
    fclose(f);
    if (!ok)
        return -1;
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* A number in cpuN/topology/<file>: 0, or -1 (absent, unparsable or negative: unknown). */
static int topo_read_id(int cpu, const char *file, long *v)
{
    char buf[32], *end;
    if (topo_read(cpu, file, buf, sizeof buf) < 0)
        return -1;
    *v = strtol(buf, &end, 10);
    return end == buf || *v < 0 ? -1 : 0;
}

/* Whether cpu is in a sysfs cpu list ("0-3,8,10-11"): 1, 0, or -1 if it does not parse. */
static int topo_in_list(const char *list, int cpu)
{
    const char *p = list;
    if (*p == '\0')
        return -1;
    while (*p != '\0') {
        char *end;
        long lo = strtol(p, &end, 10), hi = lo;
        if (end == p)
            return -1;
        if (*end == '-') {
            p = end + 1;
            hi = strtol(p, &end, 10);
            if (end == p)
                return -1;
        }
        if (cpu >= lo && cpu <= hi)
            return 1;
        if (*end == ',')
            end++;
        else if (*end != '\0')
            return -1;
        p = end;
    }
    return 0;
}

const char *topo_relation(int cpu_a, int cpu_b)
{
    char list[256];
    long pkg_a, pkg_b, core_a, core_b;
    int pkg_known, sib = -1;
    if (cpu_a < 0 || cpu_b < 0)
        return TOPO_UNKNOWN;
    if (cpu_a == cpu_b)
        return "same cpu";
    pkg_known = topo_read_id(cpu_a, "physical_package_id", &pkg_a) == 0 &&
                topo_read_id(cpu_b, "physical_package_id", &pkg_b) == 0;
    if (topo_read(cpu_a, "thread_siblings_list", list, sizeof list) == 0)
        sib = topo_in_list(list, cpu_b);
    /* core_id is unique within a package only. */
    if (sib < 0 && pkg_known && pkg_a == pkg_b && topo_read_id(cpu_a, "core_id", &core_a) == 0 &&
        topo_read_id(cpu_b, "core_id", &core_b) == 0)
        sib = core_a == core_b;
    if (sib == 1)
        return "SMT siblings";
    if (sib < 0 || !pkg_known)
        return TOPO_UNKNOWN;
    return pkg_a == pkg_b ? "separate cores" : "separate packages";
}
